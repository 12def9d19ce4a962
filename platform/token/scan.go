package token

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
)

// MaxTokenLen is the longest token Verify looks at, in bytes. RusToK's
// tokens are about 400 bytes; the limit only bounds what a hostile client
// can make Verify decode (the HTTP layer refuses headers over 8 KiB).
const MaxTokenLen = 4096

// header is what Verify needs of a token's JOSE header.
type header struct {
	alg, kid string
}

// Header parameters of an access token. Any other is refused: RusToK never
// writes one, and those that point at keys or certificates (jku, x5u, jwk,
// x5c) or change how the token is read (crit, b64) must never be followed.
const (
	headerAlg = "alg"
	headerKID = "kid"
	headerTyp = "typ"
)

// scan checks the shape of raw before go-jose parses it: at most MaxTokenLen
// bytes, exactly three non-empty segments of canonical unpadded base64url
// (RFC 7515 section 7.1), and a header object of alg, kid and typ only, typ
// being at+jwt (RFC 9068 section 4). It returns the header, or an error
// wrapping ErrMalformed or ErrHeader. Its cost is linear in len(raw) and its
// memory bounded by MaxTokenLen.
func scan(raw string) (header, error) {
	if raw == "" {
		return header{}, fmt.Errorf("%w: empty", ErrMalformed)
	}
	if len(raw) > MaxTokenLen {
		return header{}, fmt.Errorf("%w: longer than %d bytes", ErrMalformed, MaxTokenLen)
	}
	var dots [2]int
	n := 0
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '.' {
			if n == len(dots) {
				return header{}, fmt.Errorf("%w: more than three segments", ErrMalformed)
			}
			dots[n] = i
			n++
			continue
		}
		if !isBase64URL(c) {
			return header{}, fmt.Errorf("%w: byte %d is not base64url", ErrMalformed, i)
		}
	}
	if n != len(dots) {
		return header{}, fmt.Errorf("%w: %d segments, want three", ErrMalformed, n+1)
	}
	segments := [3]string{raw[:dots[0]], raw[dots[0]+1 : dots[1]], raw[dots[1]+1:]}
	for i, s := range segments {
		if !canonicalBase64(s) {
			return header{}, fmt.Errorf("%w: segment %d is empty or not canonical base64url", ErrMalformed, i+1)
		}
	}
	return parseHeader(segments[0])
}

// parseHeader decodes the first segment of a token.
func parseHeader(segment string) (header, error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(segment)
	if err != nil {
		return header{}, fmt.Errorf("%w: header: %w", ErrMalformed, err)
	}
	// A map keeps the parameter names exactly as written: go-jose matches
	// them exactly too, where a struct would match "ALG" to alg.
	var params map[string]json.RawMessage
	if err := json.Unmarshal(b, &params); err != nil {
		return header{}, fmt.Errorf("%w: header is not a JSON object", ErrMalformed)
	}
	var h header
	var typ string
	for name, value := range params {
		var dst *string
		switch name {
		case headerAlg:
			dst = &h.alg
		case headerKID:
			dst = &h.kid
		case headerTyp:
			dst = &typ
		default:
			return header{}, fmt.Errorf("%w: parameter %q", ErrHeader, clip(name))
		}
		if err := json.Unmarshal(value, dst); err != nil {
			return header{}, fmt.Errorf("%w: %s is not a string", ErrMalformed, name)
		}
	}
	if !strings.EqualFold(typ, "at+jwt") && !strings.EqualFold(typ, "application/at+jwt") {
		return header{}, fmt.Errorf("%w: typ %q, want at+jwt", ErrHeader, clip(typ))
	}
	return h, nil
}

// isBase64URL reports whether c is in the base64url alphabet (RFC 4648
// section 5), without padding.
func isBase64URL(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

// canonicalBase64 reports whether s, made of base64url characters, is a
// non-empty unpadded encoding whose unused trailing bits are zero. Go's
// decoder ignores those bits, so without this check one signature would
// have several spellings, and a token several strings.
func canonicalBase64(s string) bool {
	switch len(s) % 4 {
	case 0:
		return s != ""
	case 1:
		return false
	case 2: // 12 bits for one byte: the last character's low 4 bits unused
		return base64Value(s[len(s)-1])&0x0f == 0
	default: // 18 bits for two bytes: the low 2 bits unused
		return base64Value(s[len(s)-1])&0x03 == 0
	}
}

// base64Value returns the 6-bit value of a base64url character.
func base64Value(c byte) byte {
	switch {
	case 'A' <= c && c <= 'Z':
		return c - 'A'
	case 'a' <= c && c <= 'z':
		return c - 'a' + 26
	case '0' <= c && c <= '9':
		return c - '0' + 52
	case c == '-':
		return 62
	default:
		return 63
	}
}

// clip shortens a value taken from an unverified token before it goes into
// an error message.
func clip(s string) string {
	const most = 32
	if len(s) > most {
		return s[:most] + "…"
	}
	return s
}
