//! A notice sent by SMS to its audience: one `campaign.notice` job per notice (however often it
//! is asked for), run when the notice is published, which enqueues one `sms.reminder` of
//! campaign `notice` per person the rule reaches then — those with a bound account that has not
//! turned notices off — page by page (one query and one multi-row insert a page). The dedupe
//! key (campaign, person, notice) makes each person's message once. The reminders' own rules
//! apply at sending: daylight in the person's region, at most three reminders a phone and day,
//! the account's choice checked again, and the notice still shown and still aimed at the person.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use shebao_domain::jobs::JobKind;
use shebao_domain::notices::{matching_date, sms_slot, sms_text, NoticeTitle};
use shebao_domain::reminders::Campaign;
use uuid::Uuid;

use super::{audience, store};
use crate::db::{DbConnection, StoreError};
use crate::jobs::queue::{self, NewJob};
use crate::jobs::{Job, JobContext, JobDone, JobFailure, JobFuture, JobHandler};
use crate::registry::stored;
use crate::reminders::campaigns::{enqueue_notice_reminders, Reminder};

/// The job kind that enqueues a notice's messages.
pub const KIND: &str = "campaign.notice";

/// The notice's sending asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fired {
    pub job_id: Uuid,
    /// `false`: it had been asked for already; `job_id` is that job.
    pub new: bool,
}

fn job_key(notice: Uuid) -> String {
    format!("campaign:notice:{notice}")
}

/// Asks for `notice` to go out by SMS: its job, due when the notice is published (now, if it
/// is), once per notice. Records the job with the notice. Safe inside a larger transaction.
pub fn fire(
    conn: &mut DbConnection,
    notice: &store::Notice,
    now: DateTime<Utc>,
) -> Result<Fired, StoreError> {
    let kind = JobKind::parse(KIND).map_err(|e| StoreError::Config(format!("job kind: {e}")))?;
    let job = NewJob {
        kind,
        payload: serde_json::json!({ "notice_id": notice.id }).to_string(),
        run_at: notice.schedule.publish_at.max(now),
        max_attempts: 5,
        dedupe_key: Some(job_key(notice.id)),
    };
    if let Some(job_id) = queue::enqueue(conn, &job, now)? {
        store::set_sms_job(conn, notice.id, job_id)?;
        return Ok(Fired { job_id, new: true });
    }
    let job_id = queue::by_dedupe_key(conn, &job_key(notice.id))?
        .ok_or_else(|| StoreError::Corrupt(format!("job of notice {} vanished", notice.id)))?;
    Ok(Fired { job_id, new: false })
}

/// Enqueues the messages of `notice` to the persons its rule reaches at `now`, `page` persons
/// a transaction; returns how many were new. Nothing once it has expired (or before it shows).
pub fn enqueue(
    conn: &mut DbConnection,
    notice: Uuid,
    now: DateTime<Utc>,
    page: usize,
) -> Result<usize, StoreError> {
    let Some(n) = store::get(conn, notice)? else {
        return Ok(0);
    };
    if !n.schedule.is_live(now) {
        return Ok(0);
    }
    let today = matching_date(now);
    let title = stored("notices.title", NoticeTitle::parse(&n.title))?;
    let text = sms_text(n.kind, &title);
    let slot = sms_slot(&n.id.to_string());
    let mut after = None;
    let mut new = 0;
    loop {
        let (added, last) = crate::db::write_transaction(conn, |c| {
            let batch = audience::recipients(c, &n.audience, today, after, page.max(1))?;
            let last = batch.last().map(|r| r.person_id);
            let reminders = batch.iter().map(|r| Reminder {
                campaign: Campaign::Notice,
                person: r.person_id,
                account: r.account_id,
                zone: r.time_zone,
                slot: &slot,
                period: None,
                text: text.clone(),
            });
            let added = enqueue_notice_reminders(c, reminders, n.id, now)?;
            Ok::<_, StoreError>((added, last))
        })?;
        new += added;
        match last {
            Some(last) => after = Some(last),
            None => return Ok(new),
        }
    }
}

/// Whether a message announcing `notice` may still go to `person` at `now`: the notice shows
/// and its rule reaches them today.
pub fn still_for(
    conn: &mut DbConnection,
    notice: Uuid,
    person: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let Some(n) = store::get(conn, notice)? else {
        return Ok(false);
    };
    if !n.schedule.is_live(now) {
        return Ok(false);
    }
    let today = matching_date(now);
    Ok(audience::facts_of(conn, person, today)?.is_some_and(|f| n.audience.matches(&f, today)))
}

#[derive(Debug, Deserialize)]
struct Payload {
    notice_id: Uuid,
}

/// The job of one notice's sending.
#[derive(Debug, Clone, Copy)]
pub struct NoticeCampaignJob {
    /// Persons read and enqueued per transaction.
    pub page: usize,
}

impl JobHandler for NoticeCampaignJob {
    fn run<'a>(&'a self, ctx: &'a JobContext, job: &'a Job) -> JobFuture<'a> {
        Box::pin(async move {
            let p: Payload = serde_json::from_str(&job.payload)
                .map_err(|e| JobFailure::permanent(format!("notice payload: {e}")))?;
            let now = ctx.clock.now();
            let notice = p.notice_id;
            let publish_at = ctx
                .db
                .run(move |c| Ok(store::get(c, notice)?.map(|n| n.schedule.publish_at)))
                .await
                .map_err(|e| JobFailure::retry(e.to_string()))?;
            if let Some(at) = publish_at.filter(|at| *at > now) {
                return Ok(JobDone::Later(at));
            }
            let page = self.page;
            let new = ctx
                .db
                .run(move |c| enqueue(c, notice, now, page))
                .await
                .map_err(|e| JobFailure::retry(e.to_string()))?;
            tracing::info!(notice = %notice, reminders = new, "notice messages enqueued");
            Ok(JobDone::Done)
        })
    }
}
