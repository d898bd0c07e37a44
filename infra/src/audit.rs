//! The audit log: who did what to whom, when, from where, under which request.
//! Entries never hold an ID number, a phone number, a code or a password.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::{DbConnection, StoreError};
use crate::schema::audit_log;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    Staff,
    Person,
    System,
    Anonymous,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::Staff => "staff",
            ActorKind::Person => "person",
            ActorKind::System => "system",
            ActorKind::Anonymous => "anonymous",
        }
    }
}

#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub actor_kind: ActorKind,
    pub actor_id: Option<String>,
    /// A stable dotted name, e.g. `staff.login`, `person.create`, `person.read`.
    pub action: &'static str,
    pub subject_kind: Option<&'static str>,
    pub subject_id: Option<String>,
    /// `success` or `failure`, or a short stable reason code for failures.
    pub outcome: &'static str,
    pub reason: Option<String>,
    pub client_ip: Option<String>,
    pub request_id: Option<String>,
}

pub fn record(
    conn: &mut DbConnection,
    e: &AuditEntry,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::id.eq(Uuid::now_v7().to_string()),
            audit_log::occurred_at.eq(now),
            audit_log::actor_kind.eq(e.actor_kind.as_str()),
            audit_log::actor_id.eq(e.actor_id.as_deref()),
            audit_log::action.eq(e.action),
            audit_log::subject_kind.eq(e.subject_kind),
            audit_log::subject_id.eq(e.subject_id.as_deref()),
            audit_log::outcome.eq(e.outcome),
            audit_log::reason.eq(e.reason.as_deref()),
            audit_log::client_ip.eq(e.client_ip.as_deref()),
            audit_log::request_id.eq(e.request_id.as_deref()),
        ))
        .execute(conn)?;
    Ok(())
}

/// A recorded entry, newest first when listed.
#[derive(Debug, Clone, Queryable)]
pub struct AuditRecord {
    pub id: String,
    pub occurred_at: NaiveDateTime,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub action: String,
    pub subject_kind: Option<String>,
    pub subject_id: Option<String>,
    pub outcome: String,
    pub reason: Option<String>,
    pub client_ip: Option<String>,
    pub request_id: Option<String>,
}

/// Entries about one subject, newest first.
pub fn for_subject(
    conn: &mut DbConnection,
    subject_kind: &str,
    subject_id: &str,
    limit: i64,
) -> Result<Vec<AuditRecord>, StoreError> {
    Ok(audit_log::table
        .filter(audit_log::subject_kind.eq(subject_kind))
        .filter(audit_log::subject_id.eq(subject_id))
        .order((audit_log::occurred_at.desc(), audit_log::id.desc()))
        .limit(limit)
        .load(conn)?)
}

/// What staff did to one subject, newest first (ids are UUIDv7: they sort by time), for the
/// person's own access log.
pub fn staff_entries_for_subject(
    conn: &mut DbConnection,
    subject_kind: &str,
    subject_id: &str,
    before: Option<&str>,
    limit: usize,
) -> Result<crate::registry::Page<AuditRecord>, StoreError> {
    let mut q = audit_log::table
        .filter(audit_log::subject_kind.eq(subject_kind))
        .filter(audit_log::subject_id.eq(subject_id))
        .filter(audit_log::actor_kind.eq(ActorKind::Staff.as_str()))
        .order(audit_log::id.desc())
        .limit(i64::try_from(limit + 1).unwrap_or(i64::MAX))
        .into_boxed();
    if let Some(before) = before {
        q = q.filter(audit_log::id.lt(before.to_owned()));
    }
    let rows: Vec<AuditRecord> = q.load(conn)?;
    Ok(crate::registry::Page::from_rows(rows, limit, |r| {
        r.id.clone()
    }))
}
