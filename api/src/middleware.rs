//! The one middleware every request passes: it gives the request an id (kept from a sane
//! `X-Request-Id` or made new), opens the span every log line of the request carries, sets the
//! request context (id, language), counts and times the request per route, writes the access
//! log line, returns the id in `X-Request-Id`, sets the security headers, and makes sure no
//! error leaves without a problem+json body.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse, ResponseError};
use shebao_openapi::problem::PROBLEM_JSON;
use tracing::Instrument;

use crate::context::{self, Lang, RequestContext};
use crate::error::{problem_for_status, ApiError};
use crate::security_headers;
use crate::state::AppState;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A client-supplied id is kept only if it is short and plain; anything else is replaced.
fn request_id(req: &ServiceRequest) -> String {
    req.headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string())
}

pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let id = request_id(&req);
    let lang = Lang::negotiate(req.headers());
    let method = req.method().clone();
    let path = req.path().to_owned();
    let state = req.app_data::<web::Data<AppState>>();
    let metrics = state.map(|s| s.metrics.clone());
    let hsts = state.is_some_and(|s| s.settings.hsts);
    let span = tracing::info_span!("request", request_id = %id, method = %method, path = %path);
    let ctx = RequestContext {
        request_id: id.clone(),
        lang,
        path: path.clone(),
    };

    if let Some(m) = &metrics {
        m.in_flight.inc();
    }
    // The request is not cloned before routing (the router needs it to itself); an error
    // that escapes every handler (none should) is passed on for actix to answer.
    let waiting = state.is_some_and(|s| !s.database_prepared()) && needs_database(&path);
    let result = context::scope(ctx, async move {
        if waiting {
            let unavailable = ApiError::Unavailable("the database is not prepared yet".into());
            return Ok(req.into_response(unavailable.error_response()));
        }
        next.call(req)
            .await
            .map(|res| ensure_problem(res.map_into_boxed_body()))
    })
    .instrument(span.clone())
    .await;
    if let Some(m) = &metrics {
        m.in_flight.dec();
    }
    let mut res = match result {
        Ok(res) => res,
        Err(e) => {
            span.in_scope(|| tracing::error!(error = %e, "request failed outside any handler"));
            return Err(e);
        }
    };

    let status = res.status();
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let elapsed = started.elapsed();
    if let Some(m) = &metrics {
        m.requests
            .with_label_values(&[method.as_str(), &route, status.as_str()])
            .inc();
        m.latency
            .with_label_values(&[method.as_str(), &route])
            .observe(elapsed.as_secs_f64());
    }
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, v);
    }
    security_headers::apply(res.headers_mut(), &path, hsts);
    // Texts (titles, details, messages, explanations) follow Accept-Language: say which language
    // was chosen, and tell caches the answer varies with it.
    let language = match lang {
        Lang::Zh => "zh-CN",
        Lang::En => "en",
    };
    res.headers_mut()
        .insert(header::CONTENT_LANGUAGE, HeaderValue::from_static(language));
    res.headers_mut()
        .append(header::VARY, HeaderValue::from_static("Accept-Language"));
    span.in_scope(|| {
        tracing::info!(
            status = status.as_u16(),
            route = %route,
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            "request handled"
        );
    });
    Ok(res)
}

/// Everything but the operational routes and the docs needs the database prepared.
fn needs_database(path: &str) -> bool {
    !matches!(path, "/healthz" | "/readyz" | "/openapi.json" | "/docs")
        && !path.starts_with("/docs/")
}

/// Rewrites an error response that has no JSON body (actix's own 404/405/413 …) into a problem,
/// keeping its status and headers.
fn ensure_problem(res: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    // Our own answers are JSON (problem+json, or a documented JSON body such as /readyz's);
    // anything else (empty, text/plain) came from actix and is rewritten.
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROBLEM_JSON) || v.starts_with("application/json"));
    if is_json {
        return res;
    }
    let mut problem = problem_for_status(status).problem();
    problem.status = status.as_u16();
    let (req, old) = res.into_parts();
    let mut new = HttpResponse::build(status);
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            new.append_header((name.clone(), value.clone()));
        }
    }
    new.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    ServiceResponse::new(req, new.body(body))
}
