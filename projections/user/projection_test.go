package user_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/rustok/rustok/domain/user"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/eventstore/relay"
	"github.com/rustok/rustok/platform/database"
	"github.com/rustok/rustok/platform/database/dbtest"
	"github.com/rustok/rustok/projections/projectiontest"
	userproj "github.com/rustok/rustok/projections/user"
	"github.com/rustok/rustok/projections/user/usertest"
)

// t0 is when the history starts; each later event is a second on.
var t0 = time.Date(2025, 3, 2, 10, 0, 0, 0, time.UTC)

// users is the users projection as its tests see it.
var users = projectiontest.Projection[readModel]{Consumer: userproj.Projection, Snapshot: snapshot,
	Diff: func(got, want readModel) string { return projectiontest.DiffRows("user", got, want) }}

// userRow is a row of rm_users as the test compares it.
type userRow struct {
	ID, TenantID, Email, Name, NameFolded, Role, Status string
	EmailVerifiedAt                                     time.Time // zero for NULL
	Deleted                                             bool
	Version                                             int64
	CreatedAt, UpdatedAt                                time.Time
}

// readModel is every rm_users row by id.
type readModel map[string]userRow

func snapshot(tb testing.TB, db *database.DB) readModel {
	tb.Helper()
	m := readModel{}
	projectiontest.EachRow(tb, db, `SELECT id, tenant_id, email, name, name_folded, role, status, email_verified_at, deleted, version, created_at, updated_at FROM rm_users`, func(scan func(...any)) {
		var (
			r                              userRow
			verified, createdAt, updatedAt database.Time
		)
		scan(&r.ID, &r.TenantID, &r.Email, &r.Name, &r.NameFolded, &r.Role, &r.Status, &verified, &r.Deleted, &r.Version, &createdAt, &updatedAt)
		r.EmailVerifiedAt, r.CreatedAt, r.UpdatedAt = verified.Time, createdAt.Time, updatedAt.Time
		m[r.ID] = r
	})
	return m
}

// expected is the read model the workload's aggregates say.
func expected(w *usertest.Workload) readModel {
	m := readModel{}
	for id, u := range w.Users {
		m[id] = rowOf(u, w.Updated[id])
	}
	return m
}

func rowOf(u *user.User, updated time.Time) userRow {
	verified, _ := u.EmailVerifiedAt()
	return userRow{ID: u.ID(), TenantID: u.TenantID(), Email: u.Email(), Name: u.Name(), NameFolded: strings.ToLower(u.Name()),
		Role: string(u.Role()), Status: string(u.Status()), EmailVerifiedAt: verified, Deleted: u.Deleted(),
		Version: u.Version(), CreatedAt: u.RegisteredAt(), UpdatedAt: updated}
}

func generate(tb testing.TB, seed uint64, tenants, users, events int) *usertest.Workload {
	tb.Helper()
	w, err := usertest.Generate(seed, tenants, users, events, t0)
	if err != nil {
		tb.Fatal(err)
	}
	return w
}

// TestBatchesMatchTheAggregates: a history of every event type over 60 users
// of 3 tenants (emails handed over between users, the same addresses in
// every tenant) gives the aggregates' state whether it arrives in one batch,
// in batches of 7 or one event at a time.
func TestBatchesMatchTheAggregates(t *testing.T) {
	t.Parallel()
	w := generate(t, 1, 3, 60, 700)
	types := projectiontest.EventTypes(w.Commands)
	handovers := 0
	for _, c := range w.Commands {
		if len(c.After) > 0 {
			handovers++
		}
	}
	if len(types) != len(user.EventTypes()) || handovers == 0 {
		t.Fatalf("the workload has %d event types (%v) and %d email handovers, want all %d and some", len(types), types, handovers, len(user.EventTypes()))
	}
	users.BatchesMatch(t, w.Commands, expected(w))
}

// TestRedeliveredBatchesChangeNothing: with the checkpoint moved back (to the
// start, or into the middle of earlier batches), the events delivered again,
// in batches cut differently, leave the read model as it was.
func TestRedeliveredBatchesChangeNothing(t *testing.T) {
	t.Parallel()
	w := generate(t, 2, 2, 30, 300)
	users.RedeliveredBatchesChangeNothing(t, w.Commands, expected(w))
}

// TestReplayEqualsLiveDelivery: the read model the runner builds (batches of
// at most 50) while four writers append concurrently is the aggregates'
// state, and replays in batches of 1000 and of 7 give the same checksum.
func TestReplayEqualsLiveDelivery(t *testing.T) {
	t.Parallel()
	w := generate(t, 3, 4, 80, 800)
	users.ReplayEqualsLive(t, w.Commands, expected(w))
}

// TestPoisonInABatchOf1000: an event of a user who has no row, in the middle
// of a batch of 1000, is dead-lettered alone; the 999 others commit.
func TestPoisonInABatchOf1000(t *testing.T) {
	t.Parallel()
	w := generate(t, 4, 3, 40, 999)
	orphan := uuid.NewString()
	poison := projectiontest.Command{Stream: eventstore.Stream{Type: user.StreamType, ID: orphan, TenantID: w.Tenants[0]},
		Events: []eventstore.NewEvent{eventstore.Record(user.RoleChanged{UserID: orphan, Role: user.RoleAdmin, PreviousRole: user.RoleCustomer, At: t0})}}
	users.PoisonAlone(t, w.Commands, poison, expected(w), userproj.ErrMissingRow.Error(), orphan)
}

// decide appends, through the event store, the events a decision of u made
// (u already applied them), with the reservation options given.
func decide(tb testing.TB, store *eventstore.Store, u *user.User, version int64, evs []user.Event, err error, opts ...eventstore.AppendOption) int64 {
	tb.Helper()
	if err != nil || len(evs) == 0 {
		tb.Fatalf("decision: %v, %v", evs, err)
	}
	res, err := store.Append(context.Background(), eventstore.Stream{Type: user.StreamType, ID: u.ID(), TenantID: u.TenantID()}, version, projectiontest.Records(evs), opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return res.Position
}

func register(tb testing.TB, store *eventstore.Store, tenant, email string, at time.Time) (*user.User, int64) {
	tb.Helper()
	u, evs, err := user.Register(user.Registration{ID: uuid.NewString(), TenantID: tenant, Email: email, Name: "N " + email, PasswordHash: "$argon2id$secret-hash"}, at)
	return u, decide(tb, store, u, 0, evs, err, eventstore.Reserve(user.EmailScope, u.EmailReservation()))
}

// changeEmail moves u to email with the command layer's reservations.
func changeEmail(tb testing.TB, store *eventstore.Store, u *user.User, email string, at time.Time) int64 {
	tb.Helper()
	old, v := u.EmailReservation(), u.Version()
	evs, err := u.ChangeEmail(email, at)
	return decide(tb, store, u, v, evs, err, eventstore.Release(user.EmailScope, old), eventstore.Reserve(user.EmailScope, u.EmailReservation()))
}

// TestEmailHandoversInOneBatch: in one batch, emails pass from user to user
// along a chain (c takes b's address, b takes a's, a takes a new one; d
// registers with the address of e, deleted), each taker changed earlier in
// the batch than the user it takes from. The batch commits at its first
// attempt (the unique index on live emails would refuse it were the rows
// written in the order the batch first changed them) and the rows match the
// aggregates.
func TestEmailHandoversInOneBatch(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		env := users.Open(t, dbURL)
		store := env.Store
		tenant := uuid.NewString()
		at := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }
		a, _ := register(t, store, tenant, "a@example.com", at(0))
		b, _ := register(t, store, tenant, "b@example.com", at(1))
		c, _ := register(t, store, tenant, "c@example.com", at(2))
		e, last := register(t, store, tenant, "e@example.com", at(3))
		env.CatchUp(1000, last)

		// The takers appear first in the batch.
		v := c.Version()
		evs, err := c.Rename("C first", at(10))
		decide(t, store, c, v, evs, err)
		v = b.Version()
		evs, err = b.Rename("B second", at(11))
		decide(t, store, b, v, evs, err)
		changeEmail(t, store, a, "a2@example.com", at(12))
		changeEmail(t, store, b, "a@example.com", at(13))
		changeEmail(t, store, c, "b@example.com", at(14))
		v = e.Version()
		evs, err = e.Delete(at(15))
		decide(t, store, e, v, evs, err, eventstore.Release(user.EmailScope, tenant+"/e@example.com"))
		d, last := register(t, store, tenant, "e@example.com", at(16))

		// Through the runner, whose metrics count failed attempts: the batch
		// of 7 must commit at its first attempt, not through the relay's
		// split of a failed batch.
		metrics, err := relay.NewMetrics(nil)
		if err != nil {
			t.Fatal(err)
		}
		cfg := projectiontest.Fast
		cfg.BatchSize = 1000
		runner, stop := env.StartRunner(cfg, metrics)
		env.WaitFor(runner, last)
		stop()
		if n := testutil.ToFloat64(metrics.Errors.WithLabelValues(userproj.Name)); n != 0 {
			t.Errorf("%v failed attempts, want none", n)
		}
		want := readModel{}
		for _, u := range []*user.User{a, b, c, d, e} {
			want[u.ID()] = rowOf(u, u.RegisteredAt())
		}
		for id, n := range map[string]int{a.ID(): 12, b.ID(): 13, c.ID(): 14, e.ID(): 15, d.ID(): 16} {
			r := want[id]
			r.UpdatedAt = at(n)
			want[id] = r
		}
		env.Require(want, "read model differs from the aggregates")
		env.NoDeadLetters()
	})
}

// TestSecretsStayOutOfTheReadModel: no column of rm_users holds a hash, and
// no value written is one of the history's hashes.
func TestSecretsStayOutOfTheReadModel(t *testing.T) {
	t.Parallel()
	w := generate(t, 5, 2, 20, 200)
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		e := users.Open(t, dbURL)
		e.CatchUp(1000, e.Append(w.Commands))
		rows, err := e.DB.Queryx(`SELECT * FROM rm_users`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		cols, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cols {
			if strings.Contains(c, "hash") || strings.Contains(c, "password") || strings.Contains(c, "token") {
				t.Errorf("rm_users has a column %s", c)
			}
		}
		n := 0
		for rows.Next() {
			vals, err := rows.SliceScan()
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				if s := fmt.Sprint(v); strings.Contains(s, "$argon2id$") || strings.Contains(s, "$token$") {
					t.Errorf("rm_users holds a hash: %s", s)
				}
			}
			n++
		}
		if n != 20 {
			t.Errorf("%d rows, want 20", n)
		}
	})
}

// TestEventOfAMissingUserIsDeadLettered: a stream whose registration the
// projection does not have (a type it does not handle comes first) gets its
// next event dead-lettered, naming the missing row.
func TestEventOfAMissingUserIsDeadLettered(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		e := users.Open(t, dbURL)
		id, tenant := uuid.NewString(), uuid.NewString()
		res, err := e.Store.Append(context.Background(), eventstore.Stream{Type: user.StreamType, ID: id, TenantID: tenant}, 0, []eventstore.NewEvent{
			{Type: "user.imported", SchemaVersion: 1, Payload: map[string]string{"user_id": id}},
			eventstore.Record(user.PasswordResetRequested{UserID: id, TokenHash: "$token$x", ExpiresAt: t0.Add(time.Hour), At: t0}),
		})
		if err != nil {
			t.Fatal(err)
		}
		e.CatchUp(100, res.Position)
		dl := e.DeadLetters()
		if len(dl) != 1 || !strings.Contains(dl[0], userproj.ErrMissingRow.Error()) || !strings.Contains(dl[0], user.TypePasswordResetRequested) {
			t.Fatalf("dead letters = %v, want one for user.password_reset_requested naming the missing row", dl)
		}
		if got := e.Snapshot(); len(got) != 0 {
			t.Errorf("read model = %+v, want empty", got)
		}
	})
}
