//go:build unix

package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	tenantcmd "github.com/rustok/rustok/commands/tenant"
	"github.com/rustok/rustok/config"
	"github.com/rustok/rustok/platform/database"
	"github.com/rustok/rustok/platform/database/dbtest"
	tenantproj "github.com/rustok/rustok/projections/tenant"
	"github.com/rustok/rustok/transport/http/tenancy"
)

// BenchmarkRateLimiter measures the rate limiter's cost: requests/s of the
// same requests against servers that differ only in
// settings.rustok.rate_limit: off, on with the buckets in memory and, when
// RUSTOK_TEST_REDIS_URL is set, on with the buckets in Redis. The limits are
// far above what the load reaches (a million a second), so nothing is
// refused: every answer must be 200 with the exact body. The servers run in
// this process, each idle while another is measured; the load is
// BenchmarkFrontDoor's (50 keep-alive clients), in rateLimitRounds
// interleaved rounds of short measurements, so that the two sides of each
// ratio are measured seconds apart on a shared, noisy machine; figures are
// medians over the rounds.
// Targets: the bare /api route (the cheapest request that passes both
// budgets, per IP and per tenant) and GraphQL `{ currentTenant { name } }`.
// Run it with
//
//	go test -run '^$' -bench RateLimiter -benchtime 1x -timeout 20m ./cmd/rustok/
//
// RUSTOK_BENCH_ROUND sets the length of one measurement (default 1s).
func BenchmarkRateLimiter(b *testing.B) {
	if testing.Short() {
		b.Skip("rate limiter benchmark: not under -short")
	}
	window := rateLimitRound
	if v := os.Getenv("RUSTOK_BENCH_ROUND"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("RUSTOK_BENCH_ROUND: %v", err)
		}
		window = d
	}
	for range b.N {
		runRateLimiterBench(b, window)
	}
}

// BenchmarkRateLimiter's rounds, and the length of one measurement.
const (
	rateLimitRounds = 7
	rateLimitRound  = time.Second
)

// rateLimiterVariant is one server of the benchmark.
type rateLimiterVariant struct {
	name string
	base string
}

func runRateLimiterBench(b *testing.B, window time.Duration) {
	variants := []rateLimiterVariant{
		{name: "off", base: startRateLimitBenchServer(b, false, "")},
		{name: "memory", base: startRateLimitBenchServer(b, true, "")},
	}
	if url := os.Getenv("RUSTOK_TEST_REDIS_URL"); url != "" {
		variants = append(variants, rateLimiterVariant{name: "redis", base: startRateLimitBenchServer(b, true, url)})
	} else {
		b.Logf("RUSTOK_TEST_REDIS_URL is not set: no Redis-backed round")
	}
	want := []byte(fmt.Sprintf(`{"data":{"currentTenant":{"name":%q}}}`+"\n", "Tenant "+frontDoorSlug))
	targetsOf := func(v rateLimiterVariant) []loadTarget {
		return []loadTarget{
			{name: v.name + "/bare", method: http.MethodGet, url: v.base + frontDoorBareAPI, want: want},
			{name: v.name + "/graphql", method: http.MethodPost, url: v.base + "/api/graphql", body: []byte(frontDoorQuery), want: want},
		}
	}
	client := &http.Client{Transport: &http.Transport{
		MaxIdleConns:        2 * frontDoorClients * len(variants),
		MaxIdleConnsPerHost: 2 * frontDoorClients,
		IdleConnTimeout:     time.Minute,
	}}
	defer client.CloseIdleConnections()

	var order []loadTarget // bare of each variant, then GraphQL of each
	for kind := range 2 {
		for _, v := range variants {
			order = append(order, targetsOf(v)[kind])
		}
	}
	for _, tg := range order {
		if r := runLoad(client, tg, frontDoorClients, frontDoorWarmup); r.errors > 0 {
			b.Fatalf("%s warm-up: %d errors, first: %s", tg.name, r.errors, r.firstErr)
		}
	}
	rates := map[string][]float64{}
	p99s := map[string][]float64{}
	ratios := map[string][]float64{} // "memory/bare": on ÷ off per round
	for round := range rateLimitRounds {
		byName := map[string]loadResult{}
		var line []string
		for _, tg := range order {
			r := runLoad(client, tg, frontDoorClients, window)
			if r.errors > 0 {
				b.Fatalf("round %d, %s: %d errors of %d requests, first: %s", round+1, tg.name, r.errors, r.requests, r.firstErr)
			}
			byName[tg.name] = r
			rates[tg.name] = append(rates[tg.name], r.rate())
			p99s[tg.name] = append(p99s[tg.name], benchMS(r.p(0.99)))
			line = append(line, fmt.Sprintf("%s %.0f req/s (p99 %v)", tg.name, r.rate(), r.p(0.99)))
		}
		for _, v := range variants[1:] {
			for _, kind := range []string{"bare", "graphql"} {
				ratios[v.name+"/"+kind] = append(ratios[v.name+"/"+kind], byName[v.name+"/"+kind].rate()/byName["off/"+kind].rate())
			}
		}
		b.Logf("round %d: %s", round+1, strings.Join(line, "; "))
	}
	for _, tg := range order {
		b.ReportMetric(benchMedian(rates[tg.name]), tg.name+"-req/s")
		b.ReportMetric(benchMedian(p99s[tg.name]), tg.name+"-p99-ms")
	}
	for _, v := range variants[1:] {
		for _, kind := range []string{"bare", "graphql"} {
			k := v.name + "/" + kind
			b.Logf("%s on/off: median %.3f (rounds %.3f)", k, benchMedian(ratios[k]), ratios[k])
			b.ReportMetric(benchMedian(ratios[k]), v.name+"-on/off-"+kind)
		}
	}
}

// startRateLimitBenchServer starts the serve stack as startFrontDoorServer
// does (SQLite in a temporary directory, workers, the bench tenant, the bare
// route on the /api group), with rate limiting on or off and the given
// Redis URL, and returns its base URL. Limits, when on, are a million
// requests a second per client and per tenant.
func startRateLimitBenchServer(b *testing.B, limit bool, redisURL string) string {
	b.Helper()
	return "http://" + startRateLimitBench(b, limit, redisURL).http.Addr().String()
}

// startRateLimitBenchHandler is startRateLimitBenchServer's echo instance,
// for requests in process.
func startRateLimitBenchHandler(b *testing.B, limit bool, redisURL string) http.Handler {
	b.Helper()
	return startRateLimitBench(b, limit, redisURL).http.Echo()
}

func startRateLimitBench(b *testing.B, limit bool, redisURL string) *server {
	b.Helper()
	cfg := testConfig(dbtest.URL(b, database.SQLite))
	cfg.Redis.URL = redisURL
	cfg.Settings.Rustok.RateLimit = config.RateLimit{
		Enabled:           limit,
		RequestsPerMinute: 60_000_000, Burst: 1_000_000,
		TenantRequestsPerMinute: 60_000_000, TenantBurst: 1_000_000,
		AuthRequestsPerMinute: 10, AuthBurst: 5,
		TrustedProxies: []string{},
	}
	logs := &benchLogBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := build(ctx, cfg, newLogger(cfg.Logger, logs), buildOptions{})
	if err != nil {
		b.Fatal(err)
	}
	h, err := newTenantHandlers(a)
	if err != nil {
		b.Fatal(err)
	}
	res, err := h.create.Handle(ctx, tenantcmd.CreateTenant{Slug: frontDoorSlug, Name: "Tenant " + frontDoorSlug,
		Actor: (&cli{environ: []string{"USER=bench"}}).actor()})
	if err != nil {
		b.Fatal(err)
	}
	if err := a.catchUp(ctx, tenantproj.Name, res.Position); err != nil {
		b.Fatal(err)
	}
	s, err := newServer(a, true, true)
	if err != nil {
		b.Fatal(err)
	}
	s.http.API().GET(strings.TrimPrefix(frontDoorBareAPI, "/api"), bareCurrentTenant)
	done := make(chan error, 1)
	go func() { done <- s.run(ctx) }()
	select {
	case <-s.ready:
	case err := <-done:
		b.Fatalf("server stopped at start: %v", err)
	case <-time.After(20 * time.Second):
		b.Fatal("server did not start")
	}
	b.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			b.Errorf("server stop: %v", err)
		}
		if logs.Len() > 0 {
			b.Errorf("the server (rate limit %v, redis %q) logged errors:\n%s", limit, redisURL, logs.String())
		}
	})
	return s
}

// BenchmarkRateLimiterCPU is the server side of BenchmarkRateLimiter
// without the network and the client: the bare /api request handed to each
// server's echo instance in process, for the CPU time and allocations of one
// request with the limiter off and on. (Redis's own CPU, in its process, is
// not counted.) Compare with
//
//	go test -run '^$' -bench RateLimiterCPU -benchtime 2s -cpu 1 -count 6 ./cmd/rustok/
//
// and the smallest cpu-ns/op of each: interference only adds.
func BenchmarkRateLimiterCPU(b *testing.B) {
	if testing.Short() {
		b.Skip("rate limiter benchmark: not under -short")
	}
	variants := []struct {
		name     string
		limit    bool
		redisURL string
	}{{"off", false, ""}, {"memory", true, ""}}
	if url := os.Getenv("RUSTOK_TEST_REDIS_URL"); url != "" {
		variants = append(variants, struct {
			name     string
			limit    bool
			redisURL string
		}{"redis", true, url})
	}
	want := fmt.Sprintf(`{"data":{"currentTenant":{"name":%q}}}`+"\n", "Tenant "+frontDoorSlug)
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			h := startRateLimitBenchHandler(b, v.limit, v.redisURL)
			b.ReportAllocs()
			cpu0 := processCPU(b)
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, frontDoorBareAPI, nil)
				req.Header.Set(tenancy.DefaultHeaderName, frontDoorSlug)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK || rec.Body.String() != want {
					b.Fatalf("%d %s", rec.Code, rec.Body.Bytes())
				}
			}
			b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}
