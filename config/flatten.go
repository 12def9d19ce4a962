package config

import (
	"slices"
	"strings"
)

// KeyValue is one leaf key of a Config and its value.
type KeyValue struct {
	// Key is the dotted key, e.g. "server.port".
	Key string
	// Value has the Go type of the field: string, bool, int, uint8, uint32,
	// time.Duration or []string.
	Value any
}

// Flatten returns every leaf key of the Redacted copy of c with its value,
// sorted by key: the keys of the YAML files and of LoadWithSources' Sources
// (Env, which is not a key, is left out). It never returns a secret.
func (c Config) Flatten() []KeyValue {
	flat := flatten(c.Redacted())
	out := make([]KeyValue, 0, len(flat))
	for key, value := range flat {
		out = append(out, KeyValue{Key: key, Value: value})
	}
	slices.SortFunc(out, func(a, b KeyValue) int { return strings.Compare(a.Key, b.Key) })
	return out
}
