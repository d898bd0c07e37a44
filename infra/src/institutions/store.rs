//! Reading institutions: by code, by codes, and the candidates of a "near me" search.
//!
//! The search reads the bounding box of the circle from `institutions_by_position`
//! (`lat_e6` between … and `lon_e6` between …, with the kind and level beside them in the index),
//! returning only codes and positions; the caller keeps those really within the radius, orders
//! them and reads the page's rows by code.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use shebao_domain::institutions::{
    BoundingBox, Department, Filing, GeoPoint, InstitutionCode, InstitutionKind, Level,
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

/// The institutions of `codes` (in no particular order; unknown codes are left out).
pub fn by_codes(conn: &mut DbConnection, codes: &[String]) -> Result<Vec<Institution>, StoreError> {
    if codes.is_empty() {
        return Ok(Vec::new());
    }
    institutions::table
        .filter(institutions::code.eq_any(codes))
        .select(InstitutionRow::as_select())
        .load(conn)?
        .into_iter()
        .map(Institution::try_from)
        .collect()
}

/// What a search is narrowed to, besides the place.
#[derive(Debug, Clone, Default)]
pub struct SearchFilter {
    pub kind: Option<InstitutionKind>,
    pub level: Option<Level>,
    pub department: Option<Department>,
}

/// The codes and positions of the institutions inside `bbox` that pass `filter`. One of two
/// fixed statements (with or without the department), so each is prepared once per connection
/// and never planned again; the kind and level, read from the same index entries, are checked
/// here rather than in SQL, which would take a statement per combination of filters.
pub fn in_box(
    conn: &mut DbConnection,
    bbox: &BoundingBox,
    filter: &SearchFilter,
) -> Result<Vec<(String, GeoPoint)>, StoreError> {
    type Row = (String, i32, i32, String, Option<i32>);
    let columns = (
        institutions::code,
        institutions::lat_e6,
        institutions::lon_e6,
        institutions::kind,
        institutions::level,
    );
    let inside = || {
        institutions::lat_e6
            .between(bbox.min_lat_e6, bbox.max_lat_e6)
            .and(institutions::lon_e6.between(bbox.min_lon_e6, bbox.max_lon_e6))
    };
    let rows: Vec<Row> = match &filter.department {
        None => institutions::table
            .filter(inside())
            .select(columns)
            .load(conn)?,
        Some(department) => institutions::table
            .filter(inside())
            .filter(diesel::dsl::exists(
                institution_departments::table
                    .filter(institution_departments::institution_code.eq(institutions::code))
                    .filter(institution_departments::department.eq(department.as_str())),
            ))
            .select(columns)
            .load(conn)?,
    };
    let kind = filter.kind.as_ref().map(InstitutionKind::as_str);
    let level = filter.level.map(|l| i32::from(l.get()));
    rows.into_iter()
        .filter(|(_, _, _, k, l)| {
            kind.is_none_or(|want| want == k) && level.is_none_or(|want| Some(want) == *l)
        })
        .map(|(code, lat, lon, _, _)| {
            let p = GeoPoint::from_e6(i64::from(lat), i64::from(lon))
                .map_err(|(what, e)| StoreError::Corrupt(format!("institutions.{what}: {e}")))?;
            Ok((code, p))
        })
        .collect()
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
