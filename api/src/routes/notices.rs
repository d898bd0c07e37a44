//! Personalised notices (个人相关政策、就业创业信息推送): the staff publish a notice with an
//! audience rule (a caseworker with a region only for that region), see how many persons it
//! reaches and send it by SMS; a person lists the notices meant for them now and marks them
//! read. A person never learns of a notice meant for others: one not aimed at them is 404, like
//! one that does not exist.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use shebao_domain::identity::Gender;
use shebao_domain::notices::{
    self as rules, AudienceParts, AudienceRule, Benefit, NoticeBody, NoticeKind, NoticeLink,
    NoticeStatus, NoticeTitle, Schedule,
};
use shebao_domain::person::{EmploymentStatus, MedicalCategory};
use shebao_domain::region::RegionCode;
use shebao_domain::ValueError;
use shebao_infra::audit;
use shebao_infra::db::StoreError;
use shebao_infra::notices::store::{self, NewNotice, Notice, PersonFilter, StaffFilter};
use shebao_infra::notices::{audience, sms};
use shebao_infra::registry::regions;
use shebao_openapi::notices as dto;
use shebao_openapi::wire;
use uuid::Uuid;

use crate::audit::Audit;
use crate::auth::bound::BoundPerson;
use crate::auth::extract::{Json, PageRequest, Staff, ANY_STAFF};
use crate::cursor;
use crate::error::{field_error_of, ApiError, ErrorCode, Fields, Issue, Problems};
use crate::routes::applications::staff_scope;
use crate::state::AppState;

// ---------------------------------------------------------------------------------------------
// Between the wire and the domain

fn domain_kind(k: dto::NoticeKind) -> NoticeKind {
    match k {
        dto::NoticeKind::Policy => NoticeKind::Policy,
        dto::NoticeKind::Job => NoticeKind::Job,
        dto::NoticeKind::Training => NoticeKind::Training,
        dto::NoticeKind::Service => NoticeKind::Service,
    }
}

fn wire_kind(k: NoticeKind) -> dto::NoticeKind {
    match k {
        NoticeKind::Policy => dto::NoticeKind::Policy,
        NoticeKind::Job => dto::NoticeKind::Job,
        NoticeKind::Training => dto::NoticeKind::Training,
        NoticeKind::Service => dto::NoticeKind::Service,
    }
}

fn domain_benefit(b: dto::Benefit) -> Benefit {
    match b {
        dto::Benefit::Pension => Benefit::Pension,
        dto::Benefit::Unemployment => Benefit::Unemployment,
        dto::Benefit::MinimumLiving => Benefit::MinimumLiving,
        dto::Benefit::MedicalAssistance => Benefit::MedicalAssistance,
        dto::Benefit::TemporaryAssistance => Benefit::TemporaryAssistance,
        dto::Benefit::ExtremePoverty => Benefit::ExtremePoverty,
    }
}

fn wire_benefit(b: Benefit) -> dto::Benefit {
    match b {
        Benefit::Pension => dto::Benefit::Pension,
        Benefit::Unemployment => dto::Benefit::Unemployment,
        Benefit::MinimumLiving => dto::Benefit::MinimumLiving,
        Benefit::MedicalAssistance => dto::Benefit::MedicalAssistance,
        Benefit::TemporaryAssistance => dto::Benefit::TemporaryAssistance,
        Benefit::ExtremePoverty => dto::Benefit::ExtremePoverty,
    }
}

fn domain_status(s: wire::EmploymentStatus) -> EmploymentStatus {
    match s {
        wire::EmploymentStatus::Employed => EmploymentStatus::Employed,
        wire::EmploymentStatus::Flexible => EmploymentStatus::Flexible,
        wire::EmploymentStatus::Unemployed => EmploymentStatus::Unemployed,
        wire::EmploymentStatus::Retired => EmploymentStatus::Retired,
    }
}

fn wire_status(s: EmploymentStatus) -> wire::EmploymentStatus {
    match s {
        EmploymentStatus::Employed => wire::EmploymentStatus::Employed,
        EmploymentStatus::Flexible => wire::EmploymentStatus::Flexible,
        EmploymentStatus::Unemployed => wire::EmploymentStatus::Unemployed,
        EmploymentStatus::Retired => wire::EmploymentStatus::Retired,
    }
}

fn domain_category(m: wire::MedicalCategory) -> MedicalCategory {
    match m {
        wire::MedicalCategory::Employee => MedicalCategory::Employee,
        wire::MedicalCategory::Resident => MedicalCategory::Resident,
    }
}

fn wire_category(m: MedicalCategory) -> wire::MedicalCategory {
    match m {
        MedicalCategory::Employee => wire::MedicalCategory::Employee,
        MedicalCategory::Resident => wire::MedicalCategory::Resident,
    }
}

fn domain_gender(g: wire::Gender) -> Gender {
    match g {
        wire::Gender::Male => Gender::Male,
        wire::Gender::Female => Gender::Female,
    }
}

fn wire_gender(g: Gender) -> wire::Gender {
    match g {
        Gender::Male => wire::Gender::Male,
        Gender::Female => wire::Gender::Female,
    }
}

fn wire_notice_status(s: NoticeStatus) -> dto::NoticeStatus {
    match s {
        NoticeStatus::Scheduled => dto::NoticeStatus::Scheduled,
        NoticeStatus::Published => dto::NoticeStatus::Published,
        NoticeStatus::Expired => dto::NoticeStatus::Expired,
    }
}

fn wire_audience(rule: &AudienceRule) -> dto::Audience {
    let p = rule.parts();
    dto::Audience {
        regions: p
            .regions
            .map(|r| r.iter().map(|c| c.as_str().to_owned()).collect()),
        age_min: p.age_min,
        age_max: p.age_max,
        gender: p.gender.map(wire_gender),
        employment_status: p
            .employment_status
            .map(|s| s.into_iter().map(wire_status).collect()),
        medical_category: p.medical_category.map(wire_category),
        has_arrears: p.has_arrears,
        receives: p
            .receives
            .map(|b| b.into_iter().map(wire_benefit).collect()),
    }
}

fn staff_view(n: Notice, now: DateTime<Utc>) -> dto::NoticeView {
    dto::NoticeView {
        id: n.id,
        kind: wire_kind(n.kind),
        audience: wire_audience(&n.audience),
        status: wire_notice_status(n.schedule.status(now)),
        title: n.title,
        body: n.body,
        link: n.link,
        publish_at: n.schedule.publish_at,
        expire_at: n.schedule.expire_at,
        sms_job_id: n.sms_job_id,
        created_at: n.created_at.and_utc(),
    }
}

fn my_view(n: Notice, read_at: Option<chrono::NaiveDateTime>) -> dto::MyNotice {
    dto::MyNotice {
        id: n.id,
        kind: wire_kind(n.kind),
        title: n.title,
        body: n.body,
        link: n.link,
        publish_at: n.schedule.publish_at,
        expire_at: n.schedule.expire_at,
        read: read_at.is_some(),
        read_at: read_at.map(|t| t.and_utc()),
    }
}

/// The request checked field by field (every issue at once), but for the regions' existence,
/// which the database answers.
fn parse_request(
    b: dto::NoticeRequest,
    now: DateTime<Utc>,
    by: Uuid,
) -> Result<NewNotice, ApiError> {
    let mut f = Fields::new();
    let title = f.check("title", NoticeTitle::parse(&b.title));
    let body = f.check("body", NoticeBody::parse(&b.body));
    let link = match b.link.as_deref() {
        Some(l) => f.check("link", NoticeLink::parse(l)).map(Some),
        None => Some(None),
    };
    let a = b.audience;
    let regions = a.regions.map(|codes| {
        codes
            .iter()
            .enumerate()
            .filter_map(|(i, c)| f.check(&format!("audience.regions[{i}]"), RegionCode::parse(c)))
            .collect()
    });
    let audience = match AudienceRule::new(AudienceParts {
        regions,
        age_min: a.age_min,
        age_max: a.age_max,
        gender: a.gender.map(domain_gender),
        employment_status: a
            .employment_status
            .map(|s| s.into_iter().map(domain_status).collect()),
        medical_category: a.medical_category.map(domain_category),
        has_arrears: a.has_arrears,
        receives: a
            .receives
            .map(|r| r.into_iter().map(domain_benefit).collect()),
    }) {
        Ok(rule) => Some(rule),
        Err(issues) => {
            for i in issues {
                f.add(&format!("audience.{}", i.field), Issue::Value(i.error));
            }
            None
        }
    };
    let schedule = match Schedule::new(b.publish_at, b.expire_at, now) {
        Ok(s) => Some(s),
        Err((field, e)) => {
            f.add(field, Issue::Value(e));
            None
        }
    };
    match (title, body, link, audience, schedule) {
        (Some(title), Some(body), Some(link), Some(audience), Some(schedule)) if f.is_empty() => {
            Ok(NewNotice {
                kind: domain_kind(b.kind),
                title,
                body,
                link,
                audience,
                schedule,
                created_by: by,
            })
        }
        _ => Err(f.into_error()),
    }
}

/// The region a staff member's notices are limited to (a caseworker's, if they have one), and
/// whether `rule` stays inside it: aimed at that region only.
fn within(scope: Option<&str>, rule: &AudienceRule) -> bool {
    match scope {
        None => true,
        Some(own) => rule.single_region().is_some_and(|r| r.as_str() == own),
    }
}

fn notice_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::NotFound("notice"))
}

/// A notice the staff member may see: any for an admin (or a caseworker without a region), a
/// caseworker's own region's for them; any other is 404.
async fn staff_notice(state: &AppState, staff: &Staff, raw: &str) -> Result<Notice, ApiError> {
    let id = notice_id(raw)?;
    let scope = staff_scope(state, staff).await?;
    let notice = state
        .db
        .read(move |c| store::get(c, id))
        .await?
        .filter(|n| within(scope.as_deref(), &n.audience))
        .ok_or(ApiError::NotFound("notice"))?;
    Ok(notice)
}

// ---------------------------------------------------------------------------------------------
// The staff

/// Publishes a notice for the persons its `audience` rule reaches (checked: ages 0–150 with
/// `age_min ≤ age_max`, known regions, non-empty lists, `expire_at` after `publish_at` and now,
/// an `https` link). Admins may aim it anywhere; a caseworker with a region only at that region
/// (`audience.regions` = `[their region]`), anything else is 403. With `send_sms`, it also goes
/// out by SMS when published (see `POST /v1/staff/notices/{id}/sms`). Audited.
#[utoipa::path(post, operation_id = "create_notice", path = "/v1/staff/notices", tag = "notices", request_body = dto::NoticeRequest,
    security(("staff_bearer" = [])),
    responses(
        (status = 201, description = "Published (or scheduled)", body = dto::NoticeView,
            headers(("Location" = String, description = "`/v1/staff/notices/{id}`"))),
        (status = 403, description = "A caseworker aiming outside their region (`forbidden`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid: the text, the link, the dates, the rule (`audience.age_max` below `audience.age_min`, an empty list, an unknown region: `unknown`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Staff>))]
#[post("/v1/staff/notices")]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    body: Json<dto::NoticeRequest>,
) -> Result<HttpResponse, ApiError> {
    staff.require(ANY_STAFF)?;
    let now = state.now();
    let texted = body.0.send_sms;
    let new = parse_request(body.0, now, staff.id)?;
    let scope = staff_scope(&state, &staff).await?;
    if !within(scope.as_deref(), &new.audience) {
        return Err(ErrorCode::Forbidden.into());
    }
    let entry = Audit::of(&req).staff(&staff, "notice.create", "notice", String::new());
    let notice = state
        .db
        .transaction(move |c| {
            let mut unknown = Fields::new();
            for (i, r) in new.audience.regions().iter().enumerate() {
                if !regions::exists(c, r)? {
                    unknown.add(&format!("audience.regions[{i}]"), Issue::Unknown);
                }
            }
            if !unknown.is_empty() {
                return Ok(Err(unknown.into_error()));
            }
            let notice = store::insert(c, &new, now.naive_utc())?;
            if texted {
                sms::fire(c, &notice, now)?;
            }
            let mut entry = entry;
            entry.subject_id = Some(notice.id.to_string());
            audit::record(c, &entry, now.naive_utc())?;
            Ok(Ok(store::get(c, notice.id)?.ok_or(StoreError::NotFound)?))
        })
        .await??;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/v1/staff/notices/{}", notice.id)))
        .json(staff_view(notice, now)))
}

/// Notices newest first, optionally of one `kind`. A caseworker with a region sees those aimed
/// at that region only.
#[utoipa::path(get, operation_id = "list_notices", path = "/v1/staff/notices", tag = "notices", params(dto::StaffNoticeQuery),
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "A page of notices", body = dto::NoticeList),
        (status = 422, description = "`kind`, `limit` or `cursor` invalid", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Staff>))]
#[get("/v1/staff/notices")]
pub async fn list(
    state: web::Data<AppState>,
    staff: Staff,
    query: web::Query<dto::StaffNoticeQuery>,
) -> Result<HttpResponse, ApiError> {
    staff.require(ANY_STAFF)?;
    let q = query.into_inner();
    let page = PageRequest::parse(&shebao_openapi::staff::PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    })?;
    let kind = q
        .kind
        .as_deref()
        .map(NoticeKind::parse)
        .transpose()
        .map_err(|e| field_error_of("kind", Issue::Value(e)))?;
    let filter = StaffFilter {
        kind,
        region: staff_scope(&state, &staff).await?,
    };
    let now = state.now();
    let result = state
        .db
        .read(move |c| store::list(c, &filter, page.after.as_deref(), page.limit))
        .await?;
    Ok(HttpResponse::Ok().json(dto::NoticeList {
        next_cursor: result.next.as_deref().map(cursor::encode),
        items: result
            .items
            .into_iter()
            .map(|n| staff_view(n, now))
            .collect(),
    }))
}

/// One notice.
#[utoipa::path(get, operation_id = "get_notice", path = "/v1/staff/notices/{id}", tag = "notices",
    params(("id" = Uuid, Path, description = "The notice's id")), security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "The notice", body = dto::NoticeView),
        (status = 404, description = "No such notice (in this caseworker's region)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Staff>))]
#[get("/v1/staff/notices/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    staff.require(ANY_STAFF)?;
    let notice = staff_notice(&state, &staff, &path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(staff_view(notice, state.now())))
}

/// How many registered persons the notice's rule reaches now (Beijing date): one count in the
/// database over the persons, their contribution months, benefit payments and awards.
#[utoipa::path(get, operation_id = "notice_audience_size", path = "/v1/staff/notices/{id}/audience-size", tag = "notices",
    params(("id" = Uuid, Path, description = "The notice's id")), security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "The audience now", body = dto::AudienceSize),
        (status = 404, description = "No such notice (in this caseworker's region)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Staff>))]
#[get("/v1/staff/notices/{id}/audience-size")]
pub async fn audience_size(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    staff.require(ANY_STAFF)?;
    let notice = staff_notice(&state, &staff, &path.into_inner()).await?;
    let today = rules::matching_date(state.now());
    let (id, rule) = (notice.id, notice.audience);
    let persons = state
        .db
        .read(move |c| audience::count(c, &rule, today))
        .await?;
    Ok(HttpResponse::Ok().json(dto::AudienceSize {
        notice_id: id,
        persons,
        as_of: today,
    }))
}

/// Sends the notice by SMS to its audience: when it is published (now, if it is), one message
/// to each person the rule reaches then who has a bound account that has not turned notices
/// off (`notices` in `/v1/me/notification-preferences`); like the reminders, only in daylight
/// in the person's region and at most three reminders a phone and day, and not once the notice
/// expired or stopped being aimed at them. Once per notice and person: asked again, 200 with
/// the same job. Audited.
#[utoipa::path(post, operation_id = "send_notice_sms", path = "/v1/staff/notices/{id}/sms", tag = "notices",
    params(("id" = Uuid, Path, description = "The notice's id")), security(("staff_bearer" = [])),
    responses(
        (status = 202, description = "The sending is queued", body = dto::NoticeSms),
        (status = 200, description = "It had been asked for already: nothing new", body = dto::NoticeSms),
        (status = 404, description = "No such notice (in this caseworker's region)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The notice has expired (`notice_expired`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Staff>))]
#[post("/v1/staff/notices/{id}/sms")]
pub async fn send_sms(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    staff.require(ANY_STAFF)?;
    let notice = staff_notice(&state, &staff, &path.into_inner()).await?;
    let now = state.now();
    if notice.schedule.status(now) == NoticeStatus::Expired {
        return Err(ErrorCode::NoticeExpired.into());
    }
    let entry = Audit::of(&req).staff(&staff, "notice.sms", "notice", notice.id.to_string());
    let id = notice.id;
    let fired = state
        .db
        .transaction(move |c| {
            let fired = sms::fire(c, &notice, now)?;
            if fired.new {
                audit::record(c, &entry, now.naive_utc())?;
            }
            Ok(fired)
        })
        .await?;
    let body = dto::NoticeSms {
        notice_id: id,
        job_id: fired.job_id,
        new: fired.new,
    };
    Ok(if fired.new {
        HttpResponse::Accepted().json(body)
    } else {
        HttpResponse::Ok().json(body)
    })
}

// ---------------------------------------------------------------------------------------------
// The person

/// Notices read per query while filling a page: the rules are applied to each.
const CHUNK: usize = 200;

fn unread_filter(raw: Option<&str>) -> Result<Option<bool>, ApiError> {
    match raw {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(_) => Err(field_error_of(
            "unread",
            Issue::Value(ValueError::OneOf {
                allowed: "true, false",
            }),
        )),
    }
}

/// The notices meant for the person now — published, not expired, and with a rule that reaches
/// them today — newest first, each with whether they have read it. `kind` and `unread`
/// narrow the list.
#[utoipa::path(get, operation_id = "list_my_notices", path = "/v1/me/notices", tag = "notices", params(dto::MyNoticeQuery),
    security(("person_bearer" = [])),
    responses(
        (status = 200, description = "A page of notices", body = dto::MyNoticeList),
        (status = 422, description = "`kind`, `unread`, `limit` or `cursor` invalid", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<BoundPerson>))]
#[get("/v1/me/notices")]
pub async fn list_mine(
    state: web::Data<AppState>,
    me: BoundPerson,
    query: web::Query<dto::MyNoticeQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let mut f = Fields::new();
    let kind = q
        .kind
        .as_deref()
        .and_then(|k| f.check("kind", NoticeKind::parse(k)));
    let unread = unread_filter(q.unread.as_deref())?;
    if !f.is_empty() {
        return Err(f.into_error());
    }
    let page = PageRequest::parse(&shebao_openapi::staff::PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    })?;
    // A cursor no page gave, which names no position, is past the end: an empty page.
    let after = match page.after.as_deref().map(store::parse_position) {
        Some(None) => {
            return Ok(HttpResponse::Ok().json(dto::MyNoticeList {
                items: Vec::new(),
                next_cursor: None,
            }))
        }
        Some(position) => position,
        None => None,
    };
    let (person, now, limit) = (me.person_id, state.now(), page.limit);
    let filter = PersonFilter { kind, unread };
    let (items, more) = state
        .db
        .read(move |c| {
            let today = rules::matching_date(now);
            let facts = audience::facts_of(c, person, today)?.ok_or(StoreError::NotFound)?;
            let mut mine = Vec::new();
            let mut from = after.clone();
            loop {
                let chunk = store::shown(c, person, now, filter, from.as_ref(), CHUNK)?;
                let exhausted = chunk.len() < CHUNK;
                if let Some((last, _)) = chunk.last() {
                    from = Some((last.schedule.publish_at.naive_utc(), last.id.to_string()));
                }
                mine.extend(
                    chunk
                        .into_iter()
                        .filter(|(n, _)| n.audience.matches(&facts, today)),
                );
                if mine.len() > limit || exhausted {
                    break;
                }
            }
            let more = mine.len() > limit;
            mine.truncate(limit);
            Ok((mine, more))
        })
        .await?;
    let next = more
        .then(|| {
            items
                .last()
                .map(|(n, _)| cursor::encode(&store::position_key(n)))
        })
        .flatten();
    Ok(HttpResponse::Ok().json(dto::MyNoticeList {
        items: items.into_iter().map(|(n, r)| my_view(n, r)).collect(),
        next_cursor: next,
    }))
}

/// Marks a notice read (again: nothing changes, the first time stays). A notice that is not
/// meant for the person now — aimed at others, not published yet, expired — is 404, as if it
/// did not exist.
#[utoipa::path(post, operation_id = "read_my_notice", path = "/v1/me/notices/{id}/read", tag = "notices",
    params(("id" = Uuid, Path, description = "The notice's id")), security(("person_bearer" = [])),
    responses(
        (status = 200, description = "Read", body = dto::MyNotice),
        (status = 404, description = "No such notice for this person", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<BoundPerson>))]
#[post("/v1/me/notices/{id}/read")]
pub async fn mark_read(
    state: web::Data<AppState>,
    me: BoundPerson,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = notice_id(&path.into_inner())?;
    let (person, now) = (me.person_id, state.now());
    let read = state
        .db
        .transaction(move |c| {
            let today = rules::matching_date(now);
            let Some(notice) = store::get(c, id)? else {
                return Ok(None);
            };
            let facts = audience::facts_of(c, person, today)?.ok_or(StoreError::NotFound)?;
            if !notice.schedule.is_live(now) || !notice.audience.matches(&facts, today) {
                return Ok(None);
            }
            let at = store::mark_read(c, person, id, now.naive_utc())?;
            Ok(Some((notice, at)))
        })
        .await?
        .ok_or(ApiError::NotFound("notice"))?;
    Ok(HttpResponse::Ok().json(my_view(read.0, Some(read.1))))
}
