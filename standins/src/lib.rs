//! Stand-ins for Shebao's outside systems: real HTTP servers that speak the same protocol as the
//! real provider, so the demo and the tests exercise the real adapters over real sockets.
//!
//! - [`sms::SmsStandIn`]: a Twilio-compatible Messages API that keeps the messages in memory and
//!   lists them at `GET /messages?to=…` (how the demo user reads their code).
//! - [`pay::PayStandIn`]: a WeChat Pay API v3 payment gateway (orders, refunds, trade bills,
//!   signed and encrypted notifications) with a control API to play the payer.
#![forbid(unsafe_code)]

pub mod pay;
pub mod sms;
