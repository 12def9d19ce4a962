package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/rustok/rustok/domain/module"
	tenantdom "github.com/rustok/rustok/domain/tenant"
	"github.com/rustok/rustok/platform/database"
	"github.com/rustok/rustok/platform/database/dbtest"
	"github.com/rustok/rustok/platform/password"
)

// logHead returns the position of the last event of the log at dbURL.
func logHead(t *testing.T, dbURL string) int64 {
	t.Helper()
	a, err := build(context.Background(), testConfig(dbURL), slog.New(slog.DiscardHandler), buildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	head, err := a.store.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return head
}

// TestSeed runs `rustok seed` through the CLI on each database: the demo
// tenant with its domain and modules, and the two users, who sign in on
// the real serve stack with the default password and their roles; a
// second run, even with another RUSTOK_SEED_PASSWORD, appends nothing and
// says so, and the first password still works.
func TestSeed(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		env := []string{"RUSTOK_ENV=test", "RUSTOK_DATABASE__URL=" + dbURL}
		r := runCLI(t, env, "", "seed")
		if r.code != 0 {
			t.Fatalf("seed: exit %d: %s", r.code, r.stderr)
		}
		for _, want := range []string{
			"seed: tenant demo created", "seed: module blog enabled", "seed: module forum enabled",
			"seed: user admin@demo.local (super_admin) created", "seed: user customer@demo.local (customer) created", "seed: done",
		} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("first run: stdout lacks %q:\n%s", want, r.stdout)
			}
		}
		if strings.Contains(r.stdout, seedDefaultPassword) {
			t.Errorf("seed prints the password:\n%s", r.stdout)
		}

		var list []struct {
			Slug, Name, Status string
			Domains, Modules   []string
		}
		l := runCLI(t, env, "", "tenants", "list", "--json")
		if err := json.Unmarshal([]byte(l.stdout), &list); err != nil || len(list) != 1 {
			t.Fatalf("tenants list: %v %s %s", err, l.stdout, l.stderr)
		}
		demo := list[0]
		if demo.Slug != "demo" || demo.Name != "Demo Workspace" || demo.Status != "active" || !slices.Equal(demo.Domains, []string{"demo.localhost"}) {
			t.Errorf("demo tenant = %+v", demo)
		}
		for _, m := range seedModules {
			if !slices.Contains(demo.Modules, m) {
				t.Errorf("module %s not enabled: %v", m, demo.Modules)
			}
		}

		head := logHead(t, dbURL)
		again := runCLI(t, append(env, "RUSTOK_SEED_PASSWORD=another-password-1"), "", "seed")
		if again.code != 0 || !strings.Contains(again.stdout, "nothing to do") || !strings.Contains(again.stdout, "seed: tenant demo exists") ||
			!strings.Contains(again.stdout, "seed: module forum already enabled") || !strings.Contains(again.stdout, "seed: user admin@demo.local (super_admin) exists") {
			t.Errorf("second run: exit %d\n%s%s", again.code, again.stdout, again.stderr)
		}
		if after := logHead(t, dbURL); after != head {
			t.Errorf("the second run appended events: head %d → %d", head, after)
		}

		ts := startServer(t, authConfig(dbURL))
		for _, u := range seedUsers {
			if code, role := signInRole(t, ts, "demo", u.email, seedDefaultPassword); code != http.StatusOK || role != string(u.role) {
				t.Errorf("sign-in as %s: %d, role %q, want %s", u.email, code, role, u.role)
			}
			if code, _ := signInRole(t, ts, "demo", u.email, "another-password-1"); code != http.StatusUnauthorized {
				t.Errorf("sign-in as %s with the second run's password: %d, want 401", u.email, code)
			}
		}
	})
}

// TestSeedPasswordFromEnv: RUSTOK_SEED_PASSWORD is the seeded users'
// password.
func TestSeedPasswordFromEnv(t *testing.T) {
	t.Parallel()
	dbURL := dbtest.URL(t, database.SQLite)
	const pw = "my-own-seed-password"
	if r := runCLI(t, []string{"RUSTOK_ENV=test", "RUSTOK_DATABASE__URL=" + dbURL, "RUSTOK_SEED_PASSWORD=" + pw}, "", "seed"); r.code != 0 {
		t.Fatalf("seed: exit %d: %s", r.code, r.stderr)
	}
	a, err := build(context.Background(), testConfig(dbURL), slog.New(slog.DiscardHandler), buildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	tenantID, found, err := findTenant(context.Background(), a.store, tenantdom.Identifier{Kind: tenantdom.KindSlug, Value: seedTenantSlug})
	if err != nil || !found {
		t.Fatalf("demo tenant: %v %v", found, err)
	}
	h, err := password.New(password.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range seedUsers {
		id, found, err := userByEmail(context.Background(), a.store, tenantID, u.email)
		if err != nil || !found {
			t.Fatalf("%s: %v %v", u.email, found, err)
		}
		usr, err := userFromLog(context.Background(), a.store, id)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.Verify(context.Background(), pw, usr.PasswordHash()); err != nil {
			t.Errorf("%s: the password of RUSTOK_SEED_PASSWORD does not match: %v", u.email, err)
		}
	}
}

// TestSeedRefusals: seed refuses, as other refusals do (exit 1, one
// sentence), in production and with a password the policy refuses, and
// writes nothing.
func TestSeedRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		environ []string
		args    []string
		want    string
	}{
		{name: "refused in production", environ: []string{"RUSTOK_JWT_SECRET=" + testProductionSecret},
			args: []string{"--env", "production", "seed"}, want: "seed is refused when the environment is production"},
		{name: "password too short", environ: []string{"RUSTOK_ENV=test", "RUSTOK_SEED_PASSWORD=short"},
			args: []string{"seed"}, want: "RUSTOK_SEED_PASSWORD: password must be at least"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := "RUSTOK_DATABASE__URL=" + dbtest.URL(t, database.SQLite)
			r := runCLI(t, append([]string{db}, tc.environ...), "", tc.args...)
			if r.code != 1 || !strings.HasPrefix(r.stderr, "rustok: ") || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want 1 and %q", r.code, r.stderr, tc.want)
			}
			if l := runCLI(t, []string{db, "RUSTOK_ENV=test"}, "", "tenants", "list", "--json"); l.code != 0 || strings.TrimSpace(l.stdout) != "[]" {
				t.Errorf("tenants after the refusal: exit %d %s %s", l.code, l.stdout, l.stderr)
			}
		})
	}
}

// TestSeedModuleOrder: every module comes after the modules it depends
// on, whatever order it is asked in, and a dependency not asked for is
// added.
func TestSeedModuleOrder(t *testing.T) {
	t.Parallel()
	reg, err := module.NewRegistry(module.Builtin()...)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		wanted  []string
		want    []string
		wantErr bool
	}{
		{name: "dependents after their dependency", wanted: []string{module.SlugForum, module.SlugBlog, module.SlugContent},
			want: []string{module.SlugContent, module.SlugBlog, module.SlugForum}},
		{name: "a missing dependency is added", wanted: []string{module.SlugBlog}, want: []string{module.SlugContent, module.SlugBlog}},
		{name: "core modules are left out", wanted: []string{module.SlugRBAC, module.SlugPages}, want: []string{module.SlugPages}},
		{name: "an unknown module is an error", wanted: []string{"nope"}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := moduleOrder(reg, tc.wanted)
			if (err != nil) != tc.wantErr || !slices.Equal(got, tc.want) {
				t.Fatalf("moduleOrder(%v) = %v, %v; want %v (error %v)", tc.wanted, got, err, tc.want, tc.wantErr)
			}
		})
	}
}
