//! The limits on guessing and on the SMS provider, over HTTP: step-up and sign-in throttles that
//! answer alike whether or not an account exists, binding limits, factor-change notices, and
//! what a slow, failing or racing SMS send does.

use chrono::Duration;
use futures_util::future::join_all;
use serde_json::{json, Value};
use shebao_domain::ports::Clock;
use shebao_domain::staff::StaffRole;
use shebao_infra::audit::{self, ActorKind, AuditEntry};
use shebao_tests::{assert_problem, spawn_app, TestApp, STAFF_PASSWORD};

use crate::identity::enrol_totp;

const PHONE: &str = "+8613800138000";
const UNKNOWN_PHONE: &str = "+8613900139000";
const DEMO_ID: &str = "440300198603120277";

fn access(v: &Value) -> String {
    v["access_token"].as_str().unwrap().to_owned()
}

fn retry_after(res: &reqwest::Response) -> i64 {
    res.headers()
        .get("retry-after")
        .expect("a Retry-After header")
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

async fn step_up(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    app.post("/v1/me/step-up")
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn login(app: &TestApp, phone: &str, password: &str) -> reqwest::Response {
    app.post("/v1/auth/login")
        .json(&json!({"phone": phone, "password": password}))
        .send()
        .await
        .unwrap()
}

/// A new access token of a registered phone.
async fn signed_in(app: &TestApp, phone: &str) -> String {
    let res = login(app, phone, shebao_tests::PERSON_PASSWORD).await;
    assert_eq!(res.status(), 200);
    access(&res.json().await.unwrap())
}

/// (status, problem code) of a response.
async fn outcome(res: reqwest::Response) -> (u16, String) {
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    (status, body["code"].as_str().unwrap_or("").to_owned())
}

/// An 18-character ID number with the right check character (GB 11643).
fn national_id(first17: &str) -> String {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17
        .chars()
        .zip(WEIGHTS)
        .map(|(c, w)| c.to_digit(10).unwrap() * w)
        .sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{first17}{check}")
}

#[tokio::test]
async fn failed_step_ups_lock_the_account_out_for_longer_each_time() {
    let app = spawn_app().await;
    let token = access(&app.register(PHONE).await);
    let wrong = json!({"totp_code": "000000"});
    for expected_wait in [300, 600] {
        for _ in 0..5 {
            let res = step_up(&app, &token, &wrong).await;
            assert_problem(res, 401, "invalid_code").await;
        }
        let res = step_up(&app, &token, &wrong).await;
        assert_eq!(retry_after(&res), expected_wait);
        assert_problem(res, 429, "too_many_attempts").await;
        if expected_wait == 300 {
            // Locked: even the right SMS code must wait.
            let code = app.sms_code(PHONE, "step_up").await;
            let res = step_up(&app, &token, &json!({"sms_code": code})).await;
            assert_problem(res, 429, "too_many_attempts").await;
        }
        app.clock.advance(Duration::seconds(expected_wait));
    }
    // After the second lock-out a right code works again (with a new access token: the first
    // one has expired meanwhile).
    let token = signed_in(&app, PHONE).await;
    app.step_up(&token, PHONE).await;
}

#[tokio::test]
async fn failed_step_ups_count_per_client_address_too() {
    let app = spawn_app().await;
    let mut tokens = Vec::new();
    for i in 0..5 {
        tokens.push(access(&app.register(&format!("+86139001390{i:02}")).await));
    }
    let wrong = json!({"totp_code": "000000"});
    // Four accounts fail five times each: twenty failures from one address.
    for token in &tokens[..4] {
        for _ in 0..5 {
            assert_problem(step_up(&app, token, &wrong).await, 401, "invalid_code").await;
        }
    }
    let res = step_up(&app, &tokens[4], &wrong).await;
    assert!(retry_after(&res) > 0);
    assert_problem(res, 429, "too_many_attempts").await;
}

async fn demo_app() -> TestApp {
    shebao_tests::spawn_app_with(shebao_tests::TestOptions {
        demo_seed: true,
        ..Default::default()
    })
    .await
}

/// Tries to bind with a wrong name (a mismatch unless a limit answers first).
async fn bind_wrong(app: &TestApp, token: &str, id: &str) -> reqwest::Response {
    app.post("/v1/me/binding")
        .bearer_auth(token)
        .json(&json!({"national_id": id, "name": "张三", "card_number": "A44030000001"}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn binding_mismatches_are_counted_per_id_number_across_accounts() {
    let app = demo_app().await;
    // Alice guesses at one ID number five times; then Bob may not guess at it either.
    let alice = access(&app.register(PHONE).await);
    let alice = app.step_up(&alice, PHONE).await;
    for _ in 0..5 {
        let res = bind_wrong(&app, &alice, DEMO_ID).await;
        assert_problem(res, 422, "binding_mismatch").await;
    }
    let res = bind_wrong(&app, &alice, DEMO_ID).await;
    assert!(retry_after(&res) > 0);
    assert_problem(res, 429, "too_many_attempts").await;
    let bob = access(&app.register(UNKNOWN_PHONE).await);
    let bob = app.step_up(&bob, UNKNOWN_PHONE).await;
    let res = bind_wrong(&app, &bob, DEMO_ID).await;
    assert_problem(res, 429, "too_many_attempts").await;
}

#[tokio::test]
async fn an_accounts_binding_mismatches_stay_counted_past_its_newest_audit_entries() {
    let app = demo_app().await;
    let token = access(&app.register(PHONE).await);
    let stepped = app.step_up(&token, PHONE).await;
    // Five guesses at five ID numbers.
    for n in 0..5 {
        let id = national_id(&format!("11010119900101{n:03}"));
        let res = bind_wrong(&app, &stepped, &id).await;
        assert_problem(res, 422, "binding_mismatch").await;
    }
    // Two hundred newer audit entries of the account (failed step-ups, say) do not hide them.
    let me: Value = app.get_ok(&token, "/v1/me").await;
    let account_id = me["id"].as_str().unwrap().to_owned();
    let mut conn = app.db.connect();
    let ts = (app.clock.now() + Duration::seconds(1)).naive_utc();
    for _ in 0..200 {
        let entry = AuditEntry {
            actor_kind: ActorKind::Person,
            actor_id: Some(account_id.clone()),
            action: "account.step_up",
            subject_kind: None,
            subject_id: None,
            outcome: "failure",
            reason: None,
            client_ip: None,
            request_id: None,
        };
        audit::record(&mut conn, &entry, ts).unwrap();
    }
    let id = national_id("11010119900101099");
    let res = bind_wrong(&app, &stepped, &id).await;
    assert_problem(res, 429, "too_many_attempts").await;
    // A day later the account may try again.
    app.clock.advance(Duration::hours(25));
    let token = signed_in(&app, PHONE).await;
    let stepped = app.step_up(&token, PHONE).await;
    let id = national_id("11010119900101098");
    let res = bind_wrong(&app, &stepped, &id).await;
    assert_problem(res, 422, "binding_mismatch").await;
}

#[tokio::test]
async fn enrolling_an_authenticator_needs_a_step_up_and_every_factor_change_is_texted() {
    let app = spawn_app().await;
    let token = access(&app.register(PHONE).await);
    // A stolen access token alone cannot enrol an authenticator.
    let res = app
        .post("/v1/me/totp")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_problem(res, 403, "step_up_required").await;
    let res = app
        .post("/v1/me/totp/confirm")
        .bearer_auth(&token)
        .json(&json!({"code": "123456"}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 403, "step_up_required").await;

    // With a step-up by SMS it works, and the phone is told.
    enrol_totp(&app, &token).await;
    let messages = app.sms_messages(PHONE).await;
    let notice = messages[0]["body"].as_str().unwrap();
    assert!(notice.contains("authenticator was added"), "{notice}");
    assert!(notice.contains("动态口令"), "{notice}");

    // Removing it is told too.
    let stepped = app.step_up(&token, PHONE).await;
    let res = app
        .client
        .delete(app.url("/v1/me/totp"))
        .bearer_auth(&stepped)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let messages = app.sms_messages(PHONE).await;
    let notice = messages[0]["body"].as_str().unwrap();
    assert!(notice.contains("authenticator was removed"), "{notice}");
}

#[tokio::test]
async fn an_authenticator_is_replaced_with_a_step_up_and_the_phone_is_told() {
    let app = spawn_app().await;
    let token = access(&app.register(PHONE).await);
    let (old_secret, old_recovery) = enrol_totp(&app, &token).await;
    let res = app
        .post("/v1/me/totp")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_problem(res, 403, "step_up_required").await;
    // The replacement is enrolled with a step-up; the old one holds until it is confirmed.
    let (new_secret, new_recovery) = enrol_totp(&app, &token).await;
    assert_ne!(new_secret, old_secret);
    assert_ne!(new_recovery, old_recovery);
    let notice = app.sms_messages(PHONE).await[0]["body"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(notice.contains("was replaced"), "{notice}");
    // Sign-in now takes a code of the new authenticator, not of the old one.
    app.clock.advance(Duration::seconds(30));
    let now = app.clock.now().timestamp();
    let app = &app;
    let mfa = |code: String| async move {
        let res = login(app, PHONE, shebao_tests::PERSON_PASSWORD).await;
        let challenge: Value = res.json().await.unwrap();
        app.post("/v1/auth/login/mfa")
            .json(&json!({"mfa_token": challenge["mfa_token"], "totp_code": code}))
            .send()
            .await
            .unwrap()
    };
    let old_code = shebao_security::totp::code_at(&old_secret, now).unwrap();
    assert_problem(mfa(old_code).await, 401, "invalid_code").await;
    let new_code = shebao_security::totp::code_at(&new_secret, now).unwrap();
    assert_eq!(mfa(new_code).await.status(), 200);
}

#[tokio::test]
async fn phone_sign_in_lock_outs_answer_alike_for_known_and_unknown_phones() {
    let app = spawn_app().await;
    app.register(PHONE).await;
    let mut answers = Vec::new();
    for phone in [PHONE, UNKNOWN_PHONE] {
        let mut seen = Vec::new();
        for wait in [0, 0, 0, 0, 10, 10, 0] {
            app.clock.advance(Duration::seconds(wait));
            seen.push(outcome(login(&app, phone, "wrong password").await).await);
        }
        answers.push(seen);
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0][3], (429, "too_many_attempts".to_owned()));
    assert_eq!(answers[0][6], (429, "account_locked".to_owned()));
}

#[tokio::test]
async fn staff_sign_in_lock_outs_answer_alike_for_known_and_unknown_usernames() {
    let app = spawn_app().await;
    app.create_staff("carol", StaffRole::Caseworker).await;
    let mut answers = Vec::new();
    for username in ["carol", "mallory"] {
        let mut seen = Vec::new();
        for _ in 0..6 {
            seen.push(outcome(app.login(username, "wrong password").await).await);
        }
        answers.push(seen);
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0][5], (429, "account_locked".to_owned()));
}

#[tokio::test]
async fn staff_sign_in_has_the_per_address_limit() {
    let app = spawn_app().await;
    app.create_staff("carol", StaffRole::Caseworker).await;
    for i in 0..20 {
        let res = app.login(&format!("user{i}"), STAFF_PASSWORD).await;
        assert_problem(res, 401, "invalid_credentials").await;
    }
    let res = app.login("carol", STAFF_PASSWORD).await;
    assert!(retry_after(&res) > 0);
    assert_problem(res, 429, "too_many_attempts").await;
    app.clock.advance(Duration::minutes(16));
    assert_eq!(app.login("carol", STAFF_PASSWORD).await.status(), 200);
}

#[tokio::test]
async fn concurrent_first_failures_from_one_address_are_all_counted() {
    let app = spawn_app().await;
    app.register(PHONE).await;
    // Twenty first failures at once, from one address, each for another phone (by SMS code,
    // which needs no password hashing, so they reach the counter together).
    let phones: Vec<String> = (0..20).map(|i| format!("+86139{i:08}")).collect();
    let answers = join_all(phones.iter().map(|p| {
        app.post("/v1/auth/login")
            .json(&json!({"phone": p, "code": "000000"}))
            .send()
    }))
    .await;
    let answers: Vec<reqwest::Response> = answers.into_iter().map(Result::unwrap).collect();
    for res in answers {
        assert_problem(res, 401, "invalid_credentials").await;
    }
    // All twenty counted: the address is locked out.
    let res = login(&app, PHONE, shebao_tests::PERSON_PASSWORD).await;
    assert_problem(res, 429, "too_many_attempts").await;
}

#[tokio::test]
async fn fifty_parallel_code_requests_for_one_phone_send_one_code() {
    let app = spawn_app().await;
    let send = || {
        app.post("/v1/auth/sms-codes")
            .json(&json!({"phone": PHONE, "purpose": "login"}))
            .send()
    };
    let answers = join_all((0..50).map(|_| send())).await;
    let mut statuses: Vec<u16> = answers
        .into_iter()
        .map(|r| r.unwrap().status().as_u16())
        .collect();
    statuses.sort_unstable();
    assert_eq!(
        statuses.iter().filter(|s| **s == 202).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 202 || *s == 429),
        "{statuses:?}"
    );
    assert_eq!(app.sms_messages(PHONE).await.len(), 1);
}

/// Tells the built-in SMS stand-in to misbehave (`fail` or `slow`).
async fn provider(app: &TestApp, control: &str, body: Value) {
    let res = app
        .client
        .post(format!("{}/_control/{control}", app.sms_url))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
}

async fn ask_code(app: &TestApp) -> reqwest::Response {
    app.post("/v1/auth/sms-codes")
        .json(&json!({"phone": PHONE, "purpose": "register"}))
        .send()
        .await
        .unwrap()
}

async fn register_with(app: &TestApp, code: &str) -> reqwest::Response {
    app.post("/v1/auth/register")
        .json(&json!({"phone": PHONE, "code": code, "password": shebao_tests::PERSON_PASSWORD}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_failed_send_does_not_start_the_cooldown() {
    let app = spawn_app().await;
    provider(&app, "fail", json!({"count": 3, "status": 503})).await;
    let res = ask_code(&app).await;
    assert!(retry_after(&res) > 0);
    assert_problem(res, 503, "sms_unavailable").await;
    // Asking again at once is allowed, and that code works.
    assert_eq!(ask_code(&app).await.status(), 202);
    let code = app.last_code(PHONE).await;
    assert_eq!(register_with(&app, &code).await.status(), 201);
}

#[tokio::test]
async fn an_accepted_but_unreadable_answer_keeps_the_code_valid() {
    let app = spawn_app().await;
    provider(&app, "slow", json!({"count": 1, "garble": true})).await;
    assert_eq!(ask_code(&app).await.status(), 202);
    let code = app.last_code(PHONE).await;
    assert_eq!(register_with(&app, &code).await.status(), 201);
}

#[tokio::test]
async fn a_slow_provider_holds_the_caller_five_seconds_at_most() {
    let app = spawn_app().await;
    // Every attempt is stored by the provider but answered only after eight seconds.
    provider(&app, "slow", json!({"count": 10, "delay_ms": 8000})).await;
    let started = std::time::Instant::now();
    let res = ask_code(&app).await;
    let elapsed = started.elapsed();
    // Five seconds for the provider, and a little for the database on a busy machine (it
    // was 3 × 5 s and more before).
    assert!(
        elapsed < std::time::Duration::from_millis(6500),
        "{elapsed:?}"
    );
    // The outcome is unknown: the person may have the code, so it stays valid and counts.
    assert_eq!(res.status(), 202);
    let res = ask_code(&app).await;
    assert_problem(res, 429, "sms_cooldown").await;
    let code = app.last_code(PHONE).await;
    assert_eq!(register_with(&app, &code).await.status(), 201);
}
