package tenant_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rustok/rustok/domain/module"
	"github.com/rustok/rustok/domain/tenant"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/platform/database"
	"github.com/rustok/rustok/platform/database/dbtest"
	"github.com/rustok/rustok/projections/projectiontest"
	tenantproj "github.com/rustok/rustok/projections/tenant"
)

// t0 is when the first tenant is created; each later event is a minute on.
var t0 = time.Date(2025, 3, 2, 10, 0, 0, 0, time.UTC)

func minute(n int) time.Time { return t0.Add(time.Duration(n) * time.Minute) }

// tenants is the tenants projection as its tests see it.
var tenants = projectiontest.Projection[readModel]{Consumer: tenantproj.Projection, Snapshot: snapshot, Diff: diff}

// tenantRow is a row of rm_tenants as the test compares it.
type tenantRow struct {
	ID, Slug, Name, Status    string
	Domains, Modules, Locales []string
	DefaultLocale             string
	Settings                  string
	Version                   int64
	CreatedAt, UpdatedAt      time.Time
}

// readModel is the whole read model: every rm_tenants row by id and every
// rm_tenant_domains row (host → tenant id).
type readModel struct {
	Tenants map[string]tenantRow
	Domains map[string]string
}

func snapshot(tb testing.TB, db *database.DB) readModel {
	tb.Helper()
	m := readModel{Tenants: map[string]tenantRow{}, Domains: map[string]string{}}
	projectiontest.EachRow(tb, db, `SELECT id, slug, name, status, domains, modules, default_locale, locales, settings, version, created_at, updated_at FROM rm_tenants`, func(scan func(...any)) {
		var (
			r                         tenantRow
			domains, modules, locales string
			settings                  string
			createdAt, updatedAt      database.Time
		)
		scan(&r.ID, &r.Slug, &r.Name, &r.Status, &domains, &modules, &r.DefaultLocale, &locales, &settings, &r.Version, &createdAt, &updatedAt)
		mustJSON(tb, domains, &r.Domains)
		mustJSON(tb, modules, &r.Modules)
		mustJSON(tb, locales, &r.Locales)
		var s any
		mustJSON(tb, settings, &s)
		b, _ := json.Marshal(s)
		r.Settings = string(b)
		r.CreatedAt, r.UpdatedAt = createdAt.Time, updatedAt.Time
		m.Tenants[r.ID] = r
	})
	var hosts []struct {
		Host     string `db:"host"`
		TenantID string `db:"tenant_id"`
	}
	if err := db.Select(&hosts, `SELECT host, tenant_id FROM rm_tenant_domains`); err != nil {
		tb.Fatal(err)
	}
	for _, h := range hosts {
		m.Domains[h.Host] = h.TenantID
	}
	return m
}

func mustJSON(tb testing.TB, s string, v any) {
	tb.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		tb.Fatalf("decode %q: %v", s, err)
	}
}

// history appends, through the event store, the events of two tenants
// decided by the aggregate: alpha goes through every event type, and beta
// takes the domain alpha gave up. It returns the last position and the read
// model the events must give.
func history(tb testing.TB, store *eventstore.Store) (last int64, want readModel) {
	tb.Helper()
	reg, err := module.NewRegistry(module.Builtin()...)
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	alpha, beta := uuid.NewString(), uuid.NewString()
	appendAll := func(id string, version int64, events []tenant.Event) {
		tb.Helper()
		res, err := store.Append(ctx, eventstore.Stream{Type: tenant.StreamType, ID: id, TenantID: id}, version, projectiontest.Records(events))
		if err != nil {
			tb.Fatal(err)
		}
		last = res.Position
	}
	a, events, err := tenant.Create(alpha, "alpha", "Alpha", []string{"a.example.com", "shared.example.com"}, []string{"content", "commerce"}, reg, minute(0))
	if err != nil {
		tb.Fatal(err)
	}
	appendAll(alpha, 0, events)
	b, events, err := tenant.Create(beta, "beta", "Beta", nil, []string{}, reg, minute(1))
	if err != nil {
		tb.Fatal(err)
	}
	appendAll(beta, 0, events)
	steps := []func(at time.Time) ([]tenant.Event, error){
		func(at time.Time) ([]tenant.Event, error) { return a.Rename("Alpha Corp", at) },
		func(at time.Time) ([]tenant.Event, error) { return a.AddDomain("a2.example.com", at) },
		func(at time.Time) ([]tenant.Event, error) { return a.RemoveDomain("shared.example.com", at) },
		func(at time.Time) ([]tenant.Event, error) { return a.ToggleModule(reg, "blog", true, at) },
		func(at time.Time) ([]tenant.Event, error) { return a.ToggleModule(reg, "commerce", false, at) },
		func(at time.Time) ([]tenant.Event, error) { return a.EnableLocale("fr", at) },
		func(at time.Time) ([]tenant.Event, error) { return a.EnableLocale("de-AT", at) },
		func(at time.Time) ([]tenant.Event, error) { return a.DisableLocale("fr", at) },
		func(at time.Time) ([]tenant.Event, error) { return a.Disable(at) },
		func(at time.Time) ([]tenant.Event, error) { return a.Enable(at) },
		func(at time.Time) ([]tenant.Event, error) { return a.Disable(at) },
	}
	for i, step := range steps {
		version := a.Version()
		events, err := step(minute(2 + i))
		if err != nil || len(events) != 1 {
			tb.Fatalf("step %d: %v, %v", i, events, err)
		}
		appendAll(alpha, version, events)
	}
	version := b.Version()
	events, err = b.AddDomain("shared.example.com", minute(20))
	if err != nil {
		tb.Fatal(err)
	}
	appendAll(beta, version, events)

	want = readModel{
		Tenants: map[string]tenantRow{
			alpha: {ID: alpha, Slug: "alpha", Name: "Alpha Corp", Status: "disabled",
				Domains: []string{"a.example.com", "a2.example.com"}, Modules: []string{"content", "blog"},
				DefaultLocale: "en", Locales: []string{"en", "de-AT"}, Settings: "{}", Version: 12,
				CreatedAt: minute(0), UpdatedAt: minute(12)},
			beta: {ID: beta, Slug: "beta", Name: "Beta", Status: "active",
				Domains: []string{"shared.example.com"}, Modules: []string{},
				DefaultLocale: "en", Locales: []string{"en"}, Settings: "{}", Version: 2,
				CreatedAt: minute(1), UpdatedAt: minute(20)},
		},
		Domains: map[string]string{"a.example.com": alpha, "a2.example.com": alpha, "shared.example.com": beta},
	}
	return last, want
}

func TestProjectionThroughTheRunner(t *testing.T) {
	t.Parallel()
	tenants.ThroughTheRunner(t, history)
}

func TestRedeliveryChangesNothing(t *testing.T) {
	t.Parallel()
	tenants.RedeliveryChangesNothing(t, history, 14)
}

func TestReplayRebuildsTheSameReadModel(t *testing.T) {
	t.Parallel()
	tenants.ReplayRebuilds(t, history, 4, nil)
}

func TestEventOfAMissingTenantIsDeadLettered(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		e := tenants.Open(t, dbURL)
		id := uuid.NewString()
		// A stream that starts with an event type the projection does not
		// handle (skipped), so no row exists when tenant.updated arrives: that
		// gap is dead-lettered, not silently ignored.
		res, err := e.Store.Append(context.Background(), eventstore.Stream{Type: tenant.StreamType, ID: id, TenantID: id}, 0, []eventstore.NewEvent{
			{Type: "tenant.archived", SchemaVersion: 1, Payload: map[string]string{"tenant_id": id}},
			eventstore.Record(tenant.Updated{TenantID: id, Name: "Orphan", At: minute(1)}),
		})
		if err != nil {
			t.Fatal(err)
		}
		e.CatchUp(0, res.Position)
		dl := e.DeadLetters()
		if len(dl) != 1 || !strings.Contains(dl[0], tenantproj.ErrMissingRow.Error()) {
			t.Fatalf("dead letters = %v, want one for tenant.updated naming the missing row", dl)
		}
		if got := e.Snapshot(); len(got.Tenants) != 0 || len(got.Domains) != 0 {
			t.Errorf("read model = %+v, want empty", got)
		}
	})
}
