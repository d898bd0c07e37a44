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
            .into()
    }
}

impl ToSchema for TimeZone {}
