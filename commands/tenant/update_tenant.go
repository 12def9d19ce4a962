package tenant

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/rustok/rustok/commands"
	"github.com/rustok/rustok/domain/tenant"
	"github.com/rustok/rustok/eventstore"
)

// UpdateTenant changes a tenant's name and domains in one version-checked
// append: all changes are applied or none.
type UpdateTenant struct {
	// Tenant is the tenant's slug or id.
	Tenant string
	// Name, when not nil, is the new name.
	Name *string
	// AddDomains are host names to add; each must be free (no other tenant
	// has it) and, directly under a base domain, must not begin with a label
	// that names another slug (tenant.BaseDomains.CheckDomain).
	AddDomains []string
	// RemoveDomains are host names to remove; the tenant must have each.
	// They are removed before AddDomains are added.
	RemoveDomains []string
	// Actor carries who asked and within which request.
	Actor eventstore.Metadata
}

// LogAttrs returns the tenant and the actor's ids for the command's log line.
func (c UpdateTenant) LogAttrs() []slog.Attr { return logAttrs(c.Tenant, c.Actor) }

type updateTenant struct {
	store Store
	now   func() time.Time
	bases tenant.BaseDomains
}

// NewUpdateTenantHandler returns the handler of UpdateTenant, decorated as
// "tenant.update". It records tenant.updated when the name changes, then
// tenant.domain_removed per removed domain (releasing it for other tenants),
// then tenant.domain_added per new domain (reserving it), all in one append
// at the version loaded. Unchanged values record nothing; if nothing changes
// the result's position is 0. A removed domain that is also one of the
// subdomains of the tenant's slug under the base domains of WithBaseDomains
// ("demo.localhost" for the tenant "demo") stays reserved for the slug.
//
// Errors: ErrInvalidTenant; tenant.ErrNotFound (NOT_FOUND); the decision
// errors of domain/tenant (tenant.ErrInvalidName, tenant.ErrInvalidHost,
// tenant.ErrTooManyDomains, tenant.ErrDomainNotFound); a
// *tenant.CollisionError (errors.Is tenant.ErrDomainUnderBase,
// BAD_USER_INPUT, field domains) for an added domain that subdomain
// resolution reads as another slug; a CONFLICT naming a domain another
// tenant has (or that is another slug's subdomain); commands.ErrStaleVersion
// when the tenant changed since it was loaded. On any error nothing is
// written.
//
// It panics if store or now is nil.
func NewUpdateTenantHandler(store Store, now func() time.Time, d commands.Decorators, opts ...Option) commands.Handler[UpdateTenant] {
	if store == nil || now == nil {
		panic("tenant.NewUpdateTenantHandler: nil dependency")
	}
	o := newOptions(opts)
	return commands.Decorate[UpdateTenant]("tenant.update", updateTenant{store: store, now: now, bases: o.bases}, d)
}

func (h updateTenant) Handle(ctx context.Context, cmd UpdateTenant) (commands.Result, error) {
	id, err := resolve(ctx, h.store, cmd.Tenant)
	if err != nil {
		return commands.Result{}, err
	}
	t, version, err := load(ctx, h.store, id)
	if err != nil {
		return commands.Result{}, err
	}
	events, opts, err := decideUpdate(t, cmd, h.bases, h.now())
	if err != nil {
		return commands.Result{}, fmt.Errorf("update tenant %s: %w", id, err)
	}
	opts = append(opts, eventstore.WithMetadata(cmd.Actor))
	res, err := appendEvents(ctx, h.store, id, version, events, opts...)
	if err != nil {
		return commands.Result{}, fmt.Errorf("update tenant %s: %w", id, err)
	}
	return res, nil
}

// decideUpdate runs the decisions of cmd on t in order (rename, removals,
// additions) and returns their events with the reservation changes they
// need. The store applies every release before any reservation, which is
// also the order of the events, so removing and re-adding a domain in one
// command keeps it reserved. A removed domain that is a subdomain of t's slug
// under bases is not released: the slug keeps it.
func decideUpdate(t *tenant.Tenant, cmd UpdateTenant, bases tenant.BaseDomains, at time.Time) ([]tenant.Event, []eventstore.AppendOption, error) {
	var (
		events []tenant.Event
		opts   []eventstore.AppendOption
	)
	own := bases.Subdomains(t.Slug())
	if cmd.Name != nil {
		e, err := t.Rename(*cmd.Name, at)
		if err != nil {
			return nil, nil, err
		}
		events = append(events, e...)
	}
	for _, host := range cmd.RemoveDomains {
		e, err := t.RemoveDomain(host, at)
		if err != nil {
			return nil, nil, fmt.Errorf("remove domain %q: %w", clip(host), err)
		}
		for _, ev := range e {
			if r, ok := ev.(tenant.DomainRemoved); ok && !slices.Contains(own, r.Domain) {
				opts = append(opts, eventstore.Release(commands.ScopeTenantDomain, r.Domain))
			}
		}
		events = append(events, e...)
	}
	for _, host := range cmd.AddDomains {
		e, err := t.AddDomain(host, at)
		if err != nil {
			return nil, nil, fmt.Errorf("add domain %q: %w", clip(host), err)
		}
		for _, ev := range e {
			if a, ok := ev.(tenant.DomainAdded); ok {
				if err := bases.CheckDomain(a.Domain, t.Slug()); err != nil {
					return nil, nil, err // names the domain already
				}
				opts = append(opts, eventstore.Reserve(commands.ScopeTenantDomain, a.Domain))
			}
		}
		events = append(events, e...)
	}
	return events, opts, nil
}
