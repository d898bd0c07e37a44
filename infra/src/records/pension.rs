//! The personal pension account's yearly interest.

use diesel::prelude::*;
use uuid::Uuid;

use crate::db::{DbConnection, StoreError};
use crate::schema::pension_interest_credits as pic;

/// (year, interest) credited to a person's account, oldest first.
pub fn interest_credits(
    conn: &mut DbConnection,
    person_id: Uuid,
) -> Result<Vec<(i32, i64)>, StoreError> {
    Ok(pic::table
        .filter(pic::person_id.eq(person_id.to_string()))
        .select((pic::year, pic::interest_fen))
        .order(pic::year.asc())
        .load(conn)?)
}

/// The interest of this region and year was credited already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlreadyCredited;

/// Credits `year`'s interest at `rate_bp` to every personal pension account of the region's
/// persons, once: the run's row is written first, so a second run (even a concurrent one) finds
/// it and stops. Returns (accounts credited, total interest).
pub fn credit_year(
    conn: &mut DbConnection,
    region: &shebao_domain::region::RegionCode,
    year: i32,
    rate_bp: u32,
    now: chrono::NaiveDateTime,
) -> Result<Result<(u32, i64), AlreadyCredited>, StoreError> {
    use crate::schema::{pension_interest_runs as runs, persons};
    use shebao_domain::money::Fen;
    let claimed = diesel::insert_into(runs::table)
        .values((
            runs::region_code.eq(region.as_str()),
            runs::year.eq(year),
            runs::rate_bp.eq(i32::try_from(rate_bp).unwrap_or(i32::MAX)),
            runs::persons.eq(0),
            runs::run_at.eq(now),
        ))
        .execute(conn)
        .map_err(StoreError::from);
    match claimed {
        Ok(_) => {}
        Err(StoreError::Conflict(_)) => return Ok(Err(AlreadyCredited)),
        Err(e) => return Err(e),
    }
    let ids: Vec<String> = persons::table
        .filter(persons::region_code.eq(region.as_str()))
        .select(persons::id)
        .load(conn)?;
    // History is credited at each year's personal-account share.
    let shares =
        shebao_domain::region::AccountShares::of(&crate::registry::regions::years(conn, region)?);
    let (mut count, mut total) = (0u32, 0i64);
    for id in ids {
        let person = crate::registry::stored_id("persons.id", &id)?;
        let rows: Vec<(shebao_domain::statement::MonthRow, Fen)> =
            // Only paid months earn interest: the date that turns unpaid ones to arrears
            // does not matter here.
            super::contributions::month_rows(conn, person, now.date())?
                .into_iter()
                .map(|(r, b)| (r, Fen(b)))
                .collect();
        let interest: Vec<(i32, Fen)> = interest_credits(conn, person)?
            .into_iter()
            .map(|(y, i)| (y, Fen(i)))
            .collect();
        let (opening, credits) =
            shebao_domain::statement::interest_basis(&rows, &interest, year, &shares);
        if opening == Fen::ZERO && credits.is_empty() {
            continue;
        }
        let amount = shebao_domain::accounts::yearly_interest(opening, &credits, rate_bp);
        diesel::insert_into(pic::table)
            .values((
                pic::person_id.eq(&id),
                pic::year.eq(year),
                pic::rate_bp.eq(i32::try_from(rate_bp).unwrap_or(i32::MAX)),
                pic::interest_fen.eq(amount.0),
                pic::created_at.eq(now),
            ))
            .execute(conn)?;
        count += 1;
        total += amount.0;
    }
    diesel::update(runs::table.find((region.as_str(), year)))
        .set(runs::persons.eq(i32::try_from(count).unwrap_or(i32::MAX)))
        .execute(conn)?;
    Ok(Ok((count, total)))
}
