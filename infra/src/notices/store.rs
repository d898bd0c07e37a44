//! Notices as stored, and which persons have read which. The audience rule is kept as JSON text
//! (the rule's fields, as given) and checked again when read.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use shebao_domain::identity::Gender;
use shebao_domain::notices::{
    AudienceParts, AudienceRule, Benefit, NoticeBody, NoticeKind, NoticeLink, NoticeTitle, Schedule,
};
use shebao_domain::person::{EmploymentStatus, MedicalCategory};
use shebao_domain::region::RegionCode;
use uuid::Uuid;

use crate::db::{DbConnection, StoreError};
use crate::registry::{stored, stored_id, Page};
use crate::schema::{notice_reads, notices};

/// A notice as stored.
#[derive(Debug, Clone)]
pub struct Notice {
    pub id: Uuid,
    pub kind: NoticeKind,
    pub title: String,
    pub body: String,
    pub link: Option<String>,
    pub audience: AudienceRule,
    pub schedule: Schedule,
    /// The job sending it by SMS, once asked for.
    pub sms_job_id: Option<Uuid>,
    pub created_by: Uuid,
    pub created_at: NaiveDateTime,
}

/// A notice to publish.
#[derive(Debug, Clone)]
pub struct NewNotice {
    pub kind: NoticeKind,
    pub title: NoticeTitle,
    pub body: NoticeBody,
    pub link: Option<NoticeLink>,
    pub audience: AudienceRule,
    pub schedule: Schedule,
    pub created_by: Uuid,
}

/// The rule as JSON: its fields as given, those left out absent.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredAudience {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    regions: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    age_min: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    age_max: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gender: Option<Gender>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    employment_status: Option<Vec<EmploymentStatus>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    medical_category: Option<MedicalCategory>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    has_arrears: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    receives: Option<Vec<Benefit>>,
}

fn audience_json(rule: &AudienceRule) -> Result<String, StoreError> {
    let p = rule.parts();
    let s = StoredAudience {
        regions: p
            .regions
            .map(|r| r.iter().map(|c| c.as_str().to_owned()).collect()),
        age_min: p.age_min,
        age_max: p.age_max,
        gender: p.gender,
        employment_status: p.employment_status,
        medical_category: p.medical_category,
        has_arrears: p.has_arrears,
        receives: p.receives,
    };
    serde_json::to_string(&s).map_err(|e| StoreError::Config(format!("notices.audience: {e}")))
}

fn audience_of(text: &str) -> Result<AudienceRule, StoreError> {
    let s: StoredAudience = stored("notices.audience", serde_json::from_str(text))?;
    let regions = s
        .regions
        .map(|r| {
            r.iter()
                .map(|c| stored("notices.audience", RegionCode::parse(c)))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    AudienceRule::new(AudienceParts {
        regions,
        age_min: s.age_min,
        age_max: s.age_max,
        gender: s.gender,
        employment_status: s.employment_status,
        medical_category: s.medical_category,
        has_arrears: s.has_arrears,
        receives: s.receives,
    })
    .map_err(|issues| StoreError::Corrupt(format!("notices.audience: {issues:?}")))
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = notices)]
struct NoticeRow {
    id: String,
    kind: String,
    title: String,
    body: String,
    link: Option<String>,
    audience: String,
    publish_at: NaiveDateTime,
    expire_at: NaiveDateTime,
    sms_job_id: Option<String>,
    created_by: String,
    created_at: NaiveDateTime,
}

impl TryFrom<NoticeRow> for Notice {
    type Error = StoreError;

    fn try_from(r: NoticeRow) -> Result<Notice, StoreError> {
        Ok(Notice {
            id: stored_id("notices.id", &r.id)?,
            kind: stored("notices.kind", NoticeKind::parse(&r.kind))?,
            title: r.title,
            body: r.body,
            link: r.link,
            audience: audience_of(&r.audience)?,
            schedule: Schedule {
                publish_at: r.publish_at.and_utc(),
                expire_at: r.expire_at.and_utc(),
            },
            sms_job_id: r
                .sms_job_id
                .as_deref()
                .map(|j| stored_id("notices.sms_job_id", j))
                .transpose()?,
            created_by: stored_id("notices.created_by", &r.created_by)?,
            created_at: r.created_at,
        })
    }
}

/// Stores a new notice.
pub fn insert(
    conn: &mut DbConnection,
    n: &NewNotice,
    now: NaiveDateTime,
) -> Result<Notice, StoreError> {
    let id = Uuid::now_v7();
    diesel::insert_into(notices::table)
        .values((
            notices::id.eq(id.to_string()),
            notices::kind.eq(n.kind.as_str()),
            notices::title.eq(n.title.as_str()),
            notices::body.eq(n.body.as_str()),
            notices::link.eq(n.link.as_ref().map(NoticeLink::as_str)),
            notices::audience.eq(audience_json(&n.audience)?),
            notices::region_code.eq(n.audience.single_region().map(RegionCode::as_str)),
            notices::publish_at.eq(n.schedule.publish_at.naive_utc()),
            notices::expire_at.eq(n.schedule.expire_at.naive_utc()),
            notices::created_by.eq(n.created_by.to_string()),
            notices::created_at.eq(now),
        ))
        .execute(conn)?;
    get(conn, id)?.ok_or(StoreError::NotFound)
}

pub fn get(conn: &mut DbConnection, id: Uuid) -> Result<Option<Notice>, StoreError> {
    notices::table
        .find(id.to_string())
        .select(NoticeRow::as_select())
        .first(conn)
        .optional()?
        .map(Notice::try_from)
        .transpose()
}

/// Which notices a staff list shows.
#[derive(Debug, Clone, Default)]
pub struct StaffFilter {
    pub kind: Option<NoticeKind>,
    /// Only the notices aimed at this one region (a caseworker's).
    pub region: Option<String>,
}

/// Notices newest first (by id, after `after`), for the staff.
pub fn list(
    conn: &mut DbConnection,
    f: &StaffFilter,
    after: Option<&str>,
    limit: usize,
) -> Result<Page<Notice>, StoreError> {
    let mut q = notices::table
        .select(NoticeRow::as_select())
        .order(notices::id.desc())
        .limit(i64::try_from(limit + 1).unwrap_or(i64::MAX))
        .into_boxed();
    if let Some(k) = f.kind {
        q = q.filter(notices::kind.eq(k.as_str()));
    }
    if let Some(r) = &f.region {
        q = q.filter(notices::region_code.eq(r.clone()));
    }
    if let Some(a) = after {
        q = q.filter(notices::id.lt(a.to_owned()));
    }
    let rows = q
        .load(conn)?
        .into_iter()
        .map(Notice::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(rows, limit, |n| n.id.to_string()))
}

/// Records the job that sends the notice by SMS.
pub fn set_sms_job(conn: &mut DbConnection, id: Uuid, job: Uuid) -> Result<(), StoreError> {
    diesel::update(notices::table.find(id.to_string()))
        .set(notices::sms_job_id.eq(Some(job.to_string())))
        .execute(conn)?;
    Ok(())
}

/// A position in the person's list: (publication, id) of the last notice shown.
pub type Position = (NaiveDateTime, String);

/// The key of a position, for a cursor: `2026-12-03T02:00:00.000000|id`.
pub fn position_key(n: &Notice) -> String {
    format!(
        "{}|{}",
        n.schedule
            .publish_at
            .naive_utc()
            .format("%Y-%m-%dT%H:%M:%S%.6f"),
        n.id
    )
}

/// The position a cursor's key names; `None` if it is not one.
pub fn parse_position(key: &str) -> Option<Position> {
    let (at, id) = key.split_once('|')?;
    let at = NaiveDateTime::parse_from_str(at, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
    Some((at, id.to_owned()))
}

/// What the person's list asks for.
#[derive(Debug, Clone, Copy, Default)]
pub struct PersonFilter {
    pub kind: Option<NoticeKind>,
    /// `Some(true)`: only unread; `Some(false)`: only read.
    pub unread: Option<bool>,
}

/// Up to `n` notices shown at `now` (published, not expired), newest first from after
/// `after`, with when `person` read each (if they did), whoever they are aimed at: the caller
/// applies the rules.
pub fn shown(
    conn: &mut DbConnection,
    person: Uuid,
    now: DateTime<Utc>,
    f: PersonFilter,
    after: Option<&Position>,
    n: usize,
) -> Result<Vec<(Notice, Option<NaiveDateTime>)>, StoreError> {
    let ts = now.naive_utc();
    let mut q = notices::table
        .left_join(
            notice_reads::table.on(notice_reads::notice_id
                .eq(notices::id)
                .and(notice_reads::person_id.eq(person.to_string()))),
        )
        .filter(notices::publish_at.le(ts))
        .filter(notices::expire_at.gt(ts))
        .select((NoticeRow::as_select(), notice_reads::read_at.nullable()))
        .order((notices::publish_at.desc(), notices::id.desc()))
        .limit(i64::try_from(n).unwrap_or(i64::MAX))
        .into_boxed();
    if let Some(k) = f.kind {
        q = q.filter(notices::kind.eq(k.as_str()));
    }
    match f.unread {
        Some(true) => q = q.filter(notice_reads::read_at.is_null()),
        Some(false) => q = q.filter(notice_reads::read_at.is_not_null()),
        None => {}
    }
    if let Some((at, id)) = after {
        q = q.filter(
            notices::publish_at
                .lt(*at)
                .or(notices::publish_at.eq(*at).and(notices::id.lt(id.clone()))),
        );
    }
    let rows: Vec<(NoticeRow, Option<NaiveDateTime>)> = q.load(conn)?;
    rows.into_iter()
        .map(|(r, read)| Ok((Notice::try_from(r)?, read)))
        .collect()
}

/// When `person` read `notice`, if they did.
pub fn read_at(
    conn: &mut DbConnection,
    person: Uuid,
    notice: Uuid,
) -> Result<Option<NaiveDateTime>, StoreError> {
    Ok(notice_reads::table
        .find((person.to_string(), notice.to_string()))
        .select(notice_reads::read_at)
        .first(conn)
        .optional()?)
}

/// Marks `notice` read by `person` (the first time counts); returns when it was read.
pub fn mark_read(
    conn: &mut DbConnection,
    person: Uuid,
    notice: Uuid,
    now: NaiveDateTime,
) -> Result<NaiveDateTime, StoreError> {
    let insert = diesel::insert_into(notice_reads::table)
        .values((
            notice_reads::person_id.eq(person.to_string()),
            notice_reads::notice_id.eq(notice.to_string()),
            notice_reads::read_at.eq(now),
        ))
        .on_conflict_do_nothing();
    crate::db_run!(conn, |c| insert.execute(c))?;
    read_at(conn, person, notice)?.ok_or(StoreError::NotFound)
}
