package gql

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/graphql-go/graphql"
)

// graphqlJS16IntrospectionQuery is graphql-js 16's getIntrospectionQuery():
// the one GraphiQL 3 sends (7 levels of ofType, queryType without kind).
const graphqlJS16IntrospectionQuery = `
query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }
}`

func newIntrospectionHandler(t *testing.T, introspection bool) *Handler {
	t.Helper()
	h, err := New(Options{Introspection: introspection}, BaseFields("1.2.3"), TenantFields(TenantDeps{}))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestIntrospectionIsBoundedApartFromDataLimits(t *testing.T) {
	t.Parallel()
	h := newIntrospectionHandler(t, true)
	tests := []struct {
		name    string
		query   string
		wantErr string // "" for none
	}{
		{"graphql-js 17 standard query", standardIntrospectionQuery, ""},
		{"graphql-js 16 standard query (GraphiQL 3)", graphqlJS16IntrospectionQuery, ""},
		{"one type", `{ __type(name: "Tenant") { name fields { name type { name kind ofType { name } } } } }`, ""},
		{"introspection beside data", `{ __typename health __schema { queryType { name } } }`, ""},
		{"nested fields multiply the answer", `{ __schema { types { fields { type { fields { type { fields { type { fields { name } } } } } } } } } }`, "introspection complexity"},
		{"two aliased copies of the standard query", aliasedFullSchema(2), ""},
		{"eight aliased copies of the standard query", aliasedFullSchema(8), "introspection complexity"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := h.Execute(context.Background(), Request{Query: tc.query})
			if tc.wantErr == "" {
				if len(res.Errors) > 0 {
					t.Fatalf("errors: %+v", res.Errors)
				}
				return
			}
			if len(res.Errors) == 0 || !strings.Contains(res.Errors[0].Message, tc.wantErr) {
				t.Fatalf("errors %+v, want %q", res.Errors, tc.wantErr)
			}
		})
	}
	t.Run("data depth and complexity limits are unchanged", func(t *testing.T) {
		lh, err := New(Options{Introspection: true, Limits: Limits{MaxDepth: 3}}, BaseFields("1"), TenantFields(TenantDeps{}))
		if err != nil {
			t.Fatal(err)
		}
		res := lh.Execute(context.Background(), Request{Query: `{ history(id: "x") { edges { node { type } } } }`})
		if len(res.Errors) != 1 || res.Errors[0].Message != "query depth 4 exceeds the limit of 3" {
			t.Fatalf("errors %+v", res.Errors)
		}
		res = lh.Execute(context.Background(), Request{Query: standardIntrospectionQuery})
		if len(res.Errors) > 0 {
			t.Fatalf("standard introspection with max depth 3: %+v", res.Errors)
		}
	})
	t.Run("the budget scales with the schema", func(t *testing.T) {
		if h.limitRules == nil {
			t.Fatal("no limit rules")
		}
		b, err := newIntrospectionBudget(&h.schema)
		if err != nil {
			t.Fatal(err)
		}
		if b.factors["__Schema.types"] < 10 || b.factors["__Type.fields"] < 5 || b.limit < 1000 {
			t.Fatalf("budget %+v", b)
		}
	})
}

// aliasedFullSchema is n aliased copies of the standard query's body.
func aliasedFullSchema(n int) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		b.WriteString(" s" + string(rune('a'+i)) + ": __schema { types { ...FullType } directives { name args { ...InputValue } } }")
	}
	b.WriteString(" }")
	q := standardIntrospectionQuery
	return b.String() + q[strings.Index(q, "fragment FullType"):]
}

func TestIntrospectionAnswersNullForAbsentDescriptions(t *testing.T) {
	t.Parallel()
	h := newIntrospectionHandler(t, true)
	res := h.Execute(context.Background(), Request{Query: standardIntrospectionQuery})
	if len(res.Errors) > 0 {
		t.Fatalf("errors: %+v", res.Errors)
	}
	raw, _ := json.Marshal(res.Data)
	if strings.Contains(string(raw), `"description":""`) {
		t.Fatalf("an empty description remains: %.300s", raw[strings.Index(string(raw), `"description":""`)-200:])
	}
	if !strings.Contains(string(raw), `"description":null`) || !strings.Contains(string(raw), `"description":"Always \"ok\" while the API answers."`) {
		t.Fatal("descriptions are neither null nor kept")
	}
	// Aliases and fragments are followed; data fields named description are not touched.
	res = h.Execute(context.Background(), Request{Query: `{ __type(name: "Tenant") { d: description ...F } } fragment F on __Type { fields { description name } }`})
	raw, _ = json.Marshal(res.Data)
	if len(res.Errors) > 0 || !strings.Contains(string(raw), `"d":null`) || strings.Contains(string(raw), `"description":""`) {
		t.Fatalf("aliased: %s %+v", raw, res.Errors)
	}
}

// TestDefaultLimits: with the default limits, the standard introspection
// query passes while a data query 13 deep, or above the complexity limit,
// is still refused.
func TestDefaultLimits(t *testing.T) {
	t.Parallel()
	var node *graphql.Object
	node = graphql.NewObject(graphql.ObjectConfig{Name: "Node", Fields: graphql.FieldsThunk(func() graphql.Fields {
		return graphql.Fields{
			"name":     &graphql.Field{Type: graphql.String},
			"child":    &graphql.Field{Type: node},
			"children": &graphql.Field{Type: graphql.NewList(node), Args: graphql.FieldConfigArgument{"first": {Type: graphql.Int}}},
		}
	})})
	h, err := New(Options{Introspection: true}, BaseFields("1"), Fields{Query: graphql.Fields{
		"node": &graphql.Field{Type: node, Resolve: func(graphql.ResolveParams) (any, error) { return map[string]any{}, nil }},
	}})
	if err != nil {
		t.Fatal(err)
	}
	nested := func(depth int) string {
		return "{ node " + strings.Repeat("{ child ", depth-2) + "{ name }" + strings.Repeat(" }", depth-2) + " }"
	}
	tests := []struct{ name, query, wantErr string }{
		{"standard introspection", standardIntrospectionQuery, ""},
		{"GraphiQL 3's introspection", graphqlJS16IntrospectionQuery, ""},
		{"depth 12", nested(12), ""},
		{"depth 13", nested(13), "query depth 13 exceeds the limit of 12"},
		{"complexity", `{ node { children(first: 100) { children(first: 100) { name } } } }`, "query complexity 10102 exceeds the limit of 1000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := h.Execute(context.Background(), Request{Query: tc.query})
			if tc.wantErr == "" && len(res.Errors) > 0 || tc.wantErr != "" && (len(res.Errors) != 1 || res.Errors[0].Message != tc.wantErr) {
				t.Fatalf("errors %+v, want %q", res.Errors, tc.wantErr)
			}
		})
	}
}

// TestConcurrentFirstIntrospections: the first requests of new handlers may
// run at once (graphql-go builds enum lookups lazily, without locking; New
// builds them first). Run with -race.
func TestConcurrentFirstIntrospections(t *testing.T) {
	t.Parallel()
	var handlers []*Handler
	for range 4 {
		h, err := New(Options{Introspection: true}, BaseFields("1"), TenantFields(TenantDeps{}))
		if err != nil {
			t.Fatal(err)
		}
		handlers = append(handlers, h)
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for _, h := range handlers {
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if res := h.Execute(context.Background(), Request{Query: `{ __schema { types { kind } } }`}); len(res.Errors) > 0 {
					t.Error(res.Errors)
				}
			}()
		}
	}
	close(start)
	wg.Wait()
}
