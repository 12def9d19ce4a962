package main

import (
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rustok/rustok/platform/database"
	"github.com/rustok/rustok/platform/database/dbtest"
)

// TestServeSlowMailServer: on PostgreSQL a mail server that accepts the
// connection and then says nothing holds the password reset mailer inside
// its batch, and nothing else: a sign-up made meanwhile, which waits for its
// read models before it answers, answers as fast as usual (docs/adr/0031).
// On SQLite the mailer's batch holds the single write gate (ADR 0029).
func TestServeSlowMailServer(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan struct{}, 16)
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never a word
			mu.Unlock()
			accepted <- struct{}{}
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})

	cfg := authConfig(dbtest.URL(t, database.Postgres))
	cfg.Settings.Rustok.Email.Driver = "smtp"
	cfg.Settings.Rustok.Email.SMTP.Host = "127.0.0.1"
	cfg.Settings.Rustok.Email.SMTP.Port = ln.Addr().(*net.TCPAddr).Port
	cfg.Settings.Rustok.Email.SMTP.TLS = false
	ts := startServer(t, cfg)
	_, pos := createTenant(t, ts.a, ts.h, "shop")
	ts.waitFollowed(t, pos)
	alice := ts.tokens(t, "/api/auth/register", "shop", `{"email":"alice@example.com","password":"correct horse battery","name":"Alice"}`, http.StatusCreated)

	if code, _, raw := ts.authCall(t, http.MethodPost, "/api/auth/reset/request", "shop", "", `{"email":"alice@example.com"}`); code != http.StatusOK {
		t.Fatalf("reset request: %d %s", code, raw)
	}
	select {
	case <-accepted:
	case <-time.After(30 * time.Second):
		t.Fatal("the mailer never connected to the mail server")
	}
	// The mailer now waits for the server's greeting, inside its batch. A
	// profile change waits for the read models before it answers
	// (graphql.read_your_writes_timeout, 2 s), and a sign-up is read back.
	for i, name := range []string{"Alice B", "Alice C"} {
		start := time.Now()
		if code, _, raw := ts.authCall(t, http.MethodPost, "/api/auth/profile", "shop", alice.AccessToken, `{"name":"`+name+`"}`); code != http.StatusOK {
			t.Fatalf("profile change %d: %d %s", i+1, code, raw)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("profile change %d took %v while the mail server said nothing: the mailer holds the other consumers back", i+1, d)
		}
	}
	code, _, raw := ts.authCall(t, http.MethodGet, "/api/auth/me", "shop", alice.AccessToken, "")
	if code != http.StatusOK || !strings.Contains(raw, `"Alice C"`) {
		t.Fatalf("me after the changes: %d %s", code, raw)
	}
}
