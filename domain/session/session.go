package session

import (
	"crypto/subtle"
	"fmt"
	"net/netip"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rustok/rustok/domain"
)

// Limits of the session aggregate.
const (
	// MaxHashLength is the longest refresh token hash, in bytes.
	MaxHashLength = 512
	// MaxUserAgentLength is the longest user agent kept, in bytes; a longer
	// one is cut (at a character boundary), never refused.
	MaxUserAgentLength = 512
	// MaxSpentTokens is how many spent token hashes a session remembers,
	// newest first, to tell reuse (which revokes) from a token it never
	// issued (which does not). Older ones count as never issued.
	MaxSpentTokens = 32
)

// Policy defaults.
const (
	// DefaultLifetime is the absolute lifetime of a session (the default of
	// auth.jwt.refresh_ttl).
	DefaultLifetime = 30 * 24 * time.Hour
	// DefaultRefreshGrace is how long after a rotation the replaced token
	// still gets the current pair instead of revoking the session.
	DefaultRefreshGrace = 30 * time.Second
)

// Policy holds the durations of sessions.
type Policy struct {
	// Lifetime is how long a session lasts from its sign-in, however often it
	// is refreshed. 0 means DefaultLifetime.
	Lifetime time.Duration
	// RefreshGrace is how long after a rotation the replaced token may be
	// presented again without revoking the session (OutcomeSamePair). 0 means
	// no grace: DefaultPolicy has DefaultRefreshGrace.
	RefreshGrace time.Duration
}

// DefaultPolicy returns DefaultLifetime and DefaultRefreshGrace.
func DefaultPolicy() Policy {
	return Policy{Lifetime: DefaultLifetime, RefreshGrace: DefaultRefreshGrace}
}

// Validate reports negative durations, or a grace not shorter than the
// lifetime, as an error wrapping ErrInvalidPolicy.
func (p Policy) Validate() error {
	if p.Lifetime < 0 || p.RefreshGrace < 0 {
		return fmt.Errorf("negative duration in %+v: %w", p, ErrInvalidPolicy)
	}
	if p.RefreshGrace >= p.lifetime() {
		return fmt.Errorf("refresh grace %s is not shorter than the lifetime %s: %w", p.RefreshGrace, p.lifetime(), ErrInvalidPolicy)
	}
	return nil
}

func (p Policy) lifetime() time.Duration {
	if p.Lifetime <= 0 {
		return DefaultLifetime
	}
	return p.Lifetime
}

// Reason says why a session was revoked. The values are stored.
type Reason string

// The revocation reasons.
const (
	// ReasonSignOut: the user signed out of this session.
	ReasonSignOut Reason = "sign_out"
	// ReasonRevoke: the user revoked this session from the sessions list.
	ReasonRevoke Reason = "revoke"
	// ReasonRevokeAll: the user revoked all their other sessions.
	ReasonRevokeAll Reason = "revoke_all"
	// ReasonPasswordChanged: the user changed the password; the other
	// sessions end.
	ReasonPasswordChanged Reason = "password_changed"
	// ReasonPasswordReset: the password was reset with a token; every
	// session ends.
	ReasonPasswordReset Reason = "password_reset"
	// ReasonRefreshReuse: a spent refresh token was presented again.
	ReasonRefreshReuse Reason = "refresh_reuse"
	// ReasonUserDisabled: the user is no longer active, or was deleted.
	ReasonUserDisabled Reason = "user_disabled"
)

// Reasons returns every revocation reason. Each call returns a new slice.
func Reasons() []Reason {
	return []Reason{
		ReasonSignOut, ReasonRevoke, ReasonRevokeAll, ReasonPasswordChanged,
		ReasonPasswordReset, ReasonRefreshReuse, ReasonUserDisabled,
	}
}

// Valid reports whether r is one of Reasons.
func (r Reason) Valid() bool {
	for _, x := range Reasons() {
		if r == x {
			return true
		}
	}
	return false
}

// SparesCurrent reports whether a revocation for r that ends many sessions
// of a user spares the session the request came from (DOMAIN.md: revoke-all
// and change-password revoke all but the current one; reset-password and a
// disabled user revoke all).
func (r Reason) SparesCurrent() bool { return r == ReasonRevokeAll || r == ReasonPasswordChanged }

// Client describes the device of a request. Neither field is ever refused:
// an IP that does not parse is dropped, a user agent is cleaned and cut.
type Client struct {
	// IP is the client's address as the transport resolved it.
	IP string
	// UserAgent is the User-Agent header.
	UserAgent string
}

// normalize returns the IP in its canonical form (IPv4-mapped addresses as
// IPv4, no zone) or "", and the user agent trimmed, as valid UTF-8 without
// control characters, at most MaxUserAgentLength bytes.
func (c Client) normalize() Client {
	var out Client
	if len(c.IP) <= 64 {
		if a, err := netip.ParseAddr(strings.TrimSpace(c.IP)); err == nil {
			out.IP = a.Unmap().WithZone("").String()
		}
	}
	ua := c.UserAgent
	if len(ua) > 4*MaxUserAgentLength {
		ua = ua[:4*MaxUserAgentLength]
	}
	ua = strings.ToValidUTF8(ua, "")
	ua = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, ua)
	ua = strings.TrimSpace(ua)
	for len(ua) > MaxUserAgentLength {
		// Cut whole characters until it fits.
		_, size := utf8.DecodeLastRuneInString(ua)
		ua = ua[:len(ua)-size]
	}
	out.UserAgent = ua
	return out
}

// Outcome is what a refresh decided.
type Outcome int

// The outcomes of Refresh.
const (
	// OutcomeRotated: the presented token was current. Append the events
	// (Refreshed) and answer with the new token whose hash was next.
	OutcomeRotated Outcome = iota + 1
	// OutcomeSamePair: the presented token was replaced by the latest
	// rotation less than the grace window ago. Nothing to append; answer
	// with the session's current refresh token (and an access token) again.
	OutcomeSamePair
	// OutcomeReuseRevoked: the presented token was spent. Append the events
	// (Revoked, ReasonRefreshReuse) and answer ErrTokenReused.
	OutcomeReuseRevoked
)

// Session is the session aggregate. Build one with Start or Load. The zero
// Session is not a session: a decision on it fails with an error wrapping
// ErrInvalidHistory.
type Session struct {
	id         string
	tenantID   string
	userID     string
	current    string   // hash of the current refresh token
	spent      []string // hashes of replaced tokens, newest first, at most MaxSpentTokens
	generation int
	rotatedAt  time.Time // when current was issued
	startedAt  time.Time
	expiresAt  time.Time
	lastSeenAt time.Time
	client     Client
	revoked    bool
	reason     Reason
	revokedAt  time.Time
	version    int64
}

// Start signs a user in: it returns a new session with its one event,
// Started, already applied. The session ends at at + the policy's lifetime.
// tokenHash is the hash of the first refresh token.
//
// Errors: one wrapping ErrInvalidInput (internal) for an id that is not a
// lowercase UUID or a bad token hash.
func Start(id, tenantID, userID, tokenHash string, client Client, at time.Time, p Policy) (*Session, []Event, error) {
	for _, v := range []string{id, tenantID, userID} {
		if !domain.IsUUID(v) {
			return nil, nil, fmt.Errorf("start session: id %q is not a lowercase UUID: %w", v, ErrInvalidInput)
		}
	}
	if err := checkHash(tokenHash); err != nil {
		return nil, nil, err
	}
	c := client.normalize()
	s := &Session{}
	events, err := s.record(Started{
		SessionID: id, TenantID: tenantID, UserID: userID, TokenHash: tokenHash,
		ExpiresAt: at.Add(p.lifetime()).UTC(), IP: c.IP, UserAgent: c.UserAgent, At: at.UTC(),
	})
	if err != nil {
		return nil, nil, err
	}
	return s, events, nil
}

// Load rebuilds a session from its stored events, in stream order.
//
// Errors: one wrapping ErrInvalidHistory for an empty history, a first event
// other than Started, a second Started, an event of another session or an
// event after Revoked; one wrapping ErrUnknownEvent for an unknown event.
func Load(history []Event) (*Session, error) {
	s := &Session{}
	if err := domain.Load("session", history, s.apply, ErrInvalidHistory); err != nil {
		return nil, err
	}
	return s, nil
}

// CheckActive returns nil if the session may be used at at: not revoked and
// before its expiry. Errors: ErrRevoked, ErrExpired (checked in that order).
func (s *Session) CheckActive(at time.Time) error {
	if err := s.exists(); err != nil {
		return err
	}
	if s.revoked {
		return ErrRevoked
	}
	if !at.Before(s.expiresAt) {
		return ErrExpired
	}
	return nil
}

// Refresh decides what a refresh presenting the token that hashes to
// presented gets at at; next is the hash of the token that replaces it on a
// rotation. The rules, in order:
//   - a revoked session refuses (ErrRevoked), an expired one too
//     (ErrExpired): the lifetime is absolute;
//   - the current token rotates: OutcomeRotated with Refreshed;
//   - the token replaced by the latest rotation, presented at most
//     p.RefreshGrace after that rotation (or before it, by a clock behind
//     the one that rotated): OutcomeSamePair, no events; never with a zero
//     grace;
//   - any other spent token (the latest one after the grace, or an older
//     one): OutcomeReuseRevoked with Revoked (ReasonRefreshReuse);
//   - a token the session never issued: ErrInvalidToken, no events (so that
//     a forged token cannot end someone's session).
//
// Whether the user may still sign in (user.User.CanSignIn) is the command
// layer's check, beside this one.
//
// Errors: ErrRevoked, ErrExpired, ErrInvalidToken; one wrapping
// ErrInvalidInput (internal) for a bad next hash or one the session already
// issued.
func (s *Session) Refresh(presented, next string, client Client, at time.Time, p Policy) (Outcome, []Event, error) {
	if err := s.CheckActive(at); err != nil {
		return 0, nil, err
	}
	if equal(presented, s.current) {
		if err := checkHash(next); err != nil {
			return 0, nil, err
		}
		if s.issued(next) {
			return 0, nil, fmt.Errorf("refresh session: next token hash was already issued: %w", ErrInvalidInput)
		}
		c := client.normalize()
		events, err := s.record(Refreshed{
			SessionID: s.id, TokenHash: next, Generation: s.generation + 1,
			IP: c.IP, UserAgent: c.UserAgent, At: at.UTC(),
		})
		if err != nil {
			return 0, nil, err
		}
		return OutcomeRotated, events, nil
	}
	i := s.spentIndex(presented)
	switch {
	case i < 0:
		return 0, nil, ErrInvalidToken
	case i == 0 && p.RefreshGrace > 0 && at.Sub(s.rotatedAt) <= p.RefreshGrace:
		return OutcomeSamePair, nil, nil
	}
	events, err := s.record(Revoked{SessionID: s.id, UserID: s.userID, Reason: ReasonRefreshReuse, At: at.UTC()})
	if err != nil {
		return 0, nil, err
	}
	return OutcomeReuseRevoked, events, nil
}

// Revoke ends the session for reason and returns Revoked, or no events if
// it is already revoked. An expired session can be revoked (the sessions
// list then drops it). Errors: one wrapping ErrInvalidInput (internal) for
// an unknown reason.
func (s *Session) Revoke(reason Reason, at time.Time) ([]Event, error) {
	if err := s.exists(); err != nil {
		return nil, err
	}
	if !reason.Valid() {
		return nil, fmt.Errorf("revoke session: reason %q: %w", reason, ErrInvalidInput)
	}
	if s.revoked {
		return nil, nil
	}
	return s.record(Revoked{SessionID: s.id, UserID: s.userID, Reason: reason, At: at.UTC()})
}

// ID returns the session id.
func (s *Session) ID() string { return s.id }

// TenantID returns the id of the session's tenant.
func (s *Session) TenantID() string { return s.tenantID }

// UserID returns the id of the session's user.
func (s *Session) UserID() string { return s.userID }

// TokenHash returns the hash of the current refresh token.
func (s *Session) TokenHash() string { return s.current }

// Generation returns how many times the refresh token was rotated.
func (s *Session) Generation() int { return s.generation }

// StartedAt returns when the user signed in.
func (s *Session) StartedAt() time.Time { return s.startedAt }

// ExpiresAt returns the session's absolute expiry.
func (s *Session) ExpiresAt() time.Time { return s.expiresAt }

// LastSeenAt returns the time of the sign-in or of the latest rotation.
func (s *Session) LastSeenAt() time.Time { return s.lastSeenAt }

// Client returns the client of the sign-in or of the latest rotation.
func (s *Session) Client() Client { return s.client }

// Revoked reports whether the session was revoked, and why.
func (s *Session) Revoked() (Reason, bool) { return s.reason, s.revoked }

// Version returns the number of events applied: the stream version to
// expect when appending the next events.
func (s *Session) Version() int64 { return s.version }

func (s *Session) exists() error {
	if s.version == 0 {
		return fmt.Errorf("decision on a session that was never started: %w", ErrInvalidHistory)
	}
	return nil
}

// issued reports whether h is the current token's hash or a remembered
// spent one.
func (s *Session) issued(h string) bool { return equal(h, s.current) || s.spentIndex(h) >= 0 }

// spentIndex returns the index of h among the spent hashes (0 the latest),
// or -1. It compares with every one in constant time.
func (s *Session) spentIndex(h string) int {
	found := -1
	for i, x := range s.spent {
		if equal(h, x) && found < 0 {
			found = i
		}
	}
	return found
}

func (s *Session) record(e Event) ([]Event, error) { return domain.Record(e, s.apply) }

// apply changes the session's state by one event. It is the only code that
// sets state, for decisions and Load alike.
func (s *Session) apply(e Event) error {
	switch e := e.(type) {
	case Started:
		if s.version > 0 {
			return fmt.Errorf("%s at version %d: %w", TypeStarted, s.version, ErrInvalidHistory)
		}
		*s = Session{
			id: e.SessionID, tenantID: e.TenantID, userID: e.UserID, current: e.TokenHash,
			rotatedAt: e.At, startedAt: e.At, expiresAt: e.ExpiresAt, lastSeenAt: e.At,
			client: Client{IP: e.IP, UserAgent: e.UserAgent}, version: 1,
		}
		return nil
	case Refreshed:
		return s.change(e, e.SessionID, func() {
			s.spent = append([]string{s.current}, s.spent[:min(len(s.spent), MaxSpentTokens-1)]...)
			s.current = e.TokenHash
			s.generation = e.Generation
			s.rotatedAt, s.lastSeenAt = e.At, e.At
			s.client = Client{IP: e.IP, UserAgent: e.UserAgent}
		})
	case Revoked:
		return s.change(e, e.SessionID, func() {
			s.revoked, s.reason, s.revokedAt = true, e.Reason, e.At
		})
	case nil:
		return fmt.Errorf("nil event: %w", ErrUnknownEvent)
	}
	return fmt.Errorf("event of type %T: %w", e, ErrUnknownEvent)
}

func (s *Session) change(e Event, sessionID string, apply func()) error {
	switch {
	case s.version == 0:
		return fmt.Errorf("history starts with %s, not %s: %w", e.EventType(), TypeStarted, ErrInvalidHistory)
	case s.revoked:
		return fmt.Errorf("%s after %s: %w", e.EventType(), TypeRevoked, ErrInvalidHistory)
	case sessionID != s.id:
		return fmt.Errorf("%s of session %q in the stream of session %q: %w", e.EventType(), sessionID, s.id, ErrInvalidHistory)
	}
	apply()
	s.version++
	return nil
}

// equal compares two hashes in constant time (for equal lengths); an empty
// hash equals nothing.
func equal(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func checkHash(h string) error {
	if h == "" || len(h) > MaxHashLength {
		return fmt.Errorf("token hash of %d bytes: %w", len(h), ErrInvalidInput)
	}
	return nil
}
