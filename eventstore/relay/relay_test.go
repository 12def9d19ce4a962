package relay_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
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

type noted struct {
	Text string `json:"text"`
}

func note(text string) eventstore.NewEvent {
	return eventstore.NewEvent{Type: "note.added", SchemaVersion: 1, Payload: noted{Text: text}}
}

func testLogger() *slog.Logger {
	if os.Getenv("RUSTOK_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// notesProjection keeps, per stream, the version and the concatenated texts,
// and logs every applied (stream, version, position) in delivery order.
type notesProjection struct {
	notes, log string
	// fail makes the handler fail for a text.
	fail func(text string) error
	// applied counts handler calls that changed the read model.
	applied atomic.Int64
}

func newNotes(t testing.TB, db *database.DB, suffix string) *notesProjection {
	t.Helper()
	p := &notesProjection{notes: "rm_notes_" + suffix, log: "rm_note_log_" + suffix}
	seq := "seq INTEGER PRIMARY KEY AUTOINCREMENT"
	if db.Dialect() == database.Postgres {
		seq = "seq BIGSERIAL PRIMARY KEY"
	}
	for _, q := range []string{
		`CREATE TABLE ` + p.notes + ` (stream_id TEXT PRIMARY KEY, version BIGINT NOT NULL, body TEXT NOT NULL)`,
		`CREATE INDEX ` + p.notes + `_version_idx ON ` + p.notes + ` (version)`,
		`CREATE TABLE ` + p.log + ` (` + seq + `, stream_id TEXT NOT NULL, version BIGINT NOT NULL, position BIGINT NOT NULL, UNIQUE (stream_id, version))`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("create test tables: %v", err)
		}
	}
	return p
}

func (p *notesProjection) consumer(name string) relay.Consumer {
	return relay.Consumer{
		Name: name, Kind: relay.KindProjection, Tables: []string{p.notes, p.log},
		Handlers: map[string]relay.Handler{"note.added": relay.On(p.added)},
	}
}

func (p *notesProjection) added(ctx context.Context, tx *relay.Tx, n noted, e eventstore.Event) error {
	if p.fail != nil {
		if err := p.fail(n.Text); err != nil {
			return err
		}
	}
	var v int64
	err := tx.Get(ctx, &v, `SELECT version FROM `+tx.Table(p.notes)+` WHERE stream_id = ?`, e.Stream.ID)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if !relay.CheckVersion(v, e.Version) {
		return nil // a redelivery: already applied
	}
	if v == 0 {
		_, err = tx.Exec(ctx, `INSERT INTO `+tx.Table(p.notes)+` (stream_id, version, body) VALUES (?, ?, ?)`, e.Stream.ID, e.Version, n.Text)
	} else {
		_, err = tx.Exec(ctx, `UPDATE `+tx.Table(p.notes)+` SET version = ?, body = body || ',' || ? WHERE stream_id = ?`, e.Version, n.Text, e.Stream.ID)
	}
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO `+tx.Table(p.log)+` (stream_id, version, position) VALUES (?, ?, ?)`, e.Stream.ID, e.Version, e.Position); err != nil {
		return err
	}
	p.applied.Add(1)
	return nil
}

// checksum hashes the notes table in a stable order.
func (p *notesProjection) checksum(t testing.TB, db *database.DB) string {
	t.Helper()
	var rows []struct {
		StreamID string `db:"stream_id"`
		Version  int64  `db:"version"`
		Body     string `db:"body"`
	}
	if err := db.Select(&rows, `SELECT stream_id, version, body FROM `+p.notes+` ORDER BY stream_id`); err != nil {
		t.Fatalf("checksum: %v", err)
	}
	h := sha256.New()
	for _, r := range rows {
		fmt.Fprintf(h, "%s|%d|%s\n", r.StreamID, r.Version, r.Body)
	}
	var logged int64
	if err := db.Get(&logged, `SELECT COUNT(*) FROM `+p.log); err != nil {
		t.Fatalf("checksum: %v", err)
	}
	fmt.Fprintf(h, "log=%d", logged)
	return hex.EncodeToString(h.Sum(nil))
}

type env struct {
	db     *database.DB
	store  *eventstore.Store
	runner *relay.Runner
}

func newEnv(t testing.TB, dbURL string) *env {
	t.Helper()
	db := dbtest.OpenURL(t, dbURL)
	e := &env{db: db}
	store, err := eventstore.New(db, eventstore.Options{OnCommit: func(int64) {
		if e.runner != nil {
			e.runner.Wake()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	e.store = store
	return e
}

// start runs the consumers until the returned stop function is called.
func (e *env) start(t testing.TB, cfg relay.Config, cs ...relay.Consumer) (stop func()) {
	t.Helper()
	r, err := relay.NewRunner(e.store, cs, cfg, testLogger(), nil)
	if err != nil {
		t.Fatal(err)
	}
	e.runner = r
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	select {
	case <-r.Running():
	case err := <-done:
		t.Fatalf("runner stopped at start: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("runner did not start")
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("runner: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func (e *env) waitReached(t testing.TB, consumer string, position int64) {
	t.Helper()
	w := relay.NewWaiter(e.db, nil)
	ok, err := w.WaitFor(context.Background(), position, []string{consumer}, 60*time.Second)
	if err != nil || !ok {
		t.Fatalf("%s did not reach position %d: %v", consumer, position, err)
	}
}

func (e *env) append(t testing.TB, stream string, expected int64, evs ...eventstore.NewEvent) eventstore.Result {
	t.Helper()
	r, err := e.store.Append(context.Background(), eventstore.Stream{Type: "note", ID: stream, TenantID: "t1"}, expected, evs)
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	return r
}

var fast = relay.Config{PollInterval: 50 * time.Millisecond, RetryInterval: 50 * time.Millisecond, RetryBackoff: time.Millisecond, DeadLetterAfter: 3}

func TestDelivery(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		ctx := context.Background()
		e := newEnv(t, dbURL)
		good := newNotes(t, e.db, "good")
		flaky := newNotes(t, e.db, "flaky")
		var flakyCalls atomic.Int64
		flaky.fail = func(text string) error {
			switch text {
			case "poison":
				return errors.New("cannot apply poison")
			case "panic":
				panic("handler blew up")
			case "flaky":
				if flakyCalls.Add(1) < 3 {
					return errors.New("transient")
				}
			}
			return nil
		}
		e.start(t, fast, good.consumer("good"), flaky.consumer("flaky"))

		e.append(t, "s1", 0, note("a"), note("flaky"), note("b"))
		e.append(t, "s2", 0, note("poison"), note("c"))
		e.append(t, "s3", 0, eventstore.NewEvent{Type: "other.unknown", SchemaVersion: 1, Payload: map[string]int{"x": 1}})
		e.append(t, "s3", 1, note("panic"))
		// A rolled-back command: its reservation is taken, so nothing is written.
		if _, err := e.store.Append(ctx, eventstore.Stream{Type: "note", ID: "s9"}, 0, []eventstore.NewEvent{note("ghost")}, eventstore.Reserve("x", "1")); err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.Append(ctx, eventstore.Stream{Type: "note", ID: "s10"}, 0, []eventstore.NewEvent{note("never")}, eventstore.Reserve("x", "1")); !errors.Is(err, eventstore.ErrReserved) {
			t.Fatalf("want reservation conflict, got %v", err)
		}
		last := e.append(t, "s4", 0, note("z"))
		e.waitReached(t, "good", last.Position)
		e.waitReached(t, "flaky", last.Position)

		bodies := func(p *notesProjection) map[string]string {
			var rows []struct {
				S string `db:"stream_id"`
				B string `db:"body"`
			}
			if err := e.db.Select(&rows, `SELECT stream_id AS stream_id, body FROM `+p.notes); err != nil {
				t.Fatal(err)
			}
			m := map[string]string{}
			for _, r := range rows {
				m[r.S] = r.B
			}
			return m
		}
		wantGood := map[string]string{"s1": "a,flaky,b", "s2": "poison,c", "s3": "panic", "s4": "z", "s9": "ghost"}
		if got := bodies(good); fmt.Sprint(got) != fmt.Sprint(wantGood) {
			t.Errorf("good read model = %v, want %v", got, wantGood)
		}
		// flaky: "flaky" succeeded on its third try; poison and panic were
		// dead-lettered and the consumer went on (c applied after poison).
		wantFlaky := map[string]string{"s1": "a,flaky,b", "s2": "c", "s4": "z", "s9": "ghost"}
		if got := bodies(flaky); fmt.Sprint(got) != fmt.Sprint(wantFlaky) {
			t.Errorf("flaky read model = %v, want %v", got, wantFlaky)
		}
		dls, err := relay.DeadLetters(ctx, e.db, "flaky", 10)
		if err != nil {
			t.Fatal(err)
		}
		var reasons []string
		for _, d := range dls {
			reasons = append(reasons, d.EventType+":"+d.Stream+":"+strings.SplitN(d.Error, "\n", 2)[0])
			if d.Attempts != 3 {
				t.Errorf("dead letter attempts = %d, want 3", d.Attempts)
			}
		}
		want := []string{
			"note.added:note/s2:cannot apply poison",
			"note.added:note/s3:handler panic: handler blew up",
		}
		if fmt.Sprint(reasons) != fmt.Sprint(want) {
			t.Errorf("dead letters = %q, want %q", reasons, want)
		}
		if dl, _ := relay.DeadLetters(ctx, e.db, "good", 10); len(dl) != 0 {
			t.Errorf("good has %d dead letters", len(dl))
		}
		sts, err := relay.Statuses(ctx, e.store, []relay.Consumer{good.consumer("good"), flaky.consumer("flaky")})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range sts {
			if s.LagEvents != 0 || s.Position != last.Position || s.Head != last.Position {
				t.Errorf("status %+v, want caught up at %d", s, last.Position)
			}
		}
		if sts[1].DeadLetters != 2 || sts[0].DeadLetters != 0 {
			t.Errorf("dead letter counts = %d, %d", sts[0].DeadLetters, sts[1].DeadLetters)
		}
	})
}

// TestRedeliveryIsANoOp delivers the whole log a second time (checkpoint reset)
// and checks that the read model does not change.
func TestRedeliveryIsANoOp(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		e := newEnv(t, dbURL)
		p := newNotes(t, e.db, "p")
		stop := e.start(t, fast, p.consumer("notes"))
		var last eventstore.Result
		for i := range 20 {
			last = e.append(t, fmt.Sprint("s", i%4), eventstore.AnyVersion, note(fmt.Sprint(i)))
		}
		e.waitReached(t, "notes", last.Position)
		stop()
		before := p.checksum(t, e.db)
		applied := p.applied.Load()
		if _, err := e.db.Exec(e.db.Rebind(`UPDATE consumer_offsets SET offset_acked = 0 WHERE consumer_group = ?`), "notes"); err != nil {
			t.Fatal(err)
		}
		if e.db.Dialect() == database.Postgres {
			if _, err := e.db.Exec(`UPDATE consumer_offsets SET last_processed_transaction_id = '0' WHERE consumer_group = 'notes'`); err != nil {
				t.Fatal(err)
			}
		}
		e.start(t, fast, p.consumer("notes"))
		e.waitReached(t, "notes", last.Position)
		if after := p.checksum(t, e.db); after != before {
			t.Fatalf("redelivery changed the read model: %s → %s", before, after)
		}
		if p.applied.Load() != applied {
			t.Fatalf("redelivery applied %d events again", p.applied.Load()-applied)
		}
	})
}

// TestConcurrentWriters: many writers commit out of order; every projection
// sees every event once, none skipped, in per-stream order.
func TestConcurrentWriters(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		writers, perWriter, streams := 32, 500, 64
		if strings.HasPrefix(dbURL, "sqlite") || testing.Short() {
			writers, perWriter, streams = 8, 100, 16
		}
		e := newEnv(t, dbURL)
		p1, p2 := newNotes(t, e.db, "c1"), newNotes(t, e.db, "c2")
		e.start(t, relay.Config{PollInterval: 100 * time.Millisecond}, p1.consumer("c1"), p2.consumer("c2"))
		ctx := context.Background()
		var wg sync.WaitGroup
		var maxPos atomic.Int64
		errs := make(chan error, writers)
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range perWriter {
					stream := fmt.Sprint("s", (w*perWriter+i)%streams)
					for {
						r, err := e.store.Append(ctx, eventstore.Stream{Type: "note", ID: stream}, eventstore.AnyVersion, []eventstore.NewEvent{note(fmt.Sprint(w, "-", i))})
						if errors.Is(err, eventstore.ErrConcurrencyConflict) {
							continue // another writer took this version: retry as a client would
						}
						if err != nil {
							errs <- err
							return
						}
						for {
							m := maxPos.Load()
							if r.Position <= m || maxPos.CompareAndSwap(m, r.Position) {
								break
							}
						}
						break
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		e.waitReached(t, "c1", maxPos.Load())
		e.waitReached(t, "c2", maxPos.Load())
		total := writers * perWriter
		for _, p := range []*notesProjection{p1, p2} {
			var n, distinct int
			if err := e.db.Get(&n, `SELECT COUNT(*) FROM `+p.log); err != nil {
				t.Fatal(err)
			}
			if err := e.db.Get(&distinct, `SELECT COUNT(*) FROM (SELECT DISTINCT position FROM `+p.log+`) d`); err != nil {
				t.Fatal(err)
			}
			if n != total || distinct != total {
				t.Fatalf("%s saw %d events (%d distinct), want %d", p.log, n, distinct, total)
			}
			// Per-stream order: in delivery order (seq) versions are 1, 2, 3, …
			var rows []struct {
				Stream  string `db:"stream_id"`
				Version int64  `db:"version"`
			}
			if err := e.db.Select(&rows, `SELECT stream_id, version FROM `+p.log+` ORDER BY seq`); err != nil {
				t.Fatal(err)
			}
			next := map[string]int64{}
			for _, r := range rows {
				if r.Version != next[r.Stream]+1 {
					t.Fatalf("stream %s: version %d delivered after %d", r.Stream, r.Version, next[r.Stream])
				}
				next[r.Stream] = r.Version
			}
			if dl, _ := relay.DeadLetters(ctx, e.db, "", 10); len(dl) != 0 {
				t.Fatalf("dead letters: %+v", dl)
			}
		}
	})
}

// TestCrashMidBatchThenReplay stops the router while batches are in flight,
// restarts it, and compares the read model with a fresh replay.
func TestCrashMidBatchThenReplay(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		e := newEnv(t, dbURL)
		p := newNotes(t, e.db, "crash")
		p.fail = func(string) error { time.Sleep(200 * time.Microsecond); return nil } // slow enough to be stopped mid-batch
		var last eventstore.Result
		for i := range 30 {
			evs := make([]eventstore.NewEvent, 50)
			for j := range evs {
				evs[j] = note(fmt.Sprint(i, ".", j))
			}
			last = e.append(t, fmt.Sprint("s", i%7), eventstore.AnyVersion, evs...)
		}
		for round := range 3 {
			stop := e.start(t, relay.Config{BatchSize: 100, PollInterval: 50 * time.Millisecond}, p.consumer("crash"))
			deadline := time.Now().Add(20 * time.Second)
			for p.applied.Load() < int64(300*(round+1)) && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			stop() // cancels the router mid-batch
		}
		e.start(t, fast, p.consumer("crash"))
		e.waitReached(t, "crash", last.Position)
		live := p.checksum(t, e.db)
		rp, err := relay.NewReplayer(e.store, relay.Config{}, testLogger(), nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := rp.Replay(context.Background(), p.consumer("crash"), relay.ReplayOptions{BatchSize: 128})
		if err != nil {
			t.Fatal(err)
		}
		if res.Events != 1500 || res.Position != last.Position {
			t.Fatalf("replay result %+v, want 1500 events up to %d", res, last.Position)
		}
		if replayed := p.checksum(t, e.db); replayed != live {
			t.Fatalf("read model after crash/restart %s differs from a fresh replay %s", live, replayed)
		}
	})
}

// TestReplayWhileQuerying: readers never fail nor see an empty read model
// during a replay, and the result equals the state before it.
func TestReplayWhileQuerying(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		e := newEnv(t, dbURL)
		p := newNotes(t, e.db, "rq")
		e.start(t, fast, p.consumer("rq"))
		var last eventstore.Result
		for i := range 40 {
			evs := make([]eventstore.NewEvent, 25)
			for j := range evs {
				evs[j] = note(fmt.Sprint(i, ".", j))
			}
			last = e.append(t, fmt.Sprint("s", i%9), eventstore.AnyVersion, evs...)
		}
		e.waitReached(t, "rq", last.Position)
		before := p.checksum(t, e.db)

		ctx, cancel := context.WithCancel(context.Background())
		var queries, failures atomic.Int64
		var firstFailure atomic.Value
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					var n int
					err := e.db.GetContext(context.Background(), &n, `SELECT COUNT(*) FROM `+p.notes)
					queries.Add(1)
					if err != nil || n != 9 {
						failures.Add(1)
						firstFailure.CompareAndSwap(nil, fmt.Sprintf("n=%d err=%v", n, err))
					}
				}
			}()
		}
		rp, err := relay.NewReplayer(e.store, relay.Config{}, testLogger(), nil)
		if err != nil {
			t.Fatal(err)
		}
		var progressCalls int
		res, err := rp.Replay(context.Background(), p.consumer("rq"), relay.ReplayOptions{BatchSize: 100, Progress: func(done, total int64) {
			progressCalls++
			if done > total {
				t.Errorf("progress %d/%d", done, total)
			}
		}})
		cancel()
		wg.Wait()
		if err != nil {
			t.Fatal(err)
		}
		if failures.Load() > 0 {
			t.Fatalf("%d of %d queries failed or saw a partial read model during replay; first: %v", failures.Load(), queries.Load(), firstFailure.Load())
		}
		if progressCalls < 10 || res.Events != 1000 {
			t.Fatalf("progress calls = %d, events = %d", progressCalls, res.Events)
		}
		if after := p.checksum(t, e.db); after != before {
			t.Fatalf("replay changed the read model: %s → %s", before, after)
		}
		// The live consumer keeps working on the swapped tables.
		next := e.append(t, "s0", eventstore.AnyVersion, note("after"))
		e.waitReached(t, "rq", next.Position)
		var body string
		if err := e.db.Get(&body, e.db.Rebind(`SELECT body FROM `+p.notes+` WHERE stream_id = ?`), "s0"); err != nil || !strings.HasSuffix(body, ",after") {
			t.Fatalf("live consumer after swap: body %q, %v", body, err)
		}
		// A second replay works on the already-swapped tables (index names stay unique).
		if _, err := rp.Replay(context.Background(), p.consumer("rq"), relay.ReplayOptions{}); err != nil {
			t.Fatalf("second replay: %v", err)
		}
	})
}

func TestReplayRefusesReactors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, dbtest.URL(t, database.SQLite))
	rp, err := relay.NewReplayer(e.store, relay.Config{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	mailer := relay.Consumer{Name: "mailer", Kind: relay.KindReactor, Handlers: map[string]relay.Handler{}}
	if _, err := rp.Replay(context.Background(), mailer, relay.ReplayOptions{}); !errors.Is(err, relay.ErrReactorReplay) {
		t.Fatalf("err = %v, want ErrReactorReplay", err)
	}
	if _, err := rp.Replay(context.Background(), mailer, relay.ReplayOptions{IncludeReactors: true}); err != nil {
		t.Fatalf("replay with IncludeReactors: %v", err)
	}
}

func TestRunnerRejectsBadConsumers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, dbtest.URL(t, database.SQLite))
	ok := relay.Consumer{Name: "ok", Kind: relay.KindProjection}
	cases := []struct {
		name string
		cs   []relay.Consumer
	}{
		{"duplicate names", []relay.Consumer{ok, ok}},
		{"bad name", []relay.Consumer{{Name: "Bad Name", Kind: relay.KindProjection}}},
		{"bad kind", []relay.Consumer{{Name: "x", Kind: "job"}}},
		{"bad table", []relay.Consumer{{Name: "x", Kind: relay.KindProjection, Tables: []string{"rm; DROP"}}}},
		{"reactor with tables", []relay.Consumer{{Name: "x", Kind: relay.KindReactor, Tables: []string{"t"}}}},
	}
	for _, tc := range cases {
		if _, err := relay.NewRunner(e.store, tc.cs, relay.Config{}, nil, nil); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}

// TestWakeUps: with a one-minute poll, delivery still follows commits at once
// (in-process signal), and on PostgreSQL a NOTIFY from another "process"
// (a store without the in-process hook) wakes the consumer too.
func TestWakeUps(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		e := newEnv(t, dbURL)
		p := newNotes(t, e.db, "w")
		e.start(t, relay.Config{PollInterval: time.Minute}, p.consumer("w"))
		time.Sleep(50 * time.Millisecond) // let the subscriber go idle
		r := e.append(t, "s", 0, note("x"))
		e.waitReached(t, "w", r.Position) // WaitFor bounds at 60s: a missed wake-up would fail here only via timeout
		if e.db.Dialect() != database.Postgres {
			return
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		channel := relay.ChannelName(e.db.Target.Schema)
		listening := make(chan struct{})
		go func() {
			_ = relay.Listen(ctx, dbURL, channel, func() { e.runner.Wake() }, testLogger())
		}()
		// The other process: its own pool and store, which only NOTIFYs.
		other := dbtest.OpenURL(t, dbURL)
		n := relay.NewNotifier(other, channel, testLogger())
		go n.Run(ctx)
		otherStore, err := eventstore.New(other, eventstore.Options{OnCommit: func(int64) { n.Notify() }})
		if err != nil {
			t.Fatal(err)
		}
		close(listening)
		time.Sleep(200 * time.Millisecond) // LISTEN connection up
		start := time.Now()
		r2, err := otherStore.Append(ctx, eventstore.Stream{Type: "note", ID: "s"}, 1, []eventstore.NewEvent{note("y")})
		if err != nil {
			t.Fatal(err)
		}
		ok, err := relay.NewWaiter(e.db, nil).WaitFor(ctx, r2.Position, []string{"w"}, 30*time.Second)
		if err != nil || !ok {
			t.Fatalf("NOTIFY did not wake the consumer: %v", err)
		}
		t.Logf("cross-process delivery took %v", time.Since(start))
	})
}

func TestReadYourWrites(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		e := newEnv(t, dbURL)
		p := newNotes(t, e.db, "ryw")
		ctx := context.Background()
		w := relay.NewWaiter(e.db, nil)
		r := e.append(t, "s", 0, note("x"))
		// Not running: the wait times out and says so, without error.
		ok, err := w.WaitFor(ctx, r.Position, []string{"ryw"}, 30*time.Millisecond)
		if err != nil || ok {
			t.Fatalf("WaitFor without a consumer = %v, %v; want false, nil", ok, err)
		}
		if ok, _ := w.WaitFor(ctx, 0, []string{"ryw"}, time.Millisecond); !ok {
			t.Fatal("position 0 must count as reached")
		}
		e.start(t, fast, p.consumer("ryw"))
		w = relay.NewWaiter(e.db, e.runner.Progress())
		ok, err = w.WaitFor(ctx, r.Position, []string{"ryw"}, 30*time.Second)
		if err != nil || !ok {
			t.Fatalf("WaitFor = %v, %v", ok, err)
		}
		var body string
		if err := e.db.Get(&body, e.db.Rebind(`SELECT body FROM `+p.notes+` WHERE stream_id = ?`), "s"); err != nil || body != "x" {
			t.Fatalf("read after wait: %q, %v", body, err)
		}
		if ok, _ := relay.Reached(ctx, e.db, "ryw", r.Position+1000); ok {
			t.Fatal("a position beyond the log must not count as reached")
		}
	})
}

// TestWaitersShareOneWatcher: 200 requests waiting for a position cost one
// checkpoint read per poll interval in all, not one per waiter; they all
// wake when the projection gets there; the watcher stops when nobody waits;
// beyond the bound on waiters a wait answers at once.
func TestWaitersShareOneWatcher(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		e := newEnv(t, dbURL)
		p := newNotes(t, e.db, "watch")
		ctx := context.Background()
		r := e.append(t, "s", 0, note("x"))

		w := relay.NewWaiter(e.db, nil).WithLimits(20*time.Millisecond, 250)
		const n = 200
		var wg sync.WaitGroup
		results := make([]bool, n)
		start := time.Now()
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := w.WaitFor(ctx, r.Position, []string{"watch"}, 30*time.Second)
				if err != nil {
					t.Error(err)
				}
				results[i] = ok
			}()
		}
		// Once they all wait, 300 ms with nothing to reach: the reads are
		// the watcher's polls, not one per waiter per poll (which would be
		// 200 × 15 = 3,000).
		deadline := time.Now().Add(30 * time.Second)
		for w.Waiting() < n {
			if time.Now().After(deadline) {
				t.Fatalf("only %d of %d waiters registered", w.Waiting(), n)
			}
			time.Sleep(5 * time.Millisecond)
		}
		before, windowStart := relay.CheckpointReads(w), time.Now()
		time.Sleep(300 * time.Millisecond)
		window := time.Since(windowStart)
		got := relay.CheckpointReads(w) - before
		if limit := int64(window/(20*time.Millisecond)) + 5; got > limit {
			t.Fatalf("%d waiters made %d checkpoint reads in %v, want at most %d (one per poll)", n, got, window, limit)
		}
		t.Logf("%d waiters, %v after registering in %v: %d checkpoint reads", n, window, windowStart.Sub(start), got)

		// The bound: beyond it a wait answers at once.
		over := relay.NewWaiter(e.db, nil).WithLimits(time.Second, 1)
		hold, cancel := context.WithCancel(ctx)
		go func() { _, _ = over.WaitFor(hold, r.Position, []string{"watch"}, time.Minute) }()
		for over.Waiting() < 1 {
			time.Sleep(time.Millisecond)
		}
		t0 := time.Now()
		if ok, err := over.WaitFor(ctx, r.Position, []string{"watch"}, time.Minute); ok || err != nil || time.Since(t0) > 10*time.Second {
			t.Fatalf("a wait beyond the bound = %v, %v after %v; want false at once", ok, err, time.Since(t0))
		}
		cancel()

		e.start(t, fast, p.consumer("watch"))
		wg.Wait()
		for i, ok := range results {
			if !ok {
				t.Fatalf("waiter %d did not see the position reached", i)
			}
		}
		deadline = time.Now().Add(5 * time.Second)
		for w.Waiting() != 0 || relay.Watching(w) {
			if time.Now().After(deadline) {
				t.Fatalf("the watcher still runs with %d waiters", w.Waiting())
			}
			time.Sleep(5 * time.Millisecond)
		}
		// A position that names no event is not waited for.
		t0 = time.Now()
		if ok, err := w.WaitFor(ctx, r.Position+1_000_000, []string{"watch"}, time.Minute); ok || err != nil || time.Since(t0) > 10*time.Second {
			t.Fatalf("a position beyond the log = %v, %v after %v", ok, err, time.Since(t0))
		}
	})
}

// TestRunnerStoppedWhileStarting: a stop at any instant of the start is a
// clean stop (it used to return the subscriber's "transaction has already
// been committed or rolled back").
func TestRunnerStoppedWhileStarting(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		e := newEnv(t, dbURL)
		p := newNotes(t, e.db, "stopearly")
		for i := range 30 {
			r, err := relay.NewRunner(e.store, []relay.Consumer{p.consumer("stopearly")}, fast, testLogger(), nil)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- r.Run(ctx) }()
			time.Sleep(time.Duration(i%6) * time.Millisecond)
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("stop %d ms after the start: %v", i%6, err)
			}
		}
	})
}
