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

// UpdateUser changes a user's name and email in one version-checked append.
type UpdateUser struct {
	// TenantID is the tenant of the request.
	TenantID string
	// Actor is the user themself (their own profile), or holds users:update.
	Actor rbac.Actor
	// Meta goes into the log with the events.
	Meta eventstore.Metadata
	// UserID is the user to change.
	UserID string
	// Name, when not nil, is the new name.
	Name *string
	// Email, when not nil, is the new email, unique in the tenant ignoring
	// case; a changed email is no longer verified.
	Email *string
}

// LogAttrs returns the tenant, the user and the actor's ids for the log line.
func (c UpdateUser) LogAttrs() []slog.Attr { return logAttrs(c.TenantID, c.UserID, c.Actor, c.Meta) }

type updateUser struct{ deps Deps }

// NewUpdateUserHandler returns the handler of UpdateUser, decorated as
// "user.update". It records user.updated when the name changes and again
// when the email changes; a new email moves the email reservation (the old
// one released, the new one reserved) in the same append. Unchanged values
// record nothing; if nothing changes the result's position is 0.
//
// A user may update their own profile without users:update ("own" scope:
// commands.Access.Self); anyone else needs users:update and must hold every
// permission of the user's role (ErrOutranked).
//
// Errors: user.ErrInvalidID, user.ErrInvalidName, user.ErrInvalidEmail; a
// *rbac.DeniedError naming users:update; a MODULE_DISABLED error;
// ErrNotFound; user.ErrDeleted; ErrOutranked; a CONFLICT on the field email
// when the email is another user's; commands.ErrStaleVersion. On any error
// nothing is written.
//
// It panics if d lacks Store, Modules or Now.
func NewUpdateUserHandler(d Deps, dec commands.Decorators) commands.Handler[UpdateUser] {
	d.check("NewUpdateUserHandler", need{})
	return commands.Decorate[UpdateUser]("user.update", updateUser{deps: d}, dec)
}

func (h updateUser) Handle(ctx context.Context, cmd UpdateUser) (commands.Result, error) {
	at := h.deps.Now()
	res, err := change(ctx, h.deps, commands.Run{
		TenantID: cmd.TenantID, Actor: cmd.Actor, Meta: cmd.Meta,
		Access: commands.Access{Permission: permUpdate, Owner: cmd.UserID, Self: true},
		Validate: func() error {
			if err := checkID(cmd.UserID); err != nil {
				return err
			}
			if cmd.Email != nil {
				if _, err := user.NormalizeEmail(*cmd.Email); err != nil {
					return err
				}
			}
			return nil
		},
	}, cmd.UserID, func(_ context.Context, u *user.User) (commands.Decision[user.Event], error) {
		var (
			events []user.Event
			opts   []eventstore.AppendOption
		)
		if cmd.Name != nil {
			e, err := u.Rename(*cmd.Name, at)
			if err != nil {
				return commands.Decision[user.Event]{}, err
			}
			events = append(events, e...)
		}
		if cmd.Email != nil {
			old := u.EmailReservation()
			e, err := u.ChangeEmail(*cmd.Email, at)
			if err != nil {
				return commands.Decision[user.Event]{}, err
			}
			if len(e) > 0 {
				opts = append(opts, eventstore.Release(user.EmailScope, old), eventstore.Reserve(user.EmailScope, u.EmailReservation()))
			}
			events = append(events, e...)
		}
		return commands.Decide(events, nil, opts...)
	})
	if err != nil {
		return commands.Result{}, fmt.Errorf("update user %s: %w", clip(cmd.UserID), err)
	}
	return res, nil
}
