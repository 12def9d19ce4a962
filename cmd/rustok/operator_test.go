package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rustok/rustok/config"
	"github.com/rustok/rustok/platform/database"
	"github.com/rustok/rustok/platform/database/dbtest"
)

// testDatabaseName is the name db truncate asks for: the file name of a
// SQLite database, the database of a PostgreSQL URL.
func testDatabaseName(t *testing.T, dbURL string) string {
	t.Helper()
	if path, ok := strings.CutPrefix(dbURL, "sqlite://"); ok {
		path, _, _ = strings.Cut(path, "?")
		return filepath.Base(path)
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(u.Path, "/")
}

// TestDBTruncateNeedsTheDatabaseName: a database holding a tenant is emptied
// only with both --yes and --database NAME, whatever RUSTOK_ENV says; an
// empty one as before; production never.
func TestDBTruncateNeedsTheDatabaseName(t *testing.T) {
	t.Parallel()
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			testDBTruncate(t, dialect)
		})
	}
}

func testDBTruncate(t *testing.T, dialect database.Dialect) {
	name := testDatabaseName(t, dbtest.EmptyURL(t, dialect)) // the same for every test database of the dialect
	tests := []struct {
		name       string
		withTenant bool
		env        []string
		stdin      string
		args       []string
		wantCode   int
		wantOut    string // in stderr when refused, in stdout when emptied
	}{
		{name: "empty database with --yes", args: []string{"--yes"}, wantOut: "emptied"},
		{name: "empty database, answered y", stdin: "y\n", wantOut: "emptied"},
		{name: "empty database, not confirmed", stdin: "n\n", wantCode: 1, wantOut: "truncate not confirmed"},
		{name: "empty database, a wrong name", args: []string{"--yes", "--database", "other"}, wantCode: 1,
			wantOut: "--database other does not name the configured database (" + name + ")"},
		{name: "a tenant, --yes only", withTenant: true, args: []string{"--yes"}, wantCode: 1,
			wantOut: "the database " + name + " holds 1 tenant: to empty it, pass both --yes and --database " + name},
		{name: "a tenant, --database only, answered y", withTenant: true, stdin: "y\n", args: []string{"--database", name}, wantCode: 1,
			wantOut: "pass both --yes and --database " + name},
		{name: "a tenant, --yes and a wrong name", withTenant: true, args: []string{"--yes", "--database", name + "x"}, wantCode: 1,
			wantOut: "--database " + name + "x does not name the configured database (" + name + ")"},
		{name: "a tenant, RUSTOK_ENV=test and --yes", withTenant: true, env: []string{"RUSTOK_ENV=test"}, args: []string{"--yes"}, wantCode: 1,
			wantOut: "pass both --yes and --database " + name},
		{name: "a tenant, --yes and the name", withTenant: true, args: []string{"--yes", "--database", name}, wantOut: "emptied"},
		{name: "production, --yes and the name", withTenant: true,
			env:  []string{"RUSTOK_ENV=production", "RUSTOK_JWT_SECRET=" + testProductionSecret},
			args: []string{"--yes", "--database", name}, wantCode: 1, wantOut: "refused when the environment is production"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dbURL := dbtest.URL(t, dialect)
			env := append([]string{"RUSTOK_DATABASE__URL=" + dbURL, "RUSTOK_LOGGER__LEVEL=error"}, tc.env...)
			if tc.withTenant {
				if r := runCLI(t, env[:2], "", "tenants", "create", "--slug", "shop", "--name", "Shop"); r.code != 0 {
					t.Fatalf("create tenant: %s", r.stderr)
				}
			}
			r := runCLI(t, env, tc.stdin, append([]string{"db", "truncate"}, tc.args...)...)
			if r.code != tc.wantCode {
				t.Fatalf("exit %d, want %d; stdout %q, stderr %q", r.code, tc.wantCode, r.stdout, r.stderr)
			}
			out := r.stdout
			if tc.wantCode != 0 {
				out = r.stderr
			}
			if !strings.Contains(out, tc.wantOut) {
				t.Errorf("output %q does not contain %q", out, tc.wantOut)
			}
			list := runCLI(t, env[:2], "", "tenants", "list", "--json")
			emptied := strings.TrimSpace(list.stdout) == "[]"
			if wantEmpty := tc.wantCode == 0 || !tc.withTenant; emptied != wantEmpty {
				t.Errorf("after truncate: tenants %s, want emptied %v", list.stdout, wantEmpty)
			}
		})
	}
}

// testProductionSecret is a JWT secret production accepts.
const testProductionSecret = "uAeH2h+OE9KJ0tLiUcsC8ZAPVZqoEY2it6IHR6jlIRc="

// TestRedisURLErrorHidesThePassword: a Redis URL that go-redis cannot parse
// stops the start with an error naming redis.url and no part of the
// password, even one holding a '/' that net/url quotes a piece of.
func TestRedisURLErrorHidesThePassword(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, url string
	}{
		{"bad port", "redis://:pwRedisSecret@cache:notaport/0"},
		{"'/' in the password", "redis://:pw/RedisSecret@cache:6379/0"},
		{"user, ':' and '/' in the password", "rediss://default:pw:Redis/Secret@cache:6379"},
		{"bad database number", "redis://u:pwRedisSecret@cache:6379/db"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := []string{
				"RUSTOK_DATABASE__URL=sqlite://" + filepath.Join(t.TempDir(), "rustok.db"),
				"REDIS_URL=" + tc.url, "RUSTOK_LOGGER__LEVEL=error",
			}
			r := runCLI(t, env, "", "serve")
			if r.code != 1 {
				t.Fatalf("exit %d, want 1: %s", r.code, r.stderr)
			}
			if !strings.Contains(r.stderr, "redis.url") {
				t.Errorf("stderr %q does not name redis.url", r.stderr)
			}
			if strings.Contains(r.stderr, "pw") {
				t.Errorf("stderr shows (part of) the password: %s", r.stderr)
			}
		})
	}
}

// TestServeLogsHideTheDatabasePassword: the start line logs database.url
// with its secret parameters masked (a password given as ?password= was
// logged in clear).
func TestServeLogsHideTheDatabasePassword(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		sep := "?"
		if strings.Contains(dbURL, "?") {
			sep = "&"
		}
		// PostgreSQL ignores a password it does not need (trust), SQLite
		// ignores the query: either way the server starts.
		dbURL += sep + "password=pw-Database-Secret"
		env := []string{"RUSTOK_DATABASE__URL=" + dbURL, "RUSTOK_SERVER__PORT=0", "RUSTOK_LOGGER__LEVEL=info"}
		stdout, stderr := serveUntilListening(t, env, "serve")
		if !strings.Contains(stderr, "rustok serving") || !strings.Contains(stdout, "GraphQL API") {
			t.Fatalf("server did not log its start: %s", stderr)
		}
		if strings.Contains(stderr, "pw-Database-Secret") {
			t.Errorf("the log shows the database password:\n%s", stderr)
		}
		if !strings.Contains(stderr, "password=xxxxx") {
			t.Errorf("the start line does not show the masked URL:\n%s", stderr)
		}
	})
}

// serveUntilListening runs the CLI with args until it prints its banner,
// stops it, and returns what it printed.
func serveUntilListening(t *testing.T, environ []string, args ...string) (stdout, stderr string) {
	t.Helper()
	var out, errb lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"--config", configDir}, args...), strings.NewReader(""), &out, &errb, environ)
	}()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(out.String(), "Stop with Ctrl+C.") {
		select {
		case code := <-done:
			cancel()
			t.Fatalf("%v stopped with exit %d: %s", args, code, errb.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("%v not listening after 60 s: %s", args, errb.String())
		}
	}
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("%v exit %d after stop: %s", args, code, errb.String())
		}
	})
	return out.String(), errb.String()
}

// TestProductionMetricsListener starts the production configuration: the
// public listener answers 404 for /metrics, the metrics listener printed in
// the banner answers it, behind the bearer token when one is set.
func TestProductionMetricsListener(t *testing.T) {
	t.Parallel()
	const token = "prod-metrics-token-0123456789"
	tests := []struct {
		name  string
		token string
	}{
		{name: "loopback listener, no token"},
		{name: "loopback listener and a token", token: token},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := []string{
				"RUSTOK_DATABASE__URL=sqlite://" + filepath.Join(t.TempDir(), "rustok.db"),
				"RUSTOK_JWT_SECRET=" + testProductionSecret,
				"RUSTOK_SERVER__HOST=127.0.0.1", "RUSTOK_SERVER__PORT=0",
				// production.yaml's 127.0.0.1:9150, on a free port for the test.
				"RUSTOK_SERVER__METRICS__LISTEN=127.0.0.1:0",
				"RUSTOK_SERVER__METRICS__TOKEN=" + tc.token,
			}
			stdout, stderr := serveUntilListening(t, env, "--env", "production", "serve")
			lines := bannerLines(stdout)
			api, err := url.Parse(lines["GraphQL API"])
			if err != nil || api.Host == "" {
				t.Fatalf("no API URL in %q", stdout)
			}
			metricsURL, note, _ := strings.Cut(lines["Metrics"], " ")
			m, err := url.Parse(metricsURL)
			if err != nil || m.Path != "/metrics" || m.Host == api.Host {
				t.Fatalf("banner metrics URL %q, want one of its own (API %s); does newHTTP pass Metrics: metricsEndpoint(cfg) to httpserver.New?", lines["Metrics"], api.Host)
			}
			if wantNote := tc.token != ""; wantNote != strings.Contains(note, "bearer token") {
				t.Errorf("banner metrics line %q, bearer token note expected %v", lines["Metrics"], wantNote)
			}
			if strings.Contains(stdout+stderr, token) {
				t.Error("the output shows the metrics token")
			}
			scrape := func(u, authorization string) int {
				req, _ := http.NewRequest(http.MethodGet, u, nil)
				if authorization != "" {
					req.Header.Set("Authorization", authorization)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatalf("GET %s: %v", u, err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 && !strings.Contains(string(body), "rustok_") {
					t.Errorf("GET %s: no rustok metrics", u)
				}
				return resp.StatusCode
			}
			if got := scrape("http://"+api.Host+"/metrics", "Bearer "+tc.token); got != http.StatusNotFound {
				t.Errorf("GET /metrics on the public listener = %d, want 404", got)
			}
			if tc.token == "" {
				if got := scrape(metricsURL, ""); got != http.StatusOK {
					t.Errorf("GET %s = %d, want 200", metricsURL, got)
				}
				return
			}
			if got := scrape(metricsURL, ""); got != http.StatusUnauthorized {
				t.Errorf("GET %s without the token = %d, want 401", metricsURL, got)
			}
			if got := scrape(metricsURL, "Bearer "+tc.token); got != http.StatusOK {
				t.Errorf("GET %s with the token = %d, want 200", metricsURL, got)
			}
		})
	}
}

// TestLoggerRedacts: whatever a caller logs (a message, a string, an error,
// in either format), the process logger masks the secrets of the URLs and
// DSNs in it.
func TestLoggerRedacts(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			var b strings.Builder
			log := newLogger(config.Logger{Level: "debug", Format: format}, &b)
			log.Warn("connect to nats://pwNatsToken@nats:4222 failed",
				"url", "postgres://rustok:pwDatabase@db/rustok?sslpassword=pwSSL",
				"dsn", "host=db password=pwDSN",
				"error", errors.New(`parse "redis://:pwRedis@cache:x": invalid port ":x" after host`),
				slog.Group("nested", "redis", "redis://pwRedisToken@cache"))
			out := b.String()
			if strings.Contains(out, "pw") {
				t.Errorf("the log shows a secret:\n%s", out)
			}
			for _, want := range []string{"nats://xxxxx@nats:4222", "rustok:xxxxx@db", "sslpassword=xxxxx", "password=xxxxx", "redis://:xxxxx@cache:x", "redis://xxxxx@cache"} {
				if !strings.Contains(out, want) {
					t.Errorf("the log lacks %q:\n%s", want, out)
				}
			}
		})
	}
}
