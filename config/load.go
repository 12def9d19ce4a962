package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/go-viper/mapstructure/v2"
	"github.com/knadh/koanf/maps"
	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/providers/structs"
	"github.com/knadh/koanf/v2"
)

const (
	// tagName is the struct tag that names each key of Config.
	tagName = "koanf"
	// envPrefix starts every environment variable that sets a key.
	envPrefix = "RUSTOK_"
)

// Load returns the configuration of environment env: the defaults of env,
// the built-in <env>.yaml, the file dir/<env>.yaml when it exists, then the
// environment variables in environ (KEY=value strings, os.Environ() in
// production; Load never reads the process environment itself), then it runs
// Validate. See the package documentation for the layers.
//
// With an empty dir no file is read: built-in defaults and environment only. A
// dir that exists but has no <env>.yaml is the same (nothing to override); a
// dir that does not exist is an error naming it, matching fs.ErrNotExist.
// When env is production, the defaults have no JWT secret (it must come from
// RUSTOK_JWT_SECRET or auth.jwt.secret) and no database URL (DATABASE_URL or
// database.url), no playground or introspection, and info-level JSON logs.
//
// On any problem Load returns the zero Config and an error joining every
// problem found (errors.Join): a missing configuration directory or an
// unreadable file (naming its path), malformed YAML (naming the file and
// line), an unknown key in the file or in a RUSTOK_ variable, a value of the
// wrong type, and whatever Validate refuses. Validate runs only once every key
// is known and every value has the right type, so that it never reports a
// value that was not read. Each problem names the key and, where known, the
// file or variable that set it.
//
// Every RUSTOK_ variable must name a key, except RUSTOK_ENV, RUSTOK_CONFIG,
// RUSTOK_TEST_POSTGRES_URL and RUSTOK_SEED_PASSWORD, which are read elsewhere
// and ignored here, and the shorthand RUSTOK_JWT_SECRET. Load keeps no state
// and is safe for concurrent use.
func Load(dir, env string, environ []string) (Config, error) {
	cfg, _, err := LoadWithSources(dir, env, environ)
	return cfg, err
}

// SourceDefault is the source of a key whose value is the default: set in code
// (Default) and left unchanged by the built-in file of the environment.
const SourceDefault = "default"

// Sources says, for every leaf key of Config ("server.port"), where its value
// came from: SourceDefault, "built-in <env>.yaml" (the file embedded in the
// binary changed the default), the path of the configuration file that set
// it, or "environment variable NAME".
type Sources map[string]string

// LoadWithSources is Load that also returns the source of every leaf key's
// value. The Config and the errors are exactly Load's; on error the Sources
// are nil.
func LoadWithSources(dir, env string, environ []string) (Config, Sources, error) {
	defaults := defaultsFor(env)
	k := koanf.New(".")
	if err := k.Load(structs.Provider(defaults, tagName), nil); err != nil {
		return Config{}, nil, fmt.Errorf("load defaults: %w", err)
	}
	keys := newSchema(k.Keys())
	sources := make(Sources, len(keys.leaves))
	for key := range keys.leaves {
		sources[key] = SourceDefault
	}

	// The built-in file is a layer of defaults: its keys count as set only
	// where they change the value of the code defaults.
	if err := mergeBuiltin(k, defaults, env, keys, sources); err != nil {
		return Config{}, nil, err
	}

	var settings []setting
	if dir != "" {
		fromFile, err := readDirFile(dir, env)
		if err != nil {
			return Config{}, nil, errors.Join(checkEnv(env), err)
		}
		settings = append(settings, fromFile...)
	}
	shorthands, err := shorthandSettings(environ)
	if err != nil {
		return Config{}, nil, err
	}
	prefixed, err := prefixedSettings(environ)
	if err != nil {
		return Config{}, nil, err
	}
	settings = append(settings, shorthands...)
	settings = append(settings, prefixed...)

	// Later settings win: file, then shorthands, then RUSTOK_ variables.
	overrides, problems := overridesOf(settings, keys, sources)
	if err := k.Load(confmap.Provider(overrides, "."), nil); err != nil {
		return Config{}, nil, fmt.Errorf("merge configuration: %w", err)
	}
	origin := make(map[string]string) // key → the file or variable that set it
	for key, source := range sources {
		if source != SourceDefault {
			origin[key] = source
		}
	}

	cfg, err := decode(k)
	if err != nil {
		problems = append(problems, decodeProblems(err, origin, k)...)
	}
	if len(problems) > 0 {
		return Config{}, nil, errors.Join(problems...)
	}

	cfg.Env = env
	if err := cfg.Validate(); err != nil {
		return Config{}, nil, withSources(err, origin)
	}
	return cfg, sources, nil
}

// mergeBuiltin merges the built-in <env>.yaml into k, which holds defaults,
// and records as its source, in sources, every key whose value it changes. A
// problem in the built-in file (a bug of this package, which its tests
// prevent) is returned like one in any file.
func mergeBuiltin(k *koanf.Koanf, defaults Config, env string, keys schema, sources Sources) error {
	settings, err := readBuiltin(env)
	if err != nil {
		return err
	}
	overrides, problems := overridesOf(settings, keys, nil)
	if len(problems) > 0 {
		return errors.Join(problems...)
	}
	if len(overrides) == 0 {
		return nil
	}
	if err := k.Load(confmap.Provider(overrides, "."), nil); err != nil {
		return fmt.Errorf("merge %s: %w", builtinSource(env), err)
	}
	base, err := decode(k)
	if err != nil {
		origin := make(map[string]string, len(overrides))
		for key := range overrides {
			origin[key] = builtinSource(env)
		}
		return errors.Join(decodeProblems(err, origin, k)...)
	}
	before, after := flatten(defaults), flatten(base)
	for key := range overrides {
		if !reflect.DeepEqual(before[key], after[key]) {
			sources[key] = builtinSource(env)
		}
	}
	return nil
}

// overridesOf checks settings against the schema and returns the values they
// set by key, later settings winning, and the problems found. When sources is
// not nil, it records the source of every key set.
func overridesOf(settings []setting, keys schema, sources Sources) (map[string]any, []error) {
	var problems []error
	overrides := make(map[string]any)
	for _, s := range settings {
		if problem := keys.check(s); problem != nil {
			problems = append(problems, problem)
			continue
		}
		if s.value == nil || keys.sections[s.key] {
			continue // an empty value keeps the default; an empty section sets nothing
		}
		overrides[s.key] = s.value
		if sources != nil {
			sources[s.key] = s.source
		}
	}
	return overrides, problems
}

// decode decodes the merged configuration in k into a Config, strictly (see
// decodeHook).
func decode(k *koanf.Koanf) (Config, error) {
	var cfg Config
	err := k.UnmarshalWithConf("", &cfg, koanf.UnmarshalConf{
		Tag: tagName,
		DecoderConfig: &mapstructure.DecoderConfig{
			DecodeHook:  mapstructure.DecodeHookFuncType(decodeHook),
			ErrorUnused: true,
			MatchName:   func(mapKey, fieldName string) bool { return mapKey == fieldName },
		},
	})
	return cfg, err
}

// flatten returns the leaf keys of c with their values, as typed in Config.
func flatten(c Config) map[string]any {
	k := koanf.New(".")
	// Cannot fail: the structs provider's Read has no error to return, and a
	// merge into an empty koanf without StrictMerge has none either.
	_ = k.Load(structs.Provider(c, tagName), nil)
	return k.All()
}

// setting is one key set by one source.
type setting struct {
	key    string // dotted key, e.g. "server.port"
	value  any    // as parsed: YAML types, or a string from the environment
	source string // the file path or "environment variable NAME"
}

// readDirFile reads dir/<env>.yaml. A missing file gives no settings; a
// missing dir is an error naming it.
func readDirFile(dir, env string) ([]setting, error) {
	path := filepath.Join(dir, env+".yaml")
	b, err := file.Provider(path).ReadBytes()
	if err != nil {
		st, statErr := os.Stat(dir)
		switch {
		case statErr != nil:
			return nil, fmt.Errorf("configuration directory %s: %w", dir, pathReason(statErr))
		case !st.IsDir():
			return nil, fmt.Errorf("configuration directory %s: %w", dir, syscall.ENOTDIR)
		case errors.Is(err, fs.ErrNotExist):
			return nil, nil // nothing to override
		}
		return nil, fmt.Errorf("%s: %w", path, pathReason(err))
	}
	return parseYAML(b, path)
}

// pathReason returns the reason of a path error without the operation and
// path, which the caller's message names already.
func pathReason(err error) error {
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		return pathErr.Err
	}
	return err
}

// parseYAML parses YAML text read from source and returns its settings
// sorted by key.
func parseYAML(b []byte, source string) ([]setting, error) {
	parsed, err := yaml.Parser().Unmarshal(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	maps.IntfaceKeysToStrings(parsed)
	flat, _ := maps.Flatten(parsed, nil, ".")
	settings := make([]setting, 0, len(flat))
	for key, value := range flat {
		settings = append(settings, setting{key: key, value: value, source: source})
	}
	slices.SortFunc(settings, func(a, b setting) int { return strings.Compare(a.key, b.key) })
	return settings, nil
}

// shorthandKey returns the key of a shorthand variable. A RUSTOK_<PATH>
// variable for the same key wins over its shorthand.
func shorthandKey(name string) (key string, ok bool) {
	switch name {
	case "DATABASE_URL":
		return "database.url", true
	case "REDIS_URL":
		return "redis.url", true
	case "RUSTOK_JWT_SECRET":
		return "auth.jwt.secret", true
	}
	return "", false
}

// isNonConfigVar reports whether name is a RUSTOK_ variable that is not a
// RUSTOK_<PATH> key: read by the CLI or by tests, or a shorthand.
func isNonConfigVar(name string) bool {
	switch name {
	case "RUSTOK_ENV", "RUSTOK_CONFIG", "RUSTOK_TEST_POSTGRES_URL", "RUSTOK_SEED_PASSWORD", "RUSTOK_JWT_SECRET":
		return true
	}
	return false
}

// shorthandSettings returns the non-empty shorthand variables of environ as
// settings, sorted by key. When a variable appears twice, the last one wins.
func shorthandSettings(environ []string) ([]setting, error) {
	vars, err := readEnv(environ, "", func(name, value string) bool {
		_, ok := shorthandKey(name)
		return ok && value != ""
	})
	if err != nil {
		return nil, err
	}
	settings := make([]setting, 0, len(vars))
	for name, value := range vars {
		key, _ := shorthandKey(name)
		settings = append(settings, setting{key: key, value: value, source: "environment variable " + name})
	}
	slices.SortFunc(settings, func(a, b setting) int { return strings.Compare(a.key, b.key) })
	return settings, nil
}

// prefixedSettings returns the RUSTOK_<PATH> variables of environ as
// settings, sorted by variable name. PATH is lowercased and "__" separates
// levels: RUSTOK_AUTH__JWT__ACCESS_TTL sets auth.jwt.access_ttl. An empty
// value is a value (an empty string or list), unlike for shorthands.
func prefixedSettings(environ []string) ([]setting, error) {
	vars, err := readEnv(environ, envPrefix, func(name, _ string) bool { return !isNonConfigVar(name) })
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(vars))
	for name := range vars {
		names = append(names, name)
	}
	slices.Sort(names)
	settings := make([]setting, 0, len(names))
	for _, name := range names {
		path := strings.ToLower(strings.TrimPrefix(name, envPrefix))
		settings = append(settings, setting{
			key:    strings.ReplaceAll(path, "__", "."),
			value:  vars[name],
			source: "environment variable " + name,
		})
	}
	return settings, nil
}

// readEnv returns the variables of environ that start with prefix and that
// keep accepts, by name. Entries without "=" are skipped.
func readEnv(environ []string, prefix string, keep func(name, value string) bool) (map[string]string, error) {
	provider := env.Provider("", env.Opt{
		Prefix:      prefix,
		EnvironFunc: func() []string { return environ },
		TransformFunc: func(name, value string) (string, any) {
			if !keep(name, value) {
				return "", nil // dropped by the provider
			}
			return name, value
		},
	})
	read, err := provider.Read()
	if err != nil {
		return nil, fmt.Errorf("read environment: %w", err)
	}
	vars := make(map[string]string, len(read))
	for name, value := range read {
		if s, ok := value.(string); ok {
			vars[name] = s
		}
	}
	return vars, nil
}

// schema is the set of keys of Config: leaves hold values, sections hold keys.
type schema struct {
	leaves   map[string]bool
	sections map[string]bool
}

// newSchema builds the schema from the leaf keys of the defaults.
func newSchema(leafKeys []string) schema {
	s := schema{leaves: make(map[string]bool), sections: make(map[string]bool)}
	for _, key := range leafKeys {
		s.leaves[key] = true
		for i := range len(key) {
			if key[i] == '.' {
				s.sections[key[:i]] = true
			}
		}
	}
	return s
}

// check returns the problem with setting s, or nil if s names a leaf, or a
// section with no value or an empty mapping.
func (sc schema) check(s setting) error {
	switch {
	case sc.leaves[s.key]:
		return nil
	case sc.sections[s.key]:
		if m, isMap := s.value.(map[string]any); s.value == nil || isMap && len(m) == 0 {
			return nil
		}
		return &keyError{source: s.source, key: s.key, msg: "must be a section of keys, not a single value"}
	}
	for i := len(s.key) - 1; i > 0; i-- {
		if s.key[i] == '.' && sc.leaves[s.key[:i]] {
			return &keyError{source: s.source, key: s.key[:i], msg: "must be a single value, not a section of keys"}
		}
	}
	return fmt.Errorf("%s: unknown key %q", s.source, s.key)
}

// checkEnv returns the problem with the environment name, or nil.
func checkEnv(env string) error {
	switch env {
	case EnvDevelopment, EnvTest, EnvProduction:
		return nil
	}
	return &keyError{key: "env", msg: fmt.Sprintf("must be development, test or production, got %q", env)}
}

// decodeProblems turns the error of decoding into Config into one keyError
// per key, naming the source that set it and, unless the key is secret, the
// value.
func decodeProblems(err error, origin map[string]string, k *koanf.Koanf) []error {
	var problems []error
	var walk func(error)
	// walk visits every leaf of the error tree: mapstructure joins the errors
	// of sibling fields and wraps the whole in one message, so matching the
	// first DecodeError with errors.As would report only one problem.
	walk = func(err error) {
		switch e := err.(type) {
		case interface{ Unwrap() []error }:
			for _, inner := range e.Unwrap() {
				walk(inner)
			}
		case *mapstructure.DecodeError:
			if _, nested := e.Unwrap().(interface{ Unwrap() []error }); nested {
				walk(e.Unwrap())
				return
			}
			key, index, isEntry := strings.Cut(e.Name(), "[") // "auth.jwt.keys[1]" → "auth.jwt.keys"
			msg := "has an invalid value"
			var invalid *invalidValue
			if errors.As(e, &invalid) {
				msg = invalid.want
			}
			if n, err := strconv.Atoi(strings.TrimSuffix(index, "]")); isEntry && err == nil {
				msg = fmt.Sprintf("entry %d %s", n+1, msg)
			}
			if shown, ok := show(key, k.Get(key)); ok {
				msg += ", got " + shown
			}
			problems = append(problems, &keyError{source: origin[key], key: key, msg: msg})
		default:
			if inner := errors.Unwrap(err); inner != nil {
				walk(inner)
				return
			}
			problems = append(problems, fmt.Errorf("decode configuration: %w", err))
		}
	}
	walk(err)
	return problems
}

// withSources adds to each keyError joined in err the source that set its
// key, when known.
func withSources(err error, origin map[string]string) error {
	var multi interface{ Unwrap() []error }
	if !errors.As(err, &multi) {
		return err
	}
	errs := multi.Unwrap()
	out := make([]error, 0, len(errs))
	for _, e := range errs {
		var ke *keyError
		if errors.As(e, &ke) && ke.source == "" && origin[ke.key] != "" {
			e = &keyError{source: origin[ke.key], key: ke.key, msg: ke.msg}
		}
		out = append(out, e)
	}
	return errors.Join(out...)
}

// keyError is a problem with the value of one configuration key. source names
// the file or environment variable that set the value, when known.
type keyError struct {
	source string
	key    string
	msg    string
}

func (e *keyError) Error() string {
	if e.source != "" {
		return e.source + ": " + e.key + ": " + e.msg
	}
	return e.key + ": " + e.msg
}
