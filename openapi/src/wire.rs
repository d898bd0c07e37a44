//! Enumerations as they appear on the wire.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Gender {
    Male,
    Female,
}

/// Medical insurance category: employee (职工医保) or urban-rural resident (城乡居民医保).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MedicalCategory {
    Employee,
    Resident,
}

/// `flexible` is flexible employment (灵活就业): the person pays their own contributions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EmploymentStatus {
    Employed,
    Flexible,
    Unemployed,
    Retired,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StaffRole {
    Caseworker,
    Admin,
}

/// Where a background job is: `queued` (waiting for its `run_at`), `running` (a worker holds
/// its lease), `done`, or `dead` (no tries left; kept with its error until retried).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Running,
    Done,
    Dead,
}
/// An IANA time zone name the server knows, spelt exactly (`Asia/Shanghai`).
pub struct TimeZone;

impl utoipa::PartialSchema for TimeZone {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "An IANA time zone name, spelt exactly (`Asia/Shanghai`).",
            ))
            .enum_values(Some(chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name())))
            // Names for the generated clients' enum members: upper-cased as they stand,
            // `GMT+0`, `GMT-0` and `GMT0` would all be `GMT0`.
            .extensions(Some(
                utoipa::openapi::extensions::ExtensionsBuilder::new()
                    .add(
                        "x-enum-varnames",
                        chrono_tz::TZ_VARIANTS
                            .iter()
                            .map(|tz| time_zone_member(tz.name()))
                            .collect::<Vec<_>>(),
                    )
                    .build(),
            ))
            .into()
    }
}

impl ToSchema for TimeZone {}

/// A time zone's member name in a generated client: words, with `+` and `-` spelt out, so every
/// name stays distinct (`Etc/GMT+1` → `Etc GMT plus 1`, `Etc/GMT-1` → `Etc GMT minus 1`).
fn time_zone_member(name: &str) -> String {
    name.replace('+', " plus ")
        .replace('-', " minus ")
        .replace(['/', '_'], " ")
}

#[cfg(test)]
mod time_zone_tests {
    use super::time_zone_member;

    /// Generators upper-case a member name and drop what is not a letter or digit: every time
    /// zone must still get a name of its own (a clash stops `openapi-python-client`).
    #[test]
    fn every_time_zone_gets_a_member_name_of_its_own() {
        let mut seen = std::collections::HashSet::new();
        for tz in chrono_tz::TZ_VARIANTS.iter() {
            let key: String = time_zone_member(tz.name())
                .split_whitespace()
                .map(str::to_uppercase)
                .collect::<Vec<_>>()
                .join("_");
            assert!(seen.insert(key.clone()), "{} clashes as {key}", tz.name());
        }
        assert_eq!(time_zone_member("Etc/GMT+1"), "Etc GMT plus 1");
    }
}
