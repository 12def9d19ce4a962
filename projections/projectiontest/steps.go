package projectiontest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/eventstore/relay"
	"github.com/rustok/rustok/platform/database"
	"github.com/rustok/rustok/platform/database/dbtest"
)

// Fast is the relay configuration of projection tests: short polls and
// retries, and an event dead-lettered after its second failed attempt.
var Fast = relay.Config{PollInterval: 20 * time.Millisecond, RetryInterval: 20 * time.Millisecond, RetryBackoff: time.Millisecond, DeadLetterAfter: 2}

// Timeout bounds each wait of a step (catching up, the runner reaching a
// position).
const Timeout = 60 * time.Second

// NewStore opens the database at dbURL (closed when the test ends) and its
// event store.
func NewStore(tb testing.TB, dbURL string) (*database.DB, *eventstore.Store) {
	tb.Helper()
	db := dbtest.OpenURL(tb, dbURL)
	store, err := eventstore.New(db, eventstore.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return db, store
}

// CatchUp applies c in this goroutine, in batches of batch events (0: the
// relay's default), until it has processed position last
// (relay.CatchUpTo), and returns how many events it applied.
func CatchUp(tb testing.TB, store *eventstore.Store, c relay.Consumer, batch int, last int64) int64 {
	tb.Helper()
	cfg := Fast
	cfg.BatchSize = batch
	n, err := relay.CatchUpTo(context.Background(), store, c, cfg, last, Timeout)
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// DeadLetters returns the errors of the dead letters, oldest first.
func DeadLetters(tb testing.TB, db *database.DB) []string {
	tb.Helper()
	var errs []string
	if err := db.Select(&errs, `SELECT error FROM dead_letters ORDER BY id`); err != nil {
		tb.Fatal(err)
	}
	return errs
}

// NoDeadLetters reports an error if there is any dead letter.
func NoDeadLetters(tb testing.TB, db *database.DB) {
	tb.Helper()
	if dl := DeadLetters(tb, db); len(dl) != 0 {
		tb.Errorf("dead letters: %v", dl)
	}
}

// CursorAfter returns the cursor of the n-th event of the log (the zero
// cursor, the start, for n = 0).
func CursorAfter(tb testing.TB, store *eventstore.Store, n int) eventstore.Cursor {
	tb.Helper()
	if n <= 0 {
		return eventstore.Cursor{}
	}
	evs, err := store.ReadAll(context.Background(), eventstore.Cursor{}, n)
	if err != nil {
		tb.Fatal(err)
	}
	if len(evs) != n {
		tb.Fatalf("the log has %d events, not %d", len(evs), n)
	}
	return evs[n-1].Cursor()
}

// Rewind moves consumer's checkpoint back to cur: the events after it are
// delivered again.
func Rewind(tb testing.TB, db *database.DB, consumer string, cur eventstore.Cursor) {
	tb.Helper()
	q, args := `UPDATE consumer_offsets SET offset_acked = ? WHERE consumer_group = ?`, []any{cur.Position, consumer}
	if db.Dialect() == database.Postgres {
		q, args = `UPDATE consumer_offsets SET offset_acked = ?, last_processed_transaction_id = CAST(? AS xid8) WHERE consumer_group = ?`,
			[]any{cur.Position, strconv.FormatUint(cur.TxID, 10), consumer}
	}
	if _, err := db.Exec(db.Rebind(q), args...); err != nil {
		tb.Fatal(err)
	}
}

// Forget deletes consumer's checkpoint: every event is delivered again.
func Forget(tb testing.TB, db *database.DB, consumer string) {
	tb.Helper()
	if _, err := db.Exec(db.Rebind(`DELETE FROM consumer_offsets WHERE consumer_group = ?`), consumer); err != nil {
		tb.Fatal(err)
	}
}

// StartRunner starts a relay runner of consumers with cfg (and metrics, if
// not nil) and waits until it runs. stop stops it and reports its error; it
// is also called when the test ends, and may be called more than once.
func StartRunner(tb testing.TB, store *eventstore.Store, cfg relay.Config, metrics *relay.Metrics, consumers ...relay.Consumer) (runner *relay.Runner, stop func()) {
	tb.Helper()
	runner, err := relay.NewRunner(store, consumers, cfg, slog.New(slog.DiscardHandler), metrics)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runner.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				tb.Errorf("runner: %v", err)
			}
		})
	}
	tb.Cleanup(stop)
	select {
	case <-runner.Running():
	case err := <-done:
		tb.Fatalf("runner stopped: %v", err)
	case <-time.After(20 * time.Second):
		tb.Fatal("runner did not start")
	}
	return runner, stop
}

// WaitFor waits until runner's consumers have processed position last.
func WaitFor(tb testing.TB, db *database.DB, runner *relay.Runner, last int64, consumers ...string) {
	tb.Helper()
	ok, err := relay.NewWaiter(db, runner.Progress()).WaitFor(context.Background(), last, consumers, Timeout)
	if err != nil || !ok {
		tb.Fatalf("%v did not reach position %d: %v", consumers, last, err)
	}
}

// Replay rebuilds c's read model from the log in batches of batch events
// (relay.Replayer) and returns the replay's result.
func Replay(tb testing.TB, store *eventstore.Store, c relay.Consumer, batch int) relay.ReplayResult {
	tb.Helper()
	r, err := relay.NewReplayer(store, Fast, nil, nil)
	if err != nil {
		tb.Fatal(err)
	}
	res, err := r.Replay(context.Background(), c, relay.ReplayOptions{BatchSize: batch})
	if err != nil {
		tb.Fatal(err)
	}
	return res
}

// EachRow runs query and calls row for each row it returns, with a scan
// function that fails the test on error: the loop of a snapshot.
func EachRow(tb testing.TB, db *database.DB, query string, row func(scan func(dest ...any))) {
	tb.Helper()
	rows, err := db.Queryx(query)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	scan := func(dest ...any) {
		tb.Helper()
		if err := rows.Scan(dest...); err != nil {
			tb.Fatal(err)
		}
	}
	for rows.Next() {
		row(scan)
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
}

// Checksum hashes v's %+v form, which prints maps sorted by key: equal read
// models have equal checksums.
func Checksum(v any) string {
	h := sha256.Sum256(fmt.Appendf(nil, "%+v", v))
	return hex.EncodeToString(h[:])
}
