//! Payments' adapters: the payment gateway client ([`wechat_pay::WechatPayGateway`], a client of
//! the WeChat Pay API v3 protocol in `shared/GATEWAY.md`) and its trade-bill reader.

mod bill;
pub mod wechat_pay;

pub use wechat_pay::{WechatPayConfig, WechatPayGateway};
pub mod service;
pub mod store;
