package apikey_test

import (
	"testing"

	"github.com/google/uuid"

	"github.com/rustok/rustok/domain/apikey"
	"github.com/rustok/rustok/eventstore"
	apikeyproj "github.com/rustok/rustok/projections/apikey"
	"github.com/rustok/rustok/projections/apikey/apikeytest"
	"github.com/rustok/rustok/projections/projectiontest"
)

// expected is the read model the workload's aggregates say.
func expected(w *apikeytest.Workload) readModel {
	m := readModel{}
	for id, k := range w.Keys {
		m[id] = expectedRow(k)
	}
	return m
}

// generate returns a workload of about events events.
func generate(tb testing.TB, seed uint64, events int) *apikeytest.Workload {
	tb.Helper()
	w, err := apikeytest.Generate(seed, 3, 4, events, t0)
	if err != nil {
		tb.Fatal(err)
	}
	return w
}

// TestTheWorkloadIsRealistic: the generated history holds every event type
// and every outcome: keys with and without expiry, keys sharing a prefix,
// revocations of live, expired and already revoked keys.
func TestTheWorkloadIsRealistic(t *testing.T) {
	t.Parallel()
	w := generate(t, 1, 600)
	if types := projectiontest.EventTypes(w.Commands); len(types) != len(apikey.EventTypes()) {
		t.Errorf("the workload has %d event types (%v), want all %d", len(types), types, len(apikey.EventTypes()))
	}
	for _, o := range []string{apikeytest.OutcomeCreated, apikeytest.OutcomeWithExpiry, apikeytest.OutcomeSharedPrefix,
		apikeytest.OutcomeRevoked, apikeytest.OutcomeRevokeNoop, apikeytest.OutcomeRevokeExpired} {
		if w.Outcomes[o] == 0 {
			t.Errorf("no decision with outcome %s: %v", o, w.Outcomes)
		}
	}
	active := 0
	for _, k := range w.Keys {
		if k.CheckActive(w.End) == nil {
			active++
		}
	}
	if active == 0 || active == len(w.Keys) {
		t.Errorf("%d of %d keys active at the end, want some but not all", active, len(w.Keys))
	}
	t.Logf("%d events, %d keys (%d active at the end), outcomes %v", w.Events, len(w.Keys), active, w.Outcomes)
}

// TestBatchesMatchTheAggregates: a history of every event type and outcome
// gives the aggregates' state whether it arrives in batches of 1000, of 7
// or one event at a time.
func TestBatchesMatchTheAggregates(t *testing.T) {
	t.Parallel()
	w := generate(t, 1, 600)
	keys.BatchesMatch(t, w.Commands, expected(w))
}

// TestRedeliveredBatchesChangeNothing: with the checkpoint moved back, the
// events delivered again, in batches cut differently, leave the read model
// as it was.
func TestRedeliveredBatchesChangeNothing(t *testing.T) {
	t.Parallel()
	w := generate(t, 2, 300)
	keys.RedeliveredBatchesChangeNothing(t, w.Commands, expected(w))
}

// TestReplayEqualsLiveDelivery: the read model the runner builds while four
// writers append concurrently is the aggregates' state, and replays give
// the same checksum.
func TestReplayEqualsLiveDelivery(t *testing.T) {
	t.Parallel()
	w := generate(t, 3, 800)
	keys.ReplayEqualsLive(t, w.Commands, expected(w))
}

// TestPoisonInABatchOf1000: a revocation of a key that has no row, in the
// middle of a batch of 1000, is dead-lettered alone; the others commit.
func TestPoisonInABatchOf1000(t *testing.T) {
	t.Parallel()
	w := generate(t, 4, 990)
	if w.Events+1 > 1000 || w.Events < 950 {
		t.Fatalf("the workload has %d events, more than a batch or far fewer", w.Events)
	}
	orphan := uuid.NewString()
	poison := projectiontest.Command{Stream: eventstore.Stream{Type: apikey.StreamType, ID: orphan, TenantID: w.Tenants[0]},
		Events: []eventstore.NewEvent{eventstore.Record(apikey.Revoked{KeyID: orphan, RevokedBy: w.Users[w.Tenants[0]][0], At: t0})}}
	keys.PoisonAlone(t, w.Commands, poison, expected(w), apikeyproj.ErrMissingRow.Error(), orphan)
}
