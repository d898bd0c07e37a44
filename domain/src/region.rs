//! Regions (统筹地区) and their yearly contribution parameters.

use std::fmt;

use chrono::NaiveDate;
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

    /// The instant (naive UTC) the local day `date` begins here: local midnight, or the first
    /// local time after it where a clock change skips midnight.
    pub fn start_of_day_utc(&self, date: chrono::NaiveDate) -> chrono::NaiveDateTime {
        use chrono::TimeZone;
        let midnight = date.and_time(chrono::NaiveTime::MIN);
        (0..=3)
            .find_map(|hour| {
                self.0
                    .from_local_datetime(&(midnight + chrono::Duration::hours(hour)))
                    .earliest()
            })
            .map_or(midnight, |t| t.naive_utc())
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
    personal_account_bp: u16,
    premiums: Premiums,
}

/// What a region charges the people who pay their own premiums in a year (issue 17): flexible
/// employment's pension and medical rates on the chosen base, the part of the pension credited to
/// the personal account, and the resident medical premium with its collection window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Premiums {
    pub flexible_pension_bp: u16,
    pub flexible_pension_personal_bp: u16,
    pub flexible_medical_bp: u16,
    pub resident_medical_premium: Fen,
    /// The days (both included) the resident premium for this year is collected; usually in the
    /// year before. `None`: not collected through the app.
    pub resident_medical_window: Option<(NaiveDate, NaiveDate)>,
}

impl Default for Premiums {
    /// Flexible pension 20 % (8 % of the base to the personal account), flexible medical 8 %,
    /// resident premium 400.00 yuan, no window.
    fn default() -> Premiums {
        Premiums {
            flexible_pension_bp: 2000,
            flexible_pension_personal_bp: 800,
            flexible_medical_bp: 800,
            resident_medical_premium: Fen(40_000),
            resident_medical_window: None,
        }
    }
}

impl Premiums {
    /// The largest resident premium accepted: 100 000.00 yuan.
    pub const MAX_RESIDENT_PREMIUM: Fen = Fen(10_000_000);

    /// Checks: each rate at most 10 000 bp, the personal part at most the pension rate, the
    /// premium 0..=100 000.00 yuan, a window that opens on or before it closes.
    pub fn checked(self) -> Result<Premiums, (&'static str, ValueError)> {
        let max = i64::from(YearParameters::MAX_BP);
        for (field, bp) in [
            ("flexible_pension_bp", self.flexible_pension_bp),
            ("flexible_medical_bp", self.flexible_medical_bp),
        ] {
            if bp > YearParameters::MAX_BP {
                return Err((field, ValueError::Range { min: 0, max }));
            }
        }
        if self.flexible_pension_personal_bp > self.flexible_pension_bp {
            let max = i64::from(self.flexible_pension_bp);
            return Err((
                "flexible_pension_personal_bp",
                ValueError::Range { min: 0, max },
            ));
        }
        let premium = self.resident_medical_premium;
        if premium.is_negative() || premium > Premiums::MAX_RESIDENT_PREMIUM {
            let max = Premiums::MAX_RESIDENT_PREMIUM.0;
            return Err((
                "resident_medical_premium_fen",
                ValueError::Range { min: 0, max },
            ));
        }
        if let Some((opens, closes)) = self.resident_medical_window {
            if opens > closes {
                return Err((
                    "resident_medical_closes",
                    ValueError::Rule("must not be before resident_medical_opens"),
                ));
            }
        }
        Ok(self)
    }

    /// Whether the resident premium is being collected on `today`.
    pub fn resident_window_open(&self, today: NaiveDate) -> bool {
        self.resident_medical_window
            .is_some_and(|(opens, closes)| opens <= today && today <= closes)
    }
}

/// The share of the pension contribution base credited to the personal account, by default:
/// 11 % before 2006 (国发〔1997〕26号), 8 % from 2006-01 on (国发〔2005〕38号).
pub fn default_personal_account_bp(year: i32) -> u16 {
    if year < 2006 {
        1100
    } else {
        800
    }
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
            personal_account_bp: default_personal_account_bp(year),
            premiums: Premiums::default(),
        })
    }

    /// The same parameters with these premiums (checked, see [`Premiums::checked`]).
    pub fn with_premiums(mut self, premiums: Premiums) -> Result<Self, (&'static str, ValueError)> {
        self.premiums = premiums.checked()?;
        Ok(self)
    }

    /// What people who pay their own premiums pay this year.
    pub fn premiums(&self) -> &Premiums {
        &self.premiums
    }

    /// The same parameters with another personal-account share (basis points of the pension
    /// base, at most 10 000); `None` keeps the year's default, see
    /// [`default_personal_account_bp`].
    pub fn with_personal_account_bp(mut self, bp: Option<u16>) -> Result<Self, ValueError> {
        let bp = bp.unwrap_or(default_personal_account_bp(self.year));
        if bp > Self::MAX_BP {
            return Err(ValueError::Range {
                min: 0,
                max: Self::MAX_BP.into(),
            });
        }
        self.personal_account_bp = bp;
        Ok(self)
    }

    /// The share of the pension base credited to the personal account this year (bp).
    pub fn personal_account_bp(&self) -> u16 {
        self.personal_account_bp
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

/// The personal-account share of each year: the region's parameters where they say, the default
/// ([`default_personal_account_bp`]) for years without parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountShares(std::collections::BTreeMap<i32, u16>);

impl AccountShares {
    pub fn of(years: &[YearParameters]) -> AccountShares {
        AccountShares(
            years
                .iter()
                .map(|y| (y.year(), y.personal_account_bp()))
                .collect(),
        )
    }

    /// The share for `year` in basis points.
    pub fn for_year(&self, year: i32) -> u32 {
        u32::from(
            self.0
                .get(&year)
                .copied()
                .unwrap_or_else(|| default_personal_account_bp(year)),
        )
    }
}

/// How the personal-account divisor treats a retirement age that is not a whole number of years
/// (no national text settles it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DivisorFraction {
    /// The age in whole years decides (60 years 4 months → the divisor of 60, 139). The default.
    WholeYears,
    /// Linear between the whole years (60 years 4 months → 139 − 4/12 × (139 − 132) = 136.67).
    Interpolated,
}

string_enum!(DivisorFraction, allowed = "whole_years, interpolated", {
    WholeYears => "whole_years",
    Interpolated => "interpolated",
});

/// A region's standing rules (not tied to a year): local choices no national text fixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RegionRules {
    /// The day of the following month by which a month's contributions must be paid; after it the
    /// month is in arrears and the late fee runs. 1..=28; default 15.
    pub contribution_due_day: u8,
    /// The personal-account divisor at age 47: transcriptions of the 国发〔2005〕38号 annex give
    /// 207 or 208. Default 207, as the annex is usually reprinted; 208 would fit the table's
    /// differences.
    pub divisor_age_47: u16,
    /// See [`DivisorFraction`]; default whole years.
    pub divisor_fraction: DivisorFraction,
}

impl Default for RegionRules {
    fn default() -> Self {
        RegionRules {
            contribution_due_day: Self::DEFAULT_DUE_DAY,
            divisor_age_47: Self::DEFAULT_DIVISOR_AGE_47,
            divisor_fraction: DivisorFraction::WholeYears,
        }
    }
}

impl RegionRules {
    pub const DEFAULT_DUE_DAY: u8 = 15;
    pub const DEFAULT_DIVISOR_AGE_47: u16 = 207;

    /// Checks: due day 1..=28 (a day every month has); divisor at 47 is 207 or 208.
    pub fn new(
        contribution_due_day: u8,
        divisor_age_47: u16,
        divisor_fraction: DivisorFraction,
    ) -> Result<RegionRules, ValueError> {
        Ok(RegionRules {
            contribution_due_day: Self::due_day(contribution_due_day)?,
            divisor_age_47: Self::divisor_at_47(divisor_age_47)?,
            divisor_fraction,
        })
    }

    /// A due day: 1..=28.
    pub fn due_day(day: u8) -> Result<u8, ValueError> {
        if (1..=28).contains(&day) {
            Ok(day)
        } else {
            Err(ValueError::Range { min: 1, max: 28 })
        }
    }

    /// The divisor at 47: 207 or 208.
    pub fn divisor_at_47(divisor: u16) -> Result<u16, ValueError> {
        if (207..=208).contains(&divisor) {
            Ok(divisor)
        } else {
            Err(ValueError::Range { min: 207, max: 208 })
        }
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
    fn local_days_begin_at_local_midnight() {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
        let at = |s: &str| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        // Shanghai is UTC+8: the 20th begins at 16:00 UTC on the 19th.
        assert_eq!(
            TimeZoneName::ASIA_SHANGHAI.start_of_day_utc(day),
            at("2026-11-19 16:00")
        );
        assert_eq!(
            TimeZoneName::parse("UTC").unwrap().start_of_day_utc(day),
            at("2026-11-20 00:00")
        );
        // America/Sao_Paulo skipped midnight on 2018-11-04: the day began at 01:00 local (03:00 UTC).
        let skipped = chrono::NaiveDate::from_ymd_opt(2018, 11, 4).unwrap();
        assert_eq!(
            TimeZoneName::parse("America/Sao_Paulo")
                .unwrap()
                .start_of_day_utc(skipped),
            at("2018-11-04 03:00")
        );
    }

    #[test]
    fn region_rules() {
        let rules = RegionRules::default();
        assert_eq!(rules.contribution_due_day, 15);
        assert_eq!(rules.divisor_age_47, 207);
        assert_eq!(rules.divisor_fraction, DivisorFraction::WholeYears);
        assert!(RegionRules::new(28, 208, DivisorFraction::Interpolated).is_ok());
        assert_eq!(
            RegionRules::new(29, 207, DivisorFraction::WholeYears),
            Err(ValueError::Range { min: 1, max: 28 })
        );
        assert_eq!(
            RegionRules::due_day(0),
            Err(ValueError::Range { min: 1, max: 28 })
        );
        assert_eq!(
            RegionRules::divisor_at_47(206),
            Err(ValueError::Range { min: 207, max: 208 })
        );
        assert_eq!(
            DivisorFraction::parse("interpolated"),
            Ok(DivisorFraction::Interpolated)
        );
        assert!(DivisorFraction::parse("nearest").is_err());
    }

    #[test]
    fn personal_account_share_by_year() {
        let y = |year| {
            YearParameters::new(
                region(),
                year,
                Fen(100_000),
                60,
                300,
                5,
                Rates::mainland_default(),
            )
            .unwrap()
        };
        assert_eq!(y(2005).personal_account_bp(), 1100);
        assert_eq!(y(2006).personal_account_bp(), 800);
        assert_eq!(
            y(2006)
                .with_personal_account_bp(Some(1000))
                .unwrap()
                .personal_account_bp(),
            1000
        );
        assert_eq!(
            y(2006)
                .with_personal_account_bp(None)
                .unwrap()
                .personal_account_bp(),
            800
        );
        assert!(y(2006).with_personal_account_bp(Some(10_001)).is_err());
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
