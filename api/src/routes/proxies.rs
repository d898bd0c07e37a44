//! Family and proxy access (亲情代办): the principal grants a relative's account access, the
//! relative accepts (or asks, and the principal reads them an SMS code), takes short tokens that
//! act for the principal within the grant's scopes, and the principal sees every action. The
//! rules are in `shebao_domain::proxies`; enforcement on every route is in `auth::proxy`.

use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use chrono::{Duration, NaiveDateTime};
use shebao_domain::auth::sms_policy;
use shebao_domain::identity::{NationalId, PersonName, PhoneNumber};
use shebao_domain::proxies::{self as rules, ProxyScope, Relation, RequestRefused, ScopeSet};
use shebao_infra::audit::{self, ActorKind, AuditEntry};
use shebao_infra::identity::{accounts, codes};
use shebao_infra::proxies::{self, Grant, NotConfirmed, Side};
use shebao_infra::registry::persons;
use shebao_openapi::proxies as dto;
use shebao_openapi::staff::PageQuery;
use shebao_security::opaque;
use uuid::Uuid;

use crate::audit::Audit;
use crate::auth::extract::{Json, PageRequest, ACCESS_TOKEN_USE};
use crate::auth::person::{Actor, Person, ProxyClaims, APP_AUDIENCE};
use crate::cursor;
use crate::error::{problems, ApiError, ErrorCode, Fields, Problems};
use crate::state::AppState;

fn utc(t: NaiveDateTime) -> chrono::DateTime<chrono::Utc> {
    t.and_utc()
}

fn wire_scope(s: ProxyScope) -> dto::ProxyScope {
    match s {
        ProxyScope::ReadRecords => dto::ProxyScope::ReadRecords,
        ProxyScope::PayPremiums => dto::ProxyScope::PayPremiums,
        ProxyScope::Apply => dto::ProxyScope::Apply,
    }
}

fn scope_name(s: dto::ProxyScope) -> &'static str {
    match s {
        dto::ProxyScope::ReadRecords => ProxyScope::ReadRecords.as_str(),
        dto::ProxyScope::PayPremiums => ProxyScope::PayPremiums.as_str(),
        dto::ProxyScope::Apply => ProxyScope::Apply.as_str(),
    }
}

fn wire_relation(r: Relation) -> dto::ProxyRelation {
    match r {
        Relation::Spouse => dto::ProxyRelation::Spouse,
        Relation::Parent => dto::ProxyRelation::Parent,
        Relation::Child => dto::ProxyRelation::Child,
        Relation::Sibling => dto::ProxyRelation::Sibling,
        Relation::Grandparent => dto::ProxyRelation::Grandparent,
        Relation::Grandchild => dto::ProxyRelation::Grandchild,
        Relation::Other => dto::ProxyRelation::Other,
    }
}

fn relation_of(r: dto::ProxyRelation) -> Relation {
    match r {
        dto::ProxyRelation::Spouse => Relation::Spouse,
        dto::ProxyRelation::Parent => Relation::Parent,
        dto::ProxyRelation::Child => Relation::Child,
        dto::ProxyRelation::Sibling => Relation::Sibling,
        dto::ProxyRelation::Grandparent => Relation::Grandparent,
        dto::ProxyRelation::Grandchild => Relation::Grandchild,
        dto::ProxyRelation::Other => Relation::Other,
    }
}

fn wire_status(s: rules::GrantStatus) -> dto::GrantStatus {
    match s {
        rules::GrantStatus::Invited => dto::GrantStatus::Invited,
        rules::GrantStatus::Active => dto::GrantStatus::Active,
        rules::GrantStatus::Revoked => dto::GrantStatus::Revoked,
        rules::GrantStatus::Expired => dto::GrantStatus::Expired,
    }
}

fn scopes_of(names: &[dto::ProxyScope]) -> Result<ScopeSet, shebao_domain::ValueError> {
    let names: Vec<&str> = names.iter().map(|s| scope_name(*s)).collect();
    ScopeSet::from_names(&names)
}

fn principal(g: &Grant) -> dto::MaskedPerson {
    dto::MaskedPerson {
        name: g.principal_name_masked.clone(),
        national_id: g.principal_national_id_masked.clone(),
    }
}

fn grant_view(g: Grant, now: chrono::DateTime<chrono::Utc>) -> dto::GrantView {
    dto::GrantView {
        id: g.id,
        status: wire_status(g.status(now)),
        principal: principal(&g),
        holder_phone: g.holder_phone_masked.clone(),
        relation: wire_relation(g.relation),
        scopes: g.scopes.scopes().into_iter().map(wire_scope).collect(),
        expires_at: utc(g.expires_at),
        created_at: utc(g.created_at),
        accepted_at: g.accepted_at.map(utc),
        revoked_at: g.revoked_at.map(utc),
    }
}

/// The audit entry of an account's action on a grant (its id, once there is one).
fn grant_entry(
    req: &HttpRequest,
    account: Uuid,
    action: &'static str,
    grant: Option<Uuid>,
) -> AuditEntry {
    let mut entry = Audit::of(req).entry(
        ActorKind::Person,
        Some(account.to_string()),
        action,
        "success",
    );
    entry.subject_kind = Some("proxy_grant");
    entry.subject_id = grant.map(|g| g.to_string());
    entry
}

fn grant_id(raw: &str, missing: ErrorCode) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::Code(missing))
}

/// The principal grants a relative's account access, with a step-up: the relative sees the
/// invitation at `GET /v1/me/proxy-invitations` and accepts it.
#[utoipa::path(post, operation_id = "create_proxy", path = "/v1/me/proxies", tag = "proxies", request_body = dto::GrantRequest,
    security(("person_bearer" = [])),
    responses(
        (status = 201, description = "Invited", body = dto::GrantView),
        (status = 422, description = "A field is invalid (the phone, a scope named twice, an expiry past or beyond a year), or the phone is the principal's own (`proxy_self`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<(crate::auth::bound::BoundPerson, problems::StepUpRequired)>))]
#[post("/v1/me/proxies")]
pub async fn create_proxy(
    req: HttpRequest,
    state: web::Data<AppState>,
    person: Person,
    body: Json<dto::GrantRequest>,
) -> Result<HttpResponse, ApiError> {
    let bound = person.person.ok_or(ErrorCode::BindingRequired)?;
    let now = state.now();
    person.require_step_up(now.timestamp())?;
    let b = body.0;
    let mut f = Fields::new();
    let phone = f.check("phone", PhoneNumber::parse(&b.phone));
    let scopes = f.check("scopes", scopes_of(&b.scopes));
    f.check("expires_at", rules::check_expiry(b.expires_at, now));
    let (Some(phone), Some(scopes)) = (phone, scopes) else {
        return Err(f.into_error());
    };
    if !f.is_empty() {
        return Err(f.into_error());
    }
    let hash = accounts::phone_hash(&state.vault, &phone);
    let account = person.account_id;
    let vault = state.vault.clone();
    let relation = relation_of(b.relation);
    let expires_at = b.expires_at.naive_utc();
    let ts = now.naive_utc();
    let mut entry = grant_entry(&req, account, "proxy.grant", None);
    let grant = state
        .db
        .transaction(move |c| {
            let own = accounts::get(c, account)?.map(|a| a.phone_hash);
            if own.as_deref() == Some(hash.as_str()) {
                return Ok(Err(ApiError::Code(ErrorCode::ProxySelf)));
            }
            let g = proxies::insert(
                c,
                &vault,
                &proxies::NewGrant {
                    principal_account_id: account,
                    principal_person_id: bound.id,
                    holder_phone: &phone,
                    holder_phone_hash: &hash,
                    holder_account_id: None,
                    relation,
                    scopes,
                    origin: proxies::ORIGIN_INVITATION,
                    expires_at,
                },
                ts,
            )?;
            entry.subject_id = Some(g.id.to_string());
            audit::record(c, &entry, ts)?;
            Ok(Ok(g))
        })
        .await??;
    Ok(HttpResponse::Created().json(grant_view(grant, now)))
}

/// The grants the account gave (`role=principal`, the default) or holds for others
/// (`role=holder`), newest first, whatever their status.
#[utoipa::path(get, operation_id = "list_proxies", path = "/v1/me/proxies", tag = "proxies", params(dto::GrantListQuery),
    security(("person_bearer" = [])),
    responses(
        (status = 200, description = "Newest first", body = dto::GrantList),
        (status = 422, description = "The role or the page is invalid", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Person>))]
#[get("/v1/me/proxies")]
pub async fn list_proxies(
    state: web::Data<AppState>,
    person: Person,
    query: web::Query<dto::GrantListQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let side = match q.role.as_deref() {
        None | Some("principal") => Side::Given,
        Some("holder") => Side::Held,
        Some(_) => {
            return Err(crate::error::field_error_of(
                "role",
                crate::error::Issue::Value(shebao_domain::ValueError::OneOf {
                    allowed: "principal, holder",
                }),
            ))
        }
    };
    let page = PageRequest::parse(&PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    })?;
    let (account, vault, now) = (person.account_id, state.vault.clone(), state.now());
    let list = state
        .db
        .run(move |c| proxies::list(c, &vault, account, side, page.after.as_deref(), page.limit))
        .await?;
    Ok(HttpResponse::Ok().json(dto::GrantList {
        items: list.items.into_iter().map(|g| grant_view(g, now)).collect(),
        next_cursor: list.next.as_deref().map(cursor::encode),
    }))
}

/// Ends a grant at once: tokens acting under it are refused from the next request. The
/// principal revokes; the relative may give it up. Revoking again answers the grant as it is.
#[utoipa::path(delete, operation_id = "revoke_proxy", path = "/v1/me/proxies/{id}", tag = "proxies",
    params(("id" = Uuid, Path, description = "The grant's id")), security(("person_bearer" = [])),
    responses(
        (status = 200, description = "Revoked", body = dto::GrantView),
        (status = 404, description = "No grant this account gave or holds (`grant_not_found`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Person>))]
#[delete("/v1/me/proxies/{id}")]
pub async fn revoke_proxy(
    req: HttpRequest,
    state: web::Data<AppState>,
    person: Person,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = grant_id(&path.into_inner(), ErrorCode::GrantNotFound)?;
    let (account, vault, now) = (person.account_id, state.vault.clone(), state.now());
    let ts = now.naive_utc();
    let entry = grant_entry(&req, account, "proxy.revoke", Some(id));
    let grant = state
        .db
        .transaction(move |c| {
            let g = proxies::revoke(c, &vault, id, account, ts)?;
            if g.is_some() {
                audit::record(c, &entry, ts)?;
            }
            Ok(g)
        })
        .await?
        .ok_or(ErrorCode::GrantNotFound)?;
    Ok(HttpResponse::Ok().json(grant_view(grant, now)))
}

/// A token acting for the principal under an active grant the caller holds: RFC 8693 shape
/// (`sub` the principal's account, `act.sub` the caller's, `scope`, `grant_id`), signed like
/// every access token (`/.well-known/jwks.json`), living at most 15 minutes and never past the
/// grant. It dies at once if the grant is revoked or the caller's session ends.
#[utoipa::path(post, operation_id = "create_proxy_token", path = "/v1/me/proxies/{id}/token", tag = "proxies",
    params(("id" = Uuid, Path, description = "The grant's id")), security(("person_bearer" = [])),
    responses(
        (status = 200, description = "The token", body = dto::ProxyToken),
        (status = 404, description = "No active grant this account holds (`grant_not_active`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Person>))]
#[post("/v1/me/proxies/{id}/token")]
pub async fn create_proxy_token(
    req: HttpRequest,
    state: web::Data<AppState>,
    person: Person,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = grant_id(&path.into_inner(), ErrorCode::GrantNotActive)?;
    let (holder, vault, now) = (person.account_id, state.vault.clone(), state.now());
    let ts = now.naive_utc();
    let entry = grant_entry(&req, holder, "proxy.token", Some(id));
    let grant = state
        .db
        .transaction(move |c| {
            let g = proxies::get(c, &vault, id)?.filter(|g| {
                g.holder_account_id == Some(holder) && g.status(now) == rules::GrantStatus::Active
            });
            if let Some(g) = &g {
                // Still bound to the person the grant was given for.
                if proxies::live(c, g.id, g.principal_account_id, holder, ts)?.is_none() {
                    return Ok(None);
                }
                audit::record(c, &entry, ts)?;
            }
            Ok(g)
        })
        .await?
        .ok_or(ErrorCode::GrantNotActive)?;
    let ttl = rules::token_ttl(now, utc(grant.expires_at)).ok_or(ErrorCode::GrantNotActive)?;
    let scope = grant.scopes.to_text();
    let claims = ProxyClaims {
        iss: state.settings.token_issuer.clone(),
        aud: APP_AUDIENCE.to_owned(),
        sub: grant.principal_account_id.to_string(),
        sid: person.session_id.to_string(),
        exp: now.timestamp() + ttl,
        iat: now.timestamp(),
        jti: Uuid::now_v7().to_string(),
        token_use: ACCESS_TOKEN_USE.to_owned(),
        act: Actor {
            sub: holder.to_string(),
        },
        scope: scope.clone(),
        grant_id: grant.id.to_string(),
        // The relative's own step-up, if fresh, carries over (never past the token).
        step_up_until: person
            .step_up_until
            .filter(|until| *until > now.timestamp())
            .map(|until| until.min(now.timestamp() + ttl)),
    };
    let token = state.signer.sign(&claims).map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(dto::ProxyToken {
            access_token: token,
            token_type: "Bearer".to_owned(),
            issued_token_type: "urn:ietf:params:oauth:token-type:access_token".to_owned(),
            expires_in: ttl,
            scope,
        }))
}

/// The open invitations to the signed-in account's phone, newest first; who they are from is
/// masked.
#[utoipa::path(get, operation_id = "list_proxy_invitations", path = "/v1/me/proxy-invitations", tag = "proxies", params(PageQuery),
    security(("person_bearer" = [])),
    responses(
        (status = 200, description = "Newest first", body = dto::InvitationList),
        (status = 422, description = "The page is invalid", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Person>))]
#[get("/v1/me/proxy-invitations")]
pub async fn list_proxy_invitations(
    state: web::Data<AppState>,
    person: Person,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = PageRequest::parse(&query)?;
    let (account, vault, now) = (person.account_id, state.vault.clone(), state.now());
    let list = state
        .db
        .run(move |c| {
            let Some(me) = accounts::get(c, account)? else {
                return Ok(None);
            };
            proxies::invitations(
                c,
                &vault,
                &me.phone_hash,
                now.naive_utc(),
                page.after.as_deref(),
                page.limit,
            )
            .map(Some)
        })
        .await?
        .ok_or(ErrorCode::Unauthorized)?;
    Ok(HttpResponse::Ok().json(dto::InvitationList {
        items: list
            .items
            .into_iter()
            .map(|g| dto::InvitationView {
                id: g.id,
                principal: principal(&g),
                relation: wire_relation(g.relation),
                scopes: g.scopes.scopes().into_iter().map(wire_scope).collect(),
                expires_at: utc(g.expires_at),
            })
            .collect(),
        next_cursor: list.next.as_deref().map(cursor::encode),
    }))
}

/// Accepts an open invitation to the signed-in account's phone: the grant becomes active, with
/// the same id. Any other id (someone else's, accepted, revoked, expired) is 404.
#[utoipa::path(post, operation_id = "accept_proxy_invitation", path = "/v1/me/proxy-invitations/{id}/accept", tag = "proxies",
    params(("id" = Uuid, Path, description = "The invitation's (grant's) id")), security(("person_bearer" = [])),
    responses(
        (status = 200, description = "Active", body = dto::GrantView),
        (status = 404, description = "No open invitation to this account's phone (`invitation_not_found`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Person>))]
#[post("/v1/me/proxy-invitations/{id}/accept")]
pub async fn accept_proxy_invitation(
    req: HttpRequest,
    state: web::Data<AppState>,
    person: Person,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = grant_id(&path.into_inner(), ErrorCode::InvitationNotFound)?;
    let (account, vault, now) = (person.account_id, state.vault.clone(), state.now());
    let ts = now.naive_utc();
    let entry = grant_entry(&req, account, "proxy.accept", Some(id));
    let grant = state
        .db
        .transaction(move |c| {
            let Some(me) = accounts::get(c, account)? else {
                return Ok(None);
            };
            let g = proxies::accept(c, &vault, id, account, &me.phone_hash, ts)?;
            if g.is_some() {
                audit::record(c, &entry, ts)?;
            }
            Ok(g)
        })
        .await?
        .ok_or(ErrorCode::InvitationNotFound)?;
    Ok(HttpResponse::Ok().json(grant_view(grant, now)))
}

/// Everything done in the principal's name with proxy tokens, newest first: who (the
/// relative's masked phone and relation), what, the answer, from which device, when.
#[utoipa::path(get, operation_id = "list_proxy_activity", path = "/v1/me/proxy-activity", tag = "proxies", params(PageQuery),
    security(("person_bearer" = [])),
    responses(
        (status = 200, description = "Newest first", body = dto::ActivityList),
        (status = 422, description = "The page is invalid", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Person>))]
#[get("/v1/me/proxy-activity")]
pub async fn list_proxy_activity(
    state: web::Data<AppState>,
    person: Person,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = PageRequest::parse(&query)?;
    let list = activity_page(&state, person.account_id, Side::Given, page).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// A page of proxy activity of `account` on `side` (as principal, or as the relative acting).
pub async fn activity_page(
    state: &AppState,
    account: Uuid,
    side: Side,
    page: PageRequest,
) -> Result<dto::ActivityList, ApiError> {
    let vault = state.vault.clone();
    let list = state
        .db
        .run(move |c| {
            proxies::activity(c, &vault, account, side, page.after.as_deref(), page.limit)
        })
        .await?;
    Ok(dto::ActivityList {
        items: list
            .items
            .into_iter()
            .map(|a| dto::ActivityView {
                id: a.id,
                grant_id: a.grant_id,
                holder_phone: a.holder_phone_masked,
                relation: wire_relation(a.relation),
                method: a.method,
                route: a.route,
                status: a.status,
                device: a.device,
                at: utc(a.occurred_at),
            })
            .collect(),
        next_cursor: list.next.as_deref().map(cursor::encode),
    })
}

/// The assisted path, for a person without a smartphone: the relative names the person (ID
/// number and name) and the scopes; if they match a bound person, that person's phone gets a
/// code (through the jobs system), which they read to the relative. The answer is the same
/// whether or not anything matched. Once a minute and ten times a day per account.
#[utoipa::path(post, operation_id = "create_proxy_request", path = "/v1/me/proxy-requests", tag = "proxies", request_body = dto::ProxyRequestBody,
    security(("person_bearer" = [])),
    responses(
        (status = 202, description = "Taken; a code is on its way if the details match a bound person", body = dto::ProxyRequestAccepted),
        (status = 422, description = "A field is invalid", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<(Person, problems::SmsCooldown, problems::SmsDailyCap)>))]
#[post("/v1/me/proxy-requests")]
pub async fn create_proxy_request(
    req: HttpRequest,
    state: web::Data<AppState>,
    person: Person,
    body: Json<dto::ProxyRequestBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let mut f = Fields::new();
    let national_id = f.check("national_id", NationalId::parse(&b.national_id));
    let name = f.check("name", PersonName::parse(&b.name));
    let scopes = f.check("scopes", scopes_of(&b.scopes));
    let (Some(national_id), Some(name), Some(scopes)) = (national_id, name, scopes) else {
        return Err(f.into_error());
    };
    let relation = b.relation.map_or(Relation::Other, relation_of);
    let (requester, vault, now) = (person.account_id, state.vault.clone(), state.now());
    let ts = now.naive_utc();
    let id = Uuid::now_v7();
    let code = opaque::random_digits(sms_policy::CODE_DIGITS);
    let mut entry = Audit::of(&req).entry(
        ActorKind::Person,
        Some(requester.to_string()),
        "proxy.request",
        "success",
    );
    entry.subject_kind = Some("proxy_request");
    entry.subject_id = Some(id.to_string());
    state
        .db
        .transaction(move |c| {
            let made = proxies::requests_since(c, requester, ts - Duration::days(1))?;
            match rules::may_request(&made, now) {
                Ok(()) => {}
                Err(RequestRefused::Cooldown(wait)) => {
                    return Ok(Err(ErrorCode::SmsCooldown.retry_after(wait)))
                }
                Err(RequestRefused::DailyCap(wait)) => {
                    return Ok(Err(ErrorCode::SmsDailyCap.retry_after(wait)))
                }
            }
            // The person, if the ID number and the name both match and an account other than
            // the requester's is bound to them.
            let matched = match persons::find_by_national_id(c, &vault, &national_id)? {
                Some(p) if p.name == name => proxies::bound_account(c, p.id)?
                    .filter(|a| *a != requester)
                    .map(|a| (p.id, a)),
                _ => None,
            };
            proxies::insert_request(
                c,
                &proxies::NewRequest {
                    id,
                    requester_account_id: requester,
                    person_id: matched.map(|m| m.0),
                    principal_account_id: matched.map(|m| m.1),
                    code_hash: matched.map(|_| codes::code_hash(&vault, id, &code)),
                    relation,
                    scopes,
                    code_expires_at: ts + Duration::seconds(rules::CODE_TTL_SECS),
                },
                ts,
            )?;
            if let Some((_, principal)) = matched {
                proxies::enqueue_code(c, &vault, id, principal, &code, now)?;
            }
            audit::record(c, &entry, ts)?;
            Ok(Ok(()))
        })
        .await??;
    Ok(HttpResponse::Accepted().json(dto::ProxyRequestAccepted {
        id,
        expires_in: rules::CODE_TTL_SECS,
    }))
}

/// The relative enters the code the person read to them: the grant is active at once (90
/// days, the request's scopes and relation). A wrong, expired or used code, or a fifth wrong
/// try, is 422 `proxy_code_invalid`; after five wrong tries the request is spent.
#[utoipa::path(post, operation_id = "confirm_proxy_request", path = "/v1/me/proxy-requests/{id}/confirm", tag = "proxies", request_body = dto::ProxyConfirmBody,
    params(("id" = Uuid, Path, description = "The request's id")), security(("person_bearer" = [])),
    responses(
        (status = 201, description = "Active", body = dto::GrantView),
        (status = 404, description = "No request of this account (`proxy_request_not_found`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The code is malformed, wrong, expired or tried too often (`proxy_code_invalid`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Person>))]
#[post("/v1/me/proxy-requests/{id}/confirm")]
pub async fn confirm_proxy_request(
    req: HttpRequest,
    state: web::Data<AppState>,
    person: Person,
    path: web::Path<String>,
    body: Json<dto::ProxyConfirmBody>,
) -> Result<HttpResponse, ApiError> {
    let id = grant_id(&path.into_inner(), ErrorCode::ProxyRequestNotFound)?;
    let code = body.0.code;
    if code.len() != sms_policy::CODE_DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(crate::error::field_error_of(
            "code",
            crate::error::Issue::Value(shebao_domain::ValueError::Format {
                expected: "6 digits",
            }),
        ));
    }
    let (requester, vault, now) = (person.account_id, state.vault.clone(), state.now());
    let ts = now.naive_utc();
    let mut entry = Audit::of(&req).entry(
        ActorKind::Person,
        Some(requester.to_string()),
        "proxy.request_confirm",
        "success",
    );
    entry.subject_kind = Some("proxy_request");
    entry.subject_id = Some(id.to_string());
    let grant = state
        .db
        .transaction(move |c| {
            let confirmed = proxies::confirm_request(c, &vault, id, requester, &code, ts)?;
            if confirmed.is_ok() {
                audit::record(c, &entry, ts)?;
            }
            Ok(confirmed)
        })
        .await?
        .map_err(|refused| match refused {
            NotConfirmed::NotFound => ErrorCode::ProxyRequestNotFound,
            NotConfirmed::Invalid => ErrorCode::ProxyCodeInvalid,
        })?;
    Ok(HttpResponse::Created().json(grant_view(grant, now)))
}
