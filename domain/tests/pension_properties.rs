//! Property tests for the retirement age, the pension estimate, account interest and benefits.
#![allow(clippy::unwrap_used)]

use chrono::{Months, NaiveDate, TimeDelta};
use proptest::prelude::*;
use shebao_domain::accounts::{checked_yearly_interest, yearly_interest};
use shebao_domain::benefits::{unemployment_entitlement, unemployment_months};
use shebao_domain::money::Fen;
use shebao_domain::pension::{
    estimate_pension, grow, indexed_ratio_bp, months_divisor, project_balance,
    project_balance_growing, CreditGrowth, MonthsDivisor, PensionInputs,
};
use shebao_domain::period::Period;
use shebao_domain::retirement::{
    age_in_whole_years, allowed_retirement_window, delay_months, eligibility,
    minimum_contribution_months, statutory_retirement, RetirementCategory,
};

/// Birth dates from 1900 to 2100.
fn birth() -> impl Strategy<Value = NaiveDate> {
    let start = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap();
    let end = NaiveDate::from_ymd_opt(2100, 12, 31).unwrap();
    (0..=(end - start).num_days()).prop_map(move |days| start + TimeDelta::days(days))
}

fn category() -> impl Strategy<Value = RetirementCategory> {
    proptest::sample::select(RetirementCategory::ALL.to_vec())
}

/// Up to 1 000 000.00 yuan.
fn money() -> impl Strategy<Value = Fen> {
    (0i64..=100_000_000).prop_map(Fen)
}

fn inputs() -> impl Strategy<Value = PensionInputs> {
    (money(), 0u32..=30_000, 0u32..=600, money(), 40u32..=70).prop_map(
        |(wage, ratio, months, balance, age)| PensionInputs {
            average_monthly_wage: wage,
            indexed_ratio_bp: ratio,
            contribution_months: months,
            account_balance: balance,
            divisor: MonthsDivisor::whole(months_divisor(age).unwrap()),
        },
    )
}

proptest! {
    #[test]
    fn statutory_age_stays_between_original_and_target(birth in birth(), category in category()) {
        let age = statutory_retirement(birth, category);
        prop_assert!(age.months < 12);
        prop_assert!(age.total_months() >= category.original_age_years() * 12);
        prop_assert!(age.total_months() <= category.target_age_years() * 12);
        prop_assert_eq!(
            age.total_months(),
            category.original_age_years() * 12 + delay_months(birth, category)
        );
        prop_assert_eq!(age.date, birth.checked_add_months(Months::new(age.total_months())).unwrap());
        // The date is the day the age in whole years is reached (or later in the year).
        prop_assert_eq!(age_in_whole_years(birth, age.date), age.years);
    }

    #[test]
    fn later_births_never_retire_younger_or_earlier(
        a in birth(), b in birth(), category in category()
    ) {
        let (early, late) = if a <= b { (a, b) } else { (b, a) };
        let early_age = statutory_retirement(early, category);
        let late_age = statutory_retirement(late, category);
        prop_assert!(early_age.total_months() <= late_age.total_months());
        prop_assert!(early_age.date <= late_age.date);
    }

    #[test]
    fn the_window_contains_the_statutory_date(birth in birth(), category in category()) {
        let statutory = statutory_retirement(birth, category);
        let (earliest, latest) = allowed_retirement_window(birth, category);
        prop_assert!(earliest <= statutory.date && statutory.date <= latest);
        let original = birth
            .checked_add_months(Months::new(category.original_age_years() * 12))
            .unwrap();
        prop_assert!(earliest >= original);
        let three_years_before = birth
            .checked_add_months(Months::new(statutory.total_months().saturating_sub(36)))
            .unwrap();
        prop_assert!(earliest >= three_years_before);
        prop_assert_eq!(
            latest,
            birth.checked_add_months(Months::new(statutory.total_months() + 36)).unwrap()
        );
    }

    #[test]
    fn the_minimum_never_decreases(year in 1950i32..2100) {
        let this = minimum_contribution_months(year);
        prop_assert!((180..=240).contains(&this));
        prop_assert!(this <= minimum_contribution_months(year + 1));
        prop_assert!(minimum_contribution_months(year + 1) - this <= 6);
    }

    #[test]
    fn eligibility_is_a_threshold(months in 0u32..400, birth in birth()) {
        let e = eligibility(months, birth);
        prop_assert_eq!(e.eligible, months >= e.required_months);
        prop_assert_eq!(e.missing_months, e.required_months.saturating_sub(months));
    }

    #[test]
    fn estimate_is_monotone_in_months_and_balance(
        i in inputs(), more_months in 0u32..=120, more_balance in 0i64..=10_000_000
    ) {
        let base = estimate_pension(&i).unwrap();
        prop_assert_eq!(
            base.monthly_total,
            base.basic_part.checked_add(base.account_part).unwrap()
        );
        prop_assert_eq!(base.divisor, i.divisor);
        let longer = estimate_pension(&PensionInputs {
            contribution_months: i.contribution_months + more_months,
            ..i
        })
        .unwrap();
        prop_assert!(longer.basic_part >= base.basic_part);
        prop_assert_eq!(longer.account_part, base.account_part);
        let richer = estimate_pension(&PensionInputs {
            account_balance: Fen(i.account_balance.0 + more_balance),
            ..i
        })
        .unwrap();
        prop_assert!(richer.account_part >= base.account_part);
        prop_assert_eq!(richer.basic_part, base.basic_part);
        prop_assert!(longer.monthly_total >= base.monthly_total);
        prop_assert!(richer.monthly_total >= base.monthly_total);
    }

    #[test]
    fn estimate_is_monotone_in_wage_ratio_and_age(i in inputs(), more in 0u32..=5_000) {
        let base = estimate_pension(&i).unwrap();
        let higher_ratio = estimate_pension(&PensionInputs {
            indexed_ratio_bp: i.indexed_ratio_bp + more,
            ..i
        })
        .unwrap();
        prop_assert!(higher_ratio.basic_part >= base.basic_part);
        let age = (40..=70).find(|&a| months_divisor(a) == Some(i.divisor.rounded())).unwrap();
        if age < 70 {
            // Retiring older: a smaller divisor, so a larger account part on the same balance.
            let older = estimate_pension(&PensionInputs {
                divisor: MonthsDivisor::whole(months_divisor(age + 1).unwrap()),
                ..i
            })
            .unwrap();
            prop_assert!(older.divisor < base.divisor);
            prop_assert!(older.account_part >= base.account_part);
        }
    }

    #[test]
    fn equal_ratios_average_to_themselves(ratio_bp in 0i64..=30_000, wages in proptest::collection::vec(1i64..=10_000, 1..40)) {
        // base = wage × ratio / 10 000 exactly when the wage is a multiple of 10 000 fen.
        let yearly: Vec<_> = wages
            .iter()
            .map(|&w| (Fen(w * ratio_bp), Fen(w * 10_000)))
            .collect();
        prop_assert_eq!(indexed_ratio_bp(&yearly), Some(u32::try_from(ratio_bp).unwrap()));
    }

    #[test]
    fn indexed_ratio_lies_between_the_extremes(
        years in proptest::collection::vec((0i64..=5_000_000, 100_000i64..=5_000_000), 1..40)
    ) {
        let yearly: Vec<_> = years.iter().map(|&(b, w)| (Fen(b), Fen(w))).collect();
        let mean = i64::from(indexed_ratio_bp(&yearly).unwrap());
        let ratios: Vec<i64> = years.iter().map(|&(b, w)| b * 10_000 / w).collect();
        let low = *ratios.iter().min().unwrap();
        let high = *ratios.iter().max().unwrap() + 1;
        prop_assert!(low <= mean && mean <= high, "{} not in {}..={}", mean, low, high);
    }

    #[test]
    fn interest_is_monotone_and_months_weigh(
        opening in money(),
        amount in money(),
        month in 1u32..12,
        rate in 0u32..=1_000,
        extra in 0i64..=1_000_000,
    ) {
        let earlier = yearly_interest(opening, &[(month, amount)], rate);
        let later = yearly_interest(opening, &[(month + 1, amount)], rate);
        prop_assert!(earlier >= later);
        let more = yearly_interest(Fen(opening.0 + extra), &[(month, amount)], rate);
        prop_assert!(more >= earlier);
        prop_assert_eq!(checked_yearly_interest(opening, &[(month, amount)], rate), Some(earlier));
        prop_assert_eq!(yearly_interest(opening, &[(month, amount)], 0), Fen::ZERO);
        // Opening balance and January credits earn the same: a full year.
        prop_assert_eq!(
            yearly_interest(Fen(opening.0 + amount.0), &[], rate),
            yearly_interest(opening, &[(1, amount)], rate)
        );
    }

    #[test]
    fn projections_grow_with_time(
        start in money(), credit in (0i64..=1_000_000).prop_map(Fen), months in 0u32..=480, rate in 0u32..=1_000
    ) {
        let now = project_balance(start, credit, months, rate);
        let later = project_balance(start, credit, months + 1, rate);
        prop_assert!(later >= now);
        prop_assert!(now >= Fen(start.0 + credit.0 * i64::from(months)));
        prop_assert_eq!(
            project_balance(start, credit, months, 0),
            Fen(start.0 + credit.0 * i64::from(months))
        );
        // Splitting at a whole year changes nothing: the projection restarts its years there.
        let whole = months / 12 * 12;
        let split = project_balance(
            project_balance(start, credit, whole, rate),
            credit,
            months - whole,
            rate,
        );
        prop_assert_eq!(split, now);
    }

    #[test]
    fn growth_compounds(value in money(), rate in 0u32..=1_000, a in 0u32..40, b in 0u32..40) {
        prop_assert_eq!(grow(grow(value, rate, a), rate, b), grow(value, rate, a + b));
        prop_assert!(grow(value, rate, a + 1) >= grow(value, rate, a));
        prop_assert_eq!(grow(value, 0, a), value);
    }

    #[test]
    fn unemployment_entitlement_is_monotone(months in 0u32..1_000) {
        let this = unemployment_months(months);
        prop_assert!([0, 12, 18, 24].contains(&this));
        prop_assert!(this <= unemployment_months(months + 1));
    }

    #[test]
    fn a_growing_credit_never_gives_less(
        start in money(), credit in (0i64..=1_000_000).prop_map(Fen), months in 0u32..=480,
        growth in 0u32..=1_000, first in 1u32..=12, rate in 0u32..=1_000
    ) {
        let frozen = project_balance(start, credit, months, rate);
        let none = CreditGrowth { annual_bp: 0, first_rise_after: first };
        prop_assert_eq!(project_balance_growing(start, credit, months, none, rate), frozen);
        let growing = CreditGrowth { annual_bp: growth, first_rise_after: first };
        prop_assert!(project_balance_growing(start, credit, months, growing, rate) >= frozen);
        // Nothing grows before the first rise.
        let before = months.min(first);
        prop_assert_eq!(
            project_balance_growing(start, credit, before, growing, rate),
            project_balance(start, credit, before, rate)
        );
    }

    #[test]
    fn the_entitlement_stays_within_24_months(
        paid in proptest::collection::vec(0i64..400, 0..300),
        drawn in proptest::collection::vec(0i64..400, 0..60),
    ) {
        let first = Period::new(2000, 1).unwrap();
        let months = |v: &[i64]| v.iter().map(|&k| first.add_months(k).unwrap()).collect::<Vec<_>>();
        let (paid, drawn) = (months(&paid), months(&drawn));
        let e = unemployment_entitlement(&paid, &drawn);
        prop_assert!(e.months_granted <= 24);
        prop_assert_eq!(e.months_left, e.months_granted.saturating_sub(e.months_paid));
        prop_assert!(e.contribution_months as usize <= paid.len());
        // Without benefit ever drawn, every month paid counts.
        let never = unemployment_entitlement(&paid, &[]);
        let distinct: std::collections::BTreeSet<_> = paid.iter().collect();
        prop_assert_eq!(never.contribution_months as usize, distinct.len());
        prop_assert_eq!(never.months_granted, unemployment_months(never.contribution_months));
    }
}
