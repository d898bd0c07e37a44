//! Sessions, their rotating refresh tokens, and spent single-use token ids.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use shebao_domain::region::TimeZoneName;
use uuid::Uuid;

use crate::db::{DbConnection, StoreError};
use crate::registry::{stored, stored_id, Page};
use crate::schema::{refresh_tokens, sessions, spent_tokens};

/// How long a refresh token stays valid if unused.
pub const REFRESH_TTL_DAYS: i64 = 30;

#[derive(Debug, Clone)]
pub struct Session {
    pub id: Uuid,
    pub account_id: Uuid,
    pub device: String,
    pub created_at: NaiveDateTime,
    pub last_used_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
}

type Row = (
    String,
    String,
    String,
    NaiveDateTime,
    NaiveDateTime,
    Option<NaiveDateTime>,
);

const COLUMNS: (
    sessions::id,
    sessions::account_id,
    sessions::device,
    sessions::created_at,
    sessions::last_used_at,
    sessions::revoked_at,
) = (
    sessions::id,
    sessions::account_id,
    sessions::device,
    sessions::created_at,
    sessions::last_used_at,
    sessions::revoked_at,
);

fn from_row(r: Row) -> Result<Session, StoreError> {
    Ok(Session {
        id: stored_id("sessions.id", &r.0)?,
        account_id: stored_id("sessions.account_id", &r.1)?,
        device: r.2,
        created_at: r.3,
        last_used_at: r.4,
        revoked_at: r.5,
    })
}

pub fn create(
    conn: &mut DbConnection,
    account_id: Uuid,
    device: &str,
    client_ip: Option<&str>,
    now: NaiveDateTime,
) -> Result<Uuid, StoreError> {
    let id = Uuid::now_v7();
    diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(id.to_string()),
            sessions::account_id.eq(account_id.to_string()),
            sessions::device.eq(device),
            sessions::client_ip.eq(client_ip),
            sessions::created_at.eq(now),
            sessions::last_used_at.eq(now),
        ))
        .execute(conn)?;
    Ok(id)
}

pub fn get(conn: &mut DbConnection, id: Uuid) -> Result<Option<Session>, StoreError> {
    sessions::table
        .find(id.to_string())
        .select(COLUMNS)
        .first::<Row>(conn)
        .optional()?
        .map(from_row)
        .transpose()
}

/// The account's live sessions, newest first, keyset-paginated by id (UUIDv7 sorts by time).
pub fn list_active(
    conn: &mut DbConnection,
    account_id: Uuid,
    before: Option<&str>,
    limit: usize,
) -> Result<Page<Session>, StoreError> {
    let mut q = sessions::table
        .filter(sessions::account_id.eq(account_id.to_string()))
        .filter(sessions::revoked_at.is_null())
        .select(COLUMNS)
        .order(sessions::id.desc())
        .limit(i64::try_from(limit + 1).unwrap_or(i64::MAX))
        .into_boxed();
    if let Some(before) = before {
        q = q.filter(sessions::id.lt(before.to_owned()));
    }
    let rows: Vec<Row> = q.load(conn)?;
    let items = rows
        .into_iter()
        .map(from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(items, limit, |s| s.id.to_string()))
}

/// The person an account is bound to, with what their region decides about every request's
/// dates: its time zone and the day of the month contributions fall due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPerson {
    pub id: Uuid,
    pub time_zone: TimeZoneName,
    pub due_day: u8,
}

/// What an access token's session says about the request, read in one query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSession {
    /// The person the account is bound to, if any, and their region's calendar.
    pub person: Option<SessionPerson>,
    /// Whether the session was last noted more than a minute before `now` (see [`touch`]).
    pub stale: bool,
}

/// The session `id` if it is live and belongs to `account_id`, with the account's bound person
/// and where they live: the one read every authenticated request makes.
pub fn authenticate(
    conn: &mut DbConnection,
    id: Uuid,
    account_id: Uuid,
    now: NaiveDateTime,
) -> Result<Option<LiveSession>, StoreError> {
    use crate::schema::{accounts, persons, regions};
    type AuthRow = (String, NaiveDateTime, Option<(String, String, i32)>);
    let row: Option<AuthRow> = sessions::table
        .inner_join(accounts::table.left_join(persons::table.inner_join(regions::table)))
        .filter(sessions::id.eq(id.to_string()))
        .filter(sessions::revoked_at.is_null())
        .select((
            sessions::account_id,
            sessions::last_used_at,
            (
                persons::id,
                regions::time_zone,
                regions::contribution_due_day,
            )
                .nullable(),
        ))
        .first(conn)
        .optional()?;
    let Some((owner, last_used_at, person)) = row else {
        return Ok(None);
    };
    if stored_id("sessions.account_id", &owner)? != account_id {
        return Ok(None);
    }
    let person = match person {
        Some((pid, tz, due_day)) => Some(SessionPerson {
            id: stored_id("persons.id", &pid)?,
            time_zone: stored("regions.time_zone", TimeZoneName::parse(&tz))?,
            due_day: u8::try_from(due_day).map_err(|_| {
                StoreError::Corrupt(format!("regions.contribution_due_day: {due_day}"))
            })?,
        }),
        None => None,
    };
    Ok(Some(LiveSession {
        person,
        stale: last_used_at < now - Duration::minutes(1),
    }))
}

/// Notes use of a session, at most once a minute (so reads do not all write).
pub fn touch(conn: &mut DbConnection, id: Uuid, now: NaiveDateTime) -> Result<(), StoreError> {
    diesel::update(
        sessions::table
            .find(id.to_string())
            .filter(sessions::last_used_at.lt(now - Duration::minutes(1))),
    )
    .set(sessions::last_used_at.eq(now))
    .execute(conn)?;
    Ok(())
}

/// Ends one session of an account; false if there is no such live session of that account.
pub fn revoke(
    conn: &mut DbConnection,
    account_id: Uuid,
    id: Uuid,
    reason: &str,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let n = diesel::update(
        sessions::table
            .find(id.to_string())
            .filter(sessions::account_id.eq(account_id.to_string()))
            .filter(sessions::revoked_at.is_null()),
    )
    .set((
        sessions::revoked_at.eq(Some(now)),
        sessions::revoke_reason.eq(Some(reason)),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Ends every live session of an account.
pub fn revoke_all(
    conn: &mut DbConnection,
    account_id: Uuid,
    reason: &str,
    now: NaiveDateTime,
) -> Result<usize, StoreError> {
    Ok(diesel::update(
        sessions::table
            .filter(sessions::account_id.eq(account_id.to_string()))
            .filter(sessions::revoked_at.is_null()),
    )
    .set((
        sessions::revoked_at.eq(Some(now)),
        sessions::revoke_reason.eq(Some(reason)),
    ))
    .execute(conn)?)
}

/// Stores the hash of a new refresh token for the session.
pub fn issue_refresh(
    conn: &mut DbConnection,
    session_id: Uuid,
    token_hash: &str,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::id.eq(Uuid::now_v7().to_string()),
            refresh_tokens::session_id.eq(session_id.to_string()),
            refresh_tokens::token_hash.eq(token_hash),
            refresh_tokens::created_at.eq(now),
            refresh_tokens::expires_at.eq(now + Duration::days(REFRESH_TTL_DAYS)),
        ))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct RefreshToken {
    pub id: String,
    pub session_id: Uuid,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
}

pub fn find_refresh(
    conn: &mut DbConnection,
    token_hash: &str,
) -> Result<Option<RefreshToken>, StoreError> {
    let row: Option<(String, String, NaiveDateTime, Option<NaiveDateTime>)> = refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .select((
            refresh_tokens::id,
            refresh_tokens::session_id,
            refresh_tokens::expires_at,
            refresh_tokens::used_at,
        ))
        .first(conn)
        .optional()?;
    row.map(|(id, sid, expires_at, used_at)| {
        Ok(RefreshToken {
            id,
            session_id: stored_id("refresh_tokens.session_id", &sid)?,
            expires_at,
            used_at,
        })
    })
    .transpose()
}

/// Uses a refresh token up; false if it was used already (by a racing request too).
pub fn spend_refresh(
    conn: &mut DbConnection,
    id: &str,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let n = diesel::update(
        refresh_tokens::table
            .find(id)
            .filter(refresh_tokens::used_at.is_null()),
    )
    .set(refresh_tokens::used_at.eq(Some(now)))
    .execute(conn)?;
    Ok(n == 1)
}

/// Records a single-use token id as spent; false if it was spent before.
pub fn spend_token_id(
    conn: &mut DbConnection,
    jti: &str,
    expires_at: NaiveDateTime,
) -> Result<bool, StoreError> {
    let exists: bool =
        diesel::select(diesel::dsl::exists(spent_tokens::table.find(jti))).get_result(conn)?;
    if exists {
        return Ok(false);
    }
    match diesel::insert_into(spent_tokens::table)
        .values((
            spent_tokens::jti.eq(jti),
            spent_tokens::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .map_err(StoreError::from)
    {
        Ok(_) => Ok(true),
        Err(StoreError::Conflict(_)) => Ok(false),
        Err(e) => Err(e),
    }
}
