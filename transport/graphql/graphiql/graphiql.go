package graphiql

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"strconv"
	"strings"
)

// Config says where the page and its assets live.
type Config struct {
	// Endpoint is the URL path of the GraphQL endpoint that GraphiQL sends
	// its requests to, e.g. "/api/graphql". It must be on the page's origin:
	// the page's CSP allows no other (connect-src 'self').
	Endpoint string
	// AssetsPath is the URL path prefix under which AssetsHandler is mounted,
	// e.g. "/api/graphql/assets". A trailing slash is ignored.
	AssetsPath string
}

// Validate reports every problem of c at once.
func (c Config) Validate() error {
	var errs []error
	if err := checkPath(c.Endpoint); err != nil {
		errs = append(errs, fmt.Errorf("endpoint: %w", err))
	}
	if err := checkPath(c.AssetsPath); err != nil {
		errs = append(errs, fmt.Errorf("assets path: %w", err))
	}
	return errors.Join(errs...)
}

// checkPath accepts an absolute URL path on the same origin, with nothing
// that would need escaping in HTML or in a URL.
func checkPath(p string) error {
	switch {
	case p == "":
		return errors.New("is empty")
	case !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//"):
		return fmt.Errorf("%q is not an absolute URL path (it must start with a single /)", p)
	case strings.ContainsFunc(p, func(r rune) bool {
		return r <= ' ' || r >= 0x7f || strings.ContainsRune(`"'<>\?#`, r)
	}):
		return fmt.Errorf("%q has a character that is not allowed in the path (space, control, quote, <, >, \\, ? or #)", p)
	}
	return nil
}

// policy is the page's Content-Security-Policy without the per-response
// style nonce. Only this origin may serve scripts, styles, fonts and
// images and answer fetches; data: is allowed for the fonts and images that
// graphiql.min.css inlines and the page's empty icon. No inline script, no
// eval, no inline style: the browser test shows GraphiQL 3 needs none.
const policy = "default-src 'none'; " +
	"script-src 'self'; " +
	"style-src 'self'; " +
	"connect-src 'self'; " +
	"img-src 'self' data:; " +
	"font-src 'self' data:; " +
	"base-uri 'none'; " +
	"form-action 'none'; " +
	"frame-ancestors 'none'"

// settingsID is the id of the page's JSON data block that start.js reads.
const settingsID = "graphiql-settings"

// Page is the GraphiQL page and its assets. It is safe for concurrent use.
type Page struct {
	endpoint string
	// head and tail are the page around its JSON settings block.
	head, tail []byte
	assets     assetTable
}

// New builds the page for cfg. It returns an error if cfg is invalid.
func New(cfg Config) (*Page, error) {
	cfg.AssetsPath = strings.TrimSuffix(cfg.AssetsPath, "/")
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("graphiql config: %w", err)
	}
	assets, err := loadAssets(cfg.AssetsPath)
	if err != nil {
		return nil, fmt.Errorf("graphiql assets: %w", err)
	}
	head, tail, err := pageHTML(assets)
	if err != nil {
		return nil, fmt.Errorf("graphiql page: %w", err)
	}
	return &Page{endpoint: cfg.Endpoint, head: head, tail: tail, assets: assets}, nil
}

// pageHTML returns the page before and after the JSON settings block. The
// scripts are deferred, so they run in order once the document is parsed.
func pageHTML(a assetTable) (head, tail []byte, err error) {
	links := func(names []string, tag string) (string, error) {
		var b strings.Builder
		for _, name := range names {
			u, err := a.url(name)
			if err != nil {
				return "", err
			}
			fmt.Fprintf(&b, tag, html.EscapeString(u))
		}
		return b.String(), nil
	}
	styles, err := links([]string{"graphiql.min.css", "page.css"},
		"<link rel=\"stylesheet\" href=\"%s\">\n")
	if err != nil {
		return nil, nil, err
	}
	scripts, err := links([]string{"react.production.min.js", "react-dom.production.min.js", "graphiql.min.js", "start.js"},
		"<script src=\"%s\" defer></script>\n")
	if err != nil {
		return nil, nil, err
	}
	head = []byte(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>GraphiQL</title>
<link rel="icon" href="data:,">
` + styles + `<script type="application/json" id="` + settingsID + `">`)
	tail = []byte("</script>\n" + scripts + `</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
</body>
</html>
`)
	return head, tail, nil
}

// settings are the per-page settings that start.js reads.
type settings struct {
	Endpoint   string            `json:"endpoint"`
	Headers    map[string]string `json:"headers,omitempty"`
	StyleNonce string            `json:"styleNonce"`
}

// ServePage writes the GraphiQL page: 200, text/html, Cache-Control:
// no-store, and the page's own Content-Security-Policy, which replaces any
// policy that w already holds (and any report-only one, which would only
// report what the page needs). The policy is CSP plus a nonce, new in each
// response, in style-src: GraphiQL's dialogs insert <style> elements that
// carry it.
//
// headers (may be nil) are pre-filled in GraphiQL's request headers editor,
// e.g. {"X-Tenant-ID": "demo"}; when there are any, the headers editor is
// shown open. They reach the page in a JSON data block with HTML-safe
// escaping, so no value can end the block or run as script.
//
// ServePage does not look at r's method or path: mount it on the routes
// that should show the page.
func (p *Page) ServePage(w http.ResponseWriter, r *http.Request, headers map[string]string) {
	nonce := rand.Text()
	// json.Marshal escapes <, > and & (and U+2028, U+2029), so no value
	// can close the <script> block or open a comment in it.
	data, err := json.Marshal(settings{Endpoint: p.endpoint, Headers: headers, StyleNonce: nonce})
	if err != nil {
		// Unreachable with these field types; answered like any internal error.
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Del("Content-Security-Policy-Report-Only")
	h.Set("Content-Security-Policy", policyWithNonce(nonce))
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(p.head)+len(data)+len(p.tail)))
	w.WriteHeader(http.StatusOK)
	for _, part := range [][]byte{p.head, data, p.tail} {
		if _, err := w.Write(part); err != nil {
			return // the client has gone; there is no one to tell
		}
	}
}

// policyWithNonce returns the policy with nonce allowed in style-src.
func policyWithNonce(nonce string) string {
	return strings.Replace(policy, "style-src 'self';", "style-src 'self' 'nonce-"+nonce+"';", 1)
}

// CSP returns the page's Content-Security-Policy as ServePage sends it,
// less the nonce source that ServePage adds to style-src in each response.
func (p *Page) CSP() string {
	return policy
}

// AssetsHandler returns the handler of the page's assets. It answers GET and
// HEAD of AssetsPath/<file>, where <file> is a name that the page links to
// and carries a hash of the content, so the answer may be cached forever
// (Cache-Control: public, max-age=31536000, immutable). It sets the
// Content-Type and a strong ETag, answers 304 to a matching If-None-Match,
// and sends gzip when the request accepts it (compressing each asset once,
// on first use). Any other path is 404, and any other method 405.
//
// It reads the full request path, so mount it at AssetsPath without
// stripping the prefix. It is safe for concurrent use.
func (p *Page) AssetsHandler() http.Handler {
	return http.HandlerFunc(p.assets.serve)
}
