//! The `arrears` campaign's audience: persons with a bound account and months of their own
//! (no employer) still unpaid after the due date, with the months, the amount and the late fee
//! to today (the payables' own rules). At most four messages per stretch of arrears; none once
//! paid (checked again when the message is sent).

use chrono::{DateTime, Utc};
use diesel::dsl::exists;
use diesel::prelude::*;
use shebao_domain::payments::payables::{self, MonthInputs};
use shebao_domain::period::Period;
use shebao_domain::region::TimeZoneName;
use shebao_domain::reminders::{
    arrears_summary, arrears_text, ArrearsSummary, Campaign, ARREARS_MESSAGES_PER_STRETCH,
};
use shebao_domain::statement::ContributionStatus;
use uuid::Uuid;

use super::campaigns::{enqueue_reminder, Reminder};
use crate::db::{DbConnection, StoreError};
use crate::registry::{regions, stored, stored_id};
use crate::schema::{accounts, arrears_stretches, contributions, persons};

pub const KIND: &str = "campaign.arrears";

/// The person's arrears today (their region's date), `None` when there are none.
pub fn summary_of(
    conn: &mut DbConnection,
    person: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<(ArrearsSummary, TimeZoneName)>, StoreError> {
    let zone: Option<String> = persons::table
        .inner_join(crate::schema::regions::table)
        .filter(persons::id.eq(person.to_string()))
        .select(crate::schema::regions::time_zone)
        .first(conn)
        .optional()?;
    let Some(zone) = zone else {
        return Ok(None);
    };
    let zone = stored("regions.time_zone", TimeZoneName::parse(&zone))?;
    let today = zone.local_date(now);
    let records = crate::payments::store::payable_records(conn, person)?;
    let years = regions::years_of_person(conn, person)?;
    let rules = regions::rules_of_person(conn, person)?.unwrap_or_default();
    let pid = person.to_string();
    let items = payables::month_payables(&MonthInputs {
        person_id: &pid,
        today,
        due_day: rules.contribution_due_day,
        flexible: records.flexible,
        employee_medical: records.employee_medical,
        years: &years,
        chosen_bases: &records.chosen_bases,
        own_months: &records.own_months,
    });
    Ok(arrears_summary(&items).map(|s| (s, zone)))
}

/// The next page of candidates (by person id): persons with a bound account and an own month
/// before this one still unpaid. [`summary_of`] decides.
fn candidates(
    conn: &mut DbConnection,
    before: Period,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<(String, String)>, StoreError> {
    let unpaid = [
        ContributionStatus::Due.as_str(),
        ContributionStatus::Arrears.as_str(),
    ];
    let mut q = persons::table
        .inner_join(accounts::table.on(accounts::person_id.eq(persons::id.nullable())))
        .filter(exists(
            contributions::table
                .filter(contributions::person_id.eq(persons::id))
                .filter(contributions::employer_key.eq(""))
                .filter(contributions::status.eq_any(unpaid))
                .filter(contributions::period.lt(before.to_string())),
        ))
        .select((persons::id, accounts::id))
        .order(persons::id.asc())
        .limit(i64::try_from(limit).unwrap_or(i64::MAX))
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(persons::id.gt(a.to_owned()));
    }
    Ok(q.load(conn)?)
}

/// Counts one more message for the stretch; `false` when it had its four already.
fn take_stretch_place(
    conn: &mut DbConnection,
    person: &str,
    first: Period,
) -> Result<bool, StoreError> {
    let insert = diesel::insert_into(arrears_stretches::table)
        .values((
            arrears_stretches::person_id.eq(person),
            arrears_stretches::first_period.eq(first.to_string()),
            arrears_stretches::messages.eq(0),
        ))
        .on_conflict_do_nothing();
    crate::db_run!(conn, |c| insert.execute(c))?;
    let max = i32::try_from(ARREARS_MESSAGES_PER_STRETCH).unwrap_or(i32::MAX);
    let took = diesel::update(
        arrears_stretches::table
            .filter(arrears_stretches::person_id.eq(person))
            .filter(arrears_stretches::first_period.eq(first.to_string()))
            .filter(arrears_stretches::messages.lt(max)),
    )
    .set(arrears_stretches::messages.eq(arrears_stretches::messages + 1))
    .execute(conn)?;
    Ok(took == 1)
}

/// Enqueues the week's arrears reminders (`slot`: the ISO week); returns how many were new.
pub fn enqueue(
    conn: &mut DbConnection,
    slot: &str,
    page: usize,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    // Any month before the current one (in the earliest zone) may be overdue.
    let before = Period::containing(TimeZoneName::ASIA_SHANGHAI.local_date(now)).next();
    let mut after: Option<String> = None;
    let mut new = 0;
    loop {
        let batch = candidates(conn, before, after.as_deref(), page)?;
        let Some(last) = batch.last().map(|(p, _)| p.clone()) else {
            return Ok(new);
        };
        new += crate::db::write_transaction(conn, |c| {
            let accounts: Vec<String> = batch.iter().map(|(_, a)| a.clone()).collect();
            let out = super::prefs::opted_out(c, Campaign::Arrears, &accounts)?;
            let mut added = 0;
            for (person, account) in &batch {
                if out.contains(account) {
                    continue;
                }
                let person_id = stored_id("persons.id", person)?;
                let Some((s, zone)) = summary_of(c, person_id, now)? else {
                    continue;
                };
                let key = Campaign::Arrears.dedupe_key(person, slot);
                if crate::jobs::queue::by_dedupe_key(c, &key)?.is_some() {
                    continue;
                }
                if !take_stretch_place(c, person, s.first)? {
                    continue;
                }
                let reminder = Reminder {
                    campaign: Campaign::Arrears,
                    person: person_id,
                    account: stored_id("accounts.id", account)?,
                    zone,
                    slot,
                    period: None,
                    text: arrears_text(s.months, s.principal, s.late_fee, zone.local_date(now)),
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
