//! Proxy tokens (亲情代办): a relative acting for a principal under a grant. The `Person`
//! extractor calls [`admit`] for every request carrying one: the grant must still be active (read
//! on every request, so revoking or expiry bites at once) and the route must be one the grant's
//! scopes open (`shebao_domain::proxies::ROUTE_SCOPES`, default deny). The request is marked
//! ([`ProxyActing`]) so that the proxy-activity middleware records it, refused or not.

use actix_web::{HttpMessage, HttpRequest};
use shebao_domain::proxies::{scope_for, ProxyScope};
use shebao_infra::identity::sessions::SessionPerson;
use shebao_infra::proxies;
use uuid::Uuid;

use crate::error::{ApiError, ErrorCode};
use crate::session_cache::ProxyRef;
use crate::state::AppState;

/// A request made with a proxy token: who acts, for whom, under which grant, and the scope the
/// route needs (`None`: a route no proxy may use).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyActing {
    pub grant_id: Uuid,
    pub principal_account_id: Uuid,
    pub holder_account_id: Uuid,
    pub scope: Option<ProxyScope>,
}

/// Lets a proxy token through to this request's route, or says why not: 401 when the grant is
/// no longer active (revoked, expired, or the principal unbound), 403 `scope_denied` when the
/// route is outside the grant's scopes. Returns the principal's person.
pub async fn admit(
    req: &HttpRequest,
    state: &AppState,
    principal: Uuid,
    proxy: ProxyRef,
) -> Result<SessionPerson, ApiError> {
    let scope = req
        .match_pattern()
        .and_then(|route| scope_for(req.method().as_str(), &route));
    req.extensions_mut().insert(ProxyActing {
        grant_id: proxy.grant_id,
        principal_account_id: principal,
        holder_account_id: proxy.holder_account_id,
        scope,
    });
    let now = state.now().naive_utc();
    let live = state
        .db
        .run(move |c| proxies::live(c, proxy.grant_id, principal, proxy.holder_account_id, now))
        .await?
        .ok_or(ErrorCode::Unauthorized)?;
    match scope {
        Some(s) if proxy.scopes.contains(s) && live.scopes.contains(s) => Ok(live.person),
        _ => Err(ErrorCode::ScopeDenied.into()),
    }
}
