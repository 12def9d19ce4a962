package relay_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/eventstore/relay"
	"github.com/rustok/rustok/platform/database/dbtest"
)

// countFresh wraps the consumer's Fresh (the bulk rebuild's fold) to count
// its calls.
func countFresh(c relay.Consumer, calls *atomic.Int64) relay.Consumer {
	fresh := c.Batch.Fresh
	c.Batch.Fresh = func(ctx context.Context, tx *relay.Tx, evs []eventstore.Event) error {
		calls.Add(1)
		return fresh(ctx, tx, evs)
	}
	return c
}

// appendInterleaved appends n note events to streams prefix0…prefix(streams-1)
// in a random interleaving (so that log order and stream order differ), one
// stream getting long of them, and events of a type the notes projection
// does not handle in between. It returns the head position.
func appendInterleaved(t *testing.T, e *env, prefix string, streams, n, long int) int64 {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 11))
	var head int64
	add := func(stream string, ev eventstore.NewEvent) {
		r, err := e.store.Append(context.Background(), eventstore.Stream{Type: "note", ID: stream}, eventstore.AnyVersion, []eventstore.NewEvent{ev})
		if err != nil {
			t.Fatal(err)
		}
		head = r.Position
	}
	for i := range n {
		add(fmt.Sprint(prefix, rng.IntN(streams)), note(fmt.Sprint("n", i)))
		if i%7 == 0 {
			add(fmt.Sprint(prefix, "x", rng.IntN(3)), eventstore.NewEvent{Type: "note.archived", SchemaVersion: 1, Payload: noted{Text: "skip"}})
		}
		if i%3 == 0 {
			add(prefix+"long", note(fmt.Sprint("l", i)))
		}
	}
	for i := range long {
		add(prefix+"long", note(fmt.Sprint("tail", i)))
	}
	return head
}

// TestBulkRebuildEqualsLogOrder: a replay rebuilds a Fold stream by stream
// (bulk) with exactly the rows live delivery built in log order — also when
// chunks end inside a stream too long for one — without reading rows back
// except for a cut stream; a verify (which rebuilds the same way) is clean.
func TestBulkRebuildEqualsLogOrder(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		e := newEnv(t, dbURL)
		p := newFoldNotes(t, e.db, "bulk")
		head := appendInterleaved(t, e, "s", 25, 400, 120)
		e.start(t, relay.Config{BatchSize: 37, PollInterval: 20 * time.Millisecond}, p.consumer("bulk"))
		e.waitReached(t, "bulk", head)
		live := p.bodies(t, e.db)
		checkOrder(t, live)
		var handled int64
		if err := e.db.Get(&handled, `SELECT COUNT(*) FROM events WHERE event_type = 'note.added'`); err != nil {
			t.Fatal(err)
		}

		for _, tc := range []struct {
			name          string
			chunk, max    int
			wantCutLoads  bool
			wantFreshRuns int64
		}{
			{"one chunk", 100000, 400000, false, 1},
			// 16 events a chunk: many chunks; the long stream (~250 events)
			// is cut every 40, and each cut chunk reads its row back.
			{"small chunks", 16, 40, true, 2},
		} {
			t.Run(tc.name, func(t *testing.T) {
				rp, err := relay.NewReplayer(e.store, relay.Config{}, testLogger(), nil)
				if err != nil {
					t.Fatal(err)
				}
				relay.SetBulkChunks(rp, tc.chunk, tc.max)
				var fresh atomic.Int64
				loads := p.loads.Load()
				var reported, of int64
				res, err := rp.Replay(context.Background(), countFresh(p.consumer("bulk"), &fresh), relay.ReplayOptions{
					Progress: func(done, total int64) { reported, of = done, total },
				})
				if err != nil {
					t.Fatal(err)
				}
				if got := p.bodies(t, e.db); fmt.Sprint(got) != fmt.Sprint(live) {
					t.Fatalf("bulk replay differs from live delivery:\n got %v\nwant %v", got, live)
				}
				if !res.Bulk {
					t.Fatal("the replay was not rebuilt in bulk")
				}
				if res.Events != handled || reported != handled || of != handled {
					t.Fatalf("replay applied %d events, progress %d of %d; want %d (the handled ones)", res.Events, reported, of, handled)
				}
				if n := fresh.Load(); n < tc.wantFreshRuns {
					t.Fatalf("bulk fold ran %d times, want at least %d", n, tc.wantFreshRuns)
				}
				cutLoads := p.loads.Load() - loads
				if tc.wantCutLoads != (cutLoads > 0) {
					t.Fatalf("rows read back %d times during the replay; want some: %v", cutLoads, tc.wantCutLoads)
				}
				if !tc.wantCutLoads && cutLoads != 0 {
					t.Fatalf("a bulk rebuild read rows back %d times", cutLoads)
				}
				v, err := rp.Verify(context.Background(), p.consumer("bulk"), relay.VerifyOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if !v.Clean() || v.Rows != int64(len(live)) {
					t.Fatalf("verify after the bulk replay: %d rows, %d differing (%v)", v.Rows, v.Differing, v.Differences)
				}
			})
		}
	})
}

// TestBulkRebuildGivesUp: what the bulk rebuild cannot do it hands back to
// the rebuild in log order, which ends with the rows live delivery built:
// an event a handler fails on (dead-lettered, the rest applied), a Save that
// deletes rows, two streams whose rows claim one key (the later claim wins
// in log order; in bulk the insert of both fails).
func TestBulkRebuildGivesUp(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		setup func(p *foldNotes)
	}{
		{"poison event", func(p *foldNotes) {
			p.fail = func(text string) error {
				if text == "n77" {
					return fmt.Errorf("poison")
				}
				return nil
			}
		}},
		{"save deletes", func(p *foldNotes) { p.deleteOnSave = true }},
		{"claims collide", func(p *foldNotes) { p.claims = true }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dbtest.Run(t, func(t *testing.T, dbURL string) {
				e := newEnv(t, dbURL)
				p := newFoldNotes(t, e.db, "give")
				tc.setup(p)
				head := appendInterleaved(t, e, "g", 6, 120, 0)
				if p.claims {
					// Two streams end on the same text, one batch apart.
					for _, s := range []string{"g1", "g2"} {
						r, err := e.store.Append(context.Background(), eventstore.Stream{Type: "note", ID: s}, eventstore.AnyVersion, []eventstore.NewEvent{note("shared")})
						if err != nil {
							t.Fatal(err)
						}
						head = r.Position
					}
				}
				e.start(t, relay.Config{BatchSize: 1, PollInterval: 20 * time.Millisecond}, p.consumer("give"))
				e.waitReached(t, "give", head)
				live, liveClaims := p.bodies(t, e.db), p.claimRows(t, e.db)
				rp, err := relay.NewReplayer(e.store, relay.Config{}, testLogger(), nil)
				if err != nil {
					t.Fatal(err)
				}
				var fresh atomic.Int64
				loads := p.loads.Load()
				res, err := rp.Replay(context.Background(), countFresh(p.consumer("give"), &fresh), relay.ReplayOptions{BatchSize: 1})
				if err != nil {
					t.Fatal(err)
				}
				if res.Bulk || fresh.Load() == 0 || p.loads.Load() == loads {
					t.Fatalf("bulk fold ran %d times and rows were read back %d times: the bulk rebuild was not tried, or not given up", fresh.Load(), p.loads.Load()-loads)
				}
				if got := p.bodies(t, e.db); fmt.Sprint(got) != fmt.Sprint(live) {
					t.Fatalf("replay differs from live delivery:\n got %v\nwant %v", got, live)
				}
				if got := p.claimRows(t, e.db); fmt.Sprint(got) != fmt.Sprint(liveClaims) {
					t.Fatalf("claims after the replay %v, live %v", got, liveClaims)
				}
				if p.claims && liveClaims["shared"] != "g2" {
					t.Fatalf("live claims %v: want shared → g2", liveClaims)
				}
			})
		})
	}
}
