package user

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/rustok/rustok/commands"
	"github.com/rustok/rustok/domain/rbac"
	"github.com/rustok/rustok/domain/user"
	"github.com/rustok/rustok/eventstore"
)

// RegisterUser is a visitor's sign-up: a new active customer.
type RegisterUser struct {
	// TenantID is the tenant of the request.
	TenantID string
	// Actor is the caller, usually anonymous; anyone may sign up.
	Actor rbac.Actor
	// Meta goes into the log with the event.
	Meta eventstore.Metadata
	// ID is the new user's id, a lowercase UUID; empty means a new id from
	// Deps.NewID. A caller that must know the id (to sign the user in) sets
	// it.
	ID string
	// Email is the sign-in address, unique in the tenant ignoring case.
	Email string
	// Password must pass Deps.Policy.
	Password string
	// Name is the display name, maybe empty.
	Name string
}

// LogAttrs returns the tenant and the actor's ids for the log line.
func (c RegisterUser) LogAttrs() []slog.Attr { return logAttrs(c.TenantID, c.ID, c.Actor, c.Meta) }

// RegisterOption configures NewRegisterUserHandler.
type RegisterOption func(*registerUser)

// WithRegistrationEnabled sets whether visitors may sign up
// (settings.rustok.features.registration_enabled). Without it, sign-up is
// disabled: an instance opens it only when configured to.
func WithRegistrationEnabled(enabled bool) RegisterOption {
	return func(h *registerUser) { h.enabled = enabled }
}

type registerUser struct {
	deps    Deps
	enabled bool
}

// NewRegisterUserHandler returns the handler of RegisterUser, decorated as
// "user.register". It records user.registered (role customer, status
// active) with the hash of the password and reserves the email in the same
// append. The command is public: no permission is needed.
//
// Errors: ErrRegistrationDisabled; user.ErrInvalidEmail, user.ErrInvalidName,
// user.ErrInvalidID; the policy errors (user.ErrPasswordTooShort,
// user.ErrPasswordTooLong, user.ErrPasswordIsEmail,
// user.ErrPasswordEncoding); a MODULE_DISABLED error; ErrBusy; a CONFLICT on
// the field email when the email is taken; ErrUserExists for a taken
// RegisterUser.ID. On any error nothing is written.
//
// It panics if d lacks Store, Modules, Hasher, NewID or Now.
func NewRegisterUserHandler(d Deps, dec commands.Decorators, opts ...RegisterOption) commands.Handler[RegisterUser] {
	d.check("NewRegisterUserHandler", need{hasher: true, id: true})
	h := registerUser{deps: d}
	for _, o := range opts {
		o(&h)
	}
	return commands.Decorate[RegisterUser]("user.register", h, dec)
}

func (h registerUser) Handle(ctx context.Context, cmd RegisterUser) (commands.Result, error) {
	reg := newUser{
		TenantID: cmd.TenantID, ID: cmd.ID, Email: cmd.Email, Password: cmd.Password, Name: cmd.Name,
		Role: user.RoleCustomer, Status: user.StatusActive,
	}
	res, err := create(ctx, h.deps, commands.Run{
		TenantID: cmd.TenantID, Actor: cmd.Actor, Meta: cmd.Meta,
		Access: commands.Access{Public: true},
		Validate: func() error {
			if !h.enabled {
				return ErrRegistrationDisabled
			}
			return nil
		},
	}, reg)
	if err != nil {
		return commands.Result{}, fmt.Errorf("register user: %w", err)
	}
	return res, nil
}

// newUser is the input RegisterUser and CreateUser share.
type newUser struct {
	TenantID, ID, Email, Password, Name string
	Role                                user.Role
	Status                              user.Status
}

// validate checks everything but the email's uniqueness before
// authorization and before paying for a hash: the password policy, then the
// other fields through a dry run of user.Register with a placeholder hash.
func (n newUser) validate(p user.Policy, id string, at time.Time) error {
	email, err := user.NormalizeEmail(n.Email)
	if err != nil {
		return err
	}
	if err := p.Check(n.Password, email); err != nil {
		return err
	}
	_, _, err = user.Register(n.registration(id, "placeholder"), at)
	return err
}

func (n newUser) registration(id, passwordHash string) user.Registration {
	return user.Registration{
		ID: id, TenantID: n.TenantID, Email: n.Email, Name: n.Name, PasswordHash: passwordHash, Role: n.Role, Status: n.Status,
	}
}

// create runs the pipeline of a new user: validate (validate, then the
// command's own checks), authorize, hash the password, register, reserve
// the email.
func create(ctx context.Context, d Deps, run commands.Run, n newUser) (commands.Result, error) {
	id, err := newUserID(d, n.ID)
	if err != nil {
		return commands.Result{}, err
	}
	at := d.Now()
	check := run.Validate
	run.Validate = func() error {
		if check != nil {
			if err := check(); err != nil {
				return err
			}
		}
		return n.validate(d.Policy, id, at)
	}
	res, err := pipeline(d).Create(ctx, run, id, func(ctx context.Context) (commands.Decision[user.Event], error) {
		pwHash, err := hash(ctx, d.Hasher, n.Password)
		if err != nil {
			return commands.Decision[user.Event]{}, err
		}
		u, events, err := user.Register(n.registration(id, pwHash), at)
		if err != nil {
			return commands.Decision[user.Event]{}, err
		}
		return commands.Decision[user.Event]{
			Events:       events,
			Reservations: []eventstore.AppendOption{eventstore.Reserve(user.EmailScope, u.EmailReservation())},
		}, nil
	})
	return res, existing(err)
}
