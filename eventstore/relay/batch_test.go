package relay_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
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

// foldNotes is a batched projection (relay.Fold) of note streams: one row per
// stream whose body lists "version:text" of every event applied, in the order
// applied. It counts the calls the relay makes.
type foldNotes struct {
	table string
	// fail, if set, makes the fold handler fail for a text.
	fail func(text string) error
	// deleteOnSave makes Save also delete rows (of no stream).
	deleteOnSave bool
	// claims makes Save also point each row's last text to its stream in
	// the table <table>_claims (a row derived from several streams).
	claims bool

	applies, loads, saves atomic.Int64
	mu                    sync.Mutex
	batches               []int // events per Apply call, in order
}

func newFoldNotes(t testing.TB, db *database.DB, suffix string) *foldNotes {
	t.Helper()
	p := &foldNotes{table: "rm_fold_" + suffix}
	// The CHECK lets a test plant an event whose row the database refuses:
	// a failure of the batch's write, which names no event.
	if _, err := db.Exec(`CREATE TABLE ` + p.table + ` (stream_id TEXT PRIMARY KEY, version BIGINT NOT NULL,
		body TEXT NOT NULL CHECK (body NOT LIKE '%sqlpoison%'))`); err != nil {
		t.Fatalf("create test table: %v", err)
	}
	if _, err := db.Exec(`CREATE TABLE ` + p.table + `_claims (text TEXT PRIMARY KEY, stream_id TEXT NOT NULL)`); err != nil {
		t.Fatalf("create test table: %v", err)
	}
	return p
}

// claimRows returns the claims table (text → stream id).
func (p *foldNotes) claimRows(t testing.TB, db *database.DB) map[string]string {
	t.Helper()
	var rows []struct {
		Text   string `db:"text"`
		Stream string `db:"stream_id"`
	}
	if err := db.Select(&rows, `SELECT text, stream_id FROM `+p.table+`_claims`); err != nil {
		t.Fatal(err)
	}
	m := make(map[string]string, len(rows))
	for _, r := range rows {
		m[r.Text] = r.Stream
	}
	return m
}

func (p *foldNotes) consumer(name string) relay.Consumer {
	b := relay.Fold[string]{
		Load: func(ctx context.Context, tx *relay.Tx, ids []string) ([]relay.Row[string], error) {
			p.loads.Add(1)
			var rows []struct {
				ID      string `db:"stream_id"`
				Version int64  `db:"version"`
				Body    string `db:"body"`
			}
			if err := tx.SelectIn(ctx, &rows, `SELECT stream_id, version, body FROM `+tx.Table(p.table)+` WHERE stream_id IN (?)`, ids); err != nil {
				return nil, err
			}
			out := make([]relay.Row[string], len(rows))
			for i, r := range rows {
				out[i] = relay.Row[string]{StreamID: r.ID, Version: r.Version, Value: r.Body}
			}
			return out, nil
		},
		On: map[string]relay.FoldHandler[string]{"note.added": relay.FoldOn(func(r *relay.Row[string], n noted, e eventstore.Event) error {
			if p.fail != nil {
				if err := p.fail(n.Text); err != nil {
					return err
				}
			}
			item := fmt.Sprintf("%d:%s", e.Version, n.Text)
			if r.Exists {
				r.Value += "," + item
			} else {
				r.Value = item
			}
			return nil
		})},
		Save: func(ctx context.Context, tx *relay.Tx, changes []relay.Change[string]) error {
			p.saves.Add(1)
			rows := make([][]any, len(changes))
			for i, c := range changes {
				rows[i] = []any{c.After.StreamID, c.After.Version, c.After.Value}
			}
			if err := tx.Upsert(ctx, relay.Upsert{Table: p.table, Columns: []string{"stream_id", "version", "body"}, Key: []string{"stream_id"}, Version: "version"}, rows); err != nil {
				return err
			}
			if p.deleteOnSave {
				if err := tx.DeleteRows(ctx, p.table, []string{"stream_id"}, [][]any{{"no such stream"}}); err != nil {
					return err
				}
			}
			if !p.claims {
				return nil
			}
			claims := make([][]any, len(changes))
			for i, c := range changes {
				last := c.After.Value[strings.LastIndex(c.After.Value, ",")+1:]
				claims[i] = []any{last[strings.Index(last, ":")+1:], c.After.StreamID}
			}
			return tx.Upsert(ctx, relay.Upsert{Table: p.table + "_claims", Columns: []string{"text", "stream_id"}, Key: []string{"text"}}, claims)
		},
	}.Batch()
	apply := b.Apply
	b.Apply = func(ctx context.Context, tx *relay.Tx, evs []eventstore.Event) error {
		p.applies.Add(1)
		p.mu.Lock()
		p.batches = append(p.batches, len(evs))
		p.mu.Unlock()
		return apply(ctx, tx, evs)
	}
	return relay.Consumer{Name: name, Kind: relay.KindProjection, Tables: []string{p.table, p.table + "_claims"}, Batch: b}
}

// batchSizes returns the number of events of each Apply call so far.
func (p *foldNotes) batchSizes() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]int(nil), p.batches...)
}

// bodies returns every row's body by stream id.
func (p *foldNotes) bodies(t testing.TB, db *database.DB) map[string]string {
	t.Helper()
	var rows []struct {
		S string `db:"stream_id"`
		B string `db:"body"`
	}
	if err := db.Select(&rows, `SELECT stream_id, body FROM `+p.table); err != nil {
		t.Fatal(err)
	}
	m := make(map[string]string, len(rows))
	for _, r := range rows {
		m[r.S] = r.B
	}
	return m
}

// checkOrder fails unless every body lists its stream's versions in
// increasing order, and returns them per stream.
func checkOrder(t testing.TB, bodies map[string]string) map[string][]int64 {
	t.Helper()
	out := map[string][]int64{}
	for s, b := range bodies {
		var prev int64
		for _, item := range strings.Split(b, ",") {
			v, err := strconv.ParseInt(strings.SplitN(item, ":", 2)[0], 10, 64)
			if err != nil {
				t.Fatalf("stream %s: body %q: %v", s, b, err)
			}
			if v <= prev {
				t.Fatalf("stream %s: version %d applied after %d (body %q)", s, v, prev, b)
			}
			prev = v
			out[s] = append(out[s], v)
		}
	}
	return out
}

func (e *env) rewind(t testing.TB, consumer string, cur eventstore.Cursor) {
	t.Helper()
	q, args := `UPDATE consumer_offsets SET offset_acked = ? WHERE consumer_group = ?`, []any{cur.Position, consumer}
	if e.db.Dialect() == database.Postgres {
		q, args = `UPDATE consumer_offsets SET offset_acked = ?, last_processed_transaction_id = CAST(? AS xid8) WHERE consumer_group = ?`,
			[]any{cur.Position, strconv.FormatUint(cur.TxID, 10), consumer}
	}
	if _, err := e.db.Exec(e.db.Rebind(q), args...); err != nil {
		t.Fatal(err)
	}
}

// TestFoldPoisonInABatchOf1000: one bad event in the middle of a batch of 1000
// is dead-lettered alone and the 999 others commit — whether the handler
// names the event (split around it) or the batch's write fails as a whole
// (bisected) — and the batch is not redone event by event.
func TestFoldPoisonInABatchOf1000(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		text      string
		wantError string
		// maxSaves bounds the batch writes: far below one per event.
		maxSaves int64
	}{
		{name: "a handler error names the event: split around it", text: "poison", wantError: "cannot apply poison", maxSaves: 2},
		{name: "a write error names no event: bisected", text: "sqlpoison", wantError: "", maxSaves: 40},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dbtest.Run(t, func(t *testing.T, dbURL string) {
				t.Parallel()
				e := newEnv(t, dbURL)
				p := newFoldNotes(t, e.db, "poison")
				p.fail = func(text string) error {
					if text == "poison" {
						return errors.New("cannot apply poison")
					}
					return nil
				}
				// 10 streams of 100 events, appended before the consumer
				// starts, so that its first read is one batch of 1000.
				var last eventstore.Result
				for s := range 10 {
					evs := make([]eventstore.NewEvent, 100)
					for i := range evs {
						evs[i] = note(fmt.Sprint("n", s, ".", i))
						if s == 5 && i == 0 {
							evs[i] = note(tc.text) // event 501 of the batch
						}
					}
					last = e.append(t, fmt.Sprint("s", s), 0, evs...)
				}
				// On PostgreSQL the relay reads only below the cluster's xid
				// fence, which other tests' open transactions hold back:
				// wait until the 1000 events are all readable.
				waitReadable(t, e.store, 1000)
				e.start(t, relay.Config{BatchSize: 1000, PollInterval: 50 * time.Millisecond, RetryBackoff: time.Millisecond, DeadLetterAfter: 3}, p.consumer("poison"))
				e.waitReached(t, "poison", last.Position)

				if b := p.batchSizes(); b[0] != 1000 {
					t.Errorf("first batch had %d events, want 1000", b[0])
				}
				bodies := p.bodies(t, e.db)
				versions := checkOrder(t, bodies)
				for s := range 10 {
					want := 100
					if s == 5 {
						want = 99
					}
					if got := len(versions[fmt.Sprint("s", s)]); got != want {
						t.Errorf("stream s%d: %d events applied, want %d", s, got, want)
					}
				}
				if strings.Contains(bodies["s5"], "poison") || !strings.HasPrefix(bodies["s5"], "2:n5.1") {
					t.Errorf("stream s5 = %.40q…, want it to start at version 2 without the poison", bodies["s5"])
				}
				dls, err := relay.DeadLetters(context.Background(), e.db, "poison", 10)
				if err != nil {
					t.Fatal(err)
				}
				if len(dls) != 1 || dls[0].Stream != "note/s5" || dls[0].Attempts != 3 || !strings.Contains(dls[0].Error, tc.wantError) {
					t.Fatalf("dead letters = %+v, want one for note/s5 after 3 attempts", dls)
				}
				if tc.wantError != "" && dls[0].Error != tc.wantError {
					t.Errorf("dead letter error = %q, want the handler's own %q", dls[0].Error, tc.wantError)
				}
				// Saves that succeeded or failed, beyond those of the single
				// poison event's attempts.
				if saves := p.saves.Load(); saves > tc.maxSaves+3 {
					t.Errorf("%d batch writes for 1000 events, want at most %d", saves, tc.maxSaves+3)
				}
				t.Logf("%d Apply calls, %d loads, %d saves; batches %v", p.applies.Load(), p.loads.Load(), p.saves.Load(), p.batchSizes())
			})
		})
	}
}

// TestFoldOrderAcrossBatches: with batches of 7 events, each stream's events
// are folded in version order within and across batches, every batch makes
// one read and one write, and a redelivered stretch of the log (the
// checkpoint moved back into the middle of a batch) changes nothing, without
// even a write.
func TestFoldOrderAcrossBatches(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		e := newEnv(t, dbURL)
		p := newFoldNotes(t, e.db, "order")
		ctx := context.Background()
		cfg := relay.Config{BatchSize: 7, PollInterval: 50 * time.Millisecond}
		stop := e.start(t, cfg, p.consumer("order"))
		var last eventstore.Result
		for i := range 120 {
			n := 1 + i%3 // appends of 1–3 events, so batches cut through them
			evs := make([]eventstore.NewEvent, n)
			for j := range evs {
				evs[j] = note(fmt.Sprint(i, ".", j))
			}
			last = e.append(t, fmt.Sprint("s", i%5), eventstore.AnyVersion, evs...)
		}
		e.waitReached(t, "order", last.Position)
		stop()
		bodies := p.bodies(t, e.db)
		for s, vs := range checkOrder(t, bodies) {
			for i, v := range vs {
				if v != int64(i+1) {
					t.Fatalf("stream %s: versions %v, want 1…%d with none missing", s, vs, len(vs))
				}
			}
		}
		if p.loads.Load() != p.applies.Load() || p.saves.Load() != p.applies.Load() {
			t.Errorf("%d batches made %d reads and %d writes, want one each", p.applies.Load(), p.loads.Load(), p.saves.Load())
		}
		for _, n := range p.batchSizes() {
			if n > 7 {
				t.Fatalf("a batch of %d events, want at most 7", n)
			}
		}

		// Move the checkpoint back into the middle of the log: every event
		// after it is delivered again, in batches cut elsewhere than before.
		evs, err := e.store.ReadAll(ctx, eventstore.Cursor{}, 101)
		if err != nil {
			t.Fatal(err)
		}
		e.rewind(t, "order", evs[len(evs)-1].Cursor())
		saves := p.saves.Load()
		if _, err := relay.CatchUpTo(ctx, e.store, p.consumer("order"), relay.Config{BatchSize: 11}, last.Position, 30*time.Second); err != nil {
			t.Fatal(err)
		}
		if got := p.bodies(t, e.db); fmt.Sprint(got) != fmt.Sprint(bodies) {
			t.Fatalf("redelivery changed the read model:\n%v\nwant\n%v", got, bodies)
		}
		if p.saves.Load() != saves {
			t.Errorf("redelivered batches wrote %d times, want none (every event older than its row)", p.saves.Load()-saves)
		}
	})
}

// TestFoldReplayEqualsLive: a replay (large batches and small ones) rebuilds
// exactly the rows that live delivery under concurrent writers built.
func TestFoldReplayEqualsLive(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		e := newEnv(t, dbURL)
		p := newFoldNotes(t, e.db, "rl")
		e.start(t, relay.Config{BatchSize: 50, PollInterval: 50 * time.Millisecond}, p.consumer("rl"))
		var wg sync.WaitGroup
		var maxPos atomic.Int64
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 150 {
					r, err := e.store.Append(context.Background(), eventstore.Stream{Type: "note", ID: fmt.Sprint("w", w, "-", i%6)}, eventstore.AnyVersion,
						[]eventstore.NewEvent{note(fmt.Sprint(w, ".", i))})
					if err != nil {
						t.Error(err)
						return
					}
					for m := maxPos.Load(); r.Position > m && !maxPos.CompareAndSwap(m, r.Position); m = maxPos.Load() {
					}
				}
			}()
		}
		wg.Wait()
		e.waitReached(t, "rl", maxPos.Load())
		live := p.bodies(t, e.db)
		checkOrder(t, live)
		rp, err := relay.NewReplayer(e.store, relay.Config{}, testLogger(), nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, batch := range []int{1000, 3} {
			res, err := rp.Replay(context.Background(), p.consumer("rl"), relay.ReplayOptions{BatchSize: batch})
			if err != nil {
				t.Fatal(err)
			}
			if res.Events != 600 {
				t.Fatalf("replay applied %d events, want 600", res.Events)
			}
			if got := p.bodies(t, e.db); fmt.Sprint(got) != fmt.Sprint(live) {
				t.Fatalf("replay in batches of %d differs from live delivery", batch)
			}
		}
	})
}

// TestFoldConcurrentWriters: writers commit out of position order (on
// PostgreSQL the xid8 fence holds back what an open transaction may still
// precede); the batched projection sees every event once, none skipped, each
// stream in version order across batches.
func TestFoldConcurrentWriters(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		writers, perWriter, streams := 16, 250, 32
		if strings.HasPrefix(dbURL, "sqlite") || testing.Short() {
			writers, perWriter, streams = 8, 100, 16
		}
		e := newEnv(t, dbURL)
		p := newFoldNotes(t, e.db, "cw")
		e.start(t, relay.Config{BatchSize: 64, PollInterval: 100 * time.Millisecond}, p.consumer("cw"))
		var wg sync.WaitGroup
		var maxPos atomic.Int64
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range perWriter {
					r, err := e.store.Append(context.Background(), eventstore.Stream{Type: "note", ID: fmt.Sprint("s", (w*perWriter+i)%streams)},
						eventstore.AnyVersion, []eventstore.NewEvent{note(fmt.Sprint(w, "-", i))})
					if err != nil {
						t.Error(err)
						return
					}
					for m := maxPos.Load(); r.Position > m && !maxPos.CompareAndSwap(m, r.Position); m = maxPos.Load() {
					}
				}
			}()
		}
		wg.Wait()
		e.waitReached(t, "cw", maxPos.Load())
		total := 0
		for s, vs := range checkOrder(t, p.bodies(t, e.db)) {
			for i, v := range vs {
				if v != int64(i+1) {
					t.Fatalf("stream %s: versions %v, want 1…%d with none skipped", s, vs, len(vs))
				}
			}
			total += len(vs)
		}
		if total != writers*perWriter {
			t.Fatalf("%d events applied, want %d", total, writers*perWriter)
		}
		if dl, _ := relay.DeadLetters(context.Background(), e.db, "cw", 10); len(dl) != 0 {
			t.Fatalf("dead letters: %+v", dl)
		}
	})
}

// TestBulkStatements: Upsert, DeleteRows and SelectIn work beyond every
// statement limit (SQLite's parameters and 500-term VALUES lists, the key
// chunks), and the version guard keeps a row from going back in time.
func TestBulkStatements(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		e := newEnv(t, dbURL)
		ctx := context.Background()
		if _, err := e.db.Exec(`CREATE TABLE rm_bulk (k TEXT PRIMARY KEY, version BIGINT NOT NULL, body TEXT NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		up := relay.Upsert{Table: "rm_bulk", Columns: []string{"k", "version", "body"}, Key: []string{"k"}, Version: "version"}
		rows := func(n int, version int64, body string) [][]any {
			out := make([][]any, n)
			for i := range out {
				out[i] = []any{fmt.Sprint("k", i), version, body}
			}
			return out
		}
		keys := make([]string, 12000)
		for i := range keys {
			keys[i] = fmt.Sprint("k", i)
		}
		var count int
		c := relay.Consumer{Name: "bulk", Kind: relay.KindProjection, Tables: []string{"rm_bulk"}, Batch: relay.Batch{
			Types: []string{"note.added"},
			Apply: func(ctx context.Context, tx *relay.Tx, _ []eventstore.Event) error {
				steps := []func() error{
					func() error { return tx.Upsert(ctx, up, rows(12000, 2, "v2")) },
					// Older and equal versions change nothing, newer ones do.
					func() error { return tx.Upsert(ctx, up, rows(100, 1, "v1")) },
					func() error { return tx.Upsert(ctx, up, rows(100, 2, "again")) },
					func() error { return tx.Upsert(ctx, up, rows(10, 3, "v3")) },
					func() error {
						var del [][]any
						for _, r := range rows(1200, 0, "v2")[600:] {
							del = append(del, []any{r[0], r[2]})
						}
						return tx.DeleteRows(ctx, "rm_bulk", []string{"k", "body"}, del)
					},
					func() error {
						var got []struct {
							K    string `db:"k"`
							Body string `db:"body"`
						}
						if err := tx.SelectIn(ctx, &got, `SELECT k, body FROM `+tx.Table("rm_bulk")+` WHERE k IN (?)`, keys[:2500]); err != nil {
							return err
						}
						count = len(got)
						return nil
					},
				}
				for i, step := range steps {
					if err := step(); err != nil {
						return fmt.Errorf("step %d: %w", i, err)
					}
				}
				return nil
			},
		}}
		r := e.append(t, "s", 0, note("x"))
		if _, err := relay.CatchUpTo(ctx, e.store, c, relay.Config{DeadLetterAfter: 1}, r.Position, 30*time.Second); err != nil {
			t.Fatal(err)
		}
		if dl, _ := relay.DeadLetters(ctx, e.db, "bulk", 10); len(dl) != 0 {
			t.Fatalf("the batch failed: %s", dl[0].Error)
		}
		var total int
		if err := e.db.Get(&total, `SELECT COUNT(*) FROM rm_bulk`); err != nil {
			t.Fatal(err)
		}
		bodies := map[string]int{}
		var rs []struct {
			Body string `db:"body"`
			N    int    `db:"n"`
		}
		if err := e.db.Select(&rs, `SELECT body, COUNT(*) AS n FROM rm_bulk GROUP BY body`); err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			bodies[r.Body] = r.N
		}
		// 12000 rows, 10 of them at v3, then rows 600…1199 (all v2) deleted;
		// the key list of 2500 then finds 2500 − 600.
		if total != 11400 || bodies["v3"] != 10 || bodies["v2"] != 11390 || count != 1900 {
			t.Fatalf("rows %d, bodies %v, selected %d; want 11400, 10 v3 and 11390 v2, 1900", total, bodies, count)
		}
	})
}

// waitReadable waits until the relay's read of the log (below the
// PostgreSQL xid fence) returns n events.
func waitReadable(t *testing.T, store *eventstore.Store, n int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		evs, err := store.ReadAll(context.Background(), eventstore.Cursor{}, n+1)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == n {
			return
		}
		if len(evs) > n || time.Now().After(deadline) {
			t.Fatalf("the log holds %d readable events, want %d", len(evs), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
