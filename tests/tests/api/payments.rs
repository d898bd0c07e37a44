//! Premium payments end to end, over HTTP, through the real WeChat Pay adapter to the built-in
//! stand-in: what is owed, ordering with an Idempotency-Key, paying at the stand-in,
//! notifications (duplicated, forged, stale, never sent), failures, cancel, expiry, a late
//! second payment refunded, reconciliation with every kind of difference, and the ledger.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use diesel::prelude::*;
use serde_json::{json, Value};
use shebao_domain::money::Fen;
use shebao_domain::payments::{AppOrder, OutTradeNo, PaymentGateway as _};
use shebao_domain::staff::StaffRole;
use shebao_infra::payments::WechatPayGateway;
use shebao_standins::pay::{PayKeys, PayStandIn, PayStandInConfig, RunningPayStandIn};
use shebao_tests::{assert_problem, spawn_app_with, TestApp, TestOptions};

/// 王芳: flexible employment in Shenzhen, insured as a resident; last month unpaid (late) and
/// this month due.
const WANG: (&str, &str, &str) = ("440300197911231089", "王芳", "A44030000003");
/// 张伟: employed; his arrears are his employer's, never payable by him.
const ZHANG: (&str, &str, &str) = ("440300198603120277", "张伟", "A44030000001");

async fn demo() -> TestApp {
    spawn_app_with(TestOptions {
        demo_seed: true,
        env: vec![
            ("SHEBAO_PAY_POLL_INTERVAL_SECS", "1".into()),
            // Tests move the clock past an order's 15 minutes; tokens outlive that.
            ("SHEBAO_ACCESS_TOKEN_TTL_SECS", "3600".into()),
        ],
        ..Default::default()
    })
    .await
}

/// Registers `phone`, binds `who`; returns (plain token, stepped-up token).
async fn bound(app: &TestApp, phone: &str, who: (&str, &str, &str)) -> (String, String) {
    let a = app.register_and_bind(phone, who).await;
    (a.access, a.stepped)
}

async fn pay_order(app: &TestApp, token: &str, key: &str, payables: &[&str]) -> reqwest::Response {
    app.post("/v1/me/payments")
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(&json!({"payables": payables, "channel": "wechat"}))
        .send()
        .await
        .unwrap()
}

async fn created(app: &TestApp, token: &str, key: &str, payables: &[&str]) -> Value {
    let res = pay_order(app, token, key, payables).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    res.json().await.unwrap()
}

/// The payer pays at the stand-in.
async fn pay_at_gateway(app: &TestApp, out_trade_no: &str, outcome: &str, notify: u32) -> Value {
    let res = app
        .client
        .post(format!("{}/control/orders/{out_trade_no}/pay", app.pay_url))
        .json(&json!({"outcome": outcome, "notify": notify}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    res.json().await.unwrap()
}

async fn payment(app: &TestApp, token: &str, id: &str) -> Value {
    app.get_ok(token, &format!("/v1/me/payments/{id}")).await
}

/// Waits (up to 15 s) until the payment has `status`.
async fn until_status(app: &TestApp, token: &str, id: &str, status: &str) -> Value {
    for _ in 0..150 {
        let p = payment(app, token, id).await;
        if p["status"] == status {
            return p;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "{id} never became {status}: {}",
        payment(app, token, id).await
    );
}

fn beijing_today() -> String {
    (Utc::now() + TimeDelta::hours(8)).date_naive().to_string()
}

async fn reconcile(app: &TestApp, admin: &str) -> Value {
    let res = app
        .post("/v1/staff/reconciliations")
        .bearer_auth(admin)
        .json(&json!({"date": beijing_today(), "channel": "wechat"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    res.json().await.unwrap()
}

async fn trial_balance(app: &TestApp, admin: &str) -> Value {
    let tb = app
        .get_ok(admin, "/v1/staff/ledger/trial-balance?as_of=2100-01-01")
        .await;
    assert_eq!(tb["balanced"], true, "{tb}");
    assert_eq!(tb["total_debit_fen"], tb["total_credit_fen"], "{tb}");
    // Every journal balances on its own too.
    let mut conn = app.db.connect();
    let unbalanced = shebao_infra::payments::store::unbalanced_journals(&mut conn).unwrap();
    assert!(unbalanced.is_empty(), "unbalanced journals: {unbalanced:?}");
    tb
}

fn account(tb: &Value, name: &str) -> (i64, i64) {
    tb["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["account"] == name)
        .map(|a| {
            (
                a["debit_fen"].as_i64().unwrap(),
                a["credit_fen"].as_i64().unwrap(),
            )
        })
        .unwrap_or((0, 0))
}

fn ids(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect()
}

fn month_status(page: &Value, period: &str, insurance: &str) -> String {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["period"] == period && r["insurance"] == insurance)
        .map(|r| r["status"].as_str().unwrap().to_owned())
        .unwrap_or_else(|| panic!("{period} {insurance} missing from {page}"))
}

#[tokio::test]
async fn the_payables_are_the_persons_own_months_and_resident_premiums_computed_here() {
    let app = demo().await;
    let (token, _) = bound(&app, "+8613800138201", WANG).await;
    let list = app.get_ok(&token, "/v1/me/payables").await;
    assert_eq!(
        ids(&list),
        [
            "arrears_month:2026-10:pension",
            "flexible_month:2026-11:pension",
            "flexible_month:2026-12:pension",
            "flexible_month:2027-01:pension",
            "resident_medical_year:2027:self",
        ],
        "{list}"
    );
    let items = list["items"].as_array().unwrap();
    // 2026-10 was due on 2026-11-15; on 2026-11-23 it is 8 days late: 0.05 % a day.
    let arrears = &items[0];
    let principal = arrears["principal_fen"].as_i64().unwrap();
    let fee = (principal * 5 * 8 + 5_000) / 10_000;
    assert_eq!(arrears["late_fee_fen"], fee, "{arrears}");
    assert_eq!(arrears["amount_fen"], principal + fee);
    assert_eq!(arrears["kind"], "arrears_month");
    assert_eq!(arrears["for_person"]["name"], "王芳");
    assert!(!arrears["for_person"]["national_id"]
        .as_str()
        .unwrap()
        .contains("197911231"));
    // Coming months on the floor (no base chosen): 20 % of it.
    let dec = &items[2];
    assert_eq!(dec["principal_fen"], dec["base_fen"].as_i64().unwrap() / 5);
    assert_eq!(items[4]["principal_fen"], 40_000);
    assert_eq!(items[4]["due_date"], "2026-12-31");
    let total: i64 = items
        .iter()
        .map(|i| i["amount_fen"].as_i64().unwrap())
        .sum();
    assert_eq!(list["total_fen"], total);
    assert!(items.iter().all(|i| i["in_payment"].is_null()));

    // A chosen base changes the coming months; outside the range is refused with the range.
    let res = app
        .client
        .put(app.url("/v1/me/flexible-base"))
        .bearer_auth(&token)
        .json(&json!({"year": 2026, "base_fen": 1}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "base_fen");
    assert_eq!(problem["errors"][0]["code"], "range");
    let floor = dec["base_fen"].as_i64().unwrap();
    let res = app
        .client
        .put(app.url("/v1/me/flexible-base"))
        .bearer_auth(&token)
        .json(&json!({"year": 2026, "base_fen": floor + 100_000}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let view: Value = res.json().await.unwrap();
    assert_eq!(view["floor_fen"], floor);
    let list = app.get_ok(&token, "/v1/me/payables").await;
    assert_eq!(list["items"][2]["base_fen"], floor + 100_000, "{list}");
    assert_eq!(list["items"][2]["principal_fen"], (floor + 100_000) / 5);

    // The admin sets next year's resident premium and its window through the region's year.
    let admin = app.staff_token(StaffRole::Admin).await;
    let region = app.get_ok(&admin, "/v1/staff/regions/440300").await;
    let mut year = region["years"]
        .as_array()
        .unwrap()
        .iter()
        .find(|y| y["year"] == 2027)
        .cloned()
        .unwrap();
    assert_eq!(year["resident_medical_premium_fen"], 40_000, "{year}");
    let rate =
        |p: &Value| json!({"employer_bp": p["employer_bp"], "employee_bp": p["employee_bp"]});
    let r = &year["rates"];
    let body = json!({
        "average_monthly_wage_fen": year["average_monthly_wage_fen"],
        "base_floor_pct": year["base_floor_pct"], "base_ceiling_pct": year["base_ceiling_pct"],
        "late_fee_bp_per_day": year["late_fee_bp_per_day"],
        "rates": {"pension": rate(&r["pension"]), "medical": rate(&r["medical"]),
                  "unemployment": rate(&r["unemployment"]), "work_injury": rate(&r["work_injury"]),
                  "maternity": rate(&r["maternity"])},
        "resident_medical_premium_fen": 42_000,
        "resident_medical_opens": "2026-09-01", "resident_medical_closes": "2026-12-20",
        "flexible_pension_personal_bp": 2_500,
    });
    let res = app
        .client
        .put(app.url("/v1/staff/regions/440300/years/2027"))
        .bearer_auth(&admin)
        .json(&body)
        .send()
        .await
        .unwrap();
    // More to the personal account than the whole pension rate: refused, naming the field.
    let problem = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(
        problem["errors"][0]["field"], "flexible_pension_personal_bp",
        "{problem}"
    );
    let mut body = body;
    body["flexible_pension_personal_bp"] = json!(800);
    let res = app
        .client
        .put(app.url("/v1/staff/regions/440300/years/2027"))
        .bearer_auth(&admin)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    year = res.json().await.unwrap();
    assert_eq!(year["resident_medical_closes"], "2026-12-20");
    let list = app.get_ok(&token, "/v1/me/payables").await;
    let resident = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "resident_medical_year:2027:self")
        .cloned()
        .unwrap();
    assert_eq!(resident["principal_fen"], 42_000, "{resident}");
    assert_eq!(resident["due_date"], "2026-12-20");

    // An employee's arrears are the employer's: nothing to pay.
    let (zhang, _) = bound(&app, "+8613800138202", ZHANG).await;
    let list = app.get_ok(&zhang, "/v1/me/payables").await;
    assert_eq!(list["items"], json!([]), "{list}");
    assert_eq!(list["total_fen"], 0);
}

#[tokio::test]
async fn a_month_is_paid_pending_then_reconciled_paid_and_posted() {
    let app = demo().await;
    let admin = app.staff_token(StaffRole::Admin).await;
    let (token, stepped) = bound(&app, "+8613800138211", WANG).await;
    let month = "arrears_month:2026-10:pension";

    // Step-up, a key and known payables are needed.
    let res = pay_order(&app, &token, "key-0000001", &[month]).await;
    assert_problem(res, 403, "step_up_required").await;
    let res = app
        .post("/v1/me/payments")
        .bearer_auth(&stepped)
        .json(&json!({"payables": [month], "channel": "wechat"}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 400, "idempotency_key_required").await;
    let res = pay_order(
        &app,
        &stepped,
        "key-0000001",
        &["flexible_month:2030-01:pension"],
    )
    .await;
    assert_problem(res, 422, "payable_unknown").await;
    let res = pay_order(&app, &stepped, "key-0000001", &["lunch"]).await;
    assert_problem(res, 422, "validation_failed").await;

    let account_before = app.get_ok(&token, "/v1/me/accounts/pension").await;
    let p = created(&app, &stepped, "key-0000001", &[month]).await;
    assert_eq!(p["status"], "awaiting_payment");
    assert!(p["gateway"]["prepay_id"]
        .as_str()
        .unwrap()
        .starts_with("wx"));
    let owed = app.get_ok(&token, "/v1/me/payables").await;
    assert_eq!(owed["items"][0]["in_payment"], p["id"], "{owed}");
    let id = p["id"].as_str().unwrap();
    let no = p["out_trade_no"].as_str().unwrap();
    assert_eq!(p["amount_fen"], owed["items"][0]["amount_fen"]);

    pay_at_gateway(&app, no, "SUCCESS", 1).await;
    let p = until_status(&app, &token, id, "pending").await;
    assert!(p["paid_at"].is_string());
    let page = app
        .get_ok(
            &token,
            "/v1/me/contributions?from=2026-10&to=2026-10&limit=100",
        )
        .await;
    assert_eq!(month_status(&page, "2026-10", "pension"), "pending");
    let owed = app.get_ok(&token, "/v1/me/payables").await;
    assert!(!ids(&owed).contains(&month.to_owned()), "{owed}");

    let r = reconcile(&app, &admin).await;
    assert_eq!(r["confirmed"], 1, "{r}");
    assert_eq!(r["missing_here"], json!([]));
    assert_eq!(r["missing_at_gateway"], json!([]));
    let p = payment(&app, &token, id).await;
    assert_eq!(p["status"], "paid");
    let steps: Vec<&str> = p["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["awaiting_payment", "pending", "paid"]);
    let page = app
        .get_ok(
            &token,
            "/v1/me/contributions?from=2026-10&to=2026-10&limit=100",
        )
        .await;
    assert_eq!(month_status(&page, "2026-10", "pension"), "paid");

    // The month's personal part (8 % of its base) is in the personal pension account now.
    let account_after = app.get_ok(&token, "/v1/me/accounts/pension").await;
    let credited = account_after["balance_fen"].as_i64().unwrap()
        - account_before["balance_fen"].as_i64().unwrap();
    assert!(credited > 0, "{account_before} {account_after}");

    // Again: nothing changes.
    let again = reconcile(&app, &admin).await;
    assert_eq!(again["confirmed"], 0, "{again}");
    assert_eq!(again["already_confirmed"], 1);
    let last = app
        .get_ok(
            &admin,
            &format!("/v1/staff/reconciliations/{}", beijing_today()),
        )
        .await;
    assert_eq!(last["already_confirmed"], 1);

    let tb = trial_balance(&app, &admin).await;
    let amount = p["amount_fen"].as_i64().unwrap();
    assert_eq!(account(&tb, "gateway_clearing.wechat"), (amount, 0), "{tb}");
    let fee = p["items"][0]["late_fee_fen"].as_i64().unwrap();
    assert_eq!(account(&tb, "late_fee_income"), (0, fee));
    let (_, personal) = account(&tb, "personal_pension");
    let (_, pool) = account(&tb, "fund_pool.pension");
    assert_eq!(personal + pool + fee, amount);
    assert!(personal > 0);
}

#[tokio::test]
async fn the_same_key_answers_the_same_payment_and_concurrent_twins_create_one() {
    let app = demo().await;
    let (token, stepped) = bound(&app, "+8613800138221", WANG).await;
    let month = "flexible_month:2026-12:pension";
    let first = created(&app, &stepped, "same-key-01", &[month]).await;
    let res = pay_order(&app, &stepped, "same-key-01", &[month]).await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers().get("Idempotent-Replayed").unwrap(), "true");
    let again: Value = res.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    let res = pay_order(
        &app,
        &stepped,
        "same-key-01",
        &["flexible_month:2027-01:pension"],
    )
    .await;
    assert_problem(res, 422, "idempotency_key_reused").await;
    // Another key for the same payable: it is in the open payment.
    let res = pay_order(&app, &stepped, "other-key-01", &[month]).await;
    let problem = assert_problem(res, 409, "already_in_payment").await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains(month) && detail.contains(first["id"].as_str().unwrap()),
        "{detail}"
    );

    // Ten requests with one key at once: one order.
    let other = ["flexible_month:2027-01:pension"];
    let answers = futures_util::future::join_all(
        (0..10).map(|_| pay_order(&app, &stepped, "race-key-01", &other)),
    )
    .await;
    let mut paid_ids = Vec::new();
    for res in answers {
        assert_eq!(res.status(), 201);
        let v: Value = res.json().await.unwrap();
        paid_ids.push(v["id"].as_str().unwrap().to_owned());
    }
    paid_ids.dedup();
    assert_eq!(paid_ids.len(), 1, "{paid_ids:?}");
    let list = app.get_ok(&token, "/v1/me/payments?limit=100").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2, "{list}");
    // Newest first.
    assert_eq!(list["items"][0]["id"], paid_ids[0].as_str());
    let orders: Value = app
        .client
        .get(format!("{}/control/orders", app.pay_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(orders["orders"].as_array().unwrap().len(), 2, "{orders}");
}

#[tokio::test]
async fn each_failure_is_told_in_the_payers_words_and_frees_the_month() {
    let app = demo().await;
    let (token, stepped) = bound(&app, "+8613800138231", WANG).await;
    let month = "flexible_month:2026-12:pension";
    for (i, code) in [
        "NOTENOUGH",
        "CARD_FROZEN",
        "EXCEED_LIMIT",
        "CARD_EXPIRED",
        "BANK_ERROR",
        "PAYERROR",
    ]
    .iter()
    .enumerate()
    {
        let p = created(&app, &stepped, &format!("fail-key-{i:02}"), &[month]).await;
        let id = p["id"].as_str().unwrap();
        // No notification for a failure: the poller's query finds it.
        pay_at_gateway(&app, p["out_trade_no"].as_str().unwrap(), code, 1).await;
        let p = until_status(&app, &token, id, "failed").await;
        assert_eq!(p["failure"]["code"], *code, "{p}");
        assert!(!p["failure"]["message"].as_str().unwrap().is_empty());
        assert!(!p["failure"]["what_to_do"].as_str().unwrap().is_empty());
        let en: Value = app
            .get(&format!("/v1/me/payments/{id}"))
            .bearer_auth(&token)
            .header("Accept-Language", "en")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            en["failure"]["message"].as_str().unwrap().is_ascii(),
            "{en}"
        );
        assert_ne!(en["failure"]["message"], p["failure"]["message"]);
    }
    // Each failure is texted to the payer once, with its reason (an event message: the jobs
    // of `shebao serve` send it).
    let started = std::time::Instant::now();
    let texts = loop {
        let texts: Vec<String> = app
            .sms_messages("+8613800138231")
            .await
            .iter()
            .filter_map(|m| m["body"].as_str().map(str::to_owned))
            .filter(|b| b.contains("缴费未成功"))
            .collect();
        if texts.len() >= 6 || started.elapsed() > std::time::Duration::from_secs(30) {
            break texts;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert_eq!(texts.len(), 6, "{texts:?}");
    for reason in [
        "余额不足",
        "银行卡已冻结",
        "超出支付限额",
        "银行卡已过期",
        "银行系统异常",
        "支付未完成",
    ] {
        assert_eq!(
            texts.iter().filter(|t| t.contains(reason)).count(),
            1,
            "{reason}: {texts:?}"
        );
    }
    let res = app
        .get("/v1/me/payments/00000000-0000-0000-0000-000000000000")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_problem(res, 404, "not_found").await;
}

#[tokio::test]
async fn cancel_closes_the_order_unless_it_was_paid_and_expiry_closes_it_too() {
    let app = demo().await;
    let admin = app.staff_token(StaffRole::Admin).await;
    let (token, stepped) = bound(&app, "+8613800138241", WANG).await;
    let month = "flexible_month:2026-12:pension";
    let p = created(&app, &stepped, "cancel-key-1", &[month]).await;
    let id = p["id"].as_str().unwrap();
    let res = app
        .post(&format!("/v1/me/payments/{id}/cancel"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert_eq!(payment(&app, &token, id).await["status"], "cancelled");
    // Closed at the gateway: it can no longer be paid there.
    let res = app
        .client
        .post(format!(
            "{}/control/orders/{}/pay",
            app.pay_url,
            p["out_trade_no"].as_str().unwrap()
        ))
        .json(&json!({"outcome": "SUCCESS"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    let res = app
        .post(&format!("/v1/me/payments/{id}/cancel"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_problem(res, 409, "payment_not_open").await;

    // Paid at the gateway, the notification withheld: cancel finds it paid.
    let p = created(&app, &stepped, "cancel-key-2", &[month]).await;
    let id = p["id"].as_str().unwrap();
    pay_at_gateway(&app, p["out_trade_no"].as_str().unwrap(), "SUCCESS", 0).await;
    let res = app
        .post(&format!("/v1/me/payments/{id}/cancel"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_problem(res, 409, "already_paid").await;
    assert_eq!(payment(&app, &token, id).await["status"], "pending");
    assert_eq!(reconcile(&app, &admin).await["confirmed"], 1);

    // Not paid in 15 minutes: the poller closes the order and it expires.
    let next = "flexible_month:2027-01:pension";
    let p = created(&app, &stepped, "expire-key-1", &[next]).await;
    let id = p["id"].as_str().unwrap();
    app.clock.advance(chrono::Duration::minutes(16));
    let p = until_status(&app, &token, id, "expired").await;
    assert!(p["timeline"].as_array().unwrap().len() >= 2);
    let owed = app.get_ok(&token, "/v1/me/payables").await;
    let row = owed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == next)
        .cloned()
        .unwrap();
    assert!(row["in_payment"].is_null(), "{row}");
}

#[tokio::test]
async fn notifications_apply_once_and_forged_stale_or_missing_ones_change_nothing() {
    let app = demo().await;
    let admin = app.staff_token(StaffRole::Admin).await;
    let (token, stepped) = bound(&app, "+8613800138251", WANG).await;

    // Delivered ten times: posted once.
    let p = created(
        &app,
        &stepped,
        "notify-key-1",
        &["flexible_month:2026-11:pension"],
    )
    .await;
    let id = p["id"].as_str().unwrap().to_owned();
    pay_at_gateway(&app, p["out_trade_no"].as_str().unwrap(), "SUCCESS", 10).await;
    until_status(&app, &token, &id, "pending").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let deliveries: Value = app
        .client
        .get(format!("{}/control/notifications", app.pay_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ours: Vec<&Value> = deliveries["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["out_trade_no"] == p["out_trade_no"])
        .collect();
    assert_eq!(ours.len(), 10, "{deliveries}");
    assert!(ours.iter().all(|d| d["status"] == 200), "{deliveries}");
    let p = payment(&app, &token, &id).await;
    assert_eq!(p["timeline"].as_array().unwrap().len(), 2, "{p}");

    // Never sent: the poller's query finds it.
    let q = created(
        &app,
        &stepped,
        "notify-key-2",
        &["flexible_month:2026-12:pension"],
    )
    .await;
    let qid = q["id"].as_str().unwrap().to_owned();
    pay_at_gateway(&app, q["out_trade_no"].as_str().unwrap(), "SUCCESS", 0).await;
    until_status(&app, &token, &qid, "pending").await;

    // Forged (keys nobody trusts) and stale (signed 10 minutes ago): 401, nothing changes.
    let r = created(
        &app,
        &stepped,
        "notify-key-3",
        &["flexible_month:2027-01:pension"],
    )
    .await;
    let rid = r["id"].as_str().unwrap().to_owned();
    let no = r["out_trade_no"].as_str().unwrap().to_owned();
    let keys = shebao_api::startup::demo_pay_keys().unwrap();
    let forger = PayKeys::generate().unwrap();
    let mut rogue_keys = keys.clone();
    rogue_keys.platform_private_pem = forger.platform_private_pem.clone();
    rogue_keys.platform_public_pem = forger.platform_public_pem.clone();
    for (standin_keys, offset) in [(rogue_keys, 0), (keys.clone(), -600)] {
        let rogue = other_standin(standin_keys.clone(), offset);
        let gateway = client_of(&rogue, &standin_keys);
        let order = AppOrder::new(
            OutTradeNo::parse(&no).unwrap(),
            "forged",
            Fen(r["amount_fen"].as_i64().unwrap()),
            Utc::now() + TimeDelta::minutes(15),
            &app.url("/v1/payments/notifications/wechat"),
        )
        .unwrap();
        let created = gateway.create_app_order(&order).await;
        // The stale gateway's answers are stale too: our own client refuses them (the order
        // exists there all the same).
        assert_eq!(created.is_ok(), offset == 0, "{created:?}");
        let res = app
            .client
            .post(format!("{}/control/orders/{no}/pay", rogue.base_url))
            .json(&json!({"outcome": "SUCCESS", "notify": 1}))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success());
        // The rogue gateway's delivery was refused.
        let mut refused = false;
        for _ in 0..50 {
            let d: Value = app
                .client
                .get(format!("{}/control/notifications", rogue.base_url))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if d["notifications"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x["out_trade_no"] == no.as_str() && x["status"] == 401)
            {
                refused = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(refused, "the rogue notification was not refused");
        rogue.stop().await;
    }
    assert_eq!(
        payment(&app, &token, &rid).await["status"],
        "awaiting_payment"
    );
    // A notification without headers at all.
    let res = app
        .post("/v1/payments/notifications/wechat")
        .json(&json!({"id": "EV-1", "event_type": "TRANSACTION.SUCCESS"}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "notification_rejected").await;
    let mut conn = app.db.connect();
    use shebao_infra::schema::audit_log;
    let rejected: i64 = audit_log::table
        .filter(audit_log::action.eq("payment.notification"))
        .filter(audit_log::outcome.eq("rejected"))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert!(rejected >= 3, "{rejected}");

    let rec = reconcile(&app, &admin).await;
    assert_eq!(rec["confirmed"], 2, "{rec}");
    trial_balance(&app, &admin).await;
}

fn other_standin(keys: PayKeys, offset: i64) -> RunningPayStandIn {
    let mut config = PayStandInConfig::demo_with(keys);
    config.signature_clock_offset_secs = offset;
    config.notify_retry_delays = vec![];
    PayStandIn::start("127.0.0.1:0", config).unwrap()
}

fn client_of(standin: &RunningPayStandIn, keys: &PayKeys) -> WechatPayGateway {
    shebao_api::startup::standin_gateway(&standin.base_url, keys).unwrap()
}

#[tokio::test]
async fn a_late_second_payment_is_refunded_and_the_reconciliation_finds_every_difference() {
    let app = demo().await;
    let admin = app.staff_token(StaffRole::Admin).await;
    let (token, stepped) = bound(&app, "+8613800138261", WANG).await;
    let month = "flexible_month:2026-12:pension";

    // A fails; B pays the same month; then the payer pays A after all: A is refunded.
    let a = created(&app, &stepped, "late-key-a", &[month]).await;
    let a_id = a["id"].as_str().unwrap().to_owned();
    let a_no = a["out_trade_no"].as_str().unwrap().to_owned();
    pay_at_gateway(&app, &a_no, "NOTENOUGH", 0).await;
    until_status(&app, &token, &a_id, "failed").await;
    let b = created(&app, &stepped, "late-key-b", &[month]).await;
    let b_id = b["id"].as_str().unwrap().to_owned();
    pay_at_gateway(&app, b["out_trade_no"].as_str().unwrap(), "SUCCESS", 1).await;
    until_status(&app, &token, &b_id, "pending").await;
    pay_at_gateway(&app, &a_no, "SUCCESS", 1).await;
    let a = until_status(&app, &token, &a_id, "refunded").await;
    assert_eq!(a["refund"]["reason"], "duplicate", "{a}");
    assert_eq!(a["refund"]["amount_fen"], a["amount_fen"]);
    for _ in 0..100 {
        if payment(&app, &token, &a_id).await["refund"]["status"] == "SUCCESS" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        payment(&app, &token, &a_id).await["refund"]["status"],
        "SUCCESS"
    );

    // Differences: an order only the gateway knows, an amount changed here, a payment only
    // this side thinks was paid.
    let keys = shebao_api::startup::demo_pay_keys().unwrap();
    let gateway = client_for_url(&app.pay_url, &keys);
    let stranger = OutTradeNo::parse("STRANGER0000001").unwrap();
    let order = AppOrder::new(
        stranger.clone(),
        "not ours",
        Fen(123),
        Utc::now() + TimeDelta::minutes(15),
        "http://127.0.0.1:9/nowhere",
    )
    .unwrap();
    gateway.create_app_order(&order).await.unwrap();
    pay_at_gateway(&app, stranger.as_str(), "SUCCESS", 0).await;

    let c = created(
        &app,
        &stepped,
        "late-key-c",
        &["flexible_month:2027-01:pension"],
    )
    .await;
    let c_no = c["out_trade_no"].as_str().unwrap().to_owned();
    pay_at_gateway(&app, &c_no, "SUCCESS", 1).await;
    until_status(&app, &token, c["id"].as_str().unwrap(), "pending").await;
    let d = created(
        &app,
        &stepped,
        "late-key-d",
        &["arrears_month:2026-10:pension"],
    )
    .await;
    let d_no = d["out_trade_no"].as_str().unwrap().to_owned();
    {
        use shebao_infra::schema::payments;
        let mut conn = app.db.connect();
        diesel::update(payments::table.filter(payments::out_trade_no.eq(&c_no)))
            .set(payments::amount_fen.eq(c["amount_fen"].as_i64().unwrap() + 1))
            .execute(&mut conn)
            .unwrap();
        diesel::update(payments::table.filter(payments::out_trade_no.eq(&d_no)))
            .set((
                payments::status.eq("pending"),
                payments::paid_at.eq(Utc::now().naive_utc()),
            ))
            .execute(&mut conn)
            .unwrap();
    }
    let r = reconcile(&app, &admin).await;
    assert_eq!(r["confirmed"], 1, "B: {r}");
    assert_eq!(r["missing_here"], json!(["STRANGER0000001"]), "{r}");
    assert_eq!(r["missing_at_gateway"], json!([d_no]), "{r}");
    assert_eq!(
        r["amount_mismatch"][0]["out_trade_no"],
        c_no.as_str(),
        "{r}"
    );
    assert!(r["refunded"].to_string().contains(&a_no), "{r}");
    assert_eq!(payment(&app, &token, &b_id).await["status"], "paid");

    let tb = trial_balance(&app, &admin).await;
    // The duplicate came in and went back out.
    let (debit, credit) = account(&tb, "refunds_payable");
    assert_eq!(debit, credit, "{tb}");
    assert_eq!(debit, a["amount_fen"].as_i64().unwrap());
}

fn client_for_url(url: &str, keys: &PayKeys) -> WechatPayGateway {
    shebao_api::startup::standin_gateway(url, keys).unwrap()
}

#[tokio::test]
async fn payees_are_matched_against_the_registry_and_their_premium_becomes_payable() {
    let app = demo().await;
    let admin = app.staff_token(StaffRole::Admin).await;
    // 王芳's mother: a resident of Shenzhen, registered by a caseworker.
    let first17 = "44030019520304002";
    let mother_id = format!(
        "{first17}{}",
        shebao_domain::identity::NationalId::check_character(first17).unwrap()
    );
    let res = app
        .post("/v1/staff/persons")
        .bearer_auth(&admin)
        .json(&json!({
            "national_id": mother_id, "name": "王秀兰", "region": "440300",
            "card_number": "A44030000091", "medical_category": "resident",
            "employment_status": "retired"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let li = (mother_id.as_str(), "王秀兰");

    let (token, stepped) = bound(&app, "+8613800138271", WANG).await;
    let res = app
        .post("/v1/me/payees")
        .bearer_auth(&token)
        .json(&json!({"national_id": li.0, "name": "王二", "relation": "parent"}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(res, 422, "payee_mismatch").await;
    assert!(problem["errors"].as_array().is_none_or(|e| e.is_empty()));
    let res = app
        .post("/v1/me/payees")
        .bearer_auth(&token)
        .json(&json!({"national_id": li.0, "name": li.1, "relation": "parent"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let payee: Value = res.json().await.unwrap();
    assert_eq!(payee["relation"], "parent");
    assert!(!payee["national_id"].as_str().unwrap().contains("19520304"));
    let res = app
        .post("/v1/me/payees")
        .bearer_auth(&token)
        .json(&json!({"national_id": li.0, "name": li.1, "relation": "parent"}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 409, "payee_exists").await;
    let list = app.get_ok(&token, "/v1/me/payees?limit=1").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let payee_id = payee["id"].as_str().unwrap();
    let owed = app.get_ok(&token, "/v1/me/payables").await;
    let resident_id = format!("resident_medical_year:2027:{payee_id}");
    let payable = owed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == resident_id.as_str())
        .cloned();
    {
        assert_eq!(payee["medical_category"], "resident");
        let payable = payable.unwrap_or_else(|| panic!("{owed}"));
        assert_eq!(payable["for_person"]["name"], li.1);
        let p = created(&app, &stepped, "payee-key-1", &[&resident_id]).await;
        pay_at_gateway(&app, p["out_trade_no"].as_str().unwrap(), "SUCCESS", 1).await;
        until_status(&app, &token, p["id"].as_str().unwrap(), "pending").await;
        let owed = app.get_ok(&token, "/v1/me/payables").await;
        assert!(!owed.to_string().contains(&resident_id), "{owed}");
    }
    let res = app
        .client
        .delete(app.url(&format!("/v1/me/payees/{payee_id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let res = app
        .client
        .delete(app.url(&format!("/v1/me/payees/{payee_id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_problem(res, 404, "not_found").await;
}

#[tokio::test]
async fn a_gateway_that_is_down_answers_503_at_once_and_the_same_key_retries() {
    let keys = shebao_api::startup::demo_pay_keys().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let files = keys.write_merchant_files(dir.path()).unwrap();
    let app = spawn_app_with(TestOptions {
        demo_seed: true,
        env: vec![
            // Nothing listens on port 9.
            ("SHEBAO_PAY_URL", "http://127.0.0.1:9".into()),
            (
                "SHEBAO_PAY_MERCHANT_KEY_FILE",
                files.merchant_key_file.display().to_string(),
            ),
            ("SHEBAO_PAY_MERCHANT_SERIAL", keys.merchant_serial.clone()),
            (
                "SHEBAO_PAY_PLATFORM_PUBLIC_KEY_FILE",
                files.platform_public_key_file.display().to_string(),
            ),
            ("SHEBAO_PAY_PLATFORM_SERIAL", keys.platform_serial.clone()),
            ("SHEBAO_PAY_APIV3_KEY", keys.apiv3_key.expose().to_owned()),
        ],
        ..Default::default()
    })
    .await;
    assert!(app.pay_url.is_empty(), "no stand-in with SHEBAO_PAY_URL");
    let (token, stepped) = bound(&app, "+8613800138281", WANG).await;
    let month = "flexible_month:2026-12:pension";
    for _ in 0..2 {
        let started = std::time::Instant::now();
        let res = pay_order(&app, &stepped, "down-key-01", &[month]).await;
        assert!(res.headers().contains_key("retry-after"));
        assert_problem(res, 503, "gateway_unavailable").await;
        assert!(started.elapsed() < Duration::from_secs(20));
    }
    // The order is recorded (nothing half-done is lost): one payment, awaiting, no prepay id.
    let list = app.get_ok(&token, "/v1/me/payments").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    let p = payment(&app, &token, list["items"][0]["id"].as_str().unwrap()).await;
    assert_eq!(p["status"], "awaiting_payment");
    assert!(p["gateway"]["prepay_id"].is_null());
}
