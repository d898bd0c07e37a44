//! Premium payments. For now the gateway port and its value types ([`gateway`]); payables,
//! orders and the ledger build on it.

pub mod gateway;

pub use gateway::{
    AppOrder, Bilingual, FailureCode, GatewayError, GatewayFuture, Notification, NotificationEvent,
    NotificationResource, OutRefundNo, OutTradeNo, PaymentGateway, PrepayId, Refund, RefundRequest,
    RefundStatus, SignedNotification, TradeBill, TradeBillRow, TradeBillSummary, TradeState,
    Transaction,
};
