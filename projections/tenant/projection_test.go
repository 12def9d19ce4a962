package tenant_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rustok/rustok/domain/module"
	"github.com/rustok/rustok/domain/tenant"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/eventstore/relay"
	"github.com/rustok/rustok/platform/database"
	"github.com/rustok/rustok/platform/database/dbtest"
	tenantproj "github.com/rustok/rustok/projections/tenant"
)

// t0 is when the first tenant is created; each later event is a minute on.
var t0 = time.Date(2025, 3, 2, 10, 0, 0, 0, time.UTC)

func minute(n int) time.Time { return t0.Add(time.Duration(n) * time.Minute) }

var fast = relay.Config{PollInterval: 20 * time.Millisecond, RetryInterval: 20 * time.Millisecond, RetryBackoff: time.Millisecond, DeadLetterAfter: 2}

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
	rows, err := db.Queryx(`SELECT id, slug, name, status, domains, modules, default_locale, locales, settings, version, created_at, updated_at FROM rm_tenants`)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	m := readModel{Tenants: map[string]tenantRow{}, Domains: map[string]string{}}
	for rows.Next() {
		var (
			r                         tenantRow
			domains, modules, locales string
			settings                  string
			createdAt, updatedAt      database.Time
		)
		if err := rows.Scan(&r.ID, &r.Slug, &r.Name, &r.Status, &domains, &modules, &r.DefaultLocale, &locales, &settings, &r.Version, &createdAt, &updatedAt); err != nil {
			tb.Fatal(err)
		}
		mustJSON(tb, domains, &r.Domains)
		mustJSON(tb, modules, &r.Modules)
		mustJSON(tb, locales, &r.Locales)
		var s any
		mustJSON(tb, settings, &s)
		b, _ := json.Marshal(s)
		r.Settings = string(b)
		r.CreatedAt, r.UpdatedAt = createdAt.Time, updatedAt.Time
		m.Tenants[r.ID] = r
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
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
// takes the domain alpha gave up. It returns the ids, the last position and
// the read model the events must give.
func history(tb testing.TB, store *eventstore.Store) (alpha, beta string, last int64, want readModel) {
	tb.Helper()
	reg, err := module.NewRegistry(module.Builtin()...)
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	alpha, beta = uuid.NewString(), uuid.NewString()
	appendAll := func(id string, version int64, events []tenant.Event) {
		tb.Helper()
		recs := make([]eventstore.NewEvent, len(events))
		for i, e := range events {
			recs[i] = eventstore.Record(e)
		}
		res, err := store.Append(ctx, eventstore.Stream{Type: tenant.StreamType, ID: id, TenantID: id}, version, recs)
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
	return alpha, beta, last, want
}

func newStore(tb testing.TB, dbURL string) (*database.DB, *eventstore.Store) {
	tb.Helper()
	db := dbtest.OpenURL(tb, dbURL)
	store, err := eventstore.New(db, eventstore.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return db, store
}

// catchUp applies the projection in this goroutine until it has processed
// position last (relay.CatchUpTo), and returns how many events it applied.
func catchUp(tb testing.TB, db *database.DB, store *eventstore.Store, last int64) int64 {
	tb.Helper()
	n, err := relay.CatchUpTo(context.Background(), store, tenantproj.Projection(), fast, last, 30*time.Second)
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

func deadLetters(tb testing.TB, db *database.DB) []string {
	tb.Helper()
	var errs []string
	if err := db.Select(&errs, `SELECT error FROM dead_letters ORDER BY id`); err != nil {
		tb.Fatal(err)
	}
	return errs
}

func TestProjectionThroughTheRunner(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		db, store := newStore(t, dbURL)
		runner, err := relay.NewRunner(store, []relay.Consumer{tenantproj.Projection()}, fast, slog.New(slog.DiscardHandler), nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- runner.Run(ctx) }()
		var once sync.Once
		stop := func() {
			once.Do(func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("runner: %v", err)
				}
			})
		}
		t.Cleanup(stop)
		select {
		case <-runner.Running():
		case err := <-done:
			t.Fatalf("runner stopped: %v", err)
		case <-time.After(20 * time.Second):
			t.Fatal("runner did not start")
		}

		_, _, last, want := history(t, store)
		runner.Wake()
		ok, err := relay.NewWaiter(db, runner.Progress()).WaitFor(context.Background(), last, []string{tenantproj.Name}, 30*time.Second)
		if err != nil || !ok {
			t.Fatalf("projection did not reach position %d: %v", last, err)
		}
		stop()
		if got := snapshot(t, db); !reflect.DeepEqual(got, want) {
			t.Errorf("read model =\n%+v\nwant\n%+v", got, want)
		}
		if dl := deadLetters(t, db); len(dl) != 0 {
			t.Errorf("dead letters: %v", dl)
		}
	})
}

func TestRedeliveryChangesNothing(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		db, store := newStore(t, dbURL)
		_, _, last, want := history(t, store)
		catchUp(t, db, store, last)
		if got := snapshot(t, db); !reflect.DeepEqual(got, want) {
			t.Fatalf("read model after the first delivery =\n%+v\nwant\n%+v", got, want)
		}
		// Forget the checkpoint: every event is delivered a second time.
		if _, err := db.Exec(db.Rebind(`DELETE FROM consumer_offsets WHERE consumer_group = ?`), tenantproj.Name); err != nil {
			t.Fatal(err)
		}
		if n := catchUp(t, db, store, last); n != 14 {
			t.Errorf("redelivered %d events, want all 14", n)
		}
		if got := snapshot(t, db); !reflect.DeepEqual(got, want) {
			t.Errorf("read model after redelivery =\n%+v\nwant\n%+v", got, want)
		}
		if dl := deadLetters(t, db); len(dl) != 0 {
			t.Errorf("dead letters: %v", dl)
		}
	})
}

func TestReplayRebuildsTheSameReadModel(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		db, store := newStore(t, dbURL)
		ctx := context.Background()
		_, _, last, want := history(t, store)
		catchUp(t, db, store, last)
		r, err := relay.NewReplayer(store, fast, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Replay(ctx, tenantproj.Projection(), relay.ReplayOptions{BatchSize: 4}); err != nil {
			t.Fatal(err)
		}
		if got := snapshot(t, db); !reflect.DeepEqual(got, want) {
			t.Errorf("read model after replay =\n%+v\nwant\n%+v", got, want)
		}
	})
}

func TestEventOfAMissingTenantIsDeadLettered(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		db, store := newStore(t, dbURL)
		ctx := context.Background()
		id := uuid.NewString()
		// A stream that starts with an event type the projection does not
		// handle (skipped), so no row exists when tenant.updated arrives: that
		// gap is dead-lettered, not silently ignored.
		res, err := store.Append(ctx, eventstore.Stream{Type: tenant.StreamType, ID: id, TenantID: id}, 0, []eventstore.NewEvent{
			{Type: "tenant.archived", SchemaVersion: 1, Payload: map[string]string{"tenant_id": id}},
			eventstore.Record(tenant.Updated{TenantID: id, Name: "Orphan", At: minute(1)}),
		})
		if err != nil {
			t.Fatal(err)
		}
		catchUp(t, db, store, res.Position)
		dl := deadLetters(t, db)
		if len(dl) != 1 || !strings.Contains(dl[0], tenantproj.ErrMissingRow.Error()) {
			t.Fatalf("dead letters = %v, want one for tenant.updated naming the missing row", dl)
		}
		if got := snapshot(t, db); len(got.Tenants) != 0 || len(got.Domains) != 0 {
			t.Errorf("read model = %+v, want empty", got)
		}
	})
}
