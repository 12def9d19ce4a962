package user_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/user"
)

func TestPolicyCheck(t *testing.T) {
	const email = "alice@example.com"
	tests := []struct {
		name     string
		policy   user.Policy
		password string
		email    string
		wantErr  error
		wantMsg  string
	}{
		{name: "eight ASCII characters pass the default", password: "abcdefgh", email: email},
		{name: "seven are too short", password: "abcdefg", email: email, wantErr: user.ErrPasswordTooShort, wantMsg: "at least 8 characters"},
		{name: "empty is too short", password: "", email: email, wantErr: user.ErrPasswordTooShort},
		{name: "length counts characters, not bytes: 8 Cyrillic letters pass", password: "пароль12", email: email},
		{name: "7 Cyrillic characters (14 bytes) are too short", password: "пароль1", email: email, wantErr: user.ErrPasswordTooShort},
		{name: "4 emoji (16 bytes) are 4 characters", password: "😀😀😀😀", email: email, wantErr: user.ErrPasswordTooShort},
		{name: "8 emoji pass", password: strings.Repeat("😀", 8), email: email},
		{name: "combining marks count as characters (no normalization)", password: "e\u0301e\u0301e\u0301e\u0301", email: email},
		{name: "spaces count and are not trimmed", password: "  abcd  ", email: email},
		{name: "custom minimum", policy: user.Policy{MinLength: 12}, password: "abcdefghijk", email: email, wantErr: user.ErrPasswordTooShort, wantMsg: "at least 12 characters"},
		{name: "custom minimum met", policy: user.Policy{MinLength: 12}, password: "abcdefghijkl", email: email},
		{name: "1024 bytes is the maximum", password: strings.Repeat("a", 1024), email: email},
		{name: "1025 bytes are too long", password: strings.Repeat("a", 1025), email: email, wantErr: user.ErrPasswordTooLong, wantMsg: "at most 1024 bytes"},
		{name: "the maximum is in bytes: 342 three-byte characters are too long", password: strings.Repeat("€", 342), email: email, wantErr: user.ErrPasswordTooLong},
		{name: "341 three-byte characters fit", password: strings.Repeat("€", 341), email: email},
		{name: "custom maximum", policy: user.Policy{MaxBytes: 16}, password: strings.Repeat("a", 17), email: email, wantErr: user.ErrPasswordTooLong, wantMsg: "at most 16 bytes"},
		{name: "a huge password is refused before anything else", password: strings.Repeat("\xff", 1<<20), email: email, wantErr: user.ErrPasswordTooLong},
		{name: "invalid UTF-8 is refused", password: "abcdefgh\xff", email: email, wantErr: user.ErrPasswordEncoding},
		{name: "the email is refused", password: email, email: email, wantErr: user.ErrPasswordIsEmail},
		{name: "the email in another case is refused", password: "ALICE@Example.Com", email: email, wantErr: user.ErrPasswordIsEmail},
		{name: "the email with spaces around is refused", password: "  alice@example.com ", email: email, wantErr: user.ErrPasswordIsEmail},
		{name: "the email as given (not normalized) is compared too", password: "alice@example.com", email: " Alice@Example.com ", wantErr: user.ErrPasswordIsEmail},
		{name: "the email with something added passes", password: "alice@example.com1", email: email},
		{name: "no email to compare with", password: "abcdefgh", email: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.policy.Check(tc.password, tc.email)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Check = %v, want %v", err, tc.wantErr)
			}
			if domain.CodeOf(err) != domain.CodeBadInput || domain.FieldOf(err) != "password" {
				t.Errorf("code %s field %q, want BAD_USER_INPUT on password", domain.CodeOf(err), domain.FieldOf(err))
			}
			if tc.wantMsg != "" && !strings.Contains(domain.MessageOf(err), tc.wantMsg) {
				t.Errorf("message %q lacks %q", domain.MessageOf(err), tc.wantMsg)
			}
		})
	}
}

func TestPolicyValidate(t *testing.T) {
	tests := []struct {
		name   string
		policy user.Policy
		ok     bool
	}{
		{"zero policy is the default", user.Policy{}, true},
		{"configured", user.Policy{MinLength: 12, MaxBytes: 256}, true},
		{"minimum equal to maximum", user.Policy{MinLength: 64, MaxBytes: 64}, true},
		{"negative minimum", user.Policy{MinLength: -1}, false},
		{"negative maximum", user.Policy{MaxBytes: -1}, false},
		{"minimum above the default maximum", user.Policy{MinLength: 2000}, false},
		{"minimum above the maximum", user.Policy{MinLength: 10, MaxBytes: 9}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.policy.Validate()
			if tc.ok != (err == nil) || err != nil && !errors.Is(err, user.ErrInvalidPolicy) {
				t.Fatalf("Validate = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
