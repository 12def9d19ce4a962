package httpserver

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// DefaultCORSMaxAge is how long browsers may cache a preflight answer when
// CORS.MaxAge is zero.
const DefaultCORSMaxAge = 10 * time.Minute

// originCheckTimeout bounds one AllowOrigin call (a cache lookup that may
// read the database).
const originCheckTimeout = 2 * time.Second

// CORS configures which browser pages of other origins may call the server
// (Cross-Origin Resource Sharing). An allowed origin gets
// Access-Control-Allow-Origin with its own value (never "*") and
// Access-Control-Allow-Credentials; any other origin gets no CORS header, so
// the browser refuses the page access, and its preflights are answered
// without permission, so the browser does not send the request at all.
type CORS struct {
	// AllowedOrigins are origins, "scheme://host[:port]", whose pages may
	// call the API. A host may start with "*." to allow every subdomain of
	// a domain (not the domain itself): "https://*.example.com".
	AllowedOrigins []string
	// AllowOrigin, when set, is asked about an origin that AllowedOrigins
	// does not allow (the server allows each tenant's own domains through
	// it). It must be fast and safe for concurrent use.
	AllowOrigin func(ctx context.Context, origin *url.URL) bool
	// AllowHeaders are request headers a page may send besides
	// Content-Type, Authorization and X-Request-ID (the tenant header, say).
	AllowHeaders []string
	// MaxAge is how long a browser may cache a preflight answer; default
	// DefaultCORSMaxAge.
	MaxAge time.Duration
}

// corsHeaders are the request headers every allowed page may send; Apollo's
// client headers are among them so that Apollo Client works unchanged.
var corsHeaders = []string{
	echo.HeaderContentType, echo.HeaderAuthorization, HeaderRequestID,
	"Apollographql-Client-Name", "Apollographql-Client-Version", "Apollo-Require-Preflight",
}

// corsExposed are the response headers an allowed page may read.
var corsExposed = []string{HeaderRequestID, "Retry-After", "X-Ratelimit-Limit", "X-Ratelimit-Remaining", "X-Ratelimit-Reset"}

// originPattern is one compiled AllowedOrigins entry.
type originPattern struct {
	scheme, host, port string
	subdomains         bool // host was "*.host"
}

// parseOriginPatterns checks and compiles AllowedOrigins.
func parseOriginPatterns(origins []string) ([]originPattern, error) {
	out := make([]originPattern, 0, len(origins))
	for _, o := range origins {
		wildcard := false
		raw := o
		if scheme, rest, ok := strings.Cut(o, "://*."); ok {
			wildcard, raw = true, scheme+"://"+rest
		}
		u, err := parseOrigin(raw)
		if err != nil {
			return nil, fmt.Errorf("cors allowed origin %q: %w", o, err)
		}
		out = append(out, originPattern{scheme: u.Scheme, host: u.Hostname(), port: u.Port(), subdomains: wildcard})
	}
	return out, nil
}

// parseOrigin parses an Origin header value: an http or https scheme, a
// host, an optional port, nothing else.
func parseOrigin(origin string) (*url.URL, error) {
	if len(origin) > 300 {
		return nil, fmt.Errorf("longer than 300 bytes")
	}
	u, err := url.Parse(origin)
	if err != nil {
		return nil, fmt.Errorf("not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("scheme must be http or https")
	}
	if u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return nil, fmt.Errorf("must be scheme://host[:port] and nothing else")
	}
	if strings.ContainsAny(u.Hostname(), "*") {
		return nil, fmt.Errorf("a wildcard must be the whole first label (*.example.com)")
	}
	if _, _, err := net.SplitHostPort(u.Host); err != nil && strings.Contains(u.Host, ":") && !strings.HasPrefix(u.Host, "[") {
		return nil, fmt.Errorf("bad port")
	}
	return u, nil
}

func (p originPattern) allows(u *url.URL) bool {
	if u.Scheme != p.scheme || u.Port() != p.port {
		return false
	}
	host := strings.ToLower(u.Hostname())
	if p.subdomains {
		return strings.HasSuffix(host, "."+p.host) && len(host) > len(p.host)+1
	}
	return host == p.host
}

// corsMiddleware returns echo's CORS middleware for cfg: origins are decided
// by cfg.AllowedOrigins, then cfg.AllowOrigin.
func corsMiddleware(cfg CORS) (echo.MiddlewareFunc, error) {
	patterns, err := parseOriginPatterns(cfg.AllowedOrigins)
	if err != nil {
		return nil, err
	}
	maxAge := cfg.MaxAge
	if maxAge <= 0 {
		maxAge = DefaultCORSMaxAge
	}
	allow := func(origin string) (bool, error) {
		u, err := parseOrigin(origin)
		if err != nil {
			return false, nil // "null", garbage: never allowed
		}
		for _, p := range patterns {
			if p.allows(u) {
				return true, nil
			}
		}
		if cfg.AllowOrigin == nil {
			return false, nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), originCheckTimeout)
		defer cancel()
		return cfg.AllowOrigin(ctx, u), nil
	}
	headers := append(append([]string{}, corsHeaders...), cfg.AllowHeaders...)
	return middleware.CORSWithConfig(middleware.CORSConfig{
		// echo's CORS answers every OPTIONS request as a preflight; one that
		// is not (no Access-Control-Request-Method) goes to its route, which
		// answers with its Allow header.
		Skipper: func(c echo.Context) bool {
			r := c.Request()
			return r.Method == http.MethodOptions && r.Header.Get(echo.HeaderAccessControlRequestMethod) == ""
		},
		AllowOriginFunc:  allow,
		AllowMethods:     []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete},
		AllowHeaders:     headers,
		ExposeHeaders:    corsExposed,
		AllowCredentials: true,
		MaxAge:           int(maxAge / time.Second),
	}), nil
}
