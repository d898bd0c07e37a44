//! Shebao's adapters to the outside world: storage (diesel on SQLite and PostgreSQL),
//! configuration, the clock, demo data, and (feature `synthetic`) synthetic data for benchmarks.
#![forbid(unsafe_code)]

pub mod applications;
pub mod audit;
pub mod certificates;
pub mod clock;
pub mod config;
pub mod db;
pub mod feedback;
pub mod identity;
pub mod institutions;
pub mod jobs;
pub mod notices;
mod outbound;
pub mod payments;
pub mod payouts;
pub mod proxies;
pub mod records;
pub mod registry;
pub mod reminders;
pub mod schema;
pub mod seed;
pub mod sms;
#[cfg(feature = "synthetic")]
pub mod synthetic;
