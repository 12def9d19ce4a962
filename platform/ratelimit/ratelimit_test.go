package ratelimit_test

import (
	"context"
	"crypto/rand"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rustok/rustok/platform/ratelimit"
)

// limiter is what both implementations provide.
type limiter interface {
	Allow(ctx context.Context, key string) (ratelimit.Decision, error)
}

var (
	_ limiter = (*ratelimit.Memory)(nil)
	_ limiter = (*ratelimit.Redis)(nil)
)

// newLimiter makes an empty limiter of one implementation for rate, reading
// clock.
type newLimiter func(tb testing.TB, rate ratelimit.Rate, clock *fakeClock) limiter

// implementations are the limiters every contract test runs against; the
// Redis one skips without RUSTOK_TEST_REDIS_URL.
func implementations() []struct {
	name string
	new  newLimiter
} {
	return []struct {
		name string
		new  newLimiter
	}{
		{"memory", func(tb testing.TB, rate ratelimit.Rate, clock *fakeClock) limiter {
			tb.Helper()
			m, err := ratelimit.NewMemory(ratelimit.MemoryConfig{Rate: rate, Now: clock.Now})
			if err != nil {
				tb.Fatal(err)
			}
			return m
		}},
		{"redis", func(tb testing.TB, rate ratelimit.Rate, clock *fakeClock) limiter {
			tb.Helper()
			r, err := ratelimit.NewRedis(mustRedis(tb), ratelimit.RedisConfig{Rate: rate, Prefix: uniquePrefix(tb), Now: clock.Now, Timeout: contractTimeout})
			if err != nil {
				tb.Fatal(err)
			}
			return r
		}},
	}
}

// fakeClock is a clock that moves only when told. It starts at the real
// time: Redis expires keys by its own clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// mustRedis connects to RUSTOK_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/0)
// or skips the test.
func mustRedis(tb testing.TB) *redis.Client {
	tb.Helper()
	url := os.Getenv("RUSTOK_TEST_REDIS_URL")
	if url == "" {
		tb.Skip("RUSTOK_TEST_REDIS_URL is not set: skipping the Redis rate limiter")
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		tb.Fatalf("parse RUSTOK_TEST_REDIS_URL: %v", err)
	}
	client := redis.NewClient(opts)
	tb.Cleanup(func() { _ = client.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		tb.Fatalf("ping Redis at RUSTOK_TEST_REDIS_URL: %v", err)
	}
	return client
}

// uniquePrefix keeps each test's Redis keys apart from every other run's.
func uniquePrefix(tb testing.TB) string {
	tb.Helper()
	return "rustok:test:ratelimit:" + rand.Text() + ":"
}

// step is one request of a contract case: after advancing the clock by
// advance, a request under key gets want.
type step struct {
	advance time.Duration
	key     string
	want    ratelimit.Decision
}

func allowed(remaining int, reset time.Duration) ratelimit.Decision {
	return ratelimit.Decision{Allowed: true, Limit: 3, Remaining: remaining, Reset: reset}
}

func refused(retryAfter, reset time.Duration) ratelimit.Decision {
	return ratelimit.Decision{Limit: 3, RetryAfter: retryAfter, Reset: reset}
}

// TestLimiterContract runs the same table against every implementation: a
// bucket of 3 refilled at 60 a minute (one a second).
func TestLimiterContract(t *testing.T) {
	rate := ratelimit.Rate{PerMinute: 60, Burst: 3}
	tests := []struct {
		name  string
		steps []step
	}{
		{
			name: "a burst is allowed, then refused until one refill",
			steps: []step{
				{0, "a", allowed(2, time.Second)},
				{0, "a", allowed(1, 2*time.Second)},
				{0, "a", allowed(0, 3*time.Second)},
				{0, "a", refused(time.Second, 3*time.Second)},
				{0, "a", refused(time.Second, 3*time.Second)},
			},
		},
		{
			name: "retry after is the time to the next refill",
			steps: []step{
				{0, "a", allowed(2, time.Second)},
				{0, "a", allowed(1, 2*time.Second)},
				{0, "a", allowed(0, 3*time.Second)},
				{400 * time.Millisecond, "a", refused(600*time.Millisecond, 2600*time.Millisecond)},
				{599 * time.Millisecond, "a", refused(time.Millisecond, 2001*time.Millisecond)},
				{time.Millisecond, "a", allowed(0, 3*time.Second)},
			},
		},
		{
			name: "the bucket refills at the rate",
			steps: []step{
				{0, "a", allowed(2, time.Second)},
				{0, "a", allowed(1, 2*time.Second)},
				{0, "a", allowed(0, 3*time.Second)},
				{2 * time.Second, "a", allowed(1, 2*time.Second)},
				{0, "a", allowed(0, 3*time.Second)},
				{0, "a", refused(time.Second, 3*time.Second)},
				{1500 * time.Millisecond, "a", allowed(0, 2500*time.Millisecond)},
			},
		},
		{
			name: "a full bucket holds no more than the burst",
			steps: []step{
				{0, "a", allowed(2, time.Second)},
				{time.Hour, "a", allowed(2, time.Second)},
				{0, "a", allowed(1, 2*time.Second)},
				{0, "a", allowed(0, 3*time.Second)},
				{0, "a", refused(time.Second, 3*time.Second)},
			},
		},
		{
			name: "keys have independent buckets",
			steps: []step{
				{0, "a", allowed(2, time.Second)},
				{0, "a", allowed(1, 2*time.Second)},
				{0, "a", allowed(0, 3*time.Second)},
				{0, "a", refused(time.Second, 3*time.Second)},
				{0, "b", allowed(2, time.Second)},
				{0, "a", refused(time.Second, 3*time.Second)},
				{0, "b", allowed(1, 2*time.Second)},
			},
		},
	}
	for _, impl := range implementations() {
		t.Run(impl.name, func(t *testing.T) {
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					clock := newFakeClock()
					l := impl.new(t, rate, clock)
					for i, s := range tc.steps {
						clock.Advance(s.advance)
						got, err := l.Allow(context.Background(), s.key)
						if err != nil {
							t.Fatalf("step %d: %v", i+1, err)
						}
						if got != s.want {
							t.Fatalf("step %d (%s after %v): got %+v, want %+v", i+1, s.key, s.advance, got, s.want)
						}
					}
				})
			}
		})
	}
}

// TestLimiterConcurrentCallers: many goroutines asking at the same instant
// for a few keys get exactly the burst of each key, no more, no less.
func TestLimiterConcurrentCallers(t *testing.T) {
	const (
		burst      = 50
		keys       = 4
		goroutines = 16
		perG       = 40 // 16×40 = 640 requests per key, far over the burst
	)
	for _, impl := range implementations() {
		t.Run(impl.name, func(t *testing.T) {
			clock := newFakeClock()
			l := impl.new(t, ratelimit.Rate{PerMinute: 1, Burst: burst}, clock)
			var granted [keys]atomic.Int64
			var wg sync.WaitGroup
			for g := range goroutines {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range perG * keys {
						k := (g + i) % keys
						d, err := l.Allow(context.Background(), string(rune('a'+k)))
						if err != nil {
							t.Error(err)
							return
						}
						if d.Allowed {
							granted[k].Add(1)
						}
					}
				}()
			}
			wg.Wait()
			for k := range keys {
				if got := granted[k].Load(); got != burst {
					t.Errorf("key %c: %d requests allowed, want exactly the burst %d", 'a'+k, got, burst)
				}
			}
		})
	}
}

func TestRateValidate(t *testing.T) {
	tests := []struct {
		name    string
		rate    ratelimit.Rate
		wantErr bool
	}{
		{"smallest rate", ratelimit.Rate{PerMinute: 1, Burst: 1}, false},
		{"largest rate", ratelimit.Rate{PerMinute: ratelimit.MaxPerMinute, Burst: ratelimit.MaxBurst}, false},
		{"no rate", ratelimit.Rate{PerMinute: 0, Burst: 1}, true},
		{"rate under a microsecond", ratelimit.Rate{PerMinute: ratelimit.MaxPerMinute + 1, Burst: 1}, true},
		{"no burst", ratelimit.Rate{PerMinute: 1, Burst: 0}, true},
		{"burst too large", ratelimit.Rate{PerMinute: 1, Burst: ratelimit.MaxBurst + 1}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.rate.Validate()
			if (err != nil) != tc.wantErr {
				t.Fatalf("Validate() = %v, want error %v", err, tc.wantErr)
			}
			_, merr := ratelimit.NewMemory(ratelimit.MemoryConfig{Rate: tc.rate})
			_, rerr := ratelimit.NewRedis(redis.NewClient(&redis.Options{}), ratelimit.RedisConfig{Rate: tc.rate})
			if (merr != nil) != tc.wantErr || (rerr != nil) != tc.wantErr {
				t.Fatalf("NewMemory: %v, NewRedis: %v; want error %v", merr, rerr, tc.wantErr)
			}
		})
	}
}

// TestRedisUnreachable: a Redis that does not answer is an error within
// the timeout (the middleware fails open on it), never a decision; for the
// cooldown after it, Allow answers ErrUnavailable at once without asking.
func TestRedisUnreachable(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { _ = client.Close() })
	clock := newFakeClock()
	const timeout = 50 * time.Millisecond
	l, err := ratelimit.NewRedis(client, ratelimit.RedisConfig{
		Rate: ratelimit.Rate{PerMinute: 60, Burst: 3}, Now: clock.Now, Timeout: timeout, Cooldown: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name            string
		advance         time.Duration
		wantUnavailable bool
		within          time.Duration
	}{
		{"the first failure is an error within the timeout", 0, false, timeout + 200*time.Millisecond},
		{"during the cooldown Redis is not asked", 500 * time.Millisecond, true, 5 * time.Millisecond},
		{"after the cooldown Redis is asked again", 600 * time.Millisecond, false, timeout + 200*time.Millisecond},
		{"which starts a new cooldown", 0, true, 5 * time.Millisecond},
	}
	for _, tc := range tests {
		clock.Advance(tc.advance)
		start := time.Now()
		d, err := l.Allow(context.Background(), "a")
		took := time.Since(start)
		if err == nil || d != (ratelimit.Decision{}) {
			t.Fatalf("%s: Allow = %+v, %v; want the zero Decision and an error", tc.name, d, err)
		}
		if errors.Is(err, ratelimit.ErrUnavailable) != tc.wantUnavailable {
			t.Fatalf("%s: error %v; want ErrUnavailable: %v", tc.name, err, tc.wantUnavailable)
		}
		if took > tc.within {
			t.Fatalf("%s: Allow took %v, want at most %v", tc.name, took, tc.within)
		}
	}
}

// TestRedisSharedAndExpiring: two limiters on one Redis and prefix (two
// instances) share each key's bucket, and a key expires when its bucket is
// full again, so Redis holds nothing for idle clients.
func TestRedisSharedAndExpiring(t *testing.T) {
	client := mustRedis(t)
	prefix := uniquePrefix(t)
	rate := ratelimit.Rate{PerMinute: 60, Burst: 3}
	clock := newFakeClock()
	var instances [2]*ratelimit.Redis
	for i := range instances {
		l, err := ratelimit.NewRedis(client, ratelimit.RedisConfig{Rate: rate, Prefix: prefix, Now: clock.Now, Timeout: contractTimeout})
		if err != nil {
			t.Fatal(err)
		}
		instances[i] = l
	}
	ctx := context.Background()
	for i := range 3 {
		if d, err := instances[i%2].Allow(ctx, "a"); err != nil || !d.Allowed {
			t.Fatalf("request %d: %+v, %v; want allowed", i+1, d, err)
		}
	}
	d, err := instances[1].Allow(ctx, "a")
	if err != nil || d.Allowed {
		t.Fatalf("fourth request, through the other instance: %+v, %v; want refused", d, err)
	}
	ttl, err := client.PTTL(ctx, prefix+"a").Result()
	if err != nil {
		t.Fatal(err)
	}
	if ttl <= 0 || ttl > d.Reset {
		t.Fatalf("key expires in %v, want within the time to a full bucket (%v)", ttl, d.Reset)
	}
}

// TestRedisServerClock: without an injected clock the script reads Redis's
// own clock, so that every instance decides by the same time; concurrent
// callers of one key then see the remaining requests count down, each once.
func TestRedisServerClock(t *testing.T) {
	client := mustRedis(t)
	const burst = 40
	l, err := ratelimit.NewRedis(client, ratelimit.RedisConfig{Rate: ratelimit.Rate{PerMinute: 1, Burst: burst}, Prefix: uniquePrefix(t), Timeout: contractTimeout})
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu        sync.Mutex
		remaining = map[int]int{}
		refused   int
		wg        sync.WaitGroup
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				d, err := l.Allow(context.Background(), "a")
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if d.Allowed {
					remaining[d.Remaining]++
				} else {
					refused++
					if d.RetryAfter <= 0 || d.RetryAfter > time.Minute || d.Reset > burst*time.Minute {
						t.Errorf("refusal %+v: want a retry within the one-minute interval", d)
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(remaining) != burst || refused != 80-burst {
		t.Fatalf("%d distinct remaining counts among the allowed, %d refused; want %d and %d", len(remaining), refused, burst, 80-burst)
	}
	for r, n := range remaining {
		if r < 0 || r >= burst || n != 1 {
			t.Fatalf("remaining %d seen %d times; want each of 0..%d once", r, n, burst-1)
		}
	}
}

// contractTimeout is the Redis decision timeout of the tests that check
// the limiter's arithmetic, not its failure mode: long enough that a loaded
// machine never makes them fail open (the default, 100 ms, did under load).
const contractTimeout = 10 * time.Second
