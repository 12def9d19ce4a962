package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rustok/rustok/platform/database/dbtest"
)

const configDir = "../../config"

type cliResult struct {
	code           int
	stdout, stderr string
}

func runCLI(t *testing.T, environ []string, stdin string, args ...string) cliResult {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), append([]string{"--config", configDir}, args...), strings.NewReader(stdin), &out, &errb, environ)
	return cliResult{code, out.String(), errb.String()}
}

// TestCLIErrors: every bad start gives one clear sentence and a non-zero exit, never a panic.
func TestCLIErrors(t *testing.T) {
	t.Parallel()
	okDB := "RUSTOK_DATABASE__URL=sqlite://" + filepath.Join(t.TempDir(), "x.db")
	// A directory cannot be created under a regular file, not even by root.
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		environ []string
		args    []string
		code    int
		want    string
	}{
		{"unknown command", nil, []string{"bogus"}, 2, `unknown command "bogus"`},
		{"unknown flag", nil, []string{"serve", "--nope"}, 2, "unknown flag: --nope"},
		{"missing required flag", []string{okDB}, []string{"tenants", "create", "--slug", "x"}, 2, `required flag(s) "name" not set`},
		{"missing argument", []string{okDB}, []string{"tenants", "update"}, 2, "expected TENANT"},
		{"update with nothing to change", []string{okDB}, []string{"tenants", "update", "demo"}, 2, "at least one of --name"},
		{"migrate down zero", []string{okDB}, []string{"migrate", "down", "0"}, 2, "N must be a positive number"},
		{"replay with names and --all", []string{okDB}, []string{"projections", "replay", "tenants", "--all"}, 2, "not both"},
		{"bad glob", []string{okDB}, []string{"events", "tail", "--type", "["}, 2, "not a valid glob"},
		{"cleanup of something unknown", []string{okDB}, []string{"task", "cleanup", "mail"}, 2, "one of sessions, cache, shadows or all"},
		{"missing config directory", nil, []string{"--config", "/nonexistent", "migrate", "status"}, 1, "configuration directory /nonexistent not found (given by --config)"},
		{"unknown environment", nil, []string{"--env", "staging", "migrate", "status"}, 1, "staging"},
		{"unknown config key", []string{okDB, "RUSTOK_SERVER__PROT=1"}, []string{"migrate", "status"}, 1, `unknown key "server.prot"`},
		{"invalid config value", []string{okDB, "RUSTOK_SERVER__PORT=abc"}, []string{"migrate", "status"}, 1, "server.port"},
		{"invalid database scheme", []string{"DATABASE_URL=mysql://x"}, []string{"migrate", "status"}, 1, "database.url"},
		{"uncreatable database directory", []string{"RUSTOK_DATABASE__URL=sqlite://" + blocker + "/dir/x.db"}, []string{"serve"}, 1,
			"cannot create the database directory " + blocker + "/dir for database.url sqlite://" + blocker + "/dir/x.db: not a directory"},
		{"config without subcommand", nil, []string{"config"}, 2, "config needs a subcommand: print"},
		{"postgres down", []string{"RUSTOK_DATABASE__URL=postgres://u:secret@127.0.0.1:1/x?connect_timeout=2"}, []string{"serve"}, 1, "cannot reach PostgreSQL at postgres://u:xxxxx@127.0.0.1:1/x"},
		{"schema not migrated", []string{okDB}, []string{"tenants", "list"}, 1, "run `rustok migrate up`"},
		{"truncate refused in production", []string{okDB, "RUSTOK_JWT_SECRET=" + testProductionSecret}, []string{"--env", "production", "db", "truncate", "--yes"}, 1, "refused when the environment is production"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, tc.environ, "", tc.args...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d; stderr: %s", r.code, tc.code, r.stderr)
			}
			if !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("stderr %q does not contain %q", r.stderr, tc.want)
			}
			first, _, _ := strings.Cut(r.stderr, "\n")
			if !strings.HasPrefix(first, "rustok: ") || strings.Contains(r.stderr, "panic") || strings.Contains(r.stderr, "goroutine ") {
				t.Fatalf("stderr is not one clear sentence: %q", r.stderr)
			}
			if strings.Contains(r.stderr, "secret") {
				t.Fatalf("stderr leaks a secret: %q", r.stderr)
			}
		})
	}
}

// TestCLITenantsFlow drives tenant administration end to end through the CLI.
func TestCLITenantsFlow(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		env := []string{"RUSTOK_DATABASE__URL=" + dbURL, "RUSTOK_LOGGER__LEVEL=error"}
		must := func(args ...string) cliResult {
			t.Helper()
			r := runCLI(t, env, "", args...)
			if r.code != 0 {
				t.Fatalf("%v: exit %d: %s", args, r.code, r.stderr)
			}
			return r
		}
		must("migrate", "up")
		if r := must("migrate", "status"); !strings.Contains(r.stdout, "up to date") {
			t.Fatalf("status: %s", r.stdout)
		}
		if r := must("tenants", "create", "--slug", "Shop", "--name", "Shop One", "--domain", "shop.example.com"); !strings.Contains(r.stdout, "created tenant shop") {
			t.Fatalf("create: %s", r.stdout)
		}
		must("tenants", "create", "--slug", "other", "--name", "Other")
		if r := runCLI(t, env, "", "tenants", "create", "--slug", "shop", "--name", "Dup"); r.code != 1 || !strings.Contains(r.stderr, `slug "shop" is already taken`) {
			t.Fatalf("duplicate slug: exit %d, %s", r.code, r.stderr)
		}
		if r := runCLI(t, env, "", "tenants", "update", "other", "--add-domain", "SHOP.example.com"); r.code != 1 || !strings.Contains(r.stderr, "already used by another tenant") {
			t.Fatalf("duplicate domain: exit %d, %s", r.code, r.stderr)
		}
		must("tenants", "update", "shop", "--name", "Shop Renamed", "--add-domain", "www.shop.example.com")
		must("tenants", "modules", "enable", "shop", "blog")
		if r := runCLI(t, env, "", "tenants", "modules", "disable", "shop", "content"); r.code != 1 || !strings.Contains(r.stderr, "needed by blog") {
			t.Fatalf("disable a needed module: exit %d, %s", r.code, r.stderr)
		}
		if r := runCLI(t, env, "", "tenants", "modules", "disable", "shop", "tenant"); r.code != 1 || !strings.Contains(r.stderr, "core modules cannot be disabled") {
			t.Fatalf("disable core: exit %d, %s", r.code, r.stderr)
		}
		must("tenants", "disable", "other")
		if r := must("tenants", "disable", "other"); !strings.Contains(r.stdout, "unchanged") {
			t.Fatalf("second disable: %s", r.stdout)
		}
		if r := runCLI(t, env, "", "tenants", "enable", "ghost"); r.code != 1 || !strings.Contains(r.stderr, "not found") {
			t.Fatalf("unknown tenant: exit %d, %s", r.code, r.stderr)
		}
		var list []struct {
			Slug    string   `json:"slug"`
			Name    string   `json:"name"`
			Status  string   `json:"status"`
			Domains []string `json:"domains"`
			Modules []string `json:"modules"`
		}
		r := must("tenants", "list", "--json")
		if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
			t.Fatalf("list --json: %v: %s", err, r.stdout)
		}
		if len(list) != 2 || list[0].Slug != "other" || list[0].Status != "disabled" || list[1].Name != "Shop Renamed" ||
			strings.Join(list[1].Domains, ",") != "shop.example.com,www.shop.example.com" || !strings.Contains(strings.Join(list[1].Modules, ","), "blog") {
			t.Fatalf("list = %+v", list)
		}
		if r := must("projections", "status"); !strings.Contains(r.stdout, "tenants") || !strings.Contains(r.stdout, "no dead letters") {
			t.Fatalf("status: %s", r.stdout)
		}
		if r := runCLI(t, env, "", "projections", "replay", "tenants"); r.code != 1 || !strings.Contains(r.stderr, "not confirmed") {
			t.Fatalf("replay without --yes and no answer: exit %d, %s", r.code, r.stderr)
		}
		if r := runCLI(t, env, "y\n", "projections", "replay", "tenants"); r.code != 0 || !strings.Contains(r.stdout, "replayed tenants") || !strings.Contains(r.stdout, "stream by stream") {
			t.Fatalf("replay answered y: exit %d, %s %s", r.code, r.stdout, r.stderr)
		}
		r = must("tenants", "list", "--json")
		var after []struct {
			Slug string `json:"slug"`
			Name string `json:"name"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &after); err != nil || len(after) != 2 || after[1].Name != "Shop Renamed" {
			t.Fatalf("after replay: %v %s", err, r.stdout)
		}
		r = must("events", "tail", "--type", "tenant.module_*")
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if len(lines) != 1 || !strings.Contains(lines[0], `"type":"tenant.module_toggled"`) || !strings.Contains(lines[0], `"actor_id":"cli:`) {
			t.Fatalf("events tail: %q", r.stdout)
		}
		must("task", "cleanup", "all")
		if r := runCLI(t, env, "", "db", "truncate", "--yes"); r.code != 1 || !strings.Contains(r.stderr, "holds 2 tenants") {
			t.Fatalf("truncate of tenants without --database: exit %d, %s", r.code, r.stderr)
		}
		if r := must("db", "truncate", "--yes", "--database", testDatabaseName(t, dbURL)); !strings.Contains(r.stdout, "events") {
			t.Fatalf("truncate: %s", r.stdout)
		}
		if r := must("tenants", "list", "--json"); strings.TrimSpace(r.stdout) != "[]" {
			t.Fatalf("after truncate: %s", r.stdout)
		}
		if r := must("version"); !strings.HasPrefix(r.stdout, "rustok ") {
			t.Fatalf("version: %s", r.stdout)
		}
	})
}
