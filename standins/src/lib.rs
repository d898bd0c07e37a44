//! Stand-ins for Shebao's outside systems: real HTTP servers that speak the same protocol as the
//! real provider, so the demo and the tests exercise the real adapters over real sockets.
//!
//! - [`sms::SmsStandIn`]: a Twilio-compatible Messages API that keeps the messages in memory and
//!   lists them at `GET /messages?to=…` (how the demo user reads their code).
#![forbid(unsafe_code)]

pub mod sms;
