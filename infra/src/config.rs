//! Typed settings, read from the environment once at start-up, with defaults that give a working
//! embedded demo. Secrets are not here: keys load through `shebao_security::KeyMaterial`.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;
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
    /// `SHEBAO_PUBLIC_URL`: the service's address as the outside world reaches it
    /// (`https://shebao.example.gov.cn`), for links printed in documents (a certificate's
    /// download and verification URLs). Unset: `http://<listen host>:<port>`.
    pub public_url: Option<String>,
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
    /// `SHEBAO_REFRESH_REUSE_GRACE_SECS`: for how long a spent refresh token presented again
    /// answers with the pair it was already exchanged for instead of ending the session
    /// (parallel refreshes of a phone; default 10, at most 60, 0 turns it off).
    pub refresh_reuse_grace_secs: u32,
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
    /// `SHEBAO_SMS_STANDIN`: start the built-in SMS stand-in when `SHEBAO_SMS_URL` is unset
    /// (default: on SQLite only).
    pub sms_standin: bool,
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
    /// `SHEBAO_INSTITUTIONS_REFRESH_SECS`: how often a server checks whether another instance
    /// imported institutions, for its in-memory copy of them (the "near me" search; default 5,
    /// 1–3600). Its own imports refresh the copy at once.
    pub institutions_refresh: Duration,
    /// `SHEBAO_METRICS_LISTEN`: where `/metrics` is served, apart from the API (default
    /// loopback only); `off` serves no metrics.
    pub metrics_listen: Option<String>,
    /// `SHEBAO_HSTS`: the service is reached over TLS (at a proxy), so every response carries
    /// `Strict-Transport-Security` (default false).
    pub hsts: bool,
    /// `SHEBAO_TRUSTED_PROXIES`: comma-separated CIDRs (or addresses) of the proxies whose
    /// `X-Forwarded-For` / `Forwarded` headers are believed (default none).
    pub trusted_proxies: Vec<IpNet>,
    /// The payment gateway (WeChat Pay API v3): see [`PaySettings`].
    pub pay: PaySettings,
    /// `SHEBAO_PAYOUT_COOLING_SECS`: how long after a change a new payout account takes effect
    /// (default 86400, a day).
    pub payout_cooling_secs: u64,
}

pub const DEFAULT_METRICS_LISTEN: &str = "127.0.0.1:9464";

/// A comma-separated list of CIDRs; a bare address is a network of one.
pub fn parse_cidrs(list: &str) -> Result<Vec<IpNet>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| format!("{s:?} is not an address or CIDR"))
        })
        .collect()
}

/// The payment gateway's settings (`SHEBAO_PAY_*`).
#[derive(Clone)]
pub struct PaySettings {
    /// `SHEBAO_PAY_URL`: the gateway's base URL (`https://api.mch.weixin.qq.com`). Unset: the
    /// built-in stand-in (which generates the demo's keys).
    pub url: Option<String>,
    /// `SHEBAO_PAY_MCHID`: the merchant id (default: the stand-in's demo merchant).
    pub mchid: String,
    /// `SHEBAO_PAY_APPID`: the app id (default: the stand-in's demo app).
    pub appid: String,
    /// `SHEBAO_PAY_MERCHANT_KEY_FILE`: the merchant's RSA private key, PKCS#8 PEM
    /// (default `<key dir>/pay-merchant-key.pem`, where the stand-in writes the demo's).
    pub merchant_key_file: PathBuf,
    /// `SHEBAO_PAY_MERCHANT_SERIAL`: the merchant key's serial (required with `SHEBAO_PAY_URL`).
    pub merchant_serial: Option<String>,
    /// `SHEBAO_PAY_PLATFORM_PUBLIC_KEY_FILE`: the platform's public key, SPKI PEM
    /// (default `<key dir>/pay-platform-public-key.pem`).
    pub platform_public_key_file: PathBuf,
    /// `SHEBAO_PAY_PLATFORM_SERIAL`: the platform key's serial (required with `SHEBAO_PAY_URL`).
    pub platform_serial: Option<String>,
    /// `SHEBAO_PAY_APIV3_KEY`: the 32-byte APIv3 key (required with `SHEBAO_PAY_URL`).
    pub apiv3_key: Option<SecretString>,
    /// `SHEBAO_PAY_NOTIFY_URL`: where the gateway sends notifications (default: the service's
    /// own `/v1/payments/notifications/wechat`).
    pub notify_url: Option<String>,
    /// `SHEBAO_PAY_STANDIN_LISTEN`: where the built-in payment stand-in listens.
    pub standin_listen: String,
    /// `SHEBAO_PAY_STANDIN`: start the built-in stand-in when `SHEBAO_PAY_URL` is unset
    /// (default: on SQLite only; on PostgreSQL the service refuses to start without one of the
    /// two).
    pub standin: bool,
    /// `SHEBAO_PAY_POLL_INTERVAL_SECS`: how often orders still awaiting payment are queried at
    /// the gateway (default 60).
    pub poll_interval: Duration,
}

/// The built-in payment stand-in's demo merchant.
pub const STANDIN_PAY_MCHID: &str = "1900000001";
pub const STANDIN_PAY_APPID: &str = "wxd678efh567hg6787";

impl PaySettings {
    fn from_env(
        non_empty: &dyn Fn(&str) -> Option<String>,
        key_dir: &std::path::Path,
    ) -> Result<PaySettings, ConfigError> {
        let settings = PaySettings {
            url: non_empty("SHEBAO_PAY_URL").map(|u| u.trim().trim_end_matches('/').to_owned()),
            mchid: non_empty("SHEBAO_PAY_MCHID")
                .map(|v| v.trim().to_owned())
                .unwrap_or_else(|| STANDIN_PAY_MCHID.to_owned()),
            appid: non_empty("SHEBAO_PAY_APPID")
                .map(|v| v.trim().to_owned())
                .unwrap_or_else(|| STANDIN_PAY_APPID.to_owned()),
            merchant_key_file: non_empty("SHEBAO_PAY_MERCHANT_KEY_FILE")
                .map(PathBuf::from)
                .unwrap_or_else(|| key_dir.join("pay-merchant-key.pem")),
            merchant_serial: non_empty("SHEBAO_PAY_MERCHANT_SERIAL").map(|v| v.trim().to_owned()),
            platform_public_key_file: non_empty("SHEBAO_PAY_PLATFORM_PUBLIC_KEY_FILE")
                .map(PathBuf::from)
                .unwrap_or_else(|| key_dir.join("pay-platform-public-key.pem")),
            platform_serial: non_empty("SHEBAO_PAY_PLATFORM_SERIAL").map(|v| v.trim().to_owned()),
            apiv3_key: non_empty("SHEBAO_PAY_APIV3_KEY").map(SecretString::from),
            notify_url: non_empty("SHEBAO_PAY_NOTIFY_URL").map(|v| v.trim().to_owned()),
            standin_listen: non_empty("SHEBAO_PAY_STANDIN_LISTEN")
                .unwrap_or_else(|| "127.0.0.1:8082".to_owned()),
            standin: false,
            poll_interval: Duration::from_secs(60),
        };
        let is_http = |u: &str| u.starts_with("https://") || u.starts_with("http://");
        if settings.url.as_deref().is_some_and(|u| !is_http(u)) {
            return Err(ConfigError {
                name: "SHEBAO_PAY_URL",
                reason: "must be an http(s) URL".into(),
            });
        }
        if settings.notify_url.as_deref().is_some_and(|u| !is_http(u)) {
            return Err(ConfigError {
                name: "SHEBAO_PAY_NOTIFY_URL",
                reason: "must be an http(s) URL".into(),
            });
        }
        if let Some(key) = &settings.apiv3_key {
            if secrecy::ExposeSecret::expose_secret(key).len() != 32 {
                return Err(ConfigError {
                    name: "SHEBAO_PAY_APIV3_KEY",
                    reason: "must be 32 bytes".into(),
                });
            }
        }
        if settings.url.is_some() {
            let required = [
                (
                    "SHEBAO_PAY_MERCHANT_SERIAL",
                    settings.merchant_serial.is_some(),
                ),
                (
                    "SHEBAO_PAY_PLATFORM_SERIAL",
                    settings.platform_serial.is_some(),
                ),
                ("SHEBAO_PAY_APIV3_KEY", settings.apiv3_key.is_some()),
            ];
            if let Some((name, _)) = required.into_iter().find(|(_, present)| !present) {
                return Err(ConfigError {
                    name,
                    reason: "required when SHEBAO_PAY_URL is set".into(),
                });
            }
        }
        Ok(settings)
    }
}

impl fmt::Debug for PaySettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PaySettings")
            .field("url", &self.url.as_deref().unwrap_or("(built-in stand-in)"))
            .field("mchid", &self.mchid)
            .field("appid", &self.appid)
            .field("merchant_key_file", &self.merchant_key_file)
            .field("merchant_serial", &self.merchant_serial)
            .field("platform_public_key_file", &self.platform_public_key_file)
            .field("platform_serial", &self.platform_serial)
            .field(
                "apiv3_key",
                &if self.apiv3_key.is_some() {
                    "***"
                } else {
                    "(unset)"
                },
            )
            .field("notify_url", &self.notify_url)
            .field("standin_listen", &self.standin_listen)
            .finish()
    }
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
    /// Why the service must not start with these providers, if it must not: stand-ins are for
    /// the embedded demo and for tests, so on PostgreSQL (production) a missing SMS provider or
    /// payment gateway is a mistake to report, not something to paper over. `payments`: whether
    /// the process takes payments (`serve`; a `worker` only sends SMS).
    pub fn missing_provider(&self, payments: bool) -> Option<String> {
        if self.sms_url.is_none() && !self.sms_standin {
            return Some("no SMS provider: set SHEBAO_SMS_URL (and SHEBAO_SMS_AUTH_TOKEN), or SHEBAO_SMS_STANDIN=true to use the built-in stand-in".into());
        }
        if payments && self.pay.url.is_none() && !self.pay.standin {
            return Some("no payment gateway: set SHEBAO_PAY_URL (with its keys), or SHEBAO_PAY_STANDIN=true to use the built-in stand-in".into());
        }
        None
    }

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
        let mut pay = PaySettings::from_env(&non_empty, &key_dir)?;
        pay.standin = parse_bool(get, "SHEBAO_PAY_STANDIN", embedded)?;
        pay.poll_interval =
            Duration::from_secs(parse_num(get, "SHEBAO_PAY_POLL_INTERVAL_SECS", 60u64)?.max(1));
        let sms_standin = parse_bool(get, "SHEBAO_SMS_STANDIN", embedded)?;
        let settings = Settings {
            listen: non_empty("SHEBAO_LISTEN").unwrap_or_else(|| DEFAULT_LISTEN.to_owned()),
            public_url: non_empty("SHEBAO_PUBLIC_URL")
                .map(|u| u.trim().trim_end_matches('/').to_owned()),
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
            refresh_reuse_grace_secs: parse_num(get, "SHEBAO_REFRESH_REUSE_GRACE_SECS", 10u32)?,
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
            sms_standin,
            jobs_enabled: parse_bool(get, "SHEBAO_JOBS", true)?,
            job_lease: Duration::from_secs(parse_num(get, "SHEBAO_JOB_LEASE_SECS", 60u64)?),
            job_poll: Duration::from_millis(parse_num(get, "SHEBAO_JOB_POLL_MS", 1000u64)?),
            job_concurrency: parse_num(get, "SHEBAO_JOB_CONCURRENCY", 4usize)?,
            institutions_refresh: Duration::from_secs(parse_num(
                get,
                "SHEBAO_INSTITUTIONS_REFRESH_SECS",
                5u64,
            )?),
            metrics_listen: match non_empty("SHEBAO_METRICS_LISTEN") {
                Some(v) if v.trim() == "off" => None,
                Some(v) => Some(v.trim().to_owned()),
                None => Some(DEFAULT_METRICS_LISTEN.to_owned()),
            },
            hsts: parse_bool(get, "SHEBAO_HSTS", false)?,
            trusted_proxies: parse_cidrs(&get("SHEBAO_TRUSTED_PROXIES").unwrap_or_default())
                .map_err(|reason| ConfigError {
                    name: "SHEBAO_TRUSTED_PROXIES",
                    reason,
                })?,
            pay,
            payout_cooling_secs: parse_num(
                get,
                "SHEBAO_PAYOUT_COOLING_SECS",
                shebao_domain::payouts::DEFAULT_COOLING_SECS,
            )?,
        };
        if settings.sms_url.is_some() && non_empty("SHEBAO_SMS_AUTH_TOKEN").is_none() {
            return Err(ConfigError {
                name: "SHEBAO_SMS_AUTH_TOKEN",
                reason: "required when SHEBAO_SMS_URL is set".into(),
            });
        }
        if let Some(url) = &settings.public_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(ConfigError {
                    name: "SHEBAO_PUBLIC_URL",
                    reason: format!("expected an http:// or https:// URL, got {url:?}"),
                });
            }
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
        if !(1..=3600).contains(&settings.institutions_refresh.as_secs()) {
            return Err(ConfigError {
                name: "SHEBAO_INSTITUTIONS_REFRESH_SECS",
                reason: "must be between 1 and 3600".into(),
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
        if settings.refresh_reuse_grace_secs > 60 {
            return Err(ConfigError {
                name: "SHEBAO_REFRESH_REUSE_GRACE_SECS",
                reason: "must be between 0 and 60".into(),
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
            .field(
                "public_url",
                &self
                    .public_url
                    .as_deref()
                    .unwrap_or("(from the listen address)"),
            )
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
            .field("refresh_reuse_grace_secs", &self.refresh_reuse_grace_secs)
            .field("body_limit_bytes", &self.body_limit_bytes)
            .field("workers", &self.workers)
            .field("shutdown_timeout_secs", &self.shutdown_timeout_secs)
            .field("payout_cooling_secs", &self.payout_cooling_secs)
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
            .field("institutions_refresh", &self.institutions_refresh)
            .field(
                "metrics_listen",
                &self.metrics_listen.as_deref().unwrap_or("off"),
            )
            .field("hsts", &self.hsts)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("pay", &self.pay)
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
    fn the_public_url_is_an_http_url_without_its_last_slash() {
        assert_eq!(load(&[]).unwrap().public_url, None);
        let s = load(&[("SHEBAO_PUBLIC_URL", "https://shebao.example.cn/ ")]).unwrap();
        assert_eq!(s.public_url.as_deref(), Some("https://shebao.example.cn"));
        let e = load(&[("SHEBAO_PUBLIC_URL", "shebao.example.cn")])
            .err()
            .unwrap();
        assert_eq!(e.name, "SHEBAO_PUBLIC_URL");
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
    fn the_institutions_copy_refreshes_every_five_seconds_unless_told() {
        assert_eq!(
            load(&[]).unwrap().institutions_refresh,
            Duration::from_secs(5)
        );
        let s = load(&[("SHEBAO_INSTITUTIONS_REFRESH_SECS", "60")]).unwrap();
        assert_eq!(s.institutions_refresh, Duration::from_secs(60));
        for bad in ["0", "3601", "soon"] {
            let e = load(&[("SHEBAO_INSTITUTIONS_REFRESH_SECS", bad)]).unwrap_err();
            assert_eq!(e.name, "SHEBAO_INSTITUTIONS_REFRESH_SECS");
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
    fn the_refresh_reuse_grace_defaults_to_ten_seconds_and_stays_short() {
        assert_eq!(load(&[]).unwrap().refresh_reuse_grace_secs, 10);
        let off = load(&[("SHEBAO_REFRESH_REUSE_GRACE_SECS", "0")]).unwrap();
        assert_eq!(off.refresh_reuse_grace_secs, 0);
        for bad in ["61", "-1", "ten"] {
            assert_eq!(
                load(&[("SHEBAO_REFRESH_REUSE_GRACE_SECS", bad)])
                    .unwrap_err()
                    .name,
                "SHEBAO_REFRESH_REUSE_GRACE_SECS"
            );
        }
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
    fn metrics_proxies_and_hsts() {
        let s = load(&[]).unwrap();
        assert_eq!(s.metrics_listen.as_deref(), Some("127.0.0.1:9464"));
        assert!(!s.hsts && s.trusted_proxies.is_empty());
        let s = load(&[
            ("SHEBAO_METRICS_LISTEN", "off"),
            ("SHEBAO_HSTS", "true"),
            ("SHEBAO_TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.7,fd00::/8"),
        ])
        .unwrap();
        assert_eq!(s.metrics_listen, None);
        assert!(s.hsts);
        assert_eq!(
            s.trusted_proxies,
            vec![
                "10.0.0.0/8".parse::<IpNet>().unwrap(),
                "192.168.1.7/32".parse().unwrap(),
                "fd00::/8".parse().unwrap()
            ]
        );
        assert_eq!(
            load(&[("SHEBAO_TRUSTED_PROXIES", "10.0.0.0/33")])
                .unwrap_err()
                .name,
            "SHEBAO_TRUSTED_PROXIES"
        );
    }

    #[test]
    fn payment_gateway_settings() {
        let s = load(&[("SHEBAO_KEY_DIR", "/k")]).unwrap();
        assert_eq!(s.pay.url, None);
        assert_eq!(s.pay.mchid, STANDIN_PAY_MCHID);
        assert_eq!(s.pay.standin_listen, "127.0.0.1:8082");
        assert_eq!(
            s.pay.merchant_key_file,
            PathBuf::from("/k/pay-merchant-key.pem")
        );
        let key = "0123456789abcdef0123456789abcdef";
        let real = [
            ("SHEBAO_PAY_URL", "https://api.mch.weixin.qq.com/"),
            ("SHEBAO_PAY_MCHID", "1230000109"),
            ("SHEBAO_PAY_MERCHANT_SERIAL", "444F4864EA9B34415"),
            ("SHEBAO_PAY_PLATFORM_SERIAL", "PUB_KEY_ID_01142321"),
            ("SHEBAO_PAY_APIV3_KEY", key),
            (
                "SHEBAO_PAY_NOTIFY_URL",
                "https://shebao.example/v1/payments/notifications/wechat",
            ),
        ];
        let s = load(&real).unwrap();
        assert_eq!(s.pay.url.as_deref(), Some("https://api.mch.weixin.qq.com"));
        assert_eq!(s.pay.mchid, "1230000109");
        let shown = format!("{s:?}");
        assert!(!shown.contains(key), "{shown}");
        assert!(shown.contains("444F4864EA9B34415"));
        // Each secret setting is required with a real gateway.
        for missing in [
            "SHEBAO_PAY_MERCHANT_SERIAL",
            "SHEBAO_PAY_PLATFORM_SERIAL",
            "SHEBAO_PAY_APIV3_KEY",
        ] {
            let vars: Vec<_> = real
                .iter()
                .copied()
                .filter(|(k, _)| *k != missing)
                .collect();
            assert_eq!(load(&vars).unwrap_err().name, missing);
        }
        assert_eq!(
            load(&[("SHEBAO_PAY_APIV3_KEY", "short")]).unwrap_err().name,
            "SHEBAO_PAY_APIV3_KEY"
        );
        assert_eq!(
            load(&[("SHEBAO_PAY_URL", "api.mch.weixin.qq.com")])
                .unwrap_err()
                .name,
            "SHEBAO_PAY_URL"
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
