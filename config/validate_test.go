package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/rustok/rustok/config"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		change  func(c *config.Config) // applied to Default()
		wantErr string                 // "" for valid; else every line, joined by "\n"
	}{
		{
			name:   "defaults are valid",
			change: func(*config.Config) {},
		},
		{
			name:   "test and production are valid environments",
			change: func(c *config.Config) { c.Env = config.EnvTest },
		},
		{
			name:    "unknown environment",
			change:  func(c *config.Config) { c.Env = "staging" },
			wantErr: `env: must be development, test or production, got "staging"`,
		},
		{
			name:   "port 0 picks a free port",
			change: func(c *config.Config) { c.Server.Port = 0 },
		},
		{
			name:    "negative port",
			change:  func(c *config.Config) { c.Server.Port = -1 },
			wantErr: "server.port: must be between 0 and 65535, got -1",
		},
		{
			name:    "port 70000",
			change:  func(c *config.Config) { c.Server.Port = 70000 },
			wantErr: "server.port: must be between 0 and 65535, got 70000",
		},
		{
			name:    "host with port",
			change:  func(c *config.Config) { c.Server.Host = "127.0.0.1:80" },
			wantErr: `server.host: must not include a port (set server.port), got "127.0.0.1:80"`,
		},
		{
			name:   "IPv6 host",
			change: func(c *config.Config) { c.Server.Host = "::" },
		},
		{
			name: "CORS origins: exact, port, wildcard subdomains, IPv6",
			change: func(c *config.Config) {
				c.Server.CORS.AllowedOrigins = []string{"https://admin.example.com", "http://localhost:3000", "https://*.example.org", "http://[::1]:8080", "http://127.0.0.1:5173"}
			},
		},
		{
			name: "CORS origins that are not origins",
			change: func(c *config.Config) {
				c.Server.CORS.AllowedOrigins = []string{"*", "admin.example.com", "https://example.com/app", "ftp://x.example", "https://a.*.example.com", "http://localhost:0"}
			},
			wantErr: strings.Join([]string{
				`server.cors.allowed_origins: entry 1 must start with http:// or https://, got "*"`,
				`server.cors.allowed_origins: entry 2 must start with http:// or https://, got "admin.example.com"`,
				`server.cors.allowed_origins: entry 3 must be scheme://host[:port] with nothing after (no path, no *, except a leading *.), got "https://example.com/app"`,
				`server.cors.allowed_origins: entry 4 must start with http:// or https://, got "ftp://x.example"`,
				`server.cors.allowed_origins: entry 5 must be scheme://host[:port] with nothing after (no path, no *, except a leading *.), got "https://a.*.example.com"`,
				`server.cors.allowed_origins: entry 6 must have a port between 1 and 65535, got "http://localhost:0"`,
			}, "\n"),
		},
		{
			name:    "CORS max age over a day",
			change:  func(c *config.Config) { c.Server.CORS.MaxAge = 25 * time.Hour },
			wantErr: "server.cors.max_age: must be between 0s and 24h, got 25h0m0s",
		},
		{
			name:    "empty host",
			change:  func(c *config.Config) { c.Server.Host = "" },
			wantErr: `server.host: must be set ("0.0.0.0" or "::" listens on all interfaces)`,
		},
		{
			name:    "bad body limit",
			change:  func(c *config.Config) { c.Server.BodyLimit = "lots" },
			wantErr: `server.body_limit: must be a whole number of bytes with an optional unit K, KB, M, MB, G or GB, such as "2M", got "lots"`,
		},
		{
			name:    "zero timeout",
			change:  func(c *config.Config) { c.Server.ShutdownTimeout = 0 },
			wantErr: "server.shutdown_timeout: must be a positive duration, got 0s",
		},
		{
			name:   "postgresql URL",
			change: func(c *config.Config) { c.Database.URL = "postgresql://rustok:pw@db:5432/rustok?sslmode=disable" },
		},
		{
			name:   "absolute sqlite path",
			change: func(c *config.Config) { c.Database.URL = "sqlite:///var/lib/rustok/rustok.db" },
		},
		{
			name:    "sqlite URL without a path",
			change:  func(c *config.Config) { c.Database.URL = "sqlite://" },
			wantErr: "database.url: must name a file: sqlite://./relative/path.db or sqlite:///absolute/path.db",
		},
		{
			name:    "URL without scheme is not shown",
			change:  func(c *config.Config) { c.Database.URL = "host=db user=rustok password=hunter2" },
			wantErr: "database.url: must start with sqlite://, postgres:// or postgresql://",
		},
		{
			name:    "bad scheme, password masked",
			change:  func(c *config.Config) { c.Database.URL = "mysql://root:hunter2@db/rustok" },
			wantErr: `database.url: scheme must be sqlite://, postgres:// or postgresql://, got "mysql://root:xxxxx@db/rustok"`,
		},
		{
			name:    "empty URL",
			change:  func(c *config.Config) { c.Database.URL = "" },
			wantErr: "database.url: must be set (sqlite://./data/rustok.db or postgres://user:password@host:5432/db)",
		},
		{
			name:    "no connections",
			change:  func(c *config.Config) { c.Database.MaxOpenConns = 0 },
			wantErr: "database.max_open_conns: must be at least 1, got 0",
		},
		{
			name:    "unknown SQLite synchronous setting",
			change:  func(c *config.Config) { c.Database.SQLiteSynchronous = "off" },
			wantErr: `database.sqlite_synchronous: must be full or normal, got "off"`,
		},
		{
			name:    "bad log level",
			change:  func(c *config.Config) { c.Logger.Level = "trace" },
			wantErr: `logger.level: must be debug, info, warn or error, got "trace"`,
		},
		{
			name:    "bad log format",
			change:  func(c *config.Config) { c.Logger.Format = "xml" },
			wantErr: `logger.format: must be text or json, got "xml"`,
		},
		{
			name:    "bad algorithm",
			change:  func(c *config.Config) { c.Auth.JWT.Algorithm = "RS256" },
			wantErr: `auth.jwt.algorithm: must be HS256 or EdDSA, got "RS256"`,
		},
		{
			name:    "HS256 without secret",
			change:  func(c *config.Config) { c.Auth.JWT.Secret = "" },
			wantErr: "auth.jwt.secret: must be set when auth.jwt.algorithm is HS256",
		},
		{
			name:    "short secret outside production",
			change:  func(c *config.Config) { c.Auth.JWT.Secret = "short" },
			wantErr: "auth.jwt.secret: must be at least 32 bytes, got 5 (set RUSTOK_JWT_SECRET; `openssl rand -base64 32` makes one)",
		},
		{
			name: "short secret in production",
			change: func(c *config.Config) {
				c.Env = config.EnvProduction
				c.Server.Metrics.Listen = "127.0.0.1:9150"
				c.Auth.JWT.Secret = "short-but-secret"
				c.Settings.Rustok.Email.Driver = "file"
			},
			wantErr: "auth.jwt.secret: must be at least 32 bytes in production (set RUSTOK_JWT_SECRET)",
		},
		{
			name: "log mail driver in production",
			change: func(c *config.Config) {
				c.Env = config.EnvProduction
				c.Server.Metrics.Listen = "127.0.0.1:9150"
				c.Auth.JWT.Secret = "Zq8#vN2!rT5@wK9$mB4%xL7^pD3&hF6*"
				c.Settings.Rustok.Email.Driver = "log"
			},
			wantErr: "settings.rustok.email.driver: must not be log in production: it writes password reset links to the log (use smtp, or file)",
		},
		{
			name: "EdDSA needs keys",
			change: func(c *config.Config) {
				c.Auth.JWT.Algorithm = "EdDSA"
				c.Auth.JWT.Secret = ""
			},
			wantErr: "auth.jwt.keys: must list at least one key when auth.jwt.algorithm is EdDSA",
		},
		{
			name: "EdDSA with keys",
			change: func(c *config.Config) {
				c.Auth.JWT.Algorithm = "EdDSA"
				c.Auth.JWT.Keys = []string{"key-1", "key-0"}
			},
		},
		{
			name:    "refresh not longer than access",
			change:  func(c *config.Config) { c.Auth.JWT.RefreshTTL = 15 * time.Minute },
			wantErr: "auth.jwt.refresh_ttl: must be longer than auth.jwt.access_ttl (15m0s), got 15m0s",
		},
		{
			name:    "reset links that never expire",
			change:  func(c *config.Config) { c.Auth.Password.ResetTTL = 0 },
			wantErr: "auth.password.reset_ttl: must be between 1s and 24h, got 0s",
		},
		{
			name:    "refresh grace too long",
			change:  func(c *config.Config) { c.Auth.JWT.RefreshGrace = 10 * time.Minute },
			wantErr: "auth.jwt.refresh_grace: must be between 0s and 5m, got 10m0s",
		},
		{
			name:    "argon2 memory below 8 KiB per lane",
			change:  func(c *config.Config) { c.Auth.Password.Argon2Parallelism, c.Auth.Password.Argon2MemoryKiB = 4, 16 },
			wantErr: "auth.password.argon2_memory_kib: must be at least 8 KiB per lane of parallelism (32), got 16",
		},
		{
			name:    "no GraphQL depth",
			change:  func(c *config.Config) { c.GraphQL.MaxDepth = 0 },
			wantErr: "graphql.max_depth: must be at least 1, got 0",
		},
		{
			name:    "bad Redis scheme",
			change:  func(c *config.Config) { c.Redis.URL = "http://:hunter2@cache:6379" },
			wantErr: `redis.url: must be a URL starting with redis://, rediss:// or unix://, got "http://:xxxxx@cache:6379"`,
		},
		{
			name:    "bad resolution",
			change:  func(c *config.Config) { c.Settings.Rustok.Tenant.Resolution = "path" },
			wantErr: `settings.rustok.tenant.resolution: must be header, host or subdomain, got "path"`,
		},
		{
			name: "subdomain without base domains",
			change: func(c *config.Config) {
				c.Settings.Rustok.Tenant.Resolution = "subdomain"
				c.Settings.Rustok.Tenant.BaseDomains = nil
			},
			wantErr: "settings.rustok.tenant.base_domains: must list at least one domain when resolution is subdomain",
		},
		{
			name:    "base domain with scheme",
			change:  func(c *config.Config) { c.Settings.Rustok.Tenant.BaseDomains = []string{"https://example.com"} },
			wantErr: `settings.rustok.tenant.base_domains: entries must be domain names without scheme or port, got "https://example.com"`,
		},
		{
			name:    "bad header name",
			change:  func(c *config.Config) { c.Settings.Rustok.Tenant.HeaderName = "X Tenant" },
			wantErr: `settings.rustok.tenant.header_name: must be an HTTP header name such as X-Tenant-ID, got "X Tenant"`,
		},
		{
			name:    "tenants off without a default",
			change:  func(c *config.Config) { c.Settings.Rustok.Tenant.Enabled = false },
			wantErr: "settings.rustok.tenant.default_id: must be set when settings.rustok.tenant.enabled is false",
		},
		{
			name: "bad CIDR",
			change: func(c *config.Config) {
				c.Settings.Rustok.RateLimit.TrustedProxies = []string{"10.0.0.1", "fd00::/8", "10.0.0.0/40"}
			},
			wantErr: `settings.rustok.rate_limit.trusted_proxies: entries must be IP addresses or CIDR prefixes, got "10.0.0.0/40"`,
		},
		{
			name:    "zero rate when enabled",
			change:  func(c *config.Config) { c.Settings.Rustok.RateLimit.AuthBurst = 0 },
			wantErr: "settings.rustok.rate_limit.auth_burst: must be at least 1, got 0",
		},
		{
			name: "zero rate when disabled",
			change: func(c *config.Config) {
				c.Settings.Rustok.RateLimit.Enabled = false
				c.Settings.Rustok.RateLimit.AuthBurst = 0
			},
		},
		{
			name:    "zero tenant burst when enabled",
			change:  func(c *config.Config) { c.Settings.Rustok.RateLimit.TenantBurst = 0 },
			wantErr: "settings.rustok.rate_limit.tenant_burst: must be at least 1, got 0",
		},
		{
			name:    "rate faster than one request a microsecond",
			change:  func(c *config.Config) { c.Settings.Rustok.RateLimit.TenantRequestsPerMinute = 60_000_001 },
			wantErr: "settings.rustok.rate_limit.tenant_requests_per_minute: must be at most 60000000, got 60000001",
		},
		{
			name:    "batch too large",
			change:  func(c *config.Config) { c.Settings.Rustok.Events.RelayBatchSize = 20000 },
			wantErr: "settings.rustok.events.relay_batch_size: must be between 1 and 10000, got 20000",
		},
		{
			name: "NATS URLs",
			change: func(c *config.Config) {
				c.Settings.Rustok.Events.Forward.NatsURL = "nats://a:4222, tls://user:pw@b:4222"
			},
		},
		{
			name: "bad NATS scheme and subject prefix",
			change: func(c *config.Config) {
				c.Settings.Rustok.Events.Forward = config.Forward{NatsURL: "http://a:4222", SubjectPrefix: "rustok.>"}
			},
			wantErr: "settings.rustok.events.forward.nats_url: must be a URL starting with nats://, tls://, ws:// or wss://, got \"http://a:4222\"\n" +
				`settings.rustok.events.forward.subject_prefix: must be NATS subject tokens separated by dots, without spaces or wildcards, got "rustok.>"`,
		},
		{
			name:    "bad email driver",
			change:  func(c *config.Config) { c.Settings.Rustok.Email.Driver = "sendmail" },
			wantErr: `settings.rustok.email.driver: must be smtp, log or file, got "sendmail"`,
		},
		{
			name:    "bad sender",
			change:  func(c *config.Config) { c.Settings.Rustok.Email.From = "nobody" },
			wantErr: `settings.rustok.email.from: must be an email address such as "RusToK <no-reply@example.com>", got "nobody"`,
		},
		{
			name:    "relative reset URL",
			change:  func(c *config.Config) { c.Settings.Rustok.Email.ResetBaseURL = "/reset" },
			wantErr: `settings.rustok.email.reset_base_url: must be an absolute http:// or https:// URL, got "/reset"`,
		},
		{
			name: "smtp without host",
			change: func(c *config.Config) {
				c.Settings.Rustok.Email.Driver = "smtp"
				c.Settings.Rustok.Email.SMTP.Host = ""
			},
			wantErr: "settings.rustok.email.smtp.host: must be set",
		},
		{
			name: "file driver without folder",
			change: func(c *config.Config) {
				c.Settings.Rustok.Email.Driver = "file"
				c.Settings.Rustok.Email.FileDir = ""
			},
			wantErr: "settings.rustok.email.file_dir: must be set",
		},
		{
			name:    "bad storage driver",
			change:  func(c *config.Config) { c.Settings.Rustok.Storage.Driver = "ftp" },
			wantErr: `settings.rustok.storage.driver: must be local or s3, got "ftp"`,
		},
		{
			name:   "bad and duplicate module slugs",
			change: func(c *config.Config) { c.Settings.Rustok.Modules.DefaultEnabled = []string{"pages", "Blog", "pages"} },
			wantErr: "settings.rustok.modules.default_enabled: entries must be module slugs (lowercase letters, digits, '-' and '_'), got \"Blog\"\n" +
				`settings.rustok.modules.default_enabled: lists "pages" twice`,
		},
		{
			name: "every problem at once",
			change: func(c *config.Config) {
				c.Server.Port = 70000
				c.Database.URL = "mysql://db/rustok"
				c.Logger.Level = "loud"
				c.Settings.Rustok.Tenant.Resolution = "cookie"
				c.Settings.Rustok.RateLimit.TrustedProxies = []string{"not-an-ip"}
			},
			wantErr: strings.Join([]string{
				"server.port: must be between 0 and 65535, got 70000",
				`database.url: scheme must be sqlite://, postgres:// or postgresql://, got "mysql://db/rustok"`,
				`logger.level: must be debug, info, warn or error, got "loud"`,
				`settings.rustok.tenant.resolution: must be header, host or subdomain, got "cookie"`,
				`settings.rustok.rate_limit.trusted_proxies: entries must be IP addresses or CIDR prefixes, got "not-an-ip"`,
			}, "\n"),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := config.Default()
			tc.change(&c)
			err := c.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tc.wantErr != "" && err == nil:
				t.Fatalf("Validate() = nil, want %q", tc.wantErr)
			case tc.wantErr != "" && err.Error() != tc.wantErr:
				t.Fatalf("Validate():\n got %s\nwant %s", err, tc.wantErr)
			}
		})
	}
}
