// Package apikeycache keeps the API keys that authenticated recently in
// memory, so that a request with `Authorization: Bearer rtk_…` costs no
// database query in steady state, while a revocation or a change of the
// key's creator takes effect on the next request: the log follower of
// every instance invalidates the entries (InvalidateKey on api_key.revoked,
// InvalidateUser on the creator's user events), and entries expire after
// MaxAge in any case.
//
// Entries are found by the hash of the presented secret, never by the
// secret. An unknown secret is not cached: it costs one lookup, and failed
// credentials spend the caller's auth rate-limit budget.
package apikeycache

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/rustok/rustok/domain/rbac"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultMaxAge     = 5 * time.Minute
	DefaultMaxEntries = 10_000
)

// Entry is what authentication needs of a key: its id, tenant,
// permissions, expiry and revocation, and its creator's current role and
// status, as of LoadedAt.
type Entry struct {
	KeyID, TenantID string
	// Permissions are the key's, parsed once when it is loaded.
	Permissions []rbac.Permission
	ExpiresAt   *time.Time
	Revoked     bool
	// CreatedBy is the key's creator; CreatorRole and CreatorActive are
	// their current role and whether they may act (active, not deleted).
	CreatedBy     string
	CreatorRole   string
	CreatorActive bool
	LoadedAt      time.Time
}

// Loader finds the key whose secret hashes to hash among those with
// prefix; found is false when there is none.
type Loader func(ctx context.Context, prefix, hash string) (e Entry, found bool, err error)

// Config bounds the cache.
type Config struct {
	// MaxAge is how long an entry is trusted without an invalidation.
	MaxAge time.Duration
	// MaxEntries bounds the entries; when full, the cache is emptied
	// (keys authenticate again from the database).
	MaxEntries int
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Cache is safe for concurrent use.
type Cache struct {
	cfg  Config
	load Loader
	sf   singleflight.Group

	mu      sync.Mutex
	gen     uint64 // bumped by every invalidation
	entries map[string]Entry
}

// New returns an empty cache over load.
func New(cfg Config, load Loader) *Cache {
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = DefaultMaxEntries
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Cache{cfg: cfg, load: load, entries: map[string]Entry{}}
}

// Get returns the key whose secret hashes to hash, from memory when it
// was loaded less than MaxAge ago and not invalidated since, else from
// the loader (concurrent misses of one hash share one load). A load that
// an invalidation overtook is answered but not kept.
func (c *Cache) Get(ctx context.Context, prefix, hash string) (Entry, bool, error) {
	now := c.cfg.Now()
	c.mu.Lock()
	e, ok := c.entries[hash]
	gen := c.gen
	c.mu.Unlock()
	if ok && now.Sub(e.LoadedAt) < c.cfg.MaxAge {
		return e, true, nil
	}
	type result struct {
		e     Entry
		found bool
	}
	v, err, _ := c.sf.Do(hash, func() (any, error) {
		e, found, err := c.load(ctx, prefix, hash)
		if err != nil {
			return nil, err
		}
		e.LoadedAt = now
		if found {
			c.mu.Lock()
			if c.gen == gen {
				if len(c.entries) >= c.cfg.MaxEntries {
					clear(c.entries)
				}
				c.entries[hash] = e
			}
			c.mu.Unlock()
		}
		return result{e, found}, nil
	})
	if err != nil {
		return Entry{}, false, err
	}
	r := v.(result)
	return r.e, r.found, nil
}

// InvalidateKey drops the entries of key id (revoked).
func (c *Cache) InvalidateKey(id string) {
	c.drop(func(e Entry) bool { return e.KeyID == id })
}

// InvalidateUser drops the entries of the keys userID created (their role
// or status changed, or they were deleted).
func (c *Cache) InvalidateUser(userID string) {
	c.drop(func(e Entry) bool { return e.CreatedBy == userID })
}

// InvalidateAll empties the cache.
func (c *Cache) InvalidateAll() { c.drop(func(Entry) bool { return true }) }

func (c *Cache) drop(match func(Entry) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for h, e := range c.entries {
		if match(e) {
			delete(c.entries, h)
		}
	}
}

// Len returns the number of entries.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
