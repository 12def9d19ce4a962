package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	tenantcmd "github.com/rustok/rustok/commands/tenant"
	"github.com/rustok/rustok/eventstore/relay"
	"github.com/rustok/rustok/platform/database"
	"github.com/rustok/rustok/platform/database/dbtest"
)

// TestCLIVerify: `projections verify` exits 0 on a read model its projection
// built, and 1 with one sentence on stderr and every planted difference
// (changed, deleted, stray row) named on stdout; its usage errors exit 2.
func TestCLIVerify(t *testing.T) {
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
		must("tenants", "create", "--slug", "shop", "--name", "Shop", "--domain", "shop.example.com", "--domain", "www.shop.example.com")
		must("tenants", "create", "--slug", "blog", "--name", "Blog")
		must("tenants", "update", "blog", "--name", "Blog Two")
		for _, args := range [][]string{{"projections", "verify", "tenants"}, {"projections", "verify", "--all"}} {
			if r := must(args...); !strings.Contains(r.stdout, "tenants: clean") || !strings.Contains(r.stdout, "verified tenants at position 3") {
				t.Fatalf("%v on a read model built by its projection:\n%s", args, r.stdout)
			}
		}

		db := dbtest.OpenURL(t, dbURL)
		var shopID string
		if err := db.Get(&shopID, `SELECT id FROM rm_tenants WHERE slug = 'shop'`); err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{
			`UPDATE rm_tenants SET name = 'Hacked' WHERE slug = 'shop'`,
			`DELETE FROM rm_tenant_domains WHERE host = 'www.shop.example.com'`,
			`INSERT INTO rm_tenant_domains (host, tenant_id) VALUES ('stray.example.com', 'nobody')`,
		} {
			if _, err := db.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		r := runCLI(t, env, "", "projections", "verify", "tenants")
		if r.code != 1 || !strings.Contains(r.stderr, "rustok: projection tenants differs from its log in 3 rows\n") {
			t.Fatalf("verify of a tampered read model: exit %d, stderr %q", r.code, r.stderr)
		}
		for _, want := range []string{
			"tenants: 3 rows differ from the log:",
			fmt.Sprintf(`  rm_tenants id=%q: name: live "Hacked", rebuilt "Shop"`, shopID),
			`  rm_tenant_domains host="stray.example.com": in the live read model but not in the rebuild from the log (live: host="stray.example.com", tenant_id="nobody")`,
			fmt.Sprintf(`  rm_tenant_domains host="www.shop.example.com": missing from the live read model (rebuilt: host="www.shop.example.com", tenant_id=%q)`, shopID),
		} {
			if !strings.Contains(r.stdout, want+"\n") {
				t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
			}
		}
		if r := runCLI(t, env, "", "projections", "verify", "--all", "--max-diffs", "1"); r.code != 1 || !strings.Contains(r.stdout, "… and 2 more (see --max-diffs)") || strings.Count(r.stdout, "\n  rm_") != 1 {
			t.Fatalf("verify --max-diffs 1: exit %d, stdout:\n%s", r.code, r.stdout)
		}
		// verify leaves no shadow tables and changes nothing: a replay repairs
		// the read model, and verify agrees.
		if r := must("task", "cleanup", "shadows"); !strings.Contains(r.stdout, "shadows: no shadow tables left behind") {
			t.Fatalf("after verify: %s", r.stdout)
		}
		must("projections", "replay", "tenants", "--yes")
		if r := must("projections", "verify", "tenants"); !strings.Contains(r.stdout, "tenants: clean") {
			t.Fatalf("verify after a replay: %s", r.stdout)
		}
	})
}

// TestCLIVerifyUsage: a wrong call of verify exits 2 with the reason.
func TestCLIVerifyUsage(t *testing.T) {
	t.Parallel()
	env := []string{"RUSTOK_DATABASE__URL=" + dbtest.URL(t, database.SQLite), "RUSTOK_LOGGER__LEVEL=error"}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no projection", []string{"projections", "verify"}, "verify needs projection names or --all (not both)"},
		{"names and --all", []string{"projections", "verify", "tenants", "--all"}, "verify needs projection names or --all (not both)"},
		{"unknown projection", []string{"projections", "verify", "ghost"}, `unknown projection "ghost"`},
		{"no room for differences", []string{"projections", "verify", "tenants", "--max-diffs", "0"}, "--max-diffs must be at least 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, env, "", tc.args...)
			if r.code != 2 || !strings.HasPrefix(r.stderr, "rustok: ") || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want exit 2 and %q", r.code, r.stderr, tc.want)
			}
		})
	}
}

// TestCLIVerifyWhileWriting: verifies from the CLI while tenants are
// created and renamed and the workers project them (as `rustok serve` runs
// them): every one is clean, none compares a read model that moved on with a
// rebuild that did not.
func TestCLIVerifyWhileWriting(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		a, err := build(ctx, testConfig(dbURL), slog.New(slog.DiscardHandler), buildOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		h, err := newTenantHandlers(a)
		if err != nil {
			t.Fatal(err)
		}
		runner, err := relay.NewRunner(a.store, a.consumers, a.relayConfig, a.logger, a.relayMetrics)
		if err != nil {
			t.Fatal(err)
		}
		ran := make(chan error, 1)
		go func() { ran <- runner.Run(ctx) }()

		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					slug := fmt.Sprintf("w%d-%d", w, i/4)
					var err error
					if i%4 == 0 {
						_, err = h.create.Handle(ctx, tenantcmd.CreateTenant{Slug: slug, Name: "New", Domains: []string{slug + ".example.com"}})
					} else {
						name := fmt.Sprint("Name ", i)
						_, err = h.update.Handle(ctx, tenantcmd.UpdateTenant{Tenant: slug, Name: &name})
					}
					if err != nil {
						t.Errorf("write %s: %v", slug, err)
						return
					}
				}
			}()
		}
		env := []string{"RUSTOK_DATABASE__URL=" + dbURL, "RUSTOK_LOGGER__LEVEL=error"}
		var outputs []string
		for k := range 3 {
			// Let the log move on between verifies.
			for deadline := time.Now().Add(time.Minute); ; time.Sleep(5 * time.Millisecond) {
				head, err := a.store.Head(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if head >= int64(40*(k+1)) || time.Now().After(deadline) {
					break
				}
			}
			r := runCLI(t, env, "", "projections", "verify", "tenants")
			outputs = append(outputs, strings.TrimSpace(r.stdout))
			if r.code != 0 {
				t.Errorf("verify while writing: exit %d, stderr %q, stdout:\n%s", r.code, r.stderr, r.stdout)
				break
			}
		}
		close(stop)
		wg.Wait()
		cancel()
		if err := <-ran; err != nil {
			t.Errorf("relay: %v", err)
		}
		t.Logf("verifies while writing:\n%s", strings.Join(outputs, "\n"))
	})
}
