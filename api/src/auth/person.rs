//! The phone app's tokens: access tokens (15 minutes, tied to a session, optionally stepped up),
//! MFA tokens (the second half of a sign-in), and the `Person` extractor. Person tokens carry
//! the audience `shebao:app`; staff tokens carry `shebao:staff`, so neither works on the other's
//! routes.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use serde::{Deserialize, Serialize};
use shebao_domain::region::TimeZoneName;
use shebao_infra::identity::sessions::{self, LiveSession};
use shebao_security::opaque;
use uuid::Uuid;

use crate::auth::extract::{bearer, verify_access, ACCESS_TOKEN_USE};
use crate::error::ApiError;
use crate::state::AppState;

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
    /// The registered person the account is bound to as of this request, and the time zone
    /// of their region.
    pub person: Option<(Uuid, TimeZoneName)>,
    pub step_up_until: Option<i64>,
}

impl Person {
    /// Sensitive actions need a step-up younger than five minutes.
    pub fn require_step_up(&self, now: i64) -> Result<(), ApiError> {
        if self.step_up_until.is_some_and(|until| until > now) {
            Ok(())
        } else {
            Err(ApiError::coded(
                403,
                "step_up_required",
                "此操作需要再次验证身份（POST /v1/me/step-up）。",
                "This action needs a fresh step-up (POST /v1/me/step-up).",
            ))
        }
    }
}

/// How long a session check may be reused: a phone opening the app sends a burst of requests,
/// and under load one person's requests follow each other closely. Ending a session or changing
/// a binding on this instance clears its entries at once; another instance may keep honouring
/// an ended session for at most this long.
pub const SESSION_CACHE_TTL: Duration = Duration::from_secs(2);
/// Entries kept at most; past it, the cache starts over (it is only a shortcut).
const SESSION_CACHE_MAX: usize = 100_000;

/// How long a verified access token is remembered (never past its own expiry): checking an
/// Ed25519 signature was a quarter of the request workers' CPU under load (bench/README.md).
pub const TOKEN_CACHE_TTL: Duration = Duration::from_secs(60);

/// What a verified person access token says.
#[derive(Debug, Clone, Copy)]
struct VerifiedToken {
    account_id: Uuid,
    session_id: Uuid,
    step_up_until: Option<i64>,
    exp: i64,
}

/// A map whose entries are forgotten `ttl` after they were put, holding at most
/// [`SESSION_CACHE_MAX`] (past it, it drops what has expired, and starts over if that is not
/// enough: it is only a shortcut).
#[derive(Debug)]
struct Expiring<K, V> {
    ttl: Duration,
    entries: Mutex<HashMap<K, (Instant, V)>>,
}

impl<K: std::hash::Hash + Eq, V: Clone> Expiring<K, V> {
    fn new(ttl: Duration) -> Self {
        Expiring {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, (Instant, V)>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn get(&self, key: &K) -> Option<V> {
        let entries = self.lock();
        let (at, value) = entries.get(key)?;
        (at.elapsed() < self.ttl).then(|| value.clone())
    }

    /// Puts the entry if `keep` (called under the map's lock) still allows it.
    fn put_if(&self, key: K, value: V, keep: impl FnOnce() -> bool) {
        let mut entries = self.lock();
        if !keep() {
            return;
        }
        if entries.len() >= SESSION_CACHE_MAX {
            let ttl = self.ttl;
            entries.retain(|_, (at, _)| at.elapsed() < ttl);
            if entries.len() >= SESSION_CACHE_MAX {
                entries.clear();
            }
        }
        entries.insert(key, (Instant::now(), value));
    }
}

/// Recent session checks by session id, so a burst of requests reads the session once; and
/// recently verified access tokens by their SHA-256, so a token's signature is checked once a
/// minute rather than on every request.
#[derive(Debug)]
pub struct SessionCache {
    tokens: Expiring<[u8; 32], VerifiedToken>,
    /// (account id, what the check found) by session id.
    sessions: Expiring<Uuid, (Uuid, LiveSession)>,
    /// Bumped by every invalidation: a check that read the database before an invalidation
    /// and finishes after it is not cached (it may have read what was just ended).
    epoch: AtomicU64,
}

impl Default for SessionCache {
    fn default() -> Self {
        SessionCache {
            tokens: Expiring::new(TOKEN_CACHE_TTL),
            sessions: Expiring::new(SESSION_CACHE_TTL),
            epoch: AtomicU64::new(0),
        }
    }
}

impl SessionCache {
    fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    fn get(&self, session_id: Uuid, account_id: Uuid) -> Option<LiveSession> {
        self.sessions
            .get(&session_id)
            .filter(|(account, _)| *account == account_id)
            .map(|(_, live)| live)
    }

    fn put(&self, epoch: u64, session_id: Uuid, account_id: Uuid, live: LiveSession) {
        self.sessions
            .put_if(session_id, (account_id, live), || self.epoch() == epoch);
    }

    fn token(&self, key: &[u8; 32]) -> Option<VerifiedToken> {
        self.tokens.get(key)
    }

    fn put_token(&self, key: [u8; 32], verified: VerifiedToken) {
        self.tokens.put_if(key, verified, || true);
    }

    /// Forgets every session of the account: call it after ending a session or changing the
    /// account's binding has been committed.
    pub fn forget_account(&self, account_id: Uuid) {
        let mut entries = self.sessions.lock();
        self.epoch.fetch_add(1, Ordering::AcqRel);
        entries.retain(|_, (_, (account, _))| *account != account_id);
    }
}

fn state_of(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::internal("application state missing"))
}

impl FromRequest for Person {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer(req).map(str::to_owned);
        let state = state_of(req);
        Box::pin(async move {
            let state = state?;
            let token = token.ok_or(ApiError::Unauthorized)?;
            let now = state.now();
            let key = opaque::sha256(&token);
            let verified = match state.sessions.token(&key) {
                Some(v) if v.exp <= now.timestamp() => return Err(ApiError::TokenExpired),
                Some(v) => v,
                None => {
                    let claims: PersonClaims =
                        verify_access(&state, &token, APP_AUDIENCE, now.timestamp())?;
                    let v = VerifiedToken {
                        account_id: Uuid::parse_str(&claims.sub)
                            .map_err(|_| ApiError::Unauthorized)?,
                        session_id: Uuid::parse_str(&claims.sid)
                            .map_err(|_| ApiError::Unauthorized)?,
                        step_up_until: claims.step_up_until,
                        exp: claims.exp,
                    };
                    state.sessions.put_token(key, v);
                    v
                }
            };
            let (account_id, session_id) = (verified.account_id, verified.session_id);
            // Sessions can be ended before their tokens expire: check it is still live. One
            // read serves a burst of requests (`SessionCache`); the write that notes use
            // happens at most once a minute.
            let live = match state.sessions.get(session_id, account_id) {
                Some(live) => live,
                None => {
                    let ts = now.naive_utc();
                    let epoch = state.sessions.epoch();
                    let live = state
                        .db
                        .run(move |c| {
                            let live = sessions::authenticate(c, session_id, account_id, ts)?;
                            if live.as_ref().is_some_and(|l| l.stale) {
                                sessions::touch(c, session_id, ts)?;
                            }
                            Ok(live)
                        })
                        .await?
                        .ok_or(ApiError::Unauthorized)?;
                    state
                        .sessions
                        .put(epoch, session_id, account_id, live.clone());
                    live
                }
            };
            Ok(Person {
                account_id,
                session_id,
                person: live.person,
                step_up_until: verified.step_up_until,
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
    let now = state.now().timestamp();
    let claims = PersonClaims {
        iss: state.settings.token_issuer.clone(),
        aud: APP_AUDIENCE.to_owned(),
        sub: account_id.to_string(),
        sid: session_id.to_string(),
        exp: now + state.settings.access_token_ttl_secs,
        iat: now,
        jti: Uuid::now_v7().to_string(),
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn live() -> LiveSession {
        LiveSession {
            person: None,
            stale: false,
        }
    }

    #[test]
    fn session_checks_are_kept_per_account_and_forgotten_with_it() {
        let cache = SessionCache::default();
        let (session, account, other) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        cache.put(cache.epoch(), session, account, live());
        assert_eq!(cache.get(session, account), Some(live()));
        // A token naming another account never reads this session's check.
        assert_eq!(cache.get(session, other), None);
        cache.forget_account(account);
        assert_eq!(cache.get(session, account), None);
    }

    #[test]
    fn a_check_read_before_an_invalidation_is_not_kept() {
        let cache = SessionCache::default();
        let (session, account) = (Uuid::now_v7(), Uuid::now_v7());
        let epoch = cache.epoch();
        // Another request ends some session while this one reads the database.
        cache.forget_account(Uuid::now_v7());
        cache.put(epoch, session, account, live());
        assert_eq!(cache.get(session, account), None);
    }

    #[test]
    fn entries_expire_and_the_map_stays_bounded() {
        let map: Expiring<u32, u32> = Expiring::new(Duration::ZERO);
        map.put_if(1, 1, || true);
        assert_eq!(map.get(&1), None);
        let map: Expiring<u32, u32> = Expiring::new(Duration::from_secs(60));
        for i in 0..=SESSION_CACHE_MAX as u32 {
            map.put_if(i, i, || true);
        }
        assert!(map.lock().len() <= SESSION_CACHE_MAX);
        assert_eq!(
            map.get(&(SESSION_CACHE_MAX as u32)),
            Some(SESSION_CACHE_MAX as u32)
        );
        map.put_if(7, 7, || false);
        assert_eq!(map.get(&7), None);
    }
}
