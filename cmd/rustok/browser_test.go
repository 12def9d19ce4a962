package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/rustok/rustok/platform/browsertest"
	"github.com/rustok/rustok/platform/database"
	"github.com/rustok/rustok/platform/database/dbtest"
)

// uiTimeout bounds each wait in a browser: the machine is a loaded two-core
// box and GraphiQL is 1.5 MB of script.
const uiTimeout = 90 * time.Second

// TestBrowserGraphiQLOnTheServer opens GraphiQL on the real server in
// headless Chromium, as a developer would after `rustok serve` with no
// default tenant: the page loads with no request to another origin and no
// console error or CSP violation; the schema loads on opening although no
// tenant header is set yet, and the docs work; a query without the header
// shows the tenant error as a GraphQL error; with the header typed in, the
// query runs and shows its result.
func TestBrowserGraphiQLOnTheServer(t *testing.T) {
	t.Parallel()
	b := browsertest.New(t)
	ts := startServer(t, testConfig(dbtest.URL(t, database.SQLite)))
	createTenant(t, ts.a, ts.h, "demo")
	t.Cleanup(func() {
		if t.Failed() {
			if png, err := b.Screenshot(); err == nil {
				path := filepath.Join(os.TempDir(), "rustok-graphiql-failure.png")
				_ = os.WriteFile(path, png, 0o600)
				t.Logf("screenshot: %s", path)
			}
		}
	})
	wait := func(what, cond string) {
		t.Helper()
		if err := b.WaitFor(cond, uiTimeout); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(js string, out any) {
		t.Helper()
		if err := b.Eval(js, out); err != nil {
			t.Fatal(err)
		}
	}
	run := func(query string) {
		t.Helper()
		eval(`document.querySelector(".graphiql-query-editor .CodeMirror").CodeMirror.setValue(`+jsString(query)+`)`, nil)
		if err := b.Do(chromedp.Click(chromedp.CSS(`.graphiql-execute-button`))); err != nil {
			t.Fatal(err)
		}
	}
	const resultJS = `document.querySelector(".graphiql-response .CodeMirror").CodeMirror.getValue()`

	if err := b.Navigate(ts.base + "/api/graphql"); err != nil {
		t.Fatal(err)
	}
	wait("GraphiQL renders", `document.querySelector(".graphiql-container .graphiql-query-editor .CodeMirror")`)

	// The schema loads without a tenant: the docs list the root fields.
	if err := b.Do(chromedp.Click(chromedp.CSS(`button[aria-label="Show Documentation Explorer"]`))); err != nil {
		t.Fatal(err)
	}
	wait("the docs explorer shows the query type", `[...document.querySelectorAll(".graphiql-doc-explorer a.graphiql-doc-explorer-type-name")].some(a => a.textContent === "Query")`)
	eval(`[...document.querySelectorAll(".graphiql-doc-explorer a.graphiql-doc-explorer-type-name")].find(a => a.textContent === "Query").click()`, nil)
	wait("the docs list currentTenant and apiVersion", `(() => {
		const names = [...document.querySelectorAll(".graphiql-doc-explorer .graphiql-doc-explorer-field-name")].map(e => e.textContent);
		return names.includes("currentTenant") && names.includes("apiVersion");
	})()`)

	// Without a tenant header a data query says why, as a GraphQL error.
	run("{ apiVersion }")
	wait("the tenant error shows", resultJS+`.includes("tenant header X-Tenant-ID is required")`)
	var result string
	eval(resultJS, &result)
	var answer struct {
		Errors []struct {
			Extensions map[string]any `json:"extensions"`
		} `json:"errors"`
	}
	if err := json.Unmarshal([]byte(result), &answer); err != nil || len(answer.Errors) != 1 || answer.Errors[0].Extensions["code"] != "BAD_USER_INPUT" {
		t.Fatalf("result pane: %s (%v)", result, err)
	}

	// With the header typed into the headers editor, it runs.
	if err := b.Do(chromedp.Click(chromedp.CSS(`button[data-name="headers"]`))); err != nil {
		t.Fatal(err)
	}
	wait("the headers editor opens", `[...document.querySelectorAll(".graphiql-editor-tool .graphiql-editor")].some(e => !e.classList.contains("hidden") && e.querySelector(".CodeMirror"))`)
	eval(`[...document.querySelectorAll(".graphiql-editor-tool .graphiql-editor")].find(e => !e.classList.contains("hidden") && e.querySelector(".CodeMirror")).querySelector(".CodeMirror").CodeMirror.setValue('{"X-Tenant-ID": "demo"}')`, nil)
	run("{ apiVersion currentTenant { slug } }")
	wait("the result shows", resultJS+`.includes('"slug": "demo"')`)
	eval(resultJS, &result)
	if !strings.Contains(result, `"apiVersion": "`+version+`"`) {
		t.Fatalf("result pane: %s", result)
	}

	if out := b.RequestsOutside(ts.base); len(out) > 0 {
		t.Errorf("requests to another origin: %q", out)
	}
	// The one expected problem: the browser logs the 400 of the query sent
	// without a tenant.
	for _, p := range b.Problems() {
		if !strings.Contains(p, "status of 400") {
			t.Errorf("problem in the page: %q", p)
		}
	}
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestBrowserCORS: a page on another origin calls GraphQL with credentials
// from a real browser. Allowed: an origin of server.cors.allowed_origins, and
// a tenant's own domain (shop.localhost, which Chromium resolves to
// loopback). Refused by the browser: any other origin (evil.localhost).
func TestBrowserCORS(t *testing.T) {
	t.Parallel()
	b := browsertest.New(t)
	pages := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, "<!doctype html><title>a UI on another origin</title>")
	}))
	t.Cleanup(pages.Close)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(pages.URL, "http://"))

	cfg := testConfig(dbtest.URL(t, database.SQLite))
	cfg.Server.CORS.AllowedOrigins = []string{pages.URL}
	ts := startServer(t, cfg)
	createTenant(t, ts.a, ts.h, "shop", "shop.localhost")

	call := `fetch(` + jsString(ts.base+"/api/graphql") + `, {
		method: "POST", credentials: "include",
		headers: {"Content-Type": "application/json", "X-Tenant-ID": "shop"},
		body: JSON.stringify({query: "{ currentTenant { slug } }"}),
	}).then(r => r.text().then(body => ({ok: true, body})), e => ({ok: false, error: String(e)}))`
	tests := []struct {
		name    string
		page    string
		allowed bool
	}{
		{"an origin of the configuration", pages.URL + "/", true},
		{"a tenant's own domain", "http://shop.localhost:" + port + "/", true},
		{"any other origin", "http://evil.localhost:" + port + "/", false},
	}
	for _, tc := range tests {
		if err := b.Navigate(tc.page); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var got struct {
			OK    bool   `json:"ok"`
			Body  string `json:"body"`
			Error string `json:"error"`
		}
		if err := b.Eval(call, &got); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if tc.allowed && (!got.OK || got.Body != `{"data":{"currentTenant":{"slug":"shop"}}}`+"\n") {
			t.Errorf("%s (%s): %+v", tc.name, tc.page, got)
		}
		if !tc.allowed && (got.OK || !strings.Contains(got.Error, "Failed to fetch")) {
			t.Errorf("%s (%s) was not refused: %+v", tc.name, tc.page, got)
		}
	}
	if out := b.RequestsOutside(pages.URL, "http://shop.localhost:"+port, "http://evil.localhost:"+port, ts.base); len(out) > 0 {
		t.Errorf("unexpected requests: %q", out)
	}
}
