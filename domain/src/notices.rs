//! Personalised notices (个人相关政策、就业创业信息推送): a notice of a kind (policy, jobs,
//! training, a service) with a title, a body and a link, shown between its publication and its
//! expiry to the persons its audience rule matches.
//!
//! The rule is what decides who sees a notice, and this module is where its meaning lives:
//! [`AudienceRule::matches`] applies it to one person's facts on a day. The store counts and
//! lists the persons a rule reaches with one SQL query built from the same rule, through the
//! figures computed here — the birth dates an age range allows ([`AudienceRule::birth_bounds`]),
//! the months that are in arrears on the day ([`ArrearsCutoff`]), the payments and awards that
//! count as received ([`ReceiveWindow`]) — and a test keeps the two in agreement person by
//! person.
//!
//! Edges, all on the matching day ([`matching_date`], Beijing time):
//! - `age_min` and `age_max` are inclusive whole years ([`age_in_whole_years`]: a person is a
//!   year older on their birthday; one born on 29 February on 28 February in common years);
//! - `regions`, `employment_status` and `receives` are "any of"; the fields "and";
//! - `has_arrears`: some month of the person's is unpaid after its due date (the region's
//!   `contribution_due_day` of the following month), as the records show it that day;
//! - `receives`: a payment of the kind for this month or the last (a benefit in payment), or
//!   an award of an approved application running this month;
//! - a rule with no field at all reaches everyone.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::error::ValueError;
use crate::identity::Gender;
use crate::period::Period;
use crate::person::{EmploymentStatus, MedicalCategory};
use crate::region::{RegionCode, TimeZoneName};
use crate::retirement::age_in_whole_years;
use crate::statement::ContributionStatus;
use crate::text::Text;

/// What a notice is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// 政策: a rule or a rate that changed.
    Policy,
    /// 就业: job fairs, vacancies.
    Job,
    /// 培训: vocational training and its subsidies.
    Training,
    /// 服务: a service of the agency (a window opens, a desk moves).
    Service,
}

string_enum!(NoticeKind, allowed = "policy, job, training, service", {
    Policy => "policy",
    Job => "job",
    Training => "training",
    Service => "service",
});

impl NoticeKind {
    /// The kind in the SMS text.
    pub fn name_zh(self) -> &'static str {
        match self {
            NoticeKind::Policy => "政策",
            NoticeKind::Job => "就业",
            NoticeKind::Training => "培训",
            NoticeKind::Service => "服务",
        }
    }
}

/// A benefit a person may receive: the kinds of benefit payments (`pension`, `unemployment`)
/// and of awards of approved applications (those two and the social-assistance programmes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Benefit {
    Pension,
    Unemployment,
    MinimumLiving,
    MedicalAssistance,
    TemporaryAssistance,
    ExtremePoverty,
}

string_enum!(Benefit, allowed = "pension, unemployment, minimum_living, medical_assistance, temporary_assistance, extreme_poverty", {
    Pension => "pension",
    Unemployment => "unemployment",
    MinimumLiving => "minimum_living",
    MedicalAssistance => "medical_assistance",
    TemporaryAssistance => "temporary_assistance",
    ExtremePoverty => "extreme_poverty",
});

// ---------------------------------------------------------------------------------------------
// The notice's text

/// A notice's title: 1..=100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeTitle(Text);

impl NoticeTitle {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(s: &str) -> Result<NoticeTitle, ValueError> {
        Text::parse(s, Self::MAX_CHARS).map(NoticeTitle)
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

/// A notice's body: plain text of 1..=4000 characters, trimmed; line breaks allowed (`\r\n`
/// becomes `\n`), no other control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeBody(String);

impl NoticeBody {
    pub const MAX_CHARS: usize = 4000;

    pub fn parse(s: &str) -> Result<NoticeBody, ValueError> {
        let body = s.replace("\r\n", "\n");
        let body = body.trim();
        if body.is_empty() {
            return Err(ValueError::Empty);
        }
        if body.chars().any(|c| c.is_control() && c != '\n') {
            return Err(ValueError::ControlCharacter);
        }
        if body.chars().count() > Self::MAX_CHARS {
            return Err(ValueError::TooLong {
                max: Self::MAX_CHARS,
            });
        }
        Ok(NoticeBody(body.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where a notice's details are: an absolute `https` URL with a host and no credentials, at
/// most 500 characters. Kept as the URL standard writes it (`HTTPS://Example.org` →
/// `https://example.org/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeLink(String);

impl NoticeLink {
    pub const MAX_CHARS: usize = 500;

    pub fn parse(s: &str) -> Result<NoticeLink, ValueError> {
        const HTTPS: ValueError = ValueError::Format {
            expected: "an https URL",
        };
        let s = s.trim();
        if s.is_empty() {
            return Err(ValueError::Empty);
        }
        if s.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(HTTPS);
        }
        let url = url::Url::parse(s).map_err(|_| HTTPS)?;
        let has_host = url.host_str().is_some_and(|h| !h.is_empty());
        if url.scheme() != "https" || !has_host {
            return Err(HTTPS);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ValueError::Rule("must not carry a user name or password"));
        }
        let text = String::from(url);
        if text.chars().count() > Self::MAX_CHARS {
            return Err(ValueError::TooLong {
                max: Self::MAX_CHARS,
            });
        }
        Ok(NoticeLink(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

// ---------------------------------------------------------------------------------------------
// When a notice shows

/// When a notice shows: from `publish_at` (inclusive) to `expire_at` (exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub publish_at: DateTime<Utc>,
    pub expire_at: DateTime<Utc>,
}

/// The longest a notice may show.
pub const MAX_DAYS_SHOWN: i64 = 366;

/// Where a notice stands at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeStatus {
    /// Not published yet.
    Scheduled,
    Published,
    Expired,
}

string_enum!(NoticeStatus, allowed = "scheduled, published, expired", {
    Scheduled => "scheduled",
    Published => "published",
    Expired => "expired",
});

impl Schedule {
    /// A new notice's schedule: published at `publish_at` (default `now`), expiring after it,
    /// in the future, and at most [`MAX_DAYS_SHOWN`] days after publication. The error names
    /// the field at fault (`expire_at`).
    pub fn new(
        publish_at: Option<DateTime<Utc>>,
        expire_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Schedule, (&'static str, ValueError)> {
        let publish_at = publish_at.unwrap_or(now);
        if expire_at <= publish_at {
            return Err(("expire_at", ValueError::Rule("must be after publish_at")));
        }
        if expire_at <= now {
            return Err(("expire_at", ValueError::Rule("must be in the future")));
        }
        if expire_at - publish_at > chrono::Duration::days(MAX_DAYS_SHOWN) {
            return Err((
                "expire_at",
                ValueError::Rule("must be at most 366 days after publish_at"),
            ));
        }
        Ok(Schedule {
            publish_at,
            expire_at,
        })
    }

    pub fn status(&self, now: DateTime<Utc>) -> NoticeStatus {
        if now < self.publish_at {
            NoticeStatus::Scheduled
        } else if now < self.expire_at {
            NoticeStatus::Published
        } else {
            NoticeStatus::Expired
        }
    }

    /// Shown at `now`: published and not expired.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.status(now) == NoticeStatus::Published
    }
}

/// The day a rule is applied on at `now`: the date in Beijing time (China's one civil time).
/// Ages, arrears and benefits are read on this day, for every person alike, so that a rule
/// reaches the same persons whoever asks.
pub fn matching_date(now: DateTime<Utc>) -> NaiveDate {
    TimeZoneName::ASIA_SHANGHAI.local_date(now)
}

// ---------------------------------------------------------------------------------------------
// The audience rule

/// The oldest age a rule may name.
pub const MAX_AGE: u32 = 150;
/// At most this many regions in a rule.
pub const MAX_REGIONS: usize = 100;

/// A rule as given, before it is checked. `None`: the field is not part of the rule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AudienceParts {
    pub regions: Option<Vec<RegionCode>>,
    pub age_min: Option<u32>,
    pub age_max: Option<u32>,
    pub gender: Option<Gender>,
    pub employment_status: Option<Vec<EmploymentStatus>>,
    pub medical_category: Option<MedicalCategory>,
    pub has_arrears: Option<bool>,
    pub receives: Option<Vec<Benefit>>,
}

/// Why a rule is invalid: the field (of the rule) and what is wrong with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleIssue {
    pub field: &'static str,
    pub error: ValueError,
}

/// Who a notice is for. Lists hold each value once; an absent field does not restrict.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AudienceRule {
    regions: BTreeSet<RegionCode>,
    age_min: Option<u32>,
    age_max: Option<u32>,
    gender: Option<Gender>,
    employment_status: BTreeSet<EmploymentStatus>,
    medical_category: Option<MedicalCategory>,
    has_arrears: Option<bool>,
    receives: BTreeSet<Benefit>,
}

/// A list field: present lists must name at least one value (an empty list would mean
/// "nobody" to some readers and "anybody" to others; leave the field out for anybody).
fn list<T: Ord>(
    field: &'static str,
    values: Option<Vec<T>>,
    max: usize,
    issues: &mut Vec<RuleIssue>,
) -> BTreeSet<T> {
    let Some(values) = values else {
        return BTreeSet::new();
    };
    if values.is_empty() {
        issues.push(RuleIssue {
            field,
            error: ValueError::Rule("must name at least one value; leave it out for any"),
        });
    }
    if values.len() > max {
        issues.push(RuleIssue {
            field,
            error: ValueError::Rule("names too many values"),
        });
    }
    values.into_iter().collect()
}

fn age(field: &'static str, value: Option<u32>, issues: &mut Vec<RuleIssue>) -> Option<u32> {
    if value.is_some_and(|a| a > MAX_AGE) {
        issues.push(RuleIssue {
            field,
            error: ValueError::Range {
                min: 0,
                max: i64::from(MAX_AGE),
            },
        });
    }
    value
}

impl AudienceRule {
    /// Everyone.
    pub fn everyone() -> AudienceRule {
        AudienceRule::default()
    }

    /// Checks a rule: ages 0..=150 with `age_min ≤ age_max`, lists not empty and not too long
    /// (every issue at once).
    pub fn new(p: AudienceParts) -> Result<AudienceRule, Vec<RuleIssue>> {
        let mut issues = Vec::new();
        let regions = list("regions", p.regions, MAX_REGIONS, &mut issues);
        let employment_status = list(
            "employment_status",
            p.employment_status,
            EmploymentStatus::ALL.len(),
            &mut issues,
        );
        let receives = list("receives", p.receives, Benefit::ALL.len(), &mut issues);
        let age_min = age("age_min", p.age_min, &mut issues);
        let age_max = age("age_max", p.age_max, &mut issues);
        if let (Some(min), Some(max)) = (age_min, age_max) {
            if max < min {
                issues.push(RuleIssue {
                    field: "age_max",
                    error: ValueError::Rule("must not be below age_min"),
                });
            }
        }
        if !issues.is_empty() {
            return Err(issues);
        }
        Ok(AudienceRule {
            regions,
            age_min,
            age_max,
            gender: p.gender,
            employment_status,
            medical_category: p.medical_category,
            has_arrears: p.has_arrears,
            receives,
        })
    }

    /// The rule's fields, as given (lists sorted, each value once; `None` for a field left
    /// out): to store and to show the rule.
    pub fn parts(&self) -> AudienceParts {
        fn given<T: Clone>(set: &BTreeSet<T>) -> Option<Vec<T>> {
            (!set.is_empty()).then(|| set.iter().cloned().collect())
        }
        AudienceParts {
            regions: given(&self.regions),
            age_min: self.age_min,
            age_max: self.age_max,
            gender: self.gender,
            employment_status: given(&self.employment_status),
            medical_category: self.medical_category,
            has_arrears: self.has_arrears,
            receives: given(&self.receives),
        }
    }

    /// Empty: any region.
    pub fn regions(&self) -> &BTreeSet<RegionCode> {
        &self.regions
    }
    pub fn gender(&self) -> Option<Gender> {
        self.gender
    }
    /// Empty: any.
    pub fn employment_status(&self) -> &BTreeSet<EmploymentStatus> {
        &self.employment_status
    }
    pub fn medical_category(&self) -> Option<MedicalCategory> {
        self.medical_category
    }
    pub fn has_arrears(&self) -> Option<bool> {
        self.has_arrears
    }
    /// Empty: whatever one receives, or nothing.
    pub fn receives(&self) -> &BTreeSet<Benefit> {
        &self.receives
    }

    /// The one region the rule is limited to, if it names exactly one.
    pub fn single_region(&self) -> Option<&RegionCode> {
        match self.regions.len() {
            1 => self.regions.iter().next(),
            _ => None,
        }
    }

    /// Whether the rule reaches the person of `p` on `today`.
    pub fn matches(&self, p: &PersonFacts, today: NaiveDate) -> bool {
        let age = age_in_whole_years(p.birth_date, today);
        (self.regions.is_empty() || self.regions.contains(&p.region))
            && self.age_min.is_none_or(|min| age >= min)
            && self.age_max.is_none_or(|max| age <= max)
            && self.gender.is_none_or(|g| g == p.gender)
            && (self.employment_status.is_empty()
                || self.employment_status.contains(&p.employment_status))
            && self
                .medical_category
                .is_none_or(|m| m == p.medical_category)
            && self.has_arrears.is_none_or(|a| a == p.has_arrears)
            && (self.receives.is_empty() || self.receives.iter().any(|b| p.receives.contains(b)))
    }

    /// The birth dates the age range allows on `today`, for a query over birth dates: a person
    /// is in range exactly when `born_after < birth_date ≤ born_on_or_before` (each bound only
    /// when the rule has it). Agrees with [`AudienceRule::matches`] for every birth date up to
    /// `today`.
    pub fn birth_bounds(&self, today: NaiveDate) -> BirthBounds {
        BirthBounds {
            // age 0 is every age: no bound.
            born_on_or_before: self
                .age_min
                .filter(|a| *a > 0)
                .map(|a| latest_birth(a, today)),
            born_after: self.age_max.map(|a| latest_birth(a + 1, today)),
        }
    }
}

/// The birth dates of an age range on a day (see [`AudienceRule::birth_bounds`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BirthBounds {
    /// `age ≥ age_min` ⇔ `birth_date ≤ this`.
    pub born_on_or_before: Option<NaiveDate>,
    /// `age ≤ age_max` ⇔ `birth_date > this`.
    pub born_after: Option<NaiveDate>,
}

/// The last birth date of someone who is at least `years` (≥ 1) old on `on`, by
/// [`age_in_whole_years`]: `on` that many years back, moved to the day the age function agrees
/// with at 29 February (born 29 February: a year older on 28 February of a common year; on
/// 29 February of a leap year, someone born on 28 February of a common year is, one born on
/// 1 March is not).
pub fn latest_birth(years: u32, on: NaiveDate) -> NaiveDate {
    let back = on
        .checked_sub_months(Months::new(years.saturating_mul(12)))
        .unwrap_or(NaiveDate::MIN);
    let mut latest = back;
    // At most a day either way; the loops are bounded by `on`.
    while latest < on {
        match latest.succ_opt() {
            Some(next) if age_in_whole_years(next, on) >= years => latest = next,
            _ => break,
        }
    }
    while latest > NaiveDate::MIN && age_in_whole_years(latest, on) < years {
        latest = latest.pred_opt().unwrap_or(NaiveDate::MIN);
    }
    latest
}

/// The age in whole years on `on`, as rules read it.
pub fn age_on(birth_date: NaiveDate, on: NaiveDate) -> u32 {
    age_in_whole_years(birth_date, on)
}

// ---------------------------------------------------------------------------------------------
// The facts a rule reads

/// What a rule reads about one person on a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonFacts {
    pub region: RegionCode,
    pub birth_date: NaiveDate,
    pub gender: Gender,
    pub employment_status: EmploymentStatus,
    pub medical_category: MedicalCategory,
    /// Some month is in arrears on the day ([`month_in_arrears`]).
    pub has_arrears: bool,
    /// What the person receives on the day ([`payment_in_course`], [`award_running`]).
    pub receives: BTreeSet<Benefit>,
}

/// Whether a month stored with `stored` status is in arrears on `today` in a region whose
/// months fall due on `due_day` of the following month: what the records show that day.
pub fn month_in_arrears(
    stored: ContributionStatus,
    period: Period,
    today: NaiveDate,
    due_day: u8,
) -> bool {
    stored.on(period, today, due_day) == ContributionStatus::Arrears
}

/// The months in arrears on a day, for a query over stored rows: a month stored `arrears` is;
/// one stored `due` is when it is before `last_month`, or it is `last_month` and the region's
/// due day is before `day` (a month falls due on the due day of the month after it). Agrees
/// with [`month_in_arrears`] for due days 1..=28.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArrearsCutoff {
    /// The month before the day's: months before it are past their due date whatever the
    /// region's due day; it is past its own once the due day has gone by.
    pub last_month: Period,
    /// The day of the month.
    pub day: u32,
}

impl ArrearsCutoff {
    pub fn on(today: NaiveDate) -> ArrearsCutoff {
        ArrearsCutoff {
            last_month: Period::containing(today).prev(),
            day: today.day(),
        }
    }

    /// The cutoff applied to one stored row (the condition the SQL writes).
    pub fn in_arrears(&self, stored: ContributionStatus, period: Period, due_day: u8) -> bool {
        match stored {
            ContributionStatus::Arrears => true,
            ContributionStatus::Due => {
                period < self.last_month
                    || (period == self.last_month && u32::from(due_day) < self.day)
            }
            ContributionStatus::Paid | ContributionStatus::Pending => false,
        }
    }
}

/// Which payments and awards count as received on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiveWindow {
    /// A benefit payment for this month or later: in payment (last month's has been paid, or
    /// this month's).
    pub payments_from: Period,
    /// This month, as `year × 12 + month − 1`: an award running from `starts` for `months`
    /// runs while `index(starts) ≤ this < index(starts) + months`.
    pub month_index: i64,
    /// This month.
    pub month: Period,
}

/// `year × 12 + month − 1`.
pub fn month_index(p: Period) -> i64 {
    i64::from(p.year()) * 12 + i64::from(p.month()) - 1
}

impl ReceiveWindow {
    pub fn on(today: NaiveDate) -> ReceiveWindow {
        let month = Period::containing(today);
        ReceiveWindow {
            payments_from: month.prev(),
            month_index: month_index(month),
            month,
        }
    }
}

/// Whether a benefit paid for `period` shows the benefit in payment on `today`: a payment for
/// this month or the last one (benefits are paid monthly, in arrear or in advance).
pub fn payment_in_course(period: Period, today: NaiveDate) -> bool {
    period >= Period::containing(today).prev()
}

/// Whether an award from `starts` for `months` (`None`: for good) runs on `today`'s month.
pub fn award_running(starts: Period, months: Option<u32>, today: NaiveDate) -> bool {
    let month = Period::containing(today);
    starts <= month
        && months.is_none_or(|n| month_index(month) < month_index(starts) + i64::from(n))
}

// ---------------------------------------------------------------------------------------------
// The SMS

/// The SMS that announces a notice: the kind and the title (cut with `…` to fit one segment),
/// no name, no link (links in texts are how phishing looks).
pub fn sms_text(kind: NoticeKind, title: &NoticeTitle) -> String {
    let lead = format!("【掌上社保】{}通知：", kind.name_zh());
    let tail = "。详情请在掌上社保查看。";
    let room =
        crate::reminders::ONE_SEGMENT.saturating_sub(lead.chars().count() + tail.chars().count());
    let title = title.as_str();
    let shown: String = if title.chars().count() <= room {
        title.to_owned()
    } else {
        title
            .chars()
            .take(room.saturating_sub(1))
            .chain(std::iter::once('…'))
            .collect()
    };
    format!("{lead}{shown}{tail}")
}

/// The dedupe key part of a notice's SMS: the notice (the person is in the key already).
pub fn sms_slot(notice_id: &str) -> String {
    format!("notice-{notice_id}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn region(s: &str) -> RegionCode {
        RegionCode::parse(s).unwrap()
    }

    fn facts() -> PersonFacts {
        PersonFacts {
            region: region("440300"),
            birth_date: d(1990, 6, 15),
            gender: Gender::Female,
            employment_status: EmploymentStatus::Unemployed,
            medical_category: MedicalCategory::Employee,
            has_arrears: false,
            receives: BTreeSet::new(),
        }
    }

    fn rule(p: AudienceParts) -> AudienceRule {
        AudienceRule::new(p).unwrap()
    }

    #[test]
    fn names_agree_with_serde() {
        for k in NoticeKind::ALL {
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
            assert_eq!(NoticeKind::parse(k.as_str()).unwrap(), k);
        }
        for b in Benefit::ALL {
            assert_eq!(serde_json::to_value(b).unwrap(), b.as_str());
        }
        for s in NoticeStatus::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
    }

    #[test]
    fn an_empty_rule_reaches_everyone() {
        let everyone = AudienceRule::everyone();
        let today = d(2026, 12, 3);
        assert!(everyone.matches(&facts(), today));
        let other = PersonFacts {
            region: region("110000"),
            birth_date: d(1930, 1, 1),
            gender: Gender::Male,
            employment_status: EmploymentStatus::Retired,
            medical_category: MedicalCategory::Resident,
            has_arrears: true,
            receives: [Benefit::Pension].into(),
        };
        assert!(everyone.matches(&other, today));
        assert_eq!(rule(AudienceParts::default()), everyone);
        assert_eq!(
            everyone.birth_bounds(today),
            BirthBounds {
                born_on_or_before: None,
                born_after: None
            }
        );
    }

    #[test]
    fn each_field_alone() {
        let today = d(2026, 12, 3);
        let p = facts(); // 36 on that day
        let check = |parts: AudienceParts, want: bool| {
            assert_eq!(rule(parts.clone()).matches(&p, today), want, "{parts:?}");
        };
        check(
            AudienceParts {
                regions: Some(vec![region("110000"), region("440300")]),
                ..Default::default()
            },
            true,
        );
        check(
            AudienceParts {
                regions: Some(vec![region("110000")]),
                ..Default::default()
            },
            false,
        );
        check(
            AudienceParts {
                gender: Some(Gender::Female),
                ..Default::default()
            },
            true,
        );
        check(
            AudienceParts {
                gender: Some(Gender::Male),
                ..Default::default()
            },
            false,
        );
        check(
            AudienceParts {
                employment_status: Some(vec![EmploymentStatus::Unemployed]),
                ..Default::default()
            },
            true,
        );
        check(
            AudienceParts {
                employment_status: Some(vec![
                    EmploymentStatus::Employed,
                    EmploymentStatus::Retired,
                ]),
                ..Default::default()
            },
            false,
        );
        check(
            AudienceParts {
                medical_category: Some(MedicalCategory::Resident),
                ..Default::default()
            },
            false,
        );
        check(
            AudienceParts {
                has_arrears: Some(false),
                ..Default::default()
            },
            true,
        );
        check(
            AudienceParts {
                has_arrears: Some(true),
                ..Default::default()
            },
            false,
        );
        check(
            AudienceParts {
                receives: Some(vec![Benefit::Unemployment]),
                ..Default::default()
            },
            false,
        );
        let receiving = PersonFacts {
            receives: [Benefit::Unemployment, Benefit::MinimumLiving].into(),
            ..facts()
        };
        let r = rule(AudienceParts {
            receives: Some(vec![Benefit::Pension, Benefit::MinimumLiving]),
            ..Default::default()
        });
        assert!(r.matches(&receiving, today));
        assert!(!r.matches(&facts(), today));
    }

    #[test]
    fn ages_are_inclusive_whole_years_from_the_birthday_on() {
        // Born 1990-06-15: 35 on 2026-06-14, 36 from 2026-06-15.
        let p = facts();
        let thirty_six = rule(AudienceParts {
            age_min: Some(36),
            age_max: Some(36),
            ..Default::default()
        });
        assert!(!thirty_six.matches(&p, d(2026, 6, 14)));
        assert!(thirty_six.matches(&p, d(2026, 6, 15)));
        assert!(thirty_six.matches(&p, d(2027, 6, 14)));
        assert!(!thirty_six.matches(&p, d(2027, 6, 15)));
        let up_to_35 = rule(AudienceParts {
            age_max: Some(35),
            ..Default::default()
        });
        assert!(up_to_35.matches(&p, d(2026, 6, 14)));
        assert!(!up_to_35.matches(&p, d(2026, 6, 15)));
        // Born on 29 February: a year older on 28 February in common years.
        let leap = PersonFacts {
            birth_date: d(2008, 2, 29),
            ..facts()
        };
        let adults = rule(AudienceParts {
            age_min: Some(18),
            ..Default::default()
        });
        assert!(!adults.matches(&leap, d(2026, 2, 27)));
        assert!(adults.matches(&leap, d(2026, 2, 28)));
    }

    #[test]
    fn birth_bounds_agree_with_the_age_for_every_birth_date() {
        // Every day of four years (a leap year, its neighbours, Feb 28/29 and year ends) as
        // the matching day, every birth date within the bounds' reach, ages at the edges.
        let mut today = d(2023, 12, 25);
        while today <= d(2028, 3, 5) {
            for years in [1u32, 17, 18, 30, 60, 100] {
                let latest = latest_birth(years, today);
                for delta in -370i64..=370 {
                    let birth = latest + chrono::Duration::days(delta);
                    if birth > today {
                        continue;
                    }
                    assert_eq!(
                        age_in_whole_years(birth, today) >= years,
                        birth <= latest,
                        "born {birth}, on {today}, {years} years: latest {latest}"
                    );
                }
            }
            today = today.succ_opt().unwrap();
        }
    }

    #[test]
    fn latest_births_at_the_leap_day() {
        // On 28 February of a common year, someone born on 29 February of a leap year has had
        // their birthday.
        assert_eq!(latest_birth(18, d(2026, 2, 28)), d(2008, 2, 29));
        // On 29 February, someone born on 28 February has, one born on 1 March has not.
        assert_eq!(latest_birth(1, d(2028, 2, 29)), d(2027, 2, 28));
        assert_eq!(latest_birth(4, d(2028, 2, 29)), d(2024, 2, 29));
        assert_eq!(latest_birth(30, d(2026, 12, 3)), d(1996, 12, 3));
    }

    #[test]
    fn range_rules_use_the_bounds() {
        let today = d(2026, 12, 3);
        let r = rule(AudienceParts {
            age_min: Some(16),
            age_max: Some(59),
            ..Default::default()
        });
        assert_eq!(
            r.birth_bounds(today),
            BirthBounds {
                born_on_or_before: Some(d(2010, 12, 3)),
                born_after: Some(d(1966, 12, 3)),
            }
        );
        // Someone born on 1966-12-04 is 59; born 1966-12-03 is 60 today.
        let young = PersonFacts {
            birth_date: d(1966, 12, 4),
            ..facts()
        };
        let sixty = PersonFacts {
            birth_date: d(1966, 12, 3),
            ..facts()
        };
        assert!(r.matches(&young, today));
        assert!(!r.matches(&sixty, today));
        // age_min 0 is no bound at all.
        let from_zero = rule(AudienceParts {
            age_min: Some(0),
            ..Default::default()
        });
        assert_eq!(from_zero.birth_bounds(today).born_on_or_before, None);
    }

    #[test]
    fn rules_are_checked_field_by_field() {
        let issues = AudienceRule::new(AudienceParts {
            regions: Some(vec![]),
            age_min: Some(60),
            age_max: Some(16),
            employment_status: Some(vec![]),
            receives: Some(vec![]),
            ..Default::default()
        })
        .unwrap_err();
        let fields: Vec<&str> = issues.iter().map(|i| i.field).collect();
        assert_eq!(
            fields,
            ["regions", "employment_status", "receives", "age_max"]
        );
        let issues = AudienceRule::new(AudienceParts {
            age_min: Some(151),
            age_max: Some(200),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(
            issues,
            [
                RuleIssue {
                    field: "age_min",
                    error: ValueError::Range { min: 0, max: 150 }
                },
                RuleIssue {
                    field: "age_max",
                    error: ValueError::Range { min: 0, max: 150 }
                }
            ]
        );
        let too_many = (0..=MAX_REGIONS)
            .map(|i| region(&format!("{}", 110_000 + i)))
            .collect();
        let issues = AudienceRule::new(AudienceParts {
            regions: Some(too_many),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(issues[0].field, "regions");
        // Equal ages are a one-year range; duplicates are kept once.
        let r = rule(AudienceParts {
            regions: Some(vec![region("440300"), region("440300")]),
            age_min: Some(30),
            age_max: Some(30),
            ..Default::default()
        });
        assert_eq!(r.regions().len(), 1);
        assert_eq!(r.single_region(), Some(&region("440300")));
        assert_eq!(
            r.parts(),
            AudienceParts {
                regions: Some(vec![region("440300")]),
                age_min: Some(30),
                age_max: Some(30),
                ..Default::default()
            }
        );
    }

    #[test]
    fn the_arrears_cutoff_agrees_with_the_records() {
        use ContributionStatus::{Arrears, Due, Paid, Pending};
        let mut today = d(2026, 1, 1);
        while today <= d(2027, 3, 31) {
            let cut = ArrearsCutoff::on(today);
            for due_day in 1u8..=28 {
                for back in -2i64..=14 {
                    let period = Period::containing(today).add_months(-back).unwrap();
                    for stored in [Due, Arrears, Paid, Pending] {
                        assert_eq!(
                            cut.in_arrears(stored, period, due_day),
                            month_in_arrears(stored, period, today, due_day),
                            "{stored:?} {period} on {today}, due day {due_day}"
                        );
                    }
                }
            }
            today = today.succ_opt().unwrap();
        }
        // By hand: last month falls due on the 15th, so it is in arrears from the 16th.
        let nov = Period::parse("2026-11").unwrap();
        assert!(!month_in_arrears(Due, nov, d(2026, 12, 15), 15));
        assert!(month_in_arrears(Due, nov, d(2026, 12, 16), 15));
        assert!(month_in_arrears(Due, nov, d(2026, 12, 3), 2));
        assert!(!month_in_arrears(
            Due,
            Period::parse("2026-12").unwrap(),
            d(2026, 12, 31),
            1
        ));
    }

    #[test]
    fn what_counts_as_received() {
        let today = d(2026, 12, 3);
        let p = |s: &str| Period::parse(s).unwrap();
        // Payments: this month's or last month's.
        assert!(payment_in_course(p("2026-12"), today));
        assert!(payment_in_course(p("2026-11"), today));
        assert!(!payment_in_course(p("2026-10"), today));
        let w = ReceiveWindow::on(today);
        assert_eq!(w.payments_from, p("2026-11"));
        assert_eq!(w.month_index, 2026 * 12 + 11);
        // Awards: from their first month for their months, or for good.
        assert!(award_running(p("2026-12"), Some(1), today));
        assert!(!award_running(p("2026-11"), Some(1), today));
        assert!(award_running(p("2025-01"), Some(24), today));
        assert!(!award_running(p("2024-12"), Some(24), today));
        assert!(award_running(p("2018-03"), None, today));
        assert!(!award_running(p("2027-01"), None, today));
        assert!(!award_running(p("2026-12"), Some(0), today));
        for months in [0u32, 1, 12, 24] {
            for back in -3i64..30 {
                let starts = p("2026-12").add_months(-back).unwrap();
                let by_index = month_index(starts) <= w.month_index
                    && w.month_index < month_index(starts) + i64::from(months);
                assert_eq!(award_running(starts, Some(months), today), by_index);
            }
        }
    }

    #[test]
    fn schedules() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let now = at("2026-12-03T02:00:00Z");
        let s = Schedule::new(None, at("2026-12-31T16:00:00Z"), now).unwrap();
        assert_eq!(s.publish_at, now);
        assert_eq!(s.status(now), NoticeStatus::Published);
        assert_eq!(s.status(at("2026-12-31T16:00:00Z")), NoticeStatus::Expired);
        let later = Schedule::new(
            Some(at("2026-12-10T00:00:00Z")),
            at("2026-12-20T00:00:00Z"),
            now,
        )
        .unwrap();
        assert_eq!(later.status(now), NoticeStatus::Scheduled);
        assert!(!later.is_live(now));
        assert!(later.is_live(at("2026-12-10T00:00:00Z")));
        assert!(!later.is_live(at("2026-12-20T00:00:00Z")));
        assert_eq!(
            Schedule::new(
                Some(at("2026-12-10T00:00:00Z")),
                at("2026-12-10T00:00:00Z"),
                now
            )
            .unwrap_err()
            .0,
            "expire_at"
        );
        assert!(Schedule::new(
            Some(at("2026-11-01T00:00:00Z")),
            at("2026-12-01T00:00:00Z"),
            now
        )
        .is_err());
        assert!(Schedule::new(None, at("2028-01-01T00:00:00Z"), now).is_err());
    }

    #[test]
    fn texts() {
        assert_eq!(
            NoticeTitle::parse("  深圳市冬季招聘会 ").unwrap().as_str(),
            "深圳市冬季招聘会"
        );
        assert_eq!(NoticeTitle::parse(""), Err(ValueError::Empty));
        assert_eq!(
            NoticeTitle::parse(&"字".repeat(101)),
            Err(ValueError::TooLong { max: 100 })
        );
        assert_eq!(
            NoticeBody::parse("第一行\r\n第二行\n").unwrap().as_str(),
            "第一行\n第二行"
        );
        assert_eq!(NoticeBody::parse("a\tb"), Err(ValueError::ControlCharacter));
        assert_eq!(
            NoticeBody::parse("a\u{0}b"),
            Err(ValueError::ControlCharacter)
        );
        assert_eq!(
            NoticeBody::parse(&"字".repeat(4001)),
            Err(ValueError::TooLong { max: 4000 })
        );
        assert_eq!(
            NoticeLink::parse("HTTPS://HRSS.sz.gov.cn/zph")
                .unwrap()
                .as_str(),
            "https://hrss.sz.gov.cn/zph"
        );
        for bad in [
            "http://hrss.sz.gov.cn/",
            "javascript:alert(1)",
            "https://",
            "hrss.sz.gov.cn",
            "https://a b.cn/",
            "ftp://x.cn/",
            "data:text/html,hi",
        ] {
            assert!(NoticeLink::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            NoticeLink::parse("https://user:pw@x.cn/"),
            Err(ValueError::Rule("must not carry a user name or password"))
        );
        let long = format!("https://x.cn/{}", "a".repeat(500));
        assert_eq!(
            NoticeLink::parse(&long),
            Err(ValueError::TooLong { max: 500 })
        );
    }

    #[test]
    fn the_sms_fits_one_segment() {
        let short = NoticeTitle::parse("深圳市冬季招聘会").unwrap();
        assert_eq!(
            sms_text(NoticeKind::Job, &short),
            "【掌上社保】就业通知：深圳市冬季招聘会。详情请在掌上社保查看。"
        );
        let long = NoticeTitle::parse(&"长".repeat(100)).unwrap();
        let text = sms_text(NoticeKind::Policy, &long);
        assert_eq!(
            text.chars().count(),
            crate::reminders::ONE_SEGMENT,
            "{text}"
        );
        assert!(text.contains('…'));
        assert!(text.ends_with("。详情请在掌上社保查看。"));
    }
}
