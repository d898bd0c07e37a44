//! The `probe` job: does nothing but take its time and record each try in `job_probe_runs`.
//! Operators enqueue one to see that workers are alive; the tests use it to see how often a
//! job really ran, and by which worker, through the real queue and runner.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::queue::Job;
use super::runner::{JobContext, JobDone, JobFailure, JobFuture, JobHandler};
use crate::db::{DbConnection, StoreError};
use crate::schema::job_probe_runs;

pub const KIND: &str = "probe";

/// What a probe does, as its payload says (other fields, such as a schedule's slot, are
/// ignored).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbePayload {
    /// How long each try takes.
    #[serde(default)]
    pub sleep_ms: u64,
    /// The first this many runs of the job fail (with a retryable error); later ones succeed.
    /// Runs are counted in `job_probe_runs`, so a job an admin retried goes on counting.
    #[serde(default)]
    pub fail_attempts: u32,
    /// Before this instant the probe does nothing but ask to run again then.
    #[serde(default)]
    pub not_before: Option<chrono::DateTime<chrono::Utc>>,
}

/// One recorded try of a probe.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = job_probe_runs)]
pub struct ProbeRun {
    pub job_id: String,
    pub attempt: i32,
    pub worker: String,
    pub started_at: NaiveDateTime,
    pub finished_at: Option<NaiveDateTime>,
}

/// The tries recorded for a job, in the order they started.
pub fn runs(conn: &mut DbConnection, job_id: uuid::Uuid) -> Result<Vec<ProbeRun>, StoreError> {
    Ok(job_probe_runs::table
        .filter(job_probe_runs::job_id.eq(job_id.to_string()))
        .select(ProbeRun::as_select())
        .order(job_probe_runs::id.asc())
        .load(conn)?)
}

/// Every recorded try (for tests that count how many ran).
pub fn all_runs(conn: &mut DbConnection) -> Result<Vec<ProbeRun>, StoreError> {
    Ok(job_probe_runs::table
        .select(ProbeRun::as_select())
        .order(job_probe_runs::id.asc())
        .load(conn)?)
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Probe;

impl JobHandler for Probe {
    fn run<'a>(&'a self, ctx: &'a JobContext, job: &'a Job) -> JobFuture<'a> {
        Box::pin(async move {
            let payload: ProbePayload = serde_json::from_str(&job.payload)
                .map_err(|e| JobFailure::permanent(format!("probe payload: {e}")))?;
            if let Some(at) = payload.not_before.filter(|at| *at > ctx.clock.now()) {
                return Ok(JobDone::Later(at));
            }
            let started = ctx.clock.now().naive_utc();
            let (job_id, attempt, worker) = (
                job.id.to_string(),
                i32::try_from(job.attempts).unwrap_or(i32::MAX),
                ctx.worker.clone(),
            );
            let key = (job_id.clone(), attempt, worker.clone());
            ctx.db
                .run(move |c| {
                    diesel::insert_into(job_probe_runs::table)
                        .values((
                            job_probe_runs::job_id.eq(job_id),
                            job_probe_runs::attempt.eq(attempt),
                            job_probe_runs::worker.eq(worker),
                            job_probe_runs::started_at.eq(started),
                        ))
                        .execute(c)
                        .map_err(StoreError::from)
                })
                .await
                .map_err(|e| JobFailure::retry(e.to_string()))?;
            if payload.sleep_ms > 0 {
                tokio::time::sleep(Duration::from_millis(payload.sleep_ms)).await;
            }
            let finished = ctx.clock.now().naive_utc();
            ctx.db
                .run(move |c| {
                    let (job_id, attempt, worker) = key;
                    diesel::update(
                        job_probe_runs::table
                            .filter(job_probe_runs::job_id.eq(job_id))
                            .filter(job_probe_runs::attempt.eq(attempt))
                            .filter(job_probe_runs::worker.eq(worker)),
                    )
                    .set(job_probe_runs::finished_at.eq(Some(finished)))
                    .execute(c)
                    .map_err(StoreError::from)
                })
                .await
                .map_err(|e| JobFailure::retry(e.to_string()))?;
            let job_id = job.id.to_string();
            let runs: i64 = ctx
                .db
                .run(move |c| {
                    job_probe_runs::table
                        .filter(job_probe_runs::job_id.eq(job_id))
                        .count()
                        .get_result(c)
                        .map_err(StoreError::from)
                })
                .await
                .map_err(|e| JobFailure::retry(e.to_string()))?;
            if runs <= i64::from(payload.fail_attempts) {
                return Err(JobFailure::retry(format!(
                    "probe failure on try {runs} as asked"
                )));
            }
            Ok(JobDone::Done)
        })
    }
}
