//! The end-to-end harness: `spawn_app()` starts the real server on a random port with a fresh
//! database, and the tests talk to it over HTTP as the phone app does.
//!
//! The backend is SQLite unless `SHEBAO_TEST_POSTGRES_URL` names a PostgreSQL server
//! (e.g. `postgres://postgres@127.0.0.1:5432/postgres`): then every test gets its own new
//! database there, dropped at the end. If that server cannot be reached the tests fail; they
//! never fall back to SQLite quietly.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, TimeZone, Utc};
use diesel::connection::SimpleConnection;
use diesel::Connection;
use serde_json::{json, Value};
use shebao_api::startup::Application;
use shebao_domain::ports::Clock;
use shebao_domain::staff::{StaffRole, Username};
use shebao_infra::config::{LogFormat, Settings};
use shebao_infra::db::{run_migrations, DbConnection};
use shebao_infra::registry::staff;
use shebao_security::{KeyMaterial, PasswordHasher};
use uuid::Uuid;

pub const POSTGRES_ENV: &str = "SHEBAO_TEST_POSTGRES_URL";

/// A clock the test moves by hand.
#[derive(Clone)]
pub struct TestClock(Arc<Mutex<DateTime<Utc>>>);

impl TestClock {
    pub fn at(t: DateTime<Utc>) -> TestClock {
        TestClock(Arc::new(Mutex::new(t)))
    }
    pub fn advance(&self, by: Duration) {
        let mut t = self.0.lock().unwrap();
        *t += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

/// Which database this test run uses.
pub fn postgres_admin_url() -> Option<String> {
    std::env::var(POSTGRES_ENV)
        .ok()
        .filter(|v| !v.trim().is_empty())
}

/// A database made for one test; dropped with it.
pub struct TestDatabase {
    pub url: String,
    pg: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

impl TestDatabase {
    pub fn new() -> TestDatabase {
        let dir = tempfile::tempdir().unwrap();
        match postgres_admin_url() {
            Some(admin) => {
                let name = format!("shebao_t_{}", Uuid::new_v4().simple());
                let mut conn = diesel::PgConnection::establish(&admin).unwrap_or_else(|e| {
                    panic!("{POSTGRES_ENV} is set but PostgreSQL cannot be reached at {admin}: {e}")
                });
                conn.batch_execute(&format!("CREATE DATABASE {name}"))
                    .unwrap();
                let url = match admin.rsplit_once('/') {
                    Some((server, _db)) => format!("{server}/{name}"),
                    None => panic!("{POSTGRES_ENV} must end in /DATABASE"),
                };
                TestDatabase {
                    url,
                    pg: Some((admin, name)),
                    _dir: dir,
                }
            }
            None => {
                let url = format!("sqlite://{}", dir.path().join("shebao.db").display());
                TestDatabase {
                    url,
                    pg: None,
                    _dir: dir,
                }
            }
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.pg.is_some()
    }

    /// A direct connection with the migrations applied, for set-up and checks.
    pub fn connect(&self) -> DbConnection {
        let mut conn = DbConnection::open(&self.url).unwrap();
        run_migrations(&mut conn).unwrap();
        conn
    }
}

impl Default for TestDatabase {
    fn default() -> Self {
        TestDatabase::new()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.pg {
            if let Ok(mut conn) = diesel::PgConnection::establish(admin) {
                let _ = conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

pub struct TestOptions {
    pub demo_seed: bool,
    pub start: DateTime<Utc>,
    pub env: Vec<(&'static str, String)>,
}

impl Default for TestOptions {
    fn default() -> Self {
        TestOptions {
            demo_seed: false,
            start: Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).unwrap(),
            env: Vec::new(),
        }
    }
}

pub struct TestApp {
    pub address: String,
    pub port: u16,
    pub client: reqwest::Client,
    pub clock: TestClock,
    pub db: TestDatabase,
    pub settings: Settings,
    handle: actix_web::dev::ServerHandle,
    /// The SMS stand-in this app sends through.
    pub sms_url: String,
    /// The payment gateway stand-in this app pays through.
    pub pay_url: String,
    /// Where `/metrics` is served (its own listener).
    pub metrics_url: String,
    /// The server's keys, as environment values (see [`TestApp::keys`]).
    key_env: Vec<(&'static str, String)>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(TestOptions::default()).await
}

pub async fn spawn_app_with(opts: TestOptions) -> TestApp {
    let db = TestDatabase::new();
    let mut vars: Vec<(&str, String)> = vec![
        ("SHEBAO_LISTEN", "127.0.0.1:0".into()),
        ("DATABASE_URL", db.url.clone()),
        ("SHEBAO_DEMO_SEED", opts.demo_seed.to_string()),
        ("SHEBAO_WORKERS", "2".into()),
        ("SHEBAO_DB_POOL_SIZE", "4".into()),
        ("SHEBAO_SHUTDOWN_TIMEOUT_SECS", "1".into()),
        ("SHEBAO_SMS_STANDIN_LISTEN", "127.0.0.1:0".into()),
        ("SHEBAO_METRICS_LISTEN", "127.0.0.1:0".into()),
        ("SHEBAO_PAY_STANDIN_LISTEN", "127.0.0.1:0".into()),
        // On PostgreSQL the stand-ins start only when asked for.
        ("SHEBAO_SMS_STANDIN", "true".into()),
        ("SHEBAO_PAY_STANDIN", "true".into()),
        ("SHEBAO_KEY_DIR", test_key_dir()),
    ];
    vars.extend(opts.env);
    let settings =
        Settings::from_env(&|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
            .unwrap();
    if std::env::var("SHEBAO_TEST_LOG").is_ok() {
        shebao_api::telemetry::init("debug", LogFormat::Pretty);
    }
    let clock = TestClock::at(opts.start);
    let key_env = fresh_key_env();
    let app = Application::build(settings.clone(), keys_of(&key_env), Arc::new(clock.clone()))
        .await
        .unwrap();
    let port = app.port();
    let handle = app.handle();
    let sms_url = app.sms_standin_url().unwrap_or_default();
    let pay_url = app.pay_standin_url().unwrap_or_default();
    let metrics_url = format!(
        "http://127.0.0.1:{}",
        app.metrics_port().unwrap_or_default()
    );
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        clock,
        db,
        settings,
        handle,
        sms_url,
        pay_url,
        metrics_url,
        key_env,
    }
}

/// Three fresh random keys as the environment would give them (base64 of 32 bytes), so the test
/// can hold the same keys as the server it starts.
fn fresh_key_env() -> Vec<(&'static str, String)> {
    use base64::Engine;
    use shebao_security::keys::{BLIND_INDEX_KEY_ENV, PII_KEY_ENV, SIGNING_KEY_ENV};
    let random = || {
        let mut bytes = Vec::with_capacity(32);
        bytes.extend_from_slice(Uuid::new_v4().as_bytes());
        bytes.extend_from_slice(Uuid::new_v4().as_bytes());
        base64::engine::general_purpose::STANDARD.encode(bytes)
    };
    vec![
        (PII_KEY_ENV, random()),
        (BLIND_INDEX_KEY_ENV, random()),
        (SIGNING_KEY_ENV, random()),
    ]
}

fn keys_of(env: &[(&'static str, String)]) -> KeyMaterial {
    KeyMaterial::load(
        &|k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()),
        std::path::Path::new("/nonexistent-shebao-test-keys"),
        false,
    )
    .unwrap()
}

/// Where test servers write the demo payment keys: a directory of this test process.
fn test_key_dir() -> String {
    std::env::temp_dir()
        .join(format!("shebao-test-keys-{}", std::process::id()))
        .display()
        .to_string()
}

pub const STAFF_PASSWORD: &str = "correct horse battery staple";
pub const PERSON_PASSWORD: &str = "my phone passphrase";

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.get(self.url(path))
    }

    /// `GET path` with a bearer token; asserts 200 and returns the JSON body.
    pub async fn get_ok(&self, token: &str, path: &str) -> Value {
        let res = self.get(path).bearer_auth(token).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}: {}", res.text().await.unwrap());
        res.json().await.unwrap()
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.post(self.url(path))
    }

    /// Creates a staff account directly in the database (as `shebao admin create-staff` does).
    pub async fn create_staff(&self, username: &str, role: StaffRole) -> Uuid {
        let url = self.db.url.clone();
        let username = Username::parse(username).unwrap();
        tokio::task::spawn_blocking(move || {
            let hash = PasswordHasher::new(1)
                .hash_blocking(STAFF_PASSWORD)
                .unwrap();
            let mut conn = DbConnection::open(&url).unwrap();
            staff::insert(&mut conn, &username, &hash, role, Utc::now().naive_utc())
                .unwrap()
                .unwrap()
        })
        .await
        .unwrap()
    }

    /// Signs in through the API and returns the bearer token.
    pub async fn login(&self, username: &str, password: &str) -> reqwest::Response {
        self.post("/v1/staff/auth/login")
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap()
    }

    /// A fresh staff account of `role` and its token.
    pub async fn staff_token(&self, role: StaffRole) -> String {
        let username = format!(
            "{}{}",
            role.as_str(),
            &Uuid::new_v4().simple().to_string()[..8]
        );
        self.create_staff(&username, role).await;
        let res = self.login(&username, STAFF_PASSWORD).await;
        assert_eq!(res.status(), 200, "login failed");
        let body: Value = res.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// Loads the demo regions (and their parameters) without the demo persons.
    pub fn seed_regions(&self) {
        let mut conn = self.db.connect();
        shebao_infra::seed::ensure_regions(&mut conn, 2026, Utc::now().naive_utc()).unwrap();
    }

    /// The messages the SMS stand-in received for `phone` (E.164), newest first.
    pub async fn sms_messages(&self, phone: &str) -> Vec<Value> {
        let res: Value = self
            .client
            .get(format!("{}/messages", self.sms_url))
            .query(&[("to", phone)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        res["messages"].as_array().cloned().unwrap_or_default()
    }

    /// Asks for a code and reads it from the SMS stand-in, as the person reads their phone.
    pub async fn sms_code(&self, phone: &str, purpose: &str) -> String {
        let res = self
            .post("/v1/auth/sms-codes")
            .json(&json!({"phone": phone, "purpose": purpose}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 202, "{}", res.text().await.unwrap());
        self.last_code(phone).await
    }

    /// The code in the newest message to `phone`.
    pub async fn last_code(&self, phone: &str) -> String {
        let messages = self.sms_messages(phone).await;
        let body = messages
            .first()
            .and_then(|m| m["body"].as_str())
            .unwrap_or_default()
            .to_owned();
        body.split(|c: char| !c.is_ascii_digit())
            .find(|w| w.len() == 6)
            .unwrap_or_else(|| panic!("no code in {body:?}"))
            .to_owned()
    }

    /// Registers `phone` through the API and returns the token pair.
    pub async fn register(&self, phone: &str) -> Value {
        let code = self.sms_code(phone, "register").await;
        let res = self
            .post("/v1/auth/register")
            .json(&json!({"phone": phone, "code": code, "password": PERSON_PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
        res.json().await.unwrap()
    }

    /// A stepped-up access token (by SMS code) for the session of `access`.
    pub async fn step_up(&self, access: &str, phone: &str) -> String {
        // The resend cool-down is per purpose; the clock moves on so a test can step up twice.
        self.clock.advance(Duration::seconds(61));
        let code = self.sms_code(phone, "step_up").await;
        let res = self
            .post("/v1/me/step-up")
            .bearer_auth(access)
            .json(&json!({"sms_code": code}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
        let body: Value = res.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// Registers `phone` through the API, steps up and binds the ID card `who` (national ID,
    /// name, card number), as the phone app does; the binding must succeed.
    pub async fn register_and_bind(&self, phone: &str, who: (&str, &str, &str)) -> BoundAccount {
        let pair = self.register(phone).await;
        let access = pair["access_token"].as_str().unwrap().to_owned();
        let refresh = pair["refresh_token"].as_str().unwrap().to_owned();
        let stepped = self.step_up(&access, phone).await;
        let res = self
            .post("/v1/me/binding")
            .bearer_auth(&stepped)
            .json(&json!({"national_id": who.0, "name": who.1, "card_number": who.2}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
        BoundAccount {
            access,
            refresh,
            stepped,
        }
    }

    pub fn stop(&self) -> impl std::future::Future<Output = ()> {
        self.handle.stop(true)
    }
}

/// Asserts that a response is problem+json with the status and code given, and returns the body.
pub async fn assert_problem(res: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(res.status().as_u16(), status, "status");
    let ct = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(
        ct.as_deref(),
        Some("application/problem+json"),
        "content type"
    );
    assert!(res.headers().contains_key("x-request-id"));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], status, "status in body: {body}");
    assert_eq!(body["code"], code, "code in body: {body}");
    assert_eq!(body["type"], format!("urn:shebao:problem:{code}"));
    assert!(body["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(body["detail"].as_str().is_some_and(|t| !t.is_empty()));
    body
}

// ---------------------------------------------------------------------------------------------
// Many bound persons at once (issue 18: the overbooking test needs hundreds of them)

/// The tokens of an account bound through the API (see [`TestApp::register_and_bind`]).
#[derive(Debug, Clone)]
pub struct BoundAccount {
    pub access: String,
    pub refresh: String,
    /// An access token stepped up just before the binding (five minutes of the test's clock).
    pub stepped: String,
}

/// A person registered, with an app account bound to them and a live session (see
/// [`TestApp::bound_persons`]).
#[derive(Debug, Clone)]
pub struct BoundTestPerson {
    pub person_id: Uuid,
    pub account_id: Uuid,
    pub session_id: Uuid,
    /// The account's phone (E.164): where its SMS go.
    pub phone: String,
    /// An access token of the session, valid for an hour from when it was made.
    pub token: String,
}

impl TestApp {
    /// The server's keys: a test can encrypt, blind-index and sign as the server does.
    pub fn keys(&self) -> KeyMaterial {
        keys_of(&self.key_env)
    }

    /// An access token of `session` of `account`, signed with the server's key, valid for an
    /// hour from the test clock's now (after the clock moved on, a fresh one).
    pub fn access_token(&self, account: Uuid, session: Uuid) -> String {
        use shebao_api::auth::person::{PersonClaims, APP_AUDIENCE};
        let now = self.clock.now().timestamp();
        let claims = PersonClaims {
            iss: self.settings.token_issuer.clone(),
            aud: APP_AUDIENCE.to_owned(),
            sub: account.to_string(),
            sid: session.to_string(),
            exp: now + 3600,
            iat: now,
            jti: Uuid::now_v7().to_string(),
            token_use: shebao_api::auth::extract::ACCESS_TOKEN_USE.to_owned(),
            step_up_until: None,
        };
        shebao_security::TokenSigner::new(&self.keys())
            .unwrap()
            .sign(&claims)
            .unwrap()
    }

    /// `n` fictional persons of `region` (employee scheme, employed), each with an app account
    /// (phone `+86137{tag:02}{i:06}`) bound to them and a live session, written straight into the
    /// database — registering hundreds of phones through the API would meet the SMS limits.
    /// `tag` (0–39) keeps the persons of several calls apart.
    pub async fn bound_persons(&self, n: u32, region: &str, tag: u8) -> Vec<BoundTestPerson> {
        use shebao_domain::identity::{NationalId, PersonName, PhoneNumber};
        use shebao_domain::person::{CardNumber, EmploymentStatus, MedicalCategory};
        use shebao_domain::region::RegionCode;
        use shebao_infra::identity::{accounts, sessions};
        use shebao_infra::registry::persons::{self, NewPerson};
        assert!(tag < 40 && n <= 1000);
        let (url, keys, region) = (self.db.url.clone(), self.keys(), region.to_owned());
        let ts = self.clock.now().naive_utc();
        let made = tokio::task::spawn_blocking(move || {
            let vault = shebao_security::PiiVault::new(&keys);
            let mut conn = DbConnection::open(&url).unwrap();
            let people: Vec<(Uuid, NewPerson)> = (0..n)
                .map(|i| {
                    let born = chrono::NaiveDate::from_ymd_opt(1950 + i32::from(tag), 1, 1)
                        .unwrap()
                        + Duration::days(i64::from(i / 500));
                    let p = NewPerson {
                        national_id: NationalId::from_parts(
                            &format!("{}01", &region[..4]),
                            born,
                            u16::try_from(i % 500 * 2 + 1).unwrap(),
                        )
                        .unwrap(),
                        name: PersonName::parse("测试人员").unwrap(),
                        region: RegionCode::parse(&region).unwrap(),
                        card_number: CardNumber::parse(&format!("T{tag:02}{i:08}")).unwrap(),
                        medical_category: MedicalCategory::Employee,
                        employment_status: EmploymentStatus::Employed,
                    };
                    (Uuid::now_v7(), p)
                })
                .collect();
            for chunk in people.chunks(500) {
                persons::insert_many(&mut conn, &vault, chunk, ts).unwrap();
            }
            people
                .iter()
                .enumerate()
                .map(|(i, (person, _))| {
                    let phone = format!("+86137{tag:02}{i:06}");
                    let e164 = PhoneNumber::parse(&phone).unwrap();
                    let account = accounts::create(&mut conn, &vault, &e164, "x", ts)
                        .unwrap()
                        .unwrap();
                    accounts::bind(&mut conn, account.id, *person, ts)
                        .unwrap()
                        .unwrap();
                    let session =
                        sessions::create(&mut conn, account.id, "test", None, ts).unwrap();
                    (*person, account.id, session, phone)
                })
                .collect::<Vec<_>>()
        })
        .await
        .unwrap();
        made.into_iter()
            .map(
                |(person_id, account_id, session_id, phone)| BoundTestPerson {
                    person_id,
                    account_id,
                    session_id,
                    phone,
                    token: self.access_token(account_id, session_id),
                },
            )
            .collect()
    }
}
