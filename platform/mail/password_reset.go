package mail

import (
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"net/url"
	"strings"
	texttemplate "text/template"
	"time"
	"unicode/utf8"
)

//go:embed templates
var templateFS embed.FS

// The templates are parsed once and only read afterwards; executing them
// concurrently is safe.
var (
	textTemplates = texttemplate.Must(texttemplate.New("").Option("missingkey=error").
			ParseFS(templateFS, "templates/*.subject.tmpl", "templates/*.text.tmpl"))
	htmlTemplates = htmltemplate.Must(htmltemplate.New("").Option("missingkey=error").
			ParseFS(templateFS, "templates/*.html.tmpl"))
)

// ExpiryLayout is the layout of the expiry time in the password-reset mail,
// which shows it in UTC: the recipient's time zone is not known.
const ExpiryLayout = "2 January 2006 at 15:04 UTC"

// PasswordReset is the data of the password-reset mail.
type PasswordReset struct {
	// Name greets the user; optional.
	Name string
	// Email is the address of the account; optional, shown in the body.
	Email string
	// Link is the absolute http(s) URL that resets the password, token
	// included. Required. It is a secret: errors never quote it.
	Link string
	// TenantName names the site in the subject and body; optional.
	TenantName string
	// ExpiresAt is when the link stops working. Required.
	ExpiresAt time.Time
}

// passwordResetView is what the templates see.
type passwordResetView struct {
	PasswordReset
	Subject string
	Expires string
}

// RenderPasswordReset renders the password-reset mail from the embedded
// templates (templates/password_reset.*.tmpl). Both bodies hold the link, the
// expiry (ExpiryLayout) and a line telling a user who did not ask for the
// reset to ignore the mail. The HTML body escapes every field; the subject
// is one line of at most MaxSubjectLen bytes, so a message built from the
// result validates.
func RenderPasswordReset(d PasswordReset) (subject, text, html string, err error) {
	if u, perr := url.Parse(d.Link); perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", "", "", errors.New("mail: render password reset: the link must be an absolute http:// or https:// URL")
	}
	if d.ExpiresAt.IsZero() {
		return "", "", "", errors.New("mail: render password reset: the expiry is required")
	}
	for _, f := range []struct{ name, value string }{{"name", d.Name}, {"email", d.Email}, {"tenant name", d.TenantName}} {
		if !utf8.ValidString(f.value) {
			return "", "", "", fmt.Errorf("mail: render password reset: the %s is not valid UTF-8", f.name)
		}
	}
	v := passwordResetView{PasswordReset: d, Expires: d.ExpiresAt.UTC().Format(ExpiryLayout)}

	var b strings.Builder
	if err := textTemplates.ExecuteTemplate(&b, "password_reset.subject.tmpl", v); err != nil {
		return "", "", "", fmt.Errorf("mail: render password reset subject: %w", err)
	}
	v.Subject = oneLine(b.String(), MaxSubjectLen)

	b.Reset()
	if err := textTemplates.ExecuteTemplate(&b, "password_reset.text.tmpl", v); err != nil {
		return "", "", "", fmt.Errorf("mail: render password reset text: %w", err)
	}
	text = b.String()

	b.Reset()
	if err := htmlTemplates.ExecuteTemplate(&b, "password_reset.html.tmpl", v); err != nil {
		return "", "", "", fmt.Errorf("mail: render password reset html: %w", err)
	}
	return v.Subject, text, b.String(), nil
}

// oneLine turns s into a header value: control characters become spaces,
// runs of white space one space, and the result is cut at a rune boundary to
// at most limit bytes.
func oneLine(s string, limit int) string {
	s = strings.Join(strings.Fields(strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)), " ")
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strings.TrimSpace(s[:cut])
}
