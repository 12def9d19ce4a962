// Package migrations holds the schema of both dialects as golang-migrate SQL
// files embedded in the binary, and applies them so that a crash at any
// instant leaves a database the next start migrates without help.
//
// The files, their names and golang-migrate's version table
// (schema_migrations: version, dirty) are golang-migrate's; the files are
// read through its io/fs source. The runner is this package's own: it
// applies each up file and its version mark in one transaction (golang-migrate
// marks the version dirty, runs the file, then clears the mark, three
// commits a crash can separate), holds a PostgreSQL advisory lock around a
// whole run so that concurrent starts migrate once, and verifies and repairs
// a dirty mark left by an older binary or by a no-transaction file. See
// docs/adr/0019-crash-safe-migrations.md.
//
// A file whose statements cannot run in a transaction (PostgreSQL's CREATE
// INDEX CONCURRENTLY) carries the line "-- rustok:no-transaction" and holds
// only idempotent index statements; the runner marks its version dirty, runs
// it statement by statement, and clears the mark; after a crash, the next run
// drops the invalid indexes it left and runs it again.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"time"

	"github.com/rustok/rustok/platform/database"
)

//go:embed postgres/*.sql sqlite/*.sql
var files embed.FS

// ErrDirty is matched (errors.Is) by the errors about a dirty schema mark
// that the runner cannot repair safely by itself.
var ErrDirty = errors.New("database schema is dirty")

// ErrUnknownVersion is matched by the error of Force for a version that
// this binary has no migration of.
var ErrUnknownVersion = errors.New("unknown schema version")

// Status is where a database's schema stands.
type Status struct {
	// Version is the applied version, 0 when none is.
	Version uint
	// Dirty reports whether a migration of Version was interrupted (see Up).
	Dirty bool
	// Latest is the newest version embedded in this binary.
	Latest uint
}

// Options configure a Runner.
type Options struct {
	// Files holds the migration files, one folder per dialect ("sqlite",
	// "postgres"), named as golang-migrate names them. Default: the files
	// embedded in the binary. Tests give their own sets.
	Files fs.FS
	// Logger receives a line per migration applied and per dirty mark
	// repaired. Default: none.
	Logger *slog.Logger
}

// Runner applies the migrations of one database. Its methods open their
// own connection and close it before they return; a Runner is safe for
// concurrent use, and so are several Runners (or processes) on one database.
type Runner struct {
	target     database.Target
	raw        string
	dialect    dialect
	migrations []migration
	logger     *slog.Logger
}

// NewRunner returns a Runner for the database at raw (a database.url) with
// the embedded migrations.
func NewRunner(raw string) (*Runner, error) {
	return New(raw, Options{})
}

// New returns a Runner for the database at raw (a database.url). It reads
// and checks the migration files of the URL's dialect, and returns an error
// naming the file that breaks a rule (see the package documentation).
func New(raw string, opts Options) (*Runner, error) {
	t, err := database.Parse(raw)
	if err != nil {
		return nil, err
	}
	if opts.Files == nil {
		opts.Files = files
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	all, err := load(opts.Files, t.Dialect)
	if err != nil {
		return nil, err
	}
	return &Runner{target: t, raw: raw, dialect: dialectOf(t.Dialect), migrations: all, logger: opts.Logger}, nil
}

// Latest returns the newest version the Runner has a migration of.
func (r *Runner) Latest() uint { return r.migrations[len(r.migrations)-1].version }

// Up applies every pending migration, each up file with its version mark in
// one transaction, so that a crash leaves the old version or the new one.
// It holds the PostgreSQL migration lock throughout (on SQLite each step
// holds the write lock), so that concurrent Ups apply each migration once.
//
// A dirty mark it finds is verified and repaired first when that is safe:
// a transactional migration whose objects all exist is marked applied, one
// whose objects are all missing is applied again, a no-transaction one is
// run again. Otherwise Up changes nothing and returns an error matching
// ErrDirty, one sentence naming the command to run (`rustok migrate
// force`). It returns nil when there is nothing to do, and an error for a
// database at a version this binary does not know.
func (r *Runner) Up(ctx context.Context) error {
	return r.locked(ctx, func(conn *sql.Conn) error {
		for {
			done, err := r.upStep(ctx, conn)
			if err != nil || done {
				return err
			}
		}
	})
}

// upStep does one step of Up in a transaction of its own: one dirty-mark
// repair or one migration. It reports whether nothing is left to do.
func (r *Runner) upStep(ctx context.Context, conn *sql.Conn) (done bool, err error) {
	tx, err := conn.BeginTx(ctx, nil) // SQLite: BEGIN IMMEDIATE (the DSN's _txlock), the write lock
	if err != nil {
		return false, fmt.Errorf("migrate up: begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, r.dialect.createVersionTable); err != nil {
		return false, fmt.Errorf("migrate up: create the %s table: %w", versionTable, err)
	}
	v, dirty, err := r.dialect.readVersion(ctx, tx)
	if err != nil {
		return false, fmt.Errorf("migrate up: %w", err)
	}
	if dirty {
		return false, r.repair(ctx, conn, tx, v)
	}
	i, known := r.index(v)
	if !known {
		return false, fmt.Errorf("database schema version %d is not one this rustok knows (latest %d): run the rustok that wrote it, or a newer one", v, r.Latest())
	}
	if i+1 == len(r.migrations) {
		return true, nil
	}
	m := r.migrations[i+1]
	if m.up.noTx {
		_ = tx.Rollback()
		return false, r.applyNoTx(ctx, conn, m, "apply")
	}
	start := time.Now()
	if _, err := tx.ExecContext(ctx, m.up.body); err != nil {
		return false, fmt.Errorf("apply migration %d (%s), rolled back: %w", m.version, m.name, err)
	}
	if err := r.dialect.writeVersion(ctx, tx, int64(m.version), false); err != nil {
		return false, fmt.Errorf("apply migration %d (%s): %w", m.version, m.name, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("apply migration %d (%s): commit: %w", m.version, m.name, err)
	}
	r.logger.Info("migration applied", "version", m.version, "name", m.name, "duration", time.Since(start).Round(time.Microsecond))
	return false, nil
}

// repair judges the dirty mark at version v (read in tx) and acts on it.
func (r *Runner) repair(ctx context.Context, conn *sql.Conn, tx *sql.Tx, v int64) error {
	st, err := r.dirtyState(ctx, tx, v)
	if err != nil {
		return fmt.Errorf("verify the dirty schema mark at version %d: %w", max(v, 0), err)
	}
	action, refusal := decideRepair(st)
	log := r.logger.With("dirty_version", st.version, "action", action.String())
	var to uint
	switch action {
	case repairRefuse:
		return refusal
	case repairRerun:
		_ = tx.Rollback()
		i, _ := r.index(v)
		log.Warn("an interrupted no-transaction migration is run again")
		return r.applyNoTx(ctx, conn, r.migrations[i], "repair")
	case repairMarkThis:
		to = st.version
	case repairMarkPrev:
		to = st.prev
	case repairMarkNext:
		to = st.nextVersion
	}
	if err := r.dialect.writeVersion(ctx, tx, markOf(to), false); err != nil {
		return fmt.Errorf("repair the dirty schema mark at version %d: %w", st.version, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("repair the dirty schema mark at version %d: commit: %w", st.version, err)
	}
	log.Warn("repaired the dirty schema mark of an interrupted migration", "version", to)
	return nil
}

// dirtyState gathers what decideRepair needs about a dirty mark at v.
func (r *Runner) dirtyState(ctx context.Context, q querier, v int64) (dirtyState, error) {
	st := dirtyState{version: uint(max(v, 0))}
	if v <= 0 { // golang-migrate's dirty nil version: the first down was interrupted
		st.known, st.this = true, presenceAll
		if len(r.migrations) > 0 {
			st.hasNext, st.nextVersion = true, r.migrations[0].version
			p, missing, err := r.presence(ctx, q, r.migrations[0])
			if err != nil {
				return st, err
			}
			st.next, st.nextMissing = p, missing
		}
		return st, nil
	}
	i, known := r.index(v)
	if !known {
		return st, nil
	}
	m := r.migrations[i]
	st.known, st.noTx = true, m.up.noTx
	if i > 0 {
		st.prev = r.migrations[i-1].version
	}
	var err error
	if st.this, st.missing, err = r.presence(ctx, q, m); err != nil {
		return st, err
	}
	if i+1 < len(r.migrations) {
		next := r.migrations[i+1]
		st.hasNext, st.nextVersion = true, next.version
		if st.next, st.nextMissing, err = r.presence(ctx, q, next); err != nil {
			return st, err
		}
	}
	return st, nil
}

// presence looks for the objects m creates.
func (r *Runner) presence(ctx context.Context, q querier, m migration) (presence, []string, error) {
	if len(m.objects) == 0 {
		return presenceUnknown, nil, nil
	}
	var found int
	var missing []string
	for _, o := range m.objects {
		ok, err := r.dialect.exists(ctx, q, o)
		if err != nil {
			return 0, nil, err
		}
		if ok {
			found++
		} else {
			missing = append(missing, o.String())
		}
	}
	switch found {
	case len(m.objects):
		return presenceAll, nil, nil
	case 0:
		return presenceNone, nil, nil
	}
	return presencePartial, missing, nil
}

// applyNoTx runs the up file of a no-transaction migration (PostgreSQL):
// it marks the version dirty, drops the indexes of the file that an
// interrupted CREATE INDEX CONCURRENTLY left invalid (so that IF NOT EXISTS
// does not keep them), runs the statements one by one, and clears the mark.
// Its statements are idempotent (load checks it), so after a crash at any
// point the next run completes it. what is "apply" or "repair", for errors.
func (r *Runner) applyNoTx(ctx context.Context, conn *sql.Conn, m migration, what string) error {
	start := time.Now()
	if err := r.markOutsideTx(ctx, conn, int64(m.version), true); err != nil {
		return fmt.Errorf("%s migration %d (%s): %w", what, m.version, m.name, err)
	}
	if err := r.dropInvalidIndexes(ctx, conn, indexesCreated(m.up.stmts)); err != nil {
		return fmt.Errorf("%s migration %d (%s): %w", what, m.version, m.name, err)
	}
	for i, stmt := range m.up.stmts {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("%s migration %d (%s), statement %d, which runs outside a transaction, so the schema stays marked dirty and the next `rustok migrate up` runs it again: %w", what, m.version, m.name, i+1, err)
		}
	}
	if err := r.markOutsideTx(ctx, conn, int64(m.version), false); err != nil {
		return fmt.Errorf("%s migration %d (%s): %w", what, m.version, m.name, err)
	}
	r.logger.Info("migration applied outside a transaction", "version", m.version, "name", m.name, "duration", time.Since(start).Round(time.Microsecond))
	return nil
}

// dropInvalidIndexes drops each named index that exists but is invalid.
func (r *Runner) dropInvalidIndexes(ctx context.Context, conn *sql.Conn, names []string) error {
	if r.dialect.invalidIndex == "" {
		return nil
	}
	for _, name := range names {
		var n int
		if err := conn.QueryRowContext(ctx, r.dialect.invalidIndex, name).Scan(&n); err != nil {
			return fmt.Errorf("look for an invalid index %s: %w", name, err)
		}
		if n == 0 {
			continue
		}
		if _, err := conn.ExecContext(ctx, `DROP INDEX CONCURRENTLY IF EXISTS `+quoteIdent(name)); err != nil {
			return fmt.Errorf("drop the invalid index %s left by an interrupted build: %w", name, err)
		}
		r.logger.Warn("dropped an invalid index left by an interrupted migration", "index", name)
	}
	return nil
}

// markOutsideTx writes the version mark in a transaction of its own.
func (r *Runner) markOutsideTx(ctx context.Context, conn *sql.Conn, version int64, dirty bool) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := r.dialect.writeVersion(ctx, tx, version, dirty); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit schema version %d: %w", version, err)
	}
	return nil
}

// Down reverts the last n migrations (n ≥ 1), each down file with its
// version mark in one transaction (a no-transaction down file marks its
// version dirty while it runs; a crash then is repaired by running the up
// file again, and the down is to be repeated). It changes nothing and
// returns an error when fewer than n migrations are applied, when the
// schema is dirty (`rustok migrate up` repairs it first), or when a
// migration to revert has no down file.
func (r *Runner) Down(ctx context.Context, n int) error {
	if n < 1 {
		return fmt.Errorf("migrate down: N must be at least 1, got %d", n)
	}
	return r.locked(ctx, func(conn *sql.Conn) error {
		v, dirty, err := r.dialect.readVersion(ctx, conn)
		if err != nil {
			return fmt.Errorf("migrate down: %w", err)
		}
		if dirty {
			return dirtyf("database schema is dirty at version %d (an interrupted migration): run `rustok migrate up` first, which repairs it", max(v, 0))
		}
		i, known := r.index(v)
		switch {
		case !known:
			return fmt.Errorf("migrate down: schema version %d is not one this rustok knows (latest %d): run the rustok that wrote it", v, r.Latest())
		case i+1 < n:
			return fmt.Errorf("migrate down %d: only %d migrations are applied", n, i+1)
		}
		for range n {
			if err := r.downStep(ctx, conn); err != nil {
				return err
			}
		}
		return nil
	})
}

// downStep reverts the applied migration with the highest version.
func (r *Runner) downStep(ctx context.Context, conn *sql.Conn) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate down: begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	v, _, err := r.dialect.readVersion(ctx, tx)
	if err != nil {
		return fmt.Errorf("migrate down: %w", err)
	}
	i, _ := r.index(v)
	m := r.migrations[i]
	if m.down == nil {
		return fmt.Errorf("migration %d (%s) has no down file, so it cannot be reverted", m.version, m.name)
	}
	prev := int64(nilVersion)
	if i > 0 {
		prev = int64(r.migrations[i-1].version)
	}
	if m.down.noTx {
		_ = tx.Rollback()
		if err := r.markOutsideTx(ctx, conn, int64(m.version), true); err != nil {
			return fmt.Errorf("revert migration %d (%s): %w", m.version, m.name, err)
		}
		for j, stmt := range m.down.stmts {
			if _, err := conn.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("revert migration %d (%s), statement %d, which runs outside a transaction, so the schema stays marked dirty and `rustok migrate up` restores it: %w", m.version, m.name, j+1, err)
			}
		}
		if err := r.markOutsideTx(ctx, conn, prev, false); err != nil {
			return fmt.Errorf("revert migration %d (%s): %w", m.version, m.name, err)
		}
	} else {
		if _, err := tx.ExecContext(ctx, m.down.body); err != nil {
			return fmt.Errorf("revert migration %d (%s), rolled back: %w", m.version, m.name, err)
		}
		if err := r.dialect.writeVersion(ctx, tx, prev, false); err != nil {
			return fmt.Errorf("revert migration %d (%s): %w", m.version, m.name, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("revert migration %d (%s): commit: %w", m.version, m.name, err)
		}
	}
	r.logger.Info("migration reverted", "version", m.version, "name", m.name)
	return nil
}

// Force marks the schema at version (0: no migration applied), clean,
// without running any migration: the operator's way out of a dirty mark the
// runner cannot judge, after checking the schema by hand. It returns the
// status before, and an error matching ErrUnknownVersion for a version this
// binary has no migration of.
func (r *Runner) Force(ctx context.Context, version uint) (Status, error) {
	before := Status{Latest: r.Latest()}
	if _, known := r.index(int64(version)); version != 0 && !known {
		return before, kindError{ErrUnknownVersion, fmt.Sprintf("this rustok has no migration %d (it knows %s): run `rustok migrate force` with one of those, or 0 for none", version, r.versionList())}
	}
	err := r.locked(ctx, func(conn *sql.Conn) error {
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("migrate force: begin: %w", err)
		}
		defer func() { _ = tx.Rollback() }()
		if _, err := tx.ExecContext(ctx, r.dialect.createVersionTable); err != nil {
			return fmt.Errorf("migrate force: create the %s table: %w", versionTable, err)
		}
		v, dirty, err := r.dialect.readVersion(ctx, tx)
		if err != nil {
			return fmt.Errorf("migrate force: %w", err)
		}
		before.Version, before.Dirty = uint(max(v, 0)), dirty
		if err := r.dialect.writeVersion(ctx, tx, markOf(version), false); err != nil {
			return fmt.Errorf("migrate force: %w", err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migrate force: commit: %w", err)
		}
		return nil
	})
	if err != nil {
		return before, err
	}
	r.logger.Warn("schema version forced", "version", version, "was", before.Version, "was_dirty", before.Dirty)
	return before, nil
}

// Status reports the applied version, whether it is dirty, and the latest
// known one. It only reads: it creates nothing and takes no lock.
func (r *Runner) Status(ctx context.Context) (Status, error) {
	st := Status{Latest: r.Latest()}
	db, err := r.open(ctx)
	if err != nil {
		return st, err
	}
	defer db.Close()
	v, dirty, err := r.dialect.readVersion(ctx, db)
	if err != nil {
		return st, err
	}
	st.Version, st.Dirty = uint(max(v, 0)), dirty
	return st, nil
}

// index returns the position of version v in r.migrations; the nil version
// (-1, or 0) is position -1, known.
func (r *Runner) index(v int64) (int, bool) {
	if v <= 0 {
		return -1, true
	}
	for i, m := range r.migrations {
		if int64(m.version) == v {
			return i, true
		}
	}
	return 0, false
}

func (r *Runner) versionList() string {
	vs := make([]string, len(r.migrations))
	for i, m := range r.migrations {
		vs[i] = fmt.Sprint(m.version)
	}
	return strings.Join(vs, ", ")
}

// markOf is the stored version for a Status version: 0 is golang-migrate's
// nil version.
func markOf(v uint) int64 {
	if v == 0 {
		return nilVersion
	}
	return int64(v)
}

// open opens the database for one run, on a single connection.
func (r *Runner) open(ctx context.Context) (*database.DB, error) {
	return database.Open(ctx, r.raw, database.Options{MaxOpenConns: 1})
}

// lockPoll is how often a process waiting for another's migrations tries
// the lock again.
const lockPoll = 100 * time.Millisecond

// locked runs f on a dedicated connection. On PostgreSQL it holds the
// migration advisory lock (golang-migrate's key) around f, waiting for
// another process's run to end; the lock is the session's, so a process
// that dies releases it with its connection. It waits by polling
// pg_try_advisory_lock rather than blocking in pg_advisory_lock: a blocked
// statement keeps its snapshot, and CREATE INDEX CONCURRENTLY in the
// holder's run waits for every older snapshot to end, which would be a
// deadlock. On SQLite each step's BEGIN IMMEDIATE takes the database's
// write lock instead.
func (r *Runner) locked(ctx context.Context, f func(conn *sql.Conn) error) error {
	db, err := r.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connect for migrations: %w", err)
	}
	defer conn.Close()
	if r.target.Dialect != database.Postgres {
		return f(conn)
	}
	key, err := lockKey(ctx, conn)
	if err != nil {
		return err
	}
	for waited := false; ; waited = true {
		var got bool
		if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&got); err != nil {
			return fmt.Errorf("take the migration lock: %w", err)
		}
		if got {
			break
		}
		if !waited {
			r.logger.Info("waiting for another process's migrations to end")
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for the migration lock held by another process: %w", ctx.Err())
		case <-time.After(lockPoll):
		}
	}
	defer func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_, _ = conn.ExecContext(uctx, `SELECT pg_advisory_unlock($1)`, key)
	}()
	return f(conn)
}

// kindError is an error for the operator, one sentence, that matches a
// sentinel (ErrDirty, ErrUnknownVersion) with errors.Is.
type kindError struct {
	kind error
	msg  string
}

func (e kindError) Error() string   { return e.msg }
func (e kindError) Is(t error) bool { return t == e.kind }

// dirtyf returns an error matching ErrDirty.
func dirtyf(format string, args ...any) error {
	return kindError{ErrDirty, fmt.Sprintf(format, args...)}
}

// quoteIdent quotes a PostgreSQL identifier.
func quoteIdent(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }
