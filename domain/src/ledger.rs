//! The double-entry ledger: journals of lines in integer fen that always balance. Append-only:
//! a correction is a reversing journal ([`Journal::reversal`]), never an edit.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::insurance::InsuranceType;
use crate::money::Fen;

/// A ledger account's code. Group accounts (`personal_pension/{person}`) roll up to the part
/// before the `/` in the trial balance.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Account(String);

impl Account {
    /// Money the gateway holds for us, per channel, until it settles to the bank.
    pub fn gateway_clearing(channel: &str) -> Account {
        Account(format!("gateway_clearing.{channel}"))
    }

    /// An insurance fund's pooled (social) part.
    pub fn fund_pool(insurance: InsuranceType) -> Account {
        Account(format!("fund_pool.{}", insurance.as_str()))
    }

    /// A person's personal pension account.
    pub fn personal_pension(person_id: &str) -> Account {
        Account(format!("personal_pension/{person_id}"))
    }

    pub fn late_fee_income() -> Account {
        Account("late_fee_income".into())
    }

    /// Money received twice that is owed back to the payer.
    pub fn refunds_payable() -> Account {
        Account("refunds_payable".into())
    }

    pub fn from_stored(code: String) -> Account {
        Account(code)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The line of the trial balance this account rolls up to.
    pub fn group(&self) -> &str {
        self.0.split('/').next().unwrap_or(&self.0)
    }
}

/// One line: a debit or a credit, never both, never negative.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub account: Account,
    pub debit: Fen,
    pub credit: Fen,
}

impl Line {
    pub fn debit(account: Account, amount: Fen) -> Line {
        Line {
            account,
            debit: amount,
            credit: Fen::ZERO,
        }
    }

    pub fn credit(account: Account, amount: Fen) -> Line {
        Line {
            account,
            debit: Fen::ZERO,
            credit: amount,
        }
    }
}

/// Why a journal cannot be posted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JournalError {
    #[error("a journal needs at least two lines")]
    TooFewLines,
    #[error("a line is negative, empty, or both debit and credit")]
    BadLine,
    #[error("debits {debits} and credits {credits} differ")]
    Unbalanced { debits: i64, credits: i64 },
    #[error("the amounts overflow")]
    Overflow,
}

/// A balanced journal. `source` names what posted it and is unique in the store: posting the
/// same source twice is a no-op, which is what makes "posted once" hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Journal {
    source: String,
    memo: String,
    lines: Vec<Line>,
}

impl Journal {
    /// Zero-amount lines are dropped; what remains must balance.
    pub fn new(
        source: impl Into<String>,
        memo: impl Into<String>,
        lines: Vec<Line>,
    ) -> Result<Journal, JournalError> {
        let lines: Vec<Line> = lines
            .into_iter()
            .filter(|l| l.debit != Fen::ZERO || l.credit != Fen::ZERO)
            .collect();
        if lines.len() < 2 {
            return Err(JournalError::TooFewLines);
        }
        let (mut debits, mut credits) = (Fen::ZERO, Fen::ZERO);
        for l in &lines {
            let one_sided = (l.debit == Fen::ZERO) != (l.credit == Fen::ZERO);
            if l.debit.is_negative() || l.credit.is_negative() || !one_sided {
                return Err(JournalError::BadLine);
            }
            debits = debits.checked_add(l.debit).ok_or(JournalError::Overflow)?;
            credits = credits
                .checked_add(l.credit)
                .ok_or(JournalError::Overflow)?;
        }
        if debits != credits {
            return Err(JournalError::Unbalanced {
                debits: debits.0,
                credits: credits.0,
            });
        }
        Ok(Journal {
            source: source.into(),
            memo: memo.into(),
            lines,
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn memo(&self) -> &str {
        &self.memo
    }

    pub fn lines(&self) -> &[Line] {
        &self.lines
    }

    /// The journal that undoes this one: every line's sides swapped.
    pub fn reversal(&self, source: impl Into<String>) -> Journal {
        Journal {
            source: source.into(),
            memo: format!("reversal of {}", self.source),
            lines: self
                .lines
                .iter()
                .map(|l| Line {
                    account: l.account.clone(),
                    debit: l.credit,
                    credit: l.debit,
                })
                .collect(),
        }
    }
}

/// One settled item of a confirmed payment, as the ledger sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettledItem {
    pub covered_person: String,
    pub insurance: InsuranceType,
    pub principal: Fen,
    /// The part of the principal credited to the personal pension account.
    pub personal_account: Fen,
    pub late_fee: Fen,
}

/// A confirmed premium payment: the gateway's clearing account is debited with the whole amount;
/// each item credits its fund's pool (the principal less the personal part), the person's
/// personal pension account (the personal part) and the late-fee income.
pub fn payment_confirmed(
    payment_id: &str,
    channel: &str,
    items: &[SettledItem],
) -> Result<Journal, JournalError> {
    let mut total = Fen::ZERO;
    let mut lines = Vec::new();
    for i in items {
        let pool = i
            .principal
            .checked_sub(i.personal_account)
            .ok_or(JournalError::Overflow)?;
        lines.push(Line::credit(Account::fund_pool(i.insurance), pool));
        lines.push(Line::credit(
            Account::personal_pension(&i.covered_person),
            i.personal_account,
        ));
        lines.push(Line::credit(Account::late_fee_income(), i.late_fee));
        total = total
            .checked_add(i.principal)
            .and_then(|t| t.checked_add(i.late_fee))
            .ok_or(JournalError::Overflow)?;
    }
    lines.insert(0, Line::debit(Account::gateway_clearing(channel), total));
    Journal::new(
        format!("payment:{payment_id}:confirmed"),
        "premium payment confirmed by reconciliation",
        lines,
    )
}

/// Money received for payables another payment already paid: owed back to the payer.
pub fn duplicate_received(
    payment_id: &str,
    channel: &str,
    amount: Fen,
) -> Result<Journal, JournalError> {
    Journal::new(
        format!("payment:{payment_id}:duplicate"),
        "second payment of the same payables; to be refunded",
        vec![
            Line::debit(Account::gateway_clearing(channel), amount),
            Line::credit(Account::refunds_payable(), amount),
        ],
    )
}

/// The refund of a duplicate went out.
pub fn refund_paid(payment_id: &str, channel: &str, amount: Fen) -> Result<Journal, JournalError> {
    Journal::new(
        format!("payment:{payment_id}:refunded"),
        "duplicate payment refunded",
        vec![
            Line::debit(Account::refunds_payable(), amount),
            Line::credit(Account::gateway_clearing(channel), amount),
        ],
    )
}

/// Totals per trial-balance line (accounts rolled up by [`Account::group`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrialBalance {
    pub lines: BTreeMap<String, (Fen, Fen)>,
    pub debits: Fen,
    pub credits: Fen,
}

impl TrialBalance {
    pub fn add(&mut self, account: &Account, debit: Fen, credit: Fen) {
        let e = self
            .lines
            .entry(account.group().to_owned())
            .or_insert((Fen::ZERO, Fen::ZERO));
        e.0 = Fen(e.0 .0.saturating_add(debit.0));
        e.1 = Fen(e.1 .0.saturating_add(credit.0));
        self.debits = Fen(self.debits.0.saturating_add(debit.0));
        self.credits = Fen(self.credits.0.saturating_add(credit.0));
    }

    pub fn balanced(&self) -> bool {
        self.debits == self.credits
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_journal_must_balance_and_each_line_is_one_sided() {
        let a = Account::late_fee_income();
        let b = Account::refunds_payable();
        assert_eq!(
            Journal::new("s", "m", vec![Line::debit(a.clone(), Fen(100))]),
            Err(JournalError::TooFewLines)
        );
        assert_eq!(
            Journal::new(
                "s",
                "m",
                vec![
                    Line::debit(a.clone(), Fen(100)),
                    Line::credit(b.clone(), Fen(99))
                ]
            ),
            Err(JournalError::Unbalanced {
                debits: 100,
                credits: 99
            })
        );
        let both = Line {
            account: a.clone(),
            debit: Fen(1),
            credit: Fen(1),
        };
        assert_eq!(
            Journal::new("s", "m", vec![both, Line::credit(b.clone(), Fen(0))]),
            Err(JournalError::TooFewLines)
        );
        assert_eq!(
            Journal::new(
                "s",
                "m",
                vec![
                    Line::debit(a.clone(), Fen(-5)),
                    Line::credit(b.clone(), Fen(-5))
                ]
            ),
            Err(JournalError::BadLine)
        );
        assert!(Journal::new(
            "s",
            "m",
            vec![Line::debit(a, Fen(5)), Line::credit(b, Fen(5))]
        )
        .is_ok());
    }

    #[test]
    fn a_confirmed_payment_splits_into_pools_personal_accounts_and_late_fees() {
        let items = [
            SettledItem {
                covered_person: "p1".into(),
                insurance: InsuranceType::Pension,
                principal: Fen(120_000),
                personal_account: Fen(48_000),
                late_fee: Fen(2_800),
            },
            SettledItem {
                covered_person: "p1".into(),
                insurance: InsuranceType::Medical,
                principal: Fen(48_000),
                personal_account: Fen::ZERO,
                late_fee: Fen::ZERO,
            },
        ];
        let j = payment_confirmed("pay1", "wechat", &items).unwrap();
        assert_eq!(j.source(), "payment:pay1:confirmed");
        let mut tb = TrialBalance::default();
        for l in j.lines() {
            tb.add(&l.account, l.debit, l.credit);
        }
        assert!(tb.balanced());
        assert_eq!(
            tb.lines["gateway_clearing.wechat"],
            (Fen(170_800), Fen::ZERO)
        );
        assert_eq!(tb.lines["fund_pool.pension"], (Fen::ZERO, Fen(72_000)));
        assert_eq!(tb.lines["personal_pension"], (Fen::ZERO, Fen(48_000)));
        assert_eq!(tb.lines["late_fee_income"], (Fen::ZERO, Fen(2_800)));
        assert_eq!(tb.lines["fund_pool.medical"], (Fen::ZERO, Fen(48_000)));
    }

    #[test]
    fn a_reversal_cancels_and_a_refund_round_trip_nets_to_zero() {
        let dup = duplicate_received("p", "wechat", Fen(500)).unwrap();
        let back = refund_paid("p", "wechat", Fen(500)).unwrap();
        let rev = dup.reversal("fix:1");
        let mut tb = TrialBalance::default();
        for l in dup.lines().iter().chain(rev.lines()) {
            tb.add(&l.account, l.debit, l.credit);
        }
        assert!(tb.balanced());
        for (debit, credit) in tb.lines.values() {
            assert_eq!(debit, credit);
        }
        let mut tb = TrialBalance::default();
        for l in dup.lines().iter().chain(back.lines()) {
            tb.add(&l.account, l.debit, l.credit);
        }
        assert_eq!(tb.lines["refunds_payable"], (Fen(500), Fen(500)));
    }
}
