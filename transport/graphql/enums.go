package gql

import (
	"sync"

	"github.com/graphql-go/graphql"
)

// enumWarmUp serializes warmEnums across handlers: introspection's enums
// (__TypeKind, __DirectiveLocation) are package variables of graphql-go,
// shared by every schema of the process, and so may be a module's enum.
var enumWarmUp sync.Mutex

// warmEnums builds the lookup maps of every enum of schema once, before any
// request runs. graphql-go builds them lazily, on the first Serialize,
// ParseValue or ParseLiteral, and assigns them without synchronization: two
// first requests at once (two introspections, say) race on the assignment.
// After warmEnums the executor only reads them.
func warmEnums(schema *graphql.Schema) {
	enumWarmUp.Lock()
	defer enumWarmUp.Unlock()
	for _, t := range schema.TypeMap() {
		e, ok := t.(*graphql.Enum)
		if !ok || len(e.Values()) == 0 {
			continue
		}
		v := e.Values()[0]
		e.Serialize(v.Value) // builds the value → definition map
		e.ParseValue(v.Name) // builds the name → definition map
	}
}
