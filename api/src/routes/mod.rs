//! HTTP handlers, one module per capability.

pub mod employers;
pub mod health;
pub mod persons;
pub mod regions;
pub mod staff_auth;

use actix_web::web;

/// Registers every route. Paths here and in `openapi_doc::ApiDoc` are the same list.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(health::healthz)
        .service(health::readyz)
        .service(health::metrics)
        .service(staff_auth::login)
        .service(persons::create)
        .service(persons::get)
        .service(employers::create)
        .service(employers::get)
        .service(regions::list)
        .service(regions::get);
}
