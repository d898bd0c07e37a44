//! Applications, their events and documents.
//!
//! A transition is one `UPDATE … WHERE version = expected`: of two deciders who read the same
//! version, only one changes the row; the other's update finds nothing and is refused. On
//! SQLite the write transaction already serialises them (the second then reads the new status).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::Value;
use shebao_domain::applications::{ApplicationKind, ApplicationStatus};
use uuid::Uuid;

use crate::db::{DbConnection, StoreError};
use crate::registry::{stored, stored_id, Page};
use crate::schema::{
    accounts, application_delegates, application_documents, application_events, applications,
};

/// An application as stored.
#[derive(Debug, Clone)]
pub struct Application {
    pub id: Uuid,
    pub person_id: Uuid,
    pub region_code: String,
    pub kind: ApplicationKind,
    pub status: ApplicationStatus,
    pub data: Value,
    pub missing: Vec<String>,
    pub decision: Option<Value>,
    pub request_hash: String,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = applications)]
struct ApplicationRow {
    id: String,
    person_id: String,
    region_code: String,
    kind: String,
    status: String,
    data: String,
    missing: String,
    decision: Option<String>,
    request_hash: String,
    version: i32,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

fn json(what: &str, s: &str) -> Result<Value, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

impl TryFrom<ApplicationRow> for Application {
    type Error = StoreError;

    fn try_from(r: ApplicationRow) -> Result<Application, StoreError> {
        Ok(Application {
            id: stored_id("applications.id", &r.id)?,
            person_id: stored_id("applications.person_id", &r.person_id)?,
            region_code: r.region_code,
            kind: stored("applications.kind", ApplicationKind::parse(&r.kind))?,
            status: stored("applications.status", ApplicationStatus::parse(&r.status))?,
            data: json("applications.data", &r.data)?,
            missing: serde_json::from_str(&r.missing)
                .map_err(|e| StoreError::Corrupt(format!("applications.missing: {e}")))?,
            decision: r
                .decision
                .as_deref()
                .map(|d| json("applications.decision", d))
                .transpose()?,
            request_hash: r.request_hash,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// A new application, as submitted.
#[derive(Debug, Clone)]
pub struct NewApplication {
    pub person_id: Uuid,
    pub region_code: String,
    pub kind: ApplicationKind,
    pub data: Value,
    pub idempotency_key: String,
    pub request_hash: String,
}

/// Why an application was not created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotCreated {
    /// The person has an open application of this kind: its id.
    Open(Uuid),
}

pub fn get(conn: &mut DbConnection, id: Uuid) -> Result<Option<Application>, StoreError> {
    applications::table
        .find(id.to_string())
        .select(ApplicationRow::as_select())
        .first(conn)
        .optional()?
        .map(Application::try_from)
        .transpose()
}

/// The application a person made with this idempotency key.
pub fn by_key(
    conn: &mut DbConnection,
    person: Uuid,
    key: &str,
) -> Result<Option<Application>, StoreError> {
    applications::table
        .filter(applications::person_id.eq(person.to_string()))
        .filter(applications::idempotency_key.eq(key))
        .select(ApplicationRow::as_select())
        .first(conn)
        .optional()?
        .map(Application::try_from)
        .transpose()
}

/// Creates an application (status `submitted`, its first event by the person), unless one of
/// its kind is open.
pub fn create(
    conn: &mut DbConnection,
    new: &NewApplication,
    now: NaiveDateTime,
) -> Result<Result<Application, NotCreated>, StoreError> {
    let open: Option<String> = applications::table
        .filter(applications::person_id.eq(new.person_id.to_string()))
        .filter(applications::open_kind.eq(new.kind.as_str()))
        .select(applications::id)
        .first(conn)
        .optional()?;
    if let Some(open) = open {
        return Ok(Err(NotCreated::Open(stored_id("applications.id", &open)?)));
    }
    let id = Uuid::now_v7();
    diesel::insert_into(applications::table)
        .values((
            applications::id.eq(id.to_string()),
            applications::person_id.eq(new.person_id.to_string()),
            applications::region_code.eq(&new.region_code),
            applications::kind.eq(new.kind.as_str()),
            applications::status.eq(ApplicationStatus::Submitted.as_str()),
            applications::data.eq(new.data.to_string()),
            applications::missing.eq("[]"),
            applications::idempotency_key.eq(&new.idempotency_key),
            applications::request_hash.eq(&new.request_hash),
            applications::open_kind.eq(Some(new.kind.as_str())),
            applications::version.eq(1),
            applications::created_at.eq(now),
            applications::updated_at.eq(now),
        ))
        .execute(conn)?;
    add_event(conn, id, ApplicationStatus::Submitted, "person", None, now)?;
    Ok(Ok(get(conn, id)?.ok_or(StoreError::NotFound)?))
}

fn add_event(
    conn: &mut DbConnection,
    application: Uuid,
    status: ApplicationStatus,
    actor_role: &str,
    note: Option<&str>,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::insert_into(application_events::table)
        .values((
            application_events::id.eq(Uuid::now_v7().to_string()),
            application_events::application_id.eq(application.to_string()),
            application_events::at.eq(now),
            application_events::status.eq(status.as_str()),
            application_events::actor_role.eq(actor_role),
            application_events::note.eq(note),
        ))
        .execute(conn)?;
    Ok(())
}

/// One move, as the caller decided it.
#[derive(Debug, Clone)]
pub struct Move<'a> {
    pub to: ApplicationStatus,
    /// The version the mover read.
    pub expected_version: i32,
    /// `person`, `caseworker`, `admin`, `relative`.
    pub actor_role: &'a str,
    pub note: Option<&'a str>,
    /// What a `needs_more_info` asks for (kept until the next one; cleared on resubmission).
    pub missing: Option<&'a [String]>,
}

/// Applies a move if the application is still at the version the mover read; false when
/// someone else moved it first.
pub fn apply_move(
    conn: &mut DbConnection,
    id: Uuid,
    m: &Move<'_>,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let open_kind: Option<Option<String>> = if m.to.is_open() { None } else { Some(None) };
    let target = applications::table
        .filter(applications::id.eq(id.to_string()))
        .filter(applications::version.eq(m.expected_version));
    let updated = diesel::update(target)
        .set((
            applications::status.eq(m.to.as_str()),
            applications::version.eq(m.expected_version + 1),
            applications::updated_at.eq(now),
        ))
        .execute(conn)?;
    if updated == 0 {
        return Ok(false);
    }
    let row = || applications::table.find(id.to_string());
    if let Some(open_kind) = open_kind {
        diesel::update(row())
            .set(applications::open_kind.eq(open_kind))
            .execute(conn)?;
    }
    if let Some(missing) = m.missing {
        let text = serde_json::to_string(missing)
            .map_err(|e| StoreError::Corrupt(format!("applications.missing: {e}")))?;
        diesel::update(row())
            .set(applications::missing.eq(text))
            .execute(conn)?;
    }
    add_event(conn, id, m.to, m.actor_role, m.note, now)?;
    Ok(true)
}

/// Records the decision of an application (after its move to `approved` or `rejected`).
pub fn set_decision(conn: &mut DbConnection, id: Uuid, decision: &Value) -> Result<(), StoreError> {
    diesel::update(applications::table.find(id.to_string()))
        .set(applications::decision.eq(Some(decision.to_string())))
        .execute(conn)?;
    Ok(())
}

/// One step of an application's timeline.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = application_events)]
pub struct Event {
    pub at: NaiveDateTime,
    pub status: String,
    pub actor_role: String,
    pub note: Option<String>,
}

pub fn timeline(conn: &mut DbConnection, id: Uuid) -> Result<Vec<Event>, StoreError> {
    Ok(application_events::table
        .filter(application_events::application_id.eq(id.to_string()))
        .order(application_events::id.asc())
        .select(Event::as_select())
        .load(conn)?)
}

/// A page of applications from up to `limit + 1` rows.
fn page(rows: Vec<ApplicationRow>, limit: usize) -> Result<Page<Application>, StoreError> {
    let items = rows
        .into_iter()
        .map(Application::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(items, limit, |a| a.id.to_string()))
}

/// A person's applications, newest first, after `after` (an application id).
pub fn list_of_person(
    conn: &mut DbConnection,
    person: Uuid,
    after: Option<&str>,
    limit: usize,
) -> Result<Page<Application>, StoreError> {
    let mut q = applications::table
        .filter(applications::person_id.eq(person.to_string()))
        .select(ApplicationRow::as_select())
        .order(applications::id.desc())
        .limit(i64::try_from(limit + 1).unwrap_or(i64::MAX))
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(applications::id.lt(after.to_owned()));
    }
    page(q.load(conn)?, limit)
}

/// What the staff list is filtered by.
#[derive(Debug, Clone, Default)]
pub struct StaffFilter {
    pub status: Option<ApplicationStatus>,
    pub kind: Option<ApplicationKind>,
    pub region: Option<String>,
}

/// Applications for the staff, newest first.
pub fn list_for_staff(
    conn: &mut DbConnection,
    filter: &StaffFilter,
    after: Option<&str>,
    limit: usize,
) -> Result<Page<Application>, StoreError> {
    let mut q = applications::table
        .select(ApplicationRow::as_select())
        .order(applications::id.desc())
        .limit(i64::try_from(limit + 1).unwrap_or(i64::MAX))
        .into_boxed();
    if let Some(status) = filter.status {
        q = q.filter(applications::status.eq(status.as_str()));
    }
    if let Some(kind) = filter.kind {
        q = q.filter(applications::kind.eq(kind.as_str()));
    }
    if let Some(region) = &filter.region {
        q = q.filter(applications::region_code.eq(region.clone()));
    }
    if let Some(after) = after {
        q = q.filter(applications::id.lt(after.to_owned()));
    }
    page(q.load(conn)?, limit)
}

/// A stored document, without its bytes.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = application_documents)]
pub struct Document {
    pub id: String,
    pub media_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub created_at: NaiveDateTime,
}

pub fn add_document(
    conn: &mut DbConnection,
    application: Uuid,
    media_type: &str,
    sha256: &str,
    content: &[u8],
    now: NaiveDateTime,
) -> Result<Document, StoreError> {
    let id = Uuid::now_v7().to_string();
    diesel::insert_into(application_documents::table)
        .values((
            application_documents::id.eq(&id),
            application_documents::application_id.eq(application.to_string()),
            application_documents::media_type.eq(media_type),
            application_documents::size_bytes.eq(i64::try_from(content.len()).unwrap_or(i64::MAX)),
            application_documents::sha256.eq(sha256),
            application_documents::content.eq(content),
            application_documents::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(application_documents::table
        .find(&id)
        .select(Document::as_select())
        .first(conn)?)
}

pub fn documents_of(
    conn: &mut DbConnection,
    application: Uuid,
) -> Result<Vec<Document>, StoreError> {
    Ok(application_documents::table
        .filter(application_documents::application_id.eq(application.to_string()))
        .order(application_documents::id.asc())
        .select(Document::as_select())
        .load(conn)?)
}

// ---------------------------------------------------------------------------------------------
// Relatives who may confirm a qualification check

/// Lets the account with this phone (blind index) confirm the application.
pub fn add_delegate(
    conn: &mut DbConnection,
    application: Uuid,
    phone_hash: &str,
) -> Result<(), StoreError> {
    diesel::insert_into(application_delegates::table)
        .values((
            application_delegates::application_id.eq(application.to_string()),
            application_delegates::phone_hash.eq(phone_hash),
        ))
        .execute(conn)?;
    Ok(())
}

/// The delegate of an application: (phone hash, when the relative confirmed).
pub fn delegate_of(
    conn: &mut DbConnection,
    application: Uuid,
) -> Result<Option<(String, Option<NaiveDateTime>)>, StoreError> {
    Ok(application_delegates::table
        .find(application.to_string())
        .select((
            application_delegates::phone_hash,
            application_delegates::relative_confirmed_at,
        ))
        .first(conn)
        .optional()?)
}

/// Records the relative's confirmation and a timeline step (role `relative`) at the current
/// status; false if it was confirmed already.
pub fn confirm_by_relative(
    conn: &mut DbConnection,
    app: &Application,
    relative_account: Uuid,
    note: &str,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let updated = diesel::update(
        application_delegates::table
            .find(app.id.to_string())
            .filter(application_delegates::relative_confirmed_at.is_null()),
    )
    .set((
        application_delegates::relative_account_id.eq(Some(relative_account.to_string())),
        application_delegates::relative_confirmed_at.eq(Some(now)),
    ))
    .execute(conn)?;
    if updated == 0 {
        return Ok(false);
    }
    add_event(conn, app.id, app.status, "relative", Some(note), now)?;
    Ok(true)
}

/// The applications a relative (by their phone's blind index) may confirm, newest first,
/// after `after` (an application id).
pub fn delegated_to(
    conn: &mut DbConnection,
    phone_hash: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<Page<Application>, StoreError> {
    let mut q = applications::table
        .inner_join(application_delegates::table)
        .filter(application_delegates::phone_hash.eq(phone_hash))
        .order(applications::id.desc())
        .limit(i64::try_from(limit + 1).unwrap_or(i64::MAX))
        .select(ApplicationRow::as_select())
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(applications::id.lt(after.to_owned()));
    }
    page(q.load(conn)?, limit)
}

/// The blind index of an account's phone.
pub fn phone_hash_of_account(
    conn: &mut DbConnection,
    account: Uuid,
) -> Result<Option<String>, StoreError> {
    Ok(accounts::table
        .find(account.to_string())
        .select(accounts::phone_hash)
        .first(conn)
        .optional()?)
}
