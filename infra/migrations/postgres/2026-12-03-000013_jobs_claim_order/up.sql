-- The claim reads due queued jobs in (run_at, id) order. With (state, run_at) alone every
-- claim sorted all the due jobs (a campaign enqueues a million with the same run_at): a
-- claim cost as much as the queue was long. With id in the index it reads the first few.
CREATE INDEX jobs_queue_order_idx ON jobs (state, run_at, id);
DROP INDEX jobs_state_run_at_idx;
