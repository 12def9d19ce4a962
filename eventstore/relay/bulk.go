package relay

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/jmoiron/sqlx"

	"github.com/rustok/rustok/platform/database"
)

// The set-based statements of batched projections. Both dialects take the
// same calls; the SQL differs here only:
//
//   - PostgreSQL: one statement of fixed text per table whatever the number
//     of rows, the rows passed as one typed array per column
//     (`unnest($1::text[], $2::jsonb[], …)`), so it is planned once per
//     connection and binds a dozen parameters instead of thousands.
//     Measured on a batch of 950 tenant rows: half the time of a multi-row
//     VALUES upsert. Key sets are joined (`IN (SELECT unnest(…))`, `DELETE …
//     USING unnest(…)`), never written `= ANY($1)`: after five executions
//     PostgreSQL may keep a generic plan, and one made while the table was
//     small scans it and compares every row with every key (measured: 87 ms
//     per batch of 440 keys over 10,000 rows, against ~2 ms for index probes).
//     Several writes of a batch (Tx.Write) are one statement, each but the
//     last a data-modifying WITH query: one round trip for all of them.
//   - SQLite (in process, no plan cache to lose): an upsert is one prepared
//     statement of one row, run once per row — preparing a VALUES list of
//     hundreds of rows cost more than running the rows (measured on the
//     tenants batch, 440 rows of 12 columns: save 6.0 → 5.0 ms); deletes are
//     multi-row VALUES lists and reads sqlx.In key lists, cut to stay below
//     its limits.

// sqliteMaxParams bounds the parameters of one SQLite statement (modernc.org/sqlite
// takes 32766).
const sqliteMaxParams = 30000

// sqliteMaxCompound bounds the rows of a VALUES list that is not an INSERT's
// (DeleteRows): SQLite reads it as a compound SELECT, of at most 500 terms.
const sqliteMaxCompound = 500

// selectInChunk is how many keys one SQLite SelectIn statement lists.
const selectInChunk = 1000

// errNoKeyList is returned by SelectIn for a query without its `IN (?)`.
var errNoKeyList = errors.New("relay: SelectIn query must contain `IN (?)` exactly once")

// SelectIn appends to dest (a pointer to a slice) the rows of query for the
// given keys. query names its key column once as `column IN (?)`, the `?`
// standing for the list of keys, e.g. `SELECT … FROM t WHERE id IN (?)`;
// name the table through Table. Keys are compared as text.
func (t *Tx) SelectIn(ctx context.Context, dest any, query string, keys []string) error {
	if strings.Count(query, "IN (?)") != 1 {
		return errNoKeyList
	}
	if len(keys) == 0 {
		return nil
	}
	if t.collect != nil {
		return errNotBulk
	}
	if t.dialect == database.Postgres {
		q := strings.Replace(query, "IN (?)", "IN (SELECT unnest(CAST(? AS text[])))", 1)
		return t.tx.SelectContext(ctx, dest, t.tx.Rebind(q), keys)
	}
	out := reflect.ValueOf(dest)
	if out.Kind() != reflect.Pointer || out.Elem().Kind() != reflect.Slice {
		return fmt.Errorf("relay: SelectIn needs a pointer to a slice, not %T", dest)
	}
	for start := 0; start < len(keys); start += selectInChunk {
		q, args, err := sqlx.In(query, keys[start:min(start+selectInChunk, len(keys))])
		if err != nil {
			return fmt.Errorf("expand key list: %w", err)
		}
		// sqlx fills a slice from scratch: read each chunk into its own.
		chunk := reflect.New(out.Elem().Type())
		if err := t.tx.SelectContext(ctx, chunk.Interface(), t.tx.Rebind(q), args...); err != nil {
			return err
		}
		out.Elem().Set(reflect.AppendSlice(out.Elem(), chunk.Elem()))
	}
	return nil
}

// Upsert describes a multi-row upsert into a read-model table.
type Upsert struct {
	// Table is the read-model table's name (mapped through Tx.Table).
	Table string
	// Columns are the columns of each row, in the order of its values.
	Columns []string
	// Key is the conflict target: the columns of the primary key or of a
	// unique constraint. Rows are replaced on a conflict on it.
	Key []string
	// Version, if set, is the column holding the stream version of the row:
	// an existing row is replaced only by a newer one (`… DO UPDATE … WHERE
	// version < excluded.version`), so a redelivered batch changes nothing
	// and a row never goes back in time. Leave it empty only for tables
	// derived from versioned rows (such as a lookup by domain).
	Version string
}

// Upsert writes rows (each with the values of u.Columns, in order) with one
// `INSERT … ON CONFLICT (key) DO UPDATE` statement (on SQLite a few when the
// rows need more than 30000 parameters). The rows' keys must be distinct
// (PostgreSQL refuses to change one row twice in a statement). A nil value
// is NULL.
func (t *Tx) Upsert(ctx context.Context, u Upsert, rows [][]any) error {
	return t.Write(ctx, UpsertRows(u, rows))
}

// DeleteRows deletes from table (mapped through Tx.Table) every row whose
// columns equal one of rows (each with the values of columns, in order).
func (t *Tx) DeleteRows(ctx context.Context, table string, columns []string, rows [][]any) error {
	return t.Write(ctx, DeleteWhere(table, columns, rows))
}

// Write is one of the writes Tx.Write makes: an upsert (UpsertRows) or a
// delete (DeleteWhere), with its rows.
type Write struct {
	upsert  *Upsert
	table   string // of a delete
	columns []string
	rows    [][]any
}

// UpsertRows is the write of Tx.Upsert(u, rows).
func UpsertRows(u Upsert, rows [][]any) Write { return Write{upsert: &u, rows: rows} }

// DeleteWhere is the write of Tx.DeleteRows(table, columns, rows).
func DeleteWhere(table string, columns []string, rows [][]any) Write {
	return Write{table: table, columns: columns, rows: rows}
}

// Write makes the writes, in order, skipping those without rows. On
// PostgreSQL they are one statement (each write a data-modifying WITH query
// of the last one), so the batch pays one round trip; on SQLite, in
// process, one statement each, as Upsert and DeleteRows do.
//
// The writes must not touch the same rows: in one PostgreSQL statement they
// all see the tables as they were before it, in no defined order, and a row
// cannot be changed twice. Writes to different tables, or to disjoint keys
// of one table (say, deleting hosts a tenant lost and upserting hosts
// others gained, none of them both), give what the writes one after the
// other give.
func (t *Tx) Write(ctx context.Context, writes ...Write) error {
	var todo []Write
	for _, w := range writes {
		if len(w.rows) > 0 {
			todo = append(todo, w)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	if t.collect != nil {
		return t.collect.add(t, todo)
	}
	if t.dialect != database.Postgres {
		for _, w := range todo {
			if err := t.sqliteWrite(ctx, w); err != nil {
				return err
			}
		}
		return nil
	}
	var args []any
	stmts := make([]string, len(todo))
	for i, w := range todo {
		stmt, a, err := t.postgresWrite(ctx, w, len(args))
		if err != nil {
			return w.fail(t, err)
		}
		stmts[i], args = stmt, append(args, a...)
	}
	q := stmts[len(stmts)-1]
	if len(stmts) > 1 {
		with := make([]string, len(stmts)-1)
		for i, stmt := range stmts[:len(stmts)-1] {
			with[i] = "w" + strconv.Itoa(i) + " AS (" + stmt + ")"
		}
		q = "WITH " + strings.Join(with, ", ") + " " + q
	}
	if _, err := t.tx.ExecContext(ctx, q, args...); err != nil {
		if len(todo) == 1 {
			return todo[0].fail(t, err)
		}
		what := make([]string, len(todo))
		for i, w := range todo {
			what[i] = w.describe(t)
		}
		return fmt.Errorf("%s: %w", strings.Join(what, ", "), err)
	}
	return nil
}

// describe says what w does, for errors.
func (w Write) describe(t *Tx) string {
	if w.upsert != nil {
		return fmt.Sprintf("upsert %d rows into %s", len(w.rows), t.Table(w.upsert.Table))
	}
	return fmt.Sprintf("delete %d rows from %s", len(w.rows), t.Table(w.table))
}

func (w Write) fail(t *Tx, err error) error { return fmt.Errorf("%s: %w", w.describe(t), err) }

// upsertTail returns the upsert's `ON CONFLICT …` clause for table.
func upsertTail(u *Upsert, table string) string {
	var tail strings.Builder
	tail.WriteString(" ON CONFLICT (" + strings.Join(u.Key, ", ") + ") DO ")
	sep := "UPDATE SET "
	for _, c := range u.Columns {
		if !slices.Contains(u.Key, c) {
			tail.WriteString(sep + c + " = excluded." + c)
			sep = ", "
		}
	}
	if sep == "UPDATE SET " {
		tail.WriteString("NOTHING")
	} else if u.Version != "" {
		tail.WriteString(" WHERE " + table + "." + u.Version + " < excluded." + u.Version)
	}
	return tail.String()
}

// postgresWrite returns w as one PostgreSQL statement over `unnest($n::type[], …)`
// (one array per column, numbered after the first offset parameters) and its
// arguments.
func (t *Tx) postgresWrite(ctx context.Context, w Write, offset int) (string, []any, error) {
	if u := w.upsert; u != nil {
		table := t.Table(u.Table)
		unnest, args, err := t.arrays(ctx, table, u.Columns, w.rows, offset)
		if err != nil {
			return "", nil, err
		}
		return "INSERT INTO " + table + " (" + strings.Join(u.Columns, ", ") + ") SELECT * FROM " + unnest + upsertTail(u, table), args, nil
	}
	table := t.Table(w.table)
	unnest, args, err := t.arrays(ctx, table, w.columns, w.rows, offset)
	if err != nil {
		return "", nil, err
	}
	var on strings.Builder
	for i, c := range w.columns {
		if i > 0 {
			on.WriteString(" AND ")
		}
		on.WriteString("t." + c + " = d." + c)
	}
	return "DELETE FROM " + table + " AS t USING " + unnest + " AS d(" + strings.Join(w.columns, ", ") + ") WHERE " + on.String(), args, nil
}

// sqliteWrite runs w with multi-row VALUES lists.
func (t *Tx) sqliteWrite(ctx context.Context, w Write) error {
	var err error
	if u := w.upsert; u != nil {
		table := t.Table(u.Table)
		err = t.execEach(ctx, "INSERT INTO "+table+" ("+strings.Join(u.Columns, ", ")+") VALUES "+placeholders(len(u.Columns))+upsertTail(u, table),
			len(u.Columns), w.rows)
	} else {
		head := "DELETE FROM " + t.Table(w.table) + " WHERE (" + strings.Join(w.columns, ", ") + ") IN (VALUES "
		err = t.execValues(ctx, head, ")", len(w.columns), sqliteMaxCompound, w.rows)
	}
	if err != nil {
		return w.fail(t, err)
	}
	return nil
}

// arrays returns `unnest($n::type[], …)` for columns of table (PostgreSQL),
// the parameters numbered from offset+1, and one array of values per column.
func (t *Tx) arrays(ctx context.Context, table string, columns []string, rows [][]any, offset int) (string, []any, error) {
	types, err := t.columnTypes(ctx, table)
	if err != nil {
		return "", nil, err
	}
	arrays := make([]any, len(columns))
	var b strings.Builder
	b.WriteString("unnest(")
	for j, c := range columns {
		typ, ok := types[c]
		if !ok {
			return "", nil, fmt.Errorf("table %s has no column %s", table, c)
		}
		if j > 0 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(offset+j+1) + "::" + typ + "[]")
		col := make([]any, len(rows))
		for i, r := range rows {
			if len(r) != len(columns) {
				return "", nil, fmt.Errorf("row %d has %d values, want %d", i, len(r), len(columns))
			}
			col[i] = r[j]
		}
		arrays[j] = col
	}
	b.WriteString(")")
	return b.String(), arrays, nil
}

// execValues runs head + (?, …), (?, …) … + tail for rows of width values
// (SQLite), in as few statements of at most maxRows rows as its parameter
// limit allows.
func (t *Tx) execValues(ctx context.Context, head, tail string, width, maxRows int, rows [][]any) error {
	per := max(1, min(maxRows, sqliteMaxParams/width))
	var b strings.Builder
	for start := 0; start < len(rows); start += per {
		chunk := rows[start:min(start+per, len(rows))]
		b.Reset()
		b.WriteString(head)
		args := make([]any, 0, len(chunk)*width)
		for i, r := range chunk {
			if len(r) != width {
				return fmt.Errorf("row %d has %d values, want %d", start+i, len(r), width)
			}
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('(')
			for j := range width {
				if j > 0 {
					b.WriteString(", ")
				}
				b.WriteByte('?')
			}
			b.WriteByte(')')
			args = append(args, r...)
		}
		b.WriteString(tail)
		if _, err := t.tx.ExecContext(ctx, t.tx.Rebind(b.String()), args...); err != nil {
			return err
		}
	}
	return nil
}

// execEach prepares query (one row of width values) and runs it for each
// of rows (SQLite).
func (t *Tx) execEach(ctx context.Context, query string, width int, rows [][]any) error {
	stmt, err := t.tx.PrepareContext(ctx, query)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for i, r := range rows {
		if len(r) != width {
			return fmt.Errorf("row %d has %d values, want %d", i, len(r), width)
		}
		if _, err := stmt.ExecContext(ctx, r...); err != nil {
			return err
		}
	}
	return nil
}

// placeholders returns `(?, ?, …)` for n values.
func placeholders(n int) string {
	return "(" + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + ")"
}

// columnTypes returns the SQL types of table's columns (PostgreSQL), read
// from the catalog once per table and consumer.
func (t *Tx) columnTypes(ctx context.Context, table string) (map[string]string, error) {
	if t.types == nil {
		t.types = &columnTypeCache{}
	}
	return t.types.get(ctx, t.tx, table)
}

// columnTypeCache holds the column types of the tables a consumer writes
// (live tables and replay copies have the same). Safe for concurrent use.
type columnTypeCache struct {
	mu      sync.Mutex
	byTable map[string]map[string]string
}

func (c *columnTypeCache) get(ctx context.Context, tx *sqlx.Tx, table string) (map[string]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if types, ok := c.byTable[table]; ok {
		return types, nil
	}
	var cols []struct {
		Name string `db:"attname"`
		Type string `db:"type"`
	}
	err := tx.SelectContext(ctx, &cols, `SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a
		WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped`, table)
	if err != nil {
		return nil, fmt.Errorf("read column types of %s: %w", table, err)
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("read column types of %s: no such table", table)
	}
	types := make(map[string]string, len(cols))
	for _, col := range cols {
		types[col.Name] = col.Type
	}
	if c.byTable == nil {
		c.byTable = map[string]map[string]string{}
	}
	c.byTable[table] = types
	return types, nil
}
