//! Who a person is: national ID number, mobile phone number, name.
//!
//! These are personal data. Their `Debug` output is masked and they have no `Display` and no serde
//! implementation, so they cannot end up in a log line or a response body by accident; the raw
//! value is reached only through an explicitly named method (`expose`, `as_e164`, `as_str`).

use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::error::ValueError;
use crate::text::{is_ascii_digits, Text};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Gender {
    Male,
    Female,
}

string_enum!(Gender, allowed = "male, female", { Male => "male", Female => "female" });

/// An 18-character resident identity number of the People's Republic of China (GB 11643-1999):
/// a 6-digit region code, the birth date `YYYYMMDD`, a 3-digit sequence number (odd for men,
/// even for women) and a check character (ISO 7064 MOD 11-2).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct NationalId {
    /// Always 18 ASCII characters: 17 digits and a digit or `X`.
    raw: String,
    birth_date: NaiveDate,
}

const NATIONAL_ID_FORMAT: ValueError = ValueError::Format {
    expected: "18 characters: 17 digits and a check digit or X",
};

/// Weights of the 17 leading digits: 2^(17 - i) mod 11.
const NATIONAL_ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// The check character for each value of (weighted sum mod 11).
const NATIONAL_ID_CHECK_MAP: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// `true` if the first two digits of a region code name a province-level division (GB/T 2260),
/// including Taiwan (71), Hong Kong (81) and Macao (82), and 83: the residence permits of
/// Taiwan residents (港澳台居民居住证, numbers beginning 830000).
fn is_province_code(code: u8) -> bool {
    matches!(code, 11..=15 | 21..=23 | 31..=37 | 41..=46 | 50..=54 | 61..=65 | 71 | 81..=83)
}

/// Checks a 6-character region prefix: 6 digits whose first two name a province.
fn check_id_region(region: &str) -> Result<(), ValueError> {
    if !is_ascii_digits(region, 6) {
        return Err(ValueError::Format {
            expected: "a 6-digit region code",
        });
    }
    let bytes = region.as_bytes();
    let province = (bytes[0] - b'0') * 10 + (bytes[1] - b'0');
    if is_province_code(province) {
        Ok(())
    } else {
        Err(ValueError::Rule("must start with a province code"))
    }
}

impl NationalId {
    /// Parses an ID number. Surrounding whitespace is ignored and a lowercase `x` check character
    /// is accepted and stored as `X`.
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(ValueError::Empty);
        }
        // `s.len()` counts bytes, so any non-ASCII character makes this fail too.
        if s.len() != 18 {
            return Err(NATIONAL_ID_FORMAT);
        }
        let (first17, last) = s.split_at(17);
        let last = match last.as_bytes()[0] {
            c @ b'0'..=b'9' => char::from(c),
            b'x' | b'X' => 'X',
            _ => return Err(NATIONAL_ID_FORMAT),
        };
        let expected_check = Self::check_character(first17).ok_or(NATIONAL_ID_FORMAT)?;
        check_id_region(&first17[..6])?;
        let birth_date = parse_birth_date(&first17[6..14])?;
        if last != expected_check {
            return Err(ValueError::CheckCharacter);
        }
        let mut raw = String::with_capacity(18);
        raw.push_str(first17);
        raw.push(last);
        Ok(NationalId { raw, birth_date })
    }

    /// Builds the ID number of a person from its parts, computing the check character (used to
    /// generate synthetic data). `region` is a 6-digit code starting with a province code,
    /// `sequence` is 0..=999 (odd for men, even for women).
    pub fn from_parts(
        region: &str,
        birth_date: NaiveDate,
        sequence: u16,
    ) -> Result<Self, ValueError> {
        check_id_region(region)?;
        if !(1900..=9999).contains(&birth_date.year()) {
            return Err(ValueError::Date);
        }
        if sequence > 999 {
            return Err(ValueError::Range { min: 0, max: 999 });
        }
        let first17 = format!("{region}{}{sequence:03}", birth_date.format("%Y%m%d"));
        let check = Self::check_character(&first17).ok_or(NATIONAL_ID_FORMAT)?;
        Self::parse(&format!("{first17}{check}"))
    }

    /// The ISO 7064 MOD 11-2 check character for 17 leading digits; `None` unless `first17` is
    /// exactly 17 ASCII digits.
    pub fn check_character(first17: &str) -> Option<char> {
        if !is_ascii_digits(first17, 17) {
            return None;
        }
        let sum: u32 = first17
            .bytes()
            .zip(NATIONAL_ID_WEIGHTS)
            .map(|(digit, weight)| u32::from(digit - b'0') * weight)
            .sum();
        NATIONAL_ID_CHECK_MAP.get((sum % 11) as usize).copied()
    }

    /// The raw 18 characters. Only for encryption and the blind index: never log or return it.
    pub fn expose(&self) -> &str {
        &self.raw
    }

    /// The first 3 and last 4 characters with 11 `*` between: `110***********4514`.
    pub fn masked(&self) -> String {
        format!("{}{}{}", &self.raw[..3], "*".repeat(11), &self.raw[14..])
    }

    /// Odd sequence number (17th character) for men, even for women.
    pub fn gender(&self) -> Gender {
        if (self.raw.as_bytes()[16] - b'0') % 2 == 1 {
            Gender::Male
        } else {
            Gender::Female
        }
    }

    pub fn birth_date(&self) -> NaiveDate {
        self.birth_date
    }

    /// The 6-digit region code of the place where the number was issued.
    pub fn region_prefix(&self) -> &str {
        &self.raw[..6]
    }
}

/// `YYYYMMDD` (already known to be 8 ASCII digits) as a real calendar date from 1900 on.
fn parse_birth_date(digits: &str) -> Result<NaiveDate, ValueError> {
    let number = |range: std::ops::Range<usize>| digits[range].parse::<u32>().ok();
    let (Some(year), Some(month), Some(day)) = (number(0..4), number(4..6), number(6..8)) else {
        return Err(ValueError::Date);
    };
    if year < 1900 {
        return Err(ValueError::Date);
    }
    let year = i32::try_from(year).map_err(|_| ValueError::Date)?;
    NaiveDate::from_ymd_opt(year, month, day).ok_or(ValueError::Date)
}

impl fmt::Debug for NationalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("NationalId").field(&self.masked()).finish()
    }
}

impl_from_str!(NationalId);

/// A mainland China mobile number, stored in E.164 form (`+8613812345678`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhoneNumber(String);

const PHONE_FORMAT: ValueError = ValueError::Format {
    expected: "a mainland mobile number: 11 digits starting with 13 to 19, optionally after +86",
};

impl PhoneNumber {
    /// Accepts `13812345678`, `+8613812345678`, `+86 138 1234 5678`, `008613812345678`; spaces
    /// and hyphens between the digits are ignored. The number must be `1[3-9]` and 9 more digits.
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let compact: String = s
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        if compact.is_empty() {
            return Err(ValueError::Empty);
        }
        let national = compact
            .strip_prefix("+86")
            .or_else(|| compact.strip_prefix("0086"))
            .unwrap_or(&compact);
        let bytes = national.as_bytes();
        let valid =
            is_ascii_digits(national, 11) && bytes[0] == b'1' && (b'3'..=b'9').contains(&bytes[1]);
        if !valid {
            return Err(PHONE_FORMAT);
        }
        Ok(PhoneNumber(format!("+86{national}")))
    }

    /// `+8613812345678`.
    pub fn as_e164(&self) -> &str {
        &self.0
    }

    /// `+86 138****5678`.
    pub fn masked(&self) -> String {
        format!("+86 {}****{}", &self.0[3..6], &self.0[10..])
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PhoneNumber").field(&self.masked()).finish()
    }
}

impl_from_str!(PhoneNumber);

/// A letter of a name: a CJK ideograph of the Basic Multilingual Plane (basic block, extension A,
/// compatibility ideographs) or a Latin letter (ASCII, Latin-1, Latin Extended-A and -B). The
/// same set as the OpenAPI document's pattern for names, which a client's regex engine (and
/// schemathesis') can read; `char::is_alphabetic` cannot be written as such a pattern.
pub fn name_letter(c: char) -> bool {
    matches!(c,
        'A'..='Z' | 'a'..='z'
        | '\u{c0}'..='\u{d6}' | '\u{d8}'..='\u{f6}' | '\u{f8}'..='\u{24f}'
        | '\u{3400}'..='\u{4dbf}' | '\u{4e00}'..='\u{9fff}' | '\u{f900}'..='\u{faff}')
}

/// A person's name as written on the ID card: 1..=64 characters after trimming; letters (see
/// [`name_letter`]), spaces, the middle dot `·` of transliterated names, `.`, `-` and apostrophes; at least
/// one letter.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PersonName(String);

impl PersonName {
    pub const MAX_CHARS: usize = 64;

    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let text = Text::parse(s, Self::MAX_CHARS)?;
        let trimmed = text.as_str();
        let allowed = |c: char| name_letter(c) || matches!(c, ' ' | '·' | '.' | '-' | '\'' | '’');
        if !trimmed.chars().all(allowed) {
            return Err(ValueError::Format {
                expected:
                    "Chinese characters or Latin letters, spaces, '·', '.', '-' or apostrophes",
            });
        }
        if !trimmed.chars().any(name_letter) {
            return Err(ValueError::Rule("must contain a letter"));
        }
        Ok(PersonName(text.into_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first character, then one `*` for each other character: `张三` → `张*`.
    pub fn masked(&self) -> String {
        let mut chars = self.0.chars();
        let mut masked = String::with_capacity(self.0.len());
        if let Some(first) = chars.next() {
            masked.push(first);
        }
        masked.extend(chars.map(|_| '*'));
        masked
    }
}

/// Masked like the other personal data, so a name never reaches a log line through `{:?}`.
impl fmt::Debug for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PersonName").field(&self.masked()).finish()
    }
}

impl_from_str!(PersonName);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    // 11010519491231002X, worked by hand (the example from GB 11643-1999):
    //   digits   1  1  0  1  0  5  1  9  4  9  1  2  3  1  0  0  2
    //   weights  7  9 10  5  8  4  2  1  6  3  7  9 10  5  8  4  2
    //   products 7  9  0  5  0 20  2  9 24 27  7 18 30  5  0  0  4   sum = 167
    //   167 mod 11 = 2 (11 * 15 = 165) -> map "10X98765432"[2] = 'X'.
    //   Sequence 002: even -> female; born 1949-12-31 in 110105 (Beijing, Chaoyang).
    #[test]
    fn standard_example_is_valid() {
        let id = NationalId::parse("11010519491231002X").unwrap();
        assert_eq!(id.gender(), Gender::Female);
        assert_eq!(id.birth_date(), date(1949, 12, 31));
        assert_eq!(id.region_prefix(), "110105");
        assert_eq!(id.expose(), "11010519491231002X");
        assert_eq!(NationalId::check_character("11010519491231002"), Some('X'));
    }

    // 110101199003074514, worked by hand:
    //   digits   1  1  0  1  0  1  1  9  9  0  0  3  0  7  4  5  1
    //   weights  7  9 10  5  8  4  2  1  6  3  7  9 10  5  8  4  2
    //   products 7  9  0  5  0  4  2  9 54  0  0 27  0 35 32 20  2   sum = 206
    //   206 mod 11 = 8 (11 * 18 = 198) -> map "10X98765432"[8] = '4'.
    //   Sequence 451: odd -> male; born 1990-03-07.
    #[test]
    fn second_example_is_valid_and_masks() {
        let id = NationalId::parse("110101199003074514").unwrap();
        assert_eq!(id.gender(), Gender::Male);
        assert_eq!(id.birth_date(), date(1990, 3, 7));
        assert_eq!(id.masked(), "110***********4514");
        assert_eq!(id.masked().chars().count(), 18);
        assert_eq!(format!("{id:?}"), "NationalId(\"110***********4514\")");
        assert!(!format!("{id:?}").contains("199003"));
    }

    #[test]
    fn parse_normalises() {
        let id = NationalId::parse("  11010519491231002x\n").unwrap();
        assert_eq!(id.expose(), "11010519491231002X");
        assert_eq!(id, "11010519491231002X".parse().unwrap());
    }

    #[test]
    fn parse_rejects() {
        let format = NATIONAL_ID_FORMAT;
        assert_eq!(NationalId::parse(""), Err(ValueError::Empty));
        assert_eq!(NationalId::parse("   "), Err(ValueError::Empty));
        assert_eq!(NationalId::parse("11010519491231002"), Err(format));
        assert_eq!(NationalId::parse("11010519491231002X1"), Err(format));
        assert_eq!(NationalId::parse("1101051949123100XX"), Err(format));
        assert_eq!(NationalId::parse("11010519491231002Y"), Err(format));
        assert_eq!(NationalId::parse("１1010519491231002X"), Err(format));
        // Wrong check character.
        assert_eq!(
            NationalId::parse("110105194912310020"),
            Err(ValueError::CheckCharacter)
        );
        assert_eq!(
            NationalId::parse("110101199003074515"),
            Err(ValueError::CheckCharacter)
        );
        // Not a province (first two digits 99 / 00), with the right check character.
        let bad_province = format!(
            "99010519491231002{}",
            NationalId::check_character("99010519491231002").unwrap()
        );
        assert!(matches!(
            NationalId::parse(&bad_province),
            Err(ValueError::Rule(_))
        ));
        // 1949-02-30 does not exist; 1899 is before 1900; month 13.
        for first17 in [
            "11010519490230002",
            "11010518991231002",
            "11010519491331002",
        ] {
            let id = format!("{first17}{}", NationalId::check_character(first17).unwrap());
            assert_eq!(NationalId::parse(&id), Err(ValueError::Date), "{id}");
        }
        // 2000-02-29 exists (leap year), 1900-02-29 does not.
        let leap = NationalId::from_parts("440305", date(2000, 2, 29), 13).unwrap();
        assert_eq!(leap.birth_date(), date(2000, 2, 29));
        let first17 = "44030519000229013";
        let id = format!("{first17}{}", NationalId::check_character(first17).unwrap());
        assert_eq!(NationalId::parse(&id), Err(ValueError::Date));
    }

    #[test]
    fn from_parts() {
        let id = NationalId::from_parts("110105", date(1949, 12, 31), 2).unwrap();
        assert_eq!(id.expose(), "11010519491231002X");
        let id = NationalId::from_parts("110101", date(1990, 3, 7), 451).unwrap();
        assert_eq!(id.expose(), "110101199003074514");
        assert_eq!(
            NationalId::from_parts("110101", date(1990, 3, 7), 1000),
            Err(ValueError::Range { min: 0, max: 999 })
        );
        assert_eq!(
            NationalId::from_parts("110101", date(1899, 12, 31), 1),
            Err(ValueError::Date)
        );
        assert!(NationalId::from_parts("11010", date(1990, 3, 7), 1).is_err());
        assert!(NationalId::from_parts("1101011", date(1990, 3, 7), 1).is_err());
        assert!(matches!(
            NationalId::from_parts("000000", date(1990, 3, 7), 1),
            Err(ValueError::Rule(_))
        ));
    }

    #[test]
    fn check_character_input() {
        assert_eq!(NationalId::check_character("1101051949123100"), None);
        assert_eq!(NationalId::check_character("1101051949123100X"), None);
        assert_eq!(NationalId::check_character("110105194912310021"), None);
    }

    #[test]
    fn province_codes() {
        let valid: Vec<u8> = (0..100).filter(|&c| is_province_code(c)).collect();
        assert_eq!(
            valid,
            [
                11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
                50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83
            ]
        );
    }

    #[test]
    fn a_taiwan_residents_permit_is_accepted() {
        // 830000199201300022, published by the Beijing police, worked by hand: weights
        // 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2 on 8 3 0 0 0 0 1 9 9 2 0 1 3 0 0 0 2:
        // 56 + 27 + 0 + 0 + 0 + 0 + 2 + 9 + 54 + 6 + 0 + 9 + 30 + 0 + 0 + 0 + 4 = 197;
        // 197 mod 11 = 10 → '2'. Born 1992-01-30, female (the 17th digit, 2, is even).
        let id = NationalId::parse("830000199201300022").unwrap();
        assert_eq!(id.birth_date(), date(1992, 1, 30));
        assert_eq!(id.gender(), Gender::Female);
        assert_eq!(id.region_prefix(), "830000");
        assert_eq!(
            NationalId::parse("830000199201300023"),
            Err(ValueError::CheckCharacter)
        );
    }

    #[test]
    fn phone_accepted_forms() {
        for input in [
            "13812345678",
            "+8613812345678",
            "+86 138 1234 5678",
            "008613812345678",
            "0086 138 1234 5678",
            "  138-1234-5678 ",
        ] {
            let phone = PhoneNumber::parse(input).unwrap();
            assert_eq!(phone.as_e164(), "+8613812345678", "{input}");
            assert_eq!(phone.masked(), "+86 138****5678");
            assert_eq!(format!("{phone:?}"), "PhoneNumber(\"+86 138****5678\")");
        }
        for prefix in 3..=9 {
            assert!(PhoneNumber::parse(&format!("1{prefix}012345678")).is_ok());
        }
    }

    #[test]
    fn phone_rejected_forms() {
        assert_eq!(PhoneNumber::parse(""), Err(ValueError::Empty));
        assert_eq!(PhoneNumber::parse("  "), Err(ValueError::Empty));
        for input in [
            "12812345678",     // second digit 2
            "10812345678",     // second digit 0
            "23812345678",     // not starting with 1
            "1381234567",      // 10 digits
            "138123456789",    // 12 digits
            "+8513812345678",  // another country
            "+1 415 555 2671", // another country
            "8613812345678",   // country code without + or 00
            "+86+8613812345678",
            "1381234567a",
            "１３８１２３４５６７８", // full-width digits
            "010-12345678",           // a landline
        ] {
            assert_eq!(PhoneNumber::parse(input), Err(PHONE_FORMAT), "{input}");
        }
    }

    #[test]
    fn person_names() {
        let name = PersonName::parse(" 张三 ").unwrap();
        assert_eq!(name.as_str(), "张三");
        assert_eq!(name.masked(), "张*");
        assert_eq!(PersonName::parse("欧阳娜娜").unwrap().masked(), "欧***");
        assert_eq!(PersonName::parse("王").unwrap().masked(), "王");
        assert_eq!(
            format!("{:?}", PersonName::parse("张三").unwrap()),
            "PersonName(\"张*\")"
        );
        for ok in [
            "买买提·艾力",
            "Anne-Marie O'Neil",
            "J. R. R. Tolkien",
            "Zoë D’Arcy",
            "Łukasz Żółć",
        ] {
            assert_eq!(PersonName::parse(ok).unwrap().as_str(), ok);
        }
        assert_eq!(
            PersonName::parse(&"张".repeat(64)).map(|n| n.as_str().chars().count()),
            Ok(64)
        );
        assert_eq!(
            PersonName::parse(&"张".repeat(65)),
            Err(ValueError::TooLong { max: 64 })
        );
        assert_eq!(PersonName::parse(" "), Err(ValueError::Empty));
        for bad in ["张\u{0}三", "张\n三"] {
            assert_eq!(PersonName::parse(bad), Err(ValueError::ControlCharacter));
        }
        // Only the letters the documented pattern lists: CJK ideographs and Latin letters.
        for bad in [
            "张三1",
            "<script>",
            "Robert'); DROP TABLE",
            "Ἀριστοτέλης",
            "张三😀",
            "张　三",
        ] {
            assert!(
                matches!(PersonName::parse(bad), Err(ValueError::Format { .. })),
                "{bad}"
            );
        }
        assert_eq!(
            PersonName::parse("-·-"),
            Err(ValueError::Rule("must contain a letter"))
        );
    }

    #[test]
    fn gender_names() {
        assert_eq!(Gender::parse("female"), Ok(Gender::Female));
        assert_eq!(
            Gender::parse("f"),
            Err(ValueError::OneOf {
                allowed: "male, female"
            })
        );
        for g in Gender::ALL {
            assert_eq!(
                serde_json::to_string(&g).unwrap(),
                format!("\"{}\"", g.as_str())
            );
        }
    }
}
