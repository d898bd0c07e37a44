//! Recent checks of person access tokens, shared by every request: which tokens were verified
//! (so a signature is checked once a minute, not on every request) and which sessions were
//! found live (so a burst of requests reads the session once). The `Person` extractor
//! (`auth::person`) fills it; ending a session or changing a binding clears it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use shebao_infra::identity::sessions::LiveSession;
use uuid::Uuid;

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
pub struct VerifiedToken {
    /// The account the token acts for (for a proxy token, the principal's).
    pub account_id: Uuid,
    /// The session the token belongs to (for a proxy token, the relative's own session).
    pub session_id: Uuid,
    pub step_up_until: Option<i64>,
    pub exp: i64,
    /// Set for a token acting under a proxy grant (亲情代办).
    pub proxy: Option<ProxyRef>,
}

/// What a proxy token says about the grant it acts under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyRef {
    pub grant_id: Uuid,
    /// The relative's account (`act.sub`).
    pub holder_account_id: Uuid,
    pub scopes: shebao_domain::proxies::ScopeSet,
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
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    pub(crate) fn get(&self, session_id: Uuid, account_id: Uuid) -> Option<LiveSession> {
        self.sessions
            .get(&session_id)
            .filter(|(account, _)| *account == account_id)
            .map(|(_, live)| live)
    }

    pub(crate) fn put(&self, epoch: u64, session_id: Uuid, account_id: Uuid, live: LiveSession) {
        self.sessions
            .put_if(session_id, (account_id, live), || self.epoch() == epoch);
    }

    pub(crate) fn token(&self, key: &[u8; 32]) -> Option<VerifiedToken> {
        self.tokens.get(key)
    }

    pub(crate) fn put_token(&self, key: [u8; 32], verified: VerifiedToken) {
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
