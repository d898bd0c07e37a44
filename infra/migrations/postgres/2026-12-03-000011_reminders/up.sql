-- Reminder campaigns (issue 10): which campaigns an account hears from, every reminder message
-- sent or being sent (its id, the job's, is written before the provider is called), the
-- per-phone daily cap, and how many arrears messages a stretch of arrears has had.

-- No row: every campaign on.
CREATE TABLE notification_preferences (
    account_id       TEXT PRIMARY KEY NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    due              INTEGER NOT NULL DEFAULT 1,
    arrears          INTEGER NOT NULL DEFAULT 1,
    statement        INTEGER NOT NULL DEFAULT 1,
    resident_window  INTEGER NOT NULL DEFAULT 1,
    updated_at       TIMESTAMP NOT NULL
);

-- One row per SMS job that reached the provider step. `campaign` is a campaign's name or
-- `event`; `failures` counts the provider's refusals and outages (the message may still have
-- gone out on a later try).
CREATE TABLE sms_sends (
    job_id      TEXT PRIMARY KEY NOT NULL,
    campaign    TEXT NOT NULL,
    account_id  TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('sending', 'sent', 'failed')),
    failures    INTEGER NOT NULL DEFAULT 0,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE INDEX sms_sends_campaign_idx ON sms_sends (campaign, status);

-- Reminders counted against a phone on its local day (at most 3).
CREATE TABLE sms_daily_counts (
    phone_hash  TEXT NOT NULL,
    local_day   DATE NOT NULL,
    sent        INTEGER NOT NULL,
    PRIMARY KEY (phone_hash, local_day)
);

-- Arrears messages per person and stretch (named by its oldest unpaid month).
CREATE TABLE arrears_stretches (
    person_id     TEXT NOT NULL,
    first_period  TEXT NOT NULL,
    messages      INTEGER NOT NULL,
    PRIMARY KEY (person_id, first_period)
);
