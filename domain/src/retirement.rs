//! The statutory retirement age after the 2024 reform, the minimum contribution period, and the
//! window for flexible (early or deferred) retirement.
//!
//! Source: 全国人民代表大会常务委员会关于实施渐进式延迟法定退休年龄的决定 (adopted 2024-09-13,
//! in force 2025-01-01) and its annex 国务院关于渐进式延迟法定退休年龄的办法 with the four
//! correspondence tables (附件 1–4):
//!
//! * men, original age 60: from births in 1965-01 on, one month later for every four months of
//!   birth, up to 63 (reached by births in 1976-09);
//! * women in managerial and technical posts, original age 55: the same from 1970-01 on, up to 58
//!   (reached by births in 1981-09);
//! * other women workers, original age 50: from births in 1975-01 on, one month later for every two
//!   months of birth, up to 55 (reached by births in 1984-11);
//! * the minimum contribution period stays 15 years until 2029 and rises by six months a year from
//!   2030 until it reaches 20 years in 2039;
//! * with the minimum contribution period reached, a person may retire up to three years before the
//!   new age, never before the original one; and, if the employer agrees, up to three years after it.

use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::identity::Gender;

/// Which of the three retirement schedules applies to a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetirementCategory {
    /// Men: originally 60, now 60 → 63.
    Male,
    /// Women in managerial or technical posts (女干部): originally 55, now 55 → 58.
    FemaleCadre,
    /// Other women workers (女工人): originally 50, now 50 → 55.
    FemaleWorker,
}

string_enum!(RetirementCategory, allowed = "male, female_cadre, female_worker", {
    Male => "male",
    FemaleCadre => "female_cadre",
    FemaleWorker => "female_worker",
});

/// The reform schedule of one category.
struct Schedule {
    /// The original statutory age in years.
    original_years: u32,
    /// The first birth month (year, month) whose age is delayed.
    first_birth: (i32, u32),
    /// Months of birth per month of delay (4 or 2).
    birth_months_per_step: u32,
    /// The full delay in months (36 or 60).
    max_delay_months: u32,
}

impl RetirementCategory {
    /// The category for a person: men are [`RetirementCategory::Male`]; women are
    /// [`RetirementCategory::FemaleCadre`] when they hold a managerial or technical post and
    /// [`RetirementCategory::FemaleWorker`] otherwise. `female_managerial` is ignored for men.
    pub fn for_person(gender: Gender, female_managerial: bool) -> Self {
        match (gender, female_managerial) {
            (Gender::Male, _) => RetirementCategory::Male,
            (Gender::Female, true) => RetirementCategory::FemaleCadre,
            (Gender::Female, false) => RetirementCategory::FemaleWorker,
        }
    }

    /// The statutory age before the reform: 60, 55 or 50.
    pub fn original_age_years(self) -> u32 {
        self.schedule().original_years
    }

    /// The statutory age once the reform is fully phased in: 63, 58 or 55.
    pub fn target_age_years(self) -> u32 {
        let s = self.schedule();
        s.original_years + s.max_delay_months / 12
    }

    fn schedule(self) -> Schedule {
        match self {
            RetirementCategory::Male => Schedule {
                original_years: 60,
                first_birth: (1965, 1),
                birth_months_per_step: 4,
                max_delay_months: 36,
            },
            RetirementCategory::FemaleCadre => Schedule {
                original_years: 55,
                first_birth: (1970, 1),
                birth_months_per_step: 4,
                max_delay_months: 36,
            },
            RetirementCategory::FemaleWorker => Schedule {
                original_years: 50,
                first_birth: (1975, 1),
                birth_months_per_step: 2,
                max_delay_months: 60,
            },
        }
    }
}

/// A statutory retirement age and the date a person reaches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RetirementAge {
    /// Whole years of the age.
    pub years: u32,
    /// Further months of the age, 0..=11.
    pub months: u32,
    /// The birth date plus the age: the same day of the month, clamped to the month's last day
    /// (born 1965-01-31, aged 60 years 1 month on 2025-02-28). Its month is the retirement month of
    /// the official tables.
    pub date: NaiveDate,
}

impl RetirementAge {
    /// The age in months (`years * 12 + months`).
    pub fn total_months(&self) -> u32 {
        self.years * 12 + self.months
    }
}

/// How many months the reform delays retirement for someone born on `birth`:
/// `min(floor(k / step) + 1, cap)` where `k` is the number of months from the first delayed birth
/// month to the birth month (0 for the first month), `step` is 4 (men, women cadres) or 2 (women
/// workers) and `cap` is 36 or 60; 0 for anyone born before the first delayed month.
pub fn delay_months(birth: NaiveDate, category: RetirementCategory) -> u32 {
    let s = category.schedule();
    let (first_year, first_month) = s.first_birth;
    let since = (i64::from(birth.year()) - i64::from(first_year)) * 12 + i64::from(birth.month())
        - i64::from(first_month);
    if since < 0 {
        return 0;
    }
    let steps = since / i64::from(s.birth_months_per_step) + 1;
    let cap = i64::from(s.max_delay_months);
    // `steps.min(cap)` is in 1..=60.
    u32::try_from(steps.min(cap)).unwrap_or(s.max_delay_months)
}

/// The statutory retirement age after the reform, and the date it is reached.
///
/// Worked examples (k = months of birth since the first delayed month, delay = floor(k/step) + 1):
/// * man born 1964-12: before 1965-01, no delay → 60y0m, 2024-12;
/// * man born 1965-01: k = 0, delay = 0/4 + 1 = 1 → 60y1m, 2025-02;
/// * man born 1965-04: k = 3, delay = 3/4 + 1 = 1 → 60y1m, 2025-05;
/// * man born 1965-05: k = 4, delay = 4/4 + 1 = 2 → 60y2m, 2025-07;
/// * man born 1966-09: k = 12 + 8 = 20, delay = 20/4 + 1 = 6 → 60y6m, 2027-03;
/// * man born 1970-06: k = 5 × 12 + 5 = 65, delay = 65/4 + 1 = 17 → 61y5m, 2031-11;
/// * man born 1976-08: k = 11 × 12 + 7 = 139, delay = 139/4 + 1 = 35 → 62y11m, 2039-07;
/// * man born 1976-09: k = 140, delay = 140/4 + 1 = 36 → 63y0m, 2039-09 (the cap is reached);
/// * man born 1976-12: k = 143, delay = 143/4 + 1 = 36 → 63y0m, 2039-12;
/// * woman cadre born 1970-01: k = 0, delay 1 → 55y1m, 2025-02;
/// * woman cadre born 1981-09: k = 140, delay 36 → 58y0m, 2039-09;
/// * woman worker born 1975-01: k = 0, delay = 0/2 + 1 = 1 → 50y1m, 2025-02;
/// * woman worker born 1975-03: k = 2, delay = 2/2 + 1 = 2 → 50y2m, 2025-05;
/// * woman worker born 1984-10: k = 9 × 12 + 9 = 117, delay = 117/2 + 1 = 59 → 54y11m, 2039-09;
/// * woman worker born 1984-11: k = 118, delay = 118/2 + 1 = 60 → 55y0m, 2039-11 (cap);
/// * woman worker born 1984-12: k = 119, delay = 119/2 + 1 = 60 → 55y0m, 2039-12.
///
/// The date saturates at `NaiveDate::MAX` for birth dates within 63 years of chrono's last date.
pub fn statutory_retirement(birth: NaiveDate, category: RetirementCategory) -> RetirementAge {
    let total = category.original_age_years() * 12 + delay_months(birth, category);
    RetirementAge {
        years: total / 12,
        months: total % 12,
        date: add_months(birth, total),
    }
}

/// The earliest and latest date a person may retire (弹性退休): up to 36 months before the statutory
/// age but never before the original age, and up to 36 months after it.
///
/// Early retirement also requires the minimum contribution period (see [`eligibility`]) and
/// deferral the employer's agreement; neither is checked here.
///
/// Example: a man born 1970-06-15 has a statutory age of 61y5m = 737 months. 737 − 36 = 701 is
/// below the original 720 months, so the earliest is 60y0m (2030-06-15); the latest is
/// 737 + 36 = 773 months = 64y5m (2034-11-15).
pub fn allowed_retirement_window(
    birth: NaiveDate,
    category: RetirementCategory,
) -> (NaiveDate, NaiveDate) {
    const FLEXIBLE_MONTHS: u32 = 36;
    let statutory = category.original_age_years() * 12 + delay_months(birth, category);
    let original = category.original_age_years() * 12;
    let earliest = statutory.saturating_sub(FLEXIBLE_MONTHS).max(original);
    let latest = statutory + FLEXIBLE_MONTHS;
    (add_months(birth, earliest), add_months(birth, latest))
}

/// The minimum contribution period, in months, for someone retiring in `retirement_year`:
/// 180 (15 years) up to 2029, then six months more each year: 2030 → 186, 2031 → 192, …,
/// 2039 → 240 (20 years), and 240 from then on.
pub fn minimum_contribution_months(retirement_year: i32) -> u32 {
    match retirement_year {
        ..=2029 => 180,
        // 2030..=2039: 180 + 6 × (year − 2029), i.e. 186..=240.
        2030..=2039 => 180 + 6 * retirement_year.abs_diff(2029),
        _ => 240,
    }
}

/// Whether a contribution record is long enough to draw a monthly pension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Eligibility {
    pub eligible: bool,
    /// The minimum contribution period for the retirement year, in months.
    pub required_months: u32,
    /// How many months are still missing (0 when eligible). A person this short at retirement may
    /// keep contributing (延长缴费) or pay the rest at once, under local rules.
    pub missing_months: u32,
}

/// Whether `contribution_months` meet the minimum for someone retiring on `retirement_date`
/// (the minimum of the retirement date's year, [`minimum_contribution_months`]).
pub fn eligibility(contribution_months: u32, retirement_date: NaiveDate) -> Eligibility {
    let required_months = minimum_contribution_months(retirement_date.year());
    let missing_months = required_months.saturating_sub(contribution_months);
    Eligibility {
        eligible: missing_months == 0,
        required_months,
        missing_months,
    }
}

/// The age in whole years on `on` (0 if `on` is before `birth`): the number of birthdays reached,
/// a birthday on 29 February counting as reached on 28 February in other years.
pub fn age_in_whole_years(birth: NaiveDate, on: NaiveDate) -> u32 {
    let mut years = on.year() - birth.year();
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        years -= 1;
        // Born 29 February: in a common year the birthday falls on 28 February.
        let leap_birthday = birth.month() == 2 && birth.day() == 29;
        if leap_birthday && on.month() == 2 && on.day() == 28 && !is_leap(on.year()) {
            years += 1;
        }
    }
    u32::try_from(years).unwrap_or(0)
}

fn is_leap(year: i32) -> bool {
    NaiveDate::from_ymd_opt(year, 2, 29).is_some()
}

/// `date` plus `months`, the day clamped to the end of the month; saturates at `NaiveDate::MAX`.
fn add_months(date: NaiveDate, months: u32) -> NaiveDate {
    date.checked_add_months(Months::new(months))
        .unwrap_or(NaiveDate::MAX)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::error::ValueError;
    use RetirementCategory::{FemaleCadre, FemaleWorker, Male};

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    /// (years, months, retirement year, retirement month) for someone born on the 15th.
    fn age(
        birth_year: i32,
        birth_month: u32,
        category: RetirementCategory,
    ) -> (u32, u32, i32, u32) {
        let r = statutory_retirement(d(birth_year, birth_month, 15), category);
        assert_eq!(r.date.day(), 15);
        (r.years, r.months, r.date.year(), r.date.month())
    }

    #[test]
    fn men_follow_the_official_table() {
        // See the worked examples on `statutory_retirement`.
        assert_eq!(age(1964, 12, Male), (60, 0, 2024, 12));
        assert_eq!(age(1950, 6, Male), (60, 0, 2010, 6));
        assert_eq!(age(1965, 1, Male), (60, 1, 2025, 2));
        assert_eq!(age(1965, 4, Male), (60, 1, 2025, 5));
        assert_eq!(age(1965, 5, Male), (60, 2, 2025, 7));
        assert_eq!(age(1965, 8, Male), (60, 2, 2025, 10));
        assert_eq!(age(1965, 9, Male), (60, 3, 2025, 12));
        assert_eq!(age(1966, 9, Male), (60, 6, 2027, 3));
        assert_eq!(age(1970, 6, Male), (61, 5, 2031, 11));
        assert_eq!(age(1976, 8, Male), (62, 11, 2039, 7));
        assert_eq!(age(1976, 9, Male), (63, 0, 2039, 9));
        assert_eq!(age(1976, 12, Male), (63, 0, 2039, 12));
        assert_eq!(age(1977, 1, Male), (63, 0, 2040, 1));
        assert_eq!(age(2000, 7, Male), (63, 0, 2063, 7));
    }

    #[test]
    fn women_cadres_follow_the_official_table() {
        assert_eq!(age(1969, 12, FemaleCadre), (55, 0, 2024, 12));
        assert_eq!(age(1970, 1, FemaleCadre), (55, 1, 2025, 2));
        assert_eq!(age(1970, 4, FemaleCadre), (55, 1, 2025, 5));
        assert_eq!(age(1970, 5, FemaleCadre), (55, 2, 2025, 7));
        assert_eq!(age(1981, 8, FemaleCadre), (57, 11, 2039, 7));
        assert_eq!(age(1981, 9, FemaleCadre), (58, 0, 2039, 9));
        assert_eq!(age(1990, 1, FemaleCadre), (58, 0, 2048, 1));
    }

    #[test]
    fn women_workers_follow_the_official_table() {
        assert_eq!(age(1974, 12, FemaleWorker), (50, 0, 2024, 12));
        assert_eq!(age(1975, 1, FemaleWorker), (50, 1, 2025, 2));
        assert_eq!(age(1975, 2, FemaleWorker), (50, 1, 2025, 3));
        assert_eq!(age(1975, 3, FemaleWorker), (50, 2, 2025, 5));
        // k = 11, delay = 11/2 + 1 = 6.
        assert_eq!(age(1975, 12, FemaleWorker), (50, 6, 2026, 6));
        assert_eq!(age(1984, 10, FemaleWorker), (54, 11, 2039, 9));
        assert_eq!(age(1984, 11, FemaleWorker), (55, 0, 2039, 11));
        assert_eq!(age(1984, 12, FemaleWorker), (55, 0, 2039, 12));
        assert_eq!(age(1995, 5, FemaleWorker), (55, 0, 2050, 5));
    }

    #[test]
    fn the_day_is_clamped_to_the_month() {
        // 1965-01-31 + 60y1m: February 2025 has 28 days.
        let r = statutory_retirement(d(1965, 1, 31), Male);
        assert_eq!(r.date, d(2025, 2, 28));
        // 1964-02-29 + 60y = 2024-02-29 (a leap year); 1963-02-28 + 60y = 2023-02-28.
        assert_eq!(
            statutory_retirement(d(1964, 2, 29), Male).date,
            d(2024, 2, 29)
        );
        // A woman worker born 1972-02-29 (before 1975: 50y0m) → 2022 has no 29 February.
        assert_eq!(
            statutory_retirement(d(1972, 2, 29), FemaleWorker).date,
            d(2022, 2, 28)
        );
        assert_eq!(
            statutory_retirement(NaiveDate::MAX, Male).date,
            NaiveDate::MAX
        );
    }

    #[test]
    fn delays_and_categories() {
        assert_eq!(delay_months(d(1964, 12, 31), Male), 0);
        assert_eq!(delay_months(d(1965, 1, 1), Male), 1);
        assert_eq!(delay_months(d(3000, 1, 1), Male), 36);
        assert_eq!(delay_months(d(3000, 1, 1), FemaleWorker), 60);
        assert_eq!(delay_months(NaiveDate::MIN, FemaleCadre), 0);
        assert_eq!(delay_months(NaiveDate::MAX, FemaleCadre), 36);
        assert_eq!(
            RetirementCategory::for_person(Gender::Male, true),
            RetirementCategory::Male
        );
        assert_eq!(
            RetirementCategory::for_person(Gender::Female, true),
            FemaleCadre
        );
        assert_eq!(
            RetirementCategory::for_person(Gender::Female, false),
            FemaleWorker
        );
        let ages: Vec<_> = RetirementCategory::ALL
            .iter()
            .map(|c| (c.original_age_years(), c.target_age_years()))
            .collect();
        assert_eq!(ages, [(60, 63), (55, 58), (50, 55)]);
        let r = statutory_retirement(d(1970, 6, 15), Male);
        assert_eq!(r.total_months(), 737);
    }

    #[test]
    fn names_round_trip_and_match_serde() {
        for c in RetirementCategory::ALL {
            assert_eq!(RetirementCategory::parse(c.as_str()), Ok(c));
            assert_eq!(
                serde_json::to_string(&c).unwrap(),
                format!("\"{}\"", c.as_str())
            );
        }
        assert_eq!(
            RetirementCategory::parse("female"),
            Err(ValueError::OneOf {
                allowed: "male, female_cadre, female_worker"
            })
        );
    }

    #[test]
    fn minimum_contribution_schedule() {
        assert_eq!(minimum_contribution_months(1990), 180);
        assert_eq!(minimum_contribution_months(2025), 180);
        assert_eq!(minimum_contribution_months(2029), 180);
        assert_eq!(minimum_contribution_months(2030), 186);
        assert_eq!(minimum_contribution_months(2031), 192);
        assert_eq!(minimum_contribution_months(2035), 216);
        assert_eq!(minimum_contribution_months(2038), 234);
        assert_eq!(minimum_contribution_months(2039), 240);
        assert_eq!(minimum_contribution_months(2040), 240);
        assert_eq!(minimum_contribution_months(i32::MAX), 240);
        assert_eq!(minimum_contribution_months(i32::MIN), 180);
    }

    #[test]
    fn eligibility_against_the_minimum() {
        // 179 months, retiring in 2028: one month short of 180.
        assert_eq!(
            eligibility(179, d(2028, 5, 1)),
            Eligibility {
                eligible: false,
                required_months: 180,
                missing_months: 1
            }
        );
        assert_eq!(
            eligibility(180, d(2029, 12, 31)),
            Eligibility {
                eligible: true,
                required_months: 180,
                missing_months: 0
            }
        );
        // 180 months are no longer enough in 2030.
        assert_eq!(
            eligibility(180, d(2030, 1, 1)),
            Eligibility {
                eligible: false,
                required_months: 186,
                missing_months: 6
            }
        );
        assert!(eligibility(400, d(2045, 1, 1)).eligible);
        assert_eq!(eligibility(0, d(2045, 1, 1)).missing_months, 240);
    }

    #[test]
    fn flexible_retirement_windows() {
        // Worked on `allowed_retirement_window`.
        assert_eq!(
            allowed_retirement_window(d(1970, 6, 15), Male),
            (d(2030, 6, 15), d(2034, 11, 15))
        );
        // Fully phased in: 63y = 756 months; 720 (60y) .. 792 (66y).
        assert_eq!(
            allowed_retirement_window(d(1980, 3, 10), Male),
            (d(2040, 3, 10), d(2046, 3, 10))
        );
        // Woman worker, fully phased in: 55y = 660; earliest 624 (52y), latest 696 (58y).
        assert_eq!(
            allowed_retirement_window(d(1990, 1, 1), FemaleWorker),
            (d(2042, 1, 1), d(2048, 1, 1))
        );
        // Woman worker born 1975-01: 601 months; earliest the original 600 (50y), latest 637
        // (53y1m).
        assert_eq!(
            allowed_retirement_window(d(1975, 1, 20), FemaleWorker),
            (d(2025, 1, 20), d(2028, 2, 20))
        );
        // Woman cadre born 1985: 58y = 696; earliest 660 (55y), latest 732 (61y).
        assert_eq!(
            allowed_retirement_window(d(1985, 7, 31), FemaleCadre),
            (d(2040, 7, 31), d(2046, 7, 31))
        );
        // Born before the reform: 60y .. 63y.
        assert_eq!(
            allowed_retirement_window(d(1960, 2, 29), Male),
            (d(2020, 2, 29), d(2023, 2, 28))
        );
    }

    #[test]
    fn whole_years() {
        assert_eq!(age_in_whole_years(d(1970, 6, 15), d(2031, 11, 15)), 61);
        assert_eq!(age_in_whole_years(d(1970, 6, 15), d(2031, 6, 14)), 60);
        assert_eq!(age_in_whole_years(d(1970, 6, 15), d(2031, 6, 15)), 61);
        assert_eq!(age_in_whole_years(d(1970, 6, 15), d(1960, 1, 1)), 0);
        assert_eq!(age_in_whole_years(d(1964, 2, 29), d(2023, 2, 28)), 59);
        assert_eq!(age_in_whole_years(d(1964, 2, 29), d(2024, 2, 28)), 59);
        assert_eq!(age_in_whole_years(d(1964, 2, 29), d(2024, 2, 29)), 60);
        // Common year: the birthday is 28 February.
        assert_eq!(age_in_whole_years(d(1964, 2, 29), d(2025, 2, 28)), 61);
        assert_eq!(age_in_whole_years(d(1964, 2, 29), d(2025, 2, 27)), 60);
    }
}
