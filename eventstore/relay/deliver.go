package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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

// errRedoCarefully is returned when a batch failed on the fast path: the
// caller rolls the batch back and reads it again; the applier then applies it
// in careful mode (savepoints, splitting, retries, dead letters).
var errRedoCarefully = errors.New("relay: handler failed; batch redone with savepoints")

// applier runs a consumer's handlers on batches of events. The live
// subscriber, CatchUp and the replayer share it, so all follow one policy.
//
// Fast path: the consumer's batch function runs straight in the batch
// transaction (no savepoint). When it fails, applyBatch marks the batch and
// returns errRedoCarefully; the batch is rolled back and read again, and then
// applied carefully: under a savepoint, and on failure split — around the
// event an *EventError names, else in halves — until the failing events are
// alone; each of those is retried with back-off and dead-lettered past the
// limit, while the rest commit. Per-stream order holds because the pieces are
// applied in consumption order.
type applier struct {
	consumer Consumer
	store    *eventstore.Store
	dialect  database.Dialect
	policy   deliveryPolicy
	logger   *slog.Logger
	errors   prometheus.Counter
	now      func() time.Time
	// handle applies handled events; types are the event types it handles.
	handle BatchFunc
	types  map[string]bool
	// columns caches the column types of the tables the consumer writes.
	columns *columnTypeCache

	mu           sync.Mutex
	careful      bool
	carefulUntil eventstore.Cursor
}

func newApplier(c Consumer, store *eventstore.Store, policy deliveryPolicy, logger *slog.Logger, errs prometheus.Counter, now func() time.Time) *applier {
	handle, types := c.batchFunc()
	return &applier{consumer: c, store: store, dialect: store.DB().Dialect(), policy: policy,
		logger: logger, errors: errs, now: now, handle: handle, types: types, columns: &columnTypeCache{}}
}

// cursorAfter reports whether a comes after b in consumption order.
func cursorAfter(a, b eventstore.Cursor) bool {
	if a.TxID != b.TxID {
		return a.TxID > b.TxID
	}
	return a.Position > b.Position
}

// startCareful reports whether a batch starting with e must be applied
// carefully (it is the batch, read again, that failed on the fast path).
func (a *applier) startCareful(e eventstore.Event) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.careful && cursorAfter(e.Cursor(), a.carefulUntil) {
		a.careful = false
	}
	return a.careful
}

// endCareful leaves careful mode once a batch reaching past the failed one
// was applied.
func (a *applier) endCareful(last eventstore.Event) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.careful && !cursorAfter(a.carefulUntil, last.Cursor()) {
		a.careful = false
	}
}

func (a *applier) markCareful(last eventstore.Event) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.careful, a.carefulUntil = true, last.Cursor()
}

// applyBatch applies evs (in consumption order) in tx; tables maps read-model
// tables to the ones written (replay), nil for the live tables. It returns
// nil when every event was applied, skipped (type not handled) or
// dead-lettered; errRedoCarefully (wrapped) when the transaction must be
// rolled back and the batch read again; any other error when the
// transaction itself is unusable or ctx ended, in which case the batch must
// be rolled back.
func (a *applier) applyBatch(ctx context.Context, tx *sqlx.Tx, tables map[string]string, evs []eventstore.Event) error {
	handled := make([]eventstore.Event, 0, len(evs))
	for _, e := range evs {
		if a.types[e.Type] {
			handled = append(handled, e)
		}
	}
	if len(handled) == 0 {
		return nil
	}
	htx := &Tx{tx: tx, dialect: a.dialect, tables: tables, types: a.columns}
	last := handled[len(handled)-1]
	if a.startCareful(handled[0]) {
		if err := a.applyCarefully(ctx, tx, htx, handled); err != nil {
			return err
		}
		a.endCareful(last)
		return nil
	}
	err := callBatch(ctx, a.handle, htx, handled)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	a.errors.Inc()
	a.logger.WarnContext(ctx, "consumer batch failed; redoing it with savepoints", "consumer", a.consumer.Name,
		"events", len(handled), "from", handled[0].Position, "to", last.Position, "error", err)
	a.markCareful(last)
	return fmt.Errorf("%w: %w", errRedoCarefully, err)
}

// applyCarefully applies evs under a savepoint; if that fails, it splits evs
// (around the event an *EventError names, else in halves) and applies each
// piece the same way, in order. A single event is retried and dead-lettered.
func (a *applier) applyCarefully(ctx context.Context, tx *sqlx.Tx, htx *Tx, evs []eventstore.Event) error {
	if len(evs) == 1 {
		return a.applyOne(ctx, tx, htx, evs[0])
	}
	err, fatal := a.underSavepoint(ctx, tx, htx, evs)
	if fatal != nil || err == nil {
		return fatal
	}
	a.errors.Inc()
	a.logger.WarnContext(ctx, "consumer batch failed; splitting it", "consumer", a.consumer.Name,
		"events", len(evs), "from", evs[0].Position, "to", evs[len(evs)-1].Position, "error", err)
	var pieces [][]eventstore.Event
	if i := failedAt(err, evs); i >= 0 {
		pieces = [][]eventstore.Event{evs[:i], evs[i : i+1], evs[i+1:]}
	} else {
		pieces = [][]eventstore.Event{evs[:len(evs)/2], evs[len(evs)/2:]}
	}
	for _, p := range pieces {
		if len(p) == 0 {
			continue
		}
		if err := a.applyCarefully(ctx, tx, htx, p); err != nil {
			return err
		}
	}
	return nil
}

// applyOne applies one event under a savepoint, retrying with back-off, and
// dead-letters it after the last attempt.
func (a *applier) applyOne(ctx context.Context, tx *sqlx.Tx, htx *Tx, e eventstore.Event) error {
	var lastErr error
	for attempt := 1; attempt <= a.policy.attempts; attempt++ {
		if attempt > 1 {
			select {
			case <-time.After(a.policy.wait(attempt)):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		err, fatal := a.underSavepoint(ctx, tx, htx, []eventstore.Event{e})
		if fatal != nil || err == nil {
			return fatal
		}
		a.errors.Inc()
		a.logger.WarnContext(ctx, "consumer handler failed", "consumer", a.consumer.Name, "position", e.Position,
			"event_type", e.Type, "stream", e.Stream.String(), "attempt", attempt, "error", err)
		lastErr = causeFor(err, e)
	}
	return a.deadLetter(ctx, tx, e, lastErr)
}

// underSavepoint runs the batch function on evs under a savepoint.
// handlerErr is the handler's failure, rolled back to the savepoint; err
// means the transaction is unusable or ctx ended.
func (a *applier) underSavepoint(ctx context.Context, tx *sqlx.Tx, htx *Tx, evs []eventstore.Event) (handlerErr, err error) {
	if _, err := tx.ExecContext(ctx, "SAVEPOINT relay_batch"); err != nil {
		return nil, fmt.Errorf("consumer %s: savepoint: %w", a.consumer.Name, err)
	}
	handlerErr = callBatch(ctx, a.handle, htx, evs)
	if handlerErr == nil {
		if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT relay_batch"); err != nil {
			return nil, fmt.Errorf("consumer %s: release savepoint: %w", a.consumer.Name, err)
		}
		return nil, nil
	}
	// Roll back and release, so savepoints do not pile up in a long split
	// (PostgreSQL slows every snapshot once a transaction has more than 64
	// subtransactions).
	if _, err := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT relay_batch"); err != nil {
		return nil, fmt.Errorf("consumer %s: rollback to savepoint: %w", a.consumer.Name, errors.Join(handlerErr, err))
	}
	if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT relay_batch"); err != nil {
		return nil, fmt.Errorf("consumer %s: release savepoint: %w", a.consumer.Name, errors.Join(handlerErr, err))
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return handlerErr, nil
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

// messageHandler adapts the applier to a Watermill handler. Watermill hands
// over the messages of a batch one at a time, all in the subscriber's
// transaction; the handler only decodes each event and collects it in that
// transaction (subscriberTx.collect). The batch is applied when the
// subscriber moves the checkpoint — its next statement in the transaction —
// so the consumer gets the whole batch the subscriber read, and read model and
// checkpoint still commit together.
func (a *applier) messageHandler() message.NoPublishHandlerFunc {
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
		stx.collect(e)
		return nil
	}
}

// flusher returns the function a subscriber's transaction calls to apply its
// collected events; afterApply gets the last event of each applied batch.
func (a *applier) flusher(afterApply func(eventstore.Event)) flushFunc {
	return func(ctx context.Context, tx *sqlx.Tx, evs []eventstore.Event) error {
		if err := a.applyBatch(ctx, tx, nil, evs); err != nil {
			return err
		}
		afterApply(evs[len(evs)-1])
		return nil
	}
}

// discardCounter is a prometheus.Counter that counts nothing (CatchUp runs in
// short-lived CLI processes whose metrics nobody scrapes).
type discardCounter struct{ prometheus.Counter }

func (discardCounter) Inc() {}
