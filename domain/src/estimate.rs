//! The pension estimate end to end: from a person's history, their region's parameters and the
//! chosen assumptions to the monthly pension at retirement, with its reasoning as data
//! ([`Line`]), worded in Chinese or English in one place ([`Line::render`]).
//!
//! The assumptions it makes, each stated in the explanation:
//!
//! * retirement on the statutory date under the 2025 reform unless another allowed date is chosen;
//! * contributions continue every month from the month after the last paid one (or this month)
//!   until the month before retirement, at `future_base_ratio` × each year's average wage;
//! * C is the latest published average wage grown at `wage_growth` to the year before retirement
//!   (parameters of year L hold the wage of L − 1, so R − L years of growth for retiring in R);
//! * Ī weighs every paid month alike (months, not years): the history's ratio over its months,
//!   the assumed ratio over the projected months;
//! * the personal account: today's balance (history credited at each year's share: 11 % before
//!   2006, 8 % from 2006, unless the region's parameters say otherwise), plus each projected
//!   month's credit, which grows with the average wage every January; interest at
//!   `interest_rate` once per projection year;
//! * the divisor by the age at retirement under the region's rules (whole years or interpolated;
//!   207 or 208 at 47);
//! * transitional pensions (过渡性养老金) and local adjustments are left out.

use chrono::{Datelike, NaiveDate};

use crate::insurance::InsuranceType;
use crate::money::Fen;
use crate::pension::{self, CreditGrowth, MonthsDivisor, PensionInputs};
use crate::period::Period;
use crate::region::{AccountShares, DivisorFraction, RegionRules, YearParameters};
use crate::retirement::{self, RetirementAge, RetirementCategory};
use crate::statement::{self, ContributionStatus, MonthRow};

/// What the person chose (all parsed already); `None` means the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assumptions {
    pub category: RetirementCategory,
    pub retirement_date: Option<NaiveDate>,
    /// The future base as a ratio of the average wage; default the person's own Ī so far.
    pub future_base_ratio_bp: Option<u32>,
    pub wage_growth_bp: u32,
    pub interest_rate_bp: u32,
}

impl Assumptions {
    pub const DEFAULT_WAGE_GROWTH_BP: u32 = 400;
    pub const DEFAULT_INTEREST_RATE_BP: u32 = 300;
}

/// What is known of the person and their region.
#[derive(Debug, Clone, Copy)]
pub struct History<'a> {
    pub birth_date: NaiveDate,
    /// The person's local date.
    pub today: NaiveDate,
    /// Every month row with its base.
    pub rows: &'a [(MonthRow, Fen)],
    /// Interest credited to the pension account, by year.
    pub interest: &'a [(i32, Fen)],
    /// The region's yearly parameters, any order.
    pub years: &'a [YearParameters],
    pub rules: RegionRules,
}

/// Why no estimate could be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EstimateError {
    /// The chosen date is outside the flexible-retirement window.
    OutsideWindow,
    /// The region has no yearly parameters at all.
    NoYearParameters,
    /// A figure left the range of the calculation (absurd inputs).
    OutOfRange,
}

/// The estimate and everything it rests on.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    pub category: RetirementCategory,
    pub statutory: RetirementAge,
    pub retirement_date: NaiveDate,
    pub eligible: bool,
    pub required_months: u32,
    pub months_so_far: u32,
    pub projected_months: u32,
    pub future_base_ratio_bp: u32,
    pub wage_growth_bp: u32,
    pub interest_rate_bp: u32,
    /// C.
    pub average_monthly_wage: Fen,
    /// Ī in basis points.
    pub indexed_ratio_bp: u32,
    pub divisor: MonthsDivisor,
    /// The region's rule that chose the divisor.
    pub divisor_rule: DivisorFraction,
    pub age_years: u32,
    pub age_months: u32,
    pub balance_at_retirement: Fen,
    /// Zero when not eligible.
    pub basic_part: Fen,
    pub account_part: Fen,
    pub monthly_total: Fen,
    /// The reasoning, line by line.
    pub explanation: Vec<Line>,
}

impl Estimate {
    pub fn total_months(&self) -> u32 {
        self.months_so_far + self.projected_months
    }
}

/// One line of the reasoning, as data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line {
    Retirement {
        age: RetirementAge,
        retire_on: NaiveDate,
    },
    Months {
        so_far: u32,
        projected: u32,
    },
    Required {
        year: i32,
        months: u32,
    },
    Wage {
        latest_year: i32,
        latest_wage: Fen,
        growth_bp: u32,
        years: u32,
        c: Fen,
    },
    Index {
        history_bp: u32,
        so_far: u32,
        future_bp: u32,
        projected: u32,
        indexed_bp: u32,
    },
    Basic {
        c: Fen,
        indexed_bp: u32,
        months: u32,
        basic: Fen,
    },
    Balance {
        now: Fen,
        first_credit: Fen,
        share_bp: u32,
        growth_bp: u32,
        rate_bp: u32,
        at_retirement: Fen,
    },
    Divisor {
        years: u32,
        months: u32,
        rule: DivisorFraction,
        divisor_age_47: u16,
        divisor: MonthsDivisor,
    },
    Account {
        balance: Fen,
        divisor: MonthsDivisor,
        account: Fen,
    },
    Total {
        monthly: Fen,
    },
    Short {
        missing: u32,
    },
}

/// The language of the explanation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Zh,
    En,
}

fn years_of(months: u32) -> String {
    format!("{:.2}", statement::years_of_months(months))
}

fn pct(bp: u32) -> String {
    format!("{}.{:02}", bp / 100, bp % 100)
}

fn ratio(bp: u32) -> String {
    format!("{}.{:04}", bp / 10_000, bp % 10_000)
}

fn divisor_text(d: MonthsDivisor) -> String {
    let h = d.hundredths();
    if h.is_multiple_of(100) {
        (h / 100).to_string()
    } else {
        format!("{}.{:02}", h / 100, h % 100)
    }
}

impl Line {
    /// The line in `lang`: each line's Chinese and English wording side by side, here only.
    pub fn render(&self, lang: Language) -> String {
        let zh = lang == Language::Zh;
        let y = |f: Fen| f.yuan_string();
        match *self {
            Line::Retirement { age, retire_on } => {
                if zh {
                    format!("按 2025 年起施行的渐进式延迟法定退休年龄办法，您的法定退休年龄为 {} 岁 {} 个月（{}），本次按 {retire_on} 退休测算。", age.years, age.months, age.date)
                } else {
                    format!("Under the gradual retirement-age reform in force since 2025, your statutory retirement age is {} years {} months ({}); this estimate retires you on {retire_on}.", age.years, age.months, age.date)
                }
            }
            Line::Months { so_far, projected } => {
                let (total, years) = (so_far + projected, years_of(so_far + projected));
                if zh {
                    format!("截至目前累计缴费 {so_far} 个月；按假设继续缴费，退休前还将缴费 {projected} 个月，合计 {total} 个月（{years} 年）。")
                } else {
                    format!("You have {so_far} months of pension contributions; continuing as assumed adds {projected} months before retirement, {total} in all ({years} years).")
                }
            }
            Line::Required { year, months } => {
                if zh {
                    format!(
                        "{year} 年退休的最低缴费年限为 {months} 个月（{} 年）。",
                        years_of(months)
                    )
                } else {
                    format!(
                        "Retiring in {year} needs at least {months} months ({} years).",
                        years_of(months)
                    )
                }
            }
            Line::Wage {
                latest_year,
                latest_wage,
                growth_bp,
                years,
                c,
            } => {
                if zh {
                    format!("C（退休上年的社会平均工资）= {latest_year} 年参数公布的月平均工资 {} 元，按每年 {}% 增长 {years} 年 = {} 元。", y(latest_wage), pct(growth_bp), y(c))
                } else {
                    format!("C (the average wage of the year before retirement) = the monthly average wage in the {latest_year} parameters, {} yuan, grown {}% a year for {years} years = {} yuan.", y(latest_wage), pct(growth_bp), y(c))
                }
            }
            Line::Index {
                history_bp,
                so_far,
                future_bp,
                projected,
                indexed_bp,
            } => {
                if zh {
                    format!("Ī（平均缴费指数）按月加权：已缴 {so_far} 个月的指数 {}，今后 {projected} 个月假设为 {}，加权平均 {}。", ratio(history_bp), ratio(future_bp), ratio(indexed_bp))
                } else {
                    format!("Ī (the average contribution index) is weighted by months: {} over the {so_far} months paid, {} assumed for the {projected} months ahead, {} overall.", ratio(history_bp), ratio(future_bp), ratio(indexed_bp))
                }
            }
            Line::Basic {
                c,
                indexed_bp,
                months,
                basic,
            } => {
                if zh {
                    format!("基础养老金 = (C + C×Ī) ÷ 2 × 缴费年限 × 1% = ({} + {} × {}) ÷ 2 × {} × 1% = {} 元。", y(c), y(c), ratio(indexed_bp), years_of(months), y(basic))
                } else {
                    format!("Basic part = (C + C×Ī) / 2 × years × 1 % = ({} + {} × {}) / 2 × {} × 1 % = {} yuan.", y(c), y(c), ratio(indexed_bp), years_of(months), y(basic))
                }
            }
            Line::Balance {
                now,
                first_credit,
                share_bp,
                growth_bp,
                rate_bp,
                at_retirement,
            } => {
                if zh {
                    format!("个人账户：现有余额 {} 元（2006 年前按缴费基数的 11%、此后按 8% 记入，以地区参数为准）；今后每月记入基数的 {}%，首月 {} 元，每年 1 月随平均工资增长 {}%；记账利率每年 {}%；退休时约 {} 元。", y(now), pct(share_bp), y(first_credit), pct(growth_bp), pct(rate_bp), y(at_retirement))
                } else {
                    format!("Personal account: {} yuan today (history credited at 11 % of the base before 2006 and 8 % since, unless the region's parameters say otherwise); each month ahead credits {}% of the base, {} yuan at first, rising with the average wage by {}% every January; interest {}% a year; about {} yuan at retirement.", y(now), pct(share_bp), y(first_credit), pct(growth_bp), pct(rate_bp), y(at_retirement))
                }
            }
            Line::Divisor {
                years,
                months,
                rule,
                divisor_age_47,
                divisor,
            } => {
                let d = divisor_text(divisor);
                match (zh, rule) {
                    (true, DivisorFraction::WholeYears) => format!("计发月数按退休时年龄 {years} 岁 {months} 个月的整数岁确定为 {d}（本地区规则；47 岁按 {divisor_age_47}）。"),
                    (true, DivisorFraction::Interpolated) => format!("计发月数按退休时年龄 {years} 岁 {months} 个月在相邻整数岁之间按月插值为 {d}（本地区规则；47 岁按 {divisor_age_47}）。"),
                    (false, DivisorFraction::WholeYears) => format!("The divisor goes by the whole years of the age at retirement, {years} years {months} months: {d} (this region's rule; {divisor_age_47} at 47)."),
                    (false, DivisorFraction::Interpolated) => format!("The divisor is interpolated by month between whole years for the age at retirement, {years} years {months} months: {d} (this region's rule; {divisor_age_47} at 47)."),
                }
            }
            Line::Account {
                balance,
                divisor,
                account,
            } => {
                if zh {
                    format!(
                        "个人账户养老金 = 账户余额 {} 元 ÷ 计发月数 {} = {} 元。",
                        y(balance),
                        divisor_text(divisor),
                        y(account)
                    )
                } else {
                    format!(
                        "Account part = balance {} yuan / divisor {} = {} yuan.",
                        y(balance),
                        divisor_text(divisor),
                        y(account)
                    )
                }
            }
            Line::Total { monthly } => {
                if zh {
                    format!(
                        "每月基本养老金约 {} 元（测算值，未含过渡性养老金，以实际核定为准）。",
                        y(monthly)
                    )
                } else {
                    format!("Estimated monthly basic pension: about {} yuan (an estimate without any transitional pension; the agency's assessment decides).", y(monthly))
                }
            }
            Line::Short { missing } => {
                if zh {
                    format!("缴费年限不足，退休时不能按月领取基本养老金：还需缴费 {missing} 个月，可延长缴费或延迟退休。")
                } else {
                    format!("Too few contribution months to draw a monthly pension at that date: {missing} more months are needed (contribute longer or retire later).")
                }
            }
        }
    }
}

/// The age in whole years and further months (0..=11) on `on`: whole months since birth, a
/// month's last day counting as the birthday for later days (born on the 31st, a month older on
/// 30 April). 0 before birth.
pub fn age_in_years_and_months(birth: NaiveDate, on: NaiveDate) -> (u32, u32) {
    let mut months = (i64::from(on.year()) - i64::from(birth.year())) * 12 + i64::from(on.month())
        - i64::from(birth.month());
    let month_end = on == Period::containing(on).last_day();
    if on.day() < birth.day() && !month_end {
        months -= 1;
    }
    let months = u32::try_from(months.max(0)).unwrap_or(0);
    (months / 12, months % 12)
}

/// Ī of the history, weighted by months: each year's paid bases against that year's average wage
/// (years without parameters are left out). `None` without any such month.
pub fn history_index_bp(rows: &[(MonthRow, Fen)], years: &[YearParameters]) -> Option<u32> {
    use std::collections::BTreeMap;
    let mut by_year: BTreeMap<i32, (i64, std::collections::BTreeSet<Period>)> = BTreeMap::new();
    for (r, base) in rows {
        if r.insurance == InsuranceType::Pension && r.status == ContributionStatus::Paid {
            let e = by_year.entry(r.period.year()).or_default();
            e.0 = e.0.saturating_add(base.0);
            e.1.insert(r.period);
        }
    }
    let yearly: Vec<(Fen, u32, Fen)> = by_year
        .into_iter()
        .filter_map(|(year, (sum, months))| {
            let wage = years
                .iter()
                .find(|p| p.year() == year)?
                .average_monthly_wage();
            Some((Fen(sum), u32::try_from(months.len()).ok()?, wage))
        })
        .collect();
    pension::indexed_ratio_by_months_bp(&yearly)
}

/// Estimates the monthly basic pension, see the module docs for every assumption.
pub fn estimate(h: &History<'_>, a: &Assumptions) -> Result<Estimate, EstimateError> {
    let statutory = retirement::statutory_retirement(h.birth_date, a.category);
    let (earliest, latest) = retirement::allowed_retirement_window(h.birth_date, a.category);
    let retire_on = a.retirement_date.unwrap_or(statutory.date);
    if retire_on < earliest || retire_on > latest {
        return Err(EstimateError::OutsideWindow);
    }
    let latest_param = h
        .years
        .iter()
        .filter(|p| p.year() <= h.today.year())
        .max_by_key(|p| p.year())
        .or_else(|| h.years.iter().min_by_key(|p| p.year()))
        .ok_or(EstimateError::NoYearParameters)?;

    // Months so far and until the month before retirement.
    let month_rows: Vec<MonthRow> = h.rows.iter().map(|(r, _)| *r).collect();
    let so_far = statement::pension_months(&month_rows);
    let current = Period::containing(h.today);
    let last_paid = month_rows
        .iter()
        .filter(|r| r.insurance == InsuranceType::Pension && r.status == ContributionStatus::Paid)
        .map(|r| r.period)
        .max();
    let start = match last_paid {
        Some(p) if p.next() > current => p.next(),
        _ => current,
    };
    let retire_period = Period::containing(retire_on);
    let projected = u32::try_from(start.months_between(retire_period).max(0)).unwrap_or(0);
    let total = so_far + projected;
    let eligibility = retirement::eligibility(total, retire_on);

    // Ī, weighted by months.
    let history_bp = history_index_bp(h.rows, h.years).unwrap_or(10_000);
    let future_bp = a.future_base_ratio_bp.unwrap_or(history_bp);
    let indexed_bp = if total == 0 {
        future_bp
    } else {
        let weighted =
            u64::from(history_bp) * u64::from(so_far) + u64::from(future_bp) * u64::from(projected);
        u32::try_from((weighted * 2 + u64::from(total)) / (2 * u64::from(total)))
            .map_err(|_| EstimateError::OutOfRange)?
    };

    // C.
    let grow_years = u32::try_from((retire_on.year() - latest_param.year()).max(0)).unwrap_or(0);
    let c = pension::wage_before_retirement(
        latest_param.year(),
        latest_param.average_monthly_wage(),
        retire_on.year(),
        a.wage_growth_bp,
    );

    // The account: today's balance, then credits growing with the wage each January.
    let shares = AccountShares::of(h.years);
    let balance_now = statement::pension_account_years(h.rows, h.interest, &shares)
        .last()
        .map_or(Fen::ZERO, |y| y.closing);
    let share_bp = shares.for_year(start.year());
    let credit_then = latest_param
        .average_monthly_wage()
        .apply_bp(future_bp)
        .and_then(|base| base.apply_bp(share_bp))
        .ok_or(EstimateError::OutOfRange)?;
    let first_credit = pension::grow(
        credit_then,
        a.wage_growth_bp,
        u32::try_from((start.year() - latest_param.year()).max(0)).unwrap_or(0),
    );
    let growth = CreditGrowth {
        annual_bp: a.wage_growth_bp,
        first_rise_after: 13 - start.month(),
    };
    let balance = pension::project_balance_growing(
        balance_now,
        first_credit,
        projected,
        growth,
        a.interest_rate_bp,
    );

    let (age_years, age_months) = age_in_years_and_months(h.birth_date, retire_on);
    let divisor = pension::months_divisor_at(age_years, age_months, &h.rules)
        .ok_or(EstimateError::OutOfRange)?;
    let parts = pension::estimate_pension(&PensionInputs {
        average_monthly_wage: c,
        indexed_ratio_bp: indexed_bp,
        contribution_months: total,
        account_balance: balance,
        divisor,
    })
    .ok_or(EstimateError::OutOfRange)?;

    let mut explanation = vec![
        Line::Retirement {
            age: statutory,
            retire_on,
        },
        Line::Months { so_far, projected },
        Line::Required {
            year: retire_on.year(),
            months: eligibility.required_months,
        },
    ];
    let (basic, account, monthly) = if eligibility.eligible {
        explanation.extend([
            Line::Wage {
                latest_year: latest_param.year(),
                latest_wage: latest_param.average_monthly_wage(),
                growth_bp: a.wage_growth_bp,
                years: grow_years,
                c,
            },
            Line::Index {
                history_bp,
                so_far,
                future_bp,
                projected,
                indexed_bp,
            },
            Line::Basic {
                c,
                indexed_bp,
                months: total,
                basic: parts.basic_part,
            },
            Line::Balance {
                now: balance_now,
                first_credit,
                share_bp,
                growth_bp: a.wage_growth_bp,
                rate_bp: a.interest_rate_bp,
                at_retirement: balance,
            },
            Line::Divisor {
                years: age_years,
                months: age_months,
                rule: h.rules.divisor_fraction,
                divisor_age_47: h.rules.divisor_age_47,
                divisor,
            },
            Line::Account {
                balance,
                divisor,
                account: parts.account_part,
            },
            Line::Total {
                monthly: parts.monthly_total,
            },
        ]);
        (parts.basic_part, parts.account_part, parts.monthly_total)
    } else {
        explanation.push(Line::Short {
            missing: eligibility.missing_months,
        });
        (Fen::ZERO, Fen::ZERO, Fen::ZERO)
    };
    Ok(Estimate {
        category: a.category,
        statutory,
        retirement_date: retire_on,
        eligible: eligibility.eligible,
        required_months: eligibility.required_months,
        months_so_far: so_far,
        projected_months: projected,
        future_base_ratio_bp: future_bp,
        wage_growth_bp: a.wage_growth_bp,
        interest_rate_bp: a.interest_rate_bp,
        average_monthly_wage: c,
        indexed_ratio_bp: indexed_bp,
        divisor,
        divisor_rule: h.rules.divisor_fraction,
        age_years,
        age_months,
        balance_at_retirement: balance,
        basic_part: basic,
        account_part: account,
        monthly_total: monthly,
        explanation,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::region::{Rates, RegionCode};

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    /// Born 1965-01-15 (60 years 1 month under the reform: 2025-02-15); on 2024-11-20, with
    /// 178 months paid (2010-01 … 2024-10) at base 5 000.00 against an average wage of 5 000.00
    /// every year.
    fn scenario() -> (Vec<(MonthRow, Fen)>, Vec<YearParameters>) {
        let region = RegionCode::parse("440300").unwrap();
        let years: Vec<YearParameters> = (2010..=2024)
            .map(|y| {
                YearParameters::new(
                    region.clone(),
                    y,
                    Fen(500_000),
                    60,
                    300,
                    5,
                    Rates::mainland_default(),
                )
                .unwrap()
            })
            .collect();
        let first = Period::new(2010, 1).unwrap();
        let rows = (0..178)
            .map(|k| {
                (
                    MonthRow {
                        period: first.add_months(k).unwrap(),
                        insurance: InsuranceType::Pension,
                        status: ContributionStatus::Paid,
                        employer: Fen(80_000),
                        employee: Fen(40_000),
                    },
                    Fen(500_000),
                )
            })
            .collect();
        (rows, years)
    }

    fn assumptions() -> Assumptions {
        Assumptions {
            category: RetirementCategory::Male,
            retirement_date: None,
            future_base_ratio_bp: None,
            wage_growth_bp: 400,
            interest_rate_bp: 300,
        }
    }

    #[test]
    fn a_short_estimate_worked_by_hand() {
        let (rows, years) = scenario();
        let history = History {
            birth_date: d(1965, 1, 15),
            today: d(2024, 11, 20),
            rows: &rows,
            interest: &[],
            years: &years,
            rules: RegionRules::default(),
        };
        let e = estimate(&history, &assumptions()).unwrap();
        // 2024-11, 2024-12, 2025-01 ahead: 181 months; 180 needed in 2025.
        assert_eq!(e.retirement_date, d(2025, 2, 15));
        assert_eq!((e.months_so_far, e.projected_months), (178, 3));
        assert!(e.eligible);
        // C: the 2024 parameters (5 000.00) grown one year to 2024, the year before 2025: 5 200.00.
        assert_eq!(e.average_monthly_wage, Fen(520_000));
        // Ī = 1.0; basic = 5 200 × (1 + 1) / 2 × 181/12 × 1 % = 784.333… → 784.33.
        assert_eq!(e.indexed_ratio_bp, 10_000);
        assert_eq!(e.basic_part, Fen(78_433));
        // Account: 178 × 400.00 = 71 200.00 now; November and December credit 400.00, January
        // (the wage risen 4 %) 416.00; interest for the 3 months:
        // (7 120 000 × 3 + 40 000 × 3 + 40 000 × 2 + 41 600 × 1) × 300 / 120 000 = 54 004 fen.
        // 7 120 000 + 121 600 + 54 004 = 7 295 604 (72 956.04).
        assert_eq!(e.balance_at_retirement, Fen(7_295_604));
        // 60 years 1 month, whole years: 139; 72 956.04 / 139 = 524.863… → 524.86.
        assert_eq!((e.age_years, e.age_months), (60, 1));
        assert_eq!(e.divisor, MonthsDivisor::whole(139));
        assert_eq!(e.account_part, Fen(52_486));
        assert_eq!(e.monthly_total, Fen(130_919));
        // Interpolating: 139 − 1/12 × 7 = 138.42 (1 661 twelfths); 7 295 604 × 12 / 1 661
        // = 52 707.55 → 527.08.
        let interpolated = History {
            rules: RegionRules {
                divisor_fraction: DivisorFraction::Interpolated,
                ..RegionRules::default()
            },
            ..history
        };
        let e2 = estimate(&interpolated, &assumptions()).unwrap();
        assert_eq!(e2.divisor.twelfths(), 1_661);
        assert_eq!(e2.account_part, Fen(52_708));
        // The explanation: the same lines in both languages, every assumption stated.
        let zh: Vec<String> = e
            .explanation
            .iter()
            .map(|l| l.render(Language::Zh))
            .collect();
        let en: Vec<String> = e
            .explanation
            .iter()
            .map(|l| l.render(Language::En))
            .collect();
        assert_eq!(zh.len(), en.len());
        let en = en.join(" ");
        for said in [
            "weighted by months",
            "grown 4.00% a year for 1 years = 5200.00",
            "11 % of the base before 2006",
            "every January",
            "whole years of the age at retirement, 60 years 1 months: 139",
            "207 at 47",
            "about 1309.19 yuan",
        ] {
            assert!(en.contains(said), "{said} not in {en}");
        }
        assert!(zh.join("").contains("按月加权"));
    }

    #[test]
    fn short_outside_and_without_parameters() {
        let (rows, years) = scenario();
        let history = History {
            birth_date: d(1965, 1, 15),
            today: d(2024, 11, 20),
            rows: &rows[..100],
            interest: &[],
            years: &years,
            rules: RegionRules::default(),
        };
        let e = estimate(&history, &assumptions()).unwrap();
        assert!(!e.eligible);
        assert_eq!(e.monthly_total, Fen::ZERO);
        // 103 months against 180: 77 missing.
        assert_eq!(e.explanation.last(), Some(&Line::Short { missing: 77 }));
        let early = Assumptions {
            retirement_date: Some(d(2024, 12, 1)),
            ..assumptions()
        };
        assert_eq!(
            estimate(&history, &early),
            Err(EstimateError::OutsideWindow)
        );
        let bare = History {
            years: &[],
            ..history
        };
        assert_eq!(
            estimate(&bare, &assumptions()),
            Err(EstimateError::NoYearParameters)
        );
    }

    #[test]
    fn ages_in_years_and_months() {
        assert_eq!(
            age_in_years_and_months(d(1965, 1, 15), d(2025, 2, 15)),
            (60, 1)
        );
        assert_eq!(
            age_in_years_and_months(d(1965, 1, 15), d(2025, 2, 14)),
            (60, 0)
        );
        assert_eq!(
            age_in_years_and_months(d(1966, 1, 31), d(2026, 4, 30)),
            (60, 3)
        );
        assert_eq!(
            age_in_years_and_months(d(1964, 2, 29), d(2024, 2, 28)),
            (59, 11)
        );
        assert_eq!(
            age_in_years_and_months(d(1966, 1, 1), d(1960, 1, 1)),
            (0, 0)
        );
    }
}
