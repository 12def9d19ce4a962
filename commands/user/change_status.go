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

// ChangeStatus disables (inactive), enables (active) or bans a user.
type ChangeStatus struct {
	// TenantID is the tenant of the request.
	TenantID string
	// Actor must hold users:update.
	Actor rbac.Actor
	// Meta goes into the log with the event.
	Meta eventstore.Metadata
	// UserID is the user to change.
	UserID string
	// Status is the new status.
	Status user.Status
}

// LogAttrs returns the tenant, the user, the status and the actor's ids for
// the log line.
func (c ChangeStatus) LogAttrs() []slog.Attr {
	return append(logAttrs(c.TenantID, c.UserID, c.Actor, c.Meta), slog.String("status", clip(string(c.Status))))
}

type changeStatus struct{ deps Deps }

// NewChangeStatusHandler returns the handler of ChangeStatus, decorated as
// "user.change_status". It records user.status_changed, or nothing
// (position 0) when the user already has the status. The actor must hold
// every permission of the user's role (ErrOutranked).
//
// Errors: user.ErrInvalidID, user.ErrInvalidStatus; a *rbac.DeniedError
// naming users:update; a MODULE_DISABLED error; ErrNotFound;
// user.ErrDeleted; ErrOutranked; commands.ErrStaleVersion. On any error
// nothing is written.
//
// When the new status is not active, the user's sessions are ended
// (Deps.Sessions, reason user_disabled) once every check passed, before the
// change is recorded; a token of theirs is refused from the next request
// on anyway, as the per-request check reads the user's status.
//
// It panics if d lacks Store, Modules, Sessions or Now.
func NewChangeStatusHandler(d Deps, dec commands.Decorators) commands.Handler[ChangeStatus] {
	d.check("NewChangeStatusHandler", need{sessions: true})
	return commands.Decorate[ChangeStatus]("user.change_status", changeStatus{deps: d}, dec)
}

func (h changeStatus) Handle(ctx context.Context, cmd ChangeStatus) (commands.Result, error) {
	at := h.deps.Now()
	res, err := change(ctx, h.deps, commands.Run{
		TenantID: cmd.TenantID, Actor: cmd.Actor, Meta: cmd.Meta,
		Access: commands.Access{Permission: permUpdate, Owner: cmd.UserID},
		Validate: func() error {
			if err := checkID(cmd.UserID); err != nil {
				return err
			}
			if !cmd.Status.Valid() {
				return user.ErrInvalidStatus
			}
			return nil
		},
	}, cmd.UserID, func(ctx context.Context, u *user.User) (commands.Decision[user.Event], error) {
		events, err := u.ChangeStatus(cmd.Status, at)
		if err == nil && len(events) > 0 && cmd.Status != user.StatusActive {
			err = h.deps.Sessions.RevokeForDisabledUser(ctx, cmd.TenantID, u.ID(), actorMeta(cmd.Actor, cmd.Meta))
		}
		return commands.Decide(events, err)
	})
	if err != nil {
		return commands.Result{}, fmt.Errorf("change status of user %s: %w", clip(cmd.UserID), err)
	}
	return res, nil
}
