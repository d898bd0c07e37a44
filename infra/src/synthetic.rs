//! A deterministic synthetic population, contribution history and load-test material for the
//! benchmarks (`shebao seed --persons`, `shebao bench …`, bench/*.sh). Compiled only with the
//! `synthetic` feature: a production build (`--no-default-features`) does not carry it.
//!
//! Every person is fictional: the ID numbers are generated with valid check characters but
//! belong to nobody.

use std::collections::HashSet;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Utc};
use diesel::Connection;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use shebao_domain::contribution::{compute_contribution, compute_flexible_pension};
use shebao_domain::employer::{CreditCode, EmployerName};
use shebao_domain::identity::{NationalId, PersonName};
use shebao_domain::insurance::InsuranceType;
use shebao_domain::money::Fen;
use shebao_domain::period::Period;
use shebao_domain::person::{CardNumber, EmploymentStatus, MedicalCategory};
use shebao_domain::region::{RegionCode, YearParameters};
use shebao_security::PiiVault;
use uuid::Uuid;

use crate::db::{DbConnection, StoreError};
use crate::records::contributions::{self, ContributionStatus, NewContribution};
use crate::registry::employers::{self, NewEmployer};
use crate::registry::persons::{self, NewPerson};
use crate::registry::regions;
use crate::seed::{date, ensure_regions, parse, FIRST_YEAR, REGIONS};

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "林", "罗", "高", "欧阳", "司马",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀英", "霞", "平", "刚", "桂英", "华", "建国", "子涵", "浩然",
];
const DISTRICTS: &[(&str, &str)] = &[
    ("440300", "440305"),
    ("440300", "440304"),
    ("440300", "440306"),
    ("110000", "110105"),
    ("110000", "110108"),
];

#[derive(Debug, Clone)]
pub struct SyntheticSummary {
    pub persons: u64,
}

/// Rows per multi-row INSERT: 13 columns × 1,000 stays under both backends' parameter limits.
const PERSON_BATCH: usize = 1_000;

/// Generates `count` fictional persons from `seed`: the same seed always gives the same people.
/// Inserts in batches of 1,000, one transaction a batch; `progress` hears the running total.
pub fn synthetic(
    conn: &mut DbConnection,
    vault: &PiiVault,
    count: u64,
    seed: u64,
    now: DateTime<Utc>,
    progress: impl FnMut(u64),
) -> Result<SyntheticSummary, StoreError> {
    let ts = now.naive_utc();
    generate(
        conn,
        count,
        seed,
        now,
        |c, batch| flush(c, vault, batch, ts),
        false,
        progress,
    )
}

/// The generator behind [`synthetic`] and [`reminder_audience`]: `write` stores each batch of
/// 1,000 (and empties it). `all_flexible` makes everyone a flexible-employment person without
/// changing the random stream (the rest of each person is as in the plain population).
fn generate(
    conn: &mut DbConnection,
    count: u64,
    seed: u64,
    now: DateTime<Utc>,
    mut write: impl FnMut(&mut DbConnection, &mut Vec<(Uuid, NewPerson)>) -> Result<u64, StoreError>,
    all_flexible: bool,
    mut progress: impl FnMut(u64),
) -> Result<SyntheticSummary, StoreError> {
    let ts = now.naive_utc();
    ensure_regions(conn, now.year(), ts)?;
    let first_card = synthetic_card(seed, 0)?;
    {
        use crate::schema::persons::dsl;
        use diesel::prelude::*;
        let exists: bool = diesel::select(diesel::dsl::exists(
            dsl::persons.filter(dsl::card_number.eq(first_card.as_str())),
        ))
        .get_result(conn)?;
        if exists {
            return Err(StoreError::Conflict(format!(
                "a synthetic population with seed {seed} is already loaded"
            )));
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut seen: HashSet<String> = HashSet::with_capacity(usize::try_from(count).unwrap_or(0));
    let mut batch: Vec<(Uuid, NewPerson)> = Vec::with_capacity(PERSON_BATCH);
    let mut done = 0u64;
    let earliest = date(1960, 1, 1)?;
    for i in 0..count {
        let (region, district) = DISTRICTS[rng.gen_range(0..DISTRICTS.len())];
        let national_id = loop {
            let birth = earliest + chrono::Duration::days(rng.gen_range(0..(365 * 45)));
            let id = parse(
                "national id",
                NationalId::from_parts(district, birth, rng.gen_range(0..1000)),
            )?;
            if seen.insert(id.expose().to_owned()) {
                break id;
            }
        };
        let name = format!(
            "{}{}",
            SURNAMES[rng.gen_range(0..SURNAMES.len())],
            GIVEN[rng.gen_range(0..GIVEN.len())]
        );
        let flexible = rng.gen_ratio(1, 10) || all_flexible;
        let person = NewPerson {
            national_id,
            name: parse("name", PersonName::parse(&name))?,
            region: parse("region", RegionCode::parse(region))?,
            card_number: synthetic_card(seed, i)?,
            medical_category: if flexible {
                MedicalCategory::Resident
            } else {
                MedicalCategory::Employee
            },
            employment_status: if flexible {
                EmploymentStatus::Flexible
            } else {
                EmploymentStatus::Employed
            },
        };
        // Ids come from the seeded generator too, so a re-run gives the same rows.
        let id = uuid::Builder::from_random_bytes(rng.gen()).into_uuid();
        batch.push((id, person));
        if batch.len() == PERSON_BATCH {
            done += write(conn, &mut batch)?;
            progress(done);
        }
    }
    if !batch.is_empty() {
        done += write(conn, &mut batch)?;
        progress(done);
    }
    Ok(SyntheticSummary { persons: done })
}

/// Mixed into the seed so the reminder audience's wages are not the population's stream.
const AUDIENCE_SALT: u64 = 0x7265_6d69_6e64_6572;

/// The audience of the `due` campaign, for the reminders benchmark: `count` flexible-employment
/// persons of the synthetic population `seed` (as [`synthetic`] makes them, but all flexible),
/// each with an app account bound to them (phone +86 136 0000 0000 onwards, no password) and
/// `period` unpaid (a pension month at the flexible rate, status `due`, with the region's
/// parameters of that year). Each batch of 1,000 persons, their accounts and their months is
/// one transaction. `progress` hears the running total of persons.
pub fn reminder_audience(
    conn: &mut DbConnection,
    vault: &PiiVault,
    count: u64,
    seed: u64,
    period: Period,
    now: DateTime<Utc>,
    progress: impl FnMut(u64),
) -> Result<SyntheticSummary, StoreError> {
    if count > 100_000_000 {
        return Err(StoreError::Config(
            "at most 100,000,000 persons (one phone number each)".into(),
        ));
    }
    let ts = now.naive_utc();
    ensure_regions(conn, now.year(), ts)?;
    let mut params = std::collections::HashMap::new();
    for spec in REGIONS {
        let code = parse("region", RegionCode::parse(spec.code))?;
        let year = regions::years(conn, &code)?
            .into_iter()
            .find(|y| y.year() == period.year())
            .ok_or_else(|| {
                StoreError::Config(format!(
                    "no parameters for region {} in {period}",
                    spec.code
                ))
            })?;
        params.insert(spec.code.to_owned(), year);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ AUDIENCE_SALT);
    let mut phones = 0u64;
    generate(
        conn,
        count,
        seed,
        now,
        |conn, batch| {
            let mut months = Vec::with_capacity(batch.len());
            let mut bound = Vec::with_capacity(batch.len());
            for (id, p) in batch.iter() {
                let params = params.get(p.region.as_str()).ok_or_else(|| {
                    StoreError::Config(format!("no parameters for region {}", p.region.as_str()))
                })?;
                let wage = rng.gen_range(3_000i64..=30_000) * 100;
                months.push(NewContribution {
                    person_id: *id,
                    employer_id: None,
                    period,
                    insurance: InsuranceType::Pension,
                    declared_wage_fen: wage,
                    amounts: compute_flexible_pension(params, Fen(wage))
                        .ok_or_else(|| StoreError::Config("seed contribution overflow".into()))?,
                    status: ContributionStatus::Due,
                    paid_at: None,
                });
                let phone = parse(
                    "phone",
                    shebao_domain::identity::PhoneNumber::parse(&format!("+86136{phones:08}")),
                )?;
                phones += 1;
                bound.push(bound_account(vault, *id, &phone, ts));
            }
            let n = conn.transaction(|c| {
                let n = persons::insert_many(c, vault, batch, ts)?;
                insert_accounts(c, &bound)?;
                contributions::insert_many(c, &months, ts)?;
                Ok::<_, StoreError>(n)
            })?;
            batch.clear();
            Ok(n as u64)
        },
        true,
        progress,
    )
}

/// An account row bound to a person: (id, phone hash, phone encrypted, phone masked, person,
/// time).
type BoundAccount = (String, String, String, String, String, NaiveDateTime);

fn bound_account(
    vault: &PiiVault,
    person: Uuid,
    phone: &shebao_domain::identity::PhoneNumber,
    ts: NaiveDateTime,
) -> BoundAccount {
    (
        Uuid::now_v7().to_string(),
        crate::identity::accounts::phone_hash(vault, phone),
        vault.encrypt(phone.as_e164(), crate::identity::PHONE_AAD),
        phone.masked(),
        person.to_string(),
        ts,
    )
}

/// One multi-row INSERT of accounts (10 columns × 1,000 rows is within both backends' limits).
fn insert_accounts(conn: &mut DbConnection, rows: &[BoundAccount]) -> Result<usize, StoreError> {
    use crate::schema::accounts as a;
    use diesel::prelude::*;
    let values: Vec<_> = rows
        .iter()
        .map(|(id, hash, enc, masked, person, ts)| {
            (
                a::id.eq(id),
                a::phone_hash.eq(hash),
                a::phone_enc.eq(enc),
                a::phone_masked.eq(masked),
                a::failed_logins.eq(0),
                a::person_id.eq(Some(person)),
                a::bound_at.eq(Some(*ts)),
                a::created_at.eq(*ts),
                a::updated_at.eq(*ts),
            )
        })
        .collect();
    Ok(crate::db_run!(conn, |c| diesel::insert_into(a::table)
        .values(&values)
        .execute(c))?)
}

fn synthetic_card(seed: u64, i: u64) -> Result<CardNumber, StoreError> {
    parse(
        "card",
        CardNumber::parse(&format!("S{:06}{:09}", seed % 1_000_000, i)),
    )
}

fn flush(
    conn: &mut DbConnection,
    vault: &PiiVault,
    batch: &mut Vec<(Uuid, NewPerson)>,
    ts: NaiveDateTime,
) -> Result<u64, StoreError> {
    let n = conn.transaction(|c| persons::insert_many(c, vault, batch, ts))?;
    batch.clear();
    Ok(n as u64)
}

/// How many synthetic employers each region gets (for the contribution history).
const SYNTHETIC_EMPLOYERS_PER_REGION: u32 = 4;
/// The insurances of the synthetic history: employed persons pay all three, flexible ones only
/// pension. Ordered by name, like the unique index.
const HISTORY_INSURANCES: [InsuranceType; 3] = [
    InsuranceType::Medical,
    InsuranceType::Pension,
    InsuranceType::Unemployment,
];
/// Mixed into the seed so the history's random stream is not the population's.
const HISTORY_SALT: u64 = 0x6869_7374_6f72_7921;
/// Rows a multi-row INSERT of contributions may carry: 14 columns × 2,000 = 28,000 bound
/// parameters, under SQLite's 32,766 and PostgreSQL's 65,535.
const CONTRIBUTION_INSERT_ROWS: usize = 2_000;
/// Multi-row INSERTs per transaction on the generic path.
const INSERTS_PER_TRANSACTION: usize = 50;
/// Persons per `COPY` statement on PostgreSQL (up to 360 rows each), and statements per transaction.
const COPY_PERSONS: usize = 250;
const COPIES_PER_TRANSACTION: usize = 8;

/// How the contribution history goes into the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryLoader {
    /// `COPY … FROM STDIN` on PostgreSQL, multi-row INSERTs on SQLite.
    Auto,
    /// Multi-row INSERTs of 2,000 rows on either backend (for comparison).
    Insert,
}

#[derive(Debug, Clone)]
pub struct HistorySummary {
    pub employers: usize,
    pub persons: u64,
    pub rows: u64,
    pub first: Period,
    pub last: Period,
    /// `copy` or `insert`.
    pub loader: &'static str,
}

/// One synthetic person as the history generator needs it.
struct HistoryPerson {
    id: String,
    /// The position in the population (from the card number): seeds the person's own stream.
    index: u64,
    region: String,
    flexible: bool,
}

/// Creates (or finds) the synthetic employers of `seed`: a few per demo region, the same ones
/// for the same seed. Returns (region code, employer id) pairs.
fn synthetic_employers(
    conn: &mut DbConnection,
    seed: u64,
    ts: NaiveDateTime,
) -> Result<Vec<(String, Uuid)>, StoreError> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ HISTORY_SALT);
    let mut out = Vec::new();
    for spec in REGIONS {
        for n in 1..=SYNTHETIC_EMPLOYERS_PER_REGION {
            let id = uuid::Builder::from_random_bytes(rng.gen()).into_uuid();
            // Characters 9 to 16 (the organisation code without its check character, which
            // `from_first16` appends) may use only the credit-code alphabet.
            let org = format!("MA{:02}B{:03}", seed % 100, n);
            let employer = NewEmployer {
                name: parse(
                    "employer",
                    EmployerName::parse(&format!("{}合成测试{n}号有限公司", spec.name)),
                )?,
                credit_code: parse(
                    "credit code",
                    CreditCode::from_first16(&format!("91{}{org}", spec.code)),
                )?,
                region: parse("region", RegionCode::parse(spec.code))?,
            };
            let id = match employers::find_by_credit_code(conn, &employer.credit_code)? {
                Some(e) => e.id,
                None => match employers::insert(conn, &employer, id, ts)? {
                    Ok(e) => e.id,
                    Err(_) => return Err(StoreError::Conflict("synthetic employer".into())),
                },
            };
            out.push((spec.code.to_owned(), id));
        }
    }
    Ok(out)
}

/// The persons of the synthetic population `seed`, ordered by id (so that the history goes into
/// the indexes on `person_id` in order).
fn synthetic_persons(conn: &mut DbConnection, seed: u64) -> Result<Vec<HistoryPerson>, StoreError> {
    use crate::schema::persons::dsl;
    use diesel::prelude::*;
    let prefix = format!("S{:06}", seed % 1_000_000);
    let rows: Vec<(String, String, String, String)> = dsl::persons
        .filter(dsl::card_number.like(format!("{prefix}%")))
        .select((
            dsl::id,
            dsl::card_number,
            dsl::region_code,
            dsl::employment_status,
        ))
        .order(dsl::id.asc())
        .load(conn)?;
    rows.into_iter()
        .map(|(id, card, region, status)| {
            let index = card
                .strip_prefix(&prefix)
                .and_then(|n| n.parse::<u64>().ok())
                .ok_or_else(|| StoreError::Corrupt(format!("synthetic card number {card}")))?;
            Ok(HistoryPerson {
                id,
                index,
                region,
                flexible: status == EmploymentStatus::Flexible.as_str(),
            })
        })
        .collect()
}

/// One generated row, in the column order of `contributions`.
struct HistoryRow<'a> {
    person_id: &'a str,
    employer_id: Option<(Uuid, &'a str)>,
    period: Period,
    insurance: InsuranceType,
    declared_wage_fen: i64,
    amounts: shebao_domain::contribution::ContributionAmounts,
    paid_at: NaiveDateTime,
}

/// Everything the generator needs besides the persons.
struct HistoryPlan {
    seed: u64,
    first: Period,
    months: u32,
    /// (region, employer id, employer id as text)
    employers: Vec<(String, Uuid, String)>,
    /// (region, year) → parameters
    params: std::collections::HashMap<(String, i32), YearParameters>,
    /// No payment is dated after this.
    now: NaiveDateTime,
}

impl HistoryPlan {
    /// Calls `emit` for each of the person's rows: period by period, insurance by insurance.
    fn person_rows(
        &self,
        p: &HistoryPerson,
        mut emit: impl FnMut(HistoryRow<'_>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ HISTORY_SALT);
        rng.set_stream(p.index);
        let in_region: Vec<&(String, Uuid, String)> = self
            .employers
            .iter()
            .filter(|(r, _, _)| *r == p.region)
            .collect();
        let employer = if p.flexible || in_region.is_empty() {
            None
        } else {
            in_region
                .get(rng.gen_range(0..in_region.len()))
                .map(|(_, id, text)| (*id, text.as_str()))
        };
        // Declared wage in the first year (whole yuan), and its yearly growth in basis points.
        let mut wage = rng.gen_range(3_000i64..=30_000) * 100;
        let growth_bp = rng.gen_range(200i64..=900);
        let mut period = self.first;
        let mut year = period.year();
        for _ in 0..self.months {
            if period.year() != year {
                year = period.year();
                wage = wage * (10_000 + growth_bp) / 10_000;
            }
            let params = self.params.get(&(p.region.clone(), year)).ok_or_else(|| {
                StoreError::Config(format!("no parameters for region {} in {year}", p.region))
            })?;
            let next = period.next();
            // Paid on the 15th of the next month, or just now for last month.
            let paid_at = date(next.year(), next.month(), 15)?
                .and_hms_opt(2, 0, 0)
                .unwrap_or_default()
                .min(self.now);
            for insurance in HISTORY_INSURANCES {
                let amounts = match employer {
                    Some(_) => compute_contribution(params, insurance, Fen(wage)),
                    None if insurance == InsuranceType::Pension => {
                        compute_flexible_pension(params, Fen(wage))
                    }
                    None => continue,
                }
                .ok_or_else(|| StoreError::Config("seed contribution overflow".into()))?;
                emit(HistoryRow {
                    person_id: &p.id,
                    employer_id: employer,
                    period,
                    insurance,
                    declared_wage_fen: wage,
                    amounts,
                    paid_at,
                })?;
            }
            period = next;
        }
        Ok(())
    }
}

/// Generates `months` months (ending last month) of paid pension, medical and unemployment
/// contributions for every person of the synthetic population `seed`, with the demo regions'
/// yearly parameters: employed persons at one of a few synthetic employers, flexible persons
/// pension only. The same seed gives the same figures. `progress` hears the running row count.
pub fn synthetic_history(
    conn: &mut DbConnection,
    seed: u64,
    months: u32,
    loader: HistoryLoader,
    now: DateTime<Utc>,
    mut progress: impl FnMut(u64),
) -> Result<HistorySummary, StoreError> {
    let ts = now.naive_utc();
    let last = Period::containing(now.date_naive()).prev();
    let first = months
        .checked_sub(1)
        .and_then(|back| last.add_months(-i64::from(back)))
        .ok_or_else(|| StoreError::Config("--history-months must be at least 1".into()))?;
    if first.year() < FIRST_YEAR {
        return Err(StoreError::Config(format!(
            "{months} months back from {last} reach {first}, before {FIRST_YEAR}-01: the demo \
             regions have no parameters that early"
        )));
    }
    ensure_regions(conn, now.year(), ts)?;
    let employers: Vec<(String, Uuid, String)> = synthetic_employers(conn, seed, ts)?
        .into_iter()
        .map(|(r, id)| (r, id, id.to_string()))
        .collect();
    let mut params = std::collections::HashMap::new();
    for spec in REGIONS {
        let code = parse("region", RegionCode::parse(spec.code))?;
        for y in regions::years(conn, &code)? {
            params.insert((spec.code.to_owned(), y.year()), y);
        }
    }
    let persons = synthetic_persons(conn, seed)?;
    let plan = HistoryPlan {
        seed,
        first,
        months,
        employers,
        params,
        now: now.naive_utc(),
    };
    let (rows, loader) = match (&mut *conn, loader) {
        (DbConnection::Postgresql(pg), HistoryLoader::Auto) => (
            copy_history(pg, &plan, &persons, ts, &mut progress)?,
            "copy",
        ),
        _ => (
            insert_history(conn, &plan, &persons, ts, &mut progress)?,
            "insert",
        ),
    };
    Ok(HistorySummary {
        employers: plan.employers.len(),
        persons: persons.len() as u64,
        rows,
        first,
        last,
        loader,
    })
}

/// The generic path: multi-row INSERTs of 2,000 rows, 50 to a transaction.
fn insert_history(
    conn: &mut DbConnection,
    plan: &HistoryPlan,
    persons: &[HistoryPerson],
    ts: NaiveDateTime,
    progress: &mut impl FnMut(u64),
) -> Result<u64, StoreError> {
    let mut done = 0u64;
    let mut rows: Vec<NewContribution> =
        Vec::with_capacity(CONTRIBUTION_INSERT_ROWS * INSERTS_PER_TRANSACTION);
    let mut flush = |conn: &mut DbConnection, rows: &mut Vec<NewContribution>| {
        let n = conn.transaction(|c| {
            let mut n = 0;
            for chunk in rows.chunks(CONTRIBUTION_INSERT_ROWS) {
                n += contributions::insert_many(c, chunk, ts)?;
            }
            Ok::<_, StoreError>(n)
        })?;
        rows.clear();
        done += n as u64;
        progress(done);
        Ok::<_, StoreError>(())
    };
    for p in persons {
        let person_id = parse("person id", Uuid::parse_str(&p.id))?;
        plan.person_rows(p, |r| {
            rows.push(NewContribution {
                person_id,
                employer_id: r.employer_id.map(|(id, _)| id),
                period: r.period,
                insurance: r.insurance,
                declared_wage_fen: r.declared_wage_fen,
                amounts: r.amounts,
                status: ContributionStatus::Paid,
                paid_at: Some(r.paid_at),
            });
            Ok(())
        })?;
        if rows.len() >= CONTRIBUTION_INSERT_ROWS * INSERTS_PER_TRANSACTION {
            flush(conn, &mut rows)?;
        }
    }
    if !rows.is_empty() {
        flush(conn, &mut rows)?;
    }
    Ok(done)
}

/// The PostgreSQL path: `COPY contributions FROM STDIN` in the text format, 250 persons a
/// statement, 8 statements a transaction. A second thread formats the next statements' rows
/// while the server takes the current one.
fn copy_history(
    conn: &mut diesel::PgConnection,
    plan: &HistoryPlan,
    persons: &[HistoryPerson],
    ts: NaiveDateTime,
    progress: &mut impl FnMut(u64),
) -> Result<u64, StoreError> {
    use diesel::prelude::*;
    let stamp = ts.format("%Y-%m-%d %H:%M:%S%.6f").to_string();
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<String, StoreError>>(2);
        let stamp = &stamp;
        scope.spawn(move || {
            for chunk in persons.chunks(COPY_PERSONS) {
                let batch = copy_text(plan, chunk, stamp);
                let failed = batch.is_err();
                if tx.send(batch).is_err() || failed {
                    return;
                }
            }
        });
        let mut done = 0u64;
        let mut batches = rx.into_iter().peekable();
        while batches.peek().is_some() {
            conn.transaction(|conn| {
                for batch in batches.by_ref().take(COPIES_PER_TRANSACTION) {
                    let data = batch?;
                    let data = data.as_bytes();
                    let n = diesel::copy_from(crate::schema::contributions::table)
                        .from_raw_data(crate::schema::contributions::table, |sink| {
                            sink.write_all(data)
                                .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))
                        })
                        .execute(conn)?;
                    done += n as u64;
                    progress(done);
                }
                Ok::<_, StoreError>(())
            })?;
        }
        // Returning drops the receiver, so a producer still running stops at its next send.
        Ok(done)
    })
}

/// The rows of `persons` in `COPY`'s text format: tab-separated, `\N` for NULL (no generated
/// value needs escaping).
fn copy_text(
    plan: &HistoryPlan,
    persons: &[HistoryPerson],
    stamp: &str,
) -> Result<String, StoreError> {
    use std::fmt::Write as _;
    let mut buf = String::with_capacity(persons.len() * 360 * 220);
    for p in persons {
        plan.person_rows(p, |r| {
            let (employer_id, employer_key) = match r.employer_id {
                Some((_, text)) => (text, text),
                None => ("\\N", ""),
            };
            writeln!(
                buf,
                "{}\t{}\t{employer_id}\t{employer_key}\t{}\t{}\t{}\t{}\t{}\t{}\tpaid\t{}\t{stamp}\t{stamp}",
                Uuid::now_v7().hyphenated(),
                r.person_id,
                r.period,
                r.insurance.as_str(),
                r.declared_wage_fen,
                r.amounts.base.0,
                r.amounts.employer.0,
                r.amounts.employee.0,
                r.paid_at.format("%Y-%m-%d %H:%M:%S"),
            )
            .map_err(|e| StoreError::Config(format!("formatting a row: {e}")))
        })?;
    }
    Ok(buf)
}

/// A signed-in session of a synthetic person, for load tests.
#[derive(Debug, Clone)]
pub struct BenchSession {
    pub account_id: Uuid,
    pub session_id: Uuid,
    pub person_id: Uuid,
    pub card_number: String,
}

/// For the first `count` synthetic persons by card number: an app account each (phone
/// +86 139 0000 0000 onwards, all with the same given password hash), bound to the person, and a
/// fresh session. Accounts made by an earlier run are reused. One transaction. Only persons with
/// a synthetic card number (`S…`) are ever bound.
pub fn bench_sessions(
    conn: &mut DbConnection,
    vault: &PiiVault,
    count: u64,
    password_hash: &str,
    now: DateTime<Utc>,
) -> Result<Vec<BenchSession>, StoreError> {
    use crate::identity::{accounts, sessions};
    use crate::schema::persons::dsl;
    use diesel::prelude::*;
    use shebao_domain::identity::PhoneNumber;
    let ts = now.naive_utc();
    conn.transaction(|conn| {
        let persons: Vec<(String, String)> = dsl::persons
            .filter(dsl::card_number.like("S%"))
            .select((dsl::id, dsl::card_number))
            .order(dsl::card_number.asc())
            .limit(i64::try_from(count).unwrap_or(i64::MAX))
            .load(conn)?;
        if (persons.len() as u64) < count {
            return Err(StoreError::Config(format!(
                "{count} sessions asked for, but there are only {} synthetic persons \
                 (shebao seed --persons N)",
                persons.len()
            )));
        }
        let mut out = Vec::with_capacity(persons.len());
        for (i, (person_id, card_number)) in persons.into_iter().enumerate() {
            let person_id = parse("person id", Uuid::parse_str(&person_id))?;
            let phone = parse(
                "phone",
                PhoneNumber::parse(&format!("+86139{:08}", i % 100_000_000)),
            )?;
            let account =
                match accounts::find_by_phone_hash(conn, &accounts::phone_hash(vault, &phone))? {
                    Some(a) => a,
                    None => accounts::create(conn, vault, &phone, password_hash, ts)?
                        .map_err(|_| StoreError::Conflict("bench account phone".into()))?,
                };
            if account.person_id != Some(person_id) {
                accounts::bind(conn, account.id, person_id, ts)?.map_err(|c| {
                    StoreError::Conflict(format!(
                        "cannot bind bench account {} to synthetic person {card_number}: {c:?}",
                        phone.masked()
                    ))
                })?;
            }
            let session_id = sessions::create(
                conn,
                account.id,
                "shebao bench tokens",
                Some("127.0.0.1"),
                ts,
            )?;
            out.push(BenchSession {
                account_id: account.id,
                session_id,
                person_id,
                card_number,
            });
        }
        Ok(out)
    })
}

/// Writes a contributions import file (JSON Lines) for the bulk-loader benchmark: for the first
/// `persons` employed synthetic persons by card number, `months` months ending last month of
/// work-injury and maternity contributions, at the employer and wage of their last pension
/// month. The synthetic history holds neither insurance, so every line is a new row; sending the
/// file twice shows the unchanged path. Needs `synthetic_history` to have run. Returns the lines.
pub fn bench_import_lines(
    conn: &mut DbConnection,
    vault: &PiiVault,
    persons: u64,
    months: u32,
    now: DateTime<Utc>,
    out: &mut dyn std::io::Write,
) -> Result<u64, StoreError> {
    use crate::schema::{contributions as c, employers as e, persons as p};
    use diesel::prelude::*;
    if months == 0 {
        return Err(StoreError::Config("months must be at least 1".into()));
    }
    let last = Period::containing(now.date_naive()).prev();
    let first = last
        .add_months(-(i64::from(months) - 1))
        .ok_or_else(|| StoreError::Config(format!("{months} months reach before year 1")))?;
    let rows: Vec<(String, String, i64)> = c::table
        .inner_join(p::table)
        .inner_join(e::table)
        .filter(p::card_number.like("S%"))
        .filter(c::insurance.eq(InsuranceType::Pension.as_str()))
        .filter(c::period.eq(last.to_string()))
        .select((p::national_id_enc, e::credit_code, c::declared_wage_fen))
        .order(p::card_number.asc())
        .limit(i64::try_from(persons).unwrap_or(i64::MAX))
        .load(conn)?;
    if (rows.len() as u64) < persons {
        return Err(StoreError::Config(format!(
            "{persons} persons asked for, but only {} employed synthetic persons have a pension \
             month {last} (shebao seed --persons N --history-months M)",
            rows.len()
        )));
    }
    let io = |e: std::io::Error| StoreError::Config(format!("writing the import file: {e}"));
    let mut lines = 0u64;
    let stamp = |p: Period| {
        // Paid on the 15th of the next month, or just now for last month.
        let next = p.next();
        NaiveDate::from_ymd_opt(next.year(), next.month(), 15)
            .and_then(|d| d.and_hms_opt(2, 0, 0))
            .map_or(now, |t| t.and_utc().min(now))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    };
    for (enc, credit_code, wage) in rows {
        let national_id = vault
            .decrypt(&enc, persons::NATIONAL_ID_AAD)
            .map_err(|e| StoreError::Corrupt(format!("persons.national_id_enc: {e}")))?;
        let mut period = first;
        for _ in 0..months {
            let paid_at = stamp(period);
            for insurance in [InsuranceType::WorkInjury, InsuranceType::Maternity] {
                writeln!(
                    out,
                    r#"{{"national_id":"{national_id}","employer_credit_code":"{credit_code}","period":"{period}","insurance":"{}","declared_wage_fen":{wage},"paid_at":"{paid_at}"}}"#,
                    insurance.as_str(),
                )
                .map_err(io)?;
                lines += 1;
            }
            period = period.next();
        }
    }
    out.flush().map_err(io)?;
    Ok(lines)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::db::run_migrations;
    use diesel::prelude::*;
    use shebao_security::KeyMaterial;

    fn loaded(persons: u64, months: u32) -> (DbConnection, PiiVault, HistorySummary) {
        let mut conn = DbConnection::open(":memory:").unwrap();
        run_migrations(&mut conn).unwrap();
        let vault = PiiVault::new(&KeyMaterial::generate());
        let now = Utc::now();
        synthetic(&mut conn, &vault, persons, 7, now, |_| {}).unwrap();
        let h = synthetic_history(&mut conn, 7, months, HistoryLoader::Auto, now, |_| {}).unwrap();
        (conn, vault, h)
    }

    #[test]
    fn history_gives_every_person_paid_months_up_to_last_month() {
        use crate::schema::contributions::dsl as c;
        use crate::schema::persons::dsl as p;
        let (mut conn, _, h) = loaded(40, 14);
        let flexible: i64 = p::persons
            .filter(p::employment_status.eq("flexible"))
            .count()
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(h.persons, 40);
        assert_eq!(h.employers, 8);
        assert_eq!(h.first.add_months(13), Some(h.last));
        assert_eq!(h.last, Period::containing(Utc::now().date_naive()).prev());
        let expected = (40 - flexible as u64) * 14 * 3 + flexible as u64 * 14;
        assert_eq!(h.rows, expected);
        let stored: i64 = c::contributions.count().get_result(&mut conn).unwrap();
        assert_eq!(stored as u64, expected);
        let unpaid: i64 = c::contributions
            .filter(c::status.ne("paid").or(c::paid_at.is_null()))
            .count()
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(unpaid, 0);
        // Nobody paid in the future: last month's payment is dated no later than now.
        let future: i64 = c::contributions
            .filter(c::paid_at.gt(Utc::now().naive_utc()))
            .count()
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(future, 0);
        // Flexible persons pay pension only, with no employer.
        let flexible_rows: Vec<(String, Option<String>, i64)> = c::contributions
            .inner_join(p::persons)
            .filter(p::employment_status.eq("flexible"))
            .select((c::insurance, c::employer_id, c::employer_fen))
            .load(&mut conn)
            .unwrap();
        assert_eq!(flexible_rows.len() as i64, flexible * 14);
        assert!(flexible_rows
            .iter()
            .all(|(i, e, fen)| i == "pension" && e.is_none() && *fen == 0));
    }

    #[test]
    fn the_same_seed_gives_the_same_figures() {
        use crate::schema::contributions::dsl as c;
        type Figures = Vec<(String, String, String, i64, i64)>;
        let figures = |conn: &mut DbConnection| -> Figures {
            c::contributions
                .select((
                    c::person_id,
                    c::period,
                    c::insurance,
                    c::declared_wage_fen,
                    c::employee_fen,
                ))
                .order((c::person_id, c::period, c::insurance))
                .load(conn)
                .unwrap()
        };
        let (mut a, _, _) = loaded(25, 6);
        let (mut b, _, _) = loaded(25, 6);
        let a = figures(&mut a);
        assert!(!a.is_empty());
        assert!(a.iter().all(|r| r.4 > 0));
        assert_eq!(a, figures(&mut b));
    }

    #[test]
    fn history_reaching_before_the_parameters_is_refused() {
        let mut conn = DbConnection::open(":memory:").unwrap();
        run_migrations(&mut conn).unwrap();
        let now = Utc::now();
        let months = u32::try_from((now.year() - FIRST_YEAR + 1) * 12 + 1).unwrap();
        assert!(matches!(
            synthetic_history(&mut conn, 7, months, HistoryLoader::Auto, now, |_| {}),
            Err(StoreError::Config(_))
        ));
        assert!(matches!(
            synthetic_history(&mut conn, 7, 0, HistoryLoader::Auto, now, |_| {}),
            Err(StoreError::Config(_))
        ));
    }

    #[test]
    fn bench_sessions_bind_synthetic_persons_and_are_reusable() {
        use crate::identity::accounts;
        let (mut conn, vault, _) = loaded(10, 1);
        let now = Utc::now();
        let first = bench_sessions(&mut conn, &vault, 4, "$argon2id$fixed", now).unwrap();
        assert_eq!(first.len(), 4);
        assert_eq!(first[0].card_number, "S000007000000000");
        for s in &first {
            let account = accounts::get(&mut conn, s.account_id).unwrap().unwrap();
            assert_eq!(account.person_id, Some(s.person_id));
        }
        // A second run reuses the accounts and opens new sessions.
        let second = bench_sessions(&mut conn, &vault, 4, "$argon2id$fixed", now).unwrap();
        assert_eq!(second[3].account_id, first[3].account_id);
        assert_ne!(second[3].session_id, first[3].session_id);
        assert!(matches!(
            bench_sessions(&mut conn, &vault, 11, "$argon2id$fixed", now),
            Err(StoreError::Config(_))
        ));
    }

    #[test]
    fn the_bench_import_file_holds_new_keys_of_employed_persons() {
        let (mut conn, vault, _) = loaded(12, 3);
        let mut out = Vec::new();
        let lines = bench_import_lines(&mut conn, &vault, 3, 2, Utc::now(), &mut out).unwrap();
        assert_eq!(lines, 3 * 2 * 2);
        let text = String::from_utf8(out).unwrap();
        let rows: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(rows.len(), 12);
        let last = Period::containing(Utc::now().date_naive()).prev();
        for r in &rows {
            let id = NationalId::parse(r["national_id"].as_str().unwrap()).unwrap();
            assert!(persons::find_by_national_id(&mut conn, &vault, &id)
                .unwrap()
                .is_some());
            assert!(["work_injury", "maternity"].contains(&r["insurance"].as_str().unwrap()));
            let period = Period::parse(r["period"].as_str().unwrap()).unwrap();
            assert!(period == last || period == last.prev());
            let paid =
                chrono::DateTime::parse_from_rfc3339(r["paid_at"].as_str().unwrap()).unwrap();
            assert!(paid <= Utc::now());
        }
        // More persons than the population has: refused, nothing half-written.
        let mut out = Vec::new();
        assert!(matches!(
            bench_import_lines(&mut conn, &vault, 1_000, 1, Utc::now(), &mut out),
            Err(StoreError::Config(_))
        ));
        assert!(out.is_empty());
    }
}
