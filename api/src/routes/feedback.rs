//! Feedback and complaints (监督投诉): the person writes to the agency and follows the thread;
//! the staff answer from a queue ordered by how long each thread has waited (a caseworker with a
//! region sees only that region's), flagged overdue after five working days, and close threads.
//! Every staff reply is texted to the person once; every change is audited.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDateTime, Utc};
use shebao_domain::feedback::{
    self as rules, FeedbackError, FeedbackEvent, FeedbackKind, FeedbackStatus, InstitutionCode,
    MessageBody, Stars,
};
use shebao_domain::region::RegionCode;
use shebao_infra::audit::{self, ActorKind, AuditEntry};
use shebao_infra::db::{DbConnection, StoreError};
use shebao_infra::feedback::{self as store, Related, Thread};
use shebao_infra::institutions::store as institutions;
use shebao_infra::registry::persons;
use shebao_infra::reminders::sms as reminder_sms;
use shebao_openapi::feedback as dto;
use shebao_openapi::staff::PageQuery;
use uuid::Uuid;

use crate::audit::Audit;
use crate::auth::bound::BoundPerson;
use crate::auth::extract::{Json, PageRequest, Staff, ANY_STAFF};
use crate::context;
use crate::cursor;
use crate::error::{ApiError, ErrorCode, Fields, Issue, Problems};
use crate::routes::applications::staff_scope;
use crate::routes::payments::idempotency_key;
use crate::state::AppState;

fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

fn wire_kind(k: FeedbackKind) -> dto::FeedbackKind {
    match k {
        FeedbackKind::App => dto::FeedbackKind::App,
        FeedbackKind::Service => dto::FeedbackKind::Service,
        FeedbackKind::Complaint => dto::FeedbackKind::Complaint,
    }
}

fn domain_kind(k: dto::FeedbackKind) -> FeedbackKind {
    match k {
        dto::FeedbackKind::App => FeedbackKind::App,
        dto::FeedbackKind::Service => FeedbackKind::Service,
        dto::FeedbackKind::Complaint => FeedbackKind::Complaint,
    }
}

fn wire_status(s: FeedbackStatus) -> dto::FeedbackStatus {
    match s {
        FeedbackStatus::Open => dto::FeedbackStatus::Open,
        FeedbackStatus::Answered => dto::FeedbackStatus::Answered,
        FeedbackStatus::Closed => dto::FeedbackStatus::Closed,
    }
}

fn author(role: &str) -> dto::MessageAuthor {
    match role {
        "caseworker" => dto::MessageAuthor::Caseworker,
        "admin" => dto::MessageAuthor::Admin,
        _ => dto::MessageAuthor::Person,
    }
}

fn related_view(r: &Related) -> dto::RelatedView {
    match r {
        Related::Application(id) => dto::RelatedView {
            application_id: Some(*id),
            ..Default::default()
        },
        Related::Payment(id) => dto::RelatedView {
            payment_id: Some(*id),
            ..Default::default()
        },
        Related::Institution(code) => dto::RelatedView {
            institution_code: Some(code.clone()),
            ..Default::default()
        },
    }
}

fn feedback_error(e: FeedbackError) -> ApiError {
    match e {
        FeedbackError::Closed => ErrorCode::FeedbackClosed.into(),
        FeedbackError::NotAnswered => ErrorCode::FeedbackNotAnswered.into(),
        FeedbackError::AlreadyRated => ErrorCode::FeedbackAlreadyRated.into(),
    }
}

/// A thread and its messages.
struct Loaded {
    thread: Thread,
    messages: Vec<store::Message>,
}

fn load(c: &mut DbConnection, id: Uuid) -> Result<Option<Loaded>, StoreError> {
    let Some(thread) = store::get(c, id)? else {
        return Ok(None);
    };
    Ok(Some(Loaded {
        messages: store::messages(c, id)?,
        thread,
    }))
}

fn view(l: Loaded) -> dto::FeedbackView {
    let t = l.thread;
    let can_rate = rules::may_rate(t.status, t.answered_at.is_some(), t.rating.is_some()).is_ok();
    dto::FeedbackView {
        id: t.id,
        kind: wire_kind(t.kind),
        status: wire_status(t.status),
        subject: t.subject,
        related: t.related.as_ref().map(related_view),
        region: t.region_code,
        messages: l
            .messages
            .into_iter()
            .map(|m| dto::MessageView {
                id: Uuid::parse_str(&m.id).unwrap_or_default(),
                author: author(&m.author_role),
                body: m.body,
                at: utc(m.created_at),
            })
            .collect(),
        created_at: utc(t.created_at),
        updated_at: utc(t.updated_at),
        answered_at: t.answered_at.map(utc),
        last_reply_at: t.last_reply_at.map(utc),
        closed_at: t.closed_at.map(utc),
        rating: t.rating.map(|r| dto::RatingView {
            stars: r.stars,
            comment: r.comment,
            rated_at: utc(r.at),
        }),
        can_rate,
    }
}

fn summary(t: &Thread) -> dto::FeedbackSummary {
    dto::FeedbackSummary {
        id: t.id,
        kind: wire_kind(t.kind),
        status: wire_status(t.status),
        subject: t.subject.clone(),
        related: t.related.as_ref().map(related_view),
        region: t.region_code.clone(),
        created_at: utc(t.created_at),
        updated_at: utc(t.updated_at),
        answered_at: t.answered_at.map(utc),
        closed_at: t.closed_at.map(utc),
        rated: t.rating.is_some(),
    }
}

/// How long the thread has waited for the agency, at `now`.
fn waiting(t: &Thread, now: DateTime<Utc>) -> dto::Waiting {
    let since = t.waiting_since.map(utc);
    let due = since.map(|s| rules::answer_due(s, t.time_zone));
    dto::Waiting {
        waiting_since: since,
        answer_due: due,
        overdue: due.is_some_and(|d| now >= d),
    }
}

fn staff_view(l: Loaded, now: DateTime<Utc>) -> dto::StaffFeedbackView {
    dto::StaffFeedbackView {
        person_id: l.thread.person_id,
        waiting: waiting(&l.thread, now),
        thread: view(l),
    }
}

fn thread_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::NotFound("feedback"))
}

/// A person's message: the body, checked (422 names `field`).
fn message_body(raw: &str, field: &str, f: &mut Fields) -> Option<MessageBody> {
    f.check(field, MessageBody::parse(raw))
}

// ---------------------------------------------------------------------------------------------
// What the thread is about

/// `related` as sent: null, or an object with exactly one of `application_id`, `payment_id`
/// and `institution_code`, each a string of its shape.
fn parse_related(raw: Option<serde_json::Value>, f: &mut Fields) -> Option<Related> {
    let map = match raw {
        None | Some(serde_json::Value::Null) => return None,
        Some(serde_json::Value::Object(map)) => map,
        Some(_) => {
            f.add("related", Issue::Type("expected an object or null".into()));
            return None;
        }
    };
    let one_of = shebao_domain::ValueError::Rule(
        "must hold exactly one of application_id, payment_id, institution_code",
    );
    if map.len() != 1 {
        f.add("related", Issue::Value(one_of));
        return None;
    }
    let (name, value) = map.into_iter().next()?;
    let field = format!("related.{name}");
    let Some(text) = value.as_str() else {
        f.add(&field, Issue::Type("expected a string".into()));
        return None;
    };
    let uuid = |f: &mut Fields| {
        let parsed = Uuid::parse_str(text)
            .map_err(|_| shebao_domain::ValueError::Format { expected: "a UUID" });
        f.check(&field, parsed)
    };
    match name.as_str() {
        "application_id" => uuid(f).map(Related::Application),
        "payment_id" => uuid(f).map(Related::Payment),
        "institution_code" => f
            .check(&field, InstitutionCode::parse(text))
            .map(|c| Related::Institution(c.as_str().to_owned())),
        _ => {
            f.add("related", Issue::Value(one_of));
            None
        }
    }
}

/// Whether the person may name `related`: their own application or payment. An institution's
/// code is taken on its shape (the institutions' registry is not checked here).
fn related_is_theirs(
    c: &mut DbConnection,
    person: Uuid,
    related: &Related,
) -> Result<bool, StoreError> {
    match related {
        Related::Application(id) => store::owns_application(c, person, *id),
        Related::Payment(id) => store::owns_payment(c, person, *id),
        Related::Institution(code) => institutions::exists(c, code),
    }
}

/// 422 `related_not_found`, naming the kind of record in the request's language: the same
/// answer for another's record as for one that does not exist.
fn related_not_found(related: &Related) -> ApiError {
    let lang = context::lang();
    let what = match related {
        Related::Application(_) => lang.pick("申请", "application"),
        Related::Payment(_) => lang.pick("缴费", "payment"),
        Related::Institution(_) => lang.pick("机构", "institution"),
    };
    ApiError::With {
        code: ErrorCode::RelatedNotFound,
        args: vec![("what", what.to_owned())],
    }
}

// ---------------------------------------------------------------------------------------------
// The person's routes

fn person_entry(
    req: &HttpRequest,
    person: &BoundPerson,
    action: &'static str,
    thread: Option<Uuid>,
) -> AuditEntry {
    let mut entry = Audit::of(req).entry(
        ActorKind::Person,
        Some(person.account_id.to_string()),
        action,
        "success",
    );
    entry.subject_kind = Some("feedback");
    entry.subject_id = thread.map(|t| t.to_string());
    entry
}

/// What a creation decided.
enum Created {
    New(Uuid),
    Replayed(Uuid),
    KeyReused,
    RelatedNotFound,
}

/// Writes to the agency: a new thread (`open`) with its first message. `subject` is one line
/// (trimmed); `body` is kept exactly as written (line breaks and tabs allowed, no other control
/// character). `related`, if given, names exactly one of the person's own applications or
/// payments, or a designated institution's code; another person's record is refused exactly as
/// one that does not exist. With an `Idempotency-Key`, the same request again answers the same
/// thread (`Idempotent-Replayed: true`).
#[utoipa::path(post, operation_id = "create_feedback", path = "/v1/me/feedback", tag = "feedback", request_body = dto::FeedbackRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Optional: 8–64 visible ASCII characters, new for each thread; a retry with it answers the same thread", min_length = 8, max_length = 64, pattern = "^[!-~]{8,64}$")),
    security(("person_bearer" = [])),
    responses(
        (status = 201, description = "Written (or, replayed, the thread as it stands now)", body = dto::FeedbackView,
            headers(("Idempotent-Replayed" = String, description = "`true` when this answers an earlier request with the same key"))),
        (status = 400, description = "An `Idempotency-Key` that is not 8–64 visible ASCII characters (`idempotency_key_required`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid (`validation_failed`: blank, too long, a control character, `related` not exactly one field), `related` is not the person's (`related_not_found`), or the key was used with another body (`idempotency_key_reused`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<BoundPerson>))]
#[post("/v1/me/feedback")]
pub async fn create_feedback(
    req: HttpRequest,
    state: web::Data<AppState>,
    person: BoundPerson,
    body: Json<dto::FeedbackRequest>,
) -> Result<HttpResponse, ApiError> {
    let key = match req.headers().get("Idempotency-Key") {
        Some(_) => Some(idempotency_key(req.headers())?),
        None => None,
    };
    let b = body.0;
    let mut f = Fields::new();
    let subject = f.check("subject", rules::subject(&b.subject));
    let text = message_body(&b.body, "body", &mut f);
    let related = parse_related(b.related, &mut f);
    let (Some(subject), Some(text)) = (subject, text) else {
        return Err(f.into_error());
    };
    if !f.is_empty() {
        return Err(f.into_error());
    }
    let kind = domain_kind(b.kind);
    let request_hash = shebao_security::opaque::sha256_hex_of(
        serde_json::json!([
            kind.as_str(),
            subject.as_str(),
            text.as_str(),
            related.as_ref().map(|r| format!("{r:?}"))
        ])
        .to_string()
        .as_bytes(),
    );
    let not_found = related.as_ref().map(related_not_found);
    let pid = person.person_id;
    let now = state.now().naive_utc();
    let mut entry = person_entry(&req, &person, "feedback.submit", None);
    let created = state
        .db
        .transaction(move |c| {
            if let Some(key) = &key {
                if let Some(existing) = store::by_key(c, pid, key)? {
                    return Ok(if existing.request_hash.as_deref() == Some(&request_hash) {
                        Created::Replayed(existing.id)
                    } else {
                        Created::KeyReused
                    });
                }
            }
            if let Some(r) = &related {
                if !related_is_theirs(c, pid, r)? {
                    return Ok(Created::RelatedNotFound);
                }
            }
            let region = persons::get(c, pid)?
                .ok_or(StoreError::NotFound)?
                .region
                .as_str()
                .to_owned();
            let new = store::NewThread {
                person_id: pid,
                region_code: region,
                kind,
                subject: subject.into_string(),
                body: text.into_string(),
                related,
                idempotency_key: key,
                request_hash: Some(request_hash),
            };
            let t = store::create(c, &new, now)?;
            entry.subject_id = Some(t.id.to_string());
            audit::record(c, &entry, now)?;
            Ok(Created::New(t.id))
        })
        .await?;
    let (id, replayed) = match created {
        Created::New(id) => (id, false),
        Created::Replayed(id) => (id, true),
        Created::KeyReused => return Err(ErrorCode::IdempotencyKeyReused.into()),
        Created::RelatedNotFound => return Err(not_found.unwrap_or(ApiError::NotFound("feedback"))),
    };
    let loaded = state
        .db
        .read(move |c| load(c, id))
        .await?
        .ok_or(ApiError::NotFound("feedback"))?;
    let mut res = HttpResponse::Created();
    if replayed {
        res.insert_header(("Idempotent-Replayed", "true"));
    }
    Ok(res.json(view(loaded)))
}

/// The person's threads, the latest activity first.
#[utoipa::path(get, operation_id = "list_feedback", path = "/v1/me/feedback", tag = "feedback", params(PageQuery), security(("person_bearer" = [])),
    responses(
        (status = 200, description = "A page of threads", body = dto::FeedbackList),
        (status = 422, description = "`limit` or `cursor` invalid", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<BoundPerson>))]
#[get("/v1/me/feedback")]
pub async fn list_feedback(
    state: web::Data<AppState>,
    person: BoundPerson,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = PageRequest::parse(&query.into_inner())?;
    let owner = person.person_id;
    let list = state
        .db
        .read(move |c| store::list_of_person(c, owner, page.after.as_deref(), page.limit))
        .await?;
    Ok(HttpResponse::Ok().json(dto::FeedbackList {
        next_cursor: list.next.as_deref().map(cursor::encode),
        items: list.items.iter().map(summary).collect(),
    }))
}

/// One of the person's threads: its messages (the agency's signed with the staff member's role,
/// never a name), its status, when the agency replied and the rating.
#[utoipa::path(get, operation_id = "get_feedback", path = "/v1/me/feedback/{id}", tag = "feedback",
    params(("id" = Uuid, Path, description = "The thread's id")), security(("person_bearer" = [])),
    responses(
        (status = 200, description = "The thread", body = dto::FeedbackView),
        (status = 404, description = "No such thread of this person", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<BoundPerson>))]
#[get("/v1/me/feedback/{id}")]
pub async fn get_feedback(
    state: web::Data<AppState>,
    person: BoundPerson,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = thread_id(&path.into_inner())?;
    let owner = person.person_id;
    let loaded = state
        .db
        .read(move |c| load(c, id))
        .await?
        .filter(|l| l.thread.person_id == owner)
        .ok_or(ApiError::NotFound("feedback"))?;
    Ok(HttpResponse::Ok().json(view(loaded)))
}

/// The person adds to their thread. An `answered` thread opens again (the follow-up waits for an
/// answer of its own, and its five working days start now); a closed one refuses.
#[utoipa::path(post, operation_id = "add_feedback_message", path = "/v1/me/feedback/{id}/messages", tag = "feedback", request_body = dto::MessageRequest,
    params(("id" = Uuid, Path, description = "The thread's id")), security(("person_bearer" = [])),
    responses(
        (status = 201, description = "Added: the thread as it is now", body = dto::FeedbackView),
        (status = 404, description = "No such thread of this person", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The thread is closed (`feedback_closed`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The body is blank, too long or holds a control character", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<BoundPerson>))]
#[post("/v1/me/feedback/{id}/messages")]
pub async fn add_message(
    req: HttpRequest,
    state: web::Data<AppState>,
    person: BoundPerson,
    path: web::Path<String>,
    body: Json<dto::MessageRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = thread_id(&path.into_inner())?;
    let mut f = Fields::new();
    let text = message_body(&body.0.body, "body", &mut f).ok_or_else(|| f.into_error())?;
    let owner = person.person_id;
    let now = state.now().naive_utc();
    let entry = person_entry(&req, &person, "feedback.message", Some(id));
    let loaded = state
        .db
        .transaction(move |c| {
            let Some(t) = store::lock(c, id)?.filter(|t| t.person_id == owner) else {
                return Ok(Err(ApiError::NotFound("feedback")));
            };
            let to = match rules::next_status(t.status, FeedbackEvent::PersonWrites) {
                Ok(to) => to,
                Err(e) => return Ok(Err(feedback_error(e))),
            };
            store::add_message(c, &t, "person", text.as_str(), to, now)?;
            audit::record(c, &entry, now)?;
            Ok(Ok(load(c, id)?.ok_or(StoreError::NotFound)?))
        })
        .await??;
    Ok(HttpResponse::Created().json(view(loaded)))
}

/// The person rates the agency's answer: once, when the thread is `answered` or was closed after
/// an answer.
#[utoipa::path(post, operation_id = "rate_feedback", path = "/v1/me/feedback/{id}/rating", tag = "feedback", request_body = dto::RatingRequest,
    params(("id" = Uuid, Path, description = "The thread's id")), security(("person_bearer" = [])),
    responses(
        (status = 201, description = "Rated: the thread as it is now", body = dto::FeedbackView),
        (status = 404, description = "No such thread of this person", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 409, description = "No answer to rate (`feedback_not_answered`: still open, reopened by a follow-up, or closed unanswered), or rated already (`feedback_already_rated`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`stars` not 1–5, or the comment blank, too long or holding a control character", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<BoundPerson>))]
#[post("/v1/me/feedback/{id}/rating")]
pub async fn rate(
    req: HttpRequest,
    state: web::Data<AppState>,
    person: BoundPerson,
    path: web::Path<String>,
    body: Json<dto::RatingRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = thread_id(&path.into_inner())?;
    let b = body.0;
    let mut f = Fields::new();
    let stars = f.check("stars", Stars::new(b.stars));
    let comment = match &b.comment {
        None => None,
        Some(c) => f.check(
            "comment",
            MessageBody::parse_max(c, rules::COMMENT_MAX_CHARS),
        ),
    };
    let Some(stars) = stars.filter(|_| f.is_empty()) else {
        return Err(f.into_error());
    };
    let owner = person.person_id;
    let now = state.now().naive_utc();
    let entry = person_entry(&req, &person, "feedback.rate", Some(id));
    let loaded = state
        .db
        .transaction(move |c| {
            let Some(t) = store::lock(c, id)?.filter(|t| t.person_id == owner) else {
                return Ok(Err(ApiError::NotFound("feedback")));
            };
            if let Err(e) = rules::may_rate(t.status, t.answered_at.is_some(), t.rating.is_some()) {
                return Ok(Err(feedback_error(e)));
            }
            let comment = comment.as_ref().map(MessageBody::as_str);
            if !store::rate(c, id, stars.get(), comment, now)? {
                return Ok(Err(ErrorCode::FeedbackAlreadyRated.into()));
            }
            audit::record(c, &entry, now)?;
            Ok(Ok(load(c, id)?.ok_or(StoreError::NotFound)?))
        })
        .await??;
    Ok(HttpResponse::Created().json(view(loaded)))
}

// ---------------------------------------------------------------------------------------------
// The staff's routes

/// The staff queue: threads waiting for an answer first, the longest waiting first (each with
/// `overdue` once five working days, Monday to Friday in the region's time zone, have passed),
/// then the answered and the closed ones. Filtered by `status`, `kind` and `region`; a caseworker
/// with a region sees only that region's (another region asked for is 403).
#[utoipa::path(get, operation_id = "staff_list_feedback", path = "/v1/staff/feedback", tag = "feedback", params(dto::StaffFeedbackQuery), security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "A page of the queue", body = dto::StaffFeedbackList),
        (status = 422, description = "A filter, `limit` or `cursor` invalid", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Staff>))]
#[get("/v1/staff/feedback")]
pub async fn staff_queue(
    state: web::Data<AppState>,
    staff: Staff,
    query: web::Query<dto::StaffFeedbackQuery>,
) -> Result<HttpResponse, ApiError> {
    staff.require(ANY_STAFF)?;
    let q = query.into_inner();
    let page = PageRequest::parse(&PageQuery {
        limit: q.limit.clone(),
        cursor: q.cursor.clone(),
    })?;
    let mut f = Fields::new();
    let status = q
        .status
        .as_deref()
        .and_then(|s| f.check("status", FeedbackStatus::parse(s)));
    let kind = q
        .kind
        .as_deref()
        .and_then(|s| f.check("kind", FeedbackKind::parse(s)));
    let region = q
        .region
        .as_deref()
        .and_then(|s| f.check("region", RegionCode::parse(s)));
    if !f.is_empty() {
        return Err(f.into_error());
    }
    let region = match (staff_scope(&state, &staff).await?, region) {
        (Some(own), Some(asked)) if own != asked.as_str() => {
            return Err(ErrorCode::Forbidden.into())
        }
        (Some(own), _) => Some(own),
        (None, asked) => asked.map(|r| r.as_str().to_owned()),
    };
    let filter = store::StaffFilter {
        status,
        kind,
        region,
    };
    let list = state
        .db
        .read(move |c| store::queue(c, &filter, page.after.as_deref(), page.limit))
        .await?;
    let now = state.now();
    Ok(HttpResponse::Ok().json(dto::StaffFeedbackList {
        next_cursor: list.next.as_deref().map(cursor::encode),
        items: list
            .items
            .iter()
            .map(|t| dto::StaffFeedbackSummary {
                person_id: t.person_id,
                waiting: waiting(t, now),
                thread: summary(t),
            })
            .collect(),
    }))
}

/// Whether a thread is in the staff member's reach: any for an admin, their region's for a
/// caseworker with a region (another's is 404, as if it did not exist).
fn in_reach(t: &Thread, scope: &Option<String>) -> bool {
    scope.as_ref().is_none_or(|r| r == &t.region_code)
}

/// One thread with its messages and how long it has waited.
#[utoipa::path(get, operation_id = "staff_get_feedback", path = "/v1/staff/feedback/{id}", tag = "feedback",
    params(("id" = Uuid, Path, description = "The thread's id")), security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "The thread", body = dto::StaffFeedbackView),
        (status = 404, description = "No such thread (in this caseworker's region)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Staff>))]
#[get("/v1/staff/feedback/{id}")]
pub async fn staff_get(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    staff.require(ANY_STAFF)?;
    let id = thread_id(&path.into_inner())?;
    let scope = staff_scope(&state, &staff).await?;
    let loaded = state
        .db
        .read(move |c| load(c, id))
        .await?
        .filter(|l| in_reach(&l.thread, &scope))
        .ok_or(ApiError::NotFound("feedback"))?;
    Ok(HttpResponse::Ok().json(staff_view(loaded, state.now())))
}

/// The text that tells the person the agency answered: queued in the reply's own transaction,
/// once per reply (its dedupe key is the message's id); the jobs send it in daylight.
fn notify_reply(
    c: &mut DbConnection,
    t: &Thread,
    message: Uuid,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let body = format!(
        "【社保】您提交的{}已有答复，详情请在掌上社保“我的留言”中查看。",
        t.kind.chinese_name()
    );
    reminder_sms::enqueue_event_to_person(
        c,
        t.person_id,
        "feedback_reply",
        body,
        &format!("feedback:{}:{message}", t.id),
        now,
    )?;
    Ok(())
}

/// The agency replies: the thread becomes `answered` (`answered_at` is set by the first reply),
/// the person is texted once, and the reply is audited. The person sees the staff member's
/// role, never their name. A closed thread refuses.
#[utoipa::path(post, operation_id = "staff_reply_feedback", path = "/v1/staff/feedback/{id}/messages", tag = "feedback", request_body = dto::MessageRequest,
    params(("id" = Uuid, Path, description = "The thread's id")), security(("staff_bearer" = [])),
    responses(
        (status = 201, description = "Replied: the thread as it is now", body = dto::StaffFeedbackView),
        (status = 404, description = "No such thread (in this caseworker's region)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The thread is closed (`feedback_closed`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The body is blank, too long or holds a control character", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Staff>))]
#[post("/v1/staff/feedback/{id}/messages")]
pub async fn staff_reply(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
    body: Json<dto::MessageRequest>,
) -> Result<HttpResponse, ApiError> {
    staff.require(ANY_STAFF)?;
    let id = thread_id(&path.into_inner())?;
    let mut f = Fields::new();
    let text = message_body(&body.0.body, "body", &mut f).ok_or_else(|| f.into_error())?;
    let scope = staff_scope(&state, &staff).await?;
    let role = staff.role.as_str();
    let now = state.now();
    let entry = Audit::of(&req).staff(&staff, "feedback.reply", "feedback", id.to_string());
    let loaded = state
        .db
        .transaction(move |c| {
            let Some(t) = store::lock(c, id)?.filter(|t| in_reach(t, &scope)) else {
                return Ok(Err(ApiError::NotFound("feedback")));
            };
            let to = match rules::next_status(t.status, FeedbackEvent::StaffReplies) {
                Ok(to) => to,
                Err(e) => return Ok(Err(feedback_error(e))),
            };
            let ts = now.naive_utc();
            let message = store::add_message(c, &t, role, text.as_str(), to, ts)?;
            audit::record(c, &entry, ts)?;
            notify_reply(c, &t, message, now)?;
            Ok(Ok(load(c, id)?.ok_or(StoreError::NotFound)?))
        })
        .await??;
    Ok(HttpResponse::Created().json(staff_view(loaded, now)))
}

/// The agency closes the thread (answered or not): final, no more messages from either side;
/// audited. A thread closed after an answer can still be rated once.
#[utoipa::path(post, operation_id = "staff_close_feedback", path = "/v1/staff/feedback/{id}/close", tag = "feedback",
    params(("id" = Uuid, Path, description = "The thread's id")), security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "Closed: the thread as it is now", body = dto::StaffFeedbackView),
        (status = 404, description = "No such thread (in this caseworker's region)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Closed already (`feedback_closed`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Staff>))]
#[post("/v1/staff/feedback/{id}/close")]
pub async fn staff_close(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    staff.require(ANY_STAFF)?;
    let id = thread_id(&path.into_inner())?;
    let scope = staff_scope(&state, &staff).await?;
    let now = state.now();
    let entry = Audit::of(&req).staff(&staff, "feedback.close", "feedback", id.to_string());
    let loaded = state
        .db
        .transaction(move |c| {
            let Some(t) = store::lock(c, id)?.filter(|t| in_reach(t, &scope)) else {
                return Ok(Err(ApiError::NotFound("feedback")));
            };
            if let Err(e) = rules::next_status(t.status, FeedbackEvent::Close) {
                return Ok(Err(feedback_error(e)));
            }
            let ts = now.naive_utc();
            store::close(c, &t, ts)?;
            audit::record(c, &entry, ts)?;
            Ok(Ok(load(c, id)?.ok_or(StoreError::NotFound)?))
        })
        .await??;
    Ok(HttpResponse::Ok().json(staff_view(loaded, now)))
}
