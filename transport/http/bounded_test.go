package httpserver_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	httpserver "github.com/rustok/rustok/transport/http"
)

// newUnstartedServer builds a server whose requests are served in process
// with ServeHTTP (no listener, so no header size limit), its access log
// written to logs.
func newUnstartedServer(tb testing.TB, logs *logBuffer) (*httpserver.Server, *prometheus.Registry) {
	tb.Helper()
	reg := prometheus.NewRegistry()
	srv, err := httpserver.New(httpserver.Config{}, httpserver.Deps{
		Logger:   slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Registry: reg,
	})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return srv, reg
}

// seriesCount returns the number of series of the HTTP request metrics.
func seriesCount(tb testing.TB, reg *prometheus.Registry) int {
	tb.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	n := 0
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "rustok_http_") {
			n += len(mf.GetMetric())
		}
	}
	return n
}

// TestRequestMethodsAreBounded floods the server with made-up methods, some
// of 1 MiB: the metric series, each access log line and the /metrics answer
// stay the same size whatever the methods were.
func TestRequestMethodsAreBounded(t *testing.T) {
	t.Parallel()
	logs := &logBuffer{}
	srv, reg := newUnstartedServer(t, logs)
	serve := func(method, path string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Method = method
		rec := httptest.NewRecorder()
		srv.Echo().ServeHTTP(rec, req)
		return rec
	}

	// One request of each known method and one made-up method first: every
	// series the flood may touch exists afterwards.
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE", "BREW"} {
		serve(m, "/health")
	}
	seriesBefore := seriesCount(t, reg)
	logBefore := len(logs.String())

	const flood = 2000
	for i := range flood {
		if rec := serve(fmt.Sprintf("M%011d", i), "/health"); rec.Code != http.StatusMethodNotAllowed {
			t.Fatalf("made-up method: status %d, want 405", rec.Code)
		}
	}
	huge := strings.Repeat("Q", 1<<20)
	for i := range 5 {
		serve(huge+fmt.Sprint(i), "/health")
	}

	if got := seriesCount(t, reg); got != seriesBefore {
		t.Errorf("%d made-up methods grew the HTTP metric series from %d to %d, want no new series", flood+5, seriesBefore, got)
	}
	// A line of the access log is about 200 bytes; 1 KiB bounds it.
	grown := len(logs.String()) - logBefore
	if perLine := grown / (flood + 5); perLine > 1024 {
		t.Errorf("access log grew %d bytes for %d requests (%d per line), want under 1 KiB a line", grown, flood+5, perLine)
	}
	for line := range strings.SplitSeq(logs.String(), "\n") {
		if len(line) > 1024 {
			t.Fatalf("access log line of %d bytes: %.200s…", len(line), line)
		}
	}

	rec := serve(http.MethodGet, "/metrics")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics = %d", rec.Code)
	}
	body := rec.Body.String()
	if len(body) > 64<<10 {
		t.Errorf("/metrics answer is %d bytes after the flood, want under 64 KiB", len(body))
	}
	for _, want := range []string{
		`rustok_http_requests_total{method="OTHER",route="/health",status="405"} 2006`,
		`rustok_http_requests_total{method="PATCH",route="/health",status="405"} 1`,
		`rustok_http_requests_total{method="GET",route="/health",status="200"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if !strings.Contains(logs.String(), `"method":"OTHER"`) {
		t.Error(`access log has no "method":"OTHER" line`)
	}
}

// TestMethodLabel: the known methods are kept as they are, everything else
// (other spellings included: methods are case-sensitive) is OTHER.
func TestMethodLabel(t *testing.T) {
	t.Parallel()
	logs := &logBuffer{}
	srv, reg := newUnstartedServer(t, logs)
	tests := []struct {
		method, want string
	}{
		{"GET", "GET"}, {"HEAD", "HEAD"}, {"POST", "POST"}, {"PUT", "PUT"}, {"PATCH", "PATCH"},
		{"DELETE", "DELETE"}, {"OPTIONS", "OPTIONS"}, {"CONNECT", "CONNECT"}, {"TRACE", "TRACE"},
		{"get", "OTHER"}, {"PROPFIND", "OTHER"}, {"GET\x00", "OTHER"}, {"", "OTHER"},
	}
	for _, tc := range tests {
		req := httptest.NewRequest(http.MethodGet, "/health/live", nil)
		req.Method = tc.method
		srv.Echo().ServeHTTP(httptest.NewRecorder(), req)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, mf := range mfs {
		if mf.GetName() != "rustok_http_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "method" {
					got[l.GetValue()] = true
				}
			}
		}
	}
	for _, tc := range tests {
		if !got[tc.want] {
			t.Errorf("method %q: no series with method=%q", tc.method, tc.want)
		}
	}
	for m := range got {
		switch m {
		case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE", "OTHER":
		default:
			t.Errorf("series with method=%q, want a known method or OTHER", m)
		}
	}
}
