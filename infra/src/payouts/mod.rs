//! Benefit payouts (issue 14 §2): the persons' payout accounts ([`accounts`]) and the staff's
//! monthly payout runs with their transfer attempts ([`runs`], [`service`]).

pub mod accounts;
pub mod runs;
pub mod service;
