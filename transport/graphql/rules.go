package gql

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/gqlerrors"
	"github.com/graphql-go/graphql/language/ast"
	"github.com/graphql-go/graphql/language/kinds"
	"github.com/graphql-go/graphql/language/visitor"
)

// Complexity constants. See complexityRule.
const (
	// defaultListSize is the assumed length of a list whose size the
	// query does not give.
	defaultListSize = 10
	// variableListSize is the assumed `first` when it is a variable: the
	// document is validated once and cached, before any variable value is
	// known, so the largest page the contract allows is assumed.
	variableListSize = 100
	// costCap keeps cost arithmetic from overflowing; it is far above any
	// sensible limit.
	costCap = math.MaxInt32
)

// limitRules returns the rules of the limits pass, run before the
// specification's rules, which only see documents that pass it. A limit
// below zero is off.
//
// NoFragmentCyclesRule is part of this pass on purpose: graphql-go v0.8.1's
// OverlappingFieldsCanBeMergedRule recurses without end on a fragment that
// spreads itself (`fragment A on T { ...A }`) and overflows the stack, a
// fatal error no recover catches. Never run the specified rules on a document
// that has not passed the cycle check.
func limitRules(l Limits, introspection introspectionBudget) []graphql.ValidationRuleFn {
	rules := []graphql.ValidationRuleFn{executableDefinitionsRule, graphql.NoFragmentCyclesRule, introspection.rule}
	if l.MaxDepth > 0 {
		rules = append(rules, depthRule(l.MaxDepth))
	}
	if l.MaxComplexity > 0 {
		rules = append(rules, complexityRule(l.MaxComplexity))
	}
	return rules
}

// documentRule runs check once on the whole document and skips the rest of
// the visit: the limit rules walk the AST themselves.
func documentRule(check func(doc *ast.Document)) *graphql.ValidationRuleInstance {
	return &graphql.ValidationRuleInstance{VisitorOpts: &visitor.VisitorOptions{
		KindFuncMap: map[string]visitor.NamedVisitFuncs{
			kinds.Document: {Kind: func(p visitor.VisitFuncParams) (string, any) {
				if doc, ok := p.Node.(*ast.Document); ok {
					check(doc)
				}
				return visitor.ActionSkip, nil
			}},
		},
	}}
}

func report(vc *graphql.ValidationContext, node ast.Node, format string, args ...any) {
	vc.ReportError(gqlerrors.NewError(fmt.Sprintf(format, args...), []ast.Node{node}, "", nil, []int{}, nil))
}

// executableDefinitionsRule rejects type system definitions in a request:
// graphql-go's specified rules do not, and only fail at execution.
func executableDefinitionsRule(vc *graphql.ValidationContext) *graphql.ValidationRuleInstance {
	return documentRule(func(doc *ast.Document) {
		for _, d := range doc.Definitions {
			switch d.(type) {
			case *ast.OperationDefinition, *ast.FragmentDefinition:
			default:
				report(vc, d, "only operations and fragments can be executed, not a %s", d.GetKind())
			}
		}
	})
}

// depthRule rejects documents nested deeper than limit fields. Depth counts
// fields, not inline fragments or spreads: `{ a { b } }` has depth 2 with or
// without fragments in between. Each operation and each fragment is checked;
// fields whose name begins with "__" (introspection, __typename) do not
// count, as introspection is either off (rejected by its own rule) or
// deliberately on. See eachRoot for what is checked.
func depthRule(limit int) graphql.ValidationRuleFn {
	return func(vc *graphql.ValidationContext) *graphql.ValidationRuleInstance {
		return documentRule(func(doc *ast.Document) {
			a := newAnalyzer(vc.Schema(), doc)
			worst, at := 0, ast.Node(nil)
			a.eachRoot(doc, func(d ast.Node, op *ast.OperationDefinition, frag string) {
				depth := 0
				if op != nil {
					depth = a.depth(op.SelectionSet)
				} else {
					depth = a.fragmentDepth(frag)
				}
				if depth > worst {
					worst, at = depth, d
				}
			})
			if worst > limit {
				report(vc, at, "query depth %d exceeds the limit of %d", worst, limit)
			}
		})
	}
}

// complexityRule rejects documents that cost more than limit, where
//
//   - each field costs 1 plus, when it has a selection, factor × the cost
//     of its selection;
//   - the factor of a list field is its `first` argument when given (a
//     variable counts as 100, the largest page), else the `first` of the
//     connection field just above it (so that `users(first: 50) { edges
//     { node { id } } }` counts 50 edges), else 10;
//   - the factor of any other field is 1;
//   - fields whose name begins with "__" cost nothing (see depthRule).
//
// See eachRoot for what is checked.
func complexityRule(limit int) graphql.ValidationRuleFn {
	return func(vc *graphql.ValidationContext) *graphql.ValidationRuleInstance {
		return documentRule(func(doc *ast.Document) {
			a := newAnalyzer(vc.Schema(), doc)
			worst, at := 0, ast.Node(nil)
			a.eachRoot(doc, func(d ast.Node, op *ast.OperationDefinition, frag string) {
				cost := 0
				if op != nil {
					cost = a.selectionCost(op.SelectionSet, a.rootType(op.Operation), 0)
				} else {
					cost = a.fragmentCost(frag, 0)
				}
				if cost > worst {
					worst, at = cost, d
				}
			})
			if worst > limit {
				report(vc, at, "query complexity %d exceeds the limit of %d", worst, limit)
			}
		})
	}
}

// noIntrospectionRule rejects __schema and __type when introspection is off.
// __typename stays allowed: clients need it to read unions.
func noIntrospectionRule(vc *graphql.ValidationContext) *graphql.ValidationRuleInstance {
	return &graphql.ValidationRuleInstance{VisitorOpts: &visitor.VisitorOptions{
		KindFuncMap: map[string]visitor.NamedVisitFuncs{
			kinds.Field: {Kind: func(p visitor.VisitFuncParams) (string, any) {
				if f, ok := p.Node.(*ast.Field); ok {
					if name := nameOf(f.Name); name == "__schema" || name == "__type" {
						report(vc, f, "introspection is disabled")
					}
				}
				return visitor.ActionNoChange, nil
			}},
		},
	}}
}

// analyzer computes depth and cost over one document. Fragment results are
// memoized, which keeps the walk linear even when fragments spread each other
// many times; a fragment met again while it is being computed (a cycle, which
// the specified NoFragmentCycles rule reports) contributes 0.
type analyzer struct {
	schema    *graphql.Schema
	fragments map[string]*ast.FragmentDefinition
	depths    map[string]int
	costs     map[costKey]int
	visiting  map[string]bool
	used      map[string]bool // fragments reached from an operation (markUsed)
}

// eachRoot calls check for every operation, then for every fragment that no
// operation spreads (with op nil). Unused fragments are invalid and rejected
// by the specified rules, but those rules must not be handed a huge one;
// used fragments are measured where they are spread, with the `first` their
// connection gives them, which a standalone measure would not know.
func (a *analyzer) eachRoot(doc *ast.Document, check func(d ast.Node, op *ast.OperationDefinition, fragment string)) {
	for _, d := range doc.Definitions {
		if op, ok := d.(*ast.OperationDefinition); ok {
			check(op, op, "")
		}
	}
	for _, d := range doc.Definitions {
		if f, ok := d.(*ast.FragmentDefinition); ok && !a.used[nameOf(f.Name)] {
			check(f, nil, nameOf(f.Name))
		}
	}
}

type costKey struct {
	fragment string
	pending  int // the `first` inherited from a connection field
}

func newAnalyzer(schema *graphql.Schema, doc *ast.Document) *analyzer {
	a := &analyzer{
		schema:    schema,
		fragments: fragmentsOf(doc),
		depths:    map[string]int{},
		costs:     map[costKey]int{},
		visiting:  map[string]bool{},
		used:      map[string]bool{},
	}
	a.markUsed(doc)
	return a
}

// markUsed marks every fragment that an operation spreads, directly or
// through other fragments, introspection selections included, so that
// eachRoot measures only the fragments no operation reaches.
func (a *analyzer) markUsed(doc *ast.Document) {
	var pending []*ast.SelectionSet
	for _, d := range doc.Definitions {
		if op, ok := d.(*ast.OperationDefinition); ok {
			pending = append(pending, op.SelectionSet)
		}
	}
	for len(pending) > 0 {
		ss := pending[len(pending)-1]
		pending = pending[:len(pending)-1]
		if ss == nil {
			continue
		}
		for _, sel := range ss.Selections {
			switch s := sel.(type) {
			case *ast.Field:
				pending = append(pending, s.SelectionSet)
			case *ast.InlineFragment:
				pending = append(pending, s.SelectionSet)
			case *ast.FragmentSpread:
				name := nameOf(s.Name)
				if f := a.fragments[name]; f != nil && !a.used[name] {
					a.used[name] = true
					pending = append(pending, f.SelectionSet)
				}
			}
		}
	}
}

func (a *analyzer) depth(ss *ast.SelectionSet) int {
	if ss == nil {
		return 0
	}
	deepest := 0
	for _, sel := range ss.Selections {
		d := 0
		switch s := sel.(type) {
		case *ast.Field:
			if isMetaField(s) {
				continue
			}
			d = 1 + a.depth(s.SelectionSet)
		case *ast.InlineFragment:
			d = a.depth(s.SelectionSet)
		case *ast.FragmentSpread:
			d = a.fragmentDepth(nameOf(s.Name))
		}
		deepest = max(deepest, d)
	}
	return deepest
}

func (a *analyzer) fragmentDepth(name string) int {
	if d, ok := a.depths[name]; ok {
		return d
	}
	f := a.fragments[name]
	if f == nil || a.visiting[name] {
		return 0
	}
	a.visiting[name] = true
	d := a.depth(f.SelectionSet)
	delete(a.visiting, name)
	a.depths[name] = d
	return d
}

// selectionCost is the cost of ss on parent (nil when unknown: an invalid
// document, reported by the specified rules). pending is the `first` of the
// connection field that owns ss, or 0.
func (a *analyzer) selectionCost(ss *ast.SelectionSet, parent graphql.Type, pending int) int {
	if ss == nil {
		return 0
	}
	total := 0
	for _, sel := range ss.Selections {
		switch s := sel.(type) {
		case *ast.Field:
			if !isMetaField(s) {
				total = addCost(total, a.fieldCost(s, parent, pending))
			}
		case *ast.InlineFragment:
			t := parent
			if s.TypeCondition != nil {
				t = a.schema.Type(nameOf(s.TypeCondition.Name))
			}
			total = addCost(total, a.selectionCost(s.SelectionSet, t, pending))
		case *ast.FragmentSpread:
			total = addCost(total, a.fragmentCost(nameOf(s.Name), pending))
		}
	}
	return total
}

func (a *analyzer) fieldCost(f *ast.Field, parent graphql.Type, pending int) int {
	if f.SelectionSet == nil {
		return 1
	}
	var child graphql.Type
	isList, declaresFirst := false, false
	if def := fieldDef(parent, nameOf(f.Name)); def != nil {
		child, isList = unwrapType(def.Type)
		for _, arg := range def.Args {
			declaresFirst = declaresFirst || arg.Name() == "first"
		}
	}
	first, given := firstArg(f)
	factor, childPending := 1, 0
	switch {
	case isList && given:
		factor = first
	case isList && pending > 0:
		factor = pending
	case isList:
		factor = defaultListSize
	case given:
		childPending = first
	case declaresFirst:
		childPending = defaultListSize
	}
	return addCost(1, mulCost(factor, a.selectionCost(f.SelectionSet, child, childPending)))
}

func (a *analyzer) fragmentCost(name string, pending int) int {
	key := costKey{fragment: name, pending: pending}
	if c, ok := a.costs[key]; ok {
		return c
	}
	f := a.fragments[name]
	if f == nil || a.visiting[name] {
		return 0
	}
	var t graphql.Type
	if f.TypeCondition != nil {
		t = a.schema.Type(nameOf(f.TypeCondition.Name))
	}
	a.visiting[name] = true
	c := a.selectionCost(f.SelectionSet, t, pending)
	delete(a.visiting, name)
	a.costs[key] = c
	return c
}

func (a *analyzer) rootType(operation string) graphql.Type {
	var t *graphql.Object
	switch operation {
	case ast.OperationTypeQuery:
		t = a.schema.QueryType()
	case ast.OperationTypeMutation:
		t = a.schema.MutationType()
	case ast.OperationTypeSubscription:
		t = a.schema.SubscriptionType()
	}
	if t == nil {
		return nil // a nil *Object in an interface would not compare to nil
	}
	return t
}

// fieldDef returns the definition of field name on parent, or nil.
func fieldDef(parent graphql.Type, name string) *graphql.FieldDefinition {
	switch p := parent.(type) {
	case *graphql.Object:
		return p.Fields()[name]
	case *graphql.Interface:
		return p.Fields()[name]
	}
	return nil
}

// unwrapType returns the named type under t's non-null and list wrappers and
// reports whether t is a list.
func unwrapType(t graphql.Type) (named graphql.Type, isList bool) {
	for {
		switch w := t.(type) {
		case *graphql.NonNull:
			t = w.OfType
		case *graphql.List:
			isList = true
			t = w.OfType
		default:
			return t, isList
		}
	}
}

// firstArg returns the field's `first` argument as written: a literal int
// (clamped to [0, costCap]) or a variable (variableListSize).
func firstArg(f *ast.Field) (n int, given bool) {
	for _, arg := range f.Arguments {
		if nameOf(arg.Name) != "first" {
			continue
		}
		switch v := arg.Value.(type) {
		case *ast.IntValue:
			n, err := strconv.Atoi(v.Value)
			if err != nil || n > costCap { // too large for an int
				return costCap, true
			}
			return max(n, 0), true
		case *ast.Variable:
			return variableListSize, true
		}
	}
	return 0, false
}

// fragmentsOf returns the fragment definitions of doc by name (the last one
// of a name wins; duplicates are refused by the specified rules).
func fragmentsOf(doc *ast.Document) map[string]*ast.FragmentDefinition {
	out := map[string]*ast.FragmentDefinition{}
	for _, d := range doc.Definitions {
		if f, ok := d.(*ast.FragmentDefinition); ok {
			out[nameOf(f.Name)] = f
		}
	}
	return out
}

func isMetaField(f *ast.Field) bool { return strings.HasPrefix(nameOf(f.Name), "__") }

func nameOf(n *ast.Name) string {
	if n == nil {
		return ""
	}
	return n.Value
}

func addCost(a, b int) int { return min(a+b, costCap) } // both ≤ costCap: no overflow

func mulCost(a, b int) int {
	if a == 0 || b == 0 {
		return 0
	}
	if a > costCap/b {
		return costCap
	}
	return a * b
}
