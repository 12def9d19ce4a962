package httpserver

import (
	"github.com/labstack/echo/v4"

	"github.com/rustok/rustok/domain"
)

// Count counts the request c once against l under scope, as Middleware
// does, for a request that costs a budget after the fact (a refused
// credential counts against the client's auth budget). It returns the
// RATE_LIMITED error to answer once the budget is spent, with the
// rate-limit headers and Retry-After set, or nil. A failing limiter counts
// nothing (fail open, as Middleware). A key that returns "" counts nothing.
func (r *RateLimits) Count(c echo.Context, scope string, l Limiter, key RateLimitKey) error {
	k := key(c)
	if k == "" {
		return nil
	}
	ctx := c.Request().Context()
	d, err := l.Allow(ctx, k)
	if err != nil {
		r.failed.WithLabelValues(scope).Inc()
		r.logger.WarnContext(ctx, "rate limiter failed: request not counted", "scope", scope, "error", err.Error(), "request_id", RequestID(ctx))
		return nil
	}
	if d.Allowed {
		return nil
	}
	showDecision(c.Response().Header(), d)
	r.limited.WithLabelValues(scope).Inc()
	return domain.RateLimited("too many requests (%s rate limit): retry in %d s", scope, ceilSeconds(d.RetryAfter))
}
