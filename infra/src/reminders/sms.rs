//! The `sms.reminder` job: one reminder text to one account's phone, in daylight only.
//!
//! The message's id is the job's id: it is in the database before the provider is called, and
//! it goes to the provider as the idempotency key, so a retry after a lost answer does not send
//! twice. A worker that dies after the provider accepted the message but before the job is
//! marked done leaves the job to the next worker, which sends it again with the same key.

use std::sync::Arc;

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use shebao_domain::identity::PhoneNumber;
use shebao_domain::ports::{SmsError, SmsMessage, SmsSender};
use shebao_domain::region::TimeZoneName;
use shebao_domain::reminders::{daylight_send_time, Campaign};
use shebao_security::PiiVault;
use uuid::Uuid;

use crate::db::{DbConnection, StoreError};
use crate::identity::PHONE_AAD;
use crate::jobs::{Job, JobContext, JobDone, JobFailure, JobFuture, JobHandler};
use crate::schema::accounts;

pub const KIND: &str = "sms.reminder";

/// What one reminder says, and to whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderPayload {
    pub campaign: Campaign,
    pub account_id: Uuid,
    /// The zone whose daylight the message waits for.
    pub time_zone: TimeZoneName,
    pub text: String,
}

/// The phone of an account, decrypted; `None` if the account is gone.
pub fn phone_of(
    conn: &mut DbConnection,
    vault: &PiiVault,
    account: Uuid,
) -> Result<Option<PhoneNumber>, StoreError> {
    let stored: Option<String> = accounts::table
        .find(account.to_string())
        .select(accounts::phone_enc)
        .first(conn)
        .optional()?;
    stored
        .map(|enc| {
            let e164 = vault
                .decrypt(&enc, PHONE_AAD)
                .map_err(|e| StoreError::Corrupt(format!("accounts.phone_enc: {e}")))?;
            PhoneNumber::parse(&e164)
                .map_err(|e| StoreError::Corrupt(format!("accounts.phone_enc: {e}")))
        })
        .transpose()
}

/// Sends reminders through the SMS provider.
#[derive(Clone)]
pub struct SmsReminder {
    pub sms: Arc<dyn SmsSender>,
    pub vault: PiiVault,
}

impl JobHandler for SmsReminder {
    fn run<'a>(&'a self, ctx: &'a JobContext, job: &'a Job) -> JobFuture<'a> {
        Box::pin(async move {
            let payload: ReminderPayload = serde_json::from_str(&job.payload)
                .map_err(|e| JobFailure::permanent(format!("reminder payload: {e}")))?;
            let now = ctx.clock.now();
            let send_at = daylight_send_time(now, payload.time_zone);
            if send_at > now {
                return Ok(JobDone::Later(send_at));
            }
            let vault = self.vault.clone();
            let account = payload.account_id;
            let phone = ctx
                .db
                .run(move |c| phone_of(c, &vault, account))
                .await
                .map_err(|e| JobFailure::retry(e.to_string()))?;
            let Some(to) = phone else {
                tracing::info!(job_id = %job.id, "the account is gone; nothing to send");
                return Ok(JobDone::Done);
            };
            let message = SmsMessage {
                id: job.id.to_string(),
                to,
                body: payload.text,
            };
            match self.sms.send(&message).await {
                Ok(_) => Ok(JobDone::Done),
                // Unknown: the provider may have taken it; the retry carries the same key.
                Err(SmsError::Unavailable(e) | SmsError::Unknown(e)) => Err(JobFailure::retry(e)),
                Err(SmsError::Rejected(e)) => Err(JobFailure::permanent(e)),
            }
        })
    }
}
