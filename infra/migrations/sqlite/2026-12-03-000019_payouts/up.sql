-- Benefit payouts (issue 14 §2, 待遇发放): where a person wants their benefits paid, the staff's
-- monthly payout runs, and each transfer attempt through the payment gateway.

-- A payout account, as set by the person. The number (card or wallet id) is stored only
-- encrypted through the PII vault (`number_enc`) and shown masked (`number_masked`). A change
-- takes effect at `effective_at` (after the cooling period); `cancelled_at` is set when the
-- person cancels a pending change or a newer change replaces it. The account in effect is the
-- newest row not cancelled whose `effective_at` has passed.
CREATE TABLE payout_accounts (
    id             TEXT PRIMARY KEY,
    person_id      TEXT NOT NULL REFERENCES persons (id),
    kind           TEXT NOT NULL,
    institution    TEXT NOT NULL,
    number_enc     TEXT NOT NULL,
    number_masked  TEXT NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    effective_at   TIMESTAMP NOT NULL,
    cancelled_at   TIMESTAMP
);
CREATE INDEX payout_accounts_by_person ON payout_accounts (person_id, effective_at);

-- A payout run, as a staff member started it: its counts are the persons it found entitled,
-- those skipped for want of an account in effect, and those paid by an earlier run already.
CREATE TABLE payout_runs (
    id              TEXT PRIMARY KEY,
    period          TEXT NOT NULL,
    benefit         TEXT NOT NULL,
    started_by      TEXT NOT NULL,
    started_at      TIMESTAMP NOT NULL,
    finished_at     TIMESTAMP,
    entitled        INTEGER NOT NULL,
    skipped_no_account INTEGER NOT NULL,
    already_paid    INTEGER NOT NULL
);
CREATE INDEX payout_runs_by_period ON payout_runs (period, benefit);

-- One transfer attempt to pay `benefit` for `period` to a person. `out_bill_no` is derived from
-- (person, benefit, period, attempt) and written before the gateway is called. A failed attempt
-- is followed by a new one (attempt + 1) in a later run; at most one attempt per (person,
-- benefit, period) is not failed, so a month is paid once.
CREATE TABLE payout_items (
    id                 TEXT PRIMARY KEY,
    run_id             TEXT NOT NULL REFERENCES payout_runs (id),
    person_id          TEXT NOT NULL REFERENCES persons (id),
    benefit            TEXT NOT NULL,
    period             TEXT NOT NULL,
    attempt            INTEGER NOT NULL,
    out_bill_no        TEXT NOT NULL UNIQUE,
    amount_fen         BIGINT NOT NULL,
    destination_enc    TEXT NOT NULL,
    destination_masked TEXT NOT NULL,
    status             TEXT NOT NULL,
    fail_reason        TEXT,
    transfer_bill_no   TEXT,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL,
    UNIQUE (person_id, benefit, period, attempt)
);
CREATE UNIQUE INDEX payout_items_once ON payout_items (person_id, benefit, period)
    WHERE status <> 'failed';
CREATE INDEX payout_items_by_run ON payout_items (run_id, status);
