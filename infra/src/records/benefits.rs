//! Benefit payments (pension, unemployment), month by month, with their adjustments.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::{DbConnection, StoreError};
use crate::registry::Page;
use crate::schema::benefit_payments as bp;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = bp)]
pub struct BenefitPayment {
    pub id: String,
    pub kind: String,
    pub period: String,
    pub amount_fen: i64,
    pub paid_at: NaiveDateTime,
    pub adjustment_reason: Option<String>,
    pub adjustment_delta_fen: Option<i64>,
}

/// A person's payments, newest period first, keyset-paginated by (period, id).
pub fn list(
    conn: &mut DbConnection,
    person_id: Uuid,
    kind: Option<&str>,
    after: Option<(String, String)>,
    limit: usize,
) -> Result<Page<BenefitPayment>, StoreError> {
    let mut q = bp::table
        .filter(bp::person_id.eq(person_id.to_string()))
        .select(BenefitPayment::as_select())
        .order((bp::period.desc(), bp::id.desc()))
        .limit(i64::try_from(limit + 1).unwrap_or(i64::MAX))
        .into_boxed();
    if let Some(kind) = kind {
        q = q.filter(bp::kind.eq(kind.to_owned()));
    }
    if let Some((period, id)) = after {
        q = q.filter(
            bp::period
                .lt(period.clone())
                .or(bp::period.eq(period).and(bp::id.lt(id))),
        );
    }
    let items: Vec<BenefitPayment> = q.load(conn)?;
    Ok(Page::from_rows(items, limit, |p| {
        format!("{}|{}", p.period, p.id)
    }))
}

/// The distinct months a person was paid a benefit of `kind` for, oldest first.
pub fn months(
    conn: &mut DbConnection,
    person_id: Uuid,
    kind: &str,
) -> Result<Vec<shebao_domain::period::Period>, StoreError> {
    let periods: Vec<String> = bp::table
        .filter(bp::person_id.eq(person_id.to_string()))
        .filter(bp::kind.eq(kind))
        .select(bp::period)
        .distinct()
        .order(bp::period.asc())
        .load(conn)?;
    periods
        .iter()
        .map(|p| {
            crate::registry::stored(
                "benefit_payments.period",
                shebao_domain::period::Period::parse(p),
            )
        })
        .collect()
}
