// Package eventstore appends events to the log and reads them back.
//
// The log is one append-only table (events) that is both the event store and
// the transactional outbox the Watermill relay reads (package relay). Append
// writes a stream's new events and its uniqueness reservations in one
// transaction with optimistic concurrency; nothing is published separately, so
// no event can be lost between a commit and a publish, and a rolled-back
// command leaves no trace.
//
// Positions: every event gets a global position (monotonic per insert). On
// PostgreSQL, concurrent writers can commit out of position order, so readers
// that must see every event (ReadAll, the relay) walk the log in Cursor order —
// (transaction id, position) — and only below the visibility fence
// pg_snapshot_xmin(pg_current_snapshot()). On SQLite there is one writer at a
// time and position order is commit order.
package eventstore
