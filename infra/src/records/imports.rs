//! Bulk import of records sent by outside systems: monthly contributions, medical-account
//! transactions and benefit payments.
//!
//! The HTTP layer reads the body line by line and turns each line into a [`RawRow`] (column name →
//! text); [`Importer::parse`] makes the row's domain values, and [`Importer::apply`] writes a batch
//! of parsed rows with a handful of queries, inside the caller's transaction:
//!
//! 1. one query resolves the batch's persons by the blind index of their ID numbers (`IN (…)`);
//! 2. employers and region-year parameters come from an [`ImportContext`] cache that lives for the
//!    whole import (one query per batch for employers not seen yet, one per new region-year);
//! 3. one query finds the rows already stored under the batch's keys;
//! 4. one multi-row INSERT writes the new rows and one UPDATE per changed row rewrites it.
//!
//! Rows are idempotent on their key — contributions on (person, employer, period, insurance),
//! medical transactions and benefit payments on the sender's `external_id`. A row equal to what is
//! stored is *unchanged*; a new row or one that differs from the stored one is *accepted* (inserted
//! or updated). Rows of one batch are applied in file order, as if one after another: a later row
//! with the same key as an earlier one overrides it (*last wins*, and counts as accepted), and an
//! exact repeat counts as unchanged. So the counts do not depend on where the batches are cut.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDateTime, Timelike, Utc};
use diesel::prelude::*;
use shebao_domain::contribution::{
    compute_contribution, compute_flexible_pension, ContributionAmounts,
};
use shebao_domain::employer::CreditCode;
use shebao_domain::identity::NationalId;
use shebao_domain::insurance::InsuranceType;
use shebao_domain::money::Fen;
use shebao_domain::period::Period;
use shebao_domain::region::{RegionCode, YearParameters};
use shebao_domain::statement::ContributionStatus;
use shebao_domain::ValueError;
use shebao_security::PiiVault;
use uuid::Uuid;

use crate::db::{DbConnection, StoreError};
use crate::db_run;
use crate::records::contributions::{self, NewContribution};
use crate::registry::persons::NATIONAL_ID_INDEX;
use crate::registry::regions;
use crate::registry::{stored, stored_id};
use crate::schema::{
    benefit_payments, contributions as contribution_rows, employers, medical_transactions, persons,
};

/// Rows written per batch (and per transaction). Keeps every statement far below the backends'
/// bound-parameter limits (a multi-row INSERT of 1,000 contributions binds 14,000 values).
pub const BATCH_ROWS: usize = 1_000;

/// Longest text accepted in an `external_id`.
pub const MAX_EXTERNAL_ID_CHARS: usize = 128;
/// Longest institution code, institution name and adjustment reason.
pub const MAX_INSTITUTION_CODE_CHARS: usize = 64;
pub const MAX_NAME_CHARS: usize = 128;
pub const MAX_REASON_CHARS: usize = 200;

// ---------------------------------------------------------------------------------------------
// Outcomes
// ---------------------------------------------------------------------------------------------

/// Why one line of an import was not taken. [`RejectReason::code`] is the stable code clients see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RejectReason {
    /// The line is not one JSON object, or not one CSV record with the header's number of fields.
    MalformedLine(String),
    /// The line is longer than the import accepts.
    LineTooLong { max_bytes: usize },
    /// The line is not UTF-8 text.
    NotUtf8,
    /// A JSON line has a field the import does not know.
    UnknownField(String),
    /// A required field is absent or empty.
    Missing(&'static str),
    /// A field's value is invalid.
    Invalid {
        field: &'static str,
        error: ValueError,
    },
    /// No registered person has this ID number.
    UnknownPerson,
    /// No registered employer has this credit code.
    UnknownEmployer,
    /// The person's region has no contribution parameters for the period's year.
    NoYearParameters { region: String, year: i32 },
    /// Without an employer (flexible employment) only pension can be paid.
    EmployerRequired(InsuranceType),
    /// `total_fen` is not `account_paid_fen + fund_paid_fen + self_paid_fen`.
    TotalMismatch,
    /// Only one of `adjustment_reason` and `adjustment_delta_fen` is given.
    AdjustmentIncomplete,
    /// The `external_id` is stored for another person.
    ExternalIdConflict,
    /// The region is not one the registry holds (institutions).
    UnknownRegion,
}

impl RejectReason {
    pub fn code(&self) -> &'static str {
        match self {
            RejectReason::MalformedLine(_) => "malformed_line",
            RejectReason::LineTooLong { .. } => "line_too_long",
            RejectReason::NotUtf8 => "not_utf8",
            RejectReason::UnknownField(_) => "unknown_field",
            RejectReason::Missing(_) => "missing_field",
            RejectReason::Invalid { .. } => "invalid_field",
            RejectReason::UnknownPerson => "unknown_person",
            RejectReason::UnknownEmployer => "unknown_employer",
            RejectReason::NoYearParameters { .. } => "no_year_parameters",
            RejectReason::EmployerRequired(_) => "employer_required",
            RejectReason::TotalMismatch => "total_mismatch",
            RejectReason::AdjustmentIncomplete => "adjustment_incomplete",
            RejectReason::ExternalIdConflict => "external_id_conflict",
            RejectReason::UnknownRegion => "unknown_region",
        }
    }

    /// The field the reason is about, when it is about one.
    pub fn field(&self) -> Option<&str> {
        match self {
            RejectReason::UnknownField(f) => Some(f),
            RejectReason::Missing(f) | RejectReason::Invalid { field: f, .. } => Some(f),
            RejectReason::UnknownPerson => Some("national_id"),
            RejectReason::UnknownEmployer | RejectReason::EmployerRequired(_) => {
                Some("employer_credit_code")
            }
            RejectReason::NoYearParameters { .. } => Some("period"),
            RejectReason::TotalMismatch => Some("total_fen"),
            RejectReason::AdjustmentIncomplete => Some("adjustment_reason"),
            RejectReason::ExternalIdConflict => Some("external_id"),
            RejectReason::UnknownRegion => Some("region"),
            RejectReason::MalformedLine(_)
            | RejectReason::LineTooLong { .. }
            | RejectReason::NotUtf8 => None,
        }
    }
}

/// A rejected line: its 1-based line number in the body and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub line: u64,
    pub reason: RejectReason,
}

/// What one batch did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Rows inserted or updated.
    pub accepted: u64,
    /// Rows equal to what is stored.
    pub unchanged: u64,
    /// In line order.
    pub rejected: Vec<Rejection>,
}

// ---------------------------------------------------------------------------------------------
// Raw rows and field parsing
// ---------------------------------------------------------------------------------------------

/// One column of an import: its name (in JSON and in the CSV header) and whether a row must have it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub required: bool,
}

const fn required(name: &'static str) -> Column {
    Column {
        name,
        required: true,
    }
}

const fn optional(name: &'static str) -> Column {
    Column {
        name,
        required: false,
    }
}

/// Finds a column by name.
pub fn column<'a>(columns: &'a [Column], name: &str) -> Option<&'a Column> {
    columns.iter().find(|c| c.name == name)
}

/// One line's values by column, as text. Values are trimmed; an empty value is the same as an
/// absent one (CSV cannot tell them apart, so JSON does not either).
#[derive(Debug, Clone, Default)]
pub struct RawRow {
    values: Vec<(&'static str, String)>,
}

impl RawRow {
    pub fn new() -> RawRow {
        RawRow::default()
    }

    /// Sets a column's value (the last one set wins).
    pub fn set(&mut self, column: &'static str, value: &str) {
        let value = value.trim();
        self.values.retain(|(c, _)| *c != column);
        if !value.is_empty() {
            self.values.push((column, value.to_owned()));
        }
    }

    pub fn get(&self, column: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(c, _)| *c == column)
            .map(|(_, v)| v.as_str())
    }

    pub fn required<T>(
        &self,
        field: &'static str,
        parse: impl FnOnce(&str) -> Result<T, ValueError>,
    ) -> Result<T, RejectReason> {
        let value = self.get(field).ok_or(RejectReason::Missing(field))?;
        parse(value).map_err(|error| RejectReason::Invalid { field, error })
    }

    pub fn optional<T>(
        &self,
        field: &'static str,
        parse: impl FnOnce(&str) -> Result<T, ValueError>,
    ) -> Result<Option<T>, RejectReason> {
        self.get(field)
            .map(parse)
            .transpose()
            .map_err(|error| RejectReason::Invalid { field, error })
    }
}

/// A whole number of fen.
fn fen(s: &str) -> Result<i64, ValueError> {
    s.parse::<i64>().map_err(|_| ValueError::Format {
        expected: "a whole number of fen",
    })
}

fn non_negative_fen(s: &str) -> Result<i64, ValueError> {
    let v = fen(s)?;
    if v < 0 {
        return Err(ValueError::Rule("must not be negative"));
    }
    Ok(v)
}

/// An RFC 3339 instant, kept as UTC to the microsecond (what both databases store), so a
/// re-import of the same text compares equal to the stored value.
pub fn parse_instant(s: &str) -> Result<NaiveDateTime, ValueError> {
    const FORMAT: ValueError = ValueError::Format {
        expected: "an RFC 3339 time such as 2024-03-15T10:00:00+08:00",
    };
    let t = DateTime::parse_from_rfc3339(s).map_err(|_| FORMAT)?;
    let t = t.with_timezone(&Utc).naive_utc();
    let micros = t.nanosecond() / 1_000 * 1_000;
    let t = t.with_nanosecond(micros).ok_or(FORMAT)?;
    if !(1900..=9999).contains(&chrono::Datelike::year(&t)) {
        return Err(ValueError::Date);
    }
    Ok(t)
}

/// Printable text of at most `max` characters.
pub fn text(max: usize) -> impl Fn(&str) -> Result<String, ValueError> {
    move |s: &str| {
        if s.chars().count() > max {
            return Err(ValueError::TooLong { max });
        }
        shebao_domain::text::without_control(s).map(str::to_owned)
    }
}

// ---------------------------------------------------------------------------------------------
// The shared machinery
// ---------------------------------------------------------------------------------------------

/// What lives for the whole of one import: the vault for the blind index and the caches of
/// employers (by credit code) and region-year parameters.
pub struct ImportContext {
    vault: PiiVault,
    employers: HashMap<String, Option<Uuid>>,
    years: HashMap<(String, i32), Option<YearParameters>>,
}

impl ImportContext {
    pub fn new(vault: PiiVault) -> ImportContext {
        ImportContext {
            vault,
            employers: HashMap::new(),
            years: HashMap::new(),
        }
    }

    fn hash(&self, id: &NationalId) -> String {
        self.vault.blind_index(NATIONAL_ID_INDEX, id.expose())
    }

    /// Loads the employers of `codes` not looked up yet, in one query.
    fn load_employers<'a>(
        &mut self,
        conn: &mut DbConnection,
        codes: impl Iterator<Item = &'a CreditCode>,
    ) -> Result<(), StoreError> {
        let missing: Vec<String> = codes
            .map(|c| c.as_str())
            .filter(|c| !self.employers.contains_key(*c))
            .collect::<HashSet<_>>()
            .into_iter()
            .map(str::to_owned)
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let found: Vec<(String, String)> = employers::table
            .filter(employers::credit_code.eq_any(&missing))
            .select((employers::credit_code, employers::id))
            .load(conn)?;
        for code in missing {
            self.employers.entry(code).or_insert(None);
        }
        for (code, id) in found {
            self.employers
                .insert(code, Some(stored_id("employers.id", &id)?));
        }
        Ok(())
    }

    fn employer(&self, code: &CreditCode) -> Option<Uuid> {
        self.employers.get(code.as_str()).copied().flatten()
    }

    fn year(
        &mut self,
        conn: &mut DbConnection,
        region: &str,
        year: i32,
    ) -> Result<Option<&YearParameters>, StoreError> {
        let key = (region.to_owned(), year);
        if !self.years.contains_key(&key) {
            let code = stored("persons.region_code", RegionCode::parse(region))?;
            let params = regions::year(conn, &code, year)?;
            self.years.insert(key.clone(), params);
        }
        Ok(self.years.get(&key).and_then(Option::as_ref))
    }
}

/// A registered person as an import needs them.
struct PersonRef {
    id: String,
    region: String,
}

/// The persons of a batch by blind-index hash, in one query.
fn persons_by_hash(
    conn: &mut DbConnection,
    hashes: &[String],
) -> Result<HashMap<String, PersonRef>, StoreError> {
    let distinct: Vec<&String> = hashes.iter().collect::<HashSet<_>>().into_iter().collect();
    let rows: Vec<(String, String, String)> = persons::table
        .filter(persons::national_id_hash.eq_any(distinct))
        .select((persons::national_id_hash, persons::id, persons::region_code))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(hash, id, region)| (hash, PersonRef { id, region }))
        .collect())
}

/// One key's state while a batch is applied in order.
struct Slot<K, V> {
    key: K,
    /// The stored row's id; `None` while the key is new.
    id: Option<String>,
    /// The person the stored row (or the batch's first row) belongs to.
    owner: String,
    /// What is stored, if anything.
    stored: Option<V>,
    current: V,
}

/// Applies rows in order to the known state of their keys and counts what happens.
struct Ledger<K, V> {
    /// In first-seen order.
    slots: Vec<Slot<K, V>>,
    index: HashMap<K, usize>,
    outcome: BatchOutcome,
}

impl<K: std::hash::Hash + Eq + Clone, V: PartialEq + Clone> Ledger<K, V> {
    fn new() -> Self {
        Ledger {
            slots: Vec::new(),
            index: HashMap::new(),
            outcome: BatchOutcome::default(),
        }
    }

    /// Seeds a stored row.
    fn stored(&mut self, key: K, id: String, owner: String, values: V) -> Result<(), StoreError> {
        if self.index.contains_key(&key) {
            return Err(StoreError::Corrupt(
                "two stored rows share an import key".into(),
            ));
        }
        self.index.insert(key.clone(), self.slots.len());
        self.slots.push(Slot {
            key,
            id: Some(id),
            owner,
            stored: Some(values.clone()),
            current: values,
        });
        Ok(())
    }

    /// Applies one row: new → accepted, equal → unchanged, different → accepted (an update);
    /// a key owned by another person is rejected.
    fn apply(&mut self, line: u64, key: K, owner: &str, values: V) {
        match self.index.get(&key) {
            None => {
                self.index.insert(key.clone(), self.slots.len());
                self.slots.push(Slot {
                    key,
                    id: None,
                    owner: owner.to_owned(),
                    stored: None,
                    current: values,
                });
                self.outcome.accepted += 1;
            }
            Some(&i) => {
                let slot = &mut self.slots[i];
                if slot.owner != owner {
                    self.outcome.rejected.push(Rejection {
                        line,
                        reason: RejectReason::ExternalIdConflict,
                    });
                } else if slot.current == values {
                    self.outcome.unchanged += 1;
                } else {
                    slot.current = values;
                    self.outcome.accepted += 1;
                }
            }
        }
    }

    fn reject(&mut self, line: u64, reason: RejectReason) {
        self.outcome.rejected.push(Rejection { line, reason });
    }

    /// The rows to insert (key, owner, values), the stored rows to update (id, values) and the
    /// outcome.
    #[allow(clippy::type_complexity)]
    fn finish(self) -> (Vec<(K, String, V)>, Vec<(String, V)>, BatchOutcome) {
        let mut inserts = Vec::new();
        let mut updates = Vec::new();
        for slot in self.slots {
            match (slot.id, slot.stored) {
                (None, _) => inserts.push((slot.key, slot.owner, slot.current)),
                (Some(id), Some(stored)) if stored != slot.current => {
                    updates.push((id, slot.current))
                }
                _ => {}
            }
        }
        let mut outcome = self.outcome;
        outcome.rejected.sort_by_key(|r| r.line);
        (inserts, updates, outcome)
    }
}

/// One kind of import: its columns, how a raw row becomes a typed row, and how a batch is written.
pub trait Importer: 'static {
    type Row: Send + Sync + 'static;
    /// The audit action, e.g. `contributions.import`.
    const ACTION: &'static str;
    /// The columns in their documented order.
    const COLUMNS: &'static [Column];

    fn parse(raw: &RawRow) -> Result<Self::Row, RejectReason>;

    /// What the row's idempotency key hangs on: rows with the same value must be written in
    /// file order by one writer; rows with different values may be written side by side.
    fn lane_key(row: &Self::Row) -> &str;

    /// Writes a batch of `(line, row)` in file order. Runs inside the caller's transaction.
    fn apply(
        conn: &mut DbConnection,
        ctx: &mut ImportContext,
        rows: &[(u64, Self::Row)],
        now: NaiveDateTime,
    ) -> Result<BatchOutcome, StoreError>;
}

// ---------------------------------------------------------------------------------------------
// Contributions
// ---------------------------------------------------------------------------------------------

/// Monthly contribution declarations.
pub struct Contributions;

/// One contribution line. Status is `paid` when `paid_at` is given and `due` otherwise.
#[derive(Debug, Clone)]
pub struct ContributionRow {
    pub national_id: NationalId,
    /// `None` for flexible employment (the person pays pension alone).
    pub employer: Option<CreditCode>,
    pub period: Period,
    pub insurance: InsuranceType,
    /// The declared wage (for flexible employment, the chosen base), before clamping.
    pub declared_wage_fen: i64,
    pub paid_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct ContributionValues {
    declared_wage_fen: i64,
    amounts: ContributionAmounts,
    status: ContributionStatus,
    paid_at: Option<NaiveDateTime>,
}

/// (person, employer, period, insurance): the unique key of a stored contribution.
type ContributionKey = (Uuid, Option<Uuid>, Period, InsuranceType);

/// A stored contribution under one of a batch's keys, as the import compares it.
#[derive(Queryable, Selectable)]
#[diesel(table_name = contribution_rows)]
struct StoredContribution {
    id: String,
    person_id: String,
    employer_id: Option<String>,
    period: String,
    insurance: String,
    declared_wage_fen: i64,
    base_fen: i64,
    employer_fen: i64,
    employee_fen: i64,
    status: String,
    paid_at: Option<NaiveDateTime>,
}

impl StoredContribution {
    fn key(&self) -> Result<ContributionKey, StoreError> {
        Ok((
            stored_id("contributions.person_id", &self.person_id)?,
            self.employer_id
                .as_deref()
                .map(|e| stored_id("contributions.employer_id", e))
                .transpose()?,
            stored("contributions.period", Period::parse(&self.period))?,
            stored(
                "contributions.insurance",
                InsuranceType::parse(&self.insurance),
            )?,
        ))
    }

    fn values(&self) -> Result<ContributionValues, StoreError> {
        Ok(ContributionValues {
            declared_wage_fen: self.declared_wage_fen,
            amounts: ContributionAmounts {
                base: Fen(self.base_fen),
                employer: Fen(self.employer_fen),
                employee: Fen(self.employee_fen),
            },
            status: contributions::stored_status(&self.status)?,
            paid_at: self.paid_at,
        })
    }
}

/// A line resolved against the registry: its key and what it declares.
type ResolvedContribution = (u64, ContributionKey, ContributionValues);

impl Contributions {
    /// Resolves one line against the registry (person, employer, the region's parameters for
    /// the year) and computes its amounts; `Err` of the outer result is a storage failure, of
    /// the inner one why the line is rejected.
    fn resolve(
        conn: &mut DbConnection,
        ctx: &mut ImportContext,
        person: Option<&PersonRef>,
        row: &ContributionRow,
    ) -> Result<Result<(ContributionKey, ContributionValues), RejectReason>, StoreError> {
        let Some(person) = person else {
            return Ok(Err(RejectReason::UnknownPerson));
        };
        let employer = match &row.employer {
            Some(code) => match ctx.employer(code) {
                Some(id) => Some(id),
                None => return Ok(Err(RejectReason::UnknownEmployer)),
            },
            None if row.insurance != InsuranceType::Pension => {
                return Ok(Err(RejectReason::EmployerRequired(row.insurance)))
            }
            None => None,
        };
        let year = row.period.year();
        let Some(params) = ctx.year(conn, &person.region, year)? else {
            return Ok(Err(RejectReason::NoYearParameters {
                region: person.region.clone(),
                year,
            }));
        };
        let wage = Fen(row.declared_wage_fen);
        let amounts = match employer {
            Some(_) => compute_contribution(params, row.insurance, wage),
            None => compute_flexible_pension(params, wage),
        };
        let Some(amounts) = amounts else {
            return Ok(Err(RejectReason::Invalid {
                field: "declared_wage_fen",
                error: ValueError::Rule("is too large"),
            }));
        };
        let person_id = stored_id("persons.id", &person.id)?;
        let values = ContributionValues {
            declared_wage_fen: row.declared_wage_fen,
            amounts,
            status: if row.paid_at.is_some() {
                ContributionStatus::Paid
            } else {
                ContributionStatus::Due
            },
            paid_at: row.paid_at,
        };
        Ok(Ok((
            (person_id, employer, row.period, row.insurance),
            values,
        )))
    }

    /// Seeds the ledger with what is stored under the batch's keys: one query over the batch's
    /// persons, periods and insurances (all three in the unique index, so it reads little
    /// beyond the keys).
    fn load_stored(
        conn: &mut DbConnection,
        resolved: &[ResolvedContribution],
        ledger: &mut Ledger<ContributionKey, ContributionValues>,
    ) -> Result<(), StoreError> {
        if resolved.is_empty() {
            return Ok(());
        }
        fn distinct<T: std::hash::Hash + Eq>(it: impl Iterator<Item = T>) -> Vec<T> {
            it.collect::<HashSet<_>>().into_iter().collect()
        }
        let person_ids = distinct(resolved.iter().map(|(_, k, _)| k.0.to_string()));
        let periods = distinct(resolved.iter().map(|(_, k, _)| k.2.to_string()));
        let insurances = distinct(resolved.iter().map(|(_, k, _)| k.3.as_str()));
        let wanted: HashSet<&ContributionKey> = resolved.iter().map(|(_, k, _)| k).collect();
        let existing: Vec<StoredContribution> = contribution_rows::table
            .filter(contribution_rows::person_id.eq_any(&person_ids))
            .filter(contribution_rows::period.eq_any(&periods))
            .filter(contribution_rows::insurance.eq_any(&insurances))
            .select(StoredContribution::as_select())
            .load(conn)?;
        for row in existing {
            let key = row.key()?;
            if wanted.contains(&key) {
                let values = row.values()?;
                ledger.stored(key, row.id, row.person_id, values)?;
            }
        }
        Ok(())
    }

    /// Inserts the new keys and updates the stored rows that changed.
    fn write(
        conn: &mut DbConnection,
        inserts: Vec<(ContributionKey, String, ContributionValues)>,
        updates: Vec<(String, ContributionValues)>,
        now: NaiveDateTime,
    ) -> Result<(), StoreError> {
        let new_rows: Vec<NewContribution> = inserts
            .into_iter()
            .map(
                |((person_id, employer_id, period, insurance), _, v)| NewContribution {
                    person_id,
                    employer_id,
                    period,
                    insurance,
                    declared_wage_fen: v.declared_wage_fen,
                    amounts: v.amounts,
                    status: v.status,
                    paid_at: v.paid_at,
                },
            )
            .collect();
        if !new_rows.is_empty() {
            contributions::insert_many(conn, &new_rows, now)?;
        }
        for (id, v) in updates {
            diesel::update(contribution_rows::table.find(id))
                .set((
                    contribution_rows::declared_wage_fen.eq(v.declared_wage_fen),
                    contribution_rows::base_fen.eq(v.amounts.base.0),
                    contribution_rows::employer_fen.eq(v.amounts.employer.0),
                    contribution_rows::employee_fen.eq(v.amounts.employee.0),
                    contribution_rows::status.eq(v.status.as_str()),
                    contribution_rows::paid_at.eq(v.paid_at),
                    contribution_rows::updated_at.eq(now),
                ))
                .execute(conn)?;
        }
        Ok(())
    }
}

impl Importer for Contributions {
    type Row = ContributionRow;
    const ACTION: &'static str = "contributions.import";
    const COLUMNS: &'static [Column] = &[
        required("national_id"),
        optional("employer_credit_code"),
        required("period"),
        required("insurance"),
        required("declared_wage_fen"),
        optional("paid_at"),
    ];

    /// The person: every key (person, employer, period, insurance) belongs to one.
    fn lane_key(row: &ContributionRow) -> &str {
        row.national_id.expose()
    }

    fn parse(raw: &RawRow) -> Result<ContributionRow, RejectReason> {
        Ok(ContributionRow {
            national_id: raw.required("national_id", NationalId::parse)?,
            employer: raw.optional("employer_credit_code", CreditCode::parse)?,
            period: raw.required("period", Period::parse)?,
            insurance: raw.required("insurance", InsuranceType::parse)?,
            declared_wage_fen: raw.required("declared_wage_fen", non_negative_fen)?,
            paid_at: raw.optional("paid_at", parse_instant)?,
        })
    }

    /// Resolves every line, compares it with what is stored under its key, and writes the
    /// new and changed rows.
    fn apply(
        conn: &mut DbConnection,
        ctx: &mut ImportContext,
        rows: &[(u64, ContributionRow)],
        now: NaiveDateTime,
    ) -> Result<BatchOutcome, StoreError> {
        let hashes: Vec<String> = rows.iter().map(|(_, r)| ctx.hash(&r.national_id)).collect();
        let persons = persons_by_hash(conn, &hashes)?;
        ctx.load_employers(conn, rows.iter().filter_map(|(_, r)| r.employer.as_ref()))?;

        let mut ledger: Ledger<ContributionKey, ContributionValues> = Ledger::new();
        let mut resolved: Vec<ResolvedContribution> = Vec::with_capacity(rows.len());
        for ((line, row), hash) in rows.iter().zip(&hashes) {
            match Self::resolve(conn, ctx, persons.get(hash), row)? {
                Ok((key, values)) => resolved.push((*line, key, values)),
                Err(reason) => ledger.reject(*line, reason),
            }
        }
        Self::load_stored(conn, &resolved, &mut ledger)?;
        for (line, key, values) in resolved {
            let owner = key.0.to_string();
            ledger.apply(line, key, &owner, values);
        }
        let (inserts, updates, outcome) = ledger.finish();
        Self::write(conn, inserts, updates, now)?;
        Ok(outcome)
    }
}

// ---------------------------------------------------------------------------------------------
// Medical transactions
// ---------------------------------------------------------------------------------------------

pub use shebao_domain::accounts::MedicalKind;

/// Medical-account transactions from hospitals and pharmacies.
pub struct MedicalTransactions;

#[derive(Debug, Clone)]
pub struct MedicalRow {
    pub external_id: String,
    pub national_id: NationalId,
    pub occurred_at: NaiveDateTime,
    pub institution_code: String,
    pub institution_name: String,
    pub kind: MedicalKind,
    pub total_fen: i64,
    pub account_paid_fen: i64,
    pub fund_paid_fen: i64,
    pub self_paid_fen: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct MedicalValues {
    external_id: String,
    occurred_at: NaiveDateTime,
    institution_code: String,
    institution_name: String,
    kind: String,
    total_fen: i64,
    account_paid_fen: i64,
    fund_paid_fen: i64,
    self_paid_fen: i64,
}

#[derive(Insertable)]
#[diesel(table_name = medical_transactions)]
struct MedicalInsert {
    id: String,
    external_id: String,
    person_id: String,
    occurred_at: NaiveDateTime,
    institution_code: String,
    institution_name: String,
    kind: String,
    total_fen: i64,
    account_paid_fen: i64,
    fund_paid_fen: i64,
    self_paid_fen: i64,
    created_at: NaiveDateTime,
}

type StoredMedical = (
    String,
    String,
    String,
    NaiveDateTime,
    String,
    String,
    String,
    i64,
    i64,
    i64,
    i64,
);

impl Importer for MedicalTransactions {
    type Row = MedicalRow;
    const ACTION: &'static str = "medical_transactions.import";
    const COLUMNS: &'static [Column] = &[
        required("external_id"),
        required("national_id"),
        required("occurred_at"),
        required("institution_code"),
        required("institution_name"),
        required("kind"),
        required("total_fen"),
        required("account_paid_fen"),
        required("fund_paid_fen"),
        required("self_paid_fen"),
    ];

    /// The external id, the key itself (whose owner the rows are checked against).
    fn lane_key(row: &MedicalRow) -> &str {
        &row.external_id
    }

    fn parse(raw: &RawRow) -> Result<MedicalRow, RejectReason> {
        let row = MedicalRow {
            external_id: raw.required("external_id", text(MAX_EXTERNAL_ID_CHARS))?,
            national_id: raw.required("national_id", NationalId::parse)?,
            occurred_at: raw.required("occurred_at", parse_instant)?,
            institution_code: raw.required("institution_code", text(MAX_INSTITUTION_CODE_CHARS))?,
            institution_name: raw.required("institution_name", text(MAX_NAME_CHARS))?,
            kind: raw.required("kind", MedicalKind::parse)?,
            total_fen: raw.required("total_fen", non_negative_fen)?,
            account_paid_fen: raw.required("account_paid_fen", non_negative_fen)?,
            fund_paid_fen: raw.required("fund_paid_fen", non_negative_fen)?,
            self_paid_fen: raw.required("self_paid_fen", non_negative_fen)?,
        };
        let parts = row
            .account_paid_fen
            .checked_add(row.fund_paid_fen)
            .and_then(|s| s.checked_add(row.self_paid_fen));
        if parts != Some(row.total_fen) {
            return Err(RejectReason::TotalMismatch);
        }
        Ok(row)
    }

    fn apply(
        conn: &mut DbConnection,
        ctx: &mut ImportContext,
        rows: &[(u64, MedicalRow)],
        now: NaiveDateTime,
    ) -> Result<BatchOutcome, StoreError> {
        let hashes: Vec<String> = rows.iter().map(|(_, r)| ctx.hash(&r.national_id)).collect();
        let persons = persons_by_hash(conn, &hashes)?;
        let ids: Vec<&str> = rows
            .iter()
            .map(|(_, r)| r.external_id.as_str())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let existing: Vec<StoredMedical> = medical_transactions::table
            .filter(medical_transactions::external_id.eq_any(ids))
            .select((
                medical_transactions::id,
                medical_transactions::person_id,
                medical_transactions::external_id,
                medical_transactions::occurred_at,
                medical_transactions::institution_code,
                medical_transactions::institution_name,
                medical_transactions::kind,
                medical_transactions::total_fen,
                medical_transactions::account_paid_fen,
                medical_transactions::fund_paid_fen,
                medical_transactions::self_paid_fen,
            ))
            .load(conn)?;
        let mut ledger: Ledger<String, MedicalValues> = Ledger::new();
        for (
            id,
            person,
            external_id,
            occurred_at,
            institution_code,
            institution_name,
            kind,
            total,
            account,
            fund,
            own,
        ) in existing
        {
            let values = MedicalValues {
                external_id: external_id.clone(),
                occurred_at,
                institution_code,
                institution_name,
                kind,
                total_fen: total,
                account_paid_fen: account,
                fund_paid_fen: fund,
                self_paid_fen: own,
            };
            ledger.stored(external_id, id, person, values)?;
        }
        for ((line, row), hash) in rows.iter().zip(&hashes) {
            let Some(person) = persons.get(hash) else {
                ledger.reject(*line, RejectReason::UnknownPerson);
                continue;
            };
            let values = MedicalValues {
                external_id: row.external_id.clone(),
                occurred_at: row.occurred_at,
                institution_code: row.institution_code.clone(),
                institution_name: row.institution_name.clone(),
                kind: row.kind.as_str().to_owned(),
                total_fen: row.total_fen,
                account_paid_fen: row.account_paid_fen,
                fund_paid_fen: row.fund_paid_fen,
                self_paid_fen: row.self_paid_fen,
            };
            ledger.apply(*line, row.external_id.clone(), &person.id, values);
        }
        let (inserts, updates, outcome) = ledger.finish();
        let new_rows: Vec<MedicalInsert> = inserts
            .into_iter()
            .map(|(_, person_id, v)| MedicalInsert {
                id: Uuid::now_v7().to_string(),
                external_id: v.external_id,
                person_id,
                occurred_at: v.occurred_at,
                institution_code: v.institution_code,
                institution_name: v.institution_name,
                kind: v.kind,
                total_fen: v.total_fen,
                account_paid_fen: v.account_paid_fen,
                fund_paid_fen: v.fund_paid_fen,
                self_paid_fen: v.self_paid_fen,
                created_at: now,
            })
            .collect();
        if !new_rows.is_empty() {
            db_run!(conn, |c| diesel::insert_into(medical_transactions::table)
                .values(&new_rows)
                .execute(c))?;
        }
        for (id, v) in updates {
            diesel::update(medical_transactions::table.find(id))
                .set((
                    medical_transactions::occurred_at.eq(v.occurred_at),
                    medical_transactions::institution_code.eq(v.institution_code),
                    medical_transactions::institution_name.eq(v.institution_name),
                    medical_transactions::kind.eq(v.kind),
                    medical_transactions::total_fen.eq(v.total_fen),
                    medical_transactions::account_paid_fen.eq(v.account_paid_fen),
                    medical_transactions::fund_paid_fen.eq(v.fund_paid_fen),
                    medical_transactions::self_paid_fen.eq(v.self_paid_fen),
                ))
                .execute(conn)?;
        }
        Ok(outcome)
    }
}

// ---------------------------------------------------------------------------------------------
// Benefit payments
// ---------------------------------------------------------------------------------------------

pub use shebao_domain::benefits::BenefitKind;

/// Pension and unemployment-benefit payments.
pub struct BenefitPayments;

#[derive(Debug, Clone)]
pub struct BenefitRow {
    pub external_id: String,
    pub national_id: NationalId,
    pub kind: BenefitKind,
    pub period: Period,
    pub amount_fen: i64,
    pub paid_at: NaiveDateTime,
    /// A yearly adjustment included in the amount: its reason and its delta (fen, may be negative).
    pub adjustment: Option<(String, i64)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct BenefitValues {
    external_id: String,
    kind: String,
    period: String,
    amount_fen: i64,
    paid_at: NaiveDateTime,
    adjustment_reason: Option<String>,
    adjustment_delta_fen: Option<i64>,
}

#[derive(Insertable)]
#[diesel(table_name = benefit_payments)]
struct BenefitInsert {
    id: String,
    external_id: String,
    person_id: String,
    kind: String,
    period: String,
    amount_fen: i64,
    paid_at: NaiveDateTime,
    adjustment_reason: Option<String>,
    adjustment_delta_fen: Option<i64>,
    created_at: NaiveDateTime,
}

type StoredBenefit = (
    String,
    String,
    String,
    String,
    String,
    i64,
    NaiveDateTime,
    Option<String>,
    Option<i64>,
);

impl Importer for BenefitPayments {
    type Row = BenefitRow;
    const ACTION: &'static str = "benefit_payments.import";
    const COLUMNS: &'static [Column] = &[
        required("external_id"),
        required("national_id"),
        required("kind"),
        required("period"),
        required("amount_fen"),
        required("paid_at"),
        optional("adjustment_reason"),
        optional("adjustment_delta_fen"),
    ];

    /// The external id, the key itself (whose owner the rows are checked against).
    fn lane_key(row: &BenefitRow) -> &str {
        &row.external_id
    }

    fn parse(raw: &RawRow) -> Result<BenefitRow, RejectReason> {
        let external_id = raw.required("external_id", text(MAX_EXTERNAL_ID_CHARS))?;
        let national_id = raw.required("national_id", NationalId::parse)?;
        let kind = raw.required("kind", BenefitKind::parse)?;
        let period = raw.required("period", Period::parse)?;
        let amount_fen = raw.required("amount_fen", non_negative_fen)?;
        let paid_at = raw.required("paid_at", parse_instant)?;
        let reason = raw.optional("adjustment_reason", text(MAX_REASON_CHARS))?;
        let delta = raw.optional("adjustment_delta_fen", fen)?;
        let adjustment = match (reason, delta) {
            (Some(r), Some(d)) => Some((r, d)),
            (None, None) => None,
            _ => return Err(RejectReason::AdjustmentIncomplete),
        };
        Ok(BenefitRow {
            external_id,
            national_id,
            kind,
            period,
            amount_fen,
            paid_at,
            adjustment,
        })
    }

    fn apply(
        conn: &mut DbConnection,
        ctx: &mut ImportContext,
        rows: &[(u64, BenefitRow)],
        now: NaiveDateTime,
    ) -> Result<BatchOutcome, StoreError> {
        let hashes: Vec<String> = rows.iter().map(|(_, r)| ctx.hash(&r.national_id)).collect();
        let persons = persons_by_hash(conn, &hashes)?;
        let ids: Vec<&str> = rows
            .iter()
            .map(|(_, r)| r.external_id.as_str())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let existing: Vec<StoredBenefit> = benefit_payments::table
            .filter(benefit_payments::external_id.eq_any(ids))
            .select((
                benefit_payments::id,
                benefit_payments::person_id,
                benefit_payments::external_id,
                benefit_payments::kind,
                benefit_payments::period,
                benefit_payments::amount_fen,
                benefit_payments::paid_at,
                benefit_payments::adjustment_reason,
                benefit_payments::adjustment_delta_fen,
            ))
            .load(conn)?;
        let mut ledger: Ledger<String, BenefitValues> = Ledger::new();
        for (id, person, external_id, kind, period, amount, paid_at, reason, delta) in existing {
            let values = BenefitValues {
                external_id: external_id.clone(),
                kind,
                period,
                amount_fen: amount,
                paid_at,
                adjustment_reason: reason,
                adjustment_delta_fen: delta,
            };
            ledger.stored(external_id, id, person, values)?;
        }
        for ((line, row), hash) in rows.iter().zip(&hashes) {
            let Some(person) = persons.get(hash) else {
                ledger.reject(*line, RejectReason::UnknownPerson);
                continue;
            };
            let values = BenefitValues {
                external_id: row.external_id.clone(),
                kind: row.kind.as_str().to_owned(),
                period: row.period.to_string(),
                amount_fen: row.amount_fen,
                paid_at: row.paid_at,
                adjustment_reason: row.adjustment.as_ref().map(|(r, _)| r.clone()),
                adjustment_delta_fen: row.adjustment.as_ref().map(|(_, d)| *d),
            };
            ledger.apply(*line, row.external_id.clone(), &person.id, values);
        }
        let (inserts, updates, outcome) = ledger.finish();
        let new_rows: Vec<BenefitInsert> = inserts
            .into_iter()
            .map(|(_, person_id, v)| BenefitInsert {
                id: Uuid::now_v7().to_string(),
                external_id: v.external_id,
                person_id,
                kind: v.kind,
                period: v.period,
                amount_fen: v.amount_fen,
                paid_at: v.paid_at,
                adjustment_reason: v.adjustment_reason,
                adjustment_delta_fen: v.adjustment_delta_fen,
                created_at: now,
            })
            .collect();
        if !new_rows.is_empty() {
            db_run!(conn, |c| diesel::insert_into(benefit_payments::table)
                .values(&new_rows)
                .execute(c))?;
        }
        for (id, v) in updates {
            diesel::update(benefit_payments::table.find(id))
                .set((
                    benefit_payments::kind.eq(v.kind),
                    benefit_payments::period.eq(v.period),
                    benefit_payments::amount_fen.eq(v.amount_fen),
                    benefit_payments::paid_at.eq(v.paid_at),
                    benefit_payments::adjustment_reason.eq(v.adjustment_reason),
                    benefit_payments::adjustment_delta_fen.eq(v.adjustment_delta_fen),
                ))
                .execute(conn)?;
        }
        Ok(outcome)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn raw(pairs: &[(&'static str, &str)]) -> RawRow {
        let mut r = RawRow::new();
        for (k, v) in pairs {
            r.set(k, v);
        }
        r
    }

    #[test]
    fn instants_are_utc_to_the_microsecond() {
        let t = parse_instant("2024-03-15T10:00:00.123456789+08:00").unwrap();
        assert_eq!(t.to_string(), "2024-03-15 02:00:00.123456");
        assert_eq!(
            parse_instant("2024-03-15"),
            Err(ValueError::Format {
                expected: "an RFC 3339 time such as 2024-03-15T10:00:00+08:00"
            })
        );
    }

    #[test]
    fn empty_values_are_absent() {
        let r = raw(&[("employer_credit_code", "  "), ("period", " 2024-01 ")]);
        assert_eq!(r.get("employer_credit_code"), None);
        assert_eq!(r.get("period"), Some("2024-01"));
    }

    #[test]
    fn medical_totals_must_add_up() {
        let mut pairs = vec![
            ("external_id", "H-1"),
            ("national_id", "11010519491231002X"),
            ("occurred_at", "2024-03-15T10:00:00+08:00"),
            ("institution_code", "H001"),
            ("institution_name", "某医院"),
            ("kind", "outpatient"),
            ("total_fen", "1000"),
            ("account_paid_fen", "300"),
            ("fund_paid_fen", "500"),
            ("self_paid_fen", "200"),
        ];
        assert!(MedicalTransactions::parse(&raw(&pairs)).is_ok());
        pairs[9] = ("self_paid_fen", "201");
        assert_eq!(
            MedicalTransactions::parse(&raw(&pairs)).err(),
            Some(RejectReason::TotalMismatch)
        );
        pairs[9] = ("self_paid_fen", "-1");
        assert_eq!(
            MedicalTransactions::parse(&raw(&pairs))
                .err()
                .map(|r| r.code()),
            Some("invalid_field")
        );
    }

    #[test]
    fn adjustments_come_in_pairs() {
        let mut pairs = vec![
            ("external_id", "P-1"),
            ("national_id", "11010519491231002X"),
            ("kind", "pension"),
            ("period", "2024-01"),
            ("amount_fen", "350000"),
            ("paid_at", "2024-01-15T00:00:00Z"),
        ];
        assert_eq!(
            BenefitPayments::parse(&raw(&pairs)).unwrap().adjustment,
            None
        );
        pairs.push(("adjustment_reason", "2024 年调待"));
        assert_eq!(
            BenefitPayments::parse(&raw(&pairs)).err(),
            Some(RejectReason::AdjustmentIncomplete)
        );
        pairs.push(("adjustment_delta_fen", "-500"));
        assert_eq!(
            BenefitPayments::parse(&raw(&pairs)).unwrap().adjustment,
            Some(("2024 年调待".to_owned(), -500))
        );
    }

    #[test]
    fn ledger_applies_rows_in_order() {
        let mut l: Ledger<&str, i32> = Ledger::new();
        l.stored("a", "id-a".into(), "p1".into(), 1).unwrap();
        l.apply(1, "a", "p1", 1); // unchanged
        l.apply(2, "b", "p1", 5); // new
        l.apply(3, "b", "p1", 5); // repeat: unchanged
        l.apply(4, "b", "p1", 6); // last wins
        l.apply(5, "a", "p2", 1); // another person's key
        l.apply(6, "a", "p1", 2); // update
        let (inserts, updates, outcome) = l.finish();
        assert_eq!(inserts, vec![("b", "p1".to_owned(), 6)]);
        assert_eq!(updates, vec![("id-a".to_owned(), 2)]);
        assert_eq!(outcome.accepted, 3);
        assert_eq!(outcome.unchanged, 2);
        assert_eq!(
            outcome.rejected,
            vec![Rejection {
                line: 5,
                reason: RejectReason::ExternalIdConflict
            }]
        );
    }
}
