-- Named locks for checks that must hold across rows: a transaction that selects its lock's row FOR UPDATE runs
-- alone among those taking the same lock, on H2 and on PostgreSQL alike. The rows are never changed, so waiting on
-- one never depends on how either database re-reads a row changed under it.
CREATE TABLE server_lock (
    name VARCHAR(100) PRIMARY KEY
);
-- Revoking an admin token: the check that another live admin remains and the revocation are one step.
INSERT INTO server_lock (name) VALUES ('admin_tokens');
