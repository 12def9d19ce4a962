package gql

import (
	"fmt"

	"github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/language/ast"
	"github.com/graphql-go/graphql/language/parser"
)

// Introspection is bounded apart from data queries, as mature GraphQL
// servers do: schema tools send one deep, fragment-heavy query
// (graphql-js's getIntrospectionQuery: 13 levels of nesting, types × fields
// × arguments) that no sensible data limit admits, while its cost depends
// only on the schema, which the server knows. So the data limits (depth,
// complexity) skip introspection fields, and introspectionBudget bounds them
// instead by an upper bound of the answer's size:
//
//   - each introspection field costs 1 plus, when it has a selection,
//     factor × the cost of that selection;
//   - the factor of an introspection list (__Schema.types, __Type.fields,
//     __Field.args, …) is the longest such list in this schema (all types,
//     the most fields of any type, …); other fields have factor 1.
//
// The budget is twice the cost of the standard introspection query
// (standardIntrospectionQuery, graphql-js 17's getIntrospectionQuery()) on
// this schema, so every schema tool passes, whatever the schema grows to,
// while a query that nests `fields { type { fields { … } } }` to multiply
// its answer is refused.

// introspectionFactors are the longest lists of each introspection list
// field in one schema, by "ParentType.field".
type introspectionFactors map[string]int

// introspectionBudget bounds the introspection part of a document.
type introspectionBudget struct {
	factors introspectionFactors
	limit   int
}

// newIntrospectionBudget measures schema and returns its budget.
func newIntrospectionBudget(schema *graphql.Schema) (introspectionBudget, error) {
	b := introspectionBudget{factors: measureIntrospection(schema)}
	doc, err := parser.Parse(parser.ParseParams{Source: standardIntrospectionQuery})
	if err != nil {
		return b, fmt.Errorf("parse the standard introspection query: %w", err)
	}
	b.limit = max(2*b.cost(schema, doc), 1000)
	return b, nil
}

func measureIntrospection(schema *graphql.Schema) introspectionFactors {
	f := introspectionFactors{
		"__Schema.types":      len(schema.TypeMap()),
		"__Schema.directives": len(schema.Directives()),
	}
	grow := func(key string, n int) { f[key] = max(f[key], n) }
	for _, t := range schema.TypeMap() {
		switch t := t.(type) {
		case *graphql.Object:
			grow("__Type.fields", len(t.Fields()))
			grow("__Type.interfaces", len(t.Interfaces()))
			for _, fd := range t.Fields() {
				grow("__Field.args", len(fd.Args))
			}
		case *graphql.Interface:
			grow("__Type.fields", len(t.Fields()))
			grow("__Type.possibleTypes", len(schema.PossibleTypes(t)))
			for _, fd := range t.Fields() {
				grow("__Field.args", len(fd.Args))
			}
		case *graphql.Union:
			grow("__Type.possibleTypes", len(t.Types()))
		case *graphql.Enum:
			grow("__Type.enumValues", len(t.Values()))
		case *graphql.InputObject:
			grow("__Type.inputFields", len(t.Fields()))
		}
	}
	for _, d := range schema.Directives() {
		grow("__Directive.args", len(d.Args))
	}
	return f
}

// cost returns the introspection cost of the operations of doc: the sum,
// over every __schema and __type field, of its cost.
func (b introspectionBudget) cost(schema *graphql.Schema, doc *ast.Document) int {
	m := introspectionMeter{b: b, schema: schema, fragments: fragmentsOf(doc), memo: map[string]int{}, visiting: map[string]bool{}}
	worst := 0
	for _, d := range doc.Definitions {
		if op, ok := d.(*ast.OperationDefinition); ok {
			worst = max(worst, m.find(op.SelectionSet))
		}
	}
	return worst
}

// rule is the validation rule that refuses a document whose introspection
// cost exceeds the budget.
func (b introspectionBudget) rule(vc *graphql.ValidationContext) *graphql.ValidationRuleInstance {
	return documentRule(func(doc *ast.Document) {
		if cost := b.cost(vc.Schema(), doc); cost > b.limit {
			report(vc, doc, "introspection complexity %d exceeds the limit of %d", cost, b.limit)
		}
	})
}

// introspectionMeter measures one document.
type introspectionMeter struct {
	b         introspectionBudget
	schema    *graphql.Schema
	fragments map[string]*ast.FragmentDefinition
	// memo caches fragment costs: in data context (key "d:NAME", the cost
	// of the introspection fields found inside) and in introspection
	// context (key "i:NAME").
	memo     map[string]int
	visiting map[string]bool
}

// find returns the introspection cost of the __schema and __type fields in
// a data selection set.
func (m *introspectionMeter) find(ss *ast.SelectionSet) int {
	if ss == nil {
		return 0
	}
	total := 0
	for _, sel := range ss.Selections {
		switch s := sel.(type) {
		case *ast.Field:
			switch nameOf(s.Name) {
			case "__schema":
				total = addCost(total, m.fieldCost(s, graphql.SchemaType.Name()))
			case "__type":
				total = addCost(total, m.fieldCost(s, graphql.TypeType.Name()))
			default:
				total = addCost(total, m.find(s.SelectionSet))
			}
		case *ast.InlineFragment:
			total = addCost(total, m.find(s.SelectionSet))
		case *ast.FragmentSpread:
			total = addCost(total, m.fragment("d:", nameOf(s.Name), func(f *ast.FragmentDefinition) int { return m.find(f.SelectionSet) }))
		}
	}
	return total
}

// fieldCost is the cost of an introspection field whose value has type
// typeName (an introspection type).
func (m *introspectionMeter) fieldCost(f *ast.Field, typeName string) int {
	return addCost(1, m.selectionCost(f.SelectionSet, typeName))
}

// selectionCost is the cost of ss on the introspection type parent.
func (m *introspectionMeter) selectionCost(ss *ast.SelectionSet, parent string) int {
	if ss == nil {
		return 0
	}
	total := 0
	for _, sel := range ss.Selections {
		switch s := sel.(type) {
		case *ast.Field:
			name := nameOf(s.Name)
			if s.SelectionSet == nil {
				total = addCost(total, 1)
				continue
			}
			child := ""
			if def := fieldDef(m.schema.Type(parent), name); def != nil {
				if t, _ := unwrapType(def.Type); t != nil {
					child = t.Name()
				}
			}
			factor := max(m.b.factors[parent+"."+name], 1)
			total = addCost(total, addCost(1, mulCost(factor, m.selectionCost(s.SelectionSet, child))))
		case *ast.InlineFragment:
			total = addCost(total, m.selectionCost(s.SelectionSet, parent))
		case *ast.FragmentSpread:
			total = addCost(total, m.fragment("i:", nameOf(s.Name), func(f *ast.FragmentDefinition) int {
				t := parent
				if f.TypeCondition != nil {
					t = nameOf(f.TypeCondition.Name)
				}
				return m.selectionCost(f.SelectionSet, t)
			}))
		}
	}
	return total
}

// fragment returns the memoized measure of fragment name; a fragment met
// again while it is measured (a cycle, refused by NoFragmentCycles) counts 0.
func (m *introspectionMeter) fragment(prefix, name string, measure func(*ast.FragmentDefinition) int) int {
	key := prefix + name
	if c, ok := m.memo[key]; ok {
		return c
	}
	f := m.fragments[name]
	if f == nil || m.visiting[key] {
		return 0
	}
	m.visiting[key] = true
	c := measure(f)
	delete(m.visiting, key)
	m.memo[key] = c
	return c
}

// standardIntrospectionQuery is what graphql-js 17.1's getIntrospectionQuery()
// returns with its default options: the query GraphiQL, Apollo tools,
// graphql-codegen, Insomnia and Postman send.
const standardIntrospectionQuery = `
query IntrospectionQuery {
  __schema {
    queryType { name kind }
    mutationType { name kind }
    subscriptionType { name kind }
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
  ofType { name kind ofType { name kind ofType { name kind ofType { name kind ofType { name kind
    ofType { name kind ofType { name kind ofType { name kind ofType { name kind } } } } } } } } }
}
`

// rootIntrospection reports whether the root selection of op asks for
// introspection only (__schema, __type and __typename; no tenant needed)
// and whether it asks for __schema or __type at all. A nil op (the request
// names no single operation; execution reports why) is neither.
func rootIntrospection(doc *ast.Document, op *ast.OperationDefinition) (only, any bool) {
	if op == nil {
		return false, false
	}
	fragments := fragmentsOf(doc)
	only = true
	seen := map[string]bool{}
	var walk func(ss *ast.SelectionSet)
	walk = func(ss *ast.SelectionSet) {
		if ss == nil {
			return
		}
		for _, sel := range ss.Selections {
			switch s := sel.(type) {
			case *ast.Field:
				switch nameOf(s.Name) {
				case "__schema", "__type":
					any = true
				case "__typename":
				default:
					only = false
				}
			case *ast.InlineFragment:
				walk(s.SelectionSet)
			case *ast.FragmentSpread:
				name := nameOf(s.Name)
				if f := fragments[name]; f != nil && !seen[name] {
					seen[name] = true
					walk(f.SelectionSet)
				}
			}
		}
	}
	walk(op.SelectionSet)
	return only, any
}

// nullBlankDescriptions turns the empty descriptions of an introspection
// answer into null. graphql-go answers "" for a type, field, argument or
// enum value without a description, which tools then print as an empty
// description; the specification and graphql-js answer null. Every object
// below __schema and __type is an introspection object, so every
// `description` field there is one of those; fields are found by their
// response keys (aliases included) by walking the operation with the data.
func nullBlankDescriptions(doc *ast.Document, op *ast.OperationDefinition, data any) {
	fragments := fragmentsOf(doc)
	var walk func(ss *ast.SelectionSet, v any, inside bool, depth int)
	walk = func(ss *ast.SelectionSet, v any, inside bool, depth int) {
		if ss == nil || depth > 64 { // answers are bounded by the depth limits; 64 only guards a cycle
			return
		}
		switch v := v.(type) {
		case []any:
			for _, item := range v {
				walk(ss, item, inside, depth)
			}
		case map[string]any:
			for _, sel := range ss.Selections {
				switch s := sel.(type) {
				case *ast.Field:
					key := nameOf(s.Name)
					if s.Alias != nil {
						key = nameOf(s.Alias)
					}
					value, ok := v[key]
					if !ok {
						continue
					}
					name := nameOf(s.Name)
					if inside && name == "description" && value == "" {
						v[key] = nil
						continue
					}
					walk(s.SelectionSet, value, inside || name == "__schema" || name == "__type", depth+1)
				case *ast.InlineFragment:
					walk(s.SelectionSet, v, inside, depth+1)
				case *ast.FragmentSpread:
					if f := fragments[nameOf(s.Name)]; f != nil {
						walk(f.SelectionSet, v, inside, depth+1)
					}
				}
			}
		}
	}
	walk(op.SelectionSet, data, false, 0)
}
