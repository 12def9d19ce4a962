package password

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// phcPrefix starts every hash this package makes or accepts: Argon2id,
// version 0x13. Version 0x10 and the other variants are refused.
const phcPrefix = "$argon2id$v=19$"

// maxEncodedLength bounds a stored hash before it is looked at: the prefix,
// three ten-digit parameters, and the longest salt and key (86 base64
// characters each) take 228 bytes.
const maxEncodedLength = 256

// b64 is the PHC string's base64: standard alphabet, no padding, and no
// stray bits in the last character, so that every value has one encoding.
var b64 = base64.RawStdEncoding.Strict()

// phc is a parsed hash. params.SaltLength and params.KeyLength are the
// lengths of salt and key.
type phc struct {
	params Params
	salt   []byte
	key    []byte
}

// String returns the PHC string of h.
func (h phc) String() string {
	b := make([]byte, 0, len(phcPrefix)+40+b64.EncodedLen(len(h.salt))+b64.EncodedLen(len(h.key)))
	b = append(b, phcPrefix...)
	b = append(b, "m="...)
	b = strconv.AppendUint(b, uint64(h.params.MemoryKiB), 10)
	b = append(b, ",t="...)
	b = strconv.AppendUint(b, uint64(h.params.Iterations), 10)
	b = append(b, ",p="...)
	b = strconv.AppendUint(b, uint64(h.params.Parallelism), 10)
	b = append(b, '$')
	b = b64.AppendEncode(b, h.salt)
	b = append(b, '$')
	b = b64.AppendEncode(b, h.key)
	return string(b)
}

// parse decodes a PHC string made by String, refusing any other spelling
// and any cost parameter outside l. Every error wraps ErrInvalidHash and
// names what is wrong without quoting the hash.
func parse(s string, l Limits) (phc, error) {
	if len(s) > maxEncodedLength {
		return phc{}, invalid("longer than %d bytes", maxEncodedLength)
	}
	rest, ok := strings.CutPrefix(s, phcPrefix)
	if !ok {
		if strings.HasPrefix(s, "$argon2id$") {
			return phc{}, invalid("unsupported version (want v=19)")
		}
		return phc{}, invalid("not an argon2id PHC string")
	}
	fields := strings.Split(rest, "$")
	if len(fields) != 3 {
		return phc{}, invalid("want parameters, salt and key after the version, got %d fields", len(fields))
	}

	var h phc
	m, t, p, err := parseCost(fields[0])
	if err != nil {
		return phc{}, err
	}
	if err := checkCost(m, t, p, l); err != nil {
		return phc{}, invalid("%s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	h.params.MemoryKiB, h.params.Iterations, h.params.Parallelism = m, t, p

	if h.salt, err = decodeBase64(fields[1], MinSaltLength, MaxSaltLength); err != nil {
		return phc{}, invalid("salt: %v", err)
	}
	if h.key, err = decodeBase64(fields[2], MinKeyLength, MaxKeyLength); err != nil {
		return phc{}, invalid("key: %v", err)
	}
	h.params.SaltLength, h.params.KeyLength = uint32(len(h.salt)), uint32(len(h.key))
	return h, nil
}

// parseCost parses "m=<m>,t=<t>,p=<p>", exactly that order and nothing else
// (no keyid or data parameter).
func parseCost(s string) (m, t uint32, p uint8, err error) {
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return 0, 0, 0, invalid("want parameters m, t, p, got %d", len(parts))
	}
	var vals [3]uint64
	for i, name := range [3]string{"m", "t", "p"} {
		digits, ok := strings.CutPrefix(parts[i], name+"=")
		if !ok {
			return 0, 0, 0, invalid("parameter %d must be %s=", i+1, name)
		}
		bound := uint64(1<<32 - 1)
		if name == "p" {
			bound = 1<<8 - 1
		}
		v, ok := parseDecimal(digits, bound)
		if !ok {
			return 0, 0, 0, invalid("%s must be a decimal number from 0 to %d without sign or leading zeros", name, bound)
		}
		vals[i] = v
	}
	return uint32(vals[0]), uint32(vals[1]), uint8(vals[2]), nil
}

// parseDecimal parses s as a canonical decimal number no larger than bound:
// digits only, no leading zero unless s is "0".
func parseDecimal(s string, bound uint64) (uint64, bool) {
	if s == "" || len(s) > 10 || (s[0] == '0' && len(s) > 1) {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, v <= bound
}

// decodeBase64 decodes unpadded standard base64 of minLen to maxLen bytes.
// The alphabet is checked first because the decoder skips CR and LF, which
// would give one value several spellings.
func decodeBase64(s string, minLen, maxLen int) ([]byte, error) {
	if n := len(s); n < b64.EncodedLen(minLen) || n > b64.EncodedLen(maxLen) {
		return nil, fmt.Errorf("must be %d to %d bytes (%d to %d base64 characters), got %d characters",
			minLen, maxLen, b64.EncodedLen(minLen), b64.EncodedLen(maxLen), n)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/') {
			return nil, fmt.Errorf("character %d is not unpadded standard base64", i+1)
		}
	}
	b, err := b64.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("not canonical base64: %w", err)
	}
	return b, nil
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidHash, fmt.Sprintf(format, args...))
}
