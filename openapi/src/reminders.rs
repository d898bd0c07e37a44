//! Bodies of the reminder campaigns: an account's choices, and firing a campaign by hand.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Which SMS reminder campaigns the account hears from (all on until changed). Sign-in codes
/// and event messages (a payment failed) are not campaigns and always go out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"due": true, "arrears": true, "statement": false, "resident_window": true, "notices": true}))]
pub struct NotificationPreferences {
    /// The month's premium is due (flexible employment), on the 10th.
    pub due: bool,
    /// Unpaid months past their due date with the late fee, on Mondays (at most 4 per stretch).
    pub arrears: bool,
    /// A quarterly statement when the account has not signed in for 90 days.
    pub statement: bool,
    /// The resident medical premium window opens, and closes in 14 days.
    pub resident_window: bool,
    /// Notices meant for the person (policy, jobs, training, services) that the agency sends
    /// by SMS.
    pub notices: bool,
}

/// The account's new choices. `notices` may be left out (it then stays as it is), so a client
/// written before notices existed keeps working.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"due": true, "arrears": true, "statement": false, "resident_window": true, "notices": false}))]
pub struct NotificationPreferencesUpdate {
    pub due: bool,
    pub arrears: bool,
    pub statement: bool,
    pub resident_window: bool,
    #[serde(default)]
    pub notices: Option<bool>,
}

/// The instant whose slot to fire.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"as_of": "2026-12-10T02:00:00Z"}))]
pub struct CampaignRunRequest {
    /// The campaign's slot is the one containing this instant (Beijing time): the month for
    /// `due`, the ISO week for `arrears`, the quarter for `statement`, the day for
    /// `resident_window`.
    pub as_of: DateTime<Utc>,
}

/// A campaign's slot fired by hand.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CampaignRun {
    #[schema(example = "due")]
    pub campaign: String,
    /// `2026-12`, `2026-W50`, `2026-Q4` or `2026-12-10`.
    pub slot: String,
    /// The job that enqueues the slot's messages (see `GET /v1/staff/jobs`).
    pub job_id: Uuid,
    /// `false`: the slot had been fired by hand already; nothing new was queued.
    pub new: bool,
}
