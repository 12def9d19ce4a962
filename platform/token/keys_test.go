package token_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rustok/rustok/config"
	"github.com/rustok/rustok/platform/token"
)

// TestJWKS: under EdDSA the document lists every key's public half with
// its kid (the RFC 7638 thumbprint), use and alg, newest first, and no
// private member; under HS256 it is empty.
func TestJWKS(t *testing.T) {
	k1, k2 := mustEd25519(t), mustEd25519(t)
	set := mustEdDSAKeySet(t, k1, k2)
	var doc struct {
		Keys []map[string]string `json:"keys"`
	}
	raw := set.JWKS()
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Keys) != 2 {
		t.Fatalf("JWKS %s: want 2 keys", raw)
	}
	for i, k := range []ed25519.PrivateKey{k1, k2} {
		x := b64(k.Public().(ed25519.PublicKey))
		// RFC 7638 section 3.2: the required members in lexicographic order,
		// no whitespace.
		sum := sha256.Sum256([]byte(`{"crv":"Ed25519","kty":"OKP","x":"` + x + `"}`))
		want := map[string]string{"kty": "OKP", "crv": "Ed25519", "x": x, "kid": b64(sum[:]), "use": "sig", "alg": "EdDSA"}
		if !jsonEqual(t, doc.Keys[i], want) {
			t.Errorf("key %d: %v, want %v", i, doc.Keys[i], want)
		}
		if set.KeyIDs()[i] != want["kid"] {
			t.Errorf("KeyIDs()[%d] = %q, want %q", i, set.KeyIDs()[i], want["kid"])
		}
	}
	if strings.Contains(string(raw), `"d"`) {
		t.Fatalf("JWKS publishes private material: %s", raw)
	}
	raw[0] = 'X' // the caller owns its copy
	if set.JWKS()[0] != '{' {
		t.Fatal("JWKS returned the set's own buffer")
	}

	hs := mustHS256KeySet(t, mustSecret(t))
	if got := string(hs.JWKS()); got != `{"keys":[]}` {
		t.Fatalf("HS256 JWKS %s, want {\"keys\":[]}", got)
	}
	if got := string((token.KeySet{}).JWKS()); got != `{"keys":[]}` {
		t.Fatalf("zero KeySet JWKS %s", got)
	}
}

// TestHS256KeyID: the kid of a secret is its RFC 7638 thumbprint as an oct
// key.
func TestHS256KeyID(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	sum := sha256.Sum256([]byte(`{"k":"` + b64(secret) + `","kty":"oct"}`))
	if got := mustHS256KeySet(t, secret).KeyIDs()[0]; got != b64(sum[:]) {
		t.Fatalf("kid %q, want %q", got, b64(sum[:]))
	}
}

// TestNewKeySets refuses sets that cannot sign or verify.
func TestNewKeySets(t *testing.T) {
	k := mustEd25519(t)
	broken := append(ed25519.PrivateKey(nil), k...)
	broken[40] ^= 1 // public half no longer the seed's
	s := mustSecret(t)
	tests := []struct {
		name string
		err  error
	}{
		{"no EdDSA key", second(token.NewEdDSAKeySet())},
		{"short Ed25519 key", second(token.NewEdDSAKeySet(k[:32]))},
		{"Ed25519 key whose public half does not match", second(token.NewEdDSAKeySet(broken))},
		{"the same Ed25519 key twice", second(token.NewEdDSAKeySet(k, k))},
		{"no secret", second(token.NewHS256KeySet())},
		{"31-byte secret", second(token.NewHS256KeySet(s[:31]))},
		{"the same secret twice", second(token.NewHS256KeySet(s, s))},
	}
	for _, tc := range tests {
		if tc.err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
	// The set keeps its own copy of the keys.
	set := mustHS256KeySet(t, s)
	a := mustAuthority(t, set, nil)
	raw := mustIssue(t, a, testGrant).Token
	s[0] ^= 0xff
	if _, err := a.Verify(raw); err != nil {
		t.Fatalf("changing the caller's secret changed the set: %v", err)
	}
}

func second[T any](_ T, err error) error { return err }

// TestParseEd25519PEM: GenerateEd25519PEM's output parses back; other PEM
// does not, and no error repeats the input.
func TestParseEd25519PEM(t *testing.T) {
	good, err := token.GenerateEd25519PEM()
	if err != nil {
		t.Fatal(err)
	}
	k, err := token.ParseEd25519PEM(good)
	if err != nil {
		t.Fatalf("parse generated key: %v", err)
	}
	if _, err := token.NewEdDSAKeySet(k); err != nil {
		t.Fatal(err)
	}
	if other, _ := token.GenerateEd25519PEM(); string(other) == string(good) {
		t.Fatal("GenerateEd25519PEM repeats itself")
	}

	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalPKCS8PrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(good)
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"not PEM", []byte("MC4CAQAwBQYDK2VwBCIEIJ2r")},
		{"ECDSA key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER})},
		{"public key", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: block.Bytes})},
		{"OpenSSH key", pem.EncodeToMemory(&pem.Block{Type: "OPENSSH PRIVATE KEY", Bytes: block.Bytes})},
		{"encrypted PKCS#8", pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: block.Bytes})},
		{"legacy encryption headers", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"}, Bytes: block.Bytes})},
		{"two keys in one entry", append(append([]byte{}, good...), good...)},
		{"corrupt DER", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: block.Bytes[:20]})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := token.ParseEd25519PEM(tc.in)
			if err == nil {
				t.Fatal("accepted")
			}
			if len(tc.in) > 8 && strings.Contains(err.Error(), string(tc.in[len(tc.in)/2:][:8])) {
				t.Fatalf("error %q repeats the input", err)
			}
		})
	}
}

// TestLoadKeySet: the keys auth.jwt.* become a key set; entries are PEM
// text or files; a bad entry is named by its number, never shown.
func TestLoadKeySet(t *testing.T) {
	pem1, _ := token.GenerateEd25519PEM()
	pem2, _ := token.GenerateEd25519PEM()
	dir := t.TempDir()
	file := filepath.Join(dir, "key2.pem")
	if err := os.WriteFile(file, pem2, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.pem")
	if err := os.WriteFile(big, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	k1, _ := token.ParseEd25519PEM(pem1)
	k2, _ := token.ParseEd25519PEM(pem2)
	wantIDs := mustEdDSAKeySet(t, k1, k2).KeyIDs()

	set, err := token.LoadKeySet("EdDSA", "", []string{string(pem1), file})
	if err != nil {
		t.Fatal(err)
	}
	if set.Algorithm() != token.EdDSA || strings.Join(set.KeyIDs(), ",") != strings.Join(wantIDs, ",") {
		t.Fatalf("loaded %s %v, want EdDSA %v", set.Algorithm(), set.KeyIDs(), wantIDs)
	}
	secret := token.GenerateSecret()
	if len(secret) < token.MinSecretLen || secret == token.GenerateSecret() {
		t.Fatalf("GenerateSecret %q", secret)
	}
	if set, err := token.LoadKeySet("HS256", secret, nil); err != nil || set.Algorithm() != token.HS256 {
		t.Fatalf("HS256: %v %v", set.Algorithm(), err)
	}

	pasted := "MC4CAQAwBQYDK2VwBCIEIPrivateKeyMaterialPastedWithoutArmour"
	tests := []struct {
		name       string
		alg        string
		secret     string
		keys       []string
		wantInErr  string
		notInError string
	}{
		{"unknown algorithm", "RS256", "", nil, "auth.jwt.algorithm", ""},
		{"short secret", "HS256", "tiny-s3cret", nil, "auth.jwt.secret", "tiny-s3cret"},
		{"EdDSA without keys", "EdDSA", "", nil, "auth.jwt.keys", ""},
		{"second entry not PEM nor a file", "EdDSA", "", []string{string(pem1), pasted}, "entry 2", pasted[10:30]},
		{"missing file", "EdDSA", "", []string{filepath.Join(dir, "nope.pem")}, "entry 1", ""},
		{"file too large", "EdDSA", "", []string{big}, "entry 1", ""},
		{"the same key twice", "EdDSA", "", []string{string(pem1), string(pem1)}, "auth.jwt.keys", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := token.LoadKeySet(tc.alg, tc.secret, tc.keys)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.wantInErr) {
				t.Fatalf("error %q does not name %q", err, tc.wantInErr)
			}
			if tc.notInError != "" && strings.Contains(err.Error(), tc.notInError) {
				t.Fatalf("error %q shows the secret", err)
			}
		})
	}
}

// TestOptionsFromConfig: the default configuration (HS256 with the
// development secret) and an EdDSA one give working Authorities.
func TestOptionsFromConfig(t *testing.T) {
	pemKey, _ := token.GenerateEd25519PEM()
	ed := config.Default().Auth.JWT
	ed.Algorithm, ed.Secret, ed.Keys = "EdDSA", "", []string{string(pemKey)}
	ed.AccessTTL = 5 * time.Minute
	for _, c := range []config.JWT{config.Default().Auth.JWT, ed} {
		opts, err := token.OptionsFromConfig(c)
		if err != nil {
			t.Fatalf("%s: %v", c.Algorithm, err)
		}
		if string(opts.Keys.Algorithm()) != c.Algorithm || opts.Issuer != c.Issuer || opts.Audience != c.Audience || opts.AccessTTL != c.AccessTTL {
			t.Fatalf("%s: options %+v", c.Algorithm, opts)
		}
		a, err := token.New(opts)
		if err != nil {
			t.Fatal(err)
		}
		is := mustIssue(t, a, testGrant)
		if is.Claims.ExpiresAt.Sub(is.Claims.IssuedAt) != c.AccessTTL {
			t.Fatalf("%s: lifetime %s", c.Algorithm, is.Claims.ExpiresAt.Sub(is.Claims.IssuedAt))
		}
		if _, err := a.Verify(is.Token); err != nil {
			t.Fatalf("%s: %v", c.Algorithm, err)
		}
	}
	bad := config.Default().Auth.JWT
	bad.Algorithm = "EdDSA"
	bad.Keys = []string{"/nonexistent/key.pem"}
	if _, err := token.OptionsFromConfig(bad); err == nil {
		t.Fatal("a missing key file was accepted")
	}
}
