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
	v.metrics(c.Server, c.Env == EnvProduction)
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
	v.email(r.Email, c.Env == EnvProduction)
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
			v.add(key, "is not a valid URL, got %q", RedactURL(d.URL))
		}
	default:
		v.add(key, "scheme must be sqlite://, postgres:// or postgresql://, got %q", RedactURL(d.URL))
	}
	if d.MaxOpenConns < 1 {
		v.add("database.max_open_conns", "must be at least 1, got %d", d.MaxOpenConns)
	}
	v.oneOf("database.sqlite_synchronous", d.SQLiteSynchronous, "full", "normal")
}

// minMetricsToken is the shortest server.metrics.token accepted, in bytes.
const minMetricsToken = 16

// metrics checks server.metrics: an address of its own or none, a token
// long enough, and in production no public /metrics without a token.
func (v *validator) metrics(s Server, production bool) {
	const prefix = "server.metrics."
	m := s.Metrics
	if m.Listen != "" {
		if reason := checkListenAddr(m.Listen); reason != "" {
			v.add(prefix+"listen", "%s, got %q", reason, m.Listen)
		} else if sameListener(m.Listen, s.Host, s.Port) {
			v.add(prefix+"listen", `must differ from server.host and server.port (leave it "" to serve /metrics there), got %q`, m.Listen)
		}
	}
	switch {
	case m.Token != "" && len(m.Token) < minMetricsToken:
		v.add(prefix+"token", "must be at least %d bytes when set", minMetricsToken)
	case m.Token != "" && !isVisibleASCII(m.Token):
		v.add(prefix+"token", "must be printable ASCII without spaces (it is sent as a bearer token)")
	case production && m.Listen == "" && m.Token == "":
		v.add(prefix+"token", "must be set in production when server.metrics.listen is empty, "+
			"or /metrics is public on server.host and server.port (set RUSTOK_SERVER__METRICS__TOKEN, or listen on 127.0.0.1:9150)")
	}
}

// checkListenAddr explains why addr is not a listen address host:port, or
// returns "". The host may be empty (every interface), an IP or a name; the
// port 0 to 65535 (0: a free port).
func checkListenAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return `must be host:port, such as "127.0.0.1:9150"`
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return "must have a port between 0 and 65535"
	}
	if host != "" && net.ParseIP(host) == nil && !isHostname(host) {
		return "must have an IP address or a host name before the port"
	}
	return ""
}

// sameListener reports whether the valid listen address addr would bind
// the port of the main listener host:port (0 never collides).
func sameListener(addr, host string, port int) bool {
	h, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	if n == 0 || n != port {
		return false
	}
	unspecified := func(h string) bool {
		ip := net.ParseIP(h)
		return h == "" || ip != nil && ip.IsUnspecified()
	}
	return h == host || unspecified(h) || unspecified(host)
}

// isVisibleASCII reports whether s holds only visible ASCII characters
// (0x21 to 0x7E): no space, no control character.
func isVisibleASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// minJWTSecret is the shortest HS256 secret accepted, in bytes, in every
// environment: the size of the HMAC-SHA256 key (RFC 7518, section 3.2),
// below which go-jose refuses to sign (platform/token).
const minJWTSecret = 32

func (v *validator) jwt(j JWT, production bool) {
	switch j.Algorithm {
	case "HS256":
		switch {
		case production && len(j.Secret) < minJWTSecret:
			v.add("auth.jwt.secret", "must be at least 32 bytes in production (set RUSTOK_JWT_SECRET)")
		case j.Secret == "":
			v.add("auth.jwt.secret", "must be set when auth.jwt.algorithm is HS256")
		case len(j.Secret) < minJWTSecret:
			v.add("auth.jwt.secret", "must be at least 32 bytes, got %d (set RUSTOK_JWT_SECRET; `openssl rand -base64 32` makes one)", len(j.Secret))
		case production && j.Secret == devJWTSecret:
			v.add("auth.jwt.secret", "must not be the development secret in production (set RUSTOK_JWT_SECRET)")
		case production:
			if reason := weakSecret(j.Secret); reason != "" {
				v.add("auth.jwt.secret", "is too predictable for production: %s; "+
					"use random bytes, such as the output of `openssl rand -base64 32` (set RUSTOK_JWT_SECRET)", reason)
			}
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
	if j.RefreshGrace < 0 || j.RefreshGrace > 5*time.Minute {
		v.add("auth.jwt.refresh_grace", "must be between 0s and 5m, got %s", j.RefreshGrace)
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
	if p.ResetTTL < time.Second || p.ResetTTL > 24*time.Hour {
		v.add("auth.password.reset_ttl", "must be between 1s and 24h, got %s", p.ResetTTL)
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
	// The bounds of platform/ratelimit.Rate: a rate of at most one request
	// a microsecond.
	const maxPerMinute, maxBurst = 60_000_000, 1_000_000_000
	limits := []struct {
		key   string
		value int
		max   int
	}{
		{"requests_per_minute", r.RequestsPerMinute, maxPerMinute},
		{"burst", r.Burst, maxBurst},
		{"tenant_requests_per_minute", r.TenantRequestsPerMinute, maxPerMinute},
		{"tenant_burst", r.TenantBurst, maxBurst},
		{"auth_requests_per_minute", r.AuthRequestsPerMinute, maxPerMinute},
		{"auth_burst", r.AuthBurst, maxBurst},
	}
	for _, l := range limits {
		// Limits of a disabled limiter are not used, but must still make sense.
		switch {
		case l.value < 0 || r.Enabled && l.value == 0:
			v.add(prefix+l.key, "must be at least 1, got %d", l.value)
		case l.value > l.max:
			v.add(prefix+l.key, "must be at most %d, got %d", l.max, l.value)
		}
	}
	v.positive(prefix+"redis_timeout", r.RedisTimeout)
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

func (v *validator) email(e Email, production bool) {
	const prefix = "settings.rustok.email."
	v.oneOf(prefix+"driver", e.Driver, "smtp", "log", "file")
	if production && e.Driver == "log" {
		// The log driver writes whole messages, password reset links
		// included, to the log.
		v.add(prefix+"driver", "must not be log in production: it writes password reset links to the log (use smtp, or file)")
	}
	if _, err := mail.ParseAddress(e.From); err != nil {
		v.add(prefix+"from", `must be an email address such as "RusToK <no-reply@example.com>", got %q`, e.From)
	}
	if u, err := url.Parse(e.ResetBaseURL); err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		v.add(prefix+"reset_base_url", "must be an absolute http:// or https:// URL, got %q", RedactURL(e.ResetBaseURL))
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
		v.add(key, "must be a URL starting with %s, got %q", orList(suffixed(schemes, "://")), RedactURL(raw))
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

// Thresholds of weakSecret.
const (
	// minSecretDistinct is the fewest different bytes a production secret
	// holds. Random hex of 32 characters has 14 on average and fewer than
	// 10 about once in 10,000 draws; random base64 of 32 bytes has about 33.
	minSecretDistinct = 10
	// maxPredictableShare is the largest share of a production secret's
	// neighbouring byte pairs that may be predictable (see predictablePair);
	// about 1 pair in 9 is in random hex or base64.
	maxPredictableShare = 0.5
	// minTrigramShare is the smallest share of a production secret's 3-byte
	// substrings that must differ from each other; random hex or base64 of
	// 32 characters or more repeats almost none.
	minTrigramShare = 0.75
)

// weakSecret explains why secret is too predictable to sign tokens, or
// returns "". The rule, checked after the length (32 bytes or more):
//
//   - at least 10 different byte values, which refuses white space only, one
//     repeated byte ("aaaa…") and secrets drawn from a few characters;
//   - at most half of the neighbouring byte pairs predictable: the same byte
//     twice, consecutive byte values ("ab", "32"), or keys next to each other
//     on a US QWERTY keyboard ("qw", "as", "1q"), which refuses runs such as
//     "0123456789abcdef…" and keyboard walks ("qwertyuiop…", "1qaz2wsx…");
//   - at least three quarters of its 3-byte substrings different, which
//     refuses a word or phrase repeated to reach the length ("abab…",
//     "Secret123!Secret123!…").
//
// Random secrets pass: none of a million draws of `openssl rand -base64 32`
// or of `openssl rand -hex 32` was refused. Shorter random secrets are
// refused now and then: about 3 in 10,000 of `openssl rand -hex 16`, whose
// 32 characters hold 128 bits, half of what HS256 wants (RFC 7518, 3.2).
func weakSecret(secret string) string {
	var seen [256]bool
	distinct := 0
	for i := 0; i < len(secret); i++ {
		if !seen[secret[i]] {
			seen[secret[i]] = true
			distinct++
		}
	}
	if distinct < minSecretDistinct {
		return fmt.Sprintf("it has %d different bytes, at least %d are needed", distinct, minSecretDistinct)
	}
	predictable := 0
	for i := 1; i < len(secret); i++ {
		if predictablePair(secret[i-1], secret[i]) {
			predictable++
		}
	}
	if pairs := len(secret) - 1; float64(predictable) > maxPredictableShare*float64(pairs) {
		return fmt.Sprintf("%d of its %d neighbouring byte pairs are repeats, sequences or keyboard walks, at most half may be", predictable, pairs)
	}
	trigrams := map[string]bool{}
	for i := 0; i+3 <= len(secret); i++ {
		trigrams[secret[i:i+3]] = true
	}
	if total := len(secret) - 2; float64(len(trigrams)) < minTrigramShare*float64(total) {
		return fmt.Sprintf("only %d of its %d 3-byte substrings differ, at least three quarters must (a repeated pattern)", len(trigrams), total)
	}
	return ""
}

// keyboardRows are the rows of a US QWERTY keyboard, unshifted and shifted,
// and where each row starts, in quarters of a key to the right of the top
// row's start.
var keyboardRows = [...]struct {
	keys   [2]string
	offset int
}{
	{[2]string{"`1234567890-=", "~!@#$%^&*()_+"}, 0},
	{[2]string{"qwertyuiop[]\\", "QWERTYUIOP{}|"}, 6},
	{[2]string{"asdfghjkl;'", "ASDFGHJKL:\""}, 7},
	{[2]string{"zxcvbnm,./", "ZXCVBNM<>?"}, 9},
}

// keyPosition returns the row of c on keyboardRows, its position from the
// left in quarters of a key, and whether it needs shift; ok is false for a
// byte on no key.
func keyPosition(c byte) (row, x int, shifted, ok bool) {
	for r, kr := range keyboardRows {
		for s, keys := range kr.keys {
			if i := strings.IndexByte(keys, c); i >= 0 {
				return r, kr.offset + 4*i, s == 1, true
			}
		}
	}
	return 0, 0, false, false
}

// predictablePair reports whether b follows a predictably: the same byte,
// the next or previous byte value, or a key touching a's key (in the same
// row, or in the row above or below) with the same shift state.
func predictablePair(a, b byte) bool {
	if a == b || a+1 == b || b+1 == a {
		return true
	}
	ra, xa, sa, oka := keyPosition(a)
	rb, xb, sb, okb := keyPosition(b)
	if !oka || !okb || sa != sb {
		return false
	}
	dx := xa - xb
	switch ra - rb {
	case 0:
		return dx == 4 || dx == -4
	case 1, -1:
		return dx >= -3 && dx <= 3
	}
	return false
}
