package config

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Validate checks every key of c and returns nil or all the problems at once,
// joined with errors.Join, one per line, each starting with the key:
//
//	server.port: must be between 0 and 65535, got 70000
//
// No message contains a secret or a URL password. Validate does not change c.
func (c Config) Validate() error {
	var v validator
	if err := checkEnv(c.Env); err != nil {
		v.errs = append(v.errs, err)
	}
	v.server(c.Server)
	v.database(c.Database, c.Env == EnvProduction)
	v.oneOf("logger.level", c.Logger.Level, "debug", "info", "warn", "error")
	v.oneOf("logger.format", c.Logger.Format, "text", "json")
	v.jwt(c.Auth.JWT, c.Env == EnvProduction)
	v.password(c.Auth.Password)
	v.graphQL(c.GraphQL)
	if c.Redis.URL != "" {
		v.urlScheme("redis.url", c.Redis.URL, "redis", "rediss", "unix")
	}
	r := c.Settings.Rustok
	v.tenant(r.Tenant)
	v.rateLimit(r.RateLimit)
	v.events(r.Events)
	v.email(r.Email)
	v.oneOf("settings.rustok.storage.driver", r.Storage.Driver, "local", "s3")
	if r.Storage.Driver == "local" {
		v.nonEmpty("settings.rustok.storage.local_dir", r.Storage.LocalDir)
	}
	v.modules(r.Modules)
	return errors.Join(v.errs...)
}

// validator collects the problems found by Validate.
type validator struct {
	errs []error
}

func (v *validator) add(key, format string, args ...any) {
	v.errs = append(v.errs, &keyError{key: key, msg: fmt.Sprintf(format, args...)})
}

func (v *validator) server(s Server) {
	switch {
	case s.Host == "":
		v.add("server.host", `must be set ("0.0.0.0" or "::" listens on all interfaces)`)
	case hasPort(s.Host):
		v.add("server.host", "must not include a port (set server.port), got %q", s.Host)
	}
	v.between("server.port", s.Port, 0, 65535) // 0: a free port, chosen at start
	if _, reason := parseSize(s.BodyLimit); reason != "" {
		v.add("server.body_limit", "%s, got %q", reason, s.BodyLimit)
	}
	v.positive("server.read_timeout", s.ReadTimeout)
	v.positive("server.write_timeout", s.WriteTimeout)
	v.positive("server.shutdown_timeout", s.ShutdownTimeout)
	for i, o := range s.CORS.AllowedOrigins {
		if reason := checkOrigin(o); reason != "" {
			v.add("server.cors.allowed_origins", "entry %d %s, got %q", i+1, reason, o)
		}
	}
	if s.CORS.MaxAge < 0 || s.CORS.MaxAge > 24*time.Hour {
		v.add("server.cors.max_age", "must be between 0s and 24h, got %s", s.CORS.MaxAge)
	}
}

// checkOrigin explains why o is not an origin pattern, or returns "".
func checkOrigin(o string) string {
	scheme, rest, ok := strings.Cut(o, "://")
	if !ok || scheme != "http" && scheme != "https" {
		return `must start with http:// or https://`
	}
	host := strings.TrimPrefix(rest, "*.")
	if h, port, err := net.SplitHostPort(host); err == nil {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "must have a port between 1 and 65535"
		}
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if net.ParseIP(host) == nil && !isHostname(host) {
		return "must be scheme://host[:port] with nothing after (no path, no *, except a leading *.)"
	}
	return ""
}

func (v *validator) database(d Database, production bool) {
	const key = "database.url"
	scheme, rest, found := strings.Cut(d.URL, "://")
	switch {
	case d.URL == "" && production:
		// Production has no default: a forgotten DATABASE_URL must not
		// silently start on a local SQLite file.
		v.add(key, "must be set in production (set DATABASE_URL or RUSTOK_DATABASE__URL)")
	case d.URL == "":
		v.add(key, "must be set (sqlite://./data/rustok.db or postgres://user:password@host:5432/db)")
	case !found:
		// Without "://" the value may be a keyword DSN holding a password: never show it.
		v.add(key, "must start with sqlite://, postgres:// or postgresql://")
	case scheme == "sqlite":
		if path, _, _ := strings.Cut(rest, "?"); path == "" || path == "/" {
			v.add(key, "must name a file: sqlite://./relative/path.db or sqlite:///absolute/path.db")
		}
	case scheme == "postgres" || scheme == "postgresql":
		if _, err := url.Parse(d.URL); err != nil {
			// url's errors quote the whole URL: say only what is wrong.
			v.add(key, "is not a valid URL, got %q", maskURL(d.URL))
		}
	default:
		v.add(key, "scheme must be sqlite://, postgres:// or postgresql://, got %q", maskURL(d.URL))
	}
	if d.MaxOpenConns < 1 {
		v.add("database.max_open_conns", "must be at least 1, got %d", d.MaxOpenConns)
	}
}

func (v *validator) jwt(j JWT, production bool) {
	switch j.Algorithm {
	case "HS256":
		switch {
		case production && len(j.Secret) < 32:
			v.add("auth.jwt.secret", "must be at least 32 bytes in production (set RUSTOK_JWT_SECRET)")
		case production && j.Secret == devJWTSecret:
			v.add("auth.jwt.secret", "must not be the development secret in production (set RUSTOK_JWT_SECRET)")
		case j.Secret == "":
			v.add("auth.jwt.secret", "must be set when auth.jwt.algorithm is HS256")
		}
	case "EdDSA":
		if len(j.Keys) == 0 {
			v.add("auth.jwt.keys", "must list at least one key when auth.jwt.algorithm is EdDSA")
		}
	default:
		v.add("auth.jwt.algorithm", "must be HS256 or EdDSA, got %q", j.Algorithm)
	}
	for i, key := range j.Keys {
		if strings.TrimSpace(key) == "" {
			v.add("auth.jwt.keys", "entry %d is empty", i+1)
		}
	}
	v.positive("auth.jwt.access_ttl", j.AccessTTL)
	if j.RefreshTTL <= j.AccessTTL {
		v.add("auth.jwt.refresh_ttl", "must be longer than auth.jwt.access_ttl (%s), got %s", j.AccessTTL, j.RefreshTTL)
	}
	v.nonEmpty("auth.jwt.issuer", j.Issuer)
	v.nonEmpty("auth.jwt.audience", j.Audience)
}

func (v *validator) password(p Password) {
	if p.Argon2Parallelism < 1 {
		v.add("auth.password.argon2_parallelism", "must be at least 1, got %d", p.Argon2Parallelism)
	}
	if least := 8 * uint32(max(p.Argon2Parallelism, 1)); p.Argon2MemoryKiB < least {
		v.add("auth.password.argon2_memory_kib", "must be at least 8 KiB per lane of parallelism (%d), got %d", least, p.Argon2MemoryKiB)
	}
	if p.Argon2Iterations < 1 {
		v.add("auth.password.argon2_iterations", "must be at least 1, got %d", p.Argon2Iterations)
	}
	if p.MinLength < 1 {
		v.add("auth.password.min_length", "must be at least 1, got %d", p.MinLength)
	}
}

func (v *validator) graphQL(g GraphQL) {
	v.atLeastOne("graphql.max_depth", g.MaxDepth)
	v.atLeastOne("graphql.max_complexity", g.MaxComplexity)
	v.atLeastOne("graphql.max_aliases", g.MaxAliases)
	if g.ReadYourWritesTimeout < 0 {
		v.add("graphql.read_your_writes_timeout", "must not be negative, got %s", g.ReadYourWritesTimeout)
	}
}

func (v *validator) tenant(t Tenant) {
	const prefix = "settings.rustok.tenant."
	v.oneOf(prefix+"resolution", t.Resolution, "header", "host", "subdomain")
	if !isHTTPToken(t.HeaderName) {
		v.add(prefix+"header_name", "must be an HTTP header name such as X-Tenant-ID, got %q", t.HeaderName)
	}
	if !t.Enabled && t.DefaultID == "" {
		v.add(prefix+"default_id", "must be set when settings.rustok.tenant.enabled is false")
	}
	for _, d := range t.BaseDomains {
		if !isHostname(d) {
			v.add(prefix+"base_domains", "entries must be domain names without scheme or port, got %q", d)
		}
	}
	if t.Resolution == "subdomain" && len(t.BaseDomains) == 0 {
		v.add(prefix+"base_domains", "must list at least one domain when resolution is subdomain")
	}
	v.positive(prefix+"cache_ttl", t.CacheTTL)
	v.positive(prefix+"negative_cache_ttl", t.NegativeCacheTTL)
	v.atLeastOne(prefix+"cache_max_entries", t.CacheMaxEntries)
}

func (v *validator) rateLimit(r RateLimit) {
	const prefix = "settings.rustok.rate_limit."
	limits := []struct {
		key   string
		value int
	}{
		{"requests_per_minute", r.RequestsPerMinute},
		{"burst", r.Burst},
		{"auth_requests_per_minute", r.AuthRequestsPerMinute},
		{"auth_burst", r.AuthBurst},
	}
	for _, l := range limits {
		// Limits of a disabled limiter are not used, but must still make sense.
		if l.value < 0 || r.Enabled && l.value == 0 {
			v.add(prefix+l.key, "must be at least 1, got %d", l.value)
		}
	}
	for _, p := range r.TrustedProxies {
		if !isIPOrCIDR(p) {
			v.add(prefix+"trusted_proxies", "entries must be IP addresses or CIDR prefixes, got %q", p)
		}
	}
}

func (v *validator) events(e Events) {
	const prefix = "settings.rustok.events."
	v.between(prefix+"relay_batch_size", e.RelayBatchSize, 1, 10000)
	v.positive(prefix+"poll_interval", e.PollInterval)
	v.atLeastOne(prefix+"dead_letter_after", e.DeadLetterAfter)
	if e.Forward.NatsURL == "" {
		return
	}
	for u := range strings.SplitSeq(e.Forward.NatsURL, ",") {
		v.urlScheme(prefix+"forward.nats_url", strings.TrimSpace(u), "nats", "tls", "ws", "wss")
	}
	if p := e.Forward.SubjectPrefix; p == "" || strings.ContainsAny(p, " \t\r\n*>") ||
		strings.HasPrefix(p, ".") || strings.HasSuffix(p, ".") || strings.Contains(p, "..") {
		v.add(prefix+"forward.subject_prefix", "must be NATS subject tokens separated by dots, without spaces or wildcards, got %q", p)
	}
}

func (v *validator) email(e Email) {
	const prefix = "settings.rustok.email."
	v.oneOf(prefix+"driver", e.Driver, "smtp", "log", "file")
	if _, err := mail.ParseAddress(e.From); err != nil {
		v.add(prefix+"from", `must be an email address such as "RusToK <no-reply@example.com>", got %q`, e.From)
	}
	if u, err := url.Parse(e.ResetBaseURL); err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		v.add(prefix+"reset_base_url", "must be an absolute http:// or https:// URL, got %q", maskURL(e.ResetBaseURL))
	}
	switch e.Driver {
	case "file":
		v.nonEmpty(prefix+"file_dir", e.FileDir)
	case "smtp":
		v.nonEmpty(prefix+"smtp.host", e.SMTP.Host)
		v.between(prefix+"smtp.port", e.SMTP.Port, 1, 65535)
	}
}

func (v *validator) modules(m Modules) {
	const key = "settings.rustok.modules.default_enabled"
	for i, slug := range m.DefaultEnabled {
		switch {
		case !isModuleSlug(slug):
			v.add(key, "entries must be module slugs (lowercase letters, digits, '-' and '_'), got %q", slug)
		case slices.Contains(m.DefaultEnabled[:i], slug):
			v.add(key, "lists %q twice", slug)
		}
	}
}

func (v *validator) oneOf(key, value string, allowed ...string) {
	if !slices.Contains(allowed, value) {
		v.add(key, "must be %s, got %q", orList(allowed), value)
	}
}

func (v *validator) between(key string, value, lo, hi int) {
	if value < lo || value > hi {
		v.add(key, "must be between %d and %d, got %d", lo, hi, value)
	}
}

func (v *validator) atLeastOne(key string, value int) {
	if value < 1 {
		v.add(key, "must be at least 1, got %d", value)
	}
}

func (v *validator) positive(key string, d time.Duration) {
	if d <= 0 {
		v.add(key, "must be a positive duration, got %s", d)
	}
}

func (v *validator) nonEmpty(key, value string) {
	if strings.TrimSpace(value) == "" {
		v.add(key, "must be set")
	}
}

// urlScheme checks that raw is a URL with one of schemes. Its messages show
// the URL with its password masked.
func (v *validator) urlScheme(key, raw string, schemes ...string) {
	scheme, _, found := strings.Cut(raw, "://")
	if !found || !slices.Contains(schemes, scheme) {
		v.add(key, "must be a URL starting with %s, got %q", orList(suffixed(schemes, "://")), maskURL(raw))
	}
}

// orList formats items as `a, b or c`.
func orList(items []string) string {
	if len(items) == 1 {
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

func suffixed(items []string, suffix string) []string {
	out := make([]string, len(items))
	for i, item := range items {
		out[i] = item + suffix
	}
	return out
}

// hasPort reports whether host is a host:port pair.
func hasPort(host string) bool {
	_, port, err := net.SplitHostPort(host)
	return err == nil && port != ""
}

// isIPOrCIDR reports whether s is an IP address or a CIDR prefix.
func isIPOrCIDR(s string) bool {
	if _, err := netip.ParseAddr(s); err == nil {
		return true
	}
	_, err := netip.ParsePrefix(s)
	return err == nil
}

// isHostname reports whether s is a DNS name: dot-separated labels of ASCII
// letters, digits and '-', not starting or ending with '-', at most 253 bytes.
func isHostname(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; !isAlnum(c) && c != '-' {
				return false
			}
		}
	}
	return true
}

// isHTTPToken reports whether s is a valid HTTP header name (RFC 9110 token).
func isHTTPToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}

// isModuleSlug reports whether s is a module slug: lowercase ASCII letters,
// digits, '-' and '_', starting with a letter.
func isModuleSlug(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z') && !('0' <= c && c <= '9') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}
