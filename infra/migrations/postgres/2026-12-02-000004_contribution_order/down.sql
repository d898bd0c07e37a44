CREATE INDEX contributions_person_period_idx ON contributions (person_id, period, insurance);
ALTER TABLE contributions
    ADD CONSTRAINT contributions_person_id_employer_key_period_insurance_key
    UNIQUE (person_id, employer_key, period, insurance);
DROP INDEX contributions_person_month_key;
