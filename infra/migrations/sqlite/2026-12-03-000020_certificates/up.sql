-- Contribution certificates (issue 14 part 3, 参保证明). The PDF is made once, when issued, and
-- kept as it was handed out (`pdf`), with its SHA-256 in hex (`sha256`): a holder checks a copy
-- by its hash, and the QR code inside cannot carry the hash of the file it is part of.
-- `issued_to` and `national_id_masked` are the masked name and ID number printed on it (never
-- the clear ID number). `revoked_at` is set once, by the owner. The list reads a person's
-- certificates newest first by id (UUIDv7, time-ordered); the issuing limit counts the last day's.
CREATE TABLE certificates (
    id                 TEXT PRIMARY KEY,
    person_id          TEXT NOT NULL REFERENCES persons (id),
    kind               TEXT NOT NULL,
    period_from        TEXT NOT NULL,
    period_to          TEXT NOT NULL,
    issued_to          TEXT NOT NULL,
    national_id_masked TEXT NOT NULL,
    pdf                BLOB NOT NULL,
    sha256             TEXT NOT NULL,
    issued_at          TIMESTAMP NOT NULL,
    expires_at         TIMESTAMP NOT NULL,
    revoked_at         TIMESTAMP
);
CREATE INDEX certificates_person ON certificates (person_id, id);
CREATE INDEX certificates_person_issued ON certificates (person_id, issued_at);
