use actix_web::{post, web, HttpRequest, HttpResponse};
use shebao_domain::staff::Username;
use shebao_infra::audit::{self, ActorKind};
use shebao_infra::registry::staff::{self, StaffAccount};
use shebao_openapi::staff::{StaffLoginRequest, StaffTokenResponse};

use crate::audit::Audit;
use crate::auth::extract::{Json, StaffClaims, ACCESS_TOKEN_USE, STAFF_AUDIENCE};
use crate::error::{ApiError, ErrorCode};
use crate::limits::{self, Tries};
use crate::routes::persons::wire_role;
use crate::state::AppState;

/// Passwords longer than this are not hashed at all (argon2 on megabytes is a denial of service).
const MAX_PASSWORD_BYTES: usize = 1024;

/// Staff sign-in with username and password. Five failures in a row lock the username for
/// fifteen minutes, whether or not it exists; twenty failures from one client address lock that
/// address out (the phone app's limit, on the same counter). The answer never says whether the
/// username exists.
#[utoipa::path(post, operation_id = "staff_login", path = "/v1/staff/auth/login", tag = "staff", request_body = StaffLoginRequest,
    responses(
        (status = 200, description = "Signed in", body = StaffTokenResponse),
        (status = 401, description = "Wrong username or password (`invalid_credentials`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Username locked after repeated failures (`account_locked`), or too many failures from this address (`too_many_attempts`)", body = shebao_openapi::Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait")))))]
#[post("/v1/staff/auth/login")]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Json<StaffLoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let Json(body) = body;
    let ts = state.now().naive_utc();
    let account = find_active(&state, &body.username).await?;
    // Who the entries are about: the account when the username names one, else nobody.
    let audit = Audit::of(&req);
    let entry = |outcome| match &account {
        Some(a) => audit.entry(
            ActorKind::Staff,
            Some(a.id.to_string()),
            "staff.login",
            outcome,
        ),
        None => audit.entry(ActorKind::Anonymous, None, "staff.login", outcome),
    };
    let counters = vec![
        limits::client_address(&req),
        limits::staff_sign_in(&body.username),
    ];
    let tries = match Tries::begin(&state, counters).await {
        Ok(tries) => tries,
        Err(refused) => {
            let locked = entry("locked");
            state.db.run(move |c| audit::record(c, &locked, ts)).await?;
            return Err(refused);
        }
    };
    let account = match check_password(&state, account.as_ref(), &body.password).await? {
        Some(a) => a,
        None => {
            tries.failed();
            let failure = entry("failure");
            state
                .db
                .run(move |c| audit::record(c, &failure, ts))
                .await?;
            return Err(ErrorCode::InvalidCredentials.into());
        }
    };
    tries.succeeded(&state).await?;
    let success = entry("success");
    state
        .db
        .run(move |c| audit::record(c, &success, ts))
        .await?;
    Ok(HttpResponse::Ok().json(staff_token(&state, &account)?))
}

/// The active staff account of that username, if any.
async fn find_active(state: &AppState, username: &str) -> Result<Option<StaffAccount>, ApiError> {
    let Ok(username) = Username::parse(username) else {
        return Ok(None);
    };
    let account = state
        .db
        .run(move |c| staff::find_by_username(c, &username))
        .await?;
    Ok(account.filter(|a| a.active))
}

/// The account if the password is its own. The same work when there is no account, so timing
/// does not tell which usernames exist.
async fn check_password(
    state: &AppState,
    account: Option<&StaffAccount>,
    password: &str,
) -> Result<Option<StaffAccount>, ApiError> {
    match account {
        Some(a) if password.len() <= MAX_PASSWORD_BYTES => {
            let ok = state
                .hasher
                .verify(password, &a.password_hash)
                .await
                .map_err(ApiError::internal)?;
            Ok(ok.then(|| a.clone()))
        }
        _ => {
            state.hasher.verify_dummy(password).await;
            Ok(None)
        }
    }
}

fn staff_token(state: &AppState, account: &StaffAccount) -> Result<StaffTokenResponse, ApiError> {
    let now = state.now();
    let ttl = state.settings.access_token_ttl_secs;
    let claims = StaffClaims {
        iss: state.settings.token_issuer.clone(),
        aud: STAFF_AUDIENCE.to_owned(),
        sub: account.id.to_string(),
        exp: now.timestamp() + ttl,
        iat: now.timestamp(),
        jti: uuid::Uuid::now_v7().to_string(),
        token_use: ACCESS_TOKEN_USE.to_owned(),
        role: account.role,
    };
    Ok(StaffTokenResponse {
        access_token: state.signer.sign(&claims).map_err(ApiError::internal)?,
        token_type: "Bearer".into(),
        expires_in: ttl,
        role: wire_role(account.role),
    })
}
