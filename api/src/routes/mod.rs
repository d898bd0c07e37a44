//! HTTP handlers, one module per capability.

pub mod applications;
pub mod appointments;
pub mod auth;
pub mod certificates;
pub mod employers;
pub mod estimate;
pub mod fallback;
pub mod feedback;
pub mod health;
pub mod imports;
pub mod institutions;
pub mod jobs;
pub mod lookups;
pub mod me;
pub mod notices;
pub mod payments;
pub mod payouts;
pub mod persons;
pub mod proxies;
pub mod records;
pub mod regions;
pub mod reminders;
pub mod staff_auth;

use actix_web::web;

/// Registers every route of the public listener. Paths here and in `openapi_doc::ApiDoc` are
/// the same list; `/metrics` has a listener of its own (`SHEBAO_METRICS_LISTEN`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(health::healthz)
        .service(health::readyz)
        .service(staff_auth::login)
        .service(persons::create)
        .service(lookups::search_persons)
        .service(persons::get)
        .service(employers::create)
        .service(lookups::search_employers)
        .service(employers::get)
        .service(regions::list)
        .service(regions::get)
        .service(regions::put_region)
        .service(regions::put_region_year)
        .service(regions::pension_interest)
        .service(imports::import_contributions)
        .service(imports::import_medical_transactions)
        .service(imports::import_benefit_payments)
        .service(auth::sms_codes)
        .service(auth::register)
        .service(auth::login)
        .service(auth::login_mfa)
        .service(auth::refresh)
        .service(auth::logout)
        .service(auth::password_reset)
        .service(me::me)
        .service(me::list_sessions)
        .service(me::delete_session)
        .service(me::totp_start)
        .service(me::totp_confirm)
        .service(me::totp_delete)
        .service(me::step_up)
        .service(me::bind)
        .service(me::get_binding)
        .service(me::delete_binding)
        .service(me::jwks)
        .service(records::list_contributions)
        .service(records::contribution_summary)
        .service(records::pension_account)
        .service(records::medical_account)
        .service(records::medical_transactions)
        .service(records::list_benefits)
        .service(records::access_log)
        .service(records::staff_contributions)
        .service(estimate::pension_estimate)
        .service(estimate::ecard)
        .service(estimate::ecard_verify)
        .service(jobs::list)
        .service(jobs::retry)
        .service(reminders::run_campaign)
        .service(reminders::get_preferences)
        .service(reminders::put_preferences)
        .service(payments::list_payables)
        .service(payments::put_flexible_base)
        .service(payments::add_payee)
        .service(payments::list_payees)
        .service(payments::delete_payee)
        .service(payments::create_payment)
        .service(payments::list_payments)
        .service(payments::get_payment)
        .service(payments::cancel_payment)
        .service(payments::notification)
        .service(payments::run_reconciliation)
        .service(payments::get_reconciliation)
        .service(payments::trial_balance)
        // Benefit payouts (issue 14 §2).
        .service(payouts::get_payout_account)
        .service(payouts::put_payout_account)
        .service(payouts::cancel_payout_account_change)
        .service(payouts::run_payout)
        .service(payouts::list_payout_runs)
        .service(payouts::get_payout_run)
        .service(applications::create_application)
        .service(applications::list_applications)
        .service(applications::get_application)
        .service(applications::withdraw_application)
        .service(applications::resubmit_application)
        .service(applications::add_document)
        .service(applications::staff_list)
        .service(applications::staff_transition)
        .service(applications::put_service_parameters)
        .service(applications::assistance_eligibility)
        .service(applications::put_assistance_thresholds)
        .service(applications::list_assisted)
        .service(applications::confirm_assisted)
        // Feedback and complaints (issue 18).
        .service(feedback::create_feedback)
        .service(feedback::list_feedback)
        .service(feedback::get_feedback)
        .service(feedback::add_message)
        .service(feedback::rate)
        .service(feedback::staff_queue)
        .service(feedback::staff_get)
        .service(feedback::staff_reply)
        .service(feedback::staff_close)
        // Notices (issue 18).
        .service(notices::create)
        .service(notices::list)
        .service(notices::get)
        .service(notices::audience_size)
        .service(notices::send_sms)
        .service(notices::list_mine)
        .service(notices::mark_read)
        // Designated institutions and appointments (issue 18).
        .service(imports::import_institutions)
        .service(institutions::list_institutions)
        .service(institutions::get_institution)
        .service(institutions::create_slot)
        .service(institutions::list_slots)
        .service(appointments::book)
        .service(appointments::list)
        .service(appointments::cancel)
        // Contribution certificates (issue 14 part 3). The PDF's route before anything that
        // could take `{id}.pdf` as an id.
        .service(certificates::issue_certificate)
        .service(certificates::list_certificates)
        .service(certificates::certificate_pdf)
        .service(certificates::revoke_certificate)
        .service(certificates::verify_certificate)
        // Family and proxy access (issue 14 part 1).
        .service(proxies::create_proxy)
        .service(proxies::list_proxies)
        .service(proxies::revoke_proxy)
        .service(proxies::create_proxy_token)
        .service(proxies::list_proxy_invitations)
        .service(proxies::accept_proxy_invitation)
        .service(proxies::list_proxy_activity)
        .service(proxies::create_proxy_request)
        .service(proxies::confirm_proxy_request);
}
