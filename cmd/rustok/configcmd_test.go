package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rustok/rustok/config"
)

// runNoConfig runs the CLI like runCLI but without --config: the working
// directory of the tests (cmd/rustok) has no ./config, so only what the
// arguments and environ name is read besides the built-in files.
func runNoConfig(t *testing.T, environ []string, args ...string) cliResult {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &errb, environ)
	return cliResult{code, out.String(), errb.String()}
}

// TestConfigPrint: `config print` shows every key with its masked value and
// its source, and the configuration directory is optional unless named.
func TestConfigPrint(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("config"); err == nil {
		t.Fatal("cmd/rustok/config exists: these cases assume no ./config in the working directory")
	}
	devSecret := config.Default().Auth.JWT.Secret
	fileDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(fileDir, "development.yaml"), []byte("server:\n  port: 6000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	filePath := filepath.Join(fileDir, "development.yaml")
	prodEnv := []string{"DATABASE_URL=postgres://rustok:db-pass-word@db:5432/rustok", "RUSTOK_JWT_SECRET=prod-secret-Zq7+Lw2Rx9Km4Tb8Vn3Yc6Hd", "RUSTOK_SERVER__METRICS__TOKEN=metrics-token-Hk29fLq0"}

	tests := []struct {
		name      string
		environ   []string
		args      []string
		wantLines []string // each a whole line of stdout, spaces between value and '#' collapsed to two
		hidden    []string // must appear nowhere in stdout or stderr
	}{
		{
			name: "no config directory: built-in defaults, secret masked",
			args: []string{"config", "print"},
			wantLines: []string{
				"database.url: sqlite://./data/rustok.db  # default",
				"auth.jwt.secret: [redacted]  # default",
				"auth.jwt.access_ttl: 15m  # default",
				"settings.rustok.modules.default_enabled: [content, commerce, pages]  # default",
				`redis.url: ""  # default`,
			},
			hidden: []string{devSecret},
		},
		{
			name:      "environment variable named",
			environ:   []string{"RUSTOK_SERVER__PORT=8080", "DATABASE_URL=sqlite:///srv/rustok.db"},
			args:      []string{"config", "print"},
			wantLines: []string{"server.port: 8080  # environment variable RUSTOK_SERVER__PORT", "database.url: sqlite:///srv/rustok.db  # environment variable DATABASE_URL"},
		},
		{
			name:      "RUSTOK_CONFIG names the file",
			environ:   []string{"RUSTOK_CONFIG=" + fileDir},
			args:      []string{"config", "print"},
			wantLines: []string{"server.port: 6000  # " + filePath, "server.host: 127.0.0.1  # default"},
		},
		{
			name:      "--config wins over RUSTOK_CONFIG",
			environ:   []string{"RUSTOK_CONFIG=/nonexistent"},
			args:      []string{"--config", fileDir, "config", "print"},
			wantLines: []string{"server.port: 6000  # " + filePath},
		},
		{
			name:      "a directory without <env>.yaml overrides nothing",
			args:      []string{"--config", t.TempDir(), "config", "print"},
			wantLines: []string{"server.port: 5150  # default"},
		},
		{
			name:    "production: built-in production.yaml and the environment",
			environ: prodEnv,
			args:    []string{"--env", "production", "config", "print"},
			wantLines: []string{
				"server.host: 0.0.0.0  # built-in production.yaml",
				"server.port: 5150  # default",
				"logger.format: json  # default",
				"database.url: postgres://rustok:xxxxx@db:5432/rustok  # environment variable DATABASE_URL",
				"auth.jwt.secret: [redacted]  # environment variable RUSTOK_JWT_SECRET",
				"server.metrics.listen: 127.0.0.1:9150  # default",
				"server.metrics.token: [redacted]  # environment variable RUSTOK_SERVER__METRICS__TOKEN",
			},
			hidden: []string{"db-pass-word", "prod-secret", "metrics-token"},
		},
		{
			name:      "--env after the subcommand",
			environ:   prodEnv,
			args:      []string{"config", "print", "--env", "production"},
			wantLines: []string{"settings.rustok.email.driver: smtp  # built-in production.yaml"},
			hidden:    []string{"db-pass-word", "prod-secret", "metrics-token"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runNoConfig(t, tc.environ, tc.args...)
			if r.code != 0 {
				t.Fatalf("exit %d, want 0; stderr: %s", r.code, r.stderr)
			}
			lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
			got := make(map[string]bool, len(lines))
			column, lastKey := -1, ""
			for _, line := range lines {
				hash := strings.Index(line, "  # ")
				if hash < 0 {
					t.Fatalf("line %q has no source comment", line)
				}
				if column >= 0 && hash != column {
					t.Errorf("line %q: comment at column %d, want %d (aligned)", line, hash, column)
				}
				column = hash
				value, source, _ := strings.Cut(line, "  # ")
				got[strings.TrimRight(value, " ")+"  # "+source] = true
				key, _, _ := strings.Cut(line, ": ")
				if key <= lastKey {
					t.Errorf("lines not sorted by key: %q after %q", key, lastKey)
				}
				lastKey = key
			}
			if want := len(config.Default().Flatten()); len(lines) != want {
				t.Errorf("%d lines, want one per key (%d)", len(lines), want)
			}
			for _, want := range tc.wantLines {
				if !got[want] {
					t.Errorf("no line %q in:\n%s", want, r.stdout)
				}
			}
			for _, h := range tc.hidden {
				if strings.Contains(r.stdout+r.stderr, h) {
					t.Errorf("output shows %q", h)
				}
			}
		})
	}
}

func TestConfigPrintJSON(t *testing.T) {
	t.Parallel()
	r := runNoConfig(t, []string{"RUSTOK_SETTINGS__RUSTOK__TENANT__BASE_DOMAINS=a.example,b.example"}, "config", "print", "--json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var entries []struct {
		Key    string `json:"key"`
		Value  any    `json:"value"`
		Source string `json:"source"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &entries); err != nil {
		t.Fatalf("not a JSON array: %v\n%s", err, r.stdout)
	}
	byKey := make(map[string]int, len(entries))
	for i, e := range entries {
		byKey[e.Key] = i
	}
	tests := []struct {
		key        string
		wantValue  any
		wantSource string
	}{
		{"server.port", 5150.0, "default"},
		{"server.read_timeout", "15s", "default"},
		{"auth.jwt.refresh_ttl", "720h", "default"},
		{"graphql.playground", true, "default"},
		{"auth.jwt.secret", "[redacted]", "default"},
		{"auth.jwt.keys", []any{}, "default"},
		{"settings.rustok.tenant.base_domains", []any{"a.example", "b.example"}, "environment variable RUSTOK_SETTINGS__RUSTOK__TENANT__BASE_DOMAINS"},
	}
	for _, tc := range tests {
		t.Run(tc.key, func(t *testing.T) {
			i, ok := byKey[tc.key]
			if !ok {
				t.Fatalf("no entry for %s", tc.key)
			}
			got, _ := json.Marshal(entries[i].Value)
			want, _ := json.Marshal(tc.wantValue)
			if string(got) != string(want) || entries[i].Source != tc.wantSource {
				t.Errorf("%s = %s from %q, want %s from %q", tc.key, got, entries[i].Source, want, tc.wantSource)
			}
		})
	}
	if len(entries) != len(config.Default().Flatten()) {
		t.Errorf("%d entries, want one per key (%d)", len(entries), len(config.Default().Flatten()))
	}
}

// TestConfigRefused: commands that load the configuration stop with exit 1
// and one message naming what is wrong.
func TestConfigRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		environ []string
		args    []string
		want    []string // parts of stderr
	}{
		{
			name: "production without secrets names both keys",
			args: []string{"--env", "production", "config", "print"},
			want: []string{
				"rustok: invalid configuration: database.url: must be set in production (set DATABASE_URL or RUSTOK_DATABASE__URL)",
				"auth.jwt.secret: must be at least 32 bytes in production (set RUSTOK_JWT_SECRET)",
			},
		},
		{
			name: "production serve refuses before touching the database",
			args: []string{"--env", "production", "serve"},
			want: []string{"database.url: must be set in production", "auth.jwt.secret"},
		},
		{
			name:    "invalid value",
			environ: []string{"RUSTOK_SERVER__PORT=abc"},
			args:    []string{"config", "print", "--json"},
			want:    []string{`rustok: invalid configuration: environment variable RUSTOK_SERVER__PORT: server.port: must be a whole number, got "abc"`},
		},
		{
			name:    "RUSTOK_CONFIG naming a missing directory",
			environ: []string{"RUSTOK_CONFIG=/nonexistent"},
			args:    []string{"config", "print"},
			want:    []string{"rustok: configuration directory /nonexistent not found (given by RUSTOK_CONFIG)"},
		},
		{
			name: "--config naming a missing directory",
			args: []string{"--config", "/nonexistent", "config", "print"},
			want: []string{"rustok: configuration directory /nonexistent not found (given by --config)"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runNoConfig(t, tc.environ, tc.args...)
			if r.code != 1 {
				t.Fatalf("exit %d, want 1; stderr: %s", r.code, r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout %q, want nothing", r.stdout)
			}
			for _, want := range tc.want {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr %q does not contain %q", r.stderr, want)
				}
			}
		})
	}
}
