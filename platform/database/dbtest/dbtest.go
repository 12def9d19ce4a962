// Package dbtest gives tests migrated databases of every dialect: SQLite in a
// temporary directory always, and PostgreSQL in a fresh schema when
// RUSTOK_TEST_POSTGRES_URL is set (the subtest skips with a message otherwise).
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rustok/rustok/config"
	"github.com/rustok/rustok/migrations"
	"github.com/rustok/rustok/platform/database"
)

// PostgresEnv names the environment variable with the PostgreSQL test URL.
const PostgresEnv = "RUSTOK_TEST_POSTGRES_URL"

// RequirePostgresEnv, when set (CI sets it), turns the PostgreSQL skip into a failure.
const RequirePostgresEnv = "RUSTOK_TEST_REQUIRE_POSTGRES"

// Dialects are the dialects every storage test runs against.
var Dialects = []database.Dialect{database.SQLite, database.Postgres}

// Run runs f as a subtest per dialect, each with its own migrated database URL.
// The PostgreSQL subtest skips with a message when RUSTOK_TEST_POSTGRES_URL is unset.
func Run(t *testing.T, f func(t *testing.T, dbURL string)) {
	t.Helper()
	for _, d := range Dialects {
		t.Run(string(d), func(t *testing.T) {
			f(t, URL(t, d))
		})
	}
}

// URL returns the URL of a new, migrated, empty database of dialect d, dropped
// when the test ends.
func URL(tb testing.TB, d database.Dialect) string {
	tb.Helper()
	raw := EmptyURL(tb, d)
	r, err := migrations.NewRunner(raw)
	if err != nil {
		tb.Fatalf("migrations: %v", err)
	}
	if err := r.Up(context.Background()); err != nil {
		tb.Fatalf("migrate %s: %v", d, err)
	}
	return raw
}

// EmptyURL is URL without migrations.
func EmptyURL(tb testing.TB, d database.Dialect) string {
	tb.Helper()
	if d == database.SQLite {
		return "sqlite://" + filepath.Join(tb.TempDir(), "rustok.db")
	}
	base := PostgresURL(tb)
	schema := "t_" + randomHex(tb, 8)
	admin, err := database.Open(context.Background(), base, database.Options{MaxOpenConns: 1})
	if err != nil {
		tb.Fatalf("postgres: %v", err)
	}
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = admin.ExecContext(ctx, `DROP SCHEMA `+schema+` CASCADE`)
		_ = admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("parse %s: %v", PostgresEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// PostgresURL returns RUSTOK_TEST_POSTGRES_URL. It skips the test with a
// message when the variable is unset, and fails it instead when
// RUSTOK_TEST_REQUIRE_POSTGRES is set.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" && os.Getenv(RequirePostgresEnv) != "" {
		tb.Fatalf("%s is set, so the PostgreSQL suite must run, but %s is empty", RequirePostgresEnv, PostgresEnv)
	}
	if base == "" {
		tb.Skipf("PostgreSQL tests skipped: set %s (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)", PostgresEnv)
	}
	return base
}

// Schemas makes fresh, empty PostgreSQL schemas through one shared
// connection, for tests that need many (EmptyURL holds a connection per
// schema until the test ends). It is safe for concurrent use.
type Schemas struct {
	admin *database.DB
	base  *url.URL
}

// NewSchemas returns a Schemas on RUSTOK_TEST_POSTGRES_URL, closed when the
// test ends; it skips like PostgresURL.
func NewSchemas(tb testing.TB) *Schemas {
	tb.Helper()
	raw := PostgresURL(tb)
	u, err := url.Parse(raw)
	if err != nil {
		tb.Fatalf("parse %s: %v", PostgresEnv, err)
	}
	admin, err := database.Open(context.Background(), raw, database.Options{MaxOpenConns: 2})
	if err != nil {
		tb.Fatalf("postgres: %v", err)
	}
	tb.Cleanup(func() { _ = admin.Close() })
	return &Schemas{admin: admin, base: u}
}

// New creates an empty schema and returns the URL that selects it (its
// search_path) and a function that drops it with everything in it.
func (s *Schemas) New(ctx context.Context) (raw string, drop func() error, err error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("random schema name: %w", err)
	}
	schema := "t_" + hex.EncodeToString(b)
	if _, err := s.admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		return "", nil, fmt.Errorf("create schema %s: %w", schema, err)
	}
	u := *s.base
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	drop = func() error {
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := s.admin.ExecContext(dctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			return fmt.Errorf("drop schema %s: %w", schema, err)
		}
		return nil
	}
	return u.String(), drop, nil
}

// Open opens a new migrated database of dialect d, closed when the test ends.
func Open(tb testing.TB, d database.Dialect) *database.DB {
	tb.Helper()
	return OpenURL(tb, URL(tb, d))
}

// OpenURL opens raw, closed when the test ends.
func OpenURL(tb testing.TB, raw string) *database.DB {
	tb.Helper()
	db, err := database.Open(context.Background(), raw, database.Options{MaxOpenConns: 20})
	if err != nil {
		tb.Fatalf("open %s: %v", config.RedactURL(raw), err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

func randomHex(tb testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		tb.Fatalf("random: %v", err)
	}
	return hex.EncodeToString(b)
}
