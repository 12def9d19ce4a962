package tenant_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/rustok/rustok/domain/tenant"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/platform/tenantcache"
	tenantproj "github.com/rustok/rustok/projections/tenant"
)

// invalidation is one recorded Invalidate call.
type invalidation struct {
	TenantID string
	Keys     []tenantcache.Key
}

type fakeInvalidator struct{ calls []invalidation }

func (f *fakeInvalidator) Invalidate(tenantID string, keys ...tenantcache.Key) {
	f.calls = append(f.calls, invalidation{tenantID, keys})
}

var _ tenantproj.Invalidator = (*fakeInvalidator)(nil)

func TestCacheInvalidation(t *testing.T) {
	const id = "0195a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
	stored := func(e tenant.Event) eventstore.Event {
		payload, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		return eventstore.Event{Stream: eventstore.Stream{Type: tenant.StreamType, ID: id, TenantID: id}, Version: 2, Position: 9,
			Type: e.EventType(), SchemaVersion: e.SchemaVersion(), Payload: payload}
	}
	idKey := tenantcache.Key{Kind: "id", Value: id}
	host := func(h string) tenantcache.Key { return tenantcache.Key{Kind: "host", Value: h} }
	tests := []struct {
		name      string
		event     eventstore.Event
		wantCalls []invalidation
		wantErr   bool
	}{
		{name: "created drops the id, the slug and every domain (they may be cached as not found)",
			event:     stored(tenant.Created{TenantID: id, Slug: "acme", Name: "Acme", Domains: []string{"acme.example.com", "www.acme.test"}, Modules: []string{}, DefaultLocale: "en", Locales: []string{"en"}, Settings: json.RawMessage("{}"), At: t0}),
			wantCalls: []invalidation{{id, []tenantcache.Key{idKey, {Kind: "slug", Value: "acme"}, host("acme.example.com"), host("www.acme.test")}}}},
		{name: "domain added drops the new host too",
			event:     stored(tenant.DomainAdded{TenantID: id, Domain: "new.example.com", At: t0}),
			wantCalls: []invalidation{{id, []tenantcache.Key{idKey, host("new.example.com")}}}},
		{name: "domain removed drops the removed host too",
			event:     stored(tenant.DomainRemoved{TenantID: id, Domain: "old.example.com", At: t0}),
			wantCalls: []invalidation{{id, []tenantcache.Key{idKey, host("old.example.com")}}}},
		{name: "updated drops the tenant", event: stored(tenant.Updated{TenantID: id, Name: "New", At: t0}),
			wantCalls: []invalidation{{id, []tenantcache.Key{idKey}}}},
		{name: "disabled drops the tenant", event: stored(tenant.Disabled{TenantID: id, At: t0}),
			wantCalls: []invalidation{{id, []tenantcache.Key{idKey}}}},
		{name: "enabled drops the tenant", event: stored(tenant.Enabled{TenantID: id, At: t0}),
			wantCalls: []invalidation{{id, []tenantcache.Key{idKey}}}},
		{name: "module toggled drops the tenant", event: stored(tenant.ModuleToggled{TenantID: id, Module: "blog", Enabled: true, At: t0}),
			wantCalls: []invalidation{{id, []tenantcache.Key{idKey}}}},
		{name: "locale enabled drops the tenant", event: stored(tenant.LocaleEnabled{TenantID: id, Locale: "fr", At: t0}),
			wantCalls: []invalidation{{id, []tenantcache.Key{idKey}}}},
		{name: "locale disabled drops the tenant", event: stored(tenant.LocaleDisabled{TenantID: id, Locale: "fr", At: t0}),
			wantCalls: []invalidation{{id, []tenantcache.Key{idKey}}}},
		{name: "an unknown tenant event type still drops the tenant",
			event:     eventstore.Event{Stream: eventstore.Stream{Type: "tenant", ID: id, TenantID: id}, Type: "tenant.archived", SchemaVersion: 1, Payload: json.RawMessage(`{}`)},
			wantCalls: []invalidation{{id, []tenantcache.Key{idKey}}}},
		{name: "an undecodable payload drops the tenant and reports the error",
			event:     eventstore.Event{Stream: eventstore.Stream{Type: "tenant", ID: id, TenantID: id}, Type: tenant.TypeDomainAdded, SchemaVersion: 1, Payload: json.RawMessage(`{"domain": 42}`)},
			wantCalls: []invalidation{{id, []tenantcache.Key{idKey}}}, wantErr: true},
		{name: "events of other streams are ignored",
			event: eventstore.Event{Stream: eventstore.Stream{Type: "user", ID: "u1", TenantID: id}, Type: "user.registered", SchemaVersion: 1, Payload: json.RawMessage(`{}`)}},
		{name: "a tenant event type on another stream is ignored",
			event: eventstore.Event{Stream: eventstore.Stream{Type: "audit", ID: "a1", TenantID: id}, Type: tenant.TypeUpdated, SchemaVersion: 1, Payload: json.RawMessage(`{}`)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv := &fakeInvalidator{}
			err := tenantproj.CacheInvalidation(inv)(context.Background(), tc.event)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error = %v, want error %v", err, tc.wantErr)
			}
			if !reflect.DeepEqual(inv.calls, tc.wantCalls) {
				t.Errorf("calls = %+v\nwant    %+v", inv.calls, tc.wantCalls)
			}
		})
	}
}
