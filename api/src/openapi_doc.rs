//! The OpenAPI document: every handler's path, the shared schemas and the common error
//! responses. `shebao openapi` writes it to `openapi/openapi.json`.

use utoipa::openapi::schema::{Object, Schema, SchemaType, Type};
use utoipa::openapi::{OpenApi as Document, RefOr};
use utoipa::{Modify, OpenApi};

use shebao_openapi::document::CommonResponses;

use crate::error::ErrorCode;
use crate::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Shebao API",
        description = "Social security in your pocket: the backend of the phone app for insured persons, and the staff API for caseworkers.\n\nMoney is integer fen (1 yuan = 100 fen) in fields named `…_fen`; months are `YYYY-MM`; times are UTC (RFC 3339). Every error is `application/problem+json` (RFC 9457) with a stable `code`; human text follows `Accept-Language` (Chinese or English).",
        license(name = "Apache-2.0"),
    ),
    servers((url = "/", description = "The server this document was fetched from")),
    paths(
        routes::health::healthz,
        routes::health::readyz,
        routes::staff_auth::login,
        routes::persons::create,
        routes::lookups::search_persons,
        routes::persons::get,
        routes::employers::create,
        routes::lookups::search_employers,
        routes::employers::get,
        routes::regions::list,
        routes::regions::get,
        routes::regions::put_region,
        routes::regions::put_region_year,
        routes::regions::pension_interest,
        routes::imports::import_contributions,
        routes::imports::import_medical_transactions,
        routes::imports::import_benefit_payments,
        routes::auth::sms_codes,
        routes::auth::register,
        routes::auth::login,
        routes::auth::login_mfa,
        routes::auth::refresh,
        routes::auth::logout,
        routes::auth::password_reset,
        routes::me::me,
        routes::me::list_sessions,
        routes::me::delete_session,
        routes::me::totp_start,
        routes::me::totp_confirm,
        routes::me::totp_delete,
        routes::me::step_up,
        routes::me::bind,
        routes::me::get_binding,
        routes::me::delete_binding,
        routes::me::jwks,
        routes::records::list_contributions,
        routes::records::contribution_summary,
        routes::records::pension_account,
        routes::records::medical_account,
        routes::records::medical_transactions,
        routes::records::list_benefits,
        routes::records::access_log,
        routes::records::staff_contributions,
        routes::estimate::pension_estimate,
        routes::estimate::ecard,
        routes::estimate::ecard_verify,
        routes::jobs::list,
        routes::jobs::retry,
        routes::reminders::run_campaign,
        routes::reminders::get_preferences,
        routes::reminders::put_preferences,
        routes::payments::list_payables,
        routes::payments::put_flexible_base,
        routes::payments::add_payee,
        routes::payments::list_payees,
        routes::payments::delete_payee,
        routes::payments::create_payment,
        routes::payments::list_payments,
        routes::payments::get_payment,
        routes::payments::cancel_payment,
        routes::payments::notification,
        routes::payments::run_reconciliation,
        routes::payments::get_reconciliation,
        routes::payments::trial_balance,
        // Benefit payouts (issue 14 §2).
        routes::payouts::get_payout_account,
        routes::payouts::put_payout_account,
        routes::payouts::cancel_payout_account_change,
        routes::payouts::run_payout,
        routes::payouts::list_payout_runs,
        routes::payouts::get_payout_run,
        routes::applications::create_application,
        routes::applications::list_applications,
        routes::applications::get_application,
        routes::applications::withdraw_application,
        routes::applications::resubmit_application,
        routes::applications::add_document,
        routes::applications::staff_list,
        routes::applications::staff_transition,
        routes::applications::put_service_parameters,
        routes::applications::assistance_eligibility,
        routes::applications::put_assistance_thresholds,
        routes::applications::list_assisted,
        routes::applications::confirm_assisted,
        // Feedback and complaints (issue 18).
        routes::feedback::create_feedback,
        routes::feedback::list_feedback,
        routes::feedback::get_feedback,
        routes::feedback::add_message,
        routes::feedback::rate,
        routes::feedback::staff_queue,
        routes::feedback::staff_get,
        routes::feedback::staff_reply,
        routes::feedback::staff_close,
        // Notices (issue 18).
        routes::notices::create,
        routes::notices::list,
        routes::notices::get,
        routes::notices::audience_size,
        routes::notices::send_sms,
        routes::notices::list_mine,
        routes::notices::mark_read,
        // Designated institutions and appointments (issue 18).
        routes::imports::import_institutions,
        routes::institutions::list_institutions,
        routes::institutions::get_institution,
        routes::institutions::create_slot,
        routes::institutions::list_slots,
        routes::appointments::book,
        routes::appointments::list,
        routes::appointments::cancel,
        // Contribution certificates (issue 14 part 3).
        routes::certificates::issue_certificate,
        routes::certificates::list_certificates,
        routes::certificates::certificate_pdf,
        routes::certificates::revoke_certificate,
        routes::certificates::verify_certificate,
        // Family and proxy access (issue 14 part 1).
        routes::proxies::create_proxy,
        routes::proxies::list_proxies,
        routes::proxies::revoke_proxy,
        routes::proxies::create_proxy_token,
        routes::proxies::list_proxy_invitations,
        routes::proxies::accept_proxy_invitation,
        routes::proxies::list_proxy_activity,
        routes::proxies::create_proxy_request,
        routes::proxies::confirm_proxy_request,
    ),
    components(schemas(shebao_openapi::Problem, shebao_openapi::FieldError)),
    modifiers(&CommonResponses, &ProblemCodes),
    tags(
        (name = "operations", description = "Health and readiness for operators (metrics are served on a listener of their own, SHEBAO_METRICS_LISTEN)"),
        (name = "staff", description = "The agency's staff: registry of regions, employers and insured persons"),
        (name = "identity", description = "The phone app: SMS codes, registration, sign-in with TOTP, token refresh"),
        (name = "records", description = "The person's records: contributions, accounts, benefits, who looked at them"),
        (name = "payments", description = "Paying premiums: what is owed, payees, orders through the payment gateway and its notifications"),
        (name = "payouts", description = "Benefit payouts (待遇发放): the person's payout account (a UnionPay card or a digital wallet, masked; a change waits out a cooling period and is texted at once) and the staff's monthly payout runs through the gateway's transfer operation"),
        (name = "applications", description = "Applications (业务办理) with a timeline: unemployment benefit, retirement, transfer between regions, medical filing elsewhere; the staff review them and the decision changes the records"),
        (name = "feedback", description = "Feedback and complaints (监督投诉): the person's threads with the agency; the staff's queue (overdue after five working days), replies and closing"),
        (name = "proxies", description = "Family and proxy access (亲情代办): a person lets a relative's account act for them within scopes (read records, pay premiums, apply), by invitation or by an SMS code read aloud; the relative takes short tokens acting for the person; the person sees every action and can revoke at once"),
        (name = "me", description = "The signed-in person's account: sessions, TOTP, step-up, binding the ID card"),
        (name = "notices", description = "Personalised notices (policy, jobs, training, services): the staff publish them with an audience rule, count the audience and send them by SMS; the person reads those meant for them"),
        (name = "certificates", description = "The contribution certificate (参保证明): the person issues a PDF of their months and totals for a period, downloads, lists and revokes it; anyone verifies it by the URL in its QR code (a token signed with the key of /.well-known/jwks.json) and a copy's SHA-256"),
        (name = "institutions", description = "Designated hospitals and pharmacies (医保定点) near a point, with whether the caller's insurance covers them; appointment slots and the person's appointments (预约挂号), never overbooked"),
    )
)]
pub struct ApiDoc;

/// Lists the catalogue's codes as the `ProblemCode` enum and makes `Problem.code` one of them.
struct ProblemCodes;

impl Modify for ProblemCodes {
    fn modify(&self, openapi: &mut Document) {
        let codes = ErrorCode::ALL.iter().map(|c| c.code());
        let mut schema = Object::with_type(SchemaType::Type(Type::String));
        schema.enum_values = Some(codes.map(Into::into).collect());
        schema.description =
            Some("Every problem code the API answers with (`error/catalogue.rs`).".to_owned());
        let components = openapi.components.get_or_insert_with(Default::default);
        components
            .schemas
            .insert("ProblemCode".to_owned(), RefOr::T(Schema::Object(schema)));
        if let Some(RefOr::T(Schema::Object(problem))) = components.schemas.get_mut("Problem") {
            problem.properties.insert(
                "code".to_owned(),
                RefOr::Ref(utoipa::openapi::Ref::from_schema_name("ProblemCode")),
            );
        }
    }
}

/// The document as served and as committed: pretty JSON with a trailing newline.
pub fn render() -> String {
    let mut s = ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}
