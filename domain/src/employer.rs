//! Employers: the unified social credit code and the registered name.

use crate::error::ValueError;
use crate::text::{bounded_text, is_ascii_digits};

/// The 31 characters a unified social credit code is written with (no I, O, S, V, Z); a
/// character's value is its position here.
const CREDIT_CODE_CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// Weights of the 17 leading characters: 3^i mod 31.
const CREDIT_CODE_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];
const CREDIT_CODE_FORMAT: ValueError = ValueError::Format {
    expected: "18 characters from 0-9 and A-Y except I, O, S, V, Z",
};

fn credit_code_value(c: u8) -> Option<u32> {
    CREDIT_CODE_CHARSET
        .iter()
        .position(|&x| x == c)
        .and_then(|i| u32::try_from(i).ok())
}

/// A unified social credit code (统一社会信用代码, GB 32100-2015): registration authority (1),
/// organisation type (1), region code (6 digits), organisation code (9) and a check character,
/// all from a 31-character set.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CreditCode(String);

impl CreditCode {
    /// Parses a code; surrounding whitespace is ignored and letters are upper-cased.
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let code = s.trim().to_ascii_uppercase();
        if code.is_empty() {
            return Err(ValueError::Empty);
        }
        // Byte length: a non-ASCII character can never be in the character set anyway.
        if code.len() != 18 || !code.bytes().all(|b| credit_code_value(b).is_some()) {
            return Err(CREDIT_CODE_FORMAT);
        }
        let (first17, last) = code.split_at(17);
        if !is_ascii_digits(&first17[2..8], 6) {
            return Err(ValueError::Format {
                expected: "a 6-digit region code in characters 3 to 8",
            });
        }
        match Self::check_character(first17) {
            Some(check) if last.starts_with(check) => {}
            Some(_) => return Err(ValueError::CheckCharacter),
            None => return Err(CREDIT_CODE_FORMAT),
        }
        // Characters 9 to 17: a GB 11714 organisation code with its own check character.
        match Self::organisation_check(&first17[8..16]) {
            Some(check) if first17[16..].starts_with(check) => Ok(CreditCode(code)),
            Some(_) => Err(ValueError::CheckCharacter),
            None => Err(CREDIT_CODE_FORMAT),
        }
    }

    /// The check character of a GB 11714 organisation code for its 8 leading characters (digits
    /// and upper-case letters, a letter worth 10 + its place in the alphabet: A = 10 … Z = 35):
    /// weights 3, 7, 9, 10, 5, 8, 4, 2; `c = 11 − (sum mod 11)`, 10 written X and 11 written 0.
    /// `None` unless `body` is 8 such characters.
    pub fn organisation_check(body: &str) -> Option<char> {
        const WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];
        if body.len() != 8 {
            return None;
        }
        let mut sum = 0;
        for (c, weight) in body.bytes().zip(WEIGHTS) {
            let value = match c {
                b'0'..=b'9' => u32::from(c - b'0'),
                b'A'..=b'Z' => u32::from(c - b'A') + 10,
                _ => return None,
            };
            sum += value * weight;
        }
        match 11 - sum % 11 {
            10 => Some('X'),
            11 => Some('0'),
            check => char::from_digit(check, 10),
        }
    }

    /// Builds a code from its first 16 characters (trimmed, upper-cased) by appending both check
    /// characters: the organisation code's, then the whole code's (used to generate data).
    pub fn from_first16(first16: &str) -> Result<Self, ValueError> {
        let first16 = first16.trim().to_ascii_uppercase();
        let body = first16.get(8..).ok_or(CREDIT_CODE_FORMAT)?;
        let check = Self::organisation_check(body).ok_or(CREDIT_CODE_FORMAT)?;
        Self::from_first17(&format!("{first16}{check}"))
    }

    /// The check character for 17 leading characters (GB 32100-2015: weights 3^i mod 31,
    /// c = 31 - (sum mod 31), 31 written as 0); `None` unless `first17` is 17 characters from the
    /// set (upper case).
    pub fn check_character(first17: &str) -> Option<char> {
        if first17.len() != 17 {
            return None;
        }
        let mut sum = 0;
        for (c, weight) in first17.bytes().zip(CREDIT_CODE_WEIGHTS) {
            sum += credit_code_value(c)? * weight;
        }
        let check = (31 - sum % 31) % 31;
        CREDIT_CODE_CHARSET
            .get(check as usize)
            .map(|&b| char::from(b))
    }

    /// Builds a code from its first 17 characters (trimmed, upper-cased) by appending the check
    /// character. Characters 9 to 17 must be a valid organisation code (see
    /// [`CreditCode::from_first16`] to compute its check too).
    pub fn from_first17(first17: &str) -> Result<Self, ValueError> {
        let first17 = first17.trim().to_ascii_uppercase();
        let check = Self::check_character(&first17).ok_or(CREDIT_CODE_FORMAT)?;
        Self::parse(&format!("{first17}{check}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Characters 3 to 8: the region code of the registering authority.
    pub fn region_code(&self) -> &str {
        &self.0[2..8]
    }
}

/// An employer's registered name: 1..=128 characters after trimming, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EmployerName(String);

impl EmployerName {
    pub const MAX_CHARS: usize = 128;

    pub fn parse(s: &str) -> Result<Self, ValueError> {
        bounded_text(s, Self::MAX_CHARS).map(|name| EmployerName(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl_text_value!(CreditCode, EmployerName);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    // 91350100M000100Y43, worked by hand (values are positions in "0123456789ABCDEFGHJKLMNPQRTUWXY",
    // so M = 21 and Y = 30):
    //   chars    9  1  3   5  0  1  0  0   M  0  0  0  1  0  0   Y   4
    //   values   9  1  3   5  0  1  0  0  21  0  0  0  1  0  0  30   4
    //   weights  1  3  9  27 19 26 16 17  20 29 25 13  8 24 10  30  28
    //   products 9  3 27 135  0 26  0  0 420  0  0  0  8  0  0 900 112   sum = 1640
    //   1640 mod 31 = 28 (31 * 52 = 1612); 31 - 28 = 3 -> '3'. The published code is valid.
    #[test]
    fn published_example_is_valid() {
        let code = CreditCode::parse("91350100M000100Y43").unwrap();
        assert_eq!(code.as_str(), "91350100M000100Y43");
        assert_eq!(code.region_code(), "350100");
        assert_eq!(CreditCode::check_character("91350100M000100Y4"), Some('3'));
        assert_eq!(CreditCode::from_first17("91350100M000100Y4").unwrap(), code);
    }

    // Hand-built codes (values: 0-9 = 0-9, A = 10, E = 14, U = 27):
    //   "91110000000000000": 9*1 + 1*3 + 1*9 + 1*27 = 48; 48 mod 31 = 17; 31 - 17 = 14 -> 'E'.
    //   "U0000000000000000": 27*1 = 27; 31 - 27 = 4 -> '4'.
    //   "1A000000000000000": 1*1 + 10*3 = 31; 31 mod 31 = 0; 31 - 0 = 31, written as 0 -> '0'.
    #[test]
    fn hand_built_examples() {
        assert_eq!(CreditCode::check_character("91110000000000000"), Some('E'));
        assert_eq!(CreditCode::check_character("U0000000000000000"), Some('4'));
        assert_eq!(CreditCode::check_character("1A000000000000000"), Some('0'));
        assert_eq!(CreditCode::check_character("00000000000000000"), Some('0'));
    }

    // The organisation code of 91350100M000100Y43 is M000100Y4, worked by hand with GB 11714's
    // values (M = 22, Y = 34):
    //   chars    M   0  0  0  1  0  0   Y
    //   values  22   0  0  0  1  0  0  34
    //   weights  3   7  9 10  5  8  4   2
    //   products 66  0  0  0  5  0  0  68   sum = 139; 139 mod 11 = 7; 11 − 7 = 4 → '4'.
    // 91350100M000100Y56 passes GB 32100's check but has 5 where the organisation check is 4.
    #[test]
    fn organisation_code_check() {
        assert_eq!(CreditCode::organisation_check("M000100Y"), Some('4'));
        assert!(CreditCode::parse("91350100M000100Y43").is_ok());
        assert_eq!(CreditCode::check_character("91350100M000100Y5"), Some('6'));
        assert_eq!(
            CreditCode::parse("91350100M000100Y56"),
            Err(ValueError::CheckCharacter)
        );
        // 10 → X: "MA5F0000": 22×3 + 10×7 + 5×9 + 15×10 = 331; 331 mod 11 = 1; 11 − 1 = 10.
        assert_eq!(CreditCode::organisation_check("MA5F0000"), Some('X'));
        // 11 → 0: "00000000" sums to 0; 11 − 0 = 11.
        assert_eq!(CreditCode::organisation_check("00000000"), Some('0'));
        assert_eq!(CreditCode::organisation_check("0000000"), None);
        assert_eq!(CreditCode::organisation_check("0000000a"), None);
        assert_eq!(
            CreditCode::from_first16("91440300MA5F0000")
                .unwrap()
                .as_str(),
            "91440300MA5F0000X1"
        );
        assert_eq!(CreditCode::from_first16("9144030"), Err(CREDIT_CODE_FORMAT));
    }

    #[test]
    fn parse_normalises() {
        let code = CreditCode::parse("  91350100m000100y43 ").unwrap();
        assert_eq!(code.as_str(), "91350100M000100Y43");
        assert_eq!(code.to_string(), "91350100M000100Y43");
    }

    #[test]
    fn parse_rejects() {
        assert_eq!(CreditCode::parse(""), Err(ValueError::Empty));
        assert_eq!(
            CreditCode::parse("91350100M000100Y4"),
            Err(CREDIT_CODE_FORMAT)
        );
        assert_eq!(
            CreditCode::parse("91350100M000100Y433"),
            Err(CREDIT_CODE_FORMAT)
        );
        // I, O, S, V, Z are not in the set.
        for bad in ['I', 'O', 'S', 'V', 'Z', '-', ' '] {
            let code = format!("91350100M000100{bad}43");
            assert_eq!(CreditCode::parse(&code), Err(CREDIT_CODE_FORMAT), "{code}");
        }
        assert_eq!(
            CreditCode::parse("91350100M000100Y44"),
            Err(ValueError::CheckCharacter)
        );
        assert_eq!(
            CreditCode::parse("91350100M000100Y53"),
            Err(ValueError::CheckCharacter)
        );
        // A letter in the region code, with the right check character.
        let code = CreditCode::from_first17("9135A100M000100Y4");
        assert!(matches!(code, Err(ValueError::Format { .. })));
        assert_eq!(CreditCode::check_character("91350100M000100y4"), None);
        assert_eq!(CreditCode::check_character("91350100M000100Y"), None);
        assert_eq!(
            CreditCode::from_first17("91350100M000100Y"),
            Err(CREDIT_CODE_FORMAT)
        );
    }

    #[test]
    fn serde_validates() {
        let code: CreditCode = serde_json::from_str("\"91350100M000100Y43\"").unwrap();
        assert_eq!(
            serde_json::to_string(&code).unwrap(),
            "\"91350100M000100Y43\""
        );
        assert!(serde_json::from_str::<CreditCode>("\"91350100M000100Y44\"").is_err());
    }

    #[test]
    fn employer_names() {
        assert_eq!(
            EmployerName::parse(" 福州某某科技有限公司 ")
                .unwrap()
                .as_str(),
            "福州某某科技有限公司"
        );
        assert_eq!(EmployerName::parse(""), Err(ValueError::Empty));
        assert!(EmployerName::parse(&"公".repeat(128)).is_ok());
        assert_eq!(
            EmployerName::parse(&"公".repeat(129)),
            Err(ValueError::TooLong { max: 128 })
        );
        assert_eq!(
            EmployerName::parse("a\u{7}b"),
            Err(ValueError::ControlCharacter)
        );
    }
}
