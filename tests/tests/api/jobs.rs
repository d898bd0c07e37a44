//! The job system on the real queue and the real runner, on SQLite and PostgreSQL: dedupe,
//! leases, retries with backoff, dead jobs, schedules, concurrent workers, and the staff API.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use serde_json::{json, Value};
use shebao_domain::jobs::{CronExpr, CronSchedule, JobKind, JobState, RetryPolicy};
use shebao_domain::ports::{Clock, ManualClock};
use shebao_domain::region::TimeZoneName;
use shebao_domain::staff::StaffRole;
use shebao_infra::db::{Db, DbConnection, PoolOptions};
use shebao_infra::jobs::probe::{self, Probe};
use shebao_infra::jobs::queue::{self, NewJob};
use shebao_infra::jobs::{schedules, Handlers, Runner, RunnerConfig};
use shebao_tests::{assert_problem, spawn_app, TestDatabase};
use uuid::Uuid;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

struct Queue {
    db: TestDatabase,
    pool: Db,
    clock: Arc<ManualClock>,
}

impl Queue {
    fn new() -> Queue {
        let db = TestDatabase::new();
        drop(db.connect()); // migrated
        let pool = Db::connect(
            &db.url,
            &PoolOptions {
                max_size: 12,
                acquire_timeout: Duration::from_secs(10),
            },
        )
        .unwrap();
        Queue {
            db,
            pool,
            clock: Arc::new(ManualClock::new(at("2026-12-02T10:30:00Z"))),
        }
    }

    fn conn(&self) -> DbConnection {
        DbConnection::open(&self.db.url).unwrap()
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    fn runner(&self, name: &str) -> Runner {
        Runner::new(
            self.pool.clone(),
            self.clock.clone(),
            Handlers::new().with(probe::KIND, Probe),
            RunnerConfig {
                worker: name.to_owned(),
                lease: Duration::from_secs(30),
                poll: Duration::from_millis(20),
                concurrency: 4,
                retry: RetryPolicy::default(),
                grace: Duration::from_secs(5),
            },
        )
    }

    fn probe(&self, payload: Value, max_attempts: u32, key: Option<&str>) -> Option<Uuid> {
        let job = NewJob {
            kind: JobKind::parse(probe::KIND).unwrap(),
            payload: payload.to_string(),
            run_at: self.now(),
            max_attempts,
            dedupe_key: key.map(str::to_owned),
        };
        queue::enqueue(&mut self.conn(), &job, self.now()).unwrap()
    }

    fn job(&self, id: Uuid) -> queue::Job {
        queue::get(&mut self.conn(), id).unwrap().unwrap()
    }

    fn runs(&self, id: Uuid) -> Vec<probe::ProbeRun> {
        probe::runs(&mut self.conn(), id).unwrap()
    }
}

#[tokio::test]
async fn the_same_dedupe_key_is_enqueued_once() {
    let q = Queue::new();
    let first = q.probe(json!({}), 3, Some("reminder:p1:2026-12"));
    assert!(first.is_some());
    assert_eq!(q.probe(json!({}), 3, Some("reminder:p1:2026-12")), None);
    // Without a key every enqueue is a new job.
    assert!(q.probe(json!({}), 3, None).is_some());
    assert!(q.probe(json!({}), 3, None).is_some());
    let mut c = q.conn();
    use shebao_infra::schema::jobs;
    assert_eq!(jobs::table.count().get_result::<i64>(&mut c).unwrap(), 3);
    // A duplicate inside a larger transaction does not spoil it (on PostgreSQL a failed
    // INSERT would abort the transaction): the statement after it still runs and commits.
    let now = q.now();
    let later = c
        .transaction(|c| {
            let job = NewJob::now(JobKind::parse("probe").unwrap(), &json!({}), now);
            let dup = NewJob {
                dedupe_key: Some("reminder:p1:2026-12".into()),
                ..job.clone()
            };
            assert_eq!(queue::enqueue(c, &dup, now)?, None);
            queue::enqueue(c, &job, now)
        })
        .unwrap();
    assert!(later.is_some());
    assert_eq!(jobs::table.count().get_result::<i64>(&mut c).unwrap(), 4);
    // The job ran once, however often it was enqueued.
    let runner = q.runner("w1");
    assert_eq!(runner.run_once().await, 4);
    assert_eq!(q.runs(first.unwrap()).len(), 1);
    assert_eq!(q.job(first.unwrap()).state, JobState::Done);
}

#[tokio::test]
async fn a_worker_that_dies_loses_its_lease_and_the_job_runs_elsewhere() {
    let q = Queue::new();
    let id = q.probe(json!({}), 3, None).unwrap();
    let dying = q.runner("dying");
    let other = q.runner("other");
    // The first worker claims the job, then dies without finishing or releasing it.
    let claimed = dying.claim(4).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let held = &claimed[0];
    assert_eq!(held.state, JobState::Running);
    assert_eq!(held.attempts, 1);
    assert_eq!(held.leased_until, Some(at("2026-12-02T10:30:30Z")));
    // While the lease holds, nobody else gets the job.
    assert!(other.claim(4).await.unwrap().is_empty());
    q.clock.advance(TimeDelta::seconds(30));
    assert!(
        other.claim(4).await.unwrap().is_empty(),
        "lease ends after, not at, 30 s"
    );
    // Past the lease the job is claimable again, and the other worker runs it.
    q.clock.advance(TimeDelta::seconds(1));
    assert_eq!(other.run_once().await, 1);
    let job = q.job(id);
    assert_eq!(job.state, JobState::Done);
    assert_eq!(job.attempts, 2);
    let runs = q.runs(id);
    assert_eq!(runs.len(), 1);
    assert_eq!((runs[0].attempt, runs[0].worker.as_str()), (2, "other"));
    // The dead worker's claim can no longer touch the job.
    let token = held.lease_owner.clone().unwrap();
    let mut c = q.conn();
    assert!(!queue::complete(&mut c, id, &token, q.now()).unwrap());
    assert!(!queue::renew(&mut c, id, &token, q.now(), q.now()).unwrap());
    assert_eq!(q.job(id).state, JobState::Done);
}

#[tokio::test]
async fn failures_retry_with_backoff_then_the_job_is_dead_with_its_error() {
    let q = Queue::new();
    let always = q.probe(json!({"fail_attempts": 99}), 3, None).unwrap();
    let once = q.probe(json!({"fail_attempts": 1}), 3, None).unwrap();
    let runner = q.runner("w");
    let t0 = q.now();

    assert_eq!(runner.run_once().await, 2);
    let job = q.job(always);
    assert_eq!((job.state, job.attempts), (JobState::Queued, 1));
    assert_eq!(
        job.last_error.as_deref(),
        Some("probe failure on try 1 as asked")
    );
    // First retry: 5–10 s later (10 s step, equal jitter).
    let wait = job.run_at - t0;
    assert!(
        wait >= TimeDelta::seconds(5) && wait <= TimeDelta::seconds(10),
        "{wait}"
    );
    // Not due yet: nothing runs.
    assert_eq!(runner.run_once().await, 0);

    q.clock.advance(TimeDelta::seconds(10));
    let t1 = q.now();
    assert_eq!(runner.run_once().await, 2);
    // The one that failed once is done now.
    assert_eq!(q.job(once).state, JobState::Done);
    assert_eq!(q.runs(once).len(), 2);
    let job = q.job(always);
    assert_eq!((job.state, job.attempts), (JobState::Queued, 2));
    // Second retry: 10–20 s later.
    let wait = job.run_at - t1;
    assert!(
        wait >= TimeDelta::seconds(10) && wait <= TimeDelta::seconds(20),
        "{wait}"
    );

    q.clock.advance(TimeDelta::seconds(20));
    assert_eq!(runner.run_once().await, 1);
    let job = q.job(always);
    assert_eq!((job.state, job.attempts), (JobState::Dead, 3));
    assert_eq!(
        job.last_error.as_deref(),
        Some("probe failure on try 3 as asked")
    );
    // Dead stays dead.
    q.clock.advance(TimeDelta::hours(2));
    assert_eq!(runner.run_once().await, 0);
    assert_eq!(q.runs(always).len(), 3);
}

#[tokio::test]
async fn a_job_whose_worker_died_on_its_last_try_is_dead_not_run_again() {
    let q = Queue::new();
    let id = q.probe(json!({}), 1, None).unwrap();
    assert_eq!(q.runner("dying").claim(1).await.unwrap().len(), 1);
    q.clock.advance(TimeDelta::seconds(31));
    assert_eq!(q.runner("next").run_once().await, 1);
    let job = q.job(id);
    assert_eq!(job.state, JobState::Dead);
    assert!(job.last_error.unwrap().contains("lease expired"));
    assert!(q.runs(id).is_empty());
}

#[tokio::test]
async fn on_stop_a_runner_releases_the_jobs_that_did_not_finish_in_time() {
    let q = Queue::new();
    let id = q.probe(json!({"sleep_ms": 30_000}), 3, None).unwrap();
    let runner = Runner::new(
        q.pool.clone(),
        q.clock.clone(),
        Handlers::new().with(probe::KIND, Probe),
        RunnerConfig {
            worker: "stopping".into(),
            grace: Duration::from_millis(200),
            poll: Duration::from_millis(20),
            ..RunnerConfig::default()
        },
    );
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(runner.run(stopped));
    // Wait until the probe has started.
    for _ in 0..200 {
        if !q.runs(id).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(q.runs(id).len(), 1);
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("the runner stops within its grace period")
        .unwrap();
    // Given back: queued, due now, its try not counted, no lease.
    let job = q.job(id);
    assert_eq!(job.state, JobState::Queued);
    assert_eq!(job.attempts, 0);
    assert_eq!(job.leased_until, None);
    assert!(q.runs(id)[0].finished_at.is_none());
}

fn hourly(q: &Queue, name: &str) {
    let s = CronSchedule {
        expr: CronExpr::parse("0 * * * *").unwrap(),
        zone: TimeZoneName::parse("Asia/Shanghai").unwrap(),
    };
    schedules::upsert(
        &mut q.conn(),
        name,
        &JobKind::parse(probe::KIND).unwrap(),
        &s,
        q.now(),
    )
    .unwrap();
}

fn slot_jobs(q: &Queue) -> Vec<(String, String)> {
    use shebao_infra::schema::jobs;
    jobs::table
        .filter(jobs::dedupe_key.is_not_null())
        .select((jobs::dedupe_key.assume_not_null(), jobs::payload))
        .order(jobs::dedupe_key)
        .load(&mut q.conn())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_schedule_slot_fires_once_with_two_runners() {
    let q = Queue::new();
    hourly(&q, "probe.hourly");
    let (a, b) = (q.runner("a"), q.runner("b"));
    // Nothing before the first slot after the schedule was made (10:30).
    q.clock.advance(TimeDelta::minutes(29));
    let (x, y) = tokio::join!(a.fire_schedules(), b.fire_schedules());
    assert_eq!(x.unwrap() + y.unwrap(), 0);
    // 11:00:05: both runners see the 11:00 slot; it fires once.
    q.clock.advance(TimeDelta::seconds(65));
    for _ in 0..3 {
        let (x, y) = tokio::join!(a.fire_schedules(), b.fire_schedules());
        let _ = (x.unwrap(), y.unwrap());
    }
    let jobs = slot_jobs(&q);
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(jobs[0].0, "schedule:probe.hourly:2026-12-02T11:00:00Z");
    let payload: Value = serde_json::from_str(&jobs[0].1).unwrap();
    assert_eq!(
        payload,
        json!({"schedule": "probe.hourly", "slot": "2026-12-02T11:00:00Z"})
    );
    // And the slot's job runs once, on one of them.
    let ran = a.run_once().await + b.run_once().await;
    assert_eq!(ran, 1);
    assert_eq!(probe::all_runs(&mut q.conn()).unwrap().len(), 1);
}

#[tokio::test]
async fn a_missed_slot_fires_once_late() {
    let q = Queue::new();
    hourly(&q, "probe.hourly");
    let runner = q.runner("a");
    // Down from 10:30 to 13:40: 11:00, 12:00 and 13:00 were missed; 13:00 fires, once.
    q.clock.set(at("2026-12-02T13:40:00Z"));
    assert_eq!(runner.fire_schedules().await.unwrap(), 1);
    assert_eq!(runner.fire_schedules().await.unwrap(), 0);
    assert_eq!(
        slot_jobs(&q)
            .into_iter()
            .map(|(k, _)| k)
            .collect::<Vec<_>>(),
        ["schedule:probe.hourly:2026-12-02T13:00:00Z"]
    );
    // The next slot fires on time.
    q.clock.set(at("2026-12-02T14:00:01Z"));
    assert_eq!(runner.fire_schedules().await.unwrap(), 1);
    assert_eq!(slot_jobs(&q).len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_runners_never_run_a_job_twice() {
    let q = Queue::new();
    const JOBS: usize = 120;
    for _ in 0..JOBS {
        q.probe(json!({"sleep_ms": 5}), 3, None).unwrap();
    }
    let mut stops = Vec::new();
    let mut tasks = Vec::new();
    for i in 0..6 {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        tasks.push(tokio::spawn(q.runner(&format!("r{i}")).run(stopped)));
        stops.push(stop);
    }
    let started = std::time::Instant::now();
    loop {
        use shebao_infra::schema::jobs;
        let done: i64 = jobs::table
            .filter(jobs::state.eq("done"))
            .count()
            .get_result(&mut q.conn())
            .unwrap();
        if done as usize == JOBS {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "only {done} of {JOBS} done"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for s in &stops {
        s.send(true).unwrap();
    }
    for t in tasks {
        t.await.unwrap();
    }
    let runs = probe::all_runs(&mut q.conn()).unwrap();
    let distinct: std::collections::BTreeSet<_> = runs.iter().map(|r| r.job_id.clone()).collect();
    assert_eq!(distinct.len(), JOBS);
    assert_eq!(runs.len(), JOBS, "a job ran twice");
    assert!(runs.iter().all(|r| r.attempt == 1));
    let workers: std::collections::BTreeSet<_> = runs.iter().map(|r| r.worker.clone()).collect();
    assert!(workers.len() >= 2, "only {workers:?} worked");
}

/// An app whose own runner is off, and a runner on its database and clock that the test
/// drives by hand.
async fn app_without_runner() -> (shebao_tests::TestApp, Runner) {
    let app = shebao_tests::spawn_app_with(shebao_tests::TestOptions {
        env: vec![("SHEBAO_JOBS", "off".into())],
        ..Default::default()
    })
    .await;
    let pool = Db::connect(&app.db.url, &PoolOptions::default()).unwrap();
    let runner = Runner::new(
        pool,
        Arc::new(app.clock.clone()),
        Handlers::new().with(probe::KIND, Probe),
        RunnerConfig {
            worker: "test".into(),
            ..RunnerConfig::default()
        },
    );
    (app, runner)
}

fn enqueue_probe(app: &shebao_tests::TestApp, payload: Value, max_attempts: u32) -> Uuid {
    let now = app.clock.now();
    let job = NewJob {
        max_attempts,
        ..NewJob::now(JobKind::parse(probe::KIND).unwrap(), &payload, now)
    };
    queue::enqueue(&mut app.db.connect(), &job, now)
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn admins_see_counts_and_jobs_with_their_errors_page_by_page() {
    let (app, runner) = app_without_runner().await;
    let admin = app.staff_token(StaffRole::Admin).await;
    let dead = enqueue_probe(&app, json!({"fail_attempts": 9}), 1);
    enqueue_probe(&app, json!({}), 3);
    enqueue_probe(&app, json!({}), 3);
    assert_eq!(runner.run_once().await, 3);
    let queued = enqueue_probe(&app, json!({}), 3);

    let all = app.get_ok(&admin, "/v1/staff/jobs").await;
    assert_eq!(
        all["counts"],
        json!([
            {"kind": "probe", "state": "dead", "count": 1},
            {"kind": "probe", "state": "done", "count": 2},
            {"kind": "probe", "state": "queued", "count": 1},
        ])
    );
    let items = all["items"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    // Newest first.
    assert_eq!(items[0]["id"], queued.to_string());
    assert!(all["next_cursor"].is_null());

    let only_dead = app
        .get_ok(&admin, "/v1/staff/jobs?state=dead&kind=probe")
        .await;
    assert_eq!(
        only_dead["counts"],
        json!([{"kind": "probe", "state": "dead", "count": 1}])
    );
    assert_eq!(only_dead["items"].as_array().unwrap().len(), 1);
    let job = &only_dead["items"][0];
    assert_eq!(job["id"], dead.to_string());
    assert_eq!(job["state"], "dead");
    assert_eq!(job["attempts"], 1);
    assert_eq!(job["max_attempts"], 1);
    assert_eq!(job["last_error"], "probe failure on try 1 as asked");
    assert!(job.get("payload").is_none());

    // Pages of 3, then 1.
    let first = app.get_ok(&admin, "/v1/staff/jobs?limit=3").await;
    assert_eq!(first["items"].as_array().unwrap().len(), 3);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = app
        .get_ok(&admin, &format!("/v1/staff/jobs?limit=3&cursor={cursor}"))
        .await;
    let rest = second["items"].as_array().unwrap();
    assert_eq!(rest.len(), 1);
    assert!(second["next_cursor"].is_null());
    let mut seen: Vec<String> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(rest)
        .map(|j| j["id"].as_str().unwrap().to_owned())
        .collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 4);

    // A cursor of the documented shape that no page gave is a position like any other (its
    // control characters dropped: a NUL byte would upset PostgreSQL); "AA" is a lone NUL, which
    // reads as the empty key, before every id. One not of that shape is refused.
    let res = app
        .get("/v1/staff/jobs?cursor=AA")
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["items"].as_array().unwrap().len(), 0, "{body}");
    let res = app
        .get("/v1/staff/jobs?cursor=not*a*cursor")
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "cursor");

    // Bad filters are named; only admins may look.
    let res = app
        .get("/v1/staff/jobs?state=failed&kind=Bad")
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    let body = assert_problem(res, 422, "validation_failed").await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["state", "kind"]);
    let caseworker = app.staff_token(StaffRole::Caseworker).await;
    let res = app
        .get("/v1/staff/jobs")
        .bearer_auth(&caseworker)
        .send()
        .await
        .unwrap();
    assert_problem(res, 403, "forbidden").await;
    let res = app.get("/v1/staff/jobs").send().await.unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn a_dead_job_is_retried_by_an_admin_and_runs_again() {
    let (app, runner) = app_without_runner().await;
    let admin = app.staff_token(StaffRole::Admin).await;
    let dead = enqueue_probe(&app, json!({"fail_attempts": 1}), 1);
    let queued = enqueue_probe(&app, json!({"sleep_ms": 0}), 3);
    assert_eq!(runner.run_once().await, 2);
    let done = queued;
    let queued = enqueue_probe(&app, json!({}), 3);

    let retry = |id: Uuid| {
        app.post(&format!("/v1/staff/jobs/{id}/retry"))
            .bearer_auth(&admin)
            .send()
    };
    let res = retry(dead).await.unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["state"], "queued");
    assert_eq!(body["attempts"], 0);
    // The error of the last try stays visible until the next try.
    assert_eq!(body["last_error"], "probe failure on try 1 as asked");

    // Only dead jobs: the retried one is queued now; done and queued ones are refused.
    for id in [dead, done, queued] {
        let res = retry(id).await.unwrap();
        assert_problem(res, 409, "job_not_dead").await;
    }
    let res = retry(Uuid::now_v7()).await.unwrap();
    assert_problem(res, 404, "not_found").await;
    let res = app
        .post("/v1/staff/jobs/not-a-uuid/retry")
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_problem(res, 404, "not_found").await;
    let caseworker = app.staff_token(StaffRole::Caseworker).await;
    let res = app
        .post(&format!("/v1/staff/jobs/{dead}/retry"))
        .bearer_auth(&caseworker)
        .send()
        .await
        .unwrap();
    assert_problem(res, 403, "forbidden").await;

    // The metrics show the two queued probes.
    let metrics = app
        .client
        .get(format!("{}/metrics", app.metrics_url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("shebao_jobs{kind=\"probe\",state=\"queued\"} 2"),
        "{metrics}"
    );
    assert!(metrics.contains("shebao_jobs{kind=\"probe\",state=\"running\"} 0"));
    app.clock.advance(chrono::Duration::seconds(42));
    let metrics = app
        .client
        .get(format!("{}/metrics", app.metrics_url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("shebao_jobs_oldest_queued_age_seconds 42"),
        "{metrics}"
    );

    // It runs again (its one failure is behind it now: the second try succeeds).
    assert_eq!(runner.run_once().await, 2);
    let job = queue::get(&mut app.db.connect(), dead).unwrap().unwrap();
    assert_eq!(job.state, JobState::Done);
    assert_eq!(probe::runs(&mut app.db.connect(), dead).unwrap().len(), 2);
}

#[tokio::test]
async fn the_server_runs_jobs_itself_unless_told_not_to() {
    let app = spawn_app().await;
    let id = enqueue_probe(&app, json!({}), 3);
    let started = std::time::Instant::now();
    loop {
        let job = queue::get(&mut app.db.connect(), id).unwrap().unwrap();
        if job.state == JobState::Done {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{job:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // It registered the built-in schedules.
    let names: Vec<String> = schedules::all(&mut app.db.connect())
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(
        names,
        [
            "campaign.arrears",
            "campaign.due",
            "campaign.resident_window",
            "campaign.statement"
        ]
    );
    let (off, _runner) = app_without_runner().await;
    let id = enqueue_probe(&off, json!({}), 3);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let job = queue::get(&mut off.db.connect(), id).unwrap().unwrap();
    assert_eq!(job.state, JobState::Queued);
}

#[tokio::test]
async fn a_job_that_is_not_due_yet_waits_without_using_up_its_tries() {
    let q = Queue::new();
    // The probe asks to wait until 11:00 (as a message waits for daylight).
    let id = q
        .probe(json!({"not_before": "2026-12-02T11:00:00Z"}), 1, None)
        .unwrap();
    let runner = q.runner("w");
    assert_eq!(runner.run_once().await, 1);
    let job = q.job(id);
    assert_eq!(job.state, JobState::Queued);
    assert_eq!(job.run_at, at("2026-12-02T11:00:00Z"));
    assert_eq!(job.attempts, 0, "waiting is not a try");
    assert!(q.runs(id).is_empty());
    // Not before then.
    q.clock.set(at("2026-12-02T10:59:59Z"));
    assert_eq!(runner.run_once().await, 0);
    // Then it runs, on its one and only try.
    q.clock.set(at("2026-12-02T11:00:00Z"));
    assert_eq!(runner.run_once().await, 1);
    let job = q.job(id);
    assert_eq!((job.state, job.attempts), (JobState::Done, 1));
    assert_eq!(q.runs(id).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_job_keeps_its_lease_while_it_works() {
    let q = Queue::new();
    let id = q.probe(json!({"sleep_ms": 1200}), 3, None).unwrap();
    let lease = Duration::from_millis(300); // renewed every 100 ms
    let runner = |name: &str| {
        Runner::new(
            q.pool.clone(),
            q.clock.clone(),
            Handlers::new().with(probe::KIND, Probe),
            RunnerConfig {
                worker: name.into(),
                lease,
                ..RunnerConfig::default()
            },
        )
    };
    let working = runner("working");
    let task = tokio::spawn(async move { working.run_once().await });
    while q.runs(id).is_empty() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Ten minutes pass (by the clock the leases are read with): a lease that was not renewed
    // would have run out long ago, and another worker would take the job.
    q.clock.advance(TimeDelta::minutes(10));
    tokio::time::sleep(Duration::from_millis(350)).await;
    let job = q.job(id);
    assert_eq!(job.state, JobState::Running);
    assert!(job.leased_until.unwrap() > q.now(), "{job:?}");
    assert!(runner("thief").claim(4).await.unwrap().is_empty());
    assert_eq!(task.await.unwrap(), 1);
    let job = q.job(id);
    assert_eq!((job.state, job.attempts), (JobState::Done, 1));
    assert_eq!(q.runs(id).len(), 1);
}
