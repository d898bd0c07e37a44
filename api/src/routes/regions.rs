use actix_web::{get, post, put, web, HttpRequest, HttpResponse};
use shebao_domain::money::Fen;
use shebao_domain::region::{
    DivisorFraction, Premiums, RatePair, Rates, RegionCode, RegionName, RegionRules, TimeZoneName,
    YearParameters,
};
use shebao_infra::audit;
use shebao_infra::records::pension;
use shebao_infra::registry::regions::{self, Region};
use shebao_openapi::staff::{
    self as dto, PageQuery, RatesView, RegionList, RegionSummary, RegionView, YearParametersView,
};

use crate::audit::Audit;
use crate::auth::extract::{Json, PageRequest, Staff, ANY_STAFF};
use crate::cursor;
use crate::error::{field_error_of, ApiError, ErrorCode, Fields, Issue, Problems};
use crate::state::AppState;

fn pair(p: RatePair) -> dto::RatePair {
    dto::RatePair {
        employer_bp: p.employer_bp,
        employee_bp: p.employee_bp,
    }
}

pub fn year_view(y: &YearParameters) -> YearParametersView {
    let r = y.rates();
    YearParametersView {
        year: y.year(),
        average_monthly_wage_fen: y.average_monthly_wage().0,
        base_floor_pct: y.base_floor_pct(),
        base_ceiling_pct: y.base_ceiling_pct(),
        base_floor_fen: y.base_floor().0,
        base_ceiling_fen: y.base_ceiling().0,
        late_fee_bp_per_day: y.late_fee_bp_per_day(),
        rates: RatesView {
            pension: pair(r.pension),
            medical: pair(r.medical),
            unemployment: pair(r.unemployment),
            work_injury: pair(r.work_injury),
            maternity: pair(r.maternity),
        },
        personal_account_bp: y.personal_account_bp(),
        flexible_pension_bp: y.premiums().flexible_pension_bp,
        flexible_pension_personal_bp: y.premiums().flexible_pension_personal_bp,
        flexible_medical_bp: y.premiums().flexible_medical_bp,
        resident_medical_premium_fen: y.premiums().resident_medical_premium.0,
        resident_medical_opens: y.premiums().resident_medical_window.map(|w| w.0),
        resident_medical_closes: y.premiums().resident_medical_window.map(|w| w.1),
    }
}

fn region_view(region: &Region, rules: &RegionRules, years: &[YearParameters]) -> RegionView {
    RegionView {
        code: region.code.as_str().to_owned(),
        name: region.name.as_str().to_owned(),
        time_zone: region.time_zone.as_str().to_owned(),
        contribution_due_day: rules.contribution_due_day,
        divisor_age_47: rules.divisor_age_47,
        divisor_fraction: rules.divisor_fraction.as_str().to_owned(),
        years: years.iter().map(year_view).collect(),
    }
}

/// The rule fields of a region upsert, each checked on its own; `None` where not sent.
struct RuleChanges {
    due_day: Option<u8>,
    divisor_age_47: Option<u16>,
    fraction: Option<DivisorFraction>,
}

impl RuleChanges {
    fn parse(b: &dto::RegionUpsert, f: &mut Fields) -> RuleChanges {
        RuleChanges {
            due_day: b
                .contribution_due_day
                .and_then(|d| f.check("contribution_due_day", RegionRules::due_day(d))),
            divisor_age_47: b
                .divisor_age_47
                .and_then(|d| f.check("divisor_age_47", RegionRules::divisor_at_47(d))),
            fraction: b
                .divisor_fraction
                .as_deref()
                .and_then(|s| f.check("divisor_fraction", DivisorFraction::parse(s))),
        }
    }

    fn apply(&self, to: RegionRules) -> RegionRules {
        RegionRules {
            contribution_due_day: self.due_day.unwrap_or(to.contribution_due_day),
            divisor_age_47: self.divisor_age_47.unwrap_or(to.divisor_age_47),
            divisor_fraction: self.fraction.unwrap_or(to.divisor_fraction),
        }
    }
}

/// The regions the registry knows, by code, with the years their parameters cover.
#[utoipa::path(get, operation_id = "list_regions", path = "/v1/staff/regions", tag = "staff",
    params(PageQuery),
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "A page of regions", body = RegionList),
        (status = 422, description = "`limit` out of range or `cursor` not from a previous page", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Staff>))]
#[get("/v1/staff/regions")]
pub async fn list(
    state: web::Data<AppState>,
    staff: Staff,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    staff.require(ANY_STAFF)?;
    let page = PageRequest::parse(&query)?;
    let result = state
        .db
        .read(move |c| regions::list(c, page.after.as_deref(), page.limit))
        .await?;
    Ok(HttpResponse::Ok().json(RegionList {
        items: result
            .items
            .into_iter()
            .map(|s| RegionSummary {
                code: s.region.code.as_str().to_owned(),
                name: s.region.name.as_str().to_owned(),
                time_zone: s.region.time_zone.as_str().to_owned(),
                parameter_years: s.years,
            })
            .collect(),
        next_cursor: result.next.as_deref().map(cursor::encode),
    }))
}

/// One region with its parameters for every year loaded.
#[utoipa::path(get, operation_id = "get_region", path = "/v1/staff/regions/{code}", tag = "staff",
    params(("code" = String, Path, description = "6-digit region code", pattern = "^[1-9][0-9]{5}$")),
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "The region", body = RegionView),
        (status = 404, description = "No such region", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Staff>))]
#[get("/v1/staff/regions/{code}")]
pub async fn get(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    staff.require(ANY_STAFF)?;
    let code = RegionCode::parse(&path.into_inner()).map_err(|_| ApiError::NotFound("region"))?;
    let found = state
        .db
        .read(move |c| {
            let Some(region) = regions::get(c, &code)? else {
                return Ok(None);
            };
            let rules = regions::rules(c, &code)?.unwrap_or_default();
            let years = regions::years(c, &code)?;
            Ok(Some((region, rules, years)))
        })
        .await?;
    let (region, rules, years) = found.ok_or(ApiError::NotFound("region"))?;
    Ok(HttpResponse::Ok().json(region_view(&region, &rules, &years)))
}

fn admin_only(staff: &Staff) -> Result<(), ApiError> {
    staff.require(&[shebao_domain::staff::StaffRole::Admin])
}

/// Creates a region or changes its name, time zone and local rules (admin). Rules not sent stay
/// as they are (a new region starts with the defaults: due on the 15th, divisor 207 at 47,
/// whole years).
#[utoipa::path(put, operation_id = "put_region", path = "/v1/staff/regions/{code}", tag = "staff", request_body = dto::RegionUpsert,
    params(("code" = String, Path, description = "6-digit region code", pattern = "^[1-9][0-9]{5}$")),
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = RegionView),
        (status = 201, description = "Created", body = RegionView),
        (status = 404, description = "The code is not a region code", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Staff>))]
#[put("/v1/staff/regions/{code}")]
pub async fn put_region(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
    body: Json<dto::RegionUpsert>,
) -> Result<HttpResponse, ApiError> {
    admin_only(&staff)?;
    let code = RegionCode::parse(&path.into_inner()).map_err(|_| ApiError::NotFound("region"))?;
    let mut f = Fields::new();
    let name = f.check("name", RegionName::parse(&body.0.name));
    let zone = f.check("time_zone", TimeZoneName::parse(&body.0.time_zone));
    let changes = RuleChanges::parse(&body.0, &mut f);
    let (Some(name), Some(time_zone), true) = (name, zone, f.is_empty()) else {
        return Err(f.into_error());
    };
    let ts = state.now().naive_utc();
    let region = Region {
        code: code.clone(),
        name,
        time_zone,
    };
    let entry = Audit::of(&req).staff(&staff, "region.upsert", "region", code.as_str().to_owned());
    let (created, view) = state
        .db
        .transaction(move |c| {
            let created = regions::upsert(c, &region, ts)?;
            let rules = changes.apply(regions::rules(c, &region.code)?.unwrap_or_default());
            regions::set_rules(c, &region.code, &rules, ts)?;
            audit::record(c, &entry, ts)?;
            let years = regions::years(c, &region.code)?;
            Ok((created, region_view(&region, &rules, &years)))
        })
        .await?;
    Ok(created_or_ok(created, view))
}

/// The year's parameters as the domain checks them.
fn year_parameters(
    code: RegionCode,
    year: i32,
    b: &dto::YearParametersInput,
) -> Result<YearParameters, ApiError> {
    let pair = |p: &dto::RatePair| RatePair {
        employer_bp: p.employer_bp,
        employee_bp: p.employee_bp,
    };
    let rates = Rates {
        pension: pair(&b.rates.pension),
        medical: pair(&b.rates.medical),
        unemployment: pair(&b.rates.unemployment),
        work_injury: pair(&b.rates.work_injury),
        maternity: pair(&b.rates.maternity),
    };
    YearParameters::new(
        code,
        year,
        Fen(b.average_monthly_wage_fen),
        b.base_floor_pct,
        b.base_ceiling_pct,
        b.late_fee_bp_per_day,
        rates,
    )
    .map_err(|e| field_error_of("$", Issue::Value(e)))?
    .with_personal_account_bp(b.personal_account_bp)
    .map_err(|e| field_error_of("personal_account_bp", Issue::Value(e)))?
    .with_premiums(premiums_of(b)?)
    .map_err(|(field, e)| field_error_of(field, Issue::Value(e)))
}

/// The premiums of a year's parameters; omitted ones take their defaults.
fn premiums_of(b: &dto::YearParametersInput) -> Result<Premiums, ApiError> {
    let d = Premiums::default();
    let window = match (b.resident_medical_opens, b.resident_medical_closes) {
        (Some(opens), Some(closes)) => Some((opens, closes)),
        (None, None) => None,
        (Some(_), None) => return Err(field_error_of("resident_medical_closes", Issue::Required)),
        (None, Some(_)) => return Err(field_error_of("resident_medical_opens", Issue::Required)),
    };
    Ok(Premiums {
        flexible_pension_bp: b.flexible_pension_bp.unwrap_or(d.flexible_pension_bp),
        flexible_pension_personal_bp: b
            .flexible_pension_personal_bp
            .unwrap_or(d.flexible_pension_personal_bp),
        flexible_medical_bp: b.flexible_medical_bp.unwrap_or(d.flexible_medical_bp),
        resident_medical_premium: b
            .resident_medical_premium_fen
            .map(Fen)
            .unwrap_or(d.resident_medical_premium),
        resident_medical_window: window,
    })
}

/// 201 with the view when the thing was created, 200 when it was replaced.
fn created_or_ok(created: bool, view: impl serde::Serialize) -> HttpResponse {
    if created {
        HttpResponse::Created().json(view)
    } else {
        HttpResponse::Ok().json(view)
    }
}

/// Sets a region's contribution parameters for one year (admin). Records of a year without
/// parameters are rejected, so load these first.
#[utoipa::path(put, operation_id = "put_region_year", path = "/v1/staff/regions/{code}/years/{year}", tag = "staff", request_body = dto::YearParametersInput,
    params(("code" = String, Path, description = "6-digit region code", pattern = "^[1-9][0-9]{5}$"), ("year" = i32, Path, description = "The year, 1990–2100", minimum = 1990, maximum = 2100)),
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = YearParametersView),
        (status = 201, description = "Created", body = YearParametersView),
        (status = 404, description = "No such region", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A parameter is invalid", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Staff>))]
#[put("/v1/staff/regions/{code}/years/{year}")]
pub async fn put_region_year(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<(String, String)>,
    body: Json<dto::YearParametersInput>,
) -> Result<HttpResponse, ApiError> {
    admin_only(&staff)?;
    let (code, year) = path.into_inner();
    let code = RegionCode::parse(&code).map_err(|_| ApiError::NotFound("region"))?;
    let year: i32 = year.parse().map_err(|_| ApiError::NotFound("year"))?;
    let params = year_parameters(code.clone(), year, &body.0)?;
    let ts = state.now().naive_utc();
    let entry = Audit::of(&req).staff(
        &staff,
        "region.year_upsert",
        "region",
        format!("{}/{year}", code.as_str()),
    );
    let p2 = params.clone();
    let created = state
        .db
        .transaction(move |c| {
            if !regions::exists(c, p2.region())? {
                return Ok(None);
            }
            let created = regions::upsert_year(c, &p2, ts)?;
            audit::record(c, &entry, ts)?;
            Ok(Some(created))
        })
        .await?
        .ok_or(ApiError::NotFound("region"))?;
    let view = year_view(&params);
    Ok(created_or_ok(created, view))
}

/// The region, year (1990–2100) and rate (at most 2,000 basis points) of an interest run.
fn interest_request(b: &dto::PensionInterestRequest) -> Result<(RegionCode, i32, u32), ApiError> {
    let mut f = Fields::new();
    let region = f.check("region", RegionCode::parse(&b.region));
    if !(1990..=2100).contains(&b.year) {
        let range = shebao_domain::ValueError::Range {
            min: 1990,
            max: 2100,
        };
        f.add("year", Issue::Value(range));
    }
    if b.rate_bp > 2_000 {
        let range = shebao_domain::ValueError::Range { min: 0, max: 2_000 };
        f.add("rate_bp", Issue::Value(range));
    }
    match region.filter(|_| f.is_empty()) {
        Some(region) => Ok((region, b.year, b.rate_bp)),
        None => Err(f.into_error()),
    }
}

/// Credits a year's interest to every personal pension account of a region, once (admin).
#[utoipa::path(post, operation_id = "pension_interest", path = "/v1/staff/pension-interest", tag = "staff", request_body = dto::PensionInterestRequest,
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "Credited", body = dto::PensionInterestResult),
        (status = 409, description = "That year's interest was credited already (`interest_already_credited`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Staff>))]
#[post("/v1/staff/pension-interest")]
pub async fn pension_interest(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    body: Json<dto::PensionInterestRequest>,
) -> Result<HttpResponse, ApiError> {
    admin_only(&staff)?;
    let (region, year, rate) = interest_request(&body.0)?;
    let ts = state.now().naive_utc();
    let mut entry = Audit::of(&req).staff(
        &staff,
        "pension.interest",
        "region",
        format!("{}/{year}", region.as_str()),
    );
    entry.reason = Some(format!("rate_bp={rate}"));
    let r2 = region.clone();
    let outcome = state
        .db
        .transaction(move |c| {
            if !regions::exists(c, &r2)? {
                return Ok(None);
            }
            let result = pension::credit_year(c, &r2, year, rate, ts)?;
            if result.is_ok() {
                audit::record(c, &entry, ts)?;
            }
            Ok(Some(result))
        })
        .await?;
    match outcome {
        None => Err(field_error_of("region", Issue::Unknown)),
        Some(Err(_)) => Err(ApiError::Code(ErrorCode::InterestAlreadyCredited)),
        Some(Ok((persons, total))) => Ok(HttpResponse::Ok().json(dto::PensionInterestResult {
            region: region.as_str().to_owned(),
            year,
            rate_bp: rate,
            persons,
            interest_total_fen: total,
        })),
    }
}
