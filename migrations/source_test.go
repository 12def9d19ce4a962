package migrations

import (
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/rustok/rustok/platform/database"
)

func TestSplitStatements(t *testing.T) {
	tests := []struct {
		name string
		sql  string
		want []string
	}{
		{"two statements", "CREATE TABLE a (x int);\nCREATE TABLE b (y int);\n", []string{"CREATE TABLE a (x int)", "CREATE TABLE b (y int)"}},
		{"comments dropped, semicolons in them ignored", "-- a; comment\nSELECT 1; /* b; c */ SELECT 2 -- d;\n", []string{"SELECT 1", "SELECT 2"}},
		{"semicolons in quotes kept", `INSERT INTO t VALUES ('a;b', 'it''s;'); SELECT "x;y" FROM t`, []string{`INSERT INTO t VALUES ('a;b', 'it''s;')`, `SELECT "x;y" FROM t`}},
		{"dollar quotes", "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql; SELECT $$;$$", []string{"CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql", "SELECT $$;$$"}},
		{"a parameter is not a dollar quote", "SELECT $1; SELECT 2", []string{"SELECT $1", "SELECT 2"}},
		{"empty statements and comment-only files", "-- nothing\n;;\n", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := splitStatements(tc.sql)
			for i := range got {
				got[i] = strings.Join(strings.Fields(got[i]), " ")
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCreatedObjects(t *testing.T) {
	stmts := splitStatements(`
		CREATE TABLE IF NOT EXISTS Events (x int);
		CREATE TABLE "Quoted ""T""" (x int);
		create unique index concurrently if not exists public.ev_idx ON events (x);
		CREATE INDEX ON events (x);
		ALTER TABLE ONLY events ADD COLUMN IF NOT EXISTS y text;
		INSERT INTO events VALUES (1);`)
	var got []string
	for _, o := range createdObjects(stmts) {
		got = append(got, o.String())
	}
	want := []string{"table events", `table Quoted "T"`, "index ev_idx", "column events.y"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestEmbeddedMigrationsLoad checks the files shipped in the binary against
// the rules, and that every one can be verified after a crash (it creates
// something to look for).
func TestEmbeddedMigrationsLoad(t *testing.T) {
	for _, d := range []database.Dialect{database.SQLite, database.Postgres} {
		all, err := load(files, d)
		if err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		for _, m := range all {
			if len(m.objects) == 0 {
				t.Errorf("%s migration %d (%s) creates nothing a dirty mark could be verified by", d, m.version, m.name)
			}
			if m.down == nil {
				t.Errorf("%s migration %d (%s) has no down file", d, m.version, m.name)
			}
		}
	}
}

// TestLoadRules: files that break a rule are refused when the runner is
// built, with a message naming the file and the rule.
func TestLoadRules(t *testing.T) {
	tests := []struct {
		name    string
		dialect database.Dialect
		files   map[string]string
		wantErr string
	}{
		{
			name:    "a no-transaction file holding only idempotent index statements is accepted",
			dialect: database.Postgres,
			files: map[string]string{
				"postgres/000001_idx.up.sql":   "-- rustok:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS a_idx ON a (x);\nCREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS b_key ON a (y);\n",
				"postgres/000001_idx.down.sql": "-- rustok:no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS a_idx;\nDROP INDEX CONCURRENTLY IF EXISTS b_key;\n",
			},
		},
		{
			name:    "no-transaction on SQLite",
			dialect: database.SQLite,
			files:   map[string]string{"sqlite/000001_idx.up.sql": "-- rustok:no-transaction\nCREATE INDEX a_idx ON a (x);\n"},
			wantErr: "sqlite migration 1 (idx) is marked rustok:no-transaction, which only PostgreSQL files may be",
		},
		{
			name:    "a no-transaction index without IF NOT EXISTS cannot be retried",
			dialect: database.Postgres,
			files:   map[string]string{"postgres/000001_idx.up.sql": "-- rustok:no-transaction\nCREATE INDEX CONCURRENTLY a_idx ON a (x);\n"},
			wantErr: "statement 1 (CREATE INDEX CONCURRENTLY a_idx ON a …) is not",
		},
		{
			name:    "a table in a no-transaction file",
			dialect: database.Postgres,
			files:   map[string]string{"postgres/000001_t.up.sql": "-- rustok:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS a_idx ON a (x);\nCREATE TABLE b (x int);\n"},
			wantErr: "statement 2 (CREATE TABLE b (x int)) is not: move it to a transactional file of its own",
		},
		{
			name:    "a no-transaction down file under a transactional up file",
			dialect: database.Postgres,
			files: map[string]string{
				"postgres/000001_idx.up.sql":   "CREATE INDEX a_idx ON a (x);\n",
				"postgres/000001_idx.down.sql": "-- rustok:no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS a_idx;\n",
			},
			wantErr: "its down file is marked rustok:no-transaction but its up file is not",
		},
		{
			name:    "a transactional file that commits by itself",
			dialect: database.SQLite,
			files:   map[string]string{"sqlite/000001_t.up.sql": "CREATE TABLE a (x int);\nCOMMIT;\nCREATE TABLE b (x int);\n"},
			wantErr: "statement 2 (COMMIT) begins or ends a transaction",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for name, body := range tc.files {
				fsys[name] = &fstest.MapFile{Data: []byte(body)}
			}
			_, err := load(fsys, tc.dialect)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want one saying %q", err, tc.wantErr)
			}
		})
	}
}
