package main

import (
	gql "github.com/rustok/rustok/transport/graphql"
	"github.com/rustok/rustok/transport/graphql/graphiql"
)

// newPlayground builds the GraphiQL page served on GET /api/graphql from a
// browser, with its assets under /api/graphql/assets/.
func newPlayground() (gql.PlaygroundPage, error) {
	return graphiql.New(graphiql.Config{Endpoint: "/api" + gql.RoutePath, AssetsPath: "/api" + gql.AssetsPath})
}
