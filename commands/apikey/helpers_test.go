package apikey_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rustok/rustok/commands"
	apikeycmd "github.com/rustok/rustok/commands/apikey"
	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/apikey"
	"github.com/rustok/rustok/domain/rbac"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/eventstore/relay"
	"github.com/rustok/rustok/platform/database/dbtest"
	apikeyproj "github.com/rustok/rustok/projections/apikey"
)

var _ commands.Store = (*eventstore.Store)(nil)

// t0 is when every test starts.
var t0 = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// clock is a settable clock, safe for concurrent use.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock { c := &clock{}; c.ns.Store(t.UnixNano()); return c }
func (c *clock) now() time.Time   { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) advance(d time.Duration) {
	c.ns.Add(int64(d))
}

// gate enables every module but the one it names.
type gate struct{ disabled string }

func (g gate) ModuleEnabled(_ context.Context, _, module string) (bool, error) {
	return module != g.disabled, nil
}

// env is one database with an event store, two tenants and the API key
// handlers.
type env struct {
	store  *eventstore.Store
	clock  *clock
	deps   apikeycmd.Deps
	tenant string
	other  string // another tenant
	create apikeycmd.CreateHandler
	revoke commands.Handler[apikeycmd.RevokeAPIKey]
}

func newEnv(tb testing.TB, dbURL string) *env {
	tb.Helper()
	db := dbtest.OpenURL(tb, dbURL)
	store, err := eventstore.New(db, eventstore.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	c := newClock(t0)
	e := &env{store: store, clock: c, tenant: uuid.NewString(), other: uuid.NewString()}
	e.deps = apikeycmd.Deps{
		Store: store, Modules: gate{}, NewID: func() (string, error) { return uuid.NewString(), nil }, Now: c.now,
	}
	e.build(e.deps, commands.Decorators{})
	return e
}

func (e *env) build(d apikeycmd.Deps, dec commands.Decorators) {
	e.create = apikeycmd.NewCreateAPIKeyHandler(d, dec)
	e.revoke = apikeycmd.NewRevokeAPIKeyHandler(d, dec)
}

func actor(tb testing.TB, role rbac.Role) rbac.Actor {
	tb.Helper()
	a, err := rbac.UserActor(uuid.NewString(), role)
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

// keyActor is an API key of an admin holding perms.
func keyActor(tb testing.TB, perms ...rbac.Permission) rbac.Actor {
	tb.Helper()
	a, err := rbac.KeyActor(uuid.NewString(), rbac.RoleAdmin, perms)
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

// mustCreate creates a key in the env's tenant as a and fails the test on
// error.
func (e *env) mustCreate(tb testing.TB, a rbac.Actor, perms ...string) apikeycmd.Created {
	tb.Helper()
	out, err := e.create.Handle(context.Background(), apikeycmd.CreateAPIKey{
		TenantID: e.tenant, Actor: a, Name: "integration", Permissions: perms,
	})
	if err != nil {
		tb.Fatalf("create key: %v", err)
	}
	return out
}

// load rebuilds a key from its stream.
func (e *env) load(tb testing.TB, id string) *apikey.APIKey {
	tb.Helper()
	stored, err := e.store.Load(context.Background(), apikey.StreamType, id)
	if err != nil {
		tb.Fatal(err)
	}
	var history []apikey.Event
	for _, ev := range stored {
		d, err := apikey.Decode(ev.Type, ev.SchemaVersion, ev.Payload)
		if err != nil {
			tb.Fatal(err)
		}
		history = append(history, d)
	}
	k, err := apikey.Load(history)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// head returns the log's last position.
func (e *env) head(tb testing.TB) int64 {
	tb.Helper()
	h, err := e.store.Head(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

// project brings the API keys read model up to the head of the log.
func (e *env) project(tb testing.TB) {
	tb.Helper()
	if _, err := relay.CatchUpTo(context.Background(), e.store, apikeyproj.Projection(), relay.Config{}, e.head(tb), 30*time.Second); err != nil {
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

// wantDenied fails unless err is a *rbac.DeniedError naming perm for reason,
// whose client message names the permission.
func wantDenied(tb testing.TB, err error, perm rbac.Permission, reason rbac.Reason) {
	tb.Helper()
	var denied *rbac.DeniedError
	if !errors.As(err, &denied) || denied.Permission != perm || denied.Reason != reason {
		tb.Fatalf("err = %v, want a denial of %s (%s)", err, perm, reason)
	}
	if msg := domain.MessageOf(err); !strings.Contains(msg, perm.String()) {
		tb.Fatalf("message %q does not name %s", msg, perm)
	}
}
