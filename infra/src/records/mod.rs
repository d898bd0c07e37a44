//! A person's records: monthly contributions, medical-account spending, benefit payments,
//! pension-account interest.

pub mod benefits;
pub mod contributions;
pub mod imports;
pub mod medical;
pub mod pension;
