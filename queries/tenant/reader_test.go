package tenant_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rustok/rustok/commands"
	tenantcmd "github.com/rustok/rustok/commands/tenant"
	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/module"
	"github.com/rustok/rustok/domain/rbac"
	"github.com/rustok/rustok/domain/tenant"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/eventstore/relay"
	"github.com/rustok/rustok/platform/database"
	"github.com/rustok/rustok/platform/database/dbtest"
	tenantproj "github.com/rustok/rustok/projections/tenant"
	tenantqry "github.com/rustok/rustok/queries/tenant"
)

// operator is a super_admin, who may toggle modules.
var operator = func() rbac.Actor {
	a, err := rbac.UserActor("operator", rbac.RoleSuperAdmin)
	if err != nil {
		panic(err)
	}
	return a
}()

var at = time.Date(2025, 3, 2, 10, 30, 0, 0, time.UTC)

// env writes tenants through the command handlers and the projection, and
// reads them through a Reader.
type env struct {
	db     *database.DB
	store  *eventstore.Store
	reader *tenantqry.Reader
	create commands.Handler[tenantcmd.CreateTenant]
	update commands.Handler[tenantcmd.UpdateTenant]
	off    commands.Handler[tenantcmd.DisableTenant]
	toggle commands.Handler[tenantcmd.ToggleModule]
	last   int64
}

func newEnv(tb testing.TB, dbURL string) *env {
	tb.Helper()
	db := dbtest.OpenURL(tb, dbURL)
	store, err := eventstore.New(db, eventstore.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	reg, err := module.NewRegistry(module.Builtin()...)
	if err != nil {
		tb.Fatal(err)
	}
	now := func() time.Time { return at }
	newID := func() (string, error) { return uuid.NewString(), nil }
	return &env{
		db: db, store: store, reader: tenantqry.NewReader(db),
		create: tenantcmd.NewCreateTenantHandler(store, reg, module.Defaults(), newID, now, commands.Decorators{}),
		update: tenantcmd.NewUpdateTenantHandler(store, now, commands.Decorators{}),
		off:    tenantcmd.NewDisableTenantHandler(store, now, commands.Decorators{}),
		toggle: tenantcmd.NewToggleModuleHandler(store, reg, now, commands.Decorators{}),
	}
}

// must returns a function that fails the test on a command's error and
// remembers the command's position: must(t)(h.Handle(ctx, cmd)).
func (e *env) must(tb testing.TB) func(commands.Result, error) {
	return func(res commands.Result, err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
		e.last = max(e.last, res.Position)
	}
}

// project applies the tenants projection up to the last command's position.
func (e *env) project(tb testing.TB) {
	tb.Helper()
	if _, err := relay.CatchUpTo(context.Background(), e.store, tenantproj.Projection(), relay.Config{}, e.last, 30*time.Second); err != nil {
		tb.Fatal(err)
	}
}

func TestLookups(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		ctx := context.Background()
		alphaID := uuid.NewString()
		e.must(t)(e.create.Handle(ctx, tenantcmd.CreateTenant{ID: alphaID, Slug: "alpha", Name: "Alpha", Domains: []string{"a.example.com", "old.example.com"}}))
		e.must(t)(e.update.Handle(ctx, tenantcmd.UpdateTenant{Tenant: "alpha", RemoveDomains: []string{"old.example.com"}, AddDomains: []string{"www.alpha.test"}}))
		e.must(t)(e.toggle.Handle(ctx, tenantcmd.ToggleModule{Who: operator, Tenant: "alpha", Module: "blog", Enabled: true}))
		e.must(t)(e.create.Handle(ctx, tenantcmd.CreateTenant{Slug: "beta", Name: "Beta"}))
		e.project(t)

		alpha := tenantqry.View{
			ID: alphaID, Slug: "alpha", Name: "Alpha", Status: "active",
			Domains: []string{"a.example.com", "www.alpha.test"}, Modules: []string{"content", "commerce", "pages", "blog"},
			Locales: []string{"en"}, DefaultLocale: "en", Settings: json.RawMessage("{}"), Version: 4, CreatedAt: at, UpdatedAt: at,
		}
		tests := []struct {
			name     string
			lookup   func() (tenantqry.View, error)
			want     tenantqry.View
			wantErr  error
			wantCode domain.Code
		}{
			{name: "by id", lookup: func() (tenantqry.View, error) { return e.reader.ByID(ctx, alphaID) }, want: alpha},
			{name: "by id in upper case", lookup: func() (tenantqry.View, error) { return e.reader.ByID(ctx, " "+upper(alphaID)+" ") }, want: alpha},
			{name: "by slug, normalized", lookup: func() (tenantqry.View, error) { return e.reader.BySlug(ctx, " ALPHA ") }, want: alpha},
			{name: "by host, normalized", lookup: func() (tenantqry.View, error) { return e.reader.ByHost(ctx, "A.Example.com:8080") }, want: alpha},
			{name: "by an added host", lookup: func() (tenantqry.View, error) { return e.reader.ByHost(ctx, "www.alpha.test.") }, want: alpha},
			{name: "lookup by id", lookup: func() (tenantqry.View, error) { return e.reader.Lookup(ctx, "id", alphaID) }, want: alpha},
			{name: "lookup by slug", lookup: func() (tenantqry.View, error) { return e.reader.Lookup(ctx, "slug", "alpha") }, want: alpha},
			{name: "lookup by host", lookup: func() (tenantqry.View, error) { return e.reader.Lookup(ctx, "host", "a.example.com") }, want: alpha},
			{name: "an unknown id is not found", lookup: func() (tenantqry.View, error) { return e.reader.ByID(ctx, uuid.NewString()) },
				wantErr: tenant.ErrNotFound, wantCode: domain.CodeNotFound},
			{name: "an unknown slug is not found", lookup: func() (tenantqry.View, error) { return e.reader.BySlug(ctx, "ghost") },
				wantErr: tenant.ErrNotFound, wantCode: domain.CodeNotFound},
			{name: "a removed host is not found", lookup: func() (tenantqry.View, error) { return e.reader.ByHost(ctx, "old.example.com") },
				wantErr: tenant.ErrNotFound, wantCode: domain.CodeNotFound},
			{name: "an unknown host is not found", lookup: func() (tenantqry.View, error) { return e.reader.Lookup(ctx, "host", "nobody.example.com") },
				wantErr: tenant.ErrNotFound, wantCode: domain.CodeNotFound},
			{name: "an id that is not a UUID is bad input", lookup: func() (tenantqry.View, error) { return e.reader.ByID(ctx, "alpha") },
				wantErr: tenant.ErrInvalidID, wantCode: domain.CodeBadInput},
			{name: "a reserved slug is bad input", lookup: func() (tenantqry.View, error) { return e.reader.BySlug(ctx, "admin") },
				wantErr: tenant.ErrReservedSlug, wantCode: domain.CodeBadInput},
			{name: "an invalid host is bad input", lookup: func() (tenantqry.View, error) { return e.reader.ByHost(ctx, "a..example.com") },
				wantErr: tenant.ErrInvalidHost, wantCode: domain.CodeBadInput},
			{name: "an unknown lookup kind is bad input", lookup: func() (tenantqry.View, error) { return e.reader.Lookup(ctx, "email", "a@b.c") },
				wantCode: domain.CodeBadInput},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				got, err := tc.lookup()
				if tc.wantCode == "" {
					if err != nil {
						t.Fatal(err)
					}
					if !reflect.DeepEqual(got, tc.want) {
						t.Errorf("view = %+v\nwant   %+v", got, tc.want)
					}
					return
				}
				if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
					t.Fatalf("error = %v, want %v", err, tc.wantErr)
				}
				if domain.CodeOf(err) != tc.wantCode {
					t.Errorf("error = %v, want code %s", err, tc.wantCode)
				}
			})
		}
	})
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

func TestList(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		ctx := context.Background()
		// Created out of order; d and f are disabled.
		for _, s := range []string{"list-e", "list-a", "list-g", "list-c", "list-b", "list-f", "list-d"} {
			e.must(t)(e.create.Handle(ctx, tenantcmd.CreateTenant{Slug: s, Name: s}))
		}
		for _, s := range []string{"list-d", "list-f"} {
			e.must(t)(e.off.Handle(ctx, tenantcmd.DisableTenant{Tenant: s}))
		}
		e.project(t)

		tests := []struct {
			name      string
			query     tenantqry.ListQuery
			wantSlugs []string
			wantErr   error
		}{
			{name: "the default page holds every tenant, by slug", query: tenantqry.ListQuery{},
				wantSlugs: []string{"list-a", "list-b", "list-c", "list-d", "list-e", "list-f", "list-g"}},
			{name: "a first page", query: tenantqry.ListQuery{Limit: 3}, wantSlugs: []string{"list-a", "list-b", "list-c"}},
			{name: "the next page starts after the last slug", query: tenantqry.ListQuery{Limit: 3, AfterSlug: "list-c"}, wantSlugs: []string{"list-d", "list-e", "list-f"}},
			{name: "the last page is short", query: tenantqry.ListQuery{Limit: 3, AfterSlug: "list-f"}, wantSlugs: []string{"list-g"}},
			{name: "after the end is empty", query: tenantqry.ListQuery{Limit: 3, AfterSlug: "list-g"}, wantSlugs: []string{}},
			{name: "a limit above the maximum is lowered", query: tenantqry.ListQuery{Limit: 100000},
				wantSlugs: []string{"list-a", "list-b", "list-c", "list-d", "list-e", "list-f", "list-g"}},
			{name: "only disabled tenants", query: tenantqry.ListQuery{Status: "disabled"}, wantSlugs: []string{"list-d", "list-f"}},
			{name: "active tenants, paged", query: tenantqry.ListQuery{Status: "active", Limit: 2, AfterSlug: "list-b"}, wantSlugs: []string{"list-c", "list-e"}},
			{name: "an unknown status is bad input", query: tenantqry.ListQuery{Status: "archived"}, wantErr: tenantqry.ErrInvalidStatus},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				views, err := e.reader.List(ctx, tc.query)
				if tc.wantErr != nil {
					if !errors.Is(err, tc.wantErr) || domain.CodeOf(err) != domain.CodeBadInput || domain.FieldOf(err) != "status" {
						t.Fatalf("error = %v, want %v", err, tc.wantErr)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				slugs := []string{}
				for _, v := range views {
					slugs = append(slugs, v.Slug)
					if v.Name != v.Slug || v.CreatedAt != at || len(v.Modules) != 3 || string(v.Settings) != "{}" {
						t.Errorf("view %+v", v)
					}
				}
				if !reflect.DeepEqual(slugs, tc.wantSlugs) {
					t.Errorf("slugs = %v, want %v", slugs, tc.wantSlugs)
				}
			})
		}
	})
}
