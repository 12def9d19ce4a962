package gql_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	gql "github.com/rustok/rustok/transport/graphql"
	httpserver "github.com/rustok/rustok/transport/http"
)

// newHTTP mounts a handler on a real httpserver (not listening: requests go
// through its ServeHTTP with the whole middleware chain).
func newHTTP(tb testing.TB, opts gql.Options) (*fixture, http.Handler) {
	tb.Helper()
	f := newFixture(tb, opts)
	srv, err := httpserver.New(httpserver.Config{BodyLimit: 4096}, httpserver.Deps{
		Logger:   slog.New(slog.DiscardHandler),
		Registry: prometheus.NewRegistry(),
	})
	if err != nil {
		tb.Fatalf("httpserver.New: %v", err)
	}
	gql.Mount(srv.API(), f.h)
	srv.WriteErrorsAs("/api"+gql.RoutePath, gql.WriteError)
	return f, srv.Echo()
}

// stubPage stands in for the GraphiQL page: it writes the headers it was
// asked to pre-fill, and serves one asset.
type stubPage struct{}

func (stubPage) ServePage(w http.ResponseWriter, _ *http.Request, headers map[string]string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'self'")
	b, _ := json.Marshal(headers)
	_, _ = w.Write([]byte("<!doctype html>GRAPHIQL " + string(b)))
}

func (stubPage) AssetsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/graphql/assets/start.js" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/javascript")
		_, _ = w.Write([]byte("start()"))
	})
}

type httpCase struct {
	name        string
	method      string
	target      string
	contentType string
	accept      string
	body        string
	wantStatus  int
	wantBody    string // exact JSON (compared decoded) unless empty
	wantContain string
}

func serve(tb testing.TB, h http.Handler, tc httpCase) *httptest.ResponseRecorder {
	tb.Helper()
	var body io.Reader
	if tc.body != "" {
		body = strings.NewReader(tc.body)
	}
	req := httptest.NewRequest(tc.method, tc.target, body)
	if tc.contentType != "" {
		req.Header.Set("Content-Type", tc.contentType)
	}
	if tc.accept != "" {
		req.Header.Set("Accept", tc.accept)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func checkHTTP(t *testing.T, rec *httptest.ResponseRecorder, tc httpCase) {
	t.Helper()
	if rec.Code != tc.wantStatus {
		t.Fatalf("status = %d, want %d (body %s)", rec.Code, tc.wantStatus, rec.Body)
	}
	if tc.wantContain != "" && !strings.Contains(rec.Body.String(), tc.wantContain) {
		t.Errorf("body = %s, want it to contain %s", rec.Body, tc.wantContain)
	}
	if tc.wantBody == "" {
		return
	}
	var got, want any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatalf("decode %s: %v", rec.Body, err)
	}
	if err := json.Unmarshal([]byte(tc.wantBody), &want); err != nil {
		t.Fatalf("bad wantBody: %v", err)
	}
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(want)
	if string(gb) != string(wb) {
		t.Errorf("body = %s\nwant   %s", gb, wb)
	}
}

func get(params map[string]string) string {
	v := url.Values{}
	for k, p := range params {
		v.Set(k, p)
	}
	return "/api/graphql?" + v.Encode()
}

func TestHTTP(t *testing.T) {
	_, h := newHTTP(t, gql.Options{Playground: stubPage{}})
	const appJSON = "application/json"
	tests := []httpCase{
		{name: "POST query", method: "POST", target: "/api/graphql", contentType: appJSON, body: `{"query":"{ health }"}`,
			wantStatus: 200, wantBody: `{"data":{"health":"ok"}}`},
		{name: "POST with variables and operation name", method: "POST", target: "/api/graphql", contentType: appJSON + "; charset=utf-8",
			body:       `{"query":"query A { health } query B($m: String!) { echo(msg: $m) }","operationName":"B","variables":{"m":"hey"}}`,
			wantStatus: 200, wantBody: `{"data":{"echo":"hey"}}`},
		{name: "POST mutation", method: "POST", target: "/api/graphql", contentType: appJSON, body: `{"query":"mutation { bump }"}`,
			wantStatus: 200, wantBody: `{"data":{"bump":1}}`},
		{name: "GET query", method: "GET", target: get(map[string]string{"query": "query($m: String!) { echo(msg: $m) }", "variables": `{"m":"via get"}`}),
			wantStatus: 200, wantBody: `{"data":{"echo":"via get"}}`},
		{name: "GET mutation is refused", method: "GET", target: get(map[string]string{"query": "mutation { bump }"}),
			wantStatus: 405, wantBody: `{"errors":[{"message":"mutations are not allowed over GET: use POST","locations":[],"extensions":{"code":"BAD_USER_INPUT"}}]}`},
		{name: "GET named mutation among queries is refused", method: "GET", target: get(map[string]string{"query": "query Q { health } mutation M { bump }", "operationName": "M"}),
			wantStatus: 405, wantContain: `"BAD_USER_INPUT"`},
		{name: "malformed JSON", method: "POST", target: "/api/graphql", contentType: appJSON, body: `{"query": "{ health }"`,
			wantStatus: 400, wantBody: `{"errors":[{"message":"the request body must be a JSON object {query, operationName, variables, extensions}","locations":[],"extensions":{"code":"BAD_USER_INPUT"}}]}`},
		{name: "variables of the wrong JSON type", method: "POST", target: "/api/graphql", contentType: appJSON, body: `{"query":"{ health }","variables":"x"}`,
			wantStatus: 400, wantContain: `"BAD_USER_INPUT"`},
		{name: "malformed variables over GET", method: "GET", target: get(map[string]string{"query": "{ health }", "variables": "{"}),
			wantStatus: 400, wantBody: `{"errors":[{"message":"the variables parameter must be a JSON object","locations":[],"extensions":{"code":"BAD_USER_INPUT"}}]}`},
		{name: "not JSON", method: "POST", target: "/api/graphql", contentType: "text/plain", body: `{"query":"{ health }"}`,
			wantStatus: 415, wantContain: `"BAD_USER_INPUT"`},
		{name: "no query", method: "POST", target: "/api/graphql", contentType: appJSON, body: `{}`,
			wantStatus: 400, wantBody: `{"errors":[{"message":"the request has no query","locations":[],"extensions":{"code":"BAD_USER_INPUT"}}]}`},
		{name: "validation errors are 200 without data", method: "POST", target: "/api/graphql", contentType: appJSON, body: `{"query":"{ __schema { types { name } } }"}`,
			wantStatus: 200, wantBody: `{"errors":[{"message":"introspection is disabled","locations":[{"line":1,"column":3}],"extensions":{"code":"BAD_USER_INPUT"}}]}`},
		{name: "resolver errors are 200 with data", method: "POST", target: "/api/graphql", contentType: appJSON, body: `{"query":"{ fail(kind: \"not_found\") }"}`,
			wantStatus: 200, wantBody: `{"data":{"fail":null},"errors":[{"message":"node n1 not found","locations":[{"line":1,"column":3}],"path":["fail"],"extensions":{"code":"NOT_FOUND"}}]}`},
		{name: "body over the server limit is 413 with a GraphQL error", method: "POST", target: "/api/graphql", contentType: appJSON, body: `{"query":"{ health }","variables":{"x":"` + strings.Repeat("x", 5000) + `"}}`,
			wantStatus: 413, wantBody: `{"errors":[{"message":"the request body is larger than the limit of 4096 bytes","locations":[],"extensions":{"code":"BAD_USER_INPUT"}}]}`},
		{name: "schema is not published without introspection", method: "GET", target: "/api/graphql/schema.graphql",
			wantStatus: 404, wantContain: `"code":"NOT_FOUND"`},
		{name: "other methods", method: "PUT", target: "/api/graphql", wantStatus: 405},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkHTTP(t, serve(t, h, tc), tc)
		})
	}
}

func TestHTTPPersistedQueries(t *testing.T) {
	_, h := newHTTP(t, gql.Options{})
	const query = "{ apiVersion }"
	ext := func(hash string) string {
		return `{"persistedQuery":{"version":1,"sha256Hash":"` + hash + `"}}`
	}
	hash := sha256Hex(query)
	notFound := `{"errors":[{"message":"PersistedQueryNotFound","locations":[],"extensions":{"code":"PERSISTED_QUERY_NOT_FOUND"}}]}`
	steps := []httpCase{
		{name: "GET unknown hash", method: "GET", target: get(map[string]string{"extensions": ext(hash)}), wantStatus: 200, wantBody: notFound},
		{name: "POST unknown hash", method: "POST", target: "/api/graphql", contentType: "application/json", body: `{"extensions":` + ext(hash) + `}`, wantStatus: 200, wantBody: notFound},
		{name: "POST wrong hash", method: "POST", target: "/api/graphql", contentType: "application/json",
			body:       `{"query":"` + query + `","extensions":` + ext(sha256Hex("{ health }")) + `}`,
			wantStatus: 400, wantBody: `{"errors":[{"message":"provided sha256Hash does not match the query","locations":[],"extensions":{"code":"BAD_USER_INPUT"}}]}`},
		{name: "GET registers with the query", method: "GET", target: get(map[string]string{"query": query, "extensions": ext(hash)}), wantStatus: 200, wantBody: `{"data":{"apiVersion":"1.2.3"}}`},
		{name: "GET hash only", method: "GET", target: get(map[string]string{"extensions": ext(hash)}), wantStatus: 200, wantBody: `{"data":{"apiVersion":"1.2.3"}}`},
		{name: "POST hash only", method: "POST", target: "/api/graphql", contentType: "application/json", body: `{"extensions":` + ext(hash) + `}`, wantStatus: 200, wantBody: `{"data":{"apiVersion":"1.2.3"}}`},
		{name: "POST registers another", method: "POST", target: "/api/graphql", contentType: "application/json",
			body: `{"query":"{ health }","extensions":` + ext(sha256Hex("{ health }")) + `}`, wantStatus: 200, wantBody: `{"data":{"health":"ok"}}`},
		{name: "GET hash only of the POST-registered", method: "GET", target: get(map[string]string{"extensions": ext(sha256Hex("{ health }"))}), wantStatus: 200, wantBody: `{"data":{"health":"ok"}}`},
		{name: "POST registers a mutation", method: "POST", target: "/api/graphql", contentType: "application/json",
			body: `{"query":"mutation { bump }","extensions":` + ext(sha256Hex("mutation { bump }")) + `}`, wantStatus: 200, wantBody: `{"data":{"bump":1}}`},
		{name: "GET hash of a mutation", method: "GET", target: get(map[string]string{"extensions": ext(sha256Hex("mutation { bump }"))}), wantStatus: 405, wantContain: "mutations are not allowed over GET"},
		{name: "malformed extensions", method: "GET", target: get(map[string]string{"extensions": `{"persistedQuery":"x"}`}), wantStatus: 400,
			wantBody: `{"errors":[{"message":"extensions.persistedQuery must be an object","locations":[],"extensions":{"code":"BAD_USER_INPUT"}}]}`},
	}
	for _, tc := range steps {
		t.Run(tc.name, func(t *testing.T) {
			checkHTTP(t, serve(t, h, tc), tc)
		})
	}
}

func TestGraphiQL(t *testing.T) {
	tests := []struct {
		name       string
		playground gql.PlaygroundPage
		accept     string
		target     string
		wantPage   bool
	}{
		{name: "browser gets the page", playground: stubPage{}, accept: "text/html,application/xhtml+xml", target: "/api/graphql", wantPage: true},
		{name: "no page when the playground is off", accept: "text/html", target: "/api/graphql"},
		{name: "no page for API clients", playground: stubPage{}, accept: "application/json", target: "/api/graphql"},
		{name: "no page when a query is given", playground: stubPage{}, accept: "text/html", target: get(map[string]string{"query": "{ health }"})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, h := newHTTP(t, gql.Options{Playground: tc.playground, PlaygroundHeaders: func(context.Context) map[string]string {
				return map[string]string{"X-Tenant-ID": "demo"}
			}})
			rec := serve(t, h, httpCase{method: "GET", target: tc.target, accept: tc.accept})
			csp := rec.Header().Get("Content-Security-Policy")
			isPage := strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html")
			if isPage != tc.wantPage {
				t.Fatalf("page served = %v, want %v (status %d, body %.200s)", isPage, tc.wantPage, rec.Code, rec.Body)
			}
			if !tc.wantPage {
				if csp != "default-src 'none'; frame-ancestors 'none'" {
					t.Errorf("CSP = %q, want the strict API policy", csp)
				}
				return
			}
			if rec.Code != 200 || rec.Body.String() != `<!doctype html>GRAPHIQL {"X-Tenant-ID":"demo"}` {
				t.Errorf("page = %d %.200s", rec.Code, rec.Body)
			}
			if csp != "default-src 'none'; script-src 'self'" {
				t.Errorf("CSP = %q, want the page's own", csp)
			}
			if rec.Header().Get("X-Frame-Options") != "DENY" {
				t.Error("the page lost the other security headers")
			}
		})
	}
	t.Run("assets are mounted with the page", func(t *testing.T) {
		_, h := newHTTP(t, gql.Options{Playground: stubPage{}})
		if rec := serve(t, h, httpCase{method: "GET", target: "/api/graphql/assets/start.js"}); rec.Code != 200 || rec.Body.String() != "start()" {
			t.Fatalf("asset: %d %s", rec.Code, rec.Body)
		}
		_, h = newHTTP(t, gql.Options{})
		if rec := serve(t, h, httpCase{method: "GET", target: "/api/graphql/assets/start.js"}); rec.Code != 404 {
			t.Fatalf("asset without a playground: %d %s", rec.Code, rec.Body)
		}
	})
}

func TestSDLEndpoint(t *testing.T) {
	f, h := newHTTP(t, gql.Options{Introspection: true})
	rec := serve(t, h, httpCase{method: "GET", target: "/api/graphql/schema.graphql"})
	if rec.Code != 200 || rec.Body.String() != f.h.SDL() {
		t.Fatalf("GET schema.graphql = %d %s", rec.Code, rec.Body)
	}
	for _, want := range []string{"type Query {", "  health: String!\n", "  apiVersion: String!\n", "  nodes(first: Int): [Node!]!\n", "type Mutation {\n  bump: Int!\n}"} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("SDL lacks %q:\n%s", want, rec.Body)
		}
	}
}
