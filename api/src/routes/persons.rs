use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDateTime, Utc};
use shebao_domain::identity::{Gender, NationalId, PersonName};
use shebao_domain::person::{CardNumber, EmploymentStatus, MedicalCategory};
use shebao_domain::region::RegionCode;
use shebao_domain::staff::StaffRole;
use shebao_infra::audit;
use shebao_infra::registry::persons::{self, NewPerson, Person, PersonConflict};
use shebao_infra::registry::regions;
use shebao_openapi::staff::{CreatePersonRequest, PersonView, StaffReadQuery};
use shebao_openapi::wire;
use uuid::Uuid;

use crate::audit::{required_reason, Audit};
use crate::auth::extract::{Json, Staff, ANY_STAFF};
use crate::error::{ApiError, ErrorCode, Fields, Issue, Problems};
use crate::state::AppState;

pub fn utc(ts: NaiveDateTime) -> DateTime<Utc> {
    DateTime::from_naive_utc_and_offset(ts, Utc)
}

pub fn wire_role(r: StaffRole) -> wire::StaffRole {
    match r {
        StaffRole::Caseworker => wire::StaffRole::Caseworker,
        StaffRole::Admin => wire::StaffRole::Admin,
    }
}

pub fn person_view(p: Person) -> PersonView {
    PersonView {
        id: p.id,
        national_id: p.national_id_masked,
        name: p.name.as_str().to_owned(),
        gender: match p.gender {
            Gender::Male => wire::Gender::Male,
            Gender::Female => wire::Gender::Female,
        },
        birth_date: p.birth_date,
        region: p.region.as_str().to_owned(),
        card_number: p.card_number.as_str().to_owned(),
        medical_category: match p.medical_category {
            MedicalCategory::Employee => wire::MedicalCategory::Employee,
            MedicalCategory::Resident => wire::MedicalCategory::Resident,
        },
        employment_status: match p.employment_status {
            EmploymentStatus::Employed => wire::EmploymentStatus::Employed,
            EmploymentStatus::Flexible => wire::EmploymentStatus::Flexible,
            EmploymentStatus::Unemployed => wire::EmploymentStatus::Unemployed,
            EmploymentStatus::Retired => wire::EmploymentStatus::Retired,
        },
        created_at: utc(p.created_at),
    }
}

fn validate(body: &CreatePersonRequest) -> Result<NewPerson, ApiError> {
    let mut f = Fields::new();
    let national_id = f.required(
        "national_id",
        body.national_id.as_deref(),
        NationalId::parse,
    );
    let name = f.required("name", body.name.as_deref(), PersonName::parse);
    let region = f.required("region", body.region.as_deref(), RegionCode::parse);
    let card_number = f.required(
        "card_number",
        body.card_number.as_deref(),
        CardNumber::parse,
    );
    let medical_category = f.required(
        "medical_category",
        body.medical_category.as_deref(),
        MedicalCategory::parse,
    );
    let employment_status = f.required(
        "employment_status",
        body.employment_status.as_deref(),
        EmploymentStatus::parse,
    );
    match (
        national_id,
        name,
        region,
        card_number,
        medical_category,
        employment_status,
    ) {
        (
            Some(national_id),
            Some(name),
            Some(region),
            Some(card_number),
            Some(medical_category),
            Some(employment_status),
        ) if f.is_empty() => Ok(NewPerson {
            national_id,
            name,
            region,
            card_number,
            medical_category,
            employment_status,
        }),
        _ => Err(f.into_error()),
    }
}

/// Registers an insured person. Gender and birth date are derived from the ID number, which is
/// stored encrypted and only ever shown masked.
#[utoipa::path(post, operation_id = "create_person", path = "/v1/staff/persons", tag = "staff", request_body = CreatePersonRequest,
    security(("staff_bearer" = [])),
    responses(
        (status = 201, description = "Registered", body = PersonView),
        (status = 409, description = "The ID number (`person_exists`) or card number (`card_number_taken`) is registered already", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Staff>))]
#[post("/v1/staff/persons")]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    body: Json<CreatePersonRequest>,
) -> Result<HttpResponse, ApiError> {
    staff.require(ANY_STAFF)?;
    let new = validate(&body.0)?;
    let ts = state.now().naive_utc();
    let vault = state.vault.clone();
    let audit = Audit::of(&req);
    let mut entry = audit.staff(&staff, "person.create", "person", String::new());
    let outcome = state
        .db
        .transaction(move |c| {
            if !regions::exists(c, &new.region)? {
                return Ok(Err(None));
            }
            match persons::insert(c, &vault, &new, ts)? {
                Ok(p) => {
                    entry.subject_id = Some(p.id.to_string());
                    audit::record(c, &entry, ts)?;
                    Ok(Ok(p))
                }
                Err(conflict) => Ok(Err(Some(conflict))),
            }
        })
        .await?;
    match outcome {
        Ok(p) => Ok(HttpResponse::Created()
            .insert_header(("Location", format!("/v1/staff/persons/{}", p.id)))
            .json(person_view(p))),
        Err(None) => {
            let mut f = Fields::new();
            f.add("region", Issue::Unknown);
            Err(f.into_error())
        }
        Err(Some(PersonConflict::NationalId)) => Err(ApiError::Code(ErrorCode::PersonExists)),
        Err(Some(PersonConflict::CardNumber)) => Err(ApiError::Code(ErrorCode::CardNumberTaken)),
    }
}

/// Reads a registered person.
///
/// `reason` is required: every staff read of a person is audited with it, and the person sees
/// it in their access log.
#[utoipa::path(get, operation_id = "get_person", path = "/v1/staff/persons/{id}", tag = "staff",
    params(("id" = Uuid, Path, description = "The person's id"), StaffReadQuery),
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "The person", body = PersonView),
        (status = 404, description = "No such person", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`reason` missing or invalid", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Staff>))]
#[get("/v1/staff/persons/{id}")]
pub async fn get(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
    query: web::Query<StaffReadQuery>,
) -> Result<HttpResponse, ApiError> {
    staff.require(ANY_STAFF)?;
    let id = Uuid::parse_str(&path.into_inner()).map_err(|_| ApiError::NotFound("person"))?;
    let reason = required_reason(query.reason.as_deref())?;
    let ts = state.now().naive_utc();
    let entry = Audit::of(&req).staff_read(&staff, "person.read", id, reason);
    let person = state
        .db
        .transaction(move |c| {
            let p = persons::get(c, id)?;
            if p.is_some() {
                audit::record(c, &entry, ts)?;
            }
            Ok(p)
        })
        .await?
        .ok_or(ApiError::NotFound("person"))?;
    Ok(HttpResponse::Ok().json(person_view(person)))
}
