package user_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/rustok/rustok/commands"
	usercmd "github.com/rustok/rustok/commands/user"
	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/rbac"
	"github.com/rustok/rustok/domain/user"
	"github.com/rustok/rustok/platform/database/dbtest"
	"github.com/rustok/rustok/platform/password"
)

func TestChangePassword(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		e := newEnv(t, dbURL)
		ctx := context.Background()
		busy := e.with(func() usercmd.Deps { d := e.deps; d.Hasher = busyHasher{}; return d }())
		tests := []struct {
			name    string
			handler commands.Handler[usercmd.ChangePassword]
			actor   func(id string) rbac.Actor // the user themself when nil
			setup   func(t *testing.T, id string)
			current string
			next    string
			want    expect
		}{
			{name: "a user changes their password", current: seedPassword, next: "a brand new pass"},
			{name: "a wrong current password is refused", current: "wrong password", next: "a brand new pass",
				want: expect{is: usercmd.ErrWrongPassword, code: domain.CodeBadInput, field: "current_password"}},
			{name: "a new password too short is refused", current: seedPassword, next: "short",
				want: expect{is: user.ErrPasswordTooShort, code: domain.CodeBadInput, field: "password"}},
			{name: "a new password too long is refused", current: seedPassword, next: strings.Repeat("x", 2000),
				want: expect{is: user.ErrPasswordTooLong, code: domain.CodeBadInput, field: "password"}},
			{name: "the email as new password is refused", current: seedPassword, next: "EMAIL",
				want: expect{is: user.ErrPasswordIsEmail, code: domain.CodeBadInput, field: "password"}},
			{name: "a busy hasher asks to retry later", handler: busy.chpw, current: seedPassword, next: "a brand new pass",
				want: expect{is: password.ErrBusy, code: domain.CodeRateLimited}},
			{name: "anonymous is unauthenticated", actor: func(string) rbac.Actor { return rbac.Anonymous() }, current: seedPassword, next: "a brand new pass",
				want: unauthenticated},
			{name: "an API key cannot change its owner's password", actor: func(id string) rbac.Actor { return keyActor(t, id, user.RoleCustomer) },
				current: seedPassword, next: "a brand new pass", want: expect{is: commands.ErrSelfOnly, code: domain.CodeForbidden}},
			{name: "a banned user cannot", setup: func(t *testing.T, id string) {
				if _, err := e.status.Handle(ctx, usercmd.ChangeStatus{TenantID: e.tenant, Actor: e.admin, UserID: id, Status: user.StatusBanned}); err != nil {
					t.Fatal(err)
				}
			}, current: seedPassword, next: "a brand new pass", want: expect{is: user.ErrNotActive, code: domain.CodeUnauthenticated}},
			{name: "a deleted user cannot", setup: func(t *testing.T, id string) {
				if _, err := e.del.Handle(ctx, usercmd.DeleteUser{TenantID: e.tenant, Actor: e.admin, UserID: id}); err != nil {
					t.Fatal(err)
				}
			}, current: seedPassword, next: "a brand new pass", want: expect{is: user.ErrDeleted, code: domain.CodeNotFound}},
			{name: "a user unknown in the tenant is not found", actor: func(string) rbac.Actor { return actor(t, uuid.NewString(), user.RoleCustomer) },
				current: seedPassword, next: "a brand new pass", want: expect{is: usercmd.ErrNotFound, code: domain.CodeNotFound}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				email := uuid.NewString()[:8] + "@example.com"
				id := e.newCustomer(t, email)
				if tc.setup != nil {
					tc.setup(t, id)
				}
				a := actor(t, id, user.RoleCustomer)
				if tc.actor != nil {
					a = tc.actor(id)
				}
				h := e.chpw
				if tc.handler != nil {
					h = tc.handler
				}
				next := strings.ReplaceAll(tc.next, "EMAIL", strings.ToUpper(email))
				before := e.head(t)
				res, err := h.Handle(ctx, usercmd.ChangePassword{TenantID: e.tenant, Actor: a, CurrentPassword: tc.current, NewPassword: next})
				tc.want.check(t, err)
				if tc.want.is != nil {
					if h := e.head(t); h != before {
						t.Fatalf("a refused command wrote: head %d → %d", before, h)
					}
					return
				}
				if res.Position <= before {
					t.Fatalf("position %d", res.Position)
				}
				u := e.load(t, id)
				if _, err := e.deps.Hasher.Verify(ctx, next, u.PasswordHash()); err != nil {
					t.Fatalf("new password does not verify: %v", err)
				}
				if _, err := e.deps.Hasher.Verify(ctx, seedPassword, u.PasswordHash()); err == nil {
					t.Fatal("old password still verifies")
				}
			})
		}
	})
}
