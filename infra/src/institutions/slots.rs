//! Appointment slots: a department's period with a number of places. `booked` counts the active
//! appointments; it moves only by the conditional updates in `appointments`.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use shebao_domain::institutions::{Department, InstitutionCode};
use uuid::Uuid;

use crate::db::{DbConnection, StoreError};
use crate::institutions::store::utc;
use crate::registry::{stored_id, Page};
use crate::schema::institution_slots;

/// A slot as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub id: Uuid,
    pub institution_code: String,
    pub department: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub capacity: i32,
    pub booked: i32,
}

impl Slot {
    pub fn places_left(&self) -> i32 {
        (self.capacity - self.booked).max(0)
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = institution_slots)]
pub(crate) struct SlotRow {
    id: String,
    institution_code: String,
    department: String,
    starts_at: NaiveDateTime,
    ends_at: NaiveDateTime,
    capacity: i32,
    booked: i32,
}

impl TryFrom<SlotRow> for Slot {
    type Error = StoreError;

    fn try_from(r: SlotRow) -> Result<Slot, StoreError> {
        Ok(Slot {
            id: stored_id("institution_slots.id", &r.id)?,
            institution_code: r.institution_code,
            department: r.department,
            starts_at: utc(r.starts_at),
            ends_at: utc(r.ends_at),
            capacity: r.capacity,
            booked: r.booked,
        })
    }
}

/// A slot to publish (checked by `domain::institutions::check_slot`).
#[derive(Debug, Clone)]
pub struct NewSlot {
    pub institution: InstitutionCode,
    pub department: Department,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub capacity: i32,
}

pub fn create(
    conn: &mut DbConnection,
    new: &NewSlot,
    now: DateTime<Utc>,
) -> Result<Slot, StoreError> {
    let id = Uuid::now_v7();
    diesel::insert_into(institution_slots::table)
        .values((
            institution_slots::id.eq(id.to_string()),
            institution_slots::institution_code.eq(new.institution.as_str()),
            institution_slots::department.eq(new.department.as_str()),
            institution_slots::starts_at.eq(new.starts_at.naive_utc()),
            institution_slots::ends_at.eq(new.ends_at.naive_utc()),
            institution_slots::capacity.eq(new.capacity),
            institution_slots::booked.eq(0),
            institution_slots::created_at.eq(now.naive_utc()),
        ))
        .execute(conn)?;
    get(conn, id)?.ok_or(StoreError::NotFound)
}

pub fn get(conn: &mut DbConnection, id: Uuid) -> Result<Option<Slot>, StoreError> {
    institution_slots::table
        .find(id.to_string())
        .select(SlotRow::as_select())
        .first(conn)
        .optional()?
        .map(Slot::try_from)
        .transpose()
}

/// Where a page of slots continues: after the slot starting at `starts_at` with this id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotCursor {
    pub starts_at: NaiveDateTime,
    pub id: String,
}

impl SlotCursor {
    /// `<microseconds since 1970>:<id>`.
    pub fn key(slot: &Slot) -> String {
        format!("{}:{}", slot.starts_at.timestamp_micros(), slot.id)
    }

    pub fn parse(key: &str) -> Option<SlotCursor> {
        let (micros, id) = key.split_once(':')?;
        let starts_at = DateTime::from_timestamp_micros(micros.parse().ok()?)?.naive_utc();
        Some(SlotCursor {
            starts_at,
            id: id.to_owned(),
        })
    }
}

/// What a list of slots is narrowed to.
#[derive(Debug, Clone)]
pub struct SlotFilter {
    pub department: Option<Department>,
    /// Slots starting at or after this instant.
    pub from: DateTime<Utc>,
    /// Slots starting before this instant.
    pub to: Option<DateTime<Utc>>,
}

/// An institution's slots in start order (ties by id), after `after`.
pub fn list(
    conn: &mut DbConnection,
    institution: &InstitutionCode,
    filter: &SlotFilter,
    after: Option<&SlotCursor>,
    limit: usize,
) -> Result<Page<Slot>, StoreError> {
    let mut q = institution_slots::table
        .filter(institution_slots::institution_code.eq(institution.as_str().to_owned()))
        .filter(institution_slots::starts_at.ge(filter.from.naive_utc()))
        .select(SlotRow::as_select())
        .order((
            institution_slots::starts_at.asc(),
            institution_slots::id.asc(),
        ))
        .limit(i64::try_from(limit + 1).unwrap_or(i64::MAX))
        .into_boxed();
    if let Some(department) = &filter.department {
        q = q.filter(institution_slots::department.eq(department.as_str().to_owned()));
    }
    if let Some(to) = filter.to {
        q = q.filter(institution_slots::starts_at.lt(to.naive_utc()));
    }
    if let Some(after) = after {
        q = q.filter(
            institution_slots::starts_at
                .gt(after.starts_at)
                .or(institution_slots::starts_at
                    .eq(after.starts_at)
                    .and(institution_slots::id.gt(after.id.clone()))),
        );
    }
    let items = q
        .load(conn)?
        .into_iter()
        .map(Slot::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(items, limit, SlotCursor::key))
}

/// Takes one place of the slot if one is left and the slot has not started: one conditional
/// `UPDATE … SET booked = booked + 1 WHERE id = ? AND booked < capacity AND starts_at > now`.
/// Concurrent bookings queue on the row's lock (PostgreSQL re-checks the condition on the row
/// as the one before left it) or on the write lock (SQLite), so the count never passes the
/// capacity. True when a place was taken.
pub fn take_place(
    conn: &mut DbConnection,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let taken = diesel::update(
        institution_slots::table
            .filter(institution_slots::id.eq(id.to_string()))
            .filter(institution_slots::booked.lt(institution_slots::capacity))
            .filter(institution_slots::starts_at.gt(now.naive_utc())),
    )
    .set(institution_slots::booked.eq(institution_slots::booked + 1))
    .execute(conn)?;
    Ok(taken == 1)
}

/// Gives a place back (a cancellation).
pub fn return_place(conn: &mut DbConnection, id: Uuid) -> Result<(), StoreError> {
    diesel::update(
        institution_slots::table
            .filter(institution_slots::id.eq(id.to_string()))
            .filter(institution_slots::booked.gt(0)),
    )
    .set(institution_slots::booked.eq(institution_slots::booked - 1))
    .execute(conn)?;
    Ok(())
}
