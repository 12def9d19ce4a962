package user_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/rustok/rustok/commands"
	usercmd "github.com/rustok/rustok/commands/user"
	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/rbac"
	"github.com/rustok/rustok/domain/user"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/platform/database/dbtest"
)

func TestUpdateUser(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		e := newEnv(t, dbURL)
		ctx := context.Background()
		other := e.newCustomer(t, "other@example.com")
		gone := e.newCustomer(t, "gone@example.com")
		if _, err := e.del.Handle(ctx, usercmd.DeleteUser{TenantID: e.tenant, Actor: e.admin, UserID: gone}); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name      string
			actor     rbac.Actor
			target    func() string // a fresh customer unless set
			name_     *string
			email     *string
			tenant    string
			want      expect
			wantNoop  bool
			wantEmail string
		}{
			{name: "an admin renames a user", actor: e.admin, name_: ptr("New Name")},
			{name: "an admin changes a user's email, moving the reservation", actor: e.admin, email: ptr("Moved@Example.com"), wantEmail: "moved@example.com"},
			{name: "a customer renames themself (own scope)", actor: e.customer, target: func() string { return e.customerID }, name_: ptr("Me")},
			{name: "a customer changes their own email", actor: e.customer, target: func() string { return e.customerID }, email: ptr("me@example.com"), wantEmail: "me@example.com"},
			{name: "a customer cannot update someone else", actor: e.customer, target: func() string { return other }, name_: ptr("Hacked"), want: denied("users:update")},
			{name: "a manager lacks users:update", actor: e.manager, name_: ptr("X"), want: denied("users:update")},
			{name: "anonymous is unauthenticated", actor: rbac.Anonymous(), name_: ptr("X"), want: unauthenticated},
			{name: "an API key of the user is not the user themself", actor: keyActor(t, e.customerID, user.RoleCustomer), target: func() string { return e.customerID }, name_: ptr("Key"), want: denied("users:update")},
			{name: "an admin cannot change a super_admin", actor: e.admin, target: func() string { return e.superID }, name_: ptr("Demoted"),
				want: expect{is: usercmd.ErrOutranked, code: domain.CodeForbidden}},
			{name: "the same values change nothing", actor: e.admin, target: func() string { return other }, name_: ptr("customer"), email: ptr("OTHER@example.com"), wantNoop: true},
			{name: "a taken email is a conflict", actor: e.admin, email: ptr("Admin@Example.com"), want: conflictEmail},
			{name: "an invalid email is refused", actor: e.admin, email: ptr("nope"), want: expect{is: user.ErrInvalidEmail, code: domain.CodeBadInput, field: "email"}},
			{name: "an invalid name is refused", actor: e.admin, name_: ptr("a\nb"), want: expect{is: user.ErrInvalidName, code: domain.CodeBadInput, field: "name"}},
			{name: "an invalid id is refused", actor: e.admin, target: func() string { return "x" }, name_: ptr("X"), want: expect{is: user.ErrInvalidID, code: domain.CodeBadInput, field: "id"}},
			{name: "an unknown user is not found", actor: e.admin, target: uuid.NewString, name_: ptr("X"), want: expect{is: usercmd.ErrNotFound, code: domain.CodeNotFound}},
			{name: "a user of another tenant is not found", actor: e.super, tenant: uuid.NewString(), name_: ptr("X"), want: expect{is: usercmd.ErrNotFound, code: domain.CodeNotFound}},
			{name: "a deleted user is not found", actor: e.admin, target: func() string { return gone }, name_: ptr("X"), want: expect{is: user.ErrDeleted, code: domain.CodeNotFound}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				var id string
				if tc.target != nil {
					id = tc.target()
				} else {
					id = e.newCustomer(t, "target"+uuid.NewString()[:8]+"@example.com")
				}
				tenant := e.tenant
				if tc.tenant != "" {
					tenant = tc.tenant
				}
				var oldEmail string
				if len(e.events(t, id)) > 0 && tc.want.is == nil {
					oldEmail = e.load(t, id).Email()
				}
				before := e.head(t)
				res, err := e.update.Handle(ctx, usercmd.UpdateUser{TenantID: tenant, Actor: tc.actor, UserID: id, Name: tc.name_, Email: tc.email})
				tc.want.check(t, err)
				if tc.want.is != nil || tc.wantNoop {
					if h := e.head(t); h != before || res.Position != 0 {
						t.Fatalf("nothing should be written: head %d → %d, position %d", before, h, res.Position)
					}
					return
				}
				if res.Position <= before {
					t.Fatalf("position %d, want > %d", res.Position, before)
				}
				u := e.load(t, id)
				if tc.name_ != nil && u.Name() != *tc.name_ {
					t.Errorf("name %q, want %q", u.Name(), *tc.name_)
				}
				if tc.wantEmail != "" {
					if u.Email() != tc.wantEmail || e.holder(t, tc.wantEmail) != id {
						t.Errorf("email %q held by %q, want %q held by %s", u.Email(), e.holder(t, tc.wantEmail), tc.wantEmail, id)
					}
					if h := e.holder(t, oldEmail); h != "" {
						t.Errorf("old email %q still held by %q", oldEmail, h)
					}
				}
			})
		}
	})
}

// TestUpdateUserStaleVersion changes the user between the handler's load and
// its append: the append is a CONFLICT and writes nothing.
func TestUpdateUserStaleVersion(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		e := newEnv(t, dbURL)
		ctx := context.Background()
		id := e.newCustomer(t, "stale@example.com")
		d := e.deps
		d.Store = &interferingStore{Store: e.store, interfere: func() {
			if _, err := e.update.Handle(ctx, usercmd.UpdateUser{TenantID: e.tenant, Actor: e.admin, UserID: id, Name: ptr("First")}); err != nil {
				t.Error(err)
			}
		}}
		raced := e.with(d)
		_, err := raced.update.Handle(ctx, usercmd.UpdateUser{TenantID: e.tenant, Actor: e.admin, UserID: id, Name: ptr("Second"), Email: ptr("second@example.com")})
		expect{is: commands.ErrStaleVersion, code: domain.CodeConflict}.check(t, err)
		if !errorsIs(err, eventstore.ErrConcurrencyConflict) {
			t.Fatalf("error %v does not wrap the store's conflict", err)
		}
		if u := e.load(t, id); u.Name() != "First" || u.Email() != "stale@example.com" {
			t.Fatalf("user %q %q after the lost race", u.Name(), u.Email())
		}
		if h := e.holder(t, "second@example.com"); h != "" {
			t.Fatalf("the losing command's email is reserved by %q", h)
		}
	})
}
