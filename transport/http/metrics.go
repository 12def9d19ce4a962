package httpserver

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	metricsreg "github.com/rustok/rustok/platform/metrics"
)

// metrics are the HTTP metrics named in the contract. Every label value
// comes from a fixed set (methodLabel, routeLabel, the status code), so a
// client cannot add series.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rustok_http_requests_total",
			Help: "HTTP requests answered, by method (a standard method or OTHER), route template and status.",
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "rustok_http_request_duration_seconds",
			Help:    "HTTP request duration in seconds, by method (a standard method or OTHER) and route template.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "route"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.requests, err = metricsreg.Register(reg, m.requests); err != nil {
		return nil, err
	}
	if m.duration, err = metricsreg.Register(reg, m.duration); err != nil {
		return nil, err
	}
	return m, nil
}

// observe counts and times one answered request. method and route must be
// bounded label values: methodLabel's and routeLabel's.
func (m *metrics) observe(method, route string, status int, elapsed time.Duration) {
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(method, route).Observe(elapsed.Seconds())
}

// methodOther stands for every request method that is not a standard one.
const methodOther = "OTHER"

// methodLabel returns method when it is one of the methods of RFC 9110 and
// RFC 5789 (GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, CONNECT, TRACE),
// else "OTHER". Methods are case-sensitive: "get" is OTHER. It is the only
// form of the method that goes into a metric label or a log field, because
// the raw method is whatever the client sent (any token, up to the header
// size limit; 1 MiB by default).
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return methodOther
}
