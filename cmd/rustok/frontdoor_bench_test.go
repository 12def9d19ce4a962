//go:build unix

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	tenantcmd "github.com/rustok/rustok/commands/tenant"
	"github.com/rustok/rustok/platform/database"
	"github.com/rustok/rustok/platform/database/dbtest"
	tenantproj "github.com/rustok/rustok/projections/tenant"
	"github.com/rustok/rustok/transport/http/tenancy"
)

// Front door benchmark parameters: frontDoorRounds interleaved rounds of
// frontDoorClients keep-alive clients, each round measuring every target
// for RUSTOK_BENCH_ROUND (default frontDoorRound).
const (
	frontDoorClients = 50
	frontDoorRounds  = 3
	frontDoorRound   = 3 * time.Second
	frontDoorWarmup  = time.Second
	frontDoorSlug    = "bench"
	frontDoorBareAPI = "/api/bench/bare"
)

// frontDoorQuery is the GraphQL request of BenchmarkFrontDoor.
const frontDoorQuery = `{"query":"{ currentTenant { name } }"}`

// BenchmarkFrontDoor measures GraphQL `{ currentTenant { name } }` against a
// bare echo route on the same server that answers the same JSON from the same
// tenant cache, through the same /api middleware (request id, access log and
// metrics, recovery, security headers, CORS, body limit, Vary, tenancy), and
// against /health/live as a second reference. Rounds are interleaved (bare,
// graphql, live, bare, …) and the figures are medians of per-round values,
// because the machine is shared and noisy. Run it with
//
//	go test -run '^$' -bench FrontDoor -benchtime 1x -timeout 20m ./cmd/rustok/
//
// RUSTOK_BENCH_ROUND sets the length of one measurement (default 3s).
// RUSTOK_BENCH_WRK=1 repeats the rounds with wrk as the client, when wrk is
// installed, as a cross-check of the in-process client.
func BenchmarkFrontDoor(b *testing.B) {
	if testing.Short() {
		b.Skip("front door benchmark: not under -short")
	}
	window := frontDoorRound
	if v := os.Getenv("RUSTOK_BENCH_ROUND"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("RUSTOK_BENCH_ROUND: %v", err)
		}
		window = d
	}
	for range b.N {
		runFrontDoor(b, window)
	}
}

func runFrontDoor(b *testing.B, window time.Duration) {
	logs := &benchLogBuffer{}
	s, name := startFrontDoorServer(b, logs)
	base := "http://" + s.http.Addr().String()

	bareWant := []byte(fmt.Sprintf(`{"data":{"currentTenant":{"name":%q}}}`+"\n", name))
	targets := []loadTarget{
		{name: "bare", method: http.MethodGet, url: base + frontDoorBareAPI, want: bareWant},
		{name: "graphql", method: http.MethodPost, url: base + "/api/graphql", body: []byte(frontDoorQuery), want: bareWant},
		{name: "live", method: http.MethodGet, url: base + "/health/live", want: []byte(`{"status":"ok"}` + "\n")},
	}
	client := &http.Client{Transport: &http.Transport{
		MaxIdleConns:        2 * frontDoorClients,
		MaxIdleConnsPerHost: 2 * frontDoorClients,
		IdleConnTimeout:     time.Minute,
	}}
	defer client.CloseIdleConnections()

	// Warm up: connections open, the document cached, the tenant cached, the
	// heap at its working size.
	for _, tg := range targets {
		if r := runLoad(client, tg, frontDoorClients, frontDoorWarmup); r.errors > 0 {
			b.Fatalf("%s warm-up: %d errors, first: %s", tg.name, r.errors, r.firstErr)
		}
	}

	results := map[string][]loadResult{}
	var gqlBare, gqlLive []float64
	for round := range frontDoorRounds {
		byName := map[string]loadResult{}
		for _, tg := range targets {
			r := runLoad(client, tg, frontDoorClients, window)
			if r.errors > 0 {
				b.Fatalf("round %d, %s: %d errors of %d requests, first: %s", round+1, tg.name, r.errors, r.requests, r.firstErr)
			}
			byName[tg.name] = r
			results[tg.name] = append(results[tg.name], r)
		}
		gqlBare = append(gqlBare, byName["graphql"].rate()/byName["bare"].rate())
		gqlLive = append(gqlLive, byName["graphql"].rate()/byName["live"].rate())
		b.Logf("round %d: bare %.0f req/s (p50 %v, p99 %v); graphql %.0f req/s (p50 %v, p99 %v); live %.0f req/s (p99 %v); graphql/bare %.2f, graphql/live %.2f",
			round+1,
			byName["bare"].rate(), byName["bare"].p(0.50), byName["bare"].p(0.99),
			byName["graphql"].rate(), byName["graphql"].p(0.50), byName["graphql"].p(0.99),
			byName["live"].rate(), byName["live"].p(0.99),
			gqlBare[round], gqlLive[round])
	}
	if os.Getenv("RUSTOK_BENCH_WRK") != "" {
		crossCheckWithWrk(b, targets, window)
	}
	if logs.Len() > 0 {
		b.Errorf("the server logged errors during the run:\n%s", logs.String())
	}

	b.Logf("graphql/bare median %.2f (rounds %.2f); graphql/live median %.2f (rounds %.2f); %d clients, %d rounds of %v per target",
		benchMedian(gqlBare), gqlBare, benchMedian(gqlLive), gqlLive, frontDoorClients, frontDoorRounds, window)
	b.ReportMetric(benchMedian(gqlBare), "graphql/bare")
	b.ReportMetric(benchMedian(gqlLive), "graphql/live")
	for _, tg := range targets {
		rs := results[tg.name]
		b.ReportMetric(benchMedian(mapSlice(rs, loadResult.rate)), tg.name+"-req/s")
		b.ReportMetric(benchMedian(mapSlice(rs, func(r loadResult) float64 { return benchMS(r.p(0.50)) })), tg.name+"-p50-ms")
		b.ReportMetric(benchMedian(mapSlice(rs, func(r loadResult) float64 { return benchMS(r.p(0.99)) })), tg.name+"-p99-ms")
	}
}

// crossCheckWithWrk runs the same interleaved rounds with wrk (2 threads,
// frontDoorClients connections), a client in another process that costs
// less CPU per request than Go's, when wrk is on PATH. wrk checks statuses,
// not bodies: the Go rounds checked those.
func crossCheckWithWrk(b *testing.B, targets []loadTarget, window time.Duration) {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		b.Logf("RUSTOK_BENCH_WRK is set but wrk is not on PATH: cross-check skipped")
		return
	}
	dir := b.TempDir()
	scripts := map[string]string{}
	for _, tg := range targets {
		lua := fmt.Sprintf("wrk.method = %q\nwrk.headers[%q] = %q\n", tg.method, tenancy.DefaultHeaderName, frontDoorSlug)
		if tg.body != nil {
			lua += fmt.Sprintf("wrk.body = %q\nwrk.headers[%q] = %q\n", tg.body, echo.HeaderContentType, echo.MIMEApplicationJSON)
		}
		scripts[tg.name] = filepath.Join(dir, tg.name+".lua")
		if err := os.WriteFile(scripts[tg.name], []byte(lua), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	seconds := fmt.Sprintf("%ds", max(int(window.Seconds()), 1))
	var gqlBare, gqlLive []float64
	for round := range frontDoorRounds {
		rates := map[string]float64{}
		var line []string
		for _, tg := range targets {
			out, err := exec.Command(wrk, "-t2", fmt.Sprintf("-c%d", frontDoorClients), "-d"+seconds, "--latency",
				"-s", scripts[tg.name], tg.url).CombinedOutput()
			if err != nil {
				b.Fatalf("wrk %s: %v\n%s", tg.name, err, out)
			}
			rate, p99, err := parseWrk(string(out))
			if err != nil {
				b.Fatalf("wrk %s: %v\n%s", tg.name, err, out)
			}
			rates[tg.name] = rate
			line = append(line, fmt.Sprintf("%s %.0f req/s (p99 %v)", tg.name, rate, p99))
		}
		gqlBare = append(gqlBare, rates["graphql"]/rates["bare"])
		gqlLive = append(gqlLive, rates["graphql"]/rates["live"])
		b.Logf("wrk round %d: %s; graphql/bare %.2f, graphql/live %.2f", round+1, strings.Join(line, "; "), gqlBare[round], gqlLive[round])
	}
	b.Logf("wrk: graphql/bare median %.2f (rounds %.2f); graphql/live median %.2f (rounds %.2f)",
		benchMedian(gqlBare), gqlBare, benchMedian(gqlLive), gqlLive)
	b.ReportMetric(benchMedian(gqlBare), "wrk-graphql/bare")
	b.ReportMetric(benchMedian(gqlLive), "wrk-graphql/live")
}

var (
	wrkRate   = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkP99    = regexp.MustCompile(`\s99%\s+([0-9.]+(?:us|ms|s))`)
	wrkErrors = regexp.MustCompile(`(Non-2xx or 3xx responses|Socket errors):.*`)
)

// parseWrk reads the request rate and the p99 latency from wrk --latency
// output; answers that were not 2xx and socket errors are an error.
func parseWrk(out string) (rate float64, p99 time.Duration, err error) {
	if m := wrkErrors.FindString(out); m != "" {
		return 0, 0, fmt.Errorf("failed requests: %s", m)
	}
	r, p := wrkRate.FindStringSubmatch(out), wrkP99.FindStringSubmatch(out)
	if r == nil || p == nil {
		return 0, 0, errors.New("no Requests/sec or 99% line")
	}
	if rate, err = strconv.ParseFloat(r[1], 64); err != nil {
		return 0, 0, err
	}
	p99, err = time.ParseDuration(p[1])
	return rate, p99, err
}

// startFrontDoorServer starts the serve stack the way startServer does
// (SQLite in a temporary directory, HTTP and workers, logger at level error,
// here into logs), with one tenant and the bare route mounted on the /api
// group before the server listens. It returns the listening server and the
// tenant's name.
func startFrontDoorServer(b *testing.B, logs io.Writer) (*server, string) {
	b.Helper()
	cfg := testConfig(dbtest.URL(b, database.SQLite))
	ctx, cancel := context.WithCancel(context.Background())
	a, err := build(ctx, cfg, newLogger(cfg.Logger, logs), buildOptions{})
	if err != nil {
		b.Fatal(err)
	}
	h, err := newTenantHandlers(a)
	if err != nil {
		b.Fatal(err)
	}
	// createTenant takes a *testing.T; this is its body for a benchmark.
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
	// Mounted after newHTTP, so the route gets the group's middleware as it
	// is then: Vary and tenancy, besides the server-wide chain.
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
	})
	return s, "Tenant " + frontDoorSlug
}

// BenchmarkAPIRequestCPU is the server side of BenchmarkFrontDoor without
// the network and the client: each request of the load generator handed to
// the echo instance in process, for the CPU time and allocations of one
// request. (Its name does not match -bench FrontDoor, whose -benchtime 1x
// would make it meaningless.) Compare builds with
//
//	go test -run '^$' -bench APIRequestCPU -benchtime 2s -cpu 1 -count 6 ./cmd/rustok/
//
// and their smallest cpu-ns/op: interference on a shared machine only adds.
func BenchmarkAPIRequestCPU(b *testing.B) {
	if testing.Short() {
		b.Skip("front door benchmark: not under -short")
	}
	s, name := startFrontDoorServer(b, &benchLogBuffer{})
	want := fmt.Sprintf(`{"data":{"currentTenant":{"name":%q}}}`+"\n", name)
	for _, tg := range []loadTarget{
		{name: "bare", method: http.MethodGet, url: frontDoorBareAPI, want: []byte(want)},
		{name: "graphql", method: http.MethodPost, url: "/api/graphql", body: []byte(frontDoorQuery), want: []byte(want)},
		{name: "live", method: http.MethodGet, url: "/health/live", want: []byte(`{"status":"ok"}` + "\n")},
	} {
		b.Run(tg.name, func(b *testing.B) {
			h := s.http.Echo()
			b.ReportAllocs()
			cpu0 := processCPU(b)
			for b.Loop() {
				var body io.Reader
				if tg.body != nil {
					body = bytes.NewReader(tg.body)
				}
				req := httptest.NewRequest(tg.method, tg.url, body)
				req.Header.Set(tenancy.DefaultHeaderName, frontDoorSlug)
				if tg.body != nil {
					req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), tg.want) {
					b.Fatalf("%d %s", rec.Code, rec.Body.Bytes())
				}
			}
			// CPU time rather than wall time: on a shared machine it is
			// what the request costs, whoever else runs meanwhile.
			b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// processCPU returns the CPU time (user and system) this process has used:
// every goroutine, the garbage collector's included.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// bareCurrentTenant answers what GraphQL answers to `{ currentTenant { name } }`,
// from the tenant the tenancy middleware put on the request context.
func bareCurrentTenant(c echo.Context) error {
	t, ok := tenancy.FromContext(c.Request().Context())
	if !ok {
		return tenancy.ErrNoTenant
	}
	type tenantName struct {
		Name string `json:"name"`
	}
	type data struct {
		CurrentTenant tenantName `json:"currentTenant"`
	}
	return c.JSON(http.StatusOK, struct {
		Data data `json:"data"`
	}{data{tenantName{t.Name}}})
}

// loadTarget is one kind of request of the load generator and the exact
// answer it must get.
type loadTarget struct {
	name, method, url string
	body, want        []byte
}

// loadResult is what one load run saw.
type loadResult struct {
	requests, errors int
	firstErr         string
	elapsed          time.Duration
	latencies        []time.Duration // sorted
}

func (r loadResult) rate() float64 { return float64(r.requests) / r.elapsed.Seconds() }

// p returns the q-quantile of the latencies (nearest rank).
func (r loadResult) p(q float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	i := int(q*float64(len(r.latencies))+0.5) - 1
	return r.latencies[min(max(i, 0), len(r.latencies)-1)]
}

// runLoad sends tg's request from clients goroutines, each back to back over
// its own keep-alive connection, for d. Every answer must be 200 with body
// tg.want; any other is an error.
func runLoad(client *http.Client, tg loadTarget, clients int, d time.Duration) loadResult {
	type clientResult struct {
		errors    int
		firstErr  string
		latencies []time.Duration
	}
	out := make([]clientResult, clients)
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cr := &out[i]
			cr.latencies = make([]time.Duration, 0, 4096)
			var buf bytes.Buffer
			fail := func(msg string) {
				if cr.errors == 0 {
					cr.firstErr = msg
				}
				cr.errors++
			}
			for time.Now().Before(deadline) {
				var body io.Reader
				if tg.body != nil {
					body = bytes.NewReader(tg.body)
				}
				req, err := http.NewRequest(tg.method, tg.url, body)
				if err != nil {
					fail(err.Error())
					continue
				}
				req.Header.Set(tenancy.DefaultHeaderName, frontDoorSlug)
				if tg.body != nil {
					req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					fail(err.Error())
					continue
				}
				buf.Reset()
				_, err = buf.ReadFrom(resp.Body)
				resp.Body.Close()
				cr.latencies = append(cr.latencies, time.Since(t0))
				switch {
				case err != nil:
					fail(err.Error())
				case resp.StatusCode != http.StatusOK || !bytes.Equal(buf.Bytes(), tg.want):
					fail(fmt.Sprintf("%d %s", resp.StatusCode, buf.Bytes()))
				}
			}
		}()
	}
	wg.Wait()
	r := loadResult{elapsed: time.Since(start)}
	for _, cr := range out {
		r.errors += cr.errors
		if r.firstErr == "" {
			r.firstErr = cr.firstErr
		}
		r.latencies = append(r.latencies, cr.latencies...)
	}
	r.requests = len(r.latencies)
	slices.Sort(r.latencies)
	return r
}

func benchMedian(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else if n > 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return 0
}

func mapSlice[T any](xs []T, f func(T) float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}

func benchMS(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// benchLogBuffer is a bytes.Buffer safe for concurrent writers: the server's log.
type benchLogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *benchLogBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *benchLogBuffer) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Len()
}

func (s *benchLogBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}
