//! A stand-in SMS provider speaking the Twilio Messages API (the subset Shebao uses).
//!
//! Routes:
//! - `POST /2010-04-01/Accounts/{sid}/Messages.json` — form fields `To`, `From`, `Body`, HTTP Basic
//!   auth (account SID, auth token). Answers `201` with a Twilio-like message resource. A repeated
//!   `Idempotency-Key` (or `I-Twilio-Idempotency-Token`) answers `200` with the first message and
//!   stores nothing new.
//! - `GET /messages?to=+8613800138000` — the stored messages, newest first (all of them without
//!   `to`). This is how the demo user reads their code:
//!   `curl 'http://127.0.0.1:8081/messages?to=%2B8613800138000'`.
//! - `GET /_control/stats` — `{"messages": N, "repeated_keys": R}`: messages stored, and message
//!   POSTs that repeated a key already seen (a sender's retry of something already taken; the
//!   kill test counts its duplicates with it).
//! - `POST /_control/fail` with `{"count": N, "status": 503}` — the next N message POSTs answer that
//!   status and store nothing. `POST /_control/reset` forgets all messages and faults.
//! - `POST /_control/slow` with `{"count": N, "delay_ms": 8000, "garble": false}` — the next N
//!   message POSTs are stored as usual but answered only after the delay (a provider that takes
//!   the message and then hangs); with `"garble": true` the answer is a `201` whose body is not
//!   JSON (accepted, but unreadable).
//!
//! Everything lives in memory and is lost when the stand-in stops.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::sync::{Mutex, MutexGuard, PoisonError};

use actix_web::dev::ServerHandle;
use actix_web::http::{header, StatusCode};
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The route of the Messages API, as the real provider spells it.
const MESSAGES_ROUTE: &str = "/2010-04-01/Accounts/{sid}/Messages.json";

/// The stand-in SMS provider. See the module documentation for its routes.
#[derive(Debug)]
pub struct SmsStandIn;

/// A started stand-in. The server keeps running until [`RunningStandIn::stop`] is awaited or the
/// tokio runtime that started it shuts down.
#[derive(Debug)]
pub struct RunningStandIn {
    /// The port it listens on (the real one when started on port 0).
    pub port: u16,
    /// `http://127.0.0.1:{port}` (an unspecified listen address is replaced by loopback, so the
    /// URL can be used by a client as is).
    pub base_url: String,
    handle: ServerHandle,
}

impl RunningStandIn {
    /// Stops accepting connections and waits (at most a second) for requests in flight.
    pub async fn stop(&self) {
        self.handle.stop(true).await;
    }
}

impl SmsStandIn {
    /// Binds `listen` (e.g. `127.0.0.1:0` or `0.0.0.0:8081`), starts an HTTP server with one
    /// worker on the current tokio runtime and returns at once. Requests must authenticate with
    /// `account_sid` and `auth_token`.
    ///
    /// Must be called from inside a tokio runtime; fails with an I/O error otherwise.
    pub fn start(listen: &str, account_sid: &str, auth_token: &str) -> io::Result<RunningStandIn> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|e| {
            io::Error::other(format!(
                "SmsStandIn::start must be called inside a tokio runtime: {e}"
            ))
        })?;
        let listener = TcpListener::bind(listen)?;
        let local = listener.local_addr()?;
        let shared = web::Data::new(Shared {
            account_sid: account_sid.to_owned(),
            auth_token: auth_token.to_owned(),
            store: Mutex::new(Store::default()),
        });
        let server = HttpServer::new(move || App::new().configure(routes(shared.clone())))
            .workers(1)
            .disable_signals()
            .shutdown_timeout(1)
            .listen(listener)?
            .run();
        let handle = server.handle();
        runtime.spawn(async move {
            if let Err(error) = server.await {
                tracing::error!(%error, "SMS stand-in stopped with an error");
            }
        });
        let host = match local.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        let base_url = format!("http://{}", SocketAddr::new(host, local.port()));
        tracing::info!(%base_url, "SMS stand-in listening");
        Ok(RunningStandIn {
            port: local.port(),
            base_url,
            handle,
        })
    }
}

/// The routes and their state, for an actix `App` (also used by the unit tests).
fn routes(shared: web::Data<Shared>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(shared)
            .route(MESSAGES_ROUTE, web::post().to(create_message))
            .route("/messages", web::get().to(list_messages))
            .route("/_control/stats", web::get().to(control_stats))
            .route("/_control/fail", web::post().to(control_fail))
            .route("/_control/slow", web::post().to(control_slow))
            .route("/_control/reset", web::post().to(control_reset));
    }
}

struct Shared {
    account_sid: String,
    auth_token: String,
    store: Mutex<Store>,
}

impl Shared {
    fn store(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock cannot leave the store half-updated in a way that
        // matters for a stand-in: keep serving.
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Default)]
struct Store {
    /// Oldest first.
    messages: Vec<StoredMessage>,
    /// Idempotency key -> index in `messages`.
    by_key: HashMap<String, usize>,
    /// Message POSTs whose key had been seen already.
    repeated_keys: u64,
    fault: Option<Fault>,
    slow: Option<Slow>,
}

impl Store {
    /// Consumes one injected fault, if any is pending.
    fn take_fault(&mut self) -> Option<StatusCode> {
        let fault = self.fault.as_mut()?;
        let status = fault.status;
        fault.remaining = fault.remaining.saturating_sub(1);
        if fault.remaining == 0 {
            self.fault = None;
        }
        Some(status)
    }
}

struct Fault {
    remaining: u32,
    status: StatusCode,
}

/// Answers that come late, or unreadable, after the message was stored.
#[derive(Clone, Copy)]
struct Slow {
    remaining: u32,
    delay: std::time::Duration,
    garble: bool,
}

impl Store {
    /// Consumes one slow answer, if any is pending.
    fn take_slow(&mut self) -> Option<Slow> {
        let slow = self.slow.as_mut()?;
        let taken = *slow;
        slow.remaining = slow.remaining.saturating_sub(1);
        if slow.remaining == 0 {
            self.slow = None;
        }
        Some(taken)
    }
}

/// Twilio's message resource (the fields Shebao and the demo look at).
#[derive(Debug, Clone, Serialize)]
struct StoredMessage {
    sid: String,
    account_sid: String,
    to: String,
    from: String,
    body: String,
    status: &'static str,
    /// RFC 2822, as Twilio writes it: `Thu, 30 Jul 2015 20:12:31 +0000`.
    date_created: String,
}

/// One entry of `GET /messages`.
#[derive(Serialize)]
struct ListedMessage<'a> {
    sid: &'a str,
    to: &'a str,
    from: &'a str,
    body: &'a str,
    date_created: &'a str,
}

#[derive(Deserialize)]
struct MessageForm {
    #[serde(rename = "To")]
    to: Option<String>,
    #[serde(rename = "From")]
    from: Option<String>,
    #[serde(rename = "Body")]
    body: Option<String>,
}

/// A Twilio-style error answer.
fn twilio_error(status: StatusCode, code: u32, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({
        "code": code,
        "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status.as_u16(),
    }))
}

fn authorized(req: &HttpRequest, shared: &Shared) -> bool {
    let Some(value) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some((scheme, encoded)) = value.trim().split_once(' ') else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return false;
    }
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
        return false;
    };
    let Ok(decoded) = String::from_utf8(decoded) else {
        return false;
    };
    decoded
        .split_once(':')
        .is_some_and(|(user, password)| user == shared.account_sid && password == shared.auth_token)
}

/// `+` and 8 to 15 digits.
fn is_e164(number: &str) -> bool {
    number.strip_prefix('+').is_some_and(|digits| {
        (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
    })
}

fn idempotency_key(req: &HttpRequest) -> Option<String> {
    ["Idempotency-Key", "I-Twilio-Idempotency-Token"]
        .iter()
        .find_map(|name| req.headers().get(*name))
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

async fn create_message(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    if let Some(status) = shared.store().take_fault() {
        tracing::info!(status = status.as_u16(), "SMS stand-in: injected fault");
        // Twilio's own codes for these are 20000 + the status (20429, 20500, 20503).
        let code = 20_000 + u32::from(status.as_u16());
        return twilio_error(status, code, "Injected fault (SMS stand-in)");
    }
    if !authorized(&req, &shared) {
        let mut response = twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic realm=\"Twilio API\""),
        );
        return response;
    }
    if path.as_str() != shared.account_sid {
        return twilio_error(
            StatusCode::NOT_FOUND,
            20404,
            "The requested resource was not found",
        );
    }
    // The body is `application/x-www-form-urlencoded`: the same encoding as a query string.
    let form = std::str::from_utf8(&body)
        .ok()
        .and_then(|text| web::Query::<MessageForm>::from_query(text).ok());
    let Some(web::Query(form)) = form else {
        return twilio_error(StatusCode::BAD_REQUEST, 20001, "Invalid form body");
    };
    let Some(to) = non_empty(form.to) else {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21604,
            "A 'To' phone number is required.",
        );
    };
    let Some(from) = non_empty(form.from) else {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21603,
            "A 'From' phone number is required.",
        );
    };
    let Some(text) = non_empty(form.body) else {
        return twilio_error(StatusCode::BAD_REQUEST, 21602, "Message body is required.");
    };
    if !is_e164(&to) {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21211,
            &format!("The 'To' number {to} is not a valid phone number."),
        );
    }

    let slow = shared.store().take_slow();
    let answer = store_message(&req, &shared, to, from, text);
    let Some(slow) = slow else {
        return answer;
    };
    tokio::time::sleep(slow.delay).await;
    if slow.garble {
        return HttpResponse::Created()
            .content_type("text/html")
            .body("<html>accepted</html>");
    }
    answer
}

/// Stores a message (once per idempotency key) and answers it.
fn store_message(
    req: &HttpRequest,
    shared: &Shared,
    to: String,
    from: String,
    text: String,
) -> HttpResponse {
    let key = idempotency_key(req);
    let mut store = shared.store();
    let seen = key.as_ref().and_then(|key| store.by_key.get(key)).copied();
    if let Some(index) = seen {
        store.repeated_keys += 1;
        if let Some(existing) = store.messages.get(index) {
            tracing::info!(sid = %existing.sid, "SMS stand-in: repeated idempotency key");
            return HttpResponse::Ok().json(existing);
        }
    }
    let message = StoredMessage {
        sid: format!("SM{}", uuid::Uuid::new_v4().simple()),
        account_sid: shared.account_sid.clone(),
        to,
        from,
        body: text,
        status: "queued",
        date_created: chrono::Utc::now().to_rfc2822(),
    };
    if let Some(key) = key {
        let index = store.messages.len();
        store.by_key.insert(key, index);
    }
    store.messages.push(message.clone());
    drop(store);
    tracing::info!(sid = %message.sid, "SMS stand-in: message stored");
    HttpResponse::Created().json(message)
}

#[derive(Deserialize)]
struct ListQuery {
    to: Option<String>,
}

/// A raw `+` in a query string decodes to a space: put the plus back (and accept the number
/// without it).
fn normalize_phone(raw: &str) -> String {
    let trimmed = raw.trim();
    if trimmed.starts_with('+') {
        trimmed.to_owned()
    } else {
        format!("+{trimmed}")
    }
}

async fn list_messages(query: web::Query<ListQuery>, shared: web::Data<Shared>) -> HttpResponse {
    let to = query
        .to
        .as_deref()
        .filter(|to| !to.trim().is_empty())
        .map(normalize_phone);
    let store = shared.store();
    let messages: Vec<ListedMessage<'_>> = store
        .messages
        .iter()
        .rev()
        .filter(|m| to.as_deref().is_none_or(|to| m.to == to))
        .map(|m| ListedMessage {
            sid: &m.sid,
            to: &m.to,
            from: &m.from,
            body: &m.body,
            date_created: &m.date_created,
        })
        .collect();
    HttpResponse::Ok().json(json!({ "messages": messages }))
}

async fn control_stats(shared: web::Data<Shared>) -> HttpResponse {
    let store = shared.store();
    HttpResponse::Ok().json(json!({
        "messages": store.messages.len(),
        "repeated_keys": store.repeated_keys,
    }))
}

#[derive(Deserialize)]
struct FailRequest {
    count: u32,
    #[serde(default = "default_fail_status")]
    status: u16,
}

fn default_fail_status() -> u16 {
    503
}

/// Accepts the JSON with or without a `Content-Type`, so a bare `curl -d` works.
async fn control_fail(body: web::Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let request = match serde_json::from_slice::<FailRequest>(&body) {
        Ok(request) => request,
        Err(error) => {
            return HttpResponse::BadRequest().json(json!({
                "error": format!("expected {{\"count\": N, \"status\": 503}}: {error}"),
            }))
        }
    };
    let status = match StatusCode::from_u16(request.status) {
        Ok(status) if status.is_client_error() || status.is_server_error() => status,
        _ => {
            return HttpResponse::BadRequest().json(json!({
                "error": "status must be a 4xx or 5xx HTTP status",
            }))
        }
    };
    shared.store().fault = (request.count > 0).then_some(Fault {
        remaining: request.count,
        status,
    });
    HttpResponse::Ok().json(json!({ "count": request.count, "status": status.as_u16() }))
}

#[derive(Deserialize)]
struct SlowRequest {
    count: u32,
    #[serde(default)]
    delay_ms: u64,
    #[serde(default)]
    garble: bool,
}

async fn control_slow(body: web::Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let request = match serde_json::from_slice::<SlowRequest>(&body) {
        Ok(request) => request,
        Err(error) => {
            return HttpResponse::BadRequest().json(json!({
                "error": format!("expected {{\"count\": N, \"delay_ms\": M, \"garble\": false}}: {error}"),
            }))
        }
    };
    shared.store().slow = (request.count > 0).then_some(Slow {
        remaining: request.count,
        delay: std::time::Duration::from_millis(request.delay_ms),
        garble: request.garble,
    });
    HttpResponse::Ok().json(json!({
        "count": request.count,
        "delay_ms": request.delay_ms,
        "garble": request.garble,
    }))
}

async fn control_reset(shared: web::Data<Shared>) -> HttpResponse {
    let mut store = shared.store();
    *store = Store::default();
    HttpResponse::NoContent().finish()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::io::{Read as _, Write as _};

    use actix_web::dev::{Service, ServiceResponse};
    use actix_web::test as actix_test;
    use serde_json::Value;

    use super::*;

    const SID: &str = "AC0123456789abcdef0123456789abcdef";
    const TOKEN: &str = "secret-token";
    const PHONE: &str = "+8613800138000";

    fn basic(user: &str, password: &str) -> String {
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        format!("Basic {encoded}")
    }

    fn shared() -> web::Data<Shared> {
        web::Data::new(Shared {
            account_sid: SID.to_owned(),
            auth_token: TOKEN.to_owned(),
            store: Mutex::new(Store::default()),
        })
    }

    /// The stand-in's routes as an in-process service.
    macro_rules! app {
        () => {
            actix_test::init_service(App::new().configure(routes(shared()))).await
        };
    }

    fn post_message(form: &str, key: Option<&str>) -> actix_test::TestRequest {
        let mut request = actix_test::TestRequest::post()
            .uri(&format!("/2010-04-01/Accounts/{SID}/Messages.json"))
            .insert_header((header::AUTHORIZATION, basic(SID, TOKEN)))
            .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
            .set_payload(form.to_owned());
        if let Some(key) = key {
            request = request.insert_header(("Idempotency-Key", key));
        }
        request
    }

    fn form(to: &str, body: &str) -> String {
        format!(
            "To={}&From=%2B15005550006&Body={}",
            to.replace('+', "%2B"),
            body.replace(' ', "+")
        )
    }

    async fn call<S, R>(app: &S, request: R) -> (StatusCode, Value)
    where
        S: Service<R, Response = ServiceResponse, Error = actix_web::Error>,
    {
        let response = actix_test::call_service(app, request).await;
        let status = response.status();
        let bytes = actix_test::read_body(response).await;
        let json = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        (status, json)
    }

    async fn list<S, R>(app: &S, request: R) -> Vec<Value>
    where
        S: Service<R, Response = ServiceResponse, Error = actix_web::Error>,
    {
        let (status, json) = call(app, request).await;
        assert_eq!(status, StatusCode::OK);
        json["messages"].as_array().unwrap().clone()
    }

    fn get(query: &str) -> actix_test::TestRequest {
        actix_test::TestRequest::get().uri(&format!("/messages{query}"))
    }

    #[actix_web::test]
    async fn creates_a_twilio_like_message_and_lists_it() {
        let app = app!();
        let (status, json) = call(
            &app,
            post_message(&form(PHONE, "Your code is 123456"), None).to_request(),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
        let sid = json["sid"].as_str().unwrap();
        assert_eq!(sid.len(), 34);
        assert!(sid.starts_with("SM"));
        assert!(sid[2..].bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(json["account_sid"], SID);
        assert_eq!(json["to"], PHONE);
        assert_eq!(json["from"], "+15005550006");
        assert_eq!(json["body"], "Your code is 123456");
        assert_eq!(json["status"], "queued");
        chrono::DateTime::parse_from_rfc2822(json["date_created"].as_str().unwrap()).unwrap();

        let listed = list(&app, get("?to=%2B8613800138000").to_request()).await;
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0]["sid"], sid);
        assert_eq!(listed[0]["body"], "Your code is 123456");
        // A raw `+` decodes to a space; the number without its plus is accepted too.
        assert_eq!(
            list(&app, get("?to=+8613800138000").to_request())
                .await
                .len(),
            1
        );
        assert_eq!(
            list(&app, get("?to=8613800138000").to_request())
                .await
                .len(),
            1
        );
        assert!(list(&app, get("?to=%2B8613900139000").to_request())
            .await
            .is_empty());
    }

    #[actix_web::test]
    async fn lists_newest_first_and_filters_by_number() {
        let app = app!();
        for (to, body) in [
            (PHONE, "first"),
            ("+8613900139000", "other"),
            (PHONE, "second"),
        ] {
            let (status, _) = call(&app, post_message(&form(to, body), None).to_request()).await;
            assert_eq!(status, StatusCode::CREATED);
        }
        let bodies = |messages: Vec<Value>| {
            messages
                .iter()
                .map(|m| m["body"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            bodies(list(&app, get("?to=%2B8613800138000").to_request()).await),
            ["second", "first"]
        );
        assert_eq!(
            bodies(list(&app, get("").to_request()).await),
            ["second", "other", "first"]
        );
    }

    #[actix_web::test]
    async fn requires_the_configured_credentials_and_account() {
        let app = app!();
        let body = form(PHONE, "hello");
        let unauthenticated = actix_test::TestRequest::post()
            .uri(&format!("/2010-04-01/Accounts/{SID}/Messages.json"))
            .set_payload(body.clone());
        let (status, json) = call(&app, unauthenticated.to_request()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            json,
            json!({"code": 20003, "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401})
        );

        let wrong_token =
            post_message(&body, None).insert_header((header::AUTHORIZATION, basic(SID, "wrong")));
        assert_eq!(
            call(&app, wrong_token.to_request()).await.0,
            StatusCode::UNAUTHORIZED
        );

        let other_account = actix_test::TestRequest::post()
            .uri("/2010-04-01/Accounts/ACother/Messages.json")
            .insert_header((header::AUTHORIZATION, basic(SID, TOKEN)))
            .set_payload(body.clone());
        assert_eq!(
            call(&app, other_account.to_request()).await.0,
            StatusCode::NOT_FOUND
        );
        assert!(list(&app, get("").to_request()).await.is_empty());
    }

    #[actix_web::test]
    async fn validates_the_form() {
        let app = app!();
        let cases = [
            ("From=%2B15005550006&Body=hi", 21604),
            ("To=&From=%2B15005550006&Body=hi", 21604),
            ("To=%2B8613800138000&Body=hi", 21603),
            ("To=%2B8613800138000&From=%2B15005550006", 21602),
            ("To=8613800138000&From=%2B15005550006&Body=hi", 21211),
            ("To=%2B1234567&From=%2B15005550006&Body=hi", 21211),
            ("To=%2B1234567890123456&From=%2B15005550006&Body=hi", 21211),
            ("To=%2B86138001380a0&From=%2B15005550006&Body=hi", 21211),
        ];
        for (body, code) in cases {
            let (status, json) = call(&app, post_message(body, None).to_request()).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
            assert_eq!(json["code"], code, "{body}");
            assert_eq!(json["status"], 400, "{body}");
        }
        let (_, json) = call(&app, post_message("From=x&Body=hi", None).to_request()).await;
        assert_eq!(json["message"], "A 'To' phone number is required.");
        assert!(list(&app, get("").to_request()).await.is_empty());
    }

    #[actix_web::test]
    async fn deduplicates_on_the_idempotency_key() {
        let app = app!();
        let body = form(PHONE, "code 111111");
        let (first_status, first) =
            call(&app, post_message(&body, Some("msg-1")).to_request()).await;
        assert_eq!(first_status, StatusCode::CREATED);
        let (again_status, again) =
            call(&app, post_message(&body, Some("msg-1")).to_request()).await;
        assert_eq!(again_status, StatusCode::OK);
        assert_eq!(again, first);
        let twilio_header =
            post_message(&body, None).insert_header(("I-Twilio-Idempotency-Token", "msg-1"));
        assert_eq!(
            call(&app, twilio_header.to_request()).await.1["sid"],
            first["sid"]
        );

        let (other_status, other) =
            call(&app, post_message(&body, Some("msg-2")).to_request()).await;
        assert_eq!(other_status, StatusCode::CREATED);
        assert_ne!(other["sid"], first["sid"]);
        assert_eq!(list(&app, get("").to_request()).await.len(), 2);
        let stats = actix_test::TestRequest::get()
            .uri("/_control/stats")
            .to_request();
        let (_, stats) = call(&app, stats).await;
        assert_eq!(stats, json!({"messages": 2, "repeated_keys": 2}));
    }

    #[actix_web::test]
    async fn injected_faults_then_reset() {
        let app = app!();
        let fail = actix_test::TestRequest::post()
            .uri("/_control/fail")
            .set_payload(r#"{"count": 2, "status": 503}"#);
        assert_eq!(call(&app, fail.to_request()).await.0, StatusCode::OK);
        let body = form(PHONE, "hello");
        for _ in 0..2 {
            let (status, json) = call(&app, post_message(&body, Some("k")).to_request()).await;
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(json["status"], 503);
        }
        assert!(list(&app, get("").to_request()).await.is_empty());
        assert_eq!(
            call(&app, post_message(&body, Some("k")).to_request())
                .await
                .0,
            StatusCode::CREATED
        );
        assert_eq!(list(&app, get("").to_request()).await.len(), 1);

        // The status defaults to 503; anything but 4xx/5xx is refused.
        let fail = actix_test::TestRequest::post()
            .uri("/_control/fail")
            .set_payload(r#"{"count": 1}"#);
        assert_eq!(call(&app, fail.to_request()).await.1["status"], 503);
        let bad = actix_test::TestRequest::post()
            .uri("/_control/fail")
            .set_payload(r#"{"count": 1, "status": 200}"#);
        assert_eq!(
            call(&app, bad.to_request()).await.0,
            StatusCode::BAD_REQUEST
        );

        let reset = actix_test::TestRequest::post().uri("/_control/reset");
        assert_eq!(
            call(&app, reset.to_request()).await.0,
            StatusCode::NO_CONTENT
        );
        assert!(list(&app, get("").to_request()).await.is_empty());
        // The pending fault is gone too, and so is the remembered key.
        assert_eq!(
            call(&app, post_message(&body, Some("k")).to_request())
                .await
                .0,
            StatusCode::CREATED
        );
    }

    #[actix_web::test]
    async fn slow_and_garbled_answers_still_store_the_message() {
        let app = app!();
        let slow = actix_test::TestRequest::post()
            .uri("/_control/slow")
            .set_payload(r#"{"count": 1, "delay_ms": 300}"#);
        assert_eq!(call(&app, slow.to_request()).await.0, StatusCode::OK);
        let started = std::time::Instant::now();
        let (status, json) = call(&app, post_message(&form(PHONE, "one"), None).to_request()).await;
        assert_eq!(status, StatusCode::CREATED);
        assert!(json["sid"].as_str().unwrap().starts_with("SM"));
        assert!(started.elapsed() >= std::time::Duration::from_millis(300));

        let garble = actix_test::TestRequest::post()
            .uri("/_control/slow")
            .set_payload(r#"{"count": 1, "garble": true}"#);
        assert_eq!(call(&app, garble.to_request()).await.0, StatusCode::OK);
        let response =
            actix_test::call_service(&app, post_message(&form(PHONE, "two"), None).to_request())
                .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let body = actix_test::read_body(response).await;
        assert!(serde_json::from_slice::<Value>(&body).is_err());
        // Both were stored; the next answer is normal again.
        assert_eq!(list(&app, get("").to_request()).await.len(), 2);
        let (status, json) =
            call(&app, post_message(&form(PHONE, "three"), None).to_request()).await;
        assert_eq!(status, StatusCode::CREATED);
        assert!(json["sid"].is_string());
    }

    /// A raw HTTP/1.1 GET over a std socket (the workspace's tokio has no `net` feature).
    fn http_get(base_url: &str, path: &str) -> String {
        let address = base_url.strip_prefix("http://").unwrap();
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    }

    #[tokio::test]
    async fn starts_on_a_free_port_and_stops() {
        let running = SmsStandIn::start("127.0.0.1:0", SID, TOKEN).unwrap();
        assert_ne!(running.port, 0);
        assert_eq!(
            running.base_url,
            format!("http://127.0.0.1:{}", running.port)
        );
        let base_url = running.base_url.clone();
        let response = tokio::task::spawn_blocking(move || http_get(&base_url, "/messages"))
            .await
            .unwrap();
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(response.ends_with(r#"{"messages":[]}"#), "{response}");
        running.stop().await;
        let address = running.base_url.strip_prefix("http://").unwrap().to_owned();
        let refused = tokio::task::spawn_blocking(move || std::net::TcpStream::connect(address))
            .await
            .unwrap();
        assert!(refused.is_err());
    }

    #[tokio::test]
    async fn an_unspecified_listen_address_gives_a_loopback_url() {
        let running = SmsStandIn::start("0.0.0.0:0", SID, TOKEN).unwrap();
        assert_eq!(
            running.base_url,
            format!("http://127.0.0.1:{}", running.port)
        );
        running.stop().await;
    }

    #[test]
    fn start_needs_a_tokio_runtime() {
        let error = SmsStandIn::start("127.0.0.1:0", SID, TOKEN).unwrap_err();
        assert!(error.to_string().contains("tokio runtime"), "{error}");
    }

    #[test]
    fn phone_numbers_from_a_query() {
        assert_eq!(normalize_phone(" 8613800138000"), PHONE);
        assert_eq!(normalize_phone("+8613800138000"), PHONE);
        assert_eq!(normalize_phone("8613800138000"), PHONE);
        assert!(is_e164(PHONE));
        assert!(is_e164("+12345678"));
        assert!(!is_e164("+1234567"));
        assert!(!is_e164("8613800138000"));
        assert!(!is_e164("+"));
    }
}
