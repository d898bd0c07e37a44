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
            if op.get("security").is_some() {
                assert!(responses.contains_key("401"), "{name}: secured but no 401");
                assert!(responses.contains_key("403"), "{name}: secured but no 403");
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
