package migrations

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"strings"

	"github.com/golang-migrate/migrate/v4/source"
	"github.com/golang-migrate/migrate/v4/source/iofs"

	"github.com/rustok/rustok/platform/database"
)

// noTxMarker, on a line of its own in a migration file, makes the runner
// apply the file outside a transaction, one statement at a time. Only
// PostgreSQL files may carry it, and only idempotent index statements may
// follow it (see checkNoTx): CREATE INDEX CONCURRENTLY cannot run inside a
// transaction, so a crash can leave such a file half done, and the runner
// recovers by running it again.
const noTxMarker = "rustok:no-transaction"

var noTxLine = regexp.MustCompile(`(?m)^[ \t]*--[ \t]*` + noTxMarker + `[ \t]*$`)

// script is one migration file, up or down.
type script struct {
	// body is the file as written; a transactional file runs as one Exec.
	body string
	// noTx reports whether the file carries the rustok:no-transaction marker.
	noTx bool
	// stmts are the file's statements without comments, in order.
	stmts []string
}

// migration is one version of the schema: its up and down files, and the
// objects its up file creates, by which a dirty mark is verified.
type migration struct {
	version uint
	// name is the file name between the version and ".up.sql".
	name string
	up   script
	// down is nil when the version has no down file.
	down *script
	// objects are the tables, indexes and columns the up file creates, in
	// file order; a file that creates none cannot be verified.
	objects []object
}

// objectKind is what kind of schema object an object is.
type objectKind int

// The kinds of object a dirty mark is verified by.
const (
	objectTable objectKind = iota
	objectIndex
	objectColumn
)

// object is a schema object a migration creates, named as the catalog
// stores it (unquoted names folded to lower case).
type object struct {
	kind objectKind
	// table is the table of a column.
	table string
	name  string
}

func (o object) String() string {
	switch o.kind {
	case objectIndex:
		return "index " + o.name
	case objectColumn:
		return "column " + o.table + "." + o.name
	}
	return "table " + o.name
}

// load reads the migrations of dialect d from fsys, which holds one folder
// per dialect ("sqlite", "postgres") of golang-migrate files
// (NNNNNN_name.up.sql, NNNNNN_name.down.sql), through golang-migrate's
// io/fs source. It returns them in version order, or an error naming the
// file that breaks a rule: a no-transaction marker in a SQLite file, a
// statement of a no-transaction file that is not an idempotent index
// statement, a no-transaction down file whose up file is transactional, or
// a transactional file that begins or ends a transaction itself.
func load(fsys fs.FS, d database.Dialect) ([]migration, error) {
	src, err := iofs.New(fsys, string(d))
	if err != nil {
		return nil, fmt.Errorf("open the %s migrations: %w", d, err)
	}
	defer src.Close()
	v, err := src.First()
	if err != nil {
		return nil, fmt.Errorf("read the %s migrations: %w", d, err)
	}
	var all []migration
	for {
		m, err := loadVersion(src, d, v)
		if err != nil {
			return nil, err
		}
		all = append(all, m)
		v, err = src.Next(v)
		if errors.Is(err, fs.ErrNotExist) {
			return all, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read the %s migrations: %w", d, err)
		}
	}
}

// loadVersion reads and checks the files of version v.
func loadVersion(src source.Driver, d database.Dialect, v uint) (migration, error) {
	m := migration{version: v}
	r, name, err := src.ReadUp(v)
	if err != nil {
		return m, fmt.Errorf("read the up file of %s migration %d: %w", d, v, err)
	}
	m.name = name
	if m.up, err = readScript(r); err != nil {
		return m, fmt.Errorf("read %s migration %d (%s): %w", d, v, name, err)
	}
	r, _, err = src.ReadDown(v)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return m, fmt.Errorf("read the down file of %s migration %d (%s): %w", d, v, name, err)
	default:
		down, err := readScript(r)
		if err != nil {
			return m, fmt.Errorf("read %s migration %d (%s): %w", d, v, name, err)
		}
		m.down = &down
	}
	if err := m.check(d); err != nil {
		return m, err
	}
	m.objects = createdObjects(m.up.stmts)
	return m, nil
}

func readScript(r io.ReadCloser) (script, error) {
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		return script{}, err
	}
	body := string(b)
	return script{body: body, noTx: noTxLine.MatchString(body), stmts: splitStatements(body)}, nil
}

// Statement shapes, matched against a statement without comments.
var (
	// ident captures an identifier, quoted or not.
	ident = `("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`

	createTableRE = regexp.MustCompile(`(?is)^create\s+(?:(?:global\s+|local\s+)?(?:temp|temporary|unlogged)\s+)?table\s+(?:if\s+not\s+exists\s+)?` + qualifiedGroup())
	createIndexRE = regexp.MustCompile(`(?is)^create\s+(?:unique\s+)?index\s+(concurrently\s+)?(if\s+not\s+exists\s+)?` + qualifiedGroup() + `\s+on\s`)
	addColumnRE   = regexp.MustCompile(`(?is)^alter\s+table\s+(?:if\s+exists\s+)?(?:only\s+)?` + qualifiedGroup() + `\s+add\s+(?:column\s+)?(?:if\s+not\s+exists\s+)?` + ident + `\s`)
	dropIndexRE   = regexp.MustCompile(`(?is)^drop\s+index\s+concurrently\s+if\s+exists\s+` + qualifiedGroup() + `$`)
	txControlRE   = regexp.MustCompile(`(?is)^(begin|commit|rollback|start\s+transaction)\b`)
)

// qualifiedGroup matches [schema.]name and captures name.
func qualifiedGroup() string {
	return `(?:(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)\.)?` + ident
}

// check enforces the rules on the files of m (see load).
func (m migration) check(d database.Dialect) error {
	for _, s := range []*script{&m.up, m.down} {
		if s == nil {
			continue
		}
		file := fmt.Sprintf("%s migration %d (%s)", d, m.version, m.name)
		if s == m.down {
			file += ", down file"
		}
		if s.noTx {
			if d != database.Postgres {
				return fmt.Errorf("%s is marked %s, which only PostgreSQL files may be: every SQLite migration runs in a transaction", file, noTxMarker)
			}
			if err := checkNoTx(file, s.stmts); err != nil {
				return err
			}
			continue
		}
		for i, stmt := range s.stmts {
			if txControlRE.MatchString(stmt) {
				return fmt.Errorf("%s: statement %d (%s) begins or ends a transaction, but the runner applies each file in a transaction of its own together with its version mark: remove it", file, i+1, firstWords(stmt))
			}
		}
	}
	if m.down != nil && m.down.noTx && !m.up.noTx {
		return fmt.Errorf("%s migration %d (%s): its down file is marked %s but its up file is not; a crash in the down file is repaired by running the up file again, which must then be idempotent too", d, m.version, m.name, noTxMarker)
	}
	return nil
}

// checkNoTx accepts a no-transaction file only when each statement can run
// again after a crash at any point: CREATE [UNIQUE] INDEX CONCURRENTLY IF NOT
// EXISTS with a name (an invalid index left by an interrupted build is
// dropped before the retry) and DROP INDEX CONCURRENTLY IF EXISTS.
func checkNoTx(file string, stmts []string) error {
	if len(stmts) == 0 {
		return fmt.Errorf("%s is marked %s but has no statement", file, noTxMarker)
	}
	for i, stmt := range stmts {
		if c := createIndexRE.FindStringSubmatch(stmt); c != nil && c[1] != "" && c[2] != "" {
			continue
		}
		if dropIndexRE.MatchString(stmt) {
			continue
		}
		return fmt.Errorf("%s is marked %s, so each statement must be CREATE [UNIQUE] INDEX CONCURRENTLY IF NOT EXISTS name ON … or DROP INDEX CONCURRENTLY IF EXISTS name, which a retry after a crash can run again; statement %d (%s) is not: move it to a transactional file of its own", file, noTxMarker, i+1, firstWords(stmt))
	}
	return nil
}

// createdObjects lists the tables, named indexes and added columns that
// stmts create, in order.
func createdObjects(stmts []string) []object {
	var objs []object
	for _, stmt := range stmts {
		if c := createTableRE.FindStringSubmatch(stmt); c != nil {
			objs = append(objs, object{kind: objectTable, name: catalogName(c[1])})
		} else if c := createIndexRE.FindStringSubmatch(stmt); c != nil {
			objs = append(objs, object{kind: objectIndex, name: catalogName(c[3])})
		} else if c := addColumnRE.FindStringSubmatch(stmt); c != nil {
			objs = append(objs, object{kind: objectColumn, table: catalogName(c[1]), name: catalogName(c[2])})
		}
	}
	return objs
}

// indexesCreated returns the names of the indexes stmts create.
func indexesCreated(stmts []string) []string {
	var names []string
	for _, stmt := range stmts {
		if c := createIndexRE.FindStringSubmatch(stmt); c != nil {
			names = append(names, catalogName(c[3]))
		}
	}
	return names
}

// catalogName turns an identifier as written into the name the catalog
// holds: a quoted one unquoted, an unquoted one folded to lower case.
func catalogName(id string) string {
	if strings.HasPrefix(id, `"`) {
		return strings.ReplaceAll(id[1:len(id)-1], `""`, `"`)
	}
	return strings.ToLower(id)
}

// firstWords returns the start of stmt, for messages.
func firstWords(stmt string) string {
	f := strings.Fields(stmt)
	if len(f) > 6 {
		return strings.Join(f[:6], " ") + " …"
	}
	return strings.Join(f, " ")
}

// splitStatements splits a SQL file into its statements at the semicolons
// that are outside quotes ('…', "…", $tag$…$tag$) and comments (-- and
// /* */), drops the comments, and returns the statements trimmed, without
// their semicolon, leaving out empty ones. It is used to inspect files and
// to run no-transaction files statement by statement; a transactional file
// runs as written. A SQLite trigger body (BEGIN … END with semicolons
// inside) is split too, which inspection tolerates.
func splitStatements(sql string) []string {
	var (
		stmts []string
		cur   strings.Builder
	)
	flush := func() {
		if s := strings.TrimSpace(cur.String()); s != "" {
			stmts = append(stmts, s)
		}
		cur.Reset()
	}
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == '-' && strings.HasPrefix(sql[i:], "--"):
			end := strings.IndexByte(sql[i:], '\n')
			if end < 0 {
				i = len(sql)
				continue
			}
			cur.WriteByte(' ')
			i += end + 1
		case c == '/' && strings.HasPrefix(sql[i:], "/*"):
			end := strings.Index(sql[i+2:], "*/")
			if end < 0 {
				i = len(sql)
				continue
			}
			cur.WriteByte(' ')
			i += 2 + end + 2
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(sql) {
				if sql[j] == c {
					if j+1 < len(sql) && sql[j+1] == c { // doubled quote
						j += 2
						continue
					}
					break
				}
				j++
			}
			end := min(j+1, len(sql))
			cur.WriteString(sql[i:end])
			i = end
		case c == '$':
			if tag := dollarTag(sql[i:]); tag != "" {
				end := strings.Index(sql[i+len(tag):], tag)
				stop := len(sql)
				if end >= 0 {
					stop = i + len(tag) + end + len(tag)
				}
				cur.WriteString(sql[i:stop])
				i = stop
				continue
			}
			cur.WriteByte(c)
			i++
		case c == ';':
			flush()
			i++
		default:
			cur.WriteByte(c)
			i++
		}
	}
	flush()
	return stmts
}

var dollarTagRE = regexp.MustCompile(`^\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$`)

// dollarTag returns the $tag$ that s starts with, or "" ($1 is a parameter,
// not a tag).
func dollarTag(s string) string {
	return dollarTagRE.FindString(s)
}
