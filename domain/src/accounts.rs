//! The personal pension account's yearly interest (记账利率), and the kinds of medical-account
//! transactions.
//!
//! Convention (the usual 记账 rule for the basic pension's personal account): interest is credited
//! once a year, at the year's published rate, as simple interest within the year:
//!
//! * the opening balance (the balance carried over from last year, interest included) earns the
//!   full year: `opening × rate`;
//! * each month's credit earns interest for the rest of the year *including its own month*:
//!   a credit in month `m` earns `credit × rate × (13 − m) / 12` (January 12/12, December 1/12).
//!
//! So `interest = rate × (opening × 12 + Σ credit_m × (13 − m)) / 12`, computed exactly and rounded
//! once, half away from zero, to the fen. Twelve equal credits `c` earn `c × rate × 78 / 12`
//! (6.5 months on average).

use crate::money::{div_round_half_away_i128, saturating_fen, Fen};
use crate::ValueError;

/// 12 months × 10 000 bp: the denominator of `rate_bp × month-weighted fen`.
const MONTH_BP: i128 = 12 * 10_000;

/// The year's interest on a personal pension account, by the convention in the module docs.
/// `credits` are `(month 1..=12, amount)`; several credits in one month are allowed.
///
/// Lenient about input that [`checked_yearly_interest`] rejects: a month 0 counts as January and a
/// month above 12 earns nothing (credited after the year closed); a result beyond the range of
/// [`Fen`] saturates.
///
/// Example: opening 100 000.00, twelve credits of 640.00, rate 4 % (400 bp):
/// `100 000.00 × 4 % = 4 000.00` plus `640.00 × 78/12 × 4 % = 166.40`, i.e. 4 166.40.
pub fn yearly_interest(opening: Fen, credits: &[(u32, Fen)], rate_bp: u32) -> Fen {
    let weighted = credits.iter().fold(
        i128::from(opening.0).saturating_mul(12),
        |sum, &(month, amount)| {
            let weight = 13 - i128::from(month.clamp(1, 13));
            sum.saturating_add(i128::from(amount.0) * weight)
        },
    );
    saturating_fen(interest_on_weighted(weighted, rate_bp))
}

/// [`yearly_interest`], strict: `None` if a month is outside 1..=12 or the result does not fit.
pub fn checked_yearly_interest(opening: Fen, credits: &[(u32, Fen)], rate_bp: u32) -> Option<Fen> {
    let mut weighted = i128::from(opening.0) * 12;
    for &(month, amount) in credits {
        if !(1..=12).contains(&month) {
            return None;
        }
        weighted = weighted.checked_add(i128::from(amount.0) * (13 - i128::from(month)))?;
    }
    // A saturated product inside is far beyond the range of `Fen`, so it is rejected here too.
    i64::try_from(interest_on_weighted(weighted, rate_bp))
        .ok()
        .map(Fen)
}

/// `rate_bp × weighted / (12 × 10 000)` rounded half away from zero, where `weighted` is a sum of
/// fen × months of interest. Saturates (far outside the range of `Fen`) instead of overflowing.
pub(crate) fn interest_on_weighted(weighted_month_fen: i128, rate_bp: u32) -> i128 {
    div_round_half_away_i128(
        weighted_month_fen.saturating_mul(i128::from(rate_bp)),
        MONTH_BP,
    )
}

/// What a medical-account transaction was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MedicalKind {
    Outpatient,
    Inpatient,
    Pharmacy,
    /// A credit to the account.
    Credit,
    Other,
}

impl MedicalKind {
    pub const ALL: [MedicalKind; 5] = [
        MedicalKind::Outpatient,
        MedicalKind::Inpatient,
        MedicalKind::Pharmacy,
        MedicalKind::Credit,
        MedicalKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MedicalKind::Outpatient => "outpatient",
            MedicalKind::Inpatient => "inpatient",
            MedicalKind::Pharmacy => "pharmacy",
            MedicalKind::Credit => "credit",
            MedicalKind::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Result<MedicalKind, ValueError> {
        MedicalKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim())
            .ok_or(ValueError::OneOf {
                allowed: "outpatient, inpatient, pharmacy, credit, other",
            })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_year_of_monthly_credits() {
        // Opening 100 000.00 = 10 000 000 fen; twelve credits of 640.00 = 64 000 fen; 4 %.
        //   opening:  10 000 000 × 12            = 120 000 000 fen-months
        //   credits:  64 000 × (12 + 11 + … + 1) = 64 000 × 78 = 4 992 000 fen-months
        //   interest: 124 992 000 × 400 / 120 000 = 416 640 fen = 4 166.40 yuan.
        let credits: Vec<_> = (1..=12).map(|m| (m, Fen(64_000))).collect();
        assert_eq!(
            yearly_interest(Fen(10_000_000), &credits, 400),
            Fen(416_640)
        );
        assert_eq!(
            checked_yearly_interest(Fen(10_000_000), &credits, 400),
            Some(Fen(416_640))
        );
    }

    #[test]
    fn months_weigh_the_rest_of_the_year() {
        // 1 200.00 at 3 %: January earns 12/12 → 36.00, July 6/12 → 18.00, December 1/12 → 3.00.
        assert_eq!(
            yearly_interest(Fen::ZERO, &[(1, Fen(120_000))], 300),
            Fen(3_600)
        );
        assert_eq!(
            yearly_interest(Fen::ZERO, &[(7, Fen(120_000))], 300),
            Fen(1_800)
        );
        assert_eq!(
            yearly_interest(Fen::ZERO, &[(12, Fen(120_000))], 300),
            Fen(300)
        );
        // Two credits in one month add up.
        assert_eq!(
            yearly_interest(Fen::ZERO, &[(12, Fen(60_000)), (12, Fen(60_000))], 300),
            Fen(300)
        );
    }

    #[test]
    fn rounding_to_the_fen() {
        // 12 345.67 at 2.62 %: 1 234 567 × 262 / 10 000 = 32 345.6554 fen → 32 346.
        assert_eq!(yearly_interest(Fen(1_234_567), &[], 262), Fen(32_346));
        // 0.50 at 1 %: 0.5 fen → 1 (half away from zero); 0.49 → 0.
        assert_eq!(yearly_interest(Fen(50), &[], 100), Fen(1));
        assert_eq!(yearly_interest(Fen(49), &[], 100), Fen(0));
        // 1.00 credited in December at 6 %: 100 × 600 / 120 000 = 0.5 fen → 1.
        assert_eq!(yearly_interest(Fen::ZERO, &[(12, Fen(100))], 600), Fen(1));
        // Rounded once for the year, not per credit: 11 December credits of 1.00 at 6 %
        // = 5.5 fen → 6 (per credit would give 11 × 1 = 11).
        let credits = vec![(12, Fen(100)); 11];
        assert_eq!(yearly_interest(Fen::ZERO, &credits, 600), Fen(6));
        assert_eq!(yearly_interest(Fen(10_000_000), &[], 0), Fen::ZERO);
    }

    #[test]
    fn lenient_and_strict_inputs() {
        // Month 0 counts as January; month 13 earns nothing.
        assert_eq!(
            yearly_interest(Fen::ZERO, &[(0, Fen(120_000))], 300),
            Fen(3_600)
        );
        assert_eq!(
            yearly_interest(Fen::ZERO, &[(13, Fen(120_000))], 300),
            Fen(0)
        );
        assert_eq!(
            checked_yearly_interest(Fen::ZERO, &[(0, Fen(1))], 300),
            None
        );
        assert_eq!(
            checked_yearly_interest(Fen::ZERO, &[(13, Fen(1))], 300),
            None
        );
        // Saturation and overflow.
        assert_eq!(yearly_interest(Fen(i64::MAX), &[], u32::MAX), Fen(i64::MAX));
        assert_eq!(yearly_interest(Fen(i64::MIN), &[], u32::MAX), Fen(i64::MIN));
        assert_eq!(checked_yearly_interest(Fen(i64::MAX), &[], u32::MAX), None);
        // 100 % of the maximum still fits.
        assert_eq!(
            checked_yearly_interest(Fen(i64::MAX), &[], 10_000),
            Some(Fen(i64::MAX))
        );
    }

    #[test]
    fn medical_kinds_read_their_wire_names() {
        for k in MedicalKind::ALL {
            assert_eq!(MedicalKind::parse(k.as_str()), Ok(k));
        }
        assert_eq!(MedicalKind::parse(" pharmacy "), Ok(MedicalKind::Pharmacy));
        assert!(MedicalKind::parse("dental").is_err());
    }
}
