//! The notices benchmark's command (`bench/notices.sh`): `bench notice-sql` prints the very
//! SQL `GET /v1/staff/notices/{id}/audience-size` runs, its parameters written in, so that
//! `EXPLAIN` and pgbench run what the service runs. Compiled with the `synthetic` feature.

use chrono::NaiveDate;
use shebao_domain::notices::matching_date;
use shebao_domain::ports::Clock;
use shebao_infra::clock::SystemClock;
use shebao_infra::notices::audience::Condition;
use shebao_infra::notices::store;
use uuid::Uuid;

use super::{load, migrated, out};

/// `bench notice-sql`: the count of `notice`'s audience on `as_of` (default today, Beijing).
pub fn notice_sql(notice: Uuid, as_of: Option<NaiveDate>) -> anyhow::Result<()> {
    let (settings, _keys) = load()?;
    let mut conn = migrated(&settings)?;
    let n = store::get(&mut conn, notice)?.ok_or_else(|| anyhow::anyhow!("no notice {notice}"))?;
    let today = as_of.unwrap_or_else(|| matching_date(SystemClock.now()));
    out(&format!(
        "{};",
        Condition::of(&n.audience, today)
            .count_sql()
            .with_literals()
    ));
    Ok(())
}
