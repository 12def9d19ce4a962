package mail_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rustok/rustok/platform/mail"
)

func TestValidateRefusesBadMessages(t *testing.T) {
	ok := mail.Message{ID: "evt-1", To: "zoe@example.org", Subject: "Subject", Text: "text"}
	with := func(f func(*mail.Message)) mail.Message {
		m := ok
		f(&m)
		return m
	}
	tests := []struct {
		name      string
		msg       mail.Message
		wantField string
		wantErr   error
	}{
		{"CRLF in To injects a header", with(func(m *mail.Message) { m.To = "zoe@example.org\r\nBcc: all@example.org" }), "To", mail.ErrHeaderInjection},
		{"LF alone in To injects a header", with(func(m *mail.Message) { m.To = "zoe@example.org\nBcc: all@example.org" }), "To", mail.ErrHeaderInjection},
		{"CR alone in To", with(func(m *mail.Message) { m.To = "zoe@example.org\rX" }), "To", mail.ErrHeaderInjection},
		{"encoded CRLF in the To name", with(func(m *mail.Message) { m.To = "=?utf-8?q?Zoe=0D=0AX-Injected=3A_1?= <zoe@example.org>" }), "To", mail.ErrHeaderInjection},
		{"CRLF in Subject injects a header", with(func(m *mail.Message) { m.Subject = "Hi\r\nBcc: all@example.org" }), "Subject", mail.ErrHeaderInjection},
		{"LF in Subject", with(func(m *mail.Message) { m.Subject = "Hi\nthere" }), "Subject", mail.ErrHeaderInjection},
		{"NUL in Subject", with(func(m *mail.Message) { m.Subject = "Hi\x00" }), "Subject", mail.ErrHeaderInjection},
		{"CRLF in ID", with(func(m *mail.Message) { m.ID = "evt\r\nBcc: x" }), "ID", mail.ErrHeaderInjection},
		{"empty To", with(func(m *mail.Message) { m.To = "" }), "To", mail.ErrInvalidRecipient},
		{"To without a domain", with(func(m *mail.Message) { m.To = "zoe" }), "To", mail.ErrInvalidRecipient},
		{"two recipients", with(func(m *mail.Message) { m.To = "zoe@example.org, ann@example.org" }), "To", mail.ErrInvalidRecipient},
		{"a group", with(func(m *mail.Message) { m.To = "all: zoe@example.org, ann@example.org;" }), "To", mail.ErrInvalidRecipient},
		{"To too long", with(func(m *mail.Message) { m.To = strings.Repeat("a", 300) + "@" + strings.Repeat("b", 30) + ".org" }), "To", mail.ErrInvalidRecipient},
		{"To not UTF-8", with(func(m *mail.Message) { m.To = "Z\xffe <zoe@example.org>" }), "To", mail.ErrInvalidUTF8},
		{"empty ID", with(func(m *mail.Message) { m.ID = "" }), "ID", mail.ErrInvalidID},
		{"ID with a slash", with(func(m *mail.Message) { m.ID = "../etc/passwd" }), "ID", mail.ErrInvalidID},
		{"ID with a space", with(func(m *mail.Message) { m.ID = "evt 1" }), "ID", mail.ErrInvalidID},
		{"ID with @", with(func(m *mail.Message) { m.ID = "evt@host" }), "ID", mail.ErrInvalidID},
		{"ID with a leading dot", with(func(m *mail.Message) { m.ID = ".evt" }), "ID", mail.ErrInvalidID},
		{"ID with a trailing dot", with(func(m *mail.Message) { m.ID = "evt." }), "ID", mail.ErrInvalidID},
		{"ID with a double dot", with(func(m *mail.Message) { m.ID = "a..b" }), "ID", mail.ErrInvalidID},
		{"ID too long", with(func(m *mail.Message) { m.ID = strings.Repeat("a", mail.MaxIDLen+1) }), "ID", mail.ErrInvalidID},
		{"non-ASCII ID", with(func(m *mail.Message) { m.ID = "évt" }), "ID", mail.ErrInvalidID},
		{"no text", with(func(m *mail.Message) { m.Text = ""; m.HTML = "<p>only html</p>" }), "Text", mail.ErrMissingText},
		{"subject too long", with(func(m *mail.Message) { m.Subject = strings.Repeat("s", mail.MaxSubjectLen+1) }), "Subject", mail.ErrSubjectTooLong},
		{"subject not UTF-8", with(func(m *mail.Message) { m.Subject = "\xc3" }), "Subject", mail.ErrInvalidUTF8},
		{"text not UTF-8", with(func(m *mail.Message) { m.Text = "\xff" }), "Text", mail.ErrInvalidUTF8},
		{"html not UTF-8", with(func(m *mail.Message) { m.HTML = "\xff" }), "HTML", mail.ErrInvalidUTF8},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.msg.Validate()
			var me *mail.MessageError
			if !errors.As(err, &me) {
				t.Fatalf("Validate = %v, want a *MessageError", err)
			}
			if me.Field != tc.wantField || !errors.Is(err, tc.wantErr) || !errors.Is(err, mail.ErrInvalidMessage) {
				t.Fatalf("Validate = %v (field %s), want field %s, %v and ErrInvalidMessage", err, me.Field, tc.wantField, tc.wantErr)
			}
			if tc.msg.To != "" && strings.Contains(err.Error(), tc.msg.To) {
				t.Errorf("error %q quotes the recipient", err)
			}

			// Every driver refuses it the same way and writes nothing.
			dir := filepath.Join(t.TempDir(), "mail")
			if err := newFileMailer(t, dir).Send(context.Background(), tc.msg); !errors.Is(err, tc.wantErr) {
				t.Errorf("file Send = %v, want %v", err, tc.wantErr)
			}
			if got := entries(t, dir); len(got) != 0 {
				t.Errorf("file driver wrote %v", got)
			}
			logger, buf := jsonLogger()
			lm, err := mail.New(mail.Options{Driver: mail.DriverLog, From: testFrom}, logger)
			if err != nil {
				t.Fatal(err)
			}
			if err := lm.Send(context.Background(), tc.msg); !errors.Is(err, tc.wantErr) {
				t.Errorf("log Send = %v, want %v", err, tc.wantErr)
			}
			if buf.Len() != 0 {
				t.Errorf("log driver logged %s", buf)
			}
			// The smtp driver refuses before dialing: nothing listens there.
			sm, err := mail.New(mail.Options{Driver: mail.DriverSMTP, From: testFrom, SMTP: mail.SMTP{Host: "127.0.0.1", Port: closedPort(t)}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := sm.Send(context.Background(), tc.msg); !errors.Is(err, tc.wantErr) {
				t.Errorf("smtp Send = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestValidateAcceptsGoodMessages(t *testing.T) {
	for _, m := range []mail.Message{
		{ID: "evt-1", To: "zoe@example.org", Text: "t"},
		{ID: "0190b6c2-7d3e-7cc1-9f4a-2b1e8d7f6a5c", To: "Zoë <zoe@example.org>", Subject: "Ünïcode ✓", Text: "t", HTML: "<p>h</p>"},
		{ID: "a.b_c-D9", To: `"Doe, Zoe" <zoe@example.org>`, Subject: strings.Repeat("s", mail.MaxSubjectLen), Text: "t"},
		{ID: strings.Repeat("a", mail.MaxIDLen), To: "<zoe@sub.example.org>", Text: "t"},
	} {
		if err := m.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v, want nil", m, err)
		}
	}
}
