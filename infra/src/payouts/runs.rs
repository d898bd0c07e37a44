//! Payout runs and their transfer attempts in the database.
//!
//! Once per (person, benefit, month): an attempt is written (status `pending`, its
//! deterministic `out_bill_no`, the destination encrypted, the journal that books it) in one
//! transaction BEFORE the gateway is called; a partial unique index allows at most one attempt
//! per (person, benefit, month) that is not `failed`. A run killed after the call and before
//! recording the answer leaves the attempt `pending`; the next run that owes that month (a
//! re-run of it, or a later month's catch-up, see [`owed`]) sends the same bill again (the
//! gateway answers the bill it has) and records it then. Recording is conditional on the
//! attempt still being `pending`, so a notification and a query racing apply once.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use shebao_domain::benefits::BenefitKind;
use shebao_domain::money::Fen;
use shebao_domain::payments::TransferBill;
use shebao_domain::payouts::{self as rules, Award, PayoutDestination, TransferState};
use shebao_domain::period::Period;
use shebao_security::PiiVault;
use uuid::Uuid;

use crate::db::{DbConnection, StoreError};
use crate::payments::store as ledger;
use crate::registry::{stored, stored_id, Page};
use crate::schema::{benefit_awards, benefit_payments, payout_items as pi, payout_runs as pr};

/// The associated data that binds an attempt's encrypted destination to its column.
pub const DESTINATION_AAD: &[u8] = b"payout_items.destination";

pub const PENDING: &str = "pending";
pub const PAID: &str = "paid";
pub const FAILED: &str = "failed";

/// A run's row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = pr)]
pub struct RunRow {
    pub id: String,
    pub period: String,
    pub benefit: String,
    pub started_by: String,
    pub started_at: NaiveDateTime,
    pub finished_at: Option<NaiveDateTime>,
    pub entitled: i32,
    pub skipped_no_account: i32,
    pub already_paid: i32,
}

/// A transfer attempt's row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = pi)]
pub struct ItemRow {
    pub id: String,
    pub run_id: String,
    pub person_id: String,
    pub benefit: String,
    pub period: String,
    pub attempt: i32,
    pub out_bill_no: String,
    pub amount_fen: i64,
    pub destination_enc: String,
    pub destination_masked: String,
    pub status: String,
    pub fail_reason: Option<String>,
    pub transfer_bill_no: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl ItemRow {
    /// The destination, decrypted (only to send the bill).
    pub fn destination(&self, vault: &PiiVault) -> Result<PayoutDestination, StoreError> {
        let plain = vault
            .decrypt(&self.destination_enc, DESTINATION_AAD)
            .map_err(|e| StoreError::Corrupt(format!("payout_items.destination_enc: {e}")))?;
        stored(
            "payout_items.destination_enc",
            PayoutDestination::from_stored(&plain),
        )
    }

    pub fn benefit_kind(&self) -> Result<BenefitKind, StoreError> {
        stored("payout_items.benefit", BenefitKind::parse(&self.benefit))
    }

    pub fn period(&self) -> Result<Period, StoreError> {
        stored("payout_items.period", Period::parse(&self.period))
    }
}

pub fn start_run(
    conn: &mut DbConnection,
    period: Period,
    benefit: BenefitKind,
    started_by: &str,
    now: NaiveDateTime,
) -> Result<Uuid, StoreError> {
    let id = Uuid::now_v7();
    diesel::insert_into(pr::table)
        .values((
            pr::id.eq(id.to_string()),
            pr::period.eq(period.to_string()),
            pr::benefit.eq(benefit.as_str()),
            pr::started_by.eq(started_by),
            pr::started_at.eq(now),
            pr::entitled.eq(0),
            pr::skipped_no_account.eq(0),
            pr::already_paid.eq(0),
        ))
        .execute(conn)?;
    Ok(id)
}

pub fn finish_run(
    conn: &mut DbConnection,
    run: Uuid,
    entitled: u32,
    skipped: u32,
    already: u32,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    let n = |v: u32| i32::try_from(v).unwrap_or(i32::MAX);
    diesel::update(pr::table.find(run.to_string()))
        .set((
            pr::finished_at.eq(now),
            pr::entitled.eq(n(entitled)),
            pr::skipped_no_account.eq(n(skipped)),
            pr::already_paid.eq(n(already)),
        ))
        .execute(conn)?;
    Ok(())
}

/// The prefix of the `external_id` of a benefit payment a payout made here (the others were
/// loaded from the previous system).
pub const PAID_HERE: &str = "payout:";

/// What a run of one month owes one person.
#[derive(Debug, Clone)]
pub struct Owed {
    pub person: Uuid,
    /// Entitled for the run's own month.
    pub entitled: bool,
    /// The run's own month is paid already (here, or by the previous system).
    pub paid_already: bool,
    /// The months to pay now, oldest first, each with its amount: the run's own month (unless
    /// paid) and the earlier months of the horizon owed and not paid (the catch-up).
    pub months: Vec<(Period, Fen)>,
}

/// The first month a run of `benefit` was started for (the first run's own included).
fn first_run(conn: &mut DbConnection, benefit: BenefitKind) -> Result<Option<Period>, StoreError> {
    let first: Option<String> = pr::table
        .filter(pr::benefit.eq(benefit.as_str()))
        .select(diesel::dsl::min(pr::period))
        .first(conn)?;
    first
        .map(|p| stored("payout_runs.period", Period::parse(&p)))
        .transpose()
}

type PaymentRow = (String, String, i64, Option<i64>, String);

/// Everyone owed `benefit` by a run of `period`, by person id, with the months to pay
/// ([`rules::months_owed`]): by their approved applications' awards, and for a pension also
/// every pension taken over from the previous system (no pension award) that is in payment
/// ([`rules::taken_over_in_payment`]), at its regular amount. A pension suspended for want of
/// its yearly qualification check is owed nothing until a check is approved.
pub fn owed(
    conn: &mut DbConnection,
    benefit: BenefitKind,
    period: Period,
    today: chrono::NaiveDate,
) -> Result<Vec<Owed>, StoreError> {
    let start = rules::horizon_start(period);
    let first_run = first_run(conn, benefit)?.unwrap_or(period);
    let (from, to) = (start.to_string(), period.to_string());
    // Every payment of the horizon, the run's month included: what is settled.
    let payments: Vec<PaymentRow> = benefit_payments::table
        .filter(benefit_payments::kind.eq(benefit.as_str()))
        .filter(benefit_payments::period.ge(&from))
        .filter(benefit_payments::period.le(&to))
        .order((
            benefit_payments::person_id.asc(),
            benefit_payments::period.asc(),
            benefit_payments::id.asc(),
        ))
        .select((
            benefit_payments::person_id,
            benefit_payments::period,
            benefit_payments::amount_fen,
            benefit_payments::adjustment_delta_fen,
            benefit_payments::external_id,
        ))
        .load(conn)?;
    let mut settled: BTreeMap<String, BTreeSet<Period>> = BTreeMap::new();
    for (person, month, ..) in &payments {
        settled
            .entry(person.clone())
            .or_default()
            .insert(stored("benefit_payments.period", Period::parse(month))?);
    }
    let none = BTreeSet::new();
    let rows: Vec<(String, i64, Option<i32>, String, NaiveDateTime)> = benefit_awards::table
        .filter(benefit_awards::kind.eq(benefit.as_str()))
        .order((benefit_awards::person_id.asc(), benefit_awards::id.asc()))
        .select((
            benefit_awards::person_id,
            benefit_awards::monthly_amount_fen,
            benefit_awards::months,
            benefit_awards::starts,
            benefit_awards::created_at,
        ))
        .load(conn)?;
    let mut out = Vec::new();
    let mut i = 0;
    while i < rows.len() {
        let (person, granted) = (rows[i].0.clone(), rows[i].4.date());
        let mut awards = Vec::new();
        while i < rows.len() && rows[i].0 == person {
            let (_, monthly, months, starts, _) = &rows[i];
            awards.push(Award {
                monthly: Fen(*monthly),
                months: months.map(|m| u32::try_from(m).unwrap_or(0)),
                starts: stored("benefit_awards.starts", Period::parse(starts))?,
            });
            i += 1;
        }
        let id = stored_id("benefit_awards.person_id", &person)?;
        // A pension whose yearly qualification check (养老待遇资格认证) is overdue is
        // suspended: not in payment until a check is approved.
        if benefit == BenefitKind::Pension {
            let last = crate::applications::effects::last_confirmation(conn, id)?;
            if rules::pension_suspended(granted, last.map(|l| l.date()), today) {
                continue;
            }
        }
        let paid = settled.get(&person).unwrap_or(&none);
        let due = |m: Period| rules::amount_due(&awards, m);
        let entitled = due(period).is_some();
        let months = rules::months_owed(period, first_run, due, |m| paid.contains(&m));
        if entitled || !months.is_empty() {
            out.push(Owed {
                person: id,
                entitled,
                paid_already: entitled && paid.contains(&period),
                months,
            });
        }
    }
    if benefit == BenefitKind::Pension {
        let awarded: BTreeSet<String> = rows.iter().map(|r| r.0.clone()).collect();
        // The attempts of the horizon before the run's month (a failed one keeps a taken-over
        // pension in payment too), newest last.
        let attempted: Vec<(String, String, i64)> = pi::table
            .filter(pi::benefit.eq(benefit.as_str()))
            .filter(pi::period.ge(&from))
            .filter(pi::period.lt(&to))
            .order((pi::person_id.asc(), pi::period.asc(), pi::id.asc()))
            .select((pi::person_id, pi::period, pi::amount_fen))
            .load(conn)?;
        let mut persons: BTreeMap<String, TakenOver> = BTreeMap::new();
        for (person, month, amount, delta, external_id) in &payments {
            if awarded.contains(person) {
                continue;
            }
            let month = stored("benefit_payments.period", Period::parse(month))?;
            let t = persons.entry(person.clone()).or_default();
            if !external_id.starts_with(PAID_HERE) {
                t.last_previous = t.last_previous.max(Some(month));
            }
            if month < period {
                t.latest = t.latest.max(Some(month));
                t.amount = rules::continued_pension(Fen(*amount), delta.map(Fen));
            }
        }
        for (person, month, amount) in &attempted {
            if awarded.contains(person) {
                continue;
            }
            let month = stored("payout_items.period", Period::parse(month))?;
            let t = persons.entry(person.clone()).or_default();
            if t.latest.is_none_or(|l| month > l) {
                t.latest = Some(month);
                t.attempted_amount = Some(Fen(*amount));
            }
        }
        for (person, t) in persons {
            if !rules::taken_over_in_payment(t.latest, period) {
                continue;
            }
            let Some(amount) = t.amount.or(t.attempted_amount) else {
                continue;
            };
            let id = stored_id("benefit_payments.person_id", &person)?;
            let last = crate::applications::effects::last_confirmation(conn, id)?;
            let taken_over = taken_over_on(conn, id, benefit)?.unwrap_or(today);
            if rules::pension_suspended(taken_over, last.map(|l| l.date()), today) {
                continue;
            }
            let paid = settled.get(&person).unwrap_or(&none);
            let due = |m: Period| rules::taken_over_due(m, t.last_previous, amount);
            out.push(Owed {
                person: id,
                entitled: true,
                paid_already: paid.contains(&period),
                months: rules::months_owed(period, first_run, due, |m| paid.contains(&m)),
            });
        }
        out.sort_by_key(|o| o.person);
    }
    Ok(out)
}

/// A pension taken over from the previous system, as a run sees it.
#[derive(Debug, Default)]
struct TakenOver {
    /// The latest month before the run's paid (by either system) or attempted here.
    latest: Option<Period>,
    /// The latest month of the horizon the previous system paid.
    last_previous: Option<Period>,
    /// The regular amount of the latest payment before the run's month.
    amount: Option<Fen>,
    /// The amount of the latest attempt, when it is later than every payment.
    attempted_amount: Option<Fen>,
}

/// The day a person's `benefit` was taken over from the previous system: the day its first
/// payment was loaded here.
fn taken_over_on(
    conn: &mut DbConnection,
    person: Uuid,
    benefit: BenefitKind,
) -> Result<Option<chrono::NaiveDate>, StoreError> {
    let first: Option<NaiveDateTime> = benefit_payments::table
        .filter(benefit_payments::person_id.eq(person.to_string()))
        .filter(benefit_payments::kind.eq(benefit.as_str()))
        .select(diesel::dsl::min(benefit_payments::created_at))
        .first(conn)?;
    Ok(first.map(|t| t.date()))
}

/// What a run does for one person.
#[derive(Debug, Clone)]
pub enum Prepared {
    /// A new attempt, booked and recorded: send it.
    Send(Box<ItemRow>),
    /// An attempt of an earlier run whose answer was never recorded: send it again.
    Resume(Box<ItemRow>),
    /// Paid already.
    AlreadyPaid,
    /// No payout account in effect: not paid this time.
    NoAccount,
}

/// The attempts of (person, benefit, period), newest first.
fn attempts(
    conn: &mut DbConnection,
    person: Uuid,
    benefit: BenefitKind,
    period: Period,
) -> Result<Vec<ItemRow>, StoreError> {
    Ok(pi::table
        .filter(pi::person_id.eq(person.to_string()))
        .filter(pi::benefit.eq(benefit.as_str()))
        .filter(pi::period.eq(period.to_string()))
        .order(pi::attempt.desc())
        .select(ItemRow::as_select())
        .load(conn)?)
}

/// Decides, and for a new attempt records, what `run` does for `person` (one transaction: the
/// caller's). A new attempt is written with its bill number and its booking journal before
/// anything goes to the gateway.
#[allow(clippy::too_many_arguments)]
pub fn prepare(
    conn: &mut DbConnection,
    vault: &PiiVault,
    run: Uuid,
    person: Uuid,
    benefit: BenefitKind,
    period: Period,
    amount: Fen,
    now: DateTime<Utc>,
) -> Result<Prepared, StoreError> {
    let ts = now.naive_utc();
    let before = attempts(conn, person, benefit, period)?;
    if before.iter().any(|a| a.status == PAID) {
        return Ok(Prepared::AlreadyPaid);
    }
    if let Some(open) = before.iter().find(|a| a.status == PENDING) {
        return Ok(Prepared::Resume(Box::new(open.clone())));
    }
    let Some((_, destination)) = super::accounts::in_effect(conn, vault, person, ts)? else {
        crate::reminders::sms::enqueue_event_to_person(
            conn,
            person,
            "payout_no_account",
            rules::no_account_text(benefit, period),
            &format!("payout_no_account:{person}:{}:{period}", benefit.as_str()),
            now,
        )?;
        return Ok(Prepared::NoAccount);
    };
    let attempt = before.first().map_or(1, |a| a.attempt + 1);
    let out_bill_no = rules::out_bill_no(
        &person.to_string(),
        benefit,
        period,
        u32::try_from(attempt).unwrap_or(0),
    );
    let id = Uuid::now_v7().to_string();
    diesel::insert_into(pi::table)
        .values((
            pi::id.eq(&id),
            pi::run_id.eq(run.to_string()),
            pi::person_id.eq(person.to_string()),
            pi::benefit.eq(benefit.as_str()),
            pi::period.eq(period.to_string()),
            pi::attempt.eq(attempt),
            pi::out_bill_no.eq(&out_bill_no),
            pi::amount_fen.eq(amount.0),
            pi::destination_enc.eq(vault.encrypt(&destination.to_stored(), DESTINATION_AAD)),
            pi::destination_masked.eq(destination.masked()),
            pi::status.eq(PENDING),
            pi::created_at.eq(ts),
            pi::updated_at.eq(ts),
        ))
        .execute(conn)?;
    let journal = rules::payout_booked(&id, benefit, amount)
        .map_err(|e| StoreError::Corrupt(format!("payout journal: {e}")))?;
    ledger::post(conn, &journal, ts)?;
    let row = pi::table
        .find(&id)
        .select(ItemRow::as_select())
        .first(conn)?;
    Ok(Prepared::Send(Box::new(row)))
}

/// Records what the gateway says of a bill (its answer, a query, or a notification): once the
/// bill is final, the attempt becomes `paid` (journal, and the payment in the person's benefits)
/// or `failed` (the money back to the fund, and the person told why). Only a `pending` attempt
/// changes; anything else is a repeat and changes nothing. Returns the attempt's status now.
pub fn record_bill(
    conn: &mut DbConnection,
    bill: &TransferBill,
    now: DateTime<Utc>,
) -> Result<Option<String>, StoreError> {
    let ts = now.naive_utc();
    let Some(item) = pi::table
        .filter(pi::out_bill_no.eq(bill.out_bill_no.as_str()))
        .select(ItemRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    if item.status != PENDING || !bill.state.is_final() {
        if item.transfer_bill_no.is_none() {
            diesel::update(pi::table.find(&item.id))
                .set(pi::transfer_bill_no.eq(&bill.transfer_bill_no))
                .execute(conn)?;
        }
        return Ok(Some(item.status));
    }
    let (benefit, period, amount) = (item.benefit_kind()?, item.period()?, Fen(item.amount_fen));
    let person = stored_id("payout_items.person_id", &item.person_id)?;
    // Conditional on `pending`: of two reports racing, one changes the row.
    let status = if bill.state == TransferState::Success {
        PAID
    } else {
        FAILED
    };
    let reason = bill
        .fail_reason
        .filter(|_| bill.state == TransferState::Fail)
        .map(|r| r.as_str());
    let changed = diesel::update(
        pi::table
            .filter(pi::id.eq(&item.id))
            .filter(pi::status.eq(PENDING)),
    )
    .set((
        pi::status.eq(status),
        pi::fail_reason.eq(reason),
        pi::transfer_bill_no.eq(&bill.transfer_bill_no),
        pi::updated_at.eq(ts),
    ))
    .execute(conn)?;
    if changed == 0 {
        // Another report (the gateway's notification, handled beside the run) settled the
        // attempt between the read above and this update: its status is what that one wrote,
        // which a new statement sees (the read above still says `pending`).
        let settled: String = pi::table.find(&item.id).select(pi::status).first(conn)?;
        return Ok(Some(settled));
    }
    let corrupt = |e: shebao_domain::ledger::JournalError| {
        StoreError::Corrupt(format!("payout journal: {e}"))
    };
    if status == PAID {
        ledger::post(
            conn,
            &rules::payout_paid(&item.id, amount).map_err(corrupt)?,
            ts,
        )?;
        diesel::insert_into(benefit_payments::table)
            .values((
                benefit_payments::id.eq(Uuid::now_v7().to_string()),
                benefit_payments::external_id.eq(format!("payout:{}", item.out_bill_no)),
                benefit_payments::person_id.eq(&item.person_id),
                benefit_payments::kind.eq(benefit.as_str()),
                benefit_payments::period.eq(period.to_string()),
                benefit_payments::amount_fen.eq(amount.0),
                benefit_payments::paid_at.eq(ts),
                benefit_payments::created_at.eq(ts),
            ))
            .execute(conn)?;
    } else {
        ledger::post(
            conn,
            &rules::payout_returned(&item.id, benefit, amount).map_err(corrupt)?,
            ts,
        )?;
        let why = bill.fail_reason.unwrap_or(rules::TransferFailReason::Other);
        crate::reminders::sms::enqueue_event_to_person(
            conn,
            person,
            "payout_failed",
            rules::payout_failed_text(benefit, period, amount, why),
            &format!("payout_failed:{}", item.out_bill_no),
            now,
        )?;
    }
    Ok(Some(status.to_owned()))
}

/// The attempts still `pending` of a benefit and month (an earlier run's, killed or
/// unanswered), to resume.
pub fn pending_of(
    conn: &mut DbConnection,
    benefit: BenefitKind,
    period: Period,
) -> Result<Vec<ItemRow>, StoreError> {
    Ok(pi::table
        .filter(pi::benefit.eq(benefit.as_str()))
        .filter(pi::period.eq(period.to_string()))
        .filter(pi::status.eq(PENDING))
        .order(pi::id.asc())
        .select(ItemRow::as_select())
        .load(conn)?)
}

/// A run with the count and amount of its attempts by status.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub run: RunRow,
    /// (status, count, amount).
    pub by_status: Vec<(String, i64, i64)>,
    /// The attempts for earlier months than the run's own (the catch-up): (count, amount).
    pub catch_up: (i64, i64),
}

pub fn report(conn: &mut DbConnection, run: Uuid) -> Result<Option<RunReport>, StoreError> {
    let Some(row) = pr::table
        .find(run.to_string())
        .select(RunRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let items: Vec<(String, i64, String)> = pi::table
        .filter(pi::run_id.eq(run.to_string()))
        .select((pi::status, pi::amount_fen, pi::period))
        .load(conn)?;
    let mut by_status: Vec<(String, i64, i64)> = Vec::new();
    let mut catch_up = (0i64, 0i64);
    for (status, amount, period) in items {
        if period != row.period {
            catch_up = (catch_up.0 + 1, catch_up.1.saturating_add(amount));
        }
        match by_status.iter_mut().find(|(s, _, _)| *s == status) {
            Some(e) => {
                e.1 += 1;
                e.2 = e.2.saturating_add(amount);
            }
            None => by_status.push((status, 1, amount)),
        }
    }
    Ok(Some(RunReport {
        run: row,
        by_status,
        catch_up,
    }))
}

/// Runs, newest first, after the run `after` (an id).
pub fn list(
    conn: &mut DbConnection,
    after: Option<&str>,
    limit: usize,
) -> Result<Page<RunReport>, StoreError> {
    let mut q = pr::table
        .order(pr::id.desc())
        .select(pr::id)
        .limit(i64::try_from(limit + 1).unwrap_or(i64::MAX))
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(pr::id.lt(after.to_owned()));
    }
    let ids: Vec<String> = q.load(conn)?;
    let mut items = Vec::new();
    for id in ids {
        if let Some(r) = report(conn, stored_id("payout_runs.id", &id)?)? {
            items.push(r);
        }
    }
    Ok(Page::from_rows(items, limit, |r| r.run.id.clone()))
}

/// A person's transfer attempts, newest first (the latest `limit`).
pub fn of_person(
    conn: &mut DbConnection,
    person: Uuid,
    limit: i64,
) -> Result<Vec<ItemRow>, StoreError> {
    Ok(pi::table
        .filter(pi::person_id.eq(person.to_string()))
        .order((pi::period.desc(), pi::id.desc()))
        .limit(limit)
        .select(ItemRow::as_select())
        .load(conn)?)
}
