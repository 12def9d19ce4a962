package user_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rustok/rustok/domain/user"
)

func TestResetSecretIsDerivedFromEveryInput(t *testing.T) {
	key := bytes.Repeat([]byte{7}, user.MinResetKeyLength)
	at := time.Date(2026, 12, 6, 12, 0, 0, 123456789, time.UTC)
	base := user.ResetSecret(key, "t1", "u1", at)
	if len(base) != 43 {
		t.Fatalf("secret %q: length %d, want 43", base, len(base))
	}
	if again := user.ResetSecret(key, "t1", "u1", at.In(time.FixedZone("x", 3600))); again != base {
		t.Fatalf("same instant in another zone gave %q, want %q", again, base)
	}
	others := map[string]string{
		"key":    user.ResetSecret(bytes.Repeat([]byte{8}, user.MinResetKeyLength), "t1", "u1", at),
		"tenant": user.ResetSecret(key, "t2", "u1", at),
		"user":   user.ResetSecret(key, "t1", "u2", at),
		"time":   user.ResetSecret(key, "t1", "u1", at.Add(time.Nanosecond)),
		// The separator keeps ("t1u", "1") apart from ("t1", "u1").
		"split": user.ResetSecret(key, "t1u", "1", at),
	}
	for name, s := range others {
		if s == base {
			t.Errorf("changing the %s gave the same secret", name)
		}
	}
	if h := user.ResetTokenHash(base); len(h) != 64 || h == user.ResetTokenHash(others["time"]) {
		t.Errorf("hash %q: want 64 hex characters, distinct per secret", h)
	}
}

func TestParseResetToken(t *testing.T) {
	key := bytes.Repeat([]byte{1}, user.MinResetKeyLength)
	id := "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
	secret := user.ResetSecret(key, "t", id, time.Unix(1, 0))
	good := user.ResetToken(id, secret)
	gotID, gotSecret, err := user.ParseResetToken(good)
	if err != nil || gotID != id || gotSecret != secret {
		t.Fatalf("ParseResetToken(%q) = %q, %q, %v", good, gotID, gotSecret, err)
	}
	for _, bad := range []string{
		"", ".", id, id + ".", "." + secret, secret,
		strings.ToUpper(id) + "." + secret,                     // not the canonical id
		"not-a-uuid." + secret,                                 // not a UUID
		id + "." + secret[:42],                                 // short
		id + "." + secret + "A",                                // long
		id + "." + strings.Replace(secret, secret[:1], "+", 1), // not base64url
		id + "." + secret[:42] + "=",                           // padding
		id + "." + secret + ".x",                               // a third part
	} {
		if _, _, err := user.ParseResetToken(bad); !errors.Is(err, user.ErrInvalidResetToken) {
			t.Errorf("ParseResetToken(%q): %v, want ErrInvalidResetToken", bad, err)
		}
	}
}

func FuzzParseResetToken(f *testing.F) {
	f.Add("0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b." + strings.Repeat("A", 43))
	f.Add("")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, s string) {
		id, secret, err := user.ParseResetToken(s)
		if err != nil {
			if !errors.Is(err, user.ErrInvalidResetToken) || id != "" || secret != "" {
				t.Fatalf("ParseResetToken(%q) = %q, %q, %v", s, id, secret, err)
			}
			return
		}
		if user.ResetToken(id, secret) != strings.TrimSpace(s) {
			t.Fatalf("ParseResetToken(%q) = %q, %q: does not round-trip", s, id, secret)
		}
	})
}
