//! The person's own records: contributions month by month and their summary, the pension and
//! medical accounts, benefit payments, and who on the staff looked at them. Every route needs a
//! bound ID card and shows only the bound person's data.

use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::{NaiveDate, NaiveDateTime};
use shebao_domain::insurance::InsuranceType;
use shebao_domain::money::Fen;
use shebao_domain::period::Period;
use shebao_domain::statement::{self, ContributionStatus};
use shebao_domain::ValueError;
use shebao_infra::audit;
use shebao_infra::records::contributions::{
    self, ContributionCursor, ContributionFilter, ContributionRecord,
};
use shebao_infra::records::{benefits, medical, pension};
use shebao_infra::registry::{persons, staff};
use shebao_openapi::records as dto;
use uuid::Uuid;

use crate::auth::bound::BoundPerson;
use crate::auth::extract::{PageRequest, Staff, ANY_STAFF};
use crate::cursor;
use crate::error::{field_error_of, ApiError, Fields, Issue, Problems};
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

/// Validates the list's filters and page.
fn contribution_filter(
    insurance: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
    limit: Option<u32>,
    cursor_raw: Option<String>,
) -> Result<(ContributionFilter, Option<ContributionCursor>, usize), ApiError> {
    let mut f = Fields::new();
    let insurance = insurance
        .filter(|s| !s.is_empty())
        .and_then(|s| f.check("insurance", InsuranceType::parse(s)));
    let from = from
        .filter(|s| !s.is_empty())
        .and_then(|s| f.check("from", Period::parse(s)));
    let to = to
        .filter(|s| !s.is_empty())
        .and_then(|s| f.check("to", Period::parse(s)));
    if let (Some(a), Some(b)) = (from, to) {
        if a > b {
            f.add(
                "to",
                Issue::Value(ValueError::Rule("must not be before from")),
            );
        }
    }
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
    let after = match page.after.as_deref() {
        Some(key) => Some(ContributionCursor::parse(key).ok_or_else(|| {
            field_error_of(
                "cursor",
                Issue::Value(ValueError::Format {
                    expected: "a cursor from a previous page",
                }),
            )
        })?),
        None => None,
    };
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
    let page = state
        .db
        .run(move |c| contributions::list(c, pid, &filter, after.as_ref(), limit, today))
        .await?;
    Ok(HttpResponse::Ok().json(dto::ContributionList {
        items: page.items.into_iter().map(item).collect(),
        next_cursor: page.next.as_deref().map(cursor::encode),
    }))
}

fn summary_of(rows: &[statement::MonthRow]) -> dto::ContributionSummary {
    let months = statement::pension_months(rows);
    dto::ContributionSummary {
        items: statement::summarize(rows)
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
                longest_gap_months: s.longest_gap_months,
            })
            .collect(),
        pension_contribution_months: months,
        pension_contribution_years: f64::from(months * 100 / 12) / 100.0,
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
    let rows = state
        .db
        .run(move |c| contributions::month_rows(c, pid, today))
        .await?;
    let rows: Vec<statement::MonthRow> = rows.into_iter().map(|(r, _)| r).collect();
    Ok(HttpResponse::Ok().json(summary_of(&rows)))
}

/// The personal pension account year by year (the domain's ledger, on the wire).
pub fn pension_years(
    rows: &[(statement::MonthRow, i64)],
    interest: &[(i32, i64)],
) -> Vec<dto::PensionAccountYear> {
    let rows: Vec<(statement::MonthRow, Fen)> = rows.iter().map(|(r, b)| (*r, Fen(*b))).collect();
    let interest: Vec<(i32, Fen)> = interest.iter().map(|(y, i)| (*y, Fen(*i))).collect();
    statement::pension_account_years(&rows, &interest)
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
    let (rows, interest) = state
        .db
        .run(move |c| {
            Ok((
                contributions::month_rows(c, pid, today)?,
                pension::interest_credits(c, pid)?,
            ))
        })
        .await?;
    let years = pension_years(&rows, &interest);
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
    let (rows, spent) = state
        .db
        .run(move |c| {
            Ok((
                contributions::month_rows(c, pid, today)?,
                medical::account_paid_total(c, pid)?,
            ))
        })
        .await?;
    let paid: Vec<&statement::MonthRow> = rows
        .iter()
        .map(|(r, _)| r)
        .filter(|r| r.insurance == InsuranceType::Medical && r.status == ContributionStatus::Paid)
        .collect();
    let credited: i64 = paid.iter().map(|r| r.employee.0).sum();
    let latest = paid.iter().map(|r| r.period).max();
    let monthly_credit = latest
        .map(|p| {
            paid.iter()
                .filter(|r| r.period == p)
                .map(|r| r.employee.0)
                .sum()
        })
        .unwrap_or(0);
    Ok(HttpResponse::Ok().json(dto::MedicalAccount {
        balance_fen: credited - spent,
        as_of: today,
        monthly_credit_fen: monthly_credit,
    }))
}

fn parse_day(field: &str, raw: Option<&str>, f: &mut Fields) -> Option<NaiveDate> {
    let raw = raw.filter(|s| !s.is_empty())?;
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
    let after = match page.after.as_deref() {
        Some(key) => {
            let parsed = key.split_once('|').and_then(|(micros, id)| {
                let at = chrono::DateTime::from_timestamp_micros(micros.parse().ok()?)?.naive_utc();
                Some((at, id.to_owned()))
            });
            Some(parsed.ok_or_else(|| {
                field_error_of(
                    "cursor",
                    Issue::Value(ValueError::Format {
                        expected: "a cursor from a previous page",
                    }),
                )
            })?)
        }
        None => None,
    };
    // Dates are whole days (UTC boundaries; the region's zone is UTC+8 for every region today).
    let from_ts: Option<NaiveDateTime> = from.and_then(|d| d.and_hms_opt(0, 0, 0));
    let until_ts: Option<NaiveDateTime> = to
        .and_then(|d| d.succ_opt())
        .and_then(|d| d.and_hms_opt(0, 0, 0));
    let pid = me.person_id;
    let limit = page.limit;
    let result = state
        .db
        .run(move |c| medical::list(c, pid, from_ts, until_ts, after, limit))
        .await?;
    Ok(HttpResponse::Ok().json(dto::MedicalTransactionList {
        items: result
            .items
            .into_iter()
            .map(|t| dto::MedicalTransaction {
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
            })
            .collect(),
        next_cursor: result.next.as_deref().map(cursor::encode),
    }))
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
    let kind = match q.kind.as_deref().filter(|k| !k.is_empty()) {
        None => None,
        Some(k @ ("pension" | "unemployment")) => Some(k.to_owned()),
        Some(_) => {
            return Err(field_error_of(
                "kind",
                Issue::Value(ValueError::OneOf {
                    allowed: "pension, unemployment",
                }),
            ))
        }
    };
    let page = PageRequest::parse(&shebao_openapi::staff::PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    })?;
    let after = match page.after.as_deref() {
        Some(key) => Some(
            key.split_once('|')
                .map(|(p, id)| (p.to_owned(), id.to_owned()))
                .ok_or_else(|| {
                    field_error_of(
                        "cursor",
                        Issue::Value(ValueError::Format {
                            expected: "a cursor from a previous page",
                        }),
                    )
                })?,
        ),
        None => None,
    };
    let pid = me.person_id;
    let limit = page.limit;
    let today = me.today(state.now());
    let (result, rows, paid) = state
        .db
        .run(move |c| {
            Ok((
                benefits::list(c, pid, kind.as_deref(), after, limit)?,
                contributions::month_rows(c, pid, today)?,
                benefits::count(c, pid, "unemployment")?,
            ))
        })
        .await?;
    let months: u32 = {
        let set: std::collections::BTreeSet<Period> = rows
            .iter()
            .map(|(r, _)| r)
            .filter(|r| {
                r.insurance == InsuranceType::Unemployment && r.status == ContributionStatus::Paid
            })
            .map(|r| r.period)
            .collect();
        u32::try_from(set.len()).unwrap_or(u32::MAX)
    };
    let granted = shebao_domain::benefits::unemployment_months(months);
    let paid = u32::try_from(paid).unwrap_or(u32::MAX);
    Ok(HttpResponse::Ok().json(dto::BenefitList {
        items: result
            .items
            .into_iter()
            .map(|p| dto::BenefitPayment {
                period: p.period,
                kind: p.kind,
                amount_fen: p.amount_fen,
                paid_at: utc(p.paid_at),
                adjustment: match (p.adjustment_reason, p.adjustment_delta_fen) {
                    (Some(reason), Some(delta_fen)) => Some(dto::Adjustment { reason, delta_fen }),
                    _ => None,
                },
            })
            .collect(),
        next_cursor: result.next.as_deref().map(cursor::encode),
        unemployment: dto::UnemploymentEntitlement {
            contribution_months: months,
            months_granted: granted,
            months_paid: paid,
            months_left: granted.saturating_sub(paid),
        },
    }))
}

/// Who on the staff read or changed this person's records, when and why. Never another person.
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
    let limit = page.limit;
    let after = page.after.clone();
    let (entries, roles) = state
        .db
        .run(move |c| {
            let entries =
                audit::staff_entries_for_subject(c, "person", &pid, after.as_deref(), limit)?;
            let ids: Vec<String> = entries
                .items
                .iter()
                .filter_map(|e| e.actor_id.clone())
                .collect();
            Ok((entries, staff::roles_of(c, &ids)?))
        })
        .await?;
    Ok(HttpResponse::Ok().json(dto::AccessLog {
        items: entries
            .items
            .into_iter()
            .map(|e| dto::AccessLogEntry {
                at: utc(e.occurred_at),
                staff_role: e.actor_id.as_ref().and_then(|id| roles.get(id).cloned()),
                staff_id: e.actor_id.unwrap_or_default(),
                action: e.action,
                reason: e.reason,
            })
            .collect(),
        next_cursor: entries.next.as_deref().map(cursor::encode),
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
    let reason = q
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|r| r.chars().take(500).collect::<String>());
    let Some(reason) = reason else {
        return Err(field_error_of("reason", Issue::Required));
    };
    let (filter, after, limit) = contribution_filter(
        q.insurance.as_deref(),
        q.from.as_deref(),
        q.to.as_deref(),
        q.limit,
        q.cursor,
    )?;
    let now = state.now();
    let ts = now.naive_utc();
    let mut entry =
        crate::audit::Audit::of(&req).staff(&staff, "contributions.read", "person", id.to_string());
    entry.reason = Some(reason);
    let page = state
        .db
        .transaction(move |c| {
            let Some(today) = persons::local_today(c, id, now)? else {
                return Ok(None);
            };
            audit::record(c, &entry, ts)?;
            Ok(Some(contributions::list(
                c,
                id,
                &filter,
                after.as_ref(),
                limit,
                today,
            )?))
        })
        .await?
        .ok_or(ApiError::NotFound("person"))?;
    Ok(HttpResponse::Ok().json(dto::ContributionList {
        items: page.items.into_iter().map(item).collect(),
        next_cursor: page.next.as_deref().map(cursor::encode),
    }))
}
