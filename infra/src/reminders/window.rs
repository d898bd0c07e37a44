//! The `resident_window` campaign: when a year's resident medical premium window opens, and 14
//! days before it closes — resident-category persons not yet paid for that year, to their own
//! bound account and to every account whose person has them as a payee. Runs daily; the phase
//! (open, closing) is decided per region on its local date.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::dsl::{exists, not};
use diesel::prelude::*;
use shebao_domain::money::Fen;
use shebao_domain::person::MedicalCategory;
use shebao_domain::region::TimeZoneName;
use shebao_domain::reminders::{window_phase, window_text, Campaign, WindowPhase};

use super::campaigns::{enqueue_reminder, Reminder};
use crate::db::{DbConnection, StoreError};
use crate::registry::{stored, stored_id};
use crate::schema::{accounts, payees, persons, region_years, regions, resident_premiums};

pub const KIND: &str = "campaign.resident_window";

/// A region's window that calls for a message today.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenWindow {
    pub region: String,
    pub zone: TimeZoneName,
    pub year: i32,
    pub premium: Fen,
    pub closes: NaiveDate,
    pub phase: WindowPhase,
}

/// (region, zone, year, premium, opens, closes) as stored.
type WindowRow = (
    String,
    String,
    i32,
    i64,
    Option<NaiveDate>,
    Option<NaiveDate>,
);

/// The windows (region, year) whose phase today (each region's date) calls for a message.
pub fn open_windows(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
) -> Result<Vec<OpenWindow>, StoreError> {
    let rows: Vec<WindowRow> = region_years::table
        .inner_join(regions::table)
        .filter(region_years::resident_medical_opens.is_not_null())
        .filter(region_years::resident_medical_closes.is_not_null())
        .filter(region_years::resident_medical_premium_fen.gt(0))
        .select((
            region_years::region_code,
            regions::time_zone,
            region_years::year,
            region_years::resident_medical_premium_fen,
            region_years::resident_medical_opens,
            region_years::resident_medical_closes,
        ))
        .order((region_years::region_code.asc(), region_years::year.asc()))
        .load(conn)?;
    let mut out = Vec::new();
    for (region, zone, year, premium, opens, closes) in rows {
        let (Some(opens), Some(closes)) = (opens, closes) else {
            continue;
        };
        let zone = stored("regions.time_zone", TimeZoneName::parse(&zone))?;
        if let Some(phase) = window_phase(opens, closes, zone.local_date(now)) {
            out.push(OpenWindow {
                region,
                zone,
                year,
                premium: Fen(premium),
                closes,
                phase,
            });
        }
    }
    Ok(out)
}

/// One message: to `account`, about `person` (`payee_name` when it is someone else's premium).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowReminder {
    pub person_id: String,
    pub account_id: String,
    pub payee_name: Option<String>,
}

/// The next page (by person id) of the window's audience, with every account to tell.
pub fn audience(
    conn: &mut DbConnection,
    w: &OpenWindow,
    after: Option<&str>,
    limit: usize,
) -> Result<(Vec<WindowReminder>, Option<String>), StoreError> {
    let mut q = persons::table
        .filter(persons::region_code.eq(&w.region))
        .filter(persons::medical_category.eq(MedicalCategory::Resident.as_str()))
        .filter(not(exists(
            resident_premiums::table
                .filter(resident_premiums::person_id.eq(persons::id))
                .filter(resident_premiums::year.eq(w.year)),
        )))
        .select((persons::id, persons::name))
        .order(persons::id.asc())
        .limit(i64::try_from(limit).unwrap_or(i64::MAX))
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(persons::id.gt(a.to_owned()));
    }
    let people: Vec<(String, String)> = q.load(conn)?;
    let next = if people.len() == limit {
        people.last().map(|(p, _)| p.clone())
    } else {
        None
    };
    let ids: Vec<String> = people.iter().map(|(p, _)| p.clone()).collect();
    let own: Vec<(Option<String>, String)> = accounts::table
        .filter(accounts::person_id.eq_any(ids.iter().map(|i| Some(i.clone()))))
        .select((accounts::person_id, accounts::id))
        .load(conn)?;
    let payers: Vec<(String, String)> = payees::table
        .inner_join(accounts::table.on(accounts::person_id.eq(payees::owner_person_id.nullable())))
        .filter(payees::payee_person_id.eq_any(&ids))
        .select((payees::payee_person_id, accounts::id))
        .load(conn)?;
    let mut out = Vec::new();
    for (person, name) in people {
        for (p, account) in &own {
            if p.as_deref() == Some(person.as_str()) {
                out.push(WindowReminder {
                    person_id: person.clone(),
                    account_id: account.clone(),
                    payee_name: None,
                });
            }
        }
        for (p, account) in &payers {
            if *p == person {
                out.push(WindowReminder {
                    person_id: person.clone(),
                    account_id: account.clone(),
                    payee_name: Some(name.clone()),
                });
            }
        }
    }
    Ok((out, next))
}

/// Enqueues today's window reminders; returns how many were new. The dedupe key's slot is
/// (year, phase, account): each account hears once per person, year and phase.
pub fn enqueue(
    conn: &mut DbConnection,
    page: usize,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut new = 0;
    for w in open_windows(conn, now)? {
        let mut after: Option<String> = None;
        loop {
            let (batch, next) = audience(conn, &w, after.as_deref(), page)?;
            new += crate::db::write_transaction(conn, |c| {
                let accounts: Vec<String> = batch.iter().map(|r| r.account_id.clone()).collect();
                let out = super::prefs::opted_out(c, Campaign::ResidentWindow, &accounts)?;
                let mut added = 0;
                for r in &batch {
                    if out.contains(&r.account_id) {
                        continue;
                    }
                    let slot = format!("{}:{}:{}", w.year, w.phase.as_str(), r.account_id);
                    let reminder = Reminder {
                        campaign: Campaign::ResidentWindow,
                        person: stored_id("persons.id", &r.person_id)?,
                        account: stored_id("accounts.id", &r.account_id)?,
                        zone: w.zone,
                        slot: &slot,
                        period: None,
                        text: window_text(
                            w.phase,
                            w.year,
                            w.premium,
                            w.closes,
                            r.payee_name.as_deref(),
                        ),
                    };
                    if enqueue_reminder(c, reminder, now)? {
                        added += 1;
                    }
                }
                Ok::<_, StoreError>(added)
            })?;
            match next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
    }
    Ok(new)
}
