package domain

import "strings"

// IsUUID reports whether s is a UUID in its canonical form: lowercase and
// hyphenated, 8-4-4-4-12 hexadecimal digits, the only form an id takes. Any
// version and variant is accepted; uppercase, braces, a urn:uuid: prefix and
// the form without hyphens are not.
//
// It is written by hand rather than with uuid.Parse, which allocates to give
// the canonical form back: ids are checked on every request.
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// NormalizeID returns an id as a client may send it in the form ids are
// stored in: without surrounding white space, in lowercase. The result is
// not checked; IsUUID does that.
func NormalizeID(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
