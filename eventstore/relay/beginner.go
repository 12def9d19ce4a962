package relay

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	wmsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/jmoiron/sqlx"

	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/platform/database"
)

// flushFunc applies the events a subscriber's transaction collected.
type flushFunc func(ctx context.Context, tx *sqlx.Tx, evs []eventstore.Event) error

// beginner gives a subscriber its transactions through database.DB.BeginWrite
// (so SQLite writers queue on the write gate) and calls onCommit after each
// successful commit (progress signal for read-your-writes and metrics).
// flush applies each transaction's collected batch.
//
// On PostgreSQL each transaction first takes the consumer group's lock
// (lockGroup): one subscriber of a group at a time.
type beginner struct {
	db       *database.DB
	group    string
	onCommit func()
	flush    flushFunc
}

func (b beginner) BeginTx(ctx context.Context, opts *sql.TxOptions) (wmsql.Tx, error) {
	tx, err := b.db.BeginWrite(ctx, opts)
	if err != nil {
		return nil, err
	}
	if err := lockGroup(ctx, tx, b.group); err != nil {
		_ = tx.Rollback()
		return nil, err
	}
	if b.onCommit != nil {
		tx.AfterCommit(b.onCommit)
	}
	return &subscriberTx{tx: tx, flush: b.flush}, nil
}

func (b beginner) ExecContext(ctx context.Context, query string, args ...any) (wmsql.Result, error) {
	return b.db.ExecContext(ctx, query, args...)
}

func (b beginner) QueryContext(ctx context.Context, query string, args ...any) (wmsql.Rows, error) {
	return b.db.QueryContext(ctx, query, args...)
}

// subscriberTx is the transaction a subscriber reads a batch in; the message
// handler reaches it through wmsql.TxFromContext and collects the batch's
// events in it. Watermill delivers the messages one at a time and then runs
// the ack (the checkpoint update) in the transaction: that statement is the
// first thing ExecContext sees after the batch, so ExecContext applies the
// collected events (flush) before it, and read model and checkpoint commit
// together. Commit flushes too, should anything be left.
//
// When applying leaves the transaction unusable (or is cancelled), or must be
// redone carefully, poison marks it: the subscriber's ack fails, and the
// whole batch rolls back to be read again — instead of watermill's nack path,
// which would resend into the same broken transaction until the ack deadline
// while holding it open.
//
// The subscriber may end the transaction (shutdown, ack deadline) while a
// handler goroutine still works in it, hence the mutex.
type subscriberTx struct {
	tx    *database.WriteTx
	flush flushFunc

	mu      sync.Mutex
	failed  error
	pending []eventstore.Event
}

// collect adds e to the batch applied at the next flush.
func (t *subscriberTx) collect(e eventstore.Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pending = append(t.pending, e)
}

// flushPending applies the collected events, if any; an error poisons the
// transaction.
func (t *subscriberTx) flushPending(ctx context.Context) error {
	t.mu.Lock()
	evs := t.pending
	t.pending = nil
	t.mu.Unlock()
	if len(evs) == 0 || t.flush == nil || t.failure() != nil {
		return nil
	}
	if err := t.flush(ctx, t.tx.Tx, evs); err != nil {
		t.poison(err)
		return fmt.Errorf("batch abandoned: %w", err)
	}
	return nil
}

func (t *subscriberTx) poison(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.failed == nil {
		t.failed = err
	}
}

// failure returns the error that poisoned the transaction, or nil.
func (t *subscriberTx) failure() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.failed
}

func (t *subscriberTx) ExecContext(ctx context.Context, query string, args ...any) (wmsql.Result, error) {
	if err := t.flushPending(ctx); err != nil {
		return nil, err
	}
	if err := t.failure(); err != nil {
		return nil, fmt.Errorf("batch abandoned: %w", err)
	}
	return t.tx.ExecContext(ctx, query, args...)
}

func (t *subscriberTx) QueryContext(ctx context.Context, query string, args ...any) (wmsql.Rows, error) {
	return t.tx.QueryContext(ctx, query, args...)
}

func (t *subscriberTx) Commit() error {
	if err := t.flushPending(context.Background()); err != nil {
		_ = t.tx.Rollback()
		return err
	}
	if err := t.failure(); err != nil {
		_ = t.tx.Rollback()
		return fmt.Errorf("batch abandoned: %w", err)
	}
	return t.tx.Commit()
}

func (t *subscriberTx) Rollback() error { return t.tx.Rollback() }

func (t *subscriberTx) sqlx() *sqlx.Tx { return t.tx.Tx }

// lockGroup serialises, on PostgreSQL, the transactions that process a
// consumer group or move its checkpoint (a subscriber's batch, a replay's
// swap, a checkpoint reset) with a transaction-level advisory lock, keyed by
// schema and group. Unlike a row lock (SELECT … FOR UPDATE) it takes no
// transaction id: a transaction gets one at its first write, so a reactor
// that waits on something outside the database before writing its
// checkpoint — a mail server that does not answer — does not hold back the
// visibility fence, and with it every other consumer, while it waits. A
// no-op on SQLite, whose write gate already admits one writer at a time.
func lockGroup(ctx context.Context, tx *database.WriteTx, group string) error {
	if tx.DriverName() != "pgx" {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || '/consumer_offsets/' || $1, 0))`, group); err != nil {
		return fmt.Errorf("lock consumer group %s: %w", group, err)
	}
	return nil
}
