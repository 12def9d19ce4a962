package migrations

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	migratedb "github.com/golang-migrate/migrate/v4/database"

	"github.com/rustok/rustok/platform/database"
)

// versionTable is golang-migrate's table of the applied version, kept with
// its name and layout (one row: version, dirty) so that golang-migrate's
// own tools read and write the same state.
const versionTable = "schema_migrations"

// dialect holds what differs between SQLite and PostgreSQL in running
// migrations: the version table's DDL as golang-migrate's drivers create it,
// catalog queries, and the lock around a whole run.
type dialect struct {
	name database.Dialect
	// createVersionTable creates the version table when it is missing.
	createVersionTable string
	// hasVersionTable counts the version tables visible (0 or 1).
	hasVersionTable string
	// setVersion inserts the version row (after a DELETE of the old one).
	setVersion string
	// hasTable, hasIndex and hasColumn count the matching objects of the
	// current schema; hasColumn takes the table, then the column.
	hasTable, hasIndex, hasColumn string
	// invalidIndex counts the indexes of that name left invalid by an
	// interrupted CREATE INDEX CONCURRENTLY ("" when the dialect has none).
	invalidIndex string
}

var sqliteDialect = dialect{
	name: database.SQLite,
	// Exactly the DDL of golang-migrate's sqlite driver.
	createVersionTable: `CREATE TABLE IF NOT EXISTS schema_migrations (version uint64,dirty bool);
  CREATE UNIQUE INDEX IF NOT EXISTS version_unique ON schema_migrations (version);`,
	hasVersionTable: `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`,
	setVersion:      `INSERT INTO schema_migrations (version, dirty) VALUES (?, ?)`,
	hasTable:        `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE`,
	hasIndex:        `SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = ? COLLATE NOCASE`,
	hasColumn:       `SELECT count(*) FROM pragma_table_info(?) WHERE name = ? COLLATE NOCASE`,
}

var postgresDialect = dialect{
	name: database.Postgres,
	// The DDL of golang-migrate's pgx driver, in the first schema of the
	// search_path (the schema a database.url's search_path names).
	createVersionTable: `CREATE TABLE IF NOT EXISTS schema_migrations (version bigint not null primary key, dirty boolean not null)`,
	hasVersionTable:    `SELECT count(*) FROM (SELECT to_regclass('schema_migrations') AS t) r WHERE t IS NOT NULL`,
	setVersion:         `INSERT INTO schema_migrations (version, dirty) VALUES ($1, $2)`,
	hasTable: `SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = current_schema() AND c.relname = $1 AND c.relkind IN ('r', 'p')`,
	hasIndex: `SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = current_schema() AND c.relname = $1 AND c.relkind IN ('i', 'I')`,
	hasColumn: `SELECT count(*) FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2`,
	invalidIndex: `SELECT count(*) FROM pg_catalog.pg_index i
		JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
		JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = current_schema() AND c.relname = $1 AND NOT i.indisvalid`,
}

func dialectOf(d database.Dialect) dialect {
	if d == database.Postgres {
		return postgresDialect
	}
	return sqliteDialect
}

// querier is what the catalog and version helpers read through: a
// connection or a transaction.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// readVersion reads the version row: version -1 (golang-migrate's "nil
// version") when the table is missing or empty.
func (d dialect) readVersion(ctx context.Context, q querier) (version int64, dirty bool, err error) {
	var n int
	if err := q.QueryRowContext(ctx, d.hasVersionTable).Scan(&n); err != nil {
		return 0, false, fmt.Errorf("look for the %s table: %w", versionTable, err)
	}
	if n == 0 {
		return nilVersion, false, nil
	}
	err = q.QueryRowContext(ctx, `SELECT version, dirty FROM schema_migrations LIMIT 1`).Scan(&version, &dirty)
	if errors.Is(err, sql.ErrNoRows) {
		return nilVersion, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("read the schema version: %w", err)
	}
	return version, dirty, nil
}

// writeVersion replaces the version row as golang-migrate does: version -1
// clean is no row at all.
func (d dialect) writeVersion(ctx context.Context, q querier, version int64, dirty bool) error {
	if _, err := q.ExecContext(ctx, `DELETE FROM schema_migrations`); err != nil {
		return fmt.Errorf("clear the schema version: %w", err)
	}
	if version == nilVersion && !dirty {
		return nil
	}
	if _, err := q.ExecContext(ctx, d.setVersion, version, dirty); err != nil {
		return fmt.Errorf("write schema version %d: %w", version, err)
	}
	return nil
}

// nilVersion is golang-migrate's version of a database with no migration
// applied.
const nilVersion = -1

// exists reports whether o is in the current schema.
func (d dialect) exists(ctx context.Context, q querier, o object) (bool, error) {
	var n int
	var err error
	switch o.kind {
	case objectTable:
		err = q.QueryRowContext(ctx, d.hasTable, o.name).Scan(&n)
	case objectIndex:
		err = q.QueryRowContext(ctx, d.hasIndex, o.name).Scan(&n)
	case objectColumn:
		err = q.QueryRowContext(ctx, d.hasColumn, o.table, o.name).Scan(&n)
	}
	if err != nil {
		return false, fmt.Errorf("look for %s: %w", o, err)
	}
	return n > 0, nil
}

// lockKey is the PostgreSQL advisory lock of a schema's migrations: the key
// golang-migrate's pgx driver takes for the same database, schema and
// table, so that this runner and golang-migrate's tools exclude each other.
func lockKey(ctx context.Context, conn *sql.Conn) (int64, error) {
	var dbName, schema string
	err := conn.QueryRowContext(ctx, `SELECT current_database(), coalesce(current_schema(), '')`).Scan(&dbName, &schema)
	if err != nil {
		return 0, fmt.Errorf("read the database and schema names: %w", err)
	}
	key, err := migratedb.GenerateAdvisoryLockId(dbName, schema, versionTable)
	if err != nil {
		return 0, fmt.Errorf("derive the migration lock key: %w", err)
	}
	n, err := strconv.ParseInt(key, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("derive the migration lock key: %w", err)
	}
	return n, nil
}
