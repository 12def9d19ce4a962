package user

import (
	"strings"
	"unicode/utf8"

	"github.com/rustok/rustok/domain"
)

// Limits of email addresses (RFC 5321 section 4.5.3.1, with the 254 of RFC
// 3696 errata for the whole path).
const (
	// MaxEmailLength is the longest address, in bytes.
	MaxEmailLength = 254
	// MaxEmailLocalLength is the longest part before the "@", in bytes.
	MaxEmailLocalLength = 64
	// maxEmailInput bounds the input NormalizeEmail looks at, so that
	// trimming and lowercasing a huge value costs nothing.
	maxEmailInput = 1024
)

// EmailScope is the event store reservation scope of user emails: the
// command layer reserves EmailReservation(tenant, email) in it, in the same
// append as user.registered, and moves the reservation when the email
// changes. Renaming it lets two users of a tenant share an email.
const EmailScope = "user.email"

// NormalizeEmail trims s, lowercases its ASCII letters and checks that it is
// an address name@domain:
//   - at most MaxEmailLength bytes, all ASCII (internationalized addresses are
//     not accepted; a Unicode domain must be given in its xn-- form);
//   - the name is 1 to MaxEmailLocalLength bytes of a-z, 0-9 and
//     !#$%&'*+/=?^_`{|}~.- with no leading, trailing or doubled '.' (the
//     RFC 5321 dot-string: quoted names are not accepted);
//   - the domain is at least two labels of 1 to 63 bytes of a-z, 0-9 and '-'
//     separated by '.', no label starting or ending with '-', the last label
//     not all digits, and no trailing '.'.
//
// It accepts any string without panicking, and NormalizeEmail of its result
// returns the result. Errors: ErrInvalidEmail.
func NormalizeEmail(s string) (string, error) {
	if len(s) > maxEmailInput {
		return "", ErrInvalidEmail
	}
	s = strings.TrimSpace(s)
	if len(s) > MaxEmailLength {
		return "", ErrInvalidEmail
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			// ASCII only, checked before lowercasing: Unicode case mapping
			// would turn the Kelvin sign into k.
			return "", ErrInvalidEmail
		}
	}
	s = strings.ToLower(s)
	at := strings.LastIndexByte(s, '@')
	if at < 0 || !validLocalPart(s[:at]) || !validEmailDomain(s[at+1:]) {
		return "", ErrInvalidEmail
	}
	return s, nil
}

// EmailReservation returns the value that reserves email in the tenant
// tenantID, in the scope EmailScope: "<tenant id>/<normalized email>". The
// tenant id comes first and has a fixed form, so two different pairs never
// give the same value. Errors: ErrInvalidTenant, ErrInvalidEmail.
func EmailReservation(tenantID, email string) (string, error) {
	if !domain.IsUUID(tenantID) {
		return "", ErrInvalidTenant
	}
	email, err := NormalizeEmail(email)
	if err != nil {
		return "", err
	}
	return tenantID + "/" + email, nil
}

func validLocalPart(s string) bool {
	if len(s) < 1 || len(s) > MaxEmailLocalLength || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte(".!#$%&'*+/=?^_`{|}~-", c) >= 0) {
			return false
		}
	}
	return true
}

func validEmailDomain(s string) bool {
	labels := strings.Split(s, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if len(l) < 1 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			if c := l[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return strings.Trim(labels[len(labels)-1], "0123456789") != ""
}
