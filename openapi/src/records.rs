//! Bodies of the person's records (`/v1/me/contributions`, accounts, benefits) and the staff
//! views of them. Money is integer fen in fields named `…_fen`; months are `YYYY-MM`.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Insurance {
    Pension,
    Medical,
    Unemployment,
    WorkInjury,
    Maternity,
}

/// `pending` = declared but not reconciled yet: never shown as zero or as paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContributionStatus {
    Paid,
    Due,
    Arrears,
    Pending,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContributionQuery {
    /// One insurance only.
    #[param(value_type = Option<Insurance>)]
    pub insurance: Option<String>,
    /// First month, `YYYY-MM` (inclusive).
    #[param(
        example = "2020-01",
        pattern = "^(19|[2-9][0-9])[0-9]{2}-(0[1-9]|1[0-2])$"
    )]
    pub from: Option<String>,
    /// Last month, `YYYY-MM` (inclusive).
    #[param(
        example = "2024-12",
        pattern = "^(19|[2-9][0-9])[0-9]{2}-(0[1-9]|1[0-2])$"
    )]
    pub to: Option<String>,
    /// 1–100, default 50.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page.
    #[param(
        max_length = 344,
        pattern = "^([A-Za-z0-9_-]{4})*([A-Za-z0-9_-]{2,3})?$"
    )]
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EmployerRef {
    pub id: Uuid,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ContributionItem {
    /// `YYYY-MM`.
    pub period: String,
    pub insurance: Insurance,
    /// Null for flexible employment.
    pub employer: Option<EmployerRef>,
    pub base_fen: i64,
    pub employer_fen: i64,
    pub employee_fen: i64,
    pub status: ContributionStatus,
    pub paid_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ContributionList {
    pub items: Vec<ContributionItem>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct InsuranceSummary {
    pub insurance: Insurance,
    pub months_paid: u32,
    /// The earliest month (`YYYY-MM`) with a row of this insurance, whatever its status (paid,
    /// due, in arrears or pending).
    pub first_period: Option<String>,
    /// The latest month (`YYYY-MM`) with a row of this insurance, whatever its status: not
    /// necessarily a paid one (compare `months_paid` and `arrears_months`).
    pub last_period: Option<String>,
    pub employee_total_fen: i64,
    pub employer_total_fen: i64,
    pub arrears_months: u32,
    pub arrears_fen: i64,
    /// Months with a row still due (its due date not yet passed): owed, not late.
    pub due_months: u32,
    /// Months with a row declared but not yet reconciled: never counted as paid.
    pub pending_months: u32,
    pub longest_gap_months: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ContributionSummary {
    pub items: Vec<InsuranceSummary>,
    /// Paid pension months, as the pension rules count them (each month once).
    pub pension_contribution_months: u32,
    /// The same in years (months / 12, two decimals).
    pub pension_contribution_years: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PensionAccountYear {
    pub year: i32,
    pub opening_fen: i64,
    pub credited_fen: i64,
    pub interest_fen: i64,
    pub closing_fen: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PensionAccount {
    pub balance_fen: i64,
    pub as_of: NaiveDate,
    pub years: Vec<PensionAccountYear>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MedicalAccount {
    pub balance_fen: i64,
    pub as_of: NaiveDate,
    /// What the latest paid month credited.
    pub monthly_credit_fen: i64,
    /// Treatment filed for other regions (异地就医备案), approved through applications.
    pub filings: Vec<crate::applications::MedicalFilingView>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MedicalKind {
    Outpatient,
    Inpatient,
    Pharmacy,
    Credit,
    Other,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DateRangeQuery {
    /// First day, `YYYY-MM-DD` (inclusive, in the person's region's time zone).
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD` (inclusive).
    pub to: Option<String>,
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page.
    #[param(
        max_length = 344,
        pattern = "^([A-Za-z0-9_-]{4})*([A-Za-z0-9_-]{2,3})?$"
    )]
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct InstitutionRef {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MedicalTransaction {
    pub id: String,
    pub occurred_at: DateTime<Utc>,
    pub institution: InstitutionRef,
    #[schema(value_type = MedicalKind)]
    pub kind: String,
    pub total_fen: i64,
    pub account_paid_fen: i64,
    pub fund_paid_fen: i64,
    pub self_paid_fen: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MedicalTransactionList {
    pub items: Vec<MedicalTransaction>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BenefitKind {
    Pension,
    Unemployment,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BenefitQuery {
    #[param(value_type = Option<BenefitKind>)]
    pub kind: Option<String>,
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page.
    #[param(
        max_length = 344,
        pattern = "^([A-Za-z0-9_-]{4})*([A-Za-z0-9_-]{2,3})?$"
    )]
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Adjustment {
    pub reason: String,
    pub delta_fen: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BenefitPayment {
    pub period: String,
    #[schema(value_type = BenefitKind)]
    pub kind: String,
    pub amount_fen: i64,
    pub paid_at: DateTime<Utc>,
    pub adjustment: Option<Adjustment>,
}

/// Unemployment benefit entitlement (失业保险条例 art. 17): 12 / 18 / 24 months for 1–5 / 5–10 /
/// 10+ years of unemployment-insurance contributions.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UnemploymentEntitlement {
    pub contribution_months: u32,
    pub months_granted: u32,
    pub months_paid: u32,
    pub months_left: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BenefitList {
    pub items: Vec<BenefitPayment>,
    pub next_cursor: Option<String>,
    pub unemployment: UnemploymentEntitlement,
    /// Benefits granted by approved applications (unemployment benefit, pension, assistance).
    pub awards: Vec<crate::applications::BenefitAward>,
    /// A pensioner's qualification check, and whether the pension is suspended for want of it.
    pub pension_qualification: Option<crate::applications::PensionQualification>,
    /// The latest benefit transfers to the person's payout account (at most 24, newest month
    /// first), with their status and masked destination; a paid one is also in `items`.
    pub payouts: Vec<crate::payouts::PayoutView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AccessLogEntry {
    pub at: DateTime<Utc>,
    /// The staff member; null for an action the account took for someone else as a relative
    /// (亲情代办, see `proxy`).
    pub staff_id: Option<String>,
    /// `caseworker` or `admin`.
    #[schema(value_type = Option<crate::wire::StaffRole>)]
    pub staff_role: Option<String>,
    /// What was done, e.g. `person.read`, `contributions.read`; `proxy.request` for an action
    /// taken as a relative.
    pub action: String,
    /// The reason the staff member gave.
    pub reason: Option<String>,
    /// Set for a request this account made for someone else under a proxy grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<ProxyAccess>,
}

/// A request the account made as a relative, for whom, and its answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProxyAccess {
    pub grant_id: Uuid,
    /// The principal's name, masked.
    pub for_name: String,
    pub method: String,
    pub route: String,
    pub status: u16,
    pub device: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AccessLog {
    pub items: Vec<AccessLogEntry>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReasonQuery {
    /// Why the record is read (1–500 characters, no control characters; kept in the audit log
    /// and shown to the person). Required.
    #[param(
        required = true,
        min_length = 1,
        max_length = 500,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub reason: Option<String>,
    /// One insurance only.
    #[param(value_type = Option<Insurance>)]
    pub insurance: Option<String>,
    /// First month, `YYYY-MM` (inclusive).
    #[param(
        example = "2020-01",
        pattern = "^(19|[2-9][0-9])[0-9]{2}-(0[1-9]|1[0-2])$"
    )]
    pub from: Option<String>,
    /// Last month, `YYYY-MM` (inclusive).
    #[param(
        example = "2024-12",
        pattern = "^(19|[2-9][0-9])[0-9]{2}-(0[1-9]|1[0-2])$"
    )]
    pub to: Option<String>,
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page.
    #[param(
        max_length = 344,
        pattern = "^([A-Za-z0-9_-]{4})*([A-Za-z0-9_-]{2,3})?$"
    )]
    pub cursor: Option<String>,
}

/// Assumptions for a pension estimate; every field is optional. Ratios and rates are decimal
/// fractions (0.05 = 5 %), converted to basis points on arrival.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct PensionEstimateRequest {
    /// `YYYY-MM-DD`; default: the statutory retirement date under the 2025 reform. Early (up to
    /// three years, never before the original age) or deferred (up to three years) dates are allowed.
    #[serde(default)]
    pub retirement_date: Option<String>,
    /// Future contribution base as a ratio of the average wage (0.6–3.0); default: the person's
    /// own average ratio so far (1.0 with no history).
    #[serde(default)]
    pub future_base_ratio: Option<f64>,
    /// Yearly growth of the average wage (0–0.2); default 0.04.
    #[serde(default)]
    pub wage_growth: Option<f64>,
    /// Yearly interest of the personal account (0–0.1); default 0.03.
    #[serde(default)]
    pub interest_rate: Option<f64>,
    /// `male`, `female_cadre` (original age 55) or `female_worker` (original age 50); default
    /// from the ID number's gender, women as `female_worker`.
    #[serde(default)]
    #[schema(value_type = Option<RetirementCategory>)]
    pub retirement_category: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PensionAssumptions {
    #[schema(value_type = RetirementCategory)]
    pub retirement_category: String,
    pub future_base_ratio_bp: u32,
    pub wage_growth_bp: u32,
    pub interest_rate_bp: u32,
    /// C: the region's average monthly wage projected to the year before retirement.
    pub average_monthly_wage_fen: i64,
    /// Ī in basis points (10000 = 1.0).
    pub indexed_ratio_bp: u32,
    /// The divisor in whole months (rounded when interpolated).
    pub months_divisor: u32,
    /// The divisor as used, two decimals (136.67 when interpolated for 60 years 4 months).
    pub months_divisor_exact: f64,
    /// The region's rule for a part year of age: `whole_years` or `interpolated`.
    #[schema(value_type = crate::staff::DivisorFraction)]
    pub divisor_rule: String,
    pub age_at_retirement_years: u32,
    /// Months beyond the whole years (0–11).
    pub age_at_retirement_months: u32,
    pub contribution_months_so_far: u32,
    pub projected_months: u32,
    pub account_balance_at_retirement_fen: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PensionEstimate {
    pub eligible: bool,
    /// Contribution years at retirement (months / 12, two decimals).
    pub contribution_years: f64,
    pub required_years: f64,
    pub retirement_date: NaiveDate,
    pub basic_part_fen: i64,
    pub account_part_fen: i64,
    pub monthly_total_fen: i64,
    pub assumptions: PensionAssumptions,
    /// The reasoning in plain words, in the request's language.
    pub explanation: Vec<String>,
}

/// The electronic social-security card: a short-lived signed token to show at a hospital or
/// pharmacy.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ECard {
    pub token: String,
    pub qr_png_base64: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ECardVerifyRequest {
    pub token: String,
}

/// What a hospital learns from an e-card: masked identity and the medical category, if valid.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ECardVerification {
    pub valid: bool,
    pub name_masked: Option<String>,
    pub card_number_masked: Option<String>,
    pub medical_category: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Why not valid: `expired` or `invalid`.
    #[schema(value_type = Option<ECardInvalidReason>)]
    pub reason: Option<String>,
    /// Regions where the holder's treatment is filed (异地就医备案) today: hospitals there see the
    /// person is covered. Empty when not valid.
    pub filed_regions: Vec<FiledRegion>,
}

/// A region the card holder's medical treatment is filed for, and for how long.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FiledRegion {
    pub region: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// Why an e-card token is not valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ECardInvalidReason {
    /// The token was genuine but its time is up.
    Expired,
    /// Not a token Shebao signed (or altered).
    Invalid,
}

/// The retirement rules a person falls under: `male` (original age 60), `female_cadre` (55) or
/// `female_worker` (50), before the 2025 reform's gradual raise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RetirementCategory {
    Male,
    FemaleCadre,
    FemaleWorker,
}
