use chrono::NaiveDateTime;
use diesel::prelude::*;
use shebao_domain::employer::{CreditCode, EmployerName};
use shebao_domain::region::RegionCode;
use uuid::Uuid;

use super::{stored, stored_id, Page};
use crate::db::{DbConnection, StoreError};
use crate::schema::employers;

#[derive(Debug, Clone)]
pub struct Employer {
    pub id: Uuid,
    pub name: EmployerName,
    pub credit_code: CreditCode,
    pub region: RegionCode,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone)]
pub struct NewEmployer {
    pub name: EmployerName,
    pub credit_code: CreditCode,
    pub region: RegionCode,
}

/// The employer already registered under the same credit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreditCodeTaken;

type EmployerRow = (String, String, String, String, NaiveDateTime);

fn from_row((id, name, code, region, created_at): EmployerRow) -> Result<Employer, StoreError> {
    Ok(Employer {
        id: stored_id("employers.id", &id)?,
        name: stored("employers.name", EmployerName::parse(&name))?,
        credit_code: stored("employers.credit_code", CreditCode::parse(&code))?,
        region: stored("employers.region_code", RegionCode::parse(&region))?,
        created_at,
    })
}

const COLUMNS: (
    employers::id,
    employers::name,
    employers::credit_code,
    employers::region_code,
    employers::created_at,
) = (
    employers::id,
    employers::name,
    employers::credit_code,
    employers::region_code,
    employers::created_at,
);

pub fn insert(
    conn: &mut DbConnection,
    e: &NewEmployer,
    id: Uuid,
    now: NaiveDateTime,
) -> Result<Result<Employer, CreditCodeTaken>, StoreError> {
    if find_by_credit_code(conn, &e.credit_code)?.is_some() {
        return Ok(Err(CreditCodeTaken));
    }
    let result = diesel::insert_into(employers::table)
        .values((
            employers::id.eq(id.to_string()),
            employers::name.eq(e.name.as_str()),
            employers::credit_code.eq(e.credit_code.as_str()),
            employers::region_code.eq(e.region.as_str()),
            employers::created_at.eq(now),
            employers::updated_at.eq(now),
        ))
        .execute(conn);
    match result.map_err(StoreError::from) {
        Ok(_) => {}
        Err(StoreError::Conflict(_)) => return Ok(Err(CreditCodeTaken)),
        Err(other) => return Err(other),
    }
    get(conn, id)?.ok_or(StoreError::NotFound).map(Ok)
}

pub fn get(conn: &mut DbConnection, id: Uuid) -> Result<Option<Employer>, StoreError> {
    employers::table
        .find(id.to_string())
        .select(COLUMNS)
        .first::<EmployerRow>(conn)
        .optional()?
        .map(from_row)
        .transpose()
}

pub fn find_by_credit_code(
    conn: &mut DbConnection,
    code: &CreditCode,
) -> Result<Option<Employer>, StoreError> {
    employers::table
        .filter(employers::credit_code.eq(code.as_str()))
        .select(COLUMNS)
        .first::<EmployerRow>(conn)
        .optional()?
        .map(from_row)
        .transpose()
}

/// How staff look an employer up: exactly one way per search.
#[derive(Debug, Clone)]
pub enum EmployerLookup {
    CreditCode(CreditCode),
    /// Exact registered name (index `employers_name_idx`).
    Name(EmployerName),
}

/// The employers a look-up matches, by id, keyset-paginated after `after` (an id).
pub fn search(
    conn: &mut DbConnection,
    by: &EmployerLookup,
    after: Option<&str>,
    limit: usize,
) -> Result<Page<Employer>, StoreError> {
    let mut q = employers::table
        .select(COLUMNS)
        .order(employers::id.asc())
        .limit(i64::try_from(limit + 1).unwrap_or(i64::MAX))
        .into_boxed();
    q = match by {
        EmployerLookup::CreditCode(c) => q.filter(employers::credit_code.eq(c.as_str().to_owned())),
        EmployerLookup::Name(n) => q.filter(employers::name.eq(n.as_str().to_owned())),
    };
    if let Some(after) = after {
        q = q.filter(employers::id.gt(after.to_owned()));
    }
    let rows: Vec<EmployerRow> = q.load(conn)?;
    let items = rows
        .into_iter()
        .map(from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(items, limit, |e| e.id.to_string()))
}
