//! The staff registry over HTTP: sign-in, persons, employers, regions; and the demo data.

use diesel::prelude::*;
use serde_json::{json, Value};
use shebao_domain::staff::StaffRole;
use shebao_infra::audit;
use shebao_tests::{assert_problem, spawn_app, spawn_app_with, TestOptions, STAFF_PASSWORD};

fn person(national_id: &str, card: &str) -> Value {
    json!({
        "national_id": national_id,
        "name": "张三",
        "region": "440300",
        "card_number": card,
        "medical_category": "employee",
        "employment_status": "employed"
    })
}

#[tokio::test]
async fn staff_sign_in_gives_a_bearer_token() {
    let app = spawn_app().await;
    app.create_staff("alice", StaffRole::Caseworker).await;
    let res = app.login("alice", STAFF_PASSWORD).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["role"], "caseworker");
    assert_eq!(body["access_token"].as_str().unwrap().split('.').count(), 3);
}

#[tokio::test]
async fn wrong_password_and_unknown_user_look_the_same() {
    let app = spawn_app().await;
    app.create_staff("bob", StaffRole::Admin).await;
    let wrong = assert_problem(
        app.login("bob", "not the password").await,
        401,
        "invalid_credentials",
    )
    .await;
    let unknown = assert_problem(
        app.login("nobody", STAFF_PASSWORD).await,
        401,
        "invalid_credentials",
    )
    .await;
    assert_eq!(wrong["detail"], unknown["detail"]);
    let invalid_name = assert_problem(
        app.login("!!", STAFF_PASSWORD).await,
        401,
        "invalid_credentials",
    )
    .await;
    assert_eq!(invalid_name["detail"], unknown["detail"]);
}

#[tokio::test]
async fn five_failures_lock_the_account_for_fifteen_minutes() {
    let app = spawn_app().await;
    app.create_staff("carol", StaffRole::Admin).await;
    for _ in 0..5 {
        assert_problem(
            app.login("carol", "wrong password").await,
            401,
            "invalid_credentials",
        )
        .await;
    }
    // Locked: even the right password is refused, with a Retry-After.
    let res = app.login("carol", STAFF_PASSWORD).await;
    let retry: u64 = res
        .headers()
        .get("retry-after")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    assert_problem(res, 429, "account_locked").await;

    app.clock.advance(chrono::Duration::minutes(16));
    assert_eq!(app.login("carol", STAFF_PASSWORD).await.status(), 200);

    // Every attempt is in the audit log.
    let mut conn = app.db.connect();
    let rows: Vec<(String, String)> = shebao_infra::schema::audit_log::table
        .filter(shebao_infra::schema::audit_log::action.eq("staff.login"))
        .select((
            shebao_infra::schema::audit_log::outcome,
            shebao_infra::schema::audit_log::actor_kind,
        ))
        .load(&mut conn)
        .unwrap();
    assert_eq!(rows.iter().filter(|(o, _)| o == "failure").count(), 5);
    assert_eq!(rows.iter().filter(|(o, _)| o == "locked").count(), 1);
    assert_eq!(rows.iter().filter(|(o, _)| o == "success").count(), 1);
}

#[tokio::test]
async fn registers_a_person_with_derived_facts_and_a_masked_id() {
    let app = spawn_app().await;
    app.seed_regions();
    let token = app.staff_token(StaffRole::Caseworker).await;
    let res = app
        .post("/v1/staff/persons")
        .bearer_auth(&token)
        .json(&person("11010519491231002x", "a44030000099"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let location = res
        .headers()
        .get("location")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["national_id"], "110***********002X");
    assert_eq!(body["gender"], "female");
    assert_eq!(body["birth_date"], "1949-12-31");
    assert_eq!(body["card_number"], "A44030000099");
    assert_eq!(body["region"], "440300");
    let id = body["id"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("/v1/staff/persons/{id}"));

    let got: Value = app
        .get(&location)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got, body);

    // At rest the number is encrypted, indexed by a keyed hash, and nowhere in clear.
    let mut conn = app.db.connect();
    use shebao_infra::schema::persons::dsl as p;
    let (hash, enc, masked): (String, String, String) = p::persons
        .filter(p::id.eq(&id))
        .select((
            p::national_id_hash,
            p::national_id_enc,
            p::national_id_masked,
        ))
        .first(&mut conn)
        .unwrap();
    for stored in [&hash, &enc, &masked] {
        assert!(
            !stored.contains("11010519491231002X") && !stored.contains("19491231"),
            "{stored}"
        );
    }
    assert_eq!(hash.len(), 64);
    assert!(enc.starts_with("v1:"));

    // The creation and the read are audited against the staff member.
    let entries = audit::for_subject(&mut conn, "person", &id, 10).unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert!(
        actions.contains(&"person.create") && actions.contains(&"person.read"),
        "{actions:?}"
    );
    assert!(entries
        .iter()
        .all(|e| e.actor_kind == "staff" && e.request_id.is_some()));
}

#[tokio::test]
async fn the_same_id_number_or_card_twice_is_a_conflict() {
    let app = spawn_app().await;
    app.seed_regions();
    let token = app.staff_token(StaffRole::Admin).await;
    let ok = app
        .post("/v1/staff/persons")
        .bearer_auth(&token)
        .json(&person("11010519491231002X", "A44030000099"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 201);
    let res = app
        .post("/v1/staff/persons")
        .bearer_auth(&token)
        .json(&person("11010519491231002X", "A44030000100"))
        .send()
        .await
        .unwrap();
    assert_problem(res, 409, "person_exists").await;
    let res = app
        .post("/v1/staff/persons")
        .bearer_auth(&token)
        .json(&person("110101199003074514", "A44030000099"))
        .send()
        .await
        .unwrap();
    assert_problem(res, 409, "card_number_taken").await;
}

#[tokio::test]
async fn invalid_persons_get_every_field_error_and_write_nothing() {
    let app = spawn_app().await;
    app.seed_regions();
    let token = app.staff_token(StaffRole::Caseworker).await;
    let res = app
        .post("/v1/staff/persons")
        .bearer_auth(&token)
        .header("accept-language", "en")
        .json(&json!({
            "national_id": "110105194912310021",
            "name": "  ",
            "region": "44030",
            "card_number": "x",
            "medical_category": "platinum"
        }))
        .send()
        .await
        .unwrap();
    let body = assert_problem(res, 422, "validation_failed").await;
    let errors: Vec<(String, String)> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_owned(),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for expected in [
        ("national_id", "check_character"),
        ("name", "empty"),
        ("region", "format"),
        ("medical_category", "one_of"),
        ("employment_status", "required"),
    ] {
        assert!(
            errors.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "{expected:?} not in {errors:?}"
        );
    }
    assert!(errors.iter().any(|(f, _)| f == "card_number"), "{errors:?}");

    // A well-formed but unknown region.
    let mut p = person("11010519491231002X", "A44030000099");
    p["region"] = json!("440399");
    let res = app
        .post("/v1/staff/persons")
        .bearer_auth(&token)
        .json(&p)
        .send()
        .await
        .unwrap();
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(
        body["errors"],
        json!([{"field": "region", "code": "unknown", "message": "不存在"}])
    );

    let mut conn = app.db.connect();
    assert_eq!(
        shebao_infra::registry::persons::count(&mut conn).unwrap(),
        0
    );
}

#[tokio::test]
async fn unknown_persons_are_404() {
    let app = spawn_app().await;
    let token = app.staff_token(StaffRole::Caseworker).await;
    let res = app
        .get("/v1/staff/persons/01937e1a-0000-7000-8000-000000000000")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_problem(res, 404, "not_found").await;
    let res = app
        .get("/v1/staff/persons/not-a-uuid")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_problem(res, 404, "not_found").await;
}

#[tokio::test]
async fn registers_employers_by_credit_code() {
    let app = spawn_app().await;
    app.seed_regions();
    let token = app.staff_token(StaffRole::Caseworker).await;
    let body = json!({"name": "深圳市示例科技有限公司", "credit_code": "91350100M000100Y43", "region": "440300"});
    let res = app
        .post("/v1/staff/employers")
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["credit_code"], "91350100M000100Y43");
    let id = created["id"].as_str().unwrap();
    let got: Value = app
        .get(&format!("/v1/staff/employers/{id}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got, created);

    let res = app
        .post("/v1/staff/employers")
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_problem(res, 409, "employer_exists").await;

    let bad = json!({"name": "X", "credit_code": "91350100M000100Y44", "region": "440300"});
    let res = app
        .post("/v1/staff/employers")
        .bearer_auth(&token)
        .json(&bad)
        .send()
        .await
        .unwrap();
    let problem = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "credit_code");
    assert_eq!(problem["errors"][0]["code"], "check_character");
}

#[tokio::test]
async fn regions_are_listed_page_by_page_with_their_parameters() {
    let app = spawn_app().await;
    app.seed_regions();
    let token = app.staff_token(StaffRole::Caseworker).await;
    let page1: Value = app
        .get("/v1/staff/regions?limit=1")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page1["items"].as_array().unwrap().len(), 1);
    assert_eq!(page1["items"][0]["code"], "110000");
    let cursor = page1["next_cursor"].as_str().unwrap();
    let page2: Value = app
        .get(&format!("/v1/staff/regions?limit=1&cursor={cursor}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page2["items"][0]["code"], "440300");
    assert_eq!(page2["items"][0]["name"], "深圳市");
    assert!(page2["next_cursor"].is_null());
    let all: Value = app
        .get("/v1/staff/regions")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        all["items"][1]["parameter_years"]
            .as_array()
            .unwrap()
            .first()
            .unwrap(),
        2014
    );

    let region: Value = app
        .get("/v1/staff/regions/440300")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let y2014 = &region["years"][0];
    // 6,054.00 yuan: floor 60 % = 3,632.40, ceiling 300 % = 18,162.00.
    assert_eq!(y2014["year"], 2014);
    assert_eq!(y2014["average_monthly_wage_fen"], 605_400);
    assert_eq!(y2014["base_floor_fen"], 363_240);
    assert_eq!(y2014["base_ceiling_fen"], 1_816_200);
    assert_eq!(
        y2014["rates"]["pension"],
        json!({"employer_bp": 1600, "employee_bp": 800})
    );

    let res = app
        .get("/v1/staff/regions/999999")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_problem(res, 404, "not_found").await;
}

#[tokio::test]
async fn the_demo_has_ten_years_of_monthly_history() {
    let app = spawn_app_with(TestOptions {
        demo_seed: true,
        ..Default::default()
    })
    .await;
    let mut conn = app.db.connect();
    assert_eq!(
        shebao_infra::registry::persons::count(&mut conn).unwrap(),
        10
    );
    use shebao_infra::schema::contributions::dsl as c;
    let periods: Vec<String> = c::contributions
        .filter(c::insurance.eq("pension"))
        .select(c::period)
        .distinct()
        .order(c::period.asc())
        .load(&mut conn)
        .unwrap();
    assert_eq!(periods.first().map(String::as_str), Some("2014-01"));
    assert_eq!(periods.last().map(String::as_str), Some("2026-11"));
    assert!(periods.len() >= 120);
    // The current month is due, not paid; arrears exist for one person.
    let statuses: Vec<String> = c::contributions
        .select(c::status)
        .distinct()
        .load(&mut conn)
        .unwrap();
    for s in ["paid", "due", "arrears"] {
        assert!(
            statuses.iter().any(|x| x == s),
            "{s} missing from {statuses:?}"
        );
    }
    // Amounts agree with the domain's arithmetic: the employee pays 8 % of the base for pension.
    let rows: Vec<(i64, i64, i64)> = c::contributions
        .filter(c::insurance.eq("pension"))
        .filter(c::employer_id.is_not_null())
        .select((c::base_fen, c::employer_fen, c::employee_fen))
        .load(&mut conn)
        .unwrap();
    for (base, employer, employee) in rows {
        assert_eq!(employee, (base * 800 + 5_000) / 10_000);
        assert_eq!(employer, (base * 1600 + 5_000) / 10_000);
    }
    // Starting again on the same database does not load the demo twice.
    let db = shebao_infra::db::Db::connect(&app.db.url, &Default::default()).unwrap();
    let vault = shebao_security::PiiVault::new(&shebao_security::KeyMaterial::generate());
    shebao_api::startup::prepare_database(&db, &app.settings, &vault, &app.clock)
        .await
        .unwrap();
    assert_eq!(
        shebao_infra::registry::persons::count(&mut conn).unwrap(),
        10
    );
}
