// Package tenancy is the echo middleware that resolves the tenant of every
// /api request (except /api/openapi.* and /api/docs) and puts it on the
// request context.
//
// The tenant identifier comes from the X-Tenant-ID header (an id or a slug),
// the request host (an exact domain), or a subdomain of a configured base
// domain, per Config.Resolution. The identifier is validated before any
// lookup: an invalid one is a domain.BadInput error (400), an unknown one
// tenantcache.ErrNotFound (404) and a tenant that is not active
// tenant.ErrDisabled (403). The middleware returns these errors for the
// server's error handler to render.
package tenancy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/tenant"
	"github.com/rustok/rustok/platform/tenantcache"
)

// The resolution modes of Config.Resolution
// (settings.rustok.tenant.resolution).
const (
	// ResolutionHeader reads an id or slug from the tenant header.
	ResolutionHeader = "header"
	// ResolutionHost looks the request host up as a tenant domain.
	ResolutionHost = "host"
	// ResolutionSubdomain takes the slug from "<slug>.<base domain>", and
	// looks any other host up as a tenant domain.
	ResolutionSubdomain = "subdomain"
)

// DefaultHeaderName is the tenant header of header resolution.
const DefaultHeaderName = "X-Tenant-ID"

// ContextKey is the echo.Context key under which the middleware also stores
// the resolved tenantcache.Tenant (c.Get(ContextKey)).
const ContextKey = "tenant"

// forwardedHostHeader carries the client's Host through a reverse proxy.
const forwardedHostHeader = "X-Forwarded-Host"

// Config configures the middleware (settings.rustok.tenant.*).
type Config struct {
	// Enabled turns resolution on. When false, every /api request gets the
	// DefaultID tenant, whatever it sends.
	Enabled bool
	// Resolution is ResolutionHeader (default), ResolutionHost or
	// ResolutionSubdomain.
	Resolution string
	// HeaderName is the tenant header of header resolution. Default
	// DefaultHeaderName.
	HeaderName string
	// DefaultID is the id or slug of the tenant used when the tenant header
	// is missing (header resolution) and when Enabled is false. Empty means
	// no default: a missing header is a 400. Required when Enabled is false.
	DefaultID string
	// BaseDomains are the domains under which "<slug>.<base>" names a tenant
	// (subdomain resolution; at least one required there).
	BaseDomains []string
	// TrustedProxies are the networks of the reverse proxies whose
	// X-Forwarded-Host header is believed. A request whose direct peer is
	// elsewhere is resolved by its own Host header. Empty: never believed.
	TrustedProxies []netip.Prefix
}

// Validate reports every problem of c at once (errors.Join). Middleware
// panics on a Config that Validate refuses.
func (c Config) Validate() error {
	_, err := c.compile()
	return err
}

// compiled is a validated Config, with the values checked once at wiring time.
type compiled struct {
	enabled     bool
	resolution  string
	headerName  string // canonical, for lookups
	headerLabel string // as configured, for messages
	defaultKey  tenantcache.Key
	hasDefault  bool
	baseDomains tenant.BaseDomains
	trusted     []netip.Prefix
}

func (c Config) compile() (compiled, error) {
	out := compiled{
		enabled:    c.Enabled,
		resolution: c.Resolution,
		headerName: http.CanonicalHeaderKey(c.HeaderName),
		trusted:    make([]netip.Prefix, 0, len(c.TrustedProxies)),
	}
	if out.resolution == "" {
		out.resolution = ResolutionHeader
	}
	out.headerLabel = c.HeaderName
	if out.headerName == "" {
		out.headerName, out.headerLabel = http.CanonicalHeaderKey(DefaultHeaderName), DefaultHeaderName
	}
	var errs []error
	switch out.resolution {
	case ResolutionHeader, ResolutionHost:
	case ResolutionSubdomain:
		if len(c.BaseDomains) == 0 {
			errs = append(errs, errors.New("tenant resolution subdomain needs at least one base domain"))
		}
	default:
		errs = append(errs, fmt.Errorf("tenant resolution %q: must be header, host or subdomain", c.Resolution))
	}
	if c.DefaultID != "" {
		id, err := tenant.ParseIdentifier(c.DefaultID)
		if err != nil {
			errs = append(errs, fmt.Errorf("tenant default id %q: %w", c.DefaultID, err))
		}
		out.defaultKey = keyOf(id)
		out.hasDefault = err == nil
	} else if !c.Enabled {
		errs = append(errs, errors.New("tenant resolution is disabled: a default tenant id is required"))
	}
	bases, err := tenant.NewBaseDomains(c.BaseDomains)
	if err != nil {
		errs = append(errs, fmt.Errorf("tenant %w", err))
	}
	out.baseDomains = bases
	for _, p := range c.TrustedProxies {
		if !p.IsValid() {
			errs = append(errs, fmt.Errorf("trusted proxy %q: not a valid network", p))
			continue
		}
		out.trusted = append(out.trusted, p.Masked())
	}
	return out, errors.Join(errs...)
}

// Resolver resolves a tenant key; *tenantcache.Resolver implements it.
// Resolve returns an error for which errors.Is(err, tenantcache.ErrNotFound)
// holds when no tenant matches. It must be safe for concurrent use.
type Resolver interface {
	Resolve(ctx context.Context, key tenantcache.Key) (tenantcache.Tenant, error)
}

// Middleware returns the echo middleware that resolves the tenant of every
// request under /api, except /api/openapi.* and /api/docs, through r. On
// success the tenant is on the request context (FromContext) and in the echo
// context under ContextKey. Otherwise the middleware returns, without calling
// the handler: a domain.BadInput error (400) for a missing or invalid
// identifier, in which case r is not called; an error matching
// tenantcache.ErrNotFound (404) for an unknown tenant; tenant.ErrDisabled
// (403) for a tenant whose status is not active; r's other errors, wrapped
// (500).
//
// Middleware panics if cfg is invalid: call cfg.Validate first. The
// middleware is safe for concurrent use.
//
// Options name routes that need no tenant (Public) and routes whose handler
// decides (Deferred).
func Middleware(cfg Config, r Resolver, opts ...Option) echo.MiddlewareFunc {
	c, err := cfg.compile()
	if err != nil {
		panic(fmt.Sprintf("tenancy.Middleware: %v", err))
	}
	if r == nil {
		panic("tenancy.Middleware: nil resolver")
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(ec echo.Context) error {
			req := ec.Request()
			// The routed pattern catches paths that escape the prefix check
			// (such as "/api/docs/../graphql" matching an /api/* route).
			if !o.needsTenant(req.URL.Path) && !o.needsTenant(ec.Path()) {
				return next(ec)
			}
			t, err := c.resolve(req, r)
			if err != nil {
				if o.deferred[ec.Path()] {
					ec.SetRequest(req.WithContext(context.WithValue(req.Context(), errKey{}, err)))
					return next(ec)
				}
				return err
			}
			ec.SetRequest(req.WithContext(WithTenant(req.Context(), t)))
			ec.Set(ContextKey, t)
			return next(ec)
		}
	}
}

// resolve finds the request's active tenant, or says why there is none.
func (c compiled) resolve(req *http.Request, r Resolver) (tenantcache.Tenant, error) {
	key, err := c.key(req)
	if err != nil {
		return tenantcache.Tenant{}, err
	}
	t, err := r.Resolve(req.Context(), key)
	if err != nil {
		return tenantcache.Tenant{}, fmt.Errorf("resolve tenant %s: %w", key, err)
	}
	// Fail closed: any status other than active is refused.
	if t.Status != string(tenant.StatusActive) {
		return tenantcache.Tenant{}, tenant.ErrDisabled
	}
	return t, nil
}

// Option changes which routes Middleware applies to, and how.
type Option func(*options)

type options struct {
	public   []string        // exact paths, or prefixes ending in "/"
	deferred map[string]bool // route patterns
}

// Public names paths that need no tenant besides the documentation paths
// (/api/docs, /api/openapi.*): an exact path, or a prefix ending in "/"
// ("/api/graphql/assets/").
func Public(paths ...string) Option {
	return func(o *options) { o.public = append(o.public, paths...) }
}

// Deferred names route patterns (as mounted, "/api/graphql") whose requests
// go on when their tenant cannot be resolved: the reason is kept on the
// request context and the handler returns it, through Require, only if it
// needs a tenant. GraphQL needs none for introspection.
func Deferred(routes ...string) Option {
	return func(o *options) {
		if o.deferred == nil {
			o.deferred = map[string]bool{}
		}
		for _, r := range routes {
			o.deferred[r] = true
		}
	}
}

// needsTenant reports whether a request path (or route pattern) is under /api
// and neither a documentation path nor a Public one.
func (o options) needsTenant(path string) bool {
	if path != "/api" && !strings.HasPrefix(path, "/api/") {
		return false
	}
	if path == "/api/docs" || strings.HasPrefix(path, "/api/docs/") || strings.HasPrefix(path, "/api/openapi.") {
		return false
	}
	for _, p := range o.public {
		if path == p || strings.HasSuffix(p, "/") && strings.HasPrefix(path, p) {
			return false
		}
	}
	return true
}

type errKey struct{}

// ErrNoTenant is Require's answer for a context that Middleware never saw.
var ErrNoTenant = domain.BadInput("no tenant was resolved for this request")

// Require returns nil when ctx carries a tenant; otherwise the reason
// Middleware kept for a Deferred route (the error it would have returned),
// or ErrNoTenant.
func Require(ctx context.Context) error {
	if _, ok := FromContext(ctx); ok {
		return nil
	}
	if err, ok := ctx.Value(errKey{}).(error); ok {
		return err
	}
	return ErrNoTenant
}

// key returns the validated key that identifies the request's tenant.
func (c compiled) key(req *http.Request) (tenantcache.Key, error) {
	if !c.enabled {
		return c.defaultKey, nil
	}
	if c.resolution == ResolutionHeader {
		return c.headerKey(req)
	}
	host, err := tenant.NormalizeHost(c.host(req))
	if err != nil {
		return tenantcache.Key{}, fmt.Errorf("request host: %w", err)
	}
	if c.resolution == ResolutionSubdomain {
		// A label that is no valid slug (a reserved name such as www, say)
		// may still be a tenant's own domain: fall back to the host.
		// The same reading as the tenant commands', which keep domains
		// and slugs from colliding (domain/tenant.BaseDomains).
		if slug, _, ok := c.baseDomains.SlugOf(host); ok {
			return tenantcache.Key{Kind: tenantcache.KindSlug, Value: slug}, nil
		}
	}
	return tenantcache.Key{Kind: tenantcache.KindHost, Value: host}, nil
}

func (c compiled) headerKey(req *http.Request) (tenantcache.Key, error) {
	values := req.Header.Values(c.headerName)
	switch {
	case len(values) == 0 && c.hasDefault:
		return c.defaultKey, nil
	case len(values) == 0:
		return tenantcache.Key{}, domain.BadInput("tenant header %s is required", c.headerLabel)
	case len(values) > 1:
		return tenantcache.Key{}, domain.BadInput("tenant header %s must be sent once", c.headerLabel)
	}
	id, err := tenant.ParseIdentifier(values[0])
	if err != nil {
		return tenantcache.Key{}, fmt.Errorf("tenant header %s: %w", c.headerLabel, err)
	}
	return keyOf(id), nil
}

func keyOf(id tenant.Identifier) tenantcache.Key {
	return tenantcache.Key{Kind: string(id.Kind), Value: id.Value}
}

// host returns the host the client asked for: X-Forwarded-Host when the
// direct peer is a trusted proxy and sent one, else the Host header. Of a
// list ("a, b", or the header repeated) the last value is taken: a proxy that
// appends writes the Host it received last, and anything before it came from
// further away, possibly from the client itself.
func (c compiled) host(req *http.Request) string {
	if len(c.trusted) == 0 || !c.trustedPeer(req.RemoteAddr) {
		return req.Host
	}
	values := req.Header.Values(forwardedHostHeader)
	if len(values) == 0 {
		return req.Host
	}
	last := values[len(values)-1]
	if i := strings.LastIndexByte(last, ','); i >= 0 {
		last = last[i+1:]
	}
	if last = strings.TrimSpace(last); last == "" {
		return req.Host
	}
	return last
}

// trustedPeer reports whether remoteAddr ("ip:port", as net/http sets it) is
// inside a trusted proxy network.
func (c compiled) trustedPeer(remoteAddr string) bool {
	var addr netip.Addr
	if ap, err := netip.ParseAddrPort(remoteAddr); err == nil {
		addr = ap.Addr()
	} else if a, err := netip.ParseAddr(remoteAddr); err == nil {
		addr = a
	} else {
		return false
	}
	addr = addr.Unmap().WithZone("")
	for _, p := range c.trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

type ctxKey struct{}

// WithTenant returns a copy of ctx that carries t.
func WithTenant(ctx context.Context, t tenantcache.Tenant) context.Context {
	return context.WithValue(ctx, ctxKey{}, t)
}

// FromContext returns the tenant that Middleware (or WithTenant) put on ctx,
// and whether there is one.
func FromContext(ctx context.Context) (tenantcache.Tenant, bool) {
	t, ok := ctx.Value(ctxKey{}).(tenantcache.Tenant)
	return t, ok
}
