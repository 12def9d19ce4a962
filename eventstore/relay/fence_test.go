package relay_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/eventstore/relay"
	"github.com/rustok/rustok/platform/database"
	"github.com/rustok/rustok/platform/database/dbtest"
)

// TestSlowReactorHoldsNoOneBack: on PostgreSQL a consumer sees an event only
// when every older transaction has ended (the visibility fence). A reactor
// that waits on something outside the database inside its batch (a mail
// server that does not answer) must not hold that fence: while it waits,
// events appended after it started are still projected at once.
func TestSlowReactorHoldsNoOneBack(t *testing.T) {
	t.Parallel()
	e := newEnv(t, dbtest.URL(t, database.Postgres))
	p := newFoldNotes(t, e.db, "fence")
	waiting, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	slow := relay.Consumer{Name: "slow-mailer", Kind: relay.KindReactor, Handlers: map[string]relay.Handler{
		"note.added": func(ctx context.Context, tx *relay.Tx, e eventstore.Event) error {
			once.Do(func() {
				close(waiting)
				select {
				case <-release:
				case <-ctx.Done():
				}
			})
			return nil
		},
	}}
	e.start(t, relay.Config{PollInterval: 20 * time.Millisecond}, slow, p.consumer("fence"))
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	if _, err := e.store.Append(context.Background(), eventstore.Stream{Type: "note", ID: "first"}, eventstore.NoStream, []eventstore.NewEvent{note("first")}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-waiting:
	case <-time.After(30 * time.Second):
		t.Fatal("the reactor never got the first event")
	}
	// The reactor now waits inside its batch's transaction.
	r, err := e.store.Append(context.Background(), eventstore.Stream{Type: "note", ID: "second"}, eventstore.NoStream, []eventstore.NewEvent{note("second")})
	if err != nil {
		t.Fatal(err)
	}
	ok, err := relay.NewWaiter(e.db, nil).WaitFor(context.Background(), r.Position, []string{"fence"}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Fatal("an event appended while a reactor waited was not projected within 5 s: the reactor holds back the visibility fence")
	}
	if got := p.bodies(t, e.db); fmt.Sprint(got) != "map[first:1:first second:1:second]" {
		t.Fatalf("projected %v", got)
	}
	close(release)
	e.waitReached(t, "slow-mailer", r.Position)
}

// TestReactorOnceAcrossInstances: two instances run the same reactor on one
// PostgreSQL database; each batch is processed by one of them at a time,
// from the checkpoint the other committed, so without crashes every event is
// handled once — none handled again by an instance that waited for the
// group's lock and then read an old checkpoint.
func TestReactorOnceAcrossInstances(t *testing.T) {
	t.Parallel()
	dbURL := dbtest.URL(t, database.Postgres)
	var mu sync.Mutex
	handled := map[string]int{}
	reactor := relay.Consumer{Name: "counter", Kind: relay.KindReactor, Handlers: map[string]relay.Handler{
		"note.added": func(ctx context.Context, tx *relay.Tx, e eventstore.Event) error {
			mu.Lock()
			handled[e.ID]++
			mu.Unlock()
			return nil
		},
	}}
	a, b := newEnv(t, dbURL), newEnv(t, dbURL)
	a.start(t, relay.Config{BatchSize: 7, PollInterval: 5 * time.Millisecond}, reactor)
	b.start(t, relay.Config{BatchSize: 7, PollInterval: 5 * time.Millisecond}, reactor)
	var wg sync.WaitGroup
	var last sync.Map
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				r, err := a.store.Append(context.Background(), eventstore.Stream{Type: "note", ID: fmt.Sprint("w", w, "-", i)}, eventstore.NoStream, []eventstore.NewEvent{note("x")})
				if err != nil {
					t.Error(err)
					return
				}
				last.Store(w, r.Position)
			}
		}()
	}
	wg.Wait()
	var head int64
	last.Range(func(_, v any) bool { head = max(head, v.(int64)); return true })
	a.waitReached(t, "counter", head)
	mu.Lock()
	defer mu.Unlock()
	if len(handled) != 400 {
		t.Fatalf("%d events handled, want 400", len(handled))
	}
	for id, n := range handled {
		if n != 1 {
			t.Fatalf("event %s handled %d times", id, n)
		}
	}
}
