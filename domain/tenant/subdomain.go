package tenant

import (
	"fmt"
	"slices"

	"github.com/rustok/rustok/domain"
)

// BaseDomains are the configured base domains of subdomain resolution
// (settings.rustok.tenant.base_domains), normalized: under a base domain,
// the host "<label>.<base>" names the tenant whose slug is label. They decide
// which host names a slug and a domain must not share (see CheckDomain and
// Subdomains), whatever resolution mode is configured, so that switching to
// subdomain mode later breaks no tenant (docs/adr/0017).
//
// The zero value has no base domain: no host is read as a slug. A
// BaseDomains is immutable and safe for concurrent use.
type BaseDomains struct {
	hosts []string // normalized, distinct, in configuration order
}

// NewBaseDomains normalizes each base domain with NormalizeHost and drops
// duplicates, keeping the configuration order.
//
// Errors: one naming the entry that wraps ErrInvalidHost.
func NewBaseDomains(hosts []string) (BaseDomains, error) {
	out := make([]string, 0, len(hosts))
	for i, h := range hosts {
		n, err := NormalizeHost(h)
		if err != nil {
			return BaseDomains{}, fmt.Errorf("base domain %d %q: %w", i, clipInput(h), err)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return BaseDomains{hosts: out}, nil
}

// Hosts returns a copy of the normalized base domains, in configuration order.
func (b BaseDomains) Hosts() []string { return slices.Clone(b.hosts) }

// SlugOf reports whether subdomain resolution reads host as a tenant slug,
// and returns that slug and the base domain host is directly under. It is
// the rule of the tenancy middleware: SubdomainSlug (one label under the
// longest matching base domain), then NormalizeSlug (a label that is no valid
// slug, such as "www", is looked up as a domain instead). host should come
// from NormalizeHost.
func (b BaseDomains) SlugOf(host string) (slug, base string, ok bool) {
	label, ok := SubdomainSlug(host, b.hosts)
	if !ok {
		return "", "", false
	}
	slug, err := NormalizeSlug(label)
	if err != nil {
		return "", "", false
	}
	return slug, host[len(label)+1:], true
}

// Subdomains returns the host names that subdomain resolution reads as slug
// (normalized): "<slug>.<base>" for each base domain, in configuration order,
// except a name that is no valid host name (longer than MaxHostLength, or a
// slug ending in '-': no request can carry it) and a name that resolution
// reads otherwise (one that is itself a base domain). They are the host names
// a tenant with this slug reserves as domains.
func (b BaseDomains) Subdomains(slug string) []string {
	var out []string
	for _, base := range b.hosts {
		host := slug + "." + base
		if n, err := NormalizeHost(host); err != nil || n != host {
			continue
		}
		if s, _, ok := b.SlugOf(host); ok && s == slug {
			out = append(out, host)
		}
	}
	return out
}

// CheckDomain returns nil if host (normalized) may be a domain of the tenant
// whose slug is slug: unless subdomain resolution reads host as a slug, or
// reads it as slug itself ("demo.localhost" is a fine domain for the tenant
// "demo", since both name it).
//
// Errors: a *CollisionError (errors.Is ErrDomainUnderBase, BAD_USER_INPUT,
// field domains) naming host, its base domain and the slug it would be read
// as.
func (b BaseDomains) CheckDomain(host, slug string) error {
	read, base, ok := b.SlugOf(host)
	if !ok || read == slug {
		return nil
	}
	return &CollisionError{rule: ErrDomainUnderBase, Domain: host, Base: base, Slug: read}
}

// SubdomainTaken returns the error of slug (normalized) when host, one of its
// Subdomains, is already another tenant's domain. cause is what revealed it
// (the event store's refused reservation) and stays in the chain for
// errors.Is and errors.As. ok is false, and err nil, when host is not one of
// slug's subdomains.
//
// Errors: a *CollisionError (errors.Is ErrSlugSubdomainTaken, CONFLICT, field
// slug) naming slug, host and its base domain.
func (b BaseDomains) SubdomainTaken(slug, host string, cause error) (err error, ok bool) {
	read, base, ok := b.SlugOf(host)
	if !ok || read != slug {
		return nil, false
	}
	return &CollisionError{rule: ErrSlugSubdomainTaken, Domain: host, Base: base, Slug: slug, Cause: cause}, true
}

// CollisionError reports a host name that subdomain resolution reads as one
// tenant's slug while it is, or would become, another tenant's domain: Domain
// is "<Slug>.<Base>". Its message is one sentence naming the three. It
// unwraps to an application error with that message (so domain.CodeOf,
// MessageOf and FieldOf answer for it) that wraps ErrDomainUnderBase (the
// domain was refused) or ErrSlugSubdomainTaken (the slug was refused), and
// to Cause when set.
type CollisionError struct {
	rule *domain.Error
	// Domain is the host name both would use.
	Domain string
	// Base is the base domain Domain is directly under.
	Base string
	// Slug is the slug subdomain resolution reads Domain as.
	Slug string
	// Cause is what revealed the collision, if more than the rule itself
	// (the refused reservation of the slug's subdomain); nil otherwise.
	Cause error
}

func (e *CollisionError) Error() string {
	if e.rule == ErrSlugSubdomainTaken {
		return fmt.Sprintf("slug %q is refused: its subdomain %q under the base domain %q is already a domain of another tenant",
			e.Slug, e.Domain, e.Base)
	}
	return fmt.Sprintf("domain %q is refused: under the base domain %q it names the tenant slug %q, and only the tenant with that slug may use it",
		e.Domain, e.Base, e.Slug)
}

// Unwrap returns the application error of e (which wraps its rule) and
// Cause when set.
func (e *CollisionError) Unwrap() []error {
	rule := e.rule
	if rule == nil {
		rule = ErrDomainUnderBase
	}
	app := &domain.Error{Code: rule.Code, Field: rule.Field, Message: e.Error(), Err: rule}
	if e.Cause == nil {
		return []error{app}
	}
	return []error{app, e.Cause}
}

// clipInput shortens configuration or client input quoted in an error.
func clipInput(s string) string { return domain.Clip(s, 100) }
