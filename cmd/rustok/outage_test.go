package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rustok/rustok/platform/database/pgcluster"
)

// TestPostgresOutage stops the database under a running `rustok serve` for
// 20 s while a client writes and reads, then starts it again (issue 14): the
// readiness probe says 503 within seconds of the outage and 200 again after
// it, without restarting rustok; liveness stays 200 throughout; writes after
// the outage are projected by the server's own relay, and its cache follows
// the log again. The cluster is the test's own (initdb on a spare port).
func TestPostgresOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("stops a database for 20 s; skipped with -short")
	}
	t.Parallel()
	cluster := pgcluster.Start(t)
	bin := buildBinary(t)
	dir := t.TempDir()
	env := []string{
		"HOME=" + os.Getenv("HOME"), "PATH=" + os.Getenv("PATH"),
		"DATABASE_URL=" + cluster.URL("connect_timeout=2"),
		"RUSTOK_SERVER__PORT=0",
		"RUSTOK_LOGGER__LEVEL=warn",
		"RUSTOK_SETTINGS__RUSTOK__RATE_LIMIT__ENABLED=false",
		"RUSTOK_SETTINGS__RUSTOK__EVENTS__POLL_INTERVAL=200ms",
	}
	cli := func(args ...string) cliResult { return runBinary(t, bin, dir, env, args...) }
	if r := cli("migrate", "up"); r.code != 0 {
		t.Fatalf("migrate up: %s", r.stderr)
	}
	srv := startProcess(t, bin, dir, env, "serve")
	var lines map[string]string
	srv.waitFor(t, "the addresses on stdout", 2*time.Minute, func() bool {
		lines = bannerLines(srv.stdout.String())
		return lines["GraphQL API"] != ""
	})
	api, err := url.Parse(lines["GraphQL API"])
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + api.Host
	client := &http.Client{Timeout: 10 * time.Second}
	status := func(path string) int {
		resp, err := client.Get(base + path)
		if err != nil {
			return 0
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	waitStatus := func(what, path string, want int, within time.Duration) time.Duration {
		t.Helper()
		start := time.Now()
		for status(path) != want {
			if time.Since(start) > within {
				t.Fatalf("%s: %s is not %d after %v; server log:\n%s", what, path, want, within, tail(srv.stderr.String(), 30))
			}
			time.Sleep(100 * time.Millisecond)
		}
		return time.Since(start)
	}
	waitStatus("start", "/health/ready", 200, 2*time.Minute)
	if r := cli("tenants", "create", "--slug", "steady", "--name", "Steady"); r.code != 0 {
		t.Fatalf("tenants create: %s", r.stderr)
	}
	tenantName := func() string {
		body, _ := json.Marshal(map[string]string{"query": "{ currentTenant { name } }"})
		req, _ := http.NewRequest(http.MethodPost, base+"/api/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Tenant-ID", "steady")
		resp, err := client.Do(req)
		if err != nil {
			return ""
		}
		defer resp.Body.Close()
		var out struct {
			Data struct {
				CurrentTenant struct{ Name string } `json:"currentTenant"`
			} `json:"data"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return out.Data.CurrentTenant.Name
	}

	// Load: renames by the CLI and reads through the server, all along.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var acked, refused atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if r := runBinary(t, bin, dir, env, "tenants", "update", "steady", "--name", fmt.Sprintf("Steady %d", i)); r.code == 0 {
				acked.Add(1)
			} else {
				refused.Add(1)
			}
			tenantName()
		}
	}()
	time.Sleep(2 * time.Second)

	// The outage.
	live := make(chan int, 1)
	go func() { // liveness is sampled all through the outage
		worst := 200
		for {
			select {
			case <-stop:
				live <- worst
				return
			default:
			}
			if code := status("/health/live"); code != 200 {
				worst = code
			}
			time.Sleep(200 * time.Millisecond)
		}
	}()
	cluster.Stop()
	stoppedAt := time.Now()
	notReady := waitStatus("outage", "/health/ready", 503, 15*time.Second)
	time.Sleep(20*time.Second - time.Since(stoppedAt))
	cluster.Resume()
	readyAgain := waitStatus("after the outage", "/health/ready", 200, time.Minute)
	t.Logf("readiness 503 after %v, 200 again %v after the restart; during the load %d writes acknowledged, %d refused",
		notReady.Round(time.Millisecond), readyAgain.Round(time.Millisecond), acked.Load(), refused.Load())

	// After: a write the server's relay must project, and a rename its cache
	// must follow.
	out := cli("task", "cleanup", "cache")
	m := regexp.MustCompile(`position (\d+)`).FindStringSubmatch(out.stdout)
	if out.code != 0 || m == nil {
		t.Fatalf("task cleanup cache after the outage: %d %s %s", out.code, out.stdout, out.stderr)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		body, _ := json.Marshal(map[string]string{"query": fmt.Sprintf(`{ currentTenant(minPosition: %q) { slug } }`, m[1])})
		req, _ := http.NewRequest(http.MethodPost, base+"/api/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Tenant-ID", "steady")
		resp, err := client.Do(req)
		if err == nil {
			raw, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if strings.Contains(string(raw), `"reached":true`) {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server's relay did not project position %s after the outage; log:\n%s", m[1], tail(srv.stderr.String(), 30))
		}
		time.Sleep(200 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if worst := <-live; worst != 200 {
		t.Errorf("liveness answered %d during the outage", worst)
	}
	if r := cli("tenants", "update", "steady", "--name", "After the outage"); r.code != 0 {
		t.Fatalf("rename after the outage: %s", r.stderr)
	}
	deadline = time.Now().Add(30 * time.Second)
	for tenantName() != "After the outage" {
		if time.Now().After(deadline) {
			t.Fatalf("the server still serves %q: its cache no longer follows the log", tenantName())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if acked.Load() == 0 {
		t.Error("no write was acknowledged during the test")
	}
	// Every read model equals a rebuild from the log.
	if r := cli("projections", "verify", "--all"); r.code != 0 {
		t.Fatalf("projections verify --all after the outage: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
