use actix_web::{get, web, HttpResponse};
use shebao_domain::region::{RatePair, RegionCode, YearParameters};
use shebao_infra::registry::regions;
use shebao_openapi::staff::{
    self as dto, PageQuery, RatesView, RegionList, RegionSummary, RegionView, YearParametersView,
};

use crate::cursor;
use crate::error::ApiError;
use crate::extract::{PageRequest, Staff};
use crate::routes::staff_auth::ANY_STAFF;
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
    }
}

/// The regions the registry knows, by code, with the years their parameters cover.
#[utoipa::path(get, path = "/v1/staff/regions", tag = "staff",
    params(PageQuery),
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "A page of regions", body = RegionList),
        (status = 401, description = "Missing, invalid or expired staff token", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a staff role", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`limit` out of range or `cursor` not from a previous page", body = shebao_openapi::Problem, content_type = "application/problem+json")))]
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
        .run(move |c| regions::list(c, page.after.as_deref(), page.limit))
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
#[utoipa::path(get, path = "/v1/staff/regions/{code}", tag = "staff",
    params(("code" = String, Path, description = "6-digit region code")),
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "The region", body = RegionView),
        (status = 401, description = "Missing, invalid or expired staff token", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a staff role", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such region", body = shebao_openapi::Problem, content_type = "application/problem+json")))]
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
        .run(move |c| {
            let Some(region) = regions::get(c, &code)? else {
                return Ok(None);
            };
            let years = regions::years(c, &code)?;
            Ok(Some((region, years)))
        })
        .await?;
    let (region, years) = found.ok_or(ApiError::NotFound("region"))?;
    Ok(HttpResponse::Ok().json(RegionView {
        code: region.code.as_str().to_owned(),
        name: region.name.as_str().to_owned(),
        time_zone: region.time_zone.as_str().to_owned(),
        years: years.iter().map(year_view).collect(),
    }))
}
