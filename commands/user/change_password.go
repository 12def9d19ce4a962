package user

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/rustok/rustok/commands"
	"github.com/rustok/rustok/domain/rbac"
	"github.com/rustok/rustok/domain/user"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/platform/password"
)

// ChangePassword is a signed-in user changing their own password. The user
// is the actor: there is no user id to give.
type ChangePassword struct {
	// TenantID is the tenant of the request.
	TenantID string
	// Actor is the signed-in user (not an API key).
	Actor rbac.Actor
	// Meta goes into the log with the event.
	Meta eventstore.Metadata
	// CurrentPassword must match the user's password.
	CurrentPassword string
	// NewPassword must pass Deps.Policy.
	NewPassword string
	// SessionID is the session of the request (the access token's "sid"),
	// which stays signed in; every other session of the user is ended.
	SessionID string
}

// LogAttrs returns the tenant and the actor's ids for the log line, never a
// password.
func (c ChangePassword) LogAttrs() []slog.Attr {
	return logAttrs(c.TenantID, c.Actor.UserID(), c.Actor, c.Meta)
}

type changePassword struct{ deps Deps }

// NewChangePasswordHandler returns the handler of ChangePassword, decorated
// as "user.change_password". It checks the new password against the policy
// (with the user's email), verifies the current one, and records
// user.password_changed (reason change) with the new hash, which also ends
// any pending password reset. It is never a no-op.
//
// Only the user themself may change their password (commands.Access.Self),
// and only while active.
//
// Errors: the policy errors (user.ErrPasswordTooShort,
// user.ErrPasswordTooLong, user.ErrPasswordIsEmail,
// user.ErrPasswordEncoding); UNAUTHENTICATED for the anonymous actor and
// commands.ErrSelfOnly for an API key; a MODULE_DISABLED error; ErrNotFound;
// user.ErrDeleted; user.ErrNotActive; ErrWrongPassword; ErrBusy;
// commands.ErrStaleVersion. On any error nothing is written.
//
// Every session of the user but cmd.SessionID is ended (Deps.Sessions,
// reason password_changed) once every check passed, before the change is
// recorded (DOMAIN.md: change-password revokes all but the current one).
//
// It panics if d lacks Store, Modules, Hasher, Sessions or Now.
func NewChangePasswordHandler(d Deps, dec commands.Decorators) commands.Handler[ChangePassword] {
	d.check("NewChangePasswordHandler", need{hasher: true, sessions: true})
	return commands.Decorate[ChangePassword]("user.change_password", changePassword{deps: d}, dec)
}

func (h changePassword) Handle(ctx context.Context, cmd ChangePassword) (commands.Result, error) {
	at := h.deps.Now()
	id := cmd.Actor.UserID()
	res, err := change(ctx, h.deps, commands.Run{
		TenantID: cmd.TenantID, Actor: cmd.Actor, Meta: cmd.Meta,
		Access: commands.Access{Self: true, Owner: id},
		// The rules that need no email, before anything is loaded.
		Validate: func() error { return h.deps.Policy.Check(cmd.NewPassword, "") },
	}, id, func(ctx context.Context, u *user.User) (commands.Decision[user.Event], error) {
		if err := u.CanSignIn(); err != nil {
			return commands.Decision[user.Event]{}, err
		}
		if err := h.deps.Policy.Check(cmd.NewPassword, u.Email()); err != nil {
			return commands.Decision[user.Event]{}, err
		}
		if _, err := h.deps.Hasher.Verify(ctx, cmd.CurrentPassword, u.PasswordHash()); err != nil {
			if errors.Is(err, password.ErrMismatch) || errors.Is(err, password.ErrTooLong) {
				return commands.Decision[user.Event]{}, ErrWrongPassword.Wrap(err)
			}
			return commands.Decision[user.Event]{}, hasherError("verify current password", err)
		}
		pwHash, err := hash(ctx, h.deps.Hasher, cmd.NewPassword)
		if err != nil {
			return commands.Decision[user.Event]{}, err
		}
		events, err := u.ChangePassword(pwHash, at)
		if err == nil {
			err = h.deps.Sessions.RevokeForPasswordChange(ctx, cmd.TenantID, id, cmd.SessionID, actorMeta(cmd.Actor, cmd.Meta))
		}
		return commands.Decide(events, err)
	})
	if err != nil {
		return commands.Result{}, fmt.Errorf("change password of user %s: %w", id, err)
	}
	return res, nil
}
