-- Nothing was done on SQLite (see up.sql).
SELECT 1;
