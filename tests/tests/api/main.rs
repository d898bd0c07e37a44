//! End-to-end tests over real HTTP. One binary (one link) with a module per capability.
#![allow(clippy::unwrap_used)]

mod applications;
mod certificates;
mod demo;
mod errors;
mod estimate;
mod feedback;
mod identity;
mod identity_limits;
mod imports;
mod institutions;
mod jobs;
mod lookups;
mod migrations;
mod notices;
mod openapi_spec;
mod operations;
mod payments;
mod payouts;
mod platform;
mod proxies;
mod records;
mod reminders;
mod staff_registry;
