//! Shared checks for free-text values such as names.

use crate::error::ValueError;

/// Trims `s` and checks it holds 1..=`max` characters (counted as chars, not bytes) and no
/// control characters.
pub(crate) fn bounded_text(s: &str, max: usize) -> Result<&str, ValueError> {
    let trimmed = s.trim();
    if trimmed.is_empty() {
        return Err(ValueError::Empty);
    }
    if trimmed.chars().count() > max {
        return Err(ValueError::TooLong { max });
    }
    if trimmed.chars().any(char::is_control) {
        return Err(ValueError::Rule("must not contain control characters"));
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
        assert!(matches!(
            bounded_text("a\u{0}b", 3),
            Err(ValueError::Rule(_))
        ));
        assert!(matches!(bounded_text("a\nb", 3), Err(ValueError::Rule(_))));
    }

    #[test]
    fn digits() {
        assert!(is_ascii_digits("110105", 6));
        assert!(!is_ascii_digits("11010", 6));
        assert!(!is_ascii_digits("11010a", 6));
        assert!(!is_ascii_digits("１１０１０５", 6));
    }
}
