//! Applications (业务办理): what a person applies for, each kind's `data`, the timeline, the
//! decision; the staff's list and transitions; the regions' service parameters.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationKind {
    /// 失业保险金: `data` is `UnemploymentBenefitData`.
    UnemploymentBenefit,
    /// 退休申请: `data` is `RetirementData`. Needs a step-up.
    Retirement,
    /// 社保转移接续: `data` is `TransferData`. Needs a step-up.
    Transfer,
    /// 异地就医备案: `data` is `MedicalFilingData`.
    MedicalFiling,
    /// 养老待遇资格认证: `data` is `QualificationData`. Needs a step-up.
    Qualification,
    /// 社会救助: `data` is `SocialAssistanceData`.
    SocialAssistance,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationStatus {
    Submitted,
    InReview,
    NeedsMoreInfo,
    Resubmitted,
    Approved,
    Rejected,
    Withdrawn,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SeparationReason {
    ContractEnded,
    Dismissed,
    EmployerClosed,
    /// Refused: only an involuntary loss of work entitles to benefit.
    Resigned,
}

/// `unemployment_benefit`: why and when the job ended.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnemploymentBenefitData {
    pub reason: SeparationReason,
    /// The last day of work; benefit starts the month after.
    pub last_day: NaiveDate,
}

/// `retirement`: from when.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetirementData {
    /// The first day of retirement asked for (at the statutory age, or up to three years
    /// earlier where the rules allow, never before the old age).
    pub from: NaiveDate,
    /// A woman in a managerial or technical post (old age 55, new 58); default false.
    #[serde(default)]
    pub female_managerial: bool,
}

/// `transfer`: where the records move to.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferData {
    /// 6-digit region code.
    #[schema(pattern = "^[1-9][0-9]{5}$")]
    pub to_region: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MedicalFilingReason {
    /// 异地安置 (settled there after retirement)
    Resettled,
    /// 异地长期居住
    LongTermResidence,
    /// 常驻异地工作
    PostedThere,
    /// 转诊转院
    Referral,
    /// 临时外出就医
    Temporary,
}

/// `medical_filing`: treatment in another region, for a period.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MedicalFilingData {
    /// 6-digit code of the region where treatment will be.
    #[schema(pattern = "^[1-9][0-9]{5}$")]
    pub region: String,
    pub reason: MedicalFilingReason,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// `qualification`: a pensioner confirms they are alive, themself or through a relative.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QualificationData {
    /// The relative's phone (E.164) whose account may confirm on the pensioner's behalf.
    pub relative_phone: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Programme {
    /// 最低生活保障
    MinimumLiving,
    /// 医疗救助
    MedicalAssistance,
    /// 临时救助
    TemporaryAssistance,
    /// 特困人员供养
    ExtremePoverty,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    #[serde(rename = "self")]
    Own,
    Spouse,
    Child,
    Parent,
    Other,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HouseholdMember {
    pub relation: Relation,
    #[schema(minimum = 0, maximum = 150)]
    pub age: u8,
    #[schema(minimum = 0)]
    pub monthly_income_fen: i64,
    #[serde(default)]
    pub disabled: bool,
    #[serde(default)]
    pub serious_illness: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Household {
    pub members: Vec<HouseholdMember>,
    #[schema(minimum = 0)]
    pub assets_fen: i64,
    #[schema(minimum = 0)]
    pub medical_costs_12m_fen: i64,
}

/// `social_assistance`: the programme and the household's facts.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SocialAssistanceData {
    pub programme: Programme,
    pub household: Household,
}

/// A new application: `kind` names which `data` it carries.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", content = "data", rename_all = "snake_case")]
pub enum ApplicationRequest {
    UnemploymentBenefit(UnemploymentBenefitData),
    Retirement(RetirementData),
    Transfer(TransferData),
    MedicalFiling(MedicalFilingData),
    Qualification(QualificationData),
    SocialAssistance(SocialAssistanceData),
}

/// One of the kinds' data, as submitted.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum ApplicationData {
    UnemploymentBenefit(UnemploymentBenefitData),
    Retirement(RetirementData),
    Transfer(TransferData),
    MedicalFiling(MedicalFilingData),
    Qualification(QualificationData),
    SocialAssistance(SocialAssistanceData),
}

/// One step of the timeline: who moved it (a role, never a name) and their note.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TimelineEvent {
    pub at: DateTime<Utc>,
    pub status: ApplicationStatus,
    /// `person`, `caseworker`, `admin` or `relative`.
    pub actor_role: String,
    pub note: Option<String>,
}

/// What the decision fixed. Unemployment benefit: `months`, `monthly_amount_fen`, `starts`;
/// retirement: `monthly_amount_fen` (the pension), `starts`; transfer: `from_region`,
/// `to_region`; medical filing: `region`, `from`, `to`; social assistance: `monthly_amount_fen`,
/// `months` (1: paid once), `starts`; qualification: `to` (the last day the check holds); a
/// rejection: `reason`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct Decision {
    pub approved: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub months: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monthly_amount_fen: Option<i64>,
    /// `YYYY-MM`: the first month paid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub starts: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<NaiveDate>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DocumentView {
    pub id: String,
    /// `image/png`, `image/jpeg` or `application/pdf`, by content.
    pub media_type: String,
    pub size_bytes: i64,
    /// Hex SHA-256 of the bytes.
    pub sha256: String,
    pub uploaded_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApplicationView {
    pub id: Uuid,
    pub kind: ApplicationKind,
    pub status: ApplicationStatus,
    #[schema(value_type = ApplicationData)]
    pub data: serde_json::Value,
    /// The region the application is decided in.
    pub region: String,
    pub timeline: Vec<TimelineEvent>,
    /// What the caseworker asked for (`needs_more_info`).
    pub missing: Vec<String>,
    pub decision: Option<Decision>,
    pub documents: Vec<DocumentView>,
    /// What happens next, in the request's language.
    pub next_step: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApplicationSummary {
    pub id: Uuid,
    pub kind: ApplicationKind,
    pub status: ApplicationStatus,
    pub region: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApplicationList {
    pub items: Vec<ApplicationSummary>,
    pub next_cursor: Option<String>,
}

/// An application as the staff see it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StaffApplicationView {
    pub person_id: Uuid,
    #[serde(flatten)]
    pub application: ApplicationView,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StaffApplicationList {
    pub items: Vec<StaffApplicationView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StaffApplicationQuery {
    #[param(value_type = Option<ApplicationStatus>)]
    pub status: Option<String>,
    #[param(value_type = Option<ApplicationKind>)]
    pub kind: Option<String>,
    /// 6-digit region code (a caseworker with a region sees only theirs).
    #[param(pattern = "^[1-9][0-9]{5}$")]
    pub region: Option<String>,
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page.
    #[param(
        max_length = 344,
        pattern = "^([A-Za-z0-9_-]{4})*([A-Za-z0-9_-]{2,3})?$"
    )]
    pub cursor: Option<String>,
}

/// A caseworker's move: `in_review`, `needs_more_info` (with `missing`), `approved`, or
/// `rejected` (with a `note` the person can act on).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionRequest {
    pub to: ApplicationStatus,
    #[schema(max_length = 500)]
    pub note: Option<String>,
    #[serde(default)]
    #[schema(value_type = Vec<MissingItem>)]
    pub missing: Vec<String>,
}

/// One thing the person must still provide (a `missing` entry of a transition): 1–200
/// characters after trimming, no control characters. Only its schema: the wire holds strings.
pub struct MissingItem;

impl utoipa::PartialSchema for MissingItem {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some(
                "One thing the person must still provide: 1–200 characters after trimming, no control characters.",
            ))
            .min_length(Some(1))
            .max_length(Some(200))
            .pattern(Some(
                r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$",
            ))
            .into()
    }
}

impl ToSchema for MissingItem {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("MissingItem")
    }
}

/// A region's service parameters for a year (and the years after, until the next row).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceParametersRequest {
    /// The monthly unemployment benefit (失业保险金标准).
    #[schema(minimum = 1)]
    pub unemployment_benefit_monthly_fen: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ServiceParametersView {
    pub region: String,
    pub year: i32,
    pub unemployment_benefit_monthly_fen: i64,
}

/// A benefit an approved application granted.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BenefitAward {
    pub application_id: String,
    /// `unemployment`, `pension` or a social-assistance programme.
    pub kind: String,
    pub monthly_amount_fen: i64,
    /// How many months (none: for life, or until reviewed).
    pub months: Option<i32>,
    /// `YYYY-MM`: the first month.
    pub starts: String,
    pub granted_at: DateTime<Utc>,
}

/// Where the person's records moved.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TransferView {
    pub application_id: String,
    pub from_region: String,
    pub to_region: String,
    pub at: DateTime<Utc>,
}

/// Treatment filed for another region.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MedicalFilingView {
    pub application_id: String,
    pub region: String,
    pub reason: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// The household to judge (the same shape as in a `social_assistance` application).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EligibilityRequest {
    pub household: Household,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Comparison {
    /// actual < required
    Below,
    /// actual ≤ required
    AtMost,
    /// actual ≥ required
    AtLeast,
}

/// One criterion with the figures it was judged on.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CriterionView {
    /// `income_per_person_fen`, `assets_per_person_fen`, `medical_costs_12m_fen`,
    /// `applicant_unable_to_work` (1 = yes), `other_members_with_income`.
    pub name: String,
    pub comparison: Comparison,
    pub required: i64,
    pub actual: i64,
    pub met: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProgrammeEligibility {
    pub programme: Programme,
    pub eligible: bool,
    pub criteria: Vec<CriterionView>,
    /// What it would pay a month (once, when `months` is 1).
    pub monthly_amount_fen: i64,
    pub months: Option<u32>,
    /// Received already (approved before): not paid twice.
    pub already_receiving: bool,
}

/// For each programme the region runs: why yes or why not, and what is received already.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EligibilityView {
    pub items: Vec<ProgrammeEligibility>,
}

/// A region's social-assistance thresholds from a year on (amounts in fen).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssistanceThresholds {
    /// 低保标准, per person and month.
    #[schema(minimum = 1)]
    pub minimum_living_monthly_fen: i64,
    /// The low-income line as a multiple of the standard, in basis points (15000 = 1.5 ×).
    #[schema(minimum = 10000, maximum = 30000)]
    pub low_income_bp: i32,
    #[schema(minimum = 0)]
    pub assets_per_person_limit_fen: i64,
    #[schema(minimum = 0)]
    pub medical_costs_threshold_fen: i64,
    #[schema(minimum = 0)]
    pub temporary_costs_threshold_fen: i64,
    #[schema(minimum = 0)]
    pub extreme_poverty_monthly_fen: i64,
    #[schema(minimum = 0)]
    pub medical_assistance_monthly_fen: i64,
    #[schema(minimum = 0)]
    pub temporary_assistance_once_fen: i64,
}

/// A pensioner's yearly qualification check (养老待遇资格认证).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PensionQualification {
    pub last_confirmed: Option<NaiveDate>,
    /// The last day the current check holds.
    pub confirm_by: NaiveDate,
    /// Suspended after `confirm_by` until the next check is approved.
    pub suspended: bool,
    /// Why suspended, in the request's language.
    pub reason: Option<String>,
}
