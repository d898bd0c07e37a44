//! The signed-in person's own account: profile, sessions, TOTP, step-up, and binding the ID card.

use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use shebao_domain::auth::{totp_policy, FactorChange, SmsPurpose, STEP_UP_SECS};
use shebao_domain::identity::{NationalId, PersonName};
use shebao_domain::person::CardNumber;
use shebao_domain::ports::SmsMessage;
use shebao_infra::audit::{self, ActorKind};
use shebao_infra::identity::accounts::{self, Account, BindConflict};
use shebao_infra::identity::{codes, sessions, TOTP_AAD};
use shebao_infra::registry::persons::{self, Person as RegistryPerson};
use shebao_openapi::identity::{
    BindingRequest, BindingView, MeView, RecoveryCodes, SessionList, SessionView, StepUpRequest,
    StepUpToken, TotpConfirmRequest, TotpEnrolment,
};
use shebao_openapi::staff::PageQuery;
use shebao_security::{opaque, totp};
use uuid::Uuid;

use crate::audit::Audit;
use crate::auth::extract::{Json, PageRequest};
use crate::auth::person::{self as person_auth, Person};
use crate::cursor;
use crate::error::{field_error_of, problems, ApiError, ErrorCode, Fields, Issue, Problems};
use crate::limits::{self, Tries};
use crate::routes::auth::check_totp;
use crate::routes::persons::utc;
use crate::state::AppState;

async fn account_of(state: &AppState, person: &Person) -> Result<Account, ApiError> {
    let id = person.account_id;
    state
        .db
        .run(move |c| accounts::get(c, id))
        .await?
        .ok_or(ApiError::Code(ErrorCode::Unauthorized))
}

/// The signed-in account.
#[utoipa::path(get, operation_id = "get_me", path = "/v1/me", tag = "me", security(("person_bearer" = [])),
    responses(
        (status = 200, description = "The account", body = MeView),
        Problems<Person>))]
#[get("/v1/me")]
pub async fn me(state: web::Data<AppState>, person: Person) -> Result<HttpResponse, ApiError> {
    let a = account_of(&state, &person).await?;
    Ok(HttpResponse::Ok().json(MeView {
        id: a.id,
        phone: a.phone_masked.clone(),
        totp_enabled: a.totp_enabled(),
        bound: a.person_id.is_some(),
    }))
}

/// The account's live sessions, newest first.
#[utoipa::path(get, operation_id = "list_sessions", path = "/v1/me/sessions", tag = "me", params(PageQuery), security(("person_bearer" = [])),
    responses(
        (status = 200, description = "A page of sessions", body = SessionList),
        (status = 422, description = "`limit` or `cursor` invalid", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Person>))]
#[get("/v1/me/sessions")]
pub async fn list_sessions(
    state: web::Data<AppState>,
    person: Person,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = PageRequest::parse(&query)?;
    let account = person.account_id;
    let result = state
        .db
        .run(move |c| sessions::list_active(c, account, page.after.as_deref(), page.limit))
        .await?;
    Ok(HttpResponse::Ok().json(SessionList {
        items: result
            .items
            .into_iter()
            .map(|s| SessionView {
                id: s.id,
                device: s.device,
                created_at: utc(s.created_at),
                last_used_at: utc(s.last_used_at),
                current: s.id == person.session_id,
            })
            .collect(),
        next_cursor: result.next.as_deref().map(cursor::encode),
    }))
}

/// Ends one of the account's sessions (another device, or this one).
#[utoipa::path(delete, operation_id = "delete_session", path = "/v1/me/sessions/{id}", tag = "me", params(("id" = Uuid, Path, description = "Session id")),
    security(("person_bearer" = [])),
    responses(
        (status = 204, description = "Ended"),
        (status = 404, description = "No such live session of this account", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Person>))]
#[delete("/v1/me/sessions/{id}")]
pub async fn delete_session(
    req: HttpRequest,
    state: web::Data<AppState>,
    person: Person,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = Uuid::parse_str(&path.into_inner()).map_err(|_| ApiError::NotFound("session"))?;
    let ts = state.now().naive_utc();
    let account = person.account_id;
    let mut entry = Audit::of(&req).entry(
        ActorKind::Person,
        Some(account.to_string()),
        "session.revoke",
        "success",
    );
    entry.subject_kind = Some("session");
    entry.subject_id = Some(id.to_string());
    let done = state
        .db
        .transaction(move |c| {
            // Only the account's own sessions: another account's id is simply not found.
            let done = sessions::revoke(c, account, id, "revoked_by_user", ts)?;
            if done {
                audit::record(c, &entry, ts)?;
            }
            Ok(done)
        })
        .await?;
    state.sessions.forget_account(account);
    if done {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::NotFound("session"))
    }
}

fn totp_not_started() -> ApiError {
    ApiError::Code(ErrorCode::TotpNotStarted)
}

/// Starts TOTP enrolment, or the replacement of the authenticator: a new secret to scan,
/// confirmed by `POST /v1/me/totp/confirm` (until then the current one stays). Needs a step-up
/// (by SMS code when no TOTP is enabled yet).
#[utoipa::path(post, operation_id = "totp_start", path = "/v1/me/totp", tag = "me", security(("person_bearer" = [])),
    responses(
        (status = 200, description = "Scan or type the secret, then confirm with a code", body = TotpEnrolment),
        Problems<(Person, problems::StepUpRequired)>))]
#[post("/v1/me/totp")]
pub async fn totp_start(
    state: web::Data<AppState>,
    person: Person,
) -> Result<HttpResponse, ApiError> {
    person.require_step_up(state.now().timestamp())?;
    let account = account_of(&state, &person).await?;
    let secret = totp::generate_secret();
    let enrolment = totp::enrolment(&secret, &account.phone_masked).map_err(ApiError::internal)?;
    let enc = state.vault.encrypt(&totp::encode_secret(&secret), TOTP_AAD);
    let ts = state.now().naive_utc();
    state
        .db
        .run(move |c| accounts::set_totp_pending(c, account.id, &enc, ts))
        .await?;
    Ok(HttpResponse::Ok().json(TotpEnrolment {
        secret: enrolment.secret_base32,
        otpauth_uri: enrolment.otpauth_uri,
        qr_png_base64: enrolment.qr_png_base64,
    }))
}

/// Confirms TOTP (or its replacement) with a code from the app; answers ten new single-use
/// recovery codes (shown once). Needs a step-up; the account's phone is told by SMS.
#[utoipa::path(post, operation_id = "totp_confirm", path = "/v1/me/totp/confirm", tag = "me", request_body = TotpConfirmRequest, security(("person_bearer" = [])),
    responses(
        (status = 200, description = "TOTP is on, with the new secret", body = RecoveryCodes),
        (status = 409, description = "No enrolment started, or another one started since (`totp_not_started`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<(Person, problems::StepUpRequired)>))]
#[post("/v1/me/totp/confirm")]
pub async fn totp_confirm(
    req: HttpRequest,
    state: web::Data<AppState>,
    person: Person,
    body: Json<TotpConfirmRequest>,
) -> Result<HttpResponse, ApiError> {
    person.require_step_up(state.now().timestamp())?;
    let account = account_of(&state, &person).await?;
    let pending = account
        .totp_pending_enc
        .clone()
        .ok_or_else(totp_not_started)?;
    let step = pending_step(&state, &pending, &body.0.code)?;
    let (codes, hashes) = new_recovery_codes();
    let ts = state.now().naive_utc();
    let id = account.id;
    let (change, action) = if account.totp_enabled() {
        (FactorChange::TotpReplaced, "factor.totp_replace")
    } else {
        (FactorChange::TotpEnabled, "factor.totp_enable")
    };
    let entry = Audit::of(&req).entry(ActorKind::Person, Some(id.to_string()), action, "success");
    let confirmed = state
        .db
        .transaction(move |c| {
            if !accounts::confirm_totp(c, id, &pending, step, ts)? {
                return Ok(false);
            }
            accounts::replace_recovery_codes(c, id, &hashes, ts)?;
            audit::record(c, &entry, ts)?;
            Ok(true)
        })
        .await?;
    if !confirmed {
        return Err(totp_not_started());
    }
    notify_factor_change(&state, id, change).await;
    Ok(HttpResponse::Ok().json(RecoveryCodes {
        recovery_codes: codes,
    }))
}

/// The time step of `code` under the pending secret, or a field error.
fn pending_step(state: &AppState, pending: &str, code: &str) -> Result<i64, ApiError> {
    let secret = state
        .vault
        .decrypt(pending, TOTP_AAD)
        .ok()
        .and_then(|s| totp::decode_secret(&s))
        .ok_or_else(|| ApiError::internal("pending TOTP secret cannot be read"))?;
    totp::verify(&secret, code, state.now().timestamp()).ok_or_else(|| {
        field_error_of(
            "code",
            Issue::Value(shebao_domain::ValueError::Rule("the code does not match")),
        )
    })
}

/// Fresh recovery codes (shown once) and the hashes that are stored.
fn new_recovery_codes() -> (Vec<String>, Vec<String>) {
    let codes: Vec<String> = (0..totp_policy::RECOVERY_CODES)
        .map(|_| opaque::recovery_code())
        .collect();
    let hashes = codes
        .iter()
        .map(|c| opaque::sha256_hex(&opaque::normalise_recovery_code(c)))
        .collect();
    (codes, hashes)
}

/// Tells the account's phone by SMS that its second factor changed. Best effort, after the
/// change is committed: a provider outage does not undo it (it is logged).
async fn notify_factor_change(state: &AppState, account_id: Uuid, change: FactorChange) {
    let vault = state.vault.clone();
    let phone = match state
        .db
        .run(move |c| accounts::phone(c, &vault, account_id))
        .await
    {
        Ok(Some(phone)) => phone,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(error = %e, "factor-change notice: the phone cannot be read");
            return;
        }
    };
    let message = SmsMessage {
        id: Uuid::now_v7().to_string(),
        to: phone,
        body: change.notice().to_owned(),
    };
    if let Err(e) = state.sms.send(&message).await {
        tracing::warn!(error = %e, "factor-change notice not sent");
    }
}

/// Switches TOTP off (and deletes the recovery codes). Needs a step-up; the account's phone is
/// told by SMS.
#[utoipa::path(delete, operation_id = "totp_delete", path = "/v1/me/totp", tag = "me", security(("person_bearer" = [])),
    responses(
        (status = 204, description = "TOTP is off"),
        Problems<(Person, problems::StepUpRequired)>))]
#[delete("/v1/me/totp")]
pub async fn totp_delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    person: Person,
) -> Result<HttpResponse, ApiError> {
    person.require_step_up(state.now().timestamp())?;
    let ts = state.now().naive_utc();
    let id = person.account_id;
    let entry = Audit::of(&req).entry(
        ActorKind::Person,
        Some(id.to_string()),
        "factor.totp_disable",
        "success",
    );
    state
        .db
        .transaction(move |c| {
            accounts::disable_totp(c, id, ts)?;
            audit::record(c, &entry, ts)
        })
        .await?;
    notify_factor_change(&state, id, FactorChange::TotpDisabled).await;
    Ok(HttpResponse::NoContent().finish())
}

/// Proves it is you again (a TOTP code, or an SMS code sent for `step_up`): answers an access
/// token that counts as stepped up for five minutes. Failures count per account and per client
/// address: after five, a lock-out that grows with each further one.
#[utoipa::path(post, operation_id = "step_up", path = "/v1/me/step-up", tag = "me", request_body = shebao_openapi::identity::StepUpForm, security(("person_bearer" = [])),
    responses(
        (status = 200, description = "A stepped-up access token", body = StepUpToken),
        Problems<(Person, problems::InvalidCode, problems::TooManyAttempts)>))]
#[post("/v1/me/step-up")]
pub async fn step_up(
    req: HttpRequest,
    state: web::Data<AppState>,
    person: Person,
    body: Json<StepUpRequest>,
) -> Result<HttpResponse, ApiError> {
    let proof = step_up_proof(&body.0)?;
    let account = account_of(&state, &person).await?;
    let counters = vec![limits::client_address(&req), limits::step_up(account.id)];
    let tries = Tries::begin(&state, counters).await?;
    let ok = match proof {
        StepUpProof::Totp(code) => check_totp(&state, &account, &code).await?,
        StepUpProof::Sms(code) => {
            let vault = state.vault.clone();
            let hash = account.phone_hash.clone();
            let ts = state.now().naive_utc();
            state
                .db
                .run(move |c| codes::verify(c, &vault, &hash, SmsPurpose::StepUp, &code, ts))
                .await?
        }
    };
    let ts = state.now().naive_utc();
    let outcome = if ok { "success" } else { "failure" };
    let entry = Audit::of(&req).entry(
        ActorKind::Person,
        Some(account.id.to_string()),
        "account.step_up",
        outcome,
    );
    state.db.run(move |c| audit::record(c, &entry, ts)).await?;
    if !ok {
        tries.failed();
        return Err(ApiError::Code(ErrorCode::InvalidCode));
    }
    tries.succeeded(&state).await?;
    let until = state.now().timestamp() + STEP_UP_SECS;
    Ok(HttpResponse::Ok().json(StepUpToken {
        access_token: person_auth::access_token(
            &state,
            account.id,
            person.session_id,
            Some(until),
        )?,
        token_type: "Bearer".into(),
        expires_in: state.settings.access_token_ttl_secs,
        step_up_expires_in: STEP_UP_SECS,
    }))
}

/// What a step-up is proven with.
enum StepUpProof {
    Totp(String),
    Sms(String),
}

fn step_up_proof(body: &StepUpRequest) -> Result<StepUpProof, ApiError> {
    match (body.totp_code.as_deref(), body.sms_code.as_deref()) {
        (Some(code), None) => Ok(StepUpProof::Totp(code.to_owned())),
        (None, Some(code)) => Ok(StepUpProof::Sms(code.to_owned())),
        _ => Err(field_error_of(
            "totp_code",
            Issue::Value(shebao_domain::ValueError::Rule(
                "give exactly one of totp_code or sms_code",
            )),
        )),
    }
}

fn binding_view(p: &RegistryPerson) -> BindingView {
    BindingView {
        person_id: p.id,
        name: p.name.as_str().to_owned(),
        national_id: p.national_id_masked.clone(),
        region: p.region.as_str().to_owned(),
    }
}

enum BindOutcome {
    Bound(RegistryPerson),
    Mismatch,
    Conflict(BindConflict),
}

/// Binds the ID card and social-security card to the account. Needs a step-up. The registry
/// must hold a person with exactly this ID number, name and card number; a mismatch never says
/// which field was wrong. Mismatches are limited per account and per ID number tried, five a
/// day each.
#[utoipa::path(post, operation_id = "create_binding", path = "/v1/me/binding", tag = "me", request_body = BindingRequest, security(("person_bearer" = [])),
    responses(
        (status = 201, description = "Bound", body = BindingView),
        (status = 409, description = "This account is bound already (`already_bound`), or the person is bound to another account (`person_already_bound`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<(Person, problems::StepUpRequired, problems::TooManyAttempts)>))]
#[post("/v1/me/binding")]
pub async fn bind(
    req: HttpRequest,
    state: web::Data<AppState>,
    person: Person,
    body: Json<BindingRequest>,
) -> Result<HttpResponse, ApiError> {
    person.require_step_up(state.now().timestamp())?;
    let (national_id, name, card) = binding_fields(&body.0)?;
    let account_id = person.account_id;
    let id_hash = state
        .vault
        .blind_index(BINDING_ID_INDEX, national_id.expose());
    let tries = Tries::begin(&state, limits::binding(account_id, &id_hash)).await?;
    let ts = state.now().naive_utc();
    let vault = state.vault.clone();
    let audit_for = Audit::of(&req);
    let entry = |outcome| {
        audit_for.entry(
            ActorKind::Person,
            Some(account_id.to_string()),
            "binding.create",
            outcome,
        )
    };
    let (mismatch, mut success) = (entry("mismatch"), entry("success"));
    let outcome = state
        .db
        .transaction(move |c| {
            let found = persons::find_by_national_id(c, &vault, &national_id)?;
            let Some(p) = found.filter(|p| {
                p.name.as_str() == name.as_str() && p.card_number.as_str() == card.as_str()
            }) else {
                audit::record(c, &mismatch, ts)?;
                return Ok(BindOutcome::Mismatch);
            };
            let Err(conflict) = accounts::bind(c, account_id, p.id, ts)? else {
                success.subject_kind = Some("person");
                success.subject_id = Some(p.id.to_string());
                audit::record(c, &success, ts)?;
                return Ok(BindOutcome::Bound(p));
            };
            Ok(BindOutcome::Conflict(conflict))
        })
        .await?;
    match &outcome {
        BindOutcome::Bound(_) => {
            tries.succeeded(&state).await?;
            state.sessions.forget_account(account_id);
        }
        BindOutcome::Mismatch => tries.failed(),
        BindOutcome::Conflict(_) => tries.released(&state).await?,
    }
    binding_answer(outcome)
}

/// The blind-index domain of ID numbers tried at binding (not the registry's, so the counters
/// cannot be joined to it).
const BINDING_ID_INDEX: &str = "binding_id_number";

fn binding_fields(body: &BindingRequest) -> Result<(NationalId, PersonName, CardNumber), ApiError> {
    let mut f = Fields::new();
    let national_id = f.required(
        "national_id",
        body.national_id.as_deref(),
        NationalId::parse,
    );
    let name = f.required("name", body.name.as_deref(), PersonName::parse);
    let card = f.required(
        "card_number",
        body.card_number.as_deref(),
        CardNumber::parse,
    );
    match (national_id, name, card) {
        (Some(national_id), Some(name), Some(card)) => Ok((national_id, name, card)),
        _ => Err(f.into_error()),
    }
}

fn binding_answer(outcome: BindOutcome) -> Result<HttpResponse, ApiError> {
    match outcome {
        BindOutcome::Bound(p) => Ok(HttpResponse::Created().json(binding_view(&p))),
        BindOutcome::Mismatch => Err(ApiError::Code(ErrorCode::BindingMismatch)),
        BindOutcome::Conflict(BindConflict::AccountBound) => {
            Err(ApiError::Code(ErrorCode::AlreadyBound))
        }
        BindOutcome::Conflict(BindConflict::PersonBound) => {
            Err(ApiError::Code(ErrorCode::PersonAlreadyBound))
        }
    }
}

fn not_bound() -> ApiError {
    ApiError::Code(ErrorCode::NotBound)
}

/// The bound person, if any.
#[utoipa::path(get, operation_id = "get_binding", path = "/v1/me/binding", tag = "me", security(("person_bearer" = [])),
    responses(
        (status = 200, description = "The binding", body = BindingView),
        (status = 404, description = "Nothing bound (`not_bound`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Person>))]
#[get("/v1/me/binding")]
pub async fn get_binding(
    state: web::Data<AppState>,
    person: Person,
) -> Result<HttpResponse, ApiError> {
    let account = account_of(&state, &person).await?;
    let Some(pid) = account.person_id else {
        return Err(not_bound());
    };
    let p = state
        .db
        .run(move |c| persons::get(c, pid))
        .await?
        .ok_or_else(not_bound)?;
    Ok(HttpResponse::Ok().json(binding_view(&p)))
}

/// Unbinds the card. Needs a step-up.
#[utoipa::path(delete, operation_id = "delete_binding", path = "/v1/me/binding", tag = "me", security(("person_bearer" = [])),
    responses(
        (status = 204, description = "Unbound"),
        (status = 404, description = "Nothing bound (`not_bound`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<(Person, problems::StepUpRequired)>))]
#[delete("/v1/me/binding")]
pub async fn delete_binding(
    req: HttpRequest,
    state: web::Data<AppState>,
    person: Person,
) -> Result<HttpResponse, ApiError> {
    person.require_step_up(state.now().timestamp())?;
    let ts = state.now().naive_utc();
    let id = person.account_id;
    let entry = Audit::of(&req).entry(
        ActorKind::Person,
        Some(id.to_string()),
        "binding.delete",
        "success",
    );
    let done = state
        .db
        .transaction(move |c| {
            let done = accounts::unbind(c, id, ts)?;
            if done {
                audit::record(c, &entry, ts)?;
            }
            Ok(done)
        })
        .await?;
    state.sessions.forget_account(id);
    if done {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(not_bound())
    }
}

/// The public keys that verify Shebao's tokens (JWKS), current and still-accepted previous keys.
#[utoipa::path(get, operation_id = "get_jwks", path = "/.well-known/jwks.json", tag = "identity",
    responses((status = 200, description = "JSON Web Key Set", body = shebao_openapi::ops::Jwks)))]
#[get("/.well-known/jwks.json")]
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=300"))
        .json(state.signer.jwks())
}
