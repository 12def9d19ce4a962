package main

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rustok/rustok/platform/database/dbtest"
)

// serveCLI runs `rustok serve` through the CLI with environ until it
// listens, and returns a testServer for its address (requests only) and a
// stop function that stops it and returns what it printed on stderr.
func serveCLI(t *testing.T, environ []string) (ts *testServer, stop func() string) {
	t.Helper()
	var out, errb lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--config", configDir, "serve"}, strings.NewReader(""), &out, &errb, environ)
	}()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(out.String(), "Stop with Ctrl+C.") {
		select {
		case code := <-done:
			cancel()
			t.Fatalf("serve stopped with exit %d: %s", code, errb.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			<-done
			t.Fatalf("serve not listening after 60 s: %s", errb.String())
		}
	}
	api := bannerLines(out.String())["GraphQL API"]
	stopped := false
	stop = func() string {
		t.Helper()
		if !stopped {
			stopped = true
			cancel()
			if code := <-done; code != 0 {
				t.Errorf("serve exit %d after stop: %s", code, errb.String())
			}
		}
		return errb.String()
	}
	t.Cleanup(func() { stop() })
	return &testServer{base: strings.TrimSuffix(api, "/api/graphql")}, stop
}

// runServeRefused runs `rustok serve` with environ, which must refuse to
// start, and returns its result.
func runServeRefused(t *testing.T, environ []string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errb lockedBuffer
	code := run(ctx, []string{"--config", configDir, "serve"}, strings.NewReader(""), &out, &errb, environ)
	if ctx.Err() != nil {
		t.Fatalf("serve did not refuse to start: %s", errb.String())
	}
	return cliResult{code, out.String(), errb.String()}
}

// signInRole signs in at tenant and returns the status and, on success, the
// user's role.
func signInRole(t *testing.T, ts *testServer, tenant, email, password string) (int, string) {
	t.Helper()
	code, _, raw := ts.authCall(t, http.MethodPost, "/api/auth/login", tenant, "", `{"email":"`+email+`","password":"`+password+`"}`)
	if code != http.StatusOK {
		return code, ""
	}
	var a authAnswer
	if err := json.Unmarshal([]byte(raw), &a); err != nil {
		t.Fatalf("login answer %s: %v", raw, err)
	}
	return code, a.User.Role
}

// TestBootstrapSuperAdmin starts serve through the CLI with
// SUPERADMIN_EMAIL and SUPERADMIN_PASSWORD, on each database, with the
// default tenant given by slug and by id: the first start creates the
// tenant and the super admin, who signs in there at once; a second start
// with another password changes nothing (the first password still works,
// the new one does not) and logs that the user exists; the password is
// never logged.
func TestBootstrapSuperAdmin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		defaultID string
		// tenant is how requests name the tenant: its slug.
		tenant string
	}{
		{name: "default tenant by slug is created with that slug", defaultID: "home", tenant: "home"},
		{name: "default tenant by id is created with that id", defaultID: "0190a5b2-7c3d-7e4f-8a5b-6c7d8e9f0a1b", tenant: defaultTenantSlug},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dbtest.Run(t, func(t *testing.T, dbURL string) {
				t.Parallel()
				const email, first, second = "root@example.com", "first-Secret-pw-1", "second-Secret-pw-2"
				env := []string{
					"RUSTOK_ENV=test", "RUSTOK_DATABASE__URL=" + dbURL, "RUSTOK_SERVER__PORT=0", "RUSTOK_LOGGER__LEVEL=info",
					"RUSTOK_SETTINGS__RUSTOK__TENANT__DEFAULT_ID=" + tc.defaultID,
					"SUPERADMIN_EMAIL=Root@Example.com",
				}

				ts, stop := serveCLI(t, append(env, "SUPERADMIN_PASSWORD="+first))
				if code, role := signInRole(t, ts, tc.tenant, email, first); code != http.StatusOK || role != "super_admin" {
					t.Fatalf("sign-in after the first start: %d, role %q", code, role)
				}
				logs := stop()
				for _, want := range []string{"default tenant created for the super admin", "super admin created"} {
					if !strings.Contains(logs, want) {
						t.Errorf("first start: the log lacks %q:\n%s", want, logs)
					}
				}
				if strings.Contains(logs, first) {
					t.Errorf("the log shows the password:\n%s", logs)
				}
				if r := runCLI(t, env, "", "tenants", "list", "--json"); r.code != 0 || !strings.Contains(r.stdout, `"slug": "`+tc.tenant+`"`) ||
					(tc.tenant == defaultTenantSlug && !strings.Contains(r.stdout, `"id": "`+tc.defaultID+`"`)) {
					t.Fatalf("tenants list: exit %d %s %s", r.code, r.stdout, r.stderr)
				}

				ts, stop = serveCLI(t, append(env, "SUPERADMIN_PASSWORD="+second))
				if code, role := signInRole(t, ts, tc.tenant, email, first); code != http.StatusOK || role != "super_admin" {
					t.Errorf("sign-in with the first password after the second start: %d, role %q", code, role)
				}
				if code, _ := signInRole(t, ts, tc.tenant, email, second); code != http.StatusUnauthorized {
					t.Errorf("sign-in with the second password: %d, want 401 (the password must not change)", code)
				}
				logs = stop()
				if !strings.Contains(logs, "super admin exists; left unchanged") || strings.Contains(logs, "super admin created") ||
					strings.Contains(logs, "default tenant created") {
					t.Errorf("second start: log\n%s", logs)
				}
				if strings.Contains(logs, second) {
					t.Errorf("the log shows the password:\n%s", logs)
				}
			})
		})
	}
}

// TestBootstrapLeavesAnotherRoleAlone: a user with SUPERADMIN_EMAIL who
// exists with another role keeps it (the variables create, they do not
// promote), and the log warns.
func TestBootstrapLeavesAnotherRoleAlone(t *testing.T) {
	t.Parallel()
	dbURL := "sqlite://" + filepath.Join(t.TempDir(), "rustok.db")
	env := []string{"RUSTOK_ENV=test", "RUSTOK_DATABASE__URL=" + dbURL, "RUSTOK_SERVER__PORT=0", "RUSTOK_LOGGER__LEVEL=info"}
	if r := runCLI(t, env, "", "migrate", "up"); r.code != 0 {
		t.Fatalf("migrate: %s", r.stderr)
	}
	if r := runCLI(t, env, "", "seed"); r.code != 0 {
		t.Fatalf("seed: %s", r.stderr)
	}
	env = append(env, "RUSTOK_SETTINGS__RUSTOK__TENANT__DEFAULT_ID=demo",
		"SUPERADMIN_EMAIL=customer@demo.local", "SUPERADMIN_PASSWORD=another-password-1")
	ts, stop := serveCLI(t, env)
	if code, role := signInRole(t, ts, "demo", "customer@demo.local", seedDefaultPassword); code != http.StatusOK || role != "customer" {
		t.Errorf("the customer after the bootstrap: %d, role %q", code, role)
	}
	if logs := stop(); !strings.Contains(logs, "exists with another role; left unchanged") || !strings.Contains(logs, "role=customer") {
		t.Errorf("log:\n%s", logs)
	}
}

// TestBootstrapRefusals: serve refuses to start, with one sentence naming
// what to fix, when only one of the variables is set, when no default
// tenant is configured, or when the policy refuses the password (which the
// message does not show); nothing is written.
func TestBootstrapRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		environ []string
		want    []string
	}{
		{name: "email without password", environ: []string{"SUPERADMIN_EMAIL=root@example.com", "RUSTOK_SETTINGS__RUSTOK__TENANT__DEFAULT_ID=home"},
			want: []string{"SUPERADMIN_EMAIL and SUPERADMIN_PASSWORD must be set together"}},
		{name: "password without email", environ: []string{"SUPERADMIN_PASSWORD=pw-Secret-123", "RUSTOK_SETTINGS__RUSTOK__TENANT__DEFAULT_ID=home"},
			want: []string{"SUPERADMIN_EMAIL and SUPERADMIN_PASSWORD must be set together"}},
		{name: "password too short", environ: []string{"SUPERADMIN_EMAIL=root@example.com", "SUPERADMIN_PASSWORD=Secret1", "RUSTOK_SETTINGS__RUSTOK__TENANT__DEFAULT_ID=home"},
			want: []string{"SUPERADMIN_PASSWORD", "at least"}},
		{name: "invalid email", environ: []string{"SUPERADMIN_EMAIL=root", "SUPERADMIN_PASSWORD=pw-Secret-123", "RUSTOK_SETTINGS__RUSTOK__TENANT__DEFAULT_ID=home"},
			want: []string{"SUPERADMIN_EMAIL"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := append([]string{"RUSTOK_ENV=test", "RUSTOK_SERVER__PORT=0",
				"RUSTOK_DATABASE__URL=sqlite://" + filepath.Join(t.TempDir(), "rustok.db")}, tc.environ...)
			r := runServeRefused(t, env)
			if r.code != 1 {
				t.Fatalf("exit %d, want 1: %s", r.code, r.stderr)
			}
			for _, want := range tc.want {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr %q lacks %q", r.stderr, want)
				}
			}
			if strings.Contains(r.stderr, "Secret") {
				t.Errorf("stderr shows the password: %q", r.stderr)
			}
			if l := runCLI(t, env, "", "tenants", "list", "--json"); l.code != 0 || strings.TrimSpace(l.stdout) != "[]" {
				t.Errorf("tenants after the refusal: exit %d %s %s", l.code, l.stdout, l.stderr)
			}
		})
	}
}
