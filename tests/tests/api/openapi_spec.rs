//! The committed spec is what the code generates, and every operation documents its errors.

use serde_json::Value;

#[test]
fn committed_openapi_json_matches_the_code() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi/openapi.json");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    let generated = shebao_api::openapi_doc::render();
    assert!(
        committed == generated,
        "openapi/openapi.json is out of date: run `cargo run -p shebao-api -- openapi` and commit the result"
    );
}

#[test]
fn every_operation_documents_its_errors_as_problem_json() {
    let spec: Value = serde_json::from_str(&shebao_api::openapi_doc::render()).unwrap();
    assert_eq!(spec["openapi"], "3.1.0");
    let paths = spec["paths"].as_object().unwrap();
    assert!(paths.len() >= 10);
    // operationIds are unique (tools resolve links by them).
    let mut ids = std::collections::BTreeSet::new();
    for item in paths.values() {
        for op in item.as_object().unwrap().values() {
            let id = op["operationId"].as_str().unwrap().to_owned();
            assert!(ids.insert(id.clone()), "duplicate operationId {id}");
        }
    }
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            let name = format!("{method} {path}");
            assert!(responses.contains_key("500"), "{name}: no 500");
            assert!(responses.contains_key("503"), "{name}: no 503");
            if op.get("requestBody").is_some() {
                for s in ["400", "413", "415", "422"] {
                    assert!(responses.contains_key(s), "{name}: no {s}");
                }
            }
            if let Some(security) = op.get("security").and_then(Value::as_array) {
                assert!(responses.contains_key("401"), "{name}: secured but no 401");
                // An operation open to anyone as well (`{}` among its requirements) says more
                // to a signed-in caller but refuses nobody: no 403.
                let open_to_anyone = security
                    .iter()
                    .any(|r| r.as_object().is_some_and(|o| o.is_empty()));
                if !open_to_anyone {
                    assert!(responses.contains_key("403"), "{name}: secured but no 403");
                }
            }
            for (status, r) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    let content = r["content"].as_object();
                    let is_readiness = path == "/readyz";
                    assert!(
                        is_readiness
                            || content.is_some_and(|c| c.contains_key("application/problem+json")),
                        "{name} {status}: not problem+json"
                    );
                }
            }
        }
    }
}

/// The request examples of the document, by operation: the body example of each media type (the
/// schema's, or for a `oneOf` each alternative's).
fn request_examples(spec: &Value) -> Vec<(String, String, String, Value)> {
    let schemas = &spec["components"]["schemas"];
    let resolve = |s: &Value| -> Value {
        match s["$ref"].as_str() {
            Some(r) => schemas[r.rsplit('/').next().unwrap()].clone(),
            None => s.clone(),
        }
    };
    let mut out = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Some(content) = op["requestBody"]["content"].as_object() else {
                continue;
            };
            for (media, c) in content {
                let schema = resolve(&c["schema"]);
                let mut examples = Vec::new();
                if let Some(e) = c.get("example") {
                    examples.push(e.clone());
                }
                if let Some(e) = schema.get("example") {
                    examples.push(e.clone());
                }
                for alt in schema["oneOf"].as_array().into_iter().flatten() {
                    if let Some(e) = resolve(alt).get("example") {
                        examples.push(e.clone());
                    }
                }
                for e in examples {
                    out.push((method.clone(), path.clone(), media.clone(), e));
                }
            }
        }
    }
    out
}

/// Every request example of the spec is valid: sent in turn (in an order where what one needs
/// exists), each is answered with success. Only the SMS code of an example is replaced with the
/// one the SMS stand-in received (a code is good once, for minutes). The example credit code of
/// the employer once had a wrong check character and was refused by the server itself.
#[tokio::test]
async fn every_request_example_of_the_spec_is_accepted() {
    use shebao_domain::staff::StaffRole;
    let app = shebao_tests::spawn_app().await;
    let spec: Value = serde_json::from_str(&shebao_api::openapi_doc::render()).unwrap();
    let examples = request_examples(&spec);
    // Regions and their years come first (persons and employers name a region), then the
    // registry, then the imports that name its persons and employers, then the phone app.
    let order = [
        "/v1/staff/auth/login",
        "/v1/staff/regions/{code}",
        "/v1/staff/regions/{code}/years/{year}",
        "/v1/staff/persons",
        "/v1/staff/employers",
        "/v1/staff/pension-interest",
        "/v1/staff/contributions:import",
        "/v1/staff/medical-transactions:import",
        "/v1/staff/benefit-payments:import",
        "/v1/staff/institutions:import",
        "/v1/staff/institutions/{code}/slots",
        "/v1/auth/sms-codes",
        "/v1/auth/register",
        "/v1/auth/login",
        "/v1/me/binding",
        // Family access (issue 14 part 1): an invitation to another phone.
        "/v1/me/proxies",
        "/v1/me/proxy-requests",
        // Benefit payouts (issue 14 §2): needs the fresh step-up of the binding.
        "/v1/me/payout-account",
        "/v1/me/appointments",
        "/v1/me/flexible-base",
        "/v1/me/payees",
        "/v1/me/payments",
        "/v1/staff/reconciliations",
        // Benefit payouts (issue 14 §2): a run of the current month.
        "/v1/staff/payouts",
        "/v1/me/notification-preferences",
        "/v1/staff/campaigns/{kind}:run",
        // Feedback (issue 18): a thread, the person's follow-up, the agency's answer, a rating.
        "/v1/me/feedback",
        "/v1/me/feedback/{id}/messages",
        "/v1/staff/feedback/{id}/messages",
        "/v1/me/feedback/{id}/rating",
        // Notices (issue 18): the example is aimed at a seeded region.
        "/v1/staff/notices",
        // Contribution certificates (issue 14 part 3): the bound person's, for past months.
        "/v1/me/certificates",
    ];
    for (_, path, _, _) in &examples {
        assert!(
            order.contains(&path.as_str()),
            "{path} has a request example this test does not send yet"
        );
    }
    // The registry's regions with their years' parameters (the imports' months need them).
    app.seed_regions();
    app.create_staff("admin", StaffRole::Admin).await;
    let staff = app.staff_token(StaffRole::Admin).await;
    let mut person: Option<(String, String)> = None; // (access token, phone)
    let mut stepped_up: Option<String> = None;
    let mut sent = 0;
    let mut thread: Option<String> = None; // the feedback thread the example created
                                           // The slot the institution's example publishes, which the booking's example books.
    let mut slot: Option<String> = None;
    for step in order {
        for (method, path, media, example) in examples.iter().filter(|e| e.1 == step) {
            let url = path
                // The institution the import's example loads.
                .replace("institutions/{code}", "institutions/H44030400001")
                .replace("{code}", "440300")
                .replace("{year}", "2025")
                .replace("{kind}", "due")
                .replace("{id}", thread.as_deref().unwrap_or("{id}"));
            let mut body = example.clone();
            let phone = body["phone"].as_str().map(str::to_owned);
            if path == "/v1/auth/sms-codes" {
                app.clock.advance(chrono::Duration::seconds(61));
            }
            if body.get("code").is_some() {
                let purpose = if path == "/v1/auth/register" {
                    "register"
                } else {
                    "login"
                };
                app.clock.advance(chrono::Duration::seconds(61));
                body["code"] = Value::from(app.sms_code(phone.as_deref().unwrap(), purpose).await);
            }
            let mut req = app
                .client
                .request(method.to_uppercase().parse().unwrap(), app.url(&url))
                .header("content-type", media.as_str());
            req = match body.as_str() {
                Some(text) => req.body(text.to_owned()),
                None if media.contains("ndjson") || media.contains("jsonl") => {
                    req.body(format!("{body}\n"))
                }
                None => req.body(body.to_string()),
            };
            if path.starts_with("/v1/staff/") && path != "/v1/staff/auth/login" {
                req = req.bearer_auth(&staff);
            }
            if path == "/v1/me/binding" {
                let (access, phone) = person.clone().expect("registered before binding");
                let stepped = app.step_up(&access, &phone).await;
                // The example's person must exist: the registry's example is another one.
                let res = app
                    .post("/v1/staff/persons")
                    .bearer_auth(&staff)
                    .json(&serde_json::json!({
                        "national_id": body["national_id"], "name": body["name"],
                        "region": "440300", "card_number": body["card_number"],
                        "medical_category": "employee", "employment_status": "flexible"}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
                req = req.bearer_auth(&stepped);
                stepped_up = Some(stepped);
            }
            if path.starts_with("/v1/me/") && path != "/v1/me/binding" {
                req = req.bearer_auth(stepped_up.clone().expect("bound before"));
            }
            if path == "/v1/me/payments" {
                req = req.header("Idempotency-Key", "spec-example-1");
            }
            if path == "/v1/me/appointments" {
                body["slot_id"] = Value::from(slot.clone().expect("a slot published before"));
                req = req
                    .header("Idempotency-Key", "spec-example-2")
                    .body(body.to_string());
            }
            if path == "/v1/me/payees" {
                // The example's payee must be registered.
                let res = app
                    .post("/v1/staff/persons")
                    .bearer_auth(&staff)
                    .json(&serde_json::json!({
                        "national_id": body["national_id"], "name": body["name"],
                        "region": "110000", "card_number": "A11000000999",
                        "medical_category": "resident", "employment_status": "retired"}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
            }
            let res = req.send().await.unwrap();
            let status = res.status();
            let text = res.text().await.unwrap();
            assert!(
                status.is_success(),
                "{method} {path} ({media}) with the spec's example {example}: {status} {text}"
            );
            if path.ends_with(":import") {
                let result: Value = serde_json::from_str(&text).unwrap();
                assert_eq!(result["rejected_total"], 0, "{path} ({media}): {text}");
            }
            if path == "/v1/me/feedback" {
                let created: Value = serde_json::from_str(&text).unwrap();
                thread = created["id"].as_str().map(str::to_owned);
            }
            if path == "/v1/staff/institutions/{code}/slots" {
                let created: Value = serde_json::from_str(&text).unwrap();
                slot = created["id"].as_str().map(str::to_owned);
            }
            if path == "/v1/auth/register" {
                let pair: Value = serde_json::from_str(&text).unwrap();
                let access = pair["access_token"].as_str().unwrap().to_owned();
                person = Some((access, phone.clone().unwrap()));
            }
            sent += 1;
        }
    }
    assert_eq!(sent, examples.len());
}
