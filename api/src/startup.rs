//! Building the application: settings in, a running server out. The binary and the end-to-end
//! tests go through the same `Application::build`.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{middleware::from_fn, web, App, HttpResponse, HttpServer};
use anyhow::Context;
use secrecy::ExposeSecret;
use shebao_domain::ports::{Clock, SmsSender};
use shebao_infra::config::{redact_url, Settings};
use shebao_infra::db::{run_migrations, Db, StoreError};
use shebao_infra::seed;
use shebao_infra::sms::{TwilioConfig, TwilioSms};
use shebao_security::{KeyMaterial, PasswordHasher, PiiVault, TokenSigner};
use shebao_standins::sms::{RunningStandIn, SmsStandIn};
use utoipa::OpenApi;
use utoipa_scalar::{Scalar, Servable};

use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::openapi_doc::{self, ApiDoc};
use crate::routing::{self, RouteTable};
use crate::state::AppState;
use crate::{middleware, routes};

pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
    sms_standin: Option<RunningStandIn>,
    jobs: Option<crate::jobs::RunningJobs>,
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
    let cfg = TwilioConfig::new(
        url,
        settings.sms_account_sid.clone(),
        settings.sms_auth_token.clone(),
        settings.sms_from.clone(),
    );
    let sender = TwilioSms::new(cfg).map_err(|e| anyhow::anyhow!("SMS client: {e}"))?;
    Ok((Arc::new(sender), standin))
}

/// How long start-up waits for the database before giving up.
const STARTUP_DB_WAIT: Duration = Duration::from_secs(30);

/// Applies the migrations, waiting for a database that is still starting, then loads the demo
/// data when asked and the database is empty.
pub async fn prepare_database(
    db: &Db,
    settings: &Settings,
    vault: &PiiVault,
    clock: &dyn Clock,
) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let applied = loop {
        match db.run(run_migrations).await {
            Ok(set) => break set,
            Err(e) if e.is_unavailable() && started.elapsed() < STARTUP_DB_WAIT => {
                tracing::warn!(error = %e, "database not reachable yet; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => return Err(e).context("applying migrations"),
        }
    };
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
            .await
            .context("loading the demo data")?;
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

impl Application {
    pub async fn build(
        settings: Settings,
        keys: KeyMaterial,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Application> {
        tracing::info!(settings = ?settings, "starting");
        let db = Db::connect(&settings.database_url, &settings.pool_options())
            .with_context(|| format!("connecting to {}", redact_url(&settings.database_url)))?;
        let vault = PiiVault::new(&keys);
        let signer = TokenSigner::new(&keys).context("loading the signing key")?;
        prepare_database(&db, &settings, &vault, clock.as_ref()).await?;

        let spec = ApiDoc::openapi();
        let routes = Arc::new(RouteTable::from_spec(&spec));
        let spec_json = Arc::new(openapi_doc::render().into_bytes());
        let (sms, sms_standin) = sms_sender(&settings)?;
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        let listener = TcpListener::bind(&settings.listen)
            .with_context(|| format!("binding {}", settings.listen))?;
        let port = listener.local_addr()?.port();
        let state = web::Data::new(AppState {
            db,
            vault,
            signer,
            hasher: PasswordHasher::new(cores),
            clock,
            sms,
            metrics: Metrics::new().context("registering metrics")?,
            spec_json,
            routes,
            sessions: Default::default(),
            settings: settings.clone(),
        });

        let app_state = state.clone();
        let server = HttpServer::new(move || {
            let spec = ApiDoc::openapi();
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
                .wrap(from_fn(middleware::observe))
                .configure(routes::configure)
                .route("/openapi.json", web::get().to(openapi_json))
                .service(Scalar::with_url("/docs", spec))
                .default_service(web::to(routing::fallback))
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
        Ok(Application {
            port,
            server,
            state,
            sms_standin,
            jobs,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
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
        let result = self.server.await;
        if let Some(jobs) = self.jobs {
            jobs.stop().await;
        }
        if let Some(standin) = &self.sms_standin {
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
