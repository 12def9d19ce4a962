package tenant_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/google/uuid"

	"github.com/rustok/rustok/domain/tenant"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/projections/projectiontest"
	tenantproj "github.com/rustok/rustok/projections/tenant"
	"github.com/rustok/rustok/projections/tenant/tenanttest"
)

// expected is the read model the workload's aggregates say.
func expected(tb testing.TB, w *tenanttest.Workload) readModel {
	tb.Helper()
	orEmpty := func(l []string) []string {
		if l == nil {
			return []string{}
		}
		return l
	}
	m := readModel{Tenants: map[string]tenantRow{}, Domains: map[string]string{}}
	for id, t := range w.Tenants {
		var settings any
		mustJSON(tb, string(t.Settings()), &settings)
		s, _ := json.Marshal(settings)
		m.Tenants[id] = tenantRow{ID: id, Slug: t.Slug(), Name: t.Name(), Status: string(t.Status()),
			Domains: orEmpty(t.Domains()), Modules: orEmpty(t.EnabledModules()), DefaultLocale: t.DefaultLocale(),
			Locales: orEmpty(t.Locales()), Settings: string(s), Version: t.Version(),
			CreatedAt: w.Created[id], UpdatedAt: w.Updated[id]}
		for _, h := range t.Domains() {
			m.Domains[h] = id
		}
	}
	return m
}

// generate returns a workload of events events over tenants tenants.
func generate(tb testing.TB, seed uint64, tenants, events int) *tenanttest.Workload {
	tb.Helper()
	w, err := tenanttest.Generate(seed, tenants, events, t0)
	if err != nil {
		tb.Fatal(err)
	}
	return w
}

// TestBatchesMatchTheAggregates: a history of every event type over 40
// tenants gives the aggregates' state whether it arrives in one batch (every
// type mixed, the rows read with one SELECT and written with one upsert per
// table), in batches of 7 (each tenant's events cut across batches) or one
// event at a time.
func TestBatchesMatchTheAggregates(t *testing.T) {
	t.Parallel()
	w := generate(t, 1, 40, 600)
	if types := projectiontest.EventTypes(w.Commands); len(types) != len(tenant.EventTypes()) {
		t.Fatalf("the workload has %d event types (%v), want all %d", len(types), types, len(tenant.EventTypes()))
	}
	tenants.BatchesMatch(t, w.Commands, expected(t, w))
}

// TestRedeliveredBatchesChangeNothing: with the checkpoint moved back (to the
// start, or into the middle of earlier batches), the events delivered again,
// in batches cut differently, leave the read model as it was.
func TestRedeliveredBatchesChangeNothing(t *testing.T) {
	t.Parallel()
	w := generate(t, 2, 25, 300)
	tenants.RedeliveredBatchesChangeNothing(t, w.Commands, expected(t, w))
}

// TestReplayEqualsLiveDelivery: the read model the runner builds (batches of
// at most 50) while four writers append concurrently, each with its own
// tenants as concurrent commands would (a domain changes hands only after
// its removal committed), is the aggregates' state, and replays in batches
// of 1000 and of 7 give the same checksum.
func TestReplayEqualsLiveDelivery(t *testing.T) {
	t.Parallel()
	w := generate(t, 3, 60, 800)
	tenants.ReplayEqualsLive(t, w.Commands, expected(t, w))
}

// TestPoisonInABatchOf1000: an event of a tenant that has no row, in the
// middle of a batch of 1000, is dead-lettered alone; the 999 others commit.
func TestPoisonInABatchOf1000(t *testing.T) {
	t.Parallel()
	w := generate(t, 4, 30, 999)
	orphan := uuid.NewString()
	poison := projectiontest.Command{Stream: eventstore.Stream{Type: tenant.StreamType, ID: orphan, TenantID: orphan},
		Events: []eventstore.NewEvent{eventstore.Record(tenant.Updated{TenantID: orphan, Name: "Orphan", At: t0})}}
	tenants.PoisonAlone(t, w.Commands, poison, expected(t, w), tenantproj.ErrMissingRow.Error(), orphan)
}

// diff describes the first rows in which two read models differ.
func diff(got, want readModel) string {
	d := projectiontest.DiffRows("tenant", got.Tenants, want.Tenants)
	if !reflect.DeepEqual(got.Domains, want.Domains) {
		d += "\n" + projectiontest.DiffRows("domain", got.Domains, want.Domains)
	}
	return d
}
