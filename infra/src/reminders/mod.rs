//! SMS reminder campaigns: who each campaign speaks to. The rules (keys, daylight, texts) are
//! in `shebao_domain::reminders`; the jobs run on `crate::jobs`.

pub mod due;
pub mod sms;
