-- A person's records beyond contributions: medical-account spending, benefit payments, the
-- yearly interest of the personal pension account. Rows loaded in bulk carry the sender's
-- external id, so re-sending them changes nothing.

CREATE TABLE medical_transactions (
    id                 TEXT PRIMARY KEY,
    external_id        TEXT NOT NULL UNIQUE,
    person_id          TEXT NOT NULL REFERENCES persons (id),
    occurred_at        TIMESTAMP NOT NULL,
    institution_code   TEXT NOT NULL,
    institution_name   TEXT NOT NULL,
    kind               TEXT NOT NULL,
    total_fen          BIGINT NOT NULL,
    account_paid_fen   BIGINT NOT NULL,
    fund_paid_fen      BIGINT NOT NULL,
    self_paid_fen      BIGINT NOT NULL,
    created_at         TIMESTAMP NOT NULL
);
CREATE INDEX medical_transactions_person_idx ON medical_transactions (person_id, occurred_at, id);

CREATE TABLE benefit_payments (
    id                     TEXT PRIMARY KEY,
    external_id            TEXT NOT NULL UNIQUE,
    person_id              TEXT NOT NULL REFERENCES persons (id),
    kind                   TEXT NOT NULL,
    period                 TEXT NOT NULL,
    amount_fen             BIGINT NOT NULL,
    paid_at                TIMESTAMP NOT NULL,
    adjustment_reason      TEXT,
    adjustment_delta_fen   BIGINT,
    created_at             TIMESTAMP NOT NULL
);
CREATE INDEX benefit_payments_person_idx ON benefit_payments (person_id, kind, period);

-- One run of yearly pension-account interest per region and year.
CREATE TABLE pension_interest_runs (
    region_code  TEXT NOT NULL REFERENCES regions (code),
    year         INTEGER NOT NULL,
    rate_bp      INTEGER NOT NULL,
    persons      INTEGER NOT NULL,
    run_at       TIMESTAMP NOT NULL,
    PRIMARY KEY (region_code, year)
);

-- The interest credited to each person's pension account for a year.
CREATE TABLE pension_interest_credits (
    person_id     TEXT NOT NULL REFERENCES persons (id),
    year          INTEGER NOT NULL,
    rate_bp       INTEGER NOT NULL,
    interest_fen  BIGINT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (person_id, year)
);
