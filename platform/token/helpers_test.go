package token_test

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"github.com/rustok/rustok/platform/token"
)

// t0 is the time of the fake clock.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const (
	testIssuer   = "rustok-test"
	testAudience = "rustok-api"
)

// testGrant is the grant of the tokens the tests issue.
var testGrant = token.Grant{
	UserID:    "0190f5c4-8b0a-7d1e-9a4b-1c2d3e4f5a6b",
	TenantID:  "0190f5c4-8b0a-7d1e-9a4b-aaaaaaaaaaaa",
	SessionID: "0190f5c4-8b0a-7d1e-9a4b-bbbbbbbbbbbb",
	Role:      token.RoleAdmin,
}

// mustEd25519 returns a new random Ed25519 private key.
func mustEd25519(tb testing.TB) ed25519.PrivateKey {
	tb.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// mustSecret returns a new random 32-byte HS256 secret.
func mustSecret(tb testing.TB) []byte {
	tb.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return b
}

func mustEdDSAKeySet(tb testing.TB, keys ...ed25519.PrivateKey) token.KeySet {
	tb.Helper()
	set, err := token.NewEdDSAKeySet(keys...)
	if err != nil {
		tb.Fatal(err)
	}
	return set
}

func mustHS256KeySet(tb testing.TB, secrets ...[]byte) token.KeySet {
	tb.Helper()
	set, err := token.NewHS256KeySet(secrets...)
	if err != nil {
		tb.Fatal(err)
	}
	return set
}

// mustAuthority returns an Authority over keys whose clock is *now (t0 when
// now is nil).
func mustAuthority(tb testing.TB, keys token.KeySet, now *time.Time) *token.Authority {
	tb.Helper()
	clock := func() time.Time { return t0 }
	if now != nil {
		clock = func() time.Time { return *now }
	}
	a, err := token.New(token.Options{Keys: keys, Issuer: testIssuer, Audience: testAudience, Now: clock})
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

func mustIssue(tb testing.TB, a *token.Authority, g token.Grant) token.Issued {
	tb.Helper()
	is, err := a.Issue(g)
	if err != nil {
		tb.Fatal(err)
	}
	return is
}

// validHeader is the header RusToK writes, for kid under alg.
func validHeader(alg, kid string) map[string]any {
	return map[string]any{"alg": alg, "kid": kid, "typ": "at+jwt"}
}

// validClaims are the claims RusToK writes at t0.
func validClaims() map[string]any {
	return map[string]any{
		"iss":  testIssuer,
		"aud":  testAudience,
		"sub":  testGrant.UserID,
		"tid":  testGrant.TenantID,
		"sid":  testGrant.SessionID,
		"role": string(testGrant.Role),
		"iat":  t0.Unix(),
		"exp":  t0.Add(15 * time.Minute).Unix(),
		"jti":  "forged-1",
	}
}

// with returns a copy of m with the given changes; a nil value deletes.
func with(m map[string]any, changes map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	for k, v := range changes {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// b64 is unpadded base64url.
func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func mustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// forge builds a compact JWS by hand, without go-jose, so that any header
// can be written: signed with key by HMAC-SHA256 when key is a []byte, by
// Ed25519 when it is an ed25519.PrivateKey, and with the signature sig
// when key is a string.
func forge(tb testing.TB, header, claims map[string]any, key any) string {
	tb.Helper()
	input := b64(mustJSON(tb, header)) + "." + b64(mustJSON(tb, claims))
	var sig []byte
	switch k := key.(type) {
	case []byte:
		m := hmac.New(sha256.New, k)
		m.Write([]byte(input))
		sig = m.Sum(nil)
	case ed25519.PrivateKey:
		sig = ed25519.Sign(k, []byte(input))
	case string:
		return input + "." + k
	default:
		tb.Fatalf("forge: key of type %T", key)
	}
	return input + "." + b64(sig)
}
