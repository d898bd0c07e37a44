//! What a person may pay through the app (issue 17): their own flexible-employment months (this
//! month and the next two), their own unpaid months with the late fee to today, and the yearly
//! resident medical premium of themselves and their payees while its window is open.
//!
//! Amounts are always computed here, on the server, from the region's parameters and the
//! records: the client names payables by id and never sends money.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::contribution::late_fee;
use crate::error::ValueError;
use crate::insurance::InsuranceType;
use crate::money::Fen;
use crate::period::Period;
use crate::region::YearParameters;
use crate::statement::{days_overdue, due_date, ContributionStatus};

/// The kinds of payable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PayableKind {
    /// A flexible-employment month not yet late: this month and up to the next two.
    FlexibleMonth,
    /// One of the person's own months unpaid after its due date, with the late fee to today.
    ArrearsMonth,
    /// The resident medical premium of a year, for the person or a payee.
    ResidentMedicalYear,
}

string_enum!(PayableKind, allowed = "flexible_month, arrears_month, resident_medical_year", {
    FlexibleMonth => "flexible_month",
    ArrearsMonth => "arrears_month",
    ResidentMedicalYear => "resident_medical_year",
});

/// The insurances flexible employment pays month by month.
pub const FLEXIBLE_INSURANCES: [InsuranceType; 2] =
    [InsuranceType::Pension, InsuranceType::Medical];

/// How many months ahead of the current one a flexible-employment person may pay.
pub const MONTHS_AHEAD: i64 = 2;

/// Whose premium a resident payable is: the person's own, or a payee's (by the payee's id).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Whose {
    Own,
    Payee(String),
}

/// A payable's public id: `flexible_month:2026-12:pension`, `arrears_month:2026-09:medical`,
/// `resident_medical_year:2027:self` or `resident_medical_year:2027:{payee id}`. Stable while
/// the payable exists, so the phone can send it back.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum PayableId {
    Month {
        kind: PayableKind,
        period: Period,
        insurance: InsuranceType,
    },
    Resident {
        year: i32,
        whose: Whose,
    },
}

impl PayableId {
    pub fn parse(s: &str) -> Result<PayableId, ValueError> {
        const FORMAT: ValueError = ValueError::Format {
            expected: "a payable id from GET /v1/me/payables",
        };
        let mut parts = s.split(':');
        let kind = PayableKind::parse(parts.next().unwrap_or("")).map_err(|_| FORMAT)?;
        let (Some(a), Some(b), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(FORMAT);
        };
        match kind {
            PayableKind::FlexibleMonth | PayableKind::ArrearsMonth => Ok(PayableId::Month {
                kind,
                period: Period::parse(a).map_err(|_| FORMAT)?,
                insurance: InsuranceType::parse(b).map_err(|_| FORMAT)?,
            }),
            PayableKind::ResidentMedicalYear => {
                let year: i32 = a.parse().map_err(|_| FORMAT)?;
                if !(YearParameters::MIN_YEAR..=YearParameters::MAX_YEAR).contains(&year) {
                    return Err(FORMAT);
                }
                let whose = match b {
                    "self" => Whose::Own,
                    id if !id.is_empty()
                        && id.len() <= 64
                        && id.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-') =>
                    {
                        Whose::Payee(id.to_owned())
                    }
                    _ => return Err(FORMAT),
                };
                Ok(PayableId::Resident { year, whose })
            }
        }
    }

    pub fn kind(&self) -> PayableKind {
        match self {
            PayableId::Month { kind, .. } => *kind,
            PayableId::Resident { .. } => PayableKind::ResidentMedicalYear,
        }
    }
}

impl std::fmt::Display for PayableId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PayableId::Month {
                kind,
                period,
                insurance,
            } => write!(f, "{}:{period}:{}", kind.as_str(), insurance.as_str()),
            PayableId::Resident { year, whose } => match whose {
                Whose::Own => write!(f, "resident_medical_year:{year}:self"),
                Whose::Payee(id) => write!(f, "resident_medical_year:{year}:{id}"),
            },
        }
    }
}

/// One thing that can be paid, with its amounts as of today.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payable {
    pub id: PayableId,
    /// Who the payable covers (the registry's person id).
    pub covered_person: String,
    pub insurance: InsuranceType,
    /// The month, for month payables.
    pub period: Option<Period>,
    /// The year, for the resident premium.
    pub year: Option<i32>,
    /// The base a month is paid on (none for the resident premium).
    pub base: Option<Fen>,
    pub principal: Fen,
    pub late_fee: Fen,
    /// The part of the principal credited to the personal pension account.
    pub personal_account: Fen,
    pub due_date: NaiveDate,
}

impl Payable {
    pub fn kind(&self) -> PayableKind {
        self.id.kind()
    }

    /// Principal and late fee.
    pub fn amount(&self) -> Fen {
        Fen(self.principal.0.saturating_add(self.late_fee.0))
    }

    /// What makes "paid at most once" hold: the same obligation under any id (a flexible month
    /// that turned into arrears) has the same key.
    pub fn claim_key(&self) -> String {
        match (&self.period, self.year) {
            (Some(period), _) => format!(
                "month:{}:{period}:{}",
                self.covered_person,
                self.insurance.as_str()
            ),
            (None, year) => format!(
                "resident:{}:{}",
                self.covered_person,
                year.unwrap_or_default()
            ),
        }
    }
}

/// One of the person's own (flexible-employment, employer-less) months as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwnMonth {
    pub period: Period,
    pub insurance: InsuranceType,
    pub base: Fen,
    /// What the person owes for it (the recorded employee part).
    pub principal: Fen,
    /// As stored (`due`, `pending`, `paid`).
    pub status: ContributionStatus,
}

/// What the month payables of one person are computed from.
#[derive(Debug, Clone)]
pub struct MonthInputs<'a> {
    pub person_id: &'a str,
    /// The region's local date.
    pub today: NaiveDate,
    /// The region's due day (day of the next month).
    pub due_day: u8,
    /// Whether the person is in flexible employment now (only then are coming months payable).
    pub flexible: bool,
    /// Whether they are in the employees' medical insurance (职工医保): only then does flexible
    /// employment pay medical month by month; residents pay the yearly resident premium.
    pub employee_medical: bool,
    /// The region's yearly parameters.
    pub years: &'a [YearParameters],
    /// The bases the person chose, by year.
    pub chosen_bases: &'a BTreeMap<i32, Fen>,
    /// The person's own recorded months.
    pub own_months: &'a [OwnMonth],
}

/// The parameters of `year`, or of the latest year before it (a year's parameters are often
/// published late; the late fee rate and the flexible rates carry over until they are).
fn params_for(years: &[YearParameters], year: i32) -> Option<&YearParameters> {
    years
        .iter()
        .filter(|y| y.year() <= year)
        .max_by_key(|y| y.year())
}

/// The base a flexible-employment person pays on in `year`: the chosen one within the year's
/// floor and ceiling, or the floor.
pub fn flexible_base(params: &YearParameters, chosen: Option<Fen>) -> Fen {
    match chosen {
        Some(base) => params.contribution_base(base),
        None => params.base_floor(),
    }
}

fn flexible_rate(params: &YearParameters, insurance: InsuranceType) -> u16 {
    match insurance {
        InsuranceType::Pension => params.premiums().flexible_pension_bp,
        InsuranceType::Medical => params.premiums().flexible_medical_bp,
        _ => 0,
    }
}

fn personal_part(params: Option<&YearParameters>, insurance: InsuranceType, base: Fen) -> Fen {
    match (insurance, params) {
        (InsuranceType::Pension, Some(p)) => base
            .apply_bp(p.premiums().flexible_pension_personal_bp.into())
            .unwrap_or(Fen::ZERO),
        _ => Fen::ZERO,
    }
}

/// The person's month payables on `today`, oldest first: recorded months still owed (late ones
/// with the late fee per line, from the day after the due date to today), then, for flexible
/// employment, this month and the next two where nothing is recorded yet. Months recorded as
/// paid or pending are never payable; months owed by an employer never reach this function.
pub fn month_payables(i: &MonthInputs<'_>) -> Vec<Payable> {
    let mut out = Vec::new();
    let mut recorded: BTreeSet<(Period, InsuranceType)> = BTreeSet::new();
    for m in i.own_months {
        recorded.insert((m.period, m.insurance));
        if !matches!(
            m.status,
            ContributionStatus::Due | ContributionStatus::Arrears
        ) {
            continue;
        }
        let params = params_for(i.years, m.period.year());
        let overdue = m.status.on(m.period, i.today, i.due_day) == ContributionStatus::Arrears;
        let (kind, fee) = if overdue {
            let bp = params.map_or(5, |p| p.late_fee_bp_per_day());
            let days = days_overdue(m.period, i.today, i.due_day);
            let fee = late_fee(m.principal, days, bp).unwrap_or(Fen::ZERO);
            (PayableKind::ArrearsMonth, fee)
        } else {
            (PayableKind::FlexibleMonth, Fen::ZERO)
        };
        out.push(Payable {
            id: PayableId::Month {
                kind,
                period: m.period,
                insurance: m.insurance,
            },
            covered_person: i.person_id.to_owned(),
            insurance: m.insurance,
            period: Some(m.period),
            year: None,
            base: Some(m.base),
            principal: m.principal,
            late_fee: fee,
            personal_account: personal_part(params, m.insurance, m.base),
            due_date: due_date(m.period, i.due_day),
        });
    }
    if i.flexible {
        let current = Period::containing(i.today);
        for ahead in 0..=MONTHS_AHEAD {
            let Some(period) = current.add_months(ahead) else {
                continue;
            };
            let Some(params) = params_for(i.years, period.year()) else {
                continue;
            };
            let base = flexible_base(params, i.chosen_bases.get(&period.year()).copied());
            for insurance in FLEXIBLE_INSURANCES {
                if insurance == InsuranceType::Medical && !i.employee_medical {
                    continue;
                }
                if recorded.contains(&(period, insurance)) {
                    continue;
                }
                let rate = flexible_rate(params, insurance);
                let Some(principal) = base.apply_bp(rate.into()).filter(|p| p.0 > 0) else {
                    continue;
                };
                out.push(Payable {
                    id: PayableId::Month {
                        kind: PayableKind::FlexibleMonth,
                        period,
                        insurance,
                    },
                    covered_person: i.person_id.to_owned(),
                    insurance,
                    period: Some(period),
                    year: None,
                    base: Some(base),
                    principal,
                    late_fee: Fen::ZERO,
                    personal_account: personal_part(Some(params), insurance, base),
                    due_date: due_date(period, i.due_day),
                });
            }
        }
    }
    out.sort_by_key(|a| (a.period, a.insurance));
    out
}

/// Someone whose resident premium the person may pay: themselves or a payee.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResidentCandidate {
    pub whose: Whose,
    pub person_id: String,
    /// Only people insured as residents (城乡居民) pay the resident premium.
    pub resident: bool,
    /// Years already paid (or in payment) for them.
    pub settled_years: BTreeSet<i32>,
}

/// The resident premiums payable on `today`: for every year whose collection window is open, each
/// resident candidate not settled for it.
pub fn resident_payables(
    today: NaiveDate,
    years: &[YearParameters],
    candidates: &[ResidentCandidate],
) -> Vec<Payable> {
    let mut out = Vec::new();
    for y in years
        .iter()
        .filter(|y| y.premiums().resident_window_open(today))
    {
        let premium = y.premiums().resident_medical_premium;
        if premium.0 <= 0 {
            continue;
        }
        let closes = y
            .premiums()
            .resident_medical_window
            .map_or(today, |(_, closes)| closes);
        for c in candidates {
            if !c.resident || c.settled_years.contains(&y.year()) {
                continue;
            }
            out.push(Payable {
                id: PayableId::Resident {
                    year: y.year(),
                    whose: c.whose.clone(),
                },
                covered_person: c.person_id.clone(),
                insurance: InsuranceType::Medical,
                period: None,
                year: Some(y.year()),
                base: None,
                principal: premium,
                late_fee: Fen::ZERO,
                personal_account: Fen::ZERO,
                due_date: closes,
            });
        }
    }
    out
}

/// The sum of the payables' amounts; `None` on overflow.
pub fn total(payables: &[Payable]) -> Option<Fen> {
    payables.iter().try_fold(Fen::ZERO, |acc, p| {
        acc.checked_add(p.principal)?.checked_add(p.late_fee)
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::region::{Premiums, Rates, RegionCode};

    fn year(y: i32) -> YearParameters {
        // Average wage 8 000.00: floor 4 800.00, ceiling 24 000.00.
        YearParameters::new(
            RegionCode::parse("350100").unwrap(),
            y,
            Fen(800_000),
            60,
            300,
            5,
            Rates::mainland_default(),
        )
        .unwrap()
        .with_premiums(Premiums {
            resident_medical_window: Some((
                NaiveDate::from_ymd_opt(y - 1, 9, 1).unwrap(),
                NaiveDate::from_ymd_opt(y - 1, 12, 31).unwrap(),
            )),
            ..Premiums::default()
        })
        .unwrap()
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn p(s: &str) -> Period {
        Period::parse(s).unwrap()
    }

    #[test]
    fn ids_round_trip_and_refuse_anything_else() {
        for s in [
            "flexible_month:2026-12:pension",
            "arrears_month:2026-09:medical",
            "resident_medical_year:2027:self",
            "resident_medical_year:2027:0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
        ] {
            assert_eq!(PayableId::parse(s).unwrap().to_string(), s);
        }
        for bad in [
            "",
            "flexible_month",
            "flexible_month:2026-13:pension",
            "flexible_month:2026-12:dental",
            "arrears_month:2026-09:medical:x",
            "resident_medical_year:abc:self",
            "resident_medical_year:2027:",
            "resident_medical_year:2027:a/b",
            "lunch:2026-12:pension",
        ] {
            assert!(PayableId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn flexible_months_are_this_month_and_the_next_two_on_the_chosen_base() {
        let years = [year(2026), year(2027)];
        let bases = BTreeMap::from([(2026, Fen(600_000))]);
        let i = MonthInputs {
            person_id: "p1",
            today: d(2026, 11, 20),
            due_day: 15,
            flexible: true,
            employee_medical: true,
            years: &years,
            chosen_bases: &bases,
            own_months: &[],
        };
        let got = month_payables(&i);
        let ids: Vec<String> = got.iter().map(|p| p.id.to_string()).collect();
        assert_eq!(
            ids,
            [
                "flexible_month:2026-11:pension",
                "flexible_month:2026-11:medical",
                "flexible_month:2026-12:pension",
                "flexible_month:2026-12:medical",
                "flexible_month:2027-01:pension",
                "flexible_month:2027-01:medical",
            ]
        );
        // 2026 on the chosen 6 000.00: pension 20 % = 1 200.00, 8 % of it personal; medical 8 %.
        assert_eq!(got[0].principal, Fen(120_000));
        assert_eq!(got[0].personal_account, Fen(48_000));
        assert_eq!(got[1].principal, Fen(48_000));
        assert_eq!(got[1].personal_account, Fen::ZERO);
        // 2027 has no chosen base: the floor, 4 800.00 → 960.00.
        assert_eq!(got[4].base, Some(Fen(480_000)));
        assert_eq!(got[4].principal, Fen(96_000));
        // Due on the 15th of the next month.
        assert_eq!(got[0].due_date, d(2026, 12, 15));
        assert_eq!(
            total(&got),
            Some(Fen((120_000 + 48_000) * 2 + 96_000 + 38_400))
        );
    }

    #[test]
    fn a_flexible_worker_insured_as_a_resident_pays_pension_only() {
        let years = [year(2026)];
        let got = month_payables(&MonthInputs {
            person_id: "p1",
            today: d(2026, 11, 20),
            due_day: 15,
            flexible: true,
            employee_medical: false,
            years: &years,
            chosen_bases: &BTreeMap::new(),
            own_months: &[],
        });
        assert_eq!(got.len(), 3);
        assert!(got.iter().all(|p| p.insurance == InsuranceType::Pension));
    }

    #[test]
    fn a_base_outside_the_bounds_is_clamped() {
        let y = year(2026);
        assert_eq!(flexible_base(&y, Some(Fen(1))), Fen(480_000));
        assert_eq!(flexible_base(&y, Some(Fen(99_000_000))), Fen(2_400_000));
        assert_eq!(flexible_base(&y, None), Fen(480_000));
    }

    #[test]
    fn recorded_months_decide_paid_pending_due_and_arrears_with_the_late_fee() {
        let years = [year(2026)];
        let own = [
            OwnMonth {
                period: p("2026-08"),
                insurance: InsuranceType::Pension,
                base: Fen(500_000),
                principal: Fen(100_000),
                status: ContributionStatus::Due,
            },
            OwnMonth {
                period: p("2026-09"),
                insurance: InsuranceType::Pension,
                base: Fen(500_000),
                principal: Fen(100_000),
                status: ContributionStatus::Paid,
            },
            OwnMonth {
                period: p("2026-11"),
                insurance: InsuranceType::Pension,
                base: Fen(500_000),
                principal: Fen(100_000),
                status: ContributionStatus::Pending,
            },
            OwnMonth {
                period: p("2026-10"),
                insurance: InsuranceType::Medical,
                base: Fen(500_000),
                principal: Fen(40_000),
                status: ContributionStatus::Due,
            },
        ];
        let i = MonthInputs {
            person_id: "p1",
            today: d(2026, 11, 10),
            due_day: 15,
            flexible: false,
            employee_medical: true,
            years: &years,
            chosen_bases: &BTreeMap::new(),
            own_months: &own,
        };
        let got = month_payables(&i);
        assert_eq!(got.len(), 2, "{got:?}");
        // 2026-08 was due 2026-09-15: 56 days late on 2026-11-10; 1 000.00 × 0.05 % × 56 = 28.00.
        assert_eq!(got[0].id.to_string(), "arrears_month:2026-08:pension");
        assert_eq!(got[0].late_fee, Fen(2_800));
        assert_eq!(got[0].amount(), Fen(102_800));
        assert_eq!(got[0].personal_account, Fen(40_000));
        // 2026-10 is due on 2026-11-15: still a flexible month, no fee.
        assert_eq!(got[1].id.to_string(), "flexible_month:2026-10:medical");
        assert_eq!(got[1].late_fee, Fen::ZERO);
        // Not in flexible employment: no coming months.
        let november = p("2026-11");
        assert!(got.iter().all(|x| x.period < Some(november)));
    }

    #[test]
    fn an_obligation_keeps_its_claim_key_when_it_turns_into_arrears() {
        let own = |status| {
            [OwnMonth {
                period: p("2026-10"),
                insurance: InsuranceType::Pension,
                base: Fen(500_000),
                principal: Fen(100_000),
                status,
            }]
        };
        let years = [year(2026)];
        let rows = own(ContributionStatus::Due);
        let on = |today| {
            month_payables(&MonthInputs {
                person_id: "p1",
                today,
                due_day: 15,
                flexible: false,
                employee_medical: true,
                years: &years,
                chosen_bases: &BTreeMap::new(),
                own_months: &rows,
            })
        };
        let before = on(d(2026, 11, 15));
        let after = on(d(2026, 11, 16));
        assert_eq!(before[0].kind(), PayableKind::FlexibleMonth);
        assert_eq!(after[0].kind(), PayableKind::ArrearsMonth);
        assert_eq!(after[0].late_fee, Fen(50)); // one day: 1 000.00 × 0.05 % = 0.50
        assert_eq!(before[0].claim_key(), after[0].claim_key());
    }

    #[test]
    fn resident_premiums_while_the_window_is_open_for_residents_not_settled() {
        let years = [year(2026), year(2027)];
        let candidates = [
            ResidentCandidate {
                whose: Whose::Own,
                person_id: "me".into(),
                resident: true,
                settled_years: BTreeSet::new(),
            },
            ResidentCandidate {
                whose: Whose::Payee("pa".into()),
                person_id: "mother".into(),
                resident: true,
                settled_years: BTreeSet::from([2027]),
            },
            ResidentCandidate {
                whose: Whose::Payee("pb".into()),
                person_id: "child".into(),
                resident: true,
                settled_years: BTreeSet::new(),
            },
            ResidentCandidate {
                whose: Whose::Payee("pc".into()),
                person_id: "employee".into(),
                resident: false,
                settled_years: BTreeSet::new(),
            },
        ];
        let got = resident_payables(d(2026, 10, 1), &years, &candidates);
        let ids: Vec<String> = got.iter().map(|p| p.id.to_string()).collect();
        assert_eq!(
            ids,
            [
                "resident_medical_year:2027:self",
                "resident_medical_year:2027:pb"
            ]
        );
        assert_eq!(got[0].principal, Fen(40_000));
        assert_eq!(got[0].due_date, d(2026, 12, 31));
        assert_eq!(got[1].claim_key(), "resident:child:2027");
        // Before and after the window: nothing.
        assert!(resident_payables(d(2026, 8, 31), &years, &candidates).is_empty());
        assert!(resident_payables(d(2027, 1, 1), &years, &candidates).is_empty());
    }
}
