//! Personalised notices (个人相关政策、就业创业信息推送): what the staff publish and to whom,
//! the audience size, sending by SMS; the person's own notices and their read marks.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::wire::{EmploymentStatus, Gender, MedicalCategory};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// 政策: a rule or a rate that changed.
    Policy,
    /// 就业: job fairs and vacancies (for the unemployed, mostly).
    Job,
    /// 培训: vocational training and its subsidies.
    Training,
    /// 服务: a service of the agency.
    Service,
}

/// A benefit the person receives: a payment of the kind for this month or the last (pension,
/// unemployment benefit), or an award of an approved application running this month (those two
/// and the social-assistance programmes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Benefit {
    Pension,
    Unemployment,
    MinimumLiving,
    MedicalAssistance,
    TemporaryAssistance,
    ExtremePoverty,
}

/// `scheduled` before `publish_at`, `published` until `expire_at`, then `expired`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoticeStatus {
    Scheduled,
    Published,
    Expired,
}

/// Who a notice is for: every field is optional and restricts the audience; the fields are
/// combined with "and", the values of a list with "or". `{}` is everyone. Read on the day the
/// notice is shown or counted, in Beijing time: ages are whole years (a year older on the
/// birthday) and both ends are inclusive; `has_arrears` is whether some month is unpaid after its
/// due date, as the person's records show it that day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"regions": ["440300"], "age_min": 16, "age_max": 59, "employment_status": ["unemployed"]}))]
pub struct Audience {
    /// 6-digit codes of regions the registry knows (1–100; leave the field out for any region).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_items = 1, max_items = 100)]
    pub regions: Option<Vec<String>>,
    /// The youngest age, in whole years, included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, maximum = 150)]
    pub age_min: Option<u32>,
    /// The oldest age, in whole years, included (not below `age_min`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, maximum = 150)]
    pub age_max: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<Gender>,
    /// Any of these (1–4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_items = 1, max_items = 4)]
    pub employment_status: Option<Vec<EmploymentStatus>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub medical_category: Option<MedicalCategory>,
    /// `true`: only persons with a month in arrears; `false`: only persons without.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_arrears: Option<bool>,
    /// Persons receiving any of these (1–6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_items = 1, max_items = 6)]
    pub receives: Option<Vec<Benefit>>,
}

/// A notice to publish. All problems of the text fields, the link, the dates and the audience
/// are reported together.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "kind": "job",
    "title": "深圳市2026年冬季大型招聘会",
    "body": "12月12日9:00—16:00，深圳会展中心1号馆，300余家企业提供岗位1万余个。\n请携带身份证和简历。",
    "link": "https://hrss.sz.gov.cn/zph/2026-winter",
    "audience": {"regions": ["440300"], "age_min": 16, "age_max": 59, "employment_status": ["unemployed"]},
    "publish_at": "2026-12-03T01:00:00Z",
    "expire_at": "2026-12-12T08:00:00Z",
    "send_sms": true
}))]
pub struct NoticeRequest {
    pub kind: NoticeKind,
    /// 1–100 characters, no control characters.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub title: String,
    /// Plain text, 1–4000 characters; line breaks allowed (`\r\n` is kept as `\n`), no other
    /// control characters. Shown as written.
    #[schema(
        min_length = 1,
        max_length = 4000,
        pattern = r"^(?:[^\x00-\x1f\x7f-\x9f]|\r?\n)*[^\s\x00-\x1f\x7f-\x9f](?:[^\x00-\x1f\x7f-\x9f]|\r?\n)*$"
    )]
    pub body: String,
    /// Where the details are: an absolute `https` URL, at most 500 characters, without a user
    /// name or password.
    #[serde(default)]
    #[schema(
        max_length = 500,
        pattern = "^[Hh][Tt][Tt][Pp][Ss]://[^\\s@/?#]+([/?#][^\\s]*)?$"
    )]
    pub link: Option<String>,
    pub audience: Audience,
    /// When it starts to show (default: now).
    #[serde(default)]
    pub publish_at: Option<DateTime<Utc>>,
    /// When it stops showing: after `publish_at` and now, at most 366 days after `publish_at`.
    pub expire_at: DateTime<Utc>,
    /// Also send it by SMS to its audience when it is published (see `POST …/sms`).
    #[serde(default)]
    pub send_sms: bool,
}

/// A notice as the staff see it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "019ae2d3-6f1a-7c30-9b1e-3a4f5e6d7c8b",
    "kind": "job",
    "title": "深圳市2026年冬季大型招聘会",
    "body": "12月12日9:00—16:00，深圳会展中心1号馆，300余家企业提供岗位1万余个。\n请携带身份证和简历。",
    "link": "https://hrss.sz.gov.cn/zph/2026-winter",
    "audience": {"regions": ["440300"], "age_min": 16, "age_max": 59, "employment_status": ["unemployed"]},
    "publish_at": "2026-12-03T01:00:00Z",
    "expire_at": "2026-12-12T08:00:00Z",
    "status": "published",
    "sms_job_id": "019ae2d3-6f1b-7d01-8c2d-1e2f3a4b5c6d",
    "created_at": "2026-12-03T00:58:12Z"
}))]
pub struct NoticeView {
    pub id: Uuid,
    pub kind: NoticeKind,
    pub title: String,
    pub body: String,
    pub link: Option<String>,
    /// The rule as given (lists sorted, each value once).
    pub audience: Audience,
    pub publish_at: DateTime<Utc>,
    pub expire_at: DateTime<Utc>,
    pub status: NoticeStatus,
    /// The job sending it by SMS (see `GET /v1/staff/jobs`), once asked for.
    pub sms_job_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NoticeList {
    /// Newest first.
    pub items: Vec<NoticeView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StaffNoticeQuery {
    #[param(value_type = Option<NoticeKind>)]
    pub kind: Option<String>,
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

/// How many persons a notice's rule reaches now.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"notice_id": "019ae2d3-6f1a-7c30-9b1e-3a4f5e6d7c8b", "persons": 18342, "as_of": "2026-12-03"}))]
pub struct AudienceSize {
    pub notice_id: Uuid,
    /// Registered persons the rule reaches (bound to an account or not).
    pub persons: i64,
    /// The day the rule was read on (Beijing time).
    pub as_of: NaiveDate,
}

/// A notice's sending by SMS.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"notice_id": "019ae2d3-6f1a-7c30-9b1e-3a4f5e6d7c8b", "job_id": "019ae2d3-6f1b-7d01-8c2d-1e2f3a4b5c6d", "new": true}))]
pub struct NoticeSms {
    pub notice_id: Uuid,
    /// The job that enqueues one message per person reached when the notice is published (see
    /// `GET /v1/staff/jobs`).
    pub job_id: Uuid,
    /// `false`: it had been asked for already; nothing new was queued.
    pub new: bool,
}

/// A notice as the person sees it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "019ae2d3-6f1a-7c30-9b1e-3a4f5e6d7c8b",
    "kind": "job",
    "title": "深圳市2026年冬季大型招聘会",
    "body": "12月12日9:00—16:00，深圳会展中心1号馆，300余家企业提供岗位1万余个。\n请携带身份证和简历。",
    "link": "https://hrss.sz.gov.cn/zph/2026-winter",
    "publish_at": "2026-12-03T01:00:00Z",
    "expire_at": "2026-12-12T08:00:00Z",
    "read": false,
    "read_at": null
}))]
pub struct MyNotice {
    pub id: Uuid,
    pub kind: NoticeKind,
    pub title: String,
    pub body: String,
    pub link: Option<String>,
    pub publish_at: DateTime<Utc>,
    pub expire_at: DateTime<Utc>,
    pub read: bool,
    /// When the person first marked it read.
    pub read_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MyNoticeList {
    /// Newest first (by publication).
    pub items: Vec<MyNotice>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MyNoticeQuery {
    #[param(value_type = Option<NoticeKind>)]
    pub kind: Option<String>,
    /// `true`: only unread notices; `false`: only those read.
    #[param(value_type = Option<bool>)]
    pub unread: Option<String>,
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
