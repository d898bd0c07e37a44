//! Benefit payments (pension, unemployment), month by month, with their adjustments.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::{DbConnection, StoreError};
use crate::registry::Page;
use crate::schema::benefit_payments as bp;

#[derive(Debug, Clone)]
pub struct BenefitPayment {
    pub id: String,
    pub kind: String,
    pub period: String,
    pub amount_fen: i64,
    pub paid_at: NaiveDateTime,
    pub adjustment_reason: Option<String>,
    pub adjustment_delta_fen: Option<i64>,
}

type Row = (
    String,
    String,
    String,
    i64,
    NaiveDateTime,
    Option<String>,
    Option<i64>,
);

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
        .select((
            bp::id,
            bp::kind,
            bp::period,
            bp::amount_fen,
            bp::paid_at,
            bp::adjustment_reason,
            bp::adjustment_delta_fen,
        ))
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
    let rows: Vec<Row> = q.load(conn)?;
    let items = rows
        .into_iter()
        .map(|r| BenefitPayment {
            id: r.0,
            kind: r.1,
            period: r.2,
            amount_fen: r.3,
            paid_at: r.4,
            adjustment_reason: r.5,
            adjustment_delta_fen: r.6,
        })
        .collect();
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
