package user

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/rustok/rustok/domain"
)

// DefaultResetTokenTTL is how long a password reset token is valid.
const DefaultResetTokenTTL = time.Hour

// MinResetKeyLength is the shortest server key ResetSecret accepts.
const MinResetKeyLength = 32

// resetSecretLength is the length of a reset secret: base64url (no
// padding) of an HMAC-SHA256.
const resetSecretLength = 43

// ResetSecret derives the secret of the password reset token that the user
// userID of tenant tenantID requested at `at`, from the server key key (at
// least MinResetKeyLength bytes, the same on every instance).
//
// The token is derived rather than random so that the log holds only its
// hash (PasswordResetRequested.TokenHash) and still the mail reactor, which
// sees only the event, can put the token into the link: it derives it again
// from the event's tenant, user and time (docs/adr/0029). Whoever holds key
// and reads the log could do the same, as whoever holds the signing key can
// sign tokens: key is a secret of the same rank.
func ResetSecret(key []byte, tenantID, userID string, at time.Time) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("rustok/password-reset/v1\x00" + tenantID + "\x00" + userID + "\x00" + strconv.FormatInt(at.UTC().UnixNano(), 10)))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// ResetTokenHash is the hash of a reset secret that the log keeps
// (hex SHA-256: the secret has 256 bits of entropy, no slow hash needed).
func ResetTokenHash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// ResetToken is the token handed to the user: "<user id>.<secret>", so
// that the reset finds the user without a lookup by secret.
func ResetToken(userID, secret string) string { return userID + "." + secret }

// ParseResetToken splits a token made by ResetToken. Anything else — a
// user id that is not a lowercase UUID, a secret of another length or
// alphabet — is ErrInvalidResetToken, the one answer to every bad token.
func ParseResetToken(token string) (userID, secret string, err error) {
	userID, secret, ok := strings.Cut(strings.TrimSpace(token), ".")
	if !ok || len(secret) != resetSecretLength {
		return "", "", ErrInvalidResetToken
	}
	if !domain.IsUUID(userID) {
		return "", "", ErrInvalidResetToken
	}
	if _, err := base64.RawURLEncoding.Strict().DecodeString(secret); err != nil {
		return "", "", ErrInvalidResetToken
	}
	return userID, secret, nil
}
