//! Staff look-ups: a person by ID number, card number or name in a region; an employer by
//! credit code or name. Exactly one search mode per request; answers are paged like every list.

use actix_web::{get, web, HttpRequest, HttpResponse};
use shebao_domain::employer::{CreditCode, EmployerName};
use shebao_domain::identity::{NationalId, PersonName};
use shebao_domain::person::CardNumber;
use shebao_domain::region::RegionCode;
use shebao_domain::ValueError;
use shebao_infra::audit;
use shebao_infra::registry::employers::{self, EmployerLookup};
use shebao_infra::registry::persons::{self, PersonLookup};
use shebao_openapi::staff::{
    EmployerList, EmployerSearchQuery, PageQuery, PersonList, PersonSearchQuery,
};
use uuid::Uuid;

use crate::audit::{required_reason, Audit};
use crate::auth::extract::{PageRequest, Staff, ANY_STAFF};
use crate::cursor;
use crate::error::{ApiError, Fields, Issue, Problems};
use crate::routes::employers::view as employer_view;
use crate::routes::persons::person_view;
use crate::state::AppState;

const PERSON_MODES: &str = "give exactly one of national_id, card_number or name (with region)";
const EMPLOYER_MODES: &str = "give exactly one of credit_code or name";

/// The one search mode given (present and not blank): its field and value. None or several is
/// a 422 naming every mode field concerned.
fn one_mode<'a>(
    modes: &[(&'static str, Option<&'a str>)],
    rule: &'static str,
) -> Result<(&'static str, &'a str), ApiError> {
    let given: Vec<(&'static str, &'a str)> = modes
        .iter()
        .filter_map(|(f, v)| v.filter(|v| !v.trim().is_empty()).map(|v| (*f, v)))
        .collect();
    if let [one] = given.as_slice() {
        return Ok(*one);
    }
    let mut f = Fields::new();
    let named: Vec<&str> = if given.is_empty() {
        modes.iter().map(|(f, _)| *f).collect()
    } else {
        given.iter().map(|(f, _)| *f).collect()
    };
    for field in named {
        f.add(field, Issue::Value(ValueError::Rule(rule)));
    }
    Err(f.into_error())
}

fn person_lookup(q: &PersonSearchQuery) -> Result<PersonLookup, ApiError> {
    let (field, value) = one_mode(
        &[
            ("national_id", q.national_id.as_deref()),
            ("card_number", q.card_number.as_deref()),
            ("name", q.name.as_deref()),
        ],
        PERSON_MODES,
    )?;
    let region = q.region.as_deref().filter(|r| !r.trim().is_empty());
    let mut f = Fields::new();
    let lookup = match field {
        "national_id" => f
            .check(field, NationalId::parse(value))
            .map(PersonLookup::NationalId),
        "card_number" => f
            .check(field, CardNumber::parse(value))
            .map(PersonLookup::CardNumber),
        _ => {
            let name = f.check(field, PersonName::parse(value));
            let region = f.required("region", region, RegionCode::parse);
            name.zip(region)
                .map(|(name, region)| PersonLookup::Name { region, name })
        }
    };
    if field != "name" && region.is_some() {
        f.add("region", Issue::Value(ValueError::Rule("only with name")));
    }
    match lookup {
        Some(lookup) if f.is_empty() => Ok(lookup),
        _ => Err(f.into_error()),
    }
}

fn employer_lookup(q: &EmployerSearchQuery) -> Result<EmployerLookup, ApiError> {
    let (field, value) = one_mode(
        &[
            ("credit_code", q.credit_code.as_deref()),
            ("name", q.name.as_deref()),
        ],
        EMPLOYER_MODES,
    )?;
    let mut f = Fields::new();
    let lookup = match field {
        "credit_code" => f
            .check(field, CreditCode::parse(value))
            .map(EmployerLookup::CreditCode),
        _ => f
            .check(field, EmployerName::parse(value))
            .map(EmployerLookup::Name),
    };
    lookup.ok_or_else(|| f.into_error())
}

/// Looks persons up by ID number (through its blind index), card number, or exact name within
/// a region: exactly one of these per request.
///
/// `reason` is required: the look-up is audited with it, and every person found sees it in
/// their access log. ID numbers in the answer are masked.
#[utoipa::path(get, operation_id = "search_persons", path = "/v1/staff/persons", tag = "staff",
    params(PersonSearchQuery),
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "A page of the persons found (empty when none matches)", body = PersonList),
        (status = 422, description = "`reason` missing or invalid, no search mode or more than one, a mode's value invalid, `name` without `region`, `limit` out of range or `cursor` not from a previous page", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Staff>))]
#[get("/v1/staff/persons")]
pub async fn search_persons(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    query: web::Query<PersonSearchQuery>,
) -> Result<HttpResponse, ApiError> {
    staff.require(ANY_STAFF)?;
    let q = query.into_inner();
    let reason = required_reason(q.reason.as_deref())?;
    let by = person_lookup(&q)?;
    let page = PageRequest::parse(&PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    })?;
    let ts = state.now().naive_utc();
    let vault = state.vault.clone();
    let entry = Audit::of(&req).staff_read(&staff, "person.search", Uuid::nil(), reason);
    let found = state
        .db
        .transaction(move |c| {
            let found = persons::search(c, &vault, &by, page.after.as_deref(), page.limit)?;
            if found.items.is_empty() {
                let none = audit::AuditEntry {
                    subject_id: None,
                    ..entry.clone()
                };
                audit::record(c, &none, ts)?;
            }
            for p in &found.items {
                let mut e = entry.clone();
                e.subject_id = Some(p.id.to_string());
                audit::record(c, &e, ts)?;
            }
            Ok(found)
        })
        .await?;
    Ok(HttpResponse::Ok().json(PersonList {
        items: found.items.into_iter().map(person_view).collect(),
        next_cursor: found.next.as_deref().map(cursor::encode),
    }))
}

/// Looks employers up by unified social credit code or exact name: exactly one per request.
#[utoipa::path(get, operation_id = "search_employers", path = "/v1/staff/employers", tag = "staff",
    params(EmployerSearchQuery),
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "A page of the employers found (empty when none matches)", body = EmployerList),
        (status = 422, description = "No search mode or more than one, a mode's value invalid, `limit` out of range or `cursor` not from a previous page", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Staff>))]
#[get("/v1/staff/employers")]
pub async fn search_employers(
    state: web::Data<AppState>,
    staff: Staff,
    query: web::Query<EmployerSearchQuery>,
) -> Result<HttpResponse, ApiError> {
    staff.require(ANY_STAFF)?;
    let q = query.into_inner();
    let by = employer_lookup(&q)?;
    let page = PageRequest::parse(&PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    })?;
    let found = state
        .db
        .read(move |c| employers::search(c, &by, page.after.as_deref(), page.limit))
        .await?;
    Ok(HttpResponse::Ok().json(EmployerList {
        items: found.items.into_iter().map(employer_view).collect(),
        next_cursor: found.next.as_deref().map(cursor::encode),
    }))
}
