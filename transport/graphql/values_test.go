package gql_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/graphql-go/graphql"

	"github.com/rustok/rustok/domain"
	gql "github.com/rustok/rustok/transport/graphql"
)

// argsFields is a module part whose fields answer their arguments as JSON,
// so tests see exactly what a resolver receives.
func argsFields() gql.Fields {
	color := graphql.NewEnum(graphql.EnumConfig{Name: "Color", Values: graphql.EnumValueConfigMap{
		"RED": {Value: "red"}, "GREEN": {Value: "green"},
	}})
	filter := graphql.NewInputObject(graphql.InputObjectConfig{Name: "Filter", Fields: graphql.InputObjectConfigFieldMap{
		"name":  {Type: graphql.String},
		"size":  {Type: graphql.Int},
		"need":  {Type: graphql.NewNonNull(graphql.Boolean)},
		"color": {Type: color},
		"tags":  {Type: graphql.NewList(graphql.String)},
	}})
	show := func(p graphql.ResolveParams) (any, error) {
		b, err := json.Marshal(p.Args)
		return string(b), err
	}
	return gql.Fields{Query: graphql.Fields{
		"show": &graphql.Field{
			Type: graphql.NewNonNull(graphql.String),
			Args: graphql.FieldConfigArgument{
				"i":      {Type: graphql.Int},
				"f":      {Type: graphql.Float},
				"s":      {Type: graphql.String},
				"b":      {Type: graphql.Boolean},
				"id":     {Type: graphql.ID},
				"list":   {Type: graphql.NewList(graphql.Int)},
				"obj":    {Type: filter},
				"e":      {Type: color},
				"p":      {Type: gql.Position},
				"maybeP": {Type: graphql.NewList(gql.Position)},
			},
			Resolve: show,
		},
		"dflted": &graphql.Field{
			Type:    graphql.NewNonNull(graphql.String),
			Args:    graphql.FieldConfigArgument{"dflt": {Type: graphql.Int, DefaultValue: 20}},
			Resolve: show,
		},
		"need": &graphql.Field{
			Type: graphql.NewNonNull(graphql.String),
			Args: graphql.FieldConfigArgument{
				"req": {Type: graphql.NewNonNull(graphql.Int)},
				"ids": {Type: graphql.NewList(graphql.NewNonNull(graphql.ID))},
			},
			Resolve: show,
		},
		"position": &graphql.Field{
			Type:    graphql.NewNonNull(gql.Position),
			Args:    graphql.FieldConfigArgument{"of": {Type: graphql.String}},
			Resolve: func(p graphql.ResolveParams) (any, error) { return int64(9007199254740993), nil },
		},
	}}
}

func newArgsHandler(tb testing.TB, opts gql.Options) *gql.Handler {
	tb.Helper()
	h, err := gql.New(opts, gql.BaseFields("1.2.3"), argsFields())
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return h
}

// answer runs a request and returns its data as JSON (or "") and its error
// messages.
func answer(tb testing.TB, h *gql.Handler, query string, vars map[string]any) (string, []gotError) {
	tb.Helper()
	res := h.Execute(context.Background(), gql.Request{Query: query, Variables: vars})
	return dataJSON(tb, res), errorsOf(res)
}

func TestNullLiterals(t *testing.T) {
	t.Parallel()
	h := newArgsHandler(t, gql.Options{})
	tests := []struct {
		name     string
		query    string
		wantData string
		wantErr  string // substring of the one error message; "" for none
	}{
		{"a null argument is no argument", `{ show(i: null, s: "x") }`, `{"show":"{\"s\":\"x\"}"}`, ""},
		{"null in a list", `{ show(list: [1, null, 2]) }`, `{"show":"{\"list\":[1,null,2]}"}`, ""},
		{"null in an object", `{ show(obj: {name: null, need: true}) }`, `{"show":"{\"obj\":{\"need\":true}}"}`, ""},
		{"null enum", `{ show(e: null) }`, `{"show":"{}"}`, ""},
		{"null position", `{ show(p: null) }`, `{"show":"{}"}`, ""},
		{"null for an argument with a default takes the default", `{ dflted(dflt: null) }`, `{"dflted":"{\"dflt\":20}"}`, ""},
		{"null variable default", `query ($v: Int = null) { show(i: $v) }`, `{"show":"{}"}`, ""},
		{"null inside a list default", `query ($v: [Int] = [null, 3]) { show(list: $v) }`, `{"show":"{\"list\":[null,3]}"}`, ""},
		{"null inside an object default", `query ($v: Filter = {need: false, size: null}) { show(obj: $v) }`, `{"show":"{\"obj\":{\"need\":false}}"}`, ""},
		{"the string null stays a string", `{ show(s: "null", i: null) }`, `{"show":"{\"s\":\"null\"}"}`, ""},
		{"a string like the placeholder stays", `{ show(s: "nl", i: null) }`, `{"show":"{\"s\":\"nl\"}"}`, ""},
		{"block string and multibyte text before a null", `{ show(s: """é null ü""", i: null) }`, `{"show":"{\"s\":\"é null ü\"}"}`, ""},
		{"comment mentioning null", "# null here\n{ show(i: null) }", `{"show":"{}"}`, ""},
		{"an alias named null", `{ null: show(i: 1) }`, `{"null":"{\"i\":1}"}`, ""},
		{"null in directive arguments", `{ show @include(if: null) }`, "", `Argument "if" has invalid value null.`},
		{"null for a non-null argument", `{ need(req: null) }`, "", `Argument "req" has invalid value null.`},
		{"null item in a list of non-null", `{ need(req: 1, ids: ["a", null]) }`, "", `Argument "ids" has invalid value`},
		{"null for a non-null input field", `{ show(obj: {need: null}) }`, "", `In field "need": Expected "Boolean!", found null.`},
		{"a field named null is unknown", `{ null }`, "", `Cannot query field "null" on type "Query".`},
		{"nul is not null", `{ show(i: nul) }`, "", `Argument "i" has invalid value nul.`},
		{"NULL is not null", `{ show(i: NULL) }`, "", `Argument "i" has invalid value NULL.`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data, errs := answer(t, h, tc.query, nil)
			if tc.wantErr == "" {
				if len(errs) > 0 || data != tc.wantData {
					t.Fatalf("data %s, errors %+v; want %s", data, errs, tc.wantData)
				}
				return
			}
			if len(errs) != 1 || !strings.Contains(errs[0].Message, tc.wantErr) || errs[0].Code != "BAD_USER_INPUT" {
				t.Fatalf("errors %+v; want one BAD_USER_INPUT containing %q", errs, tc.wantErr)
			}
			if strings.Contains(errs[0].Message, "<nil>") {
				t.Errorf("message prints Go's nil: %q", errs[0].Message)
			}
		})
	}
}

func TestVariablesAreCoercedAsTheSpecSays(t *testing.T) {
	t.Parallel()
	h := newArgsHandler(t, gql.Options{})
	num := func(s string) json.Number { return json.Number(s) }
	tests := []struct {
		name     string
		decl     string // variable definitions
		use      string // arguments
		vars     map[string]any
		wantData string
		wantErr  string
	}{
		{"Int from a JSON integer", "$v: Int", "i: $v", map[string]any{"v": num("12")}, `{\"i\":12}`, ""},
		{"Int from a string is refused", "$v: Int", "i: $v", map[string]any{"v": "12"}, "", `Variable "$v" got invalid value "12"; Int cannot represent non-integer value: "12"`},
		{"Int from a fraction is refused", "$v: Int", "i: $v", map[string]any{"v": num("1.5")}, "", "Int cannot represent non-integer value: 1.5"},
		{"Int beyond 32 bits is refused", "$v: Int", "i: $v", map[string]any{"v": num("2147483648")}, "", "non 32-bit signed integer"},
		{"Int from a boolean is refused", "$v: Int", "i: $v", map[string]any{"v": true}, "", "Int cannot represent non-integer value: true"},
		{"Int written as 3.0 is an integer", "$v: Int", "i: $v", map[string]any{"v": num("3.0")}, `{\"i\":3}`, ""},
		{"Float from an integer", "$v: Float", "f: $v", map[string]any{"v": num("2")}, `{\"f\":2}`, ""},
		{"Float from a string is refused", "$v: Float", "f: $v", map[string]any{"v": "2.5"}, "", "Float cannot represent non numeric value"},
		{"String from a number is refused", "$v: String", "s: $v", map[string]any{"v": num("5")}, "", "String cannot represent a non string value: 5"},
		{"Boolean from a string is refused", "$v: Boolean", "b: $v", map[string]any{"v": "true"}, "", "Boolean cannot represent a non boolean value"},
		{"ID from an integer", "$v: ID", "id: $v", map[string]any{"v": num("42")}, `{\"id\":\"42\"}`, ""},
		{"ID from a fraction is refused", "$v: ID", "id: $v", map[string]any{"v": num("4.2")}, "", "ID cannot represent value: 4.2"},
		{"enum by name", "$v: Color", "e: $v", map[string]any{"v": "RED"}, `{\"e\":\"red\"}`, ""},
		{"enum by internal value is refused", "$v: Color", "e: $v", map[string]any{"v": "red"}, "", `Value "red" does not exist in "Color" enum.`},
		{"a single value is a list of one", "$v: [Int]", "list: $v", map[string]any{"v": num("7")}, `{\"list\":[7]}`, ""},
		{"list item of the wrong type names its index", "$v: [Int]", "list: $v", map[string]any{"v": []any{num("1"), "2"}}, "", `at "v[1]"`},
		{"input object", "$v: Filter", "obj: $v", map[string]any{"v": map[string]any{"need": true, "size": num("3"), "tags": "x"}}, `{\"obj\":{\"need\":true,\"size\":3,\"tags\":[\"x\"]}}`, ""},
		{"unknown input field is refused", "$v: Filter", "obj: $v", map[string]any{"v": map[string]any{"need": true, "nope": 1}}, "", `Field "nope" is not defined by type "Filter".`},
		{"missing required input field", "$v: Filter", "obj: $v", map[string]any{"v": map[string]any{"size": num("1")}}, "", `Field "need" of required type "Boolean!" was not provided.`},
		{"input field of the wrong type names its path", "$v: Filter", "obj: $v", map[string]any{"v": map[string]any{"need": true, "size": "big"}}, "", `at "v.size"`},
		{"input object from a string is refused", "$v: Filter", "obj: $v", map[string]any{"v": "{}"}, "", `Expected type "Filter" to be an object.`},
		{"missing required variable", "$v: Int!", "i: $v", map[string]any{}, "", `Variable "$v" of required type "Int!" was not provided.`},
		{"null for a required variable", "$v: Int!", "i: $v", map[string]any{"v": nil}, "", `Expected non-nullable type "Int!" not to be null.`},
		{"absent variable with a default", "$v: Int = 5", "i: $v", map[string]any{}, `{\"i\":5}`, ""},
		{"Position from a string", "$v: Position", "p: $v", map[string]any{"v": "9007199254740993"}, `{\"p\":9007199254740993}`, ""},
		{"Position from a JSON integer keeps every digit", "$v: Position", "p: $v", map[string]any{"v": num("9007199254740993")}, `{\"p\":9007199254740993}`, ""},
		{"Position from a negative number is refused", "$v: Position", "p: $v", map[string]any{"v": num("-1")}, "", `Expected type "Position".`},
		{"Position from a fraction is refused", "$v: Position", "p: $v", map[string]any{"v": "1.5"}, "", `Expected type "Position".`},
		{"Position from text is refused", "$v: Position", "p: $v", map[string]any{"v": "12abc"}, "", `Expected type "Position".`},
		{"undeclared variables are ignored", "$v: Int", "i: $v", map[string]any{"v": num("1"), "other": "x"}, `{\"i\":1}`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data, errs := answer(t, h, "query ("+tc.decl+") { show("+tc.use+") }", tc.vars)
			if tc.wantErr == "" {
				want := `{"show":"` + tc.wantData + `"}`
				if len(errs) > 0 || data != want {
					t.Fatalf("data %s, errors %+v; want %s", data, errs, want)
				}
				return
			}
			if data != "" || len(errs) != 1 || !strings.Contains(errs[0].Message, tc.wantErr) || errs[0].Code != "BAD_USER_INPUT" {
				t.Fatalf("data %q, errors %+v; want no data and one BAD_USER_INPUT containing %q", data, errs, tc.wantErr)
			}
		})
	}
}

func TestPositionScalar(t *testing.T) {
	t.Parallel()
	h := newArgsHandler(t, gql.Options{})
	tests := []struct {
		name, query, wantData, wantErr string
	}{
		{"output is a decimal string", `{ position }`, `{"position":"9007199254740993"}`, ""},
		{"string literal", `{ show(p: "17") }`, `{"show":"{\"p\":17}"}`, ""},
		{"integer literal", `{ show(p: 17) }`, `{"show":"{\"p\":17}"}`, ""},
		{"largest position", `{ show(p: "9223372036854775807") }`, `{"show":"{\"p\":9223372036854775807}"}`, ""},
		{"beyond 63 bits", `{ show(p: "9223372036854775808") }`, "", `Argument "p" has invalid value "9223372036854775808"`},
		{"negative", `{ show(p: -1) }`, "", `Argument "p" has invalid value -1`},
		{"float literal", `{ show(p: 1e9) }`, "", `Argument "p" has invalid value 1e9`},
		{"signed string", `{ show(p: "+5") }`, "", `Argument "p" has invalid value "+5"`},
		{"empty string", `{ show(p: "") }`, "", `Argument "p" has invalid value ""`},
		{"list of positions", `{ show(maybeP: ["1", 2, null]) }`, `{"show":"{\"maybeP\":[1,2,null]}"}`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data, errs := answer(t, h, tc.query, nil)
			if tc.wantErr == "" {
				if len(errs) > 0 || data != tc.wantData {
					t.Fatalf("data %s, errors %+v; want %s", data, errs, tc.wantData)
				}
				return
			}
			if len(errs) != 1 || !strings.Contains(errs[0].Message, tc.wantErr) || errs[0].Code != "BAD_USER_INPUT" {
				t.Fatalf("errors %+v; want one BAD_USER_INPUT containing %q", errs, tc.wantErr)
			}
		})
	}
}

// fakeWaiter reaches positions up to reachable at once, and never reaches
// the others (the wait lasts until its timeout). It counts waits.
type fakeWaiter struct {
	mu        sync.Mutex
	reachable int64
	waits     int
	waited    time.Duration
}

func (w *fakeWaiter) WaitFor(ctx context.Context, position int64, _ []string, timeout time.Duration) (bool, error) {
	w.mu.Lock()
	w.waits++
	reachable := w.reachable
	w.mu.Unlock()
	if position <= reachable {
		return true, nil
	}
	start := time.Now()
	select {
	case <-time.After(timeout):
	case <-ctx.Done():
		return false, ctx.Err()
	}
	w.mu.Lock()
	w.waited += time.Since(start)
	w.mu.Unlock()
	return false, nil
}

// awaitFields has a field that waits for its minPosition, as currentTenant does.
func awaitFields() gql.Fields {
	return gql.Fields{Query: graphql.Fields{
		"fresh": &graphql.Field{
			Type: graphql.NewNonNull(graphql.String),
			Args: graphql.FieldConfigArgument{"minPosition": {Type: gql.Position}},
			Resolve: func(p graphql.ResolveParams) (any, error) {
				pos, _ := p.Args["minPosition"].(int64)
				if err := gql.AwaitPosition(p.Context, pos); err != nil {
					return nil, err
				}
				return "read", nil
			},
		},
	}}
}

func TestReadYourWrites(t *testing.T) {
	t.Parallel()
	const head = 100
	newHandler := func(t *testing.T, timeout time.Duration) (*gql.Handler, *fakeWaiter) {
		w := &fakeWaiter{reachable: 50}
		h, err := gql.New(gql.Options{ReadYourWrites: gql.ReadYourWrites{
			Waiter:    w,
			Head:      func(context.Context) (int64, error) { return head, nil },
			Consumers: []string{"tenants"},
			Timeout:   timeout,
		}}, gql.BaseFields("1"), awaitFields())
		if err != nil {
			t.Fatal(err)
		}
		return h, w
	}

	t.Run("a reached position answers with reached true", func(t *testing.T) {
		h, w := newHandler(t, time.Second)
		res := h.Execute(context.Background(), gql.Request{Query: `{ fresh(minPosition: "40") }`})
		ext, _ := json.Marshal(res.Extensions)
		if len(res.Errors) > 0 || string(ext) != `{"readYourWrites":{"position":"40","reached":true}}` || w.waits != 1 {
			t.Fatalf("errors %+v, extensions %s, waits %d", res.Errors, ext, w.waits)
		}
	})
	t.Run("no position, no extension and no wait", func(t *testing.T) {
		h, w := newHandler(t, time.Second)
		res := h.Execute(context.Background(), gql.Request{Query: `{ fresh }`})
		if len(res.Errors) > 0 || res.Extensions != nil || w.waits != 0 {
			t.Fatalf("errors %+v, extensions %v, waits %d", res.Errors, res.Extensions, w.waits)
		}
	})
	t.Run("thirty aliases wait once, within one timeout", func(t *testing.T) {
		h, w := newHandler(t, 200*time.Millisecond)
		var b strings.Builder
		b.WriteString("{")
		for i := range 30 {
			b.WriteString(" a" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + `: fresh(minPosition: 80)`)
		}
		b.WriteString(" }")
		start := time.Now()
		res := h.Execute(context.Background(), gql.Request{Query: b.String()})
		elapsed := time.Since(start)
		ext, _ := json.Marshal(res.Extensions)
		if len(res.Errors) > 0 || string(ext) != `{"readYourWrites":{"position":"80","reached":false}}` {
			t.Fatalf("errors %+v, extensions %s", res.Errors, ext)
		}
		if w.waited > 400*time.Millisecond || elapsed > 5*time.Second {
			t.Fatalf("waited %v in total (request took %v), want one 200ms budget", w.waited, elapsed)
		}
	})
	t.Run("a position beyond the head is refused at once", func(t *testing.T) {
		h, w := newHandler(t, time.Hour)
		res := h.Execute(context.Background(), gql.Request{Query: `{ fresh(minPosition: "1000000000") }`})
		errs := errorsOf(res)
		if len(errs) != 1 || errs[0].Code != "BAD_USER_INPUT" || errs[0].Field != "minPosition" ||
			errs[0].Message != "position 1000000000 is beyond the end of the event log" || w.waits != 0 {
			t.Fatalf("errors %+v, waits %d", errs, w.waits)
		}
	})
	t.Run("a later field with a higher position uses what is left of the budget", func(t *testing.T) {
		h, w := newHandler(t, 150*time.Millisecond)
		res := h.Execute(context.Background(), gql.Request{Query: `{ a: fresh(minPosition: 30) b: fresh(minPosition: 90) c: fresh(minPosition: 95) }`})
		ext, _ := json.Marshal(res.Extensions)
		if len(res.Errors) > 0 || string(ext) != `{"readYourWrites":{"position":"95","reached":false}}` {
			t.Fatalf("errors %+v, extensions %s", res.Errors, ext)
		}
		if w.waited > 300*time.Millisecond {
			t.Fatalf("waited %v, want one 150ms budget", w.waited)
		}
	})
	t.Run("head failure is internal", func(t *testing.T) {
		h, err := gql.New(gql.Options{ReadYourWrites: gql.ReadYourWrites{
			Waiter: &fakeWaiter{}, Head: func(context.Context) (int64, error) { return 0, errors.New("db down") },
		}}, gql.BaseFields("1"), awaitFields())
		if err != nil {
			t.Fatal(err)
		}
		errs := errorsOf(h.Execute(context.Background(), gql.Request{Query: `{ fresh(minPosition: 1) }`}))
		if len(errs) != 1 || errs[0].Code != "INTERNAL" || strings.Contains(errs[0].Message, "db down") {
			t.Fatalf("errors %+v", errs)
		}
	})
}

func TestTenantIsRequiredExceptForIntrospection(t *testing.T) {
	t.Parallel()
	noTenant := domain.BadInput("tenant header X-Tenant-ID is required")
	var asked int
	h, err := gql.New(gql.Options{Introspection: true, RequireTenant: func(context.Context) error {
		asked++
		return noTenant
	}}, gql.BaseFields("1.2.3"), argsFields())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		query    string
		op       string
		needs    bool
		wantData string
	}{
		{"schema", `{ __schema { queryType { name } } }`, "", false, `{"__schema":{"queryType":{"name":"Query"}}}`},
		{"type and typename", `{ __typename __type(name: "Query") { name } }`, "", false, `{"__type":{"name":"Query"},"__typename":"Query"}`},
		{"through fragments", `query { ...F } fragment F on Query { __typename ... on Query { __schema { queryType { name } } } }`, "", false, `{"__schema":{"queryType":{"name":"Query"}},"__typename":"Query"}`},
		{"data field", `{ health }`, "", true, ""},
		{"data beside introspection", `{ __typename health }`, "", true, ""},
		{"data in a fragment", `{ __typename ...F } fragment F on Query { health }`, "", true, ""},
		{"named operation picks introspection", `query A { health } query B { __typename }`, "B", false, `{"__typename":"Query"}`},
		{"named operation picks data", `query A { health } query B { __typename }`, "A", true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			asked = 0
			res := h.Execute(context.Background(), gql.Request{Query: tc.query, OperationName: tc.op})
			errs := errorsOf(res)
			if tc.needs {
				if asked != 1 || len(errs) != 1 || errs[0].Code != "BAD_USER_INPUT" || errs[0].Message != "tenant header X-Tenant-ID is required" || res.Data != nil {
					t.Fatalf("asked %d, data %v, errors %+v", asked, res.Data, errs)
				}
				return
			}
			if asked != 0 || len(errs) > 0 || dataJSON(t, res) != tc.wantData {
				t.Fatalf("asked %d, data %s, errors %+v", asked, dataJSON(t, res), errs)
			}
		})
	}
}
