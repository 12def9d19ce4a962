package httpserver

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/rustok/rustok/domain"
)

// mountHealth mounts /health, /health/live, /health/ready, /health/modules
// and /metrics. None needs a tenant: they sit outside the /api group.
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
	if s.deps.Gatherer != nil {
		h := promhttp.HandlerFor(s.deps.Gatherer, promhttp.HandlerOpts{
			ErrorLog:      promErrorLog{s},
			ErrorHandling: promhttp.ContinueOnError,
		})
		e.GET("/metrics", echo.WrapHandler(h))
	}
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
