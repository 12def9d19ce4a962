package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	tenantcmd "github.com/rustok/rustok/commands/tenant"
	"github.com/rustok/rustok/platform/database"
	"github.com/rustok/rustok/platform/database/dbtest"
)

// rawRequest sends one request to the test server and returns the status,
// headers and body.
func (ts *testServer) rawRequest(t *testing.T, method, path string, header http.Header, body string) (int, http.Header, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, ts.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(raw)
}

var jsonHeader = http.Header{"Content-Type": {"application/json"}}

func withTenant(h http.Header, tenant string) http.Header {
	out := h.Clone()
	if out == nil {
		out = http.Header{}
	}
	out.Set("X-Tenant-ID", tenant)
	return out
}

// TestFrontDoor goes through what a new user's GraphQL clients met at the
// front door, on the real serve stack, on each database.
func TestFrontDoor(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		t.Parallel()
		ts := startServer(t, testConfig(dbURL))
		_, pos := createTenant(t, ts.a, ts.h, "door")
		post := func(header http.Header, body string) (int, http.Header, string) {
			return ts.rawRequest(t, http.MethodPost, "/api/graphql", header, body)
		}

		t.Run("the SDL needs no tenant", func(t *testing.T) {
			code, h, body := ts.rawRequest(t, http.MethodGet, "/api/graphql/schema.graphql", nil, "")
			if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") || !strings.Contains(body, "scalar Position") {
				t.Fatalf("%d %s %.200s", code, h.Get("Content-Type"), body)
			}
		})
		t.Run("introspection needs no tenant, data does", func(t *testing.T) {
			code, _, body := post(jsonHeader, `{"query":"{ __schema { queryType { name } } __typename }"}`)
			if code != 200 || body != `{"data":{"__schema":{"queryType":{"name":"Query"}},"__typename":"Query"}}`+"\n" {
				t.Fatalf("introspection: %d %q", code, body)
			}
			code, _, body = post(jsonHeader, `{"query":"{ __typename health }"}`)
			if code != 400 || !strings.Contains(body, `"message":"tenant header X-Tenant-ID is required"`) || !strings.Contains(body, `"code":"BAD_USER_INPUT"`) || strings.Contains(body, `"data"`) {
				t.Fatalf("data without a tenant: %d %s", code, body)
			}
			code, _, body = post(withTenant(jsonHeader, "nobody"), `{"query":"{ health }"}`)
			if code != 404 || !strings.Contains(body, `"errors":[{"message":`) || !strings.Contains(body, `"code":"NOT_FOUND"`) {
				t.Fatalf("unknown tenant: %d %s", code, body)
			}
		})
		t.Run("answers are compact JSON", func(t *testing.T) {
			_, _, body := post(withTenant(jsonHeader, "door"), `{"query":"{ currentTenant { slug name } }"}`)
			if body != `{"data":{"currentTenant":{"name":"Tenant door","slug":"door"}}}`+"\n" {
				t.Fatalf("%q", body)
			}
		})
		t.Run("null literals", func(t *testing.T) {
			_, _, body := post(withTenant(jsonHeader, "door"), `{"query":"{ currentTenant(minPosition: null) { slug } }"}`)
			if body != `{"data":{"currentTenant":{"slug":"door"}}}`+"\n" {
				t.Fatalf("%q", body)
			}
		})
		t.Run("a string is no Int variable", func(t *testing.T) {
			tid := tenantIDOf(context.Background(), ts.a, "door")
			req, _ := json.Marshal(map[string]any{
				"query":     fmt.Sprintf(`query ($n: Int) { history(id: %q, first: $n) { totalCount } }`, tid),
				"variables": map[string]any{"n": "5"},
			})
			_, _, body := post(withTenant(jsonHeader, "door"), string(req))
			if !strings.Contains(body, `Variable \"$n\" got invalid value \"5\"; Int cannot represent non-integer value: \"5\"`) || strings.Contains(body, `"data"`) {
				t.Fatalf("%s", body)
			}
		})
		t.Run("positions are strings and beyond the head is refused at once", func(t *testing.T) {
			start := time.Now()
			_, _, body := post(withTenant(jsonHeader, "door"), `{"query":"{ currentTenant(minPosition: \"1000000000000\") { slug } }"}`)
			if !strings.Contains(body, `"message":"position 1000000000000 is beyond the end of the event log"`) || !strings.Contains(body, `"field":"minPosition"`) {
				t.Fatalf("%s", body)
			}
			if took := time.Since(start); took > ts.a.cfg.GraphQL.ReadYourWritesTimeout {
				t.Fatalf("refusing took %v, as long as a wait", took)
			}
			_, _, body = post(withTenant(jsonHeader, "door"), `{"query":"{ currentTenant(minPosition: 1e9) { slug } }"}`)
			if !strings.Contains(body, `Argument \"minPosition\" has invalid value 1e9.`) {
				t.Fatalf("a float position: %s", body)
			}
			var aliases strings.Builder
			for i := range 30 {
				fmt.Fprintf(&aliases, " t%d: currentTenant(minPosition: \\\"%d\\\") { slug }", i, pos)
			}
			_, _, body = post(withTenant(jsonHeader, "door"), `{"query":"{`+aliases.String()+` }"}`)
			if !strings.Contains(body, fmt.Sprintf(`"extensions":{"readYourWrites":{"position":"%d","reached":true}}`, pos)) || strings.Contains(body, `"errors"`) {
				t.Fatalf("30 aliases: %.300s", body)
			}
		})
		t.Run("a body over the limit is a GraphQL error", func(t *testing.T) {
			big := `{"query":"{ health }","variables":{"x":"` + strings.Repeat("x", int(ts.a.cfg.Server.BodyLimitBytes())) + `"}}`
			code, h, body := post(withTenant(jsonHeader, "door"), big)
			if code != 413 || !strings.HasPrefix(h.Get("Content-Type"), "application/json") ||
				!strings.Contains(body, `{"errors":[{"message":"the request body is larger than the limit of`) {
				t.Fatalf("%d %s %.300s", code, h.Get("Content-Type"), body)
			}
		})
		t.Run("OPTIONS and HEAD", func(t *testing.T) {
			code, h, body := ts.rawRequest(t, http.MethodOptions, "/api/graphql", nil, "")
			if code != 204 || body != "" || !strings.Contains(h.Get("Allow"), "POST") || !strings.Contains(h.Get("Allow"), "GET") {
				t.Fatalf("OPTIONS: %d %v %q", code, h, body)
			}
			code, h, body = ts.rawRequest(t, http.MethodHead, "/api/graphql?query=%7B%20health%20%7D", withTenant(nil, "door"), "")
			if code != 200 || body != "" || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
				t.Fatalf("HEAD: %d %v %q", code, h, body)
			}
			code, _, _ = ts.rawRequest(t, http.MethodHead, "/api/graphql/schema.graphql", nil, "")
			if code != 200 {
				t.Fatalf("HEAD SDL: %d", code)
			}
		})
		t.Run("API answers are not cached and vary by tenant and origin", func(t *testing.T) {
			_, h, _ := post(withTenant(jsonHeader, "door"), `{"query":"{ health }"}`)
			vary := strings.Join(h.Values("Vary"), ",")
			if h.Get("Cache-Control") != "no-store" || !strings.Contains(vary, "Origin") || !strings.Contains(vary, "X-Tenant-ID") {
				t.Fatalf("Cache-Control %q, Vary %q", h.Get("Cache-Control"), vary)
			}
		})
	})
}

// TestGraphiQLPrefillsTheDefaultTenant: with settings.rustok.tenant.default_id,
// the GraphiQL page opens with that tenant's header filled in.
func TestGraphiQLPrefillsTheDefaultTenant(t *testing.T) {
	t.Parallel()
	cfg := testConfig(dbtest.URL(t, database.SQLite))
	pre, err := build(context.Background(), cfg, slog.New(slog.DiscardHandler), buildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h, err := newTenantHandlers(pre)
	if err != nil {
		t.Fatal(err)
	}
	createTenant(t, pre, h, "home")
	_ = pre.Close()
	cfg.Settings.Rustok.Tenant.DefaultID = "home"
	ts := startServer(t, cfg)
	code, hdr, body := ts.rawRequest(t, http.MethodGet, "/api/graphql", http.Header{"Accept": {"text/html"}}, "")
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") || !strings.Contains(body, `"headers":{"X-Tenant-ID":"home"}`) {
		t.Fatalf("%d %s %.600s", code, hdr.Get("Content-Type"), body)
	}
	if csp := hdr.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "http") {
		t.Fatalf("CSP %q", csp)
	}
	// Without a default and without a header, the page opens with none.
	ts2 := startServer(t, testConfig(dbtest.URL(t, database.SQLite)))
	_, _, body = ts2.rawRequest(t, http.MethodGet, "/api/graphql", http.Header{"Accept": {"text/html"}}, "")
	if strings.Contains(body, `"headers"`) {
		t.Fatalf("headers pre-filled without a tenant: %.600s", body)
	}
}

// TestNoTenantSideDoor: a GET from a browser with a query parameter is a
// GraphQL request like any other, and needs its tenant (issue 13: it used to
// skip tenant resolution, also with the playground off and for a disabled
// tenant). Only the page itself, asked without a query, needs none.
func TestNoTenantSideDoor(t *testing.T) {
	t.Parallel()
	for _, playground := range []bool{true, false} {
		t.Run(fmt.Sprintf("playground %v", playground), func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(dbtest.URL(t, database.SQLite))
			cfg.GraphQL.Playground = playground
			ts := startServer(t, cfg)
			createTenant(t, ts.a, ts.h, "open")
			createTenant(t, ts.a, ts.h, "closed")
			if _, err := ts.h.disable.Handle(context.Background(), tenantcmd.DisableTenant{Tenant: "closed"}); err != nil {
				t.Fatal(err)
			}
			html := http.Header{"Accept": {"text/html,application/xhtml+xml"}}
			q := "/api/graphql?query=%7B%20currentTenant%20%7B%20slug%20%7D%20%7D" // { currentTenant { slug } }
			code, _, body := ts.rawRequest(t, http.MethodGet, q, html, "")
			if code != 400 || !strings.Contains(body, "tenant header X-Tenant-ID is required") {
				t.Fatalf("no tenant: %d %s", code, body)
			}
			deadline := time.Now().Add(10 * time.Second)
			for {
				code, _, body = ts.rawRequest(t, http.MethodGet, q, withTenant(html, "closed"), "")
				if code == 403 && strings.Contains(body, `"code":"FORBIDDEN"`) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("disabled tenant: %d %s", code, body)
				}
				time.Sleep(20 * time.Millisecond)
			}
			code, _, body = ts.rawRequest(t, http.MethodGet, q, withTenant(html, "open"), "")
			if code != 200 || body != `{"data":{"currentTenant":{"slug":"open"}}}`+"\n" {
				t.Fatalf("with a tenant: %d %s", code, body)
			}
			code, h, _ := ts.rawRequest(t, http.MethodGet, "/api/graphql", html, "")
			if isPage := strings.HasPrefix(h.Get("Content-Type"), "text/html"); isPage != playground || playground && code != 200 {
				t.Fatalf("the page without a query: %d %s", code, h.Get("Content-Type"))
			}
		})
	}
}
