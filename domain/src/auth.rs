//! Rules of signing in: SMS code purposes and limits, and the TOTP replay rule. How repeated
//! failures slow down and lock out is in [`crate::throttle`].

use chrono::{NaiveDateTime, TimeDelta};
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

/// What a refresh token presented again after it was spent means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshReplay {
    /// A retry of the same refresh (parallel requests, a lost answer): answer again with the
    /// pair the first presentation got.
    Retry,
    /// A replay (a stolen or leaked token): the session ends.
    Reuse,
}

/// The refresh-token reuse rule. A token spent at `spent_at` and presented again at `now` is a
/// retry only while fewer than `grace_secs` seconds have passed and the token it was exchanged
/// for (its successor) has not been spent itself; anything else is reuse. `grace_secs = 0`
/// turns the grace period off. A `now` before `spent_at` (clocks of two servers) counts as
/// inside the window.
pub fn refresh_replay(
    spent_at: NaiveDateTime,
    now: NaiveDateTime,
    grace_secs: u32,
    successor_unspent: bool,
) -> RefreshReplay {
    let inside = now - spent_at < TimeDelta::seconds(i64::from(grace_secs));
    if inside && successor_unspent {
        RefreshReplay::Retry
    } else {
        RefreshReplay::Reuse
    }
}

/// A change to an account's second factor. Each one is told to the account's phone by SMS, so
/// an owner whose access token was stolen learns of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactorChange {
    TotpEnabled,
    TotpReplaced,
    TotpDisabled,
}

impl FactorChange {
    /// The SMS notice, in Chinese and English (one message; the phone shows both).
    pub fn notice(self) -> &'static str {
        match self {
            FactorChange::TotpEnabled => {
                "【社保】您的账户已绑定新的动态口令（身份验证器）。如非本人操作，请立即重置密码并联系客服。\
                 Shebao: a new authenticator was added to your account. If this was not you, reset your password now."
            }
            FactorChange::TotpReplaced => {
                "【社保】您的账户已更换动态口令（身份验证器）。如非本人操作，请立即重置密码并联系客服。\
                 Shebao: the authenticator of your account was replaced. If this was not you, reset your password now."
            }
            FactorChange::TotpDisabled => {
                "【社保】您的账户已关闭动态口令（身份验证器）。如非本人操作，请立即重置密码并联系客服。\
                 Shebao: the authenticator was removed from your account. If this was not you, reset your password now."
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

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

    fn at(secs: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_764_633_600 + secs, 0)
            .unwrap()
            .naive_utc()
    }

    #[test]
    fn a_refresh_token_presented_again_is_a_retry_only_inside_the_window() {
        // Spent at t=0 with a 10 s window: t=0, 3 and 9.999 are retries; t=10 and 11 are not.
        assert_eq!(refresh_replay(at(0), at(0), 10, true), RefreshReplay::Retry);
        assert_eq!(refresh_replay(at(0), at(3), 10, true), RefreshReplay::Retry);
        let almost = at(9) + TimeDelta::milliseconds(999);
        assert_eq!(
            refresh_replay(at(0), almost, 10, true),
            RefreshReplay::Retry
        );
        assert_eq!(
            refresh_replay(at(0), at(10), 10, true),
            RefreshReplay::Reuse
        );
        assert_eq!(
            refresh_replay(at(0), at(11), 10, true),
            RefreshReplay::Reuse
        );
        // Another server's clock a second behind still counts as inside.
        assert_eq!(refresh_replay(at(5), at(4), 10, true), RefreshReplay::Retry);
    }

    #[test]
    fn a_spent_successor_or_no_window_makes_it_reuse() {
        // The pair was already refreshed onward: the old token coming back is a fork.
        assert_eq!(
            refresh_replay(at(0), at(1), 10, false),
            RefreshReplay::Reuse
        );
        // Grace 0: every second presentation is reuse, as before the window existed.
        assert_eq!(refresh_replay(at(0), at(0), 0, true), RefreshReplay::Reuse);
    }

    #[test]
    fn factor_notices_say_what_changed_in_both_languages() {
        let on = FactorChange::TotpEnabled.notice();
        assert!(on.contains("绑定新的动态口令") && on.contains("authenticator was added"));
        let new = FactorChange::TotpReplaced.notice();
        assert!(
            new.contains("更换动态口令")
                && new.contains("authenticator of your account was replaced")
        );
        assert!(!new.chars().any(|c| c.is_ascii_digit()));
        let off = FactorChange::TotpDisabled.notice();
        assert!(off.contains("关闭动态口令") && off.contains("authenticator was removed"));
        // Neither holds a digit run an app could take for a code.
        assert!(!on.chars().any(|c| c.is_ascii_digit()));
        assert!(!off.chars().any(|c| c.is_ascii_digit()));
    }
}
