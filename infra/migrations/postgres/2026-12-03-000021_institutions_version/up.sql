-- The version of the institutions table (issue 18): every import that writes a row raises it in
-- its own transaction. Each server keeps all institutions in memory for the "near me" search
-- (`infra::institutions::atlas`) and reloads them when it reads a version newer than its copy's:
-- right after an import it ran, and on a timer for imports other instances ran.
CREATE TABLE institutions_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT  NOT NULL
);
INSERT INTO institutions_version (id, version) VALUES (1, 1);
-- The search no longer reads positions from the database: its index goes.
DROP INDEX institutions_by_position;
