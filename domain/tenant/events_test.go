package tenant_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/module"
	"github.com/rustok/rustok/domain/tenant"
)

// history runs every decision once through the public API and returns the
// tenant and all its events.
func history(tb testing.TB) (*tenant.Tenant, []tenant.Event) {
	tb.Helper()
	reg := mustRegistry(tb)
	tn, all, err := tenant.Create(tenantID, "acme", "Acme", []string{"a.example.com", "b.example.com"}, module.Defaults(), reg, createdAt)
	if err != nil {
		tb.Fatal(err)
	}
	steps := []func() ([]tenant.Event, error){
		func() ([]tenant.Event, error) { return tn.Rename("Acme Corp", at) },
		func() ([]tenant.Event, error) { return tn.AddDomain("c.example.com", at) },
		func() ([]tenant.Event, error) { return tn.RemoveDomain("a.example.com", at) },
		func() ([]tenant.Event, error) { return tn.ToggleModule(reg, "blog", true, at) },
		func() ([]tenant.Event, error) { return tn.ToggleModule(reg, "pages", false, at) },
		func() ([]tenant.Event, error) { return tn.EnableLocale("fr", at) },
		func() ([]tenant.Event, error) { return tn.EnableLocale("pt-BR", at) },
		func() ([]tenant.Event, error) { return tn.DisableLocale("fr", at) },
		func() ([]tenant.Event, error) { return tn.Disable(at) },
		func() ([]tenant.Event, error) { return tn.Enable(at) },
	}
	for i, step := range steps {
		events, err := step()
		if err != nil || len(events) != 1 {
			tb.Fatalf("step %d: %v, %v", i, events, err)
		}
		all = append(all, events...)
	}
	return tn, all
}

func TestEventsRoundTripThroughJSON(t *testing.T) {
	live, events := history(t)
	seen := map[string]bool{}
	var decoded []tenant.Event
	for _, e := range events {
		payload, err := json.Marshal(e)
		if err != nil {
			t.Fatalf("marshal %s: %v", e.EventType(), err)
		}
		d, err := tenant.Decode(e.EventType(), e.SchemaVersion(), payload)
		if err != nil {
			t.Fatalf("Decode(%s, %s) = %v", e.EventType(), payload, err)
		}
		if !reflect.DeepEqual(d, e) {
			t.Errorf("Decode gives %#v\nwant        %#v", d, e)
		}
		decoded = append(decoded, d)
		seen[e.EventType()] = true
	}
	for _, typ := range tenant.EventTypes() {
		if !seen[typ] {
			t.Errorf("history lacks %s: the round trip does not cover it", typ)
		}
	}
	loaded, err := tenant.Load(decoded)
	if err != nil {
		t.Fatalf("Load = %v", err)
	}
	if got, want := snapshot(loaded), snapshot(live); !reflect.DeepEqual(got, want) {
		t.Errorf("loaded state = %+v\nlive state   = %+v", got, want)
	}
}

func TestEventPayloadsUseSnakeCase(t *testing.T) {
	_, events := history(t)
	payload, err := json.Marshal(events[0])
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(payload, &fields); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"at", "default_locale", "domains", "locales", "modules", "name", "settings", "slug", "tenant_id"}
	if !slices.Equal(keys, want) {
		t.Errorf("tenant.created fields = %v, want %v", keys, want)
	}
	if string(fields["settings"]) != "{}" || string(fields["modules"]) != `["content","commerce","pages"]` {
		t.Errorf("settings = %s, modules = %s", fields["settings"], fields["modules"])
	}
	var toggled map[string]any
	payload, _ = json.Marshal(tenant.ModuleToggled{TenantID: tenantID, Module: "blog", Enabled: true, At: at})
	if err := json.Unmarshal(payload, &toggled); err != nil {
		t.Fatal(err)
	}
	if toggled["tenant_id"] != tenantID || toggled["module"] != "blog" || toggled["enabled"] != true || toggled["at"] != "2025-03-02T10:30:00Z" {
		t.Errorf("tenant.module_toggled payload = %s", payload)
	}
}

func TestEventTypesAreTheDomainNames(t *testing.T) {
	want := []string{
		"tenant.created", "tenant.updated", "tenant.domain_added", "tenant.domain_removed", "tenant.disabled",
		"tenant.enabled", "tenant.module_toggled", "tenant.locale_enabled", "tenant.locale_disabled",
	}
	if got := tenant.EventTypes(); !slices.Equal(got, want) {
		t.Errorf("EventTypes() = %v, want %v", got, want)
	}
	for _, typ := range want {
		if _, err := tenant.Decode(typ, 1, []byte(`{"tenant_id":"x"}`)); err != nil {
			t.Errorf("Decode(%s, 1) = %v", typ, err)
		}
	}
}

func TestDecodeRefusesWhatItCannotRead(t *testing.T) {
	tests := []struct {
		name        string
		eventType   string
		version     int
		payload     string
		wantUnknown bool
	}{
		{name: "unknown type is an unknown event", eventType: "tenant.exploded", version: 1, payload: `{}`, wantUnknown: true},
		{name: "another stream's type is an unknown event", eventType: "product.created", version: 1, payload: `{}`, wantUnknown: true},
		{name: "unknown schema version is an unknown event", eventType: tenant.TypeCreated, version: 2, payload: `{}`, wantUnknown: true},
		{name: "malformed payload is an error", eventType: tenant.TypeCreated, version: 1, payload: `{"tenant_id":`},
		{name: "payload of the wrong shape is an error", eventType: tenant.TypeModuleToggled, version: 1, payload: `{"enabled":"yes"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := tenant.Decode(tc.eventType, tc.version, []byte(tc.payload))
			if err == nil || e != nil {
				t.Fatalf("Decode = %v, %v; want an error", e, err)
			}
			if errors.Is(err, tenant.ErrUnknownEvent) != tc.wantUnknown {
				t.Errorf("errors.Is(%v, ErrUnknownEvent) = %v, want %v", err, !tc.wantUnknown, tc.wantUnknown)
			}
			if domain.CodeOf(err) != domain.CodeInternal {
				t.Errorf("stored data errors are internal, got %s", domain.CodeOf(err))
			}
		})
	}
	t.Run("unknown payload fields are ignored", func(t *testing.T) {
		e, err := tenant.Decode(tenant.TypeDisabled, 1, []byte(`{"tenant_id":"`+tenantID+`","reason":"later field","at":"2025-03-02T10:30:00Z"}`))
		if err != nil || !reflect.DeepEqual(e, tenant.Disabled{TenantID: tenantID, At: at}) {
			t.Errorf("Decode = %#v, %v", e, err)
		}
	})
}

// foreignEvent is an Event of another package.
type foreignEvent struct{}

func (foreignEvent) EventType() string  { return "product.created" }
func (foreignEvent) SchemaVersion() int { return 1 }

func TestLoadRefusesAnIncoherentHistory(t *testing.T) {
	c := created(nil)
	tests := []struct {
		name    string
		given   []tenant.Event
		wantErr error
	}{
		{name: "empty history", given: nil, wantErr: tenant.ErrInvalidHistory},
		{name: "first event is not tenant.created", given: []tenant.Event{tenant.Disabled{TenantID: tenantID, At: at}}, wantErr: tenant.ErrInvalidHistory},
		{name: "tenant created twice", given: []tenant.Event{c, c}, wantErr: tenant.ErrInvalidHistory},
		{name: "event of another tenant", given: []tenant.Event{c, tenant.Disabled{TenantID: otherID, At: at}}, wantErr: tenant.ErrInvalidHistory},
		{name: "nil event", given: []tenant.Event{c, nil}, wantErr: tenant.ErrUnknownEvent},
		{name: "event of another stream type", given: []tenant.Event{c, foreignEvent{}}, wantErr: tenant.ErrUnknownEvent},
		{name: "pointer to an event", given: []tenant.Event{&c}, wantErr: tenant.ErrUnknownEvent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tn, err := tenant.Load(tc.given)
			if tn != nil || !errors.Is(err, tc.wantErr) {
				t.Errorf("Load = %v, %v; want %v", tn, err, tc.wantErr)
			}
		})
	}
}

func TestLoadFillsDefaultsOfAnOldCreatedEvent(t *testing.T) {
	tn := mustLoad(t, tenant.Created{TenantID: tenantID, Slug: "acme", Name: "Acme", DefaultLocale: "en"})
	if string(tn.Settings()) != "{}" || !slices.Equal(tn.Locales(), []string{"en"}) {
		t.Errorf("settings %s, locales %v; want {} and [en]", tn.Settings(), tn.Locales())
	}
}

func TestVersionCountsAppliedEvents(t *testing.T) {
	live, events := history(t)
	if live.Version() != int64(len(events)) {
		t.Errorf("live version = %d, want %d", live.Version(), len(events))
	}
	for n := 1; n <= len(events); n++ {
		if v := mustLoad(t, events[:n]...).Version(); v != int64(n) {
			t.Errorf("version after %d events = %d", n, v)
		}
	}
	before := live.Version()
	if events, err := live.Rename("Acme Corp", at); err != nil || events != nil {
		t.Fatalf("no-op rename = %v, %v", events, err)
	}
	if _, err := live.AddDomain("not a host", at); err == nil {
		t.Fatal("invalid domain accepted")
	}
	if live.Version() != before {
		t.Errorf("a no-op or a refused decision changed the version: %d → %d", before, live.Version())
	}
}
