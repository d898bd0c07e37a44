//! The campaign jobs (`campaign.due`, `campaign.arrears`, `campaign.statement`,
//! `campaign.resident_window`): fired by their schedules (payload `{"slot": RFC 3339}`) or by
//! hand (`{"as_of": RFC 3339}`, `POST /v1/staff/campaigns/{kind}:run`), each enqueues one
//! `sms.reminder` per person (and recipient) with the dedupe key (campaign, person, slot):
//! however often a slot fires or the job reruns, a person hears once per slot.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use shebao_domain::jobs::JobKind;
use shebao_domain::region::TimeZoneName;
use shebao_domain::reminders::{campaign_slot, daylight_send_time, Campaign};
use uuid::Uuid;

use super::sms::{ReminderPayload, MAX_ATTEMPTS};
use crate::db::{DbConnection, StoreError};
use crate::jobs::queue::{self, NewJob};
use crate::jobs::{Job, JobContext, JobDone, JobFailure, JobFuture, JobHandler};

/// The job kind of a campaign: `campaign.{name}`.
pub fn kind_of(campaign: Campaign) -> &'static str {
    match campaign {
        Campaign::Due => "campaign.due",
        Campaign::Arrears => "campaign.arrears",
        Campaign::Statement => "campaign.statement",
        Campaign::ResidentWindow => "campaign.resident_window",
        Campaign::Notice => crate::notices::sms::KIND,
    }
}

/// One reminder to enqueue.
pub struct Reminder<'a> {
    pub campaign: Campaign,
    pub person: Uuid,
    pub account: Uuid,
    pub zone: TimeZoneName,
    /// The slot part of the dedupe key.
    pub slot: &'a str,
    /// The month a `due` reminder is about: checked again, still unpaid, at sending.
    pub period: Option<shebao_domain::period::Period>,
    pub text: String,
}

/// The job of one reminder: due at once, or at the next local 08:00. `notice`: the notice a
/// `notice` reminder announces (checked still shown, and still aimed at the person, at sending).
fn reminder_job(
    r: Reminder<'_>,
    notice: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<NewJob, StoreError> {
    let kind = JobKind::parse(super::sms::KIND)
        .map_err(|e| StoreError::Config(format!("job kind: {e}")))?;
    let payload = ReminderPayload {
        campaign: r.campaign,
        account_id: r.account,
        person_id: Some(r.person),
        period: r.period,
        time_zone: r.zone,
        text: r.text,
        notice_id: notice,
    };
    Ok(NewJob {
        kind,
        payload: serde_json::to_string(&payload)
            .map_err(|e| StoreError::Config(format!("payload: {e}")))?,
        run_at: daylight_send_time(now, r.zone),
        max_attempts: MAX_ATTEMPTS,
        dedupe_key: Some(r.campaign.dedupe_key(&r.person.to_string(), r.slot)),
    })
}

/// Enqueues one reminder (due at once, or at the next local 08:00); `true` when it is new.
pub fn enqueue_reminder(
    conn: &mut DbConnection,
    r: Reminder<'_>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    Ok(queue::enqueue(conn, &reminder_job(r, None, now)?, now)?.is_some())
}

/// Enqueues a page of reminders in one statement per 1,000 (what [`enqueue_reminder`] does for
/// each, without a round trip per message); returns how many were new.
pub fn enqueue_reminders<'a>(
    conn: &mut DbConnection,
    reminders: impl IntoIterator<Item = Reminder<'a>>,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    enqueue_jobs(conn, reminders, None, now)
}

/// [`enqueue_reminders`] for the messages that announce `notice` (campaign `notice`).
pub fn enqueue_notice_reminders<'a>(
    conn: &mut DbConnection,
    reminders: impl IntoIterator<Item = Reminder<'a>>,
    notice: Uuid,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    enqueue_jobs(conn, reminders, Some(notice), now)
}

fn enqueue_jobs<'a>(
    conn: &mut DbConnection,
    reminders: impl IntoIterator<Item = Reminder<'a>>,
    notice: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let jobs = reminders
        .into_iter()
        .map(|r| reminder_job(r, notice, now))
        .collect::<Result<Vec<_>, _>>()?;
    queue::enqueue_many(conn, &jobs, now)
}

/// Runs a campaign for the slot containing `as_of`: enqueues its reminders page by page (each
/// page one transaction); returns how many were new.
pub fn run_campaign(
    conn: &mut DbConnection,
    campaign: Campaign,
    as_of: DateTime<Utc>,
    now: DateTime<Utc>,
    page: usize,
) -> Result<usize, StoreError> {
    let page = page.max(1);
    match campaign {
        Campaign::Due => {
            let period = shebao_domain::period::Period::containing(
                TimeZoneName::ASIA_SHANGHAI.local_date(as_of),
            );
            super::due::enqueue_month(conn, period, page, now)
        }
        Campaign::Arrears => {
            super::arrears::enqueue(conn, &campaign_slot(campaign, as_of), page, now)
        }
        Campaign::Statement => {
            super::statement::enqueue(conn, &campaign_slot(campaign, as_of), page, now)
        }
        Campaign::ResidentWindow => super::window::enqueue(conn, page, now),
        // Not slotted: each notice has its own job (`crate::notices::sms`).
        Campaign::Notice => Err(StoreError::Config(
            "the notice campaign runs per notice, not per slot".into(),
        )),
    }
}

/// A campaign fired by hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fired {
    pub job_id: Uuid,
    pub slot: String,
    /// `false`: the slot had been fired by hand already; `job_id` is that firing's job.
    pub new: bool,
}

/// Fires `campaign`'s slot containing `as_of` now: one job per (campaign, slot), however often
/// it is asked for.
pub fn fire(
    conn: &mut DbConnection,
    campaign: Campaign,
    as_of: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Fired, StoreError> {
    let slot = campaign_slot(campaign, as_of);
    let key = format!("campaign:{}:{slot}", campaign.as_str());
    let kind = JobKind::parse(kind_of(campaign))
        .map_err(|e| StoreError::Config(format!("job kind: {e}")))?;
    let job = NewJob {
        kind,
        payload: serde_json::json!({
            "as_of": as_of.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        })
        .to_string(),
        run_at: now,
        max_attempts: 5,
        dedupe_key: Some(key.clone()),
    };
    if let Some(job_id) = queue::enqueue(conn, &job, now)? {
        return Ok(Fired {
            job_id,
            slot,
            new: true,
        });
    }
    let job_id = queue::by_dedupe_key(conn, &key)?
        .ok_or_else(|| StoreError::Corrupt(format!("job {key} vanished")))?;
    Ok(Fired {
        job_id,
        slot,
        new: false,
    })
}

#[derive(Debug, Deserialize)]
struct CampaignPayload {
    slot: Option<DateTime<Utc>>,
    as_of: Option<DateTime<Utc>>,
}

/// The job of one campaign.
#[derive(Debug, Clone, Copy)]
pub struct CampaignJob {
    pub campaign: Campaign,
    /// Persons read and enqueued per transaction.
    pub page: usize,
}

impl JobHandler for CampaignJob {
    fn run<'a>(&'a self, ctx: &'a JobContext, job: &'a Job) -> JobFuture<'a> {
        Box::pin(async move {
            let p: CampaignPayload = serde_json::from_str(&job.payload)
                .map_err(|e| JobFailure::permanent(format!("campaign payload: {e}")))?;
            let as_of = p
                .as_of
                .or(p.slot)
                .ok_or_else(|| JobFailure::permanent("campaign payload: no slot or as_of"))?;
            let now = ctx.clock.now();
            let (campaign, page) = (self.campaign, self.page);
            let new = ctx
                .db
                .run(move |c| run_campaign(c, campaign, as_of, now, page))
                .await
                .map_err(|e| JobFailure::retry(e.to_string()))?;
            tracing::info!(
                campaign = campaign.as_str(),
                reminders = new,
                "reminders enqueued"
            );
            Ok(JobDone::Done)
        })
    }
}
