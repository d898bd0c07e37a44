//! The institutions loader (`POST /v1/staff/institutions:import`), on the staff imports'
//! machinery: each line is checked by the domain's types, and a batch is written with a handful
//! of queries inside the caller's transaction.
//!
//! Idempotent by `code`: a row equal to the stored institution is *unchanged*, a new code is
//! inserted and a known code with other values replaces the stored row (and its departments);
//! both are *accepted*. Rows of one batch apply in file order, the last of a code winning.
//!
//! Lists (`medical_categories`, `departments`) are JSON arrays in JSON Lines, and `|`-separated
//! text in CSV (`employee|resident`); `accepts_filed_elsewhere` is `true` or `false` (absent:
//! false); `level` is 1, 2 or 3, or absent (a pharmacy has none).

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use shebao_domain::institutions::{
    departments, medical_categories, Department, GeoPoint, InstitutionCode, InstitutionKind,
    InstitutionPhone, Level,
};
use shebao_domain::person::MedicalCategory;
use shebao_domain::region::RegionCode;
use shebao_domain::ValueError;

use crate::db::{DbConnection, StoreError};
use crate::db_run;
use crate::institutions::store::{Institution, InstitutionRow};
use crate::records::imports::{
    text, BatchOutcome, Column, ImportContext, Importer, RawRow, RejectReason, Rejection,
};
use crate::schema::{institution_departments, institutions, regions};

/// Longest name and address.
pub const MAX_NAME_CHARS: usize = 128;
pub const MAX_ADDRESS_CHARS: usize = 200;

/// Designated hospitals, pharmacies and clinics.
pub struct Institutions;

/// One institution line, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstitutionLine {
    pub code: InstitutionCode,
    pub name: String,
    pub kind: InstitutionKind,
    pub level: Option<Level>,
    pub region: RegionCode,
    pub address: String,
    pub phone: InstitutionPhone,
    pub position: GeoPoint,
    pub categories: Vec<MedicalCategory>,
    pub departments: Vec<Department>,
    pub accepts_filed_elsewhere: bool,
}

impl InstitutionLine {
    /// As the store gives it back, for comparing with what is stored.
    fn as_stored(&self) -> Institution {
        Institution {
            code: self.code.clone(),
            name: self.name.clone(),
            kind: self.kind,
            level: self.level,
            region: self.region.clone(),
            address: self.address.clone(),
            phone: self.phone.as_str().to_owned(),
            position: self.position,
            categories: self.categories.clone(),
            departments: self
                .departments
                .iter()
                .map(|d| d.as_str().to_owned())
                .collect(),
            accepts_filed_elsewhere: self.accepts_filed_elsewhere,
        }
    }
}

/// `|`-separated text (a JSON array arrives joined the same way), blanks left out.
fn list(s: &str) -> impl Iterator<Item = &str> {
    s.split('|').map(str::trim).filter(|p| !p.is_empty())
}

fn flag(s: &str) -> Result<bool, ValueError> {
    match s.trim() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(ValueError::OneOf {
            allowed: "true, false",
        }),
    }
}

fn categories(s: &str) -> Result<Vec<MedicalCategory>, ValueError> {
    let parsed = list(s)
        .map(MedicalCategory::parse)
        .collect::<Result<Vec<_>, _>>()?;
    medical_categories(&parsed)
}

fn department_list(s: &str) -> Result<Vec<Department>, ValueError> {
    departments(
        list(s)
            .map(Department::parse)
            .collect::<Result<Vec<_>, _>>()?,
    )
}

#[derive(Insertable)]
#[diesel(table_name = institutions)]
struct InstitutionInsert {
    code: String,
    name: String,
    kind: String,
    level: Option<i32>,
    region_code: String,
    address: String,
    phone: String,
    lat_e6: i32,
    lon_e6: i32,
    covers_employee: bool,
    covers_resident: bool,
    departments: String,
    accepts_filed_elsewhere: bool,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl InstitutionInsert {
    fn new(l: &InstitutionLine, now: NaiveDateTime) -> Result<InstitutionInsert, StoreError> {
        let names: Vec<&str> = l.departments.iter().map(Department::as_str).collect();
        Ok(InstitutionInsert {
            code: l.code.as_str().to_owned(),
            name: l.name.clone(),
            kind: l.kind.as_str().to_owned(),
            level: l.level.map(|v| i32::from(v.get())),
            region_code: l.region.as_str().to_owned(),
            address: l.address.clone(),
            phone: l.phone.as_str().to_owned(),
            lat_e6: l.position.lat_e6(),
            lon_e6: l.position.lon_e6(),
            covers_employee: l.categories.contains(&MedicalCategory::Employee),
            covers_resident: l.categories.contains(&MedicalCategory::Resident),
            departments: serde_json::to_string(&names)
                .map_err(|e| StoreError::Corrupt(format!("departments: {e}")))?,
            accepts_filed_elsewhere: l.accepts_filed_elsewhere,
            created_at: now,
            updated_at: now,
        })
    }
}

#[derive(Insertable)]
#[diesel(table_name = institution_departments)]
struct DepartmentInsert {
    institution_code: String,
    department: String,
}

/// Department rows per statement: two values each, far below both backends' limits.
const DEPARTMENT_ROWS_PER_INSERT: usize = 5_000;

/// One code's state while a batch is applied in order.
struct Slot {
    stored: Option<Institution>,
    current: Option<InstitutionLine>,
    current_view: Institution,
}

impl Importer for Institutions {
    type Row = InstitutionLine;
    const ACTION: &'static str = "institutions.import";
    const COLUMNS: &'static [Column] = &[
        Column {
            name: "code",
            required: true,
        },
        Column {
            name: "name",
            required: true,
        },
        Column {
            name: "kind",
            required: true,
        },
        Column {
            name: "level",
            required: false,
        },
        Column {
            name: "region",
            required: true,
        },
        Column {
            name: "address",
            required: true,
        },
        Column {
            name: "phone",
            required: true,
        },
        Column {
            name: "latitude",
            required: true,
        },
        Column {
            name: "longitude",
            required: true,
        },
        Column {
            name: "medical_categories",
            required: true,
        },
        Column {
            name: "departments",
            required: false,
        },
        Column {
            name: "accepts_filed_elsewhere",
            required: false,
        },
    ];

    fn lane_key(row: &InstitutionLine) -> &str {
        row.code.as_str()
    }

    fn parse(raw: &RawRow) -> Result<InstitutionLine, RejectReason> {
        let code = raw.required("code", InstitutionCode::parse)?;
        let name = raw.required("name", text(MAX_NAME_CHARS))?;
        let kind = raw.required("kind", InstitutionKind::parse)?;
        let level = raw.optional("level", Level::parse)?;
        if kind == InstitutionKind::Pharmacy && level.is_some() {
            return Err(RejectReason::Invalid {
                field: "level",
                error: ValueError::Rule("a pharmacy has no level"),
            });
        }
        let region = raw.required("region", RegionCode::parse)?;
        let address = raw.required("address", text(MAX_ADDRESS_CHARS))?;
        let phone = raw.required("phone", InstitutionPhone::parse)?;
        let lat = raw
            .get("latitude")
            .ok_or(RejectReason::Missing("latitude"))?;
        let lon = raw
            .get("longitude")
            .ok_or(RejectReason::Missing("longitude"))?;
        let position = GeoPoint::parse(lat, lon)
            .map_err(|(field, error)| RejectReason::Invalid { field, error })?;
        let categories = raw.required("medical_categories", categories)?;
        let departments = raw
            .optional("departments", department_list)?
            .unwrap_or_default();
        let accepts_filed_elsewhere = raw
            .optional("accepts_filed_elsewhere", flag)?
            .unwrap_or(false);
        Ok(InstitutionLine {
            code,
            name,
            kind,
            level,
            region,
            address,
            phone,
            position,
            categories,
            departments,
            accepts_filed_elsewhere,
        })
    }

    fn apply(
        conn: &mut DbConnection,
        _ctx: &mut ImportContext,
        rows: &[(u64, InstitutionLine)],
        now: NaiveDateTime,
    ) -> Result<BatchOutcome, StoreError> {
        let region_codes: Vec<&str> = rows
            .iter()
            .map(|(_, r)| r.region.as_str())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let known_regions: HashSet<String> = regions::table
            .filter(regions::code.eq_any(&region_codes))
            .select(regions::code)
            .load::<String>(conn)?
            .into_iter()
            .collect();
        let codes: Vec<&str> = rows
            .iter()
            .map(|(_, r)| r.code.as_str())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let stored: Vec<InstitutionRow> = institutions::table
            .filter(institutions::code.eq_any(&codes))
            .select(InstitutionRow::as_select())
            .load(conn)?;
        let mut slots: HashMap<String, Slot> = HashMap::new();
        let mut order: Vec<String> = Vec::new();
        for row in stored {
            let institution = Institution::try_from(row)?;
            let key = institution.code.as_str().to_owned();
            order.push(key.clone());
            slots.insert(
                key,
                Slot {
                    stored: Some(institution.clone()),
                    current: None,
                    current_view: institution,
                },
            );
        }
        let mut outcome = BatchOutcome::default();
        for (line, row) in rows {
            if !known_regions.contains(row.region.as_str()) {
                outcome.rejected.push(Rejection {
                    line: *line,
                    reason: RejectReason::UnknownRegion,
                });
                continue;
            }
            let view = row.as_stored();
            match slots.get_mut(row.code.as_str()) {
                Some(slot) if slot.current_view == view => outcome.unchanged += 1,
                Some(slot) => {
                    slot.current = Some(row.clone());
                    slot.current_view = view;
                    outcome.accepted += 1;
                }
                None => {
                    order.push(row.code.as_str().to_owned());
                    slots.insert(
                        row.code.as_str().to_owned(),
                        Slot {
                            stored: None,
                            current: Some(row.clone()),
                            current_view: view,
                        },
                    );
                    outcome.accepted += 1;
                }
            }
        }
        let mut inserts = Vec::new();
        let mut updates = Vec::new();
        for code in order {
            let Some(slot) = slots.remove(&code) else {
                continue;
            };
            match (slot.stored, slot.current) {
                (None, Some(line)) => inserts.push(line),
                (Some(stored), Some(line)) if stored != slot.current_view => updates.push(line),
                _ => {}
            }
        }
        let new_rows = inserts
            .iter()
            .map(|l| InstitutionInsert::new(l, now))
            .collect::<Result<Vec<_>, _>>()?;
        if !new_rows.is_empty() {
            db_run!(conn, |c| diesel::insert_into(institutions::table)
                .values(&new_rows)
                .execute(c))?;
        }
        for line in &updates {
            let r = InstitutionInsert::new(line, now)?;
            diesel::update(institutions::table.find(&r.code))
                .set((
                    institutions::name.eq(r.name),
                    institutions::kind.eq(r.kind),
                    institutions::level.eq(r.level),
                    institutions::region_code.eq(r.region_code),
                    institutions::address.eq(r.address),
                    institutions::phone.eq(r.phone),
                    institutions::lat_e6.eq(r.lat_e6),
                    institutions::lon_e6.eq(r.lon_e6),
                    institutions::covers_employee.eq(r.covers_employee),
                    institutions::covers_resident.eq(r.covers_resident),
                    institutions::departments.eq(r.departments),
                    institutions::accepts_filed_elsewhere.eq(r.accepts_filed_elsewhere),
                    institutions::updated_at.eq(now),
                ))
                .execute(conn)?;
        }
        if !updates.is_empty() {
            let changed: Vec<&str> = updates.iter().map(|l| l.code.as_str()).collect();
            diesel::delete(
                institution_departments::table
                    .filter(institution_departments::institution_code.eq_any(&changed)),
            )
            .execute(conn)?;
        }
        let department_rows: Vec<DepartmentInsert> = inserts
            .iter()
            .chain(&updates)
            .flat_map(|l| {
                l.departments.iter().map(|d| DepartmentInsert {
                    institution_code: l.code.as_str().to_owned(),
                    department: d.as_str().to_owned(),
                })
            })
            .collect();
        for chunk in department_rows.chunks(DEPARTMENT_ROWS_PER_INSERT) {
            db_run!(conn, |c| diesel::insert_into(
                institution_departments::table
            )
            .values(chunk)
            .execute(c))?;
        }
        if !inserts.is_empty() || !updates.is_empty() {
            crate::institutions::atlas::bump(conn)?;
        }
        outcome.rejected.sort_by_key(|r| r.line);
        Ok(outcome)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn raw(pairs: &[(&'static str, &str)]) -> RawRow {
        let mut r = RawRow::new();
        for (k, v) in pairs {
            r.set(k, v);
        }
        r
    }

    fn hospital() -> Vec<(&'static str, &'static str)> {
        vec![
            ("code", "H44030400001"),
            ("name", "北京大学深圳医院"),
            ("kind", "hospital"),
            ("level", "3"),
            ("region", "440300"),
            ("address", "深圳市福田区莲花路1120号"),
            ("phone", "0755-83923333"),
            ("latitude", "22.5610"),
            ("longitude", "114.0480"),
            ("medical_categories", "employee|resident"),
            ("departments", "内科|外科|儿科"),
            ("accepts_filed_elsewhere", "true"),
        ]
    }

    fn with(field: &'static str, value: &'static str) -> RawRow {
        let mut pairs = hospital();
        pairs.retain(|(k, _)| *k != field);
        pairs.push((field, value));
        raw(&pairs)
    }

    fn rejected_field(r: RawRow) -> (&'static str, String) {
        let e = Institutions::parse(&r).unwrap_err();
        (e.code(), e.field().unwrap_or_default().to_owned())
    }

    #[test]
    fn a_full_line_parses() {
        let l = Institutions::parse(&raw(&hospital())).unwrap();
        assert_eq!(l.position.lat_e6(), 22_561_000);
        assert_eq!(l.departments.len(), 3);
        assert_eq!(
            l.categories,
            [MedicalCategory::Employee, MedicalCategory::Resident]
        );
        assert!(l.accepts_filed_elsewhere);
    }

    #[test]
    fn every_field_is_checked() {
        assert_eq!(
            rejected_field(with("latitude", "55.7")),
            ("invalid_field", "latitude".to_owned())
        );
        assert_eq!(
            rejected_field(with("longitude", "-74.0")),
            ("invalid_field", "longitude".to_owned())
        );
        assert_eq!(
            rejected_field(with("latitude", "north")),
            ("invalid_field", "latitude".to_owned())
        );
        assert_eq!(
            rejected_field(with("kind", "spa")),
            ("invalid_field", "kind".to_owned())
        );
        assert_eq!(
            rejected_field(with("level", "4")),
            ("invalid_field", "level".to_owned())
        );
        assert_eq!(
            rejected_field(with("region", "0440300")),
            ("invalid_field", "region".to_owned())
        );
        assert_eq!(
            rejected_field(with("phone", "ring ring")),
            ("invalid_field", "phone".to_owned())
        );
        assert_eq!(
            rejected_field(with("medical_categories", "staff")),
            ("invalid_field", "medical_categories".to_owned())
        );
        assert_eq!(
            rejected_field(with("medical_categories", "employee|employee")),
            ("invalid_field", "medical_categories".to_owned())
        );
        assert_eq!(
            rejected_field(with("departments", "内科|内科")),
            ("invalid_field", "departments".to_owned())
        );
        assert_eq!(
            rejected_field(with("accepts_filed_elsewhere", "yes")),
            ("invalid_field", "accepts_filed_elsewhere".to_owned())
        );
        assert_eq!(
            rejected_field(with("name", "a\u{0}b")),
            ("invalid_field", "name".to_owned())
        );
        let mut pairs = hospital();
        pairs.retain(|(k, _)| *k != "medical_categories");
        assert_eq!(
            rejected_field(raw(&pairs)),
            ("missing_field", "medical_categories".to_owned())
        );
        // A pharmacy has no level.
        let mut pairs = hospital();
        pairs.retain(|(k, _)| *k != "kind");
        pairs.push(("kind", "pharmacy"));
        assert_eq!(
            rejected_field(raw(&pairs)),
            ("invalid_field", "level".to_owned())
        );
        // Optional fields may be left out.
        let mut pairs = hospital();
        pairs.retain(|(k, _)| !["level", "departments", "accepts_filed_elsewhere"].contains(k));
        let l = Institutions::parse(&raw(&pairs)).unwrap();
        assert_eq!(
            (l.level, l.departments.len(), l.accepts_filed_elsewhere),
            (None, 0, false)
        );
    }
}
