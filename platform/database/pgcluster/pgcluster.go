// Package pgcluster starts throw-away PostgreSQL clusters for tests that
// need to stop and start the database under a running rustok (outage tests).
// A cluster lives in its own temporary directory, listens on a free port of
// 127.0.0.1 and is removed at the end of the test; the shared PostgreSQL of
// the machine is never touched.
package pgcluster

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Cluster is one PostgreSQL cluster of a test.
type Cluster struct {
	tb      testing.TB
	bin     string // directory of initdb, pg_ctl
	dir     string // data directory
	port    int
	runAs   string // OS user to run the server as ("" = the current one)
	logFile string
}

// requireEnv is set in CI: a missing PostgreSQL installation fails the test
// instead of skipping it.
const requireEnv = "RUSTOK_TEST_REQUIRE_POSTGRES"

// Start creates and starts a cluster, or skips the test (fails it when
// RUSTOK_TEST_REQUIRE_POSTGRES=1) when PostgreSQL's server programs are not
// installed. The cluster is stopped and removed by tb.Cleanup.
func Start(tb testing.TB) *Cluster {
	tb.Helper()
	bin, err := serverBin()
	if err != nil {
		if os.Getenv(requireEnv) == "1" {
			tb.Fatalf("pgcluster: %v", err)
		}
		tb.Skipf("skipping: %v", err)
	}
	c := &Cluster{tb: tb, bin: bin}
	if os.Geteuid() == 0 {
		// initdb refuses to run as root: the cluster belongs to postgres.
		if _, err := user.Lookup("postgres"); err != nil {
			tb.Skipf("skipping: running as root and there is no postgres user: %v", err)
		}
		c.runAs = "postgres"
	}
	root, err := os.MkdirTemp("", "rustok-pgcluster-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = os.RemoveAll(root) })
	c.dir = filepath.Join(root, "data")
	c.logFile = filepath.Join(root, "postgres.log")
	if c.runAs != "" {
		if err := exec.Command("chown", "-R", c.runAs, root).Run(); err != nil {
			tb.Fatalf("pgcluster: chown %s: %v", root, err)
		}
		if err := os.Chmod(root, 0o700); err != nil {
			tb.Fatal(err)
		}
	}
	if out, err := c.command(2*time.Minute, "initdb", "-D", c.dir, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"); err != nil {
		tb.Fatalf("pgcluster: initdb: %v\n%s", err, out)
	}
	if c.port, err = freePort(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _, _ = c.command(time.Minute, "pg_ctl", "-D", c.dir, "-m", "immediate", "-w", "stop") })
	c.Resume()
	return c
}

// URL returns the connection URL of database postgres with extra query
// parameters (e.g. "connect_timeout=2").
func (c *Cluster) URL(params ...string) string {
	u := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
	for _, p := range params {
		u += "&" + p
	}
	return u
}

// Stop stops the server at once (immediate shutdown: clients are cut off,
// as when the database host fails).
func (c *Cluster) Stop() {
	c.tb.Helper()
	if out, err := c.command(time.Minute, "pg_ctl", "-D", c.dir, "-m", "immediate", "-w", "stop"); err != nil {
		c.tb.Fatalf("pgcluster: stop: %v\n%s", err, out)
	}
}

// Resume starts the server again on the same port and waits until it accepts
// connections.
func (c *Cluster) Resume() {
	c.tb.Helper()
	opts := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -k %s -c fsync=off -c max_connections=100", c.port, filepath.Dir(c.dir))
	if out, err := c.command(2*time.Minute, "pg_ctl", "-D", c.dir, "-o", opts, "-l", c.logFile, "-w", "-t", "60", "start"); err != nil {
		log, _ := os.ReadFile(c.logFile)
		c.tb.Fatalf("pgcluster: start: %v\n%s\n%s", err, out, tailLines(string(log), 20))
	}
}

// command runs a server program, as the cluster's user.
func (c *Cluster) command(timeout time.Duration, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	prog := filepath.Join(c.bin, name)
	var cmd *exec.Cmd
	if c.runAs != "" {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", c.runAs, "--", prog}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, prog, args...)
	}
	cmd.Dir = os.TempDir()
	return cmd.CombinedOutput()
}

// serverBin finds the directory of initdb and pg_ctl: on PATH, else the
// newest /usr/lib/postgresql/*/bin (Debian).
func serverBin() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if _, err := exec.LookPath("initdb"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("no initdb and pg_ctl (PostgreSQL server programs) on this machine")
}

func version(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgcluster: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
