package config_test

import (
	"errors"
	"io/fs"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rustok/rustok/config"
)

func TestLoadOverrides(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		yaml    string // development.yaml; none if empty
		environ []string
		want    func(c *config.Config) // changes to Default()
	}{
		{
			name:    "nested key",
			environ: []string{"RUSTOK_SETTINGS__RUSTOK__TENANT__RESOLUTION=host"},
			want:    func(c *config.Config) { c.Settings.Rustok.Tenant.Resolution = "host" },
		},
		{
			name:    "key with underscores",
			environ: []string{"RUSTOK_DATABASE__MAX_OPEN_CONNS=3"},
			want:    func(c *config.Config) { c.Database.MaxOpenConns = 3 },
		},
		{
			name:    "port",
			environ: []string{"RUSTOK_SERVER__PORT=8080"},
			want:    func(c *config.Config) { c.Server.Port = 8080 },
		},
		{
			name:    "port 0 picks a free port",
			environ: []string{"RUSTOK_SERVER__PORT=0"},
			want:    func(c *config.Config) { c.Server.Port = 0 },
		},
		{
			name:    "duration",
			environ: []string{"RUSTOK_AUTH__JWT__ACCESS_TTL=10m"},
			want:    func(c *config.Config) { c.Auth.JWT.AccessTTL = 10 * time.Minute },
		},
		{
			name:    "bool",
			environ: []string{"RUSTOK_GRAPHQL__PLAYGROUND=false"},
			want:    func(c *config.Config) { c.GraphQL.Playground = false },
		},
		{
			name:    "small unsigned integer",
			environ: []string{"RUSTOK_AUTH__PASSWORD__ARGON2_PARALLELISM=4"},
			want:    func(c *config.Config) { c.Auth.Password.Argon2Parallelism = 4 },
		},
		{
			name:    "comma-separated list",
			environ: []string{"RUSTOK_SETTINGS__RUSTOK__TENANT__BASE_DOMAINS=example.com, shop.example.org,"},
			want: func(c *config.Config) {
				c.Settings.Rustok.Tenant.BaseDomains = []string{"example.com", "shop.example.org"}
			},
		},
		{
			name:    "list of CIDRs",
			environ: []string{"RUSTOK_SETTINGS__RUSTOK__RATE_LIMIT__TRUSTED_PROXIES=10.0.0.0/8,::1"},
			want: func(c *config.Config) {
				c.Settings.Rustok.RateLimit.TrustedProxies = []string{"10.0.0.0/8", "::1"}
			},
		},
		{
			name:    "empty value empties a list",
			environ: []string{"RUSTOK_SETTINGS__RUSTOK__MODULES__DEFAULT_ENABLED="},
			want:    func(c *config.Config) { c.Settings.Rustok.Modules.DefaultEnabled = []string{} },
		},
		{
			name:    "environment wins over the file",
			yaml:    "server:\n  port: 6000\n  host: 0.0.0.0\n",
			environ: []string{"RUSTOK_SERVER__PORT=7000"},
			want: func(c *config.Config) {
				c.Server.Port = 7000
				c.Server.Host = "0.0.0.0"
			},
		},
		{
			name: "file list replaces the default list",
			yaml: "settings:\n  rustok:\n    modules:\n      default_enabled: [blog]\n",
			want: func(c *config.Config) { c.Settings.Rustok.Modules.DefaultEnabled = []string{"blog"} },
		},
		{
			name: "key without value keeps its default",
			yaml: "server:\n  port:\nlogger:\n",
			want: func(*config.Config) {},
		},
		{
			name:    "DATABASE_URL",
			environ: []string{"DATABASE_URL=postgres://rustok:pw@db:5432/rustok"},
			want:    func(c *config.Config) { c.Database.URL = "postgres://rustok:pw@db:5432/rustok" },
		},
		{
			name:    "REDIS_URL",
			environ: []string{"REDIS_URL=redis://cache:6379/0"},
			want:    func(c *config.Config) { c.Redis.URL = "redis://cache:6379/0" },
		},
		{
			name:    "RUSTOK_JWT_SECRET",
			environ: []string{"RUSTOK_JWT_SECRET=" + prodSecret},
			want:    func(c *config.Config) { c.Auth.JWT.Secret = prodSecret },
		},
		{
			name:    "shorthand wins over the file",
			yaml:    "database:\n  url: sqlite://./from-file.db\n",
			environ: []string{"DATABASE_URL=sqlite://./from-env.db"},
			want:    func(c *config.Config) { c.Database.URL = "sqlite://./from-env.db" },
		},
		{
			name:    "full form wins over the shorthand, listed after it",
			environ: []string{"DATABASE_URL=sqlite://./short.db", "RUSTOK_DATABASE__URL=sqlite://./full.db"},
			want:    func(c *config.Config) { c.Database.URL = "sqlite://./full.db" },
		},
		{
			name:    "full form wins over the shorthand, listed before it",
			environ: []string{"RUSTOK_DATABASE__URL=sqlite://./full.db", "DATABASE_URL=sqlite://./short.db"},
			want:    func(c *config.Config) { c.Database.URL = "sqlite://./full.db" },
		},
		{
			name:    "full secret wins over RUSTOK_JWT_SECRET",
			environ: []string{"RUSTOK_AUTH__JWT__SECRET=full-form-secret-full-form-secret", "RUSTOK_JWT_SECRET=" + prodSecret},
			want:    func(c *config.Config) { c.Auth.JWT.Secret = "full-form-secret-full-form-secret" },
		},
		{
			name:    "empty shorthand is unset",
			environ: []string{"DATABASE_URL=", "REDIS_URL="},
			want:    func(*config.Config) {},
		},
		{
			name: "variables that are not keys are ignored",
			environ: []string{
				"RUSTOK_ENV=production", "RUSTOK_CONFIG=/etc/rustok", "RUSTOK_SEED_PASSWORD=x",
				"RUSTOK_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test", "PATH=/usr/bin",
				"server__port=1", "NO_EQUALS_SIGN",
			},
			want: func(*config.Config) {},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := ""
			if tc.yaml != "" {
				dir = writeConfig(t, "development", tc.yaml)
			}
			got := mustLoad(t, dir, "development", tc.environ)
			want := config.Default()
			tc.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Load:\n got %+v\nwant %+v", got, want)
			}
			if got.Auth.JWT.Secret != want.Auth.JWT.Secret {
				t.Error("auth.jwt.secret differs") // %+v redacts secrets
			}
		})
	}
}

func TestLoadRefuses(t *testing.T) {
	t.Parallel()
	const file = "FILE" // replaced by the path of the file written
	tests := []struct {
		name    string
		yaml    string // development.yaml; none if empty
		environ []string
		wantErr string // every line, joined by "\n"
	}{
		{
			name:    "unknown key in the file",
			yaml:    "server:\n  prot: 8080\n",
			wantErr: `FILE: unknown key "server.prot"`,
		},
		{
			name:    "unknown top-level key in the file",
			yaml:    "srever:\n  port: 8080\n",
			wantErr: `FILE: unknown key "srever.port"`,
		},
		{
			name:    "keys are case-sensitive",
			yaml:    "Server:\n  Port: 8080\n",
			wantErr: `FILE: unknown key "Server.Port"`,
		},
		{
			name:    "unknown keys are all reported, sorted",
			yaml:    "zzz: 1\nserver:\n  prot: 1\n",
			wantErr: "FILE: unknown key \"server.prot\"\nFILE: unknown key \"zzz\"",
		},
		{
			name:    "unknown RUSTOK_ variable",
			environ: []string{"RUSTOK_SERVER__PROT=8080"},
			wantErr: `environment variable RUSTOK_SERVER__PROT: unknown key "server.prot"`,
		},
		{
			name:    "single underscore between levels",
			environ: []string{"RUSTOK_SERVER_PORT=8080"},
			wantErr: `environment variable RUSTOK_SERVER_PORT: unknown key "server_port"`,
		},
		{
			name:    "value for a section",
			environ: []string{"RUSTOK_SERVER=8080"},
			wantErr: "environment variable RUSTOK_SERVER: server: must be a section of keys, not a single value",
		},
		{
			name:    "section for a value",
			yaml:    "server:\n  port:\n    number: 8080\n",
			wantErr: "FILE: server.port: must be a single value, not a section of keys",
		},
		{
			name:    "negative port",
			environ: []string{"RUSTOK_SERVER__PORT=-1"},
			wantErr: "environment variable RUSTOK_SERVER__PORT: server.port: must be between 0 and 65535, got -1",
		},
		{
			name:    "port 70000",
			yaml:    "server:\n  port: 70000\n",
			wantErr: "FILE: server.port: must be between 0 and 65535, got 70000",
		},
		{
			name:    "port abc in the file",
			yaml:    "server:\n  port: abc\n",
			wantErr: `FILE: server.port: must be a whole number, got "abc"`,
		},
		{
			name:    "port abc in the environment",
			environ: []string{"RUSTOK_SERVER__PORT=abc"},
			wantErr: `environment variable RUSTOK_SERVER__PORT: server.port: must be a whole number, got "abc"`,
		},
		{
			name:    "fractional number",
			yaml:    "server:\n  port: 80.5\n",
			wantErr: "FILE: server.port: must be a whole number, got 80.5",
		},
		{
			name:    "number out of the field's range",
			yaml:    "auth:\n  password:\n    argon2_parallelism: 300\n",
			wantErr: "FILE: auth.password.argon2_parallelism: must be a whole number between 0 and 255, got 300",
		},
		{
			name:    "negative unsigned",
			environ: []string{"RUSTOK_AUTH__PASSWORD__ARGON2_MEMORY_KIB=-1"},
			wantErr: `environment variable RUSTOK_AUTH__PASSWORD__ARGON2_MEMORY_KIB: auth.password.argon2_memory_kib: must be a whole number between 0 and 4294967295, got "-1"`,
		},
		{
			name:    "bad duration",
			environ: []string{"RUSTOK_SETTINGS__RUSTOK__EVENTS__POLL_INTERVAL=fast"},
			wantErr: `environment variable RUSTOK_SETTINGS__RUSTOK__EVENTS__POLL_INTERVAL: settings.rustok.events.poll_interval: must be a duration such as "5s", "250ms" or "1h30m", got "fast"`,
		},
		{
			name:    "duration without unit",
			yaml:    "server:\n  read_timeout: 5\n",
			wantErr: `FILE: server.read_timeout: must be a duration such as "5s", "250ms" or "1h30m" (a bare number has no unit), got 5`,
		},
		{
			name:    "negative duration",
			environ: []string{"RUSTOK_SERVER__READ_TIMEOUT=-5s"},
			wantErr: "environment variable RUSTOK_SERVER__READ_TIMEOUT: server.read_timeout: must be a positive duration, got -5s",
		},
		{
			name:    "bad bool",
			environ: []string{"RUSTOK_GRAPHQL__PLAYGROUND=yes"},
			wantErr: `environment variable RUSTOK_GRAPHQL__PLAYGROUND: graphql.playground: must be true or false, got "yes"`,
		},
		{
			name:    "number for a string",
			yaml:    "server:\n  body_limit: 1024\n",
			wantErr: "FILE: server.body_limit: must be a string (quote it in YAML), got 1024",
		},
		{
			name:    "scalar for a list",
			yaml:    "settings:\n  rustok:\n    tenant:\n      base_domains: 5\n",
			wantErr: "FILE: settings.rustok.tenant.base_domains: must be a list of strings, or one comma-separated string, got 5",
		},
		{
			name:    "list entry of the wrong type",
			yaml:    "settings:\n  rustok:\n    modules:\n      default_enabled: [blog, 7]\n",
			wantErr: "FILE: settings.rustok.modules.default_enabled: entry 2 must be a string (quote it in YAML), got [blog 7]",
		},
		{
			name:    "bad resolution",
			environ: []string{"RUSTOK_SETTINGS__RUSTOK__TENANT__RESOLUTION=cookie"},
			wantErr: `environment variable RUSTOK_SETTINGS__RUSTOK__TENANT__RESOLUTION: settings.rustok.tenant.resolution: must be header, host or subdomain, got "cookie"`,
		},
		{
			name:    "bad URL scheme",
			environ: []string{"RUSTOK_DATABASE__URL=mysql://root:hunter2@db/rustok"},
			wantErr: `environment variable RUSTOK_DATABASE__URL: database.url: scheme must be sqlite://, postgres:// or postgresql://, got "mysql://root:xxxxx@db/rustok"`,
		},
		{
			name:    "bad CIDR",
			yaml:    "settings:\n  rustok:\n    rate_limit:\n      trusted_proxies: [10.0.0.0/8, 10.0.0.0/33]\n",
			wantErr: `FILE: settings.rustok.rate_limit.trusted_proxies: entries must be IP addresses or CIDR prefixes, got "10.0.0.0/33"`,
		},
		{
			name:    "bad body limit",
			yaml:    "server:\n  body_limit: 2X\n",
			wantErr: `FILE: server.body_limit: unit must be one of B, K, KB, M, MB, G, GB, got "2X"`,
		},
		{
			name:    "bad log level",
			environ: []string{"RUSTOK_LOGGER__LEVEL=verbose"},
			wantErr: `environment variable RUSTOK_LOGGER__LEVEL: logger.level: must be debug, info, warn or error, got "verbose"`,
		},
		{
			name: "unknown keys and wrong types at once, before validation",
			yaml: "server:\n  prot: 1\n  port: abc\n",
			environ: []string{
				"RUSTOK_LOGGER__FORMAT=xml",
				"RUSTOK_NOPE=1",
				"RUSTOK_SETTINGS__RUSTOK__EVENTS__POLL_INTERVAL=soon",
			},
			wantErr: strings.Join([]string{
				`FILE: unknown key "server.prot"`,
				`environment variable RUSTOK_NOPE: unknown key "nope"`,
				`FILE: server.port: must be a whole number, got "abc"`,
				`environment variable RUSTOK_SETTINGS__RUSTOK__EVENTS__POLL_INTERVAL: settings.rustok.events.poll_interval: must be a duration such as "5s", "250ms" or "1h30m", got "soon"`,
			}, "\n"),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir, want := "", tc.wantErr
			if tc.yaml != "" {
				dir = writeConfig(t, "development", tc.yaml)
				want = strings.ReplaceAll(want, file, filepath.Join(dir, "development.yaml"))
			}
			cfg, err := config.Load(dir, "development", tc.environ)
			if err == nil {
				t.Fatalf("Load succeeded, want error %q", want)
			}
			if err.Error() != want {
				t.Errorf("Load error:\n got %s\nwant %s", err, want)
			}
			if !reflect.DeepEqual(cfg, config.Config{}) {
				t.Errorf("Load returned a non-zero Config with its error: %+v", cfg)
			}
		})
	}
}

func TestLoadFileErrors(t *testing.T) {
	t.Parallel()

	t.Run("folder without the file keeps the built-in values", func(t *testing.T) {
		t.Parallel()
		got := mustLoad(t, t.TempDir(), "test", nil)
		if want := shippedFile("test"); !reflect.DeepEqual(got, want) {
			t.Errorf("Load:\n got %+v\nwant %+v", got, want)
		}
	})

	t.Run("missing folder", func(t *testing.T) {
		t.Parallel()
		dir := filepath.Join(t.TempDir(), "nope")
		_, err := config.Load(dir, "development", nil)
		want := "configuration directory " + dir + ": no such file or directory"
		if err == nil || err.Error() != want {
			t.Fatalf("Load error = %v, want %q", err, want)
		}
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("errors.Is(%v, fs.ErrNotExist) = false", err)
		}
	})

	t.Run("folder that is a file", func(t *testing.T) {
		t.Parallel()
		dir := filepath.Join(writeConfig(t, "development", ""), "development.yaml")
		_, err := config.Load(dir, "development", nil)
		want := "configuration directory " + dir + ": not a directory"
		if err == nil || err.Error() != want {
			t.Fatalf("Load error = %v, want %q", err, want)
		}
	})

	t.Run("unknown environment without a folder", func(t *testing.T) {
		t.Parallel()
		_, err := config.Load("config", "staging", nil)
		want := "env: must be development, test or production, got \"staging\"\n" +
			"configuration directory config: no such file or directory"
		if err == nil || err.Error() != want {
			t.Fatalf("Load error = %v, want %q", err, want)
		}
	})

	t.Run("unknown environment without a file", func(t *testing.T) {
		t.Parallel()
		_, err := config.Load(t.TempDir(), "staging", nil)
		want := `env: must be development, test or production, got "staging"`
		if err == nil || err.Error() != want {
			t.Fatalf("Load error = %v, want %q", err, want)
		}
	})

	t.Run("unknown environment with a file", func(t *testing.T) {
		t.Parallel()
		dir := writeConfig(t, "staging", "server:\n  port: 8080\n")
		_, err := config.Load(dir, "staging", nil)
		want := `env: must be development, test or production, got "staging"`
		if err == nil || err.Error() != want {
			t.Fatalf("Load error = %v, want %q", err, want)
		}
	})

	t.Run("malformed YAML", func(t *testing.T) {
		t.Parallel()
		dir := writeConfig(t, "development", "server:\n  port: 8080\n   host: [\n")
		_, err := config.Load(dir, "development", nil)
		path := filepath.Join(dir, "development.yaml")
		if err == nil || !strings.HasPrefix(err.Error(), path+": yaml: line 3: ") {
			t.Fatalf("Load error = %v, want %q followed by the parser's message", err, path+": yaml: line 3: ")
		}
	})

	t.Run("not a mapping", func(t *testing.T) {
		t.Parallel()
		dir := writeConfig(t, "development", "- server\n- port\n")
		_, err := config.Load(dir, "development", nil)
		path := filepath.Join(dir, "development.yaml")
		if err == nil || !strings.HasPrefix(err.Error(), path+": yaml: unmarshal errors:\n  line 1: ") {
			t.Fatalf("Load error = %v, want the path and line 1", err)
		}
	})

	t.Run("empty file keeps the defaults", func(t *testing.T) {
		t.Parallel()
		dir := writeConfig(t, "development", "# nothing set\n")
		if got, want := mustLoad(t, dir, "development", nil), config.Default(); !reflect.DeepEqual(got, want) {
			t.Errorf("Load:\n got %+v\nwant %+v", got, want)
		}
	})
}
