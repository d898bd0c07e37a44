//! The `due` campaign's audience: flexible-employment persons with a bound account whose
//! contributions for the month are still unpaid, with what they owe and by when.

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
    let mut q = persons::table
        .filter(persons::employment_status.eq(EmploymentStatus::Flexible.as_str()))
        .filter(exists(
            accounts::table.filter(accounts::person_id.eq(persons::id.nullable())),
        ))
        .filter(exists(
            contributions::table
                .filter(contributions::person_id.eq(persons::id))
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
        .limit(i64::try_from(limit + 1).unwrap_or(i64::MAX))
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(persons::id.gt(a.to_string()));
    }
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
    let mut out = Vec::with_capacity(people.len());
    for (person, zone, due_day) in people {
        let mine: Vec<(Fen, Fen)> = lines
            .iter()
            .filter(|(p, _, _)| *p == person)
            .map(|(_, er, ee)| (Fen(*er), Fen(*ee)))
            .collect();
        let Some(account) = bound
            .iter()
            .find(|(p, _)| p.as_deref() == Some(person.as_str()))
        else {
            continue;
        };
        out.push(DueReminder {
            person_id: stored_id("persons.id", &person)?,
            account_id: stored_id("accounts.id", &account.1)?,
            time_zone: stored("regions.time_zone", TimeZoneName::parse(&zone))?,
            period,
            amount: amount_owed(&mine)
                .ok_or_else(|| StoreError::Corrupt(format!("contributions of {person}: sum")))?,
            due: due_date(
                period,
                stored("regions.contribution_due_day", u8::try_from(due_day))?,
            ),
        });
    }
    Ok(Page::from_rows(out, limit, |r| r.person_id.to_string()))
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
    use super::campaigns::{enqueue_reminder, Reminder};
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
            let mut added = 0;
            for r in &batch.items {
                if out.contains(&r.account_id.to_string()) {
                    continue;
                }
                let reminder = Reminder {
                    campaign: Campaign::Due,
                    person: r.person_id,
                    account: r.account_id,
                    zone: r.time_zone,
                    slot: &slot,
                    text: due_text(r.period, r.amount, r.due),
                };
                if enqueue_reminder(c, reminder, now)? {
                    added += 1;
                }
            }
            Ok::<_, StoreError>((added, batch.next))
        })?;
        new += added;
        match next {
            Some(n) => after = Some(stored_id("persons.id", &n)?),
            None => return Ok(new),
        }
    }
}
