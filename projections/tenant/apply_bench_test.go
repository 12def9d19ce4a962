package tenant

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/rustok/rustok/domain/tenant"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/eventstore/relay"
	"github.com/rustok/rustok/platform/database"
	"github.com/rustok/rustok/platform/database/dbtest"
	"github.com/rustok/rustok/projections/projectiontest"
	"github.com/rustok/rustok/projections/tenant/tenanttest"
)

// BenchmarkApply measures the tenants projection's own work per batch of
// 1000 events (load, fold, save) over the sessions log of BenchmarkProjections
// (eventstore/relay), caught up in this goroutine (relay.CatchUp), against a
// no-op consumer caught up the same way; it also prints a checksum of the
// read model as stored (every column as text), which must not change when
// the projection's code does, and which a replay must store too (a bulk
// rebuild, stream by stream). RUSTOK_BENCH_EVENTS sets the backlog (default
// 100000); RUSTOK_BENCH_SHAPE=uniform uses the uniform log.
func BenchmarkApply(b *testing.B) {
	backlog := 100000
	if v := os.Getenv("RUSTOK_BENCH_EVENTS"); v != "" {
		fmt.Sscan(v, &backlog)
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var w *tenanttest.Workload
	var err error
	if os.Getenv("RUSTOK_BENCH_SHAPE") == "uniform" {
		w, err = tenanttest.Generate(1, backlog/10, backlog, at)
	} else {
		w, err = tenanttest.GenerateSessions(1, backlog/10, backlog, 50, at)
	}
	if err != nil {
		b.Fatal(err)
	}
	for _, d := range dbtest.Dialects {
		b.Run(string(d), func(b *testing.B) {
			db, store := projectiontest.NewStore(b, dbtest.URL(b, d))
			ctx := context.Background()
			// The read model does not depend on how the writers interleave.
			if _, err := w.AppendConcurrently(ctx, store, 16, nil); err != nil {
				b.Fatal(err)
			}
			noop := relay.Consumer{Name: "noop", Kind: relay.KindProjection, Batch: relay.Batch{Types: tenant.EventTypes(),
				Apply: func(context.Context, *relay.Tx, []eventstore.Event) error { return nil }}}
			reset := func(name string, tables ...string) {
				if _, err := db.Exec(db.Rebind(`DELETE FROM consumer_offsets WHERE consumer_group = ?`), name); err != nil {
					b.Fatal(err)
				}
				for _, t := range tables {
					if _, err := db.Exec(`DELETE FROM ` + t); err != nil {
						b.Fatal(err)
					}
				}
			}
			cfg := relay.Config{BatchSize: 1000}
			for round := range 3 {
				reset("noop")
				t0 := time.Now()
				if _, err := relay.CatchUp(ctx, store, noop, cfg); err != nil {
					b.Fatal(err)
				}
				noopTime := time.Since(t0)
				reset(Name, TableTenants, TableDomains)
				var loadT, saveT, applyT time.Duration
				var batches int
				f := fold()
				innerLoad, innerSave := f.Load, f.Save
				f.Load = func(ctx context.Context, tx *relay.Tx, ids []string) ([]relay.Row[row], error) {
					t := time.Now()
					defer func() { loadT += time.Since(t) }()
					return innerLoad(ctx, tx, ids)
				}
				f.Save = func(ctx context.Context, tx *relay.Tx, cs []relay.Change[row]) error {
					t := time.Now()
					defer func() { saveT += time.Since(t) }()
					return innerSave(ctx, tx, cs)
				}
				c := Projection()
				inner := f.Batch().Apply
				c.Batch.Apply = func(ctx context.Context, tx *relay.Tx, evs []eventstore.Event) error {
					t := time.Now()
					defer func() { applyT += time.Since(t); batches++ }()
					return inner(ctx, tx, evs)
				}
				t0 = time.Now()
				if _, err := relay.CatchUp(ctx, store, c, cfg); err != nil {
					b.Fatal(err)
				}
				total := time.Since(t0)
				per := func(d time.Duration) string {
					return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000/float64(batches))
				}
				fmt.Printf("%s round %d: %d batches; per batch: apply %s (load %s, fold %s, save %s); whole batch %s vs no-op %s; ratio %.2f\n",
					b.Name(), round, batches, per(applyT), per(loadT), per(applyT-loadT-saveT), per(saveT), per(total),
					fmt.Sprintf("%.2fms", float64(noopTime.Microseconds())/1000/float64(batches)), noopTime.Seconds()/total.Seconds())
			}
			caughtUp := storedChecksum(b, db)
			fmt.Printf("%s checksum %s\n", b.Name(), caughtUp)
			// A replay (a bulk rebuild, stream by stream) stores the same bytes.
			rp, err := relay.NewReplayer(store, relay.Config{}, nil, nil)
			if err != nil {
				b.Fatal(err)
			}
			res, err := rp.Replay(ctx, Projection(), relay.ReplayOptions{})
			if err != nil {
				b.Fatal(err)
			}
			replayed := storedChecksum(b, db)
			fmt.Printf("%s after a replay (bulk %v, %v): checksum %s\n", b.Name(), res.Bulk, res.Duration.Round(time.Millisecond), replayed)
			if replayed != caughtUp || !res.Bulk {
				b.Fatalf("the replay (bulk %v) stored %s, the catch-up %s", res.Bulk, replayed, caughtUp)
			}
		})
	}
}

// storedChecksum hashes every row of both tables as stored, as text.
func storedChecksum(tb testing.TB, db *database.DB) string {
	tb.Helper()
	cast := func(c string) string { return "CAST(" + c + " AS TEXT)" }
	var lines []string
	for _, q := range []string{
		`SELECT ` + cast("id") + `, ` + cast("slug") + `, ` + cast("name") + `, ` + cast("status") + `, ` + cast("domains") + `, ` + cast("modules") + `, ` +
			cast("default_locale") + `, ` + cast("locales") + `, ` + cast("settings") + `, ` + cast("version") + `, ` + cast("created_at") + `, ` + cast("updated_at") + ` FROM rm_tenants`,
		`SELECT host, tenant_id, '', '', '', '', '', '', '', '', '', '' FROM rm_tenant_domains`,
	} {
		rows, err := db.Query(q)
		if err != nil {
			tb.Fatal(err)
		}
		for rows.Next() {
			v := make([]string, 12)
			p := make([]any, 12)
			for i := range v {
				p[i] = &v[i]
			}
			if err := rows.Scan(p...); err != nil {
				tb.Fatal(err)
			}
			lines = append(lines, fmt.Sprintf("%q", v))
		}
		if err := rows.Close(); err != nil {
			tb.Fatal(err)
		}
	}
	sort.Strings(lines)
	h := sha256.New()
	for _, l := range lines {
		h.Write([]byte(l + "\n"))
	}
	return fmt.Sprintf("%d rows %s", len(lines), hex.EncodeToString(h.Sum(nil))[:16])
}
