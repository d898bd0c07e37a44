//! Property tests for the check-character algorithms, periods and money.
#![allow(clippy::unwrap_used)]

use chrono::{Datelike, NaiveDate, TimeDelta};
use proptest::prelude::*;
use shebao_domain::employer::CreditCode;
use shebao_domain::identity::{Gender, NationalId, PhoneNumber};
use shebao_domain::money::Fen;
use shebao_domain::period::Period;
use shebao_domain::region::{Rates, RegionCode, YearParameters};
use shebao_domain::ValueError;

const PROVINCES: [u8; 34] = [
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
    53, 54, 61, 62, 63, 64, 65, 71, 81, 82,
];
const ID_CHARS: &str = "0123456789X";
const CREDIT_CHARS: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/// A region prefix a national ID accepts: a province code and four more digits.
fn id_region() -> impl Strategy<Value = String> {
    (proptest::sample::select(PROVINCES.to_vec()), 0u32..10_000)
        .prop_map(|(province, rest)| format!("{province}{rest:04}"))
}

/// Any date from 1900-01-01 to 9999-12-31.
fn birth_date() -> impl Strategy<Value = NaiveDate> {
    let start = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap();
    let end = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap();
    (0..=(end - start).num_days()).prop_map(move |days| start + TimeDelta::days(days))
}

fn valid_id() -> impl Strategy<Value = NationalId> {
    (id_region(), birth_date(), 0u16..=999).prop_map(|(region, date, sequence)| {
        NationalId::from_parts(&region, date, sequence).unwrap()
    })
}

/// 17 leading characters of a credit code: two from the set, a 6-digit region, nine from the set.
fn credit_first17() -> impl Strategy<Value = String> {
    let set_char = proptest::sample::select(CREDIT_CHARS.chars().collect::<Vec<_>>());
    (
        proptest::collection::vec(set_char.clone(), 2),
        100_000u32..1_000_000,
        proptest::collection::vec(set_char, 8),
    )
        .prop_map(|(head, region, tail)| {
            let head: String = head.into_iter().collect();
            let tail: String = tail.into_iter().collect();
            // Characters 9 to 17 are an organisation code, with its own check character.
            let check = CreditCode::organisation_check(&tail).unwrap();
            format!("{head}{region}{tail}{check}")
        })
}

fn replace_at(s: &str, index: usize, c: char) -> String {
    s.chars()
        .enumerate()
        .map(|(i, old)| if i == index { c } else { old })
        .collect()
}

fn period() -> impl Strategy<Value = Period> {
    (1900i32..=9999, 1u32..=12).prop_map(|(year, month)| Period::new(year, month).unwrap())
}

proptest! {
    #[test]
    fn national_id_from_parts_round_trips(region in id_region(), date in birth_date(), sequence in 0u16..=999) {
        let id = NationalId::from_parts(&region, date, sequence).unwrap();
        let parsed = NationalId::parse(id.expose()).unwrap();
        prop_assert_eq!(&parsed, &id);
        prop_assert_eq!(parsed.birth_date(), date);
        prop_assert_eq!(parsed.region_prefix(), region.as_str());
        let expected_gender = if sequence % 2 == 1 { Gender::Male } else { Gender::Female };
        prop_assert_eq!(parsed.gender(), expected_gender);
        // Lower-case x is accepted and normalised.
        let lower = NationalId::parse(&id.expose().to_lowercase()).unwrap();
        prop_assert_eq!(lower, id.clone());
        // The mask hides the birth date and sequence number.
        let masked = id.masked();
        prop_assert_eq!(&masked[..3], &id.expose()[..3]);
        prop_assert_eq!(&masked[3..14], "***********");
        prop_assert_eq!(&masked[14..], &id.expose()[14..]);
        let debug = format!("{:?}", id);
        prop_assert!(!debug.contains(&id.expose()[6..14]));
    }

    /// MOD 11-2 catches every single-character substitution: the weights are all non-zero mod 11
    /// and 11 is prime, so changing one digit always changes the sum mod 11.
    #[test]
    fn national_id_single_substitutions_are_rejected(id in valid_id()) {
        let raw = id.expose();
        let check = raw.chars().nth(17).unwrap();
        for position in 0..18 {
            for replacement in ID_CHARS.chars() {
                if raw.chars().nth(position) == Some(replacement) {
                    continue;
                }
                let changed = replace_at(raw, position, replacement);
                let result = NationalId::parse(&changed);
                prop_assert!(result.is_err(), "{} was accepted", changed);
                if position < 17 && replacement != 'X' {
                    // Whatever else fails (region, date), the check character alone rejects it.
                    prop_assert_ne!(NationalId::check_character(&changed[..17]), Some(check));
                }
                if position == 17 {
                    prop_assert_eq!(result, Err(ValueError::CheckCharacter));
                }
            }
        }
    }

    #[test]
    fn credit_code_from_first17_round_trips(first17 in credit_first17()) {
        let code = CreditCode::from_first17(&first17).unwrap();
        prop_assert_eq!(&code.as_str()[..17], first17.as_str());
        prop_assert_eq!(code.region_code(), &first17[2..8]);
        prop_assert_eq!(CreditCode::parse(code.as_str()).unwrap(), code.clone());
        prop_assert_eq!(CreditCode::parse(&code.as_str().to_lowercase()).unwrap(), code);
    }

    /// GB 32100's check catches every single-character substitution: the weights 3^i mod 31 are
    /// all non-zero and 31 is prime, and two characters differ by 1..=30, never a multiple of 31.
    #[test]
    fn credit_code_single_substitutions_are_rejected(first17 in credit_first17()) {
        let code = CreditCode::from_first17(&first17).unwrap();
        let raw = code.as_str();
        let check = raw.chars().nth(17).unwrap();
        for position in 0..18 {
            for replacement in CREDIT_CHARS.chars() {
                if raw.chars().nth(position) == Some(replacement) {
                    continue;
                }
                let changed = replace_at(raw, position, replacement);
                let result = CreditCode::parse(&changed);
                prop_assert!(result.is_err(), "{} was accepted", changed);
                if position < 17 {
                    // The check character catches it, even where the region format would not.
                    prop_assert_ne!(CreditCode::check_character(&changed[..17]), Some(check));
                    let in_region = (2..8).contains(&position);
                    if !in_region || replacement.is_ascii_digit() {
                        prop_assert_eq!(result, Err(ValueError::CheckCharacter));
                    }
                } else {
                    prop_assert_eq!(result, Err(ValueError::CheckCharacter));
                }
            }
        }
    }

    #[test]
    fn period_display_parse_round_trip(p in period()) {
        let text = p.to_string();
        prop_assert_eq!(text.len(), 7);
        prop_assert_eq!(Period::parse(&text), Ok(p));
        let json = serde_json::to_string(&p).unwrap();
        prop_assert_eq!(serde_json::from_str::<Period>(&json).unwrap(), p);
    }

    #[test]
    fn period_next_prev_are_inverse(p in period()) {
        if p != Period::MAX {
            prop_assert_eq!(p.next().prev(), p);
            prop_assert_eq!(p.months_between(p.next()), 1);
            prop_assert!(p < p.next());
        }
        if p != Period::MIN {
            prop_assert_eq!(p.prev().next(), p);
            prop_assert_eq!(p.prev().months_between(p), 1);
        }
    }

    #[test]
    fn period_add_months_agrees_with_months_between(a in period(), b in period()) {
        let n = a.months_between(b);
        prop_assert_eq!(a.add_months(n), Some(b));
        prop_assert_eq!(b.months_between(a), -n);
        prop_assert_eq!(a.cmp(&b), n.cmp(&0).reverse());
        prop_assert_eq!(Period::containing(a.first_day()), a);
        prop_assert_eq!(Period::containing(a.last_day()), a);
        prop_assert_eq!(a.first_day().day(), 1);
    }

    /// `apply_bp` is the exact product rounded half away from zero: within half a fen, odd in
    /// the amount, and exact for 100 %.
    #[test]
    fn apply_bp_rounds_to_nearest(amount in -1_000_000_000_000i64..1_000_000_000_000, bp in 0u32..=20_000) {
        let result = Fen(amount).apply_bp(bp).unwrap();
        let exact = i128::from(amount) * i128::from(bp);
        let error = i128::from(result.0) * 10_000 - exact;
        prop_assert!(error.abs() <= 5_000);
        if error.abs() == 5_000 {
            // A tie went away from zero.
            prop_assert_eq!(error.signum(), exact.signum());
        }
        prop_assert_eq!(Fen(-amount).apply_bp(bp), Some(Fen(-result.0)));
        prop_assert_eq!(Fen(amount).apply_bp(10_000), Some(Fen(amount)));
        prop_assert_eq!(Fen(amount).apply_pct(bp / 100), Fen(amount).apply_bp(bp / 100 * 100));
    }

    #[test]
    fn contribution_base_is_clamped(wage in 1i64..=1_000_000_000, floor in 1u16..=300, extra in 0u16..=700, declared in any::<i64>()) {
        let params = YearParameters::new(
            RegionCode::parse("350100").unwrap(), 2025, Fen(wage), floor, floor + extra, 5, Rates::mainland_default(),
        ).unwrap();
        let base = params.contribution_base(Fen(declared));
        prop_assert!(params.base_floor() <= base && base <= params.base_ceiling());
        prop_assert_eq!(params.contribution_base(base), base);
        if params.base_floor() <= Fen(declared) && Fen(declared) <= params.base_ceiling() {
            prop_assert_eq!(base, Fen(declared));
        }
    }

    #[test]
    fn phone_numbers_in_any_accepted_form(second in 3u8..=9, rest in 0u64..1_000_000_000) {
        let national = format!("1{second}{rest:09}");
        let expected = format!("+86{national}");
        let spaced = format!("+86 {} {} {}", &national[..3], &national[3..7], &national[7..]);
        for input in [national.clone(), format!("+86{national}"), format!("0086{national}"), spaced] {
            let phone = PhoneNumber::parse(&input).unwrap();
            prop_assert_eq!(phone.as_e164(), expected.as_str());
            let masked = format!("+86 {}****{}", &national[..3], &national[7..]);
            prop_assert_eq!(format!("{:?}", phone), format!("PhoneNumber({:?})", masked));
        }
    }
}
