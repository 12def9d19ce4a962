package gql

import (
	"slices"
	"strings"
	"testing"
)

func TestScanFindsNullLiteralsInValuePositionsOnly(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		doc   string
		nulls []int // which occurrences of the word "null" in doc (0-based) are values
	}{
		{"argument", `{ f(a: null) }`, []int{0}},
		{"several arguments", `{ f(a: null, b: 1 c: null) }`, []int{0, 1}},
		{"list items", `{ f(a: [null, 1, null]) }`, []int{0, 1}},
		{"nested lists and objects", `{ f(a: [{b: [null]}, {c: null}]) }`, []int{0, 1}},
		{"object field", `{ f(o: {a: null, b: {c: null}}) }`, []int{0, 1}},
		{"directive argument", `{ f @include(if: null) }`, []int{0}},
		{"variable default", `query Q($a: Int = null, $b: [Int] = [null]) { f }`, []int{0, 1}},
		{"operation directive", `query Q @dir(a: null) { f }`, []int{0}},
		{"fragment field", `fragment F on T { g(x: null) }`, []int{0}},
		{"alias named null", `{ null: f(a: null) }`, []int{1}},
		{"field named null", `{ null }`, nil},
		{"argument named null", `{ f(null: null) }`, []int{1}},
		{"variable named null", `query ($null: Int) { f(a: $null) }`, nil},
		{"fragment named null", `{ ...null } fragment null on T { f }`, nil},
		{"type named null", `query ($a: null) { f }`, nil},
		{"in a string", `{ f(a: "null") }`, nil},
		{"in a block string", `{ f(a: """ null "" null """) }`, nil},
		{"in a comment", "# null\n{ f(a: 1) } # null", nil},
		{"enum-like names", `{ f(a: nul, b: nulls, c: NULL) }`, nil},
		{"after an escaped quote", `{ f(a: "x\" null", b: null) }`, []int{1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var occurrences []int
			for i := 0; ; {
				j := strings.Index(tc.doc[i:], "null")
				if j < 0 {
					break
				}
				occurrences = append(occurrences, i+j)
				i += j + 4
			}
			var want []int
			for _, n := range tc.nulls {
				want = append(want, occurrences[n])
			}
			got := scanDocument(tc.doc, 0, 0)
			if !got.complete || !slices.Equal(got.nulls, want) {
				t.Fatalf("scan %q: nulls %v (complete %v), want %v", tc.doc, got.nulls, got.complete, want)
			}
		})
	}
}

func TestScanMeasures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name             string
		doc              string
		tokens, depth    int
		complete         bool
		maxTokens, maxDp int
	}{
		{"simple", `{ a b(c: 1) }`, 9, 2, true, 0, 0},
		{"commas and comments are not tokens", "{ a, b, # c d e\n }", 4, 1, true, 0, 0},
		{"spread and strings", `{ ...F f(s: "a b", t: """x""") }`, 13, 2, true, 0, 0},
		{"deep lists", `{ f(a: [[[[1]]]]) }`, 16, 6, true, 0, 0},
		{"stops past the token limit", strings.Repeat("a ", 100), 11, 0, false, 10, 0},
		{"stops past the depth limit", strings.Repeat("[", 1000), 6, 6, false, 0, 5},
		{"stops at an invalid character", `{ a ? b }`, 3, 1, false, 0, 0},
		{"stops at an unterminated string", `{ a(s: "abc) }`, 6, 2, false, 0, 0},
		{"a lone dot", `{ a . }`, 3, 1, false, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := scanDocument(tc.doc, tc.maxTokens, tc.maxDp)
			if got.tokens != tc.tokens || got.depth != tc.depth || got.complete != tc.complete {
				t.Fatalf("scan %q = tokens %d depth %d complete %v; want %d %d %v", tc.doc, got.tokens, got.depth, got.complete, tc.tokens, tc.depth, tc.complete)
			}
		})
	}
}

// FuzzScan: the scanner never panics, and every null it reports is the
// word null at that offset.
func FuzzScan(f *testing.F) {
	for _, seed := range []string{`{ f(a: null) }`, `query ($a: [Int] = [null]) { f }`, `{ f(a: "\"null") }`, `"""`, `{ f(a: [{b: null}]) }`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		got := scanDocument(doc, 0, 0)
		for _, off := range got.nulls {
			if off < 0 || off+4 > len(doc) || doc[off:off+4] != "null" {
				t.Fatalf("null at %d in %q", off, doc)
			}
		}
		// Parsing with the nulls restored never panics, and a document
		// that parses holds exactly the nulls found (parseDocument checks).
		if _, err := parseDocument(doc, got); err != nil && strings.Contains(err.Error(), "null values") {
			t.Fatalf("scanner and parser disagree on %q: %v", doc, err)
		}
	})
}
