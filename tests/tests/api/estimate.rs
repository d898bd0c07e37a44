//! The pension estimate and the e-card over HTTP.

use chrono::Duration;
use serde_json::{json, Value};
use shebao_domain::staff::StaffRole;
use shebao_tests::{assert_problem, spawn_app_with, TestApp, TestOptions};

async fn demo() -> TestApp {
    spawn_app_with(TestOptions {
        demo_seed: true,
        ..Default::default()
    })
    .await
}

async fn bind(app: &TestApp, phone: &str, id: &str, name: &str, card: &str) -> String {
    app.register_and_bind(phone, (id, name, card)).await.access
}

async fn estimate(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.post("/v1/me/pension-estimate")
        .bearer_auth(token)
        .header("accept-language", "en")
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_man_under_the_reform_schedule_with_a_long_history() {
    let app = demo().await;
    let token = bind(
        &app,
        "+8613800138000",
        "440300198603120277",
        "张伟",
        "A44030000001",
    )
    .await;
    let res = estimate(&app, &token, json!({})).await;
    assert_eq!(res.status(), 200);
    let e: Value = res.json().await.unwrap();
    // Born 1986-03: 254 months after 1965-01 → the full 36-month delay: 63 years, on 2049-03-12.
    assert_eq!(e["retirement_date"], "2049-03-12");
    assert_eq!(e["eligible"], true);
    // From 2030 the minimum rises six months a year to 20 years (2039 on).
    assert_eq!(e["required_years"], 20.0);
    let a = &e["assumptions"];
    assert_eq!(a["retirement_category"], "male");
    assert_eq!(a["contribution_months_so_far"], 154);
    // 2026-11 (due, not paid yet) up to 2049-02: 268 months.
    assert_eq!(a["projected_months"], 268);
    assert_eq!(a["age_at_retirement_years"], 63);
    assert_eq!(a["months_divisor"], 117);
    assert_eq!(a["months_divisor_exact"], 117.0);
    assert_eq!(a["divisor_rule"], "whole_years");
    assert_eq!(a["age_at_retirement_months"], 0);
    // Ī weighted by months over the history: 1.3688, assumed for the future too.
    assert_eq!(a["indexed_ratio_bp"], 13_688);
    // C: the 2026 parameters' 12 889.00 grown 4 % a year for 2049 − 2026 = 23 years (to 2048,
    // the year before retirement) = 31 767.68; one year short it was 30 545.85.
    use shebao_domain::money::Fen;
    use shebao_domain::pension::{grow, project_balance, project_balance_growing, CreditGrowth};
    assert_eq!(grow(Fen(1_288_900), 400, 23), Fen(3_176_768));
    assert_eq!(a["average_monthly_wage_fen"], 3_176_768);
    // Basic part: 3 176 768 × (10 000 + 13 688) × 422 / 24 000 000 = 13 231.68.
    assert_eq!(e["basic_part_fen"], 1_323_168);
    // The account: 150 453.82 today; the first credit 12 889.00 × 1.3688 × 8 % = 1 411.40 in
    // 2026-11, rising 4 % every January (the first rise after 2 months), 3 % interest:
    // 1 120 051.92 at retirement (with the credit frozen it would be 827 704.59).
    let growing = CreditGrowth {
        annual_bp: 400,
        first_rise_after: 2,
    };
    assert_eq!(
        project_balance_growing(Fen(15_045_382), Fen(141_140), 268, growing, 300),
        Fen(112_005_192)
    );
    assert_eq!(
        project_balance(Fen(15_045_382), Fen(141_140), 268, 300),
        Fen(82_770_459)
    );
    assert_eq!(a["account_balance_at_retirement_fen"], 112_005_192);
    // 1 120 051.92 / 117 = 9 573.09; in all 22 804.77.
    assert_eq!(e["account_part_fen"], 957_309);
    assert_eq!(e["monthly_total_fen"], 2_280_477);
    // Every assumption is stated.
    let text = e["explanation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect::<Vec<_>>()
        .join(" ");
    for said in [
        "12889.00 yuan, grown 4.00% a year for 23 years = 31767.68 yuan",
        "weighted by months: 1.3688 over the 154 months paid",
        "150453.82 yuan today",
        "1411.40 yuan at first, rising with the average wage by 4.00% every January",
        "whole years of the age at retirement, 63 years 0 months: 117",
        "about 22804.77 yuan",
    ] {
        assert!(text.contains(said), "{said} not in {text}");
    }
    // In Chinese: the same lines and figures, worded from the same place.
    let zh: Value = app
        .post("/v1/me/pension-estimate")
        .bearer_auth(&token)
        .header("accept-language", "zh-CN")
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(zh["monthly_total_fen"], 2_280_477);
    let lines = zh["explanation"].as_array().unwrap();
    assert_eq!(lines.len(), e["explanation"].as_array().unwrap().len());
    assert!(lines[4].as_str().unwrap().contains("按月加权"), "{lines:?}");
    // A higher future base gives a higher pension.
    let richer: Value = estimate(&app, &token, json!({"future_base_ratio": 2.0}))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        richer["monthly_total_fen"].as_i64().unwrap() > e["monthly_total_fen"].as_i64().unwrap()
    );
    // Outside the allowed window, or wild assumptions: 422.
    let res = estimate(&app, &token, json!({"retirement_date": "2040-01-01"})).await;
    assert_problem(res, 422, "validation_failed").await;
    let res = estimate(
        &app,
        &token,
        json!({"future_base_ratio": 5, "interest_rate": -1}),
    )
    .await;
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn someone_short_of_the_minimum_is_told_how_many_months_are_missing() {
    let app = demo().await;
    // A man born 1966-01-01 with no history: statutory age 60y4m (2026-05-01); deferred to 2029-05.
    let staff = app.staff_token(StaffRole::Caseworker).await;
    let id = shebao_domain::identity::NationalId::from_parts(
        "440305",
        chrono::NaiveDate::from_ymd_opt(1966, 1, 1).unwrap(),
        11,
    )
    .unwrap();
    let res = app
        .post("/v1/staff/persons")
        .bearer_auth(&staff)
        .json(&json!({"national_id": id.expose(), "name": "钱多", "region": "440300", "card_number": "B44030000001", "medical_category": "employee", "employment_status": "employed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let token = bind(&app, "+8613700137000", id.expose(), "钱多", "B44030000001").await;
    let e: Value = estimate(&app, &token, json!({"retirement_date": "2029-05-01"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(e["eligible"], false);
    assert_eq!(e["required_years"], 15.0);
    // 2026-11 … 2029-04: 30 months; 180 are needed: 150 missing.
    assert_eq!(e["assumptions"]["projected_months"], 30);
    assert_eq!(e["monthly_total_fen"], 0);
    let text = e["explanation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(text.contains("150 more months"), "{text}");
}

#[tokio::test]
async fn the_e_card_verifies_online_and_offline_and_expires() {
    let app = demo().await;
    let token = bind(
        &app,
        "+8613800138000",
        "440300198603120277",
        "张伟",
        "A44030000001",
    )
    .await;
    let res = app
        .post("/v1/me/ecard")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let card: Value = res.json().await.unwrap();
    let jwt = card["token"].as_str().unwrap().to_owned();
    assert!(!card["qr_png_base64"].as_str().unwrap().is_empty());
    let expires =
        chrono::DateTime::parse_from_rfc3339(card["expires_at"].as_str().unwrap()).unwrap();
    let now = {
        use shebao_domain::ports::Clock;
        app.clock.now()
    };
    assert_eq!(
        expires.timestamp() - now.timestamp(),
        300,
        "an e-card lives five minutes"
    );
    // Online.
    let v: Value = app
        .post("/v1/ecard/verify")
        .json(&json!({"token": jwt}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["name_masked"], "张*");
    assert_eq!(v["card_number_masked"], "A4********01");
    assert_eq!(v["medical_category"], "employee");
    // Offline, with the published keys only.
    let jwks: Value = app
        .get("/.well-known/jwks.json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let x = jwks["keys"][0]["x"].as_str().unwrap();
    let key = jsonwebtoken::DecodingKey::from_ed_components(x).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.set_audience(&["shebao:ecard"]);
    validation.validate_exp = false;
    let data = jsonwebtoken::decode::<Value>(&jwt, &key, &validation).unwrap();
    assert_eq!(data.claims["name_masked"], "张*");
    // Tampered, or a person's access token: not valid.
    let v: Value = app
        .post("/v1/ecard/verify")
        .json(&json!({"token": format!("{jwt}x")}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["valid"], false);
    assert_eq!(v["reason"], "invalid");
    let v: Value = app
        .post("/v1/ecard/verify")
        .json(&json!({"token": token}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["valid"], false);
    // Five minutes later it has expired.
    app.clock.advance(Duration::minutes(6));
    let v: Value = app
        .post("/v1/ecard/verify")
        .json(&json!({"token": jwt}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["valid"], false);
    assert_eq!(v["reason"], "expired");
}
