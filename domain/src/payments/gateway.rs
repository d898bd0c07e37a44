//! The payment gateway as the domain sees it: a port ([`PaymentGateway`]) and the value types it
//! speaks. The protocol (WeChat Pay API v3, `shared/GATEWAY.md`) lives in the adapter in `infra`;
//! these types are parsed once from its wire form and carry no HTTP, JSON or crypto.

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Utc};

use crate::error::ValueError;
use crate::money::Fen;

/// The merchant's order number: 6–32 characters of `[A-Za-z0-9_*-]`, unique per merchant.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OutTradeNo(String);

impl OutTradeNo {
    pub fn parse(s: &str) -> Result<OutTradeNo, ValueError> {
        parse_order_no(s, 6, 32, b"_*-").map(OutTradeNo)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The merchant's refund number: 1–64 characters of `[A-Za-z0-9_*@|-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OutRefundNo(String);

impl OutRefundNo {
    pub fn parse(s: &str) -> Result<OutRefundNo, ValueError> {
        parse_order_no(s, 1, 64, b"_*@|-").map(OutRefundNo)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl_text_value!(OutTradeNo, OutRefundNo);

fn parse_order_no(s: &str, min: usize, max: usize, extra: &[u8]) -> Result<String, ValueError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(ValueError::Empty);
    }
    if s.len() < min {
        return Err(ValueError::TooShort { min });
    }
    if s.len() > max {
        return Err(ValueError::TooLong { max });
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
    {
        return Err(ValueError::Format {
            expected: "letters, digits and _ * - (refunds also @ |)",
        });
    }
    Ok(s.to_owned())
}

/// The gateway's id for a created order, handed to the phone app to open the payment sheet.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PrepayId(pub String);

/// A text shown to people, in both languages the service answers in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Bilingual {
    pub zh: &'static str,
    pub en: &'static str,
}

/// Where an order stands at the gateway (`trade_state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TradeState {
    /// Paid.
    Success,
    /// Paid, and a refund has been made.
    Refund,
    /// Not paid yet: the payer may still pay (or try another card after a failure).
    NotPay,
    /// Closed by the merchant (or expired and closed): it can no longer be paid.
    Closed,
    /// The payer is paying (for example entering a password).
    UserPaying,
    /// The payment failed (the reason is in `trade_state_desc`).
    PayError,
}

impl TradeState {
    pub const ALL: [TradeState; 6] = [
        TradeState::Success,
        TradeState::Refund,
        TradeState::NotPay,
        TradeState::Closed,
        TradeState::UserPaying,
        TradeState::PayError,
    ];

    /// The protocol's name.
    pub fn as_str(&self) -> &'static str {
        match self {
            TradeState::Success => "SUCCESS",
            TradeState::Refund => "REFUND",
            TradeState::NotPay => "NOTPAY",
            TradeState::Closed => "CLOSED",
            TradeState::UserPaying => "USERPAYING",
            TradeState::PayError => "PAYERROR",
        }
    }

    pub fn parse(s: &str) -> Result<TradeState, ValueError> {
        TradeState::ALL
            .into_iter()
            .find(|state| state.as_str() == s.trim())
            .ok_or(ValueError::OneOf {
                allowed: "SUCCESS, REFUND, NOTPAY, CLOSED, USERPAYING, PAYERROR",
            })
    }

    /// Money was taken: `SUCCESS`, or `REFUND` (paid, then refunded in part or whole).
    pub fn is_paid(&self) -> bool {
        matches!(self, TradeState::Success | TradeState::Refund)
    }
}

/// Why a payment failed, as the gateway reports it, with what the payer is told.
///
/// The gateway names the reason in `trade_state_desc` (text) for a `PAYERROR` order, or as an
/// error `code` on a call; [`FailureCode::from_trade_state_desc`] and [`FailureCode::parse`]
/// read either. Anything not recognised is [`FailureCode::PayError`], the generic reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureCode {
    /// The card's or wallet's balance is too low.
    NotEnough,
    /// The card is frozen by its bank.
    CardFrozen,
    /// The amount is over the card's or account's payment limit.
    ExceedLimit,
    /// The card has expired.
    CardExpired,
    /// The bank's system failed.
    BankError,
    /// Failed for another reason.
    PayError,
}

impl FailureCode {
    pub const ALL: [FailureCode; 6] = [
        FailureCode::NotEnough,
        FailureCode::CardFrozen,
        FailureCode::ExceedLimit,
        FailureCode::CardExpired,
        FailureCode::BankError,
        FailureCode::PayError,
    ];

    /// The gateway's code.
    pub fn code(&self) -> &'static str {
        match self {
            FailureCode::NotEnough => "NOTENOUGH",
            FailureCode::CardFrozen => "CARD_FROZEN",
            FailureCode::ExceedLimit => "EXCEED_LIMIT",
            FailureCode::CardExpired => "CARD_EXPIRED",
            FailureCode::BankError => "BANK_ERROR",
            FailureCode::PayError => "PAYERROR",
        }
    }

    /// A known code (exactly as the gateway spells it).
    pub fn parse(code: &str) -> Result<FailureCode, ValueError> {
        FailureCode::ALL
            .into_iter()
            .find(|f| f.code() == code.trim())
            .ok_or(ValueError::OneOf {
                allowed: "NOTENOUGH, CARD_FROZEN, EXCEED_LIMIT, CARD_EXPIRED, BANK_ERROR, PAYERROR",
            })
    }

    /// The reason behind a `PAYERROR` order's `trade_state_desc`: the code itself when the text
    /// carries it, else the gateway's usual Chinese wording; the generic reason otherwise.
    pub fn from_trade_state_desc(desc: &str) -> FailureCode {
        let specific = &FailureCode::ALL[..FailureCode::ALL.len() - 1];
        if let Some(found) = specific.iter().find(|f| desc.contains(f.code())) {
            return *found;
        }
        const WORDING: [(&str, FailureCode); 6] = [
            ("余额不足", FailureCode::NotEnough),
            ("冻结", FailureCode::CardFrozen),
            ("限额", FailureCode::ExceedLimit),
            ("过期", FailureCode::CardExpired),
            ("有效期", FailureCode::CardExpired),
            ("银行系统", FailureCode::BankError),
        ];
        WORDING
            .iter()
            .find(|(words, _)| desc.contains(words))
            .map_or(FailureCode::PayError, |(_, code)| *code)
    }

    /// What happened, for the payer.
    pub fn message(&self) -> Bilingual {
        match self {
            FailureCode::NotEnough => Bilingual {
                zh: "银行卡或零钱余额不足，支付未成功。",
                en: "The card's or wallet's balance was too low; the payment did not go through.",
            },
            FailureCode::CardFrozen => Bilingual {
                zh: "银行卡已被发卡行冻结，支付未成功。",
                en: "The card is frozen by its bank; the payment did not go through.",
            },
            FailureCode::ExceedLimit => Bilingual {
                zh: "金额超出银行卡或账户的支付限额，支付未成功。",
                en: "The amount is over the card's or account's payment limit; the payment did not go through.",
            },
            FailureCode::CardExpired => Bilingual {
                zh: "银行卡已过期，支付未成功。",
                en: "The card has expired; the payment did not go through.",
            },
            FailureCode::BankError => Bilingual {
                zh: "银行系统暂时出现故障，支付未成功。",
                en: "The bank's system failed for a moment; the payment did not go through.",
            },
            FailureCode::PayError => Bilingual {
                zh: "支付未成功。",
                en: "The payment did not go through.",
            },
        }
    }

    /// What the payer can do next.
    pub fn what_to_do(&self) -> Bilingual {
        match self {
            FailureCode::NotEnough => Bilingual {
                zh: "请换一张银行卡支付，或充值后重试。",
                en: "Pay with another card, or top up and try again.",
            },
            FailureCode::CardFrozen => Bilingual {
                zh: "请换一张银行卡支付，或联系发卡银行解冻。",
                en: "Pay with another card, or ask your bank to unfreeze this one.",
            },
            FailureCode::ExceedLimit => Bilingual {
                zh: "请换一张银行卡支付，或在银行调高支付限额后重试。",
                en: "Pay with another card, or raise the limit with your bank and try again.",
            },
            FailureCode::CardExpired => Bilingual {
                zh: "请换一张有效的银行卡支付。",
                en: "Pay with another card that is still valid.",
            },
            FailureCode::BankError => Bilingual {
                zh: "请稍后重试，或换一张银行卡支付。",
                en: "Try again in a few minutes, or pay with another card.",
            },
            FailureCode::PayError => Bilingual {
                zh: "请稍后重试；如仍失败，请换一种支付方式。",
                en: "Try again later; if it fails again, use another way to pay.",
            },
        }
    }
}

/// An order to create at the gateway (an app payment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppOrder {
    pub out_trade_no: OutTradeNo,
    /// What is paid for, shown to the payer (1–127 characters).
    pub description: String,
    /// More than zero.
    pub amount: Fen,
    /// After this the order can no longer be paid.
    pub time_expire: DateTime<Utc>,
    /// Where the gateway sends the notification.
    pub notify_url: String,
}

impl AppOrder {
    pub fn new(
        out_trade_no: OutTradeNo,
        description: &str,
        amount: Fen,
        time_expire: DateTime<Utc>,
        notify_url: &str,
    ) -> Result<AppOrder, ValueError> {
        let description = crate::text::bounded_text(description, 127)?.to_owned();
        if amount.0 <= 0 {
            return Err(ValueError::Range {
                min: 1,
                max: i64::MAX,
            });
        }
        let notify_url = notify_url.trim();
        if !(notify_url.starts_with("https://") || notify_url.starts_with("http://")) {
            return Err(ValueError::Format {
                expected: "an http(s) URL",
            });
        }
        Ok(AppOrder {
            out_trade_no,
            description,
            amount,
            time_expire,
            notify_url: notify_url.to_owned(),
        })
    }
}

/// An order as the gateway reports it (a query, a notification).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    pub out_trade_no: OutTradeNo,
    /// The gateway's id; absent until the payer pays.
    pub transaction_id: Option<String>,
    pub trade_state: TradeState,
    pub trade_state_desc: String,
    pub bank_type: Option<String>,
    pub success_time: Option<DateTime<FixedOffset>>,
    /// The order's amount.
    pub total: Fen,
    /// What the payer paid (after coupons); absent until paid.
    pub payer_total: Option<Fen>,
}

impl Transaction {
    /// Why it failed, for a `PAYERROR` order.
    pub fn failure(&self) -> Option<FailureCode> {
        (self.trade_state == TradeState::PayError)
            .then(|| FailureCode::from_trade_state_desc(&self.trade_state_desc))
    }
}

/// Where a refund stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefundStatus {
    Success,
    Closed,
    Processing,
    Abnormal,
}

impl RefundStatus {
    pub const ALL: [RefundStatus; 4] = [
        RefundStatus::Success,
        RefundStatus::Closed,
        RefundStatus::Processing,
        RefundStatus::Abnormal,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            RefundStatus::Success => "SUCCESS",
            RefundStatus::Closed => "CLOSED",
            RefundStatus::Processing => "PROCESSING",
            RefundStatus::Abnormal => "ABNORMAL",
        }
    }

    pub fn parse(s: &str) -> Result<RefundStatus, ValueError> {
        RefundStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == s.trim())
            .ok_or(ValueError::OneOf {
                allowed: "SUCCESS, CLOSED, PROCESSING, ABNORMAL",
            })
    }
}

/// A refund to ask the gateway for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    pub out_trade_no: OutTradeNo,
    pub out_refund_no: OutRefundNo,
    /// Shown to the payer (at most 80 characters).
    pub reason: String,
    /// What to give back: more than zero, at most `total`.
    pub refund: Fen,
    /// The order's amount.
    pub total: Fen,
    pub notify_url: String,
}

impl RefundRequest {
    pub fn new(
        out_trade_no: OutTradeNo,
        out_refund_no: OutRefundNo,
        reason: &str,
        refund: Fen,
        total: Fen,
        notify_url: &str,
    ) -> Result<RefundRequest, ValueError> {
        let reason = crate::text::bounded_text(reason, 80)?.to_owned();
        if total.0 <= 0 || refund.0 <= 0 || refund > total {
            return Err(ValueError::Range {
                min: 1,
                max: total.0.max(1),
            });
        }
        Ok(RefundRequest {
            out_trade_no,
            out_refund_no,
            reason,
            refund,
            total,
            notify_url: notify_url.trim().to_owned(),
        })
    }
}

/// A refund as the gateway reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub refund_id: String,
    pub out_refund_no: OutRefundNo,
    pub out_trade_no: OutTradeNo,
    pub status: RefundStatus,
    pub refund: Fen,
    pub total: Fen,
    pub success_time: Option<DateTime<FixedOffset>>,
}

/// One line of the day's trade bill: a payment (`SUCCESS`) or a refund (`REFUND`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradeBillRow {
    /// Beijing time, as the bill writes it.
    pub trade_time: NaiveDateTime,
    pub transaction_id: String,
    pub out_trade_no: OutTradeNo,
    pub trade_state: TradeState,
    /// The order's amount (应结订单金额; zero on a refund line).
    pub total: Fen,
    pub refund_id: Option<String>,
    pub out_refund_no: Option<OutRefundNo>,
    /// The refund's amount (zero on a payment line).
    pub refund: Fen,
    pub refund_status: Option<RefundStatus>,
}

/// The bill's closing summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TradeBillSummary {
    /// Number of lines (总交易单数).
    pub count: u64,
    /// Sum of the orders' amounts (应结订单总金额).
    pub total: Fen,
    /// Sum of the refunds (退款总金额).
    pub refunds: Fen,
}

/// The gateway's record of one day's transactions and refunds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradeBill {
    pub date: NaiveDate,
    pub rows: Vec<TradeBillRow>,
    pub summary: TradeBillSummary,
}

impl TradeBill {
    /// Builds a bill and checks that its summary adds up to its lines: a bill that does not is
    /// damaged and must not be reconciled against.
    pub fn new(
        date: NaiveDate,
        rows: Vec<TradeBillRow>,
        summary: TradeBillSummary,
    ) -> Result<TradeBill, ValueError> {
        let sum = |f: fn(&TradeBillRow) -> Fen| {
            rows.iter()
                .try_fold(Fen::ZERO, |acc, row| acc.checked_add(f(row)))
        };
        let count_ok = u64::try_from(rows.len()).ok() == Some(summary.count);
        if !count_ok
            || sum(|r| r.total) != Some(summary.total)
            || sum(|r| r.refund) != Some(summary.refunds)
        {
            return Err(ValueError::Rule(
                "the bill's summary does not add up to its lines",
            ));
        }
        Ok(TradeBill {
            date,
            rows,
            summary,
        })
    }
}

/// What a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotificationEvent {
    TransactionSuccess,
    RefundSuccess,
    RefundAbnormal,
    RefundClosed,
    /// A transfer bill (商家转账) reached `SUCCESS` or `FAIL`.
    TransferFinished,
}

impl NotificationEvent {
    pub const ALL: [NotificationEvent; 5] = [
        NotificationEvent::TransactionSuccess,
        NotificationEvent::RefundSuccess,
        NotificationEvent::RefundAbnormal,
        NotificationEvent::RefundClosed,
        NotificationEvent::TransferFinished,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            NotificationEvent::TransactionSuccess => "TRANSACTION.SUCCESS",
            NotificationEvent::RefundSuccess => "REFUND.SUCCESS",
            NotificationEvent::RefundAbnormal => "REFUND.ABNORMAL",
            NotificationEvent::RefundClosed => "REFUND.CLOSED",
            NotificationEvent::TransferFinished => "MCHTRANSFER.BILL.FINISHED",
        }
    }

    pub fn parse(s: &str) -> Result<NotificationEvent, ValueError> {
        NotificationEvent::ALL
            .into_iter()
            .find(|event| event.as_str() == s.trim())
            .ok_or(ValueError::OneOf {
                allowed: "TRANSACTION.SUCCESS, REFUND.SUCCESS, REFUND.ABNORMAL, REFUND.CLOSED, MCHTRANSFER.BILL.FINISHED",
            })
    }
}

/// A notification exactly as it arrived: the four signature headers (absent when missing) and
/// the raw body. Only [`PaymentGateway::verify_notification`] turns it into a [`Notification`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SignedNotification {
    pub serial: Option<String>,
    pub signature: Option<String>,
    pub timestamp: Option<String>,
    pub nonce: Option<String>,
    pub body: Vec<u8>,
}

/// A verified and decrypted notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The event's id: the same event delivered again has the same id.
    pub id: String,
    pub create_time: DateTime<FixedOffset>,
    pub event: NotificationEvent,
    pub summary: String,
    pub resource: NotificationResource,
}

/// The decrypted resource of a notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotificationResource {
    Transaction(Transaction),
    Refund(Refund),
    TransferBill(TransferBill),
}

/// Where a transfer goes: the payee's bank card or wallet. Sent only to the gateway (in the
/// signed request body, over TLS in production), never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct TransferPayee {
    /// `BANK_CARD` or `WALLET`.
    pub kind: &'static str,
    /// The bank code (`ICBC`) or the wallet provider (`ecny`).
    pub institution: String,
    pub account_no: String,
}

impl std::fmt::Debug for TransferPayee {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} {}",
            self.kind,
            self.institution,
            crate::payouts::mask(&self.account_no)
        )
    }
}

/// A transfer to create (商家转账 `POST /v3/fund-app/mch-transfer/transfer-bills`). The same
/// `out_bill_no` with the same body is the same bill; with another body it is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferRequest {
    /// Same rules as an `out_trade_no`: 6–32 of `[A-Za-z0-9_*-]`.
    pub out_bill_no: OutTradeNo,
    /// The transfer's scene (转账场景), agreed with the gateway.
    pub transfer_scene_id: String,
    pub amount: Fen,
    pub remark: String,
    pub notify_url: String,
    pub payee: TransferPayee,
}

/// A transfer bill as the gateway reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferBill {
    pub out_bill_no: OutTradeNo,
    pub transfer_bill_no: String,
    pub state: crate::payouts::TransferState,
    pub fail_reason: Option<crate::payouts::TransferFailReason>,
    /// Absent in the creation's answer.
    pub amount: Option<Fen>,
    pub create_time: DateTime<FixedOffset>,
}

/// Why a gateway call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// Cannot be reached, timed out, or kept answering 5xx / `FREQUENCY_LIMITED` after the
    /// retries: try again later (the caller answers 503).
    #[error("payment gateway unavailable: {0}")]
    Unavailable(String),
    /// `ORDERNOTEXIST` / `RESOURCE_NOT_EXISTS`.
    #[error("the gateway does not know this order or refund")]
    NotFound,
    /// `ORDERPAID`: the order was paid (so it cannot be closed).
    #[error("the order is already paid")]
    OrderPaid,
    /// `ORDER_CLOSED`: the order was closed (so it cannot be paid or refunded).
    #[error("the order is closed")]
    OrderClosed,
    /// The same `out_trade_no` was created before with a different body.
    #[error("this order number was used for a different order")]
    OrderNoUsed,
    /// Any other refusal (4xx), with the gateway's code and message.
    #[error("the gateway refused: {code}: {message}")]
    Rejected { code: String, message: String },
    /// A response or notification whose signature did not verify (unknown serial, stale
    /// timestamp, bad signature) or could not be decrypted: never trusted.
    #[error("the gateway's signature did not verify: {0}")]
    BadSignature(String),
    /// A signed answer that does not read as the protocol says.
    #[error("the gateway's answer is not understood: {0}")]
    InvalidResponse(String),
}

impl GatewayError {
    /// The payer-facing reason when the gateway refused with a payment failure code.
    pub fn failure(&self) -> Option<FailureCode> {
        match self {
            GatewayError::Rejected { code, .. } => FailureCode::parse(code).ok(),
            _ => None,
        }
    }
}

/// The future a gateway call returns.
pub type GatewayFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, GatewayError>> + Send + 'a>>;

/// The payment gateway (WeChat Pay API v3, or the stand-in speaking it).
pub trait PaymentGateway: Send + Sync + 'static {
    /// Creates an app order. The same order again gives the same prepay id; the same
    /// `out_trade_no` with anything else changed is [`GatewayError::OrderNoUsed`].
    fn create_app_order<'a>(&'a self, order: &'a AppOrder) -> GatewayFuture<'a, PrepayId>;

    /// The order as the gateway sees it now.
    fn query_order<'a>(&'a self, out_trade_no: &'a OutTradeNo) -> GatewayFuture<'a, Transaction>;

    /// Closes an unpaid order ([`GatewayError::OrderPaid`] when it was paid after all).
    fn close_order<'a>(&'a self, out_trade_no: &'a OutTradeNo) -> GatewayFuture<'a, ()>;

    /// Refunds (part of) a paid order.
    fn refund<'a>(&'a self, request: &'a RefundRequest) -> GatewayFuture<'a, Refund>;

    /// A refund as the gateway sees it now.
    fn query_refund<'a>(&'a self, out_refund_no: &'a OutRefundNo) -> GatewayFuture<'a, Refund>;

    /// The day's trade bill (downloaded, its hash checked, parsed).
    fn trade_bill<'a>(&'a self, date: NaiveDate) -> GatewayFuture<'a, TradeBill>;

    /// Creates a transfer bill (or answers the one made before with the same request).
    fn create_transfer<'a>(
        &'a self,
        request: &'a TransferRequest,
    ) -> GatewayFuture<'a, TransferBill>;

    /// A transfer bill as the gateway sees it now ([`GatewayError::NotFound`] if it never
    /// arrived).
    fn query_transfer<'a>(&'a self, out_bill_no: &'a OutTradeNo)
        -> GatewayFuture<'a, TransferBill>;

    /// Verifies a notification's signature and decrypts its resource. No I/O.
    fn verify_notification(
        &self,
        notification: &SignedNotification,
    ) -> Result<Notification, GatewayError>;
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn out_trade_no_is_6_to_32_of_the_allowed_characters() {
        assert_eq!(OutTradeNo::parse("ABC123").unwrap().as_str(), "ABC123");
        assert!(OutTradeNo::parse("P_2026-12*x").is_ok());
        assert!(OutTradeNo::parse(&"a".repeat(32)).is_ok());
        assert_eq!(
            OutTradeNo::parse("ABC12"),
            Err(ValueError::TooShort { min: 6 })
        );
        assert_eq!(
            OutTradeNo::parse(&"a".repeat(33)),
            Err(ValueError::TooLong { max: 32 })
        );
        assert!(matches!(
            OutTradeNo::parse("ABC 123"),
            Err(ValueError::Format { .. })
        ));
        assert!(matches!(
            OutTradeNo::parse("订单123456"),
            Err(ValueError::Format { .. })
        ));
        assert!(matches!(
            OutTradeNo::parse("ABC@123"),
            Err(ValueError::Format { .. })
        ));
        assert_eq!(OutTradeNo::parse("  "), Err(ValueError::Empty));
        // serde goes through parse.
        assert!(serde_json::from_str::<OutTradeNo>("\"ab\"").is_err());
        assert_eq!(
            serde_json::to_string(&OutTradeNo::parse("ABC123").unwrap()).unwrap(),
            "\"ABC123\""
        );
    }

    #[test]
    fn out_refund_no_allows_at_and_bar() {
        assert!(OutRefundNo::parse("R").is_ok());
        assert!(OutRefundNo::parse("R@1|2").is_ok());
        assert!(OutRefundNo::parse(&"r".repeat(65)).is_err());
        assert!(OutRefundNo::parse("R#1").is_err());
    }

    #[test]
    fn names_round_trip() {
        for state in TradeState::ALL {
            assert_eq!(TradeState::parse(state.as_str()), Ok(state));
        }
        for status in RefundStatus::ALL {
            assert_eq!(RefundStatus::parse(status.as_str()), Ok(status));
        }
        for event in NotificationEvent::ALL {
            assert_eq!(NotificationEvent::parse(event.as_str()), Ok(event));
        }
        for code in FailureCode::ALL {
            assert_eq!(FailureCode::parse(code.code()), Ok(code));
        }
        assert!(TradeState::parse("success").is_err());
        assert!(FailureCode::parse("SOMETHING").is_err());
        assert!(TradeState::Success.is_paid() && TradeState::Refund.is_paid());
        assert!(!TradeState::PayError.is_paid() && !TradeState::NotPay.is_paid());
    }

    #[test]
    fn the_failure_reason_is_read_from_the_description() {
        let cases = [
            ("用户账户余额不足", FailureCode::NotEnough),
            ("银行卡已冻结，请联系发卡行", FailureCode::CardFrozen),
            ("超出单笔支付限额", FailureCode::ExceedLimit),
            ("银行卡已过期", FailureCode::CardExpired),
            ("银行系统异常", FailureCode::BankError),
            ("NOTENOUGH", FailureCode::NotEnough),
            ("支付失败(EXCEED_LIMIT)", FailureCode::ExceedLimit),
            ("支付失败，其他原因", FailureCode::PayError),
            ("", FailureCode::PayError),
        ];
        for (desc, expected) in cases {
            assert_eq!(FailureCode::from_trade_state_desc(desc), expected, "{desc}");
        }
    }

    #[test]
    fn every_failure_tells_the_payer_what_happened_and_what_to_do() {
        let not_enough = FailureCode::NotEnough;
        assert!(not_enough.message().zh.contains("余额不足"));
        assert!(not_enough.message().en.contains("balance was too low"));
        assert!(not_enough.what_to_do().en.contains("another card"));
        assert!(not_enough.what_to_do().zh.contains("换一张银行卡"));
        for code in FailureCode::ALL {
            for text in [code.message(), code.what_to_do()] {
                assert!(!text.zh.is_empty() && !text.en.is_empty(), "{code:?}");
            }
        }
        let transaction = |state, desc: &str| Transaction {
            out_trade_no: OutTradeNo::parse("ORDER1").unwrap(),
            transaction_id: None,
            trade_state: state,
            trade_state_desc: desc.to_owned(),
            bank_type: None,
            success_time: None,
            total: Fen(100),
            payer_total: None,
        };
        assert_eq!(
            transaction(TradeState::PayError, "用户账户余额不足").failure(),
            Some(FailureCode::NotEnough)
        );
        assert_eq!(transaction(TradeState::NotPay, "余额不足").failure(), None);
        let refused = GatewayError::Rejected {
            code: "NOTENOUGH".into(),
            message: "余额不足".into(),
        };
        assert_eq!(refused.failure(), Some(FailureCode::NotEnough));
        assert_eq!(GatewayError::NotFound.failure(), None);
    }

    fn ts() -> DateTime<Utc> {
        "2026-12-02T10:15:00Z".parse().unwrap()
    }

    #[test]
    fn an_order_needs_a_description_an_amount_and_a_url() {
        let no = OutTradeNo::parse("ORDER1").unwrap();
        let ok = AppOrder::new(
            no.clone(),
            " 养老保险 2026-12 ",
            Fen(56_789),
            ts(),
            "https://x/n",
        )
        .unwrap();
        assert_eq!(ok.description, "养老保险 2026-12");
        assert!(AppOrder::new(no.clone(), "x", Fen(0), ts(), "https://x/n").is_err());
        assert!(AppOrder::new(no.clone(), "", Fen(1), ts(), "https://x/n").is_err());
        assert!(AppOrder::new(no.clone(), &"字".repeat(128), Fen(1), ts(), "https://x").is_err());
        assert!(AppOrder::new(no, "x", Fen(1), ts(), "ftp://x/n").is_err());
    }

    #[test]
    fn a_refund_is_more_than_nothing_and_at_most_the_order() {
        let no = OutTradeNo::parse("ORDER1").unwrap();
        let r = OutRefundNo::parse("R1").unwrap();
        let make = |refund, total| {
            RefundRequest::new(
                no.clone(),
                r.clone(),
                "重复缴费",
                Fen(refund),
                Fen(total),
                "",
            )
        };
        assert!(make(100, 100).is_ok());
        assert!(make(1, 100).is_ok());
        assert!(make(101, 100).is_err());
        assert!(make(0, 100).is_err());
        assert!(make(-5, 100).is_err());
    }

    fn row(state: TradeState, total: i64, refund: i64) -> TradeBillRow {
        TradeBillRow {
            trade_time: "2026-12-02T10:15:00".parse().unwrap(),
            transaction_id: "4200000001".into(),
            out_trade_no: OutTradeNo::parse("ORDER1").unwrap(),
            trade_state: state,
            total: Fen(total),
            refund_id: None,
            out_refund_no: None,
            refund: Fen(refund),
            refund_status: None,
        }
    }

    #[test]
    fn a_bill_whose_summary_does_not_add_up_is_refused() {
        let date: NaiveDate = "2026-12-02".parse().unwrap();
        // Two payments of 560.00 and 1,234.56 yuan and a refund of 100.00: three lines,
        // 179,456 fen of orders, 10,000 fen refunded.
        let rows = vec![
            row(TradeState::Success, 56_000, 0),
            row(TradeState::Success, 123_456, 0),
            row(TradeState::Refund, 0, 10_000),
        ];
        let summary = TradeBillSummary {
            count: 3,
            total: Fen(179_456),
            refunds: Fen(10_000),
        };
        assert!(TradeBill::new(date, rows.clone(), summary).is_ok());
        for wrong in [
            TradeBillSummary {
                count: 2,
                ..summary
            },
            TradeBillSummary {
                total: Fen(179_455),
                ..summary
            },
            TradeBillSummary {
                refunds: Fen(0),
                ..summary
            },
        ] {
            assert!(TradeBill::new(date, rows.clone(), wrong).is_err());
        }
    }
}
