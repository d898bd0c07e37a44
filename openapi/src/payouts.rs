//! Bodies of benefit payouts (待遇发放): the person's payout account (a UnionPay bank card or a
//! digital wallet; numbers only ever masked), the staff's monthly payout runs and their counts.
//! Money is integer fen in fields named `…_fen`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// `bank_card`: a UnionPay debit card; `wallet`: a digital wallet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PayoutAccountKind {
    BankCard,
    Wallet,
}

/// A new payout account. With `kind: "bank_card"`: `bank_code` (ICBC, ABC, BOC, CCB, BCOM, CMB,
/// PSBC, CIB, SPDB, CITIC, CEB, CMBC, HXB, GDB, PAB) and `card_number` (16–19 digits, Luhn);
/// with `kind: "wallet"`: `provider` (`ecny`: 16 digits; `wechat`: a 28-character openid;
/// `alipay`: 16 digits from 2088) and `wallet_id`. Fields of the other kind must be absent.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"kind": "wallet", "provider": "ecny", "wallet_id": "0012345678901234"}))]
pub struct PayoutAccountRequest {
    pub kind: PayoutAccountKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "ICBC")]
    pub bank_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "6222021234567890128")]
    pub card_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "ecny")]
    pub provider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "0012345678901234")]
    pub wallet_id: Option<String>,
}

/// A payout account as shown: the number masked.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PayoutAccountView {
    pub id: Uuid,
    pub kind: PayoutAccountKind,
    /// The bank code (`ICBC`) or the wallet provider (`ecny`).
    #[schema(example = "ecny")]
    pub institution: String,
    #[schema(example = "0012 **** **** 1234")]
    pub number: String,
    pub requested_at: DateTime<Utc>,
    /// When it takes (or took) effect: the request's time plus the cooling period.
    pub effective_at: DateTime<Utc>,
}

/// The account payouts go to now, and the change waiting out its cooling period.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PayoutAccounts {
    pub current: Option<PayoutAccountView>,
    pub pending: Option<PayoutAccountView>,
}

/// `pension` or `unemployment`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PayoutBenefit {
    Pension,
    Unemployment,
}

/// A payout run: pays every person entitled to `benefit` for `period` who has no transfer for
/// that month yet (or whose last one failed), and every earlier month of the last 12 they were
/// owed and not paid (the catch-up).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"period": "2026-11", "benefit": "pension"}))]
pub struct PayoutRunRequest {
    #[schema(
        example = "2026-11",
        pattern = "^(19|[2-9][0-9])[0-9]{2}-(0[1-9]|1[0-2])$"
    )]
    pub period: String,
    pub benefit: PayoutBenefit,
}

/// `pending`: sent to the gateway, not settled yet; `paid`; `failed`: returned to the fund and
/// paid again by a later run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PayoutStatus {
    Pending,
    Paid,
    Failed,
}

/// How many transfers, and how much, in one status.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct StatusTotals {
    pub count: u32,
    pub amount_fen: i64,
}

/// A run and what became of its transfers.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PayoutRunView {
    pub id: Uuid,
    pub period: String,
    pub benefit: PayoutBenefit,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Persons entitled for the month.
    pub entitled: u32,
    /// Persons owed this month or an earlier one (the catch-up), but without a payout account
    /// in effect: not paid (they are texted, once a month owed; a later run pays them).
    pub skipped_no_account: u32,
    /// Persons entitled for the month and paid for it (or being paid) already: by an earlier
    /// run, or by the previous system.
    pub already_paid: u32,
    /// The transfers this run made, by status (the catch-up's included).
    pub pending: StatusTotals,
    pub paid: StatusTotals,
    pub failed: StatusTotals,
    /// Of the transfers this run made, those for months before its own (the catch-up): a month
    /// of the last 12 the person was owed and not paid — a failed transfer, no payout account
    /// in effect then, a month nobody ran — now that the account is in effect. Counted in
    /// `pending`, `paid` and `failed` too.
    pub catch_up: StatusTotals,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PayoutRunList {
    pub items: Vec<PayoutRunView>,
    pub next_cursor: Option<String>,
}

/// A benefit transfer as the person sees it in `/v1/me/benefits`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PayoutView {
    pub period: String,
    pub benefit: PayoutBenefit,
    pub amount_fen: i64,
    pub status: PayoutStatus,
    /// Where it went: the institution and the masked number.
    #[schema(example = "ecny 0012 **** **** 1234")]
    pub destination: String,
    /// Why it failed (`ACCOUNT_NOT_EXIST`, `ACCOUNT_FROZEN`, `NAME_NOT_CORRECT`, `OTHER`).
    pub fail_reason: Option<String>,
    pub attempt: u32,
    pub updated_at: DateTime<Utc>,
}
