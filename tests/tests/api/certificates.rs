//! The contribution certificate (参保证明) over HTTP, on the demo data: the PDF's text agrees
//! with the contribution list and its summary; verification answers `valid: false` for a
//! tampered copy, a revoked certificate and a foreign token; the QR's token verifies offline
//! against the JWKS; another person's certificate is 404.
//!
//! The PDF's text is read with `pdftotext` (poppler-utils) when it is on PATH, and always with
//! the pure-Rust `pdf-extract` too, so `cargo test` needs no system tool; with
//! `SHEBAO_REQUIRE_PDFTOTEXT=1` (CI) a missing `pdftotext` fails the test.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use shebao_tests::{assert_problem, spawn_app_with, TestApp, TestOptions};

const ZHANG: (&str, &str, &str) = ("440300198603120277", "张伟", "A44030000001");
/// In arrears 2023-04 to 2023-06: the certificate shows them.
const LI: (&str, &str, &str) = ("440300199007010420", "李娜", "A44030000002");

async fn demo() -> TestApp {
    spawn_app_with(TestOptions {
        demo_seed: true,
        ..Default::default()
    })
    .await
}

/// Registers `phone`, steps up and binds `who`; returns the access token.
async fn bound(app: &TestApp, phone: &str, who: (&str, &str, &str)) -> String {
    bound_pair(app, phone, who).await.0
}

/// [`bound`], with the refresh token too.
async fn bound_pair(app: &TestApp, phone: &str, who: (&str, &str, &str)) -> (String, String) {
    let a = app.register_and_bind(phone, who).await;
    (a.access, a.refresh)
}

async fn issue(app: &TestApp, token: &str, kind: &str, from: &str, to: &str) -> Value {
    let res = app
        .post("/v1/me/certificates")
        .bearer_auth(token)
        .json(&json!({"kind": kind, "from": from, "to": to}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    res.json().await.unwrap()
}

/// The path of one of the service's absolute URLs.
fn path_of(app: &TestApp, url: &str) -> String {
    url.strip_prefix(&app.address)
        .unwrap_or_else(|| panic!("{url} is not under {}", app.address))
        .to_owned()
}

async fn download(app: &TestApp, token: &str, issued: &Value) -> Vec<u8> {
    let res = app
        .get(&path_of(app, issued["pdf_url"].as_str().unwrap()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    res.bytes().await.unwrap().to_vec()
}

async fn verify(app: &TestApp, path: &str) -> Value {
    let res = app.get(path).send().await.unwrap();
    assert_eq!(res.status(), 200, "{path}");
    res.json().await.unwrap()
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
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
        let page = app.get_ok(token, &url).await;
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return items,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Reading the PDF's text

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()))
}

/// The PDF's text by every extractor available: `pdftotext -layout` when installed (required
/// with `SHEBAO_REQUIRE_PDFTOTEXT=1`), and `pdf-extract` always.
fn pdf_texts(pdf: &[u8]) -> Vec<(&'static str, String)> {
    let mut texts = Vec::new();
    if on_path("pdftotext") {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("certificate.pdf");
        std::fs::write(&file, pdf).unwrap();
        let out = std::process::Command::new("pdftotext")
            .args(["-layout", "-enc", "UTF-8"])
            .arg(&file)
            .arg("-")
            .output()
            .unwrap();
        assert!(out.status.success(), "pdftotext failed: {out:?}");
        texts.push(("pdftotext", String::from_utf8(out.stdout).unwrap()));
    } else if std::env::var("SHEBAO_REQUIRE_PDFTOTEXT").as_deref() == Ok("1") {
        panic!("SHEBAO_REQUIRE_PDFTOTEXT=1 but pdftotext is not on PATH (apt-get install poppler-utils)");
    } else {
        eprintln!("note: pdftotext not installed; reading the PDF with pdf-extract only");
    }
    texts.push((
        "pdf-extract",
        pdf_extract::extract_text_from_mem(pdf).unwrap(),
    ));
    texts
}

const INSURANCES: [&str; 5] = [
    "pension",
    "medical",
    "unemployment",
    "work_injury",
    "maternity",
];
const INSURANCE_NAMES: [&str; 5] = ["养老保险", "医疗保险", "失业保险", "工伤保险", "生育保险"];

fn is_cell(token: &str) -> bool {
    token == "无"
        || token
            .split('+')
            .all(|w| ["已缴", "待缴", "欠缴", "待确认"].contains(&w))
}

fn is_month(token: &str) -> bool {
    let b = token.as_bytes();
    b.len() == 7 && b[4] == b'-' && token.chars().filter(char::is_ascii_digit).count() == 6
}

/// The month table as printed: month → five cell words.
fn month_table(text: &str) -> BTreeMap<String, Vec<String>> {
    let tokens: Vec<&str> = text.split_whitespace().collect();
    let mut out = BTreeMap::new();
    for (i, t) in tokens.iter().enumerate() {
        if is_month(t) && i + 5 < tokens.len() && tokens[i + 1..=i + 5].iter().all(|c| is_cell(c)) {
            let cells = tokens[i + 1..=i + 5]
                .iter()
                .map(|c| (*c).to_owned())
                .collect();
            assert!(out.insert((*t).to_owned(), cells).is_none(), "{t} twice");
        }
    }
    out
}

/// The totals table as printed: insurance name → the six figures after it (standing, months
/// paid, employee, employer, arrears months, arrears).
fn totals_table(text: &str) -> BTreeMap<String, Vec<String>> {
    let tokens: Vec<&str> = text.split_whitespace().collect();
    let mut out = BTreeMap::new();
    for (i, t) in tokens.iter().enumerate() {
        if INSURANCE_NAMES.contains(t) && i + 6 < tokens.len() {
            out.insert(
                (*t).to_owned(),
                tokens[i + 1..=i + 6]
                    .iter()
                    .map(|c| (*c).to_owned())
                    .collect(),
            );
        }
    }
    out
}

fn word(status: &str) -> &'static str {
    match status {
        "paid" => "已缴",
        "pending" => "待确认",
        "due" => "待缴",
        "arrears" => "欠缴",
        other => panic!("status {other}"),
    }
}

fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

#[tokio::test]
async fn the_certificates_text_matches_the_records() {
    let app = demo().await;
    let token = bound(&app, "+8613800000031", LI).await;
    // Every month of her history (she started 2014-01; the clock says 2026-11).
    let issued = issue(&app, &token, "contribution_history", "2014-01", "2026-11").await;
    let id = issued["id"].as_str().unwrap();
    assert!(issued["expires_at"].as_str().is_some());
    assert_eq!(
        issued["pdf_url"],
        format!("{}/v1/me/certificates/{id}.pdf", app.address)
    );
    assert!(issued["verify_url"].as_str().unwrap().starts_with(&format!(
        "{}/v1/certificates/{id}/verify?token=",
        app.address
    )));
    let pdf = download(&app, &token, &issued).await;
    assert!(pdf.starts_with(b"%PDF-"));
    // Downloaded again: the same bytes, whose hash the verification names.
    assert_eq!(download(&app, &token, &issued).await, pdf);
    let verdict = verify(&app, &format!("/v1/certificates/{id}/verify")).await;
    assert_eq!(verdict["sha256"], sha256_hex(&pdf));

    // What the records say: each (month, insurance)'s statuses, and the summary.
    let list = all_pages(&app, &token, "/v1/me/contributions?from=2014-01&to=2026-11").await;
    assert!(list.len() > 100, "the demo person has years of months");
    let mut expected: BTreeMap<String, Vec<BTreeSet<&str>>> = BTreeMap::new();
    for item in &list {
        let month = item["period"].as_str().unwrap().to_owned();
        let column = INSURANCES
            .iter()
            .position(|i| item["insurance"] == *i)
            .unwrap();
        expected
            .entry(month)
            .or_insert_with(|| vec![BTreeSet::new(); 5])[column]
            .insert(word(item["status"].as_str().unwrap()));
    }
    let summary = app.get_ok(&token, "/v1/me/contributions/summary").await;

    for (extractor, text) in pdf_texts(&pdf) {
        assert!(text.contains("参保证明"), "{extractor}: title missing");
        assert!(text.contains("李*"), "{extractor}: masked name missing");
        assert!(
            text.contains("440***********0420"),
            "{extractor}: masked ID"
        );
        assert!(!text.contains(LI.0), "{extractor}: the ID number in clear");
        assert!(!text.contains("李娜"), "{extractor}: the name in clear");
        assert!(text.contains(id), "{extractor}: the certificate id");

        let months = month_table(&text);
        // Every month of the period, each with five cells.
        assert_eq!(months.len(), 155, "{extractor}: months {:?}", months.keys());
        assert!(months.contains_key("2014-01") && months.contains_key("2026-11"));
        for (month, cells) in &months {
            let want: Vec<String> = match expected.get(month) {
                Some(sets) => sets
                    .iter()
                    .map(|set| {
                        // The certificate's order: paid, pending, due, arrears.
                        let order = ["已缴", "待确认", "待缴", "欠缴"];
                        let words: Vec<&str> =
                            order.iter().copied().filter(|w| set.contains(w)).collect();
                        if words.is_empty() {
                            "无".to_owned()
                        } else {
                            words.join("+")
                        }
                    })
                    .collect(),
                None => vec!["无".to_owned(); 5],
            };
            assert_eq!(cells, &want, "{extractor}: {month}");
        }
        // Her arrears months show as such.
        assert_eq!(months["2023-05"][0], "欠缴", "{extractor}");

        let totals = totals_table(&text);
        let items = summary["items"].as_array().unwrap();
        assert!(!items.is_empty());
        for s in items {
            let column = INSURANCES
                .iter()
                .position(|i| s["insurance"] == *i)
                .unwrap();
            let row = &totals[INSURANCE_NAMES[column]];
            assert_eq!(
                row[1..],
                [
                    s["months_paid"].to_string(),
                    yuan(s["employee_total_fen"].as_i64().unwrap()),
                    yuan(s["employer_total_fen"].as_i64().unwrap()),
                    s["arrears_months"].to_string(),
                    yuan(s["arrears_fen"].as_i64().unwrap()),
                ],
                "{extractor}: totals of {}",
                s["insurance"]
            );
        }
        assert_eq!(totals["养老保险"][0], "正常参保", "{extractor}");
    }
}

#[tokio::test]
async fn verification_fails_for_a_tampered_copy_a_foreign_token_and_a_revoked_certificate() {
    let app = demo().await;
    let token = bound(&app, "+8613800000032", LI).await;
    let issued = issue(&app, &token, "insured_status", "2025-01", "2025-12").await;
    let id = issued["id"].as_str().unwrap().to_owned();
    let other = issue(&app, &token, "contribution_history", "2024-01", "2024-06").await;
    let pdf = download(&app, &token, &issued).await;
    let sha = sha256_hex(&pdf);
    let verify_path = path_of(&app, issued["verify_url"].as_str().unwrap());

    // The QR's URL, as a verifier opens it.
    let ok = verify(&app, &verify_path).await;
    assert_eq!(ok["valid"], true, "{ok}");
    assert_eq!(ok["reason"], Value::Null);
    assert_eq!(ok["kind"], "insured_status");
    assert_eq!(ok["issued_to"], "李*");
    assert_eq!(ok["national_id"], "440***********0420");
    assert_eq!(ok["period"], json!({"from": "2025-01", "to": "2025-12"}));
    assert_eq!(ok["sha256"], sha);
    assert!(!ok.to_string().contains(LI.0) && !ok.to_string().contains(LI.1));
    // With the copy's hash (any case): valid.
    let same = verify(
        &app,
        &format!("{verify_path}&sha256={}", sha.to_uppercase()),
    )
    .await;
    assert_eq!(same["valid"], true);

    // One byte changed: another hash, not valid.
    let mut tampered = pdf.clone();
    let at = tampered.len() / 2;
    tampered[at] ^= 0x01;
    let bad = verify(
        &app,
        &format!(
            "/v1/certificates/{id}/verify?sha256={}",
            sha256_hex(&tampered)
        ),
    )
    .await;
    assert_eq!(bad["valid"], false);
    assert_eq!(bad["reason"], "sha256_mismatch");
    assert_eq!(bad["sha256"], sha);

    // Another certificate's token does not vouch for this one; a forged one neither.
    let other_token = other["verify_url"]
        .as_str()
        .unwrap()
        .split_once("token=")
        .unwrap()
        .1
        .to_owned();
    let foreign = verify(
        &app,
        &format!("/v1/certificates/{id}/verify?token={other_token}"),
    )
    .await;
    assert_eq!(foreign["reason"], "token_invalid");
    let forged = verify(&app, &format!("/v1/certificates/{id}/verify?token=a.b.c")).await;
    assert_eq!(forged["valid"], false);
    assert_eq!(forged["reason"], "token_invalid");

    // A malformed hash is refused; an unknown id is 404.
    assert_problem(
        app.get(&format!("/v1/certificates/{id}/verify?sha256=xyz"))
            .send()
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;
    assert_problem(
        app.get("/v1/certificates/0193a3c0-5b7e-7d2a-9c1f-2b4e6a8c0d1e/verify")
            .send()
            .await
            .unwrap(),
        404,
        "certificate_not_found",
    )
    .await;
    assert_problem(
        app.get("/v1/certificates/not-an-id/verify")
            .send()
            .await
            .unwrap(),
        404,
        "certificate_not_found",
    )
    .await;

    // Revoked by its owner: no longer valid, whatever is presented.
    let res = app
        .post(&format!("/v1/me/certificates/{id}/revoke"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let revoked: Value = res.json().await.unwrap();
    assert!(revoked["revoked_at"].as_str().is_some());
    let after = verify(&app, &format!("{verify_path}&sha256={sha}")).await;
    assert_eq!(after["valid"], false);
    assert_eq!(after["reason"], "revoked");
    assert_eq!(after["revoked_at"], revoked["revoked_at"]);
    // Revoking again changes nothing.
    let again: Value = app
        .post(&format!("/v1/me/certificates/{id}/revoke"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again["revoked_at"], revoked["revoked_at"]);
    // The other one is untouched.
    let other_ok = verify(&app, &path_of(&app, other["verify_url"].as_str().unwrap())).await;
    assert_eq!(other_ok["valid"], true);

    // Past its expiry (90 days): expired.
    app.clock.advance(chrono::Duration::days(91));
    let expired = verify(&app, &path_of(&app, other["verify_url"].as_str().unwrap())).await;
    assert_eq!(expired["valid"], false);
    assert_eq!(expired["reason"], "expired");
}

#[tokio::test]
async fn the_qr_token_verifies_offline_against_the_jwks() {
    let app = demo().await;
    let token = bound(&app, "+8613800000033", ZHANG).await;
    let issued = issue(&app, &token, "contribution_history", "2025-06", "2025-11").await;
    let id = issued["id"].as_str().unwrap();
    let jwt = issued["verify_url"]
        .as_str()
        .unwrap()
        .split_once("token=")
        .unwrap()
        .1
        .to_owned();
    let jwks: Value = app
        .get("/.well-known/jwks.json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(&jwt).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::EdDSA);
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"].as_str() == header.kid.as_deref())
        .expect("the token's kid is in the JWKS");
    let key = jsonwebtoken::DecodingKey::from_ed_components(jwk["x"].as_str().unwrap()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.set_audience(&["shebao-certificate"]);
    validation.set_issuer(&[app.settings.token_issuer.as_str()]);
    validation.set_required_spec_claims(&["exp", "iat", "sub", "iss", "aud"]);
    // The test clock is not the wall clock: the signature and claims are what is checked here.
    validation.validate_exp = false;
    let data = jsonwebtoken::decode::<Value>(&jwt, &key, &validation).unwrap();
    let claims = data.claims;
    assert_eq!(claims["sub"], id);
    assert_eq!(claims["token_use"], "certificate");
    assert_eq!(claims["kind"], "contribution_history");
    assert_eq!(
        claims["period"],
        json!({"from": "2025-06", "to": "2025-11"})
    );
    assert_eq!(claims["issued_to"], "张*");
    assert!(!claims.to_string().contains(ZHANG.0));
    let expires: chrono::DateTime<chrono::Utc> =
        issued["expires_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(claims["exp"].as_i64().unwrap(), expires.timestamp());

    // A token altered by one character does not verify.
    let mut forged = jwt.clone().into_bytes();
    let last = forged.len() - 2;
    forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
    assert!(jsonwebtoken::decode::<Value>(
        std::str::from_utf8(&forged).unwrap(),
        &key,
        &validation
    )
    .is_err());
}

/// Page one of the PDF as a greyscale raster, 300 dpi without anti-aliasing (`pdftoppm`,
/// poppler-utils): width, height, pixels.
fn first_page_grey(pdf: &[u8]) -> (usize, usize, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("certificate.pdf");
    std::fs::write(&file, pdf).unwrap();
    let out = std::process::Command::new("pdftoppm")
        .args([
            "-r",
            "300",
            "-gray",
            "-aa",
            "no",
            "-aaVector",
            "no",
            "-f",
            "1",
            "-l",
            "1",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "pdftoppm failed: {out:?}");
    // Binary PGM: "P5\n<width> <height>\n255\n" and one byte a pixel.
    let bytes = out.stdout;
    let mut fields = Vec::new();
    let mut at = 0;
    while fields.len() < 4 {
        while bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        let start = at;
        while !bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        fields.push(String::from_utf8(bytes[start..at].to_vec()).unwrap());
    }
    assert_eq!(fields[0], "P5");
    let (w, h): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    let pixels = bytes[at + 1..].to_vec();
    assert_eq!(pixels.len(), w * h);
    (w, h, pixels)
}

#[tokio::test]
async fn the_qr_code_holds_the_verify_url() {
    if !on_path("pdftoppm") {
        assert!(
            std::env::var("SHEBAO_REQUIRE_PDFTOTEXT").as_deref() != Ok("1"),
            "SHEBAO_REQUIRE_PDFTOTEXT=1 but poppler's pdftoppm is not on PATH"
        );
        eprintln!("note: pdftoppm not installed; the QR code is not decoded");
        return;
    }
    let app = demo().await;
    let token = bound(&app, "+8613800000037", ZHANG).await;
    let issued = issue(&app, &token, "insured_status", "2026-01", "2026-11").await;
    let pdf = download(&app, &token, &issued).await;
    let (w, h, pixels) = first_page_grey(&pdf);
    // The top right corner of page one, where the code is, in black and white (rqrr found
    // nothing in the whole page's anti-aliased grey).
    let (left, height) = (w / 2, h / 3);
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(w - left, height, |x, y| {
        if pixels[y * w + left + x] < 128 {
            0
        } else {
            255
        }
    });
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code on page one");
    let (_, text) = grids[0].decode().unwrap();
    assert_eq!(text, issued["verify_url"].as_str().unwrap());
    // And the URL it holds verifies.
    let v = verify(&app, &path_of(&app, &text)).await;
    assert_eq!(v["valid"], true);
}

#[tokio::test]
async fn another_persons_certificate_is_not_found() {
    let app = demo().await;
    let zhang = bound(&app, "+8613800000034", ZHANG).await;
    let li = bound(&app, "+8613800000035", LI).await;
    let issued = issue(&app, &zhang, "contribution_history", "2025-01", "2025-06").await;
    let id = issued["id"].as_str().unwrap();

    let res = app
        .get(&format!("/v1/me/certificates/{id}.pdf"))
        .bearer_auth(&li)
        .send()
        .await
        .unwrap();
    assert_problem(res, 404, "certificate_not_found").await;
    let res = app
        .post(&format!("/v1/me/certificates/{id}/revoke"))
        .bearer_auth(&li)
        .send()
        .await
        .unwrap();
    assert_problem(res, 404, "certificate_not_found").await;
    let listed = app.get_ok(&li, "/v1/me/certificates").await;
    assert_eq!(listed["items"], json!([]));
    // Still Zhang's, still valid.
    let mine = app.get_ok(&zhang, "/v1/me/certificates").await;
    assert_eq!(mine["items"][0]["id"], id);
    let v = verify(&app, &format!("/v1/certificates/{id}/verify")).await;
    assert_eq!(v["valid"], true);
    // Without a token: 401.
    let res = app
        .get(&format!("/v1/me/certificates/{id}.pdf"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn requests_are_checked_issuing_is_limited_and_the_list_pages() {
    let app = demo().await;
    let (token, refresh) = bound_pair(&app, "+8613800000036", ZHANG).await;
    for (body, field) in [
        (
            json!({"kind": "contribution_history", "from": "2025-06", "to": "2025-01"}),
            "to",
        ),
        // The clock is in 2026-11.
        (
            json!({"kind": "contribution_history", "from": "2026-01", "to": "2026-12"}),
            "to",
        ),
        (
            json!({"kind": "contribution_history", "from": "1980-01", "to": "2026-11"}),
            "to",
        ),
        (
            json!({"kind": "contribution_history", "from": "2025-1", "to": "2025-12"}),
            "from",
        ),
    ] {
        let res = app
            .post("/v1/me/certificates")
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let problem = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], field, "{body}");
    }
    let res = app
        .post("/v1/me/certificates")
        .bearer_auth(&token)
        .json(&json!({"kind": "history", "from": "2025-01", "to": "2025-12"}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error());
    assert_eq!(
        app.get_ok(&token, "/v1/me/certificates").await["items"],
        json!([])
    );

    // Ten a day; the eleventh waits.
    let mut ids = Vec::new();
    for _ in 0..10 {
        let issued = issue(&app, &token, "insured_status", "2026-10", "2026-11").await;
        ids.push(issued["id"].as_str().unwrap().to_owned());
    }
    let res = app
        .post("/v1/me/certificates")
        .bearer_auth(&token)
        .json(&json!({"kind": "insured_status", "from": "2026-10", "to": "2026-11"}))
        .send()
        .await
        .unwrap();
    let retry: i64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 24 * 3600, "{retry}");
    assert_problem(res, 429, "certificate_limit").await;

    // The list: newest first, in pages.
    let first = app.get_ok(&token, "/v1/me/certificates?limit=4").await;
    assert_eq!(first["items"].as_array().unwrap().len(), 4);
    assert_eq!(first["items"][0]["id"], ids[9]);
    let all = all_pages(&app, &token, "/v1/me/certificates").await;
    let listed: Vec<&str> = all.iter().map(|c| c["id"].as_str().unwrap()).collect();
    let newest_first: Vec<&str> = ids.iter().rev().map(String::as_str).collect();
    assert_eq!(listed, newest_first);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = app
        .get_ok(
            &token,
            &format!("/v1/me/certificates?limit=4&cursor={cursor}"),
        )
        .await;
    assert_eq!(second["items"][0]["id"], ids[5]);

    // A day later, issuing works again.
    app.clock.advance(chrono::Duration::hours(25));
    let res = app
        .post("/v1/auth/refresh")
        .json(&json!({"refresh_token": refresh}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let pair: Value = res.json().await.unwrap();
    let token = pair["access_token"].as_str().unwrap();
    issue(&app, token, "insured_status", "2026-10", "2026-11").await;
}

#[tokio::test]
async fn links_use_the_public_url() {
    let app = spawn_app_with(TestOptions {
        demo_seed: true,
        env: vec![("SHEBAO_PUBLIC_URL", "https://shebao.example.cn/".to_owned())],
        ..Default::default()
    })
    .await;
    let token = bound(&app, "+8613800000038", ZHANG).await;
    let issued = issue(&app, &token, "insured_status", "2026-06", "2026-11").await;
    let id = issued["id"].as_str().unwrap();
    assert_eq!(
        issued["pdf_url"],
        format!("https://shebao.example.cn/v1/me/certificates/{id}.pdf")
    );
    let verify_url = issued["verify_url"].as_str().unwrap();
    let prefix = format!("https://shebao.example.cn/v1/certificates/{id}/verify?token=");
    assert!(verify_url.starts_with(&prefix), "{verify_url}");
    // The same URL on this server verifies.
    let v = verify(
        &app,
        &verify_url.replacen("https://shebao.example.cn", "", 1),
    )
    .await;
    assert_eq!(v["valid"], true);
    let pdf = app
        .get(&format!("/v1/me/certificates/{id}.pdf"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let text = pdf_extract::extract_text_from_mem(&pdf).unwrap();
    assert!(
        text.contains(&format!(
            "https://shebao.example.cn/v1/certificates/{id}/verify"
        )),
        "the printed verification address"
    );
}
