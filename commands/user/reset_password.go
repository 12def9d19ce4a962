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
)

// RequestPasswordReset is "forgot password": anyone may ask for a reset
// link to be mailed to an address.
type RequestPasswordReset struct {
	// TenantID is the tenant of the request.
	TenantID string
	// Actor is whoever asks, usually anonymous.
	Actor rbac.Actor
	// Meta goes into the log with the event.
	Meta eventstore.Metadata
	// Email is the address of the account.
	Email string
}

// LogAttrs returns the tenant and the request's ids, never the email (it
// would tell the log reader which addresses were tried).
func (c RequestPasswordReset) LogAttrs() []slog.Attr {
	return logAttrs(c.TenantID, "", c.Actor, c.Meta)
}

type requestPasswordReset struct{ deps Deps }

// NewRequestPasswordResetHandler returns the handler of
// RequestPasswordReset, decorated as "user.request_password_reset". When
// the tenant has an active user with the email, it records
// user.password_reset_requested with the hash and expiry of a new token
// derived from Deps.ResetKey (user.ResetSecret); the mail reactor derives
// the same token from the event and mails the link. Otherwise — no such
// user, a deleted, inactive or banned one — it records nothing and answers
// the same (Result{Position: 0}, nil): the caller must give every outcome
// the same answer, and should not tell the position to the client either.
//
// Errors: user.ErrInvalidEmail for an address that is not one (this tells
// nothing about accounts); a MODULE_DISABLED error;
// commands.ErrStaleVersion after one retry. On any error nothing is
// written.
//
// It panics if d lacks Store, Modules, Now or a ResetKey.
func NewRequestPasswordResetHandler(d Deps, dec commands.Decorators) commands.Handler[RequestPasswordReset] {
	d.check("NewRequestPasswordResetHandler", need{resetKey: true})
	return commands.Decorate[RequestPasswordReset]("user.request_password_reset", requestPasswordReset{deps: d}, dec)
}

func (h requestPasswordReset) Handle(ctx context.Context, cmd RequestPasswordReset) (commands.Result, error) {
	email, err := user.NormalizeEmail(cmd.Email)
	if err != nil {
		return commands.Result{}, err
	}
	if cmd.TenantID == "" {
		return commands.Result{}, commands.ErrNoTenant
	}
	id, found, err := h.deps.Store.ReservationHolder(ctx, user.EmailScope, cmd.TenantID+"/"+email)
	if err != nil {
		return commands.Result{}, fmt.Errorf("request password reset: look up email: %w", err)
	}
	if !found {
		return commands.Result{}, nil
	}
	ttl := h.deps.ResetTTL
	if ttl == 0 {
		ttl = user.DefaultResetTokenTTL
	}
	var res commands.Result
	for attempt := 0; ; attempt++ {
		at := h.deps.Now().UTC()
		res, err = pipeline(h.deps).Change(ctx, commands.Run{
			TenantID: cmd.TenantID, Actor: cmd.Actor, Meta: cmd.Meta,
			Access: commands.Access{Public: true},
		}, id, func(_ context.Context, u *user.User) (commands.Decision[user.Event], error) {
			hash := user.ResetTokenHash(user.ResetSecret(h.deps.ResetKey, cmd.TenantID, u.ID(), at))
			events, err := u.RequestPasswordReset(hash, at.Add(ttl), at)
			if err != nil {
				// Deleted, inactive or banned: the same answer as an
				// unknown address.
				return commands.Decision[user.Event]{}, nil
			}
			return commands.Decide(events, nil)
		})
		if errors.Is(err, commands.ErrStaleVersion) && attempt == 0 {
			continue
		}
		break
	}
	if errors.Is(err, ErrNotFound) {
		// The reservation pointed at a stream that is gone (released
		// since): nothing to reset.
		return commands.Result{}, nil
	}
	if err != nil {
		return commands.Result{}, fmt.Errorf("request password reset: %w", err)
	}
	return res, nil
}

// ResetPassword sets a new password with the token of a reset link.
type ResetPassword struct {
	// TenantID is the tenant of the request.
	TenantID string
	// Actor is whoever presents the token, usually anonymous.
	Actor rbac.Actor
	// Meta goes into the log with the events.
	Meta eventstore.Metadata
	// Token is the token of the link (user.ResetToken).
	Token string
	// NewPassword must pass Deps.Policy.
	NewPassword string
}

// LogAttrs returns the tenant and the request's ids, never the token or
// the password.
func (c ResetPassword) LogAttrs() []slog.Attr { return logAttrs(c.TenantID, "", c.Actor, c.Meta) }

type resetPassword struct{ deps Deps }

// NewResetPasswordHandler returns the handler of ResetPassword, decorated
// as "user.reset_password". It checks the token against the user's pending
// reset (the latest one, before its expiry) before it hashes anything,
// then the policy, ends every session of the user (Deps.Sessions, reason
// password_reset) and records user.password_changed (reason reset), after
// which the token is spent.
//
// Errors: user.ErrInvalidResetToken for a malformed, unknown, spent,
// superseded or expired token and for a user of another tenant or deleted
// (one answer for all); then, for the token's holder, the error of
// user.User.CanSignIn for an inactive or banned user; the policy errors;
// ErrBusy; a MODULE_DISABLED error; commands.ErrStaleVersion. On any error
// the password is unchanged.
//
// It panics if d lacks Store, Modules, Hasher, Sessions, Now or a
// ResetKey.
func NewResetPasswordHandler(d Deps, dec commands.Decorators) commands.Handler[ResetPassword] {
	d.check("NewResetPasswordHandler", need{hasher: true, sessions: true, resetKey: true})
	return commands.Decorate[ResetPassword]("user.reset_password", resetPassword{deps: d}, dec)
}

func (h resetPassword) Handle(ctx context.Context, cmd ResetPassword) (commands.Result, error) {
	at := h.deps.Now()
	id, secret, err := user.ParseResetToken(cmd.Token)
	if err != nil {
		return commands.Result{}, err
	}
	tokenHash := user.ResetTokenHash(secret)
	res, err := pipeline(h.deps).Change(ctx, commands.Run{
		TenantID: cmd.TenantID, Actor: cmd.Actor, Meta: cmd.Meta,
		Access:   commands.Access{Public: true},
		Validate: func() error { return h.deps.Policy.Check(cmd.NewPassword, "") },
	}, id, func(ctx context.Context, u *user.User) (commands.Decision[user.Event], error) {
		if err := u.CheckResetToken(tokenHash, at); err != nil {
			return commands.Decision[user.Event]{}, err
		}
		if err := h.deps.Policy.Check(cmd.NewPassword, u.Email()); err != nil {
			return commands.Decision[user.Event]{}, err
		}
		pwHash, err := hash(ctx, h.deps.Hasher, cmd.NewPassword)
		if err != nil {
			return commands.Decision[user.Event]{}, err
		}
		events, err := u.ResetPassword(tokenHash, pwHash, at)
		if err == nil {
			err = h.deps.Sessions.RevokeForReset(ctx, cmd.TenantID, u.ID(), cmd.Meta)
		}
		return commands.Decide(events, err)
	})
	if errors.Is(err, ErrNotFound) || errors.Is(err, user.ErrDeleted) {
		err = user.ErrInvalidResetToken.Wrap(err)
	}
	if err != nil {
		return commands.Result{}, fmt.Errorf("reset password: %w", err)
	}
	return res, nil
}
