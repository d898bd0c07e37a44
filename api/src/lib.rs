//! Shebao's HTTP API: actix-web handlers, extractors, problem+json errors, the middleware that
//! gives every request an id, and the start-up that wires storage, keys and the server.
#![forbid(unsafe_code)]

pub mod audit;
pub mod auth;
pub mod cli;
pub mod context;
pub mod cursor;
pub mod error;
pub mod metrics;
pub mod middleware;
pub mod openapi_doc;
pub mod routes;
pub mod routing;
pub mod session_cache;
pub mod startup;
pub mod state;
pub mod telemetry;
