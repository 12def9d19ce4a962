package gql_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/graphql-go/graphql"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rustok/rustok/domain"
	gql "github.com/rustok/rustok/transport/graphql"
)

// logBuffer is a concurrency-safe log sink.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type requestIDKey struct{}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// testFields is a module part for tests: a recursive Node type to build deep
// and wide queries, a resolver that fails on demand and a mutation.
func testFields(bumps *atomic.Int64, release <-chan struct{}) gql.Fields {
	var node *graphql.Object
	node = graphql.NewObject(graphql.ObjectConfig{
		Name: "Node",
		Fields: graphql.FieldsThunk(func() graphql.Fields {
			return graphql.Fields{
				"name": &graphql.Field{Type: graphql.NewNonNull(graphql.String)},
				"child": &graphql.Field{
					Type: node,
					Resolve: func(p graphql.ResolveParams) (any, error) {
						return map[string]any{"name": p.Source.(map[string]any)["name"].(string) + ".c"}, nil
					},
				},
				"children": &graphql.Field{
					Type: graphql.NewNonNull(graphql.NewList(graphql.NewNonNull(node))),
					Args: graphql.FieldConfigArgument{"first": {Type: graphql.Int}},
					Resolve: func(p graphql.ResolveParams) (any, error) {
						n, _ := p.Args["first"].(int)
						out := make([]any, min(n, 3))
						for i := range out {
							out[i] = map[string]any{"name": fmt.Sprint(i)}
						}
						return out, nil
					},
				},
			}
		}),
	})
	failures := map[string]error{
		"not_found": fmt.Errorf("load node: %w", domain.NotFound("node n1 not found")),
		"field":     domain.InvalidField("email", "email is not valid"),
		"forbidden": domain.Forbidden("missing permission nodes:read"),
		"internal":  errors.New("dial tcp 10.0.0.5:5432: password=hunter2 refused"),
	}
	return gql.Fields{
		Query: graphql.Fields{
			"node": &graphql.Field{
				Type:    node,
				Resolve: func(graphql.ResolveParams) (any, error) { return map[string]any{"name": "root"}, nil },
			},
			"nodes": &graphql.Field{
				Type: graphql.NewNonNull(graphql.NewList(graphql.NewNonNull(node))),
				Args: graphql.FieldConfigArgument{"first": {Type: graphql.Int}},
				Resolve: func(p graphql.ResolveParams) (any, error) {
					n, _ := p.Args["first"].(int)
					out := make([]any, min(n, 3))
					for i := range out {
						out[i] = map[string]any{"name": fmt.Sprint(i)}
					}
					return out, nil
				},
			},
			"fail": &graphql.Field{
				Type: graphql.String,
				Args: graphql.FieldConfigArgument{"kind": {Type: graphql.NewNonNull(graphql.String)}},
				Resolve: func(p graphql.ResolveParams) (any, error) {
					return nil, failures[p.Args["kind"].(string)]
				},
			},
			"explode": &graphql.Field{
				Type:    graphql.String,
				Resolve: func(graphql.ResolveParams) (any, error) { panic("resolver exploded: secret=s3") },
			},
			"stall": &graphql.Field{
				Type: graphql.String,
				Resolve: func(graphql.ResolveParams) (any, error) {
					<-release // ignores its context, as a careless resolver would
					return "late", nil
				},
			},
			"echo": &graphql.Field{
				Type: graphql.NewNonNull(graphql.String),
				Args: graphql.FieldConfigArgument{"msg": {Type: graphql.NewNonNull(graphql.String)}},
				Resolve: func(p graphql.ResolveParams) (any, error) {
					return p.Args["msg"], nil
				},
			},
		},
		Mutation: graphql.Fields{
			"bump": &graphql.Field{
				Type:    graphql.NewNonNull(graphql.Int),
				Resolve: func(graphql.ResolveParams) (any, error) { return int(bumps.Add(1)), nil },
			},
		},
	}
}

type fixture struct {
	h       *gql.Handler
	release chan struct{} // closed at cleanup: lets stall resolvers return
	logs    *logBuffer
	reg     *prometheus.Registry
	bumps   *atomic.Int64
}

func newFixture(tb testing.TB, opts gql.Options) *fixture {
	tb.Helper()
	f := &fixture{logs: &logBuffer{}, reg: prometheus.NewRegistry(), bumps: &atomic.Int64{}, release: make(chan struct{})}
	tb.Cleanup(func() { close(f.release) })
	opts.Logger = slog.New(slog.NewJSONHandler(f.logs, nil))
	opts.Registry = f.reg
	opts.RequestID = func(ctx context.Context) string { s, _ := ctx.Value(requestIDKey{}).(string); return s }
	h, err := gql.New(opts, gql.BaseFields("1.2.3"), testFields(f.bumps, f.release))
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	f.h = h
	return f
}

// gotError is the part of an error the tests compare.
type gotError struct {
	Message string
	Code    any
	Field   any
	Path    string
}

func errorsOf(res *graphql.Result) []gotError {
	var out []gotError
	for _, e := range res.Errors {
		g := gotError{Message: e.Message, Code: e.Extensions["code"], Field: e.Extensions["field"]}
		if len(e.Path) > 0 {
			g.Path = fmt.Sprint(e.Path)
		}
		out = append(out, g)
	}
	return out
}

func dataJSON(tb testing.TB, res *graphql.Result) string {
	tb.Helper()
	if res.Data == nil {
		return ""
	}
	b, err := json.Marshal(res.Data)
	if err != nil {
		tb.Fatalf("marshal data: %v", err)
	}
	return string(b)
}

// deepQuery returns `{ node { child { … name } } }` with depth fields in
// total (node, depth-2 children, name).
func deepQuery(depth int) string {
	return "{ node " + strings.Repeat("{ child ", depth-2) + "{ name }" + strings.Repeat(" }", depth-2) + " }"
}

func TestExecute(t *testing.T) {
	f := newFixture(t, gql.Options{Limits: gql.Limits{MaxDepth: 5, MaxComplexity: 50, MaxAliases: 3}})
	tests := []struct {
		name       string
		req        gql.Request
		wantData   string
		wantErrors []gotError
	}{
		{name: "base fields", req: gql.Request{Query: "{ health apiVersion }"}, wantData: `{"apiVersion":"1.2.3","health":"ok"}`},
		{name: "typename is allowed without introspection", req: gql.Request{Query: "{ __typename }"}, wantData: `{"__typename":"Query"}`},
		{name: "variables are passed", req: gql.Request{Query: "query($m: String!) { echo(msg: $m) }", Variables: map[string]any{"m": "hi"}}, wantData: `{"echo":"hi"}`},
		{name: "operation is selected by name", req: gql.Request{Query: "query A { health } query B { apiVersion }", OperationName: "B"}, wantData: `{"apiVersion":"1.2.3"}`},

		// Depth: limit 5.
		{name: "depth at the limit is allowed", req: gql.Request{Query: deepQuery(5)}, wantData: `{"node":{"child":{"child":{"child":{"name":"root.c.c.c"}}}}}`},
		{name: "depth over the limit is rejected", req: gql.Request{Query: deepQuery(7)},
			wantErrors: []gotError{{Message: "query depth 7 exceeds the limit of 5", Code: "BAD_USER_INPUT"}}},
		{name: "depth counts through fragments", req: gql.Request{Query: `{ node { ...A } } fragment A on Node { child { ...B } } fragment B on Node { child { ... on Node { child { child { name } } } } }`},
			wantErrors: []gotError{{Message: "query depth 6 exceeds the limit of 5", Code: "BAD_USER_INPUT"}}},
		{name: "a fragment cycle is rejected", req: gql.Request{Query: `{ node { ...A } } fragment A on Node { child { ...B } } fragment B on Node { child { ...A } }`},
			wantErrors: []gotError{
				{Message: `Cannot spread fragment "A" within itself via B.`, Code: "BAD_USER_INPUT"},
			}},
		{name: "a self-spreading fragment is rejected", req: gql.Request{Query: `{ node { ...A } } fragment A on Node { ...A }`},
			wantErrors: []gotError{
				{Message: `Cannot spread fragment "A" within itself.`, Code: "BAD_USER_INPUT"},
			}},

		// Complexity: limit 50.
		{name: "complexity within the limit", req: gql.Request{Query: "{ nodes(first: 3) { name child { name } } }"}, wantData: `{"nodes":[{"child":{"name":"0.c"},"name":"0"},{"child":{"name":"1.c"},"name":"1"},{"child":{"name":"2.c"},"name":"2"}]}`},
		{name: "lists multiply by first", req: gql.Request{Query: "{ nodes(first: 5) { children(first: 9) { name } } }"},
			wantErrors: []gotError{{Message: "query complexity 51 exceeds the limit of 50", Code: "BAD_USER_INPUT"}}},
		{name: "a list without first counts 10", req: gql.Request{Query: "{ nodes { name child { name } child2: child { name } } }"},
			wantErrors: []gotError{{Message: "query complexity 51 exceeds the limit of 50", Code: "BAD_USER_INPUT"}}},
		{name: "a variable first counts 100", req: gql.Request{Query: "query($n: Int) { nodes(first: $n) { name } }", Variables: map[string]any{"n": 1}},
			wantErrors: []gotError{{Message: "query complexity 101 exceeds the limit of 50", Code: "BAD_USER_INPUT"}}},
		{name: "an unused fragment is measured alone", req: gql.Request{Query: "{ health } fragment F on Query {" + strings.Repeat(" health", 60) + " }"},
			wantErrors: []gotError{{Message: "query complexity 60 exceeds the limit of 50", Code: "BAD_USER_INPUT"}}},

		// Aliases: limit 3.
		{name: "aliases at the limit", req: gql.Request{Query: "{ a: health b: health c: health }"}, wantData: `{"a":"ok","b":"ok","c":"ok"}`},
		{name: "aliases over the limit", req: gql.Request{Query: "{ a: health b: health c: health d: health }"},
			wantErrors: []gotError{{Message: "query alias count 4 exceeds the limit of 3", Code: "BAD_USER_INPUT"}}},

		// Introspection is off by default.
		{name: "__schema is refused", req: gql.Request{Query: "{ __schema { queryType { name } } }"},
			wantErrors: []gotError{{Message: "introspection is disabled", Code: "BAD_USER_INPUT"}}},
		{name: "__type is refused", req: gql.Request{Query: `{ __type(name: "Query") { name } }`},
			wantErrors: []gotError{{Message: "introspection is disabled", Code: "BAD_USER_INPUT"}}},

		// Bad documents and requests.
		{name: "parse error", req: gql.Request{Query: "{ health "},
			wantErrors: []gotError{{Message: "Syntax Error GraphQL request (1:10) Expected Name, found EOF\n\n1: { health \n            ^\n", Code: "BAD_USER_INPUT"}}},
		{name: "unknown field", req: gql.Request{Query: "{ nope }"},
			wantErrors: []gotError{{Message: `Cannot query field "nope" on type "Query".`, Code: "BAD_USER_INPUT"}}},
		{name: "type definitions are not executable", req: gql.Request{Query: "type X { a: Int } { health }"},
			wantErrors: []gotError{{Message: "only operations and fragments can be executed, not a ObjectDefinition", Code: "BAD_USER_INPUT"}}},
		{name: "missing variable", req: gql.Request{Query: "query($m: String!) { echo(msg: $m) }"},
			wantErrors: []gotError{{Message: `Variable "$m" of required type "String!" was not provided.`, Code: "BAD_USER_INPUT"}}},
		{name: "unknown operation name", req: gql.Request{Query: "query A { health }", OperationName: "B"},
			wantErrors: []gotError{{Message: `Unknown operation named "B".`, Code: "BAD_USER_INPUT"}}},
		{name: "empty query", req: gql.Request{},
			wantErrors: []gotError{{Message: "the request has no query", Code: "BAD_USER_INPUT"}}},

		// Resolver errors.
		{name: "not found keeps its message", req: gql.Request{Query: `{ fail(kind: "not_found") }`}, wantData: `{"fail":null}`,
			wantErrors: []gotError{{Message: "node n1 not found", Code: "NOT_FOUND", Path: "[fail]"}}},
		{name: "bad input names the field", req: gql.Request{Query: `{ fail(kind: "field") }`}, wantData: `{"fail":null}`,
			wantErrors: []gotError{{Message: "email is not valid", Code: "BAD_USER_INPUT", Field: "email", Path: "[fail]"}}},
		{name: "forbidden", req: gql.Request{Query: `{ fail(kind: "forbidden") }`}, wantData: `{"fail":null}`,
			wantErrors: []gotError{{Message: "missing permission nodes:read", Code: "FORBIDDEN", Path: "[fail]"}}},
		{name: "internal error is hidden", req: gql.Request{Query: `{ fail(kind: "internal") }`}, wantData: `{"fail":null}`,
			wantErrors: []gotError{{Message: "internal error", Code: "INTERNAL", Path: "[fail]"}}},
		{name: "resolver panic is internal", req: gql.Request{Query: `{ explode health }`}, wantData: `{"explode":null,"health":"ok"}`,
			wantErrors: []gotError{{Message: "internal error", Code: "INTERNAL", Path: "[explode]"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan *graphql.Result, 1)
			go func() { done <- f.h.Execute(context.Background(), tc.req) }()
			var res *graphql.Result
			select {
			case res = <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("Execute did not return")
			}
			if got := dataJSON(t, res); got != tc.wantData {
				t.Errorf("data = %s, want %s", got, tc.wantData)
			}
			if got := errorsOf(res); fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tc.wantErrors) {
				t.Errorf("errors = %q\nwant     %q", got, tc.wantErrors)
			}
		})
	}
}

func TestInternalErrorsAreLoggedWithRequestID(t *testing.T) {
	f := newFixture(t, gql.Options{})
	ctx := context.WithValue(context.Background(), requestIDKey{}, "req-gql-1")
	res := f.h.Execute(ctx, gql.Request{Query: `{ fail(kind: "internal") }`})
	b, _ := json.Marshal(res)
	if strings.Contains(string(b), "hunter2") {
		t.Errorf("result leaks the internal error: %s", b)
	}
	logs := f.logs.String()
	if !strings.Contains(logs, `"request_id":"req-gql-1"`) || !strings.Contains(logs, "password=hunter2") || !strings.Contains(logs, `"path":"fail"`) {
		t.Errorf("logs lack the internal error with its request id and path:\n%s", logs)
	}
}

func TestCancelledRequest(t *testing.T) {
	f := newFixture(t, gql.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	res := f.h.Execute(ctx, gql.Request{Query: "{ stall }"})
	want := []gotError{{Message: "internal error", Code: "INTERNAL"}}
	if got := errorsOf(res); fmt.Sprint(got) != fmt.Sprint(want) || res.Data != nil {
		t.Errorf("result = %v %v, want no data and %v", res.Data, got, want)
	}
}

// TestRequestTimeout: a request ends at its time budget even when a
// resolver does not return, and the answer says it failed.
func TestRequestTimeout(t *testing.T) {
	f := newFixture(t, gql.Options{RequestTimeout: 100 * time.Millisecond})
	start := time.Now()
	res := f.h.Execute(context.Background(), gql.Request{Query: "{ stall }"})
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("the request took %v", took)
	}
	want := []gotError{{Message: "internal error", Code: "INTERNAL"}}
	if got := errorsOf(res); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("errors = %v, want %v", got, want)
	}
}

func TestIntrospectionOn(t *testing.T) {
	f := newFixture(t, gql.Options{Introspection: true, Limits: gql.Limits{MaxDepth: 3, MaxComplexity: 5}})
	// Introspection fields are exempt from depth and complexity, so that
	// GraphiQL's introspection query works under tight limits.
	res := f.h.Execute(context.Background(), gql.Request{Query: `{ __schema { queryType { name fields { name type { kind ofType { kind ofType { name } } } } } } }`})
	if len(res.Errors) > 0 {
		t.Fatalf("errors = %v", res.Errors)
	}
	if got := dataJSON(t, res); !strings.Contains(got, `"queryType":{"fields":[`) || !strings.Contains(got, `"name":"health"`) {
		t.Errorf("data = %s", got)
	}
	res = f.h.Execute(context.Background(), gql.Request{Query: `{ __type(name: "Node") { name } }`})
	if got := dataJSON(t, res); got != `{"__type":{"name":"Node"}}` {
		t.Errorf("data = %s, errors %v", got, res.Errors)
	}
}

func TestDocumentCache(t *testing.T) {
	f := newFixture(t, gql.Options{})
	run := func(q string) {
		t.Helper()
		f.h.Execute(context.Background(), gql.Request{Query: q})
	}
	run("{ health }")
	run("{ health }")
	run("{ health }")
	run("{ apiVersion }")
	run("{ nope }") // invalid: parsed every time, never cached
	run("{ nope }")
	got := f.h.CacheStats()
	want := gql.CacheStats{Hits: 2, Misses: 4, Parses: 4, Entries: 2, Bytes: got.Bytes}
	if got != want || got.Bytes <= 0 {
		t.Errorf("CacheStats = %+v, want %+v", got, want)
	}
}

func TestDocumentCacheEvictsLeastRecentlyUsed(t *testing.T) {
	f := newFixture(t, gql.Options{Limits: gql.Limits{DocumentCacheSize: 2}})
	for _, q := range []string{"{ health }", "{ apiVersion }", "{ health }", "{ __typename }", "{ health }", "{ apiVersion }"} {
		f.h.Execute(context.Background(), gql.Request{Query: q})
	}
	// { apiVersion } was least recently used when { __typename } came in.
	got := f.h.CacheStats()
	want := gql.CacheStats{Hits: 2, Misses: 4, Parses: 4, Entries: 2, Bytes: got.Bytes}
	if got != want || got.Bytes <= 0 {
		t.Errorf("CacheStats = %+v, want %+v", got, want)
	}
}

// TestDocumentCacheEvictsByBytes: a cache of a few kilobytes keeps the most
// recent documents that fit, and never stores one larger than itself.
func TestDocumentCacheEvictsByBytes(t *testing.T) {
	f := newFixture(t, gql.Options{Limits: gql.Limits{DocumentCacheBytes: 8 << 10}})
	for i := range 20 {
		f.h.Execute(context.Background(), gql.Request{Query: fmt.Sprintf("query Q%d { health }", i)})
	}
	if got := f.h.CacheStats(); got.Bytes > 8<<10 || got.Entries == 0 || got.Entries == 20 {
		t.Fatalf("CacheStats = %+v", got)
	}
	f.h.Execute(context.Background(), gql.Request{Query: `{ echo(msg: "` + strings.Repeat("x", 8<<10) + `") }`})
	if got := f.h.CacheStats(); got.Bytes > 8<<10 {
		t.Fatalf("a document larger than the cache was stored: %+v", got)
	}
}

func TestQuerySizeLimit(t *testing.T) {
	f := newFixture(t, gql.Options{Limits: gql.Limits{MaxQueryBytes: 20}})
	res := f.h.Execute(context.Background(), gql.Request{Query: "{ health apiVersion }"}) // 21 bytes
	want := []gotError{{Message: "query size 21 bytes exceeds the limit of 20 bytes", Code: "BAD_USER_INPUT"}}
	if got := errorsOf(res); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("errors = %v, want %v", got, want)
	}
	if got := f.h.CacheStats().Parses; got != 0 {
		t.Errorf("Parses = %d, want 0: the size check comes first", got)
	}
}

func TestPersistedQueries(t *testing.T) {
	f := newFixture(t, gql.Options{})
	const query = "{ health apiVersion }"
	hash := sha256Hex(query)
	apq := func(h string) map[string]any {
		return map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": h}}
	}
	steps := []struct {
		name       string
		req        gql.Request
		wantData   string
		wantErrors []gotError
	}{
		{name: "unknown hash", req: gql.Request{Extensions: apq(hash)},
			wantErrors: []gotError{{Message: "PersistedQueryNotFound", Code: "PERSISTED_QUERY_NOT_FOUND"}}},
		{name: "wrong hash with the query", req: gql.Request{Query: query, Extensions: apq(sha256Hex("{ health }"))},
			wantErrors: []gotError{{Message: "provided sha256Hash does not match the query", Code: "BAD_USER_INPUT"}}},
		{name: "register with the query", req: gql.Request{Query: query, Extensions: apq(hash)}, wantData: `{"apiVersion":"1.2.3","health":"ok"}`},
		{name: "hash only now runs", req: gql.Request{Extensions: apq(hash)}, wantData: `{"apiVersion":"1.2.3","health":"ok"}`},
		{name: "upper-case hash runs", req: gql.Request{Extensions: apq(strings.ToUpper(hash))}, wantData: `{"apiVersion":"1.2.3","health":"ok"}`},
		{name: "unsupported version", req: gql.Request{Extensions: map[string]any{"persistedQuery": map[string]any{"version": 2, "sha256Hash": hash}}},
			wantErrors: []gotError{{Message: "unsupported persisted query version: only version 1 is supported", Code: "BAD_USER_INPUT"}}},
		{name: "hash that is not sha256", req: gql.Request{Extensions: apq("abc")},
			wantErrors: []gotError{{Message: "extensions.persistedQuery.sha256Hash must be a hex sha256", Code: "BAD_USER_INPUT"}}},
	}
	for _, tc := range steps {
		t.Run(tc.name, func(t *testing.T) {
			res := f.h.Execute(context.Background(), tc.req)
			if got := dataJSON(t, res); got != tc.wantData {
				t.Errorf("data = %s, want %s", got, tc.wantData)
			}
			if got := errorsOf(res); fmt.Sprint(got) != fmt.Sprint(tc.wantErrors) {
				t.Errorf("errors = %v, want %v", got, tc.wantErrors)
			}
		})
	}
}

func TestMetrics(t *testing.T) {
	f := newFixture(t, gql.Options{})
	ctx := context.Background()
	f.h.Execute(ctx, gql.Request{Query: `{ fail(kind: "not_found") }`})
	f.h.Execute(ctx, gql.Request{Query: `{ fail(kind: "not_found") }`})
	f.h.Execute(ctx, gql.Request{Query: `{ nope }`})
	f.h.Execute(ctx, gql.Request{Query: `{ node { name child { name } } }`})

	text := gatherText(t, f.reg)
	for _, want := range []string{
		`rustok_graphql_errors_total{code="NOT_FOUND"} 2`,
		`rustok_graphql_errors_total{code="BAD_USER_INPUT"} 1`,
		`rustok_graphql_resolver_duration_seconds_count{field="fail",type="Query"} 2`,
		`rustok_graphql_resolver_duration_seconds_count{field="node",type="Query"} 1`,
		`rustok_graphql_resolver_duration_seconds_count{field="child",type="Node"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// Fields read by the default resolver are not timed.
	if strings.Contains(text, `field="name",type="Node"`) {
		t.Error("trivial field Node.name is timed")
	}
}

func gatherText(tb testing.TB, reg *prometheus.Registry) string {
	tb.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatalf("gather: %v", err)
	}
	var b strings.Builder
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			name, lbl := mf.GetName(), "{"+strings.Join(labels, ",")+"}"
			switch {
			case m.GetCounter() != nil:
				fmt.Fprintf(&b, "%s%s %v\n", name, lbl, m.GetCounter().GetValue())
			case m.GetHistogram() != nil:
				fmt.Fprintf(&b, "%s_count%s %v\n", name, lbl, m.GetHistogram().GetSampleCount())
			}
		}
	}
	return b.String()
}

// TestRootFieldTiming: root fields are timed by wrapping their resolvers in
// copies; a root field without a resolver is timed around graphql-go's
// default resolver, and the module's own field definitions are not changed.
func TestRootFieldTiming(t *testing.T) {
	reg := prometheus.NewRegistry()
	plain := &graphql.Field{Type: graphql.String} // no resolver: the default one reads the (nil) root value
	resolved := &graphql.Field{Type: graphql.String, Resolve: func(graphql.ResolveParams) (any, error) { return "r", nil }}
	original := resolved.Resolve
	h, err := gql.New(gql.Options{Registry: reg}, gql.Fields{Query: graphql.Fields{"plain": plain, "resolved": resolved}})
	if err != nil {
		t.Fatal(err)
	}
	res := h.Execute(context.Background(), gql.Request{Query: `{ plain resolved }`})
	if len(res.Errors) > 0 || dataJSON(t, res) != `{"plain":null,"resolved":"r"}` {
		t.Fatalf("%s %+v", dataJSON(t, res), res.Errors)
	}
	text := gatherText(t, reg)
	for _, want := range []string{
		`rustok_graphql_resolver_duration_seconds_count{field="plain",type="Query"} 1`,
		`rustok_graphql_resolver_duration_seconds_count{field="resolved",type="Query"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if plain.Resolve != nil || fmt.Sprintf("%p", resolved.Resolve) != fmt.Sprintf("%p", original) {
		t.Error("New changed the module's field definitions")
	}
}

func TestNewRejectsDuplicateFields(t *testing.T) {
	_, err := gql.New(gql.Options{}, gql.BaseFields("1"), gql.BaseFields("2"))
	if err == nil || err.Error() != `build graphql schema: query field "apiVersion" is defined twice` && err.Error() != `build graphql schema: query field "health" is defined twice` {
		t.Errorf("New = %v, want a duplicate field error", err)
	}
	if _, err := gql.New(gql.Options{}); err == nil {
		t.Error("New without query fields succeeded")
	}
}

func TestConcurrentExecute(t *testing.T) {
	f := newFixture(t, gql.Options{Limits: gql.Limits{DocumentCacheSize: 8}})
	type call struct {
		req      gql.Request
		wantData string
		wantCode any
	}
	calls := []call{
		{req: gql.Request{Query: "{ health }"}, wantData: `{"health":"ok"}`},
		{req: gql.Request{Query: "{ node { child { name } } }"}, wantData: `{"node":{"child":{"name":"root.c"}}}`},
		{req: gql.Request{Query: "{ nodes(first: 2) { name } }"}, wantData: `{"nodes":[{"name":"0"},{"name":"1"}]}`},
		{req: gql.Request{Query: `{ fail(kind: "not_found") }`}, wantData: `{"fail":null}`, wantCode: "NOT_FOUND"},
		{req: gql.Request{Query: "{ nope }"}, wantCode: "BAD_USER_INPUT"},
		{req: gql.Request{Query: "mutation { bump }"}},
	}
	const goroutines, rounds = 50, 20
	var wg sync.WaitGroup
	errs := make(chan string, goroutines*rounds)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				c := calls[(g+r)%len(calls)]
				// Unique variants keep the cache evicting while others read it.
				if r%5 == 0 && c.wantCode == nil && c.req.Query != "mutation { bump }" {
					c.req.Query += fmt.Sprintf(" # %d-%d", g, r)
				}
				res := f.h.Execute(context.Background(), c.req)
				if c.req.Query == "mutation { bump }" {
					if len(res.Errors) > 0 {
						errs <- fmt.Sprintf("bump: %v", res.Errors)
					}
					continue
				}
				if got := dataJSON(t, res); got != c.wantData {
					errs <- fmt.Sprintf("%s: data %s, want %s", c.req.Query, got, c.wantData)
				}
				var code any
				if len(res.Errors) > 0 {
					code = res.Errors[0].Extensions["code"]
				}
				if code != c.wantCode {
					errs <- fmt.Sprintf("%s: code %v, want %v", c.req.Query, code, c.wantCode)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	wantBumps := 0
	for g := range goroutines {
		for r := range rounds {
			if calls[(g+r)%len(calls)].req.Query == "mutation { bump }" {
				wantBumps++
			}
		}
	}
	if got := f.bumps.Load(); got != int64(wantBumps) {
		t.Errorf("bumps = %d, want %d", got, wantBumps)
	}
}
