//! Password hashing with argon2id at OWASP's minimum (m = 19456 KiB, t = 2, p = 1).
//!
//! One hash costs about 16 ms of one core, so every hash and verification runs on
//! tokio's blocking pool behind a semaphore sized to the cores: logins can never
//! starve other requests.

use std::fmt;
use std::sync::{Arc, OnceLock};

use argon2::password_hash::{self, PasswordHash, PasswordVerifier, SaltString};
use argon2::PasswordHasher as _;
use argon2::{Algorithm, Argon2, Params, Version};
use rand::rngs::OsRng;
use rand::RngCore;
use secrecy::zeroize::Zeroizing;
use tokio::sync::Semaphore;

/// Memory cost in KiB.
pub const M_COST: u32 = 19_456;
/// Iterations.
pub const T_COST: u32 = 2;
/// Parallelism.
pub const P_COST: u32 = 1;

const PARAMS: Params = match Params::new(M_COST, T_COST, P_COST, None) {
    Ok(params) => params,
    Err(_) => panic!("invalid argon2 parameters"),
};

/// Stored hashes asking for more than this are refused as malformed rather than computed,
/// so a corrupted row cannot make one verification allocate gigabytes.
const MAX_STORED_M_COST: u32 = 256 * 1024;
const MAX_STORED_T_COST: u32 = 16;
const MAX_STORED_P_COST: u32 = 16;

/// Why hashing or verification failed (a wrong password is `Ok(false)`, not an error).
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("stored hash is malformed")]
    Malformed,
    #[error("hashing task was cancelled")]
    Cancelled,
}

/// Bounded argon2id hasher. Cheap to clone; clones share the bound.
#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

struct Inner {
    argon2: Argon2<'static>,
    permits: Arc<Semaphore>,
    max_concurrent: usize,
    /// Hash compared against when the account does not exist.
    dummy: OnceLock<String>,
    #[cfg(test)]
    probe: probe::Probe,
}

impl fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("max_concurrent", &self.inner.max_concurrent)
            .finish_non_exhaustive()
    }
}

impl PasswordHasher {
    /// At most `max_concurrent` hashes run at once (callers pass the number of cores;
    /// 0 is treated as 1).
    pub fn new(max_concurrent: usize) -> PasswordHasher {
        let max_concurrent = max_concurrent.clamp(1, Semaphore::MAX_PERMITS);
        PasswordHasher {
            inner: Arc::new(Inner {
                argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, PARAMS),
                permits: Arc::new(Semaphore::new(max_concurrent)),
                max_concurrent,
                dummy: OnceLock::new(),
                #[cfg(test)]
                probe: probe::Probe::default(),
            }),
        }
    }

    /// Hashes `password` with a fresh random salt; returns the PHC string
    /// (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`).
    pub async fn hash(&self, password: &str) -> Result<String, PasswordError> {
        let password = Zeroizing::new(password.as_bytes().to_vec());
        self.run(move |inner| hash_with(&inner.argon2, &password))
            .await?
    }

    /// `Ok(true)` if `password` matches the PHC string `phc`, `Ok(false)` if not.
    pub async fn verify(&self, password: &str, phc: &str) -> Result<bool, PasswordError> {
        let password = Zeroizing::new(password.as_bytes().to_vec());
        let phc = phc.to_owned();
        self.run(move |inner| verify_with(&inner.argon2, &password, &phc))
            .await?
    }

    /// Does the same work as [`PasswordHasher::verify`] against a fixed hash, for logins
    /// naming an account that does not exist, so response time does not reveal existence.
    pub async fn verify_dummy(&self, password: &str) {
        let password = Zeroizing::new(password.as_bytes().to_vec());
        let _ = self
            .run(move |inner| {
                let dummy = inner.dummy.get_or_init(|| {
                    let mut random = Zeroizing::new([0u8; 32]);
                    OsRng.fill_bytes(&mut *random);
                    hash_with(&inner.argon2, &*random).unwrap_or_default()
                });
                if verify_with(&inner.argon2, &password, dummy).is_err() {
                    // Unreachable in practice; still spend the same time.
                    let _ = hash_with(&inner.argon2, &password);
                }
            })
            .await;
    }

    /// Hashes on the calling thread, outside the bound: for CLI tools without a runtime.
    /// Do not call this from async code.
    pub fn hash_blocking(&self, password: &str) -> Result<String, PasswordError> {
        hash_with(&self.inner.argon2, password.as_bytes())
    }

    /// Whether a stored hash should be replaced (after a successful login) because it
    /// was made with another algorithm or other parameters, or cannot be parsed.
    pub fn needs_rehash(&self, phc: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(phc) else {
            return true;
        };
        let Ok(params) = Params::try_from(&parsed) else {
            return true;
        };
        parsed.salt.is_none()
            || parsed.hash.is_none()
            || parsed.algorithm != Algorithm::Argon2id.ident()
            || parsed.version != Some(Version::V0x13.into())
            || params.m_cost() != M_COST
            || params.t_cost() != T_COST
            || params.p_cost() != P_COST
    }

    /// Runs `f` on the blocking pool holding one permit. The permit moves into the blocking
    /// task, so even if the caller's future is dropped the bound holds until the work ends.
    async fn run<T, F>(&self, f: F) -> Result<T, PasswordError>
    where
        F: FnOnce(&Inner) -> T + Send + 'static,
        T: Send + 'static,
    {
        let permit = Arc::clone(&self.inner.permits)
            .acquire_owned()
            .await
            .map_err(|_| PasswordError::Cancelled)?;
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            #[cfg(test)]
            let _running = inner.probe.enter();
            f(&inner)
        })
        .await
        .map_err(|_| PasswordError::Cancelled)
    }
}

fn hash_with(argon2: &Argon2<'_>, password: &[u8]) -> Result<String, PasswordError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2
        .hash_password(password, &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

fn verify_with(argon2: &Argon2<'_>, password: &[u8], phc: &str) -> Result<bool, PasswordError> {
    let parsed = PasswordHash::new(phc).map_err(|_| PasswordError::Malformed)?;
    if parsed.salt.is_none() || parsed.hash.is_none() {
        return Err(PasswordError::Malformed);
    }
    let params = Params::try_from(&parsed).map_err(|_| PasswordError::Malformed)?;
    if params.m_cost() > MAX_STORED_M_COST
        || params.t_cost() > MAX_STORED_T_COST
        || params.p_cost() > MAX_STORED_P_COST
    {
        return Err(PasswordError::Malformed);
    }
    match argon2.verify_password(password, &parsed) {
        Ok(()) => Ok(true),
        Err(password_hash::Error::Password) => Ok(false),
        Err(_) => Err(PasswordError::Malformed),
    }
}

#[cfg(test)]
mod probe {
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Counts blocking tasks inside the bound, to test it.
    #[derive(Default)]
    pub(super) struct Probe {
        pub running: AtomicUsize,
        pub max_seen: AtomicUsize,
        pub completed: AtomicUsize,
    }

    pub(super) struct Running<'a>(&'a Probe);

    impl Probe {
        pub fn enter(&self) -> Running<'_> {
            let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.max_seen.fetch_max(now, Ordering::SeqCst);
            Running(self)
        }
    }

    impl Drop for Running<'_> {
        fn drop(&mut self) {
            self.0.running.fetch_sub(1, Ordering::SeqCst);
            self.0.completed.fetch_add(1, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    const PREFIX: &str = "$argon2id$v=19$m=19456,t=2,p=1$";

    #[tokio::test]
    async fn hash_and_verify() {
        let h = PasswordHasher::new(2);
        let phc = h.hash("correct horse battery staple").await.unwrap();
        assert!(phc.starts_with(PREFIX), "{phc}");
        assert!(h
            .verify("correct horse battery staple", &phc)
            .await
            .unwrap());
        assert!(!h
            .verify("correct horse battery stapler", &phc)
            .await
            .unwrap());
        assert!(!h.verify("", &phc).await.unwrap());
        // fresh salt every time
        assert_ne!(phc, h.hash("correct horse battery staple").await.unwrap());
        assert!(!h.needs_rehash(&phc));
    }

    #[tokio::test]
    async fn unicode_and_empty_passwords() {
        let h = PasswordHasher::new(1);
        let phc = h.hash("密码🔑").await.unwrap();
        assert!(h.verify("密码🔑", &phc).await.unwrap());
        let empty = h.hash("").await.unwrap();
        assert!(h.verify("", &empty).await.unwrap());
        assert!(!h.verify(" ", &empty).await.unwrap());
    }

    #[tokio::test]
    async fn malformed_hashes() {
        let h = PasswordHasher::new(1);
        for bad in [
            "",
            "plaintext",
            "$argon2id$v=19$m=19456,t=2,p=1$",
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0",
            "$argon2id$v=19$m=4194304,t=2,p=1$c2FsdHNhbHRzYWx0$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "$argon2id$v=19$m=19456,t=1000,p=1$c2FsdHNhbHRzYWx0$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "$pbkdf2-sha256$i=1000$c2FsdHNhbHRzYWx0$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ] {
            assert!(
                matches!(h.verify("pw", bad).await, Err(PasswordError::Malformed)),
                "{bad:?}"
            );
            assert!(h.needs_rehash(bad), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn other_parameters_still_verify_but_need_rehash() {
        let h = PasswordHasher::new(1);
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8192, 1, 1, None).unwrap(),
        );
        let phc = hash_with(&weak, b"pw").unwrap();
        assert!(h.verify("pw", &phc).await.unwrap());
        assert!(h.needs_rehash(&phc));
    }

    async fn run_concurrently(h: &PasswordHasher, n: usize) {
        let tasks: Vec<_> = (0..n)
            .map(|i| {
                let h = h.clone();
                tokio::spawn(async move { h.hash(&format!("password {i}")).await })
            })
            .collect();
        for t in tasks {
            assert!(t.await.unwrap().unwrap().starts_with(PREFIX));
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrency_is_bounded() {
        let one = PasswordHasher::new(1);
        run_concurrently(&one, 4).await;
        assert_eq!(one.inner.probe.max_seen.load(Ordering::SeqCst), 1);
        assert_eq!(one.inner.probe.completed.load(Ordering::SeqCst), 4);
        assert_eq!(one.inner.permits.available_permits(), 1);

        let two = PasswordHasher::new(2);
        run_concurrently(&two, 6).await;
        assert!(two.inner.probe.max_seen.load(Ordering::SeqCst) <= 2);
        assert_eq!(two.inner.permits.available_permits(), 2);

        // zero is clamped to one
        let zero = PasswordHasher::new(0);
        assert_eq!(zero.inner.permits.available_permits(), 1);
        assert!(!zero.hash("x").await.unwrap().is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cancelled_caller_keeps_the_permit_until_the_work_ends() {
        let h = PasswordHasher::new(1);
        let timed_out = tokio::time::timeout(Duration::from_millis(1), h.hash("pw")).await;
        assert!(timed_out.is_err(), "a hash should take longer than 1 ms");
        // Either the abandoned hash is still running and holds the permit, or it has
        // already finished (the permit is released only after `completed` is counted).
        let available = h.inner.permits.available_permits();
        let completed = h.inner.probe.completed.load(Ordering::SeqCst);
        assert!(available == 0 || completed == 1, "{available} {completed}");
        // and the permit comes back
        for _ in 0..500 {
            if h.inner.permits.available_permits() == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(h.inner.permits.available_permits(), 1);
        assert_eq!(h.inner.probe.max_seen.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn verify_dummy_uses_one_fixed_hash() {
        let h = PasswordHasher::new(1);
        h.verify_dummy("whatever").await;
        let first = h.inner.dummy.get().unwrap().clone();
        assert!(first.starts_with(PREFIX), "{first}");
        h.clone().verify_dummy("something else").await;
        assert_eq!(h.inner.dummy.get().unwrap(), &first);
        assert_eq!(h.inner.probe.completed.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn hash_blocking_outside_a_runtime() {
        let h = PasswordHasher::new(1);
        let phc = h.hash_blocking("cli password").unwrap();
        assert!(phc.starts_with(PREFIX), "{phc}");
        assert!(verify_with(&h.inner.argon2, b"cli password", &phc).unwrap());
        assert!(!verify_with(&h.inner.argon2, b"other", &phc).unwrap());
    }

    #[test]
    fn hasher_is_send_sync_clone() {
        fn assert_send_sync<T: Send + Sync + Clone>() {}
        assert_send_sync::<PasswordHasher>();
    }
}
