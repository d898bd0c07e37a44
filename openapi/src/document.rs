//! The parts of the OpenAPI document that are not tied to one handler: the security scheme and
//! the error responses every operation can give.

use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::HttpMethod;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ObjectBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder, Type};
use utoipa::Modify;

use crate::problem::PROBLEM_JSON;

/// Security scheme names used by the handlers' `security(...)`.
pub const STAFF_BEARER: &str = "staff_bearer";
pub const PERSON_BEARER: &str = "person_bearer";

/// A problem+json response with a description.
pub fn problem_response(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
}

/// A problem+json response that also carries `Retry-After`.
pub fn retry_response(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(ObjectBuilder::new().schema_type(Type::Integer))
                .description(Some("Seconds to wait before trying again"))
                .build(),
        )
        .content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
}

/// Adds the security scheme, and to every operation the error responses the server can give
/// to any request: 400/413/415/422 for operations with a body, 400 for bad query strings,
/// and 500/503 everywhere. Handlers document what is specific to them (404, 409…); the 401, 403
/// and 429 of secured operations come from the API's error catalogue (`Problems<…>`).
pub struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            STAFF_BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("A staff access token from POST /v1/staff/auth/login"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            PERSON_BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("A person's access token from /v1/auth/register, /v1/auth/login or /v1/auth/refresh"))
                    .build(),
            ),
        );
        for (_path, item) in openapi.paths.paths.iter_mut() {
            for method in [
                HttpMethod::Get,
                HttpMethod::Post,
                HttpMethod::Put,
                HttpMethod::Delete,
                HttpMethod::Patch,
            ] {
                let op = match method {
                    HttpMethod::Get => item.get.as_mut(),
                    HttpMethod::Post => item.post.as_mut(),
                    HttpMethod::Put => item.put.as_mut(),
                    HttpMethod::Delete => item.delete.as_mut(),
                    HttpMethod::Patch => item.patch.as_mut(),
                    _ => None,
                };
                let Some(op) = op else { continue };
                let mut add = |status: &str, r: Response| {
                    op.responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert(RefOr::T(r));
                };
                let has_body = op.request_body.is_some();
                let has_query = op.parameters.as_ref().is_some_and(|ps| {
                    ps.iter().any(|p| {
                        matches!(p.parameter_in, utoipa::openapi::path::ParameterIn::Query)
                    })
                });
                if has_body || has_query {
                    add(
                        "400",
                        problem_response(
                            "Malformed request: the JSON or the query string cannot be read",
                        ),
                    );
                }
                if has_body {
                    add(
                        "413",
                        problem_response("The body is larger than the service accepts"),
                    );
                    add(
                        "415",
                        problem_response("The body is not `application/json`"),
                    );
                    add("422", problem_response("The request is well-formed but a field is invalid; `errors` lists each field"));
                }
                add(
                    "500",
                    problem_response("Internal error; the body names the request id to report"),
                );
                add(
                    "503",
                    retry_response(
                        "The database is unreachable for now; retry after the given delay",
                    ),
                );
            }
        }
    }
}
