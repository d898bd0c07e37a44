//! Feedback and complaints (监督投诉): what a person may write to the agency, the statuses a
//! thread moves through and who moves it, the rules of rating an answer, and when an unanswered
//! thread is overdue (five working days, Monday to Friday in the region's time zone).
//!
//! ```text
//!            person writes                 staff reply
//!   (new) ──────────────► open ───────────────────────► answered
//!                          ▲  ◄─────────────────────────    │
//!                          │     person writes again         │
//!                          │     (a follow-up awaits an      │
//!                          │      answer of its own)         │
//!                          └──────── close (staff) ──► closed ◄┘
//! ```
//!
//! `closed` is final: no message from either side, no second close. A rating is given once, to a
//! thread the agency has answered and that is not waiting for another answer (`answered`, or
//! `closed` after an answer).

use chrono::{DateTime, Datelike, Duration, NaiveDateTime, TimeZone, Utc, Weekday};

use crate::region::TimeZoneName;
use crate::ValueError;

/// What a thread is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedbackKind {
    /// About the phone app itself (意见建议).
    App,
    /// About a service of the agency (服务咨询与建议).
    Service,
    /// A complaint (投诉).
    Complaint,
}

string_enum!(FeedbackKind, allowed = "app, service, complaint", {
    App => "app",
    Service => "service",
    Complaint => "complaint",
});

impl FeedbackKind {
    /// The kind in a Chinese sentence (the text messages are Chinese).
    pub fn chinese_name(self) -> &'static str {
        match self {
            FeedbackKind::App => "意见建议",
            FeedbackKind::Service => "服务咨询",
            FeedbackKind::Complaint => "投诉",
        }
    }
}

/// Where a thread stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedbackStatus {
    /// Waiting for the agency.
    Open,
    /// The agency answered; waiting for nobody.
    Answered,
    /// Closed by the agency: final.
    Closed,
}

string_enum!(FeedbackStatus, allowed = "open, answered, closed", {
    Open => "open",
    Answered => "answered",
    Closed => "closed",
});

/// What happens to a thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedbackEvent {
    /// The person adds a message (a follow-up).
    PersonWrites,
    /// A caseworker or an admin replies.
    StaffReplies,
    /// A caseworker or an admin closes the thread.
    Close,
}

/// Why a move is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FeedbackError {
    /// The thread is closed: it takes no message and no second close.
    #[error("the thread is closed")]
    Closed,
    /// A rating needs an answer the person is not waiting past.
    #[error("the thread has no answer to rate")]
    NotAnswered,
    /// A thread is rated once.
    #[error("the thread is rated already")]
    AlreadyRated,
}

/// The status after `event`, or why it cannot happen.
///
/// A person's follow-up on an `answered` thread opens it again: it asks something the agency has
/// not answered yet, so it goes back into the staff queue and its five working days start anew.
pub fn next_status(
    from: FeedbackStatus,
    event: FeedbackEvent,
) -> Result<FeedbackStatus, FeedbackError> {
    use FeedbackEvent as E;
    use FeedbackStatus as S;
    match (from, event) {
        (S::Closed, _) => Err(FeedbackError::Closed),
        (S::Open | S::Answered, E::PersonWrites) => Ok(S::Open),
        (S::Open | S::Answered, E::StaffReplies) => Ok(S::Answered),
        (S::Open | S::Answered, E::Close) => Ok(S::Closed),
    }
}

/// Whether the person may rate the thread now: once, after an answer, and not while a
/// follow-up waits for the next one.
pub fn may_rate(
    status: FeedbackStatus,
    answered: bool,
    already_rated: bool,
) -> Result<(), FeedbackError> {
    if already_rated {
        return Err(FeedbackError::AlreadyRated);
    }
    match status {
        FeedbackStatus::Answered => Ok(()),
        FeedbackStatus::Closed if answered => Ok(()),
        _ => Err(FeedbackError::NotAnswered),
    }
}

// ---------------------------------------------------------------------------------------------
// What a person writes

/// The longest subject, in characters.
pub const SUBJECT_MAX_CHARS: usize = 100;
/// The longest message, in characters.
pub const BODY_MAX_CHARS: usize = 2_000;
/// The longest comment of a rating, in characters.
pub const COMMENT_MAX_CHARS: usize = 500;

/// A thread's subject: one line, 1..=100 characters after trimming, no control character.
pub type Subject = crate::text::Text;

/// Parses a subject: at most 100 characters as sent (the limit the API documents), kept
/// trimmed (it is a title).
pub fn subject(s: &str) -> Result<Subject, ValueError> {
    if s.chars().count() > SUBJECT_MAX_CHARS {
        return Err(ValueError::TooLong {
            max: SUBJECT_MAX_CHARS,
        });
    }
    Subject::parse(s, SUBJECT_MAX_CHARS)
}

/// A message: plain text kept exactly as written (never trimmed, never rewritten), 1..=`max`
/// characters, not blank. Line breaks (`\n`, or `\r\n`) and tabs are allowed; every other
/// control character (a lone `\r`, NUL, escape sequences, C1 controls) is refused.
#[derive(Clone, PartialEq, Eq)]
pub struct MessageBody(String);

impl MessageBody {
    /// A message of at most [`BODY_MAX_CHARS`].
    pub fn parse(s: &str) -> Result<MessageBody, ValueError> {
        MessageBody::parse_max(s, BODY_MAX_CHARS)
    }

    /// A multi-line text of at most `max` characters.
    pub fn parse_max(s: &str, max: usize) -> Result<MessageBody, ValueError> {
        if s.trim().is_empty() {
            return Err(ValueError::Empty);
        }
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            let allowed = match c {
                '\n' | '\t' => true,
                '\r' => chars.peek() == Some(&'\n'),
                c => !c.is_control(),
            };
            if !allowed {
                return Err(ValueError::ControlCharacter);
            }
        }
        if s.chars().count() > max {
            return Err(ValueError::TooLong { max });
        }
        Ok(MessageBody(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::fmt::Debug for MessageBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MessageBody({} chars)", self.0.chars().count())
    }
}

/// A rating's stars: 1..=5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stars(u8);

impl Stars {
    pub fn new(n: i64) -> Result<Stars, ValueError> {
        u8::try_from(n)
            .ok()
            .filter(|n| (1..=5).contains(n))
            .map(Stars)
            .ok_or(ValueError::Range { min: 1, max: 5 })
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

/// The code of the designated institution a thread may name: the institutions' own code, with
/// its shape checked here and its existence by the registry.
pub use crate::institutions::InstitutionCode;

// ---------------------------------------------------------------------------------------------
// Five working days

/// How many working days the agency has to answer.
pub const ANSWER_WITHIN_WORKING_DAYS: u32 = 5;

fn is_working_day(d: chrono::NaiveDate) -> bool {
    !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

/// The local instant at which `working_days` whole working days (Monday to Friday, 24 hours
/// each; Saturday and Sunday do not count) have passed since `since` (local).
///
/// A thread written on Friday at 15:00 is due the next Friday at 15:00; one written at the
/// weekend starts counting on Monday at 00:00 and is due when Friday ends (Saturday 00:00).
/// Public holidays are not modelled: a working day is any Monday to Friday.
pub fn working_days_after(since: NaiveDateTime, working_days: u32) -> NaiveDateTime {
    let day = Duration::days(1);
    let mut left = day * i32::try_from(working_days).unwrap_or(i32::MAX);
    let mut cursor = since;
    loop {
        let next_midnight = cursor.date().and_time(chrono::NaiveTime::MIN) + day;
        if is_working_day(cursor.date()) {
            let rest = next_midnight - cursor;
            if left <= rest {
                return cursor + left;
            }
            left -= rest;
        }
        cursor = next_midnight;
    }
}

/// The instant an unanswered thread waiting since `since` becomes overdue, counting working days
/// in `zone`.
pub fn answer_due(since: DateTime<Utc>, zone: TimeZoneName) -> DateTime<Utc> {
    let tz = zone.tz();
    let local = since.with_timezone(&tz).naive_local();
    let due = working_days_after(local, ANSWER_WITHIN_WORKING_DAYS);
    // A local time a clock change skipped is read as the first valid one after it.
    (0..=3)
        .find_map(|hour| {
            tz.from_local_datetime(&(due + Duration::hours(hour)))
                .earliest()
        })
        .map_or_else(|| due.and_utc(), |t| t.with_timezone(&Utc))
}

/// Whether a thread waiting for the agency since `since` is overdue at `now`.
pub fn is_overdue(since: DateTime<Utc>, now: DateTime<Utc>, zone: TimeZoneName) -> bool {
    now >= answer_due(since, zone)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use FeedbackEvent as E;
    use FeedbackStatus as S;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn names_agree_with_serde() {
        for k in FeedbackKind::ALL {
            assert_eq!(
                serde_json::to_value(k).unwrap(),
                serde_json::Value::from(k.as_str())
            );
            assert_eq!(FeedbackKind::parse(k.as_str()), Ok(k));
        }
        for s in FeedbackStatus::ALL {
            assert_eq!(
                serde_json::to_value(s).unwrap(),
                serde_json::Value::from(s.as_str())
            );
            assert_eq!(FeedbackStatus::parse(s.as_str()), Ok(s));
        }
        assert!(FeedbackKind::parse("praise").is_err());
        assert!(FeedbackStatus::parse("pending").is_err());
    }

    #[test]
    fn the_state_machine_edge_by_edge() {
        let table = [
            (S::Open, E::PersonWrites, Ok(S::Open)),
            (S::Open, E::StaffReplies, Ok(S::Answered)),
            (S::Open, E::Close, Ok(S::Closed)),
            // A follow-up opens an answered thread again.
            (S::Answered, E::PersonWrites, Ok(S::Open)),
            (S::Answered, E::StaffReplies, Ok(S::Answered)),
            (S::Answered, E::Close, Ok(S::Closed)),
            (S::Closed, E::PersonWrites, Err(FeedbackError::Closed)),
            (S::Closed, E::StaffReplies, Err(FeedbackError::Closed)),
            (S::Closed, E::Close, Err(FeedbackError::Closed)),
        ];
        for (from, event, expected) in table {
            assert_eq!(next_status(from, event), expected, "{from:?} {event:?}");
        }
    }

    #[test]
    fn a_rating_once_after_an_answer() {
        assert_eq!(may_rate(S::Answered, true, false), Ok(()));
        assert_eq!(may_rate(S::Closed, true, false), Ok(()));
        // Closed without an answer, still open, or waiting after a follow-up: nothing to rate.
        assert_eq!(
            may_rate(S::Closed, false, false),
            Err(FeedbackError::NotAnswered)
        );
        assert_eq!(
            may_rate(S::Open, false, false),
            Err(FeedbackError::NotAnswered)
        );
        assert_eq!(
            may_rate(S::Open, true, false),
            Err(FeedbackError::NotAnswered)
        );
        // Twice: refused whatever the status.
        for s in S::ALL {
            assert_eq!(may_rate(s, true, true), Err(FeedbackError::AlreadyRated));
        }
    }

    #[test]
    fn bodies_keep_every_character_but_controls() {
        let written = "  <script>alert(\"x\")</script>\n\t'引号' & \\ \r\n末行  ";
        assert_eq!(MessageBody::parse(written).unwrap().as_str(), written);
        assert_eq!(MessageBody::parse(" \n\t "), Err(ValueError::Empty));
        assert_eq!(MessageBody::parse(""), Err(ValueError::Empty));
        for bad in [
            "a\rb",
            "a\r",
            "a\u{0}b",
            "\u{1b}[31m",
            "a\u{7f}",
            "a\u{85}b",
        ] {
            assert_eq!(
                MessageBody::parse(bad),
                Err(ValueError::ControlCharacter),
                "{bad:?}"
            );
        }
        // Counted in characters: 2,000 CJK characters pass, one more does not.
        let full = "问".repeat(BODY_MAX_CHARS);
        assert!(MessageBody::parse(&full).is_ok());
        assert_eq!(
            MessageBody::parse(&format!("{full}问")),
            Err(ValueError::TooLong { max: 2_000 })
        );
        assert_eq!(
            MessageBody::parse_max("abcd", 3),
            Err(ValueError::TooLong { max: 3 })
        );
        // The debug form does not show what a person wrote.
        assert_eq!(
            format!("{:?}", MessageBody::parse("秘密").unwrap()),
            "MessageBody(2 chars)"
        );
    }

    #[test]
    fn subjects_are_one_trimmed_line() {
        assert_eq!(subject(" 缴费记录有误 ").unwrap().as_str(), "缴费记录有误");
        assert_eq!(subject("a\nb"), Err(ValueError::ControlCharacter));
        assert!(subject(&"字".repeat(100)).is_ok());
        assert_eq!(
            subject(&"字".repeat(101)),
            Err(ValueError::TooLong { max: 100 })
        );
        // The limit is on what was sent, surrounding blanks included.
        assert_eq!(
            subject(&format!("{} ", "字".repeat(100))),
            Err(ValueError::TooLong { max: 100 })
        );
    }

    #[test]
    fn stars() {
        assert_eq!(Stars::new(1).unwrap().get(), 1);
        assert_eq!(Stars::new(5).unwrap().get(), 5);
        for bad in [0, 6, -1, 256] {
            assert_eq!(Stars::new(bad), Err(ValueError::Range { min: 1, max: 5 }));
        }
    }

    #[test]
    fn five_working_days_from_midweek_and_from_a_friday_afternoon() {
        // Wednesday 10:00 → the next Wednesday 10:00 (the weekend between does not count).
        assert_eq!(
            working_days_after(at("2026-11-25 10:00"), 5),
            at("2026-12-02 10:00")
        );
        // Friday 15:00 → the next Friday 15:00.
        assert_eq!(
            working_days_after(at("2026-11-27 15:00"), 5),
            at("2026-12-04 15:00")
        );
        // One working day from Friday 15:00 is Monday 15:00, not Saturday.
        assert_eq!(
            working_days_after(at("2026-11-27 15:00"), 1),
            at("2026-11-30 15:00")
        );
        // Monday 00:00 → the end of Friday (Saturday 00:00).
        assert_eq!(
            working_days_after(at("2026-11-23 00:00"), 5),
            at("2026-11-28 00:00")
        );
        // Friday 23:59 → the next Friday 23:59.
        assert_eq!(
            working_days_after(at("2026-11-27 23:59"), 5),
            at("2026-12-04 23:59")
        );
        // Zero days: at once.
        assert_eq!(
            working_days_after(at("2026-11-25 10:00"), 0),
            at("2026-11-25 10:00")
        );
    }

    #[test]
    fn a_thread_written_at_the_weekend_counts_from_monday() {
        for written in ["2026-11-28 00:00", "2026-11-28 10:00", "2026-11-29 23:59"] {
            assert_eq!(
                working_days_after(at(written), 5),
                at("2026-12-05 00:00"),
                "{written}"
            );
        }
    }

    #[test]
    fn overdue_in_the_regions_zone() {
        let zone = TimeZoneName::ASIA_SHANGHAI;
        // Friday 15:00 in Shanghai is 07:00 UTC.
        let since = Utc.with_ymd_and_hms(2026, 11, 27, 7, 0, 0).unwrap();
        assert_eq!(
            answer_due(since, zone),
            Utc.with_ymd_and_hms(2026, 12, 4, 7, 0, 0).unwrap()
        );
        // Five calendar days later (Wednesday) and Thursday evening: not yet.
        for not_yet in [
            Utc.with_ymd_and_hms(2026, 12, 2, 7, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2026, 12, 3, 15, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2026, 12, 4, 6, 59, 59).unwrap(),
        ] {
            assert!(!is_overdue(since, not_yet, zone), "{not_yet}");
        }
        assert!(is_overdue(
            since,
            Utc.with_ymd_and_hms(2026, 12, 4, 7, 0, 0).unwrap(),
            zone
        ));
        // Friday 23:30 in Shanghai is still Friday there although UTC says 15:30: the weekend
        // is Shanghai's, so it is due the next Friday 23:30 local.
        let late = Utc.with_ymd_and_hms(2026, 11, 27, 15, 30, 0).unwrap();
        assert_eq!(
            answer_due(late, zone),
            Utc.with_ymd_and_hms(2026, 12, 4, 15, 30, 0).unwrap()
        );
        // Saturday 01:00 in Shanghai (Friday 17:00 UTC) counts from Monday: due Saturday 00:00
        // local, Friday 16:00 UTC.
        let weekend = Utc.with_ymd_and_hms(2026, 11, 27, 17, 0, 0).unwrap();
        assert_eq!(
            answer_due(weekend, zone),
            Utc.with_ymd_and_hms(2026, 12, 4, 16, 0, 0).unwrap()
        );
        // The same instant in UTC is a Friday: due the next Friday 17:00 UTC.
        let utc = TimeZoneName::parse("UTC").unwrap();
        assert_eq!(
            answer_due(weekend, utc),
            Utc.with_ymd_and_hms(2026, 12, 4, 17, 0, 0).unwrap()
        );
    }
}
