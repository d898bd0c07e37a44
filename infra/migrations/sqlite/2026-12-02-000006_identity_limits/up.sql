-- Failure counters of guessable secrets (see the domain's `throttle` module): per phone number
-- or staff username whether or not it has an account (so a lock-out tells nobody which ones
-- exist), per client address, per account at step-up, and per account and per ID number at
-- binding. `scope` names the counter, `subject` what it counts (a blind index, an address, an
-- id). Supersedes `ip_throttle`, which is no longer written.
CREATE TABLE auth_throttle (
    scope            TEXT NOT NULL,
    subject          TEXT NOT NULL,
    failures         INTEGER NOT NULL DEFAULT 0,
    window_started   TIMESTAMP,
    last_failed_at   TIMESTAMP,
    locked_until     TIMESTAMP,
    lockouts         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (scope, subject)
);

-- One row per phone number that asked for a code. Sending takes the row's lock first, so the
-- resend cool-down and the daily cap are checked and the new code recorded by one request at a
-- time, on any number of instances.
CREATE TABLE sms_phone_locks (
    phone_hash   TEXT PRIMARY KEY,
    locked_at    TIMESTAMP NOT NULL
);
