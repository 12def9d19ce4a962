package main

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/rustok/rustok/config"
	"github.com/rustok/rustok/eventstore/relay"
	tenantproj "github.com/rustok/rustok/projections/tenant"
	tenantqry "github.com/rustok/rustok/queries/tenant"
	gql "github.com/rustok/rustok/transport/graphql"
	httpserver "github.com/rustok/rustok/transport/http"
	"github.com/rustok/rustok/transport/http/tenancy"
)

func (s *server) newHTTP(reader *tenantqry.Reader) (*httpserver.Server, error) {
	cfg := s.a.cfg
	srv, err := httpserver.New(httpserver.Config{
		Host: cfg.Server.Host, Port: cfg.Server.Port, BodyLimit: cfg.Server.BodyLimitBytes(),
		ReadTimeout: cfg.Server.ReadTimeout, WriteTimeout: cfg.Server.WriteTimeout, ShutdownTimeout: cfg.Server.ShutdownTimeout,
		Development: cfg.Env == config.EnvDevelopment,
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
	tcfg, err := tenancyConfig(cfg)
	if err != nil {
		return nil, err
	}
	waiter := relay.NewWaiter(s.a.db, nil)
	if s.runner != nil {
		waiter = relay.NewWaiter(s.a.db, s.runner.Progress())
	}
	h, err := gql.New(gql.Options{
		Limits:        gql.Limits{MaxDepth: cfg.GraphQL.MaxDepth, MaxComplexity: cfg.GraphQL.MaxComplexity, MaxAliases: cfg.GraphQL.MaxAliases},
		Introspection: cfg.GraphQL.Introspection,
		Playground:    cfg.GraphQL.Playground,
		Logger:        s.a.logger,
		Registry:      s.a.registry,
		RequestID:     httpserver.RequestID,
	}, gql.BaseFields(version), gql.TenantFields(gql.TenantDeps{
		Modules: s.a.modules,
		History: s.a.store,
		Tenants: reader,
		Waiter:  waiter,
		// Until authentication lands (next issue) the event history is only
		// served in development; elsewhere history answers UNAUTHENTICATED.
		CanReadLogs:           func(context.Context) bool { return cfg.Env == config.EnvDevelopment },
		ReadYourWritesTimeout: cfg.GraphQL.ReadYourWritesTimeout,
		Consumers:             []string{tenantproj.Name},
	}))
	if err != nil {
		return nil, err
	}
	if err := tcfg.Validate(); err != nil {
		return nil, fmt.Errorf("settings.rustok.tenant: %w", err)
	}
	srv.API().Use(skipPlayground(tenancy.Middleware(tcfg, s.resolver)))
	gql.Mount(srv.API(), h)
	return srv, nil
}

// skipPlayground lets a browser load the GraphiQL page without a tenant; the
// page's own requests carry the tenant header.
func skipPlayground(mw echo.MiddlewareFunc) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		guarded := mw(next)
		return func(c echo.Context) error {
			r := c.Request()
			if r.Method == http.MethodGet && c.Path() == "/api/graphql" && strings.Contains(r.Header.Get("Accept"), "text/html") {
				return next(c)
			}
			return guarded(c)
		}
	}
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

