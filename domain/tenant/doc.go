// Package tenant holds the tenant aggregate, its events and the validation of
// tenant identifiers (slug, id, host).
//
// The identifier functions (NormalizeSlug, IsUUID, NormalizeHost,
// ParseIdentifier, SubdomainSlug) run on every request, before any lookup: they
// accept any string without panicking, work on ASCII bytes only and allocate
// only when they must lowercase their input.
//
// A Tenant changes only through its events: a decision method (Rename,
// AddDomain, ToggleModule, ...) checks the rules and returns the events it
// produced, already applied to the tenant; Load rebuilds a tenant by applying
// stored events through the same code. Decisions that would change nothing
// return no events and no error. A Tenant is not safe for concurrent use.
//
// Rules that need other tenants (a slug or a domain unique across tenants) are
// enforced by the command layer through event store reservations, not here.
// BaseDomains holds the rule that needs configuration: under a configured
// base domain, "<slug>.<base>" names the tenant with that slug, so no other
// tenant may have it as a domain (CheckDomain), and a slug whose subdomain is
// already some tenant's domain is refused (Subdomains lists the host names a
// slug reserves; SubdomainTaken builds the error). See docs/adr/0017.
package tenant
