//! The app's default service: 404 for a path no route serves, 405 (with `Allow`) for a known
//! path asked with a method it does not support.

use actix_web::{web, HttpRequest};

use crate::error::ApiError;
use crate::state::AppState;

pub async fn fallback(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<actix_web::HttpResponse, ApiError> {
    Err(match state.routes.allowed(req.path()) {
        Some(allow) if !allow.iter().any(|m| m == req.method().as_str()) => {
            ApiError::MethodNotAllowed { allow }
        }
        _ => ApiError::RouteNotFound,
    })
}
