//! The five social insurances.

use serde::{Deserialize, Serialize};

/// One of the five social insurances (五险).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InsuranceType {
    /// 养老保险
    Pension,
    /// 医疗保险
    Medical,
    /// 失业保险
    Unemployment,
    /// 工伤保险
    WorkInjury,
    /// 生育保险
    Maternity,
}

string_enum!(InsuranceType, allowed = "pension, medical, unemployment, work_injury, maternity", {
    Pension => "pension",
    Medical => "medical",
    Unemployment => "unemployment",
    WorkInjury => "work_injury",
    Maternity => "maternity",
});

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::error::ValueError;

    #[test]
    fn names_round_trip_and_match_serde() {
        assert_eq!(InsuranceType::ALL.len(), 5);
        for insurance in InsuranceType::ALL {
            assert_eq!(InsuranceType::parse(insurance.as_str()), Ok(insurance));
            assert_eq!(insurance.to_string(), insurance.as_str());
            assert_eq!(
                serde_json::to_string(&insurance).unwrap(),
                format!("\"{}\"", insurance.as_str())
            );
        }
        assert_eq!(InsuranceType::WorkInjury.as_str(), "work_injury");
        assert_eq!(
            " medical ".parse::<InsuranceType>(),
            Ok(InsuranceType::Medical)
        );
    }

    #[test]
    fn unknown_names_are_rejected() {
        let error = ValueError::OneOf {
            allowed: "pension, medical, unemployment, work_injury, maternity",
        };
        for bad in ["", "Pension", "work-injury", "workinjury", "health"] {
            assert_eq!(InsuranceType::parse(bad), Err(error), "{bad}");
        }
    }
}
