use chrono::NaiveDateTime;
use diesel::prelude::*;
use shebao_domain::staff::{StaffRole, Username};
use uuid::Uuid;

use super::{stored, stored_id};
use crate::db::{DbConnection, StoreError};
use crate::schema::staff_accounts;

#[derive(Debug, Clone)]
pub struct StaffAccount {
    pub id: Uuid,
    pub username: Username,
    pub password_hash: String,
    pub role: StaffRole,
    pub active: bool,
}

/// A staff account with that username exists already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsernameTaken;

type StaffRow = (String, String, String, String, i32);

fn from_row((id, username, hash, role, active): StaffRow) -> Result<StaffAccount, StoreError> {
    Ok(StaffAccount {
        id: stored_id("staff_accounts.id", &id)?,
        username: stored("staff_accounts.username", Username::parse(&username))?,
        password_hash: hash,
        role: stored("staff_accounts.role", StaffRole::parse(&role))?,
        active: active != 0,
    })
}

pub fn insert(
    conn: &mut DbConnection,
    username: &Username,
    password_hash: &str,
    role: StaffRole,
    now: NaiveDateTime,
) -> Result<Result<Uuid, UsernameTaken>, StoreError> {
    if find_by_username(conn, username)?.is_some() {
        return Ok(Err(UsernameTaken));
    }
    let id = Uuid::now_v7();
    let result = diesel::insert_into(staff_accounts::table)
        .values((
            staff_accounts::id.eq(id.to_string()),
            staff_accounts::username.eq(username.as_str()),
            staff_accounts::password_hash.eq(password_hash),
            staff_accounts::role.eq(role.as_str()),
            staff_accounts::active.eq(1),
            staff_accounts::failed_logins.eq(0),
            staff_accounts::created_at.eq(now),
            staff_accounts::updated_at.eq(now),
        ))
        .execute(conn);
    match result.map_err(StoreError::from) {
        Ok(_) => Ok(Ok(id)),
        Err(StoreError::Conflict(_)) => Ok(Err(UsernameTaken)),
        Err(other) => Err(other),
    }
}

pub fn find_by_username(
    conn: &mut DbConnection,
    username: &Username,
) -> Result<Option<StaffAccount>, StoreError> {
    staff_accounts::table
        .filter(staff_accounts::username.eq(username.as_str()))
        .select((
            staff_accounts::id,
            staff_accounts::username,
            staff_accounts::password_hash,
            staff_accounts::role,
            staff_accounts::active,
        ))
        .first::<StaffRow>(conn)
        .optional()?
        .map(from_row)
        .transpose()
}

/// The roles of these staff accounts, by id.
pub fn roles_of(
    conn: &mut DbConnection,
    ids: &[String],
) -> Result<std::collections::HashMap<String, String>, StoreError> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let rows: Vec<(String, String)> = staff_accounts::table
        .filter(staff_accounts::id.eq_any(ids))
        .select((staff_accounts::id, staff_accounts::role))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

/// Gives a staff account a region (a caseworker with one sees and decides only its
/// applications); `None` takes it away. False when there is no such account.
pub fn set_region(
    conn: &mut DbConnection,
    id: Uuid,
    region: Option<&str>,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    Ok(diesel::update(staff_accounts::table.find(id.to_string()))
        .set((
            staff_accounts::region_code.eq(region),
            staff_accounts::updated_at.eq(now),
        ))
        .execute(conn)?
        > 0)
}

/// The region of a staff account (`None`: all regions, or no such account).
pub fn region_of(conn: &mut DbConnection, id: Uuid) -> Result<Option<String>, StoreError> {
    Ok(staff_accounts::table
        .find(id.to_string())
        .select(staff_accounts::region_code)
        .first::<Option<String>>(conn)
        .optional()?
        .flatten())
}
