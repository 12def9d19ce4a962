package token_test

import (
	"strings"
	"testing"

	"github.com/rustok/rustok/platform/token"
)

// benchAuthorities are an Authority of each algorithm.
func benchAuthorities(b *testing.B) []struct {
	name string
	a    *token.Authority
} {
	return []struct {
		name string
		a    *token.Authority
	}{
		{"HS256", mustAuthority(b, mustHS256KeySet(b, mustSecret(b)), nil)},
		{"EdDSA", mustAuthority(b, mustEdDSAKeySet(b, mustEd25519(b)), nil)},
	}
}

func BenchmarkIssue(b *testing.B) {
	for _, bc := range benchAuthorities(b) {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.a.Issue(testGrant); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	for _, bc := range benchAuthorities(b) {
		raw := mustIssue(b, bc.a, testGrant).Token
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.a.Verify(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyHostile is the cost of refusing what an attacker can send
// for free: a token at the size limit, one over it, and a well-formed token
// under an unknown kid.
func BenchmarkVerifyHostile(b *testing.B) {
	a := mustAuthority(b, mustEdDSAKeySet(b, mustEd25519(b)), nil)
	stranger := mustEd25519(b)
	unknown := forge(b, validHeader("EdDSA", mustEdDSAKeySet(b, stranger).KeyIDs()[0]), validClaims(), stranger)
	atLimit := forge(b, validHeader("EdDSA", a.Keys().KeyIDs()[0]), with(validClaims(), map[string]any{"pad": ""}), mustEd25519(b))
	pad := (token.MaxTokenLen - len(atLimit)) * 3 / 4
	atLimit = forge(b, validHeader("EdDSA", a.Keys().KeyIDs()[0]), with(validClaims(), map[string]any{"pad": strings.Repeat("x", pad)}), mustEd25519(b))
	for _, bc := range []struct{ name, raw string }{
		{"at the size limit, bad signature", atLimit},
		{"over the size limit", strings.Repeat("A", 1<<20)},
		{"unknown kid", unknown},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Verify(bc.raw); err == nil {
					b.Fatal("accepted")
				}
			}
		})
	}
}
