//! Where background jobs run: `shebao worker` (jobs only) and, unless `SHEBAO_JOBS=off`,
//! beside the HTTP server in `shebao serve`. Both build the same runner with the same handlers.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use shebao_domain::ports::Clock;
use shebao_infra::config::{redact_url, Settings};
use shebao_infra::db::{run_migrations, Db};
use shebao_infra::jobs::probe::{self, Probe};
use shebao_infra::jobs::{Handlers, Runner, RunnerConfig};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Every job kind this build knows, with its handler.
pub fn handlers() -> Handlers {
    Handlers::new().with(probe::KIND, Probe)
}

pub fn runner_config(settings: &Settings) -> RunnerConfig {
    RunnerConfig {
        worker: RunnerConfig::worker_name(),
        lease: settings.job_lease,
        poll: settings.job_poll,
        concurrency: settings.job_concurrency,
        retry: Default::default(),
        grace: Duration::from_secs(settings.shutdown_timeout_secs),
    }
}

/// A runner working in the background of this process.
pub struct RunningJobs {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl RunningJobs {
    pub fn start(db: Db, clock: Arc<dyn Clock>, settings: &Settings) -> RunningJobs {
        let runner = Runner::new(db, clock, handlers(), runner_config(settings));
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(runner.run(stopped));
        RunningJobs { stop, task }
    }

    /// Claims nothing more, lets the running jobs finish (within the grace period), releases
    /// the rest, and returns when the runner has stopped.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.task.await {
            tracing::warn!(error = %e, "the job runner ended abnormally");
        }
    }
}

/// How long a worker waits for the database at start.
const STARTUP_DB_WAIT: Duration = Duration::from_secs(30);

/// `shebao worker`: applies the migrations, then runs jobs until SIGTERM or SIGINT.
pub async fn run_worker(settings: Settings, clock: Arc<dyn Clock>) -> anyhow::Result<()> {
    tracing::info!(settings = ?settings, "starting a job worker");
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
    let jobs = RunningJobs::start(db, clock, &settings);
    stop_signal().await?;
    tracing::info!("stop signal received; finishing the running jobs");
    jobs.stop().await;
    tracing::info!("stopped");
    Ok(())
}

/// SIGTERM or SIGINT (Ctrl-C).
async fn stop_signal() -> anyhow::Result<()> {
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
