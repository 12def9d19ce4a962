package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	tenantcmd "github.com/rustok/rustok/commands/tenant"
	"github.com/rustok/rustok/domain/tenant"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/eventstore/relay"
	"github.com/rustok/rustok/platform/database"
	"github.com/rustok/rustok/platform/database/dbtest"
	tenantproj "github.com/rustok/rustok/projections/tenant"
)

// TestKilledReplayShadows reproduces issue 14's second finding with the
// built binary: a `projections replay` killed (SIGKILL) halfway leaves its
// shadow tables. The next replay drops them as it starts (so killed replays
// no longer pile up copies), and so does `task cleanup shadows`; neither
// touches the shadow tables of a replay that runs in another process
// (stopped with SIGSTOP, it then finishes). The live read model and its
// checkpoint never change.
func TestKilledReplayShadows(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		ctx := context.Background()
		a, err := build(ctx, testConfig(dbURL), slog.New(slog.DiscardHandler), buildOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		last := seedLongLog(t, a, 60, 1000)
		if err := a.catchUp(ctx, tenantproj.Name, last); err != nil {
			t.Fatal(err)
		}
		live, at := liveTenants(t, a), tenantsCheckpoint(t, a)
		assertLive := func(when string) {
			t.Helper()
			if got := liveTenants(t, a); got != live {
				t.Fatalf("%s: the live read model changed", when)
			}
			if got := tenantsCheckpoint(t, a); got != at {
				t.Fatalf("%s: the checkpoint moved from %d to %d", when, at, got)
			}
		}
		dir := t.TempDir()
		env := []string{"HOME=" + os.Getenv("HOME"), "PATH=" + os.Getenv("PATH"), "RUSTOK_DATABASE__URL=" + dbURL, "RUSTOK_LOGGER__LEVEL=warn"}
		replay := func() *process {
			t.Helper()
			before := shadowTables(t, a.db)
			p := startProcess(t, bin, dir, env, "projections", "replay", "tenants", "--yes")
			p.waitFor(t, "a replay batch in new shadow tables", time.Minute, func() bool { return shadowRows(t, a.db, before) > 0 })
			return p
		}
		kill := func() {
			t.Helper()
			p := replay()
			if err := p.cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			if code := p.wait(t, 30*time.Second); code != -1 {
				t.Fatalf("the replay ended with exit %d before it was killed; stdout %q", code, p.stdout.String())
			}
		}
		shadows := func() []relay.Shadow {
			t.Helper()
			found, err := relay.Shadows(ctx, a.db, a.consumers)
			if err != nil {
				t.Fatal(err)
			}
			return found
		}

		kill()
		first := shadows()
		if len(first) != 1 || first[0].Running || len(first[0].Tables) != 2 {
			t.Fatalf("after a killed replay: %+v, want one generation of two tables, not running", first)
		}
		assertLive("after a killed replay")
		// The next replay drops them as it starts, even if it is killed too:
		// killed replays no longer pile up copies.
		kill()
		if found := shadows(); len(found) != 1 || found[0].Generation == first[0].Generation || found[0].Running {
			t.Fatalf("after a second killed replay: %+v, want only its own shadow (not %s)", found, first[0].Generation)
		}
		assertLive("after a second killed replay")

		r := runBinary(t, bin, dir, env, "task", "cleanup", "all")
		if r.code != 0 || strings.Count(r.stdout, "shadows: dropped rm_tenant_domains__r") != 1 {
			t.Fatalf("task cleanup all: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
		if found := shadows(); len(found) != 0 {
			t.Fatalf("after task cleanup: %+v", found)
		}
		assertLive("after task cleanup")

		kill()
		if r := runBinary(t, bin, dir, env, "projections", "replay", "tenants", "--yes"); r.code != 0 {
			t.Fatalf("replay after a killed one: exit %d, %s", r.code, r.stderr)
		} else {
			t.Log(strings.TrimSpace(r.stdout)) // how long a replay takes: the margin of the kills
		}
		if found := shadows(); len(found) != 0 {
			t.Fatalf("the next replay left shadows: %+v", found)
		}
		// It rebuilt the same rows, and passed the cache flush of `cleanup all`.
		if got := liveTenants(t, a); got != live {
			t.Fatal("the next replay rebuilt a different read model")
		}
		at = tenantsCheckpoint(t, a)

		// A replay running in another process keeps its shadow tables.
		p := replay()
		if err := p.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		// (Not `all`: on SQLite the stopped replay may hold the write lock,
		// which the cache flush would wait for.)
		r = runBinary(t, bin, dir, env, "task", "cleanup", "shadows")
		if r.code != 0 || !strings.Contains(r.stdout, "shadows: kept rm_tenant_domains__r") || strings.Contains(r.stdout, "dropped") {
			t.Fatalf("task cleanup shadows during a replay: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
		if found := shadows(); len(found) != 1 || !found[0].Running {
			t.Fatalf("during a replay: %+v, want its shadow, running", found)
		}
		if err := p.cmd.Process.Signal(syscall.SIGCONT); err != nil {
			t.Fatal(err)
		}
		if code := p.wait(t, 2*time.Minute); code != 0 {
			t.Fatalf("the replay whose shadows were kept: exit %d, stderr %s", code, tail(p.stderr.String(), 5))
		}
		if found := shadows(); len(found) != 0 {
			t.Fatalf("after the replay: %+v", found)
		}
		assertLive("after the replay that was kept running")
		if r := runBinary(t, bin, dir, env, "projections", "verify", "--all"); r.code != 0 || !strings.Contains(r.stdout, "tenants: clean") {
			t.Fatalf("projections verify --all after the killed replays: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
	})
}

// seedLongLog creates tenants through the command handler, then appends
// renames straight to their streams (many per append, to be quick), so that
// a replay takes long enough to be killed halfway. It returns the last position.
func seedLongLog(t *testing.T, a *app, tenants, renames int) int64 {
	t.Helper()
	ctx := context.Background()
	h, err := newTenantHandlers(a)
	if err != nil {
		t.Fatal(err)
	}
	var last int64
	for i := range tenants {
		res, err := h.create.Handle(ctx, tenantcmd.CreateTenant{Slug: fmt.Sprintf("t%03d", i), Name: "Tenant", Domains: []string{fmt.Sprintf("t%03d.example.com", i)}})
		if err != nil {
			t.Fatal(err)
		}
		last = res.Position
	}
	if err := a.catchUp(ctx, tenantproj.Name, last); err != nil {
		t.Fatal(err)
	}
	var ids []string
	if err := a.db.Select(&ids, `SELECT id FROM rm_tenants ORDER BY slug`); err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		evs := make([]eventstore.NewEvent, renames)
		for j := range evs {
			evs[j] = eventstore.Record(tenant.Updated{TenantID: id, Name: fmt.Sprint("Tenant ", i, " v", j), At: time.Unix(1_700_000_000+int64(j), 0).UTC()})
		}
		r, err := a.store.Append(ctx, eventstore.Stream{Type: tenant.StreamType, ID: id, TenantID: id}, eventstore.AnyVersion, evs)
		if err != nil {
			t.Fatal(err)
		}
		last = r.Position
	}
	return last
}

// liveTenants dumps the tenants read model.
func liveTenants(t *testing.T, a *app) string {
	t.Helper()
	var b strings.Builder
	for _, q := range []string{
		`SELECT id, slug, name, status, version, domains FROM rm_tenants ORDER BY id`,
		`SELECT host, tenant_id FROM rm_tenant_domains ORDER BY host`,
	} {
		rows, err := a.db.Queryx(q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			vals, err := rows.SliceScan()
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				fmt.Fprintf(&b, "%s ", v)
			}
			b.WriteString("\n")
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// tenantsCheckpoint reads the position of the tenants projection's checkpoint.
func tenantsCheckpoint(t *testing.T, a *app) int64 {
	t.Helper()
	var pos int64
	if err := a.db.Get(&pos, `SELECT offset_acked FROM consumer_offsets WHERE consumer_group = 'tenants'`); err != nil {
		t.Fatal(err)
	}
	return pos
}

// shadowTables lists the shadow copies of rm_tenants.
func shadowTables(t *testing.T, db *database.DB) []string {
	t.Helper()
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'rm_tenants__r%'`
	if db.Dialect() == database.Postgres {
		q = `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE 'rm_tenants__r%'`
	}
	var names []string
	if err := db.Select(&names, q); err != nil {
		t.Fatal(err)
	}
	return names
}

// shadowRows counts the rows in the shadow copies of rm_tenants other than
// those named in old.
func shadowRows(t *testing.T, db *database.DB, old []string) int64 {
	t.Helper()
	var total int64
	for _, n := range shadowTables(t, db) {
		if slices.Contains(old, n) {
			continue
		}
		var c int64
		// The table may be dropped or swapped in meanwhile: count it as empty.
		if err := db.Get(&c, `SELECT COUNT(*) FROM `+n); err == nil {
			total += c
		}
	}
	return total
}
