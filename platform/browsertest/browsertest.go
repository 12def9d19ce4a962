package browsertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// The environment variables that New reads.
const (
	// EnvChromium names the Chromium executable. Without it, New tries
	// /usr/bin/chromium, then chromium on PATH.
	EnvChromium = "RUSTOK_TEST_CHROMIUM"
	// EnvRequireBrowser set to 1 makes New fail the test, instead of
	// skipping it, when there is no browser.
	EnvRequireBrowser = "RUSTOK_TEST_REQUIRE_BROWSER"
)

// Timeouts. They are generous: the tests run on loaded two-core machines.
const (
	// startTimeout bounds the start of Chromium.
	startTimeout = 90 * time.Second
	// actionTimeout bounds Navigate, Eval, Do and Screenshot.
	actionTimeout = 90 * time.Second
	// closeTimeout bounds the graceful close of Chromium at cleanup; then
	// the process is killed.
	closeTimeout = 30 * time.Second
	// pollInterval is how often WaitFor evaluates its condition.
	pollInterval = 100 * time.Millisecond
)

// world is the isolated JavaScript world of the CSP violation listener, and
// binding the function through which it reports: the page sees neither.
const (
	world   = "browsertest"
	binding = "__browsertestReport"
)

// violationListener reports each securitypolicyviolation event of a
// document through the binding. It runs in every new document before the
// page's own scripts.
const violationListener = `document.addEventListener("securitypolicyviolation", (e) => {
  ` + binding + `(JSON.stringify({
    directive: e.effectiveDirective, blocked: e.blockedURI, disposition: e.disposition,
    source: e.sourceFile, line: e.lineNumber, sample: e.sample,
  }));
}, true);`

// Browser is a headless Chromium with one tab, for one test. Requests and
// Problems are safe for concurrent use; the other methods drive the tab and
// must not run at the same time as each other.
type Browser struct {
	ctx context.Context // the tab's chromedp context

	mu       sync.Mutex
	requests []string
	problems []string
	urls     map[network.RequestID]string // for loadingFailed, which has no URL
}

// Find returns the Chromium executable: $RUSTOK_TEST_CHROMIUM, else
// /usr/bin/chromium, else chromium on PATH. It returns an error when none
// exists.
func Find() (string, error) {
	if p := os.Getenv(EnvChromium); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", EnvChromium, p, err)
		}
		return p, nil
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium", nil
	}
	p, err := exec.LookPath("chromium")
	if err != nil {
		return "", fmt.Errorf("no /usr/bin/chromium, and %w", err)
	}
	return p, nil
}

// New starts a headless Chromium with a fresh profile in tb.TempDir() and
// opens a blank tab that records requests and problems from then on. The
// browser is closed by tb.Cleanup. When there is no browser, New skips the
// test, or fails it if RUSTOK_TEST_REQUIRE_BROWSER=1; it also fails the test
// when the browser does not start.
func New(tb testing.TB) *Browser {
	tb.Helper()
	exe, err := Find()
	if err != nil {
		if os.Getenv(EnvRequireBrowser) == "1" {
			tb.Fatalf("browsertest: no Chromium (%v); install it (apt-get install chromium) or set %s", err, EnvChromium)
		}
		tb.Skipf("browsertest: no Chromium, skipping (%v); install it (apt-get install chromium) or set %s, and set %s=1 to fail instead", err, EnvChromium, EnvRequireBrowser)
	}

	var output syncBuffer
	allocCtx, allocCancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		// Without these, Chromium's own connections (updates, sync, field
		// trials) are refused on a closed network and slow it down; they would
		// not show in the page's requests, but they are noise.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
		chromedp.UserDataDir(tb.TempDir()),
		chromedp.CombinedOutput(&output),
	)
	b := &Browser{urls: make(map[network.RequestID]string)}
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithListener(b.record))
	b.ctx = ctx
	tb.Cleanup(func() {
		// Close gracefully, so that Chromium's helpers exit with it, but
		// never wait for a hung browser longer than closeTimeout.
		kill := time.AfterFunc(closeTimeout, allocCancel)
		defer kill.Stop()
		if err := chromedp.Cancel(ctx); err != nil && !errors.Is(err, context.Canceled) {
			tb.Logf("browsertest: close Chromium: %v", err)
		}
		cancel()
		allocCancel() // waits for the process to exit
	})

	// The first Do starts the browser and binds its life to ctx, so it has no
	// timeout of its own: the timer cancels the allocator instead.
	abort := time.AfterFunc(startTimeout, allocCancel)
	err = chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, runtime.AddBinding, runtime.AddBindingParams{Name: binding, ExecutionContextName: world}); err != nil {
			return fmt.Errorf("add binding: %w", err)
		}
		if _, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: violationListener, WorldName: world}); err != nil {
			return fmt.Errorf("add CSP violation listener: %w", err)
		}
		return nil
	}))
	if !abort.Stop() && err == nil {
		err = fmt.Errorf("not started within %s", startTimeout)
	}
	if err != nil {
		tb.Fatalf("browsertest: start %s: %v\nChromium output:\n%s", exe, err, output.String())
	}
	return b
}

// record is the tab's event listener. It runs on the loop that reads the
// tab's messages, in order, so it must return fast and send no command.
func (b *Browser) record(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch e := ev.(type) {
	case *network.EventRequestWillBeSent:
		if e.Request != nil {
			b.requests = append(b.requests, e.Request.URL)
			b.urls[e.RequestID] = e.Request.URL
		}
	case *network.EventLoadingFailed:
		if !e.Canceled {
			msg := "request failed: " + b.urls[e.RequestID]
			if e.ErrorText != "" {
				msg += ": " + e.ErrorText
			}
			if e.BlockedReason != "" {
				msg += " (blocked: " + string(e.BlockedReason) + ")"
			}
			b.problems = append(b.problems, msg)
		}
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeAssert {
			b.problems = append(b.problems, "console."+string(e.Type)+": "+consoleText(e.Args))
		}
	case *runtime.EventExceptionThrown:
		b.problems = append(b.problems, "exception: "+exceptionText(e.ExceptionDetails))
	case *log.EventEntryAdded:
		if en := e.Entry; en != nil && en.Level == log.EntryLevelError {
			msg := "log (" + string(en.Source) + "): " + en.Text
			if en.URL != "" {
				msg += " [" + en.URL + "]"
			}
			b.problems = append(b.problems, msg)
		}
	case *runtime.EventBindingCalled:
		if e.Name == binding {
			b.problems = append(b.problems, "CSP violation: "+e.Payload)
		}
	}
}

// consoleText renders console arguments roughly as the DevTools console does.
func consoleText(args []*runtime.RemoteObject) string {
	parts := make([]string, 0, len(args))
	for _, a := range args {
		var s string
		switch {
		case a == nil:
			continue
		case a.Type == runtime.RemoteObjectTypeString && len(a.Value) > 0:
			if err := json.Unmarshal(a.Value, &s); err != nil {
				s = string(a.Value)
			}
		case len(a.Value) > 0:
			s = string(a.Value)
		case a.Description != "":
			s = a.Description
		default:
			s = string(a.Type)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

// exceptionText renders an exception: its text, the error and the place.
func exceptionText(d *runtime.ExceptionDetails) string {
	if d == nil {
		return "(no details)"
	}
	s := d.Text
	if d.Exception != nil && d.Exception.Description != "" {
		desc, _, _ := strings.Cut(d.Exception.Description, "\n")
		s += " " + desc
	}
	if d.URL != "" {
		s += fmt.Sprintf(" [%s:%d:%d]", d.URL, d.LineNumber+1, d.ColumnNumber+1)
	}
	return s
}

// Navigate loads url in the tab and waits for its load event. A response
// status of 400 or more is an error.
func (b *Browser) Navigate(url string) error {
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(url))
	if err != nil {
		return fmt.Errorf("navigate to %s: %w", url, err)
	}
	if resp != nil && resp.Status >= 400 {
		return fmt.Errorf("navigate to %s: status %d %s", url, resp.Status, resp.StatusText)
	}
	return nil
}

// Eval evaluates the JavaScript expression js in the page, waits for the
// promise if it returns one, and decodes the JSON value of the result into
// out, which may be nil to ignore it. An exception is an error.
func (b *Browser) Eval(js string, out any) error {
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	if out == nil {
		if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](js, chromedp.EvalAwaitPromise)); err != nil {
			return fmt.Errorf("evaluate %s: %w", abbrev(js), err)
		}
		return nil
	}
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](js, chromedp.EvalAwaitPromise))
	if err != nil {
		return fmt.Errorf("evaluate %s: %w", abbrev(js), err)
	}
	if raw == nil {
		return fmt.Errorf("evaluate %s: the result is undefined", abbrev(js))
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("decode the result of %s: %w", abbrev(js), err)
	}
	return nil
}

// WaitFor evaluates the JavaScript expression cond every 100ms until it is
// truthy; when cond is a promise, its value counts. An exception or a
// rejection counts as false. After timeout it returns an error that tells
// the last exception of cond and the problems of the page so far.
func (b *Browser) WaitFor(cond string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	expr := "Promise.resolve((\n" + cond + "\n)).then(Boolean)"
	var last error
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr, chromedp.EvalAwaitPromise))
		if err == nil && ok {
			return nil
		}
		if err != nil && ctx.Err() == nil {
			last = err
		}
		select {
		case <-ctx.Done():
			msg := fmt.Sprintf("wait for %s: not true after %s", abbrev(cond), timeout)
			if last != nil {
				msg += "; last error: " + last.Error()
			}
			if p := b.Problems(); len(p) > 0 {
				msg += "; problems of the page (last first):\n  " + strings.Join(lastFirst(p, 10), "\n  ")
			}
			return errors.New(msg)
		case <-time.After(pollInterval):
		}
	}
}

// Do runs chromedp actions in the tab, for what Browser has no method for,
// such as clicks and key presses.
func (b *Browser) Do(actions ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		return fmt.Errorf("run browser actions: %w", err)
	}
	return nil
}

// Screenshot returns a PNG of the tab's viewport, for a test to save when it
// fails.
func (b *Browser) Screenshot() ([]byte, error) {
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		return nil, fmt.Errorf("capture screenshot: %w", err)
	}
	return png, nil
}

// Requests returns the URL of every network request that the tab has made,
// in order, including those that failed or were blocked, and data: URLs.
func (b *Browser) Requests() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.requests...)
}

// RequestsOutside returns the requests whose origin is none of origins
// (e.g. "http://127.0.0.1:41234", as httptest.Server.URL), in order. data:,
// blob: and about: URLs belong to no origin and are left out.
func (b *Browser) RequestsOutside(origins ...string) []string {
	allowed := make(map[string]bool, len(origins))
	for _, o := range origins {
		allowed[strings.ToLower(strings.TrimSuffix(o, "/"))] = true
	}
	var out []string
	for _, r := range b.Requests() {
		u, err := url.Parse(r)
		if err != nil {
			out = append(out, r)
			continue
		}
		switch strings.ToLower(u.Scheme) {
		case "data", "blob", "about":
			continue
		}
		if !allowed[strings.ToLower(u.Scheme+"://"+u.Host)] {
			out = append(out, r)
		}
	}
	return out
}

// Problems returns, in order, what went wrong in the tab: console.error and
// console.assert calls, uncaught exceptions, errors of the browser log (such
// as a resource that failed to load or a CSP refusal), failed requests, and
// CSP violations, each as one line starting with its kind.
func (b *Browser) Problems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.problems...)
}

// lastFirst returns at most n of the last items of s, the last first.
func lastFirst(s []string, n int) []string {
	out := make([]string, 0, min(n, len(s)))
	for i := len(s) - 1; i >= 0 && len(out) < n; i-- {
		out = append(out, s[i])
	}
	return out
}

// abbrev shortens JavaScript for error messages.
func abbrev(js string) string {
	js = strings.Join(strings.Fields(js), " ")
	if len(js) > 80 {
		js = js[:77] + "..."
	}
	return fmt.Sprintf("%q", js)
}

// syncBuffer is a bytes.Buffer that Chromium's output goroutine and the test
// can use at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}
