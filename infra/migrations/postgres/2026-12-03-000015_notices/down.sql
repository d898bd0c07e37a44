DROP INDEX benefit_payments_recent_idx;
DROP INDEX contributions_unpaid_idx;
DROP INDEX persons_birth_idx;
DROP INDEX persons_audience_idx;
ALTER TABLE notification_preferences DROP COLUMN notices;
DROP TABLE notice_reads;
DROP TABLE notices;
