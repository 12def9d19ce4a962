package gql

import (
	"fmt"
	"strings"

	"github.com/graphql-go/graphql/gqlerrors"
	"github.com/graphql-go/graphql/language/ast"
	"github.com/graphql-go/graphql/language/parser"
	"github.com/graphql-go/graphql/language/source"
)

// nullPlaceholder stands in for a `null` literal while graphql-go's parser,
// which has no null value, reads the document. It is a string literal of the
// same length as "null", so every location in the document stays the same;
// the parsed placeholders are found again by their offsets, never by their
// text, so a client's own "nl" string is left alone.
const nullPlaceholder = `"nl"`

// parseDocument parses a query document with graphql-go's parser and adds
// what that parser lacks: `null` literals in value positions become nil
// values, which graphql-go's validation and execution already treat as null
// (a nil argument, object field, list item or variable default). sc is the
// document's scan. The error is a syntax error, as graphql-go words it.
func parseDocument(query string, sc scanResult) (*ast.Document, error) {
	body := []byte(query)
	if len(sc.nulls) > 0 {
		for _, off := range sc.nulls {
			copy(body[off:], nullPlaceholder)
		}
	}
	doc, err := parser.Parse(parser.ParseParams{
		Source: source.NewSource(&source.Source{Body: body, Name: "GraphQL request"}),
	})
	if err != nil {
		return nil, err
	}
	if len(sc.nulls) == 0 {
		return doc, nil
	}
	r := nullRestorer{at: make(map[int]bool, len(sc.nulls))}
	for _, off := range sc.nulls {
		r.at[off] = true
	}
	r.document(doc)
	if r.restored != len(sc.nulls) {
		// Every null the scan placed is a value the parser must have read;
		// anything else means the two disagree about the grammar.
		return nil, gqlerrors.NewSyntaxError(doc.Loc.Source, sc.nulls[0],
			fmt.Sprintf("Unexpected null: found %d of %d null values", r.restored, len(sc.nulls)))
	}
	return doc, nil
}

// nullRestorer replaces the placeholders at the offsets in at by nil values.
type nullRestorer struct {
	at       map[int]bool
	restored int
}

// value returns nil for a placeholder and v otherwise, after restoring the
// placeholders inside v.
func (r *nullRestorer) value(v ast.Value) ast.Value {
	switch v := v.(type) {
	case *ast.StringValue:
		if v.Loc != nil && r.at[v.Loc.Start] {
			r.restored++
			return nil
		}
	case *ast.ListValue:
		for i, item := range v.Values {
			v.Values[i] = r.value(item)
		}
	case *ast.ObjectValue:
		for _, f := range v.Fields {
			if f != nil {
				f.Value = r.value(f.Value)
			}
		}
	}
	return v
}

func (r *nullRestorer) arguments(args []*ast.Argument) {
	for _, a := range args {
		if a != nil {
			a.Value = r.value(a.Value)
		}
	}
}

func (r *nullRestorer) directives(ds []*ast.Directive) {
	for _, d := range ds {
		if d != nil {
			r.arguments(d.Arguments)
		}
	}
}

func (r *nullRestorer) selections(ss *ast.SelectionSet) {
	if ss == nil {
		return
	}
	for _, sel := range ss.Selections {
		switch s := sel.(type) {
		case *ast.Field:
			r.arguments(s.Arguments)
			r.directives(s.Directives)
			r.selections(s.SelectionSet)
		case *ast.InlineFragment:
			r.directives(s.Directives)
			r.selections(s.SelectionSet)
		case *ast.FragmentSpread:
			r.directives(s.Directives)
		}
	}
}

func (r *nullRestorer) document(doc *ast.Document) {
	for _, d := range doc.Definitions {
		switch d := d.(type) {
		case *ast.OperationDefinition:
			for _, v := range d.VariableDefinitions {
				if v != nil {
					v.DefaultValue = r.value(v.DefaultValue)
				}
			}
			r.directives(d.Directives)
			r.selections(d.SelectionSet)
		case *ast.FragmentDefinition:
			r.directives(d.Directives)
			r.selections(d.SelectionSet)
		}
	}
}

// nullText is how graphql-go's messages print a nil value.
const nullText = "<nil>"

// withNullWording rewrites graphql-go's wording of a nil value in a
// validation message ("has invalid value <nil>.") into GraphQL's own: null.
func withNullWording(msg string) string {
	if !strings.Contains(msg, nullText) {
		return msg
	}
	return strings.ReplaceAll(msg, nullText, "null")
}
