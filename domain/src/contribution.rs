//! Contribution calculations: what an employer and an employee pay for a month.

use serde::{Deserialize, Serialize};

use crate::insurance::InsuranceType;
use crate::money::{div_round_half_away, Fen};
use crate::region::YearParameters;

/// One month's contribution to one insurance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct ContributionAmounts {
    /// The contribution base (the declared wage clamped to the year's bounds).
    pub base: Fen,
    pub employer: Fen,
    pub employee: Fen,
}

impl ContributionAmounts {
    /// Employer + employee. Saturates on overflow, which amounts computed by this module cannot
    /// reach; see [`ContributionAmounts::checked_total`] for arbitrary values.
    pub fn total(&self) -> Fen {
        Fen(self.employer.0.saturating_add(self.employee.0))
    }

    /// Employer + employee; `None` on overflow.
    pub fn checked_total(&self) -> Option<Fen> {
        self.employer.checked_add(self.employee)
    }
}

/// The contribution for one insurance on a declared wage: the base is the wage clamped to the
/// year's bounds, and each side pays its rate of the base, rounded half away from zero to the fen.
/// `None` only on overflow.
pub fn compute_contribution(
    params: &YearParameters,
    insurance: InsuranceType,
    declared_wage: Fen,
) -> Option<ContributionAmounts> {
    let base = params.contribution_base(declared_wage);
    let rate = params.rates().get(insurance);
    Some(ContributionAmounts {
        base,
        employer: base.apply_bp(rate.employer_bp.into())?,
        employee: base.apply_bp(rate.employee_bp.into())?,
    })
}

/// Flexible employment (灵活就业) pays pension at 20 % of a chosen base.
pub const FLEXIBLE_PENSION_RATE_BP: u32 = 2000;
/// The part of the pension base credited to the personal account from 2006: 8 % (before 2006,
/// 11 %; a year's share is a region parameter, see
/// [`crate::region::YearParameters::personal_account_bp`]).
pub const PERSONAL_ACCOUNT_RATE_BP: u32 = 800;

/// Pension for a flexibly employed person: the chosen base clamped to the year's bounds, 20 % of
/// it paid by the person alone (recorded as `employee`; `employer` is zero).
pub fn compute_flexible_pension(
    params: &YearParameters,
    chosen_base: Fen,
) -> Option<ContributionAmounts> {
    let base = params.contribution_base(chosen_base);
    Some(ContributionAmounts {
        base,
        employer: Fen::ZERO,
        employee: base.apply_bp(FLEXIBLE_PENSION_RATE_BP)?,
    })
}

/// The amount credited to the personal pension account for a month's pension contribution:
/// 8 % of the base (for employees this is their own 8 %; for flexible employment, 8 of the 20 %).
pub fn pension_account_credit(amounts: &ContributionAmounts) -> Option<Fen> {
    amounts.base.apply_bp(PERSONAL_ACCOUNT_RATE_BP)
}

/// The late fee on an overdue amount (Social Insurance Law art. 86: 0.05 % a day = 5 bp):
/// `overdue × bp_per_day × days_late / 10000`, rounded half up (away from zero) to the fen.
/// `None` on overflow.
pub fn late_fee(overdue: Fen, days_late: u32, bp_per_day: u16) -> Option<Fen> {
    // i64 × u16 × u32 is below 2^111: no overflow inside i128.
    let numerator = i128::from(overdue.0) * i128::from(bp_per_day) * i128::from(days_late);
    div_round_half_away(numerator, 10_000)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::region::{Rates, RegionCode};

    /// Average wage 10 000.00 yuan, base 60 %–300 %, mainland default rates.
    fn params() -> YearParameters {
        let region = RegionCode::parse("350100").unwrap();
        YearParameters::new(
            region,
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
    fn pension_on_8000_yuan() {
        // 8 000.00 is inside [6 000.00, 30 000.00]: 16 % = 1 280.00, 8 % = 640.00.
        let amounts =
            compute_contribution(&params(), InsuranceType::Pension, Fen(800_000)).unwrap();
        assert_eq!(
            amounts,
            ContributionAmounts {
                base: Fen(800_000),
                employer: Fen(128_000),
                employee: Fen(64_000)
            }
        );
        assert_eq!(amounts.total(), Fen(192_000));
        assert_eq!(amounts.checked_total(), Some(Fen(192_000)));
        // The employee's 8 % goes to the personal account.
        assert_eq!(pension_account_credit(&amounts), Some(Fen(64_000)));
    }

    #[test]
    fn clamped_bases() {
        let params = params();
        // Declared 3 000.00 -> base 6 000.00; medical 8 % / 2 % = 480.00 / 120.00.
        let low = compute_contribution(&params, InsuranceType::Medical, Fen(300_000)).unwrap();
        assert_eq!(
            low,
            ContributionAmounts {
                base: Fen(600_000),
                employer: Fen(48_000),
                employee: Fen(12_000)
            }
        );
        // Declared 40 000.00 -> base 30 000.00; unemployment 0.5 % each = 150.00.
        let high =
            compute_contribution(&params, InsuranceType::Unemployment, Fen(4_000_000)).unwrap();
        assert_eq!(
            high,
            ContributionAmounts {
                base: Fen(3_000_000),
                employer: Fen(15_000),
                employee: Fen(15_000)
            }
        );
        // Work injury 0.4 % and maternity 0.8 %, employer only, of 8 000.00 = 32.00 and 64.00.
        let injury =
            compute_contribution(&params, InsuranceType::WorkInjury, Fen(800_000)).unwrap();
        assert_eq!(
            injury,
            ContributionAmounts {
                base: Fen(800_000),
                employer: Fen(3_200),
                employee: Fen::ZERO
            }
        );
        let maternity =
            compute_contribution(&params, InsuranceType::Maternity, Fen(800_000)).unwrap();
        assert_eq!(maternity.employer, Fen(6_400));
    }

    #[test]
    fn rounding_to_the_fen() {
        // Base 6 543.21: unemployment 0.5 % = 32.71605 -> 32.72; medical 2 % = 130.8642 -> 130.86.
        let params = params();
        let unemployment =
            compute_contribution(&params, InsuranceType::Unemployment, Fen(654_321)).unwrap();
        assert_eq!(unemployment.employee, Fen(3_272));
        let medical = compute_contribution(&params, InsuranceType::Medical, Fen(654_321)).unwrap();
        assert_eq!(medical.employee, Fen(13_086));
        // Base 6 000.10: unemployment 0.5 % = 30.0005 -> 30.00.
        let unemployment =
            compute_contribution(&params, InsuranceType::Unemployment, Fen(600_010)).unwrap();
        assert_eq!(unemployment.employee, Fen(3_000));
        // Base 6 001.00: unemployment 0.5 % = 30.005 -> 30.01 (half away from zero).
        let unemployment =
            compute_contribution(&params, InsuranceType::Unemployment, Fen(600_100)).unwrap();
        assert_eq!(unemployment.employee, Fen(3_001));
    }

    #[test]
    fn flexible_pension() {
        let params = params();
        // Chosen 8 000.00: 20 % = 1 600.00, of which 8 % of the base (640.00) to the account.
        let amounts = compute_flexible_pension(&params, Fen(800_000)).unwrap();
        assert_eq!(
            amounts,
            ContributionAmounts {
                base: Fen(800_000),
                employer: Fen::ZERO,
                employee: Fen(160_000)
            }
        );
        assert_eq!(pension_account_credit(&amounts), Some(Fen(64_000)));
        // Chosen below the floor: base 6 000.00, 20 % = 1 200.00.
        assert_eq!(
            compute_flexible_pension(&params, Fen(100))
                .unwrap()
                .employee,
            Fen(120_000)
        );
        // Above the ceiling: base 30 000.00, 20 % = 6 000.00.
        assert_eq!(
            compute_flexible_pension(&params, Fen(i64::MAX))
                .unwrap()
                .employee,
            Fen(600_000)
        );
    }

    #[test]
    fn late_fees() {
        // 10 000.00 overdue for 30 days at 5 bp a day: 1 000 000 * 5 * 30 / 10 000 = 15 000 fen.
        assert_eq!(late_fee(Fen(1_000_000), 30, 5), Some(Fen(15_000)));
        assert_eq!(late_fee(Fen(1_000_000), 0, 5), Some(Fen::ZERO));
        // 1 280.00 for 1 day: 0.64 yuan exactly; 123.45 for 1 day: 6.1725 fen -> 6;
        // 333.33 for 3 days: 49.9995 fen -> 50; 100.00 for 1 day at 5 bp = 5 fen;
        // 1.00 for 1 day = 0.05 fen -> 0; 10.00 for 1 day = 0.5 fen -> 1 (half up).
        assert_eq!(late_fee(Fen(128_000), 1, 5), Some(Fen(64)));
        assert_eq!(late_fee(Fen(12_345), 1, 5), Some(Fen(6)));
        assert_eq!(late_fee(Fen(33_333), 3, 5), Some(Fen(50)));
        assert_eq!(late_fee(Fen(100), 1, 5), Some(Fen(0)));
        assert_eq!(late_fee(Fen(1_000), 1, 5), Some(Fen(1)));
        assert_eq!(late_fee(Fen(i64::MAX), u32::MAX, u16::MAX), None);
    }

    #[test]
    fn totals() {
        let huge = ContributionAmounts {
            base: Fen::ZERO,
            employer: Fen(i64::MAX),
            employee: Fen(1),
        };
        assert_eq!(huge.total(), Fen(i64::MAX));
        assert_eq!(huge.checked_total(), None);
    }
}
