package principalcache_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rustok/rustok/domain/session"
	"github.com/rustok/rustok/domain/user"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/eventstore/relay"
	"github.com/rustok/rustok/platform/database"
	"github.com/rustok/rustok/platform/database/dbtest"
	"github.com/rustok/rustok/platform/principalcache"
	"github.com/rustok/rustok/projections/projectiontest"
	sessionproj "github.com/rustok/rustok/projections/session"
	userproj "github.com/rustok/rustok/projections/user"
	sessionqry "github.com/rustok/rustok/queries/session"
	userqry "github.com/rustok/rustok/queries/user"
)

// countingSessions and countingUsers count the reads of the real read
// models; the first blockCalls session reads wait for gate.
type countingSessions struct {
	r          *sessionqry.Reader
	calls      atomic.Int64
	blockCalls int64
	gate       chan struct{}
}

func (c *countingSessions) Get(ctx context.Context, tenantID, sessionID string) (sessionqry.View, error) {
	if c.calls.Add(1) <= c.blockCalls {
		<-c.gate
	}
	return c.r.Get(ctx, tenantID, sessionID)
}

type countingUsers struct {
	r     *userqry.Reader
	calls atomic.Int64
}

func (c *countingUsers) Get(ctx context.Context, tenantID, userID string) (userqry.View, error) {
	c.calls.Add(1)
	return c.r.Get(ctx, tenantID, userID)
}

// env is a database with the sessions and users projections, a principal
// cache over their read models, and the cache's follower on the log, as
// every server instance runs it.
type env struct {
	t        *testing.T
	db       *database.DB
	store    *eventstore.Store
	cache    *principalcache.Cache
	reg      *prometheus.Registry
	sessions *countingSessions
	users    *countingUsers
	tenant   string
	clock    *clock

	runner     *relay.Runner
	stopRunner func()
	followed   atomic.Int64 // highest position the follower handled
	emails     int
}

// newEnv opens the environment; with runner false the projections do not run
// until startRunner.
func newEnv(t *testing.T, dbURL string, runner bool, followCfg principalcache.FollowConfig) *env {
	t.Helper()
	db, store := projectiontest.NewStore(t, dbURL)
	e := &env{t: t, db: db, store: store, tenant: uuid.NewString(), clock: newClock(),
		sessions: &countingSessions{r: sessionqry.NewReader(db)}, users: &countingUsers{r: userqry.NewReader(db)}}
	e.reg = prometheus.NewPedanticRegistry()
	var err error
	e.cache, err = principalcache.New(principalcache.Config{Now: e.clock.Now}, e.sessions, e.users, e.reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.cache.Close() })
	if runner {
		e.startRunner()
	}
	if followCfg.Waiter == nil && followCfg.SessionsConsumer != "" {
		// A Waiter fed by whichever runner is running now or later.
		followCfg.Waiter = relay.NewWaiter(db, nil).WithLimits(5*time.Millisecond, 0)
	}
	h := e.cache.FollowHandler(followCfg)
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = relay.Follow(ctx, store, nil, 5*time.Millisecond, func(ctx context.Context, ev eventstore.Event) error {
			defer e.followed.Store(ev.Position)
			return h(ctx, ev)
		}, nil, func(c eventstore.Cursor) { e.followed.Store(c.Position); close(started) })
	}()
	t.Cleanup(func() { cancel(); <-done })
	<-started
	return e
}

func (e *env) startRunner() {
	e.runner, e.stopRunner = projectiontest.StartRunner(e.t, e.store, projectiontest.Fast, nil, sessionproj.Projection(), userproj.Projection())
}

// waitApplied waits until both projections and the cache's follower have
// processed position.
func (e *env) waitApplied(position int64) {
	e.t.Helper()
	projectiontest.WaitFor(e.t, e.db, e.runner, position, sessionproj.Name, userproj.Name)
	e.waitFollowed(position)
}

func (e *env) waitFollowed(position int64) {
	e.t.Helper()
	deadline := time.Now().Add(projectiontest.Timeout)
	for e.followed.Load() < position {
		if time.Now().After(deadline) {
			e.t.Fatalf("the follower did not reach position %d (at %d)", position, e.followed.Load())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (e *env) append(stream eventstore.Stream, expected int64, evs []eventstore.NewEvent, opts ...eventstore.AppendOption) int64 {
	e.t.Helper()
	res, err := e.store.Append(context.Background(), stream, expected, evs, opts...)
	if err != nil {
		e.t.Fatalf("append to %s %s: %v", stream.Type, stream.ID, err)
	}
	return res.Position
}

func (e *env) register(role user.Role) (*user.User, int64) {
	e.t.Helper()
	e.emails++
	u, evs, err := user.Register(user.Registration{ID: uuid.NewString(), TenantID: e.tenant,
		Email: fmt.Sprintf("user%d@example.com", e.emails), Name: "Test User", PasswordHash: "$argon2id$test", Role: role}, time.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	pos := e.append(eventstore.Stream{Type: user.StreamType, ID: u.ID(), TenantID: e.tenant}, 0, projectiontest.Records(evs),
		eventstore.Reserve(user.EmailScope, u.EmailReservation()))
	return u, pos
}

// decide appends the events of a decision on u.
func (e *env) decide(u *user.User, decide func(*user.User) ([]user.Event, error)) int64 {
	e.t.Helper()
	version := u.Version()
	evs, err := decide(u)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.append(eventstore.Stream{Type: user.StreamType, ID: u.ID(), TenantID: e.tenant}, version, projectiontest.Records(evs))
}

func (e *env) start(userID, id string, at time.Time, lifetime time.Duration) (*session.Session, int64) {
	e.t.Helper()
	s, evs, err := session.Start(id, e.tenant, userID, "sha256:"+id, session.Client{IP: "192.0.2.1", UserAgent: "test"}, at,
		session.Policy{Lifetime: lifetime})
	if err != nil {
		e.t.Fatal(err)
	}
	return s, e.append(eventstore.Stream{Type: session.StreamType, ID: id, TenantID: e.tenant}, 0, projectiontest.Records(evs))
}

func (e *env) revoke(s *session.Session) int64 {
	e.t.Helper()
	version := s.Version()
	evs, err := s.Revoke(session.ReasonSignOut, time.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	return e.append(eventstore.Stream{Type: session.StreamType, ID: s.ID(), TenantID: e.tenant}, version, projectiontest.Records(evs))
}

func (e *env) lookup(s *session.Session) principalcache.Principal {
	e.t.Helper()
	p, err := e.cache.Lookup(context.Background(), s.TenantID(), s.ID(), s.UserID())
	if err != nil {
		e.t.Fatalf("Lookup(%s): %v", s.ID(), err)
	}
	return p
}

// reads returns the reads of both read models so far.
func (e *env) reads() (sessions, users int64) { return e.sessions.calls.Load(), e.users.calls.Load() }

var follow = principalcache.FollowConfig{SessionsConsumer: sessionproj.Name, UsersConsumer: userproj.Name, Wait: 20 * time.Second}

// TestSteadyStateReadsNothing: once a session is cached, lookups read
// neither read model, whatever their number.
func TestSteadyStateReadsNothing(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL, true, follow)
		u, _ := e.register(user.RoleManager)
		var ss []*session.Session
		var last int64
		for range 3 {
			var s *session.Session
			s, last = e.start(u.ID(), uuid.NewString(), time.Now(), time.Hour)
			ss = append(ss, s)
		}
		e.waitApplied(last)
		for _, s := range ss {
			if p := e.lookup(s); !p.Active || p.Role != user.RoleManager || p.Status != user.StatusActive || p.Check() != nil {
				t.Fatalf("Lookup = %+v", p)
			}
		}
		if s, us := e.reads(); s != 3 || us != 3 {
			t.Fatalf("first lookups read %d sessions, %d users; want 3 and 3", s, us)
		}
		for i := range 3000 {
			e.lookup(ss[i%3])
		}
		if s, us := e.reads(); s != 3 || us != 3 {
			t.Fatalf("steady state read %d sessions, %d users; want no more reads", s-3, us-3)
		}
		if l := metric(t, e.reg, "rustok_principal_cache_loads_total"); l != 3 {
			t.Fatalf("loads = %v, want 3", l)
		}
	})
}

// TestConcurrentMissesReadOnce: 1000 concurrent lookups of one uncached
// session read the read models once.
func TestConcurrentMissesReadOnce(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL, true, follow)
		u, _ := e.register("")
		s, pos := e.start(u.ID(), uuid.NewString(), time.Now(), time.Hour)
		e.waitApplied(pos)
		const n = 1000
		e.sessions.blockCalls, e.sessions.gate = 1, make(chan struct{})
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for range n {
			wg.Go(func() {
				p, err := e.cache.Lookup(context.Background(), e.tenant, s.ID(), u.ID())
				if err == nil && !p.Active {
					err = fmt.Errorf("inactive: %+v", p)
				}
				errs <- err
			})
		}
		deadline := time.Now().Add(30 * time.Second)
		for metric(t, e.reg, "rustok_principal_cache_misses_total") < n && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		close(e.sessions.gate)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if m := metric(t, e.reg, "rustok_principal_cache_misses_total"); m != n {
			t.Fatalf("misses = %v, want %d", m, n)
		}
		if s, us := e.reads(); s != 1 || us != 1 {
			t.Fatalf("%d concurrent misses read %d sessions, %d users; want 1 and 1", n, s, us)
		}
	})
}

// TestRevocationReachesTheNextLookup: session.revoked, projected and
// followed, makes the next lookup see the session revoked; the user's other
// sessions stay cached.
func TestRevocationReachesTheNextLookup(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL, true, follow)
		u, _ := e.register("")
		s1, _ := e.start(u.ID(), uuid.NewString(), time.Now(), time.Hour)
		s2, pos := e.start(u.ID(), uuid.NewString(), time.Now(), time.Hour)
		e.waitApplied(pos)
		e.lookup(s1)
		e.lookup(s2)
		pos = e.revoke(s1)
		e.waitApplied(pos)
		p := e.lookup(s1)
		if p.Active || !p.Revoked || !errors.Is(p.Check(), session.ErrRevoked) {
			t.Fatalf("after session.revoked: %+v, Check %v", p, p.Check())
		}
		if p := e.lookup(s2); !p.Active {
			t.Fatalf("the other session: %+v", p)
		}
		if s, _ := e.reads(); s != 3 {
			t.Fatalf("session reads = %d, want 3: only the revoked session reloads", s)
		}
	})
}

// TestRoleChangeAndBanReachEverySession: user.role_changed and
// user.status_changed reach the next lookup of every session of the user.
func TestRoleChangeAndBanReachEverySession(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL, true, follow)
		u, _ := e.register(user.RoleCustomer)
		var ss []*session.Session
		var pos int64
		for range 3 {
			var s *session.Session
			s, pos = e.start(u.ID(), uuid.NewString(), time.Now(), time.Hour)
			ss = append(ss, s)
		}
		e.waitApplied(pos)
		for _, s := range ss {
			if p := e.lookup(s); p.Role != user.RoleCustomer {
				t.Fatalf("before: %+v", p)
			}
		}
		pos = e.decide(u, func(u *user.User) ([]user.Event, error) { return u.ChangeRole(user.RoleAdmin, time.Now()) })
		e.waitApplied(pos)
		for _, s := range ss {
			if p := e.lookup(s); p.Role != user.RoleAdmin || p.Check() != nil {
				t.Fatalf("after user.role_changed: %+v", p)
			}
		}
		pos = e.decide(u, func(u *user.User) ([]user.Event, error) { return u.ChangeStatus(user.StatusBanned, time.Now()) })
		e.waitApplied(pos)
		for _, s := range ss {
			p := e.lookup(s)
			if p.Status != user.StatusBanned || !errors.Is(p.Check(), user.ErrNotActive) {
				t.Fatalf("after user.status_changed: %+v, Check %v", p, p.Check())
			}
		}
		pos = e.decide(u, func(u *user.User) ([]user.Event, error) { return u.Delete(time.Now()) })
		e.waitApplied(pos)
		for _, s := range ss {
			if p := e.lookup(s); !errors.Is(p.Check(), principalcache.ErrUnknownUser) {
				t.Fatalf("after user.deleted: %+v, Check %v", p, p.Check())
			}
		}
		if s, _ := e.reads(); s != 12 {
			t.Fatalf("session reads = %d, want 12 (3 sessions × 4 states)", s)
		}
	})
}

// TestExpiredSessionIsInactiveWithoutEvent: a session past its expiry is
// inactive at the next lookup, with no event and no read.
func TestExpiredSessionIsInactiveWithoutEvent(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL, true, follow)
		u, _ := e.register("")
		now := e.clock.Now()
		s, pos := e.start(u.ID(), uuid.NewString(), now.Add(-time.Hour+30*time.Second), time.Hour) // expires at now+30s
		e.waitApplied(pos)
		if p := e.lookup(s); !p.Active {
			t.Fatalf("before expiry: %+v", p)
		}
		e.clock.Advance(30 * time.Second)
		p := e.lookup(s)
		if p.Active || p.Revoked || !errors.Is(p.Check(), session.ErrExpired) || p.ExpiresAt.Sub(s.ExpiresAt()).Abs() > time.Millisecond {
			t.Fatalf("after expiry: %+v, Check %v", p, p.Check())
		}
		if sr, _ := e.reads(); sr != 1 {
			t.Fatalf("session reads = %d, want 1", sr)
		}
	})
}

// TestUnknownSessionFoundAfterStarted: an unknown session is cached as
// unknown, and found once its session.started is projected and followed.
func TestUnknownSessionFoundAfterStarted(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL, true, follow)
		u, pos := e.register("")
		e.waitApplied(pos)
		id := uuid.NewString()
		for range 3 {
			if _, err := e.cache.Lookup(context.Background(), e.tenant, id, u.ID()); !errors.Is(err, principalcache.ErrUnknownSession) {
				t.Fatalf("Lookup of an unknown session = %v", err)
			}
		}
		if s, _ := e.reads(); s != 1 {
			t.Fatalf("session reads = %d, want 1 (then negative hits)", s)
		}
		s, pos := e.start(u.ID(), id, time.Now(), time.Hour)
		e.waitApplied(pos)
		if p := e.lookup(s); !p.Active {
			t.Fatalf("after session.started: %+v", p)
		}
	})
}

// TestInvalidationWaitsForTheProjection shows why the follower waits for the
// projection: with the projections stopped, a revocation the follower
// applied at once would let a lookup reload — and cache again — the session
// as it was before. With the wait, the revocation is seen as soon as the
// follower is past it.
func TestInvalidationWaitsForTheProjection(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		for _, tc := range []struct {
			name        string
			cfg         principalcache.FollowConfig
			wantRevoked bool
		}{
			{"waiting", follow, true},
			{"not waiting (the hazard)", principalcache.FollowConfig{}, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e := newEnv(t, dbURL, true, tc.cfg)
				u, _ := e.register("")
				s, pos := e.start(u.ID(), uuid.NewString(), time.Now(), time.Hour)
				e.waitApplied(pos)
				e.lookup(s)
				e.stopRunner() // the projections fall behind
				pos = e.revoke(s)
				if !tc.wantRevoked {
					e.waitFollowed(pos) // invalidated already
				} else {
					time.Sleep(100 * time.Millisecond) // the follower waits
				}
				if p := e.lookup(s); !p.Active {
					t.Fatalf("revoked before the projection applied it: %+v", p)
				}
				e.startRunner()
				e.waitApplied(pos)
				if p := e.lookup(s); p.Revoked != tc.wantRevoked {
					t.Fatalf("after the projection and the follower: revoked %v, want %v", p.Revoked, tc.wantRevoked)
				}
			})
		}
	})
}
