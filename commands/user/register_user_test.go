package user_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/rustok/rustok/commands"
	usercmd "github.com/rustok/rustok/commands/user"
	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/user"
	"github.com/rustok/rustok/platform/database/dbtest"
	"github.com/rustok/rustok/platform/password"
)

func TestRegisterUser(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		e := newEnv(t, dbURL)
		ctx := context.Background()
		tests := []struct {
			name string
			cmd  usercmd.RegisterUser
			want expect
		}{
			{name: "a visitor signs up as an active customer", cmd: usercmd.RegisterUser{Email: " Ann@Example.com ", Password: "s3cret pass", Name: "Ann"}},
			{name: "a signed-in user may sign up too", cmd: usercmd.RegisterUser{Actor: e.customer, Email: "bob@example.com", Password: "s3cret pass"}},
			{name: "an invalid email is refused", cmd: usercmd.RegisterUser{Email: "not-an-email", Password: "s3cret pass"},
				want: expect{is: user.ErrInvalidEmail, code: domain.CodeBadInput, field: "email"}},
			{name: "an invalid name is refused", cmd: usercmd.RegisterUser{Email: "name@example.com", Password: "s3cret pass", Name: "bad\x00name"},
				want: expect{is: user.ErrInvalidName, code: domain.CodeBadInput, field: "name"}},
			{name: "an invalid id is refused", cmd: usercmd.RegisterUser{ID: "NOT-A-UUID", Email: "id@example.com", Password: "s3cret pass"},
				want: expect{is: user.ErrInvalidID, code: domain.CodeBadInput, field: "id"}},
			{name: "a password too short is refused", cmd: usercmd.RegisterUser{Email: "short@example.com", Password: "1234567"},
				want: expect{is: user.ErrPasswordTooShort, code: domain.CodeBadInput, field: "password", msg: "at least 8 characters"}},
			{name: "the email as password is refused, whatever its case", cmd: usercmd.RegisterUser{Email: "same@example.com", Password: "SAME@example.com"},
				want: expect{is: user.ErrPasswordIsEmail, code: domain.CodeBadInput, field: "password"}},
			{name: "a password too long is refused", cmd: usercmd.RegisterUser{Email: "long@example.com", Password: strings.Repeat("p", user.DefaultMaxBytes+1)},
				want: expect{is: user.ErrPasswordTooLong, code: domain.CodeBadInput, field: "password", msg: "at most 1024 bytes"}},
			{name: "a taken email is a conflict", cmd: usercmd.RegisterUser{Email: "customer@example.com", Password: "s3cret pass"}, want: conflictEmail},
			{name: "a taken email in another case is a conflict", cmd: usercmd.RegisterUser{Email: "CUSTOMER@Example.COM", Password: "s3cret pass"}, want: conflictEmail},
			{name: "a taken id is a conflict", cmd: usercmd.RegisterUser{ID: e.customerID, Email: "fresh@example.com", Password: "s3cret pass"},
				want: expect{is: usercmd.ErrUserExists, code: domain.CodeConflict, field: "id"}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				tc.cmd.TenantID = e.tenant
				if tc.cmd.ID == "" {
					tc.cmd.ID = uuid.NewString()
				}
				before := e.head(t)
				res, err := e.register.Handle(ctx, tc.cmd)
				tc.want.check(t, err)
				if tc.want.is != nil {
					if h := e.head(t); h != before {
						t.Fatalf("a refused sign-up wrote: head %d → %d", before, h)
					}
					return
				}
				if res.Position <= before {
					t.Fatalf("position %d, want > %d", res.Position, before)
				}
				u := e.load(t, tc.cmd.ID)
				email, _ := user.NormalizeEmail(tc.cmd.Email)
				if u.Email() != email || u.Role() != user.RoleCustomer || u.Status() != user.StatusActive || u.TenantID() != e.tenant {
					t.Fatalf("registered %s %s %s in %s", u.Email(), u.Role(), u.Status(), u.TenantID())
				}
				if _, err := e.deps.Hasher.Verify(ctx, tc.cmd.Password, u.PasswordHash()); err != nil {
					t.Fatalf("the stored hash does not verify the password: %v", err)
				}
				if h := e.holder(t, email); h != tc.cmd.ID {
					t.Fatalf("email held by %q, want %q", h, tc.cmd.ID)
				}
				meta := e.events(t, tc.cmd.ID)[0].Metadata
				if meta.ActorID != tc.cmd.Actor.UserID() {
					t.Errorf("metadata actor %q, want %q", meta.ActorID, tc.cmd.Actor.UserID())
				}
			})
		}
	})
}

func TestRegisterUserWhenDisabledOrBusy(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		e := newEnv(t, dbURL)
		ctx := context.Background()
		busy := e.deps
		busy.Hasher = busyHasher{}
		closedGate := e.deps
		closedGate.Modules = &gate{disabled: map[string]bool{"rbac": true}}
		tests := []struct {
			name    string
			handler commands.Handler[usercmd.RegisterUser]
			want    expect
		}{
			{name: "registration disabled is forbidden", handler: usercmd.NewRegisterUserHandler(e.deps, commands.Decorators{}, usercmd.WithRegistrationEnabled(false)),
				want: expect{is: usercmd.ErrRegistrationDisabled, code: domain.CodeForbidden, msg: "registration is disabled"}},
			{name: "registration is disabled unless enabled", handler: usercmd.NewRegisterUserHandler(e.deps, commands.Decorators{}),
				want: expect{is: usercmd.ErrRegistrationDisabled, code: domain.CodeForbidden}},
			{name: "a busy hasher asks to retry later", handler: usercmd.NewRegisterUserHandler(busy, commands.Decorators{}, usercmd.WithRegistrationEnabled(true)),
				want: expect{is: password.ErrBusy, code: domain.CodeRateLimited, msg: "retry"}},
			{name: "a disabled module is refused", handler: usercmd.NewRegisterUserHandler(closedGate, commands.Decorators{}, usercmd.WithRegistrationEnabled(true)),
				want: expect{is: domain.ModuleDisabled("rbac"), code: domain.CodeModuleDisabled}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				before := e.head(t)
				_, err := tc.handler.Handle(ctx, usercmd.RegisterUser{TenantID: e.tenant, Email: "visitor@example.com", Password: "s3cret pass"})
				tc.want.check(t, err)
				if h := e.head(t); h != before {
					t.Fatalf("a refused sign-up wrote: head %d → %d", before, h)
				}
			})
		}
		if !errors.Is(usercmd.ErrBusy, usercmd.ErrBusy) || domain.CodeOf(usercmd.ErrBusy) != domain.CodeRateLimited {
			t.Fatal("ErrBusy is not RATE_LIMITED")
		}
	})
}

// TestRegisterUserRace signs up with one email from many goroutines at once,
// in several cases: exactly one wins, the others are a CONFLICT on email.
func TestRegisterUserRace(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		e := newEnv(t, dbURL)
		const n = 6
		emails := []string{"race@example.com", "RACE@example.com", "Race@Example.Com"}
		var (
			wg   sync.WaitGroup
			errs = make([]error, n)
			ids  = make([]string, n)
		)
		for i := range n {
			ids[i] = uuid.NewString()
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = e.register.Handle(context.Background(), usercmd.RegisterUser{
					TenantID: e.tenant, ID: ids[i], Email: emails[i%len(emails)], Password: "s3cret pass",
				})
			}()
		}
		wg.Wait()
		winner := ""
		for i, err := range errs {
			if err == nil {
				if winner != "" {
					t.Fatalf("two sign-ups with one email won: %s and %s", winner, ids[i])
				}
				winner = ids[i]
				continue
			}
			conflictEmail.check(t, err)
			if evs := e.events(t, ids[i]); len(evs) != 0 {
				t.Fatalf("a losing sign-up wrote %d events", len(evs))
			}
		}
		if winner == "" || e.holder(t, "race@example.com") != winner {
			t.Fatalf("winner %q, holder %q", winner, e.holder(t, "race@example.com"))
		}
	})
}

func TestRegisterUserAfterDeletionReusesTheEmail(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		e := newEnv(t, dbURL)
		ctx := context.Background()
		old := e.newCustomer(t, "again@example.com")
		if _, err := e.del.Handle(ctx, usercmd.DeleteUser{TenantID: e.tenant, Actor: e.admin, UserID: old}); err != nil {
			t.Fatal(err)
		}
		id := uuid.NewString()
		if _, err := e.register.Handle(ctx, usercmd.RegisterUser{TenantID: e.tenant, ID: id, Email: "Again@example.com", Password: "s3cret pass"}); err != nil {
			t.Fatalf("sign-up with a deleted user's email: %v", err)
		}
		if h := e.holder(t, "again@example.com"); h != id {
			t.Fatalf("email held by %q, want %q", h, id)
		}
		// Another tenant may use any email: reservations are per tenant.
		if _, err := e.register.Handle(ctx, usercmd.RegisterUser{TenantID: uuid.NewString(), Email: "again@example.com", Password: "s3cret pass"}); err != nil {
			t.Fatalf("same email in another tenant: %v", err)
		}
	})
}
