//! "A payout run repeated and killed pays each person once" (issue 14 §2): `shebao serve` is
//! killed with SIGKILL while it runs a month's pension payout, again and again at different
//! moments, restarted each time and asked to run the month again; then it runs to the end, and
//! once more. The gateway (a stand-in in this process, which outlives every server) must hold
//! exactly one successful transfer per person, the database one paid attempt and one benefit
//! payment per person, and the ledger must balance with nothing left payable.
//!
//! Runs on SQLite, or on PostgreSQL when `SHEBAO_TEST_POSTGRES_URL` names a server.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use diesel::prelude::*;
use serde_json::{json, Value};
use shebao_domain::identity::{NationalId, PersonName};
use shebao_domain::payouts::PayoutDestination;
use shebao_domain::person::{CardNumber, EmploymentStatus, MedicalCategory};
use shebao_domain::region::RegionCode;
use shebao_domain::staff::{StaffRole, Username};
use shebao_infra::db::{run_migrations, DbConnection};
use shebao_infra::registry::persons::{self, NewPerson};
use shebao_security::keys::{BLIND_INDEX_KEY_ENV, PII_KEY_ENV, SIGNING_KEY_ENV};
use shebao_security::{KeyMaterial, PasswordHasher, PiiVault};
use shebao_standins::pay::{PayStandIn, PayStandInConfig, ServiceSettings};

mod support;
use support::{free_port, kill9, TestDb};

const BIN: &str = env!("CARGO_BIN_EXE_shebao");
const PERSONS: usize = 120;
const PASSWORD: &str = "correct horse battery staple";

/// The persons, their pension awards and payout accounts (in effect already), and an admin,
/// written straight into the database with the server's keys.
fn populate(url: &str, vault: &PiiVault) -> Vec<uuid::Uuid> {
    use shebao_infra::schema::{applications, benefit_awards};
    let mut conn = DbConnection::open(url).unwrap();
    run_migrations(&mut conn).unwrap();
    let now = chrono::Utc::now().naive_utc();
    shebao_infra::seed::ensure_regions(&mut conn, 2026, now).unwrap();
    let people: Vec<(uuid::Uuid, NewPerson)> = (0..PERSONS)
        .map(|i| {
            let born = chrono::NaiveDate::from_ymd_opt(1955, 1, 1).unwrap();
            let p = NewPerson {
                national_id: NationalId::from_parts(
                    "440301",
                    born,
                    u16::try_from(i * 2 + 1).unwrap(),
                )
                .unwrap(),
                name: PersonName::parse("测试人员").unwrap(),
                region: RegionCode::parse("440300").unwrap(),
                card_number: CardNumber::parse(&format!("K{i:08}")).unwrap(),
                medical_category: MedicalCategory::Employee,
                employment_status: EmploymentStatus::Retired,
            };
            (uuid::Uuid::now_v7(), p)
        })
        .collect();
    persons::insert_many(&mut conn, vault, &people, now).unwrap();
    for (i, (person, _)) in people.iter().enumerate() {
        let application = uuid::Uuid::now_v7().to_string();
        diesel::insert_into(applications::table)
            .values((
                applications::id.eq(&application),
                applications::person_id.eq(person.to_string()),
                applications::region_code.eq("440300"),
                applications::kind.eq("retirement"),
                applications::status.eq("approved"),
                applications::data.eq("{}"),
                applications::missing.eq("[]"),
                applications::idempotency_key.eq(format!("crash-{application}")),
                applications::request_hash.eq("crash"),
                applications::version.eq(1),
                applications::created_at.eq(now),
                applications::updated_at.eq(now),
            ))
            .execute(&mut conn)
            .unwrap();
        diesel::insert_into(benefit_awards::table)
            .values((
                benefit_awards::id.eq(uuid::Uuid::now_v7().to_string()),
                benefit_awards::person_id.eq(person.to_string()),
                benefit_awards::application_id.eq(&application),
                benefit_awards::kind.eq("pension"),
                benefit_awards::monthly_amount_fen.eq(300_000 + i64::try_from(i).unwrap()),
                benefit_awards::months.eq(None::<i32>),
                benefit_awards::starts.eq("2020-01"),
                benefit_awards::created_at.eq(now),
            ))
            .execute(&mut conn)
            .unwrap();
        let wallet = PayoutDestination::wallet("ecny", &format!("{:016}", 1_000_000 + i)).unwrap();
        shebao_infra::payouts::accounts::set(
            &mut conn,
            vault,
            *person,
            &wallet,
            now - chrono::TimeDelta::days(2),
            now - chrono::TimeDelta::days(1),
        )
        .unwrap();
    }
    let hash = PasswordHasher::new(1).hash_blocking(PASSWORD).unwrap();
    shebao_infra::registry::staff::insert(
        &mut conn,
        &Username::parse("payoutadmin").unwrap(),
        &hash,
        StaffRole::Admin,
        now,
    )
    .unwrap()
    .unwrap();
    people.into_iter().map(|(id, _)| id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payout_run_killed_again_and_again_pays_each_person_once() {
    let dir = tempfile::tempdir().unwrap();
    let test_db = TestDb::new(dir.path(), "shebao_payoutcrash");
    let url = test_db.url.clone();

    // The server's keys, as environment values, so this test encrypts as the server does.
    let random = || {
        let mut bytes = Vec::with_capacity(32);
        bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
        bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
        base64::engine::general_purpose::STANDARD.encode(bytes)
    };
    let key_env: Vec<(String, String)> = [PII_KEY_ENV, BLIND_INDEX_KEY_ENV, SIGNING_KEY_ENV]
        .iter()
        .map(|k| ((*k).to_owned(), random()))
        .collect();
    let keys = KeyMaterial::load(
        &|k| key_env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()),
        std::path::Path::new("/nonexistent-payout-crash-keys"),
        false,
    )
    .unwrap();
    let vault = PiiVault::new(&keys);
    let people = {
        let url = url.clone();
        tokio::task::spawn_blocking(move || populate(&url, &vault))
            .await
            .unwrap()
    };

    // The gateway: a stand-in in this process that outlives every server.
    let pay_keys = shebao_api::startup::demo_pay_keys().unwrap();
    let mut config = PayStandInConfig::demo_with(pay_keys.clone());
    config.notify_retry_delays = Vec::new();
    let files = pay_keys
        .write_merchant_files(&dir.path().join("pay"))
        .unwrap();
    let service_settings = ServiceSettings::of(&config, &files);
    let standin = PayStandIn::start("127.0.0.1:0", config).unwrap();
    let pay_env: Vec<(String, String)> = service_settings
        .env_lines(&standin.base_url)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();

    let port = free_port();
    let serve = || {
        let mut c = Command::new(BIN);
        c.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", &url)
            .env("SHEBAO_DATA_DIR", dir.path())
            .env("SHEBAO_DEMO_SEED", "false")
            .env("SHEBAO_SMS_STANDIN", "true")
            .env("SHEBAO_SMS_STANDIN_LISTEN", "127.0.0.1:0")
            .env("SHEBAO_METRICS_LISTEN", "127.0.0.1:0")
            .env("SHEBAO_LISTEN", format!("127.0.0.1:{port}"))
            .env("SHEBAO_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (k, v) in key_env.iter().chain(&pay_env) {
            c.env(k, v);
        }
        c.spawn().unwrap()
    };
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let api = format!("http://127.0.0.1:{port}");
    let ready = |http: reqwest::Client, api: String| async move {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if let Ok(r) = http.get(format!("{api}/readyz")).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server did not become ready");
    };
    let login = |http: reqwest::Client, api: String| async move {
        let res: Value = http
            .post(format!("{api}/v1/staff/auth/login"))
            .json(&json!({"username": "payoutadmin", "password": PASSWORD}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        res["access_token"].as_str().unwrap().to_owned()
    };
    let period = {
        let now = chrono::Utc::now() + chrono::TimeDelta::hours(8);
        now.format("%Y-%m").to_string()
    };
    let transfers = |http: reqwest::Client, base: String| async move {
        let v: Value = http
            .get(format!("{base}/control/transfers"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["transfers"].as_array().unwrap().clone()
    };

    // Killed while running, a little later each time.
    let mut kills = 0;
    let mut sent_before_kill = Vec::new();
    for round in 0..4u64 {
        let mut server = serve();
        ready(http.clone(), api.clone()).await;
        let token = login(http.clone(), api.clone()).await;
        let before = transfers(http.clone(), standin.base_url.clone())
            .await
            .len();
        let request = tokio::spawn(
            http.post(format!("{api}/v1/staff/payouts"))
                .bearer_auth(&token)
                .json(&json!({"period": period, "benefit": "pension"}))
                .send(),
        );
        // Killed once the gateway has seen a few more transfers of this run (a few more each
        // round), so mid-run whatever the machine's speed; between one transfer and the next
        // the server may be anywhere: before the call, awaiting it, or committing its answer.
        let wanted = before + 3 + usize::try_from(round).unwrap() * 2;
        let started = std::time::Instant::now();
        while transfers(http.clone(), standin.base_url.clone())
            .await
            .len()
            < wanted
            && !request.is_finished()
        {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "round {round}: no progress"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let finished = request.is_finished();
        kill9(&mut server);
        kills += 1;
        let after = transfers(http.clone(), standin.base_url.clone())
            .await
            .len();
        sent_before_kill.push(after - before);
        assert!(
            !finished,
            "round {round}: the run finished before the kill ({} sent)",
            after - before
        );
    }
    assert!(
        sent_before_kill.iter().any(|n| *n > 0),
        "no transfer was sent before any kill: {sent_before_kill:?}"
    );

    // Then it runs to the end, and once more.
    let mut server = serve();
    ready(http.clone(), api.clone()).await;
    let token = login(http.clone(), api.clone()).await;
    let run = |token: String| {
        let (http, api, period) = (http.clone(), api.clone(), period.clone());
        async move {
            let res = http
                .post(format!("{api}/v1/staff/payouts"))
                .bearer_auth(&token)
                .json(&json!({"period": period, "benefit": "pension"}))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 201);
            res.json::<Value>().await.unwrap()
        }
    };
    let full = run(token.clone()).await;
    let again = run(token.clone()).await;
    assert_eq!(again["already_paid"], PERSONS, "{again}");
    assert_eq!(again["paid"]["count"], 0, "{again}");
    let tb: Value = http
        .get(format!(
            "{api}/v1/staff/ledger/trial-balance?as_of=2100-01-01"
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    kill9(&mut server);

    // The gateway: one transfer per person, each a success.
    let all = transfers(http.clone(), standin.base_url.clone()).await;
    let mut by_bill: BTreeMap<String, usize> = BTreeMap::new();
    for t in &all {
        assert_eq!(t["state"], "SUCCESS", "{t}");
        *by_bill
            .entry(t["out_bill_no"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    assert_eq!(
        all.len(),
        PERSONS,
        "after {kills} kills ({sent_before_kill:?}): {full}"
    );
    assert!(by_bill.values().all(|n| *n == 1));
    // The database: one paid attempt and one benefit payment per person, nothing pending.
    let (paid, payments, pending) = {
        let url = url.clone();
        tokio::task::spawn_blocking(move || {
            use shebao_infra::schema::{benefit_payments, payout_items};
            let mut c = DbConnection::open(&url).unwrap();
            let paid: Vec<String> = payout_items::table
                .filter(payout_items::status.eq("paid"))
                .select(payout_items::person_id)
                .load(&mut c)
                .unwrap();
            let payments: i64 = benefit_payments::table.count().get_result(&mut c).unwrap();
            let pending: i64 = payout_items::table
                .filter(payout_items::status.eq("pending"))
                .count()
                .get_result(&mut c)
                .unwrap();
            (paid, payments, pending)
        })
        .await
        .unwrap()
    };
    let mut paid_people: Vec<String> = paid.clone();
    paid_people.sort();
    paid_people.dedup();
    assert_eq!(paid.len(), PERSONS);
    assert_eq!(paid_people.len(), PERSONS);
    assert_eq!(payments as usize, PERSONS);
    assert_eq!(pending, 0);
    let mut want: Vec<String> = people.iter().map(ToString::to_string).collect();
    want.sort();
    assert_eq!(paid_people, want);
    // The ledger balances and nothing is left payable.
    assert_eq!(tb["balanced"], true, "{tb}");
    let payable = tb["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["account"] == "benefits_payable")
        .unwrap();
    assert_eq!(payable["balance_fen"], 0, "{tb}");
    println!("{kills} kills, transfers sent before each: {sent_before_kill:?}; each of {PERSONS} persons paid once");
    standin.stop().await;
}
