package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Defaults of RedisConfig.
const (
	// DefaultRedisPrefix starts every key a Redis limiter writes.
	DefaultRedisPrefix = "rustok:ratelimit:"
	// DefaultRedisTimeout bounds one decision, retries included.
	DefaultRedisTimeout = 100 * time.Millisecond
	// DefaultRedisCooldown is how long a limiter leaves Redis alone after
	// it failed.
	DefaultRedisCooldown = time.Second
)

// ErrUnavailable is the error of Redis.Allow while it leaves a failed Redis
// alone (RedisConfig.Cooldown).
var ErrUnavailable = errors.New("redis rate limit: redis unavailable, retrying later")

// gcraScript is gcra in Lua, run atomically by Redis. KEYS[1] is the bucket,
// holding its TAT in microseconds since the Unix epoch (below 2^53, exact in
// Lua's doubles); ARGV are now (µs; negative: read Redis's clock), the
// interval (µs) and the burst. It answers {allowed (0|1), remaining, retry
// after (µs), reset (µs)}. An allowed request stores the new TAT with an
// expiry at the moment the bucket is full again (a missing key is a full
// bucket); a refused one writes nothing.
//
// Keep it in step with gcra.
const gcraScript = `
local now = tonumber(ARGV[1])
if now < 0 then
  if redis.replicate_commands then redis.replicate_commands() end
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local interval = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - interval * burst
if now < allow_at then
  return {0, 0, allow_at - now, tat - now}
end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000))
return {1, math.floor((now - allow_at) / interval), 0, new_tat - now}
`

// RedisConfig configures a Redis limiter.
type RedisConfig struct {
	// Rate is the budget of every key.
	Rate Rate
	// Prefix starts every Redis key; default DefaultRedisPrefix. Limiters
	// with different rates sharing one Redis need different prefixes
	// ("rustok:ratelimit:ip:").
	Prefix string
	// Now is the clock of the buckets, for tests; default Redis's own clock
	// (TIME), which every instance shares and which never goes back between
	// two scripts, so that concurrent requests are decided in one order of
	// time. It is also the clock of Cooldown (default time.Now).
	Now func() time.Time
	// Timeout bounds one decision, go-redis's dial and retries included;
	// default DefaultRedisTimeout. (A read that hangs is bounded by the
	// client's read timeout, which the Redis URL sets: ?read_timeout=.)
	Timeout time.Duration
	// Cooldown is how long, after a failure, Allow answers ErrUnavailable
	// at once instead of asking Redis, so that a Redis that is down costs
	// one timeout per Cooldown, not one per request; default
	// DefaultRedisCooldown.
	Cooldown time.Duration
}

// Redis is a Limiter whose buckets live in Redis, shared by every process
// that uses the same Redis and prefix. Each decision is one round trip (one
// Lua script, EVALSHA). It is safe for concurrent use.
type Redis struct {
	client   redis.Scripter
	script   *redis.Script
	rate     Rate
	interval int64 // microseconds
	prefix   string
	now      func() time.Time // nil: Redis's clock
	clock    func() time.Time
	timeout  time.Duration
	cooldown time.Duration
	// downUntil is the clock reading (Unix nanoseconds) before which Allow
	// does not ask Redis: the last failure plus cooldown.
	downUntil atomic.Int64
}

// NewRedis returns a limiter that keeps its buckets in Redis through client
// (a *redis.Client, say). It returns an error when cfg.Rate is invalid or
// client nil; it does not contact Redis.
func NewRedis(client redis.Scripter, cfg RedisConfig) (*Redis, error) {
	if err := cfg.Rate.Validate(); err != nil {
		return nil, err
	}
	if client == nil {
		return nil, errors.New("rate limit: nil redis client")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultRedisPrefix
	}
	clock := cfg.Now
	if clock == nil {
		clock = time.Now
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultRedisTimeout
	}
	if cfg.Cooldown <= 0 {
		cfg.Cooldown = DefaultRedisCooldown
	}
	return &Redis{
		client:   client,
		script:   redis.NewScript(gcraScript),
		rate:     cfg.Rate,
		interval: cfg.Rate.interval(time.Microsecond),
		prefix:   cfg.Prefix,
		now:      cfg.Now,
		clock:    clock,
		timeout:  cfg.Timeout,
		cooldown: cfg.Cooldown,
	}, nil
}

// Allow counts one request under key and returns the decision; a refused
// request is not counted. It returns an error, and a zero Decision, when
// Redis does not answer within Timeout or answers something unexpected, and
// then ErrUnavailable for Cooldown without asking Redis: the caller decides
// whether to let the request through (RusToK's middleware does).
func (r *Redis) Allow(ctx context.Context, key string) (Decision, error) {
	now := r.clock()
	if now.UnixNano() < r.downUntil.Load() {
		return Decision{}, ErrUnavailable
	}
	at := int64(-1) // Redis's clock
	if r.now != nil {
		at = now.UnixMicro()
	}
	tctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	res, err := r.script.Run(tctx, r.client, []string{r.prefix + key}, at, r.interval, r.rate.Burst).Int64Slice()
	if err == nil && len(res) != 4 {
		err = fmt.Errorf("script answered %d values, want 4", len(res))
	}
	if err != nil {
		// A caller that went away says nothing about Redis.
		if ctx.Err() == nil {
			r.downUntil.Store(now.Add(r.cooldown).UnixNano())
		}
		return Decision{}, fmt.Errorf("redis rate limit: %w", err)
	}
	return Decision{
		Allowed:    res[0] == 1,
		Limit:      r.rate.Burst,
		Remaining:  int(res[1]),
		RetryAfter: time.Duration(res[2]) * time.Microsecond,
		Reset:      time.Duration(res[3]) * time.Microsecond,
	}, nil
}
