//! The README's walk-throughs, run as a newcomer runs them: the shell scripts under
//! `docs/examples/` (which the README quotes verbatim) against the real `shebao` binary with the
//! demo loaded, every listener on a free port.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_shebao");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn example(name: &str) -> String {
    std::fs::read_to_string(repo().join("docs/examples").join(name)).unwrap()
}

/// `N` distinct free ports: all held open together while they are chosen (so no two are the
/// same), then let go for the server to take. Another process may take one in between; the
/// caller starts again on fresh ports when that happens.
fn free_ports<const N: usize>() -> [u16; N] {
    let held: Vec<std::net::TcpListener> = (0..N)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    std::array::from_fn(|i| held[i].local_addr().unwrap().port())
}

fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut resp = String::new();
    let _ = s.read_to_string(&mut resp);
    Some(resp)
}

/// The server with the demo loaded, and what the scripts need to reach it.
struct Demo {
    child: Child,
    dir: tempfile::TempDir,
    api: u16,
    sms: u16,
    pay: u16,
}

impl Demo {
    fn start() -> Demo {
        Demo::start_with(&[])
    }

    /// The demo with more settings (`SHEBAO_…` variables) than the defaults.
    fn start_with(settings: &[(&str, &str)]) -> Demo {
        // A port chosen free may be taken by another test's server before this one binds it:
        // that attempt fails at once with "Address already in use", and the next gets new ports.
        for attempt in 1.. {
            match Demo::try_start(settings) {
                Ok(demo) => return demo,
                Err(logs) if attempt < 5 && logs.contains("Address already in use") => continue,
                Err(logs) => panic!("the server never became ready:\n{logs}"),
            }
        }
        unreachable!()
    }

    /// The server on fresh ports and a fresh database, or its log when it did not get ready.
    fn try_start(settings: &[(&str, &str)]) -> Result<Demo, String> {
        let dir = tempfile::tempdir().unwrap();
        let [api, sms, metrics, pay] = free_ports();
        let mut child = Command::new(BIN)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(Demo::db_env(dir.path()))
            .env("SHEBAO_LISTEN", format!("127.0.0.1:{api}"))
            .env("SHEBAO_SMS_STANDIN_LISTEN", format!("127.0.0.1:{sms}"))
            .env("SHEBAO_METRICS_LISTEN", format!("127.0.0.1:{metrics}"))
            .env("SHEBAO_PAY_STANDIN_LISTEN", format!("127.0.0.1:{pay}"))
            .envs(settings.iter().copied())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let started = Instant::now();
        loop {
            if http_get(api, "/readyz").is_some_and(|r| r.starts_with("HTTP/1.1 200")) {
                break;
            }
            let exited = child.try_wait().unwrap().is_some();
            if exited || started.elapsed() > Duration::from_secs(60) {
                let _ = child.kill();
                let _ = child.wait();
                let mut logs = String::new();
                let _ = child.stderr.take().unwrap().read_to_string(&mut logs);
                return Err(logs);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(Demo {
            child,
            dir,
            api,
            sms,
            pay,
        })
    }

    /// The settings the server and `shebao admin` share: one database, one key directory.
    fn db_env(dir: &Path) -> Vec<(&'static str, String)> {
        vec![
            (
                "DATABASE_URL",
                format!("sqlite://{}", dir.join("shebao.db").display()),
            ),
            ("SHEBAO_DATA_DIR", dir.display().to_string()),
            ("SHEBAO_LOG", "warn".to_owned()),
        ]
    }

    /// Runs `scripts` (sourced one after another in one bash, stopping at the first failing
    /// command) with `stdin`; returns standard output.
    fn run(&self, scripts: &[&str], stdin: &str) -> String {
        let sourced: Vec<String> = scripts
            .iter()
            .map(|s| format!(". docs/examples/{s}"))
            .collect();
        let mut child = Command::new("bash")
            .args(["-eo", "pipefail", "-c", &sourced.join("\n")])
            .current_dir(repo())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(Demo::db_env(self.dir.path()))
            .env("API", format!("127.0.0.1:{}", self.api))
            .env("SMS", format!("127.0.0.1:{}", self.sms))
            .env("PAY", format!("127.0.0.1:{}", self.pay))
            .env("SHEBAO", BIN)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{scripts:?} failed ({}):\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

#[test]
fn the_readme_quotes_every_example_verbatim() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(repo().join("docs/examples"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sh"))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "applications.sh",
            "certificates.sh",
            "family.sh",
            "feedback.sh",
            "import.sh",
            "notices.sh",
            "pay.sh",
            "payouts.sh",
            "phone.sh",
            "services.sh",
            "staff.sh"
        ]
    );
    for name in names {
        let block = format!("```sh\n{}```\n", example(&name));
        assert!(
            readme.contains(&block),
            "README.md does not quote docs/examples/{name} as it is"
        );
    }
    // No password on a command line.
    assert!(
        !readme.contains("echo '"),
        "a password echoed in the README"
    );
}

/// The README's `sh` blocks that are not API examples but toolchain and operator commands (build,
/// test, run): each is run elsewhere — by CI (`.ci/run`), by the `cli` tests or by the tests of
/// the stand-ins — not here. Any other block must be one of `docs/examples/*.sh`.
const COMMANDS: &[&str] = &[
    "cargo run --release -p shebao-api",
    "cargo test --workspace",
    "cargo run -p shebao-standins --bin pay-standin -- --key-dir data/keys",
    "export DATABASE_URL=postgres://",
    "SHEBAO_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres cargo test -p shebao-tests",
    "cargo run -p shebao-api -- openapi",
];

#[test]
fn every_readme_example_is_a_script_a_test_runs() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let scripts: Vec<String> = [
        "applications.sh",
        "certificates.sh",
        "family.sh",
        "feedback.sh",
        "import.sh",
        "notices.sh",
        "pay.sh",
        "payouts.sh",
        "phone.sh",
        "services.sh",
        "staff.sh",
    ]
    .iter()
    .map(|n| example(n))
    .collect();
    let mut blocks = 0;
    let mut rest = readme.as_str();
    while let Some(start) = rest.find("```sh\n") {
        let body = &rest[start + 6..];
        let end = body.find("```").unwrap();
        // Blocks inside list items are indented: compare without leading blanks.
        let block = unindented(&body[..end]);
        assert!(
            scripts.iter().any(|s| unindented(s) == block)
                || COMMANDS.iter().any(|c| block.starts_with(c)),
            "a README example no test runs:\n{block}"
        );
        blocks += 1;
        rest = &body[end + 3..];
    }
    assert_eq!(blocks, 17);
}

fn unindented(text: &str) -> String {
    text.lines()
        .map(|l| l.trim_start())
        .collect::<Vec<_>>()
        .join("\n")
        .trim_end()
        .to_owned()
}

/// Lines of output holding JSON, parsed.
fn json_lines(out: &str) -> Vec<serde_json::Value> {
    out.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[test]
#[ignore = "needs curl, jq and python3 like the walk-throughs; .ci/run runs it with --ignored"]
fn the_staff_walk_through_and_the_import_example_work() {
    let demo = Demo::start();
    let out = demo.run(&["staff.sh", "import.sh"], "a long demo password\n");
    assert!(out.contains("staff account admin (admin) created"), "{out}");
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 5, "{out}");
    let codes: Vec<&str> = lines[0]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["110000", "440300"], "{out}");
    assert_eq!(lines[1]["name"], "深圳市", "{out}");
    assert_eq!(lines[2]["name"], "张三", "{out}");
    assert_eq!(lines[2]["national_id"], "110***********002X", "{out}");
    // The import adds a row, then leaves it alone: nothing of the demo is overwritten.
    assert_eq!(lines[3]["accepted"], 1, "{out}");
    assert_eq!(lines[3]["unchanged"], 0, "{out}");
    assert_eq!(lines[3]["rejected_total"], 0, "{out}");
    assert_eq!(lines[4]["accepted"], 0, "{out}");
    assert_eq!(lines[4]["unchanged"], 1, "{out}");
    assert!(!out.contains("a long demo password"), "{out}");
}

#[test]
#[ignore = "needs curl, jq and python3 like the walk-throughs; .ci/run runs it with --ignored"]
fn the_phone_walk_through_works() {
    let demo = Demo::start();
    let out = demo.run(&["phone.sh"], "");
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 7, "{out}");
    // Two SMS codes sent.
    assert_eq!(lines[0]["expires_in"], 300, "{out}");
    assert_eq!(lines[1]["expires_in"], 300, "{out}");
    // The demo person is bound and their records show.
    assert_eq!(lines[2]["name"], "张伟", "{out}");
    assert!(lines[3]["items"].as_array().unwrap().len() >= 5, "{out}");
    assert_eq!(lines[4]["items"].as_array().unwrap().len(), 3, "{out}");
    // TOTP is on (ten recovery codes), and the sign-in through it ends with tokens.
    assert_eq!(lines[5]["recovery_codes"], 10, "{out}");
    assert_eq!(lines[6]["token_type"], "Bearer", "{out}");
}

#[test]
#[ignore = "needs curl, jq and python3 like the walk-throughs; .ci/run runs it with --ignored"]
fn the_payment_walk_through_pays_a_month_through_the_stand_in() {
    let demo = Demo::start();
    let out = demo.run(&["pay.sh"], "");
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 9, "{out}");
    assert_eq!(lines[2]["name"], "王芳", "{out}");
    let owed = &lines[3];
    assert!(owed["total_fen"].as_i64().unwrap() > 0, "{out}");
    let first = &owed["items"][0];
    // Last month: late (with the fee) after the 15th, else still a flexible month.
    let id = first["id"].as_str().unwrap();
    assert!(
        id.starts_with("arrears_month:") || id.starts_with("flexible_month:"),
        "{out}"
    );
    assert_eq!(lines[4]["status"], "awaiting_payment", "{out}");
    assert_eq!(lines[4]["amount_fen"], first["amount_fen"], "{out}");
    assert_eq!(lines[5]["trade_state"], "SUCCESS", "{out}");
    assert_eq!(lines[6]["status"], "pending", "{out}");
    assert_eq!(lines[7]["confirmed"], 1, "{out}");
    assert_eq!(lines[7]["missing_here"], serde_json::json!([]), "{out}");
    assert_eq!(lines[8]["status"], "paid", "{out}");
    assert_eq!(
        lines[8]["timeline"],
        serde_json::json!(["awaiting_payment", "pending", "paid"]),
        "{out}"
    );
}

#[test]
#[ignore = "needs curl, jq and python3 like the walk-throughs; .ci/run runs it with --ignored"]
fn the_applications_walk_through_approves_unemployment_benefit() {
    let demo = Demo::start();
    let out = demo.run(&["applications.sh"], "a long caseworker password\n");
    assert!(
        out.contains("staff account caseworker (caseworker, region 440300) created"),
        "{out}"
    );
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 9, "{out}");
    assert_eq!(lines[2]["name"], "刘洋", "{out}");
    assert_eq!(lines[3]["kind"], "unemployment_benefit", "{out}");
    assert_eq!(lines[3]["status"], "submitted", "{out}");
    assert_eq!(lines[3]["region"], "440300", "{out}");
    assert_eq!(lines[4]["queue"].as_array().unwrap().len(), 1, "{out}");
    assert_eq!(lines[5]["status"], "in_review", "{out}");
    assert_eq!(lines[6]["status"], "approved", "{out}");
    let decision = &lines[6]["decision"];
    assert_eq!(decision["approved"], true, "{out}");
    assert_eq!(decision["months"], 24, "{out}");
    assert!(
        decision["monthly_amount_fen"].as_i64().unwrap() > 0,
        "{out}"
    );
    let roles: Vec<&str> = lines[7]["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["actor_role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["person", "caseworker", "caseworker"], "{out}");
    let award = &lines[8]["awards"][0];
    assert_eq!(award["kind"], "unemployment", "{out}");
    assert_eq!(award["months"], 24, "{out}");
    assert_eq!(
        award["monthly_amount_fen"], decision["monthly_amount_fen"],
        "{out}"
    );
    assert!(!out.contains("a long caseworker password"), "{out}");
}

#[test]
#[ignore = "needs curl, jq and python3 like the walk-throughs; .ci/run runs it with --ignored"]
fn the_feedback_walk_through_answers_a_complaint() {
    let demo = Demo::start();
    let out = demo.run(&["feedback.sh"], "a long caseworker password\n");
    assert!(
        out.contains("staff account complaints (caseworker, region 440300) created"),
        "{out}"
    );
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 8, "{out}");
    assert_eq!(lines[2]["name"], "陈静", "{out}");
    let thread = &lines[3];
    assert_eq!(thread["kind"], "complaint", "{out}");
    assert_eq!(thread["status"], "open", "{out}");
    assert_eq!(thread["subject"], "窗口办理等候时间过长", "{out}");
    assert_eq!(thread["authors"], serde_json::json!(["person"]), "{out}");
    let queue = lines[4]["queue"].as_array().unwrap();
    assert_eq!(queue.len(), 1, "{out}");
    assert_eq!(queue[0]["overdue"], false, "{out}");
    assert_eq!(lines[5]["status"], "answered", "{out}");
    let seen = &lines[6];
    assert_eq!(seen["status"], "answered", "{out}");
    assert_eq!(seen["answered"], true, "{out}");
    let messages = seen["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2, "{out}");
    assert_eq!(messages[0]["author"], "person", "{out}");
    // Stored as written: the line break comes back.
    assert!(
        messages[0]["body"]
            .as_str()
            .unwrap()
            .contains("小时。\n希望"),
        "{out}"
    );
    assert_eq!(messages[1]["author"], "caseworker", "{out}");
    assert!(
        messages[1]["body"]
            .as_str()
            .unwrap()
            .contains("增开两个窗口"),
        "{out}"
    );
    assert_eq!(lines[7]["stars"], 5, "{out}");
    assert_eq!(lines[7]["status"], "answered", "{out}");
    assert!(!out.contains("a long caseworker password"), "{out}");
    assert!(
        !out.contains("complaints\""),
        "no staff name in an answer: {out}"
    );
}

#[test]
#[ignore = "needs curl, jq and python3 like the walk-throughs; .ci/run runs it with --ignored"]
fn the_notices_walk_through_publishes_for_a_region_and_the_person_reads_it() {
    let demo = Demo::start();
    let out = demo.run(&["notices.sh"], "a long caseworker password\n");
    assert!(
        out.contains("staff account notices (caseworker, region 440300) created"),
        "{out}"
    );
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 8, "{out}");
    assert_eq!(lines[2]["name"], "李娜", "{out}");
    assert_eq!(lines[3]["kind"], "training", "{out}");
    assert_eq!(lines[3]["status"], "published", "{out}");
    assert_eq!(
        lines[3]["audience"]["regions"],
        serde_json::json!(["440300"]),
        "{out}"
    );
    // 李娜 and the other employed demo persons of Shenzhen of 30 to 45.
    assert!(lines[4]["persons"].as_i64().unwrap() >= 1, "{out}");
    // Unread: this notice (the newest) and the demo's notice for everyone.
    let unread = lines[5].as_array().unwrap();
    assert_eq!(unread.len(), 2, "{out}");
    assert_eq!(
        unread[0]["title"], "深圳市职工技能提升补贴开始申领",
        "{out}"
    );
    assert!(unread.iter().all(|n| n["read"] == false), "{out}");
    assert_eq!(lines[6]["read"], true, "{out}");
    assert_eq!(
        lines[7],
        serde_json::json!(["关于调整2026年度社会保险缴费基数上下限的通知"]),
        "{out}"
    );
    assert!(!out.contains("a long caseworker password"), "{out}");
}

#[test]
#[ignore = "needs curl, jq and python3 like the walk-throughs; .ci/run runs it with --ignored"]
fn the_services_walk_through_books_the_last_place_of_a_slot() {
    let demo = Demo::start();
    let out = demo.run(&["services.sh"], "");
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 7, "{out}");
    assert_eq!(lines[2]["name"], "吴秀英", "{out}");
    // Covered hospitals near the Civic Centre, nearest first, each with a geo: URI.
    let near = lines[3].as_array().unwrap();
    assert!(!near.is_empty(), "{out}");
    assert_eq!(near[0]["name"], "北京大学深圳医院", "{out}");
    assert_eq!(near[0]["covered"], true, "{out}");
    assert!(
        near[0]["geo_uri"].as_str().unwrap().starts_with("geo:22.5"),
        "{out}"
    );
    let distances: Vec<u64> = near
        .iter()
        .map(|i| i["distance_m"].as_u64().unwrap())
        .collect();
    assert!(distances.windows(2).all(|w| w[0] <= w[1]), "{out}");
    assert!(
        lines[4]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["places_left"] == 1),
        "{out}"
    );
    // The last place booked; the slot full.
    assert_eq!(lines[5]["status"], "booked", "{out}");
    assert_eq!(lines[5]["hospital"], "北京大学深圳医院", "{out}");
    assert_eq!(lines[5]["places_left"], 0, "{out}");
    assert_eq!(lines[6]["places_left"], 0, "{out}");
}

#[test]
#[ignore = "needs curl, jq and python3 like the walk-throughs; .ci/run runs it with --ignored"]
fn the_certificate_walk_through_issues_downloads_and_verifies_a_certificate() {
    let demo = Demo::start();
    let out = demo.run(&["certificates.sh"], "");
    // pdftotext's lines (when it is installed) are text; the API's answers are JSON objects and
    // the list an array.
    let lines: Vec<serde_json::Value> = json_lines(&out)
        .into_iter()
        .filter(|v| v.is_object() || v.is_array())
        .collect();
    assert_eq!(lines.len(), 9, "{out}");
    assert_eq!(lines[2]["name"], "杨帆", "{out}");
    let issued = &lines[3];
    let id = issued["id"].as_str().unwrap();
    assert!(
        issued["pdf_url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/v1/me/certificates/{id}.pdf")),
        "{out}"
    );
    // The downloaded copy verifies, with masked data only.
    let verified = &lines[4];
    assert_eq!(verified["valid"], true, "{out}");
    assert_eq!(verified["kind"], "contribution_history", "{out}");
    assert_eq!(verified["national_id"], "440***********0019", "{out}");
    assert!(!out.contains("440300198409090019"), "{out}");
    // The altered copy does not.
    assert_eq!(lines[5]["valid"], false, "{out}");
    assert_eq!(lines[5]["reason"], "sha256_mismatch", "{out}");
    assert_eq!(lines[6][0]["id"], id, "{out}");
    assert_eq!(lines[7]["revoked"], true, "{out}");
    assert_eq!(lines[8]["valid"], false, "{out}");
    assert_eq!(lines[8]["reason"], "revoked", "{out}");
    if which("pdftotext") {
        assert!(out.contains("参保证明"), "{out}");
    }
}

fn which(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
#[ignore = "needs curl, jq and python3 like the walk-throughs; .ci/run runs it with --ignored"]
fn the_family_walk_through_lets_a_daughter_read_and_her_father_watch() {
    let demo = Demo::start();
    let out = demo.run(&["family.sh"], "");
    let lines = json_lines(&out);
    assert_eq!(lines[0]["name"], "孙建国", "{out}");
    assert_eq!(lines[1]["status"], "invited", "{out}");
    // The invitation shows who it is from, masked.
    assert_eq!(
        lines[2]["principal"]["national_id"], "110***********0415",
        "{out}"
    );
    assert_eq!(
        lines[2]["scopes"],
        serde_json::json!(["read_records"]),
        "{out}"
    );
    assert_eq!(lines[3]["status"], "active", "{out}");
    // Read as the daughter: his records.
    assert!(
        lines[4]["pension_contribution_months"].as_i64().unwrap() > 0,
        "{out}"
    );
    assert!(!lines[5].as_array().unwrap().is_empty(), "{out}");
    assert_eq!(lines[6]["code"], "scope_denied", "{out}");
    // The father sees the three requests, refused one included, newest first.
    let activity: Vec<&serde_json::Value> = lines[7..]
        .iter()
        .take_while(|l| l.get("route").is_some())
        .collect();
    assert_eq!(activity.len(), 3, "{out}");
    assert_eq!(activity[0]["status"], 403, "{out}");
    assert_eq!(
        activity[2]["route"], "/v1/me/contributions/summary",
        "{out}"
    );
    let rest = &lines[7 + activity.len()..];
    assert_eq!(rest[0]["status"], "revoked", "{out}");
    assert_eq!(rest[1]["status"], 401, "{out}");
    assert!(!out.contains("110000195803150415"), "{out}");
}

#[test]
#[ignore = "needs curl, jq and python3 like the walk-throughs; .ci/run runs it with --ignored"]
fn the_payout_walk_through_pays_a_pension_to_a_wallet_once() {
    let demo = Demo::start_with(&[("SHEBAO_PAYOUT_COOLING_SECS", "4")]);
    let out = demo.run(
        &["staff.sh", "family.sh", "payouts.sh"],
        "a long demo password\n",
    );
    let lines = json_lines(&out);
    let last: Vec<&serde_json::Value> = lines.iter().rev().take(6).rev().collect();
    // Pending first, masked; then in effect once the cooling period is over.
    assert!(last[0]["current"].is_null(), "{out}");
    let pending = last[0]["pending"]["number"].as_str().unwrap();
    assert!(
        pending.ends_with("1234") && !pending.contains("12345678"),
        "{out}"
    );
    assert!(out.contains("待遇领取账户正在变更"), "{out}");
    assert_eq!(last[1]["current"], pending, "{out}");
    assert!(last[1]["pending"].is_null(), "{out}");
    // One run pays him; the second pays nobody again.
    assert!(last[2]["paid"]["count"].as_i64().unwrap() >= 1, "{out}");
    assert_eq!(last[2]["failed"]["count"], 0, "{out}");
    assert!(last[3]["already_paid"].as_i64().unwrap() >= 1, "{out}");
    assert_eq!(last[3]["paid"]["count"], 0, "{out}");
    assert_eq!(last[4]["status"], "paid", "{out}");
    let transfers = last[5].as_array().unwrap();
    assert_eq!(
        transfers.len(),
        last[2]["paid"]["count"].as_u64().unwrap() as usize,
        "{out}"
    );
    assert!(transfers.iter().all(|t| t["state"] == "SUCCESS"), "{out}");
}
