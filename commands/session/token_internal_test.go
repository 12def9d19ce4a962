package session

import (
	"bytes"
	"testing"
)

func TestDerivedTokens(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	id := "01900000-0000-7000-8000-00000000005e"
	first, err := newRefreshToken(id)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := parseRefreshToken(first.String())
	if err != nil || parsed.sessionID != id || !bytes.Equal(parsed.secret, first.secret) {
		t.Fatalf("round trip: %+v, %v", parsed, err)
	}
	a := deriveRefreshToken(key, id, 1, first.hash())
	if b := deriveRefreshToken(key, id, 1, first.hash()); a.String() != b.String() {
		t.Fatal("derivation is not deterministic")
	}
	for name, other := range map[string]refreshToken{
		"generation": deriveRefreshToken(key, id, 2, first.hash()),
		"key":        deriveRefreshToken([]byte("another key, another key, another"), id, 1, first.hash()),
		"previous":   deriveRefreshToken(key, id, 1, a.hash()),
		"session":    deriveRefreshToken(key, "01900000-0000-7000-8000-00000000005f", 1, first.hash()),
	} {
		if bytes.Equal(other.secret, a.secret) {
			t.Errorf("another %s derives the same secret", name)
		}
	}
	if _, err := parseRefreshToken(a.String()); err != nil || len(a.String()) != RefreshTokenLength {
		t.Errorf("derived token %q: %v", a.String(), err)
	}
	if h := first.hash(); len(h) != 64 {
		t.Errorf("hash %q", h)
	}
}
