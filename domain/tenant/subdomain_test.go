package tenant_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/tenant"
)

func mustBases(tb testing.TB, hosts ...string) tenant.BaseDomains {
	tb.Helper()
	b, err := tenant.NewBaseDomains(hosts)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestNewBaseDomains(t *testing.T) {
	tests := []struct {
		name    string
		in      []string
		want    []string
		wantErr error
	}{
		{name: "base domains are normalized", in: []string{"Example.COM.", "localhost:8080"}, want: []string{"example.com", "localhost"}},
		{name: "duplicates are dropped, first kept", in: []string{"localhost", "example.com", "LOCALHOST"}, want: []string{"localhost", "example.com"}},
		{name: "none is no base domain", in: nil, want: []string{}},
		{name: "an invalid base domain is refused", in: []string{"localhost", "a..b"}, wantErr: tenant.ErrInvalidHost},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tenant.NewBaseDomains(tc.in)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("error = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got.Hosts(), tc.want) {
				t.Fatalf("NewBaseDomains(%q) = %q, %v; want %q", tc.in, got.Hosts(), err, tc.want)
			}
		})
	}
}

// TestBaseDomainsSlugOf pins SlugOf to the reading of the tenancy middleware
// in subdomain mode: a host is a slug when it is one label under the longest
// matching base domain and that label is a valid slug; otherwise it is looked
// up as a domain.
func TestBaseDomainsSlugOf(t *testing.T) {
	bases := mustBases(t, "localhost", "example.com", "shop.example.com")
	tests := []struct {
		name     string
		host     string
		wantSlug string
		wantBase string
		wantOK   bool
	}{
		{name: "one label under a base is a slug", host: "dave.localhost", wantSlug: "dave", wantBase: "localhost", wantOK: true},
		{name: "the longest base decides", host: "dave.shop.example.com", wantSlug: "dave", wantBase: "shop.example.com", wantOK: true},
		{name: "a UUID-shaped label is read as a slug too", host: "0b9e6a3c-5d1f-4c2a-9e8b-7f6a5d4c3b2a.localhost",
			wantSlug: "0b9e6a3c-5d1f-4c2a-9e8b-7f6a5d4c3b2a", wantBase: "localhost", wantOK: true},
		{name: "a reserved label is a domain", host: "www.localhost"},
		{name: "two labels under a base are a domain", host: "a.dave.localhost"},
		{name: "a base domain itself is a domain", host: "localhost"},
		{name: "a base domain under another base is a domain", host: "shop.example.com"},
		{name: "a host outside every base is a domain", host: "dave.example.org"},
		{name: "a suffix that is no label boundary is a domain", host: "davelocalhost"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			slug, base, ok := bases.SlugOf(tc.host)
			if slug != tc.wantSlug || base != tc.wantBase || ok != tc.wantOK {
				t.Errorf("SlugOf(%q) = %q, %q, %v; want %q, %q, %v", tc.host, slug, base, ok, tc.wantSlug, tc.wantBase, tc.wantOK)
			}
		})
	}
	if _, _, ok := (tenant.BaseDomains{}).SlugOf("dave.localhost"); ok {
		t.Error("without base domains no host is a slug")
	}
}

func TestBaseDomainsSubdomains(t *testing.T) {
	long := strings.Repeat("a", 63)
	longBase := strings.Join([]string{long, long, long}, ".") // 191 bytes
	tests := []struct {
		name  string
		bases []string
		slug  string
		want  []string
	}{
		{name: "one subdomain per base, in configuration order", bases: []string{"localhost", "example.com"}, slug: "dave",
			want: []string{"dave.localhost", "dave.example.com"}},
		{name: "no base domains, no subdomains", slug: "dave"},
		{name: "a name that is itself a base domain is no subdomain", bases: []string{"example.com", "shop.example.com"}, slug: "shop",
			want: []string{"shop.shop.example.com"}},
		{name: "a slug ending in '-' has no subdomain (no host label ends so)", bases: []string{"localhost"}, slug: "dave-"},
		{name: "a name longer than a host name is no subdomain", bases: []string{"localhost", longBase}, slug: long,
			want: []string{long + ".localhost"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := mustBases(t, tc.bases...).Subdomains(tc.slug)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Subdomains(%q) under %q = %q, want %q", tc.slug, tc.bases, got, tc.want)
			}
		})
	}
}

func TestBaseDomainsCheckDomain(t *testing.T) {
	bases := []string{"localhost", "example.com", "shop.example.com"}
	tests := []struct {
		name  string
		bases []string
		host  string
		slug  string // of the tenant that would have the domain
		// wantSlug and wantBase are the collision's; "" means no error.
		wantSlug string
		wantBase string
	}{
		{name: "another slug under a base is refused", bases: bases, host: "dave.localhost", slug: "acme", wantSlug: "dave", wantBase: "localhost"},
		{name: "the longest base names the collision", bases: bases, host: "dave.shop.example.com", slug: "acme", wantSlug: "dave", wantBase: "shop.example.com"},
		{name: "a UUID-shaped label is refused (resolution would never reach the domain)", bases: bases,
			host: "0b9e6a3c-5d1f-4c2a-9e8b-7f6a5d4c3b2a.example.com", slug: "acme", wantSlug: "0b9e6a3c-5d1f-4c2a-9e8b-7f6a5d4c3b2a", wantBase: "example.com"},
		{name: "the tenant's own slug subdomain is allowed", bases: bases, host: "demo.localhost", slug: "demo"},
		{name: "a reserved label is allowed", bases: bases, host: "www.example.com", slug: "acme"},
		{name: "two labels under a base are allowed", bases: bases, host: "www.dave.localhost", slug: "acme"},
		{name: "a base domain itself is allowed", bases: bases, host: "shop.example.com", slug: "acme"},
		{name: "a domain outside every base is allowed", bases: bases, host: "dave.example.org", slug: "acme"},
		{name: "without base domains every domain is allowed", host: "dave.localhost", slug: "acme"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := mustBases(t, tc.bases...).CheckDomain(tc.host, tc.slug)
			if tc.wantSlug == "" {
				if err != nil {
					t.Fatalf("CheckDomain(%q, %q) = %v, want nil", tc.host, tc.slug, err)
				}
				return
			}
			var c *tenant.CollisionError
			if !errors.As(err, &c) || c.Domain != tc.host || c.Slug != tc.wantSlug || c.Base != tc.wantBase || c.Cause != nil {
				t.Fatalf("CheckDomain(%q, %q) = %#v, want a collision of slug %q under %q", tc.host, tc.slug, err, tc.wantSlug, tc.wantBase)
			}
			if !errors.Is(err, tenant.ErrDomainUnderBase) || errors.Is(err, tenant.ErrSlugSubdomainTaken) {
				t.Errorf("error %v does not match ErrDomainUnderBase alone", err)
			}
			if domain.CodeOf(err) != domain.CodeBadInput || domain.FieldOf(err) != "domains" {
				t.Errorf("code %s field %q, want BAD_USER_INPUT on domains", domain.CodeOf(err), domain.FieldOf(err))
			}
			want := fmt.Sprintf("domain %q is refused: under the base domain %q it names the tenant slug %q, and only the tenant with that slug may use it",
				tc.host, tc.wantBase, tc.wantSlug)
			if err.Error() != want || domain.MessageOf(err) != want {
				t.Errorf("message = %q / %q, want the one sentence %q", err.Error(), domain.MessageOf(err), want)
			}
		})
	}
}

func TestBaseDomainsSubdomainTaken(t *testing.T) {
	bases := mustBases(t, "localhost", "example.com")
	cause := errors.New("tenant.domain \"dave.localhost\" is already taken")
	tests := []struct {
		name     string
		slug     string
		host     string
		wantBase string // "" means not the slug's subdomain
	}{
		{name: "the slug's subdomain is the slug's collision", slug: "dave", host: "dave.localhost", wantBase: "localhost"},
		{name: "under any base", slug: "dave", host: "dave.example.com", wantBase: "example.com"},
		{name: "another slug's subdomain is not", slug: "dave", host: "eve.localhost"},
		{name: "an ordinary domain is not", slug: "dave", host: "dave.example.org"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err, ok := bases.SubdomainTaken(tc.slug, tc.host, cause)
			if tc.wantBase == "" {
				if ok || err != nil {
					t.Fatalf("SubdomainTaken(%q, %q) = %v, %v; want nil, false", tc.slug, tc.host, err, ok)
				}
				return
			}
			var c *tenant.CollisionError
			if !ok || !errors.As(err, &c) || c.Slug != tc.slug || c.Domain != tc.host || c.Base != tc.wantBase {
				t.Fatalf("SubdomainTaken(%q, %q) = %#v, %v", tc.slug, tc.host, err, ok)
			}
			if !errors.Is(err, tenant.ErrSlugSubdomainTaken) || !errors.Is(err, cause) || errors.Is(err, tenant.ErrDomainUnderBase) {
				t.Errorf("error %v must match ErrSlugSubdomainTaken and its cause only", err)
			}
			if domain.CodeOf(err) != domain.CodeConflict || domain.FieldOf(err) != "slug" {
				t.Errorf("code %s field %q, want CONFLICT on slug", domain.CodeOf(err), domain.FieldOf(err))
			}
			want := fmt.Sprintf("slug %q is refused: its subdomain %q under the base domain %q is already a domain of another tenant", tc.slug, tc.host, tc.wantBase)
			if err.Error() != want || domain.MessageOf(err) != want {
				t.Errorf("message = %q / %q, want the one sentence %q", err.Error(), domain.MessageOf(err), want)
			}
		})
	}
}

// FuzzSlugsAndDomainsCannotCollide checks the two directions of the rule
// against each other: every host a slug reserves is read as that slug, is a
// fine domain for its own tenant and is refused to any other; and any host
// that CheckDomain lets another tenant have is none of the slug's.
func FuzzSlugsAndDomainsCannotCollide(f *testing.F) {
	f.Add("dave", "acme", "dave.localhost", "localhost", "shop.example.com")
	f.Add("shop", "acme", "shop.example.com", "example.com", "shop.example.com")
	f.Add("a", "b", "www.a.localhost", "a.localhost", "localhost")
	f.Fuzz(func(t *testing.T, slug, other, host, base1, base2 string) {
		bases, err := tenant.NewBaseDomains([]string{base1, base2})
		if err != nil {
			return
		}
		slug, err = tenant.NormalizeSlug(slug)
		if err != nil {
			return
		}
		if other, err = tenant.NormalizeSlug(other); err != nil || other == slug {
			return
		}
		for _, h := range bases.Subdomains(slug) {
			if n, err := tenant.NormalizeHost(h); err != nil || n != h {
				t.Fatalf("subdomain %q of %q is no normalized host", h, slug)
			}
			if s, _, ok := bases.SlugOf(h); !ok || s != slug {
				t.Fatalf("subdomain %q of %q reads as %q, %v", h, slug, s, ok)
			}
			if err := bases.CheckDomain(h, slug); err != nil {
				t.Fatalf("own subdomain %q refused to %q: %v", h, slug, err)
			}
			if err := bases.CheckDomain(h, other); !errors.Is(err, tenant.ErrDomainUnderBase) {
				t.Fatalf("subdomain %q of %q allowed to %q", h, slug, other)
			}
		}
		host, err = tenant.NormalizeHost(host)
		if err != nil {
			return
		}
		if bases.CheckDomain(host, other) == nil {
			if s, _, ok := bases.SlugOf(host); ok && s != other {
				t.Fatalf("%q allowed to %q though it reads as %q", host, other, s)
			}
		}
	})
}
