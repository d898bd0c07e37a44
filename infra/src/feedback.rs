//! Feedback threads and their messages in the database.
//!
//! Every change to a thread begins by locking its row ([`lock`]: `FOR UPDATE` on PostgreSQL; on
//! SQLite the write transaction holds the database already), so the status a handler decides on
//! is the one it writes over: two replies at once both land, one after the other, and a close
//! racing a follow-up is seen by whichever comes second.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use shebao_domain::feedback::{FeedbackKind, FeedbackStatus};
use shebao_domain::region::TimeZoneName;
use uuid::Uuid;

use crate::db::{DbConnection, StoreError};
use crate::registry::{stored, stored_id, Page};
use crate::schema::{applications, feedback_messages, feedback_threads, payments, regions};

/// What a thread is about, besides its words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Related {
    /// One of the person's applications.
    Application(Uuid),
    /// One of the person's payments.
    Payment(Uuid),
    /// A designated institution, by its code (its shape checked, not its existence).
    Institution(String),
}

impl Related {
    fn columns(&self) -> (&'static str, String) {
        match self {
            Related::Application(id) => ("application", id.to_string()),
            Related::Payment(id) => ("payment", id.to_string()),
            Related::Institution(code) => ("institution", code.clone()),
        }
    }

    fn from_columns(kind: Option<&str>, id: Option<&str>) -> Result<Option<Related>, StoreError> {
        Ok(match (kind, id) {
            (None, _) | (_, None) => None,
            (Some("application"), Some(id)) => Some(Related::Application(stored_id(
                "feedback_threads.related_id",
                id,
            )?)),
            (Some("payment"), Some(id)) => Some(Related::Payment(stored_id(
                "feedback_threads.related_id",
                id,
            )?)),
            (Some("institution"), Some(code)) => Some(Related::Institution(code.to_owned())),
            (Some(other), Some(_)) => {
                return Err(StoreError::Corrupt(format!(
                    "feedback_threads.related_kind: {other}"
                )))
            }
        })
    }
}

/// A rating the person gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rating {
    pub stars: u8,
    pub comment: Option<String>,
    pub at: NaiveDateTime,
}

/// A thread as stored, with its region's time zone.
#[derive(Debug, Clone)]
pub struct Thread {
    pub id: Uuid,
    pub person_id: Uuid,
    pub region_code: String,
    pub time_zone: TimeZoneName,
    pub kind: FeedbackKind,
    pub subject: String,
    pub related: Option<Related>,
    pub status: FeedbackStatus,
    pub request_hash: Option<String>,
    /// Set while the thread waits for the agency.
    pub waiting_since: Option<NaiveDateTime>,
    /// The agency's first reply.
    pub answered_at: Option<NaiveDateTime>,
    /// The agency's latest reply.
    pub last_reply_at: Option<NaiveDateTime>,
    pub closed_at: Option<NaiveDateTime>,
    pub rating: Option<Rating>,
    pub created_at: NaiveDateTime,
    /// The last message or status change.
    pub updated_at: NaiveDateTime,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = feedback_threads)]
struct ThreadRow {
    id: String,
    person_id: String,
    region_code: String,
    kind: String,
    subject: String,
    related_kind: Option<String>,
    related_id: Option<String>,
    status: String,
    request_hash: Option<String>,
    waiting_since: Option<NaiveDateTime>,
    answered_at: Option<NaiveDateTime>,
    last_reply_at: Option<NaiveDateTime>,
    closed_at: Option<NaiveDateTime>,
    rating_stars: Option<i32>,
    rating_comment: Option<String>,
    rated_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

fn thread(row: ThreadRow, zone: String) -> Result<Thread, StoreError> {
    let rating = match (row.rating_stars, row.rated_at) {
        (Some(stars), Some(at)) => Some(Rating {
            stars: stored("feedback_threads.rating_stars", u8::try_from(stars))?,
            comment: row.rating_comment,
            at,
        }),
        _ => None,
    };
    Ok(Thread {
        id: stored_id("feedback_threads.id", &row.id)?,
        person_id: stored_id("feedback_threads.person_id", &row.person_id)?,
        region_code: row.region_code,
        time_zone: stored("regions.time_zone", TimeZoneName::parse(&zone))?,
        kind: stored("feedback_threads.kind", FeedbackKind::parse(&row.kind))?,
        subject: row.subject,
        related: Related::from_columns(row.related_kind.as_deref(), row.related_id.as_deref())?,
        status: stored(
            "feedback_threads.status",
            FeedbackStatus::parse(&row.status),
        )?,
        request_hash: row.request_hash,
        waiting_since: row.waiting_since,
        answered_at: row.answered_at,
        last_reply_at: row.last_reply_at,
        closed_at: row.closed_at,
        rating,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

fn threads(rows: Vec<(ThreadRow, String)>) -> Result<Vec<Thread>, StoreError> {
    rows.into_iter().map(|(r, z)| thread(r, z)).collect()
}

/// A message of a thread.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = feedback_messages)]
pub struct Message {
    pub id: String,
    /// `person`, `caseworker` or `admin`.
    pub author_role: String,
    pub body: String,
    pub created_at: NaiveDateTime,
}

// ---------------------------------------------------------------------------------------------
// The keys the lists are ordered by

/// An instant as 20 digits (`YYYYMMDDhhmmss` and microseconds): its text sorts as it does.
fn instant_digits(t: NaiveDateTime) -> String {
    t.format("%Y%m%d%H%M%S%6f").to_string()
}

/// The person's list, newest activity first: the last activity, then the id.
fn activity_key(updated_at: NaiveDateTime, id: Uuid) -> String {
    format!("{}{}", instant_digits(updated_at), id.simple())
}

/// The staff queue: threads waiting for the agency first, the longest waiting first; then the
/// answered ones and the closed ones, the least recently active first.
fn queue_key(
    status: FeedbackStatus,
    waiting_since: Option<NaiveDateTime>,
    updated_at: NaiveDateTime,
    id: Uuid,
) -> String {
    let (rank, at) = match status {
        FeedbackStatus::Open => ("0", waiting_since.unwrap_or(updated_at)),
        FeedbackStatus::Answered => ("1", updated_at),
        FeedbackStatus::Closed => ("2", updated_at),
    };
    format!("{rank}{}{}", instant_digits(at), id.simple())
}

// ---------------------------------------------------------------------------------------------
// Reading

fn with_zone() -> diesel::dsl::InnerJoin<feedback_threads::table, regions::table> {
    feedback_threads::table.inner_join(regions::table)
}

pub fn get(conn: &mut DbConnection, id: Uuid) -> Result<Option<Thread>, StoreError> {
    with_zone()
        .filter(feedback_threads::id.eq(id.to_string()))
        .select((ThreadRow::as_select(), regions::time_zone))
        .first::<(ThreadRow, String)>(conn)
        .optional()?
        .map(|(r, z)| thread(r, z))
        .transpose()
}

/// The thread, its row locked until the transaction ends (PostgreSQL; SQLite's write
/// transaction holds the whole database).
pub fn lock(conn: &mut DbConnection, id: Uuid) -> Result<Option<Thread>, StoreError> {
    let key = id.to_string();
    let row: Option<(ThreadRow, String)> = crate::db_run!(conn,
        postgres: |c| {
            // Only the thread's row is locked, not its region's.
            let zone: Option<String> = feedback_threads::table
                .filter(feedback_threads::id.eq(&key))
                .select(feedback_threads::region_code)
                .for_update()
                .first(c)
                .optional()?;
            match zone {
                None => None,
                Some(_) => with_zone()
                    .filter(feedback_threads::id.eq(&key))
                    .select((ThreadRow::as_select(), regions::time_zone))
                    .first(c)
                    .optional()?,
            }
        },
        sqlite: |c| with_zone()
            .filter(feedback_threads::id.eq(&key))
            .select((ThreadRow::as_select(), regions::time_zone))
            .first(c)
            .optional()?,
    );
    row.map(|(r, z)| thread(r, z)).transpose()
}

/// The thread a person created with this idempotency key.
pub fn by_key(
    conn: &mut DbConnection,
    person: Uuid,
    key: &str,
) -> Result<Option<Thread>, StoreError> {
    with_zone()
        .filter(feedback_threads::person_id.eq(person.to_string()))
        .filter(feedback_threads::idempotency_key.eq(key))
        .select((ThreadRow::as_select(), regions::time_zone))
        .first::<(ThreadRow, String)>(conn)
        .optional()?
        .map(|(r, z)| thread(r, z))
        .transpose()
}

/// A thread's messages, oldest first.
pub fn messages(conn: &mut DbConnection, thread: Uuid) -> Result<Vec<Message>, StoreError> {
    Ok(feedback_messages::table
        .filter(feedback_messages::thread_id.eq(thread.to_string()))
        .order(feedback_messages::id.asc())
        .select(Message::as_select())
        .load(conn)?)
}

fn limit_of(limit: usize) -> i64 {
    i64::try_from(limit + 1).unwrap_or(i64::MAX)
}

/// A person's threads, the latest activity first, after `after` (a key a page gave).
pub fn list_of_person(
    conn: &mut DbConnection,
    person: Uuid,
    after: Option<&str>,
    limit: usize,
) -> Result<Page<Thread>, StoreError> {
    let mut q = with_zone()
        .filter(feedback_threads::person_id.eq(person.to_string()))
        .order(feedback_threads::activity_key.desc())
        .limit(limit_of(limit))
        .select((ThreadRow::as_select(), regions::time_zone))
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(feedback_threads::activity_key.lt(after.to_owned()));
    }
    let items = threads(q.load(conn)?)?;
    Ok(Page::from_rows(items, limit, |t| {
        activity_key(t.updated_at, t.id)
    }))
}

/// What the staff queue is filtered by.
#[derive(Debug, Clone, Default)]
pub struct StaffFilter {
    pub status: Option<FeedbackStatus>,
    pub kind: Option<FeedbackKind>,
    pub region: Option<String>,
}

/// The staff queue (see [`queue_key`] for the order), after `after` (a key a page gave).
pub fn queue(
    conn: &mut DbConnection,
    filter: &StaffFilter,
    after: Option<&str>,
    limit: usize,
) -> Result<Page<Thread>, StoreError> {
    let mut q = with_zone()
        .order(feedback_threads::queue_key.asc())
        .limit(limit_of(limit))
        .select((ThreadRow::as_select(), regions::time_zone))
        .into_boxed();
    if let Some(status) = filter.status {
        q = q.filter(feedback_threads::status.eq(status.as_str()));
    }
    if let Some(kind) = filter.kind {
        q = q.filter(feedback_threads::kind.eq(kind.as_str()));
    }
    if let Some(region) = &filter.region {
        q = q.filter(feedback_threads::region_code.eq(region.clone()));
    }
    if let Some(after) = after {
        q = q.filter(feedback_threads::queue_key.gt(after.to_owned()));
    }
    let items = threads(q.load(conn)?)?;
    Ok(Page::from_rows(items, limit, |t| {
        queue_key(t.status, t.waiting_since, t.updated_at, t.id)
    }))
}

/// Whether `application` is one of `person`'s applications.
pub fn owns_application(
    conn: &mut DbConnection,
    person: Uuid,
    application: Uuid,
) -> Result<bool, StoreError> {
    let n: i64 = applications::table
        .filter(applications::id.eq(application.to_string()))
        .filter(applications::person_id.eq(person.to_string()))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Whether `payment` is one of `person`'s payments (one they made).
pub fn owns_payment(
    conn: &mut DbConnection,
    person: Uuid,
    payment: Uuid,
) -> Result<bool, StoreError> {
    let n: i64 = payments::table
        .filter(payments::id.eq(payment.to_string()))
        .filter(payments::person_id.eq(person.to_string()))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

// ---------------------------------------------------------------------------------------------
// Writing

/// A new thread, as the person wrote it.
#[derive(Debug, Clone)]
pub struct NewThread {
    pub person_id: Uuid,
    pub region_code: String,
    pub kind: FeedbackKind,
    pub subject: String,
    pub body: String,
    pub related: Option<Related>,
    pub idempotency_key: Option<String>,
    pub request_hash: Option<String>,
}

/// Creates a thread (`open`, waiting from now) with its first message, by the person.
pub fn create(
    conn: &mut DbConnection,
    new: &NewThread,
    now: NaiveDateTime,
) -> Result<Thread, StoreError> {
    let id = Uuid::now_v7();
    let (related_kind, related_id) = match &new.related {
        Some(r) => {
            let (k, id) = r.columns();
            (Some(k), Some(id))
        }
        None => (None, None),
    };
    let status = FeedbackStatus::Open;
    diesel::insert_into(feedback_threads::table)
        .values((
            feedback_threads::id.eq(id.to_string()),
            feedback_threads::person_id.eq(new.person_id.to_string()),
            feedback_threads::region_code.eq(&new.region_code),
            feedback_threads::kind.eq(new.kind.as_str()),
            feedback_threads::subject.eq(&new.subject),
            feedback_threads::related_kind.eq(related_kind),
            feedback_threads::related_id.eq(related_id),
            feedback_threads::status.eq(status.as_str()),
            feedback_threads::idempotency_key.eq(new.idempotency_key.as_deref()),
            feedback_threads::request_hash.eq(new.request_hash.as_deref()),
            feedback_threads::waiting_since.eq(Some(now)),
            feedback_threads::activity_key.eq(activity_key(now, id)),
            feedback_threads::queue_key.eq(queue_key(status, Some(now), now, id)),
            feedback_threads::created_at.eq(now),
            feedback_threads::updated_at.eq(now),
        ))
        .execute(conn)?;
    insert_message(conn, id, "person", &new.body, now)?;
    get(conn, id)?.ok_or(StoreError::NotFound)
}

fn insert_message(
    conn: &mut DbConnection,
    thread: Uuid,
    author_role: &str,
    body: &str,
    now: NaiveDateTime,
) -> Result<Uuid, StoreError> {
    let id = Uuid::now_v7();
    diesel::insert_into(feedback_messages::table)
        .values((
            feedback_messages::id.eq(id.to_string()),
            feedback_messages::thread_id.eq(thread.to_string()),
            feedback_messages::author_role.eq(author_role),
            feedback_messages::body.eq(body),
            feedback_messages::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(id)
}

/// Writes a thread's new status and what goes with it: waiting from now when it starts to wait
/// (kept when it waited already), the replies' times on a staff reply, the close.
fn set_status(
    conn: &mut DbConnection,
    t: &Thread,
    to: FeedbackStatus,
    staff_reply: bool,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    let waiting_since = match to {
        FeedbackStatus::Open => Some(t.waiting_since.unwrap_or(now)),
        FeedbackStatus::Answered | FeedbackStatus::Closed => None,
    };
    let (answered_at, last_reply_at) = if staff_reply {
        (Some(t.answered_at.unwrap_or(now)), Some(now))
    } else {
        (t.answered_at, t.last_reply_at)
    };
    let closed_at = (to == FeedbackStatus::Closed).then_some(now);
    diesel::update(feedback_threads::table.find(t.id.to_string()))
        .set((
            feedback_threads::status.eq(to.as_str()),
            feedback_threads::waiting_since.eq(waiting_since),
            feedback_threads::answered_at.eq(answered_at),
            feedback_threads::last_reply_at.eq(last_reply_at),
            feedback_threads::closed_at.eq(closed_at),
            feedback_threads::activity_key.eq(activity_key(now, t.id)),
            feedback_threads::queue_key.eq(queue_key(to, waiting_since, now, t.id)),
            feedback_threads::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Adds a message by `author_role` (`person`, or a staff role) and moves the thread to `to`
/// (decided by the caller on the locked thread). Returns the message's id.
pub fn add_message(
    conn: &mut DbConnection,
    t: &Thread,
    author_role: &str,
    body: &str,
    to: FeedbackStatus,
    now: NaiveDateTime,
) -> Result<Uuid, StoreError> {
    let id = insert_message(conn, t.id, author_role, body, now)?;
    set_status(conn, t, to, author_role != "person", now)?;
    Ok(id)
}

/// Closes the thread (decided by the caller on the locked thread).
pub fn close(conn: &mut DbConnection, t: &Thread, now: NaiveDateTime) -> Result<(), StoreError> {
    set_status(conn, t, FeedbackStatus::Closed, false, now)
}

/// Records the rating unless one is recorded already; false if one was.
pub fn rate(
    conn: &mut DbConnection,
    thread: Uuid,
    stars: u8,
    comment: Option<&str>,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let n = diesel::update(
        feedback_threads::table
            .find(thread.to_string())
            .filter(feedback_threads::rated_at.is_null()),
    )
    .set((
        feedback_threads::rating_stars.eq(Some(i32::from(stars))),
        feedback_threads::rating_comment.eq(comment),
        feedback_threads::rated_at.eq(Some(now)),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").unwrap_or_default()
    }

    #[test]
    fn keys_are_fixed_width_and_sort_as_their_instants() {
        let id = Uuid::nil();
        let a = activity_key(at("2026-11-27 15:00:00.5"), id);
        let b = activity_key(at("2026-11-27 15:00:01"), id);
        assert_eq!(a.len(), 52);
        assert!(a < b);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        // Waiting threads first, the longest waiting first; then answered, then closed.
        let early = at("2026-11-20 09:00:00");
        let late = at("2026-11-27 09:00:00");
        let waiting_long = queue_key(FeedbackStatus::Open, Some(early), late, id);
        let waiting_short = queue_key(FeedbackStatus::Open, Some(late), late, id);
        let answered = queue_key(FeedbackStatus::Answered, None, early, id);
        let closed = queue_key(FeedbackStatus::Closed, None, early, id);
        assert!(waiting_long < waiting_short);
        assert!(waiting_short < answered);
        assert!(answered < closed);
        assert_eq!(waiting_long.len(), 53);
    }
}
