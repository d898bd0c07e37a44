-- Feedback and complaints (issue 18, 监督投诉): a person's threads with the agency and their
-- messages.

-- One thread. `region_code` is the person's region when they wrote: a caseworker with a region
-- sees that region's threads. `related_kind` / `related_id` name what the thread is about
-- (`application`, `payment` or `institution`), if anything. `waiting_since` is set while the
-- thread waits for the agency (status `open`): from the first message not answered yet.
-- `answered_at` is the agency's first reply, `last_reply_at` its latest. A rating is given once.
-- `activity_key` (last activity, then id) orders the person's list, newest first; `queue_key`
-- (waiting threads oldest first, then answered, then closed) orders the staff queue; both are
-- fixed-width digits and hex, so they sort alike under any collation.
CREATE TABLE feedback_threads (
    id               TEXT PRIMARY KEY,
    person_id        TEXT NOT NULL REFERENCES persons (id),
    region_code      TEXT NOT NULL REFERENCES regions (code),
    kind             TEXT NOT NULL,
    subject          TEXT NOT NULL,
    related_kind     TEXT,
    related_id       TEXT,
    status           TEXT NOT NULL,
    idempotency_key  TEXT,
    request_hash     TEXT,
    waiting_since    TIMESTAMP,
    answered_at      TIMESTAMP,
    last_reply_at    TIMESTAMP,
    closed_at        TIMESTAMP,
    rating_stars     INTEGER,
    rating_comment   TEXT,
    rated_at         TIMESTAMP,
    activity_key     TEXT NOT NULL,
    queue_key        TEXT NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    UNIQUE (person_id, idempotency_key)
);
CREATE INDEX feedback_threads_by_person ON feedback_threads (person_id, activity_key);
CREATE INDEX feedback_threads_queue ON feedback_threads (queue_key);
CREATE INDEX feedback_threads_queue_by_region ON feedback_threads (region_code, queue_key);

-- Every message of a thread: who wrote it (`person`, or the staff member's role, never a name)
-- and the text exactly as written.
CREATE TABLE feedback_messages (
    id           TEXT PRIMARY KEY,
    thread_id    TEXT NOT NULL REFERENCES feedback_threads (id),
    author_role  TEXT NOT NULL,
    body         TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL
);
CREATE INDEX feedback_messages_by_thread ON feedback_messages (thread_id, id);
