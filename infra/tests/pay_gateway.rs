//! The payment gateway adapter against the stand-in, over real HTTP: every operation, every
//! failure reason, signatures that must be refused, notifications, and a gateway that is down,
//! slow or failing.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::{json, Value};
use shebao_domain::money::Fen;
use shebao_domain::payments::{
    AppOrder, FailureCode, GatewayError, NotificationEvent, NotificationResource, OutRefundNo,
    OutTradeNo, PaymentGateway, RefundRequest, RefundStatus, SignedNotification, TradeState,
};
use shebao_infra::clock::SystemClock;
use shebao_infra::payments::wechat_pay::WechatPayKeys;
use shebao_infra::payments::{WechatPayConfig, WechatPayGateway};
use shebao_security::gateway_crypto::{PlatformSignature, SigningKey};
use shebao_standins::pay::{PayKeys, PayStandIn, PayStandInConfig, RunningPayStandIn};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const MCHID: &str = "1900000001";
const APPID: &str = "wxd678efh567hg6787";

/// One pair of key sets for the whole test binary (RSA key generation takes a moment).
fn keys() -> PayKeys {
    static KEYS: OnceLock<PayKeys> = OnceLock::new();
    KEYS.get_or_init(|| PayKeys::generate().unwrap()).clone()
}

/// Keys nobody trusts.
fn other_keys() -> PayKeys {
    static KEYS: OnceLock<PayKeys> = OnceLock::new();
    KEYS.get_or_init(|| PayKeys::generate().unwrap()).clone()
}

fn standin_with(offset_secs: i64) -> RunningPayStandIn {
    PayStandIn::start(
        "127.0.0.1:0",
        PayStandInConfig {
            mchid: MCHID.into(),
            appid: APPID.into(),
            keys: keys(),
            notify_retry_delays: vec![Duration::from_millis(50); 3],
            notify_timeout: Duration::from_secs(2),
            signature_clock_offset_secs: offset_secs,
        },
    )
    .unwrap()
}

fn config_for(base_url: &str, merchant: &PayKeys, platform: &PayKeys) -> WechatPayConfig {
    let mut cfg = WechatPayConfig::new(
        base_url,
        MCHID,
        APPID,
        WechatPayKeys {
            merchant_key_pem: merchant.merchant_private_pem.expose_secret(),
            merchant_serial: &keys().merchant_serial,
            platform_public_key_pem: &platform.platform_public_pem,
            platform_serial: &keys().platform_serial,
            apiv3_key: SecretString::from(keys().apiv3_key.expose().to_owned()),
        },
        Arc::new(SystemClock),
    )
    .unwrap();
    cfg.timeout = Duration::from_secs(2);
    cfg.max_attempts = 2;
    cfg
}

fn gateway(base_url: &str) -> WechatPayGateway {
    WechatPayGateway::new(config_for(base_url, &keys(), &keys())).unwrap()
}

fn order_no(prefix: &str) -> OutTradeNo {
    let unique = uuid::Uuid::new_v4().simple().to_string();
    OutTradeNo::parse(&format!("{prefix}{}", &unique[..12])).unwrap()
}

fn order(no: &OutTradeNo, fen: i64, notify_url: &str) -> AppOrder {
    AppOrder::new(
        no.clone(),
        "灵活就业养老保险 2026-12",
        Fen(fen),
        Utc::now() + TimeDelta::minutes(15),
        notify_url,
    )
    .unwrap()
}

const NOWHERE: &str = "http://127.0.0.1:9/notify";

async fn pay(standin: &RunningPayStandIn, no: &OutTradeNo, outcome: &str, notify: u32) -> Value {
    let response = reqwest::Client::new()
        .post(format!(
            "{}/control/orders/{}/pay",
            standin.base_url,
            no.as_str()
        ))
        .json(&json!({ "outcome": outcome, "notify": notify }))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.unwrap()
}

async fn control(standin: &RunningPayStandIn, path: &str) -> Value {
    reqwest::get(format!("{}{path}", standin.base_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn create_query_and_close_an_order() {
    let standin = standin_with(0);
    let gw = gateway(&standin.base_url);
    let no = order_no("CQC");
    let created = order(&no, 56_789, NOWHERE);
    let first = gw.create_app_order(&created).await.unwrap();
    assert!(first.0.starts_with("wx"));
    // The same order again: the same prepay id; the same number for another order (another
    // amount, or another expiry): refused.
    let again = gw.create_app_order(&created).await.unwrap();
    assert_eq!(again, first);
    let other_amount = AppOrder {
        amount: Fen(56_790),
        ..created.clone()
    };
    assert_eq!(
        gw.create_app_order(&other_amount).await,
        Err(GatewayError::OrderNoUsed)
    );
    let other_expiry = AppOrder {
        time_expire: created.time_expire + TimeDelta::minutes(1),
        ..created.clone()
    };
    assert_eq!(
        gw.create_app_order(&other_expiry).await,
        Err(GatewayError::OrderNoUsed)
    );

    let t = gw.query_order(&no).await.unwrap();
    assert_eq!(t.out_trade_no, no);
    assert_eq!(t.trade_state, TradeState::NotPay);
    assert_eq!(t.total, Fen(56_789));
    assert_eq!(t.transaction_id, None);

    gw.close_order(&no).await.unwrap();
    assert_eq!(
        gw.query_order(&no).await.unwrap().trade_state,
        TradeState::Closed
    );
    // Closing twice is harmless.
    gw.close_order(&no).await.unwrap();

    let unknown = order_no("NOPE");
    assert_eq!(gw.query_order(&unknown).await, Err(GatewayError::NotFound));
    assert_eq!(gw.close_order(&unknown).await, Err(GatewayError::NotFound));
    let orders = control(&standin, "/control/orders").await;
    assert_eq!(orders["orders"][0]["trade_state"], "CLOSED");
    standin.stop().await;
}

#[tokio::test]
async fn a_paid_order_cannot_be_closed_and_can_be_refunded() {
    let standin = standin_with(0);
    let gw = gateway(&standin.base_url);
    let no = order_no("PAID");
    gw.create_app_order(&order(&no, 10_000, NOWHERE))
        .await
        .unwrap();
    pay(&standin, &no, "SUCCESS", 0).await;
    let t = gw.query_order(&no).await.unwrap();
    assert_eq!(t.trade_state, TradeState::Success);
    assert!(t.transaction_id.as_deref().unwrap().starts_with("4200"));
    assert!(t.success_time.is_some());
    assert_eq!(t.payer_total, Some(Fen(10_000)));
    assert_eq!(t.failure(), None);
    assert_eq!(gw.close_order(&no).await, Err(GatewayError::OrderPaid));

    let refund_no = OutRefundNo::parse(&format!("R{}", no.as_str())).unwrap();
    let request = RefundRequest::new(
        no.clone(),
        refund_no.clone(),
        "重复缴费",
        Fen(4_000),
        Fen(10_000),
        "",
    )
    .unwrap();
    let refund = gw.refund(&request).await.unwrap();
    assert_eq!(refund.status, RefundStatus::Success);
    assert_eq!(refund.refund, Fen(4_000));
    assert_eq!(refund.out_trade_no, no);
    // The same refund again answers the same refund.
    assert_eq!(
        gw.refund(&request).await.unwrap().refund_id,
        refund.refund_id
    );
    assert_eq!(gw.query_refund(&refund_no).await.unwrap(), refund);
    assert_eq!(
        gw.query_order(&no).await.unwrap().trade_state,
        TradeState::Refund
    );

    // More than is left is refused; an unknown refund is not found.
    let too_much = RefundRequest::new(
        no.clone(),
        OutRefundNo::parse("R-too-much").unwrap(),
        "x",
        Fen(6_001),
        Fen(10_000),
        "",
    )
    .unwrap();
    assert!(matches!(
        gw.refund(&too_much).await,
        Err(GatewayError::Rejected { code, .. }) if code == "INVALID_REQUEST"
    ));
    assert_eq!(
        gw.query_refund(&OutRefundNo::parse("R-none").unwrap())
            .await,
        Err(GatewayError::NotFound)
    );
    // An unpaid order cannot be refunded.
    let unpaid = order_no("UNPAID");
    gw.create_app_order(&order(&unpaid, 100, NOWHERE))
        .await
        .unwrap();
    let refund_unpaid = RefundRequest::new(
        unpaid,
        OutRefundNo::parse("R-unpaid").unwrap(),
        "x",
        Fen(100),
        Fen(100),
        "",
    )
    .unwrap();
    assert!(matches!(
        gw.refund(&refund_unpaid).await,
        Err(GatewayError::Rejected { .. })
    ));
    standin.stop().await;
}

#[tokio::test]
async fn every_failure_reason_reaches_the_payer() {
    let standin = standin_with(0);
    let gw = gateway(&standin.base_url);
    for code in FailureCode::ALL {
        let no = order_no("FAIL");
        gw.create_app_order(&order(&no, 2_500, NOWHERE))
            .await
            .unwrap();
        pay(&standin, &no, code.code(), 1).await;
        let t = gw.query_order(&no).await.unwrap();
        assert_eq!(t.trade_state, TradeState::PayError, "{code:?}");
        assert_eq!(t.failure(), Some(code), "{code:?}: {}", t.trade_state_desc);
        // The payer can still pay the same order with another card.
        if code == FailureCode::NotEnough {
            pay(&standin, &no, "SUCCESS", 0).await;
            assert_eq!(
                gw.query_order(&no).await.unwrap().trade_state,
                TradeState::Success
            );
        }
    }
    // A failed payment sends no notification.
    let sent = control(&standin, "/control/notifications").await;
    assert_eq!(sent["notifications"].as_array().unwrap().len(), 0);
    standin.stop().await;
}

#[tokio::test]
async fn the_days_trade_bill_lists_payments_and_refunds() {
    let standin = standin_with(0);
    let gw = gateway(&standin.base_url);
    let (a, b, unpaid) = (order_no("BILLA"), order_no("BILLB"), order_no("BILLC"));
    for (no, fen) in [(&a, 56_000), (&b, 123_456), (&unpaid, 999)] {
        gw.create_app_order(&order(no, fen, NOWHERE)).await.unwrap();
    }
    pay(&standin, &a, "SUCCESS", 0).await;
    pay(&standin, &b, "SUCCESS", 0).await;
    let refund = RefundRequest::new(
        b.clone(),
        OutRefundNo::parse("R-BILL-B").unwrap(),
        "多缴退费",
        Fen(10_000),
        Fen(123_456),
        "",
    )
    .unwrap();
    gw.refund(&refund).await.unwrap();

    let today = Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .date_naive();
    let bill = gw.trade_bill(today).await.unwrap();
    assert_eq!(bill.date, today);
    assert_eq!(bill.rows.len(), 3, "{bill:?}");
    assert_eq!(bill.summary.count, 3);
    assert_eq!(bill.summary.total, Fen(179_456));
    assert_eq!(bill.summary.refunds, Fen(10_000));
    let paid_a = bill.rows.iter().find(|r| r.out_trade_no == a).unwrap();
    assert_eq!(
        (paid_a.trade_state, paid_a.total),
        (TradeState::Success, Fen(56_000))
    );
    let refunded = bill
        .rows
        .iter()
        .find(|r| r.trade_state == TradeState::Refund)
        .unwrap();
    assert_eq!(refunded.out_trade_no, b);
    assert_eq!(refunded.refund, Fen(10_000));
    assert_eq!(
        refunded.out_refund_no.as_ref().unwrap().as_str(),
        "R-BILL-B"
    );
    assert!(bill.rows.iter().all(|r| r.out_trade_no != unpaid));

    // A day without transactions has an empty bill.
    let empty = gw.trade_bill(today - TimeDelta::days(3)).await.unwrap();
    assert!(empty.rows.is_empty());
    assert_eq!(empty.summary.total, Fen::ZERO);
    standin.stop().await;
}

#[tokio::test]
async fn answers_with_a_bad_signature_are_refused() {
    let standin = standin_with(0);
    let no = order_no("SIG");
    gateway(&standin.base_url)
        .create_app_order(&order(&no, 100, NOWHERE))
        .await
        .unwrap();

    // Another platform key: the signature does not verify.
    let forged =
        WechatPayGateway::new(config_for(&standin.base_url, &keys(), &other_keys())).unwrap();
    match forged.query_order(&no).await {
        Err(GatewayError::BadSignature(why)) => assert!(why.contains("does not verify"), "{why}"),
        other => panic!("expected BadSignature, got {other:?}"),
    }
    // A platform serial the merchant does not know.
    let mut cfg = config_for(&standin.base_url, &keys(), &keys());
    cfg.platform_serial = "0000000000000000000000000000000000000000".into();
    match WechatPayGateway::new(cfg).unwrap().query_order(&no).await {
        Err(GatewayError::BadSignature(why)) => assert!(why.contains("unknown serial"), "{why}"),
        other => panic!("expected BadSignature, got {other:?}"),
    }
    // A merchant key the gateway does not know: 401 SIGN_ERROR (a signed refusal).
    let stranger =
        WechatPayGateway::new(config_for(&standin.base_url, &other_keys(), &keys())).unwrap();
    assert!(matches!(
        stranger.query_order(&no).await,
        Err(GatewayError::Rejected { code, .. }) if code == "SIGN_ERROR"
    ));
    standin.stop().await;

    // A gateway whose answers are signed 10 minutes ago: stale.
    let stale = standin_with(-600);
    match gateway(&stale.base_url).query_order(&no).await {
        Err(GatewayError::BadSignature(why)) => assert!(why.contains("more than 300 s"), "{why}"),
        other => panic!("expected BadSignature, got {other:?}"),
    }
    stale.stop().await;
}

// ---------------------------------------------------------------------------------------------
// A notification receiver: a tiny HTTP server that records what it is sent.

struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<SignedNotification>>>,
}

/// Answers the first `fail_first` requests 500, the rest 204.
async fn receiver(fail_first: usize) -> Receiver {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/notify", listener.local_addr().unwrap());
    let got = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::new(AtomicUsize::new(0));
    let store = got.clone();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let (store, seen) = (store.clone(), seen.clone());
            tokio::spawn(async move {
                let Some(notification) = read_request(&mut conn).await else {
                    return;
                };
                store.lock().unwrap().push(notification);
                let status = if seen.fetch_add(1, Ordering::SeqCst) < fail_first {
                    "500 Internal Server Error"
                } else {
                    "204 No Content"
                };
                let answer =
                    format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                let _ = conn.write_all(answer.as_bytes()).await;
            });
        }
    });
    Receiver { url, got }
}

async fn read_request(conn: &mut tokio::net::TcpStream) -> Option<SignedNotification> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = conn.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
    let header = |name: &str| {
        head.lines().find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    };
    let length: usize = header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while buffer.len() < head_end + length {
        let n = conn.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    Some(SignedNotification {
        serial: header("wechatpay-serial"),
        signature: header("wechatpay-signature"),
        timestamp: header("wechatpay-timestamp"),
        nonce: header("wechatpay-nonce"),
        body: buffer[head_end..].to_vec(),
    })
}

async fn wait_for(
    got: &Arc<Mutex<Vec<SignedNotification>>>,
    count: usize,
) -> Vec<SignedNotification> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = got.lock().unwrap().clone();
        if now.len() >= count || Instant::now() > deadline {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn notifications_are_verified_and_decrypted() {
    let standin = standin_with(0);
    let gw = gateway(&standin.base_url);
    let inbox = receiver(0).await;
    let no = order_no("NOTE");
    gw.create_app_order(&order(&no, 33_300, &inbox.url))
        .await
        .unwrap();
    pay(&standin, &no, "SUCCESS", 2).await;
    let got = wait_for(&inbox.got, 2).await;
    assert_eq!(got.len(), 2, "notify: 2 delivers the event twice");

    let first = gw.verify_notification(&got[0]).unwrap();
    assert_eq!(first.event, NotificationEvent::TransactionSuccess);
    assert!(first.id.starts_with("EV-"));
    let NotificationResource::Transaction(t) = &first.resource else {
        panic!("a transaction, got {:?}", first.resource);
    };
    assert_eq!(t.out_trade_no, no);
    assert_eq!(t.trade_state, TradeState::Success);
    assert_eq!(t.total, Fen(33_300));
    // The duplicate is the same event.
    assert_eq!(gw.verify_notification(&got[1]).unwrap().id, first.id);

    // Tampered, unsigned, unknown serial, stale: all refused.
    let mut tampered = got[0].clone();
    tampered.body = String::from_utf8(tampered.body)
        .unwrap()
        .replace("支付成功", "支付成功!")
        .into_bytes();
    assert!(matches!(
        gw.verify_notification(&tampered),
        Err(GatewayError::BadSignature(_))
    ));
    let mut unsigned = got[0].clone();
    unsigned.signature = None;
    assert!(matches!(
        gw.verify_notification(&unsigned),
        Err(GatewayError::BadSignature(_))
    ));
    let mut unknown_serial = got[0].clone();
    unknown_serial.serial = Some("1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C".into());
    assert!(matches!(
        gw.verify_notification(&unknown_serial),
        Err(GatewayError::BadSignature(_))
    ));
    // Re-signed with the real platform key, but 10 minutes ago.
    let platform = SigningKey::from_pkcs8_pem(keys().platform_private_pem.expose_secret()).unwrap();
    let old = PlatformSignature::sign(
        &platform,
        &keys().platform_serial,
        Utc::now().timestamp() - 600,
        &got[0].body,
    )
    .unwrap();
    let stale = SignedNotification {
        serial: Some(old.serial),
        signature: Some(old.signature),
        timestamp: Some(old.timestamp),
        nonce: Some(old.nonce),
        body: got[0].body.clone(),
    };
    assert!(matches!(
        gw.verify_notification(&stale),
        Err(GatewayError::BadSignature(_))
    ));
    // Signed by someone else's key with the right serial.
    let impostor =
        SigningKey::from_pkcs8_pem(other_keys().platform_private_pem.expose_secret()).unwrap();
    let forged = PlatformSignature::sign(
        &impostor,
        &keys().platform_serial,
        Utc::now().timestamp(),
        &got[0].body,
    )
    .unwrap();
    let forged = SignedNotification {
        serial: Some(forged.serial),
        signature: Some(forged.signature),
        timestamp: Some(forged.timestamp),
        nonce: Some(forged.nonce),
        body: got[0].body.clone(),
    };
    assert!(matches!(
        gw.verify_notification(&forged),
        Err(GatewayError::BadSignature(_))
    ));

    // A refund's notification decrypts to the refund.
    let refund_no = OutRefundNo::parse("R-NOTE-1").unwrap();
    let refund = RefundRequest::new(
        no.clone(),
        refund_no.clone(),
        "退费",
        Fen(300),
        Fen(33_300),
        &inbox.url,
    )
    .unwrap();
    gw.refund(&refund).await.unwrap();
    let got = wait_for(&inbox.got, 3).await;
    let note = gw.verify_notification(&got[2]).unwrap();
    assert_eq!(note.event, NotificationEvent::RefundSuccess);
    let NotificationResource::Refund(r) = note.resource else {
        panic!("a refund");
    };
    assert_eq!(
        (r.out_refund_no, r.refund, r.status),
        (refund_no, Fen(300), RefundStatus::Success)
    );
    standin.stop().await;
}

#[tokio::test]
async fn an_unanswered_notification_is_sent_again() {
    let standin = standin_with(0);
    let gw = gateway(&standin.base_url);
    let inbox = receiver(2).await;
    let no = order_no("RETRY");
    gw.create_app_order(&order(&no, 100, &inbox.url))
        .await
        .unwrap();
    pay(&standin, &no, "SUCCESS", 1).await;
    let got = wait_for(&inbox.got, 3).await;
    assert_eq!(got.len(), 3);
    // Give the stand-in a moment to record the last answer.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let log = control(&standin, "/control/notifications").await;
    let statuses: Vec<Value> = log["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| json!([d["attempt"], d["status"]]))
        .collect();
    assert_eq!(
        statuses,
        vec![json!([1, 500]), json!([2, 500]), json!([3, 204])]
    );

    // Withheld (notify: 0): nothing is sent; only a query finds the payment.
    let quiet = order_no("QUIET");
    gw.create_app_order(&order(&quiet, 100, &inbox.url))
        .await
        .unwrap();
    pay(&standin, &quiet, "SUCCESS", 0).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(inbox.got.lock().unwrap().len(), 3);
    assert_eq!(
        gw.query_order(&quiet).await.unwrap().trade_state,
        TradeState::Success
    );
    standin.stop().await;
}

// ---------------------------------------------------------------------------------------------
// A gateway that is down, slow or failing: Unavailable, within the bound.

fn quick(base_url: &str) -> WechatPayGateway {
    let mut cfg = config_for(base_url, &keys(), &keys());
    cfg.timeout = Duration::from_millis(300);
    cfg.max_attempts = 2;
    WechatPayGateway::new(cfg).unwrap()
}

#[tokio::test]
async fn a_gateway_that_is_down_is_unavailable() {
    // A port nothing listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let started = Instant::now();
    let result = quick(&format!("http://127.0.0.1:{port}"))
        .query_order(&order_no("DOWN"))
        .await;
    assert!(
        matches!(result, Err(GatewayError::Unavailable(_))),
        "{result:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn a_gateway_that_never_answers_is_unavailable_within_the_timeout() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((conn, _)) = listener.accept().await {
            held.push(conn); // accept, read nothing, answer nothing
        }
    });
    let started = Instant::now();
    let result = quick(&url)
        .create_app_order(&order(&order_no("SLOW"), 100, NOWHERE))
        .await;
    let took = started.elapsed();
    match result {
        Err(GatewayError::Unavailable(why)) => assert!(why.contains("timed out"), "{why}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
    // Two attempts of 300 ms and one pause of 200 ms: well under 2 s.
    assert!(
        took >= Duration::from_millis(600) && took < Duration::from_secs(2),
        "{took:?}"
    );
}

#[tokio::test]
async fn a_failing_gateway_is_retried_then_unavailable() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let _ = read_request(&mut conn).await;
            let body = r#"{"code":"SYSTEM_ERROR","message":"系统错误"}"#;
            let answer = format!(
                "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = conn.write_all(answer.as_bytes()).await;
        }
    });
    let result = quick(&url).query_order(&order_no("FAILS")).await;
    match result {
        Err(GatewayError::Unavailable(why)) => assert!(why.contains("SYSTEM_ERROR"), "{why}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2, "max_attempts is 2");
}

#[tokio::test]
async fn keys_load_from_the_files_the_standin_writes() {
    let standin = standin_with(0);
    let dir = tempfile::tempdir().unwrap();
    let files = keys().write_merchant_files(dir.path()).unwrap();
    // Where the stand-in writes them is where the service's settings read them by default.
    let key_dir = dir.path().display().to_string();
    let settings = shebao_infra::config::Settings::from_env(&|name| {
        (name == "SHEBAO_KEY_DIR").then(|| key_dir.clone())
    })
    .unwrap();
    assert_eq!(settings.pay.merchant_key_file, files.merchant_key_file);
    assert_eq!(
        settings.pay.platform_public_key_file,
        files.platform_public_key_file
    );
    let cfg = WechatPayConfig::from_files(
        &standin.base_url,
        MCHID,
        APPID,
        &files.merchant_key_file,
        &keys().merchant_serial,
        &files.platform_public_key_file,
        &keys().platform_serial,
        SecretString::from(keys().apiv3_key.expose().to_owned()),
        Arc::new(SystemClock),
    )
    .unwrap();
    let gw = WechatPayGateway::new(cfg).unwrap();
    let no = order_no("FILES");
    gw.create_app_order(&order(&no, 100, NOWHERE))
        .await
        .unwrap();
    assert_eq!(
        gw.query_order(&no).await.unwrap().trade_state,
        TradeState::NotPay
    );
    let published = control(&standin, "/control/keys").await;
    assert_eq!(
        published["merchant"]["serial"],
        keys().merchant_serial.as_str()
    );
    assert_eq!(
        published["platform"]["public_key"],
        keys().platform_public_pem.as_str()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&files.merchant_key_file)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    standin.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Transfers (商家转账): benefit payouts

fn transfer(
    no: &OutTradeNo,
    fen: i64,
    account_no: &str,
    notify_url: &str,
) -> shebao_domain::payments::TransferRequest {
    shebao_domain::payments::TransferRequest {
        out_bill_no: no.clone(),
        transfer_scene_id: "1000".into(),
        amount: Fen(fen),
        remark: "2026年12月养老金".into(),
        notify_url: notify_url.into(),
        payee: shebao_domain::payments::TransferPayee {
            kind: "WALLET",
            institution: "ecny".into(),
            account_no: account_no.into(),
        },
    }
}

#[tokio::test]
async fn a_transfer_is_idempotent_by_bill_number_and_fails_to_a_closed_account() {
    use shebao_domain::payouts::{TransferFailReason, TransferState};
    let standin = standin_with(0);
    let gw = gateway(&standin.base_url);
    let inbox = receiver(0).await;
    let no = order_no("PAYOUT");
    let request = transfer(&no, 363_800, "0012345678901234", &inbox.url);
    let accepted = gw.create_transfer(&request).await.unwrap();
    assert_eq!(accepted.out_bill_no, no);
    assert_eq!(accepted.state, TransferState::Accepted);
    // The same bill again: the same bill, as it stands now (carried out).
    let again = gw.create_transfer(&request).await.unwrap();
    assert_eq!(again.transfer_bill_no, accepted.transfer_bill_no);
    assert_eq!(again.state, TransferState::Success);
    // The same number with another body is refused.
    let other = transfer(&no, 363_801, "0012345678901234", &inbox.url);
    assert_eq!(
        gw.create_transfer(&other).await,
        Err(GatewayError::OrderNoUsed)
    );
    let bill = gw.query_transfer(&no).await.unwrap();
    assert_eq!(
        (bill.state, bill.amount, bill.fail_reason),
        (TransferState::Success, Some(Fen(363_800)), None)
    );
    assert_eq!(
        gw.query_transfer(&order_no("NEVER")).await,
        Err(GatewayError::NotFound)
    );
    // Its notification verifies and carries the bill.
    let got = wait_for(&inbox.got, 1).await;
    let note = gw.verify_notification(&got[0]).unwrap();
    assert_eq!(note.event, NotificationEvent::TransferFinished);
    let NotificationResource::TransferBill(b) = note.resource else {
        panic!("a transfer bill");
    };
    assert_eq!((b.out_bill_no, b.state), (no, TransferState::Success));
    // A closed account: the transfer fails with the reason the bank gave.
    let closed = reqwest::Client::new()
        .post(format!("{}/control/payout-destinations/close", standin.base_url))
        .json(&json!({"type": "WALLET", "institution": "ecny", "account_no": "0099999999999999", "reason": "ACCOUNT_NOT_EXIST"}))
        .send()
        .await
        .unwrap();
    assert!(closed.status().is_success());
    let no = order_no("PAYOUT");
    gw.create_transfer(&transfer(&no, 100, "0099999999999999", NOWHERE))
        .await
        .unwrap();
    let failed = gw.query_transfer(&no).await.unwrap();
    assert_eq!(
        (failed.state, failed.fail_reason),
        (
            TransferState::Fail,
            Some(TransferFailReason::AccountNotExist)
        )
    );
    // The control API lists both, the payee masked.
    let listed = control(&standin, "/control/transfers").await;
    let listed = listed["transfers"].as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["payee"], "WALLET ecny ****1234");
    assert!(!listed[0].to_string().contains("0012345678901234"));
}
