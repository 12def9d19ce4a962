package config_test

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/rustok/rustok/config"
)

// prodSecret is a valid production HS256 secret, in the form `openssl rand
// -base64 32` prints.
const prodSecret = "3q2+7wmT0cZk1xYhVb8nLrA5uEjP9sGdKfX4iQoN6ea="

// writeConfig writes content as <env>.yaml in a fresh directory and returns
// the directory.
func writeConfig(tb testing.TB, env, content string) string {
	tb.Helper()
	dir := tb.TempDir()
	if err := os.WriteFile(filepath.Join(dir, env+".yaml"), []byte(content), 0o600); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// mustLoad loads and fails the test on error.
func mustLoad(tb testing.TB, dir, env string, environ []string) config.Config {
	tb.Helper()
	cfg, err := config.Load(dir, env, environ)
	if err != nil {
		tb.Fatalf("Load(%q, %q): %v", dir, env, err)
	}
	return cfg
}

func TestDefault(t *testing.T) {
	t.Parallel()
	d := config.Default()
	r := d.Settings.Rustok
	tests := []struct {
		key       string
		got, want any
	}{
		{"env", d.Env, "development"},
		{"server.host", d.Server.Host, "127.0.0.1"},
		{"server.port", d.Server.Port, 5150},
		{"server.body_limit", d.Server.BodyLimit, "2M"},
		{"server.read_timeout", d.Server.ReadTimeout, 15 * time.Second},
		{"server.write_timeout", d.Server.WriteTimeout, 30 * time.Second},
		{"server.shutdown_timeout", d.Server.ShutdownTimeout, 10 * time.Second},
		{"database.url", d.Database.URL, "sqlite://./data/rustok.db"},
		{"database.max_open_conns", d.Database.MaxOpenConns, 10},
		{"database.auto_migrate", d.Database.AutoMigrate, true},
		{"database.sqlite_synchronous", d.Database.SQLiteSynchronous, "full"},
		{"logger.level", d.Logger.Level, "debug"},
		{"logger.format", d.Logger.Format, "text"},
		{"auth.jwt.algorithm", d.Auth.JWT.Algorithm, "HS256"},
		{"auth.jwt.access_ttl", d.Auth.JWT.AccessTTL, 15 * time.Minute},
		{"auth.jwt.refresh_ttl", d.Auth.JWT.RefreshTTL, 720 * time.Hour},
		{"auth.jwt.refresh_grace", d.Auth.JWT.RefreshGrace, 30 * time.Second},
		{"auth.password.argon2_memory_kib", d.Auth.Password.Argon2MemoryKiB, uint32(19456)},
		{"auth.password.argon2_iterations", d.Auth.Password.Argon2Iterations, uint32(2)},
		{"auth.password.argon2_parallelism", d.Auth.Password.Argon2Parallelism, uint8(1)},
		{"auth.password.reset_ttl", d.Auth.Password.ResetTTL, time.Hour},
		{"graphql.playground", d.GraphQL.Playground, true},
		{"graphql.max_depth", d.GraphQL.MaxDepth, 12},
		{"graphql.max_complexity", d.GraphQL.MaxComplexity, 1000},
		{"graphql.max_aliases", d.GraphQL.MaxAliases, 30},
		{"graphql.read_your_writes_timeout", d.GraphQL.ReadYourWritesTimeout, 2 * time.Second},
		{"redis.url", d.Redis.URL, ""},
		{"settings.rustok.tenant.resolution", r.Tenant.Resolution, "header"},
		{"settings.rustok.tenant.header_name", r.Tenant.HeaderName, "X-Tenant-ID"},
		{"settings.rustok.tenant.cache_ttl", r.Tenant.CacheTTL, 5 * time.Minute},
		{"settings.rustok.tenant.negative_cache_ttl", r.Tenant.NegativeCacheTTL, 30 * time.Second},
		{"settings.rustok.tenant.cache_max_entries", r.Tenant.CacheMaxEntries, 10000},
		{"settings.rustok.events.relay_batch_size", r.Events.RelayBatchSize, 100},
		{"settings.rustok.events.poll_interval", r.Events.PollInterval, time.Second},
		{"settings.rustok.events.notify", r.Events.Notify, true},
		{"settings.rustok.events.dead_letter_after", r.Events.DeadLetterAfter, 5},
		{"settings.rustok.email.driver", r.Email.Driver, "log"},
		{"settings.rustok.storage.driver", r.Storage.Driver, "local"},
		{"settings.rustok.modules.default_enabled", r.Modules.DefaultEnabled, []string{"content", "commerce", "pages"}},
	}
	for _, tc := range tests {
		t.Run(tc.key, func(t *testing.T) {
			if !reflect.DeepEqual(tc.got, tc.want) {
				t.Errorf("%s = %#v, want %#v", tc.key, tc.got, tc.want)
			}
		})
	}
	if n := len(d.Auth.JWT.Secret); n < 32 {
		t.Errorf("development JWT secret has %d bytes, want at least 32", n)
	}
	if err := d.Validate(); err != nil {
		t.Errorf("Default().Validate() = %v, want nil", err)
	}
}

func TestDefaultReturnsIndependentValues(t *testing.T) {
	t.Parallel()
	a := config.Default()
	a.Settings.Rustok.Modules.DefaultEnabled[0] = "changed"
	a.Settings.Rustok.Tenant.BaseDomains[0] = "changed"
	b := config.Default()
	if got := b.Settings.Rustok.Modules.DefaultEnabled[0]; got != "content" {
		t.Errorf("second Default() sees a change to the first: default_enabled[0] = %q", got)
	}
	if got := b.Settings.Rustok.Tenant.BaseDomains[0]; got != "localhost" {
		t.Errorf("second Default() sees a change to the first: base_domains[0] = %q", got)
	}
}

func TestParseBodyLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    int64
		wantErr string
	}{
		{in: "2M", want: 2 << 20},
		{in: "2MB", want: 2 << 20},
		{in: "2mb", want: 2 << 20},
		{in: " 512 K ", want: 512 << 10},
		{in: "512KB", want: 512 << 10},
		{in: "1G", want: 1 << 30},
		{in: "1GB", want: 1 << 30},
		{in: "100", want: 100},
		{in: "100B", want: 100},
		{in: "", wantErr: `body limit "": must be a whole number of bytes with an optional unit K, KB, M, MB, G or GB, such as "2M"`},
		{in: "M", wantErr: `body limit "M": must be a whole number of bytes with an optional unit K, KB, M, MB, G or GB, such as "2M"`},
		{in: "-1M", wantErr: `body limit "-1M": must be a whole number of bytes with an optional unit K, KB, M, MB, G or GB, such as "2M"`},
		{in: "1.5M", wantErr: `body limit "1.5M": unit must be one of B, K, KB, M, MB, G, GB`},
		{in: "2X", wantErr: `body limit "2X": unit must be one of B, K, KB, M, MB, G, GB`},
		{in: "2T", wantErr: `body limit "2T": unit must be one of B, K, KB, M, MB, G, GB`},
		{in: "0M", wantErr: `body limit "0M": must be greater than zero`},
		{in: "9999999999G", wantErr: `body limit "9999999999G": is too large`},
		{in: "99999999999999999999", wantErr: `body limit "99999999999999999999": is too large`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := config.ParseBodyLimit(tc.in)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("ParseBodyLimit(%q) = %d, %v; want error %q", tc.in, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseBodyLimit(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestBodyLimitBytes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		limit string
		want  int64
	}{
		{"2M", 2 << 20},
		{"64K", 64 << 10},
		{"lots", 0},
	}
	for _, tc := range tests {
		t.Run(tc.limit, func(t *testing.T) {
			if got := (config.Server{BodyLimit: tc.limit}).BodyLimitBytes(); got != tc.want {
				t.Errorf("BodyLimitBytes() with %q = %d, want %d", tc.limit, got, tc.want)
			}
		})
	}
}

// productionEnv is the least a production start needs: both required keys.
var productionEnv = []string{"RUSTOK_JWT_SECRET=" + prodSecret, "DATABASE_URL=postgres://rustok@db:5432/rustok"}

// shippedFile returns the configuration each shipped file gives its
// environment, with productionEnv for production.
func shippedFile(env string) config.Config {
	want := config.Default()
	want.Env = env
	switch env {
	case "test":
		want.Database.URL = "sqlite://./data/test.db"
		want.Logger.Level = "warn"
		want.Auth.Password.Argon2MemoryKiB = 1024
		want.Auth.Password.Argon2Iterations = 1
		want.GraphQL.Playground = false
		want.Settings.Rustok.RateLimit.Enabled = false
	case "production":
		want.Server.Host = "0.0.0.0"
		want.Database.URL = "postgres://rustok@db:5432/rustok"
		want.Database.MaxOpenConns = 20
		want.Server.CORS.AllowedOrigins = []string{}
		want.Server.Metrics.Listen = "127.0.0.1:9150"
		want.Logger = config.Logger{Level: "info", Format: "json"}
		want.Auth.JWT.Secret = prodSecret
		want.GraphQL.Playground = false
		want.GraphQL.Introspection = false
		want.Settings.Rustok.Features.EmailVerification = true
		want.Settings.Rustok.Email.Driver = "smtp"
	}
	return want
}

// TestShippedFiles loads the three files of this folder, from disk and built
// in: the binary without a config folder behaves as with this one.
func TestShippedFiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, dir, env string
	}{
		{"development from disk", ".", "development"},
		{"development built in", "", "development"},
		{"test from disk", ".", "test"},
		{"test built in", "", "test"},
		{"production from disk", ".", "production"},
		{"production built in", "", "production"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var environ []string
			if tc.env == "production" {
				environ = productionEnv
			}
			got, want := mustLoad(t, tc.dir, tc.env, environ), shippedFile(tc.env)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s.yaml:\n got %+v\nwant %+v", tc.env, got, want)
			}
			if got.Auth.JWT.Secret != want.Auth.JWT.Secret {
				t.Error("auth.jwt.secret differs") // %+v above redacts it
			}
		})
	}
}

// TestProductionNeedsExplicitSecrets: production has no default JWT secret
// and no default database URL; the start names each missing key.
func TestProductionNeedsExplicitSecrets(t *testing.T) {
	t.Parallel()
	const (
		dbURL     = "DATABASE_URL=sqlite:///var/lib/rustok/rustok.db"
		noSecret  = "auth.jwt.secret: must be at least 32 bytes in production (set RUSTOK_JWT_SECRET)"
		noDBURL   = "database.url: must be set in production (set DATABASE_URL or RUSTOK_DATABASE__URL)"
		devSecret = "must not be the development secret in production (set RUSTOK_JWT_SECRET)"
	)
	tests := []struct {
		name    string
		dir     string // "" for none
		environ []string
		wantErr string
	}{
		{
			name:    "both missing, each named",
			wantErr: noDBURL + "\n" + noSecret,
		},
		{
			name:    "both missing with the config folder",
			dir:     ".",
			wantErr: noDBURL + "\n" + noSecret,
		},
		{
			name:    "secret missing",
			environ: []string{dbURL},
			wantErr: noSecret,
		},
		{
			name:    "empty shorthand counts as missing",
			environ: []string{dbURL, "RUSTOK_JWT_SECRET="},
			wantErr: noSecret,
		},
		{
			name:    "secret too short",
			environ: []string{dbURL, "RUSTOK_JWT_SECRET=" + prodSecret[:31]},
			wantErr: "environment variable RUSTOK_JWT_SECRET: " + noSecret,
		},
		{
			name:    "development secret",
			environ: []string{dbURL, "RUSTOK_JWT_SECRET=" + config.Default().Auth.JWT.Secret},
			wantErr: "environment variable RUSTOK_JWT_SECRET: auth.jwt.secret: " + devSecret,
		},
		{
			name:    "database URL missing",
			environ: []string{"RUSTOK_JWT_SECRET=" + prodSecret},
			wantErr: noDBURL,
		},
		{
			name:    "empty DATABASE_URL counts as missing",
			environ: []string{"RUSTOK_JWT_SECRET=" + prodSecret, "DATABASE_URL="},
			wantErr: noDBURL,
		},
		{
			name:    "empty RUSTOK_DATABASE__URL names its variable",
			environ: []string{"RUSTOK_JWT_SECRET=" + prodSecret, "RUSTOK_DATABASE__URL="},
			wantErr: "environment variable RUSTOK_DATABASE__URL: " + noDBURL,
		},
		{
			name:    "both from the full forms",
			environ: []string{"RUSTOK_AUTH__JWT__SECRET=" + prodSecret, "RUSTOK_DATABASE__URL=sqlite:///srv/rustok.db"},
		},
		{
			name: "both from a production.yaml on disk",
			dir: writeConfig(t, "production", "database:\n  url: postgres://rustok@db/rustok\n"+
				"auth:\n  jwt:\n    secret: "+prodSecret+"\n"),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := config.Load(tc.dir, "production", tc.environ)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Load(production) error = %v, want none", err)
			case tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr):
				t.Fatalf("Load(production) error = %v, want %q", err, tc.wantErr)
			}
		})
	}
}
