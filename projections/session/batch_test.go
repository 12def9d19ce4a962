package session_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rustok/rustok/domain/session"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/eventstore/relay"
	"github.com/rustok/rustok/platform/database"
	"github.com/rustok/rustok/platform/database/dbtest"
	sessionproj "github.com/rustok/rustok/projections/session"
	"github.com/rustok/rustok/projections/session/sessiontest"
)

// expected is the read model the workload's aggregates say.
func expected(w *sessiontest.Workload) readModel {
	m := readModel{}
	for id, s := range w.Sessions {
		m[id] = expectedRow(s, w.RevokedAt[id])
	}
	return m
}

// checksum hashes a read model in a stable order.
func checksum(m readModel) string {
	h := sha256.New()
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		fmt.Fprintf(h, "%+v\n", m[id])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// generate returns a workload of about events events.
func generate(tb testing.TB, seed uint64, events int) *sessiontest.Workload {
	tb.Helper()
	w, err := sessiontest.Generate(seed, 3, 6, events, t0)
	if err != nil {
		tb.Fatal(err)
	}
	return w
}

func appendWorkload(tb testing.TB, store *eventstore.Store, cmds []sessiontest.Command) int64 {
	tb.Helper()
	last, err := sessiontest.Append(context.Background(), store, cmds)
	if err != nil {
		tb.Fatal(err)
	}
	return last
}

func catchUpWith(tb testing.TB, store *eventstore.Store, batch int, last int64) {
	tb.Helper()
	cfg := fast
	cfg.BatchSize = batch
	if _, err := relay.CatchUpTo(context.Background(), store, sessionproj.Projection(), cfg, last, 60*time.Second); err != nil {
		tb.Fatal(err)
	}
}

func rewind(tb testing.TB, db *database.DB, cur eventstore.Cursor) {
	tb.Helper()
	q, args := `UPDATE consumer_offsets SET offset_acked = ? WHERE consumer_group = ?`, []any{cur.Position, sessionproj.Name}
	if db.Dialect() == database.Postgres {
		q, args = `UPDATE consumer_offsets SET offset_acked = ?, last_processed_transaction_id = CAST(? AS xid8) WHERE consumer_group = ?`,
			[]any{cur.Position, strconv.FormatUint(cur.TxID, 10), sessionproj.Name}
	}
	if _, err := db.Exec(db.Rebind(q), args...); err != nil {
		tb.Fatal(err)
	}
}

// TestTheWorkloadIsRealistic: the generated history holds every event type,
// every outcome of a refresh (rotation, reuse within and after the grace, a
// token never issued, an expired session) and every revocation reason.
func TestTheWorkloadIsRealistic(t *testing.T) {
	t.Parallel()
	w := generate(t, 1, 600)
	types := map[string]int{}
	for _, c := range w.Commands {
		for _, e := range c.Events {
			types[e.Type]++
		}
	}
	if len(types) != len(session.EventTypes()) {
		t.Errorf("the workload has %d event types (%v), want all %d", len(types), types, len(session.EventTypes()))
	}
	for _, o := range []string{sessiontest.OutcomeStarted, sessiontest.OutcomeRotated, sessiontest.OutcomeSamePair,
		sessiontest.OutcomeReuseRevoked, sessiontest.OutcomeExpired, sessiontest.OutcomeInvalidToken, sessiontest.OutcomeRevokeExpired} {
		if w.Outcomes[o] == 0 {
			t.Errorf("no decision with outcome %s: %v", o, w.Outcomes)
		}
	}
	for _, r := range session.Reasons() {
		if w.Outcomes["revoke:"+string(r)] == 0 {
			t.Errorf("no revocation for %s: %v", r, w.Outcomes)
		}
	}
	active := 0
	for _, s := range w.Sessions {
		if s.CheckActive(w.End) == nil {
			active++
		}
	}
	if active == 0 || active == len(w.Sessions) {
		t.Errorf("%d of %d sessions active at the end, want some but not all", active, len(w.Sessions))
	}
	t.Logf("%d events, %d sessions (%d active at the end), outcomes %v", w.Events, len(w.Sessions), active, w.Outcomes)
}

// TestBatchesMatchTheAggregates: a history of every event type and outcome
// gives the aggregates' state whether it arrives in batches of 1000 (every
// type mixed, the rows read with one SELECT and written with one upsert),
// of 7 (each session's events cut across batches) or one event at a time.
func TestBatchesMatchTheAggregates(t *testing.T) {
	t.Parallel()
	w := generate(t, 1, 600)
	want := expected(w)
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
	w := generate(t, 2, 300)
	want := expected(w)
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
// at most 50) while four writers append concurrently has the same checksum
// as the aggregates' state and as replays in batches of 1000 and of 7.
func TestReplayEqualsLiveDelivery(t *testing.T) {
	t.Parallel()
	w := generate(t, 3, 800)
	want := checksum(expected(w))
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		db, store := newStore(t, dbURL)
		cfg := fast
		cfg.BatchSize = 50
		runner, stop := startRunner(t, store, cfg)
		last, err := w.AppendConcurrently(context.Background(), store, 4, func(eventstore.Result) { runner.Wake() })
		if err != nil {
			t.Fatal(err)
		}
		ok, err := relay.NewWaiter(db, runner.Progress()).WaitFor(context.Background(), last, []string{sessionproj.Name}, 60*time.Second)
		if err != nil || !ok {
			t.Fatalf("projection did not reach position %d: %v", last, err)
		}
		stop()
		if live := checksum(snapshot(t, db)); live != want {
			t.Fatalf("live read model %s differs from the aggregates %s:\n%s", live, want, diff(snapshot(t, db), expected(w)))
		}
		r, err := relay.NewReplayer(store, fast, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, batch := range []int{1000, 7} {
			res, err := r.Replay(context.Background(), sessionproj.Projection(), relay.ReplayOptions{BatchSize: batch})
			if err != nil {
				t.Fatal(err)
			}
			if got := checksum(snapshot(t, db)); got != want || res.Events != int64(w.Events) {
				t.Fatalf("replay in batches of %d: %d events, checksum %s, want %d and %s", batch, res.Events, got, w.Events, want)
			}
		}
		if dl := deadLetters(t, db); len(dl) != 0 {
			t.Errorf("dead letters: %v", dl)
		}
	})
}

// TestPoisonInABatchOf1000: a refresh of a session that has no row, in the
// middle of a batch of 1000, is dead-lettered alone; the others commit.
func TestPoisonInABatchOf1000(t *testing.T) {
	t.Parallel()
	w := generate(t, 4, 990)
	want := expected(w)
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		db, store := newStore(t, dbURL)
		orphan := uuid.NewString()
		poison := sessiontest.Command{Stream: eventstore.Stream{Type: session.StreamType, ID: orphan, TenantID: w.Tenants[0]},
			Events: []eventstore.NewEvent{eventstore.Record(session.Refreshed{SessionID: orphan, TokenHash: "h", Generation: 1, At: t0})}}
		half := len(w.Commands) / 2
		cmds := slices.Concat(w.Commands[:half], []sessiontest.Command{poison}, w.Commands[half:])
		last := appendWorkload(t, store, cmds)
		if w.Events+1 > 1000 || w.Events < 950 {
			t.Fatalf("the workload has %d events, more than a batch", w.Events)
		}
		catchUpWith(t, store, 1000, last)
		if got := snapshot(t, db); !reflect.DeepEqual(got, want) {
			t.Fatalf("read model differs from the aggregates:\n%s", diff(got, want))
		}
		dl := deadLetters(t, db)
		if len(dl) != 1 || !strings.Contains(dl[0], sessionproj.ErrMissingRow.Error()) || !strings.Contains(dl[0], orphan) {
			t.Fatalf("dead letters = %v, want one for the orphan's session.refreshed", dl)
		}
	})
}

// diff describes the first rows in which two read models differ.
func diff(got, want readModel) string {
	var b strings.Builder
	n := 0
	for id, w := range want {
		if g, ok := got[id]; !ok || !reflect.DeepEqual(g, w) {
			if n++; n <= 5 {
				fmt.Fprintf(&b, "session %s:\n got  %+v\n want %+v\n", id, g, w)
			}
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			fmt.Fprintf(&b, "unexpected session %s\n", id)
		}
	}
	fmt.Fprintf(&b, "(%d sessions differ)", n)
	return b.String()
}
