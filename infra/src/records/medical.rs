//! Medical-account spending, as loaded from hospitals and pharmacies.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::{DbConnection, StoreError};
use crate::registry::Page;
use crate::schema::medical_transactions as mt;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = mt)]
pub struct MedicalTransaction {
    pub id: String,
    pub occurred_at: NaiveDateTime,
    pub institution_code: String,
    pub institution_name: String,
    pub kind: String,
    pub total_fen: i64,
    pub account_paid_fen: i64,
    pub fund_paid_fen: i64,
    pub self_paid_fen: i64,
}

/// A person's transactions, newest first, between two instants, keyset-paginated by
/// (occurred_at, id).
pub fn list(
    conn: &mut DbConnection,
    person_id: Uuid,
    from: Option<NaiveDateTime>,
    until: Option<NaiveDateTime>,
    after: Option<(NaiveDateTime, String)>,
    limit: usize,
) -> Result<Page<MedicalTransaction>, StoreError> {
    let mut q = mt::table
        .filter(mt::person_id.eq(person_id.to_string()))
        .select(MedicalTransaction::as_select())
        .order((mt::occurred_at.desc(), mt::id.desc()))
        .limit(i64::try_from(limit + 1).unwrap_or(i64::MAX))
        .into_boxed();
    if let Some(from) = from {
        q = q.filter(mt::occurred_at.ge(from));
    }
    if let Some(until) = until {
        q = q.filter(mt::occurred_at.lt(until));
    }
    if let Some((at, id)) = after {
        q = q.filter(
            mt::occurred_at
                .lt(at)
                .or(mt::occurred_at.eq(at).and(mt::id.lt(id))),
        );
    }
    let items: Vec<MedicalTransaction> = q.load(conn)?;
    Ok(Page::from_rows(items, limit, |t| {
        format!("{}|{}", t.occurred_at.and_utc().timestamp_micros(), t.id)
    }))
}

/// What the account has paid out in total. `SUM(BIGINT)` is NUMERIC on PostgreSQL: the cast
/// keeps one query for both backends.
pub fn account_paid_total(conn: &mut DbConnection, person_id: Uuid) -> Result<i64, StoreError> {
    Ok(mt::table
        .filter(mt::person_id.eq(person_id.to_string()))
        .select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
            "CAST(COALESCE(SUM(account_paid_fen), 0) AS BIGINT)",
        ))
        .first(conn)?)
}
