package database_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rustok/rustok/platform/database"
)

// TestSQLiteSynchronous: SQLite opens with synchronous=FULL unless told
// NORMAL, on every connection of the pool, and refuses any other setting.
func TestSQLiteSynchronous(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		sync    database.Synchronous
		want    string // PRAGMA synchronous: 2 FULL, 1 NORMAL
		wantErr string
	}{
		{name: "default is full", sync: "", want: "2"},
		{name: "full", sync: database.SynchronousFull, want: "2"},
		{name: "normal", sync: database.SynchronousNormal, want: "1"},
		{name: "anything else is refused", sync: "off", wantErr: `database.sqlite_synchronous: must be full or normal, got "off"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			raw := "sqlite://" + filepath.Join(t.TempDir(), "x.db")
			db, err := database.Open(context.Background(), raw, database.Options{MaxOpenConns: 3, SQLiteSynchronous: tc.sync})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("open: %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			// Hold several connections at once, so that each is asked.
			conns := make([]interface{ Close() error }, 0, 3)
			for range 3 {
				c, err := db.Conn(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				var got string
				if err := c.QueryRowContext(context.Background(), `PRAGMA synchronous`).Scan(&got); err != nil {
					t.Fatal(err)
				}
				if got != tc.want {
					t.Errorf("PRAGMA synchronous = %s, want %s", got, tc.want)
				}
				conns = append(conns, c)
			}
			for _, c := range conns {
				_ = c.Close()
			}
		})
	}
}
