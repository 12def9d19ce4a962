// Package migrations holds the schema of both dialects as golang-migrate SQL
// files embedded in the binary, and runs them.
package migrations

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"

	"github.com/golang-migrate/migrate/v4"
	migratepgx "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	migratesqlite "github.com/golang-migrate/migrate/v4/database/sqlite"
	"github.com/golang-migrate/migrate/v4/source/iofs"

	"github.com/rustok/rustok/platform/database"
)

//go:embed postgres/*.sql sqlite/*.sql
var files embed.FS

// Status is where a database's schema stands.
type Status struct {
	Version uint
	Dirty   bool
	// Latest is the newest version embedded in this binary.
	Latest uint
}

// Runner applies the embedded migrations of one database.
type Runner struct {
	target database.Target
}

// NewRunner returns a Runner for the database at raw (a database.url).
func NewRunner(raw string) (*Runner, error) {
	t, err := database.Parse(raw)
	if err != nil {
		return nil, err
	}
	return &Runner{target: t}, nil
}

// Up applies every pending migration. It returns nil when there is nothing to do.
func (r *Runner) Up(ctx context.Context) error {
	return r.run(ctx, func(m *migrate.Migrate) error {
		if err := m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
			return fmt.Errorf("migrate up: %w", err)
		}
		return nil
	})
}

// Down reverts the last n migrations (n ≥ 1).
func (r *Runner) Down(ctx context.Context, n int) error {
	if n < 1 {
		return fmt.Errorf("migrate down: N must be at least 1, got %d", n)
	}
	return r.run(ctx, func(m *migrate.Migrate) error {
		if err := m.Steps(-n); err != nil && !errors.Is(err, migrate.ErrNoChange) {
			return fmt.Errorf("migrate down %d: %w", n, err)
		}
		return nil
	})
}

// Status reports the applied version, whether it is dirty, and the latest embedded one.
func (r *Runner) Status(ctx context.Context) (Status, error) {
	var st Status
	latest, err := r.latest()
	if err != nil {
		return st, err
	}
	st.Latest = latest
	err = r.run(ctx, func(m *migrate.Migrate) error {
		v, dirty, err := m.Version()
		if errors.Is(err, migrate.ErrNilVersion) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read migration version: %w", err)
		}
		st.Version, st.Dirty = v, dirty
		return nil
	})
	return st, err
}

func (r *Runner) dir() string { return string(r.target.Dialect) }

func (r *Runner) latest() (uint, error) {
	src, err := iofs.New(files, r.dir())
	if err != nil {
		return 0, fmt.Errorf("open embedded migrations: %w", err)
	}
	defer src.Close()
	v, err := src.First()
	if err != nil {
		return 0, fmt.Errorf("read embedded migrations: %w", err)
	}
	for {
		next, err := src.Next(v)
		if errors.Is(err, fs.ErrNotExist) {
			return v, nil
		}
		if err != nil {
			return 0, fmt.Errorf("read embedded migrations: %w", err)
		}
		v = next
	}
}

// run opens a dedicated connection (golang-migrate closes what it is given).
func (r *Runner) run(ctx context.Context, f func(*migrate.Migrate) error) error {
	db, err := database.Open(ctx, r.rawURL(), database.Options{MaxOpenConns: 2})
	if err != nil {
		return err
	}
	src, err := iofs.New(files, r.dir())
	if err != nil {
		_ = db.Close()
		return fmt.Errorf("open embedded migrations: %w", err)
	}
	var m *migrate.Migrate
	switch r.target.Dialect {
	case database.SQLite:
		drv, derr := migratesqlite.WithInstance(db.DB.DB, &migratesqlite.Config{})
		if derr != nil {
			_ = db.Close()
			return fmt.Errorf("prepare sqlite migrations: %w", derr)
		}
		m, err = migrate.NewWithInstance("iofs", src, "sqlite", drv)
	default:
		drv, derr := migratepgx.WithInstance(db.DB.DB, &migratepgx.Config{SchemaName: r.target.Schema})
		if derr != nil {
			_ = db.Close()
			return fmt.Errorf("prepare postgres migrations: %w", derr)
		}
		m, err = migrate.NewWithInstance("iofs", src, "pgx5", drv)
	}
	if err != nil {
		_ = db.Close()
		return fmt.Errorf("prepare migrations: %w", err)
	}
	defer m.Close()
	return f(m)
}

// rawURL rebuilds a database.url from the target for database.Open.
func (r *Runner) rawURL() string {
	if r.target.Dialect == database.SQLite {
		return "sqlite://" + r.target.Path
	}
	return r.target.DSN
}
