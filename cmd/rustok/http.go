package main

import (
	"context"
	"fmt"
	"net/netip"
	"net/url"

	"github.com/rustok/rustok/config"
	tenantdom "github.com/rustok/rustok/domain/tenant"
	"github.com/rustok/rustok/eventstore/relay"
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
		CORS: s.corsConfig(tcfg),
	}, httpserver.Deps{
		Logger: s.a.logger, Registry: s.a.registry, Gatherer: s.a.registry, Ready: s, Modules: s, Version: version,
		TenantID: func(ctx context.Context) string {
			t, _ := tenancy.FromContext(ctx)
			return t.ID
		},
	})
	if err != nil {
		return nil, err
	}
	waiter := relay.NewWaiter(s.a.db, nil)
	if s.runner != nil {
		waiter = relay.NewWaiter(s.a.db, s.runner.Progress())
	}
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
		ReadYourWrites: gql.ReadYourWrites{
			Waiter:    waiter,
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
	h, err := gql.New(opts, gql.BaseFields(version), gql.TenantFields(gql.TenantDeps{
		Modules: s.a.modules,
		History: s.a.store,
		Tenants: reader,
		// Until authentication lands (next issue) the event history is only
		// served in development; elsewhere history answers UNAUTHENTICATED.
		CanReadLogs: func(context.Context) bool { return cfg.Env == config.EnvDevelopment },
	}))
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
	gql.Mount(api, h)
	srv.WriteErrorsAs("/api"+gql.RoutePath, gql.WriteError)
	return srv, nil
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
