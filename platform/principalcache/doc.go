// Package principalcache answers the per-request check of an authenticated
// caller — is this session still usable, and what are its user's status and
// role now — from an in-process cache, so that an authenticated request in
// steady state reaches the database zero times (ARCHITECTURE.md, "Identity
// and access").
//
// The name says what is cached: not the session row alone but the principal
// a request acts as (session state joined with its user's status and role),
// which is what every authenticated request needs and what both session and
// user events change.
//
// # Lookups
//
// Cache.Lookup(tenant, session, user) returns a Principal: whether the
// session is active (not revoked, and not expired at the cache's clock —
// expiry needs no event, since the entry keeps the session's own expiry and
// Active is computed on every lookup), the user's status and role, and the
// session's expiry. Principal.Check turns it into the error a transport
// answers (UNAUTHENTICATED). On a miss the entry is loaded from the sessions
// and users read models through SessionReader and UserReader (satisfied by
// queries/session.Reader and queries/user.Reader); concurrent misses of one
// session share one load (singleflight). An unknown session is cached as
// absent (a negative entry, Config.NegativeTTL) and reported as
// ErrUnknownSession.
//
// Entries are keyed by session id alone (session ids are UUIDs, unique across
// tenants); the entry holds the session's tenant and user, and a lookup whose
// tenant or user differs from them is answered as an unknown session, as the
// read model would answer it. Keys need no version prefix (FlushAll guards
// against loads in flight by other means, see below), so a cached Lookup
// builds no string: its only allocations are bigcache's two copies (entry
// and key) on a hit.
//
// A session is unknown for as long as the sessions projection lags behind
// its session.started: a request made with a brand-new access token on an
// instance whose projection has not caught up is answered ErrUnknownSession
// (and cached so until the follower drops the entry, right after the
// projection applies the event). Where that window matters, the caller can,
// for a token issued a moment ago, wait for the sessions projection
// (relay.Waiter) and retry after InvalidateSession.
//
// # Invalidation
//
// Every instance keeps its cache in step with the log on its own, by running
// FollowHandler under relay.Follow (as the tenant cache does with
// projections/tenant.CacheInvalidation):
//
//   - every session.* event drops that session's entries (positive and
//     negative), so a revocation is seen by the next request and a session
//     cached as unknown is found once its session.started is projected;
//   - user.registered, user.role_changed, user.status_changed, user.deleted
//     and user.password_changed (and any user event type this package does
//     not know) invalidate every entry of that user at once (registration:
//     a session looked up before the users read model had its new user was
//     cached as "user not found"), without enumerating
//     its sessions: each entry carries the user generation it was loaded
//     under, a lookup compares it with the current one, and the invalidation
//     only increments it. Generations live in a fixed array of stripes
//     indexed by a hash of the user id (bounded memory, no per-user state), so
//     a user event also reloads the entries of the few users that share its
//     stripe: harmless, and user events are rare;
//   - FlushAll (for `rustok task cleanup cache`, and the FlushEventType event
//     that task appends) drops everything.
//
// # Read-your-writes
//
// The read models lag the log. If the cache dropped an entry as soon as its
// follower saw the event, a request arriving before the projection applied
// that event would load — and cache again — the state before it: a revoked
// session would stay usable until the entry's MaxAge. So FollowHandler first
// waits (FollowConfig.Waiter, a *relay.Waiter; bounded by FollowConfig.Wait)
// until the projection that owns the event (sessions for session events,
// users for user events) has processed its position, and only then
// invalidates — exactly what the tenant cache's follower does. If the wait
// times out or fails, it invalidates anyway and logs: the entry's MaxAge then
// bounds how long a stale reload can live.
//
// A load racing an invalidation must not store what it read before it.
// Session invalidations increment a generation of the session's lock stripe
// and delete the keys under that stripe's mutex; a load records the
// generation before it reads and stores only if it is unchanged, under the
// same mutex. FlushAll takes every stripe's mutex and increments a flush
// count that a load checks the same way. A load in flight during a user
// invalidation stores the user
// generation it recorded before reading, which the next lookup finds stale.
// The generations are also part of the singleflight key, so a lookup after
// an invalidation never joins a load that started before it.
//
// # Bounds and expiry
//
// Positive entries live in a bigcache whose memory is capped at
// Config.MaxEntries × 256 bytes (an entry takes about 190 with its key and
// bigcache's header); the negative cache, which a caller presenting random
// ids could fill, is capped at Config.MaxEntries × 128 bytes (at least 1 MiB
// each). MaxEntries thus sizes memory rather than counting entries. When full, bigcache
// overwrites its oldest entries. A positive entry is trusted for
// Config.MaxAge after its load (checked on every read against the cache's
// clock; bigcache's own clock, with 1 s resolution, only frees the memory),
// a safety net for an invalidation that was missed (Follow skips an event
// whose handler fails).
//
// # Metrics
//
// CONTRACT.md names only the tenant cache's metrics, so this cache uses the
// same shape under its own prefix: rustok_principal_cache_{hits, misses,
// negative_hits, coalesced, loads}_total,
// rustok_principal_cache_invalidations_total{scope="session|user|all"} and
// the gauge rustok_principal_cache_entries, registered on an injected
// prometheus.Registerer.
package principalcache
