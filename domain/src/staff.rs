//! Staff accounts: caseworkers and administrators.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::ValueError;
use crate::text::Text;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StaffRole {
    /// 经办人员
    Caseworker,
    Admin,
}

string_enum!(StaffRole, allowed = "caseworker, admin", {
    Caseworker => "caseworker",
    Admin => "admin",
});

/// A staff login name: 3..=32 characters of `a-z 0-9 . _ -` starting with a letter, after trimming
/// and lower-casing (ASCII only, so no look-alike letter can lower-case into an existing name).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Username(String);

impl Username {
    pub const MIN_CHARS: usize = 3;
    pub const MAX_CHARS: usize = 32;

    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let name = Text::parse(s, Self::MAX_CHARS)?
            .as_str()
            .to_ascii_lowercase();
        let allowed =
            |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-');
        if !name.bytes().all(allowed) || !name.starts_with(|c: char| c.is_ascii_lowercase()) {
            return Err(ValueError::Format {
                expected: "letters a-z, digits, '.', '_' or '-', starting with a letter",
            });
        }
        if name.len() < Self::MIN_CHARS {
            return Err(ValueError::TooShort {
                min: Self::MIN_CHARS,
            });
        }
        if name.len() > Self::MAX_CHARS {
            return Err(ValueError::TooLong {
                max: Self::MAX_CHARS,
            });
        }
        Ok(Username(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl_text_value!(Username);

/// A password as typed: 8..=128 characters (not bytes), not only whitespace. It is not trimmed.
/// `Debug` prints `Password(***)`; there is no `Display` and no serde.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_CHARS: usize = 128;

    pub fn parse(s: &str) -> Result<Self, ValueError> {
        if s.is_empty() {
            return Err(ValueError::Empty);
        }
        let chars = s.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(ValueError::TooShort {
                min: Self::MIN_CHARS,
            });
        }
        if chars > Self::MAX_CHARS {
            return Err(ValueError::TooLong {
                max: Self::MAX_CHARS,
            });
        }
        if s.chars().all(char::is_whitespace) {
            return Err(ValueError::Rule("must not be only whitespace"));
        }
        Ok(Password(s.to_owned()))
    }

    /// The password itself, only for hashing and verification.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

impl_from_str!(Password);

/// Why a staff member reads a person's data: required for every such read, recorded in the
/// audit log and shown to the person in their access log. 1..=500 characters of free text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessReason(Text);

impl AccessReason {
    pub const MAX_CHARS: usize = 500;

    pub fn parse(s: &str) -> Result<Self, ValueError> {
        Text::parse(s, Self::MAX_CHARS).map(AccessReason)
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn into_string(self) -> String {
        self.0.into_string()
    }
}

impl_from_str!(AccessReason);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn access_reasons() {
        assert_eq!(
            AccessReason::parse(" 核对缴费记录 ").unwrap().as_str(),
            "核对缴费记录"
        );
        assert_eq!(AccessReason::parse("  "), Err(ValueError::Empty));
        assert_eq!(
            AccessReason::parse("a\u{0}b"),
            Err(ValueError::ControlCharacter)
        );
        assert!(AccessReason::parse(&"理".repeat(500)).is_ok());
        assert_eq!(
            AccessReason::parse(&"理".repeat(501)),
            Err(ValueError::TooLong { max: 500 })
        );
    }

    #[test]
    fn roles() {
        for role in StaffRole::ALL {
            assert_eq!(StaffRole::parse(role.as_str()), Ok(role));
            assert_eq!(serde_json::to_string(&role).unwrap(), format!("\"{role}\""));
        }
        assert_eq!(
            StaffRole::parse("root"),
            Err(ValueError::OneOf {
                allowed: "caseworker, admin"
            })
        );
    }

    #[test]
    fn usernames() {
        assert_eq!(
            Username::parse("  Li.Wei_01-x ").unwrap().as_str(),
            "li.wei_01-x"
        );
        assert_eq!(Username::parse("abc").unwrap().as_str(), "abc");
        assert!(Username::parse(&format!("a{}", "b".repeat(31))).is_ok());
        assert_eq!(Username::parse(""), Err(ValueError::Empty));
        assert_eq!(Username::parse("ab"), Err(ValueError::TooShort { min: 3 }));
        assert_eq!(
            Username::parse(&"a".repeat(33)),
            Err(ValueError::TooLong { max: 32 })
        );
        for bad in [
            "1abc",
            ".abc",
            "_abc",
            "li wei",
            "li@wei",
            "李伟伟",
            "\u{212A}elvin",
            "café",
        ] {
            assert!(
                matches!(Username::parse(bad), Err(ValueError::Format { .. })),
                "{bad}"
            );
        }
        let name: Username = serde_json::from_str("\"Admin\"").unwrap();
        assert_eq!(name.as_str(), "admin");
    }

    #[test]
    fn passwords() {
        let password = Password::parse(" correct horse ").unwrap();
        assert_eq!(password.expose(), " correct horse ");
        assert_eq!(format!("{password:?}"), "Password(***)");
        assert_eq!(Password::parse(""), Err(ValueError::Empty));
        assert_eq!(
            Password::parse("1234567"),
            Err(ValueError::TooShort { min: 8 })
        );
        // Counted in characters: 8 CJK characters are 24 bytes but pass; 4 are 12 bytes but fail.
        assert!(Password::parse("社会保障卡密码好").is_ok());
        assert_eq!(
            Password::parse("社会保障"),
            Err(ValueError::TooShort { min: 8 })
        );
        assert!(Password::parse(&"密".repeat(128)).is_ok());
        assert_eq!(
            Password::parse(&"a".repeat(129)),
            Err(ValueError::TooLong { max: 128 })
        );
        assert_eq!(
            Password::parse("        "),
            Err(ValueError::Rule("must not be only whitespace"))
        );
        assert_eq!(
            Password::parse(" \t\n \u{3000}  \t"),
            Err(ValueError::Rule("must not be only whitespace"))
        );
    }
}
