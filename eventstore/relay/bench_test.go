package relay_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/eventstore/relay"
	"github.com/rustok/rustok/platform/database"
	"github.com/rustok/rustok/platform/database/dbtest"
)

// benchProjection is shaped like the tenants projection: one row per stream,
// guarded by the stream version.
type benchProjection struct{ table string }

func newBenchProjection(b testing.TB, db *database.DB) benchProjection {
	p := benchProjection{table: "rm_bench"}
	if _, err := db.Exec(`CREATE TABLE rm_bench (stream_id TEXT PRIMARY KEY, version BIGINT NOT NULL, body TEXT NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	return p
}

func (p benchProjection) consumer() relay.Consumer {
	return relay.Consumer{Name: "bench", Kind: relay.KindProjection, Tables: []string{p.table},
		Handlers: map[string]relay.Handler{"note.added": relay.On(func(ctx context.Context, tx *relay.Tx, n noted, e eventstore.Event) error {
			var v int64
			err := tx.Get(ctx, &v, `SELECT version FROM `+tx.Table(p.table)+` WHERE stream_id = ?`, e.Stream.ID)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if !relay.CheckVersion(v, e.Version) {
				return nil
			}
			_, err = tx.Exec(ctx, `INSERT INTO `+tx.Table(p.table)+` (stream_id, version, body) VALUES (?, ?, ?)
				ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, body = excluded.body`, e.Stream.ID, e.Version, n.Text)
			return err
		})}}
}

// BenchmarkFoundation measures the figures of docs/benchmarks.md in one run,
// each against a baseline measured in the same run. Run it with
//
//	RUSTOK_TEST_POSTGRES_URL=… go test -run '^$' -bench Foundation -benchtime 1x ./eventstore/relay/
//
// RUSTOK_BENCH_EVENTS sets the backlog size (default 100000).
func BenchmarkFoundation(b *testing.B) {
	backlog := 100000
	if v := os.Getenv("RUSTOK_BENCH_EVENTS"); v != "" {
		fmt.Sscan(v, &backlog)
	}
	for _, d := range dbtest.Dialects {
		b.Run(string(d), func(b *testing.B) {
			for range b.N {
				dbURL := dbtest.URL(b, d)
				runFoundation(b, dbURL, backlog)
			}
		})
	}
}

func runFoundation(b *testing.B, dbURL string, backlog int) {
	ctx := context.Background()
	const writers = 16
	window := 5 * time.Second

	// 1. Baseline: raw single-row INSERT transactions, 16 writers.
	e := newEnv(b, dbURL)
	if _, err := e.db.Exec(`CREATE TABLE bench_raw (id BIGINT NOT NULL, payload TEXT NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	raw := rate(writers, window, func(w, i int) error {
		if e.db.Dialect() == database.SQLite {
			tx, err := e.db.BeginWrite(ctx, nil)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO bench_raw (id, payload) VALUES (?, ?)`, w*1_000_000+i, `{"text":"x"}`); err != nil {
				_ = tx.Rollback()
				return err
			}
			return tx.Commit()
		}
		_, err := e.db.ExecContext(ctx, `INSERT INTO bench_raw (id, payload) VALUES ($1, $2)`, w*1_000_000+i, `{"text":"x"}`)
		return err
	})
	// 2. Append: one event per command, 16 writers, each on its own streams.
	appendRate := rate(writers, window, func(w, i int) error {
		_, err := e.store.Append(ctx, eventstore.Stream{Type: "note", ID: fmt.Sprintf("a%d-%d", w, i/10)}, int64(i%10),
			[]eventstore.NewEvent{note("x")})
		return err
	})
	b.Logf("append: %.0f commands/s vs raw INSERT %.0f/s → ratio %.2f (16 writers)", appendRate, raw, appendRate/raw)
	b.ReportMetric(raw, "raw-inserts/s")
	b.ReportMetric(appendRate, "appends/s")
	b.ReportMetric(appendRate/raw, "append/raw")

	// 3. Latency commit → read model at a steady 500 commands/s.
	p := newBenchProjection(b, e.db)
	stop := e.start(b, relay.Config{}, p.consumer())
	head, _ := e.store.Head(ctx)
	e.waitReached(b, "bench", head)
	p50, p99, sent := steadyLatency(b, e, 500, 6*time.Second)
	b.Logf("commit→read model at 500 commands/s (%d sent): p50 %v, p99 %v", sent, p50, p99)
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	stop()

	// 4. Catch-up on a backlog, and 5. replay of the whole log.
	before, _ := e.store.Head(ctx)
	fillBacklog(b, e, backlog)
	head, _ = e.store.Head(ctx)
	start := time.Now()
	e.start(b, relay.Config{}, p.consumer())
	e.waitReached(b, "bench", head)
	catchUp := float64(head-before) / time.Since(start).Seconds()
	b.Logf("catch-up: %d events at %.0f events/s (batch 100)", head-before, catchUp)
	b.ReportMetric(catchUp, "catchup-events/s")

	rp, err := relay.NewReplayer(e.store, relay.Config{}, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	res, err := rp.Replay(ctx, p.consumer(), relay.ReplayOptions{})
	if err != nil {
		b.Fatal(err)
	}
	replay := float64(res.Events) / res.Duration.Seconds()
	b.Logf("replay: %d events in %v → %.0f events/s", res.Events, res.Duration.Round(time.Millisecond), replay)
	b.ReportMetric(replay, "replay-events/s")
}

// rate runs f from n goroutines for the window and returns calls per second.
func rate(n int, window time.Duration, f func(w, i int) error) float64 {
	var done atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(window)
	start := time.Now()
	for w := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				if err := f(w, i); err != nil {
					panic(err)
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(done.Load()) / time.Since(start).Seconds()
}

// steadyLatency appends at perSecond for d; for each command it measures the
// time from Append's return to the read model having it (WaitFor, woken by
// the runner's progress signal).
func steadyLatency(b *testing.B, e *env, perSecond int, d time.Duration) (p50, p99 time.Duration, sent int) {
	ctx := context.Background()
	w := relay.NewWaiter(e.db, e.runner.Progress())
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / time.Duration(perSecond))
	defer tick.Stop()
	end := time.Now().Add(d)
	for i := 0; time.Now().Before(end); i++ {
		<-tick.C
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := e.store.Append(ctx, eventstore.Stream{Type: "note", ID: fmt.Sprint("l", i%200)}, eventstore.AnyVersion, []eventstore.NewEvent{note("y")})
			if err != nil {
				b.Error(err)
				return
			}
			t0 := time.Now()
			if ok, err := w.WaitFor(ctx, r.Position, []string{"bench"}, 10*time.Second); err != nil || !ok {
				b.Errorf("not reached: %v", err)
				return
			}
			mu.Lock()
			lat = append(lat, time.Since(t0))
			mu.Unlock()
		}()
		sent++
	}
	wg.Wait()
	slices.Sort(lat)
	if len(lat) == 0 {
		b.Fatal("no latencies")
	}
	return lat[len(lat)/2], lat[len(lat)*99/100], sent
}

// fillBacklog appends n events quickly (1000 per append, 100 streams).
func fillBacklog(b *testing.B, e *env, n int) {
	ctx := context.Background()
	evs := make([]eventstore.NewEvent, 1000)
	for i := range evs {
		evs[i] = note("backlog")
	}
	for done := 0; done < n; done += len(evs) {
		if _, err := e.store.Append(ctx, eventstore.Stream{Type: "note", ID: fmt.Sprint("b", (done/1000)%100)}, eventstore.AnyVersion, evs[:min(len(evs), n-done)]); err != nil {
			b.Fatal(err)
		}
	}
}
