//! Bodies of the staff bulk imports (`POST /v1/staff/…:import`).
//!
//! The request is JSON Lines (one object per line, shaped like the `…ImportRow` schemas below) or
//! CSV with a header row naming the same columns. The row schemas document one line; the answer
//! is an [`ImportResult`]. The row schemas carry no `example`: an example under a JSON Lines media
//! type would be one object, which no tool can send as such (schemathesis reports it as not
//! serialisable); the CSV media type carries the example instead.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What an import did. Counts are of non-blank lines after the CSV header.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "accepted": 998, "unchanged": 0, "rejected_total": 2,
    "rejected": [
        {"line": 7, "code": "unknown_person", "field": "national_id", "message": "No registered person has this ID number."},
        {"line": 12, "code": "no_year_parameters", "field": "period", "message": "Region 440300 has no contribution parameters for 2013."}
    ]
}))]
pub struct ImportResult {
    /// Rows stored: new rows inserted, and rows that differed from the stored ones updated.
    pub accepted: u64,
    /// Rows equal to what is stored already (a re-sent file changes nothing).
    pub unchanged: u64,
    /// The first 1,000 rejected lines, in line order.
    pub rejected: Vec<ImportRejection>,
    /// How many lines were rejected in all (may exceed the length of `rejected`).
    pub rejected_total: u64,
}

/// Why one line was not imported.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ImportRejection {
    /// 1-based line number in the body (for CSV the header is line 1).
    pub line: u64,
    /// Stable code: `malformed_line`, `line_too_long`, `not_utf8`, `unknown_field`,
    /// `missing_field`, `invalid_field`, `unknown_person`, `unknown_employer`,
    /// `no_year_parameters`, `employer_required`, `total_mismatch`, `adjustment_incomplete`,
    /// `external_id_conflict`, `unknown_region`.
    pub code: String,
    /// The column the rejection is about, when it is about one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Human-readable, in Chinese or English by `Accept-Language`.
    pub message: String,
}

/// One of the five insurances.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportInsurance {
    Pension,
    Medical,
    Unemployment,
    WorkInjury,
    Maternity,
}

/// One contribution line. The key is (person, employer, period, insurance): a line with the key of
/// a stored row updates it. Amounts are computed from the region's parameters for the period's
/// year (the person's region); status is `paid` when `paid_at` is given, else `due`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ContributionImportRow {
    /// The person's 18-character ID number; the person must be registered.
    pub national_id: String,
    /// The employer's unified social credit code; absent or empty for flexible employment, which
    /// pays only pension (20 % of the chosen base, by the person alone).
    #[serde(default)]
    pub employer_credit_code: Option<String>,
    /// `YYYY-MM`.
    pub period: String,
    #[schema(inline)]
    pub insurance: ImportInsurance,
    /// The declared monthly wage in fen (for flexible employment, the chosen base); clamped to the
    /// year's base bounds.
    #[schema(minimum = 0)]
    pub declared_wage_fen: i64,
    /// When it was paid (RFC 3339); absent while unpaid.
    #[serde(default)]
    pub paid_at: Option<String>,
}

/// What a medical-account transaction was for.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportMedicalKind {
    Outpatient,
    Inpatient,
    Pharmacy,
    Credit,
    Other,
}

/// One medical-account transaction line, idempotent on `external_id`.
/// `total_fen` must equal `account_paid_fen + fund_paid_fen + self_paid_fen`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MedicalTransactionImportRow {
    /// The sender's id of the transaction (at most 128 characters), unique across persons.
    pub external_id: String,
    pub national_id: String,
    /// RFC 3339.
    pub occurred_at: String,
    pub institution_code: String,
    pub institution_name: String,
    #[schema(inline)]
    pub kind: ImportMedicalKind,
    #[schema(minimum = 0)]
    pub total_fen: i64,
    #[schema(minimum = 0)]
    pub account_paid_fen: i64,
    #[schema(minimum = 0)]
    pub fund_paid_fen: i64,
    #[schema(minimum = 0)]
    pub self_paid_fen: i64,
}

/// Which benefit a payment is.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportBenefitKind {
    Pension,
    Unemployment,
}

/// One benefit-payment line, idempotent on `external_id`. The adjustment fields come together or
/// not at all.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BenefitPaymentImportRow {
    pub external_id: String,
    pub national_id: String,
    #[schema(inline)]
    pub kind: ImportBenefitKind,
    /// `YYYY-MM`: the month the payment is for.
    pub period: String,
    #[schema(minimum = 0)]
    pub amount_fen: i64,
    /// RFC 3339.
    pub paid_at: String,
    #[serde(default)]
    pub adjustment_reason: Option<String>,
    /// The adjustment included in `amount_fen` (may be negative).
    #[serde(default)]
    pub adjustment_delta_fen: Option<i64>,
}
