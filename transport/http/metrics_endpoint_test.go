package httpserver_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	httpserver "github.com/rustok/rustok/transport/http"
)

// get sends GET url with an optional Authorization header and returns the
// status and body.
func get(tb testing.TB, url, authorization string) (int, string) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("read the body of %s: %v", url, err)
	}
	if resp.StatusCode == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") != `Bearer realm="metrics"` {
		tb.Errorf("401 without WWW-Authenticate: Bearer realm=\"metrics\": %q", resp.Header.Get("WWW-Authenticate"))
	}
	return resp.StatusCode, string(body)
}

// TestMetricsEndpoint: /metrics on the main listener or on its own, with or
// without a bearer token.
func TestMetricsEndpoint(t *testing.T) {
	t.Parallel()
	const token = "s3cr3t-metrics-token"
	type probe struct {
		onMetricsListener bool
		authorization     string
		wantStatus        int
	}
	tests := []struct {
		name    string
		metrics httpserver.MetricsEndpoint
		probes  []probe
	}{
		{
			name:    "on the main listener, no token (development)",
			metrics: httpserver.MetricsEndpoint{},
			probes:  []probe{{wantStatus: 200}},
		},
		{
			name:    "on its own listener (production): the main listener answers 404",
			metrics: httpserver.MetricsEndpoint{Listen: "127.0.0.1:0"},
			probes:  []probe{{wantStatus: 404}, {onMetricsListener: true, wantStatus: 200}},
		},
		{
			name:    "a token on the main listener",
			metrics: httpserver.MetricsEndpoint{Token: token},
			probes: []probe{
				{wantStatus: 401},
				{authorization: "Bearer wrong-token-wrong-token", wantStatus: 401},
				{authorization: "Bearer " + token[:len(token)-1], wantStatus: 401},
				{authorization: "Basic " + token, wantStatus: 401},
				{authorization: token, wantStatus: 401},
				{authorization: "Bearer " + token, wantStatus: 200},
				{authorization: "bearer " + token, wantStatus: 200}, // the scheme is case-insensitive (RFC 9110, 11.1)
			},
		},
		{
			name:    "a token on its own listener",
			metrics: httpserver.MetricsEndpoint{Listen: "127.0.0.1:0", Token: token},
			probes: []probe{
				{authorization: "Bearer " + token, wantStatus: 404},
				{onMetricsListener: true, wantStatus: 401},
				{onMetricsListener: true, authorization: "Bearer " + token, wantStatus: 200},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts := mustStart(t, httpserver.Config{Metrics: tc.metrics}, httpserver.Deps{})
			get(t, ts.url+"/health/live", "") // a request for the metrics to count
			metricsAddr := ts.srv.MetricsAddr()
			if metricsAddr == nil {
				t.Fatal("MetricsAddr() = nil once listening")
			}
			if own := tc.metrics.Listen != ""; own == (metricsAddr.String() == ts.srv.Addr().String()) {
				t.Errorf("MetricsAddr() = %s, Addr() = %s, own listener %v", metricsAddr, ts.srv.Addr(), own)
			}
			for _, p := range tc.probes {
				url := ts.url + "/metrics"
				if p.onMetricsListener {
					url = "http://" + metricsAddr.String() + "/metrics"
				}
				status, body := get(t, url, p.authorization)
				if status != p.wantStatus {
					t.Errorf("GET %s with %q = %d, want %d: %.300s", url, p.authorization, status, p.wantStatus, body)
				}
				if status == 200 && !strings.Contains(body, "rustok_http_requests_total") {
					t.Errorf("GET %s: no HTTP metrics in %.300s", url, body)
				}
				if strings.Contains(body, token) {
					t.Errorf("GET %s shows the token", url)
				}
			}
			if tc.metrics.Listen != "" {
				// The metrics listener serves /metrics only.
				if status, _ := get(t, "http://"+metricsAddr.String()+"/health", ""); status != 404 {
					t.Errorf("GET /health on the metrics listener = %d, want 404", status)
				}
			}
		})
	}
}

// TestMetricsListenerStopsWithTheServer: the metrics listener is closed when
// Start returns, and a metrics address that cannot be bound fails Start and
// releases the main listener.
func TestMetricsListenerStopsWithTheServer(t *testing.T) {
	t.Parallel()
	srv, err := httpserver.New(httpserver.Config{Host: "127.0.0.1", Metrics: httpserver.MetricsEndpoint{Listen: "127.0.0.1:0"}}, httpserver.Deps{Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Start(ctx) }()
	select {
	case <-srv.Listening():
	case err := <-done:
		t.Fatalf("Start: %v", err)
	}
	addr := srv.MetricsAddr().String()
	if status, _ := get(t, "http://"+addr+"/metrics", ""); status != 200 {
		t.Fatalf("GET /metrics = %d", status)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Start returned %v", err)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Errorf("the metrics listener %s still accepts connections after Start returned", addr)
	}

	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	srv, err = httpserver.New(httpserver.Config{Host: "127.0.0.1", Metrics: httpserver.MetricsEndpoint{Listen: busy.Addr().String()}}, httpserver.Deps{Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	err = srv.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "listen on "+busy.Addr().String()+" for /metrics: ") {
		t.Fatalf("Start with a busy metrics address = %v, want a listen error naming it", err)
	}
}
