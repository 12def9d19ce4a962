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

func TestChangeRoleAndStatus(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		e := newEnv(t, dbURL)
		ctx := context.Background()
		gone := e.newCustomer(t, "gone@example.com")
		if _, err := e.del.Handle(ctx, usercmd.DeleteUser{TenantID: e.tenant, Actor: e.admin, UserID: gone}); err != nil {
			t.Fatal(err)
		}
		fresh := func(t *testing.T) string { return e.newCustomer(t, uuid.NewString()[:8]+"@example.com") }
		tests := []struct {
			name     string
			run      func(t *testing.T, id string) error
			target   string // a fresh customer when empty
			want     expect
			wantNoop bool
			then     func(t *testing.T, u *user.User)
		}{
			{name: "an admin makes a customer a manager",
				run: func(t *testing.T, id string) error {
					_, err := e.role.Handle(ctx, usercmd.ChangeRole{TenantID: e.tenant, Actor: e.admin, UserID: id, Role: user.RoleManager})
					return err
				},
				then: func(t *testing.T, u *user.User) {
					if u.Role() != user.RoleManager {
						t.Errorf("role %s", u.Role())
					}
				}},
			{name: "the same role changes nothing", wantNoop: true,
				run: func(t *testing.T, id string) error {
					res, err := e.role.Handle(ctx, usercmd.ChangeRole{TenantID: e.tenant, Actor: e.admin, UserID: id, Role: user.RoleCustomer})
					if res.Position != 0 {
						t.Errorf("position %d for a no-op", res.Position)
					}
					return err
				}},
			{name: "an admin cannot make a super_admin", want: expect{is: rbac.ErrForbidden, code: domain.CodeForbidden, msg: "cannot be granted"},
				run: func(t *testing.T, id string) error {
					_, err := e.role.Handle(ctx, usercmd.ChangeRole{TenantID: e.tenant, Actor: e.admin, UserID: id, Role: user.RoleSuperAdmin})
					return err
				}},
			{name: "an admin cannot demote a super_admin", target: e.superID, want: expect{is: usercmd.ErrOutranked, code: domain.CodeForbidden},
				run: func(t *testing.T, id string) error {
					_, err := e.role.Handle(ctx, usercmd.ChangeRole{TenantID: e.tenant, Actor: e.admin, UserID: id, Role: user.RoleCustomer})
					return err
				}},
			{name: "a customer cannot change their own role", target: e.customerID, want: denied("users:update"),
				run: func(t *testing.T, id string) error {
					_, err := e.role.Handle(ctx, usercmd.ChangeRole{TenantID: e.tenant, Actor: e.customer, UserID: id, Role: user.RoleAdmin})
					return err
				}},
			{name: "an unknown role is refused", want: expect{is: user.ErrInvalidRole, code: domain.CodeBadInput, field: "role"},
				run: func(t *testing.T, id string) error {
					_, err := e.role.Handle(ctx, usercmd.ChangeRole{TenantID: e.tenant, Actor: e.admin, UserID: id, Role: "root"})
					return err
				}},
			{name: "the role of a deleted user is not found", target: gone, want: expect{is: user.ErrDeleted, code: domain.CodeNotFound},
				run: func(t *testing.T, id string) error {
					_, err := e.role.Handle(ctx, usercmd.ChangeRole{TenantID: e.tenant, Actor: e.admin, UserID: id, Role: user.RoleManager})
					return err
				}},
			{name: "an admin bans a customer",
				run: func(t *testing.T, id string) error {
					_, err := e.status.Handle(ctx, usercmd.ChangeStatus{TenantID: e.tenant, Actor: e.admin, UserID: id, Status: user.StatusBanned})
					return err
				},
				then: func(t *testing.T, u *user.User) {
					if u.Status() != user.StatusBanned || u.CanSignIn() == nil {
						t.Errorf("status %s", u.Status())
					}
				}},
			{name: "an admin disables a customer",
				run: func(t *testing.T, id string) error {
					_, err := e.status.Handle(ctx, usercmd.ChangeStatus{TenantID: e.tenant, Actor: e.admin, UserID: id, Status: user.StatusInactive})
					return err
				},
				then: func(t *testing.T, u *user.User) {
					if u.Status() != user.StatusInactive {
						t.Errorf("status %s", u.Status())
					}
				}},
			{name: "enabling an active user changes nothing", wantNoop: true,
				run: func(t *testing.T, id string) error {
					_, err := e.status.Handle(ctx, usercmd.ChangeStatus{TenantID: e.tenant, Actor: e.admin, UserID: id, Status: user.StatusActive})
					return err
				}},
			{name: "an admin cannot ban a super_admin", target: e.superID, want: expect{is: usercmd.ErrOutranked, code: domain.CodeForbidden},
				run: func(t *testing.T, id string) error {
					_, err := e.status.Handle(ctx, usercmd.ChangeStatus{TenantID: e.tenant, Actor: e.admin, UserID: id, Status: user.StatusBanned})
					return err
				}},
			{name: "an unknown status is refused", want: expect{is: user.ErrInvalidStatus, code: domain.CodeBadInput, field: "status"},
				run: func(t *testing.T, id string) error {
					_, err := e.status.Handle(ctx, usercmd.ChangeStatus{TenantID: e.tenant, Actor: e.admin, UserID: id, Status: "frozen"})
					return err
				}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				id := tc.target
				if id == "" {
					id = fresh(t)
				}
				before := e.head(t)
				err := tc.run(t, id)
				tc.want.check(t, err)
				if tc.want.is != nil || tc.wantNoop {
					if h := e.head(t); h != before {
						t.Fatalf("nothing should be written: head %d → %d", before, h)
					}
					return
				}
				if h := e.head(t); h <= before {
					t.Fatalf("nothing written")
				}
				tc.then(t, e.load(t, id))
			})
		}
	})
}
