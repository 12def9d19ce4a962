package token

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
)

// Algorithm is a signing algorithm of access tokens (the JOSE "alg").
type Algorithm string

// The algorithms a KeySet can hold.
const (
	// HS256 is HMAC-SHA256 with a shared secret: every verifier can also
	// sign, and no key is published.
	HS256 Algorithm = "HS256"
	// EdDSA is Ed25519: the private key signs, the public keys are published
	// as the JWKS, so other services can verify without being able to sign.
	EdDSA Algorithm = "EdDSA"
)

// MinSecretLen is the shortest HS256 secret, in bytes: the size of the
// HMAC-SHA256 key (RFC 7518 section 3.2). go-jose refuses to sign with less.
const MinSecretLen = 32

// maxPEMFile bounds what LoadKeySet reads from a key file: a PKCS#8 Ed25519
// key is about 120 bytes.
const maxPEMFile = 64 << 10

// KeySet holds the keys of one algorithm, newest first: the first signs new
// tokens, every one verifies. A KeySet is immutable and safe for concurrent
// use; the zero KeySet holds no key and is refused by New.
type KeySet struct {
	alg  Algorithm
	keys []setKey
	jwks []byte
}

// setKey is one key of a set.
type setKey struct {
	kid    string
	sign   any // ed25519.PrivateKey or []byte
	verify any // ed25519.PublicKey or []byte
}

// NewEdDSAKeySet returns the set of keys, newest first. It returns an error
// when keys is empty, a key is not a well-formed Ed25519 private key, or two
// keys are the same.
func NewEdDSAKeySet(keys ...ed25519.PrivateKey) (KeySet, error) {
	if len(keys) == 0 {
		return KeySet{}, errors.New("token: an EdDSA key set needs at least one key")
	}
	set := KeySet{alg: EdDSA}
	public := make([]jose.JSONWebKey, 0, len(keys))
	for i, k := range keys {
		if len(k) != ed25519.PrivateKeySize || !bytes.Equal(ed25519.NewKeyFromSeed(k.Seed()), k) {
			return KeySet{}, fmt.Errorf("token: key %d is not a well-formed Ed25519 private key", i+1)
		}
		priv := slices.Clone(k)
		pub := priv.Public().(ed25519.PublicKey)
		kid, err := edThumbprint(pub)
		if err != nil {
			return KeySet{}, fmt.Errorf("token: key %d: %w", i+1, err)
		}
		if err := set.add(setKey{kid: kid, sign: priv, verify: pub}, i); err != nil {
			return KeySet{}, err
		}
		public = append(public, jose.JSONWebKey{Key: pub, KeyID: kid, Algorithm: string(EdDSA), Use: "sig"})
	}
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: public})
	if err != nil {
		return KeySet{}, fmt.Errorf("token: marshal JWKS: %w", err)
	}
	set.jwks = jwks
	return set, nil
}

// NewHS256KeySet returns the set of secrets, newest first. It returns an
// error when secrets is empty, a secret is shorter than MinSecretLen bytes,
// or two secrets are the same.
func NewHS256KeySet(secrets ...[]byte) (KeySet, error) {
	if len(secrets) == 0 {
		return KeySet{}, errors.New("token: an HS256 key set needs at least one secret")
	}
	set := KeySet{alg: HS256, jwks: []byte(`{"keys":[]}`)}
	for i, s := range secrets {
		if len(s) < MinSecretLen {
			return KeySet{}, fmt.Errorf("token: secret %d is %d bytes, shorter than %d", i+1, len(s), MinSecretLen)
		}
		secret := slices.Clone(s)
		if err := set.add(setKey{kid: octThumbprint(secret), sign: secret, verify: secret}, i); err != nil {
			return KeySet{}, err
		}
	}
	return set, nil
}

// add appends k, the i-th key (from zero), refusing a second copy of a key.
func (s *KeySet) add(k setKey, i int) error {
	if _, ok := s.find(k.kid); ok {
		return fmt.Errorf("token: key %d repeats an earlier key", i+1)
	}
	s.keys = append(s.keys, k)
	return nil
}

// find returns the key whose kid is kid. A set holds a handful of keys, so
// a scan is cheaper than a map.
func (s KeySet) find(kid string) (setKey, bool) {
	for _, k := range s.keys {
		if k.kid == kid {
			return k, true
		}
	}
	return setKey{}, false
}

// Algorithm returns the algorithm of the set's keys ("" for the zero set).
func (s KeySet) Algorithm() Algorithm { return s.alg }

// KeyIDs returns the kids of the set, newest (the signing key) first.
func (s KeySet) KeyIDs() []string {
	ids := make([]string, len(s.keys))
	for i, k := range s.keys {
		ids[i] = k.kid
	}
	return ids
}

// JWKS returns the JSON Web Key Set document of /.well-known/jwks.json
// (RFC 7517 section 5): under EdDSA every key's public half,
// {"kty":"OKP","crv":"Ed25519","x","kid","use":"sig","alg":"EdDSA"}, newest
// first; under HS256 {"keys":[]}, since a secret is never published. The
// caller owns the returned slice.
func (s KeySet) JWKS() []byte {
	if s.jwks == nil {
		return []byte(`{"keys":[]}`)
	}
	return slices.Clone(s.jwks)
}

// edThumbprint returns the RFC 7638 thumbprint (SHA-256, base64url) of an
// Ed25519 public key, its kid.
func edThumbprint(pub ed25519.PublicKey) (string, error) {
	t, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(t), nil
}

// octThumbprint returns the RFC 7638 thumbprint of a symmetric key,
// {"k","kty":"oct"} (section 3.2 and RFC 7518 section 6.4), which go-jose
// does not compute. It tells nothing about the secret that a token's own
// HMAC does not: both let a guess be checked offline, which is why secrets
// must be random.
func octThumbprint(secret []byte) string {
	sum := sha256.Sum256([]byte(`{"k":"` + base64.RawURLEncoding.EncodeToString(secret) + `","kty":"oct"}`))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// ParseEd25519PEM parses an Ed25519 private key from a PEM "PRIVATE KEY"
// block (PKCS#8, RFC 8410), as `openssl genpkey -algorithm ed25519` and
// GenerateEd25519PEM write. It returns an error for anything else, including
// an encrypted key or a second PEM block. Errors never contain key material.
func ParseEd25519PEM(data []byte) (ed25519.PrivateKey, error) {
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	if block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("PEM block is %q, want an unencrypted PKCS#8 \"PRIVATE KEY\" (openssl genpkey -algorithm ed25519)", block.Type)
	}
	if len(block.Headers) != 0 {
		return nil, errors.New("PEM block has headers: encrypted keys are not supported")
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, errors.New("text after the PEM block: give one key per entry")
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse PKCS#8: %w", err)
	}
	ed, ok := key.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("key is %T, want Ed25519", key)
	}
	return ed, nil
}

// GenerateEd25519PEM returns a new random Ed25519 private key as a PKCS#8
// PEM block, for `rustok auth keygen`, development and tests.
func GenerateEd25519PEM() ([]byte, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate Ed25519 key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("marshal PKCS#8: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// GenerateSecret returns a new random HS256 secret: 32 random bytes as 43
// base64url characters (text, so it fits a YAML file or RUSTOK_JWT_SECRET;
// 43 bytes as a key, at least MinSecretLen).
func GenerateSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (it crashes the program instead)
	return base64.RawURLEncoding.EncodeToString(b)
}

// LoadKeySet builds the key set that the keys auth.jwt.{algorithm,secret,
// keys} describe: under "HS256" the one secret (keys are ignored), under
// "EdDSA" the keys, newest first, each the text of a PKCS#8 PEM block or the
// path of a file holding one. An error names the entry (from 1) that failed,
// never its content.
func LoadKeySet(algorithm, secret string, keys []string) (KeySet, error) {
	switch Algorithm(algorithm) {
	case HS256:
		if len(secret) < MinSecretLen {
			return KeySet{}, fmt.Errorf("auth.jwt.secret: HS256 needs at least %d bytes, got %d", MinSecretLen, len(secret))
		}
		return NewHS256KeySet([]byte(secret))
	case EdDSA:
		if len(keys) == 0 {
			return KeySet{}, errors.New("auth.jwt.keys: EdDSA needs at least one key")
		}
		privs := make([]ed25519.PrivateKey, len(keys))
		for i, entry := range keys {
			k, err := loadEd25519(entry)
			if err != nil {
				return KeySet{}, fmt.Errorf("auth.jwt.keys entry %d: %w", i+1, err)
			}
			privs[i] = k
		}
		set, err := NewEdDSAKeySet(privs...)
		if err != nil {
			return KeySet{}, fmt.Errorf("auth.jwt.keys: %w", err)
		}
		return set, nil
	default:
		return KeySet{}, fmt.Errorf("auth.jwt.algorithm: must be HS256 or EdDSA, got %q", clip(algorithm))
	}
}

// loadEd25519 parses entry as PEM text, or reads the file it names.
func loadEd25519(entry string) (ed25519.PrivateKey, error) {
	if strings.HasPrefix(strings.TrimSpace(entry), "-----BEGIN") {
		return ParseEd25519PEM([]byte(entry))
	}
	f, err := os.Open(entry)
	if err != nil {
		// The entry is not named: it might be key material pasted without
		// its PEM armour.
		var pathErr *fs.PathError
		if errors.As(err, &pathErr) {
			err = pathErr.Err
		}
		return nil, fmt.Errorf("neither PEM text nor the path of a readable file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxPEMFile+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", entry, err)
	}
	if len(data) > maxPEMFile {
		return nil, fmt.Errorf("%s is larger than %d bytes: not a key file", entry, maxPEMFile)
	}
	k, err := ParseEd25519PEM(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", entry, err)
	}
	return k, nil
}
