//! Which campaigns an account hears from (`notification_preferences`; no row: all on).

use std::collections::HashSet;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use shebao_domain::reminders::{Campaign, Preferences};
use uuid::Uuid;

use crate::db::{DbConnection, StoreError};
use crate::schema::notification_preferences as np;

fn flag(b: bool) -> i32 {
    i32::from(b)
}

pub fn get(conn: &mut DbConnection, account: Uuid) -> Result<Preferences, StoreError> {
    let row: Option<(i32, i32, i32, i32, i32)> = np::table
        .find(account.to_string())
        .select((
            np::due,
            np::arrears,
            np::statement,
            np::resident_window,
            np::notices,
        ))
        .first(conn)
        .optional()?;
    Ok(match row {
        Some((due, arrears, statement, resident_window, notices)) => Preferences {
            due: due != 0,
            arrears: arrears != 0,
            statement: statement != 0,
            resident_window: resident_window != 0,
            notices: notices != 0,
        },
        None => Preferences::default(),
    })
}

/// Replaces the account's choices.
pub fn put(
    conn: &mut DbConnection,
    account: Uuid,
    p: &Preferences,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    let id = account.to_string();
    let changed = diesel::update(np::table.find(&id))
        .set((
            np::due.eq(flag(p.due)),
            np::arrears.eq(flag(p.arrears)),
            np::statement.eq(flag(p.statement)),
            np::resident_window.eq(flag(p.resident_window)),
            np::notices.eq(flag(p.notices)),
            np::updated_at.eq(now),
        ))
        .execute(conn)?;
    if changed == 0 {
        let insert = diesel::insert_into(np::table)
            .values((
                np::account_id.eq(&id),
                np::due.eq(flag(p.due)),
                np::arrears.eq(flag(p.arrears)),
                np::statement.eq(flag(p.statement)),
                np::resident_window.eq(flag(p.resident_window)),
                np::notices.eq(flag(p.notices)),
                np::updated_at.eq(now),
            ))
            .on_conflict_do_nothing();
        let inserted = crate::db_run!(conn, |c| insert.execute(c))?;
        if inserted == 0 {
            // Another request inserted it in between: ours is the later word.
            diesel::update(np::table.find(&id))
                .set((
                    np::due.eq(flag(p.due)),
                    np::arrears.eq(flag(p.arrears)),
                    np::statement.eq(flag(p.statement)),
                    np::resident_window.eq(flag(p.resident_window)),
                    np::notices.eq(flag(p.notices)),
                    np::updated_at.eq(now),
                ))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// Of `accounts`, those that turned `campaign` off.
pub fn opted_out(
    conn: &mut DbConnection,
    campaign: Campaign,
    accounts: &[String],
) -> Result<HashSet<String>, StoreError> {
    if accounts.is_empty() {
        return Ok(HashSet::new());
    }
    let q = np::table
        .filter(np::account_id.eq_any(accounts))
        .select(np::account_id)
        .into_boxed();
    let q = match campaign {
        Campaign::Due => q.filter(np::due.eq(0)),
        Campaign::Arrears => q.filter(np::arrears.eq(0)),
        Campaign::Statement => q.filter(np::statement.eq(0)),
        Campaign::ResidentWindow => q.filter(np::resident_window.eq(0)),
        Campaign::Notice => q.filter(np::notices.eq(0)),
    };
    Ok(q.load::<String>(conn)?.into_iter().collect())
}
