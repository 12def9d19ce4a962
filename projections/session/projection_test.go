package session_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rustok/rustok/domain/session"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/platform/database"
	"github.com/rustok/rustok/platform/database/dbtest"
	"github.com/rustok/rustok/projections/projectiontest"
	sessionproj "github.com/rustok/rustok/projections/session"
)

// t0 is when the first session starts.
var t0 = time.Date(2025, 3, 2, 10, 0, 0, 0, time.UTC)

func minute(n int) time.Time { return t0.Add(time.Duration(n) * time.Minute) }

// sessions is the sessions projection as its tests see it.
var sessions = projectiontest.Projection[readModel]{Consumer: sessionproj.Projection, Snapshot: snapshot,
	Diff: func(got, want readModel) string { return projectiontest.DiffRows("session", got, want) }}

// sessionRow is a row of rm_sessions as the test compares it (RevokedAt zero
// and RevokeReason empty for NULL).
type sessionRow struct {
	ID, TenantID, UserID, IP, UserAgent string
	Generation                          int64
	StartedAt, LastSeenAt, ExpiresAt    time.Time
	RevokedAt                           time.Time
	RevokeReason                        string
	EndedAt                             time.Time
	Version                             int64
}

// readModel is every rm_sessions row by id.
type readModel map[string]sessionRow

func snapshot(tb testing.TB, db *database.DB) readModel {
	tb.Helper()
	m := readModel{}
	projectiontest.EachRow(tb, db, `SELECT id, tenant_id, user_id, ip, user_agent, generation, started_at, last_seen_at, expires_at,
		revoked_at, revoke_reason, ended_at, version FROM rm_sessions`, func(scan func(...any)) {
		var (
			r                                                    sessionRow
			startedAt, lastSeenAt, expiresAt, revokedAt, endedAt database.Time
			reason                                               *string
		)
		scan(&r.ID, &r.TenantID, &r.UserID, &r.IP, &r.UserAgent, &r.Generation, &startedAt, &lastSeenAt, &expiresAt,
			&revokedAt, &reason, &endedAt, &r.Version)
		r.StartedAt, r.LastSeenAt, r.ExpiresAt, r.RevokedAt, r.EndedAt = startedAt.Time, lastSeenAt.Time, expiresAt.Time, revokedAt.Time, endedAt.Time
		if reason != nil {
			if *reason == "" || r.RevokedAt.IsZero() {
				tb.Errorf("session %s: revoke_reason %q with revoked_at %v", r.ID, *reason, r.RevokedAt)
			}
			r.RevokeReason = *reason
		} else if !r.RevokedAt.IsZero() {
			tb.Errorf("session %s: revoked at %v without a reason", r.ID, r.RevokedAt)
		}
		m[r.ID] = r
	})
	return m
}

// expectedRow is the row the aggregate s says; revokedAt is when it was
// revoked (zero if not).
func expectedRow(s *session.Session, revokedAt time.Time) sessionRow {
	c := s.Client()
	reason, revoked := s.Revoked()
	r := sessionRow{ID: s.ID(), TenantID: s.TenantID(), UserID: s.UserID(), IP: c.IP, UserAgent: c.UserAgent,
		Generation: int64(s.Generation()), StartedAt: s.StartedAt(), LastSeenAt: s.LastSeenAt(), ExpiresAt: s.ExpiresAt(),
		EndedAt: s.ExpiresAt(), Version: s.Version()}
	if revoked {
		r.RevokedAt, r.RevokeReason = revokedAt, string(reason)
		if revokedAt.Before(r.ExpiresAt) {
			r.EndedAt = revokedAt
		}
	}
	return r
}

// appendEvents appends events to session id's stream of tenant at version
// and returns the position of the last.
func appendEvents(tb testing.TB, store *eventstore.Store, tenant, id string, version int64, events []session.Event) int64 {
	tb.Helper()
	res, err := store.Append(context.Background(), eventstore.Stream{Type: session.StreamType, ID: id, TenantID: tenant}, version, projectiontest.Records(events))
	if err != nil {
		tb.Fatal(err)
	}
	return res.Position
}

// history appends, through the event store, the events of three sessions
// decided by the aggregate: alpha is refreshed twice (the first replaced
// token presented again within the grace, which appends nothing) and signed
// out; beta is refreshed and revoked by the reuse of its first token after
// the grace; gamma, in another tenant, stays active. It returns the last
// position and the read model the events must give.
func history(tb testing.TB, store *eventstore.Store) (last int64, want readModel) {
	tb.Helper()
	p := session.Policy{Lifetime: time.Hour, RefreshGrace: 30 * time.Second}
	tenantA, tenantB, user := uuid.NewString(), uuid.NewString(), uuid.NewString()
	alphaID, betaID, gammaID := uuid.NewString(), uuid.NewString(), uuid.NewString()
	phone := session.Client{IP: "::ffff:203.0.113.7", UserAgent: "Phone/1.0\n"}
	laptop := session.Client{IP: "2001:db8::1", UserAgent: "Laptop/2.0"}

	alpha, evs, err := session.Start(alphaID, tenantA, user, "h-a1", phone, minute(0), p)
	if err != nil {
		tb.Fatal(err)
	}
	last = appendEvents(tb, store, tenantA, alphaID, 0, evs)
	beta, evs, err := session.Start(betaID, tenantA, user, "h-b1", laptop, minute(1), p)
	if err != nil {
		tb.Fatal(err)
	}
	last = appendEvents(tb, store, tenantA, betaID, 0, evs)
	gamma, evs, err := session.Start(gammaID, tenantB, user, "h-g1", session.Client{IP: "bogus"}, minute(2), p)
	if err != nil {
		tb.Fatal(err)
	}
	last = appendEvents(tb, store, tenantB, gammaID, 0, evs)

	refresh := func(s *session.Session, presented, next string, c session.Client, at time.Time, want session.Outcome) {
		tb.Helper()
		v := s.Version()
		out, evs, err := s.Refresh(presented, next, c, at, p)
		if (err != nil && !errors.Is(err, session.ErrTokenReused)) || out != want {
			tb.Fatalf("refresh of %s with %s: %v, %v; want outcome %v", s.ID(), presented, out, err, want)
		}
		if len(evs) > 0 {
			last = appendEvents(tb, store, s.TenantID(), s.ID(), v, evs)
		}
	}
	refresh(alpha, "h-a1", "h-a2", laptop, minute(10), session.OutcomeRotated)
	refresh(alpha, "h-a1", "h-a3", laptop, minute(10).Add(20*time.Second), session.OutcomeSamePair)
	refresh(alpha, "h-a2", "h-a3", phone, minute(20), session.OutcomeRotated)
	v := alpha.Version()
	evs, err = alpha.Revoke(session.ReasonSignOut, minute(30))
	if err != nil || len(evs) != 1 {
		tb.Fatalf("revoke: %v, %v", evs, err)
	}
	last = appendEvents(tb, store, tenantA, alphaID, v, evs)
	refresh(beta, "h-b1", "h-b2", phone, minute(11), session.OutcomeRotated)
	refresh(beta, "h-b1", "h-b3", phone, minute(12), session.OutcomeReuseRevoked)

	want = readModel{
		alphaID: {ID: alphaID, TenantID: tenantA, UserID: user, IP: "203.0.113.7", UserAgent: "Phone/1.0", Generation: 2,
			StartedAt: minute(0), LastSeenAt: minute(20), ExpiresAt: minute(60), RevokedAt: minute(30), RevokeReason: "sign_out",
			EndedAt: minute(30), Version: 4},
		betaID: {ID: betaID, TenantID: tenantA, UserID: user, IP: "203.0.113.7", UserAgent: "Phone/1.0", Generation: 1,
			StartedAt: minute(1), LastSeenAt: minute(11), ExpiresAt: minute(61), RevokedAt: minute(12), RevokeReason: "refresh_reuse",
			EndedAt: minute(12), Version: 3},
		gammaID: {ID: gammaID, TenantID: tenantB, UserID: user, StartedAt: minute(2), LastSeenAt: minute(2), ExpiresAt: minute(62),
			EndedAt: minute(62), Version: 1},
	}
	for id, s := range map[string]*session.Session{alphaID: alpha, betaID: beta, gammaID: gamma} {
		if got := expectedRow(s, want[id].RevokedAt); !reflect.DeepEqual(got, want[id]) {
			tb.Fatalf("the aggregate says %+v, the test %+v", got, want[id])
		}
	}
	return last, want
}

func TestProjectionThroughTheRunner(t *testing.T) {
	t.Parallel()
	sessions.ThroughTheRunner(t, history)
}

// TestNoTokenHashInTheReadModel: no column of rm_sessions holds a refresh
// token hash, whatever its name.
func TestNoTokenHashInTheReadModel(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		e := sessions.Open(t, dbURL)
		last, _ := history(t, e.Store)
		e.CatchUp(0, last)
		rows, err := e.DB.Queryx(`SELECT * FROM rm_sessions`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			n++
			m := map[string]any{}
			if err := rows.MapScan(m); err != nil {
				t.Fatal(err)
			}
			for col, v := range m {
				if strings.Contains(col, "hash") || strings.Contains(col, "token") {
					t.Errorf("rm_sessions has a column %s", col)
				}
				s := fmt.Sprint(v)
				if b, ok := v.([]byte); ok {
					s = string(b)
				}
				if strings.Contains(s, "h-a") || strings.Contains(s, "h-b") || strings.Contains(s, "h-g") {
					t.Errorf("column %s holds a token hash: %q", col, s)
				}
			}
		}
		if err := rows.Err(); err != nil || n != 3 {
			t.Fatalf("%d rows, %v", n, err)
		}
	})
}

func TestRedeliveryChangesNothing(t *testing.T) {
	t.Parallel()
	sessions.RedeliveryChangesNothing(t, history, 8)
}

func TestReplayRebuildsTheSameReadModel(t *testing.T) {
	t.Parallel()
	sessions.ReplayRebuilds(t, history, 3, func(e *projectiontest.Env[readModel]) {
		// The replay copied the indexes too (the swap keeps them usable).
		var n int
		q := `SELECT count(*) FROM pg_indexes WHERE tablename = 'rm_sessions' AND schemaname = current_schema()`
		if e.DB.Dialect() == database.SQLite {
			q = `SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'rm_sessions' AND sql IS NOT NULL`
		}
		if err := e.DB.Get(&n, q); err != nil || n < 2 {
			e.TB.Errorf("rm_sessions has %d indexes after the replay (%v), want at least 2", n, err)
		}
	})
}

// TestEventsThatCannotApplyAreDeadLettered: an event of a session without a
// row (its session.started dead-lettered, or never appended) and events the
// aggregate would refuse in its stream are dead-lettered, each alone; the
// read model keeps the rest.
func TestEventsThatCannotApplyAreDeadLettered(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		e := sessions.Open(t, dbURL)
		store := e.Store
		tenant, user := uuid.NewString(), uuid.NewString()
		orphan, revoked, stranger := uuid.NewString(), uuid.NewString(), uuid.NewString()
		// orphan: a stream that starts with an event type the projection
		// does not handle (skipped), so no row exists when session.revoked
		// arrives.
		_, err := store.Append(context.Background(), eventstore.Stream{Type: session.StreamType, ID: orphan, TenantID: tenant}, 0, []eventstore.NewEvent{
			{Type: "session.archived", SchemaVersion: 1, Payload: map[string]string{"session_id": orphan}},
			eventstore.Record(session.Revoked{SessionID: orphan, UserID: user, Reason: session.ReasonRevoke, At: minute(1)}),
		})
		if err != nil {
			t.Fatal(err)
		}
		// revoked: a refresh after the revocation (the aggregate refuses it).
		s, evs, err := session.Start(revoked, tenant, user, "h-1", session.Client{}, minute(0), session.DefaultPolicy())
		if err != nil {
			t.Fatal(err)
		}
		more, err := s.Revoke(session.ReasonSignOut, minute(1))
		if err != nil {
			t.Fatal(err)
		}
		appendEvents(t, store, tenant, revoked, 0, append(evs, more...))
		appendEvents(t, store, tenant, revoked, 2, []session.Event{session.Refreshed{SessionID: revoked, TokenHash: "h-2", Generation: 1, At: minute(2)}})
		// stranger: started in a stream of another tenant than its payload's.
		_, evs, err = session.Start(stranger, uuid.NewString(), user, "h-3", session.Client{}, minute(0), session.DefaultPolicy())
		if err != nil {
			t.Fatal(err)
		}
		last := appendEvents(t, store, tenant, stranger, 0, evs)
		e.CatchUp(0, last)
		dl := e.DeadLetters()
		if len(dl) != 3 || !strings.Contains(dl[0], sessionproj.ErrMissingRow.Error()) || !strings.Contains(dl[0], orphan) ||
			!strings.Contains(dl[1], sessionproj.ErrInvalidHistory.Error()) || !strings.Contains(dl[1], revoked) ||
			!strings.Contains(dl[2], sessionproj.ErrInvalidHistory.Error()) || !strings.Contains(dl[2], stranger) {
			t.Fatalf("dead letters = %q, want the orphan's revocation (missing row), the refresh after the revocation and the stranger's start (invalid history)", dl)
		}
		got := e.Snapshot()
		if len(got) != 1 || got[revoked].RevokeReason != "sign_out" || got[revoked].Version != 2 || got[revoked].Generation != 0 {
			t.Errorf("read model = %+v, want only the revoked session, unchanged by the refresh", got)
		}
	})
}
