//! Regions (统筹地区) and their yearly contribution parameters.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::ValueError;
use crate::insurance::InsuranceType;
use crate::money::Fen;
use crate::text::{bounded_text, is_ascii_digits};

/// An administrative division code (GB/T 2260): 6 ASCII digits, the first not 0.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegionCode(String);

impl RegionCode {
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let code = s.trim();
        if code.is_empty() {
            return Err(ValueError::Empty);
        }
        if !is_ascii_digits(code, 6) || code.starts_with('0') {
            return Err(ValueError::Format {
                expected: "6 digits, the first not 0",
            });
        }
        Ok(RegionCode(code.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A region's display name: 1..=64 characters after trimming, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegionName(String);

impl RegionName {
    pub const MAX_CHARS: usize = 64;

    pub fn parse(s: &str) -> Result<Self, ValueError> {
        bounded_text(s, Self::MAX_CHARS).map(|name| RegionName(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An IANA time zone known to `chrono_tz`, such as `Asia/Shanghai` (exact spelling).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeZoneName(chrono_tz::Tz);

impl TimeZoneName {
    /// The mainland default, `Asia/Shanghai`.
    pub const ASIA_SHANGHAI: TimeZoneName = TimeZoneName(chrono_tz::Tz::Asia__Shanghai);

    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let name = s.trim();
        if name.is_empty() {
            return Err(ValueError::Empty);
        }
        name.parse::<chrono_tz::Tz>()
            .map(TimeZoneName)
            .map_err(|_| ValueError::Format {
                expected: "an IANA time zone name such as Asia/Shanghai",
            })
    }

    pub fn as_str(&self) -> &str {
        self.0.name()
    }

    pub fn tz(&self) -> chrono_tz::Tz {
        self.0
    }

    /// The local date here at the instant `now`.
    pub fn local_date(&self, now: chrono::DateTime<chrono::Utc>) -> chrono::NaiveDate {
        now.with_timezone(&self.0).date_naive()
    }
}

impl fmt::Debug for TimeZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TimeZoneName").field(&self.as_str()).finish()
    }
}

impl_text_value!(RegionCode, RegionName, TimeZoneName);

/// The employer's and the employee's rate for one insurance, in basis points (1600 = 16 %).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct RatePair {
    pub employer_bp: u16,
    pub employee_bp: u16,
}

/// The contribution rates of the five insurances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Rates {
    pub pension: RatePair,
    pub medical: RatePair,
    pub unemployment: RatePair,
    pub work_injury: RatePair,
    pub maternity: RatePair,
}

impl Rates {
    pub fn get(&self, insurance: InsuranceType) -> RatePair {
        match insurance {
            InsuranceType::Pension => self.pension,
            InsuranceType::Medical => self.medical,
            InsuranceType::Unemployment => self.unemployment,
            InsuranceType::WorkInjury => self.work_injury,
            InsuranceType::Maternity => self.maternity,
        }
    }

    /// The usual mainland rates: pension 16 % / 8 %, medical 8 % / 2 %, unemployment
    /// 0.5 % / 0.5 %, work injury 0.4 % (employer only; the real rate depends on the industry
    /// class, 0.2 %–1.9 %), maternity 0.8 % (employer only).
    pub fn mainland_default() -> Rates {
        let pair = |employer_bp, employee_bp| RatePair {
            employer_bp,
            employee_bp,
        };
        Rates {
            pension: pair(1600, 800),
            medical: pair(800, 200),
            unemployment: pair(50, 50),
            work_injury: pair(40, 0),
            maternity: pair(80, 0),
        }
    }
}

/// A region's parameters for one contribution year.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct YearParameters {
    region: RegionCode,
    year: i32,
    average_monthly_wage: Fen,
    base_floor_pct: u16,
    base_ceiling_pct: u16,
    late_fee_bp_per_day: u16,
    rates: Rates,
}

impl YearParameters {
    pub const MIN_YEAR: i32 = 1990;
    pub const MAX_YEAR: i32 = 2100;
    /// 10 000 000.00 yuan a month: far above any real average wage, low enough that no
    /// calculation on a base derived from it can overflow.
    pub const MAX_AVERAGE_MONTHLY_WAGE: Fen = Fen(1_000_000_000);
    pub const MAX_BASE_PCT: u16 = 1000;
    pub const MAX_BP: u16 = 10_000;

    /// `average_monthly_wage` is the region's published average monthly wage of the *previous*
    /// year, which sets this year's bounds for the contribution base:
    /// `[wage × floor %, wage × ceiling %]` (usually 60 % and 300 %).
    ///
    /// Checks: year 1990..=2100; wage 0.01..=10 000 000.00 yuan; 1 <= floor % <= ceiling % <= 1000;
    /// each rate <= 10000 bp and employer + employee <= 10000 bp; late fee <= 10000 bp a day.
    pub fn new(
        region: RegionCode,
        year: i32,
        average_monthly_wage: Fen,
        base_floor_pct: u16,
        base_ceiling_pct: u16,
        late_fee_bp_per_day: u16,
        rates: Rates,
    ) -> Result<Self, ValueError> {
        let bp_range = ValueError::Range {
            min: 0,
            max: Self::MAX_BP.into(),
        };
        let pct_range = ValueError::Range {
            min: 1,
            max: Self::MAX_BASE_PCT.into(),
        };
        if !(Self::MIN_YEAR..=Self::MAX_YEAR).contains(&year) {
            return Err(ValueError::Range {
                min: Self::MIN_YEAR.into(),
                max: Self::MAX_YEAR.into(),
            });
        }
        if !(Fen(1)..=Self::MAX_AVERAGE_MONTHLY_WAGE).contains(&average_monthly_wage) {
            return Err(ValueError::Range {
                min: 1,
                max: Self::MAX_AVERAGE_MONTHLY_WAGE.0,
            });
        }
        if !(1..=Self::MAX_BASE_PCT).contains(&base_floor_pct)
            || !(1..=Self::MAX_BASE_PCT).contains(&base_ceiling_pct)
        {
            return Err(pct_range);
        }
        if base_floor_pct > base_ceiling_pct {
            return Err(ValueError::Rule(
                "the base floor must not be above the base ceiling",
            ));
        }
        if late_fee_bp_per_day > Self::MAX_BP {
            return Err(bp_range);
        }
        for insurance in InsuranceType::ALL {
            let pair = rates.get(insurance);
            if pair.employer_bp > Self::MAX_BP || pair.employee_bp > Self::MAX_BP {
                return Err(bp_range);
            }
            if u32::from(pair.employer_bp) + u32::from(pair.employee_bp) > u32::from(Self::MAX_BP) {
                return Err(ValueError::Rule(combined_rate_message(insurance)));
            }
        }
        Ok(YearParameters {
            region,
            year,
            average_monthly_wage,
            base_floor_pct,
            base_ceiling_pct,
            late_fee_bp_per_day,
            rates,
        })
    }

    pub fn region(&self) -> &RegionCode {
        &self.region
    }

    pub fn year(&self) -> i32 {
        self.year
    }

    /// The previous year's average monthly wage.
    pub fn average_monthly_wage(&self) -> Fen {
        self.average_monthly_wage
    }

    pub fn base_floor_pct(&self) -> u16 {
        self.base_floor_pct
    }

    pub fn base_ceiling_pct(&self) -> u16 {
        self.base_ceiling_pct
    }

    pub fn late_fee_bp_per_day(&self) -> u16 {
        self.late_fee_bp_per_day
    }

    pub fn rates(&self) -> &Rates {
        &self.rates
    }

    /// The lowest contribution base: wage × floor % / 100, rounded half up to the fen.
    pub fn base_floor(&self) -> Fen {
        self.pct_of_wage(self.base_floor_pct)
    }

    /// The highest contribution base: wage × ceiling % / 100, rounded half up to the fen.
    pub fn base_ceiling(&self) -> Fen {
        self.pct_of_wage(self.base_ceiling_pct)
    }

    /// The declared wage clamped to `[base_floor, base_ceiling]`.
    pub fn contribution_base(&self, declared_wage: Fen) -> Fen {
        declared_wage
            .max(self.base_floor())
            .min(self.base_ceiling())
    }

    fn pct_of_wage(&self, pct: u16) -> Fen {
        // The wage is 1..=10^9 fen and pct <= 1000, so the product is at most 10^12: no overflow,
        // and for positive numbers "half up" and "half away from zero" agree.
        Fen((self.average_monthly_wage.0 * i64::from(pct) + 50) / 100)
    }
}

fn combined_rate_message(insurance: InsuranceType) -> &'static str {
    match insurance {
        InsuranceType::Pension => "the pension rates must not add up to more than 100 %",
        InsuranceType::Medical => "the medical rates must not add up to more than 100 %",
        InsuranceType::Unemployment => "the unemployment rates must not add up to more than 100 %",
        InsuranceType::WorkInjury => "the work injury rates must not add up to more than 100 %",
        InsuranceType::Maternity => "the maternity rates must not add up to more than 100 %",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn region() -> RegionCode {
        RegionCode::parse("110000").unwrap()
    }

    /// Average wage 10 000.00 yuan, base 60 %–300 %, 5 bp a day.
    fn params() -> YearParameters {
        YearParameters::new(
            region(),
            2025,
            Fen(1_000_000),
            60,
            300,
            5,
            Rates::mainland_default(),
        )
        .unwrap()
    }

    #[test]
    fn region_codes() {
        assert_eq!(RegionCode::parse(" 350100 ").unwrap().as_str(), "350100");
        assert_eq!(RegionCode::parse("350100").unwrap().to_string(), "350100");
        assert_eq!(RegionCode::parse(""), Err(ValueError::Empty));
        for bad in ["050100", "35010", "3501000", "35010a", "３５０１００"] {
            assert!(
                matches!(RegionCode::parse(bad), Err(ValueError::Format { .. })),
                "{bad}"
            );
        }
        assert!(serde_json::from_str::<RegionCode>("\"050100\"").is_err());
    }

    #[test]
    fn region_names() {
        assert_eq!(RegionName::parse(" 福州市 ").unwrap().as_str(), "福州市");
        assert_eq!(RegionName::parse(""), Err(ValueError::Empty));
        assert_eq!(
            RegionName::parse(&"市".repeat(65)),
            Err(ValueError::TooLong { max: 64 })
        );
    }

    #[test]
    fn time_zones() {
        let tz = TimeZoneName::parse("Asia/Shanghai").unwrap();
        assert_eq!(tz, TimeZoneName::ASIA_SHANGHAI);
        assert_eq!(tz.as_str(), "Asia/Shanghai");
        assert_eq!(tz.tz(), chrono_tz::Tz::Asia__Shanghai);
        assert_eq!(format!("{tz:?}"), "TimeZoneName(\"Asia/Shanghai\")");
        assert_eq!(
            TimeZoneName::parse("Asia/Urumqi").unwrap().as_str(),
            "Asia/Urumqi"
        );
        assert_eq!(TimeZoneName::parse(""), Err(ValueError::Empty));
        for bad in ["Asia/Beijing", "asia/shanghai", "CST", "+08:00"] {
            assert!(
                matches!(TimeZoneName::parse(bad), Err(ValueError::Format { .. })),
                "{bad}"
            );
        }
        assert_eq!(serde_json::to_string(&tz).unwrap(), "\"Asia/Shanghai\"");
    }

    #[test]
    fn rates() {
        let rates = Rates::mainland_default();
        assert_eq!(
            rates.get(InsuranceType::Pension),
            RatePair {
                employer_bp: 1600,
                employee_bp: 800
            }
        );
        assert_eq!(
            rates.get(InsuranceType::Medical),
            RatePair {
                employer_bp: 800,
                employee_bp: 200
            }
        );
        assert_eq!(
            rates.get(InsuranceType::Unemployment),
            RatePair {
                employer_bp: 50,
                employee_bp: 50
            }
        );
        assert_eq!(
            rates.get(InsuranceType::WorkInjury),
            RatePair {
                employer_bp: 40,
                employee_bp: 0
            }
        );
        assert_eq!(
            rates.get(InsuranceType::Maternity),
            RatePair {
                employer_bp: 80,
                employee_bp: 0
            }
        );
    }

    #[test]
    fn base_bounds_and_clamping() {
        let params = params();
        assert_eq!(params.base_floor(), Fen(600_000)); // 6 000.00
        assert_eq!(params.base_ceiling(), Fen(3_000_000)); // 30 000.00
        assert_eq!(params.contribution_base(Fen(300_000)), Fen(600_000));
        assert_eq!(params.contribution_base(Fen(4_000_000)), Fen(3_000_000));
        assert_eq!(params.contribution_base(Fen(800_000)), Fen(800_000));
        assert_eq!(params.contribution_base(Fen(600_000)), Fen(600_000));
        assert_eq!(params.contribution_base(Fen(3_000_000)), Fen(3_000_000));
        assert_eq!(params.contribution_base(Fen(-1)), Fen(600_000));
        assert_eq!(params.contribution_base(Fen(i64::MAX)), Fen(3_000_000));
    }

    #[test]
    fn base_bounds_round_half_up() {
        // 60 % of 0.01 yuan = 0.6 fen -> 1; 300 % -> 3. 60 % of 0.05 yuan = 3 fen exactly.
        let tiny = YearParameters::new(
            region(),
            2025,
            Fen(1),
            60,
            300,
            5,
            Rates::mainland_default(),
        )
        .unwrap();
        assert_eq!(tiny.base_floor(), Fen(1));
        assert_eq!(tiny.base_ceiling(), Fen(3));
        // 7 234.45 yuan * 60 % = 4 340.67 exactly; * 65 % = 4 702.3925 -> 4 702.39 (down).
        // 7 234.50 yuan * 1 % = 72.345 -> 72.35 (half up).
        let odd = YearParameters::new(
            region(),
            2025,
            Fen(723_445),
            60,
            65,
            5,
            Rates::mainland_default(),
        )
        .unwrap();
        assert_eq!(odd.base_floor(), Fen(434_067));
        assert_eq!(odd.base_ceiling(), Fen(470_239));
        let half = YearParameters::new(
            region(),
            2025,
            Fen(723_450),
            1,
            1,
            5,
            Rates::mainland_default(),
        )
        .unwrap();
        assert_eq!(half.base_floor(), Fen(7_235));
    }

    #[test]
    fn getters() {
        let params = params();
        assert_eq!(params.region(), &region());
        assert_eq!(params.year(), 2025);
        assert_eq!(params.average_monthly_wage(), Fen(1_000_000));
        assert_eq!(params.base_floor_pct(), 60);
        assert_eq!(params.base_ceiling_pct(), 300);
        assert_eq!(params.late_fee_bp_per_day(), 5);
        assert_eq!(params.rates(), &Rates::mainland_default());
    }

    #[test]
    fn validation() {
        let new = |year, wage, floor, ceiling, late, rates| {
            YearParameters::new(region(), year, Fen(wage), floor, ceiling, late, rates)
        };
        let rates = Rates::mainland_default();
        assert!(new(1990, 1, 1, 1, 0, rates).is_ok());
        assert!(new(2100, 1_000_000_000, 1000, 1000, 10_000, rates).is_ok());
        assert_eq!(
            new(1989, 1, 60, 300, 5, rates),
            Err(ValueError::Range {
                min: 1990,
                max: 2100
            })
        );
        assert_eq!(
            new(2101, 1, 60, 300, 5, rates),
            Err(ValueError::Range {
                min: 1990,
                max: 2100
            })
        );
        let wage_range = Err(ValueError::Range {
            min: 1,
            max: 1_000_000_000,
        });
        assert_eq!(new(2025, 0, 60, 300, 5, rates), wage_range);
        assert_eq!(new(2025, -1, 60, 300, 5, rates), wage_range);
        assert_eq!(new(2025, 1_000_000_001, 60, 300, 5, rates), wage_range);
        let pct_range = Err(ValueError::Range { min: 1, max: 1000 });
        assert_eq!(new(2025, 1, 0, 300, 5, rates), pct_range);
        assert_eq!(new(2025, 1, 60, 1001, 5, rates), pct_range);
        assert!(matches!(
            new(2025, 1, 301, 300, 5, rates),
            Err(ValueError::Rule(_))
        ));
        assert_eq!(
            new(2025, 1, 60, 300, 10_001, rates),
            Err(ValueError::Range {
                min: 0,
                max: 10_000
            })
        );

        let mut too_high = rates;
        too_high.medical.employer_bp = 10_001;
        assert_eq!(
            new(2025, 1, 60, 300, 5, too_high),
            Err(ValueError::Range {
                min: 0,
                max: 10_000
            })
        );
        let mut over_100 = rates;
        over_100.work_injury = RatePair {
            employer_bp: 9_000,
            employee_bp: 1_001,
        };
        assert_eq!(
            new(2025, 1, 60, 300, 5, over_100),
            Err(ValueError::Rule(
                "the work injury rates must not add up to more than 100 %"
            ))
        );
        let mut exactly_100 = rates;
        exactly_100.pension = RatePair {
            employer_bp: 9_000,
            employee_bp: 1_000,
        };
        assert!(new(2025, 1, 60, 300, 5, exactly_100).is_ok());
    }
}
