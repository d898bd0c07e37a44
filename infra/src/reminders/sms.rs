//! The SMS jobs: `sms.reminder` (a campaign's message) and `sms.event` (a message any capability
//! enqueues, such as a failed payment's), each one text to one account's phone, in daylight only.
//!
//! The message's id is the job's id: it is written to `sms_sends` before the provider is called,
//! and it goes to the provider as the idempotency key, so a retry after a lost answer does not
//! send twice. A worker that dies after the provider accepted the message but before it is
//! recorded as sent leaves the job to the next worker, which sends it again with the same key;
//! once the acceptance is recorded (the write right after the provider's answer), a rerun of
//! the job sends nothing.
//!
//! A reminder also checks, at send time, that the account still wants the campaign, counts
//! against the phone's daily cap (over it, the message waits for the next local 08:00), and an
//! arrears reminder goes out only while the arrears are still unpaid.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use shebao_domain::identity::PhoneNumber;
use shebao_domain::period::Period;
use shebao_domain::ports::{SmsError, SmsMessage, SmsSender};
use shebao_domain::region::TimeZoneName;
use shebao_domain::reminders::{daylight_send_time, next_morning, Campaign, DAILY_CAP};
use shebao_security::PiiVault;
use uuid::Uuid;

use crate::db::{DbConnection, StoreError};
use crate::identity::PHONE_AAD;
use crate::jobs::queue::{self, NewJob};
use crate::jobs::{Job, JobContext, JobDone, JobFailure, JobFuture, JobHandler};
use crate::schema::{accounts, sms_daily_counts, sms_sends};

pub const KIND: &str = "sms.reminder";
pub const EVENT_KIND: &str = "sms.event";

/// How many tries a message gets (with backoff: about 40 minutes in all).
pub const MAX_ATTEMPTS: u32 = 10;

/// What one reminder says, and to whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderPayload {
    pub campaign: Campaign,
    pub account_id: Uuid,
    /// The person the reminder is about (an arrears reminder checks they still owe).
    #[serde(default)]
    pub person_id: Option<Uuid>,
    /// The month a `due` reminder is about (checked still unpaid at sending).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
    /// The zone whose daylight the message waits for.
    pub time_zone: TimeZoneName,
    pub text: String,
    /// The notice a `notice` reminder announces: sent only while it is shown and still aimed at
    /// the person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice_id: Option<Uuid>,
}

/// An event message: not a campaign, so neither capped nor subject to the preferences.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventPayload {
    /// What happened (`payment_failed`): the label in the metrics.
    pub event: String,
    pub account_id: Uuid,
    pub time_zone: TimeZoneName,
    pub text: String,
    /// What must still hold when the message goes out; when it no longer does, the message is
    /// dropped at sending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only_if: Option<Condition>,
    /// A security alert (a payout account changed): sent at once, night or day, like an SMS
    /// code; other event messages wait for daylight.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub immediate: bool,
}

/// A condition an event message is sent on, checked at sending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Condition {
    /// The appointment is still booked (not cancelled): its reminder.
    AppointmentBooked { appointment_id: Uuid },
}

/// When, besides daylight, an event message goes out, and on what condition.
#[derive(Debug, Clone, Default)]
pub struct EventTiming {
    /// Not before this instant (then at the first daylight after it); `None`: now.
    pub not_before: Option<DateTime<Utc>>,
    pub only_if: Option<Condition>,
}

/// Enqueues an event message to `account` with `dedupe_key` (`payment_failed:{payment id}`):
/// the same key twice sends once. Returns the job's id when it is new. Safe inside a larger
/// transaction.
pub fn enqueue_event(
    conn: &mut DbConnection,
    payload: &EventPayload,
    dedupe_key: &str,
    now: DateTime<Utc>,
) -> Result<Option<Uuid>, StoreError> {
    enqueue_event_at(conn, payload, dedupe_key, now, now)
}

/// [`enqueue_event`] for a message that goes out at the first daylight from `not_before` on
/// (a reminder the day before an appointment).
pub fn enqueue_event_at(
    conn: &mut DbConnection,
    payload: &EventPayload,
    dedupe_key: &str,
    not_before: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Option<Uuid>, StoreError> {
    let job = NewJob {
        kind: shebao_domain::jobs::JobKind::parse(EVENT_KIND)
            .map_err(|e| StoreError::Config(format!("job kind: {e}")))?,
        payload: serde_json::to_string(payload)
            .map_err(|e| StoreError::Config(format!("payload: {e}")))?,
        run_at: if payload.immediate {
            not_before.max(now)
        } else {
            daylight_send_time(not_before.max(now), payload.time_zone)
        },
        max_attempts: MAX_ATTEMPTS,
        dedupe_key: Some(format!("sms:event:{dedupe_key}")),
    };
    queue::enqueue(conn, &job, now)
}

/// Enqueues an event message to the bound account of `person`, at daylight in the person's
/// region: `event` labels it in the metrics, `dedupe_key` makes it once. Nothing (and `None`)
/// when the person has no bound account. Safe inside a larger transaction — the message is
/// queued with the change it tells of, or not at all.
pub fn enqueue_event_to_person(
    conn: &mut DbConnection,
    person: Uuid,
    event: &str,
    text: String,
    dedupe_key: &str,
    now: DateTime<Utc>,
) -> Result<Option<Uuid>, StoreError> {
    enqueue_event_to_person_when(
        conn,
        person,
        event,
        text,
        dedupe_key,
        EventTiming::default(),
        now,
    )
}

/// [`enqueue_event_to_person`] at a later time and on a condition (see [`EventTiming`]).
pub fn enqueue_event_to_person_when(
    conn: &mut DbConnection,
    person: Uuid,
    event: &str,
    text: String,
    dedupe_key: &str,
    when: EventTiming,
    now: DateTime<Utc>,
) -> Result<Option<Uuid>, StoreError> {
    send_to_person(conn, person, event, text, dedupe_key, when, false, now)
}

/// An alert to the bound account of `person` that goes out at once, night or day (a payout
/// account changed: the person must hear of it before it takes effect). Otherwise as
/// [`enqueue_event_to_person`].
pub fn enqueue_alert_to_person(
    conn: &mut DbConnection,
    person: Uuid,
    event: &str,
    text: String,
    dedupe_key: &str,
    now: DateTime<Utc>,
) -> Result<Option<Uuid>, StoreError> {
    send_to_person(
        conn,
        person,
        event,
        text,
        dedupe_key,
        EventTiming::default(),
        true,
        now,
    )
}

#[allow(clippy::too_many_arguments)]
fn send_to_person(
    conn: &mut DbConnection,
    person: Uuid,
    event: &str,
    text: String,
    dedupe_key: &str,
    when: EventTiming,
    immediate: bool,
    now: DateTime<Utc>,
) -> Result<Option<Uuid>, StoreError> {
    use crate::schema::{persons, regions};
    let account: Option<String> = accounts::table
        .filter(accounts::person_id.eq(person.to_string()))
        .select(accounts::id)
        .first(conn)
        .optional()?;
    let Some(account) = account else {
        return Ok(None);
    };
    let zone: String = persons::table
        .inner_join(regions::table)
        .filter(persons::id.eq(person.to_string()))
        .select(regions::time_zone)
        .first(conn)?;
    let payload = EventPayload {
        event: event.to_owned(),
        account_id: crate::registry::stored_id("accounts.id", &account)?,
        time_zone: crate::registry::stored("regions.time_zone", TimeZoneName::parse(&zone))?,
        text,
        only_if: when.only_if,
        immediate,
    };
    enqueue_event_at(
        conn,
        &payload,
        dedupe_key,
        when.not_before.unwrap_or(now),
        now,
    )
}

/// The phone of an account, decrypted; `None` if the account is gone.
pub fn phone_of(
    conn: &mut DbConnection,
    vault: &PiiVault,
    account: Uuid,
) -> Result<Option<PhoneNumber>, StoreError> {
    Ok(phone_and_hash(conn, vault, account)?.map(|(p, _)| p))
}

fn phone_and_hash(
    conn: &mut DbConnection,
    vault: &PiiVault,
    account: Uuid,
) -> Result<Option<(PhoneNumber, String)>, StoreError> {
    let stored: Option<(String, String)> = accounts::table
        .find(account.to_string())
        .select((accounts::phone_enc, accounts::phone_hash))
        .first(conn)
        .optional()?;
    stored
        .map(|(enc, hash)| {
            let e164 = vault
                .decrypt(&enc, PHONE_AAD)
                .map_err(|e| StoreError::Corrupt(format!("accounts.phone_enc: {e}")))?;
            let phone = PhoneNumber::parse(&e164)
                .map_err(|e| StoreError::Corrupt(format!("accounts.phone_enc: {e}")))?;
            Ok((phone, hash))
        })
        .transpose()
}

/// Whether a message may go to the provider now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reserved {
    /// Recorded (now or by an earlier try of the same job): send.
    Go,
    /// The phone had its reminders for the day.
    OverCap,
    /// An earlier try of the job had the provider's acceptance recorded (its worker died
    /// before marking the job done): nothing to send again.
    AlreadySent,
}

/// Records the message (the job's id) before the provider is called, and for a capped message
/// counts it against the phone's `day`, in one transaction. A job recorded by an earlier try
/// goes on without counting again.
pub fn reserve(
    conn: &mut DbConnection,
    job_id: Uuid,
    label: &str,
    account: Uuid,
    capped: Option<(&str, NaiveDate)>,
    now: DateTime<Utc>,
) -> Result<Reserved, StoreError> {
    let ts = now.naive_utc();
    crate::db::write_transaction(conn, |c| {
        let known: Option<String> = sms_sends::table
            .find(job_id.to_string())
            .select(sms_sends::status)
            .first(c)
            .optional()?;
        match known.as_deref() {
            Some("sent") => return Ok(Reserved::AlreadySent),
            Some(_) => return Ok(Reserved::Go),
            None => {}
        }
        if let Some((phone_hash, day)) = capped {
            let insert = diesel::insert_into(sms_daily_counts::table)
                .values((
                    sms_daily_counts::phone_hash.eq(phone_hash),
                    sms_daily_counts::local_day.eq(day),
                    sms_daily_counts::sent.eq(0),
                ))
                .on_conflict_do_nothing();
            crate::db_run!(c, |c| insert.execute(c))?;
            // The row lock makes concurrent workers take the day's places one after another.
            let cap = i32::try_from(DAILY_CAP).unwrap_or(i32::MAX);
            let took = diesel::update(
                sms_daily_counts::table
                    .filter(sms_daily_counts::phone_hash.eq(phone_hash))
                    .filter(sms_daily_counts::local_day.eq(day))
                    .filter(sms_daily_counts::sent.lt(cap)),
            )
            .set(sms_daily_counts::sent.eq(sms_daily_counts::sent + 1))
            .execute(c)?;
            if took == 0 {
                return Ok(Reserved::OverCap);
            }
        }
        diesel::insert_into(sms_sends::table)
            .values((
                sms_sends::job_id.eq(job_id.to_string()),
                sms_sends::campaign.eq(label),
                sms_sends::account_id.eq(account.to_string()),
                sms_sends::status.eq("sending"),
                sms_sends::failures.eq(0),
                sms_sends::created_at.eq(ts),
                sms_sends::updated_at.eq(ts),
            ))
            .execute(c)?;
        Ok(Reserved::Go)
    })
}

/// What the provider said about a recorded message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    /// Down or unknown: the job tries again.
    Failed,
    /// Refused for good.
    Rejected,
}

pub fn record(
    conn: &mut DbConnection,
    job_id: Uuid,
    outcome: Outcome,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let row = sms_sends::table.find(job_id.to_string());
    let ts = now.naive_utc();
    match outcome {
        Outcome::Sent => diesel::update(row)
            .set((sms_sends::status.eq("sent"), sms_sends::updated_at.eq(ts)))
            .execute(conn)?,
        Outcome::Failed => diesel::update(row)
            .set((
                sms_sends::failures.eq(sms_sends::failures + 1),
                sms_sends::updated_at.eq(ts),
            ))
            .execute(conn)?,
        Outcome::Rejected => diesel::update(row)
            .set((
                sms_sends::status.eq("failed"),
                sms_sends::failures.eq(sms_sends::failures + 1),
                sms_sends::updated_at.eq(ts),
            ))
            .execute(conn)?,
    };
    Ok(())
}

/// Messages sent and failed tries, per campaign (or `event`), as the database has them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendStats {
    pub campaign: String,
    pub sent: i64,
    pub failed: i64,
}

pub fn stats(conn: &mut DbConnection) -> Result<Vec<SendStats>, StoreError> {
    let sent: Vec<(String, i64)> = sms_sends::table
        .filter(sms_sends::status.eq("sent"))
        .group_by(sms_sends::campaign)
        .select((sms_sends::campaign, diesel::dsl::count_star()))
        .load(conn)?;
    let failed: Vec<(String, Option<i64>)> = sms_sends::table
        .filter(sms_sends::failures.gt(0))
        .group_by(sms_sends::campaign)
        .select((sms_sends::campaign, diesel::dsl::sum(sms_sends::failures)))
        .load(conn)?;
    let mut out: std::collections::BTreeMap<String, SendStats> = Default::default();
    for (c, n) in sent {
        out.entry(c.clone())
            .or_insert(SendStats {
                campaign: c,
                sent: 0,
                failed: 0,
            })
            .sent = n;
    }
    for (c, n) in failed {
        out.entry(c.clone())
            .or_insert(SendStats {
                campaign: c,
                sent: 0,
                failed: 0,
            })
            .failed = n.unwrap_or(0);
    }
    Ok(out.into_values().collect())
}

/// Sends reminders and event messages through the SMS provider.
#[derive(Clone)]
pub struct SmsReminder {
    pub sms: Arc<dyn SmsSender>,
    pub vault: PiiVault,
}

/// One message as the handler sees it.
struct Delivery {
    label: String,
    /// `None` for event messages.
    campaign: Option<Campaign>,
    account: Uuid,
    person: Option<Uuid>,
    period: Option<Period>,
    notice: Option<Uuid>,
    zone: TimeZoneName,
    text: String,
    only_if: Option<Condition>,
    immediate: bool,
}

fn delivery(job: &Job) -> Result<Delivery, JobFailure> {
    if job.kind.as_str() == EVENT_KIND {
        let p: EventPayload = serde_json::from_str(&job.payload)
            .map_err(|e| JobFailure::permanent(format!("event payload: {e}")))?;
        return Ok(Delivery {
            label: "event".to_owned(),
            campaign: None,
            account: p.account_id,
            person: None,
            period: None,
            notice: None,
            zone: p.time_zone,
            text: p.text,
            only_if: p.only_if,
            immediate: p.immediate,
        });
    }
    let p: ReminderPayload = serde_json::from_str(&job.payload)
        .map_err(|e| JobFailure::permanent(format!("reminder payload: {e}")))?;
    Ok(Delivery {
        label: p.campaign.as_str().to_owned(),
        campaign: Some(p.campaign),
        account: p.account_id,
        person: p.person_id,
        period: p.period,
        notice: p.notice_id,
        zone: p.time_zone,
        text: p.text,
        only_if: None,
        immediate: false,
    })
}

/// Whether the appointment is still booked.
fn appointment_booked(conn: &mut DbConnection, id: Uuid) -> Result<bool, StoreError> {
    use crate::schema::appointments;
    let status: Option<String> = appointments::table
        .find(id.to_string())
        .select(appointments::status)
        .first(conn)
        .optional()?;
    Ok(status.as_deref() == Some("booked"))
}

/// What the database step before sending decided.
enum Before {
    Send(PhoneNumber),
    Skip(&'static str),
    OverCap,
}

fn before_sending(
    conn: &mut DbConnection,
    vault: &PiiVault,
    job_id: Uuid,
    d: &Delivery,
    now: DateTime<Utc>,
) -> Result<Before, StoreError> {
    let Some((phone, hash)) = phone_and_hash(conn, vault, d.account)? else {
        return Ok(Before::Skip("the account is gone"));
    };
    if let Some(Condition::AppointmentBooked { appointment_id }) = &d.only_if {
        if !appointment_booked(conn, *appointment_id)? {
            return Ok(Before::Skip("the appointment was cancelled"));
        }
    }
    if let Some(campaign) = d.campaign {
        if !super::prefs::get(conn, d.account)?.allows(campaign) {
            return Ok(Before::Skip("the account turned the campaign off"));
        }
        if campaign == Campaign::Arrears {
            if let Some(person) = d.person {
                if super::arrears::summary_of(conn, person, now)?.is_none() {
                    return Ok(Before::Skip("the arrears are paid"));
                }
            }
        }
        if let (Campaign::Due, Some(person), Some(period)) = (campaign, d.person, d.period) {
            if !super::due::still_due(conn, person, period)? {
                return Ok(Before::Skip("the month is paid, or being paid"));
            }
        }
        if let (Campaign::Notice, Some(person), Some(notice)) = (campaign, d.person, d.notice) {
            if !crate::notices::sms::still_for(conn, notice, person, now)? {
                return Ok(Before::Skip(
                    "the notice expired, or is no longer aimed at the person",
                ));
            }
        }
    }
    let day = d.zone.local_date(now);
    let capped = d.campaign.map(|_| (hash.as_str(), day));
    match reserve(conn, job_id, &d.label, d.account, capped, now)? {
        Reserved::Go => Ok(Before::Send(phone)),
        Reserved::OverCap => Ok(Before::OverCap),
        Reserved::AlreadySent => Ok(Before::Skip("an earlier try sent it")),
    }
}

impl JobHandler for SmsReminder {
    fn run<'a>(&'a self, ctx: &'a JobContext, job: &'a Job) -> JobFuture<'a> {
        Box::pin(async move {
            let d = delivery(job)?;
            let now = ctx.clock.now();
            let send_at = if d.immediate {
                now
            } else {
                daylight_send_time(now, d.zone)
            };
            if send_at > now {
                return Ok(JobDone::Later(send_at));
            }
            let vault = self.vault.clone();
            let job_id = job.id;
            let zone = d.zone;
            let (d, before) = ctx
                .db
                .run(move |c| {
                    let b = before_sending(c, &vault, job_id, &d, now)?;
                    Ok((d, b))
                })
                .await
                .map_err(|e| JobFailure::retry(e.to_string()))?;
            let to = match before {
                Before::Send(to) => to,
                Before::Skip(why) => {
                    tracing::info!(job_id = %job.id, why, "reminder not sent");
                    return Ok(JobDone::Done);
                }
                Before::OverCap => return Ok(JobDone::Later(next_morning(now, zone))),
            };
            let message = SmsMessage {
                id: job.id.to_string(),
                to,
                body: d.text,
            };
            let result = self.sms.send(&message).await;
            let outcome = match &result {
                Ok(_) => Outcome::Sent,
                Err(SmsError::Unavailable(_) | SmsError::Unknown(_)) => Outcome::Failed,
                Err(SmsError::Rejected(_)) => Outcome::Rejected,
            };
            let at = ctx.clock.now();
            // Recorded at once: a worker that dies after this and before the job is marked
            // done leaves a job the next try finds sent (see `Reserved::AlreadySent`), so the
            // duplicate window is only the provider's answer and this one write.
            if let Err(e) = ctx.db.run(move |c| record(c, job_id, outcome, at)).await {
                tracing::warn!(job_id = %job_id, error = %e, "recording an SMS outcome failed");
            }
            match result {
                Ok(_) => Ok(JobDone::Done),
                // Unknown: the provider may have taken it; the retry carries the same key.
                Err(SmsError::Unavailable(e) | SmsError::Unknown(e)) => Err(JobFailure::retry(e)),
                Err(SmsError::Rejected(e)) => Err(JobFailure::permanent(e)),
            }
        })
    }
}
