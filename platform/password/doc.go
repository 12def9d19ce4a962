// Package password hashes passwords for sign-up and checks them at sign-in,
// with Argon2id (RFC 9106) encoded as a PHC string:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>
//
// salt and key in unpadded standard base64. The cost parameters come from
// configuration (auth.password.argon2_*); the defaults are OWASP's minimum
// for Argon2id: 19 MiB, 2 passes, 1 lane.
//
// # Bounded cost
//
// One hash holds Params.MemoryKiB of memory and one core per lane for tens
// of milliseconds, so a flood of sign-ins must not start one hash per
// request. A Hasher runs at most Options.Concurrency hashes at once (Hash,
// Verify and VerifyDummy alike). A caller that finds every slot taken waits
// in arrival order, for at most Options.MaxWait or until its context ends,
// in a queue of at most Options.MaxQueue callers; when the queue is full it
// gets ErrBusy at once, and when the wait runs out ErrBusy too, which the
// HTTP layer answers with 503 and Retry-After. Peak memory for hashing is
// therefore about Concurrency × MemoryKiB: 2 × 19 MiB = 38 MiB with the
// defaults on two cores. Verifying a stored hash uses that hash's own
// parameters, which Verify refuses above Options.Limits, so the worst case
// is Concurrency × Limits.MaxMemoryKiB (2 × 64 MiB with the defaults).
// That is the memory in use; every hash also leaves its block as garbage
// for the collector, so with GOGC=100 the heap the process holds during a
// flood peaks at two to three times the bound (BenchmarkHashFlood: 200
// concurrent hashes, bound 38 MiB, peak heap growth ~115 MiB).
//
// A hash that has started runs to its end: Argon2 cannot be interrupted, so
// a context bounds only the wait for a slot.
//
// # Stored hashes are input
//
// Verify parses the stored string strictly (only argon2id, version 19, the
// parameters m, t, p in that order in canonical decimal, canonical unpadded
// base64, bounded salt and key lengths) and refuses parameters above Limits,
// so a corrupted or planted hash cannot make one sign-in allocate gigabytes
// or run for minutes.
//
// # Unknown users
//
// VerifyDummy does the work of a Verify at the current parameters against a
// hash made when the Hasher was built and always fails, so that signing in
// with an unknown email takes as long as with a wrong password.
package password
