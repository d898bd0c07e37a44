DROP TABLE feedback_messages;
DROP TABLE feedback_threads;
