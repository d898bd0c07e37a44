//! Benefit payments' kinds, and unemployment benefit entitlement.

use crate::ValueError;

/// The longest period, in months, for which unemployment benefit (失业保险金) can be drawn, by the
/// cumulative contribution period of the person and their employer (失业保险条例 art. 17):
///
/// * under 1 year: 0 (art. 14 requires at least one full year);
/// * 1 year to under 5 years: 12 months;
/// * 5 years to under 10 years: 18 months;
/// * 10 years or more: 24 months.
///
/// Art. 17 also lets a person who becomes unemployed again add the unused months of the earlier
/// entitlement (up to 24 months in all); that, and the benefit's amount (set locally, between the
/// subsistence allowance and the minimum wage), are outside this function.
pub fn unemployment_months(contribution_months: u32) -> u32 {
    match contribution_months {
        0..=11 => 0,
        12..=59 => 12,
        60..=119 => 18,
        _ => 24,
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
