package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rustok/rustok/migrations"
	"github.com/rustok/rustok/platform/database/dbtest"
)

// TestMigrateCLIDirtySchema drives what an operator meets after an
// interrupted migration: a dirty mark that `migrate up` repairs by itself,
// one it cannot judge (explained in one sentence naming `migrate force`),
// and `migrate force` with its refusals.
func TestMigrateCLIDirtySchema(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		env := []string{"RUSTOK_DATABASE__URL=" + dbURL, "RUSTOK_LOGGER__LEVEL=warn"}
		db := dbtest.OpenURL(t, dbURL)
		setMark := func(version int, dirty bool) {
			t.Helper()
			if _, err := db.Exec(`DELETE FROM schema_migrations`); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(db.Rebind(`INSERT INTO schema_migrations (version, dirty) VALUES (?, ?)`), version, dirty); err != nil {
				t.Fatal(err)
			}
		}
		expect := func(r cliResult, code int, stdout, stderr string) {
			t.Helper()
			if r.code != code || !strings.Contains(r.stdout, stdout) || !strings.Contains(r.stderr, stderr) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d, stdout with %q, stderr with %q", r.code, r.stdout, r.stderr, code, stdout, stderr)
			}
		}

		// The latest migration, and every version, of this rustok.
		mr, err := migrations.NewRunner(dbURL)
		if err != nil {
			t.Fatal(err)
		}
		latest := int(mr.Latest())
		known := make([]string, latest)
		for i := range known {
			known[i] = fmt.Sprint(i + 1)
		}
		of := func(v int) string { return fmt.Sprintf("version %d of %d", v, latest) }

		// Left by an older rustok after a crash, the schema complete: repaired.
		setMark(latest, true)
		expect(runCLI(t, env, "", "migrate", "status"), 0, of(latest)+" (DIRTY: a migration was interrupted; `rustok migrate up` verifies and repairs it)", "")
		expect(runCLI(t, env, "", "tenants", "list"), 1, "", "run `rustok migrate up`, which verifies and repairs it")
		expect(runCLI(t, env, "", "migrate", "up"), 0, fmt.Sprintf("schema at version %d", latest), "repaired the dirty schema mark")
		expect(runCLI(t, env, "", "migrate", "status"), 0, of(latest)+" (up to date)", "")

		// The rest plays on migration 2 (the tenants read model): revert the
		// later ones.
		if latest > 2 {
			expect(runCLI(t, env, "", "migrate", "down", fmt.Sprint(latest-2)), 0, "schema at version 2", "")
		}

		// Changed by hand as well: explained, nothing changed.
		if _, err := db.Exec(`DROP TABLE rm_tenant_domains`); err != nil {
			t.Fatal(err)
		}
		setMark(2, true)
		r := runCLI(t, env, "", "migrate", "up")
		expect(r, 1, "", "rustok: database schema is dirty at version 2 and only partly applied (missing table rm_tenant_domains, index rm_tenant_domains_tenant_idx): complete or undo migration 2 by hand, then run `rustok migrate force 2` or `rustok migrate force 1`\n")
		expect(runCLI(t, env, "", "migrate", "status"), 0, of(2)+" (DIRTY", "")

		// force: a version this rustok does not know is refused.
		expect(runCLI(t, env, "", "migrate", "force", fmt.Sprint(latest+5)), 1, "", fmt.Sprintf("this rustok has no migration %d (it knows %s): run `rustok migrate force` with one of those, or 0 for none", latest+5, strings.Join(known, ", ")))
		expect(runCLI(t, env, "", "migrate", "force", "x"), 2, "", "VERSION must be a number")
		// On a dirty schema it needs no confirmation: it is what the message said to run.
		expect(runCLI(t, env, "", "migrate", "force", "1"), 0, "schema marked at version 1 (was version 2, dirty)", "")
		expect(runCLI(t, env, "", "migrate", "status"), 0, of(1)+fmt.Sprintf(" (%d pending)", latest-1), "")
		// Moving a clean version needs --yes or an answer.
		expect(runCLI(t, env, "", "migrate", "force", "2"), 1, "", "run `rustok migrate force 2 --yes`")
		expect(runCLI(t, env, "n\n", "migrate", "force", "2"), 1, "", "not confirmed")
		expect(runCLI(t, env, "y\n", "migrate", "force", "0"), 0, "schema marked at version 0 (was version 1)", "")
		expect(runCLI(t, env, "", "migrate", "force", "1", "--yes"), 0, "schema marked at version 1 (was version 0)", "")

		// The operator repaired the table by hand: up applies the rest.
		if _, err := db.Exec(`DROP TABLE rm_tenants`); err != nil {
			t.Fatal(err)
		}
		expect(runCLI(t, env, "", "migrate", "up"), 0, fmt.Sprintf("schema at version %d", latest), "")
		expect(runCLI(t, env, "", "migrate", "status"), 0, of(latest)+" (up to date)", "")
	})
}
