package relay_test

import (
	"cmp"
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

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/rustok/rustok/domain/tenant"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/eventstore/relay"
	"github.com/rustok/rustok/platform/database"
	"github.com/rustok/rustok/platform/database/dbtest"
	tenantproj "github.com/rustok/rustok/projections/tenant"
	"github.com/rustok/rustok/projections/tenant/tenanttest"
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

// BenchmarkProjections measures the batched projections (issue 14) in one run
// per dialect, each figure against a baseline measured in the same run:
//
//  1. catch-up of the tenants projection (projections/tenant, the real one)
//     over a backlog of realistic tenant events (tenanttest: 10 events per
//     tenant, every event type, appended by 16 writers with the command
//     layer's reservations), batch 1000, against a no-op handler through the
//     same relay; three interleaved rounds, median of the per-round ratios.
//     Two shapes of log: "sessions" (each tenant set up right after its
//     creation while 49 others are, plus 30% day-to-day changes: ~440
//     tenants per 1000 events) and "uniform" (every change to a random
//     tenant: ~850 tenants per 1000 events, the worst case for folding);
//  2. replay of the whole (sessions) log (relay.Replayer, blue/green) against
//     writing the same read-model rows into fresh tables with COPY
//     (PostgreSQL) or multi-row INSERTs (SQLite) in one transaction;
//  3. commit → read-model latency at 1000 commands/s from 16 writers (tenant
//     renames; relay defaults: batch 100), with a histogram and each sample
//     split into fence wait, pick-up, apply, commit and notification.
//
// Run it with
//
//	RUSTOK_TEST_POSTGRES_URL=… go test -run '^$' -bench Projections -benchtime 1x -timeout 30m ./eventstore/relay/
//
// RUSTOK_BENCH_EVENTS sets the backlog (default 100000).
func BenchmarkProjections(b *testing.B) {
	backlog := 100000
	if v := os.Getenv("RUSTOK_BENCH_EVENTS"); v != "" {
		fmt.Sscan(v, &backlog)
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	sessions, err := tenanttest.GenerateSessions(1, backlog/10, backlog, 50, at)
	if err != nil {
		b.Fatal(err)
	}
	uniform, err := tenanttest.Generate(1, backlog/10, backlog, at)
	if err != nil {
		b.Fatal(err)
	}
	for _, d := range dbtest.Dialects {
		b.Run(string(d), func(b *testing.B) {
			for range b.N {
				e := newEnv(b, dbtest.URL(b, d))
				projectionCatchUp(b, e, "sessions", sessions)
				projectionReplay(b, e)
				projectionLatency(b, e, sessions, 1000, 16, 10*time.Second)
				projectionCatchUp(b, newEnv(b, dbtest.URL(b, d)), "uniform", uniform)
			}
		})
	}
}

// projectionCatchUp appends w and measures the catch-up of the tenants
// projection and of a no-op consumer over it, each from the start of the log
// (checkpoints and read model reset before each round).
func projectionCatchUp(b *testing.B, e *env, shape string, w *tenanttest.Workload) {
	ctx := context.Background()
	t0 := time.Now()
	head, err := w.AppendConcurrently(ctx, e.store, 16, nil)
	if err != nil {
		b.Fatal(err)
	}
	report(b, "%s backlog: %d events of %d tenants appended by 16 writers in %v", shape, w.Events, len(w.Tenants), time.Since(t0).Round(time.Millisecond))
	noop := relay.Consumer{Name: "noop", Kind: relay.KindProjection, Handlers: map[string]relay.Handler{}}
	for _, t := range tenant.EventTypes() {
		noop.Handlers[t] = func(context.Context, *relay.Tx, eventstore.Event) error { return nil }
	}
	catchUp := func(c relay.Consumer) float64 {
		if _, err := e.db.Exec(e.db.Rebind(`DELETE FROM consumer_offsets WHERE consumer_group = ?`), c.Name); err != nil {
			b.Fatal(err)
		}
		for _, t := range c.Tables {
			q := `DELETE FROM ` + t
			if e.db.Dialect() == database.Postgres {
				q = `TRUNCATE ` + t
			}
			if _, err := e.db.Exec(q); err != nil {
				b.Fatal(err)
			}
		}
		start := time.Now()
		stop := e.start(b, relay.Config{BatchSize: 1000}, c)
		ok, err := relay.NewWaiter(e.db, e.runner.Progress()).WaitFor(ctx, head, []string{c.Name}, 5*time.Minute)
		if err != nil || !ok {
			b.Fatalf("%s did not catch up: %v", c.Name, err)
		}
		elapsed := time.Since(start)
		stop()
		return float64(w.Events) / elapsed.Seconds()
	}
	var noops, projs, ratios []float64
	for range 3 {
		n := catchUp(noop)
		p := catchUp(tenantproj.Projection())
		noops, projs, ratios = append(noops, n), append(projs, p), append(ratios, p/n)
	}
	report(b, "catch-up (%s), batch 1000: tenants / no-op median %.2f (ratios %.2f); tenants %.0f ev/s (rounds %.0f), no-op %.0f ev/s (rounds %.0f)",
		shape, median(ratios), ratios, median(projs), projs, median(noops), noops)
	b.ReportMetric(median(ratios), "catchup-"+shape+"-tenants/noop")
	b.ReportMetric(median(projs), "catchup-"+shape+"-tenants-events/s")
	b.ReportMetric(median(noops), "catchup-"+shape+"-noop-events/s")
}

// projectionReplay replays the tenants projection over the whole log, in
// batches of 1000 (the default) and of 20000 events, and after each writes
// the rows it built into fresh tables with a bulk copy, the baseline. It also
// reports the longest batch transaction (from the read of the batch's rows to
// the end of its writes), which bounds how long a replay holds back the
// cluster's consumers (the xid fence) when it writes.
func projectionReplay(b *testing.B, e *env) {
	ctx := context.Background()
	for _, batch := range []int{1000, 20000} {
		var mu sync.Mutex
		var longest, applying time.Duration
		p := tenantproj.Projection()
		timed := func(f relay.BatchFunc) relay.BatchFunc {
			return func(ctx context.Context, tx *relay.Tx, evs []eventstore.Event) error {
				t0 := time.Now()
				err := f(ctx, tx, evs)
				mu.Lock()
				d := time.Since(t0)
				longest, applying = max(longest, d), applying+d
				mu.Unlock()
				return err
			}
		}
		p.Batch.Apply, p.Batch.Fresh = timed(p.Batch.Apply), timed(p.Batch.Fresh)
		rp, err := relay.NewReplayer(e.store, relay.Config{}, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		res, err := rp.Replay(ctx, p, relay.ReplayOptions{BatchSize: batch})
		if err != nil {
			b.Fatal(err)
		}
		copied, rows := bulkCopyReadModel(b, e.db)
		// The floor of any replay: reading the whole log in the same batches.
		t0, cur, read := time.Now(), eventstore.Cursor{}, 0
		for {
			evs, err := e.store.ReadAll(ctx, cur, batch)
			if err != nil {
				b.Fatal(err)
			}
			if len(evs) == 0 {
				break
			}
			read, cur = read+len(evs), evs[len(evs)-1].Cursor()
		}
		readTime := time.Since(t0)
		report(b, "replay, batch %d: reading the %d events of the log alone took %v (%.0f ev/s): copy time ÷ read time %.2f",
			batch, read, readTime.Round(time.Millisecond), float64(read)/readTime.Seconds(), copied.Seconds()/readTime.Seconds())
		// What the bulk rebuild reads: the log in stream order, one query.
		end, err := e.store.VisibleEnd(ctx)
		if err != nil {
			b.Fatal(err)
		}
		t0, read = time.Now(), 0
		if err := e.store.ReadStreams(ctx, end, tenant.EventTypes(), func(eventstore.Event) error { read++; return nil }); err != nil {
			b.Fatal(err)
		}
		streamTime := time.Since(t0)
		report(b, "replay: reading the %d events in stream order alone took %v (%.0f ev/s): copy time ÷ read time %.2f",
			read, streamTime.Round(time.Millisecond), float64(read)/streamTime.Seconds(), copied.Seconds()/streamTime.Seconds())
		rate := float64(res.Events) / res.Duration.Seconds()
		copyRate := float64(rows) / copied.Seconds()
		report(b, "replay, batch %d (bulk %v): %d events in %v (%.0f ev/s, longest batch %v; folding (bulk: fold and collect the rows; else load, fold, write) %v); bulk copy of its %d rows: %v (%.0f rows/s); replay ev/s ÷ copy rows/s %.2f; copy time ÷ replay time %.2f",
			batch, res.Bulk, res.Events, res.Duration.Round(time.Millisecond), rate, longest.Round(time.Millisecond), applying.Round(time.Millisecond), rows, copied.Round(time.Millisecond), copyRate,
			rate/copyRate, copied.Seconds()/res.Duration.Seconds())
		b.ReportMetric(copied.Seconds()/res.Duration.Seconds(), "replay"+fmt.Sprint("-b", batch)+"-copy/replay")
		suffix := fmt.Sprint("-b", batch)
		b.ReportMetric(rate, "replay"+suffix+"-events/s")
		b.ReportMetric(copyRate, "copy"+suffix+"-rows/s")
		b.ReportMetric(rate/copyRate, "replay"+suffix+"-ev/copy-row")
	}
}

// report prints one line of a benchmark's findings to stdout: b.Log keeps
// only the first ten lines of a benchmark's output.
func report(b *testing.B, format string, args ...any) {
	fmt.Printf("%s: %s\n", b.Name(), fmt.Sprintf(format, args...))
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// bulkCopyReadModel writes every row of the tenants read model into fresh
// tables of the same definition (indexes included) in one transaction — COPY
// on PostgreSQL, multi-row INSERTs on SQLite — and returns the time it took
// (creating the tables and reading the rows not counted) and the row count.
func bulkCopyReadModel(b *testing.B, db *database.DB) (time.Duration, int) {
	ctx := context.Background()
	tenantCols := []string{"id", "slug", "name", "status", "domains", "modules", "default_locale", "locales", "settings", "version", "created_at", "updated_at"}
	domainCols := []string{"host", "tenant_id"}
	read := func(table string, cols []string) [][]any {
		rs, err := db.QueryContext(ctx, `SELECT `+strings.Join(cols, ", ")+` FROM `+table)
		if err != nil {
			b.Fatal(err)
		}
		defer rs.Close()
		var out [][]any
		for rs.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rs.Scan(ptrs...); err != nil {
				b.Fatal(err)
			}
			for i, v := range vals {
				if bs, ok := v.([]byte); ok {
					vals[i] = string(bs)
				}
			}
			out = append(out, vals)
		}
		if err := rs.Err(); err != nil {
			b.Fatal(err)
		}
		return out
	}
	tenants, domains := read(tenantproj.TableTenants, tenantCols), read(tenantproj.TableDomains, domainCols)
	for _, q := range []string{`DROP TABLE IF EXISTS bench_copy_tenants`, `DROP TABLE IF EXISTS bench_copy_domains`} {
		if _, err := db.Exec(q); err != nil {
			b.Fatal(err)
		}
	}
	if db.Dialect() == database.Postgres {
		for _, q := range []string{
			`CREATE TABLE bench_copy_tenants (LIKE ` + tenantproj.TableTenants + ` INCLUDING ALL)`,
			`CREATE TABLE bench_copy_domains (LIKE ` + tenantproj.TableDomains + ` INCLUDING ALL)`,
		} {
			if _, err := db.Exec(q); err != nil {
				b.Fatal(err)
			}
		}
		conn, err := db.Conn(ctx)
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		start := time.Now()
		err = conn.Raw(func(dc any) error {
			pc := dc.(*stdlib.Conn).Conn()
			tx, err := pc.Begin(ctx)
			if err != nil {
				return err
			}
			defer tx.Rollback(ctx)
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"bench_copy_tenants"}, tenantCols, pgx.CopyFromRows(tenants)); err != nil {
				return err
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"bench_copy_domains"}, domainCols, pgx.CopyFromRows(domains)); err != nil {
				return err
			}
			return tx.Commit(ctx)
		})
		if err != nil {
			b.Fatal(err)
		}
		return time.Since(start), len(tenants) + len(domains)
	}
	// SQLite: the tables' own DDL under the new names, then multi-row INSERTs.
	for table, fresh := range map[string]string{tenantproj.TableTenants: "bench_copy_tenants", tenantproj.TableDomains: "bench_copy_domains"} {
		var ddl []string
		if err := db.Select(&ddl, `SELECT sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL ORDER BY type DESC`, table); err != nil {
			b.Fatal(err)
		}
		for _, q := range ddl {
			if _, err := db.Exec(strings.ReplaceAll(q, table, fresh)); err != nil {
				b.Fatal(err)
			}
		}
	}
	start := time.Now()
	tx, err := db.BeginWrite(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	for _, t := range []struct {
		table string
		cols  []string
		rows  [][]any
	}{{"bench_copy_tenants", tenantCols, tenants}, {"bench_copy_domains", domainCols, domains}} {
		per := 30000 / len(t.cols)
		for i := 0; i < len(t.rows); i += per {
			chunk := t.rows[i:min(i+per, len(t.rows))]
			row := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(t.cols)), ", ") + ")"
			q := `INSERT INTO ` + t.table + ` (` + strings.Join(t.cols, ", ") + `) VALUES ` + strings.TrimSuffix(strings.Repeat(row+", ", len(chunk)), ", ")
			args := make([]any, 0, len(chunk)*len(t.cols))
			for _, r := range chunk {
				args = append(args, r...)
			}
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	return time.Since(start), len(tenants) + len(domains)
}

// latencySample is one command of the latency measure, with the times it
// passed each stage.
type latencySample struct {
	position int64
	txID     uint64
	appended time.Time // Append returned (committed)
	seen     time.Time // the projection's batch containing it started
	applied  time.Time // that batch's handler returned
	reached  time.Time // WaitFor saw the checkpoint past it
}

// projectionLatency appends tenant renames at perSecond from writers
// goroutines for d (after a second of warm-up) while the tenants projection
// runs with the relay's defaults, and logs the commit → read-model latency
// (Append returned → relay.Waiter saw the checkpoint past the event) with a
// histogram whose rows split the time into: fence (on PostgreSQL, how long
// after its commit the event stayed behind an older open append of the run,
// computed from the events' transaction ids), pick-up (from then to the start
// of the batch that contained it: wake-up, waiting for the batch in flight,
// reading), apply (the batch handler), commit (checkpoint update and COMMIT,
// to the runner's progress signal) and notify (from the signal to WaitFor
// returning: the waiter's checkpoint read).
func projectionLatency(b *testing.B, e *env, w *tenanttest.Workload, perSecond, writers int, d time.Duration) {
	ctx := context.Background()
	// The cost of one durable commit here, for reference (fsync).
	if _, err := e.db.Exec(`CREATE TABLE bench_commit (id INTEGER PRIMARY KEY, n BIGINT NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	if _, err := e.db.Exec(`INSERT INTO bench_commit (id, n) VALUES (1, 0)`); err != nil {
		b.Fatal(err)
	}
	var commits []time.Duration
	for range 300 {
		t := time.Now()
		if err := e.db.WithWriteGate(ctx, func() error {
			_, err := e.db.ExecContext(ctx, `UPDATE bench_commit SET n = n + 1 WHERE id = 1`)
			return err
		}); err != nil {
			b.Fatal(err)
		}
		commits = append(commits, time.Since(t))
	}
	slices.Sort(commits)
	report(b, "one-row commit (fsync) alone: p50 %v, p99 %v", commits[len(commits)/2], commits[len(commits)*99/100])

	var mu sync.Mutex
	byPos := map[int64]*latencySample{}
	// What the projection saw, by position (it may see an event before its
	// writer has recorded the Append's result).
	type seenAt struct {
		txID          uint64
		seen, applied time.Time
	}
	seenByPos := map[int64]seenAt{}
	proj := tenantproj.Projection()
	apply := proj.Batch.Apply
	proj.Batch.Apply = func(ctx context.Context, tx *relay.Tx, evs []eventstore.Event) error {
		seen := time.Now()
		err := apply(ctx, tx, evs)
		applied := time.Now()
		mu.Lock()
		for _, ev := range evs {
			if _, ok := seenByPos[ev.Position]; !ok {
				seenByPos[ev.Position] = seenAt{txID: ev.TxID, seen: seen, applied: applied}
			}
		}
		mu.Unlock()
		return err
	}
	stop := e.start(b, relay.Config{}, proj)
	defer stop()
	// The runner's progress signals: when each batch committed.
	var progress []time.Time
	progressDone := make(chan struct{})
	watchCtx, stopWatch := context.WithCancel(ctx)
	go func() {
		defer close(progressDone)
		ch := e.runner.Progress().Wait()
		for {
			select {
			case <-ch:
			case <-watchCtx.Done():
				return
			}
			now := time.Now()
			ch = e.runner.Progress().Wait()
			mu.Lock()
			progress = append(progress, now)
			mu.Unlock()
		}
	}()
	waiter := relay.NewWaiter(e.db, e.runner.Progress())
	ids := make([]string, 0, len(w.Tenants))
	for id := range w.Tenants {
		ids = append(ids, id)
	}
	slices.Sort(ids)

	var samples []*latencySample
	var wg sync.WaitGroup
	period := time.Second * time.Duration(writers) / time.Duration(perSecond)
	start := time.Now()
	warmUntil, end := start.Add(time.Second), start.Add(time.Second+d)
	var writersWG sync.WaitGroup
	for k := range writers {
		writersWG.Add(1)
		go func() {
			defer writersWG.Done()
			next := start.Add(period * time.Duration(k) / time.Duration(writers))
			for i := 0; ; i++ {
				time.Sleep(time.Until(next))
				next = next.Add(period)
				if time.Now().After(end) {
					return
				}
				id := ids[(k*7919+i*104729)%len(ids)]
				ev := eventstore.Record(tenant.Updated{TenantID: id, Name: fmt.Sprintf("Shop %d/%d", k, i), At: time.Now().UTC()})
				res, err := e.store.Append(ctx, eventstore.Stream{Type: tenant.StreamType, ID: id, TenantID: id}, eventstore.AnyVersion, []eventstore.NewEvent{ev})
				appended := time.Now()
				if err != nil {
					b.Error(err)
					return
				}
				s := &latencySample{position: res.Position, appended: appended}
				measured := appended.After(warmUntil)
				mu.Lock()
				byPos[res.Position] = s
				if measured {
					samples = append(samples, s)
				}
				mu.Unlock()
				wg.Add(1)
				go func() {
					defer wg.Done()
					ok, err := waiter.WaitFor(ctx, res.Position, []string{tenantproj.Name}, 30*time.Second)
					reached := time.Now()
					if err != nil || !ok {
						b.Errorf("position %d not reached: %v", res.Position, err)
						return
					}
					mu.Lock()
					s.reached = reached
					mu.Unlock()
				}()
			}
		}()
	}
	writersWG.Wait()
	wg.Wait()
	stopWatch()
	<-progressDone
	mu.Lock()
	defer mu.Unlock()
	for pos, s := range byPos {
		v, ok := seenByPos[pos]
		if !ok {
			b.Fatalf("the projection never saw position %d", pos)
		}
		s.txID, s.seen, s.applied = v.txID, v.seen, v.applied
	}
	if len(samples) == 0 {
		b.Fatal("no latencies")
	}
	reportLatency(b, e.db.Dialect(), samples, byPos, progress, perSecond, writers, d)
}

// latencyParts splits one latency (total) into its stages.
type latencyParts struct{ total, fence, pickup, apply, commit, notify time.Duration }

func (p *latencyParts) add(q latencyParts) {
	p.total += q.total
	p.fence += q.fence
	p.pickup += q.pickup
	p.apply += q.apply
	p.commit += q.commit
	p.notify += q.notify
}

// reportLatency logs the latency figures and histogram of projectionLatency.
func reportLatency(b *testing.B, dialect database.Dialect, samples []*latencySample, byPos map[int64]*latencySample, progress []time.Time, perSecond, writers int, d time.Duration) {
	// Fence: an event becomes visible once every transaction with an
	// older xid has ended; of the run's appends, the last such to commit.
	fenceUntil := map[*latencySample]time.Time{}
	if dialect == database.Postgres {
		all := make([]*latencySample, 0, len(byPos))
		for _, s := range byPos {
			if s.txID != 0 {
				all = append(all, s)
			}
		}
		slices.SortFunc(all, func(x, y *latencySample) int { return cmp.Compare(x.txID, y.txID) })
		var latest time.Time
		for _, s := range all {
			fenceUntil[s] = latest
			if s.appended.After(latest) {
				latest = s.appended
			}
		}
	}
	slices.SortFunc(progress, func(x, y time.Time) int { return x.Compare(y) })
	split := func(s *latencySample) latencyParts {
		p := latencyParts{total: s.reached.Sub(s.appended)}
		visible := s.appended
		if f := fenceUntil[s]; f.After(visible) {
			p.fence, visible = f.Sub(s.appended), f
		}
		p.pickup = max(0, s.seen.Sub(visible))
		p.apply = s.applied.Sub(s.seen)
		committed := s.reached
		if i, _ := slices.BinarySearchFunc(progress, s.applied, func(x, t time.Time) int { return x.Compare(t) }); i < len(progress) && progress[i].Before(s.reached) {
			committed = progress[i]
		}
		p.commit = committed.Sub(s.applied)
		p.notify = s.reached.Sub(committed)
		return p
	}
	lat := make([]time.Duration, 0, len(samples))
	for _, s := range samples {
		lat = append(lat, s.reached.Sub(s.appended))
	}
	slices.Sort(lat)
	p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
	report(b, "commit→read model at %d commands/s, %d writers, %v (%d samples): p50 %v, p90 %v, p99 %v, max %v",
		perSecond, writers, d, len(lat), p50.Round(10*time.Microsecond), lat[len(lat)*9/10].Round(10*time.Microsecond),
		p99.Round(10*time.Microsecond), lat[len(lat)-1].Round(10*time.Microsecond))
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	bounds := []time.Duration{time.Millisecond, 2 * time.Millisecond, 4 * time.Millisecond, 8 * time.Millisecond,
		16 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, time.Hour}
	type bucket struct {
		n   int
		sum latencyParts
	}
	hist := make([]bucket, len(bounds))
	var tail bucket
	for _, s := range samples {
		p := split(s)
		i, _ := slices.BinarySearch(bounds, p.total)
		hist[i].n++
		hist[i].sum.add(p)
		if p.total >= p99 {
			tail.n++
			tail.sum.add(p)
		}
	}
	ms := func(sum time.Duration, n int) string {
		return fmt.Sprintf("%.2f", float64(sum.Microseconds())/1000/float64(n))
	}
	var tbl strings.Builder
	fmt.Fprintf(&tbl, "\n| latency | samples | mean ms | fence | pick-up | apply | commit | notify |\n|---|---|---|---|---|---|---|---|\n")
	lo := time.Duration(0)
	for i, h := range hist {
		if h.n > 0 {
			label := fmt.Sprintf("%v–%v", lo, bounds[i])
			if bounds[i] == time.Hour {
				label = fmt.Sprintf("≥ %v", lo)
			}
			fmt.Fprintf(&tbl, "| %s | %d | %s | %s | %s | %s | %s | %s |\n", label, h.n, ms(h.sum.total, h.n), ms(h.sum.fence, h.n),
				ms(h.sum.pickup, h.n), ms(h.sum.apply, h.n), ms(h.sum.commit, h.n), ms(h.sum.notify, h.n))
		}
		lo = bounds[i]
	}
	fmt.Fprintf(&tbl, "| ≥ p99 (%v) | %d | %s | %s | %s | %s | %s | %s |", p99.Round(10*time.Microsecond), tail.n, ms(tail.sum.total, tail.n), ms(tail.sum.fence, tail.n),
		ms(tail.sum.pickup, tail.n), ms(tail.sum.apply, tail.n), ms(tail.sum.commit, tail.n), ms(tail.sum.notify, tail.n))
	report(b, "latency histogram (component means in ms):%s", tbl.String())
}
