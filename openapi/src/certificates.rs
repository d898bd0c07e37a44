//! The contribution certificate (参保证明): issuing one, the person's list, and the public
//! verification anyone holding a certificate can call.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// `contribution_history`: every month of the period with its status, and the amounts paid
/// (缴费明细); `insured_status`: the standing per insurance at the period's end, with the months
/// behind it (参保状态).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CertificateKind {
    ContributionHistory,
    InsuredStatus,
}

/// The months a certificate covers, `YYYY-MM`, both included.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CertificatePeriod {
    #[schema(example = "2025-01")]
    pub from: String,
    #[schema(example = "2025-12")]
    pub to: String,
}

/// A certificate to issue: `from` ≤ `to`, `to` not after the current month, at most 480 months (forty years).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "contribution_history", "from": "2025-01", "to": "2025-12"}))]
pub struct CertificateRequest {
    pub kind: CertificateKind,
    /// First month, `YYYY-MM`.
    #[schema(pattern = "^(19|[2-9][0-9])[0-9]{2}-(0[1-9]|1[0-2])$")]
    pub from: String,
    /// Last month, `YYYY-MM`.
    #[schema(pattern = "^(19|[2-9][0-9])[0-9]{2}-(0[1-9]|1[0-2])$")]
    pub to: String,
}

/// An issued certificate: where to download it (with the person's token) and where anyone can
/// verify it (the URL in its QR code, with the signed token).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a3c0-5b7e-7d2a-9c1f-2b4e6a8c0d1e",
    "pdf_url": "http://127.0.0.1:8080/v1/me/certificates/0193a3c0-5b7e-7d2a-9c1f-2b4e6a8c0d1e.pdf",
    "verify_url": "http://127.0.0.1:8080/v1/certificates/0193a3c0-5b7e-7d2a-9c1f-2b4e6a8c0d1e/verify?token=eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCIsImtpZCI6Ii4uLiJ9.eyJ...",
    "expires_at": "2027-03-03T08:00:00Z"
}))]
pub struct CertificateIssued {
    pub id: Uuid,
    pub pdf_url: String,
    pub verify_url: String,
    pub expires_at: DateTime<Utc>,
}

/// A certificate in the person's list.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CertificateSummary {
    pub id: Uuid,
    pub kind: CertificateKind,
    pub period: CertificatePeriod,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Set once the owner revoked it: it no longer verifies.
    pub revoked_at: Option<DateTime<Utc>>,
    /// SHA-256 of the PDF as issued, lower-case hex.
    pub sha256: String,
    pub pdf_url: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CertificateList {
    pub items: Vec<CertificateSummary>,
    pub next_cursor: Option<String>,
}

/// Why a certificate does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvalidReason {
    /// Its owner revoked it.
    Revoked,
    /// Past its `expires_at`.
    Expired,
    /// The `sha256` given is not that of the PDF issued: the copy was altered.
    Sha256Mismatch,
    /// The `token` given is not one the service signed for this certificate.
    TokenInvalid,
}

/// What a verification says. Only masked personal data.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "valid": true,
    "reason": null,
    "id": "0193a3c0-5b7e-7d2a-9c1f-2b4e6a8c0d1e",
    "kind": "contribution_history",
    "issued_to": "张**",
    "national_id": "110***********4514",
    "period": {"from": "2025-01", "to": "2025-12"},
    "issued_at": "2026-12-03T08:00:00Z",
    "expires_at": "2027-03-03T08:00:00Z",
    "revoked_at": null,
    "sha256": "9f2c6d3b1a0e4f5c8b7a6d5e4f3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c"
}))]
pub struct CertificateVerification {
    pub valid: bool,
    /// Why not, when `valid` is false.
    pub reason: Option<InvalidReason>,
    pub id: Uuid,
    pub kind: CertificateKind,
    /// The holder's name, masked (`张**`).
    pub issued_to: String,
    /// The holder's ID number, masked.
    pub national_id: String,
    pub period: CertificatePeriod,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// SHA-256 of the PDF as issued, lower-case hex: compare a copy's hash with it.
    pub sha256: String,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VerifyQuery {
    /// The signed token from the QR code (optional: the id alone verifies too). A token that
    /// is not the service's for this certificate answers `valid: false`, `token_invalid`.
    pub token: Option<String>,
    /// The SHA-256 (hex) of the copy being checked: `valid: false`, `sha256_mismatch` if it is
    /// not the issued PDF's.
    #[param(pattern = "^[0-9a-fA-F]{64}$")]
    pub sha256: Option<String>,
}

/// A PDF document: the bytes themselves (`type: string, format: binary`).
pub struct PdfFile;

impl utoipa::PartialSchema for PdfFile {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, SchemaFormat, Type};
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .description(Some("The certificate as issued (PDF)."))
            .into()
    }
}

impl utoipa::ToSchema for PdfFile {}
