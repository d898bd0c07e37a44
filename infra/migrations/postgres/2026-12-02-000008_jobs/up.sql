-- Durable jobs: one row per job, claimed by one worker at a time under a lease.
CREATE TABLE jobs (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'dead')),
    run_at TIMESTAMP NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    leased_until TIMESTAMP,
    lease_owner TEXT,
    last_error TEXT,
    dedupe_key TEXT UNIQUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
-- What a worker asks for: due queued jobs, and running jobs whose lease ran out.
CREATE INDEX jobs_state_run_at_idx ON jobs (state, run_at);
CREATE INDEX jobs_state_leased_until_idx ON jobs (state, leased_until);

-- Cron-like schedules, read in their own time zone.
CREATE TABLE job_schedules (
    name TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    expression TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- One row per schedule and slot: whichever instance inserts it fires the slot.
CREATE TABLE job_schedule_slots (
    schedule_name TEXT NOT NULL REFERENCES job_schedules (name) ON DELETE CASCADE,
    slot TIMESTAMP NOT NULL,
    job_id TEXT NOT NULL,
    fired_at TIMESTAMP NOT NULL,
    PRIMARY KEY (schedule_name, slot)
);

-- The built-in `probe` job writes a row per try: operators check the workers with it, and the
-- tests see how often a job really ran.
CREATE TABLE job_probe_runs (
    id BIGSERIAL PRIMARY KEY,
    job_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    worker TEXT NOT NULL,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP
);
CREATE INDEX job_probe_runs_job_idx ON job_probe_runs (job_id);
