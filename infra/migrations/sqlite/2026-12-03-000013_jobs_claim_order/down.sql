CREATE INDEX jobs_state_run_at_idx ON jobs (state, run_at);
DROP INDEX jobs_queue_order_idx;
