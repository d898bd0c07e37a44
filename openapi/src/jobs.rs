//! Bodies of the staff view of background jobs (`/v1/staff/jobs`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::wire::JobState;

/// Which jobs to list, and the page.
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobListQuery {
    /// Only jobs in this state.
    #[param(value_type = Option<JobState>)]
    pub state: Option<String>,
    /// Only jobs of this kind (`probe`, …).
    #[param(pattern = "^[a-z][a-z0-9_.]{0,63}$")]
    pub kind: Option<String>,
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

/// A background job. Its payload is not shown.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct JobView {
    pub id: Uuid,
    pub kind: String,
    pub state: JobState,
    /// When the job is (or was) due.
    pub run_at: DateTime<Utc>,
    /// Tries started so far.
    pub attempts: u32,
    pub max_attempts: u32,
    /// Until when the worker running it holds it.
    pub leased_until: Option<DateTime<Utc>>,
    /// The error of the last failed try.
    pub last_error: Option<String>,
    /// The job's unique key, if it was enqueued with one.
    pub dedupe_key: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// How many jobs of a kind are in a state.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct JobCount {
    pub kind: String,
    pub state: JobState,
    pub count: i64,
}

/// Counts by kind and state (of the jobs the filter selects, all pages), and a page of jobs,
/// newest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct JobList {
    pub counts: Vec<JobCount>,
    pub items: Vec<JobView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}
