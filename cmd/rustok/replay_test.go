package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"

	tenantcmd "github.com/rustok/rustok/commands/tenant"
	"github.com/rustok/rustok/eventstore/relay"
	"github.com/rustok/rustok/platform/database/dbtest"
	tenantproj "github.com/rustok/rustok/projections/tenant"
	tenantqry "github.com/rustok/rustok/queries/tenant"
)

// TestReplayTenantsWhileQuerying: during a replay of the tenants projection,
// reads of the tenants read model never fail nor see it empty or partial, and
// the rebuilt read model equals the one before.
func TestReplayTenantsWhileQuerying(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		ctx := context.Background()
		a, err := build(ctx, testConfig(dbURL), slog.New(slog.DiscardHandler), buildOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		h, err := newTenantHandlers(a)
		if err != nil {
			t.Fatal(err)
		}
		const tenants = 60
		var last int64
		for i := range tenants {
			res, err := h.create.Handle(ctx, tenantcmd.CreateTenant{Slug: fmt.Sprintf("t%02d", i), Name: fmt.Sprint("Tenant ", i), Domains: []string{fmt.Sprintf("t%02d.example.com", i)}})
			if err != nil {
				t.Fatal(err)
			}
			name := fmt.Sprint("Renamed ", i)
			if res, err = h.update.Handle(ctx, tenantcmd.UpdateTenant{Tenant: fmt.Sprintf("t%02d", i), Name: &name, AddDomains: []string{fmt.Sprintf("www.t%02d.example.com", i)}}); err != nil {
				t.Fatal(err)
			}
			if i%3 == 0 {
				if res, err = h.disable.Handle(ctx, tenantcmd.DisableTenant{Tenant: fmt.Sprintf("t%02d", i)}); err != nil {
					t.Fatal(err)
				}
			}
			last = res.Position
		}
		if err := a.catchUp(ctx, tenantproj.Name, last); err != nil {
			t.Fatal(err)
		}
		reader := tenantqry.NewReader(a.db)
		snapshot := func() string {
			views, err := reader.List(ctx, tenantqry.ListQuery{Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			return fmt.Sprintf("%+v", views)
		}
		before := snapshot()

		qctx, stop := context.WithCancel(ctx)
		var queries, bad atomic.Int64
		var firstBad atomic.Value
		var wg sync.WaitGroup
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for qctx.Err() == nil {
					views, err := reader.List(ctx, tenantqry.ListQuery{Limit: 100})
					queries.Add(1)
					if err == nil {
						_, err = reader.ByHost(ctx, "www.t42.example.com")
					}
					if err != nil || len(views) != tenants {
						bad.Add(1)
						firstBad.CompareAndSwap(nil, fmt.Sprintf("%d tenants, %v", len(views), err))
					}
				}
			}()
		}
		rp, err := relay.NewReplayer(a.store, relay.Config{}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := rp.Replay(ctx, tenantproj.Projection(), relay.ReplayOptions{BatchSize: 10})
		stop()
		wg.Wait()
		if err != nil {
			t.Fatal(err)
		}
		if bad.Load() > 0 {
			t.Fatalf("%d of %d queries failed or saw a partial read model during the replay; first: %v", bad.Load(), queries.Load(), firstBad.Load())
		}
		if res.Events != 200 { // 60 × (created, updated, domain_added) + 20 disabled
			t.Fatalf("replayed %d events, want 200", res.Events)
		}
		if after := snapshot(); after != before {
			t.Fatalf("read model after replay differs:\nbefore %s\nafter  %s", before, after)
		}
		t.Logf("%d queries during the replay, none failed", queries.Load())
	})
}
