package relay

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/platform/database"
)

// The bulk rebuild. A replay (and a verify) first rebuilds the read model
// of a Fold up to a cursor whose events are all committed, not in log order
// but stream by stream (eventstore.ReadStreams): every row then starts from
// nothing, so no row is read back, each stream's final row is written once,
// and the rows go into the empty copies as plain inserts — COPY on
// PostgreSQL, multi-row INSERTs on SQLite — in short transactions of about
// bulkChunkEvents events. Reading, folding and writing run at once, one
// goroutine each. A Fold's rows each follow their own stream, so folding
// streams one after the other gives the rows folding the log in order gives;
// rows derived from several streams (a host → tenant lookup) follow from the
// final rows, which the event store's reservations keep free of collisions.
//
// Whatever the bulk rebuild cannot do, it refuses rather than guesses: a
// batch handler that is not a Fold's, a Save that reads or deletes rows, an
// event a handler fails on (to be retried and dead-lettered), two rows with
// one key (a log that contradicts itself). The copies are then emptied and
// the rebuild starts again in log order, which handles all of these as the
// live consumer does.

// errNotBulk is returned when a batch handler does what the bulk rebuild
// cannot (read rows, delete rows, run its own statements).
var errNotBulk = errors.New("relay: the batch handler reads, deletes or runs its own statements; rebuilt in log order")

// bulkChunkEvents is about how many events a bulk rebuild folds before it
// writes their rows in one transaction: a chunk ends where a stream does.
const bulkChunkEvents = 8192

// bulkMaxChunkEvents cuts a chunk inside a stream that long: the next chunk
// then continues that stream, and is applied the ordinary way (its first
// stream's row read back from the copy).
const bulkMaxChunkEvents = 4 * bulkChunkEvents

// bulkChunk is a run of whole streams (but the first, when continues, and
// the last may be cut) in stream order.
type bulkChunk struct {
	events []eventstore.Event
	// n is the number of events (events is dropped once folded).
	n int
	// continues is set when the first stream has events in the chunk before.
	continues bool
	// rows are the rows the fold of a chunk that does not continue wrote.
	rows *collector
}

// rebuildTo fills the copies (tables) from the start of the log up to and
// including until, whose events must all be committed (a VisibleEnd or a
// checkpoint): in bulk when the consumer allows it (a Fold), else — or when
// the bulk rebuild gives up — in log order. It reports whether the bulk
// rebuild did it. progress gets the count of each piece done, and a
// negative count when the bulk rebuild's work is thrown away.
func (r *Replayer) rebuildTo(ctx context.Context, db *database.DB, a *applier, tables map[string]string, until eventstore.Cursor, batch int, progress func(int64)) (bulk bool, err error) {
	// Reading, writing and a continued stream take a connection each.
	if n := db.Stats().MaxOpenConnections; a.consumer.Batch.Fresh != nil && (n == 0 || n >= 3) {
		var done int64
		err := r.bulkFill(ctx, db, a, tables, until, func(n int64) {
			done += n
			progress(n)
		})
		if err == nil {
			return true, nil
		}
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		r.logger.WarnContext(ctx, "bulk rebuild gave up; rebuilding in log order", "consumer", a.consumer.Name, "error", err)
		progress(-done)
		r.dropCopies(db, tables)
		if err := r.createCopies(ctx, db, tables); err != nil {
			return false, err
		}
	}
	_, err = r.fill(ctx, db, a, tables, eventstore.Cursor{}, &until, batch, progress)
	return false, err
}

// bulkFill is the bulk rebuild (see the top of this file).
func (r *Replayer) bulkFill(ctx context.Context, db *database.DB, a *applier, tables map[string]string, until eventstore.Cursor, progress func(int64)) error {
	types := slices.Sorted(maps.Keys(a.types))
	g, gctx := errgroup.WithContext(ctx)
	read := make(chan bulkChunk, 1)
	folded := make(chan bulkChunk, 1)
	g.Go(func() error {
		defer close(read)
		return r.readChunks(gctx, until, types, read)
	})
	g.Go(func() error {
		defer close(folded)
		for ch := range read {
			if !ch.continues {
				ch.rows = &collector{byName: map[string]*collected{}}
				htx := &Tx{dialect: a.dialect, tables: tables, collect: ch.rows}
				if err := callBatch(gctx, a.consumer.Batch.Fresh, htx, ch.events); err != nil {
					return err
				}
				ch.events = nil
			}
			select {
			case folded <- ch:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	g.Go(func() error {
		return r.writeChunks(gctx, db, a, tables, folded, progress)
	})
	return g.Wait()
}

// readChunks reads the handled events up to until in stream order and sends
// them in chunks.
func (r *Replayer) readChunks(ctx context.Context, until eventstore.Cursor, types []string, out chan<- bulkChunk) error {
	cur := bulkChunk{events: make([]eventstore.Event, 0, r.chunk)}
	send := func(continues bool) error {
		cur.n = len(cur.events)
		select {
		case out <- cur:
		case <-ctx.Done():
			return ctx.Err()
		}
		cur = bulkChunk{events: make([]eventstore.Event, 0, r.chunk), continues: continues}
		return nil
	}
	err := r.store.ReadStreams(ctx, until, types, func(e eventstore.Event) error {
		if n := len(cur.events); n >= r.chunk {
			prev := cur.events[n-1].Stream
			same := prev.Type == e.Stream.Type && prev.ID == e.Stream.ID
			if !same || n >= r.maxChunk {
				if err := send(same); err != nil {
					return err
				}
			}
		}
		cur.events = append(cur.events, e)
		return nil
	})
	if err != nil {
		return err
	}
	if len(cur.events) > 0 {
		return send(false)
	}
	return nil
}

// writeChunks writes each folded chunk in its own transaction, in order.
func (r *Replayer) writeChunks(ctx context.Context, db *database.DB, a *applier, tables map[string]string, in <-chan bulkChunk, progress func(int64)) error {
	each := func(insert func(*collector) error) error {
		for ch := range in {
			var err error
			if ch.continues {
				err = r.applyContinuing(ctx, db, a, tables, ch.events)
			} else {
				err = insert(ch.rows)
			}
			if err != nil {
				return err
			}
			progress(int64(ch.n))
		}
		return ctx.Err()
	}
	if db.Dialect() == database.Postgres {
		// COPY needs the pgx connection itself: one, held for the whole run.
		return db.WithPgConn(ctx, func(conn *pgx.Conn) error {
			return each(func(rows *collector) error { return copyRows(ctx, conn, rows) })
		})
	}
	return each(func(rows *collector) error { return r.insertRows(ctx, db, a, rows) })
}

// applyContinuing applies a chunk whose first stream was cut the ordinary
// way (the Fold reads that stream's row back), in one transaction. A
// failure gives the bulk rebuild up: the events are in stream order, which
// the careful path (splitting by consumption order) does not expect.
func (r *Replayer) applyContinuing(ctx context.Context, db *database.DB, a *applier, tables map[string]string, evs []eventstore.Event) error {
	tx, err := db.BeginWrite(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	htx := &Tx{tx: tx.Tx, dialect: a.dialect, tables: tables, types: a.columns}
	if err := callBatch(ctx, a.handle, htx, evs); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit rebuild chunk: %w", err)
	}
	return nil
}

// copyRows writes the collected rows with COPY, in one transaction.
func copyRows(ctx context.Context, conn *pgx.Conn, rows *collector) error {
	if rows.count == 0 {
		return nil
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin rebuild chunk: %w", err)
	}
	defer tx.Rollback(ctx)
	for _, t := range rows.tables {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{t.table}, t.columns, pgx.CopyFromRows(t.rows)); err != nil {
			return fmt.Errorf("copy %d rows into %s: %w", len(t.rows), t.table, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit rebuild chunk: %w", err)
	}
	return nil
}

// insertRows writes the collected rows with multi-row INSERTs (SQLite), in
// one transaction.
func (r *Replayer) insertRows(ctx context.Context, db *database.DB, a *applier, rows *collector) error {
	if rows.count == 0 {
		return nil
	}
	tx, err := db.BeginWrite(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	htx := &Tx{tx: tx.Tx, dialect: a.dialect}
	for _, t := range rows.tables {
		head := "INSERT INTO " + t.table + " (" + strings.Join(t.columns, ", ") + ") VALUES "
		if err := htx.execValues(ctx, head, "", len(t.columns), len(t.rows), t.rows); err != nil {
			return fmt.Errorf("insert %d rows into %s: %w", len(t.rows), t.table, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit rebuild chunk: %w", err)
	}
	return nil
}

// collector keeps the rows the Save of a bulk rebuild upserts, by physical
// table, in the order first written.
type collector struct {
	tables []*collected
	byName map[string]*collected
	count  int
}

// collected are the rows of one table.
type collected struct {
	table   string
	columns []string
	rows    [][]any
}

// add keeps the rows of writes (each with rows). A delete is refused: the
// copies hold no row a fresh stream's fold could delete.
func (c *collector) add(t *Tx, writes []Write) error {
	for _, w := range writes {
		if w.upsert == nil {
			return errNotBulk
		}
		table := t.Table(w.upsert.Table)
		ct := c.byName[table]
		if ct == nil {
			ct = &collected{table: table, columns: slices.Clone(w.upsert.Columns)}
			c.byName[table] = ct
			c.tables = append(c.tables, ct)
		} else if !slices.Equal(ct.columns, w.upsert.Columns) {
			return fmt.Errorf("%w: upserts into %s with other columns", errNotBulk, table)
		}
		for i, row := range w.rows {
			if len(row) != len(ct.columns) {
				return fmt.Errorf("row %d has %d values, want %d", i, len(row), len(ct.columns))
			}
		}
		ct.rows = append(ct.rows, w.rows...)
		c.count += len(w.rows)
	}
	return nil
}
