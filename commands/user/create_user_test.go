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

func TestCreateUser(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		e := newEnv(t, dbURL)
		ctx := context.Background()
		tests := []struct {
			name       string
			cmd        usercmd.CreateUser
			want       expect
			wantRole   user.Role
			wantStatus user.Status
		}{
			{name: "an admin creates a customer by default", cmd: usercmd.CreateUser{Actor: e.admin, Email: "c1@example.com", Password: "s3cret pass"},
				wantRole: user.RoleCustomer, wantStatus: user.StatusActive},
			{name: "an admin creates a manager, inactive", cmd: usercmd.CreateUser{Actor: e.admin, Email: "m1@example.com", Password: "s3cret pass", Role: user.RoleManager, Status: user.StatusInactive},
				wantRole: user.RoleManager, wantStatus: user.StatusInactive},
			{name: "a super_admin creates a super_admin", cmd: usercmd.CreateUser{Actor: e.super, Email: "s1@example.com", Password: "s3cret pass", Role: user.RoleSuperAdmin},
				wantRole: user.RoleSuperAdmin, wantStatus: user.StatusActive},
			{name: "an admin cannot create a super_admin", cmd: usercmd.CreateUser{Actor: e.admin, Email: "s2@example.com", Password: "s3cret pass", Role: user.RoleSuperAdmin},
				want: expect{is: rbac.ErrForbidden, code: domain.CodeForbidden, msg: "cannot be granted"}},
			{name: "a key with users:create only cannot set a role", cmd: usercmd.CreateUser{Actor: keyActor(t, e.adminID, user.RoleAdmin, rbac.P(rbac.ResourceUsers, rbac.ActionCreate)), Email: "k1@example.com", Password: "s3cret pass", Role: user.RoleManager},
				want: denied("users:update")},
			{name: "a key with users:create creates a customer", cmd: usercmd.CreateUser{Actor: keyActor(t, e.adminID, user.RoleAdmin, rbac.P(rbac.ResourceUsers, rbac.ActionCreate)), Email: "k2@example.com", Password: "s3cret pass"},
				wantRole: user.RoleCustomer, wantStatus: user.StatusActive},
			{name: "a manager lacks users:create", cmd: usercmd.CreateUser{Actor: e.manager, Email: "x1@example.com", Password: "s3cret pass"}, want: denied("users:create")},
			{name: "a customer lacks users:create", cmd: usercmd.CreateUser{Actor: e.customer, Email: "x2@example.com", Password: "s3cret pass"}, want: denied("users:create")},
			{name: "anonymous is unauthenticated", cmd: usercmd.CreateUser{Actor: rbac.Anonymous(), Email: "x3@example.com", Password: "s3cret pass"}, want: unauthenticated},
			{name: "an unknown role is refused", cmd: usercmd.CreateUser{Actor: e.admin, Email: "x4@example.com", Password: "s3cret pass", Role: "owner"},
				want: expect{is: user.ErrInvalidRole, code: domain.CodeBadInput, field: "role"}},
			{name: "an unknown status is refused", cmd: usercmd.CreateUser{Actor: e.admin, Email: "x5@example.com", Password: "s3cret pass", Status: "gone"},
				want: expect{is: user.ErrInvalidStatus, code: domain.CodeBadInput, field: "status"}},
			{name: "a password too short is refused", cmd: usercmd.CreateUser{Actor: e.admin, Email: "x6@example.com", Password: "short"},
				want: expect{is: user.ErrPasswordTooShort, code: domain.CodeBadInput, field: "password"}},
			{name: "a taken email is a conflict", cmd: usercmd.CreateUser{Actor: e.admin, Email: "Manager@Example.com", Password: "s3cret pass"}, want: conflictEmail},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				tc.cmd.TenantID = e.tenant
				tc.cmd.ID = uuid.NewString()
				before := e.head(t)
				res, err := e.create.Handle(ctx, tc.cmd)
				tc.want.check(t, err)
				if tc.want.is != nil {
					if h := e.head(t); h != before {
						t.Fatalf("a refused command wrote: head %d → %d", before, h)
					}
					return
				}
				if res.Position <= before {
					t.Fatalf("position %d, want > %d", res.Position, before)
				}
				u := e.load(t, tc.cmd.ID)
				if u.Role() != tc.wantRole || u.Status() != tc.wantStatus {
					t.Fatalf("created %s %s, want %s %s", u.Role(), u.Status(), tc.wantRole, tc.wantStatus)
				}
				if meta := e.events(t, tc.cmd.ID)[0].Metadata; meta.ActorID != tc.cmd.Actor.UserID() {
					t.Errorf("metadata actor %q, want %q", meta.ActorID, tc.cmd.Actor.UserID())
				}
			})
		}
	})
}
