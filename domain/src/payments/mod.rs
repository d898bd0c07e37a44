//! Premium payments: the gateway port and its value types ([`gateway`]), what can be paid
//! ([`payables`]), a payment's life ([`order`]) and the day's reconciliation ([`reconcile`]).
//! The ledger they post to is [`crate::ledger`].

pub mod gateway;
pub mod order;
pub mod payables;
pub mod reconcile;

pub use gateway::{
    AppOrder, Bilingual, FailureCode, GatewayError, GatewayFuture, Notification, NotificationEvent,
    NotificationResource, OutRefundNo, OutTradeNo, PaymentGateway, PrepayId, Refund, RefundRequest,
    RefundStatus, SignedNotification, TradeBill, TradeBillRow, TradeBillSummary, TradeState,
    Transaction, TransferBill, TransferPayee, TransferRequest,
};
pub use order::PaymentStatus;
pub use payables::{Payable, PayableId, PayableKind};
