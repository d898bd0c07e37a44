//! The admin's view of background jobs: counts and the jobs with their errors, and putting a
//! dead job back in the queue.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use shebao_domain::jobs::{JobKind, JobState};
use shebao_domain::staff::StaffRole;
use shebao_infra::audit;
use shebao_infra::jobs::queue::{self, Job, JobFilter, Retried};
use shebao_openapi::jobs::{JobCount, JobList, JobListQuery, JobView};
use shebao_openapi::wire;
use uuid::Uuid;

use crate::audit::Audit;
use crate::auth::extract::{PageRequest, Staff};
use crate::cursor;
use crate::error::{ApiError, ErrorCode, Fields, Problems};
use crate::state::AppState;

const ADMIN: &[StaffRole] = &[StaffRole::Admin];

fn wire_state(s: JobState) -> wire::JobState {
    match s {
        JobState::Queued => wire::JobState::Queued,
        JobState::Running => wire::JobState::Running,
        JobState::Done => wire::JobState::Done,
        JobState::Dead => wire::JobState::Dead,
    }
}

fn view(j: Job) -> JobView {
    JobView {
        id: j.id,
        kind: j.kind.as_str().to_owned(),
        state: wire_state(j.state),
        run_at: j.run_at,
        attempts: j.attempts,
        max_attempts: j.max_attempts,
        leased_until: j.leased_until,
        last_error: j.last_error,
        dedupe_key: j.dedupe_key,
        created_at: j.created_at,
        updated_at: j.updated_at,
    }
}

fn filter(q: &JobListQuery) -> Result<JobFilter, ApiError> {
    let mut f = Fields::new();
    let state = q
        .state
        .as_deref()
        .and_then(|s| f.check("state", JobState::parse(s)));
    let kind = q
        .kind
        .as_deref()
        .and_then(|k| f.check("kind", JobKind::parse(k)));
    if !f.is_empty() {
        return Err(f.into_error());
    }
    Ok(JobFilter { state, kind })
}

/// Background jobs: how many of each kind are in each state, and the jobs themselves with
/// their last errors, newest first. Admins only.
#[utoipa::path(get, operation_id = "list_jobs", path = "/v1/staff/jobs", tag = "staff", params(JobListQuery),
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "Counts and a page of jobs", body = JobList),
        (status = 422, description = "`state`, `kind`, `limit` or `cursor` invalid", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Staff>))]
#[get("/v1/staff/jobs")]
pub async fn list(
    state: web::Data<AppState>,
    staff: Staff,
    query: web::Query<JobListQuery>,
) -> Result<HttpResponse, ApiError> {
    staff.require(ADMIN)?;
    let q = query.into_inner();
    let filter = filter(&q)?;
    let page = PageRequest::parse(&shebao_openapi::staff::PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    })?;
    // A cursor is the id of the page's last job; like every list's, any cursor of the
    // documented shape is read as a position in the list.
    let after = page.after;
    let limit = page.limit;
    let (counts, jobs) = state
        .db
        .run(move |c| {
            let counts = queue::counts(c, &filter)?;
            let jobs = queue::list(c, &filter, after, limit)?;
            Ok((counts, jobs))
        })
        .await?;
    let counts = counts
        .into_iter()
        .filter_map(|k| {
            let s = JobState::parse(&k.state).ok()?;
            Some(JobCount {
                kind: k.kind,
                state: wire_state(s),
                count: k.count,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(JobList {
        counts,
        items: jobs.items.into_iter().map(view).collect(),
        next_cursor: jobs.next.as_deref().map(cursor::encode),
    }))
}

/// Puts a dead job back in the queue, due now, with its tries counted from zero. Admins only;
/// recorded in the audit log.
#[utoipa::path(post, operation_id = "retry_job", path = "/v1/staff/jobs/{id}/retry", tag = "staff",
    params(("id" = Uuid, Path, description = "The job's id")),
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "Queued again", body = JobView),
        (status = 404, description = "No such job", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The job is not dead (`job_not_dead`): it is queued, running or done", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Staff>))]
#[post("/v1/staff/jobs/{id}/retry")]
pub async fn retry(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    staff.require(ADMIN)?;
    let id = Uuid::parse_str(&path.into_inner()).map_err(|_| ApiError::NotFound("job"))?;
    let now = state.now();
    let entry = Audit::of(&req).staff(&staff, "job.retry", "job", id.to_string());
    let outcome = state
        .db
        .transaction(move |c| {
            let outcome = queue::retry_dead(c, id, now)?;
            if matches!(outcome, Retried::Requeued(_)) {
                audit::record(c, &entry, now.naive_utc())?;
            }
            Ok(outcome)
        })
        .await?;
    match outcome {
        Retried::Requeued(job) => Ok(HttpResponse::Ok().json(view(job))),
        Retried::NotFound => Err(ApiError::NotFound("job")),
        Retried::NotDead(_) => Err(ApiError::Code(ErrorCode::JobNotDead)),
    }
}
