package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rustok/rustok/config"
)

// TestZeroConfigBinary is the proof of the zero-config start: the binary,
// built as a user builds it, run in an empty directory with an environment of
// only HOME and PATH, serves, migrates its own SQLite database in ./data, and
// works with the other commands run in the same directory.
func TestZeroConfigBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs it; skipped with -short")
	}
	t.Parallel()
	bin := buildBinary(t)
	env := []string{"HOME=" + os.Getenv("HOME"), "PATH=" + os.Getenv("PATH")}
	serveEnv := env
	wantPort := "5150"
	if !portFree("127.0.0.1:5150") {
		t.Log("127.0.0.1:5150 is taken on this machine: serving on a free port (RUSTOK_SERVER__PORT=0)")
		serveEnv = append(slices.Clone(env), "RUSTOK_SERVER__PORT=0")
		wantPort = ""
	}
	dir := t.TempDir()
	srv := startProcess(t, bin, dir, serveEnv, "serve")

	// The addresses, printed once the server listens.
	var lines map[string]string
	srv.waitFor(t, "the addresses on stdout", 2*time.Minute, func() bool {
		lines = bannerLines(srv.stdout.String())
		return lines["Metrics"] != ""
	})
	api, err := url.Parse(lines["GraphQL API"])
	if err != nil || api.Scheme != "http" || api.Hostname() != "127.0.0.1" || api.Path != "/api/graphql" {
		t.Fatalf("GraphQL API URL %q, want http://127.0.0.1:PORT/api/graphql", lines["GraphQL API"])
	}
	if wantPort != "" && api.Port() != wantPort {
		t.Errorf("port %s, want %s", api.Port(), wantPort)
	}
	base := "http://" + api.Host
	if got, want := lines["GraphiQL"], base+"/api/graphql  (open in a browser)"; got != want {
		t.Errorf("GraphiQL line %q, want %q", got, want)
	}
	if got, want := lines["Metrics"], base+"/metrics"; got != want {
		t.Errorf("Metrics line %q, want %q", got, want)
	}

	client := &http.Client{Timeout: 10 * time.Second}
	srv.waitFor(t, "/health/ready to answer 200", 2*time.Minute, func() bool {
		resp, err := client.Get(base + "/health/ready")
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	if code := httpStatus(t, client, base+"/metrics"); code != http.StatusOK {
		t.Errorf("GET /metrics: %d, want 200", code)
	}

	// The data directory and the database file, private to their owner.
	modes := []struct {
		path string
		want fs.FileMode
		dir  bool
	}{
		{"data", 0o700, true},
		{"data/rustok.db", 0o600, false},
	}
	for _, m := range modes {
		st, err := os.Stat(filepath.Join(dir, m.path))
		if err != nil {
			t.Fatalf("%s: %v", m.path, err)
		}
		if st.IsDir() != m.dir || st.Mode().Perm() != m.want {
			t.Errorf("%s: mode %v (directory %v), want %v (directory %v)", m.path, st.Mode().Perm(), st.IsDir(), m.want, m.dir)
		}
	}

	// The other commands, in the same directory with the same empty environment.
	if r := runBinary(t, bin, dir, env, "migrate", "status"); r.code != 0 || !strings.Contains(r.stdout, "(up to date)") {
		t.Fatalf("migrate status: exit %d, %q, %s", r.code, r.stdout, r.stderr)
	}
	if r := runBinary(t, bin, dir, env, "tenants", "create", "--slug", "demo", "--name", "Demo"); r.code != 0 || !strings.Contains(r.stdout, "created tenant demo") {
		t.Fatalf("tenants create: exit %d, %q, %s", r.code, r.stdout, r.stderr)
	}
	// The server sees the tenant once its projection and cache follow the
	// log (the CLI wrote it from another process).
	for deadline := time.Now().Add(time.Minute); ; {
		slug, answer := currentTenantSlug(client, base+"/api/graphql", "demo")
		if slug == "demo" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("currentTenant under X-Tenant-ID demo: last answer %s, want slug demo", answer)
		}
		time.Sleep(50 * time.Millisecond) // polling, not an assertion
	}

	r := runBinary(t, bin, dir, env, "config", "print")
	if r.code != 0 {
		t.Fatalf("config print: exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^database\.url: sqlite://\./data/rustok\.db +# default$`),
		regexp.MustCompile(`(?m)^auth\.jwt\.secret: \[redacted\] +# default$`),
	} {
		if !want.MatchString(r.stdout) {
			t.Errorf("config print has no line matching %s:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, config.Default().Auth.JWT.Secret) {
		t.Error("config print shows the JWT secret")
	}

	// Production refuses to start without its two explicit settings.
	prodDir := t.TempDir()
	r = runBinary(t, bin, prodDir, env, "--env", "production", "serve")
	if r.code != 1 || !strings.Contains(r.stderr, "auth.jwt.secret") || !strings.Contains(r.stderr, "database.url") {
		t.Errorf("production serve: exit %d, stderr %q; want 1 naming auth.jwt.secret and database.url", r.code, r.stderr)
	}
	if entries, err := os.ReadDir(prodDir); err != nil || len(entries) != 0 {
		t.Errorf("production serve left %d entries in its directory (%v), want none", len(entries), err)
	}

	// SIGTERM stops serve gracefully.
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := srv.wait(t, time.Minute); code != 0 {
		t.Errorf("serve exit %d after SIGTERM, want 0; stderr tail:\n%s", code, tail(srv.stderr.String(), 20))
	}
}

// BenchmarkColdStart measures the start of `rustok serve` in a fresh empty
// directory (database created and migrated, HTTP listening, relay running)
// until /health/ready answers 200, against the start of `rustok version`
// measured in the same run (a process that does no work), and the peak RSS
// (VmHWM) at readiness. ms-to-ready and baseline-ms are medians over the
// iterations, ratio is their quotient, MB-RSS the highest peak; ns/op covers
// a whole iteration (both processes, stop included) and is not the figure.
func BenchmarkColdStart(b *testing.B) {
	if testing.Short() {
		b.Skip("builds the binary and runs it; skipped with -short")
	}
	bin := buildBinary(b)
	env := []string{"HOME=" + os.Getenv("HOME"), "PATH=" + os.Getenv("PATH")}
	serveEnv := append(slices.Clone(env), "RUSTOK_SERVER__PORT=0")
	client := &http.Client{Timeout: 5 * time.Second}
	var toReady, baseline []time.Duration
	var peakKB int64
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if r := runBinary(b, bin, b.TempDir(), env, "version"); r.code != 0 {
			b.Fatalf("version: exit %d: %s", r.code, r.stderr)
		}
		baseline = append(baseline, time.Since(start))

		start = time.Now()
		srv := startProcess(b, bin, b.TempDir(), serveEnv, "serve")
		var api *url.URL
		srv.waitFor(b, "the addresses on stdout", time.Minute, func() bool {
			u, err := url.Parse(bannerLines(srv.stdout.String())["GraphQL API"])
			api = u
			return err == nil && u.Host != ""
		})
		ready := "http://" + api.Host + "/health/ready"
		srv.waitFor(b, "/health/ready to answer 200", time.Minute, func() bool {
			resp, err := client.Get(ready)
			if err != nil {
				return false
			}
			_ = resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		})
		toReady = append(toReady, time.Since(start))
		kb, err := vmHWM(srv.cmd.Process.Pid)
		if err != nil {
			b.Fatalf("peak RSS: %v", err)
		}
		peakKB = max(peakKB, kb)
		if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			b.Fatal(err)
		}
		if code := srv.wait(b, time.Minute); code != 0 {
			b.Fatalf("serve exit %d after SIGTERM: %s", code, tail(srv.stderr.String(), 20))
		}
	}
	readyMS, baseMS := medianMS(toReady), medianMS(baseline)
	b.ReportMetric(readyMS, "ms-to-ready")
	b.ReportMetric(baseMS, "baseline-ms")
	b.ReportMetric(readyMS/baseMS, "ratio")
	b.ReportMetric(float64(peakKB)/1024, "MB-RSS")
}

// medianMS returns the median of ds in milliseconds: on a shared machine
// one slow start should not move the figure.
func medianMS(ds []time.Duration) float64 {
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	mid := sorted[len(sorted)/2]
	if len(sorted)%2 == 0 {
		mid = (sorted[len(sorted)/2-1] + mid) / 2
	}
	return float64(mid.Microseconds()) / 1000
}

// buildBinary compiles cmd/rustok as a user would (CGO_ENABLED=0) into a
// temporary directory and returns the path of the binary.
func buildBinary(tb testing.TB) string {
	tb.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		tb.Skipf("no go command in PATH to build the binary: %v", err)
	}
	bin := filepath.Join(tb.TempDir(), "rustok")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool, "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// process is a running rustok binary with its output collected.
type process struct {
	cmd            *exec.Cmd
	stdout, stderr *lockedBuffer
	done           chan struct{} // closed when the process has exited
	code           int           // exit code, once done is closed
}

// startProcess starts bin with args in dir with exactly env, and kills it
// at the end of the test if it still runs.
func startProcess(tb testing.TB, bin, dir string, env []string, args ...string) *process {
	tb.Helper()
	p := &process{stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir, p.cmd.Env = dir, env
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		tb.Fatalf("start rustok %s: %v", strings.Join(args, " "), err)
	}
	go func() {
		p.code = exitCode(p.cmd.Wait())
		close(p.done)
	}()
	tb.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// waitFor polls cond until it holds, failing the test if the process exits
// first or timeout passes. The bound is generous: a loaded machine is slow.
func (p *process) waitFor(tb testing.TB, what string, timeout time.Duration, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		select {
		case <-p.done:
			tb.Fatalf("waiting for %s: rustok exited with %d; stderr tail:\n%s", what, p.code, tail(p.stderr.String(), 20))
		case <-time.After(time.Millisecond):
		}
		if time.Now().After(deadline) {
			tb.Fatalf("no %s within %s; stderr tail:\n%s", what, timeout, tail(p.stderr.String(), 20))
		}
	}
}

// wait waits for the process to exit and returns its exit code.
func (p *process) wait(tb testing.TB, timeout time.Duration) int {
	tb.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(timeout):
		tb.Fatalf("rustok still running %s after the stop signal", timeout)
		return -1
	}
}

// runBinary runs bin with args in dir with exactly env, to completion.
func runBinary(tb testing.TB, bin, dir string, env []string, args ...string) cliResult {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir, cmd.Env = dir, env
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	code := exitCode(cmd.Run())
	if code < 0 {
		tb.Fatalf("rustok %s did not run to its end: %s", strings.Join(args, " "), stderr.String())
	}
	return cliResult{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// exitCode returns the exit code of a finished process, or -1 if it did not
// exit normally (killed, or never started).
func exitCode(err error) int {
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exitErr):
		return exitErr.ExitCode()
	}
	return -1
}

// bannerLines returns the lines of serve's address banner by label:
// "GraphQL API", "GraphiQL", "Metrics" → the rest of the line.
func bannerLines(stdout string) map[string]string {
	lines := make(map[string]string)
	sc := bufio.NewScanner(strings.NewReader(stdout))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		for _, label := range []string{"GraphQL API", "GraphiQL", "Metrics"} {
			if rest, ok := strings.CutPrefix(line, label+" "); ok {
				lines[label] = strings.TrimSpace(rest)
			}
		}
	}
	return lines
}

// currentTenantSlug asks the GraphQL API for the current tenant's slug under
// the tenant header; it returns "" and the raw answer when there is none.
func currentTenantSlug(client *http.Client, endpoint, tenant string) (string, string) {
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(`{"query":"{ currentTenant { slug } }"}`))
	if err != nil {
		return "", err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Tenant-ID", tenant)
	resp, err := client.Do(req)
	if err != nil {
		return "", err.Error()
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err.Error()
	}
	var out struct {
		Data struct {
			CurrentTenant *struct {
				Slug string `json:"slug"`
			} `json:"currentTenant"`
		} `json:"data"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &out) != nil || out.Data.CurrentTenant == nil {
		return "", fmt.Sprintf("%d %s", resp.StatusCode, raw)
	}
	return out.Data.CurrentTenant.Slug, string(raw)
}

func httpStatus(t *testing.T, client *http.Client, u string) int {
	t.Helper()
	resp, err := client.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// portFree reports whether addr can be listened on now.
func portFree(addr string) bool {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}

// vmHWM returns the peak resident set size of process pid in KiB (Linux).
func vmHWM(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read status of process %d: %w", pid, err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parse VmHWM %q: %w", rest, err)
			}
			return kb, nil
		}
	}
	return 0, fmt.Errorf("no VmHWM in the status of process %d", pid)
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
