//! Money as integer fen (1 yuan = 100 fen). No floats anywhere near money.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An amount of money in fen (1/100 yuan). Arithmetic is checked; rounding is explicit.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Fen(pub i64);

impl Fen {
    pub const ZERO: Fen = Fen(0);

    /// Whole yuan as fen; `None` on overflow.
    pub fn from_yuan(yuan: i64) -> Option<Fen> {
        yuan.checked_mul(100).map(Fen)
    }

    pub fn checked_add(self, o: Fen) -> Option<Fen> {
        self.0.checked_add(o.0).map(Fen)
    }

    pub fn checked_sub(self, o: Fen) -> Option<Fen> {
        self.0.checked_sub(o.0).map(Fen)
    }

    /// `self * n`; `None` on overflow (e.g. a monthly amount times a number of months).
    pub fn checked_mul(self, n: i64) -> Option<Fen> {
        self.0.checked_mul(n).map(Fen)
    }

    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// `self * bp / 10000` (basis points: 1600 = 16 %), rounded half away from zero.
    /// `None` if the result does not fit.
    pub fn apply_bp(self, bp: u32) -> Option<Fen> {
        div_round_half_away(i128::from(self.0) * i128::from(bp), 10_000)
    }

    /// `self * pct / 100`, rounded half away from zero. `None` if the result does not fit.
    pub fn apply_pct(self, pct: u32) -> Option<Fen> {
        div_round_half_away(i128::from(self.0) * i128::from(pct), 100)
    }

    /// The amount in yuan with exactly two decimals and no currency sign: `"1234.50"`, `"-0.05"`.
    pub fn yuan_string(&self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        format!("{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl fmt::Display for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.yuan_string())
    }
}

/// `numerator / denominator` rounded half away from zero, as fen; `None` if it does not fit in
/// an `i64`. `denominator` must be positive.
pub(crate) fn div_round_half_away(numerator: i128, denominator: i128) -> Option<Fen> {
    i64::try_from(div_round_half_away_i128(numerator, denominator))
        .ok()
        .map(Fen)
}

/// `numerator / denominator` rounded half away from zero. `denominator` must be positive.
pub(crate) fn div_round_half_away_i128(numerator: i128, denominator: i128) -> i128 {
    debug_assert!(denominator > 0);
    let quotient = numerator / denominator;
    let remainder = numerator % denominator;
    // `remainder` has the sign of `numerator` (truncating division); compare magnitudes.
    if remainder.unsigned_abs() * 2 >= denominator.unsigned_abs() {
        quotient + numerator.signum()
    } else {
        quotient
    }
}

/// An `i128` amount of fen clamped into the range of [`Fen`].
pub(crate) fn saturating_fen(value: i128) -> Fen {
    Fen(i64::try_from(value).unwrap_or(if value < 0 { i64::MIN } else { i64::MAX }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn yuan_strings() {
        assert_eq!(Fen(123_450).yuan_string(), "1234.50");
        assert_eq!(Fen(-5).yuan_string(), "-0.05");
        assert_eq!(Fen(0).yuan_string(), "0.00");
        assert_eq!(Fen(7).to_string(), "0.07");
        assert_eq!(Fen(-100).to_string(), "-1.00");
        assert_eq!(Fen(i64::MIN).yuan_string(), "-92233720368547758.08");
        assert_eq!(Fen(i64::MAX).yuan_string(), "92233720368547758.07");
    }

    #[test]
    fn checked_arithmetic() {
        assert_eq!(Fen(1).checked_add(Fen(2)), Some(Fen(3)));
        assert_eq!(Fen(i64::MAX).checked_add(Fen(1)), None);
        assert_eq!(Fen(1).checked_sub(Fen(2)), Some(Fen(-1)));
        assert_eq!(Fen(i64::MIN).checked_sub(Fen(1)), None);
        assert_eq!(Fen::from_yuan(10_000), Some(Fen(1_000_000)));
        assert_eq!(Fen::from_yuan(i64::MAX), None);
        assert_eq!(Fen(25).checked_mul(12), Some(Fen(300)));
    }

    #[test]
    fn bp_rounding_half_away_from_zero() {
        // 16 % of 8 000.00 yuan = 1 280.00 exactly.
        assert_eq!(Fen(800_000).apply_bp(1600), Some(Fen(128_000)));
        // 0.5 % of 1.00 yuan = 0.5 fen -> 1 fen; of -1.00 yuan -> -1 fen (away from zero).
        assert_eq!(Fen(100).apply_bp(50), Some(Fen(1)));
        assert_eq!(Fen(-100).apply_bp(50), Some(Fen(-1)));
        // 0.49 fen rounds down, 0.51 fen rounds up: 98 * 50 / 10000 = 0.49; 102 * 50 / 10000 = 0.51.
        assert_eq!(Fen(98).apply_bp(50), Some(Fen(0)));
        assert_eq!(Fen(102).apply_bp(50), Some(Fen(1)));
        assert_eq!(Fen(-98).apply_bp(50), Some(Fen(0)));
        assert_eq!(Fen(-102).apply_bp(50), Some(Fen(-1)));
        // 8 % of 12 345.67 yuan = 987.6536 -> 987.65; 2 % of 3 333.25 = 66.665 -> 66.67.
        assert_eq!(Fen(1_234_567).apply_bp(800), Some(Fen(98_765)));
        assert_eq!(Fen(333_325).apply_bp(200), Some(Fen(6_667)));
        assert_eq!(Fen(-333_325).apply_bp(200), Some(Fen(-6_667)));
        assert_eq!(Fen(12_345).apply_bp(0), Some(Fen(0)));
        assert_eq!(Fen(12_345).apply_bp(10_000), Some(Fen(12_345)));
    }

    #[test]
    fn pct_rounding_half_away_from_zero() {
        // 60 % of 10 000.00 yuan = 6 000.00.
        assert_eq!(Fen(1_000_000).apply_pct(60), Some(Fen(600_000)));
        // 60 % of 0.01 yuan = 0.6 fen -> 1; 50 % of 0.01 = 0.5 -> 1; 40 % -> 0.
        assert_eq!(Fen(1).apply_pct(60), Some(Fen(1)));
        assert_eq!(Fen(1).apply_pct(50), Some(Fen(1)));
        assert_eq!(Fen(1).apply_pct(40), Some(Fen(0)));
        assert_eq!(Fen(-1).apply_pct(50), Some(Fen(-1)));
        assert_eq!(Fen(-1).apply_pct(40), Some(Fen(0)));
        // 300 % of 33.33 = 99.99.
        assert_eq!(Fen(3_333).apply_pct(300), Some(Fen(9_999)));
    }

    #[test]
    fn overflow_is_none() {
        assert_eq!(Fen(i64::MAX).apply_pct(200), None);
        assert_eq!(Fen(i64::MIN).apply_bp(20_000), None);
        // Shrinking never overflows, even at the extremes (i128 inside).
        assert_eq!(Fen(i64::MAX).apply_pct(100), Some(Fen(i64::MAX)));
        assert_eq!(Fen(i64::MIN).apply_bp(5_000), Some(Fen(i64::MIN / 2)));
    }

    #[test]
    fn serde_is_a_bare_integer() {
        assert_eq!(serde_json::to_string(&Fen(-5)).unwrap(), "-5");
        assert_eq!(serde_json::from_str::<Fen>("123450").unwrap(), Fen(123_450));
    }
}
