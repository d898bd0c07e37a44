//! The demo data as the phone app shows it: a year of medical spending, a retired person's
//! pension with its yearly adjustment, an unemployed person's benefit, a flexible worker's due
//! month — read over HTTP by the demo persons themselves.

use serde_json::Value;
use shebao_tests::{spawn_app_with, TestApp, TestOptions};

/// (national ID, name, card number) of demo persons, as the README gives them.
const ZHANG: (&str, &str, &str) = ("440300198603120277", "张伟", "A44030000001");
const WANG_FLEXIBLE: (&str, &str, &str) = ("440300197911231089", "王芳", "A44030000003");
const SUN_RETIRED: (&str, &str, &str) = ("110000195803150415", "孙建国", "A11000000011");
const ZHENG_UNEMPLOYED: (&str, &str, &str) = ("110000199106200737", "郑涛", "A11000000012");

async fn demo() -> TestApp {
    spawn_app_with(TestOptions {
        demo_seed: true,
        ..Default::default()
    })
    .await
}

async fn bound(app: &TestApp, phone: &str, who: (&str, &str, &str)) -> String {
    app.register_and_bind(phone, who).await.access
}

fn items(v: &Value) -> &Vec<Value> {
    v["items"].as_array().unwrap()
}

#[tokio::test]
async fn the_demo_person_has_a_year_of_medical_spending() {
    let app = demo().await;
    let token = bound(&app, "+8613800138101", ZHANG).await;
    let page = app
        .get_ok(&token, "/v1/me/accounts/medical/transactions?limit=100")
        .await;
    let list = items(&page);
    assert!(list.len() >= 8, "{page}");
    let kinds: Vec<&str> = list.iter().map(|t| t["kind"].as_str().unwrap()).collect();
    for kind in ["pharmacy", "outpatient", "inpatient"] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    for t in list {
        let part = |f: &str| t[f].as_i64().unwrap();
        assert_eq!(
            part("account_paid_fen") + part("fund_paid_fen") + part("self_paid_fen"),
            part("total_fen"),
            "{t}"
        );
    }
    // Spread over the last year, none in the future (the test clock stands at 2026-11-23).
    let months: std::collections::BTreeSet<&str> = list
        .iter()
        .map(|t| &t["occurred_at"].as_str().unwrap()[..7])
        .collect();
    assert!(months.len() >= 10, "{months:?}");
    assert!(
        months.iter().all(|m| ("2025-11".."2026-11").contains(m)),
        "{months:?}"
    );
    // The account still has money left after the spending.
    let account = app.get_ok(&token, "/v1/me/accounts/medical").await;
    assert!(account["balance_fen"].as_i64().unwrap() > 0, "{account}");
}

#[tokio::test]
async fn the_retired_demo_person_draws_a_pension_with_a_yearly_adjustment() {
    let app = demo().await;
    let token = bound(&app, "+8613800138102", SUN_RETIRED).await;
    let page = app
        .get_ok(&token, "/v1/me/benefits?kind=pension&limit=100")
        .await;
    let list = items(&page);
    assert!(list.len() >= 12, "{page}");
    assert!(list.iter().all(|p| p["kind"] == "pension"));
    let adjusted: Vec<&Value> = list.iter().filter(|p| !p["adjustment"].is_null()).collect();
    assert!(!adjusted.is_empty(), "{page}");
    for p in &adjusted {
        assert!(p["adjustment"]["delta_fen"].as_i64().unwrap() > 0, "{p}");
        assert!(!p["adjustment"]["reason"].as_str().unwrap().is_empty());
    }
    // The month after the adjustment pays more than the month before it.
    let by_period = |period: &str| {
        list.iter()
            .find(|p| p["period"] == period)
            .map(|p| p["amount_fen"].as_i64().unwrap())
            .unwrap()
    };
    assert!(by_period("2026-08") > by_period("2026-06"));
    // No contributions since retirement.
    let contributions = app
        .get_ok(&token, "/v1/me/contributions?from=2019-01&limit=10")
        .await;
    assert!(items(&contributions).is_empty(), "{contributions}");
}

#[tokio::test]
async fn the_unemployed_demo_person_draws_unemployment_benefit() {
    let app = demo().await;
    let token = bound(&app, "+8613800138103", ZHENG_UNEMPLOYED).await;
    let page = app.get_ok(&token, "/v1/me/benefits?limit=100").await;
    let list = items(&page);
    assert!(!list.is_empty(), "{page}");
    assert!(list.iter().all(|p| p["kind"] == "unemployment"), "{page}");
    let drawn = list.len() as u64;
    assert_eq!(page["unemployment"]["months_paid"], drawn, "{page}");
    assert!(
        page["unemployment"]["months_left"].as_u64().unwrap() > 0,
        "{page}"
    );
}

#[tokio::test]
async fn the_flexible_demo_person_has_a_month_due() {
    let app = demo().await;
    let token = bound(&app, "+8613800138104", WANG_FLEXIBLE).await;
    let page = app
        .get_ok(&token, "/v1/me/contributions?from=2026-09&limit=100")
        .await;
    let status = |period: &str| {
        items(&page)
            .iter()
            .find(|r| r["period"] == period)
            .map(|r| r["status"].as_str().unwrap().to_owned())
            .unwrap_or_else(|| panic!("{period} missing from {page}"))
    };
    assert_eq!(status("2026-11"), "due");
    // Last month is unpaid too; its due date (15 November) has passed: arrears.
    assert_eq!(status("2026-10"), "arrears");
    assert_eq!(status("2026-09"), "paid");
    let summary = app.get_ok(&token, "/v1/me/contributions/summary").await;
    let pension = summary["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["insurance"] == "pension")
        .unwrap();
    assert_eq!(pension["arrears_months"], 1, "{summary}");
}
