//! Who is asking: the extractors that turn a request into a principal (a staff member, a
//! signed-in person, a person bound to an ID card) and the request-reading extractors beside
//! them (a JSON body, a page request). Routes depend on this module; it depends on the state,
//! the request context and the error type, never on a route.

pub mod bound;
pub mod extract;
pub mod person;
pub mod proxy;
pub mod strict_json;
