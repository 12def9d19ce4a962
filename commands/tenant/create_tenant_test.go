package tenant_test

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rustok/rustok/commands"
	tenantcmd "github.com/rustok/rustok/commands/tenant"
	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/module"
	"github.com/rustok/rustok/domain/tenant"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/platform/database/dbtest"
)

func TestCreateTenant(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		tests := []struct {
			name        string
			cmd         tenantcmd.CreateTenant
			wantSlug    string
			wantDomains []string
			wantModules []string
			wantErr     error
			wantCode    domain.Code
			wantField   string
		}{
			{name: "a tenant gets the default modules and normalized slug and domains",
				cmd:      tenantcmd.CreateTenant{Slug: " Acme ", Name: " Acme Inc ", Domains: []string{"Acme.Example.com:443", "acme.example.com", "www.acme.test"}, Actor: actor},
				wantSlug: "acme", wantDomains: []string{"acme.example.com", "www.acme.test"}, wantModules: []string{"content", "commerce", "pages"}},
			{name: "modules named by the command replace the defaults, in registry order",
				cmd:      tenantcmd.CreateTenant{Slug: "blogger", Name: "Blogger", Modules: []string{"blog", "content"}},
				wantSlug: "blogger", wantDomains: []string{}, wantModules: []string{"content", "blog"}},
			{name: "an empty module list enables no optional module",
				cmd:      tenantcmd.CreateTenant{Slug: "bare", Name: "Bare", Modules: []string{}},
				wantSlug: "bare", wantDomains: []string{}, wantModules: []string{}},
			{name: "an invalid slug is refused", cmd: tenantcmd.CreateTenant{Slug: "-shop", Name: "Shop"},
				wantErr: tenant.ErrInvalidSlug, wantCode: domain.CodeBadInput, wantField: "slug"},
			{name: "a reserved slug is refused", cmd: tenantcmd.CreateTenant{Slug: "Admin", Name: "Admin"},
				wantErr: tenant.ErrReservedSlug, wantCode: domain.CodeBadInput, wantField: "slug"},
			{name: "a UUID-shaped slug is refused", cmd: tenantcmd.CreateTenant{Slug: uuid.NewString(), Name: "Id"},
				wantErr: tenant.ErrUUIDSlug, wantCode: domain.CodeBadInput, wantField: "slug"},
			{name: "an empty name is refused", cmd: tenantcmd.CreateTenant{Slug: "noname", Name: "  "},
				wantErr: tenant.ErrInvalidName, wantCode: domain.CodeBadInput, wantField: "name"},
			{name: "an invalid domain is refused", cmd: tenantcmd.CreateTenant{Slug: "baddomain", Name: "Bad", Domains: []string{"ok.example.com", "a..b"}},
				wantErr: tenant.ErrInvalidHost, wantCode: domain.CodeBadInput, wantField: "domains"},
			{name: "an unknown module is refused", cmd: tenantcmd.CreateTenant{Slug: "badmodule", Name: "Bad", Modules: []string{"shop"}},
				wantErr: module.ErrUnknownModule, wantCode: domain.CodeBadInput},
			{name: "a module without its dependency is refused", cmd: tenantcmd.CreateTenant{Slug: "baddep", Name: "Bad", Modules: []string{"forum"}},
				wantErr: module.ErrMissingDependency, wantCode: domain.CodeConflict},
			{name: "an id that is not a UUID is refused", cmd: tenantcmd.CreateTenant{ID: "42", Slug: "badid", Name: "Bad"},
				wantErr: tenant.ErrInvalidID, wantCode: domain.CodeBadInput, wantField: "id"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				before := e.head(t)
				res, err := e.create.Handle(context.Background(), tc.cmd)
				wantErr(t, err, tc.wantErr, tc.wantCode, tc.wantField)
				if tc.wantErr != nil {
					if res.Position != 0 || e.head(t) != before {
						t.Errorf("a refused create wrote events: position %d, head %d → %d", res.Position, before, e.head(t))
					}
					return
				}
				id := e.holder(t, commands.ScopeTenantSlug, tc.wantSlug)
				if !tenant.IsUUID(id) {
					t.Fatalf("slug %q is held by %q, want a tenant id", tc.wantSlug, id)
				}
				stored := e.events(t, id)
				if len(stored) != 1 || stored[0].Type != tenant.TypeCreated || stored[0].Position != res.Position || stored[0].Version != 1 {
					t.Fatalf("stream = %+v, want one tenant.created at position %d", stored, res.Position)
				}
				if stored[0].Stream != (eventstore.Stream{Type: "tenant", ID: id, TenantID: id}) || stored[0].Metadata != tc.cmd.Actor {
					t.Errorf("stream %+v, metadata %+v", stored[0].Stream, stored[0].Metadata)
				}
				var created tenant.Created
				if err := json.Unmarshal(stored[0].Payload, &created); err != nil {
					t.Fatal(err)
				}
				want := tenant.Created{TenantID: id, Slug: tc.wantSlug, Name: created.Name, Domains: tc.wantDomains, Modules: tc.wantModules,
					DefaultLocale: "en", Locales: []string{"en"}, Settings: json.RawMessage("{}"), At: at}
				if !reflect.DeepEqual(created, want) {
					t.Errorf("tenant.created = %+v\nwant             %+v", created, want)
				}
				loaded := e.load(t, id)
				if loaded.Slug() != tc.wantSlug || loaded.Status() != tenant.StatusActive || loaded.Version() != 1 {
					t.Errorf("loaded tenant: slug %q, status %s, version %d", loaded.Slug(), loaded.Status(), loaded.Version())
				}
				for _, host := range tc.wantDomains {
					if h := e.holder(t, commands.ScopeTenantDomain, host); h != id {
						t.Errorf("domain %q is held by %q, want %s", host, h, id)
					}
				}
			})
		}
	})
}

func TestCreateTenantUniqueness(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		shopID := e.mustCreate(t, tenantcmd.CreateTenant{Slug: "shop", Name: "Shop", Domains: []string{"shop.example.com"}})
		tests := []struct {
			name      string
			cmd       tenantcmd.CreateTenant
			wantErr   error
			wantCode  domain.Code
			wantMsg   string
			wantField string
			// freeSlug is a slug the refused command must not have reserved.
			freeSlug string
		}{
			{name: "a taken slug is a conflict naming it", cmd: tenantcmd.CreateTenant{Slug: "shop", Name: "Other"},
				wantErr: eventstore.ErrReserved, wantCode: domain.CodeConflict, wantMsg: `slug "shop" is already taken`, wantField: "slug"},
			{name: "a taken slug in another case is the same slug", cmd: tenantcmd.CreateTenant{Slug: "Shop", Name: "Other", Domains: []string{"other.example.com"}},
				wantErr: eventstore.ErrReserved, wantCode: domain.CodeConflict, wantMsg: `slug "shop" is already taken`, wantField: "slug"},
			{name: "a domain of another tenant is a conflict naming it", cmd: tenantcmd.CreateTenant{Slug: "copycat", Name: "Copycat", Domains: []string{"new.example.com", "SHOP.example.com."}},
				wantErr: eventstore.ErrReserved, wantCode: domain.CodeConflict, wantMsg: `domain "shop.example.com" is already used by another tenant`, wantField: "domains",
				freeSlug: "copycat"},
			{name: "an id of an existing tenant is a conflict", cmd: tenantcmd.CreateTenant{ID: shopID, Slug: "twin", Name: "Twin"},
				wantErr: tenantcmd.ErrTenantExists, wantCode: domain.CodeConflict, wantMsg: "a tenant with this id already exists", wantField: "id",
				freeSlug: "twin"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				before := e.head(t)
				res, err := e.create.Handle(context.Background(), tc.cmd)
				wantErr(t, err, tc.wantErr, tc.wantCode, tc.wantField)
				if m := domain.MessageOf(err); m != tc.wantMsg {
					t.Errorf("message = %q, want %q", m, tc.wantMsg)
				}
				if res.Position != 0 || e.head(t) != before {
					t.Errorf("a refused create wrote events: position %d, head %d → %d", res.Position, before, e.head(t))
				}
				if tc.freeSlug != "" && e.holder(t, commands.ScopeTenantSlug, tc.freeSlug) != "" {
					t.Errorf("the refused create kept slug %q reserved", tc.freeSlug)
				}
				for _, host := range tc.cmd.Domains {
					if h, err := tenant.NormalizeHost(host); err == nil && h != "shop.example.com" && e.holder(t, commands.ScopeTenantDomain, h) != "" {
						t.Errorf("the refused create kept domain %q reserved", h)
					}
				}
			})
		}
		if got := e.events(t, shopID); len(got) != 1 {
			t.Errorf("the first tenant has %d events, want 1", len(got))
		}
		// The slug and domains of a refused create stay free for the next one.
		e.mustCreate(t, tenantcmd.CreateTenant{Slug: "copycat", Name: "Copycat", Domains: []string{"new.example.com"}})
	})
}

func TestCreateTenantUsesTheConfiguredDefaults(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		h := tenantcmd.NewCreateTenantHandler(e.store, e.reg, []string{"alloy", "pages"}, func() (string, error) { return uuid.NewString(), nil },
			func() time.Time { return at }, commands.Decorators{})
		if _, err := h.Handle(context.Background(), tenantcmd.CreateTenant{Slug: "configured", Name: "Configured"}); err != nil {
			t.Fatal(err)
		}
		id := e.holder(t, commands.ScopeTenantSlug, "configured")
		if got := e.load(t, id).EnabledModules(); !slices.Equal(got, []string{"pages", "alloy"}) {
			t.Errorf("modules = %v, want [pages alloy]", got)
		}
	})
}
