DROP TABLE audit_log;
DROP TABLE contributions;
DROP TABLE staff_accounts;
DROP TABLE persons;
DROP TABLE employers;
DROP TABLE region_years;
DROP TABLE regions;
