package session_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/session"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/eventstore/relay"
	"github.com/rustok/rustok/platform/database"
	"github.com/rustok/rustok/platform/database/dbtest"
	sessionproj "github.com/rustok/rustok/projections/session"
	"github.com/rustok/rustok/projections/session/sessiontest"
	sessionqry "github.com/rustok/rustok/queries/session"
)

var t0 = time.Date(2025, 3, 2, 10, 0, 0, 0, time.UTC)

func minute(n int) time.Time { return t0.Add(time.Duration(n) * time.Minute) }

// policy: sessions last an hour.
var policy = session.Policy{Lifetime: time.Hour, RefreshGrace: 30 * time.Second}

// env decides sessions with the aggregate, appends them through the event
// store, projects them and reads them through a Reader.
type env struct {
	db       *database.DB
	store    *eventstore.Store
	reader   *sessionqry.Reader
	sessions map[string]*session.Session
	last     int64
	hashes   int
}

func newEnv(tb testing.TB, dbURL string) *env {
	tb.Helper()
	db := dbtest.OpenURL(tb, dbURL)
	store, err := eventstore.New(db, eventstore.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return &env{db: db, store: store, reader: sessionqry.NewReader(db), sessions: map[string]*session.Session{}}
}

func (e *env) hash() string { e.hashes++; return fmt.Sprintf("h-%d", e.hashes) }

func (e *env) append(tb testing.TB, s *session.Session, version int64, evs []session.Event) {
	tb.Helper()
	recs := make([]eventstore.NewEvent, len(evs))
	for i, ev := range evs {
		recs[i] = eventstore.Record(ev)
	}
	res, err := e.store.Append(context.Background(), eventstore.Stream{Type: session.StreamType, ID: s.ID(), TenantID: s.TenantID()}, version, recs)
	if err != nil {
		tb.Fatal(err)
	}
	e.last = res.Position
}

// start signs user in to tenant at at, with lifetime p.
func (e *env) start(tb testing.TB, tenant, user string, c session.Client, at time.Time, p session.Policy) string {
	tb.Helper()
	id := uuid.NewString()
	s, evs, err := session.Start(id, tenant, user, e.hash(), c, at, p)
	if err != nil {
		tb.Fatal(err)
	}
	e.sessions[id] = s
	e.append(tb, s, 0, evs)
	return id
}

func (e *env) refresh(tb testing.TB, id string, c session.Client, at time.Time) {
	tb.Helper()
	s := e.sessions[id]
	v := s.Version()
	out, evs, err := s.Refresh(s.TokenHash(), e.hash(), c, at, policy)
	if err != nil || out != session.OutcomeRotated {
		tb.Fatalf("refresh %s: %v, %v", id, out, err)
	}
	e.append(tb, s, v, evs)
}

func (e *env) revoke(tb testing.TB, id string, reason session.Reason, at time.Time) {
	tb.Helper()
	s := e.sessions[id]
	v := s.Version()
	evs, err := s.Revoke(reason, at)
	if err != nil || len(evs) != 1 {
		tb.Fatalf("revoke %s: %v, %v", id, evs, err)
	}
	e.append(tb, s, v, evs)
}

// project applies the sessions projection up to the last append.
func (e *env) project(tb testing.TB) {
	tb.Helper()
	if _, err := relay.CatchUpTo(context.Background(), e.store, sessionproj.Projection(), relay.Config{}, e.last, 30*time.Second); err != nil {
		tb.Fatal(err)
	}
}

func ids(views []sessionqry.View) []string {
	out := []string{}
	for _, v := range views {
		out = append(out, v.ID)
	}
	return out
}

func upper(s string) string { return strings.ToUpper(s) }

func ptr(t time.Time) *time.Time { return &t }

// fixture: in tenant A, user u has five sessions (one refreshed from another
// device, one revoked, one expired early, one revoked after its expiry);
// user v of tenant A and user u of tenant B (same user id) have one each.
type fixture struct {
	tenantA, tenantB, u, v                              string
	old, refreshed, revoked, short, lateRevoked, newest string
	otherUser, otherTenant                              string
}

func setup(tb testing.TB, e *env) fixture {
	tb.Helper()
	f := fixture{tenantA: uuid.NewString(), tenantB: uuid.NewString(), u: uuid.NewString(), v: uuid.NewString()}
	laptop := session.Client{IP: "203.0.113.9", UserAgent: "Laptop/1"}
	phone := session.Client{IP: "2001:db8::7", UserAgent: "Phone/2"}
	f.old = e.start(tb, f.tenantA, f.u, laptop, minute(0), policy)
	f.refreshed = e.start(tb, f.tenantA, f.u, laptop, minute(1), policy)
	f.revoked = e.start(tb, f.tenantA, f.u, laptop, minute(2), policy)
	f.short = e.start(tb, f.tenantA, f.u, laptop, minute(3), session.Policy{Lifetime: 10 * time.Minute}) // expires at minute 13
	f.lateRevoked = e.start(tb, f.tenantA, f.u, laptop, minute(4), session.Policy{Lifetime: 5 * time.Minute})
	f.otherUser = e.start(tb, f.tenantA, f.v, laptop, minute(5), policy)
	f.otherTenant = e.start(tb, f.tenantB, f.u, laptop, minute(6), policy)
	f.newest = e.start(tb, f.tenantA, f.u, phone, minute(7), policy)
	e.refresh(tb, f.refreshed, phone, minute(8))
	e.revoke(tb, f.revoked, session.ReasonSignOut, minute(9))
	e.revoke(tb, f.lateRevoked, session.ReasonRevokeAll, minute(20)) // after its expiry at minute 9
	e.project(tb)
	return f
}

func TestActive(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		f := setup(t, e)
		ctx := context.Background()
		tests := []struct {
			name           string
			tenant, user   string
			at             time.Time
			want           []string
			wantViewFields bool
		}{
			{name: "newest first, without revoked ones, nor other users' or tenants'", tenant: f.tenantA, user: f.u, at: minute(10),
				want: []string{f.newest, f.short, f.refreshed, f.old}, wantViewFields: true},
			{name: "a session is no longer active at its expiry", tenant: f.tenantA, user: f.u, at: minute(13),
				want: []string{f.newest, f.refreshed, f.old}},
			{name: "a session is active just before its expiry", tenant: f.tenantA, user: f.u, at: minute(13).Add(-time.Nanosecond),
				want: []string{f.newest, f.short, f.refreshed, f.old}},
			{name: "a revoked session is not active even before its revocation time", tenant: f.tenantA, user: f.u, at: minute(3),
				want: []string{f.newest, f.short, f.refreshed, f.old}},
			{name: "all expired", tenant: f.tenantA, user: f.u, at: minute(70), want: []string{}},
			{name: "the other user of the tenant", tenant: f.tenantA, user: f.v, at: minute(10), want: []string{f.otherUser}},
			{name: "the same user in the other tenant", tenant: f.tenantB, user: f.u, at: minute(10), want: []string{f.otherTenant}},
			{name: "ids in upper case", tenant: " " + upper(f.tenantB) + " ", user: upper(f.u), at: minute(10), want: []string{f.otherTenant}},
			{name: "a user without sessions", tenant: f.tenantA, user: uuid.NewString(), at: minute(10), want: []string{}},
			{name: "a tenant without sessions", tenant: uuid.NewString(), user: f.u, at: minute(10), want: []string{}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				views, err := e.reader.Active(ctx, tc.tenant, tc.user, tc.at)
				if err != nil {
					t.Fatal(err)
				}
				if got := ids(views); !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("sessions = %v, want %v", got, tc.want)
				}
				for _, v := range views {
					if !v.ActiveAt(tc.at) || v.TenantID != normalizeID(tc.tenant) || v.UserID != normalizeID(tc.user) {
						t.Errorf("view %+v is not an active session of the user at %v", v, tc.at)
					}
				}
				if tc.wantViewFields {
					want := sessionqry.View{ID: f.refreshed, TenantID: f.tenantA, UserID: f.u, IP: "2001:db8::7", UserAgent: "Phone/2",
						Generation: 1, StartedAt: minute(1), LastSeenAt: minute(8), ExpiresAt: minute(61), Version: 2}
					if !reflect.DeepEqual(views[2], want) {
						t.Errorf("view = %+v\nwant   %+v", views[2], want)
					}
				}
			})
		}
		for _, bad := range [][2]string{{"acme", f.u}, {f.tenantA, "alice"}, {"", ""}} {
			if _, err := e.reader.Active(ctx, bad[0], bad[1], minute(10)); !errors.Is(err, sessionqry.ErrInvalidOwner) || domain.CodeOf(err) != domain.CodeBadInput {
				t.Errorf("Active(%q, %q) error = %v, want ErrInvalidOwner", bad[0], bad[1], err)
			}
		}
	})
}

func normalizeID(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// TestActiveIsBounded: a user with more than MaxActive active sessions sees
// the MaxActive newest.
func TestActiveIsBounded(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		tenant, user := uuid.NewString(), uuid.NewString()
		var all []string
		for i := range sessionqry.MaxActive + 5 {
			all = append(all, e.start(t, tenant, user, session.Client{}, t0.Add(time.Duration(i)*time.Second), policy))
		}
		e.project(t)
		views, err := e.reader.Active(context.Background(), tenant, user, minute(30))
		if err != nil {
			t.Fatal(err)
		}
		slices.Reverse(all)
		if got := ids(views); !reflect.DeepEqual(got, all[:sessionqry.MaxActive]) {
			t.Fatalf("got %d sessions %v, want the %d newest", len(got), got, sessionqry.MaxActive)
		}
	})
}

func TestGet(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		f := setup(t, e)
		ctx := context.Background()
		tests := []struct {
			name             string
			tenant, id       string
			want             sessionqry.View
			wantErr          error
			wantCode         domain.Code
			activeAtMinute10 bool
		}{
			{name: "an active session", tenant: f.tenantA, id: f.newest, activeAtMinute10: true,
				want: sessionqry.View{ID: f.newest, TenantID: f.tenantA, UserID: f.u, IP: "2001:db8::7", UserAgent: "Phone/2",
					StartedAt: minute(7), LastSeenAt: minute(7), ExpiresAt: minute(67), Version: 1}},
			{name: "a revoked session, with its reason", tenant: f.tenantA, id: f.revoked,
				want: sessionqry.View{ID: f.revoked, TenantID: f.tenantA, UserID: f.u, IP: "203.0.113.9", UserAgent: "Laptop/1",
					StartedAt: minute(2), LastSeenAt: minute(2), ExpiresAt: minute(62), RevokedAt: ptr(minute(9)), RevokeReason: "sign_out", Version: 2}},
			{name: "a session revoked after its expiry", tenant: f.tenantA, id: f.lateRevoked,
				want: sessionqry.View{ID: f.lateRevoked, TenantID: f.tenantA, UserID: f.u, IP: "203.0.113.9", UserAgent: "Laptop/1",
					StartedAt: minute(4), LastSeenAt: minute(4), ExpiresAt: minute(9), RevokedAt: ptr(minute(20)), RevokeReason: "revoke_all", Version: 2}},
			{name: "an id in upper case", tenant: upper(f.tenantB), id: " " + upper(f.otherTenant), activeAtMinute10: true,
				want: sessionqry.View{ID: f.otherTenant, TenantID: f.tenantB, UserID: f.u, IP: "203.0.113.9", UserAgent: "Laptop/1",
					StartedAt: minute(6), LastSeenAt: minute(6), ExpiresAt: minute(66), Version: 1}},
			{name: "another tenant's session is not found", tenant: f.tenantA, id: f.otherTenant, wantErr: sessionqry.ErrNotFound, wantCode: domain.CodeNotFound},
			{name: "nor from the other side", tenant: f.tenantB, id: f.newest, wantErr: sessionqry.ErrNotFound, wantCode: domain.CodeNotFound},
			{name: "an unknown session is not found", tenant: f.tenantA, id: uuid.NewString(), wantErr: sessionqry.ErrNotFound, wantCode: domain.CodeNotFound},
			{name: "an id that is not a UUID is bad input", tenant: f.tenantA, id: "' OR 1=1 --", wantErr: sessionqry.ErrInvalidID, wantCode: domain.CodeBadInput},
			{name: "a tenant that is not a UUID is bad input", tenant: "acme", id: f.newest, wantErr: sessionqry.ErrInvalidOwner, wantCode: domain.CodeBadInput},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				got, err := e.reader.Get(ctx, tc.tenant, tc.id)
				if tc.wantErr != nil {
					if !errors.Is(err, tc.wantErr) || domain.CodeOf(err) != tc.wantCode {
						t.Fatalf("error = %v, want %v (%s)", err, tc.wantErr, tc.wantCode)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, tc.want) {
					t.Errorf("view = %+v\nwant   %+v", got, tc.want)
				}
				if got.ActiveAt(minute(10)) != tc.activeAtMinute10 {
					t.Errorf("ActiveAt(minute 10) = %v", !tc.activeAtMinute10)
				}
			})
		}
	})
}

// TestCleanup: cleanup deletes exactly the rows of sessions that ended
// before the cutoff (revoked, or expired, in every tenant), in chunks;
// Active answers the same for any time after the cutoff; a replay re-creates
// the deleted rows, and cleaning again gives the same table.
func TestCleanup(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		f := setup(t, e)
		ctx := context.Background()
		all := func() []string {
			var got []string
			if err := e.db.Select(&got, `SELECT id FROM rm_sessions ORDER BY id`); err != nil {
				t.Fatal(err)
			}
			return got
		}
		activeAt := func(at time.Time) [][]string {
			var out [][]string
			for _, o := range [][2]string{{f.tenantA, f.u}, {f.tenantA, f.v}, {f.tenantB, f.u}} {
				views, err := e.reader.Active(ctx, o[0], o[1], at)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, ids(views))
			}
			return out
		}
		before := all()
		activeBefore := activeAt(minute(14))
		// Cutoff at minute 14: gone are the session revoked at minute 9, the
		// one expired at minute 9 (revoked later) and the one expired at 13.
		n, err := sessionqry.CleanupInChunks(ctx, e.db, minute(14), 2)
		if err != nil || n != 3 {
			t.Fatalf("cleanup deleted %d rows (%v), want 3", n, err)
		}
		want := slices.DeleteFunc(slices.Clone(before), func(id string) bool {
			return id == f.revoked || id == f.lateRevoked || id == f.short
		})
		cleaned := all()
		if !reflect.DeepEqual(cleaned, want) {
			t.Fatalf("rows after cleanup = %v, want %v", cleaned, want)
		}
		if got := activeAt(minute(14)); !reflect.DeepEqual(got, activeBefore) {
			t.Errorf("active sessions after cleanup = %v, want %v", got, activeBefore)
		}
		if _, err := e.reader.Get(ctx, f.tenantA, f.revoked); !errors.Is(err, sessionqry.ErrNotFound) {
			t.Errorf("Get of a cleaned-up session: %v, want ErrNotFound", err)
		}
		// Nothing more to delete at the same cutoff.
		if n, err := sessionqry.Cleanup(ctx, e.db, minute(14)); err != nil || n != 0 {
			t.Fatalf("second cleanup deleted %d rows (%v), want 0", n, err)
		}
		// A replay brings the rows back; cleaning again gives the same table.
		r, err := relay.NewReplayer(e.store, relay.Config{}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Replay(ctx, sessionproj.Projection(), relay.ReplayOptions{BatchSize: 4}); err != nil {
			t.Fatal(err)
		}
		if got := all(); !reflect.DeepEqual(got, before) {
			t.Fatalf("rows after replay = %v, want %v", got, before)
		}
		if n, err := sessionqry.Cleanup(ctx, e.db, minute(14)); err != nil || n != 3 {
			t.Fatalf("cleanup after the replay deleted %d rows (%v), want 3", n, err)
		}
		if got := all(); !reflect.DeepEqual(got, cleaned) {
			t.Fatalf("rows after replay and cleanup = %v, want %v", got, cleaned)
		}
		// At a cutoff after every expiry, no row remains.
		if n, err := sessionqry.CleanupInChunks(ctx, e.db, minute(120), 1); err != nil || n != int64(len(cleaned)) {
			t.Fatalf("cleanup at minute 120 deleted %d rows (%v), want %d", n, err, len(cleaned))
		}
	})
}

// TestCleanupKeepsWhatActiveShows: over a generated history, for cutoffs
// across it, Active of every user at any time from the cutoff on is the same
// before and after cleanup, and every row cleanup kept ended at or after the
// cutoff.
func TestCleanupKeepsWhatActiveShows(t *testing.T) {
	t.Parallel()
	w, err := sessiontest.Generate(7, 2, 4, 400, t0)
	if err != nil {
		t.Fatal(err)
	}
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		ctx := context.Background()
		last, err := sessiontest.Append(ctx, e.store, w.Commands)
		if err != nil {
			t.Fatal(err)
		}
		e.last = last
		e.project(t)
		span := w.End.Sub(t0)
		times := []time.Time{}
		for i := range 6 {
			times = append(times, t0.Add(span*time.Duration(i)/5))
		}
		times = append(times, w.End.Add(sessiontest.Policy.Lifetime+time.Second))
		snapshot := func(from time.Time) map[string][]string {
			out := map[string][]string{}
			for _, tenant := range w.Tenants {
				for _, user := range w.Users[tenant] {
					for _, at := range times {
						if at.Before(from) {
							continue
						}
						views, err := e.reader.Active(ctx, tenant, user, at)
						if err != nil {
							t.Fatal(err)
						}
						out[fmt.Sprint(tenant, user, at)] = ids(views)
					}
				}
			}
			return out
		}
		total := int64(0)
		for _, cutoff := range times {
			want := snapshot(cutoff)
			n, err := sessionqry.Cleanup(ctx, e.db, cutoff)
			if err != nil {
				t.Fatal(err)
			}
			total += n
			if got := snapshot(cutoff); !reflect.DeepEqual(got, want) {
				t.Fatalf("cleanup at %v changed what Active shows", cutoff)
			}
			var early int
			if err := e.db.Get(&early, e.db.Rebind(`SELECT count(*) FROM rm_sessions WHERE ended_at < ?`), dbTimeFor(e.db, cutoff)); err != nil || early != 0 {
				t.Fatalf("%d rows ended before the cutoff remain (%v)", early, err)
			}
		}
		if total != int64(len(w.Sessions)) {
			t.Errorf("deleted %d rows over all cutoffs, want every one of the %d sessions", total, len(w.Sessions))
		}
	})
}

func dbTimeFor(db *database.DB, t time.Time) any {
	if db.Dialect() == database.SQLite {
		return database.FormatTime(t)
	}
	return t
}
