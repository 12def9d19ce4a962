package relay_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
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

// counted is the payload of the tally projection's events.
type counted struct {
	Word string `json:"word"`
}

func word(w string) eventstore.NewEvent {
	return eventstore.NewEvent{Type: "tally.counted", SchemaVersion: 1, Payload: counted{Word: w}}
}

// tallyProjection is a read model that is a pure function of the log, as
// every read model must be for verify to compare it: per stream its version
// and words in order, and per (stream, word) a count (a two-column key).
type tallyProjection struct {
	streams, words string
}

func newTally(t testing.TB, db *database.DB, suffix string) *tallyProjection {
	t.Helper()
	p := &tallyProjection{streams: "rm_tally_" + suffix, words: "rm_tally_words_" + suffix}
	for _, q := range []string{
		`CREATE TABLE ` + p.streams + ` (stream_id TEXT PRIMARY KEY, version BIGINT NOT NULL, words TEXT NOT NULL)`,
		`CREATE TABLE ` + p.words + ` (stream_id TEXT NOT NULL, word TEXT NOT NULL, n BIGINT NOT NULL, PRIMARY KEY (stream_id, word))`,
		`CREATE INDEX ` + p.words + `_word_idx ON ` + p.words + ` (word)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("create test tables: %v", err)
		}
	}
	return p
}

func (p *tallyProjection) consumer(name string) relay.Consumer {
	return relay.Consumer{
		Name: name, Kind: relay.KindProjection, Tables: []string{p.streams, p.words},
		Handlers: map[string]relay.Handler{"tally.counted": relay.On(p.counted)},
	}
}

func (p *tallyProjection) counted(ctx context.Context, tx *relay.Tx, c counted, e eventstore.Event) error {
	var v int64
	err := tx.Get(ctx, &v, `SELECT version FROM `+tx.Table(p.streams)+` WHERE stream_id = ?`, e.Stream.ID)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if !relay.CheckVersion(v, e.Version) {
		return nil
	}
	if v == 0 {
		_, err = tx.Exec(ctx, `INSERT INTO `+tx.Table(p.streams)+` (stream_id, version, words) VALUES (?, ?, ?)`, e.Stream.ID, e.Version, c.Word)
	} else {
		_, err = tx.Exec(ctx, `UPDATE `+tx.Table(p.streams)+` SET version = ?, words = words || ' ' || ? WHERE stream_id = ?`, e.Version, c.Word, e.Stream.ID)
	}
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO `+tx.Table(p.words)+` (stream_id, word, n) VALUES (?, ?, 1)
		ON CONFLICT (stream_id, word) DO UPDATE SET n = `+tx.Table(p.words)+`.n + 1`, e.Stream.ID, c.Word)
	return err
}

// appendWords appends n events to each of streams, words cycling through a
// few, and returns the last result.
func (e *env) appendWords(t testing.TB, streams []string, n int) eventstore.Result {
	t.Helper()
	var last eventstore.Result
	for _, s := range streams {
		evs := make([]eventstore.NewEvent, n)
		for i := range evs {
			evs[i] = word([]string{"alpha", "beta", "gamma"}[i%3])
		}
		r, err := e.store.Append(context.Background(), eventstore.Stream{Type: "tally", ID: s, TenantID: "t1"}, eventstore.AnyVersion, evs)
		if err != nil {
			t.Fatalf("append: %v", err)
		}
		last = r
	}
	return last
}

// catchUpConsumer brings c up to position in this process. (One pass may stop
// short on PostgreSQL, where the visibility fence waits for every older
// transaction of the cluster, other tests' included.)
func (e *env) catchUpConsumer(t testing.TB, c relay.Consumer, position int64) {
	t.Helper()
	if _, err := relay.CatchUpTo(context.Background(), e.store, c, relay.Config{}, position, time.Minute); err != nil {
		t.Fatalf("catch up %s: %v", c.Name, err)
	}
}

func (e *env) newReplayer(t testing.TB) *relay.Replayer {
	t.Helper()
	rp, err := relay.NewReplayer(e.store, relay.Config{}, testLogger(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return rp
}

// tableDump returns every row of table as text, in a stable order.
func tableDump(t testing.TB, db *database.DB, table string) string {
	t.Helper()
	rows, err := db.Queryx(`SELECT * FROM ` + table)
	if err != nil {
		t.Fatalf("dump %s: %v", table, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		vals, err := rows.SliceScan()
		if err != nil {
			t.Fatalf("dump %s: %v", table, err)
		}
		out = append(out, fmt.Sprintf("%s", vals))
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("dump %s: %v", table, err)
	}
	slices.Sort(out)
	return strings.Join(out, "\n")
}

// assertNoShadows fails if any shadow table (or, on SQLite, lock file) of c remains.
func assertNoShadows(t testing.TB, db *database.DB, cs ...relay.Consumer) {
	t.Helper()
	found, err := relay.Shadows(context.Background(), db, cs)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) > 0 {
		t.Fatalf("shadow tables left behind: %+v", found)
	}
}

// TestVerifyFindsPlantedDifferences: verify is clean on a read model built by
// its consumer, and names every row changed, deleted or added by hand, with
// the live and the rebuilt values; it changes nothing and leaves no shadow.
func TestVerifyFindsPlantedDifferences(t *testing.T) {
	t.Parallel()
	type want struct {
		table   string // "streams" or "words"
		key     string
		live    bool // the row is in the live read model
		rebuilt bool // the row is in the rebuild
		changed []string
	}
	tests := []struct {
		name  string
		plant []string // statements; %[1]s is the streams table, %[2]s the words table
		want  []want   // in table order, then key order
	}{
		{name: "clean after normal operation"},
		{
			name:  "a changed value is named with both values",
			plant: []string{`UPDATE %[1]s SET words = 'tampered' WHERE stream_id = 's1'`},
			want:  []want{{table: "streams", key: `stream_id="s1"`, live: true, rebuilt: true, changed: []string{"words"}}},
		},
		{
			name:  "a deleted row is missing from the live read model",
			plant: []string{`DELETE FROM %[2]s WHERE stream_id = 's2' AND word = 'beta'`},
			want:  []want{{table: "words", key: `stream_id="s2", word="beta"`, rebuilt: true}},
		},
		{
			name:  "a stray row is not in the rebuild",
			plant: []string{`INSERT INTO %[1]s (stream_id, version, words) VALUES ('s9', 1, 'stray')`},
			want:  []want{{table: "streams", key: `stream_id="s9"`, live: true}},
		},
		{
			name: "three differences in two tables",
			plant: []string{
				`UPDATE %[2]s SET n = n + 1 WHERE stream_id = 's0' AND word = 'gamma'`,
				`DELETE FROM %[1]s WHERE stream_id = 's1'`,
				`INSERT INTO %[2]s (stream_id, word, n) VALUES ('s1', 'delta', 7)`,
			},
			want: []want{
				{table: "streams", key: `stream_id="s1"`, rebuilt: true},
				{table: "words", key: `stream_id="s0", word="gamma"`, live: true, rebuilt: true, changed: []string{"n"}},
				{table: "words", key: `stream_id="s1", word="delta"`, live: true},
			},
		},
	}
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		e := newEnv(t, dbURL)
		for i, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				p := newTally(t, e.db, fmt.Sprint("plant", i))
				c := p.consumer(fmt.Sprint("plant", i))
				last := e.appendWords(t, []string{"s0", "s1", "s2"}, 40)
				e.catchUpConsumer(t, c, last.Position)
				for _, q := range tc.plant {
					if _, err := e.db.Exec(fmt.Sprintf(q, p.streams, p.words)); err != nil {
						t.Fatalf("plant: %v", err)
					}
				}
				before := tableDump(t, e.db, p.streams) + tableDump(t, e.db, p.words)

				res, err := e.newReplayer(t).Verify(context.Background(), c, relay.VerifyOptions{BatchSize: 7})
				if err != nil {
					t.Fatal(err)
				}
				if res.Position < last.Position || res.Rows < 12 {
					t.Fatalf("verified up to %d (want ≥ %d), %d rows", res.Position, last.Position, res.Rows)
				}
				if res.Differing != int64(len(tc.want)) || len(res.Differences) != len(tc.want) || res.Clean() != (len(tc.want) == 0) {
					t.Fatalf("%d differing rows, want %d: %v", res.Differing, len(tc.want), res.Differences)
				}
				for j, w := range tc.want {
					d := res.Differences[j]
					table := map[string]string{"streams": p.streams, "words": p.words}[w.table]
					if d.Table != table || d.Key != w.key || (d.Live != nil) != w.live || (d.Rebuilt != nil) != w.rebuilt || !slices.Equal(d.Changed, w.changed) {
						t.Errorf("difference %d = %s (changed %v), want %+v", j, d, d.Changed, w)
					}
					if !strings.HasPrefix(d.String(), table+" "+w.key+": ") {
						t.Errorf("difference %d reads %q: does not name table and key", j, d)
					}
				}
				if after := tableDump(t, e.db, p.streams) + tableDump(t, e.db, p.words); after != before {
					t.Fatalf("verify changed the live read model")
				}
				assertNoShadows(t, e.db, c)
			})
		}
	})
}

// TestVerifyComparesAtTheLiveCheckpoint: a consumer that has not processed
// the end of the log is compared with a rebuild up to where it is, not to
// the head (which would differ).
func TestVerifyComparesAtTheLiveCheckpoint(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		e := newEnv(t, dbURL)
		p := newTally(t, e.db, "behind")
		c := p.consumer("behind")
		reached := e.appendWords(t, []string{"s0", "s1"}, 30)
		e.catchUpConsumer(t, c, reached.Position)
		e.appendWords(t, []string{"s1", "s2"}, 30) // not processed
		res, err := e.newReplayer(t).Verify(context.Background(), c, relay.VerifyOptions{BatchSize: 16})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Clean() || res.Position != reached.Position || res.Events != 60 {
			t.Fatalf("result %+v, want clean at position %d after 60 events", res, reached.Position)
		}
	})
}

// TestVerifyWhileWriting: verifies run while writers append and the live
// consumer follows them; each compares like with like (no false difference),
// and the positions compared move on.
func TestVerifyWhileWriting(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		e := newEnv(t, dbURL)
		p := newTally(t, e.db, "busy")
		c := p.consumer("busy")
		e.appendWords(t, []string{"s0", "s1", "s2", "s3"}, 50)
		e.start(t, relay.Config{BatchSize: 20, PollInterval: 20 * time.Millisecond}, c)

		stop := make(chan struct{})
		var written atomic.Int64
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					stream := fmt.Sprintf("w%d-%d", w, i%5)
					if _, err := e.store.Append(context.Background(), eventstore.Stream{Type: "tally", ID: stream, TenantID: "t1"},
						eventstore.AnyVersion, []eventstore.NewEvent{word(fmt.Sprint("x", i%4)), word("y")}); err != nil {
						t.Errorf("append: %v", err)
						return
					}
					written.Add(2)
				}
			}()
		}
		rp := e.newReplayer(t)
		var positions []int64
		for range 4 {
			before := written.Load()
			res, err := rp.Verify(context.Background(), c, relay.VerifyOptions{BatchSize: 25})
			if err != nil {
				close(stop)
				wg.Wait()
				t.Fatal(err)
			}
			if !res.Clean() {
				close(stop)
				wg.Wait()
				t.Fatalf("a verify while writing found %d differing rows: %v", res.Differing, res.Differences)
			}
			positions = append(positions, res.Position)
			for written.Load() < before+40 && !t.Failed() {
				time.Sleep(time.Millisecond) // let the log move between verifies
			}
		}
		close(stop)
		wg.Wait()
		if positions[len(positions)-1] <= positions[0] {
			t.Fatalf("verified positions %v: the live read model did not move while verifying", positions)
		}
		t.Logf("verified clean at positions %v while %d events were written", positions, written.Load())
		assertNoShadows(t, e.db, c)
	})
}

// TestVerifyAcrossAReplaySwap: a replay of the same projection that swaps
// its tables in while a verify holds its snapshot (after the snapshot read
// the checkpoint, before it read the rows) makes the verify compare again,
// not report the half-seen tables as differences; the replay keeps the
// verify's shadow tables, and the verify is clean.
func TestVerifyAcrossAReplaySwap(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		e := newEnv(t, dbURL)
		p := newTally(t, e.db, "swap")
		c := p.consumer("swap")
		e.catchUpConsumer(t, c, e.appendWords(t, []string{"s0", "s1"}, 20).Position)
		rp := e.newReplayer(t)
		var moved, swapped bool
		res, err := rp.Verify(context.Background(), c, relay.VerifyOptions{BatchSize: 5, Progress: func(done, _ int64) {
			switch {
			case !moved:
				// The live read model moves on during the rebuild, so that
				// catching up to the snapshot's checkpoint has batches too.
				moved = true
				e.catchUpConsumer(t, c, e.appendWords(t, []string{"s1", "s2"}, 10).Position)
			case done > 40 && !swapped:
				swapped = true
				if _, err := rp.Replay(context.Background(), c, relay.ReplayOptions{}); err != nil {
					t.Fatalf("replay during the verify: %v", err)
				}
			}
		}})
		if err != nil {
			t.Fatal(err)
		}
		if !swapped || !res.Clean() || res.Position != 60 {
			t.Fatalf("swapped %v; result %+v, want clean at position 60", swapped, res)
		}
		assertNoShadows(t, e.db, c)
	})
}

func TestVerifyRefusesReactors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, dbtest.URL(t, database.SQLite))
	mailer := relay.Consumer{Name: "mailer", Kind: relay.KindReactor, Handlers: map[string]relay.Handler{}}
	if _, err := e.newReplayer(t).Verify(context.Background(), mailer, relay.VerifyOptions{}); !errors.Is(err, relay.ErrReactorVerify) {
		t.Fatalf("err = %v, want ErrReactorVerify", err)
	}
}
