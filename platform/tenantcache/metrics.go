package tenantcache

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the Resolver's Prometheus collectors (names from CONTRACT.md).
type metrics struct {
	hits, misses, negativeHits, coalesced, invalidations, loads prometheus.Counter

	reg        prometheus.Registerer
	collectors []prometheus.Collector
}

// newMetrics creates the collectors and registers them on reg, unless reg is
// nil. entries reports the number of entries in both caches.
func newMetrics(reg prometheus.Registerer, entries func() float64) (*metrics, error) {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	}
	m := &metrics{
		hits:          counter("rustok_tenant_cache_hits_total", "Tenant resolutions answered from the positive cache."),
		misses:        counter("rustok_tenant_cache_misses_total", "Tenant resolutions that found no cache entry and went to the loader (alone or coalesced)."),
		negativeHits:  counter("rustok_tenant_cache_negative_hits_total", "Tenant resolutions answered as not found from the negative cache."),
		coalesced:     counter("rustok_tenant_cache_coalesced_total", "Tenant cache misses that joined a load already in flight."),
		invalidations: counter("rustok_tenant_cache_invalidations_total", "Calls of Invalidate and InvalidateAll."),
		loads:         counter("rustok_tenant_cache_loads_total", "Calls of the loader (reads of the tenants read model) by the tenant cache."),
		reg:           reg,
	}
	m.collectors = []prometheus.Collector{
		m.hits, m.misses, m.negativeHits, m.coalesced, m.invalidations, m.loads,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "rustok_tenant_cache_entries",
			Help: "Entries in the positive and negative tenant caches, including expired entries not yet cleaned.",
		}, entries),
	}
	if reg == nil {
		return m, nil
	}
	for i, c := range m.collectors {
		if err := reg.Register(c); err != nil {
			for _, done := range m.collectors[:i] {
				reg.Unregister(done)
			}
			return nil, fmt.Errorf("register tenant cache metrics: %w", err)
		}
	}
	return m, nil
}

func (m *metrics) unregister() {
	if m.reg == nil {
		return
	}
	for _, c := range m.collectors {
		m.reg.Unregister(c)
	}
}
