//! The record of what relatives do for principals (亲情代办): every request made with a proxy
//! token (the `Person` extractor marks it, see `auth::proxy`) is written once its answer is
//! known — who (the relative's account), for whom, method and route pattern, status, device,
//! client address, when. A payment or application made for the principal also queues them an
//! SMS (jobs system), once per action.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, ResponseError};
use shebao_domain::proxies::{scope_for, tells_principal, ProxyScope};
use shebao_infra::proxies::{self, NewActivity};
use shebao_infra::reminders::sms as reminder_sms;

use crate::auth::extract::{bearer, client_ip};
use crate::auth::person::{device_of, verified_token};
use crate::auth::proxy::ProxyActing;
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// Refuses a proxy token on a route outside its scopes before the handler reads anything (so
/// the answer is `scope_denied` whatever the body), then records every request made with a
/// proxy token once its answer is known.
pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if let Some(refused) = refuse_out_of_scope(&req) {
        let res = req.into_response(refused.error_response());
        return Ok(after(res).await);
    }
    let res = next.call(req).await?.map_into_boxed_body();
    Ok(after(res).await)
}

/// `scope_denied` for a valid proxy token on a route its scopes do not open (marking the
/// request, so it is recorded); `None` for anything else, which the handler's extractors judge.
fn refuse_out_of_scope(req: &ServiceRequest) -> Option<ApiError> {
    let state = req.app_data::<web::Data<AppState>>()?;
    let token = bearer(req.request())?;
    // Only a token that says it acts for someone is checked here (a staff token's signature is
    // not checked twice); its claim is believed only once the signature holds.
    if !claims_an_actor(token) {
        return None;
    }
    let verified = verified_token(state, token, state.now().timestamp()).ok()?;
    let proxy = verified.proxy?;
    let scope = req
        .match_pattern()
        .and_then(|route| scope_for(req.method().as_str(), &route));
    if scope.is_some_and(|s| proxy.scopes.contains(s)) {
        return None;
    }
    req.extensions_mut().insert(ProxyActing {
        grant_id: proxy.grant_id,
        principal_account_id: verified.account_id,
        holder_account_id: proxy.holder_account_id,
        scope,
    });
    Some(ErrorCode::ScopeDenied.into())
}

/// Whether the (unverified) payload of a JWT has an `act` claim.
fn claims_an_actor(token: &str) -> bool {
    use base64::Engine;
    token
        .split('.')
        .nth(1)
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p)
                .ok()
        })
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .is_some_and(|claims| claims.get("act").is_some())
}

async fn after(res: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    let acting = res.request().extensions().get::<ProxyActing>().copied();
    let (Some(acting), Some(state)) = (acting, res.request().app_data::<web::Data<AppState>>())
    else {
        return res;
    };
    let r = res.request();
    let method = r.method().as_str().to_owned();
    let activity = NewActivity {
        grant_id: acting.grant_id,
        principal_account_id: acting.principal_account_id,
        holder_account_id: acting.holder_account_id,
        method: method.clone(),
        route: r.match_pattern().unwrap_or_else(|| "unmatched".to_owned()),
        status: res.status().as_u16(),
        device: device_of(r),
        client_ip: client_ip(r),
    };
    // Once per action: a replay with the same Idempotency-Key is the same action.
    let action_key = r
        .headers()
        .get(IDEMPOTENCY_KEY)
        .and_then(|v| v.to_str().ok())
        .map(|k| format!("{method}:{}:{k}", r.path()));
    let tell = res.status().is_success()
        && acting
            .scope
            .is_some_and(|scope| tells_principal(&method, scope));
    let now = state.now();
    let vault = state.vault.clone();
    let written = state
        .db
        .transaction(move |c| {
            let id = proxies::record_activity(c, &activity, now.naive_utc())?;
            if tell {
                if let Some(grant) = proxies::get(c, &vault, activity.grant_id)? {
                    let text = sms_text(&grant, acting.scope);
                    let key = format!(
                        "proxy:{}:{}",
                        grant.id,
                        action_key.unwrap_or_else(|| id.to_string())
                    );
                    reminder_sms::enqueue_event_to_person(
                        c,
                        grant.principal_person_id,
                        "proxy_action",
                        text,
                        &key,
                        now,
                    )?;
                }
            }
            Ok(())
        })
        .await;
    if let Err(e) = written {
        tracing::error!(error = %e, "a proxy request could not be recorded");
    }
    res
}

/// The principal's text: who did what in their name, and how to stop it.
fn sms_text(grant: &proxies::Grant, scope: Option<ProxyScope>) -> String {
    let what = match scope {
        Some(ProxyScope::PayPremiums) => "办理了缴费",
        Some(ProxyScope::Apply) => "提交了业务办理",
        _ => "办理了业务",
    };
    format!(
        "【社保】您的{}（{}）通过亲情代办为您{}。如非您本人授权，请在掌上社保“亲情代办”中撤销授权。",
        grant.relation.chinese_name(),
        grant.holder_phone_masked,
        what
    )
}

#[cfg(test)]
mod tests {
    use super::claims_an_actor;
    use base64::Engine;

    fn token(payload: &str) -> String {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!("{}.{}.sig", b64(r#"{"alg":"EdDSA"}"#), b64(payload))
    }

    #[test]
    fn only_a_token_claiming_an_actor_is_looked_at_early() {
        assert!(claims_an_actor(&token(r#"{"sub":"a","act":{"sub":"b"}}"#)));
        assert!(!claims_an_actor(&token(r#"{"sub":"a"}"#)));
        assert!(!claims_an_actor("not a token"));
        assert!(!claims_an_actor("a.%%%.c"));
    }
}
