package config_test

import (
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rustok/rustok/config"
)

func TestLoadWithSources(t *testing.T) {
	t.Parallel()
	const file = "FILE" // replaced by the path of the file written
	tests := []struct {
		name    string
		env     string
		yaml    string // <env>.yaml on disk; no folder if empty
		environ []string
		want    config.Sources // every key not listed must be config.SourceDefault
	}{
		{
			name: "development without anything: every key is a default",
			env:  "development",
			want: config.Sources{},
		},
		{
			name: "built-in test.yaml names the keys it changes",
			env:  "test",
			want: config.Sources{
				"database.url":                       "built-in test.yaml",
				"logger.level":                       "built-in test.yaml",
				"auth.password.argon2_memory_kib":    "built-in test.yaml",
				"auth.password.argon2_iterations":    "built-in test.yaml",
				"graphql.playground":                 "built-in test.yaml",
				"settings.rustok.rate_limit.enabled": "built-in test.yaml",
			},
		},
		{
			name:    "built-in production.yaml, and the required keys from the environment",
			env:     "production",
			environ: productionEnv,
			want: config.Sources{
				"server.host":                                 "built-in production.yaml",
				"database.max_open_conns":                     "built-in production.yaml",
				"settings.rustok.features.email_verification": "built-in production.yaml",
				"settings.rustok.email.driver":                "built-in production.yaml",
				"auth.jwt.secret":                             "environment variable RUSTOK_JWT_SECRET",
				"database.url":                                "environment variable DATABASE_URL",
			},
		},
		{
			name: "a file names its path, even for the default value",
			env:  "development",
			yaml: "server:\n  port: 5150\n  host: 0.0.0.0\n",
			want: config.Sources{"server.port": file, "server.host": file},
		},
		{
			name: "a key without value keeps its default and its source",
			env:  "development",
			yaml: "server:\n  port:\n",
			want: config.Sources{},
		},
		{
			name:    "the file wins over the built-in file",
			env:     "production",
			yaml:    "database:\n  max_open_conns: 5\n",
			environ: productionEnv,
			want: config.Sources{
				"server.host":                                 "built-in production.yaml",
				"database.max_open_conns":                     file,
				"settings.rustok.features.email_verification": "built-in production.yaml",
				"settings.rustok.email.driver":                "built-in production.yaml",
				"auth.jwt.secret":                             "environment variable RUSTOK_JWT_SECRET",
				"database.url":                                "environment variable DATABASE_URL",
			},
		},
		{
			name:    "the environment wins over the file",
			env:     "development",
			yaml:    "server:\n  port: 6000\n",
			environ: []string{"RUSTOK_SERVER__PORT=7000"},
			want:    config.Sources{"server.port": "environment variable RUSTOK_SERVER__PORT"},
		},
		{
			name:    "the full form wins over the shorthand",
			env:     "development",
			environ: []string{"RUSTOK_DATABASE__URL=sqlite://./full.db", "DATABASE_URL=sqlite://./short.db"},
			want:    config.Sources{"database.url": "environment variable RUSTOK_DATABASE__URL"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := ""
			if tc.yaml != "" {
				dir = writeConfig(t, tc.env, tc.yaml)
			}
			cfg, sources, err := config.LoadWithSources(dir, tc.env, tc.environ)
			if err != nil {
				t.Fatalf("LoadWithSources: %v", err)
			}
			if plain := mustLoad(t, dir, tc.env, tc.environ); !reflect.DeepEqual(cfg, plain) {
				t.Errorf("LoadWithSources and Load differ:\n got %+v\nwant %+v", cfg, plain)
			}
			var keys []string
			for _, kv := range cfg.Flatten() {
				keys = append(keys, kv.Key)
			}
			if got := slices.Sorted(maps.Keys(sources)); !slices.Equal(got, keys) {
				t.Fatalf("sources name keys\n %q\nwant the keys of Config\n %q", got, keys)
			}
			for key, got := range sources {
				want, listed := tc.want[key]
				if !listed {
					want = config.SourceDefault
				}
				if want == file {
					want = filepath.Join(dir, tc.env+".yaml")
				}
				if got != want {
					t.Errorf("source of %s = %q, want %q", key, got, want)
				}
			}
		})
	}
}

func TestLoadWithSourcesErrorsAreLoads(t *testing.T) {
	t.Parallel()
	environ := []string{"RUSTOK_SERVER__PORT=abc", "RUSTOK_NOPE=1"}
	_, sources, err := config.LoadWithSources("", "production", environ)
	_, loadErr := config.Load("", "production", environ)
	if err == nil || loadErr == nil || err.Error() != loadErr.Error() {
		t.Fatalf("LoadWithSources error = %v, Load error = %v; want the same error", err, loadErr)
	}
	if sources != nil {
		t.Errorf("sources = %v with an error, want nil", sources)
	}
}

func TestFlatten(t *testing.T) {
	t.Parallel()
	c := secretConfig()
	flat := c.Flatten()
	got := make(map[string]any, len(flat))
	for i, kv := range flat {
		if i > 0 && strings.Compare(flat[i-1].Key, kv.Key) >= 0 {
			t.Errorf("keys not sorted or repeated: %q before %q", flat[i-1].Key, kv.Key)
		}
		got[kv.Key] = kv.Value
	}
	tests := []struct {
		key  string
		want any
	}{
		{"server.port", 5150},
		{"server.read_timeout", 15 * time.Second},
		{"auth.password.argon2_parallelism", uint8(1)},
		{"settings.rustok.modules.default_enabled", []string{"content", "commerce", "pages"}},
		{"auth.jwt.secret", "[redacted]"},
		{"auth.jwt.keys", []string{"[redacted]"}},
		{"settings.rustok.email.smtp.password", "[redacted]"},
		{"settings.rustok.email.smtp.username", "mailer"},
		{"database.url", c.Redacted().Database.URL},
		{"redis.url", "redis://:xxxxx@cache:6379/0"},
		{"settings.rustok.events.forward.nats_url", "nats://rustok:xxxxx@nats:4222"},
	}
	for _, tc := range tests {
		t.Run(tc.key, func(t *testing.T) {
			if !reflect.DeepEqual(got[tc.key], tc.want) {
				t.Errorf("%s = %#v, want %#v", tc.key, got[tc.key], tc.want)
			}
		})
	}
	for _, kv := range flat {
		assertNoSecret(t, kv.Key, strings.Join([]string{kv.Key, valueText(kv.Value)}, "="))
	}
	if _, ok := got["env"]; ok {
		t.Error("Flatten lists env, which is not a key")
	}
	if len(flat) != len(config.Default().Flatten()) {
		t.Errorf("Flatten of a full config has %d keys, of Default() %d", len(flat), len(config.Default().Flatten()))
	}
}

func valueText(v any) string {
	if list, ok := v.([]string); ok {
		return strings.Join(list, ",")
	}
	s, _ := v.(string)
	return s
}
