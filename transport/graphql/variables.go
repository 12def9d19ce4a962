package gql

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/gqlerrors"
	"github.com/graphql-go/graphql/language/ast"
)

// coerceVariables coerces the variable values of a request to the types the
// operation declares, as the GraphQL specification's CoerceVariableValues
// does, and returns them in the form graphql-go's executor accepts unchanged
// (int for Int, float64 for Float, string for String and ID, the value's name
// for an enum). graphql-go's own coercion is lenient where the specification
// is not — it turns the string "12" into the Int 12 and truncates 1.5 — so
// every value passes here first.
//
// raw comes from JSON decoded with UseNumber (numbers are json.Number);
// float64 and int are accepted too. A variable the operation does not declare
// is ignored; an absent one keeps its default, and an absent non-null one
// without a default is an error. Each error names the variable and, inside an
// input object or list, the path to the bad value.
func coerceVariables(schema *graphql.Schema, op *ast.OperationDefinition, raw map[string]any) (map[string]any, []gqlerrors.FormattedError) {
	if op == nil || len(op.VariableDefinitions) == 0 {
		return raw, nil
	}
	out := make(map[string]any, len(op.VariableDefinitions))
	var errs []gqlerrors.FormattedError
	for _, def := range op.VariableDefinitions {
		if def == nil || def.Variable == nil || def.Variable.Name == nil {
			continue
		}
		name := def.Variable.Name.Value
		t := inputTypeOf(schema, def.Type)
		if t == nil {
			continue // refused by validation (VariablesAreInputTypes)
		}
		v, present := raw[name]
		if !present {
			if _, nonNull := t.(*graphql.NonNull); nonNull && def.DefaultValue == nil {
				errs = append(errs, gqlerrors.NewFormattedError(fmt.Sprintf(
					"Variable \"$%s\" of required type \"%s\" was not provided.", name, t)))
			}
			continue
		}
		c := coercer{variable: name}
		value, err := c.coerce(v, t, "")
		if err != nil {
			errs = append(errs, gqlerrors.NewFormattedError(err.Error()))
			continue
		}
		out[name] = value
	}
	return out, errs
}

// inputTypeOf returns the schema type that a variable definition's type
// names, or nil when it names no input type.
func inputTypeOf(schema *graphql.Schema, t ast.Type) graphql.Input {
	switch t := t.(type) {
	case *ast.NonNull:
		inner := inputTypeOf(schema, t.Type)
		if inner == nil {
			return nil
		}
		return graphql.NewNonNull(inner)
	case *ast.List:
		inner := inputTypeOf(schema, t.Type)
		if inner == nil {
			return nil
		}
		return graphql.NewList(inner)
	case *ast.Named:
		if t.Name == nil {
			return nil
		}
		in, ok := schema.Type(t.Name.Value).(graphql.Input)
		if !ok || !graphql.IsInputType(in) {
			return nil
		}
		return in
	}
	return nil
}

// coercer coerces one variable's value.
type coercer struct{ variable string }

// fail returns the error for the value v at path (a suffix like ".a[2]").
func (c coercer) fail(v any, path, reason string) error {
	shown, err := json.Marshal(v)
	if err != nil {
		shown = []byte(fmt.Sprint(v))
	}
	at := ""
	if path != "" {
		at = fmt.Sprintf(" at \"%s%s\"", c.variable, path)
	}
	return fmt.Errorf("Variable \"$%s\" got invalid value %s%s; %s", c.variable, shown, at, reason)
}

func (c coercer) coerce(v any, t graphql.Input, path string) (any, error) {
	if nn, ok := t.(*graphql.NonNull); ok {
		if v == nil {
			return nil, c.fail(v, path, fmt.Sprintf("Expected non-nullable type \"%s\" not to be null.", t))
		}
		return c.coerce(v, nn.OfType, path)
	}
	if v == nil {
		return nil, nil
	}
	switch t := t.(type) {
	case *graphql.List:
		items, ok := v.([]any)
		if !ok { // a single value is a list of one
			item, err := c.coerce(v, t.OfType, path)
			if err != nil {
				return nil, err
			}
			return []any{item}, nil
		}
		out := make([]any, len(items))
		for i, item := range items {
			var err error
			if out[i], err = c.coerce(item, t.OfType, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return nil, err
			}
		}
		return out, nil
	case *graphql.InputObject:
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, c.fail(v, path, fmt.Sprintf("Expected type \"%s\" to be an object.", t.Name()))
		}
		fields := t.Fields()
		for name := range obj {
			if _, known := fields[name]; !known {
				return nil, c.fail(v, path, fmt.Sprintf("Field \"%s\" is not defined by type \"%s\".", name, t.Name()))
			}
		}
		out := make(map[string]any, len(obj))
		for _, name := range sortedKeys(fields) {
			f := fields[name]
			fv, present := obj[name]
			if !present {
				if _, nonNull := f.Type.(*graphql.NonNull); nonNull && f.DefaultValue == nil {
					return nil, c.fail(v, path, fmt.Sprintf("Field \"%s\" of required type \"%s\" was not provided.", name, f.Type))
				}
				continue
			}
			cv, err := c.coerce(fv, f.Type, path+"."+name)
			if err != nil {
				return nil, err
			}
			out[name] = cv
		}
		return out, nil
	case *graphql.Enum:
		s, ok := v.(string)
		if ok {
			for _, ev := range t.Values() {
				if ev.Name == s {
					return s, nil
				}
			}
		}
		return nil, c.fail(v, path, fmt.Sprintf("Value %s does not exist in \"%s\" enum.", jsonText(v), t.Name()))
	case *graphql.Scalar:
		return c.scalar(v, t, path)
	}
	return nil, c.fail(v, path, fmt.Sprintf("\"%s\" is not an input type.", t))
}

// scalar coerces v to the built-in scalar t by the specification's input
// coercion rules, or through t's ParseValue for a custom scalar.
func (c coercer) scalar(v any, t *graphql.Scalar, path string) (any, error) {
	switch t.Name() {
	case "Int":
		f, ok := number(v)
		if !ok || f != math.Trunc(f) {
			return nil, c.fail(v, path, "Int cannot represent non-integer value: "+jsonText(v))
		}
		if f < math.MinInt32 || f > math.MaxInt32 {
			return nil, c.fail(v, path, "Int cannot represent non 32-bit signed integer value: "+jsonText(v))
		}
		return int(f), nil
	case "Float":
		f, ok := number(v)
		if !ok || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, c.fail(v, path, "Float cannot represent non numeric value: "+jsonText(v))
		}
		return f, nil
	case "String":
		s, ok := v.(string)
		if !ok {
			return nil, c.fail(v, path, "String cannot represent a non string value: "+jsonText(v))
		}
		return s, nil
	case "Boolean":
		b, ok := v.(bool)
		if !ok {
			return nil, c.fail(v, path, "Boolean cannot represent a non boolean value: "+jsonText(v))
		}
		return b, nil
	case "ID":
		if s, ok := v.(string); ok {
			return s, nil
		}
		if f, ok := number(v); ok && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return strconv.FormatFloat(f, 'f', 0, 64), nil
		}
		return nil, c.fail(v, path, "ID cannot represent value: "+jsonText(v))
	}
	if n, ok := v.(json.Number); ok {
		v = n.String() // custom scalars read numbers from their text, exactly
	}
	parsed := t.ParseValue(v)
	if parsed == nil {
		return nil, c.fail(v, path, fmt.Sprintf("Expected type \"%s\".", t.Name()))
	}
	return parsed, nil
}

// number returns v as a float64 when it is a JSON number.
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	}
	return 0, false
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
