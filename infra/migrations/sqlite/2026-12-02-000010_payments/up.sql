-- Premium payments (issue 17): what a region charges people who pay their own premiums, the
-- base a flexible-employment person chose, the people an account may pay for, the orders at the
-- payment gateway, the claims that let each payable be paid once, the gateway's events, the
-- double-entry ledger and the reconciliation runs.

ALTER TABLE region_years ADD COLUMN flexible_pension_bp INTEGER NOT NULL DEFAULT 2000;
ALTER TABLE region_years ADD COLUMN flexible_pension_personal_bp INTEGER NOT NULL DEFAULT 800;
ALTER TABLE region_years ADD COLUMN flexible_medical_bp INTEGER NOT NULL DEFAULT 800;
ALTER TABLE region_years ADD COLUMN resident_medical_premium_fen BIGINT NOT NULL DEFAULT 40000;
ALTER TABLE region_years ADD COLUMN resident_medical_opens DATE;
ALTER TABLE region_years ADD COLUMN resident_medical_closes DATE;

-- The base a flexible-employment person pays on in a year (the floor when there is no row).
CREATE TABLE flexible_bases (
    person_id   TEXT NOT NULL REFERENCES persons (id),
    year        INTEGER NOT NULL,
    base_fen    BIGINT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (person_id, year)
);

-- People whose resident premium a person (through their bound account) may pay.
CREATE TABLE payees (
    id               TEXT PRIMARY KEY,
    owner_person_id  TEXT NOT NULL REFERENCES persons (id),
    payee_person_id  TEXT NOT NULL REFERENCES persons (id),
    relation         TEXT NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    UNIQUE (owner_person_id, payee_person_id)
);

-- One order at the gateway. `items` is the JSON of what it pays (recomputed on the server);
-- `request_hash` is what the Idempotency-Key was first used with.
CREATE TABLE payments (
    id                TEXT PRIMARY KEY,
    person_id         TEXT NOT NULL REFERENCES persons (id),
    idempotency_key   TEXT NOT NULL,
    request_hash      TEXT NOT NULL,
    channel           TEXT NOT NULL,
    out_trade_no      TEXT NOT NULL UNIQUE,
    status            TEXT NOT NULL,
    amount_fen        BIGINT NOT NULL,
    items             TEXT NOT NULL,
    description       TEXT NOT NULL,
    prepay_id         TEXT,
    expires_at        TIMESTAMP NOT NULL,
    transaction_id    TEXT,
    paid_at           TIMESTAMP,
    failure_code      TEXT,
    out_refund_no     TEXT UNIQUE,
    refund_status     TEXT,
    refund_reason     TEXT,
    refunded_at       TIMESTAMP,
    version           INTEGER NOT NULL DEFAULT 0,
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL,
    UNIQUE (person_id, idempotency_key)
);
CREATE INDEX payments_person_idx ON payments (person_id, created_at, id);
CREATE INDEX payments_status_idx ON payments (status, expires_at);

-- A payable is claimed by at most one payment: while that payment is open, and for good once
-- the gateway says it was paid. The primary key is what makes "paid at most once" hold.
CREATE TABLE payment_claims (
    claim_key   TEXT PRIMARY KEY,
    payment_id  TEXT NOT NULL REFERENCES payments (id),
    settled     INTEGER NOT NULL DEFAULT 0,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX payment_claims_payment_idx ON payment_claims (payment_id);

-- A payment's timeline.
CREATE TABLE payment_events (
    id          TEXT PRIMARY KEY,
    payment_id  TEXT NOT NULL REFERENCES payments (id),
    at          TIMESTAMP NOT NULL,
    status      TEXT NOT NULL,
    detail      TEXT NOT NULL
);
CREATE INDEX payment_events_payment_idx ON payment_events (payment_id, at, id);

-- Notifications seen (by the gateway's event id): a second delivery changes nothing.
CREATE TABLE gateway_events (
    id           TEXT PRIMARY KEY,
    event_type   TEXT NOT NULL,
    received_at  TIMESTAMP NOT NULL
);

-- Resident medical premiums paid, per covered person and year.
CREATE TABLE resident_premiums (
    person_id   TEXT NOT NULL REFERENCES persons (id),
    year        INTEGER NOT NULL,
    payment_id  TEXT NOT NULL REFERENCES payments (id),
    amount_fen  BIGINT NOT NULL,
    status      TEXT NOT NULL,
    paid_at     TIMESTAMP,
    PRIMARY KEY (person_id, year)
);

-- The ledger: append-only journals of balanced entries in integer fen. `source` names what
-- posted a journal (a payment's confirmation, a refund) and is unique: posting twice is a no-op.
CREATE TABLE ledger_journals (
    id          TEXT PRIMARY KEY,
    source      TEXT NOT NULL UNIQUE,
    memo        TEXT NOT NULL,
    posted_at   TIMESTAMP NOT NULL,
    reverses    TEXT REFERENCES ledger_journals (id)
);
CREATE INDEX ledger_journals_posted_idx ON ledger_journals (posted_at);

CREATE TABLE ledger_entries (
    id          TEXT PRIMARY KEY,
    journal_id  TEXT NOT NULL REFERENCES ledger_journals (id),
    account     TEXT NOT NULL,
    debit_fen   BIGINT NOT NULL CHECK (debit_fen >= 0),
    credit_fen  BIGINT NOT NULL CHECK (credit_fen >= 0)
);
CREATE INDEX ledger_entries_journal_idx ON ledger_entries (journal_id);
CREATE INDEX ledger_entries_account_idx ON ledger_entries (account);

-- The last reconciliation of a day and channel.
CREATE TABLE reconciliation_runs (
    bill_date  DATE NOT NULL,
    channel    TEXT NOT NULL,
    result     TEXT NOT NULL,
    run_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (bill_date, channel)
);
