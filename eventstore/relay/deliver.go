package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	wmsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/platform/database"
)

// deliveryPolicy is how a failing event is retried before it is dead-lettered.
type deliveryPolicy struct {
	// attempts is how many times a handler is tried (≥ 1); then the event is
	// recorded in dead_letters and the consumer goes on.
	attempts int
	// backoff is the wait before the second attempt; it doubles per attempt,
	// capped at 250ms, so the subscriber's transaction stays short (on
	// PostgreSQL an open transaction holds back every consumer).
	backoff time.Duration
}

func (p deliveryPolicy) wait(attempt int) time.Duration {
	d := p.backoff << (attempt - 2)
	return min(d, 250*time.Millisecond)
}

// errRedoCarefully is returned when a handler failed on the fast path: the
// caller rolls the batch back and reads it again; the applier then runs it in
// careful mode (savepoints, retries, dead letters) up to the failed event.
var errRedoCarefully = errors.New("relay: handler failed; batch redone with savepoints")

// applier runs a consumer's handlers. The live subscriber, CatchUp and the
// replayer share it, so all follow one policy.
//
// Fast path: handlers run straight in the batch transaction (no savepoint:
// each costs a round trip per event). When one fails, apply marks the event
// and returns errRedoCarefully; the batch is rolled back and read again, and
// up to and including the marked event each handler runs under a savepoint,
// with retries, and is dead-lettered past the limit.
type applier struct {
	consumer Consumer
	store    *eventstore.Store
	dialect  database.Dialect
	policy   deliveryPolicy
	logger   *slog.Logger
	errors   prometheus.Counter
	now      func() time.Time

	mu           sync.Mutex
	careful      bool
	carefulUntil eventstore.Cursor
}

// cursorAfter reports whether a comes after b in consumption order.
func cursorAfter(a, b eventstore.Cursor) bool {
	if a.TxID != b.TxID {
		return a.TxID > b.TxID
	}
	return a.Position > b.Position
}

// inCarefulMode reports whether e must be handled with savepoints, and leaves
// careful mode once past the event that failed.
func (a *applier) inCarefulMode(e eventstore.Event) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.careful && cursorAfter(e.Cursor(), a.carefulUntil) {
		a.careful = false
	}
	return a.careful
}

func (a *applier) markCareful(e eventstore.Event) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.careful, a.carefulUntil = true, e.Cursor()
}

// apply handles e in tx. It returns nil when the event was applied, skipped
// (unknown type) or dead-lettered; errRedoCarefully (wrapped) when the batch
// must be rolled back and read again; any other error when the transaction
// itself is unusable or ctx ended, in which case the batch must be rolled back.
func (a *applier) apply(ctx context.Context, tx *sqlx.Tx, tables map[string]string, e eventstore.Event) error {
	h, ok := a.consumer.Handlers[e.Type]
	if !ok {
		return nil
	}
	htx := &Tx{tx: tx, dialect: a.dialect, tables: tables}
	if !a.inCarefulMode(e) {
		err := call(ctx, h, htx, e)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		a.errors.Inc()
		a.logger.WarnContext(ctx, "consumer handler failed; redoing the batch with savepoints", "consumer", a.consumer.Name,
			"position", e.Position, "event_type", e.Type, "stream", e.Stream.String(), "error", err)
		a.markCareful(e)
		return fmt.Errorf("%w: %w", errRedoCarefully, err)
	}
	var lastErr error
	for attempt := 1; attempt <= a.policy.attempts; attempt++ {
		if attempt > 1 {
			select {
			case <-time.After(a.policy.wait(attempt)):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if _, err := tx.ExecContext(ctx, "SAVEPOINT relay_event"); err != nil {
			return fmt.Errorf("consumer %s: savepoint: %w", a.consumer.Name, err)
		}
		err := call(ctx, h, htx, e)
		if err == nil {
			if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT relay_event"); err != nil {
				return fmt.Errorf("consumer %s: release savepoint: %w", a.consumer.Name, err)
			}
			return nil
		}
		if _, rbErr := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT relay_event"); rbErr != nil {
			return fmt.Errorf("consumer %s: rollback to savepoint: %w", a.consumer.Name, errors.Join(err, rbErr))
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		a.errors.Inc()
		a.logger.WarnContext(ctx, "consumer handler failed", "consumer", a.consumer.Name, "position", e.Position,
			"event_type", e.Type, "stream", e.Stream.String(), "attempt", attempt, "error", err)
		lastErr = err
	}
	return a.deadLetter(ctx, tx, e, lastErr)
}

func call(ctx context.Context, h Handler, tx *Tx, e eventstore.Event) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panic: %v\n%s", r, debug.Stack())
		}
	}()
	return h(ctx, tx, e)
}

func (a *applier) deadLetter(ctx context.Context, tx *sqlx.Tx, e eventstore.Event, cause error) error {
	now := a.now()
	var at any = now.UTC()
	if a.dialect == database.SQLite {
		at = database.FormatTime(now)
	}
	msg := cause.Error()
	if len(msg) > 4000 {
		msg = msg[:4000]
	}
	_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO dead_letters
		(consumer_group, position, event_id, event_type, stream_type, stream_id, tenant_id, error, attempts, failed_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		a.consumer.Name, e.Position, e.ID, e.Type, e.Stream.Type, e.Stream.ID, e.Stream.TenantID, msg, a.policy.attempts, at)
	if err != nil {
		return fmt.Errorf("consumer %s: record dead letter for position %d: %w", a.consumer.Name, e.Position, err)
	}
	a.logger.ErrorContext(ctx, "event dead-lettered", "consumer", a.consumer.Name, "position", e.Position,
		"event_type", e.Type, "stream", e.Stream.String(), "attempts", a.policy.attempts, "error", cause)
	return nil
}

// messageHandler adapts the applier to a Watermill handler: it rebuilds the
// event from the message and writes through the subscriber's transaction.
func (a *applier) messageHandler(afterApply func(eventstore.Event)) message.NoPublishHandlerFunc {
	return func(msg *message.Message) error {
		ctx := msg.Context()
		wtx, ok := wmsql.TxFromContext(ctx)
		if !ok {
			return errors.New("relay: message without the subscriber's transaction")
		}
		stx, ok := wtx.(*subscriberTx)
		if !ok {
			return fmt.Errorf("relay: unexpected transaction type %T", wtx)
		}
		if stx.failure() != nil {
			return nil // the batch is being abandoned; see subscriberTx
		}
		e, err := fromMessage(msg)
		if err == nil {
			err = a.store.Upcast(&e)
		}
		if err != nil {
			// Not the handler's fault and not retryable: dead-letter it.
			if dlErr := a.deadLetter(ctx, stx.sqlx(), e, err); dlErr != nil {
				stx.poison(dlErr)
			}
			return nil
		}
		if err := a.apply(ctx, stx.sqlx(), nil, e); err != nil {
			stx.poison(err)
			return nil
		}
		afterApply(e)
		return nil
	}
}

// discardCounter is a prometheus.Counter that counts nothing (CatchUp runs in
// short-lived CLI processes whose metrics nobody scrapes).
type discardCounter struct{ prometheus.Counter }

func (discardCounter) Inc() {}
