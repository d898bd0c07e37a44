//! Applications (业务办理): the person applies, follows the timeline, withdraws, adds documents
//! and resubmits; the staff list them (a caseworker with a region only that region's) and move
//! them on; approval writes its effect into the records. Every transition is audited and texted
//! to the person once.

use actix_web::{get, post, put, web, HttpMessage, HttpRequest, HttpResponse};
use chrono::{Datelike, NaiveDate, NaiveDateTime};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::Value;
use shebao_domain::applications::{
    self as rules, ApplicationKind, ApplicationStatus, DocumentType, Mover, Refusal,
    SeparationReason, TransitionError,
};
use shebao_domain::assistance::{self, Household, Member, Programme, Relation};
use shebao_domain::estimate::{self, Assumptions};
use shebao_domain::identity::PhoneNumber;
use shebao_domain::insurance::InsuranceType;
use shebao_domain::money::Fen;
use shebao_domain::period::Period;
use shebao_domain::person::EmploymentStatus;
use shebao_domain::region::RegionCode;
use shebao_domain::retirement::{self, RetirementCategory};
use shebao_domain::staff::StaffRole;
use shebao_domain::statement::ContributionStatus;
use shebao_infra::applications::effects;
use shebao_infra::applications::store::{self, Application, Move, NewApplication, NotCreated};
use shebao_infra::audit::{self, ActorKind};
use shebao_infra::db::{DbConnection, StoreError};
use shebao_infra::identity::accounts;
use shebao_infra::records::{benefits, contributions, pension as pension_store};
use shebao_infra::registry::{persons, regions, staff as staff_store, Page};
use shebao_infra::reminders::sms as reminder_sms;
use shebao_openapi::applications as dto;
use shebao_openapi::staff::PageQuery;
use uuid::Uuid;

use crate::audit::Audit;
use crate::auth::bound::BoundPerson;
use crate::auth::extract::{from_json_value, Json, PageRequest, Staff, ANY_STAFF};
use crate::auth::person::Person;
use crate::context::{self, Lang};
use crate::cursor;
use crate::error::{field_error_of, problems, ApiError, ErrorCode, Issue, Problems};
use crate::routes::payments::idempotency_key;
use crate::state::AppState;

fn utc(t: NaiveDateTime) -> chrono::DateTime<chrono::Utc> {
    t.and_utc()
}

fn wire_kind(k: ApplicationKind) -> dto::ApplicationKind {
    match k {
        ApplicationKind::UnemploymentBenefit => dto::ApplicationKind::UnemploymentBenefit,
        ApplicationKind::Retirement => dto::ApplicationKind::Retirement,
        ApplicationKind::Transfer => dto::ApplicationKind::Transfer,
        ApplicationKind::MedicalFiling => dto::ApplicationKind::MedicalFiling,
        ApplicationKind::Qualification => dto::ApplicationKind::Qualification,
        ApplicationKind::SocialAssistance => dto::ApplicationKind::SocialAssistance,
    }
}

fn domain_kind(k: dto::ApplicationKind) -> ApplicationKind {
    match k {
        dto::ApplicationKind::UnemploymentBenefit => ApplicationKind::UnemploymentBenefit,
        dto::ApplicationKind::Retirement => ApplicationKind::Retirement,
        dto::ApplicationKind::Transfer => ApplicationKind::Transfer,
        dto::ApplicationKind::MedicalFiling => ApplicationKind::MedicalFiling,
        dto::ApplicationKind::Qualification => ApplicationKind::Qualification,
        dto::ApplicationKind::SocialAssistance => ApplicationKind::SocialAssistance,
    }
}

fn wire_status(s: ApplicationStatus) -> dto::ApplicationStatus {
    match s {
        ApplicationStatus::Submitted => dto::ApplicationStatus::Submitted,
        ApplicationStatus::InReview => dto::ApplicationStatus::InReview,
        ApplicationStatus::NeedsMoreInfo => dto::ApplicationStatus::NeedsMoreInfo,
        ApplicationStatus::Resubmitted => dto::ApplicationStatus::Resubmitted,
        ApplicationStatus::Approved => dto::ApplicationStatus::Approved,
        ApplicationStatus::Rejected => dto::ApplicationStatus::Rejected,
        ApplicationStatus::Withdrawn => dto::ApplicationStatus::Withdrawn,
    }
}

fn domain_status(s: dto::ApplicationStatus) -> ApplicationStatus {
    match s {
        dto::ApplicationStatus::Submitted => ApplicationStatus::Submitted,
        dto::ApplicationStatus::InReview => ApplicationStatus::InReview,
        dto::ApplicationStatus::NeedsMoreInfo => ApplicationStatus::NeedsMoreInfo,
        dto::ApplicationStatus::Resubmitted => ApplicationStatus::Resubmitted,
        dto::ApplicationStatus::Approved => ApplicationStatus::Approved,
        dto::ApplicationStatus::Rejected => ApplicationStatus::Rejected,
        dto::ApplicationStatus::Withdrawn => ApplicationStatus::Withdrawn,
    }
}

/// What the person should expect next, in the request's language.
fn next_step(s: ApplicationStatus, lang: Lang) -> String {
    let (zh, en) = match s {
        ApplicationStatus::Submitted => (
            "已提交，等待经办人员受理。",
            "Submitted: a caseworker will take it up.",
        ),
        ApplicationStatus::InReview => ("经办人员正在审核。", "A caseworker is reviewing it."),
        ApplicationStatus::NeedsMoreInfo => (
            "请按 missing 补充材料（POST …/documents），然后重新提交（POST …/resubmit）。",
            "Add what `missing` lists (POST …/documents), then resubmit (POST …/resubmit).",
        ),
        ApplicationStatus::Resubmitted => (
            "已重新提交，等待经办人员审核。",
            "Resubmitted: a caseworker will review it again.",
        ),
        ApplicationStatus::Approved => (
            "已办结：批准。结果见 decision。",
            "Decided: approved. See the decision.",
        ),
        ApplicationStatus::Rejected => (
            "已办结：未批准。原因见 decision.reason，可据此重新申请。",
            "Decided: rejected. The reason is in decision.reason; you may apply again.",
        ),
        ApplicationStatus::Withdrawn => ("已撤回。", "Withdrawn."),
    };
    lang.pick(zh, en).to_owned()
}

fn kind_name(k: ApplicationKind, lang: Lang) -> &'static str {
    let (zh, en) = match k {
        ApplicationKind::UnemploymentBenefit => ("失业保险金", "unemployment benefit"),
        ApplicationKind::Retirement => ("退休", "retirement"),
        ApplicationKind::Transfer => ("社保转移", "transfer"),
        ApplicationKind::MedicalFiling => ("异地就医备案", "medical filing"),
        ApplicationKind::Qualification => ("资格认证", "qualification"),
        ApplicationKind::SocialAssistance => ("社会救助", "social assistance"),
    };
    lang.pick(zh, en)
}

fn status_name(s: ApplicationStatus) -> &'static str {
    match s {
        ApplicationStatus::Submitted => "已提交",
        ApplicationStatus::InReview => "审核中",
        ApplicationStatus::NeedsMoreInfo => "需补充材料",
        ApplicationStatus::Resubmitted => "已重新提交",
        ApplicationStatus::Approved => "已批准",
        ApplicationStatus::Rejected => "未批准",
        ApplicationStatus::Withdrawn => "已撤回",
    }
}

fn not_eligible(r: &Refusal) -> ApiError {
    let (zh, en) = r.text();
    ApiError::With {
        code: ErrorCode::NotEligible,
        args: vec![("reason", context::lang().pick(&zh, &en).to_owned())],
    }
}

fn transition_error(e: TransitionError) -> ApiError {
    match e {
        TransitionError::Invalid { from, to } => ApiError::With {
            code: ErrorCode::InvalidTransition,
            args: vec![
                ("from", from.as_str().to_owned()),
                ("to", to.as_str().to_owned()),
            ],
        },
        TransitionError::ReasonRequired => field_error_of("note", Issue::Required),
        TransitionError::MissingRequired => field_error_of("missing", Issue::Required),
    }
}

/// Everything the view of one application needs.
struct Loaded {
    app: Application,
    events: Vec<store::Event>,
    documents: Vec<store::Document>,
}

fn load(c: &mut DbConnection, id: Uuid) -> Result<Option<Loaded>, StoreError> {
    let Some(app) = store::get(c, id)? else {
        return Ok(None);
    };
    Ok(Some(Loaded {
        events: store::timeline(c, id)?,
        documents: store::documents_of(c, id)?,
        app,
    }))
}

fn view(l: Loaded) -> dto::ApplicationView {
    let lang = context::lang();
    let a = l.app;
    dto::ApplicationView {
        id: a.id,
        kind: wire_kind(a.kind),
        status: wire_status(a.status),
        data: a.data,
        region: a.region_code,
        timeline: l
            .events
            .into_iter()
            .map(|e| dto::TimelineEvent {
                at: utc(e.at),
                status: ApplicationStatus::parse(&e.status)
                    .map(wire_status)
                    .unwrap_or(dto::ApplicationStatus::Submitted),
                actor_role: e.actor_role,
                note: e.note,
            })
            .collect(),
        missing: a.missing,
        decision: a
            .decision
            .and_then(|d| serde_json::from_value::<dto::Decision>(d).ok()),
        documents: l
            .documents
            .into_iter()
            .map(|d| dto::DocumentView {
                id: d.id,
                media_type: d.media_type,
                size_bytes: d.size_bytes,
                sha256: d.sha256,
                uploaded_at: utc(d.created_at),
            })
            .collect(),
        next_step: next_step(a.status, lang),
        created_at: utc(a.created_at),
        updated_at: utc(a.updated_at),
    }
}

fn application_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::NotFound("application"))
}

/// The person's own application (another's is 404, as if it did not exist).
async fn own(state: &AppState, person: Uuid, id: &str) -> Result<Loaded, ApiError> {
    let id = application_id(id)?;
    state
        .db
        .read(move |c| load(c, id))
        .await?
        .filter(|l| l.app.person_id == person)
        .ok_or(ApiError::NotFound("application"))
}

// ---------------------------------------------------------------------------------------------
// Each kind's data, and what it decides

/// The request as read: the kind, and its data still as JSON.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApplication {
    kind: dto::ApplicationKind,
    data: Value,
}

/// A kind's data, checked.
enum Data {
    Unemployment {
        reason: SeparationReason,
        last_day: NaiveDate,
    },
    Retirement {
        from: NaiveDate,
        female_managerial: bool,
    },
    Transfer {
        to_region: RegionCode,
    },
    MedicalFiling {
        region: RegionCode,
        reason: String,
        from: NaiveDate,
        to: NaiveDate,
    },
    Assistance {
        programme: Programme,
        household: Household,
    },
    /// The relative who may confirm (checked and then kept only as a blind index).
    Qualification {
        relative_phone: Option<PhoneNumber>,
    },
}

/// The household of a request, checked (422 names the field under `prefix`).
pub fn household(h: dto::Household, prefix: &str) -> Result<Household, ApiError> {
    let members = h
        .members
        .into_iter()
        .map(|m| Member {
            relation: match m.relation {
                dto::Relation::Own => Relation::Own,
                dto::Relation::Spouse => Relation::Spouse,
                dto::Relation::Child => Relation::Child,
                dto::Relation::Parent => Relation::Parent,
                dto::Relation::Other => Relation::Other,
            },
            age: m.age,
            monthly_income: Fen(m.monthly_income_fen),
            disabled: m.disabled,
            serious_illness: m.serious_illness,
        })
        .collect();
    Household::new(members, Fen(h.assets_fen), Fen(h.medical_costs_12m_fen))
        .map_err(|e| field_error_of(prefix, Issue::Value(e)))
}

fn programme_of(p: dto::Programme) -> Programme {
    match p {
        dto::Programme::MinimumLiving => Programme::MinimumLiving,
        dto::Programme::MedicalAssistance => Programme::MedicalAssistance,
        dto::Programme::TemporaryAssistance => Programme::TemporaryAssistance,
        dto::Programme::ExtremePoverty => Programme::ExtremePoverty,
    }
}

fn wire_programme(p: Programme) -> dto::Programme {
    match p {
        Programme::MinimumLiving => dto::Programme::MinimumLiving,
        Programme::MedicalAssistance => dto::Programme::MedicalAssistance,
        Programme::TemporaryAssistance => dto::Programme::TemporaryAssistance,
        Programme::ExtremePoverty => dto::Programme::ExtremePoverty,
    }
}

fn region_field(field: &str, raw: &str) -> Result<RegionCode, ApiError> {
    RegionCode::parse(raw).map_err(|e| field_error_of(field, Issue::Value(e)))
}

/// Reads `data` for `kind`: the shape (422 naming `data.…`), then the values.
fn parse_data(kind: ApplicationKind, data: Value, today: NaiveDate) -> Result<Data, ApiError> {
    match kind {
        ApplicationKind::UnemploymentBenefit => {
            let d: dto::UnemploymentBenefitData = from_json_value(data, "data")?;
            if d.last_day > today {
                return Err(field_error_of(
                    "data.last_day",
                    Issue::Value(shebao_domain::ValueError::Rule("must not be in the future")),
                ));
            }
            let reason = match d.reason {
                dto::SeparationReason::ContractEnded => SeparationReason::ContractEnded,
                dto::SeparationReason::Dismissed => SeparationReason::Dismissed,
                dto::SeparationReason::EmployerClosed => SeparationReason::EmployerClosed,
                dto::SeparationReason::Resigned => SeparationReason::Resigned,
            };
            Ok(Data::Unemployment {
                reason,
                last_day: d.last_day,
            })
        }
        ApplicationKind::Retirement => {
            let d: dto::RetirementData = from_json_value(data, "data")?;
            Ok(Data::Retirement {
                from: d.from,
                female_managerial: d.female_managerial,
            })
        }
        ApplicationKind::Transfer => {
            let d: dto::TransferData = from_json_value(data, "data")?;
            Ok(Data::Transfer {
                to_region: region_field("data.to_region", &d.to_region)?,
            })
        }
        ApplicationKind::MedicalFiling => {
            let d: dto::MedicalFilingData = from_json_value(data, "data")?;
            let region = region_field("data.region", &d.region)?;
            if d.to < d.from {
                return Err(field_error_of(
                    "data.to",
                    Issue::Value(shebao_domain::ValueError::Rule("must not be before from")),
                ));
            }
            let reason = serde_json::to_value(d.reason)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            Ok(Data::MedicalFiling {
                region,
                reason,
                from: d.from,
                to: d.to,
            })
        }
        ApplicationKind::SocialAssistance => {
            let d: dto::SocialAssistanceData = from_json_value(data, "data")?;
            Ok(Data::Assistance {
                programme: programme_of(d.programme),
                household: household(d.household, "data.household")?,
            })
        }
        ApplicationKind::Qualification => {
            let d: dto::QualificationData = from_json_value(data, "data")?;
            let relative_phone = d
                .relative_phone
                .as_deref()
                .map(|p| {
                    PhoneNumber::parse(p)
                        .map_err(|e| field_error_of("data.relative_phone", Issue::Value(e)))
                })
                .transpose()?;
            Ok(Data::Qualification { relative_phone })
        }
    }
}

/// What approval writes, decided on the records as they are now.
enum Effect {
    Award {
        kind: &'static str,
        months: Option<u32>,
        monthly: Fen,
        starts: Period,
    },
    Transfer {
        to_region: String,
    },
    Filing {
        region: String,
        reason: String,
        from: NaiveDate,
        to: NaiveDate,
    },
    /// A qualification check: by the pensioner, or by the relative they named.
    Confirmation,
}

/// Decides `data` for `person` on today's records: the effect approval would have, or why not.
fn decide(
    c: &mut DbConnection,
    person: Uuid,
    data: &Data,
    today: NaiveDate,
) -> Result<Result<Effect, Refusal>, ApiError> {
    let p = persons::get(c, person)?.ok_or(StoreError::NotFound)?;
    match data {
        Data::Qualification { .. } => {
            let pensioner = p.employment_status == EmploymentStatus::Retired
                || effects::awards_of(c, person)?
                    .iter()
                    .any(|a| a.kind == "pension");
            if !pensioner {
                return Ok(Err(Refusal::NotPensioner));
            }
            Ok(Ok(Effect::Confirmation))
        }
        Data::Assistance {
            programme,
            household,
        } => {
            let Some(row) = effects::assistance_thresholds(c, p.region.as_str(), today.year())?
            else {
                return Ok(Err(Refusal::NoProgramme));
            };
            let receiving = effects::awards_of(c, person)?
                .iter()
                .any(|a| a.kind == programme.as_str());
            if receiving {
                return Ok(Err(Refusal::AlreadyReceiving {
                    programme: programme.as_str(),
                }));
            }
            let a = assistance::assess(*programme, household, &row.thresholds());
            if !a.eligible {
                return Ok(Err(Refusal::CriteriaNotMet {
                    programme: programme.as_str(),
                    failed: a
                        .criteria
                        .iter()
                        .filter(|c| !c.met)
                        .map(|c| c.name)
                        .collect(),
                }));
            }
            Ok(Ok(Effect::Award {
                kind: programme.as_str(),
                months: a.months,
                monthly: a.monthly_amount,
                starts: Period::containing(today),
            }))
        }
        Data::Unemployment { reason, last_day } => {
            let rows = contributions::month_rows(c, person, today)?;
            let paid: Vec<Period> = rows
                .iter()
                .filter(|(r, _)| {
                    r.insurance == InsuranceType::Unemployment
                        && r.status == ContributionStatus::Paid
                })
                .map(|(r, _)| r.period)
                .collect();
            let drawn = benefits::months(c, person, "unemployment")?;
            let rate = effects::service_parameters(c, p.region.as_str(), today.year())?
                .ok_or(ErrorCode::NoYearParameters)?;
            Ok(rules::unemployment_award(
                *reason,
                &paid,
                &drawn,
                *last_day,
                Fen(rate.unemployment_benefit_monthly_fen),
            )
            .map(|a| Effect::Award {
                kind: "unemployment",
                months: Some(a.months),
                monthly: a.monthly_amount,
                starts: a.starts,
            }))
        }
        Data::Retirement {
            from,
            female_managerial,
        } => {
            let category = RetirementCategory::for_person(p.gender, *female_managerial);
            let (earliest, _) = retirement::allowed_retirement_window(p.birth_date, category);
            if *from < earliest {
                return Ok(Err(Refusal::TooEarly { earliest }));
            }
            let rows = contributions::month_rows(c, person, today)?;
            let interest = pension_store::interest_credits(c, person)?;
            let years = regions::years(c, &p.region)?;
            let region_rules = regions::rules(c, &p.region)?.unwrap_or_default();
            // As the estimate's route reads them (routes::records::as_fen; records reads this
            // module's views, so this one does not import it back).
            let rows: Vec<_> = rows.into_iter().map(|(r, b)| (r, Fen(b))).collect();
            let interest: Vec<_> = interest.into_iter().map(|(y, i)| (y, Fen(i))).collect();
            let history = estimate::History {
                birth_date: p.birth_date,
                today,
                rows: &rows,
                interest: &interest,
                years: &years,
                rules: region_rules,
            };
            let assumptions = Assumptions {
                category,
                retirement_date: Some(*from),
                future_base_ratio_bp: None,
                wage_growth_bp: Assumptions::DEFAULT_WAGE_GROWTH_BP,
                interest_rate_bp: Assumptions::DEFAULT_INTEREST_RATE_BP,
            };
            let e = match estimate::estimate(&history, &assumptions) {
                Ok(e) => e,
                Err(estimate::EstimateError::OutsideWindow) => {
                    // After the latest date: retire at the latest one.
                    let (_, latest) = retirement::allowed_retirement_window(p.birth_date, category);
                    return Err(field_error_of(
                        "data.from",
                        Issue::Value(shebao_domain::ValueError::Rule(if *from > latest {
                            "after the latest date deferral allows"
                        } else {
                            "outside the retirement window"
                        })),
                    ));
                }
                Err(estimate::EstimateError::NoYearParameters) => {
                    return Err(ErrorCode::NoYearParameters.into())
                }
                Err(estimate::EstimateError::OutOfRange) => {
                    return Err(ApiError::internal("pension out of range"))
                }
            };
            if !e.eligible {
                return Ok(Err(Refusal::TooFewPensionMonths {
                    have: e.total_months(),
                    need: e.required_months,
                }));
            }
            Ok(Ok(Effect::Award {
                kind: "pension",
                months: None,
                monthly: e.monthly_total,
                starts: Period::containing(*from),
            }))
        }
        Data::Transfer { to_region } => {
            if !regions::exists(c, to_region)? {
                return Err(field_error_of("data.to_region", Issue::Unknown));
            }
            if p.region == *to_region {
                return Ok(Err(Refusal::SameRegion));
            }
            Ok(Ok(Effect::Transfer {
                to_region: to_region.as_str().to_owned(),
            }))
        }
        Data::MedicalFiling {
            region,
            reason,
            from,
            to,
        } => {
            if !regions::exists(c, region)? {
                return Err(field_error_of("data.region", Issue::Unknown));
            }
            if p.region == *region {
                return Ok(Err(Refusal::SameRegion));
            }
            Ok(Ok(Effect::Filing {
                region: region.as_str().to_owned(),
                reason: reason.clone(),
                from: *from,
                to: *to,
            }))
        }
    }
}

/// Writes the effect; returns the decision the person sees.
fn apply_effect(
    c: &mut DbConnection,
    app: &Application,
    effect: Effect,
    now: NaiveDateTime,
) -> Result<dto::Decision, StoreError> {
    Ok(match effect {
        Effect::Award {
            kind,
            months,
            monthly,
            starts,
        } => {
            effects::add_award(
                c,
                app.person_id,
                app.id,
                kind,
                monthly.0,
                months,
                &starts.to_string(),
                now,
            )?;
            dto::Decision {
                approved: true,
                months,
                monthly_amount_fen: Some(monthly.0),
                starts: Some(starts.to_string()),
                ..Default::default()
            }
        }
        Effect::Transfer { to_region } => {
            let from = effects::transfer(c, app.person_id, app.id, &to_region, now)?;
            dto::Decision {
                approved: true,
                from_region: Some(from),
                to_region: Some(to_region),
                ..Default::default()
            }
        }
        Effect::Filing {
            region,
            reason,
            from,
            to,
        } => {
            effects::add_filing(c, app.person_id, app.id, &region, &reason, from, to, now)?;
            dto::Decision {
                approved: true,
                region: Some(region),
                from: Some(from),
                to: Some(to),
                ..Default::default()
            }
        }
        Effect::Confirmation => {
            let by = if store::delegate_of(c, app.id)?.is_some() {
                "relative"
            } else {
                "self"
            };
            effects::add_confirmation(c, app.person_id, app.id, by, now)?;
            let today = now.date();
            dto::Decision {
                approved: true,
                to: Some(rules::qualification(today, today).confirm_by),
                ..Default::default()
            }
        }
    })
}

// ---------------------------------------------------------------------------------------------
// The person's routes

/// Applies: `kind` names the `data` (see `ApplicationRequest`). Needs a bound account; a
/// retirement, a transfer or a qualification needs a step-up too. The data is checked against
/// the records at once (`not_eligible` explains a refusal: the reason, the date or the months
/// missing). One open application per kind (`application_open` names it). The same
/// `Idempotency-Key` with the same body answers the same application again.
#[utoipa::path(post, operation_id = "create_application", path = "/v1/me/applications", tag = "applications", request_body = dto::ApplicationRequest,
    params(("Idempotency-Key" = String, Header, description = "8–64 visible ASCII characters, new for each application", min_length = 8, max_length = 64, pattern = "^[!-~]{8,64}$")),
    security(("person_bearer" = [])),
    responses(
        (status = 201, description = "Submitted (or, replayed, as it stands now)", body = dto::ApplicationView,
            headers(("Idempotent-Replayed" = String, description = "`true` when this answers an earlier request with the same key"))),
        (status = 400, description = "No valid `Idempotency-Key` (`idempotency_key_required`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 409, description = "An application of this kind is open (`application_open`, naming it)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field of `data` is invalid, the records do not allow it (`not_eligible`, with the reason), the region has no parameters (`no_year_parameters`), or the key was used with another body (`idempotency_key_reused`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<(BoundPerson, problems::StepUpRequired)>))]
#[post("/v1/me/applications")]
pub async fn create_application(
    req: HttpRequest,
    state: web::Data<AppState>,
    person: Person,
    body: Json<RawApplication>,
) -> Result<HttpResponse, ApiError> {
    let (person_id, time_zone) = person.person.ok_or(ErrorCode::BindingRequired)?;
    let key = idempotency_key(req.headers())?;
    let kind = domain_kind(body.0.kind);
    if kind.needs_step_up() {
        person.require_step_up(state.now().timestamp())?;
    }
    let raw = body.0.data;
    let today = time_zone.local_date(state.now());
    let data = parse_data(kind, raw.clone(), today)?;
    let request_hash = format!("{}|{}", kind.as_str(), raw);
    // The relative's phone is kept as its blind index; the data shows it masked.
    let mut raw = raw;
    let delegate = match &data {
        Data::Qualification {
            relative_phone: Some(phone),
        } => {
            raw["relative_phone"] = Value::String(phone.masked());
            Some(accounts::phone_hash(&state.vault, phone))
        }
        _ => None,
    };
    let now = state.now().naive_utc();
    let mut entry = Audit::of(&req).entry(
        ActorKind::Person,
        Some(person.account_id.to_string()),
        "application.submit",
        "success",
    );
    entry.subject_kind = Some("application");
    let outcome = state
        .db
        .transaction(move |c| {
            if let Some(existing) = store::by_key(c, person_id, &key)? {
                return Ok(if existing.request_hash == request_hash {
                    Ok((existing.id, true))
                } else {
                    Err(ErrorCode::IdempotencyKeyReused.into())
                });
            }
            let decided = match decide(c, person_id, &data, today) {
                Ok(d) => d,
                Err(e) => return Ok(Err(e)),
            };
            if let Err(refusal) = decided {
                return Ok(Err(not_eligible(&refusal)));
            }
            let region: String = persons::get(c, person_id)?
                .ok_or(StoreError::NotFound)?
                .region
                .as_str()
                .to_owned();
            let new = NewApplication {
                person_id,
                region_code: region,
                kind,
                data: raw,
                idempotency_key: key,
                request_hash,
            };
            match store::create(c, &new, now)? {
                Ok(app) => {
                    if let Some(hash) = &delegate {
                        store::add_delegate(c, app.id, hash)?;
                    }
                    entry.subject_id = Some(app.id.to_string());
                    audit::record(c, &entry, now)?;
                    Ok(Ok((app.id, false)))
                }
                Err(NotCreated::Open(open)) => Ok(Err(ApiError::With {
                    code: ErrorCode::ApplicationOpen,
                    args: vec![("kind", kind.as_str().to_owned()), ("id", open.to_string())],
                })),
            }
        })
        .await?;
    let (id, replayed) = outcome?;
    let loaded = state
        .db
        .read(move |c| load(c, id))
        .await?
        .ok_or(ApiError::NotFound("application"))?;
    let mut res = HttpResponse::Created();
    if replayed {
        res.insert_header(("Idempotent-Replayed", "true"));
    }
    Ok(res.json(view(loaded)))
}

/// An application as a list shows it.
fn summary(a: store::Application) -> dto::ApplicationSummary {
    dto::ApplicationSummary {
        id: a.id,
        kind: wire_kind(a.kind),
        status: wire_status(a.status),
        region: a.region_code,
        created_at: utc(a.created_at),
        updated_at: utc(a.updated_at),
    }
}

/// The person's applications, newest first.
#[utoipa::path(get, operation_id = "list_applications", path = "/v1/me/applications", tag = "applications", params(PageQuery), security(("person_bearer" = [])),
    responses(
        (status = 200, description = "A page of applications", body = dto::ApplicationList),
        (status = 422, description = "`limit` or `cursor` invalid", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<BoundPerson>))]
#[get("/v1/me/applications")]
pub async fn list_applications(
    state: web::Data<AppState>,
    person: BoundPerson,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = PageRequest::parse(&query.into_inner())?;
    let owner = person.person_id;
    let list = state
        .db
        .read(move |c| store::list_of_person(c, owner, page.after.as_deref(), page.limit))
        .await?;
    Ok(HttpResponse::Ok().json(dto::ApplicationList {
        next_cursor: list.next.as_deref().map(cursor::encode),
        items: list.items.into_iter().map(summary).collect(),
    }))
}

/// One of the person's applications: its data, timeline, what is missing, its documents and
/// the decision.
#[utoipa::path(get, operation_id = "get_application", path = "/v1/me/applications/{id}", tag = "applications",
    params(("id" = Uuid, Path, description = "The application's id")), security(("person_bearer" = [])),
    responses(
        (status = 200, description = "The application", body = dto::ApplicationView),
        (status = 404, description = "No such application of this person", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<BoundPerson>))]
#[get("/v1/me/applications/{id}")]
pub async fn get_application(
    state: web::Data<AppState>,
    person: BoundPerson,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let loaded = own(&state, person.person_id, &path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(view(loaded)))
}

/// Moves one application by the person (withdraw, resubmit) or the staff; audits it, and texts
/// the person once. Returns the application as it is now.
#[allow(clippy::too_many_arguments)]
async fn move_application(
    req: &HttpRequest,
    state: &AppState,
    id: Uuid,
    to: ApplicationStatus,
    mover: Mover,
    actor: (ActorKind, String, String),
    note: Option<String>,
    missing: Vec<String>,
    region_scope: Option<String>,
) -> Result<Loaded, ApiError> {
    let now = state.now().naive_utc();
    let (actor_kind, actor_id, actor_role) = actor;
    let mut entry = Audit::of(req).entry(
        actor_kind,
        Some(actor_id),
        "application.transition",
        "success",
    );
    entry.subject_kind = Some("application");
    entry.subject_id = Some(id.to_string());
    entry.reason = Some(to.as_str().to_owned());
    let outcome = state
        .db
        .transaction(move |c| {
            let Some(app) = store::get(c, id)? else {
                return Ok(Err(ApiError::NotFound("application")));
            };
            if region_scope.as_ref().is_some_and(|r| r != &app.region_code) {
                return Ok(Err(ApiError::NotFound("application")));
            }
            if let Err(e) = rules::transition(app.status, to, mover, note.as_deref(), &missing) {
                return Ok(Err(transition_error(e)));
            }
            let today = persons::local_today(c, app.person_id, now.and_utc())?
                .ok_or(StoreError::NotFound)?;
            // Decided on the records first (reads only), so a refusal writes nothing.
            let effect = match to {
                ApplicationStatus::Approved => {
                    let data = if app.kind == ApplicationKind::Qualification {
                        // The stored data holds the relative's phone masked; the delegate row
                        // says whether they confirmed.
                        if matches!(store::delegate_of(c, app.id)?, Some((_, None))) {
                            return Ok(Err(not_eligible(&Refusal::AwaitingRelative)));
                        }
                        Data::Qualification {
                            relative_phone: None,
                        }
                    } else {
                        match parse_data(app.kind, app.data.clone(), today) {
                            Ok(d) => d,
                            Err(e) => return Ok(Err(e)),
                        }
                    };
                    match decide(c, app.person_id, &data, today) {
                        Ok(Ok(effect)) => Some(effect),
                        Ok(Err(refusal)) => return Ok(Err(not_eligible(&refusal))),
                        Err(e) => return Ok(Err(e)),
                    }
                }
                _ => None,
            };
            let missing_now: Option<&[String]> = match to {
                ApplicationStatus::NeedsMoreInfo => Some(&missing),
                ApplicationStatus::Resubmitted => Some(&[]),
                _ => None,
            };
            let m = Move {
                to,
                expected_version: app.version,
                actor_role: &actor_role,
                note: note.as_deref().map(str::trim).filter(|n| !n.is_empty()),
                missing: missing_now,
            };
            // The move claims the version; only its winner writes the effect.
            if !store::apply_move(c, id, &m, now)? {
                return Ok(Err(ErrorCode::ApplicationChanged.into()));
            }
            let decision = match (to, effect) {
                (ApplicationStatus::Approved, Some(effect)) => {
                    Some(apply_effect(c, &app, effect, now)?)
                }
                (ApplicationStatus::Rejected, _) => Some(dto::Decision {
                    approved: false,
                    reason: note.clone(),
                    ..Default::default()
                }),
                _ => None,
            };
            if let Some(d) = decision {
                let d = serde_json::to_value(d).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                store::set_decision(c, id, &d)?;
            }
            audit::record(c, &entry, now)?;
            let loaded = load(c, id)?.ok_or(StoreError::NotFound)?;
            notify(c, &loaded, now.and_utc())?;
            Ok(Ok(loaded))
        })
        .await?;
    outcome
}

/// Queues the text that tells the person the new status: an event message of the jobs, in the
/// transition's own transaction, so it goes out (in daylight) exactly when the transition
/// stands. Its dedupe key is the application's id and version: once per transition.
fn notify(
    c: &mut DbConnection,
    loaded: &Loaded,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), StoreError> {
    let a = &loaded.app;
    let body = format!(
        "【社保】您的{}申请{}。详情请在掌上社保查看。",
        kind_name(a.kind, Lang::Zh),
        status_name(a.status),
    );
    reminder_sms::enqueue_event_to_person(
        c,
        a.person_id,
        "application",
        body,
        &format!("application:{}:v{}", a.id, a.version),
        now,
    )?;
    Ok(())
}

/// Withdraws an application that is not decided yet.
#[utoipa::path(post, operation_id = "withdraw_application", path = "/v1/me/applications/{id}/withdraw", tag = "applications",
    params(("id" = Uuid, Path, description = "The application's id")), security(("person_bearer" = [])),
    responses(
        (status = 200, description = "Withdrawn", body = dto::ApplicationView),
        (status = 404, description = "No such application of this person", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Decided or withdrawn already (`invalid_transition`), or moved a moment ago (`application_changed`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<BoundPerson>))]
#[post("/v1/me/applications/{id}/withdraw")]
pub async fn withdraw_application(
    req: HttpRequest,
    state: web::Data<AppState>,
    person: BoundPerson,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    person_move(&req, &state, &person, &path, ApplicationStatus::Withdrawn).await
}

/// Resubmits after `needs_more_info` (add the documents first).
#[utoipa::path(post, operation_id = "resubmit_application", path = "/v1/me/applications/{id}/resubmit", tag = "applications",
    params(("id" = Uuid, Path, description = "The application's id")), security(("person_bearer" = [])),
    responses(
        (status = 200, description = "Resubmitted", body = dto::ApplicationView),
        (status = 404, description = "No such application of this person", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not waiting for more information (`invalid_transition`), or moved a moment ago (`application_changed`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<BoundPerson>))]
#[post("/v1/me/applications/{id}/resubmit")]
pub async fn resubmit_application(
    req: HttpRequest,
    state: web::Data<AppState>,
    person: BoundPerson,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    person_move(&req, &state, &person, &path, ApplicationStatus::Resubmitted).await
}

async fn person_move(
    req: &HttpRequest,
    state: &AppState,
    person: &BoundPerson,
    path: &str,
    to: ApplicationStatus,
) -> Result<HttpResponse, ApiError> {
    let own = own(state, person.person_id, path).await?;
    let actor = (
        ActorKind::Person,
        person.account_id.to_string(),
        "person".to_owned(),
    );
    let loaded = move_application(
        req,
        state,
        own.app.id,
        to,
        Mover::Person,
        actor,
        None,
        Vec::new(),
        None,
    )
    .await?;
    Ok(HttpResponse::Ok().json(view(loaded)))
}

/// What a document's 415 says is accepted.
const DOCUMENT_TYPES: (&str, &str) = ("PNG、JPEG 图片或 PDF 文件", "a PNG or JPEG image or a PDF");

/// Adds a document (a PNG or JPEG image or a PDF, at most 5 MB) to an open application. The
/// type is read from the content, never taken from the header; the SHA-256 is kept.
#[utoipa::path(post, operation_id = "add_application_document", path = "/v1/me/applications/{id}/documents", tag = "applications",
    params(("id" = Uuid, Path, description = "The application's id")),
    request_body(content = Vec<u8>, description = "The file's bytes", content_type = "application/octet-stream"),
    security(("person_bearer" = [])),
    responses(
        (status = 201, description = "Stored", body = dto::DocumentView),
        (status = 404, description = "No such application of this person", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The application is decided or withdrawn (`invalid_transition`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Over 5 MB (`payload_too_large`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not a PNG, JPEG or PDF by its content (`unsupported_media_type`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<BoundPerson>))]
#[post("/v1/me/applications/{id}/documents")]
pub async fn add_document(
    req: HttpRequest,
    state: web::Data<AppState>,
    person: BoundPerson,
    path: web::Path<String>,
    mut payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let own = own(&state, person.person_id, &path.into_inner()).await?;
    let limit = rules::MAX_DOCUMENT_BYTES;
    let declared = crate::auth::extract::content_length(&req);
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    let mut bytes = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| ApiError::Code(ErrorCode::BodyIncomplete))?;
        if bytes.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        bytes.extend_from_slice(&chunk);
    }
    let unsupported = ApiError::UnsupportedMediaType {
        accepted: DOCUMENT_TYPES,
    };
    let sniffed = DocumentType::sniff(&bytes).ok_or(unsupported)?;
    // A declared type that contradicts the content is refused too.
    let declared_type = req
        .mime_type()
        .ok()
        .flatten()
        .map(|m| m.essence_str().to_owned());
    if let Some(t) = declared_type.as_deref() {
        let neutral = t == "application/octet-stream";
        if !neutral && t != sniffed.media_type() {
            return Err(ApiError::UnsupportedMediaType {
                accepted: DOCUMENT_TYPES,
            });
        }
    }
    if !own.app.status.is_open() {
        return Err(ApiError::With {
            code: ErrorCode::InvalidTransition,
            args: vec![
                ("from", own.app.status.as_str().to_owned()),
                ("to", own.app.status.as_str().to_owned()),
            ],
        });
    }
    let sha = shebao_security::opaque::sha256_hex_of(&bytes);
    let now = state.now().naive_utc();
    let id = own.app.id;
    let mut entry = Audit::of(&req).entry(
        ActorKind::Person,
        Some(person.account_id.to_string()),
        "application.document",
        "success",
    );
    entry.subject_kind = Some("application");
    entry.subject_id = Some(id.to_string());
    let doc = state
        .db
        .transaction(move |c| {
            let d = store::add_document(c, id, sniffed.media_type(), &sha, &bytes, now)?;
            audit::record(c, &entry, now)?;
            Ok(d)
        })
        .await?;
    Ok(HttpResponse::Created().json(dto::DocumentView {
        id: doc.id,
        media_type: doc.media_type,
        size_bytes: doc.size_bytes,
        sha256: doc.sha256,
        uploaded_at: utc(doc.created_at),
    }))
}

// ---------------------------------------------------------------------------------------------
// The staff's routes

/// The region a staff member is limited to: a caseworker's own, if they have one.
pub(crate) async fn staff_scope(
    state: &AppState,
    staff: &Staff,
) -> Result<Option<String>, ApiError> {
    if staff.role != StaffRole::Caseworker {
        return Ok(None);
    }
    let id = staff.id;
    Ok(state
        .db
        .read(move |c| staff_store::region_of(c, id))
        .await?)
}

/// Applications for review, newest first: by `status`, `kind` and `region`. A caseworker with
/// a region sees only that region's (another region asked for is 403).
#[utoipa::path(get, operation_id = "staff_list_applications", path = "/v1/staff/applications", tag = "applications", params(dto::StaffApplicationQuery), security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "A page of applications", body = dto::StaffApplicationList),
        (status = 422, description = "A filter, `limit` or `cursor` invalid", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Staff>))]
#[get("/v1/staff/applications")]
pub async fn staff_list(
    state: web::Data<AppState>,
    staff: Staff,
    query: web::Query<dto::StaffApplicationQuery>,
) -> Result<HttpResponse, ApiError> {
    staff.require(ANY_STAFF)?;
    let q = query.into_inner();
    let page = PageRequest::parse(&PageQuery {
        limit: q.limit.clone(),
        cursor: q.cursor.clone(),
    })?;
    let mut f = crate::error::Fields::new();
    let status = q
        .status
        .as_deref()
        .and_then(|s| f.check("status", ApplicationStatus::parse(s)));
    let kind = q
        .kind
        .as_deref()
        .and_then(|s| f.check("kind", ApplicationKind::parse(s)));
    let region = q
        .region
        .as_deref()
        .and_then(|s| f.check("region", RegionCode::parse(s)));
    if !f.is_empty() {
        return Err(f.into_error());
    }
    let scope = staff_scope(&state, &staff).await?;
    let region = match (scope, region) {
        (Some(own), Some(asked)) if own != asked.as_str() => {
            return Err(ErrorCode::Forbidden.into())
        }
        (Some(own), _) => Some(own),
        (None, asked) => asked.map(|r| r.as_str().to_owned()),
    };
    let filter = store::StaffFilter {
        status,
        kind,
        region,
    };
    let items = state
        .db
        .read(move |c| {
            let list = store::list_for_staff(c, &filter, page.after.as_deref(), page.limit)?;
            let mut items = Vec::new();
            for a in list.items {
                if let Some(l) = load(c, a.id)? {
                    items.push(l);
                }
            }
            Ok((items, list.next))
        })
        .await?;
    let (items, next) = items;
    Ok(HttpResponse::Ok().json(dto::StaffApplicationList {
        next_cursor: next.as_deref().map(cursor::encode),
        items: items
            .into_iter()
            .map(|l| dto::StaffApplicationView {
                person_id: l.app.person_id,
                application: view(l),
            })
            .collect(),
    }))
}

/// Moves an application on: `in_review`, `needs_more_info` (with `missing`), `approved` (the
/// decision is computed from the records and written into them), `rejected` (with a `note` the
/// person can act on). Audited; the person's timeline shows the role; the person gets an SMS.
/// Of two deciders at once, one wins and the other gets 409 `application_changed` (or
/// `invalid_transition`, if it reads the first one's result).
#[utoipa::path(post, operation_id = "staff_transition_application", path = "/v1/staff/applications/{id}/transitions", tag = "applications", request_body = dto::TransitionRequest,
    params(("id" = Uuid, Path, description = "The application's id")), security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "The application after the move", body = dto::StaffApplicationView),
        (status = 404, description = "No such application (in this caseworker's region)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not a move the state machine allows (`invalid_transition`), or moved a moment ago (`application_changed`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A rejection without a `note`, `needs_more_info` without `missing`, the records no longer allow approval (`not_eligible`), or no parameters (`no_year_parameters`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Staff>))]
#[post("/v1/staff/applications/{id}/transitions")]
pub async fn staff_transition(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
    body: Json<dto::TransitionRequest>,
) -> Result<HttpResponse, ApiError> {
    staff.require(ANY_STAFF)?;
    let id = application_id(&path.into_inner())?;
    let b = body.0;
    let mut f = crate::error::Fields::new();
    let note = b
        .note
        .as_deref()
        .filter(|n| !n.trim().is_empty())
        .and_then(|n| f.check("note", shebao_domain::text::Text::parse(n, 500)))
        .map(|t| t.into_string());
    let missing: Vec<String> = b
        .missing
        .iter()
        .enumerate()
        .filter_map(|(i, m)| {
            f.check(
                &format!("missing[{i}]"),
                shebao_domain::text::Text::parse(m, 200),
            )
            .map(|t| t.into_string())
        })
        .collect();
    if !f.is_empty() {
        return Err(f.into_error());
    }
    let scope = staff_scope(&state, &staff).await?;
    let actor = (
        ActorKind::Staff,
        staff.id.to_string(),
        staff.role.as_str().to_owned(),
    );
    let loaded = move_application(
        &req,
        &state,
        id,
        domain_status(b.to),
        Mover::Staff,
        actor,
        note,
        missing,
        scope,
    )
    .await?;
    Ok(HttpResponse::Ok().json(dto::StaffApplicationView {
        person_id: loaded.app.person_id,
        application: view(loaded),
    }))
}

/// Sets a region's service parameters from `year` on (admins): the monthly unemployment
/// benefit that approvals record.
#[utoipa::path(put, operation_id = "put_service_parameters", path = "/v1/staff/regions/{code}/service-parameters/{year}", tag = "applications", request_body = dto::ServiceParametersRequest,
    params(("code" = String, Path, description = "6-digit region code"), ("year" = i32, Path, description = "From this year on", minimum = 2000, maximum = 2100)),
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "Stored", body = dto::ServiceParametersView),
        (status = 404, description = "No such region", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A value is invalid", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Staff>))]
#[put("/v1/staff/regions/{code}/service-parameters/{year}")]
pub async fn put_service_parameters(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<(String, String)>,
    body: Json<dto::ServiceParametersRequest>,
) -> Result<HttpResponse, ApiError> {
    staff.require(&[StaffRole::Admin])?;
    let (code, year) = path.into_inner();
    let code = RegionCode::parse(&code).map_err(|_| ApiError::NotFound("region"))?;
    let year: i32 = year
        .parse()
        .ok()
        .filter(|y| (2000..=2100).contains(y))
        .ok_or_else(|| {
            field_error_of(
                "year",
                Issue::Value(shebao_domain::ValueError::Range {
                    min: 2000,
                    max: 2100,
                }),
            )
        })?;
    let amount = body.0.unemployment_benefit_monthly_fen;
    if amount < 1 {
        return Err(field_error_of(
            "unemployment_benefit_monthly_fen",
            Issue::Value(shebao_domain::ValueError::Range {
                min: 1,
                max: i64::MAX,
            }),
        ));
    }
    let now = state.now().naive_utc();
    let entry = Audit::of(&req).staff(
        &staff,
        "region.service_parameters",
        "region",
        code.as_str().to_owned(),
    );
    let region = code.clone();
    let found = state
        .db
        .transaction(move |c| {
            if !regions::exists(c, &region)? {
                return Ok(false);
            }
            effects::set_service_parameters(c, region.as_str(), year, amount, now)?;
            audit::record(c, &entry, now)?;
            Ok(true)
        })
        .await?;
    if !found {
        return Err(ApiError::NotFound("region"));
    }
    Ok(HttpResponse::Ok().json(dto::ServiceParametersView {
        region: code.as_str().to_owned(),
        year,
        unemployment_benefit_monthly_fen: amount,
    }))
}

// ---------------------------------------------------------------------------------------------
// Views used by the records' routes

pub fn award_view(a: effects::Award) -> dto::BenefitAward {
    dto::BenefitAward {
        application_id: a.application_id,
        kind: a.kind,
        monthly_amount_fen: a.monthly_amount_fen,
        months: a.months,
        starts: a.starts,
        granted_at: utc(a.created_at),
    }
}

pub fn filing_view(f: effects::Filing) -> dto::MedicalFilingView {
    dto::MedicalFilingView {
        application_id: f.application_id,
        region: f.region_code,
        reason: f.reason,
        from: f.starts,
        to: f.ends,
    }
}

// ---------------------------------------------------------------------------------------------
// Social assistance: eligibility before applying, and the thresholds

/// For each programme the person's region runs (`minimum_living` 低保, `medical_assistance`
/// 医疗救助, `temporary_assistance` 临时救助, `extreme_poverty` 特困供养): whether the household
/// qualifies, criterion by criterion with the figures, what it would pay, and whether the person
/// receives it already (nothing is paid twice). Thresholds are the region's for this year.
#[utoipa::path(post, operation_id = "assistance_eligibility", path = "/v1/me/assistance/eligibility", tag = "applications", request_body = dto::EligibilityRequest, security(("person_bearer" = [])),
    responses(
        (status = 200, description = "One answer per programme the region runs (none: it runs none)", body = dto::EligibilityView),
        (status = 422, description = "The household is invalid (one `self`, 1–20 members, no negative amounts)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<BoundPerson>))]
#[post("/v1/me/assistance/eligibility")]
pub async fn assistance_eligibility(
    state: web::Data<AppState>,
    person: BoundPerson,
    body: Json<dto::EligibilityRequest>,
) -> Result<HttpResponse, ApiError> {
    let h = household(body.0.household, "household")?;
    let pid = person.person_id;
    let year = person.today(state.now()).year();
    let (row, awards) = state
        .db
        .read(move |c| {
            let p = persons::get(c, pid)?.ok_or(StoreError::NotFound)?;
            Ok((
                effects::assistance_thresholds(c, p.region.as_str(), year)?,
                effects::awards_of(c, pid)?,
            ))
        })
        .await?;
    let items = match row {
        None => Vec::new(),
        Some(row) => Programme::ALL
            .into_iter()
            .map(|p| {
                let a = assistance::assess(p, &h, &row.thresholds());
                dto::ProgrammeEligibility {
                    programme: wire_programme(p),
                    eligible: a.eligible,
                    criteria: a
                        .criteria
                        .iter()
                        .map(|c| dto::CriterionView {
                            name: c.name.to_owned(),
                            comparison: match c.comparison {
                                assistance::Comparison::Below => dto::Comparison::Below,
                                assistance::Comparison::AtMost => dto::Comparison::AtMost,
                                assistance::Comparison::AtLeast => dto::Comparison::AtLeast,
                            },
                            required: c.required,
                            actual: c.actual,
                            met: c.met,
                        })
                        .collect(),
                    monthly_amount_fen: a.monthly_amount.0,
                    months: a.months,
                    already_receiving: awards.iter().any(|w| w.kind == p.as_str()),
                }
            })
            .collect(),
    };
    Ok(HttpResponse::Ok().json(dto::EligibilityView { items }))
}

/// Sets a region's social-assistance thresholds from `year` on (admins).
#[utoipa::path(put, operation_id = "put_assistance_thresholds", path = "/v1/staff/regions/{code}/assistance-thresholds/{year}", tag = "applications", request_body = dto::AssistanceThresholds,
    params(("code" = String, Path, description = "6-digit region code"), ("year" = i32, Path, description = "From this year on", minimum = 2000, maximum = 2100)),
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "Stored", body = dto::AssistanceThresholds),
        (status = 404, description = "No such region", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A value is invalid", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Staff>))]
#[put("/v1/staff/regions/{code}/assistance-thresholds/{year}")]
pub async fn put_assistance_thresholds(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<(String, String)>,
    body: Json<dto::AssistanceThresholds>,
) -> Result<HttpResponse, ApiError> {
    staff.require(&[StaffRole::Admin])?;
    let (code, year) = path.into_inner();
    let code = RegionCode::parse(&code).map_err(|_| ApiError::NotFound("region"))?;
    let year = path_year(&year)?;
    let b = body.0;
    let mut f = crate::error::Fields::new();
    let range = |min: i64, max: i64| Issue::Value(shebao_domain::ValueError::Range { min, max });
    if b.minimum_living_monthly_fen < 1 {
        f.add("minimum_living_monthly_fen", range(1, i64::MAX));
    }
    if !(10_000..=30_000).contains(&b.low_income_bp) {
        f.add("low_income_bp", range(10_000, 30_000));
    }
    for (name, v) in [
        ("assets_per_person_limit_fen", b.assets_per_person_limit_fen),
        ("medical_costs_threshold_fen", b.medical_costs_threshold_fen),
        (
            "temporary_costs_threshold_fen",
            b.temporary_costs_threshold_fen,
        ),
        ("extreme_poverty_monthly_fen", b.extreme_poverty_monthly_fen),
        (
            "medical_assistance_monthly_fen",
            b.medical_assistance_monthly_fen,
        ),
        (
            "temporary_assistance_once_fen",
            b.temporary_assistance_once_fen,
        ),
    ] {
        if v < 0 {
            f.add(name, range(0, i64::MAX));
        }
    }
    if !f.is_empty() {
        return Err(f.into_error());
    }
    let row = effects::AssistanceRow {
        year,
        minimum_living_monthly_fen: b.minimum_living_monthly_fen,
        low_income_bp: b.low_income_bp,
        assets_per_person_limit_fen: b.assets_per_person_limit_fen,
        medical_costs_threshold_fen: b.medical_costs_threshold_fen,
        temporary_costs_threshold_fen: b.temporary_costs_threshold_fen,
        extreme_poverty_monthly_fen: b.extreme_poverty_monthly_fen,
        medical_assistance_monthly_fen: b.medical_assistance_monthly_fen,
        temporary_assistance_once_fen: b.temporary_assistance_once_fen,
    };
    let now = state.now().naive_utc();
    let entry = Audit::of(&req).staff(
        &staff,
        "region.assistance_thresholds",
        "region",
        code.as_str().to_owned(),
    );
    let region = code.clone();
    let found = state
        .db
        .transaction(move |c| {
            if !regions::exists(c, &region)? {
                return Ok(false);
            }
            effects::set_assistance_thresholds(c, region.as_str(), &row, now)?;
            audit::record(c, &entry, now)?;
            Ok(true)
        })
        .await?;
    if !found {
        return Err(ApiError::NotFound("region"));
    }
    Ok(HttpResponse::Ok().json(b))
}

fn path_year(raw: &str) -> Result<i32, ApiError> {
    raw.parse()
        .ok()
        .filter(|y| (2000..=2100).contains(y))
        .ok_or_else(|| {
            field_error_of(
                "year",
                Issue::Value(shebao_domain::ValueError::Range {
                    min: 2000,
                    max: 2100,
                }),
            )
        })
}

// ---------------------------------------------------------------------------------------------
// A relative confirming a pensioner's qualification check

/// The qualification checks this account may confirm for a pensioner who named its phone,
/// with their timelines. Any signed-in account (a relative need not be insured here).
#[utoipa::path(get, operation_id = "list_assisted_qualifications", path = "/v1/me/assisted-qualifications", tag = "applications", params(PageQuery), security(("person_bearer" = [])),
    responses(
        (status = 200, description = "A page of them, newest first", body = dto::ApplicationList),
        (status = 422, description = "`limit` or `cursor` invalid", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Person>))]
#[get("/v1/me/assisted-qualifications")]
pub async fn list_assisted(
    state: web::Data<AppState>,
    person: Person,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = PageRequest::parse(&query.into_inner())?;
    let account = person.account_id;
    let list = state
        .db
        .read(move |c| {
            let Some(hash) = store::phone_hash_of_account(c, account)? else {
                return Ok(Page {
                    items: Vec::new(),
                    next: None,
                });
            };
            store::delegated_to(c, &hash, page.after.as_deref(), page.limit)
        })
        .await?;
    Ok(HttpResponse::Ok().json(dto::ApplicationList {
        next_cursor: list.next.as_deref().map(cursor::encode),
        items: list.items.into_iter().map(summary).collect(),
    }))
}

/// The relative's account confirms, with a step-up, that the pensioner who named its phone is
/// alive. The step shows in both timelines (role `relative`); a caseworker then approves. Any
/// other account gets 404, as if the application did not exist.
#[utoipa::path(post, operation_id = "confirm_assisted_qualification", path = "/v1/me/assisted-qualifications/{id}/confirm", tag = "applications",
    params(("id" = Uuid, Path, description = "The pensioner's qualification application")), security(("person_bearer" = [])),
    responses(
        (status = 200, description = "Confirmed (again: unchanged)", body = dto::ApplicationView),
        (status = 404, description = "No application this account may confirm", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Decided or withdrawn (`invalid_transition`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<(Person, problems::StepUpRequired)>))]
#[post("/v1/me/assisted-qualifications/{id}/confirm")]
pub async fn confirm_assisted(
    req: HttpRequest,
    state: web::Data<AppState>,
    person: Person,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    person.require_step_up(state.now().timestamp())?;
    let id = application_id(&path.into_inner())?;
    let account = person.account_id;
    let now = state.now().naive_utc();
    let mut entry = Audit::of(&req).entry(
        ActorKind::Person,
        Some(account.to_string()),
        "application.relative_confirm",
        "success",
    );
    entry.subject_kind = Some("application");
    entry.subject_id = Some(id.to_string());
    let outcome = state
        .db
        .transaction(move |c| {
            let not_found = || Ok(Err(ApiError::NotFound("application")));
            let (Some(app), Some(mine)) = (
                store::get(c, id)?,
                store::phone_hash_of_account(c, account)?,
            ) else {
                return not_found();
            };
            match store::delegate_of(c, id)? {
                Some((hash, _)) if hash == mine => {}
                _ => return not_found(),
            }
            if !app.status.is_open() {
                return Ok(Err(ApiError::With {
                    code: ErrorCode::InvalidTransition,
                    args: vec![
                        ("from", app.status.as_str().to_owned()),
                        ("to", app.status.as_str().to_owned()),
                    ],
                }));
            }
            if store::confirm_by_relative(
                c,
                &app,
                account,
                "亲属确认本人健在 / confirmed alive by the relative",
                now,
            )? {
                audit::record(c, &entry, now)?;
            }
            Ok(Ok(load(c, id)?.ok_or(StoreError::NotFound)?))
        })
        .await?;
    Ok(HttpResponse::Ok().json(view(outcome?)))
}

/// Where a pensioner's qualification check stands, for the benefits page: `None` for someone
/// without a pension granted through an application.
pub fn pension_qualification(
    awards: &[effects::Award],
    last: Option<NaiveDateTime>,
    today: NaiveDate,
) -> Option<dto::PensionQualification> {
    let granted = awards
        .iter()
        .find(|a| a.kind == "pension")?
        .created_at
        .date();
    let since = last.map(|l| l.date()).unwrap_or(granted).max(granted);
    let q = rules::qualification(since, today);
    let lang = context::lang();
    Some(dto::PensionQualification {
        last_confirmed: last.map(|l| l.date()),
        confirm_by: q.confirm_by,
        suspended: q.suspended,
        reason: q.suspended.then(|| {
            lang.pick(
                "超过 12 个月未完成养老待遇资格认证，养老金暂停发放；完成认证（qualification 申请）后恢复。",
                "No qualification check for over 12 months: the pension is suspended until one is approved (a qualification application).",
            )
            .to_owned()
        }),
    })
}
