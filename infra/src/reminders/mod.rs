//! SMS reminder campaigns: who each campaign speaks to, and the SMS jobs that send them. The
//! rules (keys, daylight, caps, texts) are in `shebao_domain::reminders`; the jobs run on
//! `crate::jobs`.

pub mod arrears;
pub mod campaigns;
pub mod due;
pub mod prefs;
pub mod sms;
pub mod statement;
pub mod window;
