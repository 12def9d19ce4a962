package tenantcache

// keyIndex records under which cache keys each tenant is cached, so that
// Invalidate can drop them all. It is not safe for concurrent use: the
// Resolver guards it with its mutex.
type keyIndex struct {
	byTenant map[string]map[string]struct{} // tenant id → cache keys
	owner    map[string]string              // cache key → tenant id
}

func newKeyIndex() keyIndex {
	return keyIndex{byTenant: map[string]map[string]struct{}{}, owner: map[string]string{}}
}

// add records ck as a key of tenantID. A key belongs to one tenant at a time:
// a slug or domain that moved to another tenant leaves the old tenant's set.
func (x keyIndex) add(tenantID, ck string) {
	if prev, ok := x.owner[ck]; ok && prev != tenantID {
		x.remove(ck)
	}
	keys := x.byTenant[tenantID]
	if keys == nil {
		keys = map[string]struct{}{}
		x.byTenant[tenantID] = keys
	}
	keys[ck] = struct{}{}
	x.owner[ck] = tenantID
}

func (x keyIndex) remove(ck string) {
	id, ok := x.owner[ck]
	if !ok {
		return
	}
	delete(x.owner, ck)
	keys := x.byTenant[id]
	delete(keys, ck)
	if len(keys) == 0 {
		delete(x.byTenant, id)
	}
}

// keysOf returns a copy of tenantID's keys, so the caller may remove them
// while iterating.
func (x keyIndex) keysOf(tenantID string) []string {
	keys := make([]string, 0, len(x.byTenant[tenantID]))
	for ck := range x.byTenant[tenantID] {
		keys = append(keys, ck)
	}
	return keys
}

func (x keyIndex) len() int { return len(x.owner) }
