//! Designated hospitals and pharmacies (医保定点): the "near me" list and one institution, both
//! public and saying whether the caller's insurance covers it when a bound person asks; the
//! appointment slots staff publish and anyone lists. (The staff's bulk loader is with the other
//! loaders, in `imports`.)

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use shebao_domain::institutions::{
    self as rules, coverage, Department, GeoPoint, InstitutionCode, InstitutionCoverage,
    InstitutionKind, InsuredCoverage, Level, NearFilter, Ranked,
};
use shebao_domain::person::MedicalCategory;
use shebao_domain::staff::StaffRole;
use shebao_infra::audit;
use shebao_infra::institutions::slots::{self, NewSlot, Slot, SlotCursor, SlotFilter};
use shebao_infra::institutions::store::{self, Institution, Insured};
use shebao_infra::registry::staff as staff_store;
use shebao_openapi::institutions as dto;
use shebao_openapi::staff::PageQuery;
use shebao_openapi::wire;
use uuid::Uuid;

use crate::audit::Audit;
use crate::auth::extract::{Json, PageRequest, Staff, ANY_STAFF};
use crate::auth::person::MaybePerson;
use crate::cursor;
use crate::error::{field_error_of, ApiError, ErrorCode, Fields, Issue, Problems};
use crate::state::AppState;

fn wire_kind(k: InstitutionKind) -> dto::InstitutionKind {
    match k {
        InstitutionKind::Hospital => dto::InstitutionKind::Hospital,
        InstitutionKind::Pharmacy => dto::InstitutionKind::Pharmacy,
        InstitutionKind::Clinic => dto::InstitutionKind::Clinic,
    }
}

fn wire_category(c: MedicalCategory) -> wire::MedicalCategory {
    match c {
        MedicalCategory::Employee => wire::MedicalCategory::Employee,
        MedicalCategory::Resident => wire::MedicalCategory::Resident,
    }
}

/// Whether the person's insurance covers the institution today (`domain::institutions::coverage`).
fn covered(i: &Institution, person: &Insured) -> bool {
    coverage(
        &InstitutionCoverage {
            region: &i.region,
            categories: &i.categories,
            accepts_filed_elsewhere: i.accepts_filed_elsewhere,
        },
        &InsuredCoverage {
            region: &person.region,
            category: person.category,
            filings: &person.filings,
            today: person.today,
        },
    )
    .covered()
}

/// The institution as the wire shows it; `covered` only for a bound person.
pub fn view(i: &Institution, person: Option<&Insured>) -> dto::InstitutionView {
    dto::InstitutionView {
        code: i.code.as_str().to_owned(),
        name: i.name.clone(),
        kind: wire_kind(i.kind),
        level: i.level.map(Level::get),
        region: i.region.as_str().to_owned(),
        address: i.address.clone(),
        phone: i.phone.clone(),
        latitude: i.position.lat(),
        longitude: i.position.lon(),
        geo_uri: i.position.geo_uri(),
        medical_categories: i.categories.iter().copied().map(wire_category).collect(),
        departments: i.departments.clone(),
        accepts_filed_elsewhere: i.accepts_filed_elsewhere,
        covered: person.map(|p| covered(i, p)),
    }
}

/// The bound person asking, if any.
fn asker(who: MaybePerson) -> Option<Uuid> {
    who.0.and_then(|p| p.person).map(|p| p.id)
}

// ---------------------------------------------------------------------------------------------
// Near me

/// A search, checked.
struct Search {
    center: GeoPoint,
    radius_m: u32,
    filter: NearFilter,
    page: PageRequest,
    after: Option<Ranked>,
}

/// The key of a page's last institution: `<distance_m>:<code>`.
fn near_key(r: &Ranked) -> String {
    format!("{}:{}", r.distance_m, r.code)
}

/// A cursor no page gave reads as one after every institution: an empty page.
fn near_after(key: &str) -> Ranked {
    key.split_once(':')
        .and_then(|(d, code)| {
            Some(Ranked {
                distance_m: d.parse().ok()?,
                code: code.to_owned(),
            })
        })
        .unwrap_or(Ranked {
            distance_m: u32::MAX,
            code: String::new(),
        })
}

fn search(q: dto::InstitutionQuery) -> Result<Search, ApiError> {
    let mut f = Fields::new();
    let lat = f.required("lat", q.lat.as_deref(), |t| {
        GeoPoint::degrees(t).map(|_| t.to_owned())
    });
    let lon = f.required("lon", q.lon.as_deref(), |t| {
        GeoPoint::degrees(t).map(|_| t.to_owned())
    });
    let center = match (lat, lon) {
        (Some(lat), Some(lon)) => match GeoPoint::parse(&lat, &lon) {
            Ok(p) => Some(p),
            Err((which, e)) => {
                f.add(
                    if which == "latitude" { "lat" } else { "lon" },
                    Issue::Value(e),
                );
                None
            }
        },
        _ => None,
    };
    let radius_m = match q.radius_km.as_deref() {
        None => Some(rules::DEFAULT_RADIUS_M),
        Some(r) => f.check("radius_km", rules::radius_m(r)),
    };
    let kind = q
        .kind
        .as_deref()
        .and_then(|k| f.check("kind", InstitutionKind::parse(k)));
    let level = q
        .level
        .as_deref()
        .and_then(|l| f.check("level", Level::parse(l)));
    let department = q
        .department
        .as_deref()
        .and_then(|d| f.check("department", Department::parse(d)));
    let page = PageRequest::parse(&PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    });
    let page = match page {
        Ok(p) => Some(p),
        Err(ApiError::Validation(issues)) => {
            for i in issues {
                f.add(&i.field, i.issue);
            }
            None
        }
        Err(e) => return Err(e),
    };
    match (center, radius_m, page) {
        (Some(center), Some(radius_m), Some(page)) if f.is_empty() => Ok(Search {
            center,
            radius_m,
            after: page.after.as_deref().map(near_after),
            page,
            filter: NearFilter {
                kind,
                level,
                department,
            },
        }),
        _ => Err(f.into_error()),
    }
}

/// Designated institutions near a point, nearest first (ties by code), within `radius_km`
/// (default 5, at most 50): each with its great-circle distance in metres (haversine), its
/// address, phone and a `geo:` URI (RFC 5870) for the phone's map app. Narrowed by `kind`,
/// `department` and `level`. Anyone may search; with a bound person's token each institution
/// also says whether their insurance covers it (`covered`); without a token that field is
/// absent, and an invalid token is 401. The search reads the server's copy of every institution
/// (a grid index in memory, 2 km around the point first, widening until a page is settled or
/// the radius reached; the copy follows imports at once on the server that ran them and within
/// `SHEBAO_INSTITUTIONS_REFRESH_SECS` on the others). The cursor is the last institution's
/// (distance, code): pass it with the same search for the next page.
#[utoipa::path(get, operation_id = "list_institutions", path = "/v1/institutions", tag = "institutions", params(dto::InstitutionQuery),
    security((), ("person_bearer" = [])),
    responses(
        (status = 200, description = "A page of institutions, nearest first", body = dto::NearbyList),
        (status = 422, description = "`lat`/`lon` missing or outside China's range (latitude 3–54, longitude 73–136), `radius_km` not in (0, 50], an unknown `kind`, a `level` not 1–3, or `limit`/`cursor` invalid (`validation_failed`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<MaybePerson>))]
#[get("/v1/institutions")]
pub async fn list_institutions(
    state: web::Data<AppState>,
    who: MaybePerson,
    query: web::Query<dto::InstitutionQuery>,
) -> Result<HttpResponse, ApiError> {
    let s = search(query.into_inner())?;
    let person = asker(who);
    let now = state.now();
    let limit = s.page.limit;
    let insured = match person {
        Some(p) => state.db.read(move |c| store::insured(c, p, now)).await?,
        None => None,
    };
    let copy = state.institutions.get(&state.db).await?;
    let mut page = copy
        .atlas
        .nearest(s.center, s.radius_m, s.after.as_ref(), limit, |i| {
            s.filter.admits(i.kind, i.level, &i.departments)
        });
    let next_cursor =
        (page.len() > limit).then(|| cursor::encode(&near_key(&page[limit - 1].ranked())));
    page.truncate(limit);
    let items = page
        .iter()
        .map(|n| dto::NearbyInstitution {
            institution: view(n.item, insured.as_ref()),
            distance_m: n.distance_m,
        })
        .collect();
    Ok(HttpResponse::Ok().json(dto::NearbyList { items, next_cursor }))
}

fn institution_code(raw: &str) -> Result<InstitutionCode, ApiError> {
    InstitutionCode::parse(raw).map_err(|_| ErrorCode::InstitutionNotFound.into())
}

/// One institution by its code; with a bound person's token, `covered` says whether their
/// insurance covers it.
#[utoipa::path(get, operation_id = "get_institution", path = "/v1/institutions/{code}", tag = "institutions",
    params(("code" = String, Path, description = "The institution's code", example = "H44030400001")),
    security((), ("person_bearer" = [])),
    responses(
        (status = 200, description = "The institution", body = dto::InstitutionView),
        (status = 404, description = "No institution has this code (`institution_not_found`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<MaybePerson>))]
#[get("/v1/institutions/{code}")]
pub async fn get_institution(
    state: web::Data<AppState>,
    who: MaybePerson,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let code = institution_code(&path.into_inner())?;
    let person = asker(who);
    let now = state.now();
    let (institution, insured) = state
        .db
        .read(move |c| {
            let i = store::get(c, &code)?;
            let insured = match (&i, person) {
                (Some(_), Some(p)) => store::insured(c, p, now)?,
                _ => None,
            };
            Ok((i, insured))
        })
        .await?;
    let institution = institution.ok_or(ErrorCode::InstitutionNotFound)?;
    Ok(HttpResponse::Ok().json(view(&institution, insured.as_ref())))
}

// ---------------------------------------------------------------------------------------------
// Slots

pub fn slot_view(s: &Slot) -> dto::SlotView {
    dto::SlotView {
        id: s.id,
        institution_code: s.institution_code.clone(),
        department: s.department.clone(),
        starts_at: s.starts_at,
        ends_at: s.ends_at,
        capacity: s.capacity,
        places_left: s.places_left(),
    }
}

/// Publishes a slot of one of the institution's departments with `capacity` places (1–500),
/// starting in the future and ending after it starts (within 24 hours). Admins, and caseworkers
/// (one with a region only for that region's institutions).
#[utoipa::path(post, operation_id = "create_slot", path = "/v1/staff/institutions/{code}/slots", tag = "institutions", request_body = dto::SlotRequest,
    params(("code" = String, Path, description = "The institution's code", example = "H44030400001")),
    security(("staff_bearer" = [])),
    responses(
        (status = 201, description = "Published", body = dto::SlotView),
        (status = 404, description = "No institution has this code (`institution_not_found`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The department is not one of the institution's (`unknown`), the start is not in the future, the end not after it or more than 24 hours later, or the capacity not 1–500 (`validation_failed`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Staff>))]
#[post("/v1/staff/institutions/{code}/slots")]
pub async fn create_slot(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
    body: Json<dto::SlotRequest>,
) -> Result<HttpResponse, ApiError> {
    staff.require(ANY_STAFF)?;
    let code = institution_code(&path.into_inner())?;
    let b = body.0;
    let now = state.now();
    let department = Department::parse(&b.department)
        .map_err(|e| field_error_of("department", Issue::Value(e)))?;
    rules::check_slot(b.starts_at, b.ends_at, b.capacity, now)
        .map_err(|(field, e)| field_error_of(field, Issue::Value(e)))?;
    let new = NewSlot {
        institution: code.clone(),
        department,
        starts_at: b.starts_at,
        ends_at: b.ends_at,
        capacity: i32::try_from(b.capacity).unwrap_or(i32::MAX),
    };
    let entry = Audit::of(&req).staff(
        &staff,
        "institution.slot",
        "institution",
        code.as_str().to_owned(),
    );
    let (staff_id, caseworker) = (staff.id, staff.role == StaffRole::Caseworker);
    let slot: Result<Slot, ApiError> = state
        .db
        .transaction(move |c| {
            let Some(institution) = store::get(c, &new.institution)? else {
                return Ok(Err(ErrorCode::InstitutionNotFound.into()));
            };
            if caseworker {
                let scope = staff_store::region_of(c, staff_id)?;
                if scope.is_some_and(|r| r != institution.region.as_str()) {
                    return Ok(Err(ErrorCode::Forbidden.into()));
                }
            }
            if !store::has_department(c, &new.institution, &new.department)? {
                return Ok(Err(field_error_of("department", Issue::Unknown)));
            }
            let slot = slots::create(c, &new, now)?;
            let mut entry = entry;
            entry.subject_id = Some(format!("{}/{}", new.institution.as_str(), slot.id));
            audit::record(c, &entry, now.naive_utc())?;
            Ok(Ok(slot))
        })
        .await?;
    Ok(HttpResponse::Created().json(slot_view(&slot?)))
}

/// When a slot list starts and ends: RFC 3339 instants.
fn instant(field: &str, raw: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(raw.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            field_error_of(
                field,
                Issue::Value(shebao_domain::ValueError::Format {
                    expected: "an RFC 3339 time such as 2026-11-24T00:00:00Z",
                }),
            )
        })
}

/// An institution's slots in start order, with the places left: from `from` (default now) and
/// before `to`, of one `department` if given. Anyone may list them.
#[utoipa::path(get, operation_id = "list_slots", path = "/v1/institutions/{code}/slots", tag = "institutions",
    params(("code" = String, Path, description = "The institution's code", example = "H44030400001"), dto::SlotQuery),
    responses(
        (status = 200, description = "A page of slots, earliest first", body = dto::SlotList),
        (status = 404, description = "No institution has this code (`institution_not_found`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`from`/`to` not RFC 3339, the department invalid, or `limit`/`cursor` invalid (`validation_failed`)", body = shebao_openapi::Problem, content_type = "application/problem+json")))]
#[get("/v1/institutions/{code}/slots")]
pub async fn list_slots(
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<dto::SlotQuery>,
) -> Result<HttpResponse, ApiError> {
    let code = institution_code(&path.into_inner())?;
    let q = query.into_inner();
    let department = q
        .department
        .as_deref()
        .map(Department::parse)
        .transpose()
        .map_err(|e| field_error_of("department", Issue::Value(e)))?;
    let from = match q.from.as_deref() {
        Some(raw) => instant("from", raw)?,
        None => state.now(),
    };
    // A `to` not after `from` is an empty window: an empty page.
    let to = q.to.as_deref().map(|raw| instant("to", raw)).transpose()?;
    let page = PageRequest::parse(&PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    })?;
    // A cursor no page gave reads as one after every slot: an empty page.
    let after = page.after.as_deref().map(|k| {
        SlotCursor::parse(k).unwrap_or(SlotCursor {
            starts_at: chrono::NaiveDateTime::MAX,
            id: String::new(),
        })
    });
    let filter = SlotFilter {
        department,
        from,
        to,
    };
    let limit = page.limit;
    let list = state
        .db
        .read(move |c| {
            if store::get(c, &code)?.is_none() {
                return Ok(None);
            }
            slots::list(c, &code, &filter, after.as_ref(), limit).map(Some)
        })
        .await?
        .ok_or(ErrorCode::InstitutionNotFound)?;
    Ok(HttpResponse::Ok().json(dto::SlotList {
        items: list.items.iter().map(slot_view).collect(),
        next_cursor: list.next.as_deref().map(cursor::encode),
    }))
}
