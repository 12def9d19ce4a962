package tenant_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rustok/rustok/domain/tenant"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/eventstore/relay"
	"github.com/rustok/rustok/platform/database"
	"github.com/rustok/rustok/platform/database/dbtest"
	tenantproj "github.com/rustok/rustok/projections/tenant"
	"github.com/rustok/rustok/projections/tenant/tenanttest"
)

// expected is the read model the workload's aggregates say.
func expected(tb testing.TB, w *tenanttest.Workload) readModel {
	tb.Helper()
	orEmpty := func(l []string) []string {
		if l == nil {
			return []string{}
		}
		return l
	}
	m := readModel{Tenants: map[string]tenantRow{}, Domains: map[string]string{}}
	for id, t := range w.Tenants {
		var settings any
		mustJSON(tb, string(t.Settings()), &settings)
		s, _ := json.Marshal(settings)
		m.Tenants[id] = tenantRow{ID: id, Slug: t.Slug(), Name: t.Name(), Status: string(t.Status()),
			Domains: orEmpty(t.Domains()), Modules: orEmpty(t.EnabledModules()), DefaultLocale: t.DefaultLocale(),
			Locales: orEmpty(t.Locales()), Settings: string(s), Version: t.Version(),
			CreatedAt: w.Created[id], UpdatedAt: w.Updated[id]}
		for _, h := range t.Domains() {
			m.Domains[h] = id
		}
	}
	return m
}

// checksum hashes a read model in a stable order.
func checksum(m readModel) string {
	h := sha256.New()
	ids := make([]string, 0, len(m.Tenants))
	for id := range m.Tenants {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		fmt.Fprintf(h, "%+v\n", m.Tenants[id])
	}
	hosts := make([]string, 0, len(m.Domains))
	for host := range m.Domains {
		hosts = append(hosts, host)
	}
	slices.Sort(hosts)
	for _, host := range hosts {
		fmt.Fprintf(h, "%s=%s\n", host, m.Domains[host])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// generate returns a workload of events events over tenants tenants.
func generate(tb testing.TB, seed uint64, tenants, events int) *tenanttest.Workload {
	tb.Helper()
	w, err := tenanttest.Generate(seed, tenants, events, t0)
	if err != nil {
		tb.Fatal(err)
	}
	return w
}

// appendWorkload appends the workload's commands in order and returns the
// last position.
func appendWorkload(tb testing.TB, store *eventstore.Store, cmds []tenanttest.Command) int64 {
	tb.Helper()
	var last int64
	for _, c := range cmds {
		res, err := store.Append(context.Background(), c.Stream, c.Expected, c.Events, c.Options...)
		if err != nil {
			tb.Fatal(err)
		}
		last = res.Position
	}
	return last
}

func catchUpWith(tb testing.TB, store *eventstore.Store, batch int, last int64) {
	tb.Helper()
	cfg := fast
	cfg.BatchSize = batch
	if _, err := relay.CatchUpTo(context.Background(), store, tenantproj.Projection(), cfg, last, 60*time.Second); err != nil {
		tb.Fatal(err)
	}
}

func rewind(tb testing.TB, db *database.DB, cur eventstore.Cursor) {
	tb.Helper()
	q, args := `UPDATE consumer_offsets SET offset_acked = ? WHERE consumer_group = ?`, []any{cur.Position, tenantproj.Name}
	if db.Dialect() == database.Postgres {
		q, args = `UPDATE consumer_offsets SET offset_acked = ?, last_processed_transaction_id = CAST(? AS xid8) WHERE consumer_group = ?`,
			[]any{cur.Position, strconv.FormatUint(cur.TxID, 10), tenantproj.Name}
	}
	if _, err := db.Exec(db.Rebind(q), args...); err != nil {
		tb.Fatal(err)
	}
}

// TestBatchesMatchTheAggregates: a history of every event type over 40
// tenants gives the aggregates' state whether it arrives in one batch (every
// type mixed, the rows read with one SELECT and written with one upsert per
// table), in batches of 7 (each tenant's events cut across batches) or one
// event at a time.
func TestBatchesMatchTheAggregates(t *testing.T) {
	t.Parallel()
	w := generate(t, 1, 40, 600)
	types := map[string]int{}
	for _, c := range w.Commands {
		for _, e := range c.Events {
			types[e.Type]++
		}
	}
	if len(types) != len(tenant.EventTypes()) {
		t.Fatalf("the workload has %d event types (%v), want all %d", len(types), types, len(tenant.EventTypes()))
	}
	want := expected(t, w)
	for _, batch := range []int{1000, 7, 1} {
		t.Run(fmt.Sprint("batch ", batch), func(t *testing.T) {
			t.Parallel()
			dbtest.Run(t, func(t *testing.T, dbURL string) {
				t.Parallel()
				db, store := newStore(t, dbURL)
				last := appendWorkload(t, store, w.Commands)
				catchUpWith(t, store, batch, last)
				if got := snapshot(t, db); !reflect.DeepEqual(got, want) {
					t.Fatalf("read model differs from the aggregates:\n%s", diff(got, want))
				}
				if dl := deadLetters(t, db); len(dl) != 0 {
					t.Errorf("dead letters: %v", dl)
				}
			})
		})
	}
}

// TestRedeliveredBatchesChangeNothing: with the checkpoint moved back (to the
// start, or into the middle of earlier batches), the events delivered again,
// in batches cut differently, leave the read model as it was.
func TestRedeliveredBatchesChangeNothing(t *testing.T) {
	t.Parallel()
	w := generate(t, 2, 25, 300)
	want := expected(t, w)
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		db, store := newStore(t, dbURL)
		last := appendWorkload(t, store, w.Commands)
		catchUpWith(t, store, 100, last)
		for _, tc := range []struct {
			after, batch int
		}{{0, 1000}, {0, 13}, {101, 1000}, {157, 29}, {299, 1}} {
			cur := eventstore.Cursor{}
			if tc.after > 0 {
				evs, err := store.ReadAll(context.Background(), eventstore.Cursor{}, tc.after)
				if err != nil {
					t.Fatal(err)
				}
				cur = evs[len(evs)-1].Cursor()
			}
			rewind(t, db, cur)
			catchUpWith(t, store, tc.batch, last)
			if got := snapshot(t, db); !reflect.DeepEqual(got, want) {
				t.Fatalf("redelivery after event %d in batches of %d changed the read model:\n%s", tc.after, tc.batch, diff(got, want))
			}
		}
		if dl := deadLetters(t, db); len(dl) != 0 {
			t.Errorf("dead letters: %v", dl)
		}
	})
}

// TestReplayEqualsLiveDelivery: the read model the runner builds (batches of
// at most 50) while writers append concurrently has the same checksum as the aggregates' state
// and as replays in batches of 1000 and of 7.
func TestReplayEqualsLiveDelivery(t *testing.T) {
	t.Parallel()
	w := generate(t, 3, 60, 800)
	want := checksum(expected(t, w))
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		db, store := newStore(t, dbURL)
		cfg := fast
		cfg.BatchSize = 50
		runner, stop := startRunner(t, store, cfg)
		// Four writers, each with its own tenants, as concurrent commands
		// would (a domain changes hands only after its removal committed).
		last, err := w.AppendConcurrently(context.Background(), store, 4, func(eventstore.Result) { runner.Wake() })
		if err != nil {
			t.Fatal(err)
		}
		ok, err := relay.NewWaiter(db, runner.Progress()).WaitFor(context.Background(), last, []string{tenantproj.Name}, 60*time.Second)
		if err != nil || !ok {
			t.Fatalf("projection did not reach position %d: %v", last, err)
		}
		stop()
		if live := checksum(snapshot(t, db)); live != want {
			t.Fatalf("live read model %s differs from the aggregates %s:\n%s", live, want, diff(snapshot(t, db), expected(t, w)))
		}
		r, err := relay.NewReplayer(store, fast, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, batch := range []int{1000, 7} {
			res, err := r.Replay(context.Background(), tenantproj.Projection(), relay.ReplayOptions{BatchSize: batch})
			if err != nil {
				t.Fatal(err)
			}
			if got := checksum(snapshot(t, db)); got != want || res.Events != 800 {
				t.Fatalf("replay in batches of %d: %d events, checksum %s, want 800 and %s", batch, res.Events, got, want)
			}
		}
	})
}

// TestPoisonInABatchOf1000: an event of a tenant that has no row, in the
// middle of a batch of 1000, is dead-lettered alone; the 999 others commit.
func TestPoisonInABatchOf1000(t *testing.T) {
	t.Parallel()
	w := generate(t, 4, 30, 999)
	want := expected(t, w)
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		db, store := newStore(t, dbURL)
		orphan := uuid.NewString()
		poison := tenanttest.Command{Stream: eventstore.Stream{Type: tenant.StreamType, ID: orphan, TenantID: orphan},
			Events: []eventstore.NewEvent{eventstore.Record(tenant.Updated{TenantID: orphan, Name: "Orphan", At: t0})}}
		cmds := slices.Concat(w.Commands[:500], []tenanttest.Command{poison}, w.Commands[500:])
		last := appendWorkload(t, store, cmds)
		catchUpWith(t, store, 1000, last)
		if got := snapshot(t, db); !reflect.DeepEqual(got, want) {
			t.Fatalf("read model differs from the aggregates:\n%s", diff(got, want))
		}
		dl := deadLetters(t, db)
		if len(dl) != 1 || !strings.Contains(dl[0], tenantproj.ErrMissingRow.Error()) || !strings.Contains(dl[0], orphan) {
			t.Fatalf("dead letters = %v, want one for the orphan's tenant.updated", dl)
		}
	})
}

func startRunner(tb testing.TB, store *eventstore.Store, cfg relay.Config) (*relay.Runner, func()) {
	tb.Helper()
	runner, err := relay.NewRunner(store, []relay.Consumer{tenantproj.Projection()}, cfg, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runner.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				tb.Errorf("runner: %v", err)
			}
		})
	}
	tb.Cleanup(stop)
	select {
	case <-runner.Running():
	case err := <-done:
		tb.Fatalf("runner stopped: %v", err)
	case <-time.After(20 * time.Second):
		tb.Fatal("runner did not start")
	}
	return runner, stop
}

// diff describes the first rows in which two read models differ.
func diff(got, want readModel) string {
	var b strings.Builder
	n := 0
	for id, w := range want.Tenants {
		if g, ok := got.Tenants[id]; !ok || !reflect.DeepEqual(g, w) {
			if n++; n <= 5 {
				fmt.Fprintf(&b, "tenant %s:\n got  %+v\n want %+v\n", id, g, w)
			}
		}
	}
	for id := range got.Tenants {
		if _, ok := want.Tenants[id]; !ok {
			fmt.Fprintf(&b, "unexpected tenant %s\n", id)
		}
	}
	if !reflect.DeepEqual(got.Domains, want.Domains) {
		for h, id := range want.Domains {
			if got.Domains[h] != id {
				fmt.Fprintf(&b, "domain %s: got %q, want %q\n", h, got.Domains[h], id)
			}
		}
		for h, id := range got.Domains {
			if _, ok := want.Domains[h]; !ok {
				fmt.Fprintf(&b, "unexpected domain %s → %s\n", h, id)
			}
		}
	}
	fmt.Fprintf(&b, "(%d tenants differ)", n)
	return b.String()
}
