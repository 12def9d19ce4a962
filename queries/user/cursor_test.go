package user

import (
	"errors"
	"testing"
	"time"

	"github.com/rustok/rustok/domain"
)

func TestCursorRoundTrip(t *testing.T) {
	for _, c := range []cursor{
		{CreatedAt: time.Date(2025, 3, 2, 10, 0, 0, 0, time.UTC), ID: "0b0e8f5c-54e1-4a4f-9f0e-8d1c2b3a4f5e"},
		{CreatedAt: time.Date(2025, 3, 2, 10, 0, 0, 123456789, time.UTC), ID: "ffffffff-ffff-4fff-bfff-ffffffffffff"},
		{CreatedAt: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), ID: "00000000-0000-0000-0000-000000000000"},
	} {
		s := encodeCursor(c)
		if len(s) > maxCursorLength {
			t.Errorf("cursor %q is longer than %d", s, maxCursorLength)
		}
		got, err := decodeCursor(s)
		if err != nil || !got.CreatedAt.Equal(c.CreatedAt) || got.ID != c.ID {
			t.Errorf("decode(encode(%+v)) = %+v, %v", c, got, err)
		}
	}
}

// FuzzDecodeCursor: decodeCursor never panics, refuses with
// ErrInvalidCursor only, and accepts only what encodeCursor makes.
func FuzzDecodeCursor(f *testing.F) {
	f.Add(encodeCursor(cursor{CreatedAt: time.Date(2025, 3, 2, 10, 0, 0, 5000, time.UTC), ID: "0b0e8f5c-54e1-4a4f-9f0e-8d1c2b3a4f5e"}))
	f.Add("")
	f.Add("dTF8")
	f.Add("dTF8MjAyNS0wMy0wMlQxMDowMDowMFp8")
	f.Add("!!!!")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := decodeCursor(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidCursor) {
				t.Fatalf("decodeCursor(%q): %v, want ErrInvalidCursor", s, err)
			}
			return
		}
		if !domain.IsUUID(c.ID) || c.CreatedAt.Location() != time.UTC {
			t.Fatalf("decodeCursor(%q) = %+v", s, c)
		}
		if again := encodeCursor(c); again != s {
			t.Fatalf("decodeCursor(%q) = %+v, which encodes to %q", s, c, again)
		}
	})
}
