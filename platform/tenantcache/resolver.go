package tenantcache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/allegro/bigcache/v3"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"

	"github.com/rustok/rustok/domain"
)

// The kinds of Key.
const (
	KindID   = "id"
	KindSlug = "slug"
	KindHost = "host"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultTTL         = 5 * time.Minute
	DefaultNegativeTTL = 30 * time.Second
	DefaultMaxEntries  = 10000
)

// ErrNotFound is returned (wrapped) by Resolve when no tenant matches the key.
// A Loader reports a missing tenant with an error for which
// errors.Is(err, ErrNotFound) holds. It has the code and message of
// tenant.ErrNotFound, so errors.Is matches either (domain.Error.Is compares
// code and message).
var ErrNotFound = domain.NotFound("tenant not found")

// Tenant is the tenant record the Resolver caches, JSON-encoded in bigcache.
type Tenant struct {
	ID             string   `json:"id"`
	Slug           string   `json:"slug"`
	Name           string   `json:"name"`
	Status         string   `json:"status"`
	Domains        []string `json:"domains"`
	EnabledModules []string `json:"enabled_modules"`
	DefaultLocale  string   `json:"default_locale"`
	Locales        []string `json:"locales"`
	// Version is the tenant stream version the record reflects.
	Version int64 `json:"version"`
}

// Key identifies a tenant by one of its identifiers. Kind is KindID, KindSlug
// or KindHost; Value must already be normalized (see package domain/tenant),
// since the Resolver caches by the exact value.
type Key struct {
	Kind  string `json:"kind"`
	Value string `json:"value"`
}

// String returns "kind:value".
func (k Key) String() string { return k.Kind + ":" + k.Value }

func (k Key) validate() error {
	switch k.Kind {
	case KindID, KindSlug, KindHost:
	default:
		return domain.BadInput("unknown tenant key kind %q", k.Kind)
	}
	if k.Value == "" {
		return domain.BadInput("empty tenant %s", k.Kind)
	}
	return nil
}

// Loader reads the tenants read model. LoadTenant returns an error for which
// errors.Is(err, ErrNotFound) holds when no tenant matches key. It must be safe
// for concurrent use. The context it gets carries the caller's values and
// deadline but not its cancellation, because one load serves every caller
// that joined it.
type Loader interface {
	LoadTenant(ctx context.Context, key Key) (Tenant, error)
}

// Config configures a Resolver. bigcache counts time in whole seconds, so the
// TTLs are truncated to whole seconds and must be at least one second.
type Config struct {
	// TTL is how long a found tenant stays cached. Default 5m.
	TTL time.Duration
	// NegativeTTL is how long an identifier that matched no tenant stays
	// cached as not found. Default 30s.
	NegativeTTL time.Duration
	// MaxEntries bounds the number of cached tenants (positive entries) and
	// sizes the negative cache's memory limit (MaxEntries × 512 bytes, at
	// least 1 MiB). Default 10000.
	MaxEntries int
}

func (c Config) withDefaults() (Config, error) {
	if c.TTL == 0 {
		c.TTL = DefaultTTL
	}
	if c.NegativeTTL == 0 {
		c.NegativeTTL = DefaultNegativeTTL
	}
	if c.MaxEntries == 0 {
		c.MaxEntries = DefaultMaxEntries
	}
	var errs []error
	if c.TTL < time.Second {
		errs = append(errs, fmt.Errorf("tenant cache ttl %s: must be at least 1s", c.TTL))
	}
	if c.NegativeTTL < time.Second {
		errs = append(errs, fmt.Errorf("tenant negative cache ttl %s: must be at least 1s", c.NegativeTTL))
	}
	if c.MaxEntries < 0 {
		errs = append(errs, fmt.Errorf("tenant cache max entries %d: must not be negative", c.MaxEntries))
	}
	return c, errors.Join(errs...)
}

// Resolver resolves tenant keys through a positive cache, a negative cache
// and a coalesced Loader call, in that order. It is safe for concurrent use.
// See the package documentation for keys, invalidation and bounds.
type Resolver struct {
	loader     Loader
	logger     *slog.Logger
	pos, neg   *bigcache.BigCache
	flight     singleflight.Group
	metrics    *metrics
	maxEntries int

	// version and epoch change only with mu held, and are read atomically
	// without it. version is part of every cache key (InvalidateAll bumps it);
	// epoch counts invalidations of any kind (a load stores its result only if
	// epoch did not change while it ran).
	version atomic.Uint64
	epoch   atomic.Uint64

	mu    sync.Mutex
	index keyIndex // guarded by mu
}

// New returns a Resolver that loads through loader and registers its metrics
// on reg (nil registers nothing). A nil logger discards logs. It returns an
// error if cfg is invalid, a cache cannot be created or a metric cannot be
// registered (for example because another Resolver registered it on reg and
// was not closed).
func New(cfg Config, loader Loader, reg prometheus.Registerer, logger *slog.Logger) (*Resolver, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if loader == nil {
		return nil, errors.New("tenant cache: nil loader")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	// Positive entries: the index keeps their count within MaxEntries; the
	// byte limit only guards against unexpectedly large records.
	pos, err := bigcache.New(context.Background(), cacheConfig(cfg.TTL, cfg.MaxEntries, 512, 4096))
	if err != nil {
		return nil, fmt.Errorf("create tenant cache: %w", err)
	}
	// Negative entries are a key and one byte: bounded by bytes alone.
	neg, err := bigcache.New(context.Background(), cacheConfig(cfg.NegativeTTL, cfg.MaxEntries, 64, 512))
	if err != nil {
		return nil, errors.Join(fmt.Errorf("create negative tenant cache: %w", err), pos.Close())
	}
	r := &Resolver{
		loader:     loader,
		logger:     logger,
		pos:        pos,
		neg:        neg,
		maxEntries: cfg.MaxEntries,
		index:      newKeyIndex(),
	}
	r.metrics, err = newMetrics(reg, func() float64 { return float64(pos.Len() + neg.Len()) })
	if err != nil {
		return nil, errors.Join(err, pos.Close(), neg.Close())
	}
	return r, nil
}

// cacheConfig sizes one bigcache instance. initialSize is the expected size
// of an entry, used only to preallocate; maxSize is the per-entry budget from
// which the hard memory limit is derived.
func cacheConfig(ttl time.Duration, maxEntries, initialSize, maxSize int) bigcache.Config {
	const mib = 1 << 20
	return bigcache.Config{
		// 16 shards keep the per-shard byte limit (HardMaxCacheSize/16, at
		// least 64 KiB) above the size of any tenant record.
		Shards:     16,
		LifeWindow: ttl,
		// Reads check expiry themselves; the cleaner only frees memory.
		CleanWindow: min(max(ttl/2, time.Second), time.Minute),
		// Preallocate for a modest number of entries; queues grow on demand.
		MaxEntriesInWindow: min(maxEntries, 1024),
		MaxEntrySize:       initialSize,
		HardMaxCacheSize:   max(1, (maxEntries*maxSize+mib-1)/mib),
		Verbose:            false, // bigcache logs through the standard logger
	}
}

// Resolve returns the tenant that key identifies: from the positive cache,
// else ErrNotFound from the negative cache, else from the Loader, with
// concurrent misses of the same key sharing one Loader call. A key with an
// unknown kind or an empty value is a domain.BadInput error. A not-found
// result is cached and returned wrapped around ErrNotFound; any other Loader
// error is returned wrapped and not cached. If ctx ends before the load does,
// Resolve returns ctx's error while the load goes on for the other callers
// (and the cache).
func (r *Resolver) Resolve(ctx context.Context, key Key) (Tenant, error) {
	if err := key.validate(); err != nil {
		return Tenant{}, err
	}
	epoch := r.epoch.Load() // before anything is read: see the package doc
	ck := cacheKey(r.version.Load(), key)
	switch t, res := r.lookup(ck); res {
	case found:
		r.metrics.hits.Inc()
		return t, nil
	case foundAbsent:
		r.metrics.negativeHits.Inc()
		return Tenant{}, notFound(key)
	}
	r.metrics.misses.Inc()

	led := false // written by the leader's fn only; read after its result arrives
	ch := r.flight.DoChan(strconv.FormatUint(epoch, 10)+"|"+ck, func() (any, error) {
		led = true
		return r.load(ctx, key, ck, epoch)
	})
	select {
	case res := <-ch:
		if !led {
			r.metrics.coalesced.Inc()
		}
		if res.Err != nil {
			return Tenant{}, res.Err
		}
		return res.Val.(Tenant), nil
	case <-ctx.Done():
		return Tenant{}, fmt.Errorf("resolve tenant %s: %w", key, ctx.Err())
	}
}

// load runs once per coalesced miss.
func (r *Resolver) load(ctx context.Context, key Key, ck string, epoch uint64) (t Tenant, err error) {
	// A panic would otherwise be re-raised by singleflight in a goroutine
	// nobody can recover.
	defer func() {
		if p := recover(); p != nil {
			r.logger.Error("tenant loader panicked", "key", key.String(), "panic", p, "stack", string(debug.Stack()))
			err = fmt.Errorf("load tenant %s: loader panicked: %v", key, p)
		}
	}()
	// A request that missed just before the previous load for this key stored
	// its result starts a new flight: look again before going to the loader.
	switch t, res := r.lookup(ck); res {
	case found:
		return t, nil
	case foundAbsent:
		return Tenant{}, notFound(key)
	}

	// One load serves every caller that joined it: do not let the leader's
	// cancellation fail the others, but keep its deadline as the bound.
	lctx := context.WithoutCancel(ctx)
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		lctx, cancel = context.WithDeadline(lctx, dl)
		defer cancel()
	}
	r.metrics.loads.Inc()
	t, err = r.loader.LoadTenant(lctx, key)
	switch {
	case errors.Is(err, ErrNotFound):
		r.storeAbsent(ck, epoch)
		return Tenant{}, notFound(key)
	case err != nil:
		return Tenant{}, fmt.Errorf("load tenant %s: %w", key, err)
	}
	r.store(ck, t, epoch)
	return t, nil
}

func notFound(key Key) error { return fmt.Errorf("tenant %s: %w", key, ErrNotFound) }

func cacheKey(version uint64, key Key) string {
	return "v" + strconv.FormatUint(version, 10) + ":" + key.Kind + ":" + key.Value
}

type lookupResult int

const (
	missing lookupResult = iota
	found
	foundAbsent // cached as not found
)

func (r *Resolver) lookup(ck string) (Tenant, lookupResult) {
	if data, ok := get(r.pos, ck); ok {
		var t Tenant
		err := json.Unmarshal(data, &t)
		if err == nil {
			return t, found
		}
		r.logger.Error("undecodable tenant cache entry dropped", "key", ck, "error", err)
		r.delete(r.pos, ck)
	}
	if _, ok := get(r.neg, ck); ok {
		return Tenant{}, foundAbsent
	}
	return Tenant{}, missing
}

// get returns the entry for ck unless it is missing or expired: bigcache's
// Get returns expired entries until its cleaner runs.
func get(c *bigcache.BigCache, ck string) ([]byte, bool) {
	data, resp, err := c.GetWithInfo(ck)
	if err != nil || resp.EntryStatus == bigcache.Expired {
		return nil, false
	}
	return data, true
}

func (r *Resolver) delete(c *bigcache.BigCache, ck string) {
	if err := c.Delete(ck); err != nil && !errors.Is(err, bigcache.ErrEntryNotFound) {
		r.logger.Warn("tenant cache delete", "key", ck, "error", err)
	}
}

// store caches t under ck unless an invalidation happened since epoch.
func (r *Resolver) store(ck string, t Tenant, epoch uint64) {
	if t.ID == "" {
		r.logger.Error("tenant loader returned a tenant without id; not cached", "key", ck)
		return
	}
	data, err := json.Marshal(t)
	if err != nil {
		r.logger.Error("encode tenant for cache", "key", ck, "error", err)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.epoch.Load() != epoch {
		return // invalidated while loading: the result may be stale
	}
	if err := r.pos.Set(ck, data); err != nil {
		r.logger.Warn("tenant cache set", "key", ck, "error", err)
		return
	}
	r.index.add(t.ID, ck)
	if r.index.len() > r.maxEntries {
		r.shrinkIndex()
	}
}

// storeAbsent caches ck as not found unless an invalidation happened since
// epoch (the tenant may have been created meanwhile).
func (r *Resolver) storeAbsent(ck string, epoch uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.epoch.Load() != epoch {
		return
	}
	if err := r.neg.Set(ck, []byte{1}); err != nil {
		r.logger.Warn("negative tenant cache set", "key", ck, "error", err)
	}
}

// shrinkIndex brings the index back to three quarters of maxEntries, so that
// the next shrink is at least maxEntries/4 stores away. It first forgets keys
// whose entries bigcache expired or evicted, then evicts arbitrary live
// entries: an indexed key must never be dropped while its entry lives, or
// Invalidate could miss it. r.mu must be held.
func (r *Resolver) shrinkIndex() {
	target := r.maxEntries - r.maxEntries/4
	for ck := range r.index.owner {
		if _, ok := get(r.pos, ck); !ok {
			r.delete(r.pos, ck)
			r.index.remove(ck)
		}
	}
	for ck := range r.index.owner { // map order: arbitrary victims
		if r.index.len() <= target {
			break
		}
		r.delete(r.pos, ck)
		r.index.remove(ck)
	}
}

// Invalidate drops every cached entry of the tenant tenantID (its id, slug
// and every domain it was resolved by, positive or negative) and the entries
// of keys, whichever tenant they belong to (pass new slugs and domains here:
// they may be cached as not found). tenantID may be empty to drop keys only.
// A load in flight when Invalidate is called will not be cached. Safe for
// concurrent use.
func (r *Resolver) Invalidate(tenantID string, keys ...Key) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.epoch.Add(1)
	drop := func(ck string) {
		r.delete(r.pos, ck)
		r.delete(r.neg, ck)
		r.index.remove(ck)
	}
	for _, ck := range r.index.keysOf(tenantID) {
		drop(ck)
	}
	v := r.version.Load()
	for _, k := range keys {
		drop(cacheKey(v, k))
	}
	r.metrics.invalidations.Inc()
}

// InvalidateAll makes every cached entry unreachable at once by bumping the
// key version, then resets both caches to free their memory. A load in flight
// when InvalidateAll is called will not be cached. It backs
// `rustok task cleanup cache`. Safe for concurrent use.
func (r *Resolver) InvalidateAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.epoch.Add(1)
	r.version.Add(1)
	r.index = newKeyIndex()
	if err := errors.Join(r.pos.Reset(), r.neg.Reset()); err != nil {
		// Harmless: the old entries are unreachable under the new version.
		r.logger.Warn("tenant cache reset", "error", err)
	}
	r.metrics.invalidations.Inc()
}

// Close stops the caches' background cleaners and unregisters the metrics.
// The Resolver must not be used afterwards. It returns the caches' close
// errors, if any.
func (r *Resolver) Close() error {
	r.metrics.unregister()
	return errors.Join(r.pos.Close(), r.neg.Close())
}
