DROP TABLE job_probe_runs;
DROP TABLE job_schedule_slots;
DROP TABLE job_schedules;
DROP TABLE jobs;
