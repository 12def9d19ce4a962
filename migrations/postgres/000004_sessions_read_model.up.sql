-- Read model of the sessions projection (projections/session). Written only by
-- that projection, and by `rustok task cleanup sessions`, which deletes rows
-- of sessions that ended before a cutoff (queries/session); rebuilt by
-- `rustok projections replay sessions`. Never holds refresh token hashes.
CREATE TABLE rm_sessions (
    id             TEXT        NOT NULL PRIMARY KEY,
    tenant_id      TEXT        NOT NULL,
    user_id        TEXT        NOT NULL,
    -- The client of the sign-in or of the latest refresh ('' when unknown).
    ip             TEXT        NOT NULL,
    user_agent     TEXT        NOT NULL,
    -- How many times the refresh token was rotated.
    generation     BIGINT      NOT NULL,
    started_at     TIMESTAMPTZ NOT NULL,
    -- The sign-in or the latest refresh.
    last_seen_at   TIMESTAMPTZ NOT NULL,
    -- The absolute end of the session, never extended.
    expires_at     TIMESTAMPTZ NOT NULL,
    revoked_at     TIMESTAMPTZ NULL,
    revoke_reason  TEXT        NULL,
    -- When the session stopped being usable: revoked_at if it was revoked
    -- before expires_at, else expires_at. Cleanup deletes by it.
    ended_at       TIMESTAMPTZ NOT NULL,
    version        BIGINT      NOT NULL
);
-- A user's sessions that were not revoked, newest first (the sessions list).
CREATE INDEX rm_sessions_user_active_idx ON rm_sessions (tenant_id, user_id, started_at DESC, id DESC) WHERE revoked_at IS NULL;
-- Sessions that ended before a cutoff (`rustok task cleanup sessions`).
CREATE INDEX rm_sessions_ended_idx ON rm_sessions (ended_at);
