//! Ports: what the domain needs from the outside world, as traits. The implementations that do
//! I/O live in `infra`; the simple ones here serve tests.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

/// The current time. Injected everywhere a rule depends on time (expiry, TOTP steps, due dates),
/// so tests can control it.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> DateTime<Utc> {
        (**self).now()
    }
}

impl<C: Clock + ?Sized> Clock for Box<C> {
    fn now(&self) -> DateTime<Utc> {
        (**self).now()
    }
}

/// A clock that always shows the same instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FixedClock(pub DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

/// A clock a test moves by hand (shared through an `Arc`), to step past an expiry or a TOTP
/// window without sleeping.
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        ManualClock(Mutex::new(start))
    }

    pub fn set(&self, to: DateTime<Utc>) {
        *self.lock() = to;
    }

    /// Moves the clock by `by` (backwards if negative); saturates at chrono's limits.
    pub fn advance(&self, by: chrono::TimeDelta) {
        let mut now = self.lock();
        *now = now.checked_add_signed(by).unwrap_or(*now);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, DateTime<Utc>> {
        // The guarded value is a plain timestamp: a panic elsewhere cannot leave it half-written.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.lock()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn fixed_clock() {
        let clock = FixedClock(at("2025-03-01T08:00:00Z"));
        assert_eq!(clock.now(), at("2025-03-01T08:00:00Z"));
        let shared: Arc<dyn Clock> = Arc::new(clock);
        assert_eq!(shared.now(), at("2025-03-01T08:00:00Z"));
    }

    #[test]
    fn manual_clock() {
        let clock = Arc::new(ManualClock::new(at("2025-03-01T08:00:00Z")));
        let as_port: Arc<dyn Clock> = clock.clone();
        clock.advance(chrono::TimeDelta::seconds(30));
        assert_eq!(as_port.now(), at("2025-03-01T08:00:30Z"));
        clock.set(at("2030-01-01T00:00:00Z"));
        assert_eq!(as_port.now(), at("2030-01-01T00:00:00Z"));
        clock.advance(chrono::TimeDelta::MAX);
        assert_eq!(as_port.now(), at("2030-01-01T00:00:00Z"));
    }
}

/// One text message to send. `id` is the message's own idempotency key: it is recorded before
/// the provider is called, and the provider is told it, so a retry never sends twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsMessage {
    pub id: String,
    pub to: crate::identity::PhoneNumber,
    pub body: String,
}

/// What the provider answered for an accepted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentSms {
    /// The provider's id of the message (Twilio's `sid`).
    pub provider_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmsError {
    /// The provider cannot be reached or keeps failing (timeouts, 5xx): try again later.
    #[error("SMS provider unavailable: {0}")]
    Unavailable(String),
    /// The provider refused this message (4xx): retrying will not help.
    #[error("SMS provider rejected the message: {0}")]
    Rejected(String),
    /// The provider may or may not have taken the message (no answer in time, or an answer
    /// that says accepted but cannot be read): the person may receive it.
    #[error("SMS outcome unknown: {0}")]
    Unknown(String),
}

/// Sends text messages (the SMS provider).
pub trait SmsSender: Send + Sync + 'static {
    fn send<'a>(
        &'a self,
        message: &'a SmsMessage,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<SentSms, SmsError>> + Send + 'a>>;
}
