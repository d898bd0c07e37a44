use chrono::NaiveDateTime;
use diesel::prelude::*;
use shebao_domain::money::Fen;
use shebao_domain::region::{
    DivisorFraction, RatePair, Rates, RegionCode, RegionName, RegionRules, TimeZoneName,
    YearParameters,
};

use super::{stored, Page};
use crate::db::{DbConnection, StoreError};
use crate::schema::{region_years, regions};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub code: RegionCode,
    pub name: RegionName,
    pub time_zone: TimeZoneName,
}

/// A region with the years for which parameters are loaded.
#[derive(Debug, Clone)]
pub struct RegionSummary {
    pub region: Region,
    pub years: Vec<i32>,
}

#[derive(Queryable)]
struct RegionRow {
    code: String,
    name: String,
    time_zone: String,
}

impl TryFrom<RegionRow> for Region {
    type Error = StoreError;
    fn try_from(r: RegionRow) -> Result<Self, StoreError> {
        Ok(Region {
            code: stored("regions.code", RegionCode::parse(&r.code))?,
            name: stored("regions.name", RegionName::parse(&r.name))?,
            time_zone: stored("regions.time_zone", TimeZoneName::parse(&r.time_zone))?,
        })
    }
}

/// Creates the region or renames it / changes its zone. Returns true when it was created.
pub fn upsert(
    conn: &mut DbConnection,
    region: &Region,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let updated = diesel::update(regions::table.find(region.code.as_str()))
        .set((
            regions::name.eq(region.name.as_str()),
            regions::time_zone.eq(region.time_zone.as_str()),
            regions::updated_at.eq(now),
        ))
        .execute(conn)?;
    if updated > 0 {
        return Ok(false);
    }
    diesel::insert_into(regions::table)
        .values((
            regions::code.eq(region.code.as_str()),
            regions::name.eq(region.name.as_str()),
            regions::time_zone.eq(region.time_zone.as_str()),
            regions::created_at.eq(now),
            regions::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(true)
}

pub fn get(conn: &mut DbConnection, code: &RegionCode) -> Result<Option<Region>, StoreError> {
    regions::table
        .find(code.as_str())
        .select((regions::code, regions::name, regions::time_zone))
        .first::<RegionRow>(conn)
        .optional()?
        .map(Region::try_from)
        .transpose()
}

#[derive(Queryable)]
struct RulesRow {
    contribution_due_day: i32,
    divisor_age_47: i32,
    divisor_fraction: String,
}

impl TryFrom<RulesRow> for RegionRules {
    type Error = StoreError;
    fn try_from(r: RulesRow) -> Result<Self, StoreError> {
        stored(
            "regions.rules",
            RegionRules::new(
                stored(
                    "regions.contribution_due_day",
                    u8::try_from(r.contribution_due_day),
                )?,
                stored("regions.divisor_age_47", u16::try_from(r.divisor_age_47))?,
                stored(
                    "regions.divisor_fraction",
                    DivisorFraction::parse(&r.divisor_fraction),
                )?,
            ),
        )
    }
}

/// A region's standing rules (the due day, the divisor's local choices).
pub fn rules(
    conn: &mut DbConnection,
    code: &RegionCode,
) -> Result<Option<RegionRules>, StoreError> {
    regions::table
        .find(code.as_str())
        .select((
            regions::contribution_due_day,
            regions::divisor_age_47,
            regions::divisor_fraction,
        ))
        .first::<RulesRow>(conn)
        .optional()?
        .map(RegionRules::try_from)
        .transpose()
}

/// The rules of a person's region (`None` for an unknown person).
pub fn rules_of_person(
    conn: &mut DbConnection,
    person_id: uuid::Uuid,
) -> Result<Option<RegionRules>, StoreError> {
    use crate::schema::persons;
    persons::table
        .inner_join(regions::table)
        .filter(persons::id.eq(person_id.to_string()))
        .select((
            regions::contribution_due_day,
            regions::divisor_age_47,
            regions::divisor_fraction,
        ))
        .first::<RulesRow>(conn)
        .optional()?
        .map(RegionRules::try_from)
        .transpose()
}

/// Sets an existing region's rules.
pub fn set_rules(
    conn: &mut DbConnection,
    code: &RegionCode,
    rules: &RegionRules,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::update(regions::table.find(code.as_str()))
        .set((
            regions::contribution_due_day.eq(i32::from(rules.contribution_due_day)),
            regions::divisor_age_47.eq(i32::from(rules.divisor_age_47)),
            regions::divisor_fraction.eq(rules.divisor_fraction.as_str()),
            regions::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn exists(conn: &mut DbConnection, code: &RegionCode) -> Result<bool, StoreError> {
    Ok(diesel::select(diesel::dsl::exists(regions::table.find(code.as_str()))).get_result(conn)?)
}

/// Regions ordered by code, after `after`, at most `limit`.
pub fn list(
    conn: &mut DbConnection,
    after: Option<&str>,
    limit: usize,
) -> Result<Page<RegionSummary>, StoreError> {
    let mut query = regions::table
        .select((regions::code, regions::name, regions::time_zone))
        .order(regions::code.asc())
        .limit(i64::try_from(limit + 1).unwrap_or(i64::MAX))
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(regions::code.gt(after.to_owned()));
    }
    let rows: Vec<RegionRow> = query.load(conn)?;
    let codes: Vec<String> = rows.iter().map(|r| r.code.clone()).collect();
    let years: Vec<(String, i32)> = region_years::table
        .filter(region_years::region_code.eq_any(&codes))
        .select((region_years::region_code, region_years::year))
        .order((region_years::region_code.asc(), region_years::year.asc()))
        .load(conn)?;
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        let region = Region::try_from(row)?;
        let years = years
            .iter()
            .filter(|(c, _)| c == region.code.as_str())
            .map(|(_, y)| *y)
            .collect();
        items.push(RegionSummary { region, years });
    }
    Ok(Page::from_rows(items, limit, |r| {
        r.region.code.as_str().to_owned()
    }))
}

/// A region's parameters for one year, as stored.
#[derive(Queryable, Selectable)]
#[diesel(table_name = region_years)]
struct YearRow {
    region_code: String,
    year: i32,
    average_monthly_wage_fen: i64,
    base_floor_pct: i32,
    base_ceiling_pct: i32,
    late_fee_bp_per_day: i32,
    pension_employer_bp: i32,
    pension_employee_bp: i32,
    medical_employer_bp: i32,
    medical_employee_bp: i32,
    unemployment_employer_bp: i32,
    unemployment_employee_bp: i32,
    work_injury_employer_bp: i32,
    work_injury_employee_bp: i32,
    maternity_employer_bp: i32,
    maternity_employee_bp: i32,
    personal_account_bp: i32,
    flexible_pension_bp: i32,
    flexible_pension_personal_bp: i32,
    flexible_medical_bp: i32,
    resident_medical_premium_fen: i64,
    resident_medical_opens: Option<chrono::NaiveDate>,
    resident_medical_closes: Option<chrono::NaiveDate>,
}

fn bp(column: &'static str, v: i32) -> Result<u16, StoreError> {
    stored(column, u16::try_from(v))
}

fn year_from_row(r: YearRow) -> Result<YearParameters, StoreError> {
    let account = bp("personal_account_bp", r.personal_account_bp)?;
    let premiums = shebao_domain::region::Premiums {
        flexible_pension_bp: bp("flexible_pension_bp", r.flexible_pension_bp)?,
        flexible_pension_personal_bp: bp(
            "flexible_pension_personal_bp",
            r.flexible_pension_personal_bp,
        )?,
        flexible_medical_bp: bp("flexible_medical_bp", r.flexible_medical_bp)?,
        resident_medical_premium: Fen(r.resident_medical_premium_fen),
        resident_medical_window: r.resident_medical_opens.zip(r.resident_medical_closes),
    };
    let rates = Rates {
        pension: RatePair {
            employer_bp: bp("pension_employer_bp", r.pension_employer_bp)?,
            employee_bp: bp("pension_employee_bp", r.pension_employee_bp)?,
        },
        medical: RatePair {
            employer_bp: bp("medical_employer_bp", r.medical_employer_bp)?,
            employee_bp: bp("medical_employee_bp", r.medical_employee_bp)?,
        },
        unemployment: RatePair {
            employer_bp: bp("unemployment_employer_bp", r.unemployment_employer_bp)?,
            employee_bp: bp("unemployment_employee_bp", r.unemployment_employee_bp)?,
        },
        work_injury: RatePair {
            employer_bp: bp("work_injury_employer_bp", r.work_injury_employer_bp)?,
            employee_bp: bp("work_injury_employee_bp", r.work_injury_employee_bp)?,
        },
        maternity: RatePair {
            employer_bp: bp("maternity_employer_bp", r.maternity_employer_bp)?,
            employee_bp: bp("maternity_employee_bp", r.maternity_employee_bp)?,
        },
    };
    stored(
        "region_years",
        YearParameters::new(
            stored(
                "region_years.region_code",
                RegionCode::parse(&r.region_code),
            )?,
            r.year,
            Fen(r.average_monthly_wage_fen),
            bp("base_floor_pct", r.base_floor_pct)?,
            bp("base_ceiling_pct", r.base_ceiling_pct)?,
            bp("late_fee_bp_per_day", r.late_fee_bp_per_day)?,
            rates,
        )
        .and_then(|p| p.with_personal_account_bp(Some(account)))
        .and_then(|p| p.with_premiums(premiums).map_err(|(_, e)| e)),
    )
}

/// All yearly parameters of a region, oldest first.
pub fn years(
    conn: &mut DbConnection,
    code: &RegionCode,
) -> Result<Vec<YearParameters>, StoreError> {
    let rows: Vec<YearRow> = region_years::table
        .filter(region_years::region_code.eq(code.as_str()))
        .order(region_years::year.asc())
        .select(YearRow::as_select())
        .load(conn)?;
    rows.into_iter().map(year_from_row).collect()
}

/// All yearly parameters of a person's region, oldest first (none for an unknown person).
pub fn years_of_person(
    conn: &mut DbConnection,
    person_id: uuid::Uuid,
) -> Result<Vec<YearParameters>, StoreError> {
    use crate::schema::persons;
    let rows: Vec<YearRow> = region_years::table
        .inner_join(persons::table.on(persons::region_code.eq(region_years::region_code)))
        .filter(persons::id.eq(person_id.to_string()))
        .order(region_years::year.asc())
        .select(YearRow::as_select())
        .load(conn)?;
    rows.into_iter().map(year_from_row).collect()
}

pub fn year(
    conn: &mut DbConnection,
    code: &RegionCode,
    year: i32,
) -> Result<Option<YearParameters>, StoreError> {
    let row: Option<YearRow> = region_years::table
        .find((code.as_str(), year))
        .select(YearRow::as_select())
        .first(conn)
        .optional()?;
    row.map(year_from_row).transpose()
}

/// Sets a region's parameters for one year. Returns true when the year was new.
pub fn upsert_year(
    conn: &mut DbConnection,
    p: &YearParameters,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let r = p.rates();
    let m = p.premiums();
    let values = (
        region_years::average_monthly_wage_fen.eq(p.average_monthly_wage().0),
        region_years::base_floor_pct.eq(i32::from(p.base_floor_pct())),
        region_years::base_ceiling_pct.eq(i32::from(p.base_ceiling_pct())),
        region_years::late_fee_bp_per_day.eq(i32::from(p.late_fee_bp_per_day())),
        (
            region_years::pension_employer_bp.eq(i32::from(r.pension.employer_bp)),
            region_years::pension_employee_bp.eq(i32::from(r.pension.employee_bp)),
            region_years::medical_employer_bp.eq(i32::from(r.medical.employer_bp)),
            region_years::medical_employee_bp.eq(i32::from(r.medical.employee_bp)),
            region_years::unemployment_employer_bp.eq(i32::from(r.unemployment.employer_bp)),
            region_years::unemployment_employee_bp.eq(i32::from(r.unemployment.employee_bp)),
            region_years::work_injury_employer_bp.eq(i32::from(r.work_injury.employer_bp)),
            region_years::work_injury_employee_bp.eq(i32::from(r.work_injury.employee_bp)),
            region_years::maternity_employer_bp.eq(i32::from(r.maternity.employer_bp)),
            region_years::maternity_employee_bp.eq(i32::from(r.maternity.employee_bp)),
        ),
        region_years::personal_account_bp.eq(i32::from(p.personal_account_bp())),
        (
            region_years::flexible_pension_bp.eq(i32::from(m.flexible_pension_bp)),
            region_years::flexible_pension_personal_bp
                .eq(i32::from(m.flexible_pension_personal_bp)),
            region_years::flexible_medical_bp.eq(i32::from(m.flexible_medical_bp)),
            region_years::resident_medical_premium_fen.eq(m.resident_medical_premium.0),
            region_years::resident_medical_opens.eq(m.resident_medical_window.map(|w| w.0)),
            region_years::resident_medical_closes.eq(m.resident_medical_window.map(|w| w.1)),
        ),
    );
    let updated = diesel::update(region_years::table.find((p.region().as_str(), p.year())))
        .set((values, region_years::updated_at.eq(now)))
        .execute(conn)?;
    if updated > 0 {
        return Ok(false);
    }
    diesel::insert_into(region_years::table)
        .values((
            region_years::region_code.eq(p.region().as_str()),
            region_years::year.eq(p.year()),
            values,
            region_years::created_at.eq(now),
            region_years::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(true)
}
