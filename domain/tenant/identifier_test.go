package tenant_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/tenant"
)

func TestNormalizeSlug(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr error
	}{
		{name: "lowercase letters and digits are kept", in: "acme42", want: "acme42"},
		{name: "hyphen inside is allowed", in: "acme-shop", want: "acme-shop"},
		{name: "single character is the shortest slug", in: "a", want: "a"},
		{name: "leading digit is allowed", in: "9lives", want: "9lives"},
		{name: "trailing hyphen is allowed as the pattern allows it", in: "acme-", want: "acme-"},
		{name: "double hyphen is allowed as the pattern allows it", in: "a--b", want: "a--b"},
		{name: "uppercase is lowercased", in: "AcMe", want: "acme"},
		{name: "surrounding white space is trimmed", in: " \tacme\n", want: "acme"},
		{name: "63 characters is the longest slug", in: strings.Repeat("a", 63), want: strings.Repeat("a", 63)},
		{name: "64 characters is too long (the pattern allows 63)", in: strings.Repeat("a", 64), wantErr: tenant.ErrInvalidSlug},
		{name: "empty slug is invalid", in: "", wantErr: tenant.ErrInvalidSlug},
		{name: "blank slug is invalid", in: "   ", wantErr: tenant.ErrInvalidSlug},
		{name: "leading hyphen is invalid", in: "-acme", wantErr: tenant.ErrInvalidSlug},
		{name: "inner space is invalid", in: "ac me", wantErr: tenant.ErrInvalidSlug},
		{name: "underscore is invalid", in: "ac_me", wantErr: tenant.ErrInvalidSlug},
		{name: "dot is invalid", in: "acme.shop", wantErr: tenant.ErrInvalidSlug},
		{name: "unicode letter is invalid", in: "café", wantErr: tenant.ErrInvalidSlug},
		{name: "kelvin sign does not fold into k", in: "\u212Aey", wantErr: tenant.ErrInvalidSlug},
		{name: "NUL byte is invalid", in: "acme\x00", wantErr: tenant.ErrInvalidSlug},
		{name: "invalid UTF-8 is invalid", in: "acme\xff", wantErr: tenant.ErrInvalidSlug},
		{name: "reserved word api is refused", in: "api", wantErr: tenant.ErrReservedSlug},
		{name: "reserved word admin is refused", in: "admin", wantErr: tenant.ErrReservedSlug},
		{name: "reserved word www is refused", in: "www", wantErr: tenant.ErrReservedSlug},
		{name: "reserved word localhost is refused", in: "localhost", wantErr: tenant.ErrReservedSlug},
		{name: "reserved word public is refused", in: "public", wantErr: tenant.ErrReservedSlug},
		{name: "reserved word is refused after lowercasing", in: " Admin ", wantErr: tenant.ErrReservedSlug},
		{name: "a reserved word inside a slug is allowed", in: "admin-shop", want: "admin-shop"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tenant.NormalizeSlug(tc.in)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("NormalizeSlug(%q) error = %v, want %v", tc.in, err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("NormalizeSlug(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if err != nil && (domain.CodeOf(err) != domain.CodeBadInput || domain.FieldOf(err) != "slug") {
				t.Errorf("error code %s field %q, want BAD_USER_INPUT on slug", domain.CodeOf(err), domain.FieldOf(err))
			}
		})
	}
}

func TestEveryReservedSlugIsRefused(t *testing.T) {
	words := strings.Fields(`api admin www app cdn assets static health metrics docs swagger mail smtp pop imap
		ftp sftp ssh vpn auth login logout register signup signin dev test staging prod
		production localhost db database cache redis postgres root system internal private public`)
	for _, w := range words {
		if _, err := tenant.NormalizeSlug(w); !errors.Is(err, tenant.ErrReservedSlug) {
			t.Errorf("NormalizeSlug(%q) = %v, want ErrReservedSlug", w, err)
		}
	}
}

// TestIsUUID checks that a tenant id takes the form of every id; the rules
// of that form are tested with domain.IsUUID.
func TestIsUUID(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"lowercase hyphenated UUID", "0b9e6a3c-5d1f-4c2a-9e8b-7f6a5d4c3b2a", true},
		{"uppercase is not the canonical form", "0B9E6A3C-5D1F-4C2A-9E8B-7F6A5D4C3B2A", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tenant.IsUUID(tc.in); got != tc.want {
				t.Errorf("IsUUID(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestNormalizeHost(t *testing.T) {
	label63 := strings.Repeat("a", 63)
	host253 := strings.Repeat(strings.Repeat("a", 62)+".", 4) + "a" // 4 × (62 + dot) + 1
	host254 := strings.Repeat(strings.Repeat("a", 62)+".", 4) + "ab"
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr bool
	}{
		{name: "plain host is kept", in: "shop.example.com", want: "shop.example.com"},
		{name: "single label is a host", in: "localhost", want: "localhost"},
		{name: "uppercase is lowercased", in: "Shop.Example.COM", want: "shop.example.com"},
		{name: "surrounding white space is trimmed", in: "  shop.example.com\t", want: "shop.example.com"},
		{name: "port is stripped", in: "demo.localhost:3000", want: "demo.localhost"},
		{name: "highest port is stripped", in: "example.com:65535", want: "example.com"},
		{name: "one trailing dot is removed", in: "example.com.", want: "example.com"},
		{name: "trailing dot before the port is removed", in: "example.com.:80", want: "example.com"},
		{name: "hyphen inside a label is allowed", in: "my-shop.example.com", want: "my-shop.example.com"},
		{name: "IPv4 address passes as a name", in: "127.0.0.1:8080", want: "127.0.0.1"},
		{name: "63-character label is the longest", in: label63 + ".com", want: label63 + ".com"},
		{name: "253 characters is the longest host", in: host253, want: host253},
		{name: "253 characters plus a trailing dot is allowed", in: host253 + ".", want: host253},
		{name: "254 characters is too long", in: host254, wantErr: true},
		{name: "64-character label is too long", in: label63 + "a.com", wantErr: true},
		{name: "empty host is invalid", in: "", wantErr: true},
		{name: "blank host is invalid", in: "  ", wantErr: true},
		{name: "lone dot is invalid", in: ".", wantErr: true},
		{name: "two trailing dots are invalid", in: "example.com..", wantErr: true},
		{name: "empty label between dots is invalid", in: "shop..example.com", wantErr: true},
		{name: "leading dot is invalid", in: ".example.com", wantErr: true},
		{name: "label starting with hyphen is invalid", in: "-shop.example.com", wantErr: true},
		{name: "label ending with hyphen is invalid", in: "shop-.example.com", wantErr: true},
		{name: "underscore is invalid", in: "my_shop.example.com", wantErr: true},
		{name: "inner space is invalid", in: "my shop.example.com", wantErr: true},
		{name: "unicode name is invalid (punycode only)", in: "bücher.example", wantErr: true},
		{name: "empty port is invalid", in: "example.com:", wantErr: true},
		{name: "non-numeric port is invalid", in: "example.com:http", wantErr: true},
		{name: "port above 65535 is invalid", in: "example.com:65536", wantErr: true},
		{name: "six-digit port is invalid", in: "example.com:000080", wantErr: true},
		{name: "bracketed IPv6 literal is invalid", in: "[::1]:8080", wantErr: true},
		{name: "bracketed IPv6 literal without port is invalid", in: "[2001:db8::1]", wantErr: true},
		{name: "bare IPv6 literal is invalid", in: "2001:db8::1", wantErr: true},
		{name: "user info is invalid", in: "user@example.com", wantErr: true},
		{name: "path is invalid", in: "example.com/admin", wantErr: true},
		{name: "very long input is refused", in: strings.Repeat("a.", 100_000), wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tenant.NormalizeHost(tc.in)
			if tc.wantErr {
				if !errors.Is(err, tenant.ErrInvalidHost) || domain.CodeOf(err) != domain.CodeBadInput {
					t.Fatalf("NormalizeHost(%q) = %q, %v; want ErrInvalidHost", tc.in, got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("NormalizeHost(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestParseIdentifier(t *testing.T) {
	const id = "0b9e6a3c-5d1f-4c2a-9e8b-7f6a5d4c3b2a"
	tests := []struct {
		name    string
		in      string
		want    tenant.Identifier
		wantErr []error
	}{
		{name: "UUID is an id", in: id, want: tenant.Identifier{Kind: tenant.KindID, Value: id}},
		{name: "UUID with white space is an id", in: " " + id + " ", want: tenant.Identifier{Kind: tenant.KindID, Value: id}},
		{name: "uppercase UUID is an id in lowercase", in: strings.ToUpper(id), want: tenant.Identifier{Kind: tenant.KindID, Value: id}},
		{name: "slug is a slug", in: "demo", want: tenant.Identifier{Kind: tenant.KindSlug, Value: "demo"}},
		{name: "slug is normalized", in: " Demo-Shop ", want: tenant.Identifier{Kind: tenant.KindSlug, Value: "demo-shop"}},
		{name: "empty value is invalid", in: "", wantErr: []error{tenant.ErrInvalidIdentifier, tenant.ErrInvalidSlug}},
		{name: "reserved slug is invalid and says why", in: "admin", wantErr: []error{tenant.ErrInvalidIdentifier, tenant.ErrReservedSlug}},
		{name: "braced UUID is invalid", in: "{" + id + "}", wantErr: []error{tenant.ErrInvalidIdentifier}},
		{name: "host is not an identifier", in: "demo.localhost", wantErr: []error{tenant.ErrInvalidIdentifier}},
		{name: "SQL is not an identifier", in: "x' OR 1=1 --", wantErr: []error{tenant.ErrInvalidIdentifier}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tenant.ParseIdentifier(tc.in)
			if tc.wantErr == nil {
				if err != nil || got != tc.want {
					t.Fatalf("ParseIdentifier(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
				}
				return
			}
			for _, want := range tc.wantErr {
				if !errors.Is(err, want) {
					t.Errorf("ParseIdentifier(%q) error = %v, want it to match %v", tc.in, err, want)
				}
			}
			if domain.CodeOf(err) != domain.CodeBadInput || domain.MessageOf(err) != domain.MessageOf(tenant.ErrInvalidIdentifier) {
				t.Errorf("code %s message %q, want the ErrInvalidIdentifier message", domain.CodeOf(err), domain.MessageOf(err))
			}
		})
	}
}

func TestSubdomainSlug(t *testing.T) {
	bases := []string{"example.com", "shop.example.com", "", "Other.Test."}
	tests := []struct {
		name   string
		host   string
		bases  []string
		want   string
		wantOK bool
	}{
		{name: "one label under a base is the slug", host: "acme.example.com", bases: bases, want: "acme", wantOK: true},
		{name: "longest base wins", host: "acme.shop.example.com", bases: bases, want: "acme", wantOK: true},
		{name: "longest base wins whatever the order", host: "acme.shop.example.com", bases: []string{"shop.example.com", "example.com"}, want: "acme", wantOK: true},
		{name: "base domains match ignoring case and trailing dot", host: "acme.other.test", bases: bases, want: "acme", wantOK: true},
		{name: "slug is lowercased", host: "ACME.example.com", bases: bases, want: "acme", wantOK: true},
		{name: "two labels under the base are not a tenant", host: "a.b.example.com", bases: []string{"example.com"}},
		{name: "the base domain itself is not a tenant", host: "example.com", bases: bases},
		{name: "a longer base domain itself is not a tenant", host: "shop.example.com", bases: bases},
		{name: "host outside every base is not a tenant", host: "acme.example.org", bases: bases},
		{name: "suffix that is not a label boundary does not match", host: "acmeexample.com", bases: bases},
		{name: "no base domains match nothing", host: "acme.example.com"},
		{name: "empty host matches nothing", host: "", bases: bases},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tenant.SubdomainSlug(tc.host, tc.bases)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("SubdomainSlug(%q, %q) = %q, %v; want %q, %v", tc.host, tc.bases, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestIdentifiersDoNotAllocateOnNormalizedInput(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		_, _ = tenant.NormalizeSlug(" demo-shop ")
		_, _ = tenant.NormalizeHost("demo.example.com:8080")
		_, _ = tenant.ParseIdentifier("0b9e6a3c-5d1f-4c2a-9e8b-7f6a5d4c3b2a")
		_, _ = tenant.SubdomainSlug("acme.example.com", []string{"example.com"})
		_ = tenant.IsUUID("0b9e6a3c-5d1f-4c2a-9e8b-7f6a5d4c3b2a")
	})
	if allocs != 0 {
		t.Errorf("identifier checks allocate %v times per run on already-normalized input", allocs)
	}
}
