// Package relay delivers the event log to consumers — projections that build
// read models and reactors that act on the world — through a Watermill router
// and watermill-sql subscribers that read the log table directly (the log is
// the outbox; see package eventstore).
//
// Each consumer is one consumer group with one checkpoint row in
// consumer_offsets. The subscriber locks the group (on PostgreSQL an advisory
// lock, which takes no transaction id and so holds back no other consumer
// while a reactor waits on the world; on SQLite the write gate), reads its
// checkpoint and a batch, hands the
// batch's events to the consumer inside the same transaction, and moves the
// checkpoint before it commits: read model and checkpoint commit together, so
// a redelivered event finds its effect already there (writes are guarded with
// the stream version). Unknown event types are skipped.
//
// Projections are set-based (Consumer.Batch, built with Fold): per batch they
// read the rows of the batch's streams with one SELECT, fold the events into
// them in memory and write them back with one guarded multi-row upsert per
// table (Tx.SelectIn, Tx.Upsert, Tx.DeleteRows). Reactors keep one handler
// call per event (Consumer.Handlers), in the same transaction. A failing
// batch is rolled back and applied again under savepoints, split until the
// failing events are alone; each of those is retried with back-off and, past
// the limit, recorded in dead_letters while the others commit and the
// consumer goes on (docs/adr/0021-batched-projections.md).
//
// Wake-ups: a commit in this process signals the subscribers at once; on
// PostgreSQL a NOTIFY sent after commit wakes other processes; polling at the
// configured interval is the safety net.
package relay
