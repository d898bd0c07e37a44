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
    // A second change: the card stays current until the wallet's cooling is over; cancelled,
    // the card stays for good.
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
