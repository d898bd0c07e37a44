-- Personalised notices (issue 18): what the staff publish, to whom (the audience rule, kept as
-- JSON text and applied by the service on the day it is read), when it shows; which persons
-- have read which; and whether an account hears of notices by SMS.

CREATE TABLE notices (
    id           TEXT PRIMARY KEY NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('policy', 'job', 'training', 'service')),
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    link         TEXT,
    audience     TEXT NOT NULL,
    -- The one region the rule names, when it names exactly one: a caseworker's scope.
    region_code  TEXT REFERENCES regions (code),
    publish_at   TIMESTAMP NOT NULL,
    expire_at    TIMESTAMP NOT NULL,
    -- The job that sends the notice by SMS, once asked for.
    sms_job_id   TEXT,
    created_by   TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    CHECK (expire_at > publish_at)
);
-- The person's list: published notices, newest first.
CREATE INDEX notices_published_idx ON notices (publish_at, id);
-- The staff's lists: newest first, all or a region's.
CREATE INDEX notices_region_idx ON notices (region_code, id);

CREATE TABLE notice_reads (
    person_id  TEXT NOT NULL REFERENCES persons (id),
    notice_id  TEXT NOT NULL REFERENCES notices (id),
    read_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (person_id, notice_id)
);

-- No row, or 1: the account hears of notices by SMS.
ALTER TABLE notification_preferences ADD COLUMN notices INTEGER NOT NULL DEFAULT 1;

-- The audience query (see bench/notices.sh). Job and training notices are for the unemployed
-- (or another status) of some regions and ages: this index answers those, and gives the ids a
-- look into the person's months or benefits needs, without reading the table.
CREATE INDEX persons_audience_idx ON persons (employment_status, region_code, birth_date, id);
-- Rules by age alone (policy notices for pensioners, for the young): a range of birth dates.
CREATE INDEX persons_birth_idx ON persons (birth_date, id);
-- Whether a person has a month in arrears: only unpaid months can be, and they are few.
CREATE INDEX contributions_unpaid_idx ON contributions (person_id, period)
    WHERE status IN ('due', 'arrears');
-- Whether a person receives a benefit: a payment of this month or the last.
CREATE INDEX benefit_payments_recent_idx ON benefit_payments (period, kind, person_id);
