package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rustok/rustok/migrations"
	"github.com/rustok/rustok/platform/database"
	"github.com/rustok/rustok/platform/database/dbtest"
)

// migrationKillOffsets are how long after its start each killed process
// lives: every millisecond from 0 to 60 (the window in which the dirty
// marks were seen), then about 30 more offsets, at least 5 ms apart, up to
// 1.5 times run (at least 150 ms), run being how long a whole `migrate up`
// took just before under the same load: the kills must reach the end of
// the migrations however slow the machine is today (a whole run takes
// ~40 ms on SQLite and ~110 ms on PostgreSQL here when the machine is quiet).
func migrationKillOffsets(run time.Duration) []time.Duration {
	var ds []time.Duration
	for ms := range 61 {
		ds = append(ds, time.Duration(ms)*time.Millisecond)
	}
	end := max(150*time.Millisecond, run*3/2)
	step := max(5*time.Millisecond, (end-65*time.Millisecond)/30)
	for d := 65 * time.Millisecond; d <= end; d += step {
		ds = append(ds, d)
	}
	return ds
}

// uninterruptedMigrateUp returns how long the slowest of
// migrationKillWorkers `rustok migrate up` processes, started at once on
// fresh databases, took to finish.
func uninterruptedMigrateUp(bin string, dirs func() string, newDB freshDatabase) (time.Duration, error) {
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		longest time.Duration
		errs    = make([]error, migrationKillWorkers)
	)
	for i := range migrationKillWorkers {
		dir := dirs()
		wg.Go(func() {
			raw, drop, err := newDB(dir)
			if err != nil {
				errs[i] = err
				return
			}
			defer func() { _ = drop() }()
			cmd := exec.Command(bin, "migrate", "up")
			cmd.Dir = dir
			cmd.Env = []string{"HOME=" + os.Getenv("HOME"), "PATH=" + os.Getenv("PATH"), "RUSTOK_DATABASE__URL=" + raw, "RUSTOK_LOGGER__LEVEL=warn"}
			start := time.Now()
			if out, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("migrate up: %w: %s", err, out)
				return
			}
			mu.Lock()
			longest = max(longest, time.Since(start))
			mu.Unlock()
		})
	}
	wg.Wait()
	return longest, errors.Join(errs...)
}

// migrationKillWorkers is how many attempts run at once per dialect:
// enough to keep the test well under its time budget on 2 cores, few
// enough that the machine is not swamped.
const migrationKillWorkers = 4

// TestKillDuringMigrations is the proof that a crash at any instant of a
// migration leaves a database the next start migrates without help. On
// each dialect, for `rustok migrate up` and for `rustok serve` on a fresh
// database (its first start, which migrates), at every millisecond from 0
// to 60 after the process starts and then further out to the end of an
// uninterrupted run (migrationKillOffsets), it kills the process with
// SIGKILL and then checks that:
//
//   - the schema mark it left is never dirty (each migration commits with
//     its version mark in one transaction);
//   - the next `rustok serve` becomes ready (/health/ready answers 200);
//   - `rustok migrate status` then reports the latest version, up to date.
//
// Before crash-safe migrations many attempts left "dirty" (35 of 122 on
// PostgreSQL, 10 of 122 on SQLite in the first 60 ms) and every later
// start refused. It then starts 4 serve processes at once on a fresh
// database (concurrentFirstStarts).
func TestKillDuringMigrations(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and kills it about 360 times; skipped with -short")
	}
	t.Parallel()
	bin := buildBinary(t)
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			newDB := freshSQLiteDatabases()
			if d == database.Postgres {
				newDB = freshPostgresSchemas(t)
			}
			run, err := uninterruptedMigrateUp(bin, func() string { return t.TempDir() }, newDB)
			if err != nil {
				t.Fatalf("an uninterrupted migrate up: %v", err)
			}
			offsets := migrationKillOffsets(run)
			start := time.Now()
			var (
				mu     sync.Mutex
				left   = map[string]int{} // what the killed process left: "version N" or "dirty N"
				failed int
			)
			type attempt struct {
				args   []string
				offset time.Duration
			}
			work := make(chan attempt)
			var wg sync.WaitGroup
			for range migrationKillWorkers {
				wg.Go(func() {
					for a := range work {
						state, err := migrationKillAttempt(bin, t.TempDir(), newDB, a.args, a.offset)
						mu.Lock()
						left[state]++
						if err != nil {
							failed++
							if failed <= 10 {
								t.Errorf("kill -9 of `rustok %s` %v after its start: %v", strings.Join(a.args, " "), a.offset, err)
							}
						}
						mu.Unlock()
					}
				})
			}
			for _, args := range [][]string{{"migrate", "up"}, {"serve"}} {
				for _, offset := range offsets {
					work <- attempt{args: args, offset: offset}
				}
			}
			close(work)
			wg.Wait()
			if failed > 10 {
				t.Errorf("%d more attempts failed", failed-10)
			}
			t.Logf("%d attempts (kills 0-%v after the start; an uninterrupted migrate up took %v) in %s; schema left by the killed process: %v",
				2*len(offsets), offsets[len(offsets)-1], run.Round(time.Millisecond), time.Since(start).Round(time.Millisecond), left)

			// Instances starting together on one fresh database migrate it once.
			if err := concurrentFirstStarts(bin, t.TempDir(), newDB, 4); err != nil {
				t.Errorf("4 serve processes started at once: %v", err)
			}
		})
	}
}

// freshDatabase returns the URL of a fresh, empty database (a SQLite file in
// dir, or a PostgreSQL schema) and a function that removes it.
type freshDatabase func(dir string) (raw string, drop func() error, err error)

func freshSQLiteDatabases() freshDatabase {
	return func(dir string) (string, func() error, error) {
		return "sqlite://" + filepath.Join(dir, "data", "rustok.db"), func() error { return nil }, nil
	}
}

func freshPostgresSchemas(t *testing.T) freshDatabase {
	schemas := dbtest.NewSchemas(t)
	return func(string) (string, func() error, error) {
		return schemas.New(context.Background())
	}
}

// migrateStatusLine is the output of `rustok migrate status`.
var migrateStatusLine = regexp.MustCompile(`^version (\d+) of (\d+) \((.*)\)\n$`)

// migrationKillAttempt runs one attempt of TestKillDuringMigrations in dir:
// it starts `rustok args...` on a fresh database, kills it after offset, and
// checks what is left and that the next start and status are right. It
// returns what the killed process left ("version N", "dirty N") and the
// first thing that was wrong. It does not touch a *testing.T, so that
// attempts can run in goroutines.
func migrationKillAttempt(bin, dir string, newDB freshDatabase, args []string, offset time.Duration) (string, error) {
	raw, drop, err := newDB(dir)
	if err != nil {
		return "no database", err
	}
	defer func() { _ = drop() }()
	env := []string{
		"HOME=" + os.Getenv("HOME"), "PATH=" + os.Getenv("PATH"),
		"RUSTOK_DATABASE__URL=" + raw, "RUSTOK_SERVER__PORT=0", "RUSTOK_LOGGER__LEVEL=warn",
	}

	// The victim.
	victim := exec.Command(bin, args...)
	victim.Dir, victim.Env = dir, env
	if err := victim.Start(); err != nil {
		return "not started", fmt.Errorf("start: %w", err)
	}
	time.Sleep(offset)
	_ = victim.Process.Kill()
	_ = victim.Wait()

	// What it left: never a dirty mark.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	state, err := schemaMarkLeft(ctx, raw)
	if err != nil {
		return state, err
	}
	var problems []error
	if strings.HasPrefix(state, "dirty") {
		problems = append(problems, fmt.Errorf("it left the schema %s", state))
	}

	// The next start is ready.
	if err := serveOnceReady(ctx, bin, dir, env, &lockedBuffer{}); err != nil {
		return state, errors.Join(append(problems, fmt.Errorf("the next serve: %w", err))...)
	}

	// And the schema is complete.
	var stdout, stderr bytes.Buffer
	status := exec.CommandContext(ctx, bin, "migrate", "status")
	status.Dir, status.Env, status.Stdout, status.Stderr = dir, env, &stdout, &stderr
	if err := status.Run(); err != nil {
		return state, errors.Join(append(problems, fmt.Errorf("migrate status: %w: %s", err, stderr.String()))...)
	}
	m := migrateStatusLine.FindStringSubmatch(stdout.String())
	if m == nil || m[1] != m[2] || m[3] != "up to date" {
		problems = append(problems, fmt.Errorf("migrate status after the next serve: %q, want the latest version, up to date", stdout.String()))
	}
	if m != nil {
		if v, _ := strconv.Atoi(m[1]); v == 0 {
			problems = append(problems, errors.New("migrate status reports version 0"))
		}
	}
	return state, errors.Join(problems...)
}

// schemaMarkLeft reads the schema mark of the database at raw: "version N",
// "dirty N", or "no database" for a SQLite file that was never created.
func schemaMarkLeft(ctx context.Context, raw string) (string, error) {
	if path, ok := strings.CutPrefix(raw, "sqlite://"); ok {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return "no database", nil
		}
	}
	r, err := migrations.NewRunner(raw)
	if err != nil {
		return "unreadable", err
	}
	st, err := r.Status(ctx)
	if err != nil {
		return "unreadable", fmt.Errorf("read the schema version it left: %w", err)
	}
	if st.Dirty {
		return fmt.Sprintf("dirty %d", st.Version), nil
	}
	return fmt.Sprintf("version %d", st.Version), nil
}

// serveOnceReady starts `rustok serve` in dir, waits until /health/ready
// answers 200, and kills it; serve's stderr goes to stderr.
func serveOnceReady(ctx context.Context, bin, dir string, env []string, stderr *lockedBuffer) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var stdout lockedBuffer
	srv := exec.Command(bin, "serve")
	srv.Dir, srv.Env, srv.Stdout, srv.Stderr = dir, env, &stdout, stderr
	if err := srv.Start(); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = srv.Wait()
		close(exited)
	}()
	defer func() {
		_ = srv.Process.Kill()
		<-exited
	}()
	client := &http.Client{Timeout: 5 * time.Second}
	for {
		if u, err := url.Parse(bannerLines(stdout.String())["GraphQL API"]); err == nil && u.Host != "" {
			resp, err := client.Get("http://" + u.Host + "/health/ready")
			if err == nil {
				_ = resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return nil
				}
			}
		}
		select {
		case <-exited:
			return fmt.Errorf("exited before it was ready: %s", tail(stderr.String(), 5))
		case <-ctx.Done():
			return fmt.Errorf("not ready within a minute: %s", tail(stderr.String(), 5))
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// concurrentFirstStarts starts n `rustok serve` processes at once on one
// fresh database, and checks that every one becomes ready and that each
// migration was applied by exactly one of them (the runner logs a line per
// migration it applies).
func concurrentFirstStarts(bin, dir string, newDB freshDatabase, n int) error {
	raw, drop, err := newDB(dir)
	if err != nil {
		return err
	}
	defer func() { _ = drop() }()
	r, err := migrations.NewRunner(raw)
	if err != nil {
		return err
	}
	env := []string{
		"HOME=" + os.Getenv("HOME"), "PATH=" + os.Getenv("PATH"),
		"RUSTOK_DATABASE__URL=" + raw, "RUSTOK_SERVER__PORT=0", "RUSTOK_LOGGER__LEVEL=info",
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	logs := make([]*lockedBuffer, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		logs[i] = &lockedBuffer{}
		wg.Go(func() { errs[i] = serveOnceReady(ctx, bin, dir, env, logs[i]) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	applied := map[string]int{}
	appliedLine := regexp.MustCompile(`msg="migration applied" version=(\d+)`)
	for _, l := range logs {
		for _, m := range appliedLine.FindAllStringSubmatch(l.String(), -1) {
			applied[m[1]]++
		}
	}
	for v := uint(1); v <= r.Latest(); v++ {
		if got := applied[fmt.Sprint(v)]; got != 1 {
			return fmt.Errorf("migration %d applied %d times, want once (all applied: %v)", v, got, applied)
		}
	}
	st, err := r.Status(ctx)
	if err != nil {
		return err
	}
	if st.Version != r.Latest() || st.Dirty {
		return fmt.Errorf("status %+v, want the latest version, clean", st)
	}
	return nil
}
