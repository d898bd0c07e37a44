//! Extractors: the JSON body (with field-level errors), the staff principal from a bearer
//! token, the client's address. Their failures are `ApiError`s like any other.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use shebao_domain::staff::StaffRole;
use shebao_security::{TokenError, VerifyOptions};
use uuid::Uuid;

use super::strict_json::Strict;
use crate::error::{field_error_of, ApiError, ErrorCode, FieldIssue, Issue, ProblemSet, JSON_BODY};
use crate::state::AppState;

/// A JSON body. Unlike actix's own, it answers 415 for a wrong content type, 413 past the
/// limit, 400 for JSON that cannot be parsed and 422 naming the field for JSON of the wrong shape.
#[derive(Debug)]
pub struct Json<T>(pub T);

fn is_json(req: &HttpRequest) -> bool {
    match req.mime_type() {
        Ok(Some(m)) => {
            m.type_() == "application"
                && (m.subtype() == "json" || m.suffix().is_some_and(|s| s == "json"))
        }
        _ => false,
    }
}

/// JSON Schema counts `2050.0` as an integer, serde does not: every number without a fraction
/// (that fits 64 bits) is turned into an integer before the body is read.
fn integral_numbers(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Number(n) if !n.is_i64() && !n.is_u64() => {
            if let Some(f) = n.as_f64().filter(|f| f.fract() == 0.0) {
                // The casts saturate; only a value that survives the round trip is kept.
                if f >= 0.0 && (f as u64) as f64 == f && f < u64::MAX as f64 {
                    *v = serde_json::Value::from(f as u64);
                } else if f < 0.0 && (f as i64) as f64 == f && f > i64::MIN as f64 {
                    *v = serde_json::Value::from(f as i64);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(integral_numbers),
        serde_json::Value::Object(map) => map.values_mut().for_each(integral_numbers),
        _ => {}
    }
}

/// The range of the integer type serde expected, when a number did not fit it: `invalid value:
/// integer `70000`, expected u16` becomes `range` 0–65535, not the parser's words.
fn integer_range(msg: &str) -> Option<shebao_domain::ValueError> {
    if !msg.starts_with("invalid value: integer") {
        return None;
    }
    let (min, max) = match msg.rsplit("expected ").next()? {
        "u8" => (0, i64::from(u8::MAX)),
        "u16" => (0, i64::from(u16::MAX)),
        "u32" => (0, i64::from(u32::MAX)),
        "i8" => (i64::from(i8::MIN), i64::from(i8::MAX)),
        "i16" => (i64::from(i16::MIN), i64::from(i16::MAX)),
        "i32" => (i64::from(i32::MIN), i64::from(i32::MAX)),
        "u64" | "i64" => (i64::MIN, i64::MAX),
        _ => return None,
    };
    Some(shebao_domain::ValueError::Range { min, max })
}

/// Turns a serde error at a path into the client's answer.
fn json_error(e: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = e.path().to_string();
    let inner = e.into_inner();
    match inner.classify() {
        serde_json::error::Category::Data => {
            let msg = inner.to_string();
            // serde reports a missing field at its parent's path, naming it in the message.
            if let Some(name) = msg
                .strip_prefix("missing field `")
                .and_then(|r| r.split('`').next())
            {
                let field = if path == "." || path.is_empty() {
                    name.to_owned()
                } else {
                    format!("{path}.{name}")
                };
                return field_error_of(&field, Issue::Required);
            }
            let msg = msg.split(" at line ").next().unwrap_or(&msg).to_owned();
            if let Some(range) = integer_range(&msg) {
                let field = if path == "." || path.is_empty() {
                    "$".to_owned()
                } else {
                    path
                };
                return field_error_of(&field, Issue::Value(range));
            }
            let field = if path == "." || path.is_empty() {
                "$".to_owned()
            } else {
                path
            };
            ApiError::Validation(vec![FieldIssue {
                field,
                issue: Issue::Type(msg),
            }])
        }
        _ => ApiError::MalformedJson(inner.to_string()),
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<web::Data<AppState>>()
            .map(|s| s.settings.body_limit_bytes)
            .unwrap_or(256 * 1024);
        if !is_json(req) {
            return Box::pin(async {
                Err(ApiError::UnsupportedMediaType {
                    accepted: JSON_BODY,
                })
            });
        }
        let declared = content_length(req).and_then(|n| usize::try_from(n).ok());
        if declared.is_some_and(|n| n > limit) {
            return Box::pin(async move { Err(ApiError::PayloadTooLarge { limit }) });
        }
        let mut payload = payload.take();
        Box::pin(async move {
            let mut body = web::BytesMut::with_capacity(declared.unwrap_or(1024).min(limit));
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| ApiError::MalformedJson(e.to_string()))?;
                if body.len() + chunk.len() > limit {
                    return Err(ApiError::PayloadTooLarge { limit });
                }
                body.extend_from_slice(&chunk);
            }
            let mut json: serde_json::Value = serde_json::from_slice(&body)
                .map_err(|e| ApiError::MalformedJson(e.to_string()))?;
            integral_numbers(&mut json);
            let value: T = serde_path_to_error::deserialize(Strict(json)).map_err(json_error)?;
            Ok(Json(value))
        })
    }
}

/// Reads a JSON value already parsed (a part of a body chosen by another field, like an
/// application's `data` by its `kind`) as `T`, naming fields under `prefix` in errors.
pub fn from_json_value<T: DeserializeOwned>(
    mut value: serde_json::Value,
    prefix: &str,
) -> Result<T, ApiError> {
    integral_numbers(&mut value);
    serde_path_to_error::deserialize(Strict(value)).map_err(|e| match json_error(e) {
        ApiError::Validation(issues) => ApiError::Validation(
            issues
                .into_iter()
                .map(|i| FieldIssue {
                    field: if i.field == "$" {
                        prefix.to_owned()
                    } else {
                        format!("{prefix}.{}", i.field)
                    },
                    issue: i.issue,
                })
                .collect(),
        ),
        other => other,
    })
}

/// The body length the request declares (`Content-Length`), if it declares one.
pub fn content_length(req: &HttpRequest) -> Option<u64> {
    req.headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
}

/// The audience and kind of staff access tokens.
pub const STAFF_AUDIENCE: &str = "shebao:staff";
pub const ACCESS_TOKEN_USE: &str = "access";

/// The claims of a staff access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StaffClaims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub token_use: String,
    pub role: StaffRole,
}

/// A signed-in staff member, from a valid staff access token.
#[derive(Debug, Clone)]
pub struct Staff {
    pub id: Uuid,
    pub role: StaffRole,
}

impl Staff {
    /// Only these roles may go on.
    pub fn require(&self, roles: &[StaffRole]) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ErrorCode::Forbidden.into())
        }
    }
}

/// A staff route answers 401 without a valid staff token and 403 to a role it does not serve.
impl ProblemSet for Staff {
    fn codes() -> Vec<ErrorCode> {
        bearer_problems(ErrorCode::Forbidden)
    }
}

/// What a route behind a bearer token answers: 401 without a valid token, and `forbidden`, the
/// extractor's 403.
pub fn bearer_problems(forbidden: ErrorCode) -> Vec<ErrorCode> {
    vec![ErrorCode::Unauthorized, ErrorCode::TokenExpired, forbidden]
}

/// Roles that may use the registry's staff endpoints.
pub const ANY_STAFF: &[StaffRole] = &[StaffRole::Caseworker, StaffRole::Admin];

/// The bearer token of the request, if it has one.
pub fn bearer(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|t| !t.is_empty())
}

impl FromRequest for Staff {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(staff_from(req))
    }
}

fn staff_from(req: &HttpRequest) -> Result<Staff, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::internal("application state missing"))?;
    let token = bearer(req).ok_or(ErrorCode::Unauthorized)?;
    let claims: StaffClaims =
        verify_access(state, token, STAFF_AUDIENCE, state.clock.now().timestamp())?;
    let id = Uuid::parse_str(&claims.sub).map_err(|_| ErrorCode::Unauthorized)?;
    Ok(Staff {
        id,
        role: claims.role,
    })
}

/// Verifies an access token of `audience` at `now` (unix seconds): 401 `token_expired` once it
/// has expired, 401 `unauthorized` for anything else wrong with it.
pub fn verify_access<C: DeserializeOwned>(
    state: &AppState,
    token: &str,
    audience: &str,
    now: i64,
) -> Result<C, ApiError> {
    let opts = VerifyOptions {
        issuer: &state.settings.token_issuer,
        audience,
        token_use: ACCESS_TOKEN_USE,
    };
    state.signer.verify(token, &opts, now).map_err(|e| match e {
        TokenError::Expired => ApiError::Code(ErrorCode::TokenExpired),
        _ => ApiError::Code(ErrorCode::Unauthorized),
    })
}

/// The client's address: the socket's peer, or the forwarded one when the peer is a trusted
/// proxy (see [`crate::client_ip`]).
pub fn client_ip(req: &HttpRequest) -> Option<String> {
    let peer = req.peer_addr()?.ip();
    let trusted = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.settings.trusted_proxies.as_slice())
        .unwrap_or_default();
    let values = |name| -> Vec<&str> {
        req.headers()
            .get_all(name)
            .filter_map(|v| v.to_str().ok())
            .collect()
    };
    let (fwd, xff) = (values(header::FORWARDED), values(X_FORWARDED_FOR));
    Some(crate::client_ip::client_ip(peer, &fwd, &xff, trusted).to_string())
}

const X_FORWARDED_FOR: header::HeaderName = header::HeaderName::from_static("x-forwarded-for");

/// A validated page request.
#[derive(Debug, Clone)]
pub struct PageRequest {
    pub limit: usize,
    pub after: Option<String>,
}

pub const DEFAULT_PAGE: u32 = 50;
pub const MAX_PAGE: u32 = 100;

impl PageRequest {
    /// Checks `limit` (1–100, default 50) and decodes `cursor`.
    pub fn parse(q: &shebao_openapi::staff::PageQuery) -> Result<PageRequest, ApiError> {
        // Read as text: `-1` or `99999999999` is out of range like `0`, not a parser's message.
        let range = || {
            field_error_of(
                "limit",
                Issue::Value(shebao_domain::ValueError::Range {
                    min: 1,
                    max: i64::from(MAX_PAGE),
                }),
            )
        };
        let limit = match q.limit.as_deref() {
            None => DEFAULT_PAGE,
            Some(text) => match text.parse::<i128>() {
                Ok(n) => u32::try_from(n)
                    .ok()
                    .filter(|n| (1..=MAX_PAGE).contains(n))
                    .ok_or_else(range)?,
                Err(_) => {
                    return Err(field_error_of(
                        "limit",
                        Issue::Value(shebao_domain::ValueError::Format {
                            expected: "an integer",
                        }),
                    ))
                }
            },
        };
        let after = match q.cursor.as_deref() {
            None | Some("") => None,
            Some(c) => Some(crate::cursor::decode(c).ok_or_else(|| {
                field_error_of(
                    "cursor",
                    Issue::Value(shebao_domain::ValueError::Format {
                        expected: "a cursor from a previous page",
                    }),
                )
            })?),
        };
        Ok(PageRequest {
            limit: limit as usize,
            after,
        })
    }
}
