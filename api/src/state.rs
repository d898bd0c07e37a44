use std::sync::Arc;

use shebao_domain::ports::{Clock, SmsSender};
use shebao_infra::config::Settings;
use shebao_infra::db::Db;
use shebao_security::{PasswordHasher, PiiVault, TokenSigner};

use crate::metrics::Metrics;
use crate::routing::RouteTable;

/// What every handler can reach. Cheap to clone (everything inside is shared).
pub struct AppState {
    pub settings: Settings,
    /// The base of the links the service prints (`SHEBAO_PUBLIC_URL`, or this server's own
    /// address): `http://127.0.0.1:8080`, no trailing slash.
    pub public_url: String,
    pub db: Db,
    pub vault: PiiVault,
    pub signer: TokenSigner,
    pub hasher: PasswordHasher,
    pub clock: Arc<dyn Clock>,
    pub sms: Arc<dyn SmsSender>,
    /// The payment flows (the gateway adapter and the store).
    pub payments: Option<shebao_infra::payments::service::Payments>,
    pub metrics: Metrics,
    /// The OpenAPI document, rendered once.
    pub spec_json: Arc<Vec<u8>>,
    pub routes: Arc<RouteTable>,
    /// Every institution, for the "near me" search (refreshed after imports).
    pub institutions: Arc<shebao_infra::institutions::atlas::NearCopy>,
    /// Recent session checks of person tokens.
    pub sessions: Arc<crate::session_cache::SessionCache>,
    /// Set once the migrations are applied (and the demo loaded, when asked). Until then every
    /// route but the operational ones answers 503: a server started while its database is down
    /// listens anyway and prepares the database when it comes.
    pub database_prepared: Arc<std::sync::atomic::AtomicBool>,
}

impl AppState {
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    pub fn database_prepared(&self) -> bool {
        self.database_prepared
            .load(std::sync::atomic::Ordering::Acquire)
    }
}
