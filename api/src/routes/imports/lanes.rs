//! The lane scheduler: parsed rows go to a writer ("lane") by their key's owner and are written
//! in batches of [`BATCH_ROWS`], each in its own transaction, while the body is still being
//! read. Every key's rows stay in one lane, in file order, so two lanes never write the same key.

use std::sync::{Arc, Mutex, PoisonError};

use chrono::NaiveDateTime;
use shebao_infra::db::{Backend, Db, StoreError};
use shebao_infra::records::imports::{
    BatchOutcome, ImportContext, Importer, RejectReason, Rejection, BATCH_ROWS,
};
use shebao_security::PiiVault;

use crate::error::ApiError;

use super::MAX_LISTED_REJECTIONS;

/// A batch being written.
type InFlight = tokio::task::JoinHandle<Result<BatchOutcome, StoreError>>;

/// On PostgreSQL batches are written by this many connections at once (on the records bench, new
/// rows/s with 1: 36,000, 2: 49,500, 3: 54,000–59,500, 4: 61,000; each is a pooled connection the
/// import holds for its whole length, so past 3 the phone traffic would pay for little).
/// Rows go to a lane by their key's owner (the person for contributions, the external id
/// otherwise), so every key's rows stay in one lane, in file order, and two lanes never write
/// the same key. SQLite has one writer at a time anyway, and a transaction that read before
/// another one committed could not then write: one lane there.
const POSTGRES_LANES: usize = 3;

fn lanes_for(backend: Backend) -> usize {
    match backend {
        Backend::Postgres => POSTGRES_LANES,
        Backend::Sqlite => 1,
    }
}

/// What the batches written so far came to.
#[derive(Debug, Default)]
pub(super) struct Tally {
    pub accepted: u64,
    pub unchanged: u64,
    pub rejected_total: u64,
    /// The rejections with the lowest line numbers seen so far (trimmed to
    /// [`MAX_LISTED_REJECTIONS`] now and then, and at the end).
    pub rejected: Vec<Rejection>,
}

impl Tally {
    pub fn reject(&mut self, line: u64, reason: RejectReason) {
        self.record_rejections(vec![Rejection { line, reason }]);
    }

    fn record_rejections(&mut self, rejections: Vec<Rejection>) {
        self.rejected_total += rejections.len() as u64;
        self.rejected.extend(rejections);
        if self.rejected.len() >= 2 * MAX_LISTED_REJECTIONS {
            self.trim_rejections();
        }
    }

    pub fn trim_rejections(&mut self) {
        self.rejected.sort_by_key(|r| r.line);
        self.rejected.truncate(MAX_LISTED_REJECTIONS);
    }

    fn count(&mut self, outcome: BatchOutcome) {
        self.accepted += outcome.accepted;
        self.unchanged += outcome.unchanged;
        self.record_rejections(outcome.rejected);
    }

    pub fn summary(&self) -> String {
        format!(
            "accepted={}, unchanged={}, rejected={}",
            self.accepted, self.unchanged, self.rejected_total
        )
    }
}

/// One writer: the batch being filled, and the one being written meanwhile.
struct Lane<Row> {
    /// Its own caches (employers, regional parameters), so the lanes never wait for each other.
    ctx: Arc<Mutex<ImportContext>>,
    batch: Vec<(u64, Row)>,
    /// At most one batch in flight per lane: a lane's batches are written one after the other.
    in_flight: Option<InFlight>,
}

/// The writers of one import.
pub(super) struct Lanes<I: Importer> {
    db: Db,
    now: NaiveDateTime,
    lanes: Vec<Lane<I::Row>>,
    /// Batches handed to the database.
    pub batches: u64,
}

impl<I: Importer> Lanes<I> {
    pub fn new(db: Db, vault: &PiiVault, now: NaiveDateTime) -> Lanes<I> {
        let lanes = (0..lanes_for(db.backend()))
            .map(|_| Lane {
                ctx: Arc::new(Mutex::new(ImportContext::new(vault.clone()))),
                batch: Vec::with_capacity(BATCH_ROWS),
                in_flight: None,
            })
            .collect();
        Lanes {
            db,
            now,
            lanes,
            batches: 0,
        }
    }

    /// The lane of a row: by its key's owner.
    fn lane_of(&self, row: &I::Row) -> usize {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        I::lane_key(row).hash(&mut h);
        (h.finish() % self.lanes.len() as u64) as usize
    }

    /// Queues a row in its lane, writing the lane's batch once it is full.
    pub async fn push(
        &mut self,
        tally: &mut Tally,
        line: u64,
        row: I::Row,
    ) -> Result<(), ApiError> {
        let lane = self.lane_of(&row);
        self.lanes[lane].batch.push((line, row));
        if self.lanes[lane].batch.len() >= BATCH_ROWS {
            self.flush(tally, lane).await?;
        }
        Ok(())
    }

    /// Writes what every lane holds and waits for all of it.
    pub async fn finish(&mut self, tally: &mut Tally) -> Result<(), ApiError> {
        for lane in 0..self.lanes.len() {
            self.flush(tally, lane).await?;
        }
        self.settle_all(tally).await
    }

    /// Hands a lane's batch to the database and returns at once, so that reading and parsing
    /// go on while it is written (the request's CPU work and the database's overlap). The lane's
    /// batch before is waited for first; a failed batch stops the import (the other lane's batch
    /// in flight may still be written).
    async fn flush(&mut self, tally: &mut Tally, lane: usize) -> Result<(), ApiError> {
        self.settle(tally, lane).await?;
        let rows = Arc::new(std::mem::take(&mut self.lanes[lane].batch));
        if rows.is_empty() {
            return Ok(());
        }
        self.batches += 1;
        let task = tokio::spawn(Self::apply(
            self.db.clone(),
            self.lanes[lane].ctx.clone(),
            self.now,
            rows,
        ));
        self.lanes[lane].in_flight = Some(task);
        Ok(())
    }

    /// Waits for the lane's batch in flight, if any, and counts its outcome.
    async fn settle(&mut self, tally: &mut Tally, lane: usize) -> Result<(), ApiError> {
        if let Some(task) = self.lanes[lane].in_flight.take() {
            let outcome = task
                .await
                .map_err(|e| StoreError::Unavailable(format!("import batch task failed: {e}")))??;
            tally.count(outcome);
        }
        Ok(())
    }

    /// Waits for every lane's batch in flight; the first error wins.
    pub async fn settle_all(&mut self, tally: &mut Tally) -> Result<(), ApiError> {
        let mut result = Ok(());
        for lane in 0..self.lanes.len() {
            let settled = self.settle(tally, lane).await;
            if result.is_ok() {
                result = settled;
            }
        }
        result
    }

    /// One batch in one transaction. A unique-key violation means another import inserted one of
    /// the batch's keys meanwhile: the batch is tried once more, and then finds that row stored.
    async fn apply(
        db: Db,
        ctx: Arc<Mutex<ImportContext>>,
        now: NaiveDateTime,
        rows: Arc<Vec<(u64, I::Row)>>,
    ) -> Result<BatchOutcome, StoreError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (rows, ctx) = (rows.clone(), ctx.clone());
            let result = db
                .transaction(move |c| {
                    let mut ctx = ctx.lock().unwrap_or_else(PoisonError::into_inner);
                    I::apply(c, &mut ctx, &rows, now)
                })
                .await;
            match result {
                Err(StoreError::Conflict(_)) if attempt < 2 => continue,
                other => return other,
            }
        }
    }
}
