//! Designated institutions and appointments end to end: the bulk loader (idempotent, row-level
//! errors), "near me" nearest first with distances worked by hand, filters and the radius's
//! edge, coverage by scheme and by medical filing (absent without a token, 401 with a bad one),
//! slots, booking with its idempotency key, one appointment per person and slot, cancellation
//! giving the place back, BOLA, 200 concurrent bookings of 10 places, and the reminder SMS.

use chrono::{TimeZone, Utc};
use diesel::prelude::*;
use futures_util::future::join_all;
use serde_json::{json, Value};
use shebao_domain::staff::StaffRole;
use shebao_infra::schema::{appointments, institution_slots, jobs, persons};
use shebao_tests::{assert_problem, spawn_app_with, TestApp, TestOptions};

const IMPORT: &str = "/v1/staff/institutions:import";
const NDJSON: &str = "application/x-ndjson";

/// The point the Shenzhen institutions below are placed around.
const CENTER: (&str, &str) = ("22.54", "114.06");

fn institution(code: &str, kind: &str, level: Option<u8>, lat: f64, lon: f64) -> Value {
    json!({
        "code": code, "name": format!("测试{code}"), "kind": kind, "level": level,
        "region": "440300", "address": "深圳市福田区测试路1号", "phone": "0755-83920000",
        "latitude": lat, "longitude": lon,
        "medical_categories": ["employee", "resident"], "departments": [],
    })
}

/// Around (22.54, 114.06): distances worked by hand with R = 6,371,008.8 m — 0.0001° of
/// latitude is 11 m, 0.01° is 1,112 m, 0.01° of longitude at 22.54° N is 1,027 m; 0.044966° of
/// latitude is 5,000.0 m and 0.044976° is 5,001.1 m.
fn shenzhen_set() -> Vec<Value> {
    let with = |mut v: Value, field: &str, value: Value| {
        v[field] = value;
        v
    };
    vec![
        with(
            institution("C-NEAR", "clinic", Some(1), 22.5401, 114.06),
            "departments",
            json!(["全科"]),
        ),
        with(
            institution("P-EAST", "pharmacy", None, 22.54, 114.07),
            "medical_categories",
            json!(["employee"]),
        ),
        with(
            institution("H-NORTH", "hospital", Some(3), 22.55, 114.06),
            "departments",
            json!(["内科", "外科"]),
        ),
        with(
            institution("H-SOUTH", "hospital", Some(2), 22.53, 114.06),
            "departments",
            json!(["内科"]),
        ),
        with(
            institution("H-EDGE", "hospital", Some(3), 22.584966, 114.06),
            "departments",
            json!(["儿科"]),
        ),
        institution("H-OUT", "hospital", Some(3), 22.584976, 114.06),
        // Beijing: one settles filed treatment, one does not.
        json!({
            "code": "H-BJ", "name": "测试北京医院", "kind": "hospital", "level": 3, "region": "110000",
            "address": "北京市东城区测试路1号", "phone": "010-69150000", "latitude": 39.9123,
            "longitude": 116.417, "medical_categories": ["employee", "resident"],
            "departments": ["内科"], "accepts_filed_elsewhere": true,
        }),
        json!({
            "code": "H-BJ-LOCAL", "name": "测试北京区医院", "kind": "hospital", "level": 2,
            "region": "110000", "address": "北京市东城区测试路2号", "phone": "010-69150001",
            "latitude": 39.9133, "longitude": 116.417, "medical_categories": ["employee", "resident"],
            "accepts_filed_elsewhere": false,
        }),
    ]
}

fn lines(rows: &[Value]) -> String {
    rows.iter().map(|r| format!("{r}\n")).collect()
}

async fn import(app: &TestApp, token: &str, content_type: &str, body: String) -> Value {
    let res = app
        .post(IMPORT)
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    res.json().await.unwrap()
}

/// An app with the demo regions, the Shenzhen set imported, and an admin's token.
async fn loaded() -> (TestApp, String) {
    loaded_with(TestOptions::default()).await
}

async fn loaded_with(opts: TestOptions) -> (TestApp, String) {
    let app = spawn_app_with(opts).await;
    app.seed_regions();
    let admin = app.staff_token(StaffRole::Admin).await;
    let r = import(&app, &admin, NDJSON, lines(&shenzhen_set())).await;
    assert_eq!(r["accepted"], 8, "{r}");
    (app, admin)
}

async fn near(app: &TestApp, token: Option<&str>, query: &str) -> reqwest::Response {
    let mut req = app.get(&format!("/v1/institutions?{query}"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

async fn near_ok(app: &TestApp, token: Option<&str>, query: &str) -> Value {
    let res = near(app, token, query).await;
    assert_eq!(res.status(), 200, "{query}: {}", res.text().await.unwrap());
    res.json().await.unwrap()
}

/// `GET path` without a token; asserts 200.
async fn public(app: &TestApp, path: &str) -> Value {
    let res = app.get(path).send().await.unwrap();
    assert_eq!(res.status(), 200, "{path}: {}", res.text().await.unwrap());
    res.json().await.unwrap()
}

fn at(extra: &str) -> String {
    format!("lat={}&lon={}{extra}", CENTER.0, CENTER.1)
}

/// (code, distance_m) of a page.
fn ranked(page: &Value) -> Vec<(String, u64)> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["code"].as_str().unwrap().to_owned(),
                i["distance_m"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn codes(page: &Value) -> Vec<String> {
    ranked(page).into_iter().map(|(c, _)| c).collect()
}

#[tokio::test]
async fn the_import_is_idempotent_by_code_and_rejects_bad_rows_one_by_one() {
    let (app, admin) = loaded().await;
    // The same rows again change nothing.
    let again = import(&app, &admin, NDJSON, lines(&shenzhen_set())).await;
    assert_eq!(
        (again["accepted"].as_u64(), again["unchanged"].as_u64()),
        (Some(0), Some(8))
    );

    // One changed row is accepted, the rest unchanged; a later row of the same code wins.
    let mut rows = shenzhen_set();
    rows[2]["name"] = json!("测试北院（新址）");
    rows[2]["departments"] = json!(["内科", "外科", "眼科"]);
    let mut repeat = rows[2].clone();
    repeat["phone"] = json!("0755-83921111");
    rows.push(repeat);
    let r = import(&app, &admin, NDJSON, lines(&rows)).await;
    assert_eq!(
        (r["accepted"].as_u64(), r["unchanged"].as_u64()),
        (Some(2), Some(7)),
        "{r}"
    );
    let h = public(&app, "/v1/institutions/H-NORTH").await;
    assert_eq!(h["name"], "测试北院（新址）");
    assert_eq!(h["phone"], "0755-83921111");
    assert_eq!(h["departments"], json!(["内科", "外科", "眼科"]));
    // The department filter follows the new list.
    let eyes = near_ok(&app, None, &at("&department=眼科")).await;
    assert_eq!(codes(&eyes), ["H-NORTH"]);

    // Every bad field of a line is a rejection of that line; the good lines go in.
    let good = institution("C-NEW", "clinic", None, 22.56, 114.05);
    let bad = |field: &str, value: Value| {
        let mut v = institution("C-BAD", "clinic", None, 22.56, 114.05);
        v[field] = value;
        v
    };
    let mut no_categories = good.clone();
    no_categories["code"] = json!("C-NOCAT");
    no_categories
        .as_object_mut()
        .unwrap()
        .remove("medical_categories");
    let body = [
        good.clone(),                                 // line 1: fine
        bad("latitude", json!(2.5)),                  // 2: south of Zengmu Ansha
        bad("longitude", json!(2.3522)),              // 3: Paris
        bad("latitude", json!(60.0)),                 // 4: north of Mohe
        bad("region", json!("440100")),               // 5: a region the registry lacks
        bad("kind", json!("spa")),                    // 6
        bad("level", json!(4)),                       // 7
        bad("phone", json!("call us")),               // 8
        bad("medical_categories", json!(["staff"])),  // 9
        bad("departments", json!(["内科", "内科"])),  // 10
        bad("departments", json!(["内科|外科"])),     // 11
        bad("accepts_filed_elsewhere", json!("yes")), // 12
        no_categories,                                // 13
        {
            let mut p = institution("P-LEVEL", "pharmacy", Some(2), 22.56, 114.05);
            p["medical_categories"] = json!(["employee"]);
            p
        }, // 14: a pharmacy has no level
    ];
    let mut text = lines(&body);
    text.push_str("{\"code\": \"X\", \"colour\": \"red\"}\nnot json\n"); // 15, 16
    let r = import(&app, &admin, NDJSON, text).await;
    assert_eq!(r["accepted"], 1, "{r}");
    let rejected: Vec<(u64, String, String)> = r["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["line"].as_u64().unwrap(),
                x["code"].as_str().unwrap().to_owned(),
                x["field"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let expected: Vec<(u64, &str, &str)> = vec![
        (2, "invalid_field", "latitude"),
        (3, "invalid_field", "longitude"),
        (4, "invalid_field", "latitude"),
        (5, "unknown_region", "region"),
        (6, "invalid_field", "kind"),
        (7, "invalid_field", "level"),
        (8, "invalid_field", "phone"),
        (9, "invalid_field", "medical_categories"),
        (10, "invalid_field", "departments"),
        (11, "invalid_field", "departments"),
        (12, "invalid_field", "accepts_filed_elsewhere"),
        (13, "missing_field", "medical_categories"),
        (14, "invalid_field", "level"),
        (15, "unknown_field", "colour"),
        (16, "malformed_line", ""),
    ];
    let expected: Vec<(u64, String, String)> = expected
        .into_iter()
        .map(|(l, c, f)| (l, c.to_owned(), f.to_owned()))
        .collect();
    assert_eq!(rejected, expected, "{r}");
    assert_eq!(r["rejected_total"], 15);
    let res = app.get("/v1/institutions/C-BAD").send().await.unwrap();
    assert_problem(res, 404, "institution_not_found").await;

    // CSV, lists `|`-separated: the same institution as the JSON line is unchanged.
    let csv = "code,name,kind,level,region,address,phone,latitude,longitude,medical_categories,departments,accepts_filed_elsewhere\n\
               C-NEAR,测试C-NEAR,clinic,1,440300,深圳市福田区测试路1号,0755-83920000,22.5401,114.06,employee|resident,全科,false\n\
               C-CSV,\"测试,逗号诊所\",clinic,,440300,深圳市福田区测试路3号,0755-83920003,22.5402,114.0601,resident,全科|中医科,\n";
    let r = import(&app, &admin, "text/csv", csv.to_owned()).await;
    assert_eq!(
        (r["accepted"].as_u64(), r["unchanged"].as_u64()),
        (Some(1), Some(1)),
        "{r}"
    );
    let c = public(&app, "/v1/institutions/C-CSV").await;
    assert_eq!(c["name"], "测试,逗号诊所");
    assert_eq!(c["level"], Value::Null);
    assert_eq!(c["medical_categories"], json!(["resident"]));
    assert_eq!(c["departments"], json!(["全科", "中医科"]));
    assert_eq!(c["accepts_filed_elsewhere"], false);

    // Admins only.
    let cw = app.staff_token(StaffRole::Caseworker).await;
    let res = app
        .post(IMPORT)
        .bearer_auth(&cw)
        .header("content-type", NDJSON)
        .body(lines(&shenzhen_set()))
        .send()
        .await
        .unwrap();
    assert_problem(res, 403, "forbidden").await;
    let res = app
        .post(IMPORT)
        .header("content-type", NDJSON)
        .body(lines(&shenzhen_set()))
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "unauthorized").await;
}

#[tokio::test]
async fn nearest_first_with_distances_worked_by_hand_filters_and_the_radius_edge() {
    let (app, _) = loaded().await;
    let all = near_ok(&app, None, &at("")).await;
    assert_eq!(
        ranked(&all),
        [
            ("C-NEAR".to_owned(), 11),
            ("P-EAST".to_owned(), 1027),
            // A tie at 1,112 m, north and south: by code.
            ("H-NORTH".to_owned(), 1112),
            ("H-SOUTH".to_owned(), 1112),
            // Exactly 5 km is in; H-OUT at 5,001 m is not.
            ("H-EDGE".to_owned(), 5000),
        ]
    );
    let first = &all["items"][0];
    assert_eq!(first["geo_uri"], "geo:22.5401,114.06");
    assert_eq!(first["latitude"], 22.5401);
    assert_eq!(first["address"], "深圳市福田区测试路1号");
    assert_eq!(first["phone"], "0755-83920000");
    assert!(
        first.get("covered").is_none(),
        "no token, no coverage: {first}"
    );
    assert!(all.get("next_cursor").is_none());

    // The radius to the metre, at its edge.
    let r = near_ok(&app, None, &at("&radius_km=1.112")).await;
    assert_eq!(codes(&r), ["C-NEAR", "P-EAST", "H-NORTH", "H-SOUTH"]);
    let r = near_ok(&app, None, &at("&radius_km=1.111")).await;
    assert_eq!(codes(&r), ["C-NEAR", "P-EAST"]);
    let r = near_ok(&app, None, &at("&radius_km=5.001")).await;
    assert_eq!(codes(&r).last().map(String::as_str), Some("H-OUT"));
    let r = near_ok(&app, None, &at("&radius_km=0.011")).await;
    assert_eq!(codes(&r), ["C-NEAR"]);
    let r = near_ok(&app, None, &at("&radius_km=0.01")).await;
    assert_eq!(r["items"], json!([]));

    // Filters.
    let r = near_ok(&app, None, &at("&kind=hospital")).await;
    assert_eq!(codes(&r), ["H-NORTH", "H-SOUTH", "H-EDGE"]);
    let r = near_ok(&app, None, &at("&department=内科")).await;
    assert_eq!(codes(&r), ["H-NORTH", "H-SOUTH"]);
    let r = near_ok(&app, None, &at("&level=3")).await;
    assert_eq!(codes(&r), ["H-NORTH", "H-EDGE"]);
    let r = near_ok(&app, None, &at("&kind=hospital&level=2&department=内科")).await;
    assert_eq!(codes(&r), ["H-SOUTH"]);
    let r = near_ok(&app, None, &at("&department=骨科")).await;
    assert_eq!(codes(&r), Vec::<String>::new());
    // Far from everything: an empty page.
    let r = near_ok(&app, None, "lat=30.5&lon=104.06").await;
    assert_eq!(r["items"], json!([]));

    // Pages of two, each after the cursor of the one before: the same order, nothing twice.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..5 {
        let q = match &cursor {
            Some(c) => at(&format!("&limit=2&cursor={c}")),
            None => at("&limit=2"),
        };
        let page = near_ok(&app, None, &q).await;
        seen.extend(ranked(&page));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, ranked(&all));
    // A cursor no page gave: an empty page, not an error.
    let r = near_ok(&app, None, &at("&cursor=AAAA")).await;
    assert_eq!(r["items"], json!([]));

    // Every bad parameter is named.
    for (q, field) in [
        ("lon=114.06".to_owned(), "lat"),
        ("lat=48.85&lon=2.35".to_owned(), "lon"),
        ("lat=-22.54&lon=114.06".to_owned(), "lat"),
        ("lat=north&lon=114.06".to_owned(), "lat"),
        (at("&radius_km=50.5"), "radius_km"),
        (at("&radius_km=0"), "radius_km"),
        (at("&kind=spa"), "kind"),
        (at("&level=4"), "level"),
        (at("&limit=101"), "limit"),
    ] {
        let body = assert_problem(near(&app, None, &q).await, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], field, "{q}: {body}");
    }
    // The widest search reaches 50 km.
    let r = near_ok(&app, None, &at("&radius_km=50")).await;
    assert_eq!(r["items"].as_array().unwrap().len(), 6);
}

/// The search reads each server's copy of the institutions: an import on this server reaches
/// its search before the import answers; one another server ran (here: written to the database
/// as its import does, the rows and the version in one transaction) reaches it within
/// `SHEBAO_INSTITUTIONS_REFRESH_SECS`; and a copy over the same database reloads once per change.
#[tokio::test]
async fn the_search_follows_imports_here_at_once_and_from_elsewhere_within_the_refresh() {
    use shebao_infra::db::{Db, PoolOptions};
    use shebao_infra::institutions::atlas::NearCopy;
    use shebao_infra::schema::{institutions, institutions_version};

    let (app, admin) = loaded_with(TestOptions {
        env: vec![("SHEBAO_INSTITUTIONS_REFRESH_SECS", "1".into())],
        ..TestOptions::default()
    })
    .await;
    let all = at("&radius_km=10");
    assert!(codes(&near_ok(&app, None, &all).await).contains(&"H-NORTH".to_owned()));

    // Here: a re-import that moves H-NORTH 30 km north drops it from the 10 km search at once.
    let mut rows = shenzhen_set();
    rows[2]["latitude"] = json!(22.82);
    let r = import(&app, &admin, NDJSON, lines(&rows[2..3])).await;
    assert_eq!(r["accepted"], 1, "{r}");
    let page = near_ok(&app, None, &all).await;
    assert!(!codes(&page).contains(&"H-NORTH".to_owned()), "{page}");

    // A second server's copy over the same database: loaded once, not again while nothing
    // changes.
    let db = Db::connect(
        &app.db.url,
        &PoolOptions {
            max_size: 1,
            acquire_timeout: std::time::Duration::from_secs(5),
        },
    )
    .unwrap();
    let other = NearCopy::new();
    let first = other.get(&db).await.unwrap();
    assert_eq!(first.atlas.len(), 8);
    assert!(!other.refresh(&db).await.unwrap());

    // Elsewhere: H-NORTH moves back, as another server's import writes it.
    let mut conn = app.db.connect();
    conn.transaction::<_, diesel::result::Error, _>(|c| {
        diesel::update(institutions::table.find("H-NORTH"))
            .set(institutions::lat_e6.eq(22_550_000))
            .execute(c)?;
        diesel::update(institutions_version::table.find(1))
            .set(institutions_version::version.eq(institutions_version::version + 1))
            .execute(c)
    })
    .unwrap();
    let mut seen = false;
    for _ in 0..100 {
        let page = near_ok(&app, None, &all).await;
        if let Some(h) = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["code"] == "H-NORTH")
        {
            assert_eq!(h["distance_m"], 1112, "{h}");
            seen = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        seen,
        "the server's copy did not follow the change within 10 s"
    );
    // The second copy reloads for it, once.
    assert!(other.refresh(&db).await.unwrap());
    assert!(!other.refresh(&db).await.unwrap());
    let moved = other.peek().unwrap();
    let h = moved
        .atlas
        .iter()
        .find(|i| i.code.as_str() == "H-NORTH")
        .unwrap();
    assert_eq!(h.position.lat_e6(), 22_550_000);
    assert!(moved.version > first.version);
}

/// 240 institutions around the centre: a few metres apart near it (many in one cell of the
/// server's grid, pages ending between equal distances), some on the very same spot (ties by
/// code), then thinning out past the 5 km edge.
fn dense_set() -> Vec<(String, i64, i64)> {
    let mut out = Vec::new();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        i64::try_from(x % 1_000_001).unwrap() - 500_000
    };
    for n in 0..240 {
        // In microdegrees: within ~30 m for the first 80, ~600 m for the next 80, ~10 km for
        // the rest.
        let spread = [300, 6_000, 100_000][n / 80];
        let (lat, lon) = if n % 23 == 0 && n > 0 {
            let (_, lat, lon) = out[n - 1];
            (lat, lon)
        } else {
            (
                22_540_000 + next() * spread / 1_000_000,
                114_060_000 + next() * spread / 1_000_000,
            )
        };
        out.push((format!("D{n:03}"), lat, lon));
    }
    out
}

#[tokio::test]
async fn a_dense_cluster_pages_in_the_haversine_order() {
    use shebao_domain::institutions::{nearest, GeoPoint, Ranked};
    let app = spawn_app_with(TestOptions::default()).await;
    app.seed_regions();
    let admin = app.staff_token(StaffRole::Admin).await;
    let set = dense_set();
    let rows: Vec<Value> = set
        .iter()
        .map(|(code, lat, lon)| {
            let degrees = |e6: i64| e6 as f64 / 1e6;
            institution(code, "pharmacy", None, degrees(*lat), degrees(*lon))
        })
        .collect();
    let r = import(&app, &admin, NDJSON, lines(&rows)).await;
    assert_eq!(r["accepted"], 240, "{r}");
    // The positions as stored (to the microdegree), and the order the haversine gives them.
    let center = GeoPoint::parse(CENTER.0, CENTER.1).unwrap();
    let stored: Vec<(String, GeoPoint)> = set
        .iter()
        .map(|(code, lat, lon)| (code.clone(), GeoPoint::from_e6(*lat, *lon).unwrap()))
        .collect();
    for limit in [3_usize, 20, 50] {
        let expected = nearest(center, 5_000, stored.clone(), None, usize::MAX - 1);
        let mut seen: Vec<Ranked> = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let q = match &cursor {
                Some(c) => at(&format!("&limit={limit}&cursor={c}")),
                None => at(&format!("&limit={limit}")),
            };
            let page = near_ok(&app, None, &q).await;
            let items = ranked(&page);
            assert!(items.len() <= limit);
            seen.extend(items.into_iter().map(|(code, d)| Ranked {
                distance_m: u32::try_from(d).unwrap(),
                code,
            }));
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        assert_eq!(seen, expected, "pages of {limit}");
    }
    // Within 5 km: most of them, not all (the outer ring reaches past the edge).
    let within = nearest(center, 5_000, stored, None, usize::MAX - 1).len();
    assert!((200..240).contains(&within), "{within}");
}

/// Applies for a medical filing for Beijing from `from` to `to`; answers the application's id.
async fn apply_filing(app: &TestApp, token: &str, key: &str, from: &str, to: &str) -> String {
    let res = app
        .post("/v1/me/applications")
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(&json!({"kind": "medical_filing", "data": {"region": "110000", "reason": "referral", "from": from, "to": to}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let filing: Value = res.json().await.unwrap();
    filing["id"].as_str().unwrap().to_owned()
}

/// Takes an application through review to approval.
async fn approve(app: &TestApp, admin: &str, id: &str) {
    for to in ["in_review", "approved"] {
        let res = app
            .post(&format!("/v1/staff/applications/{id}/transitions"))
            .bearer_auth(admin)
            .json(&json!({"to": to}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    }
}

#[tokio::test]
async fn covered_by_scheme_and_by_an_approved_filing_and_absent_without_a_token() {
    let (app, admin) = loaded().await;
    let people = app.bound_persons(2, "440300", 1).await;
    let (employee, resident) = (&people[0], &people[1]);
    {
        let mut conn = app.db.connect();
        diesel::update(persons::table.find(resident.person_id.to_string()))
            .set(persons::medical_category.eq("resident"))
            .execute(&mut conn)
            .unwrap();
    }
    let covered = |page: &Value| -> Vec<(String, bool)> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["code"].as_str().unwrap().to_owned(),
                    i["covered"].as_bool().unwrap(),
                )
            })
            .collect()
    };
    let own = |v: &[(&str, bool)]| -> Vec<(String, bool)> {
        v.iter().map(|(c, b)| ((*c).to_owned(), *b)).collect()
    };
    // At home: the pharmacy serves the employee scheme only.
    let q = at("&radius_km=1.2");
    let e = near_ok(&app, Some(&employee.token), &q).await;
    assert_eq!(
        covered(&e),
        own(&[
            ("C-NEAR", true),
            ("P-EAST", true),
            ("H-NORTH", true),
            ("H-SOUTH", true)
        ])
    );
    let r = near_ok(&app, Some(&resident.token), &q).await;
    assert_eq!(
        covered(&r),
        own(&[
            ("C-NEAR", true),
            ("P-EAST", false),
            ("H-NORTH", true),
            ("H-SOUTH", true)
        ])
    );
    let one = app.get_ok(&resident.token, "/v1/institutions/P-EAST").await;
    assert_eq!(one["covered"], false);

    // In Beijing, without a filing: neither is covered.
    let beijing = "lat=39.9123&lon=116.417";
    let b = near_ok(&app, Some(&employee.token), beijing).await;
    assert_eq!(covered(&b), own(&[("H-BJ", false), ("H-BJ-LOCAL", false)]));

    // A filing for Beijing, applied for and approved: the hospital that settles filed treatment
    // is covered, the other is not. A pending filing does not count.
    let id = apply_filing(
        &app,
        &employee.token,
        "filing-bj-1",
        "2026-11-01",
        "2026-12-31",
    )
    .await;
    let b = near_ok(&app, Some(&employee.token), beijing).await;
    assert_eq!(covered(&b), own(&[("H-BJ", false), ("H-BJ-LOCAL", false)]));
    approve(&app, &admin, &id).await;
    let b = near_ok(&app, Some(&employee.token), beijing).await;
    assert_eq!(covered(&b), own(&[("H-BJ", true), ("H-BJ-LOCAL", false)]));
    // At home nothing changed.
    let e2 = near_ok(&app, Some(&employee.token), &q).await;
    assert_eq!(covered(&e2), covered(&e));
    // Once the filing has run out (1 January, Beijing time), it covers nothing.
    app.clock.advance(chrono::Duration::days(39));
    let fresh = app.access_token(employee.account_id, employee.session_id);
    let b = near_ok(&app, Some(&fresh), beijing).await;
    assert_eq!(covered(&b), own(&[("H-BJ", false), ("H-BJ-LOCAL", false)]));
    // A second filing, for the new year: with two on record (one run out), it covers again.
    let id = apply_filing(&app, &fresh, "filing-bj-2", "2027-01-01", "2027-03-31").await;
    let admin_now = app.staff_token(StaffRole::Admin).await;
    approve(&app, &admin_now, &id).await;
    let b = near_ok(&app, Some(&fresh), beijing).await;
    assert_eq!(covered(&b), own(&[("H-BJ", true), ("H-BJ-LOCAL", false)]));

    // Without a token the field is absent; a bad token is 401, a staff token too; a signed-in
    // account without a binding sees no coverage.
    let anon = near_ok(&app, None, beijing).await;
    assert!(anon["items"][0].get("covered").is_none());
    let res = near(&app, Some("not-a-token"), beijing).await;
    assert_problem(res, 401, "unauthorized").await;
    let res = near(&app, Some(&admin), beijing).await;
    assert_problem(res, 401, "unauthorized").await;
    let res = app
        .get("/v1/institutions/H-BJ")
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "unauthorized").await;
}

// ---------------------------------------------------------------------------------------------
// Slots and appointments

/// 26 November 2026, 09:00 in Beijing (the test clock starts on the 23rd at 16:00 there).
const SLOT_START: &str = "2026-11-26T01:00:00Z";
const SLOT_END: &str = "2026-11-26T01:30:00Z";

async fn publish(app: &TestApp, staff: &str, code: &str, body: Value) -> reqwest::Response {
    app.post(&format!("/v1/staff/institutions/{code}/slots"))
        .bearer_auth(staff)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn slot(app: &TestApp, staff: &str, department: &str, capacity: u32) -> Value {
    let res = publish(
        app,
        staff,
        "H-NORTH",
        json!({"department": department, "starts_at": SLOT_START, "ends_at": SLOT_END, "capacity": capacity}),
    )
    .await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    res.json().await.unwrap()
}

async fn book(app: &TestApp, token: &str, key: &str, slot: &str) -> reqwest::Response {
    app.post("/v1/me/appointments")
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(&json!({"slot_id": slot}))
        .send()
        .await
        .unwrap()
}

async fn places_left(app: &TestApp, slot: &str) -> i64 {
    let list = public(app, "/v1/institutions/H-NORTH/slots?limit=100").await;
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == slot)
        .map(|s| s["places_left"].as_i64().unwrap())
        .unwrap()
}

#[tokio::test]
async fn staff_publish_slots_of_the_institutions_departments_and_anyone_lists_them() {
    let (app, admin) = loaded().await;
    let s = slot(&app, &admin, "内科", 10).await;
    assert_eq!(s["institution_code"], "H-NORTH");
    assert_eq!(s["department"], "内科");
    assert_eq!(s["capacity"], 10);
    assert_eq!(s["places_left"], 10);
    assert_eq!(s["starts_at"], SLOT_START);

    // Every rule of a slot, each naming its field.
    let base =
        json!({"department": "内科", "starts_at": SLOT_START, "ends_at": SLOT_END, "capacity": 5});
    let with = |field: &str, value: Value| {
        let mut b = base.clone();
        b[field] = value;
        b
    };
    for (body, field, code) in [
        (with("department", json!("眼科")), "department", "unknown"),
        (with("department", json!("")), "department", "empty"),
        (with("capacity", json!(0)), "capacity", "range"),
        (with("capacity", json!(501)), "capacity", "range"),
        (with("ends_at", json!(SLOT_START)), "ends_at", "rule"),
        (
            with("ends_at", json!("2026-11-27T02:00:00Z")),
            "ends_at",
            "rule",
        ),
        (
            with("starts_at", json!("2026-11-23T07:59:59Z")),
            "starts_at",
            "rule",
        ),
        (with("starts_at", json!("tomorrow")), "starts_at", "type"),
    ] {
        let res = publish(&app, &admin, "H-NORTH", body.clone()).await;
        let problem = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem}");
        assert_eq!(problem["errors"][0]["code"], code, "{body}: {problem}");
    }
    let res = publish(&app, &admin, "NO-SUCH", base.clone()).await;
    assert_problem(res, 404, "institution_not_found").await;
    // A caseworker of Beijing may not publish for Shenzhen; one without a region may.
    let bj = app.create_staff("cwbeijing", StaffRole::Caseworker).await;
    {
        let mut conn = app.db.connect();
        shebao_infra::registry::staff::set_region(
            &mut conn,
            bj,
            Some("110000"),
            Utc::now().naive_utc(),
        )
        .unwrap();
    }
    let login: Value = app
        .login("cwbeijing", shebao_tests::STAFF_PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let bj_token = login["access_token"].as_str().unwrap();
    let res = publish(&app, bj_token, "H-NORTH", base.clone()).await;
    assert_problem(res, 403, "forbidden").await;
    let cw = app.staff_token(StaffRole::Caseworker).await;
    assert_eq!(
        publish(&app, &cw, "H-NORTH", base.clone()).await.status(),
        201
    );
    let res = app
        .post("/v1/staff/institutions/H-NORTH/slots")
        .json(&base)
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "unauthorized").await;

    // Three more: another department, later days.
    for (department, start, end) in [
        ("外科", "2026-11-26T01:00:00Z", "2026-11-26T02:00:00Z"),
        ("内科", "2026-11-27T01:00:00Z", "2026-11-27T02:00:00Z"),
        ("内科", "2026-11-30T06:00:00Z", "2026-11-30T07:00:00Z"),
    ] {
        let res = publish(
            &app,
            &admin,
            "H-NORTH",
            json!({"department": department, "starts_at": start, "ends_at": end, "capacity": 3}),
        )
        .await;
        assert_eq!(res.status(), 201);
    }
    let starts = |page: &Value| -> Vec<(String, String)> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["department"].as_str().unwrap().to_owned(),
                    s["starts_at"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let all = public(&app, "/v1/institutions/H-NORTH/slots").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 5, "{all}");
    let internal = public(&app, "/v1/institutions/H-NORTH/slots?department=内科").await;
    assert_eq!(
        starts(&internal),
        [
            ("内科".to_owned(), SLOT_START.to_owned()),
            ("内科".to_owned(), SLOT_START.to_owned()),
            ("内科".to_owned(), "2026-11-27T01:00:00Z".to_owned()),
            ("内科".to_owned(), "2026-11-30T06:00:00Z".to_owned()),
        ]
    );
    let window = public(
        &app,
        "/v1/institutions/H-NORTH/slots?department=内科&from=2026-11-27T00:00:00Z&to=2026-11-30T00:00:00Z",
    )
    .await;
    assert_eq!(
        starts(&window),
        [("内科".to_owned(), "2026-11-27T01:00:00Z".to_owned())]
    );
    // Pages of two follow each other.
    let first = public(&app, "/v1/institutions/H-NORTH/slots?limit=2").await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = public(
        &app,
        &format!("/v1/institutions/H-NORTH/slots?limit=2&cursor={cursor}"),
    )
    .await;
    let third_cursor = second["next_cursor"].as_str().unwrap();
    let third = public(
        &app,
        &format!("/v1/institutions/H-NORTH/slots?limit=2&cursor={third_cursor}"),
    )
    .await;
    let mut paged = starts(&first);
    paged.extend(starts(&second));
    paged.extend(starts(&third));
    assert_eq!(paged, starts(&all));
    assert!(third.get("next_cursor").is_none());
    // Slots that started are not listed by default.
    app.clock.advance(chrono::Duration::days(3)); // 26 Nov 08:00 UTC
    let later = public(&app, "/v1/institutions/H-NORTH/slots").await;
    assert_eq!(later["items"].as_array().unwrap().len(), 2, "{later}");

    let res = app
        .get("/v1/institutions/NO-SUCH/slots")
        .send()
        .await
        .unwrap();
    assert_problem(res, 404, "institution_not_found").await;
    // A window that ends before it starts holds nothing.
    let empty = public(
        &app,
        "/v1/institutions/H-NORTH/slots?to=2026-01-01T00:00:00Z",
    )
    .await;
    assert_eq!(empty["items"], json!([]));
    for q in ["from=yesterday", "department=a|b", "limit=0"] {
        let res = app
            .get(&format!("/v1/institutions/H-NORTH/slots?{q}"))
            .send()
            .await
            .unwrap();
        assert_problem(res, 422, "validation_failed").await;
    }
}

#[tokio::test]
async fn booking_is_idempotent_one_per_person_and_slot_and_cancelling_gives_the_place_back() {
    let (app, admin) = loaded().await;
    let people = app.bound_persons(3, "440300", 3).await;
    let (me, other, third) = (&people[0], &people[1], &people[2]);
    let s = slot(&app, &admin, "内科", 2).await;
    let id = s["id"].as_str().unwrap();

    let res = book(&app, &me.token, "book-key-0001", id).await;
    assert_eq!(res.status(), 201);
    assert!(res.headers().get("idempotent-replayed").is_none());
    let a: Value = res.json().await.unwrap();
    assert_eq!(a["status"], "booked");
    assert_eq!(a["slot"]["id"], id);
    assert_eq!(a["slot"]["places_left"], 1);
    assert_eq!(a["institution"]["code"], "H-NORTH");
    assert_eq!(a["institution"]["phone"], "0755-83920000");
    assert_eq!(places_left(&app, id).await, 1);
    let appointment = a["id"].as_str().unwrap();

    // The same key and body: the same appointment, not a second place.
    let res = book(&app, &me.token, "book-key-0001", id).await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["idempotent-replayed"], "true");
    let again: Value = res.json().await.unwrap();
    assert_eq!(again["id"], appointment);
    assert_eq!(places_left(&app, id).await, 1);
    // The same key, another body: refused.
    let other_slot = slot(&app, &admin, "外科", 5).await;
    let res = book(
        &app,
        &me.token,
        "book-key-0001",
        other_slot["id"].as_str().unwrap(),
    )
    .await;
    assert_problem(res, 422, "idempotency_key_reused").await;
    // Another key, the same slot: one appointment per person and slot.
    let res = book(&app, &me.token, "book-key-0002", id).await;
    let body = assert_problem(res, 409, "appointment_exists").await;
    assert!(
        body["detail"].as_str().unwrap().contains(appointment),
        "{body}"
    );

    // The last place, then none.
    assert_eq!(
        book(&app, &other.token, "book-key-0003", id).await.status(),
        201
    );
    assert_eq!(places_left(&app, id).await, 0);
    let res = book(&app, &third.token, "book-key-0004", id).await;
    assert_problem(res, 409, "slot_full").await;

    // Someone else's appointment does not exist for them.
    let cancel = |token: &str, appointment: &str| {
        app.post(&format!("/v1/me/appointments/{appointment}/cancel"))
            .bearer_auth(token.to_owned())
            .send()
    };
    let res = cancel(&third.token, appointment).await.unwrap();
    assert_problem(res, 404, "appointment_not_found").await;
    let res = cancel(&me.token, "not-a-uuid").await.unwrap();
    assert_problem(res, 404, "appointment_not_found").await;
    let res = cancel(&me.token, &uuid::Uuid::now_v7().to_string())
        .await
        .unwrap();
    assert_problem(res, 404, "appointment_not_found").await;
    assert_eq!(places_left(&app, id).await, 0);

    // Cancelling gives the place back, once; the third person takes it.
    let res = cancel(&me.token, appointment).await.unwrap();
    assert_eq!(res.status(), 200);
    let cancelled: Value = res.json().await.unwrap();
    assert_eq!(cancelled["status"], "cancelled");
    assert!(cancelled["cancelled_at"].is_string());
    assert_eq!(places_left(&app, id).await, 1);
    let res = cancel(&me.token, appointment).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(places_left(&app, id).await, 1);
    assert_eq!(
        book(&app, &third.token, "book-key-0005", id).await.status(),
        201
    );
    assert_eq!(places_left(&app, id).await, 0);
    // The cancelled appointment no longer blocks its person from booking again (once a place
    // is free).
    let res = book(&app, &me.token, "book-key-0006", id).await;
    assert_problem(res, 409, "slot_full").await;

    // The person's list, newest first, each their own only.
    assert_eq!(
        book(
            &app,
            &me.token,
            "book-key-0007",
            other_slot["id"].as_str().unwrap()
        )
        .await
        .status(),
        201
    );
    let mine = app.get_ok(&me.token, "/v1/me/appointments").await;
    let statuses: Vec<&str> = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["booked", "cancelled"]);
    let page = app.get_ok(&me.token, "/v1/me/appointments?limit=1").await;
    let next = page["next_cursor"].as_str().unwrap();
    let rest = app
        .get_ok(
            &me.token,
            &format!("/v1/me/appointments?limit=1&cursor={next}"),
        )
        .await;
    assert_eq!(rest["items"][0]["id"], appointment);
    let theirs = app.get_ok(&other.token, "/v1/me/appointments").await;
    assert_eq!(theirs["items"].as_array().unwrap().len(), 1);

    // What a booking needs: a key, a slot that exists and has not started, a bound person.
    let res = app
        .post("/v1/me/appointments")
        .bearer_auth(&me.token)
        .json(&json!({"slot_id": id}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 400, "idempotency_key_required").await;
    let res = book(
        &app,
        &me.token,
        "book-key-0008",
        &uuid::Uuid::now_v7().to_string(),
    )
    .await;
    assert_problem(res, 404, "slot_not_found").await;
    let res = book(&app, &me.token, "book-key-0009", "not-a-uuid").await;
    assert_problem(res, 422, "validation_failed").await;
    let unbound = app.register("+8613700009999").await;
    let res = book(
        &app,
        unbound["access_token"].as_str().unwrap(),
        "book-key-0010",
        id,
    )
    .await;
    assert_problem(res, 403, "binding_required").await;
    let res = app.get("/v1/me/appointments").send().await.unwrap();
    assert_problem(res, 401, "unauthorized").await;

    // Once the slot has started: no booking, no cancelling.
    let later_slot = slot(&app, &admin, "外科", 5).await;
    app.clock
        .advance(chrono::Duration::days(2) + chrono::Duration::hours(17)); // 26 Nov 01:00 UTC
    let fresh = app.access_token(third.account_id, third.session_id);
    let res = book(
        &app,
        &fresh,
        "book-key-0011",
        later_slot["id"].as_str().unwrap(),
    )
    .await;
    assert_problem(res, 409, "slot_started").await;
    let mine = app.get_ok(&fresh, "/v1/me/appointments").await;
    let booked = mine["items"][0]["id"].as_str().unwrap().to_owned();
    let res = cancel(&fresh, &booked).await.unwrap();
    assert_problem(res, 409, "slot_started").await;
}

#[tokio::test]
async fn two_hundred_concurrent_bookings_fill_ten_places_and_no_more() {
    let (app, admin) = loaded_with(TestOptions {
        env: vec![
            ("SHEBAO_DB_POOL_SIZE", "8".into()),
            ("SHEBAO_DB_ACQUIRE_TIMEOUT_MS", "60000".into()),
        ],
        ..Default::default()
    })
    .await;
    let people = app.bound_persons(200, "440300", 4).await;
    let s = slot(&app, &admin, "内科", 10).await;
    let id = s["id"].as_str().unwrap();
    let app = &app;
    // All at once. On a busy machine the server may not read a request's head within its
    // timeout (408) and then closes the connection (a reset for the next request on it):
    // such a request is sent again with the same key, which is safe (an answered one replays).
    let answers = join_all(people.iter().enumerate().map(|(i, p)| {
        let key = format!("race-key-{i:04}");
        async move {
            for _ in 0..10 {
                let sent = app
                    .post("/v1/me/appointments")
                    .bearer_auth(&p.token)
                    .header("Idempotency-Key", &key)
                    .json(&json!({"slot_id": id}))
                    .send()
                    .await;
                match sent {
                    Ok(res) if res.status() != 408 => return res,
                    _ => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
                }
            }
            panic!("no answer in ten tries");
        }
    }))
    .await;
    let mut booked = std::collections::BTreeSet::new();
    let mut full = 0;
    for res in answers {
        match res.status().as_u16() {
            201 => {
                let body: Value = res.json().await.unwrap();
                booked.insert(body["id"].as_str().unwrap().to_owned());
            }
            409 => {
                let body: Value = res.json().await.unwrap();
                assert_eq!(body["code"], "slot_full", "{body}");
                full += 1;
            }
            other => panic!("{other}: {}", res.text().await.unwrap()),
        }
    }
    assert_eq!((booked.len(), full), (10, 190));
    let mut conn = app.db.connect();
    let stored: i64 = appointments::table
        .filter(appointments::slot_id.eq(id))
        .filter(appointments::status.eq("booked"))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(stored, 10);
    let counted: i32 = institution_slots::table
        .find(id)
        .select(institution_slots::booked)
        .first(&mut conn)
        .unwrap();
    assert_eq!(counted, 10);
    assert_eq!(places_left(app, id).await, 0);
}

#[tokio::test]
async fn twin_bookings_with_one_key_make_one_appointment() {
    let (app, admin) = loaded().await;
    let me = app.bound_persons(1, "440300", 5).await.remove(0);
    let s = slot(&app, &admin, "内科", 10).await;
    let id = s["id"].as_str().unwrap();
    let answers = join_all((0..8).map(|_| book(&app, &me.token, "twin-key-0001", id))).await;
    let mut ids = Vec::new();
    for res in answers {
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
        let a: Value = res.json().await.unwrap();
        ids.push(a["id"].as_str().unwrap().to_owned());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(places_left(&app, id).await, 9);
}

/// The appointment reminders texted to `phone` so far.
async fn reminders(app: &TestApp, phone: &str) -> Vec<String> {
    app.sms_messages(phone)
        .await
        .iter()
        .filter_map(|m| m["body"].as_str())
        .filter(|b| b.contains("预约提醒"))
        .map(str::to_owned)
        .collect()
}

/// The state and run time of the reminder job of an appointment.
fn reminder_job(app: &TestApp, appointment: &str) -> Option<(String, chrono::NaiveDateTime)> {
    let mut conn = app.db.connect();
    jobs::table
        .filter(jobs::dedupe_key.eq(format!("sms:event:appointment:{appointment}:reminder")))
        .select((jobs::state, jobs::run_at))
        .first(&mut conn)
        .optional()
        .unwrap()
}

#[tokio::test]
async fn the_reminder_goes_the_day_before_once_and_never_after_a_cancellation() {
    let (app, admin) = loaded_with(TestOptions {
        env: vec![("SHEBAO_JOB_POLL_MS", "50".into())],
        ..Default::default()
    })
    .await;
    let people = app.bound_persons(2, "440300", 6).await;
    let (keeps, cancels) = (&people[0], &people[1]);
    let s = slot(&app, &admin, "内科", 10).await;
    let id = s["id"].as_str().unwrap();
    let kept: Value = book(&app, &keeps.token, "remind-key-01", id)
        .await
        .json()
        .await
        .unwrap();
    let dropped: Value = book(&app, &cancels.token, "remind-key-02", id)
        .await
        .json()
        .await
        .unwrap();
    let (kept, dropped) = (
        kept["id"].as_str().unwrap(),
        dropped["id"].as_str().unwrap(),
    );
    // The slot starts on the 26th at 09:00 Beijing time: the reminder is due on the 25th at
    // 10:00 there, 02:00 UTC.
    let due = Utc
        .with_ymd_and_hms(2026, 11, 25, 2, 0, 0)
        .unwrap()
        .naive_utc();
    assert_eq!(reminder_job(&app, kept), Some(("queued".to_owned(), due)));
    assert_eq!(
        reminder_job(&app, dropped),
        Some(("queued".to_owned(), due))
    );
    let res = app
        .post(&format!("/v1/me/appointments/{dropped}/cancel"))
        .bearer_auth(&cancels.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // Nothing before its day.
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!(reminders(&app, &keeps.phone).await, Vec::<String>::new());

    app.clock.advance(chrono::Duration::hours(42)); // 25 Nov 02:00 UTC
    let started = std::time::Instant::now();
    loop {
        let sent = reminders(&app, &keeps.phone).await;
        let done = reminder_job(&app, dropped).is_some_and(|(state, _)| state == "done");
        if (!sent.is_empty() && done) || started.elapsed() > std::time::Duration::from_secs(30) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let sent = reminders(&app, &keeps.phone).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(
        sent[0].contains("09:00") && sent[0].contains("测试H-NORTH内科"),
        "{sent:?}"
    );
    // The cancelled appointment's job ran and sent nothing.
    assert_eq!(
        reminder_job(&app, dropped).map(|(s, _)| s),
        Some("done".to_owned())
    );
    assert_eq!(reminders(&app, &cancels.phone).await, Vec::<String>::new());
    // Once: later runs of the jobs send nothing more.
    app.clock.advance(chrono::Duration::hours(3));
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!(reminders(&app, &keeps.phone).await.len(), 1);
}

#[tokio::test]
async fn the_demo_has_designated_institutions_and_a_slot_with_one_place_left() {
    let app = spawn_app_with(TestOptions {
        demo_seed: true,
        ..Default::default()
    })
    .await;
    let page = public(
        &app,
        "/v1/institutions?lat=22.5431&lon=114.0579&kind=hospital&department=内科&level=3",
    )
    .await;
    let first = &page["items"][0];
    assert_eq!(first["code"], "H440304001", "{page}");
    assert_eq!(first["name"], "北京大学深圳医院");
    let d = first["distance_m"].as_u64().unwrap();
    assert!((2_000..2_500).contains(&d), "{d}");
    let slots = public(&app, "/v1/institutions/H440304001/slots?department=内科").await;
    let left: Vec<i64> = slots["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["places_left"].as_i64().unwrap())
        .collect();
    assert!(left.contains(&1), "{slots}");
    // Beijing has its own.
    let bj = public(
        &app,
        "/v1/institutions?lat=39.9042&lon=116.4074&radius_km=10",
    )
    .await;
    assert!(bj["items"].as_array().unwrap().len() >= 5, "{bj}");
    // The medical transactions' institution codes are those of designated institutions.
    public(&app, "/v1/institutions/H440303001").await;
    public(&app, "/v1/institutions/P440305001").await;
}
