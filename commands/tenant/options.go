package tenant

import (
	"errors"

	"github.com/rustok/rustok/commands"
	"github.com/rustok/rustok/domain/tenant"
	"github.com/rustok/rustok/eventstore"
)

// Option configures the handlers that give tenants slugs and domains
// (NewCreateTenantHandler, NewUpdateTenantHandler).
type Option func(*options)

type options struct {
	bases tenant.BaseDomains
}

// WithBaseDomains gives the handlers the configured base domains
// (settings.rustok.tenant.base_domains), whatever resolution mode is
// configured. With them, a domain that subdomain resolution would read as
// another tenant's slug is refused, and a new tenant reserves the host names
// "<slug>.<base>" as domains, so that no other tenant can take them
// (docs/adr/0017). Without this option no host is read as a slug: only
// wiring that never resolves subdomains may leave it out.
//
// The reservations are per host name, computed with the base domains given
// here when the command runs: every instance must be configured with the
// same list.
func WithBaseDomains(b tenant.BaseDomains) Option {
	return func(o *options) { o.bases = b }
}

func newOptions(opts []Option) options {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// subdomainTaken turns err, when it is the refused reservation of one of
// slug's subdomains, into the slug's *tenant.CollisionError (errors.Is
// tenant.ErrSlugSubdomainTaken); any other error is returned as it is.
func subdomainTaken(bases tenant.BaseDomains, slug string, err error) error {
	var taken *eventstore.ReservationError
	if !errors.As(err, &taken) || taken.Scope != commands.ScopeTenantDomain {
		return err
	}
	if c, ok := bases.SubdomainTaken(slug, taken.Value, err); ok {
		return c
	}
	return err
}
