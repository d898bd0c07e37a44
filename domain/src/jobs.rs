//! Durable jobs: the states a job goes through, what happens after a failure (retry with
//! exponential backoff and jitter, or dead), and the slots of cron schedules. No I/O: the queue
//! lives in `infra`, the time is an argument.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::error::ValueError;
use crate::region::TimeZoneName;

/// Where a job is in its life.
///
/// ```text
/// queued ──claim──▶ running ──ok──▶ done
///    ▲                 │
///    └──fail (tries left) / not yet (deferred) / released; lease expired: claimed again
///                      │
///                      └──fail (no tries left)──▶ dead ──staff retry──▶ queued
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Running,
    Done,
    Dead,
}

string_enum!(JobState, allowed = "queued, running, done, dead", {
    Queued => "queued",
    Running => "running",
    Done => "done",
    Dead => "dead",
});

impl JobState {
    /// Only a dead job may be put back in the queue by hand; the others are still on their way
    /// (queued, running) or finished for good (done).
    pub fn can_retry_by_hand(self) -> bool {
        self == JobState::Dead
    }
}

/// A job kind: lowercase letters, digits and `_` or `.`, 1–64 characters (`sms.due`, `probe`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobKind(String);

impl JobKind {
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(ValueError::Empty);
        }
        if s.len() > 64 {
            return Err(ValueError::TooLong { max: 64 });
        }
        let ok = s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.');
        if !ok {
            return Err(ValueError::Format {
                expected: "lowercase letters, digits, '_' or '.', starting with a letter",
            });
        }
        Ok(JobKind(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl_text_value!(JobKind);

/// How long to wait before the next try, and how many tries a job gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The delay before the second try (before jitter).
    pub base: TimeDelta,
    /// No delay is longer than this (before jitter).
    pub cap: TimeDelta,
}

impl Default for RetryPolicy {
    /// 10 s, 20 s, 40 s, … up to one hour.
    fn default() -> Self {
        RetryPolicy {
            base: TimeDelta::seconds(10),
            cap: TimeDelta::hours(1),
        }
    }
}

/// Jitter as a fraction in thousandths (0–1000), drawn by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Jitter(u16);

impl Jitter {
    pub const NONE: Jitter = Jitter(0);
    pub const FULL: Jitter = Jitter(1000);

    /// Clamps to 0–1000.
    pub fn per_mille(p: u16) -> Jitter {
        Jitter(p.min(1000))
    }
}

impl RetryPolicy {
    /// The delay after the `attempt`-th try failed (1-based): `base × 2^(attempt−1)`, at most
    /// `cap`; "equal jitter" then keeps the first half and spreads the second half by `jitter`,
    /// so workers that failed together do not all come back in the same instant, and the delay
    /// never falls below half the exponential step.
    pub fn delay(&self, attempt: u32, jitter: Jitter) -> TimeDelta {
        let base_ms = self.base.num_milliseconds().max(0);
        let cap_ms = self.cap.num_milliseconds().max(0);
        let shift = attempt.saturating_sub(1).min(40);
        let exp_ms = base_ms.saturating_mul(1i64 << shift).min(cap_ms);
        let half = exp_ms / 2;
        let spread = (exp_ms - half) * i64::from(jitter.0) / 1000;
        TimeDelta::milliseconds(half + spread)
    }
}

/// What becomes of a job after one of its tries failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    /// Back to `queued`, to run again at this time.
    RetryAt(DateTime<Utc>),
    /// No tries left (or the failure is permanent): `dead`, kept with its error.
    Dead,
}

/// Decides a failed try's outcome. `attempts` counts the tries made so far, this one included.
pub fn after_failure(
    policy: &RetryPolicy,
    attempts: u32,
    max_attempts: u32,
    permanent: bool,
    now: DateTime<Utc>,
    jitter: Jitter,
) -> AfterFailure {
    if permanent || attempts >= max_attempts {
        AfterFailure::Dead
    } else {
        AfterFailure::RetryAt(now + policy.delay(attempts, jitter))
    }
}

/// A claimed job whose count of tries is already past its maximum was claimed again after its
/// worker died holding it on its last try: it must not run again.
pub fn is_exhausted(attempts: u32, max_attempts: u32) -> bool {
    attempts > max_attempts
}

/// A cron expression: 5 fields (`min hour day-of-month month day-of-week`) or 6 with seconds
/// first, as the `cron` crate reads them. Kept in the text it was given.
#[derive(Clone)]
pub struct CronExpr {
    text: String,
    schedule: cron::Schedule,
}

impl CronExpr {
    pub fn parse(s: &str) -> Result<CronExpr, ValueError> {
        let text = s.split_whitespace().collect::<Vec<_>>().join(" ");
        let fields = text.split(' ').filter(|f| !f.is_empty()).count();
        let full = match fields {
            5 => format!("0 {text}"),
            6 => text.clone(),
            _ => {
                return Err(ValueError::Format {
                    expected: "a cron expression of 5 fields (min hour dom month dow)",
                })
            }
        };
        let schedule = cron::Schedule::from_str(&full).map_err(|_| ValueError::Format {
            expected: "a cron expression of 5 fields (min hour dom month dow)",
        })?;
        Ok(CronExpr { text, schedule })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Debug for CronExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CronExpr").field(&self.text).finish()
    }
}

impl PartialEq for CronExpr {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

/// A cron schedule read in a time zone (`0 10 10 * *` in `Asia/Shanghai` is the 10th of each
/// month at 10:00 Beijing time).
#[derive(Debug, Clone, PartialEq)]
pub struct CronSchedule {
    pub expr: CronExpr,
    pub zone: TimeZoneName,
}

/// How many slots [`CronSchedule::due_slot`] walks over at most (a minutely schedule that was
/// down for two months); past that it starts from the last window before `now`.
const MAX_WALK: usize = 100_000;

impl CronSchedule {
    /// The first slot strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let tz = self.zone.tz();
        self.expr
            .schedule
            .after(&after.with_timezone(&tz))
            .next()
            .map(|t| t.with_timezone(&Utc))
    }

    /// The slot to fire now, if any: the latest slot in `(after, now]`. Slots missed while no
    /// instance ran are not fired one by one; the latest of them fires once, late.
    pub fn due_slot(&self, after: DateTime<Utc>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let tz = self.zone.tz();
        let mut due = None;
        for (walked, slot) in self
            .expr
            .schedule
            .after(&after.with_timezone(&tz))
            .enumerate()
        {
            let slot = slot.with_timezone(&Utc);
            if slot > now {
                return due;
            }
            due = Some(slot);
            if walked >= MAX_WALK {
                // Too far behind: look only at the last day before now.
                return self
                    .due_slot(now - TimeDelta::days(1), now)
                    .or(due)
                    .filter(|s| *s > after);
            }
        }
        due
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
    fn states_parse_and_only_dead_is_retried_by_hand() {
        for s in JobState::ALL {
            assert_eq!(JobState::parse(s.as_str()).unwrap(), s);
            assert_eq!(
                serde_json::to_value(s).unwrap(),
                serde_json::json!(s.as_str())
            );
        }
        assert!(JobState::parse("failed").is_err());
        assert!(JobState::Dead.can_retry_by_hand());
        assert!(!JobState::Queued.can_retry_by_hand());
        assert!(!JobState::Running.can_retry_by_hand());
        assert!(!JobState::Done.can_retry_by_hand());
    }

    #[test]
    fn kinds() {
        assert_eq!(JobKind::parse(" sms.due ").unwrap().as_str(), "sms.due");
        assert!(JobKind::parse("probe").is_ok());
        assert!(JobKind::parse("").is_err());
        assert!(JobKind::parse("Probe").is_err());
        assert!(JobKind::parse("9lives").is_err());
        assert!(JobKind::parse("a b").is_err());
        assert!(JobKind::parse(&"a".repeat(65)).is_err());
    }

    #[test]
    fn backoff_doubles_from_the_base_up_to_the_cap() {
        let p = RetryPolicy::default(); // 10 s base, 1 h cap
                                        // Without jitter the delay is half the exponential step: 5 s, 10 s, 20 s, 40 s …
        assert_eq!(p.delay(1, Jitter::NONE), TimeDelta::seconds(5));
        assert_eq!(p.delay(2, Jitter::NONE), TimeDelta::seconds(10));
        assert_eq!(p.delay(3, Jitter::NONE), TimeDelta::seconds(20));
        assert_eq!(p.delay(4, Jitter::NONE), TimeDelta::seconds(40));
        // With full jitter the whole step: 10 s, 20 s, 40 s, 80 s.
        assert_eq!(p.delay(1, Jitter::FULL), TimeDelta::seconds(10));
        assert_eq!(p.delay(4, Jitter::FULL), TimeDelta::seconds(80));
        // Half jitter on the 3rd failure: 40 s step → 20 s + 0.5 × 20 s = 30 s.
        assert_eq!(p.delay(3, Jitter::per_mille(500)), TimeDelta::seconds(30));
        // 10 s × 2^9 = 5120 s > 3600 s: capped at one hour, so 1800 s … 3600 s.
        assert_eq!(p.delay(10, Jitter::NONE), TimeDelta::seconds(1800));
        assert_eq!(p.delay(10, Jitter::FULL), TimeDelta::seconds(3600));
        // Absurd attempt counts neither overflow nor pass the cap.
        assert_eq!(p.delay(u32::MAX, Jitter::FULL), TimeDelta::seconds(3600));
        // Attempt 0 (never happens) is treated as the first.
        assert_eq!(p.delay(0, Jitter::FULL), TimeDelta::seconds(10));
        // Jitter over 1000 ‰ is clamped.
        assert_eq!(Jitter::per_mille(5000), Jitter::FULL);
    }

    #[test]
    fn jitter_spreads_within_the_step() {
        let p = RetryPolicy {
            base: TimeDelta::seconds(2),
            cap: TimeDelta::seconds(60),
        };
        // 3rd failure: step 8 s → between 4 s and 8 s; 250 ‰ → 4 s + 1 s = 5 s.
        assert_eq!(p.delay(3, Jitter::per_mille(250)), TimeDelta::seconds(5));
        for j in [0u16, 1, 333, 999, 1000] {
            let d = p.delay(3, Jitter::per_mille(j));
            assert!(
                d >= TimeDelta::seconds(4) && d <= TimeDelta::seconds(8),
                "{d}"
            );
        }
    }

    #[test]
    fn a_failure_retries_until_the_tries_are_used_up() {
        let p = RetryPolicy::default();
        let now = at("2026-12-02T10:00:00Z");
        assert_eq!(
            after_failure(&p, 1, 3, false, now, Jitter::NONE),
            AfterFailure::RetryAt(at("2026-12-02T10:00:05Z"))
        );
        assert_eq!(
            after_failure(&p, 2, 3, false, now, Jitter::FULL),
            AfterFailure::RetryAt(at("2026-12-02T10:00:20Z"))
        );
        assert_eq!(
            after_failure(&p, 3, 3, false, now, Jitter::NONE),
            AfterFailure::Dead
        );
        // A permanent failure is dead on the first try.
        assert_eq!(
            after_failure(&p, 1, 3, true, now, Jitter::NONE),
            AfterFailure::Dead
        );
        assert!(!is_exhausted(3, 3));
        assert!(is_exhausted(4, 3));
    }

    fn schedule(expr: &str, zone: &str) -> CronSchedule {
        CronSchedule {
            expr: CronExpr::parse(expr).unwrap(),
            zone: TimeZoneName::parse(zone).unwrap(),
        }
    }

    #[test]
    fn cron_expressions() {
        assert_eq!(
            CronExpr::parse(" 0  10 10 * * ").unwrap().as_str(),
            "0 10 10 * *"
        );
        assert!(CronExpr::parse("0 0 10 10 * *").is_ok());
        assert!(CronExpr::parse("0 10 10 *").is_err());
        assert!(CronExpr::parse("61 10 10 * *").is_err());
        assert!(CronExpr::parse("every day").is_err());
    }

    #[test]
    fn slots_are_read_in_the_schedule_zone() {
        // The 10th at 10:00 Beijing time is 02:00 UTC.
        let due = schedule("0 10 10 * *", "Asia/Shanghai");
        assert_eq!(
            due.next_after(at("2026-12-02T00:00:00Z")),
            Some(at("2026-12-10T02:00:00Z"))
        );
        // Strictly after: the slot itself gives the next month's.
        assert_eq!(
            due.next_after(at("2026-12-10T02:00:00Z")),
            Some(at("2027-01-10T02:00:00Z"))
        );
        // 09:00 in New York is 14:00 UTC in winter (EST) and 13:00 in summer (EDT).
        let ny = schedule("0 9 * * *", "America/New_York");
        assert_eq!(
            ny.next_after(at("2026-01-05T00:00:00Z")),
            Some(at("2026-01-05T14:00:00Z"))
        );
        assert_eq!(
            ny.next_after(at("2026-07-06T00:00:00Z")),
            Some(at("2026-07-06T13:00:00Z"))
        );
    }

    #[test]
    fn the_due_slot_is_the_latest_missed_one() {
        let hourly = schedule("0 * * * *", "UTC");
        // Nothing due before the first slot.
        assert_eq!(
            hourly.due_slot(at("2026-12-02T10:00:00Z"), at("2026-12-02T10:59:59Z")),
            None
        );
        // The slot at exactly now is due.
        assert_eq!(
            hourly.due_slot(at("2026-12-02T10:00:00Z"), at("2026-12-02T11:00:00Z")),
            Some(at("2026-12-02T11:00:00Z"))
        );
        // Down from 10:00 to 13:30: 11:00, 12:00 and 13:00 were missed; 13:00 fires, once.
        assert_eq!(
            hourly.due_slot(at("2026-12-02T10:00:00Z"), at("2026-12-02T13:30:00Z")),
            Some(at("2026-12-02T13:00:00Z"))
        );
        // Every minute for a year: too many to walk, still the latest one.
        let minutely = schedule("* * * * *", "UTC");
        assert_eq!(
            minutely.due_slot(at("2025-12-02T10:00:00Z"), at("2026-12-02T13:30:30Z")),
            Some(at("2026-12-02T13:30:00Z"))
        );
    }
}
