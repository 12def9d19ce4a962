package database_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rustok/rustok/platform/database"
)

// TestOpenErrorsHideSecrets opens database URLs that hold a secret in every
// place a PostgreSQL URL can: Open fails (closed port, bad URL, bad scheme)
// with an error that names the database but shows no part of a secret, and
// still unwraps to the driver's error.
func TestOpenErrorsHideSecrets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		raw      string
		wantText string // the start of the error
		wantPg   bool   // errors.As finds a *pgconn.ConnectError
	}{
		{
			name:     "userinfo password, closed port",
			raw:      "postgres://rustok:pw-Secret-1@127.0.0.1:1/rustok?sslmode=disable&connect_timeout=2",
			wantText: "cannot reach PostgreSQL at postgres://rustok:xxxxx@127.0.0.1:1/rustok?sslmode=disable&connect_timeout=2: ",
			wantPg:   true,
		},
		{
			name:     "password query parameter, closed port",
			raw:      "postgres://rustok@127.0.0.1:1/rustok?password=pw-Secret-2&sslmode=disable&connect_timeout=2",
			wantText: "cannot reach PostgreSQL at postgres://rustok@127.0.0.1:1/rustok?password=xxxxx&sslmode=disable&connect_timeout=2: ",
			wantPg:   true,
		},
		{
			name:     "sslpassword query parameter, closed port",
			raw:      "postgresql://rustok:pw-Secret-3@127.0.0.1:1/rustok?sslmode=disable&sslpassword=pw-Secret-4&connect_timeout=2",
			wantText: "cannot reach PostgreSQL at postgresql://rustok:xxxxx@127.0.0.1:1/rustok?sslmode=disable&sslpassword=xxxxx&connect_timeout=2: ",
			wantPg:   true,
		},
		{
			name:     "unencoded '/' in the password",
			raw:      "postgres://rustok:pw/Secret-5@127.0.0.1:1/rustok?connect_timeout=2",
			wantText: "database.url: not a valid PostgreSQL URL (postgres://rustok:xxxxx@127.0.0.1:1/rustok?connect_timeout=2)",
		},
		{
			name:     "not a URL",
			raw:      "postgres://rustok:pw Secret 6@[::1/rustok",
			wantText: "database.url: not a valid PostgreSQL URL (postgres://rustok:xxxxx@[::1/rustok)",
		},
		{
			name:     "keyword DSN",
			raw:      "host=127.0.0.1 port=1 password=pw-Secret-7",
			wantText: "database.url: scheme must be sqlite:// or postgres:// (got host=127.0.0.1 port=1 password=xxxxx)",
		},
		{
			name:     "scheme without password",
			raw:      "mysql://rustok:pw-Secret-8@db/rustok?password=pw-Secret-9",
			wantText: "database.url: scheme must be sqlite:// or postgres:// (got mysql://rustok:xxxxx@db/rustok?password=xxxxx)",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db, err := database.Open(context.Background(), tc.raw, database.Options{MaxOpenConns: 1})
			if err == nil {
				_ = db.Close()
				t.Fatal("Open succeeded, want an error")
			}
			msg := err.Error()
			if strings.Contains(msg, "pw") {
				t.Errorf("error shows (part of) a secret: %s", msg)
			}
			if !strings.HasPrefix(msg, tc.wantText) {
				t.Errorf("error:\n got %s\nwant %s…", msg, tc.wantText)
			}
			var connErr *pgconn.ConnectError
			if tc.wantPg && !errors.As(err, &connErr) {
				t.Errorf("errors.As(*pgconn.ConnectError) = false for %v", err)
			}
		})
	}
}
