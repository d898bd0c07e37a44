-- A person's list of months and their summary read every column they return from the unique
-- index itself (an Index Only Scan): the index carries the amounts, the status, the payment
-- time and the employer as included, non-key columns. Without them each of a page's 51 rows was
-- a visit to a different heap page, since a person's months are loaded a month at a time across
-- all persons. The key, and so the uniqueness and the order, are unchanged.
--
-- On a big table this is a long lock on writes: an operator upgrading a large database builds
-- the index first with CREATE UNIQUE INDEX CONCURRENTLY under the new name, and this migration
-- then only swaps the names (IF NOT EXISTS).
CREATE UNIQUE INDEX IF NOT EXISTS contributions_person_month_covering
    ON contributions (person_id, period, insurance, employer_key)
    INCLUDE (employer_id, base_fen, employer_fen, employee_fen, status, paid_at);
DROP INDEX contributions_person_month_key;
ALTER INDEX contributions_person_month_covering RENAME TO contributions_person_month_key;

-- An index-only scan skips the heap only for pages the visibility map knows are all-visible,
-- and only VACUUM sets those bits. Loads insert in bulk and payments update rows: vacuum this
-- table after 2 % of its rows changed or were inserted (the defaults, 20 % and 20 %, leave a
-- 30-million-row table with millions of recent rows unmarked for days).
ALTER TABLE contributions SET (
    autovacuum_vacuum_scale_factor = 0.02,
    autovacuum_vacuum_insert_scale_factor = 0.02,
    autovacuum_analyze_scale_factor = 0.02
);
