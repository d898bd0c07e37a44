//! A payment's life: what each report from the gateway (a notification, an order query, the
//! day's bill) does to it. Reports come many times and in any order; these rules make each one
//! safe to apply again.

use serde::{Deserialize, Serialize};

/// Where a payment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// Ordered at the gateway; the payer has not paid (yet).
    AwaitingPayment,
    /// The gateway says paid; not yet confirmed by the day's reconciliation.
    Pending,
    /// Reconciled and posted to the ledger.
    Paid,
    /// The payer's payment failed (the reason is kept).
    Failed,
    /// The payer cancelled; the order is closed at the gateway.
    Cancelled,
    /// Not paid in time; the order is closed at the gateway.
    Expired,
    /// Paid, but what it paid for was paid by another payment: the money goes back.
    Refunded,
}

string_enum!(PaymentStatus, allowed = "awaiting_payment, pending, paid, failed, cancelled, expired, refunded", {
    AwaitingPayment => "awaiting_payment",
    Pending => "pending",
    Paid => "paid",
    Failed => "failed",
    Cancelled => "cancelled",
    Expired => "expired",
    Refunded => "refunded",
});

impl PaymentStatus {
    /// Still waiting for the payer: what the poller queries.
    pub fn is_open(self) -> bool {
        self == PaymentStatus::AwaitingPayment
    }

    /// The gateway took the money for it (whatever happened next).
    pub fn money_received(self) -> bool {
        matches!(
            self,
            PaymentStatus::Pending | PaymentStatus::Paid | PaymentStatus::Refunded
        )
    }
}

/// What to do when the gateway reports that the payer paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnPaid {
    /// Seen before: nothing changes.
    Nothing,
    /// The payment now holds (or keeps) its payables: it becomes `pending`.
    Pending,
    /// Its payables were paid by another payment meanwhile: refund this one.
    Refund,
}

/// The gateway says the order was paid. `claims_held` is whether this payment holds (or could
/// take) every payable it covers; a payment that failed, expired or was cancelled released them,
/// and another payment may have taken them since.
pub fn on_paid(status: PaymentStatus, claims_held: bool) -> OnPaid {
    match status {
        PaymentStatus::Pending | PaymentStatus::Paid | PaymentStatus::Refunded => OnPaid::Nothing,
        PaymentStatus::AwaitingPayment
        | PaymentStatus::Failed
        | PaymentStatus::Cancelled
        | PaymentStatus::Expired => {
            if claims_held {
                OnPaid::Pending
            } else {
                OnPaid::Refund
            }
        }
    }
}

/// The gateway says the payer's attempt failed: an open payment fails (and releases its
/// payables); anything else stays as it is (a success reported earlier wins over a failure
/// reported late).
pub fn on_failed(status: PaymentStatus) -> Option<PaymentStatus> {
    (status == PaymentStatus::AwaitingPayment).then_some(PaymentStatus::Failed)
}

/// The order was closed at the gateway (by the payer's cancel, or on expiry).
pub fn on_closed(status: PaymentStatus, cancelled_by_payer: bool) -> Option<PaymentStatus> {
    (status == PaymentStatus::AwaitingPayment).then_some(if cancelled_by_payer {
        PaymentStatus::Cancelled
    } else {
        PaymentStatus::Expired
    })
}

/// What the reconciliation does with a payment the day's bill lists as paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnBilled {
    /// `pending` → `paid`, posted to the ledger.
    Confirm,
    /// Already `paid`.
    AlreadyConfirmed,
    /// Not known to be paid here yet: apply the success first ([`on_paid`]), then confirm.
    SettleFirst,
    /// Refunded as a duplicate: nothing to confirm.
    Refunded,
}

pub fn on_billed(status: PaymentStatus) -> OnBilled {
    match status {
        PaymentStatus::Pending => OnBilled::Confirm,
        PaymentStatus::Paid => OnBilled::AlreadyConfirmed,
        PaymentStatus::Refunded => OnBilled::Refunded,
        PaymentStatus::AwaitingPayment
        | PaymentStatus::Failed
        | PaymentStatus::Cancelled
        | PaymentStatus::Expired => OnBilled::SettleFirst,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[test]
    fn a_success_settles_an_open_or_closed_payment_once() {
        use PaymentStatus::*;
        assert_eq!(on_paid(AwaitingPayment, true), OnPaid::Pending);
        assert_eq!(on_paid(Expired, true), OnPaid::Pending);
        assert_eq!(on_paid(Failed, false), OnPaid::Refund);
        assert_eq!(on_paid(Cancelled, false), OnPaid::Refund);
        for seen in [Pending, Paid, Refunded] {
            assert_eq!(on_paid(seen, true), OnPaid::Nothing);
            assert_eq!(on_paid(seen, false), OnPaid::Nothing);
        }
    }

    #[test]
    fn failures_and_closures_only_touch_open_payments() {
        use PaymentStatus::*;
        assert_eq!(on_failed(AwaitingPayment), Some(Failed));
        assert_eq!(on_closed(AwaitingPayment, true), Some(Cancelled));
        assert_eq!(on_closed(AwaitingPayment, false), Some(Expired));
        for s in [Pending, Paid, Failed, Cancelled, Expired, Refunded] {
            assert_eq!(on_failed(s), None);
            assert_eq!(on_closed(s, false), None);
        }
        assert_eq!(on_billed(Pending), OnBilled::Confirm);
        assert_eq!(on_billed(Paid), OnBilled::AlreadyConfirmed);
        assert_eq!(on_billed(Expired), OnBilled::SettleFirst);
        assert_eq!(on_billed(Refunded), OnBilled::Refunded);
    }

    /// What the gateway can report, any number of times, in any order.
    #[derive(Debug, Clone, Copy)]
    enum Report {
        /// A notification or a query: payment `n` was paid.
        Paid(usize),
        /// A query: payment `n`'s attempt failed.
        Failed(usize),
        /// The expiry sweep: payment `n` was closed unpaid (only if the gateway agrees, so
        /// never after it was paid).
        Expired(usize),
        /// The reconciliation of the day's bill listing payment `n`.
        Billed(usize),
    }

    /// A model of the store: payments, the claims on one payable, the ledger's postings.
    #[derive(Default)]
    struct Model {
        status: Vec<PaymentStatus>,
        paid_at_gateway: Vec<bool>,
        claim: Option<usize>,
        /// Postings by source (unique in the database): ("confirm", n), ("refund", n).
        postings: BTreeMap<(&'static str, usize), u32>,
    }

    impl Model {
        fn claims_held(&mut self, n: usize) -> bool {
            match self.claim {
                Some(holder) => holder == n,
                None => {
                    self.claim = Some(n);
                    true
                }
            }
        }

        fn paid(&mut self, n: usize) {
            self.paid_at_gateway[n] = true;
            let held = self.claims_held(n);
            match on_paid(self.status[n], held) {
                OnPaid::Nothing => {}
                OnPaid::Pending => self.status[n] = PaymentStatus::Pending,
                OnPaid::Refund => {
                    self.status[n] = PaymentStatus::Refunded;
                    *self.postings.entry(("refund", n)).or_default() += 1;
                }
            }
        }

        fn apply(&mut self, r: Report) {
            match r {
                Report::Paid(n) => self.paid(n),
                Report::Failed(n) => {
                    if self.paid_at_gateway[n] {
                        return; // the gateway no longer reports a failure once paid
                    }
                    if let Some(s) = on_failed(self.status[n]) {
                        self.status[n] = s;
                        if self.claim == Some(n) {
                            self.claim = None;
                        }
                    }
                }
                Report::Expired(n) => {
                    if self.paid_at_gateway[n] {
                        return; // closing a paid order answers ORDERPAID
                    }
                    if let Some(s) = on_closed(self.status[n], false) {
                        self.status[n] = s;
                        if self.claim == Some(n) {
                            self.claim = None;
                        }
                    }
                }
                Report::Billed(n) => {
                    if !self.paid_at_gateway[n] {
                        return; // the bill lists paid orders only
                    }
                    if on_billed(self.status[n]) == OnBilled::SettleFirst {
                        self.paid(n);
                    }
                    if on_billed(self.status[n]) == OnBilled::Confirm {
                        self.status[n] = PaymentStatus::Paid;
                        // The posting's source is unique: a second insert is a no-op.
                        let e = self.postings.entry(("confirm", n)).or_default();
                        *e = 1;
                    }
                }
            }
        }
    }

    fn report() -> impl Strategy<Value = Report> {
        (0..4u8, 0..3usize).prop_map(|(k, n)| match k {
            0 => Report::Paid(n),
            1 => Report::Failed(n),
            2 => Report::Expired(n),
            _ => Report::Billed(n),
        })
    }

    proptest! {
        /// Three payments of the same payable; any interleaving of notifications, queries,
        /// expiries and reconciliations: the payable is paid once, every other payment the
        /// gateway took money for is refunded once, and nothing is posted twice.
        #[test]
        fn any_interleaving_posts_each_payment_once(reports in proptest::collection::vec(report(), 0..40)) {
            let mut m = Model {
                status: vec![PaymentStatus::AwaitingPayment; 3],
                paid_at_gateway: vec![false; 3],
                ..Model::default()
            };
            // Only the first payment is open with the claim at first; the others were created
            // after it failed or expired (modelled by letting them race for the claim).
            for r in &reports {
                m.apply(*r);
            }
            // Then the day's bill for every order paid at the gateway, twice.
            for _ in 0..2 {
                for n in 0..3 {
                    m.apply(Report::Billed(n));
                }
            }
            let settled: Vec<usize> = (0..3)
                .filter(|n| matches!(m.status[*n], PaymentStatus::Paid | PaymentStatus::Pending))
                .collect();
            prop_assert!(settled.len() <= 1, "paid twice: {:?}", m.status);
            for (source, count) in &m.postings {
                prop_assert_eq!(*count, 1, "{:?} posted {} times", source, count);
            }
            for n in 0..3 {
                if m.paid_at_gateway[n] {
                    // Every payment the gateway took money for ends paid or refunded.
                    prop_assert!(matches!(m.status[n], PaymentStatus::Paid | PaymentStatus::Refunded), "{:?}", m.status);
                    let confirmed = m.postings.contains_key(&("confirm", n));
                    let refunded = m.postings.contains_key(&("refund", n));
                    prop_assert!(confirmed != refunded, "payment {} confirmed {} refunded {}", n, confirmed, refunded);
                }
            }
        }
    }
}
