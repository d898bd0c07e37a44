//! Benefit payouts (待遇发放): where a person wants their pension or unemployment benefit paid
//! (a UnionPay bank card or a digital wallet), the cooling period before a change takes effect,
//! who is entitled in a month, the deterministic bill number of each transfer attempt, the
//! gateway's transfer states and failure reasons, and the ledger journals of a payout.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

use crate::applications::ApplicationKind;
use crate::benefits::BenefitKind;
use crate::insurance::InsuranceType;
use crate::ledger::{Account, Journal, JournalError, Line};
use crate::money::Fen;
use crate::period::Period;
use crate::ValueError;

/// The default cooling period of a payout-account change: 24 hours.
pub const DEFAULT_COOLING_SECS: u64 = 86_400;

/// A bank that issues UnionPay debit cards, by its common code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BankCode {
    Icbc,
    Abc,
    Boc,
    Ccb,
    Bcom,
    Cmb,
    Psbc,
    Cib,
    Spdb,
    Citic,
    Ceb,
    Cmbc,
    Hxb,
    Gdb,
    Pab,
}

impl BankCode {
    pub const ALL: [BankCode; 15] = [
        BankCode::Icbc,
        BankCode::Abc,
        BankCode::Boc,
        BankCode::Ccb,
        BankCode::Bcom,
        BankCode::Cmb,
        BankCode::Psbc,
        BankCode::Cib,
        BankCode::Spdb,
        BankCode::Citic,
        BankCode::Ceb,
        BankCode::Cmbc,
        BankCode::Hxb,
        BankCode::Gdb,
        BankCode::Pab,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BankCode::Icbc => "ICBC",
            BankCode::Abc => "ABC",
            BankCode::Boc => "BOC",
            BankCode::Ccb => "CCB",
            BankCode::Bcom => "BCOM",
            BankCode::Cmb => "CMB",
            BankCode::Psbc => "PSBC",
            BankCode::Cib => "CIB",
            BankCode::Spdb => "SPDB",
            BankCode::Citic => "CITIC",
            BankCode::Ceb => "CEB",
            BankCode::Cmbc => "CMBC",
            BankCode::Hxb => "HXB",
            BankCode::Gdb => "GDB",
            BankCode::Pab => "PAB",
        }
    }

    /// The bank's Chinese name, for the person's SMS.
    pub fn chinese_name(self) -> &'static str {
        match self {
            BankCode::Icbc => "中国工商银行",
            BankCode::Abc => "中国农业银行",
            BankCode::Boc => "中国银行",
            BankCode::Ccb => "中国建设银行",
            BankCode::Bcom => "交通银行",
            BankCode::Cmb => "招商银行",
            BankCode::Psbc => "中国邮政储蓄银行",
            BankCode::Cib => "兴业银行",
            BankCode::Spdb => "上海浦东发展银行",
            BankCode::Citic => "中信银行",
            BankCode::Ceb => "中国光大银行",
            BankCode::Cmbc => "中国民生银行",
            BankCode::Hxb => "华夏银行",
            BankCode::Gdb => "广发银行",
            BankCode::Pab => "平安银行",
        }
    }

    pub fn parse(s: &str) -> Result<BankCode, ValueError> {
        BankCode::ALL
            .into_iter()
            .find(|b| b.as_str() == s.trim())
            .ok_or(ValueError::OneOf {
            allowed:
                "ICBC, ABC, BOC, CCB, BCOM, CMB, PSBC, CIB, SPDB, CITIC, CEB, CMBC, HXB, GDB, PAB",
        })
    }
}

/// A digital wallet's provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WalletProvider {
    /// 数字人民币 (e-CNY): a 16-digit wallet number.
    Ecny,
    /// 微信: the person's openid under the agency's app, 28 characters of `[A-Za-z0-9_-]`.
    Wechat,
    /// 支付宝: the 16-digit Alipay user id, which starts with `2088`.
    Alipay,
}

impl WalletProvider {
    pub const ALL: [WalletProvider; 3] = [
        WalletProvider::Ecny,
        WalletProvider::Wechat,
        WalletProvider::Alipay,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WalletProvider::Ecny => "ecny",
            WalletProvider::Wechat => "wechat",
            WalletProvider::Alipay => "alipay",
        }
    }

    pub fn chinese_name(self) -> &'static str {
        match self {
            WalletProvider::Ecny => "数字人民币钱包",
            WalletProvider::Wechat => "微信",
            WalletProvider::Alipay => "支付宝",
        }
    }

    pub fn parse(s: &str) -> Result<WalletProvider, ValueError> {
        WalletProvider::ALL
            .into_iter()
            .find(|p| p.as_str() == s.trim())
            .ok_or(ValueError::OneOf {
                allowed: "ecny, wechat, alipay",
            })
    }

    /// Checks a wallet id's format for this provider; returns it trimmed.
    pub fn check_wallet_id(self, raw: &str) -> Result<String, ValueError> {
        let id = raw.trim();
        if id.is_empty() {
            return Err(ValueError::Empty);
        }
        let digits = |n: usize| id.len() == n && id.bytes().all(|b| b.is_ascii_digit());
        let ok = match self {
            WalletProvider::Ecny => digits(16),
            WalletProvider::Wechat => {
                id.len() == 28
                    && id
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            }
            WalletProvider::Alipay => digits(16) && id.starts_with("2088"),
        };
        if ok {
            Ok(id.to_owned())
        } else {
            Err(ValueError::Format {
                expected: match self {
                    WalletProvider::Ecny => "an e-CNY wallet number of 16 digits",
                    WalletProvider::Wechat => "a WeChat openid of 28 letters, digits, _ or -",
                    WalletProvider::Alipay => "an Alipay user id of 16 digits starting with 2088",
                },
            })
        }
    }
}

/// Luhn (ISO/IEC 7812-1) check over a string of ASCII digits.
pub fn luhn_valid(digits: &str) -> bool {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let d2 = d * 2;
                if d2 > 9 {
                    d2 - 9
                } else {
                    d2
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// A UnionPay card number: 16 to 19 digits (spaces allowed on input), Luhn-valid.
pub fn parse_card_number(raw: &str) -> Result<String, ValueError> {
    let digits: String = raw.chars().filter(|c| *c != ' ').collect();
    if digits.is_empty() {
        return Err(ValueError::Empty);
    }
    if !digits.bytes().all(|b| b.is_ascii_digit()) || !(16..=19).contains(&digits.len()) {
        return Err(ValueError::Format {
            expected: "a UnionPay card number of 16 to 19 digits",
        });
    }
    if !luhn_valid(&digits) {
        return Err(ValueError::CheckCharacter);
    }
    Ok(digits)
}

/// Where a payout goes. Holds the full number: personal data, never logged (no `Debug` of
/// the number) and stored only encrypted.
#[derive(Clone, PartialEq, Eq)]
pub enum PayoutDestination {
    BankCard {
        bank: BankCode,
        number: String,
    },
    Wallet {
        provider: WalletProvider,
        id: String,
    },
}

impl std::fmt::Debug for PayoutDestination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.masked())
    }
}

impl PayoutDestination {
    pub fn bank_card(bank: &str, number: &str) -> Result<PayoutDestination, ValueError> {
        Ok(PayoutDestination::BankCard {
            bank: BankCode::parse(bank)?,
            number: parse_card_number(number)?,
        })
    }

    pub fn wallet(provider: &str, id: &str) -> Result<PayoutDestination, ValueError> {
        let provider = WalletProvider::parse(provider)?;
        let id = provider.check_wallet_id(id)?;
        Ok(PayoutDestination::Wallet { provider, id })
    }

    /// `bank_card` or `wallet`.
    pub fn kind(&self) -> &'static str {
        match self {
            PayoutDestination::BankCard { .. } => "bank_card",
            PayoutDestination::Wallet { .. } => "wallet",
        }
    }

    /// The bank code or the wallet provider.
    pub fn institution(&self) -> &'static str {
        match self {
            PayoutDestination::BankCard { bank, .. } => bank.as_str(),
            PayoutDestination::Wallet { provider, .. } => provider.as_str(),
        }
    }

    /// The number or wallet id itself (personal data).
    pub fn number(&self) -> &str {
        match self {
            PayoutDestination::BankCard { number, .. } => number,
            PayoutDestination::Wallet { id, .. } => id,
        }
    }

    /// The stored form (to be encrypted): `bank_card:ICBC:6222…` / `wallet:ecny:0012…`.
    pub fn to_stored(&self) -> String {
        format!("{}:{}:{}", self.kind(), self.institution(), self.number())
    }

    pub fn from_stored(s: &str) -> Result<PayoutDestination, ValueError> {
        let mut parts = s.splitn(3, ':');
        match (parts.next(), parts.next(), parts.next()) {
            (Some("bank_card"), Some(bank), Some(number)) => {
                PayoutDestination::bank_card(bank, number)
            }
            (Some("wallet"), Some(provider), Some(id)) => PayoutDestination::wallet(provider, id),
            _ => Err(ValueError::Format {
                expected: "kind:institution:number",
            }),
        }
    }

    /// The number as shown: its first four and last four characters with `**** ****` between
    /// (`6222 **** **** 1234`), whatever its length, so the length is not disclosed either.
    pub fn masked_number(&self) -> String {
        mask(self.number())
    }

    /// Institution and masked number: `ICBC 6222 **** **** 1234`.
    pub fn masked(&self) -> String {
        format!("{} {}", self.institution(), self.masked_number())
    }

    /// How the person's SMS names it: `中国工商银行卡(尾号1234)`.
    pub fn chinese_label(&self) -> String {
        let n = self.number();
        let tail = &n[n.len().saturating_sub(4)..];
        match self {
            PayoutDestination::BankCard { bank, .. } => {
                format!("{}卡(尾号{tail})", bank.chinese_name())
            }
            PayoutDestination::Wallet { provider, .. } => {
                format!("{}(尾号{tail})", provider.chinese_name())
            }
        }
    }
}

/// First four, `**** ****`, last four.
pub fn mask(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head} **** **** {tail}")
}

/// When a change made at `now` takes effect.
pub fn effective_at(now: DateTime<Utc>, cooling_secs: u64) -> DateTime<Utc> {
    let secs = i64::try_from(cooling_secs).unwrap_or(i64::MAX);
    now.checked_add_signed(TimeDelta::try_seconds(secs).unwrap_or(TimeDelta::MAX))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The insurance fund a benefit is paid from.
pub fn fund_of(benefit: BenefitKind) -> InsuranceType {
    match benefit {
        BenefitKind::Pension => InsuranceType::Pension,
        BenefitKind::Unemployment => InsuranceType::Unemployment,
    }
}

/// The application kind whose approval grants the benefit.
pub fn granted_by(benefit: BenefitKind) -> ApplicationKind {
    match benefit {
        BenefitKind::Pension => ApplicationKind::Retirement,
        BenefitKind::Unemployment => ApplicationKind::UnemploymentBenefit,
    }
}

/// A benefit granted: paid monthly from `starts`, for `months` months (`None`: for life, a
/// pension).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Award {
    pub monthly: Fen,
    pub starts: Period,
    pub months: Option<u32>,
}

impl Award {
    /// Whether `period` is one of the award's months.
    pub fn covers(&self, period: Period) -> bool {
        if period < self.starts {
            return false;
        }
        match self.months {
            None => true,
            Some(n) => self
                .starts
                .add_months(i64::from(n))
                .is_some_and(|end| period < end),
        }
    }
}

/// What a person is owed for `period` from their awards of one benefit: the latest award that
/// covers the month (a later award replaces an earlier one, never adds to it).
pub fn amount_due(awards: &[Award], period: Period) -> Option<Fen> {
    awards
        .iter()
        .rev()
        .find(|a| a.covers(period))
        .map(|a| a.monthly)
        .filter(|f| *f > Fen::ZERO)
}

/// A pension in payment without an award on record (taken over from the previous system; see
/// [`taken_over_in_payment`]) continues at the regular amount of its latest payment. A month that carried the
/// yearly adjustment (July) records as its delta the rise for January to July, seven months,
/// of which six are back pay: the regular amount is what was paid less those six.
pub fn continued_pension(last_paid: Fen, adjustment: Option<Fen>) -> Option<Fen> {
    let delta = adjustment.unwrap_or(Fen::ZERO);
    let back_pay = Fen(delta.0 - delta.0 / 7);
    last_paid.checked_sub(back_pay).filter(|f| *f > Fen::ZERO)
}

// ---------------------------------------------------------------------------------------------
// Which months a run pays (the catch-up)

/// How many months before its own a payout run looks back: 12, the span of the yearly
/// qualification check (`applications::QUALIFICATION_MONTHS`). Two rules rest on it.
///
/// - A pension taken over from the previous system (no award on record) is in payment while
///   its latest month before the run's — paid by the previous system or here, or a transfer
///   attempted here (a failed one too) — lies within it. Nobody may be paid on for good from one
///   old record: a pension nobody has paid, nor tried to pay, for longer than a qualification
///   check holds has stopped for a reason this system cannot see (a death, a transfer out, a
///   suspension by the previous system), and paying it blindly is the fraud the yearly check
///   exists to prevent. Within it, a failed transfer, a month without a payout account or a
///   month nobody ran no longer stops the pension.
/// - A run pays, beside its own month, every earlier month within it that the person was owed
///   and that is not paid: a failed transfer, a month without a payout account in effect, a
///   month nobody ran. Older arrears are beyond what a run pays unattended: a caseworker
///   settles them by hand.
pub const CATCH_UP_MONTHS: i64 = 12;

/// The earliest month a run for `period` looks at: [`CATCH_UP_MONTHS`] before it.
pub fn horizon_start(period: Period) -> Period {
    period.add_months(-CATCH_UP_MONTHS).unwrap_or(Period::MIN)
}

/// Whether a pension taken over from the previous system is in payment for a run of `period`:
/// `latest` (its latest month before `period` paid, by the previous system or here, or
/// attempted here) lies within the horizon.
pub fn taken_over_in_payment(latest: Option<Period>, period: Period) -> bool {
    latest.is_some_and(|l| l < period && l >= horizon_start(period))
}

/// What a pension taken over from the previous system owes for `month`: its regular amount
/// ([`continued_pension`]), for the months after the previous system's last payment
/// (`last_previous`, when within the horizon): the months up to it were that system's to pay.
pub fn taken_over_due(month: Period, last_previous: Option<Period>, amount: Fen) -> Option<Fen> {
    if last_previous.is_some_and(|l| month <= l) || amount <= Fen::ZERO {
        None
    } else {
        Some(amount)
    }
}

/// The months a run for `period` pays one person one benefit, oldest first, with the amount of
/// each: every month of the horizon ([`horizon_start`] to `period`) from the benefit's first
/// run (`first_run`: the months before it were the previous system's to pay) that `due` says
/// is owed and that is not `settled` (paid, here or by the previous system).
pub fn months_owed(
    period: Period,
    first_run: Period,
    due: impl Fn(Period) -> Option<Fen>,
    settled: impl Fn(Period) -> bool,
) -> Vec<(Period, Fen)> {
    let mut month = horizon_start(period).max(first_run);
    let mut out = Vec::new();
    while month <= period {
        if !settled(month) {
            if let Some(amount) = due(month) {
                out.push((month, amount));
            }
        }
        match month.add_months(1) {
            Some(next) => month = next,
            None => break,
        }
    }
    out
}

/// Whether a pension is suspended `today` for want of its yearly qualification check
/// (养老待遇资格认证): counted from the last approved check, or before the first from `start` —
/// the day it was granted (its award) or, for a pension taken over from the previous system
/// (whose checks are not on record here), the day its first payment was loaded here: the
/// takeover gives it the year an award gets.
pub fn pension_suspended(
    start: NaiveDate,
    last_check: Option<NaiveDate>,
    today: NaiveDate,
) -> bool {
    let since = last_check.map_or(start, |l| l.max(start));
    crate::applications::qualification(since, today).suspended
}

/// The bill number of attempt `attempt` (1, 2, …) to pay `benefit` for `period` to `person_id`
/// (a UUID): the same inputs always give the same number, so a run killed after the gateway
/// took a bill sends the same bill again (the gateway is idempotent on it). `P` (pension) or
/// `U` + `YYYYMM` + the whole person id in base 62 (22 characters) + a two-digit attempt: 31
/// characters of `[A-Za-z0-9]`, within the protocol's 32.
pub fn out_bill_no(person_id: &str, benefit: BenefitKind, period: Period, attempt: u32) -> String {
    const DIGITS: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let letter = match benefit {
        BenefitKind::Pension => 'P',
        BenefitKind::Unemployment => 'U',
    };
    let hex: String = person_id.chars().filter(char::is_ascii_hexdigit).collect();
    let mut n = u128::from_str_radix(&hex, 16).unwrap_or(0);
    let mut id = [b'0'; 22];
    for slot in id.iter_mut().rev() {
        *slot = DIGITS[(n % 62) as usize];
        n /= 62;
    }
    format!(
        "{letter}{:04}{:02}{}{:02}",
        period.year(),
        period.month(),
        String::from_utf8_lossy(&id),
        attempt % 100
    )
}

/// A transfer bill's state at the gateway (商家转账 `state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransferState {
    Accepted,
    Processing,
    Success,
    Fail,
}

impl TransferState {
    pub fn as_str(self) -> &'static str {
        match self {
            TransferState::Accepted => "ACCEPTED",
            TransferState::Processing => "PROCESSING",
            TransferState::Success => "SUCCESS",
            TransferState::Fail => "FAIL",
        }
    }

    pub fn parse(s: &str) -> Result<TransferState, ValueError> {
        match s.trim() {
            "ACCEPTED" => Ok(TransferState::Accepted),
            "PROCESSING" => Ok(TransferState::Processing),
            "SUCCESS" => Ok(TransferState::Success),
            "FAIL" => Ok(TransferState::Fail),
            _ => Err(ValueError::OneOf {
                allowed: "ACCEPTED, PROCESSING, SUCCESS, FAIL",
            }),
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, TransferState::Success | TransferState::Fail)
    }
}

/// Why a transfer failed (商家转账 `fail_reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransferFailReason {
    AccountNotExist,
    AccountFrozen,
    NameNotCorrect,
    Other,
}

impl TransferFailReason {
    pub const ALL: [TransferFailReason; 4] = [
        TransferFailReason::AccountNotExist,
        TransferFailReason::AccountFrozen,
        TransferFailReason::NameNotCorrect,
        TransferFailReason::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TransferFailReason::AccountNotExist => "ACCOUNT_NOT_EXIST",
            TransferFailReason::AccountFrozen => "ACCOUNT_FROZEN",
            TransferFailReason::NameNotCorrect => "NAME_NOT_CORRECT",
            TransferFailReason::Other => "OTHER",
        }
    }

    /// Unknown codes read as `Other`: the gateway may add codes.
    pub fn parse(s: &str) -> TransferFailReason {
        TransferFailReason::ALL
            .into_iter()
            .find(|r| r.as_str() == s.trim())
            .unwrap_or(TransferFailReason::Other)
    }

    /// What the person is told.
    pub fn chinese(self) -> &'static str {
        match self {
            TransferFailReason::AccountNotExist => "收款账户不存在",
            TransferFailReason::AccountFrozen => "收款账户已冻结或已销户",
            TransferFailReason::NameNotCorrect => "收款账户户名与本人姓名不符",
            TransferFailReason::Other => "收款账户暂时无法入账",
        }
    }
}

/// The SMS that tells a person a change of payout account was asked for.
pub fn account_change_text(destination: &PayoutDestination, effective: &str) -> String {
    format!(
        "【社保】您的待遇领取账户正在变更为{}，将于{effective}生效。如非本人操作，请立即登录掌上社保撤销并修改密码。",
        destination.chinese_label()
    )
}

/// The SMS that tells an entitled person without a payout account in effect that they were
/// not paid.
pub fn no_account_text(benefit: BenefitKind, period: Period) -> String {
    format!(
        "【社保】您{}年{}月的{}因未设置待遇领取账户（或账户尚在变更等待期内）暂未发放。请在掌上社保设置领取账户，下次发放时将补发。",
        period.year(),
        period.month(),
        benefit_name(benefit)
    )
}

fn benefit_name(benefit: BenefitKind) -> &'static str {
    match benefit {
        BenefitKind::Pension => "养老金",
        BenefitKind::Unemployment => "失业保险金",
    }
}

/// The gateway's transfer remark: the same for every attempt of a month, so a bill sent again
/// is the same request.
pub fn transfer_remark(benefit: BenefitKind, period: Period) -> String {
    format!(
        "{}年{}月{}",
        period.year(),
        period.month(),
        benefit_name(benefit)
    )
}

/// The SMS that tells a person a payout failed, and why.
pub fn payout_failed_text(
    benefit: BenefitKind,
    period: Period,
    amount: Fen,
    reason: TransferFailReason,
) -> String {
    let what = benefit_name(benefit);
    format!(
        "【社保】您{}年{}月的{what}{}元未能发放：{}。请在掌上社保更新待遇领取账户，下次发放时将补发。",
        period.year(),
        period.month(),
        amount.yuan_string(),
        reason.chinese()
    )
}

/// The liability from booking a payout until the gateway settles it.
pub fn benefits_payable() -> Account {
    Account::from_stored("benefits_payable".into())
}

/// The gateway's clearing account for transfers out.
pub fn transfer_clearing() -> Account {
    Account::gateway_clearing("wechat_transfer")
}

/// A payout attempt is booked: the fund owes the person.
pub fn payout_booked(
    item: &str,
    benefit: BenefitKind,
    amount: Fen,
) -> Result<Journal, JournalError> {
    Journal::new(
        format!("payout:{item}:booked"),
        "benefit payout booked",
        vec![
            Line::debit(Account::fund_pool(fund_of(benefit)), amount),
            Line::credit(benefits_payable(), amount),
        ],
    )
}

/// The gateway paid it.
pub fn payout_paid(item: &str, amount: Fen) -> Result<Journal, JournalError> {
    Journal::new(
        format!("payout:{item}:paid"),
        "benefit payout paid by the gateway",
        vec![
            Line::debit(benefits_payable(), amount),
            Line::credit(transfer_clearing(), amount),
        ],
    )
}

/// The gateway could not pay it: the money goes back to the fund.
pub fn payout_returned(
    item: &str,
    benefit: BenefitKind,
    amount: Fen,
) -> Result<Journal, JournalError> {
    Journal::new(
        format!("payout:{item}:returned"),
        "benefit payout failed; returned to the fund",
        vec![
            Line::debit(benefits_payable(), amount),
            Line::credit(Account::fund_pool(fund_of(benefit)), amount),
        ],
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::ledger::TrialBalance;

    #[test]
    fn luhn_by_hand() {
        // 4539 1488 0343 6467: the classic worked example (sum 80).
        assert!(luhn_valid("4539148803436467"));
        assert!(!luhn_valid("4539148803436468"));
        // A 19-digit UnionPay-style number: the digits doubled from the right sum to 80.
        assert!(luhn_valid("6222021234567890128"));
        assert!(!luhn_valid("6222021234567890127"));
        assert!(!luhn_valid(""));
        assert!(!luhn_valid("12a4"));
    }

    #[test]
    fn card_numbers_are_16_to_19_luhn_valid_digits() {
        assert_eq!(
            parse_card_number("4539 1488 0343 6467").unwrap(),
            "4539148803436467"
        );
        assert_eq!(parse_card_number("  "), Err(ValueError::Empty));
        assert!(matches!(
            parse_card_number("453914880343646"),
            Err(ValueError::Format { .. })
        ));
        assert!(matches!(
            parse_card_number("45391488034364670000"),
            Err(ValueError::Format { .. })
        ));
        assert!(matches!(
            parse_card_number("4539-1488-0343-6467"),
            Err(ValueError::Format { .. })
        ));
        assert_eq!(
            parse_card_number("4539148803436468"),
            Err(ValueError::CheckCharacter)
        );
    }

    #[test]
    fn bank_codes_are_a_closed_list() {
        assert_eq!(BankCode::parse("ICBC"), Ok(BankCode::Icbc));
        assert_eq!(
            BankCode::parse("PAB").map(BankCode::chinese_name),
            Ok("平安银行")
        );
        assert!(BankCode::parse("icbc").is_err());
        assert!(BankCode::parse("HSBC").is_err());
        for b in BankCode::ALL {
            assert_eq!(BankCode::parse(b.as_str()), Ok(b));
        }
    }

    #[test]
    fn wallet_ids_follow_their_provider() {
        assert!(PayoutDestination::wallet("ecny", "0012345678901234").is_ok());
        assert!(PayoutDestination::wallet("ecny", "001234567890123").is_err());
        assert!(PayoutDestination::wallet("ecny", "00123456789012a4").is_err());
        assert!(PayoutDestination::wallet("wechat", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o").is_ok());
        assert!(PayoutDestination::wallet("wechat", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6").is_err());
        assert!(PayoutDestination::wallet("wechat", "oUpF8uMuAJO M2pxb1Q9zNjWeS6o").is_err());
        assert!(PayoutDestination::wallet("alipay", "2088102122524333").is_ok());
        assert!(PayoutDestination::wallet("alipay", "1088102122524333").is_err());
        assert!(PayoutDestination::wallet("alipay", "").is_err());
        assert!(matches!(
            PayoutDestination::wallet("paypal", "x"),
            Err(ValueError::OneOf { .. })
        ));
    }

    #[test]
    fn masks_show_four_and_four() {
        let card = PayoutDestination::bank_card("ICBC", "6222021234567890128").unwrap();
        assert_eq!(card.masked_number(), "6222 **** **** 0128");
        assert_eq!(card.masked(), "ICBC 6222 **** **** 0128");
        assert_eq!(card.chinese_label(), "中国工商银行卡(尾号0128)");
        assert_eq!(format!("{card:?}"), "ICBC 6222 **** **** 0128");
        let w = PayoutDestination::wallet("ecny", "0012345678901234").unwrap();
        assert_eq!(w.masked_number(), "0012 **** **** 1234");
        assert_eq!(mask("1234567"), "*******");
    }

    #[test]
    fn stored_form_round_trips() {
        for d in [
            PayoutDestination::bank_card("CMB", "4539148803436467").unwrap(),
            PayoutDestination::wallet("wechat", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o").unwrap(),
        ] {
            assert_eq!(PayoutDestination::from_stored(&d.to_stored()).unwrap(), d);
        }
        assert!(PayoutDestination::from_stored("bank_card:ICBC").is_err());
    }

    #[test]
    fn cooling_adds_seconds() {
        let now: DateTime<Utc> = "2026-12-01T08:00:00Z".parse().unwrap();
        assert_eq!(
            effective_at(now, DEFAULT_COOLING_SECS),
            "2026-12-02T08:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(effective_at(now, u64::MAX), DateTime::<Utc>::MAX_UTC);
    }

    fn p(y: i32, m: u32) -> Period {
        Period::new(y, m).unwrap()
    }

    #[test]
    fn awards_cover_their_months() {
        let unemployment = Award {
            monthly: Fen(180_000),
            starts: p(2026, 11),
            months: Some(12),
        };
        assert!(!unemployment.covers(p(2026, 10)));
        assert!(unemployment.covers(p(2026, 11)));
        assert!(unemployment.covers(p(2027, 10)));
        assert!(!unemployment.covers(p(2027, 11)));
        let pension = Award {
            monthly: Fen(350_000),
            starts: p(2026, 1),
            months: None,
        };
        assert!(pension.covers(p(2040, 1)));
        let later = Award {
            monthly: Fen(360_000),
            starts: p(2026, 6),
            months: None,
        };
        assert_eq!(
            amount_due(&[pension, later], p(2026, 12)),
            Some(Fen(360_000))
        );
        assert_eq!(
            amount_due(&[pension, later], p(2026, 3)),
            Some(Fen(350_000))
        );
        assert_eq!(amount_due(&[pension], p(2025, 12)), None);
    }

    #[test]
    fn a_pension_in_payment_continues_at_its_regular_amount() {
        // 2026: 3,200 + 6 × 73 = 3,638 yuan a month; July paid 3,638 + 6 × 73 = 4,076 with an
        // adjustment of 7 × 73 = 511.
        assert_eq!(continued_pension(Fen(363_800), None), Some(Fen(363_800)));
        assert_eq!(
            continued_pension(Fen(407_600), Some(Fen(51_100))),
            Some(Fen(363_800))
        );
        assert_eq!(continued_pension(Fen(0), None), None);
    }

    #[test]
    fn the_horizon_is_the_twelve_months_before_the_run() {
        assert_eq!(horizon_start(p(2026, 11)), p(2025, 11));
        assert_eq!(horizon_start(p(2026, 1)), p(2025, 1));
        assert_eq!(horizon_start(Period::MIN), Period::MIN);
    }

    #[test]
    fn a_taken_over_pension_is_in_payment_while_its_latest_month_is_within_the_horizon() {
        let run = p(2026, 11);
        // Paid (or attempted) for the month before, or up to twelve months before: in payment,
        // whatever happened since (a failed transfer, no account, a month nobody ran).
        assert!(taken_over_in_payment(Some(p(2026, 10)), run));
        assert!(taken_over_in_payment(Some(p(2026, 7)), run));
        assert!(taken_over_in_payment(Some(p(2025, 11)), run));
        // Thirteen months ago: stopped.
        assert!(!taken_over_in_payment(Some(p(2025, 10)), run));
        assert!(!taken_over_in_payment(None, run));
        // Only a month before the run's counts.
        assert!(!taken_over_in_payment(Some(run), run));
    }

    #[test]
    fn a_taken_over_pension_is_owed_after_the_previous_systems_last_month() {
        let amount = Fen(363_800);
        assert_eq!(
            taken_over_due(p(2026, 11), Some(p(2026, 10)), amount),
            Some(amount)
        );
        assert_eq!(taken_over_due(p(2026, 10), Some(p(2026, 10)), amount), None);
        assert_eq!(taken_over_due(p(2026, 9), Some(p(2026, 10)), amount), None);
        assert_eq!(taken_over_due(p(2026, 9), None, amount), Some(amount));
        assert_eq!(taken_over_due(p(2026, 11), None, Fen::ZERO), None);
    }

    #[test]
    fn a_run_pays_the_unpaid_months_of_the_horizon_from_the_first_run_on() {
        let run = p(2026, 11);
        let pension = Award {
            monthly: Fen(350_000),
            starts: p(2020, 1),
            months: None,
        };
        let due = |m: Period| amount_due(&[pension], m);
        // The first run ever: its own month only (the earlier ones were the previous system's).
        assert_eq!(
            months_owed(run, run, due, |_| false),
            vec![(run, Fen(350_000))]
        );
        // Runs since September; September paid, October failed (or skipped, or not run).
        let settled = |m: Period| m == p(2026, 9);
        assert_eq!(
            months_owed(run, p(2026, 9), due, settled),
            vec![(p(2026, 10), Fen(350_000)), (run, Fen(350_000))]
        );
        // This month paid already too: only October.
        let settled = |m: Period| m == p(2026, 9) || m == run;
        assert_eq!(
            months_owed(run, p(2026, 9), due, settled),
            vec![(p(2026, 10), Fen(350_000))]
        );
        // Runs for years, nothing paid: the horizon's thirteen months, no more, oldest first.
        let all = months_owed(run, p(2020, 1), due, |_| false);
        assert_eq!(all.len(), 13);
        assert_eq!(all[0].0, p(2025, 11));
        assert_eq!(all[12].0, run);
        // An award that ended in September and one starting in October: their months only, at
        // their amounts.
        let ended = Award {
            monthly: Fen(180_000),
            starts: p(2026, 6),
            months: Some(4),
        };
        assert_eq!(
            months_owed(run, p(2026, 1), |m| amount_due(&[ended], m), |_| false),
            (6..=9)
                .map(|m| (p(2026, m), Fen(180_000)))
                .collect::<Vec<_>>()
        );
        let later = Award {
            monthly: Fen(360_000),
            starts: p(2026, 10),
            months: None,
        };
        assert_eq!(
            months_owed(
                run,
                p(2026, 9),
                |m| amount_due(&[pension, later], m),
                |m| m == p(2026, 9)
            ),
            vec![(p(2026, 10), Fen(360_000)), (run, Fen(360_000))]
        );
    }

    #[test]
    fn a_pension_is_suspended_a_year_after_its_start_or_last_check() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        // Granted (or taken over) a year ago to the day: still paid; a day later: suspended.
        assert!(!pension_suspended(d(2025, 11, 20), None, d(2026, 11, 20)));
        assert!(pension_suspended(d(2025, 11, 20), None, d(2026, 11, 21)));
        // A check renews the year.
        assert!(!pension_suspended(
            d(2025, 1, 1),
            Some(d(2026, 3, 1)),
            d(2026, 11, 21)
        ));
        // A check from before the start (the previous system's era) does not count for more
        // than the start.
        assert!(!pension_suspended(
            d(2026, 6, 1),
            Some(d(2024, 1, 1)),
            d(2026, 11, 21)
        ));
        assert!(pension_suspended(
            d(2024, 6, 1),
            Some(d(2025, 1, 1)),
            d(2026, 11, 21)
        ));
    }

    #[test]
    fn bill_numbers_are_deterministic_and_fit_the_protocol() {
        let id = "0192f1c4-9a7e-7c3b-8d2e-4f5a6b7c8d9e";
        let a = out_bill_no(id, BenefitKind::Pension, p(2026, 12), 1);
        assert_eq!(a.len(), 31);
        assert!(a.starts_with("P202612") && a.ends_with("01"), "{a}");
        // Two ids equal but in their last hex digit differ in the number (the whole id counts).
        let b = out_bill_no(
            "0192f1c4-9a7e-7c3b-8d2e-4f5a6b7c8d9f",
            BenefitKind::Pension,
            p(2026, 12),
            1,
        );
        assert_ne!(a, b);
        // The largest id still fits 22 base-62 digits.
        let max = out_bill_no(
            "ffffffff-ffff-ffff-ffff-ffffffffffff",
            BenefitKind::Pension,
            p(2026, 12),
            1,
        );
        assert_eq!(max, "P2026127n42DGM5Tflk9n8mt7Fhc701");
        assert_eq!(a, out_bill_no(id, BenefitKind::Pension, p(2026, 12), 1));
        assert_ne!(a, out_bill_no(id, BenefitKind::Pension, p(2026, 12), 2));
        assert_ne!(
            a,
            out_bill_no(id, BenefitKind::Unemployment, p(2026, 12), 1)
        );
        assert!(crate::payments::OutTradeNo::parse(&a).is_ok());
    }

    #[test]
    fn transfer_states_and_reasons_read_their_codes() {
        for s in ["ACCEPTED", "PROCESSING", "SUCCESS", "FAIL"] {
            assert_eq!(TransferState::parse(s).unwrap().as_str(), s);
        }
        assert!(TransferState::parse("DONE").is_err());
        assert!(TransferState::Fail.is_final() && !TransferState::Accepted.is_final());
        assert_eq!(
            TransferFailReason::parse("ACCOUNT_FROZEN"),
            TransferFailReason::AccountFrozen
        );
        assert_eq!(
            TransferFailReason::parse("NEW_CODE"),
            TransferFailReason::Other
        );
    }

    #[test]
    fn a_failed_payout_returns_the_money_and_a_paid_one_clears() {
        let booked = payout_booked("i1", BenefitKind::Pension, Fen(350_000)).unwrap();
        let paid = payout_paid("i1", Fen(350_000)).unwrap();
        let booked2 = payout_booked("i2", BenefitKind::Unemployment, Fen(180_000)).unwrap();
        let returned = payout_returned("i2", BenefitKind::Unemployment, Fen(180_000)).unwrap();
        let mut tb = TrialBalance::default();
        for j in [&booked, &paid, &booked2, &returned] {
            for l in j.lines() {
                tb.add(&l.account, l.debit, l.credit);
            }
        }
        assert!(tb.balanced());
        assert_eq!(tb.lines["benefits_payable"], (Fen(530_000), Fen(530_000)));
        assert_eq!(tb.lines["fund_pool.pension"], (Fen(350_000), Fen::ZERO));
        assert_eq!(
            tb.lines["fund_pool.unemployment"],
            (Fen(180_000), Fen(180_000))
        );
        assert_eq!(
            tb.lines["gateway_clearing.wechat_transfer"],
            (Fen::ZERO, Fen(350_000))
        );
    }

    #[test]
    fn texts_name_the_account_and_the_reason() {
        let w = PayoutDestination::wallet("ecny", "0012345678901234").unwrap();
        assert!(account_change_text(&w, "2026-12-02 16:00").contains("数字人民币钱包(尾号1234)"));
        let t = payout_failed_text(
            BenefitKind::Pension,
            p(2026, 12),
            Fen(350_000),
            TransferFailReason::AccountFrozen,
        );
        assert!(t.contains("2026年12月的养老金3500.00元"), "{t}");
        assert!(t.contains("已冻结或已销户"));
    }
}
