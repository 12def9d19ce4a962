package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/rustok/rustok/config"
	tenantdom "github.com/rustok/rustok/domain/tenant"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/eventstore/relay"
	"github.com/rustok/rustok/platform/tenantcache"
	tenantproj "github.com/rustok/rustok/projections/tenant"
	tenantqry "github.com/rustok/rustok/queries/tenant"
	httpserver "github.com/rustok/rustok/transport/http"
)

// invalidationChannel is the Redis channel of the optional fast path.
const invalidationChannel = "tenant.cache.invalidate"

// maxReadyLag is the relay lag (events) above which /health/ready says not ready.
const maxReadyLag = 10000

func (c *cli) serveCommand() *cobra.Command {
	var noWorkers bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the HTTP API and (by default) every worker in one process",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.runServer(cmd.Context(), true, !noWorkers)
		},
	}
	cmd.Flags().BoolVar(&noWorkers, "no-workers", false, "serve the API only; run projections and reactors elsewhere (rustok worker)")
	return cmd
}

func (c *cli) workerCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "worker",
		Short: "Run the relay, projections and reactors only",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.runServer(cmd.Context(), false, true)
		},
	}
}

// server is a running serve/worker process.
type server struct {
	a        *app
	resolver *tenantcache.Resolver
	// identity authenticates requests and serves /api/auth; nil without
	// HTTP.
	identity *identity
	runner   *relay.Runner
	http     *httpserver.Server
	redis    *redis.Client
	// followed is the highest position of an event this instance's
	// follower handled, or of the head it started at: its caches reflect
	// every event committed before that one (noteFollowed).
	followed atomic.Int64
	// waiter is the process's one read-your-writes watcher, shared by
	// GraphQL's minPosition waits and the cache invalidation of follow.
	waiter *relay.Waiter
	// ready is closed once the HTTP server listens (or at once without HTTP).
	ready chan struct{}
	// banner, when not nil, receives the addresses of the server once it
	// listens: the CLI's stdout (logs go to stderr).
	banner io.Writer
}

func (c *cli) runServer(ctx context.Context, withHTTP, withWorkers bool) error {
	cfg, err := c.loadConfig()
	if err != nil {
		return err
	}
	logger := newLogger(cfg.Logger, c.stderr)
	a, err := build(ctx, cfg, logger, buildOptions{migrate: cfg.Database.AutoMigrate})
	if err != nil {
		return err
	}
	s, err := newServer(a, withHTTP, withWorkers)
	if err != nil {
		_ = a.Close()
		return err
	}
	s.banner = c.stdout
	if err := c.bootstrapSuperAdmin(ctx, s); err != nil {
		s.discard()
		return err
	}
	return s.run(ctx)
}

// newServer wires the read side, the caches and the transports of a.
func newServer(a *app, withHTTP, withWorkers bool) (*server, error) {
	s := &server{a: a, ready: make(chan struct{})}
	cfg := a.cfg
	tc := cfg.Settings.Rustok.Tenant
	reader := tenantqry.NewReader(a.db)
	var err error
	s.resolver, err = tenantcache.New(tenantcache.Config{TTL: tc.CacheTTL, NegativeTTL: tc.NegativeCacheTTL, MaxEntries: tc.CacheMaxEntries},
		tenantLoader{reader}, a.registry, a.logger)
	if err != nil {
		return nil, fmt.Errorf("tenant cache: %w", err)
	}
	if cfg.Redis.URL != "" {
		redis.SetLogger(redisLogger{a.logger})
		opts, err := redis.ParseURL(cfg.Redis.URL)
		if err != nil {
			// go-redis quotes the URL, and net/url a piece of a password
			// holding '/': show neither.
			return nil, fmt.Errorf("redis.url %s: %w", config.RedactURL(cfg.Redis.URL), config.RedactError(err, cfg.Redis.URL))
		}
		s.redis = redis.NewClient(opts)
	}
	var progress *relay.Signal
	if withWorkers {
		if s.runner, err = relay.NewRunner(a.store, a.consumers, a.relayConfig, a.logger, a.relayMetrics); err != nil {
			return nil, err
		}
		progress = s.runner.Progress()
	}
	s.waiter = relay.NewWaiter(a.db, progress)
	if withHTTP {
		if s.identity, err = newIdentity(a, s.waiter); err != nil {
			return nil, err
		}
		if s.http, err = s.newHTTP(reader); err != nil {
			_ = s.identity.Close()
			return nil, err
		}
	}
	return s, nil
}

// run starts everything and, when ctx ends, stops in order: HTTP server
// (bounded by server.shutdown_timeout), then the relay, then the database.
func (s *server) run(ctx context.Context) error {
	log := s.a.logger
	bg, stopBackground := context.WithCancel(context.Background())
	var bgWG sync.WaitGroup
	goBG := func(name string, f func(context.Context) error) {
		bgWG.Add(1)
		go func() {
			defer bgWG.Done()
			if err := f(bg); err != nil && bg.Err() == nil {
				log.Error("background task stopped", "task", name, "error", s.redactError(err))
			}
		}()
	}
	if s.a.notifier != nil {
		goBG("notify", func(ctx context.Context) error { s.a.notifier.Run(ctx); return nil })
		goBG("listen", func(ctx context.Context) error {
			return relay.Listen(ctx, s.a.db.Target.DSN, relay.ChannelName(s.a.db.Target.Schema), s.a.wake.Notify, log)
		})
	}
	goBG("tenant-cache-follow", func(ctx context.Context) error {
		return relay.Follow(ctx, s.a.store, s.a.wake, s.a.cfg.Settings.Rustok.Events.PollInterval, s.followHandler(), log,
			func(c eventstore.Cursor) { s.noteFollowed(c.Position) })
	})
	if s.redis != nil {
		goBG("redis-invalidation", func(ctx context.Context) error {
			return tenantcache.RunRedisInvalidation(ctx, s.redis, invalidationChannel, s.resolver, log)
		})
	}
	runnerDone := make(chan error, 1)
	if s.runner != nil {
		go func() { runnerDone <- s.runner.Run(bg) }()
	} else {
		runnerDone <- nil
	}

	var httpErr error
	if s.http != nil {
		httpCtx, stopHTTP := context.WithCancel(context.Background())
		httpDone := make(chan error, 1)
		go func() { httpDone <- s.http.Start(httpCtx) }()
		select {
		case <-s.http.Listening():
			log.Info("rustok serving", "addr", s.http.Addr().String(), "metrics_addr", addrString(s.http.MetricsAddr()),
				"env", s.a.cfg.Env, "database", config.RedactURL(s.a.cfg.Database.URL), "workers", s.runner != nil)
			if s.banner != nil {
				b := banner{api: s.http.Addr(), metrics: s.http.MetricsAddr(), playground: s.a.cfg.GraphQL.Playground,
					metricsToken: s.a.cfg.Server.Metrics.Token != ""}
				if err := writeBanner(s.banner, b); err != nil {
					log.Warn("print the server addresses", "error", err)
				}
			}
			close(s.ready)
			select {
			case <-ctx.Done():
			case httpErr = <-httpDone:
				httpDone <- httpErr
			}
		case httpErr = <-httpDone:
			httpDone <- httpErr
		}
		log.Info("stopping HTTP server")
		stopHTTP()
		if err := <-httpDone; err != nil && httpErr == nil {
			httpErr = err
		}
		log.Info("HTTP server stopped")
	} else {
		log.Info("rustok worker running", "env", s.a.cfg.Env, "database", config.RedactURL(s.a.cfg.Database.URL))
		close(s.ready)
		<-ctx.Done()
	}
	log.Info("stopping relay and background tasks")
	stopBackground()
	runErr := <-runnerDone
	if errors.Is(runErr, context.Canceled) {
		// Stopped while the relay was still starting (a signal right after
		// start): the cancellation is the stop asked for, not a failure.
		log.Info("relay stopped before it finished starting", "error", runErr)
		runErr = nil
	}
	bgWG.Wait()
	log.Info("relay stopped; closing database")
	s.resolver.Close()
	if s.identity != nil {
		_ = s.identity.Close()
	}
	if s.redis != nil {
		_ = s.redis.Close()
	}
	closeErr := s.a.Close()
	log.Info("stopped")
	return errors.Join(httpErr, runErr, closeErr)
}

// banner is what writeBanner prints.
type banner struct {
	// api is the bound address of the HTTP server.
	api net.Addr
	// metrics is the address that serves /metrics (httpserver's
	// MetricsAddr): api's, or the metrics listener's; nil for none.
	metrics net.Addr
	// playground says whether GraphiQL is served.
	playground bool
	// metricsToken says whether /metrics needs a bearer token.
	metricsToken bool
}

// writeBanner prints where the server answers, for the person who started
// it: the GraphQL API, the GraphiQL page when playground is on, and the
// metrics where they really are (their own listener in production), with a
// note when they need a token (never the token). The URLs use the bound
// addresses (the real ports when a port is 0), with loopback in place of an
// all-interfaces address.
func writeBanner(w io.Writer, info banner) error {
	base := baseURL(info.api)
	var b strings.Builder
	fmt.Fprintf(&b, "RusToK %s is listening:\n", version)
	fmt.Fprintf(&b, "  GraphQL API  %s/api/graphql\n", base)
	if info.playground {
		fmt.Fprintf(&b, "  GraphiQL     %s/api/graphql  (open in a browser)\n", base)
	}
	if info.metrics != nil {
		fmt.Fprintf(&b, "  Metrics      %s/metrics", baseURL(info.metrics))
		if info.metricsToken {
			b.WriteString("  (bearer token required)")
		}
		b.WriteByte('\n')
	}
	b.WriteString("Stop with Ctrl+C.\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// addrString returns addr's string, or "" for nil.
func addrString(addr net.Addr) string {
	if addr == nil {
		return ""
	}
	return addr.String()
}

// metricsEndpoint is the /metrics part of the HTTP server's configuration
// (server.metrics.*).
func metricsEndpoint(cfg config.Config) httpserver.MetricsEndpoint {
	return httpserver.MetricsEndpoint{Listen: cfg.Server.Metrics.Listen, Token: cfg.Server.Metrics.Token}
}

// redactError masks in err's message the secrets of every address of the
// configuration (database, Redis, NATS) that a driver may have quoted.
func (s *server) redactError(err error) error {
	cfg := s.a.cfg
	return config.RedactError(err, cfg.Database.URL, cfg.Redis.URL, cfg.Settings.Rustok.Events.Forward.NatsURL)
}

// baseURL returns "http://host:port" for the listening address addr, with
// 127.0.0.1 for 0.0.0.0 and [::1] for [::], which a browser cannot open.
func baseURL(addr net.Addr) string {
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	ip := ap.Addr()
	switch {
	case ip.IsUnspecified() && ip.Is4():
		ip = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	case ip.IsUnspecified():
		ip = netip.IPv6Loopback()
	}
	return "http://" + netip.AddrPortFrom(ip, ap.Port()).String()
}

// noteFollowed records that the follower is past position.
func (s *server) noteFollowed(position int64) {
	for {
		cur := s.followed.Load()
		if position <= cur || s.followed.CompareAndSwap(cur, position) {
			return
		}
	}
}

// followHandler is what every instance applies from its own tail of the log:
// tenant and principal cache invalidation, and cache flushes requested by
// `task cleanup cache`.
//
// A tenant event is applied to the cache only once the tenants projection
// has written it (bounded wait): invalidating earlier would let a request
// in between reload — and cache again — the row as it was before the event.
func (s *server) followHandler() relay.FollowHandler {
	tenants := tenantproj.CacheInvalidation(s.resolver)
	var principals relay.FollowHandler
	if s.identity != nil {
		principals = s.identity.followHandler()
	}
	return func(ctx context.Context, e eventstore.Event) error {
		defer s.noteFollowed(e.Position)
		var perr error
		if principals != nil {
			// Session and user events, and the cache flush.
			perr = principals(ctx, e)
		}
		switch {
		case e.Type == cacheFlushedType:
			s.resolver.InvalidateAll()
			return perr
		case e.Stream.Type != tenantdom.StreamType:
			return perr
		}
		if ok, err := s.waiter.WaitFor(ctx, e.Position, []string{tenantproj.Name}, projectionWait); err != nil {
			return err
		} else if !ok {
			s.a.logger.Warn("tenants projection behind; invalidating the cache anyway", "position", e.Position)
		}
		return tenants(ctx, e)
	}
}

// projectionWait bounds how long cache invalidation waits for the tenants projection.
const projectionWait = 5 * time.Second

// Ready implements httpserver.Readiness: database reachable, relay running,
// lag under maxReadyLag (from the relay's periodic status refresh, so a probe
// costs one ping, not a count of the lag).
func (s *server) Ready(ctx context.Context) (map[string]string, error) {
	details := map[string]string{}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := s.a.db.PingContext(ctx); err != nil {
		details["database"] = "unreachable"
		return details, fmt.Errorf("database: %w", err)
	}
	details["database"] = "ok"
	if s.runner == nil {
		details["relay"] = "not in this process (--no-workers)"
		return details, nil
	}
	if !s.runner.Healthy() {
		details["relay"] = "not running"
		return details, errors.New("relay not running")
	}
	sts, ok := s.runner.LastStatuses()
	if !ok {
		details["relay"] = "starting"
		return details, errors.New("relay status not known yet")
	}
	var worst int64
	for _, st := range sts {
		worst = max(worst, st.LagEvents)
	}
	details["relay"] = "running"
	details["relay_lag_events"] = fmt.Sprint(worst)
	if worst > maxReadyLag {
		return details, fmt.Errorf("relay lag %d events exceeds %d", worst, maxReadyLag)
	}
	return details, nil
}

// ModulesHealth implements httpserver.ModuleHealth.
func (s *server) ModulesHealth(context.Context) map[string]string {
	out := map[string]string{}
	for _, d := range s.a.modules.All() {
		out[d.Slug] = "ok"
	}
	return out
}

// tenantLoader adapts the tenants read model to the tenant cache.
type tenantLoader struct{ r *tenantqry.Reader }

func (l tenantLoader) LoadTenant(ctx context.Context, key tenantcache.Key) (tenantcache.Tenant, error) {
	v, err := l.r.Lookup(ctx, key.Kind, key.Value)
	if errors.Is(err, tenantdom.ErrNotFound) {
		return tenantcache.Tenant{}, fmt.Errorf("%w: %w", tenantcache.ErrNotFound, err)
	}
	if err != nil {
		return tenantcache.Tenant{}, err
	}
	return tenantcache.Tenant{ID: v.ID, Slug: v.Slug, Name: v.Name, Status: v.Status, Domains: v.Domains,
		EnabledModules: v.Modules, DefaultLocale: v.DefaultLocale, Locales: v.Locales, Version: v.Version}, nil
}

// redisLogger sends go-redis's internal messages (dial failures) to slog.
type redisLogger struct{ l *slog.Logger }

func (r redisLogger) Printf(_ context.Context, format string, v ...any) {
	r.l.Warn("redis", "message", config.RedactURL(fmt.Sprintf(format, v...)))
}
