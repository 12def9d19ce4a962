package relay_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
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

// consumer returns the projection with read-then-write handlers (two
// statements per event: read the row's version, then write), the shape of
// projections/tenant.
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

// upsertConsumer is the same projection written as one guarded statement per
// event (the version check inside the upsert).
func (p benchProjection) upsertConsumer(name string) relay.Consumer {
	return relay.Consumer{Name: name, Kind: relay.KindProjection, Tables: []string{p.table},
		Handlers: map[string]relay.Handler{"note.added": relay.On(func(ctx context.Context, tx *relay.Tx, n noted, e eventstore.Event) error {
			t := tx.Table(p.table)
			_, err := tx.Exec(ctx, `INSERT INTO `+t+` (stream_id, version, body) VALUES (?, ?, ?)
				ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, body = excluded.body
				WHERE `+t+`.version < excluded.version`, e.Stream.ID, e.Version, n.Text)
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
	window := 3 * time.Second

	// 1. Baseline: raw single-row INSERT transactions, 16 writers.
	e := newEnv(b, dbURL)
	// The baseline table has what any log table has: a generated key and a JSON payload.
	rawDDL := `CREATE TABLE bench_raw (id INTEGER PRIMARY KEY AUTOINCREMENT, writer BIGINT NOT NULL, payload TEXT NOT NULL)`
	if e.db.Dialect() == database.Postgres {
		rawDDL = `CREATE TABLE bench_raw (id BIGSERIAL PRIMARY KEY, writer BIGINT NOT NULL, payload JSONB NOT NULL)`
	}
	if _, err := e.db.Exec(rawDDL); err != nil {
		b.Fatal(err)
	}
	rawInsert := func(w, i int) error {
		if e.db.Dialect() == database.SQLite {
			tx, err := e.db.BeginWrite(ctx, nil)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO bench_raw (writer, payload) VALUES (?, ?)`, w, `{"text":"x"}`); err != nil {
				_ = tx.Rollback()
				return err
			}
			return tx.Commit()
		}
		_, err := e.db.ExecContext(ctx, `INSERT INTO bench_raw (writer, payload) VALUES ($1, $2)`, w, `{"text":"x"}`)
		return err
	}
	// 2. Append: one event per command, 16 writers, each on its own streams.
	round := 0
	appendOne := func(w, i int) error {
		_, err := e.store.Append(ctx, eventstore.Stream{Type: "note", ID: fmt.Sprintf("a%d-%d-%d", round, w, i/10)}, int64(i%10),
			[]eventstore.NewEvent{note("x")})
		return err
	}
	// Interleaved rounds (baseline, append, baseline, append, …): the machine
	// is shared and noisy, so the ratio is the median of per-round ratios.
	var raws, appends, ratios []float64
	for round = range 3 {
		r := rate(writers, window, rawInsert)
		a := rate(writers, window, appendOne)
		raws, appends, ratios = append(raws, r), append(appends, a), append(ratios, a/r)
	}
	slices.Sort(raws)
	slices.Sort(appends)
	slices.Sort(ratios)
	raw, appendRate := raws[1], appends[1]
	b.Logf("append: median ratio %.2f (16 writers, 3 rounds of %v; appends/s %.0f, raw INSERTs/s %.0f; ratios %.2f)", ratios[1], window, appendRate, raw, ratios)
	b.ReportMetric(raw, "raw-inserts/s")
	b.ReportMetric(appendRate, "appends/s")
	b.ReportMetric(ratios[1], "append/raw")

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

	// 4. Catch-up on a backlog: the checkpoint is rewound to just before the
	// backlog for each variant (handler shape × batch size).
	before, _ := e.store.Head(ctx)
	fillBacklog(b, e, backlog)
	head, _ = e.store.Head(ctx)
	var startCursor struct {
		Pos int64  `db:"offset_acked"`
		Tx  string `db:"tx"`
	}
	txCol := "CAST(last_processed_transaction_id AS TEXT)"
	if err := e.db.Get(&startCursor, e.db.Rebind(`SELECT offset_acked, `+txCol+` AS tx FROM consumer_offsets WHERE consumer_group = ?`), "bench"); err != nil {
		b.Fatal(err)
	}
	for _, v := range []struct {
		name     string
		consumer relay.Consumer
		batch    int
	}{
		{"read-then-write, batch 100", p.consumer(), 100},
		{"read-then-write, batch 1000", p.consumer(), 1000},
		{"guarded upsert, batch 100", p.upsertConsumer("bench"), 100},
		{"guarded upsert, batch 1000", p.upsertConsumer("bench"), 1000},
	} {
		rewind := `UPDATE consumer_offsets SET offset_acked = ? WHERE consumer_group = 'bench'`
		args := []any{startCursor.Pos}
		if e.db.Dialect() == database.Postgres {
			rewind = `UPDATE consumer_offsets SET offset_acked = ?, last_processed_transaction_id = CAST(? AS xid8) WHERE consumer_group = 'bench'`
			args = append(args, startCursor.Tx)
		}
		if _, err := e.db.Exec(e.db.Rebind(rewind), args...); err != nil {
			b.Fatal(err)
		}
		if _, err := e.db.Exec(`DELETE FROM rm_bench`); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		stop := e.start(b, relay.Config{BatchSize: v.batch}, v.consumer)
		e.waitReached(b, "bench", head)
		catchUp := float64(head-before) / time.Since(start).Seconds()
		stop()
		b.Logf("catch-up (%s): %d events at %.0f events/s", v.name, head-before, catchUp)
		b.ReportMetric(catchUp, "catchup-"+strings.ReplaceAll(strings.ReplaceAll(v.name, ", batch ", "-"), " ", "-")+"-events/s")
	}

	// 5. Replay of the whole log (batches of 1000 in short transactions).
	for _, v := range []struct {
		name string
		c    relay.Consumer
	}{{"read-then-write", p.consumer()}, {"guarded-upsert", p.upsertConsumer("bench")}} {
		c := v.c
		rp, err := relay.NewReplayer(e.store, relay.Config{}, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		res, err := rp.Replay(ctx, c, relay.ReplayOptions{})
		if err != nil {
			b.Fatal(err)
		}
		replay := float64(res.Events) / res.Duration.Seconds()
		b.Logf("replay (%s): %d events in %v → %.0f events/s", v.name, res.Events, res.Duration.Round(time.Millisecond), replay)
		b.ReportMetric(replay, "replay-"+v.name+"-events/s")
	}
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
func fillBacklog(b testing.TB, e *env, n int) {
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
