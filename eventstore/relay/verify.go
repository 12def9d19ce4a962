package relay

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/platform/database"
)

// ErrReactorVerify is returned when a reactor is verified: it has no read
// model to compare.
var ErrReactorVerify = errors.New("reactors have no read model to verify")

// VerifyOptions tune one verify.
type VerifyOptions struct {
	// BatchSize is how many events each short rebuild transaction applies
	// (default 1000).
	BatchSize int
	// MaxDifferences is how many differing rows VerifyResult.Differences
	// keeps (default 100); every one is counted in Differing.
	MaxDifferences int
	// Progress, if set, is called after each rebuild batch with the events
	// applied and the total expected (the events up to the live checkpoint).
	Progress func(done, total int64)
}

// VerifyResult is what a verify found.
type VerifyResult struct {
	// Position is the live checkpoint compared: the rebuild applied the log
	// up to it, and the live rows were read as of it.
	Position int64
	// Events counts the events the rebuild applied.
	Events int64
	// Rows counts the rows compared (a row on either side counts once).
	Rows int64
	// Differing counts the rows that differ; Differences holds the first ones.
	Differing   int64
	Differences []Difference
	Duration    time.Duration
}

// Clean reports whether the live read model equals its rebuild.
func (r VerifyResult) Clean() bool { return r.Differing == 0 }

// Difference is one row that is not the same in the live read model and in
// its rebuild from the log.
type Difference struct {
	Table string
	// Key names the row by its primary key, e.g. `id="t1"`.
	Key string
	// Columns are the table's columns; Live and Rebuilt hold the row's values
	// in their order, as text (nil: the row is not on that side).
	Columns       []string
	Live, Rebuilt []sql.NullString
	// Changed names the columns whose values differ, when the row is on both sides.
	Changed []string
}

// String describes d in one line: the table and key, then what differs.
func (d Difference) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: ", d.Table, d.Key)
	switch {
	case d.Live == nil:
		fmt.Fprintf(&b, "missing from the live read model (rebuilt: %s)", d.row(d.Rebuilt))
	case d.Rebuilt == nil:
		fmt.Fprintf(&b, "in the live read model but not in the rebuild from the log (live: %s)", d.row(d.Live))
	default:
		for i, c := range d.Changed {
			if i > 0 {
				b.WriteString("; ")
			}
			j := d.column(c)
			live, rebuilt := d.Live[j], d.Rebuilt[j]
			if live.Valid && rebuilt.Valid {
				// Long values that differ near their end: show where they part.
				from := max(0, commonPrefix(live.String, rebuilt.String)-20)
				live.String, rebuilt.String = live.String[from:], rebuilt.String[from:]
				if from > 0 {
					live.String, rebuilt.String = "…"+live.String, "…"+rebuilt.String
				}
			}
			fmt.Fprintf(&b, "%s: live %s, rebuilt %s", c, shortValue(live), shortValue(rebuilt))
		}
	}
	return b.String()
}

func (d Difference) column(name string) int {
	for i, c := range d.Columns {
		if c == name {
			return i
		}
	}
	return -1
}

// row shows up to 4 columns of a row that is on one side only.
func (d Difference) row(vals []sql.NullString) string {
	const shown = 4
	parts := make([]string, 0, shown+1)
	for i, c := range d.Columns {
		if i == shown {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, c+"="+shortValue(vals[i]))
	}
	return strings.Join(parts, ", ")
}

// commonPrefix returns the length in bytes of the longest common prefix of
// a and b that ends on a rune boundary.
func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	for n > 0 && n < len(a) && !utf8.RuneStart(a[n]) {
		n--
	}
	return n
}

// shortValue quotes v, cut to 60 runes.
func shortValue(v sql.NullString) string {
	if !v.Valid {
		return "NULL"
	}
	s := v.String
	if r := []rune(s); len(r) > 60 {
		s = string(r[:60]) + "…"
	}
	return strconv.Quote(s)
}

// Verify rebuilds c's read model from the log into shadow tables, up to the
// position its live checkpoint is at, and compares them row by row with the
// live tables; then it drops the shadow tables. It blocks neither the live
// read model nor its consumer: the rebuild runs in short transactions, as a
// replay's does, and the live rows are read in one read-only transaction
// (a snapshot) together with the checkpoint they belong to, while the
// consumer goes on. The rebuild is caught up to exactly that checkpoint
// before the comparison, so a read model that keeps moving is compared like
// with like. It returns ErrReactorVerify (wrapped) for a reactor.
//
// A rebuild applies events through the consumer's delivery policy, as a
// replay does: an event its handlers cannot apply is dead-lettered again.
// Verify needs two connections of the pool at once, and refuses a pool of one.
func (r *Replayer) Verify(ctx context.Context, c Consumer, opts VerifyOptions) (VerifyResult, error) {
	if err := c.validate(); err != nil {
		return VerifyResult{}, err
	}
	if c.Kind == KindReactor {
		return VerifyResult{}, fmt.Errorf("verify %s: %w", c.Name, ErrReactorVerify)
	}
	if n := r.store.DB().Stats().MaxOpenConnections; n == 1 {
		// The snapshot holds one while the rebuild catches up on another.
		return VerifyResult{}, fmt.Errorf("verify %s: needs at least 2 database connections (database.max_open_conns is 1)", c.Name)
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 1000
	}
	if opts.MaxDifferences <= 0 {
		opts.MaxDifferences = 100
	}
	start := time.Now()
	res, err := r.verify(ctx, c, opts)
	if err != nil {
		return VerifyResult{}, fmt.Errorf("verify %s: %w", c.Name, err)
	}
	res.Duration = time.Since(start)
	r.logger.Info("verify finished", "consumer", c.Name, "position", res.Position, "events", res.Events,
		"rows", res.Rows, "differing", res.Differing, "duration", res.Duration)
	return res, nil
}

// verifyAttempts bounds how many times a comparison is redone because a
// replay swapped the live tables while it read them.
const verifyAttempts = 3

func (r *Replayer) verify(ctx context.Context, c Consumer, opts VerifyOptions) (VerifyResult, error) {
	db := r.store.DB()
	shadow, err := r.openShadow(ctx, c)
	if err != nil {
		return VerifyResult{}, err
	}
	defer shadow.release()
	defer r.dropCopies(db, shadow.tables)
	if err := r.createCopies(ctx, db, shadow.tables); err != nil {
		return VerifyResult{}, err
	}
	shapes := make([]tableShape, len(c.Tables))
	for i, t := range c.Tables {
		if shapes[i], err = readShape(ctx, db, t); err != nil {
			return VerifyResult{}, err
		}
	}

	// The long part first, outside any snapshot: rebuild up to where the
	// live read model is now.
	target, err := readCheckpoint(ctx, db, db, c.Name)
	if err != nil {
		return VerifyResult{}, err
	}
	var total int64
	if err := db.GetContext(ctx, &total, db.Rebind(`SELECT COUNT(*) FROM events WHERE position <= ?`), target.Position); err != nil {
		return VerifyResult{}, fmt.Errorf("count events: %w", err)
	}
	a := r.applier(c)
	var res VerifyResult
	progress := func(n int64) {
		res.Events += n
		if opts.Progress != nil {
			opts.Progress(res.Events, max(total, res.Events))
		}
	}
	if _, err := r.rebuildTo(ctx, db, a, shadow.tables, target, opts.BatchSize, progress); err != nil {
		return VerifyResult{}, err
	}
	cur := target
	for attempt := 1; ; attempt++ {
		before, err := tableIdentities(ctx, db, c.Tables)
		if err != nil {
			return VerifyResult{}, err
		}
		var cmp comparison
		cur, cmp, err = r.compareAtCheckpoint(ctx, db, a, c, shapes, shadow.tables, cur, opts, progress)
		if err != nil {
			return VerifyResult{}, err
		}
		after, err := tableIdentities(ctx, db, c.Tables)
		if err != nil {
			return VerifyResult{}, err
		}
		if maps.Equal(before, after) {
			res.Position, res.Rows, res.Differing, res.Differences = cur.Position, cmp.rows, cmp.differing, cmp.diffs
			return res, nil
		}
		// A replay swapped the live tables in: what the snapshot read may
		// mix the old and the new table. Compare again.
		if attempt == verifyAttempts {
			return VerifyResult{}, fmt.Errorf("a replay swapped the read model in during each of %d comparisons; run verify again", attempt)
		}
	}
}

// compareAtCheckpoint opens a snapshot of the live read model, reads the
// checkpoint it is at, catches the rebuild (at cur) up to that checkpoint in
// short transactions outside the snapshot, and compares the live tables as
// the snapshot sees them with the rebuilt ones. It returns the checkpoint.
func (r *Replayer) compareAtCheckpoint(ctx context.Context, db *database.DB, a *applier, c Consumer, shapes []tableShape,
	tables map[string]string, cur eventstore.Cursor, opts VerifyOptions, progress func(int64)) (eventstore.Cursor, comparison, error) {
	// Read only, the snapshot takes no transaction id: it does not hold back
	// the consumers' visibility fence, however long it stays open.
	cat := catalogOf(db)
	snap, err := db.BeginTxx(ctx, &cat.snapshot)
	if err != nil {
		return cur, comparison{}, fmt.Errorf("begin snapshot: %w", err)
	}
	defer snap.Rollback()
	at, err := readCheckpoint(ctx, db, snap, c.Name)
	if err != nil {
		return cur, comparison{}, err
	}
	if cursorAfter(cur, at) {
		return cur, comparison{}, fmt.Errorf("the checkpoint of %s went back from position %d to %d during the verify (was the database truncated?); run verify again", c.Name, cur.Position, at.Position)
	}
	// Every event up to the checkpoint is committed and visible to fill: the
	// consumer passed it behind the same visibility fence.
	if _, err = r.fill(ctx, db, a, tables, cur, &at, opts.BatchSize, progress); err != nil {
		return cur, comparison{}, err
	}
	cur = at
	cmp := comparison{max: opts.MaxDifferences}
	for _, s := range shapes {
		if err := cmp.table(ctx, db, snap, cat, s, tables[s.name]); err != nil {
			return cur, comparison{}, err
		}
	}
	return cur, cmp, nil
}

// readCheckpoint reads the checkpoint of consumer through q (the zero cursor
// if it has none).
func readCheckpoint(ctx context.Context, db *database.DB, q sqlx.QueryerContext, consumer string) (eventstore.Cursor, error) {
	var cur eventstore.Cursor
	var tx int64
	err := q.QueryRowxContext(ctx, db.Rebind(catalogOf(db).checkpoint), consumer).Scan(&cur.Position, &tx)
	if errors.Is(err, sql.ErrNoRows) {
		return eventstore.Cursor{}, nil
	}
	if err != nil {
		return eventstore.Cursor{}, fmt.Errorf("read checkpoint of %s: %w", consumer, err)
	}
	cur.TxID = uint64(tx)
	return cur, nil
}

// comparison accumulates the differences found in the tables compared.
type comparison struct {
	max       int
	rows      int64
	differing int64
	diffs     []Difference
}

func (c *comparison) add(d Difference) {
	c.differing++
	if len(c.diffs) < c.max {
		c.diffs = append(c.diffs, d)
	}
}

// table compares the live table of s, read through snap, with its rebuild
// shadow, read through db: both in key order, merged as they stream.
func (c *comparison) table(ctx context.Context, db *database.DB, snap *sqlx.Tx, cat catalog, s tableShape, shadow string) error {
	live, err := snap.QueryxContext(ctx, s.selectSQL(cat, s.name))
	if err != nil {
		return fmt.Errorf("read %s: %w", s.name, err)
	}
	defer live.Close()
	rebuilt, err := db.QueryxContext(ctx, s.selectSQL(cat, shadow))
	if err != nil {
		return fmt.Errorf("read the rebuild of %s: %w", s.name, err)
	}
	defer rebuilt.Close()
	l, err := s.next(live)
	if err != nil {
		return fmt.Errorf("read %s: %w", s.name, err)
	}
	b, err := s.next(rebuilt)
	if err != nil {
		return fmt.Errorf("read the rebuild of %s: %w", s.name, err)
	}
	for l != nil || b != nil {
		c.rows++
		order := 0
		switch {
		case l == nil:
			order = 1
		case b == nil:
			order = -1
		default:
			order = s.compareKeys(l, b)
		}
		d := Difference{Table: s.name, Columns: s.columns}
		switch {
		case order < 0: // only live: a row the log does not explain
			d.Key, d.Live = s.keyOf(l), l
			c.add(d)
		case order > 0: // only rebuilt: a row the live read model lost
			d.Key, d.Rebuilt = s.keyOf(b), b
			c.add(d)
		default:
			for i, col := range s.columns {
				if l[i] != b[i] {
					d.Changed = append(d.Changed, col)
				}
			}
			if d.Changed != nil {
				d.Key, d.Live, d.Rebuilt = s.keyOf(l), l, b
				c.add(d)
			}
		}
		if order <= 0 {
			if l, err = s.next(live); err != nil {
				return fmt.Errorf("read %s: %w", s.name, err)
			}
		}
		if order >= 0 {
			if b, err = s.next(rebuilt); err != nil {
				return fmt.Errorf("read the rebuild of %s: %w", s.name, err)
			}
		}
	}
	return nil
}

// tableShape is what comparing a table needs: its columns and its key.
type tableShape struct {
	name    string
	columns []string
	// key holds the indexes in columns of the primary key's columns, in key
	// order; every column when the table has no primary key.
	key []int
}

// readShape reads the columns and the primary key of table from the catalog.
func readShape(ctx context.Context, db *database.DB, table string) (tableShape, error) {
	var cols []struct {
		Name string `db:"name"`
		Key  int    `db:"pk"` // position in the primary key, 0 when not in it
	}
	if err := db.SelectContext(ctx, &cols, db.Rebind(catalogOf(db).columns), table); err != nil {
		return tableShape{}, fmt.Errorf("read the columns of %s: %w", table, err)
	}
	if len(cols) == 0 {
		return tableShape{}, fmt.Errorf("table %s does not exist", table)
	}
	s := tableShape{name: table}
	byKey := map[int]int{}
	for i, c := range cols {
		s.columns = append(s.columns, c.Name)
		if c.Key > 0 {
			byKey[c.Key] = i
		}
	}
	for k := 1; k <= len(byKey); k++ {
		s.key = append(s.key, byKey[k])
	}
	if len(s.key) == 0 {
		for i := range s.columns {
			s.key = append(s.key, i)
		}
	}
	return s, nil
}

// selectSQL selects table's rows (of s's shape) as text, in key order. The
// order is that of the bytes, the order compareKeys keeps, whatever the
// columns' collations.
func (s tableShape) selectSQL(cat catalog, table string) string {
	cols := make([]string, len(s.columns))
	for i, c := range s.columns {
		cols[i] = fmt.Sprintf(cat.text, `"`+strings.ReplaceAll(c, `"`, `""`)+`"`)
	}
	order := make([]string, len(s.key))
	for i, k := range s.key {
		order[i] = cols[k] + cat.byBytes + ` NULLS FIRST`
	}
	return `SELECT ` + strings.Join(cols, ", ") + ` FROM ` + table + ` ORDER BY ` + strings.Join(order, ", ")
}

// next scans the next row, or returns nil at the end.
func (s tableShape) next(rows *sqlx.Rows) ([]sql.NullString, error) {
	if !rows.Next() {
		return nil, rows.Err()
	}
	vals := make([]sql.NullString, len(s.columns))
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, err
	}
	return vals, nil
}

// compareKeys orders two rows by key as selectSQL does: NULL first, then by bytes.
func (s tableShape) compareKeys(a, b []sql.NullString) int {
	for _, k := range s.key {
		x, y := a[k], b[k]
		switch {
		case x.Valid != y.Valid:
			if !x.Valid {
				return -1
			}
			return 1
		case x.String != y.String:
			return strings.Compare(x.String, y.String)
		}
	}
	return 0
}

// keyOf names a row by its key columns: `id="t1"`, `tenant_id="t1", host="a"`.
func (s tableShape) keyOf(row []sql.NullString) string {
	parts := make([]string, len(s.key))
	for i, k := range s.key {
		parts[i] = s.columns[k] + "=" + shortValue(row[k])
	}
	return strings.Join(parts, ", ")
}

// tableIdentities returns an identity of each table that changes when a
// replay swaps a new table in under its name (PostgreSQL: its oid; SQLite:
// its root page).
func tableIdentities(ctx context.Context, db *database.DB, tables []string) (map[string]int64, error) {
	q := db.Rebind(catalogOf(db).identity)
	out := make(map[string]int64, len(tables))
	for _, t := range tables {
		var id int64
		if err := db.GetContext(ctx, &id, q, t); err != nil {
			return nil, fmt.Errorf("identify table %s: %w", t, err)
		}
		out[t] = id
	}
	return out, nil
}
