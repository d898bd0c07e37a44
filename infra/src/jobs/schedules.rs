//! Cron schedules in the database. Each slot of a schedule fires once across every instance:
//! firing inserts the row (schedule, slot) and enqueues the slot's job in one transaction, and
//! only the instance whose insert went in enqueues. A slot missed while nothing ran fires late,
//! once (only the latest missed slot; see `CronSchedule::due_slot`).

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use shebao_domain::jobs::{CronExpr, CronSchedule, JobKind};
use shebao_domain::region::TimeZoneName;

use super::queue::{self, NewJob};
use crate::db::{DbConnection, StoreError};
use crate::registry::stored;
use crate::schema::{job_schedule_slots, job_schedules};

/// A schedule: every slot of `schedule` enqueues a job of `kind`.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// A stable name (`campaign.due`): the schedule's identity.
    pub name: String,
    pub kind: JobKind,
    pub schedule: CronSchedule,
    pub created_at: DateTime<Utc>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = job_schedules)]
struct ScheduleRow {
    name: String,
    kind: String,
    expression: String,
    time_zone: String,
    created_at: NaiveDateTime,
}

impl TryFrom<ScheduleRow> for Schedule {
    type Error = StoreError;
    fn try_from(r: ScheduleRow) -> Result<Schedule, StoreError> {
        Ok(Schedule {
            kind: stored("job_schedules.kind", JobKind::parse(&r.kind))?,
            schedule: CronSchedule {
                expr: stored("job_schedules.expression", CronExpr::parse(&r.expression))?,
                zone: stored("job_schedules.time_zone", TimeZoneName::parse(&r.time_zone))?,
            },
            name: r.name,
            created_at: r.created_at.and_utc(),
        })
    }
}

/// Creates the schedule, or changes its kind, expression and zone. Slots before `now` of a new
/// schedule do not fire.
pub fn upsert(
    conn: &mut DbConnection,
    name: &str,
    kind: &JobKind,
    schedule: &CronSchedule,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let ts = now.naive_utc();
    let changed = diesel::update(job_schedules::table.find(name))
        .set((
            job_schedules::kind.eq(kind.as_str()),
            job_schedules::expression.eq(schedule.expr.as_str()),
            job_schedules::time_zone.eq(schedule.zone.as_str()),
            job_schedules::updated_at.eq(ts),
        ))
        .execute(conn)?;
    if changed == 0 {
        let insert = diesel::insert_into(job_schedules::table)
            .values((
                job_schedules::name.eq(name),
                job_schedules::kind.eq(kind.as_str()),
                job_schedules::expression.eq(schedule.expr.as_str()),
                job_schedules::time_zone.eq(schedule.zone.as_str()),
                job_schedules::created_at.eq(ts),
                job_schedules::updated_at.eq(ts),
            ))
            .on_conflict_do_nothing();
        on_backend!(conn, |c| insert.execute(c))?;
    }
    Ok(())
}

pub fn all(conn: &mut DbConnection) -> Result<Vec<Schedule>, StoreError> {
    job_schedules::table
        .select(ScheduleRow::as_select())
        .order(job_schedules::name.asc())
        .load(conn)?
        .into_iter()
        .map(Schedule::try_from)
        .collect()
}

/// The newest slot fired of a schedule.
fn last_fired(conn: &mut DbConnection, name: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
    let last: Option<NaiveDateTime> = job_schedule_slots::table
        .filter(job_schedule_slots::schedule_name.eq(name))
        .select(diesel::dsl::max(job_schedule_slots::slot))
        .first(conn)?;
    Ok(last.map(|t| t.and_utc()))
}

/// The job a slot enqueues: its payload names the schedule and the slot (RFC 3339, UTC), and
/// its dedupe key is the pair, so it exists once even if the slot row were lost.
pub fn slot_job(s: &Schedule, slot: DateTime<Utc>, now: DateTime<Utc>) -> NewJob {
    let slot_text = slot.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    NewJob {
        kind: s.kind.clone(),
        payload: serde_json::json!({"schedule": s.name, "slot": slot_text}).to_string(),
        run_at: now,
        max_attempts: 5,
        dedupe_key: Some(format!("schedule:{}:{slot_text}", s.name)),
    }
}

/// A slot fired by this call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fired {
    pub schedule: String,
    pub slot: DateTime<Utc>,
    pub job_id: uuid::Uuid,
}

/// Fires the due slot of every schedule (at most one per schedule per call). Each firing is
/// its own transaction; a slot another instance fired first is skipped.
pub fn fire_due(conn: &mut DbConnection, now: DateTime<Utc>) -> Result<Vec<Fired>, StoreError> {
    let mut fired = Vec::new();
    for s in all(conn)? {
        let after = last_fired(conn, &s.name)?.unwrap_or(s.created_at);
        let Some(slot) = s.schedule.due_slot(after, now) else {
            continue;
        };
        let job = slot_job(&s, slot, now);
        let name = s.name.clone();
        let outcome = conn.transaction(|c| {
            let job_id = uuid::Uuid::now_v7();
            let insert = diesel::insert_into(job_schedule_slots::table)
                .values((
                    job_schedule_slots::schedule_name.eq(&name),
                    job_schedule_slots::slot.eq(slot.naive_utc()),
                    job_schedule_slots::job_id.eq(job_id.to_string()),
                    job_schedule_slots::fired_at.eq(now.naive_utc()),
                ))
                .on_conflict_do_nothing();
            let inserted = on_backend!(c, |c| insert.execute(c))?;
            if inserted == 0 {
                return Ok::<_, StoreError>(None);
            }
            let id = queue::enqueue_with_id(c, job_id, &job, now)?;
            Ok(id)
        })?;
        if let Some(job_id) = outcome {
            tracing::info!(schedule = %s.name, slot = %slot, %job_id, "schedule slot fired");
            fired.push(Fired {
                schedule: s.name,
                slot,
                job_id,
            });
        }
    }
    Ok(fired)
}
