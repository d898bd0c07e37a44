//! Personalised notices (issue 18): the notices the staff publish ([`store`]), who each one
//! reaches — counted in one query, or read person by person ([`audience`]) — and sending one
//! by SMS through the reminder jobs ([`sms`]). What the audience rule means is in
//! `shebao_domain::notices`.

pub mod audience;
pub mod sms;
pub mod store;
