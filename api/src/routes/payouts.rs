//! Benefit payouts (待遇发放): the person's payout account — a UnionPay bank card or a digital
//! wallet, stored encrypted and shown masked; a change takes effect only after the cooling
//! period (`SHEBAO_PAYOUT_COOLING_SECS`) and is texted to the account's phone when it is asked
//! for, so a stolen session cannot redirect a pension silently — and the staff's monthly
//! payout runs through the payment gateway's transfer operation.

use actix_web::{delete, get, put, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDateTime, Utc};
use shebao_domain::payouts::{self as rules, PayoutDestination};
use shebao_infra::audit::{self, ActorKind};
use shebao_infra::payouts::accounts::{self, AccountRow};
use shebao_infra::reminders::sms as reminder_sms;
use shebao_openapi::payouts as dto;
use uuid::Uuid;

use crate::audit::Audit;
use crate::auth::bound::BoundPerson;
use crate::auth::extract::Json;
use crate::auth::person::Person;
use crate::error::{problems, ApiError, ErrorCode, Fields, Issue, Problems};
use crate::state::AppState;

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
/// still pending, and is texted to the account's phone at once (queued in the same
/// transaction; it goes out in daylight hours, which the 24-hour default cooling outlasts).
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
            reminder_sms::enqueue_event_to_person(
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
