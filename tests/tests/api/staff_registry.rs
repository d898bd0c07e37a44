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
        .get(&format!("{location}?reason=registration%20check"))
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
    let read = entries.iter().find(|e| e.action == "person.read").unwrap();
    assert_eq!(read.reason.as_deref(), Some("registration check"));
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
        .get("/v1/staff/persons/01937e1a-0000-7000-8000-000000000000?reason=check")
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

    // A wrong check character, of the whole code or (Y56) of its organisation code.
    for code in ["91350100M000100Y44", "91350100M000100Y56"] {
        let bad = json!({"name": "X", "credit_code": code, "region": "440300"});
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
        12
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
        12
    );
}

#[tokio::test]
async fn admins_set_regions_and_yearly_parameters() {
    let app = spawn_app().await;
    let admin = app.staff_token(StaffRole::Admin).await;
    let caseworker = app.staff_token(StaffRole::Caseworker).await;
    let region = json!({"name": "广州市", "time_zone": "Asia/Shanghai"});
    let res = app
        .client
        .put(app.url("/v1/staff/regions/440100"))
        .bearer_auth(&caseworker)
        .json(&region)
        .send()
        .await
        .unwrap();
    assert_problem(res, 403, "forbidden").await;
    let res = app
        .client
        .put(app.url("/v1/staff/regions/440100"))
        .bearer_auth(&admin)
        .json(&region)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let res = app
        .client
        .put(app.url("/v1/staff/regions/440100"))
        .bearer_auth(&admin)
        .json(&json!({"name": "广州", "time_zone": "Asia/Shanghai"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = app
        .client
        .put(app.url("/v1/staff/regions/440100"))
        .bearer_auth(&admin)
        .json(&json!({"name": "", "time_zone": "Mars/Olympus"}))
        .send()
        .await
        .unwrap();
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"].as_array().unwrap().len(), 2);

    let mut year = json!({
        "average_monthly_wage_fen": 1_200_000, "base_floor_pct": 60, "base_ceiling_pct": 300, "late_fee_bp_per_day": 5,
        "rates": {"pension": {"employer_bp": 1600, "employee_bp": 800}, "medical": {"employer_bp": 800, "employee_bp": 200},
                  "unemployment": {"employer_bp": 50, "employee_bp": 50}, "work_injury": {"employer_bp": 40, "employee_bp": 0},
                  "maternity": {"employer_bp": 80, "employee_bp": 0}}
    });
    let res = app
        .client
        .put(app.url("/v1/staff/regions/440100/years/2026"))
        .bearer_auth(&admin)
        .json(&year)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let view: Value = res.json().await.unwrap();
    // 12,000.00 yuan: floor 7,200.00, ceiling 36,000.00.
    assert_eq!(view["base_floor_fen"], 720_000);
    assert_eq!(view["base_ceiling_fen"], 3_600_000);
    let got: Value = app
        .get("/v1/staff/regions/440100")
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["name"], "广州");
    assert_eq!(got["years"][0]["year"], 2026);
    // Floor above ceiling, or rates over 100 %: rejected with a reason.
    year["base_floor_pct"] = json!(400);
    let res = app
        .client
        .put(app.url("/v1/staff/regions/440100/years/2027"))
        .bearer_auth(&admin)
        .json(&year)
        .send()
        .await
        .unwrap();
    assert_problem(res, 422, "validation_failed").await;
    year["base_floor_pct"] = json!(60);
    year["rates"]["pension"]["employer_bp"] = json!(9_500);
    let res = app
        .client
        .put(app.url("/v1/staff/regions/440100/years/2027"))
        .bearer_auth(&admin)
        .json(&year)
        .send()
        .await
        .unwrap();
    assert_problem(res, 422, "validation_failed").await;
    // A float where basis points belong is a type error, not a rounding.
    year["rates"]["pension"]["employer_bp"] = json!(16.5);
    let res = app
        .client
        .put(app.url("/v1/staff/regions/440100/years/2027"))
        .bearer_auth(&admin)
        .json(&year)
        .send()
        .await
        .unwrap();
    assert_problem(res, 422, "validation_failed").await;
    // Unknown region.
    year["rates"]["pension"]["employer_bp"] = json!(1600);
    let res = app
        .client
        .put(app.url("/v1/staff/regions/440200/years/2027"))
        .bearer_auth(&admin)
        .json(&year)
        .send()
        .await
        .unwrap();
    assert_problem(res, 404, "not_found").await;
}

#[tokio::test]
async fn yearly_pension_interest_is_credited_once() {
    let app = spawn_app_with(TestOptions {
        demo_seed: true,
        ..Default::default()
    })
    .await;
    let admin = app.staff_token(StaffRole::Admin).await;
    let body = json!({"region": "440300", "year": 2025, "rate_bp": 262});
    let res = app
        .post("/v1/staff/pension-interest")
        .bearer_auth(&admin)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let result: Value = res.json().await.unwrap();
    // The seven demo persons of 深圳市 all have pension accounts.
    assert_eq!(result["persons"], 7);
    assert!(result["interest_total_fen"].as_i64().unwrap() > 0);
    let res = app
        .post("/v1/staff/pension-interest")
        .bearer_auth(&admin)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_problem(res, 409, "interest_already_credited").await;
    let caseworker = app.staff_token(StaffRole::Caseworker).await;
    let res = app
        .post("/v1/staff/pension-interest")
        .bearer_auth(&caseworker)
        .json(&json!({"region": "440300", "year": 2024, "rate_bp": 262}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 403, "forbidden").await;

    // The credited interest equals the domain's formula on the account's own figures.
    let mut conn = app.db.connect();
    use shebao_infra::schema::persons::dsl as p;
    let id: String = p::persons
        .filter(p::card_number.eq("A44030000001"))
        .select(p::id)
        .first(&mut conn)
        .unwrap();
    let person = uuid::Uuid::parse_str(&id).unwrap();
    let rows: Vec<(
        shebao_domain::statement::MonthRow,
        shebao_domain::money::Fen,
    )> = shebao_infra::records::contributions::month_rows(
        &mut conn,
        person,
        chrono::Utc::now().date_naive(),
    )
    .unwrap()
    .into_iter()
    .map(|(r, b)| (r, shebao_domain::money::Fen(b)))
    .collect();
    let (opening, credits) = shebao_domain::statement::interest_basis(
        &rows,
        &[],
        2025,
        &shebao_domain::region::AccountShares::default(),
    );
    let expected = shebao_domain::accounts::yearly_interest(opening, &credits, 262);
    let stored = shebao_infra::records::pension::interest_credits(&mut conn, person).unwrap();
    assert_eq!(stored, vec![(2025, expected.0)]);
    // Hand check of the convention: the opening balance earns the full year at 2.62 %, and the
    // credits together earn at most that.
    assert!(expected.0 >= (opening.0 * 262 + 5_000) / 10_000);
}

#[tokio::test]
async fn admins_set_a_regions_rules_and_personal_account_shares() {
    let app = spawn_app().await;
    let admin = app.staff_token(StaffRole::Admin).await;
    let put = |path: &str, body: Value| {
        app.client
            .put(app.url(path))
            .bearer_auth(&admin)
            .json(&body)
            .send()
    };
    // A new region starts with the defaults.
    let res = put(
        "/v1/staff/regions/440100",
        json!({"name": "广州", "time_zone": "Asia/Shanghai"}),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 201);
    let view: Value = res.json().await.unwrap();
    assert_eq!(view["contribution_due_day"], 15);
    assert_eq!(view["divisor_age_47"], 207);
    assert_eq!(view["divisor_fraction"], "whole_years");
    // Set them; fields left out stay as they are.
    let res = put(
        "/v1/staff/regions/440100",
        json!({"name": "广州", "time_zone": "Asia/Shanghai", "contribution_due_day": 25, "divisor_fraction": "interpolated"}),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    let res = put(
        "/v1/staff/regions/440100",
        json!({"name": "广州市", "time_zone": "Asia/Shanghai", "divisor_age_47": 208}),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    let got = app.get_ok(&admin, "/v1/staff/regions/440100").await;
    assert_eq!(got["name"], "广州市");
    assert_eq!(got["contribution_due_day"], 25);
    assert_eq!(got["divisor_age_47"], 208);
    assert_eq!(got["divisor_fraction"], "interpolated");
    // Out of range or unknown: 422 naming each field, nothing changed.
    let res = put(
        "/v1/staff/regions/440100",
        json!({"name": "广州", "time_zone": "Asia/Shanghai", "contribution_due_day": 31, "divisor_age_47": 206, "divisor_fraction": "nearest"}),
    )
    .await
    .unwrap();
    let body = assert_problem(res, 422, "validation_failed").await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["contribution_due_day", "divisor_age_47", "divisor_fraction"]
    );
    assert_eq!(
        app.get_ok(&admin, "/v1/staff/regions/440100").await["contribution_due_day"],
        25
    );
    // The personal-account share: 11 % before 2006, 8 % from 2006 by default, or as set.
    let year = |share: Option<u16>| {
        let mut y = json!({
            "average_monthly_wage_fen": 150_000, "base_floor_pct": 60, "base_ceiling_pct": 300, "late_fee_bp_per_day": 5,
            "rates": {"pension": {"employer_bp": 2000, "employee_bp": 800}, "medical": {"employer_bp": 600, "employee_bp": 200},
                      "unemployment": {"employer_bp": 200, "employee_bp": 100}, "work_injury": {"employer_bp": 100, "employee_bp": 0},
                      "maternity": {"employer_bp": 80, "employee_bp": 0}}
        });
        if let Some(s) = share {
            y["personal_account_bp"] = json!(s);
        }
        y
    };
    for (path, body, expected) in [
        ("/v1/staff/regions/440100/years/2005", year(None), 1100),
        ("/v1/staff/regions/440100/years/2006", year(None), 800),
        (
            "/v1/staff/regions/440100/years/2004",
            year(Some(1000)),
            1000,
        ),
    ] {
        let res = put(path, body).await.unwrap();
        assert_eq!(res.status(), 201);
        let view: Value = res.json().await.unwrap();
        assert_eq!(view["personal_account_bp"], expected, "{path}");
    }
    let got = app.get_ok(&admin, "/v1/staff/regions/440100").await;
    let shares: Vec<(i64, i64)> = got["years"]
        .as_array()
        .unwrap()
        .iter()
        .map(|y| {
            (
                y["year"].as_i64().unwrap(),
                y["personal_account_bp"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(shares, [(2004, 1000), (2005, 1100), (2006, 800)]);
    let res = put("/v1/staff/regions/440100/years/2007", year(Some(10_001)))
        .await
        .unwrap();
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "personal_account_bp");
}

#[tokio::test]
async fn a_taiwan_resident_with_a_residence_permit_number_is_registered() {
    let app = spawn_app().await;
    app.seed_regions();
    let token = app.staff_token(StaffRole::Caseworker).await;
    // 830000199201300022: a residence permit of a Taiwan resident, published by the Beijing police.
    let res = app
        .post("/v1/staff/persons")
        .bearer_auth(&token)
        .json(&person("830000199201300022", "A44030000098"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["birth_date"], "1992-01-30");
    assert_eq!(body["gender"], "female");
}
