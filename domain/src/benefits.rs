//! Benefit payments' kinds, and unemployment benefit entitlement.

use std::collections::BTreeSet;

use crate::period::Period;
use crate::ValueError;

/// The longest period, in months, for which unemployment benefit (失业保险金) can be drawn, by the
/// cumulative contribution period of the person and their employer (失业保险条例 art. 17):
///
/// * under 1 year: 0 (art. 14 requires at least one full year);
/// * 1 year to under 5 years: 12 months;
/// * 5 years to under 10 years: 18 months;
/// * 10 years or more: 24 months.
///
/// Re-employment after drawing benefit is handled by [`unemployment_entitlement`]; the benefit's
/// amount (set locally, between the subsistence allowance and the minimum wage) is outside this
/// module.
pub fn unemployment_months(contribution_months: u32) -> u32 {
    match contribution_months {
        0..=11 => 0,
        12..=59 => 12,
        60..=119 => 18,
        _ => 24,
    }
}

/// The longest entitlement, whatever is carried over.
pub const MAX_UNEMPLOYMENT_MONTHS: u32 = 24;

/// Where a person's unemployment benefit stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnemploymentEntitlement {
    /// Contribution months that count now: since the last re-employment after benefit was drawn.
    pub contribution_months: u32,
    /// Months of benefit the current entitlement grants, carried-over months included.
    pub months_granted: u32,
    /// Months of it drawn already.
    pub months_paid: u32,
    /// `months_granted − months_paid`.
    pub months_left: u32,
}

/// The current unemployment entitlement from the months paid into unemployment insurance and the
/// months benefit was paid for (each month counted once, in any order).
///
/// 失业保险条例 art. 17 ¶2 and the Social Insurance Law art. 46: someone who drew benefit and
/// then works again starts counting contribution time afresh; when unemployed again, the new
/// entitlement (by [`unemployment_months`] of the new time) is added to the months left unused
/// from before, at most [`MAX_UNEMPLOYMENT_MONTHS`] in all. So the time restarts at the first
/// month paid after a month of benefit; the months left then carry over. A month with both a
/// benefit and a contribution counts as benefit first, then the new job.
pub fn unemployment_entitlement(
    contribution_months: &[Period],
    benefit_months: &[Period],
) -> UnemploymentEntitlement {
    let paid: BTreeSet<Period> = contribution_months.iter().copied().collect();
    let drawn: BTreeSet<Period> = benefit_months.iter().copied().collect();
    let months: BTreeSet<Period> = paid.union(&drawn).copied().collect();
    let (mut counted, mut carried, mut used) = (0u32, 0u32, 0u32);
    let granted = |counted: u32, carried: u32| {
        (unemployment_months(counted) + carried).min(MAX_UNEMPLOYMENT_MONTHS)
    };
    for month in months {
        if drawn.contains(&month) {
            used += 1;
        }
        if paid.contains(&month) {
            if used > 0 {
                // Re-employed after drawing benefit: what is left carries over, time restarts.
                carried = granted(counted, carried).saturating_sub(used);
                counted = 0;
                used = 0;
            }
            counted += 1;
        }
    }
    let months_granted = granted(counted, carried);
    UnemploymentEntitlement {
        contribution_months: counted,
        months_granted,
        months_paid: used,
        months_left: months_granted.saturating_sub(used),
    }
}

/// Which benefit a payment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BenefitKind {
    Pension,
    Unemployment,
}

impl BenefitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BenefitKind::Pension => "pension",
            BenefitKind::Unemployment => "unemployment",
        }
    }

    pub fn parse(s: &str) -> Result<BenefitKind, ValueError> {
        match s.trim() {
            "pension" => Ok(BenefitKind::Pension),
            "unemployment" => Ok(BenefitKind::Unemployment),
            _ => Err(ValueError::OneOf {
                allowed: "pension, unemployment",
            }),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn boundaries() {
        let cases = [
            (0, 0),
            (11, 0),
            (12, 12),
            (59, 12),
            (60, 18),
            (119, 18),
            (120, 24),
            (480, 24),
            (u32::MAX, 24),
        ];
        for (months, entitlement) in cases {
            assert_eq!(unemployment_months(months), entitlement, "{months} months");
        }
    }

    fn months(from: (i32, u32), n: i64) -> Vec<Period> {
        let first = Period::new(from.0, from.1).unwrap();
        (0..n).map(|k| first.add_months(k).unwrap()).collect()
    }

    #[test]
    fn re_employment_restarts_the_time_and_carries_what_is_left() {
        // 10 years paid (2010..=2019) → 24 months; all 24 drawn (2020..=2021).
        let worked = months((2010, 1), 120);
        let drawn = months((2020, 1), 24);
        let before = unemployment_entitlement(&worked, &drawn);
        assert_eq!(
            before,
            UnemploymentEntitlement {
                contribution_months: 120,
                months_granted: 24,
                months_paid: 24,
                months_left: 0
            }
        );
        // Then 2 years of work (2022..=2023): the time restarts, 24 months → 12; nothing
        // left from before. (Counting every month ever, 144 → 24, minus 24 drawn, gave 0.)
        let mut again = worked.clone();
        again.extend(months((2022, 1), 24));
        assert_eq!(
            unemployment_entitlement(&again, &drawn),
            UnemploymentEntitlement {
                contribution_months: 24,
                months_granted: 12,
                months_paid: 0,
                months_left: 12
            }
        );
        // Only 6 of 24 drawn, then 2 years of work: 12 new + 18 left = 30 → capped at 24.
        let six = months((2020, 1), 6);
        let mut short = worked.clone();
        short.extend(months((2020, 7), 24));
        assert_eq!(unemployment_entitlement(&short, &six).months_granted, 24);
        // 3 years paid (12 months), 10 drawn, 6 months worked (under a year, 0 new) → 2 left.
        let mut small = months((2015, 1), 36);
        small.extend(months((2018, 11), 6));
        let e = unemployment_entitlement(&small, &months((2018, 1), 10));
        assert_eq!(
            (e.contribution_months, e.months_granted, e.months_left),
            (6, 2, 2)
        );
        // No benefit ever drawn: every month counts.
        assert_eq!(unemployment_entitlement(&worked, &[]).months_granted, 24);
        assert_eq!(
            unemployment_entitlement(&[], &[]),
            UnemploymentEntitlement {
                contribution_months: 0,
                months_granted: 0,
                months_paid: 0,
                months_left: 0
            }
        );
    }

    #[test]
    fn benefit_kinds_read_their_wire_names() {
        assert_eq!(BenefitKind::parse("pension"), Ok(BenefitKind::Pension));
        assert_eq!(
            BenefitKind::parse("unemployment").map(BenefitKind::as_str),
            Ok("unemployment")
        );
        assert!(BenefitKind::parse("maternity").is_err());
    }
}
