//! Every error class over real HTTP: problem+json with a stable code, never a 500, never internals.

use serde_json::{json, Value};
use shebao_api::error::english_phrase;
use shebao_domain::staff::StaffRole;
use shebao_tests::{assert_problem, spawn_app};

#[tokio::test]
async fn unknown_route_is_a_404_problem() {
    let app = spawn_app().await;
    let res = app.get("/v1/no/such/thing").send().await.unwrap();
    let body = assert_problem(res, 404, "not_found").await;
    assert_eq!(body["instance"], "/v1/no/such/thing");
    assert!(body["request_id"].as_str().is_some_and(|s| !s.is_empty()));
}

#[tokio::test]
async fn wrong_method_is_a_405_problem_with_allow() {
    let app = spawn_app().await;
    let res = app
        .client
        .delete(app.url("/v1/staff/persons"))
        .send()
        .await
        .unwrap();
    let allow = res
        .headers()
        .get("allow")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert_problem(res, 405, "method_not_allowed").await;
    assert_eq!(allow, "GET, POST, HEAD");

    let res = app.client.put(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.headers().get("allow").unwrap(), "GET, HEAD");
    assert_problem(res, 405, "method_not_allowed").await;
}

#[tokio::test]
async fn malformed_json_is_a_400_problem() {
    let app = spawn_app().await;
    let res = app
        .post("/v1/staff/auth/login")
        .header("content-type", "application/json")
        .body(r#"{"username": "admin", "password": "#)
        .send()
        .await
        .unwrap();
    assert_problem(res, 400, "malformed_json").await;

    let res = app
        .post("/v1/staff/auth/login")
        .header("content-type", "application/json")
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_problem(res, 400, "malformed_json").await;
}

#[tokio::test]
async fn wrong_content_type_is_a_415_problem() {
    let app = spawn_app().await;
    let res = app
        .post("/v1/staff/auth/login")
        .header("content-type", "text/plain")
        .body(r#"{"username":"a","password":"b"}"#)
        .send()
        .await
        .unwrap();
    assert_problem(res, 415, "unsupported_media_type").await;

    let res = app
        .post("/v1/staff/auth/login")
        .body(r#"{"username":"a","password":"b"}"#)
        .send()
        .await
        .unwrap();
    assert_problem(res, 415, "unsupported_media_type").await;
}

#[tokio::test]
async fn oversized_body_is_a_413_problem() {
    let app = spawn_app().await;
    let big = "x".repeat(app.settings.body_limit_bytes + 1);
    let res = app
        .post("/v1/staff/auth/login")
        .json(&json!({"username": "a", "password": big}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 413, "payload_too_large").await;

    // Without a Content-Length the limit holds too (chunked body).
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..70).map(|_| Ok(vec![b' '; 4096])).collect();
    let res = app
        .post("/v1/staff/auth/login")
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_problem(res, 413, "payload_too_large").await;
}

#[tokio::test]
async fn wrong_json_shape_is_a_422_naming_the_field() {
    let app = spawn_app().await;
    let res = app
        .post("/v1/staff/auth/login")
        .json(&json!({"username": 42, "password": "x"}))
        .send()
        .await
        .unwrap();
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "username");
    assert_eq!(body["errors"][0]["code"], "type");

    let res = app
        .post("/v1/staff/auth/login")
        .json(&json!({"username": "x"}))
        .send()
        .await
        .unwrap();
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "password");
    assert_eq!(body["errors"][0]["code"], "required");
}

/// serde's derived readers take a struct from an array of its fields in order; every request
/// schema is an object, so the body, and any object inside it, must be one.
#[tokio::test]
async fn an_object_sent_as_an_array_is_a_422_naming_where() {
    let app = spawn_app().await;
    // The whole body: the staff login's fields in order would otherwise sign in.
    let res = app
        .post("/v1/staff/auth/login")
        .json(&json!(["someone", "a long passphrase"]))
        .send()
        .await
        .unwrap();
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "$", "{body}");
    assert_eq!(body["errors"][0]["code"], "type", "{body}");
    // Nothing was asked of the SMS provider for a code request sent as an array.
    let res = app
        .post("/v1/auth/sms-codes")
        .json(&json!(["+8613800138000", "register"]))
        .send()
        .await
        .unwrap();
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "$", "{body}");
}

#[tokio::test]
async fn language_follows_accept_language() {
    let app = spawn_app().await;
    let en: Value = app
        .get("/nope")
        .header("accept-language", "en-GB,en;q=0.9")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let zh: Value = app
        .get("/nope")
        .header("accept-language", "zh-CN,zh;q=0.9")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let default: Value = app.get("/nope").send().await.unwrap().json().await.unwrap();
    assert_eq!(en["title"], "Not found");
    assert_eq!(zh["title"], "未找到");
    assert_eq!(default["title"], "未找到");
    assert_eq!(en["code"], zh["code"]);

    let token = app.staff_token(StaffRole::Caseworker).await;
    let res = app
        .post("/v1/staff/persons")
        .bearer_auth(&token)
        .header("accept-language", "en")
        .json(&json!({"national_id": "11010519491231002Y"}))
        .send()
        .await
        .unwrap();
    let body = assert_problem(res, 422, "validation_failed").await;
    let first = &body["errors"][0];
    assert_eq!(first["field"], "national_id");
    assert!(first["message"].as_str().unwrap().is_ascii());
}

#[tokio::test]
async fn chinese_answers_carry_no_english_parser_messages() {
    let app = spawn_app().await;
    let not_json = |lang: &str| {
        app.post("/v1/staff/auth/login")
            .header("accept-language", lang)
            .header("content-type", "application/json")
            .body("not json")
    };
    let zh = assert_problem(
        not_json("zh-CN").send().await.unwrap(),
        400,
        "malformed_json",
    )
    .await;
    let en = assert_problem(not_json("en").send().await.unwrap(), 400, "malformed_json").await;
    let no_english = |text: &Value| {
        let text = text.as_str().unwrap();
        assert_eq!(english_phrase(text), None, "{text}");
    };
    no_english(&zh["detail"]);
    // The English answer keeps the parser's words.
    assert!(en["detail"].as_str().unwrap().contains("expected"));

    let res = app
        .post("/v1/staff/auth/login")
        .header("accept-language", "zh-CN")
        .json(&json!({"username": 42, "password": "x"}))
        .send()
        .await
        .unwrap();
    let body = assert_problem(res, 422, "validation_failed").await;
    no_english(&body["errors"][0]["message"]);

    let token = app.staff_token(StaffRole::Admin).await;
    let res = app
        .get("/v1/staff/regions?limit=lots")
        .header("accept-language", "zh-CN")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    no_english(&assert_problem(res, 422, "validation_failed").await["errors"][0]["message"]);
}

#[tokio::test]
async fn bad_query_strings_are_problems() {
    let app = spawn_app().await;
    let token = app.staff_token(StaffRole::Admin).await;
    // No parser's message: a field error, `limit=-1` out of range like `limit=0`, the range named.
    for (query, code) in [
        ("limit=lots", "format"),
        ("limit=", "format"),
        ("limit=-1", "range"),
        ("limit=99999999999999999999", "range"),
    ] {
        let res = app
            .get(&format!("/v1/staff/regions?{query}"))
            .bearer_auth(&token)
            .header("accept-language", "en")
            .send()
            .await
            .unwrap();
        let body = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "limit", "{query}");
        assert_eq!(body["errors"][0]["code"], code, "{query}");
        if code == "range" {
            assert_eq!(
                body["errors"][0]["message"], "must be between 1 and 100",
                "{query}"
            );
        }
    }
    let res = app
        .get("/v1/staff/regions?limit=0")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "limit");
    let res = app
        .get("/v1/staff/regions?limit=101")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_problem(res, 422, "validation_failed").await;
    let res = app
        .get("/v1/staff/regions?cursor=%%%")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "cursor");
}

#[tokio::test]
async fn missing_forged_and_expired_tokens_are_401() {
    let app = spawn_app().await;
    let res = app.get("/v1/staff/regions").send().await.unwrap();
    assert_eq!(res.headers().get("www-authenticate").unwrap(), "Bearer");
    assert_problem(res, 401, "unauthorized").await;

    let res = app
        .get("/v1/staff/regions")
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "unauthorized").await;

    // alg "none": header {"alg":"none","typ":"JWT"}, any payload, empty signature.
    let forged = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ4Iiwicm9sZSI6ImFkbWluIn0.";
    let res = app
        .get("/v1/staff/regions")
        .bearer_auth(forged)
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "unauthorized").await;

    let token = app.staff_token(StaffRole::Admin).await;
    let ok = app
        .get("/v1/staff/regions")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    // A signature that does not match: flip one character of the signature.
    let mut tampered = token.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let res = app
        .get("/v1/staff/regions")
        .bearer_auth(&tampered)
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "unauthorized").await;

    app.clock.advance(chrono::Duration::minutes(16));
    let res = app
        .get("/v1/staff/regions")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(res
        .headers()
        .get("www-authenticate")
        .unwrap()
        .to_str()
        .unwrap()
        .contains("invalid_token"));
    assert_problem(res, 401, "token_expired").await;
}

/// A number that does not fit the field's integer type is a `range` field error naming the
/// range, in the request's language, never serde's words; a number JSON Schema counts as an
/// integer (`2025.0`) is one.
#[tokio::test]
async fn integers_out_of_their_type_are_range_errors_and_integral_floats_are_integers() {
    let app = spawn_app().await;
    app.seed_regions();
    let token = app.staff_token(StaffRole::Admin).await;
    let rates = |bp: i64| {
        json!({"pension": {"employer_bp": bp, "employee_bp": 800}, "medical": {"employer_bp": 800, "employee_bp": 200},
               "unemployment": {"employer_bp": 50, "employee_bp": 50}, "work_injury": {"employer_bp": 40, "employee_bp": 0},
               "maternity": {"employer_bp": 80, "employee_bp": 0}})
    };
    let res = app
        .client
        .put(app.url("/v1/staff/regions/440300/years/2025"))
        .bearer_auth(&token)
        .json(&json!({"average_monthly_wage_fen": 1200000, "base_floor_pct": 60, "base_ceiling_pct": 300,
                      "late_fee_bp_per_day": 5, "rates": rates(2147483646)}))
        .send()
        .await
        .unwrap();
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "rates.pension.employer_bp");
    assert_eq!(body["errors"][0]["code"], "range");
    assert_eq!(body["errors"][0]["message"], "必须在 0 到 65535 之间");
    assert!(!body.to_string().contains("invalid value"), "{body}");
    let res = app
        .client
        .put(app.url("/v1/staff/regions/440300/years/2025"))
        .bearer_auth(&token)
        .json(&json!({"average_monthly_wage_fen": 1200000.0, "base_floor_pct": 60.0, "base_ceiling_pct": 300,
                      "late_fee_bp_per_day": 5, "rates": rates(1600)}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
}

/// Every answer says which language its texts are in, and that it varies with Accept-Language.
#[tokio::test]
async fn answers_carry_content_language_and_vary() {
    let app = spawn_app().await;
    for (accept, language) in [
        (None, "zh-CN"),
        (Some("en-GB,en;q=0.9"), "en"),
        (Some("zh-CN"), "zh-CN"),
    ] {
        for path in ["/healthz", "/v1/staff/regions"] {
            let mut req = app.get(path);
            if let Some(a) = accept {
                req = req.header("accept-language", a);
            }
            let res = req.send().await.unwrap();
            assert_eq!(
                res.headers()["content-language"],
                language,
                "{path} {accept:?}"
            );
            let vary: Vec<&str> = res
                .headers()
                .get_all("vary")
                .iter()
                .map(|v| v.to_str().unwrap())
                .collect();
            assert!(
                vary.iter().any(|v| v.contains("Accept-Language")),
                "{path}: {vary:?}"
            );
        }
    }
}
