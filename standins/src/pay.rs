//! A stand-in payment gateway speaking the WeChat Pay API v3 protocol of `shared/GATEWAY.md`.
//!
//! Protocol routes (every request must carry a valid merchant `Authorization` signature, else
//! `401 SIGN_ERROR`; every answer is signed with the platform key in `Wechatpay-*` headers):
//! - `POST /v3/pay/transactions/app` — create an app order → `{prepay_id}`; the same
//!   `out_trade_no` with the same body gives the same `prepay_id`, with another body
//!   `400 INVALID_REQUEST` ("201 商户订单号重复").
//! - `GET /v3/pay/transactions/out-trade-no/{out_trade_no}?mchid=…` — the transaction.
//! - `POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close` `{mchid}` → `204`.
//! - `POST /v3/refund/domestic/refunds`, `GET /v3/refund/domestic/refunds/{out_refund_no}`.
//! - `GET /v3/bill/tradebill?bill_date=YYYY-MM-DD&bill_type=ALL` → `{download_url, hash_type,
//!   hash_value}`; the file (`GET /v3/billdownload/file?token=…`, signed request, unsigned
//!   answer like the real one) is CSV in the real bill's layout: a header, one row per payment
//!   and per refund (each value prefixed with a backquote, amounts in yuan), then a summary.
//!
//! - `POST /v3/fund-app/mch-transfer/transfer-bills` — a transfer (商家转账) to a payee's bank
//!   card or wallet → `{out_bill_no, transfer_bill_no, create_time, state}`; carried out at
//!   once (`SUCCESS`, or `FAIL` with a `fail_reason` if the destination was closed); the same
//!   `out_bill_no` with the same body answers the same bill, with another `400 INVALID_REQUEST`.
//! - `GET /v3/fund-app/mch-transfer/transfer-bills/out-bill-no/{out_bill_no}` — the bill.
//!
//! Control routes (no signature; the real gateway has no such thing):
//! - `POST /control/orders/{out_trade_no}/pay` `{outcome, notify}` — the payer pays.
//! - `GET /control/orders`, `GET /control/notifications`, `GET /control/keys`.
//! - `GET /control/transfers`; `POST /control/payout-destinations/close` `{type, institution,
//!   account_no, reason}` and `…/reopen`; `POST /control/transfers/lose-answers` `{times}`.
//!
//! Notifications (`TRANSACTION.SUCCESS` when paid, `REFUND.SUCCESS` when refunded,
//! `MCHTRANSFER.BILL.FINISHED` when a transfer is carried out) are
//! encrypted with the APIv3 key, signed with the platform key and POSTed to the order's
//! `notify_url`; an answer other than 200/204 (or none within the timeout) is retried after the
//! configured delays (the real schedule by default: 15 s, 15 s, 30 s, 3 min, 10 min, …).
//!
//! `time_expire` is recorded and reported but not enforced: the merchant closes an order to
//! stop it being paid. Everything lives in memory and is lost when the stand-in stops.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::http::StatusCode;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use shebao_security::gateway_crypto::{
    self as crypto, ApiV3Key, Authorization, GatewayCryptoError, PlatformSignature, SigningKey,
    VerifyingKey,
};

/// The real gateway's notification retry schedule (after the first delivery).
pub const REAL_RETRY_DELAYS_SECS: [u64; 15] = [
    15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600,
];

/// The demo's merchant.
pub const DEMO_MCHID: &str = "1900000001";
pub const DEMO_APPID: &str = "wxd678efh567hg6787";

/// File names under the key directory ([`PayKeys::write_merchant_files`]).
pub const MERCHANT_KEY_FILE: &str = "pay-merchant-key.pem";
pub const PLATFORM_PUBLIC_KEY_FILE: &str = "pay-platform-public-key.pem";

/// Both key pairs and the APIv3 key, generated for the demo.
#[derive(Clone)]
pub struct PayKeys {
    pub merchant_private_pem: SecretString,
    pub merchant_public_pem: String,
    pub merchant_serial: String,
    pub platform_private_pem: SecretString,
    pub platform_public_pem: String,
    pub platform_serial: String,
    pub apiv3_key: ApiV3Key,
}

impl std::fmt::Debug for PayKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayKeys")
            .field("merchant_serial", &self.merchant_serial)
            .field("platform_serial", &self.platform_serial)
            .finish_non_exhaustive()
    }
}

/// Where [`PayKeys::write_merchant_files`] wrote the merchant's files.
#[derive(Debug, Clone)]
pub struct MerchantFiles {
    pub merchant_key_file: PathBuf,
    pub platform_public_key_file: PathBuf,
}

impl PayKeys {
    /// Generates the merchant's and the platform's RSA-2048 key pairs and an APIv3 key.
    pub fn generate() -> Result<PayKeys, GatewayCryptoError> {
        let merchant = crypto::generate_key_pair()?;
        let platform = crypto::generate_key_pair()?;
        Ok(PayKeys {
            merchant_private_pem: merchant.private_pkcs8_pem,
            merchant_public_pem: merchant.public_spki_pem,
            merchant_serial: merchant.serial,
            platform_private_pem: platform.private_pkcs8_pem,
            platform_public_pem: platform.public_spki_pem,
            platform_serial: platform.serial,
            apiv3_key: ApiV3Key::generate(),
        })
    }

    /// Writes the merchant's private key (mode 0600 on Unix) and the platform's public key, as
    /// PKCS#8 / SPKI PEM, into `dir` (created if missing): the files the service reads.
    pub fn write_merchant_files(&self, dir: &Path) -> io::Result<MerchantFiles> {
        std::fs::create_dir_all(dir)?;
        let merchant_key_file = dir.join(MERCHANT_KEY_FILE);
        write_private(
            &merchant_key_file,
            self.merchant_private_pem.expose_secret(),
        )?;
        let platform_public_key_file = dir.join(PLATFORM_PUBLIC_KEY_FILE);
        std::fs::write(&platform_public_key_file, &self.platform_public_pem)?;
        Ok(MerchantFiles {
            merchant_key_file,
            platform_public_key_file,
        })
    }
}

fn write_private(path: &Path, text: &str) -> io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path)?.write_all(text.as_bytes())
}

/// How to run the stand-in.
#[derive(Debug)]
pub struct PayStandInConfig {
    pub mchid: String,
    pub appid: String,
    pub keys: PayKeys,
    /// Pauses before each further delivery attempt of a notification that was not answered
    /// 200/204 ([`REAL_RETRY_DELAYS_SECS`] by default; tests use milliseconds).
    pub notify_retry_delays: Vec<Duration>,
    /// How long a notification delivery waits for the merchant's answer (5 s).
    pub notify_timeout: Duration,
    /// Added to the stand-in's clock when it signs (0; tests set it to sign stale answers).
    pub signature_clock_offset_secs: i64,
}

impl PayStandInConfig {
    /// The demo merchant with freshly generated keys and the real retry schedule.
    pub fn demo() -> Result<PayStandInConfig, GatewayCryptoError> {
        Ok(PayStandInConfig::demo_with(PayKeys::generate()?))
    }

    /// The demo merchant with these keys and the real retry schedule.
    pub fn demo_with(keys: PayKeys) -> PayStandInConfig {
        PayStandInConfig {
            mchid: DEMO_MCHID.to_owned(),
            appid: DEMO_APPID.to_owned(),
            keys,
            notify_retry_delays: REAL_RETRY_DELAYS_SECS
                .iter()
                .map(|s| Duration::from_secs(*s))
                .collect(),
            notify_timeout: Duration::from_secs(5),
            signature_clock_offset_secs: 0,
        }
    }
}

/// The stand-in payment gateway. See the module documentation.
#[derive(Debug)]
pub struct PayStandIn;

/// A started stand-in; runs until [`RunningPayStandIn::stop`] or the runtime ends.
#[derive(Debug)]
pub struct RunningPayStandIn {
    pub port: u16,
    /// `http://127.0.0.1:{port}`.
    pub base_url: String,
    handle: ServerHandle,
}

impl RunningPayStandIn {
    pub async fn stop(&self) {
        self.handle.stop(true).await;
    }
}

impl PayStandIn {
    /// Binds `listen`, starts the server on the current tokio runtime and returns at once.
    pub fn start(listen: &str, config: PayStandInConfig) -> io::Result<RunningPayStandIn> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|e| {
            io::Error::other(format!(
                "PayStandIn::start must be called inside a tokio runtime: {e}"
            ))
        })?;
        let bad_key = |e: GatewayCryptoError| io::Error::other(format!("pay stand-in keys: {e}"));
        let platform_key =
            SigningKey::from_pkcs8_pem(config.keys.platform_private_pem.expose_secret())
                .map_err(bad_key)?;
        let merchant_public =
            VerifyingKey::from_spki_pem(&config.keys.merchant_public_pem).map_err(bad_key)?;
        let listener = TcpListener::bind(listen)?;
        let local = listener.local_addr()?;
        let host = match local.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        let base_url = format!("http://{}", SocketAddr::new(host, local.port()));
        let notifier = reqwest::Client::builder()
            .timeout(config.notify_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(io::Error::other)?;
        let shared = web::Data::new(Shared {
            base_url: base_url.clone(),
            platform_key,
            merchant_public,
            config,
            store: Mutex::new(Store::default()),
            runtime: runtime.clone(),
            notifier,
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
                tracing::error!(%error, "payment stand-in stopped with an error");
            }
        });
        tracing::info!(%base_url, "payment gateway stand-in listening");
        Ok(RunningPayStandIn {
            port: local.port(),
            base_url,
            handle,
        })
    }
}

fn routes(shared: web::Data<Shared>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(shared)
            .app_data(web::PayloadConfig::new(64 * 1024))
            .route("/v3/pay/transactions/app", web::post().to(create_order))
            .route(
                "/v3/pay/transactions/out-trade-no/{out_trade_no}",
                web::get().to(query_order),
            )
            .route(
                "/v3/pay/transactions/out-trade-no/{out_trade_no}/close",
                web::post().to(close_order),
            )
            .route("/v3/refund/domestic/refunds", web::post().to(create_refund))
            .route(
                "/v3/refund/domestic/refunds/{out_refund_no}",
                web::get().to(query_refund),
            )
            .route("/v3/bill/tradebill", web::get().to(trade_bill))
            .route("/v3/billdownload/file", web::get().to(download_bill))
            .route(
                "/control/orders/{out_trade_no}/pay",
                web::post().to(control_pay),
            )
            .route("/control/orders", web::get().to(control_orders))
            .route(
                "/control/notifications",
                web::get().to(control_notifications),
            )
            .route("/control/keys", web::get().to(control_keys))
            .route(
                "/v3/fund-app/mch-transfer/transfer-bills",
                web::post().to(create_transfer),
            )
            .route(
                "/v3/fund-app/mch-transfer/transfer-bills/out-bill-no/{out_bill_no}",
                web::get().to(query_transfer),
            )
            .route("/control/transfers", web::get().to(control_transfers))
            .route(
                "/control/transfers/lose-answers",
                web::post().to(control_lose_answers),
            )
            .route(
                "/control/payout-destinations/close",
                web::post().to(control_close_destination),
            )
            .route(
                "/control/payout-destinations/reopen",
                web::post().to(control_reopen_destination),
            );
    }
}

struct Shared {
    base_url: String,
    platform_key: SigningKey,
    merchant_public: VerifyingKey,
    config: PayStandInConfig,
    store: Mutex<Store>,
    runtime: tokio::runtime::Handle,
    notifier: reqwest::Client,
}

impl Shared {
    fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn now_secs(&self) -> i64 {
        Utc::now().timestamp()
    }

    /// A JSON answer signed with the platform key (an empty body for `None`).
    fn signed(&self, status: StatusCode, body: Option<&Value>) -> HttpResponse {
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let timestamp = self.now_secs() + self.config.signature_clock_offset_secs;
        let mut response = HttpResponse::build(status);
        match PlatformSignature::sign(
            &self.platform_key,
            &self.config.keys.platform_serial,
            timestamp,
            &bytes,
        ) {
            Ok(signature) => {
                for (name, value) in signature.headers() {
                    response.insert_header((name, value.to_owned()));
                }
            }
            Err(error) => tracing::error!(%error, "pay stand-in: cannot sign an answer"),
        }
        response.insert_header(("Request-ID", uuid::Uuid::new_v4().to_string()));
        if body.is_some() {
            response.content_type("application/json; charset=utf-8");
        }
        response.body(bytes)
    }

    fn error(&self, status: StatusCode, code: &str, message: &str) -> HttpResponse {
        self.signed(status, Some(&json!({ "code": code, "message": message })))
    }

    /// A signed JSON request: the merchant's signature checked, then the body read both as it
    /// came (kept to recognise a repeated request) and as `T`; else the answer to send instead.
    #[allow(clippy::result_large_err)]
    fn signed_request<T: serde::de::DeserializeOwned>(
        &self,
        req: &HttpRequest,
        body: &[u8],
    ) -> Result<(Value, T), HttpResponse> {
        if let Some(refused) = self.refuse_unsigned(req, body) {
            return Err(refused);
        }
        let bad = |message: String| self.error(StatusCode::BAD_REQUEST, "PARAM_ERROR", &message);
        let raw: Value = serde_json::from_slice(body).map_err(|e| bad(format!("JSON: {e}")))?;
        let parsed =
            serde_json::from_value(raw.clone()).map_err(|e| bad(format!("参数错误: {e}")))?;
        Ok((raw, parsed))
    }

    /// Checks the merchant's `Authorization` signature over this request: `None` when it
    /// verifies, else the `401 SIGN_ERROR` answer.
    fn refuse_unsigned(&self, req: &HttpRequest, body: &[u8]) -> Option<HttpResponse> {
        let refuse = |why: String| {
            tracing::info!(%why, path = req.path(), "pay stand-in: SIGN_ERROR");
            Some(self.error(
                StatusCode::UNAUTHORIZED,
                "SIGN_ERROR",
                &format!("签名错误，请检查后再试 ({why})"),
            ))
        };
        let Some(header) = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        else {
            return refuse("no Authorization header".into());
        };
        let auth = match Authorization::parse(header) {
            Ok(auth) => auth,
            Err(e) => return refuse(e.to_string()),
        };
        if auth.mchid != self.config.mchid {
            return refuse(format!("unknown mchid {:?}", auth.mchid));
        }
        let canonical_url = req
            .uri()
            .path_and_query()
            .map_or_else(|| req.path().to_owned(), |pq| pq.as_str().to_owned());
        match auth.verify(
            &self.merchant_public,
            &self.config.keys.merchant_serial,
            req.method().as_str(),
            &canonical_url,
            body,
            self.now_secs(),
        ) {
            Ok(()) => None,
            Err(e) => refuse(e.to_string()),
        }
    }
}

#[derive(Default)]
struct Store {
    orders: HashMap<String, Order>,
    /// Creation order of `orders`' keys.
    order_list: Vec<String>,
    refunds: HashMap<String, RefundRecord>,
    refund_list: Vec<String>,
    deliveries: Vec<Delivery>,
    bills: HashMap<String, Vec<u8>>,
    transfers: HashMap<String, TransferRecord>,
    transfer_list: Vec<String>,
    /// Closed payout destinations (`TYPE:INSTITUTION:ACCOUNT`) and the `fail_reason` a transfer
    /// to each ends with.
    closed_destinations: HashMap<String, String>,
    /// How many transfer creations from now on are carried out but answered `500 SYSTEM_ERROR`
    /// and not notified, as if the merchant died before it could record the answer.
    lose_transfer_answers: u32,
}

#[derive(Clone)]
struct Order {
    /// The create request as received, to tell a repeat from a reuse of the number.
    request: Value,
    appid: String,
    description: String,
    out_trade_no: String,
    time_expire: Option<String>,
    notify_url: String,
    total: i64,
    prepay_id: String,
    created_at: DateTime<Utc>,
    trade_state: &'static str,
    trade_state_desc: String,
    transaction_id: Option<String>,
    bank_type: Option<String>,
    success_time: Option<DateTime<FixedOffset>>,
    openid: String,
    refunded: i64,
}

#[derive(Clone)]
struct RefundRecord {
    request: Value,
    refund_id: String,
    out_refund_no: String,
    out_trade_no: String,
    transaction_id: String,
    refund: i64,
    total: i64,
    status: &'static str,
    created_at: DateTime<FixedOffset>,
    success_time: Option<DateTime<FixedOffset>>,
}

#[derive(Clone, Serialize)]
struct Delivery {
    event_id: String,
    event_type: String,
    out_trade_no: String,
    out_refund_no: Option<String>,
    notify_url: String,
    /// 1 for the first delivery of this copy, 2 for its first retry, …
    attempt: u32,
    /// Which of the `notify` copies this is (1-based).
    copy: u32,
    at: String,
    /// The merchant's HTTP status, or null when it did not answer.
    status: Option<u16>,
    error: Option<String>,
}

/// Beijing time, the gateway's zone.
const BEIJING: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
    Some(offset) => offset,
    None => panic!("UTC+8 is a valid offset"),
};

fn beijing() -> FixedOffset {
    BEIJING
}

fn now_beijing() -> DateTime<FixedOffset> {
    Utc::now().with_timezone(&beijing())
}

fn random_digits(n: usize) -> String {
    use rand::Rng as _;
    let mut rng = rand::thread_rng();
    (0..n)
        .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
        .collect()
}

fn valid_out_trade_no(s: &str) -> bool {
    (6..=32).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_*-".contains(&b))
}

impl Order {
    fn transaction(&self, mchid: &str) -> Value {
        let mut t = json!({
            "appid": self.appid,
            "mchid": mchid,
            "out_trade_no": self.out_trade_no,
            "trade_type": "APP",
            "trade_state": self.trade_state,
            "trade_state_desc": self.trade_state_desc,
            "attach": "",
            "amount": {"total": self.total, "currency": "CNY", "payer_currency": "CNY"},
        });
        if let Some(id) = &self.transaction_id {
            t["transaction_id"] = json!(id);
            t["payer"] = json!({ "openid": self.openid });
        }
        if let Some(bank) = &self.bank_type {
            t["bank_type"] = json!(bank);
        }
        if let Some(at) = &self.success_time {
            t["success_time"] = json!(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, false));
            t["amount"]["payer_total"] = json!(self.total);
        }
        t
    }
}

impl RefundRecord {
    fn resource(&self) -> Value {
        let mut r = json!({
            "refund_id": self.refund_id,
            "out_refund_no": self.out_refund_no,
            "transaction_id": self.transaction_id,
            "out_trade_no": self.out_trade_no,
            "channel": "ORIGINAL",
            "user_received_account": "招商银行信用卡0403",
            "create_time": self.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
            "status": self.status,
            "funds_account": "AVAILABLE",
            "amount": {
                "total": self.total, "refund": self.refund,
                "payer_total": self.total, "payer_refund": self.refund,
                "settlement_total": self.total, "settlement_refund": self.refund,
                "discount_refund": 0, "currency": "CNY",
            },
        });
        if let Some(at) = &self.success_time {
            r["success_time"] = json!(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, false));
        }
        r
    }
}

// ---------------------------------------------------------------------------------------------
// Protocol routes

#[derive(Deserialize)]
struct CreateOrder {
    appid: String,
    mchid: String,
    description: String,
    out_trade_no: String,
    time_expire: Option<String>,
    notify_url: String,
    amount: AmountIn,
}

#[derive(Deserialize)]
struct AmountIn {
    total: i64,
    currency: Option<String>,
}

async fn create_order(req: HttpRequest, body: web::Bytes, s: web::Data<Shared>) -> HttpResponse {
    let (raw, order) = match s.signed_request::<CreateOrder>(&req, &body) {
        Ok(parsed) => parsed,
        Err(refused) => return refused,
    };
    if order.mchid != s.config.mchid || order.appid != s.config.appid {
        return s.error(
            StatusCode::BAD_REQUEST,
            "APPID_MCHID_NOT_MATCH",
            "appid和mch_id不匹配",
        );
    }
    if !valid_out_trade_no(&order.out_trade_no) {
        return s.error(
            StatusCode::BAD_REQUEST,
            "PARAM_ERROR",
            "out_trade_no 应为6-32位字母、数字、_-*",
        );
    }
    if order.amount.total <= 0
        || order.amount.currency.as_deref().is_some_and(|c| c != "CNY")
        || order.description.trim().is_empty()
        || !(order.notify_url.starts_with("http://") || order.notify_url.starts_with("https://"))
    {
        return s.error(StatusCode::BAD_REQUEST, "PARAM_ERROR", "参数错误");
    }
    if let Some(expire) = &order.time_expire {
        if DateTime::parse_from_rfc3339(expire).is_err() {
            return s.error(
                StatusCode::BAD_REQUEST,
                "PARAM_ERROR",
                "time_expire 应为 RFC 3339 格式",
            );
        }
    }
    let mut store = s.store();
    if let Some(existing) = store.orders.get(&order.out_trade_no) {
        if existing.request == raw {
            let prepay_id = existing.prepay_id.clone();
            drop(store);
            return s.signed(StatusCode::OK, Some(&json!({ "prepay_id": prepay_id })));
        }
        drop(store);
        return s.error(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            "201 商户订单号重复",
        );
    }
    let prepay_id = format!("wx{}", uuid::Uuid::new_v4().simple());
    store.order_list.push(order.out_trade_no.clone());
    store.orders.insert(
        order.out_trade_no.clone(),
        Order {
            request: raw,
            appid: order.appid,
            description: order.description,
            out_trade_no: order.out_trade_no,
            time_expire: order.time_expire,
            notify_url: order.notify_url,
            total: order.amount.total,
            prepay_id: prepay_id.clone(),
            created_at: Utc::now(),
            trade_state: "NOTPAY",
            trade_state_desc: "订单未支付".to_owned(),
            transaction_id: None,
            bank_type: None,
            success_time: None,
            openid: format!("oUpF8u{}", &uuid::Uuid::new_v4().simple().to_string()[..22]),
            refunded: 0,
        },
    );
    drop(store);
    s.signed(StatusCode::OK, Some(&json!({ "prepay_id": prepay_id })))
}

#[derive(Deserialize)]
struct MchidQuery {
    mchid: Option<String>,
}

async fn query_order(
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<MchidQuery>,
    s: web::Data<Shared>,
) -> HttpResponse {
    if let Some(refused) = s.refuse_unsigned(&req, b"") {
        return refused;
    }
    if query.mchid.as_deref() != Some(s.config.mchid.as_str()) {
        return s.error(StatusCode::BAD_REQUEST, "PARAM_ERROR", "mchid 参数错误");
    }
    let found = s.store().orders.get(path.as_str()).cloned();
    match found {
        Some(order) => s.signed(StatusCode::OK, Some(&order.transaction(&s.config.mchid))),
        None => s.error(StatusCode::NOT_FOUND, "ORDERNOTEXIST", "订单不存在"),
    }
}

#[derive(Deserialize)]
struct CloseBody {
    mchid: String,
}

async fn close_order(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    s: web::Data<Shared>,
) -> HttpResponse {
    if let Some(refused) = s.refuse_unsigned(&req, &body) {
        return refused;
    }
    match serde_json::from_slice::<CloseBody>(&body) {
        Ok(close) if close.mchid == s.config.mchid => {}
        _ => return s.error(StatusCode::BAD_REQUEST, "PARAM_ERROR", "mchid 参数错误"),
    }
    let mut store = s.store();
    let Some(order) = store.orders.get_mut(path.as_str()) else {
        drop(store);
        return s.error(StatusCode::NOT_FOUND, "ORDERNOTEXIST", "订单不存在");
    };
    if matches!(order.trade_state, "SUCCESS" | "REFUND") {
        drop(store);
        return s.error(StatusCode::BAD_REQUEST, "ORDERPAID", "订单已支付");
    }
    order.trade_state = "CLOSED";
    order.trade_state_desc = "订单已关闭".to_owned();
    drop(store);
    s.signed(StatusCode::NO_CONTENT, None)
}

#[derive(Deserialize)]
struct CreateRefund {
    out_trade_no: String,
    out_refund_no: String,
    #[serde(default)]
    notify_url: Option<String>,
    amount: RefundAmountIn,
}

#[derive(Deserialize)]
struct RefundAmountIn {
    refund: i64,
    total: i64,
    currency: String,
}

async fn create_refund(req: HttpRequest, body: web::Bytes, s: web::Data<Shared>) -> HttpResponse {
    let (raw, request) = match s.signed_request::<CreateRefund>(&req, &body) {
        Ok(parsed) => parsed,
        Err(refused) => return refused,
    };
    let mut store = s.store();
    if let Some(existing) = store.refunds.get(&request.out_refund_no) {
        let answer = (existing.request == raw).then(|| existing.resource());
        drop(store);
        return match answer {
            Some(resource) => s.signed(StatusCode::OK, Some(&resource)),
            None => s.error(
                StatusCode::BAD_REQUEST,
                "INVALID_REQUEST",
                "商户退款单号重复",
            ),
        };
    }
    let Some(order) = store.orders.get_mut(&request.out_trade_no) else {
        drop(store);
        return s.error(StatusCode::NOT_FOUND, "RESOURCE_NOT_EXISTS", "订单不存在");
    };
    if !matches!(order.trade_state, "SUCCESS" | "REFUND") {
        drop(store);
        return s.error(StatusCode::BAD_REQUEST, "INVALID_REQUEST", "订单未支付");
    }
    if request.amount.currency != "CNY"
        || request.amount.total != order.total
        || request.amount.refund <= 0
    {
        drop(store);
        return s.error(StatusCode::BAD_REQUEST, "PARAM_ERROR", "退款金额参数错误");
    }
    if order.refunded + request.amount.refund > order.total {
        drop(store);
        return s.error(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            "申请退款金额超过订单可退金额",
        );
    }
    order.refunded += request.amount.refund;
    order.trade_state = "REFUND";
    order.trade_state_desc = "转入退款".to_owned();
    let now = now_beijing();
    let record = RefundRecord {
        request: raw,
        refund_id: format!("50000{}", random_digits(27)),
        out_refund_no: request.out_refund_no.clone(),
        out_trade_no: order.out_trade_no.clone(),
        transaction_id: order.transaction_id.clone().unwrap_or_default(),
        refund: request.amount.refund,
        total: order.total,
        status: "SUCCESS",
        created_at: now,
        success_time: Some(now),
    };
    store.refund_list.push(record.out_refund_no.clone());
    store
        .refunds
        .insert(record.out_refund_no.clone(), record.clone());
    drop(store);
    if let Some(url) = request.notify_url.filter(|u| !u.trim().is_empty()) {
        let resource = json!({
            "mchid": s.config.mchid,
            "out_trade_no": record.out_trade_no,
            "transaction_id": record.transaction_id,
            "out_refund_no": record.out_refund_no,
            "refund_id": record.refund_id,
            "refund_status": record.status,
            "success_time": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
            "user_received_account": "招商银行信用卡0403",
            "amount": {"total": record.total, "refund": record.refund,
                       "payer_total": record.total, "payer_refund": record.refund},
        });
        notify(
            &s,
            url,
            "REFUND.SUCCESS",
            "退款成功",
            "refund",
            resource,
            record.out_trade_no.clone(),
            Some(record.out_refund_no.clone()),
            1,
        );
    }
    s.signed(StatusCode::OK, Some(&record.resource()))
}

async fn query_refund(
    req: HttpRequest,
    path: web::Path<String>,
    s: web::Data<Shared>,
) -> HttpResponse {
    if let Some(refused) = s.refuse_unsigned(&req, b"") {
        return refused;
    }
    let found = s.store().refunds.get(path.as_str()).cloned();
    match found {
        Some(refund) => s.signed(StatusCode::OK, Some(&refund.resource())),
        None => s.error(StatusCode::NOT_FOUND, "RESOURCE_NOT_EXISTS", "退款单不存在"),
    }
}

#[derive(Deserialize)]
struct BillQuery {
    bill_date: String,
    bill_type: Option<String>,
}

async fn trade_bill(
    req: HttpRequest,
    query: web::Query<BillQuery>,
    s: web::Data<Shared>,
) -> HttpResponse {
    if let Some(refused) = s.refuse_unsigned(&req, b"") {
        return refused;
    }
    let Ok(date) = NaiveDate::parse_from_str(&query.bill_date, "%Y-%m-%d") else {
        return s.error(
            StatusCode::BAD_REQUEST,
            "PARAM_ERROR",
            "bill_date 应为 YYYY-MM-DD",
        );
    };
    if !matches!(
        query.bill_type.as_deref(),
        None | Some("ALL" | "SUCCESS" | "REFUND")
    ) {
        return s.error(StatusCode::BAD_REQUEST, "PARAM_ERROR", "bill_type 参数错误");
    }
    if date > now_beijing().date_naive() {
        return s.error(
            StatusCode::BAD_REQUEST,
            "NO_STATEMENT_EXIST",
            "账单日期不能晚于今天",
        );
    }
    let file = {
        let store = s.store();
        bill_csv(&store, date, &s.config.appid, &s.config.mchid)
    };
    let hash_value = crypto::sha1_hex(&file);
    let token = uuid::Uuid::new_v4().simple().to_string();
    s.store().bills.insert(token.clone(), file);
    s.signed(
        StatusCode::OK,
        Some(&json!({
            "download_url": format!("{}/v3/billdownload/file?token={token}", s.base_url),
            "hash_type": "SHA1",
            "hash_value": hash_value,
        })),
    )
}

async fn download_bill(
    req: HttpRequest,
    query: web::Query<HashMap<String, String>>,
    s: web::Data<Shared>,
) -> HttpResponse {
    if let Some(refused) = s.refuse_unsigned(&req, b"") {
        return refused;
    }
    let file = query
        .get("token")
        .and_then(|token| s.store().bills.get(token).cloned());
    match file {
        // The real gateway does not sign the file; its hash is in the signed tradebill answer.
        Some(file) => HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body(file),
        None => s.error(StatusCode::NOT_FOUND, "RESOURCE_NOT_EXISTS", "账单不存在"),
    }
}

/// Yuan with two decimals (the bill's amounts).
fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

const BILL_HEADER: [&str; 27] = [
    "交易时间",
    "公众账号ID",
    "商户号",
    "特约商户号",
    "设备号",
    "微信订单号",
    "商户订单号",
    "用户标识",
    "交易类型",
    "交易状态",
    "付款银行",
    "货币种类",
    "应结订单金额",
    "代金券金额",
    "微信退款单号",
    "商户退款单号",
    "退款金额",
    "充值券退款金额",
    "退款类型",
    "退款状态",
    "商品名称",
    "商户数据包",
    "手续费",
    "费率",
    "订单金额",
    "申请退款金额",
    "费率备注",
];

const BILL_SUMMARY_HEADER: [&str; 7] = [
    "总交易单数",
    "应结订单总金额",
    "退款总金额",
    "充值券退款总金额",
    "手续费总金额",
    "订单总金额",
    "申请退款总金额",
];

/// The day's bill (Beijing dates): every payment that succeeded that day and every refund made
/// that day, oldest first, then the summary.
fn bill_csv(store: &Store, date: NaiveDate, appid: &str, mchid: &str) -> Vec<u8> {
    let mut lines: Vec<(DateTime<FixedOffset>, Vec<String>)> = Vec::new();
    let (mut total, mut refunds) = (0i64, 0i64);
    for order in store.order_list.iter().filter_map(|k| store.orders.get(k)) {
        let Some(at) = order.success_time.filter(|t| t.date_naive() == date) else {
            continue;
        };
        total += order.total;
        lines.push((
            at,
            vec![
                at.format("%Y-%m-%d %H:%M:%S").to_string(),
                appid.to_owned(),
                mchid.to_owned(),
                "0".to_owned(),
                String::new(),
                order.transaction_id.clone().unwrap_or_default(),
                order.out_trade_no.clone(),
                order.openid.clone(),
                "APP".to_owned(),
                "SUCCESS".to_owned(),
                order.bank_type.clone().unwrap_or_default(),
                "CNY".to_owned(),
                yuan(order.total),
                "0.00".to_owned(),
                "0".to_owned(),
                "0".to_owned(),
                "0.00".to_owned(),
                "0.00".to_owned(),
                String::new(),
                String::new(),
                order.description.clone(),
                String::new(),
                "0.00".to_owned(),
                "0.00%".to_owned(),
                yuan(order.total),
                "0.00".to_owned(),
                String::new(),
            ],
        ));
    }
    for refund in store
        .refund_list
        .iter()
        .filter_map(|k| store.refunds.get(k))
    {
        if refund.created_at.date_naive() != date {
            continue;
        }
        let order = store.orders.get(&refund.out_trade_no);
        refunds += refund.refund;
        lines.push((
            refund.created_at,
            vec![
                refund.created_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                appid.to_owned(),
                mchid.to_owned(),
                "0".to_owned(),
                String::new(),
                refund.transaction_id.clone(),
                refund.out_trade_no.clone(),
                order.map(|o| o.openid.clone()).unwrap_or_default(),
                "APP".to_owned(),
                "REFUND".to_owned(),
                order.and_then(|o| o.bank_type.clone()).unwrap_or_default(),
                "CNY".to_owned(),
                "0.00".to_owned(),
                "0.00".to_owned(),
                refund.refund_id.clone(),
                refund.out_refund_no.clone(),
                yuan(refund.refund),
                "0.00".to_owned(),
                "ORIGINAL".to_owned(),
                refund.status.to_owned(),
                order.map(|o| o.description.clone()).unwrap_or_default(),
                String::new(),
                "0.00".to_owned(),
                "0.00%".to_owned(),
                "0.00".to_owned(),
                yuan(refund.refund),
                String::new(),
            ],
        ));
    }
    lines.sort_by_key(|(at, _)| *at);
    let mut writer = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    // Writing to a Vec cannot fail; the results are checked all the same.
    let mut ok = writer.write_record(BILL_HEADER).is_ok();
    for (_, fields) in &lines {
        ok &= writer
            .write_record(fields.iter().map(|f| format!("`{f}")))
            .is_ok();
    }
    ok &= writer.write_record(BILL_SUMMARY_HEADER).is_ok();
    let summary = [
        lines.len().to_string(),
        yuan(total),
        yuan(refunds),
        "0.00".to_owned(),
        "0.00".to_owned(),
        yuan(total),
        yuan(refunds),
    ];
    ok &= writer
        .write_record(summary.iter().map(|f| format!("`{f}")))
        .is_ok();
    if !ok {
        tracing::error!("pay stand-in: could not write a bill");
    }
    writer.into_inner().unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Transfers (商家转账): the merchant pays a person's bank card or wallet

#[derive(Clone)]
struct TransferRecord {
    request: Value,
    out_bill_no: String,
    transfer_bill_no: String,
    appid: String,
    amount: i64,
    remark: String,
    scene: String,
    payee_masked: String,
    state: &'static str,
    fail_reason: Option<String>,
    created_at: DateTime<FixedOffset>,
    updated_at: DateTime<FixedOffset>,
}

impl TransferRecord {
    /// The bill as a query answers it (and as a notification's resource carries it).
    fn bill(&self, mchid: &str) -> Value {
        let mut b = json!({
            "mch_id": mchid,
            "appid": self.appid,
            "out_bill_no": self.out_bill_no,
            "transfer_bill_no": self.transfer_bill_no,
            "state": self.state,
            "transfer_amount": self.amount,
            "transfer_remark": self.remark,
            "create_time": self.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
            "update_time": self.updated_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
        });
        if let Some(reason) = &self.fail_reason {
            b["fail_reason"] = json!(reason);
        }
        b
    }
}

/// The failure reasons a closed destination can be given.
const TRANSFER_FAILURES: [&str; 3] = ["ACCOUNT_NOT_EXIST", "ACCOUNT_FROZEN", "NAME_NOT_CORRECT"];

#[derive(Deserialize)]
struct Payee {
    #[serde(rename = "type")]
    kind: String,
    institution: String,
    account_no: String,
}

impl Payee {
    fn key(&self) -> String {
        format!("{}:{}:{}", self.kind, self.institution, self.account_no)
    }

    fn masked(&self) -> String {
        let n = &self.account_no;
        let tail = &n[n.len().saturating_sub(4)..];
        format!("{} {} ****{tail}", self.kind, self.institution)
    }

    fn valid(&self) -> bool {
        matches!(self.kind.as_str(), "BANK_CARD" | "WALLET")
            && !self.institution.trim().is_empty()
            && (8..=64).contains(&self.account_no.len())
    }
}

#[derive(Deserialize)]
struct CreateTransfer {
    appid: String,
    out_bill_no: String,
    transfer_scene_id: String,
    transfer_amount: i64,
    transfer_remark: String,
    notify_url: Option<String>,
    payee: Payee,
}

/// Creates a transfer bill and carries it out at once: `SUCCESS`, or `FAIL` with the reason
/// its destination was closed with. The answer is the bill as accepted (`ACCEPTED`); the
/// outcome comes by query and by a `MCHTRANSFER.BILL.FINISHED` notification. The same
/// `out_bill_no` with the same body answers the same bill as it stands; another body is
/// `400 INVALID_REQUEST`.
async fn create_transfer(req: HttpRequest, body: web::Bytes, s: web::Data<Shared>) -> HttpResponse {
    let (raw, t) = match s.signed_request::<CreateTransfer>(&req, &body) {
        Ok(parsed) => parsed,
        Err(refused) => return refused,
    };
    if t.appid != s.config.appid {
        return s.error(
            StatusCode::BAD_REQUEST,
            "APPID_MCHID_NOT_MATCH",
            "appid和mch_id不匹配",
        );
    }
    if !valid_out_trade_no(&t.out_bill_no)
        || t.transfer_amount <= 0
        || t.transfer_scene_id.trim().is_empty()
        || t.transfer_remark.trim().is_empty()
        || !t.payee.valid()
    {
        return s.error(StatusCode::BAD_REQUEST, "PARAM_ERROR", "参数错误");
    }
    let mut store = s.store();
    let lose = store.lose_transfer_answers > 0;
    if lose {
        store.lose_transfer_answers -= 1;
    }
    if let Some(existing) = store.transfers.get(&t.out_bill_no) {
        let same = existing.request == raw;
        let answer = json!({
            "out_bill_no": existing.out_bill_no,
            "transfer_bill_no": existing.transfer_bill_no,
            "create_time": existing.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
            "state": existing.state,
        });
        drop(store);
        if lose {
            return s.error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "SYSTEM_ERROR",
                "系统错误",
            );
        }
        return if same {
            s.signed(StatusCode::OK, Some(&answer))
        } else {
            s.error(StatusCode::BAD_REQUEST, "INVALID_REQUEST", "商户单号重复")
        };
    }
    let now = now_beijing();
    let fail_reason = store.closed_destinations.get(&t.payee.key()).cloned();
    let record = TransferRecord {
        request: raw,
        out_bill_no: t.out_bill_no.clone(),
        transfer_bill_no: format!("1330000{}", random_digits(20)),
        appid: t.appid,
        amount: t.transfer_amount,
        remark: t.transfer_remark,
        scene: t.transfer_scene_id,
        payee_masked: t.payee.masked(),
        state: if fail_reason.is_some() {
            "FAIL"
        } else {
            "SUCCESS"
        },
        fail_reason,
        created_at: now,
        updated_at: now,
    };
    store.transfer_list.push(record.out_bill_no.clone());
    store
        .transfers
        .insert(record.out_bill_no.clone(), record.clone());
    drop(store);
    // A lost answer loses the notification too: only a query finds the outcome.
    if let Some(url) = t.notify_url.filter(|u| !lose && !u.trim().is_empty()) {
        notify(
            &s,
            url,
            "MCHTRANSFER.BILL.FINISHED",
            "商家转账单据终态通知",
            "mch_payment",
            record.bill(&s.config.mchid),
            record.out_bill_no.clone(),
            None,
            1,
        );
    }
    if lose {
        return s.error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "SYSTEM_ERROR",
            "系统错误",
        );
    }
    s.signed(
        StatusCode::OK,
        Some(&json!({
            "out_bill_no": record.out_bill_no,
            "transfer_bill_no": record.transfer_bill_no,
            "create_time": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
            "state": "ACCEPTED",
        })),
    )
}

async fn query_transfer(
    req: HttpRequest,
    path: web::Path<String>,
    s: web::Data<Shared>,
) -> HttpResponse {
    if let Some(refused) = s.refuse_unsigned(&req, b"") {
        return refused;
    }
    let found = s.store().transfers.get(path.as_str()).cloned();
    match found {
        Some(t) => s.signed(StatusCode::OK, Some(&t.bill(&s.config.mchid))),
        None => s.error(StatusCode::NOT_FOUND, "NOT_FOUND", "记录不存在"),
    }
}

async fn control_transfers(s: web::Data<Shared>) -> HttpResponse {
    let store = s.store();
    let transfers: Vec<Value> = store
        .transfer_list
        .iter()
        .filter_map(|k| store.transfers.get(k))
        .map(|t| {
            let mut b = t.bill(&s.config.mchid);
            b["transfer_scene_id"] = json!(t.scene);
            b["payee"] = json!(t.payee_masked);
            b
        })
        .collect();
    HttpResponse::Ok().json(json!({ "transfers": transfers }))
}

#[derive(Deserialize)]
struct LoseAnswers {
    times: u32,
}

async fn control_lose_answers(body: web::Bytes, s: web::Data<Shared>) -> HttpResponse {
    match serde_json::from_slice::<LoseAnswers>(&body) {
        Ok(l) => {
            s.store().lose_transfer_answers = l.times;
            HttpResponse::Ok().json(json!({ "times": l.times }))
        }
        Err(e) => control_error(
            StatusCode::BAD_REQUEST,
            format!("expected {{\"times\": 3}}: {e}"),
        ),
    }
}

#[derive(Deserialize)]
struct DestinationControl {
    #[serde(flatten)]
    payee: Payee,
    #[serde(default)]
    reason: Option<String>,
}

/// Closes a destination: transfers to it from now on end `FAIL` with `reason` (default
/// `ACCOUNT_FROZEN`, a closed account).
async fn control_close_destination(body: web::Bytes, s: web::Data<Shared>) -> HttpResponse {
    let d: DestinationControl = match serde_json::from_slice(&body) {
        Ok(d) => d,
        Err(e) => {
            return control_error(
                StatusCode::BAD_REQUEST,
                format!("expected {{\"type\": \"WALLET\", \"institution\": \"ecny\", \"account_no\": \"…\", \"reason\": \"ACCOUNT_FROZEN\"}}: {e}"),
            )
        }
    };
    let reason = d.reason.unwrap_or_else(|| "ACCOUNT_FROZEN".to_owned());
    if !TRANSFER_FAILURES.contains(&reason.as_str()) {
        return control_error(
            StatusCode::BAD_REQUEST,
            format!("reason must be one of {}", TRANSFER_FAILURES.join(", ")),
        );
    }
    s.store()
        .closed_destinations
        .insert(d.payee.key(), reason.clone());
    HttpResponse::Ok().json(json!({ "closed": d.payee.masked(), "reason": reason }))
}

async fn control_reopen_destination(body: web::Bytes, s: web::Data<Shared>) -> HttpResponse {
    let d: DestinationControl = match serde_json::from_slice(&body) {
        Ok(d) => d,
        Err(e) => return control_error(StatusCode::BAD_REQUEST, format!("{e}")),
    };
    let was = s
        .store()
        .closed_destinations
        .remove(&d.payee.key())
        .is_some();
    HttpResponse::Ok().json(json!({ "reopened": was }))
}

// ---------------------------------------------------------------------------------------------
// Notifications

#[allow(clippy::too_many_arguments)]
fn notify(
    s: &web::Data<Shared>,
    url: String,
    event_type: &'static str,
    summary: &'static str,
    original_type: &'static str,
    resource: Value,
    out_trade_no: String,
    out_refund_no: Option<String>,
    copies: u32,
) {
    if copies == 0 {
        return;
    }
    let nonce = crypto::resource_nonce();
    let ciphertext = match s.config.keys.apiv3_key.encrypt(
        &nonce,
        original_type,
        resource.to_string().as_bytes(),
    ) {
        Ok(c) => c,
        Err(error) => {
            tracing::error!(%error, "pay stand-in: cannot encrypt a notification");
            return;
        }
    };
    let event_id = format!("EV-{}", random_digits(20));
    let body = json!({
        "id": event_id,
        "create_time": now_beijing().to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
        "resource_type": "encrypt-resource",
        "event_type": event_type,
        "summary": summary,
        "resource": {
            "original_type": original_type,
            "algorithm": crypto::AEAD_ALGORITHM,
            "ciphertext": ciphertext,
            "associated_data": original_type,
            "nonce": nonce,
        },
    })
    .to_string();
    for copy in 1..=copies {
        let shared = s.clone();
        let delivery = Delivery {
            event_id: event_id.clone(),
            event_type: event_type.to_owned(),
            out_trade_no: out_trade_no.clone(),
            out_refund_no: out_refund_no.clone(),
            notify_url: url.clone(),
            attempt: 0,
            copy,
            at: String::new(),
            status: None,
            error: None,
        };
        let body = body.clone();
        s.runtime
            .spawn(async move { deliver(shared, delivery, body).await });
    }
}

/// Delivers one copy of a notification, retrying after the configured delays until the
/// merchant answers 200 or 204.
async fn deliver(s: web::Data<Shared>, template: Delivery, body: String) {
    let delays = s.config.notify_retry_delays.clone();
    for attempt in 1..=(delays.len() + 1) {
        let timestamp = s.now_secs() + s.config.signature_clock_offset_secs;
        let mut request = s
            .notifier
            .post(&template.notify_url)
            .header("Content-Type", "application/json")
            .body(body.clone());
        if let Ok(signature) = PlatformSignature::sign(
            &s.platform_key,
            &s.config.keys.platform_serial,
            timestamp,
            body.as_bytes(),
        ) {
            for (name, value) in signature.headers() {
                request = request.header(name, value);
            }
        }
        let (status, error) = match request.send().await {
            Ok(response) => (Some(response.status().as_u16()), None),
            Err(e) => (None, Some(e.to_string())),
        };
        let delivered = matches!(status, Some(200 | 204));
        s.store().deliveries.push(Delivery {
            attempt: u32::try_from(attempt).unwrap_or(u32::MAX),
            at: now_beijing().to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
            status,
            error,
            ..template.clone()
        });
        if delivered {
            return;
        }
        match delays.get(attempt - 1) {
            Some(delay) => tokio::time::sleep(*delay).await,
            None => {
                tracing::warn!(event_id = %template.event_id, "pay stand-in: notification never accepted; giving up");
                return;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Control routes

/// A failure outcome and the `trade_state_desc` the gateway reports for it.
const FAILURES: [(&str, &str); 6] = [
    ("NOTENOUGH", "用户账户余额不足"),
    ("CARD_FROZEN", "银行卡已冻结，请联系发卡行"),
    ("EXCEED_LIMIT", "超出单笔支付限额"),
    ("CARD_EXPIRED", "银行卡已过期"),
    ("BANK_ERROR", "银行系统异常"),
    ("PAYERROR", "支付失败，请稍后重试"),
];

#[derive(Deserialize)]
struct PayRequest {
    #[serde(default = "default_outcome")]
    outcome: String,
    #[serde(default = "default_notify")]
    notify: u32,
}

fn default_outcome() -> String {
    "SUCCESS".to_owned()
}

fn default_notify() -> u32 {
    1
}

fn control_error(status: StatusCode, message: String) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "error": message }))
}

/// Accepts the JSON with or without a `Content-Type`, so a bare `curl -d` works.
async fn control_pay(
    path: web::Path<String>,
    body: web::Bytes,
    s: web::Data<Shared>,
) -> HttpResponse {
    let request: PayRequest = if body.iter().all(u8::is_ascii_whitespace) {
        PayRequest {
            outcome: default_outcome(),
            notify: default_notify(),
        }
    } else {
        match serde_json::from_slice(&body) {
            Ok(r) => r,
            Err(e) => {
                return control_error(
                    StatusCode::BAD_REQUEST,
                    format!("expected {{\"outcome\": \"SUCCESS\", \"notify\": 1}}: {e}"),
                )
            }
        }
    };
    let failure = if request.outcome == "SUCCESS" {
        None
    } else {
        match FAILURES.iter().find(|(code, _)| *code == request.outcome) {
            Some((_, desc)) => Some(*desc),
            None => {
                let known: Vec<&str> = FAILURES.iter().map(|(c, _)| *c).collect();
                return control_error(
                    StatusCode::BAD_REQUEST,
                    format!("outcome must be SUCCESS or one of {}", known.join(", ")),
                );
            }
        }
    };
    let mut store = s.store();
    let Some(order) = store.orders.get_mut(path.as_str()) else {
        return control_error(StatusCode::NOT_FOUND, "no such order".to_owned());
    };
    match order.trade_state {
        "SUCCESS" | "REFUND" => {
            return control_error(StatusCode::CONFLICT, "the order is already paid".into())
        }
        "CLOSED" => return control_error(StatusCode::CONFLICT, "the order is closed".into()),
        _ => {}
    }
    match failure {
        Some(desc) => {
            order.trade_state = "PAYERROR";
            order.trade_state_desc = desc.to_owned();
        }
        None => {
            order.trade_state = "SUCCESS";
            order.trade_state_desc = "支付成功".to_owned();
            order.transaction_id = Some(format!("4200{}", random_digits(24)));
            order.bank_type = Some("CMB_DEBIT".to_owned());
            order.success_time = Some(now_beijing());
        }
    }
    let transaction = order.transaction(&s.config.mchid);
    let (url, out_trade_no) = (order.notify_url.clone(), order.out_trade_no.clone());
    drop(store);
    if failure.is_none() {
        notify(
            &s,
            url,
            "TRANSACTION.SUCCESS",
            "支付成功",
            "transaction",
            transaction.clone(),
            out_trade_no,
            None,
            request.notify,
        );
    }
    HttpResponse::Ok().json(transaction)
}

async fn control_orders(s: web::Data<Shared>) -> HttpResponse {
    let store = s.store();
    let orders: Vec<Value> = store
        .order_list
        .iter()
        .filter_map(|k| store.orders.get(k))
        .map(|order| {
            let mut t = order.transaction(&s.config.mchid);
            t["description"] = json!(order.description);
            t["prepay_id"] = json!(order.prepay_id);
            t["time_expire"] = json!(order.time_expire);
            t["notify_url"] = json!(order.notify_url);
            t["created_at"] = json!(order
                .created_at
                .with_timezone(&beijing())
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, false));
            t["refunds"] = json!(store
                .refund_list
                .iter()
                .filter_map(|r| store.refunds.get(r))
                .filter(|r| r.out_trade_no == order.out_trade_no)
                .map(RefundRecord::resource)
                .collect::<Vec<_>>());
            t
        })
        .collect();
    HttpResponse::Ok().json(json!({ "orders": orders }))
}

async fn control_notifications(s: web::Data<Shared>) -> HttpResponse {
    let deliveries = s.store().deliveries.clone();
    HttpResponse::Ok().json(json!({ "notifications": deliveries }))
}

async fn control_keys(s: web::Data<Shared>) -> HttpResponse {
    let keys = &s.config.keys;
    HttpResponse::Ok().json(json!({
        "mchid": s.config.mchid,
        "appid": s.config.appid,
        "platform": {"serial": keys.platform_serial, "public_key": keys.platform_public_pem},
        "merchant": {"serial": keys.merchant_serial, "public_key": keys.merchant_public_pem},
    }))
}

/// The service's `SHEBAO_PAY_*` settings for a stand-in (the APIv3 key included: demo keys
/// only). Taken before the configuration moves into [`PayStandIn::start`].
#[derive(Clone)]
pub struct ServiceSettings {
    lines: Vec<(&'static str, String)>,
}

impl ServiceSettings {
    pub fn of(config: &PayStandInConfig, files: &MerchantFiles) -> ServiceSettings {
        let keys = &config.keys;
        ServiceSettings {
            lines: vec![
                ("SHEBAO_PAY_MCHID", config.mchid.clone()),
                ("SHEBAO_PAY_APPID", config.appid.clone()),
                (
                    "SHEBAO_PAY_MERCHANT_KEY_FILE",
                    files.merchant_key_file.display().to_string(),
                ),
                ("SHEBAO_PAY_MERCHANT_SERIAL", keys.merchant_serial.clone()),
                (
                    "SHEBAO_PAY_PLATFORM_PUBLIC_KEY_FILE",
                    files.platform_public_key_file.display().to_string(),
                ),
                ("SHEBAO_PAY_PLATFORM_SERIAL", keys.platform_serial.clone()),
                ("SHEBAO_PAY_APIV3_KEY", keys.apiv3_key.expose().to_owned()),
            ],
        }
    }

    /// `NAME=value` lines, `SHEBAO_PAY_URL` first.
    pub fn env_lines(&self, base_url: &str) -> String {
        let mut out = format!("SHEBAO_PAY_URL={base_url}\n");
        for (name, value) in &self.lines {
            let _ = writeln!(out, "{name}={value}");
        }
        out
    }
}

impl std::fmt::Debug for ServiceSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServiceSettings(***)")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::OnceLock;

    use super::*;

    fn keys() -> PayKeys {
        static KEYS: OnceLock<PayKeys> = OnceLock::new();
        KEYS.get_or_init(|| PayKeys::generate().unwrap()).clone()
    }

    fn start() -> RunningPayStandIn {
        let mut config = PayStandInConfig::demo_with(keys());
        config.notify_retry_delays = vec![Duration::from_millis(10)];
        PayStandIn::start("127.0.0.1:0", config).unwrap()
    }

    /// A request signed as the merchant, `age_secs` ago, with `serial`.
    async fn signed(
        base: &str,
        method: &str,
        path: &str,
        body: &str,
        age_secs: i64,
        serial: &str,
    ) -> (u16, reqwest::header::HeaderMap, String) {
        let key = SigningKey::from_pkcs8_pem(keys().merchant_private_pem.expose_secret()).unwrap();
        let auth = Authorization::sign(
            &key,
            DEMO_MCHID,
            serial,
            method,
            path,
            Utc::now().timestamp() - age_secs,
            body.as_bytes(),
        )
        .unwrap();
        let client = reqwest::Client::new();
        let request = match method {
            "GET" => client.get(format!("{base}{path}")),
            _ => client.post(format!("{base}{path}")).body(body.to_owned()),
        };
        let response = request
            .header("Authorization", auth.header_value())
            .header("Content-Type", "application/json")
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        (status, headers, response.text().await.unwrap())
    }

    fn create_body(no: &str) -> String {
        json!({
            "appid": DEMO_APPID, "mchid": DEMO_MCHID, "description": "医疗保险",
            "out_trade_no": no, "notify_url": "http://127.0.0.1:9/n",
            "amount": {"total": 12_345, "currency": "CNY"},
        })
        .to_string()
    }

    #[tokio::test]
    async fn requests_must_be_signed_by_the_merchant_recently() {
        let standin = start();
        let base = &standin.base_url;
        let serial = keys().merchant_serial;
        let path = "/v3/pay/transactions/app";
        let (status, headers, _) =
            signed(base, "POST", path, &create_body("SIGNED1"), 0, &serial).await;
        assert_eq!(status, 200);
        // The answer is signed by the platform, and verifies.
        let signature = PlatformSignature::from_headers(|n| {
            headers
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .unwrap();
        assert_eq!(signature.serial, keys().platform_serial);
        assert_eq!(
            headers.get(crypto::HEADER_SIGNATURE_TYPE).unwrap(),
            crypto::SCHEME
        );
        for (age, serial) in [
            (301, serial.as_str()),
            (-301, serial.as_str()),
            (0, "0BADSERIAL"),
        ] {
            let (status, _, body) =
                signed(base, "POST", path, &create_body("SIGNED2"), age, serial).await;
            assert_eq!(status, 401, "age {age}, serial {serial}");
            assert!(body.contains("SIGN_ERROR"), "{body}");
        }
        // Unsigned.
        let response = reqwest::Client::new()
            .post(format!("{base}{path}"))
            .body(create_body("SIGNED3"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 401);
        // A signed query for another merchant.
        let (status, _, _) = signed(
            base,
            "GET",
            "/v3/pay/transactions/out-trade-no/SIGNED1?mchid=1900000002",
            "",
            0,
            &serial,
        )
        .await;
        assert_eq!(
            status, 400,
            "a signed request for another mchid is a PARAM_ERROR"
        );
        standin.stop().await;
    }

    #[tokio::test]
    async fn the_control_api_refuses_what_cannot_happen() {
        let standin = start();
        let base = standin.base_url.clone();
        let serial = keys().merchant_serial;
        let control = |path: &str, body: Value| {
            let url = format!("{base}{path}");
            async move {
                let response = reqwest::Client::new()
                    .post(url)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                (
                    response.status().as_u16(),
                    response.json::<Value>().await.unwrap(),
                )
            }
        };
        let (status, _) = control("/control/orders/NOSUCH1/pay", json!({})).await;
        assert_eq!(status, 404);
        signed(
            &base,
            "POST",
            "/v3/pay/transactions/app",
            &create_body("CTRL01"),
            0,
            &serial,
        )
        .await;
        let (status, body) =
            control("/control/orders/CTRL01/pay", json!({"outcome": "BROKE"})).await;
        assert_eq!(status, 400);
        assert!(body["error"].as_str().unwrap().contains("NOTENOUGH"));
        let (status, body) = control(
            "/control/orders/CTRL01/pay",
            json!({"outcome": "SUCCESS", "notify": 0}),
        )
        .await;
        assert_eq!(
            (status, body["trade_state"].as_str()),
            (200, Some("SUCCESS"))
        );
        let (status, _) = control("/control/orders/CTRL01/pay", json!({})).await;
        assert_eq!(status, 409, "paid twice");
        signed(
            &base,
            "POST",
            "/v3/pay/transactions/app",
            &create_body("CTRL02"),
            0,
            &serial,
        )
        .await;
        let close = json!({"mchid": DEMO_MCHID}).to_string();
        let (status, _, body) = signed(
            &base,
            "POST",
            "/v3/pay/transactions/out-trade-no/CTRL02/close",
            &close,
            0,
            &serial,
        )
        .await;
        assert_eq!((status, body.as_str()), (204, ""));
        let (status, _) = control("/control/orders/CTRL02/pay", json!({})).await;
        assert_eq!(status, 409, "a closed order cannot be paid");
        let orders: Value = reqwest::get(format!("{base}/control/orders"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let states: Vec<&str> = orders["orders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["trade_state"].as_str().unwrap())
            .collect();
        assert_eq!(states, ["SUCCESS", "CLOSED"]);
        standin.stop().await;
    }

    #[tokio::test]
    async fn the_bill_is_the_real_layout_with_its_hash() {
        let standin = start();
        let base = standin.base_url.clone();
        let serial = keys().merchant_serial;
        signed(
            &base,
            "POST",
            "/v3/pay/transactions/app",
            &create_body("BILL01"),
            0,
            &serial,
        )
        .await;
        reqwest::Client::new()
            .post(format!("{base}/control/orders/BILL01/pay"))
            .json(&json!({"notify": 0}))
            .send()
            .await
            .unwrap();
        let today = now_beijing().date_naive();
        let (status, _, body) = signed(
            &base,
            "GET",
            &format!("/v3/bill/tradebill?bill_date={today}&bill_type=ALL"),
            "",
            0,
            &serial,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let link: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(link["hash_type"], "SHA1");
        let url = link["download_url"].as_str().unwrap();
        let path = url.strip_prefix(base.as_str()).unwrap();
        let (status, _, file) = signed(&base, "GET", path, "", 0, &serial).await;
        assert_eq!(status, 200);
        assert_eq!(
            crypto::sha1_hex(file.as_bytes()),
            link["hash_value"].as_str().unwrap()
        );
        let lines: Vec<&str> = file.lines().collect();
        assert_eq!(lines.len(), 4, "{file}");
        assert!(lines[0].starts_with("交易时间,公众账号ID,商户号"));
        assert!(
            lines[1].contains(",`BILL01,")
                && lines[1].contains(",`SUCCESS,")
                && lines[1].contains(",`123.45,")
        );
        assert!(lines[2].starts_with("总交易单数,应结订单总金额,退款总金额"));
        assert!(lines[3].starts_with("`1,`123.45,`0.00,"));
        // Tomorrow has no bill yet.
        let tomorrow = today.succ_opt().unwrap();
        let (status, _, body) = signed(
            &base,
            "GET",
            &format!("/v3/bill/tradebill?bill_date={tomorrow}&bill_type=ALL"),
            "",
            0,
            &serial,
        )
        .await;
        assert_eq!(status, 400);
        assert!(body.contains("NO_STATEMENT_EXIST"));
        standin.stop().await;
    }
}
