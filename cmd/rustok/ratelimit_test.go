package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rustok/rustok/config"
	"github.com/rustok/rustok/platform/database"
	"github.com/rustok/rustok/platform/database/dbtest"
)

// Budgets of the rate-limit tests: refills of one a minute, so that none
// happens during a test and every count is exact.
const (
	testIPBurst     = 20
	testTenantBurst = 50
)

// rateLimitConfig is testConfig with rate limiting on: per client IP 20 at
// once, per tenant 50 at once, both refilled at one a minute, and the test
// client (127.0.0.1) a trusted proxy, so that X-Forwarded-For names the
// client.
func rateLimitConfig(dbURL string) config.Config {
	cfg := testConfig(dbURL)
	cfg.Settings.Rustok.RateLimit = config.RateLimit{
		Enabled:           true,
		RequestsPerMinute: 1, Burst: testIPBurst,
		TenantRequestsPerMinute: 1, TenantBurst: testTenantBurst,
		AuthRequestsPerMinute: 1, AuthBurst: 1,
		// Long enough that a loaded machine does not make decisions fail
		// open: these tests count exactly (TestServeRateLimitRedisDown
		// tests the failing).
		RedisTimeout:   10 * time.Second,
		TrustedProxies: []string{"127.0.0.1"},
	}
	return cfg
}

// TestServeRateLimit runs the rate limiter through the whole serve stack,
// with the buckets in memory and, when RUSTOK_TEST_REDIS_URL is set, in
// Redis: 2,000 requests at once from one client get exactly the burst
// answered and 429 with the rate-limit headers for the rest, in GraphQL's
// shape on /api/graphql and as problem+json elsewhere; probes and metrics
// are not limited; another client is unaffected; a tenant's budget holds
// across clients. Clients are random IPv6 networks behind the trusted proxy,
// so that no run meets the Redis buckets of an earlier one.
func TestServeRateLimit(t *testing.T) {
	t.Parallel()
	backends := []struct {
		name     string
		redisURL func(t *testing.T) string
	}{
		{"memory", func(*testing.T) string { return "" }},
		{"redis", func(t *testing.T) string {
			url := os.Getenv("RUSTOK_TEST_REDIS_URL")
			if url == "" {
				t.Skip("RUSTOK_TEST_REDIS_URL is not set: skipping the Redis-backed rate limiter")
			}
			return url
		}},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			cfg := rateLimitConfig(dbtest.URL(t, database.SQLite))
			cfg.Redis.URL = b.redisURL(t)
			ts := startServer(t, cfg)
			createTenant(t, ts.a, ts.h, "flood")
			createTenant(t, ts.a, ts.h, "shared")
			rl := newRateLimitClient(ts)

			// One client floods: exactly the burst is answered.
			flooder := randomClient(t)
			answers := rl.burst(t, 2000, 50, func(int) rlRequest {
				return rlRequest{client: flooder, tenant: "flood"}
			})
			ok, limited := checkFlood(t, answers, true)
			// A decision Redis did not answer in time fails open, by design,
			// and is counted: on a loaded machine some may. Every answer is
			// accounted for either way.
			failedOpen := int(scopeMetric(t, ts.a.registry, "rustok_rate_limit_errors_total", "ip"))
			if ok != testIPBurst+failedOpen || limited != 2000-ok {
				t.Fatalf("2000 requests from one client: %d answered 200, %d refused with 429, %d failed open; want %d and %d",
					ok, limited, failedOpen, testIPBurst+failedOpen, 2000-testIPBurst-failedOpen)
			}
			if failedOpen > 0 {
				t.Logf("%d decisions failed open (Redis slower than the decision timeout on this machine)", failedOpen)
			}
			if got := scopeMetric(t, ts.a.registry, "rustok_rate_limited_total", "ip"); got != float64(limited) {
				t.Fatalf("rustok_rate_limited_total{scope=ip} = %v, want %d", got, limited)
			}

			// The flooder's other requests: limited elsewhere as problem+json,
			// never on the probes and the metrics.
			a := rl.do(t, rlRequest{client: flooder, method: http.MethodGet, path: "/api/graphql/schema.graphql"})
			var p struct {
				Status int    `json:"status"`
				Code   string `json:"code"`
			}
			if err := json.Unmarshal(a.body, &p); err != nil || a.status != 429 || p.Code != "RATE_LIMITED" ||
				a.header.Get("Content-Type") != "application/problem+json" || a.header.Get("Retry-After") == "" {
				t.Fatalf("flooder's SDL request: %d %v %s; want 429 problem+json RATE_LIMITED with Retry-After", a.status, a.header, a.body)
			}
			for _, path := range []string{"/health", "/health/live", "/health/ready", "/metrics"} {
				if a := rl.do(t, rlRequest{client: flooder, method: http.MethodGet, path: path}); a.status != 200 || a.header.Get("X-RateLimit-Limit") != "" {
					t.Fatalf("flooder's GET %s: %d, X-RateLimit-Limit %q; want 200 and no rate-limit headers", path, a.status, a.header.Get("X-RateLimit-Limit"))
				}
			}

			// Another client, same tenant (30 of its 50 left): unaffected.
			other := rl.do(t, rlRequest{client: randomClient(t), tenant: "flood"})
			if other.status != 200 || other.header.Get("X-RateLimit-Remaining") != strconv.Itoa(testIPBurst-1) {
				t.Fatalf("another client after the flood: %d, X-RateLimit-Remaining %q: %s; want 200 and %d",
					other.status, other.header.Get("X-RateLimit-Remaining"), other.body, testIPBurst-1)
			}

			// Five clients, 12 requests each (under their own 20), 60 in all
			// for one tenant: the tenant's 50 are answered, 10 refused.
			clients := make([]netip.Addr, 5)
			for i := range clients {
				clients[i] = randomClient(t)
			}
			answers = rl.burst(t, 60, 20, func(i int) rlRequest {
				return rlRequest{client: clients[i%len(clients)], tenant: "shared"}
			})
			ok, limited = checkFlood(t, answers, false)
			if ok != testTenantBurst || limited != 60-testTenantBurst {
				t.Fatalf("60 requests for one tenant from 5 clients: %d answered, %d refused; want %d and %d",
					ok, limited, testTenantBurst, 60-testTenantBurst)
			}
			if got := scopeMetric(t, ts.a.registry, "rustok_rate_limited_total", "tenant"); got != 60-testTenantBurst {
				t.Fatalf("rustok_rate_limited_total{scope=tenant} = %v, want %d", got, 60-testTenantBurst)
			}
			if got := scopeMetric(t, ts.a.registry, "rustok_rate_limit_errors_total", "ip"); got != 0 {
				t.Fatalf("rustok_rate_limit_errors_total{scope=ip} = %v, want 0: the limiter failed", got)
			}
		})
	}
}

// TestServeRateLimitRedisDown: with redis.url naming a Redis that does not
// answer, requests are answered (fail open) and counted as limiter errors.
func TestServeRateLimitRedisDown(t *testing.T) {
	t.Parallel()
	cfg := rateLimitConfig(dbtest.URL(t, database.SQLite))
	cfg.Redis.URL = "redis://127.0.0.1:1/0"
	cfg.Settings.Rustok.RateLimit.RedisTimeout = 100 * time.Millisecond
	ts := startServer(t, cfg)
	createTenant(t, ts.a, ts.h, "shop")
	rl := newRateLimitClient(ts)
	client := randomClient(t)
	for i := range testIPBurst + 5 {
		if a := rl.do(t, rlRequest{client: client, tenant: "shop"}); a.status != 200 {
			t.Fatalf("request %d with Redis down: %d %s; want 200 (fail open)", i+1, a.status, a.body)
		}
	}
	if got := scopeMetric(t, ts.a.registry, "rustok_rate_limit_errors_total", "ip"); got != testIPBurst+5 {
		t.Fatalf("rustok_rate_limit_errors_total{scope=ip} = %v, want %d", got, testIPBurst+5)
	}
}

// rateLimitClient sends requests to a test server over keep-alive
// connections.
type rateLimitClient struct {
	base   string
	client *http.Client
}

func newRateLimitClient(ts *testServer) *rateLimitClient {
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	return &rateLimitClient{base: ts.base, client: &http.Client{Transport: tr}}
}

// rlRequest is one request: by default POST /api/graphql asking for the
// current tenant, from client (X-Forwarded-For) for tenant (X-Tenant-ID).
type rlRequest struct {
	client       netip.Addr
	tenant       string
	method, path string
}

type rlAnswer struct {
	status int
	header http.Header
	body   []byte
}

func (c *rateLimitClient) do(t *testing.T, r rlRequest) rlAnswer {
	t.Helper()
	a, err := c.send(r)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (c *rateLimitClient) send(r rlRequest) (rlAnswer, error) {
	var body io.Reader
	if r.method == "" {
		r.method, r.path = http.MethodPost, "/api/graphql"
		body = bytes.NewReader([]byte(`{"query":"{ currentTenant { slug } }"}`))
	}
	req, err := http.NewRequest(r.method, c.base+r.path, body)
	if err != nil {
		return rlAnswer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", r.client.String())
	if r.tenant != "" {
		req.Header.Set("X-Tenant-ID", r.tenant)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return rlAnswer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return rlAnswer{}, fmt.Errorf("read %s %s: %w", r.method, r.path, err)
	}
	return rlAnswer{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// burst sends n requests from workers goroutines at once, request i being
// request(i), and returns the answers in the order of i.
func (c *rateLimitClient) burst(t *testing.T, n, workers int, request func(i int) rlRequest) []rlAnswer {
	t.Helper()
	out := make([]rlAnswer, n)
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i], errs[i] = c.send(request(i))
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkFlood checks every answer of a burst of GraphQL requests and returns
// how many were answered 200 and refused 429: every answer carries
// X-RateLimit-Limit, -Remaining and -Reset; with oneBudget (all requests
// counted by the same budgets) the 200s count the remaining requests down
// without repeating one; the 429s carry Retry-After and GraphQL's error shape
// with code RATE_LIMITED, at one request a minute 1 to 60 seconds.
func checkFlood(t *testing.T, answers []rlAnswer, oneBudget bool) (ok, limited int) {
	t.Helper()
	seen := map[string]bool{}
	for i, a := range answers {
		h := a.header
		if h.Get("X-RateLimit-Limit") == "" || h.Get("X-RateLimit-Remaining") == "" || h.Get("X-RateLimit-Reset") == "" {
			t.Fatalf("answer %d (%d) without the X-RateLimit-* headers: %v", i, a.status, h)
		}
		switch a.status {
		case http.StatusOK:
			ok++
			rem := h.Get("X-RateLimit-Limit") + "/" + h.Get("X-RateLimit-Remaining")
			if oneBudget && seen[rem] {
				t.Fatalf("answer %d: X-RateLimit-Limit/Remaining %s repeated: two requests used one token", i, rem)
			}
			seen[rem] = true
			if h.Get("Retry-After") != "" {
				t.Fatalf("answer %d: Retry-After on an allowed request", i)
			}
		case http.StatusTooManyRequests:
			limited++
			secs, err := strconv.Atoi(h.Get("Retry-After"))
			if err != nil || secs < 1 || secs > 60 || h.Get("X-RateLimit-Remaining") != "0" {
				t.Fatalf("429 %d: Retry-After %q, X-RateLimit-Remaining %q; want 1-60 and 0", i, h.Get("Retry-After"), h.Get("X-RateLimit-Remaining"))
			}
			var g gqlResponse
			if err := json.Unmarshal(a.body, &g); err != nil || len(g.Errors) != 1 || g.Errors[0].Extensions["code"] != "RATE_LIMITED" {
				t.Fatalf("429 %d: body %s; want GraphQL errors with code RATE_LIMITED", i, a.body)
			}
		default:
			t.Fatalf("answer %d: status %d: %s", i, a.status, a.body)
		}
	}
	return ok, limited
}

// randomClient returns an address in a random IPv6 /64 (2001:db8::/32,
// documentation space): a client of its own for every run.
func randomClient(t *testing.T) netip.Addr {
	t.Helper()
	var b [16]byte
	b[0], b[1], b[2], b[3] = 0x20, 0x01, 0x0d, 0xb8
	if _, err := rand.Read(b[4:8]); err != nil {
		t.Fatal(err)
	}
	b[15] = 1
	return netip.AddrFrom16(b)
}

// scopeMetric returns the value of counter name with label scope.
func scopeMetric(t *testing.T, reg *prometheus.Registry, name, scope string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "scope" && l.GetValue() == scope {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
