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

/// Where an [`ArraySplitter`] is in the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArrayState {
    /// Before the opening `[`.
    Start,
    /// Between elements.
    Between,
    /// Inside an element, at this nesting depth.
    Element {
        depth: u32,
        string: bool,
        escape: bool,
    },
    /// After the closing `]`.
    Done,
}

/// Splits a JSON array (`application/json`) into its top-level elements as they arrive, each a
/// [`Line`] numbered by its 1-based position: the same bounded memory and per-element limit as
/// the lines of JSON Lines. Only the array's own structure is checked here (an opening `[`, a
/// closing `]`, nothing after it); each element is parsed as a row later.
pub(super) struct ArraySplitter {
    state: ArrayState,
    element: BytesMut,
    too_long: bool,
    max: usize,
    number: u64,
}

impl ArraySplitter {
    pub fn new(max: usize) -> ArraySplitter {
        ArraySplitter {
            state: ArrayState::Start,
            element: BytesMut::new(),
            too_long: false,
            max,
            number: 0,
        }
    }

    fn end_element(&mut self, out: &mut Vec<Line>) {
        self.number += 1;
        let content = if self.too_long {
            LineContent::TooLong
        } else {
            LineContent::Bytes(self.element.split().freeze())
        };
        self.element.clear();
        self.too_long = false;
        out.push(Line {
            number: self.number,
            content,
        });
    }

    /// Reads `chunk`, adding the elements it completes to `out`; `Err` if the body is not an
    /// array.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<Line>) -> Result<(), &'static str> {
        for &b in chunk {
            match self.state {
                ArrayState::Start => match b {
                    b'[' => self.state = ArrayState::Between,
                    b' ' | b'\t' | b'\r' | b'\n' => {}
                    // A UTF-8 byte-order mark.
                    0xEF | 0xBB | 0xBF if self.number == 0 => {}
                    _ => return Err("the body is not a JSON array"),
                },
                ArrayState::Between => match b {
                    b' ' | b'\t' | b'\r' | b'\n' | b',' => {}
                    b']' => self.state = ArrayState::Done,
                    _ => {
                        self.state = ArrayState::Element {
                            depth: 0,
                            string: false,
                            escape: false,
                        };
                        self.take(b, out);
                    }
                },
                ArrayState::Element { .. } => self.take(b, out),
                ArrayState::Done => match b {
                    b' ' | b'\t' | b'\r' | b'\n' => {}
                    _ => return Err("text after the end of the JSON array"),
                },
            }
        }
        Ok(())
    }

    /// One byte of an element.
    fn take(&mut self, b: u8, out: &mut Vec<Line>) {
        let ArrayState::Element {
            mut depth,
            mut string,
            mut escape,
        } = self.state
        else {
            return;
        };
        if string {
            if escape {
                escape = false;
            } else if b == b'\\' {
                escape = true;
            } else if b == b'"' {
                string = false;
            }
        } else {
            match b {
                b'"' => string = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' if depth > 0 => depth -= 1,
                b']' => {
                    self.end_element(out);
                    self.state = ArrayState::Done;
                    return;
                }
                b',' if depth == 0 => {
                    self.end_element(out);
                    self.state = ArrayState::Between;
                    return;
                }
                _ => {}
            }
        }
        if !self.too_long {
            if self.element.len() >= self.max {
                self.too_long = true;
                self.element.clear();
            } else {
                self.element.extend_from_slice(&[b]);
            }
        }
        self.state = ArrayState::Element {
            depth,
            string,
            escape,
        };
    }

    /// Ends the body: `Err` if the array was never closed.
    pub fn finish(&mut self) -> Result<(), &'static str> {
        match self.state {
            ArrayState::Done => Ok(()),
            _ => Err("the JSON array is not closed"),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
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
    fn splits_a_json_array_into_its_elements_across_chunks() {
        let body = br#" [ {"a": "x,]}\"", "b": [1, 2]}, 3 ,{"c":{}} ] "#;
        for size in [1, 2, 5, body.len()] {
            let mut s = ArraySplitter::new(64);
            let mut out = Vec::new();
            for chunk in body.chunks(size) {
                s.push(chunk, &mut out).unwrap();
            }
            s.finish().unwrap();
            assert_eq!(
                out,
                vec![
                    text(1, r#"{"a": "x,]}\"", "b": [1, 2]}"#),
                    text(2, "3 "),
                    text(3, r#"{"c":{}} "#),
                ],
                "chunks of {size}"
            );
        }
        let mut out = Vec::new();
        let mut s = ArraySplitter::new(4);
        s.push(b"[12345, 1]", &mut out).unwrap();
        assert_eq!(out, vec![too_long(1), text(2, "1")]);
        assert!(ArraySplitter::new(64).push(b"{}", &mut out).is_err());
        assert!(ArraySplitter::new(64).push(b"[] x", &mut out).is_err());
        let mut open = ArraySplitter::new(64);
        open.push(b"[1,", &mut out).unwrap();
        assert!(open.finish().is_err());
        let mut empty = ArraySplitter::new(64);
        out.clear();
        empty.push(b"[]", &mut out).unwrap();
        assert!(empty.finish().is_ok() && out.is_empty());
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
