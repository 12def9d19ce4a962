package apikey_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rustok/rustok/commands"
	apikeycmd "github.com/rustok/rustok/commands/apikey"
	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/apikey"
	"github.com/rustok/rustok/domain/module"
	"github.com/rustok/rustok/domain/rbac"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/platform/database/dbtest"
	apikeyqry "github.com/rustok/rustok/queries/apikey"
)

func ptr(t time.Time) *time.Time { return &t }

func TestCreateAPIKey(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		var logs bytes.Buffer
		e.build(e.deps, commands.Decorators{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
		ctx := context.Background()
		admin := actor(t, rbac.RoleAdmin)
		expiry := t0.Add(30 * 24 * time.Hour)

		out, err := e.create.Handle(ctx, apikeycmd.CreateAPIKey{
			TenantID: e.tenant, Actor: admin, Meta: eventstore.Metadata{RequestID: "req-1"}, Name: "  ERP sync ",
			Permissions: []string{"orders:read", " Products:List", "orders:read", "users:manage"}, ExpiresAt: &expiry,
		})
		if err != nil {
			t.Fatal(err)
		}
		prefix, hash, err := apikey.ParseSecret(out.Secret)
		if err != nil || out.Prefix != prefix || out.Result.Position == 0 || uuid.Validate(out.ID) != nil {
			t.Fatalf("Created = %+v, %v", out, err)
		}
		k := e.load(t, out.ID)
		var perms []string
		for _, p := range k.Permissions() {
			perms = append(perms, p.String())
		}
		exp, _ := k.ExpiresAt()
		if k.TenantID() != e.tenant || k.Name() != "ERP sync" || k.Prefix() != prefix || k.SecretHash() != hash ||
			k.CreatedBy() != admin.UserID() || !k.CreatedAt().Equal(t0) || !exp.Equal(expiry) ||
			!reflect.DeepEqual(perms, []string{"orders:read", "products:list", "users:manage"}) {
			t.Errorf("stored key %+v, permissions %v", k, perms)
		}
		stored, err := e.store.Load(ctx, apikey.StreamType, out.ID)
		if err != nil || len(stored) != 1 || stored[0].Metadata.ActorID != admin.UserID() || stored[0].Metadata.RequestID != "req-1" {
			t.Fatalf("stored events %+v, %v", stored, err)
		}
		if bytes.Contains(stored[0].Payload, []byte(out.Secret)) || bytes.Contains(stored[0].Payload, []byte(out.Secret[apikey.PrefixLength:])) {
			t.Errorf("the event holds the secret: %s", stored[0].Payload)
		}
		if strings.Contains(logs.String(), out.Secret[apikey.PrefixLength:]) || !strings.Contains(logs.String(), "api_key.create") {
			t.Errorf("log lines: %s", logs.String())
		}

		// Two keys never share a secret.
		e.clock.advance(time.Second)
		second := e.mustCreate(t, admin, "products:read")
		if second.Secret == out.Secret || second.ID == out.ID {
			t.Errorf("two keys share a secret or an id")
		}

		// The read side authenticates the secret and lists the key, without
		// its hash.
		e.project(t)
		reader := apikeyqry.NewReader(e.store.DB())
		cands, err := reader.ByPrefix(ctx, prefix)
		if err != nil {
			t.Fatal(err)
		}
		if c, ok := apikeyqry.Match(cands, hash); !ok || c.ID != out.ID || c.TenantID != e.tenant || !c.ActiveAt(t0) {
			t.Errorf("Match = %+v, %v", c, ok)
		}
		views, err := reader.List(ctx, e.tenant)
		if err != nil || len(views) != 2 || views[1].ID != out.ID || views[1].Name != "ERP sync" {
			t.Errorf("List = %+v, %v", views, err)
		}
	})
}

func TestCreateAPIKeyAuthorization(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		ctx := context.Background()
		create := func(a rbac.Actor, perms ...string) error {
			_, err := e.create.Handle(ctx, apikeycmd.CreateAPIKey{TenantID: e.tenant, Actor: a, Name: "k", Permissions: perms})
			return err
		}
		before := e.head(t)

		t.Run("a manager lacks settings:create", func(t *testing.T) {
			err := create(actor(t, rbac.RoleManager), "products:read")
			wantCode(t, err, domain.CodeForbidden, rbac.ErrForbidden)
			wantDenied(t, err, rbac.P(rbac.ResourceSettings, rbac.ActionCreate), rbac.ReasonMissing)
		})
		t.Run("a customer lacks settings:create", func(t *testing.T) {
			err := create(actor(t, rbac.RoleCustomer), "products:read")
			wantDenied(t, err, rbac.P(rbac.ResourceSettings, rbac.ActionCreate), rbac.ReasonMissing)
		})
		t.Run("the anonymous actor must sign in", func(t *testing.T) {
			err := create(rbac.Anonymous(), "products:read")
			wantCode(t, err, domain.CodeUnauthenticated, rbac.ErrUnauthenticated)
			wantDenied(t, err, rbac.P(rbac.ResourceSettings, rbac.ActionCreate), rbac.ReasonUnauthenticated)
		})
		t.Run("an admin cannot grant tenants:manage, which they do not hold", func(t *testing.T) {
			err := create(actor(t, rbac.RoleAdmin), "products:read", "tenants:manage")
			wantCode(t, err, domain.CodeForbidden, rbac.ErrForbidden)
			wantDenied(t, err, rbac.P(rbac.ResourceTenants, rbac.ActionManage), rbac.ReasonNotGrantable)
		})
		t.Run("an admin cannot grant modules:manage either", func(t *testing.T) {
			err := create(actor(t, rbac.RoleAdmin), "modules:read", "modules:manage")
			wantDenied(t, err, rbac.P(rbac.ResourceModules, rbac.ActionManage), rbac.ReasonNotGrantable)
		})
		t.Run("an API key cannot create keys, even holding settings:manage", func(t *testing.T) {
			err := create(keyActor(t, rbac.P(rbac.ResourceSettings, rbac.ActionManage)), "products:read")
			wantCode(t, err, domain.CodeForbidden, apikeycmd.ErrKeyCannotCreate)
		})
		t.Run("an API key without settings:create is denied that permission first", func(t *testing.T) {
			err := create(keyActor(t, rbac.P(rbac.ResourceProducts, rbac.ActionRead)), "products:read")
			wantDenied(t, err, rbac.P(rbac.ResourceSettings, rbac.ActionCreate), rbac.ReasonMissing)
		})
		if h := e.head(t); h != before {
			t.Fatalf("refused commands appended: head %d → %d", before, h)
		}

		t.Run("a super_admin may grant tenants:manage", func(t *testing.T) {
			if err := create(actor(t, rbac.RoleSuperAdmin), "tenants:manage"); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("an admin may grant what they hold, manage included", func(t *testing.T) {
			if err := create(actor(t, rbac.RoleAdmin), "events:read", "products:manage", "settings:read"); err != nil {
				t.Fatal(err)
			}
		})
	})
}

func TestCreateAPIKeyRefusesBadInput(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		ctx := context.Background()
		admin := actor(t, rbac.RoleAdmin)
		tests := []struct {
			name      string
			cmd       apikeycmd.CreateAPIKey
			wantErr   error
			wantField string
		}{
			{name: "empty name", cmd: apikeycmd.CreateAPIKey{Name: " ", Permissions: []string{"products:read"}}, wantErr: apikey.ErrInvalidName, wantField: "name"},
			{name: "name over 100 characters", cmd: apikeycmd.CreateAPIKey{Name: strings.Repeat("ж", 101), Permissions: []string{"products:read"}}, wantErr: apikey.ErrInvalidName, wantField: "name"},
			{name: "name with a control character", cmd: apikeycmd.CreateAPIKey{Name: "a\x07b", Permissions: []string{"products:read"}}, wantErr: apikey.ErrInvalidName, wantField: "name"},
			{name: "name not UTF-8", cmd: apikeycmd.CreateAPIKey{Name: "\xc3", Permissions: []string{"products:read"}}, wantErr: apikey.ErrInvalidName, wantField: "name"},
			{name: "no permissions", cmd: apikeycmd.CreateAPIKey{Name: "k"}, wantErr: apikey.ErrNoPermissions, wantField: "permissions"},
			{name: "more than 100 permissions", cmd: apikeycmd.CreateAPIKey{Name: "k", Permissions: make([]string, 101)}, wantErr: apikey.ErrTooManyPermissions, wantField: "permissions"},
			{name: "an unknown permission", cmd: apikeycmd.CreateAPIKey{Name: "k", Permissions: []string{"products:read", "rockets:fly"}}, wantErr: rbac.ErrInvalidPermission, wantField: "permissions"},
			{name: "an expiry in the past", cmd: apikeycmd.CreateAPIKey{Name: "k", Permissions: []string{"products:read"}, ExpiresAt: ptr(t0.Add(-time.Second))}, wantErr: apikey.ErrExpiryNotInFuture, wantField: "expires_at"},
			{name: "an expiry now", cmd: apikeycmd.CreateAPIKey{Name: "k", Permissions: []string{"products:read"}, ExpiresAt: ptr(t0)}, wantErr: apikey.ErrExpiryNotInFuture, wantField: "expires_at"},
			{name: "an expiry over 5 years ahead", cmd: apikeycmd.CreateAPIKey{Name: "k", Permissions: []string{"products:read"}, ExpiresAt: ptr(t0.AddDate(5, 0, 2))}, wantErr: apikey.ErrExpiryTooFar, wantField: "expires_at"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				for _, a := range []rbac.Actor{admin, rbac.Anonymous()} {
					// Input is validated before authorization, for every actor.
					tc.cmd.TenantID, tc.cmd.Actor = e.tenant, a
					out, err := e.create.Handle(ctx, tc.cmd)
					wantCode(t, err, domain.CodeBadInput, tc.wantErr)
					if f := domain.FieldOf(err); f != tc.wantField || out != (apikeycmd.Created{}) {
						t.Fatalf("field %q, answer %+v", f, out)
					}
				}
			})
		}
		if h := e.head(t); h != 0 {
			t.Fatalf("refused commands appended up to %d", h)
		}
	})
}

func TestCreateAPIKeyWiring(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		ctx := context.Background()
		admin := actor(t, rbac.RoleAdmin)
		cmd := apikeycmd.CreateAPIKey{TenantID: e.tenant, Actor: admin, Name: "k", Permissions: []string{"products:read"}}

		t.Run("module disabled", func(t *testing.T) {
			d := e.deps
			d.Modules = gate{disabled: module.SlugRBAC}
			_, err := apikeycmd.NewCreateAPIKeyHandler(d, commands.Decorators{}).Handle(ctx, cmd)
			wantCode(t, err, domain.CodeModuleDisabled, nil)
		})
		t.Run("no tenant", func(t *testing.T) {
			c := cmd
			c.TenantID = ""
			if _, err := e.create.Handle(ctx, c); !errors.Is(err, commands.ErrNoTenant) {
				t.Fatalf("err = %v", err)
			}
		})
		t.Run("a failing random source writes nothing", func(t *testing.T) {
			d := e.deps
			d.Random = bytes.NewReader(make([]byte, 10))
			_, err := apikeycmd.NewCreateAPIKeyHandler(d, commands.Decorators{}).Handle(ctx, cmd)
			if !errors.Is(err, apikey.ErrShortRandom) || domain.CodeOf(err) != domain.CodeInternal {
				t.Fatalf("err = %v", err)
			}
		})
		t.Run("an id already used", func(t *testing.T) {
			d := e.deps
			id := uuid.NewString()
			d.NewID = func() (string, error) { return id, nil }
			h := apikeycmd.NewCreateAPIKeyHandler(d, commands.Decorators{})
			if _, err := h.Handle(ctx, cmd); err != nil {
				t.Fatal(err)
			}
			_, err := h.Handle(ctx, cmd)
			wantCode(t, err, domain.CodeConflict, apikeycmd.ErrKeyExists)
		})
		t.Run("an id generator failing", func(t *testing.T) {
			d := e.deps
			d.NewID = func() (string, error) { return "", io.ErrUnexpectedEOF }
			if _, err := apikeycmd.NewCreateAPIKeyHandler(d, commands.Decorators{}).Handle(ctx, cmd); !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("err = %v", err)
			}
		})
		t.Run("a missing dependency panics", func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			d := e.deps
			d.NewID = nil
			apikeycmd.NewCreateAPIKeyHandler(d, commands.Decorators{})
		})
	})
}
