package eventstore

import (
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
	// visibleEnd selects the tx id and position of the last visible event.
	visibleEnd string
	// readStreams selects the events of some types (an `IN (?)` list) at or
	// before a cursor (tx id, position), ordered by stream: SQLite only,
	// PostgreSQL reads them through pgx (Store.readStreamsPgx).
	readStreams string
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
			visibleEnd: `SELECT transaction_id::text::bigint, position FROM events
				WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot())
				ORDER BY transaction_id DESC, position DESC LIMIT 1`,
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
		visibleEnd: `SELECT 0, position FROM events ORDER BY position DESC LIMIT 1`,
		readStreams: `SELECT ` + eventColumns + `, 0 FROM events
				WHERE event_type IN (?) AND ? >= 0 AND position <= ?
				ORDER BY stream_type, stream_id, stream_version`,
		now: func(t time.Time) any { return database.FormatTime(t) },
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
