//! The wire contract of Shebao's API: request and response bodies, the problem+json body and the
//! base OpenAPI document. The `api` crate's handlers use these types and add their paths; the
//! assembled document is committed as `openapi/openapi.json` and a test keeps the two equal.
#![forbid(unsafe_code)]

pub mod applications;
pub mod certificates;
pub mod document;
pub mod feedback;
pub mod identity;
pub mod imports;
pub mod institutions;
pub mod jobs;
pub mod notices;
pub mod ops;
pub mod payments;
pub mod payouts;
pub mod problem;
pub mod proxies;
pub mod records;
pub mod reminders;
pub mod staff;
pub mod wire;

pub use problem::{FieldError, Problem};
