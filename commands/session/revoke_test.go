package session_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rustok/rustok/commands"
	sessioncmd "github.com/rustok/rustok/commands/session"
	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/rbac"
	"github.com/rustok/rustok/domain/session"
	"github.com/rustok/rustok/domain/user"
	"github.com/rustok/rustok/platform/database/dbtest"
)

func TestSignOut(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		ctx := context.Background()
		uid := e.seed(t, e.tenant, "u@example.com", user.RoleCustomer)
		vid := e.seed(t, e.tenant, "v@example.com", user.RoleCustomer)
		u, v := actor(t, uid, user.RoleCustomer), actor(t, vid, user.RoleCustomer)
		one, two := e.login(t, "u@example.com", laptop), e.login(t, "u@example.com", phone)

		_, err := e.signOut.Handle(ctx, sessioncmd.SignOut{TenantID: e.tenant, Actor: v, SessionID: one.SessionID})
		wantCode(t, err, domain.CodeNotFound, sessioncmd.ErrNotFound)
		_, err = e.signOut.Handle(ctx, sessioncmd.SignOut{TenantID: e.tenant, Actor: rbac.Anonymous(), SessionID: one.SessionID})
		wantCode(t, err, domain.CodeUnauthenticated, nil)
		_, err = e.signOut.Handle(ctx, sessioncmd.SignOut{TenantID: e.tenant, Actor: u, SessionID: "nope"})
		wantCode(t, err, domain.CodeBadInput, sessioncmd.ErrInvalidID)
		_, err = e.signOut.Handle(ctx, sessioncmd.SignOut{TenantID: e.other, Actor: u, SessionID: one.SessionID})
		wantCode(t, err, domain.CodeNotFound, sessioncmd.ErrNotFound)

		res, err := e.signOut.Handle(ctx, sessioncmd.SignOut{TenantID: e.tenant, Actor: u, SessionID: one.SessionID})
		if err != nil || res.Position == 0 {
			t.Fatalf("sign out: %+v, %v", res, err)
		}
		if r := e.revokedFor(t, one.SessionID); r != session.ReasonSignOut {
			t.Errorf("revoked for %q", r)
		}
		if r := e.revokedFor(t, two.SessionID); r != "" {
			t.Errorf("the other session was revoked for %q", r)
		}
		_, err = e.doRefresh(one.RefreshToken)
		wantCode(t, err, domain.CodeUnauthenticated, session.ErrRevoked)
		// Signing out again is a no-op.
		res, err = e.signOut.Handle(ctx, sessioncmd.SignOut{TenantID: e.tenant, Actor: u, SessionID: one.SessionID})
		if err != nil || res.Position != 0 {
			t.Fatalf("sign out again: %+v, %v", res, err)
		}
	})
}

func TestRevokeSession(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		ctx := context.Background()
		uid := e.seed(t, e.tenant, "u@example.com", user.RoleCustomer)
		vid := e.seed(t, e.tenant, "v@example.com", user.RoleCustomer)
		aid := e.seed(t, e.tenant, "admin@example.com", user.RoleAdmin)
		e.seed(t, e.tenant, "root@example.com", user.RoleSuperAdmin)
		u, v, admin := actor(t, uid, user.RoleCustomer), actor(t, vid, user.RoleCustomer), actor(t, aid, user.RoleAdmin)
		revoke := func(a rbac.Actor, id string) (commands.Result, error) {
			return e.revoke.Handle(ctx, sessioncmd.RevokeSession{TenantID: e.tenant, Actor: a, SessionID: id})
		}

		own := e.login(t, "u@example.com", laptop)
		if _, err := revoke(u, own.SessionID); err != nil {
			t.Fatal(err)
		}
		if r := e.revokedFor(t, own.SessionID); r != session.ReasonRevoke {
			t.Errorf("revoked for %q", r)
		}

		another := e.login(t, "u@example.com", laptop)
		_, err := revoke(v, another.SessionID)
		wantCode(t, err, domain.CodeNotFound, sessioncmd.ErrNotFound)
		_, err = revoke(rbac.Anonymous(), another.SessionID)
		wantCode(t, err, domain.CodeUnauthenticated, nil)
		_, err = revoke(u, uuid.NewString())
		wantCode(t, err, domain.CodeNotFound, sessioncmd.ErrNotFound)
		key, err := rbac.KeyActor(uid, rbac.RoleCustomer, []rbac.Permission{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = revoke(key, another.SessionID)
		wantCode(t, err, domain.CodeForbidden, nil)
		if _, err := revoke(admin, another.SessionID); err != nil {
			t.Fatalf("admin: %v", err)
		}
		if r := e.revokedFor(t, another.SessionID); r != session.ReasonRevoke {
			t.Errorf("revoked for %q", r)
		}

		rootSession := e.login(t, "root@example.com", laptop)
		_, err = revoke(admin, rootSession.SessionID)
		wantCode(t, err, domain.CodeForbidden, sessioncmd.ErrOutranked)
		if r := e.revokedFor(t, rootSession.SessionID); r != "" {
			t.Errorf("revoked for %q", r)
		}
	})
}

func TestRevokeAll(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		ctx := context.Background()
		uid := e.seed(t, e.tenant, "u@example.com", user.RoleCustomer)
		e.seed(t, e.tenant, "v@example.com", user.RoleCustomer)
		u := actor(t, uid, user.RoleCustomer)

		short := e.deps
		short.Policy = session.Policy{Lifetime: time.Minute}
		expiring, err := sessioncmd.NewSignInHandler(short, commands.Decorators{}).Handle(ctx, sessioncmd.SignIn{
			TenantID: e.tenant, Email: "u@example.com", Password: seedPassword,
		})
		if err != nil {
			t.Fatal(err)
		}
		current := e.login(t, "u@example.com", laptop)
		others := []sessioncmd.Tokens{e.login(t, "u@example.com", phone), e.login(t, "u@example.com", laptop)}
		stranger := e.login(t, "v@example.com", laptop)
		e.project(t)
		e.clock.advance(2 * time.Minute)

		_, err = e.revokeAll.Handle(ctx, sessioncmd.RevokeAll{TenantID: e.tenant, Actor: rbac.Anonymous()})
		wantCode(t, err, domain.CodeUnauthenticated, nil)

		res, err := e.revokeAll.Handle(ctx, sessioncmd.RevokeAll{TenantID: e.tenant, Actor: u, CurrentSessionID: current.SessionID})
		if err != nil || res.Position == 0 {
			t.Fatalf("revoke all: %+v, %v", res, err)
		}
		for _, o := range others {
			if r := e.revokedFor(t, o.SessionID); r != session.ReasonRevokeAll {
				t.Errorf("session %s revoked for %q", o.SessionID, r)
			}
		}
		for _, kept := range []string{current.SessionID, stranger.SessionID, expiring.SessionID} {
			if r := e.revokedFor(t, kept); r != "" {
				t.Errorf("session %s revoked for %q", kept, r)
			}
		}
		if _, err := e.doRefresh(current.RefreshToken); err != nil {
			t.Errorf("the current session no longer refreshes: %v", err)
		}
		// Again: the read model still lists the revoked sessions until it
		// catches up; they are skipped.
		res, err = e.revokeAll.Handle(ctx, sessioncmd.RevokeAll{TenantID: e.tenant, Actor: u, CurrentSessionID: current.SessionID})
		if err != nil || res.Position != 0 {
			t.Fatalf("revoke all again: %+v, %v", res, err)
		}
	})
}

func TestRevoker(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		ctx := context.Background()
		uid := e.seed(t, e.tenant, "u@example.com", user.RoleCustomer)
		current := e.login(t, "u@example.com", laptop)
		other := e.login(t, "u@example.com", phone)
		e.project(t)
		req := sessioncmd.UserSessions{TenantID: e.tenant, UserID: uid, CurrentSessionID: current.SessionID}
		if _, err := e.revoker.RevokeAllForPasswordChange(ctx, req); err != nil {
			t.Fatal(err)
		}
		if r1, r2 := e.revokedFor(t, current.SessionID), e.revokedFor(t, other.SessionID); r1 != "" || r2 != session.ReasonPasswordChanged {
			t.Errorf("current revoked for %q, other for %q", r1, r2)
		}
		if _, err := e.revoker.RevokeAllForReset(ctx, req); err != nil {
			t.Fatal(err)
		}
		if r := e.revokedFor(t, current.SessionID); r != session.ReasonPasswordReset {
			t.Errorf("current revoked for %q", r)
		}
	})
}
