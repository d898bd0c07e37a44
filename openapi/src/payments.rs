//! Bodies of premium payments: what is owed (`/v1/me/payables`), the flexible base, payees,
//! payments and their timeline, the gateway's notification answer, reconciliation and the
//! ledger's trial balance. Money is integer fen in fields named `…_fen`.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::records::Insurance;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PayableKind {
    FlexibleMonth,
    ArrearsMonth,
    ResidentMedicalYear,
}

/// Who a payable covers: the name and the masked ID number, never the number itself.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CoveredPerson {
    pub name: String,
    #[schema(example = "4403**********1234")]
    pub national_id: String,
}

/// One thing that can be paid now, with its amounts as of today (computed on the server).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PayableView {
    /// Send this id back in `POST /v1/me/payments`.
    #[schema(example = "flexible_month:2026-12:pension")]
    pub id: String,
    pub kind: PayableKind,
    pub insurance: Insurance,
    /// The month (`YYYY-MM`), for month payables.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    /// The year, for the resident premium.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub year: Option<i32>,
    pub for_person: CoveredPerson,
    /// The base a month is paid on; null for the resident premium.
    pub base_fen: Option<i64>,
    pub principal_fen: i64,
    pub late_fee_fen: i64,
    pub amount_fen: i64,
    pub due_date: NaiveDate,
    /// The open payment that already covers it, or null.
    pub in_payment: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PayableList {
    pub items: Vec<PayableView>,
    pub total_fen: i64,
}

/// The base a flexible-employment person pays on in a year.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"year": 2026, "base_fen": 1000000}))]
pub struct FlexibleBaseRequest {
    #[schema(minimum = 1990, maximum = 2100)]
    pub year: i32,
    /// Within the region's floor and ceiling for the year.
    #[schema(minimum = 1, maximum = 1000000000)]
    pub base_fen: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FlexibleBaseView {
    pub year: i32,
    pub base_fen: i64,
    pub floor_fen: i64,
    pub ceiling_fen: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    #[serde(rename = "self")]
    Own,
    Spouse,
    Parent,
    Child,
    Other,
}

/// Someone whose resident premium this account may pay; matched against the registry.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"national_id": "110101195001011239", "name": "张秀英", "relation": "parent"}))]
pub struct PayeeRequest {
    #[schema(min_length = 18, max_length = 18, pattern = "^[0-9]{17}[0-9X]$")]
    pub national_id: String,
    #[schema(min_length = 1, max_length = 50)]
    pub name: String,
    pub relation: Relation,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PayeeView {
    pub id: Uuid,
    pub name: String,
    /// Masked.
    pub national_id: String,
    pub relation: Relation,
    /// `resident` or `employee`: only residents pay the resident premium.
    pub medical_category: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PayeeList {
    pub items: Vec<PayeeView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Wechat,
}

/// What to pay: payable ids from `GET /v1/me/payables`. Amounts are computed on the server.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"payables": ["flexible_month:2026-12:pension"], "channel": "wechat"}))]
pub struct PaymentRequest {
    #[schema(min_items = 1, max_items = 50)]
    pub payables: Vec<String>,
    pub channel: Channel,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    AwaitingPayment,
    Pending,
    Paid,
    Failed,
    Cancelled,
    Expired,
    Refunded,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PaymentItem {
    pub payable: String,
    pub principal_fen: i64,
    pub late_fee_fen: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GatewayOrder {
    /// What the phone passes to the payment SDK; null while the gateway was unreachable (send
    /// the same request with the same Idempotency-Key again).
    pub prepay_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TimelineStep {
    pub at: DateTime<Utc>,
    pub status: PaymentStatus,
    pub detail: String,
}

/// Why a payment failed, in words the payer understands (Chinese, or English with
/// `Accept-Language: en`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FailureView {
    #[schema(example = "NOTENOUGH")]
    pub code: String,
    pub message: String,
    pub what_to_do: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RefundView {
    #[schema(example = "duplicate")]
    pub reason: String,
    /// What the payer is told.
    pub message: String,
    pub amount_fen: i64,
    /// `REQUESTED`, `PROCESSING`, `SUCCESS`, `ABNORMAL` or `CLOSED`.
    pub status: String,
    pub refunded_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PaymentView {
    pub id: Uuid,
    pub out_trade_no: String,
    pub status: PaymentStatus,
    pub channel: Channel,
    pub amount_fen: i64,
    pub items: Vec<PaymentItem>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// When the gateway says it was paid.
    pub paid_at: Option<DateTime<Utc>>,
    pub gateway: GatewayOrder,
    pub timeline: Vec<TimelineStep>,
    pub failure: Option<FailureView>,
    pub refund: Option<RefundView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PaymentSummary {
    pub id: Uuid,
    pub out_trade_no: String,
    pub status: PaymentStatus,
    pub amount_fen: i64,
    pub created_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PaymentList {
    pub items: Vec<PaymentSummary>,
    pub next_cursor: Option<String>,
}

/// A day's reconciliation.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"date": "2026-12-01", "channel": "wechat"}))]
pub struct ReconciliationRequest {
    pub date: NaiveDate,
    pub channel: Channel,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AmountMismatchView {
    pub out_trade_no: String,
    pub here_fen: i64,
    pub gateway_fen: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReconciliationView {
    pub date: NaiveDate,
    pub channel: Channel,
    /// Pending payments the bill lists, now paid and posted.
    pub confirmed: u32,
    /// Paid already (an earlier run).
    pub already_confirmed: u32,
    /// In the bill, unknown here.
    pub missing_here: Vec<String>,
    /// Paid here on the day, absent from the bill.
    pub missing_at_gateway: Vec<String>,
    pub amount_mismatch: Vec<AmountMismatchView>,
    /// Paid for items another payment had paid: refunded.
    pub refunded: Vec<String>,
    pub run_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TrialBalanceLine {
    /// The account (personal pension accounts rolled up into `personal_pension`).
    #[schema(example = "gateway_clearing.wechat")]
    pub account: String,
    pub debit_fen: i64,
    pub credit_fen: i64,
    /// Debits less credits.
    pub balance_fen: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TrialBalanceView {
    pub as_of: NaiveDate,
    pub accounts: Vec<TrialBalanceLine>,
    pub total_debit_fen: i64,
    pub total_credit_fen: i64,
    pub balanced: bool,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TrialBalanceQuery {
    /// Journals posted up to the end of this day (UTC); default today.
    #[param(value_type = Option<NaiveDate>)]
    pub as_of: Option<String>,
}
