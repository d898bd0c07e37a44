//! The payment flows that span the database and the gateway: creating an order, cancelling it,
//! taking a notification, polling orders whose notification has not come, refunding a duplicate,
//! reconciling a day. Each database step is one transaction; a gateway call never runs inside
//! one, and every step is safe to repeat, so a crash between two steps is repaired by the next
//! poll or reconciliation.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeDelta, Timelike, Utc};
use serde::Serialize;
use shebao_domain::payments::payables::{Payable, PayableId};
use shebao_domain::payments::reconcile::{self, Billed, Recorded};
use shebao_domain::payments::{
    AppOrder, GatewayError, NotificationResource, OutRefundNo, OutTradeNo, PaymentGateway,
    PaymentStatus, RefundRequest, SignedNotification, TradeState, Transaction,
};
use shebao_domain::ports::Clock;
use uuid::Uuid;

use super::store::{self, Created, NewPayment, PaidOutcome, Payment};
use crate::db::{Db, StoreError};

/// The one channel so far.
pub const CHANNEL_WECHAT: &str = "wechat";

/// How long an order can be paid.
pub const ORDER_TTL: TimeDelta = TimeDelta::minutes(15);

/// Why a payment flow stopped.
#[derive(Debug, thiserror::Error)]
pub enum PayError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    #[error("the idempotency key was used with another request")]
    KeyReused,
    #[error("{payable} is in payment {payment}")]
    AlreadyInPayment { payable: PayableId, payment: Uuid },
    #[error("the order was paid after all")]
    AlreadyPaid,
    #[error("the payment is not awaiting payment")]
    NotOpen(PaymentStatus),
    #[error("the notification does not verify: {0}")]
    BadNotification(String),
}

/// The payment flows; cheap to clone.
#[derive(Clone)]
pub struct Payments {
    db: Db,
    gateway: Arc<dyn PaymentGateway>,
    clock: Arc<dyn Clock>,
    notify_url: String,
}

/// What a poll did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PollReport {
    pub queried: u32,
    pub settled: u32,
    pub failed: u32,
    pub expired: u32,
    pub refunds: u32,
    pub errors: u32,
}

/// A reconciliation's result, as the staff API and the command show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Reconciliation {
    pub date: NaiveDate,
    pub channel: String,
    pub confirmed: u32,
    pub already_confirmed: u32,
    pub missing_here: Vec<String>,
    pub missing_at_gateway: Vec<String>,
    pub amount_mismatch: Vec<AmountMismatch>,
    /// Paid at the gateway for items another payment had paid: refunded.
    pub refunded: Vec<String>,
    pub run_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct AmountMismatch {
    pub out_trade_no: String,
    pub here_fen: i64,
    pub gateway_fen: i64,
}

fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600)
        .unwrap_or_else(|| FixedOffset::east_opt(0).unwrap_or_else(|| unreachable!()))
}

fn utc_naive(t: Option<DateTime<FixedOffset>>, fallback: NaiveDateTime) -> NaiveDateTime {
    t.map_or(fallback, |t| t.with_timezone(&Utc).naive_utc())
}

/// A new order number: `SB` and 24 hex digits (26 characters; the gateway allows 6–32).
pub fn new_out_trade_no() -> String {
    let hex = Uuid::new_v4().simple().to_string();
    format!("SB{}", &hex[..24])
}

impl Payments {
    pub fn new(
        db: Db,
        gateway: Arc<dyn PaymentGateway>,
        clock: Arc<dyn Clock>,
        notify_url: String,
    ) -> Payments {
        Payments {
            db,
            gateway,
            clock,
            notify_url,
        }
    }

    pub fn gateway(&self) -> &Arc<dyn PaymentGateway> {
        &self.gateway
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Where the gateway sends notifications (premium payments' and transfers' alike).
    pub fn notify_url(&self) -> &str {
        &self.notify_url
    }

    fn now(&self) -> NaiveDateTime {
        self.clock.now().naive_utc()
    }

    /// Creates the order for `items` (computed by the caller from the records, never sent by the
    /// client), or answers what this idempotency key created before. The order is written
    /// before the gateway is called: a gateway that fails leaves a payment without a prepay id,
    /// which the same key completes on retry and the poller closes if nobody does.
    pub async fn create(
        &self,
        person: Uuid,
        idempotency_key: String,
        request_hash: String,
        items: Vec<Payable>,
        description: String,
    ) -> Result<(Payment, bool), PayError> {
        let now = self.now();
        let amount = shebao_domain::payments::payables::total(&items)
            .ok_or_else(|| StoreError::Corrupt("payment total overflows".into()))?;
        let expires = (now + ORDER_TTL)
            .with_nanosecond(0)
            .unwrap_or(now + ORDER_TTL);
        let new = NewPayment {
            person_id: person,
            idempotency_key,
            request_hash,
            channel: CHANNEL_WECHAT.into(),
            out_trade_no: new_out_trade_no(),
            items,
            amount,
            description,
            expires_at: expires,
        };
        let created = loop {
            let n = new.clone();
            match self
                .db
                .transaction(move |c| store::create_payment(c, &n, now))
                .await
            {
                // The same key raced in another request: its payment wins; read it.
                Err(StoreError::Conflict(_)) => continue,
                other => break other?,
            }
        };
        let (payment, replayed) = match created {
            Created::New(p) => (p, false),
            Created::Replayed(p) => (p, true),
            Created::KeyReused => return Err(PayError::KeyReused),
            Created::AlreadyInPayment { payable, payment } => {
                return Err(PayError::AlreadyInPayment { payable, payment })
            }
        };
        if payment.prepay_id.is_some() || payment.status != PaymentStatus::AwaitingPayment {
            return Ok((payment, replayed));
        }
        let order = AppOrder::new(
            OutTradeNo::parse(&payment.out_trade_no)
                .map_err(|e| StoreError::Corrupt(format!("out_trade_no: {e}")))?,
            &payment.description,
            payment.amount,
            payment.expires_at.and_utc(),
            &self.notify_url,
        )
        .map_err(|e| StoreError::Corrupt(format!("order: {e}")))?;
        let prepay = self.gateway.create_app_order(&order).await?;
        let id = payment.id;
        let prepay_id = prepay.0.clone();
        self.db
            .run(move |c| store::set_prepay_id(c, id, &prepay_id))
            .await?;
        let mut payment = payment;
        payment.prepay_id = Some(prepay.0);
        Ok((payment, replayed))
    }

    /// Applies what the gateway says about an order; returns the payment's status afterwards.
    async fn apply_transaction(&self, t: &Transaction) -> Result<(), PayError> {
        let now = self.now();
        let no = t.out_trade_no.as_str().to_owned();
        match t.trade_state {
            TradeState::Success | TradeState::Refund => {
                let paid_at = utc_naive(t.success_time, now);
                let tid = t.transaction_id.clone();
                let outcome = self
                    .db
                    .transaction(move |c| store::apply_paid(c, &no, tid.as_deref(), paid_at, now))
                    .await?;
                if let PaidOutcome::RefundDue { .. } = outcome {
                    self.refund_pending(&t.out_trade_no).await?;
                }
            }
            TradeState::PayError => {
                if let Some(code) = t.failure() {
                    self.db
                        .transaction(move |c| {
                            if store::apply_failed(c, &no, code, now)? {
                                tell_payment_failed(c, &no, code, now.and_utc())?;
                            }
                            Ok(())
                        })
                        .await?;
                }
            }
            TradeState::Closed => {
                self.db
                    .transaction(move |c| store::apply_closed(c, &no, false, now))
                    .await?;
            }
            TradeState::NotPay | TradeState::UserPaying => {}
        }
        Ok(())
    }

    /// Sends (again) the refund of a payment refunded as a duplicate; safe to repeat (the
    /// refund number is fixed).
    async fn refund_pending(&self, out_trade_no: &OutTradeNo) -> Result<(), PayError> {
        let no = out_trade_no.as_str().to_owned();
        let Some(p) = self
            .db
            .read(move |c| store::by_out_trade_no(c, &no))
            .await?
        else {
            return Ok(());
        };
        self.send_refund(&p).await
    }

    async fn send_refund(&self, p: &Payment) -> Result<(), PayError> {
        let (Some(refund_no), None) = (&p.out_refund_no, p.refunded_at) else {
            return Ok(());
        };
        let corrupt = |e: shebao_domain::ValueError| StoreError::Corrupt(format!("refund: {e}"));
        let request = RefundRequest::new(
            OutTradeNo::parse(&p.out_trade_no).map_err(corrupt)?,
            OutRefundNo::parse(refund_no).map_err(corrupt)?,
            "重复缴费退款 duplicate payment refund",
            p.amount,
            p.amount,
            &self.notify_url,
        )
        .map_err(corrupt)?;
        let refund = match p.refund_status.as_deref() {
            Some("REQUESTED") => self.gateway.refund(&request).await?,
            _ => self.gateway.query_refund(&request.out_refund_no).await?,
        };
        let now = self.now();
        let no = refund_no.clone();
        let status = refund.status.as_str().to_owned();
        self.db
            .transaction(move |c| store::apply_refund(c, &no, &status, now))
            .await?;
        Ok(())
    }

    /// Asks the gateway about one payment and applies the answer.
    pub async fn query(&self, p: &Payment) -> Result<(), PayError> {
        let no = OutTradeNo::parse(&p.out_trade_no)
            .map_err(|e| StoreError::Corrupt(format!("out_trade_no: {e}")))?;
        match self.gateway.query_order(&no).await {
            Ok(t) => self.apply_transaction(&t).await,
            Err(GatewayError::NotFound) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// The payer cancels: the order is closed at the gateway first. A gateway that says the
    /// order was paid wins: the payment goes on as paid and the caller hears
    /// [`PayError::AlreadyPaid`].
    pub async fn cancel(&self, p: &Payment) -> Result<(), PayError> {
        if p.status != PaymentStatus::AwaitingPayment {
            return Err(PayError::NotOpen(p.status));
        }
        let no = OutTradeNo::parse(&p.out_trade_no)
            .map_err(|e| StoreError::Corrupt(format!("out_trade_no: {e}")))?;
        match self.gateway.close_order(&no).await {
            Ok(()) | Err(GatewayError::NotFound) | Err(GatewayError::OrderClosed) => {}
            Err(GatewayError::OrderPaid) => {
                let t = self.gateway.query_order(&no).await?;
                self.apply_transaction(&t).await?;
                return Err(PayError::AlreadyPaid);
            }
            Err(e) => return Err(e.into()),
        }
        let now = self.now();
        let n = p.out_trade_no.clone();
        let closed = self
            .db
            .transaction(move |c| store::apply_closed(c, &n, true, now))
            .await?;
        if !closed {
            // Settled meanwhile (a notification came in between).
            let id = p.id;
            let status = self
                .db
                .read(move |c| store::get(c, id))
                .await?
                .map(|p| p.status);
            return match status {
                Some(s) if s.money_received() => Err(PayError::AlreadyPaid),
                Some(s) => Err(PayError::NotOpen(s)),
                None => Ok(()),
            };
        }
        Ok(())
    }

    /// A notification from the gateway: verified (signature, serial, freshness), decrypted,
    /// recorded by its event id and applied. A notification seen before changes nothing.
    pub async fn notification(&self, signed: &SignedNotification) -> Result<bool, PayError> {
        let n = self
            .gateway
            .verify_notification(signed)
            .map_err(|e| PayError::BadNotification(e.to_string()))?;
        let now = self.now();
        let (event_id, event_type) = (n.id.clone(), n.event.as_str().to_owned());
        let first = self
            .db
            .transaction(move |c| store::first_sight(c, &event_id, &event_type, now))
            .await?;
        // Applied even when seen before: applying is idempotent, and a crash between recording
        // the event and applying it must not lose the payment.
        match &n.resource {
            NotificationResource::Transaction(t) => self.apply_transaction(t).await?,
            NotificationResource::Refund(r) => {
                let no = r.out_refund_no.as_str().to_owned();
                let status = r.status.as_str().to_owned();
                self.db
                    .transaction(move |c| store::apply_refund(c, &no, &status, now))
                    .await?;
            }
            NotificationResource::TransferBill(b) => {
                let (bill, at) = (b.clone(), self.clock.now());
                self.db
                    .transaction(move |c| crate::payouts::runs::record_bill(c, &bill, at))
                    .await?;
            }
        }
        Ok(first)
    }

    /// One round of the poller: every order still awaiting payment is queried; one past its
    /// expiry and unpaid is closed at the gateway, then marked expired; refunds in flight are
    /// sent or queried.
    pub async fn poll(&self) -> Result<PollReport, StoreError> {
        let mut report = PollReport::default();
        let open = self.db.read(|c| store::awaiting(c, 200)).await?;
        for p in open {
            report.queried += 1;
            match self.poll_one(&p).await {
                Ok(Some(status)) => match status {
                    PaymentStatus::Pending | PaymentStatus::Paid => report.settled += 1,
                    PaymentStatus::Failed => report.failed += 1,
                    PaymentStatus::Expired => report.expired += 1,
                    _ => {}
                },
                Ok(None) => {}
                Err(e) => {
                    report.errors += 1;
                    tracing::warn!(out_trade_no = %p.out_trade_no, error = %e, "payment poll failed; tried again next round");
                }
            }
        }
        let refunds = self.db.read(|c| store::refunds_in_progress(c, 100)).await?;
        for p in refunds {
            report.refunds += 1;
            if let Err(e) = self.send_refund(&p).await {
                report.errors += 1;
                tracing::warn!(out_trade_no = %p.out_trade_no, error = %e, "refund not sent yet; tried again next round");
            }
        }
        Ok(report)
    }

    async fn poll_one(&self, p: &Payment) -> Result<Option<PaymentStatus>, PayError> {
        let no = OutTradeNo::parse(&p.out_trade_no)
            .map_err(|e| StoreError::Corrupt(format!("out_trade_no: {e}")))?;
        let state = match self.gateway.query_order(&no).await {
            Ok(t) => {
                self.apply_transaction(&t).await?;
                Some(t.trade_state)
            }
            Err(GatewayError::NotFound) => None,
            Err(e) => return Err(e.into()),
        };
        let expired = self.now() >= p.expires_at;
        if expired
            && matches!(
                state,
                None | Some(TradeState::NotPay | TradeState::UserPaying)
            )
        {
            match self.gateway.close_order(&no).await {
                Ok(()) | Err(GatewayError::NotFound) | Err(GatewayError::OrderClosed) => {
                    let now = self.now();
                    let n = p.out_trade_no.clone();
                    self.db
                        .transaction(move |c| store::apply_closed(c, &n, false, now))
                        .await?;
                }
                Err(GatewayError::OrderPaid) => {
                    let t = self.gateway.query_order(&no).await?;
                    self.apply_transaction(&t).await?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        let id = p.id;
        Ok(self
            .db
            .read(move |c| store::get(c, id))
            .await?
            .map(|p| p.status))
    }

    /// Reconciles a day (Beijing time) against the gateway's trade bill: every pending payment
    /// the bill lists is confirmed (paid, posted), every difference reported. Running it again
    /// changes nothing.
    pub async fn reconcile(&self, date: NaiveDate) -> Result<Reconciliation, PayError> {
        let bill = self.gateway.trade_bill(date).await?;
        let billed: Vec<Billed> = bill
            .rows
            .iter()
            .filter(|r| r.refund_id.is_none() && r.total.0 > 0)
            .map(|r| Billed {
                out_trade_no: r.out_trade_no.as_str().to_owned(),
                total: r.total,
            })
            .collect();
        let nos: Vec<String> = billed.iter().map(|b| b.out_trade_no.clone()).collect();
        let start = date
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default()
            .and_local_timezone(beijing())
            .single()
            .map(|t| t.with_timezone(&Utc).naive_utc())
            .unwrap_or_default();
        let end = start + TimeDelta::days(1);
        let (recorded, paid_here) = self
            .db
            .read(move |c| {
                let paid_here = store::paid_between(c, CHANNEL_WECHAT, start, end)?;
                let mut all = nos.clone();
                all.extend(paid_here.iter().cloned());
                Ok((store::by_out_trade_nos(c, &all)?, paid_here))
            })
            .await?;
        let recorded: BTreeMap<String, Recorded> = recorded
            .into_iter()
            .map(|p| {
                (
                    p.out_trade_no.clone(),
                    Recorded {
                        out_trade_no: p.out_trade_no,
                        status: p.status,
                        amount: p.amount,
                    },
                )
            })
            .collect();
        let paid_here: BTreeSet<String> = paid_here.into_iter().collect();
        let plan = reconcile::plan(&billed, &recorded, &paid_here);
        let mut result = Reconciliation {
            date,
            channel: CHANNEL_WECHAT.into(),
            confirmed: 0,
            already_confirmed: u32::try_from(plan.already_confirmed.len()).unwrap_or(u32::MAX),
            missing_here: plan.missing_here.clone(),
            missing_at_gateway: plan.missing_at_gateway.clone(),
            amount_mismatch: plan
                .amount_mismatch
                .iter()
                .map(|m| AmountMismatch {
                    out_trade_no: m.out_trade_no.clone(),
                    here_fen: m.here.0,
                    gateway_fen: m.gateway.0,
                })
                .collect(),
            refunded: plan.refunded.clone(),
            run_at: self.clock.now(),
        };
        for no in &plan.settle_then_confirm {
            let row = bill
                .rows
                .iter()
                .find(|r| r.out_trade_no.as_str() == no && r.refund_id.is_none());
            let now = self.now();
            let paid_at = row.map_or(now, |r| {
                r.trade_time
                    .and_local_timezone(beijing())
                    .single()
                    .map_or(now, |t| t.with_timezone(&Utc).naive_utc())
            });
            let tid = row.map(|r| r.transaction_id.clone());
            let n = no.clone();
            let outcome = self
                .db
                .transaction(move |c| store::apply_paid(c, &n, tid.as_deref(), paid_at, now))
                .await?;
            if let PaidOutcome::RefundDue { .. } = outcome {
                result.refunded.push(no.clone());
                if let Ok(no) = OutTradeNo::parse(no) {
                    if let Err(e) = self.refund_pending(&no).await {
                        tracing::warn!(error = %e, "refund not sent yet; the poller retries");
                    }
                }
            }
        }
        for no in plan.confirm.iter().chain(&plan.settle_then_confirm) {
            let now = self.now();
            let n = no.clone();
            if self
                .db
                .transaction(move |c| store::confirm(c, &n, now))
                .await?
            {
                result.confirmed += 1;
            }
        }
        let json = serde_json::to_string(&result)
            .map_err(|e| StoreError::Corrupt(format!("reconciliation: {e}")))?;
        let now = self.now();
        self.db
            .transaction(move |c| store::save_reconciliation(c, date, CHANNEL_WECHAT, &json, now))
            .await?;
        Ok(result)
    }
}

/// The last reconciliation of a day (any channel), if any.
pub async fn last_reconciliation(
    db: &Db,
    date: NaiveDate,
) -> Result<Option<Reconciliation>, StoreError> {
    let runs = db.read(move |c| store::reconciliations_of(c, date)).await?;
    runs.into_iter()
        .next()
        .map(|(_, json, _)| {
            serde_json::from_str(&json)
                .map_err(|e| StoreError::Corrupt(format!("reconciliation_runs.result: {e}")))
        })
        .transpose()
}

/// Texts the payer that their payment failed, and why (an event message: sent once per
/// payment, in daylight, neither capped nor subject to the campaign preferences). Nothing when
/// the payer has no bound account.
fn tell_payment_failed(
    conn: &mut crate::db::DbConnection,
    out_trade_no: &str,
    code: shebao_domain::payments::gateway::FailureCode,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    use shebao_domain::reminders::{failure_reason_zh, payment_failed_text};
    let Some(p) = store::by_out_trade_no(conn, out_trade_no)? else {
        return Ok(());
    };
    crate::reminders::sms::enqueue_event_to_person(
        conn,
        p.person_id,
        "payment_failed",
        payment_failed_text(p.amount, failure_reason_zh(code)),
        &format!("payment_failed:{}", p.id),
        now,
    )?;
    Ok(())
}
