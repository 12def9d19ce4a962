package token_test

import (
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"

	"github.com/rustok/rustok/platform/token"
)

// FuzzVerify: whatever the input, Verify does not panic, refuses with an
// error matching ErrInvalid, and accepts only a token the key set signed,
// byte for byte: one of the valid seeds (Ed25519 and HMAC signatures are
// deterministic and Verify refuses non-canonical base64, so a signed token
// has one spelling).
func FuzzVerify(f *testing.F) {
	edKey := ed25519.NewKeyFromSeed([]byte("rustok fuzz ed25519 seed 32bytes"))
	secret := []byte("rustok fuzz hs256 secret 32 bytes")
	ed := mustAuthority(f, mustEdDSAKeySet(f, edKey), nil)
	hs := mustAuthority(f, mustHS256KeySet(f, secret), nil)
	edKID, hsKID := ed.Keys().KeyIDs()[0], hs.Keys().KeyIDs()[0]

	// The valid seeds are made by hand in the shape Issue writes (see
	// TestVerify's first cases): Issue's random jti would differ in each
	// process of the fuzzer, and the workers must know the same tokens.
	issued := map[string]bool{}
	for _, role := range []token.Role{token.RoleAdmin, token.RoleSuperAdmin} {
		c := with(validClaims(), map[string]any{"role": string(role)})
		for _, raw := range []string{forge(f, validHeader("EdDSA", edKID), c, edKey), forge(f, validHeader("HS256", hsKID), c, secret)} {
			issued[raw] = true
			f.Add(raw)
		}
	}
	claims := validClaims()
	seeds := []string{
		"",
		".",
		"..",
		"...",
		"a.b.c",
		"eyJ9.eyJ9.eyJ9",
		strings.Repeat("A", token.MaxTokenLen+1),
		forge(f, validHeader("none", edKID), claims, ""),
		forge(f, validHeader("HS256", edKID), claims, []byte(edKey.Public().(ed25519.PublicKey))),
		forge(f, validHeader("EdDSA", hsKID), claims, edKey),
		forge(f, with(validHeader("EdDSA", edKID), map[string]any{"jku": "https://x"}), claims, edKey),
		forge(f, validHeader("EdDSA", edKID), with(claims, map[string]any{"exp": nil}), edKey),
		forge(f, validHeader("EdDSA", edKID), with(claims, map[string]any{"aud": []any{1, nil, map[string]any{}}}), edKey),
		forge(f, validHeader("EdDSA", edKID), with(claims, map[string]any{"exp": 1e300}), edKey),
		forge(f, validHeader("HS256", hsKID), with(claims, map[string]any{"iss": "x"}), secret),
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		for _, a := range []*token.Authority{ed, hs} {
			c, err := a.Verify(raw)
			if err != nil {
				if !errors.Is(err, token.ErrInvalid) {
					t.Fatalf("error %v does not match ErrInvalid", err)
				}
				continue
			}
			if !issued[raw] {
				t.Fatalf("accepted a token that was not issued: %q → %+v", raw, c)
			}
		}
	})
}
