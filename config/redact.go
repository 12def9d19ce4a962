package config

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
)

const (
	// redactedSecret replaces a whole secret value.
	redactedSecret = "[redacted]"
	// urlMask replaces a password inside a URL; it stays a valid URL.
	urlMask = "xxxxx"
)

// Redacted returns a copy of c that is safe to log: auth.jwt.secret, every
// auth.jwt.keys entry and settings.rustok.email.smtp.password are replaced by
// "[redacted]" when set (an unset secret stays empty, so a log shows that it
// is missing), and the password of every URL (database.url, redis.url,
// settings.rustok.events.forward.nats_url, settings.rustok.email.reset_base_url)
// by "xxxxx". The copy shares no slice with c.
func (c Config) Redacted() Config {
	c.Database = c.Database.redacted()
	c.Redis = c.Redis.redacted()
	c.Auth.JWT = c.Auth.JWT.redacted()
	r := &c.Settings.Rustok
	r.Events.Forward = r.Events.Forward.redacted()
	r.Email.ResetBaseURL = maskURL(r.Email.ResetBaseURL)
	r.Email.SMTP = r.Email.SMTP.redacted()
	c.Server.CORS.AllowedOrigins = slices.Clone(c.Server.CORS.AllowedOrigins)
	r.Tenant.BaseDomains = slices.Clone(r.Tenant.BaseDomains)
	r.RateLimit.TrustedProxies = slices.Clone(r.RateLimit.TrustedProxies)
	r.Modules.DefaultEnabled = slices.Clone(r.Modules.DefaultEnabled)
	return c
}

// String returns the Redacted copy of c in the form of fmt's %+v.
func (c Config) String() string {
	type plain Config // no methods: formatting it cannot recurse into String
	return fmt.Sprintf("%+v", plain(c.Redacted()))
}

// Format writes String for every verb, so that no verb (%d, %x, %#v, …) can
// print a secret field by field.
func (c Config) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }

// LogValue logs the Redacted copy of c, with slog's text and JSON handlers
// alike.
func (c Config) LogValue() slog.Value {
	type plain Config
	return slog.AnyValue(plain(c.Redacted()))
}

func (d Database) redacted() Database {
	d.URL = maskURL(d.URL)
	return d
}

// String returns d in the form of fmt's %+v with the URL password masked.
func (d Database) String() string {
	type plain Database
	return fmt.Sprintf("%+v", plain(d.redacted()))
}

// Format writes String for every verb.
func (d Database) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, d.String()) }

func (r Redis) redacted() Redis {
	r.URL = maskURL(r.URL)
	return r
}

// String returns r in the form of fmt's %+v with the URL password masked.
func (r Redis) String() string {
	type plain Redis
	return fmt.Sprintf("%+v", plain(r.redacted()))
}

// Format writes String for every verb.
func (r Redis) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, r.String()) }

func (j JWT) redacted() JWT {
	j.Secret = redact(j.Secret)
	keys := make([]string, len(j.Keys))
	for i, key := range j.Keys {
		keys[i] = redact(key)
	}
	j.Keys = keys
	return j
}

// String returns j in the form of fmt's %+v with Secret and Keys redacted.
func (j JWT) String() string {
	type plain JWT
	return fmt.Sprintf("%+v", plain(j.redacted()))
}

// Format writes String for every verb.
func (j JWT) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, j.String()) }

func (fw Forward) redacted() Forward {
	fw.NatsURL = maskURL(fw.NatsURL)
	return fw
}

// String returns fw in the form of fmt's %+v with URL passwords masked.
func (fw Forward) String() string {
	type plain Forward
	return fmt.Sprintf("%+v", plain(fw.redacted()))
}

// Format writes String for every verb.
func (fw Forward) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, fw.String()) }

func (s SMTP) redacted() SMTP {
	s.Password = redact(s.Password)
	return s
}

// String returns s in the form of fmt's %+v with Password redacted.
func (s SMTP) String() string {
	type plain SMTP
	return fmt.Sprintf("%+v", plain(s.redacted()))
}

// Format writes String for every verb.
func (s SMTP) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, s.String()) }

// redact replaces a set secret by redactedSecret and keeps an empty one empty.
func redact(secret string) string {
	if secret == "" {
		return ""
	}
	return redactedSecret
}

// maskURL replaces the passwords in s with urlMask: the password of the
// userinfo after "scheme://" (everything between the first ':' and the last
// '@' of the rest, which errs on the side of masking too much in odd URLs),
// and the value of every query or DSN parameter whose name ends in
// "password=", up to the next '&' or white space. Anything else is kept.
func maskURL(s string) string {
	if i := strings.Index(s, "://"); i >= 0 {
		rest := s[i+len("://"):]
		if at := strings.LastIndexByte(rest, '@'); at >= 0 {
			if colon := strings.IndexByte(rest[:at], ':'); colon >= 0 {
				s = s[:i+len("://")] + rest[:colon+1] + urlMask + rest[at:]
			}
		}
	}
	return maskPasswordParams(s)
}

// maskPasswordParams masks the values of "...password=" parameters in s,
// matching the name case-insensitively (ASCII).
func maskPasswordParams(s string) string {
	const param = "password="
	var b strings.Builder
	for {
		i := indexASCIIFold(s, param)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		end := i + len(param)
		b.WriteString(s[:end])
		s = s[end:]
		stop := strings.IndexAny(s, "& \t\r\n")
		if stop < 0 {
			stop = len(s)
		}
		if stop > 0 {
			b.WriteString(urlMask)
		}
		s = s[stop:]
	}
}

// indexASCIIFold returns the index of the first match of the lowercase ASCII
// needle in s, ignoring ASCII case, or -1.
func indexASCIIFold(s, needle string) int {
	for i := 0; i+len(needle) <= len(s); i++ {
		match := true
		for j := 0; j < len(needle); j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != needle[j] {
				match = false
				break
			}
		}
		if match {
			return i
		}
	}
	return -1
}
