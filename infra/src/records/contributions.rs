use chrono::NaiveDateTime;
use diesel::prelude::*;
use shebao_domain::contribution::ContributionAmounts;
use shebao_domain::insurance::InsuranceType;
use shebao_domain::period::Period;
use uuid::Uuid;

use crate::db::{DbConnection, StoreError};
use crate::registry::{stored, stored_id, Page};
use crate::schema::{contributions, employers};

pub use shebao_domain::statement::ContributionStatus;

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

/// A month of one insurance as the person sees it.
#[derive(Debug, Clone)]
pub struct ContributionRecord {
    pub period: Period,
    pub insurance: InsuranceType,
    /// The employer, or `None` for flexible employment.
    pub employer: Option<(Uuid, String)>,
    pub employer_key: String,
    pub base_fen: i64,
    pub employer_fen: i64,
    pub employee_fen: i64,
    pub status: ContributionStatus,
    pub paid_at: Option<NaiveDateTime>,
}

impl ContributionRecord {
    /// The keyset cursor of this row in the newest-first order.
    pub fn cursor_key(&self) -> String {
        format!(
            "{}|{}|{}",
            self.period,
            self.insurance.as_str(),
            self.employer_key
        )
    }
}

/// Filters of the list.
#[derive(Debug, Clone, Default)]
pub struct ContributionFilter {
    pub insurance: Option<InsuranceType>,
    pub from: Option<Period>,
    pub to: Option<Period>,
}

/// Where a page continues: after (period, insurance, employer key) in newest-first order.
#[derive(Debug, Clone)]
pub struct ContributionCursor {
    pub period: String,
    pub insurance: String,
    pub employer_key: String,
}

impl ContributionCursor {
    pub fn parse(key: &str) -> Option<ContributionCursor> {
        let mut parts = key.splitn(3, '|');
        let period = Period::parse(parts.next()?).ok()?.to_string();
        let insurance = InsuranceType::parse(parts.next()?)
            .ok()?
            .as_str()
            .to_owned();
        let employer_key = parts.next()?.to_owned();
        Some(ContributionCursor {
            period,
            insurance,
            employer_key,
        })
    }
}

type ListRow = (
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    i64,
    i64,
    i64,
    String,
    Option<NaiveDateTime>,
);

fn record_from(r: ListRow) -> Result<ContributionRecord, StoreError> {
    let (
        period,
        insurance,
        employer_id,
        employer_name,
        employer_key,
        base,
        employer_fen,
        employee_fen,
        status,
        paid_at,
    ) = r;
    let employer = match (employer_id, employer_name) {
        (Some(id), Some(name)) => Some((stored_id("contributions.employer_id", &id)?, name)),
        _ => None,
    };
    Ok(ContributionRecord {
        period: stored("contributions.period", Period::parse(&period))?,
        insurance: stored("contributions.insurance", InsuranceType::parse(&insurance))?,
        employer,
        employer_key,
        base_fen: base,
        employer_fen,
        employee_fen,
        status: ContributionStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("contributions.status: {status}")))?,
        paid_at,
    })
}

/// One person's contributions, newest month first, keyset-paginated.
pub fn list(
    conn: &mut DbConnection,
    person_id: Uuid,
    filter: &ContributionFilter,
    after: Option<&ContributionCursor>,
    limit: usize,
) -> Result<Page<ContributionRecord>, StoreError> {
    let mut q = contributions::table
        .left_join(employers::table)
        .filter(contributions::person_id.eq(person_id.to_string()))
        .select((
            contributions::period,
            contributions::insurance,
            contributions::employer_id,
            employers::name.nullable(),
            contributions::employer_key,
            contributions::base_fen,
            contributions::employer_fen,
            contributions::employee_fen,
            contributions::status,
            contributions::paid_at,
        ))
        .order((
            contributions::period.desc(),
            contributions::insurance.asc(),
            contributions::employer_key.asc(),
        ))
        .limit(i64::try_from(limit + 1).unwrap_or(i64::MAX))
        .into_boxed();
    if let Some(i) = filter.insurance {
        q = q.filter(contributions::insurance.eq(i.as_str()));
    }
    if let Some(from) = filter.from {
        q = q.filter(contributions::period.ge(from.to_string()));
    }
    if let Some(to) = filter.to {
        q = q.filter(contributions::period.le(to.to_string()));
    }
    if let Some(c) = after {
        q = q.filter(
            contributions::period
                .lt(c.period.clone())
                .or(contributions::period
                    .eq(c.period.clone())
                    .and(contributions::insurance.gt(c.insurance.clone())))
                .or(contributions::period
                    .eq(c.period.clone())
                    .and(contributions::insurance.eq(c.insurance.clone()))
                    .and(contributions::employer_key.gt(c.employer_key.clone()))),
        );
    }
    let rows: Vec<ListRow> = q.load(conn)?;
    let items = rows
        .into_iter()
        .map(record_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(
        items,
        limit,
        ContributionRecord::cursor_key,
    ))
}

/// Every month row of a person (for the summary and the accounts), with the base.
pub fn month_rows(
    conn: &mut DbConnection,
    person_id: Uuid,
) -> Result<Vec<(shebao_domain::statement::MonthRow, i64)>, StoreError> {
    let rows: Vec<(String, String, String, i64, i64, i64)> = contributions::table
        .filter(contributions::person_id.eq(person_id.to_string()))
        .select((
            contributions::period,
            contributions::insurance,
            contributions::status,
            contributions::employer_fen,
            contributions::employee_fen,
            contributions::base_fen,
        ))
        .load(conn)?;
    rows.into_iter()
        .map(|(period, insurance, status, employer, employee, base)| {
            Ok((
                shebao_domain::statement::MonthRow {
                    period: stored("contributions.period", Period::parse(&period))?,
                    insurance: stored("contributions.insurance", InsuranceType::parse(&insurance))?,
                    status: ContributionStatus::parse(&status).ok_or_else(|| {
                        StoreError::Corrupt(format!("contributions.status: {status}"))
                    })?,
                    employer: shebao_domain::money::Fen(employer),
                    employee: shebao_domain::money::Fen(employee),
                },
                base,
            ))
        })
        .collect()
}
