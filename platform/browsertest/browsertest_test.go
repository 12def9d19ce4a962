package browsertest_test

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rustok/rustok/platform/browsertest"
)

func TestFind(t *testing.T) {
	exe := filepath.Join(t.TempDir(), "chromium")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     string
		want    string
		wantErr string
	}{
		{name: "the variable names the browser", env: exe, want: exe},
		{name: "a variable that names nothing is an error", env: exe + ".missing", wantErr: browsertest.EnvChromium},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(browsertest.EnvChromium, tc.env)
			got, err := browsertest.Find()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Find() = %q, %v; want an error with %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Find() = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// stoppingTB records how New stops a test: Skipf and Fatalf end the
// goroutine, as testing.T's do.
type stoppingTB struct {
	testing.TB
	skipped, fatal string
}

func (s *stoppingTB) Helper() {}

func (s *stoppingTB) Skipf(format string, args ...any) {
	s.skipped = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (s *stoppingTB) Fatalf(format string, args ...any) {
	s.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestNewWithoutBrowser(t *testing.T) {
	tests := []struct {
		name      string
		require   string
		wantSkip  bool
		wantFatal bool
	}{
		{name: "a test without a browser is skipped", require: "", wantSkip: true},
		{name: "a test that requires a browser fails", require: "1", wantFatal: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(browsertest.EnvChromium, filepath.Join(t.TempDir(), "no-chromium"))
			t.Setenv(browsertest.EnvRequireBrowser, tc.require)
			tb := &stoppingTB{TB: t}
			done := make(chan struct{})
			go func() {
				defer close(done)
				browsertest.New(tb)
			}()
			<-done
			if (tb.skipped != "") != tc.wantSkip || (tb.fatal != "") != tc.wantFatal {
				t.Fatalf("skipped %q, fatal %q; want skip %v, fatal %v", tb.skipped, tb.fatal, tc.wantSkip, tc.wantFatal)
			}
			msg := tb.skipped + tb.fatal
			if !strings.Contains(msg, "no Chromium") || !strings.Contains(msg, browsertest.EnvChromium) {
				t.Errorf("message %q does not say what is missing and how to provide it", msg)
			}
		})
	}
}

// badServer serves a page that does everything that Browser records: a
// console error, an uncaught exception, a script and an inline style that
// its CSP refuses, and a request to another origin (refused, where nothing
// listens) that fails.
type badServer struct {
	*httptest.Server
	refused string // an origin on the loopback where nothing listens
}

func newBadServer(t *testing.T) *badServer {
	t.Helper()
	// A port that was just free; Chromium refuses to connect to the well-known
	// ones, such as 1, with ERR_UNSAFE_PORT before trying.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	page := `<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,">
<script src="/app.js"></script>
<script src="` + refused + `/blocked.js"></script>
</head><body><p id="p">hello</p></body></html>`
	app := `console.error("boom", 42);
document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("p").setAttribute("style", "color: red");
  fetch("` + refused + `/refused").catch(() => { window.fetchFailed = true; });
  setTimeout(() => { throw new Error("thrown by app.js"); }, 0);
  setTimeout(() => { window.thrown = true; }, 10);
  window.ready = true;
});`
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'none'; img-src data:; script-src 'self'; style-src 'self'; connect-src 'self' "+refused)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, page)
	})
	mux.HandleFunc("GET /app.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprint(w, app)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &badServer{Server: srv, refused: refused}
}

func TestBrowserRecordsWhatGoesWrong(t *testing.T) {
	b := browsertest.New(t)
	srv := newBadServer(t)
	if err := b.Navigate(srv.URL + "/"); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitFor("window.ready && window.fetchFailed && window.thrown", time.Minute); err != nil {
		t.Fatal(err)
	}

	problems := strings.Join(b.Problems(), "\n")
	for _, want := range []string{
		"console.error: boom 42",
		"exception: Uncaught Error: thrown by app.js",
		`CSP violation: {"directive":"script-src-elem","blocked":"` + srv.refused + `/blocked.js"`,
		`CSP violation: {"directive":"style-src-attr","blocked":"inline"`,
		"request failed: " + srv.refused + "/blocked.js (blocked: csp)",
		"request failed: " + srv.refused + "/refused: net::ERR_CONNECTION_REFUSED",
	} {
		if !strings.Contains(problems, want) {
			t.Errorf("problems lack %q:\n%s", want, problems)
		}
	}

	requests := b.Requests()
	if len(requests) < 3 || requests[0] != srv.URL+"/" || requests[1] != srv.URL+"/app.js" {
		t.Errorf("requests %q, want the page, then /app.js first", requests)
	}
	outside := b.RequestsOutside(srv.URL)
	// Blocked and failed requests are requests too.
	if !slices.Contains(outside, srv.refused+"/blocked.js") || !slices.Contains(outside, srv.refused+"/refused") {
		t.Errorf("RequestsOutside(%s) = %q, want the blocked script and the refused fetch in it", srv.URL, outside)
	}
	for _, r := range outside {
		if strings.HasPrefix(r, srv.URL) {
			t.Errorf("RequestsOutside(%s) has %q", srv.URL, r)
		}
	}
	if got := b.RequestsOutside(srv.URL, srv.refused); len(got) != 0 {
		t.Errorf("RequestsOutside of both origins = %q, want none", got)
	}
}

func TestBrowserEvalAndWaitFor(t *testing.T) {
	b := browsertest.New(t)
	srv := newBadServer(t)
	if err := b.Navigate(srv.URL + "/"); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitFor("window.ready", time.Minute); err != nil {
		t.Fatal(err)
	}

	t.Run("a value decodes into out", func(t *testing.T) {
		var got struct {
			Text string `json:"text"`
			N    int    `json:"n"`
		}
		if err := b.Eval(`({text: document.getElementById("p").textContent, n: 1 + 2})`, &got); err != nil {
			t.Fatal(err)
		}
		if got.Text != "hello" || got.N != 3 {
			t.Errorf("got %+v, want {hello 3}", got)
		}
	})
	t.Run("a promise is awaited", func(t *testing.T) {
		var n int
		if err := b.Eval(`new Promise(r => setTimeout(() => r(42), 10))`, &n); err != nil || n != 42 {
			t.Errorf("got %d, %v; want 42", n, err)
		}
	})
	t.Run("nil out ignores the result", func(t *testing.T) {
		if err := b.Eval(`window.x = 1`, nil); err != nil {
			t.Error(err)
		}
	})
	t.Run("undefined into out is an error", func(t *testing.T) {
		var n int
		if err := b.Eval(`undefined`, &n); err == nil || !strings.Contains(err.Error(), "undefined") {
			t.Errorf("err %v, want one that says undefined", err)
		}
	})
	t.Run("an exception is an error", func(t *testing.T) {
		if err := b.Eval(`nosuchvariable.x`, nil); err == nil || !strings.Contains(err.Error(), "ReferenceError") {
			t.Errorf("err %v, want the ReferenceError", err)
		}
	})
	t.Run("a promise condition counts by its value", func(t *testing.T) {
		if err := b.WaitFor(`new Promise(r => setTimeout(() => r("yes"), 10))`, time.Minute); err != nil {
			t.Error(err)
		}
		if err := b.WaitFor(`Promise.resolve(0)`, time.Second); err == nil {
			t.Error("WaitFor of a promise of 0 succeeded")
		}
	})
	t.Run("a timeout tells the last error and the problems", func(t *testing.T) {
		err := b.WaitFor(`nosuchvariable.ready`, 2*time.Second)
		if err == nil {
			t.Fatal("WaitFor of an undefined variable succeeded")
		}
		for _, want := range []string{"not true after 2s", "ReferenceError", "console.error: boom 42"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q lacks %q", err, want)
			}
		}
	})
	t.Run("a status of 400 or more is a navigation error", func(t *testing.T) {
		if err := b.Navigate(srv.URL + "/missing"); err == nil || !strings.Contains(err.Error(), "404") {
			t.Errorf("err %v, want status 404", err)
		}
	})
}
