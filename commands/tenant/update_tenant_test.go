package tenant_test

import (
	"context"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/rustok/rustok/commands"
	tenantcmd "github.com/rustok/rustok/commands/tenant"
	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/tenant"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/platform/database/dbtest"
)

func TestUpdateTenant(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		e.mustCreate(t, tenantcmd.CreateTenant{Slug: "neighbour", Name: "Neighbour", Domains: []string{"taken.example.com"}})
		tests := []struct {
			name string
			// byID addresses the tenant by its id instead of cmd.Tenant.
			byID        bool
			cmd         tenantcmd.UpdateTenant
			wantTypes   []string
			wantName    string
			wantDomains []string
			wantErr     error
			wantCode    domain.Code
			wantField   string
		}{
			{name: "rename by slug", cmd: tenantcmd.UpdateTenant{Tenant: "t1", Name: ptr("New Name")},
				wantTypes: []string{tenant.TypeUpdated}, wantName: "New Name", wantDomains: []string{"a.example.com"}},
			{name: "rename by slug in another case", cmd: tenantcmd.UpdateTenant{Tenant: " T1 ", Name: ptr("New Name")},
				wantTypes: []string{tenant.TypeUpdated}, wantName: "New Name", wantDomains: []string{"a.example.com"}},
			{name: "rename by id", byID: true, cmd: tenantcmd.UpdateTenant{Name: ptr("By Id")},
				wantTypes: []string{tenant.TypeUpdated}, wantName: "By Id", wantDomains: []string{"a.example.com"}},
			{name: "name, removal and addition are one append",
				cmd:       tenantcmd.UpdateTenant{Tenant: "t1", Name: ptr("All"), RemoveDomains: []string{"A.example.com"}, AddDomains: []string{"b.example.com", "c.example.com"}},
				wantTypes: []string{tenant.TypeUpdated, tenant.TypeDomainRemoved, tenant.TypeDomainAdded, tenant.TypeDomainAdded},
				wantName:  "All", wantDomains: []string{"b.example.com", "c.example.com"}},
			{name: "an unchanged name and a domain the tenant has change nothing",
				cmd:      tenantcmd.UpdateTenant{Tenant: "t1", Name: ptr(" T1 Name "), AddDomains: []string{"a.example.com"}},
				wantName: "T1 Name", wantDomains: []string{"a.example.com"}},
			{name: "an empty update changes nothing", cmd: tenantcmd.UpdateTenant{Tenant: "t1"},
				wantName: "T1 Name", wantDomains: []string{"a.example.com"}},
			{name: "an invalid name refuses the whole update",
				cmd:     tenantcmd.UpdateTenant{Tenant: "t1", Name: ptr(""), AddDomains: []string{"b.example.com"}},
				wantErr: tenant.ErrInvalidName, wantCode: domain.CodeBadInput, wantField: "name"},
			{name: "a domain of another tenant refuses the whole update",
				cmd:     tenantcmd.UpdateTenant{Tenant: "t1", Name: ptr("Never"), AddDomains: []string{"b.example.com", "Taken.example.com"}},
				wantErr: eventstore.ErrReserved, wantCode: domain.CodeConflict, wantField: "domains"},
			{name: "an invalid domain is refused", cmd: tenantcmd.UpdateTenant{Tenant: "t1", AddDomains: []string{"bad_domain"}},
				wantErr: tenant.ErrInvalidHost, wantCode: domain.CodeBadInput},
			{name: "removing a domain the tenant lacks is not found", cmd: tenantcmd.UpdateTenant{Tenant: "t1", RemoveDomains: []string{"taken.example.com"}},
				wantErr: tenant.ErrDomainNotFound, wantCode: domain.CodeNotFound},
			{name: "an unknown slug is not found", cmd: tenantcmd.UpdateTenant{Tenant: "nobody", Name: ptr("X")},
				wantErr: tenant.ErrNotFound, wantCode: domain.CodeNotFound},
			{name: "an unknown id is not found", cmd: tenantcmd.UpdateTenant{Tenant: uuid.NewString(), Name: ptr("X")},
				wantErr: tenant.ErrNotFound, wantCode: domain.CodeNotFound},
			{name: "an identifier that is neither id nor slug is bad input", cmd: tenantcmd.UpdateTenant{Tenant: "no way!", Name: ptr("X")},
				wantErr: tenant.ErrInvalidIdentifier, wantCode: domain.CodeBadInput, wantField: "tenant"},
			{name: "a reserved slug is bad input", cmd: tenantcmd.UpdateTenant{Tenant: "admin", Name: ptr("X")},
				wantErr: tenantcmd.ErrInvalidTenant, wantCode: domain.CodeBadInput, wantField: "tenant"},
		}
		for i, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				// Each case gets a fresh tenant: slug t1 is recreated under a new slug and
				// addressed through it.
				slug := "t1-" + string(rune('a'+i))
				id := e.mustCreate(t, tenantcmd.CreateTenant{Slug: slug, Name: "T1 Name", Domains: []string{"a-" + slug + ".example.com"}})
				cmd := tc.cmd
				switch {
				case tc.byID:
					cmd.Tenant = id
				case cmd.Tenant == "t1":
					cmd.Tenant = slug
				case cmd.Tenant == " T1 ":
					cmd.Tenant = " T1-" + string(rune('A'+i)) + " "
				}
				cmd.AddDomains = rename(cmd.AddDomains, slug)
				cmd.RemoveDomains = rename(cmd.RemoveDomains, slug)
				cmd.Actor = actor
				before := e.head(t)

				res, err := e.update.Handle(context.Background(), cmd)
				wantErr(t, err, tc.wantErr, tc.wantCode, tc.wantField)
				stored := e.events(t, id)
				if tc.wantErr != nil || len(tc.wantTypes) == 0 {
					if res.Position != 0 || e.head(t) != before || len(stored) != 1 {
						t.Fatalf("nothing should be written: position %d, head %d → %d, %d events", res.Position, before, e.head(t), len(stored))
					}
					if tc.wantErr != nil {
						return
					}
				}
				var types []string
				for _, ev := range stored[1:] {
					types = append(types, ev.Type)
					if ev.Metadata != actor {
						t.Errorf("event %s metadata = %+v", ev.Type, ev.Metadata)
					}
				}
				if !slices.Equal(types, tc.wantTypes) {
					t.Fatalf("appended %v, want %v", types, tc.wantTypes)
				}
				if len(types) > 0 && stored[len(stored)-1].Position != res.Position {
					t.Errorf("position = %d, want the last event's %d", res.Position, stored[len(stored)-1].Position)
				}
				got := e.load(t, id)
				if got.Name() != tc.wantName || !slices.Equal(got.Domains(), rename(tc.wantDomains, slug)) {
					t.Errorf("tenant = %q %v, want %q %v", got.Name(), got.Domains(), tc.wantName, rename(tc.wantDomains, slug))
				}
				for _, host := range got.Domains() {
					if h := e.holder(t, commands.ScopeTenantDomain, host); h != id {
						t.Errorf("domain %s is held by %q, want the tenant", host, h)
					}
				}
				for _, host := range rename(tc.cmd.RemoveDomains, slug) {
					if h := e.holder(t, commands.ScopeTenantDomain, host); h != "" {
						t.Errorf("removed domain %s is still held by %q", host, h)
					}
				}
			})
		}
	})
}

// rename gives the domains "a/b/c.example.com" of a table case the prefix of
// the case's own tenant, so that cases do not share domains; other hosts are
// kept.
func rename(hosts []string, slug string) []string {
	var out []string
	for _, h := range hosts {
		switch h {
		case "a.example.com", "A.example.com", "b.example.com", "c.example.com":
			h = string(h[0]|0x20) + "-" + slug + ".example.com"
		}
		out = append(out, h)
	}
	return out
}

func TestRemovedDomainIsFreeForAnotherTenant(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		ctx := context.Background()
		first := e.mustCreate(t, tenantcmd.CreateTenant{Slug: "first", Name: "First", Domains: []string{"moving.example.com"}})
		second := e.mustCreate(t, tenantcmd.CreateTenant{Slug: "second", Name: "Second"})
		steps := []struct {
			name     string
			cmd      tenantcmd.UpdateTenant
			wantCode domain.Code
			holder   string
		}{
			{name: "the second tenant cannot take a domain in use", cmd: tenantcmd.UpdateTenant{Tenant: "second", AddDomains: []string{"moving.example.com"}},
				wantCode: domain.CodeConflict, holder: first},
			{name: "removing and re-adding in one update keeps the domain", cmd: tenantcmd.UpdateTenant{Tenant: "first", RemoveDomains: []string{"moving.example.com"}, AddDomains: []string{"moving.example.com"}},
				holder: first},
			{name: "so the second tenant still cannot take it", cmd: tenantcmd.UpdateTenant{Tenant: second, AddDomains: []string{"moving.example.com"}},
				wantCode: domain.CodeConflict, holder: first},
			{name: "the first tenant removes it", cmd: tenantcmd.UpdateTenant{Tenant: "first", RemoveDomains: []string{"moving.example.com"}}},
			{name: "the second tenant takes it", cmd: tenantcmd.UpdateTenant{Tenant: "second", AddDomains: []string{"Moving.example.com"}}, holder: second},
			{name: "the first tenant cannot take it back", cmd: tenantcmd.UpdateTenant{Tenant: first, AddDomains: []string{"moving.example.com"}},
				wantCode: domain.CodeConflict, holder: second},
		}
		for _, s := range steps {
			t.Run(s.name, func(t *testing.T) {
				_, err := e.update.Handle(ctx, s.cmd)
				if s.wantCode == "" && err != nil || s.wantCode != "" && domain.CodeOf(err) != s.wantCode {
					t.Fatalf("error = %v, want code %q", err, s.wantCode)
				}
				if h := e.holder(t, commands.ScopeTenantDomain, "moving.example.com"); h != s.holder {
					t.Errorf("holder = %q, want %q", h, s.holder)
				}
			})
		}
		if got := e.load(t, second).Domains(); !slices.Equal(got, []string{"moving.example.com"}) {
			t.Errorf("second tenant's domains = %v", got)
		}
		if got := e.load(t, first).Domains(); len(got) != 0 {
			t.Errorf("first tenant's domains = %v", got)
		}
	})
}
