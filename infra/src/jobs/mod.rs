//! Durable jobs: the queue in the database ([`queue`]), cron schedules that enqueue a job per
//! slot ([`schedules`]), and the runner that claims jobs under a lease and hands them to the
//! handler registered for their kind ([`runner`]). The rules (states, backoff, slots) are in
//! `shebao_domain::jobs`.
//!
//! Any number of runners share one queue: on PostgreSQL a claim locks its rows with
//! `FOR UPDATE SKIP LOCKED` in a short transaction, on SQLite one claim runs at a time. A job
//! is only ever finished by the claim that holds its lease (`lease_owner` is a token per
//! claim), so a worker that lost its lease cannot overwrite the next one's work.

/// Runs one statement built once on whichever backend the connection is: for the clauses
/// diesel's `MultiConnection` cannot express itself (`ON CONFLICT DO NOTHING`), which both
/// backends spell the same.
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Postgresql($c) => $body,
            $crate::db::DbConnection::Sqlite($c) => $body,
        }
    };
}

pub mod probe;
pub mod queue;
pub mod runner;
pub mod schedules;

pub use queue::{Job, NewJob};
pub use runner::{
    Handlers, JobContext, JobDone, JobFailure, JobFuture, JobHandler, Runner, RunnerConfig,
};
