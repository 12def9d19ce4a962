package relay

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rustok/rustok/platform/database"
)

// Shadow tables (docs/adr/0020).
//
// A replay and a verify build their copies of a projection's tables under
// "<table>__r<generation>", the generation being base-36 digits unique to
// that run. The run holds a lock on its generation from before it creates
// the first copy until it has swapped or dropped them all, and the lock dies
// with the process however it ends: on PostgreSQL a session advisory lock on
// a connection of its own, on SQLite an flock(2) on a file next to the
// database file. So shadow tables whose generation lock is free belong to a
// run that is gone (killed, crashed) and can be dropped, and those whose lock
// is held belong to a run in progress, in this process or another, and are
// never touched.

// Shadow is one generation of shadow tables of a projection.
type Shadow struct {
	// Consumer is the projection whose tables these are copies of.
	Consumer string
	// Generation is the suffix the generation's tables share after "__".
	Generation string
	// Tables are the generation's shadow tables, sorted.
	Tables []string
	// Running reports whether the replay or verify that built them still
	// runs (holds the generation's lock). DropShadows keeps those.
	Running bool
}

// shadowUnlockTimeout bounds giving back shadow locks, which runs after
// the work's own context may have ended.
const shadowUnlockTimeout = 10 * time.Second

// shadowName matches a shadow table's suffix after its live table's name.
var shadowName = regexp.MustCompile(`^__(r[0-9a-z]+)$`)

// Shadows lists the shadow tables of consumers' read-model tables, by
// consumer and generation, and reports for each whether its replay or verify
// still runs. It drops nothing (on SQLite it removes the lock files of runs
// that are gone).
func Shadows(ctx context.Context, db *database.DB, consumers []Consumer) ([]Shadow, error) {
	return shadows(ctx, db, consumers, false)
}

// DropShadows drops the shadow tables of consumers whose replay or verify no
// longer runs (an interrupted one) and returns every shadow it found: those
// it dropped, and those of runs in progress (Running), which it kept. It is
// safe to call while replays and verifies run in this or other processes.
func DropShadows(ctx context.Context, db *database.DB, consumers []Consumer) ([]Shadow, error) {
	return shadows(ctx, db, consumers, true)
}

func shadows(ctx context.Context, db *database.DB, consumers []Consumer, drop bool) ([]Shadow, error) {
	found, err := findShadows(ctx, db, consumers)
	if err != nil {
		return nil, err
	}
	if len(found) == 0 && (!drop || db.Dialect() == database.Postgres) {
		return found, nil // nothing to lock, no stale lock file to look for
	}
	locks, err := openGenLocker(ctx, db)
	if err != nil {
		return nil, err
	}
	defer locks.Close()
	for i := range found {
		s := &found[i]
		free, err := locks.tryLock(ctx, s.Generation)
		if err != nil {
			return nil, err
		}
		s.Running = !free
		if !free {
			continue
		}
		if drop {
			err = dropTables(ctx, db, s.Tables)
		}
		if unlockErr := locks.unlock(ctx, s.Generation); err == nil {
			err = unlockErr
		}
		if err != nil {
			return nil, err
		}
	}
	if drop {
		known := make([]string, len(found))
		for i, s := range found {
			known[i] = s.Generation
		}
		if err := locks.removeStale(ctx, known); err != nil {
			return nil, err
		}
	}
	return found, nil
}

// findShadows lists the tables named "<table>__r<generation>" for the tables
// of consumers, grouped by consumer and generation, in the consumers' order.
func findShadows(ctx context.Context, db *database.DB, consumers []Consumer) ([]Shadow, error) {
	names, err := listTables(ctx, db)
	if err != nil {
		return nil, err
	}
	live := map[string]bool{}
	for _, c := range consumers {
		for _, t := range c.Tables {
			live[t] = true
		}
	}
	var out []Shadow
	for _, c := range consumers {
		byGen := map[string][]string{}
		for _, t := range c.Tables {
			for _, n := range names {
				if live[n] || !strings.HasPrefix(n, t) {
					continue
				}
				if m := shadowName.FindStringSubmatch(n[len(t):]); m != nil {
					byGen[m[1]] = append(byGen[m[1]], n)
				}
			}
		}
		for _, gen := range slices.Sorted(maps.Keys(byGen)) {
			out = append(out, Shadow{Consumer: c.Name, Generation: gen, Tables: slices.Sorted(slices.Values(byGen[gen]))})
		}
	}
	return out, nil
}

// listTables returns the names of the tables of the database (PostgreSQL:
// of the current schema).
func listTables(ctx context.Context, db *database.DB) ([]string, error) {
	var names []string
	if err := db.SelectContext(ctx, &names, catalogOf(db).tables); err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	return names, nil
}

func dropTables(ctx context.Context, db *database.DB, tables []string) error {
	return db.WithWriteGate(ctx, func() error {
		for _, t := range tables {
			if _, err := db.ExecContext(ctx, `DROP TABLE IF EXISTS `+t); err != nil {
				return fmt.Errorf("drop shadow table %s: %w", t, err)
			}
		}
		return nil
	})
}

// shadowSet is a generation of shadow tables that this process builds,
// locked from before its first table exists until release.
type shadowSet struct {
	gen    string
	tables map[string]string // live table → shadow table
	locks  *genLocker
}

// openShadow prepares a new generation of shadow tables for c: it drops the
// shadows of c's interrupted replays and verifies, then locks a fresh
// generation and names its tables (it does not create them). The caller
// must call release when its shadow tables are swapped in or dropped.
func (r *Replayer) openShadow(ctx context.Context, c Consumer) (*shadowSet, error) {
	db := r.store.DB()
	found, err := DropShadows(ctx, db, []Consumer{c})
	if err != nil {
		return nil, err
	}
	for _, s := range found {
		if s.Running {
			r.logger.Info("shadow tables of a run in progress kept", "consumer", c.Name, "generation", s.Generation, "tables", s.Tables)
		} else {
			r.logger.Info("shadow tables of an interrupted run dropped", "consumer", c.Name, "generation", s.Generation, "tables", s.Tables)
		}
	}
	locks, err := openGenLocker(ctx, db)
	if err != nil {
		return nil, err
	}
	gen := "r" + strconv.FormatInt(r.now().UnixNano(), 36)
	free, err := locks.tryLock(ctx, gen)
	if err == nil && !free {
		err = fmt.Errorf("shadow generation %s is locked by another run", gen)
	}
	if err != nil {
		_ = locks.Close()
		return nil, err
	}
	s := &shadowSet{gen: gen, tables: make(map[string]string, len(c.Tables)), locks: locks}
	for _, t := range c.Tables {
		s.tables[t] = t + "__" + gen
	}
	return s, nil
}

// release gives the generation's lock back (its tables must be gone by now:
// swapped in or dropped).
func (s *shadowSet) release() {
	ctx, cancel := context.WithTimeout(context.Background(), shadowUnlockTimeout)
	defer cancel()
	_ = s.locks.unlock(ctx, s.gen)
	_ = s.locks.Close()
}

// genLocker takes the locks that mark shadow generations as in use. Not safe
// for concurrent use.
type genLocker struct {
	// pg is a connection of its own (outside the pool, which a small
	// database.max_open_conns could exhaust) holding session advisory locks.
	pg *pgx.Conn
	// path is the SQLite database file; "" for an in-memory database, which
	// no other process can open, so that nothing needs locking.
	path  string
	files map[string]*os.File // SQLite: locked generation → its lock file
}

func openGenLocker(ctx context.Context, db *database.DB) (*genLocker, error) {
	if db.Dialect() == database.Postgres {
		conn, err := pgx.Connect(ctx, db.Target.DSN)
		if err != nil {
			return nil, fmt.Errorf("open the connection for shadow table locks: %w", err)
		}
		return &genLocker{pg: conn}, nil
	}
	l := &genLocker{files: map[string]*os.File{}}
	if p := db.Target.Path; p != ":memory:" && !strings.HasPrefix(p, "file::memory:") {
		l.path = p
	}
	return l, nil
}

// advisoryKey is the advisory lock key of a generation: schemas share the
// database's lock space, so the key names the schema too.
const advisoryKey = `hashtextextended('rustok.shadow:' || coalesce(current_schema(), '') || ':' || $1, 0)`

// tryLock takes gen's lock without waiting and reports whether it got it.
func (l *genLocker) tryLock(ctx context.Context, gen string) (bool, error) {
	if l.pg != nil {
		var ok bool
		if err := l.pg.QueryRow(ctx, `SELECT pg_try_advisory_lock(`+advisoryKey+`)`, gen).Scan(&ok); err != nil {
			return false, fmt.Errorf("lock shadow generation %s: %w", gen, err)
		}
		return ok, nil
	}
	if l.path == "" {
		return true, nil
	}
	f, ok, err := lockFile(l.lockPath(gen))
	if err != nil || !ok {
		return false, err
	}
	l.files[gen] = f
	return true, nil
}

// unlock gives back gen's lock, taken by tryLock. On SQLite it removes the
// lock file first: whoever unlocks a generation is its last user.
func (l *genLocker) unlock(ctx context.Context, gen string) error {
	if l.pg != nil {
		if _, err := l.pg.Exec(ctx, `SELECT pg_advisory_unlock(`+advisoryKey+`)`, gen); err != nil {
			return fmt.Errorf("unlock shadow generation %s: %w", gen, err)
		}
		return nil
	}
	f, ok := l.files[gen]
	if !ok {
		return nil
	}
	delete(l.files, gen)
	// Removed while still locked, so that whoever locks the file next finds
	// it gone and tries again (lockFile); no run uses this generation again.
	err := os.Remove(f.Name())
	if errors.Is(err, os.ErrNotExist) {
		err = nil
	}
	return errors.Join(err, f.Close())
}

// removeStale removes the lock files of generations that have no shadow
// tables (a run killed between taking its lock and creating its tables) and
// whose lock is free. known lists the generations that still have tables.
func (l *genLocker) removeStale(ctx context.Context, known []string) error {
	if l.pg != nil || l.path == "" {
		return nil
	}
	dir, base := filepath.Split(l.path)
	if dir == "" {
		dir = "."
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("list shadow lock files: %w", err)
	}
	prefix := base + "-shadow-"
	for _, e := range entries {
		gen, ok := strings.CutPrefix(e.Name(), prefix)
		if gen, ok = strings.CutSuffix(gen, ".lock"); !ok || !shadowName.MatchString("__"+gen) || slices.Contains(known, gen) {
			continue
		}
		free, err := l.tryLock(ctx, gen)
		if err != nil {
			return err
		}
		if free {
			if err := l.unlock(ctx, gen); err != nil {
				return err
			}
		}
	}
	return nil
}

// lockPath is the lock file of gen for an SQLite database: next to it, as
// its -wal and -shm files are.
func (l *genLocker) lockPath(gen string) string { return l.path + "-shadow-" + gen + ".lock" }

// Close releases every lock still held.
func (l *genLocker) Close() error {
	if l.pg != nil {
		ctx, cancel := context.WithTimeout(context.Background(), shadowUnlockTimeout)
		defer cancel()
		return l.pg.Close(ctx) // ends the session: its advisory locks go with it
	}
	var errs []error
	for gen, f := range l.files {
		errs = append(errs, f.Close())
		delete(l.files, gen)
	}
	return errors.Join(errs...)
}

// catalog is the SQL of shadow tables and verify that differs between SQLite
// and PostgreSQL (with ? placeholders): the one place of shadow.go and
// verify.go that knows which database it talks to. (The locks differ too, in
// genLocker.)
type catalog struct {
	// tables lists the tables of the database (PostgreSQL: of the current schema).
	tables string
	// columns lists the columns of table ? in order, as name and pk: the
	// column's position in the primary key, 0 when it is not in it.
	columns string
	// identity is an identity of table ? that changes when a replay swaps a
	// new table in under its name (PostgreSQL: its oid; SQLite: its root
	// page); 0 when there is no such table.
	identity string
	// checkpoint reads the checkpoint of consumer ?: position, transaction id.
	checkpoint string
	// text casts the column %s to text; byBytes follows a text in ORDER BY
	// to sort by its bytes, whatever the column's collation.
	text, byBytes string
	// snapshot is a read-only transaction that reads one snapshot throughout,
	// without taking a transaction id (PostgreSQL) or the write lock (SQLite:
	// a deferred BEGIN reads one WAL snapshot from its first read).
	snapshot sql.TxOptions
}

func catalogOf(db *database.DB) catalog {
	if db.Dialect() == database.Postgres {
		return catalog{
			tables: `SELECT tablename FROM pg_tables WHERE schemaname = current_schema()`,
			// indkey is 0-based.
			columns: `SELECT a.attname AS name,
				COALESCE(array_position(i.indkey::int2[], a.attnum) - array_lower(i.indkey::int2[], 1) + 1, 0) AS pk
				FROM pg_attribute a LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary
				WHERE a.attrelid = to_regclass(?) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
			identity:   `SELECT COALESCE(to_regclass(?)::oid::bigint, 0)`,
			checkpoint: `SELECT offset_acked, last_processed_transaction_id::text::bigint FROM consumer_offsets WHERE consumer_group = ?`,
			text:       `CAST(%s AS text)`,
			byBytes:    ` COLLATE "C"`,
			snapshot:   sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true},
		}
	}
	return catalog{
		tables:     `SELECT name FROM sqlite_master WHERE type = 'table'`,
		columns:    `SELECT name, pk FROM pragma_table_info(?) ORDER BY cid`,
		identity:   `SELECT COALESCE((SELECT rootpage FROM sqlite_master WHERE type = 'table' AND name = ?), 0)`,
		checkpoint: `SELECT offset_acked, 0 FROM consumer_offsets WHERE consumer_group = ?`,
		text:       `CAST(%s AS TEXT)`,
		byBytes:    ` COLLATE BINARY`,
		snapshot:   sql.TxOptions{ReadOnly: true},
	}
}
