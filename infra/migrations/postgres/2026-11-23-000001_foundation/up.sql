-- Foundation: the registry (regions and their yearly parameters, employers, insured persons),
-- staff accounts, monthly contribution history and the audit log.
-- Portable types only: text ids (UUIDv7), BIGINT fen, INTEGER flags, TIMESTAMP in UTC.

CREATE TABLE regions (
    code        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    time_zone   TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);

CREATE TABLE region_years (
    region_code               TEXT NOT NULL REFERENCES regions (code),
    year                      INTEGER NOT NULL,
    average_monthly_wage_fen  BIGINT NOT NULL,
    base_floor_pct            INTEGER NOT NULL,
    base_ceiling_pct          INTEGER NOT NULL,
    late_fee_bp_per_day       INTEGER NOT NULL,
    pension_employer_bp       INTEGER NOT NULL,
    pension_employee_bp       INTEGER NOT NULL,
    medical_employer_bp       INTEGER NOT NULL,
    medical_employee_bp       INTEGER NOT NULL,
    unemployment_employer_bp  INTEGER NOT NULL,
    unemployment_employee_bp  INTEGER NOT NULL,
    work_injury_employer_bp   INTEGER NOT NULL,
    work_injury_employee_bp   INTEGER NOT NULL,
    maternity_employer_bp     INTEGER NOT NULL,
    maternity_employee_bp     INTEGER NOT NULL,
    created_at                TIMESTAMP NOT NULL,
    updated_at                TIMESTAMP NOT NULL,
    PRIMARY KEY (region_code, year)
);

CREATE TABLE employers (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    credit_code  TEXT NOT NULL UNIQUE,
    region_code  TEXT NOT NULL REFERENCES regions (code),
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);

-- The national ID number is never stored in clear: AES-256-GCM ciphertext, a keyed HMAC
-- (blind index) for look-ups, and the masked form that responses show.
CREATE TABLE persons (
    id                  TEXT PRIMARY KEY,
    national_id_hash    TEXT NOT NULL UNIQUE,
    national_id_enc     TEXT NOT NULL,
    national_id_masked  TEXT NOT NULL,
    name                TEXT NOT NULL,
    gender              TEXT NOT NULL,
    birth_date          DATE NOT NULL,
    region_code         TEXT NOT NULL REFERENCES regions (code),
    card_number         TEXT NOT NULL UNIQUE,
    medical_category    TEXT NOT NULL,
    employment_status   TEXT NOT NULL,
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL
);
CREATE INDEX persons_region_idx ON persons (region_code);

CREATE TABLE staff_accounts (
    id               TEXT PRIMARY KEY,
    username         TEXT NOT NULL UNIQUE,
    password_hash    TEXT NOT NULL,
    role             TEXT NOT NULL,
    active           INTEGER NOT NULL DEFAULT 1,
    failed_logins    INTEGER NOT NULL DEFAULT 0,
    locked_until     TIMESTAMP,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);

-- One row per person, employer (empty string for flexible employment), month and insurance.
CREATE TABLE contributions (
    id                 TEXT PRIMARY KEY,
    person_id          TEXT NOT NULL REFERENCES persons (id),
    employer_id        TEXT REFERENCES employers (id),
    employer_key       TEXT NOT NULL,
    period             TEXT NOT NULL,
    insurance          TEXT NOT NULL,
    declared_wage_fen  BIGINT NOT NULL,
    base_fen           BIGINT NOT NULL,
    employer_fen       BIGINT NOT NULL,
    employee_fen       BIGINT NOT NULL,
    status             TEXT NOT NULL,
    paid_at            TIMESTAMP,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL,
    UNIQUE (person_id, employer_key, period, insurance)
);
CREATE INDEX contributions_person_period_idx ON contributions (person_id, period, insurance);

CREATE TABLE audit_log (
    id            TEXT PRIMARY KEY,
    occurred_at   TIMESTAMP NOT NULL,
    actor_kind    TEXT NOT NULL,
    actor_id      TEXT,
    action        TEXT NOT NULL,
    subject_kind  TEXT,
    subject_id    TEXT,
    outcome       TEXT NOT NULL,
    reason        TEXT,
    client_ip     TEXT,
    request_id    TEXT
);
CREATE INDEX audit_log_subject_idx ON audit_log (subject_kind, subject_id, occurred_at);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_kind, actor_id, occurred_at);
