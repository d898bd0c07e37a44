//! A payout run: every person entitled to a benefit for a month is paid once through the
//! gateway's transfer operation, and so is every earlier month of the horizon they were owed and
//! not paid (the catch-up, [`runs::owed`]), each month in its own attempt. Synchronous and resumable: each person's attempt is booked in
//! its own transaction before the gateway is called, and the answer recorded in another; a run
//! killed anywhere (or whose answer was lost) leaves `pending` attempts that the next run of
//! the same month sends again under the same bill number, which the gateway answers with the
//! bill it has. A gateway call never runs inside a transaction.

use shebao_domain::benefits::BenefitKind;
use shebao_domain::money::Fen;
use shebao_domain::payments::{
    GatewayError, OutTradeNo, TransferBill, TransferPayee, TransferRequest,
};
use shebao_domain::payouts::{self as rules, PayoutDestination};
use shebao_domain::period::Period;
use shebao_security::PiiVault;
use uuid::Uuid;

use super::runs::{self, ItemRow, Prepared};
use crate::db::StoreError;
use crate::payments::service::Payments;

/// The transfer scene (转账场景) of benefit payouts, as agreed with the gateway.
pub const TRANSFER_SCENE_ID: &str = "1000";

/// Runs a payout of `benefit` for `period`; returns the run's id. Store errors stop the run
/// (what is recorded stays; the next run resumes); a gateway failure for one person leaves that
/// attempt `pending` and the run goes on.
pub async fn run(
    payments: &Payments,
    vault: &PiiVault,
    period: Period,
    benefit: BenefitKind,
    started_by: String,
) -> Result<Uuid, StoreError> {
    let db = payments.db();
    let now = payments.clock().now();
    let ts = now.naive_utc();
    let run = db
        .transaction(move |c| runs::start_run(c, period, benefit, &started_by, ts))
        .await?;
    // The day in Beijing, the agency's calendar (a suspended pension is judged on it).
    let today = (now + chrono::TimeDelta::hours(8)).date_naive();
    let owed = db
        .read(move |c| runs::owed(c, benefit, period, today))
        .await?;
    let (mut entitled, mut skipped, mut already) = (0u32, 0u32, 0u32);
    for o in &owed {
        if o.entitled {
            entitled += 1;
            if o.paid_already {
                already += 1;
            }
        }
        let mut no_account = false;
        // The earlier months first (the catch-up), then the run's own; each its own attempt.
        // Once a transfer fails (a closed account), the person's other months wait for the next
        // run rather than fail too (and text them again).
        for (month, amount) in &o.months {
            let (person, month, amount, vault2) = (o.person, *month, *amount, vault.clone());
            let this_month = month == period;
            let now = payments.clock().now();
            let prepared = db
                .transaction(move |c| {
                    runs::prepare(c, &vault2, run, person, benefit, month, amount, now)
                })
                .await;
            match prepared {
                Ok(Prepared::Send(item)) => {
                    if send(payments, vault, &item, false).await? {
                        break;
                    }
                }
                Ok(Prepared::Resume(item)) => {
                    already += u32::from(this_month);
                    if send(payments, vault, &item, true).await? {
                        break;
                    }
                }
                Ok(Prepared::AlreadyPaid) => already += u32::from(this_month),
                Ok(Prepared::NoAccount) => no_account = true,
                // Another run booked this month for this person at the same moment.
                Err(StoreError::Conflict(what)) => {
                    tracing::warn!(%person, %month, %what, "payout attempt booked by another run meanwhile");
                    already += u32::from(this_month);
                }
                Err(e) => return Err(e),
            }
        }
        skipped += u32::from(no_account);
    }
    let ts = payments.clock().now().naive_utc();
    db.transaction(move |c| runs::finish_run(c, run, entitled, skipped, already, ts))
        .await?;
    Ok(run)
}

fn request_of(
    payments: &Payments,
    item: &ItemRow,
    destination: &PayoutDestination,
) -> Result<TransferRequest, StoreError> {
    let bad = |e| StoreError::Corrupt(format!("payout_items: {e}"));
    Ok(TransferRequest {
        out_bill_no: OutTradeNo::parse(&item.out_bill_no).map_err(bad)?,
        transfer_scene_id: TRANSFER_SCENE_ID.to_owned(),
        amount: Fen(item.amount_fen),
        remark: rules::transfer_remark(item.benefit_kind()?, item.period()?),
        notify_url: payments.notify_url().to_owned(),
        payee: TransferPayee {
            kind: match destination {
                PayoutDestination::BankCard { .. } => "BANK_CARD",
                PayoutDestination::Wallet { .. } => "WALLET",
            },
            institution: destination.institution().to_owned(),
            account_no: destination.number().to_owned(),
        },
    })
}

/// Sends an attempt's bill (a resumed one is first looked up: the gateway may have it) and
/// records what the gateway says; `true` when the transfer failed. A bill the gateway only
/// accepted is looked up once more: the notification, or the next run, records it when it is
/// final.
async fn send(
    payments: &Payments,
    vault: &PiiVault,
    item: &ItemRow,
    resume: bool,
) -> Result<bool, StoreError> {
    let request = request_of(payments, item, &item.destination(vault)?)?;
    let gateway = payments.gateway();
    let found = if resume {
        match gateway.query_transfer(&request.out_bill_no).await {
            Err(GatewayError::NotFound) => None,
            other => Some(other),
        }
    } else {
        None
    };
    let answer = match found {
        Some(answer) => answer,
        None => gateway.create_transfer(&request).await,
    };
    let bill: TransferBill = match answer {
        Ok(bill) if !bill.state.is_final() => {
            match gateway.query_transfer(&request.out_bill_no).await {
                Ok(b) => b,
                Err(_) => bill,
            }
        }
        Ok(bill) => bill,
        Err(error) => {
            tracing::warn!(out_bill_no = %item.out_bill_no, %error, "payout transfer not confirmed; the next run resumes it");
            return Ok(false);
        }
    };
    let now = payments.clock().now();
    payments
        .db()
        .transaction(move |c| runs::record_bill(c, &bill, now))
        .await
        .map(|status| status.as_deref() == Some(runs::FAILED))
}
