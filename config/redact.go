package config

import (
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"sort"
	"strings"
)

const (
	// redactedSecret replaces a whole secret value.
	redactedSecret = "[redacted]"
	// urlMask replaces a password inside a URL; it stays a valid URL.
	urlMask = "xxxxx"
)

// Redacted returns a copy of c that is safe to log: auth.jwt.secret, every
// auth.jwt.keys entry, server.metrics.token and
// settings.rustok.email.smtp.password are replaced by "[redacted]" when set
// (an unset secret stays empty, so a log shows that it is missing), and the
// secrets of every URL (database.url, redis.url,
// settings.rustok.events.forward.nats_url, settings.rustok.email.reset_base_url)
// by "xxxxx", as RedactURL masks them. The copy shares no slice with c.
func (c Config) Redacted() Config {
	c.Server.Metrics = c.Server.Metrics.redacted()
	c.Database = c.Database.redacted()
	c.Redis = c.Redis.redacted()
	c.Auth.JWT = c.Auth.JWT.redacted()
	r := &c.Settings.Rustok
	r.Events.Forward = r.Events.Forward.redacted()
	r.Email.ResetBaseURL = RedactURL(r.Email.ResetBaseURL)
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

func (m Metrics) redacted() Metrics {
	m.Token = redactSecret(m.Token)
	return m
}

// String returns m in the form of fmt's %+v with Token redacted.
func (m Metrics) String() string {
	type plain Metrics
	return fmt.Sprintf("%+v", plain(m.redacted()))
}

// Format writes String for every verb.
func (m Metrics) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, m.String()) }

func (d Database) redacted() Database {
	d.URL = RedactURL(d.URL)
	return d
}

// String returns d in the form of fmt's %+v with the URL's secrets masked.
func (d Database) String() string {
	type plain Database
	return fmt.Sprintf("%+v", plain(d.redacted()))
}

// Format writes String for every verb.
func (d Database) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, d.String()) }

func (r Redis) redacted() Redis {
	r.URL = RedactURL(r.URL)
	return r
}

// String returns r in the form of fmt's %+v with the URL's secrets masked.
func (r Redis) String() string {
	type plain Redis
	return fmt.Sprintf("%+v", plain(r.redacted()))
}

// Format writes String for every verb.
func (r Redis) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, r.String()) }

func (j JWT) redacted() JWT {
	j.Secret = redactSecret(j.Secret)
	keys := make([]string, len(j.Keys))
	for i, key := range j.Keys {
		keys[i] = redactSecret(key)
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
	fw.NatsURL = RedactURL(fw.NatsURL)
	return fw
}

// String returns fw in the form of fmt's %+v with the URLs' secrets masked.
func (fw Forward) String() string {
	type plain Forward
	return fmt.Sprintf("%+v", plain(fw.redacted()))
}

// Format writes String for every verb.
func (fw Forward) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, fw.String()) }

func (s SMTP) redacted() SMTP {
	s.Password = redactSecret(s.Password)
	return s
}

// String returns s in the form of fmt's %+v with Password redacted.
func (s SMTP) String() string {
	type plain SMTP
	return fmt.Sprintf("%+v", plain(s.redacted()))
}

// Format writes String for every verb.
func (s SMTP) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, s.String()) }

// redactSecret replaces a set secret by redactedSecret and keeps an empty
// one empty.
func redactSecret(secret string) string {
	if secret == "" {
		return ""
	}
	return redactedSecret
}

// RedactURL returns s with every secret it holds replaced by "xxxxx". It is
// the one redaction of RusToK: Redacted, config print, the validation errors,
// the logs and the errors that quote a database, Redis or NATS address all go
// through it. s may be a URL, a comma-separated list of URLs (NATS), a
// key=value DSN (PostgreSQL), or any text that quotes them, such as a
// driver's error message. It masks:
//
//   - the password of a URL's userinfo: everything between the first ':' and
//     the last '@' of the URL ("postgres://u:xxxxx@h"; a password holding an
//     unencoded '/', '?', ':' or '@' is masked whole, at worst with some of
//     what follows it);
//   - a userinfo without ':', a token to NATS and a password to most
//     operators of Redis ("nats://xxxxx@h"), except for postgres:// and
//     postgresql://, where it is the user name;
//   - the same userinfo in a URL written without "scheme://" ("u:xxxxx@h");
//   - the value of every parameter whose name, percent-decoded and without
//     '_', '-' and '.', ends in password, passwd, pwd, secret, token,
//     apikey or passphrase, in any case: query parameters ("?password=",
//     "&sslpassword=", "?pass%77ord=") and DSN keywords ("password=x",
//     "password = 'a b'").
//
// A URL starts at its scheme and ends where the next URL starts (after white
// space, a quote, '(', '=' or ','), or at the closing quote when it is
// quoted ("…" or `…`, as errors quote them). sqlite:// and file:// URLs hold
// no credentials and keep their paths. RedactURL masks too much rather than too
// little when a text is ambiguous, and it is idempotent. It does not know
// secrets that appear alone, outside any of these forms: RedactError takes
// the URLs whose secrets to look for.
func RedactURL(s string) string {
	return replaceSpans(s, secretSpans(s))
}

// RedactError returns err with its message masked by RedactURL and, for each
// of urls (the addresses the failed operation was given), with every other
// appearance of their secrets masked too: the whole password or token (of 4
// bytes or more) wherever it appears, and any quoted fragment ("…" or `…`)
// of a userinfo or a secret parameter value, as net/url quotes a port cut
// out of a password holding a '/' (`invalid port ":pa" after host`).
//
// The result unwraps to err, so errors.Is and errors.As see through it; only
// its message changes. RedactError returns nil for nil, and err itself when
// there is nothing to mask.
func RedactError(err error, urls ...string) error {
	if err == nil {
		return nil
	}
	msg := RedactURL(err.Error())
	for _, raw := range urls {
		msg = maskKnownSecrets(msg, raw)
	}
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

// redactedError is an error whose message was redacted.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }

// Unwrap returns the original error, for errors.Is and errors.As. Its own
// message is not redacted.
func (e *redactedError) Unwrap() error { return e.err }

// span is a secret found in a text: the bytes [start, end) are masked.
// region is the text a fragment of the secret may be quoted from: the whole
// userinfo of a URL (user name included), or the secret value itself.
type span struct {
	start, end int
	region     string
}

// replaceSpans replaces each of spans (sorted, not overlapping) in s by
// urlMask.
func replaceSpans(s string, spans []span) string {
	if len(spans) == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	last := 0
	for _, sp := range spans {
		b.WriteString(s[last:sp.start])
		b.WriteString(urlMask)
		last = sp.end
	}
	b.WriteString(s[last:])
	return b.String()
}

// secretSpans returns the secrets of s that RedactURL masks, sorted and
// merged where they overlap.
func secretSpans(s string) []span {
	// Cheap exit for the common case (a log field, an ordinary error):
	// every form needs an '@' or an '='.
	if !strings.ContainsAny(s, "@=") {
		return nil
	}
	starts := urlStarts(s)
	quoted := quotedURLs(s, starts)
	params := paramSpans(s, quoted)
	spans := append(slices.Clone(params), userinfoSpans(s, starts, params)...)
	return mergeSpans(spans)
}

// quotedURLs returns the spans of the quoted URLs of s ("…" or `…`, as
// errors quote them) that start at starts: from the scheme to the closing
// quote.
func quotedURLs(s string, starts []int) []span {
	var quoted []span
	for _, start := range starts {
		if start > 0 && (s[start-1] == '"' || s[start-1] == '`') {
			quoted = append(quoted, span{start: start, end: quoteEnd(s, start, s[start-1])})
		}
	}
	return quoted
}

// mergeSpans sorts spans and merges those that overlap or touch.
func mergeSpans(spans []span) []span {
	if len(spans) < 2 {
		return spans
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].start < spans[j].start })
	out := spans[:1]
	for _, sp := range spans[1:] {
		last := &out[len(out)-1]
		if sp.start <= last.end {
			last.end = max(last.end, sp.end)
			continue
		}
		out = append(out, sp)
	}
	return out
}

// secretParamSuffixes end the (normalised) names of parameters whose value
// is a secret.
var secretParamSuffixes = []string{"password", "passwd", "pwd", "secret", "token", "apikey", "passphrase"}

// paramSpans finds the values of secret parameters: name=value in a query
// or a DSN, with optional blanks around '=' (libpq's keyword form) and a
// value either single-quoted (with backslash escapes) or running to the
// next blank or '&'.
//
// A value inside a quoted URL (quoted) also ends at the URL's closing quote.
func paramSpans(s string, quoted []span) []span {
	var spans []span
	for i := 0; i < len(s); i++ {
		if s[i] != '=' {
			continue
		}
		k := i - 1
		for k >= 0 && (s[k] == ' ' || s[k] == '\t') {
			k--
		}
		nameEnd := k + 1
		for k >= 0 && isParamNameChar(s[k]) {
			k--
		}
		if !isSecretParamName(s[k+1 : nameEnd]) {
			continue
		}
		v := i + 1
		for v < len(s) && (s[v] == ' ' || s[v] == '\t') {
			v++
		}
		end := v
		if v < len(s) && s[v] == '\'' {
			end = singleQuotedEnd(s, v)
		} else {
			// quoted is sorted and v only grows: skip the quotations before v.
			for len(quoted) > 0 && quoted[0].end <= v {
				quoted = quoted[1:]
			}
			limit := len(s)
			if len(quoted) > 0 && quoted[0].start <= v {
				limit = quoted[0].end
			}
			for end < limit && !endsValue(s, end) {
				end++
			}
		}
		if end > v {
			spans = append(spans, span{start: v, end: end, region: s[v:end]})
		}
		i = max(i, end-1)
	}
	return spans
}

// singleQuotedEnd returns the index after the single quote that closes the
// value opened at s[open], skipping backslash escapes, or len(s) if none
// does.
func singleQuotedEnd(s string, open int) int {
	for j := open + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '\'':
			return j + 1
		}
	}
	return len(s)
}

// endsValue reports whether s[i] ends an unquoted parameter value: white
// space or '&'. A quote does not (unless it closes a quoted URL, see
// paramSpans): a password holding a quote is masked whole.
func endsValue(s string, i int) bool {
	return s[i] == '&' || isBlank(s[i])
}

// isSecretParamName reports whether name, percent-decoded, lowercased and
// without '_', '-' and '.', ends in one of secretParamSuffixes.
func isSecretParamName(name string) bool {
	if name == "" {
		return false
	}
	if decoded, err := url.QueryUnescape(name); err == nil {
		name = decoded
	}
	name = strings.Map(func(r rune) rune {
		switch r {
		case '_', '-', '.':
			return -1
		}
		return r
	}, strings.ToLower(name))
	for _, suffix := range secretParamSuffixes {
		if strings.HasSuffix(name, suffix) {
			return true
		}
	}
	return false
}

func isParamNameChar(c byte) bool {
	return isAlnum(c) || c == '_' || c == '-' || c == '.' || c == '%'
}

// isBlank reports whether c is ASCII white space.
func isBlank(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '\v', '\f':
		return true
	}
	return false
}

// userinfoSpans finds the userinfo secrets in s: of every URL (starting at
// starts), and of every word without a scheme that looks like
// "user:password@host". params are the parameter values found already: an
// '@' inside one ends no userinfo.
func userinfoSpans(s string, starts []int, params []span) []span {
	var spans []span
	for i, start := range starts {
		sep := start + strings.Index(s[start:], "://")
		body := sep + len("://")
		end := len(s)
		if i+1 < len(starts) {
			end = starts[i+1]
		}
		if start > 0 && (s[start-1] == '"' || s[start-1] == '`') {
			// A quoted URL ends at its closing quote.
			end = min(end, quoteEnd(s, body, s[start-1]))
		}
		if sp, ok := urlUserinfoSpan(s, strings.ToLower(s[start:sep]), body, end, params); ok {
			spans = append(spans, sp)
		}
	}
	// Words without a scheme: "user:password@host".
	for start := 0; start < len(s); {
		end := start
		for end < len(s) && !isBlank(s[end]) {
			end++
		}
		if word := s[start:end]; strings.IndexByte(word, '@') >= 0 && !strings.Contains(word, "://") {
			if at := lastAt(s, start, end, params); at >= 0 {
				if colon := strings.IndexByte(s[start:at], ':'); colon >= 0 && start+colon+1 < at {
					spans = append(spans, span{start: start + colon + 1, end: at, region: s[start:at]})
				}
			}
		}
		start = end + 1
	}
	return spans
}

// urlStarts returns where the URLs of s start: at each "scheme://" whose
// scheme (a letter, then letters, digits, '+', '-' or '.') starts the text or
// follows a byte that cannot end a URL's userinfo, such as white space, a
// quote, '(', '=' or the ',' of a list ("nats://a,nats://b"). A "://" after
// ':', '@' or '/' (inside a password, say) starts nothing.
func urlStarts(s string) []int {
	var starts []int
	for i := 0; ; {
		sep := strings.Index(s[i:], "://")
		if sep < 0 {
			return starts
		}
		sep += i
		i = sep + len("://")
		start := sep
		for start > 0 && isSchemeChar(s[start-1]) {
			start--
		}
		// The scheme starts with a letter: skip digits and symbols before it.
		for start < sep && !isLetter(s[start]) {
			start++
		}
		if start == sep {
			continue
		}
		if start > 0 {
			switch s[start-1] {
			case ':', '@', '/', '%':
				continue
			}
		}
		starts = append(starts, start)
	}
}

// quoteEnd returns the index of the quote q that closes a quotation in s
// at or after from (a '"' escaped as \" does not), or len(s).
func quoteEnd(s string, from int, q byte) int {
	for i := from; i < len(s); i++ {
		if s[i] == q && (q != '"' || s[i-1] != '\\') {
			return i
		}
	}
	return len(s)
}

// urlUserinfoSpan finds the userinfo secret of the URL whose part after
// "scheme://" is s[body:end]: up to the last '@' of that part.
func urlUserinfoSpan(s, scheme string, body, end int, params []span) (span, bool) {
	switch scheme {
	case "sqlite", "file":
		return span{}, false // a path, never credentials
	}
	at := lastAt(s, body, end, params)
	if at <= body {
		return span{}, false
	}
	userinfo := s[body:at]
	if colon := strings.IndexByte(userinfo, ':'); colon >= 0 {
		if body+colon+1 == at {
			return span{}, false // an empty password
		}
		return span{start: body + colon + 1, end: at, region: userinfo}, true
	}
	if scheme == "postgres" || scheme == "postgresql" {
		return span{}, false // the user name
	}
	return span{start: body, end: at, region: userinfo}, true
}

// lastAt returns the index of the last '@' of s[start:end] outside the
// parameter values params, else the last '@' inside one (a password that
// looks like a parameter), or -1.
func lastAt(s string, start, end int, params []span) int {
	for i := end - 1; i >= start; i-- {
		if s[i] == '@' && !inSpans(i, params) {
			return i
		}
	}
	if i := strings.LastIndexByte(s[start:end], '@'); i >= 0 {
		return start + i
	}
	return -1
}

// inSpans reports whether i is inside one of spans, which are sorted and do
// not overlap.
func inSpans(i int, spans []span) bool {
	k := sort.Search(len(spans), func(k int) bool { return spans[k].end > i })
	return k < len(spans) && spans[k].start <= i
}

func isSchemeChar(c byte) bool {
	return isAlnum(c) || c == '+' || c == '-' || c == '.'
}

func isLetter(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// minKnownSecret is the shortest secret RedactError masks wherever it
// appears: a shorter one would mask ordinary words of the message.
const minKnownSecret = 4

// maskKnownSecrets masks in msg the secrets of raw (a URL or DSN) that
// appear outside the forms RedactURL recognises (see RedactError).
func maskKnownSecrets(msg, raw string) string {
	spans := secretSpans(raw)
	masked := map[string]bool{}
	for _, sp := range spans {
		if secret := raw[sp.start:sp.end]; len(secret) >= minKnownSecret && !masked[secret] {
			masked[secret] = true
			msg = strings.ReplaceAll(msg, secret, urlMask)
		}
	}
	return replaceQuoted(msg, func(fragment string) bool {
		if fragment == urlMask {
			return false
		}
		for _, sp := range spans {
			if strings.Contains(sp.region, fragment) {
				return true
			}
		}
		return false
	})
}

// replaceQuoted replaces by urlMask the content of every non-empty "…" or
// `…` quotation in s for which secret reports true.
func replaceQuoted(s string, secret func(fragment string) bool) string {
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); i++ {
		q := s[i]
		if q != '"' && q != '`' {
			continue
		}
		closing := strings.IndexByte(s[i+1:], q)
		if closing < 0 {
			break
		}
		content := s[i+1 : i+1+closing]
		if content != "" && secret(content) {
			b.WriteString(s[last : i+1])
			b.WriteString(urlMask)
			last = i + 1 + closing
		}
		i += closing + 1
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}
