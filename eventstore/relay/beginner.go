package relay

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	wmsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/jmoiron/sqlx"

	"github.com/rustok/rustok/platform/database"
)

// beginner gives a subscriber its transactions through database.DB.BeginWrite
// (so SQLite writers queue on the write gate) and calls onCommit after each
// successful commit (progress signal for read-your-writes and metrics).
type beginner struct {
	db       *database.DB
	onCommit func()
}

func (b beginner) BeginTx(ctx context.Context, opts *sql.TxOptions) (wmsql.Tx, error) {
	tx, err := b.db.BeginWrite(ctx, opts)
	if err != nil {
		return nil, err
	}
	if b.onCommit != nil {
		tx.AfterCommit(b.onCommit)
	}
	return &subscriberTx{tx: tx}, nil
}

func (b beginner) ExecContext(ctx context.Context, query string, args ...any) (wmsql.Result, error) {
	return b.db.ExecContext(ctx, query, args...)
}

func (b beginner) QueryContext(ctx context.Context, query string, args ...any) (wmsql.Rows, error) {
	return b.db.QueryContext(ctx, query, args...)
}

// subscriberTx is the transaction a subscriber reads a batch in; handlers reach
// it through wmsql.TxFromContext and write their read models in it.
//
// When a handler leaves the transaction unusable (or is cancelled), poison
// marks it: later handlers of the batch skip, the subscriber's ack fails, and
// the whole batch rolls back to be read again — instead of watermill's nack
// path, which would resend into the same broken transaction until the ack
// deadline while holding it open.
//
// The subscriber may end the transaction (shutdown, ack deadline) while a
// handler goroutine still works in it, hence the mutex.
type subscriberTx struct {
	tx     *database.WriteTx
	mu     sync.Mutex
	failed error
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
	if err := t.failure(); err != nil {
		return nil, fmt.Errorf("batch abandoned: %w", err)
	}
	return t.tx.ExecContext(ctx, query, args...)
}

func (t *subscriberTx) QueryContext(ctx context.Context, query string, args ...any) (wmsql.Rows, error) {
	return t.tx.QueryContext(ctx, query, args...)
}

func (t *subscriberTx) Commit() error {
	if err := t.failure(); err != nil {
		_ = t.tx.Rollback()
		return fmt.Errorf("batch abandoned: %w", err)
	}
	return t.tx.Commit()
}

func (t *subscriberTx) Rollback() error { return t.tx.Rollback() }

func (t *subscriberTx) sqlx() *sqlx.Tx { return t.tx.Tx }
