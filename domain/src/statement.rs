//! A person's contribution statement: per insurance, which months are paid, what is owed, and
//! the gaps. Pure arithmetic over the monthly rows, so the summary always agrees with the list.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::insurance::InsuranceType;
use crate::money::Fen;
use crate::period::Period;
use crate::region::AccountShares;

/// Where a month's contribution stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContributionStatus {
    Paid,
    Due,
    Arrears,
    /// Declared but not reconciled yet: never counted as paid, never shown as zero.
    Pending,
}

impl ContributionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ContributionStatus::Paid => "paid",
            ContributionStatus::Due => "due",
            ContributionStatus::Arrears => "arrears",
            ContributionStatus::Pending => "pending",
        }
    }

    pub fn parse(s: &str) -> Option<ContributionStatus> {
        match s {
            "paid" => Some(ContributionStatus::Paid),
            "due" => Some(ContributionStatus::Due),
            "arrears" => Some(ContributionStatus::Arrears),
            "pending" => Some(ContributionStatus::Pending),
            _ => None,
        }
    }

    /// What a stored status means on `today` (the region's local date): a month still unpaid
    /// after its due date (the region's `due_day` of the next month) is in arrears. Loads store
    /// `paid` or `due`; the calendar does the rest, so a month turns to arrears without anything
    /// being written.
    pub fn on(self, period: Period, today: NaiveDate, due_day: u8) -> ContributionStatus {
        match self {
            ContributionStatus::Due if today > due_date(period, due_day) => {
                ContributionStatus::Arrears
            }
            other => other,
        }
    }
}

/// The last day to pay a month's contributions without a late fee: day `due_day` of the
/// following month (a regional rule, see [`crate::region::RegionRules`]; commonly the 15th). The
/// late fee runs from the day after. A day past the month's end means its last day.
pub fn due_date(period: Period, due_day: u8) -> NaiveDate {
    let next = period.next();
    let last = next.last_day();
    NaiveDate::from_ymd_opt(next.year(), next.month(), u32::from(due_day.max(1)))
        .unwrap_or(last)
        .min(last)
}

/// The newest month that is in arrears on `today` if still unpaid: a stored `due` month `p` is
/// in arrears exactly when `p <= arrears_through(today, due_day)` (what [`ContributionStatus::on`]
/// decides row by row, as one bound a database query can compare against). Due dates grow with
/// the month, so the months past their due date are all those up to this one.
pub fn arrears_through(today: NaiveDate, due_day: u8) -> Period {
    let last_month = Period::containing(today).prev();
    if today > due_date(last_month, due_day) {
        last_month
    } else {
        last_month.prev()
    }
}

/// Whole days a month is overdue on `today`: zero up to and including its due date. The days
/// [`crate::contribution::late_fee`] charges for.
pub fn days_overdue(period: Period, today: NaiveDate, due_day: u8) -> u32 {
    let days = (today - due_date(period, due_day)).num_days();
    u32::try_from(days.max(0)).unwrap_or(u32::MAX)
}

/// One month of one insurance (a person may have several rows for a month: two employers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonthRow {
    pub period: Period,
    pub insurance: InsuranceType,
    pub status: ContributionStatus,
    pub employer: Fen,
    pub employee: Fen,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsuranceSummary {
    pub insurance: InsuranceType,
    /// Distinct months with a paid row.
    pub months_paid: u32,
    pub first_period: Option<Period>,
    pub last_period: Option<Period>,
    /// Paid amounts only.
    pub employee_total: Fen,
    pub employer_total: Fen,
    /// Distinct months in arrears, and what they owe (both sides).
    pub arrears_months: u32,
    pub arrears: Fen,
    /// Distinct months with a row still due (not yet past its due date).
    pub due_months: u32,
    /// Distinct months with a row declared but not yet reconciled.
    pub pending_months: u32,
    /// The longest run of months without a paid row between the first and the last paid month.
    pub longest_gap_months: u32,
}

/// Summarises the rows per insurance, in the order of `InsuranceType::ALL`, skipping insurances
/// with no rows at all.
pub fn summarize(rows: &[MonthRow]) -> Vec<InsuranceSummary> {
    let mut out = Vec::new();
    for insurance in InsuranceType::ALL {
        let mine: Vec<&MonthRow> = rows.iter().filter(|r| r.insurance == insurance).collect();
        if mine.is_empty() {
            continue;
        }
        let mut paid: BTreeMap<Period, ()> = BTreeMap::new();
        let mut arrears_months: BTreeMap<Period, ()> = BTreeMap::new();
        let mut due_months: BTreeMap<Period, ()> = BTreeMap::new();
        let mut pending_months: BTreeMap<Period, ()> = BTreeMap::new();
        let (mut employee_total, mut employer_total, mut arrears) = (0i64, 0i64, 0i64);
        for r in &mine {
            match r.status {
                ContributionStatus::Paid => {
                    paid.insert(r.period, ());
                    employee_total = employee_total.saturating_add(r.employee.0);
                    employer_total = employer_total.saturating_add(r.employer.0);
                }
                ContributionStatus::Arrears => {
                    arrears_months.insert(r.period, ());
                    arrears = arrears
                        .saturating_add(r.employee.0)
                        .saturating_add(r.employer.0);
                }
                ContributionStatus::Due => {
                    due_months.insert(r.period, ());
                }
                ContributionStatus::Pending => {
                    pending_months.insert(r.period, ());
                }
            }
        }
        let first = mine.iter().map(|r| r.period).min();
        let last = mine.iter().map(|r| r.period).max();
        let longest_gap = longest_gap(paid.keys().copied());
        out.push(InsuranceSummary {
            insurance,
            months_paid: u32::try_from(paid.len()).unwrap_or(u32::MAX),
            first_period: first,
            last_period: last,
            employee_total: Fen(employee_total),
            employer_total: Fen(employer_total),
            arrears_months: u32::try_from(arrears_months.len()).unwrap_or(u32::MAX),
            arrears: Fen(arrears),
            due_months: u32::try_from(due_months.len()).unwrap_or(u32::MAX),
            pending_months: u32::try_from(pending_months.len()).unwrap_or(u32::MAX),
            longest_gap_months: longest_gap,
        });
    }
    out
}

/// The longest run of months without a paid month between two paid ones, over paid months in
/// ascending order, each once.
pub fn longest_gap(paid: impl IntoIterator<Item = Period>) -> u32 {
    let mut longest = 0u32;
    let mut previous: Option<Period> = None;
    for p in paid {
        if let Some(prev) = previous {
            let gap = prev.months_between(p) - 1;
            longest = longest.max(u32::try_from(gap.max(0)).unwrap_or(u32::MAX));
        }
        previous = Some(p);
    }
    longest
}

/// One insurance's rows of one status on the day (arrears apart from months still due), added
/// up: distinct months, the sums of both sides, the first and the last month. What a database
/// gives cheaply with one `GROUP BY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusTotals {
    pub insurance: InsuranceType,
    pub status: ContributionStatus,
    /// Distinct months (a month with two employers' rows counts once).
    pub months: u32,
    pub employee: Fen,
    pub employer: Fen,
    pub first: Period,
    pub last: Period,
}

impl StatusTotals {
    /// Whether the months run without a hole from the first to the last: then there is no gap
    /// between them, and the months need not be read one by one to know it.
    pub fn contiguous(&self) -> bool {
        i64::from(self.months) == self.first.months_between(self.last) + 1
    }
}

/// The same summary as [`summarize`], from status totals instead of rows. The longest gap needs
/// the paid months themselves only when they have a hole: `paid_months(insurance)` is asked for
/// them then (ascending, each once), and only then.
pub fn summarize_totals<E>(
    totals: &[StatusTotals],
    mut paid_months: impl FnMut(InsuranceType) -> Result<Vec<Period>, E>,
) -> Result<Vec<InsuranceSummary>, E> {
    let mut out = Vec::new();
    for insurance in InsuranceType::ALL {
        let mine: Vec<&StatusTotals> = totals.iter().filter(|t| t.insurance == insurance).collect();
        if mine.is_empty() {
            continue;
        }
        let of = |status: ContributionStatus| mine.iter().find(|t| t.status == status).copied();
        let months = |status| of(status).map_or(0, |t| t.months);
        let paid = of(ContributionStatus::Paid);
        let longest_gap_months = match paid {
            Some(p) if !p.contiguous() => longest_gap(paid_months(insurance)?),
            _ => 0,
        };
        let arrears = of(ContributionStatus::Arrears);
        out.push(InsuranceSummary {
            insurance,
            months_paid: months(ContributionStatus::Paid),
            first_period: mine.iter().map(|t| t.first).min(),
            last_period: mine.iter().map(|t| t.last).max(),
            employee_total: paid.map_or(Fen(0), |t| t.employee),
            employer_total: paid.map_or(Fen(0), |t| t.employer),
            arrears_months: months(ContributionStatus::Arrears),
            arrears: arrears.map_or(Fen(0), |t| Fen(t.employee.0.saturating_add(t.employer.0))),
            due_months: months(ContributionStatus::Due),
            pending_months: months(ContributionStatus::Pending),
            longest_gap_months,
        });
    }
    Ok(out)
}

/// Months as years, cut (not rounded) to two decimals: 422 months → 35.16 years.
pub fn years_of_months(months: u32) -> f64 {
    f64::from(u32::try_from(u64::from(months) * 100 / 12).unwrap_or(u32::MAX)) / 100.0
}

/// Months that count towards the pension: distinct months with a paid pension row.
pub fn pension_months(rows: &[MonthRow]) -> u32 {
    let months: std::collections::BTreeSet<Period> = rows
        .iter()
        .filter(|r| r.insurance == InsuranceType::Pension && r.status == ContributionStatus::Paid)
        .map(|r| r.period)
        .collect();
    u32::try_from(months.len()).unwrap_or(u32::MAX)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn row(
        p: &str,
        insurance: InsuranceType,
        status: ContributionStatus,
        employer: i64,
        employee: i64,
    ) -> MonthRow {
        MonthRow {
            period: Period::parse(p).unwrap(),
            insurance,
            status,
            employer: Fen(employer),
            employee: Fen(employee),
        }
    }

    #[test]
    fn summarises_paid_arrears_and_gaps() {
        use ContributionStatus::*;
        use InsuranceType::*;
        let rows = vec![
            row("2024-01", Pension, Paid, 1600, 800),
            row("2024-02", Pension, Paid, 1600, 800),
            // 2024-03 … 2024-05 missing: a gap of three months.
            row("2024-06", Pension, Paid, 1600, 800),
            row("2024-07", Pension, Arrears, 1600, 800),
            row("2024-08", Pension, Due, 1600, 800),
            row("2024-08", Pension, Pending, 100, 50),
            row("2024-01", Medical, Paid, 800, 200),
        ];
        let s = summarize(&rows);
        assert_eq!(s.len(), 2);
        let p = &s[0];
        assert_eq!(p.insurance, Pension);
        assert_eq!(p.months_paid, 3);
        assert_eq!(p.first_period, Some(Period::parse("2024-01").unwrap()));
        assert_eq!(p.last_period, Some(Period::parse("2024-08").unwrap()));
        assert_eq!(p.employee_total, Fen(2400));
        assert_eq!(p.employer_total, Fen(4800));
        assert_eq!(p.arrears_months, 1);
        assert_eq!(p.arrears, Fen(2400));
        assert_eq!(p.longest_gap_months, 3);
        assert_eq!(s[1].insurance, Medical);
        assert_eq!(pension_months(&rows), 3);
        assert_eq!(years_of_months(422), 35.16);
        assert_eq!(years_of_months(180), 15.0);
    }

    /// The totals a database's `GROUP BY insurance, status` gives over `rows`.
    fn totals_of(rows: &[MonthRow]) -> Vec<StatusTotals> {
        let mut groups: BTreeMap<(usize, &str), Vec<&MonthRow>> = BTreeMap::new();
        for r in rows {
            let i = InsuranceType::ALL
                .iter()
                .position(|x| *x == r.insurance)
                .unwrap();
            groups.entry((i, r.status.as_str())).or_default().push(r);
        }
        groups
            .into_values()
            .map(|g| {
                let months: std::collections::BTreeSet<Period> =
                    g.iter().map(|r| r.period).collect();
                StatusTotals {
                    insurance: g[0].insurance,
                    status: g[0].status,
                    months: u32::try_from(months.len()).unwrap(),
                    employee: Fen(g.iter().map(|r| r.employee.0).sum()),
                    employer: Fen(g.iter().map(|r| r.employer.0).sum()),
                    first: *months.first().unwrap(),
                    last: *months.last().unwrap(),
                }
            })
            .collect()
    }

    #[test]
    fn totals_summarise_as_the_rows_do_and_read_paid_months_only_for_a_hole() {
        use ContributionStatus::*;
        use InsuranceType::*;
        let cases: Vec<(Vec<MonthRow>, Vec<InsuranceType>)> = vec![
            // No rows.
            (vec![], vec![]),
            // Ten years without a hole, two employers paying the same month once (counted once).
            (
                (0..120)
                    .map(|m| {
                        row(
                            &Period::parse("2016-12")
                                .unwrap()
                                .add_months(m)
                                .unwrap()
                                .to_string(),
                            Pension,
                            Paid,
                            1600,
                            800,
                        )
                    })
                    .chain([row("2020-03", Pension, Paid, 500, 250)])
                    .collect(),
                vec![],
            ),
            // A hole of three months, arrears, a month due and pending at once, another insurance.
            (
                vec![
                    row("2024-01", Pension, Paid, 1600, 800),
                    row("2024-02", Pension, Paid, 1600, 800),
                    row("2024-06", Pension, Paid, 1600, 800),
                    row("2024-07", Pension, Arrears, 1600, 800),
                    row("2024-07", Pension, Arrears, 300, 100),
                    row("2024-08", Pension, Due, 1600, 800),
                    row("2024-08", Pension, Pending, 100, 50),
                    row("2024-01", Medical, Paid, 800, 200),
                    row("2024-02", Medical, Due, 800, 200),
                ],
                vec![Pension],
            ),
            // A duplicate month and a hole that together span as many rows as months: the
            // distinct count still shows the hole.
            (
                vec![
                    row("2024-01", Unemployment, Paid, 10, 10),
                    row("2024-01", Unemployment, Paid, 10, 10),
                    row("2024-03", Unemployment, Paid, 10, 10),
                ],
                vec![Unemployment],
            ),
            // Nothing paid: no gap to look for.
            (
                vec![
                    row("2025-01", Maternity, Arrears, 10, 0),
                    row("2025-05", Maternity, Arrears, 10, 0),
                ],
                vec![],
            ),
        ];
        for (rows, holes) in cases {
            let mut asked = Vec::new();
            let from_totals = summarize_totals::<()>(&totals_of(&rows), |insurance| {
                asked.push(insurance);
                let paid: std::collections::BTreeSet<Period> = rows
                    .iter()
                    .filter(|r| r.insurance == insurance && r.status == Paid)
                    .map(|r| r.period)
                    .collect();
                Ok(paid.into_iter().collect())
            })
            .unwrap();
            assert_eq!(from_totals, summarize(&rows), "{rows:?}");
            assert_eq!(asked, holes, "{rows:?}");
        }
    }

    #[test]
    fn arrears_through_agrees_with_the_status_of_every_month() {
        // Every day of two years (a leap February included), every due day a region may set
        // (and 31, past the end of short months): the bound says arrears exactly when `on` does.
        let mut today = NaiveDate::from_ymd_opt(2023, 12, 1).unwrap();
        let end = NaiveDate::from_ymd_opt(2025, 12, 31).unwrap();
        while today <= end {
            for due_day in [1u8, 10, 15, 28, 29, 30, 31] {
                let bound = arrears_through(today, due_day);
                let this = Period::containing(today);
                for back in 0..4 {
                    let p = this.add_months(-back).unwrap();
                    let by_row = ContributionStatus::Due.on(p, today, due_day)
                        == ContributionStatus::Arrears;
                    assert_eq!(by_row, p <= bound, "{today} due day {due_day} month {p}");
                }
            }
            today = today.succ_opt().unwrap();
        }
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        // October is due on 15 November: still due that day, in arrears the next.
        assert_eq!(arrears_through(d("2026-11-15"), 15).to_string(), "2026-09");
        assert_eq!(arrears_through(d("2026-11-16"), 15).to_string(), "2026-10");
    }

    #[test]
    fn counts_due_and_pending_months() {
        use ContributionStatus::*;
        let rows = vec![
            row("2024-08", InsuranceType::Pension, Due, 1000, 500),
            row("2024-08", InsuranceType::Pension, Due, 600, 300),
            row("2024-09", InsuranceType::Pension, Pending, 1000, 500),
            row("2024-10", InsuranceType::Pension, Due, 1000, 500),
        ];
        let s = summarize(&rows);
        assert_eq!((s[0].due_months, s[0].pending_months), (2, 1));
        assert_eq!((s[0].months_paid, s[0].arrears_months), (0, 0));
    }

    #[test]
    fn two_employers_in_one_month_count_once_and_sum() {
        use ContributionStatus::*;
        let rows = vec![
            row("2024-01", InsuranceType::Pension, Paid, 1000, 500),
            row("2024-01", InsuranceType::Pension, Paid, 600, 300),
        ];
        let s = summarize(&rows);
        assert_eq!(s[0].months_paid, 1);
        assert_eq!(s[0].employee_total, Fen(800));
        assert_eq!(pension_months(&rows), 1);
        assert_eq!(s[0].longest_gap_months, 0);
    }
}

/// The medical personal account as the person sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MedicalBalance {
    /// Everything credited minus everything `spent` from it.
    pub balance: Fen,
    /// What the latest paid month credited (all its rows).
    pub monthly_credit: Fen,
}

/// The medical account: each paid medical month credits the employee's contribution to it, and
/// spending at hospitals and pharmacies (`spent`, the total paid from the account) draws on it.
pub fn medical_account(rows: &[MonthRow], spent: Fen) -> MedicalBalance {
    let paid = || {
        rows.iter().filter(|r| {
            r.insurance == InsuranceType::Medical && r.status == ContributionStatus::Paid
        })
    };
    let credited = paid().fold(0i64, |sum, r| sum.saturating_add(r.employee.0));
    let monthly_credit = paid().map(|r| r.period).max().map_or(0, |latest| {
        paid()
            .filter(|r| r.period == latest)
            .fold(0i64, |sum, r| sum.saturating_add(r.employee.0))
    });
    MedicalBalance {
        balance: Fen(credited.saturating_sub(spent.0)),
        monthly_credit: Fen(monthly_credit),
    }
}

/// One year of the personal pension account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountYear {
    pub year: i32,
    pub opening: Fen,
    pub credited: Fen,
    pub interest: Fen,
    pub closing: Fen,
}

/// The personal-account credit of one paid pension month: the year's share of its base (8 %
/// from 2006, 11 % before by default; see [`AccountShares`]).
pub fn pension_credit(base: Fen, share_bp: u32) -> Fen {
    base.apply_bp(share_bp).unwrap_or(Fen::ZERO)
}

/// The personal pension account year by year, from the paid pension months (with their bases,
/// credited at each year's share) and the interest credited per year.
pub fn pension_account_years(
    rows: &[(MonthRow, Fen)],
    interest: &[(i32, Fen)],
    shares: &AccountShares,
) -> Vec<AccountYear> {
    let mut credits: BTreeMap<i32, i64> = BTreeMap::new();
    for (r, base) in rows {
        if r.insurance == InsuranceType::Pension && r.status == ContributionStatus::Paid {
            let year = r.period.year();
            *credits.entry(year).or_default() += pension_credit(*base, shares.for_year(year)).0;
        }
    }
    for (year, _) in interest {
        credits.entry(*year).or_default();
    }
    let mut opening = 0i64;
    let mut out = Vec::new();
    for (year, credited) in credits {
        let interest = interest
            .iter()
            .filter(|(y, _)| *y == year)
            .map(|(_, i)| i.0)
            .sum::<i64>();
        let closing = opening.saturating_add(credited).saturating_add(interest);
        out.push(AccountYear {
            year,
            opening: Fen(opening),
            credited: Fen(credited),
            interest: Fen(interest),
            closing: Fen(closing),
        });
        opening = closing;
    }
    out
}

/// What a year's interest is computed on: the balance at the start of `year` and that year's
/// credits by month.
pub fn interest_basis(
    rows: &[(MonthRow, Fen)],
    interest: &[(i32, Fen)],
    year: i32,
    shares: &AccountShares,
) -> (Fen, Vec<(u32, Fen)>) {
    let opening = pension_account_years(rows, interest, shares)
        .iter()
        .rfind(|y| y.year < year)
        .map(|y| y.closing)
        .unwrap_or(Fen::ZERO);
    let mut by_month: BTreeMap<u32, i64> = BTreeMap::new();
    for (r, base) in rows {
        if r.insurance == InsuranceType::Pension
            && r.status == ContributionStatus::Paid
            && r.period.year() == year
        {
            *by_month.entry(r.period.month()).or_default() +=
                pension_credit(*base, shares.for_year(year)).0;
        }
    }
    (
        opening,
        by_month.into_iter().map(|(m, f)| (m, Fen(f))).collect(),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod account_tests {
    use super::*;

    #[test]
    fn the_account_rolls_credits_and_interest_forward() {
        let paid = |p: &str, base: i64| {
            (
                MonthRow {
                    period: Period::parse(p).unwrap(),
                    insurance: InsuranceType::Pension,
                    status: ContributionStatus::Paid,
                    employer: Fen(0),
                    employee: Fen(0),
                },
                Fen(base),
            )
        };
        // 2024: two months of 10,000.00 → credits 800.00 each; 2025: one month.
        let rows = vec![
            paid("2024-11", 1_000_000),
            paid("2024-12", 1_000_000),
            paid("2025-01", 1_000_000),
        ];
        let interest = vec![(2024, Fen(1_000))];
        let years = pension_account_years(&rows, &interest, &AccountShares::default());
        assert_eq!(years.len(), 2);
        assert_eq!(
            years[0],
            AccountYear {
                year: 2024,
                opening: Fen(0),
                credited: Fen(160_000),
                interest: Fen(1_000),
                closing: Fen(161_000)
            }
        );
        assert_eq!(years[1].opening, Fen(161_000));
        assert_eq!(years[1].closing, Fen(241_000));
        let (opening, credits) = interest_basis(&rows, &interest, 2025, &AccountShares::default());
        assert_eq!(opening, Fen(161_000));
        assert_eq!(credits, vec![(1, Fen(80_000))]);
    }

    #[test]
    fn before_2006_the_account_took_11_percent() {
        // 120 months at base 3 000.00 in 1996..=2005: 11 % = 330.00 a month, 39 600.00 in all;
        // at 8 % it would be 240.00 a month, 28 800.00: 10 800.00 less principal.
        let rows: Vec<_> = (1996..=2005)
            .flat_map(|y| (1..=12).map(move |m| (y, m)))
            .map(|(y, m)| {
                (
                    MonthRow {
                        period: Period::new(y, m).unwrap(),
                        insurance: InsuranceType::Pension,
                        status: ContributionStatus::Paid,
                        employer: Fen(0),
                        employee: Fen(0),
                    },
                    Fen(300_000),
                )
            })
            .collect();
        let years = pension_account_years(&rows, &[], &AccountShares::default());
        assert_eq!(years.len(), 10);
        assert_eq!(years[0].credited, Fen(396_000));
        assert_eq!(years[9].closing, Fen(3_960_000));
        assert_eq!(pension_credit(Fen(300_000), 800), Fen(24_000));
        let at_8: i64 = 120 * 24_000;
        assert_eq!(years[9].closing.0 - at_8, 1_080_000);
        // From 2006 the default is 8 %: one month of 2006 at 3 000.00 credits 240.00.
        let mut later = rows.clone();
        later.push((
            MonthRow {
                period: Period::new(2006, 1).unwrap(),
                ..rows[0].0
            },
            Fen(300_000),
        ));
        let years = pension_account_years(&later, &[], &AccountShares::default());
        assert_eq!(years[10].credited, Fen(24_000));
        // A region that set 8 % for 2005 is credited 8 % that year.
        let region = crate::region::RegionCode::parse("350100").unwrap();
        let y2005 = crate::region::YearParameters::new(
            region,
            2005,
            Fen(150_000),
            60,
            300,
            5,
            crate::region::Rates::mainland_default(),
        )
        .unwrap();
        assert_eq!(y2005.personal_account_bp(), 1100);
        let y2005 = y2005.with_personal_account_bp(Some(800)).unwrap();
        let shares = AccountShares::of(&[y2005]);
        assert_eq!(shares.for_year(2005), 800);
        assert_eq!(shares.for_year(2004), 1100);
        let (_, credits) = interest_basis(&rows, &[], 2005, &shares);
        assert_eq!(credits[0], (1, Fen(24_000)));
    }

    #[test]
    fn a_due_month_turns_to_arrears_after_the_regions_due_day() {
        let march = Period::parse("2024-03").unwrap();
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(due_date(march, 15), day("2024-04-15"));
        let due = ContributionStatus::Due;
        assert_eq!(
            due.on(march, day("2024-03-31"), 15),
            ContributionStatus::Due
        );
        assert_eq!(
            due.on(march, day("2024-04-15"), 15),
            ContributionStatus::Due
        );
        assert_eq!(
            due.on(march, day("2024-04-16"), 15),
            ContributionStatus::Arrears
        );
        // A region whose deadline is the 25th: the 16th is still in time, the 26th is not.
        assert_eq!(due_date(march, 25), day("2024-04-25"));
        assert_eq!(
            due.on(march, day("2024-04-16"), 25),
            ContributionStatus::Due
        );
        assert_eq!(
            due.on(march, day("2024-04-26"), 25),
            ContributionStatus::Arrears
        );
        // Paid and pending months stay what they are, however late.
        for s in [ContributionStatus::Paid, ContributionStatus::Pending] {
            assert_eq!(s.on(march, day("2030-01-01"), 15), s);
        }
        // December's due date is in January of the next year; a day beyond February's end is
        // its last day.
        assert_eq!(
            due_date(Period::parse("2024-12").unwrap(), 15),
            day("2025-01-15")
        );
        assert_eq!(
            due_date(Period::parse("2025-01").unwrap(), 31),
            day("2025-02-28")
        );
        assert_eq!(days_overdue(march, day("2024-04-15"), 15), 0);
        assert_eq!(days_overdue(march, day("2024-05-16"), 15), 31);
        assert_eq!(days_overdue(march, day("2024-01-01"), 15), 0);
        // The late fee follows the region's deadline: 10 000.00 owed on 2024-05-16, 5 bp a day,
        // is 31 days late with the 15th (155.00) but 21 days with the 25th (105.00).
        let fee = |due_day| {
            crate::contribution::late_fee(
                Fen(1_000_000),
                days_overdue(march, day("2024-05-16"), due_day),
                5,
            )
        };
        assert_eq!(fee(15), Some(Fen(15_500)));
        assert_eq!(fee(25), Some(Fen(10_500)));
    }

    #[test]
    fn the_medical_account() {
        let medical = |p: &str, status, employee| MonthRow {
            period: Period::parse(p).unwrap(),
            insurance: InsuranceType::Medical,
            status,
            employer: Fen(0),
            employee: Fen(employee),
        };
        use ContributionStatus::*;
        // Credited 200.00 + 200.00 + (150.00 + 50.00, two employers) = 600.00; arrears and other
        // insurances do not count; 120.50 spent → 479.50; the latest month credits 200.00.
        let rows = vec![
            medical("2024-01", Paid, 20_000),
            medical("2024-02", Paid, 20_000),
            medical("2024-03", Paid, 15_000),
            medical("2024-03", Paid, 5_000),
            medical("2024-04", Arrears, 20_000),
            MonthRow {
                insurance: InsuranceType::Pension,
                ..medical("2024-05", Paid, 80_000)
            },
        ];
        assert_eq!(
            medical_account(&rows, Fen(12_050)),
            MedicalBalance {
                balance: Fen(47_950),
                monthly_credit: Fen(20_000)
            }
        );
        assert_eq!(
            medical_account(&[], Fen(0)),
            MedicalBalance {
                balance: Fen(0),
                monthly_credit: Fen(0)
            }
        );
    }
}
