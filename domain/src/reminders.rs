//! SMS reminder campaigns: which campaign, the key that makes each message once, daylight
//! sending, and the texts. No I/O: the campaigns' jobs (infra) call these.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::money::Fen;
use crate::period::Period;
use crate::region::TimeZoneName;

/// The reminder campaigns (issue 10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Campaign {
    /// The month's premium is due (flexible employment).
    Due,
    /// Unpaid months past their due date, with the late fee.
    Arrears,
    /// A free statement for accounts that have not signed in for a while.
    Statement,
    /// The resident medical premium window opens or is about to close.
    ResidentWindow,
}

string_enum!(Campaign, allowed = "due, arrears, statement, resident_window", {
    Due => "due",
    Arrears => "arrears",
    Statement => "statement",
    ResidentWindow => "resident_window",
});

impl Campaign {
    /// The key that makes a message once: one campaign, one person, one slot. The slot is the
    /// campaign's own (the scheduled instant, or the period it is about).
    pub fn dedupe_key(self, person_id: &str, slot: &str) -> String {
        format!("sms:{}:{person_id}:{slot}", self.as_str())
    }
}

/// Messages go out from 08:00 to 21:00 local time.
pub const DAY_STARTS: NaiveTime = match NaiveTime::from_hms_opt(8, 0, 0) {
    Some(t) => t,
    None => NaiveTime::MIN,
};
pub const DAY_ENDS: NaiveTime = match NaiveTime::from_hms_opt(21, 0, 0) {
    Some(t) => t,
    None => NaiveTime::MIN,
};

/// When a message may go out: `now` if it is daylight in `zone` (08:00 ≤ local time < 21:00),
/// else the next 08:00 there.
pub fn daylight_send_time(now: DateTime<Utc>, zone: TimeZoneName) -> DateTime<Utc> {
    let tz = zone.tz();
    let local = now.with_timezone(&tz);
    let time = local.time();
    if time >= DAY_STARTS && time < DAY_ENDS {
        return now;
    }
    let day = if time >= DAY_ENDS {
        local.date_naive().succ_opt().unwrap_or(local.date_naive())
    } else {
        local.date_naive()
    };
    // 08:00 exists in every zone chrono-tz knows (DST shifts happen at night); if a gap ever
    // swallowed it, the first instant after the gap serves.
    tz.from_local_datetime(&day.and_time(DAY_STARTS))
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(now)
}

/// One SMS segment of Chinese text (UCS-2): 70 characters.
pub const ONE_SEGMENT: usize = 70;

/// `2026年12月`.
fn month_zh(p: Period) -> String {
    format!("{}年{}月", p.year(), p.month())
}

/// `2027年1月15日`.
fn day_zh(d: NaiveDate) -> String {
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

/// What a person owes for a month: the sum of the month's unpaid lines (employer and employee
/// shares; a flexible worker pays both). `None` if it does not fit (never, for real figures).
pub fn amount_owed(lines: &[(Fen, Fen)]) -> Option<Fen> {
    lines.iter().try_fold(Fen(0), |sum, (employer, employee)| {
        sum.checked_add(*employer)?.checked_add(*employee)
    })
}

/// The `due` message: the month, the amount and the due date; no name, no ID number.
pub fn due_text(period: Period, amount: Fen, due: NaiveDate) -> String {
    format!(
        "【掌上社保】您{}的养老保险费{}元，请于{}前缴纳，逾期将产生滞纳金。",
        month_zh(period),
        amount.yuan_string(),
        day_zh(due)
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn campaigns_and_keys() {
        for c in Campaign::ALL {
            assert_eq!(Campaign::parse(c.as_str()).unwrap(), c);
            assert_eq!(
                serde_json::to_value(c).unwrap(),
                serde_json::json!(c.as_str())
            );
        }
        assert_eq!(
            Campaign::Due.dedupe_key("p-1", "2026-12"),
            "sms:due:p-1:2026-12"
        );
        assert_ne!(
            Campaign::Due.dedupe_key("p-1", "2026-12"),
            Campaign::Arrears.dedupe_key("p-1", "2026-12")
        );
    }

    #[test]
    fn daylight_in_shanghai() {
        let sh = TimeZoneName::ASIA_SHANGHAI; // UTC+8, no DST
                                              // 10:00 Beijing (02:00 UTC): now.
        assert_eq!(
            daylight_send_time(at("2026-12-10T02:00:00Z"), sh),
            at("2026-12-10T02:00:00Z")
        );
        // 08:00 exactly is daylight; 07:59:59 waits one second.
        assert_eq!(
            daylight_send_time(at("2026-12-10T00:00:00Z"), sh),
            at("2026-12-10T00:00:00Z")
        );
        assert_eq!(
            daylight_send_time(at("2026-12-09T23:59:59Z"), sh),
            at("2026-12-10T00:00:00Z")
        );
        // 20:59 Beijing still goes; 21:00 waits for 08:00 the next day (00:00 UTC).
        assert_eq!(
            daylight_send_time(at("2026-12-10T12:59:00Z"), sh),
            at("2026-12-10T12:59:00Z")
        );
        assert_eq!(
            daylight_send_time(at("2026-12-10T13:00:00Z"), sh),
            at("2026-12-11T00:00:00Z")
        );
        // 02:00 Beijing (18:00 UTC the day before): 08:00 the same local day.
        assert_eq!(
            daylight_send_time(at("2026-12-09T18:00:00Z"), sh),
            at("2026-12-10T00:00:00Z")
        );
    }

    #[test]
    fn daylight_in_urumqi() {
        // Asia/Urumqi is UTC+6: 08:00 there is 02:00 UTC, 21:00 is 15:00 UTC.
        let urumqi = TimeZoneName::parse("Asia/Urumqi").unwrap();
        // 10:00 Beijing is 08:00 in Urumqi: daylight there too.
        assert_eq!(
            daylight_send_time(at("2026-12-10T02:00:00Z"), urumqi),
            at("2026-12-10T02:00:00Z")
        );
        // 09:00 Beijing (01:00 UTC) is 07:00 in Urumqi: wait an hour.
        assert_eq!(
            daylight_send_time(at("2026-12-10T01:00:00Z"), urumqi),
            at("2026-12-10T02:00:00Z")
        );
        // 22:00 Beijing (14:00 UTC) is 20:00 in Urumqi: still daylight there, not in Beijing.
        assert_eq!(
            daylight_send_time(at("2026-12-10T14:00:00Z"), urumqi),
            at("2026-12-10T14:00:00Z")
        );
        assert_eq!(
            daylight_send_time(at("2026-12-10T14:00:00Z"), TimeZoneName::ASIA_SHANGHAI),
            at("2026-12-11T00:00:00Z")
        );
    }

    #[test]
    fn the_amount_owed_adds_both_shares_of_every_line() {
        // A flexible worker's pension on a 5,000.00 yuan base: 20 %, all the person's own.
        assert_eq!(amount_owed(&[(Fen(0), Fen(100_000))]), Some(Fen(100_000)));
        // Lines with both shares: 600.00 + 400.00 + 12.34 + 0.66 = 1,013.00 yuan.
        assert_eq!(
            amount_owed(&[(Fen(60_000), Fen(40_000)), (Fen(1_234), Fen(66))]),
            Some(Fen(101_300))
        );
        assert_eq!(amount_owed(&[]), Some(Fen(0)));
        assert_eq!(amount_owed(&[(Fen(i64::MAX), Fen(1))]), None);
    }

    #[test]
    fn the_due_text_fits_one_segment_and_names_nobody() {
        let text = due_text(
            Period::parse("2026-12").unwrap(),
            Fen(123_456),
            NaiveDate::from_ymd_opt(2027, 1, 15).unwrap(),
        );
        assert_eq!(
            text,
            "【掌上社保】您2026年12月的养老保险费1234.56元，请于2027年1月15日前缴纳，逾期将产生滞纳金。"
        );
        assert!(
            text.chars().count() <= ONE_SEGMENT,
            "{}",
            text.chars().count()
        );
        // The largest plausible amount still fits: 99,999.99 yuan.
        let big = due_text(
            Period::parse("2026-12").unwrap(),
            Fen(9_999_999),
            NaiveDate::from_ymd_opt(2027, 12, 15).unwrap(),
        );
        assert!(
            big.chars().count() <= ONE_SEGMENT,
            "{}",
            big.chars().count()
        );
    }
}
