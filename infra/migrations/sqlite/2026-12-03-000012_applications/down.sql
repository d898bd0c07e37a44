DROP TABLE medical_filings;
DROP TABLE region_transfers;
DROP TABLE benefit_awards;
DROP TABLE service_parameters;
DROP TABLE assistance_thresholds;
DROP TABLE application_documents;
DROP TABLE application_events;
DROP TABLE applications;
ALTER TABLE staff_accounts DROP COLUMN region_code;
