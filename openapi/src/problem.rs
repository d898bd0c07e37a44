use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem details body. `code` is stable and meant for programs; `title` and
/// `detail` are for people, in Chinese or English by `Accept-Language`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:shebao:problem:validation_failed",
    "title": "Validation failed",
    "status": 422,
    "detail": "One or more fields are invalid.",
    "code": "validation_failed",
    "instance": "/v1/staff/persons",
    "request_id": "0193a6a4-6a53-7c1e-9d4e-1f1e2d3c4b5a",
    "errors": [{"field": "national_id", "code": "check_character", "message": "the check character does not match"}]
}))]
pub struct Problem {
    /// A URI naming the problem type: `urn:shebao:problem:<code>`.
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable, machine-readable error code.
    pub code: String,
    /// The request path the problem occurred on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// The request id, also sent in the `X-Request-Id` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Per-field errors, on validation failures.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// Why one field of the request was rejected.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    /// The field's JSON path, e.g. `national_id` or `rates.pension.employer_bp`.
    pub field: String,
    /// Stable code: `required`, `format`, `check_character`, `date`, `one_of`, `range`, `unknown`, …
    pub code: String,
    pub message: String,
}
