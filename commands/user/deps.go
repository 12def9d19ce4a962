package user

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/rustok/rustok/commands"
	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/module"
	"github.com/rustok/rustok/domain/rbac"
	"github.com/rustok/rustok/domain/user"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/platform/password"
)

// Hasher hashes new passwords and verifies given ones against a stored
// hash; *password.Hasher implements it. Both may fail with password.ErrBusy
// when no hashing slot comes free in time.
type Hasher interface {
	Hash(ctx context.Context, password string) (string, error)
	Verify(ctx context.Context, password, encoded string) (rehash bool, err error)
}

// SessionRevoker ends a user's sessions on behalf of a user command; the
// session module's *commands/session.Revoker does it (through an adapter in
// the composition root). Each method ends every active session of the user
// in the tenant (the sessions read model's list) but the one named, and is
// idempotent: a session already ended is skipped. It checks no permission:
// the calling command authorized the change.
//
// The handlers call it inside their decision, after every check passed and
// before the user's event is appended: a crash between the two leaves the
// sessions ended and the user unchanged (the caller retries), never the
// password changed with the old sessions alive (docs/adr/0029).
type SessionRevoker interface {
	// RevokeForPasswordChange ends every session but keepSessionID.
	RevokeForPasswordChange(ctx context.Context, tenantID, userID, keepSessionID string, meta eventstore.Metadata) error
	// RevokeForReset ends every session.
	RevokeForReset(ctx context.Context, tenantID, userID string, meta eventstore.Metadata) error
	// RevokeForDisabledUser ends every session of a user who was banned,
	// deactivated or deleted.
	RevokeForDisabledUser(ctx context.Context, tenantID, userID string, meta eventstore.Metadata) error
}

// Deps are what the user handlers need. Each constructor checks the fields
// it uses and panics if one is missing (a wiring mistake).
type Deps struct {
	// Store is the event store.
	Store commands.Store
	// Modules says whether a tenant has the rbac module enabled; for this
	// core module it is commands.AlwaysEnabled in production.
	Modules commands.ModuleGate
	// Hasher hashes and verifies passwords (RegisterUser, CreateUser,
	// ChangePassword).
	Hasher Hasher
	// Policy is the password policy (auth.password.min_length); the zero
	// Policy is the default.
	Policy user.Policy
	// NewID returns new user ids, lowercase UUIDs (RegisterUser,
	// CreateUser).
	NewID func() (string, error)
	// Now is the clock of the recorded events.
	Now func() time.Time
	// Sessions ends the sessions of a user whose password changed or who
	// was disabled or deleted (ChangePassword, ResetPassword, ChangeStatus,
	// DeleteUser).
	Sessions SessionRevoker
	// ResetKey is the server key password reset tokens are derived from
	// (user.ResetSecret), at least user.MinResetKeyLength bytes, the same
	// on every instance (RequestPasswordReset, ResetPassword). Never logged.
	ResetKey []byte
	// ResetTTL is how long a reset token is valid; zero means
	// user.DefaultResetTokenTTL.
	ResetTTL time.Duration
}

// Application errors of the user commands, besides those of domain/user and
// domain/rbac. Match them with errors.Is.
var (
	// ErrNotFound (NOT_FOUND): no user with this id in the tenant.
	ErrNotFound = domain.NotFound("user not found")
	// ErrUserExists (CONFLICT, field id): a caller-chosen id that is taken.
	ErrUserExists = &domain.Error{Code: domain.CodeConflict, Message: "a user with this id already exists", Field: "id"}
	// ErrRegistrationDisabled (FORBIDDEN): sign-up is switched off
	// (settings.rustok.features.registration_enabled).
	ErrRegistrationDisabled = domain.Forbidden("registration is disabled")
	// ErrBusy (RATE_LIMITED) wraps password.ErrBusy: every password hashing
	// slot was taken and the wait ran out; nothing was written and the
	// client may retry in a moment. There is no UNAVAILABLE code in package
	// domain: RATE_LIMITED is the code that tells a client to retry later
	// (docs/adr/0025).
	ErrBusy = domain.RateLimited("the server is busy; retry in a moment")
	// ErrWrongPassword (BAD_USER_INPUT, field current_password): the
	// current password given to ChangePassword does not match.
	ErrWrongPassword = domain.InvalidField("current_password", "the current password is incorrect")
	// ErrOutranked (FORBIDDEN): the target user's role holds a permission
	// the actor does not hold, so the actor may not change or delete them
	// (an admin cannot demote, ban or delete a super_admin). It wraps the
	// *rbac.DeniedError naming the permission.
	ErrOutranked = domain.Forbidden("you may not change a user whose role holds permissions you do not hold")
)

// The permissions of the user commands.
var (
	permCreate = rbac.P(rbac.ResourceUsers, rbac.ActionCreate)
	permUpdate = rbac.P(rbac.ResourceUsers, rbac.ActionUpdate)
	permDelete = rbac.P(rbac.ResourceUsers, rbac.ActionDelete)
)

// pipeline returns the users' command pipeline over d.
func pipeline(d Deps) commands.Pipeline[*user.User, user.Event] {
	return commands.Pipeline[*user.User, user.Event]{
		Repo: commands.Repository[*user.User, user.Event]{
			Store: d.Store, StreamType: user.StreamType, Decode: user.Decode, Fold: user.Load, NotFound: ErrNotFound,
		},
		Module:   module.SlugRBAC,
		Modules:  d.Modules,
		TenantOf: (*user.User).TenantID,
	}
}

// need names the optional dependencies a constructor uses.
type need struct{ hasher, id, sessions, resetKey bool }

// check panics, naming the constructor, if any of the given dependencies
// is missing.
func (d Deps) check(name string, n need) {
	if d.Store == nil || d.Modules == nil || d.Now == nil || (n.hasher && d.Hasher == nil) || (n.id && d.NewID == nil) ||
		(n.sessions && d.Sessions == nil) {
		panic("user." + name + ": missing dependency")
	}
	if n.resetKey && len(d.ResetKey) < user.MinResetKeyLength {
		panic("user." + name + ": reset key shorter than user.MinResetKeyLength")
	}
	if d.ResetTTL < 0 {
		panic("user." + name + ": negative reset TTL")
	}
	if err := d.Policy.Validate(); err != nil {
		panic("user." + name + ": " + err.Error())
	}
}

// hash hashes a password that passed the policy, mapping the hasher's
// refusals: password.ErrBusy to ErrBusy, password.ErrTooLong (a hasher
// limit below the policy's) to user.ErrPasswordTooLong.
func hash(ctx context.Context, h Hasher, pw string) (string, error) {
	encoded, err := h.Hash(ctx, pw)
	if err != nil {
		return "", hasherError("hash password", err)
	}
	return encoded, nil
}

func hasherError(doing string, err error) error {
	switch {
	case errors.Is(err, password.ErrBusy):
		return ErrBusy.Wrap(err)
	case errors.Is(err, password.ErrTooLong):
		return user.ErrPasswordTooLong.Wrap(err)
	}
	return fmt.Errorf("%s: %w", doing, err)
}

// change runs a use case on the existing user id through the pipeline and
// refuses, before deciding, a target who outranks run.Actor (notOutranked):
// every change of an existing user goes through it, so no handler can
// forget the rule.
func change(ctx context.Context, d Deps, run commands.Run, id string, decide func(ctx context.Context, u *user.User) (commands.Decision[user.Event], error)) (commands.Result, error) {
	return pipeline(d).Change(ctx, run, id, func(ctx context.Context, u *user.User) (commands.Decision[user.Event], error) {
		if err := notOutranked(run.Actor, u); err != nil {
			return commands.Decision[user.Event]{}, err
		}
		return decide(ctx, u)
	})
}

// notOutranked returns nil if actor may act on target: actor is target, or
// actor holds every permission of target's role (rbac.CheckGrant).
// Otherwise ErrOutranked wrapping the denial.
func notOutranked(actor rbac.Actor, target *user.User) error {
	if actor.UserID() == target.ID() {
		return nil
	}
	if err := rbac.CheckGrant(actor, rbac.RolePermissions(rbac.Role(target.Role()))); err != nil {
		return ErrOutranked.Wrap(err)
	}
	return nil
}

// logAttrs returns the log fields of a command of the user userID ("" for
// a new one) in tenant: never a password.
func logAttrs(tenantID, userID string, actor rbac.Actor, meta eventstore.Metadata) []slog.Attr {
	attrs := []slog.Attr{slog.String("tenant", tenantID)}
	if userID != "" {
		attrs = append(attrs, slog.String("user_id", userID))
	}
	if meta.ActorID == "" && actor.UserID() != "" {
		attrs = append(attrs, slog.String("actor_id", actor.UserID()))
	}
	return append(attrs, commands.ActorAttrs(meta)...)
}

// actorMeta is meta with the actor's user id as its ActorID when it has
// none, for the events recorded on the command's behalf (the sessions it
// ends).
func actorMeta(actor rbac.Actor, meta eventstore.Metadata) eventstore.Metadata {
	if meta.ActorID == "" {
		meta.ActorID = actor.UserID()
	}
	return meta
}

// newUserID returns cmdID, or a new id from d.NewID when it is empty.
func newUserID(d Deps, cmdID string) (string, error) {
	if cmdID != "" {
		return cmdID, nil
	}
	id, err := d.NewID()
	if err != nil {
		return "", fmt.Errorf("new user id: %w", err)
	}
	return id, nil
}

// existing maps the stale version of an append at NoStream, which for a
// new user can only be a caller-chosen id already in use, to ErrUserExists.
func existing(err error) error {
	if errors.Is(err, eventstore.ErrConcurrencyConflict) {
		return ErrUserExists.Wrap(err)
	}
	return err
}

// checkID returns user.ErrInvalidID unless id is a lowercase hyphenated
// UUID, the form of every user id.
func checkID(id string) error {
	if !domain.IsUUID(id) {
		return user.ErrInvalidID
	}
	return nil
}

// maxLoggedInput bounds how much of a client-supplied value is logged or
// quoted in an error.
const maxLoggedInput = 100

// clip shortens client input for a log line or an error message.
func clip(s string) string { return domain.Clip(s, maxLoggedInput) }
