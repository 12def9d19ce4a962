package httpserver

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/rustok/rustok/domain"
)

// MetricsEndpoint configures the Prometheus endpoint /metrics. The zero value
// serves it on the main listener to anyone.
type MetricsEndpoint struct {
	// Listen is "" to serve /metrics on the main listener, or "host:port" to
	// serve it on a listener of its own, which Start opens and closes with
	// the main one; the main listener then answers 404 for /metrics, and the
	// metrics listener answers 404 for everything else. Port 0 picks a free
	// port (see Server.MetricsAddr).
	Listen string
	// Token, when set, is required as "Authorization: Bearer <token>"; any
	// other request for /metrics is answered 401 with
	// `WWW-Authenticate: Bearer realm="metrics"`. The comparison takes the
	// same time whatever the token sent.
	Token string
}

// mountHealth mounts /health, /health/live, /health/ready, /health/modules
// and, when there is a Gatherer, /metrics (on the main listener or on the
// metrics listener, see MetricsEndpoint). None needs a tenant: they sit
// outside the /api group.
func (s *Server) mountHealth() {
	e := s.echo
	e.GET("/health", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"status": "ok", "version": s.deps.Version})
	})
	e.GET("/health/live", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	})
	e.GET("/health/ready", s.ready)
	e.GET("/health/modules", func(c echo.Context) error {
		modules := map[string]string{}
		if s.deps.Modules != nil {
			if m := s.deps.Modules.ModulesHealth(c.Request().Context()); m != nil {
				modules = m
			}
		}
		return c.JSON(http.StatusOK, modules)
	})
	if s.deps.Gatherer == nil {
		return
	}
	h := metricsHandler(promhttp.HandlerFor(s.deps.Gatherer, promhttp.HandlerOpts{
		ErrorLog:      promErrorLog{s},
		ErrorHandling: promhttp.ContinueOnError,
	}), s.cfg.Metrics.Token)
	if s.metricsEcho != nil {
		e = s.metricsEcho
	}
	e.GET("/metrics", h)
}

// metricsRealm is the realm of the bearer challenge of /metrics.
const metricsRealm = `Bearer realm="metrics"`

// metricsHandler serves h to requests that carry the bearer token, or to
// every request when token is "". It compares SHA-256 digests in constant
// time, so that neither the token's bytes nor its length show in the time
// of an answer.
func metricsHandler(h http.Handler, token string) echo.HandlerFunc {
	want := sha256.Sum256([]byte(token))
	return func(c echo.Context) error {
		if token != "" && !bearerMatches(c.Request().Header.Get(echo.HeaderAuthorization), want) {
			c.Response().Header().Set(echo.HeaderWWWAuthenticate, metricsRealm)
			return echo.NewHTTPError(http.StatusUnauthorized, "/metrics needs the configured bearer token")
		}
		h.ServeHTTP(c.Response(), c.Request())
		return nil
	}
}

// bearerMatches reports whether the Authorization header value holds a
// bearer token (the scheme in any case) whose SHA-256 digest is want.
func bearerMatches(authorization string, want [sha256.Size]byte) bool {
	scheme, token, ok := strings.Cut(authorization, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// readyBody is the answer of a ready process.
type readyBody struct {
	Status  string            `json:"status"`
	Details map[string]string `json:"details,omitempty"`
}

// ready answers 200 with the checks' details, or 503 problem+json with them
// when Ready fails. The error text is logged, not shown: it may name hosts.
func (s *Server) ready(c echo.Context) error {
	if s.deps.Ready == nil {
		return c.JSON(http.StatusOK, readyBody{Status: "ready"})
	}
	ctx := c.Request().Context()
	details, err := s.deps.Ready.Ready(ctx)
	if err == nil {
		return c.JSON(http.StatusOK, readyBody{Status: "ready", Details: details})
	}
	s.logger.WarnContext(ctx, "not ready", "request_id", RequestID(ctx), "error", err.Error())
	return writeProblem(c, Problem{
		Type:      "about:blank",
		Title:     http.StatusText(http.StatusServiceUnavailable),
		Status:    http.StatusServiceUnavailable,
		Detail:    "service is not ready",
		Code:      string(domain.CodeInternal),
		RequestID: RequestID(ctx),
		Details:   details,
	})
}

// promErrorLog sends promhttp's gathering errors to the server's logger.
type promErrorLog struct{ s *Server }

func (l promErrorLog) Println(v ...any) {
	l.s.logger.Error("gather metrics", "error", fmt.Sprint(v...))
}
