//! Payout accounts in the database: the number is stored only encrypted (PII vault, bound to
//! the column by [`NUMBER_AAD`]) and shown masked. A change takes effect after the cooling
//! period; the account in effect is the newest one not cancelled whose time has come.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use shebao_domain::payouts::PayoutDestination;
use shebao_security::PiiVault;
use uuid::Uuid;

use crate::db::{DbConnection, StoreError};
use crate::registry::stored_id;
use crate::schema::payout_accounts as pa;

/// The associated data that binds an encrypted payout number to its column.
pub const NUMBER_AAD: &[u8] = b"payout_accounts.number";

/// A payout account as shown (masked).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = pa)]
pub struct AccountRow {
    pub id: String,
    pub kind: String,
    pub institution: String,
    pub number_masked: String,
    pub created_at: NaiveDateTime,
    pub effective_at: NaiveDateTime,
}

/// The account in effect and the change waiting out its cooling period, at `now`.
#[derive(Debug, Clone, Default)]
pub struct Accounts {
    pub current: Option<AccountRow>,
    pub pending: Option<AccountRow>,
}

/// Records a change of payout account that takes effect at `effective_at`; a change still
/// pending is replaced (cancelled). Returns the new account's id.
pub fn set(
    conn: &mut DbConnection,
    vault: &PiiVault,
    person: Uuid,
    destination: &PayoutDestination,
    now: NaiveDateTime,
    effective_at: NaiveDateTime,
) -> Result<Uuid, StoreError> {
    cancel_pending(conn, person, now)?;
    let id = Uuid::now_v7();
    diesel::insert_into(pa::table)
        .values((
            pa::id.eq(id.to_string()),
            pa::person_id.eq(person.to_string()),
            pa::kind.eq(destination.kind()),
            pa::institution.eq(destination.institution()),
            pa::number_enc.eq(vault.encrypt(&destination.to_stored(), NUMBER_AAD)),
            pa::number_masked.eq(destination.masked_number()),
            pa::created_at.eq(now),
            pa::effective_at.eq(effective_at),
        ))
        .execute(conn)?;
    Ok(id)
}

/// Cancels the change still waiting (if any); returns whether there was one.
pub fn cancel_pending(
    conn: &mut DbConnection,
    person: Uuid,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let n = diesel::update(
        pa::table
            .filter(pa::person_id.eq(person.to_string()))
            .filter(pa::cancelled_at.is_null())
            .filter(pa::effective_at.gt(now)),
    )
    .set(pa::cancelled_at.eq(now))
    .execute(conn)?;
    Ok(n > 0)
}

/// The current and the pending account at `now`.
pub fn of(
    conn: &mut DbConnection,
    person: Uuid,
    now: NaiveDateTime,
) -> Result<Accounts, StoreError> {
    let base = || {
        pa::table
            .filter(pa::person_id.eq(person.to_string()))
            .filter(pa::cancelled_at.is_null())
            .select(AccountRow::as_select())
    };
    let current = base()
        .filter(pa::effective_at.le(now))
        .order((pa::effective_at.desc(), pa::id.desc()))
        .first(conn)
        .optional()?;
    let pending = base()
        .filter(pa::effective_at.gt(now))
        .order((pa::effective_at.desc(), pa::id.desc()))
        .first(conn)
        .optional()?;
    Ok(Accounts { current, pending })
}

/// The destination in effect at `now`, decrypted (for the transfer only).
pub fn in_effect(
    conn: &mut DbConnection,
    vault: &PiiVault,
    person: Uuid,
    now: NaiveDateTime,
) -> Result<Option<(Uuid, PayoutDestination)>, StoreError> {
    let row: Option<(String, String)> = pa::table
        .filter(pa::person_id.eq(person.to_string()))
        .filter(pa::cancelled_at.is_null())
        .filter(pa::effective_at.le(now))
        .order((pa::effective_at.desc(), pa::id.desc()))
        .select((pa::id, pa::number_enc))
        .first(conn)
        .optional()?;
    let Some((id, enc)) = row else {
        return Ok(None);
    };
    let plain = vault
        .decrypt(&enc, NUMBER_AAD)
        .map_err(|e| StoreError::Corrupt(format!("payout_accounts.number_enc: {e}")))?;
    let destination = PayoutDestination::from_stored(&plain)
        .map_err(|e| StoreError::Corrupt(format!("payout_accounts.number_enc: {e}")))?;
    Ok(Some((stored_id("payout_accounts.id", &id)?, destination)))
}
