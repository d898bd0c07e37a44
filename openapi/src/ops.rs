use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `GET /healthz`: the process is alive.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: String,
    pub version: String,
}

/// `GET /readyz`: whether the service can do its work (the database answers).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Readiness {
    /// `ready` or `unavailable`.
    pub status: String,
    /// `ok`, `unreachable`, or `preparing` (it answers, and the migrations are running).
    pub database: String,
    /// `sqlite` or `postgres`.
    pub backend: String,
}
