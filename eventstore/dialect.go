package eventstore

import (
	"database/sql/driver"
	"fmt"
	"strconv"
	"time"

	"github.com/rustok/rustok/platform/database"
)

// dialect holds the SQL that differs between SQLite and PostgreSQL. It is the
// only place in this package that knows which database it talks to.
type dialect struct {
	name database.Dialect
	// readAfter selects visible events after a cursor in consumption order.
	// Args: cursor tx id, cursor position, limit.
	readAfter string
	// txColumn is the select expression for the writing transaction id.
	txColumn string
	// now formats a time for a timestamp column.
	now func(time.Time) any
	// cast wraps a column of the VALUES list for a column type in an INSERT … SELECT.
	cast func(expr, kind string) string
	// valuesAlias names the VALUES list's columns column1…column6 (SQLite's own names).
	valuesAlias string
}

const eventColumns = `position, event_id, stream_type, stream_id, stream_version, tenant_id,
	event_type, schema_version, payload, metadata, recorded_at`

func dialectFor(d database.Dialect) dialect {
	if d == database.Postgres {
		return dialect{
			name:     d,
			txColumn: `transaction_id::text::bigint`,
			// The row comparison is an index range scan on the primary key
			// (transaction_id, position); the equivalent OR form filters every
			// row before the cursor, which makes reading the log quadratic.
			readAfter: `SELECT ` + eventColumns + `, transaction_id::text::bigint AS tx_id FROM events
				WHERE (transaction_id, position) > (CAST($1 AS xid8), $2)
				  AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
				ORDER BY transaction_id, position LIMIT $3`,
			now: func(t time.Time) any { return t.UTC() },
			cast: func(expr, kind string) string {
				switch kind {
				case "uuid":
					return "CAST(" + expr + " AS uuid)"
				case "json":
					return "CAST(" + expr + " AS json)"
				case "time":
					return "CAST(" + expr + " AS timestamptz)"
				case "int":
					return "CAST(" + expr + " AS bigint)"
				default:
					return "CAST(" + expr + " AS text)"
				}
			},
			valuesAlias: "e(column1, column2, column3, column4, column5, column6)",
		}
	}
	return dialect{
		name:     d,
		txColumn: `0`,
		readAfter: `SELECT ` + eventColumns + `, 0 FROM events
				WHERE ? >= 0 AND position > ? ORDER BY position LIMIT ?`,
		now: func(t time.Time) any { return FormatTime(t) },
		cast: func(expr, kind string) string {
			if kind == "int" {
				return "CAST(" + expr + " AS INTEGER)"
			}
			return "CAST(" + expr + " AS TEXT)"
		},
		valuesAlias: "e",
	}
}

// txArg renders a transaction id for CAST(? AS xid8) (a decimal string).
func (d dialect) txArg(tx uint64) any {
	if d.name == database.Postgres {
		return strconv.FormatUint(tx, 10)
	}
	return int64(tx)
}

// FormatTime is how SQLite columns store times: RFC 3339 with nanoseconds, UTC,
// so that text order is time order.
func FormatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }

// Time scans a timestamp column of either dialect (time.Time from PostgreSQL,
// text from SQLite).
type Time struct{ time.Time }

// Scan implements sql.Scanner.
func (t *Time) Scan(src any) error {
	switch v := src.(type) {
	case time.Time:
		t.Time = v.UTC()
		return nil
	case string:
		return t.parse(v)
	case []byte:
		return t.parse(string(v))
	case nil:
		t.Time = time.Time{}
		return nil
	default:
		return fmt.Errorf("scan time: unsupported type %T", src)
	}
}

func (t *Time) parse(s string) error {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05"} {
		if p, err := time.Parse(layout, s); err == nil {
			t.Time = p.UTC()
			return nil
		}
	}
	return fmt.Errorf("scan time: cannot parse %q", s)
}

// Value implements driver.Valuer (as UTC time; SQLite callers format with FormatTime).
func (t Time) Value() (driver.Value, error) { return t.Time.UTC(), nil }
