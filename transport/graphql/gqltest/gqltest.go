// Package gqltest holds test material shared by the GraphQL tests: the
// documents of the hostile-client suite (issue 13), used by the handler's
// unit tests and by the suite that runs against the built binary.
package gqltest

import (
	"fmt"
	"strings"
)

// Document is one hostile request: its query and the error the default
// limits answer it with ("" when it is answered without error).
type Document struct {
	Name, Query, WantError string
}

// repeat returns n copies of f(i), separated by spaces.
func repeat(n int, f func(i int) string) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = f(i)
	}
	return strings.Join(parts, " ")
}

// HostileDocuments returns the shapes that made graphql-go's parser or
// validator spend seconds (issue 13): each is refused by the pre-check,
// before graphql-go sees it, or is small enough to be answered at once.
func HostileDocuments() []Document {
	return []Document{
		{"nested lists in an argument, 16 KB", "{ health(x: " + strings.Repeat("[", 8000) + strings.Repeat("]", 8000) + ") }", "the query nests brackets deeper than 64 levels"},
		{"nested lists, 60 KB", "{ health(x: " + strings.Repeat("[", 30000) + strings.Repeat("]", 30000) + ") }", "the query nests brackets deeper than 64 levels"},
		{"a long flat list", "{ health(x: [" + strings.Repeat("1 ", 6000) + "]) }", "the query has more than 5000 tokens"},
		{"nested object value", "{ health(x: " + strings.Repeat("{a: ", 1500) + "1" + strings.Repeat("}", 1500) + ") }", "the query nests brackets deeper than 64 levels"},
		{"nested selections", "{ node " + strings.Repeat("{ child ", 2000) + strings.Repeat("}", 2000) + " }", "the query nests brackets deeper than 64 levels"},
		{"60 KB of __typename", "{ " + strings.Repeat("__typename ", 5500) + "}", "the query has more than 5000 tokens"},
		{"over 64 KiB", "{ " + strings.Repeat("__typename ", 6000) + "}", "query size 66003 bytes exceeds the limit of 65536 bytes"},
		{"many fields", "{ " + strings.Repeat("health ", 1000) + "}", "query field count 1000 exceeds the limit of 500"},
		{"many inline fragments", "{ " + strings.Repeat("... on Query { health } ", 600) + "}", "query field count 600 exceeds the limit of 500"},
		{"many aliases", "{ " + repeat(40, func(i int) string { return fmt.Sprintf("a%d: health", i) }) + " }", "query alias count 40 exceeds the limit of 30"},
		{"many arguments", "{ health(" + repeat(300, func(i int) string { return fmt.Sprintf("a%d: 1", i) }) + ") }", "query argument count 300 exceeds the limit of 200"},
		{"many directives", "{ health " + strings.Repeat("@include(if: true) ", 60) + "}", "query directive count 60 exceeds the limit of 50"},
		{"many variables", "query (" + repeat(150, func(i int) string { return fmt.Sprintf("$v%d: Int", i) }) + ") { health }", "query variable count 150 exceeds the limit of 100"},
		{"many operations", repeat(150, func(i int) string { return fmt.Sprintf("query Q%d { health }", i) }), "query definition count 150 exceeds the limit of 100"},
		{"a fragment chain", "{ ...F0 } " + repeat(150, func(i int) string { return fmt.Sprintf("fragment F%d on Query { health ...F%d }", i, i+1) }), "query definition count 151 exceeds the limit of 100"},
		{"at the limits: 500 same fields", "{ " + strings.Repeat("health ", 500) + "}", ""},
		{"at the limits: 200 unknown arguments", "{ health(" + repeat(200, func(i int) string { return fmt.Sprintf("a%d: 1", i) }) + ") }", `Unknown argument "a0" on field "health" of type "Query".`},
		{"at the limits: 100 unused variables", "query (" + repeat(100, func(i int) string { return fmt.Sprintf("$v%d: Int", i) }) + ") { health }", `Variable "$v0" is never used.`},
		{"at the limits: 200 arguments on 200 fields", "{ " + strings.Repeat("health(x: 1) ", 200) + "}", `Unknown argument "x" on field "health" of type "Query".`},
	}
}
