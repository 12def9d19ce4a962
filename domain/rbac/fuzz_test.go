package rbac_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/rustok/rustok/domain/rbac"
)

func FuzzParsePermission(f *testing.F) {
	for _, s := range []string{
		"", ":", "products:read", " PRODUCTS:Read ", "forum_categories:moderate", "products:read:x",
		"tenants:manage", "\u212Aey:read", "products:\xff", strings.Repeat("x", 65), "blog_posts : publish",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := rbac.ParsePermission(s)
		if err != nil {
			if p != (rbac.Permission{}) || !errors.Is(err, rbac.ErrInvalidPermission) {
				t.Fatalf("ParsePermission(%q) = %v, %v", s, p, err)
			}
			return
		}
		if !p.Valid() {
			t.Fatalf("ParsePermission(%q) = %v: not valid", s, p)
		}
		str := p.String()
		if strings.Count(str, ":") != 1 || strings.ToLower(str) != str || !strings.EqualFold(strings.TrimSpace(s), str) {
			t.Fatalf("ParsePermission(%q) = %q: not the canonical form of the input", s, str)
		}
		if again, err := rbac.ParsePermission(str); err != nil || again != p {
			t.Fatalf("ParsePermission(%q) = %v, %v; not a fixed point of %v", str, again, err, p)
		}
		// Check never panics and super_admin holds every valid permission.
		a, _ := rbac.UserActor("u", rbac.RoleSuperAdmin)
		if err := rbac.Check(a, p, ""); err != nil {
			t.Fatalf("super_admin denied %v: %v", p, err)
		}
	})
}
