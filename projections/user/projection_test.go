package user_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/rustok/rustok/domain/user"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/eventstore/relay"
	"github.com/rustok/rustok/platform/database"
	"github.com/rustok/rustok/platform/database/dbtest"
	userproj "github.com/rustok/rustok/projections/user"
	"github.com/rustok/rustok/projections/user/usertest"
)

// t0 is when the history starts; each later event is a second on.
var t0 = time.Date(2025, 3, 2, 10, 0, 0, 0, time.UTC)

var fast = relay.Config{PollInterval: 20 * time.Millisecond, RetryInterval: 20 * time.Millisecond, RetryBackoff: time.Millisecond, DeadLetterAfter: 2}

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
	rows, err := db.Queryx(`SELECT id, tenant_id, email, name, name_folded, role, status, email_verified_at, deleted, version, created_at, updated_at FROM rm_users`)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	m := readModel{}
	for rows.Next() {
		var (
			r                              userRow
			verified, createdAt, updatedAt database.Time
		)
		if err := rows.Scan(&r.ID, &r.TenantID, &r.Email, &r.Name, &r.NameFolded, &r.Role, &r.Status, &verified, &r.Deleted, &r.Version, &createdAt, &updatedAt); err != nil {
			tb.Fatal(err)
		}
		r.EmailVerifiedAt, r.CreatedAt, r.UpdatedAt = verified.Time, createdAt.Time, updatedAt.Time
		m[r.ID] = r
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
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

// checksum hashes a read model in a stable order.
func checksum(m readModel) string {
	h := sha256.New()
	for _, id := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(h, "%+v\n", m[id])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// diff describes the first rows in which two read models differ.
func diff(got, want readModel) string {
	var b strings.Builder
	n := 0
	for id, w := range want {
		if g, ok := got[id]; !ok || g != w {
			if n++; n <= 5 {
				fmt.Fprintf(&b, "user %s:\n got  %+v\n want %+v\n", id, g, w)
			}
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			fmt.Fprintf(&b, "unexpected user %s\n", id)
		}
	}
	fmt.Fprintf(&b, "(%d users differ)", n)
	return b.String()
}

func generate(tb testing.TB, seed uint64, tenants, users, events int) *usertest.Workload {
	tb.Helper()
	w, err := usertest.Generate(seed, tenants, users, events, t0)
	if err != nil {
		tb.Fatal(err)
	}
	return w
}

func newStore(tb testing.TB, dbURL string) (*database.DB, *eventstore.Store) {
	tb.Helper()
	db := dbtest.OpenURL(tb, dbURL)
	store, err := eventstore.New(db, eventstore.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return db, store
}

// appendWorkload appends the commands in order and returns the last position.
func appendWorkload(tb testing.TB, store *eventstore.Store, cmds []usertest.Command) int64 {
	tb.Helper()
	var last int64
	for i, c := range cmds {
		res, err := store.Append(context.Background(), c.Stream, c.Expected, c.Events, c.Options...)
		if err != nil {
			tb.Fatalf("command %d: %v", i, err)
		}
		last = res.Position
	}
	return last
}

// catchUpWith applies the projection in batches of batch events until it
// has processed position last, and returns how many events it applied.
func catchUpWith(tb testing.TB, store *eventstore.Store, batch int, last int64) int64 {
	tb.Helper()
	cfg := fast
	cfg.BatchSize = batch
	n, err := relay.CatchUpTo(context.Background(), store, userproj.Projection(), cfg, last, 60*time.Second)
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

func rewind(tb testing.TB, db *database.DB, cur eventstore.Cursor) {
	tb.Helper()
	q, args := `UPDATE consumer_offsets SET offset_acked = ? WHERE consumer_group = ?`, []any{cur.Position, userproj.Name}
	if db.Dialect() == database.Postgres {
		q, args = `UPDATE consumer_offsets SET offset_acked = ?, last_processed_transaction_id = CAST(? AS xid8) WHERE consumer_group = ?`,
			[]any{cur.Position, strconv.FormatUint(cur.TxID, 10), userproj.Name}
	}
	if _, err := db.Exec(db.Rebind(q), args...); err != nil {
		tb.Fatal(err)
	}
}

func deadLetters(tb testing.TB, db *database.DB) []string {
	tb.Helper()
	var errs []string
	if err := db.Select(&errs, `SELECT error FROM dead_letters ORDER BY id`); err != nil {
		tb.Fatal(err)
	}
	return errs
}

func startRunner(tb testing.TB, store *eventstore.Store, cfg relay.Config) (*relay.Runner, func()) {
	tb.Helper()
	return startRunnerWith(tb, store, cfg, nil)
}

func startRunnerWith(tb testing.TB, store *eventstore.Store, cfg relay.Config, metrics *relay.Metrics) (*relay.Runner, func()) {
	tb.Helper()
	runner, err := relay.NewRunner(store, []relay.Consumer{userproj.Projection()}, cfg, slog.New(slog.DiscardHandler), metrics)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runner.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				tb.Errorf("runner: %v", err)
			}
		})
	}
	tb.Cleanup(stop)
	select {
	case <-runner.Running():
	case err := <-done:
		tb.Fatalf("runner stopped: %v", err)
	case <-time.After(20 * time.Second):
		tb.Fatal("runner did not start")
	}
	return runner, stop
}

// TestBatchesMatchTheAggregates: a history of every event type over 60 users
// of 3 tenants (emails handed over between users, the same addresses in
// every tenant) gives the aggregates' state whether it arrives in one batch,
// in batches of 7 or one event at a time.
func TestBatchesMatchTheAggregates(t *testing.T) {
	t.Parallel()
	w := generate(t, 1, 3, 60, 700)
	types := map[string]int{}
	handovers := 0
	for _, c := range w.Commands {
		for _, e := range c.Events {
			types[e.Type]++
		}
		if c.After >= 0 {
			handovers++
		}
	}
	if len(types) != len(user.EventTypes()) || handovers == 0 {
		t.Fatalf("the workload has %d event types (%v) and %d email handovers, want all %d and some", len(types), types, handovers, len(user.EventTypes()))
	}
	want := expected(w)
	for _, batch := range []int{1000, 7, 1} {
		t.Run(fmt.Sprint("batch ", batch), func(t *testing.T) {
			t.Parallel()
			dbtest.Run(t, func(t *testing.T, dbURL string) {
				t.Parallel()
				db, store := newStore(t, dbURL)
				last := appendWorkload(t, store, w.Commands)
				catchUpWith(t, store, batch, last)
				if got := snapshot(t, db); !reflect.DeepEqual(got, want) {
					t.Fatalf("read model differs from the aggregates:\n%s", diff(got, want))
				}
				if dl := deadLetters(t, db); len(dl) != 0 {
					t.Errorf("dead letters: %v", dl)
				}
			})
		})
	}
}

// TestRedeliveredBatchesChangeNothing: with the checkpoint moved back (to the
// start, or into the middle of earlier batches), the events delivered again,
// in batches cut differently, leave the read model as it was.
func TestRedeliveredBatchesChangeNothing(t *testing.T) {
	t.Parallel()
	w := generate(t, 2, 2, 30, 300)
	want := expected(w)
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		db, store := newStore(t, dbURL)
		last := appendWorkload(t, store, w.Commands)
		catchUpWith(t, store, 100, last)
		for _, tc := range []struct {
			after, batch int
		}{{0, 1000}, {0, 13}, {101, 1000}, {157, 29}, {299, 1}} {
			cur := eventstore.Cursor{}
			if tc.after > 0 {
				evs, err := store.ReadAll(context.Background(), eventstore.Cursor{}, tc.after)
				if err != nil {
					t.Fatal(err)
				}
				cur = evs[len(evs)-1].Cursor()
			}
			rewind(t, db, cur)
			catchUpWith(t, store, tc.batch, last)
			if got := snapshot(t, db); !reflect.DeepEqual(got, want) {
				t.Fatalf("redelivery after event %d in batches of %d changed the read model:\n%s", tc.after, tc.batch, diff(got, want))
			}
		}
		if dl := deadLetters(t, db); len(dl) != 0 {
			t.Errorf("dead letters: %v", dl)
		}
	})
}

// TestReplayEqualsLiveDelivery: the read model the runner builds (batches of
// at most 50) while four writers append concurrently has the checksum of the
// aggregates' state, and so do replays in batches of 1000 and of 7.
func TestReplayEqualsLiveDelivery(t *testing.T) {
	t.Parallel()
	w := generate(t, 3, 4, 80, 800)
	want := checksum(expected(w))
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		db, store := newStore(t, dbURL)
		cfg := fast
		cfg.BatchSize = 50
		runner, stop := startRunner(t, store, cfg)
		last, err := w.AppendConcurrently(context.Background(), store, 4, func(eventstore.Result) { runner.Wake() })
		if err != nil {
			t.Fatal(err)
		}
		ok, err := relay.NewWaiter(db, runner.Progress()).WaitFor(context.Background(), last, []string{userproj.Name}, 60*time.Second)
		if err != nil || !ok {
			t.Fatalf("projection did not reach position %d: %v", last, err)
		}
		stop()
		if live := snapshot(t, db); checksum(live) != want {
			t.Fatalf("live read model differs from the aggregates:\n%s", diff(live, expected(w)))
		}
		if dl := deadLetters(t, db); len(dl) != 0 {
			t.Errorf("dead letters: %v", dl)
		}
		r, err := relay.NewReplayer(store, fast, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, batch := range []int{1000, 7} {
			res, err := r.Replay(context.Background(), userproj.Projection(), relay.ReplayOptions{BatchSize: batch})
			if err != nil {
				t.Fatal(err)
			}
			if got := checksum(snapshot(t, db)); got != want || res.Events != 800 {
				t.Fatalf("replay in batches of %d: %d events, checksum %s, want 800 and %s", batch, res.Events, got, want)
			}
		}
	})
}

// TestPoisonInABatchOf1000: an event of a user who has no row, in the middle
// of a batch of 1000, is dead-lettered alone; the 999 others commit.
func TestPoisonInABatchOf1000(t *testing.T) {
	t.Parallel()
	w := generate(t, 4, 3, 40, 999)
	want := expected(w)
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		db, store := newStore(t, dbURL)
		orphan := uuid.NewString()
		poison := usertest.Command{Stream: eventstore.Stream{Type: user.StreamType, ID: orphan, TenantID: w.Tenants[0]},
			Events: []eventstore.NewEvent{eventstore.Record(user.RoleChanged{UserID: orphan, Role: user.RoleAdmin, PreviousRole: user.RoleCustomer, At: t0})}}
		cmds := slices.Concat(w.Commands[:500], []usertest.Command{poison}, w.Commands[500:])
		last := appendWorkload(t, store, cmds)
		catchUpWith(t, store, 1000, last)
		if got := snapshot(t, db); !reflect.DeepEqual(got, want) {
			t.Fatalf("read model differs from the aggregates:\n%s", diff(got, want))
		}
		dl := deadLetters(t, db)
		if len(dl) != 1 || !strings.Contains(dl[0], userproj.ErrMissingRow.Error()) || !strings.Contains(dl[0], orphan) {
			t.Fatalf("dead letters = %v, want one for the orphan's user.role_changed", dl)
		}
	})
}

// decide appends, through the event store, the events a decision of u made
// (u already applied them), with the reservation options given.
func decide(tb testing.TB, store *eventstore.Store, u *user.User, version int64, evs []user.Event, err error, opts ...eventstore.AppendOption) int64 {
	tb.Helper()
	if err != nil || len(evs) == 0 {
		tb.Fatalf("decision: %v, %v", evs, err)
	}
	recs := make([]eventstore.NewEvent, len(evs))
	for i, e := range evs {
		recs[i] = eventstore.Record(e)
	}
	res, err := store.Append(context.Background(), eventstore.Stream{Type: user.StreamType, ID: u.ID(), TenantID: u.TenantID()}, version, recs, opts...)
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
		db, store := newStore(t, dbURL)
		tenant := uuid.NewString()
		at := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }
		a, _ := register(t, store, tenant, "a@example.com", at(0))
		b, _ := register(t, store, tenant, "b@example.com", at(1))
		c, _ := register(t, store, tenant, "c@example.com", at(2))
		e, last := register(t, store, tenant, "e@example.com", at(3))
		catchUpWith(t, store, 1000, last)

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
		cfg := fast
		cfg.BatchSize = 1000
		runner, stop := startRunnerWith(t, store, cfg, metrics)
		ok, err := relay.NewWaiter(db, runner.Progress()).WaitFor(context.Background(), last, []string{userproj.Name}, 30*time.Second)
		if err != nil || !ok {
			t.Fatalf("projection did not reach position %d: %v", last, err)
		}
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
		if got := snapshot(t, db); !reflect.DeepEqual(got, want) {
			t.Fatalf("read model differs from the aggregates:\n%s", diff(got, want))
		}
		if dl := deadLetters(t, db); len(dl) != 0 {
			t.Errorf("dead letters: %v", dl)
		}
	})
}

// TestSecretsStayOutOfTheReadModel: no column of rm_users holds a hash, and
// no value written is one of the history's hashes.
func TestSecretsStayOutOfTheReadModel(t *testing.T) {
	t.Parallel()
	w := generate(t, 5, 2, 20, 200)
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		db, store := newStore(t, dbURL)
		last := appendWorkload(t, store, w.Commands)
		catchUpWith(t, store, 1000, last)
		rows, err := db.Queryx(`SELECT * FROM rm_users`)
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
		db, store := newStore(t, dbURL)
		id, tenant := uuid.NewString(), uuid.NewString()
		res, err := store.Append(context.Background(), eventstore.Stream{Type: user.StreamType, ID: id, TenantID: tenant}, 0, []eventstore.NewEvent{
			{Type: "user.imported", SchemaVersion: 1, Payload: map[string]string{"user_id": id}},
			eventstore.Record(user.PasswordResetRequested{UserID: id, TokenHash: "$token$x", ExpiresAt: t0.Add(time.Hour), At: t0}),
		})
		if err != nil {
			t.Fatal(err)
		}
		catchUpWith(t, store, 100, res.Position)
		dl := deadLetters(t, db)
		if len(dl) != 1 || !strings.Contains(dl[0], userproj.ErrMissingRow.Error()) || !strings.Contains(dl[0], user.TypePasswordResetRequested) {
			t.Fatalf("dead letters = %v, want one for user.password_reset_requested naming the missing row", dl)
		}
		if got := snapshot(t, db); len(got) != 0 {
			t.Errorf("read model = %+v, want empty", got)
		}
	})
}
