package user_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/user"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/eventstore/relay"
	"github.com/rustok/rustok/platform/database/dbtest"
	userproj "github.com/rustok/rustok/projections/user"
	userqry "github.com/rustok/rustok/queries/user"
)

var t0 = time.Date(2025, 3, 2, 10, 0, 0, 0, time.UTC)

// env writes users through the aggregate, the event store and the users
// projection, and reads them through a Reader.
type env struct {
	tb     testing.TB
	store  *eventstore.Store
	reader *userqry.Reader
	last   int64
}

func newEnv(tb testing.TB, dbURL string) *env {
	tb.Helper()
	db := dbtest.OpenURL(tb, dbURL)
	store, err := eventstore.New(db, eventstore.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return &env{tb: tb, store: store, reader: userqry.NewReader(db)}
}

// append appends the events of a decision of u (already applied to u).
func (e *env) append(u *user.User, version int64, evs []user.Event, err error, opts ...eventstore.AppendOption) {
	e.tb.Helper()
	if err != nil || len(evs) == 0 {
		e.tb.Fatalf("decision: %v, %v", evs, err)
	}
	recs := make([]eventstore.NewEvent, len(evs))
	for i, ev := range evs {
		recs[i] = eventstore.Record(ev)
	}
	res, err := e.store.Append(context.Background(), eventstore.Stream{Type: user.StreamType, ID: u.ID(), TenantID: u.TenantID()}, version, recs, opts...)
	if err != nil {
		e.tb.Fatal(err)
	}
	e.last = res.Position
}

func (e *env) register(tenant, email, name string, role user.Role, at time.Time) *user.User {
	e.tb.Helper()
	u, evs, err := user.Register(user.Registration{ID: uuid.NewString(), TenantID: tenant, Email: email, Name: name,
		PasswordHash: "$argon2id$hash", Role: role}, at)
	e.append(u, 0, evs, err, eventstore.Reserve(user.EmailScope, u.EmailReservation()))
	return u
}

func (e *env) project() {
	e.tb.Helper()
	if _, err := relay.CatchUpTo(context.Background(), e.store, userproj.Projection(), relay.Config{BatchSize: 1000}, e.last, 30*time.Second); err != nil {
		e.tb.Fatal(err)
	}
}

// walk lists every page of f with page size first and returns the ids in
// the order seen, checking each page's PageInfo.
func (e *env) walk(tenant string, f userqry.Filter, first int) []string {
	e.tb.Helper()
	var ids []string
	after := ""
	for pages := 0; ; pages++ {
		if pages > 1000 {
			e.tb.Fatal("more than 1000 pages")
		}
		p, err := e.reader.List(context.Background(), tenant, f, first, after)
		if err != nil {
			e.tb.Fatal(err)
		}
		if p.PageInfo.HasPreviousPage != (after != "") {
			e.tb.Errorf("page %d: HasPreviousPage = %v", pages, p.PageInfo.HasPreviousPage)
		}
		for _, edge := range p.Edges {
			ids = append(ids, edge.Node.ID)
			if edge.Node.TenantID != tenant {
				e.tb.Fatalf("user %s of tenant %s listed for tenant %s", edge.Node.ID, edge.Node.TenantID, tenant)
			}
		}
		if len(p.Edges) > 0 && (p.PageInfo.StartCursor != p.Edges[0].Cursor || p.PageInfo.EndCursor != p.Edges[len(p.Edges)-1].Cursor) {
			e.tb.Errorf("page %d: start/end cursors do not match the edges", pages)
		}
		if !p.PageInfo.HasNextPage {
			return ids
		}
		if len(p.Edges) == 0 {
			e.tb.Fatal("empty page with HasNextPage")
		}
		after = p.PageInfo.EndCursor
	}
}

// order sorts users as List does: newest first, then by id descending.
func order(users []*user.User) []string {
	s := slices.Clone(users)
	slices.SortFunc(s, func(a, b *user.User) int {
		if c := b.RegisteredAt().Compare(a.RegisteredAt()); c != 0 {
			return c
		}
		return strings.Compare(b.ID(), a.ID())
	})
	ids := make([]string, len(s))
	for i, u := range s {
		ids[i] = u.ID()
	}
	return ids
}

// TestPaginationWalksEveryUserOnce: 230 users of one tenant, many registered
// in the same second (ties broken by id), beside another tenant's users and
// deleted users, are each listed exactly once and in order, whatever the
// page size (1000 is lowered to MaxFirst), with and without a filter.
func TestPaginationWalksEveryUserOnce(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		e := newEnv(t, dbURL)
		tenant, other := uuid.NewString(), uuid.NewString()
		var live, admins []*user.User
		for i := range 240 {
			role := user.RoleCustomer
			if i%5 == 0 {
				role = user.RoleAdmin
			}
			at := t0.Add(time.Duration(i/4) * time.Second) // 4 users per second
			u := e.register(tenant, fmt.Sprintf("user%d@example.com", i), fmt.Sprintf("User %d", i), role, at)
			if i%24 == 23 {
				v := u.Version()
				evs, err := u.Delete(at.Add(time.Hour))
				e.append(u, v, evs, err, eventstore.Release(user.EmailScope, u.EmailReservation()))
				continue
			}
			live = append(live, u)
			if role == user.RoleAdmin {
				admins = append(admins, u)
			}
			if i%3 == 0 {
				e.register(other, fmt.Sprintf("user%d@example.com", i), "Other", role, at)
			}
		}
		e.project()
		if len(live) != 230 {
			t.Fatalf("%d live users", len(live))
		}
		for _, first := range []int{1, 7, 100, 1000, 0} {
			if got, want := e.walk(tenant, userqry.Filter{}, first), order(live); !slices.Equal(got, want) {
				t.Errorf("first %d: walked %d users, want %d in order (first %v / %v)", first, len(got), len(want), got[:min(3, len(got))], want[:3])
			}
			if got, want := e.walk(tenant, userqry.Filter{Role: user.RoleAdmin}, first), order(admins); !slices.Equal(got, want) {
				t.Errorf("first %d, admins: walked %d users, want %d in order", first, len(got), len(want))
			}
		}
		p, err := e.reader.List(context.Background(), tenant, userqry.Filter{}, 1000, "")
		if err != nil || len(p.Edges) != userqry.MaxFirst || !p.PageInfo.HasNextPage {
			t.Errorf("first 1000: %d users, next %v, %v; want %d and a next page", len(p.Edges), p.PageInfo.HasNextPage, err, userqry.MaxFirst)
		}
		p, err = e.reader.List(context.Background(), tenant, userqry.Filter{}, 0, "")
		if err != nil || len(p.Edges) != userqry.DefaultFirst {
			t.Errorf("first 0: %d users, %v; want %d", len(p.Edges), err, userqry.DefaultFirst)
		}
		// A cursor is a position, not a secret: another tenant's list after
		// it shows only that tenant's users.
		for _, id := range e.walk(other, userqry.Filter{}, 9) {
			if slices.Contains(order(live), id) {
				t.Fatalf("tenant %s's user %s listed for %s", tenant, id, other)
			}
		}
		p, err = e.reader.List(context.Background(), other, userqry.Filter{}, 10, p.PageInfo.EndCursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, edge := range p.Edges {
			if edge.Node.TenantID != other {
				t.Fatalf("listed %+v for tenant %s", edge.Node, other)
			}
		}
	})
}

// TestFiltersAndSearch: role and status filters, and a search in emails and
// names that ignores case (also beyond ASCII) and takes %, _ and \
// literally; another tenant's users never match.
func TestFiltersAndSearch(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		e := newEnv(t, dbURL)
		ctx := context.Background()
		tenant, other := uuid.NewString(), uuid.NewString()
		at := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Minute) }
		pct := e.register(tenant, "percent@example.com", "100% Real", user.RoleCustomer, at(0))
		hundred := e.register(tenant, "hundred@example.com", "100 Real", user.RoleCustomer, at(1))
		under := e.register(tenant, "a_b@example.com", "Under Score", user.RoleManager, at(2))
		axb := e.register(tenant, "axb@example.com", "Edith", user.RoleManager, at(3))
		edith := e.register(tenant, "edith@example.com", "ÉDITH Piaf", user.RoleAdmin, at(4))
		slash := e.register(tenant, "slash@example.com", `Back\slash`, user.RoleCustomer, at(5))
		banned := e.register(tenant, "banned@example.com", "Ada Banned", user.RoleCustomer, at(6))
		v := banned.Version()
		evs, err := banned.ChangeStatus(user.StatusBanned, at(7))
		e.append(banned, v, evs, err)
		e.register(other, "percent@example.com", "100% Real", user.RoleCustomer, at(0))
		e.register(other, "ada@example.com", "Ada Other", user.RoleAdmin, at(0))
		e.project()

		ids := func(us ...*user.User) []string { return order(us) }
		for _, tc := range []struct {
			name string
			f    userqry.Filter
			want []string
		}{
			{"all", userqry.Filter{}, ids(pct, hundred, under, axb, edith, slash, banned)},
			{"percent is literal", userqry.Filter{Search: "100%"}, ids(pct)},
			{"percent alone", userqry.Filter{Search: "%"}, ids(pct)},
			{"underscore is literal", userqry.Filter{Search: "a_b"}, ids(under)},
			{"underscore alone", userqry.Filter{Search: "_"}, ids(under)},
			{"backslash is literal", userqry.Filter{Search: `k\s`}, ids(slash)},
			{"a backslash escapes nothing", userqry.Filter{Search: `\%`}, nil},
			{"email substring", userqry.Filter{Search: "XB@EXAMPLE"}, ids(axb)},
			{"name, ignoring case", userqry.Filter{Search: "  real "}, ids(pct, hundred)},
			{"name beyond ASCII", userqry.Filter{Search: "édith"}, ids(edith)},
			{"email or name", userqry.Filter{Search: "edith"}, ids(axb, edith)},
			{"role", userqry.Filter{Role: user.RoleManager}, ids(under, axb)},
			{"status", userqry.Filter{Status: user.StatusBanned}, ids(banned)},
			{"active", userqry.Filter{Status: user.StatusActive}, ids(pct, hundred, under, axb, edith, slash)},
			{"role and search", userqry.Filter{Role: user.RoleManager, Search: "score"}, ids(under)},
			{"another tenant's user", userqry.Filter{Search: "other"}, nil},
			{"no match", userqry.Filter{Search: "nobody"}, nil},
		} {
			p, err := e.reader.List(ctx, tenant, tc.f, 50, "")
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			var got []string
			for _, edge := range p.Edges {
				got = append(got, edge.Node.ID)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
			}
			// Count agrees with the list, whatever the page size.
			if n, err := e.reader.Count(ctx, tenant, tc.f); err != nil || n != len(tc.want) {
				t.Errorf("%s: Count = %d, %v; want %d", tc.name, n, err, len(tc.want))
			}
		}
		if _, err := e.reader.Count(ctx, tenant, userqry.Filter{Role: "root"}); !errors.Is(err, user.ErrInvalidRole) {
			t.Errorf("Count with a bad role: %v", err)
		}
	})
}

// TestGetAndByEmail: a user is found by id and by email in its tenant only;
// a deleted user is not found; the view shows the aggregate's state.
func TestGetAndByEmail(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		e := newEnv(t, dbURL)
		ctx := context.Background()
		tenant, other := uuid.NewString(), uuid.NewString()
		ada := e.register(tenant, "ada@example.com", "Ada", user.RoleAdmin, t0)
		twin := e.register(other, "ada@example.com", "Ada Twin", user.RoleCustomer, t0)
		v := ada.Version()
		evs, err := ada.VerifyEmail(t0.Add(time.Minute))
		e.append(ada, v, evs, err)
		gone := e.register(tenant, "gone@example.com", "Gone", user.RoleCustomer, t0)
		v = gone.Version()
		evs, err = gone.Delete(t0.Add(2 * time.Minute))
		e.append(gone, v, evs, err, eventstore.Release(user.EmailScope, gone.EmailReservation()))
		e.project()

		verified := t0.Add(time.Minute)
		want := userqry.View{ID: ada.ID(), TenantID: tenant, Email: "ada@example.com", Name: "Ada", Role: user.RoleAdmin,
			Status: user.StatusActive, EmailVerifiedAt: &verified, Version: 2, CreatedAt: t0, UpdatedAt: verified}
		for name, get := range map[string]func() (userqry.View, error){
			"Get": func() (userqry.View, error) { return e.reader.Get(ctx, tenant, ada.ID()) },
			"Get, upper case": func() (userqry.View, error) {
				return e.reader.Get(ctx, strings.ToUpper(tenant), " "+strings.ToUpper(ada.ID()))
			},
			"ByEmail":           func() (userqry.View, error) { return e.reader.ByEmail(ctx, tenant, "ada@example.com") },
			"ByEmail, unnormed": func() (userqry.View, error) { return e.reader.ByEmail(ctx, tenant, "  ADA@Example.COM ") },
		} {
			got, err := get()
			if err != nil || got.EmailVerifiedAt == nil || !got.EmailVerifiedAt.Equal(verified) {
				t.Fatalf("%s: %+v, %v", name, got, err)
			}
			got.EmailVerifiedAt = &verified
			if got != want {
				t.Errorf("%s = %+v, want %+v", name, got, want)
			}
		}
		if got, err := e.reader.ByEmail(ctx, other, "ada@example.com"); err != nil || got.ID != twin.ID() || got.EmailVerifiedAt != nil {
			t.Errorf("ByEmail in the other tenant = %+v, %v; want the twin, unverified", got, err)
		}
		for name, call := range map[string]func() error{
			"Get of another tenant's user": func() error { _, err := e.reader.Get(ctx, other, ada.ID()); return err },
			"Get of a deleted user":        func() error { _, err := e.reader.Get(ctx, tenant, gone.ID()); return err },
			"ByEmail of a deleted user":    func() error { _, err := e.reader.ByEmail(ctx, tenant, "gone@example.com"); return err },
			"Get of an unknown user":       func() error { _, err := e.reader.Get(ctx, tenant, uuid.NewString()); return err },
			"ByEmail of an unknown email":  func() error { _, err := e.reader.ByEmail(ctx, tenant, "nobody@example.com"); return err },
		} {
			if err := call(); !errors.Is(err, userqry.ErrNotFound) || domain.CodeOf(err) != domain.CodeNotFound {
				t.Errorf("%s: %v, want ErrNotFound", name, err)
			}
		}
	})
}

// TestBadInput: every malformed argument is a typed BAD_USER_INPUT error,
// checked before any query.
func TestBadInput(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		e := newEnv(t, dbURL)
		ctx := context.Background()
		tenant := uuid.NewString()
		e.register(tenant, "ada@example.com", "Ada", user.RoleAdmin, t0)
		e.project()
		good, err := e.reader.List(ctx, tenant, userqry.Filter{}, 1, "")
		if err != nil || good.PageInfo.EndCursor == "" {
			t.Fatal(good, err)
		}
		raw, _ := base64.RawURLEncoding.DecodeString(good.PageInfo.EndCursor)
		enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
		badCursors := map[string]string{
			"not base64":          "not a cursor!",
			"padded base64":       good.PageInfo.EndCursor + "==",
			"standard base64":     base64.StdEncoding.EncodeToString([]byte(string(raw) + "??>")),
			"junk":                enc("hello"),
			"other format":        enc("u2" + string(raw[2:])),
			"bad time":            enc("u1|yesterday|" + uuid.NewString()),
			"local time":          enc("u1|2025-03-02T11:00:00+01:00|" + uuid.NewString()),
			"bad id":              enc("u1|2025-03-02T10:00:00Z|1; DROP TABLE rm_users"),
			"upper-case id":       enc("u1|2025-03-02T10:00:00Z|" + strings.ToUpper(uuid.NewString())),
			"trailing zeros":      enc("u1|2025-03-02T10:00:00.000Z|" + uuid.NewString()),
			"long":                strings.Repeat("A", 10000),
			"cursor with a quote": good.PageInfo.EndCursor + "'",
		}
		for name, cur := range badCursors {
			_, err := e.reader.List(ctx, tenant, userqry.Filter{}, 10, cur)
			if !errors.Is(err, userqry.ErrInvalidCursor) || domain.CodeOf(err) != domain.CodeBadInput || domain.FieldOf(err) != "after" {
				t.Errorf("cursor %s: %v, want ErrInvalidCursor", name, err)
			}
		}
		for name, tc := range map[string]struct {
			call func() error
			want error
		}{
			"negative first": {func() error { _, err := e.reader.List(ctx, tenant, userqry.Filter{}, -1, ""); return err }, userqry.ErrInvalidFirst},
			"bad role":       {func() error { _, err := e.reader.List(ctx, tenant, userqry.Filter{Role: "root"}, 1, ""); return err }, user.ErrInvalidRole},
			"bad status":     {func() error { _, err := e.reader.List(ctx, tenant, userqry.Filter{Status: "gone"}, 1, ""); return err }, user.ErrInvalidStatus},
			"long search": {func() error {
				_, err := e.reader.List(ctx, tenant, userqry.Filter{Search: strings.Repeat("é", userqry.MaxSearchLength+1)}, 1, "")
				return err
			}, userqry.ErrInvalidSearch},
			"control in search": {func() error {
				_, err := e.reader.List(ctx, tenant, userqry.Filter{Search: "a\x00b"}, 1, "")
				return err
			}, userqry.ErrInvalidSearch},
			"invalid UTF-8": {func() error {
				_, err := e.reader.List(ctx, tenant, userqry.Filter{Search: "a\xffb"}, 1, "")
				return err
			}, userqry.ErrInvalidSearch},
			"bad tenant (List)": {func() error { _, err := e.reader.List(ctx, "acme", userqry.Filter{}, 1, ""); return err }, user.ErrInvalidTenant},
			"bad tenant (Get)":  {func() error { _, err := e.reader.Get(ctx, "", uuid.NewString()); return err }, user.ErrInvalidTenant},
			"bad id":            {func() error { _, err := e.reader.Get(ctx, tenant, "42"); return err }, user.ErrInvalidID},
			"bad email":         {func() error { _, err := e.reader.ByEmail(ctx, tenant, "not-an-email"); return err }, user.ErrInvalidEmail},
			"bad tenant (ByEmail)": {func() error { _, err := e.reader.ByEmail(ctx, tenant+"x", "ada@example.com"); return err },
				user.ErrInvalidTenant},
		} {
			if err := tc.call(); !errors.Is(err, tc.want) || domain.CodeOf(err) != domain.CodeBadInput {
				t.Errorf("%s: %v, want %v", name, err, tc.want)
			}
		}
		// The longest search is accepted.
		if _, err := e.reader.List(ctx, tenant, userqry.Filter{Search: strings.Repeat("é", userqry.MaxSearchLength)}, 1, ""); err != nil {
			t.Errorf("search of %d characters: %v", userqry.MaxSearchLength, err)
		}
	})
}
