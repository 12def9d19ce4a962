package tenant_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/rustok/rustok/commands"
	tenantcmd "github.com/rustok/rustok/commands/tenant"
	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/tenant"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/platform/database/dbtest"
)

// The one-sentence messages of the collisions under the base domain
// "localhost" (see tenant.CollisionError).
func domainRefused(host, slug string) string {
	return fmt.Sprintf("domain %q is refused: under the base domain \"localhost\" it names the tenant slug %q, and only the tenant with that slug may use it", host, slug)
}

func slugRefused(slug string) string {
	return fmt.Sprintf("slug %q is refused: its subdomain %q under the base domain \"localhost\" is already a domain of another tenant", slug, slug+".localhost")
}

// wantCollision checks that err is the one-sentence collision error with
// message msg: the client sees msg, and err's text is msg after the
// handler's context, with nothing after it.
func wantCollision(tb testing.TB, err error, msg string) {
	tb.Helper()
	var c *tenant.CollisionError
	if !errors.As(err, &c) {
		tb.Fatalf("error = %v, want a *tenant.CollisionError", err)
	}
	if m := domain.MessageOf(err); m != msg {
		tb.Errorf("message = %q, want %q", m, msg)
	}
	if !strings.HasSuffix(err.Error(), ": "+msg) || strings.Count(err.Error(), "\n") > 0 {
		tb.Errorf("error text = %q, want context then the sentence %q", err.Error(), msg)
	}
}

func TestCreateTenantSlugsAndDomainsCannotCollide(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		// Existing data: a domain given before the rule existed, or by an
		// instance configured without the base domain.
		unruled := newEnvBases(t, e.store, e.store)
		holderID := unruled.mustCreate(t, tenantcmd.CreateTenant{Slug: "holder", Name: "Holder", Domains: []string{"held.localhost"}})
		if h := unruled.holder(t, commands.ScopeTenantDomain, "holder.localhost"); h != "" {
			t.Fatalf("without base domains a slug reserves no subdomain, but holder.localhost is held by %q", h)
		}

		tests := []struct {
			name string
			cmd  tenantcmd.CreateTenant
			// wantHosts are host names the new tenant must hold as domains.
			wantHosts []string
			wantErr   error
			wantCode  domain.Code
			wantField string
			// wantMessage, with wantErr, is the one sentence of the collision.
			wantMessage string
		}{
			{name: "a domain that reads as another slug is refused",
				cmd:     tenantcmd.CreateTenant{Slug: "acme", Name: "Acme", Domains: []string{"shop.example.com", "Dave.Localhost:8080"}},
				wantErr: tenant.ErrDomainUnderBase, wantCode: domain.CodeBadInput, wantField: "domains", wantMessage: domainRefused("dave.localhost", "dave")},
			{name: "a slug whose subdomain is another tenant's domain is refused",
				cmd:     tenantcmd.CreateTenant{Slug: " Held ", Name: "Held"},
				wantErr: tenant.ErrSlugSubdomainTaken, wantCode: domain.CodeConflict, wantField: "slug", wantMessage: slugRefused("held")},
			{name: "the refused slug is found through the reservation of the append",
				cmd:     tenantcmd.CreateTenant{Slug: "held", Name: "Held"},
				wantErr: eventstore.ErrReserved, wantCode: domain.CodeConflict, wantField: "slug", wantMessage: slugRefused("held")},
			{name: "asking for the taken subdomain as a domain too is the slug's refusal",
				cmd:     tenantcmd.CreateTenant{Slug: "held", Name: "Held", Domains: []string{"held.localhost"}},
				wantErr: tenant.ErrSlugSubdomainTaken, wantCode: domain.CodeConflict, wantField: "slug", wantMessage: slugRefused("held")},
			{name: "a new tenant reserves its slug's subdomains as domains",
				cmd: tenantcmd.CreateTenant{Slug: "fresh", Name: "Fresh"}, wantHosts: []string{"fresh.localhost"}},
			{name: "the tenant's own subdomain is a domain it may have",
				cmd:       tenantcmd.CreateTenant{Slug: "demo", Name: "Demo", Domains: []string{"demo.localhost", "demo.example.com"}},
				wantHosts: []string{"demo.localhost", "demo.example.com"}},
			{name: "labels that read as no slug make ordinary domains",
				cmd:       tenantcmd.CreateTenant{Slug: "plain", Name: "Plain", Domains: []string{"www.localhost", "a.b.localhost"}},
				wantHosts: []string{"www.localhost", "a.b.localhost", "plain.localhost"}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				before := e.head(t)
				res, err := e.create.Handle(context.Background(), tc.cmd)
				wantErr(t, err, tc.wantErr, tc.wantCode, tc.wantField)
				if tc.wantErr != nil {
					wantCollision(t, err, tc.wantMessage)
					if res.Position != 0 || e.head(t) != before {
						t.Errorf("a refused create wrote events: position %d, head %d → %d", res.Position, before, e.head(t))
					}
					if slug, _ := tenant.NormalizeSlug(tc.cmd.Slug); e.holder(t, commands.ScopeTenantSlug, slug) != "" {
						t.Errorf("a refused create left slug %q reserved", slug)
					}
					return
				}
				id := e.holder(t, commands.ScopeTenantSlug, tc.cmd.Slug)
				for _, host := range tc.wantHosts {
					if h := e.holder(t, commands.ScopeTenantDomain, host); h != id {
						t.Errorf("%s is held by %q, want the new tenant %q", host, h, id)
					}
				}
			})
		}
		if h := e.holder(t, commands.ScopeTenantDomain, "held.localhost"); h != holderID {
			t.Errorf("held.localhost is held by %q, want its tenant %q", h, holderID)
		}
	})
}

func TestUpdateTenantSlugsAndDomainsCannotCollide(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		unruled := newEnvBases(t, e.store, e.store)
		shopID := e.mustCreate(t, tenantcmd.CreateTenant{Slug: "shop", Name: "Shop", Domains: []string{"shop.example.com"}})
		daveID := e.mustCreate(t, tenantcmd.CreateTenant{Slug: "dave", Name: "Dave"})
		// A tenant from before the rule: its subdomain is not reserved.
		unruled.mustCreate(t, tenantcmd.CreateTenant{Slug: "legacy", Name: "Legacy"})

		// The cases run in order, on the same tenants.
		tests := []struct {
			name        string
			env         *env
			cmd         tenantcmd.UpdateTenant
			wantDomains []string // of shop
			// wantHeld maps host names to the tenant holding them ("": free).
			wantHeld    map[string]string
			wantErr     error
			wantCode    domain.Code
			wantField   string
			wantMessage string
		}{
			{name: "adding another slug's subdomain is refused", env: e,
				cmd:     tenantcmd.UpdateTenant{Tenant: "shop", Name: ptr("Never"), AddDomains: []string{"www.shop.example.com", "DAVE.localhost"}},
				wantErr: tenant.ErrDomainUnderBase, wantCode: domain.CodeBadInput, wantField: "domains", wantMessage: domainRefused("dave.localhost", "dave")},
			{name: "adding a subdomain no tenant has yet is refused too", env: e,
				cmd:     tenantcmd.UpdateTenant{Tenant: "shop", AddDomains: []string{"nobody.localhost"}},
				wantErr: tenant.ErrDomainUnderBase, wantCode: domain.CodeBadInput, wantField: "domains", wantMessage: domainRefused("nobody.localhost", "nobody")},
			{name: "the subdomain of a tenant from before the rule is refused by the rule", env: e,
				cmd:     tenantcmd.UpdateTenant{Tenant: "shop", AddDomains: []string{"legacy.localhost"}},
				wantErr: tenant.ErrDomainUnderBase, wantCode: domain.CodeBadInput, wantField: "domains", wantMessage: domainRefused("legacy.localhost", "legacy")},
			{name: "without the base domain configured, the slug's reservation still refuses its subdomain", env: unruled,
				cmd:     tenantcmd.UpdateTenant{Tenant: "shop", AddDomains: []string{"dave.localhost"}},
				wantErr: eventstore.ErrReserved, wantCode: domain.CodeConflict, wantField: "domains"},
			{name: "the tenant's own subdomain may be added", env: e,
				cmd:         tenantcmd.UpdateTenant{Tenant: "shop", AddDomains: []string{"shop.localhost"}},
				wantDomains: []string{"shop.example.com", "shop.localhost"}, wantHeld: map[string]string{"shop.localhost": shopID, "dave.localhost": daveID}},
			{name: "removing the own subdomain keeps it reserved for the slug", env: e,
				cmd:         tenantcmd.UpdateTenant{Tenant: "shop", RemoveDomains: []string{"shop.localhost"}},
				wantDomains: []string{"shop.example.com"}, wantHeld: map[string]string{"shop.localhost": shopID}},
			{name: "removing an ordinary domain releases it", env: e,
				cmd:         tenantcmd.UpdateTenant{Tenant: "shop", RemoveDomains: []string{"shop.example.com"}},
				wantDomains: []string{}, wantHeld: map[string]string{"shop.example.com": "", "shop.localhost": shopID}},
			{name: "a tenant from before the rule can still be changed", env: e,
				cmd:         tenantcmd.UpdateTenant{Tenant: "legacy", Name: ptr("Legacy Renamed")},
				wantDomains: []string{}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				before := e.head(t)
				_, err := tc.env.update.Handle(context.Background(), tc.cmd)
				wantErr(t, err, tc.wantErr, tc.wantCode, tc.wantField)
				if tc.wantErr != nil {
					if tc.wantMessage != "" {
						wantCollision(t, err, tc.wantMessage)
					}
					if e.head(t) != before {
						t.Errorf("a refused update wrote events: head %d → %d", before, e.head(t))
					}
					return
				}
				if got := e.load(t, shopID).Domains(); !slices.Equal(got, tc.wantDomains) {
					t.Errorf("shop's domains = %q, want %q", got, tc.wantDomains)
				}
				for host, want := range tc.wantHeld {
					if h := e.holder(t, commands.ScopeTenantDomain, host); h != want {
						t.Errorf("%s is held by %q, want %q", host, h, want)
					}
				}
			})
		}
	})
}

// reach returns the id of the tenant that the tenancy middleware in
// subdomain mode (base domains testBaseDomains) reaches for host, read from
// the write side: "<slug>.<base>" is looked up as the slug, any other host
// as a domain. "" means no tenant (404). It uses the middleware's own
// functions (tenant.SubdomainSlug, then tenant.NormalizeSlug).
func (e *env) reach(tb testing.TB, host string) string {
	tb.Helper()
	if label, ok := tenant.SubdomainSlug(host, testBaseDomains); ok {
		if slug, err := tenant.NormalizeSlug(label); err == nil {
			return e.holder(tb, commands.ScopeTenantSlug, slug)
		}
	}
	return e.holder(tb, commands.ScopeTenantDomain, host)
}

// TestSubdomainTakeover is the reproduction of issue 13, "What was seen" 8:
// in subdomain mode a tenant's custom domain "dave.localhost" was taken over
// by whoever created the slug "dave", since resolution reads
// "<slug>.<base>" as a slug before it looks a host up as a domain. Whatever
// the order of the commands, a host that is some tenant's domain must never
// reach another tenant.
func TestSubdomainTakeover(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name string
		run  func(t *testing.T, e *env, slug, other string)
	}{
		{name: "the domain first, then the slug", run: func(t *testing.T, e *env, slug, other string) {
			_, _ = e.create.Handle(ctx, tenantcmd.CreateTenant{Slug: other, Name: "Other", Domains: []string{slug + ".localhost"}})
			_, _ = e.create.Handle(ctx, tenantcmd.CreateTenant{Slug: slug, Name: "Dave"})
		}},
		{name: "the slug first, then the domain", run: func(t *testing.T, e *env, slug, other string) {
			_, _ = e.create.Handle(ctx, tenantcmd.CreateTenant{Slug: slug, Name: "Dave"})
			e.mustCreate(t, tenantcmd.CreateTenant{Slug: other, Name: "Other"})
			_, _ = e.update.Handle(ctx, tenantcmd.UpdateTenant{Tenant: other, AddDomains: []string{slug + ".localhost"}})
		}},
		{name: "a domain from before the rule, then the slug", run: func(t *testing.T, e *env, slug, other string) {
			newEnvBases(t, e.store, e.store).mustCreate(t, tenantcmd.CreateTenant{Slug: other, Name: "Other", Domains: []string{slug + ".localhost"}})
			_, _ = e.create.Handle(ctx, tenantcmd.CreateTenant{Slug: slug, Name: "Dave"})
		}},
	}
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		for i, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				slug, other := fmt.Sprintf("dave%d", i), fmt.Sprintf("other%d", i)
				tc.run(t, e, slug, other)
				for _, s := range []string{slug, other} {
					id := e.holder(t, commands.ScopeTenantSlug, s)
					if id == "" {
						continue // refused
					}
					for _, host := range e.load(t, id).Domains() {
						// "" is a domain that subdomain mode cannot reach
						// (a slug of no tenant: 404), not a takeover.
						if got := e.reach(t, host); got != id && got != "" {
							t.Errorf("domain %s of tenant %s reaches tenant %s in subdomain mode: taken over", host, s, got)
						}
					}
				}
			})
		}
	})
}

// TestSlugAndDomainRace races "create the slug dave" against "add the domain
// dave.localhost to another tenant" many times: exactly one wins each time,
// and the loser is refused with its collision. When both instances have the
// same base domains the domain's rule decides; when the domain's instance
// lacks the base domain (a configuration being rolled out, or code from
// before the rule), only the reservations of the two appends decide.
func TestSlugAndDomainRace(t *testing.T) {
	t.Parallel()
	const rounds = 60
	tests := []struct {
		name string
		// domainBases are the base domains of the instance adding the domain.
		domainBases []string
	}{
		{name: "same base domains", domainBases: testBaseDomains},
		{name: "the domain's instance lacks the base domain"},
	}
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		for ci, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e := newEnv(t, dbURL)
				domainSide := newEnvBases(t, e.store, e.store, tc.domainBases...)
				var slugWins, domainWins int
				for i := range rounds {
					slug, other := fmt.Sprintf("dave%d-%d", ci, i), fmt.Sprintf("other%d-%d", ci, i)
					host := slug + ".localhost"
					otherID := e.mustCreate(t, tenantcmd.CreateTenant{Slug: other, Name: "Other"})

					start := make(chan struct{})
					var wg sync.WaitGroup
					var slugErr, domainErr error
					wg.Add(2)
					go func() {
						defer wg.Done()
						<-start
						_, slugErr = e.create.Handle(context.Background(), tenantcmd.CreateTenant{Slug: slug, Name: "Dave"})
					}()
					go func() {
						defer wg.Done()
						<-start
						_, domainErr = domainSide.update.Handle(context.Background(), tenantcmd.UpdateTenant{Tenant: other, AddDomains: []string{host}})
					}()
					close(start)
					wg.Wait()

					slugID := e.holder(t, commands.ScopeTenantSlug, slug)
					hasDomain := slices.Contains(e.load(t, otherID).Domains(), host)
					switch {
					case slugErr == nil && domainErr != nil:
						slugWins++
						if !errors.Is(domainErr, tenant.ErrDomainUnderBase) && !errors.Is(domainErr, eventstore.ErrReserved) {
							t.Fatalf("round %d: the domain lost with %v, want its collision or the taken reservation", i, domainErr)
						}
						if domain.CodeOf(domainErr) == domain.CodeInternal {
							t.Fatalf("round %d: the domain lost with an internal error %v", i, domainErr)
						}
						if hasDomain || slugID == "" || e.holder(t, commands.ScopeTenantDomain, host) != slugID {
							t.Fatalf("round %d: the slug won, but %s is held by %q (slug %q), other has it: %v",
								i, host, e.holder(t, commands.ScopeTenantDomain, host), slugID, hasDomain)
						}
					case domainErr == nil && slugErr != nil:
						domainWins++
						if !errors.Is(slugErr, tenant.ErrSlugSubdomainTaken) || domain.CodeOf(slugErr) != domain.CodeConflict {
							t.Fatalf("round %d: the slug lost with %v, want ErrSlugSubdomainTaken", i, slugErr)
						}
						if !hasDomain || slugID != "" || e.holder(t, commands.ScopeTenantDomain, host) != otherID {
							t.Fatalf("round %d: the domain won, but %s is held by %q and slug %q by %q",
								i, host, e.holder(t, commands.ScopeTenantDomain, host), slug, slugID)
						}
					default:
						t.Fatalf("round %d: slug error %v, domain error %v; want exactly one winner", i, slugErr, domainErr)
					}
				}
				t.Logf("%d rounds: the slug won %d, the domain %d", rounds, slugWins, domainWins)
				if len(tc.domainBases) > 0 && domainWins > 0 {
					t.Errorf("with the same base domains the domain won %d times; the rule must refuse it every time", domainWins)
				}
			})
		}
	})
}
