package tenant

import (
	"context"
	"errors"
	"fmt"

	"github.com/rustok/rustok/domain/tenant"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/eventstore/relay"
	"github.com/rustok/rustok/platform/tenantcache"
)

// Invalidator drops cached tenants; *tenantcache.Resolver implements it.
type Invalidator interface {
	// Invalidate drops every cached key of tenant tenantID and the given
	// keys, whichever tenant they belong to.
	Invalidate(tenantID string, keys ...tenantcache.Key)
}

// CacheInvalidation returns the handler that keeps inv in step with the log.
// Every instance runs it on its own tail of the log (relay.Follow).
//
// For every event of a tenant stream it calls inv.Invalidate once, with the
// tenant id and the keys the event makes stale, beyond those the cache
// already remembers for the tenant: the id always; for tenant.created the
// slug and each domain too (they may be cached as not found); for
// tenant.domain_added and tenant.domain_removed the host. Events of other
// streams are ignored. An event type it does not know still invalidates the
// tenant id. A payload it cannot decode invalidates the tenant id and
// returns the decoding error.
//
// It panics if inv is nil.
func CacheInvalidation(inv Invalidator) relay.FollowHandler {
	if inv == nil {
		panic("tenant.CacheInvalidation: nil Invalidator")
	}
	return func(_ context.Context, e eventstore.Event) error {
		if e.Stream.Type != tenant.StreamType {
			return nil
		}
		id := e.Stream.ID
		keys := []tenantcache.Key{{Kind: tenantcache.KindID, Value: id}}
		ev, err := tenant.Decode(e.Type, e.SchemaVersion, e.Payload)
		if err != nil {
			inv.Invalidate(id, keys...)
			if errors.Is(err, tenant.ErrUnknownEvent) {
				return nil
			}
			return fmt.Errorf("invalidate tenant %s at position %d: %w", id, e.Position, err)
		}
		switch ev := ev.(type) {
		case tenant.Created:
			keys = append(keys, tenantcache.Key{Kind: tenantcache.KindSlug, Value: ev.Slug})
			for _, host := range ev.Domains {
				keys = append(keys, tenantcache.Key{Kind: tenantcache.KindHost, Value: host})
			}
		case tenant.DomainAdded:
			keys = append(keys, tenantcache.Key{Kind: tenantcache.KindHost, Value: ev.Domain})
		case tenant.DomainRemoved:
			keys = append(keys, tenantcache.Key{Kind: tenantcache.KindHost, Value: ev.Domain})
		}
		inv.Invalidate(id, keys...)
		return nil
	}
}

var _ Invalidator = (*tenantcache.Resolver)(nil)
