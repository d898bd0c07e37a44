DROP TABLE arrears_stretches;
DROP TABLE sms_daily_counts;
DROP TABLE sms_sends;
DROP TABLE notification_preferences;
