//! The reminders benchmark's commands (`bench/reminders.sh`): `bench reminder-audience` (the
//! `due` campaign's audience), `bench fire-campaign` (fires a campaign's slot and runs its job
//! to the end, timed: the enqueue) and `bench sms-standin` (the SMS stand-in as a process of its
//! own, for `shebao worker` processes to deliver to). Compiled with the `synthetic` feature.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, Utc};
use shebao_domain::jobs::{JobKind, JobState};
use shebao_domain::period::Period;
use shebao_domain::ports::Clock;
use shebao_domain::region::TimeZoneName;
use shebao_domain::reminders::Campaign;
use shebao_infra::clock::SystemClock;
use shebao_infra::db::Db;
use shebao_infra::jobs::{queue, Handlers, Runner, RunnerConfig};
use shebao_infra::reminders::campaigns::{self, kind_of, CampaignJob};
use shebao_infra::synthetic as seed;
use shebao_security::PiiVault;

use super::{load, migrated, out};

/// `bench reminder-audience`: `persons` flexible-employment persons with a bound account and
/// `month` (default: this month in Beijing) unpaid.
pub fn reminder_audience(persons: u64, seed_value: u64, month: Option<&str>) -> anyhow::Result<()> {
    let (settings, keys) = load()?;
    let vault = PiiVault::new(&keys);
    let mut conn = migrated(&settings)?;
    let now = SystemClock.now();
    let period = match month {
        Some(m) => Period::parse(m).map_err(|e| anyhow::anyhow!("--month {m}: {e}"))?,
        None => Period::containing(TimeZoneName::ASIA_SHANGHAI.local_date(now)),
    };
    let started = Instant::now();
    let s = seed::reminder_audience(
        &mut conn,
        &vault,
        persons,
        seed_value,
        period,
        now,
        |done| {
            if done % 100_000 == 0 {
                let _ = writeln!(std::io::stderr(), "  {done} persons");
            }
        },
    )?;
    let secs = started.elapsed().as_secs_f64();
    out(&format!(
        "{} flexible-employment persons with a bound account and {period} unpaid seeded (seed {seed_value}) in {secs:.1} s ({:.0} persons/s)",
        s.persons,
        s.persons as f64 / secs.max(1e-9)
    ));
    Ok(())
}

/// `bench fire-campaign`: fires `campaign`'s slot containing `as_of` (default now) as
/// `POST /v1/staff/campaigns/{kind}:run` does, then runs the campaign's job with the same
/// handler and page size as `shebao worker` (a runner that runs campaign jobs only, so no
/// message is sent meanwhile) until the job is done. Prints the reminders enqueued and the time
/// from the firing to the job's end.
pub fn fire_campaign(campaign: &str, as_of: Option<DateTime<Utc>>) -> anyhow::Result<()> {
    let campaign = Campaign::parse(campaign).map_err(|e| anyhow::anyhow!("--campaign: {e}"))?;
    let (settings, _keys) = load()?;
    drop(migrated(&settings)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let db = Db::connect(&settings.database_url, &settings.pool_options())?;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let before = count_reminders(&db).await?;
        let started = Instant::now();
        let now = clock.now();
        let as_of = as_of.unwrap_or(now);
        let fired = db
            .run(move |c| {
                shebao_infra::db::write_transaction(c, |c| campaigns::fire(c, campaign, as_of, now))
            })
            .await?;
        if !fired.new {
            anyhow::bail!(
                "the slot {} of {} was fired already (job {}): use a fresh database",
                fired.slot,
                campaign.as_str(),
                fired.job_id
            );
        }
        let handlers = Handlers::new().with(
            kind_of(campaign),
            CampaignJob {
                campaign,
                page: crate::jobs::CAMPAIGN_PAGE,
            },
        );
        let runner = Runner::new(
            db.clone(),
            clock,
            handlers,
            RunnerConfig {
                concurrency: 1,
                ..crate::jobs::runner_config(&settings)
            },
        );
        let job_id = fired.job_id;
        loop {
            runner.run_once().await;
            let job = db
                .run(move |c| queue::get(c, job_id))
                .await?
                .context("the campaign job vanished")?;
            match job.state {
                JobState::Done => break,
                JobState::Dead => anyhow::bail!("the campaign job died: {:?}", job.last_error),
                JobState::Queued if job.last_error.is_some() => {
                    anyhow::bail!("the campaign job failed: {:?}", job.last_error)
                }
                _ => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
        let secs = started.elapsed().as_secs_f64();
        let enqueued = count_reminders(&db).await? - before;
        out(&format!(
            "campaign {} slot {} (job {job_id}): {enqueued} reminders enqueued in {secs:.2} s ({:.0}/s)",
            campaign.as_str(),
            fired.slot,
            enqueued as f64 / secs.max(1e-9)
        ));
        Ok(())
    })
}

/// Reminder jobs in the queue, in any state.
async fn count_reminders(db: &Db) -> anyhow::Result<i64> {
    let kind = JobKind::parse(shebao_infra::reminders::sms::KIND)
        .map_err(|e| anyhow::anyhow!("job kind: {e}"))?;
    let filter = queue::JobFilter {
        state: None,
        kind: Some(kind),
    };
    let counts = db.run(move |c| queue::counts(c, &filter)).await?;
    Ok(counts.iter().map(|k| k.count).sum())
}

/// `bench sms-standin`: the SMS stand-in on `listen` until SIGTERM or SIGINT.
pub fn sms_standin(listen: &str, account_sid: &str, auth_token: &str) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let standin = shebao_standins::sms::SmsStandIn::start(listen, account_sid, auth_token)
            .with_context(|| format!("starting the SMS stand-in on {listen}"))?;
        out(&format!("SMS stand-in listening on {}", standin.base_url));
        crate::worker::stop_signal().await?;
        standin.stop().await;
        Ok(())
    })
}
