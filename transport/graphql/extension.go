package gql

import (
	"context"
	"strings"
	"time"

	"github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/gqlerrors"
	"github.com/prometheus/client_golang/prometheus"
)

// timingExtension observes rustok_graphql_resolver_duration_seconds for root
// fields and for fields with their own resolver. Trivial fields (read by
// graphql-go's default resolver from their parent) are not timed: they are
// most fields, and timing them would cost more than they do.
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

// resolverObservers returns the observer of every timed field of schema:
// the fields of the root types and the fields with a resolver of the other
// object types, introspection types excluded.
func resolverObservers(schema *graphql.Schema, hist *prometheus.HistogramVec) map[string]map[string]prometheus.Observer {
	roots := map[string]bool{}
	for _, t := range []*graphql.Object{schema.QueryType(), schema.MutationType(), schema.SubscriptionType()} {
		if t != nil {
			roots[t.Name()] = true
		}
	}
	out := map[string]map[string]prometheus.Observer{}
	for name, t := range schema.TypeMap() {
		obj, ok := t.(*graphql.Object)
		if !ok || strings.HasPrefix(name, "__") {
			continue
		}
		for fieldName, f := range obj.Fields() {
			if !roots[name] && f.Resolve == nil {
				continue
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
