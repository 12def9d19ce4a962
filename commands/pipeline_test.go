package commands_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rustok/rustok/commands"
	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/rbac"
	"github.com/rustok/rustok/domain/user"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/platform/database/dbtest"
)

func mustActor(t *testing.T, id string, role rbac.Role) rbac.Actor {
	t.Helper()
	a, err := rbac.UserActor(id, role)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAuthorize(t *testing.T) {
	update := rbac.P(rbac.ResourceUsers, rbac.ActionUpdate)
	comments := rbac.P(rbac.ResourceComments, rbac.ActionUpdate)
	admin := mustActor(t, "a1", rbac.RoleAdmin)
	customer := mustActor(t, "c1", rbac.RoleCustomer)
	key, err := rbac.KeyActor("c1", rbac.RoleCustomer, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		actor    rbac.Actor
		access   commands.Access
		wantIs   error
		wantCode domain.Code
		wantMsg  string
	}{
		{name: "public allows anonymous", actor: rbac.Anonymous(), access: commands.Access{Public: true}},
		{name: "a held permission allows", actor: admin, access: commands.Access{Permission: update}},
		{name: "a missing permission is forbidden, named", actor: customer, access: commands.Access{Permission: update},
			wantIs: rbac.ErrForbidden, wantCode: domain.CodeForbidden, wantMsg: "permission users:update is required"},
		{name: "anonymous is unauthenticated", actor: rbac.Anonymous(), access: commands.Access{Permission: update},
			wantIs: rbac.ErrUnauthenticated, wantCode: domain.CodeUnauthenticated},
		{name: "own scope allows the owner", actor: customer, access: commands.Access{Permission: comments, Owner: "c1"}},
		{name: "own scope refuses another owner", actor: customer, access: commands.Access{Permission: comments, Owner: "c2"},
			wantIs: rbac.ErrForbidden, wantCode: domain.CodeForbidden, wantMsg: "your own comments only"},
		{name: "self allows the owner without the permission", actor: customer, access: commands.Access{Permission: update, Owner: "c1", Self: true}},
		{name: "self falls back to the permission for others", actor: customer, access: commands.Access{Permission: update, Owner: "c2", Self: true},
			wantIs: rbac.ErrForbidden, wantMsg: "users:update"},
		{name: "self does not extend to API keys", actor: key, access: commands.Access{Permission: update, Owner: "c1", Self: true},
			wantIs: rbac.ErrForbidden, wantMsg: "users:update"},
		{name: "self only refuses others", actor: admin, access: commands.Access{Owner: "c1", Self: true}, wantIs: commands.ErrSelfOnly, wantCode: domain.CodeForbidden},
		{name: "self only refuses anonymous as unauthenticated", actor: rbac.Anonymous(), access: commands.Access{Self: true},
			wantIs: rbac.ErrUnauthenticated, wantCode: domain.CodeUnauthenticated},
		{name: "assigning a role needs CheckAssignRole", actor: admin, access: commands.Access{Permission: update, AssignRole: rbac.RoleSuperAdmin},
			wantIs: rbac.ErrForbidden, wantMsg: "cannot be granted"},
		{name: "assigning a grantable role is allowed", actor: admin, access: commands.Access{Permission: update, AssignRole: rbac.RoleManager}},
		{name: "an access allowing nothing is internal", actor: admin, access: commands.Access{}, wantCode: domain.CodeInternal},
		{name: "public with a permission is internal", actor: admin, access: commands.Access{Public: true, Permission: update}, wantCode: domain.CodeInternal},
		{name: "self without an owner is internal", actor: admin, access: commands.Access{Self: true}, wantCode: domain.CodeInternal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := commands.Authorize(tc.actor, tc.access)
			if tc.wantIs == nil && tc.wantCode == "" {
				if err != nil {
					t.Fatalf("Authorize = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Authorize = nil, want an error")
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("Authorize = %v, want %v", err, tc.wantIs)
			}
			if tc.wantCode != "" && domain.CodeOf(err) != tc.wantCode {
				t.Errorf("code = %s, want %s", domain.CodeOf(err), tc.wantCode)
			}
			if tc.wantMsg != "" && !strings.Contains(domain.MessageOf(err), tc.wantMsg) {
				t.Errorf("message = %q, want %q in it", domain.MessageOf(err), tc.wantMsg)
			}
		})
	}
}

// stepGate records the pipeline's steps into a shared log.
type stepGate struct {
	log     *[]string
	enabled bool
}

func (g stepGate) ModuleEnabled(context.Context, string, string) (bool, error) {
	*g.log = append(*g.log, "module")
	return g.enabled, nil
}

// stepStore records loads and appends into the same log.
type stepStore struct {
	commands.Store
	log *[]string
}

func (s stepStore) Load(ctx context.Context, streamType, id string) ([]eventstore.Event, error) {
	*s.log = append(*s.log, "load")
	return s.Store.Load(ctx, streamType, id)
}

func (s stepStore) Append(ctx context.Context, stream eventstore.Stream, expected int64, events []eventstore.NewEvent, opts ...eventstore.AppendOption) (eventstore.Result, error) {
	*s.log = append(*s.log, "append")
	return s.Store.Append(ctx, stream, expected, events, opts...)
}

// TestPipeline runs the steps of Pipeline.Create and Change against a real
// store on both databases: their order, which step stops which, the tenant
// check after load, the no-op and the metadata.
func TestPipeline(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		ctx := context.Background()
		store, err := eventstore.New(dbtest.OpenURL(t, dbURL), eventstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
		var steps []string
		pipe := func(enabled bool) commands.Pipeline[*user.User, user.Event] {
			return commands.Pipeline[*user.User, user.Event]{
				Repo:     users(stepStore{Store: store, log: &steps}),
				Module:   "rbac",
				Modules:  stepGate{log: &steps, enabled: enabled},
				TenantOf: (*user.User).TenantID,
			}
		}
		tenantID, id := uuid.NewString(), uuid.NewString()
		admin := mustActor(t, uuid.NewString(), rbac.RoleAdmin)
		update := rbac.P(rbac.ResourceUsers, rbac.ActionUpdate)
		run := func(a rbac.Actor, validate error) commands.Run {
			return commands.Run{
				TenantID: tenantID, Actor: a, Meta: eventstore.Metadata{RequestID: "r1"},
				Access: commands.Access{Permission: update},
				Validate: func() error {
					steps = append(steps, "validate")
					return validate
				},
			}
		}
		create := func(context.Context) (commands.Decision[user.Event], error) {
			steps = append(steps, "decide")
			u, evs, err := user.Register(user.Registration{ID: id, TenantID: tenantID, Email: "p@example.com", PasswordHash: "h"}, at)
			if err != nil {
				return commands.Decision[user.Event]{}, err
			}
			return commands.Decision[user.Event]{Events: evs, Reservations: []eventstore.AppendOption{eventstore.Reserve(user.EmailScope, u.EmailReservation())}}, nil
		}
		rename := func(name string) func(context.Context, *user.User) (commands.Decision[user.Event], error) {
			return func(_ context.Context, u *user.User) (commands.Decision[user.Event], error) {
				steps = append(steps, "decide")
				evs, err := u.Rename(name, at)
				return commands.Decision[user.Event]{Events: evs}, err
			}
		}
		invalid := domain.InvalidField("name", "bad")
		tests := []struct {
			name      string
			do        func() (commands.Result, error)
			wantSteps string
			wantErr   error
			wantCode  domain.Code
			wantPos   bool
		}{
			{name: "create runs every step in order", do: func() (commands.Result, error) { return pipe(true).Create(ctx, run(admin, nil), id, create) },
				wantSteps: "validate,module,decide,append", wantPos: true},
			{name: "change loads after the module step", do: func() (commands.Result, error) { return pipe(true).Change(ctx, run(admin, nil), id, rename("Pat")) },
				wantSteps: "validate,module,load,decide,append", wantPos: true},
			{name: "a no-op appends nothing", do: func() (commands.Result, error) { return pipe(true).Change(ctx, run(admin, nil), id, rename("Pat")) },
				wantSteps: "validate,module,load,decide"},
			{name: "validation stops before authorization", do: func() (commands.Result, error) {
				return pipe(true).Change(ctx, run(rbac.Anonymous(), invalid), id, rename("X"))
			}, wantSteps: "validate", wantErr: invalid},
			{name: "authorization stops before the module and the load", do: func() (commands.Result, error) {
				return pipe(true).Change(ctx, run(rbac.Anonymous(), nil), id, rename("X"))
			}, wantSteps: "validate", wantErr: rbac.ErrUnauthenticated},
			{name: "a disabled module stops before the load", do: func() (commands.Result, error) { return pipe(false).Change(ctx, run(admin, nil), id, rename("X")) },
				wantSteps: "validate,module", wantCode: domain.CodeModuleDisabled},
			{name: "another tenant's aggregate is not found", do: func() (commands.Result, error) {
				r := run(admin, nil)
				r.TenantID = uuid.NewString()
				return pipe(true).Change(ctx, r, id, rename("X"))
			}, wantSteps: "validate,module,load", wantErr: errUserNotFound},
			{name: "a command without a tenant is internal", do: func() (commands.Result, error) {
				r := run(admin, nil)
				r.TenantID = ""
				return pipe(true).Change(ctx, r, id, rename("X"))
			}, wantErr: commands.ErrNoTenant},
		}
		for _, tc := range tests {
			steps = nil
			res, err := tc.do()
			if got := strings.Join(steps, ","); got != tc.wantSteps {
				t.Errorf("%s: steps %q, want %q", tc.name, got, tc.wantSteps)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) || tc.wantErr == nil && tc.wantCode == "" && err != nil {
				t.Errorf("%s: error %v, want %v", tc.name, err, tc.wantErr)
			}
			if tc.wantCode != "" && domain.CodeOf(err) != tc.wantCode {
				t.Errorf("%s: code %s, want %s", tc.name, domain.CodeOf(err), tc.wantCode)
			}
			if (res.Position > 0) != tc.wantPos {
				t.Errorf("%s: position %d", tc.name, res.Position)
			}
		}
		evs, err := store.Load(ctx, user.StreamType, id)
		if err != nil || len(evs) != 2 {
			t.Fatalf("stream has %d events (%v), want 2", len(evs), err)
		}
		for _, ev := range evs {
			if ev.Metadata.ActorID != admin.UserID() || ev.Metadata.RequestID != "r1" || ev.Stream.TenantID != tenantID {
				t.Errorf("event %d: metadata %+v tenant %s", ev.Version, ev.Metadata, ev.Stream.TenantID)
			}
		}
	})
}
