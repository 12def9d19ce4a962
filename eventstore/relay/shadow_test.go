package relay_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/rustok/rustok/eventstore/relay"
	"github.com/rustok/rustok/platform/database"
	"github.com/rustok/rustok/platform/database/dbtest"
)

// plantShadow creates the tables an interrupted run of generation gen would
// have left for p.
func plantShadow(t testing.TB, db *database.DB, p *tallyProjection, gen string) []string {
	t.Helper()
	tables := []string{p.streams + "__" + gen, p.words + "__" + gen}
	for _, name := range tables {
		if _, err := db.Exec(`CREATE TABLE ` + name + ` (stream_id TEXT PRIMARY KEY)`); err != nil {
			t.Fatalf("plant %s: %v", name, err)
		}
	}
	return tables
}

func listTableNames(t testing.TB, db *database.DB) []string {
	t.Helper()
	q := `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`
	if db.Dialect() == database.Postgres {
		q = `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename`
	}
	var names []string
	if err := db.Select(&names, q); err != nil {
		t.Fatal(err)
	}
	return names
}

// lockFiles lists the shadow lock files next to an SQLite database.
func lockFiles(t testing.TB, db *database.DB) []string {
	t.Helper()
	if db.Dialect() != database.SQLite {
		return nil
	}
	files, err := filepath.Glob(db.Target.Path + "-shadow-*")
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestDropShadowsKeepsRunningReplay: the shadow tables of interrupted runs
// are dropped; those of a replay in progress (stopped after a batch) are
// kept, and that replay then finishes; tables that only look alike and the
// live tables are untouched.
func TestDropShadowsKeepsRunningReplay(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		e := newEnv(t, dbURL)
		p := newTally(t, e.db, "keep")
		other := newTally(t, e.db, "other")
		c, oc := p.consumer("keep"), other.consumer("other")
		e.catchUpConsumer(t, c, e.appendWords(t, []string{"s0", "s1", "s2"}, 20).Position)
		live := tableDump(t, e.db, p.streams) + tableDump(t, e.db, p.words)

		dead := append(plantShadow(t, e.db, p, "r1dead"), plantShadow(t, e.db, other, "r2dead")...)
		lookalikes := []string{p.streams + "__old_copy", p.streams + "__r5_backup", p.streams + "_r4"}
		for _, name := range lookalikes {
			if _, err := e.db.Exec(`CREATE TABLE ` + name + ` (x TEXT)`); err != nil {
				t.Fatal(err)
			}
		}

		// A replay that stops after its second batch, holding its shadow tables.
		paused, resume := make(chan struct{}), make(chan struct{})
		done := make(chan error, 1)
		rp := e.newReplayer(t)
		go func() {
			batches := 0
			_, err := rp.Replay(context.Background(), c, relay.ReplayOptions{BatchSize: 10, Progress: func(int64, int64) {
				if batches++; batches == 2 {
					close(paused)
					<-resume
				}
			}})
			done <- err
		}()
		select {
		case <-paused:
		case err := <-done:
			t.Fatalf("replay ended before its second batch: %v", err)
		}
		// The replay dropped the interrupted shadow of its own projection as it began.
		found, err := relay.Shadows(context.Background(), e.db, []relay.Consumer{c, oc})
		if err != nil {
			t.Fatal(err)
		}
		if len(found) != 2 || found[0].Consumer != "keep" || !found[0].Running || found[1].Consumer != "other" || found[1].Running {
			t.Fatalf("shadows during the replay: %+v, want keep's running one and other's interrupted one", found)
		}
		running := found[0].Tables

		dropped, err := relay.DropShadows(context.Background(), e.db, []relay.Consumer{c, oc})
		if err != nil {
			t.Fatal(err)
		}
		if len(dropped) != 2 || !dropped[0].Running || dropped[1].Running || !slices.Equal(dropped[1].Tables, dead[2:]) {
			t.Fatalf("DropShadows returned %+v", dropped)
		}
		names := listTableNames(t, e.db)
		for _, n := range dead {
			if slices.Contains(names, n) {
				t.Errorf("shadow table %s of an interrupted run is still there", n)
			}
		}
		for _, n := range append(running, lookalikes...) {
			if !slices.Contains(names, n) {
				t.Errorf("table %s was dropped, but it belongs to a running replay or is no shadow", n)
			}
		}
		if got := tableDump(t, e.db, p.streams) + tableDump(t, e.db, p.words); got != live {
			t.Fatal("the live read model changed during the cleanup")
		}

		close(resume)
		if err := <-done; err != nil {
			t.Fatalf("the replay whose shadow tables were kept failed: %v", err)
		}
		if got := tableDump(t, e.db, p.streams) + tableDump(t, e.db, p.words); got != live {
			t.Fatal("the replay changed the read model")
		}
		assertNoShadows(t, e.db, c, oc)
		if files := lockFiles(t, e.db); len(files) > 0 {
			t.Fatalf("lock files left behind: %v", files)
		}
	})
}

// TestReplayDropsLeftoverShadows: a replay drops what interrupted replays of
// its projection left, and only that.
func TestReplayDropsLeftoverShadows(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		e := newEnv(t, dbURL)
		p := newTally(t, e.db, "left")
		other := newTally(t, e.db, "others")
		c, oc := p.consumer("left"), other.consumer("others")
		e.catchUpConsumer(t, c, e.appendWords(t, []string{"s0", "s1"}, 15).Position)
		live := tableDump(t, e.db, p.streams) + tableDump(t, e.db, p.words)
		plantShadow(t, e.db, p, "r1")
		plantShadow(t, e.db, p, "r2")
		kept := plantShadow(t, e.db, other, "r3")
		if e.db.Dialect() == database.SQLite {
			// A run killed after taking its lock but before its first table.
			if err := os.WriteFile(e.db.Target.Path+"-shadow-r4.lock", nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}

		if _, err := e.newReplayer(t).Replay(context.Background(), c, relay.ReplayOptions{}); err != nil {
			t.Fatal(err)
		}
		assertNoShadows(t, e.db, c)
		found, err := relay.Shadows(context.Background(), e.db, []relay.Consumer{oc})
		if err != nil {
			t.Fatal(err)
		}
		if len(found) != 1 || !slices.Equal(found[0].Tables, kept) {
			t.Fatalf("shadows of another projection: %+v, want %v kept", found, kept)
		}
		if got := tableDump(t, e.db, p.streams) + tableDump(t, e.db, p.words); got != live {
			t.Fatal("the replay changed the read model")
		}
		if files := lockFiles(t, e.db); len(files) > 0 {
			t.Fatalf("lock files left behind: %v", files)
		}
	})
}
