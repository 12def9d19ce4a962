package user

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/rustok/rustok/commands"
	"github.com/rustok/rustok/domain/rbac"
	"github.com/rustok/rustok/domain/user"
	"github.com/rustok/rustok/eventstore"
)

// DeleteUser deletes a user.
type DeleteUser struct {
	// TenantID is the tenant of the request.
	TenantID string
	// Actor must hold users:delete.
	Actor rbac.Actor
	// Meta goes into the log with the event.
	Meta eventstore.Metadata
	// UserID is the user to delete.
	UserID string
}

// LogAttrs returns the tenant, the user and the actor's ids for the log line.
func (c DeleteUser) LogAttrs() []slog.Attr { return logAttrs(c.TenantID, c.UserID, c.Actor, c.Meta) }

type deleteUser struct{ deps Deps }

// NewDeleteUserHandler returns the handler of DeleteUser, decorated as
// "user.delete". It records user.deleted and releases the user's email in
// the same append, so that the address can sign up again. The actor must
// hold every permission of the user's role (ErrOutranked).
//
// Errors: user.ErrInvalidID; a *rbac.DeniedError naming users:delete; a
// MODULE_DISABLED error; ErrNotFound; user.ErrDeleted (NOT_FOUND) for a
// user already deleted; ErrOutranked; commands.ErrStaleVersion. On any error
// nothing is written.
//
// The user's sessions are ended (Deps.Sessions, reason user_disabled) once
// every check passed, before the deletion is recorded.
//
// It panics if d lacks Store, Modules, Sessions or Now.
func NewDeleteUserHandler(d Deps, dec commands.Decorators) commands.Handler[DeleteUser] {
	d.check("NewDeleteUserHandler", need{sessions: true})
	return commands.Decorate[DeleteUser]("user.delete", deleteUser{deps: d}, dec)
}

func (h deleteUser) Handle(ctx context.Context, cmd DeleteUser) (commands.Result, error) {
	at := h.deps.Now()
	res, err := change(ctx, h.deps, commands.Run{
		TenantID: cmd.TenantID, Actor: cmd.Actor, Meta: cmd.Meta,
		Access:   commands.Access{Permission: permDelete, Owner: cmd.UserID},
		Validate: func() error { return checkID(cmd.UserID) },
	}, cmd.UserID, func(ctx context.Context, u *user.User) (commands.Decision[user.Event], error) {
		email := u.EmailReservation()
		events, err := u.Delete(at)
		if err == nil {
			err = h.deps.Sessions.RevokeForDisabledUser(ctx, cmd.TenantID, u.ID(), actorMeta(cmd.Actor, cmd.Meta))
		}
		return commands.Decide(events, err, eventstore.Release(user.EmailScope, email))
	})
	if err != nil {
		return commands.Result{}, fmt.Errorf("delete user %s: %w", clip(cmd.UserID), err)
	}
	return res, nil
}
