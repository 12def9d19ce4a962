// Package httpserver is RusToK's HTTP front door: an echo server with the
// shared middleware chain (request id, access log and metrics, panic recovery,
// security headers, body limit), the one error-to-problem+json mapping, the
// health and metrics endpoints, and a graceful Start/stop bound to a context.
//
// Other transport packages mount their routes on Echo() or on the /api group
// returned by API(); tenant resolution is added to that group by the caller.
package httpserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultBodyLimit       int64         = 2 << 20 // 2 MiB
	DefaultReadTimeout     time.Duration = 30 * time.Second
	DefaultWriteTimeout    time.Duration = 30 * time.Second
	DefaultShutdownTimeout time.Duration = 10 * time.Second
)

// Config is the server's part of the configuration (server.* keys).
type Config struct {
	// Host is the interface to listen on; "" listens on all interfaces.
	Host string
	// Port is the TCP port; 0 picks a free port (see Server.Addr).
	Port int
	// BodyLimit is the largest request body accepted, in bytes; default 2 MiB.
	BodyLimit int64
	// ReadTimeout bounds reading a whole request (headers and body); default 30s.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing a response; default 30s. Streaming handlers
	// (SSE) must extend their own deadline with http.ResponseController.
	WriteTimeout time.Duration
	// ShutdownTimeout bounds the wait for in-flight requests when Start's
	// context is cancelled; default 10s.
	ShutdownTimeout time.Duration
	// CORS lets browser pages of other origins call the server; the zero
	// value allows none.
	CORS CORS
	// Metrics says where /metrics is served and whether it needs a token;
	// the zero value serves it on the main listener to anyone.
	Metrics MetricsEndpoint
}

func (c Config) withDefaults() Config {
	if c.BodyLimit <= 0 {
		c.BodyLimit = DefaultBodyLimit
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	return c
}

// Readiness reports whether the process can serve traffic (database reachable,
// relay running, relay lag under its threshold). A non-nil error means not
// ready; details are shown to the caller of /health/ready either way.
type Readiness interface {
	Ready(ctx context.Context) (details map[string]string, err error)
}

// ModuleHealth reports a health word per module for /health/modules.
type ModuleHealth interface {
	ModulesHealth(ctx context.Context) map[string]string
}

// Deps are the server's collaborators. All are optional: a nil Logger
// discards, a nil Registry registers no metrics, a nil Gatherer falls back to
// Registry when it is also a Gatherer (a *prometheus.Registry is) and otherwise
// leaves /metrics unmounted, nil Ready and Modules report ready and no modules.
type Deps struct {
	Logger   *slog.Logger
	Registry prometheus.Registerer
	Gatherer prometheus.Gatherer
	Ready    Readiness
	Modules  ModuleHealth
	// Version is reported by GET /health.
	Version string
	// TenantID, when set, returns the tenant id that tenant middleware put in
	// a request context ("" when none); the access log records it.
	TenantID func(ctx context.Context) string
}

// Server is one HTTP server: an echo instance with RusToK's middleware, error
// handler and operational routes. Create it with New; it is started once.
type Server struct {
	cfg    Config
	deps   Deps
	logger *slog.Logger
	echo   *echo.Echo
	api    *echo.Group

	// errorWriters answer errors of some routes in their own shape (by
	// route pattern); set before Start, read-only afterwards.
	errorWriters map[string]ErrorWriter

	// metricsEcho serves /metrics on a listener of its own
	// (Config.Metrics.Listen), or is nil.
	metricsEcho *echo.Echo

	started     atomic.Bool
	listening   chan struct{} // closed once addr and metricsAddr are set
	addr        net.Addr
	metricsAddr net.Addr
}

// New builds a server with its middleware chain, error handler and the
// /health* and /metrics routes. It returns an error when a metric cannot be
// registered on deps.Registry.
func New(cfg Config, deps Deps) (*Server, error) {
	cfg = cfg.withDefaults()
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Gatherer == nil {
		if g, ok := deps.Registry.(prometheus.Gatherer); ok {
			deps.Gatherer = g
		}
	}
	m, err := newMetrics(deps.Registry)
	if err != nil {
		return nil, err
	}

	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	// Never echo's debug mode: it indents every JSON answer (bytes for
	// nothing) and shows internal error texts.
	e.Debug = false
	s := &Server{
		cfg:          cfg,
		deps:         deps,
		logger:       deps.Logger,
		echo:         e,
		listening:    make(chan struct{}),
		errorWriters: map[string]ErrorWriter{},
	}
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		if werr := s.writeError(c, err); werr != nil {
			s.logger.WarnContext(c.Request().Context(), "write error response", "request_id", RequestID(c.Request().Context()), "error", werr)
		}
	}
	cors, err := corsMiddleware(cfg.CORS)
	if err != nil {
		return nil, err
	}

	// Order matters. The access log and metrics wrap recovery and the body
	// limit so that panics (500) and oversized bodies (413) are logged and
	// counted like any other answer.
	// CORS answers preflights before anything needs a body or a tenant.
	e.Use(
		requestIDMiddleware(s.logger),
		observeMiddleware(s.logger, m, deps.TenantID),
		recoverMiddleware(),
		securityHeadersMiddleware(),
		cors,
		bodyLimitMiddleware(cfg.BodyLimit),
	)
	if cfg.Metrics.Listen != "" && deps.Gatherer != nil {
		s.metricsEcho = s.newMetricsEcho(m)
	}
	s.mountHealth()
	s.api = e.Group("/api")
	return s, nil
}

// ErrorWriter answers a failed request in a route's own shape, given the
// problem the server would otherwise answer as problem+json.
type ErrorWriter func(c echo.Context, p Problem) error

// WriteErrorsAs makes the server answer every error of the route with
// pattern route (as mounted, e.g. "/api/graphql") through w instead of
// problem+json: errors of middleware (body limit, tenant) included. Call it
// before Start.
func (s *Server) WriteErrorsAs(route string, w ErrorWriter) { s.errorWriters[route] = w }

// writeError is the server's error handler: WriteProblem, or the route's
// ErrorWriter.
func (s *Server) writeError(c echo.Context, err error) error {
	w, ok := s.errorWriters[c.Path()]
	if !ok {
		return WriteProblem(c, err)
	}
	p := logProblem(c, err)
	if c.Response().Committed {
		return nil
	}
	return w(c, p)
}

// Echo returns the echo instance, for mounting routes outside /api.
func (s *Server) Echo() *echo.Echo { return s.echo }

// API returns the /api group. Tenant resolution is added by the caller with
// s.API().Use(...); routes mounted on the group need a tenant.
func (s *Server) API() *echo.Group { return s.api }

// Listening returns a channel that is closed once Start is listening, after
// which Addr is set. It is never closed if listening fails: wait on it
// together with Start's result.
func (s *Server) Listening() <-chan struct{} { return s.listening }

// Addr returns the bound address once Start is listening, else nil.
func (s *Server) Addr() net.Addr {
	select {
	case <-s.listening:
		return s.addr
	default:
		return nil
	}
}

// MetricsAddr returns the address that serves /metrics once Start is
// listening: the metrics listener's (Config.Metrics.Listen), or Addr when
// /metrics is on the main listener. It returns nil before, and when no
// Gatherer serves /metrics at all.
func (s *Server) MetricsAddr() net.Addr {
	select {
	case <-s.listening:
	default:
		return nil
	}
	switch {
	case s.deps.Gatherer == nil:
		return nil
	case s.metricsEcho != nil:
		return s.metricsAddr
	}
	return s.addr
}

// newMetricsEcho builds the echo instance of the metrics listener: the error
// handler, request id, access log and metrics, recovery and security headers
// of the main one, and no route but the /metrics that mountHealth adds.
func (s *Server) newMetricsEcho(m *metrics) *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = s.echo.HTTPErrorHandler
	e.Use(
		requestIDMiddleware(s.logger),
		observeMiddleware(s.logger, m, nil),
		recoverMiddleware(),
		securityHeadersMiddleware(),
	)
	return e
}

// listen opens a TCP listener on hostPort. Its error names hostPort once
// and what the listener is for (what: "" for the API).
func listen(ctx context.Context, hostPort, what string) (net.Listener, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", hostPort)
	if err != nil {
		// net.OpError repeats the address; keep only its cause.
		var opErr *net.OpError
		if errors.As(err, &opErr) && opErr.Err != nil {
			err = opErr.Err
		}
		return nil, fmt.Errorf("listen on %s%s: %w", hostPort, what, err)
	}
	return ln, nil
}

// newHTTPServer returns the net/http server of handler h, with the
// configured timeouts.
func (s *Server) newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadTimeout:       s.cfg.ReadTimeout,
		ReadHeaderTimeout: s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
}

// Start listens on Config.Host:Port (and on Config.Metrics.Listen when set)
// and serves until ctx is cancelled. Then it stops accepting connections,
// waits for in-flight requests up to ShutdownTimeout and returns nil, or an
// error when the wait timed out (the remaining connections are closed). A
// listen failure is returned at once as "listen on HOST:PORT: ..." (with
// " for /metrics" after the metrics address), and nothing stays open. Start
// may be called once.
func (s *Server) Start(ctx context.Context) error {
	if !s.started.CompareAndSwap(false, true) {
		return errors.New("start http server: already started")
	}

	ln, err := listen(ctx, net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port)), "")
	if err != nil {
		return err
	}
	servers := []*http.Server{s.newHTTPServer(s.echo)}
	listeners := []net.Listener{ln}
	if s.metricsEcho != nil {
		mln, err := listen(ctx, s.cfg.Metrics.Listen, " for /metrics")
		if err != nil {
			return errors.Join(err, ln.Close())
		}
		s.metricsAddr = mln.Addr()
		servers = append(servers, s.newHTTPServer(s.metricsEcho))
		listeners = append(listeners, mln)
	}
	s.addr = ln.Addr()
	close(s.listening)
	s.logger.InfoContext(ctx, "http server listening", "addr", s.addr.String())
	if s.metricsEcho != nil {
		s.logger.InfoContext(ctx, "metrics server listening", "addr", s.metricsAddr.String())
	}

	serveErr := make(chan error, len(servers))
	for i, srv := range servers {
		go func() {
			if err := srv.Serve(listeners[i]); !errors.Is(err, http.ErrServerClosed) {
				serveErr <- fmt.Errorf("serve http on %s: %w", listeners[i].Addr(), err)
				return
			}
			serveErr <- nil
		}()
	}

	var failed error
	returned := 0 // Serve calls that returned
	select {
	case failed = <-serveErr:
		returned++
	case <-ctx.Done():
	}

	// The shutdown must outlive ctx, which may already be cancelled.
	s.logger.Info("http server shutting down: no longer accepting connections, waiting for in-flight requests",
		"timeout", s.cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer cancel()
	errs := []error{failed}
	for _, srv := range servers {
		if err := srv.Shutdown(sctx); err != nil {
			s.logger.Warn("http server shutdown timed out: closing remaining connections", "error", err)
			errs = append(errs, fmt.Errorf("shut down http server: %w", err), srv.Close())
		}
	}
	// Every Serve returns once its server is shut down or closed.
	for ; returned < len(servers); returned++ {
		errs = append(errs, <-serveErr)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	s.logger.Info("http server stopped: all in-flight requests finished")
	return nil
}
