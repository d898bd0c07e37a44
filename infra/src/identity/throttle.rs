//! Failed sign-ins per client address: past the limit within the window, the address is locked
//! out for the rest of it.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use shebao_domain::auth::{IP_FAILURE_LIMIT, IP_WINDOW_MINUTES};

use crate::db::{DbConnection, StoreError};
use crate::schema::ip_throttle;

/// Seconds the address must still wait, if it is locked out.
pub fn locked_for(
    conn: &mut DbConnection,
    ip: &str,
    now: NaiveDateTime,
) -> Result<Option<i64>, StoreError> {
    let until: Option<Option<NaiveDateTime>> = ip_throttle::table
        .find(ip)
        .select(ip_throttle::locked_until)
        .first(conn)
        .optional()?;
    Ok(until
        .flatten()
        .filter(|u| *u > now)
        .map(|u| (u - now).num_seconds().max(1)))
}

pub fn record_failure(
    conn: &mut DbConnection,
    ip: &str,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    let window_start = now - Duration::minutes(IP_WINDOW_MINUTES);
    // A window that has passed starts again.
    let reset = diesel::update(
        ip_throttle::table
            .find(ip)
            .filter(ip_throttle::window_started.le(window_start)),
    )
    .set((
        ip_throttle::failures.eq(1),
        ip_throttle::window_started.eq(now),
        ip_throttle::locked_until.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    if reset == 0 {
        let counted = diesel::update(ip_throttle::table.find(ip))
            .set(ip_throttle::failures.eq(ip_throttle::failures + 1))
            .execute(conn)?;
        if counted == 0 {
            let inserted = diesel::insert_into(ip_throttle::table)
                .values((
                    ip_throttle::client_ip.eq(ip),
                    ip_throttle::failures.eq(1),
                    ip_throttle::window_started.eq(now),
                ))
                .execute(conn)
                .map_err(StoreError::from);
            match inserted {
                Ok(_) => {}
                // Another instance inserted first: count on its row.
                Err(StoreError::Conflict(_)) => {
                    diesel::update(ip_throttle::table.find(ip))
                        .set(ip_throttle::failures.eq(ip_throttle::failures + 1))
                        .execute(conn)?;
                }
                Err(e) => return Err(e),
            }
        }
    }
    diesel::update(
        ip_throttle::table
            .find(ip)
            .filter(ip_throttle::failures.ge(IP_FAILURE_LIMIT)),
    )
    .set(ip_throttle::locked_until.eq(Some(now + Duration::minutes(IP_WINDOW_MINUTES))))
    .execute(conn)?;
    Ok(())
}
