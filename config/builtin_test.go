package config

import (
	"reflect"
	"slices"
	"testing"

	"github.com/knadh/koanf/providers/structs"
	"github.com/knadh/koanf/v2"
)

// TestBuiltinDevelopmentIsTheDefaults keeps the embedded development.yaml and
// Default() from drifting: the file lists every key of Config (it is the
// documented reference), and its values are Default()'s, key by key. The
// test is internal because the embedded file is the point.
func TestBuiltinDevelopmentIsTheDefaults(t *testing.T) {
	t.Parallel()
	raw, err := builtinFiles.ReadFile("development.yaml")
	if err != nil {
		t.Fatal(err)
	}
	settings, err := parseYAML(raw, "development.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var fileKeys []string // sorted, as parseYAML returns them
	for _, s := range settings {
		fileKeys = append(fileKeys, s.key)
	}
	fromStruct := koanf.New(".")
	if err := fromStruct.Load(structs.Provider(Default(), tagName), nil); err != nil {
		t.Fatal(err)
	}
	if got, want := fileKeys, fromStruct.Keys(); !slices.Equal(got, want) {
		t.Errorf("built-in development.yaml keys:\n got %q\nwant %q", got, want)
	}

	// Every key is in the file, so the loaded values are the file's: they
	// must be Default()'s, and no key may count as changed by the file.
	cfg, sources, err := LoadWithSources("", EnvDevelopment, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := flatten(Default())
	for key, value := range flatten(cfg) {
		if !reflect.DeepEqual(value, want[key]) {
			t.Errorf("development.yaml %s = %#v, Default() has %#v", key, value, want[key])
		}
		if sources[key] != SourceDefault {
			t.Errorf("source of %s = %q, want %q", key, sources[key], SourceDefault)
		}
	}
	if cfg.Auth.JWT.Secret != Default().Auth.JWT.Secret {
		t.Error("development.yaml auth.jwt.secret differs from Default()")
	}
}

// TestBuiltinFilesLoad: every embedded file holds only known keys of the
// right types; production needs its two required keys.
func TestBuiltinFilesLoad(t *testing.T) {
	t.Parallel()
	tests := []struct {
		env     string
		environ []string
	}{
		{EnvDevelopment, nil},
		{EnvTest, nil},
		{EnvProduction, []string{"RUSTOK_JWT_SECRET=3q2+7wmT0cZk1xYhVb8nLrA5uEjP9sGdKfX4iQoN6ea=", "DATABASE_URL=sqlite:///srv/rustok.db"}},
	}
	for _, tc := range tests {
		t.Run(tc.env, func(t *testing.T) {
			t.Parallel()
			settings, err := readBuiltin(tc.env)
			if err != nil || len(settings) == 0 {
				t.Fatalf("readBuiltin(%s) = %d settings, %v; want some", tc.env, len(settings), err)
			}
			if _, err := Load("", tc.env, tc.environ); err != nil {
				t.Fatalf("Load(%s) with the built-in file only: %v", tc.env, err)
			}
		})
	}
}
