-- Local rules no national text fixes (issue 15): the day of the next month by which a month's
-- contributions are due, and the personal-account divisor's two open points; per year, the
-- share of the pension base credited to the personal account (11 % before 2006, 8 % since).
ALTER TABLE regions ADD COLUMN contribution_due_day INTEGER NOT NULL DEFAULT 15;
ALTER TABLE regions ADD COLUMN divisor_age_47 INTEGER NOT NULL DEFAULT 207;
ALTER TABLE regions ADD COLUMN divisor_fraction TEXT NOT NULL DEFAULT 'whole_years';
ALTER TABLE region_years ADD COLUMN personal_account_bp INTEGER NOT NULL DEFAULT 800;
UPDATE region_years SET personal_account_bp = 1100 WHERE year < 2006;
