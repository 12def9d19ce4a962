package gql

import (
	"context"
	"strings"
	"time"

	"github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/gqlerrors"
	"github.com/prometheus/client_golang/prometheus"
)

// Resolver timing: rustok_graphql_resolver_duration_seconds is observed for
// root fields and for fields with their own resolver below the root. Trivial
// fields (read by graphql-go's default resolver from their parent) are not
// timed: they are most fields, and timing them would cost more than they do.
// What is timed is the resolver's own call, not the completion of a thunk it
// returns, and a resolver that panics is not observed.
//
// Root fields are timed by wrapping their resolvers (timedRootFields): New
// builds the root types itself, from copies of the module's fields. Fields
// below the root belong to object types that modules build, which New must
// not change, so they are timed by timingExtension instead, which New adds
// only to a schema that has such fields: graphql-go runs every extension's
// hooks for every field it resolves, trivial ones included, and those hooks
// (a map, closures and deferred recovers per field) cost more than a small
// query's own execution.

// timedRootFields returns copies of the root fields of type typeName whose
// resolvers (graphql-go's default resolver when they have none) observe
// their duration into hist. The fields given are not changed.
func timedRootFields(typeName string, fields graphql.Fields, hist *prometheus.HistogramVec) graphql.Fields {
	out := make(graphql.Fields, len(fields))
	for name, f := range fields {
		if f == nil {
			out[name] = f // refused by graphql.NewObject
			continue
		}
		timed := *f
		timed.Resolve = timedResolver(hist.WithLabelValues(typeName, name), f.Resolve)
		out[name] = &timed
	}
	return out
}

// timedResolver returns resolve, or graphql.DefaultResolveFn when resolve
// is nil, observing the duration of each call into obs.
func timedResolver(obs prometheus.Observer, resolve graphql.FieldResolveFn) graphql.FieldResolveFn {
	if resolve == nil {
		resolve = graphql.DefaultResolveFn
	}
	return func(p graphql.ResolveParams) (any, error) {
		start := time.Now()
		v, err := resolve(p)
		obs.Observe(time.Since(start).Seconds())
		return v, err
	}
}

// timingExtension times the fields with their own resolver below the root.
//
// graphql-go carries the context returned by ResolveFieldDidStart into later
// sibling fields, so per-field state lives in the finish closure and the
// context is returned unchanged.
type timingExtension struct {
	// observers[type][field], built once after the schema and read-only
	// afterwards.
	observers map[string]map[string]prometheus.Observer
}

var _ graphql.Extension = (*timingExtension)(nil)

// nestedResolverObservers returns the observer of every field with a
// resolver of the object types of schema other than its root types and the
// introspection types; nil when there is none.
func nestedResolverObservers(schema *graphql.Schema, hist *prometheus.HistogramVec) map[string]map[string]prometheus.Observer {
	roots := map[string]bool{}
	for _, t := range []*graphql.Object{schema.QueryType(), schema.MutationType(), schema.SubscriptionType()} {
		if t != nil {
			roots[t.Name()] = true
		}
	}
	var out map[string]map[string]prometheus.Observer
	for name, t := range schema.TypeMap() {
		obj, ok := t.(*graphql.Object)
		if !ok || roots[name] || strings.HasPrefix(name, "__") {
			continue
		}
		for fieldName, f := range obj.Fields() {
			if f.Resolve == nil {
				continue
			}
			if out == nil {
				out = map[string]map[string]prometheus.Observer{}
			}
			if out[name] == nil {
				out[name] = map[string]prometheus.Observer{}
			}
			out[name][fieldName] = hist.WithLabelValues(name, fieldName)
		}
	}
	return out
}

// Init returns ctx unchanged.
func (t *timingExtension) Init(ctx context.Context, _ *graphql.Params) context.Context { return ctx }

// Name names the extension.
func (t *timingExtension) Name() string { return "rustok.resolver_timing" }

// ParseDidStart does nothing: the handler parses documents itself.
func (t *timingExtension) ParseDidStart(ctx context.Context) (context.Context, graphql.ParseFinishFunc) {
	return ctx, func(error) {}
}

// ValidationDidStart does nothing: the handler validates documents itself.
func (t *timingExtension) ValidationDidStart(ctx context.Context) (context.Context, graphql.ValidationFinishFunc) {
	return ctx, func([]gqlerrors.FormattedError) {}
}

// ExecutionDidStart does nothing.
func (t *timingExtension) ExecutionDidStart(ctx context.Context) (context.Context, graphql.ExecutionFinishFunc) {
	return ctx, func(*graphql.Result) {}
}

// ResolveFieldDidStart starts timing a timed field; the returned func
// observes the time its resolver took (not the completion of a thunk it
// returned).
func (t *timingExtension) ResolveFieldDidStart(ctx context.Context, info *graphql.ResolveInfo) (context.Context, graphql.ResolveFieldFinishFunc) {
	var obs prometheus.Observer
	if info != nil && info.ParentType != nil {
		obs = t.observers[info.ParentType.Name()][info.FieldName]
	}
	if obs == nil {
		return ctx, func(any, error) {}
	}
	start := time.Now()
	return ctx, func(any, error) { obs.Observe(time.Since(start).Seconds()) }
}

// HasResult reports false: the extension adds nothing to results.
func (t *timingExtension) HasResult() bool { return false }

// GetResult returns nil.
func (t *timingExtension) GetResult(context.Context) any { return nil }
