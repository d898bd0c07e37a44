use chrono::NaiveDateTime;
use diesel::prelude::*;
use shebao_domain::identity::PhoneNumber;
use shebao_security::PiiVault;
use uuid::Uuid;

use super::{PHONE_AAD, PHONE_INDEX};
use crate::db::{DbConnection, StoreError};
use crate::registry::stored_id;
use crate::schema::{accounts, recovery_codes};

#[derive(Debug, Clone)]
pub struct Account {
    pub id: Uuid,
    pub phone_hash: String,
    pub phone_masked: String,
    pub password_hash: Option<String>,
    pub totp_secret_enc: Option<String>,
    pub totp_pending_enc: Option<String>,
    pub totp_last_step: Option<i64>,
    pub person_id: Option<Uuid>,
    pub bound_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

impl Account {
    pub fn totp_enabled(&self) -> bool {
        self.totp_secret_enc.is_some()
    }
}

type Row = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<NaiveDateTime>,
    NaiveDateTime,
);

macro_rules! columns {
    () => {
        (
            accounts::id,
            accounts::phone_hash,
            accounts::phone_masked,
            accounts::password_hash,
            accounts::totp_secret_enc,
            accounts::totp_pending_enc,
            accounts::totp_last_step,
            accounts::person_id,
            accounts::bound_at,
            accounts::created_at,
        )
    };
}

fn from_row(r: Row) -> Result<Account, StoreError> {
    Ok(Account {
        id: stored_id("accounts.id", &r.0)?,
        phone_hash: r.1,
        phone_masked: r.2,
        password_hash: r.3,
        totp_secret_enc: r.4,
        totp_pending_enc: r.5,
        totp_last_step: r.6,
        person_id: r
            .7
            .as_deref()
            .map(|p| stored_id("accounts.person_id", p))
            .transpose()?,
        bound_at: r.8,
        created_at: r.9,
    })
}

pub fn phone_hash(vault: &PiiVault, phone: &PhoneNumber) -> String {
    vault.blind_index(PHONE_INDEX, phone.as_e164())
}

pub fn get(conn: &mut DbConnection, id: Uuid) -> Result<Option<Account>, StoreError> {
    accounts::table
        .find(id.to_string())
        .select(columns!())
        .first::<Row>(conn)
        .optional()?
        .map(from_row)
        .transpose()
}

pub fn find_by_phone_hash(
    conn: &mut DbConnection,
    hash: &str,
) -> Result<Option<Account>, StoreError> {
    accounts::table
        .filter(accounts::phone_hash.eq(hash))
        .select(columns!())
        .first::<Row>(conn)
        .optional()?
        .map(from_row)
        .transpose()
}

/// The account's phone number, decrypted (to send it a notice).
pub fn phone(
    conn: &mut DbConnection,
    vault: &PiiVault,
    id: Uuid,
) -> Result<Option<PhoneNumber>, StoreError> {
    let enc: Option<String> = accounts::table
        .find(id.to_string())
        .select(accounts::phone_enc)
        .first(conn)
        .optional()?;
    enc.map(|enc| {
        vault
            .decrypt(&enc, PHONE_AAD)
            .ok()
            .and_then(|p| PhoneNumber::parse(&p).ok())
            .ok_or_else(|| StoreError::Corrupt("accounts.phone_enc".into()))
    })
    .transpose()
}

/// An account with this phone number exists already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhoneTaken;

pub fn create(
    conn: &mut DbConnection,
    vault: &PiiVault,
    phone: &PhoneNumber,
    password_hash: &str,
    now: NaiveDateTime,
) -> Result<Result<Account, PhoneTaken>, StoreError> {
    let hash = phone_hash(vault, phone);
    if find_by_phone_hash(conn, &hash)?.is_some() {
        return Ok(Err(PhoneTaken));
    }
    let id = Uuid::now_v7();
    let result = diesel::insert_into(accounts::table)
        .values((
            accounts::id.eq(id.to_string()),
            accounts::phone_hash.eq(&hash),
            accounts::phone_enc.eq(vault.encrypt(phone.as_e164(), PHONE_AAD)),
            accounts::phone_masked.eq(phone.masked()),
            accounts::password_hash.eq(Some(password_hash)),
            accounts::failed_logins.eq(0),
            accounts::created_at.eq(now),
            accounts::updated_at.eq(now),
        ))
        .execute(conn);
    match result.map_err(StoreError::from) {
        Ok(_) => {}
        Err(StoreError::Conflict(_)) => return Ok(Err(PhoneTaken)),
        Err(e) => return Err(e),
    }
    get(conn, id)?.ok_or(StoreError::NotFound).map(Ok)
}

pub fn set_password(
    conn: &mut DbConnection,
    id: Uuid,
    hash: &str,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::update(accounts::table.find(id.to_string()))
        .set((
            accounts::password_hash.eq(Some(hash)),
            accounts::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Starts (or restarts) TOTP enrolment, or a replacement, with an encrypted secret awaiting
/// confirmation (an enabled secret stays until then).
pub fn set_totp_pending(
    conn: &mut DbConnection,
    id: Uuid,
    enc: &str,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::update(accounts::table.find(id.to_string()))
        .set((
            accounts::totp_pending_enc.eq(Some(enc)),
            accounts::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Turns the pending secret on (replacing an enabled one), remembering the step of the code
/// that confirmed it. Returns false when this secret is no longer the pending one.
pub fn confirm_totp(
    conn: &mut DbConnection,
    id: Uuid,
    pending_enc: &str,
    step: i64,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let n = diesel::update(
        accounts::table
            .find(id.to_string())
            .filter(accounts::totp_pending_enc.eq(pending_enc)),
    )
    .set((
        accounts::totp_secret_enc.eq(Some(pending_enc)),
        accounts::totp_pending_enc.eq(None::<String>),
        accounts::totp_last_step.eq(Some(step)),
        accounts::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Accepts a TOTP step only if it is later than the last accepted one. One conditional UPDATE:
/// a code replayed on another instance at the same moment still succeeds only once.
pub fn accept_totp_step(conn: &mut DbConnection, id: Uuid, step: i64) -> Result<bool, StoreError> {
    let n = diesel::update(
        accounts::table
            .find(id.to_string())
            .filter(accounts::totp_secret_enc.is_not_null())
            .filter(
                accounts::totp_last_step
                    .is_null()
                    .or(accounts::totp_last_step.lt(step)),
            ),
    )
    .set(accounts::totp_last_step.eq(Some(step)))
    .execute(conn)?;
    Ok(n == 1)
}

/// Switches TOTP off and deletes the recovery codes.
pub fn disable_totp(
    conn: &mut DbConnection,
    id: Uuid,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::update(accounts::table.find(id.to_string()))
        .set((
            accounts::totp_secret_enc.eq(None::<String>),
            accounts::totp_pending_enc.eq(None::<String>),
            accounts::totp_last_step.eq(None::<i64>),
            accounts::updated_at.eq(now),
        ))
        .execute(conn)?;
    diesel::delete(recovery_codes::table.filter(recovery_codes::account_id.eq(id.to_string())))
        .execute(conn)?;
    Ok(())
}

/// Replaces the account's recovery codes by these hashes.
pub fn replace_recovery_codes(
    conn: &mut DbConnection,
    id: Uuid,
    hashes: &[String],
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::delete(recovery_codes::table.filter(recovery_codes::account_id.eq(id.to_string())))
        .execute(conn)?;
    for h in hashes {
        diesel::insert_into(recovery_codes::table)
            .values((
                recovery_codes::id.eq(Uuid::now_v7().to_string()),
                recovery_codes::account_id.eq(id.to_string()),
                recovery_codes::code_hash.eq(h),
                recovery_codes::created_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Spends a recovery code; false if it is unknown or used.
pub fn use_recovery_code(
    conn: &mut DbConnection,
    id: Uuid,
    hash: &str,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let n = diesel::update(
        recovery_codes::table
            .filter(recovery_codes::account_id.eq(id.to_string()))
            .filter(recovery_codes::code_hash.eq(hash))
            .filter(recovery_codes::used_at.is_null()),
    )
    .set(recovery_codes::used_at.eq(Some(now)))
    .execute(conn)?;
    Ok(n >= 1)
}

/// Why a binding could not be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindConflict {
    /// This account is bound already.
    AccountBound,
    /// The person is bound to another account.
    PersonBound,
}

pub fn bind(
    conn: &mut DbConnection,
    id: Uuid,
    person_id: Uuid,
    now: NaiveDateTime,
) -> Result<Result<(), BindConflict>, StoreError> {
    let taken: bool = diesel::select(diesel::dsl::exists(
        accounts::table
            .filter(accounts::person_id.eq(person_id.to_string()))
            .filter(accounts::id.ne(id.to_string())),
    ))
    .get_result(conn)?;
    if taken {
        return Ok(Err(BindConflict::PersonBound));
    }
    let result = diesel::update(
        accounts::table
            .find(id.to_string())
            .filter(accounts::person_id.is_null()),
    )
    .set((
        accounts::person_id.eq(Some(person_id.to_string())),
        accounts::bound_at.eq(Some(now)),
        accounts::updated_at.eq(now),
    ))
    .execute(conn);
    match result.map_err(StoreError::from) {
        Ok(1) => Ok(Ok(())),
        Ok(_) => Ok(Err(BindConflict::AccountBound)),
        Err(StoreError::Conflict(_)) => Ok(Err(BindConflict::PersonBound)),
        Err(e) => Err(e),
    }
}

/// Removes the binding; false if there was none.
pub fn unbind(conn: &mut DbConnection, id: Uuid, now: NaiveDateTime) -> Result<bool, StoreError> {
    let n = diesel::update(
        accounts::table
            .find(id.to_string())
            .filter(accounts::person_id.is_not_null()),
    )
    .set((
        accounts::person_id.eq(None::<String>),
        accounts::bound_at.eq(None::<NaiveDateTime>),
        accounts::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}
