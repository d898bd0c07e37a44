//! SMS reminders: the account's choice of campaigns, and an admin firing a campaign's slot now.

use actix_web::{get, post, put, web, HttpRequest, HttpResponse};
use shebao_domain::reminders::{Campaign, Preferences};
use shebao_domain::staff::StaffRole;
use shebao_infra::audit::{self, ActorKind};
use shebao_infra::reminders::{campaigns, prefs};
use shebao_openapi::reminders::{
    CampaignRun, CampaignRunRequest, NotificationPreferences, NotificationPreferencesUpdate,
};

use crate::audit::Audit;
use crate::auth::extract::{Json, Staff};
use crate::auth::person::Person;
use crate::error::{ApiError, Problems};
use crate::state::AppState;

fn wire(p: Preferences) -> NotificationPreferences {
    NotificationPreferences {
        due: p.due,
        arrears: p.arrears,
        statement: p.statement,
        resident_window: p.resident_window,
        notices: p.notices,
    }
}

/// The SMS reminder campaigns the account hears from (all on until changed).
#[utoipa::path(get, operation_id = "get_notification_preferences", path = "/v1/me/notification-preferences", tag = "me", security(("person_bearer" = [])),
    responses(
        (status = 200, description = "The account's choices", body = NotificationPreferences),
        Problems<Person>))]
#[get("/v1/me/notification-preferences")]
pub async fn get_preferences(
    state: web::Data<AppState>,
    person: Person,
) -> Result<HttpResponse, ApiError> {
    let account = person.account_id;
    let p = state.db.read(move |c| prefs::get(c, account)).await?;
    Ok(HttpResponse::Ok().json(wire(p)))
}

/// Replaces the account's choices (`notices` left out stays as it is). A campaign turned off
/// sends nothing more to the account, including its messages already queued.
#[utoipa::path(put, operation_id = "put_notification_preferences", path = "/v1/me/notification-preferences", tag = "me", request_body = NotificationPreferencesUpdate, security(("person_bearer" = [])),
    responses(
        (status = 200, description = "The account's choices now", body = NotificationPreferences),
        (status = 422, description = "A field is missing, unknown or not a boolean", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Person>))]
#[put("/v1/me/notification-preferences")]
pub async fn put_preferences(
    req: HttpRequest,
    state: web::Data<AppState>,
    person: Person,
    body: Json<NotificationPreferencesUpdate>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let account = person.account_id;
    let now = state.now().naive_utc();
    let entry = Audit::of(&req).entry(
        ActorKind::Person,
        Some(account.to_string()),
        "notification_preferences.put",
        "success",
    );
    let saved = state
        .db
        .transaction(move |c| {
            let notices = match b.notices {
                Some(on) => on,
                None => prefs::get(c, account)?.notices,
            };
            let p = Preferences {
                due: b.due,
                arrears: b.arrears,
                statement: b.statement,
                resident_window: b.resident_window,
                notices,
            };
            prefs::put(c, account, &p, now)?;
            audit::record(c, &entry, now)?;
            prefs::get(c, account)
        })
        .await?;
    Ok(HttpResponse::Ok().json(wire(saved)))
}

/// Fires a campaign's slot now (the slot containing `as_of`, Beijing time): its job enqueues
/// the slot's messages, each person's once. Idempotent per slot: asked again, it answers 200
/// with the first firing's job. Admins only; recorded in the audit log.
#[utoipa::path(post, operation_id = "run_campaign", path = "/v1/staff/campaigns/{kind}:run", tag = "staff",
    params(("kind" = String, Path, description = "`due`, `arrears`, `statement` or `resident_window`")),
    request_body = CampaignRunRequest,
    security(("staff_bearer" = [])),
    responses(
        (status = 202, description = "Fired: the job is queued", body = CampaignRun),
        (status = 200, description = "The slot had been fired already: nothing new", body = CampaignRun),
        (status = 404, description = "No such campaign", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`as_of` missing or not an RFC 3339 instant", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Staff>))]
#[post("/v1/staff/campaigns/{kind}:run")]
pub async fn run_campaign(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
    body: Json<CampaignRunRequest>,
) -> Result<HttpResponse, ApiError> {
    staff.require(&[StaffRole::Admin])?;
    // A notice's messages are sent per notice (`POST /v1/staff/notices/{id}/sms`), not by slot.
    let campaign = Campaign::parse(&path.into_inner())
        .ok()
        .filter(|c| c.is_scheduled())
        .ok_or(ApiError::NotFound("campaign"))?;
    let as_of = body.0.as_of;
    let now = state.now();
    let entry = Audit::of(&req).staff(
        &staff,
        "campaign.run",
        "campaign",
        campaign.as_str().to_owned(),
    );
    let fired = state
        .db
        .transaction(move |c| {
            let fired = campaigns::fire(c, campaign, as_of, now)?;
            if fired.new {
                let mut entry = entry;
                entry.subject_id = Some(format!("{}:{}", campaign.as_str(), fired.slot));
                audit::record(c, &entry, now.naive_utc())?;
            }
            Ok(fired)
        })
        .await?;
    let body = CampaignRun {
        campaign: campaign.as_str().to_owned(),
        slot: fired.slot,
        job_id: fired.job_id,
        new: fired.new,
    };
    Ok(if fired.new {
        HttpResponse::Accepted().json(body)
    } else {
        HttpResponse::Ok().json(body)
    })
}
