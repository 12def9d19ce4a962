// Package tenantcache resolves tenant identifiers (id, slug, host) to tenant
// records through two in-process caches, so that the per-request tenant lookup
// almost never reaches the database.
//
// A Resolver keeps found tenants in a positive bigcache (Config.TTL) and
// identifiers that matched no tenant in a negative bigcache
// (Config.NegativeTTL). Concurrent misses of one key are coalesced with
// singleflight, so a stampede of the same miss makes one Loader call.
//
// # Keys and versions
//
// Cache keys are versioned: "v<N>:<kind>:<value>". InvalidateAll bumps N, so
// every entry written before it becomes unreachable at once (the caches are
// also reset to give the memory back). Invalidate drops the keys of one
// tenant: the Resolver remembers, for every tenant id, the keys under which
// that tenant is cached (its id, its slug, each domain it was looked up by),
// and drops them all together with any keys passed by the caller (for
// example a new domain that was cached as not found).
//
// # Invalidation racing a load
//
// A load that started before an invalidation may return the old record. To
// keep such a stale result out of the cache, the Resolver keeps an epoch that
// every Invalidate and InvalidateAll increments. A load records the epoch
// before it calls the Loader, and its result is stored only if the epoch is
// unchanged; the check and the store run under the same mutex as the
// invalidation, so no invalidation can slip between them. The epoch is global
// rather than per key: a load that overlaps any invalidation is simply not
// cached (the next request loads again). Invalidations are rare (tenant events
// and operator tasks), so this costs almost nothing and needs no per-key
// bookkeeping. The epoch is also part of the singleflight key, so requests
// that arrive after an invalidation never join a load that started before it.
//
// # Bounds
//
// The tenant index holds at most Config.MaxEntries keys. Every live positive
// entry is in the index (that is what makes Invalidate complete), so when the
// index is full the Resolver first forgets keys whose entries bigcache has
// already expired or evicted, and if that is not enough it evicts arbitrary
// positive entries together with their index entries. The positive cache
// therefore never holds more than Config.MaxEntries live entries. The negative
// cache, which an attacker can fill with random identifiers, is bounded by
// bigcache's HardMaxCacheSize (Config.MaxEntries × 512 bytes, at least 1 MiB);
// when full, bigcache overwrites its oldest entries.
//
// # Expiry resolution
//
// bigcache measures time in whole seconds: an entry lives at least its TTL and
// less than TTL + 1 s. Entries are checked for expiry on every read, so an
// expired entry is never served even before bigcache's cleaner removes it.
//
// Cross-instance invalidation is driven by the tenant event handler, which
// calls Invalidate on every instance; RunRedisInvalidation and
// PublishInvalidation offer an optional faster path over Redis pub/sub.
package tenantcache
