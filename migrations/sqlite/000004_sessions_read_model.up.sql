-- Read model of the sessions projection (projections/session). Written only by
-- that projection, and by `rustok task cleanup sessions`, which deletes rows
-- of sessions that ended before a cutoff (queries/session); rebuilt by
-- `rustok projections replay sessions`. Never holds refresh token hashes.
-- Times are text in database.FormatTime's form, so text order is time order.
CREATE TABLE rm_sessions (
    id             TEXT    NOT NULL PRIMARY KEY,
    tenant_id      TEXT    NOT NULL,
    user_id        TEXT    NOT NULL,
    ip             TEXT    NOT NULL,
    user_agent     TEXT    NOT NULL,
    generation     INTEGER NOT NULL,
    started_at     TEXT    NOT NULL,
    last_seen_at   TEXT    NOT NULL,
    expires_at     TEXT    NOT NULL,
    revoked_at     TEXT    NULL,
    revoke_reason  TEXT    NULL,
    ended_at       TEXT    NOT NULL,
    version        INTEGER NOT NULL
);
CREATE INDEX rm_sessions_user_active_idx ON rm_sessions (tenant_id, user_id, started_at DESC, id DESC) WHERE revoked_at IS NULL;
CREATE INDEX rm_sessions_ended_idx ON rm_sessions (ended_at);
