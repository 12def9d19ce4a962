// Package projectiontest is the test support of the projections (relay.Fold
// read models, ADR 0021): the machinery every projection's tests share,
// written once, so that a module's projection is tested with a few lines.
// It is a normal package so that the projections' tests, their workload
// generators (tenanttest, usertest, sessiontest, …) and benchmarks can
// import it; nothing but tests and test support may.
//
// What it gives:
//
//   - Command, Records, Append and AppendConcurrently: a workload's appends
//     (stream, expected version, events, reservations), in order or by N
//     concurrent writers; Rand and UUID for the generators.
//   - Fast, NewStore, CatchUp, DeadLetters, Rewind, Forget, StartRunner,
//     WaitFor, Replay, EachRow: one step each, failing the test on error.
//   - Projection[M]: a projection as its tests see it (its consumer, a
//     snapshot of its read model of type M, a diff), its Env (one database),
//     and the scenarios every projection must pass: BatchesMatch,
//     RedeliveredBatchesChangeNothing, ReplayEqualsLive, PoisonAlone on a
//     generated workload; ThroughTheRunner, RedeliveryChangesNothing and
//     ReplayRebuilds on a hand-written History.
//
// A projection's test file keeps what is its own: the row type and its
// snapshot query, the expected read model of a workload (the aggregates are
// the oracle), the hand-written history, and the tests of its specific rules.
package projectiontest
