-- Read model of the API keys projection (projections/apikey). Written only by
-- that projection; rebuilt by `rustok projections replay api_keys`. Holds the
-- SHA-256 of each secret (never the secret), which authentication compares.
-- Times are text in database.FormatTime's form, so text order is time order.
CREATE TABLE rm_api_keys (
    id           TEXT    NOT NULL PRIMARY KEY,
    tenant_id    TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    -- Not unique: 48 random bits collide in time; the hash decides.
    prefix       TEXT    NOT NULL,
    secret_hash  TEXT    NOT NULL,
    -- JSON array of "resource:action" strings, sorted.
    permissions  TEXT    NOT NULL,
    created_by   TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    expires_at   TEXT    NULL,
    revoked_at   TEXT    NULL,
    version      INTEGER NOT NULL
);
CREATE INDEX rm_api_keys_prefix_idx ON rm_api_keys (prefix);
CREATE INDEX rm_api_keys_tenant_created_idx ON rm_api_keys (tenant_id, created_at DESC, id DESC);

-- When each key was last used: operational data, not a read model (see the
-- PostgreSQL file and docs/adr/0027).
CREATE TABLE api_key_usage (
    key_id        TEXT NOT NULL PRIMARY KEY,
    tenant_id     TEXT NOT NULL,
    last_used_at  TEXT NOT NULL
);
