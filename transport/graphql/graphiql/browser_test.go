package graphiql_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/graphql-go/graphql"

	"github.com/rustok/rustok/platform/browsertest"
	"github.com/rustok/rustok/transport/graphql/graphiql"
)

// uiTimeout bounds each wait for GraphiQL: the machine is loaded and the
// page parses 1.5 MB of script.
const uiTimeout = 90 * time.Second

// TestBrowserGraphiQL opens the page in headless Chromium against a tiny
// graphql-go schema and uses it as a person would: the schema loads on
// opening, the docs list its fields, the tenant header is pre-filled, and a
// query runs with it and shows its result. All of it with no request to
// another origin, and no console error, exception or CSP violation.
func TestBrowserGraphiQL(t *testing.T) {
	b := browsertest.New(t)
	srv := newTestServer(t)

	if err := b.Navigate(srv.URL + "/api/graphql"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			saveScreenshot(t, b)
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

	wait("GraphiQL renders", `document.querySelector(".graphiql-container .graphiql-query-editor .CodeMirror")`)

	// The schema loads on opening: the docs explorer shows the root type,
	// and its fields once opened.
	if err := b.Do(chromedp.Click(chromedp.CSS(`button[aria-label="Show Documentation Explorer"]`))); err != nil {
		t.Fatal(err)
	}
	wait("the docs explorer shows the query type", `[...document.querySelectorAll(".graphiql-doc-explorer a.graphiql-doc-explorer-type-name")].some(a => a.textContent === "Query")`)
	eval(`[...document.querySelectorAll(".graphiql-doc-explorer a.graphiql-doc-explorer-type-name")].find(a => a.textContent === "Query").click()`, nil)
	wait("the docs explorer lists the fields", `(() => {
		const names = [...document.querySelectorAll(".graphiql-doc-explorer .graphiql-doc-explorer-field-name")].map(e => e.textContent);
		return names.includes("apiVersion") && names.includes("health");
	})()`)

	// The headers editor is open and holds the pre-filled header.
	var headers struct {
		Visible bool   `json:"visible"`
		Value   string `json:"value"`
	}
	eval(`(() => {
		const ed = [...document.querySelectorAll(".graphiql-editor-tool .graphiql-editor")]
			.find(e => e.querySelector(".CodeMirror") && !e.classList.contains("hidden"));
		return { visible: !!ed && ed.offsetParent !== null, value: ed ? ed.querySelector(".CodeMirror").CodeMirror.getValue() : "" };
	})()`, &headers)
	var got map[string]string
	if err := json.Unmarshal([]byte(headers.Value), &got); err != nil || !headers.Visible || got["X-Tenant-ID"] != "demo" {
		t.Errorf("headers editor: visible %v, value %q (%v); want it open with {\"X-Tenant-ID\": \"demo\"}", headers.Visible, headers.Value, err)
	}

	// A query runs with the header and shows its result.
	eval(`document.querySelector(".graphiql-query-editor .CodeMirror").CodeMirror.setValue("{ apiVersion }")`, nil)
	if err := b.Do(chromedp.Click(chromedp.CSS(`.graphiql-execute-button`))); err != nil {
		t.Fatal(err)
	}
	wait("the result pane shows the result", `document.querySelector(".graphiql-response .CodeMirror").CodeMirror.getValue().includes("test-version")`)
	// Every request carried the pre-filled header: the introspection that
	// GraphiQL sends on opening, and the query.
	var introspections, queries int
	for _, req := range srv.received() {
		switch {
		case strings.Contains(req.query, "__schema"):
			introspections++
		case req.query == "{ apiVersion }":
			queries++
		}
		if req.tenant != "demo" {
			t.Errorf("request %.40q: X-Tenant-ID %q, want demo", req.query, req.tenant)
		}
	}
	if introspections == 0 || queries != 1 {
		t.Errorf("the endpoint got %d introspection queries and %d { apiVersion } queries, want at least 1 and 1", introspections, queries)
	}

	// A dialog inserts a <style> element (react-remove-scroll-bar): the
	// per-response style nonce must let CSP apply it without
	// 'unsafe-inline'. Without the nonce, the style is refused, which shows
	// as a CSP violation below and leaves the property unset.
	if err := b.Do(chromedp.Click(chromedp.CSS(`button[aria-label="Open settings dialog"]`))); err != nil {
		t.Fatal(err)
	}
	wait("the settings dialog opens", `document.querySelector(".graphiql-dialog")`)
	wait("the dialog's inserted style applies", `getComputedStyle(document.body).getPropertyValue("--removed-body-scroll-bar-size") !== ""`)

	if out := b.RequestsOutside(srv.URL); len(out) > 0 {
		t.Errorf("requests to another origin: %q", out)
	}
	if p := b.Problems(); len(p) > 0 {
		t.Errorf("problems in the page:\n  %s", strings.Join(p, "\n  "))
	}
	for _, r := range b.Requests() {
		t.Logf("request: %.100s", r)
	}
}

// testServer serves the GraphiQL page, its assets and a GraphQL endpoint
// that records each request's query and X-Tenant-ID.
type testServer struct {
	*httptest.Server

	mu       sync.Mutex
	requests []graphqlRequest
}

// graphqlRequest is a request that the GraphQL endpoint received.
type graphqlRequest struct {
	query  string
	tenant string // the X-Tenant-ID header
}

func newTestServer(t testing.TB) *testServer {
	t.Helper()
	page, err := graphiql.New(graphiql.Config{Endpoint: "/api/graphql", AssetsPath: "/api/graphql/assets"})
	if err != nil {
		t.Fatal(err)
	}
	schema, err := graphql.NewSchema(graphql.SchemaConfig{Query: graphql.NewObject(graphql.ObjectConfig{
		Name: "Query",
		Fields: graphql.Fields{
			"apiVersion": &graphql.Field{
				Type:    graphql.NewNonNull(graphql.String),
				Resolve: func(graphql.ResolveParams) (any, error) { return "test-version", nil },
			},
			"health": &graphql.Field{
				Type:    graphql.NewNonNull(graphql.String),
				Resolve: func(graphql.ResolveParams) (any, error) { return "ok", nil },
			},
		},
	})})
	if err != nil {
		t.Fatalf("build schema: %v", err)
	}

	s := &testServer{}
	mux := http.NewServeMux()
	mux.Handle("/api/graphql/assets/", page.AssetsHandler())
	mux.HandleFunc("GET /api/graphql", func(w http.ResponseWriter, r *http.Request) {
		page.ServePage(w, r, map[string]string{"X-Tenant-ID": "demo"})
	})
	mux.HandleFunc("POST /api/graphql", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Query         string         `json:"query"`
			OperationName string         `json:"operationName"`
			Variables     map[string]any `json:"variables"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.requests = append(s.requests, graphqlRequest{query: req.Query, tenant: r.Header.Get("X-Tenant-ID")})
		s.mu.Unlock()
		res := graphql.Do(graphql.Params{
			Schema:         schema,
			RequestString:  req.Query,
			OperationName:  req.OperationName,
			VariableValues: req.Variables,
			Context:        r.Context(),
		})
		w.Header().Set("Content-Type", "application/json")
		if err := json.NewEncoder(w).Encode(res); err != nil {
			t.Errorf("write graphql answer: %v", err)
		}
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// received returns the requests that the GraphQL endpoint got, in order.
func (s *testServer) received() []graphqlRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]graphqlRequest(nil), s.requests...)
}

// saveScreenshot writes what the browser shows to a new directory that the
// test leaves behind, and logs its name, to see why a test failed.
func saveScreenshot(t *testing.T, b *browsertest.Browser) {
	png, err := b.Screenshot()
	if err != nil {
		t.Logf("screenshot: %v", err)
		return
	}
	dir, err := os.MkdirTemp("", "graphiql-browser-")
	if err != nil {
		t.Logf("screenshot: %v", err)
		return
	}
	name := filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+".png")
	if err := os.WriteFile(name, png, 0o644); err != nil {
		t.Logf("screenshot: %v", err)
		return
	}
	t.Logf("screenshot: %s", name)
}
