//! The day's reconciliation: the gateway's trade bill against the payments recorded here.

use std::collections::{BTreeMap, BTreeSet};

use crate::money::Fen;
use crate::payments::order::{on_billed, OnBilled, PaymentStatus};

/// A payment as recorded here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub out_trade_no: String,
    pub status: PaymentStatus,
    pub amount: Fen,
}

/// A paid order as the bill lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Billed {
    pub out_trade_no: String,
    pub total: Fen,
}

/// An order whose amounts differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub out_trade_no: String,
    pub here: Fen,
    pub gateway: Fen,
}

/// What to do, and what to report.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// Pending here, paid in the bill: confirm (→ paid, posted).
    pub confirm: Vec<String>,
    /// Not known here to be paid (a notification and the queries missed it): settle, then
    /// confirm.
    pub settle_then_confirm: Vec<String>,
    pub already_confirmed: Vec<String>,
    /// Refunded here as a duplicate: nothing to confirm.
    pub refunded: Vec<String>,
    /// In the bill, unknown here.
    pub missing_here: Vec<String>,
    /// Paid here on the day, absent from the bill.
    pub missing_at_gateway: Vec<String>,
    pub amount_mismatch: Vec<Mismatch>,
}

/// Compares the bill's paid orders with the payments recorded here. `recorded` holds every
/// payment the bill names (looked up by order number) plus those recorded as paid on the bill's
/// day; `paid_here_on_day` names the latter. A payment whose amount differs is reported and left
/// alone (a person looks at it), never confirmed.
pub fn plan(
    billed: &[Billed],
    recorded: &BTreeMap<String, Recorded>,
    paid_here_on_day: &BTreeSet<String>,
) -> Plan {
    let mut p = Plan::default();
    let mut in_bill = BTreeSet::new();
    for b in billed {
        if !in_bill.insert(b.out_trade_no.clone()) {
            continue;
        }
        let Some(r) = recorded.get(&b.out_trade_no) else {
            p.missing_here.push(b.out_trade_no.clone());
            continue;
        };
        if r.amount != b.total {
            p.amount_mismatch.push(Mismatch {
                out_trade_no: b.out_trade_no.clone(),
                here: r.amount,
                gateway: b.total,
            });
            continue;
        }
        let list = match on_billed(r.status) {
            OnBilled::Confirm => &mut p.confirm,
            OnBilled::AlreadyConfirmed => &mut p.already_confirmed,
            OnBilled::SettleFirst => &mut p.settle_then_confirm,
            OnBilled::Refunded => &mut p.refunded,
        };
        list.push(b.out_trade_no.clone());
    }
    for no in paid_here_on_day {
        if !in_bill.contains(no) {
            p.missing_at_gateway.push(no.clone());
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(no: &str, status: PaymentStatus, amount: i64) -> (String, Recorded) {
        (
            no.into(),
            Recorded {
                out_trade_no: no.into(),
                status,
                amount: Fen(amount),
            },
        )
    }

    fn bill(no: &str, total: i64) -> Billed {
        Billed {
            out_trade_no: no.into(),
            total: Fen(total),
        }
    }

    #[test]
    fn every_kind_of_difference_is_found() {
        use PaymentStatus::*;
        let recorded = BTreeMap::from([
            rec("A", Pending, 100),
            rec("B", Paid, 200),
            rec("C", Expired, 300),
            rec("D", Pending, 400),
            rec("E", Pending, 500),
            rec("F", Refunded, 600),
        ]);
        let billed = [
            bill("A", 100),
            bill("A", 100), // listed twice: counted once
            bill("B", 200),
            bill("C", 300),
            bill("D", 401),
            bill("X", 700),
            bill("F", 600),
        ];
        let paid_here = BTreeSet::from(["A".to_owned(), "B".to_owned(), "E".to_owned()]);
        let p = plan(&billed, &recorded, &paid_here);
        assert_eq!(p.confirm, ["A"]);
        assert_eq!(p.already_confirmed, ["B"]);
        assert_eq!(p.settle_then_confirm, ["C"]);
        assert_eq!(p.refunded, ["F"]);
        assert_eq!(p.missing_here, ["X"]);
        assert_eq!(p.missing_at_gateway, ["E"]);
        assert_eq!(
            p.amount_mismatch,
            [Mismatch {
                out_trade_no: "D".into(),
                here: Fen(400),
                gateway: Fen(401)
            }]
        );
    }

    #[test]
    fn an_empty_day_is_empty() {
        assert_eq!(
            plan(&[], &BTreeMap::new(), &BTreeSet::new()),
            Plan::default()
        );
    }
}
