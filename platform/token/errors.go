package token

import "errors"

// ErrInvalid is matched (errors.Is) by every error of Verify: the token is
// not a valid access token of this key set, and the request is
// UNAUTHENTICATED. The sentinels below say why, for logs and metrics; their
// messages are safe to show but tell a client nothing it needs.
var ErrInvalid = errors.New("invalid access token")

// Reasons a token is refused. Each matches ErrInvalid too.
var (
	// ErrMalformed: not a compact JWS of three base64url segments, longer than
	// MaxTokenLen, or a header or payload that is not the JSON expected.
	ErrMalformed = invalid("malformed access token")
	// ErrHeader: the header carries a parameter other than alg, kid and typ
	// (such as jku, x5u, jwk, x5c or crit, which are never followed), or its
	// typ is not "at+jwt".
	ErrHeader = invalid("access token header not accepted")
	// ErrAlgorithm: the header's alg is not the key set's algorithm (this
	// includes "none", and HS256 under EdDSA).
	ErrAlgorithm = invalid("access token algorithm not accepted")
	// ErrUnknownKey: the header has no kid, or a kid that is not in the key
	// set (a key removed after rotation, or a stranger's).
	ErrUnknownKey = invalid("access token key unknown")
	// ErrSignature: the signature does not verify under the key named by kid.
	ErrSignature = invalid("access token signature invalid")
	// ErrMissingClaim: exp, iss, aud, sub, tid, sid or role is missing or
	// empty.
	ErrMissingClaim = invalid("access token claim missing")
	// ErrRole: the role claim is not one of the roles.
	ErrRole = invalid("access token role unknown")
	// ErrExpired: exp is past, by more than the leeway.
	ErrExpired = invalid("access token expired")
	// ErrNotYetValid: nbf or iat is in the future, by more than the leeway.
	ErrNotYetValid = invalid("access token not yet valid")
	// ErrIssuer: iss is not the configured issuer.
	ErrIssuer = invalid("access token issuer not accepted")
	// ErrAudience: aud does not name the configured audience.
	ErrAudience = invalid("access token audience not accepted")
)

// ErrWrongTenant is returned by Claims.CheckTenant: the token is valid but
// belongs to another tenant than the request's, and the request is
// FORBIDDEN. It does not match ErrInvalid.
var ErrWrongTenant = errors.New("access token belongs to another tenant")

// invalidError is a reason for refusing a token; it matches ErrInvalid.
type invalidError struct{ msg string }

func invalid(msg string) error { return &invalidError{msg} }

func (e *invalidError) Error() string { return e.msg }

// Is reports whether target is ErrInvalid, so that every reason matches it.
func (e *invalidError) Is(target error) bool { return target == ErrInvalid }
