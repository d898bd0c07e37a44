//! The signed-in person's own account: profile, sessions, TOTP, step-up, and binding the ID card.

use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use shebao_domain::auth::{totp_policy, SmsPurpose, STEP_UP_SECS};
use shebao_domain::identity::{NationalId, PersonName};
use shebao_domain::person::CardNumber;
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

fn totp_already() -> ApiError {
    ApiError::Code(ErrorCode::TotpAlreadyEnabled)
}

/// Starts TOTP enrolment: a new secret to scan, confirmed by `POST /v1/me/totp/confirm`.
#[utoipa::path(post, operation_id = "totp_start", path = "/v1/me/totp", tag = "me", security(("person_bearer" = [])),
    responses(
        (status = 200, description = "Scan or type the secret, then confirm with a code", body = TotpEnrolment),
        (status = 409, description = "TOTP is already enabled (`totp_already_enabled`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Person>))]
#[post("/v1/me/totp")]
pub async fn totp_start(
    state: web::Data<AppState>,
    person: Person,
) -> Result<HttpResponse, ApiError> {
    let account = account_of(&state, &person).await?;
    if account.totp_enabled() {
        return Err(totp_already());
    }
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

/// Confirms TOTP with a code from the app; answers ten single-use recovery codes (shown once).
#[utoipa::path(post, operation_id = "totp_confirm", path = "/v1/me/totp/confirm", tag = "me", request_body = TotpConfirmRequest, security(("person_bearer" = [])),
    responses(
        (status = 200, description = "TOTP is on", body = RecoveryCodes),
        (status = 409, description = "Already enabled, or no enrolment started (`totp_not_started`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Person>))]
#[post("/v1/me/totp/confirm")]
pub async fn totp_confirm(
    req: HttpRequest,
    state: web::Data<AppState>,
    person: Person,
    body: Json<TotpConfirmRequest>,
) -> Result<HttpResponse, ApiError> {
    let account = account_of(&state, &person).await?;
    if account.totp_enabled() {
        return Err(totp_already());
    }
    let Some(pending) = account.totp_pending_enc.clone() else {
        return Err(ApiError::Code(ErrorCode::TotpNotStarted));
    };
    let secret = state
        .vault
        .decrypt(&pending, TOTP_AAD)
        .ok()
        .and_then(|s| totp::decode_secret(&s))
        .ok_or_else(|| ApiError::internal("pending TOTP secret cannot be read"))?;
    let Some(step) = totp::verify(&secret, &body.0.code, state.now().timestamp()) else {
        return Err(field_error_of(
            "code",
            Issue::Value(shebao_domain::ValueError::Rule("the code does not match")),
        ));
    };
    let codes: Vec<String> = (0..totp_policy::RECOVERY_CODES)
        .map(|_| opaque::recovery_code())
        .collect();
    let hashes: Vec<String> = codes
        .iter()
        .map(|c| opaque::sha256_hex(&opaque::normalise_recovery_code(c)))
        .collect();
    let ts = state.now().naive_utc();
    let id = account.id;
    let entry = Audit::of(&req).entry(
        ActorKind::Person,
        Some(id.to_string()),
        "factor.totp_enable",
        "success",
    );
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
        return Err(totp_already());
    }
    Ok(HttpResponse::Ok().json(RecoveryCodes {
        recovery_codes: codes,
    }))
}

/// Switches TOTP off (and deletes the recovery codes). Needs a step-up.
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
    Ok(HttpResponse::NoContent().finish())
}

/// Proves it is you again (a TOTP code, or an SMS code sent for `step_up`): answers an access
/// token that counts as stepped up for five minutes.
#[utoipa::path(post, operation_id = "step_up", path = "/v1/me/step-up", tag = "me", request_body = StepUpRequest, security(("person_bearer" = [])),
    responses(
        (status = 200, description = "A stepped-up access token", body = StepUpToken),
        Problems<(Person, problems::InvalidCode)>))]
#[post("/v1/me/step-up")]
pub async fn step_up(
    req: HttpRequest,
    state: web::Data<AppState>,
    person: Person,
    body: Json<StepUpRequest>,
) -> Result<HttpResponse, ApiError> {
    let account = account_of(&state, &person).await?;
    let ok = match (body.0.totp_code.as_deref(), body.0.sms_code.as_deref()) {
        (Some(code), None) => check_totp(&state, &account, code).await?,
        (None, Some(code)) => {
            let vault = state.vault.clone();
            let (hash, code) = (account.phone_hash.clone(), code.to_owned());
            let ts = state.now().naive_utc();
            state
                .db
                .run(move |c| codes::verify(c, &vault, &hash, SmsPurpose::StepUp, &code, ts))
                .await?
        }
        _ => {
            return Err(field_error_of(
                "totp_code",
                Issue::Value(shebao_domain::ValueError::Rule(
                    "give exactly one of totp_code or sms_code",
                )),
            ))
        }
    };
    let ts = state.now().naive_utc();
    let entry = Audit::of(&req).entry(
        ActorKind::Person,
        Some(account.id.to_string()),
        "account.step_up",
        if ok { "success" } else { "failure" },
    );
    state.db.run(move |c| audit::record(c, &entry, ts)).await?;
    if !ok {
        return Err(ApiError::Code(ErrorCode::InvalidCode));
    }
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

fn binding_view(p: &RegistryPerson) -> BindingView {
    BindingView {
        person_id: p.id,
        name: p.name.as_str().to_owned(),
        national_id: p.national_id_masked.clone(),
        region: p.region.as_str().to_owned(),
    }
}

/// Wrong guesses at binding allowed per account in 24 hours.
const BINDING_MISMATCHES_PER_DAY: usize = 5;

enum BindOutcome {
    Bound(RegistryPerson),
    Mismatch,
    TooMany,
    Conflict(BindConflict),
}

/// Binds the ID card and social-security card to the account. Needs a step-up. The registry
/// must hold a person with exactly this ID number, name and card number; a mismatch never says
/// which field was wrong.
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
    let Json(body) = body;
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
    let (Some(national_id), Some(name), Some(card)) = (national_id, name, card) else {
        return Err(f.into_error());
    };
    let now = state.now();
    let ts = now.naive_utc();
    let account_id = person.account_id;
    let vault = state.vault.clone();
    let audit_for = Audit::of(&req);
    let mismatch = audit_for.entry(
        ActorKind::Person,
        Some(account_id.to_string()),
        "binding.create",
        "mismatch",
    );
    let mut success = audit_for.entry(
        ActorKind::Person,
        Some(account_id.to_string()),
        "binding.create",
        "success",
    );
    let outcome = state
        .db
        .transaction(move |c| {
            let recent = audit::for_actor(c, ActorKind::Person, &account_id.to_string(), 200)?
                .into_iter()
                .filter(|e| {
                    e.action == "binding.create"
                        && e.outcome == "mismatch"
                        && e.occurred_at > ts - chrono::Duration::hours(24)
                })
                .count();
            if recent >= BINDING_MISMATCHES_PER_DAY {
                return Ok(BindOutcome::TooMany);
            }
            let found = persons::find_by_national_id(c, &vault, &national_id)?;
            let Some(p) = found.filter(|p| {
                p.name.as_str() == name.as_str() && p.card_number.as_str() == card.as_str()
            }) else {
                audit::record(c, &mismatch, ts)?;
                return Ok(BindOutcome::Mismatch);
            };
            match accounts::bind(c, account_id, p.id, ts)? {
                Ok(()) => {
                    success.subject_kind = Some("person");
                    success.subject_id = Some(p.id.to_string());
                    audit::record(c, &success, ts)?;
                    Ok(BindOutcome::Bound(p))
                }
                Err(conflict) => Ok(BindOutcome::Conflict(conflict)),
            }
        })
        .await?;
    if matches!(outcome, BindOutcome::Bound(_)) {
        state.sessions.forget_account(account_id);
    }
    match outcome {
        BindOutcome::Bound(p) => Ok(HttpResponse::Created().json(binding_view(&p))),
        // The mismatch was recorded (and committed) above, so it counts against the daily limit.
        BindOutcome::Mismatch => Err(ApiError::Code(ErrorCode::BindingMismatch)),
        BindOutcome::TooMany => Err(ErrorCode::TooManyAttempts.retry_after(3600)),
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
    responses((status = 200, description = "JSON Web Key Set", body = Object)))]
#[get("/.well-known/jwks.json")]
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=300"))
        .json(state.signer.jwks())
}
