package session_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rustok/rustok/commands"
	sessioncmd "github.com/rustok/rustok/commands/session"
	usercmd "github.com/rustok/rustok/commands/user"
	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/rbac"
	"github.com/rustok/rustok/domain/session"
	"github.com/rustok/rustok/domain/user"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/eventstore/relay"
	"github.com/rustok/rustok/platform/database/dbtest"
	"github.com/rustok/rustok/platform/password"
	"github.com/rustok/rustok/platform/token"
	sessionproj "github.com/rustok/rustok/projections/session"
	sessionqry "github.com/rustok/rustok/queries/session"
)

var (
	_ sessioncmd.Hasher         = (*password.Hasher)(nil)
	_ sessioncmd.Issuer         = (*token.Authority)(nil)
	_ sessioncmd.ActiveSessions = (*sessionqry.Reader)(nil)
	_ commands.Store            = (*eventstore.Store)(nil)
)

// t0 is when every test starts.
var t0 = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// fast are argon2 parameters small enough for tests.
var fast = password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}

// policy: sessions last a day, a rotated token may come back for 30 s.
var policy = session.Policy{Lifetime: 24 * time.Hour, RefreshGrace: 30 * time.Second}

const seedPassword = "correct horse battery"

var (
	laptop = session.Client{IP: "203.0.113.7", UserAgent: "Laptop/1"}
	phone  = session.Client{IP: "2001:db8::9", UserAgent: "Phone/2"}
)

// clock is a settable clock, safe for concurrent use.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock { c := &clock{}; c.set(t); return c }
func (c *clock) now() time.Time   { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) set(t time.Time)  { c.ns.Store(t.UnixNano()) }
func (c *clock) advance(d time.Duration) {
	c.ns.Add(int64(d))
}

// countingHasher is a password.Hasher that counts its calls.
type countingHasher struct {
	*password.Hasher
	verify, dummy atomic.Int64
}

func (h *countingHasher) Verify(ctx context.Context, pw, encoded string) (bool, error) {
	h.verify.Add(1)
	return h.Hasher.Verify(ctx, pw, encoded)
}

func (h *countingHasher) VerifyDummy(ctx context.Context, pw string) error {
	h.dummy.Add(1)
	return h.Hasher.VerifyDummy(ctx, pw)
}

// gate enables every module.
type gate struct{}

func (gate) ModuleEnabled(context.Context, string, string) (bool, error) { return true, nil }

// env is one database with an event store, two tenants, users created by
// commands/user, and every session handler.
type env struct {
	store   *eventstore.Store
	reader  *sessionqry.Reader
	hasher  *countingHasher
	tokens  *token.Authority
	clock   *clock
	deps    sessioncmd.Deps
	tenant  string
	other   string // another tenant
	userDep usercmd.Deps

	signIn    sessioncmd.TokenHandler[sessioncmd.SignIn]
	refresh   sessioncmd.TokenHandler[sessioncmd.Refresh]
	signOut   commands.Handler[sessioncmd.SignOut]
	revoke    commands.Handler[sessioncmd.RevokeSession]
	revokeAll commands.Handler[sessioncmd.RevokeAll]
	revoker   *sessioncmd.Revoker
}

func newEnv(tb testing.TB, dbURL string) *env {
	tb.Helper()
	db := dbtest.OpenURL(tb, dbURL)
	store, err := eventstore.New(db, eventstore.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	ph, err := password.New(password.Options{Params: fast})
	if err != nil {
		tb.Fatal(err)
	}
	c := newClock(t0)
	keys, err := token.LoadKeySet("HS256", "0123456789abcdefghijklmnopqrstuvwxyzABCDEF", nil)
	if err != nil {
		tb.Fatal(err)
	}
	auth, err := token.New(token.Options{Keys: keys, Issuer: "rustok", Audience: "rustok", Now: c.now})
	if err != nil {
		tb.Fatal(err)
	}
	e := &env{
		store: store, reader: sessionqry.NewReader(db), hasher: &countingHasher{Hasher: ph}, tokens: auth, clock: c,
		tenant: uuid.NewString(), other: uuid.NewString(),
	}
	e.deps = sessioncmd.Deps{
		Store: store, Modules: gate{}, Hasher: e.hasher, Tokens: auth,
		RefreshKey: []byte("test refresh key of at least 32 bytes!"),
		Sessions:   e.reader, Policy: policy,
		NewID: func() (string, error) { return uuid.NewString(), nil },
		Now:   c.now,
	}
	e.userDep = usercmd.Deps{
		Store: store, Modules: gate{}, Hasher: ph,
		NewID:    func() (string, error) { return uuid.NewString(), nil },
		Now:      c.now,
		Sessions: keepSessions{},
	}
	e.build(e.deps)
	return e
}

func (e *env) build(d sessioncmd.Deps) {
	e.signIn = sessioncmd.NewSignInHandler(d, commands.Decorators{})
	e.refresh = sessioncmd.NewRefreshHandler(d, commands.Decorators{})
	e.signOut = sessioncmd.NewSignOutHandler(d, commands.Decorators{})
	e.revoke = sessioncmd.NewRevokeSessionHandler(d, commands.Decorators{})
	e.revokeAll = sessioncmd.NewRevokeAllHandler(d, commands.Decorators{})
	e.revoker = sessioncmd.NewRevoker(d)
}

// root is a super_admin actor who is not stored.
func root(tb testing.TB) rbac.Actor { return actor(tb, uuid.NewString(), user.RoleSuperAdmin) }

func actor(tb testing.TB, id string, role user.Role) rbac.Actor {
	tb.Helper()
	a, err := rbac.UserActor(id, rbac.Role(role))
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

// seed creates an active user of role with email in tenant and returns its
// id.
func (e *env) seed(tb testing.TB, tenant, email string, role user.Role) string {
	tb.Helper()
	id := uuid.NewString()
	if _, err := usercmd.NewCreateUserHandler(e.userDep, commands.Decorators{}).Handle(context.Background(), usercmd.CreateUser{
		TenantID: tenant, Actor: root(tb), ID: id, Email: email, Password: seedPassword, Name: "N", Role: role,
	}); err != nil {
		tb.Fatalf("seed %s: %v", email, err)
	}
	return id
}

// setStatus changes a user's status as a super_admin.
func (e *env) setStatus(tb testing.TB, id string, s user.Status) {
	tb.Helper()
	if _, err := usercmd.NewChangeStatusHandler(e.userDep, commands.Decorators{}).Handle(context.Background(), usercmd.ChangeStatus{
		TenantID: e.tenant, Actor: root(tb), UserID: id, Status: s,
	}); err != nil {
		tb.Fatal(err)
	}
}

// deleteUser deletes a user as a super_admin.
func (e *env) deleteUser(tb testing.TB, id string) {
	tb.Helper()
	if _, err := usercmd.NewDeleteUserHandler(e.userDep, commands.Decorators{}).Handle(context.Background(), usercmd.DeleteUser{
		TenantID: e.tenant, Actor: root(tb), UserID: id,
	}); err != nil {
		tb.Fatal(err)
	}
}

// login signs email in to the env's tenant and fails the test on error.
func (e *env) login(tb testing.TB, email string, c session.Client) sessioncmd.Tokens {
	tb.Helper()
	out, err := e.signIn.Handle(context.Background(), sessioncmd.SignIn{
		TenantID: e.tenant, Actor: rbac.Anonymous(), Email: email, Password: seedPassword, Client: c,
	})
	if err != nil {
		tb.Fatalf("sign in %s: %v", email, err)
	}
	return out
}

// doRefresh refreshes rt in the env's tenant.
func (e *env) doRefresh(rt string) (sessioncmd.Tokens, error) {
	return e.refresh.Handle(context.Background(), sessioncmd.Refresh{TenantID: e.tenant, RefreshToken: rt, Client: phone})
}

// load rebuilds a session from its stream.
func (e *env) load(tb testing.TB, id string) *session.Session {
	tb.Helper()
	stored, err := e.store.Load(context.Background(), session.StreamType, id)
	if err != nil {
		tb.Fatal(err)
	}
	var history []session.Event
	for _, ev := range stored {
		d, err := session.Decode(ev.Type, ev.SchemaVersion, ev.Payload)
		if err != nil {
			tb.Fatal(err)
		}
		history = append(history, d)
	}
	s, err := session.Load(history)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// project brings the sessions read model up to the head of the log.
func (e *env) project(tb testing.TB) {
	tb.Helper()
	ctx := context.Background()
	head, err := e.store.Head(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := relay.CatchUpTo(ctx, e.store, sessionproj.Projection(), relay.Config{}, head, 30*time.Second); err != nil {
		tb.Fatal(err)
	}
}

// wantCode fails unless err is an application error with code (and, when
// target is not nil, matches target).
func wantCode(tb testing.TB, err error, code domain.Code, target error) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("err = nil, want %s", code)
	}
	if got := domain.CodeOf(err); got != code {
		tb.Fatalf("code = %s (%v), want %s", got, err, code)
	}
	if target != nil && !errors.Is(err, target) {
		tb.Fatalf("err = %v, want %v", err, target)
	}
}

// revoked reports the reason a session was revoked for, or "".
func (e *env) revokedFor(tb testing.TB, id string) session.Reason {
	tb.Helper()
	r, ok := e.load(tb, id).Revoked()
	if !ok {
		return ""
	}
	return r
}

var passwordErrBusy = password.ErrBusy

func commandsDecorators() commands.Decorators { return commands.Decorators{} }

// keepSessions is a usercmd.SessionRevoker that ends nothing: these tests
// ban and delete users to see what the session commands do with them, not
// what the user commands revoke (commands/user tests that).
type keepSessions struct{}

func (keepSessions) RevokeForPasswordChange(context.Context, string, string, string, eventstore.Metadata) error {
	return nil
}

func (keepSessions) RevokeForReset(context.Context, string, string, eventstore.Metadata) error {
	return nil
}

func (keepSessions) RevokeForDisabledUser(context.Context, string, string, eventstore.Metadata) error {
	return nil
}
