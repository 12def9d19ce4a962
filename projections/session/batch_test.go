package session_test

import (
	"testing"

	"github.com/google/uuid"

	"github.com/rustok/rustok/domain/session"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/projections/projectiontest"
	sessionproj "github.com/rustok/rustok/projections/session"
	"github.com/rustok/rustok/projections/session/sessiontest"
)

// expected is the read model the workload's aggregates say.
func expected(w *sessiontest.Workload) readModel {
	m := readModel{}
	for id, s := range w.Sessions {
		m[id] = expectedRow(s, w.RevokedAt[id])
	}
	return m
}

// generate returns a workload of about events events.
func generate(tb testing.TB, seed uint64, events int) *sessiontest.Workload {
	tb.Helper()
	w, err := sessiontest.Generate(seed, 3, 6, events, t0)
	if err != nil {
		tb.Fatal(err)
	}
	return w
}

// TestTheWorkloadIsRealistic: the generated history holds every event type,
// every outcome of a refresh (rotation, reuse within and after the grace, a
// token never issued, an expired session) and every revocation reason.
func TestTheWorkloadIsRealistic(t *testing.T) {
	t.Parallel()
	w := generate(t, 1, 600)
	if types := projectiontest.EventTypes(w.Commands); len(types) != len(session.EventTypes()) {
		t.Errorf("the workload has %d event types (%v), want all %d", len(types), types, len(session.EventTypes()))
	}
	for _, o := range []string{sessiontest.OutcomeStarted, sessiontest.OutcomeRotated, sessiontest.OutcomeSamePair,
		sessiontest.OutcomeReuseRevoked, sessiontest.OutcomeExpired, sessiontest.OutcomeInvalidToken, sessiontest.OutcomeRevokeExpired} {
		if w.Outcomes[o] == 0 {
			t.Errorf("no decision with outcome %s: %v", o, w.Outcomes)
		}
	}
	for _, r := range session.Reasons() {
		if w.Outcomes["revoke:"+string(r)] == 0 {
			t.Errorf("no revocation for %s: %v", r, w.Outcomes)
		}
	}
	active := 0
	for _, s := range w.Sessions {
		if s.CheckActive(w.End) == nil {
			active++
		}
	}
	if active == 0 || active == len(w.Sessions) {
		t.Errorf("%d of %d sessions active at the end, want some but not all", active, len(w.Sessions))
	}
	t.Logf("%d events, %d sessions (%d active at the end), outcomes %v", w.Events, len(w.Sessions), active, w.Outcomes)
}

// TestBatchesMatchTheAggregates: a history of every event type and outcome
// gives the aggregates' state whether it arrives in batches of 1000 (every
// type mixed, the rows read with one SELECT and written with one upsert),
// of 7 (each session's events cut across batches) or one event at a time.
func TestBatchesMatchTheAggregates(t *testing.T) {
	t.Parallel()
	w := generate(t, 1, 600)
	sessions.BatchesMatch(t, w.Commands, expected(w))
}

// TestRedeliveredBatchesChangeNothing: with the checkpoint moved back (to the
// start, or into the middle of earlier batches), the events delivered again,
// in batches cut differently, leave the read model as it was.
func TestRedeliveredBatchesChangeNothing(t *testing.T) {
	t.Parallel()
	w := generate(t, 2, 300)
	sessions.RedeliveredBatchesChangeNothing(t, w.Commands, expected(w))
}

// TestReplayEqualsLiveDelivery: the read model the runner builds (batches of
// at most 50) while four writers append concurrently is the aggregates'
// state, and replays in batches of 1000 and of 7 give the same checksum.
func TestReplayEqualsLiveDelivery(t *testing.T) {
	t.Parallel()
	w := generate(t, 3, 800)
	sessions.ReplayEqualsLive(t, w.Commands, expected(w))
}

// TestPoisonInABatchOf1000: a refresh of a session that has no row, in the
// middle of a batch of 1000, is dead-lettered alone; the others commit.
func TestPoisonInABatchOf1000(t *testing.T) {
	t.Parallel()
	w := generate(t, 4, 990)
	if w.Events+1 > 1000 || w.Events < 950 {
		t.Fatalf("the workload has %d events, more than a batch or far fewer", w.Events)
	}
	orphan := uuid.NewString()
	poison := projectiontest.Command{Stream: eventstore.Stream{Type: session.StreamType, ID: orphan, TenantID: w.Tenants[0]},
		Events: []eventstore.NewEvent{eventstore.Record(session.Refreshed{SessionID: orphan, TokenHash: "h", Generation: 1, At: t0})}}
	sessions.PoisonAlone(t, w.Commands, poison, expected(w), sessionproj.ErrMissingRow.Error(), orphan)
}
