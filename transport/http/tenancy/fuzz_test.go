package tenancy_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/rustok/rustok/domain/tenant"
	"github.com/rustok/rustok/platform/tenantcache"
	"github.com/rustok/rustok/transport/http/tenancy"
)

// FuzzMiddlewareHeader: no header value makes the middleware panic; a request
// succeeds only after the resolver was called once with a valid, normalized
// id or slug key, and is otherwise a 400 without any resolver call.
func FuzzMiddlewareHeader(f *testing.F) {
	for _, seed := range []string{
		"acme", "ACME", " acme ", acmeID, strings.ToUpper(acmeID), "", "   ", "admin", "../etc",
		"acmé", "\u212Aelvin", "a-", "-a", "a.b", strings.Repeat("a", 63), strings.Repeat("a", 64),
		strings.Repeat("x", 1000), "\x00", "acme\r\nX-Evil: 1", "0190b6a4-0000-7000-8000-00000000000g",
	} {
		f.Add(seed)
	}
	r := &fakeResolver{anyKey: true}
	e := newEcho(f, tenancy.Config{Enabled: true}, r)
	f.Fuzz(func(t *testing.T, value string) {
		r.reset()
		got := do(t, e, request{header: http.Header{"X-Tenant-ID": {value}}})
		calls := r.calls()
		switch got.status {
		case http.StatusOK:
			if len(calls) != 1 {
				t.Fatalf("200 after %d resolver calls, want 1", len(calls))
			}
			if !validKey(calls[0]) {
				t.Fatalf("200 after resolving invalid key %q from %q", calls[0], value)
			}
			if got.slug != calls[0].Value {
				t.Fatalf("resolved tenant %q, resolver was asked for %q", got.slug, calls[0].Value)
			}
		case http.StatusBadRequest:
			if len(calls) != 0 {
				t.Fatalf("400 after resolver calls %v", calls)
			}
		default:
			t.Fatalf("status %d (%+v) for %q, want 200 or 400", got.status, got, value)
		}
	})
}

// validKey reports whether k is a normalized id or slug, as the header may
// name a tenant.
func validKey(k tenantcache.Key) bool {
	switch k.Kind {
	case tenantcache.KindID:
		return tenant.IsUUID(k.Value)
	case tenantcache.KindSlug:
		slug, err := tenant.NormalizeSlug(k.Value)
		return err == nil && slug == k.Value && !tenant.IsUUID(slug)
	}
	return false
}
