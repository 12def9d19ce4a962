package tenancy_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/platform/tenantcache"
	"github.com/rustok/rustok/transport/http/tenancy"
)

// fakeResolver answers from a fixed list and records every key it is asked
// for. With anyKey set it answers an active tenant for every key.
type fakeResolver struct {
	tenants []tenantcache.Tenant
	anyKey  bool
	err     error

	mu   sync.Mutex
	keys []tenantcache.Key
}

var (
	_ tenancy.Resolver = (*fakeResolver)(nil)
	_ tenancy.Resolver = (*tenantcache.Resolver)(nil)
)

func (f *fakeResolver) Resolve(_ context.Context, key tenantcache.Key) (tenantcache.Tenant, error) {
	f.mu.Lock()
	f.keys = append(f.keys, key)
	f.mu.Unlock()
	if f.err != nil {
		return tenantcache.Tenant{}, f.err
	}
	if f.anyKey {
		return tenantcache.Tenant{ID: "any", Slug: key.Value, Status: "active"}, nil
	}
	for _, t := range f.tenants {
		switch {
		case key.Kind == tenantcache.KindID && t.ID == key.Value,
			key.Kind == tenantcache.KindSlug && t.Slug == key.Value,
			key.Kind == tenantcache.KindHost && slices.Contains(t.Domains, key.Value):
			return t, nil
		}
	}
	return tenantcache.Tenant{}, tenantcache.ErrNotFound
}

func (f *fakeResolver) calls() []tenantcache.Key {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.keys)
}

func (f *fakeResolver) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys = nil
}

const acmeID = "0190b6a4-0000-7000-8000-000000000001"

var tenants = []tenantcache.Tenant{
	{ID: acmeID, Slug: "acme", Name: "Acme", Status: "active", Domains: []string{"acme.example", "shop.acme.example"}},
	{ID: "0190b6a4-0000-7000-8000-000000000002", Slug: "demo", Name: "Demo", Status: "active", Domains: []string{"demo.localhost"}},
	{ID: "0190b6a4-0000-7000-8000-000000000003", Slug: "dormant", Name: "Dormant", Status: "disabled"},
	{ID: "0190b6a4-0000-7000-8000-000000000004", Slug: "odd", Name: "Odd", Status: "archived"},
}

// newEcho builds an echo instance the way the server does (the middleware
// on the /api group) with a minimal error handler that maps domain codes to
// statuses, as the real one does.
func newEcho(tb testing.TB, cfg tenancy.Config, r tenancy.Resolver) *echo.Echo {
	tb.Helper()
	if err := cfg.Validate(); err != nil {
		tb.Fatalf("Validate: %v", err)
	}
	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		status := map[domain.Code]int{
			domain.CodeBadInput:  http.StatusBadRequest,
			domain.CodeNotFound:  http.StatusNotFound,
			domain.CodeForbidden: http.StatusForbidden,
		}[domain.CodeOf(err)]
		var he *echo.HTTPError
		switch {
		case errors.As(err, &he):
			status = he.Code
		case status == 0:
			status = http.StatusInternalServerError
		}
		_ = c.JSON(status, map[string]string{"code": string(domain.CodeOf(err)), "detail": domain.MessageOf(err)})
	}
	ok := func(c echo.Context) error { return c.String(http.StatusOK, "ok") }
	e.GET("/health", ok)
	api := e.Group("/api", tenancy.Middleware(cfg, r))
	api.GET("/docs", ok)
	api.GET("/openapi.json", ok)
	api.GET("/whoami", func(c echo.Context) error {
		t, found := tenancy.FromContext(c.Request().Context())
		if !found {
			return errors.New("no tenant on the request context")
		}
		if et, _ := c.Get(tenancy.ContextKey).(tenantcache.Tenant); et.ID != t.ID {
			return errors.New("echo context tenant differs from the request context tenant")
		}
		return c.JSON(http.StatusOK, map[string]string{"id": t.ID, "slug": t.Slug})
	})
	return e
}

type request struct {
	path       string // default /api/whoami
	host       string // default api.rustok.example
	remoteAddr string // default 203.0.113.9:40000
	header     http.Header
}

type response struct {
	status int
	code   string // error code, "" on success
	detail string
	slug   string // resolved tenant, on success
}

func do(tb testing.TB, e *echo.Echo, r request) response {
	tb.Helper()
	if r.path == "" {
		r.path = "/api/whoami"
	}
	req := httptest.NewRequest(http.MethodGet, r.path, nil)
	req.Host = "api.rustok.example"
	if r.host != "" {
		req.Host = r.host
	}
	req.RemoteAddr = "203.0.113.9:40000"
	if r.remoteAddr != "" {
		req.RemoteAddr = r.remoteAddr
	}
	for k, v := range r.header {
		// Keys canonical as net/http's server makes them; values unchecked.
		k = http.CanonicalHeaderKey(k)
		req.Header[k] = append(req.Header[k], v...)
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	out := response{status: rec.Code}
	if rec.Code == http.StatusOK && !strings.HasPrefix(r.path, "/api/whoami") {
		return out
	}
	var body map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		tb.Fatalf("response body %q: %v", rec.Body.String(), err)
	}
	out.code, out.detail, out.slug = body["code"], body["detail"], body["slug"]
	return out
}

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i < len(kv); i += 2 {
		h[kv[i]] = append(h[kv[i]], kv[i+1])
	}
	return h
}

func slugKey(s string) tenantcache.Key { return tenantcache.Key{Kind: tenantcache.KindSlug, Value: s} }
func hostKey(h string) tenantcache.Key { return tenantcache.Key{Kind: tenantcache.KindHost, Value: h} }
func idKey(id string) tenantcache.Key  { return tenantcache.Key{Kind: tenantcache.KindID, Value: id} }

type testCase struct {
	name     string
	req      request
	want     response
	wantKeys []tenantcache.Key // the resolver's calls; nil: not called
}

func run(t *testing.T, cfg tenancy.Config, tests []testCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &fakeResolver{tenants: tenants}
			e := newEcho(t, cfg, r)
			if got := do(t, e, tc.req); got != tc.want {
				t.Errorf("response = %+v, want %+v", got, tc.want)
			}
			if got := r.calls(); !slices.Equal(got, tc.wantKeys) {
				t.Errorf("resolver calls = %v, want %v", got, tc.wantKeys)
			}
		})
	}
}

var (
	ok        = func(slug string) response { return response{status: 200, slug: slug} }
	badInput  = func(detail string) response { return response{status: 400, code: "BAD_USER_INPUT", detail: detail} }
	notFound  = response{status: 404, code: "NOT_FOUND", detail: "tenant not found"}
	forbidden = response{status: 403, code: "FORBIDDEN", detail: "tenant is disabled"}
)

const invalidIdentifier = "tenant identifier must be a tenant id (UUID) or a slug"

func TestHeaderResolution(t *testing.T) {
	run(t, tenancy.Config{Enabled: true, Resolution: tenancy.ResolutionHeader}, []testCase{
		{name: "tenant id", req: request{header: hdr("X-Tenant-ID", acmeID)}, want: ok("acme"), wantKeys: []tenantcache.Key{idKey(acmeID)}},
		{name: "upper-case tenant id is the lowercase id", req: request{header: hdr("X-Tenant-ID", strings.ToUpper(acmeID))}, want: ok("acme"), wantKeys: []tenantcache.Key{idKey(acmeID)}},
		{name: "slug", req: request{header: hdr("X-Tenant-ID", "acme")}, want: ok("acme"), wantKeys: []tenantcache.Key{slugKey("acme")}},
		{name: "upper-case slug is normalized", req: request{header: hdr("X-Tenant-ID", "ACME")}, want: ok("acme"), wantKeys: []tenantcache.Key{slugKey("acme")}},
		{name: "surrounding white space is trimmed", req: request{header: hdr("X-Tenant-ID", " acme\t")}, want: ok("acme"), wantKeys: []tenantcache.Key{slugKey("acme")}},
		{name: "header name is case-insensitive", req: request{header: hdr("X-Tenant-Id", "acme")}, want: ok("acme"), wantKeys: []tenantcache.Key{slugKey("acme")}},
		{name: "missing header without a default is refused", req: request{}, want: badInput("tenant header X-Tenant-ID is required")},
		{name: "header sent twice is refused", req: request{header: hdr("X-Tenant-ID", "acme", "X-Tenant-ID", "demo")}, want: badInput("tenant header X-Tenant-ID must be sent once")},
		{name: "hex without hyphens is a slug, not an id", req: request{header: hdr("X-Tenant-ID", strings.ReplaceAll(acmeID, "-", ""))}, want: notFound, wantKeys: []tenantcache.Key{slugKey(strings.ReplaceAll(acmeID, "-", ""))}},
		{name: "unknown tenant", req: request{header: hdr("X-Tenant-ID", "nobody")}, want: notFound, wantKeys: []tenantcache.Key{slugKey("nobody")}},
		{name: "disabled tenant", req: request{header: hdr("X-Tenant-ID", "dormant")}, want: forbidden, wantKeys: []tenantcache.Key{slugKey("dormant")}},
		{name: "tenant in an unknown status is refused", req: request{header: hdr("X-Tenant-ID", "odd")}, want: forbidden, wantKeys: []tenantcache.Key{slugKey("odd")}},
		{name: "host is ignored in header mode", req: request{host: "acme.example", header: hdr("X-Tenant-ID", "demo")}, want: ok("demo"), wantKeys: []tenantcache.Key{slugKey("demo")}},
		{name: "paths outside /api need no tenant", req: request{path: "/health"}, want: response{status: 200}},
		{name: "/api/docs needs no tenant", req: request{path: "/api/docs"}, want: response{status: 200}},
		{name: "/api/openapi.json needs no tenant", req: request{path: "/api/openapi.json"}, want: response{status: 200}},
		{name: "dot segments after /api/docs still need a tenant", req: request{path: "/api/docs/../whoami"}, want: badInput("tenant header X-Tenant-ID is required")},
		{name: "unknown /api routes still need a tenant", req: request{path: "/api/nope"}, want: badInput("tenant header X-Tenant-ID is required")},
	})
}

func TestHeaderResolutionRefusesInvalidIdentifiers(t *testing.T) {
	values := map[string]string{
		"64 characters":           strings.Repeat("a", 64),
		"1000 characters":         strings.Repeat("a", 1000),
		"path traversal":          "../etc",
		"unicode letter":          "acmé",
		"full-width letters":      "ＡＣＭＥ",
		"kelvin sign":             "\u212Aelvin",
		"reserved slug":           "admin",
		"reserved slug any case":  "Admin",
		"empty":                   "",
		"spaces only":             "   ",
		"inner space":             "ac me",
		"leading hyphen":          "-acme",
		"host name":               "acme.example",
		"underscore":              "ac_me",
		"control character":       "acme\x00",
		"newline":                 "acme\nX-Evil: 1",
		"uuid with braces":        "{" + acmeID + "}",
		"sql":                     "acme' OR '1'='1",
		"percent-encoded":         "%61cme",
		"comma-separated list":    "acme,demo",
		"emoji":                   "🦀",
		"right-to-left override":  "\u202Eemca",
		"zero-width space inside": "ac\u200Bme",
	}
	var tests []testCase
	for name, v := range values {
		tests = append(tests, testCase{name: name, req: request{header: hdr("X-Tenant-ID", v)}, want: badInput(invalidIdentifier)})
	}
	slices.SortFunc(tests, func(a, b testCase) int { return strings.Compare(a.name, b.name) })
	// With a default, a header that is present but invalid is still refused.
	run(t, tenancy.Config{Enabled: true, DefaultID: "demo"}, tests)
}

func TestHeaderResolutionDefaults(t *testing.T) {
	t.Run("missing header uses the default tenant", func(t *testing.T) {
		run(t, tenancy.Config{Enabled: true, DefaultID: "demo"}, []testCase{
			{name: "slug default", req: request{}, want: ok("demo"), wantKeys: []tenantcache.Key{slugKey("demo")}},
		})
		run(t, tenancy.Config{Enabled: true, DefaultID: acmeID}, []testCase{
			{name: "id default", req: request{}, want: ok("acme"), wantKeys: []tenantcache.Key{idKey(acmeID)}},
		})
	})
	t.Run("configured header name", func(t *testing.T) {
		run(t, tenancy.Config{Enabled: true, HeaderName: "x-workspace"}, []testCase{
			{name: "is read", req: request{header: hdr("X-Workspace", "acme")}, want: ok("acme"), wantKeys: []tenantcache.Key{slugKey("acme")}},
			{name: "replaces X-Tenant-ID (named as configured)", req: request{header: hdr("X-Tenant-ID", "acme")}, want: badInput("tenant header x-workspace is required")},
		})
	})
	t.Run("resolution disabled", func(t *testing.T) {
		run(t, tenancy.Config{Enabled: false, DefaultID: "demo"}, []testCase{
			{name: "uses the default tenant", req: request{}, want: ok("demo"), wantKeys: []tenantcache.Key{slugKey("demo")}},
			{name: "ignores the header", req: request{header: hdr("X-Tenant-ID", "acme")}, want: ok("demo"), wantKeys: []tenantcache.Key{slugKey("demo")}},
			{name: "ignores even an invalid header", req: request{header: hdr("X-Tenant-ID", "../etc")}, want: ok("demo"), wantKeys: []tenantcache.Key{slugKey("demo")}},
		})
		run(t, tenancy.Config{Enabled: false, DefaultID: "dormant"}, []testCase{
			{name: "a disabled default tenant is refused", req: request{}, want: forbidden, wantKeys: []tenantcache.Key{slugKey("dormant")}},
		})
	})
}

func TestResolutionDisabledResolvesOncePerRequest(t *testing.T) {
	r := &fakeResolver{tenants: tenants}
	e := newEcho(t, tenancy.Config{DefaultID: "demo"}, r)
	for range 3 {
		if got := do(t, e, request{}); got != ok("demo") {
			t.Fatalf("response = %+v, want demo", got)
		}
	}
	if got := r.calls(); len(got) != 3 {
		t.Fatalf("resolver calls = %v, want one per request", got)
	}
}

func TestHostResolution(t *testing.T) {
	run(t, tenancy.Config{Enabled: true, Resolution: tenancy.ResolutionHost}, []testCase{
		{name: "exact domain", req: request{host: "acme.example"}, want: ok("acme"), wantKeys: []tenantcache.Key{hostKey("acme.example")}},
		{name: "port is stripped and case folded", req: request{host: "Shop.ACME.example:8443"}, want: ok("acme"), wantKeys: []tenantcache.Key{hostKey("shop.acme.example")}},
		{name: "trailing dot is stripped", req: request{host: "acme.example."}, want: ok("acme"), wantKeys: []tenantcache.Key{hostKey("acme.example")}},
		{name: "unknown domain", req: request{host: "nobody.example"}, want: notFound, wantKeys: []tenantcache.Key{hostKey("nobody.example")}},
		{name: "header is ignored in host mode", req: request{host: "demo.localhost:5150", header: hdr("X-Tenant-ID", "acme")}, want: ok("demo"), wantKeys: []tenantcache.Key{hostKey("demo.localhost")}},
		{name: "invalid host is refused", req: request{host: "acme_example"}, want: badInput(hostError)},
		{name: "IPv6 literal is refused", req: request{host: "[::1]:5150"}, want: badInput(hostError)},
		{name: "bad port is refused", req: request{host: "acme.example:99999"}, want: badInput(hostError)},
		{name: "overlong label is refused", req: request{host: strings.Repeat("a", 64) + ".example"}, want: badInput(hostError)},
		{name: "untrusted X-Forwarded-Host is ignored", req: request{host: "nobody.example", header: hdr("X-Forwarded-Host", "acme.example")}, want: notFound, wantKeys: []tenantcache.Key{hostKey("nobody.example")}},
	})
}

const hostError = "host must be a domain name of at most 253 characters, in labels of 1 to 63 characters of a-z, 0-9 and '-' that neither start nor end with '-'"

func TestSubdomainResolution(t *testing.T) {
	run(t, tenancy.Config{Enabled: true, Resolution: tenancy.ResolutionSubdomain, BaseDomains: []string{"rustok.example", "Shops.Example."}}, []testCase{
		{name: "slug under a base domain", req: request{host: "acme.rustok.example"}, want: ok("acme"), wantKeys: []tenantcache.Key{slugKey("acme")}},
		{name: "slug under another base domain, with port and upper case", req: request{host: "ACME.shops.example:443"}, want: ok("acme"), wantKeys: []tenantcache.Key{slugKey("acme")}},
		{name: "unknown slug", req: request{host: "nobody.rustok.example"}, want: notFound, wantKeys: []tenantcache.Key{slugKey("nobody")}},
		{name: "disabled tenant", req: request{host: "dormant.rustok.example"}, want: forbidden, wantKeys: []tenantcache.Key{slugKey("dormant")}},
		{name: "two-level subdomain falls back to the exact host", req: request{host: "www.acme.rustok.example"}, want: notFound, wantKeys: []tenantcache.Key{hostKey("www.acme.rustok.example")}},
		{name: "reserved label falls back to the exact host", req: request{host: "admin.rustok.example"}, want: notFound, wantKeys: []tenantcache.Key{hostKey("admin.rustok.example")}},
		{name: "base domain itself falls back to the exact host", req: request{host: "rustok.example"}, want: notFound, wantKeys: []tenantcache.Key{hostKey("rustok.example")}},
		{name: "host outside the base domains is a tenant domain", req: request{host: "shop.acme.example"}, want: ok("acme"), wantKeys: []tenantcache.Key{hostKey("shop.acme.example")}},
		{name: "suffix that is not a label boundary is outside", req: request{host: "acmerustok.example"}, want: notFound, wantKeys: []tenantcache.Key{hostKey("acmerustok.example")}},
		{name: "invalid host is refused", req: request{host: "ac me.rustok.example"}, want: badInput(hostError)},
	})
}

func TestForwardedHost(t *testing.T) {
	cfg := tenancy.Config{
		Enabled:        true,
		Resolution:     tenancy.ResolutionSubdomain,
		BaseDomains:    []string{"rustok.example"},
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")},
	}
	const (
		trusted   = "10.1.2.3:51000"
		untrusted = "203.0.113.9:51000"
	)
	run(t, cfg, []testCase{
		{name: "ignored from an untrusted peer", req: request{remoteAddr: untrusted, host: "demo.rustok.example", header: hdr("X-Forwarded-Host", "acme.rustok.example")}, want: ok("demo"), wantKeys: []tenantcache.Key{slugKey("demo")}},
		{name: "honoured from a trusted peer", req: request{remoteAddr: trusted, host: "internal.svc", header: hdr("X-Forwarded-Host", "acme.rustok.example")}, want: ok("acme"), wantKeys: []tenantcache.Key{slugKey("acme")}},
		{name: "honoured from a trusted IPv6 peer", req: request{remoteAddr: "[fd00::7]:51000", host: "internal.svc", header: hdr("X-Forwarded-Host", "acme.rustok.example")}, want: ok("acme"), wantKeys: []tenantcache.Key{slugKey("acme")}},
		{name: "honoured from a trusted peer in IPv4-mapped form", req: request{remoteAddr: "[::ffff:10.1.2.3]:51000", host: "internal.svc", header: hdr("X-Forwarded-Host", "acme.rustok.example")}, want: ok("acme"), wantKeys: []tenantcache.Key{slugKey("acme")}},
		{name: "last of a list, as appended by the trusted proxy", req: request{remoteAddr: trusted, header: hdr("X-Forwarded-Host", "demo.rustok.example, acme.rustok.example")}, want: ok("acme"), wantKeys: []tenantcache.Key{slugKey("acme")}},
		{name: "last of repeated headers", req: request{remoteAddr: trusted, header: hdr("X-Forwarded-Host", "demo.rustok.example", "X-Forwarded-Host", "acme.rustok.example")}, want: ok("acme"), wantKeys: []tenantcache.Key{slugKey("acme")}},
		{name: "trusted peer without the header: Host", req: request{remoteAddr: trusted, host: "demo.rustok.example"}, want: ok("demo"), wantKeys: []tenantcache.Key{slugKey("demo")}},
		{name: "empty forwarded host: Host", req: request{remoteAddr: trusted, host: "demo.rustok.example", header: hdr("X-Forwarded-Host", " ")}, want: ok("demo"), wantKeys: []tenantcache.Key{slugKey("demo")}},
		{name: "invalid forwarded host from a trusted peer is refused", req: request{remoteAddr: trusted, host: "demo.rustok.example", header: hdr("X-Forwarded-Host", "../etc")}, want: badInput(hostError)},
		{name: "unparsable peer address is untrusted", req: request{remoteAddr: "pipe", host: "demo.rustok.example", header: hdr("X-Forwarded-Host", "acme.rustok.example")}, want: ok("demo"), wantKeys: []tenantcache.Key{slugKey("demo")}},
	})
	run(t, tenancy.Config{Enabled: true, Resolution: tenancy.ResolutionHost}, []testCase{
		{name: "ignored when no proxy is trusted", req: request{remoteAddr: trusted, host: "demo.localhost", header: hdr("X-Forwarded-Host", "acme.example")}, want: ok("demo"), wantKeys: []tenantcache.Key{hostKey("demo.localhost")}},
	})
}

func TestResolverFailureIsInternal(t *testing.T) {
	r := &fakeResolver{err: errors.New("database is down")}
	e := newEcho(t, tenancy.Config{Enabled: true}, r)
	got := do(t, e, request{header: hdr("X-Tenant-ID", "acme")})
	if want := (response{status: 500, code: "INTERNAL", detail: "internal error"}); got != want {
		t.Fatalf("response = %+v, want %+v", got, want)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     tenancy.Config
		wantErr []string // substrings, one per reported problem
	}{
		{name: "zero value with a default is valid", cfg: tenancy.Config{DefaultID: "demo"}},
		{name: "header mode without default is valid", cfg: tenancy.Config{Enabled: true}},
		{name: "subdomain mode with base domains is valid", cfg: tenancy.Config{Enabled: true, Resolution: "subdomain", BaseDomains: []string{"rustok.example"}}},
		{name: "unknown resolution", cfg: tenancy.Config{Enabled: true, Resolution: "cookie"}, wantErr: []string{`tenant resolution "cookie": must be header, host or subdomain`}},
		{name: "disabled without default", cfg: tenancy.Config{}, wantErr: []string{"a default tenant id is required"}},
		{name: "invalid default", cfg: tenancy.Config{Enabled: true, DefaultID: "admin"}, wantErr: []string{`tenant default id "admin"`}},
		{name: "subdomain mode without base domains", cfg: tenancy.Config{Enabled: true, Resolution: "subdomain"}, wantErr: []string{"needs at least one base domain"}},
		{name: "invalid base domain", cfg: tenancy.Config{Enabled: true, Resolution: "subdomain", BaseDomains: []string{"bad_domain"}}, wantErr: []string{`tenant base domain 0 "bad_domain"`}},
		{name: "invalid proxy network", cfg: tenancy.Config{Enabled: true, TrustedProxies: []netip.Prefix{{}}}, wantErr: []string{"trusted proxy"}},
		{name: "every problem at once", cfg: tenancy.Config{Resolution: "cookie", BaseDomains: []string{"-x"}}, wantErr: []string{"cookie", "default tenant id", `"-x"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate = nil, want errors %q", tc.wantErr)
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Validate = %q, want it to contain %q", err, want)
				}
			}
		})
	}
}

func TestMiddlewarePanicsOnInvalidConfig(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Middleware accepted an invalid config")
		}
	}()
	tenancy.Middleware(tenancy.Config{Enabled: true, Resolution: "cookie"}, &fakeResolver{})
}

func TestContext(t *testing.T) {
	if _, ok := tenancy.FromContext(context.Background()); ok {
		t.Fatal("FromContext found a tenant on an empty context")
	}
	want := tenants[0]
	got, ok := tenancy.FromContext(tenancy.WithTenant(context.Background(), want))
	if !ok || got.ID != want.ID || got.Slug != want.Slug {
		t.Fatalf("FromContext = %+v, %v; want %+v", got, ok, want)
	}
}
