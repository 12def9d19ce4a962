package tenant

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/rustok/rustok/commands"
	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/module"
	"github.com/rustok/rustok/domain/tenant"
	"github.com/rustok/rustok/eventstore"
)

// CreateTenant creates a tenant.
type CreateTenant struct {
	// ID is the new tenant's id, a lowercase UUID; empty means a new id from
	// the handler's generator (the usual case). Callers that must know the
	// id before the command returns, or want a fixed one, set it.
	ID string
	// Slug is the tenant's unique slug (normalized: trimmed, lowercased).
	Slug string
	// Name is the display name.
	Name string
	// Domains are host names unique across tenants (normalized, duplicates
	// dropped). A domain directly under a base domain must not begin with a
	// label that names another slug (tenant.BaseDomains.CheckDomain).
	Domains []string
	// Modules are the optional modules to enable; nil means the defaults
	// given to NewCreateTenantHandler, an empty slice means none.
	Modules []string
	// Actor carries who asked and within which request.
	Actor eventstore.Metadata
}

// LogAttrs returns the slug and the actor's ids for the command's log line.
func (c CreateTenant) LogAttrs() []slog.Attr { return logAttrs(c.Slug, c.Actor) }

// ErrTenantExists (CONFLICT, field id) is returned when CreateTenant.ID names
// a tenant that already exists.
var ErrTenantExists = &domain.Error{Code: domain.CodeConflict, Message: "a tenant with this id already exists", Field: "id"}

type createTenant struct {
	store    Store
	reg      *module.Registry
	defaults []string
	newID    func() (string, error)
	now      func() time.Time
	bases    tenant.BaseDomains
}

// NewCreateTenantHandler returns the handler of CreateTenant, decorated as
// "tenant.create". defaults are the optional modules of a tenant whose
// command names none (configuration; see module.Defaults); newID returns new
// tenant ids (lowercase UUIDs) and now the time recorded in the event.
//
// The handler reserves the slug, every domain and, with WithBaseDomains,
// the slug's subdomains "<slug>.<base>" (as domains, in the same scope) in
// the same append as the tenant.created event, so that a concurrent command
// giving one of them to another tenant cannot also succeed.
//
// Errors: the validation errors of tenant.Create (BAD_USER_INPUT with the
// field at fault: slug, name, domains, id); a *tenant.CollisionError
// (errors.Is tenant.ErrDomainUnderBase, BAD_USER_INPUT, field domains) for a
// domain that subdomain resolution reads as another slug; a
// *tenant.CollisionError (errors.Is tenant.ErrSlugSubdomainTaken, CONFLICT,
// field slug) when a subdomain of the slug is already another tenant's
// domain; a CONFLICT naming the slug or the domain already taken; and
// ErrTenantExists for a taken CreateTenant.ID. On any error nothing is
// written.
//
// It panics if store, reg, newID or now is nil.
func NewCreateTenantHandler(store Store, reg *module.Registry, defaults []string, newID func() (string, error), now func() time.Time, d commands.Decorators, opts ...Option) commands.Handler[CreateTenant] {
	if store == nil || reg == nil || newID == nil || now == nil {
		panic("tenant.NewCreateTenantHandler: nil dependency")
	}
	o := newOptions(opts)
	h := createTenant{store: store, reg: reg, defaults: slices.Clone(defaults), newID: newID, now: now, bases: o.bases}
	return commands.Decorate[CreateTenant]("tenant.create", h, d)
}

func (h createTenant) Handle(ctx context.Context, cmd CreateTenant) (commands.Result, error) {
	id := cmd.ID
	if id == "" {
		var err error
		if id, err = h.newID(); err != nil {
			return commands.Result{}, fmt.Errorf("create tenant: new id: %w", err)
		}
	}
	modules := cmd.Modules
	if modules == nil {
		modules = h.defaults
	}
	t, events, err := tenant.Create(id, cmd.Slug, cmd.Name, cmd.Domains, modules, h.reg, h.now())
	if err != nil {
		return commands.Result{}, fmt.Errorf("create tenant: %w", err)
	}
	for _, host := range t.Domains() {
		if err := h.bases.CheckDomain(host, t.Slug()); err != nil {
			return commands.Result{}, fmt.Errorf("create tenant %s: %w", t.Slug(), err)
		}
	}
	opts := []eventstore.AppendOption{eventstore.WithMetadata(cmd.Actor), eventstore.Reserve(commands.ScopeTenantSlug, t.Slug())}
	for _, host := range hostNames(t, h.bases) {
		opts = append(opts, eventstore.Reserve(commands.ScopeTenantDomain, host))
	}
	res, err := appendEvents(ctx, h.store, id, eventstore.NoStream, events, opts...)
	err = subdomainTaken(h.bases, t.Slug(), err)
	if errors.Is(err, eventstore.ErrConcurrencyConflict) {
		// Only a caller-chosen id can already exist: generated ids are unique.
		err = ErrTenantExists.Wrap(err)
	}
	if err != nil {
		return commands.Result{}, fmt.Errorf("create tenant %s: %w", t.Slug(), err)
	}
	return res, nil
}

// hostNames returns the host names new tenant t holds as domains: its
// domains, then the subdomains of its slug under bases that are not among
// them.
func hostNames(t *tenant.Tenant, bases tenant.BaseDomains) []string {
	hosts := t.Domains()
	for _, h := range bases.Subdomains(t.Slug()) {
		if !slices.Contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	return hosts
}
