//! Premium payments: what is owed, the flexible base, payees, orders through the payment
//! gateway, the gateway's notifications, and the staff's reconciliation and trial balance.

use actix_web::http::header::HeaderMap;
use actix_web::{delete, get, post, put, web, HttpRequest, HttpResponse};
use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use shebao_domain::identity::{NationalId, PersonName};
use shebao_domain::insurance::InsuranceType;
use shebao_domain::money::Fen;
use shebao_domain::payments::payables::{self, MonthInputs, Payable, PayableId, PayableKind};
use shebao_domain::payments::{GatewayError, PaymentStatus, SignedNotification};
use shebao_domain::staff::StaffRole;
use shebao_infra::audit::{self, ActorKind};
use shebao_infra::db::StoreError;
use shebao_infra::payments::service::{self, PayError, Reconciliation};
use shebao_infra::payments::store::{self, Payee, Payment};
use shebao_infra::registry::{persons, regions};
use shebao_openapi::payments as dto;
use shebao_openapi::records::Insurance;
use shebao_openapi::staff::PageQuery;
use uuid::Uuid;

use crate::audit::Audit;
use crate::auth::bound::BoundPerson;
use crate::auth::extract::{Json, PageRequest, Staff};
use crate::auth::person::Person;
use crate::context::{self, Lang};
use crate::cursor;
use crate::error::{field_error_of, problems, ApiError, ErrorCode, Fields, Issue, Problems};
use crate::limits::{self, Tries};
use crate::state::AppState;

const ADMIN: &[StaffRole] = &[StaffRole::Admin];

fn lang() -> Lang {
    context::current().map(|c| c.lang).unwrap_or(Lang::Zh)
}

fn utc(t: NaiveDateTime) -> chrono::DateTime<chrono::Utc> {
    t.and_utc()
}

fn wire_insurance(i: InsuranceType) -> Insurance {
    match i {
        InsuranceType::Pension => Insurance::Pension,
        InsuranceType::Medical => Insurance::Medical,
        InsuranceType::Unemployment => Insurance::Unemployment,
        InsuranceType::WorkInjury => Insurance::WorkInjury,
        InsuranceType::Maternity => Insurance::Maternity,
    }
}

fn wire_kind(k: PayableKind) -> dto::PayableKind {
    match k {
        PayableKind::FlexibleMonth => dto::PayableKind::FlexibleMonth,
        PayableKind::ArrearsMonth => dto::PayableKind::ArrearsMonth,
        PayableKind::ResidentMedicalYear => dto::PayableKind::ResidentMedicalYear,
    }
}

fn wire_status(s: PaymentStatus) -> dto::PaymentStatus {
    match s {
        PaymentStatus::AwaitingPayment => dto::PaymentStatus::AwaitingPayment,
        PaymentStatus::Pending => dto::PaymentStatus::Pending,
        PaymentStatus::Paid => dto::PaymentStatus::Paid,
        PaymentStatus::Failed => dto::PaymentStatus::Failed,
        PaymentStatus::Cancelled => dto::PaymentStatus::Cancelled,
        PaymentStatus::Expired => dto::PaymentStatus::Expired,
        PaymentStatus::Refunded => dto::PaymentStatus::Refunded,
    }
}

/// The payments service, or 503 while the gateway is not configured.
fn payments(state: &AppState) -> Result<&service::Payments, ApiError> {
    state
        .payments
        .as_ref()
        .ok_or_else(|| ErrorCode::GatewayUnavailable.retry_after(30))
}

fn pay_error(e: PayError) -> ApiError {
    match e {
        PayError::Store(e) => e.into(),
        PayError::Gateway(GatewayError::Unavailable(cause)) => {
            tracing::warn!(%cause, "payment gateway unavailable");
            ErrorCode::GatewayUnavailable.retry_after(5)
        }
        PayError::Gateway(GatewayError::Rejected { code, .. }) if code == "NO_STATEMENT_EXIST" => {
            field_error_of(
                "date",
                Issue::Value(shebao_domain::ValueError::Rule(
                    "the gateway has no bill for this day (yet)",
                )),
            )
        }
        PayError::Gateway(e) => {
            tracing::error!(error = %e, "payment gateway refused");
            ErrorCode::GatewayUnavailable.retry_after(30)
        }
        PayError::KeyReused => ErrorCode::IdempotencyKeyReused.into(),
        PayError::AlreadyInPayment { payable, payment } => ApiError::With {
            code: ErrorCode::AlreadyInPayment,
            args: vec![
                ("payable", payable.to_string()),
                ("payment", payment.to_string()),
            ],
        },
        PayError::AlreadyPaid => ErrorCode::AlreadyPaid.into(),
        PayError::NotOpen(s) => ApiError::With {
            code: ErrorCode::PaymentNotOpen,
            args: vec![("status", s.as_str().to_owned())],
        },
        PayError::BadNotification(_) => ErrorCode::NotificationRejected.into(),
    }
}

/// The payables of a person on their region's `today`, and the records they came from.
async fn current_payables(
    state: &AppState,
    person: Uuid,
    today: NaiveDate,
) -> Result<(Vec<Payable>, store::PayableRecords), ApiError> {
    let (records, years, rules) = state
        .db
        .read(move |c| {
            Ok((
                store::payable_records(c, person)?,
                regions::years_of_person(c, person)?,
                regions::rules_of_person(c, person)?.unwrap_or_default(),
            ))
        })
        .await?;
    let pid = person.to_string();
    let mut items = payables::month_payables(&MonthInputs {
        person_id: &pid,
        today,
        due_day: rules.contribution_due_day,
        flexible: records.flexible,
        employee_medical: records.employee_medical,
        years: &years,
        chosen_bases: &records.chosen_bases,
        own_months: &records.own_months,
    });
    items.extend(payables::resident_payables(
        today,
        &years,
        &records.resident_candidates,
    ));
    Ok((items, records))
}

fn payable_view(p: &Payable, records: &store::PayableRecords) -> dto::PayableView {
    let (name, national_id) = records
        .people
        .get(&p.covered_person)
        .cloned()
        .unwrap_or_default();
    dto::PayableView {
        id: p.id.to_string(),
        kind: wire_kind(p.kind()),
        insurance: wire_insurance(p.insurance),
        period: p.period.map(|x| x.to_string()),
        year: p.year,
        for_person: dto::CoveredPerson { name, national_id },
        base_fen: p.base.map(|b| b.0),
        principal_fen: p.principal.0,
        late_fee_fen: p.late_fee.0,
        amount_fen: p.amount().0,
        due_date: p.due_date,
        in_payment: records
            .open_claims
            .get(&p.claim_key())
            .and_then(|id| Uuid::parse_str(id).ok()),
    }
}

/// What the person may pay now: their own flexible-employment months (this month and the next
/// two), their own unpaid months with the late fee to today, and the resident medical premium
/// of themselves and their payees while its collection window is open. Amounts are computed
/// here; months owed by an employer are never payable by the person.
#[utoipa::path(get, operation_id = "list_payables", path = "/v1/me/payables", tag = "payments", security(("person_bearer" = [])),
    responses(
        (status = 200, description = "What can be paid now, and the total", body = dto::PayableList),
        Problems<BoundPerson>))]
#[get("/v1/me/payables")]
pub async fn list_payables(
    state: web::Data<AppState>,
    person: BoundPerson,
) -> Result<HttpResponse, ApiError> {
    let today = person.today(state.now());
    let (items, records) = current_payables(&state, person.person_id, today).await?;
    let total = payables::total(&items).unwrap_or(Fen::ZERO);
    Ok(HttpResponse::Ok().json(dto::PayableList {
        items: items.iter().map(|p| payable_view(p, &records)).collect(),
        total_fen: total.0,
    }))
}

/// Sets the base a flexible-employment person pays on in a year; it must lie within the
/// region's floor and ceiling for that year (422 names the range). Without one, the floor.
#[utoipa::path(put, operation_id = "put_flexible_base", path = "/v1/me/flexible-base", tag = "payments", request_body = dto::FlexibleBaseRequest, security(("person_bearer" = [])),
    responses(
        (status = 200, description = "The base, with the year's range", body = dto::FlexibleBaseView),
        (status = 422, description = "The year has no parameters, or the base is outside the range (the field error names it)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<BoundPerson>))]
#[put("/v1/me/flexible-base")]
pub async fn put_flexible_base(
    req: HttpRequest,
    state: web::Data<AppState>,
    person: BoundPerson,
    body: Json<dto::FlexibleBaseRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let pid = person.person_id;
    let year = b.year;
    let params = state
        .db
        .read(move |c| {
            let years = regions::years_of_person(c, pid)?;
            Ok(years.into_iter().find(|y| y.year() == year))
        })
        .await?
        .ok_or_else(|| {
            field_error_of(
                "year",
                Issue::Value(shebao_domain::ValueError::Rule(
                    "the region has no parameters for this year",
                )),
            )
        })?;
    let (floor, ceiling) = (params.base_floor(), params.base_ceiling());
    if b.base_fen < floor.0 || b.base_fen > ceiling.0 {
        return Err(field_error_of(
            "base_fen",
            Issue::Value(shebao_domain::ValueError::Range {
                min: floor.0,
                max: ceiling.0,
            }),
        ));
    }
    let now = state.now().naive_utc();
    let mut entry = Audit::of(&req).entry(
        ActorKind::Person,
        Some(person.account_id.to_string()),
        "payment.flexible_base",
        "success",
    );
    entry.subject_kind = Some("person");
    entry.subject_id = Some(pid.to_string());
    state
        .db
        .transaction(move |c| {
            store::set_flexible_base(c, pid, year, Fen(b.base_fen), now)?;
            audit::record(c, &entry, now)
        })
        .await?;
    Ok(HttpResponse::Ok().json(dto::FlexibleBaseView {
        year,
        base_fen: b.base_fen,
        floor_fen: floor.0,
        ceiling_fen: ceiling.0,
    }))
}

fn relation_of(r: &str) -> dto::Relation {
    match r {
        "self" => dto::Relation::Own,
        "spouse" => dto::Relation::Spouse,
        "parent" => dto::Relation::Parent,
        "child" => dto::Relation::Child,
        _ => dto::Relation::Other,
    }
}

fn relation_str(r: dto::Relation) -> &'static str {
    match r {
        dto::Relation::Own => "self",
        dto::Relation::Spouse => "spouse",
        dto::Relation::Parent => "parent",
        dto::Relation::Child => "child",
        dto::Relation::Other => "other",
    }
}

fn payee_view(p: Payee) -> dto::PayeeView {
    dto::PayeeView {
        id: p.id,
        name: p.name,
        national_id: p.national_id_masked,
        relation: relation_of(&p.relation),
        medical_category: p.medical_category,
        created_at: utc(p.created_at),
    }
}

/// The blind-index domain of ID numbers tried as payees (its own, like binding's).
const PAYEE_ID_INDEX: &str = "payee_id_number";

/// Adds someone whose resident premium this account may pay. The ID number and name must match
/// the registry; a mismatch says only that they do not match (not which field). Tries are
/// limited like binding's.
#[utoipa::path(post, operation_id = "add_payee", path = "/v1/me/payees", tag = "payments", request_body = dto::PayeeRequest, security(("person_bearer" = [])),
    responses(
        (status = 201, description = "Added", body = dto::PayeeView),
        (status = 409, description = "A payee already (`payee_exists`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid, or the details do not match the registry (`payee_mismatch`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<(BoundPerson, problems::TooManyAttempts)>))]
#[post("/v1/me/payees")]
pub async fn add_payee(
    req: HttpRequest,
    state: web::Data<AppState>,
    person: BoundPerson,
    body: Json<dto::PayeeRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let mut f = Fields::new();
    let national_id = f.check("national_id", NationalId::parse(&b.national_id));
    let name = f.check("name", PersonName::parse(&b.name));
    let (Some(national_id), Some(name)) = (national_id, name) else {
        return Err(f.into_error());
    };
    let id_hash = state
        .vault
        .blind_index(PAYEE_ID_INDEX, national_id.expose());
    let tries = Tries::begin(&state, limits::binding(person.account_id, &id_hash)).await?;
    let vault = state.vault.clone();
    let owner = person.person_id;
    let relation = relation_str(b.relation);
    let now = state.now().naive_utc();
    let audit_for = Audit::of(&req);
    let entry = |outcome| {
        audit_for.entry(
            ActorKind::Person,
            Some(person.account_id.to_string()),
            "payee.create",
            outcome,
        )
    };
    let (mismatch, mut success) = (entry("mismatch"), entry("success"));
    let added = state
        .db
        .transaction(move |c| {
            let found = persons::find_by_national_id(c, &vault, &national_id)?
                .filter(|p| p.name.as_str() == name.as_str());
            let Some(p) = found else {
                audit::record(c, &mismatch, now)?;
                return Ok(Err(ErrorCode::PayeeMismatch));
            };
            // The person themselves pays their own premium without being a payee.
            if p.id == owner {
                return Ok(Err(ErrorCode::PayeeExists));
            }
            let Some(id) = store::add_payee(c, owner, p.id, relation, now)? else {
                return Ok(Err(ErrorCode::PayeeExists));
            };
            success.subject_kind = Some("person");
            success.subject_id = Some(p.id.to_string());
            audit::record(c, &success, now)?;
            Ok(Ok(
                store::get_payee(c, owner, id)?.ok_or(StoreError::NotFound)?
            ))
        })
        .await?;
    match added {
        Ok(p) => {
            tries.succeeded(&state).await?;
            Ok(HttpResponse::Created().json(payee_view(p)))
        }
        Err(ErrorCode::PayeeMismatch) => {
            tries.failed();
            Err(ErrorCode::PayeeMismatch.into())
        }
        Err(code) => {
            tries.released(&state).await?;
            Err(code.into())
        }
    }
}

/// The people whose resident premium this account may pay, in the order they were added.
#[utoipa::path(get, operation_id = "list_payees", path = "/v1/me/payees", tag = "payments", params(PageQuery), security(("person_bearer" = [])),
    responses(
        (status = 200, description = "A page of payees", body = dto::PayeeList),
        (status = 422, description = "`limit` or `cursor` invalid", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<BoundPerson>))]
#[get("/v1/me/payees")]
pub async fn list_payees(
    state: web::Data<AppState>,
    person: BoundPerson,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = PageRequest::parse(&query.into_inner())?;
    let owner = person.person_id;
    let list = state
        .db
        .read(move |c| store::payees_of(c, owner, page.after.as_deref(), page.limit))
        .await?;
    Ok(HttpResponse::Ok().json(dto::PayeeList {
        next_cursor: list.next.as_deref().map(cursor::encode),
        items: list.items.into_iter().map(payee_view).collect(),
    }))
}

/// Removes a payee (payments already made stay).
#[utoipa::path(delete, operation_id = "delete_payee", path = "/v1/me/payees/{id}", tag = "payments",
    params(("id" = Uuid, Path, description = "The payee's id")), security(("person_bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such payee of this account", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<BoundPerson>))]
#[delete("/v1/me/payees/{id}")]
pub async fn delete_payee(
    req: HttpRequest,
    state: web::Data<AppState>,
    person: BoundPerson,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = Uuid::parse_str(&path.into_inner()).map_err(|_| ApiError::NotFound("payee"))?;
    let owner = person.person_id;
    let now = state.now().naive_utc();
    let mut entry = Audit::of(&req).entry(
        ActorKind::Person,
        Some(person.account_id.to_string()),
        "payee.delete",
        "success",
    );
    entry.subject_kind = Some("payee");
    entry.subject_id = Some(id.to_string());
    let deleted = state
        .db
        .transaction(move |c| {
            let deleted = store::delete_payee(c, owner, id)?;
            if deleted {
                audit::record(c, &entry, now)?;
            }
            Ok(deleted)
        })
        .await?;
    if deleted {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::NotFound("payee"))
    }
}

/// The `Idempotency-Key` header: 8–64 visible ASCII characters.
pub(crate) fn idempotency_key(headers: &HeaderMap) -> Result<String, ApiError> {
    let key = headers
        .get("Idempotency-Key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| (8..=64).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or(ErrorCode::IdempotencyKeyRequired)?;
    Ok(key.to_owned())
}

fn failure_view(p: &Payment, lang: Lang) -> Option<dto::FailureView> {
    let f = p.failure?;
    let (m, w) = (f.message(), f.what_to_do());
    Some(dto::FailureView {
        code: f.code().to_owned(),
        message: lang.pick(m.zh, m.en).to_owned(),
        what_to_do: lang.pick(w.zh, w.en).to_owned(),
    })
}

fn refund_view(p: &Payment, lang: Lang) -> Option<dto::RefundView> {
    let status = p.refund_status.clone()?;
    Some(dto::RefundView {
        reason: p.refund_reason.clone().unwrap_or_else(|| "duplicate".into()),
        message: lang
            .pick(
                "这笔款项所缴的项目已由另一笔支付缴清，款项将原路退回。",
                "What this payment was for had been paid by another payment; the money goes back the way it came.",
            )
            .to_owned(),
        amount_fen: p.amount.0,
        status,
        refunded_at: p.refunded_at.map(utc),
    })
}

fn payment_view(p: &Payment, timeline: Vec<store::PaymentEvent>) -> dto::PaymentView {
    let lang = lang();
    dto::PaymentView {
        id: p.id,
        out_trade_no: p.out_trade_no.clone(),
        status: wire_status(p.status),
        channel: dto::Channel::Wechat,
        amount_fen: p.amount.0,
        items: p
            .items
            .iter()
            .map(|i| dto::PaymentItem {
                payable: i.id.to_string(),
                principal_fen: i.principal.0,
                late_fee_fen: i.late_fee.0,
            })
            .collect(),
        created_at: utc(p.created_at),
        expires_at: utc(p.expires_at),
        paid_at: p.paid_at.map(utc),
        gateway: dto::GatewayOrder {
            prepay_id: p.prepay_id.clone(),
        },
        timeline: timeline
            .into_iter()
            .map(|e| dto::TimelineStep {
                at: utc(e.at),
                status: PaymentStatus::parse(&e.status)
                    .map(wire_status)
                    .unwrap_or(dto::PaymentStatus::AwaitingPayment),
                detail: e.detail,
            })
            .collect(),
        failure: failure_view(p, lang),
        refund: refund_view(p, lang),
    }
}

async fn view_of(state: &AppState, p: &Payment) -> Result<dto::PaymentView, ApiError> {
    let id = p.id;
    let timeline = state.db.read(move |c| store::timeline(c, id)).await?;
    Ok(payment_view(p, timeline))
}

/// Pays payables (ids from `GET /v1/me/payables`) through the gateway: the server computes the
/// amounts, claims each payable for this payment, and creates the order at the gateway; the
/// phone passes `gateway.prepay_id` to the payment SDK. Needs a step-up. The same
/// `Idempotency-Key` with the same body answers the same payment again
/// (`Idempotent-Replayed: true`); with another body, 422.
#[utoipa::path(post, operation_id = "create_payment", path = "/v1/me/payments", tag = "payments", request_body = dto::PaymentRequest,
    params(("Idempotency-Key" = String, Header, description = "8–64 visible ASCII characters, new for each payment", min_length = 8, max_length = 64, pattern = "^[!-~]{8,64}$")),
    security(("person_bearer" = [])),
    responses(
        (status = 201, description = "The payment, awaiting payment (or, replayed, as it stands now)", body = dto::PaymentView,
            headers(("Idempotent-Replayed" = String, description = "`true` when this answers an earlier request with the same key"))),
        (status = 400, description = "No valid `Idempotency-Key` (`idempotency_key_required`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 409, description = "A payable is in an open payment already (`already_in_payment`, naming both)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid, a payable is not payable now (`payable_unknown`), or the key was used with another body (`idempotency_key_reused`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The payment gateway is unavailable (`gateway_unavailable`): send the same request again", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<(BoundPerson, problems::StepUpRequired)>))]
#[post("/v1/me/payments")]
pub async fn create_payment(
    req: HttpRequest,
    state: web::Data<AppState>,
    person: Person,
    body: Json<dto::PaymentRequest>,
) -> Result<HttpResponse, ApiError> {
    let bound = person.person.ok_or(ErrorCode::BindingRequired)?;
    let (person_id, time_zone) = (bound.id, bound.time_zone);
    person.require_step_up(state.now().timestamp())?;
    let key = idempotency_key(req.headers())?;
    let b = body.0;
    let mut f = Fields::new();
    if b.payables.is_empty() || b.payables.len() > 50 {
        f.add(
            "payables",
            Issue::Value(shebao_domain::ValueError::Range { min: 1, max: 50 }),
        );
    }
    let mut ids = Vec::new();
    for (i, s) in b.payables.iter().enumerate() {
        if let Some(id) = f.check(&format!("payables[{i}]"), PayableId::parse(s)) {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    if !f.is_empty() {
        return Err(f.into_error());
    }
    ids.sort();
    let request_hash = format!(
        "wechat|{}",
        ids.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")
    );
    let service = payments(&state)?;
    let today = time_zone.local_date(state.now());
    let (available, _) = current_payables(&state, person_id, today).await?;
    let missing = ids
        .iter()
        .find(|id| !available.iter().any(|p| &p.id == *id));
    let items: Vec<Payable> = available
        .iter()
        .filter(|p| ids.contains(&p.id))
        .cloned()
        .collect();
    let description = description_of(&items);
    let entry = Audit::of(&req).entry(
        ActorKind::Person,
        Some(person.account_id.to_string()),
        "payment.create",
        "success",
    );
    if let Some(missing) = missing {
        // Not payable now; but a replay of a payment made earlier with this key (whose
        // payables are no longer listed as payable) still answers that payment.
        let existing = state
            .db
            .read(move |c| store::by_key(c, person_id, &key))
            .await?;
        return match existing {
            Some(p) if p.request_hash == request_hash => {
                let view = view_of(&state, &p).await?;
                Ok(HttpResponse::Created()
                    .insert_header(("Idempotent-Replayed", "true"))
                    .json(view))
            }
            Some(_) => Err(ErrorCode::IdempotencyKeyReused.into()),
            None => Err(ApiError::With {
                code: ErrorCode::PayableUnknown,
                args: vec![("payable", missing.to_string())],
            }),
        };
    }
    let (payment, replayed) = service
        .create(person_id, key, request_hash, items, description)
        .await
        .map_err(pay_error)?;
    if !replayed {
        let mut entry = entry;
        entry.subject_kind = Some("payment");
        entry.subject_id = Some(payment.id.to_string());
        let now = state.now().naive_utc();
        state
            .db
            .transaction(move |c| audit::record(c, &entry, now))
            .await?;
    }
    let view = view_of(&state, &payment).await?;
    let mut res = HttpResponse::Created();
    if replayed {
        res.insert_header(("Idempotent-Replayed", "true"));
    }
    Ok(res.json(view))
}

/// What the payer sees at the gateway.
fn description_of(items: &[Payable]) -> String {
    let first = items.first().map(|p| match (p.period, p.year) {
        (Some(period), _) => format!(
            "{}{} {period}",
            if p.kind() == PayableKind::ArrearsMonth {
                "补缴"
            } else {
                "灵活就业"
            },
            match p.insurance {
                InsuranceType::Pension => "养老保险",
                _ => "医疗保险",
            }
        ),
        (None, year) => format!("城乡居民医保 {}年度", year.unwrap_or_default()),
    });
    match (first, items.len()) {
        (Some(f), 1) => format!("社保缴费 {f}"),
        (Some(f), n) => format!("社保缴费 {f} 等{n}项"),
        (None, _) => "社保缴费".into(),
    }
}

async fn own_payment(
    state: &AppState,
    person: &BoundPerson,
    id: &str,
) -> Result<Payment, ApiError> {
    let id = Uuid::parse_str(id).map_err(|_| ApiError::NotFound("payment"))?;
    let owner = person.person_id;
    state
        .db
        .read(move |c| store::get(c, id))
        .await?
        .filter(|p| p.person_id == owner)
        .ok_or(ApiError::NotFound("payment"))
}

/// The person's payments, newest first.
#[utoipa::path(get, operation_id = "list_payments", path = "/v1/me/payments", tag = "payments", params(PageQuery), security(("person_bearer" = [])),
    responses(
        (status = 200, description = "A page of payments", body = dto::PaymentList),
        (status = 422, description = "`limit` or `cursor` invalid", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<BoundPerson>))]
#[get("/v1/me/payments")]
pub async fn list_payments(
    state: web::Data<AppState>,
    person: BoundPerson,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = PageRequest::parse(&query.into_inner())?;
    let owner = person.person_id;
    let list = state
        .db
        .read(move |c| store::list(c, owner, page.after.as_deref(), page.limit))
        .await?;
    Ok(HttpResponse::Ok().json(dto::PaymentList {
        next_cursor: list.next.as_deref().map(cursor::encode),
        items: list
            .items
            .into_iter()
            .map(|p| dto::PaymentSummary {
                id: p.id,
                out_trade_no: p.out_trade_no,
                status: wire_status(p.status),
                amount_fen: p.amount.0,
                created_at: utc(p.created_at),
                paid_at: p.paid_at.map(utc),
            })
            .collect(),
    }))
}

/// One payment with its timeline, the failure in the payer's words and what to do, and the
/// refund if one was made.
#[utoipa::path(get, operation_id = "get_payment", path = "/v1/me/payments/{id}", tag = "payments",
    params(("id" = Uuid, Path, description = "The payment's id")), security(("person_bearer" = [])),
    responses(
        (status = 200, description = "The payment", body = dto::PaymentView),
        (status = 404, description = "No such payment of this person", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<BoundPerson>))]
#[get("/v1/me/payments/{id}")]
pub async fn get_payment(
    state: web::Data<AppState>,
    person: BoundPerson,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let p = own_payment(&state, &person, &path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(view_of(&state, &p).await?))
}

/// Cancels a payment awaiting payment: the order is closed at the gateway first. If the gateway
/// says it was paid after all, 409 `already_paid` and the payment goes on as paid.
#[utoipa::path(post, operation_id = "cancel_payment", path = "/v1/me/payments/{id}/cancel", tag = "payments",
    params(("id" = Uuid, Path, description = "The payment's id")), security(("person_bearer" = [])),
    responses(
        (status = 200, description = "Cancelled", body = dto::PaymentView),
        (status = 404, description = "No such payment of this person", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Paid after all (`already_paid`), or no longer awaiting payment (`payment_not_open`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The payment gateway is unavailable (`gateway_unavailable`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<BoundPerson>))]
#[post("/v1/me/payments/{id}/cancel")]
pub async fn cancel_payment(
    req: HttpRequest,
    state: web::Data<AppState>,
    person: BoundPerson,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let p = own_payment(&state, &person, &path.into_inner()).await?;
    let service = payments(&state)?;
    let result = service.cancel(&p).await;
    let outcome = match &result {
        Ok(()) => "success",
        Err(PayError::AlreadyPaid) => "already_paid",
        Err(_) => "refused",
    };
    let mut entry = Audit::of(&req).entry(
        ActorKind::Person,
        Some(person.account_id.to_string()),
        "payment.cancel",
        outcome,
    );
    entry.subject_kind = Some("payment");
    entry.subject_id = Some(p.id.to_string());
    let now = state.now().naive_utc();
    state
        .db
        .transaction(move |c| audit::record(c, &entry, now))
        .await?;
    result.map_err(pay_error)?;
    let id = p.id;
    let p = state
        .db
        .read(move |c| store::get(c, id))
        .await?
        .ok_or(ApiError::NotFound("payment"))?;
    Ok(HttpResponse::Ok().json(view_of(&state, &p).await?))
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The payment gateway's notification (WeChat Pay API v3): the signature over
/// `timestamp\nnonce\nbody\n` is verified with the platform's key, the serial must be known and
/// the timestamp within 5 minutes; the resource is decrypted with the APIv3 key. Anything that
/// does not verify is 401, changes nothing and is audited. A recorded event, or one seen before
/// (which changes nothing), is answered 200 without a body.
#[utoipa::path(post, operation_id = "payment_notification", path = "/v1/payments/notifications/wechat", tag = "payments",
    request_body(content = Object, description = "The gateway's signed, encrypted notification", content_type = "application/json"),
    params(
        ("Wechatpay-Serial" = String, Header, description = "The platform key's serial"),
        ("Wechatpay-Signature" = String, Header, description = "Base64 RSA-SHA256 signature"),
        ("Wechatpay-Timestamp" = String, Header, description = "Unix seconds"),
        ("Wechatpay-Nonce" = String, Header, description = "The signature's nonce"),
    ),
    responses(
        (status = 200, description = "Recorded, or seen before (nothing changes); no body"),
        (status = 401, description = "Not signed by the platform, unknown serial or stale (`notification_rejected`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Not recorded now; the gateway sends it again", body = shebao_openapi::Problem, content_type = "application/problem+json"),
    ))]
#[post("/v1/payments/notifications/wechat")]
pub async fn notification(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let service = payments(&state)?;
    let h = req.headers();
    let signed = SignedNotification {
        serial: header(h, "Wechatpay-Serial"),
        signature: header(h, "Wechatpay-Signature"),
        timestamp: header(h, "Wechatpay-Timestamp"),
        nonce: header(h, "Wechatpay-Nonce"),
        body: body.to_vec(),
    };
    // The gateway waits 5 s at most; answer before it gives up.
    let result = tokio::time::timeout(
        std::time::Duration::from_millis(4_500),
        service.notification(&signed),
    )
    .await
    .map_err(|_| ErrorCode::ServiceUnavailable.retry_after(15))?;
    if let Err(PayError::BadNotification(reason)) = &result {
        tracing::warn!(%reason, "payment notification rejected");
        let mut entry =
            Audit::of(&req).entry(ActorKind::System, None, "payment.notification", "rejected");
        entry.reason = Some(reason.chars().take(200).collect());
        let now = state.now().naive_utc();
        state
            .db
            .transaction(move |c| audit::record(c, &entry, now))
            .await?;
    }
    let first = result.map_err(pay_error)?;
    let mut entry = Audit::of(&req).entry(
        ActorKind::System,
        None,
        "payment.notification",
        if first { "applied" } else { "seen_before" },
    );
    entry.subject_kind = Some("gateway_event");
    entry.subject_id = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["id"].as_str().map(|s| s.chars().take(64).collect()));
    let now = state.now().naive_utc();
    state
        .db
        .transaction(move |c| audit::record(c, &entry, now))
        .await?;
    Ok(HttpResponse::Ok().finish())
}

fn reconciliation_view(r: Reconciliation) -> dto::ReconciliationView {
    dto::ReconciliationView {
        date: r.date,
        channel: dto::Channel::Wechat,
        confirmed: r.confirmed,
        already_confirmed: r.already_confirmed,
        missing_here: r.missing_here,
        missing_at_gateway: r.missing_at_gateway,
        amount_mismatch: r
            .amount_mismatch
            .into_iter()
            .map(|m| dto::AmountMismatchView {
                out_trade_no: m.out_trade_no,
                here_fen: m.here_fen,
                gateway_fen: m.gateway_fen,
            })
            .collect(),
        refunded: r.refunded,
        run_at: r.run_at,
    }
}

/// Reconciles a day (Beijing time) against the gateway's trade bill: every pending payment the
/// bill lists becomes paid and is posted to the ledger; every difference is reported. Running
/// it again changes nothing. Admins only; also `shebao reconcile --date`.
#[utoipa::path(post, operation_id = "run_reconciliation", path = "/v1/staff/reconciliations", tag = "staff", request_body = dto::ReconciliationRequest,
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "What was confirmed and every difference", body = dto::ReconciliationView),
        (status = 422, description = "A field is invalid, or the gateway has no bill for the day yet (a day after today, Beijing time)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The payment gateway is unavailable (`gateway_unavailable`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Staff>))]
#[post("/v1/staff/reconciliations")]
pub async fn run_reconciliation(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    body: Json<dto::ReconciliationRequest>,
) -> Result<HttpResponse, ApiError> {
    staff.require(ADMIN)?;
    let date = body.0.date;
    let service = payments(&state)?;
    let result = service.reconcile(date).await.map_err(pay_error)?;
    let entry = Audit::of(&req).staff(
        &staff,
        "payment.reconcile",
        "reconciliation",
        date.to_string(),
    );
    let now = state.now().naive_utc();
    state
        .db
        .transaction(move |c| audit::record(c, &entry, now))
        .await?;
    Ok(HttpResponse::Ok().json(reconciliation_view(result)))
}

/// The last reconciliation of a day. Admins only.
#[utoipa::path(get, operation_id = "get_reconciliation", path = "/v1/staff/reconciliations/{date}", tag = "staff",
    params(("date" = NaiveDate, Path, description = "The bill's day, YYYY-MM-DD")),
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "The last run", body = dto::ReconciliationView),
        (status = 404, description = "The day was not reconciled", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Staff>))]
#[get("/v1/staff/reconciliations/{date}")]
pub async fn get_reconciliation(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    staff.require(ADMIN)?;
    let date = NaiveDate::parse_from_str(&path.into_inner(), "%Y-%m-%d")
        .map_err(|_| ApiError::NotFound("reconciliation"))?;
    let run = service::last_reconciliation(&state.db, date)
        .await?
        .ok_or(ApiError::NotFound("reconciliation"))?;
    Ok(HttpResponse::Ok().json(reconciliation_view(run)))
}

/// The ledger's totals per account up to the end of `as_of` (UTC), and whether debits equal
/// credits. Admins only.
#[utoipa::path(get, operation_id = "trial_balance", path = "/v1/staff/ledger/trial-balance", tag = "staff", params(dto::TrialBalanceQuery),
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "Totals per account", body = dto::TrialBalanceView),
        (status = 422, description = "`as_of` is not a date", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Staff>))]
#[get("/v1/staff/ledger/trial-balance")]
pub async fn trial_balance(
    state: web::Data<AppState>,
    staff: Staff,
    query: web::Query<dto::TrialBalanceQuery>,
) -> Result<HttpResponse, ApiError> {
    staff.require(ADMIN)?;
    let as_of = match query.into_inner().as_of.as_deref() {
        None => state.now().date_naive(),
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
            field_error_of(
                "as_of",
                Issue::Value(shebao_domain::ValueError::Format {
                    expected: "a date, YYYY-MM-DD",
                }),
            )
        })?,
    };
    let before = (as_of + TimeDelta::days(1))
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default();
    let tb = state
        .db
        .read(move |c| store::trial_balance(c, before))
        .await?;
    Ok(HttpResponse::Ok().json(dto::TrialBalanceView {
        as_of,
        balanced: tb.balanced(),
        total_debit_fen: tb.debits.0,
        total_credit_fen: tb.credits.0,
        accounts: tb
            .lines
            .into_iter()
            .map(|(account, (d, c))| dto::TrialBalanceLine {
                account,
                debit_fen: d.0,
                credit_fen: c.0,
                balance_fen: d.0.saturating_sub(c.0),
            })
            .collect(),
    }))
}
