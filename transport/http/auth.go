package httpserver

import (
	"context"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/rbac"
)

// MaxAuthorizationBytes is the longest Authorization header accepted; a
// longer one is a bad credential (CONTRACT.md, "Identity on the wire").
const MaxAuthorizationBytes = 8 << 10

// HeaderWWWAuthenticate is the challenge of every refused credential.
const HeaderWWWAuthenticate = "WWW-Authenticate"

// challengeInvalidToken is the RFC 6750 challenge of a bad bearer token.
const challengeInvalidToken = `Bearer error="invalid_token"`

// Identity is who an authenticated request acts as: the actor handlers and
// resolvers authorize (built from the user's current role), and the token's
// user, tenant and session.
type Identity struct {
	// Actor is the caller, with the user's current role.
	Actor rbac.Actor
	// UserID, TenantID and SessionID are the token's sub, tid and sid: the
	// tenant is the one the user and session belong to, which differs from
	// the request's tenant only for a super_admin.
	UserID, TenantID, SessionID string
}

type identityKey struct{}

// WithIdentity returns ctx carrying id.
func WithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// IdentityFrom returns the identity Authentication put on ctx; false for an
// anonymous request.
func IdentityFrom(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(Identity)
	return id, ok
}

// ActorFrom returns the request's actor: the authenticated one, or
// rbac.Anonymous() for a request without credentials.
func ActorFrom(ctx context.Context) rbac.Actor {
	if id, ok := IdentityFrom(ctx); ok {
		return id.Actor
	}
	return rbac.Anonymous()
}

// Authenticator checks a bearer token for a request (whose context holds
// the resolved tenant, if any) and returns the identity it grants. Its
// errors are application errors: UNAUTHENTICATED for a bad credential,
// FORBIDDEN for another tenant's token; anything else is internal.
type Authenticator func(ctx context.Context, token string) (Identity, error)

// AuthConfig configures Authentication.
type AuthConfig struct {
	// Authenticate verifies a token. Required.
	Authenticate Authenticator
	// OnFailure, if set, is called for every refused credential (401 or
	// 403) before the answer; a non-nil error it returns is answered
	// instead (RATE_LIMITED once the client's auth budget is spent).
	OnFailure func(c echo.Context) error
}

// errInvalidToken is the answer to a credential that is not a bearer token
// at all.
var errInvalidToken = domain.Unauthenticated("invalid access token")

// Authentication returns the middleware that authenticates /api requests:
// without an Authorization header the request goes on anonymous; with
// "Bearer <token>" the token is checked by cfg.Authenticate and its identity
// put on the request context (IdentityFrom, ActorFrom). Any other header —
// another scheme, an empty token, a header over MaxAuthorizationBytes — and
// any refused token refuse the whole request: 401 with
// `WWW-Authenticate: Bearer error="invalid_token"` and code UNAUTHENTICATED,
// never anonymous; a valid token of another tenant is 403 FORBIDDEN.
func Authentication(cfg AuthConfig) echo.MiddlewareFunc {
	if cfg.Authenticate == nil {
		panic("httpserver.Authentication: nil Authenticate")
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			values := req.Header.Values(echo.HeaderAuthorization)
			if len(values) == 0 {
				return next(c)
			}
			raw, ok := bearer(values)
			var (
				id  Identity
				err error
			)
			if !ok {
				err = errInvalidToken
			} else {
				id, err = cfg.Authenticate(req.Context(), raw)
			}
			if err != nil {
				return refuse(c, cfg, err)
			}
			c.SetRequest(req.WithContext(WithIdentity(req.Context(), id)))
			return next(c)
		}
	}
}

// bearer returns the token of a single "Bearer <token>" header within
// MaxAuthorizationBytes (the scheme in any case, RFC 7235).
func bearer(values []string) (string, bool) {
	if len(values) != 1 || len(values[0]) > MaxAuthorizationBytes {
		return "", false
	}
	scheme, tok, ok := strings.Cut(values[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	if tok == "" || strings.ContainsAny(tok, " \t") {
		return "", false
	}
	return tok, true
}

// refuse answers a refused credential: UNAUTHENTICATED with the challenge,
// FORBIDDEN as it is, and internal errors as internal (a failing read model
// is no bad credential). Refusals count through cfg.OnFailure.
func refuse(c echo.Context, cfg AuthConfig, err error) error {
	code := domain.CodeOf(err)
	if code != domain.CodeUnauthenticated && code != domain.CodeForbidden {
		return err
	}
	if code == domain.CodeUnauthenticated {
		c.Response().Header().Set(HeaderWWWAuthenticate, challengeInvalidToken)
	}
	if cfg.OnFailure != nil {
		if ferr := cfg.OnFailure(c); ferr != nil {
			return ferr
		}
	}
	return err
}

// RequireIdentity returns the identity of an authenticated request, or the
// UNAUTHENTICATED error (with the challenge set) for an anonymous one.
func RequireIdentity(c echo.Context) (Identity, error) {
	id, ok := IdentityFrom(c.Request().Context())
	if !ok {
		c.Response().Header().Set(HeaderWWWAuthenticate, "Bearer")
		return Identity{}, domain.Unauthenticated("authentication required")
	}
	return id, nil
}
