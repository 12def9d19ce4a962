// Package token issues and verifies RusToK's access tokens: short-lived JWTs
// in the profile of RFC 9068 (header typ "at+jwt"), signed by go-jose with
// HS256 or EdDSA (Ed25519), as CONTRACT.md "Identity on the wire" describes.
//
// A KeySet holds the keys of one algorithm, newest first: the first signs new
// tokens and every key verifies, so a key can be rotated by putting a new one
// in front and removed once the tokens it signed have expired. Every key has
// a kid, its RFC 7638 thumbprint, which a token names in its header.
//
// An Authority issues tokens under a KeySet and verifies them. Verify bounds
// its work before any parsing (MaxTokenLen bytes, three base64url segments, a
// header of alg, kid and typ only), accepts only the key set's algorithm
// (never "none", never HS256 under EdDSA), only a kid of the set, and then
// requires the signature, exp, iss and aud, and a complete set of RusToK
// claims (sub, tid, sid, role). Every refusal wraps ErrInvalid and one more
// specific sentinel (ErrExpired, ErrAudience, ...): the transport answers all
// of them with UNAUTHENTICATED. Claims.CheckTenant then tells whether a valid
// token may act on the request's tenant; its refusal, ErrWrongTenant, is
// FORBIDDEN.
//
// KeySet.JWKS is the document of /.well-known/jwks.json: the public EdDSA keys,
// and no key at all under HS256, whose key is secret.
package token
