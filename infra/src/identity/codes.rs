//! SMS codes: stored as keyed hashes, valid five minutes, dead after five wrong tries, and
//! counted for the resend cool-down and the daily caps.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use shebao_domain::auth::{sms_policy, SmsPurpose};
use shebao_security::PiiVault;
use uuid::Uuid;

use crate::db::{DbConnection, StoreError};
use crate::schema::{sms_codes, sms_phone_locks};

/// The stored hash of a code: keyed (a 6-digit code is guessed in a million tries otherwise)
/// and bound to the code's row, so equal codes do not hash alike.
pub fn code_hash(vault: &PiiVault, id: Uuid, code: &str) -> String {
    vault.blind_index("sms_code", &format!("{id}:{code}"))
}

/// Why a new code may not be sent now, with the seconds to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendRefused {
    Cooldown(i64),
    PhoneDailyCap(i64),
    IpDailyCap(i64),
}

/// Takes the phone's send lock until the transaction ends (creating its row the first time):
/// an upsert, so it takes the row lock on PostgreSQL and the write lock on SQLite. Requests for
/// one phone then check the cool-down and the caps and record their code one at a time.
pub fn lock_phone(
    conn: &mut DbConnection,
    phone_hash: &str,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    let values = (
        sms_phone_locks::phone_hash.eq(phone_hash),
        sms_phone_locks::locked_at.eq(now),
    );
    let set = sms_phone_locks::locked_at.eq(now);
    // MultiConnection cannot build `ON CONFLICT`: each backend builds the same statement.
    match conn {
        DbConnection::Postgresql(c) => diesel::insert_into(sms_phone_locks::table)
            .values(values)
            .on_conflict(sms_phone_locks::phone_hash)
            .do_update()
            .set(set)
            .execute(c)?,
        DbConnection::Sqlite(c) => diesel::insert_into(sms_phone_locks::table)
            .values(values)
            .on_conflict(sms_phone_locks::phone_hash)
            .do_update()
            .set(set)
            .execute(c)?,
    };
    Ok(())
}

/// Checks the cool-down and the daily caps (a rolling 24 hours). A code whose send failed
/// does not start the cool-down. Call it after [`lock_phone`], in the same transaction.
pub fn may_send(
    conn: &mut DbConnection,
    phone_hash: &str,
    purpose: SmsPurpose,
    client_ip: &str,
    now: NaiveDateTime,
) -> Result<Result<(), SendRefused>, StoreError> {
    let last: Option<NaiveDateTime> = sms_codes::table
        .filter(sms_codes::phone_hash.eq(phone_hash))
        .filter(sms_codes::purpose.eq(purpose.as_str()))
        .filter(sms_codes::send_status.ne(FAILED))
        .select(diesel::dsl::max(sms_codes::created_at))
        .first(conn)?;
    if let Some(last) = last {
        let ready = last + Duration::seconds(sms_policy::RESEND_COOLDOWN_SECS);
        if ready > now {
            return Ok(Err(SendRefused::Cooldown(
                (ready - now).num_seconds().max(1),
            )));
        }
    }
    let day_ago = now - Duration::hours(24);
    let by_phone: Vec<NaiveDateTime> = sms_codes::table
        .filter(sms_codes::phone_hash.eq(phone_hash))
        .filter(sms_codes::created_at.gt(day_ago))
        .select(sms_codes::created_at)
        .order(sms_codes::created_at.asc())
        .limit(sms_policy::DAILY_CAP_PER_PHONE)
        .load(conn)?;
    if by_phone.len() as i64 >= sms_policy::DAILY_CAP_PER_PHONE {
        let wait = by_phone
            .first()
            .map(|t| (*t + Duration::hours(24) - now).num_seconds().max(1))
            .unwrap_or(3600);
        return Ok(Err(SendRefused::PhoneDailyCap(wait)));
    }
    let by_ip: i64 = sms_codes::table
        .filter(sms_codes::client_ip.eq(client_ip))
        .filter(sms_codes::created_at.gt(day_ago))
        .count()
        .get_result(conn)?;
    if by_ip >= sms_policy::DAILY_CAP_PER_IP {
        return Ok(Err(SendRefused::IpDailyCap(3600)));
    }
    Ok(Ok(()))
}

/// A code about to be sent.
#[derive(Debug, Clone, Copy)]
pub struct NewCode<'a> {
    /// Also the SMS message's idempotency key.
    pub id: Uuid,
    pub phone_hash: &'a str,
    pub purpose: SmsPurpose,
    pub code: &'a str,
    pub client_ip: &'a str,
}

/// Records a new code before it is sent.
pub fn insert(
    conn: &mut DbConnection,
    vault: &PiiVault,
    new: NewCode<'_>,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    let NewCode {
        id,
        phone_hash,
        purpose,
        code,
        client_ip,
    } = new;
    diesel::insert_into(sms_codes::table)
        .values((
            sms_codes::id.eq(id.to_string()),
            sms_codes::phone_hash.eq(phone_hash),
            sms_codes::purpose.eq(purpose.as_str()),
            sms_codes::code_hash.eq(code_hash(vault, id, code)),
            sms_codes::client_ip.eq(client_ip),
            sms_codes::attempts.eq(0),
            sms_codes::expires_at.eq(now + Duration::seconds(sms_policy::CODE_TTL_SECS)),
            sms_codes::send_status.eq("pending"),
            sms_codes::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

const FAILED: &str = "failed";

/// What the provider said: `sent` with its id; `failed` (the code can then never be used, and
/// it does not count for the cool-down); or `unknown` (no readable answer: the person may have
/// the code, so it stays valid).
pub fn mark_sent(conn: &mut DbConnection, id: Uuid, provider_id: &str) -> Result<(), StoreError> {
    diesel::update(sms_codes::table.find(id.to_string()))
        .set((
            sms_codes::send_status.eq("sent"),
            sms_codes::provider_id.eq(Some(provider_id)),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn mark_failed(
    conn: &mut DbConnection,
    id: Uuid,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::update(sms_codes::table.find(id.to_string()))
        .set((
            sms_codes::send_status.eq(FAILED),
            sms_codes::consumed_at.eq(Some(now)),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn mark_unknown(conn: &mut DbConnection, id: Uuid) -> Result<(), StoreError> {
    diesel::update(sms_codes::table.find(id.to_string()))
        .set(sms_codes::send_status.eq("unknown"))
        .execute(conn)?;
    Ok(())
}

/// Checks `code` against the newest live code for this phone and purpose, and uses it up when
/// it matches. A wrong code counts a try; the fifth wrong try kills the code. Only one caller
/// can ever use a code (conditional UPDATE).
pub fn verify(
    conn: &mut DbConnection,
    vault: &PiiVault,
    phone_hash: &str,
    purpose: SmsPurpose,
    code: &str,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let live: Option<(String, String)> = sms_codes::table
        .filter(sms_codes::phone_hash.eq(phone_hash))
        .filter(sms_codes::purpose.eq(purpose.as_str()))
        .filter(sms_codes::consumed_at.is_null())
        .filter(sms_codes::send_status.ne(FAILED))
        .filter(sms_codes::expires_at.gt(now))
        .filter(sms_codes::attempts.lt(sms_policy::MAX_ATTEMPTS))
        .order(sms_codes::created_at.desc())
        .select((sms_codes::id, sms_codes::code_hash))
        .first(conn)
        .optional()?;
    let Some((id, stored)) = live else {
        return Ok(false);
    };
    let Ok(uuid) = Uuid::parse_str(&id) else {
        return Err(StoreError::Corrupt("sms_codes.id".into()));
    };
    let code = code.trim();
    let matches = code.len() == sms_policy::CODE_DIGITS
        && code.bytes().all(|b| b.is_ascii_digit())
        && constant_time_eq(code_hash(vault, uuid, code).as_bytes(), stored.as_bytes());
    if !matches {
        diesel::update(sms_codes::table.find(&id))
            .set(sms_codes::attempts.eq(sms_codes::attempts + 1))
            .execute(conn)?;
        return Ok(false);
    }
    let used = diesel::update(
        sms_codes::table
            .find(&id)
            .filter(sms_codes::consumed_at.is_null()),
    )
    .set(sms_codes::consumed_at.eq(Some(now)))
    .execute(conn)?;
    Ok(used == 1)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
