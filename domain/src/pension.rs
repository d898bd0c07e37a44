//! The monthly basic pension of the enterprise employees' scheme (国发〔2005〕38号), estimated at
//! retirement, and projections of the personal account and of wages up to that point.
//!
//! Monthly basic pension = basic part + personal-account part:
//!
//! * basic part (基础养老金) = `(C + C × Ī) / 2 × N × 1 %`, where `C` is the region's average monthly
//!   wage of the year before retirement, `Ī` the average of the person's yearly contribution-base /
//!   average-wage ratios (平均缴费指数) and `N` the contribution years, counted here in months
//!   (`N = months / 12`, so partial years count pro rata);
//! * personal-account part (个人账户养老金) = account balance / months divisor (计发月数), the divisor
//!   looked up by the age at retirement under the region's rules ([`months_divisor_at`]: whole
//!   years or interpolated by month; 207 or 208 at 47).
//!
//! Transitional pensions (过渡性养老金) for service before the personal accounts existed, and local
//! adjustments, are not part of this estimate.

use serde::{Deserialize, Serialize};

use crate::accounts::interest_on_weighted;
use crate::money::{div_round_half_away, div_round_half_away_i128, saturating_fen, Fen};
use crate::region::{DivisorFraction, RegionRules};

/// The months divisor of 国发〔2005〕38号 (个人账户养老金计发月数表) for ages 40..=70.
const MONTHS_DIVISOR: [u32; 31] = [
    233, 230, 226, 223, 220, 216, 212, 207, 204, 199, // 40..=49
    195, 190, 185, 180, 175, 170, 164, 158, 152, 145, // 50..=59
    139, 132, 125, 117, 109, 101, 93, 84, 75, 65, // 60..=69
    56, // 70
];
const DIVISOR_FIRST_AGE: u32 = 40;

/// The months divisor for the personal-account part, by the age in whole years at retirement
/// (40..=70; `None` outside the table):
///
/// | age | 40  | 41  | 42  | 43  | 44  | 45  | 46  | 47  | 48  | 49  |
/// |-----|-----|-----|-----|-----|-----|-----|-----|-----|-----|-----|
/// |     | 233 | 230 | 226 | 223 | 220 | 216 | 212 | 207 | 204 | 199 |
///
/// | age | 50  | 51  | 52  | 53  | 54  | 55  | 56  | 57  | 58  | 59  |
/// |-----|-----|-----|-----|-----|-----|-----|-----|-----|-----|-----|
/// |     | 195 | 190 | 185 | 180 | 175 | 170 | 164 | 158 | 152 | 145 |
///
/// | age | 60  | 61  | 62  | 63  | 64  | 65  | 66  | 67  | 68  | 69  | 70  |
/// |-----|-----|-----|-----|-----|-----|-----|-----|-----|-----|-----|-----|
/// |     | 139 | 132 | 125 | 117 | 109 | 101 | 93  | 84  | 75  | 65  | 56  |
///
/// The divisor falls strictly with age: an older retiree draws for fewer expected months. At 47
/// transcriptions of the annex differ (207 here; 208 fits the table's differences): a region
/// chooses, see [`months_divisor_at`].
pub fn months_divisor(age_years_at_retirement: u32) -> Option<u32> {
    let index = age_years_at_retirement.checked_sub(DIVISOR_FIRST_AGE)?;
    MONTHS_DIVISOR.get(usize::try_from(index).ok()?).copied()
}

/// A months divisor, exact to a twelfth of a month (an interpolated divisor such as 136.67 is
/// 1 640 twelfths).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MonthsDivisor(u32);

impl MonthsDivisor {
    /// A divisor of whole months.
    pub fn whole(months: u32) -> MonthsDivisor {
        MonthsDivisor(months.saturating_mul(12))
    }

    pub fn twelfths(self) -> u32 {
        self.0
    }

    /// Rounded half up to whole months.
    pub fn rounded(self) -> u32 {
        (self.0 + 6) / 12
    }

    /// In hundredths of a month, rounded half up (136.67 → 13 667).
    pub fn hundredths(self) -> u32 {
        u32::try_from((u64::from(self.0) * 100 + 6) / 12).unwrap_or(u32::MAX)
    }
}

/// The months divisor at a retirement age of `years` years and `months` (0..=11) months, under a
/// region's rules: the divisor at 47 is the region's (207 or 208, see
/// [`RegionRules::divisor_age_47`]); an age that is not whole years takes the divisor of the whole
/// years, or, where the region interpolates, `d(a) − months/12 × (d(a) − d(a+1))` (at 70 there is
/// nothing to interpolate towards: 56). `None` outside 40..=70 years.
///
/// Example: 60 years 4 months → 139 whole; interpolated 139 − 4/12 × 7 = 136.67 (1 640 twelfths).
pub fn months_divisor_at(years: u32, months: u32, rules: &RegionRules) -> Option<MonthsDivisor> {
    let table = |age: u32| {
        if age == 47 {
            Some(u32::from(rules.divisor_age_47))
        } else {
            months_divisor(age)
        }
    };
    let here = table(years)?;
    let months = months.min(11);
    Some(match (rules.divisor_fraction, table(years + 1)) {
        (DivisorFraction::Interpolated, Some(next)) if months > 0 => {
            MonthsDivisor(12 * here - months * (here - next))
        }
        _ => MonthsDivisor::whole(here),
    })
}

/// What the estimate needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PensionInputs {
    /// C: the region's average monthly wage of the year before retirement.
    pub average_monthly_wage: Fen,
    /// Ī in basis points (10 000 = 1.0): the average of the person's yearly base / average-wage
    /// ratios, see [`indexed_ratio_bp`].
    pub indexed_ratio_bp: u32,
    /// N in months.
    pub contribution_months: u32,
    /// The personal account's balance at retirement.
    pub account_balance: Fen,
    /// The months divisor for the age at retirement, see [`months_divisor_at`].
    pub divisor: MonthsDivisor,
}

/// The estimated monthly pension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PensionEstimate {
    /// 基础养老金.
    pub basic_part: Fen,
    /// 个人账户养老金.
    pub account_part: Fen,
    /// `basic_part + account_part`.
    pub monthly_total: Fen,
    /// The months divisor used for the account part.
    pub divisor: MonthsDivisor,
}

/// The monthly basic pension: basic part and personal-account part, each rounded half away from
/// zero to the fen, and their sum.
///
/// `None` if the divisor is zero, the average wage or the balance is negative, or a figure
/// overflows. Eligibility (the minimum contribution period) is a separate
/// question, see [`crate::retirement::eligibility`]: this function estimates whatever it is given.
pub fn estimate_pension(i: &PensionInputs) -> Option<PensionEstimate> {
    if i.average_monthly_wage.is_negative() || i.account_balance.is_negative() {
        return None;
    }
    let basic_part = basic_pension(
        i.average_monthly_wage,
        i.indexed_ratio_bp,
        i.contribution_months,
    )?;
    if i.divisor.twelfths() == 0 {
        return None;
    }
    // balance / (twelfths / 12) = balance × 12 / twelfths.
    let account_part = div_round_half_away(
        i128::from(i.account_balance.0) * 12,
        i128::from(i.divisor.twelfths()),
    )?;
    Some(PensionEstimate {
        basic_part,
        account_part,
        monthly_total: basic_part.checked_add(account_part)?,
        divisor: i.divisor,
    })
}

/// The basic part, `(C + C × Ī) / 2 × (months / 12) × 1 %`, computed exactly as
/// `C × (10 000 + Ī_bp) × months / (2 × 10 000 × 12 × 100)` and rounded once, half away from zero,
/// to the fen. `None` on overflow.
pub fn basic_pension(average_monthly_wage: Fen, indexed_ratio_bp: u32, months: u32) -> Option<Fen> {
    const DENOMINATOR: i128 = 2 * 10_000 * 12 * 100;
    let numerator = i128::from(average_monthly_wage.0)
        .checked_mul(10_000 + i128::from(indexed_ratio_bp))?
        .checked_mul(i128::from(months))?;
    div_round_half_away(numerator, DENOMINATOR)
}

/// The personal-account part, `balance / divisor`, rounded half away from zero to the fen.
/// `None` for a zero divisor.
pub fn account_pension(balance: Fen, divisor: u32) -> Option<Fen> {
    if divisor == 0 {
        return None;
    }
    div_round_half_away(i128::from(balance.0), i128::from(divisor))
}

/// Ī in basis points: the mean over the years of `base / average wage`, where each pair is
/// (the person's average monthly contribution base that year, that year's average monthly wage),
/// rounded half away from zero to the basis point. Exact: no intermediate rounding.
///
/// `None` for no years, a negative base, an average wage that is not positive, or a result above
/// `u32::MAX` bp.
///
/// Example: bases 6 000.00, 10 000.00 and 14 000.00 against a wage of 10 000.00 each year are
/// ratios 0.6, 1.0 and 1.4, mean 1.0 → 10 000 bp.
pub fn indexed_ratio_bp(yearly: &[(Fen, Fen)]) -> Option<u32> {
    mean_ratio_bp(yearly, i128::try_from(yearly.len()).ok()?)
}

/// Ī in basis points weighted by months, as provincial methods compute it: every paid month's
/// `base / that year's average wage`, averaged over the months. Each entry is one year: (the
/// total of the year's monthly bases, the number of months, the year's average monthly wage), so
/// `Ī = Σ (total_base_y / wage_y) / Σ months_y`, exact, rounded half away from zero.
///
/// `None` for no months, a negative base, an average wage that is not positive, or overflow.
///
/// Example: one month at 20 000.00 against 10 000.00 (ratio 2.0) and twelve months at
/// 10 000.00 against 10 000.00 (1.0): (2 + 12) / 13 = 1.076 9… → 10 769 bp, where the plain mean
/// of the two years would say 1.5.
pub fn indexed_ratio_by_months_bp(yearly: &[(Fen, u32, Fen)]) -> Option<u32> {
    let months: i128 = yearly.iter().map(|&(_, n, _)| i128::from(n)).sum();
    let pairs: Vec<(Fen, Fen)> = yearly.iter().map(|&(base, _, wage)| (base, wage)).collect();
    mean_ratio_bp(&pairs, months)
}

/// `Σ 10 000 × base_i / wage_i / n`, rounded half away from zero, exactly.
fn mean_ratio_bp(pairs: &[(Fen, Fen)], n: i128) -> Option<u32> {
    // With S = Σ 10 000 × base_i / wage_i (bp), the mean rounded half up is
    // floor((2S + n) / 2n) = floor((floor(2S) + n) / 2n). Each 2 × 10 000 × base_i = q_i × wage_i + r_i,
    // so floor(2S) = Σ q_i + floor(Σ r_i / wage_i): only the fractional parts need care.
    if n <= 0 {
        return None;
    }
    let yearly = pairs;
    let mut whole: i128 = 0;
    let mut fractions = Vec::with_capacity(yearly.len());
    for &(base, wage) in yearly {
        if base.is_negative() || wage.0 <= 0 {
            return None;
        }
        let scaled = i128::from(base.0) * 20_000;
        let wage = i128::from(wage.0);
        whole = whole.checked_add(scaled / wage)?;
        fractions.push((scaled % wage, wage));
    }
    let twice_sum_floor = whole.checked_add(floor_of_fraction_sum(&fractions)?)?;
    let mean = (twice_sum_floor.checked_add(n)?) / (2 * n);
    u32::try_from(mean).ok()
}

/// `floor(Σ r_i / w_i)` for `0 ≤ r_i < w_i`, exactly.
///
/// First to 10⁻¹⁸ per term: the true sum lies in `[F, F + n × 10⁻¹⁸)` where `F` is the sum of the
/// truncated terms. Only when an integer falls inside that interval (a near or exact tie, such as
/// 1/3 + 2/3) is the sum compared with it exactly, in arbitrary precision.
fn floor_of_fraction_sum(fractions: &[(i128, i128)]) -> Option<i128> {
    const SCALE: i128 = 1_000_000_000_000_000_000;
    let mut truncated: i128 = 0;
    for &(r, w) in fractions {
        // r < w ≤ i64::MAX, so r × 10¹⁸ < 2⁶³ × 2⁶⁰ fits in an i128.
        truncated = truncated.checked_add(r * SCALE / w)?;
    }
    let n = i128::try_from(fractions.len()).ok()?;
    let floor = truncated / SCALE;
    let candidate = floor + 1;
    // Is candidate × SCALE < truncated + n, i.e. could the true sum reach the next integer?
    if candidate.checked_mul(SCALE)? >= truncated.checked_add(n)? {
        return Some(floor);
    }
    Some(if big::fraction_sum_at_least(fractions, candidate)? {
        candidate
    } else {
        floor
    })
}

/// Just enough arbitrary-precision arithmetic to compare a sum of fractions with an integer.
mod big {
    use std::cmp::Ordering;

    /// A non-negative integer, little-endian base-2³² limbs, no high zero limbs.
    #[derive(Clone, Debug, PartialEq, Eq)]
    struct Nat(Vec<u32>);

    impl Nat {
        fn from_u128(mut value: u128) -> Nat {
            let mut limbs = Vec::new();
            while value > 0 {
                limbs.push((value & 0xFFFF_FFFF) as u32);
                value >>= 32;
            }
            Nat(limbs)
        }

        fn mul_small(&self, factor: u64) -> Nat {
            let mut limbs = Vec::with_capacity(self.0.len() + 2);
            let mut carry: u128 = 0;
            for &limb in &self.0 {
                let t = u128::from(limb) * u128::from(factor) + carry;
                limbs.push((t & 0xFFFF_FFFF) as u32);
                carry = t >> 32;
            }
            while carry > 0 {
                limbs.push((carry & 0xFFFF_FFFF) as u32);
                carry >>= 32;
            }
            Nat(limbs).trimmed()
        }

        fn add(&self, other: &Nat) -> Nat {
            let len = self.0.len().max(other.0.len());
            let mut limbs = Vec::with_capacity(len + 1);
            let mut carry: u64 = 0;
            for k in 0..len {
                let a = u64::from(self.0.get(k).copied().unwrap_or(0));
                let b = u64::from(other.0.get(k).copied().unwrap_or(0));
                let t = a + b + carry;
                limbs.push((t & 0xFFFF_FFFF) as u32);
                carry = t >> 32;
            }
            if carry > 0 {
                limbs.push((carry & 0xFFFF_FFFF) as u32);
            }
            Nat(limbs).trimmed()
        }

        fn trimmed(mut self) -> Nat {
            while self.0.last() == Some(&0) {
                self.0.pop();
            }
            self
        }

        fn compare(&self, other: &Nat) -> Ordering {
            self.0
                .len()
                .cmp(&other.0.len())
                .then_with(|| self.0.iter().rev().cmp(other.0.iter().rev()))
        }
    }

    /// `Σ r_i / w_i ≥ target`, exactly, for `0 ≤ r_i < w_i ≤ i64::MAX` and `target ≥ 0`; `None` for
    /// values outside those ranges.
    pub(super) fn fraction_sum_at_least(fractions: &[(i128, i128)], target: i128) -> Option<bool> {
        // num / den = Σ r_i / w_i, accumulated as num ← num × w + r × den, den ← den × w.
        let mut num = Nat::from_u128(0);
        let mut den = Nat::from_u128(1);
        for &(r, w) in fractions {
            let r = u64::try_from(r).ok()?;
            let w = u64::try_from(w).ok()?;
            num = num.mul_small(w).add(&den.mul_small(r));
            den = den.mul_small(w);
        }
        let target = u128::try_from(target).ok()?;
        let bound = den.mul_small(u64::try_from(target).ok()?);
        Some(num.compare(&bound) != Ordering::Less)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn arithmetic() {
            let a = Nat::from_u128(u128::from(u64::MAX));
            assert_eq!(
                a.mul_small(u64::MAX),
                Nat::from_u128(u128::from(u64::MAX).pow(2))
            );
            assert_eq!(
                a.add(&Nat::from_u128(1)),
                Nat::from_u128(u128::from(u64::MAX) + 1)
            );
            assert_eq!(Nat::from_u128(5).mul_small(0), Nat::from_u128(0));
            assert_eq!(
                Nat::from_u128(1 << 40).compare(&Nat::from_u128(1 << 39)),
                Ordering::Greater
            );
            assert_eq!(
                Nat::from_u128(7).compare(&Nat::from_u128(7)),
                Ordering::Equal
            );
        }

        #[test]
        fn fraction_sums() {
            // 1/3 + 2/3 = 1 exactly.
            assert_eq!(fraction_sum_at_least(&[(1, 3), (2, 3)], 1), Some(true));
            assert_eq!(fraction_sum_at_least(&[(1, 3), (2, 3)], 2), Some(false));
            // 1/3 + 2/3 − a hair: (w−1)/w with a huge w, plus 1/3 + 2/3 − 1/w' ...
            let w = i128::from(i64::MAX);
            assert_eq!(fraction_sum_at_least(&[(w - 1, w)], 1), Some(false));
            assert_eq!(fraction_sum_at_least(&[(w - 1, w), (1, w)], 1), Some(true));
            assert_eq!(fraction_sum_at_least(&[], 0), Some(true));
        }
    }
}

/// The personal account's balance after `months` more months: `monthly_credit` is credited every
/// month and interest at `annual_rate_bp` is credited at the end of every 12 months.
///
/// Convention (the same as [`crate::accounts::yearly_interest`]): each projection year's opening
/// balance earns the full year; the credit of the year's month `m` (1..=12) earns `(13 − m)/12` of a
/// year, so twelve equal credits `c` earn `c × rate × 78/12`. Interest is rounded half away from
/// zero to the fen once a year. A final partial year of `k` months (when `months` is not a multiple
/// of 12) is credited interest for those `k` months on the same rule: the opening balance `k/12`,
/// month `m`'s credit `(k − m + 1)/12`. The projection years start at the first projected month,
/// not on 1 January. Saturates at the limits of [`Fen`].
pub fn project_balance(start: Fen, monthly_credit: Fen, months: u32, annual_rate_bp: u32) -> Fen {
    let credit = i128::from(monthly_credit.0);
    let mut balance = i128::from(start.0);
    if annual_rate_bp == 0 {
        // No interest: just the credits (u32 × i64 fits in an i128).
        return saturating_fen(balance + credit * i128::from(months));
    }
    for _ in 0..months / 12 {
        let next = balance_after(balance, credit, 12, annual_rate_bp);
        // A full year that changes nothing (a fixed point, or saturation) changes nothing again.
        if next == balance {
            break;
        }
        balance = next;
    }
    let rest = months % 12;
    if rest > 0 {
        balance = balance_after(balance, credit, rest, annual_rate_bp);
    }
    saturating_fen(balance)
}

/// One projection period of `k` (1..=12) months: credits, then interest, clamped to `Fen`'s range.
fn balance_after(balance: i128, credit: i128, k: u32, annual_rate_bp: u32) -> i128 {
    let k = i128::from(k);
    // Σ_{m=1..k} (k − m + 1) = k (k + 1) / 2 months of interest on the credits.
    let weighted = balance * k + credit * (k * (k + 1) / 2);
    let interest = interest_on_weighted(weighted, annual_rate_bp);
    saturating_fen(balance + credit * k + interest).0.into()
}

/// How the monthly credit follows the wage in [`project_balance_growing`]: it rises by
/// `annual_bp` (rounded half away from zero to the fen, like [`grow`]) after the first
/// `first_rise_after` months and every 12 months after that.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreditGrowth {
    pub annual_bp: u32,
    /// Months until the first rise: 12 for projection years; the months left in the calendar
    /// year for a base that follows each calendar year's average wage.
    pub first_rise_after: u32,
}

/// [`project_balance`] with a credit that grows with the wage: the base stays at the assumed
/// ratio of each year's average wage, so the account's credit grows as the wage does. Interest
/// as in [`project_balance`] (projection years from the first projected month). Linear in
/// `months`; saturates at the limits of [`Fen`].
///
/// Example (issue 15): a credit of 800.00 (8 % of 10 000.00), 268 months, 4 % growth from the
/// 13th month on, 3 % interest: 454 801.49, where a frozen credit gives 304 116.00.
pub fn project_balance_growing(
    start: Fen,
    first_credit: Fen,
    months: u32,
    growth: CreditGrowth,
    annual_rate_bp: u32,
) -> Fen {
    let mut balance = i128::from(start.0);
    let mut credit = first_credit;
    let mut month = 0u32;
    while month < months {
        let k = (months - month).min(12);
        let (mut credited, mut weighted) = (0i128, 0i128);
        for m in 0..k {
            let index = month + m;
            if index >= growth.first_rise_after
                && (index - growth.first_rise_after).is_multiple_of(12)
            {
                credit = grow(credit, growth.annual_bp, 1);
            }
            credited += i128::from(credit.0);
            // The credit of the period's month m + 1 earns k − m months.
            weighted += i128::from(credit.0) * i128::from(k - m);
        }
        let interest = interest_on_weighted(balance * i128::from(k) + weighted, annual_rate_bp);
        balance = saturating_fen(balance + credited + interest).0.into();
        month += k;
        if balance == i128::from(i64::MAX) || balance == i128::from(i64::MIN) {
            break;
        }
    }
    saturating_fen(balance)
}

/// C, the average monthly wage of the year before retirement, from the latest published one.
/// Parameters of year `L` hold the average wage of `L − 1`; reaching `R − 1` (`R` the year of
/// retirement) takes `R − L` years of growth at `annual_bp` ([`grow`]); none when `R ≤ L`.
///
/// Example (issue 15): parameters of 2026 with 10 000.00, 4 %, retiring in 2049: 23 years →
/// 24 647.16 (22 years, one short, gave 23 699.19).
pub fn wage_before_retirement(
    latest_year: i32,
    latest_wage: Fen,
    retirement_year: i32,
    annual_bp: u32,
) -> Fen {
    let years = u32::try_from((retirement_year - latest_year).max(0)).unwrap_or(0);
    grow(latest_wage, annual_bp, years)
}

/// `value` grown by `annual_rate_bp` a year for `years` years, compounding yearly and rounding half
/// away from zero to the fen every year: `v ← round(v × (10 000 + rate) / 10 000)`. For projecting
/// wages and average wages. Saturates at the limits of [`Fen`].
pub fn grow(value: Fen, annual_rate_bp: u32, years: u32) -> Fen {
    let factor = 10_000 + i128::from(annual_rate_bp);
    let mut v = i128::from(value.0);
    for _ in 0..years {
        let next = saturating_fen(div_round_half_away_i128(v * factor, 10_000))
            .0
            .into();
        // Unchanged once (a zero rate, a value too small to gain a fen, saturation): for good.
        if next == v {
            break;
        }
        v = next;
    }
    saturating_fen(v)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono::{Datelike, NaiveDate};

    use super::*;
    use crate::retirement::{
        age_in_whole_years, allowed_retirement_window, eligibility, minimum_contribution_months,
        statutory_retirement, Eligibility, RetirementCategory,
    };

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn divisor_table() {
        assert_eq!(months_divisor(39), None);
        assert_eq!(months_divisor(40), Some(233));
        assert_eq!(months_divisor(47), Some(207));
        assert_eq!(months_divisor(49), Some(199));
        assert_eq!(months_divisor(50), Some(195));
        assert_eq!(months_divisor(55), Some(170));
        assert_eq!(months_divisor(58), Some(152));
        assert_eq!(months_divisor(60), Some(139));
        assert_eq!(months_divisor(63), Some(117));
        assert_eq!(months_divisor(70), Some(56));
        assert_eq!(months_divisor(71), None);
        assert_eq!(months_divisor(0), None);
        assert_eq!(months_divisor(u32::MAX), None);
        // 50..=70 as listed in DESIGN.md.
        let design = [
            (50, 195),
            (51, 190),
            (52, 185),
            (53, 180),
            (54, 175),
            (55, 170),
            (56, 164),
            (57, 158),
            (58, 152),
            (59, 145),
            (60, 139),
            (61, 132),
            (62, 125),
            (63, 117),
            (64, 109),
            (65, 101),
            (66, 93),
            (67, 84),
            (68, 75),
            (69, 65),
            (70, 56),
        ];
        for (age, divisor) in design {
            assert_eq!(months_divisor(age), Some(divisor), "age {age}");
        }
        // Strictly falling with age over the whole table.
        for age in 40..70 {
            assert!(months_divisor(age) > months_divisor(age + 1), "age {age}");
        }
    }

    #[test]
    fn man_of_60_with_30_years() {
        // C = 10 000.00, Ī = 1.0, N = 360 months (30 years), balance 200 000.00, age 60:
        //   basic   = (10 000 + 10 000 × 1.0) / 2 × 30 × 1 % = 10 000 × 0.30 = 3 000.00
        //           = 1 000 000 fen × 20 000 × 360 / 24 000 000 = 300 000 fen;
        //   account = 200 000.00 / 139 = 1 438.848… → 1 438.85;
        //   total   = 4 438.85.
        let estimate = estimate_pension(&PensionInputs {
            average_monthly_wage: Fen(1_000_000),
            indexed_ratio_bp: 10_000,
            contribution_months: 360,
            account_balance: Fen(20_000_000),
            divisor: MonthsDivisor::whole(139),
        })
        .unwrap();
        assert_eq!(
            estimate,
            PensionEstimate {
                basic_part: Fen(300_000),
                account_part: Fen(143_885),
                monthly_total: Fen(443_885),
                divisor: MonthsDivisor::whole(139)
            }
        );
    }

    #[test]
    fn woman_of_55_with_exactly_15_years() {
        // C = 8 000.00, Ī = 0.8, N = 180 months (15 years), balance 90 000.00, age 55:
        //   basic   = (8 000 + 6 400) / 2 × 15 × 1 % = 7 200 × 0.15 = 1 080.00
        //           = 800 000 × 18 000 × 180 / 24 000 000 = 108 000 fen;
        //   account = 90 000.00 / 170 = 529.411… → 529.41;
        //   total   = 1 609.41.
        let estimate = estimate_pension(&PensionInputs {
            average_monthly_wage: Fen(800_000),
            indexed_ratio_bp: 8_000,
            contribution_months: 180,
            account_balance: Fen(9_000_000),
            divisor: MonthsDivisor::whole(170),
        })
        .unwrap();
        assert_eq!(estimate.basic_part, Fen(108_000));
        assert_eq!(estimate.account_part, Fen(52_941));
        assert_eq!(estimate.monthly_total, Fen(160_941));
        assert_eq!(estimate.divisor.rounded(), 170);
        // Retiring in 2029 (before the minimum starts to rise), 180 months are enough.
        assert!(eligibility(180, d(2029, 6, 1)).eligible);
    }

    #[test]
    fn one_month_short() {
        // 179 months, retiring in 2028: 180 are required.
        assert_eq!(
            eligibility(179, d(2028, 3, 1)),
            Eligibility {
                eligible: false,
                required_months: 180,
                missing_months: 1
            }
        );
    }

    #[test]
    fn man_born_1970_06_under_the_reform() {
        // Born 1970-06-15: k = (1970 − 1965) × 12 + (6 − 1) = 65 months after 1965-01,
        // delay = 65 / 4 + 1 = 17 months → 61 years 5 months, reached on 2031-11-15.
        let birth = d(1970, 6, 15);
        let age = statutory_retirement(birth, RetirementCategory::Male);
        assert_eq!((age.years, age.months, age.date), (61, 5, d(2031, 11, 15)));
        // Retiring in 2031: 180 + 6 × (2031 − 2029) = 192 months are required.
        assert_eq!(minimum_contribution_months(age.date.year()), 192);
        assert_eq!(
            eligibility(190, age.date),
            Eligibility {
                eligible: false,
                required_months: 192,
                missing_months: 2
            }
        );
        // Whole years at retirement: 61 → divisor 132.
        let whole_years = age_in_whole_years(birth, age.date);
        assert_eq!(whole_years, 61);
        // C = 12 000.00, Ī = 1.2, N = 400 months, balance 300 000.00:
        //   basic   = (12 000 + 14 400) / 2 × 400/12 × 1 % = 13 200 × 0.3333… = 4 400.00
        //           = 1 200 000 × 22 000 × 400 / 24 000 000 = 440 000 fen;
        //   account = 300 000.00 / 132 = 2 272.7272… → 2 272.73;
        //   total   = 6 672.73.
        let inputs = PensionInputs {
            average_monthly_wage: Fen(1_200_000),
            indexed_ratio_bp: 12_000,
            contribution_months: 400,
            account_balance: Fen(30_000_000),
            divisor: MonthsDivisor::whole(months_divisor(whole_years).unwrap()),
        };
        assert!(eligibility(inputs.contribution_months, age.date).eligible);
        let estimate = estimate_pension(&inputs).unwrap();
        assert_eq!(
            estimate,
            PensionEstimate {
                basic_part: Fen(440_000),
                account_part: Fen(227_273),
                monthly_total: Fen(667_273),
                divisor: MonthsDivisor::whole(132)
            }
        );
        // Retiring early, at the original 60 (2030-06-15): 186 months required, divisor 139,
        // 300 000.00 / 139 = 2 158.27.
        let (earliest, latest) = allowed_retirement_window(birth, RetirementCategory::Male);
        assert_eq!((earliest, latest), (d(2030, 6, 15), d(2034, 11, 15)));
        assert_eq!(eligibility(0, earliest).required_months, 186);
        assert_eq!(age_in_whole_years(birth, earliest), 60);
        let early = estimate_pension(&PensionInputs {
            divisor: MonthsDivisor::whole(139),
            ..inputs
        })
        .unwrap();
        assert_eq!(early.account_part, Fen(215_827));
        // Deferring the full 36 months: 64 on 2034-11-15, divisor 109.
        assert_eq!(age_in_whole_years(birth, latest), 64);
        assert_eq!(months_divisor(64), Some(109));
    }

    #[test]
    fn basic_part_rounds_once() {
        // C = 7 654.32, Ī = 0.6, 187 months:
        //   765 432 × 16 000 × 187 / 24 000 000 = 95 423.856 fen → 95 424 (954.24).
        assert_eq!(basic_pension(Fen(765_432), 6_000, 187), Some(Fen(95_424)));
        // C = 12.00 yuan, Ī = 0, one month:
        //   1 200 × 10 000 × 1 / 24 000 000 = 0.5 fen → 1; three months = 1.5 → 2.
        assert_eq!(basic_pension(Fen(1_200), 0, 1), Some(Fen(1)));
        assert_eq!(basic_pension(Fen(1_200), 0, 3), Some(Fen(2)));
        assert_eq!(basic_pension(Fen(1_000_000), 10_000, 0), Some(Fen(0)));
        assert_eq!(basic_pension(Fen(i64::MAX), u32::MAX, u32::MAX), None);
        // The account part: 100.00 / 3 = 33.33; 0.05 / 10 = 0.5 fen → 1.
        assert_eq!(account_pension(Fen(10_000), 3), Some(Fen(3_333)));
        assert_eq!(account_pension(Fen(5), 10), Some(Fen(1)));
        assert_eq!(account_pension(Fen(5), 0), None);
    }

    #[test]
    fn estimate_rejects() {
        let ok = PensionInputs {
            average_monthly_wage: Fen(1_000_000),
            indexed_ratio_bp: 10_000,
            contribution_months: 360,
            account_balance: Fen(20_000_000),
            divisor: MonthsDivisor::whole(139),
        };
        assert!(estimate_pension(&ok).is_some());
        for bad in [
            PensionInputs {
                divisor: MonthsDivisor::whole(0),
                ..ok
            },
            PensionInputs {
                average_monthly_wage: Fen(-1),
                ..ok
            },
            PensionInputs {
                account_balance: Fen(-1),
                ..ok
            },
            PensionInputs {
                account_balance: Fen(i64::MAX),
                average_monthly_wage: Fen(i64::MAX),
                indexed_ratio_bp: u32::MAX,
                ..ok
            },
        ] {
            assert_eq!(estimate_pension(&bad), None, "{bad:?}");
        }
    }

    #[test]
    fn indexed_ratios() {
        let y = |base: i64, wage: i64| (Fen(base), Fen(wage));
        // 0.6, 1.0, 1.4 → 1.0.
        assert_eq!(
            indexed_ratio_bp(&[
                y(600_000, 1_000_000),
                y(1_000_000, 1_000_000),
                y(1_400_000, 1_000_000)
            ]),
            Some(10_000)
        );
        // 6 000.00 / 8 000.00 = 0.75 and 9 000.00 / 9 000.00 = 1.0 → 0.875 = 8 750 bp.
        assert_eq!(
            indexed_ratio_bp(&[y(600_000, 800_000), y(900_000, 900_000)]),
            Some(8_750)
        );
        // 1/3 → 3 333.33 bp → 3 333; 2/3 → 6 666.67 → 6 667.
        assert_eq!(indexed_ratio_bp(&[y(1, 3)]), Some(3_333));
        assert_eq!(indexed_ratio_bp(&[y(2, 3)]), Some(6_667));
        // Exact ties round half away from zero: 1 / 20 000 = 0.5 bp → 1.
        assert_eq!(indexed_ratio_bp(&[y(1, 20_000)]), Some(1));
        // 1/30 000 and 2/30 000 are 1/3 and 2/3 bp, mean exactly 0.5 bp → 1 (a decimal
        // approximation of the thirds would fall just short of the half and give 0).
        assert_eq!(indexed_ratio_bp(&[y(1, 30_000), y(2, 30_000)]), Some(1));
        // 1/7 and 6/7 of a bp, and 2 bp: (1/7 + 6/7 + 2) / 3 = 1 exactly.
        assert_eq!(
            indexed_ratio_bp(&[y(1, 70_000), y(6, 70_000), y(2, 10_000)]),
            Some(1)
        );
        // Just short of a tie stays below: 1/3 + 20 000/30 001 ≈ 0.99998 bp, mean ≈ 0.49999 → 0.
        assert_eq!(indexed_ratio_bp(&[y(1, 30_000), y(2, 30_001)]), Some(0));
        assert_eq!(indexed_ratio_bp(&[]), None);
        assert_eq!(indexed_ratio_bp(&[y(-1, 100)]), None);
        assert_eq!(indexed_ratio_bp(&[y(1, 0)]), None);
        assert_eq!(indexed_ratio_bp(&[y(i64::MAX, 1)]), None);
        assert_eq!(indexed_ratio_bp(&[y(0, 1)]), Some(0));
        // The largest amounts still compute exactly: two ratios of 1.0 → 10 000 bp.
        assert_eq!(
            indexed_ratio_bp(&[y(i64::MAX, i64::MAX), y(i64::MAX / 2 * 2, i64::MAX - 1)]),
            Some(10_000)
        );
    }

    #[test]
    fn projected_balance() {
        // Start 50 000.00, 800.00 a month for 30 months, 3 %:
        //   year 1: 5 000 000 × 12 + 80 000 × 78 = 66 240 000 fen-months × 300 / 120 000
        //           = 165 600 → 5 000 000 + 960 000 + 165 600 = 6 125 600;
        //   year 2: 6 125 600 × 12 + 6 240 000 = 79 747 200 → 199 368
        //           → 6 125 600 + 960 000 + 199 368 = 7 284 968;
        //   6 months: 7 284 968 × 6 + 80 000 × 21 = 45 389 808 → 113 474.52 → 113 475
        //           → 7 284 968 + 480 000 + 113 475 = 7 878 443 (78 784.43).
        assert_eq!(
            project_balance(Fen(5_000_000), Fen(80_000), 30, 300),
            Fen(7_878_443)
        );
        assert_eq!(
            project_balance(Fen(5_000_000), Fen(80_000), 12, 300),
            Fen(6_125_600)
        );
        // A full projection year agrees with `yearly_interest`.
        let credits: Vec<_> = (1..=12).map(|m| (m, Fen(80_000))).collect();
        let interest = crate::accounts::yearly_interest(Fen(5_000_000), &credits, 300);
        assert_eq!(
            Fen(5_000_000 + 960_000).checked_add(interest),
            Some(Fen(6_125_600))
        );
        // No interest: just the credits.
        assert_eq!(project_balance(Fen(100), Fen(7), 1_000, 0), Fen(7_100));
        assert_eq!(project_balance(Fen(100), Fen(7), 0, 500), Fen(100));
        assert_eq!(
            project_balance(Fen(0), Fen(1), u32::MAX, 0),
            Fen(i64::from(u32::MAX))
        );
        assert_eq!(project_balance(Fen(i64::MAX), Fen(1), 1, 0), Fen(i64::MAX));
        assert_eq!(
            project_balance(Fen::ZERO, Fen::ZERO, u32::MAX, 500),
            Fen::ZERO
        );
        // Saturation, quickly even for absurd spans.
        assert_eq!(
            project_balance(Fen(1), Fen(1_000_000), u32::MAX, 10_000),
            Fen(i64::MAX)
        );
        assert_eq!(
            project_balance(Fen(-1), Fen(-1_000_000), u32::MAX, 10_000),
            Fen(i64::MIN)
        );
    }

    #[test]
    fn growth() {
        // 10 000.00 at 5 %: 10 500.00, 11 025.00, 11 576.25.
        assert_eq!(grow(Fen(1_000_000), 500, 3), Fen(1_157_625));
        // 123.45 at 3.5 %: 12 777.075 → 12 777; 13 224.195 → 13 224.
        assert_eq!(grow(Fen(12_345), 350, 1), Fen(12_777));
        assert_eq!(grow(Fen(12_345), 350, 2), Fen(13_224));
        assert_eq!(grow(Fen(12_345), 350, 0), Fen(12_345));
        assert_eq!(grow(Fen(12_345), 0, u32::MAX), Fen(12_345));
        // 1.00 at 0.01 %: 0.01 fen a year, never a whole fen.
        assert_eq!(grow(Fen(100), 1, u32::MAX), Fen(100));
        assert_eq!(grow(Fen(1_000_000), 500, u32::MAX), Fen(i64::MAX));
        assert_eq!(grow(Fen(-1_000_000), 500, u32::MAX), Fen(i64::MIN));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod issue_15 {
    use super::*;
    use crate::region::{DivisorFraction, RegionRules};

    #[test]
    fn the_account_credit_grows_with_the_wage() {
        // 268 months from nothing, 3 % interest. Frozen at 800.00 a month: 304 116.00.
        assert_eq!(
            project_balance(Fen::ZERO, Fen(80_000), 268, 300),
            Fen(30_411_600)
        );
        // Growing 4 % a year from the 13th month (800.00, 832.00, 865.28, 899.89, …, each
        // year's credit rounded to the fen): 454 801.49.
        let yearly = CreditGrowth {
            annual_bp: 400,
            first_rise_after: 12,
        };
        assert_eq!(
            project_balance_growing(Fen::ZERO, Fen(80_000), 268, yearly, 300),
            Fen(45_480_149)
        );
        // Year 1 by hand: 12 × 800.00 = 9 600.00, interest 80 000 × 78 × 300 / 120 000 = 156.00;
        // year 2 at 832.00: (960 000 + 15 600) × 12 + 83 200 × 78 = 18 196 800 fen-months
        // → 454.92 → 9 756.00 + 9 984.00 + 454.92 = 20 194.92.
        assert_eq!(
            project_balance_growing(Fen::ZERO, Fen(80_000), 24, yearly, 300),
            Fen(2_019_492)
        );
        // The same with the rise every January, starting in November (2 months before the
        // first rise), as the estimate does for a base that follows each calendar year's wage.
        let calendar = CreditGrowth {
            annual_bp: 400,
            first_rise_after: 2,
        };
        assert_eq!(
            project_balance_growing(Fen::ZERO, Fen(80_000), 268, calendar, 300),
            Fen(46_982_278)
        );
        // No growth: exactly the frozen projection.
        let none = CreditGrowth {
            annual_bp: 0,
            first_rise_after: 12,
        };
        assert_eq!(
            project_balance_growing(Fen(5_000_000), Fen(80_000), 30, none, 300),
            project_balance(Fen(5_000_000), Fen(80_000), 30, 300)
        );
        assert_eq!(
            project_balance_growing(Fen(7), Fen(80_000), 0, yearly, 300),
            Fen(7)
        );
    }

    #[test]
    fn c_is_grown_to_the_year_before_retirement() {
        // Parameters of 2026 hold the 2025 wage, 10 000.00; retiring in 2049 needs the 2048
        // wage: 23 years at 4 % → 24 647.16 (22 years gave 23 699.19).
        assert_eq!(
            wage_before_retirement(2026, Fen(1_000_000), 2049, 400),
            Fen(2_464_716)
        );
        assert_eq!(grow(Fen(1_000_000), 400, 22), Fen(2_369_919));
        // Retiring in the parameters' own year or the next: the published wage as it is / one
        // year grown.
        assert_eq!(
            wage_before_retirement(2026, Fen(1_000_000), 2026, 400),
            Fen(1_000_000)
        );
        assert_eq!(
            wage_before_retirement(2026, Fen(1_000_000), 2027, 400),
            Fen(1_040_000)
        );
    }

    #[test]
    fn the_index_is_weighted_by_months() {
        // One month at ratio 2.0 and twelve at 1.0: (2 + 12) / 13 = 1.0769… → 10 769 bp; the
        // plain mean of the two years would be 1.5.
        let y = |base: i64, months: u32, wage: i64| (Fen(base), months, Fen(wage));
        assert_eq!(
            indexed_ratio_by_months_bp(&[y(2_000_000, 1, 1_000_000), y(12_000_000, 12, 1_000_000)]),
            Some(10_769)
        );
        assert_eq!(
            indexed_ratio_bp(&[
                (Fen(2_000_000), Fen(1_000_000)),
                (Fen(1_000_000), Fen(1_000_000))
            ]),
            Some(15_000)
        );
        // Full years weigh alike: 0.6 and 1.4 over twelve months each → 1.0.
        assert_eq!(
            indexed_ratio_by_months_bp(&[
                y(7_200_000, 12, 1_000_000),
                y(16_800_000, 12, 1_000_000)
            ]),
            Some(10_000)
        );
        assert_eq!(indexed_ratio_by_months_bp(&[]), None);
        assert_eq!(indexed_ratio_by_months_bp(&[y(100, 0, 100)]), None);
    }

    #[test]
    fn the_divisor_for_part_years_and_at_47() {
        let whole = RegionRules::default();
        let interpolated = RegionRules {
            divisor_fraction: DivisorFraction::Interpolated,
            ..whole
        };
        // 60 years 4 months: whole years → 139; interpolated 139 − 4/12 × (139 − 132) = 136.67.
        assert_eq!(
            months_divisor_at(60, 4, &whole),
            Some(MonthsDivisor::whole(139))
        );
        let d = months_divisor_at(60, 4, &interpolated).unwrap();
        assert_eq!(d.twelfths(), 1_640);
        assert_eq!(d.hundredths(), 13_667);
        assert_eq!(d.rounded(), 137);
        // 200 000.00 / 136.666… = 1 463.41 (whole years: 1 438.85).
        let inputs = PensionInputs {
            average_monthly_wage: Fen(1_000_000),
            indexed_ratio_bp: 10_000,
            contribution_months: 360,
            account_balance: Fen(20_000_000),
            divisor: d,
        };
        assert_eq!(
            estimate_pension(&inputs).unwrap().account_part,
            Fen(146_341)
        );
        // At 47: 207 by default, 208 where the region says so; 46 years 6 months interpolates
        // towards it: 212 − 6/12 × (212 − 208) = 210.
        assert_eq!(
            months_divisor_at(47, 0, &whole),
            Some(MonthsDivisor::whole(207))
        );
        let r208 = RegionRules {
            divisor_age_47: 208,
            ..interpolated
        };
        assert_eq!(
            months_divisor_at(47, 0, &r208),
            Some(MonthsDivisor::whole(208))
        );
        assert_eq!(
            months_divisor_at(46, 6, &r208),
            Some(MonthsDivisor::whole(210))
        );
        // 70 and some months: nothing beyond the table.
        assert_eq!(
            months_divisor_at(70, 6, &interpolated),
            Some(MonthsDivisor::whole(56))
        );
        assert_eq!(months_divisor_at(71, 0, &whole), None);
        assert_eq!(months_divisor_at(39, 11, &interpolated), None);
    }
}
