//! Shebao's HTTP API: actix-web handlers, extractors, problem+json errors, the middleware that
//! gives every request an id, and the start-up that wires storage, keys and the server.
#![forbid(unsafe_code)]

pub mod audit;
pub mod auth;
pub mod cli;
pub mod client_ip;
pub mod context;
pub mod cursor;
pub mod docs;
pub mod error;
pub mod jobs;
pub mod limits;
pub mod metrics;
pub mod middleware;
pub mod openapi_doc;
pub mod proxy_activity;
pub mod respond;
pub mod routes;
pub mod routing;
pub mod security_headers;
pub mod session_cache;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod worker;
