// Package tenant handles the tenant commands: create a tenant, update its
// name and domains, disable and enable it, toggle its modules and locales.
// Other packages import it as tenantcmd.
//
// Every handler runs in the same fixed order: resolve the tenant (a slug or
// an id), load its stream from the event store, let the aggregate of
// domain/tenant decide, and append the events it produced in one append that
// expects the version loaded, so that a concurrent change is a CONFLICT
// (commands.ErrStaleVersion) rather than a lost update. A decision that
// changes nothing appends nothing and returns commands.Result{Position: 0}.
//
// Slugs and domains are unique across tenants through event store
// reservations taken in the same append as the events (scopes
// commands.ScopeTenantSlug and commands.ScopeTenantDomain): a taken slug or
// domain is a CONFLICT naming it, and nothing is written. The slug
// reservation also resolves a slug to its tenant id, on the write side,
// without reading any read model.
//
// Slugs and domains cannot collide under subdomain resolution either
// (docs/adr/0017): given the configured base domains (WithBaseDomains), a
// domain that resolution would read as another tenant's slug is refused,
// and a new tenant also reserves its slug's subdomains "<slug>.<base>" in
// the domain scope, so that a slug whose subdomain is already some tenant's
// domain is refused, and a slug and a domain racing for one host name cannot
// both win. Reservations are per host name, computed with the base domains
// configured when the command runs.
//
// The handlers are safe for concurrent use.
package tenant
