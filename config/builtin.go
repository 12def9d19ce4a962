package config

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
)

// builtinFiles are the shipped configuration files, embedded so that the
// binary runs from any directory without them: development.yaml (every key
// with its default value), test.yaml and production.yaml.
//
//go:embed development.yaml test.yaml production.yaml
var builtinFiles embed.FS

// builtinSource names the built-in file of env in sources and messages.
func builtinSource(env string) string {
	return "built-in " + env + ".yaml"
}

// readBuiltin returns the settings of the built-in file of env, or none when
// env has no built-in file (an unknown environment, which Validate reports).
func readBuiltin(env string) ([]setting, error) {
	if checkEnv(env) != nil {
		return nil, nil
	}
	b, err := builtinFiles.ReadFile(env + ".yaml")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", builtinSource(env), err)
	}
	return parseYAML(b, builtinSource(env))
}
