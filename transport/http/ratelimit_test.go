package httpserver_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/platform/ratelimit"
	httpserver "github.com/rustok/rustok/transport/http"
)

// limitedServer is a server whose every route is limited per client IP (3 at
// once, then one a second) except /health* and /metrics, and whose /api
// routes are limited per tenant (5 at once, then one a second); the tenant is
// the X-Tenant-ID header. Requests are served in process.
type limitedServer struct {
	srv   *httpserver.Server
	reg   *prometheus.Registry
	logs  *logBuffer
	clock *clock
}

// clock is a test clock that moves only when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var trustedProxy = netip.MustParsePrefix("10.0.0.0/8")

func newLimitedServer(tb testing.TB, ipLimiter httpserver.Limiter) *limitedServer {
	tb.Helper()
	ls := &limitedServer{reg: prometheus.NewRegistry(), logs: &logBuffer{}, clock: &clock{t: time.Now()}}
	logger := slog.New(slog.NewJSONHandler(ls.logs, nil))
	srv, err := httpserver.New(httpserver.Config{}, httpserver.Deps{Logger: logger, Registry: ls.reg})
	if err != nil {
		tb.Fatal(err)
	}
	ls.srv = srv
	if ipLimiter == nil {
		ipLimiter = ls.memory(tb, 3)
	}
	rl, err := httpserver.NewRateLimits(logger, ls.reg)
	if err != nil {
		tb.Fatal(err)
	}
	e := srv.Echo()
	e.Use(rl.Middleware(httpserver.RateLimitScopeIP, ipLimiter,
		httpserver.ClientIPKey([]netip.Prefix{trustedProxy}).Except("/health", "/health/", "/metrics", "/api/assets/")))
	e.GET("/items", func(c echo.Context) error { return c.String(http.StatusOK, "items") })
	e.GET("/shaped", func(c echo.Context) error { return c.String(http.StatusOK, "shaped") })
	srv.WriteErrorsAs("/shaped", func(c echo.Context, p httpserver.Problem) error {
		return c.JSON(p.Status, map[string]string{"shaped_code": p.Code})
	})
	api := srv.API()
	api.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if t := c.Request().Header.Get("X-Tenant-ID"); t != "" {
				c.SetRequest(c.Request().WithContext(context.WithValue(c.Request().Context(), tenantKey{}, t)))
			}
			return next(c)
		}
	})
	api.Use(rl.Middleware(httpserver.RateLimitScopeTenant, ls.memory(tb, 5), httpserver.TenantKey(func(ctx context.Context) string {
		t, _ := ctx.Value(tenantKey{}).(string)
		return t
	})))
	api.GET("/ping", func(c echo.Context) error { return c.String(http.StatusOK, "pong") })
	api.GET("/assets/*", func(c echo.Context) error { return c.String(http.StatusOK, "asset") })
	return ls
}

func (ls *limitedServer) memory(tb testing.TB, burst int) *ratelimit.Memory {
	tb.Helper()
	m, err := ratelimit.NewMemory(ratelimit.MemoryConfig{Rate: ratelimit.Rate{PerMinute: 60, Burst: burst}, Now: ls.clock.Now})
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// req is one request of a rate-limit case and what it must get.
type req struct {
	advance    time.Duration // clock move before the request
	path       string
	peer       string // RemoteAddr; default 192.0.2.1:40000
	forwarded  string // X-Forwarded-For
	tenant     string // X-Tenant-ID
	wantStatus int
	// wantHeaders are the rate-limit headers wanted, Retry-After first;
	// nil means none at all.
	wantHeaders []string
}

func (ls *limitedServer) serve(r req) *httptest.ResponseRecorder {
	hr := httptest.NewRequest(http.MethodGet, r.path, nil)
	hr.RemoteAddr = "192.0.2.1:40000"
	if r.peer != "" {
		hr.RemoteAddr = r.peer
	}
	if r.forwarded != "" {
		hr.Header.Set(httpserver.HeaderForwardedFor, r.forwarded)
	}
	if r.tenant != "" {
		hr.Header.Set("X-Tenant-ID", r.tenant)
	}
	rec := httptest.NewRecorder()
	ls.srv.Echo().ServeHTTP(rec, hr)
	return rec
}

// headers are the Retry-After and X-RateLimit-Limit, -Remaining, -Reset values.
func headers(retryAfter, limit, remaining, reset string) []string {
	return []string{retryAfter, limit, remaining, reset}
}

func TestRateLimitMiddleware(t *testing.T) {
	tests := []struct {
		name        string
		reqs        []req
		wantLimited map[string]float64 // rustok_rate_limited_total by scope
	}{
		{
			name: "a client's burst is answered, then 429 with Retry-After until a refill",
			reqs: []req{
				{path: "/items", wantStatus: 200, wantHeaders: headers("", "3", "2", "1")},
				{path: "/items", wantStatus: 200, wantHeaders: headers("", "3", "1", "2")},
				{path: "/items", wantStatus: 200, wantHeaders: headers("", "3", "0", "3")},
				{path: "/items", wantStatus: 429, wantHeaders: headers("1", "3", "0", "3")},
				{advance: 300 * time.Millisecond, path: "/items", wantStatus: 429, wantHeaders: headers("1", "3", "0", "3")},
				{advance: 700 * time.Millisecond, path: "/items", wantStatus: 200, wantHeaders: headers("", "3", "0", "3")},
			},
			wantLimited: map[string]float64{"ip": 2},
		},
		{
			name: "health and metrics are never limited nor counted",
			reqs: []req{
				{path: "/items", wantStatus: 200, wantHeaders: headers("", "3", "2", "1")},
				{path: "/items", wantStatus: 200, wantHeaders: headers("", "3", "1", "2")},
				{path: "/items", wantStatus: 200, wantHeaders: headers("", "3", "0", "3")},
				{path: "/health", wantStatus: 200},
				{path: "/health/live", wantStatus: 200},
				{path: "/health/ready", wantStatus: 200},
				{path: "/metrics", wantStatus: 200},
				{path: "/api/assets/app.js", wantStatus: 200},
				{path: "/items", wantStatus: 429, wantHeaders: headers("1", "3", "0", "3")},
			},
			wantLimited: map[string]float64{"ip": 1},
		},
		{
			name: "unknown routes count like any other",
			reqs: []req{
				{path: "/nope", wantStatus: 404, wantHeaders: headers("", "3", "2", "1")},
				{path: "/health/nope", wantStatus: 404, wantHeaders: headers("", "3", "1", "2")},
				{path: "/nope", wantStatus: 404, wantHeaders: headers("", "3", "0", "3")},
				{path: "/nope", wantStatus: 429, wantHeaders: headers("1", "3", "0", "3")},
			},
			wantLimited: map[string]float64{"ip": 1},
		},
		{
			name: "another client IP has its own budget",
			reqs: []req{
				{path: "/items", wantStatus: 200, wantHeaders: headers("", "3", "2", "1")},
				{path: "/items", wantStatus: 200, wantHeaders: headers("", "3", "1", "2")},
				{path: "/items", wantStatus: 200, wantHeaders: headers("", "3", "0", "3")},
				{path: "/items", wantStatus: 429, wantHeaders: headers("1", "3", "0", "3")},
				{path: "/items", peer: "192.0.2.2:40000", wantStatus: 200, wantHeaders: headers("", "3", "2", "1")},
			},
			wantLimited: map[string]float64{"ip": 1},
		},
		{
			name: "behind a trusted proxy each forwarded client has its own budget",
			reqs: []req{
				{path: "/items", peer: "10.0.0.1:5000", forwarded: "203.0.113.1", wantStatus: 200, wantHeaders: headers("", "3", "2", "1")},
				{path: "/items", peer: "10.0.0.1:5000", forwarded: "203.0.113.1", wantStatus: 200, wantHeaders: headers("", "3", "1", "2")},
				{path: "/items", peer: "10.0.0.2:5000", forwarded: "203.0.113.1", wantStatus: 200, wantHeaders: headers("", "3", "0", "3")},
				{path: "/items", peer: "10.0.0.1:5000", forwarded: "203.0.113.1", wantStatus: 429, wantHeaders: headers("1", "3", "0", "3")},
				{path: "/items", peer: "10.0.0.1:5000", forwarded: "203.0.113.2", wantStatus: 200, wantHeaders: headers("", "3", "2", "1")},
				// A client's own X-Forwarded-For entries are left of the
				// proxy's: they change nothing.
				{path: "/items", peer: "10.0.0.1:5000", forwarded: "198.51.100.9, 203.0.113.1", wantStatus: 429, wantHeaders: headers("1", "3", "0", "3")},
			},
			wantLimited: map[string]float64{"ip": 2},
		},
		{
			name: "X-Forwarded-For from an untrusted peer is ignored",
			reqs: []req{
				{path: "/items", forwarded: "203.0.113.1", wantStatus: 200, wantHeaders: headers("", "3", "2", "1")},
				{path: "/items", forwarded: "203.0.113.2", wantStatus: 200, wantHeaders: headers("", "3", "1", "2")},
				{path: "/items", forwarded: "203.0.113.3", wantStatus: 200, wantHeaders: headers("", "3", "0", "3")},
				{path: "/items", forwarded: "203.0.113.4", wantStatus: 429, wantHeaders: headers("1", "3", "0", "3")},
			},
			wantLimited: map[string]float64{"ip": 1},
		},
		{
			name: "a tenant's budget is shared by all its clients",
			reqs: []req{
				{path: "/api/ping", peer: "192.0.2.1:1", tenant: "acme", wantStatus: 200, wantHeaders: headers("", "3", "2", "1")},
				{path: "/api/ping", peer: "192.0.2.2:1", tenant: "acme", wantStatus: 200, wantHeaders: headers("", "3", "2", "1")},
				// Both budgets have 2 left: the first shown stays.
				{path: "/api/ping", peer: "192.0.2.3:1", tenant: "acme", wantStatus: 200, wantHeaders: headers("", "3", "2", "1")},
				// The tenant's budget has fewer left than the client's.
				{path: "/api/ping", peer: "192.0.2.4:1", tenant: "acme", wantStatus: 200, wantHeaders: headers("", "5", "1", "4")},
				{path: "/api/ping", peer: "192.0.2.5:1", tenant: "acme", wantStatus: 200, wantHeaders: headers("", "5", "0", "5")},
				{path: "/api/ping", peer: "192.0.2.6:1", tenant: "acme", wantStatus: 429, wantHeaders: headers("1", "5", "0", "5")},
				// Another tenant is unaffected; the client's refused request
				// still counted against the client.
				{path: "/api/ping", peer: "192.0.2.6:1", tenant: "globex", wantStatus: 200, wantHeaders: headers("", "3", "1", "2")},
				// Without a tenant only the client's budget counts.
				{path: "/api/ping", peer: "192.0.2.7:1", wantStatus: 200, wantHeaders: headers("", "3", "2", "1")},
			},
			wantLimited: map[string]float64{"tenant": 1},
		},
		{
			name: "a refusal answers in the route's own error shape, with the headers",
			reqs: []req{
				{path: "/shaped", wantStatus: 200, wantHeaders: headers("", "3", "2", "1")},
				{path: "/shaped", wantStatus: 200, wantHeaders: headers("", "3", "1", "2")},
				{path: "/shaped", wantStatus: 200, wantHeaders: headers("", "3", "0", "3")},
				{path: "/shaped", wantStatus: 429, wantHeaders: headers("1", "3", "0", "3")},
			},
			wantLimited: map[string]float64{"ip": 1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ls := newLimitedServer(t, nil)
			for i, r := range tc.reqs {
				ls.clock.Advance(r.advance)
				rec := ls.serve(r)
				if rec.Code != r.wantStatus {
					t.Fatalf("request %d (%s from %s %s): status %d, want %d: %s", i+1, r.path, r.peer, r.forwarded, rec.Code, r.wantStatus, rec.Body)
				}
				h := rec.Header()
				got := headers(h.Get(httpserver.HeaderRetryAfter), h.Get(httpserver.HeaderRateLimitLimit),
					h.Get(httpserver.HeaderRateLimitRemaining), h.Get(httpserver.HeaderRateLimitReset))
				want := r.wantHeaders
				if want == nil {
					want = headers("", "", "", "")
				}
				if strings.Join(got, "|") != strings.Join(want, "|") {
					t.Fatalf("request %d (%s): Retry-After|Limit|Remaining|Reset = %q, want %q", i+1, r.path, got, want)
				}
				if rec.Code == http.StatusTooManyRequests {
					checkRefusalBody(t, r.path, rec)
				}
			}
			for _, scope := range []string{"ip", "tenant"} {
				got := testutil.ToFloat64(mustCounter(t, ls.reg, "rustok_rate_limited_total", scope))
				if got != tc.wantLimited[scope] {
					t.Errorf("rustok_rate_limited_total{scope=%q} = %v, want %v", scope, got, tc.wantLimited[scope])
				}
			}
		})
	}
}

// checkRefusalBody checks that a 429 is RATE_LIMITED in the route's shape.
func checkRefusalBody(t *testing.T, path string, rec *httptest.ResponseRecorder) {
	t.Helper()
	if path == "/shaped" {
		var body map[string]string
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body["shaped_code"] != string(domain.CodeRateLimited) {
			t.Fatalf("refusal on /shaped = %s, want the route's own shape with code RATE_LIMITED", rec.Body)
		}
		return
	}
	resp := rec.Result()
	p := decodeProblem(t, resp, rec.Body.Bytes())
	if p.Status != http.StatusTooManyRequests || p.Code != string(domain.CodeRateLimited) || !strings.Contains(p.Detail, "retry in 1 s") {
		t.Fatalf("refusal problem = %+v, want status 429, code RATE_LIMITED and the wait", p)
	}
}

// mustCounter returns the counter of name with label scope, registering
// nothing: it fails when the metric is not registered on reg.
func mustCounter(t *testing.T, reg *prometheus.Registry, name, scope string) prometheus.Counter {
	t.Helper()
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: map[string]string{
		"rustok_rate_limited_total":      "Requests refused with 429 by a rate limit, by budget (ip, tenant, auth).",
		"rustok_rate_limit_errors_total": "Requests let through unchecked because the rate limiter failed (Redis unavailable), by budget.",
	}[name]}, []string{"scope"})
	err := reg.Register(vec)
	var are prometheus.AlreadyRegisteredError
	if !errors.As(err, &are) {
		t.Fatalf("%s is not registered (register: %v)", name, err)
	}
	return are.ExistingCollector.(*prometheus.CounterVec).WithLabelValues(scope)
}

// failingLimiter fails every decision, as a Redis limiter does while Redis
// is down.
type failingLimiter struct{}

func (failingLimiter) Allow(context.Context, string) (ratelimit.Decision, error) {
	return ratelimit.Decision{}, ratelimit.ErrUnavailable
}

var _ httpserver.Limiter = failingLimiter{}

// TestRateLimitFailsOpen: a limiter that fails lets every request through
// without rate-limit headers, counts each in rustok_rate_limit_errors_total
// and logs one warning, not one per request.
func TestRateLimitFailsOpen(t *testing.T) {
	ls := newLimitedServer(t, failingLimiter{})
	const n = 50
	for i := range n {
		rec := ls.serve(req{path: "/items"})
		if rec.Code != http.StatusOK {
			t.Fatalf("request %d with a failing limiter: status %d, want 200: %s", i+1, rec.Code, rec.Body)
		}
		if h := rec.Header().Get(httpserver.HeaderRateLimitLimit); h != "" {
			t.Fatalf("request %d: X-RateLimit-Limit %q from a limiter that did not decide", i+1, h)
		}
	}
	if got := testutil.ToFloat64(mustCounter(t, ls.reg, "rustok_rate_limit_errors_total", "ip")); got != n {
		t.Errorf("rustok_rate_limit_errors_total{scope=ip} = %v, want %d", got, n)
	}
	if got := testutil.ToFloat64(mustCounter(t, ls.reg, "rustok_rate_limited_total", "ip")); got != 0 {
		t.Errorf("rustok_rate_limited_total{scope=ip} = %v, want 0", got)
	}
	if got := strings.Count(ls.logs.String(), "rate limiter failed"); got != 1 {
		t.Errorf("%d warnings logged for %d failures within 10 s, want 1:\n%s", got, n, ls.logs.String())
	}
}

func TestClientIPKey(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	tests := []struct {
		name      string
		peer      string
		forwarded []string // X-Forwarded-For headers, in order
		want      string
	}{
		{"the direct peer", "192.0.2.1:5000", nil, "192.0.2.1"},
		{"an untrusted peer's forwarding is ignored", "192.0.2.1:5000", []string{"203.0.113.1"}, "192.0.2.1"},
		{"a trusted peer without forwarding is the client", "10.0.0.1:5000", nil, "10.0.0.1"},
		{"a trusted peer's last entry", "10.0.0.1:5000", []string{"203.0.113.1"}, "203.0.113.1"},
		{"entries a client wrote itself are skipped", "10.0.0.1:5000", []string{"1.1.1.1, 203.0.113.1"}, "203.0.113.1"},
		{"a chain of trusted proxies is walked", "10.0.0.1:5000", []string{"198.51.100.1, 203.0.113.1, 10.0.0.7, 10.0.0.8"}, "203.0.113.1"},
		{"repeated headers form one list", "10.0.0.1:5000", []string{"198.51.100.1", "203.0.113.1, 10.0.0.7"}, "203.0.113.1"},
		{"an entry with a port", "10.0.0.1:5000", []string{"203.0.113.1:4711"}, "203.0.113.1"},
		{"a bracketed IPv6 entry", "10.0.0.1:5000", []string{"[2001:db8::1]"}, "2001:db8::/64"},
		{"garbage stops at the last address believed", "10.0.0.1:5000", []string{"203.0.113.1, bogus, 10.0.0.7"}, "10.0.0.7"},
		{"all trusted: the furthest", "10.0.0.1:5000", []string{"10.0.0.5, 10.0.0.6"}, "10.0.0.5"},
		{"an IPv4-mapped peer is IPv4", "[::ffff:10.0.0.1]:5000", []string{"203.0.113.1"}, "203.0.113.1"},
		{"IPv6 clients are counted by /64", "[2001:db8:1:2:3:4:5:6]:5000", nil, "2001:db8:1:2::/64"},
		{"a trusted IPv6 proxy", "[fd00::1]:5000", []string{"2001:db8:aa:bb::9"}, "2001:db8:aa:bb::/64"},
		{"an address net/http never sets", "pipe", nil, "unknown"},
	}
	key := httpserver.ClientIPKey(trusted)
	e := echo.New()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tc.peer
			for _, v := range tc.forwarded {
				r.Header.Add(httpserver.HeaderForwardedFor, v)
			}
			if got := key(e.NewContext(r, httptest.NewRecorder())); got != tc.want {
				t.Fatalf("key = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestClientIPLongChain: a forged chain of trusted-looking entries is not
// walked past 32 hops.
func TestClientIPLongChain(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "10.0.0.1:5000"
	r.Header.Set(httpserver.HeaderForwardedFor, "203.0.113.1"+strings.Repeat(", 10.1.1.1", 10_000))
	if got := httpserver.ClientIP(r, trusted); got != netip.MustParseAddr("10.1.1.1") {
		t.Fatalf("ClientIP = %v, want the 32nd hop 10.1.1.1", got)
	}
}

// BenchmarkRateLimitMiddleware is the cost of the middleware alone with
// in-memory buckets: a bare echo route without it, with the per-IP budget,
// and with both budgets (1,024 clients, one tenant, limits never reached).
//
//	go test -run '^$' -bench RateLimitMiddleware -cpu 1 -count 6 ./transport/http/
func BenchmarkRateLimitMiddleware(b *testing.B) {
	for _, budgets := range []int{0, 1, 2} {
		b.Run(fmt.Sprintf("budgets=%d", budgets), func(b *testing.B) {
			e := echo.New()
			rl, err := httpserver.NewRateLimits(nil, prometheus.NewRegistry())
			if err != nil {
				b.Fatal(err)
			}
			newMemory := func() *ratelimit.Memory {
				m, err := ratelimit.NewMemory(ratelimit.MemoryConfig{Rate: ratelimit.Rate{PerMinute: ratelimit.MaxPerMinute, Burst: 1_000_000}})
				if err != nil {
					b.Fatal(err)
				}
				return m
			}
			if budgets >= 1 {
				e.Use(rl.Middleware(httpserver.RateLimitScopeIP, newMemory(), httpserver.ClientIPKey(nil).Except("/health")))
			}
			if budgets >= 2 {
				e.Use(rl.Middleware(httpserver.RateLimitScopeTenant, newMemory(), func(echo.Context) string { return "0190c3a4-7b2e-7000-8000-000000000001" }))
			}
			e.GET("/api/ping", func(c echo.Context) error { return c.NoContent(http.StatusOK) })
			reqs := make([]*http.Request, 1024)
			for i := range reqs {
				reqs[i] = httptest.NewRequest(http.MethodGet, "/api/ping", nil)
				reqs[i].RemoteAddr = fmt.Sprintf("198.51.%d.%d:40000", i/256, i%256)
			}
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				clear(w.h)
				e.ServeHTTP(w, reqs[i%len(reqs)])
				i++
			}
		})
	}
}

// discardWriter is an http.ResponseWriter that keeps nothing but its headers.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}
