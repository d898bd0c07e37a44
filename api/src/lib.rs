//! Shebao's HTTP API: actix-web handlers, extractors, problem+json errors, the middleware that
//! gives every request an id, and the start-up that wires storage, keys and the server.
#![forbid(unsafe_code)]

pub mod audit;
pub mod cli;
pub mod context;
pub mod cursor;
pub mod error;
pub mod extract;
pub mod jobs;
pub mod metrics;
pub mod middleware;
pub mod openapi_doc;
pub mod person_auth;
pub mod routes;
pub mod routing;
pub mod startup;
pub mod state;
pub mod telemetry;
