//! Payments in the database: flexible bases, payees, orders and their claims, the gateway's
//! events, the effects of a settled payment on the records, the ledger and reconciliation runs.
//!
//! Every change to a payment runs in one write transaction that first bumps the payment's
//! `version`: on PostgreSQL that takes the row's lock, on SQLite the transaction holds the write
//! lock from its start; either way two reports of the same payment are applied one after the
//! other, each seeing what the other did.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use shebao_domain::insurance::InsuranceType;
use shebao_domain::ledger::{self, Account, Journal, SettledItem, TrialBalance};
use shebao_domain::money::Fen;
use shebao_domain::payments::order::{on_closed, on_failed, on_paid, OnPaid};
use shebao_domain::payments::payables::{OwnMonth, Payable, PayableId, ResidentCandidate, Whose};
use shebao_domain::payments::{FailureCode, PaymentStatus};
use shebao_domain::person::{EmploymentStatus, MedicalCategory};
use shebao_domain::statement::ContributionStatus;
use uuid::Uuid;

use crate::db::{DbConnection, StoreError};
use crate::registry::{stored, stored_id, Page};
use crate::schema::{
    contributions, flexible_bases, gateway_events, ledger_entries, ledger_journals, payees,
    payment_claims, payment_events, payments, persons, reconciliation_runs, resident_premiums,
};

// ---------------------------------------------------------------------------------------------
// Flexible bases

/// Sets the base a person pays on in `year`.
pub fn set_flexible_base(
    conn: &mut DbConnection,
    person: Uuid,
    year: i32,
    base: Fen,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    let updated = diesel::update(flexible_bases::table.find((person.to_string(), year)))
        .set((
            flexible_bases::base_fen.eq(base.0),
            flexible_bases::updated_at.eq(now),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(flexible_bases::table)
            .values((
                flexible_bases::person_id.eq(person.to_string()),
                flexible_bases::year.eq(year),
                flexible_bases::base_fen.eq(base.0),
                flexible_bases::created_at.eq(now),
                flexible_bases::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn flexible_bases_of(
    conn: &mut DbConnection,
    person: Uuid,
) -> Result<BTreeMap<i32, Fen>, StoreError> {
    let rows: Vec<(i32, i64)> = flexible_bases::table
        .filter(flexible_bases::person_id.eq(person.to_string()))
        .select((flexible_bases::year, flexible_bases::base_fen))
        .load(conn)?;
    Ok(rows.into_iter().map(|(y, b)| (y, Fen(b))).collect())
}

// ---------------------------------------------------------------------------------------------
// Payees

/// Someone whose resident premium a person may pay.
#[derive(Debug, Clone)]
pub struct Payee {
    pub id: Uuid,
    pub person_id: Uuid,
    pub name: String,
    pub national_id_masked: String,
    pub relation: String,
    pub medical_category: String,
    pub created_at: NaiveDateTime,
}

type PayeeRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    NaiveDateTime,
);

fn payee_from(r: PayeeRow) -> Result<Payee, StoreError> {
    Ok(Payee {
        id: stored_id("payees.id", &r.0)?,
        person_id: stored_id("payees.payee_person_id", &r.1)?,
        name: r.2,
        national_id_masked: r.3,
        relation: r.4,
        medical_category: r.5,
        created_at: r.6,
    })
}

/// Adds a payee; `None` when the person is a payee of this owner already.
pub fn add_payee(
    conn: &mut DbConnection,
    owner: Uuid,
    payee_person: Uuid,
    relation: &str,
    now: NaiveDateTime,
) -> Result<Option<Uuid>, StoreError> {
    let exists: i64 = payees::table
        .filter(payees::owner_person_id.eq(owner.to_string()))
        .filter(payees::payee_person_id.eq(payee_person.to_string()))
        .count()
        .get_result(conn)?;
    if exists > 0 {
        return Ok(None);
    }
    let id = Uuid::now_v7();
    diesel::insert_into(payees::table)
        .values((
            payees::id.eq(id.to_string()),
            payees::owner_person_id.eq(owner.to_string()),
            payees::payee_person_id.eq(payee_person.to_string()),
            payees::relation.eq(relation),
            payees::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(Some(id))
}

/// A person's payees in the order they were added, after `after` (a payee id).
pub fn payees_of(
    conn: &mut DbConnection,
    owner: Uuid,
    after: Option<&str>,
    limit: usize,
) -> Result<Page<Payee>, StoreError> {
    let mut q = payees::table
        .inner_join(persons::table.on(persons::id.eq(payees::payee_person_id)))
        .filter(payees::owner_person_id.eq(owner.to_string()))
        .select((
            payees::id,
            payees::payee_person_id,
            persons::name,
            persons::national_id_masked,
            payees::relation,
            persons::medical_category,
            payees::created_at,
        ))
        .order(payees::id.asc())
        .limit(i64::try_from(limit + 1).unwrap_or(i64::MAX))
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(payees::id.gt(after.to_owned()));
    }
    let rows: Vec<PayeeRow> = q.load(conn)?;
    let items = rows
        .into_iter()
        .map(payee_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(items, limit, |p| p.id.to_string()))
}

pub fn get_payee(
    conn: &mut DbConnection,
    owner: Uuid,
    id: Uuid,
) -> Result<Option<Payee>, StoreError> {
    let row: Option<PayeeRow> = payees::table
        .inner_join(persons::table.on(persons::id.eq(payees::payee_person_id)))
        .filter(payees::owner_person_id.eq(owner.to_string()))
        .filter(payees::id.eq(id.to_string()))
        .select((
            payees::id,
            payees::payee_person_id,
            persons::name,
            persons::national_id_masked,
            payees::relation,
            persons::medical_category,
            payees::created_at,
        ))
        .first(conn)
        .optional()?;
    row.map(payee_from).transpose()
}

pub fn delete_payee(conn: &mut DbConnection, owner: Uuid, id: Uuid) -> Result<bool, StoreError> {
    Ok(diesel::delete(
        payees::table
            .filter(payees::owner_person_id.eq(owner.to_string()))
            .filter(payees::id.eq(id.to_string())),
    )
    .execute(conn)?
        > 0)
}

// ---------------------------------------------------------------------------------------------
// What the payables are computed from

/// The records a person's payables are computed from.
#[derive(Debug, Clone)]
pub struct PayableRecords {
    pub flexible: bool,
    pub employee_medical: bool,
    pub own_months: Vec<OwnMonth>,
    pub chosen_bases: BTreeMap<i32, Fen>,
    pub resident_candidates: Vec<ResidentCandidate>,
    /// Names and masked ID numbers of the people covered (by person id).
    pub people: BTreeMap<String, (String, String)>,
    /// Claims held by payments still awaiting payment: claim key → payment id.
    pub open_claims: BTreeMap<String, String>,
}

fn settled_years(conn: &mut DbConnection, person: &str) -> Result<BTreeSet<i32>, StoreError> {
    Ok(resident_premiums::table
        .filter(resident_premiums::person_id.eq(person))
        .select(resident_premiums::year)
        .load::<i32>(conn)?
        .into_iter()
        .collect())
}

pub fn payable_records(
    conn: &mut DbConnection,
    person: Uuid,
) -> Result<PayableRecords, StoreError> {
    let pid = person.to_string();
    let (name, masked, status, category): (String, String, String, String) = persons::table
        .find(&pid)
        .select((
            persons::name,
            persons::national_id_masked,
            persons::employment_status,
            persons::medical_category,
        ))
        .first(conn)?;
    let rows: Vec<(String, String, i64, i64, String)> = contributions::table
        .filter(contributions::person_id.eq(&pid))
        .filter(contributions::employer_key.eq(""))
        .select((
            contributions::period,
            contributions::insurance,
            contributions::base_fen,
            contributions::employee_fen,
            contributions::status,
        ))
        .load(conn)?;
    let own_months = rows
        .into_iter()
        .map(|(period, insurance, base, employee, status)| {
            Ok(OwnMonth {
                period: stored(
                    "contributions.period",
                    shebao_domain::period::Period::parse(&period),
                )?,
                insurance: stored("contributions.insurance", InsuranceType::parse(&insurance))?,
                base: Fen(base),
                principal: Fen(employee),
                status: crate::records::contributions::stored_status(&status)?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let mut people = BTreeMap::from([(pid.clone(), (name, masked))]);
    let mut resident_candidates = vec![ResidentCandidate {
        whose: Whose::Own,
        person_id: pid.clone(),
        resident: category == MedicalCategory::Resident.as_str(),
        settled_years: settled_years(conn, &pid)?,
    }];
    let mut after = None;
    loop {
        let page = payees_of(conn, person, after.as_deref(), 100)?;
        for p in &page.items {
            let id = p.person_id.to_string();
            people.insert(id.clone(), (p.name.clone(), p.national_id_masked.clone()));
            resident_candidates.push(ResidentCandidate {
                whose: Whose::Payee(p.id.to_string()),
                person_id: id.clone(),
                resident: p.medical_category == MedicalCategory::Resident.as_str(),
                settled_years: settled_years(conn, &id)?,
            });
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let open_claims: Vec<(String, String)> = payment_claims::table
        .inner_join(payments::table)
        .filter(payments::person_id.eq(&pid))
        .filter(payments::status.eq(PaymentStatus::AwaitingPayment.as_str()))
        .select((payment_claims::claim_key, payment_claims::payment_id))
        .load(conn)?;
    Ok(PayableRecords {
        flexible: status == EmploymentStatus::Flexible.as_str(),
        employee_medical: category == MedicalCategory::Employee.as_str(),
        own_months,
        chosen_bases: flexible_bases_of(conn, person)?,
        resident_candidates,
        people,
        open_claims: open_claims.into_iter().collect(),
    })
}

// ---------------------------------------------------------------------------------------------
// Payments

/// A payment as stored.
#[derive(Debug, Clone)]
pub struct Payment {
    pub id: Uuid,
    pub person_id: Uuid,
    pub request_hash: String,
    pub channel: String,
    pub out_trade_no: String,
    pub status: PaymentStatus,
    pub amount: Fen,
    pub items: Vec<Payable>,
    pub description: String,
    pub prepay_id: Option<String>,
    pub expires_at: NaiveDateTime,
    pub transaction_id: Option<String>,
    pub paid_at: Option<NaiveDateTime>,
    pub failure: Option<FailureCode>,
    pub out_refund_no: Option<String>,
    pub refund_status: Option<String>,
    pub refund_reason: Option<String>,
    pub refunded_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = payments)]
struct PaymentRow {
    id: String,
    person_id: String,
    request_hash: String,
    channel: String,
    out_trade_no: String,
    status: String,
    amount_fen: i64,
    items: String,
    description: String,
    prepay_id: Option<String>,
    expires_at: NaiveDateTime,
    transaction_id: Option<String>,
    paid_at: Option<NaiveDateTime>,
    failure_code: Option<String>,
    out_refund_no: Option<String>,
    refund_status: Option<String>,
    refund_reason: Option<String>,
    refunded_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
}

impl TryFrom<PaymentRow> for Payment {
    type Error = StoreError;

    fn try_from(r: PaymentRow) -> Result<Payment, StoreError> {
        Ok(Payment {
            id: stored_id("payments.id", &r.id)?,
            person_id: stored_id("payments.person_id", &r.person_id)?,
            request_hash: r.request_hash,
            channel: r.channel,
            out_trade_no: r.out_trade_no,
            status: stored("payments.status", PaymentStatus::parse(&r.status))?,
            amount: Fen(r.amount_fen),
            items: serde_json::from_str(&r.items)
                .map_err(|e| StoreError::Corrupt(format!("payments.items: {e}")))?,
            description: r.description,
            prepay_id: r.prepay_id,
            expires_at: r.expires_at,
            transaction_id: r.transaction_id,
            paid_at: r.paid_at,
            failure: r
                .failure_code
                .map(|c| stored("payments.failure_code", FailureCode::parse(&c)))
                .transpose()?,
            out_refund_no: r.out_refund_no,
            refund_status: r.refund_status,
            refund_reason: r.refund_reason,
            refunded_at: r.refunded_at,
            created_at: r.created_at,
        })
    }
}

/// One step of a payment's timeline.
#[derive(Debug, Clone)]
pub struct PaymentEvent {
    pub at: NaiveDateTime,
    pub status: String,
    pub detail: String,
}

fn add_event(
    conn: &mut DbConnection,
    payment: &str,
    status: PaymentStatus,
    detail: &str,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::insert_into(payment_events::table)
        .values((
            payment_events::id.eq(Uuid::now_v7().to_string()),
            payment_events::payment_id.eq(payment),
            payment_events::at.eq(now),
            payment_events::status.eq(status.as_str()),
            payment_events::detail.eq(detail),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn timeline(conn: &mut DbConnection, payment: Uuid) -> Result<Vec<PaymentEvent>, StoreError> {
    let rows: Vec<(NaiveDateTime, String, String)> = payment_events::table
        .filter(payment_events::payment_id.eq(payment.to_string()))
        .order((payment_events::at.asc(), payment_events::id.asc()))
        .select((
            payment_events::at,
            payment_events::status,
            payment_events::detail,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(at, status, detail)| PaymentEvent { at, status, detail })
        .collect())
}

/// A payment to create.
#[derive(Debug, Clone)]
pub struct NewPayment {
    pub person_id: Uuid,
    pub idempotency_key: String,
    pub request_hash: String,
    pub channel: String,
    pub out_trade_no: String,
    pub items: Vec<Payable>,
    pub amount: Fen,
    pub description: String,
    pub expires_at: NaiveDateTime,
}

/// What creating a payment came to.
#[derive(Debug, Clone)]
pub enum Created {
    New(Payment),
    /// The key was used before with the same request: that payment.
    Replayed(Payment),
    /// The key was used before with another request.
    KeyReused,
    /// A payable is in another open (or settled) payment.
    AlreadyInPayment {
        payable: PayableId,
        payment: Uuid,
    },
}

/// The payment a person created with an idempotency key.
pub fn by_key(
    conn: &mut DbConnection,
    person: Uuid,
    key: &str,
) -> Result<Option<Payment>, StoreError> {
    payments::table
        .filter(payments::person_id.eq(person.to_string()))
        .filter(payments::idempotency_key.eq(key))
        .select(PaymentRow::as_select())
        .first(conn)
        .optional()?
        .map(Payment::try_from)
        .transpose()
}

/// Creates a payment and claims its payables, or finds the one this key made. Run inside a
/// write transaction; a concurrent twin with the same key fails on the unique key and is
/// answered with the winner's payment on retry.
pub fn create_payment(
    conn: &mut DbConnection,
    p: &NewPayment,
    now: NaiveDateTime,
) -> Result<Created, StoreError> {
    let replay = |conn: &mut DbConnection| -> Result<Option<Created>, StoreError> {
        Ok(
            by_key(conn, p.person_id, &p.idempotency_key)?.map(|existing| {
                if existing.request_hash == p.request_hash {
                    Created::Replayed(existing)
                } else {
                    Created::KeyReused
                }
            }),
        )
    };
    if let Some(answer) = replay(conn)? {
        return Ok(answer);
    }
    for item in &p.items {
        let holder: Option<String> = payment_claims::table
            .find(item.claim_key())
            .select(payment_claims::payment_id)
            .first(conn)
            .optional()?;
        if let Some(holder) = holder {
            // On PostgreSQL (read committed) a twin request with the same key may have committed
            // between the key's look-up and this one: its order is this request's answer.
            if let Some(answer) = replay(conn)? {
                return Ok(answer);
            }
            return Ok(Created::AlreadyInPayment {
                payable: item.id.clone(),
                payment: stored_id("payment_claims.payment_id", &holder)?,
            });
        }
    }
    let id = Uuid::now_v7();
    let items = serde_json::to_string(&p.items)
        .map_err(|e| StoreError::Corrupt(format!("payment items: {e}")))?;
    diesel::insert_into(payments::table)
        .values((
            payments::id.eq(id.to_string()),
            payments::person_id.eq(p.person_id.to_string()),
            payments::idempotency_key.eq(&p.idempotency_key),
            payments::request_hash.eq(&p.request_hash),
            payments::channel.eq(&p.channel),
            payments::out_trade_no.eq(&p.out_trade_no),
            payments::status.eq(PaymentStatus::AwaitingPayment.as_str()),
            payments::amount_fen.eq(p.amount.0),
            payments::items.eq(items),
            payments::description.eq(&p.description),
            payments::expires_at.eq(p.expires_at),
            payments::created_at.eq(now),
            payments::updated_at.eq(now),
        ))
        .execute(conn)?;
    for item in &p.items {
        diesel::insert_into(payment_claims::table)
            .values((
                payment_claims::claim_key.eq(item.claim_key()),
                payment_claims::payment_id.eq(id.to_string()),
                payment_claims::settled.eq(0),
                payment_claims::created_at.eq(now),
            ))
            .execute(conn)?;
    }
    add_event(
        conn,
        &id.to_string(),
        PaymentStatus::AwaitingPayment,
        "order created",
        now,
    )?;
    Ok(Created::New(get(conn, id)?.ok_or(StoreError::NotFound)?))
}

pub fn set_prepay_id(conn: &mut DbConnection, id: Uuid, prepay: &str) -> Result<(), StoreError> {
    diesel::update(payments::table.find(id.to_string()))
        .set(payments::prepay_id.eq(prepay))
        .execute(conn)?;
    Ok(())
}

pub fn get(conn: &mut DbConnection, id: Uuid) -> Result<Option<Payment>, StoreError> {
    payments::table
        .find(id.to_string())
        .select(PaymentRow::as_select())
        .first(conn)
        .optional()?
        .map(Payment::try_from)
        .transpose()
}

pub fn by_out_trade_no(conn: &mut DbConnection, no: &str) -> Result<Option<Payment>, StoreError> {
    payments::table
        .filter(payments::out_trade_no.eq(no))
        .select(PaymentRow::as_select())
        .first(conn)
        .optional()?
        .map(Payment::try_from)
        .transpose()
}

pub fn by_out_refund_no(conn: &mut DbConnection, no: &str) -> Result<Option<Payment>, StoreError> {
    payments::table
        .filter(payments::out_refund_no.eq(no))
        .select(PaymentRow::as_select())
        .first(conn)
        .optional()?
        .map(Payment::try_from)
        .transpose()
}

/// A person's payments, newest first, after `after` (a payment id; ids are time-ordered).
pub fn list(
    conn: &mut DbConnection,
    person: Uuid,
    after: Option<&str>,
    limit: usize,
) -> Result<Page<Payment>, StoreError> {
    let mut q = payments::table
        .filter(payments::person_id.eq(person.to_string()))
        .order(payments::id.desc())
        .limit(i64::try_from(limit + 1).unwrap_or(i64::MAX))
        .select(PaymentRow::as_select())
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(payments::id.lt(after.to_owned()));
    }
    let rows: Vec<PaymentRow> = q.load(conn)?;
    let items = rows
        .into_iter()
        .map(Payment::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(items, limit, |p| p.id.to_string()))
}

/// Payments awaiting payment, oldest first: what the poller asks the gateway about.
pub fn awaiting(conn: &mut DbConnection, limit: i64) -> Result<Vec<Payment>, StoreError> {
    let rows: Vec<PaymentRow> = payments::table
        .filter(payments::status.eq(PaymentStatus::AwaitingPayment.as_str()))
        .order(payments::expires_at.asc())
        .limit(limit)
        .select(PaymentRow::as_select())
        .load(conn)?;
    rows.into_iter().map(Payment::try_from).collect()
}

/// Refunds requested and not yet seen through.
pub fn refunds_in_progress(
    conn: &mut DbConnection,
    limit: i64,
) -> Result<Vec<Payment>, StoreError> {
    let rows: Vec<PaymentRow> = payments::table
        .filter(payments::status.eq(PaymentStatus::Refunded.as_str()))
        .filter(payments::refunded_at.is_null())
        .order(payments::updated_at.asc())
        .limit(limit)
        .select(PaymentRow::as_select())
        .load(conn)?;
    rows.into_iter().map(Payment::try_from).collect()
}

/// Locks the payment for the rest of the transaction and reads it.
fn lock(
    conn: &mut DbConnection,
    no: &str,
    now: NaiveDateTime,
) -> Result<Option<Payment>, StoreError> {
    let n = diesel::update(payments::table.filter(payments::out_trade_no.eq(no)))
        .set((
            payments::version.eq(payments::version + 1),
            payments::updated_at.eq(now),
        ))
        .execute(conn)?;
    if n == 0 {
        return Ok(None);
    }
    by_out_trade_no(conn, no)
}

fn set_status(conn: &mut DbConnection, id: Uuid, status: PaymentStatus) -> Result<(), StoreError> {
    diesel::update(payments::table.find(id.to_string()))
        .set(payments::status.eq(status.as_str()))
        .execute(conn)?;
    Ok(())
}

fn release_claims(conn: &mut DbConnection, id: Uuid) -> Result<(), StoreError> {
    diesel::delete(
        payment_claims::table
            .filter(payment_claims::payment_id.eq(id.to_string()))
            .filter(payment_claims::settled.eq(0)),
    )
    .execute(conn)?;
    Ok(())
}

/// Whether `payment` holds every claim of its items, taking the free ones; takes nothing when
/// another payment holds any of them.
fn take_claims(
    conn: &mut DbConnection,
    p: &Payment,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let id = p.id.to_string();
    let mut free = Vec::new();
    for item in &p.items {
        let key = item.claim_key();
        let holder: Option<String> = payment_claims::table
            .find(&key)
            .select(payment_claims::payment_id)
            .first(conn)
            .optional()?;
        match holder {
            Some(h) if h == id => {}
            Some(_) => return Ok(false),
            None => free.push(key),
        }
    }
    for key in free {
        diesel::insert_into(payment_claims::table)
            .values((
                payment_claims::claim_key.eq(key),
                payment_claims::payment_id.eq(&id),
                payment_claims::settled.eq(0),
                payment_claims::created_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(true)
}

/// Writes what a paid payment means to the records: its months become `status` (pending or
/// paid), its resident premiums likewise.
fn mark_records(
    conn: &mut DbConnection,
    p: &Payment,
    status: ContributionStatus,
    paid_at: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    for item in &p.items {
        match (item.period, item.year) {
            (Some(period), _) => {
                let base = item.base.unwrap_or(Fen::ZERO).0;
                let key = contributions::table
                    .filter(contributions::person_id.eq(&item.covered_person))
                    .filter(contributions::employer_key.eq(""))
                    .filter(contributions::period.eq(period.to_string()))
                    .filter(contributions::insurance.eq(item.insurance.as_str()));
                let updated = diesel::update(key)
                    .set((
                        contributions::status.eq(status.as_str()),
                        contributions::paid_at.eq(paid_at),
                        contributions::updated_at.eq(now),
                    ))
                    .execute(conn)?;
                if updated == 0 {
                    diesel::insert_into(contributions::table)
                        .values((
                            contributions::id.eq(Uuid::now_v7().to_string()),
                            contributions::person_id.eq(&item.covered_person),
                            contributions::employer_id.eq(None::<String>),
                            contributions::employer_key.eq(""),
                            contributions::period.eq(period.to_string()),
                            contributions::insurance.eq(item.insurance.as_str()),
                            contributions::declared_wage_fen.eq(base),
                            contributions::base_fen.eq(base),
                            contributions::employer_fen.eq(0i64),
                            contributions::employee_fen.eq(item.principal.0),
                            contributions::status.eq(status.as_str()),
                            contributions::paid_at.eq(paid_at),
                            contributions::created_at.eq(now),
                            contributions::updated_at.eq(now),
                        ))
                        .execute(conn)?;
                }
            }
            (None, Some(year)) => {
                let updated = diesel::update(
                    resident_premiums::table.find((item.covered_person.clone(), year)),
                )
                .set((
                    resident_premiums::status.eq(status.as_str()),
                    resident_premiums::paid_at.eq(paid_at),
                ))
                .execute(conn)?;
                if updated == 0 {
                    diesel::insert_into(resident_premiums::table)
                        .values((
                            resident_premiums::person_id.eq(&item.covered_person),
                            resident_premiums::year.eq(year),
                            resident_premiums::payment_id.eq(p.id.to_string()),
                            resident_premiums::amount_fen.eq(item.principal.0),
                            resident_premiums::status.eq(status.as_str()),
                            resident_premiums::paid_at.eq(paid_at),
                        ))
                        .execute(conn)?;
                }
            }
            (None, None) => {}
        }
    }
    Ok(())
}

/// Posts a journal once: a journal with the same source already posted makes this a no-op.
/// Returns whether it was posted now.
pub fn post(conn: &mut DbConnection, j: &Journal, now: NaiveDateTime) -> Result<bool, StoreError> {
    let seen: i64 = ledger_journals::table
        .filter(ledger_journals::source.eq(j.source()))
        .count()
        .get_result(conn)?;
    if seen > 0 {
        return Ok(false);
    }
    let id = Uuid::now_v7().to_string();
    diesel::insert_into(ledger_journals::table)
        .values((
            ledger_journals::id.eq(&id),
            ledger_journals::source.eq(j.source()),
            ledger_journals::memo.eq(j.memo()),
            ledger_journals::posted_at.eq(now),
        ))
        .execute(conn)?;
    for l in j.lines() {
        diesel::insert_into(ledger_entries::table)
            .values((
                ledger_entries::id.eq(Uuid::now_v7().to_string()),
                ledger_entries::journal_id.eq(&id),
                ledger_entries::account.eq(l.account.as_str()),
                ledger_entries::debit_fen.eq(l.debit.0),
                ledger_entries::credit_fen.eq(l.credit.0),
            ))
            .execute(conn)?;
    }
    Ok(true)
}

fn journal_error(e: ledger::JournalError) -> StoreError {
    StoreError::Corrupt(format!("an unbalanced journal was refused: {e}"))
}

/// What a report of success did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaidOutcome {
    UnknownOrder,
    Unchanged,
    /// Now `pending`.
    Pending,
    /// Paid twice: to be refunded through the gateway (`out_refund_no`).
    RefundDue {
        out_refund_no: String,
    },
}

/// The gateway reports the order paid (a notification, a query, the bill). Safe to apply any
/// number of times.
pub fn apply_paid(
    conn: &mut DbConnection,
    out_trade_no: &str,
    transaction_id: Option<&str>,
    paid_at: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<PaidOutcome, StoreError> {
    let Some(p) = lock(conn, out_trade_no, now)? else {
        return Ok(PaidOutcome::UnknownOrder);
    };
    let held = if p.status.money_received() {
        true
    } else {
        take_claims(conn, &p, now)?
    };
    match on_paid(p.status, held) {
        OnPaid::Nothing => Ok(PaidOutcome::Unchanged),
        OnPaid::Pending => {
            diesel::update(payments::table.find(p.id.to_string()))
                .set((
                    payments::status.eq(PaymentStatus::Pending.as_str()),
                    payments::transaction_id.eq(transaction_id),
                    payments::paid_at.eq(paid_at),
                ))
                .execute(conn)?;
            diesel::update(
                payment_claims::table.filter(payment_claims::payment_id.eq(p.id.to_string())),
            )
            .set(payment_claims::settled.eq(1))
            .execute(conn)?;
            mark_records(conn, &p, ContributionStatus::Pending, None, now)?;
            add_event(
                conn,
                &p.id.to_string(),
                PaymentStatus::Pending,
                "the gateway reports the payment; awaiting the day's reconciliation",
                now,
            )?;
            Ok(PaidOutcome::Pending)
        }
        OnPaid::Refund => {
            let out_refund_no = format!("RF{}", p.out_trade_no);
            diesel::update(payments::table.find(p.id.to_string()))
                .set((
                    payments::status.eq(PaymentStatus::Refunded.as_str()),
                    payments::transaction_id.eq(transaction_id),
                    payments::paid_at.eq(paid_at),
                    payments::out_refund_no.eq(&out_refund_no),
                    payments::refund_status.eq("REQUESTED"),
                    payments::refund_reason.eq("duplicate"),
                ))
                .execute(conn)?;
            let j = ledger::duplicate_received(&p.id.to_string(), &p.channel, p.amount)
                .map_err(journal_error)?;
            post(conn, &j, now)?;
            add_event(
                conn,
                &p.id.to_string(),
                PaymentStatus::Refunded,
                "paid after another payment had paid the same items; the money is being refunded",
                now,
            )?;
            Ok(PaidOutcome::RefundDue { out_refund_no })
        }
    }
}

/// The gateway reports the payer's attempt failed.
pub fn apply_failed(
    conn: &mut DbConnection,
    out_trade_no: &str,
    code: FailureCode,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let Some(p) = lock(conn, out_trade_no, now)? else {
        return Ok(false);
    };
    let Some(next) = on_failed(p.status) else {
        return Ok(false);
    };
    diesel::update(payments::table.find(p.id.to_string()))
        .set((
            payments::status.eq(next.as_str()),
            payments::failure_code.eq(code.code()),
        ))
        .execute(conn)?;
    release_claims(conn, p.id)?;
    add_event(conn, &p.id.to_string(), next, code.code(), now)?;
    Ok(true)
}

/// The order was closed at the gateway unpaid: cancelled by the payer, or expired.
pub fn apply_closed(
    conn: &mut DbConnection,
    out_trade_no: &str,
    cancelled: bool,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let Some(p) = lock(conn, out_trade_no, now)? else {
        return Ok(false);
    };
    let Some(next) = on_closed(p.status, cancelled) else {
        return Ok(false);
    };
    set_status(conn, p.id, next)?;
    release_claims(conn, p.id)?;
    let detail = if cancelled {
        "cancelled by the payer; the order is closed"
    } else {
        "not paid in time; the order is closed"
    };
    add_event(conn, &p.id.to_string(), next, detail, now)?;
    Ok(true)
}

/// The day's reconciliation confirms a pending payment: `paid`, the records paid, the ledger
/// posted. Returns whether it changed anything.
pub fn confirm(
    conn: &mut DbConnection,
    out_trade_no: &str,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let Some(p) = lock(conn, out_trade_no, now)? else {
        return Ok(false);
    };
    if p.status != PaymentStatus::Pending {
        return Ok(false);
    }
    set_status(conn, p.id, PaymentStatus::Paid)?;
    mark_records(
        conn,
        &p,
        ContributionStatus::Paid,
        p.paid_at.or(Some(now)),
        now,
    )?;
    let items: Vec<SettledItem> = p
        .items
        .iter()
        .map(|i| SettledItem {
            covered_person: i.covered_person.clone(),
            insurance: i.insurance,
            principal: i.principal,
            personal_account: i.personal_account,
            late_fee: i.late_fee,
        })
        .collect();
    let j =
        ledger::payment_confirmed(&p.id.to_string(), &p.channel, &items).map_err(journal_error)?;
    post(conn, &j, now)?;
    add_event(
        conn,
        &p.id.to_string(),
        PaymentStatus::Paid,
        "confirmed by the day's reconciliation and posted",
        now,
    )?;
    Ok(true)
}

/// The gateway reports a refund's outcome (`SUCCESS` posts it; others are recorded).
pub fn apply_refund(
    conn: &mut DbConnection,
    out_refund_no: &str,
    status: &str,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let Some(p) = by_out_refund_no(conn, out_refund_no)? else {
        return Ok(false);
    };
    let Some(p) = lock(conn, &p.out_trade_no, now)? else {
        return Ok(false);
    };
    if p.refunded_at.is_some() || p.refund_status.as_deref() == Some(status) {
        return Ok(false);
    }
    let done = status == "SUCCESS";
    diesel::update(payments::table.find(p.id.to_string()))
        .set((
            payments::refund_status.eq(status),
            payments::refunded_at.eq(done.then_some(now)),
        ))
        .execute(conn)?;
    if done {
        let j =
            ledger::refund_paid(&p.id.to_string(), &p.channel, p.amount).map_err(journal_error)?;
        post(conn, &j, now)?;
        add_event(
            conn,
            &p.id.to_string(),
            PaymentStatus::Refunded,
            "the refund reached the payer",
            now,
        )?;
    }
    Ok(true)
}

/// Records a notification's event id; `false` when it was seen before. One statement, so copies
/// of a notification arriving at once never collide on the key (a read-then-insert let two see
/// it as new on PostgreSQL, and the loser's unique violation answered the gateway 409).
pub fn first_sight(
    conn: &mut DbConnection,
    event_id: &str,
    event_type: &str,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let insert = diesel::insert_into(gateway_events::table)
        .values((
            gateway_events::id.eq(event_id),
            gateway_events::event_type.eq(event_type),
            gateway_events::received_at.eq(now),
        ))
        .on_conflict_do_nothing();
    let inserted = crate::db_run!(conn, |c| insert.execute(c))?;
    Ok(inserted == 1)
}

// ---------------------------------------------------------------------------------------------
// Reconciliation and the ledger

/// Payments by order number (those that exist).
pub fn by_out_trade_nos(
    conn: &mut DbConnection,
    nos: &[String],
) -> Result<Vec<Payment>, StoreError> {
    let mut out = Vec::new();
    for chunk in nos.chunks(500) {
        let rows: Vec<PaymentRow> = payments::table
            .filter(payments::out_trade_no.eq_any(chunk))
            .select(PaymentRow::as_select())
            .load(conn)?;
        for r in rows {
            out.push(Payment::try_from(r)?);
        }
    }
    Ok(out)
}

/// Order numbers of payments the gateway reported paid between `from` and `to` (UTC), that
/// are still `pending` or `paid` here.
pub fn paid_between(
    conn: &mut DbConnection,
    channel: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<Vec<String>, StoreError> {
    Ok(payments::table
        .filter(payments::channel.eq(channel))
        .filter(payments::paid_at.ge(from))
        .filter(payments::paid_at.lt(to))
        .filter(payments::status.eq_any([
            PaymentStatus::Pending.as_str(),
            PaymentStatus::Paid.as_str(),
        ]))
        .select(payments::out_trade_no)
        .load(conn)?)
}

pub fn save_reconciliation(
    conn: &mut DbConnection,
    date: NaiveDate,
    channel: &str,
    result: &str,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    let n = diesel::update(reconciliation_runs::table.find((date, channel)))
        .set((
            reconciliation_runs::result.eq(result),
            reconciliation_runs::run_at.eq(now),
        ))
        .execute(conn)?;
    if n == 0 {
        diesel::insert_into(reconciliation_runs::table)
            .values((
                reconciliation_runs::bill_date.eq(date),
                reconciliation_runs::channel.eq(channel),
                reconciliation_runs::result.eq(result),
                reconciliation_runs::run_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The last run of a day, per channel: (channel, result JSON, when).
pub fn reconciliations_of(
    conn: &mut DbConnection,
    date: NaiveDate,
) -> Result<Vec<(String, String, NaiveDateTime)>, StoreError> {
    Ok(reconciliation_runs::table
        .filter(reconciliation_runs::bill_date.eq(date))
        .order(reconciliation_runs::channel.asc())
        .select((
            reconciliation_runs::channel,
            reconciliation_runs::result,
            reconciliation_runs::run_at,
        ))
        .load(conn)?)
}

/// `SUM` of a BIGINT column as a BIGINT (diesel types it NUMERIC on PostgreSQL).
fn sum_bigint(
    column: &'static str,
) -> diesel::expression::SqlLiteral<diesel::sql_types::Nullable<diesel::sql_types::BigInt>> {
    diesel::dsl::sql(&format!("CAST(SUM({column}) AS BIGINT)"))
}

/// Totals per account (rolled up) of the journals posted before `before`.
pub fn trial_balance(
    conn: &mut DbConnection,
    before: NaiveDateTime,
) -> Result<TrialBalance, StoreError> {
    let rows: Vec<(String, Option<i64>, Option<i64>)> = ledger_entries::table
        .inner_join(ledger_journals::table)
        .filter(ledger_journals::posted_at.lt(before))
        .group_by(ledger_entries::account)
        .select((
            ledger_entries::account,
            sum_bigint("ledger_entries.debit_fen"),
            sum_bigint("ledger_entries.credit_fen"),
        ))
        .load(conn)?;
    let mut tb = TrialBalance::default();
    for (account, debit, credit) in rows {
        tb.add(
            &Account::from_stored(account),
            Fen(debit.unwrap_or(0)),
            Fen(credit.unwrap_or(0)),
        );
    }
    Ok(tb)
}

/// Journals whose lines do not balance (there must be none): their ids.
pub fn unbalanced_journals(conn: &mut DbConnection) -> Result<Vec<String>, StoreError> {
    let rows: Vec<(String, Option<i64>, Option<i64>)> = ledger_entries::table
        .group_by(ledger_entries::journal_id)
        .select((
            ledger_entries::journal_id,
            sum_bigint("ledger_entries.debit_fen"),
            sum_bigint("ledger_entries.credit_fen"),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|(_, d, c)| d != c)
        .map(|(id, _, _)| id)
        .collect())
}

// ---------------------------------------------------------------------------------------------
// For the benchmark (`shebao bench payments`)

/// The first `limit` persons in flexible employment, by id.
pub fn flexible_person_ids(conn: &mut DbConnection, limit: i64) -> Result<Vec<Uuid>, StoreError> {
    let ids: Vec<String> = persons::table
        .filter(persons::employment_status.eq(EmploymentStatus::Flexible.as_str()))
        .order(persons::id.asc())
        .select(persons::id)
        .limit(limit)
        .load(conn)?;
    ids.iter().map(|id| stored_id("persons.id", id)).collect()
}

/// How many payments whose idempotency key starts with `prefix` are in `status`.
pub fn count_by_key_prefix(
    conn: &mut DbConnection,
    prefix: &str,
    status: PaymentStatus,
) -> Result<i64, StoreError> {
    Ok(payments::table
        .filter(payments::status.eq(status.as_str()))
        .filter(payments::idempotency_key.like(format!("{prefix}%")))
        .count()
        .get_result(conn)?)
}
