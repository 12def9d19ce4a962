package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/rustok/rustok/commands"
	"github.com/rustok/rustok/domain/rbac"
	"github.com/rustok/rustok/domain/session"
	"github.com/rustok/rustok/domain/user"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/platform/password"
)

// SignIn is a sign-in with an email and a password.
type SignIn struct {
	// TenantID is the tenant of the request.
	TenantID string
	// Actor is the caller, usually anonymous; anyone may sign in.
	Actor rbac.Actor
	// Meta goes into the log with the event.
	Meta eventstore.Metadata
	// Email is the user's email, in any case.
	Email string
	// Password is the user's password. Never logged.
	Password string
	// Client is the device signing in (IP, User-Agent), for the sessions
	// list.
	Client session.Client
}

// LogAttrs returns the tenant and the request's ids for the log line, never
// the email or the password.
func (c SignIn) LogAttrs() []slog.Attr { return logAttrs(c.TenantID, "", c.Actor, c.Meta) }

type signIn struct{ deps Deps }

// NewSignInHandler returns the handler of SignIn, decorated as
// "session.sign_in". It finds the user through the event store (the email
// reservation user.EmailScope of the tenant, then the user's stream, never
// a read model: a user who just signed up can sign in at once), verifies
// the password, checks that the user may sign in, starts a session
// (session.started) with a new refresh token and issues an access token.
//
// An unknown email costs a dummy password verification, as much as a wrong
// password, and both answer ErrInvalidCredentials; so do a malformed email,
// a password over the hasher's limit and a deleted user. A user who is not
// active gets the UNAUTHENTICATED error of user.User.CanSignIn, naming the
// status, only after the password was verified.
//
// Errors: ErrInvalidCredentials; an error wrapping user.ErrNotActive
// (UNAUTHENTICATED); a MODULE_DISABLED error; ErrBusy. On any error nothing
// is written.
//
// It panics if d lacks Store, Modules, Hasher, Tokens, RefreshKey, NewID or
// Now, or has an invalid Policy.
func NewSignInHandler(d Deps, dec commands.Decorators) TokenHandler[SignIn] {
	d.check("NewSignInHandler", need{hasher: true, tokens: true, key: true, id: true})
	return tokenHandler[SignIn]{next: commands.Decorate[call[SignIn]]("session.sign_in", signIn{deps: d}, dec)}
}

func (h signIn) Handle(ctx context.Context, c call[SignIn]) (commands.Result, error) {
	cmd, d := c.cmd, h.deps
	id, err := d.NewID()
	if err != nil {
		return commands.Result{}, fmt.Errorf("sign in: new session id: %w", err)
	}
	at := d.Now()
	var (
		u       *user.User
		started *session.Session
		rt      refreshToken
	)
	res, err := pipeline(d).Create(ctx, commands.Run{
		TenantID: cmd.TenantID, Actor: cmd.Actor, Meta: cmd.Meta,
		Access: commands.Access{Public: true},
	}, id, func(ctx context.Context) (commands.Decision[session.Event], error) {
		if u, err = h.authenticate(ctx, cmd); err != nil {
			return commands.Decision[session.Event]{}, err
		}
		if rt, err = newRefreshToken(id); err != nil {
			return commands.Decision[session.Event]{}, err
		}
		s, events, err := session.Start(id, cmd.TenantID, u.ID(), rt.hash(), cmd.Client, at, d.Policy)
		started = s
		return commands.Decide(events, err)
	})
	if err != nil {
		return commands.Result{}, fmt.Errorf("sign in: %w", err)
	}
	out, err := tokens(d, u, started, rt.String(), res.Position)
	if err != nil {
		return commands.Result{}, fmt.Errorf("sign in: %w", err)
	}
	*c.out = out
	return res, nil
}

// authenticate returns the user of the tenant with cmd's email if cmd's
// password is theirs and they may sign in.
//
// TODO(identity): Verify's rehash=true (a hash with old parameters) should
// record user.password_changed with a new hash; that is a user command
// (commands/user), not this one.
func (h signIn) authenticate(ctx context.Context, cmd SignIn) (*user.User, error) {
	d := h.deps
	reservation, err := user.EmailReservation(cmd.TenantID, cmd.Email)
	switch {
	case errors.Is(err, user.ErrInvalidTenant):
		return nil, fmt.Errorf("tenant %q: %w", cmd.TenantID, err)
	case err != nil:
		// A malformed email cannot belong to anyone: answering it fast
		// reveals nothing the client does not know.
		return nil, ErrInvalidCredentials.Wrap(err)
	}
	holder, found, err := d.Store.ReservationHolder(ctx, user.EmailScope, reservation)
	if err != nil {
		return nil, fmt.Errorf("find user by email: %w", err)
	}
	if !found {
		return nil, h.dummy(ctx, cmd.Password)
	}
	u, _, err := users(d).Load(ctx, holder)
	switch {
	case errors.Is(err, errUserGone):
		return nil, h.dummy(ctx, cmd.Password)
	case err != nil:
		return nil, err
	case u.TenantID() != cmd.TenantID:
		return nil, fmt.Errorf("email reservation of tenant %s held by user %s of tenant %s", cmd.TenantID, u.ID(), u.TenantID())
	}
	if _, err := d.Hasher.Verify(ctx, cmd.Password, u.PasswordHash()); err != nil {
		if errors.Is(err, password.ErrMismatch) || errors.Is(err, password.ErrTooLong) {
			return nil, ErrInvalidCredentials.Wrap(err)
		}
		return nil, hasherError(err)
	}
	if u.Deleted() {
		// Deleting a user releases the email, so this is a race with the
		// deletion: the user is as unknown as any.
		return nil, ErrInvalidCredentials.Wrap(user.ErrDeleted)
	}
	if err := u.CanSignIn(); err != nil {
		return nil, err
	}
	return u, nil
}

// dummy runs the hasher for an unknown email and returns what a wrong
// password returns.
func (h signIn) dummy(ctx context.Context, pw string) error {
	err := h.deps.Hasher.VerifyDummy(ctx, pw)
	switch {
	case err == nil:
		// VerifyDummy never matches; refuse all the same.
		return ErrInvalidCredentials
	case errors.Is(err, password.ErrMismatch) || errors.Is(err, password.ErrTooLong):
		return ErrInvalidCredentials.Wrap(err)
	}
	return hasherError(err)
}
