//! "A server killed at any point, restarted, ends with every payment in the state the gateway
//! says, none doubled" (issue 17): `shebao serve` is killed with SIGKILL over and over while
//! payers pay at the gateway stand-in, whose notifications then land on a dead server or on one
//! half started. Afterwards the last server's poller and `shebao reconcile` must bring every
//! payment to the gateway's state, each payable settled once and every journal balanced.
//!
//! Runs on SQLite, or on PostgreSQL when `SHEBAO_TEST_POSTGRES_URL` names a server.
#![cfg(feature = "synthetic")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use shebao_domain::payments::PaymentStatus;
use shebao_infra::clock::SystemClock;
use shebao_infra::db::{Db, PoolOptions};
use shebao_infra::payments::service::Payments;
use shebao_infra::payments::store;
use shebao_standins::pay::{PayStandIn, PayStandInConfig, ServiceSettings};

mod support;
use support::{free_port, kill9, TestDb};

const BIN: &str = env!("CARGO_BIN_EXE_shebao");
const ORDERS: usize = 48;

/// `shebao` with the settings every process of the test shares: the database, the keys, the
/// gateway (the stand-in this test runs) and the SMS stand-in.
fn shebao(dir: &std::path::Path, db: &str, pay_env: &[(String, String)]) -> Command {
    let mut c = Command::new(BIN);
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", db)
        .env("SHEBAO_DATA_DIR", dir)
        .env("SHEBAO_GENERATE_KEYS", "true")
        .env("SHEBAO_SMS_STANDIN", "true")
        .env("SHEBAO_SMS_STANDIN_LISTEN", "127.0.0.1:0")
        .env("SHEBAO_METRICS_LISTEN", "127.0.0.1:0")
        .env("SHEBAO_LOG", "warn");
    for (k, v) in pay_env {
        c.env(k, v);
    }
    c
}

fn run(mut c: Command) -> String {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The gateway's view of every order: out_trade_no → trade_state.
async fn gateway_states(http: &reqwest::Client, base: &str) -> BTreeMap<String, String> {
    let orders: Value = http
        .get(format!("{base}/control/orders"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    orders["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["out_trade_no"].as_str().unwrap().to_owned(),
                o["trade_state"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// What the service must say of an order the gateway reports in `trade_state`, before the
/// day's reconciliation.
fn expected(trade_state: &str) -> PaymentStatus {
    match trade_state {
        "SUCCESS" => PaymentStatus::Pending,
        "PAYERROR" => PaymentStatus::Failed,
        "NOTPAY" => PaymentStatus::AwaitingPayment,
        other => panic!("the test pays no order into {other}"),
    }
}

async fn statuses(db: &Db, orders: &[String]) -> BTreeMap<String, PaymentStatus> {
    let orders = orders.to_vec();
    db.read(move |c| {
        let mut out = BTreeMap::new();
        for no in &orders {
            let p = store::by_out_trade_no(c, no)?.expect("the order is recorded");
            out.insert(no.clone(), p.status);
        }
        Ok(out)
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payments_end_as_the_gateway_says_after_the_server_is_killed_again_and_again() {
    let dir = tempfile::tempdir().unwrap();
    let test_db = TestDb::new(dir.path(), "shebao_paycrash");
    let url = test_db.url.clone();

    // The gateway: a stand-in in this process that outlives every server. It tries each
    // notification once, so a notification sent while the server is down is lost for good and
    // only the server's poller can find the payment.
    let keys = shebao_api::startup::demo_pay_keys().unwrap();
    let mut config = PayStandInConfig::demo_with(keys.clone());
    config.notify_retry_delays = Vec::new();
    let files = keys.write_merchant_files(&dir.path().join("pay")).unwrap();
    let service_settings = ServiceSettings::of(&config, &files);
    let standin = PayStandIn::start("127.0.0.1:0", config).unwrap();
    let pay_env: Vec<(String, String)> = service_settings
        .env_lines(&standin.base_url)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();

    // A population with flexible-employment persons, and one order per payable.
    let mut seed = shebao(dir.path(), &url, &pay_env);
    seed.args(["seed", "--persons", "600", "--seed", "7"]);
    run(seed);
    let requests = {
        let url = url.clone();
        tokio::task::spawn_blocking(move || {
            shebao_api::cli::pay_bench::orders_to_make(&url, ORDERS)
        })
        .await
        .unwrap()
        .unwrap()
    };
    assert_eq!(requests.len(), ORDERS, "the population has enough payables");

    let port = free_port();
    let notify_url = format!("http://127.0.0.1:{port}/v1/payments/notifications/wechat");
    let db = Db::connect(&url, &PoolOptions::default()).unwrap();
    let gateway = shebao_api::startup::standin_gateway(&standin.base_url, &keys).unwrap();
    let payments = Payments::new(
        db.clone(),
        Arc::new(gateway),
        Arc::new(SystemClock),
        notify_url,
    );
    let mut orders = Vec::new();
    for r in &requests {
        let hash = format!("wechat|{}", r.payable.id);
        let (p, replayed) = payments
            .create(
                r.person,
                r.key.clone(),
                hash,
                vec![r.payable.clone()],
                "社保缴费".into(),
            )
            .await
            .unwrap();
        assert!(!replayed);
        orders.push(p.out_trade_no);
    }

    // The servers: each one polls the gateway every second.
    let serve = |pay_env: &[(String, String)]| {
        let mut c = shebao(dir.path(), &url, pay_env);
        c.env("SHEBAO_LISTEN", format!("127.0.0.1:{port}"))
            .env("SHEBAO_PAY_POLL_INTERVAL_SECS", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        c.spawn().unwrap()
    };
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let pay = |i: usize, no: String| {
        let http = http.clone();
        let base = standin.base_url.clone();
        async move {
            let (outcome, notify) = match i % 8 {
                0 => ("NOTENOUGH", 1),
                1 | 2 => ("SUCCESS", 2),
                7 => return,
                _ => ("SUCCESS", 1),
            };
            let res = http
                .post(format!("{base}/control/orders/{no}/pay"))
                .json(&json!({ "outcome": outcome, "notify": notify }))
                .send()
                .await
                .unwrap();
            assert!(res.status().is_success(), "paying {no}: {}", res.status());
        }
    };
    let mut server = serve(&pay_env);
    let mut kills = 0;
    // Payers pay (most succeed, some fail, some never pay; some notifications are sent twice)
    // while the server is killed every few payments at whatever it is doing.
    let last = ORDERS - 8;
    for (i, no) in orders[..last].iter().enumerate() {
        pay(i, no.clone()).await;
        tokio::time::sleep(Duration::from_millis(60 + (i as u64 * 37) % 150)).await;
        if i % 3 == 2 {
            kill9(&mut server);
            kills += 1;
            server = serve(&pay_env);
        }
    }
    assert!(kills >= 10, "the server was killed {kills} times");
    // Let the last server start, so it is killed while it works; the last payers pay while no
    // server runs at all, so their notifications are lost for good.
    tokio::time::sleep(Duration::from_millis(300)).await;
    kill9(&mut server);
    kills += 1;
    for (i, no) in orders.iter().enumerate().skip(last) {
        pay(i, no.clone()).await;
    }

    // A job worker (which polls the gateway too) settles what the lost notifications did not.
    let mut worker = shebao(dir.path(), &url, &pay_env);
    worker
        .arg("worker")
        .env("SHEBAO_PAY_POLL_INTERVAL_SECS", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut server = worker.spawn().unwrap();
    let gateway = gateway_states(&http, &standin.base_url).await;
    let want: BTreeMap<String, PaymentStatus> = orders
        .iter()
        .map(|no| (no.clone(), expected(&gateway[no])))
        .collect();
    let started = Instant::now();
    let mut got = statuses(&db, &orders).await;
    while got != want && started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(250)).await;
        got = statuses(&db, &orders).await;
    }
    kill9(&mut server);
    let differences: Vec<_> = want
        .iter()
        .filter(|(no, s)| got.get(*no) != Some(*s))
        .map(|(no, s)| format!("{no}: gateway says {s:?}, service says {:?}", got.get(no)))
        .collect();
    assert!(
        differences.is_empty(),
        "after {kills} kills:\n{}",
        differences.join("\n")
    );
    let paid_at_gateway = gateway.values().filter(|s| *s == "SUCCESS").count();
    assert!(paid_at_gateway >= ORDERS / 2, "{paid_at_gateway} paid");

    // The day's reconciliation (the command, as an operator runs it) confirms each payment once.
    let today = (chrono::Utc::now() + chrono::TimeDelta::hours(8)).date_naive();
    let mut reconcile = shebao(dir.path(), &url, &pay_env);
    reconcile.args(["reconcile", "--date", &today.to_string()]);
    let report = run(reconcile);
    let mut again = shebao(dir.path(), &url, &pay_env);
    again.args(["reconcile", "--date", &today.to_string()]);
    let second = run(again);
    let got = statuses(&db, &orders).await;
    for (no, state) in &gateway {
        let want = match expected(state) {
            PaymentStatus::Pending => PaymentStatus::Paid,
            other => other,
        };
        assert_eq!(got[no], want, "{no} after reconciliation:\n{report}");
    }
    let (journals, settled, unbalanced, balanced) = db
        .read(|c| {
            use diesel::prelude::*;
            use shebao_infra::schema::{ledger_journals, payment_claims};
            let journals: i64 = ledger_journals::table
                .filter(ledger_journals::source.like("payment:%:confirmed"))
                .count()
                .get_result(c)?;
            let settled: i64 = payment_claims::table
                .filter(payment_claims::settled.eq(1))
                .count()
                .get_result(c)?;
            let unbalanced = store::unbalanced_journals(c)?;
            let balanced = store::trial_balance(
                c,
                chrono::Utc::now().naive_utc() + chrono::TimeDelta::days(1),
            )?
            .balanced();
            Ok((journals, settled, unbalanced, balanced))
        })
        .await
        .unwrap();
    assert_eq!(
        journals as usize, paid_at_gateway,
        "one confirmation journal per paid order; second run said:\n{second}"
    );
    assert_eq!(
        settled as usize, paid_at_gateway,
        "each payable settled once"
    );
    assert!(unbalanced.is_empty(), "unbalanced journals: {unbalanced:?}");
    assert!(balanced);
    println!("{kills} kills; {paid_at_gateway} of {ORDERS} orders paid; every payment as the gateway says");

    standin.stop().await;
}
