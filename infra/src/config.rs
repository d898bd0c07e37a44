//! Typed settings, read from the environment once at start-up, with defaults that give a working
//! embedded demo. Secrets are not here: keys load through `shebao_security::KeyMaterial`.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

use crate::db::{Backend, PoolOptions};

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/shebao.db";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

#[derive(Clone)]
pub struct Settings {
    /// `SHEBAO_LISTEN`: address and port to serve on.
    pub listen: String,
    /// `DATABASE_URL`: `sqlite://PATH` (default) or `postgres://…`.
    pub database_url: String,
    /// `SHEBAO_LOG`: a tracing filter (`info`, `shebao=debug,actix_web=info`).
    pub log: String,
    /// `SHEBAO_LOG_FORMAT`: `json` (default) or `pretty`.
    pub log_format: LogFormat,
    /// `SHEBAO_DATA_DIR`: where the embedded default keeps its files.
    pub data_dir: PathBuf,
    /// `SHEBAO_KEY_DIR`: where key files are read from (default `<data dir>/keys`).
    pub key_dir: PathBuf,
    /// `SHEBAO_GENERATE_KEYS`: create missing keys under the key dir (default: on for SQLite,
    /// off for PostgreSQL, where every instance must share the same keys).
    pub generate_keys: bool,
    /// `SHEBAO_DEMO_SEED`: load the demo data on start when the database is empty
    /// (default: on for SQLite, off for PostgreSQL).
    pub demo_seed: bool,
    /// `SHEBAO_DB_POOL_SIZE`: connections in the pool.
    pub db_pool_size: u32,
    /// `SHEBAO_DB_ACQUIRE_TIMEOUT_MS`: how long a request waits for a connection before 503.
    pub db_acquire_timeout: Duration,
    /// `SHEBAO_TOKEN_ISSUER`: the `iss` of every token.
    pub token_issuer: String,
    /// `SHEBAO_ACCESS_TOKEN_TTL_SECS`: lifetime of access tokens (default 900).
    pub access_token_ttl_secs: i64,
    /// `SHEBAO_BODY_LIMIT_BYTES`: largest JSON body accepted (default 256 KiB).
    pub body_limit_bytes: usize,
    /// `SHEBAO_WORKERS`: HTTP worker threads (default: the number of cores).
    pub workers: usize,
    /// `SHEBAO_SHUTDOWN_TIMEOUT_SECS`: grace period for requests in flight on SIGTERM.
    pub shutdown_timeout_secs: u64,
    /// `SHEBAO_SMS_URL`: base URL of a Twilio-compatible SMS provider. Unset: the built-in
    /// stand-in is started and used.
    pub sms_url: Option<String>,
    /// `SHEBAO_SMS_ACCOUNT_SID`.
    pub sms_account_sid: String,
    /// `SHEBAO_SMS_AUTH_TOKEN` (required with `SHEBAO_SMS_URL`).
    pub sms_auth_token: SecretString,
    /// `SHEBAO_SMS_FROM`: the sender number or name.
    pub sms_from: String,
    /// `SHEBAO_SMS_STANDIN_LISTEN`: where the built-in SMS stand-in listens.
    pub sms_standin_listen: String,
    /// `SHEBAO_JOBS`: `on` (default) runs the job runner inside `shebao serve` too; `off`
    /// leaves the jobs to `shebao worker` processes.
    pub jobs_enabled: bool,
    /// `SHEBAO_JOB_LEASE_SECS`: how long a claimed job is held before another worker may take
    /// it (renewed every third of it while the job runs; default 60).
    pub job_lease: Duration,
    /// `SHEBAO_JOB_POLL_MS`: how often an idle runner looks for due jobs and schedule slots
    /// (default 1000).
    pub job_poll: Duration,
    /// `SHEBAO_JOB_CONCURRENCY`: jobs one runner runs at the same time (default 4).
    pub job_concurrency: usize,
}

/// Credentials of the built-in SMS stand-in (it only ever runs on this machine).
pub const STANDIN_SMS_SID: &str = "ACshebaostandin";
pub const STANDIN_SMS_TOKEN: &str = "standin-auth-token";

#[derive(Debug, thiserror::Error)]
#[error("invalid setting {name}: {reason}")]
pub struct ConfigError {
    pub name: &'static str,
    pub reason: String,
}

fn parse_num<T: std::str::FromStr>(
    get: &dyn Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
) -> Result<T, ConfigError>
where
    T::Err: fmt::Display,
{
    match get(name) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|e: T::Err| ConfigError {
            name,
            reason: e.to_string(),
        }),
    }
}

fn parse_bool(
    get: &dyn Fn(&str) -> Option<String>,
    name: &'static str,
    default: bool,
) -> Result<bool, ConfigError> {
    match get(name).as_deref().map(str::trim) {
        None | Some("") => Ok(default),
        Some("1" | "true" | "yes" | "on") => Ok(true),
        Some("0" | "false" | "no" | "off") => Ok(false),
        Some(other) => Err(ConfigError {
            name,
            reason: format!("expected true or false, got {other:?}"),
        }),
    }
}

impl Settings {
    /// Reads the settings; `get` is `std::env::var(..).ok()` in the binary and a map in tests.
    pub fn from_env(get: &dyn Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
        let non_empty = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let database_url =
            non_empty("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        let backend = Backend::of(&database_url);
        let embedded = backend == Backend::Sqlite;
        let data_dir =
            PathBuf::from(non_empty("SHEBAO_DATA_DIR").unwrap_or_else(|| "data".to_owned()));
        let key_dir = non_empty("SHEBAO_KEY_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| data_dir.join("keys"));
        let log_format = match non_empty("SHEBAO_LOG_FORMAT").as_deref() {
            None | Some("json") => LogFormat::Json,
            Some("pretty") => LogFormat::Pretty,
            Some(other) => {
                return Err(ConfigError {
                    name: "SHEBAO_LOG_FORMAT",
                    reason: format!("expected json or pretty, got {other:?}"),
                })
            }
        };
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        let settings = Settings {
            listen: non_empty("SHEBAO_LISTEN").unwrap_or_else(|| DEFAULT_LISTEN.to_owned()),
            database_url,
            log: non_empty("SHEBAO_LOG").unwrap_or_else(|| "info".to_owned()),
            log_format,
            data_dir,
            key_dir,
            generate_keys: parse_bool(get, "SHEBAO_GENERATE_KEYS", embedded)?,
            demo_seed: parse_bool(get, "SHEBAO_DEMO_SEED", embedded)?,
            db_pool_size: parse_num(get, "SHEBAO_DB_POOL_SIZE", if embedded { 8 } else { 16 })?,
            db_acquire_timeout: Duration::from_millis(parse_num(
                get,
                "SHEBAO_DB_ACQUIRE_TIMEOUT_MS",
                3000u64,
            )?),
            token_issuer: non_empty("SHEBAO_TOKEN_ISSUER").unwrap_or_else(|| "shebao".to_owned()),
            access_token_ttl_secs: parse_num(get, "SHEBAO_ACCESS_TOKEN_TTL_SECS", 900i64)?,
            body_limit_bytes: parse_num(get, "SHEBAO_BODY_LIMIT_BYTES", 256 * 1024usize)?,
            workers: parse_num(get, "SHEBAO_WORKERS", cores)?,
            shutdown_timeout_secs: parse_num(get, "SHEBAO_SHUTDOWN_TIMEOUT_SECS", 30u64)?,
            sms_url: non_empty("SHEBAO_SMS_URL").map(|u| u.trim_end_matches('/').to_owned()),
            sms_account_sid: non_empty("SHEBAO_SMS_ACCOUNT_SID")
                .unwrap_or_else(|| STANDIN_SMS_SID.to_owned()),
            sms_auth_token: SecretString::from(
                non_empty("SHEBAO_SMS_AUTH_TOKEN").unwrap_or_else(|| STANDIN_SMS_TOKEN.to_owned()),
            ),
            sms_from: non_empty("SHEBAO_SMS_FROM").unwrap_or_else(|| "SHEBAO".to_owned()),
            sms_standin_listen: non_empty("SHEBAO_SMS_STANDIN_LISTEN")
                .unwrap_or_else(|| "127.0.0.1:8081".to_owned()),
            jobs_enabled: parse_bool(get, "SHEBAO_JOBS", true)?,
            job_lease: Duration::from_secs(parse_num(get, "SHEBAO_JOB_LEASE_SECS", 60u64)?),
            job_poll: Duration::from_millis(parse_num(get, "SHEBAO_JOB_POLL_MS", 1000u64)?),
            job_concurrency: parse_num(get, "SHEBAO_JOB_CONCURRENCY", 4usize)?,
        };
        if settings.sms_url.is_some() && non_empty("SHEBAO_SMS_AUTH_TOKEN").is_none() {
            return Err(ConfigError {
                name: "SHEBAO_SMS_AUTH_TOKEN",
                reason: "required when SHEBAO_SMS_URL is set".into(),
            });
        }
        if settings.db_pool_size == 0 {
            return Err(ConfigError {
                name: "SHEBAO_DB_POOL_SIZE",
                reason: "must be at least 1".into(),
            });
        }
        if settings.workers == 0 {
            return Err(ConfigError {
                name: "SHEBAO_WORKERS",
                reason: "must be at least 1".into(),
            });
        }
        if !(1..=3600).contains(&settings.job_lease.as_secs()) {
            return Err(ConfigError {
                name: "SHEBAO_JOB_LEASE_SECS",
                reason: "must be between 1 and 3600".into(),
            });
        }
        if !(10..=60_000).contains(&settings.job_poll.as_millis()) {
            return Err(ConfigError {
                name: "SHEBAO_JOB_POLL_MS",
                reason: "must be between 10 and 60000".into(),
            });
        }
        if !(1..=256).contains(&settings.job_concurrency) {
            return Err(ConfigError {
                name: "SHEBAO_JOB_CONCURRENCY",
                reason: "must be between 1 and 256".into(),
            });
        }
        if !(60..=3600).contains(&settings.access_token_ttl_secs) {
            return Err(ConfigError {
                name: "SHEBAO_ACCESS_TOKEN_TTL_SECS",
                reason: "must be between 60 and 3600".into(),
            });
        }
        Ok(settings)
    }

    pub fn backend(&self) -> Backend {
        Backend::of(&self.database_url)
    }

    pub fn pool_options(&self) -> PoolOptions {
        PoolOptions {
            max_size: self.db_pool_size,
            acquire_timeout: self.db_acquire_timeout,
        }
    }
}

/// A database URL with any password replaced, for logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            if userinfo.contains(':') {
                format!("{scheme}://{user}:***@{host}")
            } else {
                format!("{scheme}://{user}@{host}")
            }
        }
        None => url.to_owned(),
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("listen", &self.listen)
            .field("database_url", &redact_url(&self.database_url))
            .field("log", &self.log)
            .field("log_format", &self.log_format)
            .field("data_dir", &self.data_dir)
            .field("key_dir", &self.key_dir)
            .field("generate_keys", &self.generate_keys)
            .field("demo_seed", &self.demo_seed)
            .field("db_pool_size", &self.db_pool_size)
            .field("db_acquire_timeout", &self.db_acquire_timeout)
            .field("token_issuer", &self.token_issuer)
            .field("access_token_ttl_secs", &self.access_token_ttl_secs)
            .field("body_limit_bytes", &self.body_limit_bytes)
            .field("workers", &self.workers)
            .field("shutdown_timeout_secs", &self.shutdown_timeout_secs)
            .field(
                "sms_url",
                &self.sms_url.as_deref().unwrap_or("(built-in stand-in)"),
            )
            .field("sms_account_sid", &self.sms_account_sid)
            .field("sms_auth_token", &"***")
            .field("sms_from", &self.sms_from)
            .field("sms_standin_listen", &self.sms_standin_listen)
            .field("jobs_enabled", &self.jobs_enabled)
            .field("job_lease", &self.job_lease)
            .field("job_poll", &self.job_poll)
            .field("job_concurrency", &self.job_concurrency)
            .finish()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_env(&move |k| map.get(k).cloned())
    }

    #[test]
    fn defaults_give_the_embedded_demo() {
        let s = load(&[]).unwrap();
        assert_eq!(s.listen, "127.0.0.1:8080");
        assert_eq!(s.database_url, "sqlite://data/shebao.db");
        assert!(s.demo_seed && s.generate_keys);
        assert_eq!(s.key_dir, PathBuf::from("data/keys"));
        assert!(s.jobs_enabled);
        assert_eq!(s.job_lease, Duration::from_secs(60));
    }

    #[test]
    fn job_settings() {
        let s = load(&[
            ("SHEBAO_JOBS", "off"),
            ("SHEBAO_JOB_LEASE_SECS", "5"),
            ("SHEBAO_JOB_POLL_MS", "200"),
            ("SHEBAO_JOB_CONCURRENCY", "8"),
        ])
        .unwrap();
        assert!(!s.jobs_enabled);
        assert_eq!(s.job_lease, Duration::from_secs(5));
        assert_eq!(s.job_poll, Duration::from_millis(200));
        assert_eq!(s.job_concurrency, 8);
        for (name, bad) in [
            ("SHEBAO_JOBS", "sometimes"),
            ("SHEBAO_JOB_LEASE_SECS", "0"),
            ("SHEBAO_JOB_POLL_MS", "1"),
            ("SHEBAO_JOB_CONCURRENCY", "0"),
        ] {
            assert_eq!(load(&[(name, bad)]).unwrap_err().name, name);
        }
    }

    #[test]
    fn postgres_turns_off_generated_keys_and_demo_data() {
        let s = load(&[("DATABASE_URL", "postgres://u:secret@db/shebao")]).unwrap();
        assert!(!s.demo_seed && !s.generate_keys);
        assert!(!format!("{s:?}").contains("secret"));
        let s = load(&[
            ("SHEBAO_SMS_URL", "https://sms.example/"),
            ("SHEBAO_SMS_AUTH_TOKEN", "tok-123"),
        ])
        .unwrap();
        assert_eq!(s.sms_url.as_deref(), Some("https://sms.example"));
        assert!(!format!("{s:?}").contains("tok-123"));
        assert_eq!(
            load(&[("SHEBAO_SMS_URL", "https://sms.example")])
                .unwrap_err()
                .name,
            "SHEBAO_SMS_AUTH_TOKEN"
        );
    }

    #[test]
    fn bad_values_name_the_variable() {
        assert_eq!(
            load(&[("SHEBAO_DB_POOL_SIZE", "many")]).unwrap_err().name,
            "SHEBAO_DB_POOL_SIZE"
        );
        assert_eq!(
            load(&[("SHEBAO_DEMO_SEED", "maybe")]).unwrap_err().name,
            "SHEBAO_DEMO_SEED"
        );
        assert_eq!(
            load(&[("SHEBAO_ACCESS_TOKEN_TTL_SECS", "5")])
                .unwrap_err()
                .name,
            "SHEBAO_ACCESS_TOKEN_TTL_SECS"
        );
    }

    #[test]
    fn redacts_passwords_only() {
        assert_eq!(
            redact_url("postgres://u:pw@h:5432/d"),
            "postgres://u:***@h:5432/d"
        );
        assert_eq!(redact_url("postgres://u@h/d"), "postgres://u@h/d");
        assert_eq!(redact_url("sqlite://data/x.db"), "sqlite://data/x.db");
    }
}
