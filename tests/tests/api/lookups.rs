//! Staff look-ups over HTTP: persons by ID number, card number or name in a region; employers
//! by credit code or name. One mode per request, paged, and every person look-up audited.

use serde_json::{json, Value};
use shebao_domain::employer::CreditCode;
use shebao_domain::staff::StaffRole;
use shebao_tests::{assert_problem, spawn_app, spawn_app_with, TestApp, TestOptions};

const REASON: &str = "reason=phone%20enquiry%20%23123";

async fn register(app: &TestApp, token: &str, national_id: &str, name: &str, card: &str) -> Value {
    let res = app
        .post("/v1/staff/persons")
        .bearer_auth(token)
        .json(&json!({
            "national_id": national_id,
            "name": name,
            "region": "440300",
            "card_number": card,
            "medical_category": "employee",
            "employment_status": "employed"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    res.json().await.unwrap()
}

async fn found(app: &TestApp, token: &str, query: &str) -> Value {
    let res = app
        .get(&format!("/v1/staff/persons?{query}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{query}");
    res.json().await.unwrap()
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn persons_are_found_by_id_number_card_number_or_name_in_a_region() {
    let app = spawn_app().await;
    app.seed_regions();
    let token = app.staff_token(StaffRole::Caseworker).await;
    let a = register(&app, &token, "11010519491231002X", "张三", "A44030000099").await;
    let b = register(&app, &token, "110101199003074514", "张三", "A44030000100").await;
    let c = register(&app, &token, "830000199201300022", "李四", "A44030000098").await;

    // The ID number as typed (lower-case x) finds the one person, masked.
    let page = found(
        &app,
        &token,
        &format!("national_id=11010519491231002x&{REASON}"),
    )
    .await;
    assert_eq!(ids(&page), vec![a["id"].as_str().unwrap()]);
    assert_eq!(page["items"][0]["national_id"], "110***********002X");
    assert!(page["next_cursor"].is_null());
    let page = found(&app, &token, &format!("card_number=A44030000098&{REASON}")).await;
    assert_eq!(ids(&page), vec![c["id"].as_str().unwrap()]);
    assert_eq!(page["items"][0]["national_id"], "830***********0022");

    // By name in a region, one per page.
    let q = format!("name=%E5%BC%A0%E4%B8%89&region=440300&limit=1&{REASON}");
    let first = found(&app, &token, &q).await;
    assert_eq!(first["items"].as_array().unwrap().len(), 1);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = found(&app, &token, &format!("{q}&cursor={cursor}")).await;
    assert!(second["next_cursor"].is_null());
    let mut both = [ids(&first), ids(&second)].concat();
    both.sort();
    let mut want = vec![a["id"].as_str().unwrap(), b["id"].as_str().unwrap()];
    want.sort();
    assert_eq!(both, want);

    // No match: an empty list.
    for q in [
        "national_id=440300198603120277",
        "card_number=A44030009999",
        "name=%E5%BC%A0%E4%B8%89&region=110000",
        "name=%E5%BC%A0&region=440300",
    ] {
        let q = format!("{q}&{REASON}");
        let page = found(&app, &token, &q).await;
        assert_eq!(page["items"].as_array().unwrap().len(), 0, "{q}");
        assert!(page["next_cursor"].is_null());
    }

    // Every look-up is in the audit log with its reason: one entry per person answered (1 by ID
    // number, 1 by card, 1 on each page by name), and one without a subject for each of the 4
    // that found no one.
    let searches: Vec<(Option<String>, Option<String>)> = {
        use diesel::prelude::*;
        use shebao_infra::schema::audit_log::dsl as l;
        l::audit_log
            .filter(l::action.eq("person.search"))
            .select((l::subject_id, l::reason))
            .load(&mut app.db.connect())
            .unwrap()
    };
    assert_eq!(searches.len(), 4 + 4);
    assert_eq!(searches.iter().filter(|(s, _)| s.is_none()).count(), 4);
    assert!(searches
        .iter()
        .all(|(_, r)| r.as_deref() == Some("phone enquiry #123")));
}

async fn refused(app: &TestApp, token: &str, path: &str) -> Vec<(String, String)> {
    let res = app.get(path).bearer_auth(token).send().await.unwrap();
    let body = assert_problem(res, 422, "validation_failed").await;
    body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_owned(),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(f, c)| ((*f).to_owned(), (*c).to_owned()))
        .collect()
}

#[tokio::test]
async fn a_look_up_takes_exactly_one_mode_a_reason_and_no_control_characters() {
    let app = spawn_app().await;
    app.seed_regions();
    let token = app.staff_token(StaffRole::Caseworker).await;
    let p = "/v1/staff/persons";
    // No reason: 422 on `reason`, whatever the mode.
    assert_eq!(
        refused(&app, &token, &format!("{p}?card_number=A44030000098")).await,
        pairs(&[("reason", "required")])
    );
    assert_eq!(
        refused(
            &app,
            &token,
            &format!("{p}?card_number=A44030000098&reason=a%07b")
        )
        .await,
        pairs(&[("reason", "control_character")])
    );
    assert_eq!(
        refused(&app, &token, &format!("{p}?{REASON}")).await,
        pairs(&[
            ("national_id", "rule"),
            ("card_number", "rule"),
            ("name", "rule")
        ])
    );
    assert_eq!(
        refused(
            &app,
            &token,
            &format!("{p}?national_id=11010519491231002X&card_number=A44030000098&{REASON}")
        )
        .await,
        pairs(&[("national_id", "rule"), ("card_number", "rule")])
    );
    assert_eq!(
        refused(
            &app,
            &token,
            &format!("{p}?name=%E5%BC%A0%E4%B8%89&{REASON}")
        )
        .await,
        pairs(&[("region", "required")])
    );
    assert_eq!(
        refused(
            &app,
            &token,
            &format!("{p}?card_number=A44030000098&region=440300&{REASON}")
        )
        .await,
        pairs(&[("region", "rule")])
    );
    assert_eq!(
        refused(
            &app,
            &token,
            &format!("{p}?name=a%00b&region=440300&{REASON}")
        )
        .await,
        pairs(&[("name", "control_character")])
    );
    assert_eq!(
        refused(
            &app,
            &token,
            &format!("{p}?national_id=110105194912310021&{REASON}")
        )
        .await,
        pairs(&[("national_id", "check_character")])
    );
    assert_eq!(
        refused(
            &app,
            &token,
            &format!("{p}?card_number=A44030000098&limit=0&{REASON}")
        )
        .await,
        pairs(&[("limit", "range")])
    );
    let e = "/v1/staff/employers";
    assert_eq!(
        refused(&app, &token, &format!("{e}?limit=5")).await,
        pairs(&[("credit_code", "rule"), ("name", "rule")])
    );
    assert_eq!(
        refused(
            &app,
            &token,
            &format!("{e}?credit_code=91350100M000100Y43&name=X")
        )
        .await,
        pairs(&[("credit_code", "rule"), ("name", "rule")])
    );
    assert_eq!(
        refused(&app, &token, &format!("{e}?name=a%1Fb")).await,
        pairs(&[("name", "control_character")])
    );
    // Without a token: 401.
    let res = app
        .get(&format!("{p}?card_number=A44030000098&{REASON}"))
        .send()
        .await;
    assert_problem(res.unwrap(), 401, "unauthorized").await;
}

#[tokio::test]
async fn a_person_look_up_shows_in_the_persons_access_log_with_its_reason() {
    let app = spawn_app_with(TestOptions {
        demo_seed: true,
        ..Default::default()
    })
    .await;
    let phone = "+8613800138000";
    let pair = app.register(phone).await;
    let token = pair["access_token"].as_str().unwrap().to_owned();
    let stepped = app.step_up(&token, phone).await;
    let res = app
        .post("/v1/me/binding")
        .bearer_auth(&stepped)
        .json(&json!({"national_id": "440300198603120277", "name": "张伟", "card_number": "A44030000001"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let staff = app.staff_token(StaffRole::Caseworker).await;
    let page = found(
        &app,
        &staff,
        &format!("national_id=440300198603120277&{REASON}"),
    )
    .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["national_id"], "440***********0277");
    let log = app.get_ok(&token, "/v1/me/access-log").await;
    let entry = &log["items"][0];
    assert_eq!(entry["action"], "person.search");
    assert_eq!(entry["reason"], "phone enquiry #123");
    assert_eq!(entry["staff_role"], "caseworker");
}

#[tokio::test]
async fn employers_are_found_by_credit_code_or_name() {
    let app = spawn_app().await;
    app.seed_regions();
    let token = app.staff_token(StaffRole::Caseworker).await;
    let mut created = Vec::new();
    for first16 in ["91440300MA5F0001", "91440300MA5F0002", "91440300MA5F0003"] {
        let code = CreditCode::from_first16(first16).unwrap();
        let name = if first16.ends_with('3') {
            "另一家公司"
        } else {
            "深圳市示例科技有限公司"
        };
        let res = app
            .post("/v1/staff/employers")
            .bearer_auth(&token)
            .json(&json!({"name": name, "credit_code": code.as_str(), "region": "440300"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        created.push(res.json::<Value>().await.unwrap());
    }
    let get = |q: String| {
        let app = &app;
        let token = &token;
        async move {
            let res = app
                .get(&format!("/v1/staff/employers?{q}"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200, "{q}");
            res.json::<Value>().await.unwrap()
        }
    };
    let code = created[2]["credit_code"].as_str().unwrap();
    let page = get(format!("credit_code={}", code.to_ascii_lowercase())).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0], created[2]);
    let q = "name=%E6%B7%B1%E5%9C%B3%E5%B8%82%E7%A4%BA%E4%BE%8B%E7%A7%91%E6%8A%80%E6%9C%89%E9%99%90%E5%85%AC%E5%8F%B8&limit=1";
    let first = get(q.to_owned()).await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = get(format!("{q}&cursor={cursor}")).await;
    assert!(second["next_cursor"].is_null());
    let mut both = [ids(&first), ids(&second)].concat();
    both.sort();
    let mut want: Vec<String> = created[..2]
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    want.sort();
    assert_eq!(both, want);
    // No match: empty.
    let none = CreditCode::from_first16("91440300MA5F0009").unwrap();
    for q in [
        format!("credit_code={}", none.as_str()),
        "name=nobody".to_owned(),
    ] {
        let page = get(q).await;
        assert_eq!(page["items"].as_array().unwrap().len(), 0);
        assert!(page["next_cursor"].is_null());
    }
}
