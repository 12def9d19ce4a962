package session

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/session"
)

// The refresh token format (docs/adr/0026): "<session id>.<secret>", the
// session id a lowercase hyphenated UUID (36 bytes), the secret 32 bytes in
// unpadded base64url (43 bytes). The session id makes the session found by
// its stream id, without a lookup table; the secret proves possession.
const (
	// RefreshTokenLength is the length of every refresh token, in bytes.
	RefreshTokenLength = uuidLength + 1 + secretTextLength
	// MaxRefreshTokenInput bounds what ParseRefreshToken looks at: a longer
	// input is refused on its length alone, before any other work.
	MaxRefreshTokenInput = 256

	uuidLength       = 36
	secretBytes      = 32
	secretTextLength = 43 // base64.RawURLEncoding.EncodedLen(secretBytes)
)

// MinRefreshKeyLength is the shortest Deps.RefreshKey, in bytes.
const MinRefreshKeyLength = 32

// ErrInvalidRefreshToken (UNAUTHENTICATED) is the answer to a refresh token
// that is malformed, names no session of the tenant, or was never issued by
// its session: the client must sign in again. It is domain/session's
// ErrInvalidToken, so that both match each other with errors.Is.
var ErrInvalidRefreshToken = session.ErrInvalidToken

// refreshToken is a parsed refresh token.
type refreshToken struct {
	sessionID string
	secret    []byte
}

// String returns the token's text.
func (t refreshToken) String() string {
	return t.sessionID + "." + base64.RawURLEncoding.EncodeToString(t.secret)
}

// hash returns what the session stores of the token: the lowercase hex of
// SHA-256 over the token's whole text. The secret has 256 bits of entropy,
// so a fast hash is enough: nobody can search the space, and no salt is
// needed (docs/adr/0026).
func (t refreshToken) hash() string { return hashToken(t.String()) }

func hashToken(text string) string {
	sum := sha256.Sum256([]byte(text))
	return hex.EncodeToString(sum[:])
}

// newRefreshToken returns the first token of session sessionID: 32 bytes
// from crypto/rand.
func newRefreshToken(sessionID string) (refreshToken, error) {
	secret := make([]byte, secretBytes)
	if _, err := rand.Read(secret); err != nil {
		return refreshToken{}, fmt.Errorf("refresh token: %w", err)
	}
	return refreshToken{sessionID: sessionID, secret: secret}, nil
}

// derivationLabel separates this use of the refresh key from any other.
const derivationLabel = "rustok/refresh-token/v1"

// deriveRefreshToken returns the token of generation generation of session
// sessionID, whose previous token hashes to previousHash:
//
//	secret = HMAC-SHA256(key, label 0x00 sessionID 0x00 uint64be(generation) previousHash)
//
// Rotations are derived, not random, so that the token a rotation issued can
// be given again (OutcomeSamePair) although only its hash is stored: whoever
// holds the key and presents the previous token can recompute it, nobody
// else. The previous hash chains each token to the random first one.
func deriveRefreshToken(key []byte, sessionID string, generation int, previousHash string) refreshToken {
	mac := hmac.New(sha256.New, key)
	var gen [8]byte
	binary.BigEndian.PutUint64(gen[:], uint64(generation))
	mac.Write([]byte(derivationLabel))
	mac.Write([]byte{0})
	mac.Write([]byte(sessionID))
	mac.Write([]byte{0})
	mac.Write(gen[:])
	mac.Write([]byte(previousHash))
	return refreshToken{sessionID: sessionID, secret: mac.Sum(nil)}
}

// ParseRefreshToken checks the form of a refresh token and returns the id
// of its session; it does not say whether the session issued it. It is for
// the transport (sign-out by refresh token) and for Refresh. The cost is
// bounded whatever raw is: an input longer than MaxRefreshTokenInput is
// refused on its length.
//
// Errors: ErrInvalidRefreshToken, wrapping a description of the fault (for
// the log; the client sees only the message).
func ParseRefreshToken(raw string) (sessionID string, err error) {
	t, err := parseRefreshToken(raw)
	if err != nil {
		return "", err
	}
	return t.sessionID, nil
}

func parseRefreshToken(raw string) (refreshToken, error) {
	if len(raw) > MaxRefreshTokenInput {
		return refreshToken{}, invalidToken("%d bytes", len(raw))
	}
	raw = strings.TrimSpace(raw)
	if len(raw) != RefreshTokenLength {
		return refreshToken{}, invalidToken("%d bytes, want %d", len(raw), RefreshTokenLength)
	}
	id, secretText := raw[:uuidLength], raw[uuidLength+1:]
	if raw[uuidLength] != '.' {
		return refreshToken{}, invalidToken("no separator after the session id")
	}
	if !domain.IsUUID(id) {
		return refreshToken{}, invalidToken("session id is not a lowercase UUID")
	}
	secret, err := base64.RawURLEncoding.Strict().DecodeString(secretText)
	if err != nil || len(secret) != secretBytes {
		return refreshToken{}, invalidToken("secret is not %d bytes of unpadded base64url", secretBytes)
	}
	return refreshToken{sessionID: id, secret: secret}, nil
}

func invalidToken(format string, args ...any) error {
	return ErrInvalidRefreshToken.Wrap(fmt.Errorf("malformed refresh token: "+format, args...))
}
