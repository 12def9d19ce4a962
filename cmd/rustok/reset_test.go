package main

import (
	"context"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	netmail "net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/rustok/rustok/eventstore/relay"
	"github.com/rustok/rustok/platform/database/dbtest"
	userproj "github.com/rustok/rustok/projections/user"
)

// mailFiles returns the .eml files of dir, sorted.
func mailFiles(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	return files
}

var resetLink = regexp.MustCompile(`https?://[^\s"<>]+token=[A-Za-z0-9%._-]+`)

// resetTokenIn reads a password reset message written by the file driver
// and returns its recipient and the token of its link (from the text
// part).
func resetTokenIn(t *testing.T, path string) (to, token string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	msg, err := netmail.ReadMessage(f)
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") {
		t.Fatalf("%s: Content-Type %q: want multipart text and html", path, msg.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			t.Fatalf("%s: no text part with a link: %v", path, err)
		}
		if !strings.HasPrefix(p.Header.Get("Content-Type"), "text/plain") {
			continue
		}
		body, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		link := resetLink.FindString(string(body))
		if link == "" {
			t.Fatalf("%s: no link in %q", path, body)
		}
		u, err := url.Parse(link)
		if err != nil {
			t.Fatal(err)
		}
		return msg.Header.Get("To"), u.Query().Get("token")
	}
}

// TestServePasswordReset goes through forgot → mail → reset on the real
// serve stack, on each database, with the file mail driver: the same
// answer and timing class for a known and an unknown address, exactly one
// message per request (after a restart of the server too, and none from a
// replay), a token that works once, every session ended.
func TestServePasswordReset(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		cfg := authConfig(dbURL)
		mailDir := t.TempDir()
		cfg.Settings.Rustok.Email.Driver, cfg.Settings.Rustok.Email.FileDir = "file", mailDir
		cfg.Settings.Rustok.Email.ResetBaseURL = "https://shop.example.com/reset-password"
		ts := startServer(t, cfg)
		_, pos := createTenant(t, ts.a, ts.h, "shop")
		ts.waitFollowed(t, pos)
		alice := ts.tokens(t, "/api/auth/register", "shop", `{"email":"alice@example.com","password":"correct horse battery","name":"Alice"}`, http.StatusCreated)
		other := ts.tokens(t, "/api/auth/login", "shop", `{"email":"alice@example.com","password":"correct horse battery"}`, http.StatusOK)

		forgot := func(email string) (time.Duration, string) {
			t.Helper()
			start := time.Now()
			code, res, raw := ts.gqlAs(t, "shop", "", `mutation { forgotPassword(input: {email: "`+email+`"}) { success message } }`)
			if code != http.StatusOK || len(res.Errors) > 0 {
				t.Fatalf("forgotPassword(%s): %d %s", email, code, raw)
			}
			return time.Since(start), string(res.Data["forgotPassword"])
		}
		var known, unknown []time.Duration
		var answers []string
		for i := range 3 {
			d, a := forgot("nobody-" + string(rune('a'+i)) + "@example.com")
			unknown, answers = append(unknown, d), append(answers, a)
		}
		d, a := forgot("Alice@Example.com")
		known, answers = append(known, d), append(answers, a)
		for _, a := range answers[1:] {
			if a != answers[0] {
				t.Fatalf("answers differ: %q and %q", answers[0], a)
			}
		}
		for _, d := range append(known, unknown...) {
			if d < forgotPasswordFloor {
				t.Errorf("a forgotPassword answered in %v, before the floor %v", d, forgotPasswordFloor)
			}
		}
		slices.Sort(unknown)
		if diff := (known[0] - unknown[1]).Abs(); diff > 150*time.Millisecond {
			t.Errorf("known address %v, unknown %v: another timing class", known[0], unknown)
		}
		code, _, raw := ts.authCall(t, http.MethodPost, "/api/auth/reset/request", "shop", "", `{"email":"nobody@example.com"}`)
		if code != http.StatusOK || !strings.Contains(raw, `"success":true`) || !strings.Contains(raw, forgotPasswordMessage) {
			t.Errorf("POST /api/auth/reset/request: %d %s", code, raw)
		}

		// Exactly one message, to Alice, with a working link.
		eventually(t, "the reset message written", func() bool { return len(mailFiles(t, mailDir)) == 1 })
		files := mailFiles(t, mailDir)
		to, token := resetTokenIn(t, files[0])
		if !strings.Contains(to, "alice@example.com") || token == "" {
			t.Fatalf("message to %q with token %q", to, token)
		}

		// A wrong token, then the right one; then it is spent.
		code, res, raw := ts.gqlAs(t, "shop", "", `mutation { resetPassword(input: {token: "`+token[:len(token)-2]+`AA", newPassword: "a new password!"}) { success } }`)
		wantGQLError(t, "resetPassword with a tampered token", code, res, raw, http.StatusOK, "BAD_USER_INPUT", "")
		code, res, raw = ts.gqlAs(t, "shop", "", `mutation { resetPassword(input: {token: "`+token+`", newPassword: "a new password!"}) { success } }`)
		if code != http.StatusOK || len(res.Errors) > 0 || string(res.Data["resetPassword"]) != `{"success":true}` {
			t.Fatalf("resetPassword: %d %s", code, raw)
		}
		for name, s := range map[string]authAnswer{"first": alice, "second": other} {
			if code, _, _ := ts.authCall(t, http.MethodGet, "/api/auth/me", "shop", s.AccessToken, ""); code != http.StatusUnauthorized {
				t.Errorf("the %s session after the reset: me %d, want 401", name, code)
			}
			if code, _, _ := ts.authCall(t, http.MethodPost, "/api/auth/refresh", "shop", "", `{"refresh_token":"`+s.RefreshToken+`"}`); code != http.StatusUnauthorized {
				t.Errorf("the %s session after the reset: refresh %d, want 401", name, code)
			}
		}
		code, hdr, raw := ts.authCall(t, http.MethodPost, "/api/auth/reset/confirm", "shop", "", `{"token":"`+token+`","new_password":"yet another one"}`)
		wantProblem(t, "the spent token again", code, hdr, raw, http.StatusBadRequest, "BAD_USER_INPUT")
		ts.tokens(t, "/api/auth/login", "shop", `{"email":"alice@example.com","password":"a new password!"}`, http.StatusOK)
		m := ts.s.identity.metrics
		for _, c := range []struct {
			counter prometheus.Counter
			want    float64
		}{
			{m.resets.WithLabelValues("requested", "OK"), 5}, // 3 unknown addresses, Alice, REST
			{m.resets.WithLabelValues("completed", "OK"), 1},
			{m.resets.WithLabelValues("completed", "BAD_USER_INPUT"), 2}, // tampered, spent
			{m.credentials.WithLabelValues("jwt", "UNAUTHENTICATED"), 2}, // the two sessions after the reset
		} {
			if got := testutil.ToFloat64(c.counter); got != c.want {
				t.Errorf("%s = %v, want %v", c.counter.Desc(), got, c.want)
			}
		}

		// A second request: a second message, with another token.
		forgot("alice@example.com")
		eventually(t, "the second message written", func() bool { return len(mailFiles(t, mailDir)) == 2 })

		// A restart sends nothing again; nor does a replay of every
		// projection, and the reactor itself refuses to be replayed.
		ts.stop()
		ts = startServer(t, cfg)
		head, err := ts.a.store.Head(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		ts.waitFollowed(t, head)
		rp, err := relay.NewReplayer(ts.a.store, relay.Config{}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range ts.a.consumers {
			_, err := rp.Replay(context.Background(), c, relay.ReplayOptions{})
			switch {
			case c.Name == userproj.ResetMailName && err == nil:
				t.Error("the reset mail reactor was replayed")
			case c.Name != userproj.ResetMailName && c.Kind == relay.KindProjection && err != nil:
				t.Errorf("replay %s: %v", c.Name, err)
			}
		}
		time.Sleep(500 * time.Millisecond) // a resend would take the relay a poll interval
		if got := mailFiles(t, mailDir); len(got) != 2 {
			t.Errorf("after a restart and a replay: %d messages, want 2: %v", len(got), got)
		}
	})
}

// TestServeResetExpires: a reset link used after auth.password.reset_ttl
// is refused, on each database.
func TestServeResetExpires(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		cfg := authConfig(dbURL)
		mailDir := t.TempDir()
		cfg.Settings.Rustok.Email.Driver, cfg.Settings.Rustok.Email.FileDir = "file", mailDir
		cfg.Auth.Password.ResetTTL = 2 * time.Second
		ts := startServer(t, cfg)
		_, pos := createTenant(t, ts.a, ts.h, "shop")
		ts.waitFollowed(t, pos)
		ts.tokens(t, "/api/auth/register", "shop", `{"email":"late@example.com","password":"correct horse battery"}`, http.StatusCreated)
		if code, _, raw := ts.authCall(t, http.MethodPost, "/api/auth/reset/request", "shop", "", `{"email":"late@example.com"}`); code != http.StatusOK {
			t.Fatalf("reset/request: %d %s", code, raw)
		}
		eventually(t, "the reset message written", func() bool { return len(mailFiles(t, mailDir)) == 1 })
		_, token := resetTokenIn(t, mailFiles(t, mailDir)[0])
		time.Sleep(cfg.Auth.Password.ResetTTL + 200*time.Millisecond)
		code, hdr, raw := ts.authCall(t, http.MethodPost, "/api/auth/reset/confirm", "shop", "", `{"token":"`+token+`","new_password":"a new password!"}`)
		wantProblem(t, "an expired reset link", code, hdr, raw, http.StatusBadRequest, "BAD_USER_INPUT")
		ts.tokens(t, "/api/auth/login", "shop", `{"email":"late@example.com","password":"correct horse battery"}`, http.StatusOK)
	})
}
