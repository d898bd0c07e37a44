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
use shebao_domain::region::{Rates, RegionCode, RegionName, TimeZoneName, YearParameters};
use shebao_security::PiiVault;
use uuid::Uuid;

use crate::db::{DbConnection, StoreError};
use crate::records::contributions::{self, ContributionStatus, NewContribution};
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
}

pub(crate) const REGIONS: &[RegionSpec] = &[
    RegionSpec {
        code: "440300",
        name: "深圳市",
        wage_2014_yuan: 6_054,
        growth_bp: 650,
    },
    RegionSpec {
        code: "110000",
        name: "北京市",
        wage_2014_yuan: 6_463,
        growth_bp: 700,
    },
];

pub(crate) fn parse<T, E: std::fmt::Display>(what: &str, r: Result<T, E>) -> Result<T, StoreError> {
    r.map_err(|e| StoreError::Config(format!("seed data {what}: {e}")))
}

fn region_params(spec: &RegionSpec, year: i32) -> Result<YearParameters, StoreError> {
    let mut wage = spec.wage_2014_yuan * 100;
    for _ in FIRST_YEAR..year {
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
        ),
    )
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
    },
];

pub(crate) fn date(y: i32, m: u32, d: u32) -> Result<NaiveDate, StoreError> {
    NaiveDate::from_ymd_opt(y, m, d)
        .ok_or_else(|| StoreError::Config(format!("seed date {y}-{m}-{d}")))
}

fn period(y: i32, m: u32) -> Result<Period, StoreError> {
    parse("period", Period::new(y, m))
}

/// Loads the demo: two regions with parameters since 2014, three employers and ten persons
/// with monthly history from (at the latest) 2016 to the current month. One transaction.
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
        let mut p = period(spec.start.0, spec.start.1)?;
        while p <= current {
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
            let (status, paid_at) = if p == current {
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
    Ok(DemoSummary {
        regions: REGIONS.len(),
        employers: EMPLOYERS.len(),
        persons: persons_added,
        contributions: rows.len(),
        demo_person,
    })
}
