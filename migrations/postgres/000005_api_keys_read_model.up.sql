-- Read model of the API keys projection (projections/apikey). Written only by
-- that projection; rebuilt by `rustok projections replay api_keys`. Holds the
-- SHA-256 of each secret (never the secret), which authentication compares.
CREATE TABLE rm_api_keys (
    id           TEXT        NOT NULL PRIMARY KEY,
    tenant_id    TEXT        NOT NULL,
    name         TEXT        NOT NULL,
    -- The secret's public first 12 characters ("rtk_" and 8 more). Not
    -- unique: 48 random bits collide in time; the hash decides.
    prefix       TEXT        NOT NULL,
    secret_hash  TEXT        NOT NULL,
    -- JSON array of "resource:action" strings, sorted.
    permissions  JSONB       NOT NULL,
    created_by   TEXT        NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NULL,
    revoked_at   TIMESTAMPTZ NULL,
    version      BIGINT      NOT NULL
);
-- Authentication: the candidates of a presented secret's prefix.
CREATE INDEX rm_api_keys_prefix_idx ON rm_api_keys (prefix);
-- A tenant's keys, newest first (the API keys list).
CREATE INDEX rm_api_keys_tenant_created_idx ON rm_api_keys (tenant_id, created_at DESC, id DESC);

-- When each key was last used: operational data, not a read model. Written
-- only by queries/apikey.Usage (at most once a minute per key and process),
-- never by a projection, so a replay of api_keys neither rebuilds nor clears
-- it (docs/adr/0027).
CREATE TABLE api_key_usage (
    key_id        TEXT        NOT NULL PRIMARY KEY,
    tenant_id     TEXT        NOT NULL,
    last_used_at  TIMESTAMPTZ NOT NULL
);
