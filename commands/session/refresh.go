package session

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"

	"github.com/rustok/rustok/commands"
	"github.com/rustok/rustok/domain/rbac"
	"github.com/rustok/rustok/domain/session"
	"github.com/rustok/rustok/domain/user"
	"github.com/rustok/rustok/eventstore"
)

// Refresh exchanges a refresh token for a new pair of tokens.
type Refresh struct {
	// TenantID is the tenant of the request.
	TenantID string
	// Meta goes into the log with the events.
	Meta eventstore.Metadata
	// RefreshToken is the token presented. Secret: never logged.
	RefreshToken string
	// Client is the refreshing device, for the sessions list.
	Client session.Client
}

// LogAttrs returns the tenant and the request's ids for the log line, never
// the token.
func (c Refresh) LogAttrs() []slog.Attr { return logAttrs(c.TenantID, "", rbac.Anonymous(), c.Meta) }

type refresh struct{ deps Deps }

// NewRefreshHandler returns the handler of Refresh, decorated as
// "session.refresh". It parses the token ("<session id>.<secret>", see
// ParseRefreshToken), loads its session from the event store and lets the
// aggregate decide (session.Session.Refresh):
//
//   - the current token rotates: session.refreshed is appended with the
//     hash of the next token, derived from the refresh key, the session id,
//     the new generation and the presented token's hash; the answer is the
//     next token and a new access token;
//   - the token replaced by the latest rotation, within the grace window
//     (two tabs refreshing at once, a client that lost the answer): nothing
//     is appended, and the answer is the same refresh token the rotation
//     gave (derived again) with a new access token (a new jti);
//   - an older spent token, or the replaced one after the grace: the
//     session is revoked (refresh_reuse) and the answer is
//     session.ErrTokenReused.
//
// The user must still be allowed to sign in (user.User.CanSignIn): if they
// were banned, deactivated or deleted, the session is revoked (reason
// user_disabled) and the answer is UNAUTHENTICATED. The access token carries
// the user's current role.
//
// A rotation that loses a race to a concurrent one (commands.ErrStaleVersion)
// is retried once on the reloaded session, where it finds the presented
// token just replaced: OutcomeSamePair, the same new refresh token as the
// winner's.
//
// Errors, all UNAUTHENTICATED but the last two: ErrInvalidRefreshToken (a
// malformed token, one of another tenant or an unknown session, a token the
// session never issued); session.ErrRevoked; session.ErrExpired;
// session.ErrTokenReused; the error of CanSignIn; a MODULE_DISABLED error;
// commands.ErrStaleVersion after the retry.
//
// It panics if d lacks Store, Modules, Tokens, RefreshKey or Now, or has an
// invalid Policy.
func NewRefreshHandler(d Deps, dec commands.Decorators) TokenHandler[Refresh] {
	d.check("NewRefreshHandler", need{tokens: true, key: true})
	return tokenHandler[Refresh]{next: commands.Decorate[call[Refresh]]("session.refresh", refresh{deps: d}, dec)}
}

func (h refresh) Handle(ctx context.Context, c call[Refresh]) (commands.Result, error) {
	cmd := c.cmd
	rt, err := parseRefreshToken(cmd.RefreshToken)
	if err != nil {
		return commands.Result{}, fmt.Errorf("refresh: %w", err)
	}
	res, err := commands.RetryStale(func() (commands.Result, error) { return h.attempt(ctx, cmd, rt, c.out) })
	switch {
	case errors.Is(err, ErrNotFound):
		return commands.Result{}, fmt.Errorf("refresh session %s: %w", rt.sessionID, ErrInvalidRefreshToken.Wrap(err))
	case err != nil:
		return commands.Result{}, fmt.Errorf("refresh session %s: %w", rt.sessionID, err)
	}
	return res, nil
}

// attempt is one load-decide-append of a refresh.
func (h refresh) attempt(ctx context.Context, cmd Refresh, rt refreshToken, out *Tokens) (commands.Result, error) {
	d := h.deps
	at := d.Now()
	presented := rt.hash()
	var (
		u       *user.User
		s       *session.Session
		answer  string // the refresh token to answer
		refusal error  // the answer after the events are appended
	)
	res, err := pipeline(d).Change(ctx, commands.Run{
		TenantID: cmd.TenantID, Actor: rbac.Anonymous(), Meta: cmd.Meta,
		// The refresh token is the credential, checked by the decision.
		Access: commands.Access{Public: true},
	}, rt.sessionID, func(ctx context.Context, loaded *session.Session) (commands.Decision[session.Event], error) {
		// A Session's decisions apply their event to it; the revocation of
		// a disabled user must be decided on the session as loaded. A
		// Session is a value whose state changes never write into shared
		// memory (apply replaces its slices), so a copy is independent.
		unchanged := *loaded
		next := deriveRefreshToken(d.RefreshKey, loaded.ID(), loaded.Generation()+1, presented)
		outcome, events, err := loaded.Refresh(presented, next.hash(), cmd.Client, at, d.Policy)
		if err != nil {
			return commands.Decision[session.Event]{}, err
		}
		if outcome == session.OutcomeReuseRevoked {
			refusal = session.ErrTokenReused
			return commands.Decide(events, nil)
		}
		// The presented token is authentic: now the user.
		if u, err = h.user(ctx, loaded); err != nil {
			return commands.Decision[session.Event]{}, err
		}
		if err := mayUse(u); err != nil {
			refusal = err
			return commands.Decide(unchanged.Revoke(session.ReasonUserDisabled, at))
		}
		switch outcome {
		case session.OutcomeRotated:
			answer = next.String()
		case session.OutcomeSamePair:
			current := deriveRefreshToken(d.RefreshKey, loaded.ID(), loaded.Generation(), presented)
			if subtle.ConstantTimeCompare([]byte(current.hash()), []byte(loaded.TokenHash())) != 1 {
				// Rotated under another refresh key (or not by this
				// package): the pair cannot be given again.
				return commands.Decision[session.Event]{}, ErrInvalidRefreshToken.Wrap(
					errors.New("the current refresh token is not derivable with the refresh key"))
			}
			answer = current.String()
		default:
			return commands.Decision[session.Event]{}, fmt.Errorf("unknown refresh outcome %d", outcome)
		}
		s = loaded
		return commands.Decide(events, nil)
	})
	if err != nil {
		return commands.Result{}, err
	}
	if refusal != nil {
		return commands.Result{}, refusal
	}
	t, err := tokens(d, u, s, answer, res.Position)
	if err != nil {
		return commands.Result{}, err
	}
	*out = t
	return res, nil
}

// user loads the user of session s.
func (h refresh) user(ctx context.Context, s *session.Session) (*user.User, error) {
	u, _, err := users(h.deps).Load(ctx, s.UserID())
	if err != nil {
		return nil, err
	}
	if u.TenantID() != s.TenantID() {
		return nil, fmt.Errorf("session %s of tenant %s belongs to user %s of tenant %s", s.ID(), s.TenantID(), u.ID(), u.TenantID())
	}
	return u, nil
}

// mayUse returns nil if u may still use a session: CanSignIn, with a
// deleted user answered as a revoked session (UNAUTHENTICATED, not
// CanSignIn's NOT_FOUND).
func mayUse(u *user.User) error {
	if u.Deleted() {
		return session.ErrRevoked.Wrap(user.ErrDeleted)
	}
	return u.CanSignIn()
}
