//! The `statement` campaign's audience: persons whose bound account has not signed in for 90
//! days (no session begun since; an account younger than that is not dormant), with their
//! pension contribution months so far, this year's, and the personal-account balance.

use chrono::{DateTime, Datelike, Duration, Utc};
use diesel::dsl::{exists, not};
use diesel::prelude::*;
use shebao_domain::insurance::InsuranceType;
use shebao_domain::money::Fen;
use shebao_domain::region::{AccountShares, TimeZoneName};
use shebao_domain::reminders::{statement_text, Campaign, DORMANT_DAYS};
use shebao_domain::statement::{self, ContributionStatus};
use uuid::Uuid;

use super::campaigns::{enqueue_reminder, Reminder};
use crate::db::{DbConnection, StoreError};
use crate::records::{contributions, pension};
use crate::registry::{regions, stored, stored_id};
use crate::schema::{accounts, persons, sessions};

pub const KIND: &str = "campaign.statement";

/// What a statement says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatementFigures {
    pub total_months: u32,
    pub year: i32,
    pub year_months: u32,
    pub balance: Fen,
}

/// The figures of a person's statement on `today` (their region's date).
pub fn figures(
    conn: &mut DbConnection,
    person: Uuid,
    today: chrono::NaiveDate,
) -> Result<StatementFigures, StoreError> {
    let rows = contributions::month_rows(conn, person, today)?;
    let interest = pension::interest_credits(conn, person)?;
    let params = regions::years_of_person(conn, person)?;
    let ledger: Vec<(statement::MonthRow, Fen)> =
        rows.into_iter().map(|(r, b)| (r, Fen(b))).collect();
    let interest: Vec<(i32, Fen)> = interest.into_iter().map(|(y, i)| (y, Fen(i))).collect();
    let month_rows: Vec<statement::MonthRow> = ledger.iter().map(|(r, _)| *r).collect();
    let year = today.year();
    let this_year: std::collections::BTreeSet<_> = month_rows
        .iter()
        .filter(|r| {
            r.insurance == InsuranceType::Pension
                && r.status == ContributionStatus::Paid
                && r.period.year() == year
        })
        .map(|r| r.period)
        .collect();
    let balance = statement::pension_account_years(&ledger, &interest, &AccountShares::of(&params))
        .last()
        .map(|y| y.closing)
        .unwrap_or(Fen::ZERO);
    Ok(StatementFigures {
        total_months: statement::pension_months(&month_rows),
        year,
        year_months: u32::try_from(this_year.len()).unwrap_or(u32::MAX),
        balance,
    })
}

/// The next page (by account id) of dormant bound accounts: (account, person, zone).
pub fn audience(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<(String, String, String)>, StoreError> {
    let cutoff = (now - Duration::days(DORMANT_DAYS)).naive_utc();
    let mut q = accounts::table
        .inner_join(persons::table.on(accounts::person_id.eq(persons::id.nullable())))
        .inner_join(
            crate::schema::regions::table.on(crate::schema::regions::code.eq(persons::region_code)),
        )
        .filter(accounts::created_at.le(cutoff))
        .filter(not(exists(
            sessions::table
                .filter(sessions::account_id.eq(accounts::id))
                .filter(sessions::created_at.gt(cutoff)),
        )))
        .select((accounts::id, persons::id, crate::schema::regions::time_zone))
        .order(accounts::id.asc())
        .limit(i64::try_from(limit).unwrap_or(i64::MAX))
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(accounts::id.gt(a.to_owned()));
    }
    Ok(q.load(conn)?)
}

/// Enqueues the quarter's statements (`slot`: `2026-Q4`); returns how many were new.
pub fn enqueue(
    conn: &mut DbConnection,
    slot: &str,
    page: usize,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut after: Option<String> = None;
    let mut new = 0;
    loop {
        let batch = audience(conn, now, after.as_deref(), page)?;
        let Some(last) = batch.last().map(|(a, _, _)| a.clone()) else {
            return Ok(new);
        };
        new += crate::db::write_transaction(conn, |c| {
            let accounts: Vec<String> = batch.iter().map(|(a, _, _)| a.clone()).collect();
            let out = super::prefs::opted_out(c, Campaign::Statement, &accounts)?;
            let mut added = 0;
            for (account, person, zone) in &batch {
                if out.contains(account) {
                    continue;
                }
                let key = Campaign::Statement.dedupe_key(person, slot);
                if crate::jobs::queue::by_dedupe_key(c, &key)?.is_some() {
                    continue;
                }
                let zone = stored("regions.time_zone", TimeZoneName::parse(zone))?;
                let person_id = stored_id("persons.id", person)?;
                let f = figures(c, person_id, zone.local_date(now))?;
                let reminder = Reminder {
                    campaign: Campaign::Statement,
                    person: person_id,
                    account: stored_id("accounts.id", account)?,
                    zone,
                    slot,
                    period: None,
                    text: statement_text(f.total_months, f.year, f.year_months, f.balance),
                };
                if enqueue_reminder(c, reminder, now)? {
                    added += 1;
                }
            }
            Ok::<_, StoreError>(added)
        })?;
        after = Some(last);
    }
}
