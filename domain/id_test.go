package domain_test

import (
	"testing"

	"github.com/google/uuid"

	"github.com/rustok/rustok/domain"
)

func TestIsUUID(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"lowercase hyphenated UUID", "0b9e6a3c-5d1f-4c2a-9e8b-7f6a5d4c3b2a", true},
		{"nil UUID has the form", "00000000-0000-0000-0000-000000000000", true},
		{"any version and variant", "ffffffff-ffff-ffff-ffff-ffffffffffff", true},
		{"uppercase is not the canonical form", "0B9E6A3C-5D1F-4C2A-9E8B-7F6A5D4C3B2A", false},
		{"one uppercase digit", "0b9e6a3c-5d1f-4c2a-9e8b-7f6a5d4c3b2A", false},
		{"without hyphens", "0b9e6a3c5d1f4c2a9e8b7f6a5d4c3b2a", false},
		{"braced", "{0b9e6a3c-5d1f-4c2a-9e8b-7f6a5d4c3b2a}", false},
		{"urn prefix", "urn:uuid:0b9e6a3c-5d1f-4c2a-9e8b-7f6a5d4c3b2a", false},
		{"hyphen misplaced", "0b9e6a3c5-d1f-4c2a-9e8b-7f6a5d4c3b2a", false},
		{"hyphen where a digit goes", "0b9e6a3c-5d1f-4c2a-9e8b-7f6a5d4c3b-a", false},
		{"non-hex letter", "0b9e6a3c-5d1f-4c2a-9e8b-7f6a5d4c3b2g", false},
		{"surrounding white space", " 0b9e6a3c-5d1f-4c2a-9e8b-7f6a5d4c3b2a", false},
		{"too short", "0b9e6a3c-5d1f-4c2a-9e8b-7f6a5d4c3b2", false},
		{"too long", "0b9e6a3c-5d1f-4c2a-9e8b-7f6a5d4c3b2aa", false},
		{"empty", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := domain.IsUUID(tc.in); got != tc.want {
				t.Errorf("IsUUID(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

// FuzzIsUUID checks IsUUID against github.com/google/uuid: s is a UUID in
// canonical form if and only if it parses and formats back to itself.
func FuzzIsUUID(f *testing.F) {
	for _, s := range []string{
		"0b9e6a3c-5d1f-4c2a-9e8b-7f6a5d4c3b2a", "0B9E6A3C-5D1F-4C2A-9E8B-7F6A5D4C3B2A",
		"{0b9e6a3c-5d1f-4c2a-9e8b-7f6a5d4c3b2a}", "0b9e6a3c5d1f4c2a9e8b7f6a5d4c3b2a", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := uuid.Parse(s)
		want := err == nil && id.String() == s
		if got := domain.IsUUID(s); got != want {
			t.Errorf("IsUUID(%q) = %v, want %v", s, got, want)
		}
	})
}

func TestNormalizeID(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"canonical id unchanged", "0b9e6a3c-5d1f-4c2a-9e8b-7f6a5d4c3b2a", "0b9e6a3c-5d1f-4c2a-9e8b-7f6a5d4c3b2a"},
		{"white space trimmed, case folded", " \t0B9E6A3C-5D1F-4C2A-9E8B-7F6A5D4C3B2A\n", "0b9e6a3c-5d1f-4c2a-9e8b-7f6a5d4c3b2a"},
		{"not checked", " Not-An-ID ", "not-an-id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := domain.NormalizeID(tc.in); got != tc.want {
				t.Errorf("NormalizeID(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// BenchmarkIsUUID compares IsUUID with the uuid.Parse round trip it
// replaces; ids are checked on every request.
func BenchmarkIsUUID(b *testing.B) {
	const id = "0b9e6a3c-5d1f-4c2a-9e8b-7f6a5d4c3b2a"
	b.Run("IsUUID", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !domain.IsUUID(id) {
				b.Fatal("not a UUID")
			}
		}
	})
	b.Run("uuid.Parse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if u, err := uuid.Parse(id); err != nil || u.String() != id {
				b.Fatal("not a UUID")
			}
		}
	})
}
