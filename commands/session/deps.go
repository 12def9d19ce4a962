package session

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
	"github.com/rustok/rustok/domain/session"
	"github.com/rustok/rustok/domain/user"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/platform/password"
	"github.com/rustok/rustok/platform/token"
	sessionqry "github.com/rustok/rustok/queries/session"
)

// Hasher verifies passwords; *password.Hasher implements it. Both methods
// may fail with password.ErrBusy when no hashing slot comes free in time.
type Hasher interface {
	// Verify checks a password against a stored hash (password.ErrMismatch
	// when it does not match).
	Verify(ctx context.Context, password, encoded string) (rehash bool, err error)
	// VerifyDummy costs what Verify costs and always fails: the answer to
	// an unknown email.
	VerifyDummy(ctx context.Context, password string) error
}

// Issuer issues access tokens; *token.Authority implements it.
type Issuer interface {
	// Issue signs an access token for a grant.
	Issue(g token.Grant) (token.Issued, error)
	// AccessTTL is the lifetime of the tokens Issue makes (expires_in).
	AccessTTL() time.Duration
}

// ActiveSessions lists a user's active sessions; *queries/session.Reader
// implements it. It is a read model: a session started a moment ago may be
// missing from it (see RevokeAll).
type ActiveSessions interface {
	Active(ctx context.Context, tenantID, userID string, at time.Time) ([]sessionqry.View, error)
}

// Deps are what the session handlers need. Each constructor checks the
// fields it uses and panics if one is missing (a wiring mistake).
type Deps struct {
	// Store is the event store.
	Store commands.Store
	// Modules says whether a tenant has the rbac module enabled; for this
	// core module it is commands.AlwaysEnabled in production.
	Modules commands.ModuleGate
	// Hasher verifies passwords (SignIn).
	Hasher Hasher
	// Tokens issues access tokens (SignIn, Refresh).
	Tokens Issuer
	// RefreshKey is the server key rotated refresh tokens are derived from
	// (SignIn, Refresh), at least MinRefreshKeyLength bytes of secret. It
	// must be the same on every instance; changing it only ends the grace
	// window of the tokens rotated before the change. Never logged.
	RefreshKey []byte
	// Sessions lists a user's active sessions (RevokeAll and the revokers).
	Sessions ActiveSessions
	// Policy is the sessions' lifetime (auth.jwt.refresh_ttl) and refresh
	// grace; the zero Policy means session.DefaultLifetime and no grace:
	// use session.DefaultPolicy.
	Policy session.Policy
	// NewID returns new session ids, lowercase UUIDs (SignIn).
	NewID func() (string, error)
	// Now is the clock.
	Now func() time.Time
}

// Application errors of the session commands, besides those of
// domain/session. Match them with errors.Is.
var (
	// ErrInvalidCredentials (UNAUTHENTICATED): the one answer of SignIn to
	// an unknown email, a wrong password, a malformed email or password, and
	// a deleted user.
	ErrInvalidCredentials = domain.Unauthenticated("invalid email or password")
	// ErrNotFound (NOT_FOUND): no session with this id among those the
	// actor may see.
	ErrNotFound = domain.NotFound("session not found")
	// ErrBusy (RATE_LIMITED) wraps password.ErrBusy: every hashing slot was
	// taken; nothing was written and the client may retry in a moment (the
	// same code as commands/user's ErrBusy, docs/adr/0025).
	ErrBusy = domain.RateLimited("the server is busy; retry in a moment")
)

// permManage is the permission that lets an actor revoke another user's
// session: users:update (admins hold users:manage, which implies it).
var permManage = rbac.P(rbac.ResourceUsers, rbac.ActionUpdate)

// errUserGone is internal: a session whose user stream does not exist.
var errUserGone = errors.New("session of a user that does not exist")

// pipeline returns the sessions' command pipeline over d.
func pipeline(d Deps) commands.Pipeline[*session.Session, session.Event] {
	return commands.Pipeline[*session.Session, session.Event]{
		Repo: commands.Repository[*session.Session, session.Event]{
			Store: d.Store, StreamType: session.StreamType, Decode: session.Decode, Fold: session.Load, NotFound: ErrNotFound,
		},
		Module:   module.SlugRBAC,
		Modules:  d.Modules,
		TenantOf: (*session.Session).TenantID,
	}
}

// users returns the repository of user aggregates over d's store.
func users(d Deps) commands.Repository[*user.User, user.Event] {
	return commands.Repository[*user.User, user.Event]{
		Store: d.Store, StreamType: user.StreamType, Decode: user.Decode, Fold: user.Load, NotFound: errUserGone,
	}
}

// need lists what a constructor uses beside Store, Modules and Now.
type need struct{ hasher, tokens, key, sessions, id bool }

// check panics, naming the constructor, if a dependency it needs is
// missing or invalid.
func (d Deps) check(name string, n need) {
	switch {
	case d.Store == nil, d.Modules == nil, d.Now == nil,
		n.hasher && d.Hasher == nil, n.tokens && d.Tokens == nil,
		n.sessions && d.Sessions == nil, n.id && d.NewID == nil:
		panic("session." + name + ": missing dependency")
	case n.key && len(d.RefreshKey) < MinRefreshKeyLength:
		panic(fmt.Sprintf("session.%s: refresh key of %d bytes, want at least %d", name, len(d.RefreshKey), MinRefreshKeyLength))
	}
	if err := d.Policy.Validate(); err != nil {
		panic("session." + name + ": " + err.Error())
	}
}

// hasherError maps a refusal of the hasher: password.ErrBusy to ErrBusy,
// anything else to an internal error.
func hasherError(err error) error {
	if errors.Is(err, password.ErrBusy) {
		return ErrBusy.Wrap(err)
	}
	return fmt.Errorf("verify password: %w", err)
}

// logAttrs returns the log fields of a session command: never a password
// or a token.
func logAttrs(tenantID, sessionID string, actor rbac.Actor, meta eventstore.Metadata) []slog.Attr {
	attrs := []slog.Attr{slog.String("tenant", tenantID)}
	if sessionID != "" {
		attrs = append(attrs, slog.String("session_id", sessionID))
	}
	if meta.ActorID == "" && actor.UserID() != "" {
		attrs = append(attrs, slog.String("actor_id", actor.UserID()))
	}
	return append(attrs, commands.ActorAttrs(meta)...)
}

// UserView is the signed-in user as the answers of SignIn and Refresh show
// it: the "user" object of the auth payload. It holds no secret.
type UserView struct {
	ID       string
	TenantID string
	Email    string
	Name     string
	Role     user.Role
	Status   user.Status
}

func viewOf(u *user.User) UserView {
	return UserView{ID: u.ID(), TenantID: u.TenantID(), Email: u.Email(), Name: u.Name(), Role: u.Role(), Status: u.Status()}
}

// Tokens is the answer of SignIn and Refresh: what the transport shapes
// into the REST body {access_token, refresh_token, token_type, expires_in,
// user} or GraphQL's AuthPayload.
type Tokens struct {
	// AccessToken is the access JWT, for "Authorization: Bearer".
	AccessToken string
	// AccessClaims is what AccessToken says (its jti, exp, sid, …).
	AccessClaims token.Claims
	// RefreshToken is the session's current refresh token. Secret: never
	// logged.
	RefreshToken string
	// TokenType is "Bearer".
	TokenType string
	// ExpiresIn is the access token's lifetime in whole seconds.
	ExpiresIn int64
	// SessionID is the session's id (the "sid" claim).
	SessionID string
	// SessionExpiresAt is the session's absolute end: no refresh token of
	// it works after it.
	SessionExpiresAt time.Time
	// User is the signed-in user.
	User UserView
	// Position is the log position of the event the call appended, for
	// read-your-writes; 0 when it appended nothing (OutcomeSamePair).
	Position int64
}

// tokens issues the access token of u in session s and returns the answer
// with refresh token rt.
func tokens(d Deps, u *user.User, s *session.Session, rt string, position int64) (Tokens, error) {
	issued, err := d.Tokens.Issue(token.Grant{
		UserID: u.ID(), TenantID: u.TenantID(), SessionID: s.ID(), Role: token.Role(u.Role()),
	})
	if err != nil {
		return Tokens{}, fmt.Errorf("issue access token of session %s: %w", s.ID(), err)
	}
	return Tokens{
		AccessToken: issued.Token, AccessClaims: issued.Claims, RefreshToken: rt, TokenType: "Bearer",
		ExpiresIn: int64(d.Tokens.AccessTTL() / time.Second), SessionID: s.ID(), SessionExpiresAt: s.ExpiresAt(),
		User: viewOf(u), Position: position,
	}, nil
}

// call carries a command and the slot of its answer through a decorated
// commands.Handler, so that SignIn and Refresh, which answer more than a
// commands.Result, are logged and measured as every command is.
type call[C any] struct {
	cmd C
	out *Tokens
}

// LogAttrs returns the command's log fields.
func (c call[C]) LogAttrs() []slog.Attr {
	if l, ok := any(c.cmd).(commands.Loggable); ok {
		return l.LogAttrs()
	}
	return nil
}
