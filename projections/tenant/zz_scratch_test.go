package tenant

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/eventstore/relay"
	"github.com/rustok/rustok/platform/database"
	"github.com/rustok/rustok/platform/database/dbtest"
	"github.com/rustok/rustok/projections/projectiontest"
	"github.com/rustok/rustok/projections/tenant/tenanttest"
)

// TestScratchVariants (temporary): times variants of a batch's work on one
// realistic batch, under savepoints rolled back.
func TestScratchVariants(t *testing.T) {
	if os.Getenv("SCRATCH") == "" {
		t.Skip()
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	w, err := tenanttest.GenerateSessions(1, 5000, 50000, 50, at)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dbtest.Dialects {
		if os.Getenv("SCRATCH_DIALECT") != "" && os.Getenv("SCRATCH_DIALECT") != string(d) {
			continue
		}
		t.Run(string(d), func(t *testing.T) {
			_, store := projectiontest.NewStore(t, dbtest.URL(t, d))
			ctx := context.Background()
			cut := len(w.Commands) * 9 / 10
			if _, err := projectiontest.AppendConcurrently(ctx, store, w.Commands[:cut], 16, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := relay.CatchUp(ctx, store, Projection(), relay.Config{BatchSize: 1000}); err != nil {
				t.Fatal(err)
			}
			if _, err := projectiontest.Append(ctx, store, w.Commands[cut:cut+1200]); err != nil {
				t.Fatal(err)
			}
			f := fold()
			c := Projection()
			done := false
			c.Batch.Apply = func(ctx context.Context, tx *relay.Tx, evs []eventstore.Event) error {
				if done {
					return nil
				}
				done = true
				var changes []relay.Change[row]
				g := f
				g.Save = func(ctx context.Context, tx *relay.Tx, cs []relay.Change[row]) error { changes = cs; return nil }
				if err := g.Batch().Apply(ctx, tx, evs); err != nil {
					return err
				}
				t.Logf("batch of %d events, %d rows", len(evs), len(changes))
				var ids []string
				for _, e := range evs {
					if !slices.Contains(ids, e.Stream.ID) {
						ids = append(ids, e.Stream.ID)
					}
				}
				variants := scratchVariants(f, ids, evs, changes)
				times := map[string][]time.Duration{}
				for range 15 {
					for _, v := range variants {
						if _, err := tx.Exec(ctx, `SAVEPOINT scratch`); err != nil {
							return err
						}
						t0 := time.Now()
						if err := v.run(ctx, tx); err != nil {
							return fmt.Errorf("%s: %w", v.name, err)
						}
						times[v.name] = append(times[v.name], time.Since(t0))
						if _, err := tx.Exec(ctx, `ROLLBACK TO SAVEPOINT scratch`); err != nil {
							return err
						}
					}
				}
				for _, v := range variants {
					ts := times[v.name]
					sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
					fmt.Printf("%s %-40s median %v min %v\n", d, v.name, ts[len(ts)/2].Round(10*time.Microsecond), ts[0].Round(10*time.Microsecond))
				}
				return nil
			}
			if _, err := relay.CatchUp(ctx, store, c, relay.Config{BatchSize: 1000}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

type scratchVariant struct {
	name string
	run  func(ctx context.Context, tx *relay.Tx) error
}

var _ = database.Postgres

func scratchVariants(f relay.Fold[row], ids []string, evs []eventstore.Event, changes []relay.Change[row]) []scratchVariant {
	return []scratchVariant{
		{"apply (load+fold+save)", func(ctx context.Context, tx *relay.Tx) error { return f.Batch().Apply(ctx, tx, evs) }},
		{"load", func(ctx context.Context, tx *relay.Tx) error { _, err := load(ctx, tx, ids); return err }},
		{"save", func(ctx context.Context, tx *relay.Tx) error { return save(ctx, tx, changes) }},
		{"domains delete only", func(ctx context.Context, tx *relay.Tx) error {
			drops, _ := scratchDomains(changes)
			return tx.DeleteRows(ctx, TableDomains, []string{"host", "tenant_id"}, drops)
		}},
		{"domains upsert only", func(ctx context.Context, tx *relay.Tx) error {
			_, claims := scratchDomains(changes)
			return tx.Upsert(ctx, relay.Upsert{Table: TableDomains, Columns: []string{"host", "tenant_id"}, Key: []string{"host"}}, claims)
		}},
		{"explain delete", func(ctx context.Context, tx *relay.Tx) error {
			if tx.Dialect() != database.Postgres {
				if !scratchOnce {
					return nil
				}
				scratchOnce = false
				for _, q := range []string{
					`EXPLAIN QUERY PLAN DELETE FROM rm_tenant_domains WHERE (host, tenant_id) IN (VALUES (?, ?), (?, ?))`,
					`EXPLAIN QUERY PLAN INSERT INTO rm_tenant_domains (host, tenant_id) VALUES (?, ?), (?, ?) ON CONFLICT (host) DO UPDATE SET tenant_id = excluded.tenant_id`,
					`EXPLAIN QUERY PLAN SELECT id FROM rm_tenants WHERE id IN (?, ?, ?)`,
				} {
					var plan []struct {
						ID      int    `db:"id"`
						Parent  int    `db:"parent"`
						NotUsed int    `db:"notused"`
						Detail  string `db:"detail"`
					}
					if err := tx.Select(ctx, &plan, q, "a", "b", "c", "d"); err != nil {
						var plan2 []struct {
							ID      int    `db:"id"`
							Parent  int    `db:"parent"`
							NotUsed int    `db:"notused"`
							Detail  string `db:"detail"`
						}
						if err := tx.Select(ctx, &plan2, q, "a", "b", "c"); err != nil {
							return err
						}
						plan = plan2
					}
					fmt.Println(q)
					for _, l := range plan {
						fmt.Println("   ", l.Detail)
					}
				}
				return nil
			}
			drops, _ := scratchDomains(changes)
			var hosts, tids []string
			for _, d := range drops {
				hosts, tids = append(hosts, d[0].(string)), append(tids, d[1].(string))
			}
			var plan []string
			err := tx.Select(ctx, &plan, `EXPLAIN (ANALYZE, COSTS OFF) DELETE FROM rm_tenant_domains AS t USING unnest(CAST(? AS text[]), CAST(? AS text[])) AS d(host, tenant_id) WHERE t.host = d.host AND t.tenant_id = d.tenant_id`, hosts, tids)
			if scratchOnce {
				scratchOnce = false
				fmt.Println(len(drops), "drops")
				for _, l := range plan {
					fmt.Println(l)
				}
			}
			return err
		}},
		{"explain upsert", func(ctx context.Context, tx *relay.Tx) error {
			if tx.Dialect() != database.Postgres {
				return nil
			}
			cols := make([][]any, 12)
			for _, c := range changes {
				v := c.After.Value
				l, _ := encodeLists(v)
				for j, x := range []any{c.After.StreamID, v.Slug, v.Name, v.Status, l.domains, l.modules, v.DefaultLocale, l.locales, v.Settings, c.After.Version, tx.Time(v.CreatedAt), tx.Time(v.UpdatedAt)} {
					cols[j] = append(cols[j], x)
				}
			}
			args := make([]any, 12)
			for j := range cols {
				args[j] = cols[j]
			}
			var plan []string
			err := tx.Select(ctx, &plan, `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) INSERT INTO rm_tenants (id, slug, name, status, domains, modules, default_locale, locales, settings, version, created_at, updated_at) SELECT * FROM unnest(CAST(? AS text[]), CAST(? AS text[]), CAST(? AS text[]), CAST(? AS text[]), CAST(? AS jsonb[]), CAST(? AS jsonb[]), CAST(? AS text[]), CAST(? AS jsonb[]), CAST(? AS jsonb[]), CAST(? AS bigint[]), CAST(? AS timestamptz[]), CAST(? AS timestamptz[])) ON CONFLICT (id) DO UPDATE SET slug = excluded.slug, name = excluded.name, status = excluded.status, domains = excluded.domains, modules = excluded.modules, default_locale = excluded.default_locale, locales = excluded.locales, settings = excluded.settings, version = excluded.version, created_at = excluded.created_at, updated_at = excluded.updated_at WHERE rm_tenants.version < excluded.version`, args...)
			if scratchOnce2 < 0 {
				scratchOnce2++
				for _, l := range plan {
					fmt.Println(l)
				}
			}
			return err
		}},
		{"cte: upsert+delete+claims", func(ctx context.Context, tx *relay.Tx) error {
			if tx.Dialect() != database.Postgres {
				return nil
			}
			return scratchCTE(ctx, tx, changes, false, false)
		}},
		{"cte: update(nulls)+insert+delete+claims", func(ctx context.Context, tx *relay.Tx) error {
			if tx.Dialect() != database.Postgres {
				return nil
			}
			return scratchCTE(ctx, tx, changes, true, false)
		}},
		{"explain ctes", func(ctx context.Context, tx *relay.Tx) error {
			if tx.Dialect() != database.Postgres {
				return nil
			}
			if err := scratchCTE(ctx, tx, changes, false, true); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `ROLLBACK TO SAVEPOINT scratch`); err != nil {
				return err
			}
			return scratchCTE(ctx, tx, changes, true, true)
		}},
		{"tenants upsert only", func(ctx context.Context, tx *relay.Tx) error {
			rows := make([][]any, 0, len(changes))
			for _, c := range changes {
				v := c.After.Value
				l, _ := encodeLists(v)
				rows = append(rows, []any{c.After.StreamID, v.Slug, v.Name, v.Status, l.domains, l.modules, v.DefaultLocale, l.locales, v.Settings, c.After.Version, tx.Time(v.CreatedAt), tx.Time(v.UpdatedAt)})
			}
			return tx.Upsert(ctx, relay.Upsert{Table: TableTenants, Columns: tenantColumns(), Key: []string{"id"}, Version: "version"}, rows)
		}},
	}
}

var scratchOnce = true
var scratchOnce2 = 0

func scratchDomains(changes []relay.Change[row]) (drops, claims [][]any) {
	claimed := map[string]int{}
	for _, c := range changes {
		id, v := c.After.StreamID, c.After.Value
		for _, host := range c.Before.Value.Domains {
			if !slices.Contains(v.Domains, host) {
				drops = append(drops, []any{host, id})
			}
		}
		for _, host := range v.Domains {
			if slices.Contains(c.Before.Value.Domains, host) {
				continue
			}
			if i, ok := claimed[host]; ok {
				claims[i][1] = id
				continue
			}
			claimed[host] = len(claims)
			claims = append(claims, []any{host, id})
		}
	}

	return drops, claims
}

func scratchCTE(ctx context.Context, tx *relay.Tx, changes []relay.Change[row], split, explain bool) error {
	cols := make([][]any, 13)
	for _, c := range changes {
		v, b := c.After.Value, c.Before.Value
		l, _ := encodeLists(v)
		vals := []any{c.After.StreamID, v.Slug, v.Name, v.Status, l.domains, l.modules, v.DefaultLocale, l.locales, v.Settings, c.After.Version, tx.Time(v.CreatedAt), tx.Time(v.UpdatedAt), !c.Before.Exists}
		if split && c.Before.Exists {
			if v.Slug == b.Slug {
				vals[1] = nil
			}
			if v.Name == b.Name {
				vals[2] = nil
			}
			if v.Status == b.Status {
				vals[3] = nil
			}
			if slices.Equal(v.Domains, b.Domains) {
				vals[4] = nil
			}
			if slices.Equal(v.Modules, b.Modules) {
				vals[5] = nil
			}
			if v.DefaultLocale == b.DefaultLocale {
				vals[6] = nil
			}
			if slices.Equal(v.Locales, b.Locales) {
				vals[7] = nil
			}
			if v.Settings == b.Settings {
				vals[8] = nil
			}
			if v.CreatedAt.Equal(b.CreatedAt) {
				vals[10] = nil
			}
		}
		for j, x := range vals {
			cols[j] = append(cols[j], x)
		}
	}
	drops, claims := scratchDomains(changes)
	var dh, dt, ch, ct []any
	for _, d := range drops {
		dh, dt = append(dh, d[0]), append(dt, d[1])
	}
	for _, d := range claims {
		ch, ct = append(ch, d[0]), append(ct, d[1])
	}
	args := []any{}
	for j := range cols {
		args = append(args, cols[j])
	}
	args = append(args, dh, dt, ch, ct)
	un := `unnest(CAST(? AS text[]), CAST(? AS text[]), CAST(? AS text[]), CAST(? AS text[]), CAST(? AS jsonb[]), CAST(? AS jsonb[]), CAST(? AS text[]), CAST(? AS jsonb[]), CAST(? AS jsonb[]), CAST(? AS bigint[]), CAST(? AS timestamptz[]), CAST(? AS timestamptz[]), CAST(? AS boolean[])) AS d(id, slug, name, status, domains, modules, default_locale, locales, settings, version, created_at, updated_at, new)`
	var q string
	set := `slug = excluded.slug, name = excluded.name, status = excluded.status, domains = excluded.domains, modules = excluded.modules, default_locale = excluded.default_locale, locales = excluded.locales, settings = excluded.settings, version = excluded.version, created_at = excluded.created_at, updated_at = excluded.updated_at WHERE rm_tenants.version < excluded.version`
	dom := `, del AS (DELETE FROM rm_tenant_domains AS t USING unnest(CAST(? AS text[]), CAST(? AS text[])) AS x(host, tenant_id) WHERE t.host = x.host AND t.tenant_id = x.tenant_id)
	INSERT INTO rm_tenant_domains (host, tenant_id) SELECT * FROM unnest(CAST(? AS text[]), CAST(? AS text[])) ON CONFLICT (host) DO UPDATE SET tenant_id = excluded.tenant_id`
	if !split {
		q = `WITH d AS MATERIALIZED (SELECT * FROM ` + un + `), up AS (INSERT INTO rm_tenants SELECT id, slug, name, status, domains, modules, default_locale, locales, settings, version, created_at, updated_at FROM d ON CONFLICT (id) DO UPDATE SET ` + set + `)` + dom
	} else {
		q = `WITH d AS MATERIALIZED (SELECT * FROM ` + un + `), u AS (UPDATE rm_tenants AS t SET slug = COALESCE(d.slug, t.slug), name = COALESCE(d.name, t.name), status = COALESCE(d.status, t.status), domains = COALESCE(d.domains, t.domains), modules = COALESCE(d.modules, t.modules), default_locale = COALESCE(d.default_locale, t.default_locale), locales = COALESCE(d.locales, t.locales), settings = COALESCE(d.settings, t.settings), version = d.version, created_at = COALESCE(d.created_at, t.created_at), updated_at = d.updated_at FROM d WHERE NOT d.new AND t.id = d.id AND t.version < d.version),
		up AS (INSERT INTO rm_tenants SELECT id, slug, name, status, domains, modules, default_locale, locales, settings, version, created_at, updated_at FROM d WHERE d.new ON CONFLICT (id) DO UPDATE SET ` + set + `)` + dom
	}
	if explain {
		var plan []string
		if err := tx.Select(ctx, &plan, "EXPLAIN (ANALYZE, COSTS OFF) "+q, args...); err != nil {
			return err
		}
		for _, l := range plan {
			if strings.Contains(l, "Execution Time") || strings.Contains(l, "->  Update") || strings.Contains(l, "->  Insert on rm_tenants") || strings.Contains(l, "Seq Scan") || strings.Contains(l, "Hash Join") {
				fmt.Println(split, l)
			}
		}
		return nil
	}
	_, err := tx.Exec(ctx, q, args...)
	return err
}

var scratchOnce3 = true
