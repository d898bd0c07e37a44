CREATE INDEX contributions_person_period_idx ON contributions (person_id, period, insurance);
DROP INDEX contributions_person_month_key;
