//! A signed-in person whose account is bound to a registered person: what every route of the
//! person's own records needs.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use chrono::NaiveDate;
use shebao_domain::region::TimeZoneName;
use uuid::Uuid;

use crate::auth::extract::bearer_problems;
use crate::auth::person::Person;
use crate::error::{ApiError, ErrorCode, ProblemSet};

/// A signed-in person whose account is bound to a registered person.
#[derive(Debug, Clone)]
pub struct BoundPerson {
    pub account_id: Uuid,
    pub person_id: Uuid,
    /// Their region's time zone: whose calendar says when a month falls due.
    pub time_zone: TimeZoneName,
    /// The day of the next month by which their region wants a month paid.
    pub due_day: u8,
}

/// The person's routes answer 401 like any person's, 403 `binding_required` until an ID card
/// is bound, and 403 `scope_denied` to a proxy token the route is not open to.
impl ProblemSet for BoundPerson {
    fn codes() -> Vec<ErrorCode> {
        let mut codes = bearer_problems(ErrorCode::BindingRequired);
        // A proxy token on a route outside its grant's scopes (亲情代办).
        codes.push(ErrorCode::ScopeDenied);
        codes
    }
}

impl BoundPerson {
    /// The person's local date at `now`.
    pub fn today(&self, now: chrono::DateTime<chrono::Utc>) -> NaiveDate {
        self.time_zone.local_date(now)
    }
}

impl FromRequest for BoundPerson {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let person = Person::from_request(req, payload);
        Box::pin(async move {
            let person = person.await?;
            let bound = person.person.ok_or(ErrorCode::BindingRequired)?;
            Ok(BoundPerson {
                account_id: person.account_id,
                person_id: bound.id,
                time_zone: bound.time_zone,
                due_day: bound.due_day,
            })
        })
    }
}
