package config_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/rustok/rustok/config"
)

// Secrets used below; none may appear in any output.
const (
	jwtSecret  = "jwt-SECRET-1-jwt-SECRET-1-jwt-SECRET-1"
	jwtKey     = "eddsa-KEY-2"
	dbPassword = "db-PASSWORD-3"
	redisPass  = "redis-PASSWORD-4"
	natsPass   = "nats-PASSWORD-5"
	smtpPass   = "smtp-PASSWORD-6"
	queryPass  = "query-PASSWORD-7"
)

var allSecrets = []string{jwtSecret, jwtKey, dbPassword, redisPass, natsPass, smtpPass, queryPass}

// secretConfig returns a valid configuration that holds every kind of secret.
func secretConfig() config.Config {
	c := config.Default()
	c.Auth.JWT.Secret = jwtSecret
	c.Auth.JWT.Keys = []string{jwtKey}
	c.Database.URL = "postgres://rustok:" + dbPassword + "@db:5432/rustok?sslpassword=" + queryPass + "&sslmode=require"
	c.Redis.URL = "redis://:" + redisPass + "@cache:6379/0"
	c.Settings.Rustok.Events.Forward.NatsURL = "nats://rustok:" + natsPass + "@nats:4222"
	c.Settings.Rustok.Email.SMTP.Username = "mailer"
	c.Settings.Rustok.Email.SMTP.Password = smtpPass
	return c
}

func assertNoSecret(t *testing.T, what, out string) {
	t.Helper()
	for _, s := range allSecrets {
		if strings.Contains(out, s) {
			t.Errorf("%s shows secret %q:\n%s", what, s, out)
		}
	}
}

func TestRedacted(t *testing.T) {
	t.Parallel()
	c := secretConfig()
	r := c.Redacted()

	want := secretConfig()
	want.Auth.JWT.Secret = "[redacted]"
	want.Auth.JWT.Keys = []string{"[redacted]"}
	want.Database.URL = "postgres://rustok:xxxxx@db:5432/rustok?sslpassword=xxxxx&sslmode=require"
	want.Redis.URL = "redis://:xxxxx@cache:6379/0"
	want.Settings.Rustok.Events.Forward.NatsURL = "nats://rustok:xxxxx@nats:4222"
	want.Settings.Rustok.Email.SMTP.Password = "[redacted]"
	if !reflect.DeepEqual(r, want) {
		t.Errorf("Redacted():\n got %+v\nwant %+v", r, want)
	}
	// The fields one by one, since %+v above goes through the redacting Format.
	if r.Auth.JWT.Secret != "[redacted]" || r.Auth.JWT.Keys[0] != "[redacted]" || r.Settings.Rustok.Email.SMTP.Password != "[redacted]" {
		t.Errorf("Redacted() kept a secret")
	}
	if !reflect.DeepEqual(c, secretConfig()) || c.Auth.JWT.Keys[0] != jwtKey {
		t.Error("Redacted() changed its receiver")
	}

	r.Settings.Rustok.Modules.DefaultEnabled[0] = "changed"
	if c.Settings.Rustok.Modules.DefaultEnabled[0] != "content" {
		t.Error("Redacted() shares a slice with its receiver")
	}

	unset := config.Default()
	unset.Auth.JWT.Secret = ""
	if got := unset.Redacted().Auth.JWT.Secret; got != "" {
		t.Errorf("Redacted() of an unset secret = %q, want empty", got)
	}
}

func TestFormattingHidesSecrets(t *testing.T) {
	t.Parallel()
	c := secretConfig()
	values := map[string]any{
		"Config":   c,
		"*Config":  &c,
		"Auth":     c.Auth,
		"JWT":      c.Auth.JWT,
		"Database": c.Database,
		"Redis":    c.Redis,
		"Settings": c.Settings,
		"Email":    c.Settings.Rustok.Email,
		"SMTP":     c.Settings.Rustok.Email.SMTP,
		"Forward":  c.Settings.Rustok.Events.Forward,
	}
	for name, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%x", "%X"} {
			assertNoSecret(t, fmt.Sprintf("%s with %s", name, verb), fmt.Sprintf(verb, v))
		}
	}
	if got := c.String(); !strings.Contains(got, "Secret:[redacted]") || !strings.Contains(got, "rustok:xxxxx@db") {
		t.Errorf("String() = %s, want the redacted values", got)
	}

	var text, js bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("config", "config", c)
	slog.New(slog.NewJSONHandler(&js, nil)).Info("config", "config", c)
	assertNoSecret(t, "slog text", text.String())
	assertNoSecret(t, "slog JSON", js.String())
	if !strings.Contains(js.String(), `"Secret":"[redacted]"`) {
		t.Errorf("slog JSON = %s, want the redacted config", js.String())
	}
}

func TestErrorsHideSecrets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		yaml    string
		environ []string
	}{
		{
			name:    "bad database scheme",
			environ: []string{"DATABASE_URL=mysql://root:" + dbPassword + "@db/rustok"},
		},
		{
			name:    "keyword DSN",
			environ: []string{"DATABASE_URL=host=db password=" + dbPassword},
		},
		{
			name:    "bad redis scheme",
			environ: []string{"REDIS_URL=http://:" + redisPass + "@cache"},
		},
		{
			name:    "bad NATS scheme",
			environ: []string{"RUSTOK_SETTINGS__RUSTOK__EVENTS__FORWARD__NATS_URL=http://u:" + natsPass + "@nats"},
		},
		{
			name:    "short production secret",
			environ: []string{"RUSTOK_JWT_SECRET=jwt-SECRET-1"},
		},
		{
			name: "secret of the wrong type",
			yaml: "auth:\n  jwt:\n    secret: 12345678901234567890123456789012345\n" +
				"    keys: [[" + jwtKey + "]]\n" +
				"settings:\n  rustok:\n    email:\n      smtp:\n        password: {" + smtpPass + ": 1}\n",
		},
		{
			name:    "unknown key next to a secret",
			environ: []string{"RUSTOK_AUTH__JWT__SECRT=" + jwtSecret},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := ""
			if tc.yaml != "" {
				dir = writeConfig(t, "production", tc.yaml)
			}
			_, err := config.Load(dir, "production", tc.environ)
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			assertNoSecret(t, "Load error", err.Error())
			if strings.Contains(err.Error(), "12345678901234567890") {
				t.Errorf("Load error shows the numeric secret: %v", err)
			}
		})
	}
}
