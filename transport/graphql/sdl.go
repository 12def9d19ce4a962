package gql

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/graphql-go/graphql"
)

// builtinScalars are the specified scalars, implied by every schema.
var builtinScalars = map[string]bool{"String": true, "Int": true, "Float": true, "Boolean": true, "ID": true}

// printSDL prints the schema's named types in the schema definition
// language: Query and Mutation first, then the other types by name, fields,
// arguments, enum values and input fields sorted by name (graphql-go keeps
// them in maps, so definition order is lost). Built-in scalars, introspection
// types and directives are left out.
func printSDL(schema *graphql.Schema) string {
	var names []string
	for name := range schema.TypeMap() {
		if strings.HasPrefix(name, "__") || builtinScalars[name] {
			continue
		}
		names = append(names, name)
	}
	rank := func(name string) int {
		switch name {
		case "Query":
			return 0
		case "Mutation":
			return 1
		case "Subscription":
			return 2
		}
		return 3
	}
	sort.Slice(names, func(i, j int) bool {
		ri, rj := rank(names[i]), rank(names[j])
		if ri != rj {
			return ri < rj
		}
		return names[i] < names[j]
	})

	var b strings.Builder
	for i, name := range names {
		if i > 0 {
			b.WriteByte('\n')
		}
		printType(&b, schema.TypeMap()[name])
	}
	return b.String()
}

func printType(b *strings.Builder, t graphql.Type) {
	printDescription(b, "", t.Description())
	switch t := t.(type) {
	case *graphql.Object:
		fmt.Fprintf(b, "type %s", t.Name())
		if ifaces := t.Interfaces(); len(ifaces) > 0 {
			names := make([]string, len(ifaces))
			for i, it := range ifaces {
				names[i] = it.Name()
			}
			b.WriteString(" implements " + strings.Join(names, " & "))
		}
		printFields(b, t.Fields())
	case *graphql.Interface:
		fmt.Fprintf(b, "interface %s", t.Name())
		printFields(b, t.Fields())
	case *graphql.Union:
		names := make([]string, 0, len(t.Types()))
		for _, o := range t.Types() {
			names = append(names, o.Name())
		}
		fmt.Fprintf(b, "union %s = %s\n", t.Name(), strings.Join(names, " | "))
	case *graphql.Enum:
		fmt.Fprintf(b, "enum %s {\n", t.Name())
		values := slices.Clone(t.Values())
		sort.Slice(values, func(i, j int) bool { return values[i].Name < values[j].Name })
		for _, v := range values {
			printDescription(b, "  ", v.Description)
			b.WriteString("  " + v.Name + deprecated(v.DeprecationReason) + "\n")
		}
		b.WriteString("}\n")
	case *graphql.InputObject:
		fmt.Fprintf(b, "input %s {\n", t.Name())
		fields := t.Fields()
		for _, name := range sortedKeys(fields) {
			f := fields[name]
			printDescription(b, "  ", f.Description())
			fmt.Fprintf(b, "  %s: %s%s\n", name, f.Type, defaultValue(f.DefaultValue, f.Type))
		}
		b.WriteString("}\n")
	case *graphql.Scalar:
		fmt.Fprintf(b, "scalar %s\n", t.Name())
	}
}

func printFields(b *strings.Builder, fields graphql.FieldDefinitionMap) {
	b.WriteString(" {\n")
	for _, name := range sortedKeys(fields) {
		f := fields[name]
		printDescription(b, "  ", f.Description)
		b.WriteString("  " + name)
		printArgs(b, f.Args)
		fmt.Fprintf(b, ": %s%s\n", f.Type, deprecated(f.DeprecationReason))
	}
	b.WriteString("}\n")
}

func printArgs(b *strings.Builder, args []*graphql.Argument) {
	if len(args) == 0 {
		return
	}
	args = slices.Clone(args)
	sort.Slice(args, func(i, j int) bool { return args[i].Name() < args[j].Name() })
	described := slices.ContainsFunc(args, func(a *graphql.Argument) bool { return a.Description() != "" })
	b.WriteByte('(')
	for i, a := range args {
		arg := a.Name() + ": " + a.Type.String() + defaultValue(a.DefaultValue, a.Type)
		if described {
			b.WriteString("\n")
			printDescription(b, "    ", a.Description())
			b.WriteString("    " + arg)
			continue
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(arg)
	}
	if described {
		b.WriteString("\n  ")
	}
	b.WriteByte(')')
}

func printDescription(b *strings.Builder, indent, desc string) {
	if desc == "" {
		return
	}
	desc = strings.ReplaceAll(desc, `"""`, `\"""`)
	if !strings.Contains(desc, "\n") {
		fmt.Fprintf(b, "%s\"\"\"%s\"\"\"\n", indent, desc)
		return
	}
	b.WriteString(indent + `"""` + "\n")
	for _, line := range strings.Split(desc, "\n") {
		b.WriteString(indent + line + "\n")
	}
	b.WriteString(indent + `"""` + "\n")
}

func deprecated(reason string) string {
	switch reason {
	case "":
		return ""
	case graphql.DefaultDeprecationReason:
		return " @deprecated"
	}
	return " @deprecated(reason: " + quote(reason) + ")"
}

func defaultValue(v any, t graphql.Input) string {
	if v == nil {
		return ""
	}
	return " = " + printValue(v, t)
}

// printValue prints a Go default value as a GraphQL literal of type t.
func printValue(v any, t graphql.Input) string {
	if v == nil {
		return "null"
	}
	switch t := t.(type) {
	case *graphql.NonNull:
		return printValue(v, t.OfType)
	case *graphql.List:
		rv := reflect.ValueOf(v)
		if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
			return printValue(v, t.OfType) // a single value coerces to a list of one
		}
		items := make([]string, rv.Len())
		for i := range items {
			items[i] = printValue(rv.Index(i).Interface(), t.OfType)
		}
		return "[" + strings.Join(items, ", ") + "]"
	case *graphql.Enum:
		for _, ev := range t.Values() {
			if reflect.DeepEqual(ev.Value, v) {
				return ev.Name
			}
		}
	case *graphql.InputObject:
		if m, ok := v.(map[string]any); ok {
			fields := t.Fields()
			parts := make([]string, 0, len(m))
			for _, k := range sortedKeys(m) {
				var ft graphql.Input
				if f := fields[k]; f != nil {
					ft = f.Type
				}
				parts = append(parts, k+": "+printValue(m[k], ft))
			}
			return "{" + strings.Join(parts, ", ") + "}"
		}
	}
	switch v := v.(type) {
	case string:
		return quote(v)
	case bool:
		return fmt.Sprint(v)
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return quote(fmt.Sprint(v))
	}
	return string(raw)
}

// quote prints s as a GraphQL string literal (JSON's escapes are GraphQL's).
func quote(s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return `""` // a string always encodes
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
