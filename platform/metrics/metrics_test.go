package metrics_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rustok/rustok/platform/metrics"
)

func TestRegister(t *testing.T) {
	reg := prometheus.NewRegistry()
	opts := prometheus.CounterOpts{Name: "rustok_test_total", Help: "test"}
	first, err := metrics.Register(reg, prometheus.NewCounter(opts))
	if err != nil {
		t.Fatal(err)
	}
	again, err := metrics.Register(reg, prometheus.NewCounter(opts))
	if err != nil || again != first {
		t.Fatalf("second registration = %v, %v; want the first collector", again, err)
	}
	if _, err := metrics.Register(reg, prometheus.NewGauge(prometheus.GaugeOpts{Name: "rustok_test_total", Help: "other"})); err == nil {
		t.Fatal("a different collector under the same name was accepted")
	}
}
