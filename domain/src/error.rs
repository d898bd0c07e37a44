//! Why a single value is invalid.

/// Why a single value is invalid.
///
/// The `Display` text is English and reads as the tail of a sentence about the field
/// ("phone number must not be empty"); [`ValueError::code`] gives a stable machine code for
/// clients and for translated messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum ValueError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {max} characters")]
    TooLong { max: usize },
    #[error("must be at least {min} characters")]
    TooShort { min: usize },
    #[error("must be {expected}")]
    Format { expected: &'static str },
    #[error("the check character does not match")]
    CheckCharacter,
    #[error("is not a valid date")]
    Date,
    #[error("must be one of: {allowed}")]
    OneOf { allowed: &'static str },
    #[error("must be between {min} and {max}")]
    Range { min: i64, max: i64 },
    #[error("must not contain control characters")]
    ControlCharacter,
    #[error("{0}")]
    Rule(&'static str),
}

impl ValueError {
    /// A stable snake_case code for this kind of error.
    pub fn code(&self) -> &'static str {
        match self {
            ValueError::Empty => "empty",
            ValueError::TooLong { .. } => "too_long",
            ValueError::TooShort { .. } => "too_short",
            ValueError::Format { .. } => "format",
            ValueError::CheckCharacter => "check_character",
            ValueError::Date => "date",
            ValueError::OneOf { .. } => "one_of",
            ValueError::Range { .. } => "range",
            ValueError::ControlCharacter => "control_character",
            ValueError::Rule(_) => "rule",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ValueError;

    #[test]
    fn display_and_code() {
        let cases = [
            (ValueError::Empty, "must not be empty", "empty"),
            (
                ValueError::TooLong { max: 64 },
                "must be at most 64 characters",
                "too_long",
            ),
            (
                ValueError::TooShort { min: 8 },
                "must be at least 8 characters",
                "too_short",
            ),
            (
                ValueError::Format {
                    expected: "YYYY-MM",
                },
                "must be YYYY-MM",
                "format",
            ),
            (
                ValueError::CheckCharacter,
                "the check character does not match",
                "check_character",
            ),
            (ValueError::Date, "is not a valid date", "date"),
            (
                ValueError::OneOf { allowed: "a, b" },
                "must be one of: a, b",
                "one_of",
            ),
            (
                ValueError::Range { min: 1, max: 12 },
                "must be between 1 and 12",
                "range",
            ),
            (
                ValueError::ControlCharacter,
                "must not contain control characters",
                "control_character",
            ),
            (ValueError::Rule("must add up"), "must add up", "rule"),
        ];
        for (error, text, code) in cases {
            assert_eq!(error.to_string(), text);
            assert_eq!(error.code(), code);
        }
    }
}
