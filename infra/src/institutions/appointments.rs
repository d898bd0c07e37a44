//! Appointments (预约挂号): booking a place of a slot, cancelling it, the person's list, and the
//! reminder the day before.
//!
//! No overbooking, on both backends: the place is taken by the slot's conditional update
//! ([`slots::take_place`]) in the same transaction as the appointment's insert, and the partial
//! unique index `appointments_one_active` keeps one booked appointment per person and slot. A
//! booking that loses a race on that index (or on the idempotency key) fails with
//! `StoreError::Conflict` and its transaction rolls back whole, the place with it; the caller
//! runs it once more, and then finds the winner.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use shebao_domain::institutions::{open_for_change, reminder_at, reminder_text};
use uuid::Uuid;

use crate::db::{DbConnection, StoreError};
use crate::institutions::slots::{self, Slot, SlotRow};
use crate::institutions::store::{self, utc};
use crate::registry::{stored_id, Page};
use crate::reminders::sms::{self, Condition, EventTiming};
use crate::schema::{appointments, institution_slots, institutions};

/// Where an appointment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppointmentStatus {
    Booked,
    Cancelled,
}

impl AppointmentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AppointmentStatus::Booked => "booked",
            AppointmentStatus::Cancelled => "cancelled",
        }
    }

    fn parse(s: &str) -> Result<AppointmentStatus, StoreError> {
        match s {
            "booked" => Ok(AppointmentStatus::Booked),
            "cancelled" => Ok(AppointmentStatus::Cancelled),
            other => Err(StoreError::Corrupt(format!("appointments.status: {other}"))),
        }
    }
}

/// An appointment with its slot and where the slot is.
#[derive(Debug, Clone)]
pub struct Appointment {
    pub id: Uuid,
    pub person_id: Uuid,
    pub status: AppointmentStatus,
    pub request_hash: String,
    pub created_at: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub slot: Slot,
    pub institution_name: String,
    pub institution_address: String,
    pub institution_phone: String,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = appointments)]
struct AppointmentRow {
    id: String,
    person_id: String,
    status: String,
    request_hash: String,
    created_at: NaiveDateTime,
    cancelled_at: Option<NaiveDateTime>,
}

type Joined = (AppointmentRow, SlotRow, (String, String, String));

fn appointment((a, s, (name, address, phone)): Joined) -> Result<Appointment, StoreError> {
    Ok(Appointment {
        id: stored_id("appointments.id", &a.id)?,
        person_id: stored_id("appointments.person_id", &a.person_id)?,
        status: AppointmentStatus::parse(&a.status)?,
        request_hash: a.request_hash,
        created_at: utc(a.created_at),
        cancelled_at: a.cancelled_at.map(utc),
        slot: Slot::try_from(s)?,
        institution_name: name,
        institution_address: address,
        institution_phone: phone,
    })
}

macro_rules! joined {
    () => {
        appointments::table
            .inner_join(institution_slots::table.inner_join(institutions::table))
            .select((
                AppointmentRow::as_select(),
                SlotRow::as_select(),
                (
                    institutions::name,
                    institutions::address,
                    institutions::phone,
                ),
            ))
    };
}

pub fn get(conn: &mut DbConnection, id: Uuid) -> Result<Option<Appointment>, StoreError> {
    joined!()
        .filter(appointments::id.eq(id.to_string()))
        .first::<Joined>(conn)
        .optional()?
        .map(appointment)
        .transpose()
}

/// The appointment a person made with this idempotency key.
pub fn by_key(
    conn: &mut DbConnection,
    person: Uuid,
    key: &str,
) -> Result<Option<Appointment>, StoreError> {
    joined!()
        .filter(appointments::person_id.eq(person.to_string()))
        .filter(appointments::idempotency_key.eq(key))
        .first::<Joined>(conn)
        .optional()?
        .map(appointment)
        .transpose()
}

/// A person's appointments, newest first, after `after` (an appointment id).
pub fn list_of_person(
    conn: &mut DbConnection,
    person: Uuid,
    after: Option<&str>,
    limit: usize,
) -> Result<Page<Appointment>, StoreError> {
    let mut q = joined!()
        .filter(appointments::person_id.eq(person.to_string()))
        .order(appointments::id.desc())
        .limit(i64::try_from(limit + 1).unwrap_or(i64::MAX))
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(appointments::id.lt(after.to_owned()));
    }
    let items = q
        .load::<Joined>(conn)?
        .into_iter()
        .map(appointment)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(items, limit, |a| a.id.to_string()))
}

/// A booking as asked for.
#[derive(Debug, Clone)]
pub struct NewAppointment {
    pub person_id: Uuid,
    pub slot_id: Uuid,
    pub idempotency_key: String,
    pub request_hash: String,
}

/// Why a booking was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotBooked {
    /// No such slot.
    NoSlot,
    /// The slot has started (or is over).
    Started,
    /// Every place is taken.
    Full,
    /// The person holds a booked appointment in this slot already: its id.
    AlreadyBooked(Uuid),
}

/// Books a place for the person, inside the caller's transaction: the slot must exist, not have
/// started, have a place left and hold no booked appointment of the person. Queues the
/// reminder (see [`queue_reminder`]).
pub fn book(
    conn: &mut DbConnection,
    new: &NewAppointment,
    now: DateTime<Utc>,
) -> Result<Result<Appointment, NotBooked>, StoreError> {
    let Some(slot) = slots::get(conn, new.slot_id)? else {
        return Ok(Err(NotBooked::NoSlot));
    };
    if !open_for_change(slot.starts_at, now) {
        return Ok(Err(NotBooked::Started));
    }
    let active: Option<String> = appointments::table
        .filter(appointments::person_id.eq(new.person_id.to_string()))
        .filter(appointments::slot_id.eq(slot.id.to_string()))
        .filter(appointments::status.eq(AppointmentStatus::Booked.as_str()))
        .select(appointments::id)
        .first(conn)
        .optional()?;
    if let Some(id) = active {
        return Ok(Err(NotBooked::AlreadyBooked(stored_id(
            "appointments.id",
            &id,
        )?)));
    }
    if !slots::take_place(conn, slot.id, now)? {
        return Ok(Err(NotBooked::Full));
    }
    let id = Uuid::now_v7();
    diesel::insert_into(appointments::table)
        .values((
            appointments::id.eq(id.to_string()),
            appointments::person_id.eq(new.person_id.to_string()),
            appointments::slot_id.eq(slot.id.to_string()),
            appointments::status.eq(AppointmentStatus::Booked.as_str()),
            appointments::idempotency_key.eq(&new.idempotency_key),
            appointments::request_hash.eq(&new.request_hash),
            appointments::created_at.eq(now.naive_utc()),
        ))
        .execute(conn)?;
    let booked = get(conn, id)?.ok_or(StoreError::NotFound)?;
    queue_reminder(conn, &booked, now)?;
    Ok(Ok(booked))
}

/// Queues the reminder SMS of a booked appointment: an event message to the person's bound
/// account at 10:00 the day before the slot in the person's region (or at once, when booked
/// later that day; none when booked on the day itself, see `domain::institutions::reminder_at`).
/// Once per appointment (its dedupe key), and dropped at sending if the appointment was
/// cancelled meanwhile. Nothing when the person has no bound account.
pub fn queue_reminder(
    conn: &mut DbConnection,
    a: &Appointment,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let Some(zone) = store::zone_of_person(conn, a.person_id)? else {
        return Ok(());
    };
    let Some(at) = reminder_at(a.slot.starts_at, zone, now) else {
        return Ok(());
    };
    let text = reminder_text(
        &a.institution_name,
        &a.slot.department,
        a.slot.starts_at,
        zone,
    );
    sms::enqueue_event_to_person_when(
        conn,
        a.person_id,
        "appointment_reminder",
        text,
        &format!("appointment:{}:reminder", a.id),
        EventTiming {
            not_before: Some(at),
            only_if: Some(Condition::AppointmentBooked {
                appointment_id: a.id,
            }),
        },
        now,
    )?;
    Ok(())
}

/// Why a cancellation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotCancelled {
    /// The slot has started: too late to cancel.
    Started,
}

/// Cancels a booked appointment until its slot starts, giving the place back; cancelling a
/// cancelled appointment changes nothing. Inside the caller's transaction.
pub fn cancel(
    conn: &mut DbConnection,
    a: &Appointment,
    now: DateTime<Utc>,
) -> Result<Result<(), NotCancelled>, StoreError> {
    if a.status == AppointmentStatus::Cancelled {
        return Ok(Ok(()));
    }
    if !open_for_change(a.slot.starts_at, now) {
        return Ok(Err(NotCancelled::Started));
    }
    let changed = diesel::update(
        appointments::table
            .filter(appointments::id.eq(a.id.to_string()))
            .filter(appointments::status.eq(AppointmentStatus::Booked.as_str())),
    )
    .set((
        appointments::status.eq(AppointmentStatus::Cancelled.as_str()),
        appointments::cancelled_at.eq(Some(now.naive_utc())),
    ))
    .execute(conn)?;
    if changed == 1 {
        slots::return_place(conn, a.slot.id)?;
    }
    Ok(Ok(()))
}
