//! The person's records over HTTP, on the demo data: every list agrees with its summary and the
//! accounts agree with the credits; another person's data never appears.

use std::collections::BTreeMap;

use diesel::prelude::*;
use serde_json::{json, Value};
use shebao_domain::staff::StaffRole;
use shebao_tests::{assert_problem, spawn_app_with, TestApp, TestOptions};

const ZHANG: (&str, &str, &str) = ("440300198603120277", "张伟", "A44030000001");

async fn demo() -> TestApp {
    spawn_app_with(TestOptions {
        demo_seed: true,
        ..Default::default()
    })
    .await
}

async fn get(app: &TestApp, token: &str, path: &str) -> Value {
    app.get_ok(token, path).await
}

/// Every item of a paginated list, following next_cursor.
async fn all_pages(app: &TestApp, token: &str, path: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = match &cursor {
            Some(c) => format!("{path}{sep}limit=100&cursor={c}"),
            None => format!("{path}{sep}limit=100"),
        };
        let page = get(app, token, &url).await;
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return items,
        }
    }
}

#[tokio::test]
async fn records_need_a_bound_card() {
    let app = demo().await;
    let pair = app.register("+8613800138000").await;
    let token = pair["access_token"].as_str().unwrap();
    for path in [
        "/v1/me/contributions",
        "/v1/me/contributions/summary",
        "/v1/me/accounts/pension",
        "/v1/me/accounts/medical",
        "/v1/me/benefits",
        "/v1/me/access-log",
    ] {
        let res = app.get(path).bearer_auth(token).send().await.unwrap();
        assert_problem(res, 403, "binding_required").await;
    }
    assert_problem(
        app.get("/v1/me/contributions").send().await.unwrap(),
        401,
        "unauthorized",
    )
    .await;
}

#[tokio::test]
async fn contributions_list_pages_and_agrees_with_the_summary() {
    let app = demo().await;
    let token = app.register_and_bind("+8613800138000", ZHANG).await.access;
    let first = get(&app, &token, "/v1/me/contributions").await;
    let items = first["items"].as_array().unwrap();
    assert_eq!(items.len(), 50);
    assert_eq!(items[0]["period"], "2026-11");
    assert_eq!(items[0]["status"], "due");
    assert!(items[0]["paid_at"].is_null());
    assert_eq!(items[0]["employer"]["name"], "深圳市南山科技有限公司");
    // Newest first throughout.
    let all = all_pages(&app, &token, "/v1/me/contributions").await;
    let periods: Vec<&str> = all.iter().map(|i| i["period"].as_str().unwrap()).collect();
    assert!(periods.windows(2).all(|w| w[0] >= w[1]));
    // 2014-01 … 2026-11 = 155 months × 5 insurances, each exactly once.
    assert_eq!(all.len(), 155 * 5);
    let unique: std::collections::BTreeSet<(String, String)> = all
        .iter()
        .map(|i| {
            (
                i["period"].as_str().unwrap().to_owned(),
                i["insurance"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(unique.len(), all.len());

    // The summary agrees with the list.
    let summary = get(&app, &token, "/v1/me/contributions/summary").await;
    let mut employee: BTreeMap<String, i64> = BTreeMap::new();
    let mut months: BTreeMap<String, i64> = BTreeMap::new();
    for i in &all {
        if i["status"] == "paid" {
            *employee
                .entry(i["insurance"].as_str().unwrap().to_owned())
                .or_default() += i["employee_fen"].as_i64().unwrap();
            *months
                .entry(i["insurance"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
    }
    for s in summary["items"].as_array().unwrap() {
        let ins = s["insurance"].as_str().unwrap();
        assert_eq!(
            s["employee_total_fen"].as_i64().unwrap(),
            employee[ins],
            "{ins}"
        );
        assert_eq!(s["months_paid"].as_i64().unwrap(), months[ins], "{ins}");
        assert_eq!(s["first_period"], "2014-01");
        assert_eq!(s["last_period"], "2026-11");
        assert_eq!(s["arrears_months"], 0);
        assert_eq!(s["longest_gap_months"], 0);
    }
    assert_eq!(summary["pension_contribution_months"], 154);
    assert_eq!(summary["pension_contribution_years"], 12.83);

    // Filters.
    let pension_2020 = all_pages(
        &app,
        &token,
        "/v1/me/contributions?insurance=pension&from=2020-01&to=2020-12",
    )
    .await;
    assert_eq!(pension_2020.len(), 12);
    assert!(
        pension_2020
            .iter()
            .all(|i| i["insurance"] == "pension"
                && i["period"].as_str().unwrap().starts_with("2020-"))
    );
    // Bad filters are field errors.
    let res = app
        .get("/v1/me/contributions?insurance=dental&from=2020-13&to=2019-01&limit=0")
        .bearer_auth(&token)
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
    assert!(
        fields.contains(&"insurance") && fields.contains(&"from") && fields.contains(&"limit"),
        "{fields:?}"
    );
    // `to` before `from` is an empty range (the spec cannot compare two parameters, so the
    // server does not refuse it), and a cursor no page gave reads as past the end.
    let empty = get(&app, &token, "/v1/me/contributions?from=2021-01&to=2020-01").await;
    assert_eq!(empty["items"], json!([]), "{empty}");
    let forged = get(&app, &token, "/v1/me/contributions?cursor=Zm9yZ2Vk").await;
    assert_eq!(forged["items"], json!([]), "{forged}");
    // Empty values are not absent ones.
    let res = app
        .get("/v1/me/contributions?insurance=&from=&limit=")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"].as_array().unwrap().len(), 3, "{body}");
    // A limit of 1 and its cursor move one row at a time.
    let one = get(&app, &token, "/v1/me/contributions?limit=1").await;
    let c = one["next_cursor"].as_str().unwrap();
    let two = get(
        &app,
        &token,
        &format!("/v1/me/contributions?limit=1&cursor={c}"),
    )
    .await;
    assert_eq!(two["items"][0], all[1]);
}

#[tokio::test]
async fn arrears_show_in_the_summary_and_others_never_appear() {
    let app = demo().await;
    let zhang = app.register_and_bind("+8613800138000", ZHANG).await.access;
    let li = app
        .register_and_bind(
            "+8613900139000",
            ("440300199007010420", "李娜", "A44030000002"),
        )
        .await
        .access;
    let summary = get(&app, &li, "/v1/me/contributions/summary").await;
    let pension = summary["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["insurance"] == "pension")
        .unwrap()
        .clone();
    // 2023-04 … 2023-06 unpaid: three months of arrears, and a gap of three months.
    assert_eq!(pension["arrears_months"], 3);
    assert_eq!(pension["longest_gap_months"], 3);
    assert!(pension["arrears_fen"].as_i64().unwrap() > 0);
    // Her list never shows Zhang's employer, and his never shows hers.
    let hers = all_pages(&app, &li, "/v1/me/contributions?insurance=pension").await;
    assert!(hers
        .iter()
        .all(|i| i["employer"]["name"] == "深圳市福田贸易有限公司"));
    let his = all_pages(&app, &zhang, "/v1/me/contributions?insurance=pension").await;
    assert!(his
        .iter()
        .all(|i| i["employer"]["name"] == "深圳市南山科技有限公司"));
}

#[tokio::test]
async fn the_pension_account_agrees_with_the_credits_and_interest() {
    let app = demo().await;
    let token = app.register_and_bind("+8613800138000", ZHANG).await.access;
    let account = get(&app, &token, "/v1/me/accounts/pension").await;
    let all = all_pages(&app, &token, "/v1/me/contributions?insurance=pension").await;
    let mut by_year: BTreeMap<i32, i64> = BTreeMap::new();
    for i in all.iter().filter(|i| i["status"] == "paid") {
        let year: i32 = i["period"].as_str().unwrap()[..4].parse().unwrap();
        let base = i["base_fen"].as_i64().unwrap();
        *by_year.entry(year).or_default() += (base * 800 + 5_000) / 10_000;
    }
    let years = account["years"].as_array().unwrap();
    assert_eq!(years.len(), by_year.len());
    let mut running = 0;
    for y in years {
        let year = y["year"].as_i64().unwrap() as i32;
        assert_eq!(y["credited_fen"].as_i64().unwrap(), by_year[&year]);
        assert_eq!(y["opening_fen"].as_i64().unwrap(), running);
        running += y["credited_fen"].as_i64().unwrap() + y["interest_fen"].as_i64().unwrap();
        assert_eq!(y["closing_fen"].as_i64().unwrap(), running);
    }
    assert_eq!(account["balance_fen"].as_i64().unwrap(), running);
    assert_eq!(account["as_of"], "2026-11-23");
}

#[tokio::test]
async fn medical_account_and_transactions() {
    let app = demo().await;
    let token = app.register_and_bind("+8613800138000", ZHANG).await.access;
    let before = get(&app, &token, "/v1/me/accounts/medical").await;
    // The demo's own year of spending, already in the balance.
    let demo_spending = all_pages(&app, &token, "/v1/me/accounts/medical/transactions").await;
    let demo_october = get(
        &app,
        &token,
        "/v1/me/accounts/medical/transactions?from=2026-10-01&to=2026-10-31",
    )
    .await["items"]
        .as_array()
        .unwrap()
        .len();
    let credited = before["balance_fen"].as_i64().unwrap();
    assert!(credited > 0);
    assert!(before["monthly_credit_fen"].as_i64().unwrap() > 0);
    // Two spendings, loaded directly (the import endpoint is tested on its own).
    let mut conn = app.db.connect();
    let person_id: String = {
        use shebao_infra::schema::accounts::dsl as a;
        a::accounts
            .filter(a::person_id.is_not_null())
            .select(a::person_id.assume_not_null())
            .first(&mut conn)
            .unwrap()
    };
    use shebao_infra::schema::medical_transactions::dsl as m;
    for (i, (day, paid)) in [
        ("2026-10-01 09:00:00", 12_345i64),
        ("2026-11-02 10:00:00", 2_000),
    ]
    .into_iter()
    .enumerate()
    {
        diesel::insert_into(m::medical_transactions)
            .values((
                m::id.eq(format!("0190{i}")),
                m::external_id.eq(format!("ext-{i}")),
                m::person_id.eq(&person_id),
                m::occurred_at
                    .eq(chrono::NaiveDateTime::parse_from_str(day, "%Y-%m-%d %H:%M:%S").unwrap()),
                m::institution_code.eq("H4403001"),
                m::institution_name.eq("深圳市人民医院"),
                m::kind.eq("outpatient"),
                m::total_fen.eq(paid + 1_000),
                m::account_paid_fen.eq(paid),
                m::fund_paid_fen.eq(500),
                m::self_paid_fen.eq(500),
                m::created_at.eq(chrono::Utc::now().naive_utc()),
            ))
            .execute(&mut conn)
            .unwrap();
    }
    let after = get(&app, &token, "/v1/me/accounts/medical").await;
    assert_eq!(after["balance_fen"].as_i64().unwrap(), credited - 14_345);
    let items = all_pages(&app, &token, "/v1/me/accounts/medical/transactions").await;
    assert_eq!(items.len(), demo_spending.len() + 2);
    assert_eq!(items[0]["account_paid_fen"], 2_000);
    assert_eq!(
        items[0]["institution"],
        json!({"id": "H4403001", "name": "深圳市人民医院"})
    );
    let page = get(&app, &token, "/v1/me/accounts/medical/transactions?limit=1").await;
    let c = page["next_cursor"].as_str().unwrap();
    let next = get(
        &app,
        &token,
        &format!("/v1/me/accounts/medical/transactions?limit=1&cursor={c}"),
    )
    .await;
    assert_eq!(next["items"][0], items[1]);
    assert!(next["next_cursor"].is_string());
    let october = get(
        &app,
        &token,
        "/v1/me/accounts/medical/transactions?from=2026-10-01&to=2026-10-31",
    )
    .await;
    let october = october["items"].as_array().unwrap();
    assert_eq!(october.len(), demo_october + 1);
    assert!(october.iter().any(|t| t["account_paid_fen"] == 12_345));
    let res = app
        .get("/v1/me/accounts/medical/transactions?from=yesterday")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_problem(res, 422, "validation_failed").await;
}

/// The id of the person bound to the first bound account.
fn bound_person_id(conn: &mut shebao_infra::db::DbConnection) -> String {
    use shebao_infra::schema::accounts::dsl as a;
    a::accounts
        .filter(a::person_id.is_not_null())
        .select(a::person_id.assume_not_null())
        .first(conn)
        .unwrap()
}

#[tokio::test]
async fn medical_dates_are_days_of_the_regions_calendar() {
    let app = demo().await;
    let token = app.register_and_bind("+8613800138000", ZHANG).await.access;
    let mut conn = app.db.connect();
    let person_id = bound_person_id(&mut conn);
    use shebao_infra::schema::medical_transactions::dsl as m;
    // Stored in UTC: 15:30Z is 23:30 on the 20th in Shenzhen (UTC+8); 23:30Z on the 20th is
    // already 07:30 on the 21st there.
    for (i, at) in ["2026-11-20 15:30:00", "2026-11-20 23:30:00"]
        .into_iter()
        .enumerate()
    {
        diesel::insert_into(m::medical_transactions)
            .values((
                m::id.eq(format!("0191{i}")),
                m::external_id.eq(format!("late-{i}")),
                m::person_id.eq(&person_id),
                m::occurred_at
                    .eq(chrono::NaiveDateTime::parse_from_str(at, "%Y-%m-%d %H:%M:%S").unwrap()),
                m::institution_code.eq("H4403001"),
                m::institution_name.eq("深圳市人民医院"),
                m::kind.eq("pharmacy"),
                m::total_fen.eq(1_000 + i as i64),
                m::account_paid_fen.eq(1_000 + i as i64),
                m::fund_paid_fen.eq(0),
                m::self_paid_fen.eq(0),
                m::created_at.eq(chrono::Utc::now().naive_utc()),
            ))
            .execute(&mut conn)
            .unwrap();
    }
    let on = |day: &str| format!("/v1/me/accounts/medical/transactions?from={day}&to={day}");
    let twentieth = get(&app, &token, &on("2026-11-20")).await;
    let items = twentieth["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["occurred_at"], "2026-11-20T15:30:00Z");
    let twenty_first = get(&app, &token, &on("2026-11-21")).await;
    let items = twenty_first["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["occurred_at"], "2026-11-20T23:30:00Z");
    // Open-ended: from the 21st on, only the second; up to the 20th, only the first.
    let later = get(
        &app,
        &token,
        "/v1/me/accounts/medical/transactions?from=2026-11-21",
    )
    .await;
    assert_eq!(later["items"].as_array().unwrap().len(), 1);
    let earlier = get(
        &app,
        &token,
        "/v1/me/accounts/medical/transactions?from=2026-11-20&to=2026-11-20",
    )
    .await;
    assert_eq!(earlier["items"][0]["account_paid_fen"], 1_000);
}

#[tokio::test]
async fn unemployment_time_restarts_after_re_employment() {
    let app = demo().await;
    let token = app.register_and_bind("+8613800138000", ZHANG).await.access;
    let mut conn = app.db.connect();
    let person_id = bound_person_id(&mut conn);
    // 24 months of benefit drawn in 2012–2013 (one month paid twice: an adjustment), before the
    // job that paid in from 2014-01.
    use shebao_infra::schema::benefit_payments::dsl as b;
    let periods = (0..24).map(|k| format!("{}-{:02}", 2012 + k / 12, k % 12 + 1));
    for (i, period) in periods.chain(["2013-12".to_owned()]).enumerate() {
        diesel::insert_into(b::benefit_payments)
            .values((
                b::id.eq(format!("0192{i:03}")),
                b::external_id.eq(format!("u-{i}")),
                b::person_id.eq(&person_id),
                b::kind.eq("unemployment"),
                b::period.eq(period),
                b::amount_fen.eq(180_000),
                b::paid_at.eq(chrono::Utc::now().naive_utc()),
                b::created_at.eq(chrono::Utc::now().naive_utc()),
            ))
            .execute(&mut conn)
            .unwrap();
    }
    let list = get(&app, &token, "/v1/me/benefits?kind=unemployment&limit=1").await;
    // The time restarted with the new job: 154 months → 24; nothing of the old entitlement is
    // left, and none of the new one is drawn (counting every benefit month ever left 0).
    assert_eq!(
        list["unemployment"],
        json!({"contribution_months": 154, "months_granted": 24, "months_paid": 0, "months_left": 24})
    );
}

#[tokio::test]
async fn benefits_and_unemployment_entitlement() {
    let app = demo().await;
    let token = app.register_and_bind("+8613800138000", ZHANG).await.access;
    let list = get(&app, &token, "/v1/me/benefits").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
    // 154 paid months of unemployment insurance: 10 years and more → 24 months.
    assert_eq!(list["unemployment"]["contribution_months"], 154);
    assert_eq!(list["unemployment"]["months_granted"], 24);
    assert_eq!(list["unemployment"]["months_left"], 24);
    let res = app
        .get("/v1/me/benefits?kind=lottery")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_problem(res, 422, "validation_failed").await;
}

#[tokio::test]
async fn staff_reads_need_a_reason_and_show_in_the_access_log() {
    let app = demo().await;
    let token = app.register_and_bind("+8613800138000", ZHANG).await.access;
    let me_binding = get(&app, &token, "/v1/me/binding").await;
    let person_id = me_binding["person_id"].as_str().unwrap().to_owned();
    let staff = app.staff_token(StaffRole::Caseworker).await;
    let path = format!("/v1/staff/persons/{person_id}/contributions");
    let res = app.get(&path).bearer_auth(&staff).send().await.unwrap();
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "reason");
    let res = app
        .get(&format!(
            "{path}?reason=phone%20enquiry%20%23123&insurance=pension&limit=5"
        ))
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let page: Value = res.json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 5);
    // The person cannot use the staff route, and sees who looked and why.
    assert_problem(
        app.get(&format!("{path}?reason=x"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        401,
        "unauthorized",
    )
    .await;
    let log = get(&app, &token, "/v1/me/access-log").await;
    let entry = &log["items"][0];
    assert_eq!(entry["action"], "contributions.read");
    assert_eq!(entry["reason"], "phone enquiry #123");
    assert_eq!(entry["staff_role"], "caseworker");
    // Unknown person: 404.
    let res = app
        .get("/v1/staff/persons/01937e1a-0000-7000-8000-000000000000/contributions?reason=x")
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap();
    assert_problem(res, 404, "not_found").await;
}

/// The summary the database adds up (`contributions::summary`) is the domain's `summarize` over
/// the same rows, for every person of the demo and a person with every awkward case — two
/// employers in a month, pending and due rows, gaps, months either side of the due date — on
/// days around the due date.
#[tokio::test]
async fn the_summary_query_agrees_with_the_domain_row_by_row() {
    use shebao_domain::contribution::ContributionAmounts;
    use shebao_domain::insurance::InsuranceType;
    use shebao_domain::money::Fen;
    use shebao_domain::period::Period;
    use shebao_infra::records::contributions::{self, ContributionStatus, NewContribution};
    use shebao_infra::schema::{contributions as c, persons as p};

    let app = demo().await;
    // A new person (no rows yet) gets the awkward ones.
    let admin = app.staff_token(StaffRole::Admin).await;
    let res = app
        .post("/v1/staff/persons")
        .bearer_auth(&admin)
        .json(
            &json!({"national_id": "11010519491231002X", "name": "赵敏", "region": "440300",
            "card_number": "A44030000099", "medical_category": "employee",
            "employment_status": "employed"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    let fresh = created["id"].as_str().unwrap().to_owned();
    let mut conn = app.db.connect();
    let ids: Vec<String> = p::table.select(p::id).load(&mut conn).unwrap();
    assert!(ids.len() >= 3, "the demo has persons");
    let employers: Vec<String> = c::table
        .filter(c::employer_id.is_not_null())
        .select(c::employer_key)
        .distinct()
        .load(&mut conn)
        .unwrap();
    assert!(employers.len() >= 2, "the demo has two employers");
    let person = uuid::Uuid::parse_str(&fresh).unwrap();
    let month = |s: &str| Period::parse(s).unwrap();
    let row =
        |p: &str, i: InsuranceType, e: usize, s: ContributionStatus, fen: i64| NewContribution {
            person_id: person,
            employer_id: Some(uuid::Uuid::parse_str(&employers[e]).unwrap()),
            period: month(p),
            insurance: i,
            declared_wage_fen: fen * 10,
            amounts: ContributionAmounts {
                base: Fen(fen * 10),
                employer: Fen(fen * 2),
                employee: Fen(fen),
            },
            status: s,
            paid_at: None,
        };
    use ContributionStatus::{Due, Paid, Pending};
    use InsuranceType::{Medical, Pension, Unemployment};
    let rows = vec![
        row("2025-01", Pension, 0, Paid, 800),
        row("2025-01", Pension, 1, Paid, 300),
        row("2025-02", Pension, 0, Paid, 800),
        // 2025-03 … 2025-06 missing: a gap of four.
        row("2025-07", Pension, 0, Paid, 800),
        row("2025-08", Pension, 0, Due, 800),
        row("2025-08", Pension, 1, Due, 300),
        row("2025-09", Pension, 0, Pending, 800),
        row("2026-09", Pension, 0, Due, 801),
        row("2026-10", Pension, 0, Due, 802),
        row("2026-10", Pension, 1, Paid, 303),
        row("2026-11", Pension, 0, Due, 803),
        row("2025-01", Medical, 0, Paid, 200),
        row("2026-10", Medical, 0, Pending, 200),
        row("2026-10", Unemployment, 0, Due, 50),
    ];
    let now = chrono::Utc::now().naive_utc();
    contributions::insert_many(&mut conn, &rows, now).unwrap();

    let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let mut compared = 0;
    for today in ["2026-11-15", "2026-11-16", "2026-12-31", "2027-01-01"] {
        for id in &ids {
            let pid = uuid::Uuid::parse_str(id).unwrap();
            let by_rows: Vec<_> = contributions::month_rows(&mut conn, pid, day(today))
                .unwrap()
                .into_iter()
                .map(|(r, _)| r)
                .collect();
            let expected = shebao_domain::statement::summarize(&by_rows);
            let due_day = contributions::due_day_of(&mut conn, pid).unwrap();
            let got = contributions::summary(&mut conn, pid, due_day, day(today)).unwrap();
            assert_eq!(got, expected, "person {id} on {today}");
            compared += expected.len();
        }
    }
    assert!(compared > 20, "the comparison saw rows ({compared})");
    // The awkward person by hand, on 16 November 2026 (October is then in arrears).
    let s = contributions::summary(&mut conn, person, 15, day("2026-11-16")).unwrap();
    let pension = &s[0];
    assert_eq!(pension.insurance, Pension);
    assert_eq!(pension.months_paid, 4, "2025-01 (twice), 02, 07, 2026-10");
    assert_eq!(pension.employee_total, Fen(800 + 300 + 800 + 800 + 303));
    assert_eq!(pension.longest_gap_months, 14, "2025-07 to 2026-10");
    assert_eq!(pension.arrears_months, 3, "2025-08, 2026-09, 2026-10");
    assert_eq!(pension.arrears, Fen(3 * (800 + 300) + 3 * 801 + 3 * 802));
    assert_eq!((pension.due_months, pension.pending_months), (1, 1));
    assert_eq!(s[1].insurance, Medical);
    assert_eq!(s[2].insurance, Unemployment);
    assert_eq!(s[2].arrears_months, 1);
}
