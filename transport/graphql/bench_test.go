package gql_test

import (
	"context"
	"strconv"
	"testing"

	gql "github.com/rustok/rustok/transport/graphql"
)

const benchQuery = `query Bench($n: Int) {
  health
  nodes(first: $n) { name child { name child { name } } children(first: 2) { name } }
}`

// BenchmarkExecuteCached runs the same document: parsed and validated once.
func BenchmarkExecuteCached(b *testing.B) {
	fx := newFixture(b, gql.Options{})
	ctx := context.Background()
	req := gql.Request{Query: benchQuery, Variables: map[string]any{"n": 3}}
	b.ReportAllocs()
	for b.Loop() {
		if res := fx.h.Execute(ctx, req); len(res.Errors) > 0 {
			b.Fatal(res.Errors)
		}
	}
}

// BenchmarkExecuteUncached makes every document new (a differing comment
// changes its hash), so each is parsed and validated.
func BenchmarkExecuteUncached(b *testing.B) {
	fx := newFixture(b, gql.Options{})
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		req := gql.Request{Query: benchQuery + "\n# " + strconv.Itoa(i), Variables: map[string]any{"n": 3}}
		if res := fx.h.Execute(ctx, req); len(res.Errors) > 0 {
			b.Fatal(res.Errors)
		}
	}
}
