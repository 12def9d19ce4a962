package mail_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rustok/rustok/platform/mail"
)

func TestRenderPasswordReset(t *testing.T) {
	expires := time.Date(2026, 3, 4, 17, 5, 0, 0, time.FixedZone("CET", 3600))
	const wantExpiry = "4 March 2026 at 16:05 UTC"
	const ignoreLine = "If you did not ask to reset your password, you can ignore this email"
	tests := []struct {
		name        string
		in          mail.PasswordReset
		wantSubject string
		wantText    []string
		wantHTML    []string
		notInHTML   []string
	}{
		{
			name:        "link and expiry in both bodies",
			in:          mail.PasswordReset{Name: "Zoë", Email: "zoe@example.org", Link: "https://shop.example/reset?token=abc", TenantName: "Acme", ExpiresAt: expires},
			wantSubject: "Reset your password for Acme",
			wantText:    []string{"Hello Zoë,", "https://shop.example/reset?token=abc", wantExpiry, ignoreLine, "Acme account (zoe@example.org)"},
			wantHTML:    []string{"Hello Zoë,", `href="https://shop.example/reset?token=abc"`, wantExpiry, ignoreLine},
		},
		{
			name:        "HTML escapes the name, the tenant and the link's query",
			in:          mail.PasswordReset{Name: "<script>alert(1)</script>", TenantName: `"Bob & Co" <b>`, Link: "https://shop.example/reset?token=a&tenant=b", ExpiresAt: expires},
			wantSubject: `Reset your password for "Bob & Co" <b>`,
			wantText:    []string{"Hello <script>alert(1)</script>,", "https://shop.example/reset?token=a&tenant=b", wantExpiry, ignoreLine},
			wantHTML:    []string{"Hello &lt;script&gt;alert(1)&lt;/script&gt;,", `href="https://shop.example/reset?token=a&amp;tenant=b"`, "&#34;Bob &amp; Co&#34; &lt;b&gt;", wantExpiry, ignoreLine},
			notInHTML:   []string{"<script>", "<b>", "token=a&tenant"},
		},
		{
			name:        "without name and tenant",
			in:          mail.PasswordReset{Link: "http://localhost:5150/reset-password?token=t", ExpiresAt: expires},
			wantSubject: "Reset your password",
			wantText:    []string{"Hello,", "http://localhost:5150/reset-password?token=t", wantExpiry, ignoreLine},
			wantHTML:    []string{"Hello,", `href="http://localhost:5150/reset-password?token=t"`, wantExpiry, ignoreLine},
		},
		{
			name:        "a tenant name with a line break gives a one-line subject",
			in:          mail.PasswordReset{TenantName: "Acme\r\nBcc: all@example.org", Link: "https://x.example/r", ExpiresAt: expires},
			wantSubject: "Reset your password for Acme Bcc: all@example.org",
			wantText:    []string{"https://x.example/r", wantExpiry},
			wantHTML:    []string{`href="https://x.example/r"`, wantExpiry},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			subject, text, html, err := mail.RenderPasswordReset(tc.in)
			if err != nil {
				t.Fatalf("RenderPasswordReset: %v", err)
			}
			if subject != tc.wantSubject {
				t.Errorf("subject %q, want %q", subject, tc.wantSubject)
			}
			for _, w := range tc.wantText {
				if !strings.Contains(text, w) {
					t.Errorf("text lacks %q:\n%s", w, text)
				}
			}
			for _, w := range tc.wantHTML {
				if !strings.Contains(html, w) {
					t.Errorf("html lacks %q:\n%s", w, html)
				}
			}
			for _, w := range tc.notInHTML {
				if strings.Contains(html, w) {
					t.Errorf("html holds %q unescaped:\n%s", w, html)
				}
			}
			// What it renders is a message every driver accepts.
			m := mail.Message{ID: "evt-1", To: "zoe@example.org", Subject: subject, Text: text, HTML: html}
			if err := m.Validate(); err != nil {
				t.Errorf("the rendered message does not validate: %v", err)
			}
		})
	}
}

func TestRenderPasswordResetLongTenantName(t *testing.T) {
	subject, _, _, err := mail.RenderPasswordReset(mail.PasswordReset{TenantName: strings.Repeat("é", 300), Link: "https://x.example/r", ExpiresAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if err := (mail.Message{ID: "e", To: "a@example.org", Subject: subject, Text: "t"}).Validate(); err != nil {
		t.Fatalf("subject of %d bytes does not validate: %v", len(subject), err)
	}
}

func TestRenderPasswordResetRefusesBadInput(t *testing.T) {
	const token = "s3cret-token"
	tests := []struct {
		name string
		in   mail.PasswordReset
	}{
		{"no link", mail.PasswordReset{ExpiresAt: time.Now()}},
		{"relative link", mail.PasswordReset{Link: "/reset?token=" + token, ExpiresAt: time.Now()}},
		{"javascript link", mail.PasswordReset{Link: "javascript:alert('" + token + "')", ExpiresAt: time.Now()}},
		{"link without host", mail.PasswordReset{Link: "https:///reset?token=" + token, ExpiresAt: time.Now()}},
		{"no expiry", mail.PasswordReset{Link: "https://x.example/r?token=" + token}},
		{"name not UTF-8", mail.PasswordReset{Name: "\xff", Link: "https://x.example/r?token=" + token, ExpiresAt: time.Now()}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := mail.RenderPasswordReset(tc.in)
			if err == nil {
				t.Fatal("RenderPasswordReset succeeded")
			}
			if strings.Contains(err.Error(), token) {
				t.Errorf("error %q quotes the link's token", err)
			}
		})
	}
}

// The reactor's path end to end: render, then send through the file driver.
func TestPasswordResetThroughFileDriver(t *testing.T) {
	subject, text, html, err := mail.RenderPasswordReset(mail.PasswordReset{Name: "Zoë", Link: "https://x.example/r?token=a&b=c", TenantName: "Acme", ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	msg := mail.Message{ID: "evt-1", To: "Zoë <zoe@example.org>", Subject: subject, Text: text, HTML: html}
	if err := newFileMailer(t, dir).Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "evt-1.eml"))
	if err != nil {
		t.Fatal(err)
	}
	p := parseMessage(t, raw)
	if p.Subject != subject || p.Text != text || p.HTML != html {
		t.Fatalf("file holds %q / %q / %q", p.Subject, p.Text, p.HTML)
	}
}
