package user_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	usercmd "github.com/rustok/rustok/commands/user"
	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/user"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/platform/database/dbtest"
	"github.com/rustok/rustok/platform/password"
)

// resetTokenOf returns the reset token the mail reactor would derive from
// the user's latest user.password_reset_requested event, and that event.
func (e *env) resetTokenOf(tb testing.TB, id string) (string, user.PasswordResetRequested) {
	tb.Helper()
	var last *eventstore.Event
	for _, ev := range e.events(tb, id) {
		if ev.Type == user.TypePasswordResetRequested {
			last = &ev
		}
	}
	if last == nil {
		tb.Fatalf("user %s has no reset request", id)
	}
	var p user.PasswordResetRequested
	if err := json.Unmarshal(last.Payload, &p); err != nil {
		tb.Fatal(err)
	}
	secret := user.ResetSecret(resetKey, last.Stream.TenantID, id, p.At)
	if user.ResetTokenHash(secret) != p.TokenHash {
		tb.Fatalf("the token derived from the event does not match its hash")
	}
	return user.ResetToken(id, secret), p
}

func TestRequestPasswordReset(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		e := newEnv(t, dbURL)
		ctx := context.Background()
		forgot := func(email string) (int64, error) {
			res, err := e.forgot.Handle(ctx, usercmd.RequestPasswordReset{TenantID: e.tenant, Email: email})
			return res.Position, err
		}

		pos, err := forgot(" Customer@Example.com ")
		if err != nil || pos == 0 {
			t.Fatalf("known email: position %d, %v; want an event", pos, err)
		}
		_, p := e.resetTokenOf(t, e.customerID)
		if !p.At.Equal(at) || !p.ExpiresAt.Equal(at.Add(user.DefaultResetTokenTTL)) {
			t.Errorf("reset requested at %v expiring %v, want %v and an hour later", p.At, p.ExpiresAt, at)
		}

		// Every other outcome records nothing and answers the same.
		bannedID := e.newCustomer(t, "banned@example.com")
		if _, err := e.status.Handle(ctx, usercmd.ChangeStatus{TenantID: e.tenant, Actor: e.admin, UserID: bannedID, Status: user.StatusBanned}); err != nil {
			t.Fatal(err)
		}
		deletedID := e.newCustomer(t, "deleted@example.com")
		if _, err := e.del.Handle(ctx, usercmd.DeleteUser{TenantID: e.tenant, Actor: e.admin, UserID: deletedID}); err != nil {
			t.Fatal(err)
		}
		head := e.head(t)
		for _, email := range []string{"nobody@example.com", "banned@example.com", "deleted@example.com"} {
			if pos, err := forgot(email); err != nil || pos != 0 {
				t.Errorf("%s: position %d, %v; want 0 and no error", email, pos, err)
			}
		}
		other := e.with(e.deps)
		other.tenant = uuid.NewString()
		if res, err := other.forgot.Handle(ctx, usercmd.RequestPasswordReset{TenantID: other.tenant, Email: "customer@example.com"}); err != nil || res.Position != 0 {
			t.Errorf("another tenant's address: %v, %v; want nothing", res, err)
		}
		if h := e.head(t); h != head {
			t.Errorf("the log grew from %d to %d for addresses without an active account", head, h)
		}

		for _, bad := range []string{"", "not an address", "a@b"} {
			_, err := forgot(bad)
			expect{is: user.ErrInvalidEmail, code: domain.CodeBadInput, field: "email"}.check(t, err)
		}
	})
}

func TestResetPassword(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		e := newEnv(t, dbURL)
		ctx := context.Background()
		now := at
		clock := e.with(func() usercmd.Deps { d := e.deps; d.Now = func() time.Time { return now }; return d }())
		request := func(id, email string) string {
			t.Helper()
			if _, err := clock.forgot.Handle(ctx, usercmd.RequestPasswordReset{TenantID: e.tenant, Email: email}); err != nil {
				t.Fatal(err)
			}
			tok, _ := e.resetTokenOf(t, id)
			return tok
		}
		reset := func(h *env, token, pw string) error {
			_, err := h.reset.Handle(ctx, usercmd.ResetPassword{TenantID: e.tenant, Token: token, NewPassword: pw})
			return err
		}
		secretOf := func(tok string) string { _, s, _ := user.ParseResetToken(tok); return s }
		invalid := expect{is: user.ErrInvalidResetToken, code: domain.CodeBadInput, field: "token"}

		// A token works once, and ends every session.
		tok := request(e.customerID, "customer@example.com")
		if err := reset(clock, tok, "a fresh new password"); err != nil {
			t.Fatalf("reset: %v", err)
		}
		if got := e.revoker.take(); !slices.Equal(got, []string{"password_reset " + e.tenant + "/" + e.customerID + "  by "}) {
			t.Errorf("revocations %q, want every session of the user", got)
		}
		h, err := password.New(password.Options{Params: fast})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.Verify(ctx, "a fresh new password", e.load(t, e.customerID).PasswordHash()); err != nil {
			t.Errorf("the new password does not verify: %v", err)
		}
		invalid.check(t, reset(clock, tok, "yet another password"))

		// An expired token fails; a newer request supersedes an older one.
		tok = request(e.customerID, "customer@example.com")
		now = now.Add(user.DefaultResetTokenTTL)
		invalid.check(t, reset(clock, tok, "yet another password"))
		old := request(e.customerID, "customer@example.com")
		now = now.Add(time.Second)
		newer := request(e.customerID, "customer@example.com")
		invalid.check(t, reset(clock, old, "yet another password"))

		// Bad tokens cost no password hash: a busy hasher is never reached.
		busy := clock.with(func() usercmd.Deps { d := clock.deps; d.Hasher = busyHasher{}; return d }())
		other := e.newCustomer(t, "other@example.com")
		head := e.head(t)
		for name, bad := range map[string]string{
			"malformed":         "nonsense",
			"another user's":    user.ResetToken(other, secretOf(newer)),
			"an unknown user's": user.ResetToken(uuid.NewString(), secretOf(newer)),
			"a tampered secret": newer[:len(newer)-2] + "AA",
			"empty":             "",
		} {
			err := reset(busy, bad, "yet another password")
			if errors.Is(err, password.ErrBusy) {
				t.Errorf("%s token reached the hasher", name)
			}
			invalid.check(t, err)
		}
		// Another tenant cannot use the token either.
		if _, err := clock.reset.Handle(ctx, usercmd.ResetPassword{TenantID: uuid.NewString(), Token: newer, NewPassword: "yet another password"}); !errors.Is(err, user.ErrInvalidResetToken) {
			t.Errorf("token in another tenant: %v, want ErrInvalidResetToken", err)
		}
		// The policy holds, and a failing revocation writes nothing.
		expect{is: user.ErrPasswordTooShort, code: domain.CodeBadInput, field: "password"}.check(t, reset(clock, newer, "short"))
		expect{is: user.ErrPasswordIsEmail, code: domain.CodeBadInput, field: "password"}.check(t, reset(clock, newer, "customer@example.com"))
		e.revoker.fail = errors.New("sessions down")
		if err := reset(clock, newer, "yet another password"); !errors.Is(err, e.revoker.fail) {
			t.Errorf("reset with failing revocation: %v", err)
		}
		e.revoker.fail = nil
		if h := e.head(t); h != head {
			t.Errorf("failed resets appended events (head %d → %d)", head, h)
		}
		if err := reset(clock, newer, "yet another password"); err != nil {
			t.Errorf("the newest token, unspent: %v", err)
		}

		// A banned user's token holder learns the status, no one else.
		tok = request(other, "other@example.com")
		if _, err := e.status.Handle(ctx, usercmd.ChangeStatus{TenantID: e.tenant, Actor: e.admin, UserID: other, Status: user.StatusBanned}); err != nil {
			t.Fatal(err)
		}
		expect{is: user.ErrNotActive, code: domain.CodeUnauthenticated}.check(t, reset(clock, tok, "yet another password"))
	})
}

func TestUserChangesEndSessions(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		e := newEnv(t, dbURL)
		ctx := context.Background()
		prefix := func(reason, id string) string { return reason + " " + e.tenant + "/" + id + " " }

		sid := uuid.NewString()
		if _, err := e.chpw.Handle(ctx, usercmd.ChangePassword{TenantID: e.tenant, Actor: e.customer, CurrentPassword: seedPassword, NewPassword: "a brand new pass", SessionID: sid}); err != nil {
			t.Fatal(err)
		}
		if got := e.revoker.take(); !slices.Equal(got, []string{prefix("password_changed", e.customerID) + sid + " by " + e.customerID}) {
			t.Errorf("change password revoked %q, want all but the current session", got)
		}
		// A wrong current password ends nothing.
		if _, err := e.chpw.Handle(ctx, usercmd.ChangePassword{TenantID: e.tenant, Actor: e.customer, CurrentPassword: "wrong one!", NewPassword: "another new pass", SessionID: sid}); err == nil {
			t.Fatal("a wrong current password was accepted")
		}
		if got := e.revoker.take(); len(got) != 0 {
			t.Errorf("a refused change revoked %q", got)
		}

		id := e.newCustomer(t, "c2@example.com")
		for _, c := range []struct {
			status user.Status
			want   []string
		}{
			{user.StatusBanned, []string{prefix("user_disabled", id) + " by " + e.adminID}},
			{user.StatusBanned, nil}, // no change, nothing to end
			{user.StatusActive, nil},
			{user.StatusInactive, []string{prefix("user_disabled", id) + " by " + e.adminID}},
		} {
			if _, err := e.status.Handle(ctx, usercmd.ChangeStatus{TenantID: e.tenant, Actor: e.admin, UserID: id, Status: c.status}); err != nil {
				t.Fatal(err)
			}
			if got := e.revoker.take(); !slices.Equal(got, c.want) {
				t.Errorf("status %s revoked %q, want %q", c.status, got, c.want)
			}
		}

		// A failing revocation leaves the user as they were.
		e.revoker.fail = errors.New("sessions down")
		head := e.head(t)
		if _, err := e.del.Handle(ctx, usercmd.DeleteUser{TenantID: e.tenant, Actor: e.admin, UserID: id}); !errors.Is(err, e.revoker.fail) {
			t.Fatalf("delete with failing revocation: %v", err)
		}
		if h := e.head(t); h != head {
			t.Errorf("the failed delete appended (head %d → %d)", head, h)
		}
		e.revoker.fail = nil
		e.revoker.take()
		if _, err := e.del.Handle(ctx, usercmd.DeleteUser{TenantID: e.tenant, Actor: e.admin, UserID: id}); err != nil {
			t.Fatal(err)
		}
		if got := e.revoker.take(); !slices.Equal(got, []string{prefix("user_disabled", id) + " by " + e.adminID}) {
			t.Errorf("delete revoked %q", got)
		}
	})
}
