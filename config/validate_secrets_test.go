package config_test

import (
	"strings"
	"testing"

	"github.com/rustok/rustok/config"
)

// productionConfig returns Default() as production validates it, with the
// keys production requires set to acceptable values.
func productionConfig() config.Config {
	c := config.Default()
	c.Env = config.EnvProduction
	c.Auth.JWT.Secret = prodSecret
	c.Server.Metrics.Listen = "127.0.0.1:9150"
	// As production.yaml: the default log driver is refused in production.
	c.Settings.Rustok.Email.Driver = "smtp"
	return c
}

// TestValidateJWTSecretEntropy: production refuses a secret that is long
// enough but predictable, and names the rule it breaks; random secrets pass.
func TestValidateJWTSecretEntropy(t *testing.T) {
	t.Parallel()
	const advice = "; use random bytes, such as the output of `openssl rand -base64 32` (set RUSTOK_JWT_SECRET)"
	const weak = "auth.jwt.secret: is too predictable for production: "
	tests := []struct {
		name    string
		env     string // default production
		secret  string
		wantErr string // "" for accepted
	}{
		{name: "32 spaces", secret: strings.Repeat(" ", 32), wantErr: weak + "it has 1 different bytes, at least 10 are needed" + advice},
		{name: "one repeated byte", secret: strings.Repeat("a", 32), wantErr: weak + "it has 1 different bytes, at least 10 are needed" + advice},
		{name: "two bytes alternating", secret: strings.Repeat("ab", 20), wantErr: weak + "it has 2 different bytes, at least 10 are needed" + advice},
		{name: "white space of every kind", secret: strings.Repeat(" \t\r\n\v\f", 6), wantErr: weak + "it has 6 different bytes, at least 10 are needed" + advice},
		{name: "a word repeated", secret: strings.Repeat("password", 4), wantErr: weak + "it has 7 different bytes, at least 10 are needed" + advice},
		{name: "keyboard walk along the rows", secret: "qwertyuiopasdfghjklzxcvbnm123456",
			wantErr: weak + "28 of its 31 neighbouring byte pairs are repeats, sequences or keyboard walks, at most half may be" + advice},
		{name: "keyboard walk down the columns", secret: "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik,",
			wantErr: weak + "24 of its 31 neighbouring byte pairs are repeats, sequences or keyboard walks, at most half may be" + advice},
		{name: "shifted keyboard walk", secret: "!QAZ@WSX#EDC$RFV%TGB^YHN&UJM*IK<",
			wantErr: weak + "24 of its 31 neighbouring byte pairs are repeats, sequences or keyboard walks, at most half may be" + advice},
		{name: "hex digits in order", secret: "0123456789abcdef0123456789abcdef",
			wantErr: weak + "28 of its 31 neighbouring byte pairs are repeats, sequences or keyboard walks, at most half may be" + advice},
		{name: "a phrase repeated", secret: "Tr0ub4dor&3Tr0ub4dor&3Tr0ub4dor&3",
			wantErr: weak + "only 11 of its 31 3-byte substrings differ, at least three quarters must (a repeated pattern)" + advice},
		{name: "the development secret", secret: "rustok-development-jwt-secret-not-for-production",
			wantErr: "auth.jwt.secret: must not be the development secret in production (set RUSTOK_JWT_SECRET)"},
		{name: "31 random bytes of base64 are too short", secret: "uAeH2h+OE9KJ0tLiUcsC8ZAPVZqoEY2",
			wantErr: "auth.jwt.secret: must be at least 32 bytes in production (set RUSTOK_JWT_SECRET)"},
		{name: "openssl rand -base64 32", secret: "uAeH2h+OE9KJ0tLiUcsC8ZAPVZqoEY2it6IHR6jlIRc="},
		{name: "openssl rand -hex 32", secret: "2f66a9df157721069931d9ffcec5b54455e962a2385cdd8a8f0212b42d1f947f"},
		{name: "a long passphrase", secret: "correct horse battery staple, 2024 edition"},
		{name: "outside production the rule does not apply", env: config.EnvDevelopment, secret: strings.Repeat("a", 32)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := productionConfig()
			if tc.env != "" {
				c.Env = tc.env
			}
			c.Auth.JWT.Secret = tc.secret
			err := c.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tc.wantErr != "" && err == nil:
				t.Fatalf("Validate() = nil, want %q", tc.wantErr)
			case tc.wantErr != "" && err.Error() != tc.wantErr:
				t.Fatalf("Validate():\n got %s\nwant %s", err, tc.wantErr)
			}
			if err != nil && strings.TrimSpace(tc.secret) != "" && strings.Contains(err.Error(), tc.secret) {
				t.Errorf("the error shows the secret: %v", err)
			}
		})
	}
}

// TestValidateMetrics: server.metrics.listen is an address of its own or
// empty, the token is long enough, and production never serves /metrics on
// the public listener without a token.
func TestValidateMetrics(t *testing.T) {
	t.Parallel()
	const token = "0d9f3c1b7a2e4f68"
	tests := []struct {
		name    string
		change  func(c *config.Config) // applied to productionConfig()
		wantErr string
	}{
		{name: "production default: its own loopback listener", change: func(*config.Config) {}},
		{name: "development: the main listener, no token", change: func(c *config.Config) { c.Env = config.EnvDevelopment; c.Server.Metrics.Listen = "" }},
		{name: "a private interface with a token", change: func(c *config.Config) {
			c.Server.Metrics = config.Metrics{Listen: "10.0.0.5:9150", Token: token}
		}},
		{name: "every interface, a name, IPv6, a free port", change: func(c *config.Config) {
			for _, l := range []string{":9150", "metrics.internal:9150", "[::1]:9150", "127.0.0.1:0"} {
				c.Server.Metrics.Listen = l
				if err := c.Validate(); err != nil {
					t.Errorf("listen %q: %v", l, err)
				}
			}
		}},
		{name: "the main listener with a token in production", change: func(c *config.Config) {
			c.Server.Metrics = config.Metrics{Listen: "", Token: token}
		}},
		{
			name:    "the main listener without a token in production",
			change:  func(c *config.Config) { c.Server.Metrics.Listen = "" },
			wantErr: "server.metrics.token: must be set in production when server.metrics.listen is empty, or /metrics is public on server.host and server.port (set RUSTOK_SERVER__METRICS__TOKEN, or listen on 127.0.0.1:9150)",
		},
		{
			name:    "no port",
			change:  func(c *config.Config) { c.Server.Metrics.Listen = "127.0.0.1" },
			wantErr: `server.metrics.listen: must be host:port, such as "127.0.0.1:9150", got "127.0.0.1"`,
		},
		{
			name:    "a URL",
			change:  func(c *config.Config) { c.Server.Metrics.Listen = "http://127.0.0.1:9150" },
			wantErr: `server.metrics.listen: must be host:port, such as "127.0.0.1:9150", got "http://127.0.0.1:9150"`,
		},
		{
			name:    "port out of range",
			change:  func(c *config.Config) { c.Server.Metrics.Listen = "127.0.0.1:70000" },
			wantErr: `server.metrics.listen: must have a port between 0 and 65535, got "127.0.0.1:70000"`,
		},
		{
			name:    "bad host",
			change:  func(c *config.Config) { c.Server.Metrics.Listen = "bad_host!:9150" },
			wantErr: `server.metrics.listen: must have an IP address or a host name before the port, got "bad_host!:9150"`,
		},
		{
			name: "the main listener's own port",
			change: func(c *config.Config) {
				c.Server.Host, c.Server.Port = "0.0.0.0", 5150
				c.Server.Metrics.Listen = "127.0.0.1:5150"
			},
			wantErr: `server.metrics.listen: must differ from server.host and server.port (leave it "" to serve /metrics there), got "127.0.0.1:5150"`,
		},
		{
			name:    "short token",
			change:  func(c *config.Config) { c.Server.Metrics.Token = "short-token" },
			wantErr: "server.metrics.token: must be at least 16 bytes when set",
		},
		{
			name:    "token with a space",
			change:  func(c *config.Config) { c.Server.Metrics.Token = "a token with spaces" },
			wantErr: "server.metrics.token: must be printable ASCII without spaces (it is sent as a bearer token)",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := productionConfig()
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
