//! Benefit payouts (待遇发放): the person's payout account — a UnionPay bank card or a digital
//! wallet, stored encrypted and shown masked; a change takes effect only after the cooling
//! period (`SHEBAO_PAYOUT_COOLING_SECS`) and is texted to the account's phone when it is asked
//! for, so a stolen session cannot redirect a pension silently — and the staff's monthly
//! payout runs through the payment gateway's transfer operation.

use actix_web::{delete, get, post, put, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDateTime, Utc};
use shebao_domain::benefits::BenefitKind;
use shebao_domain::payouts::{self as rules, PayoutDestination};
use shebao_domain::period::Period;
use shebao_domain::staff::StaffRole;
use shebao_infra::audit::{self, ActorKind};
use shebao_infra::payouts::accounts::{self, AccountRow};
use shebao_infra::payouts::runs::{self, ItemRow, RunReport};
use shebao_infra::payouts::service;
use shebao_infra::reminders::sms as reminder_sms;
use shebao_openapi::payouts as dto;
use shebao_openapi::staff::PageQuery;
use uuid::Uuid;

use crate::audit::Audit;
use crate::auth::bound::BoundPerson;
use crate::auth::extract::{Json, PageRequest, Staff};
use crate::auth::person::Person;
use crate::cursor;
use crate::error::{field_error_of, problems, ApiError, ErrorCode, Fields, Issue, Problems};
use crate::state::AppState;

const ADMIN: &[StaffRole] = &[StaffRole::Admin];

fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

fn account_view(a: AccountRow) -> dto::PayoutAccountView {
    dto::PayoutAccountView {
        id: Uuid::parse_str(&a.id).unwrap_or_default(),
        kind: if a.kind == "bank_card" {
            dto::PayoutAccountKind::BankCard
        } else {
            dto::PayoutAccountKind::Wallet
        },
        institution: a.institution,
        number: a.number_masked,
        requested_at: utc(a.created_at),
        effective_at: utc(a.effective_at),
    }
}

fn accounts_view(a: accounts::Accounts) -> dto::PayoutAccounts {
    dto::PayoutAccounts {
        current: a.current.map(account_view),
        pending: a.pending.map(account_view),
    }
}

/// The destination in the request: each field of the chosen kind checked by the domain, the
/// fields of the other kind refused.
fn destination_of(b: &dto::PayoutAccountRequest) -> Result<PayoutDestination, ApiError> {
    let mut f = Fields::new();
    let required = |f: &mut Fields, name: &str, v: &Option<String>| -> Option<String> {
        match v {
            Some(v) => Some(v.clone()),
            None => {
                f.add(name, Issue::Required);
                None
            }
        }
    };
    let absent = |f: &mut Fields, name: &str, v: &Option<String>| {
        if v.is_some() {
            f.add(
                name,
                Issue::Value(shebao_domain::ValueError::Rule(
                    "belongs to the other kind of account",
                )),
            );
        }
    };
    let destination = match b.kind {
        dto::PayoutAccountKind::BankCard => {
            absent(&mut f, "provider", &b.provider);
            absent(&mut f, "wallet_id", &b.wallet_id);
            let bank = required(&mut f, "bank_code", &b.bank_code)
                .and_then(|v| f.check("bank_code", rules::BankCode::parse(&v)));
            let number = required(&mut f, "card_number", &b.card_number)
                .and_then(|v| f.check("card_number", rules::parse_card_number(&v)));
            bank.zip(number)
                .map(|(bank, number)| PayoutDestination::BankCard { bank, number })
        }
        dto::PayoutAccountKind::Wallet => {
            absent(&mut f, "bank_code", &b.bank_code);
            absent(&mut f, "card_number", &b.card_number);
            let provider = required(&mut f, "provider", &b.provider)
                .and_then(|v| f.check("provider", rules::WalletProvider::parse(&v)));
            let id = required(&mut f, "wallet_id", &b.wallet_id);
            match (provider, id) {
                (Some(p), Some(id)) => f
                    .check("wallet_id", p.check_wallet_id(&id))
                    .map(|id| PayoutDestination::Wallet { provider: p, id }),
                _ => None,
            }
        }
    };
    match destination {
        Some(d) if f.is_empty() => Ok(d),
        _ => Err(f.into_error()),
    }
}

/// The payout account in effect and the change waiting out its cooling period (masked).
#[utoipa::path(get, operation_id = "get_payout_account", path = "/v1/me/payout-account", tag = "payouts",
    security(("person_bearer" = [])),
    responses(
        (status = 200, description = "The current account (null before the first takes effect) and the pending change (null when none)", body = dto::PayoutAccounts),
        Problems<BoundPerson>))]
#[get("/v1/me/payout-account")]
pub async fn get_payout_account(
    state: web::Data<AppState>,
    me: BoundPerson,
) -> Result<HttpResponse, ApiError> {
    let (pid, now) = (me.person_id, state.now().naive_utc());
    let a = state.db.read(move |c| accounts::of(c, pid, now)).await?;
    Ok(HttpResponse::Ok().json(accounts_view(a)))
}

/// Sets the payout account, with a fresh step-up. The change takes effect after the cooling
/// period (the very first account too: the simplest rule, and the safest), replaces a change
/// still pending, and is texted to the account's phone at once, night or day (queued in the
/// same transaction, as an alert that does not wait for daylight).
#[utoipa::path(put, operation_id = "put_payout_account", path = "/v1/me/payout-account", tag = "payouts", request_body = dto::PayoutAccountRequest,
    security(("person_bearer" = [])),
    responses(
        (status = 200, description = "Recorded: the accounts as they stand now, the new one pending until its `effective_at`", body = dto::PayoutAccounts),
        (status = 422, description = "A field is missing or invalid: an unknown bank code, a card number that is not 16–19 digits or fails the Luhn check, a wallet id not of its provider's format", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<(BoundPerson, problems::StepUpRequired)>))]
#[put("/v1/me/payout-account")]
pub async fn put_payout_account(
    req: HttpRequest,
    state: web::Data<AppState>,
    person: Person,
    body: Json<dto::PayoutAccountRequest>,
) -> Result<HttpResponse, ApiError> {
    let bound = person.person.ok_or(ErrorCode::BindingRequired)?;
    let (pid, zone) = (bound.id, bound.time_zone);
    let now_utc = state.now();
    person.require_step_up(now_utc.timestamp())?;
    let destination = destination_of(&body.0)?;
    let effective = rules::effective_at(now_utc, state.settings.payout_cooling_secs);
    let local = effective
        .with_timezone(&zone.tz())
        .format("%Y-%m-%d %H:%M")
        .to_string();
    let text = rules::account_change_text(&destination, &local);
    let mut entry = Audit::of(&req).entry(
        ActorKind::Person,
        Some(person.account_id.to_string()),
        "payout_account.set",
        "success",
    );
    let vault = state.vault.clone();
    let (now, effective) = (now_utc.naive_utc(), effective.naive_utc());
    let a = state
        .db
        .transaction(move |c| {
            let id = accounts::set(c, &vault, pid, &destination, now, effective)?;
            reminder_sms::enqueue_alert_to_person(
                c,
                pid,
                "payout_account_changed",
                text,
                &format!("payout_account:{id}"),
                now_utc,
            )?;
            entry.subject_kind = Some("payout_account");
            entry.subject_id = Some(id.to_string());
            audit::record(c, &entry, now)?;
            accounts::of(c, pid, now)
        })
        .await?;
    Ok(HttpResponse::Ok().json(accounts_view(a)))
}

/// Cancels the change waiting out its cooling period (the account in effect stays).
#[utoipa::path(delete, operation_id = "cancel_payout_account_change", path = "/v1/me/payout-account/pending", tag = "payouts",
    security(("person_bearer" = [])),
    responses(
        (status = 204, description = "Cancelled"),
        (status = 404, description = "No change is pending (`no_pending_payout_change`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<BoundPerson>))]
#[delete("/v1/me/payout-account/pending")]
pub async fn cancel_payout_account_change(
    req: HttpRequest,
    state: web::Data<AppState>,
    me: BoundPerson,
) -> Result<HttpResponse, ApiError> {
    let (pid, now) = (me.person_id, state.now().naive_utc());
    let entry = Audit::of(&req).entry(
        ActorKind::Person,
        Some(me.account_id.to_string()),
        "payout_account.cancel",
        "success",
    );
    let cancelled = state
        .db
        .transaction(move |c| {
            let cancelled = accounts::cancel_pending(c, pid, now)?;
            if cancelled {
                audit::record(c, &entry, now)?;
            }
            Ok(cancelled)
        })
        .await?;
    if cancelled {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ErrorCode::NoPendingPayoutChange.into())
    }
}

fn wire_benefit(b: &str) -> dto::PayoutBenefit {
    if b == BenefitKind::Unemployment.as_str() {
        dto::PayoutBenefit::Unemployment
    } else {
        dto::PayoutBenefit::Pension
    }
}

fn wire_status(s: &str) -> dto::PayoutStatus {
    match s {
        runs::PAID => dto::PayoutStatus::Paid,
        runs::FAILED => dto::PayoutStatus::Failed,
        _ => dto::PayoutStatus::Pending,
    }
}

fn run_view(r: RunReport) -> dto::PayoutRunView {
    let totals = |status: &str| {
        r.by_status
            .iter()
            .find(|(s, _, _)| s == status)
            .map(|(_, count, amount)| dto::StatusTotals {
                count: u32::try_from(*count).unwrap_or(u32::MAX),
                amount_fen: *amount,
            })
            .unwrap_or_default()
    };
    let n = |v: i32| u32::try_from(v).unwrap_or(0);
    dto::PayoutRunView {
        id: Uuid::parse_str(&r.run.id).unwrap_or_default(),
        period: r.run.period.clone(),
        benefit: wire_benefit(&r.run.benefit),
        started_at: utc(r.run.started_at),
        finished_at: r.run.finished_at.map(utc),
        entitled: n(r.run.entitled),
        skipped_no_account: n(r.run.skipped_no_account),
        already_paid: n(r.run.already_paid),
        pending: totals(runs::PENDING),
        paid: totals(runs::PAID),
        failed: totals(runs::FAILED),
        catch_up: dto::StatusTotals {
            count: u32::try_from(r.catch_up.0).unwrap_or(u32::MAX),
            amount_fen: r.catch_up.1,
        },
    }
}

/// A transfer attempt as the person sees it.
pub fn payout_view(i: ItemRow) -> dto::PayoutView {
    dto::PayoutView {
        benefit: wire_benefit(&i.benefit),
        status: wire_status(&i.status),
        period: i.period,
        amount_fen: i.amount_fen,
        destination: i.destination_masked,
        fail_reason: i.fail_reason,
        attempt: u32::try_from(i.attempt).unwrap_or(0),
        updated_at: utc(i.updated_at),
    }
}

/// Pays every person entitled to `benefit` for `period` (by their approved applications'
/// awards; pensions taken over from the previous system while in payment) who has not been
/// paid for it yet, and every earlier month of the last 12 they were owed and not paid (the
/// catch-up: a failed transfer, no account then, a month not run): one transfer per person,
/// benefit and month, exactly once however often the run is repeated or killed (each
/// attempt's bill number is recorded before the gateway is called; a repeat sends the same
/// bill, which the gateway answers with the bill it has). Persons without a payout account in
/// effect are skipped, counted and texted; a failed transfer (a closed account) goes back to
/// the fund and is paid by a later run once the account is fixed. Synchronous: the answer is
/// the finished run. Admins only.
#[utoipa::path(post, operation_id = "run_payout", path = "/v1/staff/payouts", tag = "payouts", request_body = dto::PayoutRunRequest,
    security(("staff_bearer" = [])),
    responses(
        (status = 201, description = "The run, finished: counts and amounts by status", body = dto::PayoutRunView),
        (status = 422, description = "A field is invalid, or the month has not begun yet (`payout_period_not_due`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The payment gateway is not configured (`gateway_unavailable`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Staff>))]
#[post("/v1/staff/payouts")]
pub async fn run_payout(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    body: Json<dto::PayoutRunRequest>,
) -> Result<HttpResponse, ApiError> {
    staff.require(ADMIN)?;
    let period =
        Period::parse(&body.0.period).map_err(|e| field_error_of("period", Issue::Value(e)))?;
    let benefit = match body.0.benefit {
        dto::PayoutBenefit::Pension => BenefitKind::Pension,
        dto::PayoutBenefit::Unemployment => BenefitKind::Unemployment,
    };
    // Beijing's calendar: a month is paid from its first day on.
    let now = state.now();
    let today = shebao_domain::region::TimeZoneName::parse("Asia/Shanghai")
        .map_or(now.date_naive(), |zone| zone.local_date(now));
    if period > Period::containing(today) {
        return Err(ErrorCode::PayoutPeriodNotDue.into());
    }
    let payments = state
        .payments
        .as_ref()
        .ok_or_else(|| ErrorCode::GatewayUnavailable.retry_after(30))?;
    let run = service::run(
        payments,
        &state.vault,
        period,
        benefit,
        staff.id.to_string(),
    )
    .await?;
    let entry = Audit::of(&req).staff(&staff, "payout.run", "payout_run", run.to_string());
    let now = state.now().naive_utc();
    let report = state
        .db
        .transaction(move |c| {
            audit::record(c, &entry, now)?;
            runs::report(c, run)
        })
        .await?
        .ok_or(ApiError::NotFound("payout run"))?;
    Ok(HttpResponse::Created().json(run_view(report)))
}

/// A run: counts and amounts of its transfers by status. Admins only.
#[utoipa::path(get, operation_id = "get_payout_run", path = "/v1/staff/payouts/{id}", tag = "payouts",
    params(("id" = Uuid, Path, description = "The run's id")),
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "The run", body = dto::PayoutRunView),
        (status = 404, description = "No such run", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Staff>))]
#[get("/v1/staff/payouts/{id}")]
pub async fn get_payout_run(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    staff.require(ADMIN)?;
    let id = Uuid::parse_str(&path.into_inner()).map_err(|_| ApiError::NotFound("payout run"))?;
    let report = state
        .db
        .read(move |c| runs::report(c, id))
        .await?
        .ok_or(ApiError::NotFound("payout run"))?;
    Ok(HttpResponse::Ok().json(run_view(report)))
}

/// The runs, newest first, paginated. Admins only.
#[utoipa::path(get, operation_id = "list_payout_runs", path = "/v1/staff/payouts", tag = "payouts",
    params(PageQuery), security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "A page of runs", body = dto::PayoutRunList),
        (status = 422, description = "The page is invalid", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Staff>))]
#[get("/v1/staff/payouts")]
pub async fn list_payout_runs(
    state: web::Data<AppState>,
    staff: Staff,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    staff.require(ADMIN)?;
    let page = PageRequest::parse(&query.into_inner())?;
    let (after, limit) = (page.after, page.limit);
    let result = state
        .db
        .read(move |c| runs::list(c, after.as_deref(), limit))
        .await?;
    Ok(HttpResponse::Ok().json(dto::PayoutRunList {
        items: result.items.into_iter().map(run_view).collect(),
        next_cursor: result.next.as_deref().map(cursor::encode),
    }))
}
