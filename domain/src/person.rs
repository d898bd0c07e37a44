//! An insured person's social-security card and standing.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::ValueError;

/// A social-security card number (社会保障卡卡号): 9..=20 characters of `0-9A-Z` after trimming
/// and upper-casing. Personal data: `Debug` is masked and there is no `Display` or serde.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CardNumber(String);

impl CardNumber {
    pub const MIN_CHARS: usize = 9;
    pub const MAX_CHARS: usize = 20;

    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let card = s.trim().to_ascii_uppercase();
        if card.is_empty() {
            return Err(ValueError::Empty);
        }
        if !card
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        {
            return Err(ValueError::Format {
                expected: "letters A-Z and digits",
            });
        }
        // All ASCII from here, so bytes are characters.
        if card.len() < Self::MIN_CHARS {
            return Err(ValueError::TooShort {
                min: Self::MIN_CHARS,
            });
        }
        if card.len() > Self::MAX_CHARS {
            return Err(ValueError::TooLong {
                max: Self::MAX_CHARS,
            });
        }
        Ok(CardNumber(card))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 2 and last 2 characters, one `*` for each character between: `A1*****89`.
    pub fn masked(&self) -> String {
        let len = self.0.len();
        format!(
            "{}{}{}",
            &self.0[..2],
            "*".repeat(len - 4),
            &self.0[len - 2..]
        )
    }
}

impl fmt::Debug for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CardNumber").field(&self.masked()).finish()
    }
}

impl_from_str!(CardNumber);

/// Which medical insurance scheme a person belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MedicalCategory {
    /// 职工医保: urban employee basic medical insurance.
    Employee,
    /// 城乡居民医保: urban and rural resident basic medical insurance.
    Resident,
}

string_enum!(MedicalCategory, allowed = "employee, resident", {
    Employee => "employee",
    Resident => "resident",
});

/// A person's employment standing, which decides how they contribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmploymentStatus {
    /// Employed: the employer declares and pays.
    Employed,
    /// Flexible employment (灵活就业): pays pension alone on a chosen base.
    Flexible,
    Unemployed,
    Retired,
}

string_enum!(EmploymentStatus, allowed = "employed, flexible, unemployed, retired", {
    Employed => "employed",
    Flexible => "flexible",
    Unemployed => "unemployed",
    Retired => "retired",
});

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn card_numbers() {
        let card = CardNumber::parse(" a12345689 ").unwrap();
        assert_eq!(card.as_str(), "A12345689");
        assert_eq!(card.masked(), "A1*****89");
        assert_eq!(format!("{card:?}"), "CardNumber(\"A1*****89\")");
        let long = CardNumber::parse("3201020000000000AB12").unwrap();
        assert_eq!(long.masked(), "32****************12");
        assert_eq!(CardNumber::parse(""), Err(ValueError::Empty));
        assert_eq!(
            CardNumber::parse("A1234567"),
            Err(ValueError::TooShort { min: 9 })
        );
        assert_eq!(
            CardNumber::parse("A12345678901234567890"),
            Err(ValueError::TooLong { max: 20 })
        );
        for bad in [
            "A1234-5689",
            "A1234 5689",
            "社保卡123456789",
            "A12345689\u{0}",
        ] {
            assert!(
                matches!(CardNumber::parse(bad), Err(ValueError::Format { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn enums() {
        for category in MedicalCategory::ALL {
            assert_eq!(MedicalCategory::parse(category.as_str()), Ok(category));
            assert_eq!(
                serde_json::to_string(&category).unwrap(),
                format!("\"{category}\"")
            );
        }
        for status in EmploymentStatus::ALL {
            assert_eq!(EmploymentStatus::parse(status.as_str()), Ok(status));
            assert_eq!(
                serde_json::to_string(&status).unwrap(),
                format!("\"{status}\"")
            );
        }
        assert_eq!(
            MedicalCategory::parse("staff"),
            Err(ValueError::OneOf {
                allowed: "employee, resident"
            })
        );
        assert_eq!(
            EmploymentStatus::parse("self_employed"),
            Err(ValueError::OneOf {
                allowed: "employed, flexible, unemployed, retired"
            })
        );
    }
}
