-- Read model of the users projection (projections/user). Written only by
-- that projection; rebuilt by `rustok projections replay users`. It never
-- holds secrets: no password hash, no reset token hash (the command side
-- reads those from the user's events).
--
-- A deleted user stays as a row with deleted = 1 (a tombstone: the row keeps
-- its stream version, so a redelivered event cannot bring it back).
-- name_folded is the name in lower case (Go's strings.ToLower), written by
-- the projection, so that case-insensitive search works alike on both
-- dialects (SQLite's lower() folds ASCII only).
CREATE TABLE rm_users (
    id                 TEXT    NOT NULL PRIMARY KEY,
    tenant_id          TEXT    NOT NULL,
    email              TEXT    NOT NULL,
    name               TEXT    NOT NULL,
    name_folded        TEXT    NOT NULL,
    role               TEXT    NOT NULL,
    status             TEXT    NOT NULL,
    email_verified_at  TEXT,
    deleted            INTEGER NOT NULL,
    version            INTEGER NOT NULL,
    created_at         TEXT    NOT NULL,
    updated_at         TEXT    NOT NULL
);
-- An email belongs to at most one live user of a tenant (the command side's
-- reservation user.email guarantees it; this index makes lookups by email
-- exact and catches a gap).
CREATE UNIQUE INDEX rm_users_tenant_email_key ON rm_users (tenant_id, email) WHERE NOT deleted;
-- A tenant's users, newest first (List and its cursor).
CREATE INDEX rm_users_tenant_created_idx ON rm_users (tenant_id, created_at DESC, id DESC);
