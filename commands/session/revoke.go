package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/rustok/rustok/commands"
	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/rbac"
	"github.com/rustok/rustok/domain/session"
	"github.com/rustok/rustok/eventstore"
)

// ErrInvalidID (BAD_USER_INPUT, field id): a session id that is not a
// lowercase UUID.
var ErrInvalidID = domain.InvalidField("id", "session id must be a UUID")

// ErrOutranked (FORBIDDEN): the session's user holds a permission the actor
// does not hold (an admin may not end a super_admin's session). It wraps
// the *rbac.DeniedError naming the permission.
var ErrOutranked = domain.Forbidden("you may not revoke a session of a user whose role holds permissions you do not hold")

// SignOut ends the session the request came from.
type SignOut struct {
	// TenantID is the tenant of the request.
	TenantID string
	// Actor is the signed-in user.
	Actor rbac.Actor
	// Meta goes into the log with the event.
	Meta eventstore.Metadata
	// SessionID is the session to end: the "sid" of the access token, or
	// ParseRefreshToken's answer for a sign-out by refresh token.
	SessionID string
}

// LogAttrs returns the tenant, the session and the request's ids.
func (c SignOut) LogAttrs() []slog.Attr { return logAttrs(c.TenantID, c.SessionID, c.Actor, c.Meta) }

type signOut struct{ deps Deps }

// NewSignOutHandler returns the handler of SignOut, decorated as
// "session.sign_out". It records session.revoked (reason sign_out); a
// session already revoked is a no-op (Result{Position: 0}), and so is an
// expired one (nothing to end).
//
// Errors: UNAUTHENTICATED for the anonymous actor, commands.ErrSelfOnly for
// an API key; ErrInvalidID; ErrNotFound for a session that is not the
// actor's (or of another tenant); a MODULE_DISABLED error;
// commands.ErrStaleVersion after one retry.
//
// It panics if d lacks Store, Modules or Now.
func NewSignOutHandler(d Deps, dec commands.Decorators) commands.Handler[SignOut] {
	d.check("NewSignOutHandler", need{})
	return commands.Decorate[SignOut]("session.sign_out", signOut{deps: d}, dec)
}

func (h signOut) Handle(ctx context.Context, cmd SignOut) (commands.Result, error) {
	actor := cmd.Actor
	res, err := commands.RetryStale(func() (commands.Result, error) {
		at := h.deps.Now()
		return pipeline(h.deps).Change(ctx, commands.Run{
			TenantID: cmd.TenantID, Actor: actor, Meta: cmd.Meta,
			Access:   commands.Access{Self: true, Owner: actor.UserID()},
			Validate: func() error { return checkID(cmd.SessionID) },
		}, cmd.SessionID, func(ctx context.Context, s *session.Session) (commands.Decision[session.Event], error) {
			if s.UserID() != actor.UserID() {
				return commands.Decision[session.Event]{}, ErrNotFound
			}
			return revokeActive(s, session.ReasonSignOut, at)
		})
	})
	if err != nil {
		return commands.Result{}, fmt.Errorf("sign out of session %s: %w", clip(cmd.SessionID), err)
	}
	return res, nil
}

// RevokeSession ends one session from the sessions list: one of the
// actor's own, or, for an actor holding users:update (admins), one of
// another user of the tenant.
type RevokeSession struct {
	// TenantID is the tenant of the request.
	TenantID string
	// Actor is the signed-in user or API key.
	Actor rbac.Actor
	// Meta goes into the log with the event.
	Meta eventstore.Metadata
	// SessionID is the session to end.
	SessionID string
}

// LogAttrs returns the tenant, the session and the request's ids.
func (c RevokeSession) LogAttrs() []slog.Attr {
	return logAttrs(c.TenantID, c.SessionID, c.Actor, c.Meta)
}

type revokeSession struct{ deps Deps }

// NewRevokeSessionHandler returns the handler of RevokeSession, decorated as
// "session.revoke". It records session.revoked (reason revoke); a revoked
// or expired session is a no-op.
//
// Who may: the session's user themself (signed in as a user), or an actor
// holding users:update (the permission of administering users; admins hold
// users:manage) who also holds every permission of the session user's role
// (rbac.CheckGrant, as commands/user's ErrOutranked), so that an admin
// cannot end a super_admin's session. The session's owner is only known
// once it is loaded: before loading, the actor must be signed in (or hold
// users:update); after, a session of another user is ErrNotFound for an
// actor without users:update, so that ids of others' sessions reveal
// nothing.
//
// Errors: UNAUTHENTICATED for the anonymous actor; a *rbac.DeniedError
// (FORBIDDEN) for an API key without users:update; ErrInvalidID;
// ErrNotFound; ErrOutranked; a MODULE_DISABLED error;
// commands.ErrStaleVersion after one retry.
//
// It panics if d lacks Store, Modules or Now.
func NewRevokeSessionHandler(d Deps, dec commands.Decorators) commands.Handler[RevokeSession] {
	d.check("NewRevokeSessionHandler", need{})
	return commands.Decorate[RevokeSession]("session.revoke", revokeSession{deps: d}, dec)
}

func (h revokeSession) Handle(ctx context.Context, cmd RevokeSession) (commands.Result, error) {
	actor := cmd.Actor
	access := commands.Access{Self: true, Owner: actor.UserID(), Permission: permManage}
	if actor.Anonymous() {
		// Self without an owner or a permission: UNAUTHENTICATED.
		access = commands.Access{Self: true}
	}
	res, err := commands.RetryStale(func() (commands.Result, error) {
		return pipeline(h.deps).Change(ctx, commands.Run{
			TenantID: cmd.TenantID, Actor: actor, Meta: cmd.Meta, Access: access,
			Validate: func() error { return checkID(cmd.SessionID) },
		}, cmd.SessionID, func(ctx context.Context, s *session.Session) (commands.Decision[session.Event], error) {
			if err := h.authorize(ctx, actor, s); err != nil {
				return commands.Decision[session.Event]{}, err
			}
			return revokeActive(s, session.ReasonRevoke, h.deps.Now())
		})
	})
	if err != nil {
		return commands.Result{}, fmt.Errorf("revoke session %s: %w", clip(cmd.SessionID), err)
	}
	return res, nil
}

// authorize checks that actor may end s, a session of their tenant.
func (h revokeSession) authorize(ctx context.Context, actor rbac.Actor, s *session.Session) error {
	own := s.UserID() == actor.UserID()
	if own && !actor.APIKey() {
		return nil
	}
	if err := commands.Authorize(actor, commands.Access{Self: true, Owner: s.UserID(), Permission: permManage}); err != nil {
		if own {
			return err
		}
		return ErrNotFound
	}
	if own {
		return nil
	}
	target, _, err := users(h.deps).Load(ctx, s.UserID())
	if err != nil {
		return fmt.Errorf("user of session %s: %w", s.ID(), err)
	}
	if err := rbac.CheckGrant(actor, rbac.RolePermissions(rbac.Role(target.Role()))); err != nil {
		return ErrOutranked.Wrap(err)
	}
	return nil
}

// RevokeAll ends every session of the actor but the one the request came
// from (DOMAIN.md: revoke-all revokes all but the current one).
type RevokeAll struct {
	// TenantID is the tenant of the request.
	TenantID string
	// Actor is the signed-in user.
	Actor rbac.Actor
	// Meta goes into the log with the events.
	Meta eventstore.Metadata
	// CurrentSessionID is the session of the request (the "sid" of the
	// access token), which is kept; empty keeps none.
	CurrentSessionID string
}

// LogAttrs returns the tenant, the current session and the request's ids.
func (c RevokeAll) LogAttrs() []slog.Attr {
	return logAttrs(c.TenantID, c.CurrentSessionID, c.Actor, c.Meta)
}

type revokeAll struct{ deps Deps }

// NewRevokeAllHandler returns the handler of RevokeAll, decorated as
// "session.revoke_all". It lists the actor's active sessions through
// Deps.Sessions and appends session.revoked (reason revoke_all) to each but
// the current one, one append per session; the result is the position of
// the last append. Only the user themself may (commands.Access.Self).
//
// Deps.Sessions is a read model: a session started a moment before, not
// yet projected, is not revoked. At most sessionqry.MaxActive sessions are
// listed (the newest).
//
// Errors: UNAUTHENTICATED for the anonymous actor, commands.ErrSelfOnly for
// an API key; a MODULE_DISABLED error; the errors of the appends, joined
// (every session is tried).
//
// It panics if d lacks Store, Modules, Sessions or Now.
func NewRevokeAllHandler(d Deps, dec commands.Decorators) commands.Handler[RevokeAll] {
	d.check("NewRevokeAllHandler", need{sessions: true})
	return commands.Decorate[RevokeAll]("session.revoke_all", revokeAll{deps: d}, dec)
}

func (h revokeAll) Handle(ctx context.Context, cmd RevokeAll) (commands.Result, error) {
	run := commands.Run{
		TenantID: cmd.TenantID, Actor: cmd.Actor, Meta: cmd.Meta,
		Access: commands.Access{Self: true, Owner: cmd.Actor.UserID()},
	}
	// Authorized here too: a user without sessions appends nothing, so the
	// pipeline would not run.
	if err := authorize(run); err != nil {
		return commands.Result{}, fmt.Errorf("revoke all sessions: %w", err)
	}
	res, err := revokeUserSessions(ctx, h.deps, run, cmd.Actor.UserID(), cmd.CurrentSessionID, session.ReasonRevokeAll)
	if err != nil {
		return res, fmt.Errorf("revoke all sessions of user %s: %w", cmd.Actor.UserID(), err)
	}
	return res, nil
}

func authorize(run commands.Run) error {
	if run.TenantID == "" {
		return commands.ErrNoTenant
	}
	return commands.Authorize(run.Actor, run.Access)
}

// Revoker ends the sessions of a user on behalf of a command that changed
// the user (commands/user: a password change or reset, a ban, a deletion).
// It checks no permission: the command that calls it has authorized the
// change. It is safe for concurrent use.
type Revoker struct{ deps Deps }

// NewRevoker returns a Revoker. It panics if d lacks Store, Modules,
// Sessions or Now.
func NewRevoker(d Deps) *Revoker {
	d.check("NewRevoker", need{sessions: true})
	return &Revoker{deps: d}
}

// UserSessions names the sessions a Revoker ends.
type UserSessions struct {
	// TenantID and UserID are the user's.
	TenantID string
	UserID   string
	// CurrentSessionID is the session kept by RevokeAllForPasswordChange
	// (the request's); the other methods ignore it.
	CurrentSessionID string
	// Meta goes into the log with the events (the triggering command's
	// actor and correlation ids).
	Meta eventstore.Metadata
}

// RevokeAllForPasswordChange ends every active session of the user but the
// current one, reason password_changed (DOMAIN.md: change-password revokes
// all but the current one). See NewRevokeAllHandler for the read model's
// limits and the errors.
func (r *Revoker) RevokeAllForPasswordChange(ctx context.Context, u UserSessions) (commands.Result, error) {
	return r.revoke(ctx, u, u.CurrentSessionID, session.ReasonPasswordChanged)
}

// RevokeAllForReset ends every active session of the user, reason
// password_reset (DOMAIN.md: reset-password revokes all).
func (r *Revoker) RevokeAllForReset(ctx context.Context, u UserSessions) (commands.Result, error) {
	return r.revoke(ctx, u, "", session.ReasonPasswordReset)
}

// RevokeAllForDisabledUser ends every active session of the user, reason
// user_disabled: the user was banned, deactivated or deleted.
func (r *Revoker) RevokeAllForDisabledUser(ctx context.Context, u UserSessions) (commands.Result, error) {
	return r.revoke(ctx, u, "", session.ReasonUserDisabled)
}

func (r *Revoker) revoke(ctx context.Context, u UserSessions, keep string, reason session.Reason) (commands.Result, error) {
	run := commands.Run{
		TenantID: u.TenantID, Actor: rbac.Anonymous(), Meta: u.Meta,
		// The calling command authorized the change (see Revoker).
		Access: commands.Access{Public: true},
	}
	if u.TenantID == "" {
		return commands.Result{}, commands.ErrNoTenant
	}
	res, err := revokeUserSessions(ctx, r.deps, run, u.UserID, keep, reason)
	if err != nil {
		return res, fmt.Errorf("revoke sessions of user %s (%s): %w", u.UserID, reason, err)
	}
	return res, nil
}

// revokeUserSessions appends a revocation for reason to every active
// session of userID but keep, one append per session, each retried once on
// a stale version, and returns the position of the last append. A session
// that expired or was revoked since it was listed is skipped. Every session
// is tried; the errors are joined.
func revokeUserSessions(ctx context.Context, d Deps, run commands.Run, userID, keep string, reason session.Reason) (commands.Result, error) {
	at := d.Now()
	views, err := d.Sessions.Active(ctx, run.TenantID, userID, at)
	if err != nil {
		return commands.Result{}, fmt.Errorf("list active sessions: %w", err)
	}
	var (
		last commands.Result
		errs []error
	)
	for _, v := range views {
		if keep != "" && v.ID == keep {
			continue
		}
		res, err := commands.RetryStale(func() (commands.Result, error) {
			return pipeline(d).Change(ctx, run, v.ID, func(ctx context.Context, s *session.Session) (commands.Decision[session.Event], error) {
				if s.UserID() != userID {
					return commands.Decision[session.Event]{}, fmt.Errorf("listed session %s belongs to user %s, not %s", s.ID(), s.UserID(), userID)
				}
				return revokeActive(s, reason, at)
			})
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("session %s: %w", v.ID, err))
			continue
		}
		last.Position = max(last.Position, res.Position)
	}
	return last, errors.Join(errs...)
}

// revokeActive revokes s for reason, or decides nothing if it is no longer
// active (revoked, or expired: nothing to end).
func revokeActive(s *session.Session, reason session.Reason, at time.Time) (commands.Decision[session.Event], error) {
	if s.CheckActive(at) != nil {
		return commands.Decision[session.Event]{}, nil
	}
	return commands.Decide(s.Revoke(reason, at))
}

// checkID returns ErrInvalidID unless id is a lowercase hyphenated UUID.
func checkID(id string) error {
	if !domain.IsUUID(id) {
		return ErrInvalidID
	}
	return nil
}

// maxLoggedInput bounds how much of a client-supplied value is quoted in an
// error.
const maxLoggedInput = 100

func clip(s string) string { return domain.Clip(s, maxLoggedInput) }
