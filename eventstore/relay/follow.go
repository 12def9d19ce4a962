package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill"

	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/platform/database"
)

// FollowHandler handles one event of an in-process tail of the log.
type FollowHandler func(ctx context.Context, e eventstore.Event) error

// Follow tails the log from its current head and calls h for every event
// committed afterwards, in consumption order, until ctx ends. It keeps no
// checkpoint: it is for state that lives in this process only (caches), which
// every instance must apply for itself — unlike a consumer group, which one
// instance processes at a time. wake (may be nil) shortens the wait after a
// commit; poll is the safety net. An error from h is logged and the event
// skipped (a cache entry missed is bounded by its TTL).
//
// Starting at the head means: on PostgreSQL, events committed just before
// Follow started but still behind the visibility fence are delivered too.
// For invalidation that errs on the safe side (an extra invalidation, never a
// missed one).
//
// started, when given, is called once with the cursor Follow starts after:
// every event up to it is older than the tail (the caller's state already
// reflects it, or not, as it was loaded).
func Follow(ctx context.Context, store *eventstore.Store, wake *Signal, poll time.Duration, h FollowHandler, logger *slog.Logger, started ...func(eventstore.Cursor)) error {
	if wake == nil {
		wake = NewSignal()
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cur, err := store.HeadCursor(ctx)
	if err != nil {
		return fmt.Errorf("follow: %w", err)
	}
	for _, f := range started {
		f(cur)
	}
	b := &wakeBackoff{wake: wake, done: ctx.Done(), pollInterval: poll, retryInterval: poll}
	b.armed = wake.Wait()
	const batch = 500
	for ctx.Err() == nil {
		evs, err := store.ReadAll(ctx, cur, batch)
		if err != nil && ctx.Err() == nil {
			logger.Warn("follow: read log", "error", err)
		}
		for _, e := range evs {
			if herr := h(ctx, e); herr != nil {
				logger.Warn("follow: handler failed; event skipped", "position", e.Position, "event_type", e.Type, "error", herr)
			}
			cur = e.Cursor()
		}
		if err == nil && len(evs) == batch {
			continue
		}
		b.HandleError(watermill.NopLogger{}, err == nil && len(evs) == 0, err)
	}
	return nil
}

// CatchUp brings consumer c up to the head of the log synchronously, in this
// process, in short transactions of batch events, under the same checkpoint
// lock as the live subscribers (so it is safe while servers run). It returns
// how many events it processed. CLI commands use it so that a read right after
// a write is current even when no server is running.
func CatchUp(ctx context.Context, store *eventstore.Store, c Consumer, cfg Config) (int64, error) {
	if err := c.validate(); err != nil {
		return 0, err
	}
	cfg.setDefaults()
	a := newApplier(c, store, cfg.policy(), slog.New(slog.DiscardHandler), discardCounter{}, time.Now)
	var total int64
	for {
		n, err := catchUpBatch(ctx, store, a, cfg.BatchSize)
		if errors.Is(err, errRedoCarefully) {
			continue
		}
		total += n
		if err != nil {
			return total, fmt.Errorf("catch up %s: %w", c.Name, err)
		}
		if n == 0 {
			return total, nil
		}
	}
}

func catchUpBatch(ctx context.Context, store *eventstore.Store, a *applier, batch int) (int64, error) {
	db := store.DB()
	tx, err := db.BeginWrite(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	name := a.consumer.Name
	if err := lockGroup(ctx, tx, name); err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO consumer_offsets (consumer_group) VALUES (?) ON CONFLICT DO NOTHING`), name); err != nil {
		return 0, fmt.Errorf("ensure checkpoint: %w", err)
	}
	q := `SELECT offset_acked, 0 FROM consumer_offsets WHERE consumer_group = ?`
	if db.Dialect() == database.Postgres {
		q = `SELECT offset_acked, last_processed_transaction_id::text::bigint FROM consumer_offsets WHERE consumer_group = ?`
	}
	var cur eventstore.Cursor
	var txID int64
	if err := tx.QueryRowxContext(ctx, tx.Rebind(q), name).Scan(&cur.Position, &txID); err != nil {
		return 0, fmt.Errorf("read checkpoint: %w", err)
	}
	cur.TxID = uint64(txID)
	evs, err := store.ReadAllWith(ctx, tx.Tx, cur, batch)
	if err != nil || len(evs) == 0 {
		return 0, err
	}
	if err := a.applyBatch(ctx, tx.Tx, nil, evs); err != nil {
		return 0, err
	}
	if err := setCheckpoint(ctx, tx, name, evs[len(evs)-1].Cursor()); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		if errors.Is(err, context.Canceled) {
			return 0, err
		}
		return 0, fmt.Errorf("commit: %w", err)
	}
	return int64(len(evs)), nil
}

// CatchUpTo runs CatchUp until consumer c has processed position (see
// Reached), or returns an error once timeout passes. It repeats because on
// PostgreSQL an event is visible to consumers only when every older
// transaction in the cluster has ended (the xid fence), so one pass can stop
// short of an event that is already committed. It returns how many events it
// processed. A position ≤ 0 means one pass to the visible head.
func CatchUpTo(ctx context.Context, store *eventstore.Store, c Consumer, cfg Config, position int64, timeout time.Duration) (int64, error) {
	deadline := time.Now().Add(timeout)
	var total int64
	for {
		n, err := CatchUp(ctx, store, c, cfg)
		total += n
		if err != nil {
			return total, err
		}
		reached, err := Reached(ctx, store.DB(), c.Name, position)
		if err != nil || reached {
			return total, err
		}
		if time.Now().After(deadline) {
			return total, fmt.Errorf("catch up %s: position %d not reached within %s", c.Name, position, timeout)
		}
		select {
		case <-ctx.Done():
			return total, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}
