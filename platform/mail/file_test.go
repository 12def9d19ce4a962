package mail_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rustok/rustok/platform/mail"
)

const testFrom = "RusToK <no-reply@example.com>"

func newFileMailer(t *testing.T, dir string) mail.Mailer {
	t.Helper()
	m, err := mail.New(mail.Options{Driver: mail.DriverFile, From: testFrom, FileDir: dir}, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m
}

// entries lists the names in dir.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

func TestFileWritesOneParsableMessage(t *testing.T) {
	tests := []struct {
		name          string
		msg           mail.Message
		wantMediaType string
		wantSubject   string
		wantToName    string
	}{
		{
			name:          "text only is text/plain",
			msg:           mail.Message{ID: "evt-1", To: "zoe@example.org", Subject: "Hello", Text: "Line one\nLine two with = and a long line that goes on and on beyond seventy-six characters of text\n"},
			wantMediaType: "text/plain",
			wantSubject:   "Hello",
		},
		{
			name:          "text and html is multipart/alternative",
			msg:           mail.Message{ID: "0190b6c2-7d3e-7cc1-9f4a-2b1e8d7f6a5c", To: "Zoë Ünïcode <zoe@example.org>", Subject: "Réinitialiser le mot de passe — ✓", Text: "Bonjour Zoë,\nvoici le lien.\n", HTML: "<p>Bonjour Zoë,</p>\n<p><a href=\"https://x.example/r?t=a&amp;b=c\">lien</a></p>\n"},
			wantMediaType: "multipart/alternative",
			wantSubject:   "Réinitialiser le mot de passe — ✓",
			wantToName:    "Zoë Ünïcode",
		},
		{
			name:          "empty subject is allowed",
			msg:           mail.Message{ID: "a.b_c-d", To: "<zoe@example.org>", Text: "x"},
			wantMediaType: "text/plain",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "mail")
			before := time.Now().Add(-time.Second).Truncate(time.Second)
			if err := newFileMailer(t, dir).Send(context.Background(), tc.msg); err != nil {
				t.Fatalf("Send: %v", err)
			}
			if got, want := entries(t, dir), []string{tc.msg.ID + ".eml"}; !slices.Equal(got, want) {
				t.Fatalf("dir holds %v, want %v", got, want)
			}
			raw, err := os.ReadFile(filepath.Join(dir, tc.msg.ID+".eml"))
			if err != nil {
				t.Fatal(err)
			}
			p := parseMessage(t, raw)

			if p.MediaType != tc.wantMediaType {
				t.Errorf("media type %s, want %s", p.MediaType, tc.wantMediaType)
			}
			if p.Subject != tc.wantSubject {
				t.Errorf("subject %q, want %q", p.Subject, tc.wantSubject)
			}
			if len(p.To) != 1 || p.To[0].Address != "zoe@example.org" || p.To[0].Name != tc.wantToName {
				t.Errorf("To %v, want %q <zoe@example.org>", p.To, tc.wantToName)
			}
			if len(p.From) != 1 || p.From[0].Address != "no-reply@example.com" || p.From[0].Name != "RusToK" {
				t.Errorf("From %v, want RusToK <no-reply@example.com>", p.From)
			}
			if got, want := p.Header.Get("Message-ID"), "<"+tc.msg.ID+"@example.com>"; got != want {
				t.Errorf("Message-ID %q, want %q", got, want)
			}
			if got := p.Header.Get("MIME-Version"); got != "1.0" {
				t.Errorf("MIME-Version %q, want 1.0", got)
			}
			date, err := p.Header.Date()
			if err != nil || date.Before(before) || date.After(time.Now().Add(time.Second)) {
				t.Errorf("Date %q (%v), want about now", p.Header.Get("Date"), err)
			}
			for _, h := range []string{"Bcc", "Cc", "User-Agent", "X-Mailer"} {
				if v := p.Header.Get(h); v != "" {
					t.Errorf("unexpected header %s: %q", h, v)
				}
			}
			if p.Text != tc.msg.Text {
				t.Errorf("text part %q, want %q", p.Text, tc.msg.Text)
			}
			if p.HTML != tc.msg.HTML {
				t.Errorf("html part %q, want %q", p.HTML, tc.msg.HTML)
			}
		})
	}
}

func TestFileSameIDIsWrittenOnce(t *testing.T) {
	dir := t.TempDir()
	m := newFileMailer(t, dir)
	ctx := context.Background()
	first := mail.Message{ID: "evt-7", To: "zoe@example.org", Subject: "First", Text: "first body"}
	if err := m.Send(ctx, first); err != nil {
		t.Fatalf("first Send: %v", err)
	}
	path := filepath.Join(dir, "evt-7.eml")
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	// A retry sends the same ID again, possibly rendered anew.
	retry := first
	retry.Subject, retry.Text = "Second", "second body"
	for range 3 {
		if err := m.Send(ctx, retry); err != nil {
			t.Fatalf("repeated Send: %v", err)
		}
	}
	if got := entries(t, dir); !slices.Equal(got, []string{"evt-7.eml"}) {
		t.Fatalf("dir holds %v, want only evt-7.eml", got)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("a repeated Send changed the file:\n%s\nwant\n%s", got, want)
	}
	if p := parseMessage(t, got); p.Subject != "First" || p.Text != "first body" {
		t.Fatalf("file holds %q / %q, want the first message", p.Subject, p.Text)
	}
}

func TestFileConcurrentSendsOfOneIDWriteOneFile(t *testing.T) {
	dir := t.TempDir()
	m := newFileMailer(t, dir)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			errs[i] = m.Send(context.Background(), mail.Message{ID: "evt-c", To: "zoe@example.org", Text: "body"})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := entries(t, dir); !slices.Equal(got, []string{"evt-c.eml"}) {
		t.Fatalf("dir holds %v, want only evt-c.eml (no temporary files)", got)
	}
}

func TestFileDifferentIDsWriteDifferentFiles(t *testing.T) {
	dir := t.TempDir()
	m := newFileMailer(t, dir)
	for _, id := range []string{"evt-1", "evt-2"} {
		if err := m.Send(context.Background(), mail.Message{ID: id, To: "zoe@example.org", Subject: id, Text: "body of " + id}); err != nil {
			t.Fatalf("Send %s: %v", id, err)
		}
	}
	if got, want := entries(t, dir), []string{"evt-1.eml", "evt-2.eml"}; !slices.Equal(got, want) {
		t.Fatalf("dir holds %v, want %v", got, want)
	}
	for _, id := range []string{"evt-1", "evt-2"} {
		raw, err := os.ReadFile(filepath.Join(dir, id+".eml"))
		if err != nil {
			t.Fatal(err)
		}
		if p := parseMessage(t, raw); p.Subject != id || p.Text != "body of "+id {
			t.Errorf("%s.eml holds %q / %q", id, p.Subject, p.Text)
		}
	}
}

func TestFilePermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "mail")
	m := newFileMailer(t, dir)
	for _, d := range []string{filepath.Dir(dir), dir} {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatalf("New did not create %s: %v", d, err)
		}
		if got := fi.Mode().Perm(); got != 0o700 {
			t.Errorf("%s has mode %o, want 700", d, got)
		}
	}
	if err := m.Send(context.Background(), mail.Message{ID: "evt-1", To: "zoe@example.org", Text: "secret link"}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "evt-1.eml"))
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("evt-1.eml has mode %o, want 600", got)
	}
}

func TestFileDirThatCannotBeCreated(t *testing.T) {
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := mail.New(mail.Options{Driver: mail.DriverFile, From: testFrom, FileDir: filepath.Join(file, "mail")}, nil)
	if err == nil {
		t.Fatal("New succeeded with a folder under a regular file")
	}
	if !strings.Contains(err.Error(), "settings.rustok.email.file_dir") {
		t.Errorf("error %q does not name settings.rustok.email.file_dir", err)
	}
	if !errors.Is(err, syscall.ENOTDIR) {
		t.Errorf("error %q does not match ENOTDIR", err)
	}
}

func TestFileDirRemovedAfterNew(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "mail")
	m := newFileMailer(t, dir)
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	if err := m.Send(context.Background(), mail.Message{ID: "evt-1", To: "zoe@example.org", Text: "x"}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := entries(t, dir); !slices.Equal(got, []string{"evt-1.eml"}) {
		t.Fatalf("dir holds %v", got)
	}
}

func TestFileCancelledContextWritesNothing(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := newFileMailer(t, dir).Send(ctx, mail.Message{ID: "evt-1", To: "zoe@example.org", Text: "x"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Send = %v, want context.Canceled", err)
	}
	if got := entries(t, dir); len(got) != 0 {
		t.Fatalf("dir holds %v, want nothing", got)
	}
}
