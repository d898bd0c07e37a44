//! Where background jobs run: `shebao worker` (jobs only) and, unless `SHEBAO_JOBS=off`,
//! beside the HTTP server in `shebao serve`. Both build the same runner with the same handlers.

use std::sync::Arc;
use std::time::Duration;

use shebao_domain::jobs::{CronExpr, CronSchedule, JobKind};
use shebao_domain::ports::{Clock, SmsSender};
use shebao_domain::region::TimeZoneName;
use shebao_domain::reminders::Campaign;
use shebao_infra::config::Settings;
use shebao_infra::db::{Db, StoreError};
use shebao_infra::jobs::probe::{self, Probe};
use shebao_infra::jobs::{schedules, Handlers, Runner, RunnerConfig};
use shebao_infra::notices::sms::{self as notice_sms, NoticeCampaignJob};
use shebao_infra::reminders::campaigns::{kind_of, CampaignJob};
use shebao_infra::reminders::sms::{self as reminder_sms, SmsReminder};
use shebao_security::PiiVault;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Every job kind this build runs.
pub const KINDS: [&str; 9] = [
    probe::KIND,
    "campaign.due",
    "campaign.arrears",
    "campaign.statement",
    "campaign.resident_window",
    reminder_sms::KIND,
    reminder_sms::EVENT_KIND,
    notice_sms::KIND,
    shebao_infra::proxies::CODE_SMS_KIND,
];

/// Persons read and enqueued per transaction by a campaign.
pub(crate) const CAMPAIGN_PAGE: usize = 500;

/// Every job kind this build knows, with its handler.
pub fn handlers(sms: Arc<dyn SmsSender>, vault: PiiVault) -> Handlers {
    let mut h = Handlers::new().with(probe::KIND, Probe).with(
        notice_sms::KIND,
        NoticeCampaignJob {
            page: CAMPAIGN_PAGE,
        },
    );
    for campaign in Campaign::SCHEDULED {
        h = h.with(
            kind_of(campaign),
            CampaignJob {
                campaign,
                page: CAMPAIGN_PAGE,
            },
        );
    }
    let code_sms = shebao_infra::proxies::ProxyCodeSms {
        sms: sms.clone(),
        vault: vault.clone(),
    };
    let sender = SmsReminder { sms, vault };
    h.with(reminder_sms::KIND, sender.clone())
        .with(reminder_sms::EVENT_KIND, sender)
        .with(shebao_infra::proxies::CODE_SMS_KIND, code_sms)
}

/// The schedules every deployment has: (name, kind, cron expression), in Beijing time.
const SCHEDULES: [(&str, &str, &str); 4] = [
    // The 10th of each month at 10:00.
    ("campaign.due", "campaign.due", "0 10 10 * *"),
    // Every Monday at 10:00.
    ("campaign.arrears", "campaign.arrears", "0 10 * * Mon"),
    // The first day of each quarter at 10:00.
    (
        "campaign.statement",
        "campaign.statement",
        "0 10 1 1,4,7,10 *",
    ),
    // Every day at 09:00: each region's window phase is read on its own date.
    (
        "campaign.resident_window",
        "campaign.resident_window",
        "0 9 * * *",
    ),
];

/// Creates (or corrects) the built-in schedules.
async fn register_schedules(db: &Db, now: chrono::DateTime<chrono::Utc>) -> Result<(), StoreError> {
    db.run(move |c| {
        for (name, kind, expr) in SCHEDULES {
            let kind = JobKind::parse(kind).map_err(|e| StoreError::Config(e.to_string()))?;
            let schedule = CronSchedule {
                expr: CronExpr::parse(expr).map_err(|e| StoreError::Config(e.to_string()))?,
                zone: TimeZoneName::ASIA_SHANGHAI,
            };
            schedules::upsert(c, name, &kind, &schedule, now)?;
        }
        Ok(())
    })
    .await
}

pub fn runner_config(settings: &Settings) -> RunnerConfig {
    RunnerConfig {
        worker: RunnerConfig::worker_name(),
        lease: settings.job_lease,
        poll: settings.job_poll,
        concurrency: settings.job_concurrency,
        retry: Default::default(),
        grace: Duration::from_secs(settings.shutdown_timeout_secs),
    }
}

/// A runner working in the background of this process.
pub struct RunningJobs {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl RunningJobs {
    /// Registers the built-in schedules, then runs jobs until [`RunningJobs::stop`].
    pub fn start(
        db: Db,
        clock: Arc<dyn Clock>,
        settings: &Settings,
        sms: Arc<dyn SmsSender>,
        vault: PiiVault,
    ) -> RunningJobs {
        let runner = Runner::new(
            db.clone(),
            clock.clone(),
            handlers(sms, vault),
            runner_config(settings),
        );
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            if let Err(e) = register_schedules(&db, clock.now()).await {
                tracing::warn!(error = %e, "registering the job schedules failed; the runner goes on");
            }
            runner.run(stopped).await;
        });
        RunningJobs { stop, task }
    }

    /// Claims nothing more, lets the running jobs finish (within the grace period), releases
    /// the rest, and returns when the runner has stopped.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.task.await {
            tracing::warn!(error = %e, "the job runner ended abnormally");
        }
    }
}
