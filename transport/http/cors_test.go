package httpserver_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	httpserver "github.com/rustok/rustok/transport/http"
)

func newCORSServer(t *testing.T, cors httpserver.CORS) http.Handler {
	t.Helper()
	srv, err := httpserver.New(httpserver.Config{CORS: cors}, httpserver.Deps{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv.API().POST("/thing", func(c echo.Context) error { return c.JSON(200, map[string]string{"ok": "yes"}) })
	return srv.Echo()
}

func TestCORS(t *testing.T) {
	t.Parallel()
	tenantDomains := map[string]bool{"shop.example.com": true}
	var asked []string
	h := newCORSServer(t, httpserver.CORS{
		AllowedOrigins: []string{"https://admin.example.com", "http://localhost:3000", "https://*.apps.example.net"},
		AllowHeaders:   []string{"X-Tenant-ID"},
		AllowOrigin: func(_ context.Context, origin *url.URL) bool {
			asked = append(asked, origin.String())
			return tenantDomains[origin.Hostname()]
		},
	})
	preflight := func(origin string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodOptions, "/api/thing", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type,x-tenant-id")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	actual := func(origin string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/api/thing", strings.NewReader(`{}`))
		req.Header.Set("Origin", origin)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	tests := []struct {
		origin  string
		allowed bool
	}{
		{"https://admin.example.com", true},
		{"http://localhost:3000", true},
		{"https://a.apps.example.net", true},
		{"https://b.c.apps.example.net", true},
		{"https://shop.example.com", true}, // a tenant's domain
		{"https://apps.example.net", false},
		{"http://admin.example.com", false}, // another scheme
		{"https://admin.example.com:8443", false},
		{"http://localhost:3001", false},
		{"https://evil.example.com", false},
		{"https://admin.example.com.evil.net", false},
		{"null", false},
		{"https://admin.example.com/path", false},
		{"javascript:alert(1)", false},
	}
	for _, tc := range tests {
		t.Run(tc.origin, func(t *testing.T) {
			rec := preflight(tc.origin)
			if rec.Code != http.StatusNoContent {
				t.Fatalf("preflight: %d", rec.Code)
			}
			acao := rec.Header().Get("Access-Control-Allow-Origin")
			if tc.allowed {
				if acao != tc.origin || rec.Header().Get("Access-Control-Allow-Credentials") != "true" ||
					!strings.Contains(rec.Header().Get("Access-Control-Allow-Headers"), "X-Tenant-ID") ||
					!strings.Contains(rec.Header().Get("Access-Control-Allow-Methods"), "POST") ||
					rec.Header().Get("Access-Control-Max-Age") != "600" {
					t.Fatalf("preflight of an allowed origin: %v", rec.Header())
				}
			} else if acao != "" || rec.Header().Get("Access-Control-Allow-Credentials") != "" {
				t.Fatalf("preflight of a refused origin got permission: %v", rec.Header())
			}
			rec = actual(tc.origin)
			acao = rec.Header().Get("Access-Control-Allow-Origin")
			if tc.allowed != (acao == tc.origin) || !strings.Contains(strings.Join(rec.Header().Values("Vary"), ","), "Origin") {
				t.Fatalf("request: ACAO %q, Vary %q", acao, rec.Header().Values("Vary"))
			}
			if tc.allowed && !strings.Contains(rec.Header().Get("Access-Control-Expose-Headers"), "X-Request-ID") {
				t.Fatalf("exposed headers %q", rec.Header().Get("Access-Control-Expose-Headers"))
			}
		})
	}
	for _, a := range asked {
		if strings.Contains(a, "admin.example.com") && !strings.Contains(a, "evil") && !strings.Contains(a, ":8443") && !strings.HasPrefix(a, "http:") {
			t.Errorf("an origin of the configuration was looked up: %s", a)
		}
	}
	t.Run("an OPTIONS that is no preflight reaches its route", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodOptions, "/api/thing", nil)
		req.Header.Set("Origin", "https://admin.example.com")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Header().Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("CORS answered a plain OPTIONS: %v", rec.Header())
		}
	})
}

func TestCORSRefusesBadConfiguration(t *testing.T) {
	t.Parallel()
	for _, o := range []string{"*", "https://example.com/x", "example.com", "https://a.*.example.com"} {
		if _, err := httpserver.New(httpserver.Config{CORS: httpserver.CORS{AllowedOrigins: []string{o}}}, httpserver.Deps{}); err == nil || !strings.Contains(err.Error(), o) {
			t.Errorf("origin %q: %v", o, err)
		}
	}
}
