ALTER TABLE contributions RESET (
    autovacuum_vacuum_scale_factor,
    autovacuum_vacuum_insert_scale_factor,
    autovacuum_analyze_scale_factor
);
CREATE UNIQUE INDEX contributions_person_month_plain
    ON contributions (person_id, period, insurance, employer_key);
DROP INDEX contributions_person_month_key;
ALTER INDEX contributions_person_month_plain RENAME TO contributions_person_month_key;
