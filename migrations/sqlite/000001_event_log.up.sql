-- The event log: the only source of truth, and the transactional outbox that
-- the Watermill relay reads. SQLite has one writer at a time, so position order
-- is commit order and consumers read position > offset_acked.
CREATE TABLE events (
    position        INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id        TEXT    NOT NULL UNIQUE,
    stream_type     TEXT    NOT NULL,
    stream_id       TEXT    NOT NULL,
    stream_version  INTEGER NOT NULL CHECK (stream_version > 0),
    tenant_id       TEXT    NOT NULL,
    event_type      TEXT    NOT NULL,
    schema_version  INTEGER NOT NULL CHECK (schema_version > 0),
    payload         TEXT    NOT NULL,
    metadata        TEXT    NOT NULL,
    recorded_at     TEXT    NOT NULL,
    UNIQUE (stream_type, stream_id, stream_version)
);

CREATE TABLE reservations (
    scope        TEXT NOT NULL,
    value        TEXT NOT NULL,
    stream_type  TEXT NOT NULL,
    stream_id    TEXT NOT NULL,
    reserved_at  TEXT NOT NULL,
    PRIMARY KEY (scope, value)
);

CREATE TABLE consumer_offsets (
    consumer_group                TEXT    NOT NULL PRIMARY KEY,
    offset_acked                  INTEGER NOT NULL DEFAULT 0,
    last_processed_transaction_id INTEGER NOT NULL DEFAULT 0,
    updated_at                    TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE dead_letters (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    consumer_group  TEXT    NOT NULL,
    position        INTEGER NOT NULL,
    event_id        TEXT    NOT NULL,
    event_type      TEXT    NOT NULL,
    stream_type     TEXT    NOT NULL,
    stream_id       TEXT    NOT NULL,
    tenant_id       TEXT    NOT NULL,
    error           TEXT    NOT NULL,
    attempts        INTEGER NOT NULL,
    failed_at       TEXT    NOT NULL,
    resolved_at     TEXT
);
CREATE INDEX dead_letters_consumer_idx ON dead_letters (consumer_group, id);
