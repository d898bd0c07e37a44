-- Family and proxy access (issue 14 part 1, 亲情代办): grants a principal gives a relative's
-- account, the assisted requests that become grants by an SMS code, and every request made
-- under a grant.

-- One grant. The relative is named by their account's phone: its blind index finds the
-- invitation, its ciphertext shows it masked to the principal. `holder_account_id` is set when
-- the relative accepts (or at once on the assisted path). `status` is invited | active |
-- revoked; a grant past `expires_at` reads as expired. `scopes` are names separated by spaces.
CREATE TABLE proxy_grants (
    id                    TEXT PRIMARY KEY,
    principal_account_id  TEXT NOT NULL REFERENCES accounts (id),
    principal_person_id   TEXT NOT NULL REFERENCES persons (id),
    holder_phone_hash     TEXT NOT NULL,
    holder_phone_enc      TEXT NOT NULL,
    holder_account_id     TEXT REFERENCES accounts (id),
    relation              TEXT NOT NULL,
    scopes                TEXT NOT NULL,
    status                TEXT NOT NULL,
    origin                TEXT NOT NULL,
    expires_at            TIMESTAMP NOT NULL,
    created_at            TIMESTAMP NOT NULL,
    accepted_at           TIMESTAMP,
    revoked_at            TIMESTAMP
);
CREATE INDEX proxy_grants_by_principal ON proxy_grants (principal_account_id, id);
CREATE INDEX proxy_grants_by_holder_phone ON proxy_grants (holder_phone_hash, id);
CREATE INDEX proxy_grants_by_holder ON proxy_grants (holder_account_id, id);

-- A relative's request for access to a person without a smartphone. `person_id` is the person
-- the national ID and name matched, if any (the answer is the same either way); the code went
-- to that person's bound phone and is stored hashed. `status` is pending | confirmed | failed.
CREATE TABLE proxy_requests (
    id                    TEXT PRIMARY KEY,
    requester_account_id  TEXT NOT NULL REFERENCES accounts (id),
    person_id             TEXT REFERENCES persons (id),
    principal_account_id  TEXT REFERENCES accounts (id),
    code_hash             TEXT,
    relation              TEXT NOT NULL,
    scopes                TEXT NOT NULL,
    status                TEXT NOT NULL,
    attempts              INTEGER NOT NULL,
    code_expires_at       TIMESTAMP NOT NULL,
    grant_id              TEXT,
    created_at            TIMESTAMP NOT NULL
);
CREATE INDEX proxy_requests_by_requester ON proxy_requests (requester_account_id, created_at);

-- Every request made with a proxy token: who (the relative's account), for whom, what (method
-- and route pattern), the answer's status, from which device and address, when.
CREATE TABLE proxy_activity (
    id                    TEXT PRIMARY KEY,
    grant_id              TEXT NOT NULL REFERENCES proxy_grants (id),
    principal_account_id  TEXT NOT NULL,
    holder_account_id     TEXT NOT NULL,
    method                TEXT NOT NULL,
    route                 TEXT NOT NULL,
    status                INTEGER NOT NULL,
    device                TEXT NOT NULL,
    client_ip             TEXT,
    occurred_at           TIMESTAMP NOT NULL
);
CREATE INDEX proxy_activity_by_principal ON proxy_activity (principal_account_id, id);
CREATE INDEX proxy_activity_by_holder ON proxy_activity (holder_account_id, id);
