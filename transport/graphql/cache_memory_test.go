package gql_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"

	gql "github.com/rustok/rustok/transport/graphql"
)

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestDocumentCacheIsBoundedInBytes floods the document cache with unique
// valid documents of the costliest shapes (the largest text, the most
// tokens) and asserts that live memory stays within the cache's byte bound
// (issue 13: 100 unique 64 KiB documents held 157 MB; a full cache of 1,000
// would have held 1.6 GB).
func TestDocumentCacheIsBoundedInBytes(t *testing.T) {
	const budget = 8 << 20
	shapes := map[string]func(i int) string{
		"large text": func(i int) string {
			return fmt.Sprintf(`{ echo(msg: "%d%s") }`, i, strings.Repeat("x", 60<<10))
		},
		"many tokens": func(i int) string {
			return fmt.Sprintf("query Q%d { ", i) + strings.Repeat("health ", 499) + "}"
		},
	}
	for name, doc := range shapes {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, gql.Options{Limits: gql.Limits{DocumentCacheBytes: budget}})
			before := heapInUse()
			for i := range 200 {
				res := f.h.Execute(context.Background(), gql.Request{Query: doc(i)})
				if len(res.Errors) > 0 {
					t.Fatalf("document %d: %v", i, res.Errors)
				}
			}
			grown := int64(heapInUse()) - int64(before)
			stats := f.h.CacheStats()
			t.Logf("%s: %d documents cached, %d estimated bytes, live heap grew %d KiB", name, stats.Entries, stats.Bytes, grown>>10)
			if stats.Bytes > budget || stats.Entries == 200 {
				t.Fatalf("cache holds %d entries, %d bytes; budget %d", stats.Entries, stats.Bytes, budget)
			}
			if grown > 2*budget {
				t.Fatalf("live heap grew %d bytes for a %d-byte cache: the cost estimate is too low", grown, budget)
			}
		})
	}
}
