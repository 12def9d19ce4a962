// Package tenant keeps the tenants read model (tables rm_tenants and
// rm_tenant_domains) from the tenant events, and invalidates the tenant
// resolver cache of every instance when a tenant changes. Other packages
// import it as tenantproj.
//
// Projection is a relay consumer group: exactly one instance applies each
// event, in the relay's transaction, together with its checkpoint. It is a
// relay.Fold: each batch of events costs one SELECT of the batch's tenants
// and one multi-row upsert per table, whatever its size. Every write is
// guarded by the tenant stream version held in rm_tenants.version, so a
// redelivered event changes nothing and a row never goes back in time.
//
// CacheInvalidation is a relay.FollowHandler: each instance runs it on its
// own tail of the log, because every instance has its own cache.
package tenant
