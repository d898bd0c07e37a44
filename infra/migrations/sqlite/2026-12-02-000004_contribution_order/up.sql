-- The list's order, as on PostgreSQL: one unique index in the newest-first list's column order.
-- SQLite cannot drop the table's inline UNIQUE constraint without rebuilding the table, so on
-- the embedded database the old unique index stays beside it.
CREATE UNIQUE INDEX contributions_person_month_key
    ON contributions (person_id, period, insurance, employer_key);
DROP INDEX contributions_person_period_idx;
