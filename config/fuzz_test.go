package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rustok/rustok/config"
)

func FuzzParseBodyLimit(f *testing.F) {
	for _, s := range []string{"2M", "512kb", " 1 G ", "0", "", "9223372036854775807", "9223372036854775807K", "1e3", "-1", "2\x00M"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := config.ParseBodyLimit(s)
		if err == nil && n <= 0 {
			t.Fatalf("ParseBodyLimit(%q) = %d without error, want a positive size", s, n)
		}
		if err != nil && n != 0 {
			t.Fatalf("ParseBodyLimit(%q) = %d with error %v, want 0", s, n, err)
		}
		if got := (config.Server{BodyLimit: s}).BodyLimitBytes(); got != n {
			t.Fatalf("BodyLimitBytes() = %d, ParseBodyLimit = %d", got, n)
		}
	})
}

// FuzzRedactedURL checks the URL masking: whatever the password, a URL with
// user and password comes out with the password masked, and at most what
// follows it too (a password that looks like "key=value" may take the rest
// with it); an empty one hides nothing and stays empty. A password holding
// "://" is left out: it may read as the start of a second URL ("a,b://" as
// in a NATS list).
func FuzzRedactedURL(f *testing.F) {
	for _, s := range []string{"hunter2", "p@ss", "a:b", "x/y?z#w", "password=1&", "", "é\xff", `q"u'o"te`, "sp ace", "new\nline", "pw@h,nats"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, password string) {
		if strings.Contains(password, "://") {
			t.Skip()
		}
		c := config.Default()
		c.Database.URL = "postgres://rustok:" + password + "@db:5432/rustok"
		got := c.Redacted().Database.URL
		if password == "" {
			if got != c.Database.URL {
				t.Fatalf("Redacted URL = %q, want %q", got, c.Database.URL)
			}
			return
		}
		rest, ok := strings.CutPrefix(got, "postgres://rustok:xxxxx")
		if !ok || !strings.HasSuffix("@db:5432/rustok", rest) {
			t.Fatalf("Redacted URL = %q, want postgres://rustok:xxxxx@db:5432/rustok or less after xxxxx", got)
		}
	})
}

// FuzzLoadEnviron feeds one arbitrary variable next to secrets: Load must not
// panic, and neither its error nor the Redacted copy may show the secrets.
func FuzzLoadEnviron(f *testing.F) {
	for _, kv := range [][2]string{
		{"RUSTOK_SERVER__PORT", "8080"},
		{"RUSTOK_SERVER", "1"},
		{"RUSTOK_SERVER__PORT__X", "1"},
		{"RUSTOK_", "x"},
		{"RUSTOK___", "x"},
		{"RUSTOK_AUTH__JWT__KEYS", ",,a,"},
		{"RUSTOK_SETTINGS__RUSTOK__EVENTS__POLL_INTERVAL", "-1ns"},
		{"DATABASE_URL", "postgres://u:p@h/db"},
		{"RUSTOK_AUTH__PASSWORD__ARGON2_PARALLELISM", "256"},
	} {
		f.Add(kv[0], kv[1])
	}
	const secret = "canary-SECRET-canary-SECRET-canary"
	f.Fuzz(func(t *testing.T, name, value string) {
		environ := []string{
			"RUSTOK_JWT_SECRET=" + secret,
			"RUSTOK_DATABASE__URL=postgres://u:" + secret + "@db/rustok",
			name + "=" + value,
		}
		cfg, err := config.Load("", "development", environ)
		if strings.Contains(name+value, "canary") {
			return // the fuzzed variable may legitimately show its own value
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Fatalf("Load error shows the secret: %v", err)
		}
		if strings.Contains(cfg.String(), secret) {
			t.Fatalf("String() shows the secret: %s", cfg)
		}
	})
}

// FuzzLoadYAML loads arbitrary file content: Load must not panic.
func FuzzLoadYAML(f *testing.F) {
	for _, s := range []string{
		"server:\n  port: 8080\n",
		"server: 1\n",
		"server:\n  port:\n    x: 1\n",
		"a.b: 1\n",
		"server.port: 1\nserver:\n  port: 2\n",
		"settings:\n  rustok:\n    tenant:\n      base_domains: [[a]]\n",
		"? [a]\n: 1\n",
		"1: 2\n",
		"- 1\n",
		"&a [*a]",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, content string) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "test.yaml"), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Load(dir, "test", nil)
		if err == nil {
			if verr := cfg.Validate(); verr != nil {
				t.Fatalf("Load returned a config that Validate refuses: %v", verr)
			}
		}
	})
}

// FuzzRedactURL feeds RedactURL any text: it must not panic, must give the
// same text a second time (idempotent), and must never lengthen a text by
// more than the masks it adds.
func FuzzRedactURL(f *testing.F) {
	for _, s := range []string{
		"postgres://u:p@h/db?password=x", "nats://a:b@h1,nats://tok@h2", `parse "redis://:p@h:x": invalid port ":x"`,
		"host=h password='a b' user=u", "u:p@h", "cannot parse `postgres://u:p@h`: x", "pass%77ord=1", "a://b://c@d", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		once := config.RedactURL(s)
		if twice := config.RedactURL(once); twice != once {
			t.Fatalf("RedactURL is not idempotent:\n  in %q\nonce %q\ntwice %q", s, once, twice)
		}
		if masks := strings.Count(once, "xxxxx"); len(once) > len(s)+masks*len("xxxxx") {
			t.Fatalf("RedactURL(%q) = %q grew beyond its masks", s, once)
		}
	})
}
