//! The contribution certificate (参保证明): what a person may ask a certificate for (a kind and a
//! period of months), what it says (every month of the period per insurance with its status,
//! the totals per insurance, each insurance's standing at the period's end), how long it is
//! valid, how often one may be issued, and how a verification answers. Pure rules over the same
//! month rows the contribution list and summary read, so the certificate always agrees with them.

use chrono::{DateTime, Duration, Utc};

use crate::error::ValueError;
use crate::insurance::InsuranceType;
use crate::period::Period;
use crate::statement::{self, ContributionStatus, InsuranceSummary, MonthRow};

/// What a certificate proves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertificateKind {
    /// Every month of the period with its status, and the amounts paid (缴费明细).
    ContributionHistory,
    /// Whether the person is insured, per insurance, at the period's end (参保状态), with the
    /// months behind it.
    InsuredStatus,
}

string_enum!(CertificateKind, allowed = "contribution_history, insured_status", {
    ContributionHistory => "contribution_history",
    InsuredStatus => "insured_status",
});

impl CertificateKind {
    /// The certificate's subtitle.
    pub fn title_zh(self) -> &'static str {
        match self {
            CertificateKind::ContributionHistory => "缴费明细",
            CertificateKind::InsuredStatus => "参保状态",
        }
    }
}

/// The longest period one certificate covers: forty years of months (a whole working life, which
/// is what housing offices and pension transfers ask for; about ten pages).
pub const MAX_SPAN_MONTHS: i64 = 480;

/// How long a certificate verifies after it is issued.
pub const VALID_DAYS: i64 = 90;

/// How many certificates a person may have issued in [`ISSUE_WINDOW_HOURS`].
pub const ISSUE_LIMIT: i64 = 10;

/// The window of [`ISSUE_LIMIT`].
pub const ISSUE_WINDOW_HOURS: i64 = 24;

/// Why a requested period is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("`from` is after `to`")]
    Reversed,
    #[error("the period is longer than {MAX_SPAN_MONTHS} months")]
    TooLong,
    #[error("the period ends after the current month")]
    Future,
}

impl PeriodError {
    /// As a field's value error (the field is `to` in every case).
    pub fn value_error(self) -> ValueError {
        match self {
            PeriodError::Reversed => ValueError::Format {
                expected: "a month not before `from`",
            },
            PeriodError::TooLong => ValueError::Format {
                expected: "a month at most 480 months from `from` (both included)",
            },
            PeriodError::Future => ValueError::Format {
                expected: "a month not after the current month",
            },
        }
    }
}

/// The months a certificate covers: `from` to `to`, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CertificatePeriod {
    pub from: Period,
    pub to: Period,
}

impl CertificatePeriod {
    /// `from ≤ to ≤ current`, at most [`MAX_SPAN_MONTHS`] months.
    pub fn new(from: Period, to: Period, current: Period) -> Result<Self, PeriodError> {
        if from > to {
            return Err(PeriodError::Reversed);
        }
        if to > current {
            return Err(PeriodError::Future);
        }
        if from.months_between(to) + 1 > MAX_SPAN_MONTHS {
            return Err(PeriodError::TooLong);
        }
        Ok(CertificatePeriod { from, to })
    }

    /// Every month, oldest first.
    pub fn months(&self) -> Vec<Period> {
        let mut out = Vec::new();
        let mut p = self.from;
        while p <= self.to {
            out.push(p);
            if p == Period::MAX {
                break;
            }
            p = p.next();
        }
        out
    }

    pub fn contains(&self, p: Period) -> bool {
        self.from <= p && p <= self.to
    }
}

/// Whether another certificate may be issued, given how many were in the last
/// [`ISSUE_WINDOW_HOURS`].
pub fn may_issue(issued_in_window: i64) -> bool {
    issued_in_window < ISSUE_LIMIT
}

/// When a certificate issued at `issued_at` stops verifying.
pub fn expires_at(issued_at: DateTime<Utc>) -> DateTime<Utc> {
    issued_at + Duration::days(VALID_DAYS)
}

/// One insurance's cell of a month: the statuses of its rows (one per employer), each once, in
/// the order paid, pending, due, arrears. Empty: no row that month.
pub type Cell = Vec<ContributionStatus>;

const CELL_ORDER: [ContributionStatus; 4] = [
    ContributionStatus::Paid,
    ContributionStatus::Pending,
    ContributionStatus::Due,
    ContributionStatus::Arrears,
];

/// One month of the period, a cell per insurance in the order of [`InsuranceType::ALL`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthLine {
    pub period: Period,
    pub cells: Vec<Cell>,
}

/// An insurance's standing at the period's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// A row for the last month that is paid, pending or not yet due: insured and paying.
    Active,
    /// The last month is in arrears.
    Arrears,
    /// Rows in the period, but none for its last month: contributions stopped.
    Suspended,
    /// No row in the period.
    NotInsured,
}

impl Standing {
    pub fn word_zh(self) -> &'static str {
        match self {
            Standing::Active => "正常参保",
            Standing::Arrears => "欠费",
            Standing::Suspended => "暂停缴费",
            Standing::NotInsured => "未参保",
        }
    }
}

/// What a certificate says: derived from the person's month rows (all of them; those outside
/// the period are left out here).
#[derive(Debug, Clone, PartialEq)]
pub struct CertificateContent {
    pub kind: CertificateKind,
    pub period: CertificatePeriod,
    /// Every month of the period, oldest first.
    pub months: Vec<MonthLine>,
    /// Per insurance with a row in the period, in the order of [`InsuranceType::ALL`]: the
    /// statement's own summary ([`statement::summarize`]) over the period's rows, so a period
    /// covering every month gives the figures of `GET /v1/me/contributions/summary`.
    pub totals: Vec<InsuranceSummary>,
    /// Every insurance's standing at the period's end, in the order of [`InsuranceType::ALL`].
    pub standing: Vec<(InsuranceType, Standing)>,
}

/// The certificate's content for `kind` over `period`, from the person's month rows.
pub fn content(
    kind: CertificateKind,
    period: CertificatePeriod,
    rows: &[MonthRow],
) -> CertificateContent {
    let mine: Vec<MonthRow> = rows
        .iter()
        .filter(|r| period.contains(r.period))
        .copied()
        .collect();
    let months = period
        .months()
        .into_iter()
        .map(|p| MonthLine {
            period: p,
            cells: InsuranceType::ALL
                .iter()
                .map(|&i| cell(&mine, p, i))
                .collect(),
        })
        .collect();
    let standing = InsuranceType::ALL
        .iter()
        .map(|&i| (i, standing(&mine, period, i)))
        .collect();
    CertificateContent {
        kind,
        period,
        months,
        totals: statement::summarize(&mine),
        standing,
    }
}

fn cell(rows: &[MonthRow], p: Period, insurance: InsuranceType) -> Cell {
    CELL_ORDER
        .iter()
        .copied()
        .filter(|s| {
            rows.iter()
                .any(|r| r.period == p && r.insurance == insurance && r.status == *s)
        })
        .collect()
}

fn standing(rows: &[MonthRow], period: CertificatePeriod, insurance: InsuranceType) -> Standing {
    let of: Vec<&MonthRow> = rows.iter().filter(|r| r.insurance == insurance).collect();
    if of.is_empty() {
        return Standing::NotInsured;
    }
    let last: Cell = cell(rows, period.to, insurance);
    if last.is_empty() {
        Standing::Suspended
    } else if last.contains(&ContributionStatus::Arrears) {
        Standing::Arrears
    } else {
        Standing::Active
    }
}

/// A status as the certificate writes it.
pub fn status_word_zh(s: ContributionStatus) -> &'static str {
    match s {
        ContributionStatus::Paid => "已缴",
        ContributionStatus::Due => "待缴",
        ContributionStatus::Arrears => "欠缴",
        ContributionStatus::Pending => "待确认",
    }
}

/// A cell as the certificate writes it: its statuses joined by `+`, or `无` for no row.
pub fn cell_word_zh(cell: &[ContributionStatus]) -> String {
    if cell.is_empty() {
        return "无".to_owned();
    }
    cell.iter()
        .map(|s| status_word_zh(*s))
        .collect::<Vec<_>>()
        .join("+")
}

/// An insurance's name on the certificate.
pub fn insurance_word_zh(i: InsuranceType) -> &'static str {
    match i {
        InsuranceType::Pension => "养老保险",
        InsuranceType::Medical => "医疗保险",
        InsuranceType::Unemployment => "失业保险",
        InsuranceType::WorkInjury => "工伤保险",
        InsuranceType::Maternity => "生育保险",
    }
}

/// Fen as yuan with two decimals (`123456` → `1234.56`), for print.
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// What a verification answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Valid,
    Revoked,
    Expired,
    /// The hash the holder computed is not that of the PDF issued.
    HashMismatch,
}

impl Verdict {
    /// `None` when valid; else the reason's stable word.
    pub fn reason(self) -> Option<&'static str> {
        match self {
            Verdict::Valid => None,
            Verdict::Revoked => Some("revoked"),
            Verdict::Expired => Some("expired"),
            Verdict::HashMismatch => Some("sha256_mismatch"),
        }
    }
}

/// A certificate's verdict at `now`: revoked first (the owner's word outlasts everything),
/// then expired, then a holder's hash (hex, any case) that is not the issued PDF's.
pub fn verdict(
    revoked: bool,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
    stored_sha256: &str,
    presented_sha256: Option<&str>,
) -> Verdict {
    if revoked {
        Verdict::Revoked
    } else if now >= expires_at {
        Verdict::Expired
    } else if presented_sha256.is_some_and(|h| !h.trim().eq_ignore_ascii_case(stored_sha256)) {
        Verdict::HashMismatch
    } else {
        Verdict::Valid
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::money::Fen;

    fn p(s: &str) -> Period {
        Period::parse(s).unwrap()
    }

    fn row(period: &str, insurance: InsuranceType, status: ContributionStatus) -> MonthRow {
        MonthRow {
            period: p(period),
            insurance,
            status,
            employer: Fen(1600),
            employee: Fen(800),
        }
    }

    #[test]
    fn kinds_parse_as_their_serde_names() {
        for k in CertificateKind::ALL {
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(json, format!("\"{}\"", k.as_str()));
            assert_eq!(CertificateKind::parse(k.as_str()).unwrap(), k);
        }
        assert!(CertificateKind::parse("history").is_err());
    }

    #[test]
    fn a_period_is_ordered_not_in_the_future_and_at_most_forty_years() {
        let now = p("2026-12");
        assert_eq!(
            CertificatePeriod::new(p("2025-01"), p("2024-12"), now),
            Err(PeriodError::Reversed)
        );
        assert_eq!(
            CertificatePeriod::new(p("2026-01"), p("2027-01"), now),
            Err(PeriodError::Future)
        );
        // 1987-01..2026-12 is 480 months: allowed; one more is not.
        assert!(CertificatePeriod::new(p("1987-01"), p("2026-12"), now).is_ok());
        assert_eq!(
            CertificatePeriod::new(p("1986-12"), p("2026-12"), now),
            Err(PeriodError::TooLong)
        );
        let one = CertificatePeriod::new(p("2026-12"), p("2026-12"), now).unwrap();
        assert_eq!(one.months(), vec![p("2026-12")]);
        let year = CertificatePeriod::new(p("2025-11"), p("2026-02"), now).unwrap();
        assert_eq!(
            year.months(),
            vec![p("2025-11"), p("2025-12"), p("2026-01"), p("2026-02")]
        );
    }

    #[test]
    fn every_month_has_a_cell_per_insurance_and_totals_are_the_periods() {
        use ContributionStatus::*;
        use InsuranceType::*;
        let rows = vec![
            row("2024-12", Pension, Paid), // before the period: left out
            row("2025-01", Pension, Paid),
            row("2025-01", Medical, Paid),
            row("2025-02", Pension, Paid),
            // two employers in March, one paid, one in arrears
            row("2025-03", Pension, Paid),
            row("2025-03", Pension, Arrears),
            row("2025-04", Pension, Due),
        ];
        let period = CertificatePeriod::new(p("2025-01"), p("2025-04"), p("2026-12")).unwrap();
        let c = content(CertificateKind::ContributionHistory, period, &rows);
        assert_eq!(c.months.len(), 4);
        assert_eq!(c.months[0].cells[0], vec![Paid]);
        assert_eq!(c.months[0].cells[1], vec![Paid]);
        assert_eq!(c.months[1].cells[1], Vec::<ContributionStatus>::new());
        assert_eq!(c.months[2].cells[0], vec![Paid, Arrears]);
        assert_eq!(cell_word_zh(&c.months[2].cells[0]), "已缴+欠缴");
        assert_eq!(cell_word_zh(&c.months[1].cells[1]), "无");
        assert_eq!(cell_word_zh(&c.months[3].cells[0]), "待缴");
        // Pension: Jan, Feb, Mar paid = 3 months, 4 paid rows × 800 / 1600 (2024-12 is out).
        let pension = &c.totals[0];
        assert_eq!(pension.insurance, Pension);
        assert_eq!(pension.months_paid, 3);
        assert_eq!(pension.employee_total, Fen(2400));
        assert_eq!(pension.employer_total, Fen(4800));
        assert_eq!(pension.arrears_months, 1);
        assert_eq!(pension.arrears, Fen(2400));
        assert_eq!(pension.due_months, 1);
        assert_eq!(c.totals[1].insurance, Medical);
        assert_eq!(c.totals[1].months_paid, 1);
        assert_eq!(c.totals.len(), 2);
        assert_eq!(
            c.standing,
            vec![
                (Pension, Standing::Active),
                (Medical, Standing::Suspended),
                (Unemployment, Standing::NotInsured),
                (WorkInjury, Standing::NotInsured),
                (Maternity, Standing::NotInsured),
            ]
        );
        let march = CertificatePeriod::new(p("2025-03"), p("2025-03"), p("2026-12")).unwrap();
        let c = content(CertificateKind::InsuredStatus, march, &rows);
        assert_eq!(c.standing[0], (Pension, Standing::Arrears));
    }

    #[test]
    fn a_period_covering_every_month_gives_the_summarys_totals() {
        use ContributionStatus::*;
        use InsuranceType::*;
        let rows = vec![
            row("2020-01", Pension, Paid),
            row("2020-02", Pension, Arrears),
            row("2020-04", Pension, Paid), // February (in arrears) and March unpaid
            row("2020-04", Medical, Pending),
            row("2020-05", Unemployment, Due),
        ];
        let all = CertificatePeriod::new(p("2020-01"), p("2020-05"), p("2026-12")).unwrap();
        let c = content(CertificateKind::InsuredStatus, all, &rows);
        assert_eq!(c.totals, statement::summarize(&rows));
        assert_eq!(c.totals[0].longest_gap_months, 2);
        // A shorter period leaves the months outside it out of the totals.
        let spring = CertificatePeriod::new(p("2020-03"), p("2020-05"), p("2026-12")).unwrap();
        let c = content(CertificateKind::InsuredStatus, spring, &rows);
        assert_eq!(c.totals[0].months_paid, 1);
        assert_eq!(c.totals[0].arrears_months, 0);
        assert_eq!(c.standing[0], (Pension, Standing::Suspended));
        assert_eq!(c.standing[2], (Unemployment, Standing::Active));
        assert_eq!(Standing::Suspended.word_zh(), "暂停缴费");
    }

    #[test]
    fn yuan_prints_two_decimals() {
        assert_eq!(yuan(123456), "1234.56");
        assert_eq!(yuan(5), "0.05");
        assert_eq!(yuan(0), "0.00");
        assert_eq!(yuan(-150), "-1.50");
    }

    #[test]
    fn issuing_is_limited_per_window() {
        assert!(may_issue(0));
        assert!(may_issue(ISSUE_LIMIT - 1));
        assert!(!may_issue(ISSUE_LIMIT));
    }

    #[test]
    fn verdicts_put_revocation_before_expiry_before_the_hash() {
        let issued = DateTime::parse_from_rfc3339("2026-12-03T08:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let exp = expires_at(issued);
        assert_eq!(exp - issued, Duration::days(90));
        let now = issued + Duration::days(1);
        let sha = "ab".repeat(32);
        assert_eq!(verdict(false, exp, now, &sha, None), Verdict::Valid);
        assert_eq!(
            verdict(false, exp, now, &sha, Some(&sha.to_uppercase())),
            Verdict::Valid
        );
        assert_eq!(
            verdict(false, exp, now, &sha, Some(&"cd".repeat(32))),
            Verdict::HashMismatch
        );
        assert_eq!(verdict(false, exp, exp, &sha, None), Verdict::Expired);
        assert_eq!(verdict(true, exp, exp, &sha, Some("x")), Verdict::Revoked);
        assert_eq!(Verdict::HashMismatch.reason(), Some("sha256_mismatch"));
        assert_eq!(Verdict::Valid.reason(), None);
    }
}
