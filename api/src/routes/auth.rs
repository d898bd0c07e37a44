//! Sign-up and sign-in for the phone app: SMS codes, registration, password or code login with
//! TOTP as a second factor, refresh-token rotation, logout and password reset.

use actix_web::{post, web, HttpRequest, HttpResponse};
use chrono::NaiveDateTime;
use shebao_domain::auth::{sign_in_gate, sms_policy, SignInGate, SmsPurpose};
use shebao_domain::identity::PhoneNumber;
use shebao_domain::ports::SmsMessage;
use shebao_domain::staff::Password;
use shebao_infra::audit::{self, ActorKind, AuditEntry};
use shebao_infra::db::StoreError;
use shebao_infra::identity::accounts::{self, Account};
use shebao_infra::identity::codes::{self, SendRefused};
use shebao_infra::identity::{sessions, throttle};
use shebao_openapi::identity::{
    LoginRequest, LoginResponse, MfaChallenge, MfaLoginRequest, PasswordResetRequest,
    RefreshRequest, RegisterRequest, SmsCodeRequest, SmsCodeSent, TokenPair,
};
use shebao_security::opaque;
use shebao_security::{totp, VerifyOptions};
use uuid::Uuid;

use crate::audit::Audit;
use crate::auth::extract::{client_ip, Json};
use crate::auth::person::{
    self as person_auth, device_of, MfaClaims, Person, APP_AUDIENCE, MFA_TOKEN_USE,
};
use crate::error::{field_error_of, ApiError, ErrorCode, Fields, Issue, Problems};
use crate::state::AppState;

fn invalid_credentials() -> ApiError {
    ApiError::Code(ErrorCode::InvalidCredentials)
}

fn invalid_code() -> ApiError {
    ApiError::Code(ErrorCode::InvalidCode)
}

fn phone_field(raw: &str) -> Result<PhoneNumber, ApiError> {
    PhoneNumber::parse(raw).map_err(|e| field_error_of("phone", Issue::Value(e)))
}

fn ip_of(req: &HttpRequest) -> String {
    client_ip(req).unwrap_or_else(|| "unknown".to_owned())
}

/// Creates a session with its first refresh token, in one transaction, and signs the pair.
pub async fn open_session(
    state: &AppState,
    req: &HttpRequest,
    account_id: Uuid,
    audit_entry: AuditEntry,
) -> Result<TokenPair, ApiError> {
    let ts = state.now().naive_utc();
    let device = device_of(req);
    let ip = client_ip(req);
    let (refresh_token, hash) = person_auth::new_refresh_token();
    let session_id = state
        .db
        .transaction(move |c| {
            accounts::record_success(c, account_id)?;
            let sid = sessions::create(c, account_id, &device, ip.as_deref(), ts)?;
            sessions::issue_refresh(c, sid, &hash, ts)?;
            let mut entry = audit_entry;
            entry.subject_kind = Some("session");
            entry.subject_id = Some(sid.to_string());
            audit::record(c, &entry, ts)?;
            Ok(sid)
        })
        .await?;
    Ok(TokenPair {
        access_token: person_auth::access_token(state, account_id, session_id, None)?,
        refresh_token,
        token_type: "Bearer".into(),
        expires_in: state.settings.access_token_ttl_secs,
    })
}

/// Asks for a 6-digit code by SMS. Always 202 for a valid request, whether or not the phone has
/// an account; too soon or too many gives 429 with `Retry-After`.
#[utoipa::path(post, operation_id = "sms_codes", path = "/v1/auth/sms-codes", tag = "identity", request_body = SmsCodeRequest,
    responses(
        (status = 202, description = "The code is on its way", body = SmsCodeSent),
        (status = 429, description = "Too soon after the last code (`sms_cooldown`) or over a daily cap (`sms_daily_cap`)", body = shebao_openapi::Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait")))))]
#[post("/v1/auth/sms-codes")]
pub async fn sms_codes(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Json<SmsCodeRequest>,
) -> Result<HttpResponse, ApiError> {
    let Json(body) = body;
    let mut f = Fields::new();
    let phone = f.check("phone", PhoneNumber::parse(&body.phone));
    let purpose = f.check("purpose", SmsPurpose::parse(&body.purpose));
    let (Some(phone), Some(purpose)) = (phone, purpose) else {
        return Err(f.into_error());
    };
    let now = state.now();
    let ts = now.naive_utc();
    let ip = ip_of(&req);
    let phone_hash = accounts::phone_hash(&state.vault, &phone);
    let code = opaque::random_digits(sms_policy::CODE_DIGITS);
    let id = Uuid::now_v7();
    let vault = state.vault.clone();
    let (hash2, code2, ip2) = (phone_hash.clone(), code.clone(), ip.clone());
    // The code is recorded before the provider is called: its id is the message's idempotency key.
    let allowed = state
        .db
        .transaction(
            move |c| match codes::may_send(c, &hash2, purpose, &ip2, ts)? {
                Ok(()) => {
                    codes::insert(
                        c,
                        &vault,
                        codes::NewCode {
                            id,
                            phone_hash: &hash2,
                            purpose,
                            code: &code2,
                            client_ip: &ip2,
                        },
                        ts,
                    )?;
                    Ok(Ok(()))
                }
                Err(refused) => Ok(Err(refused)),
            },
        )
        .await?;
    match allowed {
        Err(SendRefused::Cooldown(wait)) => return Err(ErrorCode::SmsCooldown.retry_after(wait)),
        Err(SendRefused::PhoneDailyCap(wait) | SendRefused::IpDailyCap(wait)) => {
            return Err(ErrorCode::SmsDailyCap.retry_after(wait))
        }
        Ok(()) => {}
    }
    let message = SmsMessage {
        id: id.to_string(),
        to: phone,
        body: format!(
            "【社保】您的验证码是 {code}，5 分钟内有效。请勿告诉他人。Your Shebao code is {code}."
        ),
    };
    match state.sms.send(&message).await {
        Ok(sent) => {
            state
                .db
                .run(move |c| codes::mark_sent(c, id, &sent.provider_id))
                .await?;
        }
        Err(e) => {
            state.db.run(move |c| codes::mark_failed(c, id, ts)).await?;
            tracing::warn!(error = %e, "SMS provider failed");
            return Err(ErrorCode::SmsUnavailable.retry_after(30));
        }
    }
    Ok(HttpResponse::Accepted().json(SmsCodeSent {
        expires_in: sms_policy::CODE_TTL_SECS,
        resend_after: sms_policy::RESEND_COOLDOWN_SECS,
    }))
}

/// Checks an SMS code (which uses it up on success). Not in a transaction: a wrong try must
/// count even though the request fails.
async fn check_code(
    state: &AppState,
    phone_hash: &str,
    purpose: SmsPurpose,
    code: &str,
) -> Result<bool, ApiError> {
    let vault = state.vault.clone();
    let (hash, code) = (phone_hash.to_owned(), code.to_owned());
    let ts = state.now().naive_utc();
    Ok(state
        .db
        .run(move |c| codes::verify(c, &vault, &hash, purpose, &code, ts))
        .await?)
}

/// Validates a phone number and a new password (reporting both fields at once), then proves
/// the phone with an SMS code of `purpose`. Returns the phone, the password and the phone's
/// blind index.
async fn proven_phone(
    state: &AppState,
    (phone, (password_field, password)): (&str, (&str, &str)),
    purpose: SmsPurpose,
    code: &str,
) -> Result<(PhoneNumber, Password, String), ApiError> {
    let mut f = Fields::new();
    let phone = f.check("phone", PhoneNumber::parse(phone));
    let password = f.check(password_field, Password::parse(password));
    let (Some(phone), Some(password)) = (phone, password) else {
        return Err(f.into_error());
    };
    let phone_hash = accounts::phone_hash(&state.vault, &phone);
    if !check_code(state, &phone_hash, purpose, code).await? {
        return Err(invalid_code());
    }
    Ok((phone, password, phone_hash))
}

/// Opens an account with a phone number proven by an SMS code (purpose `register`).
#[utoipa::path(post, operation_id = "register", path = "/v1/auth/register", tag = "identity", request_body = RegisterRequest,
    responses(
        (status = 201, description = "Registered and signed in", body = TokenPair),
        (status = 401, description = "The code is wrong, used or expired (`invalid_code`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The phone number has an account already (`phone_taken`)", body = shebao_openapi::Problem, content_type = "application/problem+json")))]
#[post("/v1/auth/register")]
pub async fn register(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Json<RegisterRequest>,
) -> Result<HttpResponse, ApiError> {
    let Json(body) = body;
    let (phone, password, _) = proven_phone(
        &state,
        (&body.phone, ("password", &body.password)),
        SmsPurpose::Register,
        &body.code,
    )
    .await?;
    let hash = state
        .hasher
        .hash(password.expose())
        .await
        .map_err(ApiError::internal)?;
    let ts = state.now().naive_utc();
    let vault = state.vault.clone();
    let created = state
        .db
        .run(move |c| accounts::create(c, &vault, &phone, &hash, ts))
        .await?;
    let account = created.map_err(|_| ErrorCode::PhoneTaken)?;
    let entry = Audit::of(&req).entry(
        ActorKind::Person,
        Some(account.id.to_string()),
        "account.register",
        "success",
    );
    let pair = open_session(&state, &req, account.id, entry).await?;
    Ok(HttpResponse::Created().json(pair))
}

async fn fail_sign_in(
    state: &AppState,
    req: &HttpRequest,
    account: Option<Uuid>,
    action: &'static str,
) -> Result<(), ApiError> {
    let ts = state.now().naive_utc();
    let ip = ip_of(req);
    let entry = Audit::of(req).entry(
        if account.is_some() {
            ActorKind::Person
        } else {
            ActorKind::Anonymous
        },
        account.map(|a| a.to_string()),
        action,
        "failure",
    );
    state
        .db
        .transaction(move |c| {
            if let Some(a) = account {
                accounts::record_failure(c, a, ts)?;
            }
            throttle::record_failure(c, &ip, ts)?;
            audit::record(c, &entry, ts)
        })
        .await?;
    Ok(())
}

fn gate(account: &Account, now: NaiveDateTime) -> Result<(), ApiError> {
    let utc = |t: NaiveDateTime| t.and_utc();
    match sign_in_gate(
        account.failed_logins,
        account.last_failed_at.map(utc),
        account.locked_until.map(utc),
        now.and_utc(),
    ) {
        SignInGate::Open => Ok(()),
        SignInGate::SlowDown(wait) => Err(ErrorCode::TooManyAttempts.retry_after(wait)),
        SignInGate::Locked(wait) => Err(ApiError::AccountLocked {
            retry_after_secs: u64::try_from(wait).unwrap_or(1),
        }),
    }
}

async fn ip_gate(state: &AppState, req: &HttpRequest) -> Result<(), ApiError> {
    let ip = ip_of(req);
    let ts = state.now().naive_utc();
    if let Some(wait) = state
        .db
        .run(move |c| throttle::locked_for(c, &ip, ts))
        .await?
    {
        return Err(ErrorCode::TooManyAttempts.retry_after(wait));
    }
    Ok(())
}

/// Signs in with a password or an SMS code (purpose `login`). With TOTP enrolled, the answer is
/// a challenge to finish at `/v1/auth/login/mfa`. Failures never say whether the phone has an
/// account; repeated failures slow down, then lock the account (and the client address).
#[utoipa::path(post, operation_id = "login", path = "/v1/auth/login", tag = "identity", request_body = LoginRequest,
    responses(
        (status = 200, description = "Tokens, or `{mfa_required: true, mfa_token}`", body = LoginResponse),
        (status = 401, description = "Wrong phone, password or code (`invalid_credentials`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Slowed down (`too_many_attempts`) or locked (`account_locked`)", body = shebao_openapi::Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait")))))]
#[post("/v1/auth/login")]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let Json(body) = body;
    let phone = phone_field(&body.phone)?;
    let secret = match (body.password.as_deref(), body.code.as_deref()) {
        (Some(p), None) => Ok(p.to_owned()),
        (None, Some(c)) => Err(c.to_owned()),
        _ => {
            let mut f = Fields::new();
            f.add(
                "password",
                Issue::Value(shebao_domain::ValueError::Rule(
                    "give exactly one of password or code",
                )),
            );
            return Err(f.into_error());
        }
    };
    ip_gate(&state, &req).await?;
    let now = state.now().naive_utc();
    let phone_hash = accounts::phone_hash(&state.vault, &phone);
    let hash = phone_hash.clone();
    let account = state
        .db
        .run(move |c| accounts::find_by_phone_hash(c, &hash))
        .await?;
    if let Some(a) = &account {
        gate(a, now)?;
    }
    let ok = match (&secret, &account) {
        (Ok(password), Some(a)) => match a.password_hash.as_deref() {
            Some(h) if password.len() <= 1024 => state
                .hasher
                .verify(password, h)
                .await
                .map_err(ApiError::internal)?,
            _ => {
                state.hasher.verify_dummy(password).await;
                false
            }
        },
        (Ok(password), None) => {
            // The same work as a real check: timing does not tell which phones have accounts.
            state.hasher.verify_dummy(password).await;
            false
        }
        (Err(code), _) => {
            check_code(&state, &phone_hash, SmsPurpose::Login, code).await? && account.is_some()
        }
    };
    let account = match account {
        Some(a) if ok => a,
        other => {
            fail_sign_in(&state, &req, other.map(|a| a.id), "account.login").await?;
            return Err(invalid_credentials());
        }
    };
    if account.totp_enabled() {
        let token = person_auth::mfa_token(&state, account.id, &device_of(&req))?;
        return Ok(HttpResponse::Ok().json(LoginResponse::Mfa(MfaChallenge {
            mfa_required: true,
            mfa_token: token,
        })));
    }
    let entry = Audit::of(&req).entry(
        ActorKind::Person,
        Some(account.id.to_string()),
        "account.login",
        "success",
    );
    let pair = open_session(&state, &req, account.id, entry).await?;
    Ok(HttpResponse::Ok().json(LoginResponse::Tokens(pair)))
}

/// Verifies a TOTP code for an account and accepts its step once (replays fail).
pub async fn check_totp(state: &AppState, account: &Account, code: &str) -> Result<bool, ApiError> {
    let Some(enc) = account.totp_secret_enc.as_deref() else {
        return Ok(false);
    };
    let secret = state
        .vault
        .decrypt(enc, shebao_infra::identity::TOTP_AAD)
        .ok()
        .and_then(|s| totp::decode_secret(&s))
        .ok_or_else(|| ApiError::internal("stored TOTP secret cannot be read"))?;
    let Some(step) = totp::verify(&secret, code, state.now().timestamp()) else {
        return Ok(false);
    };
    let id = account.id;
    Ok(state
        .db
        .run(move |c| accounts::accept_totp_step(c, id, step))
        .await?)
}

/// Finishes a sign-in with TOTP: a TOTP code (each accepted once) or a recovery code.
#[utoipa::path(post, operation_id = "login_mfa", path = "/v1/auth/login/mfa", tag = "identity", request_body = MfaLoginRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenPair),
        (status = 401, description = "The MFA token is invalid, expired or used (`unauthorized`), or the code is wrong or replayed (`invalid_code`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Locked after repeated failures (`account_locked`)", body = shebao_openapi::Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait")))))]
#[post("/v1/auth/login/mfa")]
pub async fn login_mfa(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Json<MfaLoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let Json(body) = body;
    let now = state.now();
    let opts = VerifyOptions {
        issuer: &state.settings.token_issuer,
        audience: APP_AUDIENCE,
        token_use: MFA_TOKEN_USE,
    };
    let claims: MfaClaims = state
        .signer
        .verify(&body.mfa_token, &opts, now.timestamp())
        .map_err(|_| ErrorCode::Unauthorized)?;
    let account_id = Uuid::parse_str(&claims.sub).map_err(|_| ErrorCode::Unauthorized)?;
    let account = state
        .db
        .run(move |c| accounts::get(c, account_id))
        .await?
        .ok_or(ErrorCode::Unauthorized)?;
    gate(&account, now.naive_utc())?;
    let ok = match (body.totp_code.as_deref(), body.recovery_code.as_deref()) {
        (Some(code), None) => check_totp(&state, &account, code).await?,
        (None, Some(code)) => {
            let hash = opaque::sha256_hex(&opaque::normalise_recovery_code(code));
            let ts = now.naive_utc();
            state
                .db
                .run(move |c| accounts::use_recovery_code(c, account_id, &hash, ts))
                .await?
        }
        _ => {
            return Err(field_error_of(
                "totp_code",
                Issue::Value(shebao_domain::ValueError::Rule(
                    "give exactly one of totp_code or recovery_code",
                )),
            ))
        }
    };
    if !ok {
        fail_sign_in(&state, &req, Some(account_id), "account.login_mfa").await?;
        return Err(invalid_code());
    }
    // The MFA token is good for one sign-in.
    let jti = claims.jti.clone();
    let expires = chrono::DateTime::from_timestamp(claims.exp, 0)
        .map(|t| t.naive_utc())
        .unwrap_or(now.naive_utc());
    if !state
        .db
        .run(move |c| sessions::spend_token_id(c, &jti, expires))
        .await?
    {
        return Err(ErrorCode::Unauthorized.into());
    }
    let entry = Audit::of(&req).entry(
        ActorKind::Person,
        Some(account_id.to_string()),
        "account.login_mfa",
        "success",
    );
    let pair = open_session(&state, &req, account_id, entry).await?;
    Ok(HttpResponse::Ok().json(pair))
}

enum Refreshed {
    Ok(Uuid, Uuid),
    Invalid,
    Reused(Uuid, Uuid),
}

/// Exchanges a refresh token for a new pair. The old one dies; presenting a used one again ends
/// the whole session (its newest refresh token stops working too).
#[utoipa::path(post, operation_id = "refresh", path = "/v1/auth/refresh", tag = "identity", request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new pair", body = TokenPair),
        (status = 401, description = "Unknown, expired or revoked (`invalid_refresh_token`), or reused (`refresh_token_reused`: the session is now revoked)", body = shebao_openapi::Problem, content_type = "application/problem+json")))]
#[post("/v1/auth/refresh")]
pub async fn refresh(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let Json(body) = body;
    let ts = state.now().naive_utc();
    let old_hash = opaque::sha256_hex(body.refresh_token.trim());
    let (new_refresh, new_hash) = person_auth::new_refresh_token();
    let outcome = state
        .db
        .transaction(move |c| {
            let Some(token) = sessions::find_refresh(c, &old_hash)? else {
                return Ok(Refreshed::Invalid);
            };
            let Some(session) = sessions::get(c, token.session_id)? else {
                return Ok(Refreshed::Invalid);
            };
            if session.revoked_at.is_some() || token.expires_at <= ts {
                return Ok(Refreshed::Invalid);
            }
            if token.used_at.is_some() || !sessions::spend_refresh(c, &token.id, ts)? {
                return Ok(Refreshed::Reused(session.account_id, session.id));
            }
            sessions::issue_refresh(c, session.id, &new_hash, ts)?;
            Ok::<_, StoreError>(Refreshed::Ok(session.account_id, session.id))
        })
        .await?;
    match outcome {
        Refreshed::Ok(account_id, session_id) => Ok(HttpResponse::Ok().json(TokenPair {
            access_token: person_auth::access_token(&state, account_id, session_id, None)?,
            refresh_token: new_refresh,
            token_type: "Bearer".into(),
            expires_in: state.settings.access_token_ttl_secs,
        })),
        Refreshed::Invalid => Err(ApiError::Code(ErrorCode::InvalidRefreshToken)),
        Refreshed::Reused(account_id, session_id) => {
            // A stolen token or a replay: end the session so neither party can go on with it.
            let mut entry = Audit::of(&req).entry(
                ActorKind::Person,
                Some(account_id.to_string()),
                "session.revoke",
                "refresh_reuse",
            );
            entry.subject_kind = Some("session");
            entry.subject_id = Some(session_id.to_string());
            state
                .db
                .transaction(move |c| {
                    sessions::revoke(c, account_id, session_id, "refresh_reuse", ts)?;
                    audit::record(c, &entry, ts)
                })
                .await?;
            state.sessions.forget_account(account_id);
            Err(ApiError::Code(ErrorCode::RefreshTokenReused))
        }
    }
}

/// Ends the current session.
#[utoipa::path(post, operation_id = "logout", path = "/v1/auth/logout", tag = "identity", security(("person_bearer" = [])),
    responses(
        (status = 204, description = "Signed out"),
        Problems<Person>))]
#[post("/v1/auth/logout")]
pub async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    person: Person,
) -> Result<HttpResponse, ApiError> {
    let ts = state.now().naive_utc();
    let mut entry = Audit::of(&req).entry(
        ActorKind::Person,
        Some(person.account_id.to_string()),
        "session.revoke",
        "logout",
    );
    entry.subject_kind = Some("session");
    entry.subject_id = Some(person.session_id.to_string());
    state
        .db
        .transaction(move |c| {
            sessions::revoke(c, person.account_id, person.session_id, "logout", ts)?;
            audit::record(c, &entry, ts)
        })
        .await?;
    state.sessions.forget_account(person.account_id);
    Ok(HttpResponse::NoContent().finish())
}

/// Sets a new password with an SMS code (purpose `reset_password`) and ends every session.
#[utoipa::path(post, operation_id = "password_reset", path = "/v1/auth/password-reset", tag = "identity", request_body = PasswordResetRequest,
    responses(
        (status = 204, description = "Password changed; every session ended"),
        (status = 401, description = "The code is wrong, used or expired (`invalid_code`)", body = shebao_openapi::Problem, content_type = "application/problem+json")))]
#[post("/v1/auth/password-reset")]
pub async fn password_reset(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Json<PasswordResetRequest>,
) -> Result<HttpResponse, ApiError> {
    let Json(body) = body;
    let (_, password, phone_hash) = proven_phone(
        &state,
        (&body.phone, ("new_password", &body.new_password)),
        SmsPurpose::ResetPassword,
        &body.code,
    )
    .await?;
    let account = state
        .db
        .run(move |c| accounts::find_by_phone_hash(c, &phone_hash))
        .await?
        .ok_or_else(invalid_code)?;
    let hash = state
        .hasher
        .hash(password.expose())
        .await
        .map_err(ApiError::internal)?;
    let ts = state.now().naive_utc();
    let id = account.id;
    let entry = Audit::of(&req).entry(
        ActorKind::Person,
        Some(id.to_string()),
        "account.password_reset",
        "success",
    );
    state
        .db
        .transaction(move |c| {
            accounts::set_password(c, id, &hash, ts)?;
            sessions::revoke_all(c, id, "password_reset", ts)?;
            audit::record(c, &entry, ts)
        })
        .await?;
    state.sessions.forget_account(id);
    Ok(HttpResponse::NoContent().finish())
}
