package user_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/user"
)

func TestNormalizeEmail(t *testing.T) {
	local64 := strings.Repeat("a", 64)
	// long is an address of exactly MaxEmailLength bytes.
	long := local64 + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 57) + ".com"
	if len(long) != user.MaxEmailLength {
		t.Fatalf("test address has %d bytes", len(long))
	}
	tests := []struct {
		name string
		in   string
		want string // "" means ErrInvalidEmail
	}{
		{"plain address", "admin@demo.local", "admin@demo.local"},
		{"trimmed and lowercased", "  Admin@Demo.LOCAL \n", "admin@demo.local"},
		{"plus and dots in the name", "first.last+tag@example.co.uk", "first.last+tag@example.co.uk"},
		{"every special character of a dot-string", "a!#$%&'*+/=?^_`{|}~-b@example.com", "a!#$%&'*+/=?^_`{|}~-b@example.com"},
		{"punycode domain", "user@xn--bcher-kva.example", "user@xn--bcher-kva.example"},
		{"digits and hyphens in labels", "u@a-1.b2.io", "u@a-1.b2.io"},
		{"64-byte name is the maximum", local64 + "@example.com", local64 + "@example.com"},
		{"254 bytes is the maximum", long, long},
		{"255 bytes are refused", "a" + long, ""},
		{"65-byte name is refused", local64 + "a@example.com", ""},
		{"empty", "", ""},
		{"blank", "   ", ""},
		{"no @", "admin.demo.local", ""},
		{"two @", "a@b@example.com", ""},
		{"empty name", "@example.com", ""},
		{"empty domain", "admin@", ""},
		{"single-label domain", "root@localhost", ""},
		{"leading dot in the name", ".admin@example.com", ""},
		{"trailing dot in the name", "admin.@example.com", ""},
		{"double dot in the name", "ad..min@example.com", ""},
		{"quoted name", `"ad min"@example.com`, ""},
		{"space inside", "ad min@example.com", ""},
		{"trailing dot in the domain", "admin@example.com.", ""},
		{"empty label", "admin@example..com", ""},
		{"label starting with a hyphen", "admin@-example.com", ""},
		{"label ending with a hyphen", "admin@example-.com", ""},
		{"label of 64 bytes", "admin@" + strings.Repeat("x", 64) + ".com", ""},
		{"numeric top-level label", "admin@127.0.0.1", ""},
		{"IP literal", "admin@[127.0.0.1]", ""},
		{"underscore in the domain", "admin@ex_ample.com", ""},
		{"Unicode name", "пользователь@example.com", ""},
		{"Unicode domain", "user@bücher.example", ""},
		{"Kelvin sign does not lowercase to k", "\u212Aate@example.com", ""},
		{"invalid UTF-8", "a\xff@example.com", ""},
		{"NUL byte", "a\x00@example.com", ""},
		{"huge input", strings.Repeat("a", 5000) + "@example.com", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := user.NormalizeEmail(tc.in)
			if tc.want == "" {
				if !errors.Is(err, user.ErrInvalidEmail) || got != "" || domain.FieldOf(err) != "email" {
					t.Fatalf("NormalizeEmail(%q) = %q, %v; want ErrInvalidEmail", tc.in, got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("NormalizeEmail(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestEmailReservation(t *testing.T) {
	got, err := user.EmailReservation(tenantID, " Alice@Example.COM ")
	if err != nil || got != tenantID+"/alice@example.com" {
		t.Fatalf("EmailReservation = %q, %v", got, err)
	}
	other, _ := user.EmailReservation(otherTenantID, "alice@example.com")
	if other == got {
		t.Errorf("the same email in two tenants gives the same reservation %q", got)
	}
	if _, err := user.EmailReservation("acme", "alice@example.com"); !errors.Is(err, user.ErrInvalidTenant) {
		t.Errorf("bad tenant = %v, want ErrInvalidTenant", err)
	}
	if _, err := user.EmailReservation(tenantID, "alice"); !errors.Is(err, user.ErrInvalidEmail) {
		t.Errorf("bad email = %v, want ErrInvalidEmail", err)
	}
	u := mustRegister(t, user.Registration{Email: "ALICE@example.com"})
	if u.EmailReservation() != got {
		t.Errorf("User.EmailReservation = %q, want %q", u.EmailReservation(), got)
	}
	if user.EmailScope != "user.email" {
		t.Errorf("EmailScope = %q: renaming it breaks uniqueness", user.EmailScope)
	}
}
