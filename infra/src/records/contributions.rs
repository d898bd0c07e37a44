use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use shebao_domain::contribution::ContributionAmounts;
use shebao_domain::insurance::InsuranceType;
use shebao_domain::period::Period;
use uuid::Uuid;

use crate::db::column::{KeyOrEmpty, Parsed};
use crate::db::{DbConnection, StoreError};
use crate::db_run;
use crate::registry::{stored, Page};
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
// Every column is written, NULL included: what `COPY` needs, and SQLite's multi-row INSERT too.
#[diesel(treat_none_as_default_value = false)]
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
    // PostgreSQL takes the rows by `COPY` in the binary format: no statement of 14,000
    // parameters to parse and plan, and the constraints (the unique key, the foreign keys) are
    // checked all the same.
    Ok(db_run!(conn,
        postgres: |c| diesel::copy_from(contributions::table)
            .from_insertable(&rows)
            .execute(c),
        sqlite: |c| diesel::insert_into(contributions::table)
            .values(&rows)
            .execute(c),
    )?)
}

/// A month of one insurance as the person sees it.
#[derive(Debug, Clone)]
pub struct ContributionRecord {
    pub period: Period,
    pub insurance: InsuranceType,
    /// The employer, or `None` for flexible employment.
    pub employer: Option<(Uuid, String)>,
    /// The row's key column: the employer's id, or none for flexible employment.
    pub employer_key: Option<Uuid>,
    pub base_fen: i64,
    pub employer_fen: i64,
    pub employee_fen: i64,
    pub status: ContributionStatus,
    pub paid_at: Option<NaiveDateTime>,
}

impl ContributionRecord {
    /// The keyset cursor of this row in the newest-first order.
    pub fn cursor_key(&self) -> String {
        let key = self.employer_key.map(|k| k.to_string()).unwrap_or_default();
        format!("{}|{}|{key}", self.period, self.insurance.as_str())
    }
}

/// Filters of the list.
#[derive(Debug, Clone, Default)]
pub struct ContributionFilter {
    pub insurance: Option<InsuranceType>,
    pub from: Option<Period>,
    pub to: Option<Period>,
}

/// Where a page continues: after (period, insurance, employer key) in the list's order, which
/// is all three descending.
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

/// A stored contribution month, with its employer's name: every text column but the name
/// parsed from the driver's bytes (no `String` per column; see [`crate::db::column`]).
#[derive(Queryable, Selectable)]
#[diesel(table_name = contributions)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct ListRow {
    period: Parsed<Period>,
    insurance: Parsed<InsuranceType>,
    employer_id: Option<Parsed<Uuid>>,
    #[diesel(select_expression = employers::name.nullable())]
    #[diesel(select_expression_type = diesel::dsl::Nullable<employers::name>)]
    employer_name: Option<String>,
    employer_key: Parsed<KeyOrEmpty>,
    base_fen: i64,
    employer_fen: i64,
    employee_fen: i64,
    status: Parsed<ContributionStatus>,
    paid_at: Option<NaiveDateTime>,
}

/// A stored status word as the domain's status.
pub fn stored_status(status: &str) -> Result<ContributionStatus, StoreError> {
    ContributionStatus::parse(status)
        .ok_or_else(|| StoreError::Corrupt(format!("contributions.status: {status}")))
}

/// The day of the next month by which a person's region wants a month paid (the default for an
/// unknown person, who has no rows anyway).
pub fn due_day_of(conn: &mut DbConnection, person_id: Uuid) -> Result<u8, StoreError> {
    Ok(crate::registry::regions::rules_of_person(conn, person_id)?
        .unwrap_or_default()
        .contribution_due_day)
}

fn record_from(r: ListRow, today: NaiveDate, due_day: u8) -> ContributionRecord {
    let period = r.period.0;
    ContributionRecord {
        period,
        insurance: r.insurance.0,
        employer: r
            .employer_id
            .zip(r.employer_name)
            .map(|(id, name)| (id.0, name)),
        employer_key: r.employer_key.0 .0,
        base_fen: r.base_fen,
        employer_fen: r.employer_fen,
        employee_fen: r.employee_fen,
        status: r.status.0.on(period, today, due_day),
        paid_at: r.paid_at,
    }
}

/// The list's one statement (a macro rather than a function: its type is diesel's, spelled by
/// the compiler). [`list`] runs it; [`list_statement_postgres`] prints it for the bench.
macro_rules! list_statement {
    ($person:expr, $insurance_lo:expr, $insurance_hi:expr, $from:expr, $to:expr,
     $after_period:expr, $after_insurance:expr, $after_key:expr, $limit:expr) => {{
        let (after_period, after_insurance, after_key) =
            ($after_period, $after_insurance, $after_key);
        contributions::table
            .left_join(employers::table)
            .filter(contributions::person_id.eq($person))
            .filter(contributions::insurance.between($insurance_lo, $insurance_hi))
            .filter(contributions::period.between($from, $to))
            // (period, insurance, employer key) < the cursor's, with its first column as a
            // bound the index can seek to.
            .filter(contributions::period.le(after_period.clone()))
            .filter(
                contributions::period
                    .lt(after_period.clone())
                    .or(contributions::period
                        .eq(after_period.clone())
                        .and(contributions::insurance.lt(after_insurance.clone())))
                    .or(contributions::period
                        .eq(after_period)
                        .and(contributions::insurance.eq(after_insurance))
                        .and(contributions::employer_key.lt(after_key))),
            )
            .select(ListRow::as_select())
            .order((
                contributions::period.desc(),
                contributions::insurance.desc(),
                contributions::employer_key.desc(),
            ))
            .limit($limit)
    }};
}

/// The first page's statement as PostgreSQL receives it from [`list`] (`$1`… placeholders) and
/// its parameters in order, for `person`: what the bench gives `pgbench -M prepared` so that
/// the database's ceiling is measured on the very statement the endpoint runs.
pub fn list_statement_postgres(person: Uuid, limit: usize) -> (String, Vec<String>) {
    let q = list_statement!(
        person.to_string(),
        "0",
        "~",
        "0".to_owned(),
        "~".to_owned(),
        "~".to_owned(),
        "~".to_owned(),
        "~".to_owned(),
        i64::try_from(limit + 1).unwrap_or(i64::MAX)
    );
    crate::db::debug_sql::split(&diesel::debug_query::<diesel::pg::Pg, _>(&q).to_string())
}

/// The summary's statement for PostgreSQL and its parameters, as [`summary`] runs it.
pub fn summary_statement_postgres(
    person: Uuid,
    due_day: u8,
    today: NaiveDate,
) -> (String, Vec<String>) {
    let q = SummaryQuery {
        person: person.to_string(),
        bound: shebao_domain::statement::arrears_through(today, due_day).to_string(),
    };
    crate::db::debug_sql::split(&diesel::debug_query::<diesel::pg::Pg, _>(&q).to_string())
}

/// One person's contributions, newest month first, keyset-paginated, with their status on
/// `today` (the person's local date: an unpaid month past its due date, by the region's
/// `due_day`, is in arrears; see [`due_day_of`]). One statement.
pub fn list(
    conn: &mut DbConnection,
    person_id: Uuid,
    due_day: u8,
    filter: &ContributionFilter,
    after: Option<&ContributionCursor>,
    limit: usize,
    today: NaiveDate,
) -> Result<Page<ContributionRecord>, StoreError> {
    // One statement shape whatever the filters (absent ones become bounds that hold for every
    // row, an absent cursor one that sorts after the last row), so that it is prepared once per
    // connection and PostgreSQL does not plan it again on every request. Periods are `YYYY-MM`
    // and insurances lower-case words: "0" sorts before and "~" after all of them (not "": the
    // bench runs this very statement in pgbench, whose variables cannot be empty). The order is
    // the unique index's (person, period, insurance, employer key), read backwards: the page
    // comes straight off the index, without a sort, whichever plan the database picks.
    let (insurance_lo, insurance_hi) = match filter.insurance {
        Some(i) => (i.as_str(), i.as_str()),
        None => ("0", "~"),
    };
    let from = filter
        .from
        .map_or_else(|| "0".to_owned(), |p| p.to_string());
    let to = filter.to.map_or_else(|| "~".to_owned(), |p| p.to_string());
    let (after_period, after_insurance, after_key) = match after {
        Some(c) => (
            c.period.clone(),
            c.insurance.clone(),
            c.employer_key.clone(),
        ),
        // Past every row: the first alternative (period < "~") holds for all of them, and the
        // other two never do.
        None => ("~".to_owned(), "~".to_owned(), "~".to_owned()),
    };
    let limit_plus_one = i64::try_from(limit + 1).unwrap_or(i64::MAX);
    // On the backend's own connection (the statement is built in each arm, its row type being
    // the backend's): the parsed columns decode from each backend's bytes.
    let rows: Vec<ListRow> = db_run!(conn, |c| list_statement!(
        person_id.to_string(),
        insurance_lo,
        insurance_hi,
        from,
        to,
        after_period,
        after_insurance,
        after_key,
        limit_plus_one
    )
    .load(c))?;
    let items = rows
        .into_iter()
        .map(|r| record_from(r, today, due_day))
        .collect();
    Ok(Page::from_rows(
        items,
        limit,
        ContributionRecord::cursor_key,
    ))
}

/// Every month row of a person (for the summary and the accounts), with the base and the
/// status on `today` (as in [`list`]).
pub fn month_rows(
    conn: &mut DbConnection,
    person_id: Uuid,
    today: NaiveDate,
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
    let due_day = due_day_of(conn, person_id)?;
    rows.into_iter()
        .map(|(period, insurance, status, employer, employee, base)| {
            let period = stored("contributions.period", Period::parse(&period))?;
            Ok((
                shebao_domain::statement::MonthRow {
                    period,
                    insurance: stored("contributions.insurance", InsuranceType::parse(&insurance))?,
                    status: stored_status(&status)?.on(period, today, due_day),
                    employer: shebao_domain::money::Fen(employer),
                    employee: shebao_domain::money::Fen(employee),
                },
                base,
            ))
        })
        .collect()
}

/// One insurance's rows of one status on the day, as the database adds them up.
#[derive(QueryableByName)]
struct SummaryRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    insurance: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    status_on_day: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    months: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    employee_total: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    employer_total: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    first_period: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    last_period: String,
}

/// The summary's statement around its two parameters: `SUMMARY_SQL[0]`, the newest month in
/// arrears if unpaid, `SUMMARY_SQL[1]`, the person, `SUMMARY_SQL[2]`. One pass over the person's
/// rows — on PostgreSQL off the covering index alone — grouped by insurance and status on the
/// day (a stored `due` month up to the bound is in arrears): distinct months, sums, first and
/// last month; [`shebao_domain::statement::summarize_totals`] makes the summary of them. A
/// plain `GROUP BY` is what a database does cheaply: the earlier single statement that also
/// found the gaps (window functions, a distinct count per status) cost PostgreSQL five times a
/// list page; the paid months are read one by one only for an insurance with a hole in them.
const SUMMARY_SQL: [&str; 3] = [
    "SELECT insurance, \
       CASE WHEN status = 'due' AND period <= ",
    " THEN 'arrears' ELSE status END AS status_on_day, \
       COUNT(DISTINCT period) AS months, \
       CAST(SUM(employee_fen) AS BIGINT) AS employee_total, \
       CAST(SUM(employer_fen) AS BIGINT) AS employer_total, \
       MIN(period) AS first_period, MAX(period) AS last_period \
     FROM contributions WHERE person_id = ",
    " GROUP BY insurance, status_on_day",
];

/// The summary as a statement diesel keeps prepared on each connection: its own type (a static
/// query id) and nothing marking it unsafe to cache, unlike `sql_query`, which PostgreSQL would
/// plan afresh on every request (a millisecond, more than running it).
#[derive(diesel::query_builder::QueryId)]
struct SummaryQuery {
    person: String,
    bound: String,
}

impl<DB> diesel::query_builder::QueryFragment<DB> for SummaryQuery
where
    DB: diesel::backend::Backend,
    String: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
{
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, DB>,
    ) -> QueryResult<()> {
        let [head, middle, tail] = SUMMARY_SQL;
        out.push_sql(head);
        out.push_bind_param::<diesel::sql_types::Text, _>(&self.bound)?;
        out.push_sql(middle);
        out.push_bind_param::<diesel::sql_types::Text, _>(&self.person)?;
        out.push_sql(tail);
        Ok(())
    }
}

impl diesel::query_builder::Query for SummaryQuery {
    type SqlType = diesel::sql_types::Untyped;
}

impl<C> RunQueryDsl<C> for SummaryQuery {}

/// A person's statement per insurance (in the order of `InsuranceType::ALL`, insurances without
/// rows left out), added up by the database in one query rather than row by row here (and a
/// second, of the paid months, only for an insurance with a hole in them): what
/// [`shebao_domain::statement::summarize`] gives over [`month_rows`], which the tests hold it to.
pub fn summary(
    conn: &mut DbConnection,
    person_id: Uuid,
    due_day: u8,
    today: NaiveDate,
) -> Result<Vec<shebao_domain::statement::InsuranceSummary>, StoreError> {
    use shebao_domain::money::Fen;
    let bound = shebao_domain::statement::arrears_through(today, due_day).to_string();
    let q = SummaryQuery {
        person: person_id.to_string(),
        bound,
    };
    let rows: Vec<SummaryRow> = db_run!(conn, |c| q.load(c))?;
    let totals = rows
        .into_iter()
        .map(|r| {
            Ok(shebao_domain::statement::StatusTotals {
                insurance: stored(
                    "contributions.insurance",
                    InsuranceType::parse(&r.insurance),
                )?,
                status: stored_status(&r.status_on_day)?,
                months: u32::try_from(r.months)
                    .map_err(|_| StoreError::Corrupt(format!("summary months: {}", r.months)))?,
                employee: Fen(r.employee_total),
                employer: Fen(r.employer_total),
                first: stored("contributions.period", Period::parse(&r.first_period))?,
                last: stored("contributions.period", Period::parse(&r.last_period))?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    shebao_domain::statement::summarize_totals(&totals, |insurance| {
        paid_months(conn, person_id, insurance)
    })
}

/// The distinct months of an insurance a person has paid, oldest first.
fn paid_months(
    conn: &mut DbConnection,
    person_id: Uuid,
    insurance: InsuranceType,
) -> Result<Vec<Period>, StoreError> {
    let periods: Vec<String> = contributions::table
        .filter(contributions::person_id.eq(person_id.to_string()))
        .filter(contributions::insurance.eq(insurance.as_str()))
        .filter(contributions::status.eq(ContributionStatus::Paid.as_str()))
        .select(contributions::period)
        .distinct()
        .order(contributions::period)
        .load(conn)?;
    periods
        .iter()
        .map(|p| stored("contributions.period", Period::parse(p)))
        .collect()
}
