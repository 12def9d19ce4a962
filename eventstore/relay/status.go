package relay

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/platform/database"
)

// Status is where one consumer stands.
type Status struct {
	Name string
	Kind Kind
	// Position is the last log position the consumer processed (0: none yet).
	Position int64
	// Head is the highest position in the log.
	Head int64
	// LagEvents counts events the consumer has not processed yet.
	LagEvents int64
	// LagSeconds is the age of the oldest unprocessed event (0 when caught up).
	LagSeconds float64
	// DeadLetters counts the consumer's unresolved dead letters.
	DeadLetters int64
	// UpdatedAt is when the checkpoint last moved (zero if never).
	UpdatedAt time.Time
}

// Statuses reads the status of each consumer from the database, so it works
// from any process (the CLI as well as the server).
func Statuses(ctx context.Context, store *eventstore.Store, consumers []Consumer) ([]Status, error) {
	db := store.DB()
	head, err := store.Head(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Status, 0, len(consumers))
	for _, c := range consumers {
		s := Status{Name: c.Name, Kind: c.Kind, Head: head}
		var cur eventstore.Cursor
		var updated database.Time
		q := `SELECT offset_acked, ` + txSelect(db) + `, updated_at FROM consumer_offsets WHERE consumer_group = ?`
		var tx int64
		err := db.QueryRowxContext(ctx, db.Rebind(q), c.Name).Scan(&cur.Position, &tx, &updated)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("read checkpoint of %s: %w", c.Name, err)
		}
		cur.TxID = uint64(tx)
		s.Position, s.UpdatedAt = cur.Position, updated.Time
		after, args := afterCursor(db, cur)
		if err := db.GetContext(ctx, &s.LagEvents, db.Rebind(`SELECT COUNT(*) FROM events WHERE `+after), args...); err != nil {
			return nil, fmt.Errorf("count lag of %s: %w", c.Name, err)
		}
		if s.LagEvents > 0 {
			var oldest database.Time
			q := `SELECT recorded_at FROM events WHERE ` + after + ` ORDER BY ` + orderColumns(db) + ` LIMIT 1`
			if err := db.QueryRowxContext(ctx, db.Rebind(q), args...).Scan(&oldest); err != nil {
				return nil, fmt.Errorf("read oldest unprocessed event of %s: %w", c.Name, err)
			}
			s.LagSeconds = max(0, time.Since(oldest.Time).Seconds())
		}
		if err := db.GetContext(ctx, &s.DeadLetters, db.Rebind(`SELECT COUNT(*) FROM dead_letters WHERE consumer_group = ? AND resolved_at IS NULL`), c.Name); err != nil {
			return nil, fmt.Errorf("count dead letters of %s: %w", c.Name, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// DeadLetter is one recorded delivery failure.
type DeadLetter struct {
	ID        int64         `db:"id"`
	Consumer  string        `db:"consumer_group"`
	Position  int64         `db:"position"`
	EventID   string        `db:"event_id"`
	EventType string        `db:"event_type"`
	Stream    string        `db:"stream"`
	TenantID  string        `db:"tenant_id"`
	Error     string        `db:"error"`
	Attempts  int           `db:"attempts"`
	FailedAt  database.Time `db:"failed_at"`
}

// DeadLetters lists up to limit unresolved dead letters of a consumer ("" for all), oldest first.
func DeadLetters(ctx context.Context, db *database.DB, consumer string, limit int) ([]DeadLetter, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	var out []DeadLetter
	q := `SELECT id, consumer_group, position, event_id, event_type, stream_type || '/' || stream_id AS stream, tenant_id, error, attempts, failed_at
		FROM dead_letters WHERE resolved_at IS NULL AND (? = '' OR consumer_group = ?) ORDER BY id LIMIT ?`
	if err := db.SelectContext(ctx, &out, db.Rebind(q), consumer, consumer, limit); err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	return out, nil
}

func txSelect(db *database.DB) string {
	if db.Dialect() == database.Postgres {
		return `last_processed_transaction_id::text::bigint`
	}
	return `0`
}

func orderColumns(db *database.DB) string {
	if db.Dialect() == database.Postgres {
		return `transaction_id, position`
	}
	return `position`
}

// afterCursor is the WHERE clause selecting events after cur in consumption order.
func afterCursor(db *database.DB, cur eventstore.Cursor) (string, []any) {
	if db.Dialect() == database.Postgres {
		return `(transaction_id, position) > (CAST(? AS xid8), ?)`, []any{fmt.Sprint(cur.TxID), cur.Position}
	}
	return `position > ?`, []any{cur.Position}
}

// Reached reports whether consumer has processed the event at position (and,
// by delivery order, everything its stream had before it). A position ≤ 0 is
// always reached; a position not in the log is never reached.
func Reached(ctx context.Context, db *database.DB, consumer string, position int64) (bool, error) {
	if position <= 0 {
		return true, nil
	}
	var q string
	if db.Dialect() == database.Postgres {
		q = `SELECT EXISTS (SELECT 1 FROM consumer_offsets o JOIN events e ON e.position = ?
			WHERE o.consumer_group = ? AND (o.last_processed_transaction_id, o.offset_acked) >= (e.transaction_id, e.position))`
	} else {
		q = `SELECT EXISTS (SELECT 1 FROM consumer_offsets WHERE ? > 0 AND consumer_group = ? AND offset_acked >= ?)`
	}
	args := []any{position, consumer}
	if db.Dialect() == database.SQLite {
		args = append(args, position)
	}
	var ok bool
	if err := db.GetContext(ctx, &ok, db.Rebind(q), args...); err != nil {
		return false, fmt.Errorf("check %s reached %d: %w", consumer, position, err)
	}
	return ok, nil
}
