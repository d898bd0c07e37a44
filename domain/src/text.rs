//! Free text from outside: the one type every free-text field (names, reasons, institution
//! names, …) goes through, so that none can carry a control character. A NUL byte in particular
//! is valid UTF-8 but refused by PostgreSQL; a line break or an escape sequence in a name would
//! forge log lines and break CSV exports.

use std::fmt;

use crate::error::ValueError;

/// Free text: trimmed, 1..=`max` characters (counted as chars, not bytes), no control
/// characters (Unicode category Cc: U+0000–U+001F and U+007F–U+009F, tabs and line breaks
/// included).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Text(String);

impl Text {
    pub fn parse(s: &str, max: usize) -> Result<Text, ValueError> {
        bounded_text(s, max).map(|t| Text(t.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// `s` as it is, if it holds no control character: for values with their own shape (an ID, a
/// cursor, a code) that must still never carry one.
pub fn without_control(s: &str) -> Result<&str, ValueError> {
    if s.chars().any(char::is_control) {
        Err(ValueError::ControlCharacter)
    } else {
        Ok(s)
    }
}

/// Trims `s` and checks it holds 1..=`max` characters and no control characters.
pub(crate) fn bounded_text(s: &str, max: usize) -> Result<&str, ValueError> {
    let trimmed = without_control(s.trim())?;
    if trimmed.is_empty() {
        return Err(ValueError::Empty);
    }
    if trimmed.chars().count() > max {
        return Err(ValueError::TooLong { max });
    }
    Ok(trimmed)
}

/// `true` if `s` is exactly `len` ASCII digits.
pub(crate) fn is_ascii_digits(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_text_rules() {
        assert_eq!(bounded_text("  abc ", 3), Ok("abc"));
        assert_eq!(bounded_text(" \t ", 3), Err(ValueError::Empty));
        assert_eq!(bounded_text("abcd", 3), Err(ValueError::TooLong { max: 3 }));
        // Counted in chars, not bytes: three CJK characters are nine bytes.
        assert_eq!(bounded_text("社保局", 3), Ok("社保局"));
        // Surrounding whitespace goes; a control character inside is refused.
        for bad in [
            "a\u{0}b",
            "a\nb",
            "a\tb",
            "\u{7f}",
            "a\u{9b}b",
            "\u{1b}[31m",
        ] {
            assert_eq!(
                bounded_text(bad, 9),
                Err(ValueError::ControlCharacter),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn text_keeps_the_trimmed_value() {
        let t = Text::parse(" 核对缴费记录 ", 10).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.as_str(), "核对缴费记录");
        assert_eq!(t.into_string(), "核对缴费记录");
        assert_eq!(Text::parse("", 10), Err(ValueError::Empty));
        assert_eq!(without_control("a b"), Ok("a b"));
        assert_eq!(without_control("a\u{0}"), Err(ValueError::ControlCharacter));
    }

    #[test]
    fn digits() {
        assert!(is_ascii_digits("110105", 6));
        assert!(!is_ascii_digits("11010", 6));
        assert!(!is_ascii_digits("11010a", 6));
        assert!(!is_ascii_digits("１１０１０５", 6));
    }
}
