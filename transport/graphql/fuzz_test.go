package gql_test

import (
	"context"
	"strings"
	"testing"

	gql "github.com/rustok/rustok/transport/graphql"
)

var knownCodes = map[any]bool{
	"BAD_USER_INPUT": true, "UNAUTHENTICATED": true, "FORBIDDEN": true, "NOT_FOUND": true, "CONFLICT": true,
	"MODULE_DISABLED": true, "RATE_LIMITED": true, "INTERNAL": true, "PERSISTED_QUERY_NOT_FOUND": true,
}

// FuzzExecute feeds arbitrary documents to Execute: it must never panic, and
// every error must carry a known extensions.code.
func FuzzExecute(f *testing.F) {
	for _, seed := range []string{
		"{ health }",
		"{ health apiVersion __typename }",
		"query Q($n: Int) { nodes(first: $n) { name children(first: 2) { name } } }",
		deepQuery(7),
		"{ node { ...A } } fragment A on Node { child { ...B } } fragment B on Node { child { ...A } }",
		"{ node { ...A } } fragment A on Node { ...A }",
		`{ fail(kind: "internal") explode }`,
		"mutation { bump }",
		"subscription { health }",
		"{ __schema { types { name } } }",
		"type X { a: Int } schema { query: X }",
		"{ a: health b: health c: health d: health }",
		"{ nodes(first: 99999999999999999999) { name } }",
		"{ " + strings.Repeat("{", 200),
		"query ($a: [[Int!]!] = [[1]]) { health }",
		`{ echo(msg: """block\nstring""") }`,
		"\x00\xff{",
		"{ nodes(first: null) { name } }",
		`query ($a: [Int] = [null]) { fail(kind: null) }`,
		`{ echo(msg: "nl") a: echo(msg: null) }`,
		`{ node { ...on Node @include(if: null) { name } } }`,
	} {
		f.Add(seed)
	}
	fx := newFixture(f, gql.Options{Introspection: true})
	f.Fuzz(func(t *testing.T, query string) {
		res := fx.h.Execute(context.Background(), gql.Request{Query: query})
		if res == nil {
			t.Fatal("Execute returned nil")
		}
		for _, e := range res.Errors {
			if !knownCodes[e.Extensions["code"]] {
				t.Fatalf("error %q has code %v", e.Message, e.Extensions["code"])
			}
		}
	})
}
