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

// ChangeRole gives a user another role.
type ChangeRole struct {
	// TenantID is the tenant of the request.
	TenantID string
	// Actor must hold users:update and pass rbac.CheckAssignRole for Role.
	Actor rbac.Actor
	// Meta goes into the log with the event.
	Meta eventstore.Metadata
	// UserID is the user to change.
	UserID string
	// Role is the new role.
	Role user.Role
}

// LogAttrs returns the tenant, the user, the role and the actor's ids for
// the log line.
func (c ChangeRole) LogAttrs() []slog.Attr {
	return append(logAttrs(c.TenantID, c.UserID, c.Actor, c.Meta), slog.String("role", clip(string(c.Role))))
}

type changeRole struct{ deps Deps }

// NewChangeRoleHandler returns the handler of ChangeRole, decorated as
// "user.change_role". It records user.role_changed, or nothing (position 0)
// when the user already has the role. The actor must be able to assign the
// new role (rbac.CheckAssignRole: an admin cannot make a super_admin) and to
// grant every permission of the current one (ErrOutranked: an admin cannot
// demote a super_admin).
//
// Errors: user.ErrInvalidID, user.ErrInvalidRole; a *rbac.DeniedError naming
// users:update or the permission the actor cannot grant; a MODULE_DISABLED
// error; ErrNotFound; user.ErrDeleted; ErrOutranked;
// commands.ErrStaleVersion. On any error nothing is written.
//
// Revoking or refreshing the user's sessions, whose access tokens carry the
// old role until they expire, is the session module's follow-up.
//
// It panics if d lacks Store, Modules or Now.
func NewChangeRoleHandler(d Deps, dec commands.Decorators) commands.Handler[ChangeRole] {
	d.check("NewChangeRoleHandler", need{})
	return commands.Decorate[ChangeRole]("user.change_role", changeRole{deps: d}, dec)
}

func (h changeRole) Handle(ctx context.Context, cmd ChangeRole) (commands.Result, error) {
	at := h.deps.Now()
	res, err := change(ctx, h.deps, commands.Run{
		TenantID: cmd.TenantID, Actor: cmd.Actor, Meta: cmd.Meta,
		Access: commands.Access{Permission: permUpdate, Owner: cmd.UserID, AssignRole: rbac.Role(cmd.Role)},
		Validate: func() error {
			if err := checkID(cmd.UserID); err != nil {
				return err
			}
			if !cmd.Role.Valid() {
				return user.ErrInvalidRole
			}
			return nil
		},
	}, cmd.UserID, func(_ context.Context, u *user.User) (commands.Decision[user.Event], error) {
		return commands.Decide(u.ChangeRole(cmd.Role, at))
	})
	if err != nil {
		return commands.Result{}, fmt.Errorf("change role of user %s: %w", clip(cmd.UserID), err)
	}
	return res, nil
}
