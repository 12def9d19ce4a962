package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/platform/database"
)

// ErrReactorReplay is returned when a reactor is replayed without IncludeReactors.
var ErrReactorReplay = errors.New("reactors are not replayed unless asked (they would repeat side effects)")

// ReplayOptions tune one replay.
type ReplayOptions struct {
	// BatchSize is how many events each short rebuild transaction applies (default 1000).
	BatchSize int
	// Progress, if set, is called after each batch with events done and the
	// total expected (the log's event count when the replay started).
	Progress func(done, total int64)
	// IncludeReactors allows replaying a reactor: its checkpoint is reset to
	// the start of the log, so it acts on every event again.
	IncludeReactors bool
}

// ReplayResult summarises a replay.
type ReplayResult struct {
	// Events is how many events were applied: in a bulk rebuild those of
	// the types the consumer handles, else every event read.
	Events   int64
	Duration time.Duration
	// Position is the checkpoint the rebuilt consumer continues from.
	Position int64
	// Bulk reports that the log up to its end when the replay started was
	// rebuilt in bulk, stream by stream (see rebuild.go), not in log order.
	Bulk bool
}

// Replayer rebuilds projections from the log.
type Replayer struct {
	store   *eventstore.Store
	cfg     Config
	logger  *slog.Logger
	metrics *Metrics
	now     func() time.Time
	// chunk and maxChunk size the bulk rebuild's chunks (bulkChunkEvents,
	// bulkMaxChunkEvents; tests make them small).
	chunk, maxChunk int
}

// NewReplayer returns a Replayer that follows cfg's retry and dead-letter policy.
func NewReplayer(store *eventstore.Store, cfg Config, logger *slog.Logger, metrics *Metrics) (*Replayer, error) {
	cfg.setDefaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if metrics == nil {
		var err error
		if metrics, err = NewMetrics(nil); err != nil {
			return nil, err
		}
	}
	return &Replayer{store: store, cfg: cfg, logger: logger, metrics: metrics, now: time.Now,
		chunk: bulkChunkEvents, maxChunk: bulkMaxChunkEvents}, nil
}

// Replay rebuilds c from position 0, blue/green: every table of c is copied
// empty under a fresh name, the whole log is applied to the copies in many
// short transactions while the live tables keep serving (and the live
// consumer keeps updating them), and at the end one short transaction locks
// the consumer's checkpoint, applies the last events, swaps the tables and
// moves the checkpoint. Queries never see an empty or half-built read model.
// On error or cancellation the copies are dropped and nothing changes. A
// replay first drops the shadow tables that interrupted replays and verifies
// of c left behind, never those of a run in progress (see DropShadows).
func (r *Replayer) Replay(ctx context.Context, c Consumer, opts ReplayOptions) (ReplayResult, error) {
	if err := c.validate(); err != nil {
		return ReplayResult{}, err
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 1000
	}
	start := time.Now()
	if c.Kind == KindReactor {
		if !opts.IncludeReactors {
			return ReplayResult{}, fmt.Errorf("replay %s: %w", c.Name, ErrReactorReplay)
		}
		return ReplayResult{Duration: time.Since(start)}, r.resetCheckpoint(ctx, c.Name)
	}
	db := r.store.DB()
	shadow, err := r.openShadow(ctx, c) // drops the shadows of interrupted runs of c
	if err != nil {
		return ReplayResult{}, fmt.Errorf("replay %s: %w", c.Name, err)
	}
	defer shadow.release()
	tables := shadow.tables
	if err := r.createCopies(ctx, db, tables); err != nil {
		r.dropCopies(db, tables)
		return ReplayResult{}, fmt.Errorf("replay %s: %w", c.Name, err)
	}
	res, err := r.rebuild(ctx, db, c, tables, opts)
	if err != nil {
		r.dropCopies(db, tables)
		return ReplayResult{}, fmt.Errorf("replay %s: %w", c.Name, err)
	}
	res.Duration = time.Since(start)
	r.logger.Info("replay finished", "consumer", c.Name, "events", res.Events, "duration", res.Duration, "position", res.Position)
	return res, nil
}

func (r *Replayer) applier(c Consumer) *applier {
	return newApplier(c, r.store, r.cfg.policy(), r.logger, r.metrics.Errors.WithLabelValues(c.Name), r.now)
}

func (r *Replayer) rebuild(ctx context.Context, db *database.DB, c Consumer, tables map[string]string, opts ReplayOptions) (ReplayResult, error) {
	a := r.applier(c)
	var total int64
	if opts.Progress != nil { // a scan of the log, for the progress alone
		// Out of the events a bulk rebuild applies, those of the consumer's
		// types; out of every event for a rebuild in log order.
		q, args := `SELECT COUNT(*) FROM events`, []any(nil)
		if c.Batch.Fresh != nil {
			var err error
			if q, args, err = sqlx.In(q+` WHERE event_type IN (?)`, slices.Sorted(maps.Keys(a.types))); err != nil {
				return ReplayResult{}, fmt.Errorf("count events: %w", err)
			}
		}
		if err := db.GetContext(ctx, &total, db.Rebind(q), args...); err != nil {
			return ReplayResult{}, fmt.Errorf("count events: %w", err)
		}
	}
	var res ReplayResult
	progress := func(n int64) {
		res.Events += n
		if opts.Progress != nil {
			opts.Progress(res.Events, max(total, res.Events))
		}
	}
	// The bulk of the log, up to what is committed now, then what came
	// meanwhile in log order.
	end, err := r.store.VisibleEnd(ctx)
	if err != nil {
		return res, err
	}
	if res.Bulk, err = r.rebuildTo(ctx, db, a, tables, end, opts.BatchSize, progress); err != nil {
		return res, err
	}
	cur, err := r.fill(ctx, db, a, tables, end, nil, opts.BatchSize, progress)
	if err != nil {
		return res, err
	}
	n, pos, err := r.swap(ctx, db, a, c, tables, cur, opts.BatchSize)
	if err != nil {
		return res, err
	}
	res.Events += n
	res.Position = pos
	if opts.Progress != nil {
		opts.Progress(res.Events, res.Events)
	}
	return res, nil
}

// fill applies the events after from, in consumption order, to the shadow
// tables in short transactions of batch events (the write path of a rebuild),
// and returns the cursor of the last event applied (from if none). With
// until set it stops after the last event at or before until; without, at
// the visible end of the log. progress, if set, gets the count of each batch.
func (r *Replayer) fill(ctx context.Context, db *database.DB, a *applier, tables map[string]string, from eventstore.Cursor, until *eventstore.Cursor, batch int, progress func(n int64)) (eventstore.Cursor, error) {
	cur := from
	for {
		evs, err := r.store.ReadAll(ctx, cur, batch)
		if err != nil {
			return cur, err
		}
		if until != nil {
			if i := slices.IndexFunc(evs, func(e eventstore.Event) bool { return cursorAfter(e.Cursor(), *until) }); i >= 0 {
				evs = evs[:i]
			}
		}
		if len(evs) == 0 {
			return cur, nil
		}
		if err := r.applyBatch(ctx, db, a, tables, evs); err != nil {
			return cur, err
		}
		cur = evs[len(evs)-1].Cursor()
		if progress != nil {
			progress(int64(len(evs)))
		}
	}
}

func (r *Replayer) applyBatch(ctx context.Context, db *database.DB, a *applier, tables map[string]string, evs []eventstore.Event) error {
	for {
		err := r.applyBatchOnce(ctx, db, a, tables, evs)
		if !errors.Is(err, errRedoCarefully) {
			return err
		}
	}
}

func (r *Replayer) applyBatchOnce(ctx context.Context, db *database.DB, a *applier, tables map[string]string, evs []eventstore.Event) error {
	tx, err := db.BeginWrite(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := a.applyBatch(ctx, tx.Tx, tables, evs); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit rebuild batch: %w", err)
	}
	return nil
}

// swap catches up and exchanges the tables in one transaction that holds the
// consumer's checkpoint row, so the live subscriber is paused just for it.
func (r *Replayer) swap(ctx context.Context, db *database.DB, a *applier, c Consumer, tables map[string]string, cur eventstore.Cursor, batch int) (int64, int64, error) {
	for {
		n, pos, err := r.swapOnce(ctx, db, a, c, tables, cur, batch)
		if !errors.Is(err, errRedoCarefully) {
			return n, pos, err
		}
	}
}

func (r *Replayer) swapOnce(ctx context.Context, db *database.DB, a *applier, c Consumer, tables map[string]string, cur eventstore.Cursor, batch int) (int64, int64, error) {
	tx, err := db.BeginWrite(ctx, nil)
	if err != nil {
		return 0, 0, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO consumer_offsets (consumer_group) VALUES (?) ON CONFLICT DO NOTHING`), c.Name); err != nil {
		return 0, 0, fmt.Errorf("ensure checkpoint: %w", err)
	}
	if err := lockGroup(ctx, tx, c.Name); err != nil {
		return 0, 0, err
	}
	var n int64
	for {
		evs, err := r.store.ReadAllWith(ctx, tx.Tx, cur, batch)
		if err != nil {
			return 0, 0, err
		}
		if len(evs) == 0 {
			break
		}
		if err := a.applyBatch(ctx, tx.Tx, tables, evs); err != nil {
			return 0, 0, err
		}
		n += int64(len(evs))
		cur = evs[len(evs)-1].Cursor()
	}
	lives := slices.Sorted(maps.Keys(tables))
	if db.Dialect() == database.Postgres {
		if err := lockForSwap(ctx, tx, lives); err != nil {
			return 0, 0, err
		}
	}
	for _, live := range lives {
		fresh := tables[live]
		if db.Dialect() == database.Postgres {
			if err := moveSequences(ctx, tx, live, fresh); err != nil {
				return 0, 0, err
			}
		}
		old := live + "__old"
		for _, q := range []string{
			`DROP TABLE IF EXISTS ` + old,
			`ALTER TABLE ` + live + ` RENAME TO ` + old,
			`ALTER TABLE ` + fresh + ` RENAME TO ` + live,
			`DROP TABLE ` + old,
		} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return 0, 0, fmt.Errorf("swap %s: %s: %w", live, q, err)
			}
		}
	}
	if err := setCheckpoint(ctx, tx, c.Name, cur); err != nil {
		return 0, 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, 0, fmt.Errorf("commit swap: %w", err)
	}
	return n, cur.Position, nil
}

// lockForSwap takes ACCESS EXCLUSIVE locks on every live table at once, with
// a short lock_timeout, retrying with back-off. A reader whose one statement
// touches two of the tables (a join) could otherwise hold one and wait for the
// other while the swap holds the second: a deadlock PostgreSQL breaks by
// failing the reader. Giving up and retrying, the swap never holds a lock
// while it waits long, so readers only wait a few milliseconds, never fail.
func lockForSwap(ctx context.Context, tx *database.WriteTx, lives []string) error {
	stmt := `LOCK TABLE ` + strings.Join(lives, ", ") + ` IN ACCESS EXCLUSIVE MODE`
	for attempt := 1; ; attempt++ {
		if _, err := tx.ExecContext(ctx, `SAVEPOINT swap_lock`); err != nil {
			return fmt.Errorf("lock tables for swap: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `SET LOCAL lock_timeout = '50ms'`); err != nil {
			return fmt.Errorf("lock tables for swap: %w", err)
		}
		_, err := tx.ExecContext(ctx, stmt)
		if err == nil {
			_, err = tx.ExecContext(ctx, `RELEASE SAVEPOINT swap_lock`)
			return err
		}
		var pgErr interface{ SQLState() string }
		if !errors.As(err, &pgErr) || pgErr.SQLState() != "55P03" || attempt >= 100 {
			return fmt.Errorf("lock tables for swap: %w", err)
		}
		// lock_not_available: let the readers finish, then try again.
		if _, rbErr := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT swap_lock`); rbErr != nil {
			return fmt.Errorf("lock tables for swap: %w", rbErr)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(min(attempt, 10)) * 5 * time.Millisecond):
		}
	}
}

// moveSequences hands the serial sequences owned by live over to fresh: the
// copy made with LIKE … INCLUDING ALL shares them, and dropping live would
// otherwise drop them too.
func moveSequences(ctx context.Context, tx *database.WriteTx, live, fresh string) error {
	var owned []struct {
		Column   string `db:"attname"`
		Sequence string `db:"seq"`
	}
	q := `SELECT a.attname, pg_get_serial_sequence($1, a.attname) AS seq FROM pg_attribute a
		WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
		  AND pg_get_serial_sequence($1, a.attname) IS NOT NULL`
	if err := tx.SelectContext(ctx, &owned, q, live); err != nil {
		return fmt.Errorf("find sequences of %s: %w", live, err)
	}
	for _, o := range owned {
		if _, err := tx.ExecContext(ctx, `ALTER SEQUENCE `+o.Sequence+` OWNED BY `+fresh+`.`+o.Column); err != nil {
			return fmt.Errorf("move sequence %s to %s: %w", o.Sequence, fresh, err)
		}
	}
	return nil
}

func setCheckpoint(ctx context.Context, tx *database.WriteTx, consumer string, cur eventstore.Cursor) error {
	var err error
	if tx.DriverName() == "pgx" {
		_, err = tx.ExecContext(ctx, `UPDATE consumer_offsets SET offset_acked = $1, last_processed_transaction_id = CAST($2 AS xid8), updated_at = now() WHERE consumer_group = $3`,
			cur.Position, strconv.FormatUint(cur.TxID, 10), consumer)
	} else {
		_, err = tx.ExecContext(ctx, `UPDATE consumer_offsets SET offset_acked = ?, updated_at = ? WHERE consumer_group = ?`,
			cur.Position, database.FormatTime(time.Now()), consumer)
	}
	if err != nil {
		return fmt.Errorf("set checkpoint of %s: %w", consumer, err)
	}
	return nil
}

func (r *Replayer) resetCheckpoint(ctx context.Context, consumer string) error {
	tx, err := r.store.DB().BeginWrite(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := lockGroup(ctx, tx, consumer); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO consumer_offsets (consumer_group) VALUES (?) ON CONFLICT DO NOTHING`), consumer); err != nil {
		return fmt.Errorf("ensure checkpoint: %w", err)
	}
	if err := setCheckpoint(ctx, tx, consumer, eventstore.Cursor{}); err != nil {
		return err
	}
	return tx.Commit()
}

// createCopies creates an empty copy of each live table (columns, defaults,
// constraints and indexes) under its fresh name.
func (r *Replayer) createCopies(ctx context.Context, db *database.DB, tables map[string]string) error {
	for live, fresh := range tables {
		if db.Dialect() == database.Postgres {
			if _, err := db.ExecContext(ctx, `CREATE TABLE `+fresh+` (LIKE `+live+` INCLUDING ALL)`); err != nil {
				return fmt.Errorf("copy table %s: %w", live, err)
			}
			continue
		}
		if err := copySQLiteTable(ctx, db, live, fresh); err != nil {
			return err
		}
	}
	return nil
}

var (
	sqliteCreateTable = regexp.MustCompile(`(?is)^\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?"?[A-Za-z0-9_]+"?`)
	sqliteCreateIndex = regexp.MustCompile(`(?is)^\s*CREATE\s+(UNIQUE\s+)?INDEX\s+(?:IF\s+NOT\s+EXISTS\s+)?"?([A-Za-z0-9_]+)"?\s+ON\s+"?[A-Za-z0-9_]+"?`)
	generationSuffix  = regexp.MustCompile(`__r[0-9a-z]+$`)
)

// copySQLiteTable recreates live's DDL (from sqlite_master) under fresh; index
// names get the fresh table's generation suffix so they stay unique.
func copySQLiteTable(ctx context.Context, db *database.DB, live, fresh string) error {
	var defs []struct {
		Type string `db:"type"`
		SQL  string `db:"sql"`
	}
	if err := db.SelectContext(ctx, &defs, `SELECT type, sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL ORDER BY type DESC`, live); err != nil {
		return fmt.Errorf("read schema of %s: %w", live, err)
	}
	if len(defs) == 0 || defs[0].Type != "table" {
		return fmt.Errorf("table %s does not exist", live)
	}
	suffix := fresh[strings.LastIndex(fresh, "__"):]
	for _, d := range defs {
		var stmt string
		switch d.Type {
		case "table":
			stmt = sqliteCreateTable.ReplaceAllString(d.SQL, `CREATE TABLE `+fresh)
		case "index":
			m := sqliteCreateIndex.FindStringSubmatch(d.SQL)
			if m == nil {
				return fmt.Errorf("cannot copy index of %s: %s", live, d.SQL)
			}
			name := generationSuffix.ReplaceAllString(m[2], "") + suffix
			stmt = sqliteCreateIndex.ReplaceAllString(d.SQL, `CREATE `+m[1]+`INDEX `+name+` ON `+fresh)
		default:
			continue
		}
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("copy %s of %s: %w", d.Type, live, err)
		}
	}
	return nil
}

func (r *Replayer) dropCopies(db *database.DB, tables map[string]string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, fresh := range tables {
		if _, err := db.ExecContext(ctx, `DROP TABLE IF EXISTS `+fresh); err != nil {
			r.logger.Warn("replay: drop table copy", "table", fresh, "error", err)
		}
	}
}
