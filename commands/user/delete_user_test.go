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

func TestDeleteUser(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		e := newEnv(t, dbURL)
		ctx := context.Background()
		tests := []struct {
			name   string
			actor  rbac.Actor
			target string // a fresh customer when empty
			twice  bool
			want   expect
		}{
			{name: "an admin deletes a customer and frees the email", actor: e.admin},
			{name: "a user already deleted is not found", actor: e.admin, twice: true, want: expect{is: user.ErrDeleted, code: domain.CodeNotFound}},
			{name: "a manager lacks users:delete", actor: e.manager, want: denied("users:delete")},
			{name: "a customer cannot delete themself", actor: e.customer, target: e.customerID, want: denied("users:delete")},
			{name: "anonymous is unauthenticated", actor: rbac.Anonymous(), want: unauthenticated},
			{name: "an admin cannot delete a super_admin", actor: e.admin, target: e.superID, want: expect{is: usercmd.ErrOutranked, code: domain.CodeForbidden}},
			{name: "an unknown user is not found", actor: e.admin, target: uuid.NewString(), want: expect{is: usercmd.ErrNotFound, code: domain.CodeNotFound}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				id, email := tc.target, ""
				if id == "" {
					email = uuid.NewString()[:8] + "@example.com"
					id = e.newCustomer(t, email)
				}
				cmd := usercmd.DeleteUser{TenantID: e.tenant, Actor: tc.actor, UserID: id}
				if tc.twice {
					if _, err := e.del.Handle(ctx, cmd); err != nil {
						t.Fatal(err)
					}
				}
				before := e.head(t)
				res, err := e.del.Handle(ctx, cmd)
				tc.want.check(t, err)
				if tc.want.is != nil {
					if h := e.head(t); h != before {
						t.Fatalf("a refused command wrote: head %d → %d", before, h)
					}
					return
				}
				if res.Position <= before || !e.load(t, id).Deleted() {
					t.Fatalf("position %d, deleted %v", res.Position, e.load(t, id).Deleted())
				}
				if h := e.holder(t, email); h != "" {
					t.Fatalf("email still held by %q", h)
				}
			})
		}
	})
}
