package apikey

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
)

// The secret format (CONTRACT.md, docs/adr/0027): SecretMarker followed by
// 32 random bytes in unpadded base64url (43 characters). Its first
// PrefixLength characters are the public prefix that finds the key.
const (
	// SecretMarker begins every secret, so that a leaked one is recognized
	// (secret scanners, logs).
	SecretMarker = "rtk_"
	// SecretLength is the length of every secret, in bytes.
	SecretLength = len(SecretMarker) + secretTextLength
	// PrefixLength is the length of the public prefix, in bytes: the marker
	// and 8 characters (48 bits) of the random part. Prefixes may collide;
	// the hash decides.
	PrefixLength = 12
	// HashLength is the length of a secret hash: hex SHA-256.
	HashLength = 2 * sha256.Size

	secretBytes      = 32
	secretTextLength = 43 // base64.RawURLEncoding.EncodedLen(secretBytes)
)

var secretEncoding = base64.RawURLEncoding.Strict()

// NewSecret draws a new secret from r (crypto/rand.Reader in production)
// and returns it with its public prefix and its hash, the only things that
// are stored.
//
// Errors: one wrapping ErrShortRandom when r fails.
func NewSecret(r io.Reader) (secret, prefix, hash string, err error) {
	b := make([]byte, secretBytes)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", "", "", fmt.Errorf("%w: %w", ErrShortRandom, err)
	}
	secret = SecretMarker + secretEncoding.EncodeToString(b)
	return secret, secret[:PrefixLength], HashSecret(secret), nil
}

// ParseSecret checks that s is exactly of the form of NewSecret's secrets
// (no surrounding space, the canonical base64url encoding of 32 bytes) and
// returns its prefix and hash. It accepts any string without panicking and
// looks at no more than SecretLength bytes of it.
//
// Errors: ErrInvalidSecret, whatever is wrong.
func ParseSecret(s string) (prefix, hash string, err error) {
	if len(s) != SecretLength || !strings.HasPrefix(s, SecretMarker) {
		return "", "", ErrInvalidSecret
	}
	text := s[len(SecretMarker):]
	for i := 0; i < len(text); i++ {
		// The decoder skips new lines: check every character first.
		if !isBase64URL(text[i]) {
			return "", "", ErrInvalidSecret
		}
	}
	// Strict decoding refuses a last character with bits beyond the 32
	// bytes: one secret has one text.
	if b, err := secretEncoding.DecodeString(text); err != nil || len(b) != secretBytes {
		return "", "", ErrInvalidSecret
	}
	return s[:PrefixLength], HashSecret(s), nil
}

// HashSecret returns what is stored of a secret: the lowercase hex of
// SHA-256 over its whole text.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// ValidPrefix reports whether p has the shape of a secret's prefix: the
// marker and 8 base64url characters.
func ValidPrefix(p string) bool {
	if len(p) != PrefixLength || !strings.HasPrefix(p, SecretMarker) {
		return false
	}
	for i := len(SecretMarker); i < len(p); i++ {
		if !isBase64URL(p[i]) {
			return false
		}
	}
	return true
}

// validHash reports whether h has the shape of HashSecret's result.
func validHash(h string) bool {
	if len(h) != HashLength {
		return false
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func isBase64URL(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}
