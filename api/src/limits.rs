//! The failure limits of the routes that check a guessable secret (sign-in, step-up, binding).
//! A try is counted before the secret is checked, so parallel guesses cannot all slip past the
//! limit; afterwards it is given back or the counters are cleared. The rules are
//! `shebao_domain::throttle`; the counters live in the database, so they hold across instances.

use actix_web::HttpRequest;
use shebao_domain::staff::Username;
use shebao_domain::throttle::{self, Refusal};
use shebao_infra::identity::throttle::{self as store, Counter, Scope};
use shebao_security::opaque;
use uuid::Uuid;

use crate::auth::extract::client_ip;
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// The counter of the request's client address (every sign-in and step-up shares it).
pub fn client_address(req: &HttpRequest) -> Counter {
    let ip = client_ip(req).unwrap_or_else(|| "unknown".to_owned());
    Counter::new(Scope::ClientAddress, ip, throttle::CLIENT_ADDRESS)
}

/// The sign-in counter of a phone number (its blind index), whether or not it has an account.
pub fn phone_sign_in(phone_hash: &str) -> Counter {
    Counter::new(Scope::PhoneSignIn, phone_hash, throttle::SIGN_IN)
}

/// The sign-in counter of a staff username as typed (normalised when it is a valid username),
/// whether or not it exists.
pub fn staff_sign_in(username: &str) -> Counter {
    let subject = match Username::parse(username) {
        Ok(u) => u.as_str().to_owned(),
        Err(_) => format!("invalid:{}", opaque::sha256_hex(username)),
    };
    Counter::new(Scope::StaffSignIn, subject, throttle::STAFF_SIGN_IN)
}

/// The step-up counter of an account.
pub fn step_up(account_id: Uuid) -> Counter {
    Counter::new(Scope::StepUp, account_id.to_string(), throttle::STEP_UP)
}

/// The binding counters: of the account, and of the ID number tried (its blind index).
pub fn binding(account_id: Uuid, id_number_hash: &str) -> Vec<Counter> {
    vec![
        Counter::new(
            Scope::BindingAccount,
            account_id.to_string(),
            throttle::BINDING,
        ),
        Counter::new(Scope::BindingIdNumber, id_number_hash, throttle::BINDING),
    ]
}

/// Forgets a phone number's sign-in failures (its owner just proved it by SMS).
pub async fn forget_phone_sign_in(state: &AppState, phone_hash: &str) -> Result<(), ApiError> {
    let counter = phone_sign_in(phone_hash);
    state
        .db
        .transaction(move |c| store::succeeded(c, std::slice::from_ref(&counter)))
        .await?;
    Ok(())
}

/// Tries counted on some counters, waiting to be settled.
#[derive(Debug)]
#[must_use = "settle the tries: a try left alone counts as a failure"]
pub struct Tries {
    counters: Vec<Counter>,
}

impl Tries {
    /// Counts a try on each counter (in this order), or answers 429 with `Retry-After`.
    pub async fn begin(state: &AppState, counters: Vec<Counter>) -> Result<Tries, ApiError> {
        let now = state.now();
        let held = counters.clone();
        state
            .db
            .transaction(move |c| store::try_attempt(c, &held, now))
            .await?
            .map_err(|(scope, refusal)| refused(scope, refusal))?;
        Ok(Tries { counters })
    }

    /// The try failed: it stays counted.
    pub fn failed(self) {}

    /// The secret was proven: one identifier's counters are cleared, the others get the try
    /// back.
    pub async fn succeeded(self, state: &AppState) -> Result<(), ApiError> {
        let counters = self.counters;
        state
            .db
            .transaction(move |c| store::succeeded(c, &counters))
            .await?;
        Ok(())
    }

    /// The try was neither a failure nor a success (a sign-in that goes on to its second
    /// factor, a binding refused for another reason): it is given back.
    pub async fn released(self, state: &AppState) -> Result<(), ApiError> {
        let counters = self.counters;
        state
            .db
            .transaction(move |c| store::release(c, &counters))
            .await?;
        Ok(())
    }
}

/// The 429 for a refused try: a locked sign-in identifier is `account_locked` (whether or not
/// it has an account); anything else is `too_many_attempts`.
fn refused(scope: Scope, refusal: Refusal) -> ApiError {
    let wait = refusal.wait_secs();
    match (scope, refusal) {
        (Scope::PhoneSignIn | Scope::StaffSignIn, Refusal::Locked(_)) => ApiError::AccountLocked {
            retry_after_secs: u64::try_from(wait).unwrap_or(1),
        },
        (Scope::PhoneSignIn | Scope::StaffSignIn, Refusal::SlowDown(_)) => {
            ErrorCode::TooManyAttempts.retry_after(wait)
        }
        (Scope::ClientAddress, _) => ErrorCode::TooManyAttempts.retry_after(wait),
        (Scope::StepUp, _) => ErrorCode::TooManyAttempts.retry_after(wait),
        (Scope::BindingAccount | Scope::BindingIdNumber, _) => {
            ErrorCode::TooManyAttempts.retry_after(wait)
        }
    }
}
