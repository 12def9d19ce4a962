// Package database opens the SQL database named by database.url (SQLite or
// PostgreSQL) with the settings each dialect needs, and serialises writers on
// SQLite, which has one writer at a time.
package database

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/jmoiron/sqlx"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver (pure Go)

	"github.com/rustok/rustok/config"
)

// Dialect names the SQL dialect of a database.
type Dialect string

// The supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Target is a parsed database.url.
type Target struct {
	Dialect Dialect
	// Path is the SQLite file path (absolute or relative to the working directory).
	Path string
	// DSN is what the driver is opened with.
	DSN string
	// Schema is the PostgreSQL search_path schema named in the URL ("" means the default).
	Schema string
}

// Parse reads a database URL: sqlite://./rel/path.db, sqlite:///abs/path.db,
// postgres://… or postgresql://…. Its errors show the URL masked by
// config.RedactURL, never a secret.
func Parse(raw string) (Target, error) {
	switch {
	case strings.HasPrefix(raw, "sqlite://"):
		path := strings.TrimPrefix(raw, "sqlite://")
		if i := strings.IndexByte(path, '?'); i >= 0 {
			path = path[:i]
		}
		if path == "" || path == "/" {
			return Target{}, errors.New("database.url: sqlite URL has no file path")
		}
		return Target{Dialect: SQLite, Path: path, DSN: sqliteDSN(path, SynchronousFull)}, nil
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		u, err := url.Parse(raw)
		if err != nil {
			return Target{}, fmt.Errorf("database.url: not a valid PostgreSQL URL (%s)", config.RedactURL(raw))
		}
		return Target{Dialect: Postgres, DSN: raw, Schema: u.Query().Get("search_path")}, nil
	default:
		return Target{}, fmt.Errorf("database.url: scheme must be sqlite:// or postgres:// (got %s)", config.RedactURL(raw))
	}
}

// sqliteDSN is the modernc.org/sqlite DSN of the file at path: WAL, a 10 s
// busy timeout, foreign keys, and BEGIN IMMEDIATE for every transaction, so
// that a writer takes the write lock when it begins rather than failing with
// SQLITE_BUSY when it first writes. busy_timeout comes first: the pragmas
// run in order, and switching a new file to WAL already needs the lock that
// another process may hold.
func sqliteDSN(path string, sync Synchronous) string {
	return "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(" + strings.ToUpper(string(sync)) + ")&_pragma=foreign_keys(ON)&_txlock=immediate"
}

// Synchronous is SQLite's synchronous setting in WAL mode: when a commit
// waits for the disk.
type Synchronous string

// The synchronous settings a database may be opened with.
const (
	// SynchronousFull syncs the WAL at every commit: an acknowledged commit
	// survives a power loss or an operating system crash. The default.
	SynchronousFull Synchronous = "full"
	// SynchronousNormal syncs only at checkpoints: a commit survives a crash
	// of the process, but the last commits before a power loss may be lost
	// (the database stays consistent). Faster on slow disks.
	SynchronousNormal Synchronous = "normal"
)

// Options tune the connection pool.
type Options struct {
	// MaxOpenConns bounds the pool (default 10; SQLite uses at most 8).
	MaxOpenConns int
	// SQLiteSynchronous is SQLite's synchronous setting (database.sqlite_synchronous):
	// SynchronousFull (also when empty) or SynchronousNormal. PostgreSQL
	// ignores it.
	SQLiteSynchronous Synchronous
}

// DB is an open database: a sqlx handle, its dialect, and a write gate.
// It is safe for concurrent use.
type DB struct {
	*sqlx.DB
	Target Target
	// writeGate is a one-slot semaphore held by every write transaction on SQLite
	// so that writers of this process queue in Go instead of spinning in
	// SQLite's busy handler. It is nil on PostgreSQL.
	writeGate chan struct{}
}

// Open connects to the database, checks that it answers within the context's
// deadline, and returns it. For SQLite it first creates what is missing: the
// directory of the file (mode 0700, parents included) and the file itself
// (empty, mode 0600, which SQLite gives its -wal and -shm files too); it never
// changes the mode of a directory or file that exists. Errors are one sentence
// naming what is wrong: a directory that cannot be created for the SQLite
// file (naming it and database.url), an unreachable PostgreSQL server. They
// show database.url and the driver's message masked by config.RedactURL and
// config.RedactError (no password, token or secret parameter), and unwrap to
// the driver's error.
//
// SQLite is opened in WAL mode with synchronous=FULL (every commit synced)
// unless opts.SQLiteSynchronous says "normal"; any other value is an error.
//
// Every user of the database opens it here (the migrations too), so the file
// is prepared the same way whichever opens it first.
func Open(ctx context.Context, raw string, opts Options) (*DB, error) {
	t, err := Parse(raw)
	if err != nil {
		return nil, err
	}
	if opts.MaxOpenConns <= 0 {
		opts.MaxOpenConns = 10
	}
	var db *sqlx.DB
	switch t.Dialect {
	case SQLite:
		switch opts.SQLiteSynchronous {
		case "":
		case SynchronousFull, SynchronousNormal:
			t.DSN = sqliteDSN(t.Path, opts.SQLiteSynchronous)
		default:
			return nil, fmt.Errorf("database.sqlite_synchronous: must be full or normal, got %q", opts.SQLiteSynchronous)
		}
		if err := prepareSQLiteFile(t.Path, raw); err != nil {
			return nil, err
		}
		db, err = sqlx.Open("sqlite", t.DSN)
		if err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", t.Path, err)
		}
		db.SetMaxOpenConns(min(opts.MaxOpenConns, 8))
		db.SetMaxIdleConns(min(opts.MaxOpenConns, 8))
	case Postgres:
		db, err = sqlx.Open("pgx", t.DSN)
		if err != nil {
			return nil, fmt.Errorf("open postgres %s: %w", config.RedactURL(raw), config.RedactError(err, raw))
		}
		db.SetMaxOpenConns(opts.MaxOpenConns)
		db.SetMaxIdleConns(opts.MaxOpenConns)
		db.SetConnMaxIdleTime(5 * time.Minute)
	}
	if err := ping(ctx, db, t.Dialect); err != nil {
		_ = db.Close()
		if t.Dialect == Postgres {
			return nil, fmt.Errorf("cannot reach PostgreSQL at %s: %w", config.RedactURL(raw), config.RedactError(oneLine{err}, raw))
		}
		return nil, fmt.Errorf("cannot open SQLite database %s: %w", t.Path, err)
	}
	d := &DB{DB: db, Target: t}
	if t.Dialect == SQLite {
		d.writeGate = make(chan struct{}, 1)
	}
	return d, nil
}

// Modes of what prepareSQLiteFile creates: the data is readable by its owner
// only. SQLite gives its -wal and -shm files the mode of the database file.
const (
	sqliteDirMode  fs.FileMode = 0o700
	sqliteFileMode fs.FileMode = 0o600
)

// prepareSQLiteFile makes the SQLite database file at path ready to open: it
// creates the parent directory when missing (mode 0700, parents included)
// and a missing database file, empty, with mode 0600. It changes nothing that
// exists: neither the mode of an existing directory nor that of an existing
// file. raw is the database.url, named in errors (its password masked). The
// error for a directory that cannot be created is one sentence naming the
// directory and database.url, and wraps the reason (fs.ErrPermission, …).
// SQLite's special name ":memory:" is left alone.
func prepareSQLiteFile(path, raw string) error {
	if path == ":memory:" {
		return nil
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, sqliteDirMode); err != nil {
		return fmt.Errorf("cannot create the database directory %s for database.url %s: %w", dir, config.RedactURL(raw), pathReason(err))
	}
	// O_EXCL: only a new file gets the mode, and a file created by another
	// process in the meantime is left as it is.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, sqliteFileMode)
	switch {
	case err == nil:
		if err := f.Close(); err != nil {
			return fmt.Errorf("create the database file %s: %w", path, err)
		}
		return nil
	case errors.Is(err, fs.ErrExist):
		return nil
	}
	return fmt.Errorf("cannot create the database file %s for database.url %s: %w", path, config.RedactURL(raw), pathReason(err))
}

// pathReason returns the reason of a path error without the operation and
// path, which the caller's message names already.
func pathReason(err error) error {
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		return pathErr.Err
	}
	return err
}

// Dialect returns the database's dialect.
func (d *DB) Dialect() Dialect { return d.Target.Dialect }

// Name returns the name an operator knows the database by: the file name of
// a SQLite database ("rustok.db" for sqlite://./data/rustok.db), the current
// database of a PostgreSQL connection (current_database(), which a URL
// without a database names after the user). Destructive commands ask for it
// to be typed out.
func (d *DB) Name(ctx context.Context) (string, error) {
	if d.Dialect() == SQLite {
		return filepath.Base(d.Target.Path), nil
	}
	var name string
	if err := d.GetContext(ctx, &name, `SELECT current_database()`); err != nil {
		return "", fmt.Errorf("read the database name: %w", err)
	}
	return name, nil
}

// BeginWrite starts a read-write transaction. On SQLite it first takes the
// process-wide write gate (released when the transaction ends), so that
// writers queue fairly; on PostgreSQL it is a plain BeginTxx.
func (d *DB) BeginWrite(ctx context.Context, opts *sql.TxOptions) (*WriteTx, error) {
	if d.writeGate != nil {
		select {
		case d.writeGate <- struct{}{}:
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for the sqlite writer slot: %w", ctx.Err())
		}
	}
	tx, err := d.DB.BeginTxx(ctx, opts)
	if err != nil {
		d.release()
		return nil, fmt.Errorf("begin write transaction: %w", err)
	}
	return &WriteTx{Tx: tx, db: d}, nil
}

// WithPgConn runs f with one PostgreSQL connection of the pool, held for f
// alone, as a pgx.Conn: for what database/sql cannot do, such as COPY. f
// must leave the connection as it found it (no open transaction).
func (d *DB) WithPgConn(ctx context.Context, f func(*pgx.Conn) error) error {
	if d.Dialect() != Postgres {
		return fmt.Errorf("a pgx connection needs PostgreSQL, not %s", d.Dialect())
	}
	conn, err := d.Conn(ctx)
	if err != nil {
		return fmt.Errorf("take a connection: %w", err)
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("driver connection is %T, not pgx", dc)
		}
		err := f(sc.Conn())
		if st := sc.Conn().PgConn().TxStatus(); st != 'I' {
			// Left inside a transaction (or broken): not for the pool again.
			return errors.Join(err, fmt.Errorf("connection left in transaction state %q: %w", st, driver.ErrBadConn))
		}
		return err
	})
}

// WithWriteGate runs f holding the SQLite write gate (a plain call on
// PostgreSQL): for single-statement writes outside an explicit transaction.
func (d *DB) WithWriteGate(ctx context.Context, f func() error) error {
	if d.writeGate != nil {
		select {
		case d.writeGate <- struct{}{}:
		case <-ctx.Done():
			return fmt.Errorf("wait for the sqlite writer slot: %w", ctx.Err())
		}
		defer d.release()
	}
	return f()
}

func (d *DB) release() {
	if d.writeGate != nil {
		<-d.writeGate
	}
}

// WriteTx is a write transaction that gives the write gate back when it ends.
type WriteTx struct {
	*sqlx.Tx
	db   *DB
	done bool
	// afterCommit hooks run once, after a successful commit.
	afterCommit []func()
}

// AfterCommit registers f to run after a successful Commit (not after Rollback).
func (t *WriteTx) AfterCommit(f func()) { t.afterCommit = append(t.afterCommit, f) }

// Commit commits and releases the write gate.
func (t *WriteTx) Commit() error {
	if t.done {
		return sql.ErrTxDone
	}
	err := t.Tx.Commit()
	t.end()
	if err == nil {
		for _, f := range t.afterCommit {
			f()
		}
	}
	return err
}

// Rollback rolls back (a no-op after Commit) and releases the write gate.
func (t *WriteTx) Rollback() error {
	if t.done {
		return nil
	}
	err := t.Tx.Rollback()
	t.end()
	return err
}

func (t *WriteTx) end() {
	if !t.done {
		t.done = true
		t.db.release()
	}
}

// sqliteOpenBusyWait bounds how long opening a SQLite database retries
// SQLITE_BUSY: as long as its busy_timeout.
const sqliteOpenBusyWait = 10 * time.Second

// ping checks the first connection. On SQLite, the pragmas of a new
// connection may fail with SQLITE_BUSY without waiting for the busy timeout
// (switching a new file to WAL while another process opens it too: SQLite
// answers a possible deadlock at once); such an open is retried.
func ping(ctx context.Context, db *sqlx.DB, d Dialect) error {
	deadline := time.Now().Add(sqliteOpenBusyWait)
	for {
		pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := db.PingContext(pingCtx)
		cancel()
		if err == nil || d != SQLite || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// isBusy reports whether err is SQLite's SQLITE_BUSY (any extended code).
func isBusy(err error) bool {
	var sqliteErr interface{ Code() int }
	return errors.As(err, &sqliteErr) && sqliteErr.Code()&0xff == 5
}

// IsUniqueViolation reports whether err is a unique-constraint violation on either dialect.
func IsUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	var coded interface{ SQLState() string }
	if errors.As(err, &coded) {
		return coded.SQLState() == "23505"
	}
	// modernc.org/sqlite: extended result codes SQLITE_CONSTRAINT_UNIQUE (2067)
	// and SQLITE_CONSTRAINT_PRIMARYKEY (1555).
	var sqliteErr interface{ Code() int }
	if errors.As(err, &sqliteErr) {
		c := sqliteErr.Code()
		return c == 2067 || c == 1555
	}
	return false
}

// oneLine shows the last line of a multi-line driver error (pgx lists every
// address it tried), so that a start failure is one sentence; Unwrap keeps
// the whole error for errors.Is/As.
type oneLine struct{ err error }

func (o oneLine) Error() string {
	lines := strings.Split(strings.TrimSpace(o.err.Error()), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func (o oneLine) Unwrap() error { return o.err }
