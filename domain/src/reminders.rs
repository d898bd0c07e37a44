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
    /// A notice sent by SMS to its audience (issue 18): not on a schedule, fired per notice.
    Notice,
}

string_enum!(Campaign, allowed = "due, arrears, statement, resident_window, notice", {
    Due => "due",
    Arrears => "arrears",
    Statement => "statement",
    ResidentWindow => "resident_window",
    Notice => "notice",
});

impl Campaign {
    /// The campaigns that run on a schedule (and may be fired by hand for a slot).
    pub const SCHEDULED: [Campaign; 4] = [
        Campaign::Due,
        Campaign::Arrears,
        Campaign::Statement,
        Campaign::ResidentWindow,
    ];

    /// Whether the campaign runs on a schedule, in slots; a notice's messages go out when the
    /// notice is sent, once per person and notice.
    pub fn is_scheduled(self) -> bool {
        Campaign::SCHEDULED.contains(&self)
    }

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

/// The slot a campaign fired at `as_of` is about, as text: the dedupe key of its messages and of
/// the firing itself (a slot fired twice enqueues nothing twice). Read in Beijing time (the
/// schedules' zone): `due` a month (`2026-12`), `arrears` an ISO week (`2026-W50`), `statement`
/// a quarter (`2026-Q4`), `resident_window` a day (`2026-12-03`; each region's window phase is
/// decided per person, see [`window_phase`]). A notice has no slots (its messages are keyed by
/// the notice): its "slot" is the day, never used as a key.
pub fn campaign_slot(campaign: Campaign, as_of: DateTime<Utc>) -> String {
    let day = TimeZoneName::ASIA_SHANGHAI.local_date(as_of);
    match campaign {
        Campaign::Due => Period::containing(day).to_string(),
        Campaign::Arrears => {
            let w = day.iso_week();
            format!("{}-W{:02}", w.year(), w.week())
        }
        Campaign::Statement => format!("{}-Q{}", day.year(), (day.month() - 1) / 3 + 1),
        Campaign::ResidentWindow | Campaign::Notice => day.format("%Y-%m-%d").to_string(),
    }
}

/// Which campaigns an account hears from. All on by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preferences {
    pub due: bool,
    pub arrears: bool,
    pub statement: bool,
    pub resident_window: bool,
    /// Notices sent by SMS.
    pub notices: bool,
}

impl Default for Preferences {
    fn default() -> Self {
        Preferences {
            due: true,
            arrears: true,
            statement: true,
            resident_window: true,
            notices: true,
        }
    }
}

impl Preferences {
    /// Whether the account hears from `campaign`.
    pub fn allows(&self, campaign: Campaign) -> bool {
        match campaign {
            Campaign::Due => self.due,
            Campaign::Arrears => self.arrears,
            Campaign::Statement => self.statement,
            Campaign::ResidentWindow => self.resident_window,
            Campaign::Notice => self.notices,
        }
    }
}

/// At most this many reminders go to one phone per local day; sign-in codes and event messages
/// (a payment failed) are not counted.
pub const DAILY_CAP: u32 = 3;

/// At most this many `arrears` messages per stretch of arrears (the stretch is named by its
/// oldest unpaid month; paying it ends the stretch).
pub const ARREARS_MESSAGES_PER_STRETCH: u32 = 4;

/// A campaign speaks to accounts that have not signed in for this many days (`statement`).
pub const DORMANT_DAYS: i64 = 90;

/// When a reminder over the day's cap goes out: 08:00 local time the next day.
pub fn next_morning(now: DateTime<Utc>, zone: TimeZoneName) -> DateTime<Utc> {
    let tz = zone.tz();
    let today = now.with_timezone(&tz).date_naive();
    let tomorrow = today.succ_opt().unwrap_or(today);
    tz.from_local_datetime(&tomorrow.and_time(DAY_STARTS))
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(now)
}

/// The `arrears` message: how many months, the amount and the late fee to today.
pub fn arrears_text(months: u32, principal: Fen, late_fee: Fen, today: NaiveDate) -> String {
    format!(
        "【掌上社保】您有{}个月社保费逾期未缴，欠费{}元，截至{}滞纳金{}元，每日递增，请尽快缴纳。",
        months,
        principal.yuan_string(),
        day_zh(today),
        late_fee.yuan_string()
    )
}

/// The `statement` message: months contributed so far, this year's, and the pension
/// personal-account balance.
pub fn statement_text(total_months: u32, year: i32, year_months: u32, balance: Fen) -> String {
    format!(
        "【掌上社保】您累计缴纳养老保险{}个月，{}年已缴{}个月，个人账户余额{}元。",
        total_months,
        year,
        year_months,
        balance.yuan_string()
    )
}

/// Which message of the resident premium window a day calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowPhase {
    /// The window is open (sent once, from the day it opens).
    Open,
    /// It closes within 14 days.
    Closing,
}

string_enum!(WindowPhase, allowed = "open, closing", {
    Open => "open",
    Closing => "closing",
});

/// The "closing" message goes out this many days before the window closes.
pub const CLOSING_NOTICE_DAYS: i64 = 14;

/// The phase of a window (both days included) on `today`, `None` outside it.
pub fn window_phase(opens: NaiveDate, closes: NaiveDate, today: NaiveDate) -> Option<WindowPhase> {
    if today < opens || today > closes {
        return None;
    }
    if today >= closes - chrono::Duration::days(CLOSING_NOTICE_DAYS) {
        Some(WindowPhase::Closing)
    } else {
        Some(WindowPhase::Open)
    }
}

/// A name masked for a message: its first character, the rest as `*` (`张**`).
pub fn masked_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => std::iter::once(first).chain(chars.map(|_| '*')).collect(),
        None => String::new(),
    }
}

/// The `resident_window` message: the year's premium, the last day; for a payee their masked
/// name (`None`: the person's own premium).
pub fn window_text(
    phase: WindowPhase,
    year: i32,
    premium: Fen,
    closes: NaiveDate,
    payee: Option<&str>,
) -> String {
    let whose = match payee {
        Some(name) => format!("{}的", masked_name(name)),
        None => "您的".to_owned(),
    };
    let lead = match phase {
        WindowPhase::Open => "缴费已开始",
        WindowPhase::Closing => "缴费即将截止",
    };
    format!(
        "【掌上社保】{}年度城乡居民医保{}，{}保费{}元，请于{}前缴纳。",
        year,
        lead,
        whose,
        premium.yuan_string(),
        day_zh(closes)
    )
}

/// A payment failure's reason in the payer's words.
pub fn failure_reason_zh(code: crate::payments::gateway::FailureCode) -> &'static str {
    use crate::payments::gateway::FailureCode;
    match code {
        FailureCode::NotEnough => "余额不足",
        FailureCode::CardFrozen => "银行卡已冻结",
        FailureCode::ExceedLimit => "超出支付限额",
        FailureCode::CardExpired => "银行卡已过期",
        FailureCode::BankError => "银行系统异常",
        FailureCode::PayError => "支付未完成",
    }
}

/// The event message of a payment that failed, with the reason in words.
pub fn payment_failed_text(amount: Fen, reason: &str) -> String {
    format!(
        "【掌上社保】您{}元的社保缴费未成功：{}。请在掌上社保重新缴纳。",
        amount.yuan_string(),
        reason
    )
}

/// What a person's arrears come to today (the `arrears` message).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArrearsSummary {
    /// Distinct months in arrears.
    pub months: u32,
    pub principal: Fen,
    pub late_fee: Fen,
    /// The oldest month in arrears: names the stretch.
    pub first: Period,
}

/// Sums the arrears among a person's payables (those of kind `arrears_month`: own months unpaid
/// after their due date, each with its late fee to today); `None` when there are none.
pub fn arrears_summary(payables: &[crate::payments::payables::Payable]) -> Option<ArrearsSummary> {
    use crate::payments::payables::PayableKind;
    let late: Vec<_> = payables
        .iter()
        .filter(|p| p.kind() == PayableKind::ArrearsMonth)
        .collect();
    let months: std::collections::BTreeSet<Period> = late.iter().filter_map(|p| p.period).collect();
    let first = *months.iter().next()?;
    let principal = late
        .iter()
        .try_fold(Fen(0), |s, p| s.checked_add(p.principal))?;
    let late_fee = late
        .iter()
        .try_fold(Fen(0), |s, p| s.checked_add(p.late_fee))?;
    Some(ArrearsSummary {
        months: u32::try_from(months.len()).unwrap_or(u32::MAX),
        principal,
        late_fee,
        first,
    })
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

    #[test]
    fn slots_per_campaign() {
        // 2026-12-07T17:00Z is Tuesday 8 December 01:00 in Beijing.
        let t = at("2026-12-07T17:00:00Z");
        assert_eq!(campaign_slot(Campaign::Due, t), "2026-12");
        assert_eq!(campaign_slot(Campaign::Arrears, t), "2026-W50");
        assert_eq!(campaign_slot(Campaign::Statement, t), "2026-Q4");
        assert_eq!(campaign_slot(Campaign::ResidentWindow, t), "2026-12-08");
        // The same Monday and Sunday of an ISO week share a slot; the next Monday does not.
        assert_eq!(
            campaign_slot(Campaign::Arrears, at("2026-12-07T02:00:00Z")),
            campaign_slot(Campaign::Arrears, at("2026-12-13T10:00:00Z"))
        );
        assert_ne!(
            campaign_slot(Campaign::Arrears, at("2026-12-13T10:00:00Z")),
            campaign_slot(Campaign::Arrears, at("2026-12-14T02:00:00Z"))
        );
        assert_eq!(
            campaign_slot(Campaign::Statement, at("2027-01-01T02:00:00Z")),
            "2027-Q1"
        );
    }

    #[test]
    fn preferences_default_on_and_choose_per_campaign() {
        let all = Preferences::default();
        assert!(Campaign::ALL.iter().all(|c| all.allows(*c)));
        let no_arrears = Preferences {
            arrears: false,
            ..all
        };
        assert!(!no_arrears.allows(Campaign::Arrears));
        assert!(no_arrears.allows(Campaign::Due));
        assert!(no_arrears.allows(Campaign::Statement));
        assert!(no_arrears.allows(Campaign::ResidentWindow));
        assert!(no_arrears.allows(Campaign::Notice));
        let no_notices = Preferences {
            notices: false,
            ..all
        };
        assert!(!no_notices.allows(Campaign::Notice));
        assert!(no_notices.allows(Campaign::Due));
    }

    #[test]
    fn only_the_notice_campaign_is_off_schedule() {
        assert!(Campaign::SCHEDULED.iter().all(|c| c.is_scheduled()));
        assert!(!Campaign::Notice.is_scheduled());
        assert_eq!(Campaign::ALL.len(), Campaign::SCHEDULED.len() + 1);
        assert_eq!(
            Campaign::Notice.dedupe_key("p-1", "notice-n-1"),
            "sms:notice:p-1:notice-n-1"
        );
    }

    #[test]
    fn over_the_cap_waits_for_the_next_local_morning() {
        let sh = TimeZoneName::ASIA_SHANGHAI;
        let urumqi = TimeZoneName::parse("Asia/Urumqi").unwrap();
        // 15:00 Beijing on the 10th: 08:00 Beijing on the 11th.
        assert_eq!(
            next_morning(at("2026-12-10T07:00:00Z"), sh),
            at("2026-12-11T00:00:00Z")
        );
        // 17:00 UTC is 01:00 on the 11th in Beijing but 23:00 on the 10th in Urumqi.
        assert_eq!(
            next_morning(at("2026-12-10T17:00:00Z"), sh),
            at("2026-12-12T00:00:00Z")
        );
        assert_eq!(
            next_morning(at("2026-12-10T17:00:00Z"), urumqi),
            at("2026-12-11T02:00:00Z")
        );
    }

    #[test]
    fn window_phases() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let (opens, closes) = (d("2026-09-01"), d("2026-12-31"));
        assert_eq!(window_phase(opens, closes, d("2026-08-31")), None);
        assert_eq!(
            window_phase(opens, closes, d("2026-09-01")),
            Some(WindowPhase::Open)
        );
        assert_eq!(
            window_phase(opens, closes, d("2026-12-16")),
            Some(WindowPhase::Open)
        );
        assert_eq!(
            window_phase(opens, closes, d("2026-12-17")),
            Some(WindowPhase::Closing)
        );
        assert_eq!(
            window_phase(opens, closes, d("2026-12-31")),
            Some(WindowPhase::Closing)
        );
        assert_eq!(window_phase(opens, closes, d("2027-01-01")), None);
    }

    #[test]
    fn the_other_texts_fit_one_segment_and_name_nobody_in_full() {
        let d = NaiveDate::from_ymd_opt(2027, 12, 31).unwrap();
        let texts = [
            arrears_text(12, Fen(9_999_999), Fen(999_999), d),
            statement_text(480, 2027, 12, Fen(99_999_999)),
            window_text(WindowPhase::Open, 2027, Fen(40_000), d, None),
            window_text(WindowPhase::Closing, 2027, Fen(40_000), d, Some("欧阳娜娜")),
            payment_failed_text(Fen(100_000), "余额不足"),
        ];
        for t in &texts {
            assert!(
                t.chars().count() <= ONE_SEGMENT,
                "{} {t}",
                t.chars().count()
            );
        }
        assert_eq!(
            texts[0],
            "【掌上社保】您有12个月社保费逾期未缴，欠费99999.99元，截至2027年12月31日滞纳金9999.99元，每日递增，请尽快缴纳。"
        );
        assert!(texts[3].contains("欧***的保费400.00元"), "{}", texts[3]);
        assert!(!texts[3].contains("欧阳娜娜"));
        assert_eq!(masked_name("张三"), "张*");
        assert_eq!(masked_name(""), "");
    }
}
