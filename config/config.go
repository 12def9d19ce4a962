package config

import "time"

// The environment names Load accepts. Each has a file <env>.yaml.
const (
	EnvDevelopment = "development"
	EnvTest        = "test"
	EnvProduction  = "production"
)

// devJWTSecret is the HS256 secret of development and test. Validate refuses it
// in production, so a copied development file cannot sign production tokens.
const devJWTSecret = "rustok-development-jwt-secret-not-for-production"

// Config is the whole configuration of a RusToK process. Load builds it; each
// constructor should receive, by value, only the sub-struct it needs.
//
// Config is a plain value, safe to copy and to read concurrently. Printing it
// with any fmt verb shows the Redacted copy.
type Config struct {
	// Env is the environment name given to Load: development, test or
	// production. It is not read from YAML or RUSTOK_ variables.
	Env string `koanf:"-"`
	// Server configures the HTTP server.
	Server Server `koanf:"server"`
	// Database configures the SQL database.
	Database Database `koanf:"database"`
	// Logger configures structured logging.
	Logger Logger `koanf:"logger"`
	// Auth configures tokens and password hashing.
	Auth Auth `koanf:"auth"`
	// GraphQL configures the /api/graphql endpoint.
	GraphQL GraphQL `koanf:"graphql"`
	// Redis configures the optional Redis connection.
	Redis Redis `koanf:"redis"`
	// Settings holds the application settings.
	Settings Settings `koanf:"settings"`
}

// Server configures the HTTP server (keys server.*).
type Server struct {
	// Host is the address to listen on, without a port. Default "127.0.0.1";
	// use "0.0.0.0" or "::" for all interfaces.
	Host string `koanf:"host"`
	// Port is the TCP port, 1 to 65535, or 0 for a free port chosen at start
	// (serve prints the address it listens on). Default 5150.
	Port int `koanf:"port"`
	// BodyLimit is the largest request body accepted: a whole number with an
	// optional unit K, KB, M, MB, G or GB (powers of 1024, case-insensitive),
	// for example "512K". Default "2M". See BodyLimitBytes.
	BodyLimit string `koanf:"body_limit"`
	// ReadTimeout bounds reading a whole request. Default 15s.
	ReadTimeout time.Duration `koanf:"read_timeout"`
	// WriteTimeout bounds writing a whole response. Default 30s.
	WriteTimeout time.Duration `koanf:"write_timeout"`
	// ShutdownTimeout bounds the graceful stop after SIGINT or SIGTERM.
	// Default 10s.
	ShutdownTimeout time.Duration `koanf:"shutdown_timeout"`
	// CORS says which browser pages of other origins may call the API.
	CORS CORS `koanf:"cors"`
	// Metrics says where the Prometheus endpoint /metrics is served.
	Metrics Metrics `koanf:"metrics"`
}

// Metrics configures the Prometheus endpoint /metrics (keys
// server.metrics.*). The metrics name routes, tenants' cache figures and
// error rates: production keeps them off the public listener by default.
type Metrics struct {
	// Listen is where /metrics is served: "" on the main listener
	// (server.host:server.port), or "host:port" on a listener of its own,
	// started and stopped with the HTTP server, while the main listener
	// answers 404 for /metrics. Port 0 picks a free port. Default "" in
	// development and test; "127.0.0.1:9150" in production (reachable from
	// the same host only). In production an empty Listen needs a Token.
	Listen string `koanf:"listen"`
	// Token, when set, is required on /metrics as "Authorization: Bearer
	// <token>" (401 otherwise), compared in constant time; at least 16
	// bytes. Default "" (no token). A secret: never logged or printed.
	Token string `koanf:"token"`
}

// productionMetricsListen is the default server.metrics.listen of
// production: a listener of its own, on the loopback interface.
const productionMetricsListen = "127.0.0.1:9150"

// CORS configures cross-origin requests from browser pages (keys
// server.cors.*). An allowed origin may send credentials; any other gets no
// CORS header, so the browser refuses it.
type CORS struct {
	// AllowedOrigins are the origins, "scheme://host[:port]" (http or
	// https), whose pages may call the API; a host may start with "*." for
	// every subdomain of a domain ("https://*.example.com"). Default the
	// usual local front-end development servers in development
	// ("http://localhost:3000", "http://localhost:5173"), none in production.
	AllowedOrigins []string `koanf:"allowed_origins"`
	// TenantDomains also allows the pages served from every active tenant's
	// own domains (a storefront on shop.example.com). Default true.
	TenantDomains bool `koanf:"tenant_domains"`
	// MaxAge is how long a browser may cache a preflight answer, at most
	// 24h. Default 10m.
	MaxAge time.Duration `koanf:"max_age"`
}

// BodyLimitBytes returns BodyLimit in bytes. It returns 0 if BodyLimit does
// not parse (see ParseBodyLimit); Validate reports that, so call it on a
// validated Config.
func (s Server) BodyLimitBytes() int64 {
	n, err := ParseBodyLimit(s.BodyLimit)
	if err != nil {
		return 0
	}
	return n
}

// Database configures the SQL database (keys database.*).
type Database struct {
	// URL names the database: sqlite://./relative/path.db,
	// sqlite:///absolute/path.db, or postgres://user:password@host:port/db
	// (postgresql:// also works). Default "sqlite://./data/rustok.db"; no
	// default in production, where it must be set (DATABASE_URL). The
	// directory of a SQLite file is created when missing. Its password is a
	// secret: Redacted masks it.
	URL string `koanf:"url"`
	// MaxOpenConns bounds the open connections of the pool, at least 1.
	// Default 10.
	MaxOpenConns int `koanf:"max_open_conns"`
	// AutoMigrate makes serve apply pending migrations at start. Default true.
	AutoMigrate bool `koanf:"auto_migrate"`
	// SQLiteSynchronous is when a SQLite commit waits for the disk: "full"
	// syncs the log at every commit, so an acknowledged write survives a
	// power loss or an operating system crash; "normal" syncs only at
	// checkpoints, so a write survives a crash of the process but the last
	// ones before a power loss may be lost (faster on a slow disk; see
	// docs/benchmarks.md). Default "full". PostgreSQL ignores it.
	SQLiteSynchronous string `koanf:"sqlite_synchronous"`
}

// Logger configures structured logging (keys logger.*).
type Logger struct {
	// Level is the lowest level logged: debug, info, warn or error.
	// Default "debug" ("info" in production).
	Level string `koanf:"level"`
	// Format is the output format: text or json. Default "text" ("json" in
	// production).
	Format string `koanf:"format"`
}

// Auth configures authentication (keys auth.*).
type Auth struct {
	// JWT configures access and refresh tokens.
	JWT JWT `koanf:"jwt"`
	// Password configures password hashing and policy.
	Password Password `koanf:"password"`
}

// JWT configures access and refresh tokens (keys auth.jwt.*).
type JWT struct {
	// Algorithm is the signing algorithm: HS256 (with Secret) or EdDSA (with
	// Keys). Default "HS256".
	Algorithm string `koanf:"algorithm"`
	// Secret is the HS256 key. Development and test default to a fixed dev
	// secret; production has no default and needs at least 32 bytes, usually
	// from RUSTOK_JWT_SECRET, that are not predictable: at least 10
	// different bytes, at most half of the neighbouring byte pairs repeats,
	// consecutive byte values or neighbouring keyboard keys, and at least
	// three quarters of the 3-byte substrings different (see weakSecret).
	// `openssl rand -base64 32` gives one. Never logged or printed.
	Secret string `koanf:"secret"`
	// Keys are the EdDSA keys, newest first: the first signs new tokens and
	// every key verifies, so keys can be rotated. Their encoding is defined by
	// the token issuer. Default none. Never logged or printed.
	Keys []string `koanf:"keys"`
	// AccessTTL is the lifetime of an access token. Default 15m.
	AccessTTL time.Duration `koanf:"access_ttl"`
	// RefreshTTL is the lifetime of a refresh token, longer than AccessTTL.
	// Default 720h (30 days).
	RefreshTTL time.Duration `koanf:"refresh_ttl"`
	// RefreshGrace is how long after a refresh the replaced refresh token
	// still answers with the same new pair (two tabs refreshing at once)
	// instead of counting as reuse, which revokes the session. 0 to 5m.
	// Default 30s.
	RefreshGrace time.Duration `koanf:"refresh_grace"`
	// Issuer is the "iss" claim written and required. Default "rustok".
	Issuer string `koanf:"issuer"`
	// Audience is the "aud" claim written and required. Default "rustok".
	Audience string `koanf:"audience"`
}

// Password configures password hashing (Argon2id) and policy (keys
// auth.password.*). The defaults are OWASP's minimum for Argon2id.
type Password struct {
	// Argon2MemoryKiB is the Argon2id memory cost in KiB, at least 8 per lane
	// of parallelism. Default 19456 (19 MiB).
	Argon2MemoryKiB uint32 `koanf:"argon2_memory_kib"`
	// Argon2Iterations is the Argon2id time cost (passes), at least 1.
	// Default 2.
	Argon2Iterations uint32 `koanf:"argon2_iterations"`
	// Argon2Parallelism is the number of Argon2id lanes, at least 1. Default 1.
	Argon2Parallelism uint8 `koanf:"argon2_parallelism"`
	// MinLength is the shortest password accepted, in characters, at least 1.
	// Default 8.
	MinLength int `koanf:"min_length"`
	// ResetTTL is how long a password reset link works, 1s to 24h.
	// Default 1h.
	ResetTTL time.Duration `koanf:"reset_ttl"`
}

// GraphQL configures the /api/graphql endpoint (keys graphql.*).
type GraphQL struct {
	// Playground serves the GraphQL playground page. Default true (false in
	// production).
	Playground bool `koanf:"playground"`
	// Introspection answers introspection queries. Default true (false in
	// production).
	Introspection bool `koanf:"introspection"`
	// MaxDepth is the deepest selection nesting accepted, at least 1.
	// Default 12.
	MaxDepth int `koanf:"max_depth"`
	// MaxComplexity is the highest query complexity accepted (one point per
	// field, multiplied by list sizes), at least 1. Default 1000.
	MaxComplexity int `koanf:"max_complexity"`
	// MaxAliases is the most field aliases accepted in one query, at least 1.
	// Default 30.
	MaxAliases int `koanf:"max_aliases"`
	// ReadYourWritesTimeout is how long a query waits for the read models to
	// reach the log position the client last wrote; 0 disables the wait.
	// Default 2s.
	ReadYourWritesTimeout time.Duration `koanf:"read_your_writes_timeout"`
}

// Redis configures the optional Redis connection (keys redis.*).
type Redis struct {
	// URL is redis://, rediss:// or unix://; empty (the default) means no
	// Redis. Its password is a secret: Redacted masks it.
	URL string `koanf:"url"`
}

// Settings holds the application settings (keys settings.*).
type Settings struct {
	// Rustok holds RusToK's settings.
	Rustok Rustok `koanf:"rustok"`
}

// Rustok holds RusToK's settings (keys settings.rustok.*).
type Rustok struct {
	// Tenant configures tenant resolution and its cache.
	Tenant Tenant `koanf:"tenant"`
	// Features switches product features.
	Features Features `koanf:"features"`
	// RateLimit configures request rate limiting.
	RateLimit RateLimit `koanf:"rate_limit"`
	// Events configures the outbox relay and event delivery.
	Events Events `koanf:"events"`
	// Email configures outgoing mail.
	Email Email `koanf:"email"`
	// Storage configures file storage.
	Storage Storage `koanf:"storage"`
	// Search configures search.
	Search Search `koanf:"search"`
	// Modules configures modules of new tenants.
	Modules Modules `koanf:"modules"`
}

// Tenant configures how a request's tenant is found (keys
// settings.rustok.tenant.*).
type Tenant struct {
	// Enabled resolves the tenant of each request; when false every request
	// belongs to DefaultID. Default true.
	Enabled bool `koanf:"enabled"`
	// Resolution is where the tenant comes from: header (HeaderName), host
	// (a tenant domain) or subdomain (the label left of a BaseDomains entry).
	// Default "header".
	Resolution string `koanf:"resolution"`
	// HeaderName is the request header carrying a tenant id or slug.
	// Default "X-Tenant-ID".
	HeaderName string `koanf:"header_name"`
	// DefaultID is the tenant id or slug used when tenant resolution is
	// disabled. Default "" (none).
	DefaultID string `koanf:"default_id"`
	// BaseDomains are the parent domains for subdomain resolution, without
	// scheme or port. Default ["localhost"].
	BaseDomains []string `koanf:"base_domains"`
	// CacheTTL is how long a found tenant stays cached. Default 5m.
	CacheTTL time.Duration `koanf:"cache_ttl"`
	// NegativeCacheTTL is how long an identifier that matched no tenant stays
	// cached as not found. Default 30s.
	NegativeCacheTTL time.Duration `koanf:"negative_cache_ttl"`
	// CacheMaxEntries bounds the number of cached tenants, at least 1.
	// Default 10000.
	CacheMaxEntries int `koanf:"cache_max_entries"`
}

// Features switches product features (keys settings.rustok.features.*).
type Features struct {
	// RegistrationEnabled lets visitors create accounts. Default true.
	RegistrationEnabled bool `koanf:"registration_enabled"`
	// EmailVerification requires a verified email address before sign-in.
	// Default false (true in production.yaml).
	EmailVerification bool `koanf:"email_verification"`
}

// RateLimit configures request rate limiting per client IP and per tenant
// (keys settings.rustok.rate_limit.*). Each budget is a token bucket: a
// burst at once, refilled at a rate per minute. The buckets live in memory,
// or in Redis (shared by every instance) when redis.url is set.
type RateLimit struct {
	// Enabled turns rate limiting on. Default true (false in test.yaml).
	Enabled bool `koanf:"enabled"`
	// RequestsPerMinute is the sustained rate of ordinary requests per
	// client IP (an IPv6 client: per /64), 1 to 60000000. Default 600.
	RequestsPerMinute int `koanf:"requests_per_minute"`
	// Burst is how many ordinary requests a client may send at once.
	// Default 100.
	Burst int `koanf:"burst"`
	// TenantRequestsPerMinute is the sustained rate of /api requests per
	// tenant, whatever the client, 1 to 60000000. Default 6000.
	TenantRequestsPerMinute int `koanf:"tenant_requests_per_minute"`
	// TenantBurst is how many /api requests a tenant's clients may send at
	// once, together. Default 1000.
	TenantBurst int `koanf:"tenant_burst"`
	// AuthRequestsPerMinute is the sustained rate of sign-in, sign-up and
	// password-reset requests per client. Default 10.
	AuthRequestsPerMinute int `koanf:"auth_requests_per_minute"`
	// AuthBurst is how many auth requests a client may send at once. Default 5.
	AuthBurst int `koanf:"auth_burst"`
	// RedisTimeout bounds one decision of the Redis-backed limiter (with
	// redis.url); a decision Redis does not answer in time lets the request
	// through (fail open) and is counted. Default 100ms.
	RedisTimeout time.Duration `koanf:"redis_timeout"`
	// TrustedProxies are the IPs or CIDRs of the reverse proxies whose
	// X-Forwarded-For is believed when finding the client IP (and whose
	// X-Forwarded-Host, for tenant resolution by host). Default none.
	TrustedProxies []string `koanf:"trusted_proxies"`
}

// Events configures the outbox relay and event delivery (keys
// settings.rustok.events.*).
type Events struct {
	// RelayBatchSize is how many events the relay moves per batch, 1 to 10000.
	// Default 100.
	RelayBatchSize int `koanf:"relay_batch_size"`
	// PollInterval is how often consumers poll the log when no notification
	// arrives. Default 1s.
	PollInterval time.Duration `koanf:"poll_interval"`
	// Notify wakes consumers on append (PostgreSQL LISTEN/NOTIFY, in-process
	// on SQLite) instead of waiting for the next poll. Default true.
	Notify bool `koanf:"notify"`
	// DeadLetterAfter is the number of failed attempts after which an event
	// is dead-lettered for its consumer, at least 1. Default 5.
	DeadLetterAfter int `koanf:"dead_letter_after"`
	// Forward configures the optional forwarding of events to NATS.
	Forward Forward `koanf:"forward"`
}

// Forward configures forwarding of events to NATS (keys
// settings.rustok.events.forward.*).
type Forward struct {
	// NatsURL is one NATS server URL or several separated by commas
	// (nats://, tls://, ws:// or wss://); empty (the default) turns
	// forwarding off. Its password is a secret: Redacted masks it.
	NatsURL string `koanf:"nats_url"`
	// SubjectPrefix starts every subject an event is published on, followed
	// by "." and the event type. Default "rustok.events".
	SubjectPrefix string `koanf:"subject_prefix"`
}

// Email configures outgoing mail (keys settings.rustok.email.*).
type Email struct {
	// Driver sends mail: smtp, log (writes messages to the log) or file
	// (writes one .eml file per message into FileDir). Default "log".
	Driver string `koanf:"driver"`
	// From is the sender address, RFC 5322 ("RusToK <no-reply@example.com>").
	// Default "RusToK <no-reply@localhost>".
	From string `koanf:"from"`
	// ResetBaseURL is the absolute http(s) URL of the password-reset page; the
	// reset token is appended to it. Default
	// "http://localhost:5150/reset-password".
	ResetBaseURL string `koanf:"reset_base_url"`
	// FileDir is the folder of the file driver. Default "./data/mail".
	FileDir string `koanf:"file_dir"`
	// SMTP configures the smtp driver.
	SMTP SMTP `koanf:"smtp"`
}

// SMTP configures the smtp mail driver (keys settings.rustok.email.smtp.*).
type SMTP struct {
	// Host is the SMTP server. Default "localhost".
	Host string `koanf:"host"`
	// Port is the SMTP port, 1 to 65535. Default 587.
	Port int `koanf:"port"`
	// Username authenticates to the server; empty means no authentication.
	// Default "".
	Username string `koanf:"username"`
	// Password authenticates to the server. Default "". Never logged or
	// printed.
	Password string `koanf:"password"`
	// TLS requires an encrypted connection (implicit TLS on port 465,
	// STARTTLS otherwise). Default true.
	TLS bool `koanf:"tls"`
}

// Storage configures file storage (keys settings.rustok.storage.*).
type Storage struct {
	// Driver stores files: local (in LocalDir) or s3. Default "local".
	Driver string `koanf:"driver"`
	// LocalDir is the folder of the local driver. Default "./data/uploads".
	LocalDir string `koanf:"local_dir"`
}

// Search configures search (keys settings.rustok.search.*).
type Search struct {
	// Enabled builds and serves the search index. Default false.
	Enabled bool `koanf:"enabled"`
}

// Modules configures modules (keys settings.rustok.modules.*).
type Modules struct {
	// DefaultEnabled are the slugs of the optional modules switched on for a
	// new tenant. Default ["content", "commerce", "pages"].
	DefaultEnabled []string `koanf:"default_enabled"`
}

// Default returns the configuration in code: the development values. Load
// starts from it. Every call returns a fresh value that shares nothing with
// earlier ones.
func Default() Config {
	return Config{
		Env: EnvDevelopment,
		Server: Server{
			Host:            "127.0.0.1",
			Port:            5150,
			BodyLimit:       "2M",
			ReadTimeout:     15 * time.Second,
			WriteTimeout:    30 * time.Second,
			ShutdownTimeout: 10 * time.Second,
			CORS: CORS{
				AllowedOrigins: []string{"http://localhost:3000", "http://localhost:5173"},
				TenantDomains:  true,
				MaxAge:         10 * time.Minute,
			},
		},
		Database: Database{
			URL:               "sqlite://./data/rustok.db",
			MaxOpenConns:      10,
			AutoMigrate:       true,
			SQLiteSynchronous: "full",
		},
		Logger: Logger{Level: "debug", Format: "text"},
		Auth: Auth{
			JWT: JWT{
				Algorithm:    "HS256",
				Secret:       devJWTSecret,
				Keys:         []string{},
				AccessTTL:    15 * time.Minute,
				RefreshTTL:   30 * 24 * time.Hour,
				RefreshGrace: 30 * time.Second,
				Issuer:       "rustok",
				Audience:     "rustok",
			},
			Password: Password{
				Argon2MemoryKiB:   19456,
				Argon2Iterations:  2,
				Argon2Parallelism: 1,
				MinLength:         8,
				ResetTTL:          time.Hour,
			},
		},
		GraphQL: GraphQL{
			Playground:            true,
			Introspection:         true,
			MaxDepth:              12,
			MaxComplexity:         1000,
			MaxAliases:            30,
			ReadYourWritesTimeout: 2 * time.Second,
		},
		Settings: Settings{Rustok: Rustok{
			Tenant: Tenant{
				Enabled:          true,
				Resolution:       "header",
				HeaderName:       "X-Tenant-ID",
				BaseDomains:      []string{"localhost"},
				CacheTTL:         5 * time.Minute,
				NegativeCacheTTL: 30 * time.Second,
				CacheMaxEntries:  10000,
			},
			Features: Features{RegistrationEnabled: true},
			RateLimit: RateLimit{
				Enabled:                 true,
				RequestsPerMinute:       600,
				Burst:                   100,
				TenantRequestsPerMinute: 6000,
				TenantBurst:             1000,
				RedisTimeout:            100 * time.Millisecond,
				AuthRequestsPerMinute:   10,
				AuthBurst:               5,
				TrustedProxies:          []string{},
			},
			Events: Events{
				RelayBatchSize:  100,
				PollInterval:    time.Second,
				Notify:          true,
				DeadLetterAfter: 5,
				Forward:         Forward{SubjectPrefix: "rustok.events"},
			},
			Email: Email{
				Driver:       "log",
				From:         "RusToK <no-reply@localhost>",
				ResetBaseURL: "http://localhost:5150/reset-password",
				FileDir:      "./data/mail",
				SMTP:         SMTP{Host: "localhost", Port: 587, TLS: true},
			},
			Storage: Storage{Driver: "local", LocalDir: "./data/uploads"},
			Modules: Modules{DefaultEnabled: []string{"content", "commerce", "pages"}},
		}},
	}
}

// defaultsFor returns Default() adjusted for env: production gets no JWT
// secret and no database URL (both must be set explicitly, usually in the
// environment), no CORS origins but the tenants' domains, /metrics on its own
// loopback listener, no playground, no introspection, and info-level JSON
// logs.
func defaultsFor(env string) Config {
	c := Default()
	c.Env = env
	if env == EnvProduction {
		c.Auth.JWT.Secret = ""
		c.Database.URL = ""
		c.Server.CORS.AllowedOrigins = []string{}
		c.Server.Metrics.Listen = productionMetricsListen
		c.GraphQL.Playground = false
		c.GraphQL.Introspection = false
		c.Logger = Logger{Level: "info", Format: "json"}
	}
	return c
}
