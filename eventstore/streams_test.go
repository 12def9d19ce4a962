package eventstore_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/platform/database"
	"github.com/rustok/rustok/platform/database/dbtest"
)

// after reports whether cursor a comes after b in consumption order.
func after(a, b eventstore.Cursor) bool {
	if a.TxID != b.TxID {
		return a.TxID > b.TxID
	}
	return a.Position > b.Position
}

// TestReadStreams: the read of a bulk rebuild returns exactly the events of
// the given types at or before the cursor — the same envelopes ReadAll
// returns — grouped by stream and in version order; VisibleEnd is the last
// event ReadAll reaches.
func TestReadStreams(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		s := mustStore(t, dbURL, eventstore.Options{})
		if end, err := s.VisibleEnd(ctx); err != nil || end != (eventstore.Cursor{}) {
			t.Fatalf("visible end of an empty log = %+v, %v; want the zero cursor", end, err)
		}
		streams := []eventstore.Stream{{Type: "note", ID: "b"}, {Type: "note", ID: "a"}, {Type: "memo", ID: "a"}, {Type: "note", ID: "c"}}
		for i := range 40 {
			st := streams[i*7%len(streams)]
			e := ev(fmt.Sprint("t", i))
			if i%5 == 0 {
				e.Type = "note.removed"
			}
			var opts []eventstore.AppendOption
			if i%3 == 0 {
				opts = append(opts, eventstore.WithMetadata(eventstore.Metadata{ActorID: fmt.Sprint("u", i)}))
			}
			if _, err := s.Append(ctx, st, eventstore.AnyVersion, []eventstore.NewEvent{e}, opts...); err != nil {
				t.Fatal(err)
			}
		}
		all, err := s.ReadAll(ctx, eventstore.Cursor{}, 1000)
		if err != nil || len(all) != 40 {
			t.Fatalf("read all: %d events, %v", len(all), err)
		}
		end, err := s.VisibleEnd(ctx)
		if err != nil || end != all[len(all)-1].Cursor() {
			t.Fatalf("visible end = %+v, %v; want %+v", end, err, all[len(all)-1].Cursor())
		}
		for _, until := range []eventstore.Cursor{end, all[23].Cursor(), all[0].Cursor()} {
			var got []eventstore.Event
			if err := s.ReadStreams(ctx, until, []string{"note.added"}, func(e eventstore.Event) error {
				got = append(got, e)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			var want []eventstore.Event
			for _, e := range all {
				if e.Type == "note.added" && !after(e.Cursor(), until) {
					want = append(want, e)
				}
			}
			slices.SortFunc(want, func(x, y eventstore.Event) int {
				return cmp.Or(cmp.Compare(x.Stream.Type, y.Stream.Type), cmp.Compare(x.Stream.ID, y.Stream.ID), cmp.Compare(x.Version, y.Version))
			})
			if len(got) != len(want) {
				t.Fatalf("until %+v: %d events, want %d", until, len(got), len(want))
			}
			for i := range want {
				g, w := got[i], want[i]
				if g.ID != w.ID || g.Stream != w.Stream || g.Version != w.Version || g.Type != w.Type || g.Position != w.Position ||
					g.TxID != w.TxID || g.Metadata != w.Metadata || string(g.Payload) != string(w.Payload) || !g.RecordedAt.Equal(w.RecordedAt) {
					t.Fatalf("until %+v, event %d:\n got %+v\nwant %+v", until, i, g, w)
				}
			}
		}
		stop := errors.New("stop")
		calls := 0
		err = s.ReadStreams(ctx, end, []string{"note.added", "note.removed"}, func(eventstore.Event) error {
			calls++
			return stop
		})
		if !errors.Is(err, stop) || calls != 1 {
			t.Fatalf("fn's error: %v after %d calls; want it returned after 1", err, calls)
		}
		if err := s.ReadStreams(ctx, end, nil, func(eventstore.Event) error { calls++; return nil }); err != nil || calls != 1 {
			t.Fatalf("no types: %v, %d calls", err, calls-1)
		}
	})
}

// TestVisibleEndStopsAtTheFence: on PostgreSQL an event committed after an
// append that is still open is not at or before the visible end.
func TestVisibleEndStopsAtTheFence(t *testing.T) {
	t.Parallel()
	s := mustStore(t, dbtest.URL(t, database.Postgres), eventstore.Options{})
	ctx := context.Background()
	first := mustAppend(t, s, eventstore.Stream{Type: "note", ID: "first"}, 0, ev("first"))
	slow, err := s.DB().BeginWrite(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Rollback()
	if _, err := slow.ExecContext(ctx, `INSERT INTO events (event_id, stream_type, stream_id, stream_version, tenant_id, event_type, schema_version, payload, metadata, recorded_at)
		VALUES ('01900000-0000-7000-8000-0000000000f1', 'note', 'slow', 1, '', 'note.added', 1, '{}', '{}', now())`); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, s, eventstore.Stream{Type: "note", ID: "fast"}, 0, ev("fast"))
	end, err := s.VisibleEnd(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Other tests' open transactions may hold the fence further back.
	if end.Position > first.Position {
		t.Fatalf("visible end at position %d, past the open append (first event at %d)", end.Position, first.Position)
	}
}
