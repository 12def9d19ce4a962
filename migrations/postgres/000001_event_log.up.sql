-- The event log: the only source of truth, and the transactional outbox that
-- the Watermill relay reads. Rows are only ever inserted.
-- transaction_id is the xid8 of the writing transaction: consumers read only rows
-- whose transaction_id is below pg_snapshot_xmin(pg_current_snapshot()), in
-- (transaction_id, position) order, so no row of a still-open transaction is skipped.
CREATE TABLE events (
    position        BIGSERIAL   NOT NULL,
    transaction_id  xid8        NOT NULL DEFAULT pg_current_xact_id(),
    event_id        UUID        NOT NULL,
    stream_type     TEXT        NOT NULL,
    stream_id       TEXT        NOT NULL,
    stream_version  BIGINT      NOT NULL CHECK (stream_version > 0),
    tenant_id       TEXT        NOT NULL,
    event_type      TEXT        NOT NULL,
    schema_version  INTEGER     NOT NULL CHECK (schema_version > 0),
    -- json, not jsonb: the text is kept exactly as appended (events are never
    -- rewritten) and is cheaper to write and to read back; projections decode in Go.
    payload         JSON        NOT NULL,
    metadata        JSON        NOT NULL,
    recorded_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (transaction_id, position)
);
CREATE UNIQUE INDEX events_position_key ON events (position);
CREATE UNIQUE INDEX events_event_id_key ON events (event_id);
CREATE UNIQUE INDEX events_stream_version_key ON events (stream_type, stream_id, stream_version);

-- Uniqueness reservations (a tenant slug, a domain, a user's email in a tenant),
-- written in the same transaction as the events that claim them.
CREATE TABLE reservations (
    scope        TEXT        NOT NULL,
    value        TEXT        NOT NULL,
    stream_type  TEXT        NOT NULL,
    stream_id    TEXT        NOT NULL,
    reserved_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (scope, value)
);

-- One row per consumer group (projection or reactor): what it has processed.
-- The watermill-sql subscriber locks this row FOR UPDATE for each batch and
-- moves it in the same transaction as the read-model writes.
CREATE TABLE consumer_offsets (
    consumer_group                TEXT        NOT NULL PRIMARY KEY,
    offset_acked                  BIGINT      NOT NULL DEFAULT 0,
    last_processed_transaction_id xid8        NOT NULL DEFAULT '0',
    updated_at                    TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Events a consumer gave up on after its retries, with the error.
CREATE TABLE dead_letters (
    id              BIGSERIAL   PRIMARY KEY,
    consumer_group  TEXT        NOT NULL,
    position        BIGINT      NOT NULL,
    event_id        UUID        NOT NULL,
    event_type      TEXT        NOT NULL,
    stream_type     TEXT        NOT NULL,
    stream_id       TEXT        NOT NULL,
    tenant_id       TEXT        NOT NULL,
    error           TEXT        NOT NULL,
    attempts        INTEGER     NOT NULL,
    failed_at       TIMESTAMPTZ NOT NULL,
    resolved_at     TIMESTAMPTZ
);
CREATE INDEX dead_letters_consumer_idx ON dead_letters (consumer_group, id);
