package apikey_test

import (
	"context"
	"crypto/rand"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/apikey"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/eventstore/relay"
	"github.com/rustok/rustok/platform/database"
	"github.com/rustok/rustok/platform/database/dbtest"
	apikeyproj "github.com/rustok/rustok/projections/apikey"
	apikeyqry "github.com/rustok/rustok/queries/apikey"
)

var t0 = time.Date(2025, 3, 2, 10, 0, 0, 0, time.UTC)

func minute(n int) time.Time { return t0.Add(time.Duration(n) * time.Minute) }

func ptr(t time.Time) *time.Time { return &t }

// env decides keys with the aggregate, appends them through the event
// store, projects them and reads them through a Reader.
type env struct {
	db      *database.DB
	store   *eventstore.Store
	reader  *apikeyqry.Reader
	keys    map[string]*apikey.APIKey
	secrets map[string]string // key id → secret
	last    int64
}

func newEnv(tb testing.TB, dbURL string) *env {
	tb.Helper()
	db := dbtest.OpenURL(tb, dbURL)
	store, err := eventstore.New(db, eventstore.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return &env{db: db, store: store, reader: apikeyqry.NewReader(db), keys: map[string]*apikey.APIKey{}, secrets: map[string]string{}}
}

func (e *env) append(tb testing.TB, k *apikey.APIKey, version int64, evs []apikey.Event) {
	tb.Helper()
	recs := make([]eventstore.NewEvent, len(evs))
	for i, ev := range evs {
		recs[i] = eventstore.Record(ev)
	}
	res, err := e.store.Append(context.Background(), eventstore.Stream{Type: apikey.StreamType, ID: k.ID(), TenantID: k.TenantID()}, version, recs)
	if err != nil {
		tb.Fatal(err)
	}
	e.last = res.Position
}

// create creates a key of tenant by user at at, with the secret's prefix
// replaced by prefix when it is not empty.
func (e *env) create(tb testing.TB, tenant, user, name string, perms []string, expiresAt *time.Time, at time.Time, prefix string) string {
	tb.Helper()
	secret, p, hash, err := apikey.NewSecret(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	if prefix != "" {
		secret = prefix + secret[apikey.PrefixLength:]
		p, hash = prefix, apikey.HashSecret(secret)
	}
	id := uuid.NewString()
	k, evs, err := apikey.Create(apikey.Spec{ID: id, TenantID: tenant, CreatedBy: user, Name: name, Permissions: perms,
		ExpiresAt: expiresAt, Prefix: p, SecretHash: hash}, at)
	if err != nil {
		tb.Fatal(err)
	}
	e.keys[id], e.secrets[id] = k, secret
	e.append(tb, k, 0, evs)
	return id
}

func (e *env) revoke(tb testing.TB, id, by string, at time.Time) {
	tb.Helper()
	k := e.keys[id]
	v := k.Version()
	evs, err := k.Revoke(by, at)
	if err != nil || len(evs) != 1 {
		tb.Fatalf("revoke %s: %v, %v", id, evs, err)
	}
	e.append(tb, k, v, evs)
}

// project applies the API keys projection up to the last append.
func (e *env) project(tb testing.TB) {
	tb.Helper()
	if _, err := relay.CatchUpTo(context.Background(), e.store, apikeyproj.Projection(), relay.Config{}, e.last, 30*time.Second); err != nil {
		tb.Fatal(err)
	}
}

func ids(views []apikeyqry.View) []string {
	out := []string{}
	for _, v := range views {
		out = append(out, v.ID)
	}
	return out
}

// fixture: tenant A has four keys (one expired, one revoked, two sharing a
// prefix with a key of tenant B); tenant B has one.
type fixture struct {
	tenantA, tenantB, u, admin            string
	old, expired, revoked, shared, newest string
	otherTenant                           string
}

const sharedPrefix = "rtk_SHAREDpx"

func setup(tb testing.TB, e *env) fixture {
	tb.Helper()
	f := fixture{tenantA: uuid.NewString(), tenantB: uuid.NewString(), u: uuid.NewString(), admin: uuid.NewString()}
	f.old = e.create(tb, f.tenantA, f.u, "old", []string{"products:read"}, nil, minute(0), "")
	f.expired = e.create(tb, f.tenantA, f.u, "expiring", []string{"orders:list", "orders:read"}, ptr(minute(10)), minute(1), "")
	f.revoked = e.create(tb, f.tenantA, f.admin, "revoked", []string{"events:read"}, nil, minute(2), "")
	f.shared = e.create(tb, f.tenantA, f.admin, "shared", []string{"events:read"}, ptr(minute(60*24)), minute(3), sharedPrefix)
	f.otherTenant = e.create(tb, f.tenantB, f.u, "other", []string{"products:list"}, nil, minute(4), sharedPrefix)
	f.newest = e.create(tb, f.tenantA, f.u, "newest", []string{"inventory:read"}, nil, minute(5), "")
	e.revoke(tb, f.revoked, f.admin, minute(6))
	e.project(tb)
	return f
}

func TestList(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		f := setup(t, e)
		ctx := context.Background()
		usage := apikeyqry.NewUsage(e.db, apikeyqry.UsageConfig{})
		if err := usage.Touch(ctx, f.tenantA, f.expired, minute(7)); err != nil {
			t.Fatal(err)
		}
		// A row of another tenant for the same key id is not joined.
		if err := usage.Touch(ctx, f.tenantB, f.old, minute(8)); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name   string
			tenant string
			want   []string
		}{
			{name: "newest first, expired included, revoked and other tenants' left out", tenant: f.tenantA,
				want: []string{f.newest, f.shared, f.expired, f.old}},
			{name: "the other tenant", tenant: f.tenantB, want: []string{f.otherTenant}},
			{name: "tenant id in upper case with spaces", tenant: " " + strings.ToUpper(f.tenantB) + " ", want: []string{f.otherTenant}},
			{name: "a tenant without keys", tenant: uuid.NewString(), want: []string{}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				views, err := e.reader.List(ctx, tc.tenant)
				if err != nil {
					t.Fatal(err)
				}
				if views == nil || !reflect.DeepEqual(ids(views), tc.want) {
					t.Fatalf("keys = %v, want %v", ids(views), tc.want)
				}
			})
		}
		views, err := e.reader.List(ctx, f.tenantA)
		if err != nil {
			t.Fatal(err)
		}
		want := apikeyqry.View{ID: f.expired, TenantID: f.tenantA, Name: "expiring", Prefix: e.secrets[f.expired][:12],
			Permissions: []string{"orders:list", "orders:read"}, CreatedBy: f.u, CreatedAt: minute(1), ExpiresAt: ptr(minute(10)),
			LastUsedAt: ptr(minute(7)), Version: 1}
		if !reflect.DeepEqual(views[2], want) {
			t.Errorf("view = %+v\nwant   %+v", views[2], want)
		}
		if views[2].ActiveAt(minute(10)) || !views[2].ActiveAt(minute(9)) || views[3].LastUsedAt != nil {
			t.Errorf("ActiveAt or last use wrong: %+v", views)
		}
		for _, bad := range []string{"acme", "", f.tenantA + "x"} {
			if _, err := e.reader.List(ctx, bad); !errors.Is(err, apikeyqry.ErrInvalidTenant) || domain.CodeOf(err) != domain.CodeBadInput {
				t.Errorf("List(%q) error = %v, want ErrInvalidTenant", bad, err)
			}
		}
	})
}

// TestViewHoldsNoSecret: nothing the list shows is the secret or its hash.
func TestViewHoldsNoSecret(t *testing.T) {
	for _, f := range reflect.VisibleFields(reflect.TypeFor[apikeyqry.View]()) {
		if n := strings.ToLower(f.Name); strings.Contains(n, "hash") || strings.Contains(n, "secret") {
			t.Errorf("View has a field %s", f.Name)
		}
	}
}

// TestListIsBounded: a tenant with more than MaxList keys sees the MaxList
// newest.
func TestListIsBounded(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		tenant, user := uuid.NewString(), uuid.NewString()
		var all []string
		for i := range apikeyqry.MaxList + 3 {
			all = append(all, e.create(t, tenant, user, "k", []string{"products:read"}, nil, t0.Add(time.Duration(i)*time.Second), ""))
		}
		e.project(t)
		views, err := e.reader.List(context.Background(), tenant)
		if err != nil {
			t.Fatal(err)
		}
		slices.Reverse(all)
		if got := ids(views); !reflect.DeepEqual(got, all[:apikeyqry.MaxList]) {
			t.Fatalf("got %d keys, want the %d newest", len(got), apikeyqry.MaxList)
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
			name       string
			tenant, id string
			wantErr    error
			wantCode   domain.Code
			wantRevoke bool
		}{
			{name: "a key of the tenant", tenant: f.tenantA, id: f.old},
			{name: "ids in upper case", tenant: strings.ToUpper(f.tenantA), id: " " + strings.ToUpper(f.old)},
			{name: "a revoked key is found", tenant: f.tenantA, id: f.revoked, wantRevoke: true},
			{name: "another tenant's key is not found", tenant: f.tenantA, id: f.otherTenant, wantErr: apikeyqry.ErrNotFound, wantCode: domain.CodeNotFound},
			{name: "an unknown key", tenant: f.tenantA, id: uuid.NewString(), wantErr: apikeyqry.ErrNotFound, wantCode: domain.CodeNotFound},
			{name: "a bad key id", tenant: f.tenantA, id: "key", wantErr: apikeyqry.ErrInvalidID, wantCode: domain.CodeBadInput},
			{name: "a bad tenant id", tenant: "acme", id: f.old, wantErr: apikeyqry.ErrInvalidTenant, wantCode: domain.CodeBadInput},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				v, err := e.reader.Get(ctx, tc.tenant, tc.id)
				if tc.wantErr != nil {
					if !errors.Is(err, tc.wantErr) || domain.CodeOf(err) != tc.wantCode {
						t.Fatalf("Get = %+v, %v; want %v", v, err, tc.wantErr)
					}
					return
				}
				if err != nil || v.ID != strings.ToLower(strings.TrimSpace(tc.id)) || (v.RevokedAt != nil) != tc.wantRevoke {
					t.Fatalf("Get = %+v, %v", v, err)
				}
				if tc.wantRevoke && (!v.RevokedAt.Equal(minute(6)) || v.Version != 2 || v.ActiveAt(minute(3))) {
					t.Errorf("revoked view = %+v", v)
				}
			})
		}
	})
}

func TestByPrefix(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		f := setup(t, e)
		ctx := context.Background()

		t.Run("a shared prefix gives every candidate, of every tenant, and the hash picks one", func(t *testing.T) {
			cands, err := e.reader.ByPrefix(ctx, sharedPrefix)
			if err != nil {
				t.Fatal(err)
			}
			got := []string{}
			for _, c := range cands {
				got = append(got, c.ID)
			}
			want := []string{f.shared, f.otherTenant}
			slices.Sort(want)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("candidates = %v, want %v", got, want)
			}
			for _, id := range want {
				_, hash, err := apikey.ParseSecret(e.secrets[id])
				if err != nil {
					t.Fatal(err)
				}
				c, ok := apikeyqry.Match(cands, hash)
				k := e.keys[id]
				if !ok || c.ID != id || c.TenantID != k.TenantID() || c.CreatedBy != k.CreatedBy() || c.SecretHash != hash ||
					c.Revoked || c.Version != 1 || !c.ActiveAt(minute(10)) {
					t.Errorf("Match for %s = %+v, %v", id, c, ok)
				}
			}
			if c, _ := apikeyqry.Match(cands, e.keys[f.shared].SecretHash()); !reflect.DeepEqual(c.Permissions, []string{"events:read"}) ||
				c.ExpiresAt == nil || !c.ExpiresAt.Equal(minute(60*24)) || c.ActiveAt(minute(60*24)) {
				t.Errorf("shared key credential = %+v", c)
			}
			if _, ok := apikeyqry.Match(cands, apikey.HashSecret(sharedPrefix+strings.Repeat("A", 35))); ok {
				t.Errorf("a secret of the prefix but another hash matched")
			}
		})
		t.Run("a revoked key is a candidate, marked revoked", func(t *testing.T) {
			cands, err := e.reader.ByPrefix(ctx, e.secrets[f.revoked][:12])
			if err != nil || len(cands) != 1 || !cands[0].Revoked || cands[0].ActiveAt(minute(0)) || cands[0].Version != 2 {
				t.Fatalf("ByPrefix = %+v, %v", cands, err)
			}
		})
		t.Run("an unknown prefix has no candidate", func(t *testing.T) {
			cands, err := e.reader.ByPrefix(ctx, "rtk_NOBODY00")
			if err != nil || cands == nil || len(cands) != 0 {
				t.Fatalf("ByPrefix = %+v, %v", cands, err)
			}
		})
		for _, bad := range []string{"", "rtk_", "rtk_SHAREDp", "rtk_SHAREDpxx", "RTK_SHAREDpx", "rtk_SHARED+x", e.secrets[f.old]} {
			if _, err := e.reader.ByPrefix(ctx, bad); !errors.Is(err, apikey.ErrInvalidSecret) || domain.CodeOf(err) != domain.CodeUnauthenticated {
				t.Errorf("ByPrefix(%q) error = %v, want ErrInvalidSecret", bad, err)
			}
		}
	})
}

func TestMatch(t *testing.T) {
	a := apikeyqry.Credential{ID: "a", SecretHash: strings.Repeat("a", 64)}
	b := apikeyqry.Credential{ID: "b", SecretHash: strings.Repeat("b", 64)}
	for _, tc := range []struct {
		name   string
		cands  []apikeyqry.Credential
		hash   string
		wantID string
	}{
		{"first", []apikeyqry.Credential{a, b}, a.SecretHash, "a"},
		{"second", []apikeyqry.Credential{a, b}, b.SecretHash, "b"},
		{"none", []apikeyqry.Credential{a, b}, strings.Repeat("c", 64), ""},
		{"a prefix of a hash", []apikeyqry.Credential{a}, a.SecretHash[:63], ""},
		{"empty hash", []apikeyqry.Credential{{ID: "empty"}}, "", ""},
		{"no candidates", nil, a.SecretHash, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, ok := apikeyqry.Match(tc.cands, tc.hash)
			if ok != (tc.wantID != "") || c.ID != tc.wantID {
				t.Errorf("Match = %+v, %v; want %q", c, ok, tc.wantID)
			}
		})
	}
}
