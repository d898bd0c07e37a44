-- One index on contributions serves both the uniqueness of (person, employer, period,
-- insurance) and a person's newest-first list: with the columns in the list's order, the list
-- reads its page straight off the index (no sort, stopping at the page's end), and every row
-- loaded maintains two indexes instead of three.
CREATE UNIQUE INDEX contributions_person_month_key
    ON contributions (person_id, period, insurance, employer_key);
ALTER TABLE contributions
    DROP CONSTRAINT contributions_person_id_employer_key_period_insurance_key;
DROP INDEX contributions_person_period_idx;
