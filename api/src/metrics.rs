//! Prometheus metrics: request counts and latency per route, requests in flight, pool use, and
//! the background-job queue.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    pub requests: IntCounterVec,
    pub latency: HistogramVec,
    pub in_flight: IntGauge,
    pub db_pool: IntGaugeVec,
    /// Queued and running jobs per kind (read from the database at each scrape).
    pub jobs: IntGaugeVec,
    /// How long the oldest due, queued job has waited, in seconds (0 when none waits).
    pub jobs_oldest_queued_age: IntGauge,
    /// SMS sent, and provider tries that failed, per campaign (and `event`), from the database:
    /// the same in every instance whichever worker sent them.
    pub sms: IntGaugeVec,
}

impl Metrics {
    pub fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new_custom(Some("shebao".into()), None)?;
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests answered, by method, route pattern and status",
            ),
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time to answer an HTTP request, by method and route pattern",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            &["method", "route"],
        )?;
        let in_flight = IntGauge::new("http_requests_in_flight", "HTTP requests being handled")?;
        let db_pool = IntGaugeVec::new(
            Opts::new("db_pool_connections", "Database pool connections by state"),
            &["state"],
        )?;
        let jobs = IntGaugeVec::new(
            Opts::new(
                "jobs",
                "Background jobs queued and running, by kind and state",
            ),
            &["kind", "state"],
        )?;
        let jobs_oldest_queued_age = IntGauge::new(
            "jobs_oldest_queued_age_seconds",
            "How long the oldest due queued job has waited, in seconds",
        )?;
        let sms = IntGaugeVec::new(
            Opts::new(
                "sms_messages",
                "SMS reminders and event messages by campaign: sent, and provider tries that failed",
            ),
            &["campaign", "outcome"],
        )?;
        registry.register(Box::new(sms.clone()))?;
        registry.register(Box::new(jobs.clone()))?;
        registry.register(Box::new(jobs_oldest_queued_age.clone()))?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(in_flight.clone()))?;
        registry.register(Box::new(db_pool.clone()))?;
        Ok(Metrics {
            registry,
            requests,
            latency,
            in_flight,
            db_pool,
            jobs,
            jobs_oldest_queued_age,
            sms,
        })
    }

    /// The queue as the database shows it now. Every kind this build runs is shown, at 0 when
    /// it has no jobs.
    pub fn set_jobs(&self, stats: &shebao_infra::jobs::queue::QueueStats, kinds: &[&str]) {
        self.jobs.reset();
        for kind in kinds {
            for state in ["queued", "running"] {
                self.jobs.with_label_values(&[*kind, state]).set(0);
            }
        }
        for k in &stats.active {
            self.jobs
                .with_label_values(&[k.kind.as_str(), k.state.as_str()])
                .set(k.count);
        }
        self.jobs_oldest_queued_age.set(stats.oldest_queued_secs);
    }

    /// SMS counts as the database shows them now; every campaign is shown, at 0 when it has
    /// sent nothing.
    pub fn set_sms(&self, stats: &[shebao_infra::reminders::sms::SendStats]) {
        self.sms.reset();
        for campaign in shebao_domain::reminders::Campaign::ALL
            .iter()
            .map(|c| c.as_str())
            .chain(["event"])
        {
            for outcome in ["sent", "failed"] {
                self.sms.with_label_values(&[campaign, outcome]).set(0);
            }
        }
        for s in stats {
            self.sms
                .with_label_values(&[s.campaign.as_str(), "sent"])
                .set(s.sent);
            self.sms
                .with_label_values(&[s.campaign.as_str(), "failed"])
                .set(s.failed);
        }
    }

    /// The Prometheus text exposition of everything registered.
    pub fn render(&self) -> Result<Vec<u8>, prometheus::Error> {
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out)?;
        Ok(out)
    }
}
