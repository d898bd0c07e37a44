//! A person's contribution statement: per insurance, which months are paid, what is owed, and
//! the gaps. Pure arithmetic over the monthly rows, so the summary always agrees with the list.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::insurance::InsuranceType;
use crate::money::Fen;
use crate::period::Period;

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
    /// after its due date is in arrears. Loads store `paid` or `due`; the calendar does the rest,
    /// so a month turns to arrears without anything being written.
    pub fn on(self, period: Period, today: NaiveDate) -> ContributionStatus {
        match self {
            ContributionStatus::Due if today > due_date(period) => ContributionStatus::Arrears,
            other => other,
        }
    }
}

/// The last day to pay a month's contributions without a late fee: the 15th of the following
/// month (the common regional rule; the late fee runs from the day after).
pub fn due_date(period: Period) -> NaiveDate {
    let next = period.next();
    NaiveDate::from_ymd_opt(next.year(), next.month(), 15).unwrap_or(NaiveDate::MAX)
}

/// Whole days a month is overdue on `today`: zero up to and including its due date.
pub fn days_overdue(period: Period, today: NaiveDate) -> u32 {
    let days = (today - due_date(period)).num_days();
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
                ContributionStatus::Due | ContributionStatus::Pending => {}
            }
        }
        let first = mine.iter().map(|r| r.period).min();
        let last = mine.iter().map(|r| r.period).max();
        let mut longest_gap = 0u32;
        let mut previous: Option<Period> = None;
        for p in paid.keys() {
            if let Some(prev) = previous {
                let gap = prev.months_between(*p) - 1;
                longest_gap = longest_gap.max(u32::try_from(gap.max(0)).unwrap_or(u32::MAX));
            }
            previous = Some(*p);
        }
        out.push(InsuranceSummary {
            insurance,
            months_paid: u32::try_from(paid.len()).unwrap_or(u32::MAX),
            first_period: first,
            last_period: last,
            employee_total: Fen(employee_total),
            employer_total: Fen(employer_total),
            arrears_months: u32::try_from(arrears_months.len()).unwrap_or(u32::MAX),
            arrears: Fen(arrears),
            longest_gap_months: longest_gap,
        });
    }
    out
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

/// One year of the personal pension account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountYear {
    pub year: i32,
    pub opening: Fen,
    pub credited: Fen,
    pub interest: Fen,
    pub closing: Fen,
}

/// The personal-account credit of one paid pension month: 8 % of its base.
pub fn pension_credit(base: Fen) -> Fen {
    base.apply_bp(crate::contribution::PERSONAL_ACCOUNT_RATE_BP)
        .unwrap_or(Fen::ZERO)
}

/// The personal pension account year by year, from the paid pension months (with their bases)
/// and the interest credited per year.
pub fn pension_account_years(
    rows: &[(MonthRow, Fen)],
    interest: &[(i32, Fen)],
) -> Vec<AccountYear> {
    let mut credits: BTreeMap<i32, i64> = BTreeMap::new();
    for (r, base) in rows {
        if r.insurance == InsuranceType::Pension && r.status == ContributionStatus::Paid {
            *credits.entry(r.period.year()).or_default() += pension_credit(*base).0;
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
) -> (Fen, Vec<(u32, Fen)>) {
    let opening = pension_account_years(rows, interest)
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
            *by_month.entry(r.period.month()).or_default() += pension_credit(*base).0;
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
        let years = pension_account_years(&rows, &interest);
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
        let (opening, credits) = interest_basis(&rows, &interest, 2025);
        assert_eq!(opening, Fen(161_000));
        assert_eq!(credits, vec![(1, Fen(80_000))]);
    }

    #[test]
    fn a_due_month_turns_to_arrears_after_the_15th_of_the_next_month() {
        let march = Period::parse("2024-03").unwrap();
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(due_date(march), day("2024-04-15"));
        let due = ContributionStatus::Due;
        assert_eq!(due.on(march, day("2024-03-31")), ContributionStatus::Due);
        assert_eq!(due.on(march, day("2024-04-15")), ContributionStatus::Due);
        assert_eq!(
            due.on(march, day("2024-04-16")),
            ContributionStatus::Arrears
        );
        // Paid and pending months stay what they are, however late.
        for s in [ContributionStatus::Paid, ContributionStatus::Pending] {
            assert_eq!(s.on(march, day("2030-01-01")), s);
        }
        // December's due date is in January of the next year.
        assert_eq!(
            due_date(Period::parse("2024-12").unwrap()),
            day("2025-01-15")
        );
        assert_eq!(days_overdue(march, day("2024-04-15")), 0);
        assert_eq!(days_overdue(march, day("2024-05-16")), 31);
        assert_eq!(days_overdue(march, day("2024-01-01")), 0);
    }
}
