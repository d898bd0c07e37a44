//! The platform's promises: text inputs without control characters, security headers, metrics
//! on their own listener, a reason for every staff read, client addresses behind proxies, no 500
//! under concurrent SQLite writes, and a pool and a start-up that survive PostgreSQL restarts.

use std::sync::Arc;

use diesel::connection::SimpleConnection;
use diesel::Connection;
use serde_json::{json, Value};
use shebao_domain::staff::StaffRole;
use shebao_tests::{assert_problem, spawn_app, spawn_app_with, TestApp, TestOptions};

/// A registered person's id.
async fn person(app: &TestApp, token: &str) -> String {
    app.seed_regions();
    let res = app
        .post("/v1/staff/persons")
        .bearer_auth(token)
        .json(&json!({
            "national_id": "11010519491231002X", "name": "张三", "region": "440300",
            "card_number": "A44030000099", "medical_category": "employee",
            "employment_status": "employed"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let body: Value = res.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

/// Asserts a 422 naming `field` with `code`.
async fn field_problem(res: reqwest::Response, field: &str, code: &str) {
    let body = assert_problem(res, 422, "validation_failed").await;
    let errors = body["errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .any(|e| e["field"] == field && e["code"] == code),
        "{body}"
    );
}

#[tokio::test]
async fn staff_reads_of_a_person_need_a_reason() {
    let app = spawn_app().await;
    let token = app.staff_token(StaffRole::Caseworker).await;
    let id = person(&app, &token).await;
    for query in ["", "?reason=", "?reason=%20%20"] {
        let res = app
            .get(&format!("/v1/staff/persons/{id}{query}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        field_problem(res, "reason", "required").await;
    }
    let long = "理".repeat(501);
    let res = app
        .get(&format!("/v1/staff/persons/{id}"))
        .query(&[("reason", long.as_str())])
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    field_problem(res, "reason", "too_long").await;
    let res = app
        .get(&format!("/v1/staff/persons/{id}"))
        .query(&[("reason", " 核对参保登记 ")])
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // The read is audited with its reason, which the person will see.
    let mut conn = app.db.connect();
    let entries = shebao_infra::audit::for_subject(&mut conn, "person", &id, 10).unwrap();
    let reads: Vec<_> = entries
        .iter()
        .filter(|e| e.action == "person.read")
        .collect();
    assert_eq!(reads.len(), 1, "only the read with a reason happened");
    assert_eq!(reads[0].reason.as_deref(), Some("核对参保登记"));
}

#[tokio::test]
async fn control_characters_are_refused_in_queries_and_bodies() {
    let app = spawn_app().await;
    let token = app.staff_token(StaffRole::Admin).await;
    let id = person(&app, &token).await;
    // Queries: the reason of both staff reads of a person (a NUL byte was a 500 on PostgreSQL).
    for path in [
        format!("/v1/staff/persons/{id}/contributions?reason=%00"),
        format!("/v1/staff/persons/{id}?reason=a%00b"),
        format!("/v1/staff/persons/{id}?reason=line%0Abreak"),
    ] {
        let res = app.get(&path).bearer_auth(&token).send().await.unwrap();
        field_problem(res, "reason", "control_character").await;
    }
    // A cursor is opaque, but one forged to carry a NUL must not reach the database (it was a
    // 500 on PostgreSQL): the NUL is dropped and the cursor read like any other.
    let res = app
        .get("/v1/staff/regions?cursor=AA")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // Bodies: names of persons, employers and regions.
    let res = app
        .post("/v1/staff/persons")
        .bearer_auth(&token)
        .json(&json!({
            "national_id": "440300198603120277", "name": "张\u{0}伟", "region": "440300",
            "card_number": "A44030000001", "medical_category": "employee",
            "employment_status": "employed"
        }))
        .send()
        .await
        .unwrap();
    field_problem(res, "name", "control_character").await;
    let res = app
        .post("/v1/staff/employers")
        .bearer_auth(&token)
        .json(&json!({"name": "示例\u{0}公司", "credit_code": "91350100M000100Y43", "region": "440300"}))
        .send()
        .await
        .unwrap();
    field_problem(res, "name", "control_character").await;
    let res = app
        .client
        .put(app.url("/v1/staff/regions/440300"))
        .bearer_auth(&token)
        .json(&json!({"name": "深圳\u{1b}[2J", "time_zone": "Asia/Shanghai"}))
        .send()
        .await
        .unwrap();
    field_problem(res, "name", "control_character").await;
}

fn header<'a>(res: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    res.headers().get(name).map(|v| v.to_str().unwrap())
}

fn assert_secure(res: &reqwest::Response, what: &str) {
    assert_eq!(
        header(res, "x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(
        header(res, "referrer-policy"),
        Some("no-referrer"),
        "{what}"
    );
    assert_eq!(header(res, "x-frame-options"), Some("DENY"), "{what}");
    let csp = header(res, "content-security-policy").unwrap_or_default();
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app().await;
    for path in ["/healthz", "/readyz", "/openapi.json", "/v1/no/such/thing"] {
        let res = app.get(path).send().await.unwrap();
        assert_secure(&res, path);
        assert_eq!(
            header(&res, "content-security-policy"),
            Some(shebao_api::security_headers::API_CSP)
        );
        assert_eq!(
            header(&res, "strict-transport-security"),
            None,
            "off by default"
        );
    }
    // The docs page may run its script and reach the spec, and nothing else.
    let res = app.get("/docs").send().await.unwrap();
    assert_secure(&res, "/docs");
    let csp = header(&res, "content-security-policy").unwrap().to_owned();
    assert!(
        csp.contains("script-src") && csp.contains("connect-src 'self'"),
        "{csp}"
    );
    let page = res.text().await.unwrap();
    for src in page.split("src=\"").skip(1) {
        let src = src.split('"').next().unwrap();
        let origin = src.split('/').take(3).collect::<Vec<_>>().join("/");
        assert!(
            src.starts_with('/') || csp.contains(&origin),
            "the docs load {src}, which the CSP blocks: {csp}"
        );
    }
    // Tokens and personal data are never stored by a cache.
    app.create_staff("headers.check", StaffRole::Caseworker)
        .await;
    let res = app
        .login("headers.check", shebao_tests::STAFF_PASSWORD)
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "cache-control"), Some("no-store"));
    let token = app.staff_token(StaffRole::Caseworker).await;
    let id = person(&app, &token).await;
    let res = app
        .get(&format!("/v1/staff/persons/{id}?reason=check"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "cache-control"), Some("no-store"));
    let res = app
        .post("/v1/staff/auth/login")
        .json(&json!({"username": "nobody", "password": "wrong password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(header(&res, "cache-control"), Some("no-store"));
    // The public keys may be cached; they keep their own header.
    let res = app.get("/.well-known/jwks.json").send().await.unwrap();
    assert_eq!(header(&res, "cache-control"), Some("public, max-age=300"));

    // Served over TLS (SHEBAO_HSTS): HSTS on every answer.
    let tls = spawn_app_with(TestOptions {
        env: vec![("SHEBAO_HSTS", "true".into())],
        ..Default::default()
    })
    .await;
    let res = tls.get("/healthz").send().await.unwrap();
    assert_eq!(
        header(&res, "strict-transport-security"),
        Some(shebao_api::security_headers::HSTS)
    );
}

#[tokio::test]
async fn metrics_are_not_served_on_the_public_listener() {
    let app = spawn_app().await;
    let res = app.get("/metrics").send().await.unwrap();
    assert_problem(res, 404, "not_found").await;
    let res = app
        .client
        .get(format!("{}/metrics", app.metrics_url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("shebao_http_requests_total"));
    // The public spec does not offer it either.
    let spec: Value = app
        .get("/openapi.json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(spec["paths"].get("/metrics").is_none());
}

/// Fails phone sign-ins from `forwarded_for` (as a proxy would say) until the per-IP limit
/// answers 429; the number of attempts it took, or `None` if it never did.
async fn sign_in_until_limited(
    app: &TestApp,
    forwarded_for: impl Fn(usize) -> String,
) -> Option<usize> {
    let limit = usize::try_from(shebao_domain::throttle::CLIENT_ADDRESS.lock_after).unwrap();
    for i in 0..limit + 3 {
        let res = app
            .post("/v1/auth/login")
            .header("x-forwarded-for", forwarded_for(i))
            .json(&json!({"phone": format!("+86139{:08}", 10_000_000 + i), "password": "not the password"}))
            .send()
            .await
            .unwrap();
        match res.status().as_u16() {
            401 => {}
            429 => return Some(i),
            other => panic!("unexpected {other}: {}", res.text().await.unwrap()),
        }
    }
    None
}

#[tokio::test]
async fn the_per_ip_limit_follows_the_forwarded_address_only_from_a_trusted_proxy() {
    // The tests connect from 127.0.0.1: here that is a trusted proxy.
    let app = spawn_app_with(TestOptions {
        env: vec![("SHEBAO_TRUSTED_PROXIES", "127.0.0.1/32, 10.0.0.0/8".into())],
        ..Default::default()
    })
    .await;
    // The client put a forged address first; the proxies appended the real one and their own.
    let took = sign_in_until_limited(&app, |_| "6.6.6.6, 198.51.100.7, 10.0.0.9".into()).await;
    assert!(took.is_some(), "the forwarded address was never limited");
    // Another client behind the same proxy is not affected.
    let res = app
        .post("/v1/auth/login")
        .header("x-forwarded-for", "6.6.6.6, 198.51.100.8")
        .json(&json!({"phone": "+8613900000001", "password": "not the password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let mut conn = app.db.connect();
    let keyed: Vec<String> = {
        use diesel::prelude::*;
        use shebao_infra::schema::auth_throttle::dsl as t;
        t::auth_throttle
            .filter(t::scope.eq("client_address"))
            .select(t::subject)
            .load(&mut conn)
            .unwrap()
    };
    assert!(keyed.contains(&"198.51.100.7".to_owned()), "{keyed:?}");
    assert!(
        !keyed.iter().any(|k| k == "127.0.0.1" || k == "6.6.6.6"),
        "{keyed:?}"
    );

    // Without trusted proxies (the default) the header is the client's word: ignored, so a
    // client cannot dodge the limit by inventing a new address for every attempt.
    let plain = spawn_app().await;
    let took = sign_in_until_limited(&plain, |i| format!("198.51.100.{i}")).await;
    assert!(took.is_some(), "a forged X-Forwarded-For escaped the limit");
}

#[tokio::test]
async fn concurrent_writes_never_answer_500() {
    // Every staff read of a person writes an audit entry in the read's transaction: on SQLite a
    // deferred transaction that reads and then writes failed with `database is locked`.
    let app = Arc::new(
        spawn_app_with(TestOptions {
            env: vec![
                ("SHEBAO_DB_POOL_SIZE", "8".into()),
                ("SHEBAO_WORKERS", "4".into()),
            ],
            ..Default::default()
        })
        .await,
    );
    let token = app.staff_token(StaffRole::Caseworker).await;
    let id = person(&app, &token).await;
    // Rounds of 50 at once (more connections at once than that only measure the HTTP server
    // under a loaded test machine).
    let mut statuses = Vec::new();
    for round in 0..8 {
        let mut tasks = Vec::new();
        for i in 0..50 {
            let (app, token, id) = (app.clone(), token.clone(), id.clone());
            tasks.push(tokio::spawn(async move {
                let res = app
                    .get(&format!("/v1/staff/persons/{id}?reason=load%20{round}-{i}"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap();
                res.status().as_u16()
            }));
        }
        for t in tasks {
            statuses.push(t.await.unwrap());
        }
    }
    // Each waits for the write lock (the busy timeout) instead of failing: no 500, and not even
    // a 503 (a deferred transaction got `database is locked` a few times in 400).
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
}

#[test]
fn a_lock_held_past_the_busy_timeout_is_busy_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("busy.db").display());
    let mut holder = shebao_infra::db::DbConnection::open(&url).unwrap();
    holder
        .batch_execute("CREATE TABLE t (x INTEGER); BEGIN IMMEDIATE; INSERT INTO t VALUES (1);")
        .unwrap();
    let mut waiter = shebao_infra::db::DbConnection::open(&url).unwrap();
    waiter.batch_execute("PRAGMA busy_timeout = 50").unwrap();
    let err = shebao_infra::db::write_transaction(&mut waiter, |c| {
        c.batch_execute("INSERT INTO t VALUES (2)")
            .map_err(shebao_infra::db::StoreError::from)
    })
    .unwrap_err();
    assert!(
        matches!(err, shebao_infra::db::StoreError::Busy(_)),
        "{err:?}"
    );
    // … which the API answers 503 with Retry-After.
    let api: shebao_api::error::ApiError = err.into();
    assert!(matches!(api, shebao_api::error::ApiError::Unavailable(_)));
    holder.batch_execute("COMMIT").unwrap();
}

/// Cuts every connection the server holds to its test database, as a PostgreSQL restart does.
async fn terminate_backends(app: &TestApp) {
    let admin = std::env::var(shebao_tests::POSTGRES_ENV).unwrap();
    let name = app.db.url.rsplit('/').next().unwrap().to_owned();
    tokio::task::spawn_blocking(move || {
        let mut c = diesel::PgConnection::establish(&admin).unwrap();
        c.batch_execute(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        ))
        .unwrap();
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn after_a_postgres_restart_reads_succeed_and_readyz_says_so_at_once() {
    let app = spawn_app().await;
    if !app.db.is_postgres() {
        return; // SQLite has no server to restart.
    }
    let token = app.staff_token(StaffRole::Admin).await;
    app.seed_regions();
    // Fill the pool with connections, all idle afterwards.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        tasks.push(app.get("/v1/staff/regions").bearer_auth(&token).send());
    }
    for t in futures_util::future::join_all(tasks).await {
        assert_eq!(t.unwrap().status(), 200);
    }
    terminate_backends(&app).await;
    // A load balancer asks first: the instance is healthy.
    let res = app.get("/readyz").send().await.unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    // Reads succeed at the first try (a dead connection is retried once on a new one) …
    for path in ["/v1/staff/regions", "/v1/staff/regions/440300"] {
        let res = app.get(path).bearer_auth(&token).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}: {}", res.text().await.unwrap());
    }
    // … and the other idle connections, dead too, went with the first one found dead: writes
    // do not fail one per dead connection.
    terminate_backends(&app).await;
    let _ = app
        .get("/v1/staff/regions")
        .bearer_auth(&token)
        .send()
        .await;
    for i in 0..6 {
        let res = app
            .post("/v1/staff/employers")
            .bearer_auth(&token)
            .json(&json!({"name": format!("示例{i}"), "credit_code": "91350100M000100Y43", "region": "440300"}))
            .send()
            .await
            .unwrap();
        assert!(
            [201, 409].contains(&res.status().as_u16()),
            "write {i}: {}",
            res.text().await.unwrap()
        );
    }
}

#[tokio::test]
async fn a_server_started_before_its_database_listens_and_migrates_when_it_comes() {
    let Some(admin) = shebao_tests::postgres_admin_url() else {
        return; // An embedded database is always there.
    };
    let name = format!("shebao_late_{}", uuid::Uuid::new_v4().simple());
    let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
    // The payment stand-in writes its keys into the data directory: a temporary one.
    let data = tempfile::tempdir().unwrap();
    let vars: Vec<(&str, String)> = vec![
        ("SHEBAO_LISTEN", "127.0.0.1:0".into()),
        ("DATABASE_URL", url.clone()),
        ("SHEBAO_DATA_DIR", data.path().display().to_string()),
        // On PostgreSQL the stand-ins start only when asked for.
        ("SHEBAO_SMS_STANDIN", "true".into()),
        ("SHEBAO_SMS_STANDIN_LISTEN", "127.0.0.1:0".into()),
        ("SHEBAO_PAY_STANDIN", "true".into()),
        ("SHEBAO_PAY_STANDIN_LISTEN", "127.0.0.1:0".into()),
        ("SHEBAO_METRICS_LISTEN", "off".into()),
        ("SHEBAO_WORKERS", "1".into()),
        ("SHEBAO_DB_ACQUIRE_TIMEOUT_MS", "300".into()),
    ];
    let settings = shebao_infra::config::Settings::from_env(&|k| {
        vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
    })
    .unwrap();
    let app = shebao_api::startup::Application::build(
        settings,
        shebao_security::KeyMaterial::generate(),
        Arc::new(shebao_infra::clock::SystemClock),
    )
    .await
    .expect("the server starts without its database");
    let base = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();
    let get = |path: &str| client.get(format!("{base}{path}")).send();
    assert_eq!(get("/healthz").await.unwrap().status(), 200);
    let res = get("/readyz").await.unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(
        res.json::<Value>().await.unwrap()["database"],
        "unreachable"
    );
    // Routes that need the database say so, and nothing fails.
    let res = get("/v1/staff/regions").await.unwrap();
    assert_problem(res, 503, "service_unavailable").await;

    // The database comes: the server migrates it and becomes ready by itself.
    let create = (admin.clone(), name.clone());
    tokio::task::spawn_blocking(move || {
        let mut c = diesel::PgConnection::establish(&create.0).unwrap();
        c.batch_execute(&format!("CREATE DATABASE {}", create.1))
            .unwrap();
    })
    .await
    .unwrap();
    let mut ready = false;
    for _ in 0..100 {
        if get("/readyz").await.unwrap().status() == 200 {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let res = get("/v1/staff/regions").await.unwrap();
    let status = res.status();
    handle.stop(true).await;
    tokio::task::spawn_blocking(move || {
        let mut c = diesel::PgConnection::establish(&admin).unwrap();
        c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .unwrap();
    })
    .await
    .unwrap();
    assert!(ready, "never became ready after the database came");
    // Migrated: the route answers for itself (no token → 401), not 503.
    assert_eq!(status, 401);
}
