package httpserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rustok/rustok/domain"
	httpserver "github.com/rustok/rustok/transport/http"
)

// logBuffer is a concurrency-safe log sink.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type fakeReady struct {
	details map[string]string
	err     error
}

func (f fakeReady) Ready(context.Context) (map[string]string, error) { return f.details, f.err }

var _ httpserver.Readiness = fakeReady{}

type fakeModules map[string]string

func (f fakeModules) ModulesHealth(context.Context) map[string]string { return f }

var _ httpserver.ModuleHealth = fakeModules{}

type tenantKey struct{}

// testServer is a started server with the test routes mounted.
type testServer struct {
	srv     *httpserver.Server
	url     string
	logs    *logBuffer
	reg     *prometheus.Registry
	cancel  context.CancelFunc
	done    chan error
	entered chan struct{} // a /slow request started
	release chan struct{} // lets /slow requests finish
}

var codeErrors = map[string]error{
	"bad_input":        domain.InvalidField("email", "email is not valid"),
	"unauthenticated":  domain.Unauthenticated("sign in first"),
	"forbidden":        domain.Forbidden("missing permission products:update"),
	"not_found":        fmt.Errorf("load product: %w", domain.NotFound("product p1 not found")),
	"conflict":         domain.Conflict("product was changed concurrently"),
	"module_disabled":  domain.ModuleDisabled("forum"),
	"rate_limited":     domain.RateLimited("too many requests"),
	"internal_plain":   errors.New("dial tcp 10.0.0.5:5432: password=hunter2 refused"),
	"internal_domain":  &domain.Error{Code: domain.CodeInternal, Message: "secret internals"},
	"echo_bad_request": echo.NewHTTPError(http.StatusBadRequest, "malformed id"),
}

func mustStart(tb testing.TB, cfg httpserver.Config, deps httpserver.Deps) *testServer {
	tb.Helper()
	ts := &testServer{
		logs:    &logBuffer{},
		reg:     prometheus.NewRegistry(),
		done:    make(chan error, 1),
		entered: make(chan struct{}, 16),
		release: make(chan struct{}),
	}
	cfg.Host = "127.0.0.1"
	deps.Logger = slog.New(slog.NewJSONHandler(ts.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	deps.Registry = ts.reg
	deps.TenantID = func(ctx context.Context) string { s, _ := ctx.Value(tenantKey{}).(string); return s }
	srv, err := httpserver.New(cfg, deps)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	ts.srv = srv
	mountTestRoutes(srv, ts)

	ctx, cancel := context.WithCancel(context.Background())
	ts.cancel = cancel
	go func() { ts.done <- srv.Start(ctx) }()
	select {
	case <-srv.Listening():
	case err := <-ts.done:
		tb.Fatalf("Start: %v", err)
	case <-time.After(5 * time.Second):
		tb.Fatal("server did not start listening")
	}
	ts.url = "http://" + srv.Addr().String()
	tb.Cleanup(func() {
		cancel()
		select {
		case <-ts.release:
		default:
			close(ts.release)
		}
		select {
		case <-ts.done:
		case <-time.After(10 * time.Second):
			tb.Error("server did not stop")
		}
	})
	return ts
}

func mountTestRoutes(srv *httpserver.Server, ts *testServer) {
	e := srv.Echo()
	e.GET("/panic", func(echo.Context) error { panic("boom in handler") })
	e.GET("/fail/:code", func(c echo.Context) error { return codeErrors[c.Param("code")] })
	e.GET("/items/:id", func(c echo.Context) error { return c.String(http.StatusOK, c.Param("id")) })
	e.GET("/request-id", func(c echo.Context) error {
		return c.String(http.StatusOK, httpserver.RequestID(c.Request().Context()))
	})
	e.POST("/echo", func(c echo.Context) error {
		b, err := io.ReadAll(c.Request().Body)
		if err != nil {
			return fmt.Errorf("read body: %w", err)
		}
		return c.Blob(http.StatusOK, "application/octet-stream", b)
	})
	e.GET("/slow", func(c echo.Context) error {
		ts.entered <- struct{}{}
		<-ts.release
		return c.String(http.StatusOK, "slow done")
	})
	e.GET("/inline-problem", func(c echo.Context) error {
		return httpserver.WriteProblem(c, domain.Conflict("inline conflict"))
	})
	srv.API().Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if t := c.Request().Header.Get("X-Tenant-ID"); t != "" {
				c.SetRequest(c.Request().WithContext(context.WithValue(c.Request().Context(), tenantKey{}, t)))
			}
			return next(c)
		}
	})
	srv.API().GET("/ping", func(c echo.Context) error { return c.String(http.StatusOK, "pong") })
}

func (ts *testServer) do(tb testing.TB, method, path string, body io.Reader, header http.Header) (*http.Response, []byte) {
	tb.Helper()
	req, err := http.NewRequest(method, ts.url+path, body)
	if err != nil {
		tb.Fatalf("new request: %v", err)
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("read body: %v", err)
	}
	return resp, b
}

func decodeProblem(tb testing.TB, resp *http.Response, body []byte) httpserver.Problem {
	tb.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != httpserver.ContentTypeProblem {
		tb.Fatalf("Content-Type = %q, want %q (body %s)", ct, httpserver.ContentTypeProblem, body)
	}
	var p httpserver.Problem
	if err := json.Unmarshal(body, &p); err != nil {
		tb.Fatalf("decode problem %s: %v", body, err)
	}
	return p
}

func TestRequestID(t *testing.T) {
	ts := mustStart(t, httpserver.Config{}, httpserver.Deps{})
	valid64 := strings.Repeat("a", 64)
	tests := []struct {
		name     string
		incoming string
		wantKept bool
	}{
		{name: "missing id is generated", incoming: "", wantKept: false},
		{name: "valid id is kept", incoming: "req-1.A_b", wantKept: true},
		{name: "64 characters is kept", incoming: valid64, wantKept: true},
		{name: "65 characters is replaced", incoming: valid64 + "a", wantKept: false},
		{name: "200 characters is replaced", incoming: strings.Repeat("x", 200), wantKept: false},
		{name: "spaces are replaced", incoming: "abc def", wantKept: false},
		{name: "other punctuation is replaced", incoming: "abc;rm", wantKept: false},
		{name: "non-ascii is replaced", incoming: "r\u00e9quest", wantKept: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.incoming != "" {
				h.Set(httpserver.HeaderRequestID, tc.incoming)
			}
			resp, body := ts.do(t, http.MethodGet, "/request-id", nil, h)
			got := resp.Header.Get(httpserver.HeaderRequestID)
			if string(body) != got {
				t.Errorf("context request id %q, header %q: want the same", body, got)
			}
			if tc.wantKept {
				if got != tc.incoming {
					t.Errorf("X-Request-ID = %q, want %q kept", got, tc.incoming)
				}
				return
			}
			id, err := uuid.Parse(got)
			if err != nil || id.Version() != 7 {
				t.Errorf("X-Request-ID = %q, want a generated UUIDv7 (err %v)", got, err)
			}
		})
	}

	// Control characters cannot be sent by net/http's client; drive the
	// handler directly.
	t.Run("newline is replaced", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodGet, "/request-id", nil)
		req.Header[httpserver.HeaderRequestID] = []string{"abc\nSet-Cookie: x=1"}
		rec := httptest.NewRecorder()
		ts.srv.Echo().ServeHTTP(rec, req)
		got := rec.Header().Get(httpserver.HeaderRequestID)
		if id, err := uuid.Parse(got); err != nil || id.Version() != 7 || rec.Body.String() != got {
			t.Errorf("X-Request-ID = %q, body %q: want the same generated UUIDv7", got, rec.Body.String())
		}
	})
}

func TestSecurityHeaders(t *testing.T) {
	ts := mustStart(t, httpserver.Config{}, httpserver.Deps{})
	want := map[string]string{
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "no-referrer",
		"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
	}
	tests := []struct {
		name       string
		method     string
		path       string
		wantStatus int
	}{
		{name: "ok", method: http.MethodGet, path: "/health", wantStatus: http.StatusOK},
		{name: "unknown route", method: http.MethodGet, path: "/no/such/route", wantStatus: http.StatusNotFound},
		{name: "unknown api route", method: http.MethodGet, path: "/api/no/such/route", wantStatus: http.StatusNotFound},
		{name: "method not allowed", method: http.MethodPost, path: "/health", wantStatus: http.StatusMethodNotAllowed},
		{name: "panic", method: http.MethodGet, path: "/panic", wantStatus: http.StatusInternalServerError},
		{name: "domain error", method: http.MethodGet, path: "/fail/conflict", wantStatus: http.StatusConflict},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, _ := ts.do(t, tc.method, tc.path, nil, nil)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			for k, v := range want {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if resp.Header.Get(httpserver.HeaderRequestID) == "" {
				t.Error("X-Request-ID missing")
			}
		})
	}
}

func TestErrorProblems(t *testing.T) {
	ts := mustStart(t, httpserver.Config{}, httpserver.Deps{})
	tests := []struct {
		name       string
		method     string
		path       string
		wantStatus int
		wantCode   string
		wantDetail string
		wantField  string
	}{
		{name: "bad input names the field", path: "/fail/bad_input", wantStatus: 400, wantCode: "BAD_USER_INPUT", wantDetail: "email is not valid", wantField: "email"},
		{name: "unauthenticated", path: "/fail/unauthenticated", wantStatus: 401, wantCode: "UNAUTHENTICATED", wantDetail: "sign in first"},
		{name: "forbidden", path: "/fail/forbidden", wantStatus: 403, wantCode: "FORBIDDEN", wantDetail: "missing permission products:update"},
		{name: "wrapped not found keeps its code", path: "/fail/not_found", wantStatus: 404, wantCode: "NOT_FOUND", wantDetail: "product p1 not found"},
		{name: "conflict", path: "/fail/conflict", wantStatus: 409, wantCode: "CONFLICT", wantDetail: "product was changed concurrently"},
		{name: "module disabled looks like not found", path: "/fail/module_disabled", wantStatus: 404, wantCode: "MODULE_DISABLED", wantDetail: "module forum is disabled for this tenant"},
		{name: "rate limited", path: "/fail/rate_limited", wantStatus: 429, wantCode: "RATE_LIMITED", wantDetail: "too many requests"},
		{name: "plain error is internal and hidden", path: "/fail/internal_plain", wantStatus: 500, wantCode: "INTERNAL", wantDetail: "internal error"},
		{name: "internal domain error is hidden", path: "/fail/internal_domain", wantStatus: 500, wantCode: "INTERNAL", wantDetail: "internal error"},
		{name: "echo http error maps by status", path: "/fail/echo_bad_request", wantStatus: 400, wantCode: "BAD_USER_INPUT", wantDetail: "malformed id"},
		{name: "unknown route", path: "/nope", wantStatus: 404, wantCode: "NOT_FOUND", wantDetail: "Not Found"},
		{name: "method not allowed", method: http.MethodDelete, path: "/health", wantStatus: 405, wantCode: "BAD_USER_INPUT", wantDetail: "Method Not Allowed"},
		{name: "panic is internal", path: "/panic", wantStatus: 500, wantCode: "INTERNAL", wantDetail: "internal error"},
		{name: "handler writes a problem inline", path: "/inline-problem", wantStatus: 409, wantCode: "CONFLICT", wantDetail: "inline conflict"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			resp, body := ts.do(t, method, tc.path, nil, nil)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status = %d, want %d (body %s)", resp.StatusCode, tc.wantStatus, body)
			}
			p := decodeProblem(t, resp, body)
			want := httpserver.Problem{
				Type:      "about:blank",
				Title:     http.StatusText(tc.wantStatus),
				Status:    tc.wantStatus,
				Detail:    tc.wantDetail,
				Code:      tc.wantCode,
				RequestID: resp.Header.Get(httpserver.HeaderRequestID),
				Field:     tc.wantField,
			}
			if fmt.Sprint(p) != fmt.Sprint(want) {
				t.Errorf("problem = %+v\nwant      %+v", p, want)
			}
			for _, secret := range []string{"hunter2", "10.0.0.5", "secret internals", "boom"} {
				if bytes.Contains(body, []byte(secret)) {
					t.Errorf("body %s leaks %q", body, secret)
				}
			}
		})
	}

	t.Run("internal errors are logged with the request id", func(t *testing.T) {
		h := http.Header{httpserver.HeaderRequestID: {"trace-internal-1"}}
		ts.do(t, http.MethodGet, "/fail/internal_plain", nil, h)
		line := findLog(t, ts.logs.String(), "request failed", "trace-internal-1")
		if !strings.Contains(line, "password=hunter2") {
			t.Errorf("log line %s lacks the error text", line)
		}
	})
	t.Run("405 names the allowed methods", func(t *testing.T) {
		resp, _ := ts.do(t, http.MethodDelete, "/health", nil, nil)
		if got := resp.Header.Get("Allow"); !strings.Contains(got, "GET") {
			t.Errorf("Allow = %q, want GET listed", got)
		}
	})
}

// findLog returns the first JSON log line whose msg is msg and that mentions
// every one of subs.
func findLog(tb testing.TB, logs, msg string, subs ...string) string {
	tb.Helper()
next:
	for _, line := range strings.Split(logs, "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil || rec["msg"] != msg {
			continue
		}
		for _, s := range subs {
			if !strings.Contains(line, s) {
				continue next
			}
		}
		return line
	}
	tb.Fatalf("no log line %q with %q in:\n%s", msg, subs, logs)
	return ""
}

func TestPanicIsRecovered(t *testing.T) {
	ts := mustStart(t, httpserver.Config{}, httpserver.Deps{})
	h := http.Header{httpserver.HeaderRequestID: {"panic-req-1"}}
	resp, body := ts.do(t, http.MethodGet, "/panic", nil, h)
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("status = %d, want 500", resp.StatusCode)
	}
	if p := decodeProblem(t, resp, body); p.Code != "INTERNAL" || p.RequestID != "panic-req-1" {
		t.Errorf("problem = %+v, want INTERNAL for panic-req-1", p)
	}
	line := findLog(t, ts.logs.String(), "request failed", "panic-req-1", "boom in handler")
	if !strings.Contains(line, `"stack":"goroutine`) {
		t.Errorf("log line lacks the stack: %s", line)
	}
	// The access log still records the panicking request as a 500.
	findLog(t, ts.logs.String(), "http request", "panic-req-1", `"status":500`, `"route":"/panic"`)
	// And the process serves the next request.
	if resp, _ := ts.do(t, http.MethodGet, "/health", nil, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("after panic: status = %d, want 200", resp.StatusCode)
	}
}

func TestBodyLimit(t *testing.T) {
	ts := mustStart(t, httpserver.Config{BodyLimit: 1024}, httpserver.Deps{})
	tests := []struct {
		name       string
		size       int
		chunked    bool
		wantStatus int
	}{
		{name: "under the limit is served", size: 1000, wantStatus: 200},
		{name: "exactly the limit is served", size: 1024, wantStatus: 200},
		{name: "declared length over the limit is refused", size: 1025, wantStatus: 413},
		{name: "chunked body over the limit is refused while read", size: 4096, chunked: true, wantStatus: 413},
		{name: "chunked body under the limit is served", size: 512, chunked: true, wantStatus: 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			payload := bytes.Repeat([]byte("x"), tc.size)
			var body io.Reader = bytes.NewReader(payload)
			if tc.chunked {
				// Hiding the length makes the client send chunked encoding.
				body = io.MultiReader(bytes.NewReader(payload))
			}
			resp, got := ts.do(t, http.MethodPost, "/echo", body, nil)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status = %d, want %d (body %.100s)", resp.StatusCode, tc.wantStatus, got)
			}
			if tc.wantStatus == 200 {
				if !bytes.Equal(got, payload) {
					t.Errorf("echoed %d bytes, want %d", len(got), len(payload))
				}
				return
			}
			p := decodeProblem(t, resp, got)
			if p.Status != 413 || p.Code != "BAD_USER_INPUT" || p.Detail != "the request body is larger than the limit of 1024 bytes" {
				t.Errorf("problem = %+v", p)
			}
		})
	}
}

func TestHealth(t *testing.T) {
	tests := []struct {
		name       string
		deps       httpserver.Deps
		path       string
		wantStatus int
		wantBody   string // JSON, compared after decoding; ignored for problems
		wantDetail map[string]string
	}{
		{name: "health reports the version", deps: httpserver.Deps{Version: "1.2.3"}, path: "/health", wantStatus: 200, wantBody: `{"status":"ok","version":"1.2.3"}`},
		{name: "live", path: "/health/live", wantStatus: 200, wantBody: `{"status":"ok"}`},
		{name: "ready with details", deps: httpserver.Deps{Ready: fakeReady{details: map[string]string{"database": "ok", "relay": "running"}}}, path: "/health/ready", wantStatus: 200, wantBody: `{"status":"ready","details":{"database":"ok","relay":"running"}}`},
		{name: "ready without a checker", path: "/health/ready", wantStatus: 200, wantBody: `{"status":"ready"}`},
		{name: "not ready is 503 with details", deps: httpserver.Deps{Ready: fakeReady{details: map[string]string{"database": "ok", "relay_lag": "120s over 30s"}, err: errors.New("relay lag too high")}}, path: "/health/ready", wantStatus: 503, wantDetail: map[string]string{"database": "ok", "relay_lag": "120s over 30s"}},
		{name: "modules", deps: httpserver.Deps{Modules: fakeModules{"commerce": "ok", "forum": "disabled"}}, path: "/health/modules", wantStatus: 200, wantBody: `{"commerce":"ok","forum":"disabled"}`},
		{name: "modules without a reporter", path: "/health/modules", wantStatus: 200, wantBody: `{}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := mustStart(t, httpserver.Config{}, tc.deps)
			resp, body := ts.do(t, http.MethodGet, tc.path, nil, nil)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status = %d, want %d (body %s)", resp.StatusCode, tc.wantStatus, body)
			}
			if tc.wantStatus != 200 {
				p := decodeProblem(t, resp, body)
				if p.Status != tc.wantStatus || p.Code != "INTERNAL" || p.Detail != "service is not ready" || fmt.Sprint(p.Details) != fmt.Sprint(tc.wantDetail) {
					t.Errorf("problem = %+v", p)
				}
				if bytes.Contains(body, []byte("relay lag too high")) {
					t.Errorf("body leaks the readiness error: %s", body)
				}
				return
			}
			var got, want any
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("decode %s: %v", body, err)
			}
			if err := json.Unmarshal([]byte(tc.wantBody), &want); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("body = %s, want %s", body, tc.wantBody)
			}
		})
	}
}

func TestMetrics(t *testing.T) {
	ts := mustStart(t, httpserver.Config{}, httpserver.Deps{})
	for _, p := range []string{"/items/1", "/items/2", "/items/3", "/does/not/exist", "/fail/conflict"} {
		ts.do(t, http.MethodGet, p, nil, nil)
	}
	_, body := ts.do(t, http.MethodGet, "/metrics", nil, nil)
	text := string(body)
	for _, want := range []string{
		`rustok_http_requests_total{method="GET",route="/items/:id",status="200"} 3`,
		`rustok_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`rustok_http_requests_total{method="GET",route="/fail/:code",status="409"} 1`,
		`rustok_http_request_duration_seconds_count{method="GET",route="/items/:id"} 3`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(text, `route="/items/1"`) {
		t.Error("metrics use the raw path instead of the route template")
	}
}

func TestAccessLogHasTenant(t *testing.T) {
	ts := mustStart(t, httpserver.Config{}, httpserver.Deps{})
	h := http.Header{"X-Tenant-ID": {"demo"}, httpserver.HeaderRequestID: {"tenant-req-1"}}
	resp, body := ts.do(t, http.MethodGet, "/api/ping", nil, h)
	if resp.StatusCode != 200 || string(body) != "pong" {
		t.Fatalf("GET /api/ping = %d %s", resp.StatusCode, body)
	}
	findLog(t, ts.logs.String(), "http request", `"tenant_id":"demo"`, `"request_id":"tenant-req-1"`, `"route":"/api/ping"`, `"method":"GET"`, `"status":200`, `"duration"`)
}

func TestGracefulShutdownWaitsForInFlight(t *testing.T) {
	ts := mustStart(t, httpserver.Config{ShutdownTimeout: 5 * time.Second}, httpserver.Deps{})
	type result struct {
		status int
		body   string
		err    error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := http.Get(ts.url + "/slow")
		if err != nil {
			res <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		res <- result{status: resp.StatusCode, body: string(b), err: err}
	}()
	<-ts.entered
	ts.cancel()

	// Start keeps waiting for the in-flight request...
	select {
	case err := <-ts.done:
		t.Fatalf("Start returned %v while a request was in flight", err)
	case <-time.After(200 * time.Millisecond):
	}
	// ...while refusing new connections.
	if _, err := net.DialTimeout("tcp", ts.srv.Addr().String(), time.Second); err == nil {
		t.Error("new connection accepted during shutdown")
	}
	close(ts.release)
	r := <-res
	if r.err != nil || r.status != 200 || r.body != "slow done" {
		t.Errorf("in-flight request = %d %q %v, want 200 \"slow done\"", r.status, r.body, r.err)
	}
	select {
	case err := <-ts.done:
		if err != nil {
			t.Errorf("Start = %v, want nil after a graceful shutdown", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Start did not return after the in-flight request finished")
	}
	ts.done <- nil // for Cleanup
	logs := ts.logs.String()
	findLog(t, logs, "http server shutting down: no longer accepting connections, waiting for in-flight requests")
	findLog(t, logs, "http server stopped: all in-flight requests finished")
}

func TestShutdownTimeoutIsBounded(t *testing.T) {
	ts := mustStart(t, httpserver.Config{ShutdownTimeout: 100 * time.Millisecond}, httpserver.Deps{})
	go func() {
		resp, err := http.Get(ts.url + "/slow")
		if err == nil {
			resp.Body.Close()
		}
	}()
	<-ts.entered
	start := time.Now()
	ts.cancel()
	select {
	case err := <-ts.done:
		if err == nil || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Start = %v, want a shutdown deadline error", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("shutdown took %v, want about 100ms", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Start did not return after ShutdownTimeout")
	}
	ts.done <- nil // for Cleanup
}

func TestListenOnBusyPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port

	srv, err := httpserver.New(httpserver.Config{Host: "127.0.0.1", Port: port}, httpserver.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	err = srv.Start(context.Background())
	want := "listen on 127.0.0.1:" + strconv.Itoa(port) + ": bind: address already in use"
	if err == nil || err.Error() != want {
		t.Fatalf("Start = %v, want %q", err, want)
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("errors.Is(err, EADDRINUSE) = false for %v", err)
	}
	if srv.Addr() != nil {
		t.Errorf("Addr = %v after a failed listen, want nil", srv.Addr())
	}
}

func TestStartTwice(t *testing.T) {
	ts := mustStart(t, httpserver.Config{}, httpserver.Deps{})
	if err := ts.srv.Start(context.Background()); err == nil {
		t.Fatal("second Start succeeded, want an error")
	}
}

func TestServersShareARegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	for i := range 2 {
		if _, err := httpserver.New(httpserver.Config{}, httpserver.Deps{Registry: reg}); err != nil {
			t.Fatalf("New #%d on a shared registry: %v", i+1, err)
		}
	}
}
