package eventstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/platform/database"
	"github.com/rustok/rustok/platform/database/dbtest"
)

type noted struct {
	Text string `json:"text"`
}

func mustStore(tb testing.TB, dbURL string, opts eventstore.Options) *eventstore.Store {
	tb.Helper()
	s, err := eventstore.New(dbtest.OpenURL(tb, dbURL), opts)
	if err != nil {
		tb.Fatalf("new store: %v", err)
	}
	return s
}

func ev(text string) eventstore.NewEvent {
	return eventstore.NewEvent{Type: "note.added", SchemaVersion: 1, Payload: noted{Text: text}}
}

func mustAppend(tb testing.TB, s *eventstore.Store, stream eventstore.Stream, expected int64, evs ...eventstore.NewEvent) eventstore.Result {
	tb.Helper()
	r, err := s.Append(context.Background(), stream, expected, evs)
	if err != nil {
		tb.Fatalf("append: %v", err)
	}
	return r
}

func TestStore(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		t.Run("append then load returns the envelope", func(t *testing.T) {
			fixed := time.Date(2026, 11, 27, 10, 0, 0, 123456000, time.UTC)
			var committed []int64
			s := mustStore(t, dbURL, eventstore.Options{Now: func() time.Time { return fixed }, OnCommit: func(p int64) { committed = append(committed, p) }})
			stream := eventstore.Stream{Type: "note", ID: "n-1", TenantID: "t-1"}
			meta := eventstore.Metadata{ActorID: "u-1", RequestID: "r-1", CorrelationID: "c-1", CausationID: "x-1"}
			r, err := s.Append(ctx, stream, eventstore.NoStream, []eventstore.NewEvent{ev("a"), ev("b")}, eventstore.WithMetadata(meta))
			if err != nil {
				t.Fatal(err)
			}
			if r.Version != 2 || r.Position < 2 {
				t.Fatalf("result = %+v, want version 2 and position ≥ 2", r)
			}
			got, err := s.Load(ctx, "note", "n-1")
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 {
				t.Fatalf("loaded %d events, want 2", len(got))
			}
			for i, e := range got {
				if e.Version != int64(i+1) || e.Stream != stream || e.Type != "note.added" || e.SchemaVersion != 1 || e.Metadata != meta || !e.RecordedAt.Equal(fixed) || len(e.ID) != 36 {
					t.Errorf("event %d = %+v", i, e)
				}
			}
			if got[1].Position != r.Position || got[0].Position >= got[1].Position {
				t.Errorf("positions %d, %d; result position %d", got[0].Position, got[1].Position, r.Position)
			}
			var p noted
			if err := json.Unmarshal(got[1].Payload, &p); err != nil || p.Text != "b" {
				t.Errorf("payload = %s (%v)", got[1].Payload, err)
			}
			if len(committed) != 1 || committed[0] != r.Position {
				t.Errorf("OnCommit calls = %v, want [%d]", committed, r.Position)
			}
		})

		t.Run("stale expected version is a conflict that names both versions", func(t *testing.T) {
			s := mustStore(t, dbURL, eventstore.Options{})
			stream := eventstore.Stream{Type: "note", ID: "n-2", TenantID: "t-1"}
			mustAppend(t, s, stream, eventstore.NoStream, ev("a"))
			_, err := s.Append(ctx, stream, eventstore.NoStream, []eventstore.NewEvent{ev("b")})
			var ce *eventstore.ConflictError
			if !errors.Is(err, eventstore.ErrConcurrencyConflict) || !errors.As(err, &ce) || ce.Expected != 0 || ce.Actual != 1 {
				t.Fatalf("err = %v, want conflict expected 0 actual 1", err)
			}
			if evs, _ := s.Load(ctx, "note", "n-2"); len(evs) != 1 {
				t.Fatalf("stream has %d events after a conflict, want 1", len(evs))
			}
			r := mustAppend(t, s, stream, eventstore.AnyVersion, ev("c"))
			if r.Version != 2 {
				t.Fatalf("AnyVersion append gave version %d, want 2", r.Version)
			}
		})

		t.Run("invalid appends are refused", func(t *testing.T) {
			s := mustStore(t, dbURL, eventstore.Options{MaxEventsPerAppend: 2})
			ok := eventstore.Stream{Type: "note", ID: "n-3"}
			cases := []struct {
				name     string
				stream   eventstore.Stream
				expected int64
				events   []eventstore.NewEvent
			}{
				{"no events", ok, 0, nil},
				{"too many events", ok, 0, []eventstore.NewEvent{ev("a"), ev("b"), ev("c")}},
				{"no stream id", eventstore.Stream{Type: "note"}, 0, []eventstore.NewEvent{ev("a")}},
				{"expected below AnyVersion", ok, -2, []eventstore.NewEvent{ev("a")}},
				{"event without type", ok, 0, []eventstore.NewEvent{{SchemaVersion: 1}}},
				{"invalid raw JSON", ok, 0, []eventstore.NewEvent{{Type: "x", SchemaVersion: 1, Payload: json.RawMessage("{")}}},
			}
			for _, tc := range cases {
				if _, err := s.Append(ctx, tc.stream, tc.expected, tc.events); !errors.Is(err, eventstore.ErrInvalidAppend) {
					t.Errorf("%s: err = %v, want ErrInvalidAppend", tc.name, err)
				}
			}
			if evs, _ := s.Load(ctx, "note", "n-3"); len(evs) != 0 {
				t.Fatalf("invalid appends wrote %d events", len(evs))
			}
		})

		t.Run("a refused reservation rolls back the whole append", func(t *testing.T) {
			s := mustStore(t, dbURL, eventstore.Options{})
			a := eventstore.Stream{Type: "tenant", ID: "a"}
			b := eventstore.Stream{Type: "tenant", ID: "b"}
			mustAppend(t, s, a, 0, ev("a"))
			if _, err := s.Append(ctx, a, 1, []eventstore.NewEvent{ev("slug")}, eventstore.Reserve("tenant.slug", "shop")); err != nil {
				t.Fatal(err)
			}
			_, err := s.Append(ctx, b, 0, []eventstore.NewEvent{ev("b")}, eventstore.Reserve("tenant.slug", "free"), eventstore.Reserve("tenant.slug", "shop"))
			var re *eventstore.ReservationError
			if !errors.Is(err, eventstore.ErrReserved) || !errors.As(err, &re) || re.Value != "shop" {
				t.Fatalf("err = %v, want reservation error for shop", err)
			}
			if evs, _ := s.Load(ctx, "tenant", "b"); len(evs) != 0 {
				t.Fatalf("rolled-back append left %d events", len(evs))
			}
			// "free" must not have been kept: another stream can take it.
			if _, err := s.Append(ctx, eventstore.Stream{Type: "tenant", ID: "c"}, 0, []eventstore.NewEvent{ev("c")}, eventstore.Reserve("tenant.slug", "free")); err != nil {
				t.Fatalf("reservation of a rolled-back append survived: %v", err)
			}
			// The holder may reserve again; after release another stream may take it.
			if _, err := s.Append(ctx, a, 2, []eventstore.NewEvent{ev("again")}, eventstore.Reserve("tenant.slug", "shop")); err != nil {
				t.Fatalf("holder re-reserve: %v", err)
			}
			if _, err := s.Append(ctx, a, 3, []eventstore.NewEvent{ev("rel")}, eventstore.Release("tenant.slug", "shop")); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Append(ctx, b, 0, []eventstore.NewEvent{ev("b")}, eventstore.Reserve("tenant.slug", "shop")); err != nil {
				t.Fatalf("reserve after release: %v", err)
			}
		})

		t.Run("racing writers on one version: one wins, the rest conflict", func(t *testing.T) {
			s := mustStore(t, dbURL, eventstore.Options{})
			stream := eventstore.Stream{Type: "note", ID: "race"}
			const writers = 8
			var wg sync.WaitGroup
			errs := make([]error, writers)
			start := make(chan struct{})
			for i := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					_, errs[i] = s.Append(ctx, stream, eventstore.NoStream, []eventstore.NewEvent{ev(fmt.Sprint(i))})
				}()
			}
			close(start)
			wg.Wait()
			wins := 0
			for _, err := range errs {
				switch {
				case err == nil:
					wins++
				case !errors.Is(err, eventstore.ErrConcurrencyConflict):
					t.Errorf("unexpected error: %v", err)
				}
			}
			evs, err := s.Load(ctx, "note", "race")
			if err != nil {
				t.Fatal(err)
			}
			if wins != 1 || len(evs) != 1 || evs[0].Version != 1 {
				t.Fatalf("wins = %d, stream = %d events; want exactly one", wins, len(evs))
			}
		})

		t.Run("ReadAll pages through the log in order and upcasts", func(t *testing.T) {
			up := eventstore.NewUpcasters()
			if err := up.Register("note.old", 1, func(p json.RawMessage) (json.RawMessage, error) {
				var v map[string]string
				if err := json.Unmarshal(p, &v); err != nil {
					return nil, err
				}
				return json.Marshal(noted{Text: v["body"]})
			}); err != nil {
				t.Fatal(err)
			}
			if err := up.Register("note.old", 1, func(p json.RawMessage) (json.RawMessage, error) { return p, nil }); err == nil {
				t.Fatal("duplicate upcaster accepted")
			}
			s := mustStore(t, dbURL, eventstore.Options{Upcasters: up})
			start, err := s.Head(ctx)
			if err != nil {
				t.Fatal(err)
			}
			stream := eventstore.Stream{Type: "log", ID: "l1"}
			mustAppend(t, s, stream, 0, eventstore.NewEvent{Type: "note.old", SchemaVersion: 1, Payload: map[string]string{"body": "old"}})
			for i := range 6 {
				mustAppend(t, s, stream, int64(i+1), ev(fmt.Sprint(i)))
			}
			// On PostgreSQL other tests' open transactions may hold the
			// cluster-wide fence a moment: page through until all 7 are seen.
			var mine []eventstore.Event
			for deadline := time.Now().Add(10 * time.Second); len(mine) < 7 && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
				var all []eventstore.Event
				cur := eventstore.Cursor{}
				for {
					page, err := s.ReadAll(ctx, cur, 3)
					if err != nil {
						t.Fatal(err)
					}
					if len(page) == 0 {
						break
					}
					all = append(all, page...)
					cur = page[len(page)-1].Cursor()
				}
				mine = mine[:0]
				for _, e := range all {
					if e.Position > start {
						mine = append(mine, e)
					}
				}
			}
			if len(mine) != 7 {
				t.Fatalf("read %d events, want 7", len(mine))
			}
			for i := 1; i < len(mine); i++ {
				if mine[i].Version != mine[i-1].Version+1 {
					t.Fatalf("order broken at %d: %d after %d", i, mine[i].Version, mine[i-1].Version)
				}
			}
			var p noted
			if err := json.Unmarshal(mine[0].Payload, &p); err != nil || p.Text != "old" || mine[0].SchemaVersion != 2 {
				t.Fatalf("upcast event = v%d %s", mine[0].SchemaVersion, mine[0].Payload)
			}
			head, _ := s.Head(ctx)
			if head != mine[6].Position {
				t.Fatalf("head = %d, want %d", head, mine[6].Position)
			}
		})
	})
}

// TestVisibilityFence proves that on PostgreSQL a reader never passes a row of a
// transaction that is still open, even when later transactions committed.
func TestVisibilityFence(t *testing.T) {
	t.Parallel()
	dbURL := dbtest.URL(t, database.Postgres)
	s := mustStore(t, dbURL, eventstore.Options{})
	ctx := context.Background()
	slow, err := s.DB().BeginWrite(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Rollback()
	if _, err := slow.ExecContext(ctx, `INSERT INTO events (event_id, stream_type, stream_id, stream_version, tenant_id, event_type, schema_version, payload, metadata, recorded_at)
		VALUES ('01900000-0000-7000-8000-000000000001', 'note', 'slow', 1, '', 'note.added', 1, '{}', '{}', now())`); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, s, eventstore.Stream{Type: "note", ID: "fast"}, 0, ev("fast"))
	got, err := s.ReadAll(ctx, eventstore.Cursor{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Fatalf("reader saw %d events past an open transaction, want 0", len(got))
	}
	if err := slow.Commit(); err != nil {
		t.Fatal(err)
	}
	// Other tests' transactions may hold the cluster-wide fence a moment longer.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if got, err = s.ReadAll(ctx, eventstore.Cursor{}, 100); err != nil || len(got) >= 2 {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Stream.ID != "slow" || got[1].Stream.ID != "fast" {
		t.Fatalf("after commit read %v, want slow then fast", got)
	}
}

// TestAnyVersionUnderContention: many writers appending with AnyVersion to
// one stream never get a conflict (a lost race for the next version is
// retried; under load, ten lost races in a row once failed a writer), and
// the stream ends with every version once.
func TestAnyVersionUnderContention(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		s := mustStore(t, dbURL, eventstore.Options{})
		writers, each := 32, 20
		if testing.Short() {
			writers, each = 8, 10
		}
		stream := eventstore.Stream{Type: "note", ID: "hot"}
		var wg sync.WaitGroup
		errs := make(chan error, writers*each)
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					if _, err := s.Append(context.Background(), stream, eventstore.AnyVersion, []eventstore.NewEvent{ev(fmt.Sprint(w, "-", i))}); err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("AnyVersion append under contention: %v", err)
		}
		got, err := s.Load(context.Background(), "note", "hot")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != writers*each {
			t.Fatalf("%d events in the stream, want %d", len(got), writers*each)
		}
		for i, e := range got {
			if e.Version != int64(i+1) {
				t.Fatalf("event %d has version %d, want %d", i, e.Version, i+1)
			}
		}
	})
}
