//! Benefit payouts end to end (issue 14 §2): the payout account (validation, masking,
//! encryption at rest, step-up, the cooling period and the SMS sent at once), and the monthly
//! payout runs (once per person and month however often repeated or killed, a closed
//! account's failure, its SMS and its retry, the ledger balancing, the payment in
//! `/v1/me/benefits`, staff only).

use chrono::Duration;
use diesel::prelude::*;
use serde_json::{json, Value};
use shebao_domain::ports::Clock;
use shebao_infra::schema::payout_accounts;
use shebao_tests::{assert_problem, spawn_app_with, BoundTestPerson, TestApp, TestOptions};

const COOLING_SECS: i64 = 3600;

async fn app() -> TestApp {
    let app = spawn_app_with(TestOptions {
        env: vec![
            ("SHEBAO_PAYOUT_COOLING_SECS", COOLING_SECS.to_string()),
            ("SHEBAO_ACCESS_TOKEN_TTL_SECS", "3600".into()),
        ],
        ..Default::default()
    })
    .await;
    app.seed_regions();
    app
}

/// One bound person with a stepped-up token.
async fn person(app: &TestApp, tag: u8) -> (BoundTestPerson, String) {
    let p = app.bound_persons(1, "440300", tag).await.remove(0);
    let stepped = app.step_up(&p.token, &p.phone).await;
    (p, stepped)
}

async fn put_account(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    app.client
        .put(app.url("/v1/me/payout-account"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

fn wallet() -> Value {
    json!({"kind": "wallet", "provider": "ecny", "wallet_id": "0012345678901234"})
}

fn card() -> Value {
    json!({"kind": "bank_card", "bank_code": "ICBC", "card_number": "6222 0212 3456 7890 128"})
}

/// The texts to `phone` containing `needle`, once `expected` have come or 30 s passed.
async fn texts(app: &TestApp, phone: &str, needle: &str, expected: usize) -> Vec<String> {
    let started = std::time::Instant::now();
    loop {
        let found: Vec<String> = app
            .sms_messages(phone)
            .await
            .iter()
            .filter_map(|m| m["body"].as_str())
            .filter(|b| b.contains(needle))
            .map(str::to_owned)
            .collect();
        if found.len() >= expected || started.elapsed() > std::time::Duration::from_secs(30) {
            return found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_payout_account_is_validated_and_needs_a_fresh_step_up() {
    let app = app().await;
    let (p, stepped) = person(&app, 1).await;
    // Without a step-up: refused, nothing stored.
    assert_problem(
        put_account(&app, &p.token, &wallet()).await,
        403,
        "step_up_required",
    )
    .await;
    let cases = [
        (
            json!({"kind": "bank_card", "bank_code": "ICBC", "card_number": "6222021234567890127"}),
            "card_number",
        ),
        (
            json!({"kind": "bank_card", "bank_code": "ICBC", "card_number": "622202123456789"}),
            "card_number",
        ),
        (
            json!({"kind": "bank_card", "bank_code": "HSBC", "card_number": "6222021234567890128"}),
            "bank_code",
        ),
        (
            json!({"kind": "bank_card", "bank_code": "ICBC"}),
            "card_number",
        ),
        (
            json!({"kind": "wallet", "provider": "wechat", "wallet_id": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6"}),
            "wallet_id",
        ),
        (
            json!({"kind": "wallet", "provider": "alipay", "wallet_id": "1088102122524333"}),
            "wallet_id",
        ),
        (
            json!({"kind": "wallet", "provider": "paypal", "wallet_id": "x"}),
            "provider",
        ),
        (
            json!({"kind": "wallet", "provider": "ecny", "wallet_id": "0012345678901234", "card_number": "6222021234567890128"}),
            "card_number",
        ),
    ];
    for (body, field) in cases {
        let res = put_account(&app, &stepped, &body).await;
        let problem = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem}");
    }
    let none = app.get_ok(&p.token, "/v1/me/payout-account").await;
    assert_eq!(none, json!({"current": null, "pending": null}));
    // Valid ones of each provider pass.
    for body in [
        card(),
        json!({"kind": "wallet", "provider": "wechat", "wallet_id": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}),
        json!({"kind": "wallet", "provider": "alipay", "wallet_id": "2088102122524333"}),
        wallet(),
    ] {
        let res = put_account(&app, &stepped, &body).await;
        assert_eq!(res.status(), 200, "{body}: {}", res.text().await.unwrap());
    }
    // Staff tokens and anonymous callers do not reach it.
    let res = app.get("/v1/me/payout-account").send().await.unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn a_change_waits_out_its_cooling_period_is_texted_at_once_and_is_stored_encrypted() {
    let app = app().await;
    let (p, stepped) = person(&app, 2).await;
    let now = app.clock.now();
    let res = put_account(&app, &stepped, &card()).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["current"], Value::Null, "{body}");
    let pending = &body["pending"];
    assert_eq!(pending["kind"], "bank_card");
    assert_eq!(pending["institution"], "ICBC");
    assert_eq!(pending["number"], "6222 **** **** 0128");
    let effective: chrono::DateTime<chrono::Utc> =
        pending["effective_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(effective, now + Duration::seconds(COOLING_SECS));
    // The text goes at once, naming the bank and the last four digits, not the number.
    let sms = texts(&app, &p.phone, "待遇领取账户", 1).await;
    assert_eq!(sms.len(), 1, "{sms:?}");
    assert!(sms[0].contains("尾号0128"), "{}", sms[0]);
    assert!(!sms[0].contains("6222021234567890128"));
    // At rest: the column holds ciphertext, never the number.
    let mut conn = app.db.connect();
    let stored: Vec<(String, String)> = payout_accounts::table
        .select((payout_accounts::number_enc, payout_accounts::number_masked))
        .load(&mut conn)
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert!(stored[0].0.starts_with("v1:"), "{}", stored[0].0);
    assert!(!stored[0].0.contains("6222021234567890128"));
    assert!(!stored[0].0.contains("0128"));
    // Just before the end of the cooling period it is still pending; then it is current.
    app.clock.advance(Duration::seconds(COOLING_SECS - 1));
    let fresh = app.access_token(p.account_id, p.session_id);
    let before = app.get_ok(&fresh, "/v1/me/payout-account").await;
    assert_eq!(before["current"], Value::Null);
    assert_eq!(before["pending"]["number"], "6222 **** **** 0128");
    app.clock.advance(Duration::seconds(1));
    let after = app.get_ok(&fresh, "/v1/me/payout-account").await;
    assert_eq!(after["current"]["number"], "6222 **** **** 0128", "{after}");
    assert_eq!(after["pending"], Value::Null);
    // A second change, at 02:00 Beijing time: the alert still goes at once (it does not wait
    // for daylight); the card stays current until the wallet's cooling is over; cancelled, the
    // card stays for good.
    app.clock.advance(Duration::hours(18 - 9));
    let fresh = app.access_token(p.account_id, p.session_id);
    let stepped = app.step_up(&fresh, &p.phone).await;
    let body: Value = put_account(&app, &stepped, &wallet())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["current"]["number"], "6222 **** **** 0128");
    assert_eq!(body["pending"]["institution"], "ecny");
    assert_eq!(body["pending"]["number"], "0012 **** **** 1234");
    assert_eq!(texts(&app, &p.phone, "待遇领取账户", 2).await.len(), 2);
    let cancel = |token: String| {
        let app = &app;
        async move {
            app.client
                .delete(app.url("/v1/me/payout-account/pending"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(cancel(fresh.clone()).await.status(), 204);
    assert_problem(cancel(fresh.clone()).await, 404, "no_pending_payout_change").await;
    app.clock.advance(Duration::seconds(COOLING_SECS * 2));
    let fresh = app.access_token(p.account_id, p.session_id);
    let last = app.get_ok(&fresh, "/v1/me/payout-account").await;
    assert_eq!(last["current"]["number"], "6222 **** **** 0128");
    assert_eq!(last["pending"], Value::Null);
}

// ---------------------------------------------------------------------------------------------
// Payout runs

/// An approved application of `kind` for `person`, straight into the database: its id.
fn approved_application(
    conn: &mut shebao_infra::db::DbConnection,
    person: uuid::Uuid,
    kind: &str,
    now: chrono::NaiveDateTime,
) -> String {
    use shebao_infra::schema::applications;
    let application = uuid::Uuid::now_v7().to_string();
    diesel::insert_into(applications::table)
        .values((
            applications::id.eq(&application),
            applications::person_id.eq(person.to_string()),
            applications::region_code.eq("440300"),
            applications::kind.eq(kind),
            applications::status.eq("approved"),
            applications::data.eq("{}"),
            applications::missing.eq("[]"),
            applications::idempotency_key.eq(format!("test-{application}")),
            applications::request_hash.eq("test"),
            applications::version.eq(1),
            applications::created_at.eq(now),
            applications::updated_at.eq(now),
        ))
        .execute(conn)
        .unwrap();
    application
}

/// Grants `person` a benefit as an approved application would (an application row and its
/// award), straight into the database.
fn award(
    app: &TestApp,
    person: uuid::Uuid,
    kind: &str,
    monthly_fen: i64,
    months: Option<i32>,
    starts: &str,
) {
    use shebao_infra::schema::benefit_awards;
    let mut conn = app.db.connect();
    let now = app.clock.now().naive_utc();
    let application_kind = if kind == "pension" {
        "retirement"
    } else {
        "unemployment_benefit"
    };
    let application = approved_application(&mut conn, person, application_kind, now);
    diesel::insert_into(benefit_awards::table)
        .values((
            benefit_awards::id.eq(uuid::Uuid::now_v7().to_string()),
            benefit_awards::person_id.eq(person.to_string()),
            benefit_awards::application_id.eq(&application),
            benefit_awards::kind.eq(kind),
            benefit_awards::monthly_amount_fen.eq(monthly_fen),
            benefit_awards::months.eq(months),
            benefit_awards::starts.eq(starts),
            benefit_awards::created_at.eq(now),
        ))
        .execute(&mut conn)
        .unwrap();
}

async fn control(app: &TestApp, path: &str, body: Value) -> Value {
    let res = app
        .client
        .request(
            if body.is_null() {
                reqwest::Method::GET
            } else {
                reqwest::Method::POST
            },
            format!("{}{path}", app.pay_url),
        )
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{path}");
    res.json().await.unwrap()
}

async fn run(app: &TestApp, admin: &str, period: &str, benefit: &str) -> Value {
    let res = app
        .post("/v1/staff/payouts")
        .bearer_auth(admin)
        .json(&json!({"period": period, "benefit": benefit}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    res.json().await.unwrap()
}

fn totals(run: &Value, status: &str) -> (i64, i64) {
    (
        run[status]["count"].as_i64().unwrap(),
        run[status]["amount_fen"].as_i64().unwrap(),
    )
}

/// The gateway's transfers, as (out_bill_no, state) in creation order.
async fn transfers(app: &TestApp) -> Vec<(String, String, i64)> {
    control(app, "/control/transfers", Value::Null).await["transfers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["out_bill_no"].as_str().unwrap().to_owned(),
                t["state"].as_str().unwrap().to_owned(),
                t["transfer_amount"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_payout_run_repeated_and_killed_pays_each_person_once_and_retries_a_closed_account() {
    use shebao_domain::staff::StaffRole;
    let app = app().await;
    let persons = app.bound_persons(3, "440300", 3).await;
    let (ann, bo, cai) = (&persons[0], &persons[1], &persons[2]);
    award(&app, ann.person_id, "pension", 350_000, None, "2026-01");
    award(&app, bo.person_id, "pension", 280_000, None, "2026-06");
    award(&app, cai.person_id, "pension", 300_000, None, "2026-01");
    // Not entitled to a pension this month: an unemployment benefit only, and a pension from
    // next year.
    award(
        &app,
        cai.person_id,
        "unemployment",
        180_000,
        Some(12),
        "2026-11",
    );
    // Ann: an e-CNY wallet; Bo: a bank card; Cai: none.
    for (p, body) in [(ann, wallet()), (bo, card())] {
        let stepped = app.step_up(&p.token, &p.phone).await;
        assert_eq!(put_account(&app, &stepped, &body).await.status(), 200);
    }
    app.clock.advance(Duration::seconds(COOLING_SECS));
    let admin = app.staff_token(StaffRole::Admin).await;
    // Staff only, admins only; a month not begun yet is refused.
    let cw = app.staff_token(StaffRole::Caseworker).await;
    let body = json!({"period": "2026-11", "benefit": "pension"});
    let res = app
        .post("/v1/staff/payouts")
        .bearer_auth(&cw)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_problem(res, 403, "forbidden").await;
    let res = app
        .post("/v1/staff/payouts")
        .bearer_auth(app.access_token(ann.account_id, ann.session_id))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = app
        .post("/v1/staff/payouts")
        .bearer_auth(&admin)
        .json(&json!({"period": "2026-12", "benefit": "pension"}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 422, "payout_period_not_due").await;
    // Bo's card is closed at his bank; the gateway takes Ann's bill but the run never hears
    // back (every try's answer is lost, and no notification comes): exactly what a run killed
    // between the gateway's call and recording its answer leaves behind.
    control(
        &app,
        "/control/payout-destinations/close",
        json!({"type": "BANK_CARD", "institution": "ICBC", "account_no": "6222021234567890128", "reason": "ACCOUNT_FROZEN"}),
    )
    .await;
    control(&app, "/control/transfers/lose-answers", json!({"times": 3})).await;

    let first = run(&app, &admin, "2026-11", "pension").await;
    assert_eq!(first["entitled"], 3, "{first}");
    assert_eq!(first["skipped_no_account"], 1);
    assert_eq!(
        first["already_paid"],
        0,
        "{first} {:?}",
        transfers(&app).await
    );
    assert_eq!(totals(&first, "pending"), (1, 350_000), "{first}");
    assert_eq!(totals(&first, "failed"), (1, 280_000));
    assert_eq!(totals(&first, "paid"), (0, 0));
    let at_gateway = transfers(&app).await;
    assert_eq!(at_gateway.len(), 2, "{at_gateway:?}");
    assert_eq!(
        (at_gateway[0].1.as_str(), at_gateway[0].2),
        ("SUCCESS", 350_000)
    );
    assert_eq!(at_gateway[1].1, "FAIL");
    // Bo is told why, Cai that he has no account.
    let bo_sms = texts(&app, &bo.phone, "未能发放", 1).await;
    assert_eq!(bo_sms.len(), 1, "{bo_sms:?}");
    assert!(
        bo_sms[0].contains("已冻结或已销户") && bo_sms[0].contains("2800.00元"),
        "{}",
        bo_sms[0]
    );
    assert_eq!(
        texts(&app, &cai.phone, "未设置待遇领取账户", 1).await.len(),
        1
    );

    // The second run resumes Ann's bill (the same bill: the gateway still has one) and tries
    // Bo again, whose card is still closed.
    let second = run(&app, &admin, "2026-11", "pension").await;
    assert_eq!(second["already_paid"], 1, "{second}");
    assert_eq!(totals(&second, "failed"), (1, 280_000), "{second}");
    assert_eq!(totals(&second, "paid"), (0, 0));
    assert_eq!(
        app.get_ok(
            &admin,
            &format!("/v1/staff/payouts/{}", first["id"].as_str().unwrap())
        )
        .await["paid"],
        json!({"count": 1, "amount_fen": 350_000})
    );
    // Bo's bank reopens the card: the third run pays him.
    control(
        &app,
        "/control/payout-destinations/reopen",
        json!({"type": "BANK_CARD", "institution": "ICBC", "account_no": "6222021234567890128"}),
    )
    .await;
    let third = run(&app, &admin, "2026-11", "pension").await;
    assert_eq!(third["already_paid"], 1, "{third}");
    assert_eq!(totals(&third, "paid"), (1, 280_000), "{third}");
    // And a fourth changes nothing.
    let fourth = run(&app, &admin, "2026-11", "pension").await;
    assert_eq!(fourth["already_paid"], 2, "{fourth}");
    assert_eq!(fourth["skipped_no_account"], 1);
    assert_eq!(totals(&fourth, "paid"), (0, 0));
    assert_eq!(totals(&fourth, "failed"), (0, 0));
    // Each person paid once at the gateway: Ann's one bill, Bo's two failures and one success.
    let at_gateway = transfers(&app).await;
    let successes: Vec<&(String, String, i64)> =
        at_gateway.iter().filter(|t| t.1 == "SUCCESS").collect();
    assert_eq!(successes.len(), 2, "{at_gateway:?}");
    assert_eq!(at_gateway.len(), 4, "{at_gateway:?}");
    assert_ne!(successes[0].0, successes[1].0);
    // The runs list, newest first.
    let list = app.get_ok(&admin, "/v1/staff/payouts?limit=2").await;
    assert_eq!(list["items"][0]["id"], fourth["id"]);
    assert!(list["next_cursor"].is_string());

    // The ledger balances; the payable nets to zero; the pension fund paid out exactly the two
    // payments (the failed ones came back).
    let tb = balanced_trial_balance(&app, &admin).await;
    assert_eq!(balance(&tb, "benefits_payable"), 0);
    assert_eq!(balance(&tb, "fund_pool.pension"), 630_000);
    assert_eq!(balance(&tb, "gateway_clearing.wechat_transfer"), -630_000);

    // The payment shows in the person's benefits, with its status and masked destination.
    let ann_token = app.access_token(ann.account_id, ann.session_id);
    let benefits = app.get_ok(&ann_token, "/v1/me/benefits").await;
    let items = benefits["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{benefits}");
    assert_eq!(items[0]["period"], "2026-11");
    assert_eq!(items[0]["amount_fen"], 350_000);
    assert_eq!(benefits["payouts"][0]["status"], "paid", "{benefits}");
    assert_eq!(
        benefits["payouts"][0]["destination"],
        "ecny 0012 **** **** 1234"
    );
    let bo_token = app.access_token(bo.account_id, bo.session_id);
    let bo_benefits = app.get_ok(&bo_token, "/v1/me/benefits").await;
    let attempts: Vec<(String, Value)> = bo_benefits["payouts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["status"].as_str().unwrap().to_owned(),
                p["fail_reason"].clone(),
            )
        })
        .collect();
    assert_eq!(
        attempts,
        [
            ("paid".to_owned(), Value::Null),
            ("failed".to_owned(), json!("ACCOUNT_FROZEN")),
            ("failed".to_owned(), json!("ACCOUNT_FROZEN")),
        ],
        "{bo_benefits}"
    );
    assert_eq!(
        bo_benefits["payouts"][0]["destination"],
        "ICBC 6222 **** **** 0128"
    );
    assert!(!bo_benefits.to_string().contains("6222021234567890128"));
    assert_eq!(bo_benefits["items"].as_array().unwrap().len(), 1);
    // Bo was told of each failure once.
    assert_eq!(texts(&app, &bo.phone, "未能发放", 2).await.len(), 2);
    // Every transfer notification (all but the lost one's) was verified, decrypted and taken.
    let started = std::time::Instant::now();
    let finished = loop {
        let deliveries = control(&app, "/control/notifications", Value::Null).await;
        let finished: Vec<Value> = deliveries["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["event_type"] == "MCHTRANSFER.BILL.FINISHED")
            .cloned()
            .collect();
        if finished.len() >= 3 || started.elapsed() > std::time::Duration::from_secs(10) {
            break finished;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(finished.len(), 3, "{finished:?}");
    for d in &finished {
        assert!(matches!(d["status"].as_u64(), Some(200 | 204)), "{d}");
    }
}

#[tokio::test]
async fn a_pension_in_payment_from_the_previous_system_is_paid_on() {
    use shebao_domain::staff::StaffRole;
    use shebao_infra::schema::benefit_payments;
    let app = app().await;
    let p = app.bound_persons(1, "440300", 4).await.remove(0);
    // October's pension was paid by the previous system, with no award on record here.
    let mut conn = app.db.connect();
    let now = app.clock.now().naive_utc();
    diesel::insert_into(benefit_payments::table)
        .values((
            benefit_payments::id.eq(uuid::Uuid::now_v7().to_string()),
            benefit_payments::external_id.eq("OLD-PEN-2026-10"),
            benefit_payments::person_id.eq(p.person_id.to_string()),
            benefit_payments::kind.eq("pension"),
            benefit_payments::period.eq("2026-10"),
            benefit_payments::amount_fen.eq(363_800i64),
            benefit_payments::paid_at.eq(now),
            benefit_payments::created_at.eq(now),
        ))
        .execute(&mut conn)
        .unwrap();
    // A pension granted over a year ago whose qualification check was never made is
    // suspended: not in payment.
    let q = app.bound_persons(1, "440300", 5).await.remove(0);
    award(&app, q.person_id, "pension", 300_000, None, "2025-01");
    diesel::update(
        shebao_infra::schema::benefit_awards::table
            .filter(shebao_infra::schema::benefit_awards::person_id.eq(q.person_id.to_string())),
    )
    .set(shebao_infra::schema::benefit_awards::created_at.eq(now - Duration::days(400)))
    .execute(&mut conn)
    .unwrap();
    let stepped = app.step_up(&p.token, &p.phone).await;
    assert_eq!(put_account(&app, &stepped, &wallet()).await.status(), 200);
    app.clock.advance(Duration::seconds(COOLING_SECS));
    let admin = app.staff_token(StaffRole::Admin).await;
    let november = run(&app, &admin, "2026-11", "pension").await;
    assert_eq!(november["entitled"], 1, "{november}");
    assert_eq!(november["skipped_no_account"], 0, "{november}");
    assert_eq!(totals(&november, "paid"), (1, 363_800), "{november}");
    // Nothing for unemployment: no award.
    let none = run(&app, &admin, "2026-11", "unemployment").await;
    assert_eq!(none["entitled"], 0, "{none}");
}

/// A pension payment loaded from the previous system for `period`, loaded at `loaded`.
fn imported(
    app: &TestApp,
    person: uuid::Uuid,
    period: &str,
    amount_fen: i64,
    loaded: chrono::NaiveDateTime,
) {
    use shebao_infra::schema::benefit_payments;
    let mut conn = app.db.connect();
    diesel::insert_into(benefit_payments::table)
        .values((
            benefit_payments::id.eq(uuid::Uuid::now_v7().to_string()),
            benefit_payments::external_id.eq(format!("OLD-PEN-{person}-{period}")),
            benefit_payments::person_id.eq(person.to_string()),
            benefit_payments::kind.eq("pension"),
            benefit_payments::period.eq(period),
            benefit_payments::amount_fen.eq(amount_fen),
            benefit_payments::paid_at.eq(loaded),
            benefit_payments::created_at.eq(loaded),
        ))
        .execute(&mut conn)
        .unwrap();
}

/// The trial balance of everything so far, which must balance.
async fn balanced_trial_balance(app: &TestApp, admin: &str) -> Value {
    let tb = app
        .get_ok(admin, "/v1/staff/ledger/trial-balance?as_of=2100-01-01")
        .await;
    assert_eq!(tb["balanced"], true, "{tb}");
    tb
}

/// An account's balance in a trial balance; the account must be there.
fn balance(tb: &Value, account: &str) -> i64 {
    tb["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["account"] == account)
        .and_then(|l| l["balance_fen"].as_i64())
        .unwrap_or_else(|| panic!("{account} in {tb}"))
}

/// The ledger balances and nothing is left payable; returns the pension fund's balance.
async fn ledger_settled(app: &TestApp, admin: &str) -> i64 {
    let tb = balanced_trial_balance(app, admin).await;
    assert_eq!(balance(&tb, "benefits_payable"), 0, "{tb}");
    balance(&tb, "fund_pool.pension")
}

/// The periods of a person's benefit payments, newest first.
async fn paid_periods(app: &TestApp, p: &BoundTestPerson) -> Vec<String> {
    let token = app.access_token(p.account_id, p.session_id);
    let benefits = app.get_ok(&token, "/v1/me/benefits").await;
    benefits["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["period"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_month_failed_for_a_closed_account_is_paid_by_the_next_months_run_once_fixed() {
    use shebao_domain::staff::StaffRole;
    let app = app().await;
    let (ann, ann_stepped) = person(&app, 6).await;
    let (bo, bo_stepped) = person(&app, 11).await;
    award(&app, ann.person_id, "pension", 350_000, None, "2026-01");
    award(&app, bo.person_id, "pension", 280_000, None, "2026-01");
    let bo_card =
        json!({"kind": "bank_card", "bank_code": "CMB", "card_number": "4539148803436467"});
    assert_eq!(put_account(&app, &ann_stepped, &card()).await.status(), 200);
    assert_eq!(put_account(&app, &bo_stepped, &bo_card).await.status(), 200);
    app.clock.advance(Duration::seconds(COOLING_SECS));
    let admin = app.staff_token(StaffRole::Admin).await;
    let ann_at_bank =
        json!({"type": "BANK_CARD", "institution": "ICBC", "account_no": "6222021234567890128"});
    let bo_at_bank =
        json!({"type": "BANK_CARD", "institution": "CMB", "account_no": "4539148803436467"});
    for at_bank in [&ann_at_bank, &bo_at_bank] {
        let mut closed = at_bank.clone();
        closed["reason"] = json!("ACCOUNT_FROZEN");
        control(&app, "/control/payout-destinations/close", closed).await;
    }

    // October: both cards are closed, both transfers fail (the first run: nothing earlier to
    // pay).
    let october = run(&app, &admin, "2026-10", "pension").await;
    assert_eq!(october["entitled"], 2, "{october}");
    assert_eq!(totals(&october, "failed"), (2, 630_000), "{october}");
    assert_eq!(totals(&october, "paid"), (0, 0));
    assert_eq!(totals(&october, "catch_up"), (0, 0));
    // Ann's bank reopens her card before November's run, which pays her October and November,
    // each in its own transfer. Bo's is still closed: October fails again, and November waits
    // rather than fail too.
    control(&app, "/control/payout-destinations/reopen", ann_at_bank).await;
    let november = run(&app, &admin, "2026-11", "pension").await;
    assert_eq!(november["entitled"], 2, "{november}");
    assert_eq!(november["already_paid"], 0, "{november}");
    assert_eq!(totals(&november, "paid"), (2, 700_000), "{november}");
    assert_eq!(totals(&november, "failed"), (1, 280_000), "{november}");
    assert_eq!(totals(&november, "catch_up"), (2, 630_000), "{november}");
    // The report says the same later.
    let again = app
        .get_ok(
            &admin,
            &format!("/v1/staff/payouts/{}", november["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(
        again["catch_up"],
        json!({"count": 2, "amount_fen": 630_000})
    );
    assert_eq!(texts(&app, &bo.phone, "未能发放", 2).await.len(), 2);
    // Bo's card reopens: the next run pays him both months.
    control(&app, "/control/payout-destinations/reopen", bo_at_bank).await;
    let fixed = run(&app, &admin, "2026-11", "pension").await;
    assert_eq!(fixed["already_paid"], 1, "{fixed}");
    assert_eq!(totals(&fixed, "paid"), (2, 560_000), "{fixed}");
    assert_eq!(totals(&fixed, "catch_up"), (1, 280_000), "{fixed}");
    // Further runs, of either month, pay nothing.
    for period in ["2026-11", "2026-10"] {
        let repeat = run(&app, &admin, period, "pension").await;
        assert_eq!(repeat["already_paid"], 2, "{repeat}");
        assert_eq!(totals(&repeat, "paid"), (0, 0), "{repeat}");
        assert_eq!(totals(&repeat, "failed"), (0, 0), "{repeat}");
        assert_eq!(totals(&repeat, "catch_up"), (0, 0), "{repeat}");
    }
    // At the gateway: Ann's October failure, then her October and November paid once each;
    // Bo's two October failures, then his October and November paid once each.
    let at_gateway = transfers(&app).await;
    for (amount, states, bills) in [
        (
            350_000,
            vec!["FAIL", "SUCCESS", "SUCCESS"],
            vec![("P202610", "01"), ("P202610", "02"), ("P202611", "01")],
        ),
        (
            280_000,
            vec!["FAIL", "FAIL", "SUCCESS", "SUCCESS"],
            vec![
                ("P202610", "01"),
                ("P202610", "02"),
                ("P202610", "03"),
                ("P202611", "01"),
            ],
        ),
    ] {
        let theirs: Vec<&(String, String, i64)> =
            at_gateway.iter().filter(|t| t.2 == amount).collect();
        let got: Vec<&str> = theirs.iter().map(|t| t.1.as_str()).collect();
        assert_eq!(got, states, "{at_gateway:?}");
        for (t, (month, attempt)) in theirs.iter().zip(&bills) {
            assert!(
                t.0.starts_with(month) && t.0.ends_with(attempt),
                "{at_gateway:?}"
            );
        }
    }
    assert_eq!(paid_periods(&app, &ann).await, ["2026-11", "2026-10"]);
    assert_eq!(paid_periods(&app, &bo).await, ["2026-11", "2026-10"]);
    assert_eq!(ledger_settled(&app, &admin).await, 1_260_000);
}

#[tokio::test]
async fn a_month_without_a_payout_account_is_paid_with_the_next_once_one_is_in_effect() {
    use shebao_domain::staff::StaffRole;
    let app = app().await;
    let now = app.clock.now().naive_utc();
    // Dai: an award; Eve: a pension taken over from the previous system, which paid September.
    let (dai, dai_stepped) = person(&app, 7).await;
    let (eve, eve_stepped) = person(&app, 8).await;
    award(&app, dai.person_id, "pension", 300_000, None, "2026-01");
    imported(&app, eve.person_id, "2026-09", 363_800, now);
    // Not in payment: the previous system's last payment 14 months before November (beyond
    // the 12 months a run looks back); a pension taken over 400 days ago and never checked
    // (suspended for want of its yearly qualification check).
    let stale = app.bound_persons(1, "440300", 9).await.remove(0);
    imported(&app, stale.person_id, "2025-09", 350_000, now);
    let unchecked = app.bound_persons(1, "440300", 10).await.remove(0);
    imported(
        &app,
        unchecked.person_id,
        "2026-09",
        350_000,
        now - Duration::days(400),
    );
    let admin = app.staff_token(StaffRole::Admin).await;

    // October: neither has a payout account; both are skipped and texted.
    let october = run(&app, &admin, "2026-10", "pension").await;
    assert_eq!(october["entitled"], 2, "{october}");
    assert_eq!(october["skipped_no_account"], 2, "{october}");
    assert_eq!(totals(&october, "paid"), (0, 0), "{october}");
    assert_eq!(transfers(&app).await.len(), 0);
    assert_eq!(
        texts(&app, &eve.phone, "未设置待遇领取账户", 1).await.len(),
        1
    );

    // They set accounts; a run while the change still cools pays nothing.
    assert_eq!(
        put_account(&app, &dai_stepped, &wallet()).await.status(),
        200
    );
    assert_eq!(put_account(&app, &eve_stepped, &card()).await.status(), 200);
    let cooling = run(&app, &admin, "2026-11", "pension").await;
    assert_eq!(cooling["skipped_no_account"], 2, "{cooling}");
    assert_eq!(totals(&cooling, "paid"), (0, 0), "{cooling}");
    // Once in effect, November's run pays October and November to each.
    app.clock.advance(Duration::seconds(COOLING_SECS));
    let november = run(&app, &admin, "2026-11", "pension").await;
    assert_eq!(november["entitled"], 2, "{november}");
    assert_eq!(november["skipped_no_account"], 0, "{november}");
    assert_eq!(
        totals(&november, "paid"),
        (4, 2 * 300_000 + 2 * 363_800),
        "{november}"
    );
    assert_eq!(
        totals(&november, "catch_up"),
        (2, 300_000 + 363_800),
        "{november}"
    );
    // Once.
    let repeat = run(&app, &admin, "2026-11", "pension").await;
    assert_eq!(repeat["already_paid"], 2, "{repeat}");
    assert_eq!(totals(&repeat, "paid"), (0, 0), "{repeat}");
    assert_eq!(totals(&repeat, "catch_up"), (0, 0), "{repeat}");
    let at_gateway = transfers(&app).await;
    assert_eq!(at_gateway.len(), 4, "{at_gateway:?}");
    assert!(
        at_gateway.iter().all(|t| t.1 == "SUCCESS"),
        "{at_gateway:?}"
    );
    let mut bills: Vec<&str> = at_gateway.iter().map(|t| t.0.as_str()).collect();
    bills.sort_unstable();
    bills.dedup();
    assert_eq!(bills.len(), 4);
    assert_eq!(paid_periods(&app, &dai).await, ["2026-11", "2026-10"]);
    assert_eq!(
        paid_periods(&app, &eve).await,
        ["2026-11", "2026-10", "2026-09"]
    );
    assert_eq!(paid_periods(&app, &stale).await, ["2025-09"]);
    assert_eq!(paid_periods(&app, &unchecked).await, ["2026-09"]);
    assert_eq!(ledger_settled(&app, &admin).await, 1_327_600);
}

#[tokio::test]
async fn a_taken_over_pension_is_suspended_a_year_after_its_takeover_until_a_check() {
    use shebao_domain::staff::StaffRole;
    use shebao_infra::schema::qualification_confirmations;
    let app = app().await;
    let now = app.clock.now().naive_utc();
    // Taken over 400 days ago (its first payment loaded then), paid by the previous system
    // for October, never checked here: suspended.
    let (fay, stepped) = person(&app, 12).await;
    imported(
        &app,
        fay.person_id,
        "2025-10",
        350_000,
        now - Duration::days(400),
    );
    imported(&app, fay.person_id, "2026-10", 350_000, now);
    assert_eq!(put_account(&app, &stepped, &wallet()).await.status(), 200);
    app.clock.advance(Duration::seconds(COOLING_SECS));
    let admin = app.staff_token(StaffRole::Admin).await;
    let suspended = run(&app, &admin, "2026-11", "pension").await;
    assert_eq!(suspended["entitled"], 0, "{suspended}");
    assert_eq!(totals(&suspended, "paid"), (0, 0), "{suspended}");
    // Her check is approved: the next run pays November.
    let mut conn = app.db.connect();
    let application = approved_application(&mut conn, fay.person_id, "qualification", now);
    diesel::insert_into(qualification_confirmations::table)
        .values((
            qualification_confirmations::id.eq(uuid::Uuid::now_v7().to_string()),
            qualification_confirmations::person_id.eq(fay.person_id.to_string()),
            qualification_confirmations::application_id.eq(&application),
            qualification_confirmations::confirmed_by.eq("self"),
            qualification_confirmations::at.eq(now),
        ))
        .execute(&mut conn)
        .unwrap();
    let checked = run(&app, &admin, "2026-11", "pension").await;
    assert_eq!(checked["entitled"], 1, "{checked}");
    assert_eq!(totals(&checked, "paid"), (1, 350_000), "{checked}");
    assert_eq!(
        paid_periods(&app, &fay).await,
        ["2026-11", "2026-10", "2025-10"]
    );
    assert_eq!(ledger_settled(&app, &admin).await, 350_000);
}
