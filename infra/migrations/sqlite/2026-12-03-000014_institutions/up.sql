-- Designated hospitals and pharmacies, their appointment slots, and appointments (issue 18).

-- A designated institution (医保定点医药机构), keyed by its code. Positions are whole
-- microdegrees (WGS-84): exact to compare and to index. `departments` is the JSON array as
-- imported, for display; `institution_departments` holds the same names one a row, for the
-- department filter and for checking a slot's department.
CREATE TABLE institutions (
    code                     TEXT PRIMARY KEY,
    name                     TEXT NOT NULL,
    kind                     TEXT NOT NULL,
    level                    INTEGER,
    region_code              TEXT NOT NULL REFERENCES regions (code),
    address                  TEXT NOT NULL,
    phone                    TEXT NOT NULL,
    lat_e6                   INTEGER NOT NULL,
    lon_e6                   INTEGER NOT NULL,
    covers_employee          BOOLEAN NOT NULL,
    covers_resident          BOOLEAN NOT NULL,
    departments              TEXT NOT NULL,
    accepts_filed_elsewhere  BOOLEAN NOT NULL,
    created_at               TIMESTAMP NOT NULL,
    updated_at               TIMESTAMP NOT NULL
);
-- The "near me" search reads a bounding box from this index: a range of latitudes, and within
-- it a range of longitudes, with the kind, level and code it filters on and returns (an
-- index-only scan where the visibility map allows).
CREATE INDEX institutions_by_position ON institutions (lat_e6, lon_e6, kind, level, code);

CREATE TABLE institution_departments (
    institution_code  TEXT NOT NULL REFERENCES institutions (code),
    department        TEXT NOT NULL,
    PRIMARY KEY (institution_code, department)
);

-- A slot of a department with `capacity` places; `booked` counts the active appointments and
-- only ever moves by a conditional UPDATE in the booking's or the cancellation's transaction.
CREATE TABLE institution_slots (
    id                TEXT PRIMARY KEY,
    institution_code  TEXT NOT NULL REFERENCES institutions (code),
    department        TEXT NOT NULL,
    starts_at         TIMESTAMP NOT NULL,
    ends_at           TIMESTAMP NOT NULL,
    capacity          INTEGER NOT NULL,
    booked            INTEGER NOT NULL,
    created_at        TIMESTAMP NOT NULL,
    CHECK (booked >= 0 AND booked <= capacity)
);
CREATE INDEX institution_slots_by_start ON institution_slots (institution_code, starts_at, id);

-- A person's appointment in a slot: `booked` or `cancelled`. At most one booked appointment per
-- person and slot (the partial unique index), whatever races.
CREATE TABLE appointments (
    id               TEXT PRIMARY KEY,
    person_id        TEXT NOT NULL REFERENCES persons (id),
    slot_id          TEXT NOT NULL REFERENCES institution_slots (id),
    status           TEXT NOT NULL,
    idempotency_key  TEXT NOT NULL,
    request_hash     TEXT NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    cancelled_at     TIMESTAMP,
    UNIQUE (person_id, idempotency_key)
);
CREATE UNIQUE INDEX appointments_one_active ON appointments (person_id, slot_id) WHERE status = 'booked';
CREATE INDEX appointments_by_person ON appointments (person_id, id);
