//! Contribution certificates (参保证明) in the database: each with the PDF exactly as issued and
//! its SHA-256. The rules (what a certificate says, for how long it verifies, how many a day)
//! are `shebao_domain::certificates`; the PDF is made by `shebao_pdf`.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use shebao_domain::certificates::CertificateKind;
use shebao_domain::period::Period;
use uuid::Uuid;

use crate::db::{DbConnection, StoreError};
use crate::registry::{stored, stored_id, Page};
use crate::schema::{certificates, persons};

/// A certificate to store.
#[derive(Debug, Clone)]
pub struct NewCertificate {
    pub id: Uuid,
    pub person_id: Uuid,
    pub kind: CertificateKind,
    pub from: Period,
    pub to: Period,
    pub issued_to: String,
    pub national_id_masked: String,
    pub pdf: Vec<u8>,
    pub sha256: String,
    pub issued_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = certificates)]
struct CertificateInsert<'a> {
    id: String,
    person_id: String,
    kind: &'static str,
    period_from: String,
    period_to: String,
    issued_to: &'a str,
    national_id_masked: &'a str,
    pdf: &'a [u8],
    sha256: &'a str,
    issued_at: NaiveDateTime,
    expires_at: NaiveDateTime,
}

/// A stored certificate without its PDF.
#[derive(Debug, Clone)]
pub struct Certificate {
    pub id: Uuid,
    pub person_id: Uuid,
    pub kind: CertificateKind,
    pub from: Period,
    pub to: Period,
    pub issued_to: String,
    pub national_id_masked: String,
    pub sha256: String,
    pub issued_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = certificates)]
struct CertificateRow {
    id: String,
    person_id: String,
    kind: String,
    period_from: String,
    period_to: String,
    issued_to: String,
    national_id_masked: String,
    sha256: String,
    issued_at: NaiveDateTime,
    expires_at: NaiveDateTime,
    revoked_at: Option<NaiveDateTime>,
}

fn certificate(r: CertificateRow) -> Result<Certificate, StoreError> {
    Ok(Certificate {
        id: stored_id("certificates.id", &r.id)?,
        person_id: stored_id("certificates.person_id", &r.person_id)?,
        kind: stored("certificates.kind", CertificateKind::parse(&r.kind))?,
        from: stored("certificates.period_from", Period::parse(&r.period_from))?,
        to: stored("certificates.period_to", Period::parse(&r.period_to))?,
        issued_to: r.issued_to,
        national_id_masked: r.national_id_masked,
        sha256: r.sha256,
        issued_at: r.issued_at,
        expires_at: r.expires_at,
        revoked_at: r.revoked_at,
    })
}

/// Holds the person's row until the transaction ends (PostgreSQL `FOR UPDATE`; on SQLite the
/// write transaction holds the database already), so that two issues at once count each other
/// against the daily limit.
pub fn lock_person(conn: &mut DbConnection, person_id: Uuid) -> Result<(), StoreError> {
    let key = person_id.to_string();
    crate::db_run!(conn,
        postgres: |c| {
            persons::table
                .filter(persons::id.eq(&key))
                .select(persons::id)
                .for_update()
                .first::<String>(c)
                .optional()?;
        },
        sqlite: |_c| {},
    );
    Ok(())
}

/// How many certificates the person had issued since `since`.
pub fn issued_since(
    conn: &mut DbConnection,
    person_id: Uuid,
    since: NaiveDateTime,
) -> Result<i64, StoreError> {
    Ok(certificates::table
        .filter(certificates::person_id.eq(person_id.to_string()))
        .filter(certificates::issued_at.gt(since))
        .count()
        .get_result(conn)?)
}

/// The oldest issue time since `since` (when the limit frees a place).
pub fn oldest_issued_since(
    conn: &mut DbConnection,
    person_id: Uuid,
    since: NaiveDateTime,
) -> Result<Option<NaiveDateTime>, StoreError> {
    Ok(certificates::table
        .filter(certificates::person_id.eq(person_id.to_string()))
        .filter(certificates::issued_at.gt(since))
        .select(diesel::dsl::min(certificates::issued_at))
        .first(conn)?)
}

pub fn insert(conn: &mut DbConnection, c: &NewCertificate) -> Result<(), StoreError> {
    diesel::insert_into(certificates::table)
        .values(CertificateInsert {
            id: c.id.to_string(),
            person_id: c.person_id.to_string(),
            kind: c.kind.as_str(),
            period_from: c.from.to_string(),
            period_to: c.to.to_string(),
            issued_to: &c.issued_to,
            national_id_masked: &c.national_id_masked,
            pdf: &c.pdf,
            sha256: &c.sha256,
            issued_at: c.issued_at,
            expires_at: c.expires_at,
        })
        .execute(conn)?;
    Ok(())
}

/// A certificate by id, whoever owns it.
pub fn get(conn: &mut DbConnection, id: Uuid) -> Result<Option<Certificate>, StoreError> {
    certificates::table
        .filter(certificates::id.eq(id.to_string()))
        .select(CertificateRow::as_select())
        .first(conn)
        .optional()?
        .map(certificate)
        .transpose()
}

/// A person's certificate's PDF; `None` if there is no such certificate of theirs.
pub fn pdf_of(
    conn: &mut DbConnection,
    person_id: Uuid,
    id: Uuid,
) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(certificates::table
        .filter(certificates::id.eq(id.to_string()))
        .filter(certificates::person_id.eq(person_id.to_string()))
        .select(certificates::pdf)
        .first(conn)
        .optional()?)
}

/// A person's certificates, newest first, after the certificate `after` (its id).
pub fn list(
    conn: &mut DbConnection,
    person_id: Uuid,
    after: Option<Uuid>,
    limit: usize,
) -> Result<Page<Certificate>, StoreError> {
    let mut q = certificates::table
        .filter(certificates::person_id.eq(person_id.to_string()))
        .select(CertificateRow::as_select())
        .order(certificates::id.desc())
        .limit(i64::try_from(limit + 1).unwrap_or(i64::MAX))
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(certificates::id.lt(after.to_string()));
    }
    let rows = q
        .load(conn)?
        .into_iter()
        .map(certificate)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(rows, limit, |c| c.id.to_string()))
}

/// Revokes a person's certificate, once: `None` if it is not theirs; the stored certificate
/// (revoked now, or earlier) otherwise.
pub fn revoke(
    conn: &mut DbConnection,
    person_id: Uuid,
    id: Uuid,
    now: NaiveDateTime,
) -> Result<Option<Certificate>, StoreError> {
    diesel::update(
        certificates::table
            .filter(certificates::id.eq(id.to_string()))
            .filter(certificates::person_id.eq(person_id.to_string()))
            .filter(certificates::revoked_at.is_null()),
    )
    .set(certificates::revoked_at.eq(Some(now)))
    .execute(conn)?;
    Ok(get(conn, id)?.filter(|c| c.person_id == person_id))
}
