package token_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rustok/rustok/platform/token"
)

// joseVersion is the version of the npm package jose the reference test was
// written against (jose 6 needs node 22).
const joseVersion = "5.10.0"

// nodeWithJose returns the node binary and a NODE_PATH under which
// require("jose") finds the npm package jose, or skips with what is
// missing. jose is installed outside the repository, where
// RUSTOK_TEST_NODE_PATH points (default ~/.cache/rustok-ci/npm/node_modules):
// npm install --prefix ~/.cache/rustok-ci/npm jose@5.10.0
func nodeWithJose(t *testing.T) (node, nodePath string) {
	t.Helper()
	// CI sets RUSTOK_TEST_REQUIRE_CLIENTS=1: there a missing tool fails.
	skip := t.Skipf
	if os.Getenv("RUSTOK_TEST_REQUIRE_CLIENTS") == "1" {
		skip = t.Fatalf
	}
	node, err := exec.LookPath("node")
	if err != nil {
		skip("skipping: node is not on PATH")
	}
	nodePath = os.Getenv("RUSTOK_TEST_NODE_PATH")
	if nodePath == "" {
		home, _ := os.UserHomeDir()
		nodePath = filepath.Join(home, ".cache", "rustok-ci", "npm", "node_modules")
	}
	raw, err := os.ReadFile(filepath.Join(nodePath, "jose", "package.json"))
	if err != nil {
		skip("skipping: the npm package jose is not installed in %s (npm install --prefix %s jose@%s)",
			nodePath, filepath.Dir(nodePath), joseVersion)
	}
	var pkg struct {
		Version string `json:"version"`
	}
	_ = json.Unmarshal(raw, &pkg)
	t.Logf("node %s, jose %s", node, pkg.Version)
	return node, nodePath
}

// TestJoseInterop checks platform/token against a reference implementation,
// the npm package jose: jose verifies our EdDSA token against our JWKS
// document (and refuses a tampered one), verifies our HS256 token with the
// secret, computes the same RFC 7638 kids; our verifier accepts the tokens
// jose signs with a key of the set, and refuses one whose header embeds a
// jwk.
func TestJoseInterop(t *testing.T) {
	node, nodePath := nodeWithJose(t)

	current, older := mustEd25519(t), mustEd25519(t)
	edKeys := mustEdDSAKeySet(t, current, older)
	secret := []byte(token.GenerateSecret())
	hsKeys := mustHS256KeySet(t, secret)
	// jose checks times against the real clock, so these use it too.
	opts := func(keys token.KeySet) token.Options {
		return token.Options{Keys: keys, Issuer: testIssuer, Audience: testAudience}
	}
	ed, err := token.New(opts(edKeys))
	if err != nil {
		t.Fatal(err)
	}
	hs, err := token.New(opts(hsKeys))
	if err != nil {
		t.Fatal(err)
	}
	edIssued := mustIssue(t, ed, testGrant)
	hsIssued := mustIssue(t, hs, testGrant)
	parts := strings.Split(edIssued.Token, ".")
	tampered := parts[0] + "." + b64(mustJSON(t, with(validClaims(), map[string]any{"exp": time.Now().Add(time.Hour).Unix(), "tid": "other"}))) + "." + parts[2]

	// jose signs with the older key: a key of the set, not the current one.
	der, err := x509.MarshalPKCS8PrivateKey(older)
	if err != nil {
		t.Fatal(err)
	}
	spki, err := x509.MarshalPKIXPublicKey(older.Public())
	if err != nil {
		t.Fatal(err)
	}
	input := map[string]any{
		"issuer":         testIssuer,
		"audience":       testAudience,
		"jwks":           json.RawMessage(edKeys.JWKS()),
		"edToken":        edIssued.Token,
		"tamperedToken":  tampered,
		"hsToken":        hsIssued.Token,
		"secret":         string(secret),
		"hsKid":          hsKeys.KeyIDs()[0],
		"signingKeyPEM":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"signingKeySPKI": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki})),
		"signingKid":     edKeys.KeyIDs()[1],
		"grant": map[string]string{
			"sub": testGrant.UserID, "tid": testGrant.TenantID, "sid": testGrant.SessionID, "role": string(testGrant.Role),
		},
	}
	inFile := filepath.Join(t.TempDir(), "input.json")
	if err := os.WriteFile(inFile, mustJSON(t, input), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "testdata/jose_interop.cjs", inFile)
	cmd.Env = append(os.Environ(), "NODE_PATH="+nodePath)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}

	type verified struct {
		OK              bool              `json:"ok"`
		Code            string            `json:"code"`
		Payload         map[string]any    `json:"payload"`
		ProtectedHeader map[string]string `json:"protectedHeader"`
	}
	var out struct {
		EdToken            verified `json:"edToken"`
		TamperedToken      verified `json:"tamperedToken"`
		HSToken            verified `json:"hsToken"`
		Thumbprints        []string `json:"thumbprints"`
		HSThumbprint       string   `json:"hsThumbprint"`
		NodeEdToken        string   `json:"nodeEdToken"`
		NodeHSToken        string   `json:"nodeHsToken"`
		NodeJWKHeaderToken string   `json:"nodeJwkHeaderToken"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("node output %q: %v (stderr %s)", stdout.String(), err, stderr.String())
	}

	for _, c := range []struct {
		name string
		v    verified
		kid  string
		alg  string
	}{
		{"EdDSA token against the JWKS", out.EdToken, edKeys.KeyIDs()[0], "EdDSA"},
		{"HS256 token with the secret", out.HSToken, hsKeys.KeyIDs()[0], "HS256"},
	} {
		if !c.v.OK {
			t.Errorf("jose refused our %s: %s", c.name, c.v.Code)
			continue
		}
		wantHeader := map[string]string{"alg": c.alg, "kid": c.kid, "typ": "at+jwt"}
		if !jsonEqual(t, c.v.ProtectedHeader, wantHeader) {
			t.Errorf("%s: jose read header %v, want %v", c.name, c.v.ProtectedHeader, wantHeader)
		}
		p := c.v.Payload
		if p["sub"] != testGrant.UserID || p["tid"] != testGrant.TenantID || p["sid"] != testGrant.SessionID || p["role"] != string(testGrant.Role) || p["aud"] != testAudience {
			t.Errorf("%s: jose read claims %v", c.name, p)
		}
	}
	if out.TamperedToken.OK || out.TamperedToken.Code != "ERR_JWS_SIGNATURE_VERIFICATION_FAILED" {
		t.Errorf("jose on the tampered token: %+v, want ERR_JWS_SIGNATURE_VERIFICATION_FAILED", out.TamperedToken)
	}
	if !slices.Equal(out.Thumbprints, edKeys.KeyIDs()) {
		t.Errorf("jose thumbprints %v, our kids %v", out.Thumbprints, edKeys.KeyIDs())
	}
	if out.HSThumbprint != hsKeys.KeyIDs()[0] {
		t.Errorf("jose oct thumbprint %q, our kid %q", out.HSThumbprint, hsKeys.KeyIDs()[0])
	}

	for _, c := range []struct {
		name string
		a    *token.Authority
		raw  string
		kid  string
	}{
		{"jose's EdDSA token", ed, out.NodeEdToken, edKeys.KeyIDs()[1]},
		{"jose's HS256 token", hs, out.NodeHSToken, hsKeys.KeyIDs()[0]},
	} {
		got, err := c.a.Verify(c.raw)
		if err != nil {
			t.Errorf("we refused %s: %v", c.name, err)
			continue
		}
		if got.Grant != testGrant || got.ID != "node-jose" || got.KeyID != c.kid || got.ExpiresAt.Sub(got.IssuedAt) != 5*time.Minute {
			t.Errorf("%s: claims %+v", c.name, got)
		}
	}
	if _, err := ed.Verify(out.NodeJWKHeaderToken); !errors.Is(err, token.ErrHeader) {
		t.Errorf("jose's token with an embedded jwk: %v, want ErrHeader", err)
	}
	if _, err := hs.Verify(out.NodeEdToken); !errors.Is(err, token.ErrAlgorithm) {
		t.Errorf("jose's EdDSA token under HS256: %v, want ErrAlgorithm", err)
	}
}
