package apikey_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/apikey"
)

func TestNewSecret(t *testing.T) {
	secret, prefix, hash, err := apikey.NewSecret(bytes.NewReader(make([]byte, 32)))
	if err != nil {
		t.Fatal(err)
	}
	if want := "rtk_" + strings.Repeat("A", 43); secret != want {
		t.Errorf("secret of zero bytes = %q, want %q", secret, want)
	}
	sum := sha256.Sum256([]byte(secret))
	if prefix != "rtk_AAAAAAAA" || hash != hex.EncodeToString(sum[:]) || hash != apikey.HashSecret(secret) {
		t.Errorf("prefix %q, hash %q", prefix, hash)
	}
	seen := map[string]bool{}
	for range 100 {
		s, p, h, err := apikey.NewSecret(rand.Reader)
		if err != nil || len(s) != apikey.SecretLength || s[:apikey.PrefixLength] != p || !apikey.ValidPrefix(p) || len(h) != apikey.HashLength {
			t.Fatalf("NewSecret = %q, %q, %q, %v", s, p, h, err)
		}
		if gp, gh, err := apikey.ParseSecret(s); err != nil || gp != p || gh != h {
			t.Fatalf("ParseSecret(NewSecret) = %q, %q, %v", gp, gh, err)
		}
		if seen[s] {
			t.Fatalf("secret %q drawn twice", s)
		}
		seen[s] = true
	}
	for name, r := range map[string]*bytes.Reader{"short": bytes.NewReader(make([]byte, 31)), "empty": bytes.NewReader(nil)} {
		if s, _, _, err := apikey.NewSecret(r); !errors.Is(err, apikey.ErrShortRandom) || s != "" {
			t.Errorf("%s random: %q, %v", name, s, err)
		}
	}
	if _, _, _, err := apikey.NewSecret(iotest.ErrReader(errors.New("boom"))); !errors.Is(err, apikey.ErrShortRandom) {
		t.Errorf("failing random: %v", err)
	}
}

func TestParseSecret(t *testing.T) {
	valid, _, _, err := apikey.NewSecret(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	body := strings.Repeat("A", 43)
	for _, tc := range []struct {
		name string
		in   string
		ok   bool
	}{
		{"a new secret", valid, true},
		{"every base64url character", "rtk_" + "abcdefghijklmnopqrstuvwxyz-_0123456789ABCDE", true},
		{"empty", "", false},
		{"the marker alone", "rtk_", false},
		{"the prefix alone", valid[:apikey.PrefixLength], false},
		{"one character short", valid[:len(valid)-1], false},
		{"one character long", valid + "A", false},
		{"another marker", "rtx_" + body, false},
		{"upper-case marker", "RTK_" + body, false},
		{"surrounding space", " " + valid[:len(valid)-1], false},
		{"trailing new line", valid[:len(valid)-1] + "\n", false},
		{"new line inside", "rtk_" + body[:20] + "\n" + body[21:], false},
		{"standard base64 characters", "rtk_" + strings.Repeat("+", 43), false},
		{"padding", "rtk_" + body[:42] + "=", false},
		{"non-canonical last character", "rtk_" + body[:42] + "B", false},
		{"non-ASCII", "rtk_" + body[:41] + "é", false},
		{"a bearer header", "Bearer " + valid, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, h, err := apikey.ParseSecret(tc.in)
			if tc.ok {
				if err != nil || p != tc.in[:12] || h != apikey.HashSecret(tc.in) {
					t.Fatalf("ParseSecret(%q) = %q, %q, %v", tc.in, p, h, err)
				}
				return
			}
			if !errors.Is(err, apikey.ErrInvalidSecret) || p != "" || h != "" || domain.CodeOf(err) != domain.CodeUnauthenticated {
				t.Fatalf("ParseSecret(%q) = %q, %q, %v; want ErrInvalidSecret", tc.in, p, h, err)
			}
		})
	}
}

func TestValidPrefix(t *testing.T) {
	for p, want := range map[string]bool{
		"rtk_abcdEF-_": true, "rtk_abcdEFG": false, "rtk_abcdEFGHI": false, "rtk_abcd EFG": false,
		"rtx_abcdEFGH": false, "": false, "rtk_abcd+FGH": false,
	} {
		if got := apikey.ValidPrefix(p); got != want {
			t.Errorf("ValidPrefix(%q) = %v", p, got)
		}
	}
}
