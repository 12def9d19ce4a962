package mail_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rustok/rustok/platform/mail"
)

// smtpServer is a minimal SMTP server on 127.0.0.1 for the smtp driver's
// tests: EHLO/HELO, AUTH (one line), MAIL, RCPT, DATA, NOOP, RSET, QUIT, no
// TLS.
type smtpServer struct {
	// auth, when set, is advertised ("250-AUTH <auth>") and AUTH is
	// answered with authReply (default 235).
	auth      string
	authReply string
	// rcptReply answers RCPT (default 250).
	rcptReply string
	// stallData makes the server stop answering at DATA.
	stallData bool
	// quitReply answers QUIT (default 221).
	quitReply string

	ln       net.Listener
	mu       sync.Mutex
	conns    int // accepted
	closed   int // served to their end
	received []received
	authLine []string
	wg       sync.WaitGroup
}

// received is one message the server accepted.
type received struct {
	from, rcpt string
	data       []byte
}

func startSMTP(t *testing.T, s *smtpServer) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.ln = ln
	s.wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns++
			s.mu.Unlock()
			s.wg.Go(func() { s.serve(conn) })
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		s.wg.Wait()
	})
	return ln.Addr().(*net.TCPAddr).Port
}

func (s *smtpServer) serve(conn net.Conn) {
	defer func() {
		_ = conn.Close()
		s.mu.Lock()
		s.closed++
		s.mu.Unlock()
	}()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	tp := textproto.NewConn(conn)
	reply := func(lines ...string) bool {
		for _, l := range lines {
			if err := tp.PrintfLine("%s", l); err != nil {
				return false
			}
		}
		return true
	}
	if !reply("220 127.0.0.1 test ESMTP") {
		return
	}
	var from, rcpt string
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, _, _ := strings.Cut(line, " ")
		var ok bool
		switch strings.ToUpper(verb) {
		case "EHLO":
			lines := []string{"250-127.0.0.1 hello"}
			if s.auth != "" {
				lines = append(lines, "250-AUTH "+s.auth)
			}
			ok = reply(append(lines, "250 HELP")...)
		case "HELO":
			ok = reply("250 127.0.0.1")
		case "AUTH":
			s.mu.Lock()
			s.authLine = append(s.authLine, line)
			s.mu.Unlock()
			ok = reply(cmp(s.authReply, "235 2.7.0 authenticated"))
		case "MAIL":
			from = line
			ok = reply("250 2.1.0 ok")
		case "RCPT":
			rcpt = line
			ok = reply(cmp(s.rcptReply, "250 2.1.5 ok"))
		case "DATA":
			if s.stallData {
				_, _ = tp.ReadLine() // until the client goes
				return
			}
			if !reply("354 go ahead") {
				return
			}
			data, err := tp.ReadDotBytes()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.received = append(s.received, received{from: from, rcpt: rcpt, data: data})
			s.mu.Unlock()
			ok = reply("250 2.0.0 queued")
		case "NOOP", "RSET":
			ok = reply("250 2.0.0 ok")
		case "QUIT":
			reply(cmp(s.quitReply, "221 2.0.0 bye"))
			return
		default:
			ok = reply("502 5.5.2 unknown command")
		}
		if !ok {
			return
		}
	}
}

func (s *smtpServer) snapshot() (conns int, got []received, auth []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns, append([]received(nil), s.received...), append([]string(nil), s.authLine...)
}

// waitClosed reports whether every connection the server accepted has
// ended (the client closed it) within d.
func (s *smtpServer) waitClosed(d time.Duration) bool {
	for deadline := time.Now().Add(d); ; time.Sleep(10 * time.Millisecond) {
		s.mu.Lock()
		done := s.closed == s.conns
		s.mu.Unlock()
		if done || time.Now().After(deadline) {
			return done
		}
	}
}

func cmp(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

// closedPort returns a port on 127.0.0.1 where nothing listens.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return port
}

func newSMTPMailer(t *testing.T, s mail.SMTP) mail.Mailer {
	t.Helper()
	if s.Host == "" {
		s.Host = "127.0.0.1"
	}
	m, err := mail.New(mail.Options{Driver: mail.DriverSMTP, From: testFrom, SMTP: s}, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m
}

func TestSMTPDeliversTheMessage(t *testing.T) {
	tests := []struct {
		name     string
		auth     string // advertised by the server
		username string
		password string
		wantAuth string // decoded AUTH PLAIN response, "" for none
	}{
		{name: "without authentication"},
		{name: "with AUTH PLAIN", auth: "PLAIN LOGIN", username: "mailer", password: "hunter2-secret", wantAuth: "\x00mailer\x00hunter2-secret"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := &smtpServer{auth: tc.auth}
			port := startSMTP(t, srv)
			m := newSMTPMailer(t, mail.SMTP{Port: port, Username: tc.username, Password: tc.password})
			msg := mail.Message{ID: "evt-42", To: "Zoë <zoe@example.org>", Subject: "Réinitialiser", Text: "Bonjour\nlien: https://x.example/r?t=1&u=2\n", HTML: "<p>Bonjour</p>\n"}
			if err := m.Send(context.Background(), msg); err != nil {
				t.Fatalf("Send: %v", err)
			}
			_, got, auth := srv.snapshot()
			if len(got) != 1 {
				t.Fatalf("server received %d messages, want 1", len(got))
			}
			if want := "MAIL FROM:<no-reply@example.com>"; !strings.HasPrefix(got[0].from, want) {
				t.Errorf("MAIL line %q, want %s", got[0].from, want)
			}
			if want := "RCPT TO:<zoe@example.org>"; !strings.HasPrefix(got[0].rcpt, want) {
				t.Errorf("RCPT line %q, want %s", got[0].rcpt, want)
			}
			p := parseMessage(t, got[0].data)
			if got, want := p.Header.Get("Message-ID"), "<evt-42@example.com>"; got != want {
				t.Errorf("Message-ID %q, want %q", got, want)
			}
			if p.Subject != msg.Subject || p.Text != msg.Text || p.HTML != msg.HTML {
				t.Errorf("received %q / %q / %q, want %q / %q / %q", p.Subject, p.Text, p.HTML, msg.Subject, msg.Text, msg.HTML)
			}
			if len(p.To) != 1 || p.To[0].Name != "Zoë" || p.To[0].Address != "zoe@example.org" {
				t.Errorf("To %v, want Zoë <zoe@example.org>", p.To)
			}

			switch {
			case tc.wantAuth == "" && len(auth) != 0:
				t.Errorf("client authenticated (%q) without a username", auth)
			case tc.wantAuth != "":
				if len(auth) != 1 || !strings.HasPrefix(auth[0], "AUTH PLAIN ") {
					t.Fatalf("AUTH lines %q, want one AUTH PLAIN", auth)
				}
				dec, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(auth[0], "AUTH PLAIN "))
				if err != nil || string(dec) != tc.wantAuth {
					t.Errorf("AUTH PLAIN credentials %q (%v), want %q", dec, err, tc.wantAuth)
				}
			}
		})
	}
}

// Once the server has taken the message, a failed QUIT is not an error:
// reporting one would make the reactor send the message again.
func TestSMTPFailedQuitAfterDeliveryIsSuccess(t *testing.T) {
	srv := &smtpServer{quitReply: "451 4.3.0 try again"}
	port := startSMTP(t, srv)
	if err := newSMTPMailer(t, mail.SMTP{Port: port}).Send(context.Background(), mail.Message{ID: "evt-1", To: "zoe@example.org", Text: "x"}); err != nil {
		t.Fatalf("Send = %v, want nil", err)
	}
	if _, got, _ := srv.snapshot(); len(got) != 1 {
		t.Fatalf("server received %d messages, want 1", len(got))
	}
}

func TestSMTPSameMessageIDAsFileDriver(t *testing.T) {
	srv := &smtpServer{}
	port := startSMTP(t, srv)
	msg := mail.Message{ID: "evt-9", To: "zoe@example.org", Text: "x"}
	if err := newSMTPMailer(t, mail.SMTP{Port: port}).Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := newFileMailer(t, dir).Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	_, got, _ := srv.snapshot()
	smtpID := parseMessage(t, got[0].data).Header.Get("Message-ID")
	raw, err := os.ReadFile(filepath.Join(dir, "evt-9.eml"))
	if err != nil {
		t.Fatal(err)
	}
	fileID := parseMessage(t, raw).Header.Get("Message-ID")
	if smtpID != fileID || smtpID != "<evt-9@example.com>" {
		t.Fatalf("smtp Message-ID %q, file %q, want both <evt-9@example.com>", smtpID, fileID)
	}
}

func TestSMTPErrors(t *testing.T) {
	const password = "hunter2-secret"
	echo := password + " " + base64.StdEncoding.EncodeToString([]byte(password)) + " " +
		base64.StdEncoding.EncodeToString([]byte("\x00mailer\x00"+password))
	tests := []struct {
		name      string
		server    *smtpServer // nil: nothing listens
		tls       bool
		ctx       func() (context.Context, context.CancelFunc)
		wantIs    error
		wantInErr string
		maxTime   time.Duration
		wantConns int
	}{
		{
			name:      "a refused recipient is an error",
			server:    &smtpServer{auth: "PLAIN", rcptReply: "550 5.1.1 no such user (you said " + echo + ")"},
			wantInErr: "550",
			wantConns: 1,
		},
		{
			name:      "refused credentials are an error",
			server:    &smtpServer{auth: "PLAIN", authReply: "535 5.7.8 bad credentials " + echo},
			wantInErr: "535",
			wantConns: 1,
		},
		{
			name:      "a server without STARTTLS is refused when TLS is required",
			server:    &smtpServer{auth: "PLAIN"},
			tls:       true,
			wantInErr: "STARTTLS",
			wantConns: 1,
		},
		{
			name:      "an unreachable port is an error",
			wantIs:    syscall.ECONNREFUSED,
			wantInErr: "127.0.0.1:",
		},
		{
			name:   "a context cancelled before Send sends nothing",
			server: &smtpServer{},
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx, cancel
			},
			wantIs:  context.Canceled,
			maxTime: 100 * time.Millisecond,
		},
		{
			name:   "a context ending mid-session ends Send",
			server: &smtpServer{auth: "PLAIN", stallData: true},
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 300*time.Millisecond)
			},
			wantIs:    context.DeadlineExceeded,
			maxTime:   3 * time.Second, // go-mail's own timeout is 15 s
			wantConns: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			port := closedPort(t)
			if tc.server != nil {
				port = startSMTP(t, tc.server)
			}
			ctx, cancel := context.WithCancel(context.Background())
			if tc.ctx != nil {
				ctx, cancel = tc.ctx()
			}
			defer cancel()
			m := newSMTPMailer(t, mail.SMTP{Port: port, TLS: tc.tls, Username: "mailer", Password: password})

			start := time.Now()
			err := m.Send(ctx, mail.Message{ID: "evt-1", To: "zoe@example.org", Subject: "s", Text: "t"})
			elapsed := time.Since(start)
			if err == nil {
				t.Fatal("Send succeeded")
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("Send = %v, want %v", err, tc.wantIs)
			}
			if !strings.Contains(err.Error(), tc.wantInErr) {
				t.Errorf("Send = %v, want it to mention %q", err, tc.wantInErr)
			}
			for _, secret := range strings.Fields(echo) {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q holds the password (%s)", err, secret)
				}
			}
			if tc.maxTime > 0 && elapsed > tc.maxTime {
				t.Errorf("Send took %v, want at most %v", elapsed, tc.maxTime)
			}
			if tc.server != nil {
				conns, got, _ := tc.server.snapshot()
				if conns != tc.wantConns || len(got) != 0 {
					t.Errorf("server saw %d connections and %d messages, want %d and 0", conns, len(got), tc.wantConns)
				}
				if !tc.server.waitClosed(2 * time.Second) {
					t.Errorf("the connection is still open after Send returned")
				}
			}
		})
	}
}
