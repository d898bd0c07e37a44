//! The body as lines, read chunk by chunk: no more than one line (plus one chunk) is held, and a
//! line longer than the maximum is dropped as it arrives and reported as too long.

use actix_web::web::{Bytes, BytesMut};

#[derive(Debug, PartialEq, Eq)]
pub(super) enum LineContent {
    /// Without the line end.
    Bytes(Bytes),
    TooLong,
}

#[derive(Debug, PartialEq, Eq)]
pub(super) struct Line {
    /// 1-based.
    pub number: u64,
    pub content: LineContent,
}

/// Splits a byte stream into lines without holding more than one line (plus one chunk): a line
/// longer than the maximum is dropped as it arrives and reported as too long.
pub(super) struct LineSplitter {
    buf: BytesMut,
    /// How much of `buf` is known to hold no line end.
    scanned: usize,
    max: usize,
    /// Inside a line that is already too long.
    skipping: bool,
    number: u64,
}

impl LineSplitter {
    pub fn new(max: usize) -> LineSplitter {
        LineSplitter {
            buf: BytesMut::new(),
            scanned: 0,
            max,
            skipping: false,
            number: 0,
        }
    }

    pub fn push(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    /// The next complete line, if the data pushed so far holds one.
    pub fn next_line(&mut self) -> Option<Line> {
        match self.buf[self.scanned..].iter().position(|&b| b == b'\n') {
            Some(pos) => {
                let end = self.scanned + pos;
                let mut line = self.buf.split_to(end + 1);
                self.scanned = 0;
                self.number += 1;
                if self.skipping || end > self.max {
                    self.skipping = false;
                    return Some(Line {
                        number: self.number,
                        content: LineContent::TooLong,
                    });
                }
                line.truncate(end);
                Some(Line {
                    number: self.number,
                    content: LineContent::Bytes(line.freeze()),
                })
            }
            None => {
                self.scanned = self.buf.len();
                if self.buf.len() > self.max {
                    self.skipping = true;
                    self.buf.clear();
                    self.scanned = 0;
                }
                None
            }
        }
    }

    /// The last line, without a line end, once the stream is over.
    pub fn finish(&mut self) -> Option<Line> {
        if self.skipping {
            self.skipping = false;
            self.number += 1;
            return Some(Line {
                number: self.number,
                content: LineContent::TooLong,
            });
        }
        if self.buf.is_empty() {
            return None;
        }
        self.number += 1;
        let line = self.buf.split().freeze();
        Some(Line {
            number: self.number,
            content: if line.len() > self.max {
                LineContent::TooLong
            } else {
                LineContent::Bytes(line)
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(chunks: &[&[u8]], max: usize) -> Vec<Line> {
        let mut s = LineSplitter::new(max);
        let mut out = Vec::new();
        for c in chunks {
            s.push(c);
            while let Some(l) = s.next_line() {
                out.push(l);
            }
        }
        out.extend(s.finish());
        out
    }

    fn text(n: u64, s: &str) -> Line {
        Line {
            number: n,
            content: LineContent::Bytes(Bytes::from(s.to_owned())),
        }
    }

    fn too_long(n: u64) -> Line {
        Line {
            number: n,
            content: LineContent::TooLong,
        }
    }

    #[test]
    fn splits_lines_across_chunks() {
        assert_eq!(
            lines(&[b"ab", b"c\nd", b"e\n\nf"], 10),
            vec![text(1, "abc"), text(2, "de"), text(3, ""), text(4, "f")]
        );
        assert_eq!(lines(&[b"a\n"], 10), vec![text(1, "a")]);
        assert_eq!(lines(&[b""], 10), vec![]);
    }

    #[test]
    fn long_lines_are_dropped_as_they_arrive() {
        // Line 2 is 12 bytes, spread over three chunks; line 4 is too long and unterminated.
        assert_eq!(
            lines(&[b"ok\n0123", b"45678", b"901\nok\n", b"0123456789abc"], 10),
            vec![text(1, "ok"), too_long(2), text(3, "ok"), too_long(4)]
        );
        // Exactly the maximum is fine.
        assert_eq!(lines(&[b"0123456789\n"], 10), vec![text(1, "0123456789")]);
        assert_eq!(
            lines(&[b"0123456789a\nb"], 10),
            vec![too_long(1), text(2, "b")]
        );
    }
}
