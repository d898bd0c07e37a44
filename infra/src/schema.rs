//! Diesel table definitions, shared by both backends. Kept by hand in step with
//! `migrations/{sqlite,postgres}`; `tests/tests/migrations.rs` checks that the three agree.

diesel::table! {
    regions (code) {
        code -> Text,
        name -> Text,
        time_zone -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        contribution_due_day -> Integer,
        divisor_age_47 -> Integer,
        divisor_fraction -> Text,
    }
}

diesel::table! {
    region_years (region_code, year) {
        region_code -> Text,
        year -> Integer,
        average_monthly_wage_fen -> BigInt,
        base_floor_pct -> Integer,
        base_ceiling_pct -> Integer,
        late_fee_bp_per_day -> Integer,
        pension_employer_bp -> Integer,
        pension_employee_bp -> Integer,
        medical_employer_bp -> Integer,
        medical_employee_bp -> Integer,
        unemployment_employer_bp -> Integer,
        unemployment_employee_bp -> Integer,
        work_injury_employer_bp -> Integer,
        work_injury_employee_bp -> Integer,
        maternity_employer_bp -> Integer,
        maternity_employee_bp -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        personal_account_bp -> Integer,
        flexible_pension_bp -> Integer,
        flexible_pension_personal_bp -> Integer,
        flexible_medical_bp -> Integer,
        resident_medical_premium_fen -> BigInt,
        resident_medical_opens -> Nullable<Date>,
        resident_medical_closes -> Nullable<Date>,
    }
}

diesel::table! {
    employers (id) {
        id -> Text,
        name -> Text,
        credit_code -> Text,
        region_code -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    persons (id) {
        id -> Text,
        national_id_hash -> Text,
        national_id_enc -> Text,
        national_id_masked -> Text,
        name -> Text,
        gender -> Text,
        birth_date -> Date,
        region_code -> Text,
        card_number -> Text,
        medical_category -> Text,
        employment_status -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    staff_accounts (id) {
        id -> Text,
        username -> Text,
        password_hash -> Text,
        role -> Text,
        active -> Integer,
        failed_logins -> Integer,
        locked_until -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        region_code -> Nullable<Text>,
    }
}

diesel::table! {
    contributions (id) {
        id -> Text,
        person_id -> Text,
        employer_id -> Nullable<Text>,
        employer_key -> Text,
        period -> Text,
        insurance -> Text,
        declared_wage_fen -> BigInt,
        base_fen -> BigInt,
        employer_fen -> BigInt,
        employee_fen -> BigInt,
        status -> Text,
        paid_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Text,
        occurred_at -> Timestamp,
        actor_kind -> Text,
        actor_id -> Nullable<Text>,
        action -> Text,
        subject_kind -> Nullable<Text>,
        subject_id -> Nullable<Text>,
        outcome -> Text,
        reason -> Nullable<Text>,
        client_ip -> Nullable<Text>,
        request_id -> Nullable<Text>,
    }
}

diesel::joinable!(region_years -> regions (region_code));
diesel::joinable!(employers -> regions (region_code));
diesel::joinable!(persons -> regions (region_code));
diesel::joinable!(contributions -> persons (person_id));
diesel::joinable!(contributions -> employers (employer_id));

diesel::allow_tables_to_appear_in_same_query!(
    regions,
    region_years,
    employers,
    persons,
    staff_accounts,
    contributions,
    audit_log,
);

diesel::table! {
    accounts (id) {
        id -> Text,
        phone_hash -> Text,
        phone_enc -> Text,
        phone_masked -> Text,
        password_hash -> Nullable<Text>,
        totp_secret_enc -> Nullable<Text>,
        totp_pending_enc -> Nullable<Text>,
        totp_last_step -> Nullable<BigInt>,
        failed_logins -> Integer,
        last_failed_at -> Nullable<Timestamp>,
        locked_until -> Nullable<Timestamp>,
        person_id -> Nullable<Text>,
        bound_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    sms_codes (id) {
        id -> Text,
        phone_hash -> Text,
        purpose -> Text,
        code_hash -> Text,
        client_ip -> Text,
        attempts -> Integer,
        expires_at -> Timestamp,
        consumed_at -> Nullable<Timestamp>,
        send_status -> Text,
        provider_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        account_id -> Text,
        device -> Text,
        client_ip -> Nullable<Text>,
        created_at -> Timestamp,
        last_used_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        revoke_reason -> Nullable<Text>,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Text,
        session_id -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    recovery_codes (id) {
        id -> Text,
        account_id -> Text,
        code_hash -> Text,
        used_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    spent_tokens (jti) {
        jti -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    ip_throttle (client_ip) {
        client_ip -> Text,
        failures -> Integer,
        window_started -> Timestamp,
        locked_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    auth_throttle (scope, subject) {
        scope -> Text,
        subject -> Text,
        failures -> Integer,
        window_started -> Nullable<Timestamp>,
        last_failed_at -> Nullable<Timestamp>,
        locked_until -> Nullable<Timestamp>,
        lockouts -> Integer,
    }
}

diesel::table! {
    sms_phone_locks (phone_hash) {
        phone_hash -> Text,
        locked_at -> Timestamp,
    }
}

diesel::joinable!(accounts -> persons (person_id));
diesel::joinable!(sessions -> accounts (account_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::joinable!(recovery_codes -> accounts (account_id));

diesel::allow_tables_to_appear_in_same_query!(
    accounts,
    sms_codes,
    sessions,
    refresh_tokens,
    recovery_codes,
    spent_tokens,
    ip_throttle,
    persons,
);

diesel::table! {
    medical_transactions (id) {
        id -> Text,
        external_id -> Text,
        person_id -> Text,
        occurred_at -> Timestamp,
        institution_code -> Text,
        institution_name -> Text,
        kind -> Text,
        total_fen -> BigInt,
        account_paid_fen -> BigInt,
        fund_paid_fen -> BigInt,
        self_paid_fen -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    benefit_payments (id) {
        id -> Text,
        external_id -> Text,
        person_id -> Text,
        kind -> Text,
        period -> Text,
        amount_fen -> BigInt,
        paid_at -> Timestamp,
        adjustment_reason -> Nullable<Text>,
        adjustment_delta_fen -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    pension_interest_runs (region_code, year) {
        region_code -> Text,
        year -> Integer,
        rate_bp -> Integer,
        persons -> Integer,
        run_at -> Timestamp,
    }
}

diesel::table! {
    pension_interest_credits (person_id, year) {
        person_id -> Text,
        year -> Integer,
        rate_bp -> Integer,
        interest_fen -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::joinable!(medical_transactions -> persons (person_id));
diesel::joinable!(benefit_payments -> persons (person_id));
diesel::joinable!(pension_interest_credits -> persons (person_id));

diesel::allow_tables_to_appear_in_same_query!(
    medical_transactions,
    benefit_payments,
    pension_interest_runs,
    pension_interest_credits,
    contributions
);

// The per-request session check reads the bound person's region (for its time zone) too.
diesel::allow_tables_to_appear_in_same_query!(regions, accounts);
diesel::allow_tables_to_appear_in_same_query!(regions, sessions);

diesel::table! {
    jobs (id) {
        id -> Text,
        kind -> Text,
        payload -> Text,
        state -> Text,
        run_at -> Timestamp,
        attempts -> Integer,
        max_attempts -> Integer,
        leased_until -> Nullable<Timestamp>,
        lease_owner -> Nullable<Text>,
        last_error -> Nullable<Text>,
        dedupe_key -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    job_schedules (name) {
        name -> Text,
        kind -> Text,
        expression -> Text,
        time_zone -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    job_schedule_slots (schedule_name, slot) {
        schedule_name -> Text,
        slot -> Timestamp,
        job_id -> Text,
        fired_at -> Timestamp,
    }
}

diesel::table! {
    job_probe_runs (id) {
        id -> BigInt,
        job_id -> Text,
        attempt -> Integer,
        worker -> Text,
        started_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
    }
}

// The `due` reminder reads a person's bound account beside the month's contributions.
diesel::allow_tables_to_appear_in_same_query!(accounts, contributions);

diesel::table! {
    flexible_bases (person_id, year) {
        person_id -> Text,
        year -> Integer,
        base_fen -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    payees (id) {
        id -> Text,
        owner_person_id -> Text,
        payee_person_id -> Text,
        relation -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    payments (id) {
        id -> Text,
        person_id -> Text,
        idempotency_key -> Text,
        request_hash -> Text,
        channel -> Text,
        out_trade_no -> Text,
        status -> Text,
        amount_fen -> BigInt,
        items -> Text,
        description -> Text,
        prepay_id -> Nullable<Text>,
        expires_at -> Timestamp,
        transaction_id -> Nullable<Text>,
        paid_at -> Nullable<Timestamp>,
        failure_code -> Nullable<Text>,
        out_refund_no -> Nullable<Text>,
        refund_status -> Nullable<Text>,
        refund_reason -> Nullable<Text>,
        refunded_at -> Nullable<Timestamp>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    payment_claims (claim_key) {
        claim_key -> Text,
        payment_id -> Text,
        settled -> Integer,
        created_at -> Timestamp,
    }
}

diesel::table! {
    payment_events (id) {
        id -> Text,
        payment_id -> Text,
        at -> Timestamp,
        status -> Text,
        detail -> Text,
    }
}

diesel::table! {
    gateway_events (id) {
        id -> Text,
        event_type -> Text,
        received_at -> Timestamp,
    }
}

diesel::table! {
    resident_premiums (person_id, year) {
        person_id -> Text,
        year -> Integer,
        payment_id -> Text,
        amount_fen -> BigInt,
        status -> Text,
        paid_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    ledger_journals (id) {
        id -> Text,
        source -> Text,
        memo -> Text,
        posted_at -> Timestamp,
        reverses -> Nullable<Text>,
    }
}

diesel::table! {
    ledger_entries (id) {
        id -> Text,
        journal_id -> Text,
        account -> Text,
        debit_fen -> BigInt,
        credit_fen -> BigInt,
    }
}

diesel::table! {
    reconciliation_runs (bill_date, channel) {
        bill_date -> Date,
        channel -> Text,
        result -> Text,
        run_at -> Timestamp,
    }
}

diesel::table! {
    notification_preferences (account_id) {
        account_id -> Text,
        due -> Integer,
        arrears -> Integer,
        statement -> Integer,
        resident_window -> Integer,
        updated_at -> Timestamp,
        notices -> Integer,
    }
}

diesel::table! {
    sms_sends (job_id) {
        job_id -> Text,
        campaign -> Text,
        account_id -> Text,
        status -> Text,
        failures -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    sms_daily_counts (phone_hash, local_day) {
        phone_hash -> Text,
        local_day -> Date,
        sent -> Integer,
    }
}

diesel::table! {
    arrears_stretches (person_id, first_period) {
        person_id -> Text,
        first_period -> Text,
        messages -> Integer,
    }
}

diesel::joinable!(ledger_entries -> ledger_journals (journal_id));
diesel::joinable!(payment_claims -> payments (payment_id));
diesel::joinable!(payment_events -> payments (payment_id));
diesel::allow_tables_to_appear_in_same_query!(
    ledger_entries,
    ledger_journals,
    payments,
    payment_claims,
    payment_events,
    payees,
    persons,
    flexible_bases,
    resident_premiums,
);

// The reminder campaigns read preferences, sessions and payees beside accounts and persons.
diesel::allow_tables_to_appear_in_same_query!(accounts, notification_preferences);
diesel::allow_tables_to_appear_in_same_query!(persons, notification_preferences);
diesel::allow_tables_to_appear_in_same_query!(regions, notification_preferences);
diesel::allow_tables_to_appear_in_same_query!(accounts, payees);
diesel::allow_tables_to_appear_in_same_query!(regions, payees);
diesel::allow_tables_to_appear_in_same_query!(regions, resident_premiums);
diesel::allow_tables_to_appear_in_same_query!(accounts, resident_premiums);
diesel::table! {
    applications (id) {
        id -> Text,
        person_id -> Text,
        region_code -> Text,
        kind -> Text,
        status -> Text,
        data -> Text,
        missing -> Text,
        decision -> Nullable<Text>,
        idempotency_key -> Text,
        request_hash -> Text,
        open_kind -> Nullable<Text>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    application_events (id) {
        id -> Text,
        application_id -> Text,
        at -> Timestamp,
        status -> Text,
        actor_role -> Text,
        note -> Nullable<Text>,
    }
}

diesel::table! {
    application_documents (id) {
        id -> Text,
        application_id -> Text,
        media_type -> Text,
        size_bytes -> BigInt,
        sha256 -> Text,
        content -> Binary,
        created_at -> Timestamp,
    }
}

diesel::table! {
    service_parameters (region_code, year) {
        region_code -> Text,
        year -> Integer,
        unemployment_benefit_monthly_fen -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    assistance_thresholds (region_code, year) {
        region_code -> Text,
        year -> Integer,
        minimum_living_monthly_fen -> BigInt,
        low_income_bp -> Integer,
        assets_per_person_limit_fen -> BigInt,
        medical_costs_threshold_fen -> BigInt,
        temporary_costs_threshold_fen -> BigInt,
        extreme_poverty_monthly_fen -> BigInt,
        medical_assistance_monthly_fen -> BigInt,
        temporary_assistance_once_fen -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    benefit_awards (id) {
        id -> Text,
        person_id -> Text,
        application_id -> Text,
        kind -> Text,
        monthly_amount_fen -> BigInt,
        months -> Nullable<Integer>,
        starts -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    region_transfers (id) {
        id -> Text,
        person_id -> Text,
        application_id -> Text,
        from_region -> Text,
        to_region -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    medical_filings (id) {
        id -> Text,
        person_id -> Text,
        application_id -> Text,
        region_code -> Text,
        reason -> Text,
        starts -> Date,
        ends -> Date,
        created_at -> Timestamp,
    }
}

diesel::table! {
    application_delegates (application_id) {
        application_id -> Text,
        phone_hash -> Text,
        relative_account_id -> Nullable<Text>,
        relative_confirmed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    qualification_confirmations (id) {
        id -> Text,
        person_id -> Text,
        application_id -> Text,
        confirmed_by -> Text,
        at -> Timestamp,
    }
}

diesel::joinable!(application_delegates -> applications (application_id));
diesel::joinable!(application_events -> applications (application_id));
diesel::joinable!(application_documents -> applications (application_id));
diesel::allow_tables_to_appear_in_same_query!(
    applications,
    application_events,
    application_documents,
    application_delegates,
    persons,
);

// Feedback and complaints (issue 18).
diesel::table! {
    feedback_threads (id) {
        id -> Text,
        person_id -> Text,
        region_code -> Text,
        kind -> Text,
        subject -> Text,
        related_kind -> Nullable<Text>,
        related_id -> Nullable<Text>,
        status -> Text,
        idempotency_key -> Nullable<Text>,
        request_hash -> Nullable<Text>,
        waiting_since -> Nullable<Timestamp>,
        answered_at -> Nullable<Timestamp>,
        last_reply_at -> Nullable<Timestamp>,
        closed_at -> Nullable<Timestamp>,
        rating_stars -> Nullable<Integer>,
        rating_comment -> Nullable<Text>,
        rated_at -> Nullable<Timestamp>,
        activity_key -> Text,
        queue_key -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    feedback_messages (id) {
        id -> Text,
        thread_id -> Text,
        author_role -> Text,
        body -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(feedback_messages -> feedback_threads (thread_id));
diesel::joinable!(feedback_threads -> regions (region_code));
diesel::allow_tables_to_appear_in_same_query!(feedback_threads, feedback_messages, regions);

// Personalised notices (issue 18).
diesel::table! {
    notices (id) {
        id -> Text,
        kind -> Text,
        title -> Text,
        body -> Text,
        link -> Nullable<Text>,
        audience -> Text,
        region_code -> Nullable<Text>,
        publish_at -> Timestamp,
        expire_at -> Timestamp,
        sms_job_id -> Nullable<Text>,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    notice_reads (person_id, notice_id) {
        person_id -> Text,
        notice_id -> Text,
        read_at -> Timestamp,
    }
}

diesel::joinable!(notice_reads -> notices (notice_id));
diesel::allow_tables_to_appear_in_same_query!(notices, notice_reads);

// Designated institutions, slots and appointments (issue 18).
diesel::table! {
    institutions (code) {
        code -> Text,
        name -> Text,
        kind -> Text,
        level -> Nullable<Integer>,
        region_code -> Text,
        address -> Text,
        phone -> Text,
        lat_e6 -> Integer,
        lon_e6 -> Integer,
        covers_employee -> Bool,
        covers_resident -> Bool,
        departments -> Text,
        accepts_filed_elsewhere -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    institution_departments (institution_code, department) {
        institution_code -> Text,
        department -> Text,
    }
}

diesel::table! {
    institution_slots (id) {
        id -> Text,
        institution_code -> Text,
        department -> Text,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        capacity -> Integer,
        booked -> Integer,
        created_at -> Timestamp,
    }
}

diesel::table! {
    appointments (id) {
        id -> Text,
        person_id -> Text,
        slot_id -> Text,
        status -> Text,
        idempotency_key -> Text,
        request_hash -> Text,
        created_at -> Timestamp,
        cancelled_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(institution_departments -> institutions (institution_code));
diesel::joinable!(institution_slots -> institutions (institution_code));
diesel::joinable!(appointments -> institution_slots (slot_id));
diesel::joinable!(appointments -> persons (person_id));
diesel::joinable!(institutions -> regions (region_code));
diesel::allow_tables_to_appear_in_same_query!(
    institutions,
    institution_departments,
    institution_slots,
    appointments,
);
diesel::allow_tables_to_appear_in_same_query!(institutions, regions);
diesel::allow_tables_to_appear_in_same_query!(appointments, persons);
diesel::allow_tables_to_appear_in_same_query!(appointments, accounts);
diesel::allow_tables_to_appear_in_same_query!(appointments, regions);

diesel::table! {
    certificates (id) {
        id -> Text,
        person_id -> Text,
        kind -> Text,
        period_from -> Text,
        period_to -> Text,
        issued_to -> Text,
        national_id_masked -> Text,
        pdf -> Binary,
        sha256 -> Text,
        issued_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(certificates -> persons (person_id));

// Family and proxy access (issue 14 part 1).
diesel::table! {
    proxy_grants (id) {
        id -> Text,
        principal_account_id -> Text,
        principal_person_id -> Text,
        holder_phone_hash -> Text,
        holder_phone_enc -> Text,
        holder_account_id -> Nullable<Text>,
        relation -> Text,
        scopes -> Text,
        status -> Text,
        origin -> Text,
        expires_at -> Timestamp,
        created_at -> Timestamp,
        accepted_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    proxy_requests (id) {
        id -> Text,
        requester_account_id -> Text,
        person_id -> Nullable<Text>,
        principal_account_id -> Nullable<Text>,
        code_hash -> Nullable<Text>,
        relation -> Text,
        scopes -> Text,
        status -> Text,
        attempts -> Integer,
        code_expires_at -> Timestamp,
        grant_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    proxy_activity (id) {
        id -> Text,
        grant_id -> Text,
        principal_account_id -> Text,
        holder_account_id -> Text,
        method -> Text,
        route -> Text,
        status -> Integer,
        device -> Text,
        client_ip -> Nullable<Text>,
        occurred_at -> Timestamp,
    }
}

diesel::joinable!(proxy_activity -> proxy_grants (grant_id));
diesel::allow_tables_to_appear_in_same_query!(proxy_grants, proxy_activity);
diesel::allow_tables_to_appear_in_same_query!(proxy_grants, persons);
diesel::allow_tables_to_appear_in_same_query!(proxy_grants, accounts);
diesel::allow_tables_to_appear_in_same_query!(proxy_grants, regions);
diesel::allow_tables_to_appear_in_same_query!(proxy_activity, persons);

// Benefit payouts (issue 14 §2).
diesel::table! {
    payout_accounts (id) {
        id -> Text,
        person_id -> Text,
        kind -> Text,
        institution -> Text,
        number_enc -> Text,
        number_masked -> Text,
        created_at -> Timestamp,
        effective_at -> Timestamp,
        cancelled_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    payout_runs (id) {
        id -> Text,
        period -> Text,
        benefit -> Text,
        started_by -> Text,
        started_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
        entitled -> Integer,
        skipped_no_account -> Integer,
        already_paid -> Integer,
    }
}

diesel::table! {
    payout_items (id) {
        id -> Text,
        run_id -> Text,
        person_id -> Text,
        benefit -> Text,
        period -> Text,
        attempt -> Integer,
        out_bill_no -> Text,
        amount_fen -> BigInt,
        destination_enc -> Text,
        destination_masked -> Text,
        status -> Text,
        fail_reason -> Nullable<Text>,
        transfer_bill_no -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(payout_accounts -> persons (person_id));
diesel::joinable!(payout_items -> payout_runs (run_id));
diesel::joinable!(payout_items -> persons (person_id));
diesel::allow_tables_to_appear_in_same_query!(payout_accounts, persons);
diesel::allow_tables_to_appear_in_same_query!(payout_items, payout_runs, persons);

diesel::table! {
    institutions_version (id) {
        id -> Integer,
        version -> BigInt,
    }
}
diesel::allow_tables_to_appear_in_same_query!(medical_filings, persons);
diesel::allow_tables_to_appear_in_same_query!(medical_filings, regions);
