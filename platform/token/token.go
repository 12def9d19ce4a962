package token

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/rustok/rustok/config"
)

// Defaults of Options.
const (
	// DefaultAccessTTL is the lifetime of an access token (auth.jwt.access_ttl).
	DefaultAccessTTL = 15 * time.Minute
	// DefaultLeeway is the clock skew tolerated on exp, nbf and iat.
	DefaultLeeway = 30 * time.Second
	// MaxLeeway bounds Options.Leeway: a leeway is for clock skew, not for
	// lengthening tokens.
	MaxLeeway = 5 * time.Minute
)

// Type is the typ header of every access token (RFC 9068 section 2.1).
const Type = "at+jwt"

// Role is a user's role, the "role" claim.
type Role string

// The roles of CONTRACT.md.
const (
	RoleSuperAdmin Role = "super_admin"
	RoleAdmin      Role = "admin"
	RoleManager    Role = "manager"
	RoleCustomer   Role = "customer"
)

// Valid reports whether r is one of the four roles.
func (r Role) Valid() bool {
	switch r {
	case RoleSuperAdmin, RoleAdmin, RoleManager, RoleCustomer:
		return true
	}
	return false
}

// Options configures an Authority.
type Options struct {
	// Keys sign and verify tokens; its algorithm is the only one accepted.
	// Required.
	Keys KeySet
	// Issuer is the "iss" claim written and required. Required.
	Issuer string
	// Audience is the "aud" claim written (a string) and required. Required.
	Audience string
	// AccessTTL is the lifetime of a token, whole seconds, at least one.
	// Default DefaultAccessTTL (15 minutes).
	AccessTTL time.Duration
	// Leeway is the clock skew tolerated when exp, nbf and iat are checked,
	// at most MaxLeeway. Default DefaultLeeway (30 seconds); zero means the
	// default.
	Leeway time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// OptionsFromConfig returns the Options that the keys auth.jwt.* describe,
// loading the keys (see LoadKeySet); Leeway and Now keep their defaults.
func OptionsFromConfig(c config.JWT) (Options, error) {
	keys, err := LoadKeySet(c.Algorithm, c.Secret, c.Keys)
	if err != nil {
		return Options{}, err
	}
	return Options{Keys: keys, Issuer: c.Issuer, Audience: c.Audience, AccessTTL: c.AccessTTL}, nil
}

// Authority issues and verifies access tokens under one key set. Its
// configuration is immutable; it remembers the tokens it verified (see
// verified). It is safe for concurrent use.
type Authority struct {
	keys     KeySet
	signer   jose.Signer
	algs     []jose.SignatureAlgorithm
	issuer   string
	audience string
	ttl      time.Duration
	leeway   time.Duration
	now      func() time.Time
	verified *verified
}

// New returns an Authority. It returns an error when opts.Keys is empty,
// Issuer or Audience is empty, or AccessTTL or Leeway is out of bounds.
func New(opts Options) (*Authority, error) {
	if len(opts.Keys.keys) == 0 {
		return nil, errors.New("token: no key")
	}
	if opts.Issuer == "" || opts.Audience == "" {
		return nil, errors.New("token: issuer and audience must be set")
	}
	if opts.AccessTTL == 0 {
		opts.AccessTTL = DefaultAccessTTL
	}
	if opts.AccessTTL < time.Second || opts.AccessTTL%time.Second != 0 {
		return nil, fmt.Errorf("token: access TTL must be whole seconds, at least one, got %s", opts.AccessTTL)
	}
	if opts.Leeway == 0 {
		opts.Leeway = DefaultLeeway
	}
	if opts.Leeway < 0 || opts.Leeway > MaxLeeway {
		return nil, fmt.Errorf("token: leeway must be positive and at most %s, got %s", MaxLeeway, opts.Leeway)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	alg := jose.SignatureAlgorithm(opts.Keys.alg)
	current := opts.Keys.keys[0]
	// go-jose writes a kid itself only for asymmetric keys wrapped in a
	// JSONWebKey: an extra header writes it under both algorithms.
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: alg, Key: current.sign},
		(&jose.SignerOptions{}).WithType(Type).WithHeader(headerKID, current.kid),
	)
	if err != nil {
		return nil, fmt.Errorf("token: signer: %w", err)
	}
	return &Authority{
		keys:     opts.Keys,
		signer:   signer,
		algs:     []jose.SignatureAlgorithm{alg},
		issuer:   opts.Issuer,
		audience: opts.Audience,
		ttl:      opts.AccessTTL,
		leeway:   opts.Leeway,
		now:      opts.Now,
		verified: &verified{},
	}, nil
}

// Keys returns the key set, for its JWKS.
func (a *Authority) Keys() KeySet { return a.keys }

// AccessTTL returns the lifetime of the tokens Issue makes (expires_in).
func (a *Authority) AccessTTL() time.Duration { return a.ttl }

// Grant is what an access token asserts.
type Grant struct {
	// UserID is the user, the "sub" claim.
	UserID string
	// TenantID is the user's tenant, the "tid" claim.
	TenantID string
	// SessionID is the session the token was issued for, the "sid" claim.
	SessionID string
	// Role is the user's role, the "role" claim.
	Role Role
}

// Claims is the content of a verified (or issued) access token.
type Claims struct {
	Grant
	// ID is the token's unique id, the "jti" claim ("" if a foreign issuer
	// left it out).
	ID string
	// IssuedAt is "iat" (zero if absent); ExpiresAt is "exp"; both UTC.
	IssuedAt, ExpiresAt time.Time
	// KeyID is the kid of the key that signed the token.
	KeyID string
}

// Issued is a new access token.
type Issued struct {
	// Token is the compact JWS, for "Authorization: Bearer".
	Token string
	// Claims is what Token says.
	Claims Claims
}

// wireClaims is the JSON payload of an access token.
type wireClaims struct {
	Issuer    string           `json:"iss,omitempty"`
	Subject   string           `json:"sub,omitempty"`
	Audience  jwt.Audience     `json:"aud,omitempty"`
	Expiry    *jwt.NumericDate `json:"exp,omitempty"`
	NotBefore *jwt.NumericDate `json:"nbf,omitempty"`
	IssuedAt  *jwt.NumericDate `json:"iat,omitempty"`
	ID        string           `json:"jti,omitempty"`
	TenantID  string           `json:"tid,omitempty"`
	SessionID string           `json:"sid,omitempty"`
	Role      Role             `json:"role,omitempty"`
}

// Issue signs a token for g with the newest key: iat now (whole seconds),
// exp iat + AccessTTL, a random jti. It returns an error when a field of g
// is empty or its role unknown.
func (a *Authority) Issue(g Grant) (Issued, error) {
	switch {
	case g.UserID == "", g.TenantID == "", g.SessionID == "":
		return Issued{}, errors.New("issue access token: user, tenant and session must be set")
	case !g.Role.Valid():
		return Issued{}, fmt.Errorf("issue access token: unknown role %q", g.Role)
	}
	iat := time.Unix(a.now().Unix(), 0).UTC()
	exp := iat.Add(a.ttl)
	c := Claims{Grant: g, ID: rand.Text(), IssuedAt: iat, ExpiresAt: exp, KeyID: a.keys.keys[0].kid}
	payload, err := json.Marshal(wireClaims{
		Issuer:    a.issuer,
		Subject:   g.UserID,
		Audience:  jwt.Audience{a.audience},
		Expiry:    jwt.NewNumericDate(exp),
		IssuedAt:  jwt.NewNumericDate(iat),
		ID:        c.ID,
		TenantID:  g.TenantID,
		SessionID: g.SessionID,
		Role:      g.Role,
	})
	if err != nil {
		return Issued{}, fmt.Errorf("issue access token: %w", err)
	}
	jws, err := a.signer.Sign(payload)
	if err != nil {
		return Issued{}, fmt.Errorf("issue access token: sign: %w", err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		return Issued{}, fmt.Errorf("issue access token: serialize: %w", err)
	}
	return Issued{Token: raw, Claims: c}, nil
}

// Verify returns the claims of raw if it is a valid access token of this
// key set now. Otherwise it returns an error that matches ErrInvalid and
// one of the sentinels that say why (ErrMalformed, ErrHeader, ErrAlgorithm,
// ErrUnknownKey, ErrSignature, ErrMissingClaim, ErrRole, ErrExpired,
// ErrNotYetValid, ErrIssuer, ErrAudience). It does not check the tenant:
// see Claims.CheckTenant.
//
// Verify never panics; its cost is bounded by MaxTokenLen whatever raw is,
// and it reads the claims only after the signature verified.
func (a *Authority) Verify(raw string) (Claims, error) {
	if e, ok := a.verified.get(raw); ok {
		// Verified before: only the clock may have changed the answer.
		if err := a.checkTimes(e.claims.ExpiresAt, e.nbf, e.claims.IssuedAt); err != nil {
			return Claims{}, err
		}
		return e.claims, nil
	}
	h, err := scan(raw)
	if err != nil {
		return Claims{}, err
	}
	if h.alg != string(a.keys.alg) {
		return Claims{}, fmt.Errorf("%w: alg %q, want %s", ErrAlgorithm, clip(h.alg), a.keys.alg)
	}
	if h.kid == "" {
		return Claims{}, fmt.Errorf("%w: no kid", ErrUnknownKey)
	}
	key, ok := a.keys.find(h.kid)
	if !ok {
		return Claims{}, fmt.Errorf("%w: kid %q", ErrUnknownKey, clip(h.kid))
	}
	// The allow-list is the key set's one algorithm, checked again by
	// go-jose; the key is the one kid named, of the type that algorithm
	// needs.
	tok, err := jwt.ParseSigned(raw, a.algs)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	var w wireClaims
	if err := tok.Claims(key.verify, &w); err != nil {
		if errors.Is(err, jose.ErrCryptoFailure) {
			return Claims{}, ErrSignature
		}
		return Claims{}, fmt.Errorf("%w: claims: %w", ErrMalformed, err)
	}
	c, err := a.check(w, key.kid)
	if err != nil {
		return Claims{}, err
	}
	var nbf time.Time
	if w.NotBefore != nil {
		nbf = w.NotBefore.Time().UTC()
	}
	a.verified.put(raw, verifiedEntry{claims: c, nbf: nbf})
	return c, nil
}

// checkTimes applies the time rules with the leeway: before exp, not
// before nbf or iat (zero: absent).
func (a *Authority) checkTimes(exp, nbf, iat time.Time) error {
	now := a.now()
	if !now.Add(-a.leeway).Before(exp) {
		return fmt.Errorf("%w at %s", ErrExpired, exp.UTC().Format(time.RFC3339))
	}
	if !nbf.IsZero() && now.Add(a.leeway).Before(nbf) {
		return fmt.Errorf("%w: nbf %s", ErrNotYetValid, nbf.UTC().Format(time.RFC3339))
	}
	if !iat.IsZero() && now.Add(a.leeway).Before(iat) {
		return fmt.Errorf("%w: iat %s", ErrNotYetValid, iat.UTC().Format(time.RFC3339))
	}
	return nil
}

// check applies the rules of the claims of a token whose signature verified.
func (a *Authority) check(w wireClaims, kid string) (Claims, error) {
	switch {
	case w.Expiry == nil:
		return Claims{}, fmt.Errorf("%w: exp", ErrMissingClaim)
	case w.Issuer == "":
		return Claims{}, fmt.Errorf("%w: iss", ErrMissingClaim)
	case len(w.Audience) == 0:
		return Claims{}, fmt.Errorf("%w: aud", ErrMissingClaim)
	case w.Issuer != a.issuer:
		return Claims{}, fmt.Errorf("%w: %q", ErrIssuer, clip(w.Issuer))
	case !w.Audience.Contains(a.audience):
		return Claims{}, ErrAudience
	}
	exp := w.Expiry.Time().UTC()
	var nbf, iat time.Time
	if w.NotBefore != nil {
		nbf = w.NotBefore.Time().UTC()
	}
	if w.IssuedAt != nil {
		iat = w.IssuedAt.Time().UTC()
	}
	if err := a.checkTimes(exp, nbf, iat); err != nil {
		return Claims{}, err
	}
	switch {
	case w.Subject == "":
		return Claims{}, fmt.Errorf("%w: sub", ErrMissingClaim)
	case w.TenantID == "":
		return Claims{}, fmt.Errorf("%w: tid", ErrMissingClaim)
	case w.SessionID == "":
		return Claims{}, fmt.Errorf("%w: sid", ErrMissingClaim)
	case w.Role == "":
		return Claims{}, fmt.Errorf("%w: role", ErrMissingClaim)
	case !w.Role.Valid():
		return Claims{}, fmt.Errorf("%w: %q", ErrRole, clip(string(w.Role)))
	}
	return Claims{
		Grant:     Grant{UserID: w.Subject, TenantID: w.TenantID, SessionID: w.SessionID, Role: w.Role},
		ID:        w.ID,
		IssuedAt:  iat,
		ExpiresAt: exp,
		KeyID:     kid,
	}, nil
}

// CheckTenant returns nil when the token may act on the request's tenant:
// its tid is tenant, or its role is super_admin, who may act on every
// tenant (CONTRACT.md, "Who administers whom"). Otherwise it returns
// ErrWrongTenant (FORBIDDEN). An empty tenant matches no token.
func (c Claims) CheckTenant(tenant string) error {
	if tenant != "" && (c.TenantID == tenant || c.Role == RoleSuperAdmin) {
		return nil
	}
	return ErrWrongTenant
}
