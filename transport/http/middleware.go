package httpserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// cspAPI is the Content-Security-Policy of API responses. A handler serving
// an HTML page (GraphiQL) replaces it for that response only.
const cspAPI = "default-src 'none'; frame-ancestors 'none'"

// loggerKey stores the server's logger in the echo context for WriteProblem.
const loggerKey = "httpserver.logger"

// requestIDMiddleware keeps a valid incoming X-Request-ID or makes a UUIDv7,
// sets it on the response and in the request context.
func requestIDMiddleware(logger *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			id := req.Header.Get(HeaderRequestID)
			if !validRequestID(id) {
				id = newRequestID()
			}
			c.Response().Header().Set(HeaderRequestID, id)
			c.SetRequest(req.WithContext(WithRequestID(req.Context(), id)))
			c.Set(loggerKey, logger)
			return next(c)
		}
	}
}

// observeMiddleware writes the access log line and the HTTP metrics. It
// commits errors through the error handler itself so that it sees the final
// status.
//
// Every field it takes from the request is bounded, whatever the client
// sends: the method is a standard method or OTHER (methodLabel), the route
// is a registered pattern or "unmatched" (routeLabel), the request id was
// validated by requestIDMiddleware (at most 64 safe characters), and the
// tenant id is one that tenant resolution found. The raw path, query, user
// agent and headers are never logged.
func observeMiddleware(logger *slog.Logger, m *metrics, tenantID func(context.Context) string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			elapsed := time.Since(start)

			route := routeLabel(c, err)
			method := methodLabel(c.Request().Method)
			status := c.Response().Status
			m.observe(method, route, status, elapsed)

			ctx := c.Request().Context()
			attrs := []slog.Attr{
				slog.String("method", method),
				slog.String("route", route),
				slog.Int("status", status),
				slog.Duration("duration", elapsed),
				slog.String("request_id", RequestID(ctx)),
			}
			if tenantID != nil {
				if t := tenantID(ctx); t != "" {
					attrs = append(attrs, slog.String("tenant_id", t))
				}
			}
			// Probes and scrapes arrive every few seconds: keep them out of
			// the default log level.
			level := slog.LevelInfo
			if strings.HasPrefix(route, "/health") || route == "/metrics" {
				level = slog.LevelDebug
			}
			logger.LogAttrs(ctx, level, "http request", attrs...)
			return nil
		}
	}
}

// routeLabel is the route template, bounded to the registered routes, or
// "unmatched" when no route matched.
func routeLabel(c echo.Context, err error) string {
	// echo routes unknown paths to NotFoundHandler, which returns exactly
	// echo.ErrNotFound; group catch-alls (/api/*) do the same.
	if p := c.Path(); p != "" && err != echo.ErrNotFound {
		return p
	}
	return "unmatched"
}

// panicError is a recovered panic, answered as INTERNAL and logged with its stack.
type panicError struct {
	value any
	stack []byte
}

func (e *panicError) Error() string { return fmt.Sprintf("panic: %v", e.value) }

// Unwrap returns the panic value when it is an error.
func (e *panicError) Unwrap() error {
	err, _ := e.value.(error)
	return err
}

// recoverMiddleware turns a handler panic into an INTERNAL error. The
// http.ErrAbortHandler sentinel is re-panicked: net/http uses it to abort a
// response on purpose.
func recoverMiddleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) (err error) {
			defer func() {
				r := recover()
				if r == nil {
					return
				}
				if r == http.ErrAbortHandler {
					panic(r)
				}
				err = &panicError{value: r, stack: debug.Stack()}
			}()
			return next(c)
		}
	}
}

// securityHeadersMiddleware sets the security headers before the handler
// runs, so they are on every answer, errors and panics included.
func securityHeadersMiddleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Response().Header()
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("X-Frame-Options", "DENY")
			h.Set("Referrer-Policy", "no-referrer")
			h.Set("Content-Security-Policy", cspAPI)
			// Answers are per request (tenant, caller, read-your-writes):
			// no shared cache may keep them unless a handler says so.
			h.Set("Cache-Control", "no-store")
			return next(c)
		}
	}
}

// bodyLimitMiddleware refuses bodies over limit bytes: at once when
// Content-Length says so, else when the handler reads past the limit (the
// read fails with *http.MaxBytesError, answered as 413).
func bodyLimitMiddleware(limit int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if req.ContentLength > limit {
				return &http.MaxBytesError{Limit: limit}
			}
			if req.Body != nil && req.Body != http.NoBody {
				req.Body = http.MaxBytesReader(c.Response(), req.Body, limit)
			}
			return next(c)
		}
	}
}

// bodyTooLarge reports whether err is a body-limit failure, and the limit.
func bodyTooLarge(err error) (limit int64, ok bool) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return mbe.Limit, true
	}
	return 0, false
}

// Vary returns middleware that adds headers to the Vary header of every
// answer: the tenant header on /api, so that no cache serves one tenant's
// answer to another.
func Vary(headers ...string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			for _, h := range headers {
				c.Response().Header().Add(echo.HeaderVary, h)
			}
			return next(c)
		}
	}
}
