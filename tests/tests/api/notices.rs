//! Notices end to end: the audience query agrees with the rule person by person on a varied
//! population at the edges (birthdays, the due day, benefits in payment); over HTTP a person
//! sees exactly the notices aimed at them and the audience size counts exactly those persons;
//! read marks, unread filters, scheduled and expired notices, pagination; the staff's roles and
//! regions and every validation; the SMS once per person with the opt-out respected.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use diesel::prelude::*;
use serde_json::{json, Value};
use shebao_domain::applications::ApplicationKind;
use shebao_domain::contribution::ContributionAmounts;
use shebao_domain::identity::{NationalId, PersonName};
use shebao_domain::insurance::InsuranceType;
use shebao_domain::money::Fen;
use shebao_domain::notices::{AudienceParts, AudienceRule, Benefit};
use shebao_domain::period::Period;
use shebao_domain::person::{CardNumber, EmploymentStatus, MedicalCategory};
use shebao_domain::region::{RegionCode, RegionRules};
use shebao_domain::staff::StaffRole;
use shebao_infra::db::DbConnection;
use shebao_infra::notices::audience;
use shebao_infra::records::contributions::{self, ContributionStatus, NewContribution};
use shebao_infra::registry::persons::{self, NewPerson};
use shebao_infra::registry::{regions, staff};
use shebao_security::{KeyMaterial, PiiVault};
use shebao_tests::{assert_problem, spawn_app_with, TestApp, TestDatabase, TestOptions};
use uuid::Uuid;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn years_before(day: NaiveDate, years: u32) -> NaiveDate {
    day.checked_sub_months(chrono::Months::new(years * 12))
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// The query and the rule agree, person by person

/// A population with every fact a rule reads varied, and births at the edges of the ages the
/// rules below name on the days below.
struct Population {
    conn: DbConnection,
    persons: Vec<Uuid>,
}

const DAYS: [(i32, u32, u32); 5] = [
    // Beijing's months fall due on the 10th (set below), Shenzhen's on the 15th.
    (2026, 12, 10),
    (2026, 12, 11),
    (2026, 12, 16),
    // A common year's 28 February: those born on 29 February have their birthday.
    (2027, 2, 28),
    (2027, 3, 1),
];

/// Which persons of the population live in Beijing (the rest in Shenzhen): not in step with the
/// other facts' patterns.
fn in_beijing(i: usize) -> bool {
    (i / 2).is_multiple_of(2)
}

impl Population {
    fn new(db: &TestDatabase) -> Population {
        let mut conn = db.connect();
        let now = Utc::now().naive_utc();
        shebao_infra::seed::ensure_regions(&mut conn, 2026, now).unwrap();
        let beijing = RegionCode::parse("110000").unwrap();
        let rules = RegionRules {
            contribution_due_day: 10,
            ..RegionRules::default()
        };
        regions::set_rules(&mut conn, &beijing, &rules, now).unwrap();
        let vault = PiiVault::new(&KeyMaterial::generate());
        let mut births = BTreeSet::new();
        for (y, m, day) in DAYS {
            let today = d(y, m, day);
            for years in [16, 18, 30, 59, 60] {
                let b = years_before(today, years);
                births.extend([b.pred_opt().unwrap(), b, b.succ_opt().unwrap()]);
            }
        }
        births.extend([
            d(2008, 2, 29),
            d(1996, 2, 29),
            d(1968, 2, 29),
            d(1967, 3, 1),
        ]);
        let mut persons_added = Vec::new();
        for (i, birth) in births.into_iter().enumerate() {
            let n = u16::try_from(i).unwrap();
            let (region, district) = if in_beijing(i) {
                ("110000", "110105")
            } else {
                ("440300", "440305")
            };
            let p = NewPerson {
                // The sequence's parity is the gender: every other person is a woman.
                national_id: NationalId::from_parts(district, birth, 100 + n).unwrap(),
                name: PersonName::parse("测试").unwrap(),
                region: RegionCode::parse(region).unwrap(),
                card_number: CardNumber::parse(&format!("N{n:011}")).unwrap(),
                medical_category: if i % 4 == 1 {
                    MedicalCategory::Resident
                } else {
                    MedicalCategory::Employee
                },
                employment_status: EmploymentStatus::ALL[i % 4],
            };
            let id = persons::insert(&mut conn, &vault, &p, now)
                .unwrap()
                .unwrap()
                .id;
            persons_added.push(id);
        }
        let mut pop = Population {
            conn,
            persons: persons_added,
        };
        let ids = pop.persons.clone();
        for (i, id) in ids.into_iter().enumerate() {
            // Contributions: none; last month (Nov) unpaid — in arrears after the region's due
            // day; this month unpaid; arrears stored; paid only; October unpaid.
            match i % 6 {
                1 => pop.month(id, "2026-11", ContributionStatus::Due),
                2 => pop.month(id, "2026-12", ContributionStatus::Due),
                3 => pop.month(id, "2023-05", ContributionStatus::Arrears),
                4 => pop.month(id, "2026-11", ContributionStatus::Paid),
                5 => pop.month(id, "2026-10", ContributionStatus::Due),
                _ => {}
            }
            // Payments: pension last month; unemployment in September (over); unemployment
            // this month; pension next month.
            match i % 5 {
                1 => pop.payment(id, i, "pension", "2026-11"),
                2 => pop.payment(id, i, "unemployment", "2026-09"),
                3 => pop.payment(id, i, "unemployment", "2026-12"),
                4 => pop.payment(id, i, "pension", "2027-01"),
                _ => {}
            }
            // Awards: over in November; for good from December; for good since 2018; this
            // month only; from January for a year; two years from December 2025.
            match i % 7 {
                1 => pop.award(id, "unemployment", "2026-06", Some(6)),
                2 => pop.award(id, "minimum_living", "2026-12", None),
                3 => pop.award(id, "pension", "2018-03", None),
                4 => pop.award(id, "temporary_assistance", "2026-12", Some(1)),
                5 => pop.award(id, "medical_assistance", "2027-01", Some(12)),
                6 => pop.award(id, "unemployment", "2025-12", Some(24)),
                _ => {}
            }
        }
        pop
    }

    fn month(&mut self, person: Uuid, period: &str, status: ContributionStatus) {
        let row = NewContribution {
            person_id: person,
            employer_id: None,
            period: Period::parse(period).unwrap(),
            insurance: InsuranceType::Pension,
            declared_wage_fen: 500_000,
            amounts: ContributionAmounts {
                base: Fen(500_000),
                employer: Fen(0),
                employee: Fen(100_000),
            },
            status,
            paid_at: None,
        };
        contributions::insert_many(&mut self.conn, &[row], Utc::now().naive_utc()).unwrap();
    }

    fn payment(&mut self, person: Uuid, i: usize, kind: &str, period: &str) {
        use shebao_infra::schema::benefit_payments as bp;
        let now = Utc::now().naive_utc();
        diesel::insert_into(bp::table)
            .values((
                bp::id.eq(Uuid::now_v7().to_string()),
                bp::external_id.eq(format!("T-{i}-{period}")),
                bp::person_id.eq(person.to_string()),
                bp::kind.eq(kind),
                bp::period.eq(period),
                bp::amount_fen.eq(300_000i64),
                bp::paid_at.eq(now),
                bp::created_at.eq(now),
            ))
            .execute(&mut self.conn)
            .unwrap();
    }

    fn award(&mut self, person: Uuid, kind: &str, starts: &str, months: Option<u32>) {
        use shebao_infra::applications::{effects, store};
        let now = Utc::now().naive_utc();
        let app = store::create(
            &mut self.conn,
            &store::NewApplication {
                person_id: person,
                region_code: "440300".into(),
                kind: ApplicationKind::SocialAssistance,
                data: json!({}),
                idempotency_key: format!("k-{person}"),
                request_hash: "h".into(),
            },
            now,
        )
        .unwrap()
        .unwrap();
        effects::add_award(
            &mut self.conn,
            person,
            app.id,
            kind,
            100_000,
            months,
            starts,
            now,
        )
        .unwrap();
    }
}

fn rule(p: AudienceParts) -> AudienceRule {
    AudienceRule::new(p).unwrap()
}

fn regions_of(codes: &[&str]) -> Option<Vec<RegionCode>> {
    Some(
        codes
            .iter()
            .map(|c| RegionCode::parse(c).unwrap())
            .collect(),
    )
}

/// Every field alone (at its edges), some together, and none.
fn rules() -> Vec<AudienceRule> {
    use shebao_domain::identity::Gender;
    let mut out = vec![AudienceRule::everyone()];
    for regions in [&["440300"][..], &["110000"], &["110000", "440300"]] {
        out.push(rule(AudienceParts {
            regions: regions_of(regions),
            ..Default::default()
        }));
    }
    for age in [0, 16, 17, 18, 29, 30, 59, 60, 61] {
        out.push(rule(AudienceParts {
            age_min: Some(age),
            ..Default::default()
        }));
        out.push(rule(AudienceParts {
            age_max: Some(age),
            ..Default::default()
        }));
    }
    for (min, max) in [(16, 59), (18, 18), (30, 30), (60, 60), (17, 60)] {
        out.push(rule(AudienceParts {
            age_min: Some(min),
            age_max: Some(max),
            ..Default::default()
        }));
    }
    for g in Gender::ALL {
        out.push(rule(AudienceParts {
            gender: Some(g),
            ..Default::default()
        }));
    }
    for s in EmploymentStatus::ALL {
        out.push(rule(AudienceParts {
            employment_status: Some(vec![s]),
            ..Default::default()
        }));
    }
    out.push(rule(AudienceParts {
        employment_status: Some(vec![
            EmploymentStatus::Unemployed,
            EmploymentStatus::Flexible,
        ]),
        ..Default::default()
    }));
    for m in MedicalCategory::ALL {
        out.push(rule(AudienceParts {
            medical_category: Some(m),
            ..Default::default()
        }));
    }
    for a in [true, false] {
        out.push(rule(AudienceParts {
            has_arrears: Some(a),
            ..Default::default()
        }));
    }
    for b in Benefit::ALL {
        out.push(rule(AudienceParts {
            receives: Some(vec![b]),
            ..Default::default()
        }));
    }
    out.push(rule(AudienceParts {
        receives: Some(vec![Benefit::Pension, Benefit::MinimumLiving]),
        ..Default::default()
    }));
    // Together.
    out.push(rule(AudienceParts {
        regions: regions_of(&["440300"]),
        age_min: Some(16),
        age_max: Some(59),
        employment_status: Some(vec![EmploymentStatus::Unemployed]),
        ..Default::default()
    }));
    out.push(rule(AudienceParts {
        regions: regions_of(&["110000"]),
        has_arrears: Some(true),
        gender: Some(Gender::Female),
        ..Default::default()
    }));
    out.push(rule(AudienceParts {
        age_min: Some(60),
        receives: Some(vec![Benefit::Pension]),
        medical_category: Some(MedicalCategory::Employee),
        has_arrears: Some(false),
        ..Default::default()
    }));
    out
}

#[test]
fn the_audience_query_agrees_with_the_rule_person_by_person() {
    let db = TestDatabase::new();
    let mut pop = Population::new(&db);
    let all = pop.persons.len();
    assert!(all > 50, "{all} persons");
    let rules = rules();
    let mut sizes = BTreeSet::new();
    for (y, m, day) in DAYS {
        let today = d(y, m, day);
        let facts: Vec<_> = pop
            .persons
            .iter()
            .map(|p| {
                (
                    *p,
                    audience::facts_of(&mut pop.conn, *p, today)
                        .unwrap()
                        .unwrap(),
                )
            })
            .collect();
        for r in &rules {
            let mut want: Vec<Uuid> = facts
                .iter()
                .filter(|(_, f)| r.matches(f, today))
                .map(|(p, _)| *p)
                .collect();
            want.sort_by_key(|p| p.to_string());
            let got = audience::ids(&mut pop.conn, r, today).unwrap();
            assert_eq!(got, want, "{r:?} on {today}");
            let n = audience::count(&mut pop.conn, r, today).unwrap();
            assert_eq!(n, i64::try_from(want.len()).unwrap(), "{r:?} on {today}");
            sizes.insert(want.len());
        }
    }
    // The rules cut the population in many ways (a test where every rule matched everyone or
    // no one would prove nothing).
    assert!(sizes.len() > 20, "{sizes:?}");
    assert!(sizes.contains(&all));

    // By hand, at the due day: the person with November unpaid in Beijing (due on the 10th)
    // is in arrears from 11 December, the one in Shenzhen (the 15th) from the 16th.
    let arrears = rule(AudienceParts {
        has_arrears: Some(true),
        ..Default::default()
    });
    let november_unpaid: Vec<(Uuid, &str)> = pop
        .persons
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 6 == 1)
        .map(|(i, p)| (*p, if in_beijing(i) { "110000" } else { "440300" }))
        .collect();
    assert!(november_unpaid.iter().any(|(_, r)| *r == "110000"));
    assert!(november_unpaid.iter().any(|(_, r)| *r == "440300"));
    for (day, beijing, shenzhen) in [(10, false, false), (11, true, false), (16, true, true)] {
        let reached: BTreeSet<Uuid> = audience::ids(&mut pop.conn, &arrears, d(2026, 12, day))
            .unwrap()
            .into_iter()
            .collect();
        for (p, region) in &november_unpaid {
            let want = if *region == "110000" {
                beijing
            } else {
                shenzhen
            };
            assert_eq!(reached.contains(p), want, "{region} on 12-{day}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Over HTTP

/// 10:00 on 10 December 2026 in Beijing.
fn ten_am() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 10, 2, 0, 0).unwrap()
}

async fn app_at(start: DateTime<Utc>) -> TestApp {
    let app = spawn_app_with(TestOptions {
        start,
        env: vec![("SHEBAO_ACCESS_TOKEN_TTL_SECS", "3600".into())],
        ..Default::default()
    })
    .await;
    app.seed_regions();
    app
}

/// A person to register and bind.
struct Who {
    national_id: String,
    name: &'static str,
    card: String,
}

/// Registers a person through the staff API.
async fn register(
    app: &TestApp,
    admin: &str,
    n: u16,
    region: &str,
    birth: NaiveDate,
    status: &str,
    category: &str,
) -> Who {
    let district = if region == "110000" {
        "110105"
    } else {
        "440305"
    };
    let who = Who {
        national_id: NationalId::from_parts(district, birth, 200 + n)
            .unwrap()
            .expose()
            .to_owned(),
        name: "测试人",
        card: format!("T{n:011}"),
    };
    let res = app
        .post("/v1/staff/persons")
        .bearer_auth(admin)
        .json(&json!({
            "national_id": who.national_id, "name": who.name, "region": region,
            "card_number": who.card, "medical_category": category, "employment_status": status,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    who
}

/// Signs `phone` up and binds `who`; the plain access token.
async fn bind(app: &TestApp, phone: &str, who: &Who) -> String {
    let pair = app.register(phone).await;
    let token = pair["access_token"].as_str().unwrap().to_owned();
    let stepped = app.step_up(&token, phone).await;
    let res = app
        .post("/v1/me/binding")
        .bearer_auth(&stepped)
        .json(&json!({"national_id": who.national_id, "name": who.name, "card_number": who.card}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    token
}

/// A new access token for `phone` (tokens live an hour; the tests move the clock by days).
async fn sign_in(app: &TestApp, phone: &str) -> String {
    let res = app
        .post("/v1/auth/login")
        .json(&json!({"phone": phone, "password": shebao_tests::PERSON_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let v: Value = res.json().await.unwrap();
    v["access_token"].as_str().unwrap().to_owned()
}

async fn publish(app: &TestApp, staff: &str, body: Value) -> reqwest::Response {
    app.post("/v1/staff/notices")
        .bearer_auth(staff)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// A notice for `audience`, shown from now for 30 days; its id.
async fn published(app: &TestApp, staff: &str, title: &str, audience: Value) -> String {
    let now = app.clock_now();
    let res = publish(
        app,
        staff,
        json!({
            "kind": "policy", "title": title, "body": "正文", "audience": audience,
            "expire_at": now + Duration::days(30),
        }),
    )
    .await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let v: Value = res.json().await.unwrap();
    v["id"].as_str().unwrap().to_owned()
}

trait Now {
    fn clock_now(&self) -> DateTime<Utc>;
}

impl Now for TestApp {
    fn clock_now(&self) -> DateTime<Utc> {
        use shebao_domain::ports::Clock;
        self.clock.now()
    }
}

/// Every notice the person sees now (all pages), newest first, by id.
async fn seen(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/me/notices?limit=2{query}&cursor={c}"),
            None => format!("/v1/me/notices?limit=2{query}"),
        };
        let page = app.get_ok(token, &path).await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        out.extend(items.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => {
                assert_eq!(items.len(), 2, "a page before the last is full");
                cursor = Some(c.to_owned());
            }
            None => return out,
        }
    }
}

fn ids(items: &[Value]) -> BTreeSet<String> {
    items
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn audience_size(app: &TestApp, staff: &str, id: &str) -> i64 {
    let v = app
        .get_ok(staff, &format!("/v1/staff/notices/{id}/audience-size"))
        .await;
    assert_eq!(v["notice_id"], id);
    v["persons"].as_i64().unwrap()
}

async fn read(app: &TestApp, token: &str, id: &str) -> reqwest::Response {
    app.post(&format!("/v1/me/notices/{id}/read"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// Each person (by token) sees exactly the notices `expected` names for them, and each
/// notice's audience size is the number of persons who see it.
async fn check(
    app: &TestApp,
    admin: &str,
    tokens: &[String],
    id_of: &BTreeMap<&str, String>,
    expected: [&[&str]; 5],
) {
    let mut reached: BTreeMap<String, i64> = BTreeMap::new();
    for (token, want) in tokens.iter().zip(expected) {
        let got = ids(&seen(app, token, "").await);
        let want: BTreeSet<String> = want.iter().map(|n| id_of[n].clone()).collect();
        assert_eq!(got, want);
        for id in got {
            *reached.entry(id).or_default() += 1;
        }
    }
    // The audience size is exactly the persons who see it (all of them are bound).
    for id in id_of.values() {
        assert_eq!(
            audience_size(app, admin, id).await,
            reached.get(id).copied().unwrap_or(0),
            "{id}"
        );
    }
}

#[tokio::test]
async fn persons_see_exactly_the_notices_aimed_at_them_and_the_audience_size_counts_them() {
    let app = app_at(ten_am()).await;
    let admin = app.staff_token(StaffRole::Admin).await;
    let today = d(2026, 12, 10);
    // 30 today; 30 tomorrow; unemployed in Beijing; employed; a resident pensioner.
    let specs = [
        ("440300", years_before(today, 30), "unemployed", "employee"),
        (
            "440300",
            years_before(today, 30).succ_opt().unwrap(),
            "unemployed",
            "employee",
        ),
        ("110000", d(1986, 5, 5), "unemployed", "employee"),
        ("440300", d(1990, 1, 1), "employed", "employee"),
        ("440300", d(1960, 1, 1), "retired", "resident"),
    ];
    let mut tokens = Vec::new();
    let phone = |n: usize| format!("+86139000010{n:02}");
    for (i, (region, birth, status, category)) in specs.iter().enumerate() {
        let n = u16::try_from(i).unwrap();
        let who = register(&app, &admin, n, region, *birth, status, category).await;
        tokens.push(bind(&app, &phone(i), &who).await);
    }
    let notices: Vec<(&str, Value)> = vec![
        ("everyone", json!({})),
        (
            "szjob30",
            json!({"regions": ["440300"], "employment_status": ["unemployed"], "age_min": 30}),
        ),
        ("under30", json!({"age_max": 29})),
        ("beijing", json!({"regions": ["110000"]})),
        ("residents", json!({"medical_category": "resident"})),
        ("working_age", json!({"age_min": 16, "age_max": 59})),
        (
            "retired_or_employed",
            json!({"employment_status": ["retired", "employed"]}),
        ),
        (
            "nobody",
            json!({"regions": ["440300"], "employment_status": ["flexible"]}),
        ),
    ];
    let mut id_of = BTreeMap::new();
    for (name, audience) in &notices {
        id_of.insert(*name, published(&app, &admin, name, audience.clone()).await);
    }
    // Who sees what: by hand.
    let expected: [&[&str]; 5] = [
        &["everyone", "szjob30", "working_age"],
        &["everyone", "under30", "working_age"],
        &["everyone", "beijing", "working_age"],
        &["everyone", "working_age", "retired_or_employed"],
        &["everyone", "residents", "retired_or_employed"],
    ];
    check(&app, &admin, &tokens, &id_of, expected).await;
    assert_eq!(audience_size(&app, &admin, &id_of["nobody"]).await, 0);
    assert_eq!(audience_size(&app, &admin, &id_of["everyone"]).await, 5);

    // A notice aimed at others is 404 when marked read, exactly like one that does not exist.
    let res = read(&app, &tokens[0], &id_of["beijing"]).await;
    let others = assert_problem(res, 404, "not_found").await;
    let res = read(&app, &tokens[0], &Uuid::now_v7().to_string()).await;
    let missing = assert_problem(res, 404, "not_found").await;
    assert_eq!(others["detail"], missing["detail"]);
    assert_eq!(others["title"], missing["title"]);
    let res = read(&app, &tokens[0], "not-an-id").await;
    assert_problem(res, 404, "not_found").await;

    // The next day the second person turns 30: the age rules follow the birthday.
    app.clock.advance(Duration::days(1));
    let admin = app.staff_token(StaffRole::Admin).await;
    let mut tokens = Vec::new();
    for i in 0..specs.len() {
        tokens.push(sign_in(&app, &phone(i)).await);
    }
    check(
        &app,
        &admin,
        &tokens,
        &id_of,
        [
            &["everyone", "szjob30", "working_age"],
            &["everyone", "szjob30", "working_age"],
            &["everyone", "beijing", "working_age"],
            &["everyone", "working_age", "retired_or_employed"],
            &["everyone", "residents", "retired_or_employed"],
        ],
    )
    .await;
    assert_eq!(audience_size(&app, &admin, &id_of["under30"]).await, 0);
    app.stop().await;
}

#[tokio::test]
async fn read_marks_filters_publication_expiry_and_pages() {
    let app = app_at(ten_am()).await;
    let admin = app.staff_token(StaffRole::Admin).await;
    let who = register(
        &app,
        &admin,
        1,
        "440300",
        d(1990, 1, 1),
        "employed",
        "employee",
    )
    .await;
    let token = bind(&app, "+8613900002001", &who).await;
    let now = app.clock_now();
    // Seven notices published a minute apart, the newest a minute ago; kinds alternate.
    let mut created = Vec::new();
    for k in 0..7i64 {
        let kind = if k % 2 == 0 { "job" } else { "training" };
        let res = publish(
            &app,
            &admin,
            json!({
                "kind": kind, "title": format!("通知{k}"), "body": "正文",
                "audience": {}, "publish_at": now - Duration::minutes(7 - k),
                "expire_at": now + Duration::days(1),
            }),
        )
        .await;
        assert_eq!(res.status(), 201);
        let v: Value = res.json().await.unwrap();
        assert_eq!(v["status"], "published");
        created.push(v["id"].as_str().unwrap().to_owned());
    }
    // One published tomorrow, one expiring in an hour.
    let later = publish(
        &app,
        &admin,
        json!({"kind": "policy", "title": "明日", "body": "正文", "audience": {},
               "publish_at": now + Duration::days(1), "expire_at": now + Duration::days(2)}),
    )
    .await;
    assert_eq!(later.status(), 201);
    let later: Value = later.json().await.unwrap();
    assert_eq!(later["status"], "scheduled");
    let later = later["id"].as_str().unwrap().to_owned();
    let soon = publish(
        &app,
        &admin,
        json!({"kind": "service", "title": "一小时", "body": "正文", "audience": {},
               "publish_at": now - Duration::minutes(30), "expire_at": now + Duration::hours(1)}),
    )
    .await;
    let soon: Value = soon.json().await.unwrap();
    let soon = soon["id"].as_str().unwrap().to_owned();

    // Newest first, in pages of two: the seven, with the one expiring soon between them by
    // its publication (30 minutes ago: before all seven).
    let all = seen(&app, &token, "").await;
    let order: Vec<String> = all
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_owned())
        .collect();
    let mut want: Vec<String> = created.iter().rev().cloned().collect();
    want.push(soon.clone());
    assert_eq!(order, want);
    assert!(all
        .iter()
        .all(|n| n["read"] == false && n["read_at"].is_null()));
    // The scheduled one is not there, and cannot be marked read.
    assert!(!order.contains(&later));
    assert_problem(read(&app, &token, &later).await, 404, "not_found").await;

    // Read marks: once, the first time stays.
    let res = read(&app, &token, &created[0]).await;
    assert_eq!(res.status(), 200);
    let first: Value = res.json().await.unwrap();
    assert_eq!(first["read"], true);
    assert_eq!(first["id"], created[0].as_str());
    app.clock.advance(Duration::minutes(1));
    let again: Value = read(&app, &token, &created[0]).await.json().await.unwrap();
    assert_eq!(again["read_at"], first["read_at"]);
    assert_eq!(read(&app, &token, &created[3]).await.status(), 200);
    let unread = ids(&seen(&app, &token, "&unread=true").await);
    let was_read = ids(&seen(&app, &token, "&unread=false").await);
    assert_eq!(
        was_read,
        [created[0].clone(), created[3].clone()]
            .into_iter()
            .collect()
    );
    assert_eq!(unread.len(), 6);
    assert!(unread.is_disjoint(&was_read));
    let listed = seen(&app, &token, "").await;
    for n in &listed {
        let id = n["id"].as_str().unwrap();
        assert_eq!(n["read"], was_read.contains(id), "{n}");
    }
    // Kinds: jobs are notices 0, 2, 4, 6; read and kind together.
    let jobs = ids(&seen(&app, &token, "&kind=job").await);
    assert_eq!(
        jobs,
        [0, 2, 4, 6].iter().map(|k| created[*k].clone()).collect()
    );
    let unread_jobs = ids(&seen(&app, &token, "&kind=job&unread=true").await);
    assert_eq!(
        unread_jobs,
        [2, 4, 6].iter().map(|k| created[*k].clone()).collect()
    );
    // Bad filters.
    for q in [
        "unread=maybe",
        "kind=news",
        "limit=0",
        "limit=101",
        "cursor=%21%21",
    ] {
        let res = app
            .get(&format!("/v1/me/notices?{q}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_problem(res, 422, "validation_failed").await;
    }

    // A cursor no page gave, naming no position, reads as past the end.
    let forged = app
        .get_ok(&token, "/v1/me/notices?cursor=bm9uc2Vuc2U")
        .await;
    assert_eq!(forged, json!({"items": [], "next_cursor": null}));

    // An hour later the short one has expired: gone from the list, and 404 to mark read; the
    // next day the scheduled one shows.
    app.clock.advance(Duration::hours(1));
    let token = sign_in(&app, "+8613900002001").await;
    assert!(!ids(&seen(&app, &token, "").await).contains(&soon));
    assert_problem(read(&app, &token, &soon).await, 404, "not_found").await;
    app.clock.advance(Duration::days(1));
    let token = sign_in(&app, "+8613900002001").await;
    let admin = app.staff_token(StaffRole::Admin).await;
    let tomorrow = seen(&app, &token, "").await;
    assert_eq!(tomorrow.len(), 1, "the seven expired after a day");
    assert_eq!(tomorrow[0]["id"], later.as_str());

    // The staff see every notice, newest first, in pages, with its status.
    let mut staff_ids = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = app
            .get_ok(&admin, &format!("/v1/staff/notices?limit=4{cursor}"))
            .await;
        staff_ids.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["id"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(staff_ids.len(), 9);
    let mut newest_first = staff_ids.clone();
    newest_first.sort();
    newest_first.reverse();
    assert_eq!(staff_ids, newest_first);
    let one = app
        .get_ok(&admin, &format!("/v1/staff/notices/{soon}"))
        .await;
    assert_eq!(one["status"], "expired");
    let jobs_only = app.get_ok(&admin, "/v1/staff/notices?kind=job").await;
    assert_eq!(jobs_only["items"].as_array().unwrap().len(), 4);
    app.stop().await;
}

#[tokio::test]
async fn who_may_publish_where_and_every_invalid_notice() {
    let app = app_at(ten_am()).await;
    let admin = app.staff_token(StaffRole::Admin).await;
    let shenzhen = {
        let id = app.create_staff("cwshenzhen", StaffRole::Caseworker).await;
        let mut conn = DbConnection::open(&app.db.url).unwrap();
        assert!(staff::set_region(&mut conn, id, Some("440300"), Utc::now().naive_utc()).unwrap());
        let res = app.login("cwshenzhen", shebao_tests::STAFF_PASSWORD).await;
        let v: Value = res.json().await.unwrap();
        v["access_token"].as_str().unwrap().to_owned()
    };
    let anywhere = app.staff_token(StaffRole::Caseworker).await;
    let expire = app.clock_now() + Duration::days(7);
    let notice = |audience: Value| json!({"kind": "training", "title": "培训", "body": "正文", "audience": audience, "expire_at": expire});

    // A caseworker with a region publishes for that region only.
    let res = publish(&app, &shenzhen, notice(json!({"regions": ["440300"]}))).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let own: Value = res.json().await.unwrap();
    for audience in [
        json!({}),
        json!({"regions": ["110000"]}),
        json!({"regions": ["440300", "110000"]}),
        json!({"age_min": 16}),
    ] {
        let res = publish(&app, &shenzhen, notice(audience.clone())).await;
        assert_problem(res, 403, "forbidden").await;
    }
    // An admin, and a caseworker without a region (as for applications), anywhere.
    let res = publish(&app, &admin, notice(json!({"regions": ["110000"]}))).await;
    assert_eq!(res.status(), 201);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let beijing: Value = res.json().await.unwrap();
    assert_eq!(
        location,
        format!("/v1/staff/notices/{}", beijing["id"].as_str().unwrap())
    );
    let res = publish(&app, &anywhere, notice(json!({}))).await;
    assert_eq!(res.status(), 201);
    let everyone: Value = res.json().await.unwrap();

    // The Shenzhen caseworker sees their region's notices only; others are 404.
    let list = app.get_ok(&shenzhen, "/v1/staff/notices").await;
    assert_eq!(
        ids(list["items"].as_array().unwrap()),
        ids(std::slice::from_ref(&own))
    );
    for other in [&beijing, &everyone] {
        let id = other["id"].as_str().unwrap();
        for path in [
            format!("/v1/staff/notices/{id}"),
            format!("/v1/staff/notices/{id}/audience-size"),
        ] {
            let res = app.get(&path).bearer_auth(&shenzhen).send().await.unwrap();
            assert_problem(res, 404, "not_found").await;
        }
        let res = app
            .post(&format!("/v1/staff/notices/{id}/sms"))
            .bearer_auth(&shenzhen)
            .send()
            .await
            .unwrap();
        assert_problem(res, 404, "not_found").await;
    }
    let list = app.get_ok(&admin, "/v1/staff/notices").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 3);

    // Without a staff token: 401; a person's token is no staff token.
    let res = app.get("/v1/staff/notices").send().await.unwrap();
    assert_problem(res, 401, "unauthorized").await;
    let pair = app.register("+8613900003001").await;
    let person = pair["access_token"].as_str().unwrap().to_owned();
    let res = publish(&app, &person, notice(json!({}))).await;
    assert_problem(res, 401, "unauthorized").await;
    // A person not bound yet has no notices.
    let res = app
        .get("/v1/me/notices")
        .bearer_auth(&person)
        .send()
        .await
        .unwrap();
    assert_problem(res, 403, "binding_required").await;
    let res = app.get("/v1/me/notices").send().await.unwrap();
    assert_problem(res, 401, "unauthorized").await;

    // Every invalid field, all reported at once.
    let now = app.clock_now();
    let res = publish(
        &app,
        &admin,
        json!({
            "kind": "job",
            "title": " ",
            "body": "第一行\u{0007}",
            "link": "http://hrss.sz.gov.cn/",
            "audience": {"regions": ["44030", "999999"], "age_min": 60, "age_max": 16,
                         "employment_status": [], "receives": []},
            "publish_at": now + Duration::days(2),
            "expire_at": now + Duration::days(1),
        }),
    )
    .await;
    let body = assert_problem(res, 422, "validation_failed").await;
    let fields: BTreeMap<String, String> = body["errors"]
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
    let want: BTreeMap<String, String> = [
        ("title", "empty"),
        ("body", "control_character"),
        ("link", "format"),
        ("audience.regions[0]", "format"),
        ("audience.employment_status", "rule"),
        ("audience.receives", "rule"),
        ("audience.age_max", "rule"),
        ("expire_at", "rule"),
    ]
    .into_iter()
    .map(|(f, c)| (f.to_owned(), c.to_owned()))
    .collect();
    assert_eq!(fields, want);
    // A region the registry does not know (checked once the rest is right).
    let res = publish(
        &app,
        &admin,
        notice(json!({"regions": ["440300", "999999"]})),
    )
    .await;
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "audience.regions[1]");
    assert_eq!(body["errors"][0]["code"], "unknown");
    // One at a time: ages out of range, too long, expired already, too long a showing, an
    // unknown field, a wrong type, a missing field.
    for (bad, field) in [
        (json!({"audience": {"age_min": 151}}), "audience.age_min"),
        (json!({"audience": {"age_max": -1}}), "audience.age_max"),
        (json!({"title": "字".repeat(101)}), "title"),
        (json!({"body": "字".repeat(4001)}), "body"),
        (
            json!({"link": format!("https://x.cn/{}", "a".repeat(500))}),
            "link",
        ),
        (json!({"link": "https://user:pw@x.cn/"}), "link"),
        (
            json!({"expire_at": now - Duration::minutes(1), "publish_at": now - Duration::days(1)}),
            "expire_at",
        ),
        (json!({"expire_at": now + Duration::days(400)}), "expire_at"),
        (json!({"audience": {"colour": "red"}}), "audience"),
        // serde would read the rule from an array of its fields; the schema says an object.
        (json!({"audience": [null, null]}), "audience"),
        (json!({"audience": {"gender": "x"}}), "audience.gender"),
        (json!({"kind": "news"}), "kind"),
    ] {
        let mut body = notice(json!({}));
        for (k, v) in bad.as_object().unwrap() {
            body[k] = v.clone();
        }
        let res = publish(&app, &admin, body).await;
        let problem = assert_problem(res, 422, "validation_failed").await;
        let named: Vec<&str> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert!(
            named.iter().any(|f| f.starts_with(field)),
            "{bad}: {problem}"
        );
    }
    let mut missing = notice(json!({}));
    missing.as_object_mut().unwrap().remove("expire_at");
    let res = publish(&app, &admin, missing).await;
    let problem = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "expire_at");
    assert_eq!(problem["errors"][0]["code"], "required");
    // Nothing half-written: still the three notices.
    let list = app.get_ok(&admin, "/v1/staff/notices").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 3);
    let res = app
        .get(&format!("/v1/staff/notices/{}", Uuid::now_v7()))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_problem(res, 404, "not_found").await;
    // The rule comes back as given, lists sorted and each value once.
    let res = publish(
        &app,
        &admin,
        notice(json!({"employment_status": ["unemployed", "flexible", "unemployed"], "has_arrears": false})),
    )
    .await;
    let v: Value = res.json().await.unwrap();
    assert_eq!(
        v["audience"],
        json!({"employment_status": ["flexible", "unemployed"], "has_arrears": false})
    );
    app.stop().await;
}

/// The notice texts `phone` received (they name the notice kind: `…通知：`).
async fn notice_texts(app: &TestApp, phone: &str) -> Vec<String> {
    app.sms_messages(phone)
        .await
        .iter()
        .filter_map(|m| m["body"].as_str())
        .filter(|b| b.contains("通知："))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn a_notice_goes_by_sms_once_to_each_person_who_has_not_turned_notices_off() {
    let app = app_at(ten_am()).await;
    let admin = app.staff_token(StaffRole::Admin).await;
    let unemployed = |n: u16, region: &'static str| {
        let app = &app;
        let admin = &admin;
        async move {
            register(
                app,
                admin,
                n,
                region,
                d(1990, 3, 3),
                "unemployed",
                "employee",
            )
            .await
        }
    };
    let a = unemployed(1, "440300").await;
    let b = unemployed(2, "440300").await;
    let c = unemployed(3, "110000").await;
    let unbound = unemployed(4, "440300").await;
    let (pa, pb, pc) = ("+8613900004001", "+8613900004002", "+8613900004003");
    bind(&app, pa, &a).await;
    let tb = bind(&app, pb, &b).await;
    bind(&app, pc, &c).await;
    let _ = unbound;
    // B turns notices off (leaving the other campaigns as they are).
    let res = app
        .client
        .put(app.url("/v1/me/notification-preferences"))
        .bearer_auth(&tb)
        .json(&json!({"due": true, "arrears": true, "statement": true, "resident_window": true, "notices": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let now = app.clock_now();
    let res = publish(
        &app,
        &admin,
        json!({"kind": "job", "title": "深圳市2026年冬季大型招聘会", "body": "12月12日，深圳会展中心。",
               "audience": {"regions": ["440300"], "employment_status": ["unemployed"]},
               "expire_at": now + Duration::days(5), "send_sms": true}),
    )
    .await;
    assert_eq!(res.status(), 201);
    let notice: Value = res.json().await.unwrap();
    let id = notice["id"].as_str().unwrap().to_owned();
    let job = notice["sms_job_id"].as_str().unwrap().to_owned();
    // Three persons are reached; two have accounts; one of them turned notices off.
    assert_eq!(audience_size(&app, &admin, &id).await, 3);

    let started = std::time::Instant::now();
    while notice_texts(&app, pa).await.is_empty() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "no SMS came"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(
        notice_texts(&app, pa).await,
        ["【掌上社保】就业通知：深圳市2026年冬季大型招聘会。详情请在掌上社保查看。"]
    );
    // Asked again: the same job, nothing new; and the campaign run again queues nothing.
    let res = app
        .post(&format!("/v1/staff/notices/{id}/sms"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let again: Value = res.json().await.unwrap();
    assert_eq!(again["job_id"], job.as_str());
    assert_eq!(again["new"], false);
    let mut conn = app.db.connect();
    let notice_id = Uuid::parse_str(&id).unwrap();
    assert_eq!(
        shebao_infra::notices::sms::enqueue(&mut conn, notice_id, app.clock_now(), 1).unwrap(),
        0
    );
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(notice_texts(&app, pa).await.len(), 1, "once per person");
    assert!(
        notice_texts(&app, pb).await.is_empty(),
        "B turned notices off"
    );
    assert!(
        notice_texts(&app, pc).await.is_empty(),
        "C is not in the audience"
    );

    // At night a notice's messages wait for 08:00 in the person's region.
    app.clock.advance(Duration::hours(12)); // 22:00 in Beijing
    let admin = app.staff_token(StaffRole::Admin).await;
    let night = publish(
        &app,
        &admin,
        json!({"kind": "training", "title": "夜间发布的培训通知", "body": "正文",
               "audience": {"regions": ["440300"]}, "expire_at": app.clock_now() + Duration::days(5)}),
    )
    .await;
    let night: Value = night.json().await.unwrap();
    let night_id = night["id"].as_str().unwrap();
    let res = app
        .post(&format!("/v1/staff/notices/{night_id}/sms"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let started = std::time::Instant::now();
    let queued = loop {
        let jobs: Vec<(String, chrono::NaiveDateTime)> = {
            use shebao_infra::schema::jobs;
            jobs::table
                .filter(jobs::kind.eq("sms.reminder"))
                .filter(jobs::payload.like(format!("%{night_id}%")))
                .select((jobs::state, jobs::run_at))
                .load(&mut conn)
                .unwrap()
        };
        if !jobs.is_empty() || started.elapsed() > std::time::Duration::from_secs(30) {
            break jobs;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    // A (B turned notices off).
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(queued[0].0, "queued");
    assert_eq!(
        queued[0].1,
        Utc.with_ymd_and_hms(2026, 12, 11, 0, 0, 0)
            .unwrap()
            .naive_utc()
    );
    assert_eq!(notice_texts(&app, pa).await.len(), 1);

    // An expired notice is not sent any more.
    app.clock.advance(Duration::days(6));
    let admin = app.staff_token(StaffRole::Admin).await;
    let res = app
        .post(&format!("/v1/staff/notices/{id}/sms"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_problem(res, 409, "notice_expired").await;
    app.stop().await;
}

#[tokio::test]
async fn the_demo_persons_see_the_demo_notices_meant_for_them() {
    let app = spawn_app_with(TestOptions {
        demo_seed: true,
        ..Default::default()
    })
    .await;
    let zhang = Who {
        national_id: "440300198603120277".into(),
        name: "张伟",
        card: "A44030000001".into(),
    };
    let zheng = Who {
        national_id: "110000199106200737".into(),
        name: "郑涛",
        card: "A11000000012".into(),
    };
    let token = bind(&app, "+8613900005001", &zhang).await;
    let titles = |items: Vec<Value>| -> Vec<String> {
        items
            .iter()
            .map(|n| n["title"].as_str().unwrap().to_owned())
            .collect()
    };
    let mine = titles(seen(&app, &token, "").await);
    assert_eq!(mine, ["关于调整2026年度社会保险缴费基数上下限的通知"]);
    let token = bind(&app, "+8613900005002", &zheng).await;
    let mut mine = titles(seen(&app, &token, "").await);
    mine.sort();
    assert_eq!(
        mine,
        [
            "关于调整2026年度社会保险缴费基数上下限的通知",
            "北京市失业人员免费职业技能培训开始报名"
        ]
    );
    app.stop().await;
}
