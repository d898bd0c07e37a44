use chrono::NaiveDateTime;
use diesel::prelude::*;
use shebao_domain::contribution::ContributionAmounts;
use shebao_domain::insurance::InsuranceType;
use shebao_domain::period::Period;
use uuid::Uuid;

use crate::db::{DbConnection, StoreError};
use crate::schema::contributions;

/// Where a month's contribution stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContributionStatus {
    Paid,
    Due,
    Arrears,
    /// Declared but not yet reconciled: never shown as zero or as paid.
    Pending,
}

impl ContributionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ContributionStatus::Paid => "paid",
            ContributionStatus::Due => "due",
            ContributionStatus::Arrears => "arrears",
            ContributionStatus::Pending => "pending",
        }
    }
}

/// One month of one insurance for one person, as loaded.
#[derive(Debug, Clone)]
pub struct NewContribution {
    pub person_id: Uuid,
    /// `None` for flexible employment (the person pays alone).
    pub employer_id: Option<Uuid>,
    pub period: Period,
    pub insurance: InsuranceType,
    pub declared_wage_fen: i64,
    pub amounts: ContributionAmounts,
    pub status: ContributionStatus,
    pub paid_at: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = contributions)]
struct ContributionInsert {
    id: String,
    person_id: String,
    employer_id: Option<String>,
    employer_key: String,
    period: String,
    insurance: &'static str,
    declared_wage_fen: i64,
    base_fen: i64,
    employer_fen: i64,
    employee_fen: i64,
    status: &'static str,
    paid_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

/// Bulk insert; callers keep each call under the backends' bound-parameter limits
/// (14 columns: at most 2,000 rows a call).
pub fn insert_many(
    conn: &mut DbConnection,
    rows: &[NewContribution],
    now: NaiveDateTime,
) -> Result<usize, StoreError> {
    let rows: Vec<ContributionInsert> = rows
        .iter()
        .map(|c| ContributionInsert {
            id: Uuid::now_v7().to_string(),
            person_id: c.person_id.to_string(),
            employer_id: c.employer_id.map(|e| e.to_string()),
            employer_key: c.employer_id.map(|e| e.to_string()).unwrap_or_default(),
            period: c.period.to_string(),
            insurance: c.insurance.as_str(),
            declared_wage_fen: c.declared_wage_fen,
            base_fen: c.amounts.base.0,
            employer_fen: c.amounts.employer.0,
            employee_fen: c.amounts.employee.0,
            status: c.status.as_str(),
            paid_at: c.paid_at,
            created_at: now,
            updated_at: now,
        })
        .collect();
    // Multi-row INSERT is one of the statements MultiConnection cannot build for both
    // backends at once, so each backend builds its own.
    let n = match conn {
        DbConnection::Postgresql(c) => diesel::insert_into(contributions::table)
            .values(&rows)
            .execute(c)?,
        DbConnection::Sqlite(c) => diesel::insert_into(contributions::table)
            .values(&rows)
            .execute(c)?,
    };
    Ok(n)
}

pub fn count_for_person(conn: &mut DbConnection, person_id: Uuid) -> Result<i64, StoreError> {
    Ok(contributions::table
        .filter(contributions::person_id.eq(person_id.to_string()))
        .count()
        .get_result(conn)?)
}
