package tenantcache_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/platform/tenantcache"
)

// fakeLoader serves tenants from a fixed list, counting calls. The first
// blockCalls calls report their key on entered, then wait for gate to close;
// they answer from the list as it was when they were called.
type fakeLoader struct {
	calls      atomic.Int64
	blockCalls int64
	entered    chan tenantcache.Key
	gate       chan struct{}

	mu      sync.Mutex
	tenants []tenantcache.Tenant
	err     error // returned instead, when set
}

var _ tenantcache.Loader = (*fakeLoader)(nil)

func newBlockingLoader(blockCalls int64, tenants ...tenantcache.Tenant) *fakeLoader {
	return &fakeLoader{
		tenants:    tenants,
		blockCalls: blockCalls,
		entered:    make(chan tenantcache.Key, blockCalls),
		gate:       make(chan struct{}),
	}
}

func (f *fakeLoader) LoadTenant(ctx context.Context, key tenantcache.Key) (tenantcache.Tenant, error) {
	n := f.calls.Add(1)
	f.mu.Lock()
	tenants, err := f.tenants, f.err
	f.mu.Unlock()
	if n <= f.blockCalls {
		f.entered <- key
		<-f.gate
	}
	if err != nil {
		return tenantcache.Tenant{}, err
	}
	for _, t := range tenants {
		if matches(t, key) {
			return t, nil
		}
	}
	return tenantcache.Tenant{}, tenantcache.ErrNotFound
}

func (f *fakeLoader) set(tenants []tenantcache.Tenant, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tenants, f.err = tenants, err
}

func matches(t tenantcache.Tenant, key tenantcache.Key) bool {
	switch key.Kind {
	case tenantcache.KindID:
		return t.ID == key.Value
	case tenantcache.KindSlug:
		return t.Slug == key.Value
	case tenantcache.KindHost:
		for _, d := range t.Domains {
			if d == key.Value {
				return true
			}
		}
	}
	return false
}

var (
	acme = tenantcache.Tenant{
		ID: "0190b6a4-0000-7000-8000-000000000001", Slug: "acme", Name: "Acme", Status: "active",
		Domains: []string{"acme.example", "shop.acme.example"}, EnabledModules: []string{"content", "commerce"},
		DefaultLocale: "en", Locales: []string{"en", "de"}, Version: 3,
	}
	globex = tenantcache.Tenant{
		ID: "0190b6a4-0000-7000-8000-000000000002", Slug: "globex", Name: "Globex", Status: "active",
		Domains: []string{"globex.example"}, Version: 1,
	}
)

func idKey(t tenantcache.Tenant) tenantcache.Key {
	return tenantcache.Key{Kind: tenantcache.KindID, Value: t.ID}
}
func slugKey(s string) tenantcache.Key { return tenantcache.Key{Kind: tenantcache.KindSlug, Value: s} }
func hostKey(h string) tenantcache.Key { return tenantcache.Key{Kind: tenantcache.KindHost, Value: h} }

func mustNew(tb testing.TB, cfg tenantcache.Config, loader tenantcache.Loader) (*tenantcache.Resolver, *prometheus.Registry) {
	tb.Helper()
	reg := prometheus.NewPedanticRegistry()
	r, err := tenantcache.New(cfg, loader, reg, nil)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(func() {
		if err := r.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return r, reg
}

// metric returns the value of the unlabelled counter or gauge name.
func metric(tb testing.TB, g prometheus.Gatherer, name string) float64 {
	tb.Helper()
	families, err := g.Gather()
	if err != nil {
		tb.Fatalf("gather: %v", err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		m := f.GetMetric()[0]
		if c := m.GetCounter(); c != nil {
			return c.GetValue()
		}
		return m.GetGauge().GetValue()
	}
	tb.Fatalf("metric %s not registered", name)
	return 0
}

type counts struct{ loads, hits, misses, negativeHits, coalesced, invalidations, entries float64 }

func readCounts(tb testing.TB, g prometheus.Gatherer, loader *fakeLoader) counts {
	tb.Helper()
	return counts{
		loads:         float64(loader.calls.Load()),
		hits:          metric(tb, g, "rustok_tenant_cache_hits_total"),
		misses:        metric(tb, g, "rustok_tenant_cache_misses_total"),
		negativeHits:  metric(tb, g, "rustok_tenant_cache_negative_hits_total"),
		coalesced:     metric(tb, g, "rustok_tenant_cache_coalesced_total"),
		invalidations: metric(tb, g, "rustok_tenant_cache_invalidations_total"),
		entries:       metric(tb, g, "rustok_tenant_cache_entries"),
	}
}

// wantResolve asserts the outcome of one Resolve: the tenant id, or the code
// of the error.
func wantResolve(tb testing.TB, r *tenantcache.Resolver, key tenantcache.Key, wantID string, wantCode domain.Code) {
	tb.Helper()
	got, err := r.Resolve(context.Background(), key)
	switch {
	case wantCode != "":
		if err == nil || domain.CodeOf(err) != wantCode {
			tb.Fatalf("Resolve(%s) = %+v, %v; want error code %s", key, got, err, wantCode)
		}
		if wantCode == domain.CodeNotFound && !errors.Is(err, tenantcache.ErrNotFound) {
			tb.Fatalf("Resolve(%s) error %v does not match ErrNotFound", key, err)
		}
	case err != nil:
		tb.Fatalf("Resolve(%s): %v", key, err)
	case got.ID != wantID:
		tb.Fatalf("Resolve(%s) = tenant %q, want %q", key, got.ID, wantID)
	}
}

func TestResolveCountsHitsMissesAndNegativeHits(t *testing.T) {
	type step struct {
		key      tenantcache.Key
		wantID   string
		wantCode domain.Code
	}
	tests := []struct {
		name  string
		steps []step
		want  counts
	}{
		{
			name:  "a first resolve misses and loads",
			steps: []step{{key: slugKey("acme"), wantID: acme.ID}},
			want:  counts{loads: 1, misses: 1, entries: 1},
		},
		{
			name:  "a second resolve of the same key hits without loading",
			steps: []step{{key: slugKey("acme"), wantID: acme.ID}, {key: slugKey("acme"), wantID: acme.ID}},
			want:  counts{loads: 1, misses: 1, hits: 1, entries: 1},
		},
		{
			name: "an unknown key is cached as not found",
			steps: []step{
				{key: slugKey("nobody"), wantCode: domain.CodeNotFound},
				{key: slugKey("nobody"), wantCode: domain.CodeNotFound},
				{key: slugKey("nobody"), wantCode: domain.CodeNotFound},
			},
			want: counts{loads: 1, misses: 1, negativeHits: 2, entries: 1},
		},
		{
			name: "id, slug and host are separate keys of one tenant",
			steps: []step{
				{key: idKey(acme), wantID: acme.ID},
				{key: slugKey("acme"), wantID: acme.ID},
				{key: hostKey("shop.acme.example"), wantID: acme.ID},
				{key: hostKey("shop.acme.example"), wantID: acme.ID},
			},
			want: counts{loads: 3, misses: 3, hits: 1, entries: 3},
		},
		{
			name: "a key that is not valid is refused before the caches",
			steps: []step{
				{key: tenantcache.Key{Kind: "email", Value: "a@b.c"}, wantCode: domain.CodeBadInput},
				{key: tenantcache.Key{Kind: tenantcache.KindSlug}, wantCode: domain.CodeBadInput},
			},
			want: counts{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			loader := &fakeLoader{tenants: []tenantcache.Tenant{acme, globex}}
			r, reg := mustNew(t, tenantcache.Config{}, loader)
			for _, s := range tc.steps {
				wantResolve(t, r, s.key, s.wantID, s.wantCode)
			}
			if got := readCounts(t, reg, loader); got != tc.want {
				t.Fatalf("counts = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestResolveReturnsTheWholeRecord(t *testing.T) {
	r, _ := mustNew(t, tenantcache.Config{}, &fakeLoader{tenants: []tenantcache.Tenant{acme}})
	for i := range 2 { // loaded, then decoded from the cache
		got, err := r.Resolve(context.Background(), slugKey("acme"))
		if err != nil {
			t.Fatalf("Resolve #%d: %v", i, err)
		}
		if fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", acme) {
			t.Fatalf("Resolve #%d = %#v, want %#v", i, got, acme)
		}
	}
}

func TestMetricsExposition(t *testing.T) {
	loader := &fakeLoader{tenants: []tenantcache.Tenant{acme}}
	r, reg := mustNew(t, tenantcache.Config{}, loader)
	wantResolve(t, r, slugKey("acme"), acme.ID, "")
	wantResolve(t, r, slugKey("acme"), acme.ID, "")
	wantResolve(t, r, slugKey("gone"), "", domain.CodeNotFound)
	wantResolve(t, r, slugKey("gone"), "", domain.CodeNotFound)
	r.Invalidate(acme.ID)

	const want = `
# HELP rustok_tenant_cache_coalesced_total Tenant cache misses that joined a load already in flight.
# TYPE rustok_tenant_cache_coalesced_total counter
rustok_tenant_cache_coalesced_total 0
# HELP rustok_tenant_cache_entries Entries in the positive and negative tenant caches, including expired entries not yet cleaned.
# TYPE rustok_tenant_cache_entries gauge
rustok_tenant_cache_entries 1
# HELP rustok_tenant_cache_hits_total Tenant resolutions answered from the positive cache.
# TYPE rustok_tenant_cache_hits_total counter
rustok_tenant_cache_hits_total 1
# HELP rustok_tenant_cache_invalidations_total Calls of Invalidate and InvalidateAll.
# TYPE rustok_tenant_cache_invalidations_total counter
rustok_tenant_cache_invalidations_total 1
# HELP rustok_tenant_cache_loads_total Calls of the loader (reads of the tenants read model) by the tenant cache.
# TYPE rustok_tenant_cache_loads_total counter
rustok_tenant_cache_loads_total 2
# HELP rustok_tenant_cache_misses_total Tenant resolutions that found no cache entry and went to the loader (alone or coalesced).
# TYPE rustok_tenant_cache_misses_total counter
rustok_tenant_cache_misses_total 2
# HELP rustok_tenant_cache_negative_hits_total Tenant resolutions answered as not found from the negative cache.
# TYPE rustok_tenant_cache_negative_hits_total counter
rustok_tenant_cache_negative_hits_total 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
	if n, err := testutil.GatherAndCount(reg); err != nil || n != 7 {
		t.Fatalf("GatherAndCount = %d, %v; want 7 series", n, err)
	}
}

// TestEntriesExpire uses 1 s TTLs: bigcache counts whole seconds, so an entry
// lives at least 1 s and expires within 2 s.
func TestEntriesExpire(t *testing.T) {
	tests := []struct {
		name     string
		cfg      tenantcache.Config
		key      tenantcache.Key
		wantID   string
		wantCode domain.Code
	}{
		{"a negative entry expires after NegativeTTL", tenantcache.Config{NegativeTTL: time.Second}, slugKey("later"), "", domain.CodeNotFound},
		{"a positive entry expires after TTL", tenantcache.Config{TTL: time.Second}, slugKey("acme"), acme.ID, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			loader := &fakeLoader{tenants: []tenantcache.Tenant{acme}}
			r, _ := mustNew(t, tc.cfg, loader)
			start := time.Now()
			wantResolve(t, r, tc.key, tc.wantID, tc.wantCode)
			wantResolve(t, r, tc.key, tc.wantID, tc.wantCode)
			if n := loader.calls.Load(); n != 1 {
				t.Fatalf("loader calls before expiry = %d, want 1", n)
			}
			for loader.calls.Load() == 1 {
				if time.Since(start) > 3*time.Second {
					t.Fatal("entry still cached after 3s")
				}
				time.Sleep(50 * time.Millisecond)
				wantResolve(t, r, tc.key, tc.wantID, tc.wantCode)
			}
			if elapsed := time.Since(start); elapsed < 950*time.Millisecond {
				t.Fatalf("entry expired after %s, want at least 1s", elapsed)
			}
		})
	}
}

func TestInvalidate(t *testing.T) {
	acmeKeys := []tenantcache.Key{idKey(acme), slugKey("acme"), hostKey("acme.example"), hostKey("shop.acme.example")}
	tests := []struct {
		name       string
		invalidate func(r *tenantcache.Resolver)
		reloaded   []tenantcache.Key // must load again
		stillHit   []tenantcache.Key // must still be answered from cache
	}{
		{
			name:       "by tenant id drops its id, slug and every domain key",
			invalidate: func(r *tenantcache.Resolver) { r.Invalidate(acme.ID) },
			reloaded:   acmeKeys,
			stillHit:   []tenantcache.Key{idKey(globex), slugKey("globex"), slugKey("missing")},
		},
		{
			name:       "by explicit keys drops those keys only, negative ones included",
			invalidate: func(r *tenantcache.Resolver) { r.Invalidate("", slugKey("acme"), slugKey("missing")) },
			reloaded:   []tenantcache.Key{slugKey("acme"), slugKey("missing")},
			stillHit:   []tenantcache.Key{idKey(acme), hostKey("acme.example"), idKey(globex)},
		},
		{
			name:       "of an unknown tenant drops nothing",
			invalidate: func(r *tenantcache.Resolver) { r.Invalidate("0190b6a4-0000-7000-8000-00000000ffff") },
			stillHit:   append([]tenantcache.Key{idKey(globex), slugKey("missing")}, acmeKeys...),
		},
		{
			name:       "all makes every key miss",
			invalidate: func(r *tenantcache.Resolver) { r.InvalidateAll() },
			reloaded:   append([]tenantcache.Key{idKey(globex), slugKey("globex"), slugKey("missing")}, acmeKeys...),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			loader := &fakeLoader{tenants: []tenantcache.Tenant{acme, globex}}
			r, reg := mustNew(t, tenantcache.Config{}, loader)
			all := append([]tenantcache.Key{idKey(globex), slugKey("globex"), slugKey("missing")}, acmeKeys...)
			for _, k := range all {
				if _, err := r.Resolve(context.Background(), k); err != nil && !errors.Is(err, tenantcache.ErrNotFound) {
					t.Fatalf("warm %s: %v", k, err)
				}
			}
			loader.calls.Store(0)
			tc.invalidate(r)
			if got := metric(t, reg, "rustok_tenant_cache_invalidations_total"); got != 1 {
				t.Fatalf("invalidations = %v, want 1", got)
			}
			for _, k := range tc.stillHit {
				before := loader.calls.Load()
				_, _ = r.Resolve(context.Background(), k) // outcome checked by warm-up; only loading matters
				if loader.calls.Load() != before {
					t.Errorf("%s was reloaded, want a cache hit", k)
				}
			}
			for _, k := range tc.reloaded {
				before := loader.calls.Load()
				_, _ = r.Resolve(context.Background(), k)
				if loader.calls.Load() != before+1 {
					t.Errorf("%s was answered from cache, want a reload", k)
				}
			}
		})
	}
}

func TestInvalidateAllEmptiesTheCaches(t *testing.T) {
	loader := &fakeLoader{tenants: []tenantcache.Tenant{acme}}
	r, reg := mustNew(t, tenantcache.Config{}, loader)
	wantResolve(t, r, slugKey("acme"), acme.ID, "")
	wantResolve(t, r, slugKey("gone"), "", domain.CodeNotFound)
	if got := metric(t, reg, "rustok_tenant_cache_entries"); got != 2 {
		t.Fatalf("entries = %v, want 2", got)
	}
	r.InvalidateAll()
	if got := metric(t, reg, "rustok_tenant_cache_entries"); got != 0 {
		t.Fatalf("entries after InvalidateAll = %v, want 0", got)
	}
	// A tenant that was missing and is created now is found at once.
	loader.set([]tenantcache.Tenant{acme, {ID: "0190b6a4-0000-7000-8000-000000000009", Slug: "gone", Status: "active"}}, nil)
	wantResolve(t, r, slugKey("gone"), "0190b6a4-0000-7000-8000-000000000009", "")
}

func TestConcurrentMissesMakeOneLoad(t *testing.T) {
	const n = 1000
	loader := newBlockingLoader(n, acme)
	r, reg := mustNew(t, tenantcache.Config{}, loader)

	var started atomic.Int64
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			started.Add(1)
			got, err := r.Resolve(context.Background(), slugKey("acme"))
			if err == nil && got.ID != acme.ID {
				err = fmt.Errorf("got tenant %q", got.ID)
			}
			errs <- err
		})
	}
	// Release the load only once every goroutine has started and missed.
	deadline := time.Now().Add(10 * time.Second)
	for started.Load() < n || metric(t, reg, "rustok_tenant_cache_misses_total") < n {
		if time.Now().After(deadline) {
			close(loader.gate)
			t.Fatalf("only %d goroutines started, %v missed", started.Load(), metric(t, reg, "rustok_tenant_cache_misses_total"))
		}
		time.Sleep(time.Millisecond)
	}
	close(loader.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Resolve: %v", err)
		}
	}
	if got := loader.calls.Load(); got != 1 {
		t.Fatalf("loader calls = %d, want exactly 1", got)
	}
	coalesced := metric(t, reg, "rustok_tenant_cache_coalesced_total")
	if coalesced < 1 || coalesced > n-1 {
		t.Fatalf("coalesced = %v, want between 1 and %d", coalesced, n-1)
	}
	t.Logf("%v of %d concurrent misses joined the one load", coalesced, n)
}

func TestLoaderErrorIsNotCached(t *testing.T) {
	errDB := errors.New("connection refused")
	loader := &fakeLoader{tenants: []tenantcache.Tenant{acme}, err: errDB}
	r, reg := mustNew(t, tenantcache.Config{}, loader)

	_, err := r.Resolve(context.Background(), slugKey("acme"))
	if !errors.Is(err, errDB) || domain.CodeOf(err) != domain.CodeInternal {
		t.Fatalf("Resolve error = %v (code %s), want wrapped %v, code INTERNAL", err, domain.CodeOf(err), errDB)
	}
	if err.Error() == errDB.Error() {
		t.Fatalf("error %q is not wrapped with context", err)
	}
	loader.set([]tenantcache.Tenant{acme}, nil)
	wantResolve(t, r, slugKey("acme"), acme.ID, "")
	if got := loader.calls.Load(); got != 2 {
		t.Fatalf("loader calls = %d, want 2 (the error was cached)", got)
	}
	if got := metric(t, reg, "rustok_tenant_cache_negative_hits_total"); got != 0 {
		t.Fatalf("negative hits = %v, want 0", got)
	}
}

func TestLoaderPanicIsAnError(t *testing.T) {
	r, _ := mustNew(t, tenantcache.Config{}, panicLoader{})
	_, err := r.Resolve(context.Background(), slugKey("acme"))
	if err == nil || !strings.Contains(err.Error(), "loader panicked: boom") {
		t.Fatalf("Resolve error = %v, want loader panicked: boom", err)
	}
}

type panicLoader struct{}

func (panicLoader) LoadTenant(context.Context, tenantcache.Key) (tenantcache.Tenant, error) {
	panic("boom")
}

// TestLoadRacingInvalidationIsNotCached: a load that was in flight when the
// tenant was invalidated may carry the old record; it must not be cached.
func TestLoadRacingInvalidationIsNotCached(t *testing.T) {
	renamed := acme
	renamed.Name, renamed.Version = "Acme Renamed", 4
	created := tenantcache.Tenant{ID: "0190b6a4-0000-7000-8000-000000000003", Slug: "newco", Name: "NewCo", Status: "active"}
	tests := []struct {
		name       string
		before     []tenantcache.Tenant // the read model when the load starts
		after      []tenantcache.Tenant // the read model after the change
		key        tenantcache.Key
		invalidate func(r *tenantcache.Resolver)
		wantStale  string // name of the tenant the in-flight load returns ("" for not found)
		wantFresh  string
	}{
		{"tenant updated during a load, invalidated by id", []tenantcache.Tenant{acme}, []tenantcache.Tenant{renamed},
			slugKey("acme"), func(r *tenantcache.Resolver) { r.Invalidate(acme.ID) }, "Acme", "Acme Renamed"},
		{"tenant updated during a load, invalidate all", []tenantcache.Tenant{acme}, []tenantcache.Tenant{renamed},
			hostKey("acme.example"), func(r *tenantcache.Resolver) { r.InvalidateAll() }, "Acme", "Acme Renamed"},
		{"tenant created during a not-found load, invalidated with its new keys", nil, []tenantcache.Tenant{created},
			slugKey("newco"), func(r *tenantcache.Resolver) { r.Invalidate(created.ID, slugKey("newco")) }, "", "NewCo"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			loader := newBlockingLoader(1, tc.before...)
			r, _ := mustNew(t, tenantcache.Config{}, loader)

			done := make(chan resolveResult, 1)
			go func() {
				got, err := r.Resolve(context.Background(), tc.key)
				done <- resolveResult{got, err}
			}()
			<-loader.entered // the load has read the old state
			loader.set(tc.after, nil)
			tc.invalidate(r)
			close(loader.gate)
			res := <-done
			if tc.wantStale == "" {
				if !errors.Is(res.err, tenantcache.ErrNotFound) {
					t.Fatalf("in-flight Resolve = %+v, %v; want not found", res.t, res.err)
				}
			} else if res.err != nil || res.t.Name != tc.wantStale {
				t.Fatalf("in-flight Resolve = %+v, %v; want %q", res.t, res.err, tc.wantStale)
			}

			got, err := r.Resolve(context.Background(), tc.key)
			if err != nil || got.Name != tc.wantFresh {
				t.Fatalf("Resolve after invalidation = %+v, %v; want %q (the stale result was cached)", got, err, tc.wantFresh)
			}
			if n := loader.calls.Load(); n != 2 {
				t.Fatalf("loader calls = %d, want 2", n)
			}
		})
	}
}

type resolveResult struct {
	t   tenantcache.Tenant
	err error
}

// TestResolveAfterInvalidationDoesNotJoinStaleLoad: a request that arrives
// after an invalidation starts its own load instead of waiting for, and
// sharing, the result of a load that began before it.
func TestResolveAfterInvalidationDoesNotJoinStaleLoad(t *testing.T) {
	renamed := acme
	renamed.Name = "Acme Renamed"
	loader := newBlockingLoader(1, acme)
	r, reg := mustNew(t, tenantcache.Config{}, loader)

	stale := make(chan resolveResult, 1)
	go func() {
		got, err := r.Resolve(context.Background(), slugKey("acme"))
		stale <- resolveResult{got, err}
	}()
	<-loader.entered
	loader.set([]tenantcache.Tenant{renamed}, nil)
	r.Invalidate(acme.ID)

	// Joining the blocked load would hang: bound the wait.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got, err := r.Resolve(ctx, slugKey("acme"))
	if err != nil || got.Name != "Acme Renamed" {
		t.Fatalf("Resolve after invalidation = %+v, %v; want Acme Renamed", got, err)
	}
	close(loader.gate)
	if res := <-stale; res.err != nil || res.t.Name != "Acme" {
		t.Fatalf("in-flight Resolve = %+v, %v; want Acme", res.t, res.err)
	}
	if got := metric(t, reg, "rustok_tenant_cache_coalesced_total"); got != 0 {
		t.Fatalf("coalesced = %v, want 0", got)
	}
	wantResolve(t, r, slugKey("acme"), acme.ID, "")
	if got, err := r.Resolve(context.Background(), slugKey("acme")); err != nil || got.Name != "Acme Renamed" {
		t.Fatalf("cached tenant = %+v, %v; want Acme Renamed", got, err)
	}
	if n := loader.calls.Load(); n != 2 {
		t.Fatalf("loader calls = %d, want 2", n)
	}
}

// TestCancelledCallerLeavesTheLoadRunning: a caller whose context ends gets
// its context error at once; the load completes for the cache.
func TestCancelledCallerLeavesTheLoadRunning(t *testing.T) {
	loader := newBlockingLoader(1, acme)
	r, _ := mustNew(t, tenantcache.Config{}, loader)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := r.Resolve(ctx, slugKey("acme"))
		done <- err
	}()
	<-loader.entered
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Resolve error = %v, want context.Canceled", err)
	}
	close(loader.gate)
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := r.Resolve(context.Background(), slugKey("acme"))
		if err != nil || got.ID != acme.ID {
			t.Fatalf("Resolve = %+v, %v; want acme", got, err)
		}
		if n := loader.calls.Load(); n == 1 {
			break // answered from the cache the abandoned load filled, or by joining it
		} else if n > 1 || time.Now().After(deadline) {
			t.Fatalf("loader calls = %d, want 1", n)
		}
	}
}

func TestMaxEntriesBoundsPositiveEntries(t *testing.T) {
	const maxEntries = 4
	var tenants []tenantcache.Tenant
	for i := range 20 {
		tenants = append(tenants, tenantcache.Tenant{ID: fmt.Sprintf("0190b6a4-0000-7000-8000-%012d", i), Slug: fmt.Sprintf("t%d", i), Status: "active"})
	}
	loader := &fakeLoader{tenants: tenants}
	r, reg := mustNew(t, tenantcache.Config{MaxEntries: maxEntries}, loader)
	for _, tn := range tenants {
		wantResolve(t, r, slugKey(tn.Slug), tn.ID, "")
		if got := metric(t, reg, "rustok_tenant_cache_entries"); got > maxEntries {
			t.Fatalf("entries = %v after resolving %s, want at most %d", got, tn.Slug, maxEntries)
		}
	}
	// Whatever is still cached is still indexed: invalidating every tenant
	// leaves no entry behind.
	for _, tn := range tenants {
		r.Invalidate(tn.ID)
	}
	if got := metric(t, reg, "rustok_tenant_cache_entries"); got != 0 {
		t.Fatalf("entries after invalidating every tenant = %v, want 0", got)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     tenantcache.Config
		wantErr string
	}{
		{"defaults are valid", tenantcache.Config{}, ""},
		{"sub-second ttl is refused", tenantcache.Config{TTL: 500 * time.Millisecond}, "tenant cache ttl 500ms: must be at least 1s"},
		{"negative negative ttl is refused", tenantcache.Config{NegativeTTL: -time.Second}, "tenant negative cache ttl -1s: must be at least 1s"},
		{"negative max entries is refused", tenantcache.Config{MaxEntries: -1}, "tenant cache max entries -1: must not be negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := tenantcache.New(tc.cfg, &fakeLoader{}, nil, nil)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if err := r.Close(); err != nil {
					t.Fatalf("Close: %v", err)
				}
				return
			}
			if err == nil || err.Error() != tc.wantErr {
				t.Fatalf("New error = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestMetricsRegistration(t *testing.T) {
	reg := prometheus.NewRegistry()
	first, err := tenantcache.New(tenantcache.Config{}, &fakeLoader{}, reg, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if _, err := tenantcache.New(tenantcache.Config{}, &fakeLoader{}, reg, nil); err == nil {
		t.Fatal("second New on the same registry succeeded, want a registration error")
	}
	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	second, err := tenantcache.New(tenantcache.Config{}, &fakeLoader{}, reg, nil)
	if err != nil {
		t.Fatalf("New after Close: %v", err)
	}
	if err := second.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}
