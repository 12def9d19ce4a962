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

// CreateUser is an administrator creating a user of their tenant.
type CreateUser struct {
	// TenantID is the tenant of the request.
	TenantID string
	// Actor must hold users:create, and may give Role only if
	// rbac.CheckAssignRole allows it.
	Actor rbac.Actor
	// Meta goes into the log with the event.
	Meta eventstore.Metadata
	// ID is the new user's id, a lowercase UUID; empty means a new id from
	// Deps.NewID.
	ID string
	// Email is the sign-in address, unique in the tenant ignoring case.
	Email string
	// Password must pass Deps.Policy.
	Password string
	// Name is the display name, maybe empty.
	Name string
	// Role is the new user's role; empty means customer without a role
	// check, any other value needs rbac.CheckAssignRole.
	Role user.Role
	// Status is the new user's status; empty means active.
	Status user.Status
}

// LogAttrs returns the tenant and the actor's ids for the log line.
func (c CreateUser) LogAttrs() []slog.Attr {
	return append(logAttrs(c.TenantID, c.ID, c.Actor, c.Meta), slog.String("role", string(c.Role)))
}

type createUser struct{ deps Deps }

// NewCreateUserHandler returns the handler of CreateUser, decorated as
// "user.create". It records user.registered with the hash of the password
// and reserves the email in the same append.
//
// Errors: the validation and policy errors of RegisterUser, and
// user.ErrInvalidRole, user.ErrInvalidStatus; a *rbac.DeniedError naming
// users:create (UNAUTHENTICATED for the anonymous actor, FORBIDDEN
// otherwise), or naming what CheckAssignRole misses for Role; a
// MODULE_DISABLED error; ErrBusy; a CONFLICT on the field email;
// ErrUserExists. On any error nothing is written.
//
// It panics if d lacks Store, Modules, Hasher, NewID or Now.
func NewCreateUserHandler(d Deps, dec commands.Decorators) commands.Handler[CreateUser] {
	d.check("NewCreateUserHandler", need{hasher: true, id: true})
	return commands.Decorate[CreateUser]("user.create", createUser{deps: d}, dec)
}

func (h createUser) Handle(ctx context.Context, cmd CreateUser) (commands.Result, error) {
	n := newUser{
		TenantID: cmd.TenantID, ID: cmd.ID, Email: cmd.Email, Password: cmd.Password, Name: cmd.Name,
		Role: cmd.Role, Status: cmd.Status,
	}
	res, err := create(ctx, h.deps, commands.Run{
		TenantID: cmd.TenantID, Actor: cmd.Actor, Meta: cmd.Meta,
		Access: commands.Access{Permission: permCreate, AssignRole: rbac.Role(cmd.Role)},
	}, n)
	if err != nil {
		return commands.Result{}, fmt.Errorf("create user: %w", err)
	}
	return res, nil
}
