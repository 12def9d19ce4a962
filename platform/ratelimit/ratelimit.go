// Package ratelimit decides whether one more request under a key (a client
// IP, a tenant id) fits its budget: a token bucket of Rate.Burst requests,
// refilled at Rate.PerMinute.
//
// Two implementations share one algorithm, GCRA (the generic cell rate
// algorithm), which is a token bucket kept as a single number per key: the
// theoretical arrival time (TAT), the moment at which the bucket will be full
// again. A key whose TAT is in the past has a full bucket, so forgetting it
// changes nothing. Memory keeps the TATs of one process in a bounded map;
// Redis keeps them in Redis, shared by every instance, each update one atomic
// Lua script and each key expiring when its bucket is full.
package ratelimit

import (
	"fmt"
	"time"
)

// Bounds of a Rate. MaxPerMinute keeps the emission interval at one
// microsecond or more (the unit of the Redis script); MaxBurst keeps the
// bucket's span (interval × burst) far from overflowing.
const (
	MaxPerMinute = 60_000_000
	MaxBurst     = 1_000_000_000
)

// Rate is the budget of one key: Burst requests at once, then PerMinute
// requests a minute (one every minute/PerMinute).
type Rate struct {
	// PerMinute is the sustained rate, 1 to MaxPerMinute.
	PerMinute int
	// Burst is the size of the bucket: how many requests a key with a full
	// bucket may send at once, 1 to MaxBurst.
	Burst int
}

// Validate reports whether r is usable: both fields within their bounds.
func (r Rate) Validate() error {
	if r.PerMinute < 1 || r.PerMinute > MaxPerMinute {
		return fmt.Errorf("rate limit: requests per minute must be between 1 and %d, got %d", MaxPerMinute, r.PerMinute)
	}
	if r.Burst < 1 || r.Burst > MaxBurst {
		return fmt.Errorf("rate limit: burst must be between 1 and %d, got %d", MaxBurst, r.Burst)
	}
	return nil
}

// interval returns the time that refills one request, in units of unit.
func (r Rate) interval(unit time.Duration) int64 {
	return int64(time.Minute/unit) / int64(r.PerMinute)
}

// Decision is the answer to one request.
type Decision struct {
	// Allowed reports whether the request fits the budget; a refused
	// request used nothing.
	Allowed bool
	// Limit is the size of the bucket (Rate.Burst).
	Limit int
	// Remaining is how many more requests would be allowed right now.
	Remaining int
	// RetryAfter is how long to wait before the next request is allowed:
	// zero when Allowed.
	RetryAfter time.Duration
	// Reset is how long until the bucket is full again (Remaining back to
	// Limit) if no request comes meanwhile.
	Reset time.Duration
}

// gcra applies one request at now to a bucket whose theoretical arrival time
// is tat (any value at or before now meaning full), all in the same unit, and
// returns the decision and the bucket's new TAT (tat unchanged when refused).
// interval is the time that refills one request, unit its duration.
//
// The Redis script is the same computation: keep them in step.
func gcra(now, tat, interval int64, burst int, unit time.Duration) (Decision, int64) {
	tat = max(tat, now)
	newTAT := tat + interval
	allowAt := newTAT - interval*int64(burst)
	if now < allowAt {
		return Decision{
			Limit:      burst,
			RetryAfter: time.Duration(allowAt-now) * unit,
			Reset:      time.Duration(tat-now) * unit,
		}, tat
	}
	return Decision{
		Allowed:   true,
		Limit:     burst,
		Remaining: int((now - allowAt) / interval),
		Reset:     time.Duration(newTAT-now) * unit,
	}, newTAT
}
