DROP TABLE ip_throttle;
DROP TABLE spent_tokens;
DROP TABLE recovery_codes;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
DROP TABLE sms_codes;
DROP TABLE accounts;
