//! Social assistance (社会救助): from a household's facts and the region's thresholds of the
//! year, which programmes the household qualifies for, criterion by criterion, and what each
//! would pay.
//!
//! * 最低生活保障 `minimum_living`: income per person below the local standard, assets per person
//!   within the limit; pays the gap between the standard for every member and the income.
//! * 特困人员供养 `extreme_poverty`: the applicant cannot work (60 or older, under 16, or
//!   disabled), no other member earns (no one able to support them), income per person below
//!   the standard, assets within the limit; pays the region's support amount.
//! * 医疗救助 `medical_assistance`: income per person at most the low-income line (the standard ×
//!   a multiple), and medical costs of the last 12 months at least the region's threshold.
//! * 临时救助 `temporary_assistance`: income per person at most the low-income line, and costs of
//!   the last 12 months at least the (lower) temporary threshold; paid once.

use crate::money::Fen;
use crate::ValueError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Programme {
    MinimumLiving,
    MedicalAssistance,
    TemporaryAssistance,
    ExtremePoverty,
}

impl Programme {
    pub const ALL: [Programme; 4] = [
        Programme::MinimumLiving,
        Programme::MedicalAssistance,
        Programme::TemporaryAssistance,
        Programme::ExtremePoverty,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Programme::MinimumLiving => "minimum_living",
            Programme::MedicalAssistance => "medical_assistance",
            Programme::TemporaryAssistance => "temporary_assistance",
            Programme::ExtremePoverty => "extreme_poverty",
        }
    }

    pub fn parse(s: &str) -> Result<Programme, ValueError> {
        Programme::ALL
            .into_iter()
            .find(|p| p.as_str() == s.trim())
            .ok_or(ValueError::OneOf {
                allowed:
                    "minimum_living, medical_assistance, temporary_assistance, extreme_poverty",
            })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    Own,
    Spouse,
    Child,
    Parent,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    pub relation: Relation,
    pub age: u8,
    pub monthly_income: Fen,
    pub disabled: bool,
    pub serious_illness: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Household {
    pub members: Vec<Member>,
    pub assets: Fen,
    pub medical_costs_12m: Fen,
}

impl Household {
    /// Checks the shape: 1–20 members, exactly one `self`, nothing negative.
    pub fn new(
        members: Vec<Member>,
        assets: Fen,
        medical_costs_12m: Fen,
    ) -> Result<Household, ValueError> {
        if members.is_empty() || members.len() > 20 {
            return Err(ValueError::Range { min: 1, max: 20 });
        }
        if members
            .iter()
            .filter(|m| m.relation == Relation::Own)
            .count()
            != 1
        {
            return Err(ValueError::Rule("exactly one member must be `self`"));
        }
        if members.iter().any(|m| m.monthly_income.0 < 0) || assets.0 < 0 || medical_costs_12m.0 < 0
        {
            return Err(ValueError::Rule("amounts must not be negative"));
        }
        Ok(Household {
            members,
            assets,
            medical_costs_12m,
        })
    }

    fn size(&self) -> i64 {
        i64::try_from(self.members.len()).unwrap_or(i64::MAX)
    }

    pub fn total_income(&self) -> Fen {
        Fen(self.members.iter().map(|m| m.monthly_income.0).sum())
    }

    /// Income per person, rounded down to the fen.
    pub fn income_per_person(&self) -> Fen {
        Fen(self.total_income().0 / self.size())
    }

    /// Assets per person, rounded down to the fen.
    pub fn assets_per_person(&self) -> Fen {
        Fen(self.assets.0 / self.size())
    }
}

/// A region's thresholds for a year (admin parameters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// 低保标准: per person and month.
    pub minimum_living_monthly: Fen,
    /// The low-income line as a multiple of the standard, in basis points (15000 = 1.5 ×).
    pub low_income_bp: u32,
    pub assets_per_person_limit: Fen,
    pub medical_costs_threshold: Fen,
    pub temporary_costs_threshold: Fen,
    pub extreme_poverty_monthly: Fen,
    pub medical_assistance_monthly: Fen,
    pub temporary_assistance_once: Fen,
}

impl Thresholds {
    pub fn low_income_line(&self) -> Fen {
        Fen(self.minimum_living_monthly.0 * i64::from(self.low_income_bp) / 10_000)
    }
}

/// How the actual value must compare with the required one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// actual < required
    Below,
    /// actual ≤ required
    AtMost,
    /// actual ≥ required
    AtLeast,
}

impl Comparison {
    pub fn as_str(self) -> &'static str {
        match self {
            Comparison::Below => "below",
            Comparison::AtMost => "at_most",
            Comparison::AtLeast => "at_least",
        }
    }

    fn holds(self, actual: i64, required: i64) -> bool {
        match self {
            Comparison::Below => actual < required,
            Comparison::AtMost => actual <= required,
            Comparison::AtLeast => actual >= required,
        }
    }
}

/// One criterion, with the figures it was judged on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Criterion {
    /// `income_per_person_fen`, `assets_per_person_fen`, `medical_costs_12m_fen`,
    /// `applicant_unable_to_work` (1 = yes), `other_members_with_income`.
    pub name: &'static str,
    pub comparison: Comparison,
    pub required: i64,
    pub actual: i64,
    pub met: bool,
}

fn criterion(name: &'static str, comparison: Comparison, required: i64, actual: i64) -> Criterion {
    Criterion {
        name,
        comparison,
        required,
        actual,
        met: comparison.holds(actual, required),
    }
}

/// A programme's answer for a household.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    pub programme: Programme,
    pub eligible: bool,
    pub criteria: Vec<Criterion>,
    /// What it would pay a month (or once, when `months` is 1).
    pub monthly_amount: Fen,
    /// `Some(1)`: paid once; `None`: until reviewed.
    pub months: Option<u32>,
}

/// Judges one programme.
pub fn assess(p: Programme, h: &Household, t: &Thresholds) -> Assessment {
    let income = criterion(
        "income_per_person_fen",
        Comparison::Below,
        t.minimum_living_monthly.0,
        h.income_per_person().0,
    );
    let low_income = criterion(
        "income_per_person_fen",
        Comparison::AtMost,
        t.low_income_line().0,
        h.income_per_person().0,
    );
    let assets = criterion(
        "assets_per_person_fen",
        Comparison::AtMost,
        t.assets_per_person_limit.0,
        h.assets_per_person().0,
    );
    let (criteria, amount, months) = match p {
        Programme::MinimumLiving => {
            let gap = (t.minimum_living_monthly.0 * h.size() - h.total_income().0).max(0);
            (vec![income, assets], Fen(gap), None)
        }
        Programme::ExtremePoverty => {
            let unable = h
                .members
                .iter()
                .find(|m| m.relation == Relation::Own)
                .is_some_and(|m| m.age >= 60 || m.age < 16 || m.disabled);
            let earners = h
                .members
                .iter()
                .filter(|m| m.relation != Relation::Own && m.monthly_income.0 > 0)
                .count();
            (
                vec![
                    criterion(
                        "applicant_unable_to_work",
                        Comparison::AtLeast,
                        1,
                        i64::from(unable),
                    ),
                    criterion(
                        "other_members_with_income",
                        Comparison::AtMost,
                        0,
                        i64::try_from(earners).unwrap_or(i64::MAX),
                    ),
                    income,
                    assets,
                ],
                t.extreme_poverty_monthly,
                None,
            )
        }
        Programme::MedicalAssistance => (
            vec![
                low_income,
                criterion(
                    "medical_costs_12m_fen",
                    Comparison::AtLeast,
                    t.medical_costs_threshold.0,
                    h.medical_costs_12m.0,
                ),
            ],
            t.medical_assistance_monthly,
            None,
        ),
        Programme::TemporaryAssistance => (
            vec![
                low_income,
                criterion(
                    "medical_costs_12m_fen",
                    Comparison::AtLeast,
                    t.temporary_costs_threshold.0,
                    h.medical_costs_12m.0,
                ),
            ],
            t.temporary_assistance_once,
            Some(1),
        ),
    };
    Assessment {
        programme: p,
        eligible: criteria.iter().all(|c| c.met),
        criteria,
        monthly_amount: amount,
        months,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Hand-set thresholds: standard 1,000.00 yuan, low-income line 1.5 × = 1,500.00, assets
    /// 30,000.00 per person, medical costs 20,000.00, temporary 5,000.00.
    fn t() -> Thresholds {
        Thresholds {
            minimum_living_monthly: Fen(100_000),
            low_income_bp: 15_000,
            assets_per_person_limit: Fen(3_000_000),
            medical_costs_threshold: Fen(2_000_000),
            temporary_costs_threshold: Fen(500_000),
            extreme_poverty_monthly: Fen(130_000),
            medical_assistance_monthly: Fen(50_000),
            temporary_assistance_once: Fen(300_000),
        }
    }

    fn member(relation: Relation, age: u8, income: i64) -> Member {
        Member {
            relation,
            age,
            monthly_income: Fen(income),
            disabled: false,
            serious_illness: false,
        }
    }

    fn two(income_each: i64, assets: i64, costs: i64) -> Household {
        Household::new(
            vec![
                member(Relation::Own, 45, income_each),
                member(Relation::Child, 12, income_each),
            ],
            Fen(assets),
            Fen(costs),
        )
        .unwrap()
    }

    #[test]
    fn minimum_living_at_the_edges_of_income_and_assets() {
        // Income per person one fen below the standard: eligible; the gap for two people.
        let a = assess(Programme::MinimumLiving, &two(99_999, 0, 0), &t());
        assert!(a.eligible);
        assert_eq!(a.monthly_amount, Fen(2));
        // Exactly the standard: not below it.
        let a = assess(Programme::MinimumLiving, &two(100_000, 0, 0), &t());
        assert!(!a.eligible);
        assert_eq!(a.criteria[0].name, "income_per_person_fen");
        assert_eq!(
            (a.criteria[0].required, a.criteria[0].actual),
            (100_000, 100_000)
        );
        // Assets exactly at the limit per person pass; one fen per person more does not.
        assert!(assess(Programme::MinimumLiving, &two(0, 6_000_000, 0), &t()).eligible);
        let a = assess(Programme::MinimumLiving, &two(0, 6_000_002, 0), &t());
        assert!(!a.eligible);
        assert!(a.criteria[0].met && !a.criteria[1].met);
        assert_eq!(a.monthly_amount, Fen(200_000));
    }

    #[test]
    fn income_per_person_is_rounded_down() {
        // 3 members, 2,999.99 yuan in all: 999.99 (rounded down from 999.996…).
        let h = Household::new(
            vec![
                member(Relation::Own, 40, 299_999),
                member(Relation::Spouse, 40, 0),
                member(Relation::Child, 5, 0),
            ],
            Fen(0),
            Fen(0),
        )
        .unwrap();
        assert_eq!(h.income_per_person(), Fen(99_999));
        assert!(assess(Programme::MinimumLiving, &h, &t()).eligible);
    }

    #[test]
    fn medical_and_temporary_assistance_at_their_thresholds() {
        // The low-income line (1,500.00) is inclusive.
        let at_line = two(150_000, 0, 2_000_000);
        assert!(assess(Programme::MedicalAssistance, &at_line, &t()).eligible);
        assert!(
            !assess(
                Programme::MedicalAssistance,
                &two(150_001, 0, 2_000_000),
                &t()
            )
            .eligible
        );
        // Costs one fen short of the threshold.
        let a = assess(Programme::MedicalAssistance, &two(0, 0, 1_999_999), &t());
        assert!(!a.eligible);
        assert!(!a.criteria[1].met);
        let a = assess(Programme::TemporaryAssistance, &two(0, 0, 500_000), &t());
        assert!(a.eligible);
        assert_eq!((a.monthly_amount, a.months), (Fen(300_000), Some(1)));
        assert!(!assess(Programme::TemporaryAssistance, &two(0, 0, 499_999), &t()).eligible);
    }

    #[test]
    fn extreme_poverty_needs_an_applicant_who_cannot_work_and_no_earner() {
        let alone = |age: u8, disabled: bool| {
            Household::new(
                vec![Member {
                    disabled,
                    ..member(Relation::Own, age, 0)
                }],
                Fen(0),
                Fen(0),
            )
            .unwrap()
        };
        assert!(assess(Programme::ExtremePoverty, &alone(60, false), &t()).eligible);
        assert!(!assess(Programme::ExtremePoverty, &alone(59, false), &t()).eligible);
        assert!(assess(Programme::ExtremePoverty, &alone(59, true), &t()).eligible);
        assert!(assess(Programme::ExtremePoverty, &alone(15, false), &t()).eligible);
        assert!(!assess(Programme::ExtremePoverty, &alone(16, false), &t()).eligible);
        // A child who earns can support them.
        let h = Household::new(
            vec![member(Relation::Own, 70, 0), member(Relation::Child, 40, 1)],
            Fen(0),
            Fen(0),
        )
        .unwrap();
        let a = assess(Programme::ExtremePoverty, &h, &t());
        assert!(!a.eligible);
        assert_eq!(a.criteria[1].name, "other_members_with_income");
        assert_eq!(a.criteria[1].actual, 1);
        assert_eq!(a.monthly_amount, Fen(130_000));
    }

    #[test]
    fn a_household_has_one_self_and_no_negative_amounts() {
        assert!(Household::new(vec![], Fen(0), Fen(0)).is_err());
        assert!(Household::new(vec![member(Relation::Child, 3, 0)], Fen(0), Fen(0)).is_err());
        assert!(Household::new(
            vec![member(Relation::Own, 3, 0), member(Relation::Own, 3, 0)],
            Fen(0),
            Fen(0)
        )
        .is_err());
        assert!(Household::new(vec![member(Relation::Own, 30, -1)], Fen(0), Fen(0)).is_err());
        assert!(Household::new(vec![member(Relation::Own, 30, 0)], Fen(-1), Fen(0)).is_err());
    }
}
