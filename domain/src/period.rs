//! Calendar months (`YYYY-MM`), the unit contributions are declared and paid in.

use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::ValueError;

/// A calendar month from 1900-01 to 9999-12. Orders chronologically; written `YYYY-MM`
/// (also in serde).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    // Field order matters: the derived `Ord` compares the year first.
    year: i32,
    month: u32,
}

const MIN_YEAR: i32 = 1900;
const MAX_YEAR: i32 = 9999;

impl Period {
    /// The earliest period, 1900-01.
    pub const MIN: Period = Period {
        year: MIN_YEAR,
        month: 1,
    };
    /// The latest period, 9999-12.
    pub const MAX: Period = Period {
        year: MAX_YEAR,
        month: 12,
    };

    /// Year 1900..=9999, month 1..=12.
    pub fn new(year: i32, month: u32) -> Result<Self, ValueError> {
        if !(MIN_YEAR..=MAX_YEAR).contains(&year) {
            return Err(ValueError::Range {
                min: MIN_YEAR.into(),
                max: MAX_YEAR.into(),
            });
        }
        if !(1..=12).contains(&month) {
            return Err(ValueError::Range { min: 1, max: 12 });
        }
        Ok(Period { year, month })
    }

    /// Exactly `YYYY-MM` (no surrounding whitespace, two-digit month).
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        const FORMAT: ValueError = ValueError::Format {
            expected: "a month written YYYY-MM",
        };
        let b = s.as_bytes();
        let digits = |range: std::ops::Range<usize>| b[range].iter().all(u8::is_ascii_digit);
        if b.len() != 7 || b[4] != b'-' || !digits(0..4) || !digits(5..7) {
            return Err(FORMAT);
        }
        let year = s[..4].parse().map_err(|_| FORMAT)?;
        let month = s[5..].parse().map_err(|_| FORMAT)?;
        Self::new(year, month)
    }

    pub fn year(&self) -> i32 {
        self.year
    }

    pub fn month(&self) -> u32 {
        self.month
    }

    /// The following month. Saturates at [`Period::MAX`]; use [`Period::add_months`] to detect
    /// the end.
    pub fn next(self) -> Period {
        self.add_months(1).unwrap_or(Period::MAX)
    }

    /// The previous month. Saturates at [`Period::MIN`]; use [`Period::add_months`] to detect
    /// the start.
    pub fn prev(self) -> Period {
        self.add_months(-1).unwrap_or(Period::MIN)
    }

    /// `later - self` in months: 2024-11 to 2025-02 is 3; negative if `later` is earlier.
    pub fn months_between(self, later: Period) -> i64 {
        later.index() - self.index()
    }

    /// `n` months later (earlier if negative); `None` outside 1900-01..=9999-12.
    pub fn add_months(self, n: i64) -> Option<Period> {
        let index = self.index().checked_add(n)?;
        let year = i32::try_from(index.div_euclid(12)).ok()?;
        let month = u32::try_from(index.rem_euclid(12) + 1).ok()?;
        Period::new(year, month).ok()
    }

    /// The first day of the month.
    pub fn first_day(&self) -> NaiveDate {
        // Always a valid date: year and month were checked on construction.
        NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or(NaiveDate::MIN)
    }

    /// The last day of the month (28, 29, 30 or 31).
    pub fn last_day(&self) -> NaiveDate {
        let first = self.first_day();
        match self.add_months(1) {
            Some(next) => next.first_day().pred_opt().unwrap_or(first),
            // December 9999.
            None => NaiveDate::from_ymd_opt(self.year, 12, 31).unwrap_or(first),
        }
    }

    /// The period a date falls in, clamped to 1900-01..=9999-12 (see [`Period::try_containing`]).
    pub fn containing(date: NaiveDate) -> Period {
        match Self::try_containing(date) {
            Ok(period) => period,
            Err(_) if date.year() < MIN_YEAR => Period::MIN,
            Err(_) => Period::MAX,
        }
    }

    /// The period a date falls in; `Err(Range)` for years outside 1900..=9999.
    pub fn try_containing(date: NaiveDate) -> Result<Period, ValueError> {
        Period::new(date.year(), date.month())
    }

    /// Months since year 0 (year * 12 + month - 1).
    fn index(self) -> i64 {
        i64::from(self.year) * 12 + i64::from(self.month) - 1
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl_from_str!(Period);

impl Serialize for Period {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PeriodVisitor;

        impl serde::de::Visitor<'_> for PeriodVisitor {
            type Value = Period;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a month written YYYY-MM")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Period, E> {
                Period::parse(v).map_err(|e| E::custom(format_args!("period {e}")))
            }
        }

        deserializer.deserialize_str(PeriodVisitor)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn p(year: i32, month: u32) -> Period {
        Period::new(year, month).unwrap()
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn construction() {
        assert_eq!(p(2025, 1).year(), 2025);
        assert_eq!(p(2025, 1).month(), 1);
        assert_eq!(
            Period::new(1899, 12),
            Err(ValueError::Range {
                min: 1900,
                max: 9999
            })
        );
        assert_eq!(
            Period::new(10_000, 1),
            Err(ValueError::Range {
                min: 1900,
                max: 9999
            })
        );
        assert_eq!(
            Period::new(2025, 0),
            Err(ValueError::Range { min: 1, max: 12 })
        );
        assert_eq!(
            Period::new(2025, 13),
            Err(ValueError::Range { min: 1, max: 12 })
        );
    }

    #[test]
    fn parse_and_display() {
        assert_eq!(Period::parse("2025-03"), Ok(p(2025, 3)));
        assert_eq!(p(2025, 3).to_string(), "2025-03");
        assert_eq!(p(1900, 1).to_string(), "1900-01");
        assert_eq!("2024-12".parse::<Period>(), Ok(p(2024, 12)));
        for bad in [
            "2025-3",
            "2025-003",
            "202503",
            "2025/03",
            " 2025-03",
            "2025-03 ",
            "+202-03",
            "2025-+3",
            "２０２５-03",
            "",
        ] {
            assert!(
                matches!(Period::parse(bad), Err(ValueError::Format { .. })),
                "{bad:?}"
            );
        }
        assert_eq!(
            Period::parse("2025-00"),
            Err(ValueError::Range { min: 1, max: 12 })
        );
        assert_eq!(
            Period::parse("2025-13"),
            Err(ValueError::Range { min: 1, max: 12 })
        );
        assert_eq!(
            Period::parse("1899-12"),
            Err(ValueError::Range {
                min: 1900,
                max: 9999
            })
        );
    }

    #[test]
    fn arithmetic_across_year_ends() {
        assert_eq!(p(2024, 12).next(), p(2025, 1));
        assert_eq!(p(2025, 1).prev(), p(2024, 12));
        assert_eq!(p(2024, 11).months_between(p(2025, 2)), 3);
        assert_eq!(p(2025, 2).months_between(p(2024, 11)), -3);
        assert_eq!(p(2020, 1).months_between(p(2020, 1)), 0);
        assert_eq!(p(2010, 7).months_between(p(2025, 7)), 180);
        assert_eq!(p(2024, 11).add_months(3), Some(p(2025, 2)));
        assert_eq!(p(2025, 2).add_months(-3), Some(p(2024, 11)));
        assert_eq!(p(2025, 1).add_months(-1), Some(p(2024, 12)));
        assert_eq!(p(2025, 1).add_months(-13), Some(p(2023, 12)));
        assert_eq!(p(2025, 1).add_months(-12), Some(p(2024, 1)));
        assert_eq!(p(2025, 6).add_months(0), Some(p(2025, 6)));
        assert_eq!(p(2025, 6).add_months(180), Some(p(2040, 6)));
    }

    #[test]
    fn bounds() {
        assert_eq!(Period::MAX.add_months(1), None);
        assert_eq!(Period::MIN.add_months(-1), None);
        assert_eq!(Period::MAX.next(), Period::MAX);
        assert_eq!(Period::MIN.prev(), Period::MIN);
        assert_eq!(p(2025, 1).add_months(i64::MAX), None);
        assert_eq!(p(2025, 1).add_months(i64::MIN), None);
        assert_eq!(
            Period::MIN.months_between(Period::MAX),
            (9999 - 1900) * 12 + 11
        );
    }

    #[test]
    fn ordering_is_chronological() {
        assert!(p(2024, 12) < p(2025, 1));
        assert!(p(2025, 1) < p(2025, 2));
        assert!(p(2025, 10) > p(2025, 9));
    }

    #[test]
    fn days() {
        assert_eq!(p(2025, 3).first_day(), d(2025, 3, 1));
        assert_eq!(p(2024, 2).last_day(), d(2024, 2, 29));
        assert_eq!(p(2025, 2).last_day(), d(2025, 2, 28));
        assert_eq!(p(1900, 2).last_day(), d(1900, 2, 28));
        assert_eq!(p(2024, 12).last_day(), d(2024, 12, 31));
        assert_eq!(Period::MAX.last_day(), d(9999, 12, 31));
        assert_eq!(Period::containing(d(2025, 12, 31)), p(2025, 12));
        assert_eq!(Period::containing(d(2025, 1, 1)), p(2025, 1));
        assert_eq!(Period::containing(d(1800, 5, 1)), Period::MIN);
        assert_eq!(Period::containing(d(12_000, 5, 1)), Period::MAX);
        assert!(Period::try_containing(d(1800, 5, 1)).is_err());
    }

    #[test]
    fn serde_as_string() {
        assert_eq!(serde_json::to_string(&p(2025, 3)).unwrap(), "\"2025-03\"");
        assert_eq!(
            serde_json::from_str::<Period>("\"2025-03\"").unwrap(),
            p(2025, 3)
        );
        let error = serde_json::from_str::<Period>("\"2025-13\"").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("period must be between 1 and 12"),
            "{error}"
        );
        assert!(serde_json::from_str::<Period>("202503").is_err());
    }
}
