package main

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	tenantcmd "github.com/rustok/rustok/commands/tenant"
	"github.com/rustok/rustok/eventstore/relay"
	"github.com/rustok/rustok/platform/database"
	"github.com/rustok/rustok/platform/database/dbtest"
	tenantqry "github.com/rustok/rustok/queries/tenant"
)

// crashEnv is a database shared by this test process (the writer, through
// the command handlers, as the API will be) and rustok processes started
// from the built binary.
type crashEnv struct {
	t   *testing.T
	bin string
	dir string
	env []string
	a   *app
	h   tenantHandlers
}

func newCrashEnv(t *testing.T, dbURL string) *crashEnv {
	t.Helper()
	e := &crashEnv{t: t, bin: buildBinary(t), dir: t.TempDir()}
	e.env = []string{
		"HOME=" + os.Getenv("HOME"), "PATH=" + os.Getenv("PATH"),
		"RUSTOK_DATABASE__URL=" + dbURL,
		"RUSTOK_SERVER__PORT=0",
		"RUSTOK_LOGGER__LEVEL=warn",
		"RUSTOK_SETTINGS__RUSTOK__RATE_LIMIT__ENABLED=false",
		"RUSTOK_SETTINGS__RUSTOK__EVENTS__POLL_INTERVAL=100ms",
	}
	if r := runBinary(t, e.bin, e.dir, e.env, "migrate", "up"); r.code != 0 {
		t.Fatalf("migrate up: %s", r.stderr)
	}
	cfg := testConfig(dbURL)
	a, err := build(context.Background(), cfg, slog.New(slog.DiscardHandler), buildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	if e.h, err = newTenantHandlers(a); err != nil {
		t.Fatal(err)
	}
	e.a = a
	return e
}

// write creates tenants and renames them from 8 goroutines until stop is
// closed, and returns, per slug, the name of its last acknowledged write.
func (e *crashEnv) write(stop <-chan struct{}, prefix string) func() map[string]string {
	var mu sync.Mutex
	acked := map[string]string{}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				slug := fmt.Sprintf("%s-%d-%d", prefix, w, i/3)
				name := fmt.Sprintf("Tenant %d/%d", w, i)
				var err error
				if i%3 == 0 {
					_, err = e.h.create.Handle(ctx, tenantcmd.CreateTenant{Slug: slug, Name: name})
				} else {
					_, err = e.h.update.Handle(ctx, tenantcmd.UpdateTenant{Tenant: slug, Name: &name})
				}
				if err != nil {
					e.t.Errorf("write %s: %v", slug, err)
					return
				}
				mu.Lock()
				acked[slug] = name
				mu.Unlock()
			}
		}()
	}
	return func() map[string]string {
		wg.Wait()
		return acked
	}
}

// caughtUp waits until every projection has processed the whole log.
func (e *crashEnv) caughtUp(within time.Duration) {
	e.t.Helper()
	deadline := time.Now().Add(within)
	for {
		sts, err := relay.Statuses(context.Background(), e.a.store, e.a.consumers)
		if err != nil {
			e.t.Fatal(err)
		}
		done := true
		for _, s := range sts {
			if s.DeadLetters > 0 {
				e.t.Fatalf("consumer %s dead-lettered %d events", s.Name, s.DeadLetters)
			}
			done = done && s.LagEvents == 0
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("projections not caught up after %v: %+v", within, sts)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkReadModel asserts that every acknowledged write is in the read model
// with its last name, and that the read model holds nothing else of prefix.
func (e *crashEnv) checkReadModel(acked map[string]string) {
	e.t.Helper()
	r := tenantqry.NewReader(e.a.db)
	for slug, name := range acked {
		v, err := r.Lookup(context.Background(), "slug", slug)
		if err != nil {
			e.t.Fatalf("acknowledged tenant %s is not in the read model: %v", slug, err)
		}
		if v.Name != name {
			e.t.Fatalf("tenant %s reads %q, its last acknowledged write was %q", slug, v.Name, name)
		}
	}
}

// TestKillServeUnderWrites kills `rustok serve` (kill -9) at random moments
// while writes go on, five times, restarting it each time (issue 14): every
// acknowledged write is in the log and in the read model, no consumer is
// stuck or dead-lettered. On SQLite and PostgreSQL.
func TestKillServeUnderWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("kills the built binary; skipped with -short")
	}
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		e := newCrashEnv(t, dbURL)
		stop := make(chan struct{})
		wait := e.write(stop, "k")
		for round := range 5 {
			srv := startProcess(t, e.bin, e.dir, e.env, "serve")
			srv.waitFor(t, "the addresses on stdout", 2*time.Minute, func() bool {
				return bannerLines(srv.stdout.String())["GraphQL API"] != ""
			})
			time.Sleep(time.Duration(50+rand.IntN(700)) * time.Millisecond)
			if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatalf("round %d: kill: %v", round, err)
			}
			<-srv.done
		}
		close(stop)
		acked := wait()
		// A last start that lives: it catches up.
		srv := startProcess(t, e.bin, e.dir, e.env, "serve")
		srv.waitFor(t, "the addresses on stdout", 2*time.Minute, func() bool {
			return bannerLines(srv.stdout.String())["GraphQL API"] != ""
		})
		e.caughtUp(time.Minute)
		e.checkReadModel(acked)
		t.Logf("%d tenants written through 5 kills of serve", len(acked))
		e.verifyClean()
	})
}

// verifyClean runs `rustok projections verify --all`: every read model
// equals a rebuild from the log.
func (e *crashEnv) verifyClean() {
	e.t.Helper()
	if r := runBinary(e.t, e.bin, e.dir, e.env, "projections", "verify", "--all"); r.code != 0 {
		e.t.Fatalf("projections verify --all: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestWorkersShareConsumers runs two `rustok worker` processes and one
// `rustok serve --no-workers` on one PostgreSQL database while 1000 writes
// arrive from 8 writers, and kills one worker halfway (issue 14): every
// write is projected exactly once (each tenant's read-model version is its
// stream's), and the other worker takes the consumer group over.
func TestWorkersShareConsumers(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three processes of the built binary; skipped with -short")
	}
	t.Parallel()
	dbURL := dbtest.URL(t, database.Postgres)
	e := newCrashEnv(t, dbURL)
	api := startProcess(t, e.bin, e.dir, e.env, "serve", "--no-workers")
	w1 := startProcess(t, e.bin, e.dir, e.env, "worker")
	w2 := startProcess(t, e.bin, e.dir, e.env, "worker")
	api.waitFor(t, "the API to listen", 2*time.Minute, func() bool {
		return bannerLines(api.stdout.String())["GraphQL API"] != ""
	})
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < 1000; i += 8 {
				if i == 500 {
					_ = w1.cmd.Process.Signal(syscall.SIGKILL)
				}
				if _, err := e.h.create.Handle(ctx, tenantcmd.CreateTenant{Slug: fmt.Sprintf("w-%d", i), Name: fmt.Sprintf("W %d", i)}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("write: %v", err)
	}
	e.caughtUp(2 * time.Minute)
	var rows []struct {
		Slug    string `db:"slug"`
		Version int64  `db:"version"`
	}
	if err := e.a.db.SelectContext(ctx, &rows, `SELECT slug, version FROM rm_tenants WHERE slug LIKE 'w-%'`); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1000 {
		t.Fatalf("%d tenants in the read model, want 1000", len(rows))
	}
	for _, r := range rows {
		if r.Version != 1 {
			t.Fatalf("tenant %s at version %d: an event applied twice or lost", r.Slug, r.Version)
		}
	}
	select {
	case <-w2.done:
		t.Fatalf("the surviving worker exited with %d: %s", w2.code, tail(w2.stderr.String(), 20))
	default:
	}
	e.verifyClean()
}
