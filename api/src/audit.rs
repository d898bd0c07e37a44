//! Building audit entries from a request: who (given), from where and under which request id.

use actix_web::{HttpMessage, HttpRequest};
use shebao_domain::staff::AccessReason;
use shebao_infra::audit::{ActorKind, AuditEntry};

use crate::auth::extract::{client_ip, Staff};
use crate::auth::proxy::ProxyActing;
use crate::context;
use crate::error::{field_error_of, ApiError, Issue};

/// The `reason` every staff read of a person's data must give: absent or blank is 422
/// `required`, anything else goes through [`AccessReason`].
pub fn required_reason(raw: Option<&str>) -> Result<AccessReason, ApiError> {
    match raw.filter(|r| !r.trim().is_empty()) {
        None => Err(field_error_of("reason", Issue::Required)),
        Some(r) => AccessReason::parse(r).map_err(|e| field_error_of("reason", Issue::Value(e))),
    }
}

pub struct Audit<'a> {
    req: &'a HttpRequest,
}

impl<'a> Audit<'a> {
    pub fn of(req: &'a HttpRequest) -> Audit<'a> {
        Audit { req }
    }

    pub fn entry(
        &self,
        actor_kind: ActorKind,
        actor_id: Option<String>,
        action: &'static str,
        outcome: &'static str,
    ) -> AuditEntry {
        AuditEntry {
            actor_kind,
            actor_id,
            action,
            subject_kind: None,
            subject_id: None,
            outcome,
            // An action taken by a relative under a proxy grant says so: the actor id is the
            // principal's account (whose data it is), the reason names who acted.
            reason: self.req.extensions().get::<ProxyActing>().map(|p| {
                format!(
                    "proxy: account {} under grant {}",
                    p.holder_account_id, p.grant_id
                )
            }),
            client_ip: client_ip(self.req),
            request_id: context::current().map(|c| c.request_id),
        }
    }

    /// A staff member's read of a person's data, with the reason they gave.
    pub fn staff_read(
        &self,
        staff: &Staff,
        action: &'static str,
        person: uuid::Uuid,
        reason: AccessReason,
    ) -> AuditEntry {
        AuditEntry {
            reason: Some(reason.into_string()),
            ..self.staff(staff, action, "person", person.to_string())
        }
    }

    /// An action by a signed-in staff member on a subject.
    pub fn staff(
        &self,
        staff: &Staff,
        action: &'static str,
        subject_kind: &'static str,
        subject_id: String,
    ) -> AuditEntry {
        AuditEntry {
            subject_kind: Some(subject_kind),
            subject_id: Some(subject_id),
            ..self.entry(
                ActorKind::Staff,
                Some(staff.id.to_string()),
                action,
                "success",
            )
        }
    }
}
