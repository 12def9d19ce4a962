package database_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/migrations"
	"github.com/rustok/rustok/platform/database"
)

// BenchmarkSQLiteSynchronous measures what database.sqlite_synchronous
// costs: the append rate (eventstore.Store.Append, one event per command,
// each writer on its own streams) on a SQLite database opened with
// synchronous=FULL against one opened with NORMAL, in interleaved rounds of
// the same run (full, normal, full, …), for 1 writer (the commit latency
// itself) and 16 writers (as BenchmarkFoundation's append measure). It reports both rates of the median round and the
// median of the per-round ratios full/normal. Run it with -benchtime 1x:
//
//	go test -run '^$' -bench SQLiteSynchronous -benchtime 1x ./platform/database/
func BenchmarkSQLiteSynchronous(b *testing.B) {
	const rounds = 3
	window := 2 * time.Second
	for _, writers := range []int{1, 16} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			for range b.N {
				stores := map[database.Synchronous]*eventstore.Store{}
				for _, sync := range []database.Synchronous{database.SynchronousFull, database.SynchronousNormal} {
					stores[sync] = benchStore(b, sync)
				}
				var full, normal, ratios []float64
				for round := range rounds {
					f := appendRate(b, stores[database.SynchronousFull], writers, window, round)
					n := appendRate(b, stores[database.SynchronousNormal], writers, window, round)
					full, normal, ratios = append(full, f), append(normal, n), append(ratios, f/n)
				}
				b.ReportMetric(median(full), "full-appends/s")
				b.ReportMetric(median(normal), "normal-appends/s")
				b.ReportMetric(median(ratios), "ratio")
				b.Logf("%d writers, %d rounds of %v: FULL %.0f appends/s, NORMAL %.0f appends/s, ratios %.2f", writers, rounds, window, full, normal, ratios)
			}
		})
	}
}

// benchStore opens a new migrated SQLite database with the given
// synchronous setting in a temporary directory (on the machine's disk).
func benchStore(b *testing.B, sync database.Synchronous) *eventstore.Store {
	b.Helper()
	raw := "sqlite://" + filepath.Join(b.TempDir(), "rustok.db")
	if err := mustMigrate(raw); err != nil {
		b.Fatal(err)
	}
	db, err := database.Open(context.Background(), raw, database.Options{MaxOpenConns: 10, SQLiteSynchronous: sync})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	var mode string
	if err := db.Get(&mode, `PRAGMA synchronous`); err != nil || mode != map[database.Synchronous]string{database.SynchronousFull: "2", database.SynchronousNormal: "1"}[sync] {
		b.Fatalf("PRAGMA synchronous = %q (%v) on a database opened with %s", mode, err, sync)
	}
	s, err := eventstore.New(db, eventstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func mustMigrate(raw string) error {
	r, err := migrations.NewRunner(raw)
	if err != nil {
		return err
	}
	return r.Up(context.Background())
}

// appendRate appends from writers goroutines for window and returns the
// appends per second.
func appendRate(b *testing.B, s *eventstore.Store, writers int, window time.Duration, round int) float64 {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), window)
	defer cancel()
	var (
		n    atomic.Int64
		wg   sync.WaitGroup
		errs = make([]error, writers)
	)
	start := time.Now()
	for w := range writers {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				stream := eventstore.Stream{Type: "bench", ID: fmt.Sprintf("r%d-w%d-%d", round, w, i/10)}
				ev := eventstore.NewEvent{Type: "bench.appended", SchemaVersion: 1, Payload: map[string]int{"i": i}}
				if _, err := s.Append(ctx, stream, int64(i%10), []eventstore.NewEvent{ev}); err != nil {
					if ctx.Err() == nil {
						errs[w] = err
					}
					return
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			b.Fatalf("append: %v", err)
		}
	}
	return float64(n.Load()) / time.Since(start).Seconds()
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
