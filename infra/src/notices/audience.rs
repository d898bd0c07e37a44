//! Who a notice reaches. Two readings of one rule:
//!
//! - set-based, for the staff's audience size and the SMS: the rule becomes one SQL condition
//!   over `persons p` ([`Condition::of`]) — the same text on both backends but for the
//!   parameter markers — from the figures `shebao_domain::notices` computes for the day (birth
//!   bounds, the arrears cutoff, the receive window), so the database counts a million persons
//!   without a row leaving it;
//! - per person, for the person's own list: [`facts_of`] reads what the rule looks at and
//!   `AudienceRule::matches` decides.
//!
//! `tests/tests/api/notices.rs` checks on a varied population that the two agree, person by
//! person, at the edges.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use diesel::backend::Backend;
use diesel::prelude::*;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Date, HasSqlType, Integer, Text};
use shebao_domain::notices::{
    award_running, month_in_arrears, ArrearsCutoff, AudienceRule, Benefit, PersonFacts,
    ReceiveWindow,
};
use shebao_domain::period::Period;
use shebao_domain::region::TimeZoneName;
use shebao_domain::statement::ContributionStatus;
use uuid::Uuid;

use crate::db::{self, DbConnection, StoreError};
use crate::registry::{persons, regions, stored, stored_id};
use crate::schema::{benefit_payments, contributions};

/// A parameter of the condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Param {
    Text(String),
    Int(i32),
    Date(NaiveDate),
}

impl Param {
    /// The parameter as a PostgreSQL literal (for `EXPLAIN` and pgbench in bench/notices.sh).
    fn literal(&self) -> String {
        match self {
            Param::Text(s) => format!("'{}'", s.replace('\'', "''")),
            Param::Int(n) => n.to_string(),
            Param::Date(d) => format!("DATE '{}'", d.format("%Y-%m-%d")),
        }
    }
}

/// SQL text whose every `?` is a parameter (the text holds no other `?`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sql {
    text: String,
    params: Vec<Param>,
}

impl Sql {
    fn push(&mut self, s: &str) -> &mut Sql {
        self.text.push_str(s);
        self
    }

    fn param(&mut self, p: Param) -> &mut Sql {
        self.text.push('?');
        self.params.push(p);
        self
    }

    /// `(?, ?, …)` of `values`.
    fn list(&mut self, values: impl IntoIterator<Item = Param>) -> &mut Sql {
        self.push("(");
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.param(v);
        }
        self.push(")")
    }

    fn append(&mut self, other: &Sql) -> &mut Sql {
        self.text.push_str(&other.text);
        self.params.extend(other.params.iter().cloned());
        self
    }

    /// The text with PostgreSQL's markers (`$1`, `$2`, …).
    fn numbered(&self) -> String {
        let mut out = String::with_capacity(self.text.len() + 16);
        let mut n = 0;
        for ch in self.text.chars() {
            if ch == '?' {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            } else {
                out.push(ch);
            }
        }
        out
    }

    /// The text with every parameter written in as a PostgreSQL literal: what the service runs,
    /// for running it by hand (`EXPLAIN`, pgbench).
    pub fn with_literals(&self) -> String {
        let mut out = String::with_capacity(self.text.len() + 64);
        let mut params = self.params.iter();
        for ch in self.text.chars() {
            match (ch, ch == '?') {
                (_, true) => out.push_str(&params.next().map(Param::literal).unwrap_or_default()),
                (c, false) => out.push(c),
            }
        }
        out
    }

    pub fn params(&self) -> &[Param] {
        &self.params
    }
}

/// The condition a rule puts on `persons p` on a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition(Sql);

impl Condition {
    /// The rule as SQL over `persons p` on `today` (see `shebao_domain::notices`): regions,
    /// ages by birth date, gender, employment status and medical category from the person's
    /// row; arrears from the contribution rows (a month stored `arrears`, or `due` and past its
    /// due date in the person's region); what the person receives from the benefit payments of
    /// this month or the last and the awards running this month.
    pub fn of(rule: &AudienceRule, today: NaiveDate) -> Condition {
        let mut q = Sql::default();
        q.push("1 = 1");
        if !rule.regions().is_empty() {
            q.push(" AND p.region_code IN ").list(
                rule.regions()
                    .iter()
                    .map(|r| Param::Text(r.as_str().to_owned())),
            );
        }
        let bounds = rule.birth_bounds(today);
        if let Some(latest) = bounds.born_on_or_before {
            q.push(" AND p.birth_date <= ").param(Param::Date(latest));
        }
        if let Some(after) = bounds.born_after {
            q.push(" AND p.birth_date > ").param(Param::Date(after));
        }
        if let Some(g) = rule.gender() {
            q.push(" AND p.gender = ")
                .param(Param::Text(g.as_str().to_owned()));
        }
        if !rule.employment_status().is_empty() {
            q.push(" AND p.employment_status IN ").list(
                rule.employment_status()
                    .iter()
                    .map(|s| Param::Text(s.as_str().to_owned())),
            );
        }
        if let Some(m) = rule.medical_category() {
            q.push(" AND p.medical_category = ")
                .param(Param::Text(m.as_str().to_owned()));
        }
        if let Some(has) = rule.has_arrears() {
            // Unpaid months only (the partial index `contributions_unpaid_idx`); of those, a
            // month stored `arrears`, one before last month, or last month in a region whose
            // due day has passed (the regions are few: one uncorrelated look-up).
            let cut = ArrearsCutoff::on(today);
            let last_month = Param::Text(cut.last_month.to_string());
            q.push(if has {
                " AND EXISTS "
            } else {
                " AND NOT EXISTS "
            })
            .push("(SELECT 1 FROM contributions c WHERE c.person_id = p.id AND c.status IN ('")
            .push(ContributionStatus::Due.as_str())
            .push("', '")
            .push(ContributionStatus::Arrears.as_str())
            .push("') AND (c.status = '")
            .push(ContributionStatus::Arrears.as_str())
            .push("' OR c.period < ")
            .param(last_month.clone())
            .push(" OR (c.period = ")
            .param(last_month)
            .push(
                " AND p.region_code IN (SELECT rd.code FROM regions rd \
                     WHERE rd.contribution_due_day < ",
            )
            .param(Param::Int(i32::try_from(cut.day).unwrap_or(i32::MAX)))
            .push("))))");
        }
        if !rule.receives().is_empty() {
            let w = ReceiveWindow::on(today);
            let kinds = || {
                rule.receives()
                    .iter()
                    .map(|b| Param::Text(b.as_str().to_owned()))
            };
            q.push(
                " AND (EXISTS (SELECT 1 FROM benefit_payments bp WHERE bp.person_id = p.id \
                 AND bp.kind IN ",
            )
            .list(kinds())
            .push(" AND bp.period >= ")
            .param(Param::Text(w.payments_from.to_string()))
            .push(
                ") OR EXISTS (SELECT 1 FROM benefit_awards ba WHERE ba.person_id = p.id \
                 AND ba.kind IN ",
            )
            .list(kinds())
            .push(" AND ba.starts <= ")
            .param(Param::Text(w.month.to_string()))
            // The award's last month + 1, as a month index: year × 12 + month − 1 + months.
            .push(
                " AND (ba.months IS NULL OR CAST(SUBSTR(ba.starts, 1, 4) AS INTEGER) * 12 \
                 + CAST(SUBSTR(ba.starts, 6, 2) AS INTEGER) - 1 + ba.months > ",
            )
            .param(Param::Int(i32::try_from(w.month_index).unwrap_or(i32::MAX)))
            .push(")))");
        }
        Condition(q)
    }

    /// `SELECT COUNT(*) AS n FROM persons p WHERE …`: the audience size.
    pub fn count_sql(&self) -> Sql {
        let mut q = Sql::default();
        q.push("SELECT COUNT(*) AS n FROM persons p WHERE ")
            .append(&self.0);
        q
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = Text)]
    id: String,
}

#[derive(QueryableByName)]
struct RecipientRow {
    #[diesel(sql_type = Text)]
    person_id: String,
    #[diesel(sql_type = Text)]
    account_id: String,
    #[diesel(sql_type = Text)]
    time_zone: String,
}

/// `sql` with its parameters bound, for backend `DB` (`text` is `sql`'s text with that
/// backend's markers).
fn bound<'a, DB>(text: String, params: &'a [Param]) -> BoxedSqlQuery<'a, DB, SqlQuery>
where
    DB: Backend + HasSqlType<Text> + HasSqlType<Integer> + HasSqlType<Date>,
    String: ToSql<Text, DB>,
    i32: ToSql<Integer, DB>,
    NaiveDate: ToSql<Date, DB>,
{
    let mut q = diesel::sql_query(text).into_boxed::<DB>();
    for p in params {
        q = match p {
            Param::Text(s) => q.bind::<Text, _>(s.clone()),
            Param::Int(n) => q.bind::<Integer, _>(*n),
            Param::Date(d) => q.bind::<Date, _>(*d),
        };
    }
    q
}

/// Runs `sql` on either backend.
fn load<T>(conn: &mut DbConnection, sql: &Sql) -> Result<Vec<T>, StoreError>
where
    T: QueryableByName<diesel::pg::Pg> + QueryableByName<diesel::sqlite::Sqlite> + 'static,
{
    Ok(crate::db_run!(conn,
        postgres: |c| bound::<diesel::pg::Pg>(sql.numbered(), &sql.params).load::<T>(c),
        sqlite: |c| bound::<diesel::sqlite::Sqlite>(sql.text.clone(), &sql.params).load::<T>(c),
    )?)
}

/// How many persons the rule reaches on `today`: one `COUNT(*)` in the database.
pub fn count(
    conn: &mut DbConnection,
    rule: &AudienceRule,
    today: NaiveDate,
) -> Result<i64, StoreError> {
    let sql = Condition::of(rule, today).count_sql();
    let rows: Vec<Count> = match conn.backend() {
        // A count over a large audience passes PostgreSQL's `jit_above_cost`, and the JIT would
        // compile the plan again on every run: 350 ms of a 670 ms count in bench/notices.sh, for
        // a statement that runs once per preview. Off for this transaction only.
        db::Backend::Postgres => conn.transaction(|c| {
            diesel::sql_query("SET LOCAL jit = off").execute(c)?;
            load(c, &sql)
        })?,
        db::Backend::Sqlite => load(conn, &sql)?,
    };
    Ok(rows.first().map_or(0, |r| r.n))
}

/// The persons the rule reaches on `today`, by id (for checks and tools: it holds them all).
pub fn ids(
    conn: &mut DbConnection,
    rule: &AudienceRule,
    today: NaiveDate,
) -> Result<Vec<Uuid>, StoreError> {
    let mut q = Sql::default();
    q.push("SELECT p.id AS id FROM persons p WHERE ")
        .append(&Condition::of(rule, today).0)
        .push(" ORDER BY p.id");
    load::<Id>(conn, &q)?
        .iter()
        .map(|r| stored_id("persons.id", &r.id))
        .collect()
}

/// A person a notice's SMS goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub person_id: Uuid,
    /// The account bound to the person: the message goes to its phone.
    pub account_id: Uuid,
    /// The person's region's zone (for daylight).
    pub time_zone: TimeZoneName,
}

/// The next page (by person id, after `after`) of the persons the rule reaches on `today` who
/// have a bound account that has not turned notices off: one query.
pub fn recipients(
    conn: &mut DbConnection,
    rule: &AudienceRule,
    today: NaiveDate,
    after: Option<Uuid>,
    limit: usize,
) -> Result<Vec<Recipient>, StoreError> {
    // Every id is after "" (the first page).
    let from = Param::Text(after.map(|a| a.to_string()).unwrap_or_default());
    let mut q = Sql::default();
    q.push(
        "SELECT p.id AS person_id, a.id AS account_id, r.time_zone AS time_zone \
         FROM persons p JOIN accounts a ON a.person_id = p.id \
         JOIN regions r ON r.code = p.region_code \
         LEFT JOIN notification_preferences np ON np.account_id = a.id \
         WHERE (np.notices IS NULL OR np.notices <> 0) AND p.id > ",
    )
    .param(from.clone())
    // The bound again on the accounts: the database may walk either side in id order.
    .push(" AND a.person_id > ")
    .param(from)
    .push(" AND ")
    .append(&Condition::of(rule, today).0)
    .push(" ORDER BY p.id LIMIT ")
    .param(Param::Int(i32::try_from(limit).unwrap_or(i32::MAX)));
    load::<RecipientRow>(conn, &q)?
        .into_iter()
        .map(|r| {
            Ok(Recipient {
                person_id: stored_id("persons.id", &r.person_id)?,
                account_id: stored_id("accounts.id", &r.account_id)?,
                time_zone: stored("regions.time_zone", TimeZoneName::parse(&r.time_zone))?,
            })
        })
        .collect()
}

/// What a rule reads about `person` on `today`: their registry row, whether a month of theirs
/// is in arrears that day, and what they receive. `None` if there is no such person.
pub fn facts_of(
    conn: &mut DbConnection,
    person: Uuid,
    today: NaiveDate,
) -> Result<Option<PersonFacts>, StoreError> {
    let Some(p) = persons::get(conn, person)? else {
        return Ok(None);
    };
    let due_day = regions::rules(conn, &p.region)?
        .unwrap_or_default()
        .contribution_due_day;
    let pid = person.to_string();
    // Only unpaid months can be in arrears.
    let unpaid: Vec<(String, String)> = contributions::table
        .filter(contributions::person_id.eq(&pid))
        .filter(contributions::status.eq_any([
            ContributionStatus::Due.as_str(),
            ContributionStatus::Arrears.as_str(),
        ]))
        .select((contributions::period, contributions::status))
        .load(conn)?;
    let mut has_arrears = false;
    for (period, status) in &unpaid {
        let period = stored("contributions.period", Period::parse(period))?;
        let status = ContributionStatus::parse(status)
            .ok_or_else(|| StoreError::Corrupt(format!("contributions.status: {status:?}")))?;
        has_arrears |= month_in_arrears(status, period, today, due_day);
    }
    let window = ReceiveWindow::on(today);
    let paid: Vec<String> = benefit_payments::table
        .filter(benefit_payments::person_id.eq(&pid))
        .filter(benefit_payments::period.ge(window.payments_from.to_string()))
        .select(benefit_payments::kind)
        .distinct()
        .load(conn)?;
    // Kinds the rule cannot name are not received as far as rules go (the query agrees: it
    // asks only for kinds it names).
    let mut receives: BTreeSet<Benefit> =
        paid.iter().filter_map(|k| Benefit::parse(k).ok()).collect();
    for award in crate::applications::effects::awards_of(conn, person)? {
        let starts = stored("benefit_awards.starts", Period::parse(&award.starts))?;
        let months = award.months.map(|m| u32::try_from(m).unwrap_or(0));
        if award_running(starts, months, today) {
            if let Ok(kind) = Benefit::parse(&award.kind) {
                receives.insert(kind);
            }
        }
    }
    Ok(Some(PersonFacts {
        region: p.region,
        birth_date: p.birth_date,
        gender: p.gender,
        employment_status: p.employment_status,
        medical_category: p.medical_category,
        has_arrears,
        receives,
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use shebao_domain::notices::AudienceParts;
    use shebao_domain::person::EmploymentStatus;
    use shebao_domain::region::RegionCode;

    #[test]
    fn the_condition_names_only_what_the_rule_names() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        let everyone = Condition::of(&AudienceRule::everyone(), today);
        assert_eq!(
            everyone.count_sql().with_literals(),
            "SELECT COUNT(*) AS n FROM persons p WHERE 1 = 1"
        );
        let rule = AudienceRule::new(AudienceParts {
            regions: Some(vec![RegionCode::parse("440300").unwrap()]),
            age_min: Some(16),
            age_max: Some(59),
            employment_status: Some(vec![EmploymentStatus::Unemployed]),
            ..Default::default()
        })
        .unwrap();
        let sql = Condition::of(&rule, today).count_sql();
        assert_eq!(
            sql.with_literals(),
            "SELECT COUNT(*) AS n FROM persons p WHERE 1 = 1 AND p.region_code IN ('440300') \
             AND p.birth_date <= DATE '2010-12-03' AND p.birth_date > DATE '1966-12-03' \
             AND p.employment_status IN ('unemployed')"
        );
        assert_eq!(sql.params().len(), 4);
        assert!(sql.numbered().contains("IN ($1) AND p.birth_date <= $2"));
        // Quotes in a literal are doubled (no value of a rule has one, but the writer is safe).
        assert_eq!(Param::Text("o'k".into()).literal(), "'o''k'");
    }
}
