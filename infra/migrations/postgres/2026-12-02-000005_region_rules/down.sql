ALTER TABLE region_years DROP COLUMN personal_account_bp;
ALTER TABLE regions DROP COLUMN divisor_fraction;
ALTER TABLE regions DROP COLUMN divisor_age_47;
ALTER TABLE regions DROP COLUMN contribution_due_day;
