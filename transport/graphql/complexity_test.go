package gql_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/graphql-go/graphql"

	gql "github.com/rustok/rustok/transport/graphql"
)

// connectionFields is a Relay-style part: users(first) returns a connection
// whose edges list is sized by the connection's first.
func connectionFields() gql.Fields {
	user := graphql.NewObject(graphql.ObjectConfig{Name: "User", Fields: graphql.Fields{
		"id": {Type: graphql.NewNonNull(graphql.ID)},
	}})
	edge := graphql.NewObject(graphql.ObjectConfig{Name: "UserEdge", Fields: graphql.Fields{
		"node":   {Type: user},
		"cursor": {Type: graphql.String},
	}})
	conn := graphql.NewObject(graphql.ObjectConfig{Name: "UserConnection", Fields: graphql.Fields{
		"edges":      {Type: graphql.NewNonNull(graphql.NewList(graphql.NewNonNull(edge)))},
		"totalCount": {Type: graphql.Int},
	}})
	return gql.Fields{Query: graphql.Fields{
		"users": {
			Type: conn,
			Args: graphql.FieldConfigArgument{"first": {Type: graphql.Int}},
			Resolve: func(graphql.ResolveParams) (any, error) {
				return map[string]any{"edges": []any{}, "totalCount": 0}, nil
			},
		},
	}}
}

func TestComplexityOfConnections(t *testing.T) {
	tests := []struct {
		name  string
		query string
		cost  int
	}{
		{name: "connection first sizes its edges", query: "{ users(first: 50) { edges { node { id } } } }", cost: 102},
		{name: "connection without first assumes 10 edges", query: "{ users { totalCount edges { cursor node { id } } } }", cost: 33},
		{name: "fragments inherit the connection's first", query: "{ users(first: 5) { ...C } } fragment C on UserConnection { edges { node { id } } }", cost: 12},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, limit := range []int{tc.cost, tc.cost - 1} {
				h, err := gql.New(gql.Options{Limits: gql.Limits{MaxComplexity: limit}}, connectionFields())
				if err != nil {
					t.Fatal(err)
				}
				res := h.Execute(context.Background(), gql.Request{Query: tc.query})
				var want []gotError
				if limit < tc.cost {
					want = []gotError{{Message: fmt.Sprintf("query complexity %d exceeds the limit of %d", tc.cost, limit), Code: "BAD_USER_INPUT"}}
				}
				if got := errorsOf(res); fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("limit %d: errors = %v, want %v", limit, got, want)
				}
			}
		})
	}
}
