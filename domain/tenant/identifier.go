package tenant

import (
	"strings"

	"github.com/rustok/rustok/domain"
)

// Limits of tenant identifiers.
const (
	// MaxSlugLength is the longest slug, in bytes (all ASCII). DOMAIN.md says
	// "1–64 chars" but also gives the pattern ^[a-z0-9][a-z0-9-]{0,62}$, which
	// allows at most 63: the pattern is the rule.
	MaxSlugLength = 63
	// MaxHostLength is the longest host name, in bytes, without a trailing dot
	// (the DNS limit).
	MaxHostLength = 253
	// maxLabelLength is the longest DNS label.
	maxLabelLength = 63
	// maxHostInput bounds the raw host value worth scanning: a longest host,
	// its trailing dot and ":65535".
	maxHostInput = MaxHostLength + len(".:65535")
)

// reservedSlugs are the slugs no tenant may take (DOMAIN.md): names of
// infrastructure, environments and pages that a subdomain or a path could be
// confused with. Never written after initialisation.
var reservedSlugs = map[string]struct{}{
	"api": {}, "admin": {}, "www": {}, "app": {}, "cdn": {}, "assets": {}, "static": {},
	"health": {}, "metrics": {}, "docs": {}, "swagger": {}, "mail": {}, "smtp": {},
	"pop": {}, "imap": {}, "ftp": {}, "sftp": {}, "ssh": {}, "vpn": {}, "auth": {},
	"login": {}, "logout": {}, "register": {}, "signup": {}, "signin": {}, "dev": {},
	"test": {}, "staging": {}, "prod": {}, "production": {}, "localhost": {}, "db": {},
	"database": {}, "cache": {}, "redis": {}, "postgres": {}, "root": {}, "system": {},
	"internal": {}, "private": {}, "public": {},
}

// NormalizeSlug trims white space from s, lowercases it and checks it as a
// tenant slug: ^[a-z0-9][a-z0-9-]{0,62}$ after lowercasing (so 1 to
// MaxSlugLength bytes, a trailing '-' allowed as the pattern allows it), and
// not a reserved word. It returns the normalized slug, which NormalizeSlug
// returns unchanged.
//
// Only ASCII letters are lowercased: any other byte is refused before
// lowercasing, so that no Unicode letter can fold into a valid slug (the
// Kelvin sign U+212A lowercases to "k").
//
// Errors: ErrInvalidSlug, ErrReservedSlug.
func NormalizeSlug(s string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) == 0 || len(s) > MaxSlugLength || s[0] == '-' {
		return "", ErrInvalidSlug
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isLowerAlnum(c) && c != '-' && !isUpper(c) {
			return "", ErrInvalidSlug
		}
	}
	s = strings.ToLower(s) // ASCII only here: allocates only if s has upper case
	if _, reserved := reservedSlugs[s]; reserved {
		return "", ErrReservedSlug
	}
	return s, nil
}

// IsUUID reports whether s is a UUID in lowercase hyphenated form
// (8-4-4-4-12 hexadecimal digits), the only form a tenant id takes. Any
// version and variant is accepted. It is domain.IsUUID, kept here for the
// callers that check tenant identifiers.
func IsUUID(s string) bool { return domain.IsUUID(s) }

// NormalizeHost trims white space from s, strips a ":port" (1 to 5 digits,
// at most 65535) and one trailing dot, lowercases it and checks it as a host
// name: at most MaxHostLength bytes of [a-z0-9.-], in labels of 1 to 63 bytes
// that neither start nor end with '-'. It returns the normalized host, which
// NormalizeHost returns unchanged.
//
// IPv6 literals ("[::1]:8080", "::1") are refused, as are internationalized
// names not in their ASCII (punycode) form. An IPv4 address passes, as any
// name of digits and dots would.
//
// Errors: ErrInvalidHost.
func NormalizeHost(s string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) == 0 || len(s) > maxHostInput || s[0] == '[' {
		return "", ErrInvalidHost
	}
	if i := strings.IndexByte(s, ':'); i >= 0 {
		// A second ':' (a bare IPv6 literal) fails the port check.
		if !isPort(s[i+1:]) {
			return "", ErrInvalidHost
		}
		s = s[:i]
	}
	s = strings.TrimSuffix(s, ".")
	if len(s) == 0 || len(s) > MaxHostLength {
		return "", ErrInvalidHost
	}
	start := 0 // of the current label
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			if n := i - start; n == 0 || n > maxLabelLength || s[start] == '-' || s[i-1] == '-' {
				return "", ErrInvalidHost
			}
			start = i + 1
			continue
		}
		if c := s[i]; !isLowerAlnum(c) && c != '-' && !isUpper(c) {
			return "", ErrInvalidHost
		}
	}
	return strings.ToLower(s), nil // ASCII only here: allocates only if s has upper case
}

// isPort reports whether s is a decimal TCP port, 0 to 65535, of 1 to 5 digits.
func isPort(s string) bool {
	if len(s) == 0 || len(s) > 5 {
		return false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int(c-'0')
	}
	return n <= 65535
}

func isLowerAlnum(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }

func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }

// IdentifierKind says how a tenant identifier names a tenant.
type IdentifierKind string

// The identifier kinds.
const (
	// KindID: the tenant id, a lowercase hyphenated UUID.
	KindID IdentifierKind = "id"
	// KindSlug: the tenant slug.
	KindSlug IdentifierKind = "slug"
	// KindHost: one of the tenant's domains. ParseIdentifier never returns it;
	// host-mode resolution builds it from NormalizeHost.
	KindHost IdentifierKind = "host"
)

// Identifier is a validated, normalized tenant identifier: what a resolver
// looks a tenant up by.
type Identifier struct {
	Kind  IdentifierKind
	Value string
}

// ParseIdentifier classifies a tenant identifier such as an X-Tenant-ID header
// value, after trimming white space: a UUID gives KindID, anything else that
// NormalizeSlug accepts gives KindSlug with the normalized slug. An
// upper-case UUID normalizes to its lowercase form and gives KindID (no tenant
// can have a UUID-shaped slug: see ErrUUIDSlug).
//
// Errors: ErrInvalidIdentifier for anything else, including the empty string;
// it wraps the slug error (ErrInvalidSlug or ErrReservedSlug), so errors.Is
// matches either.
func ParseIdentifier(s string) (Identifier, error) {
	s = strings.TrimSpace(s)
	if IsUUID(s) {
		return Identifier{Kind: KindID, Value: s}, nil
	}
	slug, err := NormalizeSlug(s)
	if err != nil {
		return Identifier{}, ErrInvalidIdentifier.Wrap(err)
	}
	if IsUUID(slug) {
		return Identifier{Kind: KindID, Value: slug}, nil
	}
	return Identifier{Kind: KindSlug, Value: slug}, nil
}

// SubdomainSlug extracts slug from a host of the form "<slug>.<base>" where
// base is one of baseDomains. host should come from NormalizeHost; base
// domains are matched ignoring ASCII case and a trailing dot, and the longest
// matching base wins ("a.shop.example.com" under bases "example.com" and
// "shop.example.com" gives "a"). The slug is returned lowercased but not
// otherwise checked: pass it to NormalizeSlug.
//
// ok is false when host is not strictly under any base, is a base domain
// itself, or has more than one label before the longest matching base.
// Empty base domains are ignored.
func SubdomainSlug(host string, baseDomains []string) (slug string, ok bool) {
	host = strings.TrimSuffix(host, ".")
	best := -1 // length of the longest matching base
	for _, base := range baseDomains {
		base = strings.TrimSuffix(base, ".")
		if base == "" || len(base) <= best {
			continue
		}
		if strings.EqualFold(host, base) {
			return "", false
		}
		if len(host) > len(base)+1 && host[len(host)-len(base)-1] == '.' && strings.EqualFold(host[len(host)-len(base):], base) {
			best = len(base)
		}
	}
	if best < 0 {
		return "", false
	}
	label := host[:len(host)-best-1]
	if strings.IndexByte(label, '.') >= 0 {
		return "", false
	}
	return strings.ToLower(label), true
}
