package apikeycache_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rustok/rustok/platform/apikeycache"
)

// store is a Loader over a map of hash → entry, counting loads.
type store struct {
	mu    sync.Mutex
	keys  map[string]apikeycache.Entry
	loads atomic.Int64
	hook  func() // runs inside every load
	fail  error
}

func (s *store) load(_ context.Context, _, hash string) (apikeycache.Entry, bool, error) {
	s.loads.Add(1)
	if s.hook != nil {
		s.hook()
	}
	if s.fail != nil {
		return apikeycache.Entry{}, false, s.fail
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.keys[hash]
	return e, ok, nil
}

func (s *store) set(hash string, e apikeycache.Entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[hash] = e
}

func TestCache(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	newCache := func(max int) (*apikeycache.Cache, *store) {
		s := &store{keys: map[string]apikeycache.Entry{
			"h1": {KeyID: "k1", TenantID: "t", CreatedBy: "u1", CreatorRole: "admin", CreatorActive: true},
			"h2": {KeyID: "k2", TenantID: "t", CreatedBy: "u2", CreatorRole: "admin", CreatorActive: true},
		}}
		return apikeycache.New(apikeycache.Config{MaxAge: time.Minute, MaxEntries: max, Now: func() time.Time { return now }}, s.load), s
	}

	t.Run("steady state costs no load", func(t *testing.T) {
		c, s := newCache(0)
		for range 100 {
			e, ok, err := c.Get(ctx, "p", "h1")
			if err != nil || !ok || e.KeyID != "k1" || !e.LoadedAt.Equal(now) {
				t.Fatalf("Get = %+v, %v, %v", e, ok, err)
			}
		}
		if n := s.loads.Load(); n != 1 {
			t.Errorf("%d loads for 100 requests, want 1", n)
		}
	})

	t.Run("an unknown secret is looked up every time", func(t *testing.T) {
		c, s := newCache(0)
		for range 3 {
			if _, ok, err := c.Get(ctx, "p", "nope"); ok || err != nil {
				t.Fatalf("unknown hash found: %v %v", ok, err)
			}
		}
		if n := s.loads.Load(); n != 3 || c.Len() != 0 {
			t.Errorf("%d loads, %d entries; want 3 and 0", n, c.Len())
		}
	})

	t.Run("revocation and a change of the creator show at the next Get", func(t *testing.T) {
		c, s := newCache(0)
		c.Get(ctx, "p", "h1")
		c.Get(ctx, "p", "h2")
		s.set("h1", apikeycache.Entry{KeyID: "k1", CreatedBy: "u1", Revoked: true})
		c.InvalidateKey("k1")
		if e, _, _ := c.Get(ctx, "p", "h1"); !e.Revoked {
			t.Error("a revoked key was answered from the cache")
		}
		s.set("h2", apikeycache.Entry{KeyID: "k2", CreatedBy: "u2", CreatorRole: "customer"})
		c.InvalidateUser("u2")
		if e, _, _ := c.Get(ctx, "p", "h2"); e.CreatorRole != "customer" || e.CreatorActive {
			t.Errorf("the creator's change was not seen: %+v", e)
		}
		c.InvalidateAll()
		if c.Len() != 0 {
			t.Error("InvalidateAll left entries")
		}
	})

	t.Run("entries expire after MaxAge", func(t *testing.T) {
		c, s := newCache(0)
		c.Get(ctx, "p", "h1")
		now = now.Add(time.Minute)
		c.Get(ctx, "p", "h1")
		if n := s.loads.Load(); n != 2 {
			t.Errorf("%d loads, want 2 (expired)", n)
		}
	})

	t.Run("a load overtaken by an invalidation is not kept", func(t *testing.T) {
		c, s := newCache(0)
		s.hook = func() { c.InvalidateKey("k1") } // the revocation lands during the load
		c.Get(ctx, "p", "h1")
		s.hook = nil
		if c.Len() != 0 {
			t.Error("a stale load was cached")
		}
	})

	t.Run("bounded, and errors are not cached", func(t *testing.T) {
		c, s := newCache(1)
		c.Get(ctx, "p", "h1")
		c.Get(ctx, "p", "h2")
		if c.Len() != 1 {
			t.Errorf("%d entries, want at most 1", c.Len())
		}
		s.fail = errors.New("db down")
		c.InvalidateAll()
		if _, _, err := c.Get(ctx, "p", "h1"); !errors.Is(err, s.fail) || c.Len() != 0 {
			t.Errorf("error %v, %d entries", err, c.Len())
		}
	})

	t.Run("concurrent misses share one load", func(t *testing.T) {
		c, s := newCache(0)
		release := make(chan struct{})
		s.hook = func() { <-release }
		var wg sync.WaitGroup
		for range 20 {
			wg.Add(1)
			go func() { defer wg.Done(); c.Get(ctx, "p", "h1") }()
		}
		time.Sleep(50 * time.Millisecond)
		close(release)
		wg.Wait()
		if n := s.loads.Load(); n > 2 {
			t.Errorf("%d loads for 20 concurrent misses", n)
		}
	})
}
