//! The `shebao` binary as an operator uses it: bootstrap, seeding, the spec, and a graceful stop.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_shebao");

fn shebao(dir: &std::path::Path) -> Command {
    let mut c = Command::new(BIN);
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.join("s.db").display()),
        )
        .env("SHEBAO_DATA_DIR", dir)
        .env("SHEBAO_SMS_STANDIN", "true")
        .env("SHEBAO_PAY_STANDIN", "true")
        .env("SHEBAO_PAY_STANDIN_LISTEN", "127.0.0.1:0")
        .env("SHEBAO_LOG", "warn");
    c
}

/// On PostgreSQL (production) the stand-ins start only when asked for: without a provider the
/// server refuses to start and says why.
#[test]
fn serve_on_postgres_without_providers_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    for (unset, says) in [
        ("SHEBAO_SMS_STANDIN", "no SMS provider"),
        ("SHEBAO_PAY_STANDIN", "no payment gateway"),
    ] {
        let out = shebao(dir.path())
            .arg("serve")
            .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
            .env("SHEBAO_GENERATE_KEYS", "true")
            .env("SHEBAO_LISTEN", "127.0.0.1:0")
            .env("SHEBAO_METRICS_LISTEN", "off")
            .env_remove(unset)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{err}");
    }
}

#[test]
fn create_staff_reads_the_password_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = shebao(dir.path())
        .args([
            "admin",
            "create-staff",
            "--username",
            "Root.Admin",
            "--role",
            "admin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a long enough password\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("staff account root.admin (admin) created")
    );

    // The same name again fails, and a short password is refused before anything is written.
    let mut again = shebao(dir.path())
        .args([
            "admin",
            "create-staff",
            "--username",
            "root.admin",
            "--role",
            "caseworker",
        ])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    again
        .stdin
        .take()
        .unwrap()
        .write_all(b"another long password\n")
        .unwrap();
    let out = again.wait_with_output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists already"));

    let mut short = shebao(dir.path())
        .args([
            "admin",
            "create-staff",
            "--username",
            "shorty",
            "--role",
            "admin",
        ])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    short.stdin.take().unwrap().write_all(b"short\n").unwrap();
    let out = short.wait_with_output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 8"));

    let bad_role = shebao(dir.path())
        .args([
            "admin",
            "create-staff",
            "--username",
            "x123",
            "--role",
            "boss",
        ])
        .output()
        .unwrap();
    assert!(!bad_role.status.success());
}

#[test]
fn seeds_the_demo_once_and_a_deterministic_population() {
    let dir = tempfile::tempdir().unwrap();
    let out = shebao(dir.path())
        .args(["seed", "--demo"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("12 persons"), "{text}");
    assert!(
        text.contains("demo person (fictional): name 张伟"),
        "{text}"
    );
    let again = shebao(dir.path())
        .args(["seed", "--demo"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&again.stdout).contains("already holds data"));

    let out = shebao(dir.path())
        .args(["seed", "--persons", "2500", "--seed", "7"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("2500 persons seeded (seed 7)"));
    // The same seed twice is refused rather than duplicated.
    let dup = shebao(dir.path())
        .args(["seed", "--persons", "10", "--seed", "7"])
        .output()
        .unwrap();
    assert!(!dup.status.success());

    // Determinism: the same seed in another database gives the same people (same card numbers
    // and blind-index-free facts: names and birth dates).
    let other = tempfile::tempdir().unwrap();
    for d in [dir.path(), other.path()] {
        if d == other.path() {
            let out = shebao(d)
                .args(["seed", "--persons", "2500", "--seed", "7"])
                .output()
                .unwrap();
            assert!(out.status.success());
        }
    }
    let facts = |d: &std::path::Path| {
        use diesel::prelude::*;
        let mut c = diesel::SqliteConnection::establish(d.join("s.db").to_str().unwrap()).unwrap();
        shebao_infra::schema::persons::table
            .filter(shebao_infra::schema::persons::card_number.like("S000007%"))
            .select((
                shebao_infra::schema::persons::card_number,
                shebao_infra::schema::persons::name,
                shebao_infra::schema::persons::birth_date,
            ))
            .order(shebao_infra::schema::persons::card_number)
            .load::<(String, String, chrono::NaiveDate)>(&mut c)
            .unwrap()
    };
    let a = facts(dir.path());
    assert_eq!(a.len(), 2500);
    assert_eq!(a, facts(other.path()));
}

#[test]
fn writes_the_openapi_document() {
    let dir = tempfile::tempdir().unwrap();
    let out = shebao(dir.path())
        .args(["openapi", "--output", "-"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let spec: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(spec["openapi"], "3.1.0");
    let file = dir.path().join("spec.json");
    let out = shebao(dir.path())
        .args(["openapi", "--output", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        std::fs::read(&file).unwrap(),
        shebao_api::openapi_doc::render().into_bytes()
    );
}

/// A port nothing listens on (bound, read, released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `GET path` on the server at `port`: the status line and the body, if it answers.
fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut resp = String::new();
    let _ = s.read_to_string(&mut resp);
    Some(resp)
}

/// Waits until `GET path` answers with `status`; on failure the server is stopped and its own
/// output shown, so a failing start says why.
fn wait_for(child: &mut std::process::Child, port: u16, path: &str, status: &str) {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        if http_get(port, path).is_some_and(|r| r.starts_with(&format!("HTTP/1.1 {status}"))) {
            return;
        }
        if let Ok(Some(exit)) = child.try_wait() {
            panic!("the server exited ({exit}):\n{}", stop(child));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!(
        "{path} never answered {status}; the server said:\n{}",
        stop(child)
    );
}

/// Stops the server (SIGTERM) and returns what it wrote to stderr.
fn stop(child: &mut std::process::Child) -> String {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    let mut logs = String::new();
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut logs);
    }
    logs
}

#[test]
fn serves_and_stops_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    // Every listener on a port of its own: the test passes while the demo runs.
    let mut child = shebao(dir.path())
        .env("SHEBAO_LISTEN", format!("127.0.0.1:{port}"))
        .env("SHEBAO_SMS_STANDIN_LISTEN", "127.0.0.1:0")
        .env("SHEBAO_METRICS_LISTEN", "127.0.0.1:0")
        .env("SHEBAO_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&mut child, port, "/readyz", "200");

    // The embedded default generated its keys and loaded the demo.
    assert!(dir.path().join("keys/pii.key").exists());
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let code = child.wait().unwrap();
    assert!(code.success(), "exit status {code:?}");
    let mut logs = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();
    assert!(logs.contains("demo data loaded"), "{logs}");
    assert!(
        logs.contains("\"stopped\"") || logs.contains("stopped"),
        "{logs}"
    );
    // Secrets never reach the logs: the generated keys' contents are not in them.
    let key = std::fs::read_to_string(dir.path().join("keys/pii.key")).unwrap();
    assert!(!logs.contains(key.trim()));
    // Nor the demo person's ID number (it is in the database, encrypted).
    assert!(!logs.contains("440300198603120"));
}

mod worker {
    use super::*;
    use shebao_domain::jobs::{JobKind, JobState};
    use shebao_infra::db::DbConnection;
    use shebao_infra::jobs::probe;
    use shebao_infra::jobs::queue::{self, NewJob};

    /// The database of a test: SQLite in `dir`, or, when `SHEBAO_TEST_POSTGRES_URL` names a
    /// server, a PostgreSQL database named after `dir` (made by [`PgDatabase`]).
    fn url(dir: &std::path::Path) -> String {
        match postgres_admin() {
            Some(admin) => {
                let (server, _) = admin.rsplit_once('/').unwrap();
                format!("{server}/{}", pg_name(dir))
            }
            None => format!("sqlite://{}", dir.join("s.db").display()),
        }
    }

    fn postgres_admin() -> Option<String> {
        std::env::var("SHEBAO_TEST_POSTGRES_URL")
            .ok()
            .filter(|v| !v.trim().is_empty())
    }

    fn pg_name(dir: &std::path::Path) -> String {
        let tail: String = dir
            .file_name()
            .unwrap()
            .to_string_lossy()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        format!("shebao_cli_{}", tail.to_ascii_lowercase())
    }

    /// Creates the PostgreSQL database of `dir` (when the tests run on PostgreSQL) and drops
    /// it at the end.
    struct PgDatabase(Option<(String, String)>);

    impl PgDatabase {
        fn new(dir: &std::path::Path) -> PgDatabase {
            use diesel::connection::SimpleConnection;
            use diesel::Connection;
            PgDatabase(postgres_admin().map(|admin| {
                let name = pg_name(dir);
                let mut c = diesel::PgConnection::establish(&admin).unwrap();
                c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
                (admin, name)
            }))
        }
    }

    impl Drop for PgDatabase {
        fn drop(&mut self) {
            use diesel::connection::SimpleConnection;
            use diesel::Connection;
            if let Some((admin, name)) = &self.0 {
                if let Ok(mut c) = diesel::PgConnection::establish(admin) {
                    let _ =
                        c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
                }
            }
        }
    }

    fn worker(dir: &std::path::Path) -> std::process::Child {
        shebao(dir)
            .arg("worker")
            .env("DATABASE_URL", url(dir))
            .env("SHEBAO_GENERATE_KEYS", "true")
            .env("SHEBAO_JOB_LEASE_SECS", "2")
            .env("SHEBAO_JOB_POLL_MS", "100")
            .env("SHEBAO_SHUTDOWN_TIMEOUT_SECS", "1")
            .env("SHEBAO_LOG", "info")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// A migrated database with one probe job that takes `sleep_ms` each try.
    fn probe_job(dir: &std::path::Path, sleep_ms: u64) -> uuid::Uuid {
        let out = shebao(dir)
            .arg("migrate")
            .env("DATABASE_URL", url(dir))
            .env("SHEBAO_GENERATE_KEYS", "true")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut conn = DbConnection::open(&url(dir)).unwrap();
        let now = chrono::Utc::now();
        let job = NewJob {
            max_attempts: 3,
            ..NewJob::now(
                JobKind::parse(probe::KIND).unwrap(),
                &serde_json::json!({ "sleep_ms": sleep_ms }),
                now,
            )
        };
        queue::enqueue(&mut conn, &job, now).unwrap().unwrap()
    }

    fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
        let started = Instant::now();
        while !done() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "timed out waiting for {what}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn runs(dir: &std::path::Path, id: uuid::Uuid) -> Vec<probe::ProbeRun> {
        probe::runs(&mut DbConnection::open(&url(dir)).unwrap(), id).unwrap()
    }

    fn job(dir: &std::path::Path, id: uuid::Uuid) -> queue::Job {
        queue::get(&mut DbConnection::open(&url(dir)).unwrap(), id)
            .unwrap()
            .unwrap()
    }

    fn sigterm(child: &std::process::Child) {
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    #[test]
    fn a_worker_killed_mid_job_loses_it_to_another_worker() {
        let dir = tempfile::tempdir().unwrap();
        let _db = PgDatabase::new(dir.path());
        let id = probe_job(dir.path(), 1500);
        let mut first = worker(dir.path());
        wait_for("the first worker to start the job", || {
            !runs(dir.path(), id).is_empty()
        });
        // SIGKILL: no chance to finish or give the job back.
        first.kill().unwrap();
        first.wait().unwrap();
        let held = job(dir.path(), id);
        assert_eq!(held.state, JobState::Running);
        let mut second = worker(dir.path());
        wait_for("the job to be done by the second worker", || {
            job(dir.path(), id).state == JobState::Done
        });
        sigterm(&second);
        let status = second.wait().unwrap();
        assert!(status.success(), "{status:?}");
        let runs = runs(dir.path(), id);
        assert_eq!(runs.len(), 2, "{runs:?}");
        assert_eq!(runs[0].attempt, 1);
        assert!(runs[0].finished_at.is_none(), "the killed try never ended");
        assert_eq!(runs[1].attempt, 2);
        assert!(runs[1].finished_at.is_some());
        assert_ne!(runs[0].worker, runs[1].worker);
        assert_eq!(job(dir.path(), id).attempts, 2);
    }

    /// A zone where it is now between 09:00 and 19:00, so the messages go out at once
    /// whenever the test runs (they wait for 08:00 otherwise).
    fn daylight_zone() -> shebao_domain::region::TimeZoneName {
        use chrono::Timelike;
        let now = chrono::Utc::now();
        [
            "Asia/Shanghai",
            "Asia/Urumqi",
            "Asia/Dubai",
            "Europe/Berlin",
            "Atlantic/Azores",
            "America/Sao_Paulo",
            "America/New_York",
            "America/Chicago",
            "America/Denver",
            "America/Los_Angeles",
            "Pacific/Honolulu",
            "Pacific/Auckland",
            "Asia/Tokyo",
        ]
        .iter()
        .map(|z| shebao_domain::region::TimeZoneName::parse(z).unwrap())
        .find(|z| (9..19).contains(&now.with_timezone(&z.tz()).hour()))
        .unwrap()
    }

    /// `GET path` on the stand-in, parsed.
    fn standin_json(port: u16, path: &str) -> serde_json::Value {
        let resp = super::http_get(port, path).unwrap();
        let (_, body) = resp.split_once("\r\n\r\n").unwrap();
        serde_json::from_str(body.trim()).unwrap()
    }

    /// The kill test of issue 10: three workers drain queued reminders while one of them is
    /// killed with SIGKILL every 2 s and restarted. Every message reaches the SMS stand-in; a
    /// message is sent twice only when a worker died between the provider's acceptance and
    /// marking the job done, so the duplicates (POSTs repeating a message id) are at most the
    /// kills. 10,000 reminders on PostgreSQL, 500 on SQLite.
    #[test]
    fn three_workers_drain_the_reminders_while_one_is_killed_every_two_seconds() {
        use shebao_domain::reminders::Campaign;
        use shebao_infra::reminders::sms::{self as reminder_sms, ReminderPayload};
        let dir = tempfile::tempdir().unwrap();
        let _db = PgDatabase::new(dir.path());
        let total: usize = if postgres_admin().is_some() {
            10_000
        } else {
            500
        };
        let rt = tokio::runtime::Runtime::new().unwrap();
        let standin = rt
            .block_on(async {
                shebao_standins::sms::SmsStandIn::start("127.0.0.1:0", "ACkill", "kill-token")
            })
            .unwrap();
        let out = shebao(dir.path())
            .arg("migrate")
            .env("DATABASE_URL", url(dir.path()))
            .env("SHEBAO_GENERATE_KEYS", "true")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let keys =
            shebao_security::KeyMaterial::load(&|_| None, &dir.path().join("keys"), true).unwrap();
        let vault = shebao_security::PiiVault::new(&keys);
        let zone = daylight_zone();
        let mut conn = DbConnection::open(&url(dir.path())).unwrap();
        let now = chrono::Utc::now();
        let queued = Instant::now();
        shebao_infra::db::write_transaction(&mut conn, |c| {
            let kind = JobKind::parse(reminder_sms::KIND).unwrap();
            for i in 0..total {
                let phone =
                    shebao_domain::identity::PhoneNumber::parse(&format!("+86137{i:08}")).unwrap();
                let account = shebao_infra::identity::accounts::create(
                    c,
                    &vault,
                    &phone,
                    "x",
                    now.naive_utc(),
                )?
                .unwrap();
                let payload = ReminderPayload {
                    campaign: Campaign::Due,
                    account_id: account.id,
                    person_id: None,
                    period: None,
                    time_zone: zone,
                    text: format!("reminder {i}"),
                    notice_id: None,
                };
                let job = NewJob {
                    kind: kind.clone(),
                    payload: serde_json::to_string(&payload).unwrap(),
                    run_at: now,
                    max_attempts: 10,
                    dedupe_key: Some(format!("kill-test:{i}")),
                };
                queue::enqueue(c, &job, now)?.unwrap();
            }
            Ok(())
        })
        .unwrap();
        eprintln!("{total} reminders queued in {:?}", queued.elapsed());
        let start = |dir: &std::path::Path| {
            shebao(dir)
                .arg("worker")
                .env("DATABASE_URL", url(dir))
                .env("SHEBAO_GENERATE_KEYS", "true")
                .env("SHEBAO_JOB_LEASE_SECS", "2")
                .env("SHEBAO_JOB_POLL_MS", "100")
                // One job at a time: a kill can catch at most one message between the
                // provider's acceptance and its record.
                .env("SHEBAO_JOB_CONCURRENCY", "1")
                .env("SHEBAO_SHUTDOWN_TIMEOUT_SECS", "1")
                .env("SHEBAO_SMS_URL", &standin.base_url)
                .env("SHEBAO_SMS_ACCOUNT_SID", "ACkill")
                .env("SHEBAO_SMS_AUTH_TOKEN", "kill-token")
                .env("SHEBAO_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        };
        let mut workers: Vec<std::process::Child> = (0..3).map(|_| start(dir.path())).collect();
        let remaining = |conn: &mut DbConnection| -> i64 {
            use diesel::prelude::*;
            use shebao_infra::schema::jobs;
            jobs::table
                .filter(jobs::kind.eq(reminder_sms::KIND))
                .filter(jobs::state.ne(JobState::Done.as_str()))
                .count()
                .get_result(conn)
                .unwrap()
        };
        let started = Instant::now();
        let mut kills = 0;
        // The first kill half a second in (a fast machine drains the SQLite run's 500 in under
        // two seconds), then one every two seconds.
        let mut last_kill = Instant::now() - Duration::from_millis(1500);
        loop {
            if remaining(&mut conn) == 0 {
                break;
            }
            if started.elapsed() > Duration::from_secs(300) {
                use diesel::prelude::*;
                use shebao_infra::schema::jobs;
                let left: Vec<(String, i32, Option<String>, chrono::NaiveDateTime)> = jobs::table
                    .filter(jobs::kind.eq(reminder_sms::KIND))
                    .filter(jobs::state.ne(JobState::Done.as_str()))
                    .select((jobs::state, jobs::attempts, jobs::last_error, jobs::run_at))
                    .limit(20)
                    .load(&mut conn)
                    .unwrap();
                panic!(
                    "{} reminders still not done at {}: {left:?}",
                    remaining(&mut conn),
                    chrono::Utc::now()
                );
            }
            if last_kill.elapsed() >= Duration::from_secs(2) {
                let victim = kills % workers.len();
                workers[victim].kill().unwrap();
                workers[victim].wait().unwrap();
                workers[victim] = start(dir.path());
                kills += 1;
                last_kill = Instant::now();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let took = started.elapsed();
        for w in &workers {
            sigterm(w);
        }
        for w in &mut workers {
            w.wait().unwrap();
        }
        let stats = standin_json(standin.port, "/_control/stats");
        let duplicates = stats["repeated_keys"].as_u64().unwrap();
        eprintln!(
            "{total} reminders drained by 3 workers in {took:?} ({:.0}/s) with {kills} kills; \
             duplicates (a message POSTed again after its worker died): {duplicates}",
            total as f64 / took.as_secs_f64()
        );
        assert!(kills >= 1, "the test killed no worker");
        let listed = standin_json(standin.port, "/messages");
        let mut bodies: Vec<String> = listed["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["body"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(bodies.len(), total, "every message, each stored once");
        bodies.sort();
        bodies.dedup();
        assert_eq!(bodies.len(), total);
        assert!(
            duplicates <= kills as u64,
            "{duplicates} duplicates for {kills} kills"
        );
        // Nothing dead: every reminder went out.
        use diesel::prelude::*;
        let dead: i64 = shebao_infra::schema::jobs::table
            .filter(shebao_infra::schema::jobs::state.eq(JobState::Dead.as_str()))
            .count()
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(dead, 0);
        rt.block_on(standin.stop());
    }

    #[test]
    fn sigterm_gives_back_a_job_that_does_not_finish_in_time() {
        let dir = tempfile::tempdir().unwrap();
        let _db = PgDatabase::new(dir.path());
        let id = probe_job(dir.path(), 60_000);
        let mut w = worker(dir.path());
        wait_for("the worker to start the job", || {
            !runs(dir.path(), id).is_empty()
        });
        let asked = Instant::now();
        sigterm(&w);
        let status = w.wait().unwrap();
        assert!(status.success(), "{status:?}");
        // Grace (1 s) plus a little, not the job's 60 s.
        assert!(asked.elapsed() < Duration::from_secs(10));
        let mut logs = String::new();
        w.stderr.take().unwrap().read_to_string(&mut logs).unwrap();
        assert!(logs.contains("job released"), "{logs}");
        let job = job(dir.path(), id);
        assert_eq!(job.state, JobState::Queued);
        assert_eq!(job.attempts, 0, "the unfinished try is not counted");
        assert_eq!(job.leased_until, None);
    }
}

#[test]
fn starts_and_listens_while_the_database_is_down() {
    let dir = tempfile::tempdir().unwrap();
    let (port, closed) = (free_port(), free_port());
    let mut child = shebao(dir.path())
        .env(
            "DATABASE_URL",
            format!("postgres://shebao@127.0.0.1:{closed}/shebao"),
        )
        .env("SHEBAO_GENERATE_KEYS", "true")
        .env("SHEBAO_LISTEN", format!("127.0.0.1:{port}"))
        .env("SHEBAO_SMS_STANDIN_LISTEN", "127.0.0.1:0")
        .env("SHEBAO_METRICS_LISTEN", "127.0.0.1:0")
        .env("SHEBAO_DB_ACQUIRE_TIMEOUT_MS", "300")
        .env("SHEBAO_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&mut child, port, "/healthz", "200");
    let ready = http_get(port, "/readyz").unwrap();
    assert!(ready.starts_with("HTTP/1.1 503"), "{ready}");
    assert!(ready.contains(r#""database":"unreachable""#), "{ready}");
    let api = http_get(port, "/v1/staff/regions").unwrap();
    assert!(api.starts_with("HTTP/1.1 503"), "{api}");
    // A few seconds of an outage: retries in the background, probes, requests.
    for _ in 0..20 {
        http_get(port, "/readyz");
        http_get(port, "/v1/staff/regions");
        std::thread::sleep(Duration::from_millis(100));
    }
    let logs = stop(&mut child);
    // The real cause, once; not diesel's `Invalid connection url for multiconnection`.
    assert!(!logs.contains("multiconnection"), "{logs}");
    let said = logs
        .lines()
        .filter(|l| l.contains("database unreachable"))
        .collect::<Vec<_>>();
    assert_eq!(said.len(), 1, "{logs}");
    assert!(said[0].contains("Connection refused"), "{logs}");
}
