//! The contribution certificate (参保证明): a bound person issues one for a period of months,
//! downloads its PDF, lists and revokes theirs; anyone holding one verifies it without signing
//! in, by its id, the signed token of its QR code and, to check a copy, the copy's SHA-256.
//!
//! The PDF is made once, at issue, and stored with its hash: what is downloaded later is byte
//! for byte what was issued. The QR code holds the verification URL with a JWT signed by the
//! service's key (the one of `/.well-known/jwks.json`), so a verifier can also check it offline.

use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use shebao_domain::certificates::{
    self as rules, CertificateKind, CertificatePeriod, PeriodError, Verdict,
};
use shebao_domain::period::Period;
use shebao_domain::ValueError;
use shebao_infra::audit::{self, ActorKind};
use shebao_infra::certificates::{self as store, Certificate, NewCertificate};
use shebao_infra::records::contributions;
use shebao_infra::registry::persons;
use shebao_openapi::certificates as dto;
use shebao_openapi::staff::PageQuery;
use shebao_security::{opaque, tokens::VerifyOptions, TokenError};
use uuid::Uuid;

use crate::audit::Audit;
use crate::auth::bound::BoundPerson;
use crate::auth::extract::{Json, PageRequest};
use crate::cursor;
use crate::error::{field_error_of, problems, ApiError, ErrorCode, Fields, Issue, Problems};
use crate::state::AppState;

/// The `aud` and `token_use` of a certificate's token: it can pass for nothing else.
pub const TOKEN_AUDIENCE: &str = "shebao-certificate";
pub const TOKEN_USE: &str = "certificate";

/// The claims of a certificate's token. Only masked personal data.
#[derive(Debug, Serialize, Deserialize)]
pub struct CertificateClaims {
    pub iss: String,
    pub aud: String,
    /// The certificate's id.
    pub sub: String,
    pub token_use: String,
    pub kind: String,
    pub period: dto::CertificatePeriod,
    /// The holder's masked name.
    pub issued_to: String,
    pub iat: i64,
    pub exp: i64,
}

fn wire_kind(k: CertificateKind) -> dto::CertificateKind {
    match k {
        CertificateKind::ContributionHistory => dto::CertificateKind::ContributionHistory,
        CertificateKind::InsuredStatus => dto::CertificateKind::InsuredStatus,
    }
}

fn domain_kind(k: dto::CertificateKind) -> CertificateKind {
    match k {
        dto::CertificateKind::ContributionHistory => CertificateKind::ContributionHistory,
        dto::CertificateKind::InsuredStatus => CertificateKind::InsuredStatus,
    }
}

fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

fn not_found() -> ApiError {
    ErrorCode::CertificateNotFound.into()
}

fn certificate_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| not_found())
}

fn pdf_url(state: &AppState, id: Uuid) -> String {
    format!("{}/v1/me/certificates/{id}.pdf", state.public_url)
}

fn verify_page(state: &AppState, id: Uuid) -> String {
    format!("{}/v1/certificates/{id}/verify", state.public_url)
}

fn period_of(c: &Certificate) -> dto::CertificatePeriod {
    dto::CertificatePeriod {
        from: c.from.to_string(),
        to: c.to.to_string(),
    }
}

fn summary(state: &AppState, c: Certificate) -> dto::CertificateSummary {
    dto::CertificateSummary {
        id: c.id,
        kind: wire_kind(c.kind),
        period: period_of(&c),
        issued_at: utc(c.issued_at),
        expires_at: utc(c.expires_at),
        revoked_at: c.revoked_at.map(utc),
        pdf_url: pdf_url(state, c.id),
        sha256: c.sha256,
    }
}

/// The request's kind and period, checked against the person's current month.
fn parse_request(
    b: dto::CertificateRequest,
    current: Period,
) -> Result<(CertificateKind, CertificatePeriod), ApiError> {
    let mut f = Fields::new();
    let from = f.check("from", Period::parse(&b.from));
    let to = f.check("to", Period::parse(&b.to));
    let (Some(from), Some(to)) = (from, to) else {
        return Err(f.into_error());
    };
    let period = CertificatePeriod::new(from, to, current)
        .map_err(|e: PeriodError| field_error_of("to", Issue::Value(e.value_error())))?;
    Ok((domain_kind(b.kind), period))
}

/// A time as the certificate prints it, in the person's region's zone.
fn local_text(at: DateTime<Utc>, zone: &shebao_domain::region::TimeZoneName) -> String {
    let local = at.with_timezone(&zone.tz()).format("%Y-%m-%d %H:%M");
    match zone.as_str() {
        "Asia/Shanghai" => format!("{local}（北京时间）"),
        other => format!("{local}（{other}）"),
    }
}

/// Issues a certificate of the person's contributions over a period: the PDF is made now,
/// stored with its SHA-256, and returned by `pdf_url`; `verify_url` (also in its QR code)
/// carries a signed token. At most 10 a day per person.
#[utoipa::path(post, operation_id = "issue_certificate", path = "/v1/me/certificates", tag = "certificates",
    request_body = dto::CertificateRequest, security(("person_bearer" = [])),
    responses(
        (status = 201, description = "Issued", body = dto::CertificateIssued),
        (status = 422, description = "`kind`, `from` or `to` is invalid: a month `YYYY-MM`, `from` ≤ `to`, `to` not after the current month, at most 480 months", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<(BoundPerson, problems::CertificateLimit)>))]
#[post("/v1/me/certificates")]
pub async fn issue_certificate(
    req: HttpRequest,
    state: web::Data<AppState>,
    me: BoundPerson,
    body: Json<dto::CertificateRequest>,
) -> Result<HttpResponse, ApiError> {
    let now = state.now();
    let today = me.today(now);
    let (kind, period) = parse_request(body.0, Period::containing(today))?;
    let pid = me.person_id;
    let window_start = (now - Duration::hours(rules::ISSUE_WINDOW_HOURS)).naive_utc();
    let (person, rows, issued) = state
        .db
        .run(move |c| {
            Ok((
                persons::get(c, pid)?,
                contributions::month_rows(c, pid, today)?,
                store::issued_since(c, pid, window_start)?,
            ))
        })
        .await?;
    let person = person.ok_or_else(|| ApiError::Internal("bound person missing".into()))?;
    if !rules::may_issue(issued) {
        return Err(limit_reached(&state, pid, window_start, now).await);
    }
    let rows: Vec<_> = rows.into_iter().map(|(r, _)| r).collect();
    let draft = Draft::new(&state, &person, rules::content(kind, period, &rows), now)?;
    let pdf = render(&draft, &me).await?;
    let mut entry = Audit::of(&req).entry(
        ActorKind::Person,
        Some(me.account_id.to_string()),
        "certificate.issue",
        "success",
    );
    entry.subject_kind = Some("certificate");
    entry.subject_id = Some(draft.id.to_string());
    let record = draft.record(pid, pdf);
    let stored = state
        .db
        .transaction(move |c| {
            // Counted again under the person's lock: parallel issues cannot pass the limit.
            store::lock_person(c, pid)?;
            if !rules::may_issue(store::issued_since(c, pid, window_start)?) {
                return Ok(false);
            }
            store::insert(c, &record)?;
            audit::record(c, &entry, record.issued_at)?;
            Ok(true)
        })
        .await?;
    if !stored {
        return Err(limit_reached(&state, pid, window_start, now).await);
    }
    let pdf_url = pdf_url(&state, draft.id);
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, pdf_url.clone()))
        .json(dto::CertificateIssued {
            id: draft.id,
            pdf_url,
            verify_url: draft.verify_url,
            expires_at: draft.expires_at,
        }))
}

/// A certificate before it is a PDF: its content, who it is for (masked), its times and its
/// signed verification URL.
struct Draft {
    id: Uuid,
    content: rules::CertificateContent,
    issued_to: String,
    national_id_masked: String,
    issued_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    /// The verification page, as printed.
    verify_page: String,
    /// The page with the signed token: what the QR code holds.
    verify_url: String,
}

impl Draft {
    fn new(
        state: &AppState,
        person: &persons::Person,
        content: rules::CertificateContent,
        now: DateTime<Utc>,
    ) -> Result<Draft, ApiError> {
        let id = Uuid::now_v7();
        // Whole seconds: what the token and the JSON say is what the database keeps.
        let issued_at = DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now);
        let expires_at = rules::expires_at(issued_at);
        let issued_to = person.name.masked();
        let claims = CertificateClaims {
            iss: state.settings.token_issuer.clone(),
            aud: TOKEN_AUDIENCE.to_owned(),
            sub: id.to_string(),
            token_use: TOKEN_USE.to_owned(),
            kind: content.kind.as_str().to_owned(),
            period: dto::CertificatePeriod {
                from: content.period.from.to_string(),
                to: content.period.to.to_string(),
            },
            issued_to: issued_to.clone(),
            iat: issued_at.timestamp(),
            exp: expires_at.timestamp(),
        };
        let token = state.signer.sign(&claims).map_err(ApiError::internal)?;
        let verify_page = verify_page(state, id);
        Ok(Draft {
            id,
            verify_url: format!("{verify_page}?token={token}"),
            verify_page,
            content,
            issued_to,
            national_id_masked: person.national_id_masked.clone(),
            issued_at,
            expires_at,
        })
    }

    /// The row to store, with the PDF and its SHA-256.
    fn record(&self, person_id: Uuid, pdf: Vec<u8>) -> NewCertificate {
        NewCertificate {
            id: self.id,
            person_id,
            kind: self.content.kind,
            from: self.content.period.from,
            to: self.content.period.to,
            issued_to: self.issued_to.clone(),
            national_id_masked: self.national_id_masked.clone(),
            sha256: opaque::sha256_hex_of(&pdf),
            pdf,
            issued_at: self.issued_at.naive_utc(),
            expires_at: self.expires_at.naive_utc(),
        }
    }
}

/// The PDF of a draft, its times in the person's zone; CPU work, off the async executor.
async fn render(draft: &Draft, me: &BoundPerson) -> Result<Vec<u8>, ApiError> {
    let id = draft.id.to_string();
    let content = draft.content.clone();
    let texts = [
        draft.issued_to.clone(),
        draft.national_id_masked.clone(),
        local_text(draft.issued_at, &me.time_zone),
        local_text(draft.expires_at, &me.time_zone),
        draft.verify_page.clone(),
        draft.verify_url.clone(),
    ];
    web::block(move || {
        let [name, national_id, issued_at, expires_at, page, url] = &texts;
        shebao_pdf::certificate(&shebao_pdf::CertificateSheet {
            id: &id,
            content: &content,
            name_masked: name,
            national_id_masked: national_id,
            issued_at,
            expires_at,
            verify_url: page,
            qr_text: url,
        })
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)
}

/// 429 `certificate_limit`, with `Retry-After` until the oldest issue of the window leaves it.
async fn limit_reached(
    state: &AppState,
    pid: Uuid,
    window_start: NaiveDateTime,
    now: DateTime<Utc>,
) -> ApiError {
    let oldest = state
        .db
        .run(move |c| store::oldest_issued_since(c, pid, window_start))
        .await;
    let secs = match oldest {
        Ok(Some(t)) => (utc(t) + Duration::hours(rules::ISSUE_WINDOW_HOURS) - now).num_seconds(),
        _ => 60,
    };
    ErrorCode::CertificateLimit.retry_after(secs)
}

/// The person's certificates, newest first (revoked ones too, marked).
#[utoipa::path(get, operation_id = "list_certificates", path = "/v1/me/certificates", tag = "certificates",
    params(PageQuery), security(("person_bearer" = [])),
    responses(
        (status = 200, description = "A page of certificates", body = dto::CertificateList),
        (status = 422, description = "The page is invalid", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<BoundPerson>))]
#[get("/v1/me/certificates")]
pub async fn list_certificates(
    state: web::Data<AppState>,
    me: BoundPerson,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = PageRequest::parse(&query)?;
    let after = match page.after.as_deref() {
        Some(key) => Some(Uuid::parse_str(key).map_err(|_| {
            field_error_of(
                "cursor",
                Issue::Value(ValueError::Format {
                    expected: "a cursor from a previous page",
                }),
            )
        })?),
        None => None,
    };
    let (pid, limit) = (me.person_id, page.limit);
    let result = state
        .db
        .run(move |c| store::list(c, pid, after, limit))
        .await?;
    Ok(HttpResponse::Ok().json(dto::CertificateList {
        items: result
            .items
            .into_iter()
            .map(|c| summary(&state, c))
            .collect(),
        next_cursor: result.next.as_deref().map(cursor::encode),
    }))
}

/// The certificate's PDF, byte for byte as issued. Only its owner's; any other id is 404.
#[utoipa::path(get, operation_id = "certificate_pdf", path = "/v1/me/certificates/{id}.pdf", tag = "certificates",
    params(("id" = Uuid, Path, description = "The certificate's id")),
    security(("person_bearer" = [])),
    responses(
        (status = 200, description = "The PDF", content_type = "application/pdf", body = inline(dto::PdfFile)),
        (status = 404, description = "No such certificate of yours (`certificate_not_found`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<BoundPerson>))]
#[get("/v1/me/certificates/{id}.pdf")]
pub async fn certificate_pdf(
    state: web::Data<AppState>,
    me: BoundPerson,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = certificate_id(&path.into_inner())?;
    let pid = me.person_id;
    let pdf = state
        .db
        .run(move |c| store::pdf_of(c, pid, id))
        .await?
        .ok_or_else(not_found)?;
    Ok(HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("inline; filename=\"certificate-{id}.pdf\""),
        ))
        .body(pdf))
}

/// Revokes one of the person's certificates: from now on it verifies as `valid: false`,
/// `revoked`. Revoking it again changes nothing (200, the same `revoked_at`).
#[utoipa::path(post, operation_id = "revoke_certificate", path = "/v1/me/certificates/{id}/revoke", tag = "certificates",
    params(("id" = Uuid, Path, description = "The certificate's id")),
    security(("person_bearer" = [])),
    responses(
        (status = 200, description = "Revoked", body = dto::CertificateSummary),
        (status = 404, description = "No such certificate of yours (`certificate_not_found`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<BoundPerson>))]
#[post("/v1/me/certificates/{id}/revoke")]
pub async fn revoke_certificate(
    req: HttpRequest,
    state: web::Data<AppState>,
    me: BoundPerson,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = certificate_id(&path.into_inner())?;
    let pid = me.person_id;
    let now = state.now().naive_utc();
    let mut entry = Audit::of(&req).entry(
        ActorKind::Person,
        Some(me.account_id.to_string()),
        "certificate.revoke",
        "success",
    );
    entry.subject_kind = Some("certificate");
    entry.subject_id = Some(id.to_string());
    let revoked = state
        .db
        .transaction(move |c| {
            let revoked = store::revoke(c, pid, id, now)?;
            if revoked.is_some() {
                audit::record(c, &entry, now)?;
            }
            Ok(revoked)
        })
        .await?
        .ok_or_else(not_found)?;
    Ok(HttpResponse::Ok().json(summary(&state, revoked)))
}

/// Whether a certificate is valid, for anyone holding it (no sign-in): its kind, masked holder,
/// period, times and the SHA-256 of the PDF as issued. `token` (from the QR code) is checked
/// when given; `sha256`, a copy's hash, is compared with the issued PDF's. Revoked, expired,
/// altered or a bad token: `valid: false` with the reason. An unknown id is 404.
#[utoipa::path(get, operation_id = "verify_certificate", path = "/v1/certificates/{id}/verify", tag = "certificates",
    params(("id" = Uuid, Path, description = "The certificate's id"), dto::VerifyQuery),
    responses(
        (status = 200, description = "The verdict", body = dto::CertificateVerification),
        (status = 404, description = "No such certificate (`certificate_not_found`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`sha256` is not 64 hex digits", body = shebao_openapi::Problem, content_type = "application/problem+json")))]
#[get("/v1/certificates/{id}/verify")]
pub async fn verify_certificate(
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<dto::VerifyQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = certificate_id(&path.into_inner())?;
    let q = query.into_inner();
    if let Some(h) = q.sha256.as_deref() {
        if h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(field_error_of(
                "sha256",
                Issue::Value(ValueError::Format {
                    expected: "64 hexadecimal digits",
                }),
            ));
        }
    }
    let c = state
        .db
        .run(move |c| store::get(c, id))
        .await?
        .ok_or_else(not_found)?;
    let now = state.now();
    let verdict = rules::verdict(
        c.revoked_at.is_some(),
        utc(c.expires_at),
        now,
        &c.sha256,
        q.sha256.as_deref(),
    );
    let reason = match verdict {
        Verdict::Valid => token_problem(&state, q.token.as_deref(), id, now),
        Verdict::Revoked => Some(dto::InvalidReason::Revoked),
        Verdict::Expired => Some(dto::InvalidReason::Expired),
        Verdict::HashMismatch => Some(dto::InvalidReason::Sha256Mismatch),
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(dto::CertificateVerification {
            valid: reason.is_none(),
            reason,
            id: c.id,
            kind: wire_kind(c.kind),
            issued_to: c.issued_to.clone(),
            national_id: c.national_id_masked.clone(),
            period: period_of(&c),
            issued_at: utc(c.issued_at),
            expires_at: utc(c.expires_at),
            revoked_at: c.revoked_at.map(utc),
            sha256: c.sha256,
        }))
}

/// Why a presented token does not vouch for certificate `id`, if it does not.
fn token_problem(
    state: &AppState,
    token: Option<&str>,
    id: Uuid,
    now: DateTime<Utc>,
) -> Option<dto::InvalidReason> {
    let token = token?;
    let opts = VerifyOptions {
        issuer: &state.settings.token_issuer,
        audience: TOKEN_AUDIENCE,
        token_use: TOKEN_USE,
    };
    match state
        .signer
        .verify::<CertificateClaims>(token, &opts, now.timestamp())
    {
        Ok(claims) if claims.sub == id.to_string() => None,
        Err(TokenError::Expired) => Some(dto::InvalidReason::Expired),
        _ => Some(dto::InvalidReason::TokenInvalid),
    }
}
