package mail_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/rustok/rustok/platform/mail"
)

// jsonLogger returns a logger writing JSON lines, Debug and above, to the
// returned buffer.
func jsonLogger() (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	return slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), &buf
}

func TestLogWritesOneLinePerMessage(t *testing.T) {
	logger, buf := jsonLogger()
	m, err := mail.New(mail.Options{Driver: mail.DriverLog, From: testFrom}, logger)
	if err != nil {
		t.Fatal(err)
	}
	msgs := []mail.Message{
		{ID: "evt-1", To: "Zoë <zoe@example.org>", Subject: "Reset", Text: "Open https://x.example/r?t=secret\n", HTML: "<p>h</p>"},
		{ID: "evt-2", To: "ann@example.org", Subject: "Other", Text: "plain"},
	}
	for _, msg := range msgs {
		if err := m.Send(context.Background(), msg); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != len(msgs) {
		t.Fatalf("logged %d lines, want %d:\n%s", len(lines), len(msgs), buf)
	}
	for i, line := range lines {
		var got map[string]any
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		want := map[string]any{
			"level": "INFO", "msg": "mail",
			"id": msgs[i].ID, "message_id": "<" + msgs[i].ID + "@example.com>",
			"to": msgs[i].To, "subject": msgs[i].Subject, "text": msgs[i].Text,
			"has_html": msgs[i].HTML != "",
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("line %d: %s = %#v, want %#v", i, k, got[k], v)
			}
		}
	}
}

func TestLogNeedsALogger(t *testing.T) {
	if _, err := mail.New(mail.Options{Driver: mail.DriverLog, From: testFrom}, nil); err == nil {
		t.Fatal("New accepted the log driver without a logger")
	}
}
