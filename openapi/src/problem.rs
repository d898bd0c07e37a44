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
    #[schema(value_type = FieldErrorCode)]
    pub code: String,
    pub message: String,
}

/// Why a field was rejected. `message` says it in words, in the request's language (a range
/// error names the range, e.g. "must be between 1 and 100").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldErrorCode {
    /// The field is missing (or null).
    Required,
    /// The JSON value has the wrong type (text where a number belongs, …).
    Type,
    /// Empty, or only whitespace.
    Empty,
    /// Longer than the maximum number of characters.
    TooLong,
    /// Shorter than the minimum number of characters.
    TooShort,
    /// Not in the expected shape (pattern).
    Format,
    /// The check character of an ID number or credit code does not match.
    CheckCharacter,
    /// Not a calendar date.
    Date,
    /// Not one of the allowed values.
    OneOf,
    /// A number outside its range; the message names the range.
    Range,
    /// Holds a control character.
    ControlCharacter,
    /// A rule across fields or about the value's meaning (e.g. "the base floor must not be above
    /// the base ceiling", "give exactly one of password or code"); the message names the rule.
    Rule,
    /// Names something the registry does not have (an unknown region, a CSV column it does not
    /// know, …).
    Unknown,
}
