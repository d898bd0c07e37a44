//! Failure counters for guessable secrets (passwords, TOTP and SMS codes, binding details): how
//! many tries an identifier or an address gets, how the wait grows, when a lock-out starts.
//!
//! An attempt is counted *before* the secret is checked ([`Attempts::try_attempt`]) and given
//! back when it was not a failure ([`Attempts::release`]) or wipes the slate when it proved the
//! secret ([`Attempts::cleared`]). So a burst of parallel guesses cannot all pass the gate before
//! the first failure is written: each one takes its place in the count first.

use chrono::{DateTime, Duration, Utc};

/// How one kind of counter behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Failures in a row after which each further try must wait (2 s, 4 s, 8 s … 64 s, see
    /// [`backoff_after`]); `None`: no slow-down, only the lock-out.
    pub slow_after: Option<i32>,
    /// Failures within the window after which the next try starts a lock-out.
    pub lock_after: i32,
    /// The first lock-out; each further one within [`LOCKOUT_MEMORY_HOURS`] doubles it…
    pub first_lock: Duration,
    /// …up to this.
    pub max_lock: Duration,
    /// Failures older than this (from the first of them) are forgotten.
    pub window: Duration,
}

/// Lock-outs are remembered this long for the growing wait.
pub const LOCKOUT_MEMORY_HOURS: i64 = 24;

/// A phone number or staff username at sign-in, whether or not it has an account: five
/// failures, slowed down after the second, then fifteen minutes locked.
pub const SIGN_IN: Policy = Policy {
    slow_after: Some(2),
    lock_after: 5,
    first_lock: Duration::minutes(15),
    max_lock: Duration::minutes(15),
    window: Duration::hours(24),
};

/// A staff username, whether or not it exists: five failures, then fifteen minutes locked.
pub const STAFF_SIGN_IN: Policy = Policy {
    slow_after: None,
    ..SIGN_IN
};

/// One client address, over every sign-in and step-up: twenty failures in fifteen minutes,
/// then fifteen minutes locked.
pub const CLIENT_ADDRESS: Policy = Policy {
    slow_after: None,
    lock_after: 20,
    first_lock: Duration::minutes(15),
    max_lock: Duration::minutes(15),
    window: Duration::minutes(15),
};

/// Step-up of one account (TOTP or SMS code): five failures, then a lock-out of five minutes
/// that doubles with each further one (10, 20, 40 minutes …, at most a day).
pub const STEP_UP: Policy = Policy {
    slow_after: None,
    lock_after: 5,
    first_lock: Duration::minutes(5),
    max_lock: Duration::hours(24),
    window: Duration::hours(1),
};

/// Binding mismatches, per account and per ID number looked up: five a day.
pub const BINDING: Policy = Policy {
    slow_after: None,
    lock_after: 5,
    first_lock: Duration::hours(24),
    max_lock: Duration::hours(24),
    window: Duration::hours(24),
};

/// The wait after `failures` failures in a row when slowing down after `slow_after`: none up
/// to it, then 2 s, 4 s, 8 s … 64 s.
pub fn backoff_after(slow_after: i32, failures: i32) -> Duration {
    if failures <= slow_after {
        Duration::zero()
    } else {
        Duration::seconds(1i64 << (failures - slow_after).min(6))
    }
}

/// The state of one counter (one row in storage).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Attempts {
    /// Counted tries within the window (in flight or failed).
    pub failures: i32,
    pub window_started: Option<DateTime<Utc>>,
    pub last_failed_at: Option<DateTime<Utc>>,
    pub locked_until: Option<DateTime<Utc>>,
    /// Lock-outs so far (forgotten a day after the last one ended).
    pub lockouts: i32,
}

/// Why a try must wait, and how long (seconds, at least 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Too soon after the last failure.
    SlowDown(i64),
    /// Locked out.
    Locked(i64),
}

impl Refusal {
    pub fn wait_secs(self) -> i64 {
        match self {
            Refusal::SlowDown(s) | Refusal::Locked(s) => s,
        }
    }
}

fn secs(d: Duration) -> i64 {
    d.num_seconds().max(1)
}

impl Attempts {
    /// Decides whether a try may go ahead at `now`. Either way the answer carries the state to
    /// store: with the try counted (`Ok`), or with a lock-out that starts now (`Err`).
    pub fn try_attempt(
        self,
        policy: &Policy,
        now: DateTime<Utc>,
    ) -> (Attempts, Result<(), Refusal>) {
        let mut next = self;
        if let Some(until) = self.locked_until {
            if until > now {
                return (self, Err(Refusal::Locked(secs(until - now))));
            }
            next.locked_until = None;
            if until + Duration::hours(LOCKOUT_MEMORY_HOURS) <= now {
                next.lockouts = 0;
            }
        }
        if next
            .window_started
            .is_none_or(|started| started + policy.window <= now)
        {
            next.failures = 0;
            next.window_started = Some(now);
            next.last_failed_at = None;
        }
        if next.failures >= policy.lock_after {
            let lock = lock_for(policy, next.lockouts);
            next.locked_until = Some(now + lock);
            next.lockouts = next.lockouts.saturating_add(1);
            next.failures = 0;
            next.window_started = Some(now + lock);
            next.last_failed_at = None;
            return (next, Err(Refusal::Locked(secs(lock))));
        }
        if let (Some(slow_after), Some(last)) = (policy.slow_after, next.last_failed_at) {
            let ready = last + backoff_after(slow_after, next.failures);
            if ready > now {
                return (self, Err(Refusal::SlowDown(secs(ready - now))));
            }
        }
        next.failures += 1;
        next.last_failed_at = Some(now);
        (next, Ok(()))
    }

    /// Gives back one counted try that turned out not to be a failure.
    pub fn release(self) -> Attempts {
        Attempts {
            failures: (self.failures - 1).max(0),
            ..self
        }
    }

    /// The secret was proven: everything is forgotten.
    pub fn cleared() -> Attempts {
        Attempts::default()
    }
}

/// The length of lock-out number `lockouts + 1`: the first, doubled for each earlier one, at
/// most the policy's maximum.
pub fn lock_for(policy: &Policy, lockouts: i32) -> Duration {
    let factor = 1i32 << lockouts.clamp(0, 20);
    policy
        .first_lock
        .checked_mul(factor)
        .unwrap_or(policy.max_lock)
        .min(policy.max_lock)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + s, 0).unwrap()
    }

    /// Tries at the given seconds (all failures), the outcome of each.
    fn run(policy: &Policy, at: &[i64]) -> (Attempts, Vec<Result<(), Refusal>>) {
        let mut state = Attempts::default();
        let mut out = Vec::new();
        for &s in at {
            let (next, verdict) = state.try_attempt(policy, t(s));
            state = next;
            out.push(verdict);
        }
        (state, out)
    }

    #[test]
    fn backoff_doubles_after_the_free_tries() {
        assert_eq!(backoff_after(2, 0), Duration::zero());
        assert_eq!(backoff_after(2, 2), Duration::zero());
        assert_eq!(backoff_after(2, 3), Duration::seconds(2));
        assert_eq!(backoff_after(2, 4), Duration::seconds(4));
        assert_eq!(backoff_after(2, 30), Duration::seconds(64));
    }

    #[test]
    fn sign_in_slows_down_after_three_and_locks_after_five() {
        // Three at once; the fourth at once waits 2 s; then 10 s apart; the sixth is locked.
        let (state, out) = run(&SIGN_IN, &[0, 0, 0, 0, 10, 20, 30]);
        assert_eq!(
            out,
            vec![
                Ok(()),
                Ok(()),
                Ok(()),
                Err(Refusal::SlowDown(2)),
                Ok(()),
                Ok(()),
                Err(Refusal::Locked(900)),
            ]
        );
        assert_eq!(state.locked_until, Some(t(930)));
        // Still locked 10 minutes on; open (with a fresh count) after the 15 minutes.
        assert_eq!(
            state.try_attempt(&SIGN_IN, t(630)).1,
            Err(Refusal::Locked(300))
        );
        let (after, verdict) = state.try_attempt(&SIGN_IN, t(930));
        assert_eq!(verdict, Ok(()));
        assert_eq!(after.failures, 1);
    }

    #[test]
    fn staff_sign_in_locks_after_five_without_slowing_down() {
        let (state, out) = run(&STAFF_SIGN_IN, &[0; 6]);
        assert!(out[..5].iter().all(Result::is_ok));
        assert_eq!(out[5], Err(Refusal::Locked(900)));
        assert_eq!(state.lockouts, 1);
    }

    #[test]
    fn step_up_lock_outs_grow() {
        let mut state = Attempts::default();
        let mut waits = Vec::new();
        let mut now = 0;
        for _ in 0..4 {
            for _ in 0..5 {
                let (next, verdict) = state.try_attempt(&STEP_UP, t(now));
                assert_eq!(verdict, Ok(()));
                state = next;
            }
            let (next, verdict) = state.try_attempt(&STEP_UP, t(now));
            state = next;
            let wait = verdict.unwrap_err().wait_secs();
            waits.push(wait);
            now += wait;
        }
        // 5, 10, 20, 40 minutes.
        assert_eq!(waits, vec![300, 600, 1200, 2400]);
        // A day after the last lock-out ended, the wait is back to five minutes.
        now += 24 * 3600;
        for _ in 0..5 {
            state = state.try_attempt(&STEP_UP, t(now)).0;
        }
        assert_eq!(
            state.try_attempt(&STEP_UP, t(now)).1,
            Err(Refusal::Locked(300))
        );
        assert_eq!(lock_for(&STEP_UP, 30), Duration::hours(24));
    }

    #[test]
    fn released_and_cleared_tries_do_not_count() {
        let mut state = Attempts::default();
        for _ in 0..10 {
            let (next, verdict) = state.try_attempt(&BINDING, t(0));
            assert_eq!(verdict, Ok(()));
            state = next.release();
        }
        assert_eq!(state.failures, 0);
        for _ in 0..5 {
            state = state.try_attempt(&BINDING, t(0)).0;
        }
        assert_eq!(state.failures, 5);
        assert_eq!(Attempts::cleared().try_attempt(&BINDING, t(1)).1, Ok(()));
    }

    #[test]
    fn a_window_forgets_old_failures() {
        // Nineteen failures, then 15 minutes pass: twenty more are allowed.
        let (state, out) = run(&CLIENT_ADDRESS, &[0; 19]);
        assert!(out.iter().all(Result::is_ok));
        let (state, verdict) = state.try_attempt(&CLIENT_ADDRESS, t(900));
        assert_eq!(verdict, Ok(()));
        assert_eq!(state.failures, 1);
        // Twenty within the window: the twenty-first is locked out for 15 minutes.
        let (_, out) = run(&CLIENT_ADDRESS, &[5; 21]);
        assert_eq!(out[19], Ok(()));
        assert_eq!(out[20], Err(Refusal::Locked(900)));
    }
}
