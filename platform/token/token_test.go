package token_test

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rustok/rustok/platform/token"
)

// TestRoundTrip: a token Issue makes verifies to the same claims, under
// both algorithms, and carries the header and claim names of CONTRACT.md.
func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		keys token.KeySet
	}{
		{"EdDSA", mustEdDSAKeySet(t, mustEd25519(t))},
		{"HS256", mustHS256KeySet(t, mustSecret(t))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := mustAuthority(t, tc.keys, nil)
			is := mustIssue(t, a, testGrant)
			if is.Claims.Grant != testGrant || is.Claims.IssuedAt != t0 || is.Claims.ExpiresAt != t0.Add(token.DefaultAccessTTL) {
				t.Fatalf("issued claims %+v", is.Claims)
			}
			got, err := a.Verify(is.Token)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got != is.Claims {
				t.Fatalf("verified claims %+v, issued %+v", got, is.Claims)
			}
			if got.KeyID != tc.keys.KeyIDs()[0] || got.ID == "" {
				t.Fatalf("kid %q (want %q), jti %q", got.KeyID, tc.keys.KeyIDs()[0], got.ID)
			}

			parts := strings.Split(is.Token, ".")
			var header map[string]any
			mustDecodeSegment(t, parts[0], &header)
			wantHeader := map[string]any{"alg": string(tc.keys.Algorithm()), "kid": got.KeyID, "typ": "at+jwt"}
			if !jsonEqual(t, header, wantHeader) {
				t.Fatalf("header %v, want %v", header, wantHeader)
			}
			var claims map[string]any
			mustDecodeSegment(t, parts[1], &claims)
			wantClaims := map[string]any{
				"iss": testIssuer, "aud": testAudience, "sub": testGrant.UserID, "tid": testGrant.TenantID,
				"sid": testGrant.SessionID, "role": "admin", "iat": t0.Unix(), "exp": t0.Add(15 * time.Minute).Unix(),
				"jti": got.ID,
			}
			if !jsonEqual(t, claims, wantClaims) {
				t.Fatalf("claims %v, want %v", claims, wantClaims)
			}
		})
	}
}

// TestIssueRefusesIncompleteGrant: every claim of a grant is needed.
func TestIssueRefusesIncompleteGrant(t *testing.T) {
	a := mustAuthority(t, mustHS256KeySet(t, mustSecret(t)), nil)
	for _, g := range []token.Grant{
		{TenantID: "t", SessionID: "s", Role: token.RoleAdmin},
		{UserID: "u", SessionID: "s", Role: token.RoleAdmin},
		{UserID: "u", TenantID: "t", Role: token.RoleAdmin},
		{UserID: "u", TenantID: "t", SessionID: "s"},
		{UserID: "u", TenantID: "t", SessionID: "s", Role: "root"},
	} {
		if _, err := a.Issue(g); err == nil {
			t.Errorf("Issue(%+v) succeeded", g)
		}
	}
}

// TestVerify: each rule of a valid token, broken alone, refuses the token
// with its own sentinel, and every refusal matches ErrInvalid.
func TestVerify(t *testing.T) {
	edKey, edOld, stranger := mustEd25519(t), mustEd25519(t), mustEd25519(t)
	edKeys := mustEdDSAKeySet(t, edKey, edOld)
	ed := mustAuthority(t, edKeys, nil)
	edKID := edKeys.KeyIDs()[0]
	strangerKID := mustEdDSAKeySet(t, stranger).KeyIDs()[0]

	secret := mustSecret(t)
	hsKeys := mustHS256KeySet(t, secret)
	hs := mustAuthority(t, hsKeys, nil)
	hsKID := hsKeys.KeyIDs()[0]

	pub := edKey.Public().(ed25519.PublicKey)
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	var jwks struct {
		Keys []struct {
			X string `json:"x"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(edKeys.JWKS(), &jwks); err != nil {
		t.Fatal(err)
	}

	issuedEd := mustIssue(t, ed, testGrant).Token
	issuedHS := mustIssue(t, hs, testGrant).Token
	edParts := strings.Split(issuedEd, ".")

	edHeader := validHeader("EdDSA", edKID)
	claims := validClaims()

	tests := []struct {
		name    string
		a       *token.Authority
		raw     string
		wantErr error // nil: accepted
	}{
		{"a token forged with the current key is accepted", ed, forge(t, edHeader, claims, edKey), nil},
		{"an older key of the set still verifies", ed, forge(t, validHeader("EdDSA", edKeys.KeyIDs()[1]), claims, edOld), nil},
		{"an HS256 token forged with the secret is accepted", hs, forge(t, validHeader("HS256", hsKID), claims, secret), nil},
		{"typ application/at+jwt is accepted", ed, forge(t, with(edHeader, map[string]any{"typ": "application/at+jwt"}), claims, edKey), nil},
		{"aud as an array naming the audience is accepted", ed, forge(t, edHeader, with(claims, map[string]any{"aud": []string{"other", testAudience}}), edKey), nil},
		{"exp within the leeway is accepted", ed, forge(t, edHeader, with(claims, map[string]any{"exp": t0.Add(-20 * time.Second).Unix()}), edKey), nil},
		{"nbf within the leeway is accepted", ed, forge(t, edHeader, with(claims, map[string]any{"nbf": t0.Add(20 * time.Second).Unix()}), edKey), nil},
		{"iat absent is accepted", ed, forge(t, edHeader, with(claims, map[string]any{"iat": nil}), edKey), nil},

		{"alg none without a signature", ed, forge(t, validHeader("none", edKID), claims, ""), token.ErrMalformed},
		{"alg none with a signature", ed, forge(t, validHeader("none", edKID), claims, "c2ln"), token.ErrAlgorithm},
		{"alg None", ed, forge(t, validHeader("None", edKID), claims, "c2ln"), token.ErrAlgorithm},
		{"no alg", ed, forge(t, with(edHeader, map[string]any{"alg": nil}), claims, edKey), token.ErrAlgorithm},
		{"HS256 under EdDSA", ed, forge(t, validHeader("HS256", edKID), claims, secret), token.ErrAlgorithm},
		{"key confusion: HS256 with the public key's bytes", ed, forge(t, validHeader("HS256", edKID), claims, []byte(pub)), token.ErrAlgorithm},
		{"key confusion: HS256 with the public key's PEM", ed, forge(t, validHeader("HS256", edKID), claims, pubPEM), token.ErrAlgorithm},
		{"key confusion: HS256 with the JWKS x", ed, forge(t, validHeader("HS256", edKID), claims, []byte(jwks.Keys[0].X)), token.ErrAlgorithm},
		{"EdDSA under HS256", hs, forge(t, validHeader("EdDSA", hsKID), claims, edKey), token.ErrAlgorithm},
		{"EdDSA token of the set under HS256", hs, issuedEd, token.ErrAlgorithm},
		{"HS256 token of another set under HS256", hs, forge(t, validHeader("HS256", hsKID), claims, mustSecret(t)), token.ErrSignature},
		{"RS256", ed, forge(t, validHeader("RS256", edKID), claims, "c2ln"), token.ErrAlgorithm},

		{"unknown kid", ed, forge(t, validHeader("EdDSA", strangerKID), claims, stranger), token.ErrUnknownKey},
		{"missing kid", ed, forge(t, with(edHeader, map[string]any{"kid": nil}), claims, edKey), token.ErrUnknownKey},
		{"empty kid", ed, forge(t, with(edHeader, map[string]any{"kid": ""}), claims, edKey), token.ErrUnknownKey},
		{"kid of the set, signed by a stranger", ed, forge(t, edHeader, claims, stranger), token.ErrSignature},
		{"kid of the older key, signed by the current one", ed, forge(t, validHeader("EdDSA", edKeys.KeyIDs()[1]), claims, edKey), token.ErrSignature},
		{"kid not a string", ed, forge(t, with(edHeader, map[string]any{"kid": 7}), claims, edKey), token.ErrMalformed},

		{"jku header", ed, forge(t, with(edHeader, map[string]any{"jku": "https://evil.example/jwks.json"}), claims, edKey), token.ErrHeader},
		{"x5u header", ed, forge(t, with(edHeader, map[string]any{"x5u": "https://evil.example/cert.pem"}), claims, edKey), token.ErrHeader},
		{"jwk header", ed, forge(t, with(edHeader, map[string]any{"jwk": map[string]string{"kty": "OKP", "crv": "Ed25519", "x": jwks.Keys[0].X}}), claims, edKey), token.ErrHeader},
		{"x5c header", ed, forge(t, with(edHeader, map[string]any{"x5c": []string{"MIIB"}}), claims, edKey), token.ErrHeader},
		{"crit header", ed, forge(t, with(edHeader, map[string]any{"crit": []string{"exp"}, "exp": 1}), claims, edKey), token.ErrHeader},
		{"b64 false", ed, forge(t, with(edHeader, map[string]any{"crit": []string{"b64"}, "b64": false}), claims, edKey), token.ErrHeader},
		{"ALG in capitals beside alg", ed, forge(t, with(edHeader, map[string]any{"ALG": "none"}), claims, edKey), token.ErrHeader},
		{"typ JWT", ed, forge(t, with(edHeader, map[string]any{"typ": "JWT"}), claims, edKey), token.ErrHeader},
		{"no typ", ed, forge(t, with(edHeader, map[string]any{"typ": nil}), claims, edKey), token.ErrHeader},

		{"missing exp", ed, forge(t, edHeader, with(claims, map[string]any{"exp": nil}), edKey), token.ErrMissingClaim},
		{"past exp", ed, forge(t, edHeader, with(claims, map[string]any{"exp": t0.Add(-time.Minute).Unix()}), edKey), token.ErrExpired},
		{"exp now minus the leeway", ed, forge(t, edHeader, with(claims, map[string]any{"exp": t0.Add(-token.DefaultLeeway).Unix()}), edKey), token.ErrExpired},
		{"exp not a number", ed, forge(t, edHeader, with(claims, map[string]any{"exp": "tomorrow"}), edKey), token.ErrMalformed},
		{"exp beyond any date", ed, forge(t, edHeader, with(claims, map[string]any{"exp": 1e300}), edKey), token.ErrMalformed},
		{"nbf in the future", ed, forge(t, edHeader, with(claims, map[string]any{"nbf": t0.Add(time.Minute).Unix()}), edKey), token.ErrNotYetValid},
		{"iat in the future", ed, forge(t, edHeader, with(claims, map[string]any{"iat": t0.Add(time.Hour).Unix()}), edKey), token.ErrNotYetValid},
		{"wrong audience", ed, forge(t, edHeader, with(claims, map[string]any{"aud": "another-api"}), edKey), token.ErrAudience},
		{"audience array without ours", ed, forge(t, edHeader, with(claims, map[string]any{"aud": []string{"a", "b"}}), edKey), token.ErrAudience},
		{"missing audience", ed, forge(t, edHeader, with(claims, map[string]any{"aud": nil}), edKey), token.ErrMissingClaim},
		{"wrong issuer", ed, forge(t, edHeader, with(claims, map[string]any{"iss": "https://evil.example"}), edKey), token.ErrIssuer},
		{"missing issuer", ed, forge(t, edHeader, with(claims, map[string]any{"iss": nil}), edKey), token.ErrMissingClaim},
		{"missing sub", ed, forge(t, edHeader, with(claims, map[string]any{"sub": nil}), edKey), token.ErrMissingClaim},
		{"missing tid", ed, forge(t, edHeader, with(claims, map[string]any{"tid": nil}), edKey), token.ErrMissingClaim},
		{"missing sid", ed, forge(t, edHeader, with(claims, map[string]any{"sid": ""}), edKey), token.ErrMissingClaim},
		{"missing role", ed, forge(t, edHeader, with(claims, map[string]any{"role": nil}), edKey), token.ErrMissingClaim},
		{"unknown role", ed, forge(t, edHeader, with(claims, map[string]any{"role": "root"}), edKey), token.ErrRole},
		{"payload not an object", ed, forge(t, edHeader, nil, edKey), token.ErrMissingClaim},

		{"tampered payload: another tenant", ed, edParts[0] + "." + b64(mustJSON(t, with(claims, map[string]any{"tid": "other"}))) + "." + edParts[2], token.ErrSignature},
		{"tampered payload: super_admin", ed, edParts[0] + "." + b64(mustJSON(t, with(claims, map[string]any{"role": "super_admin"}))) + "." + edParts[2], token.ErrSignature},
		{"tampered signature", ed, edParts[0] + "." + edParts[1] + "." + flipFirst(edParts[2]), token.ErrSignature},
		{"signature cut short", ed, edParts[0] + "." + edParts[1] + "." + edParts[2][:40], token.ErrSignature},
		{"tampered HS256 signature", hs, issuedHS[:strings.LastIndexByte(issuedHS, '.')+1] + flipFirst(issuedHS[strings.LastIndexByte(issuedHS, '.')+1:]), token.ErrSignature},
		{"signature spelled with non-zero unused bits", ed, edParts[0] + "." + edParts[1] + "." + nonCanonical(edParts[2]), token.ErrMalformed},
		{"padded segments", ed, issuedEd + "==", token.ErrMalformed},

		{"oversized token", ed, forge(t, edHeader, with(claims, map[string]any{"pad": strings.Repeat("x", token.MaxTokenLen)}), edKey), token.ErrMalformed},
		{"a megabyte of dots", ed, strings.Repeat(".", 1<<20), token.ErrMalformed},
		{"empty", ed, "", token.ErrMalformed},
		{"one segment", ed, "abc", token.ErrMalformed},
		{"two segments", ed, "abc.def", token.ErrMalformed},
		{"four segments", ed, issuedEd + ".abc", token.ErrMalformed},
		{"empty payload", ed, edParts[0] + ".." + edParts[2], token.ErrMalformed},
		{"Bearer prefix left on", ed, "Bearer " + issuedEd, token.ErrMalformed},
		{"whitespace around", ed, " " + issuedEd + "\n", token.ErrMalformed},
		{"standard base64 characters", ed, strings.ReplaceAll(strings.ReplaceAll(issuedEd, "-", "+"), "_", "/") + "+/", token.ErrMalformed},
		{"header not JSON", ed, b64([]byte("not json")) + "." + edParts[1] + "." + edParts[2], token.ErrMalformed},
		{"header a JSON array", ed, b64([]byte(`["alg","EdDSA"]`)) + "." + edParts[1] + "." + edParts[2], token.ErrMalformed},
		{"header with trailing data", ed, b64([]byte(`{"alg":"EdDSA"} {}`)) + "." + edParts[1] + "." + edParts[2], token.ErrMalformed},
		{"deeply nested header", ed, b64([]byte(strings.Repeat("[", 2000))) + "." + edParts[1] + "." + edParts[2], token.ErrMalformed},
		{"JWE (five segments)", ed, "eyJhbGciOiJkaXIiLCJlbmMiOiJBMTI4R0NNIn0..aGk.aGk.aGk", token.ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.a.Verify(tc.raw)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if got.Grant != testGrant {
					t.Fatalf("grant %+v, want %+v", got.Grant, testGrant)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Verify error %v, want %v", err, tc.wantErr)
			}
			if !errors.Is(err, token.ErrInvalid) || errors.Is(err, token.ErrWrongTenant) {
				t.Fatalf("error %v must match ErrInvalid and not ErrWrongTenant", err)
			}
			if got != (token.Claims{}) {
				t.Fatalf("refused token returned claims %+v", got)
			}
		})
	}
}

// TestVerifyClock: a token is valid from iat (less the leeway) to exp (plus
// the leeway) on the injected clock.
func TestVerifyClock(t *testing.T) {
	now := t0
	a := mustAuthority(t, mustEdDSAKeySet(t, mustEd25519(t)), &now)
	raw := mustIssue(t, a, testGrant).Token
	tests := []struct {
		at      time.Time
		wantErr error
	}{
		{t0, nil},
		{t0.Add(-29 * time.Second), nil},
		{t0.Add(-31 * time.Second), token.ErrNotYetValid},
		{t0.Add(15 * time.Minute), nil},
		{t0.Add(15*time.Minute + 29*time.Second), nil},
		{t0.Add(15*time.Minute + 30*time.Second), token.ErrExpired},
		{t0.Add(24 * time.Hour), token.ErrExpired},
	}
	// a verified raw at t0 and remembers it: every later answer comes from
	// its memory of verified tokens, and must be the answer of an
	// Authority that sees the token for the first time at that moment.
	for _, tc := range tests {
		now = tc.at
		if _, err := a.Verify(raw); !errors.Is(err, tc.wantErr) {
			t.Errorf("remembered, at t0%+v: %v, want %v", tc.at.Sub(t0), err, tc.wantErr)
		}
		at := tc.at
		fresh := mustAuthority(t, a.Keys(), &at)
		if _, err := fresh.Verify(raw); !errors.Is(err, tc.wantErr) {
			t.Errorf("first seen, at t0%+v: %v, want %v", tc.at.Sub(t0), err, tc.wantErr)
		}
	}
	// A remembered token does not make a tampered copy valid.
	now = t0
	if _, err := a.Verify(raw[:len(raw)-2] + "AA"); !errors.Is(err, token.ErrSignature) && !errors.Is(err, token.ErrMalformed) {
		t.Errorf("tampered signature after the token was remembered: %v", err)
	}
}

// TestRotation: a new key in front signs, the old key still verifies until
// it is removed from the set; then its tokens are refused by kid.
func TestRotation(t *testing.T) {
	k1, k2 := mustEd25519(t), mustEd25519(t)
	s1, s2 := mustSecret(t), mustSecret(t)
	tests := []struct {
		name                 string
		old, rotating, fresh token.KeySet
	}{
		{"EdDSA", mustEdDSAKeySet(t, k1), mustEdDSAKeySet(t, k2, k1), mustEdDSAKeySet(t, k2)},
		{"HS256", mustHS256KeySet(t, s1), mustHS256KeySet(t, s2, s1), mustHS256KeySet(t, s2)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := mustAuthority(t, tc.old, nil)
			during := mustAuthority(t, tc.rotating, nil)
			after := mustAuthority(t, tc.fresh, nil)

			oldToken := mustIssue(t, before, testGrant)
			newToken := mustIssue(t, during, testGrant)
			if newToken.Claims.KeyID != tc.fresh.KeyIDs()[0] || newToken.Claims.KeyID == oldToken.Claims.KeyID {
				t.Fatalf("during the rotation the new key must sign: kid %q, old %q", newToken.Claims.KeyID, oldToken.Claims.KeyID)
			}
			for _, step := range []struct {
				name    string
				a       *token.Authority
				raw     string
				wantErr error
			}{
				{"old token during the rotation", during, oldToken.Token, nil},
				{"new token during the rotation", during, newToken.Token, nil},
				{"new token after removal", after, newToken.Token, nil},
				{"old token after removal", after, oldToken.Token, token.ErrUnknownKey},
				{"new token before the rotation", before, newToken.Token, token.ErrUnknownKey},
			} {
				c, err := step.a.Verify(step.raw)
				if !errors.Is(err, step.wantErr) {
					t.Errorf("%s: %v, want %v", step.name, err, step.wantErr)
				}
				if err == nil && c.Grant != testGrant {
					t.Errorf("%s: grant %+v", step.name, c.Grant)
				}
			}
		})
	}
}

// TestCheckTenant: a valid token acts on its own tenant only, but a
// super_admin's on every one; the refusal is not ErrInvalid.
func TestCheckTenant(t *testing.T) {
	a := mustAuthority(t, mustEdDSAKeySet(t, mustEd25519(t)), nil)
	verified := func(role token.Role) token.Claims {
		g := testGrant
		g.Role = role
		c, err := a.Verify(mustIssue(t, a, g).Token)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	tests := []struct {
		name    string
		claims  token.Claims
		tenant  string
		wantErr error
	}{
		{"own tenant", verified(token.RoleAdmin), testGrant.TenantID, nil},
		{"another tenant's token", verified(token.RoleAdmin), "0190f5c4-8b0a-7d1e-9a4b-cccccccccccc", token.ErrWrongTenant},
		{"a customer of another tenant", verified(token.RoleCustomer), "other", token.ErrWrongTenant},
		{"no tenant resolved", verified(token.RoleAdmin), "", token.ErrWrongTenant},
		{"super_admin on another tenant", verified(token.RoleSuperAdmin), "other", nil},
		{"super_admin without a tenant", verified(token.RoleSuperAdmin), "", token.ErrWrongTenant},
		{"tenant compared exactly", verified(token.RoleAdmin), strings.ToUpper(testGrant.TenantID), token.ErrWrongTenant},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.claims.CheckTenant(tc.tenant)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("CheckTenant: %v, want %v", err, tc.wantErr)
			}
			if errors.Is(err, token.ErrInvalid) {
				t.Fatalf("%v must not match ErrInvalid (it is FORBIDDEN, not UNAUTHENTICATED)", err)
			}
		})
	}
}

// TestNewOptions: New fills the defaults and refuses what cannot work.
func TestNewOptions(t *testing.T) {
	keys := mustHS256KeySet(t, mustSecret(t))
	a, err := token.New(token.Options{Keys: keys, Issuer: "i", Audience: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if a.AccessTTL() != 15*time.Minute {
		t.Fatalf("default TTL %s", a.AccessTTL())
	}
	is := mustIssue(t, a, testGrant)
	if d := time.Until(is.Claims.IssuedAt); d > time.Second || d < -2*time.Second {
		t.Fatalf("default clock: iat %s", is.Claims.IssuedAt)
	}
	for _, tc := range []struct {
		name string
		opts token.Options
	}{
		{"no keys", token.Options{Issuer: "i", Audience: "a"}},
		{"no issuer", token.Options{Keys: keys, Audience: "a"}},
		{"no audience", token.Options{Keys: keys, Issuer: "i"}},
		{"negative TTL", token.Options{Keys: keys, Issuer: "i", Audience: "a", AccessTTL: -time.Minute}},
		{"TTL not whole seconds", token.Options{Keys: keys, Issuer: "i", Audience: "a", AccessTTL: 1500 * time.Millisecond}},
		{"negative leeway", token.Options{Keys: keys, Issuer: "i", Audience: "a", Leeway: -time.Second}},
		{"leeway too large", token.Options{Keys: keys, Issuer: "i", Audience: "a", Leeway: time.Hour}},
	} {
		if _, err := token.New(tc.opts); err == nil {
			t.Errorf("%s: New succeeded", tc.name)
		}
	}
}

// TestConcurrentUse: one Authority issues and verifies from many goroutines
// (run with -race).
func TestConcurrentUse(t *testing.T) {
	a := mustAuthority(t, mustEdDSAKeySet(t, mustEd25519(t)), nil)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				is, err := a.Issue(testGrant)
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := a.Verify(is.Token); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func mustDecodeSegment(tb testing.TB, s string, v any) {
	tb.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		tb.Fatal(err)
	}
}

// jsonEqual reports whether a and b have the same JSON form.
func jsonEqual(tb testing.TB, a, b any) bool {
	tb.Helper()
	var x, y any
	if err := json.Unmarshal(mustJSON(tb, a), &x); err != nil {
		tb.Fatal(err)
	}
	if err := json.Unmarshal(mustJSON(tb, b), &y); err != nil {
		tb.Fatal(err)
	}
	return string(mustJSON(tb, x)) == string(mustJSON(tb, y))
}

// flipFirst changes the first character of a base64url segment, which
// changes the first decoded byte.
func flipFirst(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}

// nonCanonical spells s (86 characters for 64 bytes: 4 unused bits) with a
// unused bit set, which Go's decoder would read as the same bytes.
func nonCanonical(s string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, s[len(s)-1])
	return s[:len(s)-1] + string(alphabet[last|1])
}
