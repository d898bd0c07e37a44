//! The payment gateway client: WeChat Pay API v3 as `shared/GATEWAY.md` describes it (or the
//! stand-in in `shebao-standins` speaking it).
//!
//! Every request is signed with the merchant key (`Authorization: WECHATPAY2-SHA256-RSA2048 …`,
//! RSA-SHA256 with `ring`); every answer's `Wechatpay-*` signature is verified with the platform
//! public key before anything in it is believed: an unknown serial, a timestamp more than 5
//! minutes off or a signature that does not verify is [`GatewayError::BadSignature`].
//! Notifications are verified the same way and their resource decrypted with the APIv3 key.
//!
//! Connection failures, timeouts, 429 and 5xx are retried with exponential backoff (200 ms,
//! 400 ms, …) up to `max_attempts`, then reported as [`GatewayError::Unavailable`]: every call
//! ends within about `max_attempts × timeout` plus the pauses. Retrying is safe: creating an
//! order is idempotent by `out_trade_no`, a refund by `out_refund_no`, closing twice is harmless.

use crate::outbound::{chain, describe};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, FixedOffset, NaiveDate};
use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, StatusCode, Url};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{json, Value};
use shebao_domain::money::Fen;
use shebao_domain::payments::{
    AppOrder, GatewayError, GatewayFuture, Notification, NotificationEvent, NotificationResource,
    OutRefundNo, OutTradeNo, PaymentGateway, PrepayId, Refund, RefundRequest, RefundStatus,
    SignedNotification, TradeBill, TradeBillSummary, TradeState, Transaction, TransferBill,
    TransferRequest,
};
use shebao_domain::payouts::{TransferFailReason, TransferState};
use shebao_domain::ports::Clock;
use shebao_security::gateway_crypto::{
    ApiV3Key, Authorization, GatewayCryptoError, PlatformSignature, SigningKey, VerifyingKey,
    AEAD_ALGORITHM,
};

use super::bill;

/// The first pause between two attempts; it doubles after each further failure.
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
/// No pause between attempts is longer than this.
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// The largest answer (a trade bill included) read from the gateway.
const MAX_ANSWER_BYTES: usize = 32 * 1024 * 1024;

/// How to reach the gateway, and the keys to talk to it.
#[derive(Clone)]
pub struct WechatPayConfig {
    /// `https://api.mch.weixin.qq.com`, or the stand-in's `http://127.0.0.1:8082`.
    pub base_url: String,
    pub mchid: String,
    pub appid: String,
    pub merchant_key: Arc<SigningKey>,
    pub merchant_serial: String,
    pub platform_key: VerifyingKey,
    pub platform_serial: String,
    pub apiv3_key: ApiV3Key,
    /// The limit for connecting, and for each whole attempt (request and answer).
    pub timeout: Duration,
    /// Attempts per call, the first included (0 counts as 1).
    pub max_attempts: u32,
    /// Signs requests' timestamps and judges answers' freshness.
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for WechatPayConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WechatPayConfig")
            .field("base_url", &self.base_url)
            .field("mchid", &self.mchid)
            .field("appid", &self.appid)
            .field("merchant_key", &"***")
            .field("merchant_serial", &self.merchant_serial)
            .field("platform_serial", &self.platform_serial)
            .field("apiv3_key", &"***")
            .field("timeout", &self.timeout)
            .field("max_attempts", &self.max_attempts)
            .finish()
    }
}

/// The key material, as text.
pub struct WechatPayKeys<'a> {
    /// PKCS#8 PEM.
    pub merchant_key_pem: &'a str,
    pub merchant_serial: &'a str,
    /// SPKI PEM.
    pub platform_public_key_pem: &'a str,
    pub platform_serial: &'a str,
    /// 32 bytes.
    pub apiv3_key: SecretString,
}

impl WechatPayConfig {
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
    pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;

    /// A configuration with the default timeout (5 s) and attempts (3).
    pub fn new(
        base_url: &str,
        mchid: &str,
        appid: &str,
        keys: WechatPayKeys<'_>,
        clock: Arc<dyn Clock>,
    ) -> Result<WechatPayConfig, GatewayCryptoError> {
        Ok(WechatPayConfig {
            base_url: base_url.trim().trim_end_matches('/').to_owned(),
            mchid: mchid.trim().to_owned(),
            appid: appid.trim().to_owned(),
            merchant_key: Arc::new(SigningKey::from_pkcs8_pem(keys.merchant_key_pem)?),
            merchant_serial: keys.merchant_serial.trim().to_owned(),
            platform_key: VerifyingKey::from_spki_pem(keys.platform_public_key_pem)?,
            platform_serial: keys.platform_serial.trim().to_owned(),
            apiv3_key: ApiV3Key::new(keys.apiv3_key)?,
            timeout: Self::DEFAULT_TIMEOUT,
            max_attempts: Self::DEFAULT_MAX_ATTEMPTS,
            clock,
        })
    }

    /// Like [`WechatPayConfig::new`], the two keys read from PEM files.
    #[allow(clippy::too_many_arguments)]
    pub fn from_files(
        base_url: &str,
        mchid: &str,
        appid: &str,
        merchant_key_file: &Path,
        merchant_serial: &str,
        platform_public_key_file: &Path,
        platform_serial: &str,
        apiv3_key: SecretString,
        clock: Arc<dyn Clock>,
    ) -> Result<WechatPayConfig, String> {
        let read = |path: &Path| {
            std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))
        };
        let merchant_key_pem = SecretString::from(read(merchant_key_file)?);
        let platform_public_key_pem = read(platform_public_key_file)?;
        WechatPayConfig::new(
            base_url,
            mchid,
            appid,
            WechatPayKeys {
                merchant_key_pem: secrecy::ExposeSecret::expose_secret(&merchant_key_pem),
                merchant_serial,
                platform_public_key_pem: &platform_public_key_pem,
                platform_serial,
                apiv3_key,
            },
            clock,
        )
        .map_err(|e| e.to_string())
    }
}

/// The gateway client. Cheap to share: it holds one connection pool.
#[derive(Debug)]
pub struct WechatPayGateway {
    client: reqwest::Client,
    base: Url,
    cfg: WechatPayConfig,
}

/// A signed and verified answer.
struct Answer {
    status: StatusCode,
    body: Vec<u8>,
}

enum Attempt {
    Done(Answer),
    Retryable(String),
    Failed(GatewayError),
}

impl WechatPayGateway {
    /// Builds the HTTP client. Fails with [`GatewayError::Unavailable`] when the base URL is
    /// not http(s) or the client cannot be built.
    pub fn new(cfg: WechatPayConfig) -> Result<WechatPayGateway, GatewayError> {
        let invalid = |why: String| {
            GatewayError::Unavailable(format!("invalid gateway configuration: {why}"))
        };
        let base = Url::parse(&cfg.base_url).map_err(|e| invalid(format!("base URL: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(invalid("the base URL must be http(s)".to_owned()));
        }
        if cfg.mchid.is_empty() || cfg.appid.is_empty() {
            return Err(invalid("mchid and appid are required".to_owned()));
        }
        let client = reqwest::Client::builder()
            .connect_timeout(cfg.timeout)
            .timeout(cfg.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("shebao/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| invalid(format!("cannot build the HTTP client: {}", chain(&e))))?;
        Ok(WechatPayGateway { client, base, cfg })
    }

    fn now(&self) -> i64 {
        self.cfg.clock.now().timestamp()
    }

    /// `{base}{path_and_query}` (the base's own path kept as a prefix).
    fn url(&self, path_and_query: &str) -> Result<Url, GatewayError> {
        let joined = format!(
            "{}{path_and_query}",
            self.base.as_str().trim_end_matches('/')
        );
        Url::parse(&joined).map_err(|e| GatewayError::InvalidResponse(format!("bad URL: {e}")))
    }

    /// Sends a signed request, retrying transport failures, 429 and 5xx; verifies the answer's
    /// signature unless `verify` is false (the bill file, which the gateway does not sign).
    async fn call(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        verify: bool,
    ) -> Result<Answer, GatewayError> {
        let body = body.map(Value::to_string).unwrap_or_default();
        let attempts = self.cfg.max_attempts.max(1);
        let mut last_failure = String::new();
        for attempt in 1..=attempts {
            match self.attempt(&method, &url, &body, verify).await {
                Attempt::Done(answer) => return Ok(answer),
                Attempt::Failed(error) => {
                    tracing::warn!(attempt, %error, path = url.path(), "payment gateway call failed");
                    return Err(error);
                }
                Attempt::Retryable(failure) => {
                    if attempt < attempts {
                        let delay = backoff(attempt);
                        tracing::warn!(attempt, %failure, path = url.path(), retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX), "payment gateway failed; retrying");
                        tokio::time::sleep(delay).await;
                    } else {
                        tracing::warn!(attempt, %failure, path = url.path(), "payment gateway failed; giving up");
                    }
                    last_failure = failure;
                }
            }
        }
        Err(GatewayError::Unavailable(format!(
            "{last_failure} (after {attempts} attempts)"
        )))
    }

    async fn attempt(&self, method: &Method, url: &Url, body: &str, verify: bool) -> Attempt {
        let canonical = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        };
        let authorization = match Authorization::sign(
            &self.cfg.merchant_key,
            &self.cfg.mchid,
            &self.cfg.merchant_serial,
            method.as_str(),
            &canonical,
            self.now(),
            body.as_bytes(),
        ) {
            Ok(auth) => auth.header_value(),
            Err(e) => {
                return Attempt::Failed(GatewayError::Unavailable(format!("cannot sign: {e}")))
            }
        };
        let mut request = self
            .client
            .request(method.clone(), url.clone())
            .header(AUTHORIZATION, authorization)
            .header(ACCEPT, "application/json");
        if *method != Method::GET {
            request = request
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_owned());
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => return Attempt::Retryable(describe(&error)),
        };
        let status = response.status();
        let headers = response.headers().clone();
        if response
            .content_length()
            .is_some_and(|n| n > MAX_ANSWER_BYTES as u64)
        {
            return Attempt::Failed(GatewayError::InvalidResponse(
                "the answer is too large".into(),
            ));
        }
        let answer = match response.bytes().await {
            Ok(answer) => answer.to_vec(),
            Err(error) => {
                return Attempt::Retryable(format!(
                    "HTTP {status}, then reading the answer failed: {}",
                    describe(&error)
                ))
            }
        };
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            return Attempt::Retryable(format!("HTTP {status}{}", error_detail(&answer)));
        }
        if verify {
            if let Err(error) = self.verify_signature(&headers, &answer) {
                return Attempt::Failed(error);
            }
        }
        Attempt::Done(Answer {
            status,
            body: answer,
        })
    }

    fn verify_signature(&self, headers: &HeaderMap, body: &[u8]) -> Result<(), GatewayError> {
        let signature = PlatformSignature::from_headers(|name| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .map_err(|e| GatewayError::BadSignature(e.to_string()))?;
        signature
            .verify(
                &self.cfg.platform_key,
                &self.cfg.platform_serial,
                body,
                self.now(),
            )
            .map_err(|e| GatewayError::BadSignature(e.to_string()))
    }

    fn json<T: for<'de> Deserialize<'de>>(answer: &Answer) -> Result<T, GatewayError> {
        serde_json::from_slice(&answer.body)
            .map_err(|e| GatewayError::InvalidResponse(format!("HTTP {}: {e}", answer.status)))
    }

    #[tracing::instrument(skip_all, fields(out_trade_no = %order.out_trade_no))]
    async fn create(&self, order: &AppOrder) -> Result<PrepayId, GatewayError> {
        let body = json!({
            "appid": self.cfg.appid,
            "mchid": self.cfg.mchid,
            "description": order.description,
            "out_trade_no": order.out_trade_no.as_str(),
            "time_expire": order.time_expire.with_timezone(&beijing()).to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
            "notify_url": order.notify_url,
            "amount": {"total": order.amount.0, "currency": "CNY"},
        });
        let answer = self
            .call(
                Method::POST,
                self.url("/v3/pay/transactions/app")?,
                Some(&body),
                true,
            )
            .await?;
        if answer.status != StatusCode::OK {
            let error = refusal(&answer);
            return Err(match &error {
                GatewayError::Rejected { code, message }
                    if code == "INVALID_REQUEST" && message.contains("重复") =>
                {
                    GatewayError::OrderNoUsed
                }
                _ => error,
            });
        }
        #[derive(Deserialize)]
        struct Created {
            prepay_id: String,
        }
        let created: Created = Self::json(&answer)?;
        if created.prepay_id.trim().is_empty() {
            return Err(GatewayError::InvalidResponse("an empty prepay_id".into()));
        }
        Ok(PrepayId(created.prepay_id))
    }

    #[tracing::instrument(skip_all, fields(out_trade_no = %out_trade_no))]
    async fn query(&self, out_trade_no: &OutTradeNo) -> Result<Transaction, GatewayError> {
        let url = self.url(&format!(
            "/v3/pay/transactions/out-trade-no/{}?mchid={}",
            out_trade_no.as_str(),
            self.cfg.mchid
        ))?;
        let answer = self.call(Method::GET, url, None, true).await?;
        if answer.status != StatusCode::OK {
            return Err(refusal(&answer));
        }
        let wire: WireTransaction = Self::json(&answer)?;
        self.transaction(wire)
    }

    fn transaction(&self, wire: WireTransaction) -> Result<Transaction, GatewayError> {
        if wire.mchid.as_deref().is_some_and(|m| m != self.cfg.mchid) {
            return Err(GatewayError::InvalidResponse(
                "a transaction of another merchant".into(),
            ));
        }
        wire.into_domain()
    }

    #[tracing::instrument(skip_all, fields(out_trade_no = %out_trade_no))]
    async fn close(&self, out_trade_no: &OutTradeNo) -> Result<(), GatewayError> {
        let url = self.url(&format!(
            "/v3/pay/transactions/out-trade-no/{}/close",
            out_trade_no.as_str()
        ))?;
        let body = json!({ "mchid": self.cfg.mchid });
        let answer = self.call(Method::POST, url, Some(&body), true).await?;
        match answer.status {
            StatusCode::NO_CONTENT | StatusCode::OK => Ok(()),
            _ => Err(refusal(&answer)),
        }
    }

    #[tracing::instrument(skip_all, fields(out_trade_no = %request.out_trade_no, out_refund_no = %request.out_refund_no))]
    async fn make_refund(&self, request: &RefundRequest) -> Result<Refund, GatewayError> {
        let mut body = json!({
            "out_trade_no": request.out_trade_no.as_str(),
            "out_refund_no": request.out_refund_no.as_str(),
            "reason": request.reason,
            "amount": {"refund": request.refund.0, "total": request.total.0, "currency": "CNY"},
        });
        if !request.notify_url.is_empty() {
            body["notify_url"] = json!(request.notify_url);
        }
        let answer = self
            .call(
                Method::POST,
                self.url("/v3/refund/domestic/refunds")?,
                Some(&body),
                true,
            )
            .await?;
        if answer.status != StatusCode::OK {
            return Err(refusal(&answer));
        }
        Self::json::<WireRefund>(&answer)?.into_domain()
    }

    #[tracing::instrument(skip_all, fields(out_refund_no = %out_refund_no))]
    async fn get_refund(&self, out_refund_no: &OutRefundNo) -> Result<Refund, GatewayError> {
        let url = self.url(&format!(
            "/v3/refund/domestic/refunds/{}",
            out_refund_no.as_str()
        ))?;
        let answer = self.call(Method::GET, url, None, true).await?;
        if answer.status != StatusCode::OK {
            return Err(refusal(&answer));
        }
        Self::json::<WireRefund>(&answer)?.into_domain()
    }

    #[tracing::instrument(skip(self))]
    async fn bill(&self, date: NaiveDate) -> Result<TradeBill, GatewayError> {
        let url = self.url(&format!(
            "/v3/bill/tradebill?bill_date={}&bill_type=ALL",
            date.format("%Y-%m-%d")
        ))?;
        let answer = self.call(Method::GET, url, None, true).await?;
        if answer.status != StatusCode::OK {
            let error = refusal(&answer);
            // No transaction that day: the gateway has no bill, which is an empty one.
            if matches!(&error, GatewayError::Rejected { code, .. } if code == "NO_STATEMENT_EXIST")
            {
                return TradeBill::new(
                    date,
                    Vec::new(),
                    TradeBillSummary {
                        count: 0,
                        total: Fen::ZERO,
                        refunds: Fen::ZERO,
                    },
                )
                .map_err(|e| GatewayError::InvalidResponse(e.to_string()));
            }
            return Err(error);
        }
        #[derive(Deserialize)]
        struct BillLink {
            download_url: String,
            hash_type: String,
            hash_value: String,
        }
        let link: BillLink = Self::json(&answer)?;
        let download = Url::parse(&link.download_url)
            .map_err(|e| GatewayError::InvalidResponse(format!("download_url: {e}")))?;
        // The merchant's signature goes only to the gateway itself.
        if download.origin() != self.base.origin() {
            return Err(GatewayError::InvalidResponse(
                "the bill's download_url is not on the gateway".into(),
            ));
        }
        if !link.hash_type.eq_ignore_ascii_case("SHA1") {
            return Err(GatewayError::InvalidResponse(format!(
                "unsupported hash_type {}",
                link.hash_type
            )));
        }
        let file = self.call(Method::GET, download, None, false).await?;
        if file.status != StatusCode::OK {
            return Err(refusal(&file));
        }
        let hash = shebao_security::gateway_crypto::sha1_hex(&file.body);
        if !hash.eq_ignore_ascii_case(link.hash_value.trim()) {
            return Err(GatewayError::InvalidResponse(
                "the bill's SHA1 does not match its hash_value".into(),
            ));
        }
        bill::parse_bill(date, &file.body).map_err(GatewayError::InvalidResponse)
    }

    /// 商家转账: the destination goes in the signed body to the gateway only; it is never
    /// logged (the span names the bill number alone).
    #[tracing::instrument(skip_all, fields(out_bill_no = %request.out_bill_no))]
    async fn transfer(&self, request: &TransferRequest) -> Result<TransferBill, GatewayError> {
        let body = json!({
            "appid": self.cfg.appid,
            "out_bill_no": request.out_bill_no.as_str(),
            "transfer_scene_id": request.transfer_scene_id,
            "transfer_amount": request.amount.0,
            "transfer_remark": request.remark,
            "notify_url": request.notify_url,
            "payee": {
                "type": request.payee.kind,
                "institution": request.payee.institution,
                "account_no": request.payee.account_no,
            },
        });
        let answer = self
            .call(
                Method::POST,
                self.url("/v3/fund-app/mch-transfer/transfer-bills")?,
                Some(&body),
                true,
            )
            .await?;
        if answer.status != StatusCode::OK {
            let error = refusal(&answer);
            return Err(match &error {
                GatewayError::Rejected { code, message }
                    if code == "INVALID_REQUEST" && message.contains("重复") =>
                {
                    GatewayError::OrderNoUsed
                }
                _ => error,
            });
        }
        Self::json::<WireTransferBill>(&answer)?.into_domain()
    }

    #[tracing::instrument(skip_all, fields(out_bill_no = %out_bill_no))]
    async fn get_transfer(&self, out_bill_no: &OutTradeNo) -> Result<TransferBill, GatewayError> {
        let url = self.url(&format!(
            "/v3/fund-app/mch-transfer/transfer-bills/out-bill-no/{}",
            out_bill_no.as_str()
        ))?;
        let answer = self.call(Method::GET, url, None, true).await?;
        if answer.status != StatusCode::OK {
            return Err(refusal(&answer));
        }
        Self::json::<WireTransferBill>(&answer)?.into_domain()
    }

    fn verify(&self, n: &SignedNotification) -> Result<Notification, GatewayError> {
        let missing =
            |name: &str| GatewayError::BadSignature(format!("missing or malformed {name}"));
        let signature = PlatformSignature {
            serial: n
                .serial
                .clone()
                .ok_or_else(|| missing("Wechatpay-Serial"))?,
            signature: n
                .signature
                .clone()
                .ok_or_else(|| missing("Wechatpay-Signature"))?,
            timestamp: n
                .timestamp
                .clone()
                .ok_or_else(|| missing("Wechatpay-Timestamp"))?,
            nonce: n.nonce.clone().ok_or_else(|| missing("Wechatpay-Nonce"))?,
        };
        signature
            .verify(
                &self.cfg.platform_key,
                &self.cfg.platform_serial,
                &n.body,
                self.now(),
            )
            .map_err(|e| GatewayError::BadSignature(e.to_string()))?;
        let event: WireEvent = serde_json::from_slice(&n.body)
            .map_err(|e| GatewayError::InvalidResponse(format!("notification: {e}")))?;
        let kind = NotificationEvent::parse(&event.event_type).map_err(|_| {
            GatewayError::InvalidResponse(format!("event_type {}", event.event_type))
        })?;
        if event.resource.algorithm != AEAD_ALGORITHM {
            return Err(GatewayError::InvalidResponse(format!(
                "algorithm {}",
                event.resource.algorithm
            )));
        }
        let plaintext = self
            .cfg
            .apiv3_key
            .decrypt(
                &event.resource.nonce,
                event.resource.associated_data.as_deref().unwrap_or(""),
                &event.resource.ciphertext,
            )
            .map_err(|e| GatewayError::BadSignature(e.to_string()))?;
        let resource = match kind {
            NotificationEvent::TransactionSuccess => {
                let wire: WireTransaction = serde_json::from_slice(&plaintext)
                    .map_err(|e| GatewayError::InvalidResponse(format!("transaction: {e}")))?;
                NotificationResource::Transaction(self.transaction(wire)?)
            }
            NotificationEvent::TransferFinished => {
                let wire: WireTransferBill = serde_json::from_slice(&plaintext)
                    .map_err(|e| GatewayError::InvalidResponse(format!("transfer bill: {e}")))?;
                NotificationResource::TransferBill(wire.into_domain()?)
            }
            _ => {
                let wire: WireRefund = serde_json::from_slice(&plaintext)
                    .map_err(|e| GatewayError::InvalidResponse(format!("refund: {e}")))?;
                NotificationResource::Refund(wire.into_domain()?)
            }
        };
        Ok(Notification {
            id: event.id,
            create_time: parse_time(&event.create_time)?,
            event: kind,
            summary: event.summary.unwrap_or_default(),
            resource,
        })
    }
}

impl PaymentGateway for WechatPayGateway {
    fn create_app_order<'a>(&'a self, order: &'a AppOrder) -> GatewayFuture<'a, PrepayId> {
        Box::pin(self.create(order))
    }

    fn query_order<'a>(&'a self, out_trade_no: &'a OutTradeNo) -> GatewayFuture<'a, Transaction> {
        Box::pin(self.query(out_trade_no))
    }

    fn close_order<'a>(&'a self, out_trade_no: &'a OutTradeNo) -> GatewayFuture<'a, ()> {
        Box::pin(self.close(out_trade_no))
    }

    fn refund<'a>(&'a self, request: &'a RefundRequest) -> GatewayFuture<'a, Refund> {
        Box::pin(self.make_refund(request))
    }

    fn query_refund<'a>(&'a self, out_refund_no: &'a OutRefundNo) -> GatewayFuture<'a, Refund> {
        Box::pin(self.get_refund(out_refund_no))
    }

    fn trade_bill<'a>(&'a self, date: NaiveDate) -> GatewayFuture<'a, TradeBill> {
        Box::pin(self.bill(date))
    }

    fn create_transfer<'a>(
        &'a self,
        request: &'a TransferRequest,
    ) -> GatewayFuture<'a, TransferBill> {
        Box::pin(self.transfer(request))
    }

    fn query_transfer<'a>(
        &'a self,
        out_bill_no: &'a OutTradeNo,
    ) -> GatewayFuture<'a, TransferBill> {
        Box::pin(self.get_transfer(out_bill_no))
    }

    fn verify_notification(
        &self,
        notification: &SignedNotification,
    ) -> Result<Notification, GatewayError> {
        self.verify(notification)
    }
}

// ---------------------------------------------------------------------------------------------
// The wire forms

#[derive(Deserialize)]
struct WireError {
    code: Option<String>,
    message: Option<String>,
}

/// The typed error for a verified non-2xx answer.
fn refusal(answer: &Answer) -> GatewayError {
    let error = serde_json::from_slice::<WireError>(&answer.body).ok();
    let code = error
        .as_ref()
        .and_then(|e| e.code.clone())
        .unwrap_or_else(|| format!("HTTP_{}", answer.status.as_u16()));
    let message = error.and_then(|e| e.message).unwrap_or_default();
    match code.as_str() {
        "ORDERNOTEXIST" | "ORDER_NOT_EXIST" | "RESOURCE_NOT_EXISTS" | "NOT_FOUND" => {
            GatewayError::NotFound
        }
        "ORDERPAID" => GatewayError::OrderPaid,
        "ORDER_CLOSED" | "ORDERCLOSED" => GatewayError::OrderClosed,
        _ => GatewayError::Rejected { code, message },
    }
}

/// `": CODE message"` of an error answer, for logs.
fn error_detail(answer: &[u8]) -> String {
    match serde_json::from_slice::<WireError>(answer) {
        Ok(WireError {
            code: Some(code),
            message,
        }) => format!(": {code} {}", message.unwrap_or_default()),
        _ => String::new(),
    }
}

#[derive(Deserialize)]
struct WireTransaction {
    mchid: Option<String>,
    out_trade_no: String,
    transaction_id: Option<String>,
    trade_state: String,
    #[serde(default)]
    trade_state_desc: String,
    bank_type: Option<String>,
    success_time: Option<String>,
    amount: WireAmount,
}

#[derive(Deserialize)]
struct WireAmount {
    total: i64,
    payer_total: Option<i64>,
}

impl WireTransaction {
    fn into_domain(self) -> Result<Transaction, GatewayError> {
        let bad = |what: &str| GatewayError::InvalidResponse(format!("transaction: bad {what}"));
        Ok(Transaction {
            out_trade_no: OutTradeNo::parse(&self.out_trade_no).map_err(|_| bad("out_trade_no"))?,
            transaction_id: self.transaction_id.filter(|t| !t.is_empty()),
            trade_state: TradeState::parse(&self.trade_state).map_err(|_| bad("trade_state"))?,
            trade_state_desc: self.trade_state_desc,
            bank_type: self.bank_type.filter(|b| !b.is_empty()),
            success_time: self
                .success_time
                .filter(|t| !t.is_empty())
                .map(|t| parse_time(&t))
                .transpose()?,
            total: Fen(self.amount.total),
            payer_total: self.amount.payer_total.map(Fen),
        })
    }
}

/// A refund: the refund API's answer (`status`) or a refund notification (`refund_status`).
#[derive(Deserialize)]
struct WireRefund {
    refund_id: String,
    out_refund_no: String,
    out_trade_no: String,
    status: Option<String>,
    refund_status: Option<String>,
    success_time: Option<String>,
    amount: WireRefundAmount,
}

#[derive(Deserialize)]
struct WireRefundAmount {
    total: i64,
    refund: i64,
}

impl WireRefund {
    fn into_domain(self) -> Result<Refund, GatewayError> {
        let bad = |what: &str| GatewayError::InvalidResponse(format!("refund: bad {what}"));
        let status = self
            .status
            .or(self.refund_status)
            .ok_or_else(|| bad("status"))?;
        Ok(Refund {
            refund_id: self.refund_id,
            out_refund_no: OutRefundNo::parse(&self.out_refund_no)
                .map_err(|_| bad("out_refund_no"))?,
            out_trade_no: OutTradeNo::parse(&self.out_trade_no).map_err(|_| bad("out_trade_no"))?,
            status: RefundStatus::parse(&status).map_err(|_| bad("status"))?,
            refund: Fen(self.amount.refund),
            total: Fen(self.amount.total),
            success_time: self
                .success_time
                .filter(|t| !t.is_empty())
                .map(|t| parse_time(&t))
                .transpose()?,
        })
    }
}

/// A transfer bill: the creation's answer (`out_bill_no, transfer_bill_no, create_time,
/// state`), a query's answer or a notification's resource (with the amount and `fail_reason`).
#[derive(Deserialize)]
struct WireTransferBill {
    out_bill_no: String,
    transfer_bill_no: String,
    state: String,
    create_time: String,
    transfer_amount: Option<i64>,
    fail_reason: Option<String>,
}

impl WireTransferBill {
    fn into_domain(self) -> Result<TransferBill, GatewayError> {
        let bad = |what: &str| GatewayError::InvalidResponse(format!("transfer bill: bad {what}"));
        let state = TransferState::parse(&self.state).map_err(|_| bad("state"))?;
        Ok(TransferBill {
            out_bill_no: OutTradeNo::parse(&self.out_bill_no).map_err(|_| bad("out_bill_no"))?,
            transfer_bill_no: self.transfer_bill_no,
            fail_reason: (state == TransferState::Fail).then(|| {
                TransferFailReason::parse(self.fail_reason.as_deref().unwrap_or_default())
            }),
            state,
            amount: self.transfer_amount.map(Fen),
            create_time: parse_time(&self.create_time)?,
        })
    }
}

#[derive(Deserialize)]
struct WireEvent {
    id: String,
    create_time: String,
    event_type: String,
    summary: Option<String>,
    resource: WireResource,
}

#[derive(Deserialize)]
struct WireResource {
    algorithm: String,
    ciphertext: String,
    associated_data: Option<String>,
    nonce: String,
}

fn parse_time(text: &str) -> Result<DateTime<FixedOffset>, GatewayError> {
    DateTime::parse_from_rfc3339(text.trim())
        .map_err(|_| GatewayError::InvalidResponse(format!("bad time {text:?}")))
}

/// Beijing time, the gateway's zone (`time_expire` is written in it, as the real API shows).
fn beijing() -> FixedOffset {
    const BEIJING: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
        Some(offset) => offset,
        None => panic!("UTC+8 is a valid offset"),
    };
    BEIJING
}

/// The pause after failed attempt number `attempt` (1-based): 200 ms, 400 ms, … ≤ 2 s.
fn backoff(attempt: u32) -> Duration {
    let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
    FIRST_BACKOFF.saturating_mul(factor).min(MAX_BACKOFF)
}
