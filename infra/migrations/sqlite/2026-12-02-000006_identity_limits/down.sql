DROP TABLE sms_phone_locks;
DROP TABLE auth_throttle;
