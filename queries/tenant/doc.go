// Package tenant answers tenant queries from the tenants read model
// (rm_tenants and rm_tenant_domains, written only by projections/tenant).
// Other packages import it as tenantqry.
//
// The read model follows the log: a tenant changed by a command is seen here
// once the tenants projection has applied the change (see the relay's
// read-your-writes Waiter).
package tenant
