//! Family and proxy access (亲情代办): grants a principal gives a relative's account, the
//! relative's invitations and assisted requests, tokens acting under a grant, and the record of
//! what was done in the principal's name.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// What a relative may do for the principal: `read_records` (contributions, accounts,
/// benefits, the estimate, notices, the e-card), `pay_premiums` (payables, payees, payments),
/// `apply` (applications and their documents, the yearly qualification check). Never binding,
/// factors, sessions, grants or payout accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProxyScope {
    ReadRecords,
    PayPremiums,
    Apply,
}

/// Who the relative is to the principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProxyRelation {
    Spouse,
    Parent,
    Child,
    Sibling,
    Grandparent,
    Grandchild,
    Other,
}

/// `invited`: waiting for the relative to accept; `active`: the relative may act; `revoked`:
/// ended by either side; `expired`: past `expires_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GrantStatus {
    Invited,
    Active,
    Revoked,
    Expired,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"phone": "+8613900139000", "relation": "child", "scopes": ["read_records", "pay_premiums"], "expires_at": "2027-06-30T00:00:00Z"}))]
pub struct GrantRequest {
    /// The relative's account phone (not the principal's own).
    #[schema(
        pattern = r"^[\s-]*(\+[\s-]*8[\s-]*6|0[\s-]*0[\s-]*8[\s-]*6)?[\s-]*1[\s-]*[3-9]([\s-]*[0-9]){9}[\s-]*$"
    )]
    pub phone: String,
    pub relation: ProxyRelation,
    /// At least one, none twice.
    #[schema(min_items = 1, max_items = 3)]
    pub scopes: Vec<ProxyScope>,
    /// In the future and at most a year away.
    pub expires_at: DateTime<Utc>,
}

/// Someone's name and ID number, masked.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MaskedPerson {
    #[schema(example = "王*")]
    pub name: String,
    #[schema(example = "440***********1089")]
    pub national_id: String,
}

/// A grant, as either side sees it. The same `id` on both sides.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GrantView {
    pub id: Uuid,
    pub status: GrantStatus,
    /// Who gave it (masked).
    pub principal: MaskedPerson,
    /// The relative's phone (masked).
    #[schema(example = "+86 139****9000")]
    pub holder_phone: String,
    pub relation: ProxyRelation,
    pub scopes: Vec<ProxyScope>,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GrantList {
    pub items: Vec<GrantView>,
    pub next_cursor: Option<String>,
}

/// Whose grants: `principal` (default), the grants the account gave; `holder`, the grants it
/// holds for others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GrantRole {
    Principal,
    Holder,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GrantListQuery {
    /// `principal` (default) or `holder`.
    #[param(value_type = Option<GrantRole>, inline)]
    pub role: Option<String>,
    /// Items per page, 1–100 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page (base64url).
    #[param(
        max_length = 344,
        pattern = "^([A-Za-z0-9_-]{4})*([A-Za-z0-9_-]{2,3})?$"
    )]
    pub cursor: Option<String>,
}

/// An open invitation to the signed-in account's phone.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct InvitationView {
    /// The grant's id (the same once accepted).
    pub id: Uuid,
    pub principal: MaskedPerson,
    pub relation: ProxyRelation,
    pub scopes: Vec<ProxyScope>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct InvitationList {
    pub items: Vec<InvitationView>,
    pub next_cursor: Option<String>,
}

/// An access token acting for the principal under a grant (RFC 8693 shape: `sub` the
/// principal's account, `act.sub` the relative's, `scope` the grant's scopes, `grant_id`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProxyToken {
    pub access_token: String,
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// `urn:ietf:params:oauth:token-type:access_token`.
    pub issued_token_type: String,
    /// Seconds: at most 900, never past the grant.
    pub expires_in: i64,
    /// The grant's scopes, separated by spaces.
    #[schema(example = "read_records pay_premiums")]
    pub scope: String,
}

/// One request made in the principal's name with a proxy token.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ActivityView {
    pub id: Uuid,
    pub grant_id: Uuid,
    /// The relative's phone (masked).
    pub holder_phone: String,
    pub relation: ProxyRelation,
    /// The HTTP method and route, e.g. `GET /v1/me/contributions`.
    #[schema(example = "GET")]
    pub method: String,
    #[schema(example = "/v1/me/contributions")]
    pub route: String,
    /// The answer's HTTP status (a refusal is recorded too).
    pub status: u16,
    /// The device the request came from, as the app names itself.
    pub device: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ActivityList {
    pub items: Vec<ActivityView>,
    pub next_cursor: Option<String>,
}

/// The assisted path: a relative asks for access to a person without a smartphone.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"national_id": "440300197911231089", "name": "王芳", "scopes": ["read_records"], "relation": "child"}))]
pub struct ProxyRequestBody {
    #[schema(pattern = "^[1-9][0-9]{16}[0-9Xx]$")]
    pub national_id: String,
    pub name: String,
    #[schema(min_items = 1, max_items = 3)]
    pub scopes: Vec<ProxyScope>,
    /// Default `other`.
    #[serde(default)]
    pub relation: Option<ProxyRelation>,
}

/// The request was taken. If the national ID and name match a bound person, their phone has
/// received a code; the answer is the same either way.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProxyRequestAccepted {
    pub id: Uuid,
    /// Seconds the code stays valid.
    pub expires_in: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProxyConfirmBody {
    /// The 6-digit code the principal read from their phone.
    #[schema(pattern = "^[0-9]{6}$")]
    pub code: String,
}
