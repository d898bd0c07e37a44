//! Sign-up and sign-in for the phone app: SMS codes, registration, password or code login with
//! TOTP as a second factor, refresh-token rotation, logout and password reset.

use actix_web::{post, web, HttpRequest, HttpResponse};
use chrono::NaiveDateTime;
use shebao_domain::auth::{refresh_replay, RefreshReplay};
use shebao_domain::auth::{sms_policy, SmsPurpose};
use shebao_domain::identity::PhoneNumber;
use shebao_domain::ports::{SmsError, SmsMessage};
use shebao_domain::staff::Password;
use shebao_infra::audit::{self, ActorKind, AuditEntry};
use shebao_infra::db::{DbConnection, StoreError};
use shebao_infra::identity::accounts::{self, Account};
use shebao_infra::identity::codes::{self, SendRefused};
use shebao_infra::identity::sessions;
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
use crate::limits::{self, Tries};
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
/// an account; too soon or too many gives 429 with `Retry-After`. The provider gets at most five
/// seconds in all; when it failed, the answer is 503 and asking again is allowed at once.
#[utoipa::path(post, operation_id = "sms_codes", path = "/v1/auth/sms-codes", tag = "identity", request_body = SmsCodeRequest,
    responses(
        (status = 202, description = "The code is on its way (also when the provider's answer was lost: the code stays valid)", body = SmsCodeSent),
        (status = 429, description = "Too soon after the last code (`sms_cooldown`) or over a daily cap (`sms_daily_cap`)", body = shebao_openapi::Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "The SMS provider failed (`sms_unavailable`: no cool-down started, ask again), or the database is unreachable for now (`service_unavailable`)", body = shebao_openapi::Problem, content_type = "application/problem+json",
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
    let phone_hash = accounts::phone_hash(&state.vault, &phone);
    let code = opaque::random_digits(sms_policy::CODE_DIGITS);
    let id = Uuid::now_v7();
    // The code is recorded before the provider is called: its id is the message's idempotency key.
    record_code(&state, (id, phone_hash, purpose, code.clone()), ip_of(&req)).await?;
    let message = SmsMessage {
        id: id.to_string(),
        to: phone,
        body: format!(
            "【社保】您的验证码是 {code}，5 分钟内有效。请勿告诉他人。Your Shebao code is {code}."
        ),
    };
    send_code(&state, id, &message).await?;
    Ok(HttpResponse::Accepted().json(SmsCodeSent {
        expires_in: sms_policy::CODE_TTL_SECS,
        resend_after: sms_policy::RESEND_COOLDOWN_SECS,
    }))
}

/// Records a new code (id, phone's blind index, purpose, code) unless the phone's cool-down or a
/// daily cap forbids it. Under the phone's lock, so parallel requests for one phone are decided
/// one at a time: exactly one of them gets a code.
async fn record_code(
    state: &AppState,
    (id, phone_hash, purpose, code): (Uuid, String, SmsPurpose, String),
    ip: String,
) -> Result<(), ApiError> {
    let ts = state.now().naive_utc();
    let vault = state.vault.clone();
    let allowed = state
        .db
        .transaction(move |c| {
            codes::lock_phone(c, &phone_hash, ts)?;
            if let Err(refused) = codes::may_send(c, &phone_hash, purpose, &ip, ts)? {
                return Ok(Err(refused));
            }
            let new = codes::NewCode {
                id,
                phone_hash: &phone_hash,
                purpose,
                code: &code,
                client_ip: &ip,
            };
            codes::insert(c, &vault, new, ts)?;
            Ok(Ok(()))
        })
        .await?;
    match allowed {
        Ok(()) => Ok(()),
        Err(SendRefused::Cooldown(wait)) => Err(ErrorCode::SmsCooldown.retry_after(wait)),
        Err(SendRefused::PhoneDailyCap(wait) | SendRefused::IpDailyCap(wait)) => {
            Err(ErrorCode::SmsDailyCap.retry_after(wait))
        }
    }
}

/// Sends a recorded code and notes the outcome. A send that failed kills the code and does not
/// start the cool-down (503: ask again). A send whose outcome is unknown (the provider may have
/// taken it) keeps the code valid, and counts as sent.
async fn send_code(state: &AppState, id: Uuid, message: &SmsMessage) -> Result<(), ApiError> {
    let ts = state.now().naive_utc();
    match state.sms.send(message).await {
        Ok(sent) => {
            state
                .db
                .run(move |c| codes::mark_sent(c, id, &sent.provider_id))
                .await?;
            Ok(())
        }
        Err(SmsError::Unknown(e)) => {
            tracing::warn!(error = %e, "SMS outcome unknown; the code stays valid");
            state.db.run(move |c| codes::mark_unknown(c, id)).await?;
            Ok(())
        }
        Err(e) => {
            tracing::warn!(error = %e, "SMS provider failed");
            state.db.run(move |c| codes::mark_failed(c, id, ts)).await?;
            Err(ErrorCode::SmsUnavailable.retry_after(30))
        }
    }
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

/// Audits a failed sign-in (its try stays counted).
async fn fail_sign_in(
    state: &AppState,
    req: &HttpRequest,
    tries: Tries,
    account: Option<Uuid>,
    action: &'static str,
) -> Result<(), ApiError> {
    tries.failed();
    let ts = state.now().naive_utc();
    let kind = match account {
        Some(_) => ActorKind::Person,
        None => ActorKind::Anonymous,
    };
    let entry = Audit::of(req).entry(kind, account.map(|a| a.to_string()), action, "failure");
    state.db.run(move |c| audit::record(c, &entry, ts)).await?;
    Ok(())
}

/// What a sign-in is proven with.
enum LoginSecret {
    Password(String),
    Code(String),
}

fn login_secret(body: &LoginRequest) -> Result<LoginSecret, ApiError> {
    match (body.password.as_deref(), body.code.as_deref()) {
        (Some(p), None) => Ok(LoginSecret::Password(p.to_owned())),
        (None, Some(c)) => Ok(LoginSecret::Code(c.to_owned())),
        _ => Err(field_error_of(
            "password",
            Issue::Value(shebao_domain::ValueError::Rule(
                "give exactly one of password or code",
            )),
        )),
    }
}

/// Checks the password or code of a sign-in. The same work whether or not the phone has an
/// account, so neither the answer nor its timing tells.
async fn check_login_secret(
    state: &AppState,
    secret: &LoginSecret,
    account: Option<&Account>,
    phone_hash: &str,
) -> Result<bool, ApiError> {
    match (secret, account.and_then(|a| a.password_hash.as_deref())) {
        (LoginSecret::Password(password), Some(hash)) if password.len() <= 1024 => state
            .hasher
            .verify(password, hash)
            .await
            .map_err(ApiError::internal),
        (LoginSecret::Password(password), _) => {
            state.hasher.verify_dummy(password).await;
            Ok(false)
        }
        (LoginSecret::Code(code), _) => {
            Ok(check_code(state, phone_hash, SmsPurpose::Login, code).await? && account.is_some())
        }
    }
}

/// Signs in with a password or an SMS code (purpose `login`). With TOTP enrolled, the answer is
/// a challenge to finish at `/v1/auth/login/mfa`. Failures never say whether the phone has an
/// account: repeated failures slow down, then lock the phone number whether or not it has one
/// (and the client address).
#[utoipa::path(post, operation_id = "login", path = "/v1/auth/login", tag = "identity", request_body = shebao_openapi::identity::LoginForm,
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
    let secret = login_secret(&body)?;
    let phone_hash = accounts::phone_hash(&state.vault, &phone);
    // Counted per phone whether or not it has an account: a lock-out tells nobody which exist.
    let counters = vec![
        limits::client_address(&req),
        limits::phone_sign_in(&phone_hash),
    ];
    let tries = Tries::begin(&state, counters).await?;
    let hash = phone_hash.clone();
    let account = state
        .db
        .run(move |c| accounts::find_by_phone_hash(c, &hash))
        .await?;
    let ok = check_login_secret(&state, &secret, account.as_ref(), &phone_hash).await?;
    let account = match account {
        Some(a) if ok => a,
        other => {
            let id = other.map(|a| a.id);
            fail_sign_in(&state, &req, tries, id, "account.login").await?;
            return Err(invalid_credentials());
        }
    };
    if account.totp_enabled() {
        // Not signed in yet: the second factor's tries count on the same counters.
        tries.released(&state).await?;
        let token = person_auth::mfa_token(&state, account.id, &device_of(&req))?;
        return Ok(HttpResponse::Ok().json(LoginResponse::Mfa(MfaChallenge {
            mfa_required: true,
            mfa_token: token,
        })));
    }
    tries.succeeded(&state).await?;
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
#[utoipa::path(post, operation_id = "login_mfa", path = "/v1/auth/login/mfa", tag = "identity", request_body = shebao_openapi::identity::MfaLoginForm,
    responses(
        (status = 200, description = "Signed in", body = TokenPair),
        (status = 401, description = "The MFA token is invalid, expired or used (`unauthorized`), or the code is wrong or replayed (`invalid_code`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Locked after repeated failures of this phone number (`account_locked`), or slowed down or too many failures from this address (`too_many_attempts`)", body = shebao_openapi::Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait")))))]
#[post("/v1/auth/login/mfa")]
pub async fn login_mfa(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Json<MfaLoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let Json(body) = body;
    let factor = second_factor(&body)?;
    let (claims, account_id) = mfa_claims(&state, &body.mfa_token)?;
    let account = state
        .db
        .run(move |c| accounts::get(c, account_id))
        .await?
        .ok_or(ErrorCode::Unauthorized)?;
    let counters = vec![
        limits::client_address(&req),
        limits::phone_sign_in(&account.phone_hash),
    ];
    let tries = Tries::begin(&state, counters).await?;
    if !check_second_factor(&state, &account, factor).await? {
        fail_sign_in(&state, &req, tries, Some(account_id), "account.login_mfa").await?;
        return Err(invalid_code());
    }
    tries.succeeded(&state).await?;
    spend_mfa_token(&state, &claims).await?;
    let entry = Audit::of(&req).entry(
        ActorKind::Person,
        Some(account_id.to_string()),
        "account.login_mfa",
        "success",
    );
    let pair = open_session(&state, &req, account_id, entry).await?;
    Ok(HttpResponse::Ok().json(pair))
}

/// The second factor of a sign-in.
enum SecondFactor {
    Totp(String),
    Recovery(String),
}

fn second_factor(body: &MfaLoginRequest) -> Result<SecondFactor, ApiError> {
    match (body.totp_code.as_deref(), body.recovery_code.as_deref()) {
        (Some(code), None) => Ok(SecondFactor::Totp(code.to_owned())),
        (None, Some(code)) => Ok(SecondFactor::Recovery(code.to_owned())),
        _ => Err(field_error_of(
            "totp_code",
            Issue::Value(shebao_domain::ValueError::Rule(
                "give exactly one of totp_code or recovery_code",
            )),
        )),
    }
}

/// The claims of a valid MFA token and the account it names.
fn mfa_claims(state: &AppState, token: &str) -> Result<(MfaClaims, Uuid), ApiError> {
    let opts = VerifyOptions {
        issuer: &state.settings.token_issuer,
        audience: APP_AUDIENCE,
        token_use: MFA_TOKEN_USE,
    };
    let claims: MfaClaims = state
        .signer
        .verify(token, &opts, state.now().timestamp())
        .map_err(|_| ErrorCode::Unauthorized)?;
    let account_id = Uuid::parse_str(&claims.sub).map_err(|_| ErrorCode::Unauthorized)?;
    Ok((claims, account_id))
}

/// A TOTP code (each step accepted once) or a recovery code (each used once).
async fn check_second_factor(
    state: &AppState,
    account: &Account,
    factor: SecondFactor,
) -> Result<bool, ApiError> {
    match factor {
        SecondFactor::Totp(code) => check_totp(state, account, &code).await,
        SecondFactor::Recovery(code) => {
            let hash = opaque::sha256_hex(&opaque::normalise_recovery_code(&code));
            let (id, ts) = (account.id, state.now().naive_utc());
            Ok(state
                .db
                .run(move |c| accounts::use_recovery_code(c, id, &hash, ts))
                .await?)
        }
    }
}

/// The MFA token is good for one sign-in.
async fn spend_mfa_token(state: &AppState, claims: &MfaClaims) -> Result<(), ApiError> {
    let jti = claims.jti.clone();
    let expires = chrono::DateTime::from_timestamp(claims.exp, 0)
        .map(|t| t.naive_utc())
        .unwrap_or(state.now().naive_utc());
    let spent = state
        .db
        .run(move |c| sessions::spend_token_id(c, &jti, expires))
        .await?;
    if spent {
        Ok(())
    } else {
        Err(ErrorCode::Unauthorized.into())
    }
}

enum Refreshed {
    /// The account, the session and when the successor was issued.
    Ok(Uuid, Uuid, NaiveDateTime),
    Invalid,
    Reused(Uuid, Uuid),
}

/// Spends the refresh token hashed `old_hash` for its successor `new_hash`, in one transaction.
/// A token spent before (or by a racing request a moment ago) is a retry inside the grace period
/// while its successor is unspent (the same successor is answered again), and reuse otherwise.
fn rotate(
    c: &mut DbConnection,
    old_hash: &str,
    new_hash: &str,
    ts: NaiveDateTime,
    grace_secs: u32,
) -> Result<Refreshed, StoreError> {
    let Some(token) = sessions::find_refresh(c, old_hash)? else {
        return Ok(Refreshed::Invalid);
    };
    let Some(session) = sessions::get(c, token.session_id)? else {
        return Ok(Refreshed::Invalid);
    };
    if session.revoked_at.is_some() || token.expires_at <= ts {
        return Ok(Refreshed::Invalid);
    }
    if token.used_at.is_none() && sessions::spend_refresh(c, &token.id, ts)? {
        sessions::issue_refresh(c, session.id, new_hash, ts)?;
        return Ok(Refreshed::Ok(session.account_id, session.id, ts));
    }
    let spent_at = match token.used_at {
        Some(at) => at,
        None => sessions::find_refresh(c, old_hash)?
            .and_then(|t| t.used_at)
            .unwrap_or(ts),
    };
    let successor_unspent = sessions::find_refresh(c, new_hash)?
        .is_some_and(|t| t.session_id == session.id && t.used_at.is_none());
    Ok(
        match refresh_replay(spent_at, ts, grace_secs, successor_unspent) {
            RefreshReplay::Retry => Refreshed::Ok(session.account_id, session.id, spent_at),
            RefreshReplay::Reuse => Refreshed::Reused(session.account_id, session.id),
        },
    )
}

/// Exchanges a refresh token for a new pair. The old one dies; presenting it again within the
/// grace period (`SHEBAO_REFRESH_REUSE_GRACE_SECS`, parallel refreshes) answers with the same
/// pair again (the access token keeps its first issue time); later, presenting a used one ends the whole session (its newest refresh
/// token stops working too).
#[utoipa::path(post, operation_id = "refresh", path = "/v1/auth/refresh", tag = "identity", request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new pair (the same pair again for a retry within the grace period)", body = TokenPair),
        (status = 401, description = "Unknown, expired or revoked (`invalid_refresh_token`), or reused after the grace period (`refresh_token_reused`: the session is now revoked)", body = shebao_openapi::Problem, content_type = "application/problem+json")))]
#[post("/v1/auth/refresh")]
pub async fn refresh(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let Json(body) = body;
    let ts = state.now().naive_utc();
    let old = body.refresh_token.trim();
    let old_hash = opaque::sha256_hex(old);
    let (new_refresh, new_hash) = person_auth::successor_refresh_token(&state.vault, old);
    let grace = state.settings.refresh_reuse_grace_secs;
    let hash = new_hash.clone();
    let outcome = state
        .db
        .transaction(move |c| rotate(c, &old_hash, &hash, ts, grace))
        .await?;
    match outcome {
        Refreshed::Ok(account_id, session_id, at) => Ok(HttpResponse::Ok().json(TokenPair {
            access_token: person_auth::refreshed_access_token(
                &state,
                account_id,
                session_id,
                at.and_utc().timestamp(),
                &new_hash,
            )?,
            refresh_token: new_refresh,
            token_type: "Bearer".into(),
            expires_in: state.settings.access_token_ttl_secs,
        })),
        Refreshed::Invalid => Err(ApiError::Code(ErrorCode::InvalidRefreshToken)),
        Refreshed::Reused(account_id, session_id) => {
            end_reused_session(&state, &req, account_id, session_id).await?;
            Err(ApiError::Code(ErrorCode::RefreshTokenReused))
        }
    }
}

/// A used refresh token came back (a stolen token or a replay): the session ends, so neither
/// party can go on with it.
async fn end_reused_session(
    state: &AppState,
    req: &HttpRequest,
    account_id: Uuid,
    session_id: Uuid,
) -> Result<(), ApiError> {
    let ts = state.now().naive_utc();
    let mut entry = Audit::of(req).entry(
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
    Ok(())
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
    limits::forget_phone_sign_in(&state, &account.phone_hash).await?;
    Ok(HttpResponse::NoContent().finish())
}
