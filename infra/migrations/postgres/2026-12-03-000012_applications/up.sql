-- Applications (issue 11): what a person applies for, its timeline and documents; the staff's
-- region; the regions' service parameters; and what approval writes into the records.

-- A caseworker with a region sees and decides only that region's applications.
ALTER TABLE staff_accounts ADD COLUMN region_code TEXT;

-- One application. `open_kind` is the kind while the application is open and NULL once it is
-- decided or withdrawn: the unique index keeps one open application per person and kind, even
-- under concurrent submissions. `version` grows with every transition (optimistic concurrency).
CREATE TABLE applications (
    id               TEXT PRIMARY KEY,
    person_id        TEXT NOT NULL REFERENCES persons (id),
    region_code      TEXT NOT NULL REFERENCES regions (code),
    kind             TEXT NOT NULL,
    status           TEXT NOT NULL,
    data             TEXT NOT NULL,
    missing          TEXT NOT NULL,
    decision         TEXT,
    idempotency_key  TEXT NOT NULL,
    request_hash     TEXT NOT NULL,
    open_kind        TEXT,
    version          INTEGER NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    UNIQUE (person_id, idempotency_key),
    UNIQUE (person_id, open_kind)
);
CREATE INDEX applications_by_person ON applications (person_id, id);
CREATE INDEX applications_by_status ON applications (status, id);

-- Every status an application took: who moved it (a role, never a name) and their note.
CREATE TABLE application_events (
    id              TEXT PRIMARY KEY,
    application_id  TEXT NOT NULL REFERENCES applications (id),
    at              TIMESTAMP NOT NULL,
    status          TEXT NOT NULL,
    actor_role      TEXT NOT NULL,
    note            TEXT
);
CREATE INDEX application_events_by_application ON application_events (application_id, id);

-- Documents the person attached: type by content, SHA-256 of the bytes.
CREATE TABLE application_documents (
    id              TEXT PRIMARY KEY,
    application_id  TEXT NOT NULL REFERENCES applications (id),
    media_type      TEXT NOT NULL,
    size_bytes      BIGINT NOT NULL,
    sha256          TEXT NOT NULL,
    content         BYTEA NOT NULL,
    created_at      TIMESTAMP NOT NULL
);
CREATE INDEX application_documents_by_application ON application_documents (application_id, id);

-- Per region and year: the monthly unemployment benefit (an admin parameter).
CREATE TABLE service_parameters (
    region_code                       TEXT NOT NULL REFERENCES regions (code),
    year                              INTEGER NOT NULL,
    unemployment_benefit_monthly_fen  BIGINT NOT NULL,
    created_at                        TIMESTAMP NOT NULL,
    updated_at                        TIMESTAMP NOT NULL,
    PRIMARY KEY (region_code, year)
);

-- Per region and year: the social-assistance thresholds and amounts (admin parameters).
CREATE TABLE assistance_thresholds (
    region_code                  TEXT NOT NULL REFERENCES regions (code),
    year                         INTEGER NOT NULL,
    minimum_living_monthly_fen   BIGINT NOT NULL,
    low_income_bp                INTEGER NOT NULL,
    assets_per_person_limit_fen  BIGINT NOT NULL,
    medical_costs_threshold_fen  BIGINT NOT NULL,
    temporary_costs_threshold_fen BIGINT NOT NULL,
    extreme_poverty_monthly_fen  BIGINT NOT NULL,
    medical_assistance_monthly_fen BIGINT NOT NULL,
    temporary_assistance_once_fen BIGINT NOT NULL,
    created_at                   TIMESTAMP NOT NULL,
    updated_at                   TIMESTAMP NOT NULL,
    PRIMARY KEY (region_code, year)
);

-- Benefits granted by an approved application (unemployment benefit, pension, assistance).
CREATE TABLE benefit_awards (
    id                  TEXT PRIMARY KEY,
    person_id           TEXT NOT NULL REFERENCES persons (id),
    application_id      TEXT NOT NULL REFERENCES applications (id),
    kind                TEXT NOT NULL,
    monthly_amount_fen  BIGINT NOT NULL,
    months              INTEGER,
    starts              TEXT NOT NULL,
    created_at          TIMESTAMP NOT NULL
);
CREATE INDEX benefit_awards_by_person ON benefit_awards (person_id, id);

-- A person's records moved to another region (社保转移接续).
CREATE TABLE region_transfers (
    id              TEXT PRIMARY KEY,
    person_id       TEXT NOT NULL REFERENCES persons (id),
    application_id  TEXT NOT NULL REFERENCES applications (id),
    from_region     TEXT NOT NULL,
    to_region       TEXT NOT NULL,
    at              TIMESTAMP NOT NULL
);
CREATE INDEX region_transfers_by_person ON region_transfers (person_id, id);

-- Medical treatment filed for another region (异地就医备案).
CREATE TABLE medical_filings (
    id              TEXT PRIMARY KEY,
    person_id       TEXT NOT NULL REFERENCES persons (id),
    application_id  TEXT NOT NULL REFERENCES applications (id),
    region_code     TEXT NOT NULL REFERENCES regions (code),
    reason          TEXT NOT NULL,
    starts          DATE NOT NULL,
    ends            DATE NOT NULL,
    created_at      TIMESTAMP NOT NULL
);
CREATE INDEX medical_filings_by_person ON medical_filings (person_id, id);

-- A qualification check a pensioner lets a relative confirm: the relative's phone (as its
-- blind index) and when their account confirmed it.
CREATE TABLE application_delegates (
    application_id          TEXT PRIMARY KEY REFERENCES applications (id),
    phone_hash              TEXT NOT NULL,
    relative_account_id     TEXT,
    relative_confirmed_at   TIMESTAMP
);
CREATE INDEX application_delegates_by_phone ON application_delegates (phone_hash);

-- Each approved yearly qualification check (养老待遇资格认证) of a pensioner.
CREATE TABLE qualification_confirmations (
    id              TEXT PRIMARY KEY,
    person_id       TEXT NOT NULL REFERENCES persons (id),
    application_id  TEXT NOT NULL REFERENCES applications (id),
    confirmed_by    TEXT NOT NULL,
    at              TIMESTAMP NOT NULL
);
CREATE INDEX qualification_confirmations_by_person ON qualification_confirmations (person_id, at);
