use actix_web::{get, post, web, HttpRequest, HttpResponse};
use shebao_domain::employer::{CreditCode, EmployerName};
use shebao_domain::region::RegionCode;
use shebao_infra::audit;
use shebao_infra::registry::employers::{self, Employer, NewEmployer};
use shebao_infra::registry::regions;
use shebao_openapi::staff::{CreateEmployerRequest, EmployerView};
use uuid::Uuid;

use crate::audit::Audit;
use crate::auth::extract::{Json, Staff, ANY_STAFF};
use crate::error::{ApiError, ErrorCode, Fields, Issue, Problems};
use crate::routes::persons::utc;
use crate::state::AppState;

pub fn view(e: Employer) -> EmployerView {
    EmployerView {
        id: e.id,
        name: e.name.as_str().to_owned(),
        credit_code: e.credit_code.as_str().to_owned(),
        region: e.region.as_str().to_owned(),
        created_at: utc(e.created_at),
    }
}

fn validate(body: &CreateEmployerRequest) -> Result<NewEmployer, ApiError> {
    let mut f = Fields::new();
    let name = f.required("name", body.name.as_deref(), EmployerName::parse);
    let credit_code = f.required(
        "credit_code",
        body.credit_code.as_deref(),
        CreditCode::parse,
    );
    let region = f.required("region", body.region.as_deref(), RegionCode::parse);
    match (name, credit_code, region) {
        (Some(name), Some(credit_code), Some(region)) if f.is_empty() => Ok(NewEmployer {
            name,
            credit_code,
            region,
        }),
        _ => Err(f.into_error()),
    }
}

/// Registers an employer by its unified social credit code.
#[utoipa::path(post, operation_id = "create_employer", path = "/v1/staff/employers", tag = "staff", request_body = CreateEmployerRequest,
    security(("staff_bearer" = [])),
    responses(
        (status = 201, description = "Registered", body = EmployerView),
        (status = 409, description = "The credit code is registered already (`employer_exists`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Staff>))]
#[post("/v1/staff/employers")]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    body: Json<CreateEmployerRequest>,
) -> Result<HttpResponse, ApiError> {
    staff.require(ANY_STAFF)?;
    let new = validate(&body.0)?;
    let ts = state.now().naive_utc();
    let id = Uuid::now_v7();
    let entry = Audit::of(&req).staff(&staff, "employer.create", "employer", id.to_string());
    let outcome = state
        .db
        .transaction(move |c| {
            if !regions::exists(c, &new.region)? {
                return Ok(Err(true));
            }
            match employers::insert(c, &new, id, ts)? {
                Ok(e) => {
                    audit::record(c, &entry, ts)?;
                    Ok(Ok(e))
                }
                Err(_) => Ok(Err(false)),
            }
        })
        .await?;
    match outcome {
        Ok(e) => Ok(HttpResponse::Created()
            .insert_header(("Location", format!("/v1/staff/employers/{}", e.id)))
            .json(view(e))),
        Err(true) => {
            let mut f = Fields::new();
            f.add("region", Issue::Unknown);
            Err(f.into_error())
        }
        Err(false) => Err(ApiError::Code(ErrorCode::EmployerExists)),
    }
}

/// Reads an employer.
#[utoipa::path(get, operation_id = "get_employer", path = "/v1/staff/employers/{id}", tag = "staff",
    params(("id" = Uuid, Path, description = "The employer's id")),
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "The employer", body = EmployerView),
        (status = 404, description = "No such employer", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Staff>))]
#[get("/v1/staff/employers/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    staff.require(ANY_STAFF)?;
    let id = Uuid::parse_str(&path.into_inner()).map_err(|_| ApiError::NotFound("employer"))?;
    let employer = state
        .db
        .read(move |c| employers::get(c, id))
        .await?
        .ok_or(ApiError::NotFound("employer"))?;
    Ok(HttpResponse::Ok().json(view(employer)))
}
