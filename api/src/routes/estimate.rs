//! The pension estimate and the electronic social-security card.

use actix_web::{post, web, HttpResponse};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use shebao_domain::estimate::{self, Assumptions, EstimateError, Language};
use shebao_domain::identity::Gender;
use shebao_domain::retirement::RetirementCategory;
use shebao_domain::statement::years_of_months;
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
use crate::routes::records::as_fen;
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

/// The request's assumptions, checked; the category defaults from the person's gender.
fn assumptions(req: &dto::PensionEstimateRequest, gender: Gender) -> Result<Assumptions, ApiError> {
    let mut f = Fields::new();
    let category = match req.retirement_category.as_deref() {
        Some(s) => f.check("retirement_category", RetirementCategory::parse(s)),
        None => Some(RetirementCategory::for_person(gender, false)),
    };
    let future_base_ratio_bp = bp_of("future_base_ratio", req.future_base_ratio, 0.6, 3.0, &mut f);
    let wage_growth_bp = bp_of("wage_growth", req.wage_growth, 0.0, 0.2, &mut f)
        .unwrap_or(Assumptions::DEFAULT_WAGE_GROWTH_BP);
    let interest_rate_bp = bp_of("interest_rate", req.interest_rate, 0.0, 0.1, &mut f)
        .unwrap_or(Assumptions::DEFAULT_INTEREST_RATE_BP);
    let retirement_date = req.retirement_date.as_deref().and_then(|s| {
        let parsed = NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| ValueError::Format {
            expected: "a date YYYY-MM-DD",
        });
        f.check("retirement_date", parsed)
    });
    match category.filter(|_| f.is_empty()) {
        Some(category) => Ok(Assumptions {
            category,
            retirement_date,
            future_base_ratio_bp,
            wage_growth_bp,
            interest_rate_bp,
        }),
        None => Err(f.into_error()),
    }
}

fn estimate_error(e: EstimateError) -> ApiError {
    match e {
        EstimateError::OutsideWindow => field_error_of(
            "retirement_date",
            Issue::Value(ValueError::Rule("must be within three years of the statutory date and not before the original retirement age")),
        ),
        EstimateError::NoYearParameters => ApiError::Code(ErrorCode::NoYearParameters),
        EstimateError::OutOfRange => ApiError::internal("pension estimate out of range"),
    }
}

fn estimate_view(e: &estimate::Estimate, lang: Language) -> dto::PensionEstimate {
    dto::PensionEstimate {
        eligible: e.eligible,
        contribution_years: years_of_months(e.total_months()),
        required_years: years_of_months(e.required_months),
        retirement_date: e.retirement_date,
        basic_part_fen: e.basic_part.0,
        account_part_fen: e.account_part.0,
        monthly_total_fen: e.monthly_total.0,
        assumptions: dto::PensionAssumptions {
            retirement_category: e.category.as_str().to_owned(),
            future_base_ratio_bp: e.future_base_ratio_bp,
            wage_growth_bp: e.wage_growth_bp,
            interest_rate_bp: e.interest_rate_bp,
            average_monthly_wage_fen: e.average_monthly_wage.0,
            indexed_ratio_bp: e.indexed_ratio_bp,
            months_divisor: e.divisor.rounded(),
            months_divisor_exact: f64::from(e.divisor.hundredths()) / 100.0,
            divisor_rule: e.divisor_rule.as_str().to_owned(),
            age_at_retirement_years: e.age_years,
            age_at_retirement_months: e.age_months,
            contribution_months_so_far: e.months_so_far,
            projected_months: e.projected_months,
            account_balance_at_retirement_fen: e.balance_at_retirement.0,
        },
        explanation: e.explanation.iter().map(|l| l.render(lang)).collect(),
    }
}

/// Estimates the monthly basic pension at retirement: the statutory date under the 2025 reform
/// (or a chosen one), contributions projected until then, the basic part `(C + C×Ī)/2 × N × 1 %`
/// and the account part `balance / months divisor`; every assumption is stated in the
/// explanation (see the README).
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
    // The person's region's calendar, as the session check read it.
    let today = me.today(state.now());
    let (person, rows, interest, years, rules) = state
        .db
        .run(move |c| {
            let p = persons::get(c, pid)?.ok_or(shebao_infra::db::StoreError::NotFound)?;
            let rows = contributions::month_rows(c, pid, today)?;
            let interest = pension_store::interest_credits(c, pid)?;
            let years = regions::years(c, &p.region)?;
            let rules = regions::rules(c, &p.region)?.unwrap_or_default();
            Ok((p, rows, interest, years, rules))
        })
        .await?;
    let assumptions = assumptions(&req, person.gender)?;
    let (rows, interest) = as_fen(rows, interest);
    let history = estimate::History {
        birth_date: person.birth_date,
        today,
        rows: &rows,
        interest: &interest,
        years: &years,
        rules,
    };
    let e = estimate::estimate(&history, &assumptions).map_err(estimate_error)?;
    let lang = match context::lang() {
        Lang::Zh => Language::Zh,
        Lang::En => Language::En,
    };
    Ok(HttpResponse::Ok().json(estimate_view(&e, lang)))
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
            filed_regions: filed_regions(&state, &c.sub).await?,
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
            filed_regions: Vec::new(),
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

/// The approved medical filings of the card's holder that cover today (their region's day).
async fn filed_regions(state: &AppState, sub: &str) -> Result<Vec<dto::FiledRegion>, ApiError> {
    let Ok(person) = Uuid::parse_str(sub) else {
        return Ok(Vec::new());
    };
    let now = state.now();
    let filings = state
        .db
        .read(move |c| {
            let Some(today) = persons::local_today(c, person, now)? else {
                return Ok(Vec::new());
            };
            Ok(shebao_infra::applications::effects::filings_of(c, person)?
                .into_iter()
                .filter(|f| f.starts <= today && today <= f.ends)
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(filings
        .into_iter()
        .map(|f| dto::FiledRegion {
            region: f.region_code,
            from: f.starts,
            to: f.ends,
        })
        .collect())
}
