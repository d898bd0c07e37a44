//! What approving an application writes into the records, and the regions' service
//! parameters the decisions read. Each function runs inside the caller's transaction (the one
//! that moves the application to `approved`).

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::{DbConnection, StoreError};
use crate::schema::{
    assistance_thresholds, benefit_awards, medical_filings, persons, qualification_confirmations,
    region_transfers, service_parameters,
};

// ---------------------------------------------------------------------------------------------
// Service parameters

/// A region's service parameters for a year.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = service_parameters)]
pub struct ServiceParameters {
    pub region_code: String,
    pub year: i32,
    pub unemployment_benefit_monthly_fen: i64,
}

pub fn set_service_parameters(
    conn: &mut DbConnection,
    region: &str,
    year: i32,
    unemployment_benefit_monthly_fen: i64,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    let updated = diesel::update(service_parameters::table.find((region, year)))
        .set((
            service_parameters::unemployment_benefit_monthly_fen
                .eq(unemployment_benefit_monthly_fen),
            service_parameters::updated_at.eq(now),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(service_parameters::table)
            .values((
                service_parameters::region_code.eq(region),
                service_parameters::year.eq(year),
                service_parameters::unemployment_benefit_monthly_fen
                    .eq(unemployment_benefit_monthly_fen),
                service_parameters::created_at.eq(now),
                service_parameters::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The parameters in force in `year`: that year's, or the latest before it.
pub fn service_parameters(
    conn: &mut DbConnection,
    region: &str,
    year: i32,
) -> Result<Option<ServiceParameters>, StoreError> {
    Ok(service_parameters::table
        .filter(service_parameters::region_code.eq(region))
        .filter(service_parameters::year.le(year))
        .order(service_parameters::year.desc())
        .select(ServiceParameters::as_select())
        .first(conn)
        .optional()?)
}

/// A region's social-assistance thresholds for a year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = assistance_thresholds)]
pub struct AssistanceRow {
    pub year: i32,
    pub minimum_living_monthly_fen: i64,
    pub low_income_bp: i32,
    pub assets_per_person_limit_fen: i64,
    pub medical_costs_threshold_fen: i64,
    pub temporary_costs_threshold_fen: i64,
    pub extreme_poverty_monthly_fen: i64,
    pub medical_assistance_monthly_fen: i64,
    pub temporary_assistance_once_fen: i64,
}

impl AssistanceRow {
    pub fn thresholds(&self) -> shebao_domain::assistance::Thresholds {
        use shebao_domain::money::Fen;
        shebao_domain::assistance::Thresholds {
            minimum_living_monthly: Fen(self.minimum_living_monthly_fen),
            low_income_bp: u32::try_from(self.low_income_bp).unwrap_or(0),
            assets_per_person_limit: Fen(self.assets_per_person_limit_fen),
            medical_costs_threshold: Fen(self.medical_costs_threshold_fen),
            temporary_costs_threshold: Fen(self.temporary_costs_threshold_fen),
            extreme_poverty_monthly: Fen(self.extreme_poverty_monthly_fen),
            medical_assistance_monthly: Fen(self.medical_assistance_monthly_fen),
            temporary_assistance_once: Fen(self.temporary_assistance_once_fen),
        }
    }
}

/// Sets a region's thresholds from `row.year` on.
pub fn set_assistance_thresholds(
    conn: &mut DbConnection,
    region: &str,
    row: &AssistanceRow,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::delete(assistance_thresholds::table.find((region, row.year))).execute(conn)?;
    diesel::insert_into(assistance_thresholds::table)
        .values((
            assistance_thresholds::region_code.eq(region),
            assistance_thresholds::year.eq(row.year),
            assistance_thresholds::minimum_living_monthly_fen.eq(row.minimum_living_monthly_fen),
            assistance_thresholds::low_income_bp.eq(row.low_income_bp),
            assistance_thresholds::assets_per_person_limit_fen.eq(row.assets_per_person_limit_fen),
            assistance_thresholds::medical_costs_threshold_fen.eq(row.medical_costs_threshold_fen),
            assistance_thresholds::temporary_costs_threshold_fen
                .eq(row.temporary_costs_threshold_fen),
            assistance_thresholds::extreme_poverty_monthly_fen.eq(row.extreme_poverty_monthly_fen),
            assistance_thresholds::medical_assistance_monthly_fen
                .eq(row.medical_assistance_monthly_fen),
            assistance_thresholds::temporary_assistance_once_fen
                .eq(row.temporary_assistance_once_fen),
            assistance_thresholds::created_at.eq(now),
            assistance_thresholds::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The thresholds in force in `year`: that year's, or the latest before it. `None`: the
/// region runs no programme.
pub fn assistance_thresholds(
    conn: &mut DbConnection,
    region: &str,
    year: i32,
) -> Result<Option<AssistanceRow>, StoreError> {
    Ok(assistance_thresholds::table
        .filter(assistance_thresholds::region_code.eq(region))
        .filter(assistance_thresholds::year.le(year))
        .order(assistance_thresholds::year.desc())
        .select(AssistanceRow::as_select())
        .first(conn)
        .optional()?)
}

// ---------------------------------------------------------------------------------------------
// Benefit awards

/// A benefit granted by an approved application.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = benefit_awards)]
pub struct Award {
    pub id: String,
    pub application_id: String,
    pub kind: String,
    pub monthly_amount_fen: i64,
    pub months: Option<i32>,
    pub starts: String,
    pub created_at: NaiveDateTime,
}

#[allow(clippy::too_many_arguments)]
pub fn add_award(
    conn: &mut DbConnection,
    person: Uuid,
    application: Uuid,
    kind: &str,
    monthly_amount_fen: i64,
    months: Option<u32>,
    starts: &str,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::insert_into(benefit_awards::table)
        .values((
            benefit_awards::id.eq(Uuid::now_v7().to_string()),
            benefit_awards::person_id.eq(person.to_string()),
            benefit_awards::application_id.eq(application.to_string()),
            benefit_awards::kind.eq(kind),
            benefit_awards::monthly_amount_fen.eq(monthly_amount_fen),
            benefit_awards::months.eq(months.map(|m| i32::try_from(m).unwrap_or(i32::MAX))),
            benefit_awards::starts.eq(starts),
            benefit_awards::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// A person's awards, oldest first.
pub fn awards_of(conn: &mut DbConnection, person: Uuid) -> Result<Vec<Award>, StoreError> {
    Ok(benefit_awards::table
        .filter(benefit_awards::person_id.eq(person.to_string()))
        .order(benefit_awards::id.asc())
        .select(Award::as_select())
        .load(conn)?)
}

// ---------------------------------------------------------------------------------------------
// Transfers between regions

/// A move of a person's records to another region.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = region_transfers)]
pub struct Transfer {
    pub application_id: String,
    pub from_region: String,
    pub to_region: String,
    pub at: NaiveDateTime,
}

/// Moves the person to `to_region` and records the move. Contributions and accounts stay
/// attached to the person, so every month and balance moves with them. Returns the region
/// they came from.
pub fn transfer(
    conn: &mut DbConnection,
    person: Uuid,
    application: Uuid,
    to_region: &str,
    now: NaiveDateTime,
) -> Result<String, StoreError> {
    let from: String = persons::table
        .find(person.to_string())
        .select(persons::region_code)
        .first(conn)?;
    diesel::update(persons::table.find(person.to_string()))
        .set((
            persons::region_code.eq(to_region),
            persons::updated_at.eq(now),
        ))
        .execute(conn)?;
    diesel::insert_into(region_transfers::table)
        .values((
            region_transfers::id.eq(Uuid::now_v7().to_string()),
            region_transfers::person_id.eq(person.to_string()),
            region_transfers::application_id.eq(application.to_string()),
            region_transfers::from_region.eq(&from),
            region_transfers::to_region.eq(to_region),
            region_transfers::at.eq(now),
        ))
        .execute(conn)?;
    Ok(from)
}

/// A person's transfers, oldest first.
pub fn transfers_of(conn: &mut DbConnection, person: Uuid) -> Result<Vec<Transfer>, StoreError> {
    Ok(region_transfers::table
        .filter(region_transfers::person_id.eq(person.to_string()))
        .order(region_transfers::id.asc())
        .select(Transfer::as_select())
        .load(conn)?)
}

// ---------------------------------------------------------------------------------------------
// Medical filings

/// Medical treatment filed for another region.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = medical_filings)]
pub struct Filing {
    pub application_id: String,
    pub region_code: String,
    pub reason: String,
    pub starts: NaiveDate,
    pub ends: NaiveDate,
}

#[allow(clippy::too_many_arguments)]
pub fn add_filing(
    conn: &mut DbConnection,
    person: Uuid,
    application: Uuid,
    region: &str,
    reason: &str,
    starts: NaiveDate,
    ends: NaiveDate,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::insert_into(medical_filings::table)
        .values((
            medical_filings::id.eq(Uuid::now_v7().to_string()),
            medical_filings::person_id.eq(person.to_string()),
            medical_filings::application_id.eq(application.to_string()),
            medical_filings::region_code.eq(region),
            medical_filings::reason.eq(reason),
            medical_filings::starts.eq(starts),
            medical_filings::ends.eq(ends),
            medical_filings::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// A person's filings, oldest first.
pub fn filings_of(conn: &mut DbConnection, person: Uuid) -> Result<Vec<Filing>, StoreError> {
    Ok(medical_filings::table
        .filter(medical_filings::person_id.eq(person.to_string()))
        .order(medical_filings::id.asc())
        .select(Filing::as_select())
        .load(conn)?)
}

// ---------------------------------------------------------------------------------------------
// Qualification checks

/// Records a pensioner's approved yearly check; `by` is `self` or `relative`.
pub fn add_confirmation(
    conn: &mut DbConnection,
    person: Uuid,
    application: Uuid,
    by: &str,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::insert_into(qualification_confirmations::table)
        .values((
            qualification_confirmations::id.eq(Uuid::now_v7().to_string()),
            qualification_confirmations::person_id.eq(person.to_string()),
            qualification_confirmations::application_id.eq(application.to_string()),
            qualification_confirmations::confirmed_by.eq(by),
            qualification_confirmations::at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// When the person's latest check was approved.
pub fn last_confirmation(
    conn: &mut DbConnection,
    person: Uuid,
) -> Result<Option<NaiveDateTime>, StoreError> {
    Ok(qualification_confirmations::table
        .filter(qualification_confirmations::person_id.eq(person.to_string()))
        .order(qualification_confirmations::at.desc())
        .select(qualification_confirmations::at)
        .first(conn)
        .optional()?)
}
