//! Family and proxy access (亲情代办) end to end: the principal grants a relative's account
//! access, the relative accepts and takes tokens acting for the principal, reads and pays within
//! the grant's scopes and is refused outside them; the principal sees every action and gets an
//! SMS for a payment; revoking bites at once; an expired grant refuses; strangers see nothing;
//! the token has the RFC 8693 shape and verifies against the JWKS; and every person's route in
//! the OpenAPI document is either mapped to a scope or refused to a proxy token.

use chrono::{Duration, SecondsFormat};
use diesel::prelude::*;
use serde_json::{json, Value};
use shebao_domain::ports::Clock;
use shebao_domain::proxies::{scope_for, ProxyScope, ROUTE_SCOPES};
use shebao_infra::schema::{audit_log, jobs};
use shebao_tests::{assert_problem, spawn_app_with, TestApp, TestOptions};

/// 王芳: flexible employment in Shenzhen, with months to pay.
const WANG: (&str, &str, &str) = ("440300197911231089", "王芳", "A44030000003");
const PRINCIPAL_PHONE: &str = "+8613800138301";
const RELATIVE_PHONE: &str = "+8613900139001";
const STRANGER_PHONE: &str = "+8613700137001";

async fn demo() -> TestApp {
    spawn_app_with(TestOptions {
        demo_seed: true,
        env: vec![("SHEBAO_ACCESS_TOKEN_TTL_SECS", "3600".into())],
        ..Default::default()
    })
    .await
}

fn access(pair: &Value) -> String {
    pair["access_token"].as_str().unwrap().to_owned()
}

/// 张伟: the relative in the test that reads the relative's own access log (which needs a
/// bound card).
const ZHANG: (&str, &str, &str) = ("440300198603120277", "张伟", "A44030000001");

/// Registers the principal's phone and binds 王芳; returns (plain token, stepped-up token).
async fn principal(app: &TestApp) -> (String, String) {
    bound(app, PRINCIPAL_PHONE, WANG).await
}

/// Registers `phone` and binds `who`; returns (plain token, stepped-up token).
async fn bound(app: &TestApp, phone: &str, who: (&str, &str, &str)) -> (String, String) {
    let a = app.register_and_bind(phone, who).await;
    (a.access, a.stepped)
}

fn in_days(app: &TestApp, days: i64) -> String {
    (app.clock.now() + Duration::days(days)).to_rfc3339_opts(SecondsFormat::Secs, true)
}

async fn grant(app: &TestApp, stepped: &str, phone: &str, scopes: &[&str], expires: &str) -> Value {
    let res = app
        .post("/v1/me/proxies")
        .bearer_auth(stepped)
        .json(
            &json!({"phone": phone, "relation": "child", "scopes": scopes, "expires_at": expires}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    res.json().await.unwrap()
}

async fn accept(app: &TestApp, relative: &str, id: &str) -> Value {
    let res = app
        .post(&format!("/v1/me/proxy-invitations/{id}/accept"))
        .bearer_auth(relative)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    res.json().await.unwrap()
}

async fn proxy_token(app: &TestApp, relative: &str, id: &str) -> Value {
    let res = app
        .post(&format!("/v1/me/proxies/{id}/token"))
        .bearer_auth(relative)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    res.json().await.unwrap()
}

/// Grants `scopes` to the relative's account, accepts, and takes a token: (grant id, token).
async fn acting(app: &TestApp, stepped: &str, relative: &str, scopes: &[&str]) -> (String, String) {
    let g = grant(app, stepped, RELATIVE_PHONE, scopes, &in_days(app, 30)).await;
    let id = g["id"].as_str().unwrap().to_owned();
    accept(app, relative, &id).await;
    let t = proxy_token(app, relative, &id).await;
    (id, access(&t))
}

fn payload(token: &str) -> Value {
    use base64::Engine;
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn a_relative_reads_and_pays_within_the_scopes_and_is_refused_outside_them() {
    let app = demo().await;
    let (plain, stepped) = principal(&app).await;
    let (relative, _) = bound(&app, RELATIVE_PHONE, ZHANG).await;

    // Granting needs a step-up; the scopes and the expiry are checked.
    let body = json!({"phone": RELATIVE_PHONE, "relation": "child", "scopes": ["read_records", "pay_premiums"], "expires_at": in_days(&app, 30)});
    let res = app
        .post("/v1/me/proxies")
        .bearer_auth(&plain)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_problem(res, 403, "step_up_required").await;
    for (field, bad) in [
        ("scopes", json!([])),
        ("scopes", json!(["apply", "apply"])),
        ("scopes", json!(["bind"])),
        ("expires_at", json!(in_days(&app, -1))),
        ("expires_at", json!(in_days(&app, 366))),
        ("relation", json!("neighbour")),
        ("phone", json!("12345")),
    ] {
        let mut b = body.clone();
        b[field] = bad;
        let res = app
            .post("/v1/me/proxies")
            .bearer_auth(&stepped)
            .json(&b)
            .send()
            .await
            .unwrap();
        let p = assert_problem(res, 422, "validation_failed").await;
        assert!(p.to_string().contains(field), "{field}: {p}");
    }
    let mut own = body.clone();
    own["phone"] = json!(PRINCIPAL_PHONE);
    let res = app
        .post("/v1/me/proxies")
        .bearer_auth(&stepped)
        .json(&own)
        .send()
        .await
        .unwrap();
    assert_problem(res, 422, "proxy_self").await;

    let g = grant(
        &app,
        &stepped,
        RELATIVE_PHONE,
        &["pay_premiums", "read_records"],
        &in_days(&app, 30),
    )
    .await;
    assert_eq!(g["status"], "invited");
    assert_eq!(g["scopes"], json!(["read_records", "pay_premiums"]));
    assert_eq!(g["holder_phone"], "+86 139****9001");
    let id = g["id"].as_str().unwrap().to_owned();

    // The relative sees the invitation, masked, and accepts it: the same id on both sides.
    let inv = app.get_ok(&relative, "/v1/me/proxy-invitations").await;
    assert_eq!(inv["items"].as_array().unwrap().len(), 1, "{inv}");
    let item = &inv["items"][0];
    assert_eq!(item["id"], id.as_str());
    assert_eq!(item["principal"]["name"], "王*");
    assert_eq!(item["principal"]["national_id"], "440***********1089");
    assert_eq!(item["relation"], "child");
    // No token before accepting.
    let res = app
        .post(&format!("/v1/me/proxies/{id}/token"))
        .bearer_auth(&relative)
        .send()
        .await
        .unwrap();
    assert_problem(res, 404, "grant_not_active").await;
    let accepted = accept(&app, &relative, &id).await;
    assert_eq!(accepted["status"], "active");
    assert_eq!(accepted["id"], id.as_str());
    let given = app.get_ok(&plain, "/v1/me/proxies").await;
    assert_eq!(given["items"][0]["id"], id.as_str());
    assert_eq!(given["items"][0]["status"], "active");
    let held = app.get_ok(&relative, "/v1/me/proxies?role=holder").await;
    assert_eq!(held["items"][0]["id"], id.as_str());
    assert_eq!(
        app.get_ok(&relative, "/v1/me/proxies").await["items"],
        json!([])
    );
    assert!(
        app.get_ok(&relative, "/v1/me/proxy-invitations").await["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // A token taken without the relative's step-up reads, but does not pay.
    let unstepped = access(&proxy_token(&app, &relative, &id).await);
    let payables = app.get_ok(&unstepped, "/v1/me/payables").await;
    let payable = payables["items"][0]["id"].as_str().unwrap().to_owned();
    let res = app
        .post("/v1/me/payments")
        .bearer_auth(&unstepped)
        .header("Idempotency-Key", "proxy-pay-0000")
        .json(&json!({"payables": [payable], "channel": "wechat"}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 403, "step_up_required").await;
    // The relative steps up (their own phone) before taking the token that pays.
    let relative_stepped = app.step_up(&relative, RELATIVE_PHONE).await;
    let t = proxy_token(&app, &relative_stepped, &id).await;
    assert_eq!(t["expires_in"], 900);
    assert_eq!(t["scope"], "read_records pay_premiums");
    let token = access(&t);

    // Reads the principal's records (the same as the principal sees).
    let mine = app.get_ok(&plain, "/v1/me/contributions").await;
    let theirs = app
        .client
        .get(app.url("/v1/me/contributions"))
        .bearer_auth(&token)
        .header("User-Agent", "RelativePhone/1.0")
        .send()
        .await
        .unwrap();
    assert_eq!(theirs.status(), 200);
    assert_eq!(theirs.json::<Value>().await.unwrap(), mine);
    // Pays a month.
    let res = app
        .post("/v1/me/payments")
        .bearer_auth(&token)
        .header("Idempotency-Key", "proxy-pay-0001")
        .json(&json!({"payables": [payable], "channel": "wechat"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    // The same key again is the same action: one SMS.
    let res = app
        .post("/v1/me/payments")
        .bearer_auth(&token)
        .header("Idempotency-Key", "proxy-pay-0001")
        .json(&json!({"payables": [payable], "channel": "wechat"}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());

    // Outside the scopes, and what no proxy may do.
    let refused = [
        (
            "POST",
            "/v1/me/applications",
            json!({"kind": "unemployment_benefit", "data": {}}),
        ),
        ("POST", "/v1/me/binding", json!({})),
        ("DELETE", "/v1/me/binding", json!({})),
        ("POST", "/v1/me/step-up", json!({"sms_code": "123456"})),
        ("POST", "/v1/me/totp", json!({})),
        ("GET", "/v1/me/sessions", json!({})),
        ("GET", "/v1/me", json!({})),
        (
            "POST",
            "/v1/me/proxies",
            json!({"phone": STRANGER_PHONE, "relation": "child", "scopes": ["apply"], "expires_at": in_days(&app, 3)}),
        ),
        ("GET", "/v1/me/proxy-activity", json!({})),
        ("POST", &format!("/v1/me/proxies/{id}/token"), json!({})),
    ];
    for (method, path, body) in &refused {
        let res = app
            .client
            .request(method.parse().unwrap(), app.url(path))
            .bearer_auth(&token)
            .header("Idempotency-Key", "proxy-refused-1")
            .json(body)
            .send()
            .await
            .unwrap();
        assert_problem(res, 403, "scope_denied").await;
    }

    // The principal sees every action, newest first, with who and from which device.
    let activity = app.get_ok(&plain, "/v1/me/proxy-activity").await;
    let items = activity["items"].as_array().unwrap();
    // Contributions, payables, the refused payment, two payments, and the refusals.
    assert_eq!(items.len(), 5 + refused.len(), "{activity}");
    let last = &items[0];
    assert_eq!(last["route"], "/v1/me/proxies/{id}/token");
    assert_eq!(last["status"], 403);
    let oldest = items.last().unwrap();
    assert_eq!(oldest["method"], "GET");
    assert_eq!(oldest["route"], "/v1/me/payables");
    assert_eq!(oldest["status"], 200);
    let read = &items[items.len() - 3];
    assert_eq!(read["route"], "/v1/me/contributions");
    assert_eq!(read["device"], "RelativePhone/1.0");
    assert_eq!(oldest["holder_phone"], "+86 139****9001");
    assert_eq!(oldest["relation"], "child");
    assert_eq!(oldest["grant_id"], id.as_str());
    let paid: Vec<&Value> = items
        .iter()
        .filter(|a| a["route"] == "/v1/me/payments" && a["method"] == "POST")
        .collect();
    assert_eq!(paid.len(), 3);
    assert_eq!(paid[2]["status"], 403);
    // Paginated.
    let first = app.get_ok(&plain, "/v1/me/proxy-activity?limit=3").await;
    assert_eq!(first["items"].as_array().unwrap().len(), 3);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = app
        .get_ok(
            &plain,
            &format!("/v1/me/proxy-activity?limit=3&cursor={cursor}"),
        )
        .await;
    assert_eq!(second["items"][0]["id"], items[3]["id"]);
    // The relative's own access log shows what they did, for whom.
    let log = app.get_ok(&relative, "/v1/me/access-log").await;
    let logged = log["items"].as_array().unwrap();
    assert_eq!(logged.len(), items.len(), "{log}");
    assert_eq!(logged[0]["action"], "proxy.request");
    assert_eq!(logged[0]["staff_id"], Value::Null);
    assert_eq!(logged[0]["proxy"]["for_name"], "王*");
    assert_eq!(logged[0]["proxy"]["route"], "/v1/me/proxies/{id}/token");
    assert_eq!(logged[0]["proxy"]["grant_id"], id.as_str());
    let page = app.get_ok(&relative, "/v1/me/access-log?limit=4").await;
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest = app
        .get_ok(
            &relative,
            &format!("/v1/me/access-log?limit=100&cursor={cursor}"),
        )
        .await;
    assert_eq!(
        rest["items"].as_array().unwrap().len(),
        items.len() - 4,
        "{rest}"
    );
    // The principal's own log has no such entries: they acted for nobody.
    let principal_log = app.get_ok(&plain, "/v1/me/access-log").await;
    assert!(principal_log["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e.get("proxy").is_none()));
    // Nobody else sees it.
    let stranger = access(&app.register(STRANGER_PHONE).await);
    assert_eq!(
        app.get_ok(&stranger, "/v1/me/proxy-activity").await["items"],
        json!([])
    );

    // One SMS for the payment (queued through the jobs), none for the reads.
    let mut conn = app.db.connect();
    let keys: Vec<Option<String>> = jobs::table
        .filter(jobs::dedupe_key.like(format!("sms:event:proxy:{id}:%")))
        .select(jobs::dedupe_key)
        .load(&mut conn)
        .unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let payload: String = jobs::table
        .filter(jobs::dedupe_key.like(format!("sms:event:proxy:{id}:%")))
        .select(jobs::payload)
        .first(&mut conn)
        .unwrap();
    assert!(payload.contains("亲情代办"), "{payload}");
    assert!(payload.contains("缴费"), "{payload}");
    // The audit log says who acted for the principal.
    let relative_id = app.get_ok(&relative, "/v1/me").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let actions: Vec<String> = audit_log::table
        .filter(audit_log::reason.eq(format!("proxy: account {relative_id} under grant {id}")))
        .select(audit_log::action)
        .load(&mut conn)
        .unwrap();
    assert!(
        actions.iter().any(|a| a.starts_with("payment.")),
        "{actions:?}"
    );
}

#[tokio::test]
async fn revocation_bites_at_once_and_an_expired_grant_refuses() {
    let app = demo().await;
    let (plain, stepped) = principal(&app).await;
    let relative = access(&app.register(RELATIVE_PHONE).await);
    let (id, token) = acting(&app, &stepped, &relative, &["read_records"]).await;
    app.get_ok(&token, "/v1/me/contributions").await;

    let res = app
        .client
        .delete(app.url(&format!("/v1/me/proxies/{id}")))
        .bearer_auth(&plain)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let revoked: Value = res.json().await.unwrap();
    assert_eq!(revoked["status"], "revoked");
    // The very next request with the same token is refused, and no new token is given.
    let res = app
        .get("/v1/me/contributions")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "unauthorized").await;
    let res = app
        .post(&format!("/v1/me/proxies/{id}/token"))
        .bearer_auth(&relative)
        .send()
        .await
        .unwrap();
    assert_problem(res, 404, "grant_not_active").await;
    // The refused try is on the record too.
    let activity = app.get_ok(&plain, "/v1/me/proxy-activity").await;
    assert_eq!(activity["items"][0]["status"], 401);

    // The holder may give a grant up.
    let (id2, token2) = acting(&app, &stepped, &relative, &["read_records"]).await;
    let res = app
        .client
        .delete(app.url(&format!("/v1/me/proxies/{id2}")))
        .bearer_auth(&relative)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = app
        .get("/v1/me/contributions")
        .bearer_auth(&token2)
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "unauthorized").await;

    // A grant that ends in ten minutes gives a token that ends with it, and refuses after.
    let stepped = app.step_up(&plain, PRINCIPAL_PHONE).await;
    let ends = (app.clock.now() + Duration::minutes(10)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let g = grant(&app, &stepped, RELATIVE_PHONE, &["read_records"], &ends).await;
    let id3 = g["id"].as_str().unwrap().to_owned();
    accept(&app, &relative, &id3).await;
    let t = proxy_token(&app, &relative, &id3).await;
    assert_eq!(t["expires_in"], 600);
    app.clock.advance(Duration::minutes(10));
    let res = app
        .get("/v1/me/contributions")
        .bearer_auth(access(&t))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = app
        .post(&format!("/v1/me/proxies/{id3}/token"))
        .bearer_auth(&relative)
        .send()
        .await
        .unwrap();
    assert_problem(res, 404, "grant_not_active").await;
    let given = app.get_ok(&plain, "/v1/me/proxies").await;
    assert_eq!(given["items"][0]["id"], id3.as_str());
    assert_eq!(given["items"][0]["status"], "expired");
    assert_eq!(given["items"][1]["status"], "revoked");
}

#[tokio::test]
async fn a_stranger_can_neither_see_nor_accept_nor_use_someone_elses_invitation() {
    let app = demo().await;
    let (plain, stepped) = principal(&app).await;
    let relative = access(&app.register(RELATIVE_PHONE).await);
    let stranger = access(&app.register(STRANGER_PHONE).await);
    let g = grant(
        &app,
        &stepped,
        RELATIVE_PHONE,
        &["read_records"],
        &in_days(&app, 30),
    )
    .await;
    let id = g["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.get_ok(&stranger, "/v1/me/proxy-invitations").await["items"],
        json!([])
    );
    for (method, path, status, code) in [
        (
            "POST",
            format!("/v1/me/proxy-invitations/{id}/accept"),
            404,
            "invitation_not_found",
        ),
        (
            "POST",
            format!("/v1/me/proxy-invitations/{}/accept", uuid::Uuid::now_v7()),
            404,
            "invitation_not_found",
        ),
        (
            "POST",
            "/v1/me/proxy-invitations/not-a-uuid/accept".to_owned(),
            404,
            "invitation_not_found",
        ),
        (
            "DELETE",
            format!("/v1/me/proxies/{id}"),
            404,
            "grant_not_found",
        ),
        (
            "POST",
            format!("/v1/me/proxies/{id}/token"),
            404,
            "grant_not_active",
        ),
    ] {
        let res = app
            .client
            .request(method.parse().unwrap(), app.url(&path))
            .bearer_auth(&stranger)
            .send()
            .await
            .unwrap();
        assert_problem(res, status, code).await;
    }
    // The principal cannot accept their own invitation either.
    let res = app
        .post(&format!("/v1/me/proxy-invitations/{id}/accept"))
        .bearer_auth(&plain)
        .send()
        .await
        .unwrap();
    assert_problem(res, 404, "invitation_not_found").await;
    // The invitee still can; accepting twice is not found the second time.
    accept(&app, &relative, &id).await;
    let res = app
        .post(&format!("/v1/me/proxy-invitations/{id}/accept"))
        .bearer_auth(&relative)
        .send()
        .await
        .unwrap();
    assert_problem(res, 404, "invitation_not_found").await;
    // A principal's revoked invitation disappears from the list.
    let g2 = grant(
        &app,
        &stepped,
        STRANGER_PHONE,
        &["apply"],
        &in_days(&app, 3),
    )
    .await;
    let id2 = g2["id"].as_str().unwrap();
    assert_eq!(
        app.get_ok(&stranger, "/v1/me/proxy-invitations").await["items"][0]["id"],
        id2
    );
    let res = app
        .client
        .delete(app.url(&format!("/v1/me/proxies/{id2}")))
        .bearer_auth(&plain)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        app.get_ok(&stranger, "/v1/me/proxy-invitations").await["items"],
        json!([])
    );
}

#[tokio::test]
async fn the_token_has_the_rfc8693_shape_and_verifies_against_the_jwks() {
    let app = demo().await;
    let (plain, stepped) = principal(&app).await;
    let relative_pair = app.register(RELATIVE_PHONE).await;
    let relative = access(&relative_pair);
    let (id, token) = acting(&app, &stepped, &relative, &["apply", "read_records"]).await;
    let me = app.get_ok(&plain, "/v1/me").await;
    let relative_me = app.get_ok(&relative, "/v1/me").await;

    let jwks: Value = app
        .get("/.well-known/jwks.json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = &jwks["keys"][0];
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.kid.as_deref(), key["kid"].as_str());
    let decoding =
        jsonwebtoken::DecodingKey::from_ed_components(key["x"].as_str().unwrap()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    // The test clock is not the wall clock: the times are checked below.
    validation.validate_exp = false;
    validation.set_audience(&["shebao:app"]);
    validation.set_required_spec_claims(&["exp", "sub", "aud", "iss"]);
    let claims = jsonwebtoken::decode::<Value>(&token, &decoding, &validation)
        .unwrap()
        .claims;
    assert_eq!(claims, payload(&token));
    assert_eq!(claims["sub"], me["id"]);
    assert_eq!(claims["act"], json!({"sub": relative_me["id"]}));
    assert_eq!(claims["scope"], "read_records apply");
    assert_eq!(claims["grant_id"], id.as_str());
    let now = app.clock.now().timestamp();
    assert_eq!(claims["iat"], now);
    assert_eq!(claims["exp"], now + 900);
    assert!(claims.get("step_up_until").is_none());
    // A token tampered with (another scope) is refused.
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut forged = claims.clone();
    forged["scope"] = json!("read_records pay_premiums apply");
    parts[1] = {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(forged.to_string())
    };
    let res = app
        .get("/v1/me/payables")
        .bearer_auth(parts.join("."))
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "unauthorized").await;
    // The token dies with the relative's session.
    let res = app
        .post("/v1/auth/logout")
        .bearer_auth(&relative)
        .json(&json!({"refresh_token": relative_pair["refresh_token"]}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let res = app
        .get("/v1/me/contributions")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "unauthorized").await;
}

/// Puts a made-up value in each `{param}` of a route.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            if seg.starts_with('{') {
                uuid::Uuid::now_v7().to_string()
            } else {
                seg.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn every_person_route_is_mapped_to_a_scope_or_refused_to_a_proxy() {
    let app = demo().await;
    let (_, stepped) = principal(&app).await;
    let relative = access(&app.register(RELATIVE_PHONE).await);
    let (_, all) = acting(
        &app,
        &stepped,
        &relative,
        &["read_records", "pay_premiums", "apply"],
    )
    .await;
    let (_, reads) = acting(&app, &stepped, &relative, &["read_records"]).await;
    let (_, pays) = acting(&app, &stepped, &relative, &["pay_premiums"]).await;
    let spec: Value = app
        .get("/openapi.json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut refused = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        if !path.starts_with("/v1/me") {
            continue;
        }
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_none() {
                continue;
            }
            let upper = method.to_uppercase();
            seen.push((upper.clone(), path.clone()));
            // Unmapped: refused even to a token with every scope. Mapped: refused to a token
            // without the route's scope.
            let token = match scope_for(&upper, path) {
                None => {
                    refused += 1;
                    &all
                }
                Some(ProxyScope::ReadRecords) => &pays,
                Some(_) => &reads,
            };
            let res = app
                .client
                .request(upper.parse().unwrap(), app.url(&concrete(path)))
                .bearer_auth(token)
                .header("Idempotency-Key", "route-table-0001")
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            let status = res.status();
            let body: Value = res.json().await.unwrap();
            assert_eq!(
                (status.as_u16(), body["code"].as_str()),
                (403, Some("scope_denied")),
                "{upper} {path}: {body}"
            );
        }
    }
    // Every route of the table is a route of the document.
    for (m, p, _) in ROUTE_SCOPES {
        assert!(
            seen.iter().any(|(sm, sp)| sm == m && sp == p),
            "{m} {p} is in the table but not in the document"
        );
    }
    assert!(refused >= 20, "{refused}");
    assert!(seen.len() >= ROUTE_SCOPES.len() + refused);
}

/// The newest code texted to `phone` about proxy access, once it has come (30 s at most).
async fn proxy_code(app: &TestApp, phone: &str, nth: usize) -> String {
    let started = std::time::Instant::now();
    loop {
        let bodies: Vec<String> = app
            .sms_messages(phone)
            .await
            .iter()
            .filter_map(|m| m["body"].as_str())
            .filter(|b| b.contains("亲情代办"))
            .map(str::to_owned)
            .collect();
        if bodies.len() >= nth {
            return bodies[0]
                .split(|c: char| !c.is_ascii_digit())
                .find(|w| w.len() == 6)
                .unwrap()
                .to_owned();
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "no code came to {phone}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn ask(app: &TestApp, token: &str, national_id: &str, name: &str) -> reqwest::Response {
    app.post("/v1/me/proxy-requests")
        .bearer_auth(token)
        .json(&json!({"national_id": national_id, "name": name, "scopes": ["read_records"], "relation": "child"}))
        .send()
        .await
        .unwrap()
}

async fn confirm(app: &TestApp, token: &str, id: &str, code: &str) -> reqwest::Response {
    app.post(&format!("/v1/me/proxy-requests/{id}/confirm"))
        .bearer_auth(token)
        .json(&json!({ "code": code }))
        .send()
        .await
        .unwrap()
}

async fn asked(app: &TestApp, token: &str, national_id: &str, name: &str) -> Value {
    app.clock.advance(Duration::seconds(61));
    let res = ask(app, token, national_id, name).await;
    assert_eq!(res.status(), 202, "{}", res.text().await.unwrap());
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["expires_in"], 300);
    assert_eq!(body.as_object().unwrap().len(), 2, "{body}");
    body
}

#[tokio::test]
async fn the_assisted_path_works_only_with_the_principals_code() {
    let app = demo().await;
    let (plain, _) = principal(&app).await;
    let relative = access(&app.register(RELATIVE_PHONE).await);
    let stranger = access(&app.register(STRANGER_PHONE).await);

    // The same answer whether the ID number is unknown, the name wrong, or both match.
    let unknown = shebao_domain::identity::NationalId::from_parts(
        "110101",
        chrono::NaiveDate::from_ymd_opt(1951, 2, 3).unwrap(),
        999,
    )
    .unwrap();
    let nobody = asked(&app, &relative, unknown.expose(), "无此人").await;
    let wrong_name = asked(&app, &relative, WANG.0, "王方").await;
    let req = asked(&app, &relative, WANG.0, WANG.1).await;
    let id = req["id"].as_str().unwrap().to_owned();
    // Once a minute.
    let res = ask(&app, &relative, WANG.0, WANG.1).await;
    let p = assert_problem(res, 429, "sms_cooldown").await;
    assert!(p["detail"].as_str().is_some());
    // Only the matching request texted the principal, once.
    let code = proxy_code(&app, PRINCIPAL_PHONE, 1).await;
    assert_eq!(
        app.sms_messages(PRINCIPAL_PHONE)
            .await
            .iter()
            .filter(|m| m["body"].as_str().unwrap().contains("亲情代办"))
            .count(),
        1
    );
    // No code confirms a request that matched nobody, the principal's included.
    for other in [&nobody, &wrong_name] {
        let res = confirm(&app, &relative, other["id"].as_str().unwrap(), &code).await;
        assert_problem(res, 422, "proxy_code_invalid").await;
    }
    // Someone else's request is not found, even with the right code.
    let res = confirm(&app, &stranger, &id, &code).await;
    assert_problem(res, 404, "proxy_request_not_found").await;
    // A code of the relative's own phone is not the principal's.
    let own = app.sms_code(RELATIVE_PHONE, "login").await;
    let res = confirm(&app, &relative, &id, &own).await;
    assert_problem(res, 422, "proxy_code_invalid").await;
    let res = confirm(&app, &relative, &id, "12ab").await;
    assert_problem(res, 422, "validation_failed").await;

    // The principal's code makes the grant active at once.
    let res = confirm(&app, &relative, &id, &code).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let g: Value = res.json().await.unwrap();
    assert_eq!(g["status"], "active");
    assert_eq!(g["scopes"], json!(["read_records"]));
    assert_eq!(g["relation"], "child");
    assert_eq!(g["principal"]["name"], "王*");
    assert_eq!(g["holder_phone"], "+86 139****9001");
    // Once.
    let res = confirm(&app, &relative, &id, &code).await;
    assert_problem(res, 422, "proxy_code_invalid").await;
    let gid = g["id"].as_str().unwrap();
    assert_eq!(
        app.get_ok(&plain, "/v1/me/proxies").await["items"][0]["id"],
        gid
    );
    let token = access(&proxy_token(&app, &relative, gid).await);
    app.get_ok(&token, "/v1/me/contributions").await;

    // A code expires after five minutes.
    let late = asked(&app, &relative, WANG.0, WANG.1).await;
    let code = proxy_code(&app, PRINCIPAL_PHONE, 2).await;
    app.clock.advance(Duration::seconds(301));
    let res = confirm(&app, &relative, late["id"].as_str().unwrap(), &code).await;
    assert_problem(res, 422, "proxy_code_invalid").await;

    // Five wrong tries spend the request: the right code is refused after them.
    let tried = asked(&app, &relative, WANG.0, WANG.1).await;
    let tried_id = tried["id"].as_str().unwrap();
    let code = proxy_code(&app, PRINCIPAL_PHONE, 3).await;
    let wrong = if code == "000000" { "000001" } else { "000000" };
    for _ in 0..5 {
        let res = confirm(&app, &relative, tried_id, wrong).await;
        assert_problem(res, 422, "proxy_code_invalid").await;
    }
    let res = confirm(&app, &relative, tried_id, &code).await;
    assert_problem(res, 422, "proxy_code_invalid").await;
}

#[tokio::test]
async fn an_application_made_by_a_relative_texts_the_principal() {
    let app = demo().await;
    let (_, stepped) = bound(&app, PRINCIPAL_PHONE, ZHANG).await;
    let relative = access(&app.register(RELATIVE_PHONE).await);
    let (id, token) = acting(&app, &stepped, &relative, &["apply"]).await;
    let res = app
        .post("/v1/me/applications")
        .bearer_auth(&token)
        .header("Idempotency-Key", "proxy-apply-01")
        .json(&json!({"kind": "unemployment_benefit", "data": {"reason": "contract_ended", "last_day": "2026-10-31"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let list = app.get_ok(&token, "/v1/me/applications").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    let res = app
        .get("/v1/me/contributions")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_problem(res, 403, "scope_denied").await;

    // The principal's phone gets the text (through the jobs), naming the relative, masked.
    let started = std::time::Instant::now();
    let text = loop {
        let found = app
            .sms_messages(PRINCIPAL_PHONE)
            .await
            .iter()
            .filter_map(|m| m["body"].as_str().map(str::to_owned))
            .find(|b| b.contains("亲情代办"));
        if let Some(t) = found {
            break t;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(30));
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(text.contains("业务办理"), "{text}");
    assert!(text.contains("+86 139****9001"), "{text}");
    // Once: the read of the list and the refusal text nothing.
    let mut conn = app.db.connect();
    let queued: i64 = jobs::table
        .filter(jobs::dedupe_key.like(format!("sms:event:proxy:{id}:%")))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(queued, 1);
}
