//! Building the application: settings in, a running server out. The binary and the end-to-end
//! tests go through the same `Application::build`.

use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{middleware::from_fn, web, App, HttpResponse, HttpServer};
use anyhow::Context;
use secrecy::ExposeSecret;
use shebao_domain::ports::{Clock, SmsSender};
use shebao_infra::config::{redact_url, Settings};
use shebao_infra::db::{run_migrations, Db, StoreError};
use shebao_infra::payments::service::Payments;
use shebao_infra::payments::{WechatPayConfig, WechatPayGateway};
use shebao_infra::seed;
use shebao_infra::sms::{TwilioConfig, TwilioSms};
use shebao_security::{KeyMaterial, PasswordHasher, PiiVault, TokenSigner};
use shebao_standins::pay::{
    PayKeys, PayStandIn, PayStandInConfig, RunningPayStandIn, ServiceSettings,
};
use shebao_standins::sms::{RunningStandIn, SmsStandIn};
use utoipa::OpenApi;

use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::openapi_doc::{self, ApiDoc};
use crate::routing::RouteTable;
use crate::state::AppState;
use crate::{docs, middleware, routes};

pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
    sms_standin: Option<RunningStandIn>,
    pay_standin: Option<RunningPayStandIn>,
    poller: Option<tokio::task::JoinHandle<()>>,
    /// Keeps the copy of the institutions current with imports other instances ran.
    institutions: tokio::task::JoinHandle<()>,
    jobs: Option<crate::jobs::RunningJobs>,
    /// The metrics listener's port and server.
    metrics: Option<(u16, Server)>,
}

/// The SMS provider: the one `SHEBAO_SMS_URL` names, or the built-in stand-in started here.
fn sms_sender(settings: &Settings) -> anyhow::Result<(Arc<dyn SmsSender>, Option<RunningStandIn>)> {
    let (url, standin) = match &settings.sms_url {
        Some(url) => (url.clone(), None),
        None => {
            let standin = SmsStandIn::start(
                &settings.sms_standin_listen,
                &settings.sms_account_sid,
                settings.sms_auth_token.expose_secret(),
            )
            .with_context(|| {
                format!(
                    "starting the SMS stand-in on {}",
                    settings.sms_standin_listen
                )
            })?;
            tracing::info!(url = %standin.base_url, "SMS stand-in started; read sent codes at GET {}/messages?to=PHONE", standin.base_url);
            (standin.base_url.clone(), Some(standin))
        }
    };
    Ok((Arc::new(twilio(settings, url)?), standin))
}

/// The SMS provider's client (Twilio-compatible) at `url`, with the configured account.
pub(crate) fn twilio(settings: &Settings, url: String) -> anyhow::Result<TwilioSms> {
    let cfg = TwilioConfig::new(
        url,
        settings.sms_account_sid.clone(),
        settings.sms_auth_token.clone(),
        settings.sms_from.clone(),
    );
    TwilioSms::new(cfg).map_err(|e| anyhow::anyhow!("SMS client: {e}"))
}

/// The demo's payment keys, generated once per process (RSA key generation takes a moment,
/// and tests start many servers in one process).
pub fn demo_pay_keys() -> anyhow::Result<PayKeys> {
    static KEYS: std::sync::OnceLock<PayKeys> = std::sync::OnceLock::new();
    if let Some(k) = KEYS.get() {
        return Ok(k.clone());
    }
    let keys = PayKeys::generate().map_err(|e| anyhow::anyhow!("generating payment keys: {e}"))?;
    Ok(KEYS.get_or_init(|| keys).clone())
}

/// The payment gateway: the one `SHEBAO_PAY_URL` names (keys from the files configured), or
/// the built-in stand-in started here with freshly generated demo keys.
fn payment_gateway(
    settings: &Settings,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<(Arc<WechatPayGateway>, Option<RunningPayStandIn>)> {
    let pay = &settings.pay;
    let (config, standin) = match &pay.url {
        Some(url) => {
            let missing = |name| anyhow::anyhow!("{name} is required with SHEBAO_PAY_URL");
            let config = WechatPayConfig::from_files(
                url,
                &pay.mchid,
                &pay.appid,
                &pay.merchant_key_file,
                pay.merchant_serial
                    .as_deref()
                    .ok_or_else(|| missing("SHEBAO_PAY_MERCHANT_SERIAL"))?,
                &pay.platform_public_key_file,
                pay.platform_serial
                    .as_deref()
                    .ok_or_else(|| missing("SHEBAO_PAY_PLATFORM_SERIAL"))?,
                pay.apiv3_key
                    .clone()
                    .ok_or_else(|| missing("SHEBAO_PAY_APIV3_KEY"))?,
                clock,
            )
            .map_err(|e| anyhow::anyhow!("payment gateway configuration: {e}"))?;
            (config, None)
        }
        None => {
            let keys = demo_pay_keys()?;
            let mut standin_config = PayStandInConfig::demo_with(keys.clone());
            standin_config.mchid = pay.mchid.clone();
            standin_config.appid = pay.appid.clone();
            let files = keys
                .write_merchant_files(&settings.key_dir)
                .with_context(|| {
                    format!(
                        "writing the demo payment keys to {}",
                        settings.key_dir.display()
                    )
                })?;
            let service_settings = ServiceSettings::of(&standin_config, &files);
            let standin =
                PayStandIn::start(&pay.standin_listen, standin_config).with_context(|| {
                    format!("starting the payment stand-in on {}", pay.standin_listen)
                })?;
            // `shebao reconcile` (another process) reaches this stand-in through this file.
            write_private(
                &settings.key_dir.join(PAY_STANDIN_ENV),
                &service_settings.env_lines(&standin.base_url),
            )
            .with_context(|| format!("writing {PAY_STANDIN_ENV}"))?;
            tracing::info!(url = %standin.base_url, "payment gateway stand-in started; pay an order with POST {}/control/orders/OUT_TRADE_NO/pay", standin.base_url);
            let config =
                standin_pay_config(&standin.base_url, &pay.mchid, &pay.appid, &keys, clock)?;
            (config, Some(standin))
        }
    };
    let gateway =
        WechatPayGateway::new(config).map_err(|e| anyhow::anyhow!("payment client: {e}"))?;
    Ok((Arc::new(gateway), standin))
}

/// The gateway client's settings for a stand-in at `base_url` holding `keys` (the demo's, a
/// test's or a benchmark's).
pub fn standin_pay_config(
    base_url: &str,
    mchid: &str,
    appid: &str,
    keys: &PayKeys,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<WechatPayConfig> {
    WechatPayConfig::new(
        base_url,
        mchid,
        appid,
        shebao_infra::payments::wechat_pay::WechatPayKeys {
            merchant_key_pem: keys.merchant_private_pem.expose_secret(),
            merchant_serial: &keys.merchant_serial,
            platform_public_key_pem: &keys.platform_public_pem,
            platform_serial: &keys.platform_serial,
            apiv3_key: secrecy::SecretString::from(keys.apiv3_key.expose().to_owned()),
        },
        clock,
    )
    .map_err(|e| anyhow::anyhow!("payment stand-in keys: {e}"))
}

/// The gateway client of the demo's merchant for a stand-in at `base_url` holding `keys`.
pub fn standin_gateway(base_url: &str, keys: &PayKeys) -> anyhow::Result<WechatPayGateway> {
    let config = standin_pay_config(
        base_url,
        shebao_infra::config::STANDIN_PAY_MCHID,
        shebao_infra::config::STANDIN_PAY_APPID,
        keys,
        Arc::new(shebao_infra::clock::SystemClock),
    )?;
    WechatPayGateway::new(config).map_err(|e| anyhow::anyhow!("payment client: {e}"))
}

/// The file beside the keys where a serving process with the payment stand-in writes the
/// `SHEBAO_PAY_*` settings that reach it (demo keys only).
pub const PAY_STANDIN_ENV: &str = "pay-standin.env";

fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(text.as_bytes())
}

/// The payment flows for a command (`shebao reconcile`): the gateway `SHEBAO_PAY_URL` names,
/// or the stand-in of a running `shebao serve` (read from its `pay-standin.env`).
pub fn payments_for_command(
    settings: &Settings,
    db: Db,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Payments> {
    let settings = if settings.pay.url.is_some() {
        settings.clone()
    } else {
        let path = settings.key_dir.join(PAY_STANDIN_ENV);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "no SHEBAO_PAY_URL, and no running stand-in's settings at {} (start `shebao serve` first)",
                path.display()
            )
        })?;
        let lines: Vec<(String, String)> = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect();
        let get = |name: &str| {
            lines
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .or_else(|| std::env::var(name).ok())
        };
        Settings::from_env(&get).context("the stand-in's settings")?
    };
    let (gateway, _) = payment_gateway(&settings, Arc::new(shebao_infra::clock::SystemClock))?;
    let notify = settings
        .pay
        .notify_url
        .clone()
        .unwrap_or_else(|| notify_url(&settings, 8080));
    Ok(Payments::new(db, gateway, clock, notify))
}

/// Orders whose notification has not come are asked about at the gateway every `every`, and
/// expire; `shebao serve` (with jobs on) and every `shebao worker` run one. Several pollers at
/// once are safe: a settlement is applied under the payment's row lock, once.
pub fn spawn_payment_poller(payments: Payments, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match payments.poll().await {
                Ok(r) if r.queried > 0 || r.refunds > 0 => {
                    tracing::info!(report = ?r, "payments polled")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "payment poll failed"),
            }
        }
    })
}

/// Loads the institutions for the "near me" search once the database is prepared, then every
/// `every` reloads them if another instance imported some (this server's own imports refresh
/// the copy at once).
fn spawn_institutions_refresher(
    state: web::Data<AppState>,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if !state.database_prepared() {
                continue;
            }
            if let Err(e) = state.institutions.refresh(&state.db).await {
                tracing::warn!(error = %e, "the institutions could not be refreshed");
            }
        }
    })
}

/// The base of the links the service prints: `SHEBAO_PUBLIC_URL`, or this server's own address
/// (its listen host, 127.0.0.1 for a wildcard one, and the port it got).
fn public_url(settings: &Settings, port: u16) -> String {
    settings.public_url.clone().unwrap_or_else(|| {
        let host = settings
            .listen
            .rsplit_once(':')
            .map(|(h, _)| h)
            .filter(|h| !h.is_empty() && *h != "0.0.0.0" && *h != "[::]")
            .unwrap_or("127.0.0.1");
        format!("http://{host}:{port}")
    })
}

/// Where the gateway sends notifications: `SHEBAO_PAY_NOTIFY_URL`, or this server's own route.
fn notify_url(settings: &Settings, port: u16) -> String {
    settings.pay.notify_url.clone().unwrap_or_else(|| {
        let host = settings
            .listen
            .rsplit_once(':')
            .map(|(h, _)| h)
            .filter(|h| !h.is_empty() && *h != "0.0.0.0" && *h != "[::]")
            .unwrap_or("127.0.0.1");
        format!("http://{host}:{port}/v1/payments/notifications/wechat")
    })
}

/// Applies the migrations, then loads the demo data when asked and the database is empty.
pub async fn prepare_database(
    db: &Db,
    settings: &Settings,
    vault: &PiiVault,
    clock: &dyn Clock,
) -> Result<(), StoreError> {
    let applied = db.run(run_migrations).await?;
    if !applied.applied.is_empty() {
        tracing::info!(migrations = ?applied.applied, "migrations applied");
    }
    if settings.demo_seed {
        let vault = vault.clone();
        let now = clock.now();
        let summary = db
            .run(move |c| {
                if seed::is_empty(c)? {
                    seed::demo(c, &vault, now).map(Some)
                } else {
                    Ok::<_, StoreError>(None)
                }
            })
            .await?;
        if let Some(s) = summary {
            tracing::info!(
                regions = s.regions,
                employers = s.employers,
                persons = s.persons,
                contributions = s.contributions,
                "demo data loaded (SHEBAO_DEMO_SEED=false turns this off)"
            );
        }
    }
    Ok(())
}

/// The longest wait between two attempts to prepare a database that is not reachable yet.
const PREPARE_RETRY_MAX: Duration = Duration::from_secs(5);

/// Prepares the database now if it answers; if it does not, keeps trying in the background
/// (the server listens meanwhile, `/readyz` at 503) and sets `prepared` once done. Errors other
/// than an unreachable database (a failed migration) stop the start.
async fn prepare_or_wait(state: web::Data<AppState>) -> anyhow::Result<()> {
    let attempt = {
        let s = state.clone();
        move || {
            let s = s.clone();
            async move { prepare_database(&s.db, &s.settings, &s.vault, s.clock.as_ref()).await }
        }
    };
    match attempt().await {
        Ok(()) => {
            state.database_prepared.store(true, Ordering::Release);
            return Ok(());
        }
        Err(e) if e.is_unavailable() => {
            tracing::warn!("the database is not reachable; serving anyway (/readyz answers 503), migrations run once it answers");
        }
        Err(e) => return Err(anyhow::Error::new(e).context("preparing the database")),
    }
    tokio::spawn(async move {
        let mut wait = Duration::from_millis(500);
        loop {
            tokio::time::sleep(wait).await;
            match attempt().await {
                Ok(()) => {
                    state.database_prepared.store(true, Ordering::Release);
                    tracing::info!("database prepared; ready");
                    return;
                }
                Err(e) if e.is_unavailable() => wait = (wait * 2).min(PREPARE_RETRY_MAX),
                Err(e) => {
                    // Not a matter of waiting: say so loudly and keep /readyz at 503.
                    tracing::error!(error = %e, "preparing the database failed; not ready");
                    return;
                }
            }
        }
    });
    Ok(())
}

/// `/metrics` on its own listener (`SHEBAO_METRICS_LISTEN`), apart from the public API.
fn metrics_server(listener: TcpListener, state: web::Data<AppState>) -> std::io::Result<Server> {
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .service(routes::health::metrics)
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(1)
    .listen(listener)?
    .run())
}

fn bind(what: &str, addr: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).with_context(|| format!("binding {what} on {addr}"))
}

impl Application {
    pub async fn build(
        settings: Settings,
        keys: KeyMaterial,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Application> {
        tracing::info!(settings = ?settings, "starting");
        if let Some(reason) = settings.missing_provider(true) {
            anyhow::bail!("refusing to start: {reason}");
        }
        // The listeners first: a taken port fails the start at once, and the server listens
        // (healthz 200, readyz 503) even while the database is down.
        let listener = bind("the API", &settings.listen)?;
        let port = listener.local_addr()?.port();
        let metrics_listener = match &settings.metrics_listen {
            Some(addr) => Some(bind("the metrics", addr)?),
            None => None,
        };
        let db = Db::connect(&settings.database_url, &settings.pool_options())
            .with_context(|| format!("connecting to {}", redact_url(&settings.database_url)))?;
        let vault = PiiVault::new(&keys);
        let signer = TokenSigner::new(&keys).context("loading the signing key")?;

        let spec = ApiDoc::openapi();
        let routes = Arc::new(RouteTable::from_spec(&spec));
        let spec_json = Arc::new(openapi_doc::render().into_bytes());
        let (sms, sms_standin) = sms_sender(&settings)?;
        // The protocol's timestamps (signatures, freshness) are real time, whatever clock the
        // business runs on.
        let (gateway, pay_standin) =
            payment_gateway(&settings, Arc::new(shebao_infra::clock::SystemClock))?;
        let payments = Payments::new(
            db.clone(),
            gateway,
            clock.clone(),
            notify_url(&settings, port),
        );
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        let state = web::Data::new(AppState {
            public_url: public_url(&settings, port),
            db,
            vault,
            signer,
            hasher: PasswordHasher::new(cores),
            clock,
            sms,
            payments: Some(payments),
            metrics: Metrics::new().context("registering metrics")?,
            spec_json,
            routes,
            sessions: Default::default(),
            institutions: Default::default(),
            settings: settings.clone(),
            database_prepared: Arc::new(AtomicBool::new(false)),
        });
        prepare_or_wait(state.clone()).await?;
        let metrics = match metrics_listener {
            Some(l) => {
                let port = l.local_addr()?.port();
                tracing::info!(port, "serving /metrics");
                Some((port, metrics_server(l, state.clone())?))
            }
            None => None,
        };

        let app_state = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(app_state.clone())
                .app_data(
                    web::QueryConfig::default()
                        .error_handler(|e, _| ApiError::InvalidQuery(e.to_string()).into()),
                )
                .app_data(
                    web::PathConfig::default().error_handler(|_, _| ApiError::RouteNotFound.into()),
                )
                .app_data(
                    web::JsonConfig::default()
                        .error_handler(|e, _| ApiError::MalformedJson(e.to_string()).into()),
                )
                // Inside `observe`: every request made with a proxy token is recorded.
                .wrap(from_fn(crate::proxy_activity::record))
                .wrap(from_fn(middleware::observe))
                .configure(routes::configure)
                .route("/openapi.json", web::get().to(openapi_json))
                .configure(docs::configure)
                .default_service(web::to(routes::fallback::fallback))
        })
        .workers(settings.workers)
        // Database work runs on each worker's blocking threads; more of them than there are
        // pooled connections would only wait for a connection (under load a hundred threads
        // did). Extra work queues in tokio instead.
        .worker_max_blocking_threads((settings.db_pool_size as usize).max(4))
        .shutdown_timeout(settings.shutdown_timeout_secs)
        .listen(listener)?
        .run();
        tracing::info!(port, "listening");
        let jobs = settings.jobs_enabled.then(|| {
            crate::jobs::RunningJobs::start(
                state.db.clone(),
                state.clock.clone(),
                &settings,
                state.sms.clone(),
                state.vault.clone(),
            )
        });
        // Orders whose notification has not come are asked about at the gateway, and expire.
        let poller = settings
            .jobs_enabled
            .then(|| state.payments.clone())
            .flatten()
            .map(|payments| spawn_payment_poller(payments, settings.pay.poll_interval));
        let institutions =
            spawn_institutions_refresher(state.clone(), settings.institutions_refresh);
        Ok(Application {
            poller,
            institutions,
            port,
            server,
            state,
            sms_standin,
            pay_standin,
            jobs,
            metrics,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port `/metrics` is served on, unless `SHEBAO_METRICS_LISTEN=off`.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|(port, _)| *port)
    }

    /// The built-in payment stand-in's base URL, when it was started.
    pub fn pay_standin_url(&self) -> Option<String> {
        self.pay_standin.as_ref().map(|s| s.base_url.clone())
    }

    /// The built-in SMS stand-in's base URL, when it was started.
    pub fn sms_standin_url(&self) -> Option<String> {
        self.sms_standin.as_ref().map(|s| s.base_url.clone())
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// A handle that stops the server gracefully (requests in flight finish).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGTERM or SIGINT; then finishes the requests in flight and returns.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let metrics = self.metrics.map(|(_, server)| {
            let handle = server.handle();
            tokio::spawn(server);
            handle
        });
        let result = self.server.await;
        if let Some(poller) = self.poller {
            poller.abort();
        }
        self.institutions.abort();
        if let Some(jobs) = self.jobs {
            jobs.stop().await;
        }
        if let Some(handle) = metrics {
            handle.stop(true).await;
        }
        if let Some(standin) = &self.sms_standin {
            standin.stop().await;
        }
        if let Some(standin) = &self.pay_standin {
            standin.stop().await;
        }
        result
    }
}

async fn openapi_json(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(state.spec_json.as_ref().clone())
}
