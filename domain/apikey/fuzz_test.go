package apikey_test

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/rustok/rustok/domain/apikey"
)

// FuzzParseSecret: the parser never panics, refuses with ErrInvalidSecret
// alone, and accepts only the one canonical text of 32 bytes.
func FuzzParseSecret(f *testing.F) {
	body := strings.Repeat("A", 43)
	for _, s := range []string{
		"", "rtk_", "rtk_" + body, "rtk_" + body[:42] + "B", "rtk_" + body[:42] + "=", "rtk_" + body + "\n",
		"rtk_" + body[:20] + "\r" + body[21:], "RTK_" + body, "rtk_" + strings.Repeat("_", 42) + "w", strings.Repeat("rtk_", 20),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		prefix, hash, err := apikey.ParseSecret(s)
		if err != nil {
			if prefix != "" || hash != "" || !errors.Is(err, apikey.ErrInvalidSecret) {
				t.Fatalf("ParseSecret(%q) = %q, %q, %v", s, prefix, hash, err)
			}
			return
		}
		if len(s) != apikey.SecretLength || prefix != s[:apikey.PrefixLength] || !apikey.ValidPrefix(prefix) || hash != apikey.HashSecret(s) {
			t.Fatalf("ParseSecret(%q) accepted with %q, %q", s, prefix, hash)
		}
		b, err := base64.RawURLEncoding.DecodeString(s[len(apikey.SecretMarker):])
		if err != nil || len(b) != 32 || apikey.SecretMarker+base64.RawURLEncoding.EncodeToString(b) != s {
			t.Fatalf("ParseSecret(%q) accepted a non-canonical secret", s)
		}
	})
}
