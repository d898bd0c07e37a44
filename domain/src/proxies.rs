//! Family and proxy access (亲情代办): what a principal may let a relative do for them, the
//! states of a grant, how long a grant and a token acting under it may live, and the one table
//! that says which of the person's routes each scope opens.
//!
//! ```text
//!   principal invites ──► invited ── relative accepts ──► active ──► revoked (either side)
//!   relative requests + principal's SMS code ───────────► active
//!                         (any state past expires_at reads as expired)
//! ```
//!
//! A token acting under a grant opens only the routes the table maps to one of the grant's
//! scopes; every other route (binding, factors, step-up, sessions, the grants themselves,
//! preferences, feedback, appointments, anything added later) is refused: default deny.

use chrono::{DateTime, Duration, Utc};

use crate::ValueError;

/// What a relative may do for the principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProxyScope {
    /// Read contributions, accounts, benefits, the estimate, notices and the e-card.
    ReadRecords,
    /// See what is owed and pay premiums (payables, payees, payments).
    PayPremiums,
    /// Apply for services (applications and their documents, the yearly qualification check).
    Apply,
}

string_enum!(ProxyScope, allowed = "read_records, pay_premiums, apply", {
    ReadRecords => "read_records",
    PayPremiums => "pay_premiums",
    Apply => "apply",
});

impl ProxyScope {
    fn bit(self) -> u8 {
        match self {
            ProxyScope::ReadRecords => 1,
            ProxyScope::PayPremiums => 2,
            ProxyScope::Apply => 4,
        }
    }

    /// The scope in a Chinese sentence (the text messages are Chinese).
    pub fn chinese_name(self) -> &'static str {
        match self {
            ProxyScope::ReadRecords => "查询记录",
            ProxyScope::PayPremiums => "缴纳保费",
            ProxyScope::Apply => "业务办理",
        }
    }
}

/// A non-empty set of scopes without repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ScopeSet(u8);

impl ScopeSet {
    /// The scopes a client named: known, at least one, none twice.
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> Result<ScopeSet, ValueError> {
        if names.is_empty() {
            return Err(ValueError::Empty);
        }
        let mut bits = 0u8;
        for name in names {
            let scope = ProxyScope::parse(name.as_ref())?;
            if bits & scope.bit() != 0 {
                return Err(ValueError::Rule("must not name a scope twice"));
            }
            bits |= scope.bit();
        }
        Ok(ScopeSet(bits))
    }

    /// Reads the stored (or token) form: names separated by spaces.
    pub fn parse(s: &str) -> Result<ScopeSet, ValueError> {
        let names: Vec<&str> = s.split_whitespace().collect();
        ScopeSet::from_names(&names)
    }

    pub fn contains(self, scope: ProxyScope) -> bool {
        self.0 & scope.bit() != 0
    }

    /// The scopes, in the order of [`ProxyScope::ALL`].
    pub fn scopes(self) -> Vec<ProxyScope> {
        ProxyScope::ALL
            .into_iter()
            .filter(|s| self.contains(*s))
            .collect()
    }

    /// The stored and token form (RFC 8693 `scope`): names separated by single spaces.
    pub fn to_text(self) -> String {
        self.scopes()
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Who the relative is to the principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    Spouse,
    Parent,
    Child,
    Sibling,
    Grandparent,
    Grandchild,
    Other,
}

string_enum!(Relation, allowed = "spouse, parent, child, sibling, grandparent, grandchild, other", {
    Spouse => "spouse",
    Parent => "parent",
    Child => "child",
    Sibling => "sibling",
    Grandparent => "grandparent",
    Grandchild => "grandchild",
    Other => "other",
});

impl Relation {
    /// The relation in a Chinese sentence.
    pub fn chinese_name(self) -> &'static str {
        match self {
            Relation::Spouse => "配偶",
            Relation::Parent => "父母",
            Relation::Child => "子女",
            Relation::Sibling => "兄弟姐妹",
            Relation::Grandparent => "祖父母",
            Relation::Grandchild => "孙辈",
            Relation::Other => "亲属",
        }
    }
}

/// The state a grant is stored in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoredStatus {
    Invited,
    Active,
    Revoked,
}

string_enum!(StoredStatus, allowed = "invited, active, revoked", {
    Invited => "invited",
    Active => "active",
    Revoked => "revoked",
});

/// The state a grant is in at a given moment: its stored state, or `expired` once past its
/// expiry (unless revoked before).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantStatus {
    Invited,
    Active,
    Revoked,
    Expired,
}

string_enum!(GrantStatus, allowed = "invited, active, revoked, expired", {
    Invited => "invited",
    Active => "active",
    Revoked => "revoked",
    Expired => "expired",
});

impl GrantStatus {
    /// The state of a grant stored as `stored` that expires at `expires_at`, at `now`.
    pub fn at(stored: StoredStatus, expires_at: DateTime<Utc>, now: DateTime<Utc>) -> GrantStatus {
        match stored {
            StoredStatus::Revoked => GrantStatus::Revoked,
            _ if now >= expires_at => GrantStatus::Expired,
            StoredStatus::Invited => GrantStatus::Invited,
            StoredStatus::Active => GrantStatus::Active,
        }
    }
}

/// The longest a grant may run: a year, then the principal grants again.
pub const MAX_GRANT_DAYS: i64 = 365;

/// How long a grant made on the assisted path (the principal read a code aloud) runs: 90 days.
pub const ASSISTED_GRANT_DAYS: i64 = 90;

/// The longest a token acting under a grant lives: 15 minutes (never past the grant).
pub const TOKEN_TTL_SECS: i64 = 15 * 60;

/// Checks a grant's requested expiry: after `now`, and at most [`MAX_GRANT_DAYS`] later.
pub fn check_expiry(expires_at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), ValueError> {
    if expires_at <= now {
        return Err(ValueError::Rule("must be in the future"));
    }
    if expires_at > now + Duration::days(MAX_GRANT_DAYS) {
        return Err(ValueError::Rule("must be within a year"));
    }
    Ok(())
}

/// How many seconds a token issued at `now` under a grant expiring at `grant_expires_at` lives:
/// [`TOKEN_TTL_SECS`], cut short by the grant's end. `None` if the grant has ended.
pub fn token_ttl(now: DateTime<Utc>, grant_expires_at: DateTime<Utc>) -> Option<i64> {
    let left = (grant_expires_at - now).num_seconds();
    (left > 0).then(|| left.min(TOKEN_TTL_SECS))
}

/// The assisted path's code: 6 digits, valid 5 minutes, 5 tries.
pub const CODE_TTL_SECS: i64 = 300;
pub const CODE_MAX_ATTEMPTS: i32 = 5;

/// A relative may ask for access (the assisted path, which texts the person) once a minute and
/// ten times a day, like the SMS codes of sign-in.
pub const REQUEST_COOLDOWN_SECS: i64 = 60;
pub const REQUESTS_PER_DAY: usize = 10;

/// Why a relative may not ask again now, with the seconds to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestRefused {
    Cooldown(i64),
    DailyCap(i64),
}

/// Whether a relative who made requests at `made` (those of the last 24 hours, any order) may
/// make another at `now`.
pub fn may_request(made: &[DateTime<Utc>], now: DateTime<Utc>) -> Result<(), RequestRefused> {
    let day_ago = now - Duration::days(1);
    let mut recent: Vec<DateTime<Utc>> = made.iter().copied().filter(|t| *t > day_ago).collect();
    recent.sort();
    if let Some(last) = recent.last() {
        let since = (now - *last).num_seconds();
        if since < REQUEST_COOLDOWN_SECS {
            return Err(RequestRefused::Cooldown(REQUEST_COOLDOWN_SECS - since));
        }
    }
    if recent.len() >= REQUESTS_PER_DAY {
        let frees = recent[recent.len() - REQUESTS_PER_DAY] + Duration::days(1);
        return Err(RequestRefused::DailyCap((frees - now).num_seconds().max(1)));
    }
    Ok(())
}

/// Every person's route a proxy token may reach, by method and route pattern, and the scope it
/// needs. Anything not here is refused to a proxy token (`scope_denied`).
pub const ROUTE_SCOPES: &[(&str, &str, ProxyScope)] = &[
    // Records.
    ("GET", "/v1/me/contributions", ProxyScope::ReadRecords),
    (
        "GET",
        "/v1/me/contributions/summary",
        ProxyScope::ReadRecords,
    ),
    ("GET", "/v1/me/accounts/pension", ProxyScope::ReadRecords),
    ("GET", "/v1/me/accounts/medical", ProxyScope::ReadRecords),
    (
        "GET",
        "/v1/me/accounts/medical/transactions",
        ProxyScope::ReadRecords,
    ),
    ("GET", "/v1/me/benefits", ProxyScope::ReadRecords),
    ("POST", "/v1/me/pension-estimate", ProxyScope::ReadRecords),
    ("GET", "/v1/me/notices", ProxyScope::ReadRecords),
    ("POST", "/v1/me/ecard", ProxyScope::ReadRecords),
    // Premiums.
    ("GET", "/v1/me/payables", ProxyScope::PayPremiums),
    ("PUT", "/v1/me/flexible-base", ProxyScope::PayPremiums),
    ("GET", "/v1/me/payees", ProxyScope::PayPremiums),
    ("POST", "/v1/me/payees", ProxyScope::PayPremiums),
    ("DELETE", "/v1/me/payees/{id}", ProxyScope::PayPremiums),
    ("GET", "/v1/me/payments", ProxyScope::PayPremiums),
    ("POST", "/v1/me/payments", ProxyScope::PayPremiums),
    ("GET", "/v1/me/payments/{id}", ProxyScope::PayPremiums),
    (
        "POST",
        "/v1/me/payments/{id}/cancel",
        ProxyScope::PayPremiums,
    ),
    // Applications.
    ("GET", "/v1/me/applications", ProxyScope::Apply),
    ("POST", "/v1/me/applications", ProxyScope::Apply),
    ("GET", "/v1/me/applications/{id}", ProxyScope::Apply),
    (
        "POST",
        "/v1/me/applications/{id}/documents",
        ProxyScope::Apply,
    ),
    (
        "POST",
        "/v1/me/applications/{id}/resubmit",
        ProxyScope::Apply,
    ),
    (
        "POST",
        "/v1/me/applications/{id}/withdraw",
        ProxyScope::Apply,
    ),
    ("POST", "/v1/me/assistance/eligibility", ProxyScope::Apply),
    ("GET", "/v1/me/assisted-qualifications", ProxyScope::Apply),
    (
        "POST",
        "/v1/me/assisted-qualifications/{id}/confirm",
        ProxyScope::Apply,
    ),
];

/// The scope a proxy token needs for `method` on the route `pattern`; `None`: refused to any
/// proxy token.
pub fn scope_for(method: &str, pattern: &str) -> Option<ProxyScope> {
    ROUTE_SCOPES
        .iter()
        .find(|(m, p, _)| m.eq_ignore_ascii_case(method) && *p == pattern)
        .map(|(_, _, s)| *s)
}

/// Whether an action under `scope` by `method` changes something the principal is told of by
/// SMS: a payment or an application made for them (reads are only recorded).
pub fn tells_principal(method: &str, scope: ProxyScope) -> bool {
    !method.eq_ignore_ascii_case("GET")
        && matches!(scope, ProxyScope::PayPremiums | ProxyScope::Apply)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 3, h, 0, 0).unwrap()
    }

    #[test]
    fn scopes_are_known_non_empty_and_never_repeated() {
        let set = ScopeSet::from_names(&["apply", "read_records"]).unwrap();
        assert!(set.contains(ProxyScope::Apply));
        assert!(set.contains(ProxyScope::ReadRecords));
        assert!(!set.contains(ProxyScope::PayPremiums));
        // Stored in a fixed order, whatever order they were named in.
        assert_eq!(set.to_text(), "read_records apply");
        assert_eq!(ScopeSet::parse("read_records apply").unwrap(), set);
        assert_eq!(
            ScopeSet::from_names::<&str>(&[]).unwrap_err(),
            ValueError::Empty
        );
        assert_eq!(
            ScopeSet::from_names(&["apply", "apply"])
                .unwrap_err()
                .code(),
            "rule"
        );
        assert_eq!(
            ScopeSet::from_names(&["bind"]).unwrap_err().code(),
            "one_of"
        );
    }

    #[test]
    fn names_agree_with_serde() {
        for s in ProxyScope::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for r in Relation::ALL {
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
            assert!(!r.chinese_name().is_empty());
        }
        for g in GrantStatus::ALL {
            assert_eq!(serde_json::to_value(g).unwrap(), g.as_str());
        }
        for s in StoredStatus::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert!(Relation::parse("neighbour").is_err());
    }

    #[test]
    fn a_grant_reads_expired_past_its_end_unless_revoked_before() {
        let end = t(12);
        assert_eq!(
            GrantStatus::at(StoredStatus::Active, end, t(11)),
            GrantStatus::Active
        );
        assert_eq!(
            GrantStatus::at(StoredStatus::Active, end, t(12)),
            GrantStatus::Expired
        );
        assert_eq!(
            GrantStatus::at(StoredStatus::Invited, end, t(13)),
            GrantStatus::Expired
        );
        assert_eq!(
            GrantStatus::at(StoredStatus::Invited, end, t(1)),
            GrantStatus::Invited
        );
        assert_eq!(
            GrantStatus::at(StoredStatus::Revoked, end, t(13)),
            GrantStatus::Revoked
        );
    }

    #[test]
    fn expiry_is_in_the_future_and_within_a_year() {
        let now = t(10);
        assert!(check_expiry(now, now).is_err());
        assert!(check_expiry(now - Duration::seconds(1), now).is_err());
        assert!(check_expiry(now + Duration::seconds(1), now).is_ok());
        assert!(check_expiry(now + Duration::days(365), now).is_ok());
        assert!(check_expiry(now + Duration::days(365) + Duration::seconds(1), now).is_err());
    }

    #[test]
    fn a_token_lives_fifteen_minutes_or_until_the_grant_ends() {
        let now = t(10);
        assert_eq!(token_ttl(now, now + Duration::days(3)), Some(900));
        assert_eq!(token_ttl(now, now + Duration::seconds(120)), Some(120));
        assert_eq!(token_ttl(now, now), None);
        assert_eq!(token_ttl(now, now - Duration::seconds(5)), None);
    }

    #[test]
    fn the_table_maps_reads_payments_and_applications_and_denies_the_rest() {
        assert_eq!(
            scope_for("GET", "/v1/me/contributions"),
            Some(ProxyScope::ReadRecords)
        );
        assert_eq!(
            scope_for("post", "/v1/me/payments"),
            Some(ProxyScope::PayPremiums)
        );
        assert_eq!(
            scope_for("POST", "/v1/me/applications/{id}/withdraw"),
            Some(ProxyScope::Apply)
        );
        for (m, p) in [
            ("POST", "/v1/me/binding"),
            ("GET", "/v1/me/binding"),
            ("POST", "/v1/me/totp"),
            ("POST", "/v1/me/step-up"),
            ("GET", "/v1/me/sessions"),
            ("POST", "/v1/me/proxies"),
            ("GET", "/v1/me/proxy-activity"),
            ("PUT", "/v1/me/notification-preferences"),
            ("POST", "/v1/me/feedback"),
            ("POST", "/v1/me/appointments"),
            ("PUT", "/v1/me/payout-account"),
            ("POST", "/v1/me/certificates"),
            // The right path with the wrong method is not the route.
            ("DELETE", "/v1/me/payments"),
        ] {
            assert_eq!(scope_for(m, p), None, "{m} {p}");
        }
        // Every entry is a person's route, named once.
        for (i, (m, p, _)) in ROUTE_SCOPES.iter().enumerate() {
            assert!(p.starts_with("/v1/me/"), "{p}");
            assert!(
                !ROUTE_SCOPES[..i]
                    .iter()
                    .any(|(m2, p2, _)| m2 == m && p2 == p),
                "{m} {p} twice"
            );
        }
    }

    #[test]
    fn requests_wait_a_minute_and_stop_at_ten_a_day() {
        let now = t(12);
        assert_eq!(may_request(&[], now), Ok(()));
        assert_eq!(
            may_request(&[now - Duration::seconds(20)], now),
            Err(RequestRefused::Cooldown(40))
        );
        assert_eq!(may_request(&[now - Duration::seconds(60)], now), Ok(()));
        // Ten in the last day, the first 23 hours ago: free again in an hour.
        let ten: Vec<_> = (0..10)
            .map(|i| now - Duration::hours(23) + Duration::minutes(i * 10))
            .collect();
        assert_eq!(may_request(&ten, now), Err(RequestRefused::DailyCap(3600)));
        // Older than a day: not counted.
        let old: Vec<_> = (0..10)
            .map(|i| now - Duration::days(2) + Duration::minutes(i))
            .collect();
        assert_eq!(may_request(&old, now), Ok(()));
    }

    #[test]
    fn only_changes_to_money_and_applications_are_told_by_sms() {
        assert!(tells_principal("POST", ProxyScope::PayPremiums));
        assert!(tells_principal("POST", ProxyScope::Apply));
        assert!(!tells_principal("GET", ProxyScope::PayPremiums));
        assert!(!tells_principal("POST", ProxyScope::ReadRecords));
    }
}
