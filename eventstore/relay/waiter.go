package relay

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/platform/database"
)

// Defaults of a Waiter.
const (
	// DefaultWaiterPoll is how often a Waiter reads the checkpoints while
	// someone waits and no progress signal arrives (another process runs
	// the consumers, or the signal was missed).
	DefaultWaiterPoll = 50 * time.Millisecond
	// DefaultMaxWaiters bounds the requests that wait at once; beyond it a
	// wait answers at once whether the position is reached.
	DefaultMaxWaiters = 1000
)

// waiterQueryTimeout bounds one read of the checkpoints.
const waiterQueryTimeout = 5 * time.Second

// Waiter lets queries wait until consumers reached a log position
// (read-your-writes). Waiting costs nothing per waiter: one watcher
// goroutine per Waiter, running only while someone waits, reads every
// checkpoint in one query when the in-process runner signals progress (or
// every poll interval otherwise) and wakes the waiters whose position is
// reached. A process should share one Waiter. It is safe for concurrent use.
type Waiter struct {
	db         *database.DB
	progress   *Signal
	poll       time.Duration
	maxWaiters int

	reads atomic.Int64 // checkpoint reads by the watcher (for tests)

	mu       sync.Mutex
	waiting  map[*waitRequest]struct{}
	watching bool          // the watcher goroutine runs
	kick     chan struct{} // wakes the watcher for a new waiter (buffered 1)
}

// waitRequest is one WaitFor in progress.
type waitRequest struct {
	target    eventstore.Cursor
	consumers []string
	done      chan struct{} // closed once every consumer reached target
}

// NewWaiter returns a Waiter. progress (may be nil) is the in-process
// runner's progress signal; without it, or for consumers run by another
// process, the Waiter polls while anyone waits.
func NewWaiter(db *database.DB, progress *Signal) *Waiter {
	return &Waiter{
		db: db, progress: progress, poll: DefaultWaiterPoll, maxWaiters: DefaultMaxWaiters,
		waiting: map[*waitRequest]struct{}{}, kick: make(chan struct{}, 1),
	}
}

// WithLimits returns w with another poll interval and bound on concurrent
// waiters (a value ≤ 0 keeps the current one). Call it before first use.
func (w *Waiter) WithLimits(poll time.Duration, maxWaiters int) *Waiter {
	if poll > 0 {
		w.poll = poll
	}
	if maxWaiters > 0 {
		w.maxWaiters = maxWaiters
	}
	return w
}

// Waiting returns the number of requests waiting now.
func (w *Waiter) Waiting() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.waiting)
}

// WaitFor blocks until every consumer in consumers has processed position,
// the timeout passes, or ctx ends, and reports whether the position was
// reached; a timeout is not an error (the caller answers from the read model
// as it is). A position ≤ 0 or an empty consumers list is reached at once; a
// position that names no event is never reached, and answered at once. When
// DefaultMaxWaiters (or WithLimits') requests wait already, WaitFor does not
// wait: it answers whether the position is reached now.
func (w *Waiter) WaitFor(ctx context.Context, position int64, consumers []string, timeout time.Duration) (bool, error) {
	if position <= 0 || len(consumers) == 0 {
		return true, nil
	}
	target, ok, err := w.targetOf(ctx, position)
	if err != nil || !ok {
		return false, err
	}
	req := &waitRequest{target: target, consumers: consumers, done: make(chan struct{})}
	if !w.register(req) {
		cursors, err := readCursors(ctx, w.db)
		if err != nil {
			return false, err
		}
		return req.reachedBy(cursors), nil
	}
	defer w.unregister(req)
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-req.done:
		return true, nil
	case <-timer.C:
		return false, nil
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// targetOf returns the consumption cursor of the event at position: its
// position, and on PostgreSQL its transaction id (consumers read in
// (transaction, position) order). ok is false when no event has position.
func (w *Waiter) targetOf(ctx context.Context, position int64) (eventstore.Cursor, bool, error) {
	q := `SELECT 0 FROM events WHERE position = ?`
	if w.db.Dialect() == database.Postgres {
		q = `SELECT transaction_id::text::bigint FROM events WHERE position = ?`
	}
	var tx int64
	err := w.db.GetContext(ctx, &tx, w.db.Rebind(q), position)
	if errors.Is(err, sql.ErrNoRows) {
		return eventstore.Cursor{}, false, nil
	}
	if err != nil {
		return eventstore.Cursor{}, false, fmt.Errorf("read the event at position %d: %w", position, err)
	}
	return eventstore.Cursor{TxID: uint64(tx), Position: position}, true, nil
}

// register adds req and makes sure the watcher runs; false when too many
// requests wait already.
func (w *Waiter) register(req *waitRequest) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.waiting) >= w.maxWaiters {
		return false
	}
	w.waiting[req] = struct{}{}
	if !w.watching {
		w.watching = true
		go w.watch()
	}
	select {
	case w.kick <- struct{}{}:
	default:
	}
	return true
}

func (w *Waiter) unregister(req *waitRequest) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.waiting, req)
}

// watch reads the checkpoints and wakes the waiters they satisfy, at each
// progress signal, new waiter or poll interval, until nobody waits.
func (w *Waiter) watch() {
	for {
		var progress <-chan struct{}
		if w.progress != nil {
			progress = w.progress.Wait() // armed before reading: no signal is missed
		}
		w.mu.Lock()
		if len(w.waiting) == 0 {
			w.watching = false
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()

		ctx, cancel := context.WithTimeout(context.Background(), waiterQueryTimeout)
		cursors, err := readCursors(ctx, w.db)
		cancel()
		w.reads.Add(1)
		if err == nil {
			w.mu.Lock()
			for req := range w.waiting {
				if req.reachedBy(cursors) {
					close(req.done)
					delete(w.waiting, req)
				}
			}
			w.mu.Unlock()
		}
		// A failed read is retried at the next poll; waiters time out
		// meanwhile, as they would if the consumers were behind.
		timer := time.NewTimer(w.poll)
		select {
		case <-progress:
		case <-w.kick:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// reachedBy reports whether every consumer of req has a cursor at or past
// its target.
func (req *waitRequest) reachedBy(cursors map[string]eventstore.Cursor) bool {
	for _, name := range req.consumers {
		c, ok := cursors[name]
		if !ok || c.TxID < req.target.TxID || c.TxID == req.target.TxID && c.Position < req.target.Position {
			return false
		}
	}
	return true
}

// readCursors reads the checkpoint of every consumer group in one query.
func readCursors(ctx context.Context, db *database.DB) (map[string]eventstore.Cursor, error) {
	q := `SELECT consumer_group, offset_acked, ` + txSelect(db) + ` FROM consumer_offsets`
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("read checkpoints: %w", err)
	}
	defer rows.Close()
	out := map[string]eventstore.Cursor{}
	for rows.Next() {
		var name string
		var pos, tx int64
		if err := rows.Scan(&name, &pos, &tx); err != nil {
			return nil, fmt.Errorf("read checkpoints: %w", err)
		}
		out[name] = eventstore.Cursor{TxID: uint64(tx), Position: pos}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read checkpoints: %w", err)
	}
	return out, nil
}
