package user

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/rustok/rustok/domain"
)

// Password policy defaults.
const (
	// DefaultMinLength is the shortest password by default, in characters
	// (the default of auth.password.min_length).
	DefaultMinLength = 8
	// DefaultMaxBytes is the longest password by default, in bytes: it bounds
	// what a client can make the server hash.
	DefaultMaxBytes = 1024
)

// Policy is the password policy. The zero Policy is the default policy.
type Policy struct {
	// MinLength is the shortest password, in characters (Unicode code points,
	// as given: no normalization). 0 means DefaultMinLength.
	MinLength int
	// MaxBytes is the longest password, in bytes of UTF-8. 0 means
	// DefaultMaxBytes.
	MaxBytes int
}

// Validate reports a policy that no password could pass or that has
// negative limits, as an error wrapping ErrInvalidPolicy (check it when the
// server starts).
func (p Policy) Validate() error {
	if p.MinLength < 0 || p.MaxBytes < 0 {
		return fmt.Errorf("negative limit in %+v: %w", p, ErrInvalidPolicy)
	}
	p = p.withDefaults()
	if p.MinLength > p.MaxBytes {
		return fmt.Errorf("minimum length %d characters exceeds the maximum of %d bytes: %w", p.MinLength, p.MaxBytes, ErrInvalidPolicy)
	}
	return nil
}

func (p Policy) withDefaults() Policy {
	if p.MinLength <= 0 {
		p.MinLength = DefaultMinLength
	}
	if p.MaxBytes <= 0 {
		p.MaxBytes = DefaultMaxBytes
	}
	return p
}

// Check reports whether password is acceptable for the user whose email is
// email, and returns nil if it is. Passwords are not trimmed: every
// character counts. The rules, in the order checked: at most MaxBytes bytes;
// valid UTF-8; at least MinLength characters; not the email address
// (ignoring surrounding white space and case, by Unicode case folding).
//
// Errors: ErrPasswordTooLong, ErrPasswordEncoding, ErrPasswordTooShort,
// ErrPasswordIsEmail (the first two limits with a message naming the
// limit).
func (p Policy) Check(password, email string) error {
	p = p.withDefaults()
	if len(password) > p.MaxBytes {
		return domain.InvalidField("password", "password must be at most %d bytes", p.MaxBytes).Wrap(ErrPasswordTooLong)
	}
	if !utf8.ValidString(password) {
		return ErrPasswordEncoding
	}
	if utf8.RuneCountInString(password) < p.MinLength {
		return domain.InvalidField("password", "password must be at least %d characters", p.MinLength).Wrap(ErrPasswordTooShort)
	}
	if e := strings.TrimSpace(email); e != "" && strings.EqualFold(strings.TrimSpace(password), e) {
		return ErrPasswordIsEmail
	}
	return nil
}
