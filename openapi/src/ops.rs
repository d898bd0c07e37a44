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
    #[schema(value_type = ReadinessStatus)]
    pub status: String,
    #[schema(value_type = DatabaseState)]
    pub database: String,
    #[schema(value_type = DatabaseBackend)]
    pub backend: String,
}

/// Whether the service can do its work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReadinessStatus {
    Ready,
    Unavailable,
}

/// The database as the readiness probe found it: `preparing` means it answers and the
/// migrations are running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DatabaseState {
    Ok,
    Unreachable,
    Preparing,
}

/// The database backend the service runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DatabaseBackend {
    Sqlite,
    Postgres,
}

/// One public key of the JWKS (RFC 7517/8037): an Ed25519 key that verifies EdDSA tokens.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Jwk {
    /// Always `OKP`.
    pub kty: String,
    /// Always `Ed25519`.
    pub crv: String,
    /// The public key, base64url without padding.
    pub x: String,
    /// Key id, as in the tokens' `kid` header.
    pub kid: String,
    /// Always `EdDSA`.
    pub alg: String,
    /// Always `sig`.
    #[serde(rename = "use")]
    pub use_: String,
}

/// `GET /.well-known/jwks.json`: the keys that verify tokens, the current one first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}
