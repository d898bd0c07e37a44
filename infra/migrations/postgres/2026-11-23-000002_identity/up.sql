-- Identity for the phone app: accounts (a phone number), SMS codes, sessions with rotating
-- refresh tokens, TOTP, recovery codes, single-use token ids, and per-IP sign-in throttling.
-- The phone number is PII like the ID number: encrypted, found by a keyed hash, shown masked.

CREATE TABLE accounts (
    id                   TEXT PRIMARY KEY,
    phone_hash           TEXT NOT NULL UNIQUE,
    phone_enc            TEXT NOT NULL,
    phone_masked         TEXT NOT NULL,
    password_hash        TEXT,
    totp_secret_enc      TEXT,
    totp_pending_enc     TEXT,
    totp_last_step       BIGINT,
    failed_logins        INTEGER NOT NULL DEFAULT 0,
    last_failed_at       TIMESTAMP,
    locked_until         TIMESTAMP,
    person_id            TEXT UNIQUE REFERENCES persons (id),
    bound_at             TIMESTAMP,
    created_at           TIMESTAMP NOT NULL,
    updated_at           TIMESTAMP NOT NULL
);

-- One row per code sent. Counters (cool-down, daily caps) are counted from here, so they hold
-- across instances. `id` is also the SMS message's idempotency key.
CREATE TABLE sms_codes (
    id            TEXT PRIMARY KEY,
    phone_hash    TEXT NOT NULL,
    purpose       TEXT NOT NULL,
    code_hash     TEXT NOT NULL,
    client_ip     TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    expires_at    TIMESTAMP NOT NULL,
    consumed_at   TIMESTAMP,
    send_status   TEXT NOT NULL,
    provider_id   TEXT,
    created_at    TIMESTAMP NOT NULL
);
CREATE INDEX sms_codes_phone_idx ON sms_codes (phone_hash, purpose, created_at);
CREATE INDEX sms_codes_ip_idx ON sms_codes (client_ip, created_at);

CREATE TABLE sessions (
    id             TEXT PRIMARY KEY,
    account_id     TEXT NOT NULL REFERENCES accounts (id),
    device         TEXT NOT NULL,
    client_ip      TEXT,
    created_at     TIMESTAMP NOT NULL,
    last_used_at   TIMESTAMP NOT NULL,
    revoked_at     TIMESTAMP,
    revoke_reason  TEXT
);
CREATE INDEX sessions_account_idx ON sessions (account_id, created_at);

-- Refresh tokens are stored as SHA-256 hashes; a used one presented again revokes its session.
CREATE TABLE refresh_tokens (
    id           TEXT PRIMARY KEY,
    session_id   TEXT NOT NULL REFERENCES sessions (id),
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP NOT NULL,
    used_at      TIMESTAMP
);
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);

CREATE TABLE recovery_codes (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts (id),
    code_hash    TEXT NOT NULL,
    used_at      TIMESTAMP,
    created_at   TIMESTAMP NOT NULL
);
CREATE INDEX recovery_codes_account_idx ON recovery_codes (account_id);

-- Ids of single-use tokens (the MFA token of a sign-in) that have been spent.
CREATE TABLE spent_tokens (
    jti          TEXT PRIMARY KEY,
    expires_at   TIMESTAMP NOT NULL
);

-- Failed sign-ins per client address, in a sliding window.
CREATE TABLE ip_throttle (
    client_ip        TEXT PRIMARY KEY,
    failures         INTEGER NOT NULL,
    window_started   TIMESTAMP NOT NULL,
    locked_until     TIMESTAMP
);
