//! Reading institutions: by code, and what the coverage of institutions needs to know about a
//! person. (The search itself reads the server's copy of every institution:
//! `institutions::atlas`.)

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use shebao_domain::institutions::{
    Department, Filing, GeoPoint, InstitutionCode, InstitutionKind, Level,
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

/// The statement of [`insured`] for the person whose id is `$id` (a `String`): their region,
/// scheme and region's time zone, with each of their approved medical filings (a row each; one
/// row with no filing when they have none): one round trip. One source for the function and
/// for the statement the institutions bench gives pgbench.
macro_rules! insured_statement {
    ($id:expr) => {
        persons::table
            .inner_join(regions::table)
            .left_join(medical_filings::table.on(medical_filings::person_id.eq(persons::id)))
            .filter(persons::id.eq($id))
            .select((
                persons::region_code,
                persons::medical_category,
                regions::time_zone,
                medical_filings::region_code.nullable(),
                medical_filings::starts.nullable(),
                medical_filings::ends.nullable(),
            ))
    };
}

type InsuredRow = (
    String,
    String,
    String,
    Option<String>,
    Option<NaiveDate>,
    Option<NaiveDate>,
);

/// The person's region, scheme, approved medical filings and local date; `None` when the
/// person is not registered.
pub fn insured(
    conn: &mut DbConnection,
    person: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<Insured>, StoreError> {
    let id = person.to_string();
    let rows: Vec<InsuredRow> = insured_statement!(&id).load(conn)?;
    let Some((region, category, zone, _, _, _)) = rows.first() else {
        return Ok(None);
    };
    let filings = rows
        .iter()
        .filter_map(|(_, _, _, r, from, to)| Some((r.as_deref()?, (*from)?, (*to)?)))
        .map(|(r, from, to)| {
            Ok(Filing {
                region: stored("medical_filings.region_code", RegionCode::parse(r))?,
                from,
                to,
            })
        })
        .collect::<Result<_, StoreError>>()?;
    Ok(Some(Insured {
        region: stored("persons.region_code", RegionCode::parse(region))?,
        category: stored("persons.medical_category", MedicalCategory::parse(category))?,
        filings,
        today: stored("regions.time_zone", TimeZoneName::parse(zone))?.local_date(now),
    }))
}

/// The statement [`insured`] runs for `person` on PostgreSQL, with its values written in: all
/// the SQL of a "near me" search with a person's token, which the institutions bench hands
/// `pgbench` as the database's ceiling for the endpoint.
pub fn insured_statement_postgres(person: Uuid) -> String {
    let id = person.to_string();
    let q = insured_statement!(&id);
    crate::db::debug_sql::inline(&diesel::debug_query::<diesel::pg::Pg, _>(&q).to_string())
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
