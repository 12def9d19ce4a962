package user_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	usercmd "github.com/rustok/rustok/commands/user"
	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/rbac"
	"github.com/rustok/rustok/domain/user"
	"github.com/rustok/rustok/platform/database/dbtest"
)

// TestEveryHandlerChecksItsPermission runs every handler that needs a
// permission as a manager and a customer (neither holds users:*) against
// another user, and as the anonymous actor: FORBIDDEN naming the permission,
// UNAUTHENTICATED, and nothing written. Then with the module disabled.
func TestEveryHandlerChecksItsPermission(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		e := newEnv(t, dbURL)
		ctx := context.Background()
		target := e.newCustomer(t, "target@example.com")
		handlers := []struct {
			name string
			perm string
			run  func(env *env, a rbac.Actor) error
		}{
			{"create", "users:create", func(env *env, a rbac.Actor) error {
				_, err := env.create.Handle(ctx, usercmd.CreateUser{TenantID: e.tenant, Actor: a, Email: "n@example.com", Password: "s3cret pass"})
				return err
			}},
			{"update", "users:update", func(env *env, a rbac.Actor) error {
				_, err := env.update.Handle(ctx, usercmd.UpdateUser{TenantID: e.tenant, Actor: a, UserID: target, Name: ptr("X")})
				return err
			}},
			{"change_role", "users:update", func(env *env, a rbac.Actor) error {
				_, err := env.role.Handle(ctx, usercmd.ChangeRole{TenantID: e.tenant, Actor: a, UserID: target, Role: user.RoleManager})
				return err
			}},
			{"change_status", "users:update", func(env *env, a rbac.Actor) error {
				_, err := env.status.Handle(ctx, usercmd.ChangeStatus{TenantID: e.tenant, Actor: a, UserID: target, Status: user.StatusBanned})
				return err
			}},
			{"delete", "users:delete", func(env *env, a rbac.Actor) error {
				_, err := env.del.Handle(ctx, usercmd.DeleteUser{TenantID: e.tenant, Actor: a, UserID: target})
				return err
			}},
		}
		disabled := e.with(func() usercmd.Deps { d := e.deps; d.Modules = &gate{disabled: map[string]bool{"rbac": true}}; return d }())
		for _, h := range handlers {
			for _, c := range []struct {
				who   string
				env   *env
				actor rbac.Actor
				want  expect
			}{
				{"manager", e, e.manager, denied(h.perm)},
				{"customer", e, e.customer, denied(h.perm)},
				{"anonymous", e, rbac.Anonymous(), expect{is: rbac.ErrUnauthenticated, code: domain.CodeUnauthenticated, msg: h.perm}},
				{"key without the permission", e, keyActor(t, e.adminID, user.RoleAdmin, rbac.P(rbac.ResourceProducts, rbac.ActionManage)), denied(h.perm)},
				{"admin with the module disabled", disabled, e.admin, expect{is: domain.ModuleDisabled("rbac"), code: domain.CodeModuleDisabled}},
			} {
				t.Run(h.name+"/"+c.who, func(t *testing.T) {
					before := e.head(t)
					c.want.check(t, h.run(c.env, c.actor))
					if after := e.head(t); after != before {
						t.Fatalf("a refused command wrote: head %d → %d", before, after)
					}
				})
			}
		}
		// The module gate is asked about the command's tenant and module.
		g := &gate{disabled: map[string]bool{}}
		asked := e.with(func() usercmd.Deps { d := e.deps; d.Modules = g; return d }())
		if _, err := asked.update.Handle(ctx, usercmd.UpdateUser{TenantID: e.tenant, Actor: e.admin, UserID: target, Name: ptr(uuid.NewString())}); err != nil {
			t.Fatal(err)
		}
		if len(g.asked) != 1 || g.asked[0] != e.tenant+"/rbac" {
			t.Fatalf("gate asked %v", g.asked)
		}
	})
}
