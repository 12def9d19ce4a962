package tenant_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rustok/rustok/commands"
	tenantcmd "github.com/rustok/rustok/commands/tenant"
	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/module"
	"github.com/rustok/rustok/domain/rbac"
	"github.com/rustok/rustok/domain/tenant"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/platform/database/dbtest"
)

var _ tenantcmd.Store = (*eventstore.Store)(nil)

// at is the handlers' clock in every test.
var at = time.Date(2025, 3, 2, 10, 30, 0, 0, time.UTC)

var actor = eventstore.Metadata{ActorID: "operator", RequestID: "req-1", CorrelationID: "corr-1"}

// testBaseDomains are the base domains of the handlers of newEnv: the
// configuration default (settings.rustok.tenant.base_domains).
// operator is a super_admin, who may toggle modules.
var operator = func() rbac.Actor {
	a, err := rbac.UserActor("operator", rbac.RoleSuperAdmin)
	if err != nil {
		panic(err)
	}
	return a
}()

var testBaseDomains = []string{"localhost"}

// env is a real event store on one database with every tenant handler.
type env struct {
	store   *eventstore.Store
	reg     *module.Registry
	metrics *prometheus.Registry

	create        commands.Handler[tenantcmd.CreateTenant]
	update        commands.Handler[tenantcmd.UpdateTenant]
	disable       commands.Handler[tenantcmd.DisableTenant]
	enable        commands.Handler[tenantcmd.EnableTenant]
	toggle        commands.Handler[tenantcmd.ToggleModule]
	enableLocale  commands.Handler[tenantcmd.EnableLocale]
	disableLocale commands.Handler[tenantcmd.DisableLocale]
}

func newEnv(tb testing.TB, dbURL string) *env {
	tb.Helper()
	store, err := eventstore.New(dbtest.OpenURL(tb, dbURL), eventstore.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return newEnvWith(tb, store, store)
}

// newEnvWith builds the handlers over handlerStore (possibly a wrapper of
// store, the real store the test inspects), with testBaseDomains.
func newEnvWith(tb testing.TB, store *eventstore.Store, handlerStore tenantcmd.Store) *env {
	tb.Helper()
	return newEnvBases(tb, store, handlerStore, testBaseDomains...)
}

// newEnvBases is newEnvWith with the given base domains: handlers as an
// instance configured with them would build (none: no host reads as a
// slug, as before the rule of docs/adr/0017).
func newEnvBases(tb testing.TB, store *eventstore.Store, handlerStore tenantcmd.Store, baseDomains ...string) *env {
	tb.Helper()
	bases, err := tenant.NewBaseDomains(baseDomains)
	if err != nil {
		tb.Fatal(err)
	}
	reg, err := module.NewRegistry(module.Builtin()...)
	if err != nil {
		tb.Fatal(err)
	}
	metrics := prometheus.NewRegistry()
	m, err := commands.NewMetrics(metrics)
	if err != nil {
		tb.Fatal(err)
	}
	d := commands.Decorators{Metrics: m}
	now := func() time.Time { return at }
	newID := func() (string, error) { return uuid.NewString(), nil }
	return &env{
		store: store, reg: reg, metrics: metrics,
		create:        tenantcmd.NewCreateTenantHandler(handlerStore, reg, module.Defaults(), newID, now, d, tenantcmd.WithBaseDomains(bases)),
		update:        tenantcmd.NewUpdateTenantHandler(handlerStore, now, d, tenantcmd.WithBaseDomains(bases)),
		disable:       tenantcmd.NewDisableTenantHandler(handlerStore, now, d),
		enable:        tenantcmd.NewEnableTenantHandler(handlerStore, now, d),
		toggle:        tenantcmd.NewToggleModuleHandler(handlerStore, reg, now, d),
		enableLocale:  tenantcmd.NewEnableLocaleHandler(handlerStore, now, d),
		disableLocale: tenantcmd.NewDisableLocaleHandler(handlerStore, now, d),
	}
}

// mustCreate creates a tenant and returns its id, found through the slug
// reservation the command took.
func (e *env) mustCreate(tb testing.TB, cmd tenantcmd.CreateTenant) string {
	tb.Helper()
	res, err := e.create.Handle(context.Background(), cmd)
	if err != nil {
		tb.Fatalf("create %q: %v", cmd.Slug, err)
	}
	if res.Position <= 0 {
		tb.Fatalf("create %q: position %d", cmd.Slug, res.Position)
	}
	slug, err := tenant.NormalizeSlug(cmd.Slug)
	if err != nil {
		tb.Fatal(err)
	}
	return e.holder(tb, commands.ScopeTenantSlug, slug)
}

// holder returns the stream holding a reservation, or "".
func (e *env) holder(tb testing.TB, scope, value string) string {
	tb.Helper()
	id, _, err := e.store.ReservationHolder(context.Background(), scope, value)
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

// head returns the last log position.
func (e *env) head(tb testing.TB) int64 {
	tb.Helper()
	h, err := e.store.Head(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

// events returns a tenant's stored events.
func (e *env) events(tb testing.TB, id string) []eventstore.Event {
	tb.Helper()
	evs, err := e.store.Load(context.Background(), tenant.StreamType, id)
	if err != nil {
		tb.Fatal(err)
	}
	return evs
}

// load rebuilds a tenant from its stream.
func (e *env) load(tb testing.TB, id string) *tenant.Tenant {
	tb.Helper()
	var history []tenant.Event
	for _, ev := range e.events(tb, id) {
		d, err := tenant.Decode(ev.Type, ev.SchemaVersion, ev.Payload)
		if err != nil {
			tb.Fatal(err)
		}
		history = append(history, d)
	}
	t, err := tenant.Load(history)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// wantErr checks err against the expectation of a table case: nil when
// want is nil, else errors.Is want with the given code and field ("" means
// not checked for code, "-" means no field).
func wantErr(tb testing.TB, err, want error, code domain.Code, field string) {
	tb.Helper()
	if want == nil {
		if err != nil {
			tb.Fatalf("error = %v, want none", err)
		}
		return
	}
	if !errors.Is(err, want) {
		tb.Fatalf("error = %v, want %v", err, want)
	}
	if code != "" && domain.CodeOf(err) != code {
		tb.Errorf("code = %s, want %s", domain.CodeOf(err), code)
	}
	switch field {
	case "":
	case "-":
		if f := domain.FieldOf(err); f != "" {
			tb.Errorf("field = %q, want none", f)
		}
	default:
		if f := domain.FieldOf(err); f != field {
			tb.Errorf("field = %q, want %q", f, field)
		}
	}
}

func ptr[T any](v T) *T { return &v }
