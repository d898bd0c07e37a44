//! `shebao worker`: a process that runs the durable jobs (and polls the payment gateway) beside
//! or instead of `shebao serve`'s own runner. It sits above both `startup` (how a command reaches
//! the payment gateway) and `jobs` (the runner), which do not know about it.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use shebao_domain::ports::{Clock, SmsSender};
use shebao_infra::config::{redact_url, Settings};
use shebao_infra::db::{run_migrations, Db};
use shebao_security::{KeyMaterial, PiiVault};

use crate::startup;

/// How long a worker waits for the database at start.
const STARTUP_DB_WAIT: Duration = Duration::from_secs(30);

/// The SMS provider of a worker: `SHEBAO_SMS_URL`, or else the stand-in that `shebao serve`
/// starts on `SHEBAO_SMS_STANDIN_LISTEN` (a worker starts none of its own).
fn worker_sms(settings: &Settings) -> anyhow::Result<Arc<dyn SmsSender>> {
    let url = settings
        .sms_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", settings.sms_standin_listen));
    Ok(Arc::new(startup::twilio(settings, url)?))
}

/// `shebao worker`: applies the migrations, then runs jobs until SIGTERM or SIGINT.
pub async fn run_worker(
    settings: Settings,
    keys: KeyMaterial,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<()> {
    tracing::info!(settings = ?settings, "starting a job worker");
    if let Some(reason) = settings.missing_provider(false) {
        anyhow::bail!("refusing to start: {reason}");
    }
    let db = Db::connect(&settings.database_url, &settings.pool_options())
        .with_context(|| format!("connecting to {}", redact_url(&settings.database_url)))?;
    let started = std::time::Instant::now();
    loop {
        match db.run(run_migrations).await {
            Ok(_) => break,
            Err(e) if e.is_unavailable() && started.elapsed() < STARTUP_DB_WAIT => {
                tracing::warn!(error = %e, "database not reachable yet; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => return Err(e).context("applying migrations"),
        }
    }
    let sms = worker_sms(&settings)?;
    let poller = match startup::payments_for_command(&settings, db.clone(), clock.clone()) {
        Ok(payments) => Some(startup::spawn_payment_poller(
            payments,
            settings.pay.poll_interval,
        )),
        Err(e) => {
            tracing::info!(reason = %format!("{e:#}"), "this worker does not poll the payment gateway");
            None
        }
    };
    let jobs = crate::jobs::RunningJobs::start(db, clock, &settings, sms, PiiVault::new(&keys));
    stop_signal().await?;
    if let Some(poller) = poller {
        poller.abort();
    }
    tracing::info!("stop signal received; finishing the running jobs");
    jobs.stop().await;
    tracing::info!("stopped");
    Ok(())
}

/// SIGTERM or SIGINT (Ctrl-C).
pub(crate) async fn stop_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("listening for SIGTERM")?;
        tokio::select! {
            _ = term.recv() => {}
            r = tokio::signal::ctrl_c() => r.context("listening for SIGINT")?,
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c()
        .await
        .context("listening for Ctrl-C")?;
    Ok(())
}
