package pgcluster_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the pgx database/sql driver

	"github.com/rustok/rustok/platform/database/pgcluster"
)

// TestStopAndResume: a cluster answers, refuses while stopped, and answers
// again after Resume on the same URL.
func TestStopAndResume(t *testing.T) {
	t.Parallel()
	c := pgcluster.Start(t)
	ping := func() error {
		db, err := sql.Open("pgx", c.URL("connect_timeout=2"))
		if err != nil {
			return err
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		return db.PingContext(ctx)
	}
	if err := ping(); err != nil {
		t.Fatalf("a started cluster does not answer: %v", err)
	}
	c.Stop()
	if err := ping(); err == nil {
		t.Fatal("a stopped cluster answers")
	}
	c.Resume()
	if err := ping(); err != nil {
		t.Fatalf("a resumed cluster does not answer: %v", err)
	}
}
