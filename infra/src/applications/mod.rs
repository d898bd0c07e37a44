//! Applications in the database: the application and its timeline and documents, and what an
//! approval writes into the person's records (benefit awards, region transfers, medical
//! filings), with the regions' service parameters those decisions read.

pub mod effects;
pub mod store;
