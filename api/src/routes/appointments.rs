//! Appointments (预约挂号): a bound person books a place of a slot (never more than the slot
//! holds, whatever the concurrency), lists their appointments and cancels one until the slot
//! starts, which gives the place back. The reminder goes out by SMS the day before.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use shebao_infra::audit::{self, ActorKind};
use shebao_infra::db::{DbConnection, StoreError};
use shebao_infra::institutions::appointments::{
    self as store, Appointment, AppointmentStatus, NewAppointment, NotBooked, NotCancelled,
};
use shebao_openapi::institutions as dto;
use shebao_openapi::staff::PageQuery;
use uuid::Uuid;

use crate::audit::Audit;
use crate::auth::bound::BoundPerson;
use crate::auth::extract::{Json, PageRequest};
use crate::cursor;
use crate::error::{ApiError, ErrorCode, Problems};
use crate::routes::institutions::slot_view;
use crate::routes::payments::idempotency_key;
use crate::state::AppState;

fn view(a: &Appointment) -> dto::AppointmentView {
    dto::AppointmentView {
        id: a.id,
        status: match a.status {
            AppointmentStatus::Booked => dto::AppointmentStatus::Booked,
            AppointmentStatus::Cancelled => dto::AppointmentStatus::Cancelled,
        },
        institution: dto::AppointmentPlace {
            code: a.slot.institution_code.clone(),
            name: a.institution_name.clone(),
            address: a.institution_address.clone(),
            phone: a.institution_phone.clone(),
        },
        slot: slot_view(&a.slot),
        created_at: a.created_at,
        cancelled_at: a.cancelled_at,
    }
}

fn not_booked(n: NotBooked) -> ApiError {
    match n {
        NotBooked::NoSlot => ErrorCode::SlotNotFound.into(),
        NotBooked::Started => ErrorCode::SlotStarted.into(),
        NotBooked::Full => ErrorCode::SlotFull.into(),
        NotBooked::AlreadyBooked(id) => ApiError::With {
            code: ErrorCode::AppointmentExists,
            args: vec![("id", id.to_string())],
        },
    }
}

/// Books a place of a slot for the bound person. Every place is taken by a conditional update
/// of the slot in the booking's own transaction, so a slot is never overbooked: the booking that
/// finds none left is 409 `slot_full`. One booked appointment per person and slot (409
/// `appointment_exists`, naming it); a slot that has started cannot be booked (409
/// `slot_started`). The same `Idempotency-Key` with the same body answers the same appointment
/// again (`Idempotent-Replayed: true`); with another body it is 422 `idempotency_key_reused`.
/// A reminder SMS goes out at 10:00 the day before (the person's region's time).
#[utoipa::path(post, operation_id = "book_appointment", path = "/v1/me/appointments", tag = "institutions", request_body = dto::AppointmentRequest,
    params(("Idempotency-Key" = String, Header, description = "8–64 visible ASCII characters, new for each booking", min_length = 8, max_length = 64, pattern = "^[!-~]{8,64}$")),
    security(("person_bearer" = [])),
    responses(
        (status = 201, description = "Booked (or, replayed, the appointment as it stands now)", body = dto::AppointmentView,
            headers(("Idempotent-Replayed" = String, description = "`true` when this answers an earlier request with the same key"))),
        (status = 400, description = "No valid `Idempotency-Key` (`idempotency_key_required`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such slot (`slot_not_found`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Every place is taken (`slot_full`), the person holds an appointment in this slot already (`appointment_exists`), or the slot has started (`slot_started`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`slot_id` is not a UUID (`validation_failed`), or the key was used with another body (`idempotency_key_reused`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<BoundPerson>))]
#[post("/v1/me/appointments")]
pub async fn book(
    req: HttpRequest,
    state: web::Data<AppState>,
    person: BoundPerson,
    body: Json<dto::AppointmentRequest>,
) -> Result<HttpResponse, ApiError> {
    let key = idempotency_key(req.headers())?;
    let new = NewAppointment {
        person_id: person.person_id,
        slot_id: body.0.slot_id,
        idempotency_key: key,
        request_hash: body.0.slot_id.to_string(),
    };
    let now = state.now();
    let mut entry = Audit::of(&req).entry(
        ActorKind::Person,
        Some(person.account_id.to_string()),
        "appointment.book",
        "success",
    );
    entry.subject_kind = Some("appointment");
    // A twin request with the same key, or a second booking of the same slot, may lose the race
    // on a unique index: its transaction rolls back whole, and the second try finds the winner.
    let mut tries = 0;
    let outcome = loop {
        tries += 1;
        let (new, mut entry) = (new.clone(), entry.clone());
        let result = state
            .db
            .transaction(move |c| {
                if let Some(replay) = replay(c, &new)? {
                    return Ok(replay);
                }
                match store::book(c, &new, now)? {
                    Ok(a) => {
                        entry.subject_id = Some(a.id.to_string());
                        audit::record(c, &entry, now.naive_utc())?;
                        Ok(Ok((a, false)))
                    }
                    // On PostgreSQL each statement sees what committed before it began: a twin
                    // with this key may have booked between the first look and this one, and
                    // then its appointment is this request's answer, not a conflict.
                    Err(n @ NotBooked::AlreadyBooked(_)) => {
                        Ok(replay(c, &new)?.unwrap_or_else(|| Err(not_booked(n))))
                    }
                    Err(n) => Ok(Err(not_booked(n))),
                }
            })
            .await;
        match result {
            Err(StoreError::Conflict(_)) if tries < 2 => continue,
            other => break other?,
        }
    };
    let (appointment, replayed) = outcome?;
    let mut res = HttpResponse::Created();
    if replayed {
        res.insert_header(("Idempotent-Replayed", "true"));
    }
    Ok(res.json(view(&appointment)))
}

/// A booking's answer: the appointment and whether it replays an earlier request, or the error.
type Booked = Result<(Appointment, bool), ApiError>;

/// The answer to an earlier booking with the request's key, if there is one: that appointment
/// (replayed) for the same body, `idempotency_key_reused` for another.
fn replay(c: &mut DbConnection, new: &NewAppointment) -> Result<Option<Booked>, StoreError> {
    Ok(
        store::by_key(c, new.person_id, &new.idempotency_key)?.map(|earlier| {
            if earlier.request_hash == new.request_hash {
                Ok((earlier, true))
            } else {
                Err(ErrorCode::IdempotencyKeyReused.into())
            }
        }),
    )
}

/// The person's appointments, newest first, booked and cancelled.
#[utoipa::path(get, operation_id = "list_appointments", path = "/v1/me/appointments", tag = "institutions", params(PageQuery), security(("person_bearer" = [])),
    responses(
        (status = 200, description = "A page of appointments", body = dto::AppointmentList),
        (status = 422, description = "`limit` or `cursor` invalid", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<BoundPerson>))]
#[get("/v1/me/appointments")]
pub async fn list(
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
    Ok(HttpResponse::Ok().json(dto::AppointmentList {
        items: list.items.iter().map(view).collect(),
        next_cursor: list.next.as_deref().map(cursor::encode),
    }))
}

/// Cancels one of the person's appointments until its slot starts; the place goes back to the
/// slot and the reminder is not sent. Cancelling it again changes nothing. Another person's
/// appointment is 404, as if it did not exist.
#[utoipa::path(post, operation_id = "cancel_appointment", path = "/v1/me/appointments/{id}/cancel", tag = "institutions",
    params(("id" = Uuid, Path, description = "The appointment's id")), security(("person_bearer" = [])),
    responses(
        (status = 200, description = "Cancelled", body = dto::AppointmentView),
        (status = 404, description = "No such appointment of this person (`appointment_not_found`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The slot has started (`slot_started`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<BoundPerson>))]
#[post("/v1/me/appointments/{id}/cancel")]
pub async fn cancel(
    req: HttpRequest,
    state: web::Data<AppState>,
    person: BoundPerson,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = Uuid::parse_str(&path.into_inner()).map_err(|_| ErrorCode::AppointmentNotFound)?;
    let now = state.now();
    let owner = person.person_id;
    let mut entry = Audit::of(&req).entry(
        ActorKind::Person,
        Some(person.account_id.to_string()),
        "appointment.cancel",
        "success",
    );
    entry.subject_kind = Some("appointment");
    entry.subject_id = Some(id.to_string());
    let cancelled: Result<Appointment, ApiError> = state
        .db
        .transaction(move |c| {
            let Some(a) = store::get(c, id)?.filter(|a| a.person_id == owner) else {
                return Ok(Err(ErrorCode::AppointmentNotFound.into()));
            };
            let was_booked = a.status == AppointmentStatus::Booked;
            match store::cancel(c, &a, now)? {
                Ok(()) => {}
                Err(NotCancelled::Started) => return Ok(Err(ErrorCode::SlotStarted.into())),
            }
            if was_booked {
                audit::record(c, &entry, now.naive_utc())?;
            }
            Ok(Ok(store::get(c, id)?.ok_or(StoreError::NotFound)?))
        })
        .await?;
    Ok(HttpResponse::Ok().json(view(&cancelled?)))
}
