package mail_test

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/rustok/rustok/platform/mail"
)

func TestNewRefusesInvalidOptions(t *testing.T) {
	smtp := func(s mail.SMTP) mail.Options {
		return mail.Options{Driver: mail.DriverSMTP, From: testFrom, SMTP: s}
	}
	goodSMTP := mail.SMTP{Host: "smtp.example.com", Port: 587}
	tests := []struct {
		name     string
		opts     mail.Options
		wantKeys []string
	}{
		{"unknown driver", mail.Options{Driver: "sendmail", From: testFrom}, []string{"settings.rustok.email.driver"}},
		{"empty driver", mail.Options{From: testFrom}, []string{"settings.rustok.email.driver"}},
		{"empty from", mail.Options{Driver: mail.DriverLog}, []string{"settings.rustok.email.from"}},
		{"from without a domain", mail.Options{Driver: mail.DriverLog, From: "RusToK"}, []string{"settings.rustok.email.from"}},
		{"two senders", mail.Options{Driver: mail.DriverLog, From: "a@example.com, b@example.com"}, []string{"settings.rustok.email.from"}},
		{"CRLF in from", mail.Options{Driver: mail.DriverLog, From: "a@example.com\r\nBcc: b@example.com"}, []string{"settings.rustok.email.from"}},
		{"file driver without a folder", mail.Options{Driver: mail.DriverFile, From: testFrom}, []string{"settings.rustok.email.file_dir"}},
		{"smtp without a host", smtp(mail.SMTP{Port: 587}), []string{"settings.rustok.email.smtp.host"}},
		{"smtp host with a slash", smtp(mail.SMTP{Host: "smtp://x", Port: 587}), []string{"settings.rustok.email.smtp.host"}},
		{"smtp port 0", smtp(mail.SMTP{Host: "h", Port: 0}), []string{"settings.rustok.email.smtp.port"}},
		{"smtp port too large", smtp(mail.SMTP{Host: "h", Port: 65536}), []string{"settings.rustok.email.smtp.port"}},
		{"smtp negative port", smtp(mail.SMTP{Host: "h", Port: -1}), []string{"settings.rustok.email.smtp.port"}},
		{"smtp password without username", smtp(mail.SMTP{Host: "h", Port: 587, Password: "hunter2"}), []string{"settings.rustok.email.smtp.username"}},
		{"every problem at once", mail.Options{Driver: mail.DriverSMTP, From: "x", SMTP: mail.SMTP{Port: 70000}},
			[]string{"settings.rustok.email.from", "settings.rustok.email.smtp.host", "settings.rustok.email.smtp.port"}},
		{"bad from with a good smtp block", mail.Options{Driver: mail.DriverSMTP, From: "not an address", SMTP: goodSMTP}, []string{"settings.rustok.email.from"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := mail.New(tc.opts, slog.New(slog.DiscardHandler))
			if err == nil {
				t.Fatalf("New = %v, nil; want an error naming %v", m, tc.wantKeys)
			}
			for _, key := range tc.wantKeys {
				if !strings.Contains(err.Error(), key+":") {
					t.Errorf("error %q does not name %s", err, key)
				}
			}
			if tc.opts.SMTP.Password != "" && strings.Contains(err.Error(), tc.opts.SMTP.Password) {
				t.Errorf("error %q holds the password", err)
			}
		})
	}
}

func TestNewChecksOnlyTheChosenDriver(t *testing.T) {
	tests := []mail.Options{
		{Driver: mail.DriverLog, From: testFrom, SMTP: mail.SMTP{Port: -1}},
		{Driver: mail.DriverSMTP, From: testFrom, SMTP: mail.SMTP{Host: "smtp.example.com", Port: 465, TLS: true, Username: "u", Password: "p"}},
		{Driver: mail.DriverSMTP, From: "no-reply@localhost", SMTP: mail.SMTP{Host: "localhost", Port: 25}},
		{Driver: mail.DriverFile, From: testFrom, FileDir: "", SMTP: mail.SMTP{}},
	}
	tests[3].FileDir = t.TempDir()
	for _, opts := range tests {
		if _, err := mail.New(opts, slog.New(slog.DiscardHandler)); err != nil {
			t.Errorf("New(%v) = %v, want a mailer", opts, err)
		}
	}
}

func TestSMTPOptionsNeverShowThePassword(t *testing.T) {
	s := mail.SMTP{Host: "h", Port: 587, Username: "u", Password: "hunter2-secret"}
	o := mail.Options{Driver: mail.DriverSMTP, SMTP: s}
	logger, buf := jsonLogger()
	logger.Info("options", "smtp", s)
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%+v", o), fmt.Sprintf("%v", o), buf.String()} {
		if strings.Contains(out, "hunter2-secret") {
			t.Errorf("%q shows the password", out)
		}
		if !strings.Contains(out, "[redacted]") {
			t.Errorf("%q does not say the password is redacted", out)
		}
	}
}
