package tenant_test

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/module"
	"github.com/rustok/rustok/domain/tenant"
)

const (
	tenantID = "0b9e6a3c-5d1f-4c2a-9e8b-7f6a5d4c3b2a"
	otherID  = "11111111-2222-4333-8444-555555555555"
)

var (
	createdAt = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	at        = time.Date(2025, 3, 2, 10, 30, 0, 0, time.UTC)
)

func mustRegistry(tb testing.TB) *module.Registry {
	tb.Helper()
	r, err := module.NewRegistry(module.Builtin()...)
	if err != nil {
		tb.Fatalf("NewRegistry(Builtin()) = %v", err)
	}
	return r
}

func mustLoad(tb testing.TB, history ...tenant.Event) *tenant.Tenant {
	tb.Helper()
	tn, err := tenant.Load(history)
	if err != nil {
		tb.Fatalf("Load(%v) = %v", history, err)
	}
	return tn
}

// created is a Created event as Create records it, with the given
// optional modules enabled and the domains given.
func created(modules []string, domains ...string) tenant.Created {
	return tenant.Created{
		TenantID: tenantID, Slug: "acme", Name: "Acme", Domains: append([]string{}, domains...),
		Modules: append([]string{}, modules...), DefaultLocale: "en", Locales: []string{"en"},
		Settings: []byte("{}"), At: createdAt,
	}
}

// state is everything a Tenant exposes, for comparisons.
type state struct {
	ID, Slug, Name, Settings, DefaultLocale string
	Status                                  tenant.Status
	Domains, Locales, Modules               []string
	Version                                 int64
}

func snapshot(tn *tenant.Tenant) state {
	return state{
		ID: tn.ID(), Slug: tn.Slug(), Name: tn.Name(), Settings: string(tn.Settings()), DefaultLocale: tn.DefaultLocale(),
		Status: tn.Status(), Domains: append([]string{}, tn.Domains()...), Locales: append([]string{}, tn.Locales()...),
		Modules: append([]string{}, tn.EnabledModules()...), Version: tn.Version(),
	}
}

func TestCreateValidatesItsInput(t *testing.T) {
	reg := mustRegistry(t)
	manyDomains := make([]string, tenant.MaxDomains+1)
	for i := range manyDomains {
		manyDomains[i] = fmt.Sprintf("d%d.example.com", i)
	}
	type input struct {
		id, slug, name   string
		domains, modules []string
	}
	tests := []struct {
		name      string
		change    func(*input)
		wantErr   error
		wantCode  domain.Code
		wantField string
	}{
		{name: "uppercase id is refused", change: func(in *input) { in.id = strings.ToUpper(tenantID) }, wantErr: tenant.ErrInvalidID, wantField: "id"},
		{name: "empty id is refused", change: func(in *input) { in.id = "" }, wantErr: tenant.ErrInvalidID, wantField: "id"},
		{name: "invalid slug is refused", change: func(in *input) { in.slug = "-acme" }, wantErr: tenant.ErrInvalidSlug, wantField: "slug"},
		{name: "empty slug is refused", change: func(in *input) { in.slug = "" }, wantErr: tenant.ErrInvalidSlug, wantField: "slug"},
		{name: "reserved slug is refused", change: func(in *input) { in.slug = "admin" }, wantErr: tenant.ErrReservedSlug, wantField: "slug"},
		{name: "UUID-shaped slug is refused as it reads as an id", change: func(in *input) { in.slug = otherID }, wantErr: tenant.ErrUUIDSlug, wantField: "slug"},
		{name: "empty name is refused", change: func(in *input) { in.name = "" }, wantErr: tenant.ErrInvalidName, wantField: "name"},
		{name: "blank name is refused", change: func(in *input) { in.name = " \t " }, wantErr: tenant.ErrInvalidName, wantField: "name"},
		{name: "name of 256 characters is refused", change: func(in *input) { in.name = strings.Repeat("é", 256) }, wantErr: tenant.ErrInvalidName, wantField: "name"},
		{name: "name with a control character is refused", change: func(in *input) { in.name = "Acme\nInc" }, wantErr: tenant.ErrInvalidName, wantField: "name"},
		{name: "name of invalid UTF-8 is refused", change: func(in *input) { in.name = "Acme\xff" }, wantErr: tenant.ErrInvalidName, wantField: "name"},
		{name: "invalid domain is refused naming the field", change: func(in *input) { in.domains = []string{"ok.example.com", "bad_host"} }, wantErr: tenant.ErrInvalidHost, wantField: "domains"},
		{name: "domain with IPv6 literal is refused", change: func(in *input) { in.domains = []string{"[::1]"} }, wantErr: tenant.ErrInvalidHost, wantField: "domains"},
		{name: "more than 20 domains are refused", change: func(in *input) { in.domains = manyDomains }, wantErr: tenant.ErrTooManyDomains, wantField: "domains"},
		{name: "unknown default module is refused", change: func(in *input) { in.modules = []string{"shop"} }, wantErr: module.ErrUnknownModule},
		{name: "default module without its dependency is refused", change: func(in *input) { in.modules = []string{"blog"} }, wantErr: module.ErrMissingDependency, wantCode: domain.CodeConflict},
		{name: "core default module is refused", change: func(in *input) { in.modules = []string{"rbac"} }, wantErr: module.ErrCoreModule},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := input{id: tenantID, slug: "acme", name: "Acme"}
			tc.change(&in)
			tn, events, err := tenant.Create(in.id, in.slug, in.name, in.domains, in.modules, reg, createdAt)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Create error = %v, want %v", err, tc.wantErr)
			}
			if tn != nil || events != nil {
				t.Errorf("Create returned a tenant or events with an error")
			}
			wantCode := tc.wantCode
			if wantCode == "" {
				wantCode = domain.CodeBadInput
			}
			if domain.CodeOf(err) != wantCode {
				t.Errorf("code = %s, want %s", domain.CodeOf(err), wantCode)
			}
			if tc.wantField != "" && domain.FieldOf(err) != tc.wantField {
				t.Errorf("field = %q, want %q", domain.FieldOf(err), tc.wantField)
			}
		})
	}
	t.Run("nil registry is an internal error", func(t *testing.T) {
		_, _, err := tenant.Create(tenantID, "acme", "Acme", nil, nil, nil, createdAt)
		if err == nil || domain.CodeOf(err) != domain.CodeInternal {
			t.Errorf("Create with nil registry = %v, want an internal error", err)
		}
	})
}

func TestCreateRecordsTenantCreated(t *testing.T) {
	reg := mustRegistry(t)
	moscow := time.FixedZone("MSK", 3*60*60)
	tests := []struct {
		name      string
		slug      string
		tname     string
		domains   []string
		modules   []string
		at        time.Time
		wantEvent tenant.Created
	}{
		{
			name: "new tenant is active with locale en, empty settings and the defaults",
			slug: "acme", tname: "Acme", domains: nil, modules: module.Defaults(), at: createdAt,
			wantEvent: tenant.Created{
				TenantID: tenantID, Slug: "acme", Name: "Acme", Domains: []string{}, Modules: []string{"content", "commerce", "pages"},
				DefaultLocale: "en", Locales: []string{"en"}, Settings: []byte("{}"), At: createdAt,
			},
		},
		{
			name: "slug, name and domains are normalized and duplicate domains collapse",
			slug: " ACME ", tname: "  Acme Inc  ", domains: []string{"Shop.Example.com", "shop.example.com.", "acme.test:8080", "SHOP.example.com"},
			modules: nil, at: createdAt,
			wantEvent: tenant.Created{
				TenantID: tenantID, Slug: "acme", Name: "Acme Inc", Domains: []string{"shop.example.com", "acme.test"}, Modules: []string{},
				DefaultLocale: "en", Locales: []string{"en"}, Settings: []byte("{}"), At: createdAt,
			},
		},
		{
			name: "default modules are kept in registry order, once",
			slug: "acme", tname: "Acme", modules: []string{"pages", "blog", "content", "pages"}, at: createdAt,
			wantEvent: tenant.Created{
				TenantID: tenantID, Slug: "acme", Name: "Acme", Domains: []string{}, Modules: []string{"content", "blog", "pages"},
				DefaultLocale: "en", Locales: []string{"en"}, Settings: []byte("{}"), At: createdAt,
			},
		},
		{
			name: "20 domains are allowed and 21 duplicates collapse to one",
			slug: "acme", tname: strings.Repeat("é", 255), domains: slices.Repeat([]string{"a.example.com"}, 21), at: createdAt,
			wantEvent: tenant.Created{
				TenantID: tenantID, Slug: "acme", Name: strings.Repeat("é", 255), Domains: []string{"a.example.com"}, Modules: []string{},
				DefaultLocale: "en", Locales: []string{"en"}, Settings: []byte("{}"), At: createdAt,
			},
		},
		{
			name: "time is recorded in UTC",
			slug: "acme", tname: "Acme", at: createdAt.In(moscow),
			wantEvent: tenant.Created{
				TenantID: tenantID, Slug: "acme", Name: "Acme", Domains: []string{}, Modules: []string{},
				DefaultLocale: "en", Locales: []string{"en"}, Settings: []byte("{}"), At: createdAt,
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tn, events, err := tenant.Create(tenantID, tc.slug, tc.tname, tc.domains, tc.modules, reg, tc.at)
			if err != nil {
				t.Fatalf("Create = %v", err)
			}
			if want := []tenant.Event{tc.wantEvent}; !reflect.DeepEqual(events, want) {
				t.Fatalf("events = %#v\nwant     %#v", events, want)
			}
			want := state{
				ID: tenantID, Slug: tc.wantEvent.Slug, Name: tc.wantEvent.Name, Settings: "{}", DefaultLocale: "en",
				Status: tenant.StatusActive, Domains: tc.wantEvent.Domains, Locales: []string{"en"},
				Modules: tc.wantEvent.Modules, Version: 1,
			}
			if got := snapshot(tn); !reflect.DeepEqual(got, want) {
				t.Errorf("state = %+v\nwant    %+v", got, want)
			}
		})
	}
}

func TestDecisions(t *testing.T) {
	reg := mustRegistry(t)
	defaults := module.Defaults()
	var twentyDomains []string
	for i := range tenant.MaxDomains {
		twentyDomains = append(twentyDomains, fmt.Sprintf("d%d.example.com", i))
	}
	hundredLocales := []tenant.Event{created(nil)}
	for i := range tenant.MaxLocales - 1 {
		locale := fmt.Sprintf("en-%c%c", 'A'+i/26, 'A'+i%26)
		hundredLocales = append(hundredLocales, tenant.LocaleEnabled{TenantID: tenantID, Locale: locale, At: at})
	}

	type decision func(*tenant.Tenant) ([]tenant.Event, error)
	rename := func(name string) decision {
		return func(tn *tenant.Tenant) ([]tenant.Event, error) { return tn.Rename(name, at) }
	}
	addDomain := func(host string) decision {
		return func(tn *tenant.Tenant) ([]tenant.Event, error) { return tn.AddDomain(host, at) }
	}
	removeDomain := func(host string) decision {
		return func(tn *tenant.Tenant) ([]tenant.Event, error) { return tn.RemoveDomain(host, at) }
	}
	disable := func(tn *tenant.Tenant) ([]tenant.Event, error) { return tn.Disable(at) }
	enable := func(tn *tenant.Tenant) ([]tenant.Event, error) { return tn.Enable(at) }
	toggle := func(slug string, on bool) decision {
		return func(tn *tenant.Tenant) ([]tenant.Event, error) { return tn.ToggleModule(reg, slug, on, at) }
	}
	enableLocale := func(l string) decision {
		return func(tn *tenant.Tenant) ([]tenant.Event, error) { return tn.EnableLocale(l, at) }
	}
	disableLocale := func(l string) decision {
		return func(tn *tenant.Tenant) ([]tenant.Event, error) { return tn.DisableLocale(l, at) }
	}

	tests := []struct {
		name       string
		given      []tenant.Event
		when       decision
		wantEvents []tenant.Event
		wantErr    error
		wantCode   domain.Code
	}{
		// Rename
		{name: "rename records tenant.updated with the trimmed name", given: []tenant.Event{created(nil)}, when: rename("  Acme Corp "),
			wantEvents: []tenant.Event{tenant.Updated{TenantID: tenantID, Name: "Acme Corp", At: at}}},
		{name: "rename to the same name is a no-op", given: []tenant.Event{created(nil)}, when: rename(" Acme ")},
		{name: "rename to an empty name is refused", given: []tenant.Event{created(nil)}, when: rename(""), wantErr: tenant.ErrInvalidName, wantCode: domain.CodeBadInput},
		{name: "rename to a name of 256 characters is refused", given: []tenant.Event{created(nil)}, when: rename(strings.Repeat("x", 256)), wantErr: tenant.ErrInvalidName, wantCode: domain.CodeBadInput},
		{name: "a disabled tenant can still be renamed", given: []tenant.Event{created(nil), tenant.Disabled{TenantID: tenantID, At: at}}, when: rename("Acme 2"),
			wantEvents: []tenant.Event{tenant.Updated{TenantID: tenantID, Name: "Acme 2", At: at}}},

		// Domains
		{name: "add domain records it normalized", given: []tenant.Event{created(nil)}, when: addDomain(" Shop.Example.com:443 "),
			wantEvents: []tenant.Event{tenant.DomainAdded{TenantID: tenantID, Domain: "shop.example.com", At: at}}},
		{name: "add a domain the tenant has is a no-op", given: []tenant.Event{created(nil, "shop.example.com")}, when: addDomain("SHOP.example.com.")},
		{name: "add an invalid domain is refused", given: []tenant.Event{created(nil)}, when: addDomain("shop..example.com"), wantErr: tenant.ErrInvalidHost, wantCode: domain.CodeBadInput},
		{name: "add a 21st domain is refused", given: []tenant.Event{created(nil, twentyDomains...)}, when: addDomain("one-more.example.com"), wantErr: tenant.ErrTooManyDomains, wantCode: domain.CodeBadInput},
		{name: "add one of 20 domains again is still a no-op", given: []tenant.Event{created(nil, twentyDomains...)}, when: addDomain(twentyDomains[3])},
		{name: "add a removed domain records it again",
			given: []tenant.Event{created(nil, "a.example.com"), tenant.DomainRemoved{TenantID: tenantID, Domain: "a.example.com", At: at}},
			when:  addDomain("a.example.com"), wantEvents: []tenant.Event{tenant.DomainAdded{TenantID: tenantID, Domain: "a.example.com", At: at}}},
		{name: "remove domain records it", given: []tenant.Event{created(nil, "a.example.com", "b.example.com")}, when: removeDomain("A.example.com"),
			wantEvents: []tenant.Event{tenant.DomainRemoved{TenantID: tenantID, Domain: "a.example.com", At: at}}},
		{name: "remove a domain the tenant does not have is not found", given: []tenant.Event{created(nil, "a.example.com")}, when: removeDomain("c.example.com"), wantErr: tenant.ErrDomainNotFound, wantCode: domain.CodeNotFound},
		{name: "remove an invalid domain is refused", given: []tenant.Event{created(nil, "a.example.com")}, when: removeDomain("[::1]"), wantErr: tenant.ErrInvalidHost, wantCode: domain.CodeBadInput},

		// Status
		{name: "disable an active tenant records tenant.disabled", given: []tenant.Event{created(nil)}, when: disable,
			wantEvents: []tenant.Event{tenant.Disabled{TenantID: tenantID, At: at}}},
		{name: "disable a disabled tenant is a no-op", given: []tenant.Event{created(nil), tenant.Disabled{TenantID: tenantID, At: at}}, when: disable},
		{name: "enable a disabled tenant records tenant.enabled", given: []tenant.Event{created(nil), tenant.Disabled{TenantID: tenantID, At: at}}, when: enable,
			wantEvents: []tenant.Event{tenant.Enabled{TenantID: tenantID, At: at}}},
		{name: "enable an active tenant is a no-op", given: []tenant.Event{created(nil)}, when: enable},

		// Modules
		{name: "enable a module records tenant.module_toggled", given: []tenant.Event{created(defaults)}, when: toggle("alloy", true),
			wantEvents: []tenant.Event{tenant.ModuleToggled{TenantID: tenantID, Module: "alloy", Enabled: true, At: at}}},
		{name: "enable a module with its dependency enabled is allowed", given: []tenant.Event{created(defaults)}, when: toggle("blog", true),
			wantEvents: []tenant.Event{tenant.ModuleToggled{TenantID: tenantID, Module: "blog", Enabled: true, At: at}}},
		{name: "enable a module without its dependency is a conflict", given: []tenant.Event{created([]string{"commerce"})}, when: toggle("forum", true), wantErr: module.ErrMissingDependency, wantCode: domain.CodeConflict},
		{name: "disable a module an enabled module needs is a conflict", given: []tenant.Event{created([]string{"content", "blog"})}, when: toggle("content", false), wantErr: module.ErrDependentEnabled, wantCode: domain.CodeConflict},
		{name: "disable a module once its dependents are off is allowed",
			given: []tenant.Event{created([]string{"content", "blog"}), tenant.ModuleToggled{TenantID: tenantID, Module: "blog", Enabled: false, At: at}},
			when:  toggle("content", false), wantEvents: []tenant.Event{tenant.ModuleToggled{TenantID: tenantID, Module: "content", Enabled: false, At: at}}},
		{name: "disable a core module is refused", given: []tenant.Event{created(defaults)}, when: toggle("rbac", false), wantErr: module.ErrCoreModule, wantCode: domain.CodeBadInput},
		{name: "toggle an unknown module is refused", given: []tenant.Event{created(defaults)}, when: toggle("shop", true), wantErr: module.ErrUnknownModule, wantCode: domain.CodeBadInput},
		{name: "enable an enabled module is a no-op", given: []tenant.Event{created(defaults)}, when: toggle("commerce", true)},
		{name: "disable a disabled module is a no-op", given: []tenant.Event{created(defaults)}, when: toggle("forum", false)},
		{name: "enable a core module is a no-op", given: []tenant.Event{created(defaults)}, when: toggle("index", true)},

		// Locales
		{name: "enable a locale records tenant.locale_enabled", given: []tenant.Event{created(nil)}, when: enableLocale("fr"),
			wantEvents: []tenant.Event{tenant.LocaleEnabled{TenantID: tenantID, Locale: "fr", At: at}}},
		{name: "enable a regional locale normalizes its case", given: []tenant.Event{created(nil)}, when: enableLocale(" EN-us "),
			wantEvents: []tenant.Event{tenant.LocaleEnabled{TenantID: tenantID, Locale: "en-US", At: at}}},
		{name: "enable an enabled locale is a no-op", given: []tenant.Event{created(nil)}, when: enableLocale("EN")},
		{name: "enable a locale of three letters is refused", given: []tenant.Event{created(nil)}, when: enableLocale("eng"), wantErr: tenant.ErrInvalidLocale, wantCode: domain.CodeBadInput},
		{name: "enable a locale of one letter is refused", given: []tenant.Event{created(nil)}, when: enableLocale("e"), wantErr: tenant.ErrInvalidLocale},
		{name: "enable a locale with underscore is refused", given: []tenant.Event{created(nil)}, when: enableLocale("en_US"), wantErr: tenant.ErrInvalidLocale},
		{name: "enable a locale with a numeric region is refused", given: []tenant.Event{created(nil)}, when: enableLocale("es-41"), wantErr: tenant.ErrInvalidLocale},
		{name: "enable a locale with a long region is refused", given: []tenant.Event{created(nil)}, when: enableLocale("en-USA"), wantErr: tenant.ErrInvalidLocale},
		{name: "enable a non-ASCII locale is refused", given: []tenant.Event{created(nil)}, when: enableLocale("éé"), wantErr: tenant.ErrInvalidLocale},
		{name: "enable a 101st locale is refused", given: hundredLocales, when: enableLocale("fr"), wantErr: tenant.ErrTooManyLocales, wantCode: domain.CodeBadInput},
		{name: "disable a locale records tenant.locale_disabled",
			given: []tenant.Event{created(nil), tenant.LocaleEnabled{TenantID: tenantID, Locale: "de", At: at}}, when: disableLocale("DE"),
			wantEvents: []tenant.Event{tenant.LocaleDisabled{TenantID: tenantID, Locale: "de", At: at}}},
		{name: "disable the default locale is a conflict", given: []tenant.Event{created(nil)}, when: disableLocale("en"), wantErr: tenant.ErrDefaultLocale, wantCode: domain.CodeConflict},
		{name: "disable a locale that is not enabled is a no-op", given: []tenant.Event{created(nil)}, when: disableLocale("de")},
		{name: "disable an invalid locale is refused", given: []tenant.Event{created(nil)}, when: disableLocale("german"), wantErr: tenant.ErrInvalidLocale},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tn := mustLoad(t, tc.given...)
			before := snapshot(tn)
			events, err := tc.when(tn)
			if !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil) {
				t.Fatalf("error = %v, want %v", err, tc.wantErr)
			}
			if tc.wantCode != "" && domain.CodeOf(err) != tc.wantCode {
				t.Errorf("code = %s, want %s", domain.CodeOf(err), tc.wantCode)
			}
			if !reflect.DeepEqual(events, tc.wantEvents) {
				t.Fatalf("events = %#v\nwant     %#v", events, tc.wantEvents)
			}
			after := snapshot(tn)
			if len(events) == 0 {
				if !reflect.DeepEqual(after, before) {
					t.Errorf("a decision without events changed the state:\n%+v\n%+v", before, after)
				}
				return
			}
			// The events are applied: the tenant equals one loaded from the whole history.
			if replayed := snapshot(mustLoad(t, append(slices.Clone(tc.given), events...)...)); !reflect.DeepEqual(after, replayed) {
				t.Errorf("state after the decision differs from the replayed history:\n%+v\n%+v", after, replayed)
			}
			if after.Version != before.Version+int64(len(events)) {
				t.Errorf("version = %d, want %d", after.Version, before.Version+int64(len(events)))
			}
		})
	}
}

func TestStateFollowsTheEvents(t *testing.T) {
	reg := mustRegistry(t)
	tn, _, err := tenant.Create(tenantID, "acme", "Acme", []string{"a.example.com"}, module.Defaults(), reg, createdAt)
	if err != nil {
		t.Fatal(err)
	}
	steps := []func() ([]tenant.Event, error){
		func() ([]tenant.Event, error) { return tn.AddDomain("b.example.com", at) },
		func() ([]tenant.Event, error) { return tn.RemoveDomain("a.example.com", at) },
		func() ([]tenant.Event, error) { return tn.ToggleModule(reg, "blog", true, at) },
		func() ([]tenant.Event, error) { return tn.ToggleModule(reg, "commerce", false, at) },
		func() ([]tenant.Event, error) { return tn.EnableLocale("de-AT", at) },
		func() ([]tenant.Event, error) { return tn.Disable(at) },
		func() ([]tenant.Event, error) { return tn.Rename("Acme GmbH", at) },
	}
	for i, step := range steps {
		if _, err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	want := state{
		ID: tenantID, Slug: "acme", Name: "Acme GmbH", Settings: "{}", DefaultLocale: "en", Status: tenant.StatusDisabled,
		Domains: []string{"b.example.com"}, Locales: []string{"en", "de-AT"}, Modules: []string{"content", "pages", "blog"}, Version: 8,
	}
	if got := snapshot(tn); !reflect.DeepEqual(got, want) {
		t.Errorf("state = %+v\nwant    %+v", got, want)
	}
	if got := reg.Effective(tn.EnabledModules()); !slices.Equal(got, []string{"tenant", "rbac", "index", "content", "blog", "pages"}) {
		t.Errorf("effective modules = %v", got)
	}
}

func TestAccessorsReturnCopies(t *testing.T) {
	tn := mustLoad(t, created([]string{"content"}, "a.example.com"))
	tn.Domains()[0] = "changed"
	tn.Locales()[0] = "changed"
	tn.EnabledModules()[0] = "changed"
	tn.Settings()[0] = 'x'
	want := state{
		ID: tenantID, Slug: "acme", Name: "Acme", Settings: "{}", DefaultLocale: "en", Status: tenant.StatusActive,
		Domains: []string{"a.example.com"}, Locales: []string{"en"}, Modules: []string{"content"}, Version: 1,
	}
	if got := snapshot(tn); !reflect.DeepEqual(got, want) {
		t.Errorf("state changed through an accessor: %+v", got)
	}
}

func TestEventsDoNotShareStateWithTheTenant(t *testing.T) {
	tn, events, err := tenant.Create(tenantID, "acme", "Acme", []string{"a.example.com"}, []string{"content"}, mustRegistry(t), createdAt)
	if err != nil {
		t.Fatal(err)
	}
	e := events[0].(tenant.Created)
	e.Domains[0], e.Modules[0], e.Locales[0], e.Settings[0] = "x", "x", "x", 'x'
	if tn.Domains()[0] != "a.example.com" || tn.EnabledModules()[0] != "content" || tn.Locales()[0] != "en" || string(tn.Settings()) != "{}" {
		t.Errorf("changing a returned event changed the tenant: %+v", snapshot(tn))
	}
}

func TestToggleModuleWithoutRegistryIsInternal(t *testing.T) {
	tn := mustLoad(t, created(nil))
	if events, err := tn.ToggleModule(nil, "blog", true, at); events != nil || err == nil || domain.CodeOf(err) != domain.CodeInternal {
		t.Errorf("ToggleModule(nil registry) = %v, %v; want an internal error", events, err)
	}
}

func TestZeroTenantRecordsNothing(t *testing.T) {
	var tn tenant.Tenant
	if _, err := tn.Rename("Acme", at); !errors.Is(err, tenant.ErrInvalidHistory) {
		t.Errorf("Rename on the zero Tenant = %v, want ErrInvalidHistory", err)
	}
	if _, err := tn.Disable(at); !errors.Is(err, tenant.ErrInvalidHistory) {
		t.Errorf("Disable on the zero Tenant = %v, want ErrInvalidHistory", err)
	}
	if tn.Version() != 0 {
		t.Errorf("version = %d", tn.Version())
	}
}
