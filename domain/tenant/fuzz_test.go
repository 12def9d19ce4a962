package tenant_test

import (
	"strings"
	"testing"

	"github.com/rustok/rustok/domain/tenant"
)

var identifierSeeds = []string{
	"", " ", "demo", "Demo", "-demo", "demo-", "admin", "a", strings.Repeat("a", 63), strings.Repeat("a", 64),
	"0b9e6a3c-5d1f-4c2a-9e8b-7f6a5d4c3b2a", "0B9E6A3C-5D1F-4C2A-9E8B-7F6A5D4C3B2A",
	"demo.localhost:3000", "Shop.Example.COM.", "[::1]:80", "2001:db8::1", "a..b", "example.com:65536",
	"\u212Aey", "café", "\xff\xfe", "a.:0", strings.Repeat("a.", 130),
}

func FuzzNormalizeSlug(f *testing.F) {
	for _, s := range identifierSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := tenant.NormalizeSlug(s)
		if err != nil {
			if got != "" {
				t.Fatalf("NormalizeSlug(%q) = %q with error %v", s, got, err)
			}
			return
		}
		if len(got) < 1 || len(got) > tenant.MaxSlugLength || got[0] == '-' {
			t.Fatalf("NormalizeSlug(%q) = %q: bad length or leading '-'", s, got)
		}
		for i := 0; i < len(got); i++ {
			if c := got[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				t.Fatalf("NormalizeSlug(%q) = %q: byte %q outside [a-z0-9-]", s, got, c)
			}
		}
		if again, err := tenant.NormalizeSlug(got); err != nil || again != got {
			t.Fatalf("NormalizeSlug(%q) = %q, %v; not a fixed point", got, again, err)
		}
	})
}

func FuzzNormalizeHost(f *testing.F) {
	for _, s := range identifierSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := tenant.NormalizeHost(s)
		if err != nil {
			if got != "" {
				t.Fatalf("NormalizeHost(%q) = %q with error %v", s, got, err)
			}
			return
		}
		if len(got) < 1 || len(got) > tenant.MaxHostLength {
			t.Fatalf("NormalizeHost(%q) = %q: %d bytes", s, got, len(got))
		}
		for _, label := range strings.Split(got, ".") {
			if len(label) < 1 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
				t.Fatalf("NormalizeHost(%q) = %q: bad label %q", s, got, label)
			}
			for i := 0; i < len(label); i++ {
				if c := label[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
					t.Fatalf("NormalizeHost(%q) = %q: byte %q outside [a-z0-9.-]", s, got, c)
				}
			}
		}
		if again, err := tenant.NormalizeHost(got); err != nil || again != got {
			t.Fatalf("NormalizeHost(%q) = %q, %v; not a fixed point", got, again, err)
		}
	})
}

func FuzzParseIdentifier(f *testing.F) {
	for _, s := range identifierSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := tenant.ParseIdentifier(s)
		if err != nil {
			if id != (tenant.Identifier{}) {
				t.Fatalf("ParseIdentifier(%q) = %+v with error %v", s, id, err)
			}
			return
		}
		switch id.Kind {
		case tenant.KindID:
			if !tenant.IsUUID(id.Value) {
				t.Fatalf("ParseIdentifier(%q) = %+v: id is not a UUID", s, id)
			}
		case tenant.KindSlug:
			if slug, err := tenant.NormalizeSlug(id.Value); err != nil || slug != id.Value || tenant.IsUUID(slug) {
				t.Fatalf("ParseIdentifier(%q) = %+v: not a normalized, non-UUID slug", s, id)
			}
		default:
			t.Fatalf("ParseIdentifier(%q) = %+v: unexpected kind", s, id)
		}
		if again, err := tenant.ParseIdentifier(id.Value); err != nil || again != id {
			t.Fatalf("ParseIdentifier(%q) = %+v, %v; not a fixed point of %+v", id.Value, again, err, id)
		}
	})
}
