//! The job runner: fires due schedule slots, claims jobs of the kinds it has handlers for, runs
//! each under a lease that it renews while the handler works, and records the outcome (done;
//! queued again after a backoff; dead). On stop it claims nothing more, lets the running jobs
//! finish within a grace period, and gives back (releases) the ones that did not.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::TimeDelta;
use shebao_domain::jobs::{after_failure, is_exhausted, AfterFailure, Jitter, RetryPolicy};
use shebao_domain::ports::Clock;
use tokio::sync::watch;
use tokio::task::JoinSet;
use uuid::Uuid;

use super::queue::{self, Job};
use super::schedules;
use crate::db::Db;

/// Why a try failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFailure {
    pub message: String,
    /// Retrying cannot help (a malformed payload): dead at once.
    pub permanent: bool,
}

impl JobFailure {
    pub fn retry(message: impl Into<String>) -> JobFailure {
        JobFailure {
            message: message.into(),
            permanent: false,
        }
    }
    pub fn permanent(message: impl Into<String>) -> JobFailure {
        JobFailure {
            message: message.into(),
            permanent: true,
        }
    }
}

/// What a handler can reach.
#[derive(Clone)]
pub struct JobContext {
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    /// This runner's name (for logs and records).
    pub worker: String,
}

/// How a try that did not fail ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobDone {
    /// The job is done.
    Done,
    /// Not yet: run it again at this time (a message waiting for daylight). The try is not
    /// counted against `max_attempts`.
    Later(chrono::DateTime<chrono::Utc>),
}

pub type JobFuture<'a> = Pin<Box<dyn Future<Output = Result<JobDone, JobFailure>> + Send + 'a>>;

/// Runs the jobs of one kind. A handler must be safe to run again for the same job: a worker
/// that dies mid-job leaves it to the next one.
pub trait JobHandler: Send + Sync + 'static {
    fn run<'a>(&'a self, ctx: &'a JobContext, job: &'a Job) -> JobFuture<'a>;
}

/// The handlers by kind.
#[derive(Clone, Default)]
pub struct Handlers(BTreeMap<String, Arc<dyn JobHandler>>);

impl Handlers {
    pub fn new() -> Handlers {
        Handlers::default()
    }

    pub fn with(mut self, kind: &str, handler: impl JobHandler) -> Handlers {
        self.0.insert(kind.to_owned(), Arc::new(handler));
        self
    }

    pub fn kinds(&self) -> Vec<String> {
        self.0.keys().cloned().collect()
    }

    fn get(&self, kind: &str) -> Option<Arc<dyn JobHandler>> {
        self.0.get(kind).cloned()
    }
}

/// How a runner works.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// The runner's name, part of every lease token.
    pub worker: String,
    /// How long a claim holds a job; renewed every third of it while the job runs.
    pub lease: Duration,
    /// How long to wait when there is nothing to do.
    pub poll: Duration,
    /// Jobs run at the same time.
    pub concurrency: usize,
    pub retry: RetryPolicy,
    /// On stop, how long running jobs may take to finish before they are released.
    pub grace: Duration,
}

impl RunnerConfig {
    /// A runner name unique to this process: `<pid>-<random>`.
    pub fn worker_name() -> String {
        let id = Uuid::new_v4().simple().to_string();
        format!("{}-{}", std::process::id(), &id[..8])
    }
}

impl Default for RunnerConfig {
    fn default() -> Self {
        RunnerConfig {
            worker: RunnerConfig::worker_name(),
            lease: Duration::from_secs(60),
            poll: Duration::from_secs(1),
            concurrency: 4,
            retry: RetryPolicy::default(),
            grace: Duration::from_secs(30),
        }
    }
}

/// Claims and runs jobs. Cheap to clone.
#[derive(Clone)]
pub struct Runner {
    db: Db,
    clock: Arc<dyn Clock>,
    handlers: Arc<Handlers>,
    config: Arc<RunnerConfig>,
    /// Jobs being run now: id → lease token.
    running: Arc<Mutex<HashMap<Uuid, String>>>,
}

fn lease_delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::seconds(60))
}

impl Runner {
    pub fn new(db: Db, clock: Arc<dyn Clock>, handlers: Handlers, config: RunnerConfig) -> Runner {
        Runner {
            db,
            clock,
            handlers: Arc::new(handlers),
            config: Arc::new(config),
            running: Arc::default(),
        }
    }

    pub fn worker(&self) -> &str {
        &self.config.worker
    }

    fn context(&self) -> JobContext {
        JobContext {
            db: self.db.clone(),
            clock: self.clock.clone(),
            worker: self.config.worker.clone(),
        }
    }

    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, String>> {
        self.running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Fires the due schedule slots.
    pub async fn fire_schedules(&self) -> Result<usize, crate::db::StoreError> {
        let now = self.clock.now();
        let fired = self.db.run(move |c| schedules::fire_due(c, now)).await?;
        Ok(fired.len())
    }

    /// Claims up to `limit` jobs.
    pub async fn claim(&self, limit: usize) -> Result<Vec<Job>, crate::db::StoreError> {
        let kinds = self.handlers.kinds();
        let worker = self.config.worker.clone();
        let now = self.clock.now();
        let lease = lease_delta(self.config.lease);
        self.db
            .run(move |c| queue::claim(c, &kinds, &worker, now, lease, limit))
            .await
    }

    /// One round, to completion: fire schedules, claim up to `concurrency` jobs and run them
    /// all. Returns how many jobs ran. (The loop in [`Runner::run`] does the same without
    /// waiting for a round to end.)
    pub async fn run_once(&self) -> usize {
        if let Err(e) = self.fire_schedules().await {
            tracing::warn!(error = %e, "firing schedules failed");
        }
        let jobs = match self.claim(self.config.concurrency).await {
            Ok(jobs) => jobs,
            Err(e) => {
                tracing::warn!(error = %e, "claiming jobs failed");
                return 0;
            }
        };
        let n = jobs.len();
        let mut set = JoinSet::new();
        for job in jobs {
            set.spawn(self.clone().execute(job));
        }
        while set.join_next().await.is_some() {}
        n
    }

    /// Runs until `stop` turns true; then waits up to the grace period for the running jobs
    /// and releases those still running.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        tracing::info!(worker = %self.config.worker, kinds = ?self.handlers.kinds(), "job runner started");
        let mut tasks = JoinSet::new();
        let mut next_schedules = tokio::time::Instant::now();
        while !*stop.borrow() {
            while tasks.try_join_next().is_some() {}
            if tokio::time::Instant::now() >= next_schedules {
                if let Err(e) = self.fire_schedules().await {
                    tracing::warn!(error = %e, "firing schedules failed");
                }
                next_schedules = tokio::time::Instant::now() + self.config.poll;
            }
            let free = self.config.concurrency.saturating_sub(tasks.len());
            let mut claimed = 0;
            if free > 0 {
                match self.claim(free).await {
                    Ok(jobs) => {
                        claimed = jobs.len();
                        for job in jobs {
                            tasks.spawn(self.clone().execute(job));
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "claiming jobs failed"),
                }
            }
            if claimed == 0 || claimed == free {
                // Nothing to do, or no room: wait for a slot, the poll interval, or the stop.
                tokio::select! {
                    _ = tokio::time::sleep(self.config.poll) => {}
                    _ = stop.changed() => {}
                    Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
                }
            }
        }
        let left = tasks.len();
        if left > 0 {
            tracing::info!(jobs = left, grace = ?self.config.grace, "stopping: letting running jobs finish");
            let drained = tokio::time::timeout(self.config.grace, async {
                while tasks.join_next().await.is_some() {}
            })
            .await;
            if drained.is_err() {
                tasks.abort_all();
                while tasks.join_next().await.is_some() {}
            }
        }
        self.release_running().await;
        tracing::info!(worker = %self.config.worker, "job runner stopped");
    }

    /// Gives back every job this runner still holds.
    async fn release_running(&self) {
        let held: Vec<(Uuid, String)> = self.running().drain().collect();
        for (id, token) in held {
            let now = self.clock.now();
            match self
                .db
                .run(move |c| queue::release(c, id, &token, now))
                .await
            {
                Ok(_) => tracing::info!(job_id = %id, "job released"),
                Err(e) => {
                    tracing::warn!(job_id = %id, error = %e, "releasing a job failed; its lease will expire")
                }
            }
        }
    }

    /// Runs one claimed job to its outcome. While it runs the job is in the runner's
    /// "running" map; a task aborted at stop leaves it there, and the runner releases it.
    async fn execute(self, job: Job) {
        let Some(token) = job.lease_owner.clone() else {
            return;
        };
        self.running().insert(job.id, token.clone());
        self.execute_held(&job, &token).await;
        self.running().remove(&job.id);
    }

    async fn execute_held(&self, job: &Job, token: &str) {
        let id = job.id;
        let span =
            tracing::info_span!("job", job_id = %id, kind = %job.kind, attempt = job.attempts);
        let outcome = if is_exhausted(job.attempts, job.max_attempts) {
            Err(JobFailure::permanent(
                "the worker running the last try stopped before it ended (its lease expired)",
            ))
        } else {
            match self.handlers.get(job.kind.as_str()) {
                None => Err(JobFailure::retry(format!(
                    "no handler for kind {}",
                    job.kind
                ))),
                Some(handler) => match self.run_leased(handler, job, token).await {
                    Some(o) => o,
                    // The lease was lost: another worker has the job now.
                    None => return,
                },
            }
        };
        let now = self.clock.now();
        let token = token.to_owned();
        let result = match outcome {
            Ok(JobDone::Done) => {
                tracing::debug!(parent: &span, "job done");
                self.db
                    .run(move |c| queue::complete(c, id, &token, now))
                    .await
            }
            Ok(JobDone::Later(at)) => {
                tracing::debug!(parent: &span, run_at = %at, "job deferred");
                self.db
                    .run(move |c| queue::defer(c, id, &token, at, now))
                    .await
            }
            Err(failure) => {
                let jitter = random_jitter();
                let after = after_failure(
                    &self.config.retry,
                    job.attempts,
                    job.max_attempts,
                    failure.permanent,
                    now,
                    jitter,
                );
                match after {
                    AfterFailure::Dead => {
                        tracing::warn!(parent: &span, error = %failure.message, "job dead")
                    }
                    AfterFailure::RetryAt(at) => {
                        tracing::info!(parent: &span, error = %failure.message, retry_at = %at, "job failed; will retry")
                    }
                }
                self.db
                    .run(move |c| queue::fail(c, id, &token, &failure.message, after, now))
                    .await
            }
        };
        match result {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(parent: &span, "the lease was lost before the outcome was recorded")
            }
            Err(e) => {
                tracing::warn!(parent: &span, error = %e, "recording the outcome failed; the lease will expire")
            }
        }
    }

    /// Runs the handler while renewing the lease. `None` if the lease was lost.
    async fn run_leased(
        &self,
        handler: Arc<dyn JobHandler>,
        job: &Job,
        token: &str,
    ) -> Option<Result<JobDone, JobFailure>> {
        let ctx = self.context();
        let work = handler.run(&ctx, job);
        tokio::pin!(work);
        let every = (self.config.lease / 3).max(Duration::from_millis(100));
        let mut renew = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        loop {
            tokio::select! {
                result = &mut work => return Some(result),
                _ = renew.tick() => {
                    let now = self.clock.now();
                    let until = now + lease_delta(self.config.lease);
                    let (id, token) = (job.id, token.to_owned());
                    match self.db.run(move |c| queue::renew(c, id, &token, until, now)).await {
                        Ok(true) => {}
                        Ok(false) => {
                            tracing::warn!(job_id = %job.id, "lease lost; abandoning the job");
                            return None;
                        }
                        Err(e) => tracing::warn!(job_id = %job.id, error = %e, "renewing the lease failed"),
                    }
                }
            }
        }
    }
}

/// A random jitter (not for secrets: a v4 UUID's random bits, so the runner needs no RNG
/// crate of its own, which production builds leave out).
fn random_jitter() -> Jitter {
    let bytes = Uuid::new_v4().into_bytes();
    Jitter::per_mille(u16::from_le_bytes([bytes[0], bytes[1]]) % 1001)
}
