//! The phone app's tokens: access tokens (15 minutes, tied to a session, optionally stepped up),
//! MFA tokens (the second half of a sign-in), and the `Person` extractor. Person tokens carry
//! the audience `shebao:app`; staff tokens carry `shebao:staff`, so neither works on the other's
//! routes.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use serde::{Deserialize, Serialize};
use shebao_infra::identity::sessions;
use shebao_security::{opaque, PiiVault};
use uuid::Uuid;

use crate::auth::extract::{bearer, bearer_problems, verify_access, ACCESS_TOKEN_USE};
use crate::error::{ApiError, ErrorCode, ProblemSet};
use crate::session_cache::{ProxyRef, VerifiedToken};
use crate::state::AppState;
use shebao_domain::proxies::ScopeSet;

pub const APP_AUDIENCE: &str = "shebao:app";
pub const MFA_TOKEN_USE: &str = "mfa";
pub const MFA_TTL_SECS: i64 = 300;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PersonClaims {
    pub iss: String,
    pub aud: String,
    /// The account id.
    pub sub: String,
    /// The session id.
    pub sid: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub token_use: String,
    /// Until when (unix seconds) this token counts as stepped up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_up_until: Option<i64>,
}

/// The actor of a token acting for someone else (RFC 8693 `act`): the relative's account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub sub: String,
}

/// The claims of a proxy token (RFC 8693 shape): `sub` is the principal's account, so every
/// person's route reads the principal's data; `act.sub` the relative's account; `scope` the
/// grant's scopes; `sid` the relative's own session (the token dies with it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProxyClaims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub sid: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub token_use: String,
    pub act: Actor,
    pub scope: String,
    pub grant_id: String,
    /// The relative's own step-up, carried over when they stepped up before taking the token
    /// (a payment for the principal needs the relative to have proved themselves just now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_up_until: Option<i64>,
}

/// What the extractor reads of any app access token: a person's own, or a proxy's (with `act`).
#[derive(Debug, Deserialize)]
struct AnyAccessClaims {
    sub: String,
    sid: String,
    exp: i64,
    #[serde(default)]
    step_up_until: Option<i64>,
    #[serde(default)]
    act: Option<Actor>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    grant_id: Option<String>,
}

impl AnyAccessClaims {
    fn verified(self) -> Option<VerifiedToken> {
        let proxy = match (self.act, self.scope, self.grant_id) {
            (None, None, None) => None,
            (Some(act), Some(scope), Some(grant)) => Some(ProxyRef {
                grant_id: Uuid::parse_str(&grant).ok()?,
                holder_account_id: Uuid::parse_str(&act.sub).ok()?,
                scopes: ScopeSet::parse(&scope).ok()?,
            }),
            // Half a proxy token is no token.
            _ => return None,
        };
        Some(VerifiedToken {
            account_id: Uuid::parse_str(&self.sub).ok()?,
            session_id: Uuid::parse_str(&self.sid).ok()?,
            step_up_until: self.step_up_until,
            exp: self.exp,
            proxy,
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MfaClaims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub token_use: String,
    pub device: String,
}

/// A signed-in person (an account), from a valid access token of a live session.
#[derive(Debug, Clone)]
pub struct Person {
    pub account_id: Uuid,
    pub session_id: Uuid,
    /// The registered person the account is bound to as of this request, and their region's
    /// calendar.
    pub person: Option<shebao_infra::identity::sessions::SessionPerson>,
    pub step_up_until: Option<i64>,
    /// Set when a relative acts for the account's person under a grant (亲情代办).
    pub proxy: Option<ProxyRef>,
}

/// A person's route answers 401 without a valid token of a live session; 403 is what any
/// secured route may answer to a principal it does not serve.
impl ProblemSet for Person {
    fn codes() -> Vec<ErrorCode> {
        let mut codes = bearer_problems(ErrorCode::Forbidden);
        codes.push(ErrorCode::ScopeDenied);
        codes
    }
}

impl Person {
    /// Sensitive actions need a step-up younger than five minutes. A proxy token counts as
    /// stepped up only with the relative's own step-up, carried into it when they took it
    /// (`POST /v1/me/step-up` itself is never open to a proxy token).
    pub fn require_step_up(&self, now: i64) -> Result<(), ApiError> {
        if self.step_up_until.is_some_and(|until| until > now) {
            Ok(())
        } else {
            Err(ApiError::Code(ErrorCode::StepUpRequired))
        }
    }
}

fn state_of(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::internal("application state missing"))
}

/// What an app access token says, if it is valid at `now` (unix seconds): its signature is
/// checked once a minute at most (`SessionCache`), not whether its session is still live.
pub fn verified_token(state: &AppState, token: &str, now: i64) -> Result<VerifiedToken, ApiError> {
    let key = opaque::sha256(token);
    match state.sessions.token(&key) {
        Some(v) if v.exp <= now => Err(ErrorCode::TokenExpired.into()),
        Some(v) => Ok(v),
        None => {
            let claims: AnyAccessClaims = verify_access(state, token, APP_AUDIENCE, now)?;
            let v = claims.verified().ok_or(ErrorCode::Unauthorized)?;
            state.sessions.put_token(key, v);
            Ok(v)
        }
    }
}

impl FromRequest for Person {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer(req).map(str::to_owned);
        let state = state_of(req);
        let req = req.clone();
        Box::pin(async move {
            let state = state?;
            let token = token.ok_or(ErrorCode::Unauthorized)?;
            let now = state.now();
            let verified = verified_token(&state, &token, now.timestamp())?;
            let session_id = verified.session_id;
            // The session checked is the one the token belongs to: for a proxy token, the
            // relative's own.
            let session_owner = verified
                .proxy
                .map_or(verified.account_id, |p| p.holder_account_id);
            // Sessions can be ended before their tokens expire: check it is still live. One
            // read serves a burst of requests (`SessionCache`); the write that notes use
            // happens at most once a minute.
            let live = match state.sessions.get(session_id, session_owner) {
                Some(live) => live,
                None => {
                    let ts = now.naive_utc();
                    let epoch = state.sessions.epoch();
                    let live = state
                        .db
                        .run(move |c| {
                            let live = sessions::authenticate(c, session_id, session_owner, ts)?;
                            if live.as_ref().is_some_and(|l| l.stale) {
                                sessions::touch(c, session_id, ts)?;
                            }
                            Ok(live)
                        })
                        .await?
                        .ok_or(ErrorCode::Unauthorized)?;
                    state
                        .sessions
                        .put(epoch, session_id, session_owner, live.clone());
                    live
                }
            };
            let person = match verified.proxy {
                None => live.person,
                Some(proxy) => {
                    Some(crate::auth::proxy::admit(&req, &state, verified.account_id, proxy).await?)
                }
            };
            Ok(Person {
                account_id: verified.account_id,
                session_id,
                person,
                step_up_until: verified.step_up_until,
                proxy: verified.proxy,
            })
        })
    }
}

/// The device a session is opened from, as the app names itself.
pub fn device_of(req: &HttpRequest) -> String {
    let ua = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim();
    if ua.is_empty() {
        "unknown device".to_owned()
    } else {
        ua.chars().take(200).collect()
    }
}

/// Signs an access token for a session.
pub fn access_token(
    state: &AppState,
    account_id: Uuid,
    session_id: Uuid,
    step_up_until: Option<i64>,
) -> Result<String, ApiError> {
    let jti = Uuid::now_v7().to_string();
    signed_access(
        state,
        account_id,
        session_id,
        step_up_until,
        state.now().timestamp(),
        jti,
    )
}

/// The access token issued with the refresh token hashed `refresh_hash` at `issued_at`: its
/// claims (and so, Ed25519 signing being deterministic, the token) are the same each time, so a
/// refresh retried within the grace period gets back exactly the pair it was first given.
pub fn refreshed_access_token(
    state: &AppState,
    account_id: Uuid,
    session_id: Uuid,
    issued_at: i64,
    refresh_hash: &str,
) -> Result<String, ApiError> {
    let digest = opaque::sha256(&format!("access_jti\0{refresh_hash}"));
    let mut first16 = [0u8; 16];
    first16.copy_from_slice(&digest[..16]);
    let jti = Uuid::from_bytes(first16).to_string();
    signed_access(state, account_id, session_id, None, issued_at, jti)
}

fn signed_access(
    state: &AppState,
    account_id: Uuid,
    session_id: Uuid,
    step_up_until: Option<i64>,
    now: i64,
    jti: String,
) -> Result<String, ApiError> {
    let claims = PersonClaims {
        iss: state.settings.token_issuer.clone(),
        aud: APP_AUDIENCE.to_owned(),
        sub: account_id.to_string(),
        sid: session_id.to_string(),
        exp: now + state.settings.access_token_ttl_secs,
        iat: now,
        jti,
        token_use: ACCESS_TOKEN_USE.to_owned(),
        step_up_until,
    };
    state.signer.sign(&claims).map_err(ApiError::internal)
}

/// A fresh refresh token and the hash that is stored.
pub fn new_refresh_token() -> (String, String) {
    let token = opaque::random_token();
    let hash = opaque::sha256_hex(&token);
    (token, hash)
}

/// The refresh token `old` is exchanged for, and its stored hash. It is derived from `old` with
/// the server's keyed index (not drawn at random) so that `old` presented again within the reuse
/// grace period can be answered with the same token without storing any token in clear.
pub fn successor_refresh_token(vault: &PiiVault, old: &str) -> (String, String) {
    let token = vault.blind_index("refresh_successor", old);
    let hash = opaque::sha256_hex(&token);
    (token, hash)
}

pub fn mfa_token(state: &AppState, account_id: Uuid, device: &str) -> Result<String, ApiError> {
    let now = state.now().timestamp();
    let claims = MfaClaims {
        iss: state.settings.token_issuer.clone(),
        aud: APP_AUDIENCE.to_owned(),
        sub: account_id.to_string(),
        exp: now + MFA_TTL_SECS,
        iat: now,
        jti: Uuid::now_v7().to_string(),
        token_use: MFA_TOKEN_USE.to_owned(),
        device: device.to_owned(),
    };
    state.signer.sign(&claims).map_err(ApiError::internal)
}

/// A person if the request carries a bearer token, nobody if it carries none: for the public
/// routes that say more to a signed-in person (whether their insurance covers an institution).
/// A token that is there but not valid is refused (401), never taken for no token.
#[derive(Debug, Clone)]
pub struct MaybePerson(pub Option<Person>);

/// Only a token that is there and invalid: 401.
impl ProblemSet for MaybePerson {
    fn codes() -> Vec<ErrorCode> {
        vec![ErrorCode::Unauthorized, ErrorCode::TokenExpired]
    }
}

impl FromRequest for MaybePerson {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        if !req.headers().contains_key(header::AUTHORIZATION) {
            return Box::pin(async { Ok(MaybePerson(None)) });
        }
        let person = Person::from_request(req, payload);
        Box::pin(async move { Ok(MaybePerson(Some(person.await?))) })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use shebao_domain::proxies::ProxyScope;

    fn claims(v: serde_json::Value) -> AnyAccessClaims {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_proxy_token_needs_its_actor_scope_and_grant_together() {
        let (principal, holder, sid, grant) = (
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
        );
        let own = claims(serde_json::json!({"sub": principal, "sid": sid, "exp": 10}))
            .verified()
            .unwrap();
        assert_eq!(own.account_id, principal);
        assert!(own.proxy.is_none());
        let proxy = claims(serde_json::json!({
            "sub": principal, "sid": sid, "exp": 10, "step_up_until": 5,
            "act": {"sub": holder}, "scope": "read_records apply", "grant_id": grant,
        }))
        .verified()
        .unwrap();
        let p = proxy.proxy.unwrap();
        assert_eq!(
            (p.grant_id, p.holder_account_id),
            (grant, holder),
            "{proxy:?}"
        );
        assert!(p.scopes.contains(ProxyScope::Apply));
        assert!(!p.scopes.contains(ProxyScope::PayPremiums));
        assert_eq!(proxy.step_up_until, Some(5));
        // Half a proxy token, or one with an unknown scope, is no token at all.
        for half in [
            serde_json::json!({"sub": principal, "sid": sid, "exp": 10, "act": {"sub": holder}}),
            serde_json::json!({"sub": principal, "sid": sid, "exp": 10, "act": {"sub": holder}, "scope": "read_records"}),
            serde_json::json!({"sub": principal, "sid": sid, "exp": 10, "scope": "read_records", "grant_id": grant}),
            serde_json::json!({"sub": principal, "sid": sid, "exp": 10, "act": {"sub": holder}, "scope": "bind", "grant_id": grant}),
            serde_json::json!({"sub": principal, "sid": sid, "exp": 10, "act": {"sub": "x"}, "scope": "apply", "grant_id": grant}),
        ] {
            assert!(claims(half.clone()).verified().is_none(), "{half}");
        }
    }
}
