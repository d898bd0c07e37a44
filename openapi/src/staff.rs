//! Bodies of the staff part of the API (`/v1/staff/...`).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::wire::{EmploymentStatus, Gender, MedicalCategory, StaffRole, TimeZone};

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"username": "admin", "password": "correct horse battery staple"}))]
pub struct StaffLoginRequest {
    pub username: String,
    pub password: String,
}

/// An access token for the staff API.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StaffTokenResponse {
    /// A signed JWT (EdDSA); send it as `Authorization: Bearer <token>`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the token expires.
    pub expires_in: i64,
    pub role: StaffRole,
}

/// Registers an insured person. Every field is required; all missing or invalid fields are
/// reported together.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "national_id": "11010519491231002X", "name": "张三", "region": "440300",
    "card_number": "A44030000099", "medical_category": "employee", "employment_status": "employed"
}))]
pub struct CreatePersonRequest {
    /// 18-character resident ID number (GB 11643); the check character is verified.
    #[serde(default)]
    #[schema(required = true, value_type = String, pattern = "^[1-9][0-9]{16}[0-9Xx]$")]
    pub national_id: Option<String>,
    /// As on the ID card: Chinese characters or Latin letters, with spaces, `·`, `.`, `-` or
    /// apostrophes between them; 1–64 characters.
    #[serde(default)]
    #[schema(required = true, value_type = String, min_length = 1, max_length = 64, pattern = r"^\s*[ ·.\-'’A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]*[A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff][ ·.\-'’A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]*\s*$")]
    pub name: Option<String>,
    /// A region code (6 digits) the registry knows.
    #[serde(default)]
    #[schema(required = true, value_type = String, pattern = "^[1-9][0-9]{5}$")]
    pub region: Option<String>,
    /// Social-security card number: 9–20 letters and digits.
    #[serde(default)]
    #[schema(required = true, value_type = String, pattern = "^[0-9A-Za-z]{9,20}$")]
    pub card_number: Option<String>,
    #[serde(default)]
    #[schema(required = true, value_type = MedicalCategory)]
    pub medical_category: Option<String>,
    #[serde(default)]
    #[schema(required = true, value_type = EmploymentStatus)]
    pub employment_status: Option<String>,
}

/// An insured person. The ID number is always masked.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PersonView {
    pub id: Uuid,
    /// Masked: first 3 and last 4 characters, e.g. `110***********002X`.
    pub national_id: String,
    pub name: String,
    /// Derived from the ID number.
    pub gender: Gender,
    /// Derived from the ID number.
    pub birth_date: NaiveDate,
    pub region: String,
    pub card_number: String,
    pub medical_category: MedicalCategory,
    pub employment_status: EmploymentStatus,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"name": "深圳市示例科技有限公司", "credit_code": "91440300MA5F0000X1", "region": "440300"}))]
pub struct CreateEmployerRequest {
    #[serde(default)]
    #[schema(required = true, value_type = String, min_length = 1, max_length = 128, pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$")]
    pub name: Option<String>,
    /// Unified social credit code (GB 32100); the check character is verified.
    #[serde(default)]
    #[schema(required = true, value_type = String, pattern = "^[0-9A-HJ-NPQRTUWXY]{18}$")]
    pub credit_code: Option<String>,
    #[serde(default)]
    #[schema(required = true, value_type = String, pattern = "^[1-9][0-9]{5}$")]
    pub region: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EmployerView {
    pub id: Uuid,
    pub name: String,
    pub credit_code: String,
    pub region: String,
    pub created_at: DateTime<Utc>,
}

/// Why a staff member reads a person's data.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StaffReadQuery {
    /// Why the person's data is read (1–500 characters, no control characters). Required:
    /// it is recorded in the audit log and shown to the person in their access log.
    #[param(
        required = true,
        min_length = 1,
        max_length = 500,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub reason: Option<String>,
}

/// Pagination of a list: `cursor` continues after the last item of the previous page.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1–100 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page (base64url). One that no page gave reads as a
    /// position in the list like any other: it never fails, at worst the page is empty.
    #[param(
        max_length = 344,
        pattern = "^([A-Za-z0-9_-]{4})*([A-Za-z0-9_-]{2,3})?$"
    )]
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RegionSummary {
    /// 6-digit administrative division code (GB/T 2260).
    pub code: String,
    pub name: String,
    /// IANA time zone the region's times are shown in.
    pub time_zone: String,
    /// The years for which contribution parameters are loaded.
    pub parameter_years: Vec<i32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RegionList {
    pub items: Vec<RegionSummary>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Employer and employee rates of one insurance, in basis points (1600 = 16 %).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RatePair {
    /// 0–10000; employer and employee together at most 10000.
    #[schema(minimum = 0, maximum = 10000)]
    pub employer_bp: u16,
    /// 0–10000; employer and employee together at most 10000.
    #[schema(minimum = 0, maximum = 10000)]
    pub employee_bp: u16,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RatesView {
    pub pension: RatePair,
    pub medical: RatePair,
    pub unemployment: RatePair,
    pub work_injury: RatePair,
    pub maternity: RatePair,
}

/// A region's contribution parameters for one year.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct YearParametersView {
    pub year: i32,
    /// The previous year's average monthly wage, which sets this year's base bounds (fen).
    pub average_monthly_wage_fen: i64,
    pub base_floor_pct: u16,
    pub base_ceiling_pct: u16,
    /// The lowest contribution base this year (fen).
    pub base_floor_fen: i64,
    /// The highest contribution base this year (fen).
    pub base_ceiling_fen: i64,
    /// Late fee per day in basis points of the overdue amount (5 = 0.05 %).
    pub late_fee_bp_per_day: u16,
    pub rates: RatesView,
    /// The share of the pension base credited to the personal account (bp): 1100 before 2006,
    /// 800 from 2006 unless set otherwise.
    pub personal_account_bp: u16,
    /// Flexible employment's pension rate on the chosen base (bp; 2000 = 20 %).
    pub flexible_pension_bp: u16,
    /// The part of the flexible pension base credited to the personal account (bp).
    pub flexible_pension_personal_bp: u16,
    /// Flexible employment's medical rate on the chosen base (bp), for those in the employees'
    /// medical insurance.
    pub flexible_medical_bp: u16,
    /// The resident medical premium for this year, per person (fen).
    pub resident_medical_premium_fen: i64,
    /// The first and last day the resident premium for this year is collected (usually in the
    /// year before); null when not collected through the app.
    pub resident_medical_opens: Option<chrono::NaiveDate>,
    pub resident_medical_closes: Option<chrono::NaiveDate>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RegionView {
    pub code: String,
    pub name: String,
    pub time_zone: String,
    /// The day of the following month by which a month's contributions are due (1–28); after
    /// it the month is in arrears and the late fee runs.
    pub contribution_due_day: u8,
    /// The personal-account divisor at age 47 (207 or 208; the annex's transcriptions differ).
    pub divisor_age_47: u16,
    /// `whole_years` (the divisor of the age in whole years) or `interpolated` (by month between
    /// whole years) for a retirement age that is not a whole number of years.
    #[schema(value_type = DivisorFraction)]
    pub divisor_fraction: String,
    /// Oldest first.
    pub years: Vec<YearParametersView>,
}

/// How the personal-account divisor is read for a retirement age that is not a whole number of
/// years.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DivisorFraction {
    WholeYears,
    Interpolated,
}

/// Creates or updates a region.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"name": "深圳市", "time_zone": "Asia/Shanghai"}))]
pub struct RegionUpsert {
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
    /// An IANA time zone.
    #[schema(value_type = TimeZone)]
    pub time_zone: String,
    /// 1–28; omitted: unchanged (15 for a new region).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 28)]
    pub contribution_due_day: Option<u8>,
    /// 207 or 208; omitted: unchanged (207 for a new region).
    #[serde(default)]
    #[schema(minimum = 207, maximum = 208)]
    pub divisor_age_47: Option<u16>,
    /// `whole_years` or `interpolated`; omitted: unchanged (`whole_years` for a new region).
    #[serde(default)]
    #[schema(value_type = Option<DivisorFraction>)]
    pub divisor_fraction: Option<String>,
}

/// Employer and employee rates of every insurance, in basis points.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RatesInput {
    pub pension: RatePair,
    pub medical: RatePair,
    pub unemployment: RatePair,
    pub work_injury: RatePair,
    pub maternity: RatePair,
}

/// A region's contribution parameters for one year. No floats: percentages and basis points.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "average_monthly_wage_fen": 1200000, "base_floor_pct": 60, "base_ceiling_pct": 300, "late_fee_bp_per_day": 5,
    "rates": {"pension": {"employer_bp": 1600, "employee_bp": 800}, "medical": {"employer_bp": 800, "employee_bp": 200},
              "unemployment": {"employer_bp": 50, "employee_bp": 50}, "work_injury": {"employer_bp": 40, "employee_bp": 0},
              "maternity": {"employer_bp": 80, "employee_bp": 0}}
}))]
pub struct YearParametersInput {
    /// The previous year's average monthly wage, which sets this year's base bounds (fen).
    #[schema(minimum = 1, maximum = 1000000000)]
    pub average_monthly_wage_fen: i64,
    /// 1–1000, at most `base_ceiling_pct`.
    #[schema(minimum = 1, maximum = 1000)]
    pub base_floor_pct: u16,
    /// 1–1000, at least `base_floor_pct`.
    #[schema(minimum = 1, maximum = 1000)]
    pub base_ceiling_pct: u16,
    /// 0–10000.
    #[schema(minimum = 0, maximum = 10000)]
    pub late_fee_bp_per_day: u16,
    pub rates: RatesInput,
    /// The share of the pension base credited to the personal account (bp, 0–10000); omitted:
    /// 1100 for years before 2006 (国发〔1997〕26号), 800 from 2006 (国发〔2005〕38号).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 10000)]
    pub personal_account_bp: Option<u16>,
    /// Flexible employment's pension rate (bp, 0–10000); omitted: 2000.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 10000)]
    pub flexible_pension_bp: Option<u16>,
    /// The part of the flexible pension base credited to the personal account (bp, at most
    /// `flexible_pension_bp`); omitted: 800.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 10000)]
    pub flexible_pension_personal_bp: Option<u16>,
    /// Flexible employment's medical rate (bp, 0–10000); omitted: 800.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 10000)]
    pub flexible_medical_bp: Option<u16>,
    /// The resident medical premium per person (fen, 0–10000000); omitted: 40000.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 10000000)]
    pub resident_medical_premium_fen: Option<i64>,
    /// The collection window of the resident premium: both days or neither, opens ≤ closes.
    #[serde(default)]
    pub resident_medical_opens: Option<chrono::NaiveDate>,
    #[serde(default)]
    pub resident_medical_closes: Option<chrono::NaiveDate>,
}

/// Credits a year's interest to every personal pension account of a region.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"region": "440300", "year": 2025, "rate_bp": 262}))]
pub struct PensionInterestRequest {
    #[schema(pattern = "^[1-9][0-9]{5}$")]
    pub region: String,
    /// 1990–2100.
    #[schema(minimum = 1990, maximum = 2100)]
    pub year: i32,
    /// The published yearly rate in basis points (2.62 % = 262), 0–2000.
    #[schema(minimum = 0, maximum = 2000)]
    pub rate_bp: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PensionInterestResult {
    pub region: String,
    pub year: i32,
    pub rate_bp: u32,
    /// Accounts credited.
    pub persons: u32,
    pub interest_total_fen: i64,
}

/// A staff look-up of persons: exactly one of `national_id`, `card_number` or `name` (with
/// `region`). Every look-up is audited with `reason`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PersonSearchQuery {
    /// 18-character resident ID number; matched through its blind index (exact).
    #[param(pattern = "^[1-9][0-9]{16}[0-9Xx]$")]
    pub national_id: Option<String>,
    /// Social security card number (exact).
    #[param(pattern = "^[0-9A-Za-z]{9,20}$")]
    pub card_number: Option<String>,
    /// Full name, matched exactly (no prefix or fuzzy match); needs `region`.
    #[param(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: Option<String>,
    /// 6-digit region code the person is registered in; required with `name`, only with it.
    #[param(pattern = "^[1-9][0-9]{5}$")]
    pub region: Option<String>,
    /// Why the look-up is made (1–500 characters, no control characters). Required: it is
    /// recorded in the audit log and shown to every person found in their access log.
    #[param(
        required = true,
        min_length = 1,
        max_length = 500,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub reason: Option<String>,
    /// Items per page, 1–100 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page (base64url).
    #[param(
        max_length = 344,
        pattern = "^([A-Za-z0-9_-]{4})*([A-Za-z0-9_-]{2,3})?$"
    )]
    pub cursor: Option<String>,
}

/// A staff look-up of employers: exactly one of `credit_code` or `name`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EmployerSearchQuery {
    /// 18-character unified social credit code (exact).
    #[param(pattern = "^[0-9A-HJ-NPQRTUWXY]{18}$")]
    pub credit_code: Option<String>,
    /// Registered name, matched exactly (no prefix or fuzzy match).
    #[param(
        min_length = 1,
        max_length = 128,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: Option<String>,
    /// Items per page, 1–100 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page (base64url).
    #[param(
        max_length = 344,
        pattern = "^([A-Za-z0-9_-]{4})*([A-Za-z0-9_-]{2,3})?$"
    )]
    pub cursor: Option<String>,
}

/// A page of persons found; ID numbers are masked.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PersonList {
    pub items: Vec<PersonView>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// A page of employers found.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EmployerList {
    pub items: Vec<EmployerView>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}
