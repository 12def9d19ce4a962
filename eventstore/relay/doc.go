// Package relay delivers the event log to consumers — projections that build
// read models and reactors that act on the world — through a Watermill router
// and watermill-sql subscribers that read the log table directly (the log is
// the outbox; see package eventstore).
//
// Each consumer is one consumer group with one checkpoint row in
// consumer_offsets. The subscriber locks that row, reads a batch, hands each
// event to the consumer's handler inside the same transaction, and moves the
// checkpoint before it commits: read model and checkpoint commit together, so
// a redelivered event finds its effect already there (handlers guard writes with
// the stream version). Each handler call runs under a savepoint; a failing
// event is retried with back-off and, past the limit, recorded in dead_letters
// while the consumer goes on. Unknown event types are skipped.
//
// Wake-ups: a commit in this process signals the subscribers at once; on
// PostgreSQL a NOTIFY sent after commit wakes other processes; polling at the
// configured interval is the safety net.
package relay
