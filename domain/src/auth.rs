//! Rules of signing in: SMS code purposes and limits, the TOTP replay rule, and how repeated
//! failures slow an account down and then lock it.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::ValueError;

/// What an SMS code may be used for. A code is only good for the purpose it was sent for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmsPurpose {
    Register,
    Login,
    StepUp,
    ResetPassword,
}

impl SmsPurpose {
    pub const ALL: [SmsPurpose; 4] = [
        SmsPurpose::Register,
        SmsPurpose::Login,
        SmsPurpose::StepUp,
        SmsPurpose::ResetPassword,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SmsPurpose::Register => "register",
            SmsPurpose::Login => "login",
            SmsPurpose::StepUp => "step_up",
            SmsPurpose::ResetPassword => "reset_password",
        }
    }

    pub fn parse(s: &str) -> Result<SmsPurpose, ValueError> {
        SmsPurpose::ALL
            .into_iter()
            .find(|p| p.as_str() == s.trim())
            .ok_or(ValueError::OneOf {
                allowed: "register, login, step_up, reset_password",
            })
    }
}

/// Limits on SMS codes.
pub mod sms_policy {
    /// A code is valid for five minutes…
    pub const CODE_TTL_SECS: i64 = 300;
    /// …and dies at the fifth wrong try.
    pub const MAX_ATTEMPTS: i32 = 5;
    /// A new code for the same phone and purpose no sooner than a minute after the last.
    pub const RESEND_COOLDOWN_SECS: i64 = 60;
    /// Codes per phone number per day (all purposes).
    pub const DAILY_CAP_PER_PHONE: i64 = 10;
    /// Codes per client address per day.
    pub const DAILY_CAP_PER_IP: i64 = 50;
    /// Digits in a code.
    pub const CODE_DIGITS: usize = 6;
}

/// How long a step-up lasts.
pub const STEP_UP_SECS: i64 = 300;

/// TOTP (RFC 6238) enrolment; the step, digits, drift and secret size are
/// `shebao_security::totp`'s.
pub mod totp_policy {
    pub const RECOVERY_CODES: usize = 10;
}

/// A TOTP code is accepted at most once: only a step later than the last accepted one counts.
pub fn totp_step_is_fresh(last_accepted: Option<i64>, step: i64) -> bool {
    last_accepted.is_none_or(|last| step > last)
}

/// Failed sign-ins in a row after which the account is locked, and for how long.
pub const LOCK_AFTER_FAILURES: i32 = 5;
pub const LOCK_MINUTES: i64 = 15;
/// Failures from one client address within the window before it is locked out.
pub const IP_FAILURE_LIMIT: i32 = 20;
pub const IP_WINDOW_MINUTES: i64 = 15;

/// Whether a sign-in may be attempted now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInGate {
    Open,
    /// Too soon after the last failure: wait this many seconds.
    SlowDown(i64),
    /// Locked: this many seconds left.
    Locked(i64),
}

/// The wait after `failures` failures in a row: none for the first two, then 2 s, 4 s, 8 s…
pub fn backoff_after(failures: i32) -> Duration {
    if failures < 3 {
        Duration::zero()
    } else {
        Duration::seconds(1i64 << (failures - 2).min(6))
    }
}

/// Decides whether an account with these counters may try to sign in at `now`.
pub fn sign_in_gate(
    failures: i32,
    last_failed_at: Option<DateTime<Utc>>,
    locked_until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> SignInGate {
    if let Some(until) = locked_until.filter(|u| *u > now) {
        return SignInGate::Locked((until - now).num_seconds().max(1));
    }
    match last_failed_at {
        Some(last) => {
            let ready_at = last + backoff_after(failures);
            if ready_at > now {
                SignInGate::SlowDown((ready_at - now).num_seconds().max(1))
            } else {
                SignInGate::Open
            }
        }
        None => SignInGate::Open,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + s, 0).unwrap()
    }

    #[test]
    fn purposes_round_trip() {
        for p in SmsPurpose::ALL {
            assert_eq!(SmsPurpose::parse(p.as_str()).unwrap(), p);
        }
        assert_eq!(SmsPurpose::parse("spam").unwrap_err().code(), "one_of");
    }

    #[test]
    fn totp_steps_are_accepted_once() {
        assert!(totp_step_is_fresh(None, 10));
        assert!(totp_step_is_fresh(Some(9), 10));
        assert!(!totp_step_is_fresh(Some(10), 10));
        assert!(!totp_step_is_fresh(Some(11), 10));
    }

    #[test]
    fn failures_slow_down_then_lock() {
        assert_eq!(backoff_after(0), Duration::zero());
        assert_eq!(backoff_after(2), Duration::zero());
        assert_eq!(backoff_after(3), Duration::seconds(2));
        assert_eq!(backoff_after(4), Duration::seconds(4));
        assert_eq!(backoff_after(30), Duration::seconds(64));
        assert_eq!(sign_in_gate(2, Some(t(0)), None, t(0)), SignInGate::Open);
        assert_eq!(
            sign_in_gate(3, Some(t(0)), None, t(1)),
            SignInGate::SlowDown(1)
        );
        assert_eq!(sign_in_gate(3, Some(t(0)), None, t(2)), SignInGate::Open);
        assert_eq!(
            sign_in_gate(0, None, Some(t(900)), t(0)),
            SignInGate::Locked(900)
        );
        assert_eq!(
            sign_in_gate(0, None, Some(t(900)), t(900)),
            SignInGate::Open
        );
    }
}
