package module_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/module"
)

func mustBuiltin(tb testing.TB) *module.Registry {
	tb.Helper()
	r, err := module.NewRegistry(module.Builtin()...)
	if err != nil {
		tb.Fatalf("NewRegistry(Builtin()) = %v", err)
	}
	return r
}

func core(slug string, deps ...string) module.Descriptor {
	return module.Descriptor{Slug: slug, Name: slug, Version: "1.0.0", Kind: module.KindCore, Dependencies: deps}
}

func optional(slug string, deps ...string) module.Descriptor {
	return module.Descriptor{Slug: slug, Name: slug, Version: "1.0.0", Kind: module.KindOptional, Dependencies: deps}
}

func TestNewRegistry(t *testing.T) {
	tests := []struct {
		name    string
		given   []module.Descriptor
		wantErr []error // every listed error must match; nil means success
	}{
		{name: "empty registry is valid", given: nil},
		{name: "core may depend on core", given: []module.Descriptor{core("a"), core("b", "a"), optional("c", "b")}},
		{name: "optional may depend on optional", given: []module.Descriptor{optional("a"), optional("b", "a")}},
		{name: "duplicate slug is rejected", given: []module.Descriptor{optional("a"), optional("a")}, wantErr: []error{module.ErrDuplicateModule}},
		{name: "empty slug is rejected", given: []module.Descriptor{optional("")}, wantErr: []error{module.ErrInvalidDescriptor}},
		{name: "unknown kind is rejected", given: []module.Descriptor{{Slug: "a", Kind: "SOMETIMES"}}, wantErr: []error{module.ErrInvalidDescriptor}},
		{name: "unknown dependency is rejected", given: []module.Descriptor{optional("a", "ghost")}, wantErr: []error{module.ErrUnknownDependency}},
		{name: "self dependency is a cycle", given: []module.Descriptor{optional("a", "a")}, wantErr: []error{module.ErrDependencyCycle}},
		{name: "two-module cycle is rejected", given: []module.Descriptor{optional("a", "b"), optional("b", "a")}, wantErr: []error{module.ErrDependencyCycle}},
		{name: "long cycle is rejected", given: []module.Descriptor{optional("a", "b"), optional("b", "c"), optional("c", "d"), optional("d", "b")}, wantErr: []error{module.ErrDependencyCycle}},
		{name: "core depending on optional is rejected", given: []module.Descriptor{optional("a"), core("b", "a")}, wantErr: []error{module.ErrCoreDependsOnOptional}},
		{
			name:    "every problem is reported at once",
			given:   []module.Descriptor{optional("a"), optional("a"), optional("b", "ghost"), core("c", "a")},
			wantErr: []error{module.ErrDuplicateModule, module.ErrUnknownDependency, module.ErrCoreDependsOnOptional},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := module.NewRegistry(tc.given...)
			if tc.wantErr == nil {
				if err != nil || r == nil {
					t.Fatalf("NewRegistry = %v, %v; want a registry", r, err)
				}
				return
			}
			if err == nil {
				t.Fatal("NewRegistry succeeded, want an error")
			}
			for _, want := range tc.wantErr {
				if !errors.Is(err, want) {
					t.Errorf("error %q does not match %q", err, want)
				}
			}
			if domain.CodeOf(err) != domain.CodeInternal {
				t.Errorf("a bad registry is a programming error, got code %s", domain.CodeOf(err))
			}
		})
	}
}

func TestNewRegistryCopiesItsInput(t *testing.T) {
	ds := []module.Descriptor{optional("a"), optional("b", "a")}
	r, err := module.NewRegistry(ds...)
	if err != nil {
		t.Fatal(err)
	}
	ds[1].Dependencies[0] = "changed"
	got := r.All()
	got[1].Dependencies[0] = "changed too"
	if d, _ := r.Get("b"); !slices.Equal(d.Dependencies, []string{"a"}) {
		t.Errorf("registry changed through its input or output: %v", d.Dependencies)
	}
}

func TestBuiltinMakesAValidRegistry(t *testing.T) {
	r := mustBuiltin(t)
	var slugs []string
	for _, d := range r.All() {
		slugs = append(slugs, d.Slug)
		if d.Name == "" || d.Description == "" || d.Version != "1.0.0" {
			t.Errorf("module %s: name %q, description %q, version %q", d.Slug, d.Name, d.Description, d.Version)
		}
	}
	wantOrder := []string{"tenant", "rbac", "index", "content", "commerce", "blog", "forum", "pages", "alloy"}
	if !slices.Equal(slugs, wantOrder) {
		t.Errorf("All() order = %v, want %v", slugs, wantOrder)
	}
	if got := r.CoreSlugs(); !slices.Equal(got, []string{"tenant", "rbac", "index"}) {
		t.Errorf("CoreSlugs() = %v", got)
	}
	for slug, deps := range map[string][]string{"blog": {"content"}, "forum": {"content"}, "content": nil, "alloy": nil} {
		d, ok := r.Get(slug)
		if !ok || d.Kind != module.KindOptional || !slices.Equal(d.Dependencies, deps) {
			t.Errorf("Get(%q) = %+v, %v; want optional with dependencies %v", slug, d, ok, deps)
		}
	}
	if err := r.ValidateDefaults(module.Defaults()); err != nil {
		t.Errorf("default modules content, commerce, pages do not validate: %v", err)
	}
	if got := module.Defaults(); !slices.Equal(got, []string{"content", "commerce", "pages"}) {
		t.Errorf("Defaults() = %v", got)
	}
}

func TestGetAndIsCore(t *testing.T) {
	r := mustBuiltin(t)
	tests := []struct {
		slug      string
		wantFound bool
		wantCore  bool
	}{
		{"tenant", true, true},
		{"rbac", true, true},
		{"index", true, true},
		{"content", true, false},
		{"blog", true, false},
		{"shop", false, false},
		{"", false, false},
		{"Tenant", false, false},
	}
	for _, tc := range tests {
		t.Run(tc.slug, func(t *testing.T) {
			if _, ok := r.Get(tc.slug); ok != tc.wantFound {
				t.Errorf("Get found = %v, want %v", ok, tc.wantFound)
			}
			if got := r.IsCore(tc.slug); got != tc.wantCore {
				t.Errorf("IsCore = %v, want %v", got, tc.wantCore)
			}
		})
	}
}

func TestCheckToggle(t *testing.T) {
	r := mustBuiltin(t)
	tests := []struct {
		name     string
		enabled  []string
		slug     string
		enable   bool
		wantNoop bool
		wantErr  error
		wantCode domain.Code
		wantMsg  string
	}{
		{name: "unknown slug is bad input naming the slug", slug: "shop", enable: true, wantErr: module.ErrUnknownModule, wantCode: domain.CodeBadInput, wantMsg: `unknown module "shop"`},
		{name: "unknown slug is refused when disabling too", slug: "shop", enable: false, wantErr: module.ErrUnknownModule, wantCode: domain.CodeBadInput},
		{name: "core module cannot be disabled", slug: "rbac", enable: false, wantErr: module.ErrCoreModule, wantCode: domain.CodeBadInput, wantMsg: "core modules cannot be disabled"},
		{name: "enabling a core module is a no-op", slug: "tenant", enable: true, wantNoop: true},
		{name: "enabling without its dependency is a conflict naming the dependency", enabled: []string{"commerce"}, slug: "blog", enable: true, wantErr: module.ErrMissingDependency, wantCode: domain.CodeConflict, wantMsg: "module blog needs content enabled"},
		{name: "enabling with its dependency enabled is allowed", enabled: []string{"content"}, slug: "forum", enable: true},
		{name: "enabling a module without dependencies is allowed", slug: "alloy", enable: true},
		{name: "disabling while a dependent is enabled is a conflict naming the dependent", enabled: []string{"content", "blog"}, slug: "content", enable: false, wantErr: module.ErrDependentEnabled, wantCode: domain.CodeConflict, wantMsg: "module content is needed by blog"},
		{name: "first dependent in registry order is named", enabled: []string{"forum", "content", "blog"}, slug: "content", enable: false, wantErr: module.ErrDependentEnabled, wantMsg: "module content is needed by blog"},
		{name: "disabling once dependents are off is allowed", enabled: []string{"content", "pages"}, slug: "content", enable: false},
		{name: "disabling a dependent is allowed", enabled: []string{"content", "blog"}, slug: "blog", enable: false},
		{name: "enabling an enabled module is a no-op", enabled: []string{"content"}, slug: "content", enable: true, wantNoop: true},
		{name: "disabling a disabled module is a no-op", enabled: []string{"content"}, slug: "pages", enable: false, wantNoop: true},
		{name: "disabling a disabled module with a missing dependency is still a no-op", slug: "blog", enable: false, wantNoop: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			noop, err := r.CheckToggle(tc.enabled, tc.slug, tc.enable)
			if noop != tc.wantNoop {
				t.Errorf("noop = %v, want %v", noop, tc.wantNoop)
			}
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("err = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if tc.wantCode != "" && domain.CodeOf(err) != tc.wantCode {
				t.Errorf("code = %s, want %s", domain.CodeOf(err), tc.wantCode)
			}
			if tc.wantMsg != "" && domain.MessageOf(err) != tc.wantMsg {
				t.Errorf("message = %q, want %q", domain.MessageOf(err), tc.wantMsg)
			}
		})
	}
}

func TestUnknownModuleErrorKeepsTheSlug(t *testing.T) {
	r := mustBuiltin(t)
	_, err := r.CheckToggle(nil, "shop", true)
	var u *module.UnknownModuleError
	if !errors.As(err, &u) || u.Slug != "shop" {
		t.Fatalf("errors.As(%v) = %v, slug %q", err, u, u.Slug)
	}
	if got := err.Error(); got != `unknown module "shop"` {
		t.Errorf("Error() = %q", got)
	}
	long := string(make([]byte, 10_000))
	_, err = r.CheckToggle(nil, long, true)
	if n := len(domain.MessageOf(err)); n > 400 {
		t.Errorf("message echoes %d bytes of client input", n)
	}
}

func TestEffective(t *testing.T) {
	r := mustBuiltin(t)
	tests := []struct {
		name    string
		enabled []string
		want    []string
	}{
		{name: "no optional modules gives the core ones", want: []string{"tenant", "rbac", "index"}},
		{name: "optional modules come in registry order", enabled: []string{"pages", "blog", "content"}, want: []string{"tenant", "rbac", "index", "content", "blog", "pages"}},
		{name: "unknown and duplicate slugs are left out", enabled: []string{"shop", "pages", "pages", "tenant"}, want: []string{"tenant", "rbac", "index", "pages"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := r.Effective(tc.enabled); !slices.Equal(got, tc.want) {
				t.Errorf("Effective(%v) = %v, want %v", tc.enabled, got, tc.want)
			}
		})
	}
}

func TestValidateDefaults(t *testing.T) {
	r := mustBuiltin(t)
	tests := []struct {
		name    string
		given   []string
		wantErr []error
	}{
		{name: "content, commerce and pages are valid defaults", given: []string{"content", "commerce", "pages"}},
		{name: "no defaults is valid", given: nil},
		{name: "a dependency within the set is satisfied", given: []string{"blog", "content", "forum"}},
		{name: "unknown module is refused", given: []string{"content", "shop"}, wantErr: []error{module.ErrUnknownModule}},
		{name: "core module is refused", given: []string{"tenant"}, wantErr: []error{module.ErrCoreModule}},
		{name: "missing dependency is refused", given: []string{"blog"}, wantErr: []error{module.ErrMissingDependency}},
		{name: "every problem is reported", given: []string{"shop", "rbac", "forum"}, wantErr: []error{module.ErrUnknownModule, module.ErrCoreModule, module.ErrMissingDependency}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := r.ValidateDefaults(tc.given)
			if tc.wantErr == nil && err != nil {
				t.Fatalf("ValidateDefaults(%v) = %v, want nil", tc.given, err)
			}
			for _, want := range tc.wantErr {
				if !errors.Is(err, want) {
					t.Errorf("ValidateDefaults(%v) = %v, want it to match %v", tc.given, err, want)
				}
			}
		})
	}
}
