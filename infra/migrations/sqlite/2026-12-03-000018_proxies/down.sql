DROP TABLE proxy_activity;
DROP TABLE proxy_requests;
DROP TABLE proxy_grants;
