package projectiontest

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/eventstore/relay"
	"github.com/rustok/rustok/platform/database"
	"github.com/rustok/rustok/platform/database/dbtest"
)

// Projection is a projection as its tests see it, with M its whole read
// model as the test compares it (compared with reflect.DeepEqual).
type Projection[M any] struct {
	// Consumer returns the projection's consumer.
	Consumer func() relay.Consumer
	// Snapshot reads the whole read model.
	Snapshot func(tb testing.TB, db *database.DB) M
	// Diff describes how got differs from want, for failure messages; if
	// nil, both are printed.
	Diff func(got, want M) string
}

// History appends a hand-written history to store and returns the last
// position and the read model it must give.
type History[M any] func(tb testing.TB, store *eventstore.Store) (last int64, want M)

// Env is one database, with its event store, for a test of projection P.
type Env[M any] struct {
	P     Projection[M]
	TB    testing.TB
	DB    *database.DB
	Store *eventstore.Store
}

// Open opens the database at dbURL for a test of p.
func (p Projection[M]) Open(tb testing.TB, dbURL string) *Env[M] {
	tb.Helper()
	db, store := NewStore(tb, dbURL)
	return &Env[M]{P: p, TB: tb, DB: db, Store: store}
}

// Name is the projection's consumer name (its checkpoint key).
func (e *Env[M]) Name() string { return e.P.Consumer().Name }

// Append appends cmds in order and returns the last position.
func (e *Env[M]) Append(cmds []Command) int64 {
	e.TB.Helper()
	last, err := Append(context.Background(), e.Store, cmds)
	if err != nil {
		e.TB.Fatal(err)
	}
	return last
}

// CatchUp applies the projection in batches of batch events (0: the
// relay's default) until it has processed position last, and returns how
// many events it applied.
func (e *Env[M]) CatchUp(batch int, last int64) int64 {
	e.TB.Helper()
	return CatchUp(e.TB, e.Store, e.P.Consumer(), batch, last)
}

// Snapshot reads the read model.
func (e *Env[M]) Snapshot() M {
	e.TB.Helper()
	return e.P.Snapshot(e.TB, e.DB)
}

// DeadLetters returns the errors of the dead letters, oldest first.
func (e *Env[M]) DeadLetters() []string {
	e.TB.Helper()
	return DeadLetters(e.TB, e.DB)
}

// NoDeadLetters reports an error if there is any dead letter.
func (e *Env[M]) NoDeadLetters() {
	e.TB.Helper()
	NoDeadLetters(e.TB, e.DB)
}

// Rewind moves the projection's checkpoint back to after the n-th event of
// the log (to the start for 0).
func (e *Env[M]) Rewind(n int) {
	e.TB.Helper()
	Rewind(e.TB, e.DB, e.Name(), CursorAfter(e.TB, e.Store, n))
}

// Forget deletes the projection's checkpoint.
func (e *Env[M]) Forget() {
	e.TB.Helper()
	Forget(e.TB, e.DB, e.Name())
}

// StartRunner starts a runner of the projection (see StartRunner).
func (e *Env[M]) StartRunner(cfg relay.Config, metrics *relay.Metrics) (*relay.Runner, func()) {
	e.TB.Helper()
	return StartRunner(e.TB, e.Store, cfg, metrics, e.P.Consumer())
}

// WaitFor waits until runner has processed position last for the projection.
func (e *Env[M]) WaitFor(runner *relay.Runner, last int64) {
	e.TB.Helper()
	WaitFor(e.TB, e.DB, runner, last, e.Name())
}

// Replay rebuilds the read model in batches of batch events.
func (e *Env[M]) Replay(batch int) relay.ReplayResult {
	e.TB.Helper()
	return Replay(e.TB, e.Store, e.P.Consumer(), batch)
}

// Mismatch returns "" if the read model is want, else how it differs.
func (e *Env[M]) Mismatch(want M) string {
	e.TB.Helper()
	got := e.Snapshot()
	if reflect.DeepEqual(got, want) {
		return ""
	}
	if e.P.Diff == nil {
		return fmt.Sprintf("got\n%+v\nwant\n%+v", got, want)
	}
	return e.P.Diff(got, want)
}

// Expect reports an error, introduced by what, if the read model is not
// want, and says whether it is.
func (e *Env[M]) Expect(want M, what string) bool {
	e.TB.Helper()
	if d := e.Mismatch(want); d != "" {
		e.TB.Errorf("%s:\n%s", what, d)
		return false
	}
	return true
}

// Require is Expect that ends the test.
func (e *Env[M]) Require(want M, what string) {
	e.TB.Helper()
	if d := e.Mismatch(want); d != "" {
		e.TB.Fatalf("%s:\n%s", what, d)
	}
}

// BatchSizes are the batch sizes the scenarios deliver a workload in: every
// event type mixed in one batch (the rows read with one SELECT and written
// with one upsert per table), each stream's events cut across batches, and
// one event at a time.
var BatchSizes = []int{1000, 7, 1}

// BatchesMatch: cmds (a workload) appended in order and delivered in batches
// of each of BatchSizes give the read model want, without dead letters; a
// subtest per batch size and dialect, in parallel.
func (p Projection[M]) BatchesMatch(t *testing.T, cmds []Command, want M) {
	t.Helper()
	for _, batch := range BatchSizes {
		t.Run(fmt.Sprint("batch ", batch), func(t *testing.T) {
			t.Parallel()
			dbtest.Run(t, func(t *testing.T, dbURL string) {
				t.Parallel()
				e := p.Open(t, dbURL)
				e.CatchUp(batch, e.Append(cmds))
				e.Require(want, "read model differs from the aggregates")
				e.NoDeadLetters()
			})
		})
	}
}

// Redeliveries are the checkpoints RedeliveredBatchesChangeNothing moves back
// to (after event After; 0 is the start) and the batch sizes of the
// redelivery. The workload must have at least 299 events.
var Redeliveries = []struct{ After, Batch int }{{0, 1000}, {0, 13}, {101, 1000}, {157, 29}, {299, 1}}

// RedeliveredBatchesChangeNothing: once cmds are delivered (in batches of
// 100), moving the checkpoint back (see Redeliveries) and delivering the
// events again, in batches cut differently, leaves the read model want,
// without dead letters.
func (p Projection[M]) RedeliveredBatchesChangeNothing(t *testing.T, cmds []Command, want M) {
	t.Helper()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		e := p.Open(t, dbURL)
		last := e.Append(cmds)
		e.CatchUp(100, last)
		for _, r := range Redeliveries {
			e.Rewind(r.After)
			e.CatchUp(r.Batch, last)
			e.Require(want, fmt.Sprintf("redelivery after event %d in batches of %d changed the read model", r.After, r.Batch))
		}
		e.NoDeadLetters()
	})
}

// ReplayEqualsLive: the read model the runner builds (batches of at most 50)
// while four writers append cmds concurrently is want, without dead letters,
// and replays in batches of 1000 and of 7 replay every event and give the
// same read model (checksum), rebuilding it in bulk (stream by stream).
func (p Projection[M]) ReplayEqualsLive(t *testing.T, cmds []Command, want M) {
	t.Helper()
	sum, events := Checksum(want), int64(Events(cmds))
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		e := p.Open(t, dbURL)
		cfg := Fast
		cfg.BatchSize = 50
		runner, stop := e.StartRunner(cfg, nil)
		last, err := AppendConcurrently(context.Background(), e.Store, cmds, 4, func(eventstore.Result) { runner.Wake() })
		if err != nil {
			t.Fatal(err)
		}
		e.WaitFor(runner, last)
		stop()
		e.Require(want, "live read model differs from the aggregates")
		e.NoDeadLetters()
		for _, batch := range []int{1000, 7} {
			res := e.Replay(batch)
			if got := Checksum(e.Snapshot()); got != sum || res.Events != events {
				t.Fatalf("replay in batches of %d: %d events, checksum %s, want %d and %s", batch, res.Events, got, events, sum)
			}
			if !res.Bulk {
				t.Fatalf("replay in batches of %d: not rebuilt in bulk (the Fold's Save reads or deletes, or the bulk rebuild gave up)", batch)
			}
		}
	})
}

// PoisonAlone: poison (an event the projection cannot apply), appended in
// the middle of cmds and delivered with them in one batch of 1000, is
// dead-lettered alone, with an error containing each of deadLetter; the
// others commit and give the read model want.
func (p Projection[M]) PoisonAlone(t *testing.T, cmds []Command, poison Command, want M, deadLetter ...string) {
	t.Helper()
	if n := Events(cmds) + len(poison.Events); n > 1000 {
		t.Fatalf("the workload and the poison have %d events, more than a batch", n)
	}
	half := len(cmds) / 2
	all := slices.Concat(cmds[:half], []Command{poison}, cmds[half:])
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		e := p.Open(t, dbURL)
		e.CatchUp(1000, e.Append(all))
		e.Require(want, "read model differs from the aggregates")
		dl := e.DeadLetters()
		ok := len(dl) == 1
		for _, s := range deadLetter {
			ok = ok && strings.Contains(dl[0], s)
		}
		if !ok {
			t.Fatalf("dead letters = %v, want one naming %q", dl, deadLetter)
		}
	})
}

// ThroughTheRunner: history, appended while a runner of the projection
// runs, gives its read model, without dead letters.
func (p Projection[M]) ThroughTheRunner(t *testing.T, history History[M]) {
	t.Helper()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		e := p.Open(t, dbURL)
		runner, stop := e.StartRunner(Fast, nil)
		last, want := history(t, e.Store)
		runner.Wake()
		e.WaitFor(runner, last)
		stop()
		e.Expect(want, "read model")
		e.NoDeadLetters()
	})
}

// RedeliveryChangesNothing: history, delivered once, gives its read model;
// with the checkpoint forgotten all its events (events of them) are
// delivered again and change nothing; no dead letters.
func (p Projection[M]) RedeliveryChangesNothing(t *testing.T, history History[M], events int64) {
	t.Helper()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		e := p.Open(t, dbURL)
		last, want := history(t, e.Store)
		e.CatchUp(0, last)
		e.Require(want, "read model after the first delivery")
		e.Forget()
		if n := e.CatchUp(0, last); n != events {
			t.Errorf("redelivered %d events, want all %d", n, events)
		}
		e.Expect(want, "read model after redelivery")
		e.NoDeadLetters()
	})
}

// ReplayRebuilds: history, delivered, then replayed in batches of batch
// events, gives its read model; then, if not nil, checks more.
func (p Projection[M]) ReplayRebuilds(t *testing.T, history History[M], batch int, then func(e *Env[M])) {
	t.Helper()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		e := p.Open(t, dbURL)
		last, want := history(t, e.Store)
		e.CatchUp(0, last)
		e.Replay(batch)
		e.Expect(want, "read model after replay")
		if then != nil {
			then(e)
		}
	})
}

// DiffRows describes the first rows (up to 5) in which two tables of rows by
// key differ, and the rows only got has; noun names a row.
func DiffRows[K cmp.Ordered, R any](noun string, got, want map[K]R) string {
	var b strings.Builder
	n := 0
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if g, ok := got[k]; !ok || !reflect.DeepEqual(g, want[k]) {
			if n++; n <= 5 {
				fmt.Fprintf(&b, "%s %v:\n got  %+v\n want %+v\n", noun, k, g, want[k])
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok {
			fmt.Fprintf(&b, "unexpected %s %v\n", noun, k)
		}
	}
	fmt.Fprintf(&b, "(%d %s rows differ)", n, noun)
	return b.String()
}
