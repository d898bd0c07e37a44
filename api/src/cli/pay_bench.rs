//! `shebao bench payments`: the payment flows' throughput on the configured database against an
//! in-process gateway stand-in — orders created per second (each one a database transaction and
//! a signed order at the gateway), and notifications processed per second (each one verified,
//! decrypted and applied), both with a share of duplicates. For `bench/payments.sh`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use futures_util::{stream, StreamExt};
use secrecy::ExposeSecret;
use serde_json::json;
use shebao_domain::payments::payables::{self, MonthInputs, Payable};
use shebao_domain::payments::{PaymentStatus, SignedNotification};
use shebao_domain::ports::Clock;
use shebao_infra::clock::SystemClock;
use shebao_infra::db::{run_migrations, Db};
use shebao_infra::payments::service::Payments;
use shebao_infra::payments::store;
use shebao_infra::registry::regions;
use shebao_security::gateway_crypto::{resource_nonce, PlatformSignature, SigningKey};
use shebao_standins::pay::{PayStandIn, PayStandInConfig};
use uuid::Uuid;

use super::{load, out};

/// One order to create: a person, one of their payables, and the key (repeated for duplicates).
#[derive(Clone)]
pub struct Request {
    pub person: Uuid,
    pub key: String,
    pub payable: Payable,
}

/// The flexible-employment persons' payables, one order each, up to `orders`.
pub fn orders_to_make(db_url: &str, orders: usize) -> anyhow::Result<Vec<Request>> {
    let mut conn = shebao_infra::db::DbConnection::open(db_url)?;
    let ids = store::flexible_person_ids(&mut conn, i64::try_from(orders).unwrap_or(i64::MAX))?;
    let today = (Utc::now() + chrono::TimeDelta::hours(8)).date_naive();
    let mut out = Vec::new();
    for person in ids {
        let id = person.to_string();
        let records = store::payable_records(&mut conn, person)?;
        let years = regions::years_of_person(&mut conn, person)?;
        let rules = regions::rules_of_person(&mut conn, person)?.unwrap_or_default();
        let items = payables::month_payables(&MonthInputs {
            person_id: &id,
            today,
            due_day: rules.contribution_due_day,
            flexible: records.flexible,
            employee_medical: records.employee_medical,
            years: &years,
            chosen_bases: &records.chosen_bases,
            own_months: &records.own_months,
        });
        for p in items {
            out.push(Request {
                person,
                key: format!("bench-{}", Uuid::new_v4().simple()),
                payable: p,
            });
            if out.len() == orders {
                return Ok(out);
            }
        }
    }
    Ok(out)
}

/// An order's outcome: the payment and whether it was a replay, or the error.
type Created = Result<(store::Payment, bool), String>;

/// Percentiles of latencies in milliseconds.
fn percentiles(mut ms: Vec<f64>) -> String {
    if ms.is_empty() {
        return "no samples".into();
    }
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() as f64 - 1.0) * q).round() as usize];
    format!(
        "p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        at(0.5),
        at(0.9),
        at(0.99),
        at(1.0)
    )
}

pub fn bench_payments(
    orders: usize,
    duplicate_pct: usize,
    concurrency: usize,
) -> anyhow::Result<()> {
    let (settings, _) = load()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let db = Db::connect(&settings.database_url, &settings.pool_options())?;
        db.run(run_migrations).await?;
        let requests = {
            let url = settings.database_url.clone();
            tokio::task::spawn_blocking(move || orders_to_make(&url, orders)).await??
        };
        anyhow::ensure!(
            requests.len() == orders,
            "only {} payables of flexible-employment persons; seed more persons (shebao seed --persons)",
            requests.len()
        );
        let keys = crate::startup::demo_pay_keys()?;
        let mut config = PayStandInConfig::demo_with(keys.clone());
        config.notify_retry_delays = Vec::new();
        let standin = PayStandIn::start("127.0.0.1:0", config)?;
        let gateway = crate::startup::standin_gateway(&standin.base_url, &keys)?;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let payments = Payments::new(
            db.clone(),
            Arc::new(gateway),
            clock,
            // Nothing listens: notifications are sent below, by this benchmark.
            "http://127.0.0.1:9/notify".into(),
        );

        // Orders: every 1 in (100 / duplicate_pct) requests repeats an earlier one's key.
        let mut sequence: Vec<Request> = Vec::with_capacity(orders + orders * duplicate_pct / 100);
        let every = 100usize.checked_div(duplicate_pct).unwrap_or(usize::MAX).max(1);
        for (i, r) in requests.iter().enumerate() {
            sequence.push(r.clone());
            if i % every == every - 1 {
                sequence.push(requests[i / 2].clone());
            }
        }
        let total = sequence.len();
        out(&format!(
            "orders: {orders} distinct + {} repeated keys, {concurrency} at a time",
            total - orders
        ));
        let started = Instant::now();
        let results: Vec<(Created, f64)> = stream::iter(sequence)
            .map(|r| {
                let payments = payments.clone();
                async move {
                    let t = Instant::now();
                    let hash = format!("wechat|{}", r.payable.id);
                    let res = payments
                        .create(r.person, r.key, hash, vec![r.payable], "社保缴费 bench".into())
                        .await
                        .map_err(|e| e.to_string());
                    (res, t.elapsed().as_secs_f64() * 1000.0)
                }
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
        let secs = started.elapsed().as_secs_f64();
        let mut created = BTreeMap::new();
        let (mut replayed, mut failed) = (0, 0);
        let mut latencies = Vec::new();
        for (res, ms) in results {
            latencies.push(ms);
            match res {
                Ok((p, true)) => {
                    replayed += 1;
                    created.entry(p.out_trade_no.clone()).or_insert(p);
                }
                Ok((p, false)) => {
                    created.insert(p.out_trade_no.clone(), p);
                }
                Err(e) => {
                    failed += 1;
                    if failed <= 3 {
                        out(&format!("  failed: {e}"));
                    }
                }
            }
        }
        out(&format!(
            "orders: {total} requests in {secs:.2} s = {:.0} requests/s; {} orders, {replayed} replays, {failed} failed; {}",
            total as f64 / secs,
            created.len(),
            percentiles(latencies)
        ));

        // Notifications: TRANSACTION.SUCCESS for every order, signed by the platform key and
        // encrypted with the APIv3 key as the gateway does (made before the clock starts);
        // every 1 in (100 / duplicate_pct) is delivered twice.
        let platform = SigningKey::from_pkcs8_pem(keys.platform_private_pem.expose_secret())
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut notes = Vec::new();
        for (i, p) in created.values().enumerate() {
            let success = (Utc::now() + chrono::TimeDelta::hours(8))
                .format("%Y-%m-%dT%H:%M:%S+08:00")
                .to_string();
            let transaction = json!({
                "appid": shebao_infra::config::STANDIN_PAY_APPID,
                "mchid": shebao_infra::config::STANDIN_PAY_MCHID,
                "out_trade_no": p.out_trade_no, "transaction_id": format!("4200{:024}", i),
                "trade_type": "APP", "trade_state": "SUCCESS", "trade_state_desc": "支付成功",
                "bank_type": "CMB_DEBIT", "attach": "", "success_time": success,
                "payer": {"openid": "oUpF8uBENCH"},
                "amount": {"total": p.amount.0, "payer_total": p.amount.0, "currency": "CNY", "payer_currency": "CNY"},
            });
            let nonce = resource_nonce();
            let ciphertext = keys
                .apiv3_key
                .encrypt(&nonce, "transaction", transaction.to_string().as_bytes())
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let body = json!({
                "id": format!("EV-BENCH-{i}"), "create_time": success,
                "resource_type": "encrypt-resource", "event_type": "TRANSACTION.SUCCESS",
                "summary": "支付成功",
                "resource": {"original_type": "transaction", "algorithm": "AEAD_AES_256_GCM",
                             "ciphertext": ciphertext, "associated_data": "transaction", "nonce": nonce},
            })
            .to_string()
            .into_bytes();
            let sig = PlatformSignature::sign(&platform, &keys.platform_serial, Utc::now().timestamp(), &body)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let note = SignedNotification {
                serial: Some(sig.serial),
                signature: Some(sig.signature),
                timestamp: Some(sig.timestamp),
                nonce: Some(sig.nonce),
                body,
            };
            notes.push(note.clone());
            if i % every == every - 1 {
                notes.push(note);
            }
        }
        let n = notes.len();
        let started = Instant::now();
        let results: Vec<(Result<bool, String>, f64)> = stream::iter(notes)
            .map(|note| {
                let payments = payments.clone();
                async move {
                    let t = Instant::now();
                    let res = payments.notification(&note).await.map_err(|e| e.to_string());
                    (res, t.elapsed().as_secs_f64() * 1000.0)
                }
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
        let secs = started.elapsed().as_secs_f64();
        let (mut first, mut again, mut failed) = (0, 0, 0);
        let mut latencies = Vec::new();
        for (res, ms) in results {
            latencies.push(ms);
            match res {
                Ok(true) => first += 1,
                Ok(false) => again += 1,
                Err(e) => {
                    failed += 1;
                    if failed <= 3 {
                        out(&format!("  failed: {e}"));
                    }
                }
            }
        }
        out(&format!(
            "notifications: {n} in {secs:.2} s = {:.0} notifications/s; {first} new, {again} seen before, {failed} failed; {}",
            n as f64 / secs,
            percentiles(latencies)
        ));
        // Every order is now pending, once.
        let pending: i64 = db
            .read(|c| store::count_by_key_prefix(c, "bench-", PaymentStatus::Pending))
            .await?;
        out(&format!("pending payments after the run: {pending} (orders: {})", created.len()));
        anyhow::ensure!(
            pending == i64::try_from(created.len()).unwrap_or(-1),
            "every order must be pending exactly once"
        );
        standin.stop().await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        Ok(())
    })
    .context("bench payments")
}
