package config_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/redis/go-redis/v9"

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

// TestRedactURL feeds RedactURL every form in which a secret reaches a log
// or an error: each secret starts with "pw" and none may remain.
func TestRedactURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		// Userinfo.
		{"userinfo password", "postgres://rustok:pw-1@db:5432/rustok", "postgres://rustok:xxxxx@db:5432/rustok"},
		{"userinfo password, postgresql scheme", "postgresql://rustok:pw-1@db/rustok", "postgresql://rustok:xxxxx@db/rustok"},
		{"password with ':'", "postgres://u:pw:2@db/x", "postgres://u:xxxxx@db/x"},
		{"password with '@'", "postgres://u:pw@3@db/x", "postgres://u:xxxxx@db/x"},
		{"password with unencoded '/' and '?'", "postgres://u:pw/4?x=y@db/rustok", "postgres://u:xxxxx@db/rustok"},
		{"redis password without user", "redis://:pw-5@cache:6379/0", "redis://:xxxxx@cache:6379/0"},
		{"redis user and password", "rediss://default:pw-6@cache", "rediss://default:xxxxx@cache"},
		{"redis userinfo without ':' (a password to the operator)", "redis://pw-7@cache:6379", "redis://xxxxx@cache:6379"},
		{"NATS token", "nats://pw-8@nats:4222", "nats://xxxxx@nats:4222"},
		{"NATS list", "nats://u:pw-9@n1:4222,nats://pw-10@n2:4222,tls://n3", "nats://u:xxxxx@n1:4222,nats://xxxxx@n2:4222,tls://n3"},
		{"http basic auth and token", "https://u:pw-11@example.com/reset?token=pw-12", "https://u:xxxxx@example.com/reset?token=xxxxx"},
		{"URL without scheme", "rustok:pw-13@db:5432/rustok", "rustok:xxxxx@db:5432/rustok"},
		{"'@' in the query masks too much, never too little", "postgres://u:pw-14@db/x?application_name=a@b", "postgres://u:xxxxx@b"},

		// Query and key=value parameters.
		{"password query parameter", "postgres://rustok@db/rustok?password=pw-15&sslmode=require", "postgres://rustok@db/rustok?password=xxxxx&sslmode=require"},
		{"sslpassword", "postgres://db/rustok?sslmode=verify-full&sslpassword=pw-16", "postgres://db/rustok?sslmode=verify-full&sslpassword=xxxxx"},
		{"parameter name in any case", "postgres://db/x?PassWord=pw-17", "postgres://db/x?PassWord=xxxxx"},
		{"percent-encoded parameter name", "postgres://db/x?pass%77ord=pw-18", "postgres://db/x?pass%77ord=xxxxx"},
		{"key=value DSN", "host=db user=rustok password=pw-19 dbname=rustok", "host=db user=rustok password=xxxxx dbname=rustok"},
		{"quoted DSN value", `host=db password='pw 20 \' with spaces' dbname=x`, "host=db password=xxxxx dbname=x"},
		{"spaces around '='", "host=db password = pw-21 port=5432", "host=db password = xxxxx port=5432"},
		{"other secret names", "access_token=pw-22&client_secret=pw-23&x-api-key=pw-24", "access_token=xxxxx&client_secret=xxxxx&x-api-key=xxxxx"},

		// Texts that quote them.
		{"error text", "cannot reach PostgreSQL at postgres://u:pw-25@127.0.0.1:1/x: dial tcp 127.0.0.1:1: connect: connection refused",
			"cannot reach PostgreSQL at postgres://u:xxxxx@127.0.0.1:1/x: dial tcp 127.0.0.1:1: connect: connection refused"},
		{"net/url error", `parse "redis://:pw-26@cache:x": invalid port ":x" after host`, `parse "redis://:xxxxx@cache:x": invalid port ":x" after host`},
		{"backquoted", "cannot parse `postgres://u:pw-27@h/db?password=pw-28`: failed", "cannot parse `postgres://u:xxxxx@h/db?password=xxxxx`: failed"},
		{"two URLs in a sentence", "from redis://:pw-29@a to nats://pw-30@b", "from redis://:xxxxx@a to nats://xxxxx@b"},

		// Nothing secret: kept as is.
		{"empty", "", ""},
		{"PostgreSQL user name", "postgres://rustok@db:5432/rustok?sslmode=disable", "postgres://rustok@db:5432/rustok?sslmode=disable"},
		{"SQLite path", "sqlite://./data/rustok.db", "sqlite://./data/rustok.db"},
		{"SQLite path with '@' and ':'", "sqlite:///srv/a:b@c.db", "sqlite:///srv/a:b@c.db"},
		{"plain URL", "http://localhost:5150/reset-password", "http://localhost:5150/reset-password"},
		{"email address", "RusToK <no-reply@localhost>", "RusToK <no-reply@localhost>"},
		{"user@host:port", "dial rustok@db:5432", "dial rustok@db:5432"},
		{"empty password parameter", "postgres://db/x?password=&sslmode=disable", "postgres://db/x?password=&sslmode=disable"},
		{"ordinary parameters", "tenant_id=abc status=200 route=/api/graphql", "tenant_id=abc status=200 route=/api/graphql"},
		{"empty userinfo", "redis://@cache:6379", "redis://@cache:6379"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := config.RedactURL(tc.in)
			if got != tc.want {
				t.Errorf("RedactURL(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
			if strings.Contains(got, "pw") {
				t.Errorf("RedactURL(%q) = %q keeps a secret", tc.in, got)
			}
			if again := config.RedactURL(got); again != got {
				t.Errorf("RedactURL is not idempotent: %q → %q", got, again)
			}
		})
	}
}

// TestRedactErrorOfDrivers makes real errors of pgx and go-redis from URLs
// holding passwords: no part of a password survives RedactError, and the
// error still matches with errors.As.
func TestRedactErrorOfDrivers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pgConnect := func(raw string) error {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		conn, err := pgconn.Connect(ctx, raw)
		if err == nil {
			_ = conn.Close(ctx)
			return errors.New("connected to a closed port")
		}
		return err
	}
	redisParse := func(raw string) error {
		_, err := redis.ParseURL(raw)
		if err == nil {
			return errors.New("go-redis parsed a bad URL")
		}
		return err
	}
	tests := []struct {
		name  string
		raw   string
		err   func(raw string) error
		match func(error) bool // errors.As still finds the driver's error
	}{
		{"pgx, closed port, userinfo password", "postgres://u:pwPGuser1@127.0.0.1:1/x?sslmode=disable&connect_timeout=2", pgConnect, asPgconnError},
		{"pgx, closed port, password parameter", "postgres://u@127.0.0.1:1/x?sslmode=disable&password=pwPGparam2&connect_timeout=2", pgConnect, asPgconnError},
		{"pgx, key=value DSN", "host=127.0.0.1 port=1 user=u password=pwPGdsn3 sslmode=disable connect_timeout=2", pgConnect, asPgconnError},
		{"pgx, unparsable URL", "postgres://u:pwPG/bad4@127.0.0.1:notaport/x", pgConnect, asPgconnError},
		{"go-redis, bad port", "redis://:pwRedis5@cache:notaport", redisParse, asURLError},
		{"go-redis, '/' in the password", "redis://:pw/Redis6@cache:6379/0", redisParse, asURLError},
		{"go-redis, user, ':' and '/' in the password", "redis://default:pw:Re/dis7@cache:6379", redisParse, asURLError},
		{"go-redis, bad IPv6 host", "redis://:pwRedis8@[::1:6379", redisParse, asURLError},
		{"go-redis, bad database", "redis://:pwRedis9@cache:6379/pwRedis9", redisParse, func(error) bool { return true }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.err(tc.raw)
			red := config.RedactError(err, tc.raw)
			msg := red.Error()
			if strings.Contains(msg, "pw") {
				t.Errorf("RedactError keeps (part of) a password:\n%s\n(driver error: %s)", msg, err)
			}
			if !tc.match(red) {
				t.Errorf("errors.As does not find the driver error through RedactError(%T)", err)
			}
		})
	}
	if config.RedactError(nil) != nil {
		t.Error("RedactError(nil) != nil")
	}
}

func asPgconnError(err error) bool {
	var connErr *pgconn.ConnectError
	var parseErr *pgconn.ParseConfigError
	return errors.As(err, &connErr) || errors.As(err, &parseErr)
}

func asURLError(err error) bool {
	var urlErr *url.Error
	return errors.As(err, &urlErr)
}

// TestMetricsTokenIsASecret: server.metrics.token is masked like the other
// secrets, in Redacted, in every format and in config print's Flatten.
func TestMetricsTokenIsASecret(t *testing.T) {
	t.Parallel()
	const token = "metrics-TOKEN-8-metrics-TOKEN-8"
	c := config.Default()
	c.Server.Metrics.Token = token
	if got := c.Redacted().Server.Metrics.Token; got != "[redacted]" {
		t.Errorf("Redacted() token = %q, want [redacted]", got)
	}
	for _, v := range []any{c, c.Server, c.Server.Metrics} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x"} {
			if out := fmt.Sprintf(verb, v); strings.Contains(out, token) {
				t.Errorf("%s of %T shows the token: %s", verb, v, out)
			}
		}
	}
	for _, kv := range c.Flatten() {
		if kv.Key == "server.metrics.token" && kv.Value != "[redacted]" {
			t.Errorf("Flatten: server.metrics.token = %v", kv.Value)
		}
	}
	if c.Server.Metrics.Token != token {
		t.Error("Redacted() changed its receiver")
	}
}

// TestRedactURLCostIsLinear: the logger passes every logged string through
// RedactURL, so a hostile text of 1 MiB (a request field, a driver error)
// must cost milliseconds, whatever its shape.
func TestRedactURLCostIsLinear(t *testing.T) {
	t.Parallel()
	for _, unit := range []string{"a@", "password=@ ", "x://", ",a://b@", "token=@", `"a://@"`, "=", "a:b@c ", "password='", "a://:@,", "%=", "pwd = ", "\"u:p@h\" "} {
		s := strings.Repeat(unit, (1<<20)/len(unit))
		start := time.Now()
		config.RedactURL(s)
		// Generous: about 0.2 s on a slow shared core, where a quadratic
		// pass takes minutes.
		if elapsed := time.Since(start); elapsed > 3*time.Second {
			t.Errorf("RedactURL of 1 MiB of %q took %v", unit, elapsed)
		}
	}
}
