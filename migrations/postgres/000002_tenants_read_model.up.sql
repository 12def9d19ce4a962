-- Read model of the tenants projection (projections/tenant). Written only by
-- that projection; rebuilt by `rustok projections replay tenants`.
CREATE TABLE rm_tenants (
    id              TEXT        NOT NULL PRIMARY KEY,
    slug            TEXT        NOT NULL UNIQUE,
    name            TEXT        NOT NULL,
    status          TEXT        NOT NULL,
    domains         JSONB       NOT NULL,
    modules         JSONB       NOT NULL,
    default_locale  TEXT        NOT NULL,
    locales         JSONB       NOT NULL,
    settings        JSONB       NOT NULL,
    version         BIGINT      NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
-- One row per domain, for host resolution.
CREATE TABLE rm_tenant_domains (
    host       TEXT NOT NULL PRIMARY KEY,
    tenant_id  TEXT NOT NULL
);
CREATE INDEX rm_tenant_domains_tenant_idx ON rm_tenant_domains (tenant_id);
