//! Feedback and complaints (监督投诉): a person's threads with the agency, their messages and
//! rating; the staff's queue, replies and closing.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FeedbackKind {
    /// About the phone app (意见建议).
    App,
    /// About a service of the agency (服务咨询与建议).
    Service,
    /// A complaint (投诉).
    Complaint,
}

/// `open`: waiting for the agency; `answered`: the agency replied (a follow-up by the person
/// opens it again); `closed`: closed by the agency, final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FeedbackStatus {
    Open,
    Answered,
    Closed,
}

/// Who wrote a message: the person, or the staff member's role (never their name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageAuthor {
    Person,
    Caseworker,
    Admin,
}

/// What the thread is about: exactly one of `application_id`, `payment_id`, `institution_code`.
/// Only its schema (`minProperties` and `maxProperties` 1, written by hand: utoipa 5.5 emits
/// `min_properties` as `maxProperties`); the handler reads the JSON value itself, so that each
/// wrong shape is named by its field.
pub struct RelatedRequest;

impl utoipa::PartialSchema for RelatedRequest {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, SchemaFormat, Type};
        use utoipa::openapi::ObjectBuilder;
        let uuid = |description: &str| {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
                .description(Some(description))
        };
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "What the thread is about: exactly one of the three. An application or a payment must be the person's own (another's, or none, is 422 `related_not_found`); an institution is named by its code (医保定点机构编码), of which only the shape is checked.",
            ))
            .property("application_id", uuid("One of the person's applications."))
            .property("payment_id", uuid("One of the person's payments."))
            .property(
                "institution_code",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some("^[A-Za-z0-9_-]{1,32}$"))
                    .description(Some(
                        "A designated hospital or pharmacy by its code (`GET /v1/institutions/{code}`); an unknown one is 422 `related_not_found`.",
                    )),
            )
            .additional_properties(Some(utoipa::openapi::schema::AdditionalProperties::<
                utoipa::openapi::schema::Schema,
            >::FreeForm(false)))
            .min_properties(Some(1))
            .max_properties(Some(1))
            .examples([serde_json::json!({"application_id": "0193a3c0-5b7e-7d2a-9c1f-2b4e6a8c0d1e"})])
            .into()
    }
}

impl ToSchema for RelatedRequest {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("RelatedRequest")
    }
}

/// What the thread is about, as stored (one field set).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct RelatedView {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub institution_code: Option<String>,
}

/// A new thread: what it is, a subject (one line, trimmed), the first message (kept exactly as
/// written) and, optionally, what it is about.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "kind": "complaint",
    "subject": "窗口办理等候时间过长",
    "body": "11月20日上午在福田区社保服务大厅办理失业登记，取号后等候了两个多小时。\n希望增加工作日上午的窗口。",
    "related": null
}))]
pub struct FeedbackRequest {
    pub kind: FeedbackKind,
    /// One line: 1–100 characters, not blank, no control characters (trimmed).
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub subject: String,
    /// Plain text, kept exactly as written: 1–2,000 characters, not blank; line breaks (`\n`
    /// or `\r\n`) and tabs allowed, no other control character.
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = r"^(?:[^\x00-\x08\x0b-\x1f\x7f-\x9f]|\r\n)*[^\s\x00-\x1f\x7f-\x9f](?:[^\x00-\x08\x0b-\x1f\x7f-\x9f]|\r\n)*$"
    )]
    pub body: String,
    /// What it is about (exactly one field), or null.
    #[serde(default)]
    #[schema(value_type = Option<RelatedRequest>)]
    pub related: Option<serde_json::Value>,
}

/// A message added to a thread: by the person (a follow-up) or by the staff (a reply).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"body": "您好，已核实情况。自12月1日起工作日上午增开两个窗口，给您带来不便深表歉意。"}))]
pub struct MessageRequest {
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = r"^(?:[^\x00-\x08\x0b-\x1f\x7f-\x9f]|\r\n)*[^\s\x00-\x1f\x7f-\x9f](?:[^\x00-\x08\x0b-\x1f\x7f-\x9f]|\r\n)*$"
    )]
    pub body: String,
}

/// The person's rating of the agency's answer: 1–5 stars and, optionally, a comment.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"stars": 4, "comment": "答复及时，希望落实。"}))]
pub struct RatingRequest {
    #[schema(minimum = 1, maximum = 5)]
    pub stars: i64,
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"^(?:[^\x00-\x08\x0b-\x1f\x7f-\x9f]|\r\n)*[^\s\x00-\x1f\x7f-\x9f](?:[^\x00-\x08\x0b-\x1f\x7f-\x9f]|\r\n)*$"
    )]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RatingView {
    pub stars: u8,
    pub comment: Option<String>,
    pub rated_at: DateTime<Utc>,
}

/// One message, exactly as written.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MessageView {
    pub id: Uuid,
    pub author: MessageAuthor,
    pub body: String,
    pub at: DateTime<Utc>,
}

/// A thread with its messages, oldest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FeedbackView {
    pub id: Uuid,
    pub kind: FeedbackKind,
    pub status: FeedbackStatus,
    pub subject: String,
    pub related: Option<RelatedView>,
    /// The region whose agency answers (the person's when they wrote).
    pub region: String,
    pub messages: Vec<MessageView>,
    pub created_at: DateTime<Utc>,
    /// The last message or status change.
    pub updated_at: DateTime<Utc>,
    /// When the agency first replied (null: not yet).
    pub answered_at: Option<DateTime<Utc>>,
    /// When the agency last replied.
    pub last_reply_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub rating: Option<RatingView>,
    /// Whether the person may rate it now (answered, or closed after an answer, and not rated).
    pub can_rate: bool,
}

/// A thread as a list shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FeedbackSummary {
    pub id: Uuid,
    pub kind: FeedbackKind,
    pub status: FeedbackStatus,
    pub subject: String,
    pub related: Option<RelatedView>,
    pub region: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub rated: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FeedbackList {
    pub items: Vec<FeedbackSummary>,
    pub next_cursor: Option<String>,
}

/// How long a thread has waited for the agency, as the staff see it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Waiting {
    /// Since when the thread waits for an answer (null: it waits for nobody).
    pub waiting_since: Option<DateTime<Utc>>,
    /// When five working days (Monday to Friday in the region's time zone; public holidays
    /// are not counted out) will have passed.
    pub answer_due: Option<DateTime<Utc>>,
    /// Waiting for five working days or more.
    pub overdue: bool,
}

/// A thread in the staff queue.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StaffFeedbackSummary {
    pub person_id: Uuid,
    #[serde(flatten)]
    pub waiting: Waiting,
    #[serde(flatten)]
    pub thread: FeedbackSummary,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StaffFeedbackList {
    pub items: Vec<StaffFeedbackSummary>,
    pub next_cursor: Option<String>,
}

/// A thread as the staff see it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StaffFeedbackView {
    pub person_id: Uuid,
    #[serde(flatten)]
    pub waiting: Waiting,
    #[serde(flatten)]
    pub thread: FeedbackView,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StaffFeedbackQuery {
    #[param(value_type = Option<FeedbackStatus>)]
    pub status: Option<String>,
    #[param(value_type = Option<FeedbackKind>)]
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
