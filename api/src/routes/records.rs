//! The person's own records: contributions month by month and their summary, the pension and
//! medical accounts, benefit payments, and who on the staff looked at them. Every route needs a
//! bound ID card and shows only the bound person's data.

use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::{NaiveDate, NaiveDateTime};
use shebao_domain::benefits::{unemployment_entitlement, BenefitKind};
use shebao_domain::insurance::InsuranceType;
use shebao_domain::money::Fen;
use shebao_domain::period::Period;
use shebao_domain::region::AccountShares;
use shebao_domain::statement::{self, ContributionStatus};
use shebao_domain::ValueError;
use shebao_infra::applications::effects;
use shebao_infra::audit;
use shebao_infra::records::contributions::{
    self, ContributionCursor, ContributionFilter, ContributionRecord,
};
use shebao_infra::records::{benefits, medical, pension};
use shebao_infra::registry::{persons, regions, staff, Page};
use shebao_openapi::records as dto;
use uuid::Uuid;

use crate::auth::bound::BoundPerson;
use crate::auth::extract::{PageRequest, Staff, ANY_STAFF};
use crate::cursor;
use crate::error::{field_error_of, ApiError, Fields, Issue, Problems};
use crate::respond;
use crate::routes::persons::utc;
use crate::state::AppState;

pub fn wire_insurance(i: InsuranceType) -> dto::Insurance {
    match i {
        InsuranceType::Pension => dto::Insurance::Pension,
        InsuranceType::Medical => dto::Insurance::Medical,
        InsuranceType::Unemployment => dto::Insurance::Unemployment,
        InsuranceType::WorkInjury => dto::Insurance::WorkInjury,
        InsuranceType::Maternity => dto::Insurance::Maternity,
    }
}

fn wire_status(s: ContributionStatus) -> dto::ContributionStatus {
    match s {
        ContributionStatus::Paid => dto::ContributionStatus::Paid,
        ContributionStatus::Due => dto::ContributionStatus::Due,
        ContributionStatus::Arrears => dto::ContributionStatus::Arrears,
        ContributionStatus::Pending => dto::ContributionStatus::Pending,
    }
}

fn item(r: ContributionRecord) -> dto::ContributionItem {
    dto::ContributionItem {
        period: r.period.to_string(),
        insurance: wire_insurance(r.insurance),
        employer: r.employer.map(|(id, name)| dto::EmployerRef { id, name }),
        base_fen: r.base_fen,
        employer_fen: r.employer_fen,
        employee_fen: r.employee_fen,
        status: wire_status(r.status),
        paid_at: r.paid_at.map(utc),
    }
}

/// A page of contributions as the answer's JSON.
fn contribution_page(page: Page<ContributionRecord>) -> Result<HttpResponse, ApiError> {
    let capacity = respond::page_capacity(page.items.len(), CONTRIBUTION_JSON_BYTES);
    respond::json_ok(
        &dto::ContributionList {
            items: page.items.into_iter().map(item).collect(),
            next_cursor: page.next.as_deref().map(cursor::encode),
        },
        capacity,
    )
}

/// About the JSON of one contribution month with its employer (~260 bytes).
const CONTRIBUTION_JSON_BYTES: usize = 300;

/// Validates the list's filters and page.
fn contribution_filter(
    insurance: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
    limit: Option<String>,
    cursor_raw: Option<String>,
) -> Result<(ContributionFilter, Option<ContributionCursor>, usize), ApiError> {
    let mut f = Fields::new();
    let insurance = insurance.and_then(|s| f.check("insurance", InsuranceType::parse(s)));
    let from = from.and_then(|s| f.check("from", Period::parse(s)));
    let to = to.and_then(|s| f.check("to", Period::parse(s)));
    // `to` before `from` is an empty range, and so an empty page (JSON Schema cannot compare
    // two parameters, so the spec could not promise a refusal).
    let page = PageRequest::parse(&shebao_openapi::staff::PageQuery {
        limit,
        cursor: cursor_raw,
    });
    let page = match page {
        Ok(p) => Some(p),
        Err(ApiError::Validation(issues)) => {
            for i in issues {
                f.add(&i.field, i.issue);
            }
            None
        }
        Err(e) => return Err(e),
    };
    let Some(page) = page.filter(|_| f.is_empty()) else {
        return Err(f.into_error());
    };
    // A cursor no page gave reads as one before every month: an empty page.
    let after = page.after.as_deref().map(|key| {
        ContributionCursor::parse(key).unwrap_or(ContributionCursor {
            period: String::new(),
            insurance: String::new(),
            employer_key: String::new(),
        })
    });
    Ok((
        ContributionFilter {
            insurance,
            from,
            to,
        },
        after,
        page.limit,
    ))
}

/// The person's contributions, newest month first.
#[utoipa::path(get, operation_id = "list_contributions", path = "/v1/me/contributions", tag = "records", params(dto::ContributionQuery), security(("person_bearer" = [])),
    responses(
        (status = 200, description = "A page of monthly contributions", body = dto::ContributionList),
        (status = 422, description = "A filter or the page is invalid", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<BoundPerson>))]
#[get("/v1/me/contributions")]
pub async fn list_contributions(
    state: web::Data<AppState>,
    me: BoundPerson,
    query: web::Query<dto::ContributionQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let (filter, after, limit) = contribution_filter(
        q.insurance.as_deref(),
        q.from.as_deref(),
        q.to.as_deref(),
        q.limit,
        q.cursor,
    )?;
    let pid = me.person_id;
    let today = me.today(state.now());
    let due_day = me.due_day;
    let page = state
        .db
        .run(move |c| contributions::list(c, pid, due_day, &filter, after.as_ref(), limit, today))
        .await?;
    contribution_page(page)
}

fn summary_of(summary: Vec<statement::InsuranceSummary>) -> dto::ContributionSummary {
    // Paid pension months as the pension rules count them: each month once.
    let months = summary
        .iter()
        .find(|s| s.insurance == InsuranceType::Pension)
        .map_or(0, |s| s.months_paid);
    dto::ContributionSummary {
        items: summary
            .into_iter()
            .map(|s| dto::InsuranceSummary {
                insurance: wire_insurance(s.insurance),
                months_paid: s.months_paid,
                first_period: s.first_period.map(|p| p.to_string()),
                last_period: s.last_period.map(|p| p.to_string()),
                employee_total_fen: s.employee_total.0,
                employer_total_fen: s.employer_total.0,
                arrears_months: s.arrears_months,
                arrears_fen: s.arrears.0,
                due_months: s.due_months,
                pending_months: s.pending_months,
                longest_gap_months: s.longest_gap_months,
            })
            .collect(),
        pension_contribution_months: months,
        pension_contribution_years: statement::years_of_months(months),
    }
}

/// Per insurance: months paid, totals, arrears and gaps; and the pension contribution years.
#[utoipa::path(get, operation_id = "contribution_summary", path = "/v1/me/contributions/summary", tag = "records", security(("person_bearer" = [])),
    responses(
        (status = 200, description = "The summary", body = dto::ContributionSummary),
        Problems<BoundPerson>))]
#[get("/v1/me/contributions/summary")]
pub async fn contribution_summary(
    state: web::Data<AppState>,
    me: BoundPerson,
) -> Result<HttpResponse, ApiError> {
    let pid = me.person_id;
    let today = me.today(state.now());
    let due_day = me.due_day;
    let summary = state
        .db
        .run(move |c| contributions::summary(c, pid, due_day, today))
        .await?;
    Ok(HttpResponse::Ok().json(summary_of(summary)))
}

/// A person's month rows with their bases, and the interest credited by year.
pub type Ledger = (Vec<(statement::MonthRow, Fen)>, Vec<(i32, Fen)>);

/// Month rows and interest as the domain takes them.
pub fn as_fen(rows: Vec<(statement::MonthRow, i64)>, interest: Vec<(i32, i64)>) -> Ledger {
    (
        rows.into_iter().map(|(r, b)| (r, Fen(b))).collect(),
        interest.into_iter().map(|(y, i)| (y, Fen(i))).collect(),
    )
}

/// The personal pension account year by year (the domain's ledger, on the wire).
fn pension_years(
    rows: &[(statement::MonthRow, Fen)],
    interest: &[(i32, Fen)],
    shares: &AccountShares,
) -> Vec<dto::PensionAccountYear> {
    statement::pension_account_years(rows, interest, shares)
        .into_iter()
        .map(|y| dto::PensionAccountYear {
            year: y.year,
            opening_fen: y.opening.0,
            credited_fen: y.credited.0,
            interest_fen: y.interest.0,
            closing_fen: y.closing.0,
        })
        .collect()
}

/// The personal pension account: balance and every year's opening, credits, interest, closing.
#[utoipa::path(get, operation_id = "pension_account", path = "/v1/me/accounts/pension", tag = "records", security(("person_bearer" = [])),
    responses(
        (status = 200, description = "The account", body = dto::PensionAccount),
        Problems<BoundPerson>))]
#[get("/v1/me/accounts/pension")]
pub async fn pension_account(
    state: web::Data<AppState>,
    me: BoundPerson,
) -> Result<HttpResponse, ApiError> {
    let pid = me.person_id;
    let today = me.today(state.now());
    let (rows, interest, params) = state
        .db
        .run(move |c| {
            Ok((
                contributions::month_rows(c, pid, today)?,
                pension::interest_credits(c, pid)?,
                regions::years_of_person(c, pid)?,
            ))
        })
        .await?;
    let (rows, interest) = as_fen(rows, interest);
    let years = pension_years(&rows, &interest, &AccountShares::of(&params));
    let balance = years.last().map(|y| y.closing_fen).unwrap_or(0);
    Ok(HttpResponse::Ok().json(dto::PensionAccount {
        balance_fen: balance,
        as_of: today,
        years,
    }))
}

/// The medical personal account: credited from the employee's medical contribution each paid
/// month, spent at hospitals and pharmacies.
#[utoipa::path(get, operation_id = "medical_account", path = "/v1/me/accounts/medical", tag = "records", security(("person_bearer" = [])),
    responses(
        (status = 200, description = "The account", body = dto::MedicalAccount),
        Problems<BoundPerson>))]
#[get("/v1/me/accounts/medical")]
pub async fn medical_account(
    state: web::Data<AppState>,
    me: BoundPerson,
) -> Result<HttpResponse, ApiError> {
    let pid = me.person_id;
    let today = me.today(state.now());
    let (rows, spent, filings) = state
        .db
        .run(move |c| {
            Ok((
                contributions::month_rows(c, pid, today)?,
                medical::account_paid_total(c, pid)?,
                effects::filings_of(c, pid)?,
            ))
        })
        .await?;
    let rows: Vec<statement::MonthRow> = rows.into_iter().map(|(r, _)| r).collect();
    let account = statement::medical_account(&rows, Fen(spent));
    Ok(HttpResponse::Ok().json(dto::MedicalAccount {
        balance_fen: account.balance.0,
        as_of: today,
        monthly_credit_fen: account.monthly_credit.0,
        filings: filings
            .into_iter()
            .map(crate::routes::applications::filing_view)
            .collect(),
    }))
}

fn parse_day(field: &str, raw: Option<&str>, f: &mut Fields) -> Option<NaiveDate> {
    let raw = raw?;
    match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            f.add(
                field,
                Issue::Value(ValueError::Format {
                    expected: "a date YYYY-MM-DD",
                }),
            );
            None
        }
    }
}

/// Spending from the medical account, newest first.
#[utoipa::path(get, operation_id = "medical_transactions", path = "/v1/me/accounts/medical/transactions", tag = "records", params(dto::DateRangeQuery), security(("person_bearer" = [])),
    responses(
        (status = 200, description = "A page of transactions", body = dto::MedicalTransactionList),
        (status = 422, description = "A date or the page is invalid", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<BoundPerson>))]
#[get("/v1/me/accounts/medical/transactions")]
pub async fn medical_transactions(
    state: web::Data<AppState>,
    me: BoundPerson,
    query: web::Query<dto::DateRangeQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let mut f = Fields::new();
    let from = parse_day("from", q.from.as_deref(), &mut f);
    let to = parse_day("to", q.to.as_deref(), &mut f);
    if !f.is_empty() {
        return Err(f.into_error());
    }
    let page = PageRequest::parse(&shebao_openapi::staff::PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    })?;
    let after = page.after.as_deref().map(transaction_cursor).transpose()?;
    // Whole days of the person's region's calendar, as instants.
    let from_ts = from.map(|d| me.time_zone.start_of_day_utc(d));
    let until_ts = to
        .and_then(|d| d.succ_opt())
        .map(|d| me.time_zone.start_of_day_utc(d));
    let pid = me.person_id;
    let limit = page.limit;
    let result = state
        .db
        .run(move |c| medical::list(c, pid, from_ts, until_ts, after, limit))
        .await?;
    Ok(HttpResponse::Ok().json(dto::MedicalTransactionList {
        items: result.items.into_iter().map(transaction).collect(),
        next_cursor: result.next.as_deref().map(cursor::encode),
    }))
}

/// `micros|id` of the last transaction of the previous page.
fn transaction_cursor(key: &str) -> Result<(NaiveDateTime, String), ApiError> {
    let parsed = key.split_once('|').and_then(|(micros, id)| {
        let at = chrono::DateTime::from_timestamp_micros(micros.parse().ok()?)?.naive_utc();
        Some((at, id.to_owned()))
    });
    parsed.ok_or_else(bad_cursor)
}

fn bad_cursor() -> ApiError {
    field_error_of(
        "cursor",
        Issue::Value(ValueError::Format {
            expected: "a cursor from a previous page",
        }),
    )
}

fn transaction(t: medical::MedicalTransaction) -> dto::MedicalTransaction {
    dto::MedicalTransaction {
        id: t.id,
        occurred_at: utc(t.occurred_at),
        institution: dto::InstitutionRef {
            id: t.institution_code,
            name: t.institution_name,
        },
        kind: t.kind,
        total_fen: t.total_fen,
        account_paid_fen: t.account_paid_fen,
        fund_paid_fen: t.fund_paid_fen,
        self_paid_fen: t.self_paid_fen,
    }
}

/// Pension and unemployment-benefit payments, newest first, with adjustments; and the
/// unemployment entitlement.
#[utoipa::path(get, operation_id = "list_benefits", path = "/v1/me/benefits", tag = "records", params(dto::BenefitQuery), security(("person_bearer" = [])),
    responses(
        (status = 200, description = "A page of payments", body = dto::BenefitList),
        (status = 422, description = "`kind` or the page is invalid", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<BoundPerson>))]
#[get("/v1/me/benefits")]
pub async fn list_benefits(
    state: web::Data<AppState>,
    me: BoundPerson,
    query: web::Query<dto::BenefitQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let kind = q
        .kind
        .as_deref()
        .map(BenefitKind::parse)
        .transpose()
        .map_err(|e| field_error_of("kind", Issue::Value(e)))?;
    let page = PageRequest::parse(&shebao_openapi::staff::PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    })?;
    let after = match page.after.as_deref() {
        Some(key) => Some(
            key.split_once('|')
                .map(|(p, id)| (p.to_owned(), id.to_owned()))
                .ok_or_else(bad_cursor)?,
        ),
        None => None,
    };
    let (pid, limit, today) = (me.person_id, page.limit, me.today(state.now()));
    let (result, rows, drawn, awards, confirmed, payouts) = state
        .db
        .run(move |c| {
            Ok((
                benefits::list(c, pid, kind.map(BenefitKind::as_str), after, limit)?,
                contributions::month_rows(c, pid, today)?,
                benefits::months(c, pid, BenefitKind::Unemployment.as_str())?,
                effects::awards_of(c, pid)?,
                effects::last_confirmation(c, pid)?,
                shebao_infra::payouts::runs::of_person(c, pid, 24)?,
            ))
        })
        .await?;
    let qualification =
        crate::routes::applications::pension_qualification(&awards, confirmed, today);
    let paid: Vec<Period> = rows
        .iter()
        .filter(|(r, _)| {
            r.insurance == InsuranceType::Unemployment && r.status == ContributionStatus::Paid
        })
        .map(|(r, _)| r.period)
        .collect();
    let e = unemployment_entitlement(&paid, &drawn);
    Ok(HttpResponse::Ok().json(dto::BenefitList {
        items: result.items.into_iter().map(payment).collect(),
        next_cursor: result.next.as_deref().map(cursor::encode),
        unemployment: dto::UnemploymentEntitlement {
            contribution_months: e.contribution_months,
            months_granted: e.months_granted,
            months_paid: e.months_paid,
            months_left: e.months_left,
        },
        awards: awards
            .into_iter()
            .map(crate::routes::applications::award_view)
            .collect(),
        pension_qualification: qualification,
        payouts: payouts
            .into_iter()
            .map(crate::routes::payouts::payout_view)
            .collect(),
    }))
}

fn payment(p: benefits::BenefitPayment) -> dto::BenefitPayment {
    dto::BenefitPayment {
        period: p.period,
        kind: p.kind,
        amount_fen: p.amount_fen,
        paid_at: utc(p.paid_at),
        adjustment: match (p.adjustment_reason, p.adjustment_delta_fen) {
            (Some(reason), Some(delta_fen)) => Some(dto::Adjustment { reason, delta_fen }),
            _ => None,
        },
    }
}

/// Who on the staff read or changed this person's records, when and why, and what this account
/// did for others as a relative (亲情代办), newest first. Never another person's entries.
#[utoipa::path(get, operation_id = "access_log", path = "/v1/me/access-log", tag = "records", params(shebao_openapi::staff::PageQuery), security(("person_bearer" = [])),
    responses(
        (status = 200, description = "Newest first", body = dto::AccessLog),
        (status = 422, description = "The page is invalid", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<BoundPerson>))]
#[get("/v1/me/access-log")]
pub async fn access_log(
    state: web::Data<AppState>,
    me: BoundPerson,
    query: web::Query<shebao_openapi::staff::PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = PageRequest::parse(&query)?;
    let pid = me.person_id.to_string();
    let account = me.account_id;
    let limit = page.limit;
    let after = page.after.clone();
    let vault = state.vault.clone();
    let (entries, roles, acted) = state
        .db
        .run(move |c| {
            let entries =
                audit::staff_entries_for_subject(c, "person", &pid, after.as_deref(), limit)?;
            let ids: Vec<String> = entries
                .items
                .iter()
                .filter_map(|e| e.actor_id.clone())
                .collect();
            let acted = shebao_infra::proxies::activity(
                c,
                &vault,
                account,
                shebao_infra::proxies::Side::Held,
                after.as_deref(),
                limit,
            )?;
            Ok((entries, staff::roles_of(c, &ids)?, acted))
        })
        .await?;
    // Both lists are keyed by UUIDv7 ids (they sort by time): merged newest first, one cursor.
    let more = entries.next.is_some() || acted.next.is_some();
    let mut items: Vec<(String, dto::AccessLogEntry)> = entries
        .items
        .into_iter()
        .map(|e| {
            (
                e.id.clone(),
                dto::AccessLogEntry {
                    at: utc(e.occurred_at),
                    staff_role: e.actor_id.as_ref().and_then(|id| roles.get(id).cloned()),
                    staff_id: e.actor_id,
                    action: e.action,
                    reason: e.reason,
                    proxy: None,
                },
            )
        })
        .chain(acted.items.into_iter().map(|a| {
            (
                a.id.to_string(),
                dto::AccessLogEntry {
                    at: utc(a.occurred_at),
                    staff_id: None,
                    staff_role: None,
                    action: "proxy.request".to_owned(),
                    reason: None,
                    proxy: Some(dto::ProxyAccess {
                        grant_id: a.grant_id,
                        for_name: a.principal_name_masked,
                        method: a.method,
                        route: a.route,
                        status: a.status,
                        device: a.device,
                    }),
                },
            )
        }))
        .collect();
    items.sort_by(|a, b| b.0.cmp(&a.0));
    let next = (more || items.len() > limit)
        .then(|| {
            items
                .get(limit.min(items.len()).saturating_sub(1))
                .map(|(id, _)| id.clone())
        })
        .flatten();
    items.truncate(limit);
    Ok(HttpResponse::Ok().json(dto::AccessLog {
        items: items.into_iter().map(|(_, e)| e).collect(),
        next_cursor: next.as_deref().map(cursor::encode),
    }))
}

/// A person's contributions as a caseworker sees them. `reason` is required and recorded: the
/// person sees it in their access log.
#[utoipa::path(get, operation_id = "staff_contributions", path = "/v1/staff/persons/{id}/contributions", tag = "staff",
    params(("id" = Uuid, Path, description = "The person's id"), dto::ReasonQuery),
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "A page of monthly contributions", body = dto::ContributionList),
        (status = 404, description = "No such person", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`reason` missing, or a filter invalid", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Staff>))]
#[get("/v1/staff/persons/{id}/contributions")]
pub async fn staff_contributions(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
    query: web::Query<dto::ReasonQuery>,
) -> Result<HttpResponse, ApiError> {
    staff.require(ANY_STAFF)?;
    let id = Uuid::parse_str(&path.into_inner()).map_err(|_| ApiError::NotFound("person"))?;
    let q = query.into_inner();
    let reason = crate::audit::required_reason(q.reason.as_deref())?;
    let (filter, after, limit) = contribution_filter(
        q.insurance.as_deref(),
        q.from.as_deref(),
        q.to.as_deref(),
        q.limit,
        q.cursor,
    )?;
    let now = state.now();
    let ts = now.naive_utc();
    let entry = crate::audit::Audit::of(&req).staff_read(&staff, "contributions.read", id, reason);
    let page = state
        .db
        .transaction(move |c| {
            let Some(today) = persons::local_today(c, id, now)? else {
                return Ok(None);
            };
            audit::record(c, &entry, ts)?;
            let due_day = contributions::due_day_of(c, id)?;
            Ok(Some(contributions::list(
                c,
                id,
                due_day,
                &filter,
                after.as_ref(),
                limit,
                today,
            )?))
        })
        .await?
        .ok_or(ApiError::NotFound("person"))?;
    contribution_page(page)
}
