//! Failure counters in the database (the rules are `shebao_domain::throttle`): one row per
//! counter, read and written under that row's lock, so concurrent tries on any number of
//! instances are counted one after another. Call these inside a transaction.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use shebao_domain::throttle::{Attempts, Policy, Refusal};

use crate::db::{DbConnection, StoreError};
use crate::schema::auth_throttle;

/// What a counter counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Sign-ins of one phone number (its blind index), whether or not it has an account.
    PhoneSignIn,
    /// Sign-ins of one staff username, whether or not it exists.
    StaffSignIn,
    /// Failed sign-ins and step-ups from one client address.
    ClientAddress,
    /// Step-ups of one account.
    StepUp,
    /// Binding mismatches of one account.
    BindingAccount,
    /// Binding mismatches naming one ID number (its blind index).
    BindingIdNumber,
}

impl Scope {
    /// Whether proving the secret wipes the counter (it counts one identifier's failures), or
    /// only gives the try back (it counts many people's, or a day's, tries).
    fn cleared_by_success(self) -> bool {
        matches!(
            self,
            Scope::PhoneSignIn | Scope::StaffSignIn | Scope::StepUp
        )
    }

    fn as_str(self) -> &'static str {
        match self {
            Scope::PhoneSignIn => "phone_sign_in",
            Scope::StaffSignIn => "staff_sign_in",
            Scope::ClientAddress => "client_address",
            Scope::StepUp => "step_up",
            Scope::BindingAccount => "binding_account",
            Scope::BindingIdNumber => "binding_id_number",
        }
    }
}

/// One counter: its scope, its subject and the policy it follows.
#[derive(Debug, Clone)]
pub struct Counter {
    pub scope: Scope,
    pub subject: String,
    pub policy: Policy,
}

impl Counter {
    pub fn new(scope: Scope, subject: impl Into<String>, policy: Policy) -> Counter {
        Counter {
            scope,
            subject: subject.into(),
            policy,
        }
    }
}

/// A counter's row.
#[derive(Queryable, Selectable)]
#[diesel(table_name = auth_throttle)]
struct Row {
    failures: i32,
    window_started: Option<NaiveDateTime>,
    last_failed_at: Option<NaiveDateTime>,
    locked_until: Option<NaiveDateTime>,
    lockouts: i32,
}

fn utc(t: Option<NaiveDateTime>) -> Option<DateTime<Utc>> {
    t.map(|t| t.and_utc())
}

fn naive(t: Option<DateTime<Utc>>) -> Option<NaiveDateTime> {
    t.map(|t| t.naive_utc())
}

/// Creates the row if missing and locks it until the transaction ends: an upsert whose update
/// changes nothing takes the row lock on PostgreSQL and the write lock on SQLite. One statement,
/// so a race to create the row never aborts the transaction (MultiConnection cannot build
/// `ON CONFLICT`, so each backend builds the same statement).
fn lock_row(conn: &mut DbConnection, scope: Scope, subject: &str) -> Result<(), StoreError> {
    let values = (
        auth_throttle::scope.eq(scope.as_str()),
        auth_throttle::subject.eq(subject),
        auth_throttle::failures.eq(0),
        auth_throttle::lockouts.eq(0),
    );
    let target = (auth_throttle::scope, auth_throttle::subject);
    let keep = auth_throttle::failures.eq(auth_throttle::failures);
    match conn {
        DbConnection::Postgresql(c) => diesel::insert_into(auth_throttle::table)
            .values(values)
            .on_conflict(target)
            .do_update()
            .set(keep)
            .execute(c)?,
        DbConnection::Sqlite(c) => diesel::insert_into(auth_throttle::table)
            .values(values)
            .on_conflict(target)
            .do_update()
            .set(keep)
            .execute(c)?,
    };
    Ok(())
}

fn load(conn: &mut DbConnection, scope: Scope, subject: &str) -> Result<Attempts, StoreError> {
    lock_row(conn, scope, subject)?;
    let row: Row = auth_throttle::table
        .find((scope.as_str(), subject))
        .select(Row::as_select())
        .first(conn)?;
    Ok(Attempts {
        failures: row.failures,
        window_started: utc(row.window_started),
        last_failed_at: utc(row.last_failed_at),
        locked_until: utc(row.locked_until),
        lockouts: row.lockouts,
    })
}

fn store(
    conn: &mut DbConnection,
    scope: Scope,
    subject: &str,
    a: &Attempts,
) -> Result<(), StoreError> {
    diesel::update(auth_throttle::table.find((scope.as_str(), subject)))
        .set((
            auth_throttle::failures.eq(a.failures),
            auth_throttle::window_started.eq(naive(a.window_started)),
            auth_throttle::last_failed_at.eq(naive(a.last_failed_at)),
            auth_throttle::locked_until.eq(naive(a.locked_until)),
            auth_throttle::lockouts.eq(a.lockouts),
        ))
        .execute(conn)?;
    Ok(())
}

/// Counts a try on every counter, in the order given (callers keep one order, so two
/// transactions never wait for each other's rows), or refuses it: then nothing is counted
/// (a lock-out that starts now is kept) and the first refusal is answered, with its scope.
pub fn try_attempt(
    conn: &mut DbConnection,
    counters: &[Counter],
    now: DateTime<Utc>,
) -> Result<Result<(), (Scope, Refusal)>, StoreError> {
    for (i, c) in counters.iter().enumerate() {
        let (next, verdict) = load(conn, c.scope, &c.subject)?.try_attempt(&c.policy, now);
        store(conn, c.scope, &c.subject, &next)?;
        if let Err(refusal) = verdict {
            release(conn, &counters[..i])?;
            return Ok(Err((c.scope, refusal)));
        }
    }
    Ok(Ok(()))
}

/// Gives back a counted try that was not a failure.
pub fn release(conn: &mut DbConnection, counters: &[Counter]) -> Result<(), StoreError> {
    for c in counters {
        let next = load(conn, c.scope, &c.subject)?.release();
        store(conn, c.scope, &c.subject, &next)?;
    }
    Ok(())
}

/// The secret was proven: the counters of one identifier are wiped, the others (an address,
/// a day's bindings) get their try back.
pub fn succeeded(conn: &mut DbConnection, counters: &[Counter]) -> Result<(), StoreError> {
    for c in counters {
        if c.scope.cleared_by_success() {
            lock_row(conn, c.scope, &c.subject)?;
            store(conn, c.scope, &c.subject, &Attempts::cleared())?;
        } else {
            release(conn, std::slice::from_ref(c))?;
        }
    }
    Ok(())
}
