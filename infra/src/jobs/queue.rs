//! The job queue: one diesel code path for both backends; only the claim's row locking differs.

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use diesel::prelude::*;
use shebao_domain::jobs::{AfterFailure, JobKind, JobState};
use uuid::Uuid;

use crate::db::{DbConnection, StoreError};
use crate::registry::{stored, stored_id, Page};
use crate::schema::jobs;

/// The longest error text kept with a job.
const MAX_ERROR_CHARS: usize = 2000;

/// A job to put in the queue.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: JobKind,
    /// JSON text, read by the kind's handler.
    pub payload: String,
    pub run_at: DateTime<Utc>,
    pub max_attempts: u32,
    /// Unique when set: enqueueing the same key again does nothing.
    pub dedupe_key: Option<String>,
}

impl NewJob {
    /// A job to run now, with 5 tries.
    pub fn now(kind: JobKind, payload: &serde_json::Value, now: DateTime<Utc>) -> NewJob {
        NewJob {
            kind,
            payload: payload.to_string(),
            run_at: now,
            max_attempts: 5,
            dedupe_key: None,
        }
    }
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: Uuid,
    pub kind: JobKind,
    pub payload: String,
    pub state: JobState,
    pub run_at: DateTime<Utc>,
    /// Tries started so far (a claim counts as a try).
    pub attempts: u32,
    pub max_attempts: u32,
    pub leased_until: Option<DateTime<Utc>>,
    /// The token of the claim that holds the lease: `<worker>/<claim id>`.
    pub lease_owner: Option<String>,
    pub last_error: Option<String>,
    pub dedupe_key: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = jobs)]
struct JobRow {
    id: String,
    kind: String,
    payload: String,
    state: String,
    run_at: NaiveDateTime,
    attempts: i32,
    max_attempts: i32,
    leased_until: Option<NaiveDateTime>,
    lease_owner: Option<String>,
    last_error: Option<String>,
    dedupe_key: Option<String>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl TryFrom<JobRow> for Job {
    type Error = StoreError;
    fn try_from(r: JobRow) -> Result<Job, StoreError> {
        Ok(Job {
            id: stored_id("jobs.id", &r.id)?,
            kind: stored("jobs.kind", JobKind::parse(&r.kind))?,
            payload: r.payload,
            state: stored("jobs.state", JobState::parse(&r.state))?,
            run_at: r.run_at.and_utc(),
            attempts: stored("jobs.attempts", u32::try_from(r.attempts))?,
            max_attempts: stored("jobs.max_attempts", u32::try_from(r.max_attempts))?,
            leased_until: r.leased_until.map(|t| t.and_utc()),
            lease_owner: r.lease_owner,
            last_error: r.last_error,
            dedupe_key: r.dedupe_key,
            created_at: r.created_at.and_utc(),
            updated_at: r.updated_at.and_utc(),
        })
    }
}

fn to_jobs(rows: Vec<JobRow>) -> Result<Vec<Job>, StoreError> {
    rows.into_iter().map(Job::try_from).collect()
}

fn count(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Puts a job in the queue. `None` when a job with the same dedupe key exists already (of any
/// state: a key is used once). Safe inside a larger transaction on both backends (the
/// duplicate is skipped by `ON CONFLICT DO NOTHING`, which does not abort the transaction).
pub fn enqueue(
    conn: &mut DbConnection,
    job: &NewJob,
    now: DateTime<Utc>,
) -> Result<Option<Uuid>, StoreError> {
    enqueue_with_id(conn, Uuid::now_v7(), job, now)
}

/// [`enqueue`] with an id chosen by the caller (who records it elsewhere in the same
/// transaction).
pub fn enqueue_with_id(
    conn: &mut DbConnection,
    id: Uuid,
    job: &NewJob,
    now: DateTime<Utc>,
) -> Result<Option<Uuid>, StoreError> {
    let inserted = insert_jobs(conn, &[(id, job)], now)?;
    Ok((inserted == 1).then_some(id))
}

/// Rows per multi-row INSERT of [`enqueue_many`]: 10 columns × 1,000 stays under both
/// backends' parameter limits.
const ENQUEUE_ROWS: usize = 1_000;

/// Puts several jobs in the queue, a multi-row `INSERT … ON CONFLICT DO NOTHING` per 1,000:
/// a job whose dedupe key exists already (or comes twice in `jobs`) is skipped, as by
/// [`enqueue`]. Returns how many were new. Safe inside a larger transaction on both backends.
pub fn enqueue_many(
    conn: &mut DbConnection,
    jobs: &[NewJob],
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let rows: Vec<(Uuid, &NewJob)> = jobs.iter().map(|job| (Uuid::now_v7(), job)).collect();
    let mut inserted = 0;
    for chunk in rows.chunks(ENQUEUE_ROWS) {
        inserted += insert_jobs(conn, chunk, now)?;
    }
    Ok(inserted)
}

/// One `INSERT … ON CONFLICT DO NOTHING` of queued jobs; how many were new.
fn insert_jobs(
    conn: &mut DbConnection,
    rows: &[(Uuid, &NewJob)],
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let ts = now.naive_utc();
    let values: Vec<_> = rows
        .iter()
        .map(|(id, job)| {
            (
                jobs::id.eq(id.to_string()),
                jobs::kind.eq(job.kind.as_str()),
                jobs::payload.eq(&job.payload),
                jobs::state.eq(JobState::Queued.as_str()),
                jobs::run_at.eq(job.run_at.naive_utc()),
                jobs::attempts.eq(0),
                jobs::max_attempts.eq(count(job.max_attempts.max(1))),
                jobs::dedupe_key.eq(job.dedupe_key.as_deref()),
                jobs::created_at.eq(ts),
                jobs::updated_at.eq(ts),
            )
        })
        .collect();
    let insert = diesel::insert_into(jobs::table)
        .values(values)
        .on_conflict_do_nothing();
    Ok(on_backend!(conn, |c| insert.execute(c))?)
}

/// The id of the job enqueued with `key`.
pub fn by_dedupe_key(conn: &mut DbConnection, key: &str) -> Result<Option<Uuid>, StoreError> {
    jobs::table
        .filter(jobs::dedupe_key.eq(key))
        .select(jobs::id)
        .first::<String>(conn)
        .optional()?
        .map(|id| stored_id("jobs.id", &id))
        .transpose()
}

pub fn get(conn: &mut DbConnection, id: Uuid) -> Result<Option<Job>, StoreError> {
    jobs::table
        .find(id.to_string())
        .select(JobRow::as_select())
        .first(conn)
        .optional()?
        .map(Job::try_from)
        .transpose()
}

/// Claims up to `limit` jobs of `kinds` for `worker`: due queued jobs, and running jobs whose
/// lease has run out (their worker died). Each claimed job is `running`, holds a lease until
/// `now + lease`, and has one more attempt counted. Jobs whose lease ran out come first, then
/// due queued jobs by `run_at` (and id); each read stops at `limit` rows of its index
/// (`jobs_state_leased_until_idx`, `jobs_queue_order_idx`), so a claim costs the same however
/// long the queue is.
///
/// PostgreSQL: the candidates are locked with `FOR UPDATE SKIP LOCKED` in one short
/// transaction, so concurrent workers take different rows without waiting on each other.
/// SQLite: one job at a time, each taken by a single compare-and-set `UPDATE` (SQLite lets one
/// writer in at a time); a worker that loses a race stops with what it has.
pub fn claim(
    conn: &mut DbConnection,
    kinds: &[String],
    worker: &str,
    now: DateTime<Utc>,
    lease: TimeDelta,
    limit: usize,
) -> Result<Vec<Job>, StoreError> {
    if kinds.is_empty() || limit == 0 {
        return Ok(Vec::new());
    }
    let ts = now.naive_utc();
    let token = format!("{worker}/{}", Uuid::now_v7().simple());
    let claimable = || {
        jobs::kind.eq_any(kinds.to_vec()).and(
            jobs::state
                .eq(JobState::Queued.as_str())
                .and(jobs::run_at.le(ts))
                .or(jobs::state
                    .eq(JobState::Running.as_str())
                    .and(jobs::leased_until.lt(ts))),
        )
    };
    // The candidates come in two reads, each one walking an index in order and stopping at
    // `n`: running jobs whose lease ran out (few), then due queued jobs by (run_at, id). One
    // read with `claimable()` would make the database gather and sort every due job first.
    let limit_of = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    let expired = |n: usize| {
        jobs::table
            .filter(jobs::kind.eq_any(kinds.to_vec()))
            .filter(jobs::state.eq(JobState::Running.as_str()))
            .filter(jobs::leased_until.lt(ts))
            .select(jobs::id)
            .order((jobs::run_at.asc(), jobs::id.asc()))
            .limit(limit_of(n))
    };
    let due = |n: usize| {
        jobs::table
            .filter(jobs::kind.eq_any(kinds.to_vec()))
            .filter(jobs::state.eq(JobState::Queued.as_str()))
            .filter(jobs::run_at.le(ts))
            .select(jobs::id)
            .order((jobs::state.asc(), jobs::run_at.asc(), jobs::id.asc()))
            .limit(limit_of(n))
    };
    let take = |conn: &mut DbConnection, ids: Vec<String>| -> Result<Vec<Job>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // The claimable condition again: on SQLite this is the compare-and-set.
        diesel::update(
            jobs::table
                .filter(jobs::id.eq_any(&ids))
                .filter(claimable()),
        )
        .set((
            jobs::state.eq(JobState::Running.as_str()),
            jobs::attempts.eq(jobs::attempts + 1),
            jobs::leased_until.eq(Some((now + lease).naive_utc())),
            jobs::lease_owner.eq(Some(&token)),
            jobs::updated_at.eq(ts),
        ))
        .execute(conn)?;
        let rows = jobs::table
            .filter(jobs::id.eq_any(&ids))
            .filter(jobs::lease_owner.eq(&token))
            .select(JobRow::as_select())
            .order((jobs::run_at.asc(), jobs::id.asc()))
            .load(conn)?;
        to_jobs(rows)
    };
    match conn {
        DbConnection::Postgresql(_) => conn.transaction(|conn| {
            let ids = match conn {
                DbConnection::Postgresql(pg) => {
                    let mut ids = expired(limit)
                        .for_update()
                        .skip_locked()
                        .load::<String>(pg)?;
                    if ids.len() < limit {
                        ids.extend(
                            due(limit - ids.len())
                                .for_update()
                                .skip_locked()
                                .load::<String>(pg)?,
                        );
                    }
                    ids
                }
                DbConnection::Sqlite(_) => unreachable_backend()?,
            };
            take(conn, ids)
        }),
        DbConnection::Sqlite(_) => {
            let mut claimed = Vec::new();
            while claimed.len() < limit {
                let mut ids = expired(1).load::<String>(conn)?;
                if ids.is_empty() {
                    ids = due(1).load::<String>(conn)?;
                }
                let got = take(conn, ids)?;
                if got.is_empty() {
                    break;
                }
                claimed.extend(got);
            }
            Ok(claimed)
        }
    }
}

fn unreachable_backend() -> Result<Vec<String>, StoreError> {
    Err(StoreError::Config(
        "the connection changed backend inside a transaction".into(),
    ))
}

/// The lease held by `token`, extended to `until`. `false`: the lease was lost (it expired and
/// another worker claimed the job), so this worker must stop working on it.
pub fn renew(
    conn: &mut DbConnection,
    id: Uuid,
    token: &str,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let n = diesel::update(held(id, token))
        .set((
            jobs::leased_until.eq(Some(until.naive_utc())),
            jobs::updated_at.eq(now.naive_utc()),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

type Held = diesel::dsl::Filter<
    diesel::dsl::Filter<
        diesel::dsl::Filter<jobs::table, diesel::dsl::Eq<jobs::id, String>>,
        diesel::dsl::Eq<jobs::lease_owner, String>,
    >,
    diesel::dsl::Eq<jobs::state, &'static str>,
>;

/// The job row while `token`'s claim still holds it.
fn held(id: Uuid, token: &str) -> Held {
    jobs::table
        .filter(jobs::id.eq(id.to_string()))
        .filter(jobs::lease_owner.eq(token.to_owned()))
        .filter(jobs::state.eq(JobState::Running.as_str()))
}

/// The job ran to its end: `done`. `false` if the lease was lost meanwhile.
pub fn complete(
    conn: &mut DbConnection,
    id: Uuid,
    token: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let n = diesel::update(held(id, token))
        .set((
            jobs::state.eq(JobState::Done.as_str()),
            jobs::leased_until.eq(None::<NaiveDateTime>),
            jobs::updated_at.eq(now.naive_utc()),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

fn clip(error: &str) -> String {
    error.chars().take(MAX_ERROR_CHARS).collect()
}

/// A try failed: back to the queue at the time given, or `dead`; the error is kept either way.
pub fn fail(
    conn: &mut DbConnection,
    id: Uuid,
    token: &str,
    error: &str,
    outcome: AfterFailure,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let (state, run_at) = match outcome {
        AfterFailure::RetryAt(at) => (JobState::Queued, Some(at.naive_utc())),
        AfterFailure::Dead => (JobState::Dead, None),
    };
    let target = held(id, token);
    let n = match run_at {
        Some(at) => diesel::update(target)
            .set((
                jobs::state.eq(state.as_str()),
                jobs::run_at.eq(at),
                jobs::leased_until.eq(None::<NaiveDateTime>),
                jobs::last_error.eq(Some(clip(error))),
                jobs::updated_at.eq(now.naive_utc()),
            ))
            .execute(conn)?,
        None => diesel::update(target)
            .set((
                jobs::state.eq(state.as_str()),
                jobs::leased_until.eq(None::<NaiveDateTime>),
                jobs::last_error.eq(Some(clip(error))),
                jobs::updated_at.eq(now.naive_utc()),
            ))
            .execute(conn)?,
    };
    Ok(n == 1)
}

/// A worker that stops before the job ends gives it back: queued, due now, and the try it
/// started is not counted.
pub fn release(
    conn: &mut DbConnection,
    id: Uuid,
    token: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let n = diesel::update(held(id, token))
        .set((
            jobs::state.eq(JobState::Queued.as_str()),
            jobs::run_at.eq(now.naive_utc()),
            jobs::attempts.eq(jobs::attempts - 1),
            jobs::leased_until.eq(None::<NaiveDateTime>),
            jobs::updated_at.eq(now.naive_utc()),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// The job is not due yet after all (it waits for daylight): queued again for `at`, and the
/// try it started is not counted.
pub fn defer(
    conn: &mut DbConnection,
    id: Uuid,
    token: &str,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let n = diesel::update(held(id, token))
        .set((
            jobs::state.eq(JobState::Queued.as_str()),
            jobs::run_at.eq(at.naive_utc()),
            jobs::attempts.eq(jobs::attempts - 1),
            jobs::leased_until.eq(None::<NaiveDateTime>),
            jobs::updated_at.eq(now.naive_utc()),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// What a staff retry found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Retried {
    /// The dead job is queued again, due now, with its tries counted from zero.
    Requeued(Job),
    /// The job is not dead: nothing changed.
    NotDead(JobState),
    NotFound,
}

/// Puts a dead job back in the queue (its last error stays until the next try).
pub fn retry_dead(
    conn: &mut DbConnection,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Retried, StoreError> {
    let ts = now.naive_utc();
    let n = diesel::update(
        jobs::table
            .filter(jobs::id.eq(id.to_string()))
            .filter(jobs::state.eq(JobState::Dead.as_str())),
    )
    .set((
        jobs::state.eq(JobState::Queued.as_str()),
        jobs::run_at.eq(ts),
        jobs::attempts.eq(0),
        jobs::leased_until.eq(None::<NaiveDateTime>),
        jobs::lease_owner.eq(None::<String>),
        jobs::updated_at.eq(ts),
    ))
    .execute(conn)?;
    match get(conn, id)? {
        None => Ok(Retried::NotFound),
        Some(job) if n == 1 => Ok(Retried::Requeued(job)),
        Some(job) => Ok(Retried::NotDead(job.state)),
    }
}

/// Which jobs a list shows.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    pub state: Option<JobState>,
    pub kind: Option<JobKind>,
}

/// Jobs, newest first (ids are UUIDv7, so id order is creation order), a page after the key
/// `after` (any text is a position in that order).
pub fn list(
    conn: &mut DbConnection,
    filter: &JobFilter,
    after: Option<String>,
    limit: usize,
) -> Result<Page<Job>, StoreError> {
    let mut q = jobs::table.select(JobRow::as_select()).into_boxed();
    if let Some(s) = filter.state {
        q = q.filter(jobs::state.eq(s.as_str()));
    }
    if let Some(k) = &filter.kind {
        q = q.filter(jobs::kind.eq(k.as_str().to_owned()));
    }
    if let Some(a) = after {
        q = q.filter(jobs::id.lt(a));
    }
    let rows = q
        .order(jobs::id.desc())
        .limit(i64::try_from(limit + 1).unwrap_or(i64::MAX))
        .load(conn)?;
    Ok(Page::from_rows(to_jobs(rows)?, limit, |j| j.id.to_string()))
}

/// How many jobs there are of each kind in each state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindCount {
    pub kind: String,
    pub state: String,
    pub count: i64,
}

/// Counts by kind and state, kinds in name order.
pub fn counts(conn: &mut DbConnection, filter: &JobFilter) -> Result<Vec<KindCount>, StoreError> {
    let mut q = jobs::table
        .group_by((jobs::kind, jobs::state))
        .select((jobs::kind, jobs::state, diesel::dsl::count_star()))
        .into_boxed();
    if let Some(s) = filter.state {
        q = q.filter(jobs::state.eq(s.as_str()));
    }
    if let Some(k) = &filter.kind {
        q = q.filter(jobs::kind.eq(k.as_str().to_owned()));
    }
    let rows: Vec<(String, String, i64)> =
        q.order((jobs::kind.asc(), jobs::state.asc())).load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(kind, state, count)| KindCount { kind, state, count })
        .collect())
}

/// What the metrics show: queued and running jobs per kind, and the oldest due queued job.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueStats {
    pub active: Vec<KindCount>,
    /// How long the oldest due job has waited (its `run_at` to now), in seconds.
    pub oldest_queued_secs: i64,
}

pub fn stats(conn: &mut DbConnection, now: DateTime<Utc>) -> Result<QueueStats, StoreError> {
    let active_states = [JobState::Queued.as_str(), JobState::Running.as_str()];
    let rows: Vec<(String, String, i64)> = jobs::table
        .filter(jobs::state.eq_any(active_states))
        .group_by((jobs::kind, jobs::state))
        .select((jobs::kind, jobs::state, diesel::dsl::count_star()))
        .load(conn)?;
    let ts = now.naive_utc();
    let oldest: Option<NaiveDateTime> = jobs::table
        .filter(jobs::state.eq(JobState::Queued.as_str()))
        .filter(jobs::run_at.le(ts))
        .select(diesel::dsl::min(jobs::run_at))
        .first(conn)?;
    Ok(QueueStats {
        active: rows
            .into_iter()
            .map(|(kind, state, count)| KindCount { kind, state, count })
            .collect(),
        oldest_queued_secs: oldest.map_or(0, |t| (ts - t).num_seconds().max(0)),
    })
}
