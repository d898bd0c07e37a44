use actix_web::{post, web, HttpRequest, HttpResponse};
use shebao_domain::staff::Username;
use shebao_infra::audit::{self, ActorKind};
use shebao_infra::registry::staff;
use shebao_openapi::staff::{StaffLoginRequest, StaffTokenResponse};

use crate::audit::Audit;
use crate::auth::extract::{Json, StaffClaims, ACCESS_TOKEN_USE, STAFF_AUDIENCE};
use crate::error::{ApiError, ErrorCode};
use crate::routes::persons::wire_role;
use crate::state::AppState;

/// Passwords longer than this are not hashed at all (argon2 on megabytes is a denial of service).
const MAX_PASSWORD_BYTES: usize = 1024;

/// Staff sign-in with username and password. Five failures in a row lock the account for
/// fifteen minutes. The answer never says whether the username exists.
#[utoipa::path(post, operation_id = "staff_login", path = "/v1/staff/auth/login", tag = "staff", request_body = StaffLoginRequest,
    responses(
        (status = 200, description = "Signed in", body = StaffTokenResponse),
        (status = 401, description = "Wrong username or password (`invalid_credentials`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Account locked after repeated failures (`account_locked`)", body = shebao_openapi::Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until the lock ends")))))]
#[post("/v1/staff/auth/login")]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Json<StaffLoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let Json(body) = body;
    let now = state.now();
    let ts = now.naive_utc();
    let audit = Audit::of(&req);
    let username = Username::parse(&body.username).ok();
    let account = match username {
        Some(u) => {
            state
                .db
                .run(move |c| staff::find_by_username(c, &u))
                .await?
        }
        None => None,
    };
    let account = match account.filter(|a| a.active) {
        Some(a) if body.password.len() <= MAX_PASSWORD_BYTES => a,
        _ => {
            // Same work as a real check, so timing does not tell which usernames exist.
            state.hasher.verify_dummy(&body.password).await;
            let entry = audit.entry(ActorKind::Anonymous, None, "staff.login", "failure");
            state.db.run(move |c| audit::record(c, &entry, ts)).await?;
            return Err(ErrorCode::InvalidCredentials.into());
        }
    };
    if account.is_locked(ts) {
        let until = account.locked_until.unwrap_or(ts);
        let retry_after_secs = u64::try_from((until - ts).num_seconds().max(1)).unwrap_or(1);
        let entry = audit.entry(
            ActorKind::Staff,
            Some(account.id.to_string()),
            "staff.login",
            "locked",
        );
        state.db.run(move |c| audit::record(c, &entry, ts)).await?;
        return Err(ApiError::AccountLocked { retry_after_secs });
    }
    let ok = state
        .hasher
        .verify(&body.password, &account.password_hash)
        .await
        .map_err(ApiError::internal)?;
    let id = account.id;
    if !ok {
        let entry = audit.entry(
            ActorKind::Staff,
            Some(id.to_string()),
            "staff.login",
            "failure",
        );
        state
            .db
            .transaction(move |c| {
                staff::record_failure(c, id, ts)?;
                audit::record(c, &entry, ts)
            })
            .await?;
        return Err(ErrorCode::InvalidCredentials.into());
    }
    let entry = audit.entry(
        ActorKind::Staff,
        Some(id.to_string()),
        "staff.login",
        "success",
    );
    state
        .db
        .transaction(move |c| {
            staff::record_success(c, id, ts)?;
            audit::record(c, &entry, ts)
        })
        .await?;
    let ttl = state.settings.access_token_ttl_secs;
    let claims = StaffClaims {
        iss: state.settings.token_issuer.clone(),
        aud: STAFF_AUDIENCE.to_owned(),
        sub: id.to_string(),
        exp: now.timestamp() + ttl,
        iat: now.timestamp(),
        jti: uuid::Uuid::now_v7().to_string(),
        token_use: ACCESS_TOKEN_USE.to_owned(),
        role: account.role,
    };
    let token = state.signer.sign(&claims).map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().json(StaffTokenResponse {
        access_token: token,
        token_type: "Bearer".into(),
        expires_in: ttl,
        role: wire_role(account.role),
    }))
}
