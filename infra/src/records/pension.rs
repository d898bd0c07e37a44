//! The personal pension account's yearly interest.

use diesel::prelude::*;
use uuid::Uuid;

use crate::db::{DbConnection, StoreError};
use crate::schema::pension_interest_credits as pic;

/// (year, interest) credited to a person's account, oldest first.
pub fn interest_credits(
    conn: &mut DbConnection,
    person_id: Uuid,
) -> Result<Vec<(i32, i64)>, StoreError> {
    Ok(pic::table
        .filter(pic::person_id.eq(person_id.to_string()))
        .select((pic::year, pic::interest_fen))
        .order(pic::year.asc())
        .load(conn)?)
}
