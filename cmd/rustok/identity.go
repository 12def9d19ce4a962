package main

import (
	"context"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/rustok/rustok/commands"
	sessioncmd "github.com/rustok/rustok/commands/session"
	usercmd "github.com/rustok/rustok/commands/user"
	"github.com/rustok/rustok/config"
	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/apikey"
	"github.com/rustok/rustok/domain/rbac"
	"github.com/rustok/rustok/domain/session"
	"github.com/rustok/rustok/domain/user"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/eventstore/relay"
	"github.com/rustok/rustok/platform/password"
	"github.com/rustok/rustok/platform/principalcache"
	"github.com/rustok/rustok/platform/token"
	sessionproj "github.com/rustok/rustok/projections/session"
	userproj "github.com/rustok/rustok/projections/user"
	sessionqry "github.com/rustok/rustok/queries/session"
	userqry "github.com/rustok/rustok/queries/user"
	httpserver "github.com/rustok/rustok/transport/http"
)

// refreshKeyLabel is the HKDF info from which the refresh-token key
// (commands/session Deps.RefreshKey) is derived from the signing secret:
// no configuration key of its own, and the same on every instance that
// shares the token configuration.
const refreshKeyLabel = "rustok/session-refresh-key/v1"

// resetKeyLabel is the HKDF info of the password reset key (commands/user
// Deps.ResetKey and the reset mail reactor), derived like the refresh key.
const resetKeyLabel = "rustok/password-reset-key/v1"

// freshTokenWindow is how old an access token may be for a request to wait
// for the read models when its session or user is not found there yet (a
// request right after sign-in on an instance whose projections lag).
const freshTokenWindow = time.Minute

// identity is the authentication side of the server: the password hasher,
// the token authority, the principal cache and the user and session
// command handlers.
type identity struct {
	a          *app
	tokens     *token.Authority
	hasher     *password.Hasher
	principals *principalcache.Cache
	users      *userqry.Reader
	register   commands.Handler[usercmd.RegisterUser]
	signIn     sessioncmd.TokenHandler[sessioncmd.SignIn]
	refresh    sessioncmd.TokenHandler[sessioncmd.Refresh]
	signOut    commands.Handler[sessioncmd.SignOut]
	accounts   accountHandlers
	keys       apiKeys
	metrics    *authMetrics
	newID      func() (string, error)
	waiter     *relay.Waiter
	// lagWait bounds a wait for the read models (graphql.read_your_writes_timeout).
	lagWait time.Duration
}

// newIdentity builds the identity side of a from auth.* and
// settings.rustok.features.registration_enabled.
func newIdentity(a *app, waiter *relay.Waiter) (*identity, error) {
	cfg := a.cfg
	pw := cfg.Auth.Password
	hasher, err := password.New(password.Options{Params: password.Params{
		MemoryKiB: pw.Argon2MemoryKiB, Iterations: pw.Argon2Iterations, Parallelism: pw.Argon2Parallelism,
	}})
	if err != nil {
		return nil, fmt.Errorf("auth.password: %w", err)
	}
	opts, err := token.OptionsFromConfig(cfg.Auth.JWT)
	if err != nil {
		return nil, err
	}
	tokens, err := token.New(opts)
	if err != nil {
		return nil, fmt.Errorf("auth.jwt: %w", err)
	}
	refreshKey, err := deriveKey(cfg.Auth.JWT, refreshKeyLabel)
	if err != nil {
		return nil, err
	}
	users := userqry.NewReader(a.db)
	sessions := sessionqry.NewReader(a.db)
	principals, err := principalcache.New(principalcache.Config{}, sessions, users, a.registry, a.logger)
	if err != nil {
		return nil, fmt.Errorf("principal cache: %w", err)
	}
	m, err := a.commandMetrics()
	if err != nil {
		_ = principals.Close()
		return nil, err
	}
	dec := commands.Decorators{Logger: a.logger, Metrics: m}
	newID := func() (string, error) {
		id, err := uuid.NewV7()
		return id.String(), err
	}
	policy := user.Policy{MinLength: pw.MinLength}
	if err := policy.Validate(); err != nil {
		_ = principals.Close()
		return nil, fmt.Errorf("auth.password.min_length: %w", err)
	}
	sp := session.Policy{Lifetime: cfg.Auth.JWT.RefreshTTL, RefreshGrace: cfg.Auth.JWT.RefreshGrace}
	if err := sp.Validate(); err != nil {
		_ = principals.Close()
		return nil, fmt.Errorf("auth.jwt.refresh_ttl: %w", err)
	}
	sd := sessioncmd.Deps{
		Store: a.store, Modules: commands.AlwaysEnabled{}, Hasher: hasher, Tokens: tokens, RefreshKey: refreshKey,
		Sessions: sessions, Policy: sp, NewID: newID, Now: time.Now,
	}
	ud := usercmd.Deps{
		Store: a.store, Modules: commands.AlwaysEnabled{}, Hasher: hasher, Policy: policy, NewID: newID, Now: time.Now,
		ResetKey: a.resetKey, ResetTTL: pw.ResetTTL,
	}
	id := &identity{
		a: a, tokens: tokens, hasher: hasher, principals: principals, users: users, waiter: waiter, newID: newID,
		register: usercmd.NewRegisterUserHandler(ud, dec,
			usercmd.WithRegistrationEnabled(cfg.Settings.Rustok.Features.RegistrationEnabled)),
		signIn:  sessioncmd.NewSignInHandler(sd, dec),
		refresh: sessioncmd.NewRefreshHandler(sd, dec),
		signOut: sessioncmd.NewSignOutHandler(sd, dec),
		lagWait: cfg.GraphQL.ReadYourWritesTimeout,
	}
	ud.Sessions = sessionRevoker{r: sessioncmd.NewRevoker(sd), caughtUp: id.catchUp}
	id.accounts = newAccountHandlers(ud, sd, dec, sessions)
	id.keys = newAPIKeys(a, dec, newID, users)
	if id.metrics, err = newAuthMetrics(a.registry); err != nil {
		_ = principals.Close()
		return nil, err
	}
	return id, nil
}

// deriveKey derives a server key (the refresh-token key, the password
// reset key) from the signing material already configured, so that no new
// secret is needed: under HS256 from auth.jwt.secret, under EdDSA from the
// seed of the first (signing) key, by HKDF-SHA256 with label. Rotating that
// material ends only the grace window of refresh tokens rotated before
// (commands/session) and the reset links not mailed yet.
func deriveKey(c config.JWT, label string) ([]byte, error) {
	var secret []byte
	switch token.Algorithm(c.Algorithm) {
	case token.HS256:
		secret = []byte(c.Secret)
	case token.EdDSA:
		if len(c.Keys) == 0 {
			return nil, errors.New("auth.jwt.keys: EdDSA needs at least one key")
		}
		k, err := loadSigningKey(c.Keys[0])
		if err != nil {
			return nil, fmt.Errorf("auth.jwt.keys entry 1: %w", err)
		}
		secret = k.Seed()
	default:
		return nil, fmt.Errorf("auth.jwt.algorithm: must be HS256 or EdDSA, got %q", c.Algorithm)
	}
	if len(secret) < sessioncmd.MinRefreshKeyLength {
		return nil, fmt.Errorf("auth.jwt: signing secret of %d bytes is too short to derive the server keys from", len(secret))
	}
	key, err := hkdf.Key(sha256.New, secret, nil, label, max(sessioncmd.MinRefreshKeyLength, user.MinResetKeyLength))
	if err != nil {
		return nil, fmt.Errorf("derive key %s: %w", label, err)
	}
	return key, nil
}

// loadSigningKey reads an auth.jwt.keys entry as token.LoadKeySet does: PEM
// text, or the path of a PEM file (LoadKeySet has checked it already).
func loadSigningKey(entry string) (ed25519.PrivateKey, error) {
	data := []byte(entry)
	if !strings.HasPrefix(strings.TrimSpace(entry), "-----BEGIN") {
		var err error
		if data, err = os.ReadFile(entry); err != nil {
			return nil, errors.New("cannot read the key file")
		}
	}
	return token.ParseEd25519PEM(data)
}

// Close releases the principal cache.
func (id *identity) Close() error { return id.principals.Close() }

// followHandler keeps the principal cache in step with the log (waiting
// for the sessions and users projections before invalidating), and the API
// key cache with it (keyFollowHandler); both flush on `task cleanup cache`.
func (id *identity) followHandler() relay.FollowHandler {
	principals := id.principals.FollowHandler(principalcache.FollowConfig{
		Waiter: id.waiter, SessionsConsumer: sessionproj.Name, UsersConsumer: userproj.Name,
		Wait: projectionWait, FlushEventType: cacheFlushedType, Logger: id.a.logger,
	})
	keys := id.keyFollowHandler()
	return func(ctx context.Context, e eventstore.Event) error {
		return errors.Join(principals(ctx, e), keys(ctx, e))
	}
}

var (
	errBadToken    = domain.Unauthenticated("invalid access token")
	errOtherTenant = domain.Forbidden("the access token belongs to another tenant")
)

// authenticate is the httpserver.Authenticator of /api: it verifies the
// token, checks it against the request's tenant, and checks its session and
// user through the principal cache; the actor has the user's current role.
func (id *identity) authenticate(ctx context.Context, raw string) (httpserver.Identity, error) {
	if strings.HasPrefix(raw, apikey.SecretMarker) {
		who, err := id.authenticateKey(ctx, raw)
		id.metrics.credentials.WithLabelValues("api_key", code(err)).Inc()
		return who, err
	}
	who, err := id.authenticateJWT(ctx, raw)
	id.metrics.credentials.WithLabelValues("jwt", code(err)).Inc()
	return who, err
}

// authenticateJWT is authenticate for an access token.
func (id *identity) authenticateJWT(ctx context.Context, raw string) (httpserver.Identity, error) {
	claims, err := id.tokens.Verify(raw)
	if err != nil {
		return httpserver.Identity{}, errBadToken.Wrap(err)
	}
	reqTenant := tenantID(ctx)
	if reqTenant != "" {
		if err := claims.CheckTenant(reqTenant); err != nil {
			return httpserver.Identity{}, errOtherTenant.Wrap(err)
		}
	}
	p, err := id.principal(ctx, claims)
	if err != nil {
		return httpserver.Identity{}, err
	}
	role := rbac.Role(p.Role)
	// The super_admin exception holds for the current role, not the one
	// the token was issued with.
	if reqTenant != "" && reqTenant != claims.TenantID && role != rbac.RoleSuperAdmin {
		return httpserver.Identity{}, errOtherTenant
	}
	actor, err := rbac.UserActor(claims.UserID, role)
	if err != nil {
		return httpserver.Identity{}, domain.Unauthenticated("the user's role is not valid").Wrap(err)
	}
	return httpserver.Identity{Actor: actor, UserID: claims.UserID, TenantID: claims.TenantID, SessionID: claims.SessionID}, nil
}

// principal looks up and checks the token's session and user. A token
// issued a moment ago whose session (or user) the read models do not hold
// yet waits once for the sessions and users projections to reach the head
// of the log, then looks again: the session was started before the token
// was issued, so at the head it is there.
func (id *identity) principal(ctx context.Context, claims token.Claims) (principalcache.Principal, error) {
	p, err := id.check(ctx, claims)
	if !lagging(err) || !fresh(claims) {
		return p, err
	}
	if werr := id.catchUp(ctx); werr != nil {
		return p, err
	}
	id.principals.InvalidateSession(claims.SessionID)
	return id.check(ctx, claims)
}

func (id *identity) check(ctx context.Context, claims token.Claims) (principalcache.Principal, error) {
	p, err := id.principals.Lookup(ctx, claims.TenantID, claims.SessionID, claims.UserID)
	if err != nil {
		return p, err
	}
	return p, p.Check()
}

// lagging reports an answer that a lagging read model may have caused.
func lagging(err error) bool {
	return errors.Is(err, principalcache.ErrUnknownSession) || errors.Is(err, principalcache.ErrUnknownUser)
}

func fresh(claims token.Claims) bool {
	return !claims.IssuedAt.IsZero() && time.Since(claims.IssuedAt) < freshTokenWindow
}

// catchUp waits (bounded by lagWait) until the sessions and users
// projections have processed the head of the log.
func (id *identity) catchUp(ctx context.Context) error {
	head, err := id.a.store.Head(ctx)
	if err != nil {
		return err
	}
	ok, err := id.waiter.WaitFor(ctx, head, []string{sessionproj.Name, userproj.Name}, id.lagWait)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("read models behind")
	}
	return nil
}
