//go:build unix

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"modernc.org/sqlite"

	tenantcmd "github.com/rustok/rustok/commands/tenant"
	"github.com/rustok/rustok/config"
	"github.com/rustok/rustok/platform/database"
	"github.com/rustok/rustok/platform/database/dbtest"
	"github.com/rustok/rustok/platform/password"
	tenantproj "github.com/rustok/rustok/projections/tenant"
	"github.com/rustok/rustok/transport/http/tenancy"
)

// BenchmarkIdentity's parameters.
const (
	// identityUsers sign up first; sign-in client i signs in as user
	// i % identityUsers, and the authenticated requests use their tokens.
	identityUsers = 16
	// identitySignInClients sign in back to back in the loaded sign-in
	// measurement (one client in the unloaded one).
	identitySignInClients = 16
	identitySignInRounds  = 3
	// identityAuthRounds interleaved rounds of anonymous and authenticated
	// requests, from frontDoorClients keep-alive clients.
	identityAuthRounds = 5
	// identityRound is the default length of one measurement
	// (RUSTOK_BENCH_ROUND).
	identityRound = 3 * time.Second
	// identityHashWindow is how long argon2id verifications are repeated
	// for each baseline of a round: one at a time, and cap at once.
	identityHashWindow = 2 * time.Second
	// identityFlood sign-ins start at once, identityFloodWaves times, against
	// the built binary.
	identityFlood      = 200
	identityFloodWaves = 3
	// identityStatsSettle is how long PostgreSQL statistics are given to
	// reach pg_stat_user_tables: a backend flushes its counters at most once
	// a second while busy and 10 s after it went idle.
	identityStatsSettle = 12 * time.Second
	identityPassword    = "correct horse battery staple"
)

// BenchmarkIdentity measures the identity figures of issue 15 in one run, on
// SQLite and, when RUSTOK_TEST_POSTGRES_URL is set, on PostgreSQL:
//
//  1. sign-in (REST POST /api/auth/login) with the configured argon2id
//     parameters — the defaults of config.Load for development, checked
//     equal to production's — from one client and from
//     identitySignInClients clients back to back: p50, p99 and sign-ins/s,
//     against argon2id verifications with the same parameters made in this
//     process in the same round, one at a time (p50 ÷ one hash;
//     sign-ins/s ÷ (cap ÷ one hash), the rate the hasher's cap allows) and
//     cap at once (sign-ins/s ÷ hashes/s at the cap); the hasher's cap and
//     how many hashes ran and waited at most, sampled from the server's
//     Hasher;
//  2. 200 sign-ins started at once against the server in process (what the
//     hasher admitted: the cap, its queue, the refusals) and, for memory,
//     against the built binary as a child process: its VmRSS before, the
//     highest VmRSS sampled during each of identityFloodWaves floods,
//     VmHWM, and the answers (200, 429 busy, other);
//  3. GraphQL `{ currentTenant { name } }` with a valid Bearer token (token
//     verified, principal checked) against the same request without one, in
//     identityAuthRounds interleaved rounds: medians of req/s and of the
//     authenticated ÷ anonymous ratio per round (target ≥ 0.8);
//  4. database work per authenticated request in steady state: idle,
//     anonymous load and authenticated load over windows of the same length.
//     On SQLite every statement compiled on the server's connections is
//     counted through the driver's authorizer (installed by a connection
//     hook of modernc.org/sqlite; the app prepares every statement anew, so
//     a statement compiled is a statement run), and the reads of
//     rm_sessions and rm_users apart; on PostgreSQL the seq_scan + idx_scan
//     and the rows written of the schema's tables (pg_stat_user_tables, read
//     identityStatsSettle after each window), rm_sessions and rm_users
//     apart; on both, the principal cache's own counters (hits, misses,
//     loads). A last window of authenticated GET /api/auth/me, which reads
//     rm_users once per request, is the control that the counters see a
//     read-model query. Nothing is asserted: the figures are printed.
//
// Figures are printed with fmt.Printf (one line each) and reported as
// metrics. Run it with
//
//	go test -run '^$' -bench Identity -benchtime 1x -timeout 20m ./cmd/rustok/
//
// RUSTOK_BENCH_ROUND sets the length of one measurement (default 3s).
func BenchmarkIdentity(b *testing.B) {
	if testing.Short() {
		b.Skip("identity benchmark: not under -short")
	}
	window := identityRound
	if v := os.Getenv("RUSTOK_BENCH_ROUND"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("RUSTOK_BENCH_ROUND: %v", err)
		}
		window = d
	}
	countSQLiteStatements()
	bin := buildBinary(b)
	for _, d := range dbtest.Dialects {
		b.Run(string(d), func(b *testing.B) {
			for range b.N {
				runIdentityBench(b, d, bin, window)
			}
		})
	}
}

func runIdentityBench(b *testing.B, d database.Dialect, bin string, window time.Duration) {
	dbURL := dbtest.URL(b, d)
	cfg := identityConfig(b, dbURL)
	logs := &benchLogBuffer{}
	s := startIdentityServer(b, cfg, logs)
	ib := &identityBench{
		b: b, d: d, s: s, window: window,
		base:   "http://" + s.http.Addr().String(),
		tag:    "identity/" + string(d),
		params: passwordParams(cfg.Auth.Password),
		client: &http.Client{Timeout: time.Minute, Transport: &http.Transport{
			MaxIdleConns:        2 * identityFlood,
			MaxIdleConnsPerHost: 2 * identityFlood,
			IdleConnTimeout:     time.Minute,
		}},
	}
	defer ib.client.CloseIdleConnections()
	ib.printf("argon2id m=%d KiB, t=%d, p=%d (%s); hasher cap %d (GOMAXPROCS %d); %d CPUs",
		ib.params.MemoryKiB, ib.params.Iterations, ib.params.Parallelism, defaultsNote(cfg.Auth.Password),
		hasherCap(), runtime.GOMAXPROCS(0), runtime.NumCPU())

	ib.signUp()
	ib.signInRounds()
	ib.floodInProcess()
	ib.authRounds()
	ib.queryWindows(dbURL)
	if logs.Len() > 0 {
		b.Errorf("the server logged errors during the run:\n%s", logs.String())
	}
	ib.floodBinary(bin)
}

// identityBench is one dialect's run against the server in process.
type identityBench struct {
	b      *testing.B
	d      database.Dialect
	s      *server
	base   string
	tag    string
	window time.Duration
	params password.Params
	client *http.Client
	tokens []string // an access token of each user
}

// printf prints one line of figures: b.Log truncates long output.
func (ib *identityBench) printf(format string, args ...any) {
	fmt.Printf(ib.tag+": "+format+"\n", args...)
}

// identityConfig is the configuration `rustok serve` gets in development
// from config.Load (defaults and the built-in development.yaml), with only
// what a benchmark needs set through the environment: the database, a free
// port, error-level logs and no rate limiting (every request comes from
// 127.0.0.1, and the auth budget is 10 a minute).
func identityConfig(b *testing.B, dbURL string) config.Config {
	b.Helper()
	cfg, err := config.Load("", config.EnvDevelopment, []string{
		"RUSTOK_DATABASE__URL=" + dbURL,
		"RUSTOK_SERVER__HOST=127.0.0.1",
		"RUSTOK_SERVER__PORT=0",
		"RUSTOK_LOGGER__LEVEL=error",
		"RUSTOK_SETTINGS__RUSTOK__RATE_LIMIT__ENABLED=false",
	})
	if err != nil {
		b.Fatalf("config: %v", err)
	}
	return cfg
}

// defaultsNote says whether pw are the code's defaults and production's.
func defaultsNote(pw config.Password) string {
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	prod, err := config.Load("", config.EnvProduction, []string{
		"RUSTOK_JWT_SECRET=" + hex.EncodeToString(secret),
		"RUSTOK_DATABASE__URL=sqlite:///nonexistent/rustok.db",
	})
	def := config.Default().Auth.Password
	switch {
	case err != nil:
		return fmt.Sprintf("defaults: %v; production config not loaded: %v", pw == def, err)
	case pw == def && prod.Auth.Password == def:
		return "the defaults, in development and production"
	default:
		return fmt.Sprintf("NOT the defaults: default %+v, production %+v", def, prod.Auth.Password)
	}
}

// hasherCap is the server's hashing concurrency: password.Options.Concurrency
// is not configured, so it is its default, GOMAXPROCS. (The benchmark also
// samples the Hasher: its "at most N running" figures confirm it.)
func hasherCap() int { return max(1, runtime.GOMAXPROCS(0)) }

func passwordParams(pw config.Password) password.Params {
	return password.Params{MemoryKiB: pw.Argon2MemoryKiB, Iterations: pw.Argon2Iterations, Parallelism: pw.Argon2Parallelism}
}

// startIdentityServer starts the serve stack as startFrontDoorServer does
// (HTTP and workers, logger into logs), on cfg, with the bench tenant, and
// stops it when the benchmark ends.
func startIdentityServer(b *testing.B, cfg config.Config, logs io.Writer) *server {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a, err := build(ctx, cfg, newLogger(cfg.Logger, logs), buildOptions{})
	if err != nil {
		cancel()
		b.Fatal(err)
	}
	h, err := newTenantHandlers(a)
	if err != nil {
		cancel()
		b.Fatal(err)
	}
	res, err := h.create.Handle(ctx, tenantcmd.CreateTenant{Slug: frontDoorSlug, Name: "Tenant " + frontDoorSlug,
		Actor: (&cli{environ: []string{"USER=bench"}}).actor()})
	if err != nil {
		cancel()
		b.Fatal(err)
	}
	if err := a.catchUp(ctx, tenantproj.Name, res.Position); err != nil {
		cancel()
		b.Fatal(err)
	}
	s, err := newServer(a, true, true)
	if err != nil {
		cancel()
		b.Fatal(err)
	}
	if s.identity == nil {
		cancel()
		b.Fatal("the server has no identity side")
	}
	done := make(chan error, 1)
	go func() { done <- s.run(ctx) }()
	select {
	case <-s.ready:
	case err := <-done:
		cancel()
		b.Fatalf("server stopped at start: %v", err)
	case <-time.After(20 * time.Second):
		cancel()
		b.Fatal("server did not start")
	}
	b.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			b.Errorf("server stop: %v", err)
		}
	})
	return s
}

// identityRequest is a request of tenant bench to base+path: POST with a
// JSON body, or GET when body is nil; with an access token unless bearer is
// "".
func identityRequest(base, path, bearer string, body []byte) *http.Request {
	method := http.MethodPost
	var r io.Reader = bytes.NewReader(body)
	if body == nil {
		method, r = http.MethodGet, http.NoBody
	}
	req, err := http.NewRequest(method, base+path, r)
	if err != nil {
		panic(err) // a constant URL
	}
	req.Header.Set(tenancy.DefaultHeaderName, frontDoorSlug)
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return req
}

func identityEmail(i int) string { return fmt.Sprintf("user%d@bench.example", i) }

func loginBody(i int) []byte {
	return []byte(fmt.Sprintf(`{"email":%q,"password":%q}`, identityEmail(i), identityPassword))
}

// signUp registers identityUsers users over REST and keeps their tokens.
func (ib *identityBench) signUp() {
	b := ib.b
	for i := range identityUsers {
		body := fmt.Sprintf(`{"email":%q,"password":%q,"name":"User %d"}`, identityEmail(i), identityPassword, i)
		code, raw, err := send(ib.client, identityRequest(ib.base, "/api/auth/register", "", []byte(body)))
		if err != nil || code != http.StatusCreated {
			b.Fatalf("register user %d: %d %s %v", i, code, raw, err)
		}
		var a authAnswer
		if err := json.Unmarshal(raw, &a); err != nil || a.AccessToken == "" {
			b.Fatalf("register user %d: %s", i, raw)
		}
		ib.tokens = append(ib.tokens, a.AccessToken)
	}
}

// send sends req and returns the status and the body.
func send(client *http.Client, req *http.Request) (int, []byte, error) {
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, err
}

// verdict classifies an answer of the load generator.
type verdict int

const (
	answerOK   verdict = iota
	answerBusy         // 429 RATE_LIMITED from the hasher's full queue or wait
	answerBad
)

// judgeLogin accepts a 200 with tokens; a 429 saying the server is busy is
// the hasher's refusal (rate limiting is off).
func judgeLogin(code int, body []byte) verdict {
	switch {
	case code == http.StatusOK && bytes.Contains(body, []byte(`"access_token":"`)):
		return answerOK
	case code == http.StatusTooManyRequests && bytes.Contains(body, []byte("RATE_LIMITED")) && bytes.Contains(body, []byte("busy")):
		return answerBusy
	}
	return answerBad
}

// identityResult is what one load run saw: latencies and requests are of
// the answers judged OK.
type identityResult struct {
	loadResult
	busy int
}

// identityLoad sends requests from clients goroutines, each back to back
// over its keep-alive connections, for d; req(client) makes client's next
// request and judge classifies its answer.
func identityLoad(client *http.Client, clients int, d time.Duration, req func(client int) *http.Request, judge func(int, []byte) verdict) identityResult {
	type clientResult struct {
		busy, errors int
		firstErr     string
		latencies    []time.Duration
	}
	out := make([]clientResult, clients)
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			cr := &out[i]
			cr.latencies = make([]time.Duration, 0, 1024)
			for time.Now().Before(deadline) {
				t0 := time.Now()
				code, body, err := send(client, req(i))
				took := time.Since(t0)
				v := answerBad
				if err == nil {
					v = judge(code, body)
				}
				switch v {
				case answerOK:
					cr.latencies = append(cr.latencies, took)
				case answerBusy:
					cr.busy++
				default:
					if cr.errors == 0 {
						cr.firstErr = fmt.Sprintf("%d %s %v", code, body, err)
					}
					cr.errors++
				}
			}
		})
	}
	wg.Wait()
	r := identityResult{loadResult: loadResult{elapsed: time.Since(start)}}
	for _, cr := range out {
		r.busy += cr.busy
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

// hasherSampler samples a Hasher's load every 200 µs until stopped.
type hasherSampler struct {
	stop                   chan struct{}
	done                   chan struct{}
	maxRunning, maxWaiting int
	refused0, refused      uint64
}

func sampleHasher(h *password.Hasher) *hasherSampler {
	hs := &hasherSampler{stop: make(chan struct{}), done: make(chan struct{}), refused0: h.Stats().Refused}
	go func() {
		defer close(hs.done)
		tick := time.NewTicker(200 * time.Microsecond)
		defer tick.Stop()
		for {
			st := h.Stats()
			hs.maxRunning = max(hs.maxRunning, st.Running)
			hs.maxWaiting = max(hs.maxWaiting, st.Waiting)
			hs.refused = st.Refused - hs.refused0
			select {
			case <-hs.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return hs
}

func (hs *hasherSampler) finish() *hasherSampler {
	close(hs.stop)
	<-hs.done
	return hs
}

// timeVerify returns the median time of one argon2id verification with p,
// repeated alone for d (at least 5 times), and the number made.
func timeVerify(b *testing.B, h *password.Hasher, encoded string, d time.Duration) (time.Duration, int) {
	ctx := context.Background()
	var took []time.Duration
	for start := time.Now(); time.Since(start) < d || len(took) < 5; {
		t0 := time.Now()
		if _, err := h.Verify(ctx, identityPassword, encoded); err != nil {
			b.Fatalf("verify: %v", err)
		}
		took = append(took, time.Since(t0))
	}
	slices.Sort(took)
	return took[len(took)/2], len(took)
}

// hashRate returns how many argon2id verifications per second n goroutines
// make together for d, in this process: what the hasher alone can do at a
// cap of n on this machine now.
func hashRate(b *testing.B, h *password.Hasher, encoded string, n int, d time.Duration) float64 {
	var done atomic.Int64
	var failed atomic.Value
	start := time.Now()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for time.Since(start) < d {
				if _, err := h.Verify(context.Background(), identityPassword, encoded); err != nil {
					failed.Store(err)
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		b.Fatalf("verify: %v", err)
	}
	return float64(done.Load()) / time.Since(start).Seconds()
}

// signInRounds measures sign-in from one client and from
// identitySignInClients, against one hash alone, in interleaved rounds.
func (ib *identityBench) signInRounds() {
	b := ib.b
	h, err := password.New(password.Options{Params: ib.params})
	if err != nil {
		b.Fatal(err)
	}
	encoded, err := h.Hash(context.Background(), identityPassword)
	if err != nil {
		b.Fatal(err)
	}
	hashCap := hasherCap()
	login := func(i int) *http.Request {
		return identityRequest(ib.base, "/api/auth/login", "", loginBody(i%identityUsers))
	}
	// Warm-up: connections, code paths, the heap at its working size.
	if r := identityLoad(ib.client, identitySignInClients, time.Second, login, judgeLogin); r.errors > 0 || r.requests == 0 {
		b.Fatalf("sign-in warm-up: %d errors, first: %s", r.errors, r.firstErr)
	}
	var hashMS, capRate, oneP50, oneP99, oneRate, manyP50, manyP99, manyRate, oneRatio, manyRatio, capShare, measuredShare []float64
	var maxRunning, maxWaiting int
	var busy int
	for round := range identitySignInRounds {
		hash, n := timeVerify(b, h, encoded, identityHashWindow)
		atCap := hashRate(b, h, encoded, hashCap, identityHashWindow)
		one := identityLoad(ib.client, 1, ib.window, login, judgeLogin)
		hs := sampleHasher(ib.s.identity.hasher)
		many := identityLoad(ib.client, identitySignInClients, ib.window, login, judgeLogin)
		hs.finish()
		for name, r := range map[string]identityResult{"1 client": one, fmt.Sprintf("%d clients", identitySignInClients): many} {
			if r.errors > 0 || r.requests == 0 {
				b.Fatalf("round %d, sign-in from %s: %d errors, %d busy, %d signed in; first error: %s", round+1, name, r.errors, r.busy, r.requests, r.firstErr)
			}
		}
		busy += one.busy + many.busy
		maxRunning, maxWaiting = max(maxRunning, hs.maxRunning), max(maxWaiting, hs.maxWaiting)
		allowed := float64(hashCap) / hash.Seconds() // sign-ins/s if hashing at the cap were all the work
		hashMS = append(hashMS, benchMS(hash))
		oneP50, oneP99, oneRate = append(oneP50, benchMS(one.p(0.50))), append(oneP99, benchMS(one.p(0.99))), append(oneRate, one.rate())
		manyP50, manyP99, manyRate = append(manyP50, benchMS(many.p(0.50))), append(manyP99, benchMS(many.p(0.99))), append(manyRate, many.rate())
		oneRatio = append(oneRatio, float64(one.p(0.50))/float64(hash))
		manyRatio = append(manyRatio, float64(many.p(0.50))/float64(hash))
		capShare = append(capShare, many.rate()/allowed)
		capRate = append(capRate, atCap)
		measuredShare = append(measuredShare, many.rate()/atCap)
		ib.printf("sign-in round %d: one hash %.1f ms (median of %d), %d at once %.1f hashes/s; 1 client: p50 %.1f ms, p99 %.1f ms, %.1f/s, p50/hash %.2f; %d clients: p50 %.1f ms, p99 %.1f ms, %.1f/s (%d), p50/hash %.2f, rate/(cap/hash) %.2f, rate/(hashes/s at cap) %.2f; busy %d; hasher at most %d running, %d waiting",
			round+1, benchMS(hash), n, hashCap, atCap, benchMS(one.p(0.50)), benchMS(one.p(0.99)), one.rate(), oneRatio[round],
			identitySignInClients, benchMS(many.p(0.50)), benchMS(many.p(0.99)), many.rate(), many.requests, manyRatio[round], capShare[round], measuredShare[round],
			one.busy+many.busy, hs.maxRunning, hs.maxWaiting)
	}
	ib.printf("sign-in medians: one hash %.1f ms (cap %d → at most %.1f sign-ins/s; measured %.1f hashes/s at the cap); 1 client p50 %.1f ms, p99 %.1f ms, %.1f/s, p50/hash %.2f (rounds %.2f); %d clients p50 %.1f ms, p99 %.1f ms, %.1f/s, p50/hash %.2f (rounds %.2f), rate/(cap/hash) %.2f (rounds %.2f), rate/(hashes/s at cap) %.2f (rounds %.2f); busy answers %d; hasher at most %d running and %d waiting",
		benchMedian(hashMS), hashCap, float64(hashCap)/(benchMedian(hashMS)/1000), benchMedian(capRate),
		benchMedian(oneP50), benchMedian(oneP99), benchMedian(oneRate), benchMedian(oneRatio), oneRatio,
		identitySignInClients, benchMedian(manyP50), benchMedian(manyP99), benchMedian(manyRate), benchMedian(manyRatio), manyRatio,
		benchMedian(capShare), capShare, benchMedian(measuredShare), measuredShare, busy, maxRunning, maxWaiting)
	b.ReportMetric(benchMedian(hashMS), "hash-ms")
	b.ReportMetric(benchMedian(oneP50), "signin1-p50-ms")
	b.ReportMetric(benchMedian(oneP99), "signin1-p99-ms")
	b.ReportMetric(benchMedian(oneRatio), "signin1-p50/hash")
	b.ReportMetric(benchMedian(manyP50), "signin-p50-ms")
	b.ReportMetric(benchMedian(manyP99), "signin-p99-ms")
	b.ReportMetric(benchMedian(manyRate), "signin/s")
	b.ReportMetric(benchMedian(manyRatio), "signin-p50/hash")
	b.ReportMetric(benchMedian(capShare), "signin-rate/cap-rate")
	b.ReportMetric(benchMedian(measuredShare), "signin-rate/hash-rate")
	b.ReportMetric(benchMedian(capRate), "hashes/s-at-cap")
	b.ReportMetric(float64(maxRunning), "hasher-max-running")
}

// floodOutcome is what identityFlood sign-ins started at once got.
type floodOutcome struct {
	ok, busy, other int
	firstOther      string
	elapsed         time.Duration
}

// loginFlood starts n sign-ins at once (each on its own connection, opened
// beforehand) and waits for every answer.
func loginFlood(client *http.Client, base string, n int) floodOutcome {
	// Open n connections first, so that the sign-ins leave together.
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-gate
			req, _ := http.NewRequest(http.MethodGet, base+"/health/live", nil)
			_, _, _ = send(client, req)
		})
	}
	close(gate)
	wg.Wait()

	var mu sync.Mutex
	var out floodOutcome
	gate = make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-gate
			code, body, err := send(client, identityRequest(base, "/api/auth/login", "", loginBody(i%identityUsers)))
			v := answerBad
			if err == nil {
				v = judgeLogin(code, body)
			}
			mu.Lock()
			defer mu.Unlock()
			switch v {
			case answerOK:
				out.ok++
			case answerBusy:
				out.busy++
			default:
				if out.other == 0 {
					out.firstOther = fmt.Sprintf("%d %s %v", code, body, err)
				}
				out.other++
			}
		})
	}
	start := time.Now()
	close(gate)
	wg.Wait()
	out.elapsed = time.Since(start)
	return out
}

// floodInProcess starts identityFlood sign-ins at once against the server
// in process and reports what its hasher admitted.
func (ib *identityBench) floodInProcess() {
	hs := sampleHasher(ib.s.identity.hasher)
	f := loginFlood(ib.client, ib.base, identityFlood)
	hs.finish()
	if f.other > 0 {
		ib.b.Fatalf("flood in process: %d answers neither 200 nor busy, first: %s", f.other, f.firstOther)
	}
	ib.printf("%d sign-ins at once, in process: %d signed in, %d busy (429 RATE_LIMITED), in %.0f ms; hasher at most %d running, %d waiting, %d refused",
		identityFlood, f.ok, f.busy, benchMS(f.elapsed), hs.maxRunning, hs.maxWaiting, hs.refused)
	ib.b.ReportMetric(float64(hs.maxRunning), "flood-max-running")
	ib.b.ReportMetric(float64(hs.maxWaiting), "flood-max-waiting")
}

// graphQLTarget is the request of the authenticated and anonymous rounds.
func (ib *identityBench) graphQLTarget(authenticated bool) func(int) *http.Request {
	return func(i int) *http.Request {
		bearer := ""
		if authenticated {
			bearer = ib.tokens[i%len(ib.tokens)]
		}
		return identityRequest(ib.base, "/api/graphql", bearer, []byte(frontDoorQuery))
	}
}

func (ib *identityBench) judgeGraphQL() func(int, []byte) verdict {
	want := []byte(fmt.Sprintf(`{"data":{"currentTenant":{"name":%q}}}`+"\n", "Tenant "+frontDoorSlug))
	return func(code int, body []byte) verdict {
		if code == http.StatusOK && bytes.Equal(body, want) {
			return answerOK
		}
		return answerBad
	}
}

// authRounds compares authenticated and anonymous GraphQL requests in
// interleaved rounds.
func (ib *identityBench) authRounds() {
	b := ib.b
	judge := ib.judgeGraphQL()
	kinds := []struct {
		name string
		req  func(int) *http.Request
	}{{"anonymous", ib.graphQLTarget(false)}, {"authenticated", ib.graphQLTarget(true)}}
	for _, k := range kinds {
		if r := identityLoad(ib.client, frontDoorClients, time.Second, k.req, judge); r.errors > 0 {
			b.Fatalf("%s warm-up: %d errors, first: %s", k.name, r.errors, r.firstErr)
		}
	}
	reg := ib.s.a.registry
	var ratios []float64
	rates, p99s := map[string][]float64{}, map[string][]float64{}
	var authRequests int
	var loads, misses, hits float64
	for round := range identityAuthRounds {
		byName := map[string]identityResult{}
		for _, k := range kinds {
			loads0, misses0, hits0 := principalCounters(reg)
			r := identityLoad(ib.client, frontDoorClients, ib.window, k.req, judge)
			loads1, misses1, hits1 := principalCounters(reg)
			if r.errors > 0 {
				b.Fatalf("round %d, %s: %d errors of %d requests, first: %s", round+1, k.name, r.errors, r.requests+r.errors, r.firstErr)
			}
			if k.name == "authenticated" {
				authRequests += r.requests
				loads, misses, hits = loads+loads1-loads0, misses+misses1-misses0, hits+hits1-hits0
			}
			byName[k.name] = r
			rates[k.name] = append(rates[k.name], r.rate())
			p99s[k.name] = append(p99s[k.name], benchMS(r.p(0.99)))
		}
		ratios = append(ratios, byName["authenticated"].rate()/byName["anonymous"].rate())
		ib.printf("auth round %d: anonymous %.0f req/s (p50 %v, p99 %v); authenticated %.0f req/s (p50 %v, p99 %v); authenticated/anonymous %.2f",
			round+1, byName["anonymous"].rate(), byName["anonymous"].p(0.5), byName["anonymous"].p(0.99),
			byName["authenticated"].rate(), byName["authenticated"].p(0.5), byName["authenticated"].p(0.99), ratios[round])
	}
	ib.printf("authenticated/anonymous median %.2f (rounds %.2f; target ≥ 0.8); anonymous %.0f req/s, p99 %.1f ms; authenticated %.0f req/s, p99 %.1f ms; %d clients, %d rounds of %v; principal cache over the authenticated rounds: %.0f hits, %.0f misses, %.0f loads for %d requests",
		benchMedian(ratios), ratios, benchMedian(rates["anonymous"]), benchMedian(p99s["anonymous"]),
		benchMedian(rates["authenticated"]), benchMedian(p99s["authenticated"]), frontDoorClients, identityAuthRounds, ib.window,
		hits, misses, loads, authRequests)
	b.ReportMetric(benchMedian(ratios), "auth/anon")
	b.ReportMetric(benchMedian(rates["anonymous"]), "anon-req/s")
	b.ReportMetric(benchMedian(rates["authenticated"]), "auth-req/s")
	b.ReportMetric(benchMedian(p99s["anonymous"]), "anon-p99-ms")
	b.ReportMetric(benchMedian(p99s["authenticated"]), "auth-p99-ms")
	b.ReportMetric(loads/float64(max(authRequests, 1)), "principal-loads/auth-req")
}

// principalCounters returns the principal cache's loads, misses and hits
// counters.
func principalCounters(reg *prometheus.Registry) (loads, misses, hits float64) {
	mfs, err := reg.Gather()
	if err != nil {
		return -1, -1, -1
	}
	for _, mf := range mfs {
		var dst *float64
		switch mf.GetName() {
		case "rustok_principal_cache_loads_total":
			dst = &loads
		case "rustok_principal_cache_misses_total":
			dst = &misses
		case "rustok_principal_cache_hits_total":
			dst = &hits
		default:
			continue
		}
		for _, m := range mf.GetMetric() {
			*dst += m.GetCounter().GetValue()
		}
	}
	return loads, misses, hits
}

// sqliteCount counts what SQLite's authorizer sees on connections opened in
// this process after countSQLiteStatements: SQLite calls the authorizer while
// it compiles a statement, and the app compiles every statement it runs (it
// never uses database/sql's Prepare, and the driver keeps a statement for
// one call only).
var sqliteCount struct {
	// statements counts SELECT, INSERT, UPDATE and DELETE authorizations:
	// one per statement, one more per sub-select.
	statements atomic.Int64
	// transactions counts BEGIN, COMMIT and ROLLBACK.
	transactions atomic.Int64
	// principal counts column reads of rm_sessions and rm_users, the read
	// models of the principal check.
	principal atomic.Int64
	// tables counts, per table, the statements that write it ("write
	// events") and the column reads of it ("read events"): whose
	// statements the totals are.
	tables sync.Map // string → *atomic.Int64
}

func countTable(key string) {
	c, ok := sqliteCount.tables.Load(key)
	if !ok {
		c, _ = sqliteCount.tables.LoadOrStore(key, new(atomic.Int64))
	}
	c.(*atomic.Int64).Add(1)
}

// sqliteTableCounts returns a copy of sqliteCount.tables.
func sqliteTableCounts() map[string]int64 {
	out := map[string]int64{}
	sqliteCount.tables.Range(func(k, v any) bool {
		out[k.(string)] = v.(*atomic.Int64).Load()
		return true
	})
	return out
}

// tableDelta describes the per-table counts that grew from before to after,
// largest first.
func tableDelta(before, after map[string]int64) string {
	type kv struct {
		k string
		v int64
	}
	var grew []kv
	for k, v := range after {
		if d := v - before[k]; d > 0 {
			grew = append(grew, kv{k, d})
		}
	}
	slices.SortFunc(grew, func(a, b kv) int { return int(b.v - a.v) })
	parts := make([]string, len(grew))
	for i, e := range grew {
		parts[i] = fmt.Sprintf("%s %d", e.k, e.v)
	}
	return strings.Join(parts, ", ")
}

var sqliteCountOnce sync.Once

// countSQLiteStatements installs, once per process, a connection hook of
// the sqlite driver that puts a counting authorizer (which allows
// everything) on every connection opened afterwards.
func countSQLiteStatements() {
	sqliteCountOnce.Do(func() {
		sqlite.RegisterConnectionHook(func(conn sqlite.ExecQuerierContext, _ string) error {
			r, ok := conn.(sqlite.AuthorizerRegisterer)
			if !ok {
				return errors.New("the sqlite driver's connection has no authorizer")
			}
			return r.RegisterAuthorizer(func(action sqlite.AuthorizerActionCode, arg1, _, _, _ string) sqlite.AuthorizerReturnCode {
				switch action {
				case sqlite.AuthSelect:
					sqliteCount.statements.Add(1)
				case sqlite.AuthInsert, sqlite.AuthUpdate, sqlite.AuthDelete:
					sqliteCount.statements.Add(1)
					countTable("write " + arg1)
				case sqlite.AuthTransaction:
					sqliteCount.transactions.Add(1)
				case sqlite.AuthRead:
					countTable("read " + arg1)
					if arg1 == "rm_sessions" || arg1 == "rm_users" {
						sqliteCount.principal.Add(1)
					}
				}
				return sqlite.AuthorizerOK
			})
		})
	})
}

// dbCounters reads cumulative counters of the database work of the server:
// names and meaning per dialect (see BenchmarkIdentity).
type dbCounters struct {
	d      database.Dialect
	db     *database.DB // PostgreSQL: the statistics are read through it
	names  []string
	settle time.Duration
}

func newDBCounters(b *testing.B, d database.Dialect, dbURL string) *dbCounters {
	if d == database.SQLite {
		return &dbCounters{d: d, names: []string{"statements", "transactions", "rm_sessions+rm_users column reads"}}
	}
	db, err := database.Open(context.Background(), dbURL, database.Options{MaxOpenConns: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	return &dbCounters{d: d, db: db, settle: identityStatsSettle,
		names: []string{"table scans", "rows written", "rm_sessions+rm_users scans"}}
}

// snapshot returns the counters (c.names) and, per table, what SQLite's
// authorizer saw or PostgreSQL's statistics say ("scan T", "write T").
func (c *dbCounters) snapshot(b *testing.B) ([]int64, map[string]int64) {
	if c.d == database.SQLite {
		return []int64{sqliteCount.statements.Load(), sqliteCount.transactions.Load(), sqliteCount.principal.Load()}, sqliteTableCounts()
	}
	// Statistics of this schema's tables only: other tests share the database.
	rows, err := c.db.Query(`SELECT relname, COALESCE(seq_scan, 0) + COALESCE(idx_scan, 0), n_tup_ins + n_tup_upd + n_tup_del
		FROM pg_stat_user_tables WHERE schemaname = current_schema()`)
	if err != nil {
		b.Fatalf("pg_stat_user_tables: %v", err)
	}
	defer rows.Close()
	out, tables := make([]int64, 3), map[string]int64{}
	for rows.Next() {
		var name string
		var scans, written int64
		if err := rows.Scan(&name, &scans, &written); err != nil {
			b.Fatal(err)
		}
		out[0] += scans
		out[1] += written
		if name == "rm_sessions" || name == "rm_users" {
			out[2] += scans
		}
		tables["scan "+name], tables["write "+name] = scans, written
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	return out, tables
}

// queryWindows measures the database work over windows of the same length:
// no load, anonymous load, authenticated load (after the rounds above, so
// the caches are warm).
func (ib *identityBench) queryWindows(dbURL string) {
	b := ib.b
	c := newDBCounters(b, ib.d, dbURL)
	judge := ib.judgeGraphQL()
	me := func(i int) *http.Request {
		return identityRequest(ib.base, "/api/auth/me", ib.tokens[i%len(ib.tokens)], nil)
	}
	judgeMe := func(code int, body []byte) verdict {
		if code == http.StatusOK && bytes.Contains(body, []byte(`"email":"user`)) {
			return answerOK
		}
		return answerBad
	}
	windows := []struct {
		name  string
		req   func(int) *http.Request // nil: no load
		judge func(int, []byte) verdict
	}{
		{"no load", nil, nil},
		{"anonymous", ib.graphQLTarget(false), judge},
		{"authenticated", ib.graphQLTarget(true), judge},
		// The control: GET /api/auth/me reads the user from rm_users on
		// every request, which the counters must see.
		{"control, authenticated GET /api/auth/me", me, judgeMe},
	}
	time.Sleep(c.settle)
	before, tablesBefore := c.snapshot(b)
	var idle []int64
	for _, w := range windows {
		loads0, misses0, _ := principalCounters(ib.s.a.registry)
		requests := 0
		if w.req == nil {
			time.Sleep(ib.window)
		} else {
			r := identityLoad(ib.client, frontDoorClients, ib.window, w.req, w.judge)
			if r.errors > 0 {
				b.Fatalf("%s window: %d errors, first: %s", w.name, r.errors, r.firstErr)
			}
			requests = r.requests
		}
		loads1, misses1, _ := principalCounters(ib.s.a.registry)
		time.Sleep(c.settle)
		after, tablesAfter := c.snapshot(b)
		delta := make([]int64, len(after))
		var parts []string
		for i := range after {
			delta[i] = after[i] - before[i]
			parts = append(parts, fmt.Sprintf("%d %s", delta[i], c.names[i]))
		}
		before = after
		line := fmt.Sprintf("database work, %v window + %v settle, %s: %s; principal cache %.0f misses, %.0f loads",
			ib.window, c.settle, w.name, strings.Join(parts, ", "), misses1-misses0, loads1-loads0)
		line += " (by table: " + tableDelta(tablesBefore, tablesAfter) + ")"
		tablesBefore = tablesAfter
		if w.req == nil {
			idle = delta
		} else {
			extra := make([]string, len(delta))
			for i := range delta {
				extra[i] = fmt.Sprintf("%.4f %s", float64(delta[i]-idle[i])/float64(max(requests, 1)), c.names[i])
			}
			line += fmt.Sprintf("; %d requests; per request above no load: %s", requests, strings.Join(extra, ", "))
			switch {
			case w.name == "authenticated":
				b.ReportMetric(float64(delta[0]-idle[0])/float64(max(requests, 1)), "db-ops/auth-req")
				b.ReportMetric(float64(delta[2]), "principal-table-ops")
			case strings.HasPrefix(w.name, "control"):
				b.ReportMetric(float64(delta[2]-idle[2])/float64(max(requests, 1)), "control-principal-ops/req")
			}
		}
		ib.printf("%s", line)
	}
}

// procStatusKiB returns a "field: N kB" line of /proc/PID/status.
func procStatusKiB(pid int, field string) (int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			return strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in the status of process %d", field, pid)
}

// settledRSSKiB returns the process's VmRSS once it stopped falling, after
// at most about 5 s.
func settledRSSKiB(b *testing.B, pid int) int64 {
	last, err := procStatusKiB(pid, "VmRSS")
	if err != nil {
		b.Fatal(err)
	}
	for range 10 {
		time.Sleep(500 * time.Millisecond)
		now, err := procStatusKiB(pid, "VmRSS")
		if err != nil {
			b.Fatal(err)
		}
		if now >= last {
			return min(now, last)
		}
		last = now
	}
	return last
}

func mib(kib int64) float64 { return float64(kib) / 1024 }

// floodBinary runs the built binary (`rustok serve`, development defaults,
// rate limiting off) on the dialect's database and measures its memory
// while identityFlood sign-ins start at once, identityFloodWaves times.
func (ib *identityBench) floodBinary(bin string) {
	b := ib.b
	dir := b.TempDir()
	env := []string{
		"HOME=" + os.Getenv("HOME"), "PATH=" + os.Getenv("PATH"),
		"RUSTOK_SERVER__PORT=0",
		"RUSTOK_LOGGER__LEVEL=error",
		"RUSTOK_SETTINGS__RUSTOK__RATE_LIMIT__ENABLED=false",
	}
	if ib.d == database.Postgres {
		// A schema of its own, not the one of the server in process.
		env = append(env, "RUSTOK_DATABASE__URL="+dbtest.URL(b, ib.d))
	}
	proc := startProcess(b, bin, dir, env, "serve")
	var api *url.URL
	proc.waitFor(b, "the addresses on stdout", 2*time.Minute, func() bool {
		u, err := url.Parse(bannerLines(proc.stdout.String())["GraphQL API"])
		api = u
		return err == nil && u.Host != ""
	})
	base := "http://" + api.Host
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		MaxIdleConns: 2 * identityFlood, MaxIdleConnsPerHost: 2 * identityFlood, IdleConnTimeout: time.Minute,
	}}
	defer client.CloseIdleConnections()
	if r := runBinary(b, bin, dir, env, "tenants", "create", "--slug", frontDoorSlug, "--name", "Tenant "+frontDoorSlug); r.code != 0 {
		b.Fatalf("tenants create: exit %d: %s", r.code, r.stderr)
	}
	proc.waitFor(b, "the tenant on the server", time.Minute, func() bool {
		slug, _ := currentTenantSlug(client, base+"/api/graphql", frontDoorSlug)
		return slug == frontDoorSlug
	})
	pid := proc.cmd.Process.Pid
	ready := settledRSSKiB(b, pid) // no hash made yet
	for i := range identityUsers {
		body := fmt.Sprintf(`{"email":%q,"password":%q}`, identityEmail(i), identityPassword)
		if code, raw, err := send(client, identityRequest(base, "/api/auth/register", "", []byte(body))); err != nil || code != http.StatusCreated {
			b.Fatalf("binary: register user %d: %d %s %v", i, code, raw, err)
		}
	}
	for i := range 2 * identityUsers { // warm-up, one at a time
		if code, raw, err := send(client, identityRequest(base, "/api/auth/login", "", loginBody(i%identityUsers))); err != nil || code != http.StatusOK {
			b.Fatalf("binary: sign-in: %d %s %v", code, raw, err)
		}
	}
	before := settledRSSKiB(b, pid)
	hwmBefore, err := vmHWM(pid)
	if err != nil {
		b.Fatal(err)
	}
	var peak int64
	var ok, busy int
	for wave := range identityFloodWaves {
		start := settledRSSKiB(b, pid)
		var wavePeak atomic.Int64
		stop, sampled := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(sampled)
			for {
				if kb, err := procStatusKiB(pid, "VmRSS"); err == nil && kb > wavePeak.Load() {
					wavePeak.Store(kb)
				}
				select {
				case <-stop:
					return
				case <-time.After(time.Millisecond):
				}
			}
		}()
		f := loginFlood(client, base, identityFlood)
		close(stop)
		<-sampled
		if f.other > 0 {
			b.Fatalf("binary flood %d: %d answers neither 200 nor busy, first: %s", wave+1, f.other, f.firstOther)
		}
		ok, busy = ok+f.ok, busy+f.busy
		peak = max(peak, wavePeak.Load())
		ib.printf("binary, flood %d of %d sign-ins at once: %d signed in, %d busy (429 RATE_LIMITED), in %.0f ms; VmRSS %.1f MiB before, peak %.1f MiB sampled (+%.1f MiB)",
			wave+1, identityFlood, f.ok, f.busy, benchMS(f.elapsed), mib(start), mib(wavePeak.Load()), mib(wavePeak.Load()-start))
	}
	hwmAfter, err := vmHWM(pid)
	if err != nil {
		b.Fatal(err)
	}
	after := settledRSSKiB(b, pid)
	bound := int64(hasherCap()) * int64(ib.params.MemoryKiB)
	ib.printf("binary, %d floods of %d sign-ins: %d signed in, %d busy; VmRSS %.1f MiB ready (no hash yet), settled before the floods %.1f MiB, highest sampled %.1f MiB (+%.1f MiB), settled after %.1f MiB; VmHWM %.1f MiB before the floods, %.1f MiB after; hashing bound cap × m = %d × %.1f MiB = %.1f MiB; growth/bound %.2f over the settled RSS before the floods, %.2f over the RSS at readiness",
		identityFloodWaves, identityFlood, ok, busy, mib(ready), mib(before), mib(peak), mib(peak-before), mib(after),
		mib(hwmBefore), mib(hwmAfter), hasherCap(), mib(int64(ib.params.MemoryKiB)), mib(bound),
		float64(max(peak, hwmAfter)-before)/float64(bound), float64(max(peak, hwmAfter)-ready)/float64(bound))
	b.ReportMetric(mib(ready), "rss-ready-MiB")
	b.ReportMetric(mib(before), "flood-rss-before-MiB")
	b.ReportMetric(mib(max(peak, hwmAfter)), "flood-rss-peak-MiB")
	b.ReportMetric(float64(max(peak, hwmAfter)-before)/float64(bound), "flood-growth/bound")
	b.ReportMetric(float64(max(peak, hwmAfter)-ready)/float64(bound), "peak-over-ready/bound")

	if err := proc.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		b.Fatal(err)
	}
	if code := proc.wait(b, time.Minute); code != 0 {
		b.Errorf("serve exit %d after SIGTERM: %s", code, tail(proc.stderr.String(), 20))
	}
}

// BenchmarkAuthRequestCPU is the server side of BenchmarkIdentity's
// authenticated and anonymous rounds without the network and the client:
// GraphQL `{ currentTenant { name } }`, with and without a valid Bearer
// token, handed to the echo instance in process, for the CPU time and the
// allocations of one request. (Its name does not match -bench Identity,
// whose -benchtime 1x would make it meaningless.) Run it with
//
//	go test -run '^$' -bench AuthRequestCPU -benchtime 2s -cpu 1 -count 6 ./cmd/rustok/
//
// and compare the smallest cpu-ns/op of each: interference on a shared
// machine only adds.
func BenchmarkAuthRequestCPU(b *testing.B) {
	if testing.Short() {
		b.Skip("identity benchmark: not under -short")
	}
	cfg := identityConfig(b, dbtest.URL(b, database.SQLite))
	s := startIdentityServer(b, cfg, &benchLogBuffer{})
	ib := &identityBench{b: b, s: s, base: "http://" + s.http.Addr().String(), client: &http.Client{Timeout: time.Minute}}
	ib.signUp()
	judge := ib.judgeGraphQL()
	h := s.http.Echo()
	for _, k := range []struct {
		name string
		auth bool
	}{{"anonymous", false}, {"authenticated", true}} {
		b.Run(k.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			cpu0 := processCPU(b)
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/api/graphql", strings.NewReader(frontDoorQuery))
				req.Header.Set(tenancy.DefaultHeaderName, frontDoorSlug)
				req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
				if k.auth {
					req.Header.Set(echo.HeaderAuthorization, "Bearer "+ib.tokens[i%len(ib.tokens)])
				}
				i++
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if judge(rec.Code, rec.Body.Bytes()) != answerOK {
					b.Fatalf("%d %s", rec.Code, rec.Body.Bytes())
				}
			}
			b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}
