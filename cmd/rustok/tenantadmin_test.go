package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/rustok/rustok/platform/database"
	"github.com/rustok/rustok/platform/database/dbtest"
)

// linkIn returns the one-time link that `tenants create --admin-email`
// printed, or fails.
func linkIn(t *testing.T, stdout string) *url.URL {
	t.Helper()
	for _, line := range strings.Split(stdout, "\n") {
		if strings.Contains(line, "token=") {
			u, err := url.Parse(strings.TrimSpace(line))
			if err != nil {
				t.Fatal(err)
			}
			return u
		}
	}
	t.Fatalf("no link in %q", stdout)
	return nil
}

// TestTenantsCreateWithAdmin runs `tenants create --admin-email` through
// the CLI on each database. Without --admin-password-stdin it prints a
// link under settings.rustok.email.reset_base_url whose token is the one
// the reset mail reactor mails for the same request, which sets the
// admin's password once on the real serve stack; after it the admin signs
// in with role admin. With --admin-password-stdin it prints no link and
// the admin signs in with the password read.
func TestTenantsCreateWithAdmin(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		env := []string{"RUSTOK_ENV=test", "RUSTOK_DATABASE__URL=" + dbURL,
			"RUSTOK_SETTINGS__RUSTOK__EMAIL__RESET_BASE_URL=https://admin.example.com/set-password?lang=en"}
		r := runCLI(t, env, "", "tenants", "create", "--slug", "shop", "--name", "Shop", "--admin-email", "Owner@Example.com")
		if r.code != 0 || !strings.Contains(r.stdout, "created tenant shop") || !strings.Contains(r.stdout, "created admin owner@example.com") {
			t.Fatalf("create: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		link := linkIn(t, r.stdout)
		token := link.Query().Get("token")
		if link.Scheme != "https" || link.Host != "admin.example.com" || link.Path != "/set-password" || link.Query().Get("lang") != "en" || token == "" {
			t.Fatalf("link %s", link)
		}

		cfg := authConfig(dbURL)
		mailDir := t.TempDir()
		cfg.Settings.Rustok.Email.Driver, cfg.Settings.Rustok.Email.FileDir = "file", mailDir
		ts := startServer(t, cfg)
		eventually(t, "the reset message written", func() bool { return len(mailFiles(t, mailDir)) == 1 })
		if to, mailed := resetTokenIn(t, mailFiles(t, mailDir)[0]); mailed != token || !strings.Contains(to, "owner@example.com") {
			t.Errorf("the printed token differs from the mailed one (to %q):\n%s\n%s", to, token, mailed)
		}

		if code, _ := signInRole(t, ts, "shop", "owner@example.com", "my new admin password"); code != http.StatusUnauthorized {
			t.Fatalf("sign-in before the password is set: %d, want 401", code)
		}
		body := `{"token":"` + token + `","new_password":"my new admin password"}`
		if code, _, raw := ts.authCall(t, http.MethodPost, "/api/auth/reset/confirm", "shop", "", body); code != http.StatusOK {
			t.Fatalf("set the password with the link: %d %s", code, raw)
		}
		if code, hdr, raw := ts.authCall(t, http.MethodPost, "/api/auth/reset/confirm", "shop", "", body); code != http.StatusBadRequest {
			t.Errorf("the link a second time: %d %v %s, want 400", code, hdr, raw)
		}
		if code, role := signInRole(t, ts, "shop", "owner@example.com", "my new admin password"); code != http.StatusOK || role != "admin" {
			t.Fatalf("sign-in as the admin: %d, role %q", code, role)
		}

		r = runCLI(t, env, "pw-from-stdin-123\n", "tenants", "create", "--slug", "other", "--name", "Other",
			"--admin-email", "boss@example.com", "--admin-password-stdin")
		if r.code != 0 || !strings.Contains(r.stdout, "created admin boss@example.com") || strings.Contains(r.stdout, "token=") ||
			strings.Contains(r.stdout, "pw-from-stdin") {
			t.Fatalf("create with --admin-password-stdin: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		if code, role := signInRole(t, ts, "other", "boss@example.com", "pw-from-stdin-123"); code != http.StatusOK || role != "admin" {
			t.Fatalf("sign-in as the admin with the password from stdin: %d, role %q", code, role)
		}
	})
}

// TestTenantsCreateAdminRefusals: a bad --admin-email, a password on stdin
// the policy refuses or no password at all is refused before the tenant is
// created; --admin-password-stdin alone is a usage error.
func TestTenantsCreateAdminRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		stdin string
		args  []string
		code  int
		want  string
	}{
		{name: "password from stdin without an email", args: []string{"--admin-password-stdin"}, code: 2,
			want: "--admin-password-stdin needs --admin-email"},
		{name: "invalid email", args: []string{"--admin-email", "not-an-email"}, code: 1, want: "--admin-email"},
		{name: "password too short", stdin: "short\n", args: []string{"--admin-email", "a@example.com", "--admin-password-stdin"}, code: 1,
			want: "password must be at least"},
		{name: "no password on stdin", args: []string{"--admin-email", "a@example.com", "--admin-password-stdin"}, code: 1,
			want: "no password on stdin"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := []string{"RUSTOK_ENV=test", "RUSTOK_DATABASE__URL=" + dbtest.URL(t, database.SQLite)}
			r := runCLI(t, env, tc.stdin, append([]string{"tenants", "create", "--slug", "shop", "--name", "Shop"}, tc.args...)...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", r.code, r.stderr, tc.code, tc.want)
			}
			if l := runCLI(t, env, "", "tenants", "list", "--json"); l.code != 0 || strings.TrimSpace(l.stdout) != "[]" {
				t.Errorf("tenants after the refusal: exit %d %s %s", l.code, l.stdout, l.stderr)
			}
		})
	}
}
