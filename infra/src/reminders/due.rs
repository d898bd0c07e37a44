//! The `due` campaign's audience: flexible-employment persons with a bound account whose
//! contributions for the month are still unpaid, with what they owe and by when.

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel::dsl::exists;
use diesel::prelude::*;
use shebao_domain::money::Fen;
use shebao_domain::period::Period;
use shebao_domain::person::EmploymentStatus;
use shebao_domain::region::TimeZoneName;
use shebao_domain::reminders::amount_owed;
use shebao_domain::statement::{due_date, ContributionStatus};
use uuid::Uuid;

use crate::db::{DbConnection, StoreError};
use crate::registry::{stored, stored_id, Page};
use crate::schema::{accounts, contributions, persons, regions};

/// One person to remind that a month is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueReminder {
    pub person_id: Uuid,
    /// The account bound to the person: the message goes to its phone.
    pub account_id: Uuid,
    /// The person's region's zone (for daylight).
    pub time_zone: TimeZoneName,
    pub period: Period,
    pub amount: Fen,
    pub due: NaiveDate,
}

/// The next page (by person id, after `after`) of persons to remind that `period` is due.
pub fn audience(
    conn: &mut DbConnection,
    period: Period,
    after: Option<Uuid>,
    limit: usize,
) -> Result<Page<DueReminder>, StoreError> {
    let month = period.to_string();
    let unpaid = ContributionStatus::Due.as_str();
    // Every id is after "" (the first page). The bound is repeated inside both EXISTS: the
    // database joins them in id order too, and without it each page read the accounts and the
    // months from the first person on (a page cost as much as its position: 2.4 s at half a
    // million persons).
    let from = after.map(|a| a.to_string()).unwrap_or_default();
    let q = persons::table
        .filter(persons::employment_status.eq(EmploymentStatus::Flexible.as_str()))
        .filter(persons::id.gt(from.clone()))
        .filter(exists(
            accounts::table
                .filter(accounts::person_id.eq(persons::id.nullable()))
                .filter(accounts::person_id.gt(from.clone())),
        ))
        .filter(exists(
            contributions::table
                .filter(contributions::person_id.eq(persons::id))
                .filter(contributions::person_id.gt(from))
                .filter(contributions::period.eq(month.clone()))
                .filter(contributions::status.eq(unpaid)),
        ))
        .inner_join(regions::table)
        .select((
            persons::id,
            regions::time_zone,
            regions::contribution_due_day,
        ))
        .order(persons::id.asc())
        .limit(i64::try_from(limit + 1).unwrap_or(i64::MAX));
    let people: Vec<(String, String, i32)> = q.load(conn)?;
    // All of them, the extra one too: it only says there is more, but must be whole.
    let ids: Vec<String> = people.iter().map(|(id, _, _)| id.clone()).collect();
    let lines: Vec<(String, i64, i64)> = contributions::table
        .filter(contributions::person_id.eq_any(&ids))
        .filter(contributions::period.eq(month))
        .filter(contributions::status.eq(unpaid))
        .select((
            contributions::person_id,
            contributions::employer_fen,
            contributions::employee_fen,
        ))
        .load(conn)?;
    let bound: Vec<(Option<String>, String)> = accounts::table
        .filter(accounts::person_id.eq_any(ids.iter().map(|i| Some(i.clone()))))
        .select((accounts::person_id, accounts::id))
        .load(conn)?;
    // By person, so that a page costs its length, not its square.
    let mut lines_of: HashMap<&str, Vec<(Fen, Fen)>> = HashMap::with_capacity(people.len());
    for (p, er, ee) in &lines {
        lines_of
            .entry(p.as_str())
            .or_default()
            .push((Fen(*er), Fen(*ee)));
    }
    let account_of: HashMap<&str, &str> = bound
        .iter()
        .filter_map(|(p, a)| Some((p.as_deref()?, a.as_str())))
        .collect();
    let mut out = Vec::with_capacity(people.len());
    for (person, zone, due_day) in &people {
        let mine = lines_of.get(person.as_str()).map_or(&[][..], Vec::as_slice);
        let Some(account) = account_of.get(person.as_str()) else {
            continue;
        };
        out.push(DueReminder {
            person_id: stored_id("persons.id", person)?,
            account_id: stored_id("accounts.id", account)?,
            time_zone: stored("regions.time_zone", TimeZoneName::parse(zone))?,
            period,
            amount: amount_owed(mine)
                .ok_or_else(|| StoreError::Corrupt(format!("contributions of {person}: sum")))?,
            due: due_date(
                period,
                stored("regions.contribution_due_day", u8::try_from(*due_day))?,
            ),
        });
    }
    Ok(Page::from_rows(out, limit, |r| r.person_id.to_string()))
}

/// Whether `person` still has `period` unpaid (`due`): a reminder queued for it is sent only
/// then — not once the month is paid, or pending while a payment settles.
pub fn still_due(
    conn: &mut DbConnection,
    person: Uuid,
    period: Period,
) -> Result<bool, StoreError> {
    let n: i64 = contributions::table
        .filter(contributions::person_id.eq(person.to_string()))
        .filter(contributions::period.eq(period.to_string()))
        .filter(contributions::status.eq(ContributionStatus::Due.as_str()))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

pub const KIND: &str = "campaign.due";

/// Enqueues the month's reminders (skipping accounts that turned `due` off); returns how many
/// were new.
pub fn enqueue_month(
    conn: &mut DbConnection,
    period: Period,
    page: usize,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<usize, StoreError> {
    use super::campaigns::{enqueue_reminders, Reminder};
    use shebao_domain::reminders::{due_text, Campaign};
    let slot = period.to_string();
    let mut after = None;
    let mut new = 0;
    loop {
        let (added, next) = crate::db::write_transaction(conn, |c| {
            let batch = audience(c, period, after, page)?;
            let accounts: Vec<String> = batch
                .items
                .iter()
                .map(|r| r.account_id.to_string())
                .collect();
            let out = super::prefs::opted_out(c, Campaign::Due, &accounts)?;
            let reminders = batch
                .items
                .iter()
                .zip(&accounts)
                .filter(|(_, account)| !out.contains(*account))
                .map(|(r, _)| Reminder {
                    campaign: Campaign::Due,
                    person: r.person_id,
                    account: r.account_id,
                    zone: r.time_zone,
                    slot: &slot,
                    period: Some(r.period),
                    text: due_text(r.period, r.amount, r.due),
                });
            let added = enqueue_reminders(c, reminders, now)?;
            Ok::<_, StoreError>((added, batch.next))
        })?;
        new += added;
        match next {
            Some(n) => after = Some(stored_id("persons.id", &n)?),
            None => return Ok(new),
        }
    }
}
