package tenant_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/rustok/rustok/domain/module"
	"github.com/rustok/rustok/domain/tenant"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/platform/database/dbtest"
	"github.com/rustok/rustok/platform/tenantcache"
	tenantproj "github.com/rustok/rustok/projections/tenant"
	tenantqry "github.com/rustok/rustok/queries/tenant"
)

// readModelLoader loads the tenant cache from the read model.
type readModelLoader struct{ r *tenantqry.Reader }

func (l readModelLoader) LoadTenant(ctx context.Context, key tenantcache.Key) (tenantcache.Tenant, error) {
	v, err := l.r.Lookup(ctx, key.Kind, key.Value)
	if errors.Is(err, tenant.ErrNotFound) {
		return tenantcache.Tenant{}, fmt.Errorf("%w: %w", tenantcache.ErrNotFound, err)
	}
	if err != nil {
		return tenantcache.Tenant{}, err
	}
	return tenantcache.Tenant{ID: v.ID, Slug: v.Slug, Name: v.Name, Status: v.Status, Domains: v.Domains,
		EnabledModules: v.Modules, DefaultLocale: v.DefaultLocale, Locales: v.Locales, Version: v.Version}, nil
}

// TestInvalidationDropsNegativeEntries checks, with a real resolver, that
// the keys of a new tenant that were cached as not found resolve once its
// tenant.created event is applied, and that a change reaches the cache.
func TestInvalidationDropsNegativeEntries(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		e := tenants.Open(t, dbURL)
		store := e.Store
		ctx := context.Background()
		resolver, err := tenantcache.New(tenantcache.Config{}, readModelLoader{tenantqry.NewReader(e.DB)}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = resolver.Close() })
		invalidate := tenantproj.CacheInvalidation(resolver)
		keys := []tenantcache.Key{{Kind: "slug", Value: "newco"}, {Kind: "host", Value: "newco.example.com"}}
		for _, k := range keys {
			if _, err := resolver.Resolve(ctx, k); !errors.Is(err, tenantcache.ErrNotFound) {
				t.Fatalf("Resolve(%v) before the tenant exists = %v", k, err)
			}
		}

		reg, err := module.NewRegistry(module.Builtin()...)
		if err != nil {
			t.Fatal(err)
		}
		id := uuid.NewString()
		tn, events, err := tenant.Create(id, "newco", "NewCo", []string{"newco.example.com"}, nil, reg, t0)
		if err != nil {
			t.Fatal(err)
		}
		stream := eventstore.Stream{Type: tenant.StreamType, ID: id, TenantID: id}
		res, err := store.Append(ctx, stream, 0, []eventstore.NewEvent{eventstore.Record(events[0])})
		if err != nil {
			t.Fatal(err)
		}
		e.CatchUp(0, res.Position)
		for _, k := range keys {
			if _, err := resolver.Resolve(ctx, k); !errors.Is(err, tenantcache.ErrNotFound) {
				t.Fatalf("Resolve(%v) = %v: want the negative entry still cached before invalidation", k, err)
			}
		}
		stored, err := store.Load(ctx, tenant.StreamType, id)
		if err != nil {
			t.Fatal(err)
		}
		if err := invalidate(ctx, stored[0]); err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if got, err := resolver.Resolve(ctx, k); err != nil || got.ID != id {
				t.Fatalf("Resolve(%v) after tenant.created = %+v, %v", k, got, err)
			}
		}

		events, err = tn.Disable(t0)
		if err != nil {
			t.Fatal(err)
		}
		res, err = store.Append(ctx, stream, 1, []eventstore.NewEvent{eventstore.Record(events[0])})
		if err != nil {
			t.Fatal(err)
		}
		e.CatchUp(0, res.Position)
		stored, err = store.Load(ctx, tenant.StreamType, id)
		if err != nil {
			t.Fatal(err)
		}
		if err := invalidate(ctx, stored[1]); err != nil {
			t.Fatal(err)
		}
		for _, k := range append(keys, tenantcache.Key{Kind: "id", Value: id}) {
			if got, err := resolver.Resolve(ctx, k); err != nil || got.Status != "disabled" || got.Version != 2 {
				t.Errorf("Resolve(%v) after tenant.disabled = %+v, %v", k, got, err)
			}
		}
	})
}
