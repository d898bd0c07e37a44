//! The phone app's identity over HTTP: the whole journey, and every rule broken on purpose.

use chrono::Duration;
use serde_json::{json, Value};
use shebao_domain::staff::StaffRole;
use shebao_security::totp;
use shebao_tests::{assert_problem, spawn_app, TestApp, PERSON_PASSWORD};

const PHONE: &str = "+8613800138000";
const DEMO_ID: &str = "440300198603120277";

async fn demo_app() -> TestApp {
    shebao_tests::spawn_app_with(shebao_tests::TestOptions {
        demo_seed: true,
        ..Default::default()
    })
    .await
}

fn access(v: &Value) -> String {
    v["access_token"].as_str().unwrap().to_owned()
}

fn refresh(v: &Value) -> String {
    v["refresh_token"].as_str().unwrap().to_owned()
}

/// Steps up by SMS (enrolling needs it), enrols TOTP for the account of `PHONE` and returns
/// (secret bytes, recovery codes).
pub(crate) async fn enrol_totp(app: &TestApp, token: &str) -> (Vec<u8>, Vec<String>) {
    let token = &app.step_up(token, PHONE).await;
    let res = app
        .post("/v1/me/totp")
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let e: Value = res.json().await.unwrap();
    assert!(e["otpauth_uri"]
        .as_str()
        .unwrap()
        .starts_with("otpauth://totp/"));
    assert!(!e["qr_png_base64"].as_str().unwrap().is_empty());
    let secret = totp::decode_base32(e["secret"].as_str().unwrap()).unwrap();
    let code = totp::code_at(&secret, app.clock_now()).unwrap();
    let res = app
        .post("/v1/me/totp/confirm")
        .bearer_auth(token)
        .json(&json!({"code": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let codes: Vec<String> = body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    (secret, codes)
}

pub(crate) trait ClockNow {
    fn clock_now(&self) -> i64;
}

impl ClockNow for TestApp {
    fn clock_now(&self) -> i64 {
        use shebao_domain::ports::Clock;
        self.clock.now().timestamp()
    }
}

#[tokio::test]
async fn the_whole_journey() {
    let app = demo_app().await;
    // Code → register.
    let pair = app.register(PHONE).await;
    assert_eq!(pair["token_type"], "Bearer");
    assert_eq!(pair["expires_in"], 900);
    let token = access(&pair);
    let me: Value = app
        .get("/v1/me")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["phone"], "+86 138****8000");
    assert_eq!(me["totp_enabled"], false);
    assert_eq!(me["bound"], false);

    // Bind (after a step-up).
    let stepped = app.step_up(&token, PHONE).await;
    let res = app
        .post("/v1/me/binding")
        .bearer_auth(&stepped)
        .json(&json!({"national_id": DEMO_ID, "name": "张伟", "card_number": "A44030000001"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let binding: Value = app
        .get("/v1/me/binding")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(binding["national_id"], "440***********0277");
    assert_eq!(binding["name"], "张伟");
    assert_eq!(binding["region"], "440300");

    // TOTP.
    let (secret, recovery) = enrol_totp(&app, &token).await;
    let me: Value = app
        .get("/v1/me")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["totp_enabled"], true);
    assert_eq!(me["bound"], true);

    // Login now needs the second factor.
    app.clock.advance(Duration::seconds(30));
    let res = app
        .post("/v1/auth/login")
        .json(&json!({"phone": PHONE, "password": PERSON_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let challenge: Value = res.json().await.unwrap();
    assert_eq!(challenge["mfa_required"], true);
    assert!(challenge.get("access_token").is_none());
    let mfa = challenge["mfa_token"].as_str().unwrap().to_owned();
    let code = totp::code_at(&secret, app.clock_now()).unwrap();
    let res = app
        .post("/v1/auth/login/mfa")
        .json(&json!({"mfa_token": mfa, "totp_code": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let pair2: Value = res.json().await.unwrap();

    // The same TOTP code again (a replay) is refused, even with a new challenge.
    let challenge: Value = app
        .post("/v1/auth/login")
        .json(&json!({"phone": PHONE, "password": PERSON_PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mfa2 = challenge["mfa_token"].as_str().unwrap().to_owned();
    let res = app
        .post("/v1/auth/login/mfa")
        .json(&json!({"mfa_token": mfa2, "totp_code": code}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "invalid_code").await;
    // A recovery code works once; the spent MFA token does not work twice.
    let res = app
        .post("/v1/auth/login/mfa")
        .json(&json!({"mfa_token": mfa2, "recovery_code": recovery[0].to_uppercase()}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = app
        .post("/v1/auth/login/mfa")
        .json(&json!({"mfa_token": mfa2, "recovery_code": recovery[1]}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "unauthorized").await;

    // Refresh → the old refresh token is dead.
    let res = app
        .post("/v1/auth/refresh")
        .json(&json!({"refresh_token": refresh(&pair2)}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let pair3: Value = res.json().await.unwrap();
    assert_ne!(refresh(&pair3), refresh(&pair2));
    assert_eq!(
        app.get("/v1/me")
            .bearer_auth(access(&pair3))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // Sessions: three (register, mfa login, recovery login); the current one is flagged.
    let list: Value = app
        .get("/v1/me/sessions")
        .bearer_auth(access(&pair3))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items.iter().filter(|s| s["current"] == true).count(), 1);

    // Logout ends the session: its tokens stop working.
    let res = app
        .post("/v1/auth/logout")
        .bearer_auth(access(&pair3))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_problem(
        app.get("/v1/me")
            .bearer_auth(access(&pair3))
            .send()
            .await
            .unwrap(),
        401,
        "unauthorized",
    )
    .await;
    let res = app
        .post("/v1/auth/refresh")
        .json(&json!({"refresh_token": refresh(&pair3)}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "invalid_refresh_token").await;
}

#[tokio::test]
async fn sms_codes_expire_die_after_five_tries_and_are_used_once() {
    let app = spawn_app().await;
    // Expired: 5 minutes and a second.
    let code = app.sms_code(PHONE, "register").await;
    app.clock.advance(Duration::seconds(301));
    let res = app
        .post("/v1/auth/register")
        .json(&json!({"phone": PHONE, "code": code, "password": PERSON_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "invalid_code").await;

    // Five wrong tries kill the code: the right one fails on the sixth.
    let code = app.sms_code(PHONE, "register").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        let res = app
            .post("/v1/auth/register")
            .json(&json!({"phone": PHONE, "code": wrong, "password": PERSON_PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_problem(res, 401, "invalid_code").await;
    }
    let res = app
        .post("/v1/auth/register")
        .json(&json!({"phone": PHONE, "code": code, "password": PERSON_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "invalid_code").await;

    // A code for another purpose does not work; a used code does not work twice.
    app.clock.advance(Duration::seconds(61));
    let login_code = app.sms_code(PHONE, "login").await;
    let res = app
        .post("/v1/auth/register")
        .json(&json!({"phone": PHONE, "code": login_code, "password": PERSON_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "invalid_code").await;
    app.clock.advance(Duration::seconds(61));
    let code = app.sms_code(PHONE, "register").await;
    let body = json!({"phone": PHONE, "code": code, "password": PERSON_PASSWORD});
    assert_eq!(
        app.post("/v1/auth/register")
            .json(&body)
            .send()
            .await
            .unwrap()
            .status(),
        201
    );
    let res = app
        .post("/v1/auth/register")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "invalid_code").await;

    // The codes are never stored in clear.
    let messages = app.sms_messages(PHONE).await;
    assert!(messages.len() >= 4);
}

#[tokio::test]
async fn resend_cooldown_and_daily_cap() {
    let app = spawn_app().await;
    app.sms_code(PHONE, "login").await;
    let res = app
        .post("/v1/auth/sms-codes")
        .json(&json!({"phone": PHONE, "purpose": "login"}))
        .send()
        .await
        .unwrap();
    let retry: i64 = res
        .headers()
        .get("retry-after")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
    assert_problem(res, 429, "sms_cooldown").await;
    // Ten a day per phone.
    for _ in 0..9 {
        app.clock.advance(Duration::seconds(61));
        app.sms_code(PHONE, "login").await;
    }
    app.clock.advance(Duration::seconds(61));
    let res = app
        .post("/v1/auth/sms-codes")
        .json(&json!({"phone": PHONE, "purpose": "login"}))
        .send()
        .await
        .unwrap();
    assert!(res.headers().contains_key("retry-after"));
    assert_problem(res, 429, "sms_daily_cap").await;
    // A day later it is allowed again.
    app.clock.advance(Duration::hours(24));
    assert_eq!(
        app.post("/v1/auth/sms-codes")
            .json(&json!({"phone": PHONE, "purpose": "login"}))
            .send()
            .await
            .unwrap()
            .status(),
        202
    );
    // Bad input is a 422 naming the field.
    let res = app
        .post("/v1/auth/sms-codes")
        .json(&json!({"phone": "12345", "purpose": "party"}))
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
    assert_eq!(fields, vec!["phone", "purpose"]);
}

#[tokio::test]
async fn login_never_reveals_whether_a_phone_is_registered() {
    let app = spawn_app().await;
    app.register(PHONE).await;
    let unknown = "+8613900139000";
    let a = app
        .post("/v1/auth/login")
        .json(&json!({"phone": PHONE, "password": "wrong password"}))
        .send()
        .await
        .unwrap();
    let a = assert_problem(a, 401, "invalid_credentials").await;
    let b = app
        .post("/v1/auth/login")
        .json(&json!({"phone": unknown, "password": "wrong password"}))
        .send()
        .await
        .unwrap();
    let b = assert_problem(b, 401, "invalid_credentials").await;
    assert_eq!(a["detail"], b["detail"]);
    // By code: an unknown phone gets a code like anyone (202) and the login fails like a wrong code.
    let code = app.sms_code(unknown, "login").await;
    let c = app
        .post("/v1/auth/login")
        .json(&json!({"phone": unknown, "code": code}))
        .send()
        .await
        .unwrap();
    assert_problem(c, 401, "invalid_credentials").await;
    // Login by code for a real account works.
    let code = app.sms_code(PHONE, "login").await;
    let ok = app
        .post("/v1/auth/login")
        .json(&json!({"phone": PHONE, "code": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let body: Value = ok.json().await.unwrap();
    assert!(body["access_token"].is_string() && body["refresh_token"].is_string());
    // Registering a taken phone is a 409, but only after proving the phone with a code.
    app.clock.advance(Duration::seconds(61));
    let code = app.sms_code(PHONE, "register").await;
    let res = app
        .post("/v1/auth/register")
        .json(&json!({"phone": PHONE, "code": code, "password": PERSON_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 409, "phone_taken").await;
}

#[tokio::test]
async fn repeated_failures_slow_down_then_lock_the_account() {
    let app = spawn_app().await;
    app.register(PHONE).await;
    let wrong = json!({"phone": PHONE, "password": "wrong password"});
    for _ in 0..3 {
        assert_problem(
            app.post("/v1/auth/login")
                .json(&wrong)
                .send()
                .await
                .unwrap(),
            401,
            "invalid_credentials",
        )
        .await;
    }
    // After three, the next try must wait.
    let res = app
        .post("/v1/auth/login")
        .json(&wrong)
        .send()
        .await
        .unwrap();
    assert!(res.headers().contains_key("retry-after"));
    assert_problem(res, 429, "too_many_attempts").await;
    for _ in 0..2 {
        app.clock.advance(Duration::seconds(10));
        assert_problem(
            app.post("/v1/auth/login")
                .json(&wrong)
                .send()
                .await
                .unwrap(),
            401,
            "invalid_credentials",
        )
        .await;
    }
    // The fifth failure locked it: the right password is refused too.
    let right = json!({"phone": PHONE, "password": PERSON_PASSWORD});
    assert_problem(
        app.post("/v1/auth/login")
            .json(&right)
            .send()
            .await
            .unwrap(),
        429,
        "account_locked",
    )
    .await;
    app.clock.advance(Duration::minutes(16));
    assert_eq!(
        app.post("/v1/auth/login")
            .json(&right)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn a_reused_refresh_token_revokes_the_whole_session() {
    let app = spawn_app().await;
    let first = app.register(PHONE).await;
    let second: Value = app
        .post("/v1/auth/refresh")
        .json(&json!({"refresh_token": refresh(&first)}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // The old one again once the grace period (10 s by default) is over: reuse.
    app.clock.advance(Duration::seconds(10));
    let res = app
        .post("/v1/auth/refresh")
        .json(&json!({"refresh_token": refresh(&first)}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "refresh_token_reused").await;
    // The newest one dies with the session, and so do its access tokens.
    let res = app
        .post("/v1/auth/refresh")
        .json(&json!({"refresh_token": refresh(&second)}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "invalid_refresh_token").await;
    assert_problem(
        app.get("/v1/me")
            .bearer_auth(access(&second))
            .send()
            .await
            .unwrap(),
        401,
        "unauthorized",
    )
    .await;
    let res = app
        .post("/v1/auth/refresh")
        .json(&json!({"refresh_token": "made-up"}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "invalid_refresh_token").await;
}

async fn refresh_with(app: &TestApp, token: &str) -> reqwest::Response {
    app.post("/v1/auth/refresh")
        .json(&json!({ "refresh_token": token }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_refresh_token_presented_again_within_the_grace_period_gets_the_same_pair() {
    let app = spawn_app().await;
    let first = app.register(PHONE).await;
    let res = refresh_with(&app, &refresh(&first)).await;
    assert_eq!(res.status(), 200);
    let second: Value = res.json().await.unwrap();
    // 9 s later (a lost answer, a parallel request): the same refresh token again.
    app.clock.advance(Duration::seconds(9));
    let res = refresh_with(&app, &refresh(&first)).await;
    assert_eq!(res.status(), 200);
    let again: Value = res.json().await.unwrap();
    assert_eq!(again, second);
    let me = app.get("/v1/me").bearer_auth(access(&again)).send().await;
    assert_eq!(me.unwrap().status(), 200);
    // 10 s after it was spent the window is closed: reuse ends the session.
    app.clock.advance(Duration::seconds(1));
    let res = refresh_with(&app, &refresh(&first)).await;
    assert_problem(res, 401, "refresh_token_reused").await;
    let res = refresh_with(&app, &refresh(&second)).await;
    assert_problem(res, 401, "invalid_refresh_token").await;
}

#[tokio::test]
async fn a_refresh_token_whose_successor_was_spent_is_reuse_even_inside_the_window() {
    let app = spawn_app().await;
    let first = app.register(PHONE).await;
    let second: Value = refresh_with(&app, &refresh(&first))
        .await
        .json()
        .await
        .unwrap();
    let third = refresh_with(&app, &refresh(&second)).await;
    assert_eq!(third.status(), 200);
    // The chain moved on: the first token back is a fork, not a retry.
    let res = refresh_with(&app, &refresh(&first)).await;
    assert_problem(res, 401, "refresh_token_reused").await;
}

#[tokio::test]
async fn a_grace_period_of_zero_makes_every_second_presentation_reuse() {
    let app = shebao_tests::spawn_app_with(shebao_tests::TestOptions {
        env: vec![("SHEBAO_REFRESH_REUSE_GRACE_SECS", "0".into())],
        ..Default::default()
    })
    .await;
    let first = app.register(PHONE).await;
    assert_eq!(refresh_with(&app, &refresh(&first)).await.status(), 200);
    let res = refresh_with(&app, &refresh(&first)).await;
    assert_problem(res, 401, "refresh_token_reused").await;
}

#[tokio::test]
async fn parallel_refreshes_with_one_token_all_get_the_same_pair_and_keep_the_session() {
    let app = spawn_app().await;
    let first = app.register(PHONE).await;
    let token = refresh(&first);
    let answers = futures_util::future::join_all((0..5).map(|_| refresh_with(&app, &token))).await;
    let mut pairs = Vec::new();
    for res in answers {
        assert_eq!(res.status(), 200);
        let pair: Value = res.json().await.unwrap();
        let me = app.get("/v1/me").bearer_auth(access(&pair)).send().await;
        assert_eq!(me.unwrap().status(), 200);
        pairs.push(pair);
    }
    assert!(pairs.iter().all(|p| *p == pairs[0]));
    // The one successor goes on working.
    assert_eq!(refresh_with(&app, &refresh(&pairs[0])).await.status(), 200);
}

#[tokio::test]
async fn forged_expired_and_cross_audience_tokens_are_401() {
    let app = spawn_app().await;
    let pair = app.register(PHONE).await;
    let token = access(&pair);
    // alg none.
    let none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ4In0.";
    assert_problem(
        app.get("/v1/me").bearer_auth(none).send().await.unwrap(),
        401,
        "unauthorized",
    )
    .await;
    // Staff tokens do not work on /v1/me, person tokens not on /v1/staff.
    let staff = app.staff_token(StaffRole::Admin).await;
    assert_problem(
        app.get("/v1/me").bearer_auth(&staff).send().await.unwrap(),
        401,
        "unauthorized",
    )
    .await;
    assert_problem(
        app.get("/v1/staff/regions")
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        401,
        "unauthorized",
    )
    .await;
    // A refresh token is not an access token.
    assert_problem(
        app.get("/v1/me")
            .bearer_auth(refresh(&pair))
            .send()
            .await
            .unwrap(),
        401,
        "unauthorized",
    )
    .await;
    // Expired after 15 minutes.
    app.clock.advance(Duration::minutes(16));
    assert_problem(
        app.get("/v1/me").bearer_auth(&token).send().await.unwrap(),
        401,
        "token_expired",
    )
    .await;
    // The keys that verify tokens are published.
    let jwks: Value = app
        .get("/.well-known/jwks.json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "OKP");
    assert_eq!(key["alg"], "EdDSA");
    let header: Value = {
        use base64::Engine;
        let h = token.split('.').next().unwrap();
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(h)
                .unwrap(),
        )
        .unwrap()
    };
    assert_eq!(header["kid"], key["kid"]);
    assert_eq!(header["alg"], "EdDSA");
}

#[tokio::test]
async fn one_account_cannot_touch_another_accounts_sessions() {
    let app = spawn_app().await;
    let alice = app.register(PHONE).await;
    let bob = app.register("+8613900139000").await;
    let bobs: Value = app
        .get("/v1/me/sessions")
        .bearer_auth(access(&bob))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bob_session = bobs["items"][0]["id"].as_str().unwrap().to_owned();
    // Alice cannot end Bob's session (it is "not found" for her) and cannot see it.
    let res = app
        .client
        .delete(app.url(&format!("/v1/me/sessions/{bob_session}")))
        .bearer_auth(access(&alice))
        .send()
        .await
        .unwrap();
    assert_problem(res, 404, "not_found").await;
    let alices: Value = app
        .get("/v1/me/sessions")
        .bearer_auth(access(&alice))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(alices["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["id"] != bob_session.as_str()));
    assert_eq!(
        app.get("/v1/me")
            .bearer_auth(access(&bob))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // Bob can end his own.
    let res = app
        .client
        .delete(app.url(&format!("/v1/me/sessions/{bob_session}")))
        .bearer_auth(access(&bob))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_problem(
        app.get("/v1/me")
            .bearer_auth(access(&bob))
            .send()
            .await
            .unwrap(),
        401,
        "unauthorized",
    )
    .await;
}

#[tokio::test]
async fn binding_rules() {
    let app = demo_app().await;
    let alice = app.register(PHONE).await;
    let body = json!({"national_id": DEMO_ID, "name": "张伟", "card_number": "A44030000001"});
    // Without a step-up: 403.
    let res = app
        .post("/v1/me/binding")
        .bearer_auth(access(&alice))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_problem(res, 403, "step_up_required").await;
    let stepped = app.step_up(&access(&alice), PHONE).await;
    // Wrong check character: a field error.
    let res = app
        .post("/v1/me/binding")
        .bearer_auth(&stepped)
        .json(&json!({"national_id": "440300198603120278", "name": "张伟", "card_number": "A44030000001"}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "national_id");
    assert_eq!(problem["errors"][0]["code"], "check_character");
    // A wrong name: a mismatch that does not say which field.
    let res = app
        .post("/v1/me/binding")
        .bearer_auth(&stepped)
        .json(&json!({"national_id": DEMO_ID, "name": "张三", "card_number": "A44030000001"}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(res, 422, "binding_mismatch").await;
    assert!(problem.get("errors").is_none());
    // Right details bind.
    assert_eq!(
        app.post("/v1/me/binding")
            .bearer_auth(&stepped)
            .json(&body)
            .send()
            .await
            .unwrap()
            .status(),
        201
    );
    // Binding again: already bound.
    let res = app
        .post("/v1/me/binding")
        .bearer_auth(&stepped)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_problem(res, 409, "already_bound").await;
    // The same person from another account: 409.
    let bob_phone = "+8613900139000";
    let bob = app.register(bob_phone).await;
    let bob_stepped = app.step_up(&access(&bob), bob_phone).await;
    let res = app
        .post("/v1/me/binding")
        .bearer_auth(&bob_stepped)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_problem(res, 409, "person_already_bound").await;
    // Bob cannot see Alice's binding.
    assert_problem(
        app.get("/v1/me/binding")
            .bearer_auth(access(&bob))
            .send()
            .await
            .unwrap(),
        404,
        "not_bound",
    )
    .await;
    // Unbinding needs a step-up too; after it Bob may bind.
    let res = app
        .client
        .delete(app.url("/v1/me/binding"))
        .bearer_auth(access(&alice))
        .send()
        .await
        .unwrap();
    assert_problem(res, 403, "step_up_required").await;
    // The step-up lasts five minutes.
    app.clock.advance(Duration::minutes(6));
    let res = app
        .client
        .delete(app.url("/v1/me/binding"))
        .bearer_auth(&stepped)
        .send()
        .await
        .unwrap();
    assert!(res.status() == 403 || res.status() == 401);
    let stepped = app.step_up(&access(&alice), PHONE).await;
    assert_eq!(
        app.client
            .delete(app.url("/v1/me/binding"))
            .bearer_auth(&stepped)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    let bob_stepped = app.step_up(&access(&bob), bob_phone).await;
    assert_eq!(
        app.post("/v1/me/binding")
            .bearer_auth(&bob_stepped)
            .json(&body)
            .send()
            .await
            .unwrap()
            .status(),
        201
    );
}

#[tokio::test]
async fn totp_can_be_disabled_with_a_step_up_and_password_reset_ends_every_session() {
    let app = spawn_app().await;
    let pair = app.register(PHONE).await;
    let token = access(&pair);
    let (secret, _) = enrol_totp(&app, &token).await;
    assert_problem(
        app.client
            .delete(app.url("/v1/me/totp"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        403,
        "step_up_required",
    )
    .await;
    // Step up with TOTP (a later step than the one that confirmed).
    app.clock.advance(Duration::seconds(30));
    let code = totp::code_at(&secret, app.clock_now()).unwrap();
    let res = app
        .post("/v1/me/step-up")
        .bearer_auth(&token)
        .json(&json!({"totp_code": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let stepped = access(&res.json().await.unwrap());
    // The same code cannot step up twice.
    let res = app
        .post("/v1/me/step-up")
        .bearer_auth(&token)
        .json(&json!({"totp_code": code}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "invalid_code").await;
    assert_eq!(
        app.client
            .delete(app.url("/v1/me/totp"))
            .bearer_auth(&stepped)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    let me: Value = app
        .get("/v1/me")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["totp_enabled"], false);

    // Password reset by code ends every session.
    let code = app.sms_code(PHONE, "reset_password").await;
    let res = app
        .post("/v1/auth/password-reset")
        .json(&json!({"phone": PHONE, "code": code, "new_password": "a brand new passphrase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_problem(
        app.get("/v1/me").bearer_auth(&token).send().await.unwrap(),
        401,
        "unauthorized",
    )
    .await;
    let old = json!({"phone": PHONE, "password": PERSON_PASSWORD});
    assert_problem(
        app.post("/v1/auth/login").json(&old).send().await.unwrap(),
        401,
        "invalid_credentials",
    )
    .await;
    let new = json!({"phone": PHONE, "password": "a brand new passphrase"});
    assert_eq!(
        app.post("/v1/auth/login")
            .json(&new)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn sign_ins_factor_changes_and_bindings_are_audited() {
    let app = spawn_app().await;
    let pair = app.register(PHONE).await;
    app.post("/v1/auth/login")
        .json(&json!({"phone": PHONE, "password": "nope nope"}))
        .send()
        .await
        .unwrap();
    enrol_totp(&app, &access(&pair)).await;
    app.post("/v1/auth/logout")
        .bearer_auth(access(&pair))
        .send()
        .await
        .unwrap();
    let mut conn = app.db.connect();
    use diesel::prelude::*;
    use shebao_infra::schema::audit_log::dsl as a;
    let rows: Vec<(String, String, Option<String>, Option<String>)> = a::audit_log
        .select((a::action, a::outcome, a::client_ip, a::request_id))
        .load(&mut conn)
        .unwrap();
    let actions: Vec<(&str, &str)> = rows.iter().map(|r| (r.0.as_str(), r.1.as_str())).collect();
    for expected in [
        ("account.register", "success"),
        ("account.login", "failure"),
        ("factor.totp_enable", "success"),
        ("session.revoke", "logout"),
    ] {
        assert!(
            actions.contains(&expected),
            "{expected:?} not in {actions:?}"
        );
    }
    assert!(rows.iter().all(|r| r.2.is_some() && r.3.is_some()));
}

#[tokio::test]
async fn codes_go_through_any_twilio_compatible_server_named_by_the_url() {
    // A provider of our own, with its own credentials, instead of the built-in stand-in.
    let provider =
        shebao_standins::sms::SmsStandIn::start("127.0.0.1:0", "AC0123456789", "s3cret-token")
            .unwrap();
    let app = shebao_tests::spawn_app_with(shebao_tests::TestOptions {
        env: vec![
            ("SHEBAO_SMS_URL", provider.base_url.clone()),
            ("SHEBAO_SMS_ACCOUNT_SID", "AC0123456789".into()),
            ("SHEBAO_SMS_AUTH_TOKEN", "s3cret-token".into()),
            ("SHEBAO_SMS_FROM", "+8610690000".into()),
        ],
        ..Default::default()
    })
    .await;
    assert!(
        app.sms_url.is_empty(),
        "no stand-in is started when SHEBAO_SMS_URL is set"
    );
    let res = app
        .post("/v1/auth/sms-codes")
        .json(&json!({"phone": "13800138000", "purpose": "register"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body, json!({"expires_in": 300, "resend_after": 60}));
    let listed: Value = app
        .client
        .get(format!("{}/messages", provider.base_url))
        .query(&[("to", PHONE)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let message = &listed["messages"][0];
    assert_eq!(message["from"], "+8610690000");
    assert_eq!(message["to"], PHONE);
    assert!(message["body"].as_str().unwrap().contains("验证码"));
    provider.stop().await;
}

#[tokio::test]
async fn a_provider_outage_is_a_503_not_a_hang() {
    // Nothing listens on this port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = shebao_tests::spawn_app_with(shebao_tests::TestOptions {
        env: vec![
            ("SHEBAO_SMS_URL", format!("http://127.0.0.1:{port}")),
            ("SHEBAO_SMS_AUTH_TOKEN", "x".into()),
        ],
        ..Default::default()
    })
    .await;
    let started = std::time::Instant::now();
    let res = app
        .post("/v1/auth/sms-codes")
        .json(&json!({"phone": PHONE, "purpose": "login"}))
        .send()
        .await
        .unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert!(res.headers().contains_key("retry-after"));
    assert_problem(res, 503, "sms_unavailable").await;
}

#[tokio::test]
async fn many_failures_from_one_address_lock_that_address_out() {
    let app = spawn_app().await;
    app.register(PHONE).await;
    // Twenty failed sign-ins across different phones from one client address...
    for i in 0..20 {
        let phone = format!("+86139{:08}", i);
        let res = app
            .post("/v1/auth/login")
            .json(&json!({"phone": phone, "password": "guessing game"}))
            .send()
            .await
            .unwrap();
        assert_problem(res, 401, "invalid_credentials").await;
    }
    // ...and even a right password from that address must wait.
    let res = app
        .post("/v1/auth/login")
        .json(&json!({"phone": PHONE, "password": PERSON_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert!(res.headers().contains_key("retry-after"));
    assert_problem(res, 429, "too_many_attempts").await;
    app.clock.advance(Duration::minutes(16));
    let res = app
        .post("/v1/auth/login")
        .json(&json!({"phone": PHONE, "password": PERSON_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}
