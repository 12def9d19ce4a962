package httpserver

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rustok/rustok/domain"
	metricsreg "github.com/rustok/rustok/platform/metrics"
	"github.com/rustok/rustok/platform/ratelimit"
)

// The rate-limit headers. X-RateLimit-* are on every answer a budget counted,
// allowed or refused; Retry-After on refusals only.
const (
	HeaderRateLimitLimit     = "X-RateLimit-Limit"
	HeaderRateLimitRemaining = "X-RateLimit-Remaining"
	HeaderRateLimitReset     = "X-RateLimit-Reset"
	HeaderRetryAfter         = "Retry-After"
)

// Rate-limit scopes: the budgets a request is counted against, and the values
// of the scope label of rustok_rate_limited_total.
const (
	// RateLimitScopeIP is the budget of each client IP
	// (settings.rustok.rate_limit.requests_per_minute, burst).
	RateLimitScopeIP = "ip"
	// RateLimitScopeTenant is the budget of each tenant, whatever the IPs
	// (settings.rustok.rate_limit.tenant_requests_per_minute, tenant_burst).
	RateLimitScopeTenant = "tenant"
	// RateLimitScopeAuth is the stricter per-IP budget of sign-in, sign-up
	// and password reset (settings.rustok.rate_limit.auth_*), for the
	// routes of the identity module.
	RateLimitScopeAuth = "auth"
)

// The rate-limit headers in net/http's canonical form, for direct access to
// the header map (no canonicalization per request).
const (
	canonRateLimitLimit     = "X-Ratelimit-Limit"
	canonRateLimitRemaining = "X-Ratelimit-Remaining"
	canonRateLimitReset     = "X-Ratelimit-Reset"
)

// rateLimitWarnEvery bounds how often a failing limiter is logged, per scope.
const rateLimitWarnEvery = 10 * time.Second

// Limiter decides whether one more request under a key fits a budget;
// *ratelimit.Memory and *ratelimit.Redis implement it. It must be safe for
// concurrent use.
type Limiter interface {
	Allow(ctx context.Context, key string) (ratelimit.Decision, error)
}

// RateLimitKey returns the key under which a budget counts the request, or ""
// when the budget does not count it.
type RateLimitKey func(c echo.Context) string

// ClientIPKey counts each client IP (ClientIP with trusted) under its own
// key, and each IPv6 /64 network as one client: one host usually holds a
// whole /64, and would otherwise have 2^64 budgets.
func ClientIPKey(trusted []netip.Prefix) RateLimitKey {
	return func(c echo.Context) string {
		addr := ClientIP(c.Request(), trusted)
		switch {
		case !addr.IsValid():
			return "unknown"
		case addr.Is6():
			p, _ := addr.Prefix(64) // cannot fail: 64 bits of an IPv6 address
			return p.String()
		default:
			return addr.String()
		}
	}
}

// TenantKey counts each tenant under its id (tenantID reads it from the
// request context: it is there after tenant resolution); a request without a
// tenant is not counted.
func TenantKey(tenantID func(ctx context.Context) string) RateLimitKey {
	return func(c echo.Context) string { return tenantID(c.Request().Context()) }
}

// Except returns a key that does not count the requests of the given routes
// (patterns as mounted, matched against the routed pattern, never the raw
// path): an exact pattern, or every pattern under a prefix ending in "/"
// ("/health/", "/api/graphql/assets/").
func (k RateLimitKey) Except(routes ...string) RateLimitKey {
	return func(c echo.Context) string {
		p := c.Path()
		for _, r := range routes {
			if p == r || strings.HasSuffix(r, "/") && strings.HasPrefix(p, r) {
				return ""
			}
		}
		return k(c)
	}
}

// RateLimits makes the rate-limit middleware of each budget, counts the
// requests they refuse and logs the failures of their limiters. It is safe
// for concurrent use.
type RateLimits struct {
	logger  *slog.Logger
	limited *prometheus.CounterVec
	failed  *prometheus.CounterVec
	now     func() time.Time
}

// NewRateLimits returns a RateLimits that logs to logger (nil discards) and
// registers rustok_rate_limited_total{scope} and
// rustok_rate_limit_errors_total{scope} on reg (nil registers nothing). It
// returns an error when a metric cannot be registered.
func NewRateLimits(logger *slog.Logger, reg prometheus.Registerer) (*RateLimits, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	r := &RateLimits{
		logger: logger,
		limited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rustok_rate_limited_total",
			Help: "Requests refused with 429 by a rate limit, by budget (ip, tenant, auth).",
		}, []string{"scope"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rustok_rate_limit_errors_total",
			Help: "Requests let through unchecked because the rate limiter failed (Redis unavailable), by budget.",
		}, []string{"scope"}),
		now: time.Now,
	}
	if reg == nil {
		return r, nil
	}
	var err error
	if r.limited, err = metricsreg.Register(reg, r.limited); err != nil {
		return nil, err
	}
	if r.failed, err = metricsreg.Register(reg, r.failed); err != nil {
		return nil, err
	}
	return r, nil
}

// Middleware returns the middleware that counts every request for which key
// returns a key against l, under scope. An allowed request goes on with the
// X-RateLimit-Limit, -Remaining and -Reset headers (of the budget with the
// fewest remaining requests, when several count it). A refused one is
// answered through the server's error handler as RATE_LIMITED (429) with
// those headers and Retry-After, and counted in
// rustok_rate_limited_total{scope}. When l fails, the request goes on
// unchecked (fail open: a rate limiter must not take the API down with it),
// counted in rustok_rate_limit_errors_total{scope} and logged as a warning at
// most every 10 s.
//
// Seconds in the headers are whole, rounded up; X-RateLimit-Reset is the
// number of seconds until the budget is full again.
func (r *RateLimits) Middleware(scope string, l Limiter, key RateLimitKey) echo.MiddlewareFunc {
	limited := r.limited.WithLabelValues(scope)
	failed := r.failed.WithLabelValues(scope)
	warn := &failureLog{every: rateLimitWarnEvery}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			k := key(c)
			if k == "" {
				return next(c)
			}
			ctx := c.Request().Context()
			d, err := l.Allow(ctx, k)
			if err != nil {
				failed.Inc()
				warn.log(ctx, r.logger, r.now(), scope, err)
				return next(c)
			}
			showDecision(c.Response().Header(), d)
			if !d.Allowed {
				limited.Inc()
				return domain.RateLimited("too many requests (%s rate limit): retry in %d s", scope, ceilSeconds(d.RetryAfter))
			}
			return next(c)
		}
	}
}

// showDecision puts d in the rate-limit headers h, unless an earlier budget
// of the same request, with fewer remaining requests, is shown already. A
// refusal always shows.
func showDecision(h http.Header, d ratelimit.Decision) {
	if prev := h[canonRateLimitRemaining]; d.Allowed && len(prev) == 1 {
		if n, err := strconv.Atoi(prev[0]); err == nil && n <= d.Remaining {
			return
		}
	}
	// One allocation for the values of all four headers.
	v := new([4]string)
	v[0] = strconv.Itoa(d.Limit)
	v[1] = strconv.Itoa(d.Remaining)
	v[2] = strconv.FormatInt(ceilSeconds(d.Reset), 10)
	h[canonRateLimitLimit] = v[0:1:1]
	h[canonRateLimitRemaining] = v[1:2:2]
	h[canonRateLimitReset] = v[2:3:3]
	if !d.Allowed {
		v[3] = strconv.FormatInt(max(ceilSeconds(d.RetryAfter), 1), 10)
		h[HeaderRetryAfter] = v[3:4:4]
	}
}

// ceilSeconds returns d in whole seconds, rounded up.
func ceilSeconds(d time.Duration) int64 {
	return int64((d + time.Second - 1) / time.Second)
}

// failureLog logs a failing limiter at most once per every, with the number
// of failures not logged since.
type failureLog struct {
	every      time.Duration
	mu         sync.Mutex
	next       time.Time
	suppressed int
}

func (f *failureLog) log(ctx context.Context, logger *slog.Logger, now time.Time, scope string, err error) {
	f.mu.Lock()
	if now.Before(f.next) {
		f.suppressed++
		f.mu.Unlock()
		return
	}
	n := f.suppressed
	f.next, f.suppressed = now.Add(f.every), 0
	f.mu.Unlock()
	logger.WarnContext(ctx, "rate limiter failed: requests go through unchecked",
		"scope", scope, "error", err.Error(), "unlogged_failures", n, "request_id", RequestID(ctx))
}
