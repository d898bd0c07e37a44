//! Demo data for the embedded default. (The synthetic population for benchmarks is in
//! `crate::synthetic`, behind the `synthetic` feature.)
//!
//! Every figure here is illustrative: the regions' average wages follow a smooth growth curve,
//! not the published statistics, and every person is fictional (their ID numbers are generated
//! with valid check characters but belong to nobody).

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Utc};
use diesel::Connection;
use shebao_domain::contribution::{compute_contribution, compute_flexible_pension};
use shebao_domain::employer::{CreditCode, EmployerName};
use shebao_domain::identity::{NationalId, PersonName};
use shebao_domain::insurance::InsuranceType;
use shebao_domain::money::Fen;
use shebao_domain::period::Period;
use shebao_domain::person::{CardNumber, EmploymentStatus, MedicalCategory};
use shebao_domain::region::{
    Premiums, Rates, RegionCode, RegionName, TimeZoneName, YearParameters,
};
use shebao_security::PiiVault;
use uuid::Uuid;

use crate::applications::effects;
use crate::db::{DbConnection, StoreError};
use crate::records::contributions::{self, ContributionStatus, NewContribution};
use crate::records::imports::{
    BenefitKind, BenefitPayments, BenefitRow, ImportContext, Importer, MedicalKind, MedicalRow,
    MedicalTransactions, BATCH_ROWS,
};
use crate::registry::employers::{self, NewEmployer};
use crate::registry::persons::{self, NewPerson};
use crate::registry::regions::{self, Region};

/// The first year of demo history and of regional parameters.
pub const FIRST_YEAR: i32 = 2014;

pub(crate) struct RegionSpec {
    pub code: &'static str,
    pub name: &'static str,
    /// The average monthly wage (yuan) that sets the 2014 bounds; grows by `growth_bp` a year.
    wage_2014_yuan: i64,
    growth_bp: i64,
    /// The monthly unemployment benefit (yuan), a service parameter.
    unemployment_benefit_yuan: i64,
    /// The minimum living standard (低保标准, yuan a person and month).
    minimum_living_yuan: i64,
}

pub(crate) const REGIONS: &[RegionSpec] = &[
    RegionSpec {
        code: "440300",
        name: "深圳市",
        wage_2014_yuan: 6_054,
        growth_bp: 650,
        unemployment_benefit_yuan: 2_124,
        minimum_living_yuan: 1_365,
    },
    RegionSpec {
        code: "110000",
        name: "北京市",
        wage_2014_yuan: 6_463,
        growth_bp: 700,
        unemployment_benefit_yuan: 2_086,
        minimum_living_yuan: 1_450,
    },
];

pub(crate) fn parse<T, E: std::fmt::Display>(what: &str, r: Result<T, E>) -> Result<T, StoreError> {
    r.map_err(|e| StoreError::Config(format!("seed data {what}: {e}")))
}

/// A region's demo parameters for `year`, on the average wage published for `wage_year` (the
/// same year, except for next year's premiums, collected before its wage is published).
fn region_params_on(
    spec: &RegionSpec,
    year: i32,
    wage_year: i32,
) -> Result<YearParameters, StoreError> {
    let mut wage = spec.wage_2014_yuan * 100;
    for _ in FIRST_YEAR..wage_year {
        wage = wage * (10_000 + spec.growth_bp) / 10_000;
    }
    // Published averages are whole yuan.
    let wage = Fen(wage / 100 * 100);
    parse(
        "region year",
        YearParameters::new(
            parse("region", RegionCode::parse(spec.code))?,
            year,
            wage,
            60,
            300,
            5,
            Rates::mainland_default(),
        )
        .and_then(|p| p.with_premiums(demo_premiums(year)).map_err(|(_, e)| e)),
    )
}

fn region_params(spec: &RegionSpec, year: i32) -> Result<YearParameters, StoreError> {
    region_params_on(spec, year, year)
}

/// Realistic premiums: flexible pension 20 % (8 % of the base to the personal account),
/// flexible medical 8 %, and the resident medical premium (individual part: 350.00 yuan up to
/// 2024, 380.00 for 2025, 400.00 from 2026), collected from September to December of the year
/// before.
fn demo_premiums(year: i32) -> Premiums {
    let premium = match year {
        ..=2024 => 35_000,
        2025 => 38_000,
        _ => 40_000,
    };
    Premiums {
        resident_medical_premium: Fen(premium),
        resident_medical_window: NaiveDate::from_ymd_opt(year - 1, 9, 1)
            .zip(NaiveDate::from_ymd_opt(year - 1, 12, 31)),
        ..Premiums::default()
    }
}

/// Next year's parameters (on this year's average wage) where missing: the resident premium
/// for next year is collected this autumn.
pub fn ensure_next_year(
    conn: &mut DbConnection,
    this_year: i32,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    for spec in REGIONS {
        let code = parse("region", RegionCode::parse(spec.code))?;
        if regions::year(conn, &code, this_year + 1)?.is_none() {
            let params = region_params_on(spec, this_year + 1, this_year)?;
            regions::upsert_year(conn, &params, now)?;
        }
    }
    Ok(())
}

/// Creates the demo regions and their parameters from 2014 to `last_year`, where missing.
pub fn ensure_regions(
    conn: &mut DbConnection,
    last_year: i32,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    for spec in REGIONS {
        let region = Region {
            code: parse("region", RegionCode::parse(spec.code))?,
            name: parse("region", RegionName::parse(spec.name))?,
            time_zone: parse("region", TimeZoneName::parse("Asia/Shanghai"))?,
        };
        if regions::get(conn, &region.code)?.is_none() {
            regions::upsert(conn, &region, now)?;
        }
        for year in FIRST_YEAR..=last_year {
            if regions::year(conn, &region.code, year)?.is_none() {
                regions::upsert_year(conn, &region_params(spec, year)?, now)?;
            }
        }
        // The monthly unemployment benefit (illustrative), from the first demo year on.
        if effects::service_parameters(conn, spec.code, last_year)?.is_none() {
            effects::set_service_parameters(
                conn,
                spec.code,
                FIRST_YEAR,
                spec.unemployment_benefit_yuan * 100,
                now,
            )?;
        }
        // Social-assistance thresholds (illustrative): the local standard, a low-income line of
        // 1.5 times it, and the amounts.
        if effects::assistance_thresholds(conn, spec.code, last_year)?.is_none() {
            let standard = spec.minimum_living_yuan * 100;
            let row = effects::AssistanceRow {
                year: FIRST_YEAR,
                minimum_living_monthly_fen: standard,
                low_income_bp: 15_000,
                assets_per_person_limit_fen: standard * 24,
                medical_costs_threshold_fen: 2_000_000,
                temporary_costs_threshold_fen: 500_000,
                extreme_poverty_monthly_fen: standard * 13 / 10,
                medical_assistance_monthly_fen: 50_000,
                temporary_assistance_once_fen: standard * 3,
            };
            effects::set_assistance_thresholds(conn, spec.code, &row, now)?;
        }
    }
    Ok(())
}

/// Whether the database holds no registry data yet (the demo loads only then).
pub fn is_empty(conn: &mut DbConnection) -> Result<bool, StoreError> {
    use diesel::prelude::*;
    let regions: i64 = crate::schema::regions::table.count().get_result(conn)?;
    Ok(regions == 0)
}

/// The demo person a newcomer binds to in the README's walk-through.
#[derive(Debug, Clone)]
pub struct DemoPerson {
    pub national_id: String,
    pub name: String,
    pub card_number: String,
}

#[derive(Debug, Clone)]
pub struct DemoSummary {
    pub regions: usize,
    pub employers: usize,
    pub persons: usize,
    pub contributions: usize,
    pub medical_transactions: usize,
    pub benefit_payments: usize,
    pub notices: usize,
    /// Designated hospitals, pharmacies and clinics, and appointment slots (issue 18).
    pub institutions: usize,
    pub slots: usize,
    pub demo_person: DemoPerson,
}

struct PersonSpec {
    name: &'static str,
    region: &'static str,
    birth: (i32, u32, u32),
    sequence: u16,
    card: &'static str,
    /// Index into the demo employers; `None` = flexible employment.
    employer: Option<usize>,
    start: (i32, u32),
    /// Declared monthly wage (yuan) in the start year, growing 5 % a year.
    wage_yuan: i64,
    medical: MedicalCategory,
    status: EmploymentStatus,
    /// Months (inclusive range) left unpaid: arrears.
    arrears: Option<((i32, u32), (i32, u32))>,
    /// The last month of contributions.
    last: Last,
    /// Whether last month is left unpaid too (besides the current month, always due).
    missed_last_month: bool,
}

/// Where a demo person's contribution history ends.
#[derive(Clone, Copy)]
enum Last {
    /// The current month (due).
    Current,
    /// A fixed month: retired since the month after.
    Month(i32, u32),
    /// This many months before the current one: out of work since.
    MonthsAgo(i64),
}

const EMPLOYERS: &[(&str, &str, &str)] = &[
    // Characters 9 to 17 are an organisation code: its last character is its GB 11714 check.
    ("深圳市南山科技有限公司", "440300", "MA5F0000X"),
    ("深圳市福田贸易有限公司", "440300", "MA5F00018"),
    ("北京朝阳物流有限公司", "110000", "MA01C0003"),
];

const PEOPLE: &[PersonSpec] = &[
    PersonSpec {
        name: "张伟",
        region: "440300",
        birth: (1986, 3, 12),
        sequence: 27,
        card: "A44030000001",
        employer: Some(0),
        start: (2014, 1),
        wage_yuan: 9_000,
        medical: MedicalCategory::Employee,
        status: EmploymentStatus::Employed,
        arrears: None,
        last: Last::Current,
        missed_last_month: false,
    },
    PersonSpec {
        name: "李娜",
        region: "440300",
        birth: (1990, 7, 1),
        sequence: 42,
        card: "A44030000002",
        employer: Some(1),
        start: (2014, 1),
        wage_yuan: 5_200,
        medical: MedicalCategory::Employee,
        status: EmploymentStatus::Employed,
        arrears: Some(((2023, 4), (2023, 6))),
        last: Last::Current,
        missed_last_month: false,
    },
    PersonSpec {
        name: "王芳",
        region: "440300",
        birth: (1979, 11, 23),
        sequence: 108,
        card: "A44030000003",
        employer: None,
        start: (2014, 1),
        wage_yuan: 6_000,
        medical: MedicalCategory::Resident,
        status: EmploymentStatus::Flexible,
        arrears: None,
        last: Last::Current,
        missed_last_month: true,
    },
    PersonSpec {
        name: "刘洋",
        region: "440300",
        birth: (1995, 2, 14),
        sequence: 315,
        card: "A44030000004",
        employer: Some(0),
        start: (2016, 7),
        wage_yuan: 7_500,
        medical: MedicalCategory::Employee,
        status: EmploymentStatus::Employed,
        arrears: None,
        last: Last::Current,
        missed_last_month: false,
    },
    PersonSpec {
        name: "陈静",
        region: "440300",
        birth: (1972, 5, 30),
        sequence: 66,
        card: "A44030000005",
        employer: Some(1),
        start: (2014, 1),
        wage_yuan: 4_000,
        medical: MedicalCategory::Employee,
        status: EmploymentStatus::Employed,
        arrears: None,
        last: Last::Current,
        missed_last_month: false,
    },
    PersonSpec {
        name: "杨帆",
        region: "440300",
        birth: (1984, 9, 9),
        sequence: 1,
        card: "A44030000006",
        employer: Some(0),
        start: (2014, 1),
        wage_yuan: 32_000,
        medical: MedicalCategory::Employee,
        status: EmploymentStatus::Employed,
        arrears: None,
        last: Last::Current,
        missed_last_month: false,
    },
    PersonSpec {
        name: "赵磊",
        region: "110000",
        birth: (1981, 12, 2),
        sequence: 233,
        card: "A11000000007",
        employer: Some(2),
        start: (2014, 1),
        wage_yuan: 11_000,
        medical: MedicalCategory::Employee,
        status: EmploymentStatus::Employed,
        arrears: None,
        last: Last::Current,
        missed_last_month: false,
    },
    PersonSpec {
        name: "黄敏",
        region: "110000",
        birth: (1988, 4, 18),
        sequence: 88,
        card: "A11000000008",
        employer: Some(2),
        start: (2015, 3),
        wage_yuan: 8_800,
        medical: MedicalCategory::Employee,
        status: EmploymentStatus::Employed,
        arrears: None,
        last: Last::Current,
        missed_last_month: false,
    },
    PersonSpec {
        name: "周杰",
        region: "110000",
        birth: (1969, 8, 8),
        sequence: 9,
        card: "A11000000009",
        employer: Some(2),
        start: (2014, 1),
        wage_yuan: 6_500,
        medical: MedicalCategory::Employee,
        status: EmploymentStatus::Employed,
        arrears: None,
        last: Last::Current,
        missed_last_month: false,
    },
    PersonSpec {
        name: "吴秀英",
        region: "440300",
        birth: (1976, 1, 5),
        sequence: 124,
        card: "A44030000010",
        employer: Some(1),
        start: (2014, 1),
        wage_yuan: 3_600,
        medical: MedicalCategory::Employee,
        status: EmploymentStatus::Employed,
        arrears: None,
        last: Last::Current,
        missed_last_month: false,
    },
    // Retired in March 2018 at 60: draws a pension (see `pension_payments`).
    PersonSpec {
        name: "孙建国",
        region: "110000",
        birth: (1958, 3, 15),
        sequence: 41,
        card: "A11000000011",
        employer: Some(2),
        start: (2014, 1),
        wage_yuan: 7_200,
        medical: MedicalCategory::Employee,
        status: EmploymentStatus::Retired,
        arrears: None,
        last: Last::Month(2018, 2),
        missed_last_month: false,
    },
    // Out of work for the last months: draws unemployment benefit (see `unemployment_payments`).
    PersonSpec {
        name: "郑涛",
        region: "110000",
        birth: (1991, 6, 20),
        sequence: 73,
        card: "A11000000012",
        employer: Some(2),
        start: (2015, 9),
        wage_yuan: 6_800,
        medical: MedicalCategory::Employee,
        status: EmploymentStatus::Unemployed,
        arrears: None,
        last: Last::MonthsAgo(UNEMPLOYED_MONTHS + 1),
        missed_last_month: false,
    },
];

pub(crate) fn date(y: i32, m: u32, d: u32) -> Result<NaiveDate, StoreError> {
    NaiveDate::from_ymd_opt(y, m, d)
        .ok_or_else(|| StoreError::Config(format!("seed date {y}-{m}-{d}")))
}

fn period(y: i32, m: u32) -> Result<Period, StoreError> {
    parse("period", Period::new(y, m))
}

/// Loads the demo: two regions with parameters since 2014, three employers and twelve persons
/// with monthly history from (at the latest) 2016 — to the current month, or until one retired
/// in 2018 and another lost their job — a year of medical spending each, the retiree's pension
/// and the other's unemployment benefit. One transaction.
pub fn demo(
    conn: &mut DbConnection,
    vault: &PiiVault,
    now: DateTime<Utc>,
) -> Result<DemoSummary, StoreError> {
    conn.transaction(|conn| demo_in_tx(conn, vault, now))
}

fn demo_in_tx(
    conn: &mut DbConnection,
    vault: &PiiVault,
    now: DateTime<Utc>,
) -> Result<DemoSummary, StoreError> {
    let ts = now.naive_utc();
    ensure_regions(conn, now.year(), ts)?;
    ensure_next_year(conn, now.year(), ts)?;

    let mut employer_ids = Vec::new();
    for (name, region, org) in EMPLOYERS {
        let code = parse(
            "credit code",
            CreditCode::from_first17(&format!("91{region}{org}")),
        )?;
        let employer = NewEmployer {
            name: parse("employer", EmployerName::parse(name))?,
            credit_code: code,
            region: parse("region", RegionCode::parse(region))?,
        };
        let id = match employers::insert(conn, &employer, Uuid::now_v7(), ts)? {
            Ok(e) => e.id,
            Err(_) => employers::find_by_credit_code(conn, &employer.credit_code)?
                .map(|e| e.id)
                .ok_or(StoreError::NotFound)?,
        };
        employer_ids.push(id);
    }

    let current = Period::containing(now.date_naive());
    let mut persons_added = 0;
    let mut rows = Vec::new();
    let mut demo_person = None;
    let mut persons_loaded = Vec::new();
    for spec in PEOPLE {
        let (y, m, d) = spec.birth;
        let region = parse("region", RegionCode::parse(spec.region))?;
        let national_id = parse(
            "national id",
            NationalId::from_parts(spec.region, date(y, m, d)?, spec.sequence),
        )?;
        let new = NewPerson {
            national_id: national_id.clone(),
            name: parse("name", PersonName::parse(spec.name))?,
            region: region.clone(),
            card_number: parse("card", CardNumber::parse(spec.card))?,
            medical_category: spec.medical,
            employment_status: spec.status,
        };
        let person = match persons::insert(conn, vault, &new, ts)? {
            Ok(p) => p,
            Err(_) => continue, // already there: the demo never duplicates
        };
        persons_added += 1;
        if demo_person.is_none() {
            demo_person = Some(DemoPerson {
                national_id: national_id.expose().to_owned(),
                name: spec.name.to_owned(),
                card_number: spec.card.to_owned(),
            });
        }
        let params = regions::years(conn, &region)?;
        let employer = spec.employer.and_then(|i| employer_ids.get(i).copied());
        let last = match spec.last {
            Last::Current => current,
            Last::Month(y, m) => period(y, m)?,
            Last::MonthsAgo(n) => months_before(current, n)?,
        };
        persons_loaded.push((national_id.clone(), spec));
        let mut p = period(spec.start.0, spec.start.1)?;
        while p <= last {
            let Some(year) = params.iter().find(|y| y.year() == p.year()) else {
                break;
            };
            let years_in = i64::from(p.year() - spec.start.0);
            let mut wage = spec.wage_yuan * 100;
            for _ in 0..years_in {
                wage = wage * 105 / 100;
            }
            let in_arrears = spec.arrears.is_some_and(|(from, to)| {
                period(from.0, from.1).is_ok_and(|f| f <= p)
                    && period(to.0, to.1).is_ok_and(|t| p <= t)
            });
            let missed = spec.missed_last_month && p == current.prev();
            let (status, paid_at) = if p == current || missed {
                (ContributionStatus::Due, None)
            } else if in_arrears {
                (ContributionStatus::Arrears, None)
            } else {
                let next = p.next();
                (
                    ContributionStatus::Paid,
                    Some(
                        date(next.year(), next.month(), 15)?
                            .and_hms_opt(2, 0, 0)
                            .unwrap_or_default(),
                    ),
                )
            };
            let insurances: &[InsuranceType] = if employer.is_some() {
                &InsuranceType::ALL
            } else {
                &[InsuranceType::Pension]
            };
            for &insurance in insurances {
                let amounts = match employer {
                    Some(_) => compute_contribution(year, insurance, Fen(wage)),
                    None => compute_flexible_pension(year, Fen(wage)),
                }
                .ok_or_else(|| StoreError::Config("seed contribution overflow".into()))?;
                rows.push(NewContribution {
                    person_id: person.id,
                    employer_id: employer,
                    period: p,
                    insurance,
                    declared_wage_fen: wage,
                    amounts,
                    status,
                    paid_at,
                });
            }
            p = p.next();
        }
    }
    for chunk in rows.chunks(1000) {
        contributions::insert_many(conn, chunk, ts)?;
    }
    let demo_person =
        demo_person.ok_or_else(|| StoreError::Config("the demo data is already loaded".into()))?;

    // Spending and benefits go through the staff imports' own loaders, so they are stored
    // exactly as an import would store them.
    let mut medical = Vec::new();
    let mut benefits = Vec::new();
    for (i, (national_id, spec)) in persons_loaded.iter().enumerate() {
        medical.extend(medical_year(i, national_id, spec, current)?);
        match spec.status {
            EmploymentStatus::Retired => {
                benefits.extend(pension_payments(national_id, spec, current)?)
            }
            EmploymentStatus::Unemployed => {
                benefits.extend(unemployment_payments(national_id, spec, current)?)
            }
            _ => {}
        }
    }
    let (medical_transactions, benefit_payments) = (medical.len(), benefits.len());
    let mut ctx = ImportContext::new(vault.clone());
    load::<MedicalTransactions>(conn, &mut ctx, medical, ts)?;
    load::<BenefitPayments>(conn, &mut ctx, benefits, ts)?;
    let notices = demo_notices(conn, now)?;
    let (institutions, slots) = demo_institutions(conn, vault, &mut ctx, &persons_loaded, now)?;
    Ok(DemoSummary {
        regions: REGIONS.len(),
        employers: EMPLOYERS.len(),
        persons: persons_added,
        contributions: rows.len(),
        medical_transactions,
        benefit_payments,
        notices,
        institutions,
        slots,
        demo_person,
    })
}

/// Writes demo rows through an importer; any rejection is a mistake in the demo data.
fn load<I: Importer>(
    conn: &mut DbConnection,
    ctx: &mut ImportContext,
    rows: Vec<I::Row>,
    ts: NaiveDateTime,
) -> Result<(), StoreError> {
    let numbered: Vec<(u64, I::Row)> = (1..).zip(rows).collect();
    for batch in numbered.chunks(BATCH_ROWS) {
        let outcome = I::apply(conn, ctx, batch, ts)?;
        if let Some(r) = outcome.rejected.first() {
            return Err(StoreError::Config(format!(
                "seed data {}: row {} rejected: {}",
                I::ACTION,
                r.line,
                r.reason.code()
            )));
        }
    }
    Ok(())
}

fn months_before(p: Period, n: i64) -> Result<Period, StoreError> {
    p.add_months(-n)
        .ok_or_else(|| StoreError::Config("seed period out of range".into()))
}

fn instant(p: Period, day: u32, hour: u32, minute: u32) -> Result<NaiveDateTime, StoreError> {
    date(p.year(), p.month(), day)?
        .and_hms_opt(hour, minute, 0)
        .ok_or_else(|| StoreError::Config("seed time".into()))
}

/// The region's demo pharmacy and hospital: (code, name).
fn institutions(region: &str) -> ((&'static str, &'static str), (&'static str, &'static str)) {
    if region == "110000" {
        (
            ("P110105001", "金象大药房（朝阳店）"),
            ("H110105001", "北京市朝阳医院"),
        )
    } else {
        (
            ("P440305001", "老百姓大药房（南山店）"),
            ("H440303001", "深圳市人民医院"),
        )
    }
}

/// Twelve months of medical spending before the current month: a pharmacy purchase or an
/// outpatient visit every month, taking turns, and for some an inpatient stay. The personal
/// account pays only for those with an employee account who are still in work; the pooled fund
/// pays half of an outpatient bill and 85 % of an inpatient one above the 1,300 yuan deductible;
/// the person pays the rest. Figures are illustrative.
fn medical_year(
    i: usize,
    national_id: &NationalId,
    spec: &PersonSpec,
    current: Period,
) -> Result<Vec<MedicalRow>, StoreError> {
    let has_account = spec.medical == MedicalCategory::Employee
        && matches!(
            spec.status,
            EmploymentStatus::Employed | EmploymentStatus::Flexible
        );
    let (pharmacy, hospital) = institutions(spec.region);
    let salt = i64::try_from(i).unwrap_or(0);
    let mut rows = Vec::new();
    for back in 1..=12_i64 {
        let p = months_before(current, back)?;
        let day = u32::try_from(3 + (salt + back) % 20).unwrap_or(3);
        let minute = u32::try_from(salt % 60).unwrap_or(0);
        let mut push = |kind: MedicalKind,
                        (code, name): (&str, &str),
                        hour: u32,
                        total: i64,
                        account: i64,
                        fund: i64| {
            let tag = match kind {
                MedicalKind::Pharmacy => "P",
                MedicalKind::Outpatient => "O",
                _ => "I",
            };
            rows.push(MedicalRow {
                external_id: format!("DEMO-MED-{}-{}-{tag}", spec.card, p),
                national_id: national_id.clone(),
                occurred_at: instant(p, day, hour, minute)?,
                institution_code: code.to_owned(),
                institution_name: name.to_owned(),
                kind,
                total_fen: total,
                account_paid_fen: account,
                fund_paid_fen: fund,
                self_paid_fen: total - account - fund,
            });
            Ok::<_, StoreError>(())
        };
        if (salt + back) % 2 == 0 {
            let total = 8_000 + (salt * 37 + back * 53) % 20 * 1_150;
            let account = if has_account { total } else { 0 };
            push(MedicalKind::Pharmacy, pharmacy, 3, total, account, 0)?;
        }
        if (salt + back) % 2 == 1 {
            let total = 25_000 + (salt * 13 + back * 29) % 10 * 3_700;
            let fund = total / 2;
            let account = if has_account {
                (total - fund) * 6 / 10
            } else {
                0
            };
            push(MedicalKind::Outpatient, hospital, 1, total, account, fund)?;
        }
        if back == 5 && i.is_multiple_of(3) {
            let total = 1_860_000 + salt * 10_000;
            let fund = (total - 130_000) * 85 / 100;
            let account = if has_account { 60_000 } else { 0 };
            push(MedicalKind::Inpatient, hospital, 6, total, account, fund)?;
        }
    }
    Ok(rows)
}

/// The retired person's monthly pension (3,200 yuan in 2020, raised by 73 yuan a year), for the
/// 18 months before the current one, paid on the 10th. Each year's rise is decided mid-year:
/// the July payment carries the new amount plus the rise for January to June (the adjustment).
fn pension_payments(
    national_id: &NationalId,
    spec: &PersonSpec,
    current: Period,
) -> Result<Vec<BenefitRow>, StoreError> {
    let monthly = |year: i32| 320_000 + 7_300 * i64::from(year - 2020);
    let mut rows = Vec::new();
    for back in (1..=18).rev() {
        let p = months_before(current, back)?;
        let (amount, adjustment) = match p.month() {
            1..=6 => (monthly(p.year() - 1), None),
            7 => {
                let rise = monthly(p.year()) - monthly(p.year() - 1);
                let reason = format!(
                    "{} 年基本养老金调整：每月增加 {}.{:02} 元，含 1–6 月补发",
                    p.year(),
                    rise / 100,
                    rise % 100
                );
                (monthly(p.year()) + 6 * rise, Some((reason, 7 * rise)))
            }
            _ => (monthly(p.year()), None),
        };
        rows.push(BenefitRow {
            external_id: format!("DEMO-PEN-{}-{p}", spec.card),
            national_id: national_id.clone(),
            kind: BenefitKind::Pension,
            period: p,
            amount_fen: amount,
            paid_at: instant(p, 10, 1, 0)?,
            adjustment,
        });
    }
    Ok(rows)
}

/// Months of unemployment benefit drawn by the unemployed demo person, up to last month.
const UNEMPLOYED_MONTHS: i64 = 5;

/// The unemployed person's benefit (2,086 yuan a month), for each month since the job ended,
/// paid on the 20th.
fn unemployment_payments(
    national_id: &NationalId,
    spec: &PersonSpec,
    current: Period,
) -> Result<Vec<BenefitRow>, StoreError> {
    let mut rows = Vec::new();
    for back in (1..=UNEMPLOYED_MONTHS).rev() {
        let p = months_before(current, back)?;
        rows.push(BenefitRow {
            external_id: format!("DEMO-UNE-{}-{p}", spec.card),
            national_id: national_id.clone(),
            kind: BenefitKind::Unemployment,
            period: p,
            amount_fen: 208_600,
            paid_at: instant(p, 20, 1, 0)?,
            adjustment: None,
        });
    }
    Ok(rows)
}

// ---------------------------------------------------------------------------------------------
// Notices (issue 18)

/// A demo notice: kind, title, body, link, rule.
struct NoticeSpec {
    kind: shebao_domain::notices::NoticeKind,
    title: &'static str,
    body: &'static str,
    link: Option<&'static str>,
    audience: fn() -> Result<shebao_domain::notices::AudienceParts, StoreError>,
}

fn regions_of(codes: &[&str]) -> Result<Option<Vec<RegionCode>>, StoreError> {
    codes
        .iter()
        .map(|c| parse("region", RegionCode::parse(c)))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

const NOTICES: &[NoticeSpec] = &[
    // Everyone: 张伟 and every other demo person see it.
    NoticeSpec {
        kind: shebao_domain::notices::NoticeKind::Policy,
        title: "关于调整2026年度社会保险缴费基数上下限的通知",
        body: "自2026年7月1日起，职工社会保险缴费基数下限为上年度全口径城镇单位就业人员月平均工资的60%，上限为300%。\n灵活就业人员可在上下限之间自行选择缴费基数。",
        link: Some("https://www.mohrss.gov.cn/"),
        audience: || Ok(shebao_domain::notices::AudienceParts::default()),
    },
    // The unemployed of Shenzhen of working age (the demo has none until one is registered).
    NoticeSpec {
        kind: shebao_domain::notices::NoticeKind::Job,
        title: "深圳市2026年冬季大型招聘会",
        body: "12月12日9:00—16:00，深圳会展中心1号馆，300余家企业提供岗位1万余个。\n请携带身份证和简历，失业登记人员可现场办理就业登记。",
        link: Some("https://hrss.sz.gov.cn/"),
        audience: || {
            Ok(shebao_domain::notices::AudienceParts {
                regions: regions_of(&["440300"])?,
                age_min: Some(16),
                age_max: Some(59),
                employment_status: Some(vec![EmploymentStatus::Unemployed]),
                ..Default::default()
            })
        },
    },
    // The unemployed of Beijing: 郑涛 sees it.
    NoticeSpec {
        kind: shebao_domain::notices::NoticeKind::Training,
        title: "北京市失业人员免费职业技能培训开始报名",
        body: "领取失业保险金期间参加职业技能培训，培训费全额补贴，取得证书后另发技能提升补贴。\n报名请到户籍或常住地街道社保所。",
        link: Some("https://rsj.beijing.gov.cn/"),
        audience: || {
            Ok(shebao_domain::notices::AudienceParts {
                regions: regions_of(&["110000"])?,
                employment_status: Some(vec![EmploymentStatus::Unemployed]),
                ..Default::default()
            })
        },
    },
    // Pensioners (paid a pension this month or last): 孙建国 sees it.
    NoticeSpec {
        kind: shebao_domain::notices::NoticeKind::Service,
        title: "2026年度养老保险待遇资格认证提醒",
        body: "领取养老金的人员请于12个月内完成一次资格认证，可在掌上社保“资格认证”中自助办理，也可由亲属协助。",
        link: None,
        audience: || {
            Ok(shebao_domain::notices::AudienceParts {
                receives: Some(vec![shebao_domain::notices::Benefit::Pension]),
                ..Default::default()
            })
        },
    },
];

/// The demo notices, shown from `now` for 90 days. They were loaded by nobody on the staff:
/// their author is the nil id.
fn demo_notices(conn: &mut DbConnection, now: DateTime<Utc>) -> Result<usize, StoreError> {
    use crate::notices::store::{self, NewNotice};
    use shebao_domain::notices::{AudienceRule, NoticeBody, NoticeLink, NoticeTitle, Schedule};
    let schedule = parse(
        "notice schedule",
        Schedule::new(Some(now), now + chrono::Duration::days(90), now)
            .map_err(|(field, e)| format!("{field}: {e}")),
    )?;
    for n in NOTICES {
        let new = NewNotice {
            kind: n.kind,
            title: parse("notice title", NoticeTitle::parse(n.title))?,
            body: parse("notice body", NoticeBody::parse(n.body))?,
            link: n
                .link
                .map(|l| parse("notice link", NoticeLink::parse(l)))
                .transpose()?,
            audience: parse(
                "notice audience",
                AudienceRule::new((n.audience)()?).map_err(|i| format!("{i:?}")),
            )?,
            schedule,
            created_by: Uuid::nil(),
        };
        store::insert(conn, &new, now.naive_utc())?;
    }
    Ok(NOTICES.len())
}

// ---------------------------------------------------------------------------------------------
// Designated institutions and appointment slots (issue 18)

/// One demo institution: code, name, kind, level, region, address, phone, latitude, longitude,
/// medical categories, departments, accepts filed treatment from elsewhere. Names are those of
/// well-known public hospitals and pharmacy chains; addresses, phones and positions are
/// illustrative (near the real places, WGS-84), like every other figure of the demo.
type DemoInstitution = (
    &'static str,
    &'static str,
    &'static str,
    Option<u8>,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    bool,
);

const HOSPITAL_DEPARTMENTS: &str = "内科|外科|儿科|妇产科|眼科|口腔科|急诊科";

const DEMO_INSTITUTIONS: &[DemoInstitution] = &[
    // Shenzhen (440300).
    (
        "H440303001",
        "深圳市人民医院",
        "hospital",
        Some(3),
        "440300",
        "深圳市罗湖区东门北路1017号",
        "0755-25533018",
        "22.557100",
        "114.123600",
        "employee|resident",
        HOSPITAL_DEPARTMENTS,
        true,
    ),
    (
        "H440304001",
        "北京大学深圳医院",
        "hospital",
        Some(3),
        "440300",
        "深圳市福田区莲花路1120号",
        "0755-83923333",
        "22.561000",
        "114.048000",
        "employee|resident",
        "内科|外科|儿科|妇产科|骨科|皮肤科|急诊科",
        true,
    ),
    (
        "H440304002",
        "香港大学深圳医院",
        "hospital",
        Some(3),
        "440300",
        "深圳市福田区海园一路1号",
        "0755-86913333",
        "22.531600",
        "113.996200",
        "employee|resident",
        HOSPITAL_DEPARTMENTS,
        true,
    ),
    (
        "H440304003",
        "深圳市第二人民医院",
        "hospital",
        Some(3),
        "440300",
        "深圳市福田区笋岗西路3002号",
        "0755-83366388",
        "22.558500",
        "114.083800",
        "employee|resident",
        HOSPITAL_DEPARTMENTS,
        true,
    ),
    (
        "H440304004",
        "深圳市儿童医院",
        "hospital",
        Some(3),
        "440300",
        "深圳市福田区益田路7019号",
        "0755-83936101",
        "22.549500",
        "114.053000",
        "employee|resident",
        "儿科|小儿外科|新生儿科|儿童保健科|急诊科",
        true,
    ),
    (
        "H440304005",
        "深圳市福田区第二人民医院",
        "hospital",
        Some(2),
        "440300",
        "深圳市福田区景田北路6号",
        "0755-83988281",
        "22.559500",
        "114.043200",
        "employee|resident",
        "内科|外科|儿科|急诊科",
        false,
    ),
    (
        "H440305001",
        "深圳市南山区人民医院",
        "hospital",
        Some(3),
        "440300",
        "深圳市南山区桃园路89号",
        "0755-26553111",
        "22.533700",
        "113.923700",
        "employee|resident",
        HOSPITAL_DEPARTMENTS,
        true,
    ),
    (
        "H440306001",
        "深圳市宝安区人民医院",
        "hospital",
        Some(3),
        "440300",
        "深圳市宝安区龙井二路118号",
        "0755-27788311",
        "22.562200",
        "113.886700",
        "employee|resident",
        HOSPITAL_DEPARTMENTS,
        false,
    ),
    (
        "C440304001",
        "福田区莲花北社区健康服务中心",
        "clinic",
        Some(1),
        "440300",
        "深圳市福田区莲花北村富莲大厦",
        "0755-83110290",
        "22.560400",
        "114.060100",
        "employee|resident",
        "全科|预防保健科|中医科",
        false,
    ),
    (
        "C440303001",
        "罗湖区东门社区健康服务中心",
        "clinic",
        Some(1),
        "440300",
        "深圳市罗湖区东门中路2038号",
        "0755-82330115",
        "22.548000",
        "114.120000",
        "employee|resident",
        "全科|预防保健科",
        false,
    ),
    // Pharmacies: the employee scheme's personal accounts pay there; one also serves residents.
    (
        "P440305001",
        "老百姓大药房（南山店）",
        "pharmacy",
        None,
        "440300",
        "深圳市南山区南海大道2163号",
        "0755-26401234",
        "22.530000",
        "113.935000",
        "employee",
        "",
        false,
    ),
    (
        "P440304001",
        "海王星辰健康药房（福田中心店）",
        "pharmacy",
        None,
        "440300",
        "深圳市福田区福华三路88号",
        "0755-83761234",
        "22.541000",
        "114.056000",
        "employee",
        "",
        false,
    ),
    (
        "P440303002",
        "大参林药房（东门店）",
        "pharmacy",
        None,
        "440300",
        "深圳市罗湖区东门南路3001号",
        "0755-82281234",
        "22.546000",
        "114.119000",
        "employee|resident",
        "",
        false,
    ),
    // Beijing (110000).
    (
        "H110105001",
        "北京市朝阳医院",
        "hospital",
        Some(3),
        "110000",
        "北京市朝阳区工人体育场南路8号",
        "010-85231000",
        "39.925600",
        "116.451600",
        "employee|resident",
        "内科|外科|急诊科|呼吸内科|心血管内科|眼科",
        true,
    ),
    (
        "H110101001",
        "北京协和医院",
        "hospital",
        Some(3),
        "110000",
        "北京市东城区帅府园1号",
        "010-69156114",
        "39.912300",
        "116.417000",
        "employee|resident",
        HOSPITAL_DEPARTMENTS,
        true,
    ),
    (
        "H110102001",
        "北京大学第一医院",
        "hospital",
        Some(3),
        "110000",
        "北京市西城区西什库大街8号",
        "010-83572211",
        "39.930500",
        "116.378200",
        "employee|resident",
        HOSPITAL_DEPARTMENTS,
        true,
    ),
    (
        "H110108001",
        "北京大学第三医院",
        "hospital",
        Some(3),
        "110000",
        "北京市海淀区花园北路49号",
        "010-82266699",
        "39.982200",
        "116.357700",
        "employee|resident",
        HOSPITAL_DEPARTMENTS,
        true,
    ),
    (
        "H110105002",
        "北京市朝阳区双桥医院",
        "hospital",
        Some(2),
        "110000",
        "北京市朝阳区双桥路5号",
        "010-85361234",
        "39.890500",
        "116.571000",
        "employee|resident",
        "内科|外科|急诊科",
        false,
    ),
    (
        "C110105001",
        "朝阳区双井社区卫生服务中心",
        "clinic",
        Some(1),
        "110000",
        "北京市朝阳区广渠路28号",
        "010-87771234",
        "39.893000",
        "116.461000",
        "employee|resident",
        "全科|预防保健科|中医科",
        false,
    ),
    (
        "P110105001",
        "金象大药房（朝阳店）",
        "pharmacy",
        None,
        "110000",
        "北京市朝阳区朝阳门外大街18号",
        "010-65991234",
        "39.920000",
        "116.443000",
        "employee",
        "",
        false,
    ),
    (
        "P110101001",
        "同仁堂药店（王府井店）",
        "pharmacy",
        None,
        "110000",
        "北京市东城区王府井大街241号",
        "010-65251234",
        "39.914000",
        "116.411000",
        "employee|resident",
        "",
        false,
    ),
];

/// Where the demo publishes slots: (institution, department, places a slot). Each day's 09:30
/// slot of the first holds 3 places, two of them booked by demo persons: one place left.
const DEMO_SLOTS: &[(&str, &str, i32)] = &[
    ("H440304001", "内科", 20),
    ("H440304001", "儿科", 15),
    ("H440303001", "内科", 20),
    ("H110105001", "内科", 20),
];

/// The slots of each day (local time, Asia/Shanghai): start, minutes.
const DEMO_SLOT_TIMES: &[(u32, u32, i64)] = &[(8, 30, 60), (9, 30, 60), (10, 30, 60), (14, 0, 90)];

/// The demo persons (card numbers) who hold the almost full slot's other places.
const DEMO_BOOKERS: &[&str] = &["A44030000002", "A44030000005"];

/// Loads the demo institutions through the import's own loader, and for the next 7 days the
/// slots of `DEMO_SLOTS`, with two demo persons booked into each day's 09:30 slot of the first.
fn demo_institutions(
    conn: &mut DbConnection,
    vault: &PiiVault,
    ctx: &mut ImportContext,
    persons_loaded: &[(NationalId, &PersonSpec)],
    now: DateTime<Utc>,
) -> Result<(usize, usize), StoreError> {
    use crate::institutions::appointments::{self, NewAppointment};
    use crate::institutions::import::Institutions;
    use crate::institutions::slots::{self, NewSlot};
    use crate::records::imports::RawRow;
    use chrono::TimeZone;
    use shebao_domain::institutions::{Department, InstitutionCode};

    let mut rows = Vec::new();
    for &(
        code,
        name,
        kind,
        level,
        region,
        address,
        phone,
        lat,
        lon,
        categories,
        departments,
        accepts,
    ) in DEMO_INSTITUTIONS
    {
        let mut raw = RawRow::new();
        let level = level.map(|l| l.to_string()).unwrap_or_default();
        for (column, value) in [
            ("code", code),
            ("name", name),
            ("kind", kind),
            ("level", level.as_str()),
            ("region", region),
            ("address", address),
            ("phone", phone),
            ("latitude", lat),
            ("longitude", lon),
            ("medical_categories", categories),
            ("departments", departments),
            (
                "accepts_filed_elsewhere",
                if accepts { "true" } else { "false" },
            ),
        ] {
            raw.set(column, value);
        }
        rows.push(
            Institutions::parse(&raw).map_err(|r| {
                StoreError::Config(format!("seed institution {code}: {}", r.code()))
            })?,
        );
    }
    let institutions = rows.len();
    load::<Institutions>(conn, ctx, rows, now.naive_utc())?;

    let mut bookers = Vec::new();
    for card in DEMO_BOOKERS {
        if let Some((nid, _)) = persons_loaded.iter().find(|(_, s)| s.card == *card) {
            if let Some(p) = persons::find_by_national_id(conn, vault, nid)? {
                bookers.push(p.id);
            }
        }
    }
    let zone = TimeZoneName::ASIA_SHANGHAI.tz();
    let today = now.with_timezone(&zone).date_naive();
    let mut count = 0;
    for day in 1..=7 {
        let date = today + chrono::Duration::days(day);
        for (i, &(code, department, capacity)) in DEMO_SLOTS.iter().enumerate() {
            for &(hour, minute, minutes) in DEMO_SLOT_TIMES {
                let local = date
                    .and_hms_opt(hour, minute, 0)
                    .ok_or_else(|| StoreError::Config("seed slot time".into()))?;
                let starts_at = zone
                    .from_local_datetime(&local)
                    .earliest()
                    .ok_or_else(|| StoreError::Config("seed slot time".into()))?
                    .with_timezone(&Utc);
                let almost_full = i == 0 && (hour, minute) == (9, 30);
                let slot = slots::create(
                    conn,
                    &NewSlot {
                        institution: parse("institution code", InstitutionCode::parse(code))?,
                        department: parse("department", Department::parse(department))?,
                        starts_at,
                        ends_at: starts_at + chrono::Duration::minutes(minutes),
                        capacity: if almost_full { 3 } else { capacity },
                    },
                    now,
                )?;
                count += 1;
                if almost_full {
                    for (n, person) in bookers.iter().enumerate() {
                        let booked = appointments::book(
                            conn,
                            &NewAppointment {
                                person_id: *person,
                                slot_id: slot.id,
                                idempotency_key: format!("demo-{day}-{n}"),
                                request_hash: slot.id.to_string(),
                            },
                            now,
                        )?;
                        booked
                            .map_err(|e| StoreError::Config(format!("seed appointment: {e:?}")))?;
                    }
                }
            }
        }
    }
    Ok((institutions, count))
}
