package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rustok/rustok/commands"
	tenantcmd "github.com/rustok/rustok/commands/tenant"
	"github.com/rustok/rustok/platform/database/dbtest"
	tenantproj "github.com/rustok/rustok/projections/tenant"
	tenantqry "github.com/rustok/rustok/queries/tenant"
)

// TestCLISlugsAndDomainsCannotCollide: the CLI refuses a domain that
// subdomain resolution reads as another slug, and a slug whose subdomain is
// another tenant's domain, each with one sentence naming the domain and the
// base domain (the default base domain, localhost, in the default header
// mode: docs/adr/0017).
func TestCLISlugsAndDomainsCannotCollide(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		env := []string{"RUSTOK_DATABASE__URL=" + dbURL, "RUSTOK_LOGGER__LEVEL=error"}
		// An operator who once configured other base domains.
		otherBases := append(env[:len(env):len(env)], "RUSTOK_SETTINGS__RUSTOK__TENANT__BASE_DOMAINS=example.com")
		must := func(environ []string, args ...string) {
			t.Helper()
			if r := runCLI(t, environ, "", args...); r.code != 0 {
				t.Fatalf("%v: exit %d: %s", args, r.code, r.stderr)
			}
		}
		refused := func(want string, args ...string) {
			t.Helper()
			r := runCLI(t, env, "", args...)
			if r.code != 1 || !strings.HasPrefix(r.stderr, "rustok: ") || !strings.HasSuffix(r.stderr, ": "+want+"\n") || strings.Count(r.stderr, "\n") != 1 {
				t.Fatalf("%v: exit %d, stderr %q; want exit 1 and one line ending with %q", args, r.code, r.stderr, want)
			}
		}
		must(env, "migrate", "up")

		const daveDomain = `domain "dave.localhost" is refused: under the base domain "localhost" it names the tenant slug "dave", and only the tenant with that slug may use it`
		refused(daveDomain, "tenants", "create", "--slug", "other", "--name", "Other", "--domain", "dave.localhost")
		must(env, "tenants", "create", "--slug", "other", "--name", "Other")
		refused(daveDomain, "tenants", "update", "other", "--add-domain", "Dave.Localhost")
		must(env, "tenants", "create", "--slug", "dave", "--name", "Dave", "--domain", "dave.localhost")

		// A domain given while localhost was no base domain, then a slug.
		must(otherBases, "tenants", "update", "other", "--add-domain", "held.localhost")
		refused(`slug "held" is refused: its subdomain "held.localhost" under the base domain "localhost" is already a domain of another tenant`,
			"tenants", "create", "--slug", "held", "--name", "Held")
	})
}

// TestServeSubdomainTakeover is the reproduction of issue 13, "What was
// seen" 8, against the running server in subdomain mode: a tenant's custom
// domain dave.localhost was taken over by whoever created the slug dave.
// A host that is a tenant's domain must reach that tenant or none (a 404),
// never another one.
func TestServeSubdomainTakeover(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		cfg := testConfig(dbURL)
		cfg.Settings.Rustok.Tenant.Resolution = "subdomain"
		cfg.Settings.Rustok.Tenant.BaseDomains = []string{"localhost"}
		ts := startServer(t, cfg)
		// Handlers of an instance without the base domain: data from before
		// the rule, or from a configuration changed since.
		unruledApp := *ts.a
		unruledApp.cfg.Settings.Rustok.Tenant.BaseDomains = nil
		unruledApp.registry = prometheus.NewRegistry()
		unruled, err := newTenantHandlers(&unruledApp)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		var last int64
		create := func(h tenantHandlers, slug string, domains ...string) {
			res, err := h.create.Handle(ctx, tenantcmd.CreateTenant{Slug: slug, Name: "Tenant " + slug, Domains: domains})
			t.Logf("create %s %v: %v", slug, domains, err)
			last = max(last, res.Position)
		}

		create(ts.h, "other", "dave.localhost") // the custom domain first,
		create(ts.h, "dave")                    // then the slug
		create(unruled, "old", "eve.localhost") // a domain from before the rule,
		create(ts.h, "eve")                     // then the slug
		if err := ts.a.catchUp(ctx, tenantproj.Name, last); err != nil {
			t.Fatal(err)
		}

		checked := 0
		for _, owner := range []string{"other", "old"} {
			id := tenantIDOf(ctx, ts.a, owner)
			if id == "" {
				continue // refused
			}
			holder, _, err := ts.a.store.ReservationHolder(ctx, commands.ScopeTenantSlug, owner)
			if err != nil || holder != id {
				t.Fatalf("tenant %s: %q, %v", owner, holder, err)
			}
			for _, host := range domainsOf(t, ts, id) {
				checked++
				code, slug := currentTenantAt(t, ts, host)
				if code == http.StatusOK && slug != owner {
					t.Errorf("GET with Host %s answered tenant %q: the domain of tenant %s is taken over", host, slug, owner)
				}
			}
		}
		if checked == 0 {
			t.Fatal("no tenant kept a domain: nothing was checked")
		}
	})
}

// domainsOf returns a tenant's domains from the tenants read model.
func domainsOf(t *testing.T, ts *testServer, id string) []string {
	t.Helper()
	v, err := tenantqry.NewReader(ts.a.db).Lookup(context.Background(), "id", id)
	if err != nil {
		t.Fatal(err)
	}
	return v.Domains
}

// currentTenantAt asks the server for the current tenant with the given Host.
func currentTenantAt(t *testing.T, ts *testServer, host string) (int, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"query": `{ currentTenant { slug } }`})
	req, err := http.NewRequest(http.MethodPost, ts.base+"/api/graphql", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out struct {
		Data struct {
			CurrentTenant *struct{ Slug string } `json:"currentTenant"`
		} `json:"data"`
	}
	_ = json.Unmarshal(raw, &out)
	if out.Data.CurrentTenant == nil {
		t.Logf("Host %s: %d %s", host, resp.StatusCode, raw)
		return resp.StatusCode, ""
	}
	return resp.StatusCode, out.Data.CurrentTenant.Slug
}
