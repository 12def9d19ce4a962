// Package session answers session queries from the sessions read model
// (rm_sessions, written by projections/session), and deletes the rows of
// sessions that ended long ago (`rustok task cleanup sessions`). Other
// packages import it as sessionqry.
//
// The read model follows the log: a session started, refreshed or revoked by
// a command is seen here once the sessions projection has applied the event
// (see the relay's read-your-writes Waiter). It is not the per-request
// session check, which must see a revocation at once (ARCHITECTURE.md: a
// cache that session events invalidate); Reader.Get may back that cache's
// loader. Every query is filtered by tenant.
//
// # Cleanup and replay
//
// Rows are owned by the projection, and a replay rebuilds rm_sessions from
// the log, so a replay re-creates every row Cleanup deleted. That is sound
// because Cleanup deletes only rows of sessions that had ended (revoked, or
// past their absolute expiry) before a cutoff that is not in the future:
// such a session can never be active again, so no answer of Active changes
// for any time after the cutoff, whether its row exists or not; Get answers
// ErrNotFound instead of a revoked or expired view, and both mean "not
// usable". The read model is thus defined up to rows of ended sessions, and
// the next cleanup deletes the re-created rows again. The alternative —
// the projection dropping ended sessions itself — would make the read model
// depend on the time the projection runs, so a replay could not rebuild
// the same thing.
//
// One consequence for the command layer: the log may still bring an event of
// a session whose row was deleted. A revoked session gets no more events (the
// aggregate refuses them), and an expired one cannot be refreshed, but the
// aggregate does let an expired session be revoked. Such a session.revoked,
// for a row already deleted, is dead-lettered by the projection
// (projections/session.ErrMissingRow) and changes nothing else. Commands that
// revoke many sessions (revoke-all, password reset, disabling a user) should
// therefore skip sessions that have expired; keeping the cutoff well behind
// now (days) keeps the window small in any case.
package session
