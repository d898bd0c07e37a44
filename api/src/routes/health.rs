use std::time::Duration;

use actix_web::http::header;
use actix_web::{get, web, HttpResponse};
use shebao_openapi::ops::{Health, Readiness};

use crate::error::{ApiError, RETRY_AFTER_SECS};
use crate::state::AppState;

/// Liveness: the process answers.
#[utoipa::path(get, operation_id = "healthz", path = "/healthz", tag = "operations",
    responses((status = 200, description = "The process is alive", body = Health)))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    })
}

/// Readiness: the database is prepared and answers.
///
/// Ready when the migrations are applied and a new connection to the database answers within
/// two seconds. A new one, not a pooled one: after a database restart the pooled connections
/// may be dead while the database is fine, and a load balancer must not pull a healthy instance.
#[utoipa::path(get, operation_id = "readyz", path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready to serve", body = Readiness),
        (status = 503, description = "The database is unreachable, or still being prepared", body = Readiness,
            headers(("Retry-After" = u64, description = "Seconds to wait")))))]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let backend = state.db.backend().as_str().to_owned();
    let database = match state.db.ping(Duration::from_secs(2)).await {
        Ok(()) if state.database_prepared() => {
            return HttpResponse::Ok().json(Readiness {
                status: "ready".into(),
                database: "ok".into(),
                backend,
            })
        }
        Ok(()) => "preparing",
        // The cause is logged once per outage by the database layer.
        Err(e) => {
            tracing::debug!(error = %e, "readiness check failed");
            "unreachable"
        }
    };
    HttpResponse::ServiceUnavailable()
        .insert_header((header::RETRY_AFTER, RETRY_AFTER_SECS.to_string()))
        .json(Readiness {
            status: "unavailable".into(),
            database: database.into(),
            backend,
        })
}

/// Prometheus metrics in the text exposition format. Served on `SHEBAO_METRICS_LISTEN` only,
/// not on the public listener (so not in the public OpenAPI document).
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let pool = state.db.pool_state();
    state
        .metrics
        .db_pool
        .with_label_values(&["open"])
        .set(i64::from(pool.connections));
    state
        .metrics
        .db_pool
        .with_label_values(&["idle"])
        .set(i64::from(pool.idle_connections));
    let now = state.now();
    // The other metrics are still worth serving while the database is away: the queue's are
    // read with a short deadline and left as they were when it passes.
    let stats = tokio::time::timeout(
        std::time::Duration::from_secs(1),
        state.db.run(move |c| {
            Ok((
                shebao_infra::jobs::queue::stats(c, now)?,
                shebao_infra::reminders::sms::stats(c)?,
            ))
        }),
    )
    .await;
    match stats {
        Ok(Ok((stats, sms))) => {
            state.metrics.set_jobs(&stats, &crate::jobs::KINDS);
            state.metrics.set_sms(&sms);
        }
        Ok(Err(e)) => tracing::warn!(error = %e, "reading the job queue for metrics failed"),
        Err(_) => tracing::warn!("reading the job queue for metrics took too long"),
    }
    let body = state.metrics.render().map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body))
}
