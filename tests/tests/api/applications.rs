//! Applications end to end: the person applies, the caseworker moves the application along the
//! state machine, approval changes the records (benefits, region, medical filings), rejection
//! carries a reason and changes nothing; every invalid transition, withdrawal, documents by
//! content, idempotency, concurrency, and who may see what (BOLA, regions).

use chrono::{NaiveDate, Utc};
use serde_json::{json, Value};
use shebao_domain::identity::Gender;
use shebao_domain::retirement::{allowed_retirement_window, RetirementCategory};
use shebao_domain::staff::{StaffRole, Username};
use shebao_infra::db::DbConnection;
use shebao_infra::registry::staff;
use shebao_tests::{assert_problem, spawn_app_with, TestApp, TestOptions, STAFF_PASSWORD};

/// 张伟: Shenzhen (440300), employed since 2014-01: over ten years of unemployment insurance.
pub(crate) const ZHANG: (&str, &str, &str) = ("440300198603120277", "张伟", "A44030000001");
/// 李娜: Shenzhen too.
pub(crate) const LI: (&str, &str, &str) = ("440300199007010420", "李娜", "A44030000002");
/// 周杰: Beijing (110000), a man born 1969-08-08.
pub(crate) const ZHOU: (&str, &str, &str) = ("110000196908080091", "周杰", "A11000000009");

pub(crate) async fn demo() -> TestApp {
    spawn_app_with(TestOptions {
        demo_seed: true,
        env: vec![("SHEBAO_ACCESS_TOKEN_TTL_SECS", "3600".into())],
        ..Default::default()
    })
    .await
}

/// Registers `phone`, binds `who`; returns (plain token, stepped-up token).
pub(crate) async fn bound(app: &TestApp, phone: &str, who: (&str, &str, &str)) -> (String, String) {
    let a = app.register_and_bind(phone, who).await;
    (a.access, a.stepped)
}

/// A staff account of `role` serving `region` (as `create-staff --region`), signed in.
pub(crate) async fn staff_in(
    app: &TestApp,
    name: &str,
    role: StaffRole,
    region: Option<&str>,
) -> String {
    let id = app.create_staff(name, role).await;
    if let Some(region) = region {
        let mut conn = DbConnection::open(&app.db.url).unwrap();
        assert!(staff::set_region(&mut conn, id, Some(region), Utc::now().naive_utc()).unwrap());
    }
    let _ = Username::parse(name).unwrap();
    let res = app.login(name, STAFF_PASSWORD).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

async fn apply(
    app: &TestApp,
    token: &str,
    key: &str,
    kind: &str,
    data: Value,
) -> reqwest::Response {
    app.post("/v1/me/applications")
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(&json!({"kind": kind, "data": data}))
        .send()
        .await
        .unwrap()
}

pub(crate) async fn applied(
    app: &TestApp,
    token: &str,
    key: &str,
    kind: &str,
    data: Value,
) -> Value {
    let res = apply(app, token, key, kind, data).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    res.json().await.unwrap()
}

async fn transition(app: &TestApp, staff: &str, id: &str, body: Value) -> reqwest::Response {
    app.post(&format!("/v1/staff/applications/{id}/transitions"))
        .bearer_auth(staff)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn moved(app: &TestApp, staff: &str, id: &str, body: Value) -> Value {
    let res = transition(app, staff, id, body).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    res.json().await.unwrap()
}

fn statuses(app: &Value) -> Vec<(String, String)> {
    app["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["status"].as_str().unwrap().to_owned(),
                e["actor_role"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

pub(crate) fn unemployment() -> Value {
    json!({"reason": "contract_ended", "last_day": "2026-10-31"})
}

/// The application notices texted to `phone`, once `expected` have come (they are event
/// messages: the jobs of the server under test send them), or whatever came in 30 s.
async fn notices(app: &TestApp, phone: &str, expected: usize) -> Vec<String> {
    let started = std::time::Instant::now();
    loop {
        let texts: Vec<String> = app
            .sms_messages(phone)
            .await
            .iter()
            .filter_map(|m| m["body"].as_str())
            .filter(|b| b.contains("申请"))
            .map(str::to_owned)
            .collect();
        if texts.len() >= expected || started.elapsed() > std::time::Duration::from_secs(30) {
            return texts;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn unemployment_benefit_approved_at_the_regions_rate_shows_in_benefits() {
    let app = demo().await;
    let phone = "+8613800000101";
    let (token, _) = bound(&app, phone, ZHANG).await;
    let before = app.get_ok(&token, "/v1/me/benefits").await;
    assert_eq!(before["awards"], json!([]));
    let a = applied(
        &app,
        &token,
        "unemp-key-1",
        "unemployment_benefit",
        unemployment(),
    )
    .await;
    assert_eq!(a["status"], "submitted");
    assert_eq!(a["kind"], "unemployment_benefit");
    assert_eq!(a["region"], "440300");
    assert_eq!(a["data"], unemployment());
    assert_eq!(statuses(&a), [("submitted".into(), "person".into())]);
    assert!(a["next_step"].as_str().is_some_and(|s| !s.is_empty()));
    let id = a["id"].as_str().unwrap();

    // The admin sets the region's monthly rate; the approval records it.
    let admin = staff_in(&app, "admin1", StaffRole::Admin, None).await;
    let res = app
        .client
        .put(app.url("/v1/staff/regions/440300/service-parameters/2026"))
        .bearer_auth(&admin)
        .json(&json!({"unemployment_benefit_monthly_fen": 225_000}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());

    let cw = staff_in(&app, "cw440300", StaffRole::Caseworker, Some("440300")).await;
    let list = app
        .get_ok(
            &cw,
            "/v1/staff/applications?status=submitted&kind=unemployment_benefit",
        )
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["id"], id);
    moved(&app, &cw, id, json!({"to": "in_review"})).await;
    let done = moved(&app, &cw, id, json!({"to": "approved", "note": "材料齐全"})).await;
    assert_eq!(done["status"], "approved");
    // Over ten years of contributions: 24 months, from the month after the last day.
    assert_eq!(
        done["decision"],
        json!({"approved": true, "months": 24, "monthly_amount_fen": 225_000, "starts": "2026-11"})
    );
    let mine = app
        .get_ok(&token, &format!("/v1/me/applications/{id}"))
        .await;
    assert_eq!(
        statuses(&mine),
        [
            ("submitted".into(), "person".into()),
            ("in_review".into(), "caseworker".into()),
            ("approved".into(), "caseworker".into()),
        ]
    );
    assert_eq!(mine["timeline"][2]["note"], "材料齐全");
    assert_eq!(mine["decision"], done["decision"]);

    let after = app.get_ok(&token, "/v1/me/benefits").await;
    let awards = after["awards"].as_array().unwrap();
    assert_eq!(awards.len(), 1, "{after}");
    assert_eq!(awards[0]["kind"], "unemployment");
    assert_eq!(awards[0]["months"], 24);
    assert_eq!(awards[0]["monthly_amount_fen"], 225_000);
    assert_eq!(awards[0]["application_id"], id);
    assert_eq!(after["unemployment"]["months_left"], 24);

    // One text per transition.
    let texts = notices(&app, phone, 2).await;
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(texts.iter().any(|t| t.contains("已批准")), "{texts:?}");
    assert!(texts.iter().any(|t| t.contains("审核中")), "{texts:?}");

    // The person's list, newest first.
    let list = app.get_ok(&token, "/v1/me/applications").await;
    assert_eq!(list["items"][0]["id"], id);
    assert_eq!(list["items"][0]["status"], "approved");
}

#[tokio::test]
async fn resigning_is_refused_and_a_rejection_needs_a_reason_and_changes_nothing() {
    let app = demo().await;
    let (token, _) = bound(&app, "+8613800000102", ZHANG).await;
    let res = apply(
        &app,
        &token,
        "resign-key-1",
        "unemployment_benefit",
        json!({"reason": "resigned", "last_day": "2026-10-31"}),
    )
    .await;
    let body = assert_problem(res, 422, "not_eligible").await;
    assert!(body["detail"].as_str().unwrap().contains("辞职"), "{body}");

    // The shape of data is checked, fields named under `data`.
    let res = apply(
        &app,
        &token,
        "resign-key-2",
        "unemployment_benefit",
        json!({"reason": "contract_ended"}),
    )
    .await;
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "data.last_day", "{body}");
    let res = apply(
        &app,
        &token,
        "resign-key-3",
        "unemployment_benefit",
        json!({"reason": "contract_ended", "last_day": "2099-01-01"}),
    )
    .await;
    assert_problem(res, 422, "validation_failed").await;

    let a = applied(
        &app,
        &token,
        "reject-key-1",
        "unemployment_benefit",
        unemployment(),
    )
    .await;
    let id = a["id"].as_str().unwrap();
    let cw = staff_in(&app, "cw1", StaffRole::Caseworker, Some("440300")).await;
    moved(&app, &cw, id, json!({"to": "in_review"})).await;
    let res = transition(&app, &cw, id, json!({"to": "rejected"})).await;
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "note");
    let done = moved(
        &app,
        &cw,
        id,
        json!({"to": "rejected", "note": "单位已为您办理续签，劳动合同未终止"}),
    )
    .await;
    assert_eq!(done["status"], "rejected");
    assert_eq!(
        done["decision"],
        json!({"approved": false, "reason": "单位已为您办理续签，劳动合同未终止"})
    );
    let after = app.get_ok(&token, "/v1/me/benefits").await;
    assert_eq!(after["awards"], json!([]));
    // Decided: a new application of the kind may be made.
    applied(
        &app,
        &token,
        "reject-key-2",
        "unemployment_benefit",
        unemployment(),
    )
    .await;
}

#[tokio::test]
async fn every_invalid_transition_is_refused_and_the_person_withdraws_while_open() {
    let app = demo().await;
    let (token, _) = bound(&app, "+8613800000103", ZHANG).await;
    let cw = staff_in(&app, "cw2", StaffRole::Caseworker, None).await;
    let a = applied(
        &app,
        &token,
        "inval-key-1",
        "unemployment_benefit",
        unemployment(),
    )
    .await;
    let id = a["id"].as_str().unwrap().to_owned();

    // One open application per kind, named.
    let res = apply(
        &app,
        &token,
        "inval-key-2",
        "unemployment_benefit",
        unemployment(),
    )
    .await;
    let body = assert_problem(res, 409, "application_open").await;
    assert!(body["detail"].as_str().unwrap().contains(&id), "{body}");

    // From submitted the staff may only take it in review.
    for to in [
        "submitted",
        "approved",
        "rejected",
        "needs_more_info",
        "resubmitted",
        "withdrawn",
    ] {
        let res = transition(
            &app,
            &cw,
            &id,
            json!({"to": to, "note": "n", "missing": ["x"]}),
        )
        .await;
        assert_problem(res, 409, "invalid_transition").await;
    }
    // The person cannot resubmit what was not sent back.
    let res = app
        .post(&format!("/v1/me/applications/{id}/resubmit"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_problem(res, 409, "invalid_transition").await;
    moved(&app, &cw, &id, json!({"to": "in_review"})).await;
    for to in ["submitted", "in_review", "resubmitted", "withdrawn"] {
        let res = transition(&app, &cw, &id, json!({"to": to, "note": "n"})).await;
        assert_problem(res, 409, "invalid_transition").await;
    }

    // Withdrawn while in review; then nothing moves it.
    let res = app
        .post(&format!("/v1/me/applications/{id}/withdraw"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let w: Value = res.json().await.unwrap();
    assert_eq!(w["status"], "withdrawn");
    assert_eq!(w["timeline"][2]["actor_role"], "person");
    let res = app
        .post(&format!("/v1/me/applications/{id}/withdraw"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_problem(res, 409, "invalid_transition").await;
    for to in ["in_review", "approved", "rejected", "needs_more_info"] {
        let res = transition(
            &app,
            &cw,
            &id,
            json!({"to": to, "note": "n", "missing": ["x"]}),
        )
        .await;
        assert_problem(res, 409, "invalid_transition").await;
    }
    // A decided application cannot be withdrawn either.
    let b = applied(
        &app,
        &token,
        "inval-key-3",
        "unemployment_benefit",
        unemployment(),
    )
    .await;
    let bid = b["id"].as_str().unwrap();
    moved(&app, &cw, bid, json!({"to": "in_review"})).await;
    moved(&app, &cw, bid, json!({"to": "approved"})).await;
    let res = app
        .post(&format!("/v1/me/applications/{bid}/withdraw"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_problem(res, 409, "invalid_transition").await;
    for to in [
        "in_review",
        "approved",
        "rejected",
        "needs_more_info",
        "withdrawn",
    ] {
        let res = transition(
            &app,
            &cw,
            bid,
            json!({"to": to, "note": "n", "missing": ["x"]}),
        )
        .await;
        assert_problem(res, 409, "invalid_transition").await;
    }
}

const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

async fn upload(
    app: &TestApp,
    token: &str,
    id: &str,
    ct: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    app.post(&format!("/v1/me/applications/{id}/documents"))
        .bearer_auth(token)
        .header("Content-Type", ct)
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn more_information_documents_by_content_and_resubmission() {
    let app = demo().await;
    let (token, _) = bound(&app, "+8613800000104", ZHANG).await;
    let cw = staff_in(&app, "cw3", StaffRole::Caseworker, Some("440300")).await;
    let a = applied(
        &app,
        &token,
        "docs-key-01",
        "unemployment_benefit",
        unemployment(),
    )
    .await;
    let id = a["id"].as_str().unwrap();
    moved(&app, &cw, id, json!({"to": "in_review"})).await;
    let res = transition(
        &app,
        &cw,
        id,
        json!({"to": "needs_more_info", "note": "缺材料"}),
    )
    .await;
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "missing");
    moved(
        &app,
        &cw,
        id,
        json!({"to": "needs_more_info", "note": "请补充", "missing": ["解除劳动合同证明"]}),
    )
    .await;
    let mine = app
        .get_ok(&token, &format!("/v1/me/applications/{id}"))
        .await;
    assert_eq!(mine["status"], "needs_more_info");
    assert_eq!(mine["missing"], json!(["解除劳动合同证明"]));

    // An image, known by its bytes, with its SHA-256.
    let res = upload(&app, &token, id, "image/png", PNG.to_vec()).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let doc: Value = res.json().await.unwrap();
    assert_eq!(doc["media_type"], "image/png");
    assert_eq!(doc["size_bytes"], PNG.len());
    assert_eq!(doc["sha256"], shebao_security::opaque::sha256_hex_of(PNG));
    // A PDF sent as octet-stream is read as a PDF.
    let res = upload(
        &app,
        &token,
        id,
        "application/octet-stream",
        b"%PDF-1.4\n%%EOF\n".to_vec(),
    )
    .await;
    assert_eq!(res.status(), 201);
    let doc: Value = res.json().await.unwrap();
    assert_eq!(doc["media_type"], "application/pdf");
    // Not an image or PDF, whatever the header says.
    let res = upload(
        &app,
        &token,
        id,
        "image/png",
        b"<html>not a picture</html>".to_vec(),
    )
    .await;
    assert_problem(res, 415, "unsupported_media_type").await;
    let res = upload(
        &app,
        &token,
        id,
        "image/gif",
        b"GIF89a\x01\0\x01\0".to_vec(),
    )
    .await;
    assert_problem(res, 415, "unsupported_media_type").await;
    // A PNG declared as a PDF contradicts its content.
    let res = upload(&app, &token, id, "application/pdf", PNG.to_vec()).await;
    assert_problem(res, 415, "unsupported_media_type").await;
    // Over 5 MB.
    let mut big = PNG.to_vec();
    big.resize(5 * 1024 * 1024 + 1, 0);
    let res = upload(&app, &token, id, "image/png", big).await;
    assert_problem(res, 413, "payload_too_large").await;
    let mut exact = PNG.to_vec();
    exact.resize(5 * 1024 * 1024, 0);
    let res = upload(&app, &token, id, "image/png", exact).await;
    assert_eq!(res.status(), 201);

    let res = app
        .post(&format!("/v1/me/applications/{id}/resubmit"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let r: Value = res.json().await.unwrap();
    assert_eq!(r["status"], "resubmitted");
    assert_eq!(r["missing"], json!([]));
    assert_eq!(r["documents"].as_array().unwrap().len(), 3);
    moved(&app, &cw, id, json!({"to": "in_review"})).await;
    let done = moved(&app, &cw, id, json!({"to": "approved"})).await;
    assert_eq!(
        statuses(&done)
            .iter()
            .map(|(s, _)| s.as_str())
            .collect::<Vec<_>>(),
        [
            "submitted",
            "in_review",
            "needs_more_info",
            "resubmitted",
            "in_review",
            "approved"
        ]
    );
    // Decided: no more documents.
    let res = upload(&app, &token, id, "image/png", PNG.to_vec()).await;
    assert_problem(res, 409, "invalid_transition").await;
}

#[tokio::test]
async fn the_same_key_answers_the_same_application_and_another_body_is_refused() {
    let app = demo().await;
    let (token, _) = bound(&app, "+8613800000105", ZHANG).await;
    let res = app
        .post("/v1/me/applications")
        .bearer_auth(&token)
        .json(&json!({"kind": "unemployment_benefit", "data": unemployment()}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 400, "idempotency_key_required").await;
    let a = applied(
        &app,
        &token,
        "same-key-01",
        "unemployment_benefit",
        unemployment(),
    )
    .await;
    let res = apply(
        &app,
        &token,
        "same-key-01",
        "unemployment_benefit",
        unemployment(),
    )
    .await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["Idempotent-Replayed"], "true");
    let again: Value = res.json().await.unwrap();
    assert_eq!(again["id"], a["id"]);
    let res = apply(
        &app,
        &token,
        "same-key-01",
        "unemployment_benefit",
        json!({"reason": "dismissed", "last_day": "2026-10-31"}),
    )
    .await;
    assert_problem(res, 422, "idempotency_key_reused").await;
    let list = app.get_ok(&token, "/v1/me/applications").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn nobody_sees_anothers_application_and_caseworkers_only_their_region() {
    let app = demo().await;
    let (zhang, _) = bound(&app, "+8613800000106", ZHANG).await;
    let (li, _) = bound(&app, "+8613800000107", LI).await;
    let a = applied(
        &app,
        &zhang,
        "bola-key-01",
        "unemployment_benefit",
        unemployment(),
    )
    .await;
    let id = a["id"].as_str().unwrap();
    let res = app
        .get(&format!("/v1/me/applications/{id}"))
        .bearer_auth(&li)
        .send()
        .await
        .unwrap();
    assert_problem(res, 404, "not_found").await;
    for action in ["withdraw", "resubmit"] {
        let res = app
            .post(&format!("/v1/me/applications/{id}/{action}"))
            .bearer_auth(&li)
            .send()
            .await
            .unwrap();
        assert_problem(res, 404, "not_found").await;
    }
    let res = upload(&app, &li, id, "image/png", PNG.to_vec()).await;
    assert_problem(res, 404, "not_found").await;
    let list = app.get_ok(&li, "/v1/me/applications").await;
    assert_eq!(list["items"], json!([]));

    // A Beijing caseworker neither sees nor decides a Shenzhen application.
    let beijing = staff_in(&app, "cwbj", StaffRole::Caseworker, Some("110000")).await;
    let list = app.get_ok(&beijing, "/v1/staff/applications").await;
    assert_eq!(list["items"], json!([]));
    let res = app
        .get("/v1/staff/applications?region=440300")
        .bearer_auth(&beijing)
        .send()
        .await
        .unwrap();
    assert_problem(res, 403, "forbidden").await;
    let res = transition(&app, &beijing, id, json!({"to": "in_review"})).await;
    assert_problem(res, 404, "not_found").await;
    // Shenzhen's caseworker and the admin do.
    let shenzhen = staff_in(&app, "cwsz", StaffRole::Caseworker, Some("440300")).await;
    let list = app.get_ok(&shenzhen, "/v1/staff/applications").await;
    assert_eq!(list["items"][0]["id"], id);
    let admin = staff_in(&app, "admin2", StaffRole::Admin, None).await;
    let list = app
        .get_ok(&admin, "/v1/staff/applications?region=440300")
        .await;
    assert_eq!(list["items"][0]["id"], id);
    let list = app
        .get_ok(&admin, "/v1/staff/applications?region=110000")
        .await;
    assert_eq!(list["items"], json!([]));
    // Persons have no staff access; staff tokens are not persons'.
    let res = app
        .get("/v1/staff/applications")
        .bearer_auth(&zhang)
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "unauthorized").await;
    let res = app
        .get("/v1/me/applications")
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "unauthorized").await;
    // Only admins set service parameters.
    let res = app
        .client
        .put(app.url("/v1/staff/regions/440300/service-parameters/2026"))
        .bearer_auth(&shenzhen)
        .json(&json!({"unemployment_benefit_monthly_fen": 1}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 403, "forbidden").await;
}

#[tokio::test]
async fn of_two_caseworkers_deciding_at_once_one_wins() {
    let app = demo().await;
    let (token, _) = bound(&app, "+8613800000108", ZHANG).await;
    let one = staff_in(&app, "cwa", StaffRole::Caseworker, Some("440300")).await;
    let two = staff_in(&app, "cwb", StaffRole::Caseworker, Some("440300")).await;
    for round in 0..3 {
        let a = applied(
            &app,
            &token,
            &format!("race-key-{round:02}"),
            "unemployment_benefit",
            unemployment(),
        )
        .await;
        let id = a["id"].as_str().unwrap();
        moved(&app, &one, id, json!({"to": "in_review"})).await;
        let (r1, r2) = tokio::join!(
            transition(&app, &one, id, json!({"to": "approved"})),
            transition(
                &app,
                &two,
                id,
                json!({"to": "rejected", "note": "不符合条件"})
            ),
        );
        let codes = [r1.status().as_u16(), r2.status().as_u16()];
        assert!(codes.contains(&200) && codes.contains(&409), "{codes:?}");
        let mine = app
            .get_ok(&token, &format!("/v1/me/applications/{id}"))
            .await;
        // Exactly one decision in the timeline.
        let decided = statuses(&mine)
            .iter()
            .filter(|(s, _)| s == "approved" || s == "rejected")
            .count();
        assert_eq!(decided, 1);
        if mine["status"] == "approved" {
            // Approved: the next round's application is refused while it... (closed: allowed).
            assert_eq!(mine["decision"]["approved"], true);
        }
    }
    // At most one award per approved application.
    let b = app.get_ok(&token, "/v1/me/benefits").await;
    let approved = app.get_ok(&token, "/v1/me/applications").await["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["status"] == "approved")
        .count();
    assert_eq!(b["awards"].as_array().unwrap().len(), approved);
}

#[tokio::test]
async fn a_transfer_needs_a_step_up_and_moves_the_records_whole() {
    let app = demo().await;
    let (token, stepped) = bound(&app, "+8613800000109", ZHANG).await;
    let summary_before = app.get_ok(&token, "/v1/me/contributions/summary").await;
    let pension_before = app.get_ok(&token, "/v1/me/accounts/pension").await;
    let res = apply(
        &app,
        &token,
        "move-key-01",
        "transfer",
        json!({"to_region": "110000"}),
    )
    .await;
    assert_problem(res, 403, "step_up_required").await;
    // Already there; an unknown region.
    let res = apply(
        &app,
        &stepped,
        "move-key-02",
        "transfer",
        json!({"to_region": "440300"}),
    )
    .await;
    assert_problem(res, 422, "not_eligible").await;
    let res = apply(
        &app,
        &stepped,
        "move-key-03",
        "transfer",
        json!({"to_region": "999999"}),
    )
    .await;
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "data.to_region");

    // Rejected first: nothing moves.
    let cw = staff_in(&app, "cw4", StaffRole::Caseworker, Some("440300")).await;
    let a = applied(
        &app,
        &stepped,
        "move-key-04",
        "transfer",
        json!({"to_region": "110000"}),
    )
    .await;
    let id = a["id"].as_str().unwrap();
    moved(&app, &cw, id, json!({"to": "in_review"})).await;
    moved(
        &app,
        &cw,
        id,
        json!({"to": "rejected", "note": "请先在转入地登记就业"}),
    )
    .await;
    assert_eq!(
        app.get_ok(&token, "/v1/me/binding").await["region"],
        "440300"
    );

    let b = applied(
        &app,
        &stepped,
        "move-key-05",
        "transfer",
        json!({"to_region": "110000"}),
    )
    .await;
    let id = b["id"].as_str().unwrap();
    moved(&app, &cw, id, json!({"to": "in_review"})).await;
    let done = moved(&app, &cw, id, json!({"to": "approved"})).await;
    assert_eq!(
        done["decision"],
        json!({"approved": true, "from_region": "440300", "to_region": "110000"})
    );
    // Where the records are now; every month and the account came along.
    assert_eq!(
        app.get_ok(&token, "/v1/me/binding").await["region"],
        "110000"
    );
    let summary_after = app.get_ok(&token, "/v1/me/contributions/summary").await;
    assert_eq!(summary_after, summary_before);
    let pension_after = app.get_ok(&token, "/v1/me/accounts/pension").await;
    assert_eq!(pension_after["balance_fen"], pension_before["balance_fen"]);
    // The history keeps the move.
    let mut conn = app.db.connect();
    let person = uuid::Uuid::parse_str(done["person_id"].as_str().unwrap()).unwrap();
    let moves = shebao_infra::applications::effects::transfers_of(&mut conn, person).unwrap();
    assert_eq!(moves.len(), 1);
    assert_eq!(
        (moves[0].from_region.as_str(), moves[0].to_region.as_str()),
        ("440300", "110000")
    );
    // New applications are decided in the new region.
    let c = applied(
        &app,
        &token,
        "move-key-06",
        "unemployment_benefit",
        unemployment(),
    )
    .await;
    assert_eq!(c["region"], "110000");
    let res = transition(
        &app,
        &cw,
        c["id"].as_str().unwrap(),
        json!({"to": "in_review"}),
    )
    .await;
    assert_problem(res, 404, "not_found").await;
}

#[tokio::test]
async fn a_medical_filing_shows_in_the_medical_account_once_approved() {
    let app = demo().await;
    let (token, _) = bound(&app, "+8613800000110", ZHANG).await;
    let cw = staff_in(&app, "cw5", StaffRole::Caseworker, Some("440300")).await;
    let res = apply(
        &app,
        &token,
        "file-key-00",
        "medical_filing",
        json!({"region": "110000", "reason": "referral", "from": "2026-12-01", "to": "2026-11-30"}),
    )
    .await;
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "data.to");
    // The filing covers today, so a hospital reading the e-card sees it once approved.
    let data = json!({"region": "110000", "reason": "long_term_residence", "from": "2026-11-01", "to": "2027-10-31"});
    let a = applied(&app, &token, "file-key-01", "medical_filing", data.clone()).await;
    let id = a["id"].as_str().unwrap();
    moved(&app, &cw, id, json!({"to": "in_review"})).await;
    moved(
        &app,
        &cw,
        id,
        json!({"to": "rejected", "note": "请上传居住证明"}),
    )
    .await;
    assert_eq!(
        app.get_ok(&token, "/v1/me/accounts/medical").await["filings"],
        json!([])
    );

    let b = applied(&app, &token, "file-key-02", "medical_filing", data).await;
    let id = b["id"].as_str().unwrap();
    moved(&app, &cw, id, json!({"to": "in_review"})).await;
    moved(&app, &cw, id, json!({"to": "approved"})).await;
    let medical = app.get_ok(&token, "/v1/me/accounts/medical").await;
    assert_eq!(
        medical["filings"],
        json!([{"application_id": id, "region": "110000", "reason": "long_term_residence", "from": "2026-11-01", "to": "2027-10-31"}])
    );
    let verdict = verify_ecard(&app, &token).await;
    assert_eq!(verdict["valid"], true);
    assert_eq!(
        verdict["filed_regions"],
        json!([{"region": "110000", "from": "2026-11-01", "to": "2027-10-31"}])
    );
    // After the filing's last day, hospitals there no longer see it.
    app.clock.advance(chrono::Duration::days(365));
    let fresh: Value = app
        .post("/v1/auth/login")
        .json(&json!({"phone": "+8613800000110", "password": shebao_tests::PERSON_PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let fresh = fresh["access_token"].as_str().unwrap();
    let verdict = verify_ecard(&app, fresh).await;
    assert_eq!(verdict["valid"], true);
    assert_eq!(verdict["filed_regions"], json!([]));
}

/// What a hospital learns from the person's e-card now.
async fn verify_ecard(app: &TestApp, token: &str) -> Value {
    let res = app
        .post("/v1/me/ecard")
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let card: Value = res.json().await.unwrap();
    let res = app
        .post("/v1/ecard/verify")
        .json(&json!({"token": card["token"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[tokio::test]
async fn retirement_is_refused_before_the_earliest_date_and_approval_fixes_the_estimated_pension() {
    let app = demo().await;
    let (token, stepped) = bound(&app, "+8613800000111", ZHOU).await;
    let birth = NaiveDate::from_ymd_opt(1969, 8, 8).unwrap();
    let (earliest, _) =
        allowed_retirement_window(birth, RetirementCategory::for_person(Gender::Male, false));
    let day_before = earliest.pred_opt().unwrap();
    let res = apply(
        &app,
        &token,
        "retire-k-01",
        "retirement",
        json!({"from": earliest}),
    )
    .await;
    assert_problem(res, 403, "step_up_required").await;
    let res = app
        .post("/v1/me/applications")
        .bearer_auth(&stepped)
        .header("Idempotency-Key", "retire-k-02")
        .header("Accept-Language", "en")
        .json(&json!({"kind": "retirement", "data": {"from": day_before}}))
        .send()
        .await
        .unwrap();
    let body = assert_problem(res, 422, "not_eligible").await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains(&earliest.to_string()),
        "{body}"
    );

    let cw = staff_in(&app, "cwbj2", StaffRole::Caseworker, Some("110000")).await;
    let a = applied(
        &app,
        &stepped,
        "retire-k-03",
        "retirement",
        json!({"from": earliest}),
    )
    .await;
    let id = a["id"].as_str().unwrap();
    moved(&app, &cw, id, json!({"to": "in_review"})).await;
    moved(
        &app,
        &cw,
        id,
        json!({"to": "rejected", "note": "请提供档案材料"}),
    )
    .await;
    assert_eq!(
        app.get_ok(&token, "/v1/me/benefits").await["awards"],
        json!([])
    );

    let b = applied(
        &app,
        &stepped,
        "retire-k-04",
        "retirement",
        json!({"from": earliest}),
    )
    .await;
    let id = b["id"].as_str().unwrap();
    moved(&app, &cw, id, json!({"to": "in_review"})).await;
    let done = moved(&app, &cw, id, json!({"to": "approved"})).await;
    // The pension is the estimate's, on the same records, for the same date.
    let res = app
        .post("/v1/me/pension-estimate")
        .bearer_auth(&token)
        .json(&json!({"retirement_date": earliest.to_string()}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let estimate: Value = res.json().await.unwrap();
    assert_eq!(estimate["eligible"], true);
    let monthly = estimate["monthly_total_fen"].as_i64().unwrap();
    assert!(monthly > 0);
    assert_eq!(done["decision"]["monthly_amount_fen"], monthly);
    assert_eq!(
        done["decision"]["starts"],
        format!("{}", earliest.format("%Y-%m"))
    );
    let awards = app.get_ok(&token, "/v1/me/benefits").await["awards"].clone();
    assert_eq!(awards[0]["kind"], "pension");
    assert_eq!(awards[0]["monthly_amount_fen"], monthly);
    assert_eq!(awards[0]["months"], Value::Null);
}

/// Hand-set thresholds for Shenzhen: standard 1,000.00 yuan a person, low-income line 1.5 ×
/// (1,500.00), assets 30,000.00 a person, medical costs 20,000.00, temporary 5,000.00.
async fn set_thresholds(app: &TestApp) {
    let admin = staff_in(app, "admin3", StaffRole::Admin, None).await;
    let res = app
        .client
        .put(app.url("/v1/staff/regions/440300/assistance-thresholds/2026"))
        .bearer_auth(&admin)
        .json(&json!({
            "minimum_living_monthly_fen": 100_000,
            "low_income_bp": 15_000,
            "assets_per_person_limit_fen": 3_000_000,
            "medical_costs_threshold_fen": 2_000_000,
            "temporary_costs_threshold_fen": 500_000,
            "extreme_poverty_monthly_fen": 130_000,
            "medical_assistance_monthly_fen": 50_000,
            "temporary_assistance_once_fen": 300_000
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

/// A parent of 45 and a child of 12, each with `income` a month.
fn household(income: i64, assets: i64, costs: i64) -> Value {
    json!({
        "members": [
            {"relation": "self", "age": 45, "monthly_income_fen": income, "disabled": false, "serious_illness": false},
            {"relation": "child", "age": 12, "monthly_income_fen": income, "disabled": false, "serious_illness": true}
        ],
        "assets_fen": assets,
        "medical_costs_12m_fen": costs
    })
}

async fn eligibility(app: &TestApp, token: &str, household: Value) -> Value {
    let res = app
        .post("/v1/me/assistance/eligibility")
        .bearer_auth(token)
        .json(&json!({"household": household}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    res.json().await.unwrap()
}

fn item<'a>(answer: &'a Value, programme: &str) -> &'a Value {
    answer["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["programme"] == programme)
        .unwrap()
}

#[tokio::test]
async fn assistance_eligibility_answers_criterion_by_criterion_at_each_edge() {
    let app = demo().await;
    let (token, _) = bound(&app, "+8613800000112", ZHANG).await;
    set_thresholds(&app).await;
    // One fen below the standard a person, assets at the limit, costs at the threshold.
    let yes = eligibility(&app, &token, household(99_999, 6_000_000, 2_000_000)).await;
    assert_eq!(yes["items"].as_array().unwrap().len(), 4);
    let living = item(&yes, "minimum_living");
    assert_eq!(living["eligible"], true, "{yes}");
    assert_eq!(living["monthly_amount_fen"], 2);
    assert_eq!(
        living["criteria"],
        json!([
            {"name": "income_per_person_fen", "comparison": "below", "required": 100_000, "actual": 99_999, "met": true},
            {"name": "assets_per_person_fen", "comparison": "at_most", "required": 3_000_000, "actual": 3_000_000, "met": true}
        ])
    );
    assert_eq!(item(&yes, "medical_assistance")["eligible"], true);
    assert_eq!(item(&yes, "temporary_assistance")["eligible"], true);
    assert_eq!(item(&yes, "temporary_assistance")["months"], 1);
    // The applicant is 45 and the child earns: no extreme-poverty support.
    let extreme = item(&yes, "extreme_poverty");
    assert_eq!(extreme["eligible"], false);
    assert_eq!(extreme["criteria"][0]["name"], "applicant_unable_to_work");
    assert_eq!(extreme["criteria"][0]["met"], false);
    assert_eq!(extreme["criteria"][1]["actual"], 1);
    for i in yes["items"].as_array().unwrap() {
        assert_eq!(i["already_receiving"], false);
    }
    // At the standard, a fen of assets over the limit, a fen short of the costs.
    let no = eligibility(&app, &token, household(100_000, 6_000_002, 1_999_999)).await;
    let living = item(&no, "minimum_living");
    assert_eq!(living["eligible"], false);
    assert_eq!(living["criteria"][0]["met"], false);
    assert_eq!(living["criteria"][1]["actual"], 3_000_001);
    assert_eq!(living["criteria"][1]["met"], false);
    assert_eq!(item(&no, "medical_assistance")["eligible"], false);
    assert_eq!(item(&no, "medical_assistance")["criteria"][0]["met"], true);
    assert_eq!(item(&no, "temporary_assistance")["eligible"], true);
    // A household without `self` is refused.
    let res = app
        .post("/v1/me/assistance/eligibility")
        .bearer_auth(&token)
        .json(&json!({"household": {"members": [{"relation": "child", "age": 3, "monthly_income_fen": 0}], "assets_fen": 0, "medical_costs_12m_fen": 0}}))
        .send()
        .await
        .unwrap();
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "household");
}

#[tokio::test]
async fn social_assistance_approved_is_received_and_never_paid_twice() {
    let app = demo().await;
    let (token, _) = bound(&app, "+8613800000113", ZHANG).await;
    set_thresholds(&app).await;
    let cw = staff_in(&app, "cw6", StaffRole::Caseworker, Some("440300")).await;
    // Not eligible: refused at once, with the criteria that failed.
    let res = apply(
        &app,
        &token,
        "assist-k-01",
        "social_assistance",
        json!({"programme": "minimum_living", "household": household(100_000, 0, 0)}),
    )
    .await;
    let body = assert_problem(res, 422, "not_eligible").await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("income_per_person_fen"),
        "{body}"
    );

    // Rejected by the caseworker: nothing is received.
    let a = applied(
        &app,
        &token,
        "assist-k-02",
        "social_assistance",
        json!({"programme": "medical_assistance", "household": household(50_000, 0, 3_000_000)}),
    )
    .await;
    let id = a["id"].as_str().unwrap();
    moved(&app, &cw, id, json!({"to": "in_review"})).await;
    moved(
        &app,
        &cw,
        id,
        json!({"to": "rejected", "note": "请提供医疗费用票据"}),
    )
    .await;
    assert_eq!(
        app.get_ok(&token, "/v1/me/benefits").await["awards"],
        json!([])
    );

    let b = applied(
        &app,
        &token,
        "assist-k-03",
        "social_assistance",
        json!({"programme": "minimum_living", "household": household(60_000, 0, 0)}),
    )
    .await;
    let id = b["id"].as_str().unwrap();
    moved(&app, &cw, id, json!({"to": "in_review"})).await;
    let done = moved(&app, &cw, id, json!({"to": "approved"})).await;
    // The gap: 2 × 1,000.00 − 2 × 600.00 = 800.00 a month.
    assert_eq!(done["decision"]["monthly_amount_fen"], 80_000);
    let awards = app.get_ok(&token, "/v1/me/benefits").await["awards"].clone();
    assert_eq!(awards[0]["kind"], "minimum_living");
    assert_eq!(awards[0]["monthly_amount_fen"], 80_000);
    // Now received: the eligibility says so, and a second application is refused.
    let answer = eligibility(&app, &token, household(60_000, 0, 0)).await;
    assert_eq!(item(&answer, "minimum_living")["already_receiving"], true);
    assert_eq!(
        item(&answer, "medical_assistance")["already_receiving"],
        false
    );
    let res = apply(
        &app,
        &token,
        "assist-k-04",
        "social_assistance",
        json!({"programme": "minimum_living", "household": household(60_000, 0, 0)}),
    )
    .await;
    assert_problem(res, 422, "not_eligible").await;
}

/// 周杰 bound to `phone`, with his retirement approved by a Beijing caseworker from the earliest
/// date allowed: a pensioner. Returns (token, caseworker's token).
async fn pensioner(app: &TestApp, phone: &str) -> (String, String) {
    let (token, stepped) = bound(app, phone, ZHOU).await;
    let birth = NaiveDate::from_ymd_opt(1969, 8, 8).unwrap();
    let (earliest, _) =
        allowed_retirement_window(birth, RetirementCategory::for_person(Gender::Male, false));
    let cw = staff_in(app, "cwbj3", StaffRole::Caseworker, Some("110000")).await;
    let a = applied(
        app,
        &stepped,
        "pension-k-01",
        "retirement",
        json!({"from": earliest}),
    )
    .await;
    let id = a["id"].as_str().unwrap();
    moved(app, &cw, id, json!({"to": "in_review"})).await;
    moved(app, &cw, id, json!({"to": "approved"})).await;
    (token, cw)
}

async fn sign_in(app: &TestApp, phone: &str) -> String {
    let res = app
        .post("/v1/auth/login")
        .json(&json!({"phone": phone, "password": shebao_tests::PERSON_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_pension_is_suspended_after_twelve_months_unconfirmed_and_resumes_on_the_check() {
    let app = demo().await;
    // Someone without a pension has no check to make.
    let (_, zhang) = bound(&app, "+8613800000114", ZHANG).await;
    let res = apply(&app, &zhang, "qual-k-00", "qualification", json!({})).await;
    assert_problem(res, 422, "not_eligible").await;

    let phone = "+8613800000115";
    let (token, _) = pensioner(&app, phone).await;
    let q = app.get_ok(&token, "/v1/me/benefits").await["pension_qualification"].clone();
    assert_eq!(q["suspended"], false, "{q}");
    assert_eq!(q["last_confirmed"], Value::Null);
    assert_eq!(q["confirm_by"], "2027-11-23");

    // On the last day it still holds; the day after, the pension is suspended, with the reason.
    app.clock.advance(chrono::Duration::days(365));
    let token = sign_in(&app, phone).await;
    let q = app.get_ok(&token, "/v1/me/benefits").await["pension_qualification"].clone();
    assert_eq!(q["suspended"], false, "{q}");
    app.clock.advance(chrono::Duration::days(1));
    let token = sign_in(&app, phone).await;
    let q = app.get_ok(&token, "/v1/me/benefits").await["pension_qualification"].clone();
    assert_eq!(q["suspended"], true, "{q}");
    assert!(
        q["reason"].as_str().is_some_and(|r| r.contains("12")),
        "{q}"
    );

    // The check needs a step-up; approved, the pension resumes for another 12 months.
    let res = apply(&app, &token, "qual-k-01", "qualification", json!({})).await;
    assert_problem(res, 403, "step_up_required").await;
    let stepped = app.step_up(&token, phone).await;
    let a = applied(&app, &stepped, "qual-k-02", "qualification", json!({})).await;
    let id = a["id"].as_str().unwrap();
    // A year on, the caseworker signs in afresh too.
    let res = app.login("cwbj3", STAFF_PASSWORD).await;
    let cw = res.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    moved(&app, &cw, id, json!({"to": "in_review"})).await;
    let done = moved(&app, &cw, id, json!({"to": "approved"})).await;
    assert_eq!(done["decision"]["to"], "2028-11-24");
    let q = app.get_ok(&token, "/v1/me/benefits").await["pension_qualification"].clone();
    assert_eq!(q["suspended"], false, "{q}");
    assert_eq!(q["last_confirmed"], "2027-11-24");
    assert_eq!(q["reason"], Value::Null);
}

#[tokio::test]
async fn only_the_relative_the_pensioner_named_confirms_the_check_for_them() {
    let app = demo().await;
    let (token, cw) = pensioner(&app, "+8613800000116").await;
    let stepped = app.step_up(&token, "+8613800000116").await;
    let relative_phone = "+8613800000117";
    let relative = app.register(relative_phone).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let stranger = app.register("+8613800000118").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = apply(
        &app,
        &stepped,
        "qual-r-00",
        "qualification",
        json!({"relative_phone": "12345"}),
    )
    .await;
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "data.relative_phone");
    let a = applied(
        &app,
        &stepped,
        "qual-r-01",
        "qualification",
        json!({"relative_phone": relative_phone}),
    )
    .await;
    let id = a["id"].as_str().unwrap();
    // The phone is never shown in clear.
    assert!(!a["data"].to_string().contains("13800000117"), "{a}");
    moved(&app, &cw, id, json!({"to": "in_review"})).await;
    // Not before the relative confirms.
    let res = transition(&app, &cw, id, json!({"to": "approved"})).await;
    assert_problem(res, 422, "not_eligible").await;

    // Another account cannot see or confirm it.
    let list = app
        .get_ok(&stranger, "/v1/me/assisted-qualifications")
        .await;
    assert_eq!(list["items"], json!([]));
    let stranger_stepped = app.step_up(&stranger, "+8613800000118").await;
    let res = app
        .post(&format!("/v1/me/assisted-qualifications/{id}/confirm"))
        .bearer_auth(&stranger_stepped)
        .send()
        .await
        .unwrap();
    assert_problem(res, 404, "not_found").await;
    // The named relative sees it, and confirms with a step-up.
    let list = app
        .get_ok(&relative, "/v1/me/assisted-qualifications?limit=1")
        .await;
    assert_eq!(list["items"][0]["id"], id);
    assert!(list["next_cursor"].is_null(), "{list}");
    let res = app
        .get("/v1/me/assisted-qualifications?cursor=not*a*cursor")
        .bearer_auth(&relative)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let res = app
        .post(&format!("/v1/me/assisted-qualifications/{id}/confirm"))
        .bearer_auth(&relative)
        .send()
        .await
        .unwrap();
    assert_problem(res, 403, "step_up_required").await;
    let relative_stepped = app.step_up(&relative, relative_phone).await;
    let res = app
        .post(&format!("/v1/me/assisted-qualifications/{id}/confirm"))
        .bearer_auth(&relative_stepped)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let seen: Value = res.json().await.unwrap();
    assert_eq!(
        seen["timeline"].as_array().unwrap().last().unwrap()["actor_role"],
        "relative"
    );
    // The pensioner sees it in their timeline too.
    let mine = app
        .get_ok(&token, &format!("/v1/me/applications/{id}"))
        .await;
    assert!(
        statuses(&mine).iter().any(|(_, r)| r == "relative"),
        "{mine}"
    );

    let done = moved(&app, &cw, id, json!({"to": "approved"})).await;
    assert_eq!(done["decision"]["approved"], true);
    let q = app.get_ok(&token, "/v1/me/benefits").await["pension_qualification"].clone();
    assert_eq!(q["last_confirmed"], "2026-11-23");
    // Decided: nothing more to confirm.
    let res = app
        .post(&format!("/v1/me/assisted-qualifications/{id}/confirm"))
        .bearer_auth(&relative_stepped)
        .send()
        .await
        .unwrap();
    assert_problem(res, 409, "invalid_transition").await;
}
