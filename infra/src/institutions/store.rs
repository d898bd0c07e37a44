//! Reading institutions: by code, and the statement of a "near me" search.
//!
//! The search ([`near`]) reads the bounding box of a circle from `institutions_by_position`
//! (`lat_e6` between … and `lon_e6` between …, with the kind, level and code beside them in the
//! index), keeps the nearest few by a planar distance and returns their rows, all in one
//! statement; the domain (`search_near`) decides the page from them by the haversine.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use shebao_domain::institutions::{
    Department, Filing, GeoPoint, InstitutionCode, InstitutionKind, Level, NearRead,
};
use shebao_domain::person::MedicalCategory;
use shebao_domain::region::{RegionCode, TimeZoneName};
use uuid::Uuid;

use crate::db::{DbConnection, StoreError};
use crate::registry::stored;
use crate::schema::{institution_departments, institutions, medical_filings, persons, regions};

/// An institution as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Institution {
    pub code: InstitutionCode,
    pub name: String,
    pub kind: InstitutionKind,
    pub level: Option<Level>,
    pub region: RegionCode,
    pub address: String,
    pub phone: String,
    pub position: GeoPoint,
    /// In the order `employee`, `resident`.
    pub categories: Vec<MedicalCategory>,
    pub departments: Vec<String>,
    pub accepts_filed_elsewhere: bool,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = institutions)]
pub(crate) struct InstitutionRow {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub level: Option<i32>,
    pub region_code: String,
    pub address: String,
    pub phone: String,
    pub lat_e6: i32,
    pub lon_e6: i32,
    pub covers_employee: bool,
    pub covers_resident: bool,
    pub departments: String,
    pub accepts_filed_elsewhere: bool,
}

impl TryFrom<InstitutionRow> for Institution {
    type Error = StoreError;

    fn try_from(r: InstitutionRow) -> Result<Institution, StoreError> {
        let mut categories = Vec::new();
        if r.covers_employee {
            categories.push(MedicalCategory::Employee);
        }
        if r.covers_resident {
            categories.push(MedicalCategory::Resident);
        }
        Ok(Institution {
            code: stored("institutions.code", InstitutionCode::parse(&r.code))?,
            name: r.name,
            kind: stored("institutions.kind", InstitutionKind::parse(&r.kind))?,
            level: r
                .level
                .map(|l| stored("institutions.level", Level::new(i64::from(l))))
                .transpose()?,
            region: stored(
                "institutions.region_code",
                RegionCode::parse(&r.region_code),
            )?,
            address: r.address,
            phone: r.phone,
            position: GeoPoint::from_e6(i64::from(r.lat_e6), i64::from(r.lon_e6))
                .map_err(|(what, e)| StoreError::Corrupt(format!("institutions.{what}: {e}")))?,
            categories,
            departments: serde_json::from_str(&r.departments)
                .map_err(|e| StoreError::Corrupt(format!("institutions.departments: {e}")))?,
            accepts_filed_elsewhere: r.accepts_filed_elsewhere,
        })
    }
}

pub fn get(
    conn: &mut DbConnection,
    code: &InstitutionCode,
) -> Result<Option<Institution>, StoreError> {
    institutions::table
        .find(code.as_str())
        .select(InstitutionRow::as_select())
        .first(conn)
        .optional()?
        .map(Institution::try_from)
        .transpose()
}

/// Whether an institution with `code` is registered.
pub fn exists(conn: &mut DbConnection, code: &str) -> Result<bool, StoreError> {
    Ok(diesel::select(diesel::dsl::exists(institutions::table.find(code))).get_result(conn)?)
}

/// What a search is narrowed to, besides the place.
#[derive(Debug, Clone, Default)]
pub struct SearchFilter {
    pub kind: Option<InstitutionKind>,
    pub level: Option<Level>,
    pub department: Option<Department>,
}

/// An institution as a "near me" statement returns it, with its squared planar distance.
#[derive(Debug, Clone)]
pub struct NearRow {
    pub institution: Institution,
    pub planar_sq_m: f64,
}

type NearColumns = (
    diesel::sql_types::Text,
    diesel::sql_types::Text,
    diesel::sql_types::Text,
    diesel::sql_types::Nullable<diesel::sql_types::Integer>,
    diesel::sql_types::Text,
    diesel::sql_types::Text,
    diesel::sql_types::Text,
    diesel::sql_types::Integer,
    diesel::sql_types::Integer,
    diesel::sql_types::Bool,
    diesel::sql_types::Bool,
    diesel::sql_types::Text,
    diesel::sql_types::Bool,
    diesel::sql_types::Double,
);

type NearTuple = (
    String,
    String,
    String,
    Option<i32>,
    String,
    String,
    String,
    i32,
    i32,
    bool,
    bool,
    String,
    bool,
    f64,
);

/// The search statement ([`near`]): the box off `institutions_by_position` (position, kind, level
/// and code are in its entries, so the filters are checked there), each row's planar distance
/// computed and bounded, and the `fetch` nearest by it returned whole: one statement and one
/// round trip, whose rows are the page. (Keeping the `fetch` nearest off the index alone and
/// reading only their rows by primary key cost PostgreSQL a quarter more under pgbench: 59
/// index descents against a bitmap heap scan of the box's few dozen rows; bench/README.md.)
/// Its text is the same whatever the filters (an
/// absent kind or level becomes bounds every row meets); the department's `EXISTS` makes a
/// second form, a type of its own (`DEPARTMENT`), since diesel keeps prepared statements by
/// type. Each form is prepared once per connection.
struct NearQuery<const DEPARTMENT: bool> {
    ask: NearRead,
    kind: (&'static str, &'static str),
    level: (i32, i32),
    department: String,
    fetch: i64,
}

impl<const DEPARTMENT: bool> diesel::query_builder::QueryId for NearQuery<DEPARTMENT> {
    type QueryId = NearQuery<DEPARTMENT>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<DB, const DEPARTMENT: bool> diesel::query_builder::QueryFragment<DB> for NearQuery<DEPARTMENT>
where
    DB: diesel::backend::Backend,
    i32: diesel::serialize::ToSql<diesel::sql_types::Integer, DB>,
    i64: diesel::serialize::ToSql<diesel::sql_types::BigInt, DB>,
    f64: diesel::serialize::ToSql<diesel::sql_types::Double, DB>,
    str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
    String: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
{
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, DB>,
    ) -> QueryResult<()> {
        use diesel::sql_types::{BigInt, Double, Integer, Text};
        let m = &self.ask.metric;
        let b = &self.ask.bbox;
        out.push_sql(
            "SELECT code, name, kind, level, region_code, address, phone, lat_e6, lon_e6, \
               covers_employee, covers_resident, departments, accepts_filed_elsewhere, d2 \
             FROM (SELECT *, dy * dy + dx * dx AS d2 FROM \
               (SELECT code, name, kind, level, region_code, address, phone, lat_e6, lon_e6, \
                 covers_employee, covers_resident, departments, accepts_filed_elsewhere, \
                 CAST(lat_e6 - ",
        );
        out.push_bind_param::<Integer, _>(&m.lat0_e6)?;
        out.push_sql(" AS DOUBLE PRECISION) * ");
        out.push_bind_param::<Double, _>(&m.ky)?;
        out.push_sql(" AS dy, CAST(lon_e6 - ");
        out.push_bind_param::<Integer, _>(&m.lon0_e6)?;
        out.push_sql(" AS DOUBLE PRECISION) * (");
        out.push_bind_param::<Double, _>(&m.kx)?;
        out.push_sql(" - ");
        out.push_bind_param::<Double, _>(&m.kx_slope)?;
        out.push_sql(" * CAST(lat_e6 - ");
        out.push_bind_param::<Integer, _>(&m.lat0_e6)?;
        out.push_sql(" AS DOUBLE PRECISION)) AS dx FROM institutions WHERE lat_e6 BETWEEN ");
        out.push_bind_param::<Integer, _>(&b.min_lat_e6)?;
        out.push_sql(" AND ");
        out.push_bind_param::<Integer, _>(&b.max_lat_e6)?;
        out.push_sql(" AND lon_e6 BETWEEN ");
        out.push_bind_param::<Integer, _>(&b.min_lon_e6)?;
        out.push_sql(" AND ");
        out.push_bind_param::<Integer, _>(&b.max_lon_e6)?;
        out.push_sql(" AND kind BETWEEN ");
        out.push_bind_param::<Text, _>(self.kind.0)?;
        out.push_sql(" AND ");
        out.push_bind_param::<Text, _>(self.kind.1)?;
        out.push_sql(" AND COALESCE(level, 0) BETWEEN ");
        out.push_bind_param::<Integer, _>(&self.level.0)?;
        out.push_sql(" AND ");
        out.push_bind_param::<Integer, _>(&self.level.1)?;
        if DEPARTMENT {
            out.push_sql(
                " AND EXISTS (SELECT 1 FROM institution_departments d \
                   WHERE d.institution_code = institutions.code AND d.department = ",
            );
            out.push_bind_param::<Text, _>(&self.department)?;
            out.push_sql(")");
        }
        out.push_sql(") b) c WHERE d2 BETWEEN ");
        out.push_bind_param::<Double, _>(&self.ask.lo_sq)?;
        out.push_sql(" AND ");
        out.push_bind_param::<Double, _>(&self.ask.hi_sq)?;
        out.push_sql(" ORDER BY d2, code LIMIT ");
        out.push_bind_param::<BigInt, _>(&self.fetch)?;
        Ok(())
    }
}

impl<const DEPARTMENT: bool> diesel::query_builder::Query for NearQuery<DEPARTMENT> {
    type SqlType = NearColumns;
}

impl<C, const DEPARTMENT: bool> RunQueryDsl<C> for NearQuery<DEPARTMENT> {}

/// The search statement for `ask` and `filter`, in its form with or without the department.
enum NearStatement {
    Anywhere(NearQuery<false>),
    InDepartment(NearQuery<true>),
}

fn near_statement(ask: &NearRead, filter: &SearchFilter) -> NearStatement {
    let kind = filter
        .kind
        .as_ref()
        .map_or(("0", "~"), |k| (k.as_str(), k.as_str()));
    let level = filter
        .level
        .map_or((0, 9), |l| (i32::from(l.get()), i32::from(l.get())));
    let fetch = i64::try_from(ask.fetch).unwrap_or(i64::MAX);
    match &filter.department {
        None => NearStatement::Anywhere(NearQuery {
            ask: *ask,
            kind,
            level,
            department: String::new(),
            fetch,
        }),
        Some(d) => NearStatement::InDepartment(NearQuery {
            ask: *ask,
            kind,
            level,
            department: d.as_str().to_owned(),
            fetch,
        }),
    }
}

/// One statement of a "near me" search ([`shebao_domain::institutions::search_near`] decides
/// which): the institutions inside the box that pass `filter`, whose squared planar distance is
/// within the bounds, the `fetch` nearest by it, whole rows. In no particular order.
pub fn near(
    conn: &mut DbConnection,
    ask: &NearRead,
    filter: &SearchFilter,
) -> Result<Vec<NearRow>, StoreError> {
    let rows: Vec<NearTuple> = match near_statement(ask, filter) {
        NearStatement::Anywhere(q) => crate::db_run!(conn, |c| q.load(c))?,
        NearStatement::InDepartment(q) => crate::db_run!(conn, |c| q.load(c))?,
    };
    rows.into_iter()
        .map(|t| {
            let (code, name, kind, level, region_code, address, phone, lat_e6, lon_e6) =
                (t.0, t.1, t.2, t.3, t.4, t.5, t.6, t.7, t.8);
            let row = InstitutionRow {
                code,
                name,
                kind,
                level,
                region_code,
                address,
                phone,
                lat_e6,
                lon_e6,
                covers_employee: t.9,
                covers_resident: t.10,
                departments: t.11,
                accepts_filed_elsewhere: t.12,
            };
            Ok(NearRow {
                institution: Institution::try_from(row)?,
                planar_sq_m: t.13,
            })
        })
        .collect()
}

/// The statement [`near`] runs for `ask` on PostgreSQL, with its values written in: what the
/// institutions bench hands `pgbench` as the database's ceiling for the endpoint.
pub fn near_statement_postgres(ask: &NearRead, filter: &SearchFilter) -> String {
    let text = match near_statement(ask, filter) {
        NearStatement::Anywhere(q) => diesel::debug_query::<diesel::pg::Pg, _>(&q).to_string(),
        NearStatement::InDepartment(q) => diesel::debug_query::<diesel::pg::Pg, _>(&q).to_string(),
    };
    crate::db::debug_sql::inline(&text)
}

/// Whether the institution has the department.
pub fn has_department(
    conn: &mut DbConnection,
    code: &InstitutionCode,
    department: &Department,
) -> Result<bool, StoreError> {
    Ok(diesel::select(diesel::dsl::exists(
        institution_departments::table
            .filter(institution_departments::institution_code.eq(code.as_str()))
            .filter(institution_departments::department.eq(department.as_str())),
    ))
    .get_result(conn)?)
}

/// What the coverage of institutions needs to know about a registered person today.
#[derive(Debug, Clone)]
pub struct Insured {
    pub region: RegionCode,
    pub category: MedicalCategory,
    pub filings: Vec<Filing>,
    pub today: NaiveDate,
}

/// The person's region, scheme, approved medical filings and local date; `None` when the
/// person is not registered.
pub fn insured(
    conn: &mut DbConnection,
    person: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<Insured>, StoreError> {
    let row: Option<(String, String, String)> = persons::table
        .inner_join(regions::table)
        .filter(persons::id.eq(person.to_string()))
        .select((
            persons::region_code,
            persons::medical_category,
            regions::time_zone,
        ))
        .first(conn)
        .optional()?;
    let Some((region, category, zone)) = row else {
        return Ok(None);
    };
    let filings: Vec<(String, NaiveDate, NaiveDate)> = medical_filings::table
        .filter(medical_filings::person_id.eq(person.to_string()))
        .select((
            medical_filings::region_code,
            medical_filings::starts,
            medical_filings::ends,
        ))
        .load(conn)?;
    Ok(Some(Insured {
        region: stored("persons.region_code", RegionCode::parse(&region))?,
        category: stored(
            "persons.medical_category",
            MedicalCategory::parse(&category),
        )?,
        filings: filings
            .into_iter()
            .map(|(r, from, to)| {
                Ok(Filing {
                    region: stored("medical_filings.region_code", RegionCode::parse(&r))?,
                    from,
                    to,
                })
            })
            .collect::<Result<_, StoreError>>()?,
        today: stored("regions.time_zone", TimeZoneName::parse(&zone))?.local_date(now),
    }))
}

/// The time zone of the region of a person.
pub fn zone_of_person(
    conn: &mut DbConnection,
    person: Uuid,
) -> Result<Option<TimeZoneName>, StoreError> {
    let zone: Option<String> = persons::table
        .inner_join(regions::table)
        .filter(persons::id.eq(person.to_string()))
        .select(regions::time_zone)
        .first(conn)
        .optional()?;
    zone.map(|z| stored("regions.time_zone", TimeZoneName::parse(&z)))
        .transpose()
}

/// A stored instant, as UTC.
pub(crate) fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}
