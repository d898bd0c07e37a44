//! The pension estimate and the electronic social-security card.

use actix_web::{post, web, HttpResponse};
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use shebao_domain::contribution::PERSONAL_ACCOUNT_RATE_BP;
use shebao_domain::identity::Gender;
use shebao_domain::insurance::InsuranceType;
use shebao_domain::money::Fen;
use shebao_domain::pension::{self, PensionInputs};
use shebao_domain::period::Period;
use shebao_domain::retirement::{self, RetirementCategory};
use shebao_domain::statement::{self, ContributionStatus};
use shebao_domain::ValueError;
use shebao_infra::records::{contributions, pension as pension_store};
use shebao_infra::registry::{persons, regions};
use shebao_openapi::records as dto;
use shebao_security::{TokenError, VerifyOptions};
use uuid::Uuid;

use crate::auth::bound::BoundPerson;
use crate::auth::extract::Json;
use crate::context::{self, Lang};
use crate::error::{field_error_of, ApiError, ErrorCode, Fields, Issue, Problems};
use crate::routes::records::pension_years;
use crate::state::AppState;

fn bp_of(field: &str, value: Option<f64>, min: f64, max: f64, f: &mut Fields) -> Option<u32> {
    let v = value?;
    if !v.is_finite() || v < min || v > max {
        f.add(
            field,
            Issue::Value(ValueError::Rule("out of the allowed range")),
        );
        return None;
    }
    // Decimal fraction → basis points, rounded to the nearest.
    Some((v * 10_000.0).round() as u32)
}

fn yuan(fen: i64) -> String {
    Fen(fen).yuan_string()
}

/// Estimates the monthly basic pension at retirement: the statutory date under the 2025 reform
/// (or a chosen one), contributions projected until then, the basic part `(C + C×Ī)/2 × N × 1 %`
/// and the account part `balance / months divisor`.
#[utoipa::path(post, operation_id = "pension_estimate", path = "/v1/me/pension-estimate", tag = "records", request_body = dto::PensionEstimateRequest, security(("person_bearer" = [])),
    responses(
        (status = 200, description = "The estimate, with its assumptions and reasoning", body = dto::PensionEstimate),
        Problems<BoundPerson>))]
#[post("/v1/me/pension-estimate")]
pub async fn pension_estimate(
    state: web::Data<AppState>,
    me: BoundPerson,
    body: Json<dto::PensionEstimateRequest>,
) -> Result<HttpResponse, ApiError> {
    let Json(req) = body;
    let pid = me.person_id;
    let now = state.now();
    // The person's region's calendar, as the session check read it.
    let today = me.today(now);
    let (person, rows, interest, years) = state
        .db
        .run(move |c| {
            let p = persons::get(c, pid)?.ok_or(shebao_infra::db::StoreError::NotFound)?;
            let rows = contributions::month_rows(c, pid, today)?;
            let interest = pension_store::interest_credits(c, pid)?;
            let years = regions::years(c, &p.region)?;
            Ok((p, rows, interest, years))
        })
        .await?;

    let mut f = Fields::new();
    let category = match req.retirement_category.as_deref() {
        Some(s) => f.check("retirement_category", RetirementCategory::parse(s)),
        None => Some(match person.gender {
            Gender::Male => RetirementCategory::Male,
            Gender::Female => RetirementCategory::FemaleWorker,
        }),
    };
    let ratio = bp_of("future_base_ratio", req.future_base_ratio, 0.6, 3.0, &mut f);
    let growth = bp_of("wage_growth", req.wage_growth, 0.0, 0.2, &mut f).unwrap_or(400);
    let rate = bp_of("interest_rate", req.interest_rate, 0.0, 0.1, &mut f).unwrap_or(300);
    let chosen = match req.retirement_date.as_deref() {
        Some(s) => match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                f.add(
                    "retirement_date",
                    Issue::Value(ValueError::Format {
                        expected: "a date YYYY-MM-DD",
                    }),
                );
                None
            }
        },
        None => None,
    };
    let Some(category) = category.filter(|_| f.is_empty()) else {
        return Err(f.into_error());
    };
    let statutory = retirement::statutory_retirement(person.birth_date, category);
    let (earliest, latest) = retirement::allowed_retirement_window(person.birth_date, category);
    let retire_on = chosen.unwrap_or(statutory.date);
    if retire_on < earliest || retire_on > latest {
        return Err(field_error_of(
            "retirement_date",
            Issue::Value(ValueError::Rule("must be within three years of the statutory date and not before the original retirement age")),
        ));
    }

    // Contributions so far and until retirement.
    let month_rows: Vec<statement::MonthRow> = rows.iter().map(|(r, _)| *r).collect();
    let so_far = statement::pension_months(&month_rows);
    let current = Period::containing(today);
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

    // Ī: the person's yearly ratios so far, then the assumed ratio for the projected months.
    let mut yearly: std::collections::BTreeMap<i32, (i64, i64)> = std::collections::BTreeMap::new();
    for (r, base) in &rows {
        if r.insurance == InsuranceType::Pension && r.status == ContributionStatus::Paid {
            let e = yearly.entry(r.period.year()).or_default();
            e.0 += base;
            e.1 += 1;
        }
    }
    let pairs: Vec<(Fen, Fen)> = yearly
        .iter()
        .filter_map(|(y, (sum, n))| {
            let wage = years
                .iter()
                .find(|p| p.year() == *y)?
                .average_monthly_wage();
            Some((Fen(sum / n.max(&1)), wage))
        })
        .collect();
    let history_bp = pension::indexed_ratio_bp(&pairs).unwrap_or(10_000);
    let future_bp = ratio.unwrap_or(history_bp);
    let indexed_bp = if total == 0 {
        future_bp
    } else {
        u32::try_from(
            (u64::from(history_bp) * u64::from(so_far)
                + u64::from(future_bp) * u64::from(projected))
                / u64::from(total),
        )
        .unwrap_or(future_bp)
    };

    // C: the latest published average wage, grown to the year before retirement.
    let latest_param = years
        .iter()
        .filter(|p| p.year() <= today.year())
        .max_by_key(|p| p.year())
        .or_else(|| years.last());
    let Some(latest_param) = latest_param else {
        return Err(ApiError::Code(ErrorCode::NoYearParameters));
    };
    let grow_years =
        u32::try_from((retire_on.year() - 1 - latest_param.year()).max(0)).unwrap_or(0);
    let c = pension::grow(latest_param.average_monthly_wage(), growth, grow_years);

    // The account: today's balance, plus 8 % of the assumed base each projected month.
    let balance_now = pension_years(&rows, &interest)
        .last()
        .map(|y| y.closing_fen)
        .unwrap_or(0);
    let monthly_base = latest_param
        .average_monthly_wage()
        .apply_bp(future_bp)
        .unwrap_or(Fen::ZERO);
    let monthly_credit = monthly_base
        .apply_bp(PERSONAL_ACCOUNT_RATE_BP)
        .unwrap_or(Fen::ZERO);
    let balance = pension::project_balance(Fen(balance_now), monthly_credit, projected, rate);
    let age = retirement::age_in_whole_years(person.birth_date, retire_on);
    let estimate = pension::estimate_pension(&PensionInputs {
        average_monthly_wage: c,
        indexed_ratio_bp: indexed_bp,
        contribution_months: total,
        account_balance: balance,
        age_years_at_retirement: age,
    })
    .ok_or_else(|| ApiError::internal("pension estimate out of range"))?;

    let (basic, account, monthly) = if eligibility.eligible {
        (
            estimate.basic_part.0,
            estimate.account_part.0,
            estimate.monthly_total.0,
        )
    } else {
        (0, 0, 0)
    };
    let lang = context::lang();
    let years_of = |m: u32| f64::from(m * 100 / 12) / 100.0;
    let mut explanation = Vec::new();
    match lang {
        Lang::Zh => {
            explanation.push(format!(
                "按 2025 年起施行的渐进式延迟法定退休年龄办法，您的法定退休年龄为 {} 岁 {} 个月（{}），本次按 {} 退休测算。",
                statutory.years, statutory.months, statutory.date, retire_on
            ));
            explanation.push(format!(
                "截至目前累计缴费 {so_far} 个月；按假设继续缴费，退休前还将缴费 {projected} 个月，合计 {total} 个月（{:.2} 年）。",
                years_of(total)
            ));
            explanation.push(format!(
                "{} 年退休的最低缴费年限为 {} 个月（{:.2} 年）。",
                retire_on.year(),
                eligibility.required_months,
                years_of(eligibility.required_months)
            ));
            if eligibility.eligible {
                explanation.push(format!(
                    "基础养老金 = (C + C×Ī) ÷ 2 × 缴费年限 × 1% = ({} + {} × {:.4}) ÷ 2 × {:.2} × 1% = {} 元。",
                    yuan(c.0), yuan(c.0), f64::from(indexed_bp) / 10_000.0, years_of(total), yuan(basic)
                ));
                explanation.push(format!(
                    "个人账户养老金 = 账户余额 {} 元 ÷ 计发月数 {} = {} 元。",
                    yuan(balance.0),
                    estimate.divisor,
                    yuan(account)
                ));
                explanation.push(format!(
                    "每月基本养老金约 {} 元（测算值，以实际核定为准）。",
                    yuan(monthly)
                ));
            } else {
                explanation.push(format!(
                    "缴费年限不足，退休时不能按月领取基本养老金：还需缴费 {} 个月，可延长缴费或延迟退休。",
                    eligibility.missing_months
                ));
            }
        }
        Lang::En => {
            explanation.push(format!(
                "Under the gradual retirement-age reform in force since 2025, your statutory retirement age is {} years {} months ({}); this estimate retires you on {}.",
                statutory.years, statutory.months, statutory.date, retire_on
            ));
            explanation.push(format!(
                "You have {so_far} months of pension contributions; continuing as assumed adds {projected} months before retirement, {total} in all ({:.2} years).",
                years_of(total)
            ));
            explanation.push(format!(
                "Retiring in {} needs at least {} months ({:.2} years).",
                retire_on.year(),
                eligibility.required_months,
                years_of(eligibility.required_months)
            ));
            if eligibility.eligible {
                explanation.push(format!(
                    "Basic part = (C + C×Ī) / 2 × years × 1 % = ({} + {} × {:.4}) / 2 × {:.2} × 1 % = {} yuan.",
                    yuan(c.0), yuan(c.0), f64::from(indexed_bp) / 10_000.0, years_of(total), yuan(basic)
                ));
                explanation.push(format!(
                    "Account part = balance {} yuan / divisor {} = {} yuan.",
                    yuan(balance.0),
                    estimate.divisor,
                    yuan(account)
                ));
                explanation.push(format!("Estimated monthly basic pension: about {} yuan (an estimate; the agency's assessment decides).", yuan(monthly)));
            } else {
                explanation.push(format!(
                    "Too few contribution months to draw a monthly pension at that date: {} more months are needed (contribute longer or retire later).",
                    eligibility.missing_months
                ));
            }
        }
    }
    Ok(HttpResponse::Ok().json(dto::PensionEstimate {
        eligible: eligibility.eligible,
        contribution_years: years_of(total),
        required_years: years_of(eligibility.required_months),
        retirement_date: retire_on,
        basic_part_fen: basic,
        account_part_fen: account,
        monthly_total_fen: monthly,
        assumptions: dto::PensionAssumptions {
            retirement_category: category.as_str().to_owned(),
            future_base_ratio_bp: future_bp,
            wage_growth_bp: growth,
            interest_rate_bp: rate,
            average_monthly_wage_fen: c.0,
            indexed_ratio_bp: indexed_bp,
            months_divisor: estimate.divisor,
            age_at_retirement_years: age,
            contribution_months_so_far: so_far,
            projected_months: projected,
            account_balance_at_retirement_fen: balance.0,
        },
        explanation,
    }))
}

pub const ECARD_AUDIENCE: &str = "shebao:ecard";
pub const ECARD_TOKEN_USE: &str = "ecard";
/// An e-card lives at most five minutes.
pub const ECARD_TTL_SECS: i64 = 300;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ECardClaims {
    iss: String,
    aud: String,
    /// The registry's person id (not the ID number).
    sub: String,
    exp: i64,
    iat: i64,
    jti: String,
    token_use: String,
    name_masked: String,
    card_number_masked: String,
    medical_category: String,
}

/// Issues the electronic social-security card: a signed token (≤ 5 minutes) with the masked
/// name, masked card number and medical category, and its QR code.
#[utoipa::path(post, operation_id = "ecard", path = "/v1/me/ecard", tag = "records", security(("person_bearer" = [])),
    responses(
        (status = 200, description = "The e-card", body = dto::ECard),
        Problems<BoundPerson>))]
#[post("/v1/me/ecard")]
pub async fn ecard(state: web::Data<AppState>, me: BoundPerson) -> Result<HttpResponse, ApiError> {
    let pid = me.person_id;
    let person = state
        .db
        .run(move |c| persons::get(c, pid))
        .await?
        .ok_or(ApiError::NotFound("person"))?;
    let now = state.now();
    let exp = now.timestamp() + ECARD_TTL_SECS;
    let claims = ECardClaims {
        iss: state.settings.token_issuer.clone(),
        aud: ECARD_AUDIENCE.to_owned(),
        sub: person.id.to_string(),
        exp,
        iat: now.timestamp(),
        jti: Uuid::now_v7().to_string(),
        token_use: ECARD_TOKEN_USE.to_owned(),
        name_masked: person.name.masked(),
        card_number_masked: person.card_number.masked(),
        medical_category: person.medical_category.as_str().to_owned(),
    };
    let token = state.signer.sign(&claims).map_err(ApiError::internal)?;
    let qr = qrcodegen_image::draw_base64(&token).map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().json(dto::ECard {
        token,
        qr_png_base64: qr,
        expires_at: chrono::DateTime::from_timestamp(exp, 0).unwrap_or(now),
    }))
}

/// Verifies an e-card for a hospital or pharmacy. Always 200: `valid` says whether it is
/// genuine and unexpired. It can also be verified offline with the keys at
/// `/.well-known/jwks.json` (EdDSA, audience `shebao:ecard`).
#[utoipa::path(post, operation_id = "ecard_verify", path = "/v1/ecard/verify", tag = "records", request_body = dto::ECardVerifyRequest,
    responses((status = 200, description = "The verdict", body = dto::ECardVerification)))]
#[post("/v1/ecard/verify")]
pub async fn ecard_verify(
    state: web::Data<AppState>,
    body: Json<dto::ECardVerifyRequest>,
) -> Result<HttpResponse, ApiError> {
    let opts = VerifyOptions {
        issuer: &state.settings.token_issuer,
        audience: ECARD_AUDIENCE,
        token_use: ECARD_TOKEN_USE,
    };
    let verdict = match state.signer.verify::<ECardClaims>(
        body.0.token.trim(),
        &opts,
        state.now().timestamp(),
    ) {
        Ok(c) => dto::ECardVerification {
            valid: true,
            name_masked: Some(c.name_masked),
            card_number_masked: Some(c.card_number_masked),
            medical_category: Some(c.medical_category),
            expires_at: chrono::DateTime::from_timestamp(c.exp, 0),
            reason: None,
        },
        Err(e) => dto::ECardVerification {
            valid: false,
            name_masked: None,
            card_number_masked: None,
            medical_category: None,
            expires_at: None,
            reason: Some(
                if matches!(e, TokenError::Expired) {
                    "expired"
                } else {
                    "invalid"
                }
                .to_owned(),
            ),
        },
    };
    Ok(HttpResponse::Ok().json(verdict))
}
