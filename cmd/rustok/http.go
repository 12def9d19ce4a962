package main

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"

	"github.com/labstack/echo/v4"

	tenantcmd "github.com/rustok/rustok/commands/tenant"
	"github.com/rustok/rustok/config"
	tenantdom "github.com/rustok/rustok/domain/tenant"
	"github.com/rustok/rustok/eventstore/relay"
	"github.com/rustok/rustok/platform/ratelimit"
	"github.com/rustok/rustok/platform/tenantcache"
	tenantqry "github.com/rustok/rustok/queries/tenant"
	gql "github.com/rustok/rustok/transport/graphql"
	httpserver "github.com/rustok/rustok/transport/http"
	"github.com/rustok/rustok/transport/http/tenancy"
)

func (s *server) newHTTP(reader *tenantqry.Reader) (*httpserver.Server, error) {
	cfg := s.a.cfg
	tcfg, err := tenancyConfig(cfg)
	if err != nil {
		return nil, err
	}
	if err := tcfg.Validate(); err != nil {
		return nil, fmt.Errorf("settings.rustok.tenant: %w", err)
	}
	srv, err := httpserver.New(httpserver.Config{
		Host: cfg.Server.Host, Port: cfg.Server.Port, BodyLimit: cfg.Server.BodyLimitBytes(),
		ReadTimeout: cfg.Server.ReadTimeout, WriteTimeout: cfg.Server.WriteTimeout, ShutdownTimeout: cfg.Server.ShutdownTimeout,
		CORS: s.corsConfig(tcfg), Metrics: metricsEndpoint(cfg),
	}, httpserver.Deps{
		Logger: s.a.logger, Registry: s.a.registry, Gatherer: s.a.registry, Ready: s, Modules: s, Version: version,
		TenantID: tenantID,
	})
	if err != nil {
		return nil, err
	}
	limits, err := s.newRateLimiting()
	if err != nil {
		return nil, err
	}
	// Per client IP on every route but the probes, the metrics and
	// GraphiQL's assets (route patterns, so no path trick escapes it), after
	// CORS and the body limit and before anything costs a tenant lookup.
	limits.use(srv.Echo(), httpserver.RateLimitScopeIP, limits.ip,
		httpserver.ClientIPKey(tcfg.TrustedProxies).Except("/health", "/health/", "/metrics", "/api"+gql.AssetsPath))
	var projections []string
	for _, c := range s.a.consumers {
		if c.Kind == relay.KindProjection {
			projections = append(projections, c.Name)
		}
	}
	opts := gql.Options{
		Limits:        gql.Limits{MaxDepth: cfg.GraphQL.MaxDepth, MaxComplexity: cfg.GraphQL.MaxComplexity, MaxAliases: cfg.GraphQL.MaxAliases},
		Introspection: cfg.GraphQL.Introspection,
		Logger:        s.a.logger,
		Registry:      s.a.registry,
		RequestID:     httpserver.RequestID,
		RequireTenant: tenancy.Require,
		// Below the write timeout, so that a request out of time still
		// gets its answer out.
		RequestTimeout: cfg.Server.WriteTimeout * 9 / 10,
		ReadYourWrites: gql.ReadYourWrites{
			Waiter:    s.waiter,
			Head:      s.a.store.Head,
			Consumers: projections,
			Timeout:   cfg.GraphQL.ReadYourWritesTimeout,
		},
		PlaygroundHeaders: playgroundHeaders(tcfg),
	}
	if cfg.GraphQL.Playground {
		if opts.Playground, err = newPlayground(); err != nil {
			return nil, err
		}
	}
	th, err := newTenantHandlers(s.a)
	if err != nil {
		return nil, err
	}
	h, err := gql.New(opts, gql.BaseFields(version), gql.TenantFields(gql.TenantDeps{
		Modules:   s.a.modules,
		History:   s.a.store,
		Tenants:   reader,
		Histories: []gql.HistorySource{userHistory(s.a.store, s.identity.accounts.sessions)},
		Redact:    redactEvent,
		ToggleModule: func(ctx context.Context, tenantID, module string, enabled bool) (int64, error) {
			res, err := th.toggle.Handle(ctx, tenantcmd.ToggleModule{
				Tenant: tenantID, Module: module, Enabled: enabled, Actor: requestMeta(ctx), Who: httpserver.ActorFrom(ctx),
			})
			return res.Position, err
		},
		Admin: tenantAdmin(th),
	}), s.identity.graphqlFields())
	if err != nil {
		return nil, err
	}
	api := srv.API()
	// The tenant header is part of every /api answer's identity: no cache
	// may serve one tenant's answer to another.
	api.Use(httpserver.Vary(tenantHeaderName(tcfg)))
	// The GraphQL endpoint resolves its tenant like every /api route, but
	// lets the handler decide whether it needs one: introspection (GraphiQL
	// and schema tools opening) needs none. The SDL and GraphiQL's assets
	// are the same for every tenant.
	api.Use(tenancy.Middleware(tcfg, s.resolver,
		tenancy.Public("/api"+gql.SchemaPath, "/api"+gql.AssetsPath),
		tenancy.Deferred("/api"+gql.RoutePath)))
	// Per tenant, whatever the client, once the tenant is known; a request
	// without one (introspection) counts against its client only.
	limits.use(api, httpserver.RateLimitScopeTenant, limits.tenant, httpserver.TenantKey(tenantID))
	// Authentication after the tenant is known (a token is checked against
	// it) and after the budgets, so that a flood of bad tokens is refused
	// before any verification. Refused credentials count against the
	// client's auth budget.
	authKey := httpserver.ClientIPKey(tcfg.TrustedProxies)
	api.Use(httpserver.Authentication(httpserver.AuthConfig{
		Authenticate: s.identity.authenticate,
		OnFailure:    limits.count(httpserver.RateLimitScopeAuth, limits.auth, authKey),
	}))
	authRoutes{id: s.identity, trusted: tcfg.TrustedProxies}.mount(api,
		limits.middleware(httpserver.RateLimitScopeAuth, limits.auth, authKey))
	// The GraphQL sign-up, sign-in and refresh fields spend the same auth
	// budget, one unit per field.
	api.Use(graphqlRequestInfo(tcfg.TrustedProxies, limits.count(httpserver.RateLimitScopeAuth, limits.auth, authKey)))
	srv.Echo().GET("/.well-known/jwks.json", jwksHandler(s.identity.tokens.Keys().JWKS()))
	gql.Mount(api, h)
	srv.WriteErrorsAs("/api"+gql.RoutePath, gql.WriteError)
	return srv, nil
}

// jwksHandler serves the public verification keys (an empty set under
// HS256), cacheable by anyone for five minutes.
func jwksHandler(body []byte) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set(echo.HeaderCacheControl, "public, max-age=300")
		return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, body)
	}
}

// tenantID returns the id of the tenant that tenant resolution put on ctx,
// or "" when there is none.
func tenantID(ctx context.Context) string {
	t, _ := tenancy.FromContext(ctx)
	return t.ID
}

// rateLimiting is the rate limiting of settings.rustok.rate_limit: one
// limiter per budget, in memory or, when redis.url is set, in Redis shared by
// every instance. With rate_limit.enabled false it limits nothing.
type rateLimiting struct {
	limits *httpserver.RateLimits // nil when disabled
	ip     httpserver.Limiter
	tenant httpserver.Limiter
	// auth is the stricter per-IP budget of sign-in, sign-up and token
	// refresh (the routes of authRoutes), which refused credentials count
	// against too.
	auth httpserver.Limiter
}

// newRateLimiting builds the limiters of settings.rustok.rate_limit; it
// returns an error when a metric cannot be registered or a rate is invalid.
func (s *server) newRateLimiting() (rateLimiting, error) {
	rl := s.a.cfg.Settings.Rustok.RateLimit
	if !rl.Enabled {
		return rateLimiting{}, nil
	}
	limits, err := httpserver.NewRateLimits(s.a.logger, s.a.registry)
	if err != nil {
		return rateLimiting{}, fmt.Errorf("rate limits: %w", err)
	}
	out := rateLimiting{limits: limits}
	budgets := []struct {
		scope string
		rate  ratelimit.Rate
		dst   *httpserver.Limiter
	}{
		{httpserver.RateLimitScopeIP, ratelimit.Rate{PerMinute: rl.RequestsPerMinute, Burst: rl.Burst}, &out.ip},
		{httpserver.RateLimitScopeTenant, ratelimit.Rate{PerMinute: rl.TenantRequestsPerMinute, Burst: rl.TenantBurst}, &out.tenant},
		{httpserver.RateLimitScopeAuth, ratelimit.Rate{PerMinute: rl.AuthRequestsPerMinute, Burst: rl.AuthBurst}, &out.auth},
	}
	for _, b := range budgets {
		if *b.dst, err = s.newLimiter(b.scope, b.rate); err != nil {
			return rateLimiting{}, fmt.Errorf("settings.rustok.rate_limit (%s): %w", b.scope, err)
		}
	}
	return out, nil
}

// newLimiter returns the limiter of one budget: in Redis under
// "rustok:ratelimit:<scope>:" when redis.url is set, else in memory.
func (s *server) newLimiter(scope string, rate ratelimit.Rate) (httpserver.Limiter, error) {
	if s.redis != nil {
		l, err := ratelimit.NewRedis(s.redis, ratelimit.RedisConfig{Rate: rate, Prefix: ratelimit.DefaultRedisPrefix + scope + ":",
			Timeout: s.a.cfg.Settings.Rustok.RateLimit.RedisTimeout})
		if err != nil {
			return nil, err
		}
		return l, nil
	}
	l, err := ratelimit.NewMemory(ratelimit.MemoryConfig{Rate: rate})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// use adds the middleware of one budget to g (the echo instance or a group),
// or nothing when rate limiting is disabled.
func (r rateLimiting) use(g interface{ Use(...echo.MiddlewareFunc) }, scope string, l httpserver.Limiter, key httpserver.RateLimitKey) {
	if r.limits == nil {
		return
	}
	g.Use(r.limits.Middleware(scope, l, key))
}

// middleware returns the middleware of one budget for single routes, or
// none when rate limiting is disabled.
func (r rateLimiting) middleware(scope string, l httpserver.Limiter, key httpserver.RateLimitKey) []echo.MiddlewareFunc {
	if r.limits == nil {
		return nil
	}
	return []echo.MiddlewareFunc{r.limits.Middleware(scope, l, key)}
}

// count returns a hook that counts a request against one budget after the
// fact (httpserver.RateLimits.Count), or nil when rate limiting is
// disabled.
func (r rateLimiting) count(scope string, l httpserver.Limiter, key httpserver.RateLimitKey) func(echo.Context) error {
	if r.limits == nil {
		return nil
	}
	return func(c echo.Context) error { return r.limits.Count(c, scope, l, key) }
}

// tenantHeaderName is the tenant header of header resolution.
func tenantHeaderName(tcfg tenancy.Config) string {
	if tcfg.HeaderName != "" {
		return tcfg.HeaderName
	}
	return tenancy.DefaultHeaderName
}

// playgroundHeaders pre-fills the tenant header in GraphiQL when the page's
// own request resolved a tenant under header resolution (with
// settings.rustok.tenant.default_id, say); under host resolution the page's
// requests carry the host, and need no header.
func playgroundHeaders(tcfg tenancy.Config) func(context.Context) map[string]string {
	return func(ctx context.Context) map[string]string {
		t, ok := tenancy.FromContext(ctx)
		if !ok || tcfg.Resolution != tenancy.ResolutionHeader {
			return nil
		}
		return map[string]string{tenantHeaderName(tcfg): t.Slug}
	}
}

// corsConfig lets the pages of the configured origins call the API and,
// with server.cors.tenant_domains, those of each active tenant's own
// domains (looked up through the tenant cache, negative entries included).
func (s *server) corsConfig(tcfg tenancy.Config) httpserver.CORS {
	c := s.a.cfg.Server.CORS
	out := httpserver.CORS{
		AllowedOrigins: c.AllowedOrigins,
		AllowHeaders:   []string{tenantHeaderName(tcfg)},
		MaxAge:         c.MaxAge,
	}
	if !c.TenantDomains {
		return out
	}
	out.AllowOrigin = func(ctx context.Context, origin *url.URL) bool {
		host, err := tenantdom.NormalizeHost(origin.Hostname())
		if err != nil {
			return false
		}
		t, err := s.resolver.Resolve(ctx, tenantcache.Key{Kind: tenantcache.KindHost, Value: host})
		return err == nil && t.Status == string(tenantdom.StatusActive)
	}
	return out
}

func tenancyConfig(cfg config.Config) (tenancy.Config, error) {
	tc := cfg.Settings.Rustok.Tenant
	out := tenancy.Config{Enabled: tc.Enabled, Resolution: tc.Resolution, HeaderName: tc.HeaderName, DefaultID: tc.DefaultID, BaseDomains: tc.BaseDomains}
	for _, p := range cfg.Settings.Rustok.RateLimit.TrustedProxies {
		prefix, err := netip.ParsePrefix(p)
		if err != nil {
			addr, aerr := netip.ParseAddr(p)
			if aerr != nil {
				return out, fmt.Errorf("settings.rustok.rate_limit.trusted_proxies: %q is neither an IP nor a CIDR", p)
			}
			prefix = netip.PrefixFrom(addr, addr.BitLen())
		}
		out.TrustedProxies = append(out.TrustedProxies, prefix)
	}
	return out, nil
}
