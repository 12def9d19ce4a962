package session_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	sessioncmd "github.com/rustok/rustok/commands/session"
	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/rbac"
	"github.com/rustok/rustok/domain/user"
	"github.com/rustok/rustok/platform/database"
	"github.com/rustok/rustok/platform/database/dbtest"
	"github.com/rustok/rustok/platform/token"
)

func sha(s string) string { sum := sha256.Sum256([]byte(s)); return hex.EncodeToString(sum[:]) }

func TestSignIn(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		ctx := context.Background()
		adminID := e.seed(t, e.tenant, "admin@example.com", user.RoleAdmin)

		t.Run("ok", func(t *testing.T) {
			out, err := e.signIn.Handle(ctx, sessioncmd.SignIn{
				TenantID: e.tenant, Actor: rbac.Anonymous(), Email: " Admin@Example.COM ", Password: seedPassword, Client: laptop,
			})
			if err != nil {
				t.Fatal(err)
			}
			if out.TokenType != "Bearer" || out.ExpiresIn != 900 || out.Position == 0 {
				t.Errorf("tokens = %+v", out)
			}
			want := sessioncmd.UserView{ID: adminID, TenantID: e.tenant, Email: "admin@example.com", Name: "N", Role: user.RoleAdmin, Status: user.StatusActive}
			if out.User != want {
				t.Errorf("user = %+v, want %+v", out.User, want)
			}
			claims, err := e.tokens.Verify(out.AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			if g := (token.Grant{UserID: adminID, TenantID: e.tenant, SessionID: out.SessionID, Role: token.RoleAdmin}); claims.Grant != g {
				t.Errorf("claims = %+v, want %+v", claims.Grant, g)
			}
			sid, err := sessioncmd.ParseRefreshToken(out.RefreshToken)
			if err != nil || sid != out.SessionID || len(out.RefreshToken) != sessioncmd.RefreshTokenLength {
				t.Errorf("refresh token %q: session %q, %v", out.RefreshToken, sid, err)
			}
			s := e.load(t, out.SessionID)
			if s.TokenHash() != sha(out.RefreshToken) || s.UserID() != adminID || s.TenantID() != e.tenant ||
				s.Client() != laptop || !s.ExpiresAt().Equal(t0.Add(policy.Lifetime)) || !out.SessionExpiresAt.Equal(s.ExpiresAt()) {
				t.Errorf("session = %+v", s)
			}
			if strings.Contains(s.TokenHash(), out.RefreshToken[37:]) {
				t.Error("the session stores the secret")
			}
		})

		// refused signs in with email/pw and checks the answer is the one
		// error, whether the dummy verification ran, and that nothing was
		// written.
		refused := func(t *testing.T, tenant, email, pw string, wantDummy bool, target error) error {
			t.Helper()
			head, _ := e.store.Head(ctx)
			dummies := e.hasher.dummy.Load()
			_, err := e.signIn.Handle(ctx, sessioncmd.SignIn{TenantID: tenant, Actor: rbac.Anonymous(), Email: email, Password: pw, Client: laptop})
			wantCode(t, err, domain.CodeUnauthenticated, target)
			if got := e.hasher.dummy.Load() - dummies; (got == 1) != wantDummy {
				t.Errorf("VerifyDummy calls = %d, want dummy %v", got, wantDummy)
			}
			if h, _ := e.store.Head(ctx); h != head {
				t.Errorf("head moved from %d to %d", head, h)
			}
			return err
		}
		wrong := refused(t, e.tenant, "admin@example.com", "wrong password!", false, sessioncmd.ErrInvalidCredentials)
		unknown := refused(t, e.tenant, "nobody@example.com", seedPassword, true, sessioncmd.ErrInvalidCredentials)
		if domain.MessageOf(wrong) != "invalid email or password" || domain.MessageOf(unknown) != domain.MessageOf(wrong) {
			t.Errorf("messages %q and %q differ", domain.MessageOf(wrong), domain.MessageOf(unknown))
		}
		t.Run("malformed email", func(t *testing.T) {
			refused(t, e.tenant, "not an email", seedPassword, false, sessioncmd.ErrInvalidCredentials)
		})
		t.Run("password over the hasher's limit", func(t *testing.T) {
			refused(t, e.tenant, "admin@example.com", strings.Repeat("x", 2000), false, sessioncmd.ErrInvalidCredentials)
			refused(t, e.tenant, "nobody@example.com", strings.Repeat("x", 2000), true, sessioncmd.ErrInvalidCredentials)
		})
		t.Run("another tenant's user", func(t *testing.T) {
			e.seed(t, e.other, "elsewhere@example.com", user.RoleCustomer)
			refused(t, e.tenant, "elsewhere@example.com", seedPassword, true, sessioncmd.ErrInvalidCredentials)
		})
		for _, status := range []user.Status{user.StatusInactive, user.StatusBanned} {
			t.Run(string(status), func(t *testing.T) {
				email := string(status) + "@example.com"
				id := e.seed(t, e.tenant, email, user.RoleCustomer)
				e.setStatus(t, id, status)
				err := refused(t, e.tenant, email, seedPassword, false, user.ErrNotActive)
				if !strings.Contains(domain.MessageOf(err), string(status)) {
					t.Errorf("message %q does not name the status", domain.MessageOf(err))
				}
				// A wrong password does not reveal the status.
				refused(t, e.tenant, email, "wrong password!", false, sessioncmd.ErrInvalidCredentials)
			})
		}
		t.Run("deleted", func(t *testing.T) {
			id := e.seed(t, e.tenant, "gone@example.com", user.RoleCustomer)
			e.deleteUser(t, id)
			refused(t, e.tenant, "gone@example.com", seedPassword, true, sessioncmd.ErrInvalidCredentials)
		})
		t.Run("signing up and signing in at once", func(t *testing.T) {
			// The event store path has no read-your-writes lag.
			e.seed(t, e.tenant, "fresh@example.com", user.RoleCustomer)
			e.login(t, "fresh@example.com", phone)
		})
	})
}

func TestSignInBusyHasher(t *testing.T) {
	t.Parallel()
	e := newEnv(t, dbtest.URL(t, database.SQLite))
	d := e.deps
	d.Hasher = busyHasher{}
	h := sessioncmd.NewSignInHandler(d, commandsDecorators())
	e.seed(t, e.tenant, "a@example.com", user.RoleCustomer)
	for _, email := range []string{"a@example.com", "unknown@example.com"} {
		_, err := h.Handle(context.Background(), sessioncmd.SignIn{TenantID: e.tenant, Email: email, Password: seedPassword})
		wantCode(t, err, domain.CodeRateLimited, sessioncmd.ErrBusy)
	}
}

type busyHasher struct{}

func (busyHasher) Verify(context.Context, string, string) (bool, error) { return false, errBusy }
func (busyHasher) VerifyDummy(context.Context, string) error            { return errBusy }

var errBusy = errors.Join(passwordErrBusy, context.DeadlineExceeded)
