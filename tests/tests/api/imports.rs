//! Staff bulk imports over HTTP: contributions, medical transactions, benefit payments.

use chrono::NaiveDate;
use diesel::prelude::*;
use serde_json::{json, Value};
use shebao_domain::employer::CreditCode;
use shebao_domain::identity::NationalId;
use shebao_domain::staff::StaffRole;
use shebao_infra::schema::{audit_log, benefit_payments, contributions, medical_transactions};
use shebao_tests::{assert_problem, spawn_app, TestApp};

const CONTRIBUTIONS: &str = "/v1/staff/contributions:import";
const MEDICAL: &str = "/v1/staff/medical-transactions:import";
const BENEFITS: &str = "/v1/staff/benefit-payments:import";
const NDJSON: &str = "application/x-ndjson";

/// (period, insurance, employer key, declared wage, base, employer, employee, status).
type StoredContribution = (String, String, String, i64, i64, i64, i64, String);
/// (external id, kind, amount, adjustment reason, adjustment delta).
type StoredBenefit = (String, String, i64, Option<String>, Option<i64>);

/// A valid ID number of someone born on 1 Jan 1980 + `n` days in district 440305.
fn national_id(n: u16) -> String {
    let born = NaiveDate::from_ymd_opt(1980, 1, 1).unwrap() + chrono::Duration::days(i64::from(n));
    NationalId::from_parts("440305", born, 101 + 2 * (n % 400))
        .unwrap()
        .expose()
        .to_owned()
}

fn credit_code(first16: &str) -> String {
    CreditCode::from_first16(first16)
        .unwrap()
        .as_str()
        .to_owned()
}

/// An app with the demo regions, a caseworker's token, `n` persons (the last one in flexible
/// employment) and one employer.
struct Setup {
    app: TestApp,
    token: String,
    /// (national ID, person id)
    persons: Vec<(String, String)>,
    employer: String,
}

async fn setup(n: u16) -> Setup {
    let app = spawn_app().await;
    app.seed_regions();
    let token = app.staff_token(StaffRole::Caseworker).await;
    let mut persons = Vec::new();
    for i in 0..n {
        let id = national_id(i);
        let res = app
            .post("/v1/staff/persons")
            .bearer_auth(&token)
            .json(&json!({
                "national_id": id, "name": "王五", "region": "440300",
                "card_number": format!("A4403000{:04}", i),
                "medical_category": "employee",
                "employment_status": if i + 1 == n { "flexible" } else { "employed" },
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
        let body: Value = res.json().await.unwrap();
        persons.push((id, body["id"].as_str().unwrap().to_owned()));
    }
    let employer = credit_code("91440300MA5F0000");
    let res = app
        .post("/v1/staff/employers")
        .bearer_auth(&token)
        .json(
            &json!({"name": "深圳市示例科技有限公司", "credit_code": employer, "region": "440300"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    Setup {
        app,
        token,
        persons,
        employer,
    }
}

impl Setup {
    async fn import(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        self.app
            .post(path)
            .bearer_auth(&self.token)
            .header("content-type", content_type)
            .header("accept-language", "en")
            .body(body)
            .send()
            .await
            .unwrap()
    }

    async fn import_ok(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Value {
        let res = self.import(path, content_type, body).await;
        assert_eq!(res.status(), 200);
        assert_eq!(
            res.headers().get("content-type").unwrap().to_str().unwrap(),
            "application/json"
        );
        res.json().await.unwrap()
    }

    /// A person's stored contributions, oldest first.
    fn stored_contributions(&self, person_id: &str) -> Vec<StoredContribution> {
        let mut conn = self.app.db.connect();
        contributions::table
            .filter(contributions::person_id.eq(person_id))
            .select((
                contributions::period,
                contributions::insurance,
                contributions::employer_key,
                contributions::declared_wage_fen,
                contributions::base_fen,
                contributions::employer_fen,
                contributions::employee_fen,
                contributions::status,
            ))
            .order((contributions::period, contributions::insurance))
            .load(&mut conn)
            .unwrap()
    }
}

fn jsonl(rows: &[Value]) -> String {
    rows.iter().map(|r| format!("{r}\n")).collect()
}

/// (line, code) of every listed rejection.
fn rejections(body: &Value) -> Vec<(u64, String)> {
    body["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap(),
                r["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn counts(body: &Value) -> (u64, u64, u64) {
    (
        body["accepted"].as_u64().unwrap(),
        body["unchanged"].as_u64().unwrap(),
        body["rejected_total"].as_u64().unwrap(),
    )
}

/// The first `n` contribution keys of the first seven (employed) persons, in file order: each
/// person's months from 2014-01 on, five insurances a month. (national ID, period, insurance.)
fn many_keys(s: &Setup, n: usize) -> Vec<(String, String, &'static str)> {
    let insurances = [
        "pension",
        "medical",
        "unemployment",
        "work_injury",
        "maternity",
    ];
    s.persons[..7]
        .iter()
        .flat_map(|(id, _)| {
            (2014..=2026).flat_map(move |year| {
                (1..=12).flat_map(move |month| {
                    insurances
                        .into_iter()
                        .map(move |i| (id.clone(), format!("{year}-{month:02}"), i))
                })
            })
        })
        .take(n)
        .collect()
}

/// The mixed file of the contribution tests: three good lines and eight bad ones.
fn mixed_contributions(s: &Setup) -> (Vec<Option<Value>>, Vec<(u64, &'static str)>) {
    let (p1, flexible) = (&s.persons[0].0, &s.persons[1].0);
    let paid = "2024-01-20T10:00:00+08:00";
    let lines = vec![
        // 1: good, paid
        Some(
            json!({"national_id": p1, "employer_credit_code": s.employer, "period": "2024-01", "insurance": "pension", "declared_wage_fen": 300000, "paid_at": paid}),
        ),
        // 2: good, due (wage as a string is accepted too)
        Some(
            json!({"national_id": p1, "employer_credit_code": s.employer, "period": "2024-01", "insurance": "medical", "declared_wage_fen": "300000"}),
        ),
        // 3: nobody registered with this ID number
        Some(
            json!({"national_id": national_id(900), "employer_credit_code": s.employer, "period": "2024-01", "insurance": "pension", "declared_wage_fen": 300000}),
        ),
        // 4: no 13th month
        Some(
            json!({"national_id": p1, "employer_credit_code": s.employer, "period": "2024-13", "insurance": "pension", "declared_wage_fen": 300000}),
        ),
        // 5: a valid credit code nobody registered
        Some(
            json!({"national_id": p1, "employer_credit_code": credit_code("91440300MA5F0001"), "period": "2024-02", "insurance": "pension", "declared_wage_fen": 300000}),
        ),
        // 6: parameters start in 2014
        Some(
            json!({"national_id": p1, "employer_credit_code": s.employer, "period": "2010-06", "insurance": "pension", "declared_wage_fen": 300000}),
        ),
        // 7: no such insurance
        Some(
            json!({"national_id": p1, "employer_credit_code": s.employer, "period": "2024-02", "insurance": "health", "declared_wage_fen": 300000}),
        ),
        // 8: blank: skipped
        None,
        // 9: flexible employment: pension on a chosen base of 8 000.00, no employer
        Some(
            json!({"national_id": flexible, "employer_credit_code": "", "period": "2024-01", "insurance": "pension", "declared_wage_fen": 800000, "paid_at": paid}),
        ),
        // 10: flexible employment cannot pay medical
        Some(
            json!({"national_id": flexible, "period": "2024-01", "insurance": "medical", "declared_wage_fen": 800000}),
        ),
        // 11: not JSON (written below)
        Some(json!("not json")),
        // 12: no wage
        Some(
            json!({"national_id": p1, "employer_credit_code": s.employer, "period": "2024-03", "insurance": "pension"}),
        ),
    ];
    let expected = vec![
        (3, "unknown_person"),
        (4, "invalid_field"),
        (5, "unknown_employer"),
        (6, "no_year_parameters"),
        (7, "invalid_field"),
        (10, "employer_required"),
        (11, "malformed_line"),
        (12, "missing_field"),
    ];
    (lines, expected)
}

fn mixed_jsonl(lines: &[Option<Value>]) -> String {
    lines
        .iter()
        .map(|l| match l {
            None => "\n".to_owned(),
            Some(Value::String(_)) => "{\"national_id\": oops\n".to_owned(),
            Some(v) => format!("{v}\n"),
        })
        .collect()
}

fn csv_value(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The same lines as CSV (header first, CRLF ends, a byte-order mark, some fields quoted).
fn mixed_csv(lines: &[Option<Value>]) -> String {
    let columns = [
        "national_id",
        "employer_credit_code",
        "period",
        "insurance",
        "declared_wage_fen",
        "paid_at",
    ];
    let mut out = format!("\u{feff}{}\r\n", columns.join(","));
    for l in lines {
        match l {
            None => out.push_str("\r\n"),
            Some(Value::String(_)) => out.push_str("\"unclosed,2024-01\r\n"),
            Some(v) => {
                let fields: Vec<String> = columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        let value = csv_value(&v[c]);
                        if i == 2 {
                            format!("\"{value}\"")
                        } else {
                            value
                        }
                    })
                    .collect();
                out.push_str(&fields.join(","));
                out.push_str("\r\n");
            }
        }
    }
    out
}

#[tokio::test]
async fn contributions_import_reports_each_bad_line_and_is_idempotent() {
    let s = setup(2).await;
    let (lines, expected) = mixed_contributions(&s);
    let body = mixed_jsonl(&lines);

    let first = s.import_ok(CONTRIBUTIONS, NDJSON, body.clone()).await;
    assert_eq!(counts(&first), (3, 0, 8), "{first}");
    let want: Vec<(u64, String)> = expected
        .iter()
        .map(|(l, c)| (*l, (*c).to_owned()))
        .collect();
    assert_eq!(rejections(&first), want);
    let rejected = first["rejected"].as_array().unwrap();
    assert_eq!(rejected[1]["field"], "period");
    assert_eq!(
        rejected[3]["message"],
        "Region 440300 has no contribution parameters for 2010."
    );
    assert_eq!(rejected[4]["field"], "insurance");
    assert_eq!(rejected[7]["field"], "declared_wage_fen");

    // Hand-computed from the demo parameters of 440300 for 2024 (as the API shows them):
    // average monthly wage 11 364.00 yuan, floor 60 % = 6 818.40. Declared 3 000.00 is below the
    // floor, so the base is 6 818.40; pension 16 % / 8 % = 1 090.944 / 545.472 → 1 090.94 / 545.47;
    // medical 8 % / 2 % = 545.472 / 136.368 → 545.47 / 136.37.
    let region: Value = s
        .app
        .get("/v1/staff/regions/440300")
        .bearer_auth(&s.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let y2024 = region["years"]
        .as_array()
        .unwrap()
        .iter()
        .find(|y| y["year"] == 2024)
        .unwrap();
    assert_eq!(y2024["average_monthly_wage_fen"], 1_136_400);
    assert_eq!(y2024["base_floor_fen"], 681_840);
    assert_eq!(y2024["rates"]["pension"]["employee_bp"], 800);
    assert_eq!(y2024["rates"]["medical"]["employee_bp"], 200);

    let employer_key = s.stored_contributions(&s.persons[0].1)[0].2.clone();
    assert!(!employer_key.is_empty());
    assert_eq!(
        s.stored_contributions(&s.persons[0].1),
        vec![
            (
                "2024-01".into(),
                "medical".into(),
                employer_key.clone(),
                300_000,
                681_840,
                54_547,
                13_637,
                "due".into()
            ),
            (
                "2024-01".into(),
                "pension".into(),
                employer_key.clone(),
                300_000,
                681_840,
                109_094,
                54_547,
                "paid".into()
            ),
        ]
    );
    // Flexible employment: 20 % of the chosen 8 000.00 (inside the bounds), paid alone.
    assert_eq!(
        s.stored_contributions(&s.persons[1].1),
        vec![(
            "2024-01".into(),
            "pension".into(),
            String::new(),
            800_000,
            800_000,
            0,
            160_000,
            "paid".into()
        )]
    );

    // The same file again changes nothing.
    let again = s.import_ok(CONTRIBUTIONS, NDJSON, body).await;
    assert_eq!(counts(&again), (0, 3, 8));
    assert_eq!(rejections(&again), want);

    // Both imports are audited, with their counts.
    let mut conn = s.app.db.connect();
    let reasons: Vec<(String, Option<String>, Option<String>)> = audit_log::table
        .filter(audit_log::action.eq("contributions.import"))
        .select((audit_log::outcome, audit_log::reason, audit_log::actor_id))
        .order(audit_log::occurred_at)
        .load(&mut conn)
        .unwrap();
    assert_eq!(reasons.len(), 2);
    assert!(reasons
        .iter()
        .all(|(o, _, actor)| o == "success" && actor.is_some()));
    let mut texts: Vec<String> = reasons.into_iter().filter_map(|(_, r, _)| r).collect();
    texts.sort();
    assert_eq!(
        texts,
        vec![
            "accepted=0, unchanged=3, rejected=8",
            "accepted=3, unchanged=0, rejected=8"
        ]
    );
}

#[tokio::test]
async fn a_changed_wage_updates_the_stored_amounts() {
    let s = setup(2).await;
    let p1 = &s.persons[0];
    let line = |wage: i64, paid_at: Option<&str>| {
        jsonl(&[
            json!({"national_id": p1.0, "employer_credit_code": s.employer, "period": "2024-03",
            "insurance": "pension", "declared_wage_fen": wage, "paid_at": paid_at}),
        ])
    };
    assert_eq!(
        counts(
            &s.import_ok(CONTRIBUTIONS, NDJSON, line(300_000, None))
                .await
        ),
        (1, 0, 0)
    );
    let key = s.stored_contributions(&p1.1)[0].2.clone();
    assert_eq!(
        s.stored_contributions(&p1.1),
        vec![(
            "2024-03".into(),
            "pension".into(),
            key.clone(),
            300_000,
            681_840,
            109_094,
            54_547,
            "due".into()
        )]
    );
    // 12 000.00 is inside [6 818.40, 34 092.00]: the base is the wage; 16 % = 1 920.00, 8 % = 960.00.
    let changed = s
        .import_ok(
            CONTRIBUTIONS,
            "application/jsonl",
            line(1_200_000, Some("2024-03-31T12:00:00Z")),
        )
        .await;
    assert_eq!(counts(&changed), (1, 0, 0));
    assert_eq!(
        s.stored_contributions(&p1.1),
        vec![(
            "2024-03".into(),
            "pension".into(),
            key.clone(),
            1_200_000,
            1_200_000,
            192_000,
            96_000,
            "paid".into()
        )]
    );
    // Within one body the last line of a key wins; a repeat of the stored row is unchanged.
    let body = format!(
        "{}{}{}",
        line(1_200_000, Some("2024-03-31T12:00:00Z")),
        line(500_000_000, Some("2024-03-31T12:00:00Z")),
        line(1_500_000, Some("2024-03-31T20:00:00+08:00"))
    );
    assert_eq!(
        counts(&s.import_ok(CONTRIBUTIONS, NDJSON, body).await),
        (2, 1, 0)
    );
    // 15 000.00: 16 % = 2 400.00, 8 % = 1 200.00. The paid time is the same instant in UTC.
    assert_eq!(
        s.stored_contributions(&p1.1),
        vec![(
            "2024-03".into(),
            "pension".into(),
            key,
            1_500_000,
            1_500_000,
            240_000,
            120_000,
            "paid".into()
        )]
    );
    assert_eq!(
        counts(
            &s.import_ok(
                CONTRIBUTIONS,
                NDJSON,
                line(1_500_000, Some("2024-03-31T12:00:00.000Z"))
            )
            .await
        ),
        (0, 1, 0)
    );
}

/// A JSON array (`application/json`, for generators that know no JSON Lines) of the same rows
/// as JSON Lines gives the same result, each rejection at the element's position.
#[tokio::test]
async fn a_json_array_reads_like_json_lines() {
    let s = setup(2).await;
    let (lines, _) = mixed_contributions(&s);
    let objects: Vec<Value> = lines
        .into_iter()
        .flatten()
        .filter(Value::is_object)
        .collect();
    let jsonl: String = objects.iter().map(|v| format!("{v}\n")).collect();
    let array = Value::Array(objects.clone()).to_string();
    let from_array = s.import_ok(CONTRIBUTIONS, "application/json", array).await;
    let from_lines = s.import_ok(CONTRIBUTIONS, NDJSON, jsonl).await;
    assert!(counts(&from_array).0 > 0, "{from_array}");
    assert_eq!(rejections(&from_array), rejections(&from_lines));
    let (a, u, r) = counts(&from_array);
    assert_eq!((0, a + u, r), counts(&from_lines), "{from_lines}");
    // Not an array, or not closed: the body is malformed.
    for body in ["{}", "[{}", "[] []"] {
        let res = s.import(CONTRIBUTIONS, "application/json", body).await;
        assert_problem(res, 400, "malformed_json").await;
    }
}

#[tokio::test]
async fn csv_and_json_lines_give_the_same_result() {
    let s = setup(2).await;
    let (lines, expected) = mixed_contributions(&s);
    let csv = s
        .import_ok(CONTRIBUTIONS, "text/csv; charset=utf-8", mixed_csv(&lines))
        .await;
    assert_eq!(counts(&csv), (3, 0, 8), "{csv}");
    // In CSV the header is line 1, so every data line is one further down.
    let shifted: Vec<(u64, String)> = expected
        .iter()
        .map(|(l, c)| (l + 1, (*c).to_owned()))
        .collect();
    assert_eq!(rejections(&csv), shifted);
    // JSON Lines of the same rows find exactly what the CSV stored.
    let json = s
        .import_ok(CONTRIBUTIONS, NDJSON, mixed_jsonl(&lines))
        .await;
    assert_eq!(counts(&json), (0, 3, 8));
    let codes = |b: &Value| {
        rejections(b)
            .into_iter()
            .map(|(_, c)| c)
            .collect::<Vec<_>>()
    };
    assert_eq!(codes(&csv), codes(&json));
}

#[tokio::test]
async fn wrong_media_type_missing_token_and_bad_headers_are_problems() {
    let s = setup(1).await;
    for path in [CONTRIBUTIONS, MEDICAL, BENEFITS] {
        assert_problem(
            s.import(path, "application/xml", "<rows/>").await,
            415,
            "unsupported_media_type",
        )
        .await;
        let res = s
            .app
            .post(path)
            .header("content-type", NDJSON)
            .body("{}\n")
            .send()
            .await
            .unwrap();
        assert_problem(res, 401, "unauthorized").await;
        // The `:` in the path is routed: another method gets 405 naming POST.
        let res = s.app.get(path).bearer_auth(&s.token).send().await.unwrap();
        assert_eq!(res.headers().get("allow").unwrap(), "POST");
        assert_problem(res, 405, "method_not_allowed").await;
    }
    assert_problem(
        s.import(CONTRIBUTIONS, "text/plain", "x").await,
        415,
        "unsupported_media_type",
    )
    .await;
    assert_problem(
        s.import(CONTRIBUTIONS, "text/csv; charset=latin1", "x")
            .await,
        415,
        "unsupported_media_type",
    )
    .await;
    // The colon may also come percent-encoded.
    let res = s
        .app
        .post("/v1/staff/contributions%3Aimport")
        .bearer_auth(&s.token)
        .header("content-type", NDJSON)
        .body("")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // A CSV header that lacks required columns or names unknown ones: 422, nothing written.
    let body = assert_problem(
        s.import(
            CONTRIBUTIONS,
            "text/csv",
            "national_id,period,colour\n11010519491231002X,2024-01,red\n",
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
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
    assert_eq!(
        errors,
        vec![
            ("colour".to_owned(), "unknown".to_owned()),
            ("insurance".to_owned(), "required".to_owned()),
            ("declared_wage_fen".to_owned(), "required".to_owned()),
        ]
    );
    assert_problem(
        s.import(MEDICAL, "text/csv", "").await,
        422,
        "validation_failed",
    )
    .await;
    // A body that is not UTF-8.
    assert_problem(
        s.import(
            CONTRIBUTIONS,
            NDJSON,
            vec![0xff_u8, 0xfe, b'{', b'}', b'\n'],
        )
        .await,
        422,
        "not_utf8",
    )
    .await;
    let mut conn = s.app.db.connect();
    let stored: i64 = contributions::table.count().get_result(&mut conn).unwrap();
    assert_eq!(stored, 0);
}

#[tokio::test]
async fn long_lines_and_later_bad_bytes_reject_only_their_line() {
    let s = setup(1).await;
    let good = json!({"external_id": "M-1", "national_id": s.persons[0].0, "occurred_at": "2024-03-15T10:00:00+08:00",
        "institution_code": "H1", "institution_name": "医院", "kind": "pharmacy", "total_fen": 100,
        "account_paid_fen": 100, "fund_paid_fen": 0, "self_paid_fen": 0});
    let mut body = format!("{good}\n").into_bytes();
    body.extend_from_slice(
        format!("{{\"external_id\": \"{}\"}}\n", "x".repeat(70 * 1024)).as_bytes(),
    );
    body.extend_from_slice(b"\xff\xfe\n");
    body.extend_from_slice(format!("{}", good).as_bytes()); // the last line without a line end
    let res = s.import_ok(MEDICAL, NDJSON, body).await;
    assert_eq!(counts(&res), (1, 1, 2));
    assert_eq!(
        rejections(&res),
        vec![(2, "line_too_long".to_owned()), (3, "not_utf8".to_owned())]
    );
}

#[tokio::test]
async fn medical_transactions_are_checked_and_idempotent_on_external_id() {
    let s = setup(2).await;
    let (a, b) = (&s.persons[0].0, &s.persons[1].0);
    let tx = |id: &str, who: &str, total: i64, account: i64, fund: i64, own: i64, kind: &str| {
        json!({"external_id": id, "national_id": who, "occurred_at": "2024-03-15T10:00:00+08:00",
            "institution_code": "H440300001", "institution_name": "深圳市人民医院", "kind": kind,
            "total_fen": total, "account_paid_fen": account, "fund_paid_fen": fund, "self_paid_fen": own})
    };
    let rows = vec![
        tx("M-1", a, 35_000, 10_000, 20_000, 5_000, "outpatient"),
        tx("M-2", a, 35_000, 10_000, 20_000, 4_000, "outpatient"), // does not add up
        tx("M-3", a, 1_000, -1_000, 2_000, 0, "pharmacy"),         // negative
        tx("M-4", &national_id(901), 100, 100, 0, 0, "pharmacy"),  // unknown person
        tx("M-5", a, 100, 100, 0, 0, "dental"),                    // unknown kind
        tx("M-6", b, 200_000, 0, 180_000, 20_000, "inpatient"),
    ];
    let first = s.import_ok(MEDICAL, NDJSON, jsonl(&rows)).await;
    assert_eq!(counts(&first), (2, 0, 4));
    assert_eq!(
        rejections(&first),
        vec![
            (2, "total_mismatch".to_owned()),
            (3, "invalid_field".to_owned()),
            (4, "unknown_person".to_owned()),
            (5, "invalid_field".to_owned()),
        ]
    );
    assert_eq!(
        counts(&s.import_ok(MEDICAL, NDJSON, jsonl(&rows)).await),
        (0, 2, 4)
    );

    // New content under a stored external id updates it; another person's external id is refused.
    let changed = vec![
        tx("M-1", a, 36_000, 11_000, 20_000, 5_000, "outpatient"),
        tx("M-6", a, 200_000, 0, 180_000, 20_000, "inpatient"),
    ];
    let res = s.import_ok(MEDICAL, NDJSON, jsonl(&changed)).await;
    assert_eq!(counts(&res), (1, 0, 1));
    assert_eq!(
        rejections(&res),
        vec![(2, "external_id_conflict".to_owned())]
    );
    let mut conn = s.app.db.connect();
    let stored: Vec<(String, i64, i64)> = medical_transactions::table
        .select((
            medical_transactions::external_id,
            medical_transactions::total_fen,
            medical_transactions::account_paid_fen,
        ))
        .order(medical_transactions::external_id)
        .load(&mut conn)
        .unwrap();
    assert_eq!(
        stored,
        vec![("M-1".into(), 36_000, 11_000), ("M-6".into(), 200_000, 0)]
    );
}

#[tokio::test]
async fn benefit_payments_import_with_and_without_adjustments() {
    let s = setup(1).await;
    let who = &s.persons[0].0;
    let csv = format!(
        "external_id,national_id,kind,period,amount_fen,paid_at,adjustment_reason,adjustment_delta_fen\n\
         P-1,{who},pension,2024-01,412300,2024-01-10T09:00:00+08:00,,\n\
         P-2,{who},pension,2024-02,422100,2024-02-10T09:00:00+08:00,\"2024 年调待, 一次性\",9800\n\
         P-3,{who},pension,2024-03,422100,2024-03-10T09:00:00+08:00,2024 年调待,\n\
         U-1,{who},unemployment,2024-04,188000,2024-04-10T09:00:00+08:00,,\n\
         X-1,{who},disability,2024-04,1,2024-04-10T09:00:00+08:00,,\n"
    );
    let res = s.import_ok(BENEFITS, "text/csv", csv.clone()).await;
    assert_eq!(counts(&res), (3, 0, 2));
    assert_eq!(
        rejections(&res),
        vec![
            (4, "adjustment_incomplete".to_owned()),
            (6, "invalid_field".to_owned())
        ]
    );
    assert_eq!(
        counts(&s.import_ok(BENEFITS, "text/csv", csv).await),
        (0, 3, 2)
    );
    let mut conn = s.app.db.connect();
    let stored: Vec<StoredBenefit> = benefit_payments::table
        .select((
            benefit_payments::external_id,
            benefit_payments::kind,
            benefit_payments::amount_fen,
            benefit_payments::adjustment_reason,
            benefit_payments::adjustment_delta_fen,
        ))
        .order(benefit_payments::external_id)
        .load(&mut conn)
        .unwrap();
    assert_eq!(
        stored,
        vec![
            ("P-1".into(), "pension".into(), 412_300, None, None),
            (
                "P-2".into(),
                "pension".into(),
                422_100,
                Some("2024 年调待, 一次性".into()),
                Some(9_800)
            ),
            ("U-1".into(), "unemployment".into(), 188_000, None, None),
        ]
    );
}

/// 5,000 lines streamed in small chunks: five batches, line numbers that run across them.
#[tokio::test]
async fn five_thousand_lines_stream_through_several_batches() {
    // 7 employed persons × 13 years × 12 months × 5 insurances = 5,460 distinct keys.
    let s = setup(8).await;
    let lines: Vec<Value> = many_keys(&s, 5_000)
        .into_iter()
        .enumerate()
        .map(|(i, (id, period, insurance))| {
            let n = i + 1;
            // Every 997th line names a month that does not exist.
            let period = if n % 997 == 0 {
                format!("{}-00", &period[..4])
            } else {
                period
            };
            json!({"national_id": id, "employer_credit_code": s.employer,
                "period": period, "insurance": insurance,
                "declared_wage_fen": 700_000 + n, "paid_at": "2024-01-01T00:00:00Z"})
        })
        .collect();
    assert_eq!(lines.len(), 5_000);
    let body = jsonl(&lines).into_bytes();
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        body.chunks(7_919).map(|c| Ok(c.to_vec())).collect();
    let streamed = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    let res = s.import_ok(CONTRIBUTIONS, NDJSON, streamed).await;
    let bad: Vec<(u64, String)> = [997, 1_994, 2_991, 3_988, 4_985]
        .into_iter()
        .map(|n| (n, "invalid_field".to_owned()))
        .collect();
    assert_eq!(counts(&res), (4_995, 0, 5));
    assert_eq!(rejections(&res), bad);
    let mut conn = s.app.db.connect();
    let stored: i64 = contributions::table.count().get_result(&mut conn).unwrap();
    assert_eq!(stored, 4_995);

    // The whole body again: all unchanged.
    let again = s.import_ok(CONTRIBUTIONS, NDJSON, body).await;
    assert_eq!(counts(&again), (0, 4_995, 5));
    assert_eq!(rejections(&again), bad);
}

/// The list of rejections stops at 1,000; the total counts them all.
#[tokio::test]
async fn rejections_are_listed_up_to_a_thousand() {
    let s = setup(1).await;
    let body = "{}\n".repeat(1_500);
    let res = s.import_ok(CONTRIBUTIONS, NDJSON, body).await;
    assert_eq!(counts(&res), (0, 0, 1_500));
    let listed = rejections(&res);
    assert_eq!(listed.len(), 1_000);
    assert_eq!(listed[0], (1, "missing_field".to_owned()));
    assert_eq!(listed[999].0, 1_000);
}

/// An unpaid month is `due` until the 15th of the next month and `arrears` after it, by the
/// calendar alone (the clock of these tests stands at 2026-11-23, Shenzhen time 16:00).
#[tokio::test]
async fn unpaid_months_turn_to_arrears_after_their_due_date() {
    let s = setup(2).await;
    let (id, person) = (&s.persons[0].0, &s.persons[0].1);
    let row = |period: &str, paid_at: Option<&str>| {
        let mut v = json!({"national_id": id, "employer_credit_code": s.employer,
            "period": period, "insurance": "pension", "declared_wage_fen": 1_000_000});
        if let Some(p) = paid_at {
            v["paid_at"] = json!(p);
        }
        v
    };
    let body = jsonl(&[
        row("2026-08", Some("2026-09-10T10:00:00+08:00")),
        row("2026-09", None),
        row("2026-10", None),
        row("2026-11", None),
    ]);
    let res = s.import_ok(CONTRIBUTIONS, NDJSON, body).await;
    assert_eq!(counts(&res), (4, 0, 0));
    // What is stored does not change with the calendar: paid or due.
    let stored: Vec<String> = s
        .stored_contributions(person)
        .into_iter()
        .map(|c| c.7)
        .collect();
    assert_eq!(stored, ["paid", "due", "due", "due"]);
    let list = s
        .app
        .get_ok(
            &s.token,
            &format!("/v1/staff/persons/{person}/contributions?reason=arrears%20check"),
        )
        .await;
    let statuses: Vec<(&str, &str)> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["period"].as_str().unwrap(), i["status"].as_str().unwrap()))
        .collect();
    // 2026-09 was due by 2026-10-15; 2026-10 is due by 2026-11-15 (passed); 2026-11 by 2026-12-15.
    assert_eq!(
        statuses,
        [
            ("2026-11", "due"),
            ("2026-10", "arrears"),
            ("2026-09", "arrears"),
            ("2026-08", "paid"),
        ]
    );
}

#[tokio::test]
async fn a_regions_due_day_decides_when_a_month_falls_into_arrears() {
    let s = setup(2).await;
    let (id, person) = (&s.persons[0].0, &s.persons[0].1);
    let row = |period: &str| {
        json!({"national_id": id, "employer_credit_code": s.employer,
            "period": period, "insurance": "pension", "declared_wage_fen": 1_000_000})
    };
    let res = s
        .import_ok(
            CONTRIBUTIONS,
            NDJSON,
            jsonl(&[row("2026-09"), row("2026-10")]),
        )
        .await;
    assert_eq!(counts(&res), (2, 0, 0));
    let statuses = || async {
        let list = s
            .app
            .get_ok(
                &s.token,
                &format!("/v1/staff/persons/{person}/contributions?reason=arrears%20check"),
            )
            .await;
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["status"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    // Today is 2026-11-23: with the 15th, 2026-10 (due 2026-11-15) is in arrears.
    assert_eq!(statuses().await, ["arrears", "arrears"]);
    // The region moves its deadline to the 25th: 2026-10 is due until 2026-11-25.
    let admin = s.app.staff_token(StaffRole::Admin).await;
    let res = s
        .app
        .client
        .put(s.app.url("/v1/staff/regions/440300"))
        .bearer_auth(&admin)
        .json(&json!({"name": "深圳市", "time_zone": "Asia/Shanghai", "contribution_due_day": 25}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(statuses().await, ["due", "arrears"]);
}

#[tokio::test]
async fn history_before_2006_is_credited_at_11_percent() {
    let s = setup(2).await;
    let admin = s.app.staff_token(StaffRole::Admin).await;
    // Average wage 1 500.00; 2004 with a share of 10 % set, 2005 with none given → 11 %.
    for (y, share) in [(2004, Some(1000)), (2005, None)] {
        let mut year = json!({
            "average_monthly_wage_fen": 150_000, "base_floor_pct": 60, "base_ceiling_pct": 300, "late_fee_bp_per_day": 5,
            "rates": {"pension": {"employer_bp": 2000, "employee_bp": 800}, "medical": {"employer_bp": 600, "employee_bp": 200},
                      "unemployment": {"employer_bp": 200, "employee_bp": 100}, "work_injury": {"employer_bp": 100, "employee_bp": 0},
                      "maternity": {"employer_bp": 80, "employee_bp": 0}}
        });
        if let Some(share) = share {
            year["personal_account_bp"] = json!(share);
        }
        let res = s
            .app
            .client
            .put(s.app.url(&format!("/v1/staff/regions/440300/years/{y}")))
            .bearer_auth(&admin)
            .json(&year)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
    }
    // December 2004 and December 2005 at 3 000.00 (inside 900.00 … 4 500.00), paid.
    let row = |period: &str, paid: &str| {
        json!({"national_id": s.persons[0].0, "employer_credit_code": s.employer,
            "period": period, "insurance": "pension", "declared_wage_fen": 300_000, "paid_at": paid})
    };
    let rows = [
        row("2004-12", "2005-01-10T10:00:00+08:00"),
        row("2005-12", "2006-01-10T10:00:00+08:00"),
    ];
    let res = s.import_ok(CONTRIBUTIONS, NDJSON, jsonl(&rows)).await;
    assert_eq!(counts(&res), (2, 0, 0));
    let interest = |year: i32| {
        s.app
            .post("/v1/staff/pension-interest")
            .bearer_auth(&admin)
            .json(&json!({"region": "440300", "year": year, "rate_bp": 300}))
            .send()
    };
    // 2004: 10 % = 300.00 credited in December earns 1/12 of a year at 3 %:
    // 30 000 × 300 / 120 000 = 75 fen.
    let result: Value = interest(2004).await.unwrap().json().await.unwrap();
    assert_eq!(result["interest_total_fen"], 75);
    // 2005: the opening 300.75 earns the year, December's 11 % = 330.00 one month:
    // (30 075 × 12 + 33 000) × 300 / 120 000 = 984.75 → 985 (at 8 %, 240.00: 962.25 → 962).
    let result: Value = interest(2005).await.unwrap().json().await.unwrap();
    assert_eq!(result["persons"], 1);
    assert_eq!(result["interest_total_fen"], 985);
}

/// Batches are written while the next ones are read (on PostgreSQL by several writers, split by
/// person): a key sent early and again after five thousand lines ends with the later line. Seven
/// persons over at most three writers: some writer carries three persons, more than a batch, so
/// its repeated keys come in a later batch than their first lines.
#[tokio::test]
async fn a_key_repeated_in_a_later_batch_ends_with_the_later_line() {
    let s = setup(8).await;
    let mut lines: Vec<Value> = many_keys(&s, 5_000)
        .into_iter()
        .map(|(id, period, insurance)| {
            json!({"national_id": id, "employer_credit_code": s.employer,
                "period": period, "insurance": insurance,
                "declared_wage_fen": 800_000, "paid_at": "2024-01-01T00:00:00Z"})
        })
        .collect();
    for (id, _) in &s.persons[..7] {
        lines.push(
            json!({"national_id": id, "employer_credit_code": s.employer,
            "period": "2014-01", "insurance": "pension",
            "declared_wage_fen": 900_000, "paid_at": "2024-01-01T00:00:00Z"}),
        );
    }
    let res = s.import_ok(CONTRIBUTIONS, NDJSON, jsonl(&lines)).await;
    // The first lines insert the keys, the last seven update them: all accepted.
    assert_eq!(counts(&res), (5_007, 0, 0));
    let mut conn = s.app.db.connect();
    let stored: i64 = contributions::table.count().get_result(&mut conn).unwrap();
    assert_eq!(stored, 5_000);
    for (_, person) in &s.persons[..7] {
        let rows = s.stored_contributions(person);
        let first = rows
            .iter()
            .find(|c| c.0 == "2014-01" && c.1 == "pension")
            .unwrap();
        assert_eq!(first.3, 900_000, "person {person}");
        // Every other month keeps its first (and only) line.
        assert!(rows
            .iter()
            .filter(|c| !(c.0 == "2014-01" && c.1 == "pension"))
            .all(|c| c.3 == 800_000));
    }
}
