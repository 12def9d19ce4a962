package graphiql_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/rustok/rustok/transport/graphql/graphiql"
)

var testConfig = graphiql.Config{Endpoint: "/api/graphql", AssetsPath: "/api/graphql/assets"}

func mustNew(tb testing.TB) *graphiql.Page {
	tb.Helper()
	p, err := graphiql.New(testConfig)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func TestNewValidatesConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     graphiql.Config
		wantErr []string // substrings of the error; none means valid
	}{
		{name: "absolute paths are valid", cfg: testConfig},
		{name: "a trailing slash on the assets path is ignored", cfg: graphiql.Config{Endpoint: "/graphql", AssetsPath: "/graphiql/"}},
		{name: "an empty endpoint is refused", cfg: graphiql.Config{AssetsPath: "/a"}, wantErr: []string{"endpoint: is empty"}},
		{name: "a relative endpoint is refused", cfg: graphiql.Config{Endpoint: "api/graphql", AssetsPath: "/a"}, wantErr: []string{"endpoint", "not an absolute URL path"}},
		{name: "another origin is refused", cfg: graphiql.Config{Endpoint: "//evil.example/graphql", AssetsPath: "/a"}, wantErr: []string{"endpoint", "not an absolute URL path"}},
		{name: "a URL is refused", cfg: graphiql.Config{Endpoint: "https://evil.example/graphql", AssetsPath: "/a"}, wantErr: []string{"endpoint", "not an absolute URL path"}},
		{name: "a query is refused", cfg: graphiql.Config{Endpoint: "/graphql?x=1", AssetsPath: "/a"}, wantErr: []string{"endpoint", "not allowed"}},
		{name: "a quote is refused", cfg: graphiql.Config{Endpoint: "/graphql", AssetsPath: `/a"onload="x`}, wantErr: []string{"assets path", "not allowed"}},
		{name: "every problem is reported at once", cfg: graphiql.Config{}, wantErr: []string{"endpoint: is empty", "assets path: is empty"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := graphiql.New(tc.cfg)
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("New: no error, want one with %q", tc.wantErr)
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("New: %v, want it to contain %q", err, want)
				}
			}
		})
	}
}

// servePage returns the answer of ServePage to a GET, with w holding an API
// policy beforehand as the server's middleware would set it.
func servePage(t *testing.T, p *graphiql.Page, headers map[string]string) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	rec.Header().Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	rec.Header().Set("Content-Security-Policy-Report-Only", "default-src 'none'")
	p.ServePage(rec, httptest.NewRequest(http.MethodGet, "/api/graphql", nil), headers)
	return rec.Result()
}

func TestServePageHeaders(t *testing.T) {
	p := mustNew(t)
	resp := servePage(t, p, nil)

	if resp.StatusCode != http.StatusOK {
		t.Errorf("status %d, want 200", resp.StatusCode)
	}
	for name, want := range map[string]string{
		"Content-Type":           "text/html; charset=utf-8",
		"Cache-Control":          "no-store",
		"X-Content-Type-Options": "nosniff",
	} {
		if got := resp.Header.Get(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	if ro := resp.Header.Values("Content-Security-Policy-Report-Only"); len(ro) != 0 {
		t.Errorf("report-only policy left in place: %q", ro)
	}

	// One policy, the page's own: CSP() with a nonce in style-src.
	csp := resp.Header.Values("Content-Security-Policy")
	if len(csp) != 1 {
		t.Fatalf("Content-Security-Policy: %q, want one policy", csp)
	}
	nonce := regexp.MustCompile(`'nonce-([A-Za-z0-9+/=_-]{16,})'`).FindStringSubmatch(csp[0])
	if nonce == nil {
		t.Fatalf("Content-Security-Policy %q has no nonce", csp[0])
	}
	if want := strings.Replace(p.CSP(), "style-src 'self';", "style-src 'self' "+nonce[0]+";", 1); csp[0] != want {
		t.Errorf("Content-Security-Policy:\n %s\nwant CSP() with the nonce:\n %s", csp[0], want)
	}
	for _, want := range []string{"default-src 'none'", "script-src 'self';", "connect-src 'self';", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp[0], want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp[0], want)
		}
	}
	for _, banned := range []string{"unsafe-inline", "unsafe-eval", "http:", "https:", "*"} {
		if strings.Contains(csp[0], banned) {
			t.Errorf("Content-Security-Policy %q allows %q", csp[0], banned)
		}
	}

	// The nonce is new in each response, and start.js gets it.
	if again := servePage(t, p, nil).Header.Get("Content-Security-Policy"); again == csp[0] {
		t.Errorf("two responses share the nonce: %q", again)
	}
	if s := pageSettings(t, parsePage(t, resp)); s.StyleNonce != nonce[1] {
		t.Errorf("settings styleNonce %q, want the policy's %q", s.StyleNonce, nonce[1])
	}
}

func TestServePageHTML(t *testing.T) {
	p := mustNew(t)
	srv := httptest.NewServer(p.AssetsHandler())
	t.Cleanup(srv.Close)
	resp := servePage(t, p, map[string]string{"X-Tenant-ID": "demo"})
	doc := parsePage(t, resp)

	if raw := render(t, doc); regexp.MustCompile(`(?i)\b(https?:)?//[a-z0-9]`).MatchString(raw) {
		t.Errorf("the page names another origin:\n%s", raw)
	}

	var scripts, sheets int
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		for _, a := range n.Attr {
			// CSP refuses inline handlers and style attributes.
			if strings.HasPrefix(a.Key, "on") || a.Key == "style" {
				t.Errorf("<%s %s=%q>: inline script or style", n.Data, a.Key, a.Val)
			}
		}
		switch n.Data {
		case "script":
			if attr(n, "type") == "application/json" {
				continue // data, not run
			}
			scripts++
			if n.FirstChild != nil {
				t.Errorf("inline script: %q", n.FirstChild.Data)
			}
			checkAsset(t, srv.URL, attr(n, "src"))
		case "style":
			t.Errorf("inline <style>: %q", n.FirstChild.Data)
		case "link":
			if attr(n, "rel") == "stylesheet" {
				sheets++
				checkAsset(t, srv.URL, attr(n, "href"))
			}
		}
	}
	if scripts != 4 || sheets != 2 {
		t.Errorf("%d scripts and %d stylesheets, want React, ReactDOM, GraphiQL, start.js and 2 stylesheets", scripts, sheets)
	}

	s := pageSettings(t, doc)
	if s.Endpoint != "/api/graphql" || len(s.Headers) != 1 || s.Headers["X-Tenant-ID"] != "demo" {
		t.Errorf("settings %+v, want endpoint /api/graphql and headers {X-Tenant-ID: demo}", s)
	}
}

// checkAsset checks that the page's src or href is an asset path that the
// assets handler serves.
func checkAsset(t *testing.T, base, ref string) {
	t.Helper()
	if !strings.HasPrefix(ref, testConfig.AssetsPath+"/") {
		t.Errorf("%q is not under %s/", ref, testConfig.AssetsPath)
		return
	}
	resp, err := http.Get(base + ref)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s: %d, want 200", ref, resp.StatusCode)
	}
}

func TestServePageSettingsCannotBreakOut(t *testing.T) {
	tests := []struct {
		name    string
		headers map[string]string
	}{
		{name: "no headers", headers: nil},
		{name: "a value that closes the script", headers: map[string]string{"X-Tenant-ID": `</script><script>alert(1)</script>`}},
		{name: "a value in upper case", headers: map[string]string{"X-Tenant-ID": `</SCRIPT ><img src=x onerror=alert(1)>`}},
		{name: "a comment opener and line separators", headers: map[string]string{"X-A": "<!--<script>", "X-B": "\u2028\u2029&\"'"}},
		{name: "a name that closes the script", headers: map[string]string{"</script>": "x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := servePage(t, mustNew(t), tc.headers)
			doc := parsePage(t, resp)
			// The block holds exactly the headers, and the page has no
			// element that a value made: scripts are the 4 assets.
			s := pageSettings(t, doc)
			if len(s.Headers) != len(tc.headers) {
				t.Errorf("headers %q, want %q", s.Headers, tc.headers)
			}
			for k, v := range tc.headers {
				if s.Headers[k] != v {
					t.Errorf("header %q = %q, want %q", k, s.Headers[k], v)
				}
			}
			var elements []string
			for n := range doc.Descendants() {
				if n.Type == html.ElementNode && (n.Data == "script" || n.Data == "img") {
					elements = append(elements, n.Data)
				}
			}
			if len(elements) != 5 {
				t.Errorf("elements %q, want the settings block and 4 scripts", elements)
			}
		})
	}
}

// parsePage parses the body of resp.
func parsePage(t *testing.T, resp *http.Response) *html.Node {
	t.Helper()
	defer resp.Body.Close()
	doc, err := html.Parse(resp.Body)
	if err != nil {
		t.Fatalf("parse the page: %v", err)
	}
	return doc
}

func render(t *testing.T, doc *html.Node) string {
	t.Helper()
	var b strings.Builder
	if err := html.Render(&b, doc); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

type settings struct {
	Endpoint   string            `json:"endpoint"`
	Headers    map[string]string `json:"headers"`
	StyleNonce string            `json:"styleNonce"`
}

// pageSettings decodes the page's JSON settings block, as start.js does.
func pageSettings(t *testing.T, doc *html.Node) settings {
	t.Helper()
	for n := range doc.Descendants() {
		if n.Type == html.ElementNode && n.Data == "script" && attr(n, "id") == "graphiql-settings" {
			if attr(n, "type") != "application/json" {
				t.Fatalf("settings block type %q, want application/json", attr(n, "type"))
			}
			var s settings
			if n.FirstChild == nil {
				t.Fatal("empty settings block")
			}
			if err := json.Unmarshal([]byte(n.FirstChild.Data), &s); err != nil {
				t.Fatalf("settings block %q: %v", n.FirstChild.Data, err)
			}
			return s
		}
	}
	t.Fatal("no settings block")
	return settings{}
}
