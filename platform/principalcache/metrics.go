package principalcache

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Invalidation scopes, the values of the scope label of
// rustok_principal_cache_invalidations_total.
const (
	scopeSession = "session"
	scopeUser    = "user"
	scopeAll     = "all"
)

// metrics are the Cache's Prometheus collectors. CONTRACT.md lists no
// principal cache metrics; the names follow the tenant cache's.
type metrics struct {
	hits, misses, negativeHits, coalesced, loads prometheus.Counter
	invalidations                                *prometheus.CounterVec

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
		hits:         counter("rustok_principal_cache_hits_total", "Principal lookups answered from a cached session."),
		misses:       counter("rustok_principal_cache_misses_total", "Principal lookups that found no usable entry and went to the read models (alone or coalesced)."),
		negativeHits: counter("rustok_principal_cache_negative_hits_total", "Principal lookups answered as unknown session from the negative cache."),
		coalesced:    counter("rustok_principal_cache_coalesced_total", "Principal cache misses that joined a load already in flight."),
		loads:        counter("rustok_principal_cache_loads_total", "Loads of a principal from the sessions and users read models."),
		invalidations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rustok_principal_cache_invalidations_total",
			Help: "Principal cache invalidations, by scope: one session, every session of a user, or all.",
		}, []string{"scope"}),
		reg: reg,
	}
	for _, s := range []string{scopeSession, scopeUser, scopeAll} {
		m.invalidations.WithLabelValues(s) // export zeros
	}
	m.collectors = []prometheus.Collector{
		m.hits, m.misses, m.negativeHits, m.coalesced, m.loads, m.invalidations,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "rustok_principal_cache_entries",
			Help: "Entries in the positive and negative principal caches, including expired or invalidated entries not yet removed.",
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
			return nil, fmt.Errorf("register principal cache metrics: %w", err)
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
