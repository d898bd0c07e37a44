//! What an operator relies on: health, readiness, metrics, request ids, the served spec and docs.

use serde_json::Value;
use shebao_domain::staff::StaffRole;
use shebao_tests::spawn_app;

#[tokio::test]
async fn healthz_and_readyz_answer() {
    let app = spawn_app().await;
    let res = app.get("/healthz").send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "ok");

    let res = app.get("/readyz").send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["database"], "ok");
    assert_eq!(
        body["backend"],
        if app.db.is_postgres() {
            "postgres"
        } else {
            "sqlite"
        }
    );
}

#[tokio::test]
async fn readyz_is_503_while_the_database_is_unreachable() {
    let app = spawn_app().await;
    if app.db.is_postgres() {
        // Pull the database out from under the running server.
        let url = std::env::var(shebao_tests::POSTGRES_ENV).unwrap();
        let name = app.db.url.rsplit('/').next().unwrap().to_owned();
        tokio::task::spawn_blocking(move || {
            use diesel::connection::SimpleConnection;
            use diesel::Connection;
            let mut c = diesel::PgConnection::establish(&url).unwrap();
            c.batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
                .unwrap();
        })
        .await
        .unwrap();
    } else {
        // An embedded database cannot be pulled away from open connections (the file stays
        // open); check what /readyz relies on instead: a database that cannot be opened is
        // reported unavailable, not as an error.
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().display());
        let db = shebao_infra::db::Db::connect(&url, &Default::default()).unwrap();
        let err = db
            .ping(std::time::Duration::from_millis(500))
            .await
            .unwrap_err();
        assert!(err.is_unavailable(), "{err:?}");
        return;
    }
    let mut last = None;
    // Pooled connections that are still open may answer once or twice; new ones cannot.
    for _ in 0..10 {
        let res = app.get("/readyz").send().await.unwrap();
        if res.status() == 503 {
            last = Some(res);
            break;
        }
    }
    let res = last.expect("readyz never reported the database as unreachable");
    assert_eq!(res.headers().get("retry-after").unwrap(), "5");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");
    // The liveness probe is unaffected.
    assert_eq!(app.get("/healthz").send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn request_ids_are_made_or_kept() {
    let app = spawn_app().await;
    let res = app.get("/healthz").send().await.unwrap();
    let made = res
        .headers()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(made.len(), 36);

    let res = app
        .get("/healthz")
        .header("x-request-id", "phone-abc_123")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers().get("x-request-id").unwrap(), "phone-abc_123");

    // Anything odd is replaced, never echoed.
    let res = app
        .get("/healthz")
        .header("x-request-id", "a b <script>")
        .send()
        .await
        .unwrap();
    assert_ne!(res.headers().get("x-request-id").unwrap(), "a b <script>");
}

#[tokio::test]
async fn metrics_count_requests_per_route() {
    let app = spawn_app().await;
    let token = app.staff_token(StaffRole::Admin).await;
    for _ in 0..3 {
        app.get("/v1/staff/regions")
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
    }
    app.get("/v1/does/not/exist").send().await.unwrap();
    let metrics = format!("{}/metrics", app.metrics_url);
    let res = app.client.get(&metrics).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = res.text().await.unwrap();
    assert!(
        text.contains(
            r#"shebao_http_requests_total{method="GET",route="/v1/staff/regions",status="200"} 3"#
        ),
        "{text}"
    );
    assert!(text.contains(r#"route="unmatched",status="404""#), "{text}");
    assert!(text.contains(r#"shebao_http_request_duration_seconds_bucket{method="GET",route="/v1/staff/regions",le="0.005"}"#));
    assert!(text.contains("shebao_db_pool_connections"));
    // Paths with ids are counted under their pattern, not one series per id.
    app.get("/v1/staff/persons/0000")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let text = app
        .client
        .get(&metrics)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains(r#"route="/v1/staff/persons/{id}""#), "{text}");
}

#[tokio::test]
async fn serves_the_spec_and_the_docs() {
    let app = spawn_app().await;
    let spec: Value = app
        .get("/openapi.json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(spec["paths"]["/v1/staff/persons"]["post"].is_object());
    let res = app.get("/docs").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let page = res.text().await.unwrap();
    assert!(page.contains("<title>Shebao API"), "{page}");
    // Offline means every asset comes from this server: no absolute URL to anywhere else.
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "{page}"
    );
    let assets: Vec<&str> = page
        .split('"')
        .filter(|part| part.starts_with("/docs/"))
        .collect();
    assert!(assets.len() >= 4, "{assets:?}");
    for asset in assets {
        let res = app.get(asset).send().await.unwrap();
        assert_eq!(res.status(), 200, "{asset}");
        let body = res.bytes().await.unwrap();
        assert!(body.len() > 100, "{asset} is empty");
        if asset.ends_with("swagger-initializer.js") {
            let text = std::str::from_utf8(&body).unwrap();
            assert!(text.contains("\"/openapi.json\""), "{text}");
        }
    }
    assert_eq!(
        app.get("/docs/no-such-file.js")
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

#[tokio::test]
async fn the_pool_recovers_when_postgres_drops_its_connections() {
    let app = spawn_app().await;
    let token = app.staff_token(StaffRole::Admin).await;
    assert_eq!(
        app.get("/v1/staff/regions")
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    if !app.db.is_postgres() {
        // SQLite has no server to lose; the PostgreSQL pass of .ci/run runs the rest.
        return;
    }
    // What a server restart does to the pool: every connection is cut.
    let admin = std::env::var(shebao_tests::POSTGRES_ENV).unwrap();
    let name = app.db.url.rsplit('/').next().unwrap().to_owned();
    tokio::task::spawn_blocking(move || {
        use diesel::connection::SimpleConnection;
        use diesel::Connection;
        let mut c = diesel::PgConnection::establish(&admin).unwrap();
        c.batch_execute(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        ))
        .unwrap();
    })
    .await
    .unwrap();
    // Every answer is a success or a 503 with Retry-After, never a 500; and it recovers.
    let mut recovered = false;
    for _ in 0..5 {
        let res = app
            .get("/v1/staff/regions")
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        match res.status().as_u16() {
            200 => {
                recovered = true;
                break;
            }
            503 => assert!(res.headers().contains_key("retry-after")),
            other => panic!("unexpected {other}: {}", res.text().await.unwrap()),
        }
    }
    assert!(recovered, "the pool did not recover");
}
