package principalcache_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/session"
	"github.com/rustok/rustok/domain/user"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/platform/principalcache"
	sessionqry "github.com/rustok/rustok/queries/session"
	userqry "github.com/rustok/rustok/queries/user"
)

const (
	tenantA = "0190b6a4-0000-7000-8000-00000000000a"
	tenantB = "0190b6a4-0000-7000-8000-00000000000b"
	alice   = "0190b6a4-0000-7000-8000-0000000000a1"
	bob     = "0190b6a4-0000-7000-8000-0000000000b0"
)

// sid returns the i-th session id of the fake read model.
func sid(i int) string { return fmt.Sprintf("0190b6a4-0000-7000-9000-%012x", i) }

// fakeReaders is an in-memory sessions and users read model that counts its
// reads. Sessions not in the map but with an id sid(i), i ≥ 1<<20, are
// synthesized (alice's, in tenantA), so that huge numbers of sessions cost
// the test no memory. The first blockCalls session reads report on entered
// and wait for gate to close.
type fakeReaders struct {
	sessionCalls, userCalls atomic.Int64
	blockCalls              int64
	blockUsers              bool // block in user reads instead of session reads
	entered                 chan struct{}
	gate                    chan struct{}

	mu       sync.Mutex
	sessions map[string]sessionqry.View
	users    map[string]userqry.View
	err      error
}

func newFake() *fakeReaders {
	return &fakeReaders{
		sessions: map[string]sessionqry.View{},
		users: map[string]userqry.View{
			alice: {ID: alice, TenantID: tenantA, Role: user.RoleAdmin, Status: user.StatusActive},
			bob:   {ID: bob, TenantID: tenantA, Role: user.RoleCustomer, Status: user.StatusActive},
		},
	}
}

func (f *fakeReaders) block(n int64) *fakeReaders {
	f.blockCalls, f.entered, f.gate = n, make(chan struct{}, n), make(chan struct{})
	return f
}

func (f *fakeReaders) addSession(id, tenantID, userID string, expiresAt time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sessions[id] = sessionqry.View{ID: id, TenantID: tenantID, UserID: userID, ExpiresAt: expiresAt}
}

func (f *fakeReaders) revoke(id string, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v := f.sessions[id]
	v.RevokedAt, v.RevokeReason = &at, string(session.ReasonSignOut)
	f.sessions[id] = v
}

func (f *fakeReaders) setUser(id string, fn func(*userqry.View)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v := f.users[id]
	fn(&v)
	f.users[id] = v
}

func (f *fakeReaders) setErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

type sessionsOf struct{ *fakeReaders }
type usersOf struct{ *fakeReaders }

func (s sessionsOf) Get(_ context.Context, tenantID, sessionID string) (sessionqry.View, error) {
	f := s.fakeReaders
	n := f.sessionCalls.Add(1)
	f.mu.Lock()
	v, ok := f.sessions[sessionID]
	err := f.err
	f.mu.Unlock()
	if n <= f.blockCalls && !f.blockUsers {
		f.entered <- struct{}{}
		<-f.gate
	}
	if err != nil {
		return sessionqry.View{}, err
	}
	if !ok {
		var i int
		if _, serr := fmt.Sscanf(sessionID[24:], "%x", &i); serr == nil && i >= 1<<20 {
			v, ok = sessionqry.View{ID: sessionID, TenantID: tenantA, UserID: alice, ExpiresAt: farFuture}, true
		}
	}
	if !ok || v.TenantID != tenantID {
		return sessionqry.View{}, fmt.Errorf("session %s: %w", sessionID, sessionqry.ErrNotFound)
	}
	return v, nil
}

func (u usersOf) Get(_ context.Context, tenantID, userID string) (userqry.View, error) {
	f := u.fakeReaders
	n := f.userCalls.Add(1)
	f.mu.Lock()
	v, ok := f.users[userID]
	f.mu.Unlock()
	if n <= f.blockCalls && f.blockUsers {
		f.entered <- struct{}{}
		<-f.gate
	}
	if !ok || v.TenantID != tenantID || v.Status == "" {
		return userqry.View{}, fmt.Errorf("user %s: %w", userID, userqry.ErrNotFound)
	}
	return v, nil
}

var farFuture = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)

// clock is a settable clock for Config.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Now().UTC()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func mustNew(tb testing.TB, cfg principalcache.Config, f *fakeReaders) (*principalcache.Cache, *prometheus.Registry) {
	tb.Helper()
	reg := prometheus.NewPedanticRegistry()
	c, err := principalcache.New(cfg, sessionsOf{f}, usersOf{f}, reg, nil)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(func() {
		if err := c.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return c, reg
}

// metric returns the value of counter or gauge name (with label scope=value
// when scope is given).
func metric(tb testing.TB, g prometheus.Gatherer, name string, scope ...string) float64 {
	tb.Helper()
	families, err := g.Gather()
	if err != nil {
		tb.Fatalf("gather: %v", err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if len(scope) > 0 && (len(m.GetLabel()) == 0 || m.GetLabel()[0].GetValue() != scope[0]) {
				continue
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	tb.Fatalf("metric %s %v not registered", name, scope)
	return 0
}

func mustLookup(tb testing.TB, c *principalcache.Cache, tenantID, sessionID, userID string) principalcache.Principal {
	tb.Helper()
	p, err := c.Lookup(context.Background(), tenantID, sessionID, userID)
	if err != nil {
		tb.Fatalf("Lookup(%s): %v", sessionID, err)
	}
	return p
}

func wantUnknown(tb testing.TB, c *principalcache.Cache, tenantID, sessionID, userID string) {
	tb.Helper()
	p, err := c.Lookup(context.Background(), tenantID, sessionID, userID)
	if !errors.Is(err, principalcache.ErrUnknownSession) || domain.CodeOf(err) != domain.CodeUnauthenticated {
		tb.Fatalf("Lookup(%s) = %+v, %v; want ErrUnknownSession", sessionID, p, err)
	}
}

func TestHitsMakeNoReads(t *testing.T) {
	f := newFake()
	f.addSession(sid(1), tenantA, alice, farFuture)
	c, reg := mustNew(t, principalcache.Config{}, f)
	for range 100 {
		p := mustLookup(t, c, tenantA, sid(1), alice)
		if !p.Active || p.Revoked || p.Role != user.RoleAdmin || p.Status != user.StatusActive || !p.ExpiresAt.Equal(farFuture) || p.Check() != nil {
			t.Fatalf("Lookup = %+v (Check %v)", p, p.Check())
		}
	}
	if s, u := f.sessionCalls.Load(), f.userCalls.Load(); s != 1 || u != 1 {
		t.Fatalf("reads = %d sessions, %d users; want 1 and 1", s, u)
	}
	if h, m, l := metric(t, reg, "rustok_principal_cache_hits_total"), metric(t, reg, "rustok_principal_cache_misses_total"),
		metric(t, reg, "rustok_principal_cache_loads_total"); h != 99 || m != 1 || l != 1 {
		t.Fatalf("hits %v, misses %v, loads %v; want 99, 1, 1", h, m, l)
	}
}

func TestConcurrentMissesMakeOneLoad(t *testing.T) {
	const n = 1000
	f := newFake().block(n)
	f.addSession(sid(1), tenantA, alice, farFuture)
	c, reg := mustNew(t, principalcache.Config{}, f)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			p, err := c.Lookup(context.Background(), tenantA, sid(1), alice)
			if err == nil && !p.Active {
				err = fmt.Errorf("inactive %+v", p)
			}
			errs <- err
		})
	}
	deadline := time.Now().Add(20 * time.Second)
	for metric(t, reg, "rustok_principal_cache_misses_total") < n {
		if time.Now().After(deadline) {
			close(f.gate)
			t.Fatalf("only %v of %d lookups missed", metric(t, reg, "rustok_principal_cache_misses_total"), n)
		}
		time.Sleep(time.Millisecond)
	}
	close(f.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if s := f.sessionCalls.Load(); s != 1 {
		t.Fatalf("session reads = %d, want 1", s)
	}
	if co := metric(t, reg, "rustok_principal_cache_coalesced_total"); co < 1 || co > n-1 {
		t.Fatalf("coalesced = %v", co)
	}
}

func TestUnknownSessionIsCachedUntilInvalidated(t *testing.T) {
	f := newFake()
	c, reg := mustNew(t, principalcache.Config{}, f)
	for range 3 {
		wantUnknown(t, c, tenantA, sid(7), alice)
	}
	if s := f.sessionCalls.Load(); s != 1 {
		t.Fatalf("session reads = %d, want 1 (negative entry)", s)
	}
	if nh := metric(t, reg, "rustok_principal_cache_negative_hits_total"); nh != 2 {
		t.Fatalf("negative hits = %v, want 2", nh)
	}
	f.addSession(sid(7), tenantA, alice, farFuture)
	wantUnknown(t, c, tenantA, sid(7), alice) // still cached as unknown
	c.InvalidateSession(sid(7))
	if p := mustLookup(t, c, tenantA, sid(7), alice); !p.Active {
		t.Fatalf("after invalidation: %+v", p)
	}
}

func TestNegativeEntryExpires(t *testing.T) {
	f := newFake()
	clk := newClock()
	c, _ := mustNew(t, principalcache.Config{NegativeTTL: 10 * time.Second, Now: clk.Now}, f)
	wantUnknown(t, c, tenantA, sid(7), alice)
	f.addSession(sid(7), tenantA, alice, farFuture)
	clk.Advance(9 * time.Second)
	wantUnknown(t, c, tenantA, sid(7), alice)
	clk.Advance(time.Second)
	mustLookup(t, c, tenantA, sid(7), alice)
	if s := f.sessionCalls.Load(); s != 2 {
		t.Fatalf("session reads = %d, want 2", s)
	}
}

func TestEntryMaxAge(t *testing.T) {
	f := newFake()
	clk := newClock()
	f.addSession(sid(1), tenantA, alice, farFuture)
	c, _ := mustNew(t, principalcache.Config{MaxAge: time.Minute, Now: clk.Now}, f)
	mustLookup(t, c, tenantA, sid(1), alice)
	f.setUser(alice, func(v *userqry.View) { v.Role = user.RoleCustomer }) // an event the cache missed
	clk.Advance(59 * time.Second)
	if p := mustLookup(t, c, tenantA, sid(1), alice); p.Role != user.RoleAdmin {
		t.Fatalf("role before MaxAge = %s, want the cached admin", p.Role)
	}
	clk.Advance(time.Second)
	if p := mustLookup(t, c, tenantA, sid(1), alice); p.Role != user.RoleCustomer {
		t.Fatalf("role after MaxAge = %s, want customer", p.Role)
	}
}

func TestExpiryNeedsNoEvent(t *testing.T) {
	f := newFake()
	clk := newClock()
	f.addSession(sid(1), tenantA, alice, clk.Now().Add(10*time.Second))
	c, _ := mustNew(t, principalcache.Config{Now: clk.Now}, f)
	if p := mustLookup(t, c, tenantA, sid(1), alice); !p.Active {
		t.Fatalf("before expiry: %+v", p)
	}
	clk.Advance(10 * time.Second)
	p := mustLookup(t, c, tenantA, sid(1), alice)
	if p.Active || p.Revoked || !errors.Is(p.Check(), session.ErrExpired) {
		t.Fatalf("at expiry: %+v, Check %v; want inactive, ErrExpired", p, p.Check())
	}
	if s := f.sessionCalls.Load(); s != 1 {
		t.Fatalf("session reads = %d, want 1", s)
	}
}

func TestInvalidation(t *testing.T) {
	f := newFake()
	for i := 1; i <= 3; i++ {
		f.addSession(sid(i), tenantA, alice, farFuture)
	}
	f.addSession(sid(4), tenantA, bob, farFuture)
	c, reg := mustNew(t, principalcache.Config{}, f)
	lookAll := func() {
		for i := 1; i <= 3; i++ {
			mustLookup(t, c, tenantA, sid(i), alice)
		}
		mustLookup(t, c, tenantA, sid(4), bob)
	}
	lookAll()
	reads := func() int64 { return f.sessionCalls.Load() }
	if reads() != 4 {
		t.Fatalf("reads = %d", reads())
	}

	// A session event drops that session only.
	f.revoke(sid(2), time.Now())
	if !c.Invalidate(eventstore.Event{Stream: eventstore.Stream{Type: session.StreamType, ID: sid(2), TenantID: tenantA}, Type: session.TypeRevoked}) {
		t.Fatal("session.revoked invalidated nothing")
	}
	p := mustLookup(t, c, tenantA, sid(2), alice)
	if p.Active || !p.Revoked || !errors.Is(p.Check(), session.ErrRevoked) {
		t.Fatalf("after revocation: %+v", p)
	}
	lookAll()
	if reads() != 5 {
		t.Fatalf("reads = %d, want 5: only the revoked session reloads", reads())
	}

	// Events that change nothing cached invalidate nothing.
	for _, typ := range []string{user.TypeUpdated, user.TypePasswordResetRequested} {
		if c.Invalidate(eventstore.Event{Stream: eventstore.Stream{Type: user.StreamType, ID: alice}, Type: typ}) {
			t.Fatalf("%s invalidated", typ)
		}
	}
	if c.Invalidate(eventstore.Event{Stream: eventstore.Stream{Type: "tenant", ID: tenantA}, Type: "tenant.updated"}) {
		t.Fatal("a tenant event invalidated")
	}

	// A user event reaches every session of the user.
	f.setUser(alice, func(v *userqry.View) { v.Status = user.StatusBanned })
	c.Invalidate(eventstore.Event{Stream: eventstore.Stream{Type: user.StreamType, ID: alice, TenantID: tenantA}, Type: user.TypeStatusChanged})
	for i := 1; i <= 3; i++ {
		p := mustLookup(t, c, tenantA, sid(i), alice)
		if p.Status != user.StatusBanned || i != 2 && !errors.Is(p.Check(), user.ErrNotActive) {
			t.Fatalf("session %d after ban: %+v, Check %v", i, p, p.Check())
		}
	}
	if reads() != 8 {
		t.Fatalf("reads = %d, want 8: alice's three sessions reload", reads())
	}
	// A deleted user: the session stays, the user is gone.
	f.setUser(alice, func(v *userqry.View) { v.Status = "" })
	c.Invalidate(eventstore.Event{Stream: eventstore.Stream{Type: user.StreamType, ID: alice, TenantID: tenantA}, Type: user.TypeDeleted})
	if p := mustLookup(t, c, tenantA, sid(1), alice); p.Status != "" || p.Role != "" || !errors.Is(p.Check(), principalcache.ErrUnknownUser) {
		t.Fatalf("after delete: %+v, Check %v", p, p.Check())
	}

	c.FlushAll()
	lookAll()
	if reads() != 13 {
		t.Fatalf("reads = %d, want 13: FlushAll reloads all four", reads())
	}
	for scope, want := range map[string]float64{"session": 1, "user": 2, "all": 1} {
		if got := metric(t, reg, "rustok_principal_cache_invalidations_total", scope); got != want {
			t.Errorf("invalidations{scope=%s} = %v, want %v", scope, got, want)
		}
	}
}

func TestOtherTenantOrUserIsUnknown(t *testing.T) {
	f := newFake()
	f.addSession(sid(1), tenantA, alice, farFuture)
	c, _ := mustNew(t, principalcache.Config{}, f)
	wantUnknown(t, c, tenantA, sid(1), bob) // not cached: loads
	mustLookup(t, c, tenantA, sid(1), alice)
	wantUnknown(t, c, tenantB, sid(1), alice) // from the cached entry
	wantUnknown(t, c, tenantA, sid(1), bob)
	for _, bad := range [][3]string{
		{tenantA, "not-a-uuid", alice}, {tenantA, sid(1), ""}, {"", sid(1), alice},
		{tenantA, "0190B6A4-0000-7000-9000-000000000001", alice},
	} {
		wantUnknown(t, c, bad[0], bad[1], bad[2])
	}
	if s := f.sessionCalls.Load(); s != 2 {
		t.Fatalf("session reads = %d, want 2", s)
	}
}

func TestReadErrorIsNotCached(t *testing.T) {
	f := newFake()
	f.addSession(sid(1), tenantA, alice, farFuture)
	c, _ := mustNew(t, principalcache.Config{}, f)
	errDB := errors.New("connection refused")
	f.setErr(errDB)
	if _, err := c.Lookup(context.Background(), tenantA, sid(1), alice); !errors.Is(err, errDB) {
		t.Fatalf("Lookup = %v, want %v", err, errDB)
	}
	f.setErr(nil)
	mustLookup(t, c, tenantA, sid(1), alice)
}

func TestLoadRacingInvalidationIsNotCached(t *testing.T) {
	tests := []struct {
		name       string
		change     func(f *fakeReaders)
		invalidate func(c *principalcache.Cache)
		check      func(p principalcache.Principal) bool
	}{
		{"session revoked", func(f *fakeReaders) { f.revoke(sid(1), time.Now()) },
			func(c *principalcache.Cache) { c.InvalidateSession(sid(1)) },
			func(p principalcache.Principal) bool { return p.Revoked }},
		{"user banned", func(f *fakeReaders) { f.setUser(alice, func(v *userqry.View) { v.Status = user.StatusBanned }) },
			func(c *principalcache.Cache) { c.InvalidateUser(alice) },
			func(p principalcache.Principal) bool { return p.Status == user.StatusBanned }},
		{"flush", func(f *fakeReaders) { f.setUser(alice, func(v *userqry.View) { v.Role = user.RoleManager }) },
			func(c *principalcache.Cache) { c.FlushAll() },
			func(p principalcache.Principal) bool { return p.Role == user.RoleManager }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake().block(1)
			f.blockUsers = tc.name == "user banned" // the load has read the old user
			f.addSession(sid(1), tenantA, alice, farFuture)
			c, _ := mustNew(t, principalcache.Config{}, f)
			done := make(chan principalcache.Principal, 1)
			go func() {
				p, _ := c.Lookup(context.Background(), tenantA, sid(1), alice)
				done <- p
			}()
			<-f.entered // the load has read the old session
			tc.change(f)
			tc.invalidate(c)
			// A lookup now must not join the stale load.
			if p := mustLookup(t, c, tenantA, sid(1), alice); !tc.check(p) {
				t.Fatalf("lookup during the stale load = %+v", p)
			}
			close(f.gate)
			<-done
			if p := mustLookup(t, c, tenantA, sid(1), alice); !tc.check(p) {
				t.Fatalf("lookup after the stale load = %+v: it was cached", p)
			}
		})
	}
}

func TestCancelledCallerLeavesTheLoadRunning(t *testing.T) {
	f := newFake().block(1)
	f.addSession(sid(1), tenantA, alice, farFuture)
	c, _ := mustNew(t, principalcache.Config{}, f)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := c.Lookup(ctx, tenantA, sid(1), alice)
		errc <- err
	}()
	<-f.entered
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Lookup = %v, want context.Canceled", err)
	}
	close(f.gate)
	deadline := time.Now().Add(10 * time.Second)
	for f.userCalls.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(10 * time.Millisecond) // the load stores its result
	mustLookup(t, c, tenantA, sid(1), alice)
	if s := f.sessionCalls.Load(); s != 1 {
		t.Fatalf("session reads = %d, want 1: the cancelled caller's load was cached", s)
	}
}

// TestMemoryIsBounded looks up 100,000 distinct sessions (and as many
// unknown ones) through a cache sized for 10,000, and checks bigcache's
// allocation and the Go heap stay within the configured limits.
func TestMemoryIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("100k lookups")
	}
	const maxEntries, n = 10_000, 100_000
	f := newFake()
	c, _ := mustNew(t, principalcache.Config{MaxEntries: maxEntries}, f)
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := heap()
	ctx := context.Background()
	for i := range n {
		if _, err := c.Lookup(ctx, tenantA, sid(1<<20+i), alice); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Lookup(ctx, tenantA, sid(i+1), alice); !errors.Is(err, principalcache.ErrUnknownSession) {
			t.Fatal(err)
		}
	}
	// 10,000 × 256 B → 3 MiB; 10,000 × 128 B → 2 MiB (rounded up).
	const limit = (3 + 2) << 20
	if got := c.Capacity(); got > limit {
		t.Fatalf("capacity %d bytes, want ≤ %d", got, limit)
	}
	grown := int64(heap()) - int64(before)
	t.Logf("%d entries held, %d bytes of cache, heap grew %d bytes", c.Len(), c.Capacity(), grown)
	if grown > 3*limit {
		t.Fatalf("heap grew %d bytes for a cache limited to %d", grown, limit)
	}
	if c.Len() >= n {
		t.Fatalf("%d entries held, want fewer than %d", c.Len(), n)
	}
	// The most recent sessions are still cached.
	calls := f.sessionCalls.Load()
	mustLookup(t, c, tenantA, sid(1<<20+n-1), alice)
	if f.sessionCalls.Load() != calls {
		t.Fatal("the newest session was evicted")
	}
}

func TestNewValidatesConfig(t *testing.T) {
	f := newFake()
	for _, cfg := range []principalcache.Config{
		{MaxAge: 500 * time.Millisecond}, {NegativeTTL: time.Millisecond}, {MaxEntries: -1},
	} {
		if c, err := principalcache.New(cfg, sessionsOf{f}, usersOf{f}, nil, nil); err == nil {
			_ = c.Close()
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
	if _, err := principalcache.New(principalcache.Config{}, nil, usersOf{f}, nil, nil); err == nil {
		t.Error("New accepted a nil reader")
	}
}

func TestMetricsRegistration(t *testing.T) {
	f := newFake()
	reg := prometheus.NewPedanticRegistry()
	c1, err := principalcache.New(principalcache.Config{}, sessionsOf{f}, usersOf{f}, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c2, err := principalcache.New(principalcache.Config{}, sessionsOf{f}, usersOf{f}, reg, nil); err == nil {
		_ = c2.Close()
		t.Fatal("a second cache registered the same metrics")
	}
	if err := c1.Close(); err != nil {
		t.Fatal(err)
	}
	c3, err := principalcache.New(principalcache.Config{}, sessionsOf{f}, usersOf{f}, reg, nil)
	if err != nil {
		t.Fatalf("after Close: %v", err)
	}
	_ = c3.Close()
}

// blockingWaiter stands for a projection that has not yet applied the event.
type blockingWaiter struct {
	called  chan []string
	release chan bool
}

func (w blockingWaiter) WaitFor(_ context.Context, _ int64, consumers []string, _ time.Duration) (bool, error) {
	w.called <- consumers
	return <-w.release, nil
}

// TestFollowHandlerWaitsForTheProjection: the handler invalidates only once
// the projection of the event's stream has processed it, and still
// invalidates when the wait times out.
func TestFollowHandlerWaitsForTheProjection(t *testing.T) {
	f := newFake()
	f.addSession(sid(1), tenantA, alice, farFuture)
	c, _ := mustNew(t, principalcache.Config{}, f)
	w := blockingWaiter{called: make(chan []string, 1), release: make(chan bool)}
	h := c.FollowHandler(principalcache.FollowConfig{Waiter: w, SessionsConsumer: "sessions", UsersConsumer: "users", FlushEventType: "system.cache_flushed"})
	for _, reached := range []bool{true, false} {
		mustLookup(t, c, tenantA, sid(1), alice)
		reads := f.sessionCalls.Load()
		ev := eventstore.Event{Stream: eventstore.Stream{Type: session.StreamType, ID: sid(1), TenantID: tenantA}, Type: session.TypeRefreshed, Position: 9}
		done := make(chan error, 1)
		go func() { done <- h(context.Background(), ev) }()
		if got := <-w.called; fmt.Sprint(got) != "[sessions]" {
			t.Fatalf("waited for %v, want [sessions]", got)
		}
		mustLookup(t, c, tenantA, sid(1), alice)
		if f.sessionCalls.Load() != reads {
			t.Fatal("invalidated before the projection caught up")
		}
		w.release <- reached
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		mustLookup(t, c, tenantA, sid(1), alice)
		if f.sessionCalls.Load() != reads+1 {
			t.Fatalf("not invalidated after the wait (reached %v)", reached)
		}
	}
	// User events wait for the users projection; unrelated events do not wait.
	done := make(chan error, 1)
	go func() {
		done <- h(context.Background(), eventstore.Event{Stream: eventstore.Stream{Type: user.StreamType, ID: alice}, Type: user.TypeRoleChanged, Position: 10})
	}()
	if got := <-w.called; fmt.Sprint(got) != "[users]" {
		t.Fatalf("waited for %v, want [users]", got)
	}
	w.release <- true
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := h(context.Background(), eventstore.Event{Stream: eventstore.Stream{Type: user.StreamType, ID: alice}, Type: user.TypeUpdated}); err != nil {
		t.Fatal(err)
	}
	reads := f.sessionCalls.Load()
	if err := h(context.Background(), eventstore.Event{Type: "system.cache_flushed"}); err != nil {
		t.Fatal(err)
	}
	mustLookup(t, c, tenantA, sid(1), alice)
	if f.sessionCalls.Load() != reads+1 {
		t.Fatal("the flush event did not flush")
	}
}

func BenchmarkLookupCached(b *testing.B) {
	f := newFake()
	for i := range 1024 {
		f.addSession(sid(i), tenantA, alice, farFuture)
	}
	c, _ := mustNew(b, principalcache.Config{}, f)
	ctx := context.Background()
	ids := make([]string, 1024)
	for i := range ids {
		ids[i] = sid(i)
		mustLookup(b, c, tenantA, ids[i], alice)
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if _, err := c.Lookup(ctx, tenantA, ids[i&1023], alice); err != nil {
			b.Fatal(err)
		}
		i++
	}
	if f.sessionCalls.Load() != 1024 {
		b.Fatalf("session reads = %d: the benchmark missed", f.sessionCalls.Load())
	}
}

func BenchmarkLookupCachedParallel(b *testing.B) {
	f := newFake()
	for i := range 1024 {
		f.addSession(sid(i), tenantA, alice, farFuture)
	}
	c, _ := mustNew(b, principalcache.Config{}, f)
	ids := make([]string, 1024)
	for i := range ids {
		ids[i] = sid(i)
		mustLookup(b, c, tenantA, ids[i], alice)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		i := 0
		for pb.Next() {
			if _, err := c.Lookup(ctx, tenantA, ids[i&1023], alice); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

// TestRegistrationReplacesUnknownUser: a session looked up before the users
// read model had its new user is cached as "user not found"; the user's
// registration, when it reaches the instance, drops that entry.
func TestRegistrationReplacesUnknownUser(t *testing.T) {
	const carol = "00000000-0000-4000-8000-0000000000c0"
	f := newFake()
	f.addSession(sid(7), tenantA, carol, farFuture)
	c, _ := mustNew(t, principalcache.Config{}, f)
	if p := mustLookup(t, c, tenantA, sid(7), carol); !errors.Is(p.Check(), principalcache.ErrUnknownUser) {
		t.Fatalf("before the users read model has carol: %+v, Check %v", p, p.Check())
	}
	f.setUser(carol, func(v *userqry.View) {
		*v = userqry.View{ID: carol, TenantID: tenantA, Role: user.RoleCustomer, Status: user.StatusActive}
	})
	if p := mustLookup(t, c, tenantA, sid(7), carol); !errors.Is(p.Check(), principalcache.ErrUnknownUser) {
		t.Fatalf("without an event the entry stays: %+v", p)
	}
	if !c.Invalidate(eventstore.Event{Stream: eventstore.Stream{Type: user.StreamType, ID: carol, TenantID: tenantA}, Type: user.TypeRegistered}) {
		t.Fatal("user.registered invalidated nothing")
	}
	if p := mustLookup(t, c, tenantA, sid(7), carol); p.Check() != nil || p.Role != user.RoleCustomer {
		t.Fatalf("after the registration: %+v, Check %v", p, p.Check())
	}
}
